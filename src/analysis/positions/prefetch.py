"""The positions computed ahead, in a second interpreter, while the themes stage runs.

The positions do not read the themes (:data:`analysis.positions.stage.POSITION_TABLES`): every input they read
exists once the campaigns stage has run. So the pipeline calls :func:`start_early` just before it runs the themes
stage (:attr:`analysis.pipeline.Stage.starts_with`), and the stance models are fitted by an
:class:`analysis.worker.Worker` on the second core while the themes are assigned here. The positions stage then
takes that result (:func:`take`) only when it was computed from exactly the inputs the stage sees (the same
:func:`~analysis.positions.stage._result_key`, which hashes every table, the analyst's file, the configuration
and the package's source); otherwise, or when the worker failed, the stage computes the positions itself. The
computation is the same function on the same files, seeded, with BLAS on one thread as in the pipeline, so the
tables are the same bytes wherever it ran.

Nothing is started when the positions' cache already holds a result of the same inputs (a codebook edit: the
stage reuses it, :func:`~analysis.positions.stage._load_result`), nor when fewer than :data:`MIN_TEXTS` answers
have positions from their text (the second interpreter's imports would cost more than the fits it hides: the
Pol.is example's 154 statements took 4.7 CPU s more and longer, measured under load), so the second core is not
spent for nothing; nor when more than :data:`MAX_TEXTS` do: the two computations' peaks would then add up past
the run's memory budget, and the positions are computed by their own stage once the themes' memory is returned.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from analysis.config import ConsultationConfig
from analysis.worker import Worker, WorkerError

log = logging.getLogger(__name__)

#: Answers with positions from their text (open questions with ``text_positions`` on) below which nothing is
#: started ahead. The bundled sample has 2,782; the Pol.is example 154.
MIN_TEXTS = 1000
#: Answers with positions from their text above which nothing is started ahead: the positions' peak would come on
#: top of the themes' (memory summed over the process tree, shared pages counted once). Measured with 90% campaign
#: copies: at 200,000 responses (209,856 such answers) themes 1.8 GB + positions 1.3 GB, which fit side by side;
#: at 1,000,000 (1,050,254) the two side by side peaked at 14.9 GB against an 8 GB budget, the positions
#: alone at 3.2 GB (a stage taking a result: more while computing). Off above it, the positions cost their own
#: stage's wall time after the themes instead of running on the second core beside them.
MAX_TEXTS = 500_000
#: Modules the worker computing the positions ahead imports (:func:`compute` and the stance models).
PRELOAD = ("analysis.positions.prefetch", "analysis.positions.stage")
#: Workers computing the positions ahead, by processed folder.
_PENDING: dict[Path, Worker] = {}


def compute(cfg: ConsultationConfig, raw_dir: Path, processed_dir: Path) -> tuple[str, tuple[pd.DataFrame, ...]]:
    """``(result key, (positions, disagreements, confusion))`` of the stage's inputs as they are now (what the
    worker runs; BLAS on one thread, as the pipeline runs a stage)."""
    from threadpoolctl import threadpool_limits

    from analysis.positions import stage

    with threadpool_limits(limits=1, user_api="blas"):
        key = stage._result_key(cfg, raw_dir, processed_dir)
        questions, answers, analyst, _votes, stmt_pos = stage.positions_inputs(cfg, raw_dir, processed_dir)
        if stage._result_key(cfg, raw_dir, processed_dir) != key:  # an input changed while it was read
            return "", ()
        final, dis, conf, _ = stage.assign_positions(cfg, answers, questions, analyst, statement_positions=stmt_pos)
    del questions, answers, analyst, _votes, stmt_pos
    _give_back()
    return key, (final, dis, conf)


def _give_back() -> None:
    """Return to the system what computing the positions freed (the worker then waits, holding only its result,
    until the positions stage takes it: without this its heap stayed at the computation's peak for the rest of
    the themes stage, beside the themes' own peak)."""
    from analysis.pipeline import release_memory

    release_memory()
    try:
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    except (ImportError, AttributeError):  # pragma: no cover - PyArrow is a dependency
        pass


def text_answers(cfg: ConsultationConfig, processed_dir: Path, table: str = "core_answers_clean") -> int:
    """How many answers the stance models may read: those of open questions with positions from text (in
    ``table``)."""
    import pyarrow.parquet as pq

    from analysis.tables import table_files

    on = {q.id for q in cfg.open_questions if cfg.text_positions_on(q.id)}
    return sum(1 for f in table_files(table, processed_dir)
               for q in pq.read_table(f, columns=["question_id"]).column(0).to_pylist() if q in on)


def worker_modules(cfg: ConsultationConfig, *, raw_dir: Path, processed_dir: Path) -> tuple[str, ...]:
    """The modules the run's zygote (:mod:`analysis.zygote`) should import ahead for :func:`start_early`'s worker:
    :data:`PRELOAD` when the answers read so far (``core_answers_clean``, or ``core_answers`` before the
    campaigns stage ran) reach :data:`MIN_TEXTS` and the positions' cache holds no result (a re-run that may
    reuse it), else none. Asked by the pipeline before each earlier stage runs; a guess that only decides
    what is imported ahead, never whether a worker starts."""
    del raw_dir  # the same signature as start_early
    processed_dir = Path(processed_dir)
    if (processed_dir / "cache" / "positions" / "result.pkl").is_file():  # positions.stage._result_path
        return ()
    clean = text_answers(cfg, processed_dir)
    n = clean if clean else text_answers(cfg, processed_dir, "core_answers")
    return PRELOAD if worth_ahead(n) else ()


def worth_ahead(n: int) -> bool:
    """Whether the positions of ``n`` answers with positions from their text are computed ahead: from
    :data:`MIN_TEXTS` (the worker's imports pay off) up to :data:`MAX_TEXTS` (both peaks fit side by side)."""
    return MIN_TEXTS <= n <= MAX_TEXTS


def _cached_key(processed_dir: Path) -> str | None:
    """The key of the result in the positions' cache (``None``: none, or unreadable)."""
    from analysis.positions.stage import _result_path

    path = _result_path(processed_dir)
    if not path.is_file():
        return None
    try:
        with path.open("rb") as f:
            stored = pickle.load(f)  # noqa: S301 - written by the positions stage, in the consultation's own cache
    except Exception:  # noqa: BLE001 - the stage recomputes an unreadable cache anyway
        return None
    return stored.get("key") if isinstance(stored, dict) else None


@contextlib.contextmanager
def start_early(cfg: ConsultationConfig, *, raw_dir: Path, processed_dir: Path) -> Iterator[None]:
    """Start computing the positions in a worker for the length of the block (the pipeline's themes stage and
    what follows it); a result not taken by :func:`take` when the block ends is dropped, its worker ended."""
    from analysis.positions.stage import _result_key

    raw_dir, processed_dir = Path(raw_dir), Path(processed_dir)
    worker: Worker | None = None
    try:
        n = text_answers(cfg, processed_dir)
        if not worth_ahead(n):
            if n > MAX_TEXTS:
                log.info("positions: not computed ahead (%d answers with positions from text > MAX_TEXTS=%d: their "
                         "peak would add to the themes'); computed by their own stage", n, MAX_TEXTS)
        elif _cached_key(processed_dir) != _result_key(cfg, raw_dir, processed_dir):
            worker = Worker()
            worker.send(compute, cfg, raw_dir, processed_dir)
            _PENDING[processed_dir] = worker
            log.info("positions: computed ahead in a second process while the themes are assigned")
    except WorkerError as err:  # the stage computes them itself
        log.info("positions: not computed ahead (%s)", err)
        if worker is not None:
            worker.kill()
        worker = None
    try:
        yield
    finally:
        if worker is not None and _PENDING.get(processed_dir) is worker:
            del _PENDING[processed_dir]
            worker.kill()


def take(processed_dir: Path, key: str) -> tuple[pd.DataFrame, ...] | None:
    """The result computed ahead for ``processed_dir`` if it was computed from inputs of ``key``, else ``None``
    (nothing was started, the worker failed, or an input changed since)."""
    worker = _PENDING.pop(Path(processed_dir), None)
    if worker is None:
        return None
    try:
        got_key, frames = worker.receive()
    except WorkerError as err:
        log.warning("positions: the second process failed (%s); computing them here", err)
        return None
    finally:
        worker.close()
    if got_key != key:
        log.info("positions: inputs changed since they were computed ahead; computing them again")
        return None
    return frames
