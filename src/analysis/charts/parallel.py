"""A report's charts drawn by a second interpreter and this process together (:class:`SplitDraw`).

The charts used to be drawn by two processes forked from the report's, which holds every table of the
consultation (at 200,000 responses with 90% campaign copies the report stage peaked at 8.6 GB). Now one
:class:`analysis.worker.Worker` (a fresh interpreter that imports only the chart modules) draws the queued
charts from the first one up, while this process selects the quotes and writes the tables; once done with
that, this process draws from the last chart down until the two meet. The pipeline starts that worker while
the counts stage runs (:func:`start_early`, :attr:`analysis.pipeline.Stage.starts_with`), so its imports are
paid on the second core before the report needs it.

The worker is sent the queued charts once (each data frame pickled once, however many charts draw it) and
then one chart index at a time; it refuses them when its matplotlib settings are not this process's
(:func:`rc_settings`), and a chart it could not draw is drawn here, so the files never depend on where a
chart was drawn: it is the same function of the same arguments, saved by the same
:func:`~analysis.charts.draw.save_figure`.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from analysis.worker import Worker, WorkerError

log = logging.getLogger(__name__)

#: Chart indices sent to the worker ahead of the one it draws (it never waits for this process in between).
DEPTH = 2
#: Modules the worker imports when started (the chart functions and what unpickling their frames needs).
PRELOAD = ("analysis.charts.figures", "analysis.charts.parallel")
#: Questions below which no worker is started ahead: the Pol.is example's one question draws one chart, and the
#: worker's imports cost about 1.5-2 CPU s (measured under load), more than it would take off this process.
#: Two questions draw 6 or more charts (the report tests' consultation), the bundled sample's 10 draw 28.
MIN_QUESTIONS = 2
#: Charts below which :meth:`analysis.charts.draw.ChartBatch.start` starts no worker of its own (none was
#: started ahead): they are drawn here (a chart costs about 0.3 CPU s).
MIN_CHARTS = 6
#: Workers started ahead by the pipeline (:func:`start_early`), by processed folder.
_PENDING: dict[Path, Worker] = {}
#: In the worker: ``(figure function, path stem, alt text)`` of the charts sent by :func:`load`.
_JOBS: list[tuple[Callable[[], Any], str, str]] = []
#: rcParams that choose how figures are shown, not what is drawn (another test or a notebook may set them).
_NOT_DRAWING = frozenset({"backend", "backend_fallback", "interactive"})


def rc_settings() -> dict[str, str]:
    """This interpreter's matplotlib settings (every rcParam but those of :data:`_NOT_DRAWING`)."""
    import matplotlib as mpl  # here: the pipeline imports this module (start_early) before the report runs

    get = getattr(mpl.rcParams, "_get", None) or (lambda k: dict.__getitem__(mpl.rcParams, k))
    return {k: repr(get(k)) for k in sorted(mpl.rcParams.keys()) if k not in _NOT_DRAWING}


def load(jobs: list[tuple[Callable[[], Any], str, str]], rc: dict[str, str]) -> int:
    """(In the worker.) Keep the charts to draw; refuse them when the caller's matplotlib settings differ.

    Raises:
        RuntimeError: The settings differ (the caller then draws every chart itself).
    """
    global _JOBS
    mine = rc_settings()
    if mine != rc:
        diff = sorted(k for k in mine.keys() | rc.keys() if mine.get(k) != rc.get(k))
        raise RuntimeError(f"matplotlib settings differ from the caller's: {diff[:5]}")
    _JOBS = list(jobs)
    return len(_JOBS)


def draw_one(index: int) -> None:
    """(In the worker.) Draw and save chart ``index`` of those sent by :func:`load`."""
    from analysis.charts.draw import save_figure

    fig_fn, stem, alt = _JOBS[index]
    save_figure(fig_fn(), stem, alt)


class SplitDraw:
    """Charts drawn by ``worker`` from the first up (from :meth:`start`) and here from the last down (:meth:`finish`).

    Args:
        jobs: ``(figure function, path stem, alt text, ...)`` per chart.
        worker: The second interpreter (started or not; it is closed when the charts are drawn).
    """

    def __init__(self, jobs: list[tuple], worker: Worker) -> None:
        self.jobs = jobs
        self.worker: Worker | None = worker
        self.error: WorkerError | None = None
        self._lock = threading.Lock()
        self._low, self._high = 0, len(jobs)  # the worker takes _low upwards, this process _high - 1 downwards
        self._sent: list[int] = []  # charts given to the worker
        self._done: set[int] = set()  # charts the worker drew
        self._thread: threading.Thread | None = None
        self._stopping = False  # ended by this process (nothing left for it)
        self._sending = False  # the thread started sending to the worker

    def start(self) -> None:
        """Start sending the charts to the worker and feeding it indices, in a thread: writing to the worker
        waits while it is still importing, which this process does not."""
        self._thread = threading.Thread(target=self._feed, name="analysis-charts", daemon=True)
        self._thread.start()

    def _claim_low(self) -> int | None:
        with self._lock:
            if self.error is not None or self._stopping or self._low >= self._high:
                return None
            self._low += 1
            self._sent.append(self._low - 1)
            return self._low - 1

    def _claim_high(self) -> int | None:
        with self._lock:
            if self._high <= self._low:
                return None
            self._high -= 1
            return self._high

    def _feed(self) -> None:
        worker = self.worker
        pending: collections.deque[int] = collections.deque()
        with self._lock:
            if self._stopping:  # this process drew everything before this thread ran
                return
            self._sending = True
        try:
            worker.send(load, [(job[0], str(job[1]), job[2]) for job in self.jobs], rc_settings())
            worker.receive()  # the load: refused, or the worker did not start
            while True:
                while len(pending) < DEPTH and (i := self._claim_low()) is not None:
                    worker.send(draw_one, i)
                    pending.append(i)
                if not pending:
                    return
                worker.receive()
                self._done.add(pending.popleft())
        except WorkerError as err:
            self._failed(err)

    def _failed(self, err: WorkerError) -> None:
        """The worker cannot draw (more): this process draws what it was given and has not drawn."""
        if not self._stopping:
            log.info("charts: the second process failed (%s); drawing its charts here", err)
        with self._lock:
            self.error = err  # nothing more for the worker: _claim_low stops

    def finish(self, draw_here: Callable[[int], None]) -> None:
        """Draw the charts the worker did not take, wait for it, then draw any it failed on (``draw_here(i)``)."""
        while (i := self._claim_high()) is not None:
            draw_here(i)
        with self._lock:
            if not self._sent:  # all drawn here: the worker is given nothing more
                self._stopping = True
            unused = self._stopping and not self._sending
        if unused:  # and the thread sends it nothing (a send after an end would start a new process)
            self.close()
        if self._thread is not None:
            self._thread.join()
        for i in self._sent:
            if i not in self._done:
                draw_here(i)
        log.info("charts: %d drawn by the second process, %d here", len(self._done), len(self.jobs) - len(self._done))
        self.close(kill=self.error is not None)

    def close(self, *, kill: bool = True) -> None:
        """End the worker (``kill``: at once, dropping what it draws)."""
        worker, self.worker = self.worker, None
        if worker is None:
            return
        if kill:
            worker.kill()
            if self._thread is not None:
                self._thread.join()
        else:
            worker.close()


@contextlib.contextmanager
def start_early(cfg: Any, *, raw_dir: Path, processed_dir: Path) -> Iterator[None]:
    """Start the report's chart worker (its imports) for the length of the block: the pipeline enters it just
    before the counts stage runs; a worker not taken by :func:`take` when the block ends is ended. Nothing is
    started for a consultation of fewer than :data:`MIN_QUESTIONS` questions."""
    processed_dir = Path(processed_dir)
    worker = Worker()
    if len(cfg.questions) >= MIN_QUESTIONS and worker.start(*PRELOAD):
        _PENDING[processed_dir] = worker
    try:
        yield
    finally:
        if _PENDING.get(processed_dir) is worker:
            del _PENDING[processed_dir]
        worker.kill()  # taken: ended by its SplitDraw first (kill of an ended worker does nothing)


def worker_modules(cfg: Any, *, raw_dir: Path, processed_dir: Path) -> tuple[str, ...]:
    """The modules the run's zygote (:mod:`analysis.zygote`) should import ahead for :func:`start_early`'s worker
    (:data:`PRELOAD`; none when it starts no worker: fewer than :data:`MIN_QUESTIONS` questions)."""
    return PRELOAD if len(cfg.questions) >= MIN_QUESTIONS else ()


def take(processed_dir: Path) -> Worker | None:
    """The worker started ahead for ``processed_dir`` (``None``: none; the caller starts one)."""
    return _PENDING.pop(Path(processed_dir), None)
