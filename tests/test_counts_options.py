"""Per-option counts of closed questions (``option`` / ``option_respondent_type`` in ``out_counts``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.config import parse_config
from analysis.counts.options import answer_options, option_counts
from analysis.ingest import ingest
from analysis.schemas import validate

FIX = Path(__file__).parent / "fixtures" / "ingest"
Q1 = "1. Do you agree that voting in general elections should be compulsory?"
Q2 = "2. Which of these changes would you support?"
CHANGES = ["Online voting", "Weekend polling days", "Fines for not voting"]


def _cfg():  # noqa: ANN202
    return parse_config({
        "id": "t", "title": "T", "settings": {"language_detection": False, "min_cell": 0},
        "sources": [{"file": "citizen_space.csv", "format": "citizen_space",
                     "respondent_type_column": "Are you responding as an individual or on behalf of an organisation?",
                     "respondent_type_map": {"As an individual": "individual",
                                             "On behalf of an organisation": "organisation"},
                     "columns": {"q1": Q1, "q2": Q2}}],
        "questions": [
            {"id": "q1", "text": Q1, "kind": "closed", "choices": {
                "Strongly agree": "support", "Agree": "support", "Neither agree nor disagree": "neutral",
                "Disagree": "oppose", "Strongly disagree": "oppose", "Not asked": "none"}},
            {"id": "q2", "text": Q2, "kind": "closed", "multi_select": True, "other_choice": "Other (please specify)",
             "choices": {**{c: "none" for c in CHANGES}, "Other (please specify)": "none"}},
        ]})


def test_answer_options_splits_multi_select_and_other() -> None:
    q2 = _cfg().question("q2")
    assert answer_options("Online voting;Other (please specify): civics classes", q2) == ["Online voting",
                                                                                        "Other (please specify)"]
    assert answer_options("Strongly agree", _cfg().question("q1")) == ["Strongly agree"]


def test_option_counts_match_the_export() -> None:
    cfg = _cfg()
    tables, _ = ingest(cfg, FIX)
    ans = tables["core_answers"].assign(text_redacted=lambda d: d["answer"], personal_addition=None)
    # two responses of one "campaign": in unique mode they count once
    camp = ans["response_id"].isin(ans["response_id"].unique()[:2])
    ans = ans.assign(campaign_id=camp.map({True: "c1", False: None}), is_campaign_copy=camp)
    out = option_counts(validate(ans, "core_answers_clean"), tables["core_responses"], cfg)
    validate(out, "out_counts")
    raw = pd.read_csv(FIX / "citizen_space.csv", dtype=str, keep_default_na=False)
    allq1 = out[(out["table"] == "option") & (out["question_id"] == "q1") & (out["count_mode"] == "all")]
    assert allq1["category"].tolist() == list(cfg.question("q1").choices)  # config order, zero rows kept
    assert dict(zip(allq1["category"], allq1["n"], strict=True)) == (
        raw[Q1].value_counts().reindex(list(cfg.question("q1").choices), fill_value=0).to_dict())
    assert (allq1["denominator"] == (raw[Q1] != "").sum()).all()
    q2 = out[(out["table"] == "option") & (out["question_id"] == "q2") & (out["count_mode"] == "all")].set_index("category")
    for label in CHANGES:
        assert q2.loc[label, "n"] == raw[Q2].str.split(";").apply(lambda x, lab=label: lab in x).sum()
    assert q2.loc["Other (please specify)", "n"] == raw[Q2].str.contains("Other (please specify)", regex=False).sum()
    unique = out[(out["table"] == "option") & (out["question_id"] == "q1") & (out["count_mode"] == "unique")]
    assert (unique["denominator"] == allq1["denominator"].iloc[0] - 1).all()  # the two copies are one unit
    by_type = out[(out["table"] == "option_respondent_type") & (out["count_mode"] == "all") & (out["question_id"] == "q1")]
    orgs = raw[raw["Are you responding as an individual or on behalf of an organisation?"] == "On behalf of an organisation"]
    got = by_type[by_type["group"] == "organisation"].set_index("category")["n"]
    assert got[got > 0].to_dict() == orgs[Q1].value_counts().to_dict()
