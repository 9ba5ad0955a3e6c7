"""PyArrow's buffers from its jemalloc pool during a run (:func:`analysis.memory.arrow_jemalloc`)."""

from __future__ import annotations

import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis import memory, pipeline


@pytest.fixture
def default_pool(monkeypatch):
    """No pool chosen by the environment, as in a fresh process; the process's pool restored after."""
    monkeypatch.delenv(memory.ARROW_POOL_ENV, raising=False)
    before = pa.default_memory_pool()
    yield before
    pa.set_memory_pool(before)


def _child_pool() -> str:
    """The default pool of a fresh interpreter started now (PyArrow reads the variable on import)."""
    code = "import pyarrow; print(pyarrow.default_memory_pool().backend_name)"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_arrow_jemalloc_allocates_from_jemalloc_here_and_in_new_interpreters_then_restores(default_pool, tmp_path):
    start = default_pool.backend_name
    child_start = _child_pool()
    table = pa.table({"text": [f"answer {i} " * 20 for i in range(20_000)]})
    pq.write_table(table, tmp_path / "t.parquet")
    with memory.arrow_jemalloc() as switched:
        assert switched is True
        assert pa.default_memory_pool().backend_name == "jemalloc"
        assert os.environ[memory.ARROW_POOL_ENV] == "jemalloc"
        assert _child_pool() == "jemalloc"
        held = pa.jemalloc_memory_pool().bytes_allocated()
        read = pq.read_table(tmp_path / "t.parquet")  # a reader with no pool given allocates from the default
        assert pa.jemalloc_memory_pool().bytes_allocated() > held
        assert read.equals(table)
    assert pa.default_memory_pool().backend_name == start
    assert memory.ARROW_POOL_ENV not in os.environ
    assert _child_pool() == child_start
    assert read.column(0).to_pylist()[:2] == table.column(0).to_pylist()[:2]  # still readable after the switch back


def test_arrow_jemalloc_restores_the_pool_when_the_block_raises(default_pool):
    start = default_pool.backend_name
    with pytest.raises(RuntimeError), memory.arrow_jemalloc():
        raise RuntimeError("boom")
    assert pa.default_memory_pool().backend_name == start
    assert memory.ARROW_POOL_ENV not in os.environ


def test_arrow_jemalloc_leaves_a_user_setting_alone(default_pool, monkeypatch):
    monkeypatch.setenv(memory.ARROW_POOL_ENV, "system")
    start = pa.default_memory_pool().backend_name
    with memory.arrow_jemalloc() as switched:
        assert switched is False
        assert pa.default_memory_pool().backend_name == start
        assert os.environ[memory.ARROW_POOL_ENV] == "system"
    assert os.environ[memory.ARROW_POOL_ENV] == "system"


def test_a_pipeline_run_allocates_arrow_buffers_from_jemalloc(default_pool, monkeypatch, tmp_path):
    monkeypatch.setenv("ANALYSIS_DATA_PROCESSED", str(tmp_path / "processed"))
    monkeypatch.setenv("ANALYSIS_REPORTS", str(tmp_path / "reports"))
    start = default_pool.backend_name
    seen = []

    def stages(*args, **kwargs):
        seen.append((pa.default_memory_pool().backend_name, os.environ.get(memory.ARROW_POOL_ENV)))
        raise RuntimeError("stop here")

    monkeypatch.setattr(pipeline, "_run_stages", stages)
    with pytest.raises(RuntimeError, match="stop here"):
        pipeline.run("sample")
    assert seen == [("jemalloc", "jemalloc")]
    assert pa.default_memory_pool().backend_name == start
