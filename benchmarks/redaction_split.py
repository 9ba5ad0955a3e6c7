"""Where the redaction stage's wall time goes: this process's detection, the worker's, and the waits.

Runs the redaction stage of a consultation in this process (``ANALYSIS_STAGE_PROCESS=never`` is set) with
timers wrapped around :class:`analysis.redaction.parallel.Detector` and :class:`analysis.worker.Worker`, and the
worker's CPU read from ``/proc`` at the start and end of each :meth:`Detector.many` call. Prints, summed over the
calls: the wall of ``many()`` and of the stage before, between and after them, of ``meanwhile()`` (the previous block's finish and the next block's rows), of
this process's own chunks, of its wait for the feeding thread at the end; the worker's CPU and its idle time (wall
of ``many()`` minus its CPU and its wait for a CPU taken by other processes, from ``/proc/<pid>/schedstat``:
reading, writing and waiting on the pipes); the feeding thread's time in ``send`` and
in ``receive``; and the stage's time outside ``many()``.

Usage (data folders chosen by ``ANALYSIS_DATA_RAW`` / ``ANALYSIS_DATA_PROCESSED``; Linux only; ``SPLIT_VERBOSE=1``
prints each ``many()`` call)::

    python benchmarks/redaction_split.py bench200000c90
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import defaultdict
from typing import Any

TOTALS: dict[str, float] = defaultdict(float)
_TICK = os.sysconf("SC_CLK_TCK")
LAST, START = [0.0], [0.0]


def _proc_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) of process ``pid`` so far (0 when it cannot be read)."""
    if not pid:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _run_delay(pid: int | None) -> float:
    """Seconds process ``pid``'s main thread was ready to run but waited for a CPU (other processes: the machine's
    load, not the redaction's) so far (0 when it cannot be read)."""
    if not pid:
        return 0.0
    try:
        with open(f"/proc/{pid}/schedstat", encoding="ascii") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def _switches(pid: int | None) -> int:
    """Voluntary context switches of process ``pid``'s main thread so far (each a wait: on a pipe, for a lock)."""
    if not pid:
        return 0
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("voluntary_ctxt_switches"))
    except (OSError, StopIteration, ValueError):
        return 0


def _timed(key: str, fn: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TOTALS[key] += time.perf_counter() - t
    return wrapper


def _instrument() -> None:
    from analysis import worker as worker_mod
    from analysis.redaction import parallel

    det = parallel.Detector
    many, here, send, read = det.many, det._here, worker_mod.Worker.send, worker_mod.Worker._read
    join = threading.Thread.join

    def timed_many(self: Any, texts: list, meanwhile: Any = None) -> Any:
        proc = self._worker._proc
        pid = getattr(proc, "pid", None) if proc is not None else None
        cpu0, delay0, t = _proc_cpu(pid), _run_delay(pid), time.perf_counter()
        waits0 = _switches(pid)
        if LAST[0]:
            TOTALS["between many() calls"] += t - LAST[0]
        else:
            TOTALS["before the first many()"] += t - START[0]
        if meanwhile is not None:
            meanwhile = _timed("meanwhile", meanwhile)
        thread_join = threading.Thread.join
        threading.Thread.join = _timed("join (wait for the worker's last chunk)", join)  # type: ignore[method-assign]
        try:
            return many(self, texts, meanwhile)
        finally:
            threading.Thread.join = thread_join  # type: ignore[method-assign]
            LAST[0] = time.perf_counter()
            wall = LAST[0] - t
            proc = self._worker._proc
            pid = pid or (getattr(proc, "pid", None) if proc is not None else None)
            TOTALS["many() wall"] += wall
            TOTALS["many() calls"] += 1
            if pid:
                cpu, delay = _proc_cpu(pid) - cpu0, _run_delay(pid) - delay0  # (0 at the start: not started yet)
                TOTALS["worker cpu in many()"] += cpu
                TOTALS["worker waits (voluntary switches) in many()"] += _switches(pid) - waits0
                TOTALS["worker waiting for a cpu in many()"] += delay
                TOTALS["worker idle in many() (wall - cpu - waiting for a cpu)"] += wall - cpu - delay
                if os.environ.get("SPLIT_VERBOSE"):
                    print(f"many: {len(texts)} texts wall {wall:.2f} worker cpu {cpu:.2f} delay {delay:.2f} "
                          f"idle {wall - cpu - delay:.2f} in_worker {self.in_worker}", flush=True)

    det.many = timed_many  # type: ignore[method-assign]
    det._here = _timed("own chunks (this process)", here)  # type: ignore[method-assign]
    worker_mod.Worker.send = _timed("feeder send", send)  # type: ignore[method-assign]
    worker_mod.Worker._read = _timed("feeder receive", read)  # type: ignore[method-assign]


def main(consultation: str) -> None:
    """Run the redaction stage of ``consultation`` in this process and print where its wall time went."""
    os.environ["ANALYSIS_STAGE_PROCESS"] = "never"
    _instrument()
    from analysis import pipeline

    t, cpu = time.perf_counter(), time.process_time()
    START[0] = t
    pipeline.run(consultation, stages=["redaction"], force=True)
    wall = time.perf_counter() - t
    print(f"stage wall {wall:.1f} s, this process cpu {time.process_time() - cpu:.1f} s, "
          f"waiting for a cpu {_run_delay(os.getpid()):.1f} s (main thread, whole process life)")
    for key in sorted(TOTALS):
        print(f"  {key:45s} {TOTALS[key]:8.2f}")
    print(f"  {'outside many() (rest of the stage)':45s} {wall - TOTALS['many() wall']:8.2f}")
    print(f"  {'after the last many()':45s} {time.perf_counter() - LAST[0]:8.2f}")
    import resource

    use = resource.getrusage(resource.RUSAGE_SELF)
    print(f"  {'this process: voluntary / forced switches':45s} {use.ru_nvcsw} / {use.ru_nivcsw}")


if __name__ == "__main__":
    main(sys.argv[1])
