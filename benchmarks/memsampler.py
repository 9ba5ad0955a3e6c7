"""Peak memory and CPU seconds of a benchmark's process tree, measured from outside the measured process.

:class:`PeakRSS` samples the memory of this process and of its descendants (forked workers, the run's zygote,
worker interpreters) in a separate process, started once (the first time a :class:`PeakRSS` is entered) and
kept until this process ends. A sampling *thread* would keep the pipeline's zygote (:mod:`analysis.zygote`)
from forking (it refuses to while another thread runs), so the workers of a benchmarked run would start as
fresh interpreters and pay imports a real ``analysis run`` does not; a process does not.

:func:`cpu_seconds` counts the CPU seconds of this process and of every descendant, ended or still running,
except the sampler: it is never waited for while the benchmark measures (``getrusage(RUSAGE_CHILDREN)`` counts
only children that were waited for), and it is left out of the running ones.

Run as a script (``python memsampler.py PID``) it is the sampler: it reads ``start`` / ``stop`` lines on its
standard input and answers ``stop`` with the peak in bytes seen since ``start``, until its input closes.
"""

from __future__ import annotations

import atexit
import os
import resource
import select
import subprocess
import sys
import time
from pathlib import Path

import psutil

#: The sampler waits at least this many times as long as its last reading took, so it takes at most about 1/31 of
#: one core. Reading the ``smaps_rollup`` of a large process tree is mostly the kernel's time: at 1,000,000
#: responses the CPU time outside the stages' figures (the sampler's, and the benchmark's own start) was 54 s of a
#: 607 s run with a factor of 10 (up to 9% of one core, on a core the measured run wanted), 22 s with 30.
WAIT_FACTOR = 30
#: The sampler process (:func:`_sampler`), started on first use.
_SAMPLER: subprocess.Popen | None = None


def tree_memory(proc: psutil.Process, skip: frozenset[int] = frozenset()) -> int:
    """Bytes: the resident memory of ``proc`` plus the memory unique to each live descendant not in ``skip``.

    A forked child shares its parent's pages until it writes them, so its RSS would count them twice: a
    descendant adds its USS (pages only it holds).
    """
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        if child.pid in skip:
            continue
        try:
            total += child.memory_full_info().uss
        except psutil.Error:  # the child ended meanwhile
            pass
    return total


def _sampler() -> subprocess.Popen:
    """The sampler process of this process (started on first use, ended when this process exits)."""
    global _SAMPLER
    if _SAMPLER is None or _SAMPLER.poll() is not None:
        _SAMPLER = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), str(os.getpid())],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        atexit.register(_stop_sampler, _SAMPLER)
    return _SAMPLER


def _stop_sampler(proc: subprocess.Popen) -> None:
    """End the sampler (at exit: only then is it waited for, so its CPU never enters a measurement)."""
    try:
        proc.stdin.close()
        proc.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        proc.kill()
        proc.wait()


def sampler_pid() -> int | None:
    """The sampler's process id (``None``: not started)."""
    return _SAMPLER.pid if _SAMPLER is not None else None


class PeakRSS:
    """Context manager: the peak memory of this process tree while the block ran (``peak_mb`` after exit).

    The memory is this process's RSS plus the USS of each live descendant (:func:`tree_memory`), sampled every
    ``every`` seconds by the sampler process, which waits at least :data:`WAIT_FACTOR` times as long as its last
    reading took (reading a child's ``/proc/<pid>/smaps`` costs CPU, on a core the measured run may want). Its CPU
    is not in :func:`cpu_seconds`. Blocks may follow each other, not nest.
    """

    def __init__(self, every: float = 0.02):
        self.every, self.peak = every, 0

    def _ask(self, line: str) -> str:
        proc = _sampler()
        proc.stdin.write(line.encode() + b"\n")
        reply = proc.stdout.readline()
        if not reply:
            raise RuntimeError("the memory sampler stopped")
        return reply.decode().strip()

    def __enter__(self) -> PeakRSS:
        self._ask(f"start {self.every}")  # answered after its first reading
        return self

    def __exit__(self, *exc) -> None:
        self.peak = int(self._ask("stop"))

    @property
    def peak_mb(self) -> float:
        return self.peak / 2**20


def _proc_cpu(p: psutil.Process, skip: frozenset[int], system_only: bool = False) -> float:
    """CPU seconds of ``p``, of its descendants it waited for, and of its live (or unreaped) descendants
    (``system_only``: the system time alone).

    A child that ``p`` waits for between the reading of ``p``'s times and of the child's would be counted in
    neither: its times are then read again, until a reading of ``p``'s waited-for children's times is the same
    before and after its live children's.
    """
    try:
        t = p.cpu_times()
        for _ in range(5):
            live = sum(_proc_cpu(c, skip, system_only) for c in p.children() if c.pid not in skip)
            again = p.cpu_times()
            waited, t = (t.children_user, t.children_system), again
            if (again.children_user, again.children_system) == waited:
                break
    except psutil.Error:  # ended (and waited for: counted by its parent) meanwhile
        return 0.0
    if system_only:
        return t.system + t.children_system + live
    return t.user + t.system + t.children_user + t.children_system + live


def cpu_seconds(system_only: bool = False) -> float:
    """User + system CPU seconds of this process (all threads) and of its descendants, ended or running
    (``system_only``: the system, i.e. kernel, seconds alone: page faults, zeroing new memory, reads).

    Ended children waited for by this process come from ``getrusage(RUSAGE_CHILDREN)``; running ones (the
    run's zygote, whose workers it waits for itself) from ``/proc``, with what they waited for. The memory
    sampler is left out (never waited for before this process exits).
    """
    own = sum(r.ru_stime if system_only else r.ru_utime + r.ru_stime
              for r in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)))
    skip = frozenset({sampler_pid()} - {None})
    return own + sum(_proc_cpu(c, skip, system_only) for c in psutil.Process().children() if c.pid not in skip)


def _serve(pid: int) -> None:  # pragma: no cover - the sampler process (tests/test_memsampler.py drives it)
    """The sampler's loop: ``start <every>`` (reply ``ok`` after a first reading) samples until ``stop`` (reply:
    the peak in bytes); ends when its input closes or process ``pid`` ended."""
    target, me = psutil.Process(pid), frozenset({os.getpid()})
    fd, buf = sys.stdin.fileno(), b""
    sampling, peak, every, wait = False, 0, 0.02, None

    def reading() -> int:
        nonlocal wait
        c = time.process_time()
        try:
            value = tree_memory(target, me)
        except psutil.Error:  # the measured process ended
            sys.exit(0)
        wait = max(every, WAIT_FACTOR * (time.process_time() - c))
        return value

    while True:
        ready, _, _ = select.select([fd], [], [], wait if sampling else None)
        if not ready:
            peak = max(peak, reading())
            continue
        data = os.read(fd, 4096)
        if not data:
            return
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            cmd, *arg = line.decode().split()
            if cmd == "start":
                every = float(arg[0]) if arg else every
                sampling, peak = True, reading()
                reply = "ok"
            else:  # stop
                peak = max(peak, reading())
                sampling, reply = False, str(peak)
            os.write(1, reply.encode() + b"\n")


if __name__ == "__main__":  # pragma: no cover - the sampler process
    _serve(int(sys.argv[1]))
