"""Redaction's worker is sent its next chunk while it detects one, when that chunk surely fits its pipe (#18)."""

from __future__ import annotations

import math
import pickle
import time

import pytest

from analysis import worker as worker_mod
from analysis.redaction import parallel
from analysis.redaction.parallel import Detector, message_bound


@pytest.fixture
def in_flight(monkeypatch):
    """The most chunks sent to the worker and not yet received, over a test."""
    state = {"now": 0, "most": 0}
    send, receive = worker_mod.Worker.send, worker_mod.Worker.receive

    def counting_send(self, fn, *args):
        send(self, fn, *args)
        state["now"] += 1
        state["most"] = max(state["most"], state["now"])

    def counting_receive(self):
        value = receive(self)
        state["now"] -= 1
        return value

    monkeypatch.setattr(worker_mod.Worker, "send", counting_send)
    monkeypatch.setattr(worker_mod.Worker, "receive", counting_receive)
    return state


def _slow_upper(text: str) -> str:
    time.sleep(0.0002)  # a detector's pace: the worker starts before this process has done every chunk
    return text.upper()


def test_the_worker_is_sent_its_next_chunk_while_it_detects_one(in_flight):
    texts = [f"Submission {i}: I support the plan, kind regards Aroha" for i in range(40 * parallel.CHUNK)]
    with Detector(_slow_upper, workers=2, min_texts=1) as det:
        got = det.many(texts)
        assert det.in_worker > 0 and not det.broken
    assert got == {t: t.upper() for t in texts}
    assert parallel.AHEAD >= 1 and in_flight["most"] == 1 + parallel.AHEAD
    assert in_flight["now"] == 0  # every chunk sent was received


def test_a_chunk_that_may_not_fit_the_pipe_is_not_sent_ahead(in_flight):
    # each chunk's request and result are several pipes' worth: sent ahead, the worker could block writing a
    # result while this process blocks writing the next request
    texts = [f"{i} " + "ā" * 6000 for i in range(8 * parallel.CHUNK)]
    with Detector(str.upper, workers=2, min_texts=1) as det:
        got = det.many(texts)
        assert det.in_worker > 0 and not det.broken
        assert message_bound(texts[:parallel.CHUNK]) > det._worker.room // 2
    assert got == {t: t.upper() for t in texts}
    assert in_flight["most"] == 1


def test_only_a_few_chunks_left_are_handed_out_one_at_a_time(in_flight):
    texts = [f"text {i}" for i in range((parallel.AHEAD_MIN_LEFT - 1) * parallel.CHUNK)]
    with Detector(str.upper, workers=2, min_texts=1) as det:
        assert det.many(texts) == {t: t.upper() for t in texts}
    assert in_flight["most"] == 1


@pytest.mark.parametrize("obj", [
    "plain ascii",
    "Kia ora, ngā mihi — Ātaahua 🌿 \U0010ffff",
    ("text", (("Aroha Ngata", "aroha@example.com"), (None, math.nan), ("", None))),
    [("a" * 70_000, ((None, None),)), ("ē" * 40_000, ())],
    (1, 2**200, True, 1.5, None),
    [],
])
def test_the_message_bound_is_never_below_the_pickle(obj):
    assert message_bound(obj) >= len(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
    assert message_bound((parallel.detect_chunk, str.upper, obj)) >= len(
        pickle.dumps((parallel.detect_chunk, (str.upper, obj)), protocol=pickle.HIGHEST_PROTOCOL)) - 64
