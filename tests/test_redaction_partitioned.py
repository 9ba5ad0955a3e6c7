"""The redaction stage on a partitioned ``core_answers`` (issue #17): a part read, redacted and written at a time,
giving what the whole table's redaction gives: the same rows, each part's file byte-identical to ``write_table``'s
part, the same log, and a reject's row counted in the whole table.

Input: the bundled sample's ingested tables (names and emails of respondents in their answers).
"""

from __future__ import annotations

import importlib

import pandas as pd
import pytest

from analysis import paths, tables
from analysis.errors import TableSchemaError
from analysis.redaction import stage
from analysis.tables import read_table, table_files, write_table

R = importlib.import_module("analysis.redaction.redact")  # the package exports a function of that name
INPUTS = ("core_answers", "core_responses", "core_questions")
OUTPUTS = ("core_answers_redacted", "core_redaction_log", "core_redaction_rejects")


@pytest.fixture(scope="module")
def ingested(sample_results):
    """The sample's ingested tables, read once."""
    del sample_results  # the sample's processed folder is up to date
    return {t: read_table(t, paths.processed_dir("sample")) for t in INPUTS}


def _folder(tmp_path, name, ingested, per):
    """A processed folder holding the ingested tables written with ``per`` rows a partition (``None``: default)."""
    folder = tmp_path / name
    with pytest.MonkeyPatch.context() as m:
        if per is not None:
            m.setenv(tables.PARTITION_ENV, str(per))
        for t, df in ingested.items():
            write_table(df, t, folder)
    return folder


def _run(folder, per, monkeypatch):
    if per is None:
        monkeypatch.delenv(tables.PARTITION_ENV, raising=False)
    else:
        monkeypatch.setenv(tables.PARTITION_ENV, str(per))
    stage.run(None, raw_dir=folder, processed_dir=folder)


def test_partition_wise_redaction_is_the_whole_tables(ingested, tmp_path, monkeypatch):
    whole = _folder(tmp_path, "whole", ingested, None)
    _run(whole, None, monkeypatch)
    parts = _folder(tmp_path, "parts", ingested, 2000)
    assert len(table_files("core_answers", parts)) == 5
    calls = []
    real = stage.redact_answers
    monkeypatch.setattr(stage, "redact_answers", lambda answers, *a, **k: calls.append(len(answers)) or real(
        answers, *a, **k))
    _run(parts, 2000, monkeypatch)
    assert calls == [2000, 2000, 2000, 2000, 933]  # a part at a time
    for t in OUTPUTS:
        pd.testing.assert_frame_equal(read_table(t, parts), read_table(t, whole), obj=t)
    assert (read_table("core_redaction_log", whole)["count"].sum() > 100
            and read_table("core_answers_redacted", whole)["text_redacted"].str.contains(r"\[NAME\]").any())
    write_table(read_table("core_answers_redacted", whole), "core_answers_redacted", tmp_path / "cut")
    want = [f.read_bytes() for f in table_files("core_answers_redacted", tmp_path / "cut")]
    assert len(want) == 5 and [f.read_bytes() for f in table_files("core_answers_redacted", parts)] == want


def test_a_reject_is_numbered_in_the_whole_table(ingested, tmp_path, monkeypatch):
    answers = ingested["core_answers"]
    named = set(ingested["core_responses"].dropna(subset=["respondent_name"])["response_id"])
    rows = answers.index[answers["response_id"].isin(named) & answers["answer"].str.len().gt(40)]
    target = int(rows[rows >= 6000][0])  # in the fourth part of 2,000
    text = answers.loc[target, "answer"]
    real = R.person_names.find_own_names

    def failing(t, terms):
        if t == text:
            raise ValueError("boom")
        return real(t, terms)

    monkeypatch.setattr(R.person_names, "find_own_names", failing)
    whole = _folder(tmp_path, "whole", ingested, None)
    _run(whole, None, monkeypatch)
    parts = _folder(tmp_path, "parts", ingested, 2000)
    _run(parts, 2000, monkeypatch)
    got, want = read_table("core_redaction_rejects", parts), read_table("core_redaction_rejects", whole)
    assert target + 1 in want["row"].tolist()
    pd.testing.assert_frame_equal(got, want)


def test_a_partition_size_changed_since_ingest_redacts_the_table_whole(ingested, tmp_path, monkeypatch):
    whole = _folder(tmp_path, "whole", ingested, None)
    _run(whole, None, monkeypatch)
    odd = _folder(tmp_path, "odd", ingested, 2000)
    calls = []
    real = stage.redact_answers
    monkeypatch.setattr(stage, "redact_answers", lambda answers, *a, **k: calls.append(len(answers)) or real(
        answers, *a, **k))
    _run(odd, 3000, monkeypatch)
    assert calls == [8933]
    assert [len(pd.read_parquet(f)) for f in table_files("core_answers_redacted", odd)] == [3000, 3000, 2933]
    for t in OUTPUTS:
        pd.testing.assert_frame_equal(read_table(t, odd), read_table(t, whole), obj=t)


def test_parts_out_of_key_order_are_refused(ingested, tmp_path, monkeypatch):
    monkeypatch.setenv(tables.PARTITION_ENV, "2000")
    redacted = ingested["core_answers"].assign(text_redacted=ingested["core_answers"]["answer"])
    parts = [redacted.iloc[i:i + 2000] for i in range(0, len(redacted), 2000)]
    swapped = [parts[1], parts[0], *parts[2:]]
    with pytest.raises(TableSchemaError, match="key order"):
        tables.write_partitions(iter(swapped), "core_answers_redacted", tmp_path, len(redacted))
    assert not (tmp_path / "core_answers_redacted.parquet").exists()
    assert not list(tmp_path.iterdir())  # nothing half-written left
    with pytest.raises(TableSchemaError, match="layout"):
        tables.write_partitions(iter(parts[:-1]), "core_answers_redacted", tmp_path, len(redacted))
    assert not list(tmp_path.iterdir())
