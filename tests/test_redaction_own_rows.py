"""Each respondent's own names are added to a text's detection in the process that detected it
(``redact.detect_rows``), not row by row afterwards: the redacted answers and the log are what the row-by-row
``redact(text, names)`` gives, with one process or two, for a text shared by several respondents, carried from one
block to the next, with or without anything else detected in it (#18)."""

from __future__ import annotations

import importlib
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from analysis.redaction import parallel

R = importlib.import_module("analysis.redaction.redact")

PEOPLE = [("Aroha Ngata", None), ("Jane Smith", "jane.smith@example.com"), (None, "hemi.walker@example.co.nz"),
          (None, None), ("Li Wei", None), (np.nan, np.nan), ("  ", "x@y"), ("Tama Park", "tama-park99@example.com")]
TEXTS = [
    "I'm Aroha Ngata and I wanted to have my say.",  # a cue the detectors find, and an own name
    "Please keep the reserve. aroha and jane both agree.",  # own names in lower case, nothing else detected
    "Call me on 021 555 1234. Jane Smith",  # a phone and an own name
    "Nothing personal in this one at all.",
    "Walker said the park should stay. hemi walker",
    "Smithson is not Smith. Weiland is not Wei.",  # whole words only
    "Park the car near Tama's house.\n\nRegards,\nTama Park",
    "Agree.",
]


def _tables(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    rows = [(f"r{i % 40}", f"q{i // 40}", TEXTS[int(rng.integers(len(TEXTS)))]) for i in range(n)]
    rows.append(("missing", "q0", TEXTS[0]))  # a response id without a row in core_responses
    answers = pd.DataFrame(rows, columns=["response_id", "question_id", "answer"])
    people = [PEOPLE[i % len(PEOPLE)] for i in range(40)]
    responses = pd.DataFrame({"response_id": [f"r{i}" for i in range(40)],
                              "respondent_name": [p[0] for p in people],
                              "respondent_email": [p[1] for p in people]})
    return answers, responses


def _reference(answers: pd.DataFrame, responses: pd.DataFrame) -> tuple[list[str], list[tuple]]:
    people = {r.response_id: R._respondent_names(r.respondent_name, r.respondent_email)
              for r in responses.itertuples()}
    texts, log = [], []
    for rid, qid, text in answers[["response_id", "question_id", "answer"]].itertuples(index=False):
        out, reds = R.redact(text, people.get(rid, ()))
        texts.append(out)
        log += [(rid, qid, kind, n) for kind, n in sorted(Counter(r.kind for r in reds).items())]
    return texts, log


@pytest.mark.parametrize("workers", [1, 2])
def test_own_names_added_where_detected_match_row_by_row_redaction(monkeypatch, workers):
    answers, responses = _tables(600, seed=5)
    want_texts, want_log = _reference(answers, responses)
    monkeypatch.setattr(R, "BLOCK_ROWS", 150)  # texts carried from one block to the next
    monkeypatch.setattr(parallel, "PARALLEL_MIN_TEXTS", 1)
    monkeypatch.setattr(parallel, "CHUNK", 2)
    out, log = R.redact_answers(answers, responses, workers=workers, rejects=[])
    assert out["text_redacted"].tolist() == want_texts
    assert list(log.itertuples(index=False, name=None)) == want_log
    arohas = set(responses.loc[responses["respondent_name"] == "Aroha Ngata", "response_id"])
    mine = [t for rid, t in zip(out["response_id"], out["text_redacted"], strict=True) if rid in arohas]
    assert mine and not any("aroha" in t.lower() for t in mine)  # her own name, wherever it is


def test_detect_rows_gives_per_respondent_what_redact_spans_gives():
    text = "Please keep the reserve. aroha and jane both agree. Call 021 555 1234."
    pairs = (("Aroha Ngata", None), (None, None), ("Jane Smith", None), ("Nobody Here", None))
    [(det, owns)] = R.detect_rows([(text, pairs)], R.PieceMemo())
    whole = R._detect_uncached(text)
    assert det == whole
    for pair, own in zip(pairs, owns, strict=True):
        terms = R.person_names.name_terms(R._respondent_names(*pair))
        want = R._redact_spans(text, terms, whole)
        if own is None:  # no own name in the text: the detection's redaction
            assert want == (whole.redacted, whole.spans)
        else:
            assert own == want
    assert owns[0] is not None and owns[2] is not None and owns[1] is None and owns[3] is None
    [(nothing, owns)] = R.detect_rows([("aroha agrees", (pairs[0],))], R.PieceMemo())
    assert nothing == R.NOTHING and owns == (("[NAME] agrees", [(0, 5, "NAME")]),)


def test_detect_rows_marks_a_failing_own_name_search_for_the_caller(monkeypatch):
    def failing(text, terms):
        raise ValueError("boom")

    monkeypatch.setattr(R.person_names, "find_own_names", failing)
    [(det, owns)] = R.detect_rows([("Jane agrees", (("Jane Smith", None), (None, None)))], R.PieceMemo())
    assert owns == (False, None)  # redacted again by the caller, where the error becomes a reject row


def test_pair_terms_are_the_respondents_name_terms_for_any_value():
    for pair in [("Jane Smith", "jane.smith@example.com"), (None, None), (np.nan, "x@y"), (["not", "hashable"], None),
                 ("  ", "tama-park99@example.com")]:
        assert R._pair_terms(pair) == R.person_names.name_terms(R._respondent_names(*pair))
