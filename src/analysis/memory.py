"""Giving memory a process has freed back to the system, in the middle of a stage.

glibc keeps the heap pages of freed objects (strings of a few hundred bytes and more are allocated there, among
objects that live on) and PyArrow's pool keeps freed buffers for reuse: both stay this process's, and count in its
memory (and in a forked child's, which shares them), until handed back. Large numpy arrays are mapped apart and
never reuse them. Nothing computed depends on these calls. Between stages the pipeline also collects reference
cycles (:func:`analysis.pipeline.release_memory`).
"""

from __future__ import annotations

import ctypes


def trim_heap() -> bool:
    """Ask glibc to return its free heap pages (``malloc_trim``); ``False`` where the C library has none (macOS,
    Windows)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return False
    trim(0)
    return True


def give_back() -> None:
    """Return PyArrow's unused pool memory, then glibc's free heap pages (:func:`trim_heap`)."""
    import pyarrow  # noqa: PLC0415 - loaded already wherever tables were read

    pyarrow.default_memory_pool().release_unused()
    trim_heap()
