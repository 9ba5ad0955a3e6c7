"""init-config on each platform layout: every column's role, the draft as written, and a whole run on it.

Fixtures: ``tests/fixtures/ingest/layouts/`` (written by ``make_layouts.py``; see its docstring).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from analysis import pipeline
from analysis.config import load_config
from analysis.ingest import draft_config, ingest
from analysis.ingest.build import WARNING_PREFIX
from analysis.ingest.draft import detect_format, read_export
from analysis.ingest.flags import ATTACHMENT_ONLY, POINTER
from analysis.ingest.roles import CONFIG_KEYS
from analysis.tables import read_table

LAYOUTS = Path(__file__).parent / "fixtures" / "ingest" / "layouts"

_REGS_ROLES = {
    "Document ID": "id", "Posted Date": "date", "First Name": "name", "Last Name": "name",
    "Organization Name": "organisation", "Category": "sector", "Comment": "question", "Email": "email",
    "Attachment Files": "attachment", "City": "country", "State/Province": "country", "Country": "country",
    "Zip/Postal Code": "personal", "Phone": "personal", "Fax": "personal", "Address Line 1": "personal",
    "Submitter Representative": "personal", "Reviewer": "notes", "Theme Code": "tags", "Analyst Notes": "notes",
    "Response Needed?": "notes",
}
#: Layout -> (format, column -> role; ``None``: metadata unless listed, for the 70-column regulations.gov file).
EXPECTED: dict[str, tuple[str, dict[str, str]]] = {
    "have_your_say.csv": ("have_your_say", {
        "Reference": "id", "Feedback date": "date", "Language": "language", "User type": "respondent_type",
        "First name": "name", "Surname": "name", "Organisation name": "organisation",
        "Organisation size": "metadata", "Transparency register number": "metadata", "Country of origin": "country",
        "Publication privacy settings": "consent", "Q1": "question", "Q2": "question", "Q3": "question",
        "Feedback": "question", "Attachment": "attachment", "Status": "metadata", "Scope": "metadata",
        "Level of governance": "metadata", "Creation date": "metadata", "Last update date": "metadata",
        "User agent": "metadata"}),
    "regulations_gov_annotated.csv": ("regulations_gov", _REGS_ROLES),
    "citizen_space_layout.csv": ("citizen_space", {
        "Response ID": "id", "Started on": "metadata", "Submitted on": "date", "First name": "name",
        "Last name": "name", "Email address": "email",
        "Are you responding as an individual or on behalf of an organisation?": "respondent_type",
        "Organisation name": "organisation", "Which region do you live in?": "country",
        "May we publish your response?": "consent", "Q1. Should the region ban single-use plastic bags?": "question",
        "Q1a. Why do you say that?": "question", "Q2. Anything else you would like to tell us?": "question",
        "Upload a supporting document (optional)": "attachment", "Tags": "tags", "Analyst notes": "notes"}),
    "surveymonkey_layout.csv": ("surveymonkey", {
        "Respondent ID": "id", "Collector ID": "metadata", "Start Date": "metadata", "End Date": "date",
        "IP Address": "metadata", "Email Address": "email", "First Name": "name", "Last Name": "name",
        "Custom Data 1": "metadata", "Do you support the new transport plan?": "question",
        "Which of these would you use? | Bus": "question", "Which of these would you use? | Train": "question",
        "Which of these would you use? | Bike": "question",
        "Which of these would you use? | Other (please specify)": "question",
        "Please explain your answer": "question", "What is your postcode?": "personal"}),
    "qualtrics_layout.csv": ("qualtrics", {
        "StartDate": "metadata", "EndDate": "metadata", "Status": "metadata", "IPAddress": "metadata",
        "Progress": "metadata", "Duration (in seconds)": "metadata", "Finished": "metadata", "RecordedDate": "date",
        "ResponseId": "id", "RecipientLastName": "name", "RecipientFirstName": "name", "RecipientEmail": "email",
        "ExternalReference": "metadata", "LocationLatitude": "metadata", "LocationLongitude": "metadata",
        "DistributionChannel": "metadata", "UserLanguage": "language", "Q1": "question", "Q2": "question",
        "Q3": "name", "Q4": "country"}),
    "ms_forms_layout.xlsx": ("ms_forms", {
        "Id": "id", "Start time": "metadata", "Completion time": "date", "Email": "email", "Name": "name",
        "Last modified time": "metadata", "Do you support a four-day school week?": "question",
        "Which days should be off?": "question", "Tell us why": "question", "Upload your submission": "attachment"}),
}


def _short(column: str) -> str:
    """The EU questions' long multi-line headers are named Q1..Q3 in :data:`EXPECTED`."""
    return f"Q{column[0]}" if re.match(r"^\d\. ", column) and "\n" in column else column


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_draft_assigns_every_role(name: str) -> None:
    fmt, expected = EXPECTED[name]
    assert detect_format(LAYOUTS / name) == fmt
    ex = read_export(LAYOUTS / name)
    got = {_short(c.column): c.role for c in ex.plan}
    if fmt == "regulations_gov":
        expected = {col: expected.get(col, "metadata") for col in got}
        expected |= {c: "personal" for c in got if c.startswith("Representative's")}
        assert len(got) == 74
    assert got == expected
    text = draft_config(LAYOUTS / name)
    lines = text.splitlines()
    for c in ex.plan:  # sure roles are quiet; every unsure one is a TODO with sample values as evidence
        if c.role == "question":
            continue
        line = next(ln for ln in lines if ln.startswith("#   ") and ln[4:].startswith(repr(c.column)))
        assert ("TODO check" in line) == (not c.sure), line
        assert ("e.g. " in line) == (not c.sure and bool(ex.values[c.index])), line
    for role, key in CONFIG_KEYS.items():  # the configured keys too
        cols = [c for c in ex.plan if c.role == role]
        line = next((ln for ln in lines if ln.startswith(f"    {key}:")), None)
        assert (line is None) == (not cols), key
        if cols:
            assert ("TODO check" in line) == any(not c.sure for c in cols), line
    data = yaml.safe_load(text)
    src = data["sources"][0]
    names = [c.column for c in ex.plan if c.role == "name"]
    assert src.get("name_column") == (names if len(names) > 1 else names[0])
    for role, key in [("id", "id_column"), ("date", "submitted_at_column"), ("email", "email_column"),
                      ("language", "language_column"), ("consent", "consent_column"),
                      ("attachment", "attachment_column"), ("organisation", "organisation_column")]:
        cols = [c.column for c in ex.plan if c.role == role]
        assert src.get(key) == (cols[0] if cols else None), key
    # no name, e-mail, personal, metadata or annotation column became a question
    question_cols = set(src["columns"].values())
    for c in ex.plan:
        if c.role not in ("question",):
            assert c.column not in question_cols, c.column


def test_unsure_roles_show_masked_evidence() -> None:
    text = draft_config(LAYOUTS / "citizen_space_layout.csv")
    name_line = next(ln for ln in text.splitlines() if ln.strip().startswith("name_column:"))
    assert "TODO check" in name_line and "'Last name' from the header: e.g. 'D…'" in name_line
    assert not re.search(r"Oliver|Greta|Duplessis|Wojciechowski", text)  # first letters only: no names in configs
    region = next(ln for ln in text.splitlines() if "country/region" in ln)
    assert "Which region do you live in?" in region
    consent = yaml.safe_load(text)["sources"][0]["consent_map"]
    assert consent == {"Yes, publish my response with my name": "publish_named",
                       "Yes, publish my response but withhold my name": "publish_anonymous",
                       "No, do not publish my response": "do_not_publish"}


def test_have_your_say_draft_ingests_as_written(tmp_path: Path) -> None:
    raw = tmp_path / "eu-platforms"
    raw.mkdir()
    shutil.copy(LAYOUTS / "have_your_say.csv", raw)
    text = draft_config(raw / "have_your_say.csv")
    data = yaml.safe_load(text)
    assert data["id"] == "eu-platforms"  # the consultation folder, not the file name
    src = data["sources"][0]
    assert src["delimiter"] == ";" and src["name_column"] == ["First name", "Surname"]
    assert src["consent_map"] == {"Anonymous": "publish_anonymous", "Public": "publish_named"}
    assert src["respondent_type_map"]["EU citizen"] == "individual"
    assert src["respondent_type_map"]["NGO (Non-governmental organisation)"] == "organisation"
    q1 = data["questions"][0]
    assert q1["text"] == "1. Do you agree that the proposed rules should apply to all online platforms?"
    (raw / "consultation.yml").write_text(text, encoding="utf-8")
    tables, rejects = ingest(load_config(raw / "consultation.yml"), raw)
    resp, ans = tables["core_responses"], tables["core_answers"]
    assert len(resp) == 24 and tables["ledger"]["rows_read"].iloc[0] == 24  # 24 records, not 1,968 "responses"
    only = rejects[rejects["reason"] == WARNING_PREFIX + ATTACHMENT_ONLY]
    assert sorted(only["row"]) == [7, 19] and set(only["raw"]) == {"Pemberton_position_paper.pdf"}
    assert not ans["response_id"].isin(resp.loc[resp["source_row"].isin([7, 19]), "response_id"]).any()
    # languages come from the export's Language column
    lang = ans[ans["question_id"] == "q4"].merge(resp, on="response_id")
    export = pd.read_csv(raw / "have_your_say.csv", sep=";", encoding="utf-8-sig", dtype=str)
    declared = dict(zip(export["Reference"], export["Language"].str.lower(), strict=True))
    assert (lang["language"] == lang["response_id"].str.split(":").str[1].map(declared)).all()
    assert {"it", "nl", "sv", "fi", "hr", "fr"} <= set(lang["language"])
    names = resp.set_index("source_row")["respondent_name"]
    assert names[2] == "Marco Bianchini"  # both name columns reach redaction


def test_regulations_gov_totals_annotations_and_attachments() -> None:
    src = yaml.safe_load(draft_config(LAYOUTS / "regulations_gov_annotated.csv"))["sources"][0]
    assert src["analyst_tag_columns"] == {"Theme Code": ""}
    assert set(src["columns"].values()) == {"Comment"}
    cfg_text = draft_config(LAYOUTS / "regulations_gov_annotated.csv")
    assert '"Total"' not in cfg_text and '"26"' not in cfg_text  # a total row offers no choices
    cfg = load_config_text(cfg_text, LAYOUTS)
    tables, rejects = ingest(cfg, LAYOUTS)
    led = tables["ledger"].iloc[0]
    assert (led["rows_read"], led["rows_kept"], led["rows_rejected"]) == (28, 24, 4)
    reasons = rejects.set_index("row")["reason"]
    assert reasons[28].startswith("total row") and reasons[29].startswith("total row")
    pointer = rejects[rejects["reason"] == WARNING_PREFIX + POINTER]
    assert sorted(pointer["row"]) == [8, 15]  # "See file attached."
    only = rejects[rejects["reason"] == WARNING_PREFIX + ATTACHMENT_ONLY]
    assert only["row"].tolist() == [11] and only["raw"].iloc[0].startswith("https://downloads.regulations.gov/")
    assert not rejects["reason"].str.contains("downloads.regulations.gov").any()  # file names stay in raw
    tags = tables["core_analyst_tags"]
    assert set(tags["tag"]) == {"COST", "HEALTH", "JOBS"}


def load_config_text(text: str, folder: Path):  # noqa: ANN201 - a ConsultationConfig
    from analysis.config import parse_config

    return parse_config(yaml.safe_load(text), folder / "consultation.yml")


def _published_text(reports: Path) -> str:
    parts = []
    for p in sorted(reports.rglob("*")):
        if p.suffix in (".md", ".html", ".csv", ".svg", ".txt", ".json"):
            parts.append(p.read_text(encoding="utf-8", errors="replace"))
        elif p.suffix == ".xlsx":
            wb = openpyxl.load_workbook(p, read_only=True)
            for ws in wb.worksheets:
                parts += [str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None]
            wb.close()
    return "\n".join(parts)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_run_on_the_draft_publishes_no_name(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    slug = Path(name).stem.replace("_", "-")
    raw = tmp_path / "raw" / slug
    raw.mkdir(parents=True)
    shutil.copy(LAYOUTS / name, raw)
    text = draft_config(raw / name).replace("TODO: title of the consultation", "Layout run")
    (raw / "consultation.yml").write_text(text, encoding="utf-8")
    for var, sub in (("ANALYSIS_DATA_RAW", "raw"), ("ANALYSIS_DATA_PROCESSED", "processed"),
                     ("ANALYSIS_REPORTS", "reports")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    pipeline.run(slug)  # ends with the publication guard
    reports = tmp_path / "reports" / slug
    assert (reports / "summary.md").exists()
    ex = read_export(raw / name)
    secret = {v for c in ex.plan if c.role in ("name", "attachment") for v in ex.values[c.index]}
    words = {w for v in secret for w in re.split(r"[\s_.,()]+", v) if len(w) >= 4 and w.lower() not in
             ("anonymous", "https", "downloads", "regulations", "attachment", "position", "paper", "evidence",
              "letter", "docx")}
    assert len(words) >= 8
    def leaks(text: str) -> list[str]:
        return sorted(w for w in words if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text, re.I))

    assert not leaks(_published_text(reports))
    # every name column reached redaction: no redacted answer holds a respondent's name (some answers do,
    # in words the generic detectors miss: "The Duplessis family has run a shop ...")
    redacted = read_table("core_answers_redacted", tmp_path / "processed" / slug)
    assert leaks("\n".join(redacted["answer"]))  # the fixture plants names in answers
    assert not leaks("\n".join(redacted["text_redacted"]))


def test_init_config_options_and_implausible_parse(tmp_path: Path) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415

    from analysis.cli import app  # noqa: PLC0415

    runner = CliRunner()
    out = tmp_path / "consultation.yml"
    done = runner.invoke(app, ["init-config", str(LAYOUTS / "have_your_say.csv"), "--delimiter", "semicolon",
                               "--encoding", "utf-8-sig", "--out", str(out)])
    assert done.exit_code == 0, done.output
    src = yaml.safe_load(out.read_text(encoding="utf-8"))["sources"][0]
    assert (src["delimiter"], src["encoding"], src["format"]) == (";", "utf-8-sig", "have_your_say")
    wrong = runner.invoke(app, ["init-config", str(LAYOUTS / "have_your_say.csv"), "--delimiter", ","])
    assert wrong.exit_code == 2 and "the separator is probably ';'" in wrong.output  # no garbage draft
    prose = tmp_path / "notes.csv"
    prose.write_text("\n".join(f"Line {k}: we think, on balance, that the plan; is fine | mostly." * (1 + k % 3)
                               for k in range(30)), encoding="utf-8")
    bad = runner.invoke(app, ["init-config", str(prose)])
    assert bad.exit_code == 2 and "cannot tell how the columns are separated" in bad.output
