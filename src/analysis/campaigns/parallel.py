"""Campaign labels of several sets of texts (each question's answers, the whole submissions) in two processes.

The stage runs :func:`analysis.campaigns.stage.find_campaigns` once per open question and once over the whole
submissions. Each run is a pure function of its normalised keys, the settings and the seed, and the runs are
independent, so any process may compute any of them: :func:`label_all` gives the same labels whichever process
ran which. This process and the worker each take the largest run left (the worker, once it has sent back one,
takes the next), so that neither waits long for the other while large runs are left; a run the worker could not
do is done here. The worker starts on the questions while this process still joins the submissions' keys.

With the Dask engine (:mod:`analysis.engine`) every run is a task on the cluster instead (``campaigns-labels``,
the largest first): the questions' are sent before this process joins the submissions' keys, the submissions'
after; if the cluster fails, the runs are done here. A run of more keys than
:func:`analysis.campaigns.sampled.chunk_keys` is sent as its rounds' steps instead, tasks of at most that many
distinct keys (:mod:`analysis.campaigns.sampled`; the local engine computes the same steps in one process).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from analysis import engine
from analysis.campaigns import sampled
from analysis.config import CampaignSettings
from analysis.worker import Worker, WorkerError

logger = logging.getLogger(__name__)


def keys_labels(keys: list[str], settings: CampaignSettings, seed: int, consume: bool = False) -> np.ndarray:
    """``find_campaigns(keys, settings, seed, keys)``: campaign labels from normalised keys alone (no text).

    ``consume``: ``keys`` is emptied once its signatures are made (see :func:`find_campaigns`); the worker always
    consumes its own (unpickled) copy.
    """
    return find_campaigns(keys, settings, seed, keys, consume=consume)


Job = tuple[Hashable, list[str]]
#: Runs in rounds (more keys than :func:`analysis.campaigns.sampled.chunk_keys`) sent to the Dask cluster at once.
LARGE_AT_ONCE = 2


def label_all(jobs: Sequence[Job], settings: CampaignSettings, seed: int, worker: Worker | None = None,
              later: Callable[[], Sequence[Job]] | None = None, consume: bool = False) -> dict[Hashable, np.ndarray]:
    """:func:`keys_labels` of each job's keys, in this process and (when given) in ``worker`` at the same time.

    Args:
        jobs: ``(name, normalised keys)`` pairs (distinct names).
        settings: Campaign settings.
        seed: Global seed.
        worker: A started worker, or ``None`` (everything is computed here).
        later: Called here first, while the worker starts on ``jobs``; the jobs it returns are added to them.
        consume: Empty the keys of each job labelled here once its signatures are made (:func:`find_campaigns`'s
            ``consume``: the strings are not held beside the clustering's arrays); the keys of the jobs the worker
            labelled stay (it consumes its own copy).

    Returns:
        ``{name: labels}`` for every job.
    """
    eng = engine.active()
    if eng is not None:
        return _label_on_cluster(eng, jobs, settings, seed, later, consume)
    queue = sorted(jobs, key=lambda job: -len(job[1]))  # largest first (stable: ties keep the callers' order)
    results: dict[Hashable, np.ndarray] = {}
    cond, closed = threading.Condition(), [later is None]  # closed: no job will be added
    failed: list[Job] = []

    def take(wait: bool) -> Job | None:
        with cond:
            while wait and not queue and not closed[0]:
                cond.wait()
            return queue.pop(0) if queue else None

    def feed() -> None:  # the worker's share
        while (job := take(True)) is not None:
            t0 = time.perf_counter()
            try:
                results[job[0]] = worker.call(keys_labels, job[1], settings, seed, True)
            except WorkerError as err:  # the worker could not run: this job (and the rest) is done here
                logger.warning("campaigns: detection failed in the worker (%s); detecting here", err)
                failed.append(job)
                return
            logger.info("campaigns: %d keys (%s) labelled by the worker in %.1fs", len(job[1]),
                        job[0] or "whole submissions", time.perf_counter() - t0)

    thread = None
    if worker is not None:
        thread = threading.Thread(target=feed, daemon=True)
        thread.start()
    more: list[Job] = []
    try:
        if later is not None:
            more = list(later())
    finally:
        with cond:  # the worker may be waiting for these
            queue.extend(more)
            queue.sort(key=lambda job: -len(job[1]))
            closed[0] = True
            cond.notify_all()
    while (job := take(False)) is not None:
        t0, n = time.perf_counter(), len(job[1])
        results[job[0]] = keys_labels(job[1], settings, seed, consume)
        logger.info("campaigns: %d keys (%s) labelled here in %.1fs", n, job[0] or "whole submissions",
                    time.perf_counter() - t0)
    t0 = time.perf_counter()
    if thread is not None:
        thread.join()
        logger.info("campaigns: waited %.1fs for the worker", time.perf_counter() - t0)
    for name, keys in failed:
        results[name] = keys_labels(keys, settings, seed, consume)
    return results


def find_campaigns(*args: object, **kwargs: object) -> np.ndarray:
    """:func:`analysis.campaigns.stage.find_campaigns` (imported when called: the stage imports this module)."""
    from analysis.campaigns.stage import find_campaigns as find  # noqa: PLC0415

    return find(*args, **kwargs)


def _labels_task(keys: list[str], *, settings: CampaignSettings, seed: int) -> np.ndarray:
    """:func:`keys_labels` of one run's keys on a cluster's worker (which consumes its own copy)."""
    return keys_labels(keys, settings, seed, True)


def _label_on_cluster(eng: engine.DaskEngine, jobs: Sequence[Job], settings: CampaignSettings, seed: int,
                      later: Callable[[], Sequence[Job]] | None, consume: bool) -> dict[Hashable, np.ndarray]:
    """:func:`label_all` on the Dask engine: ``jobs`` sent, ``later()`` called while the cluster labels them, its
    jobs sent too; a run the cluster could not do is done here.

    A run of more keys than :func:`analysis.campaigns.sampled.chunk_keys` is not one task: its distinct keys are
    found here and its rounds' steps sent as tasks of at most that many (:mod:`analysis.campaigns.sampled`), once the
    smaller runs are sent; :data:`LARGE_AT_ONCE` such runs at a time, the largest first.
    """
    batches: list[tuple[list[Job], engine.Submitted | None]] = []
    size = sampled.chunk_keys()
    large: list[Job] = []

    def send(batch: Sequence[Job]) -> None:
        large.extend(job for job in batch if len(job[1]) > size)
        batch = [job for job in batch if len(job[1]) <= size]
        try:
            sent = eng.submit(_labels_task, [keys for _name, keys in batch], label="campaigns-labels",
                              cost=[len(keys) for _name, keys in batch], shared=dict(settings=settings, seed=seed),
                              large=True)
        except engine.EngineError as err:
            logger.warning("campaigns: %s; detecting here", err)
            sent = None
        batches.append((batch, sent))

    send(jobs)
    if later is not None:
        send(later())
    results: dict[Hashable, np.ndarray] = {}
    run = functools.partial(eng.map, large=True)
    large.sort(key=lambda job: -len(job[1]))
    with ThreadPoolExecutor(LARGE_AT_ONCE) as pool:  # a run's one-task steps leave the other workers free
        found = pool.map(lambda job: find_campaigns(job[1], settings, seed, job[1], consume=consume, run=run), large)
        results.update((name, labels) for (name, _keys), labels in zip(large, found, strict=True))
    for batch, sent in batches:
        try:
            labels = sent.result() if sent is not None else None
        except engine.EngineError as err:
            logger.warning("campaigns: %s; detecting here", err)
            labels = None
        if labels is None:
            labels = [keys_labels(keys, settings, seed, consume) for _name, keys in batch]
        results.update((name, lab) for (name, _keys), lab in zip(batch, labels, strict=True))
    return results
