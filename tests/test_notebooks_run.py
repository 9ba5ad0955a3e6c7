"""The analyst notebooks run end to end for a consultation, on copies of the bundled data.

One module-scoped workspace (raw, processed and reports folders under a temp dir, selected with the
``ANALYSIS_*`` environment variables, which the notebook kernels inherit) is shared by the tests, in order:

1. ``analysis.notebooks.execute("sample")`` runs all six notebooks with papermill into
   ``<processed>/sample/notebooks/`` with HTML copies; every notebook shows a chart and no error.
2. A theme added to ``codebook.yml``, with two answers coded with it in ``overrides.csv``, appears in
   ``03_themes`` and in the published tables shown by ``05_results`` once those two are re-executed.
3. A stage warning (an open question the codebook does not cover) is printed in ``03_themes``'s output,
   without the temp folder's absolute path.
4. All six run for the Pol.is consultation too.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis import paths
from analysis.notebooks import execute, notebook_paths

pytestmark = pytest.mark.slow

SAMPLE, POLIS = "sample", "polis-nz-biodiversity"
NEW_THEME = {
    "id": "test_fraud_victims",
    "label": "Victims of online fraud need faster help (test theme)",
    "description": "Victims of online scams and fraud need the police to act quickly across borders.",
    "seed_phrases": ["online fraud and scams hurt New Zealanders", "victims of scams get no help"],
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """Temp raw/processed/reports roots holding copies of the two bundled consultations."""
    root = tmp_path_factory.mktemp("notebooks")
    for name in (SAMPLE, POLIS):
        shutil.copytree(paths.raw_dir(name), root / "raw" / name)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANALYSIS_DATA_RAW", str(root / "raw"))
        mp.setenv("ANALYSIS_DATA_PROCESSED", str(root / "processed"))
        mp.setenv("ANALYSIS_REPORTS", str(root / "reports"))
        yield root


def _outputs(nb_path: Path) -> tuple[str, int, list[str]]:
    """(all text outputs joined, number of PNG outputs, error names) of an executed notebook."""
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    texts, pngs, errors = [], 0, []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream":
                texts.append("".join(out["text"]))
            elif out["output_type"] == "error":
                errors.append(f"{out['ename']}: {out['evalue']}")
            else:
                data = out.get("data", {})
                pngs += "image/png" in data
                texts.append("".join(data.get("text/plain", "")))
    return "\n".join(texts), pngs, errors


def _check_all_ran(consultation: str, written: list[Path], *, chartless: tuple[str, ...] = ()) -> dict[str, str]:
    out_dir = paths.processed_dir(consultation) / "notebooks"
    expected = [out_dir / f"{p.stem}{ext}" for p in notebook_paths() for ext in (".ipynb", ".html")]
    assert written == expected
    texts = {}
    for p in notebook_paths():
        text, pngs, errors = _outputs(out_dir / p.name)
        assert not errors, (p.name, errors)
        assert pngs >= 1 or p.stem in chartless, f"{p.name} shows no chart"
        assert (out_dir / f"{p.stem}.html").stat().st_size > 10_000
        texts[p.stem] = text
    return texts


def test_sample_notebooks_execute_into_internal_folder(workspace):
    written = execute(SAMPLE)
    assert all(p.is_relative_to(workspace / "processed" / SAMPLE / "notebooks") for p in written)
    texts = _check_all_ran(SAMPLE, written)
    assert "1 rows rejected" in texts["01_ingest"]  # the scanned PDF without a text layer
    assert "no text layer" in texts["01_ingest"]
    summary = (workspace / "reports" / SAMPLE / "summary.md").read_text(encoding="utf-8")
    first_bullet = next(line for line in summary.splitlines() if line.startswith("- "))
    assert first_bullet in texts["05_results"]  # the published text itself, read back
    assert "WARNING analysis.redaction.guard: publication guard" in texts["05_results"]
    assert str(workspace) not in "".join(texts.values())


def test_new_theme_with_two_codes_shows_in_themes_and_results(workspace):
    raw = workspace / "raw" / SAMPLE
    book = yaml.safe_load((raw / "codebook.yml").read_text(encoding="utf-8"))
    book["questions"]["q1_why"]["themes"].append(NEW_THEME)  # shared by every question (YAML anchor)
    (raw / "codebook.yml").write_text(yaml.safe_dump(book, sort_keys=False, allow_unicode=True), encoding="utf-8")
    clean = pd.read_parquet(workspace / "processed" / SAMPLE / "core_answers_clean.parquet")
    coded = sorted(clean.loc[(clean.question_id == "q1_why") & clean.text_redacted.notna(), "response_id"])[:2]
    with (raw / "overrides.csv").open("a", encoding="utf-8") as f:
        for rid in coded:
            f.write(f"{rid},q1_why,{NEW_THEME['id']},add,coded by the analyst in a test\n")

    written = execute(SAMPLE, names=["03_themes", "05_results"], html=False)
    out_dir = workspace / "processed" / SAMPLE / "notebooks"
    assert written == [out_dir / "03_themes.ipynb", out_dir / "05_results.ipynb"]
    themes_text, _, errors = _outputs(out_dir / "03_themes.ipynb")
    assert not errors
    assert NEW_THEME["id"] in themes_text and NEW_THEME["label"] in themes_text
    results_text, _, errors = _outputs(out_dir / "05_results.ipynb")
    assert not errors
    assert NEW_THEME["label"] in results_text  # in the published theme table read back from reports/


def test_stage_warning_is_shown_in_the_notebook(workspace):
    raw = workspace / "raw" / SAMPLE
    book = yaml.safe_load((raw / "codebook.yml").read_text(encoding="utf-8"))
    del book["questions"]["email_submission"]
    (raw / "codebook.yml").write_text(yaml.safe_dump(book, sort_keys=False, allow_unicode=True), encoding="utf-8")
    execute(SAMPLE, names=["03_themes"], html=False)
    text, _, errors = _outputs(workspace / "processed" / SAMPLE / "notebooks" / "03_themes.ipynb")
    assert not errors
    assert ("WARNING analysis.themes.stage: codebook has no themes for open question email_submission: "
            "its answers all go to 'other'") in text
    assert str(workspace) not in text


def test_polis_notebooks_execute(workspace):
    # no analyst coded a Pol.is statement: the review notebook says so instead of drawing an empty chart
    texts = _check_all_ran(POLIS, execute(POLIS), chartless=("06_review",))
    assert "Protecting and Restoring NZ's Biodiversity" in texts["01_ingest"]
    assert "0 responses coded by an analyst" in texts["06_review"]
