"""nbval really guards the published numbers: a notebook whose stored output differs from what the code
produces must fail. Runs nbval on a temp copy of the review notebook, once as committed (passes) and once with
one stored number altered (fails).

Needs the sample's processed tables: the ``sample_results`` fixture produces them when ``make results`` has not.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "06_review.ipynb"

pytestmark = pytest.mark.usefixtures("sample_results")


def _nbval(nb: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
         "--nbval-sanitize-with", str(ROOT / "notebooks" / "sanitize.cfg"), str(nb)],
        capture_output=True, text=True, cwd=nb.parent, timeout=600,
    )


def _alter_first_number(nb: dict, marker: str) -> str:
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", []))
            if marker in text:
                number = text.split()[0]
                out["text"] = [text.replace(number, str(int(number) + 1), 1)]
                return number
    raise AssertionError(f"no stored output containing {marker!r}")


def test_committed_notebook_passes_and_altered_count_fails(tmp_path):
    ok = tmp_path / "ok.ipynb"
    ok.write_text(NOTEBOOK.read_text(encoding="utf-8"), encoding="utf-8")
    res = _nbval(ok)
    assert res.returncode == 0, res.stdout[-3000:]

    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    _alter_first_number(nb, "responses coded by an analyst")
    bad = tmp_path / "altered.ipynb"
    bad.write_text(json.dumps(nb), encoding="utf-8")
    res = _nbval(bad)
    assert res.returncode != 0
    assert "responses coded by an analyst" in res.stdout  # the mismatch report names the changed output
