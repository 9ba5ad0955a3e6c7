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


def test_writes_to_standard_output_do_not_reach_the_results_pipe(capfd):
    # print(), a write to descriptor 1 (as C code would) and a forked child's write all go to standard error
    with Worker() as w:
        assert w.call(_noisy, "kia ora") == "kia ora"
        assert w.call(int, "7") == 7  # the pipe still reads whole results afterwards
    err = capfd.readouterr().err
    assert "printed kia ora" in err and "fd1 kia ora" in err and "child kia ora" in err


def _noisy(text: str) -> str:
    import os

    print(f"printed {text}", flush=True)
    os.write(1, f"fd1 {text}\n".encode())
    pid = os.fork()
    if pid == 0:  # the child writes to the descriptor it inherited, then leaves at once
        os.write(1, f"child {text}\n".encode())
        os._exit(0)
    os.waitpid(pid, 0)
    return text


class _FailsToPickle:
    def __reduce__(self):
        raise TypeError("cannot travel")


def test_an_argument_failing_part_way_ends_the_worker_and_the_next_call_starts_a_new_one():
    with Worker() as w:
        assert w.call(len, ["x" * 100] * 10) == 10
        with pytest.raises(WorkerError, match="cannot travel"):
            w.send(len, ["y" * 70_000] * 8 + [_FailsToPickle()])  # frames of the list already in the pipe
        assert not w.started
        assert w.call(len, "abc") == 3


def test_a_large_argument_is_not_pickled_whole_before_it_is_sent():
    import threading
    import time

    import psutil

    me = psutil.Process()
    texts = [f"letter {i} " * 30 for i in range(300_000)]  # ~120 MB of characters, ~130 MB pickled
    size = sum(map(len, texts))
    peak, stop = [0], threading.Event()

    def watch():
        while not stop.is_set():
            peak[0] = max(peak[0], me.memory_info().rss)
            time.sleep(0.002)

    start = me.memory_info().rss
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    with Worker() as w:
        assert w.call(len, texts) == len(texts)
    stop.set()
    thread.join()
    assert peak[0] - start < size / 4  # a whole pickle would add about the texts' size
