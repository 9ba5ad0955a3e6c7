"""Quotes: verbatim, trimmed at sentence boundaries, diverse, redaction-aware, campaign-aware, safely attributed."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis import schemas
from analysis.report import quotes
from analysis.report.publishable import attribution

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "results"))
import results_frames as rf  # noqa: E402

QO = rf.QUESTION_OPEN


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return {k: schemas.validate(v, k) for k, v in rf.build_frames().items()}


@pytest.fixture(scope="module")
def selected(frames) -> pd.DataFrame:
    f = frames
    return quotes.select_quotes(f["core_answers_clean"], f["core_answer_themes"], f["core_answer_positions"],
                                f["core_responses"], per_theme=3, seed=7)


def _text_of(frames, rid: str, qid: str = QO) -> str:
    a = frames["core_answers_clean"]
    return a.loc[(a["response_id"] == rid) & (a["question_id"] == qid), "text_redacted"].iloc[0]


def test_every_quote_is_verbatim_and_short(frames, selected):
    assert len(selected) >= 20
    for row in selected.itertuples():
        assert row.quote in _text_of(frames, row.response_id)
        assert len(row.quote) <= 300
        assert row.display.count("\u201c") == 1 and row.display.count("\u201d") == 1
        inner = row.display.split("\u201c", 1)[1].rsplit("\u201d", 1)[0]
        assert "\u2026" not in inner  # ellipses stay outside the quotation marks
    # every theme with answers of consenting respondents gets quotes, at most 3, ranks 1..k; kp_4_8 is raised only
    # by r015, who chose do_not_publish: no quote
    consent = frames["core_responses"].set_index("response_id")["consent"]
    at = frames["core_answer_themes"]
    quotable = at[at["response_id"].map(consent).isin(["publish_named", "publish_anonymous"])]
    assert set(selected["theme_id"]) == set(quotable["theme_id"]) == set(at["theme_id"]) - {"kp_4_8"}
    assert not selected["response_id"].map(consent).eq("do_not_publish").any()
    assert selected.groupby("theme_id")["rank"].apply(lambda r: list(r) == list(range(1, len(r) + 1))).all()


def test_never_publishes_names_emails_raw_answers_or_unconsented_organisations(frames, selected):
    blob = selected.to_csv()
    for secret in [*rf.SECRET_NAMES, *rf.SECRET_EMAILS, rf.SECRET_ORG]:
        assert secret not in blob
    assert rf.PUBLIC_ORG in blob  # r000 chose publish_named
    assert set(selected["attribution"]) <= {"An individual", "An organisation (education)",
                                            f"{rf.PUBLIC_ORG} (education)"}


def test_redaction_token_avoided_when_an_alternative_exists(frames, selected):
    # r004's answer ends with a sentence holding [EMAIL]: its quote keeps the first sentence only
    r4 = selected[selected["response_id"] == "r004"]
    assert len(r4) and not r4["quote"].str.contains(r"\[EMAIL\]").any()
    assert bool(r4["trailing_ellipsis"].iloc[0]) and r4["display"].iloc[0].split("\u201d")[1].startswith(" \u2026")
    assert not selected["has_redaction"].any()
    # when the only answer of a theme is nothing but a token sentence, it is still used (and flagged)
    ans = pd.DataFrame([dict(response_id="x1", question_id="q", text_redacted="Write to [EMAIL].",
                             campaign_id=None, is_campaign_copy=False, personal_addition=None)])
    th = pd.DataFrame([dict(response_id="x1", question_id="q", theme_id="t", score=0.9)])
    resp = pd.DataFrame([dict(response_id="x1", respondent_type="individual", sector=None, organisation=None,
                              consent="publish_anonymous")])
    q = quotes.select_quotes(ans, th, None, resp, seed=1)
    assert q["quote"].tolist() == ["Write to [EMAIL]."] and bool(q["has_redaction"].iloc[0])
    assert q["position"].isna().all()


def test_trim_quote_sentence_boundaries_and_long_sentences(frames):
    args = pd.read_csv(Path(__file__).parent / "fixtures" / "results" / "arguments.csv")["argument"]
    text = " ".join(s.strip().rstrip(".") + "." for s in args.head(6))
    assert len(text) > 300
    t = quotes.trim_quote(text, 300)
    assert t.text == text[t.start:t.end] and len(t.text) <= 300
    assert t.text.endswith(".") and not t.leading and t.trailing
    assert t.end + 1 < len(text) and text[t.end] == " "  # cut at a sentence boundary
    # one sentence longer than the limit: cut at a word boundary, verbatim
    long = "word " * 100 + "end."
    t2 = quotes.trim_quote(long, 60)
    assert len(t2.text) <= 60 and long.startswith(t2.text) and not t2.text.endswith(" ") and t2.trailing
    assert quotes.trim_quote("   ", 300) is None
    # a paragraph break is never crossed
    t3 = quotes.trim_quote("First point here.\n\nSecond point, much longer than the first one is.", 300)
    assert t3.text == "First point here." and t3.trailing


def test_near_duplicates_are_not_quoted_twice():
    base = "Uniforms are expensive for families with several children and they wear out quickly."
    texts = [base, base.replace("quickly", "fast"), "Parents on low incomes cannot afford the blazers."]
    ans = pd.DataFrame([dict(response_id=f"d{i}", question_id="q", text_redacted=t, campaign_id=None,
                             is_campaign_copy=False, personal_addition=None) for i, t in enumerate(texts)])
    th = pd.DataFrame([dict(response_id=f"d{i}", question_id="q", theme_id="cost", score=0.9 - 0.01 * i)
                       for i in range(3)])
    resp = pd.DataFrame([dict(response_id=f"d{i}", respondent_type="individual", sector=None, organisation=None,
                              consent="publish_anonymous") for i in range(3)])
    q = quotes.select_quotes(ans, th, None, resp, seed=3, per_theme=3)
    assert q["response_id"].tolist() == ["d0", "d2"]
    assert quotes.jaccard(quotes.shingles(texts[0]), quotes.shingles(texts[1])) >= 0.5


def test_campaign_letters_labelled_once_personal_additions_preferred(frames, selected):
    bullying = selected[selected["theme_id"] == "kp_4_1"]
    # the one campaign copy with a personal addition is quoted through the respondent's own words
    own = bullying[bullying["response_id"] == "c000"]
    assert own["quote"].tolist() == ["My own children were bullied over clothes before their school had a uniform."]
    assert not own["is_campaign_letter"].any() and bool(own["leading_ellipsis"].iloc[0])
    # campaign copies without additions are never quoted when other answers exist
    assert not selected["is_campaign_letter"].any()
    # ... and only labelled, once, when nothing else is left
    f = frames
    only = f["core_answer_themes"][f["core_answer_themes"]["response_id"].str.startswith("c")]
    only = only[only["response_id"] != "c000"]
    q = quotes.select_quotes(f["core_answers_clean"], only, f["core_answer_positions"], f["core_responses"], seed=7)
    assert len(q) == 1 and bool(q["is_campaign_letter"].iloc[0])
    assert q["attribution"].iloc[0] == "An individual (campaign letter)"
    assert q["display"].iloc[0].endswith("(campaign letter)")


def test_quotes_spread_across_positions_and_are_seeded(frames):
    f = frames
    # give theme kp_4_5 (all supporters) three opponents' answers too
    extra = pd.DataFrame([dict(response_id=r, question_id=QO, theme_id="kp_4_5", score=0.1, source="assigned")
                          for r in ("r042", "r043", "r052")])
    th = pd.concat([f["core_answer_themes"], extra], ignore_index=True)
    q = quotes.select_quotes(f["core_answers_clean"], th, f["core_answer_positions"], f["core_responses"],
                             seed=7, per_theme=2)
    k5 = q[q["theme_id"] == "kp_4_5"]
    assert sorted(k5["position"]) == ["oppose", "support"]
    again = quotes.select_quotes(f["core_answers_clean"], th, f["core_answer_positions"], f["core_responses"],
                                 seed=7, per_theme=2)
    pd.testing.assert_frame_equal(q, again)


def test_attribution_rules():
    assert attribution("individual", "health", "Jane Doe Ltd", "publish_named") == "An individual"
    assert attribution("organisation", "health", "Clinic Trust", "publish_anonymous") == "An organisation (health)"
    assert attribution("organisation", "health", "Clinic Trust", "do_not_publish") == "An organisation (health)"
    assert attribution("organisation", None, "Clinic Trust", "publish_named") == "Clinic Trust"
    assert attribution("organisation", None, "Clinic Trust", True) == "An organisation"  # only the enum names
    assert attribution("organisation", None, None, "publish_named") == "An organisation"
    assert attribution("unknown") == "A respondent"


def test_no_themes_gives_empty_frame(frames):
    f = frames
    out = quotes.select_quotes(f["core_answers_clean"], f["core_answer_themes"].iloc[0:0], None,
                               f["core_responses"], seed=1)
    assert out.empty and list(out.columns) == quotes.QUOTE_COLUMNS
