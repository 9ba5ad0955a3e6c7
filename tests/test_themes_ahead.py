"""The placeholders and units computed ahead by a forked process (``fitcache.fork_ahead``, ``stage._units_ahead``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analysis import ingest, paths
from analysis.campaigns import stage as campaigns
from analysis.config import load_config
from analysis.redaction import stage as redaction
from analysis.themes import fit, fitcache, reading
from analysis.themes import stage as themes


def test_fork_ahead_stores_what_this_process_then_finds(tmp_path: Path) -> None:
    computed = []

    def compute() -> list[int]:
        computed.append(1)
        return [1, 2, 3]

    with fitcache.stored_in(tmp_path / "store"):
        ahead = fitcache.fork_ahead(lambda: fitcache.cached(tmp_path / "store" / "x.pkl", compute))
        assert ahead is not None
        assert ahead.wait() is True
        assert fitcache.cached(tmp_path / "store" / "x.pkl", compute) == [1, 2, 3]
    assert computed == []  # computed by the forked process only


def test_fork_ahead_that_fails_leaves_the_work_to_this_process(tmp_path: Path) -> None:
    def fail() -> None:
        raise RuntimeError("boom")

    with fitcache.stored_in(tmp_path / "store"):
        ahead = fitcache.fork_ahead(fail)
        assert ahead is not None and ahead.wait() is False
        assert fitcache.cached(tmp_path / "store" / "x.pkl", lambda: 7) == 7


def test_fork_ahead_needs_a_store() -> None:
    assert fitcache.fork_ahead(lambda: None) is None


@pytest.fixture(scope="module")
def cleaned(tmp_path_factory) -> tuple:
    mp = pytest.MonkeyPatch()
    cfg = load_config("sample")
    raw = paths.raw_dir("sample")
    out = tmp_path_factory.mktemp("sample_ahead")
    mp.setenv("ANALYSIS_DATA_PROCESSED", str(out.parent))
    ingest.run(cfg, raw_dir=raw, processed_dir=out)
    redaction.run(cfg, raw_dir=raw, processed_dir=out)
    campaigns.run(cfg, raw_dir=raw, processed_dir=out)
    yield cfg, raw, out
    mp.undo()


def test_units_computed_ahead_give_the_tables_computed_here(cleaned, tmp_path, monkeypatch) -> None:
    """With the work ahead on (every size) the stage's process splits no answers into units and finds no placeholders
    (the forked process, reading the table itself, did: the units into the empty store, the placeholders handed
    over), and writes the same bytes as with it off; a forked process that fails leaves both to the stage's process
    (the answers read again for the placeholders), with the same bytes."""
    cfg, raw, out = cleaned
    units, keys = fit._units, reading.placeholder_keys
    calls: list[str] = []
    monkeypatch.setattr(fit, "_units", lambda *a, **k: calls.append("units") or units(*a, **k))
    monkeypatch.setattr(reading, "placeholder_keys", lambda *a, **k: calls.append("keys") or keys(*a, **k))
    written = {}
    n_questions = len(cfg.open_questions)
    for name, least in (("here", 10**12), ("ahead", 0), ("failed", 0)):
        monkeypatch.setattr(themes, "AHEAD_MIN_ROWS", least)
        if name == "failed":
            monkeypatch.setattr(themes, "_units_ahead", _fail)
        monkeypatch.setenv("ANALYSIS_DATA_PROCESSED", str(tmp_path / f"{name}-root"))  # an empty store each
        folder = tmp_path / name
        shutil.copytree(out, folder)
        calls.clear()
        themes.run(cfg, raw_dir=raw, processed_dir=folder)
        written[name] = {t: (folder / f"{t}.parquet").read_bytes()
                         for t in ("core_themes", "core_answer_themes", "out_theme_model")}
        if name == "ahead":
            assert calls == []  # all of it found in the store or handed over
            assert len(list((tmp_path / f"{name}-root").rglob("units/*.pkl"))) == n_questions
            assert not list((tmp_path / f"{name}-root").rglob("placeholders-handed-*"))  # read, then removed
        else:  # the table is one part: its keys found once, as it is read (again, after the fork failed)
            assert sorted(calls) == ["keys"] + ["units"] * n_questions
    assert written["ahead"] == written["here"] == written["failed"]


def _fail(*args, **kwargs) -> None:
    raise RuntimeError("the forked process fails")
