"""Ingest readers on realistic platform exports (fixtures built by tests/fixtures/ingest/make_fixtures.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis.config import parse_config
from analysis.errors import ConfigError
from analysis.ingest import ingest, run
from analysis.ingest.build import WARNING_PREFIX
from analysis.tables import read_table

FIX = Path(__file__).parent / "fixtures" / "ingest"
ARGS = pd.read_csv(FIX / "argkp_sample.csv")
VOTING = ARGS[ARGS["topic"] == "We should introduce compulsory voting"]["argument"].tolist()

Q1 = "1. Do you agree that voting in general elections should be compulsory?"
Q1_WHY = "1a. Please explain your answer"
Q2 = "2. Which of these changes would you support?"
Q3 = "3. Do you have any other comments?"
AGREE = {"Strongly agree": "support", "Agree": "support", "Neither agree nor disagree": "neutral",
         "Disagree": "oppose", "Strongly disagree": "oppose"}
CHANGES = {"Online voting": "none", "Weekend polling days": "none", "Fines for not voting": "none",
           "Other (please specify)": "none"}


def questions(agree: dict | None = None) -> list[dict]:
    return [
        {"id": "q1", "text": Q1, "kind": "closed", "choices": agree or AGREE},
        {"id": "q1_why", "text": Q1_WHY, "kind": "open", "related_question": "q1"},
        {"id": "q2", "text": Q2, "kind": "closed", "choices": CHANGES, "multi_select": True,
         "other_choice": "Other (please specify)"},
        {"id": "q3", "text": Q3, "kind": "open"},
    ]


def config(*sources: dict, agree: dict | None = None, **settings) -> object:
    return parse_config({"id": "t", "title": "T", "sources": list(sources), "questions": questions(agree),
                         "settings": settings or {}})


CS_SOURCE = {
    "format": "citizen_space", "id_column": "Response ID", "submitted_at_column": "Submitted on",
    "respondent_type_column": "Are you responding as an individual or on behalf of an organisation?",
    "respondent_type_map": {"As an individual": "individual", "On behalf of an organisation": "organisation"},
    "organisation_column": "What is the name of your organisation?",
    "sector_column": "Which sector is your organisation in?", "consent_column": "May we publish your response?",
    "consent_map": {"Yes": "publish_named", "No": "do_not_publish"},
    "name_column": "What is your name?", "email_column": "What is your email address?",
    "columns": {"q1": Q1, "q1_why": Q1_WHY, "q2": Q2, "q3": Q3},
    "analyst_tag_columns": {"Tags": "", "1a. Please explain your answer - Tags": "q1_why"},
}


@pytest.mark.parametrize("name", ["citizen_space.csv", "citizen_space.xlsx"])
def test_citizen_space_export(name: str) -> None:
    cfg = config({"file": name, **CS_SOURCE})
    tables, rejects = ingest(cfg, FIX)
    resp, ans, tags, ledger = (tables[k] for k in ("core_responses", "core_answers", "core_analyst_tags", "ledger"))
    assert len(resp) == 20 and rejects.empty
    assert ledger.to_dict("records")[0]["rows_read"] == 20
    first = resp.iloc[0]
    assert first["response_id"].startswith(f"{Path(name).stem}:ANON-1000-")
    assert first["source_row"] == 2  # header is row 1
    assert first["submitted_at"] == pd.Timestamp("2024-03-01 09:00")  # dd/mm/yyyy in CSV, datetime cell in XLSX
    assert first["respondent_type"] == "organisation" and first["organisation"] == "Civic Group 0"
    assert first["consent"] == "do_not_publish"  # "No" in row 1
    assert (resp["consent"] == "publish_named").sum() == 15 and (resp["consent"] == "do_not_publish").sum() == 5
    assert (resp["respondent_type"] == "organisation").sum() == 4
    # open text kept verbatim, language guessed; closed answers validated and canonical
    why = ans[ans["question_id"] == "q1_why"].set_index("response_id")["answer"]
    assert why.tolist() == VOTING[:20]
    assert set(ans.loc[ans["question_id"] == "q1_why", "language"]) == {"en"}
    assert set(ans.loc[ans["question_id"] == "q1", "language"]) == {"und"}
    assert set(ans.loc[ans["question_id"] == "q1", "answer"]) <= set(AGREE)
    q2 = ans[ans["question_id"] == "q2"]["answer"]
    assert any(a.endswith("Other (please specify): civics classes at school") for a in q2)
    assert all(set(a.split(";")) - set(CHANGES) <= {"Other (please specify): civics classes at school"} for a in q2)
    # analyst tags split on ; and , into one row each
    whole = tags[tags["question_id"] == ""]
    assert set(whole["tag"]) == {"rights", "turnout", "civic duty"}
    assert set(tags.loc[tags["question_id"] == "q1_why", "tag"]) == {"freedom of choice"}
    assert tags["response_id"].isin(resp["response_id"]).all()


def test_csv_and_xlsx_give_the_same_content() -> None:
    a, _ = ingest(config({"file": "citizen_space.csv", **CS_SOURCE}), FIX)
    b, _ = ingest(config({"file": "citizen_space.xlsx", **CS_SOURCE}), FIX)
    cols = ["question_id", "answer", "language"]
    assert a["core_answers"][cols].equals(b["core_answers"][cols])
    assert a["core_responses"]["submitted_at"].equals(b["core_responses"]["submitted_at"])


def test_surveymonkey_two_header_rows_csv_and_merged_xlsx() -> None:
    src = {"format": "surveymonkey", "columns": {"q1": Q1, "q2": Q2, "q1_why": Q1_WHY}}
    for name in ("surveymonkey.csv", "surveymonkey.xlsx"):
        tables, rejects = ingest(config({"file": name, **src}), FIX)
        resp, ans = tables["core_responses"], tables["core_answers"]
        assert len(resp) == 12 and rejects.empty, name
        assert resp["response_id"].iloc[0] == f"{Path(name).stem}:114000000000"  # Respondent ID by default
        assert resp["submitted_at"].iloc[0] == pd.Timestamp("2024-04-10 10:09")  # US m/d/Y + AM/PM detected
        q2 = ans[ans["question_id"] == "q2"].set_index("response_id")["answer"]
        # the question text addresses all four sub-answer columns; ticks become canonical labels
        assert q2.iloc[0] == "Online voting"
        assert q2.iloc[2] == "Weekend polling days;Other (please specify): Make election day a public holiday"
        assert ans.loc[ans["question_id"] == "q1_why", "answer"].tolist() == VOTING[20:32]


def test_surveymonkey_sub_answer_column_names() -> None:
    from analysis.ingest.formats import FORMATS
    from analysis.ingest.tabular import read_table as read_raw

    sm = FORMATS["surveymonkey"]
    t = read_raw(FIX / "surveymonkey.csv", "surveymonkey.csv", reader="surveymonkey", header_rows=sm.header_rows,
                 header=sm.header)
    assert Q1 in t.columns and Q1_WHY in t.columns  # "Response" / "Open-Ended Response" collapse
    assert f"{Q2} | Weekend polling days" in t.columns and f"{Q2} | Other (please specify)" in t.columns
    assert t.rows[0][0] == 3  # two header rows: first data row is spreadsheet row 3


def test_qualtrics_three_header_rows_by_id_or_text() -> None:
    qs = questions({"Strongly agree": "support", "Somewhat disagree": "oppose"})
    qs[2]["choice_separator"] = ","
    by_text = {"file": "qualtrics.csv", "format": "qualtrics", "columns": {"q1": Q1, "q1_why": Q1_WHY, "q2": "Q2"}}
    cfg = parse_config({"id": "t", "title": "T", "sources": [by_text], "questions": qs})
    tables, rejects = ingest(cfg, FIX)
    resp, ans = tables["core_responses"], tables["core_answers"]
    assert len(resp) == 10 and rejects.empty
    assert resp["source_row"].iloc[0] == 4 and resp["response_id"].iloc[0] == "qualtrics:R_00abcdEFGH0"
    assert resp["submitted_at"].iloc[0] == pd.Timestamp("2024-05-01 08:06")
    q2 = ans[ans["question_id"] == "q2"]["answer"].tolist()
    assert q2[1] == "Online voting,Weekend polling days"
    assert q2[0] == "Other (please specify)"
    by_id = dict(by_text, columns={"q1": "Q1", "q1_why": "QID3_TEXT", "q2": "QID2"})
    cfg2 = parse_config({"id": "t", "title": "T", "sources": [by_id], "questions": qs})
    assert ingest(cfg2, FIX)[0]["core_answers"].equals(ans)


def test_ms_forms_defaults_and_anonymous() -> None:
    src = {"file": "ms_forms.xlsx", "format": "ms_forms", "columns": {"q1": Q1, "q1_why": Q1_WHY}}
    tables, rejects = ingest(config(src), FIX)
    resp = tables["core_responses"]
    assert resp["response_id"].tolist()[:2] == ["ms_forms:1", "ms_forms:2"]
    assert resp["respondent_email"].tolist()[:2] == ["person0@example.net", None] or pd.isna(resp["respondent_email"].iloc[1])
    assert resp["respondent_name"].iloc[0] == "Person 0" and pd.isna(resp["respondent_name"].iloc[1])
    assert resp["submitted_at"].iloc[0] == pd.Timestamp("2024-06-03 12:04")


def test_regulations_gov_bulk_download() -> None:
    src = {"file": "regulations_gov.csv", "format": "regulations_gov", "channel": "other", "question_id": "q3"}
    tables, rejects = ingest(config(src), FIX)
    resp, ledger = tables["core_responses"], tables["ledger"].iloc[0]
    assert ledger["rows_read"] == 7 and ledger["rows_kept"] == 5 and ledger["rows_rejected"] == 2
    reasons = rejects["reason"].tolist()
    assert any("not a public submission (Document Type: Rule)" in r for r in reasons)
    assert any("withdrawn" in r for r in reasons)
    assert any(r.startswith(WARNING_PREFIX) and "attachment" in r for r in reasons)
    r0 = resp.set_index("response_id").loc["regulations_gov:EPA-HQ-OAR-2024-0001-0002"]
    assert r0["respondent_type"] == "individual" and r0["respondent_name"] == "Pat0 Lee0" and r0["consent"] == "publish_named"
    r1 = resp.set_index("response_id").loc["regulations_gov:EPA-HQ-OAR-2024-0001-0003"]
    assert r1["respondent_type"] == "organisation" and r1["organisation"] == "Trade Association 1"
    assert r1["sector"] == "Trade Association"


def test_folder_of_submissions() -> None:
    src = {"file": "submissions", "format": "folder", "question_id": "q3"}
    tables, rejects = ingest(config(src), FIX)
    resp, ans, ledger = tables["core_responses"], tables["core_answers"], tables["ledger"]
    assert len(ledger) == 9 and (ledger["rows_read"] == 1).all()
    # ids are a stable hash of the file name (names of senders stay out of ids); source_file keeps the name
    rid = dict(zip(resp["source_file"].str.rsplit("/", n=1).str[-1], resp["response_id"], strict=True))
    assert set(rid) == {"001-aroha.eml", "002-html.eml", "003-letter.txt", "004-letter.docx", "005-letter.pdf",
                        "009-notes.md"}
    assert all(v.startswith("submissions:") and "aroha" not in v for v in rid.values())
    again, _ = ingest(config(src), FIX)
    assert sorted(again["core_responses"]["response_id"]) == sorted(rid.values())  # stable across runs
    by_file = rejects.set_index("file")["reason"]
    assert by_file["submissions/006-scan.pdf"].startswith("no text layer: needs OCR")
    assert by_file["submissions/007-photo.jpg"].startswith("unsupported file type .jpg")
    assert by_file["submissions/008-empty.txt"].startswith("empty document")
    text = ans.set_index("response_id")["answer"]
    eml = text[rid["001-aroha.eml"]]
    assert eml.startswith("Kia ora,") and "[Attachment 1 (.docx)]" in eml and "Fines | Oppose" in eml
    assert "[Attachment 2 (.pdf)]" in eml
    # attachment file names are personal information: in no text and no reason (both may be published), only raw
    assert "submission.docx" not in eml and "appendix.pdf" not in eml
    scan = rejects[rejects["reason"].str.contains("no text layer") & rejects["file"].str.endswith(".eml")]
    assert len(scan) == 1 and scan["raw"].iloc[0] == "signed-scan.pdf" and "signed-scan" not in scan["reason"].iloc[0]
    r = resp.set_index("response_id")
    assert r.loc[rid["001-aroha.eml"], "respondent_email"] == "aroha@example.org"
    assert r.loc[rid["001-aroha.eml"], "respondent_name"] == "Aroha Smith"
    assert r.loc[rid["001-aroha.eml"], "submitted_at"] == pd.Timestamp("2024-03-12 01:05")  # UTC
    assert r.loc[rid["001-aroha.eml"], "channel"] == "email"
    assert r.loc[rid["004-letter.docx"], "channel"] == "document"
    assert "<p>" not in text[rid["002-html.eml"]] and VOTING[53][:30] in text[rid["002-html.eml"]]
    assert "\u2019" in text[rid["003-letter.txt"]]  # cp1252 curly quote decoded
    assert "Support? | No" in text[rid["004-letter.docx"]]
    assert VOTING[56][:40] in text[rid["005-letter.pdf"]]


def test_unmapped_choices_listed_together() -> None:
    agree = {k: v for k, v in AGREE.items() if k not in ("Agree", "Disagree")}
    with pytest.raises(ConfigError) as err:
        ingest(config({"file": "citizen_space.csv", **CS_SOURCE}, agree=agree), FIX)
    msg = str(err.value)
    assert "citizen_space.csv" in msg and Q1 in msg and "'Agree': rows" in msg and "'Disagree': rows" in msg


def test_response_ids_stable_under_row_order(tmp_path: Path) -> None:
    src = {k: v for k, v in CS_SOURCE.items() if k != "id_column"} | {"format": "generic"}
    lines = (FIX / "citizen_space.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "cs.csv").write_text("".join(lines), encoding="utf-8")
    (tmp_path / "b" / "cs.csv").write_text(lines[0] + "".join(reversed(lines[1:])), encoding="utf-8")
    # an identical duplicated row gets a deterministic suffix
    (tmp_path / "a" / "cs.csv").write_text("".join(lines) + lines[1], encoding="utf-8")
    (tmp_path / "b" / "cs.csv").write_text(lines[0] + lines[1] + "".join(reversed(lines[1:])), encoding="utf-8")
    cfg = config({"file": "cs.csv", **src}, language_detection=False)
    a = ingest(cfg, tmp_path / "a")[0]["core_answers"]
    b = ingest(cfg, tmp_path / "b")[0]["core_answers"]
    key = ["response_id", "question_id"]
    assert a.sort_values(key).reset_index(drop=True).equals(b.sort_values(key).reset_index(drop=True))
    assert a["response_id"].str.endswith("-2").sum() > 0


def test_run_writes_tables_byte_identical(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("citizen_space.csv", "regulations_gov.csv"):
        shutil.copy(FIX / name, raw / name)
    shutil.copytree(FIX / "submissions", raw / "emails")
    cfg = config({"file": "citizen_space.csv", **CS_SOURCE},
                 {"file": "regulations_gov.csv", "format": "regulations_gov", "question_id": "q3"},
                 {"file": "emails", "format": "folder", "question_id": "q3"})
    out1 = run(cfg, raw_dir=raw, processed_dir=tmp_path / "p1")
    out2 = run(cfg, raw_dir=raw, processed_dir=tmp_path / "p2")
    assert [p.name for p in out1] == ["core_questions.parquet", "core_responses.parquet", "core_answers.parquet",
                                      "core_analyst_tags.parquet", "ledger.parquet", "core_rejects.parquet"]
    for p1, p2 in zip(out1, out2, strict=True):
        assert p1.read_bytes() == p2.read_bytes()
    ledger = read_table("ledger", tmp_path / "p1")
    responses = read_table("core_responses", tmp_path / "p1")
    assert ledger["rows_kept"].sum() == len(responses) == 20 + 5 + 6
    assert (ledger["rows_read"] == ledger["rows_kept"] + ledger["rows_rejected"]).all()
    qs = read_table("core_questions", tmp_path / "p1")
    assert json.loads(qs.set_index("question_id").loc["q1", "choices"]) == AGREE
    assert list(qs["order"]) == [0, 1, 2, 3]


def test_unmapped_respondent_type_is_unknown_with_warning(caplog: pytest.LogCaptureFixture) -> None:
    src = dict(CS_SOURCE, respondent_type_map={"As an individual": "individual"})
    with caplog.at_level("WARNING"):
        tables, rejects = ingest(config({"file": "citizen_space.csv", **src}, language_detection=False), FIX)
    resp = tables["core_responses"]
    assert (resp["respondent_type"] == "unknown").sum() == 4 and (resp["respondent_type"] == "individual").sum() == 16
    assert "'On behalf of an organisation' (4 rows) is not in respondent_type_map" in caplog.text
    assert rejects.empty  # a warning, not a reject
