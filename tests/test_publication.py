"""Nothing published carries a planted identifier: every PII value the sample generator planted (names,
emails, phones, addresses) is searched for, verbatim, in every text file and workbook cell under the sample's
reports folder. Needs the reports (``make results`` writes them; CI runs it before the tests)."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from openpyxl import load_workbook

from analysis import paths

REPORTS = paths.reports_dir("sample")
PII = paths.raw_dir("sample") / "ground_truth" / "pii.csv"

pytestmark = pytest.mark.skipif(not (REPORTS / "summary.md").exists(), reason="run `make results` first")


def _published_text() -> dict[str, str]:
    texts = {}
    for p in sorted(REPORTS.rglob("*")):
        if p.suffix in (".md", ".html", ".csv", ".svg", ".txt", ".json"):
            texts[p.relative_to(REPORTS).as_posix()] = p.read_text(encoding="utf-8", errors="replace")
    wb = load_workbook(REPORTS / "tables.xlsx", read_only=True)
    for ws in wb.worksheets:
        cells = [str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None]
        texts[f"tables.xlsx!{ws.title}"] = "\n".join(cells)
    return texts


def test_no_planted_identifier_is_published():
    planted = pd.read_csv(PII, dtype=str, keep_default_na=False)
    values = {v.strip() for v in planted["value"] if len(v.strip()) >= 5}
    assert len(values) > 100  # the check has something to find
    texts = _published_text()
    # whole-word match: a planted first name "Moana" is not leaked by "Te Moana-nui-a-Kiwa" (the Pacific Ocean)
    patterns = {v: re.compile(rf"(?<![\w-]){re.escape(v)}(?![\w-])") for v in values}
    leaks = [(v, f) for v in sorted(values) for f, t in texts.items() if v in t and patterns[v].search(t)]
    assert not leaks, leaks[:10]
