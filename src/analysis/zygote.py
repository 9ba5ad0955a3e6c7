"""A small process, forked when a run starts, that forks the run's workers with their modules already imported.

A worker (:class:`analysis.worker.Worker`) started as a fresh interpreter imports what its functions need on
the second core: pandas and scikit-learn for the positions computed ahead (about 1.5 CPU s), matplotlib for
the chart worker (about 0.85 CPU s), each its own copy, while the themes stage and its forks want that core.
The pipeline instead forks this process (:func:`running`) before its first stage runs, while the pipeline's
process still holds no table, no pyarrow thread and none of those modules (about 60 MB). As soon as the
pipeline knows which workers the run will start (:func:`preload`, asked before each stage runs: see
:func:`analysis.pipeline._preload_workers`), this process imports their modules, on the second core while
the first stages (ingest, redaction, campaigns) keep only one core busy. A worker is then forked from it
(:func:`spawn`): it starts with those imports done, and two workers share one set of them.

A forked worker runs the same :func:`analysis.worker.serve` loop on two pipes as a fresh one, so results never
depend on where it started; it is used only while the working directory, ``sys.path`` and the environment
variables are those this process was forked with (:meth:`Zygote.usable`), and without it (none running, it died, another platform) a worker starts
as a fresh interpreter, as before.

Protocol (a ``SOCK_SEQPACKET`` socket pair, one pickle per message): ``("preload", modules)`` (no reply);
``("spawn", environment)`` with the worker's standard input (read end) and output (write end) attached (reply: the
worker's process id, in request order, read only when the caller needs it: :class:`ForkedProcess`).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO

#: Largest message (a module list, an environment, a reply).
_BUFSIZE = 1 << 20


class ForkedProcess:
    """A worker forked by the zygote: the part of :class:`subprocess.Popen` that :class:`~analysis.worker.Worker` uses.

    Attributes:
        stdin: The worker's standard input (write end, buffered).
        stdout: The worker's results (read end, buffered).
    """

    def __init__(self, zygote: Zygote, stdin: IO[bytes], stdout: IO[bytes]) -> None:
        self._zygote = zygote
        self.stdin = stdin
        self.stdout = stdout
        self._pid: int | None = None

    @property
    def pid(self) -> int | None:
        """The worker's process id (waits for the zygote to have forked it; ``None``: it did not)."""
        if self._pid is None:
            self._pid = self._zygote._pid_of(self)
        return self._pid or None

    def kill(self) -> None:
        """Send SIGKILL (nothing when it is gone or was never forked)."""
        pid = self.pid
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        """Wait until the worker has ended (the zygote reaps it; its exit status is not known here: 0).

        Raises:
            subprocess.TimeoutExpired: Still running after ``timeout`` seconds.
        """
        import subprocess

        pid = self.pid
        deadline = None if timeout is None else time.monotonic() + timeout
        while pid and _alive(pid):
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"worker {pid}", timeout)
            time.sleep(0.002)
        return 0


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (an ended one that nobody reaped yet, a zombie, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


class Zygote:
    """The caller's side of a zygote process (:func:`running` starts one)."""

    def __init__(self) -> None:
        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._env = dict(os.environ)
        self._cwd = os.getcwd()
        self._path = list(sys.path)
        self._owner = os.getpid()  # a process forked from the caller does not share the socket's replies
        self._preloaded: set[str] = set()
        self._lock = threading.Lock()
        self._waiting: list[ForkedProcess] = []  # spawned, process id not read yet (replies come in this order)
        for stream in (sys.stdout, sys.stderr):  # nothing buffered here may be written again by the copies
            with contextlib.suppress(Exception):
                stream.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the zygote (measured by the tests through its workers)
            code = 1
            try:
                self._sock.close()
                _serve_zygote(theirs)
                code = 0
            finally:
                os._exit(code)
        theirs.close()
        self.pid = pid

    def usable(self) -> bool:
        """Whether a worker forked now would see what a fresh interpreter started now would: the zygote still
        runs, this is the process that forked it (not a copy forked since), with the working directory and import
        path it was forked with, and no environment variable it was
        forked with has changed since. Variables added since are passed on to the worker (the imports here set
        some, e.g. ``KMP_INIT_AT_FORK``, as they do in the zygote and in a fresh worker)."""
        env = os.environ
        return (self._sock is not None and os.getpid() == self._owner and os.getcwd() == self._cwd
                and list(sys.path) == self._path
                and all(env.get(k) == v for k, v in self._env.items()))

    def preload(self, *modules: str) -> None:
        """Have the zygote import ``modules`` (those it imported already are not sent again)."""
        new = tuple(m for m in modules if m not in self._preloaded)
        if not new or self._sock is None:
            return
        with self._lock, contextlib.suppress(OSError):
            self._sock.send(pickle.dumps(("preload", new)))
            self._preloaded.update(new)

    def spawn(self) -> ForkedProcess:
        """A worker forked by the zygote, running :func:`analysis.worker.serve` on two new pipes.

        Raises:
            OSError: The zygote is gone (the caller starts a fresh interpreter).
        """
        if self._sock is None:
            raise OSError("the zygote was closed")
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            with self._lock:
                socket.send_fds(self._sock, [pickle.dumps(("spawn", dict(os.environ)))], [in_r, out_w])
                proc = ForkedProcess(self, os.fdopen(in_w, "wb"), os.fdopen(out_r, "rb"))
                self._waiting.append(proc)
        except BaseException:
            for fd in (in_w, out_r):
                with contextlib.suppress(OSError):
                    os.close(fd)
            raise
        finally:
            os.close(in_r)
            os.close(out_w)
        return proc

    def _pid_of(self, proc: ForkedProcess) -> int:
        """Read the zygote's replies up to ``proc``'s (0: it never came)."""
        with self._lock:
            while proc in self._waiting:
                first = self._waiting.pop(0)
                try:
                    data = self._sock.recv(_BUFSIZE) if self._sock is not None else b""
                    pid = pickle.loads(data) if data else 0
                except (OSError, pickle.UnpicklingError, EOFError):
                    pid = 0
                first._pid = pid
            return proc._pid or 0

    def settle(self, *, drain: bool = False) -> None:
        """Read the replies of every worker spawned here (and, ``drain``: any other waiting on the socket, left by a
        process forked from this one that spawned workers through :meth:`adopt`), so none is left for the wrong
        reader."""
        for proc in list(self._waiting):
            self._pid_of(proc)
        if drain and self._sock is not None:
            with self._lock, contextlib.suppress(OSError):
                while self._sock.recv(_BUFSIZE, socket.MSG_DONTWAIT):
                    pass

    def adopt(self) -> None:
        """(In a process forked from this zygote's owner, while the owner waits for it.) Fork this process's
        workers through the zygote: the owner reads no reply until it is done (:meth:`settle` first)."""
        self._owner = os.getpid()

    def close(self, timeout: float = 5.0) -> None:
        """End the zygote: it ends once the workers it forked have ended (their callers end them first), so
        their CPU time is counted in this process's children's. One still importing or waiting after
        ``timeout`` seconds is killed (its workers then run on until their callers end them)."""
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
        deadline = time.monotonic() + timeout
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(self.pid, os.WNOHANG)[0] == 0:
                if time.monotonic() > deadline:
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
                    break
                time.sleep(0.002)


def _serve_zygote(sock: socket.socket) -> None:  # pragma: no cover - runs in the zygote
    """The zygote's loop: import what it is asked to, fork a worker per request, until the caller closes."""
    import gc
    import importlib
    import logging

    gc.freeze()  # the caller's objects: never traversed nor finalized here
    # what a fresh interpreter has: no descriptor of the caller's beyond 0-2, no logging configuration
    keep = sock.fileno()
    os.closerange(3, keep)
    os.closerange(keep + 1, 1 << 16)
    _fresh_std_streams()
    logging.root.handlers.clear()
    logging.root.setLevel(logging.WARNING)
    # The workers are reaped as they end (so their CPU time counts in this process's, and so in the caller's).
    signal.signal(signal.SIGCHLD, _reap)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's; it ends this by closing the socket
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(sock, _BUFSIZE, 2)
        except OSError:
            data = b""
        if not data:  # the caller closed: wait for the workers still running, then end
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            with contextlib.suppress(ChildProcessError):
                while True:
                    os.wait()
            return
        msg = pickle.loads(data)
        if msg[0] == "preload":
            for name in msg[1]:
                with contextlib.suppress(Exception):  # a worker importing it reports the error itself
                    importlib.import_module(name)
        elif msg[0] == "spawn" and len(fds) == 2:
            sock.send(pickle.dumps(_fork_worker(sock, *fds, msg[1])))
        else:
            for fd in fds:
                os.close(fd)


def _fresh_std_streams() -> None:  # pragma: no cover - runs in the zygote
    """Standard output and error on descriptors 1 and 2, as a fresh interpreter's (the caller's may be objects
    over other descriptors, e.g. a test's capture)."""
    enc = getattr(sys.__stderr__, "encoding", None) or "utf-8"
    sys.stdout = sys.__stdout__ = open(1, "w", encoding=enc, closefd=False)  # noqa: SIM115 - for the process's life
    sys.stderr = sys.__stderr__ = open(2, "w", encoding=enc, errors="backslashreplace", closefd=False,  # noqa: SIM115
                                       buffering=1)


def _reap(*_args: object) -> None:  # pragma: no cover - runs in the zygote
    """SIGCHLD handler: reap the workers that ended."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass


def _fork_worker(sock: socket.socket, in_r: int, out_w: int, env: dict[str, str]) -> int:  # pragma: no cover
    """(In the zygote.) Fork a worker serving on ``in_r`` / ``out_w`` (closed here) with the caller's
    environment ``env``; its process id (0: the fork failed)."""
    import gc

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    gc.freeze()  # the imported modules: the worker's collections do not traverse them
    try:
        pid = os.fork()
    except OSError:
        pid = 0
    if pid == 0:
        code = 1
        try:
            sock.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            if dict(os.environ) != env:
                os.environ.clear()
                os.environ.update(env)
            os.dup2(in_r, 0)
            os.dup2(out_w, 1)
            os.close(in_r)
            os.close(out_w)
            sys.stdin = sys.__stdin__ = open(0, encoding=sys.stderr.encoding, closefd=False)  # noqa: SIM115
            from analysis.worker import serve

            serve(os.fdopen(0, "rb", closefd=False))
            code = 0
        finally:
            os._exit(code)
    os.close(in_r)
    os.close(out_w)
    return pid


#: The zygote of the run in progress (:func:`running`).
_CURRENT: Zygote | None = None


def current() -> Zygote | None:
    """The running zygote that can fork a worker now (``None``: a worker starts as a fresh interpreter)."""
    z = _CURRENT
    return z if z is not None and z.usable() else None


def preload(*modules: str) -> None:
    """Have the running zygote import ``modules`` (nothing when none runs)."""
    if _CURRENT is not None:
        _CURRENT.preload(*modules)


@contextlib.contextmanager
def running() -> Iterator[Zygote | None]:
    """A zygote for the length of the block (``None`` when the platform cannot fork, one runs already, or this
    process runs other threads: a fork copies only the calling one, and a lock another holds stays held)."""
    global _CURRENT
    if (_CURRENT is not None or not hasattr(os, "fork") or not hasattr(socket, "send_fds")
            or threading.active_count() > 1):
        yield None
        return
    try:
        z = Zygote()
    except OSError:
        yield None
        return
    _CURRENT = z
    try:
        yield z
    finally:
        _CURRENT = None
        z.close()
