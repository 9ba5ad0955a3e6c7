"""Campaign groups on a generated consultation make sense: no group mixes unrelated submissions (#18).

The sample generator knows which respondents sent which campaign letter (``tests/generated_consultation.py``).
Scores measured on this 5,000-response consultation before the #18 rewrite of the near-duplicate index:
``q5_other`` membership pairwise precision 1.0000 / recall 0.9968, all open answers 1.0000 / 0.9968, whole
submissions 1.0000 / 0.9827; the bounds below keep a small margin under those.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from generated_consultation import OPEN_QUESTIONS, generate

from analysis.campaigns.stage import detect, detect_submissions
from analysis.config import CampaignSettings

SEED = 20211


def _pairwise(truth: list[str], pred: list[object]) -> tuple[float, float]:
    """Pairwise precision and recall of "same campaign" (``""`` / missing: in no campaign)."""
    t = pd.Series(truth, dtype=object).replace("", None)
    p = pd.Series(pred, dtype=object)

    def pairs(counts: pd.Series) -> float:
        c = counts.to_numpy(dtype=float)
        return float((c * (c - 1) / 2).sum())

    both = pd.DataFrame({"t": t, "p": p}).dropna()
    tp = pairs(both.groupby(["t", "p"]).size())
    pp, tt = pairs(p.dropna().value_counts()), pairs(t.dropna().value_counts())
    return (tp / pp if pp else 1.0), (tp / tt if tt else 1.0)


@pytest.fixture(scope="module")
def consultation():
    return generate(5000, SEED)


def test_whole_submission_groups_hold_one_campaign_each(consultation):
    subs = detect_submissions(consultation.answers, OPEN_QUESTIONS, CampaignSettings(), SEED)
    assert len(subs)
    truth = subs["response_id"].map(consultation.respondent_campaign)
    for cid, grp in truth.groupby(subs["campaign_id"]):
        assert grp.nunique() == 1 and grp.iloc[0] != "", f"{cid} mixes {grp.value_counts().to_dict()}"
    largest = subs["campaign_id"].value_counts().index[0]
    senders = [r for r, c in consultation.respondent_campaign.items() if c == "campaign_1"]
    members = set(subs.loc[subs["campaign_id"] == largest, "response_id"])
    assert set(truth[subs["campaign_id"] == largest]) == {"campaign_1"}
    assert len(members) >= 0.97 * len(senders)  # the largest group is campaign 1, nearly whole
    rids = sorted(consultation.respondent_campaign)
    group = dict(zip(subs["response_id"], subs["campaign_id"], strict=True))
    prec, rec = _pairwise([consultation.respondent_campaign[r] for r in rids], [group.get(r) for r in rids])
    assert prec >= 0.999 and rec >= 0.98


def test_per_question_campaigns_match_the_generator(consultation):
    clean, campaigns = detect(consultation.answers, OPEN_QUESTIONS, CampaignSettings(), SEED)
    other = clean["question_id"] == "q5_other"
    prec, rec = _pairwise(clean.loc[other, "truth"].tolist(), clean.loc[other, "campaign_id"].tolist())
    assert prec >= 0.999 and rec >= 0.99
    prec, rec = _pairwise(clean["truth"].tolist(), clean["campaign_id"].tolist())
    assert prec >= 0.999 and rec >= 0.99
    biggest = campaigns.sort_values("size", ascending=False).iloc[0]
    mix = clean.loc[clean["campaign_id"] == biggest["campaign_id"], "truth"]
    assert biggest["question_id"] == "q5_other" and set(mix) == {"campaign_1"}
    assert np.isclose(biggest["size"], (clean["truth"] == "campaign_1").sum(), rtol=0.03)


def test_submission_keys_from_the_answers_memo_are_the_submissions_own(consultation):
    from analysis.campaigns.stage import detect_submission_texts, normalise, normalise_all, submission_texts

    answers = consultation.answers
    memo: dict[str, str] = {}
    normalise_all(answers.loc[answers["question_id"].isin(OPEN_QUESTIONS), "text_redacted"].tolist(), memo)
    rids, texts, keys = submission_texts(answers, OPEN_QUESTIONS, memo)
    reused = [(t, k) for t, k in zip(texts, keys, strict=True) if k is not None]
    assert len(reused) > 500  # respondents who answered one open question (most, with 90% campaign copies)
    assert all(normalise(t) == k for t, k in reused)
    with_memo = detect_submission_texts(rids, texts, keys, CampaignSettings(), SEED)
    pd.testing.assert_frame_equal(with_memo, detect_submissions(answers, OPEN_QUESTIONS, CampaignSettings(), SEED))
