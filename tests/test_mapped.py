"""A large table's text columns read memory-mapped (:mod:`analysis.mapped`): the same frame as ``read_table``, its
texts not in the process's Arrow memory pool, the file reused while the table is unchanged and replaced when it
changes; below the size nothing is written."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from generated_consultation import generate

from analysis import mapped
from analysis.errors import ConfigError
from analysis.report.load import MAPPED_COLUMNS, _columns
from analysis.tables import read_table, write_table

TEXTS = list(MAPPED_COLUMNS["core_answers_clean"])


@pytest.fixture
def clean(tmp_path) -> pd.DataFrame:
    answers = generate(600, 20211, share_1=0.5).answers.drop(columns="truth")
    answers["answer"], answers["language"] = answers["text_redacted"], "en"
    answers["campaign_id"] = None
    answers["is_campaign_copy"] = False
    answers["personal_addition"] = [None if i % 3 else f"My own words {i}." for i in range(len(answers))]
    write_table(answers, "core_answers_clean", tmp_path)
    return answers


def test_mapped_frame_is_read_tables(clean, tmp_path, monkeypatch):
    monkeypatch.setenv(mapped.MAPPED_ENV, "100")
    store = tmp_path / "store"
    pool = pa.default_memory_pool().bytes_allocated()
    got = mapped.read_mapped("core_answers_clean", tmp_path, TEXTS, columns=_columns("core_answers_clean"),
                             store=store)
    grown = pa.default_memory_pool().bytes_allocated() - pool
    text_bytes = sum(len(t.encode()) for t in clean["text_redacted"])
    assert grown < text_bytes / 4  # the texts are the file's pages, not Arrow memory of this process
    want = read_table("core_answers_clean", tmp_path, columns=_columns("core_answers_clean"))
    pd.testing.assert_frame_equal(got, want)
    assert got["personal_addition"].isna().sum() > 100  # missing values kept
    files = list(store.glob("*.arrow"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    del got
    again = mapped.read_mapped("core_answers_clean", tmp_path, TEXTS, store=store)  # every column: reused
    assert files[0].stat().st_mtime_ns == stamp
    pd.testing.assert_frame_equal(again, read_table("core_answers_clean", tmp_path))
    del again
    write_table(clean.assign(text_redacted=clean["text_redacted"] + "!"), "core_answers_clean", tmp_path)
    changed = mapped.read_mapped("core_answers_clean", tmp_path, TEXTS, store=store)
    assert changed["text_redacted"].str.endswith("!").all()
    assert len(list(store.glob("*.arrow"))) == 1 and not files[0].exists()  # the former table's file removed


def test_below_the_size_nothing_is_mapped(clean, tmp_path, monkeypatch):
    monkeypatch.setenv(mapped.MAPPED_ENV, str(len(clean) + 1))
    store = tmp_path / "store"
    got = mapped.read_mapped("core_answers_clean", tmp_path, TEXTS, store=store)
    pd.testing.assert_frame_equal(got, read_table("core_answers_clean", tmp_path))
    assert not store.exists()


@pytest.mark.parametrize("bad", ["0", "-5", "many"])
def test_a_bad_setting_is_a_clear_error(clean, tmp_path, monkeypatch, bad):
    monkeypatch.setenv(mapped.MAPPED_ENV, bad)
    with pytest.raises(ConfigError, match=mapped.MAPPED_ENV):
        mapped.read_mapped("core_answers_clean", tmp_path, TEXTS)
