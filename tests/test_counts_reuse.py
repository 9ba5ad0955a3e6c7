"""Count families reused between runs: the same ``out_counts`` as counting afresh; keys follow their inputs."""

from __future__ import annotations

import pandas as pd
import pytest
from test_pipeline import CODEBOOK, _consultation

from analysis import pipeline
from analysis.config import load_config
from analysis.counts import reuse
from analysis.counts.prevalence import position_counts
from analysis.counts.stage import BASE_TABLES, POSITION_TABLES, build_counts
from analysis.tables import read_optional, read_table, table_path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("reuse")
    mp = pytest.MonkeyPatch()
    mp.setenv("ANALYSIS_DATA_RAW", str(root / "raw"))
    mp.setenv("ANALYSIS_DATA_PROCESSED", str(root / "processed"))
    mp.setenv("ANALYSIS_REPORTS", str(root / "reports"))
    raw = _consultation(root)
    (raw / "codebook.yml").write_text(CODEBOOK, encoding="utf-8")
    pipeline.run("tiny", stages=["ingest", "redaction", "campaigns", "themes", "positions"])
    yield load_config(raw / "consultation.yml"), root / "processed" / "tiny"
    mp.undo()


def test_reused_counts_equal_fresh_counts(tiny):
    cfg, processed = tiny
    fresh = build_counts(cfg, processed)
    first = build_counts(cfg, processed, reuse=True)
    again = build_counts(cfg, processed, reuse=True)  # from the stored families
    assert sorted(p.name for p in (processed / "cache" / "counts").glob("*.pkl")) == ["base.pkl", "positions.pkl"]
    for out in (first, again):
        pd.testing.assert_frame_equal(out, fresh)
    assert {"theme", "theme_position", "position", "option"} <= set(fresh["table"])


def test_position_counts_in_two_parts_equal_one_call(tiny):
    cfg, processed = tiny
    positions, clean = read_table("core_answer_positions", processed), read_table("core_answers_clean", processed)
    responses, themes = read_table("core_responses", processed), read_table("core_answer_themes", processed)
    confusion = read_optional("core_position_confusion", processed)
    whole = position_counts(positions, clean, responses, themes, cfg, confusion=confusion)
    plain = position_counts(positions, clean, responses, None, cfg, confusion=confusion)
    themed = position_counts(positions, clean, responses, themes, cfg, confusion=confusion, tables=["theme_position"])
    assert set(themed["table"]) <= {"theme_position", "theme_position_adjusted"} and len(themed)
    from analysis.counts.stage import _merged

    pd.testing.assert_frame_equal(_merged(plain, themed), whole)


def test_reuse_key_changes_with_each_input(tiny, tmp_path):
    cfg, processed = tiny
    import shutil

    folder = tmp_path / "p"
    shutil.copytree(processed, folder)
    assert "core_answer_themes" not in POSITION_TABLES and "core_answer_themes" not in BASE_TABLES
    key = reuse.input_key(cfg, folder, POSITION_TABLES, "positions")
    assert reuse.input_key(cfg, folder, POSITION_TABLES, "positions") == key
    assert reuse.input_key(cfg, folder, POSITION_TABLES, "base") != key  # the family is part of the key
    table_path("core_answer_themes", folder).write_bytes(b"changed")  # not an input: same key
    assert reuse.input_key(cfg, folder, POSITION_TABLES, "positions") == key
    other = cfg.model_copy(update={"title": "Another title"})
    assert reuse.input_key(other, folder, POSITION_TABLES, "positions") != key
    for name in POSITION_TABLES:
        path = table_path(name, folder)
        before = path.read_bytes() if path.is_file() else None
        path.write_bytes(b"changed")
        assert reuse.input_key(cfg, folder, POSITION_TABLES, "positions") != key, name
        if before is None:
            path.unlink()
        else:
            path.write_bytes(before)
    assert reuse.input_key(cfg, folder, POSITION_TABLES, "positions") == key


def test_a_stored_family_with_another_key_is_recomputed(tmp_path):
    calls = []
    assert reuse.reused(tmp_path, "x", "k1", lambda: calls.append(1) or [1]) == [1]
    assert reuse.reused(tmp_path, "x", "k1", lambda: calls.append(1) or [2]) == [1]  # stored
    assert reuse.reused(tmp_path, "x", "k2", lambda: calls.append(1) or [3]) == [3]
    (tmp_path / "cache" / "counts" / "x.pkl").write_bytes(b"not a pickle")
    assert reuse.reused(tmp_path, "x", "k2", lambda: calls.append(1) or [4]) == [4]
    assert len(calls) == 3
