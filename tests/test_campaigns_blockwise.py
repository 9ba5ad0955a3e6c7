"""The campaigns stage's end phase written block-wise, and signatures from shared chunks, give the former results
(#18, session 15).

* :func:`analysis.campaigns.clean.write_clean` (``core_answers_clean`` read, joined and written a row group at a
  time) against :func:`~analysis.tables.write_table` of
  :func:`~analysis.campaigns.stage.with_campaign_columns` of the whole table (the code it replaces): the same
  bytes, with one row group and with several (pyarrow's ``row_group_size`` on the former side), on real answers
  (ArgKP, Pol.is) with generated campaign copies and closed answers interleaved;
* :func:`analysis.campaigns.chunked.signatures` (shared chunks' signatures held, each text's own chunks MinHashed
  as one segment) against :meth:`~analysis.campaigns.near_duplicates.MinHasher.signatures`, with blocks cut
  anywhere.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from test_campaigns_memory import corpora  # noqa: F401 - a fixture
from test_campaigns_open_rows import answers  # noqa: F401 - a fixture

from analysis import tables
from analysis.campaigns import chunked, clean
from analysis.campaigns import near_duplicates as nd
from analysis.campaigns.stage import detect, with_campaign_columns
from analysis.config import CampaignSettings
from analysis.tables import read_table, table_files, table_path, write_table

SEED = 20211


@pytest.fixture(scope="module")
def redacted(answers, tmp_path_factory):  # noqa: F811
    """A processed folder holding ``core_answers_redacted`` of :func:`answers`, its open questions and the campaign
    columns of its open rows (:func:`detect` of them)."""
    folder = tmp_path_factory.mktemp("processed")
    write_table(answers[["response_id", "question_id", "answer", "language", "text_redacted"]],
                "core_answers_redacted", folder)
    open_q = sorted(q for q in answers["question_id"].unique() if q != "q_closed")
    table = read_table("core_answers_redacted", folder)
    rows = table.loc[table["question_id"].isin(open_q), ["response_id", "question_id", "text_redacted"]]
    found, _camps = detect(rows.reset_index(drop=True), open_q, CampaignSettings(), SEED)
    assert found["is_campaign_copy"].sum() > 1000 and found["personal_addition"].fillna("").str.len().gt(0).any()
    return folder, open_q, found.drop(columns="text_redacted")


def _former(folder, open_q, found, out):
    """The file the former code wrote (the whole table read, joined and written at once)."""
    whole = with_campaign_columns(read_table("core_answers_redacted", folder), open_q, found)
    return write_table(whole, "core_answers_clean", out).read_bytes()


def test_written_block_wise_is_the_whole_table_written(redacted, tmp_path):
    folder, open_q, found = redacted
    want = _former(folder, open_q, found, tmp_path / "former")
    got = clean.write_clean(folder, open_q, found).read_bytes()
    assert got == want
    assert not table_path("core_answers_clean", folder).with_suffix(".parquet.tmp").exists()


@pytest.mark.parametrize(("rows", "batch", "groups"), [(1000, None, None), (2048, None, None), (2048, 1024, None),
                                                      (2048, 1024, 700)])
def test_several_row_groups_are_the_whole_tables(redacted, tmp_path, monkeypatch, rows, batch, groups):
    folder, open_q, found = redacted
    if batch is not None:  # blocks read as several chunks (the stage's layout)
        monkeypatch.setattr(clean, "_READ_BATCH", batch)
    if groups is not None:  # an input whose row groups cut the batches read elsewhere (chunks realigned)
        source = tmp_path / "groups"
        source.mkdir()
        read_table("core_answers_redacted", folder).to_parquet(table_path("core_answers_redacted", source),
                                                                index=False, row_group_size=groups)
        folder = source
    n = pq.ParquetFile(table_path("core_answers_redacted", folder)).metadata.num_rows
    assert n >= 3 * rows
    with monkeypatch.context() as m:  # the former code with row groups of ``rows`` (what pandas calls)
        m.setattr(pq, "write_table", functools.partial(pq.write_table, row_group_size=rows))
        want = _former(folder, open_q, found, tmp_path / "former")
    got = clean.write_clean(folder, open_q, found, rows=rows).read_bytes()
    assert pq.ParquetFile(table_path("core_answers_clean", folder)).metadata.num_row_groups >= 3
    assert got == want


@pytest.mark.parametrize(("per", "rows"), [(2500, 1000), (2048, 2048), (3000, 1024)])
def test_partitioned_the_parts_are_write_tables(redacted, tmp_path, monkeypatch, per, rows):
    """A table of more than ``per`` rows (#17): written block-wise, each part file is the one ``write_table`` of the
    whole table writes (blocks end at the parts' ends, each part has a writer of its own)."""
    folder, open_q, found = redacted
    monkeypatch.setenv(tables.PARTITION_ENV, str(per))
    source = tmp_path / "source"
    write_table(read_table("core_answers_redacted", folder), "core_answers_redacted", source)  # partitioned too
    assert len(table_files("core_answers_redacted", source)) >= 3
    with monkeypatch.context() as m:
        m.setattr(pq, "write_table", functools.partial(pq.write_table, row_group_size=rows))
        whole = with_campaign_columns(read_table("core_answers_redacted", source), open_q, found)
        write_table(whole, "core_answers_clean", tmp_path / "former")
    want = [f.read_bytes() for f in table_files("core_answers_clean", tmp_path / "former")]
    path = clean.write_clean(source, open_q, found, rows=rows)
    assert path.is_dir() and len(want) >= 3
    assert [f.read_bytes() for f in table_files("core_answers_clean", source)] == want
    assert sorted(p.name for p in source.iterdir()) == ["core_answers_clean.parquet", "core_answers_redacted.parquet"]


def test_a_table_out_of_key_order_is_written_whole(redacted, tmp_path):
    folder, open_q, found = redacted
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    table = read_table("core_answers_redacted", folder)
    # a file not in key order (write_table sorts: written by pandas itself), blocks in order within each
    table.iloc[::-1].reset_index(drop=True).to_parquet(table_path("core_answers_redacted", shuffled), index=False)
    order = read_table("core_answers_redacted", shuffled)
    found_here = order[["response_id", "question_id"]].merge(found, on=["response_id", "question_id"])
    want = _former(shuffled, open_q, found_here, tmp_path / "former")
    got = clean.write_clean(shuffled, open_q, found_here, rows=len(table) // 2).read_bytes()
    assert got == want


def test_open_rows_that_differ_are_refused(redacted):
    folder, open_q, found = redacted
    for bad in (found.iloc[::-1].reset_index(drop=True), found.iloc[:-1], pd.concat([found, found.iloc[:1]])):
        with pytest.raises(AssertionError, match="differ"):
            clean.write_clean(folder, open_q, bad.reset_index(drop=True), rows=1000)
        assert not table_path("core_answers_clean", folder).with_suffix(".parquet.tmp").exists()


@pytest.mark.parametrize(("texts_per_block", "chunks_per_block"), [(2048, 2000), (5, 7), (1, 1)])
def test_signatures_from_shared_chunks_are_the_minhashers(corpora, monkeypatch, texts_per_block,  # noqa: F811
                                                          chunks_per_block):
    monkeypatch.setattr(chunked, "_TEXTS_PER_BLOCK", texts_per_block)
    monkeypatch.setattr(chunked, "_CHUNKS_PER_BLOCK", chunks_per_block)
    odd = ["", "one", "two words", "the the the the", "the cat the dog the end of it the"]
    for name, keys in corpora.items():
        keys = sorted(set(keys)) + odd
        hasher = nd.MinHasher(128, 3, SEED)
        want_sig, want_n, want_cache = hasher.signatures(keys, keep_shingles=True)
        sig, n_sh, cache = chunked.signatures(hasher, keys)
        assert np.array_equal(sig, want_sig) and np.array_equal(n_sh, want_n), name
        idx = np.arange(len(keys))
        assert all(np.array_equal(a, b) for a, b in zip(cache.get(idx), want_cache.get(idx), strict=True)), name
        # both kinds of chunk, and texts with one kind only, were read
        refs = np.bincount(cache.ids, minlength=len(cache.chunk_bounds) - 1)[cache.ids] > 1
        per_text = np.add.reduceat(refs.astype(np.int64), cache.text_bounds[:-1])
        n_ids = np.diff(cache.text_bounds)
        if name == "submissions":
            assert (per_text == 0).any() and (per_text == n_ids).any() and ((per_text > 0) & (per_text < n_ids)).any()
