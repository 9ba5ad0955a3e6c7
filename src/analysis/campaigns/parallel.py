"""Campaign labels of several sets of texts (each question's answers, the whole submissions) in two processes.

The stage runs :func:`analysis.campaigns.stage.find_campaigns` once per open question and once over the whole
submissions. Each run is a pure function of its normalised keys, the settings and the seed, and the runs are
independent, so any process may compute any of them: :func:`label_all` gives the same labels whichever process
ran which. This process and the worker each take the largest run left (the worker, once it has sent back one,
takes the next), so that neither waits long for the other while large runs are left; a run the worker could not
do is done here. The worker starts on the questions while this process still joins the submissions' keys.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Sequence

import numpy as np

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

#: Fewest distinct texts for which :func:`normalise_shared` gives the worker a share.
SHARE_MIN_TEXTS = 20_000
#: Share of the distinct texts (the last ones) that the worker normalises.
WORKER_SHARE = 0.5


def normalise_part(texts: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``normalise_all(texts, {}, bounds)`` of distinct texts, in the worker: their keys and boilerplate bounds
    (``lo, hi`` arrays; ``-1, -1`` for a text whose bounds are ``None``)."""
    from analysis.campaigns.stage import normalise_all  # noqa: PLC0415 - stage imports this module

    bounds: dict[str, tuple[int, int] | None] = {}
    keys = normalise_all(texts, {}, bounds)
    lo_hi = [bounds[t] or (-1, -1) for t in texts]
    del bounds
    return (keys, np.fromiter((b[0] for b in lo_hi), dtype=np.int64, count=len(texts)),
            np.fromiter((b[1] for b in lo_hi), dtype=np.int64, count=len(texts)))


def normalise_shared(texts: Sequence[str], memo: dict[str, str], bounds: dict[str, tuple[int, int] | None],
                     worker: Worker | None, share: float | None = None, min_texts: int | None = None) -> None:
    """Fill ``memo`` and ``bounds`` as ``normalise_all(texts, memo, bounds)`` does, the worker normalising a share.

    Each text's key and bounds are a function of the text alone (:func:`~analysis.campaigns.stage.normalise_all`
    computes them once per distinct text), so the worker normalises the last ``share`` of the distinct texts not in
    ``memo`` while this process normalises the others; the maps get the same entries (in another order, which no
    reader depends on: they are looked up by text).

    Args:
        texts: The texts (``str``).
        memo: Text -> its key; extended.
        bounds: Text -> its boilerplate bounds; extended.
        worker: A started worker, or ``None`` (everything here).
        share: Share of the distinct texts sent to the worker (:data:`WORKER_SHARE` when ``None``).
        min_texts: Fewer distinct texts: everything here (:data:`SHARE_MIN_TEXTS` when ``None``).
    """
    from analysis.campaigns.stage import normalise_all  # noqa: PLC0415

    share = WORKER_SHARE if share is None else share
    min_texts = SHARE_MIN_TEXTS if min_texts is None else min_texts
    distinct = [t for t in dict.fromkeys(texts) if isinstance(t, str) and t not in memo]
    cut = len(distinct) - int(len(distinct) * share)
    if worker is None or len(distinct) < min_texts or cut == len(distinct):
        normalise_all(distinct, memo, bounds)
        return
    there = distinct[cut:]
    del distinct[cut:]
    box: dict[str, object] = {}

    def call() -> None:
        try:
            box["out"] = worker.call(normalise_part, there)
        except WorkerError as err:
            box["error"] = err

    thread = threading.Thread(target=call, daemon=True)
    t0 = time.perf_counter()
    thread.start()
    normalise_all(distinct, memo, bounds)
    t1 = time.perf_counter()
    thread.join()
    out = box.get("out")
    if out is None:
        logger.warning("campaigns: normalising in the worker failed (%s); normalising here", box.get("error"))
        normalise_all(there, memo, bounds)
        return
    keys, lo, hi = out
    if len(keys) != len(there):
        raise AssertionError("campaigns: the worker normalised another number of texts")
    memo.update(zip(there, keys, strict=True))
    bounds.update((t, None if a < 0 else (a, b)) for t, a, b in zip(there, lo.tolist(), hi.tolist(), strict=True))
    logger.info("campaigns: %d distinct texts normalised here in %.1fs, %d in the worker (waited %.1fs)", len(distinct),
                t1 - t0, len(there), time.perf_counter() - t1)


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
