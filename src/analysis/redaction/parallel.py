"""Detection of many distinct texts in two processes: this one and one worker.

Redaction runs its detectors once per distinct text (:func:`analysis.redaction.redact.redact_answers`); the
detectors are pure Python, so a second process halves the wall time of a large table. The worker is a fresh
interpreter (``python -m analysis.redaction.worker``): nothing is forked from a process whose pyarrow threads
run, and, unlike a ``multiprocessing`` spawn, the caller's main script is never re-imported. It is started only
for a table with at least :data:`PARALLEL_MIN_TEXTS` distinct texts to detect, and talks pickles over its
standard input and output.

The texts are cut into chunks of :data:`CHUNK`; the worker takes them from the front, this process from the
back, so neither waits for the other. Detection is a pure function of the text: the results, hence the
redacted table, are the same whichever process detected a text. If the worker cannot run, this process
detects everything.
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

#: Processes detecting texts (this one included); 1 detects everything here.
DETECT_WORKERS = 2
#: Fewest distinct texts worth starting the worker for (its start-up costs about 1.7 s of CPU).
PARALLEL_MIN_TEXTS = 20_000
#: Texts per chunk handed to one process at a time.
CHUNK = 256


def detect_chunk(detect: Callable[[str], Any], texts: list[str]) -> list[Any]:
    """``detect(text)`` of each text; ``None`` where it raised (the caller detects it again, and handles the error)."""
    out = []
    for text in texts:
        try:
            out.append(detect(text))
        except Exception:  # noqa: BLE001 - re-raised by the caller's own call, where it becomes a reject row
            out.append(None)
    return out


def _name_of(fn: Callable[[str], Any]) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


def _resolve(name: str) -> Callable[[str], Any]:
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)


class Detector:
    """Detects distinct texts in :data:`DETECT_WORKERS` processes (a context manager: the worker ends on exit).

    Args:
        detect: The detector, a module-level function (the worker imports it by name).
        workers: Processes (default :data:`DETECT_WORKERS`).
        min_texts: Fewest texts for which the worker is used (default :data:`PARALLEL_MIN_TEXTS`).
    """

    def __init__(self, detect: Callable[[str], Any], workers: int | None = None, min_texts: int | None = None):
        self.detect = detect
        self.workers = DETECT_WORKERS if workers is None else workers
        self.min_texts = PARALLEL_MIN_TEXTS if min_texts is None else min_texts
        self._proc: subprocess.Popen | None = None
        self.broken = False
        self.in_worker = 0  # texts detected by the worker (for the log and the tests)

    def __enter__(self) -> Detector:
        return self

    def __exit__(self, *exc: object) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            pickle.dump(None, proc.stdin)
            proc.stdin.close()
            proc.wait(timeout=30)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        finally:
            proc.stdout.close()

    def _worker(self) -> subprocess.Popen:
        if self._proc is None:
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(p or os.getcwd() for p in sys.path)  # what this process imports
            self._proc = subprocess.Popen([sys.executable, "-m", "analysis.redaction.worker", _name_of(self.detect)],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        return self._proc

    def many(self, texts: list[str]) -> dict[str, Any]:
        """``{text: detect(text)}`` for distinct ``texts`` (those whose detection raised are left out).

        Returns ``{}`` when there are too few texts for the worker: the caller then detects each text itself.
        """
        if self.workers < 2 or self.broken or len(texts) < self.min_texts:
            return {}
        chunks = [texts[i:i + CHUNK] for i in range(0, len(texts), CHUNK)]
        results: list[list[Any] | None] = [None] * len(chunks)
        lock, ends = threading.Lock(), [0, len(chunks)]  # next chunk of the worker; one past the last of ours
        proc = self._worker()

        def feed() -> None:  # the worker's share, from the front
            while True:
                with lock:
                    if ends[0] >= ends[1]:
                        return
                    i, ends[0] = ends[0], ends[0] + 1
                try:
                    pickle.dump(chunks[i], proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                    proc.stdin.flush()
                    results[i] = pickle.load(proc.stdout)
                except Exception as err:  # noqa: BLE001 - the worker could not run: the rest is detected here
                    logger.warning("redaction worker failed (%s: %s); detecting here", type(err).__name__, err)
                    self.broken = True
                    return
                self.in_worker += len(chunks[i])

        thread = threading.Thread(target=feed, daemon=True)
        thread.start()
        while True:  # this process's share, from the back
            with lock:
                if ends[1] <= ends[0]:
                    break
                ends[1] -= 1
                i = ends[1]
            results[i] = detect_chunk(self.detect, chunks[i])
        thread.join()
        for i, res in enumerate(results):
            if res is None:  # only after a worker failure
                results[i] = detect_chunk(self.detect, chunks[i])
        return {t: d for chunk, res in zip(chunks, results, strict=True)
                for t, d in zip(chunk, res, strict=True) if d is not None}


def serve(name: str) -> None:
    """The worker: read chunks (pickles) from standard input until ``None``, write their detections."""
    out, sys.stdout = sys.stdout.buffer, sys.stderr  # nothing else may write to the pipe
    detect, inp = _resolve(name), sys.stdin.buffer
    while True:
        chunk = pickle.load(inp)
        if chunk is None:
            return
        pickle.dump(detect_chunk(detect, chunk), out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

