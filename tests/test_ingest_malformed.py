"""Every malformed input gives a clear error naming the file, or reject rows with reasons: never a bare
traceback, never a silently shorter table (rows read = rows kept + rows rejected, with exact counts)."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from analysis.config import parse_config
from analysis.errors import ConfigError, InputError
from analysis.ingest import ingest
from analysis.ingest.build import WARNING_PREFIX
from analysis.schemas import validate

BAD = Path(__file__).parent / "fixtures" / "ingest" / "malformed"
Q1, WHY = "Do you support the proposal?", "Why?"
QUESTIONS = [
    {"id": "q1", "text": Q1, "kind": "closed", "choices": {"Yes": "support", "No": "oppose", "Not sure": "unsure"}},
    {"id": "q2", "text": WHY, "kind": "open", "related_question": "q1"},
    {"id": "q3", "text": "More", "kind": "open"},
    {"id": "q4", "text": "Changes", "kind": "closed", "multi_select": True,
     "choices": {"Online voting": "none", "Weekend polling days": "none", "Fines for not voting": "none"}},
]
BASE = {"format": "generic", "id_column": "Response ID", "submitted_at_column": "Submitted on",
        "columns": {"q1": Q1, "q2": WHY}}


@dataclass
class Case:
    file: str
    error: type[Exception] | None = None  # expected exception (its message must name the file)
    message: list[str] = field(default_factory=list)  # substrings of the error message
    kept: int = 0
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)  # substrings that must appear among reject reasons
    source: dict = field(default_factory=dict)  # overrides of BASE
    folder: bool = False  # the file is one document of a folder source
    answers: dict[tuple[str, str], str] = field(default_factory=dict)  # (response id, question) -> answer
    rows: list[int] | None = None  # expected source_row of kept responses


CASES = [
    Case("empty.csv", InputError, ["empty"]),
    Case("bom_only.csv", InputError, ["empty"]),
    Case("header_only.csv", kept=0),
    Case("binary_garbage.csv", InputError, ["not a text file"]),
    Case("xlsx_named_csv.csv", kept=20, source={"columns": {"q2": "1a. Please explain your answer"},
                                                "submitted_at_column": "Submitted on"}),
    Case("cp1252.csv", kept=3, answers={("cp1252:R1", "q2"): "Café owners in Otaki can’t afford it – really"}),
    Case("utf16_tab.txt.csv", kept=3, answers={("utf16_tab.txt:R1", "q2"): "Kia ora, he pai tēnei kaupapa mō te iwi katoa"}),
    Case("utf8_bom_semicolon.csv", kept=4, rows=[2, 3, 4, 5]),
    Case("excel_sep_line.csv", kept=4, rows=[3, 4, 5, 6]),
    Case("blank_rows.csv", kept=4, rejected=2, reasons=["blank row"], rows=[2, 3, 6, 7]),
    Case("duplicate_columns.csv", kept=4, source={"columns": {"q1": Q1, "q2": WHY, "q3": "Why? (2)"}},
         answers={("duplicate_columns:R1", "q3"): "second why R1"}),
    Case("trailing_empty_columns.csv", kept=4),
    Case("ragged_long.csv", kept=3, rejected=1, reasons=["ragged row: 6 fields but the header has 4"]),
    Case("ragged_short.csv", kept=3, rejected=1, reasons=["no answer to any configured question"]),
    Case("embedded_newlines.csv", kept=3, rows=[2, 3, 4],
         answers={("embedded_newlines:R1", "q2"): 'First line.\nSecond line, with a comma.\r\nThird line "quoted".'}),
    Case("long_cell.csv", kept=2),
    Case("mixed_encodings.csv", kept=2, answers={("mixed_encodings:R1", "q2"): "Tēnā koutou – I support this",
                                                 ("mixed_encodings:R2", "q2"): "Café owners can’t afford fines"}),
    Case("mojibake.csv", kept=1, answers={("mojibake:R1", "q2"): "I don’t think so – it’s unfair"}),
    Case("excel_serial_dates.csv", kept=2),
    Case("bad_dates.csv", kept=3, reasons=[WARNING_PREFIX + "unparseable date 'yesterday-ish'",
                                           WARNING_PREFIX + "unparseable date '31/02/2024'"]),
    Case("unmapped_choice.csv", ConfigError, [f"column '{Q1}'", "'Maybe': rows 3, 5", "'Yes please': rows 4"]),
    Case("missing_column.csv", ConfigError, ["column 'Why?' (question q2)", "not in the file"]),
    Case("duplicate_ids.csv", kept=2, rejected=2, reasons=["duplicate response id 'R1' (first seen at row 2)",
                                                           "empty response id"]),
    Case("answers_missing.csv", kept=2, rejected=1, reasons=["no answer to any configured question"]),
    Case("old_mac_cr.csv", kept=4),
    Case("unterminated_quote.csv", InputError, ["row 4", "never closed"]),
    Case("nul_bytes.csv", kept=4),
    Case("blank_row.xlsx", kept=5, rejected=1, reasons=["blank row"], rows=[2, 3, 4, 5, 7]),
    Case("title_row.xlsx", ConfigError, ["not in the file", "Consultation on compulsory voting"]),
    Case("merged_header.xlsx", kept=2, source={"format": "surveymonkey", "id_column": "Respondent ID",
                                               "submitted_at_column": None,
                                               "columns": {"q4": "Which of these changes would you support?", "q2": "Why?"}},
         answers={("merged_header:1", "q4"): "Online voting;Fines for not voting"}),
    Case("truncated.xlsx", InputError, ["not a readable .xlsx", "corrupt or truncated"]),
    Case("encrypted.xlsx", InputError, ["password-protected"]),
    Case("not_a_workbook.xlsx", InputError, ["not a readable .xlsx"]),
    Case("scanned.pdf", folder=True, rejected=1, reasons=["no text layer: needs OCR"]),
    Case("corrupt.docx", folder=True, rejected=1, reasons=["corrupt or unreadable .docx"]),
]


def _cfg(case: Case, tmp_path: Path) -> tuple[object, Path]:
    if case.folder:
        (tmp_path / "docs").mkdir()
        shutil.copy(BAD / case.file, tmp_path / "docs" / case.file)
        source = {"file": "docs", "format": "folder", "question_id": "q2"}
        return parse_config({"id": "m", "title": "M", "sources": [source], "questions": QUESTIONS,
                             "settings": {"language_detection": False}}), tmp_path
    source = {**BASE, **case.source, "file": case.file}
    source = {k: v for k, v in source.items() if v is not None}
    return parse_config({"id": "m", "title": "M", "sources": [source], "questions": QUESTIONS,
                         "settings": {"language_detection": False}}), BAD


def test_at_least_25_malformed_fixtures() -> None:
    files = {p.name for p in BAD.iterdir()}
    assert len(files) >= 25 and {c.file for c in CASES} <= files


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_malformed_input(case: Case, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg, raw = _cfg(case, tmp_path)
    if case.error is not None:
        with pytest.raises(case.error) as err:
            ingest(cfg, raw)
        msg = str(err.value)
        assert case.file in msg, msg
        for part in case.message:
            assert part in msg, msg
        return
    with caplog.at_level(logging.WARNING):
        tables, rejects = ingest(cfg, raw)
    for name, df in tables.items():
        validate(df, name)  # every table matches its schema
    validate(rejects, "core_rejects")
    ledger = tables["ledger"]
    assert len(ledger) == 1 and ledger["file"].iloc[0].endswith(case.file)  # one ledger row per file, even if empty
    assert (ledger["rows_read"] == ledger["rows_kept"] + ledger["rows_rejected"]).all()
    assert int(ledger["rows_kept"].sum()) == case.kept == len(tables["core_responses"])
    assert int(ledger["rows_rejected"].sum()) == case.rejected
    real_rejects = rejects[~rejects["reason"].str.startswith(WARNING_PREFIX)]
    assert len(real_rejects) == case.rejected  # one reject row per rejected row, each with a reason
    assert real_rejects["reason"].str.len().gt(0).all()
    for part in case.reasons:
        assert any(part in r for r in rejects["reason"]), (part, rejects["reason"].tolist())
    ans = tables["core_answers"].set_index(["response_id", "question_id"])["answer"]
    for key, text in case.answers.items():
        assert ans[key] == text
    if case.rows is not None:
        assert tables["core_responses"]["source_row"].tolist() == case.rows
    if case.file == "long_cell.csv":
        assert ans[("long_cell:R1", "q2")].__len__() > 32_767
        assert "32,767" in caplog.text
    if case.file == "excel_serial_dates.csv":
        assert tables["core_responses"]["submitted_at"].tolist() == [pd.Timestamp("2024-03-01 10:00"), pd.Timestamp("2024-03-02")]
    if case.file == "bad_dates.csv":
        got = tables["core_responses"]["submitted_at"].tolist()
        assert pd.isna(got[0]) and pd.isna(got[1]) and got[2] == pd.Timestamp("2024-03-01 21:00")
        warn = rejects[rejects["reason"].str.startswith(WARNING_PREFIX)]
        assert warn["row"].tolist() == [2, 3] and warn["raw"].tolist() == ["yesterday-ish", "31/02/2024"]
    if case.file == "ragged_long.csv":
        assert "it is fair" in rejects["raw"].iloc[0] and rejects["row"].iloc[0] == 4
    if case.file == "duplicate_columns.csv":
        assert "duplicated column name" in caplog.text
