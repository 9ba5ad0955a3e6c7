"""Detection of many distinct texts in two processes: this one and one worker.

Redaction runs its detectors once per distinct text (:func:`analysis.redaction.redact.redact_answers`); the
detectors are pure Python, so a second process halves the wall time of a large table. The worker is a fresh
interpreter (:class:`analysis.worker.Worker`: no fork of a process whose pyarrow threads run, no re-import of
the caller's main script), started only for a table with at least :data:`PARALLEL_MIN_TEXTS` distinct texts to
detect.

The texts are cut into chunks of :data:`CHUNK`; the worker takes them from the front, this process from the
back, so neither waits for the other. Detection is a pure function of the text: the results, hence the
redacted table, are the same whichever process detected a text. If the worker cannot run, this process
detects everything.
"""

from __future__ import annotations

import logging
import pickle
import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from analysis import engine
from analysis.worker import Worker, WorkerError

logger = logging.getLogger(__name__)

#: Processes detecting texts (this one included); 1 detects everything here.
DETECT_WORKERS = 2
#: Fewest distinct texts worth starting the worker for (its start-up costs about 1.7 s of CPU, detecting them here
#: about 1.5 s); once started, it takes part in every call with two chunks or more.
PARALLEL_MIN_TEXTS = 10_000
#: Texts per chunk handed to one process at a time.
CHUNK = 256
#: The interpreter's thread switch interval (s) while the worker detects: the thread feeding it needs the
#: interpreter lock, held by this process's own detection, after each read from or write to the worker's pipes;
#: at Python's default (0.005 s) the worker waited for it between chunks.
SWITCH_INTERVAL = 0.0005
#: Chunks the worker is sent ahead of the one it detects (its next one waits in its pipe: it starts on it as soon
#: as it has written the last one's results, without waiting for the thread feeding it to get the interpreter
#: lock back from this process's detection) ...
AHEAD = 1
#: ... while at least this many chunks are left to hand out (near the end, one at a time: a chunk sent ahead is
#: the worker's, and this process would wait for it once it has no chunk left of its own), and only a chunk
#: whose message surely fits half the worker's pipe (:func:`message_bound`, :attr:`analysis.worker.Worker.room`).
AHEAD_MIN_LEFT = 4


def message_bound(obj: Any) -> int:
    """Bytes the pickle of ``obj`` (texts, and tuples and lists of them and of small values) surely stays within: at
    most 4 bytes a character (UTF-8) and a few bytes of framing per object (any other object: its pickle's size)."""
    if isinstance(obj, str):
        return 4 * len(obj) + 16
    if isinstance(obj, (tuple, list)):
        return 16 + sum(message_bound(x) for x in obj)
    if obj is None or isinstance(obj, (bool, float)):
        return 16
    if isinstance(obj, int):
        return 16 + obj.bit_length() // 8
    try:
        return len(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)) + 16
    except Exception:  # noqa: BLE001 - it cannot travel: Worker.send will say so
        return 16


def detect_chunk(detect: Callable[[str], Any], texts: list[str]) -> list[Any]:
    """``detect(text)`` of each text; ``None`` where it raised (the caller detects it again, and handles the error)."""
    out = []
    for text in texts:
        try:
            out.append(detect(text))
        except Exception:  # noqa: BLE001 - re-raised by the caller's own call, where it becomes a reject row
            out.append(None)
    return out


class Detector:
    """Detects distinct texts in :data:`DETECT_WORKERS` processes (a context manager: the worker ends on exit).

    Args:
        detect: The detector, a module-level function (the worker imports it by name): of one text, or with
            ``batch`` of a list of texts (a list of results in their order, ``None`` where a text's detection
            raised).
        workers: Processes (default :data:`DETECT_WORKERS`).
        min_texts: Fewest texts for which the worker is used (default :data:`PARALLEL_MIN_TEXTS`).
        batch: ``detect`` takes a chunk of texts at a time.
        here: What this process calls for its own share instead of ``detect`` (same results; e.g. ``detect``
            with this process's own caches, a ``functools.partial`` the worker could not import).
    """

    def __init__(self, detect: Callable[..., Any], workers: int | None = None, min_texts: int | None = None, *,
                 batch: bool = False, here: Callable[..., Any] | None = None):
        self.detect = detect
        self.workers = DETECT_WORKERS if workers is None else workers
        self.min_texts = PARALLEL_MIN_TEXTS if min_texts is None else min_texts
        self.batch = batch
        self.here = detect if here is None else here
        self._worker = Worker()
        self.broken = False
        self.in_worker = 0  # texts detected by the worker (for the log and the tests)

    def __enter__(self) -> Detector:
        return self

    def __exit__(self, *exc: object) -> None:
        self._worker.close()

    def many(self, texts: list[str], meanwhile: Callable[[], None] | None = None) -> dict[str, Any]:
        """``{text: detect(text)}`` for distinct ``texts`` (those whose detection raised are left out).

        ``meanwhile()`` is called once, here, while the worker starts on the texts (this process joins the
        detection when it returns): the caller's other work overlaps the worker's share. What it raises is
        raised here, once the worker has stopped taking chunks.

        Returns ``{}`` when there are too few texts for the worker: the caller then detects each text itself.
        With the Dask engine (:mod:`analysis.engine`) every text is detected on the cluster instead,
        :data:`analysis.engine.DETECT_CHUNK` a task.
        """
        eng = engine.active()
        if eng is not None and self.batch and not self.broken:
            return self._on_cluster(eng, texts, meanwhile)
        enough = len(texts) >= (2 * CHUNK if self._worker.started else self.min_texts)
        if self.workers < 2 or self.broken or not enough:
            if meanwhile is not None:
                meanwhile()
            return {}
        chunks = [texts[i:i + CHUNK] for i in range(0, len(texts), CHUNK)]
        results: list[list[Any] | None] = [None] * len(chunks)
        lock, ends = threading.Lock(), [0, len(chunks)]  # next chunk of the worker; one past the last of ours
        worker = self._worker

        def feed() -> None:  # the worker's share, from the front; AHEAD more sent while it detects one
            sent: deque[int] = deque()
            while True:
                while len(sent) <= (AHEAD if sent else 0):
                    with lock:
                        left = ends[1] - ends[0]
                        if left <= 0 or (sent and (left < AHEAD_MIN_LEFT
                                                   or message_bound(chunks[ends[0]]) > worker.room // 2)):
                            break
                        i, ends[0] = ends[0], ends[0] + 1
                    sent.append(i)
                    if not self._send(chunks[i]):
                        return
                if not sent:
                    return
                i = sent.popleft()
                try:
                    results[i] = worker.receive()
                except WorkerError as err:  # the worker could not run: the rest is detected here
                    self._fail(err)
                    return
                self.in_worker += len(chunks[i])

        switch = sys.getswitchinterval()
        sys.setswitchinterval(min(switch, SWITCH_INTERVAL))
        try:
            return self._run(chunks, results, lock, ends, feed, meanwhile)
        finally:
            sys.setswitchinterval(switch)

    def _run(self, chunks: list, results: list, lock: threading.Lock, ends: list[int], feed: Callable[[], None],
             meanwhile: Callable[[], None] | None) -> dict[str, Any]:
        """:meth:`many` once its chunks are cut: the worker's share fed from a thread, this process's here."""
        thread = threading.Thread(target=feed, daemon=True)
        thread.start()
        if meanwhile is not None:
            try:
                meanwhile()
            except BaseException:
                with lock:  # the worker takes no further chunk
                    ends[0] = ends[1]
                thread.join()
                raise
        while True:  # this process's share, from the back
            with lock:
                if ends[1] <= ends[0]:
                    break
                ends[1] -= 1
                i = ends[1]
            results[i] = self._here(chunks[i])
        thread.join()
        for i, res in enumerate(results):
            if res is None:  # only after a worker failure
                results[i] = self._here(chunks[i])
        return {t: d for chunk, res in zip(chunks, results, strict=True)
                for t, d in zip(chunk, res, strict=True) if d is not None}

    def _on_cluster(self, eng: engine.DaskEngine, texts: list[str],
                    meanwhile: Callable[[], None] | None) -> dict[str, Any]:
        """:meth:`many` on the Dask engine: the chunks sent to the cluster, ``meanwhile()`` called while it detects
        them. If the cluster fails, the texts are detected here (as when the local worker fails)."""
        chunks = [texts[i:i + engine.DETECT_CHUNK] for i in range(0, len(texts), engine.DETECT_CHUNK)]
        try:
            sent = eng.submit(self.detect, chunks, label="redaction-detect")
        except engine.EngineError as err:
            logger.warning("redaction on the Dask cluster failed (%s); detecting here", err)
            self.broken = True
            sent = None
        if meanwhile is not None:
            meanwhile()
        if sent is None:
            return {}
        try:
            results = sent.result()
        except engine.EngineError as err:
            logger.warning("%s; detecting here", err)
            self.broken = True
            return {}
        self.in_worker += len(texts)
        return {t: d for chunk, res in zip(chunks, results, strict=True)
                for t, d in zip(chunk, res, strict=True) if d is not None}

    def _send(self, texts: list[str]) -> bool:
        """Send the worker one chunk to detect (``False``: it could not run, see :meth:`_fail`)."""
        try:
            if self.batch:
                self._worker.send(self.detect, texts)
            else:
                self._worker.send(detect_chunk, self.detect, texts)
        except WorkerError as err:
            self._fail(err)
            return False
        return True

    def _fail(self, err: WorkerError) -> None:
        """The worker could not run: it is ended (results it still owes are not read) and this process detects the
        rest (every chunk without results, those sent to the worker included)."""
        logger.warning("redaction worker failed (%s); detecting here", err)
        self.broken = True
        self._worker.kill()

    def _here(self, texts: list[str]) -> list[Any]:
        """This process's detection of one chunk."""
        return self.here(texts) if self.batch else detect_chunk(self.here, texts)

