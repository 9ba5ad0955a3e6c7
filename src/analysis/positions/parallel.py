"""The stance models of several questions, fitted side by side: some here, the rest in a second interpreter.

A question's model is one :func:`~analysis.positions.model.cross_fit`: featurise its texts, fit the final
classifier and the cross-fitted folds, predict. With two or more large questions, whole questions are shared
between this process and one :class:`analysis.worker.Worker` (a fresh interpreter: no fork of a process whose
pyarrow threads run), so the featurising overlaps too, not only the fits. Every fit is seeded and runs the same
way wherever it runs: the results do not depend on where (or whether) a question ran in the worker, and when the
worker fails its questions are fitted here.

A single large question keeps :func:`~analysis.positions.model.cross_fit`'s own spreading of its folds.

With the Dask engine (:mod:`analysis.engine`) each question's fit is a task on the cluster instead
(``positions-question``, the costliest first), for the default (TF-IDF) features.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass

import pandas as pd
from threadpoolctl import threadpool_limits

from analysis import engine
from analysis.positions import chunked
from analysis.positions.model import FIT_WORKERS, PARALLEL_MIN_ROWS, StanceModel, cross_fit
from analysis.themes.chunked import forked, on_cluster
from analysis.worker import Worker, WorkerError

log = logging.getLogger(__name__)

#: Featurising a text costs about this many "text x fold" fitting units (measured at 10,000 responses:
#: 2.7 s featurising ~19,000 texts, ~16 s fitting 4 x 4,300 texts x 3 folds).
FEATURIZE_COST = 0.5


@dataclass
class FitJob:
    """One question's :func:`~analysis.positions.model.cross_fit` arguments.

    Attributes:
        texts: Labelled (training) texts.
        labels: Their positions.
        folds: Maximum number of stratified folds.
        predict: Further texts to predict with the final model.
    """

    texts: list[str]
    labels: list[str]
    folds: int
    predict: list[str]

    def cost(self) -> float:
        """Relative cost: the fits (final + folds: about ``folds`` times the training set) and the featurising."""
        return len(self.texts) * self.folds + FEATURIZE_COST * (len(self.texts) + len(self.predict))


def _fit_one(model: StanceModel, job: FitJob, parallel: bool) -> tuple[StanceModel, pd.DataFrame, pd.DataFrame]:
    """:func:`cross_fit` of one job, BLAS on one thread as in the pipeline (also what the worker runs)."""
    with threadpool_limits(limits=1, user_api="blas"):
        return cross_fit(model, job.texts, job.labels, folds=job.folds, predict=job.predict, parallel=parallel)


def _fit_many(model: StanceModel, jobs: list[FitJob]) -> list[tuple[StanceModel, pd.DataFrame, pd.DataFrame]]:
    """:func:`_fit_one` of each job in turn, in this process (what the worker runs: one message each way, so
    neither side waits on a full pipe while the other does)."""
    return [_fit_one(model, job, False) for job in jobs]


def _fit_task(job: FitJob, *, model: StanceModel) -> tuple[StanceModel, pd.DataFrame, pd.DataFrame]:
    """:func:`_fit_one` of one job on a cluster's worker (its folds one after another: one thread a worker)."""
    return _fit_one(model, job, False)


def split_jobs(jobs: list[FitJob]) -> tuple[list[int], list[int]]:
    """Indices of the jobs fitted here and of those sent to the worker: the largest first, each to the side with
    less work so far (the worker on ties), so both sides finish at about the same time."""
    here: list[int] = []
    there: list[int] = []
    load = [0.0, 0.0]  # here, there
    for i in sorted(range(len(jobs)), key=lambda i: (-jobs[i].cost(), i)):
        side = 0 if load[0] < load[1] else 1
        (here, there)[side].append(i)
        load[side] += jobs[i].cost()
    return sorted(here), sorted(there)


def use_worker(model: StanceModel, jobs: list[FitJob]) -> bool:
    """Whether :func:`cross_fit_all` shares the jobs with a worker: two or more jobs with at least
    ``PARALLEL_MIN_ROWS`` training texts, two CPUs, and the default (TF-IDF) features (a loaded sentence model is
    not sent to another process)."""
    big = [j for j in jobs if len(j.texts) >= PARALLEL_MIN_ROWS]
    return FIT_WORKERS > 1 and len(big) >= 2 and model.featurizer is None


def cross_fit_all(model: StanceModel, jobs: list[FitJob]) -> list[tuple[StanceModel, pd.DataFrame, pd.DataFrame]]:
    """:func:`~analysis.positions.model.cross_fit` of every job (same results, in order), side by side when worth it.

    Args:
        model: Unfitted template (cloned per job).
        jobs: One per question.

    Returns:
        ``(fitted model, oof, predicted)`` per job, as :func:`~analysis.positions.model.cross_fit` returns them.
    """
    eng = engine.active()
    big = [i for i, job in enumerate(jobs) if chunked.in_chunks(model, job.texts, job.predict)]
    whole = [i for i in range(len(jobs)) if i not in set(big)]
    results: dict[int, tuple] = {}
    sent = None
    if eng is not None and model.featurizer is None and whole:  # sent first; the large questions fitted meanwhile
        sent = eng.submit(_fit_task, [jobs[i] for i in whole], label="positions-question",
                          cost=[jobs[i].cost() for i in whole], shared=dict(model=model), large=True)
    elif whole:
        results.update(zip(whole, _fit_whole(model, [jobs[i] for i in whole]), strict=True))
    for i in big:  # a task a chunk (positions.chunked), on the cluster or in forked processes
        run = functools.partial(on_cluster, eng) if eng is not None else forked
        job = jobs[i]
        with threadpool_limits(limits=1, user_api="blas"):
            results[i] = chunked.cross_fit_chunked(model, job.texts, job.labels, folds=job.folds,
                                                   predict=job.predict, run=run)
    if sent is not None:
        results.update(zip(whole, sent.result(), strict=True))
    return [results[i] for i in range(len(jobs))]


def _fit_whole(model: StanceModel, jobs: list[FitJob]) -> list[tuple[StanceModel, pd.DataFrame, pd.DataFrame]]:
    """:func:`cross_fit_all` of questions fitted whole on the local engine: here, and (when worth it) some in a
    second interpreter."""
    if not use_worker(model, jobs):
        return [_fit_one(model, job, True) for job in jobs]
    here, there = split_jobs(jobs)
    results: dict[int, tuple] = {}
    done: dict[str, object] = {}

    def remote() -> None:  # a thread: the pipe's blocking reads and writes release the GIL
        try:
            with Worker() as worker:
                done["results"] = worker.call(_fit_many, model, [jobs[i] for i in there])
        except WorkerError as err:
            done["error"] = err

    thread = threading.Thread(target=remote, name="positions-worker", daemon=True)
    thread.start()
    for i in here:
        results[i] = _fit_one(model, jobs[i], False)
    thread.join()
    if "results" in done:
        results.update(zip(there, done["results"], strict=True))
    else:
        log.warning("positions: the second process failed (%s); fitting its questions here", done.get("error"))
    for i in range(len(jobs)):
        if i not in results:
            results[i] = _fit_one(model, jobs[i], True)
    return [results[i] for i in range(len(jobs))]
