"""NumPy's huge-page advice switched off for a run (:func:`analysis.memory.small_pages`)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from analysis import memory, pipeline


def _advice() -> bool:
    """NumPy's current setting (read by setting it and putting it back)."""
    switch = memory._advice_switch()
    assert switch is not None  # the NumPy the project pins has the setting
    now = switch(True)
    switch(now)
    return now


@pytest.fixture
def advice_on(monkeypatch):
    """The advice on and the environment variable unset, as in a fresh process on Linux; restored after."""
    monkeypatch.delenv(memory.HUGE_PAGES_ENV, raising=False)
    switch = memory._advice_switch()
    before = switch(True)
    yield
    switch(before)


def _child_advice() -> bool:
    """The setting of a fresh interpreter started now (NumPy reads the environment variable on import)."""
    code = "from analysis import memory; print(memory._advice_switch()(True))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip() == "True"


def test_small_pages_switches_the_advice_off_here_and_in_new_interpreters_then_restores_it(advice_on):
    assert _child_advice() is True
    with memory.small_pages() as switched:
        assert switched is True
        assert _advice() is False
        assert os.environ[memory.HUGE_PAGES_ENV] == "0"
        assert _child_advice() is False
        a = np.arange(1 << 20, dtype=np.float64)  # 8 MiB: NumPy would advise huge pages for it
        assert float(a.sum()) == float((1 << 20) * ((1 << 20) - 1) // 2)
    assert _advice() is True
    assert memory.HUGE_PAGES_ENV not in os.environ
    assert _child_advice() is True


def test_small_pages_restores_the_advice_when_the_block_raises(advice_on):
    with pytest.raises(RuntimeError), memory.small_pages():
        raise RuntimeError("boom")
    assert _advice() is True
    assert memory.HUGE_PAGES_ENV not in os.environ


def test_small_pages_leaves_a_user_setting_alone(advice_on, monkeypatch):
    monkeypatch.setenv(memory.HUGE_PAGES_ENV, "1")
    with memory.small_pages() as switched:
        assert switched is False
        assert _advice() is True
        assert os.environ[memory.HUGE_PAGES_ENV] == "1"
    assert os.environ[memory.HUGE_PAGES_ENV] == "1"


def test_a_pipeline_run_computes_with_the_advice_off(advice_on, monkeypatch, tmp_path):
    monkeypatch.setenv("ANALYSIS_DATA_PROCESSED", str(tmp_path / "processed"))
    monkeypatch.setenv("ANALYSIS_REPORTS", str(tmp_path / "reports"))
    seen = []

    def stages(*args, **kwargs):
        seen.append((_advice(), os.environ.get(memory.HUGE_PAGES_ENV)))
        raise RuntimeError("stop here")

    monkeypatch.setattr(pipeline, "_run_stages", stages)
    with pytest.raises(RuntimeError, match="stop here"):
        pipeline.run("sample")
    assert seen == [(False, "0")]
    assert _advice() is True
