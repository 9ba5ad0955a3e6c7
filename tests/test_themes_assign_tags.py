"""Whole-response analyst tags are attributed to the answer that raised the theme."""

from __future__ import annotations

import pandas as pd
from test_themes_helpers import answers

from analysis.embeddings import TfidfSvdBackend
from analysis.themes.assign import attribute_response_tags
from analysis.themes.codebook import Codebook

THEMES = [
    {"id": "transport", "label": "Public transport", "description": "Buses, trains and cycle lanes.",
     "seed_phrases": ["more buses and trains", "safe cycle lanes"]},
    {"id": "housing", "label": "Housing costs", "description": "Rents and house prices are too high.",
     "seed_phrases": ["rents are too high", "affordable houses"]},
]


def _setup():
    q1 = answers(["We need more buses and trains in the evening.", "Rents are far too high for young families.",
                  "No comment."], qid="q1")
    q2 = answers(["Affordable houses near the city please, rents keep rising.", "Safe cycle lanes to school.",
                  "Nothing else."], qid="q2")
    ans = pd.concat([q1, q2], ignore_index=True)
    cb = Codebook.model_validate({"questions": {"q1": {"themes": THEMES}, "q2": {"themes": THEMES}}})
    backend = TfidfSvdBackend(seed=3).fit(ans["text_redacted"].tolist() * 2 + ["more buses", "rents are too high"])
    return ans, cb, backend


def test_tag_goes_to_the_answer_that_scores_the_theme_highest():
    ans, cb, backend = _setup()
    tags = pd.DataFrame({"response_id": ["r000", "r000", "r001", "r002", "r000"],
                         "question_id": ["", "", "", "", "q1"],
                         "tag": ["housing", "Public transport", "transport", "housing", "housing"]})
    out = attribute_response_tags(tags, ans, cb, backend.encode, min_score=0.05)
    got = set(map(tuple, out[["response_id", "question_id", "tag"]].to_numpy()))
    # r000: housing is raised in q2, transport (tag given by label) in q1; r001: transport in q2
    assert ("r000", "q2", "housing") in got and ("r000", "q1", "Public transport") in got
    assert ("r001", "q2", "transport") in got
    # question-level tags are not re-attributed; a tag no answer supports is dropped, not guessed
    assert ("r000", "q1", "housing") not in got and not (out["response_id"] == "r002").any()
    assert tags["question_id"].tolist() == ["", "", "", "", "q1"]  # input not modified


def test_unknown_tags_and_no_codebook_give_nothing():
    ans, cb, backend = _setup()
    tags = pd.DataFrame({"response_id": ["r000"], "question_id": [""], "tag": ["weather"]})
    assert attribute_response_tags(tags, ans, cb, backend.encode, min_score=0.0).empty
    assert attribute_response_tags(tags, ans, None, backend.encode, min_score=0.0).empty
