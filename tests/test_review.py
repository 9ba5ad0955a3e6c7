"""Agreement between analyst coding and model coding."""

from __future__ import annotations

import math

import pandas as pd

from analysis.themes.agreement import theme_agreement


def test_kappa_is_one_for_perfect_agreement_and_drops_with_errors():
    tags = pd.DataFrame({"response_id": ["r1", "r2", "r3", "r4"], "question_id": [""] * 4,
                         "tag": ["rights", "scope", "rights", "scope"], "source_column": ["A"] * 4})
    model = pd.DataFrame({"response_id": ["r1", "r2", "r3", "r4", "r9"], "question_id": ["q1_why"] * 5,
                          "theme_id": ["rights", "scope", "rights", "scope", "rights"]})
    out = theme_agreement(tags, model).set_index("theme_id")
    assert out.loc["rights", "kappa"] == 1.0 and out.loc["rights", "n_units"] == 4  # r9 was not coded
    model.loc[2, "theme_id"] = "scope"
    out = theme_agreement(tags, model).set_index("theme_id")
    assert out.loc["rights", "kappa"] < 1.0
    assert out.loc["rights", "analyst_yes"] == 2 and out.loc["rights", "model_yes"] == 1


def test_per_answer_tags_and_empty_inputs():
    tags = pd.DataFrame({"response_id": ["r1", "r2"], "question_id": ["q1", "q1"], "tag": ["x", "x"],
                         "source_column": ["A", "A"]})
    model = pd.DataFrame({"response_id": ["r1", "r2"], "question_id": ["q2", "q1"], "theme_id": ["x", "x"]})
    out = theme_agreement(tags, model).set_index("theme_id")
    assert out.loc["x", "both_yes"] == 1 and out.loc["x", "agreement"] == 0.5
    assert out.loc["x", "kappa"] == 0.0  # agreement no better than chance
    both_always = theme_agreement(tags, model.assign(question_id="q1")).set_index("theme_id")
    assert math.isnan(both_always.loc["x", "kappa"])  # neither side varies: kappa undefined
    assert theme_agreement(tags.iloc[0:0], model).empty
