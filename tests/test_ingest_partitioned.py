"""The ingest stage's answers written a partition at a time (issue #17): a ``core_answers`` of more than
``ANALYSIS_PARTITION_ROWS`` answers is put in key order and made a frame one part at a time
(:class:`analysis.ingest.stage.KeyOrderedAnswers`), never whole. The table read back is the one the whole-frame path
gives, and a second run gives the same bytes; taking a part's rows across the Arrow blocks is Arrow's ``take``.

Input: the bundled SYNTHETIC sample's raw export (survey, emails, letters): answers in file order, not key order.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from analysis import config, paths, tables
from analysis.ingest import stage
from analysis.tables import read_table, table_files


@pytest.fixture(scope="module")
def sample_cfg():
    return config.load_config("sample")


def _run(cfg, folder, per, monkeypatch):
    monkeypatch.setenv(tables.PARTITION_ENV, str(per))
    stage.run(cfg, raw_dir=paths.raw_dir("sample"), processed_dir=folder)


def test_answers_written_in_parts_are_the_whole_table(sample_cfg, tmp_path, monkeypatch):
    whole, _rejects = stage.ingest(sample_cfg, paths.raw_dir("sample"))  # the whole-frame path
    tables.write_table(whole["core_answers"], "core_answers", tmp_path / "whole")  # one file (default size)
    _run(sample_cfg, tmp_path / "a", 1_000, monkeypatch)
    files = table_files("core_answers", tmp_path / "a")
    assert len(files) == -(-len(whole["core_answers"]) // 1_000) > 5  # cut every 1,000 answers
    got = read_table("core_answers", tmp_path / "a")
    assert got.equals(read_table("core_answers", tmp_path / "whole"))
    _run(sample_cfg, tmp_path / "b", 1_000, monkeypatch)
    assert [f.read_bytes() for f in files] == [f.read_bytes() for f in table_files("core_answers", tmp_path / "b")]


def test_the_stage_holds_the_answers_as_arrow_above_the_size(sample_cfg, monkeypatch):
    """Above ``parts_above`` the stage is given the answers' Arrow columns and order (no frame of every answer)."""
    held, _ = stage.ingest(sample_cfg, paths.raw_dir("sample"), parts_above=1_000)
    answers = held["core_answers"]
    assert isinstance(answers, stage.KeyOrderedAnswers)
    assert answers.order is not None  # the export is in submission order, not key order
    whole, _ = stage.ingest(sample_cfg, paths.raw_dir("sample"))
    assert answers.frame().equals(whole["core_answers"])
    n = len(whole["core_answers"])
    assert [len(p) for p in answers.parts(1_000)] == [1_000] * (n // 1_000) + [n % 1_000] * (n % 1_000 > 0)
    below, _ = stage.ingest(sample_cfg, paths.raw_dir("sample"), parts_above=10**9)
    assert below["core_answers"].equals(whole["core_answers"])


@pytest.mark.parametrize("chunks", [[7], [1, 5, 0, 9, 3], [4, 4, 4, 4]])
def test_take_across_chunks_is_arrows_take(chunks):
    rng = np.random.default_rng(len(chunks))
    values = [["" if rng.random() < 0.2 else None if rng.random() < 0.2 else f"t{rng.integers(1000)}"
               for _ in range(n)] for n in chunks]
    col = pa.chunked_array([pa.array(v, pa.large_string()) for v in values], pa.large_string())
    for idx in (rng.permutation(len(col)), rng.permutation(len(col))[: len(col) // 2], np.zeros(0, np.int64)):
        got = stage._take(col, np.asarray(idx, dtype=np.int64))
        assert got.equals(col.take(pa.array(idx, pa.int64())).combine_chunks())
