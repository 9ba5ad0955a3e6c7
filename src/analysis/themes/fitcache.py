"""Fitted logistic regressions kept on disk, keyed by a hash of exactly what they were fitted on.

A re-run after a codebook edit fits most of the themes stage's models on the same inputs as the run before:
the sentence classifiers (:mod:`analysis.themes.supervised`) learn from the pieces' dense embeddings and the
analyst's codes, which an edited definition leaves unchanged (the ``tfidf`` backend of a large corpus is
fitted without the codebook's texts). :func:`fit_logistic` looks a fit up by the sha256 of its training matrix,
labels, parameters and scikit-learn's version, and only fits what it has not seen. The solver is deterministic
(BLAS runs on one thread in a stage), so a stored model is the model the fit would give: the outputs are the
same bytes whichever path produced them.

The store is switched on for a block of code with :func:`stored_in` (the themes stage points it at
``<processed>/cache/themes/``; fits are kept in its ``fits`` folder); without it :func:`fit_logistic` just fits.

What an edit of one theme's seed phrases leaves unchanged, and so what is reused: the embedding vectors and the
``tfidf`` backend's fit (large corpora), the answers' word counts and document frequencies, the unit splits, and
every fit whose training matrix and labels are unchanged. What it changes: the edited theme's prototype, hence
which answer a whole-response code is attributed to (:func:`analysis.themes.assign.attribute_response_tags`), and
every prior+linear model (the definitions are training rows of every theme's model); a moved code changes the
training rows of every cross-fitting fold. Those fits are redone; :func:`map_forked` runs the independent ones
side by side.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import multiprocessing
import os
import pickle
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TypeVar

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.linear_model import LogisticRegression

logger = logging.getLogger(__name__)
T = TypeVar("T")
U = TypeVar("U")

#: Forked processes :func:`map_forked` computes in (1: in this process). A call computes the same thing wherever
#: it runs (BLAS on one thread, inherited), so results do not depend on it.
WORKERS = min(2, os.cpu_count() or 1)

_STORE: ContextVar[Path | None] = ContextVar("analysis_themes_fit_store", default=None)
#: Fits looked up and found in the store since the process started (for logs and tests).
STATS = {"hits": 0, "fits": 0}


@contextmanager
def stored_in(folder: str | Path | None) -> Iterator[None]:
    """Keep (and reuse) the fits of :func:`fit_logistic` under ``folder`` inside the block (``None``: off)."""
    token = _STORE.set(Path(folder) if folder is not None else None)
    try:
        yield
    finally:
        _STORE.reset(token)


def active() -> bool:
    """Whether a store is switched on (:func:`stored_in`)."""
    return _STORE.get() is not None


def folder() -> Path | None:
    """The store switched on by :func:`stored_in` (``None``: off); fits are kept in its ``fits`` folder."""
    return _STORE.get()


def cached(path: Path, compute: Callable[[], T]) -> T:
    """``compute()``, or its result pickled at ``path`` by an earlier call (``path`` names its inputs' hash)."""
    if path.is_file():
        try:
            with path.open("rb") as f:
                return pickle.load(f)  # noqa: S301 - our own cache folder
        except Exception:  # noqa: BLE001 - a damaged file is recomputed
            logger.warning("unreadable cache file %s: recomputed", path.name)
    value = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{id(value)}.tmp")
        with tmp.open("wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    except OSError as err:
        logger.warning("could not store %s: %s", path, err)
    return value


def _feed(h, a) -> None:
    """Add an array (dense or sparse) to the hash: its kind, dtype, shape and contents."""
    if sp.issparse(a):
        a = a.tocsr()
        h.update(f"csr:{a.dtype}:{a.shape}:{a.has_sorted_indices}".encode())
        for part in (a.data, a.indices, a.indptr):
            _feed(h, np.asarray(part))
        return
    a = np.ascontiguousarray(a)
    h.update(f"nd:{a.dtype.str}:{a.shape}".encode())
    h.update(memoryview(a).cast("B"))


def digest(x) -> str:
    """sha256 of an array (dense or sparse): pass it to :func:`fit_logistic` when one matrix trains several fits."""
    h = hashlib.sha256()
    _feed(h, x)
    return h.hexdigest()


def fit_key(x_digest: str, rows, y, params: dict) -> str:
    """sha256 of a fit's inputs: training matrix (its digest and the rows used), labels, parameters, scikit-learn."""
    h = hashlib.sha256(f"LogisticRegression:sklearn{sklearn.__version__}:{sorted(params.items())!r}:"
                       f"{x_digest}".encode())
    _feed(h, np.asarray(rows) if rows is not None else np.zeros(0, bool))
    _feed(h, np.asarray(y))
    return h.hexdigest()


def fit_logistic(x, y, *, rows=None, x_digest: str | None = None, **params) -> LogisticRegression:
    """``LogisticRegression(**params).fit(x[rows], y)``, or the same fit from the store when one is switched on.

    Args:
        x: Training matrix (all rows).
        y: Labels of the rows used.
        rows: Boolean mask of the rows of ``x`` to fit on (``None``: all).
        x_digest: :func:`digest` of ``x``, when the caller has it (computed otherwise).
        **params: ``LogisticRegression`` parameters.
    """
    store = _STORE.get()
    if store is None:
        return LogisticRegression(**params).fit(x if rows is None else x[rows], y)
    key = fit_key(x_digest or digest(x), rows, y, params)

    def fit() -> LogisticRegression:
        STATS["fits"] += 1
        return LogisticRegression(**params).fit(x if rows is None else x[rows], y)

    fits = STATS["fits"]
    clf = cached(store / "fits" / key[:2] / f"{key}.pkl", fit)
    STATS["hits"] += STATS["fits"] == fits
    return clf


_FORKED: tuple[Callable, Sequence, Path | None] | None = None


def map_forked(fn: Callable[[U], T], items: Sequence[U], cost: Sequence[float] | None = None) -> list[T]:
    """``[fn(x) for x in items]``, computed by up to :data:`WORKERS` forked processes when there are two items or more.

    The forked processes inherit ``fn`` and everything it reads (nothing is pickled to them; results are pickled
    back), and the store switched on by :func:`stored_in`, so a fit one of them makes is kept for later runs.
    Computed in this process when fork is unavailable, inside another call's worker, while another call's workers
    run (:func:`start_forked`), or in a daemonic process.

    ``cost``: an estimate of each item's work. The items are then handed to the workers from the costliest down
    (ties in ``items`` order), so the last one left running is a small one, not the largest started last while the
    other worker waits; the results are in ``items`` order whatever order they were computed in.
    """
    return start_forked(fn, items, cost).result()


class Forked:
    """:func:`start_forked`'s work: the forked workers computing it, or (when it cannot fork) nothing yet."""

    def __init__(self, fn: Callable[[U], T], items: Sequence[U], order: list[int], pool: ProcessPoolExecutor | None,
                 futures: list | None, frozen: int) -> None:
        self._fn, self._items, self._order, self._pool, self._futures, self._frozen = fn, items, order, pool, futures, frozen

    def result(self) -> list[T]:
        """The results in ``items`` order (computed here when no worker was started, or when one died)."""
        global _FORKED
        if self._pool is None:
            return [self._fn(x) for x in self._items]
        try:
            with self._pool:
                done = {i: f.result() for i, f in zip(self._order, self._futures, strict=True)}
                return [done[i] for i in range(len(self._items))]
        except BrokenProcessPool as err:  # a worker died (e.g. killed for memory): the same work, here
            logger.warning("forked workers stopped (%s): computed in this process", err)
        finally:
            _FORKED = None
            if not self._frozen:
                gc.unfreeze()
        return [self._fn(x) for x in self._items]

    def cancel(self) -> None:
        """Stop the workers and drop their work (the caller failed meanwhile): later calls fork again."""
        global _FORKED
        if self._pool is None:
            return
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None
        self._items = []
        _FORKED = None
        if not self._frozen:
            gc.unfreeze()


def start_forked(fn: Callable[[U], T], items: Sequence[U], cost: Sequence[float] | None = None) -> Forked:
    """:func:`map_forked`'s workers forked and handed every item now; :meth:`Forked.result` waits for them. Meanwhile
    this process may do other work (a :func:`map_forked` it calls then runs in this process: the workers are
    forked before any thread starts, and none is forked while they run)."""
    global _FORKED
    workers = min(WORKERS, len(items))
    order = list(range(len(items))) if cost is None else sorted(range(len(items)), key=lambda i: (-cost[i], i))
    if (workers < 2 or _FORKED is not None or "fork" not in multiprocessing.get_all_start_methods()
            or multiprocessing.current_process().daemon):
        return Forked(fn, items, order, None, None, 1)
    _FORKED = (fn, items, folder())
    release_unused()
    frozen = gc.get_freeze_count()  # objects some caller froze already stay frozen
    gc.freeze()  # the workers' collections leave this process's objects (and so their pages) alone
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    try:  # the executor forks every worker at the first submit, before its manager thread starts
        futures = [pool.submit(_call_forked, i) for i in order]
    except BaseException:
        pool.shutdown(cancel_futures=True)
        _FORKED = None
        if not frozen:
            gc.unfreeze()
        raise
    return Forked(fn, items, order, pool, futures, frozen)


class Ahead:
    """A forked process computing ahead (:func:`fork_ahead`): :meth:`wait` for it before reading what it stores."""

    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self._process = process

    def wait(self) -> bool:
        """Wait for the process to end; whether it finished its work (otherwise the caller computes what is missing)."""
        self._process.join()
        if self._process.exitcode:
            logger.warning("work computed ahead stopped (exit code %s): the rest is computed here",
                           self._process.exitcode)
        return self._process.exitcode == 0


def fork_ahead(fn: Callable[[], object]) -> Ahead | None:
    """Start ``fn()`` in a forked process, to store in the store switched on by :func:`stored_in` what this process
    will look up there later, while it computes something else meanwhile.

    ``fn`` must only fill the store (its result is dropped) with the very calls, on the very inputs, this process
    makes later: those then find their results stored (:func:`cached`), and whatever the forked process did not
    store in time, or at all, is computed by this process as without it. Call :meth:`Ahead.wait` before those
    look-ups, so no file is written by both. The forked process inherits ``fn`` and everything it reads (nothing
    is pickled). Returns ``None`` (nothing started) without a store, without fork, inside a :func:`map_forked`
    worker or in a daemonic process.
    """
    store = folder()
    if (store is None or _FORKED is not None or "fork" not in multiprocessing.get_all_start_methods()
            or multiprocessing.current_process().daemon):
        return None
    process = multiprocessing.get_context("fork").Process(target=_run_ahead, args=(fn, store), daemon=True)
    try:
        process.start()
    except OSError as err:  # no memory or processes left for a fork: computed here later
        logger.warning("could not fork to compute ahead (%s)", err)
        return None
    return Ahead(process)


def _run_ahead(fn: Callable[[], object], store: Path) -> None:
    """:func:`fork_ahead`'s forked process."""
    gc.freeze()  # this process's collections leave the objects it inherited (and so their pages) alone
    with stored_in(store):
        fn()


def release_unused() -> None:
    """Give back to the system the memory this process has freed (before forking, and in a worker between items).

    A forked worker shares its parent's pages until it writes them, so what the parent freed but kept (glibc's
    and PyArrow's allocators keep freed memory for reuse) is resident for the whole map; a worker that finished its
    items keeps its freed memory while it waits for the others. Collects reference cycles, trims glibc's heap
    (:func:`analysis.pipeline.release_memory`) and PyArrow's pool. Nothing computed depends on it.
    """
    from analysis.pipeline import release_memory  # noqa: PLC0415 - the pipeline imports the stages, not the reverse

    release_memory()
    try:
        import pyarrow  # noqa: PLC0415 - loaded already wherever tables were read

        pyarrow.default_memory_pool().release_unused()
    except (ImportError, AttributeError):  # pragma: no cover - PyArrow is a dependency
        pass


def _call_forked(i: int):
    """Item ``i`` of :func:`map_forked`, in a forked worker (which then frees what computing it left)."""
    fn, items, store = _FORKED
    with stored_in(store):
        out = fn(items[i])
    release_unused()
    return out
