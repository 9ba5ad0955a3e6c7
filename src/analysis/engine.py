"""Where a run's independent work is computed: this machine's processes (``local``, the default) or a Dask cluster.

``settings.engine: dask`` in ``consultation.yml`` (or ``analysis run --engine dask``) hands the work that splits
into independent pieces to Dask (``dask.distributed``): with ``--scheduler tcp://host:8786`` to an existing
cluster, without it to a :class:`~distributed.LocalCluster` this module starts in a process of its own (so the
pipeline's process holds no Dask threads when it forks a stage's child). What runs on the cluster so far:

- redaction: the distinct texts' detection, :data:`DETECT_CHUNK` texts a task (:mod:`analysis.redaction.parallel`);
- campaigns: each detection run (each open question's, the whole submissions'), a task each
  (:mod:`analysis.campaigns.parallel`);
- themes: each question's assignment (or discovery), one task a question (:mod:`analysis.themes.stage`);
- positions: each question's stance model with the default features (:mod:`analysis.positions.parallel`).

Each task is a pure function of what it is sent, computed with one BLAS thread as in the local engine, and its
results are put back in the order of its inputs, so a run gives byte-identical outputs on either engine (tested
on the sample and a 20,000-response consultation). The rest of the run is computed where the pipeline runs.

A stage asks :func:`active` for the run's engine (``None``: local) and calls :meth:`DaskEngine.map`; the client it
uses is opened on first use in the stage's process and closed when the stage ends (:func:`release`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from analysis.errors import AnalysisError

log = logging.getLogger(__name__)

#: The engines a run can use.
ENGINES = ("local", "dask")
#: Workers of the LocalCluster started when no scheduler is given (one thread each: the tasks are pure Python
#: or single-threaded BLAS).
LOCAL_WORKERS = 2
#: Large items (``DaskEngine.map(..., large=True)``) a worker holds at once, sent and not yet done: the one its task
#: computes and the next. The rest wait in the sending process (which holds them anyway).
LARGE_PER_WORKER = 2
#: Distinct texts a redaction task detects.
DETECT_CHUNK = 2048
#: Seconds to wait for a started LocalCluster to report its address, or for a scheduler to answer.
START_TIMEOUT = 120
#: Environment set in a LocalCluster's workers: one thread per numerical library, as in the local engine.
WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "MPLBACKEND": "Agg"}

#: Environment variable naming a file each task's timing is appended to, one JSON line a task (its label and item
#: index, the sending and the worker's process, wall and CPU seconds on the worker, the item's cost when given): the
#: benchmarks' per-task throughput. Unset (the default): tasks are not timed.
TASK_LOG_ENV = "ANALYSIS_DASK_TASK_LOG"

_ACTIVE: DaskEngine | None = None
_CLIENT: tuple[int, Any] | None = None  # (pid, distributed.Client) of the process that opened it
_CLIENT_LOCK = threading.Lock()


class EngineError(AnalysisError):
    """The Dask engine could not start, reach its scheduler, or finish a task."""


def active() -> DaskEngine | None:
    """The run's Dask engine, or ``None`` when the run computes locally."""
    return _ACTIVE


def resolve(setting: str, engine: str | None, scheduler: str | None) -> tuple[str, str | None]:
    """The engine a run uses: ``engine`` (the command line's) over ``setting`` (``settings.engine``); a scheduler
    address alone means ``dask``."""
    name = engine or ("dask" if scheduler else setting)
    if name not in ENGINES:
        raise EngineError(f"engine {name!r}: expected one of {', '.join(ENGINES)}")
    if scheduler and name != "dask":
        raise EngineError(f"a scheduler ({scheduler}) is only used by the dask engine, not {name!r}")
    return name, scheduler


@contextlib.contextmanager
def activated(name: str, scheduler: str | None = None, *, workers: int = LOCAL_WORKERS) -> Iterator[DaskEngine | None]:
    """Inside the block, :func:`active` is the run's engine (``None`` for ``local``)."""
    global _ACTIVE
    if name == "local":
        yield None
        return
    with DaskEngine(scheduler, workers=workers) as eng:
        previous, _ACTIVE = _ACTIVE, eng
        try:
            yield eng
        finally:
            release()
            _ACTIVE = previous


class DaskEngine:
    """A Dask cluster the run's independent work is sent to (a context manager).

    Args:
        scheduler: An existing scheduler's address (``tcp://host:8786``); ``None`` starts a LocalCluster of
            ``workers`` processes, ended on exit.
        workers: The LocalCluster's workers (one thread each).
        timeout: Seconds to wait for the scheduler to answer.

    Attributes:
        address_: The scheduler's address, once entered.
        dashboard_: The LocalCluster's dashboard link (``None``: none, e.g. without bokeh installed).
        tasks_: Tasks this process sent, by label (for the log and the tests).
    """

    def __init__(self, scheduler: str | None = None, *, workers: int = LOCAL_WORKERS, timeout: float = START_TIMEOUT):
        self.scheduler = scheduler
        self.workers = workers
        self.timeout = timeout
        self.address_: str | None = None
        self.dashboard_: str | None = None
        self.tasks_: dict[str, int] = {}
        self._proc: subprocess.Popen | None = None
        self._slots_: tuple[int, _Slots] | None = None  # (pid, large items held by each worker) of this process

    def __enter__(self) -> DaskEngine:
        try:
            import distributed  # noqa: F401, PLC0415 - only the dask engine needs it
        except ImportError as err:
            raise EngineError("the dask engine needs dask.distributed: pip install 'dask[distributed]'") from err
        if self.scheduler:
            self.address_ = self.scheduler
        else:
            self._start_local()
        log.info("dask engine: scheduler %s%s", self.address_,
                 f", dashboard {self.dashboard_}" if self.dashboard_ else "")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()  # the cluster's process ends when its input closes
            try:
                self._proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def _start_local(self) -> None:
        """Start a LocalCluster in a process of its own (``python -m analysis.engine``) and read its address."""
        cmd = [sys.executable, "-m", "analysis.engine", "--workers", str(self.workers)]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                      env={**os.environ, **WORKER_ENV})
        line = self._proc.stdout.readline().strip()
        if not line.startswith("tcp://"):
            self.__exit__()
            raise EngineError(f"the LocalCluster did not start (it printed {line!r}; see its messages above)")
        self.address_, _, dashboard = line.partition(" ")
        self.dashboard_ = dashboard or None

    def client(self) -> Any:
        """This process's client of the cluster (opened on first use; :func:`release` closes it)."""
        with _CLIENT_LOCK:  # threads of this process share one client (futures of another cannot be gathered)
            return self._client()

    def _client(self) -> Any:
        global _CLIENT
        if _CLIENT is not None and _CLIENT[0] == os.getpid():
            return _CLIENT[1]
        from distributed import Client  # noqa: PLC0415

        try:
            # direct_to_workers: inputs scattered and results gathered straight between this process and the
            # workers, not through the scheduler (which otherwise held 1.9-3.9 GB of a 1M run's campaign keys)
            client = Client(self.address_, timeout=self.timeout, set_as_default=False, direct_to_workers=True)
        except OSError as err:
            raise EngineError(f"cannot reach the Dask scheduler at {self.address_}: {err}") from err
        _CLIENT = (os.getpid(), client)
        _trim(client)
        return client

    def map(self, fn: Callable[..., Any], items: Sequence[Any], *, label: str, cost: Sequence[float] | None = None,
            shared: dict[str, Any] | None = None, large: bool = False) -> list[Any]:
        """``[fn(x, **shared) for x in items]`` computed on the cluster, in ``items`` order.

        Args:
            fn: A module-level function (the workers import it by name).
            items: One task each.
            label: The tasks' name on the cluster (its dashboard and task counts).
            cost: Each item's expected work: the costliest are submitted first.
            shared: Keyword arguments every task reads, sent to the cluster once.
            large: The items are large (megabytes each): each is sent straight to a worker, not inside the task
                through the scheduler, and only while that worker holds fewer than :data:`LARGE_PER_WORKER` of
                them (the rest are sent as tasks end, by a thread of this process).

        Raises:
            EngineError: A task failed on the cluster (its error is chained).
        """
        return self.submit(fn, items, label=label, cost=cost, shared=shared, large=large).result()

    def share(self, values: dict[str, Any]) -> dict[str, Scattered]:
        """``values`` sent to the cluster once, for several :meth:`submit` calls' ``shared`` (each value stays on
        the cluster while the returned dict is held)."""
        client = self.client()
        try:
            return {name: Scattered(client.scatter([value], hash=False)[0]) for name, value in values.items()}
        except Exception as err:  # noqa: BLE001 - e.g. a value that cannot be pickled, a lost connection
            raise EngineError(f"values could not be sent to the Dask cluster at {self.address_}: "
                              f"{type(err).__name__}: {err}") from err

    def submit(self, fn: Callable[..., Any], items: Sequence[Any], *, label: str,
               cost: Sequence[float] | None = None, shared: dict[str, Any] | None = None,
               large: bool = False) -> Submitted:
        """:meth:`map`'s tasks sent to the cluster; :meth:`Submitted.result` waits for them (this process does other
        work meanwhile)."""
        if not items:
            return Submitted(self, label, [], [])
        client = self.client()
        order = list(range(len(items))) if cost is None else sorted(range(len(items)), key=lambda i: (-cost[i], i))
        stamp = f"{os.getpid()}-{time.monotonic_ns()}"
        call = _timed_call if os.environ.get(TASK_LOG_ENV) else _call
        costs = None if cost is None else [float(cost[i]) for i in order]
        sent = Submitted(self, label, order, [], log_to=os.environ.get(TASK_LOG_ENV) or None, costs=costs)
        try:
            # each shared value sent once, not once a task; in a list, so that a set or dict travels whole (scatter
            # would send a collection's elements one by one)
            kwargs = {name: value.future if isinstance(value, Scattered) else client.scatter([value], hash=False)[0]
                      for name, value in (shared or {}).items()}
            if not large:
                sent.futures = [client.submit(call, fn, items[i], key=f"{label}-{stamp}-{i}", pure=False,
                                              priority=len(order) - rank, **kwargs)  # the costliest first
                                for rank, i in enumerate(order)]
                return sent
        except Exception as err:  # noqa: BLE001 - e.g. an item that cannot be pickled, a lost connection
            raise EngineError(f"{label} tasks could not be sent to the Dask cluster at {self.address_}: "
                              f"{type(err).__name__}: {err}") from err
        # large items are sent by a thread of this process, each to a worker with fewer than LARGE_PER_WORKER of
        # them sent and not yet done: a worker holds the inputs of the task it runs and of the next one, however
        # many items there are (at 5M, all the campaign detection's chunks sent at once held 7.6 GB of a worker)
        pending = [items[i] for i in order]  # let go of as sent (a caller that kept no list frees them then)
        sent.feeder = threading.Thread(target=self._feed, args=(sent, client, call, fn, pending, stamp, kwargs),
                                       name=f"dask-feed-{label}", daemon=True)
        sent.feeder.start()
        return sent

    def _slots(self, client: Any) -> _Slots:
        """This process's count of the large items each worker holds (shared by its threads' submissions)."""
        with _CLIENT_LOCK:
            if self._slots_ is None or self._slots_[0] != os.getpid():
                self._slots_ = (os.getpid(), _Slots(sorted(client.scheduler_info()["workers"])))
            return self._slots_[1]

    def _feed(self, sent: Submitted, client: Any, call: Callable[..., Any], fn: Callable[..., Any],
              pending: list[Any], stamp: str, kwargs: dict[str, Any]) -> None:
        """Send :meth:`submit`'s large items (``pending``, in the order sent) one at a time as workers have room (a
        thread: see :meth:`submit`)."""
        slots = self._slots(client)
        try:
            for rank, i in enumerate(sent.order):
                worker = slots.take()
                item, pending[rank] = pending[rank], None
                try:
                    # one item's pickled copy held at once in this process, not every item's
                    arg = client.scatter([item], workers=None if worker == _ANY else [worker], hash=False)[0]
                    future = client.submit(call, fn, arg, key=f"{sent.label}-{stamp}-{i}", pure=False,
                                           priority=len(sent.order) - rank, **kwargs)
                except BaseException:
                    slots.give(worker)
                    raise
                del arg, item  # the input is released on the worker once its task has ended
                future.add_done_callback(functools.partial(_given, slots, worker))
                sent.futures.append(future)
        except Exception as err:  # noqa: BLE001 - reported by Submitted.result
            sent.error = err
        finally:
            trim_memory()  # the heap pages the pickled copies used go back to the system


_ANY = ""


@dataclass(frozen=True)
class Scattered:
    """A value already on the cluster (:meth:`DaskEngine.share`): passed in ``shared``, it is not sent again."""

    future: Any


class _Slots:
    """How many large items each worker holds, sent and not yet done (:meth:`DaskEngine.submit`)."""

    def __init__(self, workers: list[str]):
        self.held = dict.fromkeys(workers or [_ANY], 0)  # no worker known yet: the scheduler places them
        self.cond = threading.Condition()

    def take(self) -> str:
        """The worker holding fewest (the first in address order on a tie), once it holds fewer than
        :data:`LARGE_PER_WORKER`; counted as holding one more."""
        with self.cond:
            while True:
                worker = min(self.held, key=lambda w: self.held[w])
                if self.held[worker] < LARGE_PER_WORKER:
                    self.held[worker] += 1
                    return worker
                self.cond.wait()

    def give(self, worker: str) -> None:
        """``worker``'s item is done."""
        with self.cond:
            self.held[worker] -= 1
            self.cond.notify_all()


def _given(slots: _Slots, worker: str, _future: Any) -> None:
    slots.give(worker)


class Submitted:
    """Tasks sent to the cluster by :meth:`DaskEngine.submit`."""

    def __init__(self, engine: DaskEngine, label: str, order: list[int], futures: list, *,
                 log_to: str | None = None, costs: list[float] | None = None):
        self.engine, self.label, self.order, self.futures = engine, label, order, futures
        self.log_to, self.costs = log_to, costs
        self.feeder: threading.Thread | None = None  # sends large items as workers have room
        self.error: Exception | None = None  # why the feeder stopped sending

    def result(self) -> list[Any]:
        """The tasks' results in their items' order.

        Raises:
            EngineError: A task failed on the cluster (its error is chained).
        """
        if self.feeder is not None:
            self.feeder.join()
            self.feeder = None
        if self.error is not None:
            err, self.error = self.error, None
            with contextlib.suppress(Exception):
                self.engine.client().cancel(self.futures)
            self.futures = []
            raise EngineError(f"{self.label} tasks could not be sent to the Dask cluster at {self.engine.address_}: "
                              f"{type(err).__name__}: {err}") from err
        if not self.futures:
            return []
        _progress(self.futures, self.engine.client())
        try:
            done = dict(zip(self.order, self.engine.client().gather(self.futures), strict=True))
        except Exception as err:
            raise EngineError(f"a {self.label} task failed on the Dask cluster at {self.engine.address_}: "
                              f"{type(err).__name__}: {err}") from err
        finally:
            self.futures = []
        if self.log_to:
            done = {i: _log_timed(self.log_to, self.label, i, rank, out, self.costs)
                    for rank, (i, out) in enumerate((i, done[i]) for i in self.order)}
        tasks = self.engine.tasks_
        tasks[self.label] = tasks.get(self.label, 0) + len(self.order)
        log.info("dask engine: %d %s tasks computed on the cluster", len(self.order), self.label)
        return [done[i] for i in range(len(self.order))]


def trim_memory() -> int:
    """Return the memory this process's C heap holds free to the system (glibc's ``malloc_trim``; 0 elsewhere)."""
    import ctypes  # noqa: PLC0415

    try:
        return int(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):  # not glibc
        return 0


def _trim(client: Any) -> None:
    """:func:`trim_memory` on every worker and on the scheduler, when a stage opens its client: the tasks of the
    stages before have ended and their data has been released, but a worker's process kept the memory they had
    used (a 1M run's campaign detection left 4.6 GB in one worker). A scheduler or worker without this package
    is left as it is (logged)."""
    for where, call in (("workers", client.run), ("scheduler", client.run_on_scheduler)):
        try:
            call(trim_memory)
        except Exception as err:  # noqa: BLE001 - trimming is only an economy
            log.info("dask engine: memory not trimmed on the %s (%s: %s)", where, type(err).__name__, err)


def _call(fn: Callable[..., Any], item: Any, **shared: Any) -> Any:
    """One task, on a worker: ``fn(item, **shared)`` with one BLAS thread (as every local process computes)."""
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    with threadpool_limits(limits=1, user_api="blas"):
        return fn(item, **shared)


def _timed_call(fn: Callable[..., Any], item: Any, **shared: Any) -> tuple[Any, dict[str, Any]]:
    """:func:`_call` with the task's wall and CPU seconds and worker process (the task log is set)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = _call(fn, item, **shared)
    return out, {"worker_pid": os.getpid(), "wall_s": round(time.perf_counter() - wall, 4),
                 "cpu_s": round(time.process_time() - cpu, 4)}


def _log_timed(path: str, label: str, index: int, rank: int, out: tuple[Any, dict[str, Any]],
               costs: list[float] | None) -> Any:
    """Append a timed task's line to the task log; return the task's own result."""
    import json  # noqa: PLC0415

    result, timing = out
    line = {"label": label, "index": index, "client_pid": os.getpid(), "logged": round(time.time(), 3), **timing,
            "cost": None if costs is None else costs[rank]}
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")
    return result


def _progress(futures: list, client: Any) -> None:
    """Dask's own progress bar on a terminal, until the tasks end (the dashboard shows the same on a cluster); a bar
    that cannot be drawn is only logged."""
    if not sys.stdout.isatty():
        return
    from distributed import progress  # noqa: PLC0415

    try:
        progress(futures, notebook=False, scheduler=client.scheduler.address)
    except Exception as err:  # noqa: BLE001 - the tasks' results are gathered anyway
        log.info("dask engine: no progress bar (%s: %s)", type(err).__name__, err)


def release() -> None:
    """Close this process's client of the cluster (the pipeline calls it when a stage ends)."""
    global _CLIENT
    if _CLIENT is not None:
        pid, client = _CLIENT
        _CLIENT = None
        if pid == os.getpid():
            with contextlib.suppress(Exception):
                client.close()


def _serve(workers: int) -> None:
    """``python -m analysis.engine``: a LocalCluster of ``workers`` processes; prints its address, then runs until
    its standard input closes."""
    import logging as _logging  # noqa: PLC0415
    import warnings  # noqa: PLC0415

    from distributed import LocalCluster  # noqa: PLC0415

    try:
        import bokeh  # noqa: F401, PLC0415
        dashboard = ":0"
    except ImportError:
        dashboard = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=dashboard,
                               silence_logs=_logging.WARNING, env=WORKER_ENV)
    link = cluster.dashboard_link if dashboard else ""
    print(cluster.scheduler_address, link, flush=True)
    try:
        sys.stdin.read()
    finally:
        cluster.close()


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="A LocalCluster for the dask engine (started by the pipeline).")
    ap.add_argument("--workers", type=int, default=LOCAL_WORKERS)
    _serve(ap.parse_args().workers)
