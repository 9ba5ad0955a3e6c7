"""analysis.zygote: workers forked by a run's zygote, their modules imported ahead, give the results of a fresh
worker and of this process, fall back to a fresh interpreter, and end; the CLI leaves without the teardown (#18).

Run by ``tests/test_zygote.py`` in a fresh pytest process: a zygote is forked only by a process that runs no
other thread, and the whole suite's process runs some (e.g. asyncio's child watcher after the browser tests).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_pipeline import _consultation
from test_worker import _noisy

from analysis import pipeline, zygote
from analysis.campaigns.text import normalise
from analysis.charts import parallel as charts_parallel
from analysis.positions import prefetch
from analysis.worker import Worker, WorkerError

TEXT = "Dear Minister,\nI OPPOSE the Bill — Kind regards, [NAME]"


def _imported(name: str) -> bool:
    return name in sys.modules


def _env(name: str) -> str | None:
    return os.environ.get(name)


@contextlib.contextmanager
def _zygote():
    # in the test's body: pytest changes PYTEST_CURRENT_TEST between a fixture's setup and the test's call, and a
    # variable changed since the fork makes the zygote unusable (a fresh interpreter is started instead)
    with zygote.running() as z:
        assert z is not None and zygote.current() is z
        yield z
    assert zygote.current() is None


def test_a_worker_is_forked_by_the_zygote_with_its_modules_imported_ahead():
    with _zygote() as zyg:
        assert "tabnanny" not in sys.modules  # a module nothing here imports
        zyg.preload("tabnanny")
        with Worker() as w:
            assert w.call(os.getppid) == zyg.pid  # forked by the zygote, not started as a fresh interpreter
            assert w.call(_imported, "tabnanny")  # imported there before anything was sent
            assert not w.call(_imported, "this")
            assert w.call(normalise, TEXT) == normalise(TEXT)
            w.send(sorted, [3, 1, 2])
            w.send(normalise, "Kia ora, Ngā mihi")  # results come back in the order sent
            assert w.receive() == [1, 2, 3]
            assert w.receive() == normalise("Kia ora, Ngā mihi")
            with pytest.raises(WorkerError, match="ValueError"):
                w.call(int, "not a number")
            assert w.call(int, "42") == 42
        with Worker() as a, Worker() as b:  # two at once, each its own process
            assert a.call(os.getpid) != b.call(os.getpid)


def test_a_forked_worker_writes_nothing_but_results_to_its_pipe(capfd):
    with _zygote():
        with Worker() as w:
            assert w.call(_noisy, "kia ora") == "kia ora"
            assert w.call(int, "7") == 7
        err = capfd.readouterr().err
        assert "printed kia ora" in err and "fd1 kia ora" in err and "child kia ora" in err


def test_kill_and_close_end_a_forked_worker():
    with _zygote():
        w = Worker()
        w.send(time.sleep, 60)
        pid = w._proc.pid
        t = time.perf_counter()
        w.kill()
        assert time.perf_counter() - t < 30 and not w.started and not zygote._alive(pid)
        w.send(os.getpid)
        pid = w.receive()
        w.close()  # it finishes what it was sent, then ends
        assert not zygote._alive(pid)


def test_the_environment_is_the_callers_and_a_changed_one_starts_a_fresh_interpreter(monkeypatch):
    with _zygote() as zyg:
        monkeypatch.setenv("HIMP8_ADDED", "1")  # added after the fork: passed on to the forked worker
        with Worker() as w:
            assert w.call(os.getppid) == zyg.pid
            assert w.call(_env, "HIMP8_ADDED") == "1"
        monkeypatch.setenv("PATH", os.environ["PATH"] + os.pathsep + "/nowhere")  # one the zygote was forked with
        assert zygote.current() is None
        with Worker() as w:
            assert w.call(os.getppid) == os.getpid()  # a fresh interpreter, started here
            assert w.call(_env, "PATH").endswith("/nowhere")


def test_without_its_zygote_a_worker_starts_as_a_fresh_interpreter():
    with _zygote() as zyg:
        os.kill(zyg.pid, 9)
        os.waitpid(zyg.pid, 0)
        with Worker() as w:  # the fork request fails or is never answered: the caller's fallback still works
            try:
                got = w.call(normalise, TEXT)
            except WorkerError:
                got = None
        assert got in (None, normalise(TEXT))
        zyg._sock.close()
        zyg._sock = None  # what close() leaves
        assert zygote.current() is None
        with Worker() as w:
            assert w.call(os.getppid) == os.getpid() and w.call(normalise, TEXT) == normalise(TEXT)


def test_no_zygote_while_other_threads_run():
    import threading

    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        with zygote.running() as z:
            assert z is None and zygote.current() is None
    finally:
        stop.set()
        t.join()


def test_the_hints_name_the_workers_modules_only_when_a_worker_will_start(tmp_path):
    from analysis.config import parse_config

    cfg = parse_config({"id": "x", "title": "x", "sources": [{"file": "a.csv", "format": "generic"}],
                        "questions": [{"id": "q1", "text": "Why?", "kind": "open"}]})
    assert charts_parallel.worker_modules(cfg, raw_dir=tmp_path, processed_dir=tmp_path) == ()
    cfg2 = cfg.model_copy(update={"questions": cfg.questions * 2})
    assert charts_parallel.worker_modules(cfg2, raw_dir=tmp_path, processed_dir=tmp_path) == charts_parallel.PRELOAD
    assert prefetch.worker_modules(cfg, raw_dir=tmp_path, processed_dir=tmp_path) == ()  # nothing read yet


def test_a_run_forks_its_workers_from_the_zygote_and_outputs_do_not_change(tmp_path, monkeypatch):
    for k in ("RAW", "PROCESSED"):
        monkeypatch.setenv(f"ANALYSIS_DATA_{k}", str(tmp_path / k.lower()))
    monkeypatch.setenv("ANALYSIS_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setattr(prefetch, "MIN_TEXTS", 0)  # the tiny consultation is smaller than the threshold
    _consultation(tmp_path)
    parents: list[int | None] = []
    preloaded: list[tuple[str, ...]] = []
    real_spawn, real_preload = zygote.Zygote.spawn, zygote.Zygote.preload
    monkeypatch.setattr(zygote.Zygote, "spawn", lambda self: parents.append(self.pid) or real_spawn(self))
    monkeypatch.setattr(zygote.Zygote, "preload", lambda self, *m: preloaded.append(m) or real_preload(self, *m))
    pipeline.run("tiny")
    assert len(parents) >= 2 and all(parents)  # the positions' worker and the charts'
    assert set(charts_parallel.PRELOAD) | set(prefetch.PRELOAD) <= {m for ms in preloaded for m in ms}
    assert zygote._CURRENT is None  # ended with the run
    forked = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in sorted(tmp_path.rglob("*"))
              if p.is_file() and "cache" not in p.parts and p.suffix in (".parquet", ".csv", ".md", ".svg", ".png")}
    monkeypatch.setattr(zygote, "running", _no_zygote)  # the same run, its workers fresh interpreters
    parents.clear()
    pipeline.run("tiny", force=True)
    assert parents == []
    fresh = {k: (tmp_path / k).read_bytes() for k in forked}
    assert fresh == forked


def _no_zygote():
    import contextlib

    return contextlib.nullcontext(None)


def _cli(code: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p or os.getcwd() for p in sys.path))
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120)


def test_the_cli_exits_with_the_commands_status_after_the_atexit_functions_and_flushed_output(tmp_path):
    clean = tmp_path / "reports"
    clean.mkdir()
    (clean / "summary.md").write_text("Kia ora. Nothing personal here.\n", encoding="utf-8")
    marker = tmp_path / "atexit"
    code = (f"import atexit, pathlib, sys; atexit.register(pathlib.Path({str(marker)!r}).write_text, 'ran'); "
            "sys.argv[0] = 'analysis'; from analysis.cli import main; main()")
    done = _cli(code, "guard", str(clean))
    assert done.returncode == 0 and done.stdout.strip() == f"{clean}: no personal information found"
    assert marker.read_text() == "ran"
    (clean / "summary.md").write_text("Write to aroha.ngata@example.org\n", encoding="utf-8")
    assert _cli(code, "guard", str(clean)).returncode == 1
    assert _cli(code, "guard").returncode == 2  # a usage error
    for exit_code, status in (("None", 0), ("3", 3), ("'bye'", 1)):
        done = _cli(f"import sys; from analysis import cli; cli.app = lambda: sys.exit({exit_code}); cli.main()")
        assert done.returncode == status
    assert "bye" in done.stderr
    assert Path(zygote.__file__).is_file()


def test_a_run_collects_garbage_less_often_and_restores_the_thresholds(tmp_path, monkeypatch):
    import gc

    for k in ("RAW", "PROCESSED"):
        monkeypatch.setenv(f"ANALYSIS_DATA_{k}", str(tmp_path / k.lower()))
    monkeypatch.setenv("ANALYSIS_REPORTS", str(tmp_path / "reports"))
    _consultation(tmp_path)
    before = gc.get_threshold()
    seen = []
    real = pipeline._run_stages
    monkeypatch.setattr(pipeline, "_run_stages", lambda *a, **k: seen.append(gc.get_threshold()) or real(*a, **k))
    pipeline.run("tiny", stages=["ingest"])
    assert seen == [(max(before[0], pipeline.GC_THRESHOLD), *before[1:])] and gc.get_threshold() == before
    with pytest.raises(ValueError, match="unknown stage"), pipeline.fewer_collections():
        assert gc.get_threshold()[0] == max(before[0], pipeline.GC_THRESHOLD)
        pipeline.run("tiny", stages=["nope"])
    assert gc.get_threshold() == before
