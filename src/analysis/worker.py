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
import fcntl
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


#: Bytes a pipe to or from the worker holds (Linux's default most for a user, ``/proc/sys/fs/pipe-max-size``), and the
#: buffer each end reads and writes through: a message up to this size crosses in one write and one read. With
#: Linux's default pipe (64 KiB) and Python's buffers (8 KiB), a 300 KB result took a dozen system calls, and the
#: caller's thread reading it needed the interpreter lock back after each, from a caller busy computing, while
#: the worker waited for the pipe to empty.
PIPE_BYTES = 1 << 20


#: What a pipe holds when its size cannot be read (Linux's default; POSIX promises only 512 bytes).
_DEFAULT_PIPE = 1 << 16


def _widen(fd: int) -> int:
    """Make the pipe of ``fd`` hold :data:`PIPE_BYTES` (best effort: not when the system refuses).

    Returns:
        The bytes it holds (:data:`_DEFAULT_PIPE` when that cannot be read).
    """
    try:
        size = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
    except (OSError, AttributeError):  # not a pipe, not Linux
        return _DEFAULT_PIPE
    if size < PIPE_BYTES:
        with contextlib.suppress(OSError):  # over the user's limit
            size = fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    return size


class _Outbox:
    """What :func:`pickle.dump` writes, held here and written to a descriptor in pieces of :data:`PIPE_BYTES`: a
    message that fits crosses in one system call, a larger one is never held whole (at most one piece)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._parts: list[bytes | memoryview] = []
        self._size = 0

    def write(self, data: bytes | memoryview | pickle.PickleBuffer) -> int:
        """Take ``data`` (the pickler's frames, or a buffer protocol 5 writes as it is: a numpy or Arrow array's;
        written out once a piece is full)."""
        if type(data) is not bytes:
            data = memoryview(data)  # a PickleBuffer has no len(): its bytes, flat
            if data.ndim != 1 or data.format != "B":
                data = data.cast("B")
        n = len(data)
        if n >= PIPE_BYTES:  # a large buffer (protocol 5 writes it apart): out as it is, not copied
            self.flush()
            self._write_all(memoryview(data))
            return n
        self._parts.append(data if type(data) is bytes else bytes(data))  # (a copy of what may change)
        self._size += n
        if self._size >= PIPE_BYTES:
            self.flush()
        return n

    def flush(self) -> None:
        """Write out what is held."""
        if self._parts:
            data = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
            self._parts, self._size = [], 0
            self._write_all(memoryview(data))

    def _write_all(self, view: memoryview) -> None:
        while view:
            view = view[os.write(self._fd, view):]


def _inbox(stream: IO[bytes]) -> IO[bytes]:
    """A reader of ``stream``'s descriptor with a buffer of :data:`PIPE_BYTES` (``stream`` itself when it has no
    descriptor; its own buffer must be empty: nothing was read from it)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError and a ValueError
        return stream
    return open(fd, "rb", buffering=PIPE_BYTES, closefd=False)  # noqa: SIM115 - the caller closes ``stream``


class WorkerError(RuntimeError):
    """The worker could not run a function (it could not start, died, or the function raised)."""


class Worker:
    """One worker process, started on the first :meth:`send` (a context manager: it ends on exit)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | ForkedProcess | None = None
        self._preloads = 0  # replies of :meth:`start`'s imports not read yet
        self._out: _Outbox | None = None  # the requests' writer and the results' reader (see PIPE_BYTES)
        self._in: IO[bytes] | None = None
        self.room = 0  # bytes the pipe to the worker holds once it started (see :meth:`send`)

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
            proc = self._spawn()
            self.room = _widen(proc.stdin.fileno())
            _widen(proc.stdout.fileno())
            self._out, self._in = _Outbox(proc.stdin.fileno()), _inbox(proc.stdout)
            self._proc = proc
        return self._proc

    @staticmethod
    def _spawn() -> subprocess.Popen | ForkedProcess:
        from analysis import zygote

        z = zygote.current()
        if z is not None:  # forked by the run's zygote, its imports done (falls back to a fresh interpreter)
            with contextlib.suppress(OSError):
                proc = z.spawn()
                STARTED["forked"] += 1
                return proc
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p or os.getcwd() for p in sys.path)  # what this process imports
        proc = subprocess.Popen([sys.executable, "-m", "analysis.worker"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, env=env)
        STARTED["fresh"] += 1
        return proc

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

        The message is pickled straight into the pipe, a piece of :data:`PIPE_BYTES` at a time, not built whole
        first (the campaigns' question of 187,055 letters at 200,000 responses was a 200 MB pickle beside the
        texts it copies); a message that fits a piece is one write.

        Sending again before receiving is safe while the messages not read yet by the worker fit in its pipe
        (:attr:`room` bytes): a message that does not fit waits for the worker to read, which may be writing a
        result that does not fit its own pipe, waiting for this process to read. A
        function that cannot travel is found before anything is written; arguments that fail part way end the
        worker (a message cut short is in its pipe) and raise here as every other failure does.
        """
        try:
            pickle.dumps(fn, protocol=pickle.HIGHEST_PROTOCOL)  # by reference: a few bytes
            self._start()
        except Exception as err:  # noqa: BLE001 - unpicklable function, no interpreter
            raise WorkerError(f"{type(err).__name__}: {err}") from err
        try:
            out = self._out
            pickle.dump((fn, args), out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
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
            ok, value = pickle.load(self._in)
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
        self._preloads = self.room = 0
        self._out = self._in = None  # (what a failed message left in the outbox is dropped, never written)
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
        self._preloads = self.room = 0
        out, self._out, self._in = self._out, None, None
        if proc is None:
            return
        try:
            pickle.dump(None, out)
            out.flush()
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
    out = os.fdopen(os.dup(1), "wb", buffering=PIPE_BYTES)  # a result that fits is one write (see PIPE_BYTES)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    inp = _inbox(inp if inp is not None else sys.stdin.buffer)
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
