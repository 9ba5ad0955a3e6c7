"""The redaction fast paths find exactly what the scans they replace find (#18: campaign copies at 1M).

Each fast path is compared with the former computation, which stays expressible: ``pattern.finditer`` for the
gated scans (:mod:`analysis.redaction.scan`), every clause start filtered for the sign-off and label words,
``frozenset.isdisjoint`` for the digit test and ``str.lower`` for the shared lower-case text. The texts are
real (the ArgKP and Pol.is fixtures), the PII test corpus, the bundled sample's answers, and crafted edge cases
(look-behind failures, string starts, non-ASCII words).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from pii_corpus import build_corpus

from analysis.redaction import names as N
from analysis.redaction import patterns as pp
from analysis.redaction import scan

FIXTURES = Path(__file__).parent / "fixtures" / "pii"
SAMPLE = Path(__file__).parents[1] / "data" / "raw" / "sample"

EDGE = [
    "", "A B", "xJohn Smith", "'John Smith", "’John Smith", "_John Smith", "1John Smith", "McDonald Jones said",
    "Mr Smith", "xMr Smith", "Mrs. Jones", "Dr\tAroha Ngata", "I'm Jack Henare", "I am Māori", "It’s Jane Doe",
    "This is Jane.", "my name is jane smith", "xmy name is jo", "MY NEIGHBOUR John Smith", "our late friend Ana Lee",
    "Anna van der Berg and Jean-Luc Picard", "Ōtautahi Council, Tēnā koe Hemi,", "Nāku noa, nā\nHemi",
    "Kind regards,\n\nMr. J. R. Smith", "Signed: jane smith", "Ngā mihi. Sincerely,\nMaría José García",
    "ʻOfa atu, Sione", "’Ofa atu, Sione", "…Cheers, Sam.", "a.Thanks, Wellington!", "Yours faithfully,\r\nJ. Bloggs",
    "Submitted by Hana Ngata (Mrs)", "From: Tama Harris <tama@example.com>", "call me on 021 555 1234", "2024-05-01",
    "SINCERELY, JOHN", ")regards Jo", "ﬁne, Thanks", "K\u212aelvin, Dear Jo", "Straße, Dear Jo",
]


def _texts() -> list[str]:
    texts = list(EDGE)
    for name, col in (("argkp_arguments.csv", "argument"), ("polis_statements.csv", "comment-body")):
        with open(FIXTURES / name, encoding="utf-8") as f:
            texts += [row[col] for row in csv.DictReader(f)]
    texts += build_corpus(seed=11, n_letters=150, n_short=150).docs
    export = SAMPLE / "survey_export.csv"
    if export.exists():
        with open(export, encoding="utf-8") as f:
            texts += [v for row in csv.reader(f) for v in row if len(v) > 40]
    # each text again with a sign-off, a title and a self-introduction, and glued to a word before it
    texts += [f"x{t}\n\nKind regards,\nJane Smith" for t in texts[:2000]]
    texts += [f"Dear Mr Jones, I'm {t} said my neighbour Hemi Ngata" for t in texts[:500]]
    return texts


TEXTS = _texts()

GATED = [
    (N._PAIR_RE, N._PAIR_GATE), (N._TITLE_RE, N._TITLE_GATE), (N._INTRO_RE, N._INTRO_GATE),
    (N._RELATIVE_RE, N._RELATIVE_GATE),
]


@pytest.mark.parametrize(("full", "gate"), GATED, ids=lambda p: p.pattern[:24] if isinstance(p, re.Pattern) else "")
def test_gated_scans_find_what_finditer_finds(full, gate):
    assert len(TEXTS) > 1500
    hits = 0
    for text in TEXTS:
        want = [(m.span(), m.lastgroup, m.groups()) for m in full.finditer(text)]
        got = [(m.span(), m.lastgroup, m.groups()) for m in scan.finditer(full, gate, text)]
        assert got == want, text
        hits += len(want)
        for pos, end in ((3, None), (0, len(text) // 2), (len(text) // 3, len(text) - 2)):
            if end is None or end >= pos:
                want = [m.span() for m in full.finditer(text, pos, end if end is not None else len(text))]
                assert [m.span() for m in scan.finditer(full, gate, text, pos, end)] == want, text
    assert hits  # the texts exercise the pattern


def test_gates_are_fast_to_scan():
    """Each gate starts with a literal or a character set (re's fast skip); the look-behind patterns do not."""
    for _full, gate in GATED:
        assert not gate.pattern.startswith(("(?<", "\\b"))


def test_an_empty_match_is_refused_not_looped():
    with pytest.raises(ValueError):
        list(scan.finditer(re.compile(r"(?<!x)a*"), re.compile(r"a*"), "bbb"))


def test_cue_starts_are_the_clause_starts_the_detectors_read():
    for text in TEXTS:
        assert N._cue_starts(text) == [s for s in N._clause_starts(text) if s[1] in N._CUE_FIRST], text


def test_name_candidates_match_the_unfiltered_clause_starts():
    for text in TEXTS:
        starts = N._clause_starts(text)
        former = N._signoff_names(text, starts) + N._label_names(text, starts) + N._context_names(text)
        former += N._full_names(text) + N._cued_names(text)
        assert N.name_candidates(text) == (former if text else []), text


def test_digit_and_lower_case_helpers_match_the_former_computations():
    digits = frozenset("0123456789")
    for text in [*TEXTS, "٣", "１２", "x\u00b2", "9"]:  # Arabic-Indic and full-width digits are not ASCII digits
        assert pp.has_digit(text) == (not digits.isdisjoint(text))
        assert pp.lowered(text) == text.lower()
