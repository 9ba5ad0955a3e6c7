"""Campaigns counted once across questions: membership is per respondent, on every question (#13).

A campaign found in one open question (or in whole submissions, across channels) collapses its members'
answers to *every* question in the ``unique`` count mode, tick-boxes included; on a tick-box question or a
position the campaign counts once, under the answer most of its members gave.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.config import parse_config
from analysis.counts.rules import count_categories, counting_units, respondent_campaigns
from analysis.counts.stage import build_counts
from analysis.tables import read_table, write_table

CHOICES = {"Agree": "support", "Neutral": "neutral", "Disagree": "oppose"}


def _cfg():  # noqa: ANN202
    return parse_config({
        "id": "t", "title": "T", "settings": {"language_detection": False, "min_cell": 0},
        "sources": [{"file": "x.csv", "format": "citizen_space", "columns": {"q1": "Q1", "q1_why": "Why",
                                                                              "q5": "Else"}}],
        "questions": [
            {"id": "q1", "text": "Agree?", "kind": "closed", "choices": CHOICES},
            {"id": "q1_why", "text": "Why?", "kind": "open", "related_question": "q1"},
            {"id": "q5", "text": "Anything else?", "kind": "open"},
        ]})


def _responses(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({
        "response_id": ids, "source_file": "x.csv", "source_row": range(1, len(ids) + 1),
        "channel": ["email" if i.startswith("e") else "online_survey" for i in ids], "submitted_at": pd.NaT,
        "respondent_type": "individual", "sector": None, "organisation": None, "consent": "publish_anonymous",
        "respondent_name": None, "respondent_email": None,
    })


def _answers(rows: list[tuple[str, str, str, str | None]]) -> pd.DataFrame:
    """``(response_id, question_id, answer, campaign_id)`` rows as ``core_answers_clean``."""
    df = pd.DataFrame(rows, columns=["response_id", "question_id", "answer", "campaign_id"])
    return df.assign(language="en", text_redacted=df["answer"], is_campaign_copy=df["campaign_id"].notna(),
                     personal_addition=None)


@pytest.fixture()
def campaign_case(tmp_path: Path) -> pd.DataFrame:
    """Five web-form senders of letter C01 on q5 (three ticked Agree on q1, two Disagree; two explained
    q1 in their own words), two e-mail senders of the same letter (C02, found separately; linked to C01 by
    whole-submission campaign S01), and three independent respondents."""
    members = [f"w{i}" for i in range(5)]
    emails = ["e0", "e1"]
    others = ["o0", "o1", "o2"]
    ticks = dict(zip(members + others, ["Agree", "Agree", "Agree", "Disagree", "Disagree", "Agree", "Neutral",
                                        "Disagree"], strict=True))
    rows = [(r, "q1", t, None) for r, t in ticks.items()]
    rows += [(r, "q5", "Stand firm for human rights.", "C01") for r in members]
    rows += [(r, "q5", "Stand firm for human rights.", "C02") for r in emails]
    rows += [("w0", "q1_why", "Privacy matters.", None), ("w3", "q1_why", "Too broad.", None),
             ("o0", "q1_why", "Cooperation.", None)]
    positions = [(r, "q1", CHOICES[t], 1.0, "closed") for r, t in ticks.items()]
    write_table(_responses(members + emails + others), "core_responses", tmp_path)
    write_table(_answers(rows), "core_answers_clean", tmp_path)
    write_table(pd.DataFrame({"response_id": members + emails, "campaign_id": "S01", "size": 7}),
                "core_submission_campaigns", tmp_path)
    write_table(pd.DataFrame(positions, columns=["response_id", "question_id", "position", "confidence", "source"]),
                "core_answer_positions", tmp_path)
    return build_counts(_cfg(), tmp_path)


def _cells(out: pd.DataFrame, table: str, qid: str, mode: str) -> dict[str, int]:
    sub = out[(out["table"] == table) & (out["question_id"] == qid) & (out["count_mode"] == mode)
              & (out["group"] == "all")]
    return {str(c): int(n) for c, n in zip(sub["category"], sub["n"], strict=True)}


def _denominator(out: pd.DataFrame, table: str, qid: str, mode: str) -> int:
    sub = out[(out["table"] == table) & (out["question_id"] == qid) & (out["count_mode"] == mode)]
    return int(sub["denominator"].max())


def test_membership_links_campaigns_across_channels() -> None:
    ans = _answers([("w0", "q5", "x", "C01"), ("w1", "q5", "x", "C01"), ("e0", "q5", "x", "C02"),
                    ("z0", "q5", "y", "C03"), ("o0", "q1", "Agree", None)])
    subs = pd.DataFrame({"response_id": ["w1", "e0", "s0", "s1"], "campaign_id": ["S01", "S01", "S02", "S02"]})
    got = respondent_campaigns(ans, subs).to_dict()
    # C01 and C02 share members through S01: one campaign, named after its larger per-question part
    assert got == {"e0": "C01", "s0": "S02", "s1": "S02", "w0": "C01", "w1": "C01", "z0": "C03"}
    units = counting_units(ans, "unique", respondent_campaigns(ans, subs))
    assert units.set_index("response_id")["unit_id"].to_dict()["e0"] == "campaign:C01"
    assert counting_units(ans, "all", respondent_campaigns(ans, subs))["unit_id"].tolist() == ans["response_id"].tolist()


def test_unit_rules_for_a_campaign_whose_members_disagree() -> None:
    lab = pd.DataFrame({"response_id": ["a", "b", "c", "d", "x"], "question_id": "q",
                        "option": ["Agree", "Agree", "Disagree", "Disagree", "Neutral"]})
    units = lab[["response_id", "question_id"]].assign(unit_id=["campaign:C", "campaign:C", "campaign:C",
                                                               "campaign:C", "x"])
    def cells(rule: str) -> dict[str, int]:
        out = count_categories(lab, units, table="t", category_col="option", mode="unique", min_cell=0, unit_rule=rule)
        return dict(zip(out["category"], out["n"].astype(int), strict=True))
    assert cells("any") == {"Agree": 1, "Disagree": 1, "Neutral": 1}
    assert cells("plurality") == {"Agree": 1, "Disagree": 1, "Neutral": 1}  # a 2-2 tie: under each tied option
    lab.loc[3, "option"] = "Agree"  # now 3 Agree, 1 Disagree
    assert cells("plurality") == {"Agree": 1, "Neutral": 1}
    assert cells("majority") == {"Agree": 1, "Neutral": 1}
    with pytest.raises(ValueError, match="unit_rule"):
        cells("mean")


def test_campaign_members_tick_boxes_count_once(campaign_case: pd.DataFrame) -> None:
    out = campaign_case
    unique_total = _denominator(out, "responses_total", "*", "unique")
    assert unique_total == 4  # the 7-member campaign (two channels) + 3 independent respondents
    assert _denominator(out, "responses_total", "*", "all") == 10
    # the closed question: 8 ticks; in unique mode the campaign's five ticks are one unit, under Agree (3 of 5)
    assert _denominator(out, "option", "q1", "all") == 8
    assert _denominator(out, "option", "q1", "unique") == 4
    assert _cells(out, "option", "q1", "unique") == {"Agree": 2, "Neutral": 1, "Disagree": 1}
    assert _cells(out, "option", "q1", "all") == {"Agree": 4, "Neutral": 1, "Disagree": 3}
    assert _cells(out, "position", "q1", "unique") == {"support": 2, "neutral": 1, "oppose": 1, "unsure": 0,
                                                        "unclear": 0}
    # an open question the members wrote themselves also counts the campaign once
    assert _denominator(out, "campaign", "q1_why", "unique") == 2
    # sizes over every response: the letter sent by web form and by e-mail is one campaign of 7
    assert _cells(out, "campaign", "*", "all") == {"campaign:C01": 7, "independent": 3}
    uniq = out[out["count_mode"] == "unique"]
    assert (uniq["denominator"] <= unique_total).all()
    assert (uniq["n"].dropna() <= unique_total).all()


def test_every_question_counts_at_most_the_unique_submissions(sample_results: Path) -> None:
    from analysis import paths

    out = read_table("out_counts", paths.processed_dir("sample"))
    unique_total = _denominator(out, "responses_total", "*", "unique")
    uniq = out[out["count_mode"] == "unique"]
    per_question = uniq.groupby("question_id")["denominator"].max()
    assert len(per_question) > 5
    assert (per_question <= unique_total).all(), per_question[per_question > unique_total]
    # and the closed questions did shrink: campaign members' ticks collapsed into their campaign
    assert _denominator(out, "option", "q1", "unique") < _denominator(out, "option", "q1", "all")
