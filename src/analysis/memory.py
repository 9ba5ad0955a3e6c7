"""Giving memory a process has freed back to the system, in the middle of a stage.

glibc keeps the heap pages of freed objects (strings of a few hundred bytes and more are allocated there, among
objects that live on) and PyArrow's pool keeps freed buffers for reuse: both stay this process's, and count in its
memory (and in a forked child's, which shares them), until handed back. Large numpy arrays are mapped apart and
never reuse them. Nothing computed depends on these calls. Between stages the pipeline also collects reference
cycles (:func:`analysis.pipeline.release_memory`).

A run also asks the kernel for no transparent huge pages for NumPy's arrays (:func:`small_pages`), and has PyArrow
allocate from its jemalloc pool rather than its default mimalloc pool (:func:`arrow_jemalloc`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Callable, Iterator

#: NumPy's environment variable for its huge-page advice, read when NumPy is imported (``0``: no advice). A run
#: leaves it, and the advice, as the user set it when it is set.
HUGE_PAGES_ENV = "NUMPY_MADVISE_HUGEPAGE"

#: PyArrow's environment variable naming its default memory pool, read when PyArrow is imported. A run leaves it,
#: and the pool, as the user set it when it is set.
ARROW_POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"


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


def _advice_switch() -> Callable[[bool], bool] | None:
    """NumPy's ``_set_madvise_hugepage`` (sets the advice, returns the previous setting), or ``None`` when absent."""
    try:
        from numpy._core import multiarray  # noqa: PLC0415 - NumPy 2
    except ImportError:  # pragma: no cover - NumPy 1
        from numpy.core import multiarray  # noqa: PLC0415
    return getattr(multiarray, "_set_madvise_hugepage", None)


@contextlib.contextmanager
def small_pages() -> Iterator[bool]:
    """Inside the block, NumPy asks for no transparent huge pages for its new arrays (this process, the processes
    forked in the block, which inherit the setting, and the interpreters started in it, through
    :data:`HUGE_PAGES_ENV`); both are restored after. Yields whether the advice was switched off here.

    NumPy advises the kernel to back every array of 4 MiB or more with transparent huge pages
    (``madvise(MADV_HUGEPAGE)``). Where the kernel honours the advice (``/sys/kernel/mm/transparent_hugepage/
    enabled`` set to ``madvise`` or ``always``, as here), the first write to each 2 MiB of a new array makes it find
    (compacting memory when it is fragmented) and zero a whole huge page. The stages make many short-lived large
    arrays: at 200,000 responses with 90% campaign letters ``perf`` put a third of the themes stage's samples in
    the kernel's ``clear_page_erms`` under ``do_huge_pmd_anonymous_page`` (found by session 18's themes helper),
    and the stages' system CPU time fell without the advice (see ``docs/performance.md``). The advice changes where
    memory comes from, never what is computed. When the user has set :data:`HUGE_PAGES_ENV`, nothing is changed.
    """
    if HUGE_PAGES_ENV in os.environ:
        yield False
        return
    switch = _advice_switch()
    os.environ[HUGE_PAGES_ENV] = "0"
    before = switch(False) if switch is not None else None
    try:
        yield True
    finally:
        if switch is not None:
            switch(before)
        os.environ.pop(HUGE_PAGES_ENV, None)


@contextlib.contextmanager
def arrow_jemalloc() -> Iterator[bool]:
    """Inside the block, PyArrow allocates from its jemalloc pool (this process, the processes forked in the block,
    and the interpreters started in it, through :data:`ARROW_POOL_ENV`); the previous pool and variable are restored
    after (buffers allocated meanwhile are freed to the pool they came from). Yields whether the pool was switched
    here: not when the user has set :data:`ARROW_POOL_ENV`, nor when this PyArrow has no jemalloc (Windows builds).

    PyArrow's Linux wheels allocate from mimalloc by default. On this project's machines its first allocations of a
    few gigabytes cost several times their size in system CPU time: reading the 1,000,000-response benchmark's
    ``core_answers_clean`` table (176 MB of Parquet, 3.4 GB of Arrow strings) took 11-22 s wall and 18-38 s of system
    CPU with mimalloc, 2.7-3.2 s and 2.3-3.2 s with jemalloc, and the ingest stage at that size went from 139.9 s
    wall (73.0 s system CPU) to 82.6 s (18.4 s) (``docs/performance.md``). The pool decides where buffers live,
    never what is computed.
    """
    if ARROW_POOL_ENV in os.environ:
        yield False
        return
    import pyarrow  # noqa: PLC0415 - the stages import it anyway

    try:
        pool = pyarrow.jemalloc_memory_pool()
    except (NotImplementedError, AttributeError):  # built without jemalloc
        yield False
        return
    before = pyarrow.default_memory_pool()
    pyarrow.set_memory_pool(pool)
    os.environ[ARROW_POOL_ENV] = "jemalloc"
    try:
        yield True
    finally:
        pyarrow.set_memory_pool(before)
        os.environ.pop(ARROW_POOL_ENV, None)
