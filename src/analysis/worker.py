"""A second process for pure-Python work: a fresh interpreter that runs functions sent to it as pickles.

``python -m analysis.worker`` reads ``(function, args)`` pickles from its standard input and writes each
result back on its standard output, until it reads ``None``. Functions travel by reference (module and
name), so they must be module-level functions of an importable module.

Why not :mod:`multiprocessing`: a fork would copy a process whose pyarrow threads run, and a spawn re-imports
the caller's main script (an unguarded script would run again). This interpreter imports only ``analysis``
(the caller's ``sys.path`` is passed on) and what the functions need.

During a pipeline run the worker is forked instead by the run's zygote (:mod:`analysis.zygote`), a small
process forked before any stage ran that has imported the worker's modules ahead; it serves the same loop.

Used by redaction (:mod:`analysis.redaction.parallel`), campaigns (whole-submission detection runs here
while the per-question detection runs in the caller), the stance fits (:mod:`analysis.positions.parallel`) and
the positions computed while the themes stage runs (:mod:`analysis.positions.prefetch`). Callers fall back to computing in their own process
when the worker fails (:class:`WorkerError`), so results never depend on it.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analysis.zygote import ForkedProcess


#: Workers started since this process started, by how: ``forked`` by the run's zygote or as a ``fresh``
#: interpreter (for logs and benchmarks: ``benchmarks/end_to_end.py`` reports them per stage).
STARTED = {"forked": 0, "fresh": 0}


class WorkerError(RuntimeError):
    """The worker could not run a function (it could not start, died, or the function raised)."""


class Worker:
    """One worker process, started on the first :meth:`send` (a context manager: it ends on exit)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | ForkedProcess | None = None
        self._preloads = 0  # replies of :meth:`start`'s imports not read yet

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def started(self) -> bool:
        """Whether the process runs (something was sent and it was not closed)."""
        return self._proc is not None

    def _start(self) -> subprocess.Popen | ForkedProcess:
        if self._proc is None:
            from analysis import zygote

            z = zygote.current()
            if z is not None:  # forked by the run's zygote, its imports done (falls back to a fresh interpreter)
                with contextlib.suppress(OSError):
                    self._proc = z.spawn()
                    STARTED["forked"] += 1
                    return self._proc
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(p or os.getcwd() for p in sys.path)  # what this process imports
            self._proc = subprocess.Popen([sys.executable, "-m", "analysis.worker"], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, env=env)
            STARTED["fresh"] += 1
        return self._proc

    def start(self, *modules: str) -> bool:
        """Start the process now and import ``modules`` there, while the caller prepares what it will send.

        Returns:
            Whether it started (``False``: the caller computes everything itself).
        """
        try:
            self.send(preload, *modules)
        except WorkerError:
            return False
        self._preloads += 1
        return True

    def send(self, fn: Callable[..., Any], *args: Any) -> None:
        """Start ``fn(*args)`` in the worker (its result is read by :meth:`receive`).

        The message is pickled straight into the pipe, a frame at a time, not built whole first (the campaigns'
        question of 187,055 letters at 200,000 responses was a 200 MB pickle beside the texts it copies). A
        function that cannot travel is found before anything is written; arguments that fail part way end the
        worker (a message cut short is in its pipe) and raise here as every other failure does.
        """
        try:
            pickle.dumps(fn, protocol=pickle.HIGHEST_PROTOCOL)  # by reference: a few bytes
            proc = self._start()
        except Exception as err:  # noqa: BLE001 - unpicklable function, no interpreter
            raise WorkerError(f"{type(err).__name__}: {err}") from err
        try:
            pickle.dump((fn, args), proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            proc.stdin.flush()
        except Exception as err:  # noqa: BLE001 - unpicklable argument, closed pipe
            self.kill()
            raise WorkerError(f"{type(err).__name__}: {err}") from err

    def receive(self) -> Any:
        """The result of the oldest :meth:`send` not received yet."""
        if self._proc is None:
            raise WorkerError("nothing was sent")
        while self._preloads:  # the imports' replies come first
            self._preloads -= 1
            self._read()
        return self._read()

    def _read(self) -> Any:
        try:
            ok, value = pickle.load(self._proc.stdout)
        except Exception as err:  # noqa: BLE001 - the worker died (EOF) or wrote something else
            raise WorkerError(f"the worker stopped ({type(err).__name__}: {err})") from err
        if not ok:
            raise WorkerError(value)
        return value

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in the worker."""
        self.send(fn, *args)
        return self.receive()

    def kill(self) -> None:
        """End the worker at once, dropping what it was computing (its results are not wanted)."""
        proc, self._proc = self._proc, None
        self._preloads = 0
        if proc is None:
            return
        proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                pipe.close()

    def close(self) -> None:
        """End the worker (it finishes what it was sent first)."""
        proc, self._proc = self._proc, None
        self._preloads = 0
        if proc is None:
            return
        try:
            pickle.dump(None, proc.stdin)
            proc.stdin.close()
            proc.wait(timeout=60)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        finally:
            proc.stdout.close()


def preload(*modules: str) -> None:
    """Import ``modules`` (run in the worker by :meth:`Worker.start`)."""
    import importlib

    for name in modules:
        importlib.import_module(name)


def serve(inp: IO[bytes] | None = None) -> None:
    """The worker's loop: read ``(function, args)`` until ``None``, write ``(True, result)`` or ``(False, error)``.

    Args:
        inp: Where the requests come from (default: standard input; :mod:`analysis.zygote` passes descriptor 0
            anew). Results go to descriptor 1.
    """
    # Nothing else may write to the pipe: not this interpreter's print(), nor C code or a process forked by a
    # function (they inherit file descriptor 1), so the pipe is moved to a descriptor of its own and
    # descriptor 1 becomes a copy of standard error.
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    inp = inp if inp is not None else sys.stdin.buffer
    while True:
        try:
            msg = pickle.load(inp)
        except EOFError:
            return
        if msg is None:
            return
        try:
            fn, args = msg
            reply = (True, fn(*args))
        except Exception as err:  # noqa: BLE001 - reported to the caller, which computes it itself
            reply = (False, f"{type(err).__name__}: {err}")
        pickle.dump(reply, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


if __name__ == "__main__":  # pragma: no cover - the worker process
    serve()
