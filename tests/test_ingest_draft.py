"""draft_config: format detection, column roles, closed/open classification, and draft -> edits -> ingest."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis.config import load_config
from analysis.ingest import draft_config, ingest
from analysis.ingest.draft import detect_format, guess_position

FIX = Path(__file__).parent / "fixtures" / "ingest"
TEXTS = pd.read_csv(FIX / "argkp_sample.csv")["argument"].tolist()

Q1 = "Q1. Should the council introduce a congestion charge in the city centre?"
Q1_WHY = "Q1a. Why do you say that?"
Q2 = "Q2. How important is reducing traffic to you?"
Q3 = "Q3. Is there anything else you would like to tell us?"
IMPORTANCE = ["Very important", "Fairly important", "Not very important", "Not at all important"]


def _unseen_export(path: Path, n: int = 40) -> None:
    """A Citizen Space-style export with questions and wording no other test uses."""
    rng = random.Random(11)
    header = ["Response ID", "Submitted on", "Are you responding as an individual or on behalf of an organisation?",
              "Organisation name", "Can we publish your response?", "Email address", Q1, Q1_WHY, Q2, Q3, "Tags"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i in range(n):
            org = i % 8 == 0
            w.writerow([f"ANON-7{i:03d}-1111-Z", f"{1 + i % 28:02d}/07/2024 1{i % 10}:30",
                        "Organisation" if org else "Individual", f"Business {i}" if org else "",
                        rng.choice(["Yes", "Yes", "No"]), f"p{i}@example.com",
                        ["Yes", "No", "Not sure"][i % 3], TEXTS[i] if i % 5 else "",
                        IMPORTANCE[i % 4], TEXTS[60 + i % 30] if i % 2 else "", "traffic; cost" if i % 4 == 0 else ""])


@pytest.mark.parametrize(("name", "fmt"), [
    ("citizen_space.csv", "citizen_space"), ("citizen_space.xlsx", "citizen_space"),
    ("surveymonkey.csv", "surveymonkey"), ("surveymonkey.xlsx", "surveymonkey"), ("qualtrics.csv", "qualtrics"),
    ("ms_forms.xlsx", "ms_forms"), ("regulations_gov.csv", "regulations_gov"), ("submissions", "folder"),
    ("argkp_sample.csv", "generic"),
])
def test_detect_format(name: str, fmt: str) -> None:
    assert detect_format(FIX / name) == fmt


def test_guess_position_wording() -> None:
    got = {label: guess_position(label) for label in [
        "Strongly agree", "Agree", "Neither agree nor disagree", "Disagree", "Strongly disagree", "Yes", "No",
        "Not sure", "Don't know", "Support", "Oppose", "Very important", "Not at all important", "Other"]}
    assert got == {"Strongly agree": "support", "Agree": "support", "Neither agree nor disagree": "neutral",
                   "Disagree": "oppose", "Strongly disagree": "oppose", "Yes": "support", "No": "oppose",
                   "Not sure": "unsure", "Don't know": "unsure", "Support": "support", "Oppose": "oppose",
                   "Very important": "none", "Not at all important": "none", "Other": "none"}


def test_draft_then_ingest_unseen_export(tmp_path: Path) -> None:
    export = tmp_path / "congestion.csv"
    _unseen_export(export)
    text = draft_config(export)
    assert "TODO" in text
    data = yaml.safe_load(text)
    src = data["sources"][0]
    assert src["format"] == "citizen_space" and src["id_column"] == "Response ID"
    assert src["submitted_at_column"] == "Submitted on" and src["email_column"] == "Email address"
    assert src["respondent_type_column"].startswith("Are you responding")
    assert src["respondent_type_map"] == {"Individual": "individual", "Organisation": "organisation"}
    assert src["organisation_column"] == "Organisation name"
    assert src["consent_column"] == "Can we publish your response?"
    assert src["consent_map"] == {"No": "do_not_publish", "Yes": "publish_anonymous"}  # a name needs explicit words
    assert src["columns"] == {"q1": Q1, "q2": Q1_WHY, "q3": Q2, "q4": Q3}
    assert src["analyst_tag_columns"] == {"Tags": ""}
    qs = {q["id"]: q for q in data["questions"]}
    assert qs["q1"]["kind"] == "closed" and qs["q1"]["choices"] == {"Yes": "support", "No": "oppose", "Not sure": "unsure"}
    assert qs["q2"]["kind"] == "open" and qs["q2"]["related_question"] == "q1"
    assert qs["q3"]["kind"] == "closed" and set(qs["q3"]["choices"]) == set(IMPORTANCE)
    assert qs["q4"]["kind"] == "open" and "related_question" not in qs["q4"]
    for col in ["Response ID", "Submitted on", "Organisation name", "Email address", Q1, Q1_WHY, Q2, Q3, "Tags"]:
        assert repr(col) in text  # every column is listed
    # the analyst's mechanical edits: a title, and positions for the importance scale
    edited = text.replace('"TODO: title of the consultation"', '"Congestion charge"')
    edited = edited.replace('"Very important": none', '"Very important": support')
    edited = edited.replace('"Not at all important": none', '"Not at all important": oppose')
    (tmp_path / "consultation.yml").write_text(edited, encoding="utf-8")
    cfg = load_config(tmp_path / "consultation.yml")
    assert cfg.title == "Congestion charge" and cfg.question("q3").choices["Very important"] == "support"
    tables, rejects = ingest(cfg, tmp_path)
    resp, ans, tags = tables["core_responses"], tables["core_answers"], tables["core_analyst_tags"]
    assert len(resp) == 40 and rejects.empty
    assert (resp["respondent_type"] == "organisation").sum() == 5
    assert ans[ans["question_id"] == "q1"]["answer"].value_counts().to_dict() == {"Yes": 14, "No": 13, "Not sure": 13}
    assert len(ans[ans["question_id"] == "q2"]) == 32 and len(ans[ans["question_id"] == "q4"]) == 20
    assert set(tags["tag"]) == {"traffic", "cost"}
    assert resp["submitted_at"].iloc[1] == pd.Timestamp("2024-07-02 11:30")
    said = pd.read_csv(export, dtype=str)["Can we publish your response?"].map({"Yes": "publish_anonymous",
                                                                              "No": "do_not_publish"})
    assert resp["consent"].tolist() == said.tolist() and said.nunique() == 2


def test_draft_other_formats_load(tmp_path: Path) -> None:
    for name in ["surveymonkey.csv", "qualtrics.csv", "ms_forms.xlsx", "regulations_gov.csv", "submissions"]:
        text = draft_config(FIX / name)
        path = tmp_path / f"{name}.yml"
        path.write_text(text, encoding="utf-8")
        cfg = load_config(path, check_files=False)
        assert cfg.sources[0].format == detect_format(FIX / name)
        assert cfg.questions, name
    sm = yaml.safe_load(draft_config(FIX / "surveymonkey.csv"))
    assert sm["sources"][0]["id_column"] == "Respondent ID"
    q2 = next(q for q in sm["questions"] if q["text"] == "2. Which of these changes would you support?")
    assert q2["multi_select"] and q2["other_choice"] == "Other (please specify)"
    assert set(q2["choices"]) == {"Online voting", "Weekend polling days", "Fines for not voting", "Other (please specify)"}
    # the grouped draft ingests as is: sub-answer ticks and the "Other" text become one answer per response
    path = tmp_path / "sm" / "consultation.yml"
    path.parent.mkdir()
    path.write_text(draft_config(FIX / "surveymonkey.csv"), encoding="utf-8")
    (tmp_path / "sm" / "surveymonkey.csv").write_bytes((FIX / "surveymonkey.csv").read_bytes())
    tables, rejects = ingest(load_config(path), path.parent)
    got = tables["core_answers"].query("question_id == @q2['id']")["answer"].tolist()
    assert got[2] == "Weekend polling days;Other (please specify): Make election day a public holiday"
    assert len(tables["core_responses"]) == 12 and rejects.empty


def test_draft_qualtrics_uses_question_text_and_comma_multiselect() -> None:
    data = yaml.safe_load(draft_config(FIX / "qualtrics.csv"))
    assert data["sources"][0]["id_column"] == "ResponseId"
    qs = {q["text"]: q for q in data["questions"]}
    q1 = qs["1. Do you agree that voting in general elections should be compulsory?"]
    assert q1["choices"] == {"Strongly agree": "support", "Somewhat disagree": "oppose"}
    q2 = qs["2. Which of these changes would you support? - Selected Choice"]
    assert q2["multi_select"] and q2["choice_separator"] == ","
    assert set(q2["choices"]) == {"Online voting", "Weekend polling days", "Fines for not voting", "Other (please specify)"}
    why = qs["1a. Please explain your answer"]
    assert why["kind"] == "open"
