"""Every persisted table is schema-checked: wrong dtype, missing column, duplicate key all raise."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import schemas
from analysis.errors import TableSchemaError
from analysis.tables import read_table, write_table


def _responses(n: int = 2) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "response_id": [f"r{i}" for i in range(n)],
            "source_file": ["survey.csv"] * n,
            "source_row": list(range(2, n + 2)),
            "channel": ["online_survey"] * n,
            "submitted_at": ["2021-03-01T10:00:00"] * n,
            "respondent_type": ["individual"] * n,
            "sector": [None] * n,
            "organisation": [None] * n,
            "consent": ["publish_anonymous"] * n,
            "respondent_name": [None] * n,
            "respondent_email": [None] * n,
        }
    )


def _answers() -> pd.DataFrame:
    return pd.DataFrame(
        {"response_id": ["r0", "r1"], "question_id": ["q1", "q1"], "answer": ["Agree", "why not"], "language": ["und", "en"]}
    )


def test_round_trip_preserves_content_and_dtypes(tmp_path):
    write_table(_responses(), "core_responses", tmp_path)
    back = read_table("core_responses", tmp_path)
    assert back["source_row"].tolist() == [2, 3]
    assert str(back["submitted_at"].dtype).startswith("datetime64")
    assert back["consent"].tolist() == ["publish_anonymous", "publish_anonymous"]


def test_write_is_byte_identical_regardless_of_row_order(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_table(_answers(), "core_answers", a)
    write_table(_answers().iloc[::-1], "core_answers", b)
    assert (a / "core_answers.parquet").read_bytes() == (b / "core_answers.parquet").read_bytes()


def test_duplicate_response_id_raises(tmp_path):
    df = _responses()
    df.loc[1, "response_id"] = "r0"
    with pytest.raises(TableSchemaError, match="core_responses"):
        write_table(df, "core_responses", tmp_path)


def test_duplicate_answer_key_raises():
    df = pd.concat([_answers(), _answers().iloc[[0]]])
    with pytest.raises(TableSchemaError, match="uniqueness"):
        schemas.validate(df, "core_answers")


def test_wrong_dtype_raises_naming_the_column():
    df = _responses()
    df["source_row"] = ["two", "three"]
    with pytest.raises(TableSchemaError, match="source_row"):
        schemas.validate(df, "core_responses")


def test_missing_column_raises_naming_it():
    with pytest.raises(TableSchemaError, match="channel"):
        schemas.validate(_responses().drop(columns="channel"), "core_responses")


def test_closed_enum_rejects_unknown_values():
    df = _responses()
    df.loc[0, "channel"] = "carrier pigeon"
    with pytest.raises(TableSchemaError, match="channel"):
        schemas.validate(df, "core_responses")
    pos = pd.DataFrame({"response_id": ["r0"], "question_id": ["q1"], "position": ["maybe"], "confidence": [0.5], "source": ["closed"]})
    with pytest.raises(TableSchemaError, match="position"):
        schemas.validate(pos, "core_answer_positions")


def test_ledger_must_balance():
    ok = pd.DataFrame({"file": ["a.csv"], "reader": ["generic"], "rows_read": [10], "rows_kept": [8], "rows_rejected": [2], "sha256": ["x"]})
    schemas.validate(ok, "ledger")
    bad = ok.assign(rows_rejected=1)
    with pytest.raises(TableSchemaError, match="rows_read must equal"):
        schemas.validate(bad, "ledger")


def test_extra_column_is_rejected():
    with pytest.raises(TableSchemaError):
        schemas.validate(_answers().assign(extra=1), "core_answers")


def test_reading_a_corrupted_file_raises(tmp_path):
    write_table(_answers(), "core_answers", tmp_path)
    p = tmp_path / "core_answers.parquet"
    pd.read_parquet(p).rename(columns={"response_id": "resp"}).to_parquet(p, index=False)
    with pytest.raises(TableSchemaError):
        read_table("core_answers", tmp_path)


def test_missing_table_names_the_stage(tmp_path):
    with pytest.raises(FileNotFoundError, match="core_answers"):
        read_table("core_answers", tmp_path)


def test_parquet_keeps_the_values_the_csv_tables_held(tmp_path):
    """Switching internal tables from CSV to Parquet changed no value a later stage reads."""
    df = _responses(3)
    df["submitted_at"] = pd.to_datetime(["2021-03-01T10:00:00.750", None, "2021-03-02T00:00:01"], format="ISO8601")
    df["organisation"] = ["", "Forest & Bird", None]  # '' in a nullable column was read back as missing
    write_table(df, "core_responses", tmp_path)
    back = read_table("core_responses", tmp_path)
    assert back["organisation"].isna().tolist() == [True, False, True]
    assert [str(t) for t in back["submitted_at"]] == ["2021-03-01 10:00:00", "NaT", "2021-03-02 00:00:01"]
    counts = pd.DataFrame({"table": ["position"] * 2, "question_id": ["q1"] * 2, "group": ["all"] * 2,
                           "category": ["support", "oppose"], "n": [1, None], "denominator": [3, 3],
                           "share": [1 / 3, None], "ci_low": [0.0615382749, None], "ci_high": [123456.789, None],
                           "suppressed": [False, True], "count_mode": ["all"] * 2, "evidence_ids": ["r1", ""],
                           "evidence_n": [1, 0]})
    write_table(counts, "out_counts", tmp_path)
    got = read_table("out_counts", tmp_path).set_index("category")
    assert got.loc["support", "share"] == float("%.6g" % (1 / 3)) == 0.333333
    assert got.loc["support", "ci_low"] == 0.0615383 and got.loc["support", "ci_high"] == 123457.0
    assert pd.isna(got.loc["oppose", "n"]) and pd.isna(got.loc["oppose", "evidence_ids"])


def test_export_table_writes_a_csv_for_a_spreadsheet(tmp_path):
    from analysis.tables import export_csv

    write_table(_answers(), "core_answers", tmp_path)
    out = export_csv("core_answers", tmp_path, tmp_path / "x" / "answers.csv")
    assert out.read_text(encoding="utf-8").splitlines() == [
        "response_id,question_id,answer,language", "r0,q1,Agree,und", "r1,q1,why not,en"]


def test_read_in_part_equals_the_full_read_and_still_checks_the_key(tmp_path):
    write_table(_responses(3), "core_responses", tmp_path)
    full = read_table("core_responses", tmp_path)
    part = read_table("core_responses", tmp_path, columns=["consent", "response_id"])  # any order asked
    assert list(part.columns) == ["response_id", "consent"]  # schema order
    pd.testing.assert_frame_equal(part, full[["response_id", "consent"]])
    with pytest.raises(ValueError, match="response_id"):  # the key cannot be left out
        read_table("core_responses", tmp_path, columns=["consent"])
    with pytest.raises(ValueError, match="no column"):
        read_table("core_responses", tmp_path, columns=["response_id", "nope"])
    with pytest.raises(ValueError, match="table-wide checks"):  # the ledger's balance check needs every count
        read_table("ledger", tmp_path, columns=["file"])


def test_read_in_part_still_rejects_a_bad_file(tmp_path):
    df = _responses(2)
    df.loc[1, "response_id"] = "r0"
    pd.DataFrame(df).to_parquet(tmp_path / "core_responses.parquet", index=False)  # written around the check
    with pytest.raises(TableSchemaError, match="core_responses"):
        read_table("core_responses", tmp_path, columns=["response_id", "consent"])
