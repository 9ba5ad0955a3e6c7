"""The base count family computed in a second process: the same ``out_counts`` as in one process, and a failing
second process falls back to computing here."""

from __future__ import annotations

import pandas as pd
from test_counts_reuse import tiny  # noqa: F401 - the module's fixture

from analysis import engine, worker
from analysis.counts import parallel, stage
from analysis.counts.stage import build_counts


def _boom(*args):
    raise RuntimeError("the second process fails")


def test_base_family_beside_equals_one_process(tiny, monkeypatch):  # noqa: F811
    cfg, processed = tiny
    monkeypatch.setattr(parallel, "MIN_ROWS", 10**12)
    alone = build_counts(cfg, processed)
    monkeypatch.setattr(parallel, "MIN_ROWS", 0)
    monkeypatch.setattr(parallel, "WORKERS", 2)
    before = sum(worker.STARTED.values())
    beside = build_counts(cfg, processed)
    assert sum(worker.STARTED.values()) == before + 1  # the family really was computed by a second process
    pd.testing.assert_frame_equal(beside, alone)
    assert {"responses", "campaign", "option", "theme"} <= set(beside["table"])


def test_base_family_stored_from_the_second_process_is_reused(tiny, monkeypatch, tmp_path):  # noqa: F811
    cfg, processed = tiny
    import shutil

    folder = tmp_path / "p"
    shutil.copytree(processed, folder, ignore=shutil.ignore_patterns("cache"))
    alone = build_counts(cfg, folder)
    monkeypatch.setattr(parallel, "MIN_ROWS", 0)
    monkeypatch.setattr(parallel, "WORKERS", 2)
    first = build_counts(cfg, folder, reuse=True)
    before = sum(worker.STARTED.values())
    again = build_counts(cfg, folder, reuse=True)
    assert sum(worker.STARTED.values()) == before  # stored: nothing to compute beside
    for out in (first, again):
        pd.testing.assert_frame_equal(out, alone)


def test_a_failing_second_process_is_computed_here(tiny, monkeypatch, caplog):  # noqa: F811
    cfg, processed = tiny
    alone = build_counts(cfg, processed)
    monkeypatch.setattr(parallel, "MIN_ROWS", 0)
    monkeypatch.setattr(parallel, "WORKERS", 2)
    monkeypatch.setattr(stage, "base_counts_from", _boom)  # travels by reference: the worker raises too
    with caplog.at_level("WARNING"):
        out = build_counts(cfg, processed)
    assert "the second process failed" in caplog.text and "RuntimeError" in caplog.text
    pd.testing.assert_frame_equal(out, alone)


def test_no_second_process_on_the_dask_engine(tiny, monkeypatch):  # noqa: F811
    cfg, processed = tiny
    alone = build_counts(cfg, processed)
    monkeypatch.setattr(parallel, "MIN_ROWS", 0)
    monkeypatch.setattr(parallel, "WORKERS", 2)
    monkeypatch.setattr(engine, "_ACTIVE", object())  # a run on the Dask engine (the counts send it no task)
    before = sum(worker.STARTED.values())
    out = build_counts(cfg, processed)
    assert sum(worker.STARTED.values()) == before  # the tables are not read again by a second process
    pd.testing.assert_frame_equal(out, alone)
