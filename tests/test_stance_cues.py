"""Explicit stance statements at the start of an answer (analysis.positions.cues) and their use for text-only answers."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.config import parse_config
from analysis.positions.cues import explicit_position
from analysis.positions.text_stance import TEXT_CUE, text_positions

LIKERT = {"Strongly agree": "support", "Agree": "support", "Neither agree nor disagree": "neutral",
          "Disagree": "oppose", "Strongly disagree": "oppose", "Prefer not to say": "none"}


@pytest.mark.parametrize(("text", "expected"), [
    ("Agreed", "support"),
    ("Strongly agree. The offences need clear definitions.", "support"),
    ("I agree with this principle. Please report back.", "support"),
    ("Yes, I'm in favour of this.", "support"),
    ("I don't agree with this. The Budapest Convention is enough.", "oppose"),
    ("I'm against this. Privacy rules matter.", "oppose"),
    ("Strongly disagree - nothing to add", "oppose"),
    ("No. It goes too far.", "oppose"),
    ("Partly agree and partly disagree. Existing frameworks are old.", "neutral"),
    ("Mixed feelings about this.", "neutral"),
    ("I'm on the fence.", "neutral"),
    ("Not sure what to think about this one.", "unsure"),
    ("I don't know enough about this to have a view.", "unsure"),
    ("Hard to say.", "unsure"),
    ("Unsure -", "unsure"),
    # not a stand-alone statement of position: left to the model
    ("I agree that privacy matters, but scams are worse.", None),
    ("Definitely not.", None),
    ("No-one should be jailed for a post.", None),
    ("No doubt this matters.", None),
    ("This is the wrong approach.", None),
    ("Privacy matters. I agree.", None),
    ("", None),
])
def test_built_in_cues(text, expected):
    assert explicit_position(text) == expected


def test_the_questions_own_choice_labels_are_cues():
    assert explicit_position("Neither agree nor disagree, it depends on the safeguards.", LIKERT) == "neutral"
    assert explicit_position("Strongly disagree: too broad.", LIKERT) == "oppose"
    assert explicit_position("Prefer not to say.", LIKERT) is None  # mapped to no position
    assert explicit_position("Somewhat. It is complicated.", {"Somewhat": "support"}) == "support"


def test_text_only_answers_stating_their_position_get_it_even_without_a_model():
    cfg = parse_config({
        "id": "t", "title": "T", "sources": [{"file": "x.csv", "format": "generic"}],
        "questions": [{"id": "q1", "text": "Agree?", "kind": "closed", "choices": LIKERT},
                      {"id": "q1_why", "text": "Why?", "kind": "open", "related_question": "q1"}],
    })
    texts = ["Strongly disagree. Too broad.", "Not sure what to think.", "Privacy matters most.", "Agree"]
    answers = pd.DataFrame({"response_id": [f"r{i}" for i in range(4)], "question_id": "q1_why", "answer": texts,
                            "language": "en"})
    closed = pd.DataFrame(columns=["response_id", "question_id", "position", "confidence", "source"])
    res = text_positions(answers, closed, None, cfg)  # no ticks at all: no model
    got = res.positions.set_index("response_id")
    assert list(got["position"]) == ["oppose", "unsure", "unclear", "support"]
    assert list(got["source"]) == [TEXT_CUE, TEXT_CUE, "text_model", TEXT_CUE]
    assert list(got["confidence"]) == [1.0, 1.0, 0.0, 1.0]
    assert not res.models
