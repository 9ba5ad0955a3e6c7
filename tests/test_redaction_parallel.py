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


def test_texts_detected_a_chunk_at_a_time_by_their_pieces_match_whole_detection():
    """The worker cuts texts into pieces and detects each distinct piece once (detect_batch): per text, what
    detecting it whole finds; a text where nothing is found comes back as NOTHING (its text does not travel)."""
    corpus = build_corpus(seed=5, n_letters=120, n_short=200)
    plain = [f"I support option {i}. The plan is sensible.\n\nIt should go further on cycleways." for i in range(50)]
    texts = list(dict.fromkeys(corpus.docs + plain))
    memo = redact_mod.PieceMemo()
    got = redact_mod.detect_batch(texts, memo)
    assert len(got) == len(texts) and memo.pieces  # pieces were detected and kept for the next chunk
    for text, det in zip(texts, got, strict=True):
        whole = _detect_uncached(text)
        if not whole.found:
            assert det == redact_mod.NOTHING, text
            continue
        # as tests/test_redaction_pieces.py: the same redaction and spans; a kind's candidates in another order
        assert (det.redacted, det.spans, list(det.found)) == (whole.redacted, whole.spans, list(whole.found)), text
        assert {k: sorted(v) for k, v in det.found.items()} == {k: sorted(v) for k, v in whole.found.items()}
    assert any(det == redact_mod.NOTHING for det in got) and any(det != redact_mod.NOTHING for det in got)
    with Detector(redact_mod.detect_batch, workers=2, min_texts=1, batch=True) as det:
        both = det.many(texts)  # chunks from the front in the worker (its own memo), from the back here
        assert 0 < det.in_worker < len(texts)
    assert both == dict(zip(texts, got, strict=True))


def test_a_batch_detector_that_cannot_run_in_the_worker_runs_here():
    texts = [f"Kind regards,\n\nJane Smith {i}" for i in range(3 * parallel.CHUNK)]
    with Detector(lambda chunk: [t.upper() for t in chunk], workers=2, min_texts=1, batch=True) as det:
        assert det.many(texts) == {t: t.upper() for t in texts} and det.broken
