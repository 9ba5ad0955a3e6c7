"""The committed notebooks are the source: structure, prose and the shared set-up they rely on (fast)."""

from __future__ import annotations

import io
import logging
import re
from contextlib import redirect_stdout
from pathlib import Path

import nbformat
import pytest

from analysis import notebooks, paths

ROOT = Path(__file__).resolve().parents[1]
STEPS = ["01_ingest", "02_campaigns", "03_themes", "04_positions", "05_results", "06_review"]


def _read(stem: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)


def test_one_notebook_per_step_and_no_generator():
    assert [p.stem for p in notebooks.notebook_paths()] == STEPS
    assert not (ROOT / "scripts" / "build_notebooks.py").exists()
    with pytest.raises(ValueError, match="99_nothing"):
        notebooks.notebook_paths(["99_nothing"])


@pytest.mark.parametrize("stem", STEPS)
def test_notebook_explains_runs_through_pipeline_and_draws(stem):
    nb = _read(stem)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    prose = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert len(prose.split()) >= 150, f"{stem}: {len(prose.split())} words of explanation"
    assert re.search(r"How to (change|add|resolve)", prose), f"{stem} does not say how to change the result"
    assert "Check" in prose
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and 'consultation = "sample"' in params[0].source
    assert "nb.setup()" in code and "nb.prepare(consultation" in code
    assert "logging.disable" not in code
    assert not re.search(r"\b(counts_stage|counts|report|themes|ingest|campaigns|positions)\.run\(", code)
    assert "nb.show" in code  # at least one chart


def test_results_notebook_reads_the_report_never_recomputes():
    code = "\n".join(c.source for c in _read("05_results").cells if c.cell_type == "code")
    assert 'reports_dir / "summary.md"' in code and "nb.show_chart" in code
    assert "theme_counts" not in code and "build_report" not in code


def test_setup_prints_stage_warnings_without_paths_or_timestamps(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYSIS_DATA_PROCESSED", str(tmp_path / "processed"))
    logger = logging.getLogger("analysis")
    saved = logger.handlers[:], logger.level, logger.propagate
    buf = io.StringIO()
    try:
        with redirect_stdout(buf):
            notebooks.setup()
            notebooks.setup()  # idempotent: one handler
            log = logging.getLogger("analysis.themes.stage")
            log.info("not shown")
            log.warning("table %s is odd", paths.processed_dir("sample") / "x.csv")
            with notebooks._quiet():
                log.warning("hidden while upstream stages are brought up to date")
            log.warning("shown again")
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]
    assert buf.getvalue() == ("WARNING analysis.themes.stage: table <processed>/sample/x.csv is odd\n"
                              "WARNING analysis.themes.stage: shown again\n")


def test_prepare_rejects_an_unknown_stage():
    with pytest.raises(ValueError, match="unknown stage"):
        notebooks.prepare("sample", stages=("nope",))


def test_figures_render_to_the_same_png_bytes():
    import pandas as pd

    fig = notebooks.bar_chart(pd.Series({"a": 3, "b": 1}), title="t", xlabel="n")
    assert notebooks.png(fig) == notebooks.png(fig)
    assert notebooks.png(fig).startswith(b"\x89PNG")
