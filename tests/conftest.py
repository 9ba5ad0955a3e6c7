"""Shared pytest setup: offline, deterministic, headless."""

from __future__ import annotations

import analysis  # noqa: F401  (first: pins BLAS threads before numpy loads)

# isort: split
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="module")
def cannabis() -> pd.DataFrame:
    """Real ArgKP arguments on one motion (shuffled, seeded) with ``label`` support/oppose and ``text``."""
    arg = pd.read_csv(Path(__file__).parent / "fixtures" / "positions" / "argkp_two_topics.csv")
    sub = arg[arg["topic"] == "We should legalize cannabis"].sample(frac=1.0, random_state=3).reset_index(drop=True)
    return sub.assign(label=np.where(sub["stance"] == 1, "support", "oppose"), text=sub["argument"])


@pytest.fixture(scope="session")
def sample_results() -> Path:
    """The bundled sample's processed tables and reports in the default folders, produced when missing.

    ``make results`` (run before the tests in CI) leaves every stage up to date, so this is then a cheap hash
    check; on a fresh clone it runs the pipeline once (about two minutes) instead of skipping the tests that
    read those outputs. Returns the sample's reports folder.
    """
    from analysis import paths, pipeline

    pipeline.run("sample")
    reports = paths.reports_dir("sample")
    if not (reports / "summary.md").exists():
        pytest.fail(f"the sample pipeline ran but wrote no {reports / 'summary.md'}")
    return reports
