"""One count family computed in a second process while this one computes the others.

At a million responses the counts stage ran on one core for over a minute. Its families are independent: the
base family (responses, campaigns, closed options, breakdowns) reads no themes and no positions, so a worker
(:class:`analysis.worker.Worker`, forked by the run's zygote when there is one) reads its tables and computes it
while this process counts the themes and positions. The worker runs the same functions on the same tables, so
the frames are the same wherever they were computed; when it fails, they are computed here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analysis.tables import table_rows as stored_rows
from analysis.worker import Worker, WorkerError

log = logging.getLogger(__name__)

#: Processes the stage may use (a second only with two CPUs).
WORKERS = min(2, os.cpu_count() or 1)
#: ``core_answers_clean`` rows from which a family is worth a second process (starting one and reading the
#: tables again there cost about a second; the bundled sample's whole counts stage takes about that).
MIN_ROWS = 100_000


def table_rows(name: str, processed_dir: Path) -> int:
    """Rows of a processed table from its Parquet footer (0 when it is missing or unreadable)."""
    try:
        return stored_rows(name, processed_dir)
    except (OSError, ValueError):  # FileNotFoundError included
        return 0


class Beside:
    """``fn(*args)`` started in a worker now, its result read later (a context manager: the worker ends on exit).

    Args:
        fn: A module-level function (it travels by reference).
        *args: Its (picklable) arguments.
    """

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self._worker: Worker | None = Worker()
        try:
            self._worker.send(fn, *args)
        except WorkerError as err:
            log.warning("counts: no second process (%s); computed here", err)
            self.close()

    def __enter__(self) -> Beside:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def result(self) -> tuple[bool, Any]:
        """``(True, value)`` once the worker returned it, ``(False, None)`` when it failed (compute it here)."""
        if self._worker is None:
            return False, None
        try:
            return True, self._worker.receive()
        except WorkerError as err:
            log.warning("counts: the second process failed (%s); computed here", err)
            return False, None
        finally:
            self.close(done=True)

    def close(self, done: bool = False) -> None:
        """End the worker: at once, dropping a result not read, or (``done``) after its last reply."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.close() if done else worker.kill()
