"""Partitioned internal tables (issue #17): a table of more than ``ANALYSIS_PARTITION_ROWS`` rows is stored as a
folder of part files, read back as the same frame, a partition at a time or whole, and checked as strictly.

On real text: ArgKP arguments (``tests/fixtures/positions/argkp_two_topics.csv``, IBM Debater ArgKP-2021, CC BY-SA
3.0) as three questions' answers; and the bundled sample consultation run end to end with small partitions.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis import paths, tables
from analysis.errors import ConfigError, TableSchemaError
from analysis.mapped import MAPPED_ENV
from analysis.redaction.guard import respondent_values
from analysis.tables import (
    iter_batches,
    iter_table,
    read_table,
    remove_table,
    table_digest,
    table_files,
    table_path,
    table_rows,
    write_table,
)

FIXTURE = Path(__file__).parent / "fixtures" / "positions" / "argkp_two_topics.csv"


@pytest.fixture(scope="module")
def answers() -> pd.DataFrame:
    """``core_answers`` of 180 real arguments as three questions' answers (540 rows, shuffled, some empty)."""
    arg = pd.read_csv(FIXTURE)
    rows = [{"response_id": f"R{i:04d}", "question_id": q, "answer": "" if (i + k) % 17 == 0 else text,
             "language": "en" if k else "und"}
            for k, q in enumerate(("q1_why", "q2_why", "q3_why")) for i, text in enumerate(arg["argument"])]
    return pd.DataFrame(rows).sample(frac=1.0, random_state=5).reset_index(drop=True)


@pytest.fixture
def small_parts(monkeypatch):
    monkeypatch.setenv(tables.PARTITION_ENV, "100")


def test_a_large_table_is_written_in_parts_and_read_back_the_same(answers, small_parts, tmp_path, monkeypatch):
    path = write_table(answers, "core_answers", tmp_path / "parts")
    assert path.is_dir() and [p.name for p in table_files("core_answers", tmp_path / "parts")] == [
        f"part-0000{i}.parquet" for i in range(6)]
    assert table_rows("core_answers", tmp_path / "parts") == 540
    monkeypatch.delenv(tables.PARTITION_ENV)
    assert write_table(answers, "core_answers", tmp_path / "one").is_file()
    whole = read_table("core_answers", tmp_path / "one")
    pd.testing.assert_frame_equal(read_table("core_answers", tmp_path / "parts"), whole)
    parts = list(iter_table("core_answers", tmp_path / "parts"))
    assert [len(p) for p in parts] == [100] * 5 + [40]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)  # key order across the parts
    some = dict(columns=["response_id", "question_id", "language"], where=("question_id", ["q2_why"]))
    pd.testing.assert_frame_equal(read_table("core_answers", tmp_path / "parts", **some),
                                  read_table("core_answers", tmp_path / "one", **some))
    texts = [t for b in iter_batches("core_answers", tmp_path / "parts", columns=["answer"], batch_size=33)
             for t in b.column(0).to_pylist()]
    assert texts == whole["answer"].tolist()


def test_rewriting_switches_between_one_file_and_parts(answers, small_parts, tmp_path, monkeypatch):
    write_table(answers, "core_answers", tmp_path)
    assert table_path("core_answers", tmp_path).is_dir()
    write_table(answers.iloc[:60], "core_answers", tmp_path)  # now small: one file, the folder gone
    assert table_path("core_answers", tmp_path).is_file() and len(read_table("core_answers", tmp_path)) == 60
    write_table(answers, "core_answers", tmp_path)
    assert len(table_files("core_answers", tmp_path)) == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["core_answers.parquet"]  # no .tmp or .old left
    remove_table("core_answers", tmp_path)
    assert not table_path("core_answers", tmp_path).exists() and table_digest("core_answers", tmp_path) == "absent"
    with pytest.raises(FileNotFoundError, match="core_answers"):
        read_table("core_answers", tmp_path)


def test_the_same_rows_give_the_same_bytes_and_digest(answers, small_parts, tmp_path):
    write_table(answers, "core_answers", tmp_path / "a")
    write_table(answers.iloc[::-1], "core_answers", tmp_path / "b")  # sorted by the key before cutting
    files_a, files_b = table_files("core_answers", tmp_path / "a"), table_files("core_answers", tmp_path / "b")
    assert [f.read_bytes() for f in files_a] == [f.read_bytes() for f in files_b]
    assert table_digest("core_answers", tmp_path / "a") == table_digest("core_answers", tmp_path / "b")
    changed = answers.copy()
    changed.loc[changed["answer"].ne("").idxmax(), "answer"] += " (edited)"
    write_table(changed, "core_answers", tmp_path / "b")
    assert table_digest("core_answers", tmp_path / "a") != table_digest("core_answers", tmp_path / "b")


def test_a_key_repeated_in_another_part_is_refused(answers, small_parts, tmp_path):
    write_table(answers, "core_answers", tmp_path)
    first, second = table_files("core_answers", tmp_path)[:2]
    dup = pd.concat([pd.read_parquet(second).iloc[:-1], pd.read_parquet(first).iloc[:1]], ignore_index=True)
    dup.to_parquet(second, index=False)  # part 1 now repeats part 0's first key
    with pytest.raises(TableSchemaError, match="core_answers"):
        read_table("core_answers", tmp_path)


def test_a_bad_dtype_in_one_part_is_refused(small_parts, tmp_path):
    arg = pd.read_csv(FIXTURE)
    responses = pd.DataFrame({"response_id": [f"R{i:04d}" for i in range(len(arg))], "source_file": "survey.csv",
                              "source_row": range(2, len(arg) + 2), "channel": "online_survey",
                              "submitted_at": pd.Timestamp("2021-11-01"), "respondent_type": "individual",
                              "sector": None, "country": None, "organisation": None, "consent": "publish_anonymous",
                              "respondent_name": None, "respondent_email": None})
    write_table(responses, "core_responses", tmp_path)
    part = table_files("core_responses", tmp_path)[1]
    bad = pd.read_parquet(part)
    bad["source_row"] = bad["source_row"].astype(str) + "a"
    bad.to_parquet(part, index=False)
    with pytest.raises(TableSchemaError, match="source_row"):
        read_table("core_responses", tmp_path)
    with pytest.raises(TableSchemaError, match=r"part-00001\.parquet: (.|\n)*source_row"):
        list(iter_table("core_responses", tmp_path))


def test_a_missing_part_or_a_bad_setting_is_a_clear_error(answers, small_parts, tmp_path, monkeypatch):
    write_table(answers, "core_answers", tmp_path)
    (table_path("core_answers", tmp_path) / "part-00002.parquet").unlink()
    with pytest.raises(ValueError, match="without a gap"):
        read_table("core_answers", tmp_path)
    for bad in ("0", "-5", "1e6", "many"):
        monkeypatch.setenv(tables.PARTITION_ENV, bad)
        with pytest.raises(ConfigError, match=tables.PARTITION_ENV):
            write_table(answers, "core_answers", tmp_path / "other")


CLI = "import sys; from analysis.cli import main; sys.argv[0] = 'analysis'; main()"


def test_the_sample_with_small_partitions_publishes_the_same_files(sample_results, tmp_path):
    """The whole pipeline on the sample with 1,000-row partitions (and the report's texts memory-mapped,
    :mod:`analysis.mapped`): every report byte-identical to the default run's, every table the same frame, and the
    guard reads the respondents' names from the parts."""
    env = {**os.environ, "ANALYSIS_DATA_RAW": str(paths.data_raw()), "ANALYSIS_DATA_PROCESSED": str(tmp_path / "p"),
           "ANALYSIS_REPORTS": str(tmp_path / "r"), "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg",
           tables.PARTITION_ENV: "1000", MAPPED_ENV: "1"}
    proc = subprocess.run([sys.executable, "-c", CLI, "run", "sample"], env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    want, got = paths.processed_dir("sample"), tmp_path / "p" / "sample"
    split = sorted(p.name for p in got.glob("*.parquet") if p.is_dir())
    assert {"core_answers.parquet", "core_answers_clean.parquet", "core_responses.parquet",
            "out_counts.parquet"} <= set(split)
    for f in sorted(want.glob("*.parquet")):
        name = f.name.removesuffix(".parquet")
        pd.testing.assert_frame_equal(read_table(name, got), read_table(name, want), obj=name)
    published = {p.relative_to(sample_results): p.read_bytes() for p in sample_results.rglob("*") if p.is_file()}
    ours = {p.relative_to(tmp_path / "r" / "sample"): p.read_bytes()
            for p in (tmp_path / "r" / "sample").rglob("*") if p.is_file()}
    assert sorted(ours) == sorted(published)
    assert [name for name in published if published[name] != ours[name]] == []
    assert respondent_values(got) == respondent_values(want) and respondent_values(got).kinds
    assert len(list((got / "cache" / "mapped").glob("core_answers_clean-*.arrow"))) == 1  # the report mapped them
    again = subprocess.run([sys.executable, "-c", CLI, "run", "sample"], env=env, capture_output=True, text=True,
                           timeout=900)  # the stage cache hashes every part: nothing to do
    assert again.returncode == 0, again.stderr[-4000:]
    assert again.stderr.count("up to date (inputs unchanged), skipped") == 7, again.stderr[-4000:]
    table = read_table("core_answer_themes", got)  # a changed part re-runs the stages that read it
    write_table(table.assign(score=table["score"] * 0.5), "core_answer_themes", got)
    third = subprocess.run([sys.executable, "-c", CLI, "run", "sample"], env=env, capture_output=True, text=True,
                           timeout=900)
    assert third.returncode == 0, third.stderr[-4000:]
    assert "[counts] up to date" not in third.stderr and "[ingest] up to date" in third.stderr
