"""analysis.worker: functions run in a second interpreter give their results, or a WorkerError (#18)."""

from __future__ import annotations

import pytest

from analysis.campaigns.text import normalise
from analysis.worker import Worker, WorkerError


def test_the_worker_returns_what_the_function_returns_here():
    texts = ["Dear Minister,\nI OPPOSE the Bill — Kind regards, [NAME]", "Kia ora, Ngā mihi"]
    with Worker() as w:
        assert w.call(normalise, texts[0]) == normalise(texts[0])
        w.send(sorted, [3, 1, 2])
        w.send(normalise, texts[1])  # results come back in the order sent
        assert w.receive() == [1, 2, 3]
        assert w.receive() == normalise(texts[1])


def test_an_error_in_the_function_is_reported_and_the_worker_goes_on():
    with Worker() as w:
        with pytest.raises(WorkerError, match="ValueError"):
            w.call(int, "not a number")
        assert w.call(int, "42") == 42


def test_what_cannot_be_sent_is_a_worker_error():
    with Worker() as w:
        with pytest.raises(WorkerError):
            w.send(lambda x: x, 1)  # a lambda cannot travel by reference
        with pytest.raises(WorkerError):
            w.receive()  # nothing was sent


def test_start_imports_first_and_the_next_result_is_the_callers():
    with Worker() as w:
        assert w.start("analysis.campaigns.stage")
        assert w.call(normalise, "Kia ora, I OPPOSE it.") == normalise("Kia ora, I OPPOSE it.")
    with Worker() as w:
        assert w.start("analysis.no_such_module")  # the import fails in the worker: reported on receive
        w.send(sorted, [2, 1])
        with pytest.raises(WorkerError, match="ModuleNotFoundError"):
            w.receive()
