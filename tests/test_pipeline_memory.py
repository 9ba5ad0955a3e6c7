"""``pipeline.release_memory``: the heap a finished stage freed goes back to the system before the next stage."""

from __future__ import annotations

import sys

import pytest

from analysis.pipeline import release_memory


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS line")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and glibc's malloc_trim")
def test_release_memory_returns_freed_heap_pages():
    # 4 KB buffers come from the C heap (not Python's small-object arenas, not mmap); keeping every 64th alive
    # pins the heap's top, so free() alone cannot shrink it and the freed pages stay resident until trimmed.
    blocks = [bytes([i % 251]) * 4096 for i in range(40_000)]
    kept = blocks[::64]
    del blocks
    before = _rss_mb()
    assert release_memory() is True
    after = _rss_mb()
    assert len(kept) == 625
    assert before - after > 60, (before, after)  # ~156 MB were freed; most of it leaves the process
