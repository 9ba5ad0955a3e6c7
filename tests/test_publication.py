"""Nothing published carries a planted identifier: every PII value the sample generator planted (names,
emails, phones, addresses) is searched for, verbatim, in every piece of text published under the sample's
reports folder, read as the publication guard reads it (Markdown, HTML and the SVG charts decoded from its
``data:`` URIs, CSV, alt text, every workbook part, PNG text chunks); and the sample's reports pass the guard
with its exact check against the sample's respondents. Needs the reports (``make results`` writes them; CI runs
it before the tests)."""

from __future__ import annotations

import re
from collections import defaultdict

import pandas as pd
import pytest

from analysis import paths
from analysis.redaction import guard
from analysis.redaction.guard import published_text

REPORTS = paths.reports_dir("sample")
PII = paths.raw_dir("sample") / "ground_truth" / "pii.csv"

pytestmark = pytest.mark.usefixtures("sample_results")  # produces the sample's reports when missing


def _published_text() -> dict[str, str]:
    texts: dict[str, list[str]] = defaultdict(list)
    for file, _where, text in published_text(REPORTS):
        texts[file].append(text)
    return {file: "\n".join(parts) for file, parts in texts.items()}


def test_no_planted_identifier_is_published():
    planted = pd.read_csv(PII, dtype=str, keep_default_na=False)
    values = {v.strip() for v in planted["value"] if len(v.strip()) >= 5}
    assert len(values) > 100  # the check has something to find
    texts = _published_text()
    assert {"summary.md", "summary.html", "tables.xlsx"} <= set(texts)
    assert any(f.endswith(".svg") for f in texts) and any(f.endswith(".alt.txt") for f in texts)
    # whole-word match: a planted first name "Moana" is not leaked by "Te Moana-nui-a-Kiwa" (the Pacific Ocean)
    patterns = {v: re.compile(rf"(?<![\w-]){re.escape(v)}(?![\w-])") for v in values}
    leaks = [(v, f) for v in sorted(values) for f, t in texts.items() if v in t and patterns[v].search(t)]
    assert not leaks, leaks[:10]


def test_the_sample_reports_pass_the_guard_with_the_exact_check():
    guard(REPORTS, paths.processed_dir("sample"))  # raises PublicationGuardError listing what it found
