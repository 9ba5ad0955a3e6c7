"""``redact_answers`` reads into Python only the rows it redacts, keeps pieces across blocks, and its shortcuts
(name terms per name, the digit test, the kind counts) give what the former computations gave (#18)."""

from __future__ import annotations

import importlib
import json
import random
import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from test_redaction_pieces import CROSSING, _campaign_copies

from analysis.redaction import names as person_names
from analysis.redaction import pieces

R = importlib.import_module("analysis.redaction.redact")

CHOICES = json.dumps({"Support": "support", "Oppose": "oppose", "Jane": "jane"})


def _tables(n: int = 240, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Open and closed answers (choice labels, a label that is a respondent's name, free text in a closed
    question, empty and missing answers), campaign copies and the crafted texts that sit next to a cut."""
    rng = random.Random(seed)
    texts = _campaign_copies()[:80] + CROSSING
    rows = []
    for i in range(n):
        rid = f"r{i % 90}"
        rows.append((rid, "q1", rng.choice(["Support", "Oppose", "Jane", "Support;Oppose", "", None,
                                            "Jane Smith said no", "Support ; Jane"])))
        rows.append((rid, "q1_why", rng.choice(texts + ["", None, "Regards, Jane"])))
    answers = pd.DataFrame(rows, columns=["response_id", "question_id", "answer"])
    responses = pd.DataFrame({"response_id": [f"r{i}" for i in range(90)],
                              "respondent_name": [None if i % 4 == 0 else rng.choice(["Jane Smith", "Aroha Ngata",
                                                                                       "Hemi", "Li Wei"])
                                                  for i in range(90)],
                              "respondent_email": [f"sam.wilson{i}@example.com" if i % 5 == 0 else None
                                                   for i in range(90)]})
    questions = pd.DataFrame({"question_id": ["q1", "q1_why"], "kind": ["closed", "open"], "choices": [CHOICES, ""]})
    return answers, responses, questions


def _reference(answers: pd.DataFrame, responses: pd.DataFrame) -> tuple[list[str], list[tuple]]:
    """Row by row, as the stage did before: ``redact`` with the respondent's names unless the answer is a closed
    question's choice labels; a missing answer is ``""``."""
    people = {r.response_id: R._respondent_names(r.respondent_name, r.respondent_email)
              for r in responses.itertuples()}
    choices = json.loads(CHOICES)
    texts, log = [], []
    for rid, qid, answer in answers[["response_id", "question_id", "answer"]].itertuples(index=False):
        text = answer if isinstance(answer, str) else ""
        if qid == "q1" and R._is_choice_answer(text, choices, ";"):
            texts.append(text)
            continue
        out, reds = R.redact(text, people[rid])
        texts.append(out)
        log += [(rid, qid, kind, n) for kind, n in sorted(Counter(r.kind for r in reds).items())]
    return texts, log


@pytest.mark.parametrize("dtype", ["str", object])
def test_only_the_rows_to_redact_are_redacted_and_the_rest_kept(monkeypatch, dtype):
    answers, responses, questions = _tables()
    answers["answer"] = answers["answer"].astype(dtype)
    want_texts, want_log = _reference(answers, responses)
    monkeypatch.setattr(R, "BLOCK_ROWS", 97)  # several blocks, rows to redact scattered in each
    out, log = R.redact_answers(answers, responses, questions, workers=1)
    assert out["text_redacted"].tolist() == want_texts
    assert list(log.itertuples(index=False, name=None)) == want_log
    assert out["text_redacted"].dtype == pd.Series([], dtype=object).astype(str).dtype
    assert out["text_redacted"].array.__arrow_array__().num_chunks == 1
    assert "Jane Smith said no" not in out["text_redacted"].tolist()  # free text in a closed question is redacted
    assert out["text_redacted"].tolist().count("Jane") == (answers["answer"] == "Jane").sum()  # a label stays


def test_rows_to_redact_are_the_non_empty_answers_that_are_not_choice_labels():
    answers, _responses, _questions = _tables(60)
    rows = R._to_redact(answers, {"q1": (json.loads(CHOICES), ";")})
    want = [i for i, (q, t) in enumerate(zip(answers["question_id"], answers["answer"], strict=True))
            if isinstance(t, str) and t and not (q == "q1" and R._is_choice_answer(t, json.loads(CHOICES), ";"))]
    assert rows.tolist() == want
    assert isinstance(rows, np.ndarray)


def test_a_small_piece_memo_gives_the_same_redaction(monkeypatch):
    """Pieces kept across blocks (least recently used dropped) change what is detected again, never the result."""
    answers, responses, questions = _tables(300)
    monkeypatch.setattr(R, "BLOCK_ROWS", 50)
    want, want_log = R.redact_answers(answers, responses, questions, workers=1)
    for keep in (1, 7):
        monkeypatch.setattr(R, "KEEP_PIECES", keep)
        got, log = R.redact_answers(answers, responses, questions, workers=1)
        pd.testing.assert_frame_equal(got, want)
        pd.testing.assert_frame_equal(log, want_log)


def test_the_piece_memo_keeps_the_most_recently_used():
    memo = R.PieceMemo(keep=3)
    rec = R._detect_piece("x")
    memo.remember(["a", "b", "c"], [rec, rec, rec])
    memo.remember(["a", "d"], [rec, None])  # "d" raised: not kept; "a" used again
    assert list(memo.pieces) == ["b", "c", "a"]
    memo.remember(["e"], [rec])
    assert list(memo.pieces) == ["c", "a", "e"]


def _former_name_terms(names: tuple[str, ...]) -> tuple[str, ...]:
    terms: set[str] = set()
    for name in names:
        if not name or not isinstance(name, str):
            continue
        name = " ".join(name.split())
        if len(name) >= 3:
            terms.add(name)
        parts = [p.strip(".'\"()") for p in re.split(r"[\s,]+", name)]
        for part in parts:
            if len(part) >= 3 and sum(map(str.isalpha, part)) >= 3:
                terms.add(part)
        for i in range(len(parts)):
            for j in range(i + 2, len(parts) + 1):
                terms.add(" ".join(parts[i:j]))
    return tuple(sorted({t.lower() for t in terms if t.strip()}, key=lambda t: (-len(t), t)))


def test_name_terms_per_name_are_the_former_terms():
    names = [("Jane Smith",), ("Hēmi Te Whata", "hemi", "whata"), ("van der Berg, Anna",), ("  ",), ("Li",),
             ("O'Brien (Dr.)", None, ""), ("JANE SMITH", "jane smith"), ("Ngā  Tūpuna",), ("A B C D",)]
    for group in names:
        assert person_names.name_terms(group) == _former_name_terms(group)


def _former_has_digit(text: str) -> bool:
    if any(d in text for d in "0123456789"):
        return True
    if text.isascii():
        return False
    try:
        rest = text.encode("utf-8").translate(None, bytes(range(128))).decode("utf-8")
    except UnicodeError:
        rest = text
    return re.search(r"\d", rest) is not None


def test_the_digit_test_is_the_former_one():
    for text in ("", "abc", "a1", "٣ apples", "ＡＢ３", "x²", "Ⅻ", "é", "\ud800", "\ud8001", "১২", "no digits here. ok"):
        assert pieces._has_digit(text) is _former_has_digit(text), repr(text)


def test_kind_counts_are_the_counter_of_the_kinds():
    spans = [(0, 1, "NAME"), (3, 4, "EMAIL"), (5, 6, "NAME"), (8, 9, "ADDRESS")]
    for k in range(len(spans) + 1):
        assert R._kind_counts(spans[:k]) == sorted(Counter(s[2] for s in spans[:k]).items())
