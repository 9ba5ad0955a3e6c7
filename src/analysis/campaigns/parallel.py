"""Campaign labels of several sets of texts (each question's answers, the whole submissions) in two processes.

The stage runs :func:`analysis.campaigns.stage.find_campaigns` once per open question and once over the whole
submissions. Each run is a pure function of its normalised keys, the settings and the seed, and the runs are
independent, so any process may compute any of them: :func:`label_all` gives the same labels whichever process
ran which. This process and the worker each take the largest run left (the worker, once it has sent back one,
takes the next), so that neither waits long for the other while large runs are left; a run the worker could not
do is done here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable, Sequence

import numpy as np

from analysis.config import CampaignSettings
from analysis.worker import Worker, WorkerError

logger = logging.getLogger(__name__)


def keys_labels(keys: list[str], settings: CampaignSettings, seed: int) -> np.ndarray:
    """``find_campaigns(keys, settings, seed, keys)``: campaign labels from normalised keys alone (no text)."""
    from analysis.campaigns.stage import find_campaigns

    return find_campaigns(keys, settings, seed, keys)


def label_all(jobs: Sequence[tuple[Hashable, list[str]]], settings: CampaignSettings, seed: int,
              worker: Worker | None = None) -> dict[Hashable, np.ndarray]:
    """:func:`keys_labels` of each job's keys, in this process and (when given) in ``worker`` at the same time.

    Args:
        jobs: ``(name, normalised keys)`` pairs (distinct names).
        settings: Campaign settings.
        seed: Global seed.
        worker: A started worker, or ``None`` (everything is computed here).

    Returns:
        ``{name: labels}`` for every job.
    """
    queue = sorted(jobs, key=lambda job: -len(job[1]))  # largest first (stable: ties keep the callers' order)
    results: dict[Hashable, np.ndarray] = {}
    lock, nxt = threading.Lock(), [0]
    failed: list[tuple[Hashable, list[str]]] = []

    def take() -> tuple[Hashable, list[str]] | None:
        with lock:
            if nxt[0] >= len(queue):
                return None
            nxt[0] += 1
            return queue[nxt[0] - 1]

    def feed() -> None:  # the worker's share
        while (job := take()) is not None:
            t0 = time.perf_counter()
            try:
                results[job[0]] = worker.call(keys_labels, job[1], settings, seed)
                logger.info("campaigns: %d keys (%s) labelled by the worker in %.1fs", len(job[1]),
                            "submissions" if job[0] is None else job[0], time.perf_counter() - t0)
            except WorkerError as err:  # the worker could not run: this job (and the rest) is done here
                logger.warning("campaigns: detection failed in the worker (%s); detecting here", err)
                failed.append(job)
                return

    thread = None
    if worker is not None and len(queue) > 0:
        thread = threading.Thread(target=feed, daemon=True)
        thread.start()
    while (job := take()) is not None:
        t0 = time.perf_counter()
        results[job[0]] = keys_labels(job[1], settings, seed)
        logger.info("campaigns: %d keys (%s) labelled here in %.1fs", len(job[1]),
                    "submissions" if job[0] is None else job[0], time.perf_counter() - t0)
    t0 = time.perf_counter()
    if thread is not None:
        thread.join()
        logger.info("campaigns: waited %.1fs for the worker", time.perf_counter() - t0)
    for name, keys in failed:
        results[name] = keys_labels(keys, settings, seed)
    return results
