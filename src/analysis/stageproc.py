"""Run one pipeline stage in a forked child process, so that all it held is returned when it ends.

A stage frees its tables when it returns, but the process does not shrink back to where it was: CPython keeps
arenas that still hold one live object, the C allocators keep freed pages, and what a stage cached for itself stays
(measured on a generated consultation of 200,000 responses with 90% campaign copies: 1,194 MB resident after the
ingest stage with no Arrow buffer alive; the counts stage peaked at 1,637 MB run alone and 3,193 MB at the end of a
whole run). At a million responses that floor is several gigabytes under every later stage. Each stage's outputs are
files, so a stage run in a child that exits leaves the pipeline's process as small as before it.

The child is forked from the pipeline's process (its imports are shared until written), runs the stage's ``run``
exactly as the process would, and sends back the output paths, or the exception it raised. Work started ahead for
the stage (:attr:`analysis.pipeline.Stage.starts_with`) is inherited by the fork and taken there; the run's zygote
(:mod:`analysis.zygote`) forks the child's workers as it would the process's.

Whether stages run in a child is :data:`ENV` (``auto`` by default: when the consultation's raw folder holds at
least :data:`AUTO_BYTES`, where the floor matters; ``always``; ``never``). A child is never forked when the platform
cannot fork or the process runs other threads (a notebook's kernel does): the stage then runs in the process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analysis.errors import AnalysisError

log = logging.getLogger(__name__)

#: Environment variable choosing whether stages run in a child process: ``auto``, ``always`` or ``never``.
ENV = "ANALYSIS_STAGE_PROCESS"

#: ``auto``: a stage runs in a child when the consultation's raw folder holds at least this many bytes.
AUTO_BYTES = 64 * 2**20


class StageProcessError(AnalysisError):
    """A stage's child process ended without a result (killed, e.g. by the out-of-memory killer)."""


def _mode() -> str:
    value = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if value not in {"auto", "always", "never"}:
        raise AnalysisError(f"{ENV}={value!r}: expected auto, always or never")
    return value


def _folder_bytes(folder: Path, limit: int) -> int:
    """Bytes of the files under ``folder``, counted until they reach ``limit``."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(root, name)).st_size
            if total >= limit:
                return total
    return total


def wanted(raw_dir: Path) -> bool:
    """Whether the stages of the consultation in ``raw_dir`` should run in child processes (:data:`ENV`)."""
    mode = _mode()
    if mode == "never" or not hasattr(os, "fork") or threading.active_count() > 1:
        return False
    return mode == "always" or _folder_bytes(Path(raw_dir), AUTO_BYTES) >= AUTO_BYTES


def run_in_child(name: str, fn: Callable[[], list[Path]]) -> list[Path]:
    """``fn()`` (a stage's run) in a forked child; its result, or its exception raised here.

    Raises:
        StageProcessError: The child ended without sending a result.
        Exception: What ``fn`` raised in the child (the child's traceback is attached as a note).
    """
    from analysis import worker, zygote

    z = zygote._CURRENT
    if z is not None:
        z.settle()  # no reply of the zygote's left unread here for the child to take
    for stream in (sys.stdout, sys.stderr):  # nothing buffered here may be written again by the child
        with contextlib.suppress(Exception):
            stream.flush()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child (its work is checked through the parent)
        os.close(read_fd)
        _child(fn, write_fd, z, dict(worker.STARTED))
    os.close(write_fd)
    try:
        data, status = _collect(read_fd, pid)
    except BaseException:  # Ctrl-C or another error here: the child does not outlive the run
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        raise
    if z is not None:
        z.settle(drain=True)
    try:
        ok, value, started = pickle.loads(data) if data else (None, None, None)  # noqa: S301 - its own child's
    except Exception:  # noqa: BLE001 - cut short: the child ended while writing
        ok = None
    if ok is None:
        how = (f"was killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"exited with status {os.WEXITSTATUS(status)}")
        hint = " (SIGKILL: often the system's out-of-memory killer)" if os.WIFSIGNALED(status) and \
            os.WTERMSIG(status) == signal.SIGKILL else ""
        raise StageProcessError(f"stage {name}: its process {how}{hint} before it finished")
    for key, n in started.items():
        worker.STARTED[key] = worker.STARTED.get(key, 0) + n
    if ok:
        return value
    err, text = value
    if err is None:
        raise StageProcessError(f"stage {name} failed in its process:\n{text}")
    err.add_note(f"(raised in stage {name}'s process)\n{text}")
    raise err


def _collect(fd: int, pid: int) -> tuple[bytes, int]:
    """What the child ``pid`` wrote to ``fd`` until it ended, and its wait status.

    The end of the pipe is not waited for: a process the child forked (a worker it did not end) may hold the pipe's
    other end open after the child has gone. Once the child has ended, what it wrote is all in the pipe.
    """
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
                continue
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                os.set_blocking(fd, False)
                with contextlib.suppress(BlockingIOError):
                    while chunk := os.read(fd, 1 << 20):
                        chunks.append(chunk)
                return b"".join(chunks), status
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return b"".join(chunks), status


def _child(fn: Callable[[], list[Path]], fd: int, z: Any, started_before: dict[str, int]) -> None:  # pragma: no cover
    """(In the child.) Run ``fn``, write ``(ok, value, workers started)`` to ``fd`` and exit."""
    from analysis import worker

    code = 1
    try:
        if z is not None:
            z.adopt()  # the parent waits: the zygote's socket is this process's until it ends
        try:
            payload: tuple[bool, Any] = (True, fn())
        except BaseException as err:  # noqa: BLE001 - every failure goes back to the parent
            text = "".join(traceback.format_exception(err))
            try:
                pickle.loads(pickle.dumps(err))
                payload = (False, (err, text))
            except Exception:  # noqa: BLE001 - an exception that cannot be sent: its text is
                payload = (False, (None, text))
        started = {k: v - started_before.get(k, 0) for k, v in worker.STARTED.items()}
        data = pickle.dumps((*payload, started), protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        code = 0
    finally:
        for handler in _handlers():
            with contextlib.suppress(Exception):
                handler.flush()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _handlers() -> list[logging.Handler]:
    """Every logging handler of this process."""
    loggers = [logging.getLogger(), *(v for v in logging.Logger.manager.loggerDict.values()
                                      if isinstance(v, logging.Logger))]
    return [h for lg in loggers for h in lg.handlers]
