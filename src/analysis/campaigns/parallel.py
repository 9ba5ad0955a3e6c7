"""Campaign labels of several sets of texts (each question's answers, the whole submissions) in two processes.

The stage runs :func:`analysis.campaigns.stage.find_campaigns` once per open question and once over the whole
submissions. Each run is a pure function of its normalised keys, the settings and the seed, and the runs are
independent, so any process may compute any of them: :func:`label_all` gives the same labels whichever process
ran which. This process and the worker each take the largest run left (the worker, once it has sent back one,
takes the next), so that neither waits long for the other while large runs are left; a run the worker could not
do is done here. The worker starts on the questions while this process still joins the submissions' keys.

With the Dask engine (:mod:`analysis.engine`) every run is a task on the cluster instead (``campaigns-labels``,
the largest first): the questions' are sent before this process joins the submissions' keys, the submissions'
after; if the cluster fails, the runs are done here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Sequence

import numpy as np

from analysis import engine
from analysis.config import CampaignSettings
from analysis.worker import Worker, WorkerError

logger = logging.getLogger(__name__)


def keys_labels(keys: list[str], settings: CampaignSettings, seed: int, consume: bool = False) -> np.ndarray:
    """``find_campaigns(keys, settings, seed, keys)``: campaign labels from normalised keys alone (no text).

    ``consume``: ``keys`` is emptied once its signatures are made (see :func:`find_campaigns`); the worker always
    consumes its own (unpickled) copy.
    """
    from analysis.campaigns.stage import find_campaigns

    return find_campaigns(keys, settings, seed, keys, consume=consume)


Job = tuple[Hashable, list[str]]


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


def _labels_task(keys: list[str], *, settings: CampaignSettings, seed: int) -> np.ndarray:
    """:func:`keys_labels` of one run's keys on a cluster's worker (which consumes its own copy)."""
    return keys_labels(keys, settings, seed, True)


def _label_on_cluster(eng: engine.DaskEngine, jobs: Sequence[Job], settings: CampaignSettings, seed: int,
                      later: Callable[[], Sequence[Job]] | None, consume: bool) -> dict[Hashable, np.ndarray]:
    """:func:`label_all` on the Dask engine: ``jobs`` sent, ``later()`` called while the cluster labels them, its
    jobs sent too; a run the cluster could not do is done here."""
    batches: list[tuple[list[Job], engine.Submitted | None]] = []

    def send(batch: Sequence[Job]) -> None:
        batch = list(batch)
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
