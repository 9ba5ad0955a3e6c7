"""Redaction's detection in a second process (analysis.redaction.parallel) gives what one process gives (#18)."""

from __future__ import annotations

import importlib
import logging

import pandas as pd
from pii_corpus import build_corpus

from analysis.redaction import parallel
from analysis.redaction.parallel import Detector
from analysis.redaction.redact import _detect_uncached, redact_answers

redact_mod = importlib.import_module("analysis.redaction.redact")  # the package exports a function of that name


def test_the_worker_detects_what_this_process_detects():
    docs = list(dict.fromkeys(build_corpus(seed=7, n_letters=200, n_short=400).docs))
    assert len(docs) > 2 * parallel.CHUNK  # several chunks: the worker takes the first, this process the last
    with Detector(_detect_uncached, workers=2, min_texts=1) as det:
        got = det.many(docs)
        assert 0 < det.in_worker < len(docs) and not det.broken
    assert got == {d: _detect_uncached(d) for d in docs}
    assert any(v.found for v in got.values())  # the corpus plants identifiers: detections are not empty


def test_few_texts_or_one_worker_leave_detection_to_the_caller():
    docs = build_corpus(seed=3, n_letters=5, n_short=5).docs
    with Detector(_detect_uncached, workers=2) as det:  # default minimum: far more texts than these
        assert det.many(docs) == {}
    with Detector(_detect_uncached, workers=1, min_texts=1) as det:
        assert det.many(docs) == {}


def test_a_worker_that_cannot_run_leaves_the_work_here():
    texts = [f"text number {i}" for i in range(3 * parallel.CHUNK)]
    with Detector(lambda t: t.upper(), workers=2, min_texts=1) as det:  # a lambda cannot be imported by name
        got = det.many(texts)
        assert det.broken and det.in_worker == 0
        assert det.many(texts) == {}  # a broken worker is not asked again
    assert got == {t: t.upper() for t in texts}


def test_redact_answers_in_two_processes_matches_one(monkeypatch, caplog):
    corpus = build_corpus(seed=11, n_letters=150, n_short=250)
    docs = corpus.docs + corpus.docs[:100]  # repeated texts, in this block and the next
    n = len(docs)
    answers = pd.DataFrame({"response_id": [f"r{i}" for i in range(n)], "question_id": "q1", "answer": docs,
                            "language": "en"})
    responses = pd.DataFrame({"response_id": [f"r{i}" for i in range(n)],
                              "respondent_name": [None if i % 3 else "Aroha Ngata" for i in range(n)],
                              "respondent_email": [f"sam.wilson{i}@example.com" if i % 5 == 0 else None
                                                   for i in range(n)]})
    one, log_one = redact_answers(answers, responses, workers=1)
    monkeypatch.setattr(parallel, "PARALLEL_MIN_TEXTS", 1)
    monkeypatch.setattr(redact_mod, "BLOCK_ROWS", 300)  # two blocks: the second reuses the first's detections
    with caplog.at_level(logging.INFO, logger="analysis.redaction.redact"):
        two, log_two = redact_answers(answers, responses, workers=2)
    assert "detected by a second process" in caplog.text
    pd.testing.assert_frame_equal(one, two)
    pd.testing.assert_frame_equal(log_one, log_two)
    assert (one["text_redacted"] != one["answer"]).sum() > n // 2  # identifiers were found and replaced
