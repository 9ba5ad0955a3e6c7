"""Writing cache files, from this process or (handed back to it) from the forked processes it computes in.

The themes stage keeps embeddings, word counts, text units and fits in cache files
(:class:`analysis.embeddings.EmbeddingCache`, :mod:`analysis.themes.lexical`, :mod:`analysis.themes.fitcache`),
each written to a temporary file and renamed. Work computed side by side in forked processes
(:func:`analysis.themes.fitcache.map_forked`) would write those files from several processes at once, two of
them possibly the same file. Inside :func:`deferred` a write is kept instead, as ``(path, bytes)``; the forked
process hands its writes back with its result, and the process that forked it writes them (:func:`write_all`),
one process writing every file. Cache files only speed a later run up: what is computed is the same either way.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

_KEPT: ContextVar[list[tuple[Path, bytes]] | None] = ContextVar("analysis_cachefiles_kept", default=None)


def write(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (a temporary file of this process, then renamed); inside :func:`deferred` the
    write is kept for the caller instead."""
    kept = _KEPT.get()
    if kept is not None:
        kept.append((Path(path), bytes(data)))
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def source(path: str | Path) -> Path | io.BytesIO | None:
    """Where to read ``path`` from: the bytes last kept for it by :func:`deferred` in this block (a later read
    sees an earlier write, as it would have on disk), else the file when it exists (``None``: neither)."""
    path = Path(path)
    for p, data in reversed(_KEPT.get() or []):
        if p == path:
            return io.BytesIO(data)
    return path if path.is_file() else None


@contextlib.contextmanager
def deferred() -> Iterator[list[tuple[Path, bytes]]]:
    """Keep the block's :func:`write` calls in the yielded list (in call order) instead of writing them."""
    writes: list[tuple[Path, bytes]] = []
    token = _KEPT.set(writes)
    try:
        yield writes
    finally:
        _KEPT.reset(token)


def write_all(writes: list[tuple[Path, bytes]]) -> None:
    """Write what :func:`deferred` kept (in order: a later write of the same path wins, as it would have)."""
    for path, data in writes:
        try:
            write(path, data)
        except OSError as err:  # a cache file: the next run computes it again
            import logging

            logging.getLogger(__name__).warning("could not store %s: %s", path, err)
