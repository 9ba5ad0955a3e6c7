"""Prevalence: raw position counts, error-corrected counts and their intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.config import parse_config
from analysis.counts.prevalence import (
    _Replicates,
    adjusted_prevalence,
    adjustment_gate,
    bootstrap_prevalence,
    bootstrap_prevalence_table,
    misclassification_matrix,
    position_counts,
)
from analysis.counts.rules import wilson_interval
from analysis.schemas import validate

COLS = ["response_id", "question_id", "position", "confidence", "source"]


def _cfg(min_cell: int = 5, **positions):
    return parse_config({
        "id": "t", "title": "T", "sources": [{"file": "x.csv", "format": "generic"}],
        "questions": [
            {"id": "q1", "text": "Agree?", "kind": "closed", "choices": {"Yes": "support", "No": "oppose"}},
            {"id": "q1_why", "text": "Why?", "kind": "open", "related_question": "q1"},
            {"id": "q2", "text": "All agree?", "kind": "closed", "choices": {"Yes": "support", "No": "oppose"}},
            {"id": "q3", "text": "Lonely?", "kind": "closed", "choices": {"Yes": "support", "No": "oppose"}},
            {"id": "q4", "text": "Letters", "kind": "open"},
        ],
        "settings": {"min_cell": min_cell, "seed": 11, "positions": positions},
    })


#: Error rates from 20 codes declared a random sample: the adjusted figure may be published.
RANDOM_CODES = {"codes_drawn_at_random": True, "min_adjust_codes": 20}


def _data():
    rows, clean, resp = [], [], []
    # q1: 8 support (5 of them one campaign), 4 oppose; two organisations
    for i in range(12):
        rid = f"a{i}"
        rows.append((rid, "q1", "support" if i < 8 else "oppose", 1.0, "closed"))
        camp = "c1" if i < 5 else None
        clean.append((rid, "q1_why", "text", camp, camp is not None))
        resp.append((rid, "organisation" if i in (8, 9) else "individual"))
    # q2: everyone on one side
    for i in range(6):
        rows.append((f"b{i}", "q2", "support", 1.0, "closed"))
        resp.append((f"b{i}", "individual"))
    # q3: a single respondent
    rows.append(("c0", "q3", "support", 1.0, "closed"))
    resp.append(("c0", "individual"))
    # q4: no closed answers at all: 20 predicted support, 10 predicted oppose by the text model
    for i in range(30):
        rows.append((f"d{i}", "q4", "support" if i < 20 else "oppose", 0.8, "text_model"))
        clean.append((f"d{i}", "q4", "letter", None, False))
        resp.append((f"d{i}", "unknown"))
    pos = pd.DataFrame(rows, columns=COLS)
    ans = pd.DataFrame(clean, columns=["response_id", "question_id", "answer", "campaign_id", "is_campaign_copy"])
    responses = pd.DataFrame(resp, columns=["response_id", "respondent_type"])
    return pos, ans, responses


CONFUSION = pd.DataFrame(
    [("q4", "support", "support", 9), ("q4", "support", "oppose", 1),
     ("q4", "oppose", "support", 4), ("q4", "oppose", "oppose", 6)],
    columns=["question_id", "true_position", "predicted_position", "n"],
)


def _cell(out, table, qid, group, cat, mode="all"):
    hit = out[(out["table"] == table) & (out["question_id"] == qid) & (out["group"] == group)
              & (out["category"] == cat) & (out["count_mode"] == mode)]
    assert len(hit) == 1, (table, qid, group, cat, mode)
    return hit.iloc[0]


def test_adjusted_prevalence_recovers_the_truth_and_stays_on_the_simplex():
    m = np.array([[0.8, 0.3], [0.2, 0.7]])  # columns: true support, true oppose
    p = np.array([0.25, 0.75])
    assert adjusted_prevalence(m @ p, m) == pytest.approx(p, abs=1e-6)
    impossible = adjusted_prevalence(np.array([1.0, 0.0]), m)  # more "support" than any p can explain
    assert impossible == pytest.approx([1.0, 0.0], abs=1e-6) and (impossible >= 0).all()


def test_misclassification_matrix_is_column_stochastic_with_unclear_rows():
    m = misclassification_matrix(["s", "s", "o", "o", "o"], ["s", "unclear", "o", "s", "o"],
                                 ["o", "s"], ["o", "s", "unclear"])
    assert m.sum(axis=0) == pytest.approx([1.0, 1.0])
    assert m[:, 1] == pytest.approx([0.0, 0.5, 0.5]) and m[:, 0] == pytest.approx([2 / 3, 1 / 3, 0.0])


def test_raw_counts_one_side_single_respondent_and_modes():
    pos, ans, responses = _data()
    out = position_counts(pos, ans, responses, None, _cfg(min_cell=5))
    validate(out, "out_counts")
    # all respondents on one side
    s = _cell(out, "position", "q2", "all", "support")
    assert s["n"] == 6 and s["share"] == 1.0 and s["ci_high"] == 1.0
    assert s["ci_low"] == pytest.approx(wilson_interval(6, 6)[0])
    o = _cell(out, "position", "q2", "all", "oppose")
    assert o["n"] == 0 and o["share"] == 0.0 and not o["suppressed"]
    # a single respondent is suppressed below min_cell
    one = _cell(out, "position", "q3", "all", "support")
    assert one["suppressed"] and pd.isna(one["n"]) and pd.isna(one["share"]) and one["denominator"] == 1
    # unique mode collapses the 5-copy campaign into one unit
    assert _cell(out, "position", "q1", "all", "support", "all")["n"] == 8
    u = _cell(out, "position", "q1", "all", "support", "unique")
    assert u["suppressed"] and u["denominator"] == 8  # 4 units < min_cell
    # respondent types: 2 organisations opposing is a small cell
    org = _cell(out, "position_respondent_type", "q1", "organisation", "oppose")
    assert org["suppressed"] and org["denominator"] == 2
    ind = _cell(out, "position_respondent_type", "q1", "individual", "support")
    assert ind["n"] == 8 and ind["denominator"] == 10
    # no confusion given: no adjusted rows
    assert not out["table"].str.endswith("_adjusted").any()
    # every position is reported, zero rows included
    assert set(out[(out["table"] == "position") & (out["question_id"] == "q2")]["category"]) == {
        "support", "oppose", "neutral", "unsure", "unclear"}


def test_single_respondent_without_suppression_has_a_wide_interval():
    pos, ans, responses = _data()
    out = position_counts(pos, ans, responses, None, _cfg(min_cell=0))
    one = _cell(out, "position", "q3", "all", "support")
    assert one["n"] == 1 and one["share"] == 1.0 and one["ci_low"] == pytest.approx(wilson_interval(1, 1)[0])
    assert one["ci_low"] < 0.25
    u = _cell(out, "position", "q1", "all", "support", "unique")
    assert u["n"] == 4 and u["denominator"] == 8 and u["share"] == 0.5


def test_themes_of_why_answers_count_under_the_closed_question():
    pos, ans, responses = _data()
    themes = pd.DataFrame({"response_id": ["a0", "a8", "a9", "a10", "a11", "a1"], "question_id": "q1_why",
                           "theme_id": ["cost"] * 5 + ["nature"], "score": 0.9, "source": "assigned"})
    out = position_counts(pos, ans, responses, themes, _cfg(min_cell=0))
    cost_opp = _cell(out, "theme_position", "q1", "cost", "oppose")
    assert cost_opp["n"] == 4 and cost_opp["denominator"] == 5
    assert _cell(out, "theme_position", "q1", "nature", "support")["n"] == 1


def test_text_model_counts_are_corrected_for_measured_error_rates():
    pos, ans, responses = _data()
    out = position_counts(pos, ans, responses, None, _cfg(5, **RANDOM_CODES), confusion=CONFUSION, n_boot=300)
    raw = _cell(out, "position", "q4", "all", "support")
    adj = _cell(out, "position_adjusted", "q4", "all", "support")
    # predicted support q = 0.4 + 0.5 p  =>  p = (20/30 - 0.4) / 0.5 = 0.5333
    assert raw["n"] == 20
    assert adj["share"] == pytest.approx(16 / 30, abs=1e-6) and adj["n"] == 16
    assert _cell(out, "position_adjusted", "q4", "all", "oppose")["share"] == pytest.approx(14 / 30, abs=1e-6)
    # the interval is wider than the raw Wilson interval: it carries the classifier's uncertainty
    assert (adj["ci_high"] - adj["ci_low"]) > (raw["ci_high"] - raw["ci_low"]) + 0.05
    assert adj["ci_low"] <= adj["share"] <= adj["ci_high"]
    # questions answered only by ticks get no adjusted rows
    assert set(out.loc[out["table"] == "position_adjusted", "question_id"]) == {"q4"}
    # deterministic (seeded bootstrap)
    again = position_counts(pos, ans, responses, None, _cfg(5, **RANDOM_CODES), confusion=CONFUSION, n_boot=300)
    pd.testing.assert_frame_equal(out, again)


def test_adjusted_counts_need_error_rates_from_enough_random_codes():
    pos, ans, responses = _data()
    # by default the codes are not declared random (e.g. active-learning proposals): no adjusted rows
    assert "not declared a random sample" in adjustment_gate(CONFUSION, _cfg())["q4"]
    out = position_counts(pos, ans, responses, None, _cfg(), confusion=CONFUSION, n_boot=20)
    assert not out["table"].str.endswith("_adjusted").any()
    assert _cell(out, "position", "q4", "all", "support")["n"] == 20  # the raw count stands
    # random, but fewer codes than required
    few = _cfg(codes_drawn_at_random=True, min_adjust_codes=21)
    assert "only 20 coded answers" in adjustment_gate(CONFUSION, few)["q4"]
    assert not position_counts(pos, ans, responses, None, few, confusion=CONFUSION, n_boot=20)[
        "table"].str.endswith("_adjusted").any()
    assert adjustment_gate(CONFUSION, _cfg(**RANDOM_CODES)) == {"q4": None}


def test_bootstrap_replicates_spread_around_the_estimate():
    p_hat, reps = bootstrap_prevalence(
        ["s"] * 10 + ["o"] * 10, ["s"] * 9 + ["o"] + ["s"] * 4 + ["o"] * 6, np.array([10, 20]), ["o", "s"], ["o", "s"],
        n_boot=200, seed=3)
    assert p_hat == pytest.approx([14 / 30, 16 / 30], abs=1e-6)
    assert reps.shape == (200, 2) and np.allclose(reps.sum(axis=1), 1.0)
    lo, hi = np.percentile(reps[:, 1], [2.5, 97.5])
    assert lo < p_hat[1] < hi and hi - lo > 0.1


def test_replicate_solver_finds_the_bounded_least_squares_optimum():
    """The batched face-enumeration solver reaches scipy's bounded least squares optimum (or a better one)."""
    rng = np.random.default_rng(7)
    for trial in range(40):
        k = int(rng.integers(2, 5))
        npc = k + int(rng.integers(0, 2))
        m = rng.random((25, npc, k)) ** rng.choice([1, 4])
        if trial % 4 == 0:
            m[:, :, 1] = m[:, :, 0]  # two true classes the classifier cannot tell apart: several optima
        m /= m.sum(axis=1, keepdims=True)
        q = rng.dirichlet(np.ones(npc), size=25)
        got = _Replicates(m, {}).solve(q)
        assert np.allclose(got.sum(axis=1), 1.0) and (got >= 0).all()
        for r in range(25):
            ref = adjusted_prevalence(q[r], m[r])
            assert np.sum((m[r] @ got[r] - q[r]) ** 2) <= np.sum((m[r] @ ref - q[r]) ** 2) + 1e-9


def test_bootstrap_from_pairs_equals_bootstrap_from_their_table():
    true = ["s"] * 12 + ["o"] * 9
    pred = ["s"] * 10 + ["unclear"] * 2 + ["o"] * 6 + ["s"] * 3
    counts = np.array([7, 20, 3])
    a = bootstrap_prevalence(true, pred, counts, ["o", "s"], ["o", "s", "unclear"], n_boot=100, seed=5)
    table = np.array([[6, 0], [3, 10], [0, 2]])  # rows o, s, unclear; columns o, s
    b = bootstrap_prevalence_table(table, counts, ["o", "s"], ["o", "s", "unclear"], n_boot=100, seed=5)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert a[1].std(axis=0).min() > 0.01  # the replicates vary
