"""Open answers' languages guessed in a second process while the export is still being read.

Reading a large export (:func:`~analysis.ingest.build.table_rows`) and guessing the languages of its open answers
(:func:`~analysis.ingest.stage._languages`) are each single-threaded Python; done one after the other they leave
the second core idle. A :class:`Prefetch` is told of every block of answers the reader turns into Arrow
(:func:`~analysis.ingest.build.block_listener`) and sends the block's distinct beginnings (the first
:data:`~analysis.ingest.language.MAX_CHARS` characters of each open answer without a declared language) to a
worker (:class:`analysis.worker.Worker`, a fresh interpreter), which guesses each one it has not seen yet while
this process reads on. At the end :meth:`Prefetch.codes` asks the worker for the code of every distinct beginning
of the table, a group of blocks at a time; the worker guesses any it was not sent (the rows added after the last
block).

A guess is a pure function of the text (:meth:`~analysis.ingest.language.LanguageGuesser.guess` treats each
distinct text alone, whatever else is in its batch), so the codes are those the caller would compute itself. When
the worker cannot run or fails, :meth:`Prefetch.codes` returns ``None`` and the caller guesses everything itself.
Blocks are sent from a thread of their own, so the reader never waits for the worker.
"""

from __future__ import annotations

import logging
import os
import queue
import threading

import pyarrow as pa
import pyarrow.compute as pc

from analysis.ingest.flags import points_to_attachment
from analysis.ingest.language import MAX_CHARS, UNDETERMINED, default_guesser
from analysis.worker import Worker, WorkerError

logger = logging.getLogger(__name__)

#: Distinct beginnings given to the guesser at a time (lingua holds 75 values for each; as the stage's batch).
GUESS_BATCH = 20_000

#: Threads of lingua's pool in the worker (the same confidence values whatever the number: each text is computed
#: alone by the same code; only how many run at once changes).
WORKER_THREADS = 1
#: The worker's codes so far: beginning -> code (in the worker process only).
_CODES: dict[str, str] = {}
#: Open answers the worker found to only point to an attachment, since they were last taken.
_POINTING: set[str] = set()


def worth_it() -> bool:
    """Whether this process may use a second core (a worker beside the reader only slows it on one core)."""
    try:
        return len(os.sched_getaffinity(0)) >= 2
    except AttributeError:  # no sched_getaffinity (macOS, Windows)
        return (os.cpu_count() or 1) >= 2


def todo_starts(block: pa.Table, open_ids: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``(todo, starts)`` of a block of answers: which rows need a guess (an open question's answer without a
    declared language) and those rows' beginnings (their first :data:`MAX_CHARS` characters), in row order."""
    own = block.column("language")
    declared = pc.fill_null(pc.not_equal(own, UNDETERMINED), False)  # None and "und" are not a language
    todo = pc.and_(pc.is_in(block.column("question_id"), value_set=open_ids), pc.invert(declared))
    return todo, pc.utf8_slice_codeunits(pc.filter(block.column("answer"), todo), 0, MAX_CHARS)


def guess_new(texts: pa.Array) -> int:
    """Guess (default guesser) each of ``texts`` not guessed yet in this process and keep its code (worker side).

    lingua's pool gets one thread (:data:`WORKER_THREADS`): the reader's process has the other core.

    Returns:
        How many were new.
    """
    os.environ.setdefault("RAYON_NUM_THREADS", str(WORKER_THREADS))  # read once, when lingua's pool starts
    new = [t for t in dict.fromkeys(texts.to_pylist()) if t not in _CODES]
    guesser = default_guesser()
    for i in range(0, len(new), GUESS_BATCH):
        batch = new[i:i + GUESS_BATCH]
        _CODES.update(zip(batch, guesser.guess(batch), strict=True))
    return len(new)


def pointers_new(texts: pa.Array) -> int:
    """Keep those of ``texts`` (open answers) that only point to an attachment (worker side).

    Returns:
        How many do.
    """
    hits = [t for t in texts.to_pylist() if points_to_attachment(t)]
    _POINTING.update(hits)
    return len(hits)


def take_pointing() -> list[str]:
    """The open answers kept by :func:`pointers_new` since the last call, then forget them (worker side)."""
    try:
        return sorted(_POINTING)
    finally:
        _POINTING.clear()


def codes_of(texts: pa.Array, forget: bool = True) -> pa.Array:
    """The code of each of ``texts`` (guessing those not seen yet), then forget every code unless ``forget`` is
    false (the caller asks again: :meth:`Prefetch.codes` is called a group of blocks at a time) (worker side)."""
    guess_new(texts)
    try:
        return pa.array([_CODES[t] for t in texts.to_pylist()], pa.large_string())
    finally:
        if forget:
            _CODES.clear()


class Prefetch:
    """Sends blocks of answers' beginnings to a worker as they are read (a context manager: the worker ends on exit).

    Args:
        open_ids: Ids of the open questions (a ``large_string`` array), as the stage gives :func:`todo_starts`.
        worker: The worker (default: a new :class:`~analysis.worker.Worker`; tests pass one).
    """

    def __init__(self, open_ids: pa.Array, worker: Worker | None = None):
        self.open_ids = open_ids
        self._worker = worker or Worker()
        self._queue: queue.Queue[pa.Table | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._sent = 0
        self.failed = False
        self.blocks = 0  # blocks given to the worker (for the log and the tests)

    def __enter__(self) -> Prefetch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, block: pa.Table) -> None:
        """Take one block of answers (``response_id``, ``question_id``, ``answer``, ``language``) as it is made."""
        if self.failed:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._send_all, name="language-prefetch", daemon=True)
            self._thread.start()
        self.blocks += 1
        self._queue.put(block)  # its beginnings are found in the thread (Arrow's kernels let this one run on)

    def _send_all(self) -> None:
        """The sending thread: each block's distinct beginnings to the worker until ``None`` (stops sending at the
        first failure)."""
        while (block := self._queue.get()) is not None:
            if self.failed:
                continue
            texts = pc.unique(todo_starts(block, self.open_ids)[1])
            answers = pc.unique(pc.filter(block.column("answer"), pc.is_in(block.column("question_id"),
                                                                           value_set=self.open_ids)))
            try:
                if len(texts):
                    self._worker.send(guess_new, texts)
                    self._sent += 1
                if len(answers):
                    self._worker.send(pointers_new, answers)
                    self._sent += 1
            except WorkerError as err:
                logger.info("language guesses in a worker failed (%s): guessed here instead", err)
                self.failed = True

    def _join(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def pointing(self) -> set[str] | None:
        """The open answers of the blocks given since the last call that only point to an attachment
        (:func:`~analysis.ingest.flags.points_to_attachment`), or ``None`` when the worker failed."""
        self._join()
        if self.failed:
            return None
        if not self._worker.started:
            return set()  # nothing was sent: no open answer
        try:
            for _ in range(self._sent):
                self._worker.receive()
            self._sent = 0
            return set(self._worker.call(take_pointing))
        except WorkerError as err:
            logger.info("attachment pointers in a worker failed (%s): tested here instead", err)
            self.failed = True
            return None

    def codes(self, distinct: pa.Array) -> pa.Array | None:
        """The code of each of ``distinct`` from the worker, or ``None`` (nothing was sent, or the worker failed).

        May be called again with more beginnings (the stage asks a group of blocks at a time): the worker keeps its
        codes until it ends (:meth:`close`).
        """
        self._join()
        if self.failed or not self._worker.started:
            return None
        try:
            for _ in range(self._sent):
                self._worker.receive()
            self._sent = 0
            codes = self._worker.call(codes_of, distinct, False)
        except WorkerError as err:
            logger.info("language guesses in a worker failed (%s): guessed here instead", err)
            self.failed = True
            self._worker.close()
            return None
        return codes if len(codes) == len(distinct) else None

    def close(self) -> None:
        """Stop sending and end the worker (what it was computing is dropped)."""
        self.failed = True
        self._worker.kill()  # a send blocked on a busy worker fails now
        self._join()
        self._worker.kill()  # one started by the sending thread meanwhile
