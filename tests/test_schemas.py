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
    assert (a / "core_answers.csv").read_bytes() == (b / "core_answers.csv").read_bytes()


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
    p = tmp_path / "core_answers.csv"
    p.write_text(p.read_text().replace("response_id,", "resp,"), encoding="utf-8")
    with pytest.raises(TableSchemaError):
        read_table("core_answers", tmp_path)


def test_missing_table_names_the_stage(tmp_path):
    with pytest.raises(FileNotFoundError, match="core_answers"):
        read_table("core_answers", tmp_path)
