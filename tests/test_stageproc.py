"""Stages run in a forked child process (#18, a million responses): the same outputs as in the process, the
child's memory returned when it ends, its errors raised in the pipeline's process, its workers forked by the
run's zygote."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal

import pytest
from test_pipeline import _consultation
from test_pipeline_memory import _rss_mb

from analysis import pipeline, stageproc, worker, zygote
from analysis.errors import AnalysisError, InputError
from analysis.positions import prefetch


def _allocate(mb: int) -> list:
    block = bytearray(mb * 2**20)
    block[::4096] = b"x" * len(block[::4096])  # every page touched: resident
    return ["done", len(block) // 2**20, os.getpid()]


def test_the_child_computes_the_result_and_its_memory_does_not_stay():
    before = _rss_mb()
    value = stageproc.run_in_child("probe", lambda: _allocate(400))
    assert value[:2] == ["done", 400] and value[2] != os.getpid()
    assert _rss_mb() - before < 50  # the 400 MB lived and died in the child


def _raise_input_error():
    raise InputError("export.csv", "not UTF-8", 7, "Why?")


def test_an_error_in_the_child_is_raised_here_with_its_type_message_and_traceback():
    with pytest.raises(InputError, match=r"export.csv, row 7, column 'Why\?'") as info:
        stageproc.run_in_child("ingest", _raise_input_error)
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert (info.value.file, info.value.row, info.value.column) == ("export.csv", 7, "Why?")
    assert "raised in stage ingest's process" in notes and "_raise_input_error" in notes


class _Unpicklable(Exception):
    def __init__(self, a, b):  # two arguments, one given to Exception: unpickling fails
        super().__init__(f"{a}/{b}")

    def __reduce__(self):
        raise TypeError("not picklable")


def _raise_unpicklable():
    raise _Unpicklable("left", "right")


def test_an_error_that_cannot_be_sent_arrives_as_its_text():
    with pytest.raises(stageproc.StageProcessError, match=r"(?s)stage themes failed.*_Unpicklable: left/right"):
        stageproc.run_in_child("themes", _raise_unpicklable)


def _killed():
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_child_killed_without_a_result_is_an_error_naming_the_stage_and_signal():
    with pytest.raises(stageproc.StageProcessError, match=r"stage campaigns: its process was killed by signal 9"):
        stageproc.run_in_child("campaigns", _killed)


def _leave_a_grandchild():
    pid = os.fork()
    if pid == 0:  # holds the pipe to the parent open after the child has gone, for 30 s unless killed
        import select

        select.select([], [], [], 30)
        os._exit(0)
    return ["sent", pid]


def test_a_process_the_child_left_behind_holding_its_pipe_does_not_hold_up_the_result():
    import time

    start = time.monotonic()
    value = stageproc.run_in_child("themes", _leave_a_grandchild)
    try:
        assert value[0] == "sent" and time.monotonic() - start < 20
        os.kill(value[1], 0)  # the grandchild is still alive, its end of the pipe open
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(value[1], signal.SIGKILL)


def test_the_mode_comes_from_the_environment_and_auto_follows_the_raw_folder_size(tmp_path, monkeypatch):
    monkeypatch.setattr(stageproc.threading, "active_count", lambda: 1)  # threads other tests left: next test
    (tmp_path / "small.csv").write_bytes(b"a,b\n1,2\n")
    monkeypatch.setenv(stageproc.ENV, "auto")
    assert not stageproc.wanted(tmp_path)
    with (tmp_path / "large.csv").open("wb") as f:  # sparse: its size, not its blocks, is what is read
        f.truncate(stageproc.AUTO_BYTES)
    assert stageproc.wanted(tmp_path)
    monkeypatch.setenv(stageproc.ENV, "never")
    assert not stageproc.wanted(tmp_path)
    monkeypatch.setenv(stageproc.ENV, "always")
    assert stageproc.wanted(tmp_path / "nothing here")
    monkeypatch.setenv(stageproc.ENV, "sometimes")
    with pytest.raises(AnalysisError, match="ANALYSIS_STAGE_PROCESS='sometimes'"):
        stageproc.wanted(tmp_path)


def test_a_process_running_other_threads_runs_its_stages_itself(tmp_path, monkeypatch):
    import threading

    monkeypatch.setenv(stageproc.ENV, "always")
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        assert not stageproc.wanted(tmp_path)  # a fork would copy a lock another thread may hold
    finally:
        stop.set()
        thread.join()


def _worker_pid() -> int:
    with worker.Worker() as w:
        return w.call(os.getpid)


def test_the_childs_workers_are_forked_by_the_runs_zygote_and_counted_here(monkeypatch):
    monkeypatch.setattr(zygote.threading, "active_count", lambda: 1)  # as in the test below
    with zygote.running() as z:
        assert z is not None
        before = dict(worker.STARTED)
        first = stageproc.run_in_child("positions", _worker_pid)
        second = stageproc.run_in_child("report", _worker_pid)
        assert first != second and first != os.getpid()
        assert worker.STARTED["forked"] - before["forked"] == 2 and worker.STARTED["fresh"] == before["fresh"]
        assert _worker_pid() not in (first, second)  # the zygote still serves this process afterwards
        assert worker.STARTED["forked"] - before["forked"] == 3


def _hashes(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "cache" not in p.parts and p.name != ".run.lock"}


@pytest.mark.parametrize("mode", ["always"])
def test_a_run_with_every_stage_in_a_child_writes_the_same_files(tmp_path, monkeypatch, mode):
    monkeypatch.setattr(prefetch, "MIN_TEXTS", 0)  # the positions computed ahead too, taken in the child
    # idle daemon threads other tests leave in this process would keep the run from forking (as they should)
    monkeypatch.setattr(stageproc.threading, "active_count", lambda: 1)
    outs = {}
    for m in ("never", mode):
        root = tmp_path / m
        for k in ("RAW", "PROCESSED"):
            monkeypatch.setenv(f"ANALYSIS_DATA_{k}", str(root / k.lower()))
        monkeypatch.setenv("ANALYSIS_REPORTS", str(root / "reports"))
        monkeypatch.setenv(stageproc.ENV, m)
        _consultation(root)
        before = dict(worker.STARTED)
        results = pipeline.run("tiny")
        assert set(results) == {s.name for s in pipeline.STAGES} and all(results.values())
        outs[m] = (_hashes(root / "processed" / "tiny"), _hashes(root / "reports" / "tiny"))
        forked = worker.STARTED["forked"] - before["forked"]
        assert forked >= 1 and worker.STARTED["fresh"] == before["fresh"]
    assert outs["never"] == outs[mode]
    assert len(outs[mode][0]) > 10 and len(outs[mode][1]) > 10
