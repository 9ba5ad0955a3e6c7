"""The guard's exact check at scale: many respondents sharing a first name, values at the very end of a text."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from analysis.redaction.guard import RespondentValues, respondent_values

GIVEN = ["Mia", "Tama", "John", "Aroha"]
SURNAMES = ["Williams", "Harris", "Smith", "Ngata", "Brown", "Te Whare", "van der Berg"]


def _brute_force(values: list[tuple[str, str]], text: str) -> set[tuple[int, int, str]]:
    """Every ``(start, end, kind)`` where a value's words appear consecutively as whole words (case-insensitive)."""
    words = [(m.start(), m.end(), m.group(0).lower()) for m in re.finditer(r"\w+", text)]
    found = set()
    for value, kind in values:
        toks = [t.lower() for t in re.findall(r"\w+", value)]
        for i in range(len(words) - len(toks) + 1):
            if [w for _, _, w in words[i:i + len(toks)]] == toks:
                found.add((words[i][0], words[i + len(toks) - 1][1], kind))
    return found


def test_values_sharing_a_first_word_are_each_found_and_nothing_else():
    values = [(f"{g} {s}", "RESPONDENT_NAME") for g in GIVEN for s in SURNAMES]
    values += [("Mia", "RESPONDENT_NAME"), ("John Smith Trust", "ORGANISATION"), ("Tama Harris", "ORGANISATION")]
    rv = RespondentValues()
    for v, kind in values:
        rv.add(v, kind)
    texts = ["Thanks to JOHN  smith and john smith trust; also Mia.",
             "Nobody here: Johnson Smithers, Miami, Tama-Harrison.",
             "Ends with a name: Aroha van der Berg",
             "Ends early: Aroha van der",  # a value longer than what is left is not found (and does not fail)
             "Tama Harris, tama harris!"]
    for text in texts:
        assert set(rv.find(text)) == _brute_force(values, text), text
    assert rv.find("no values here at all") == []
    assert RespondentValues().find("John Smith") == []


def test_a_repeated_value_is_kept_once_per_kind():
    rv = RespondentValues()
    for _ in range(3):
        rv.add("Mia Williams", "RESPONDENT_NAME")
    rv.add("Mia Williams", "ORGANISATION")
    assert sorted(rv.find("by Mia Williams")) == [(3, 15, "ORGANISATION"), (3, 15, "RESPONDENT_NAME")]


def test_respondent_values_from_parquet_read_only_the_columns_they_need(tmp_path: Path):
    n = 2_000  # many respondents sharing few first names: each is found
    df = pd.DataFrame({
        "response_id": [f"r{i}" for i in range(n)],
        "respondent_name": [f"{GIVEN[i % 4]} {SURNAMES[i % 7]}{i}" for i in range(n)],
        "respondent_email": [f"p{i}@example.org" for i in range(n)],
        "organisation": ["Kiwi Open Source Group" if i % 2 else "Quiet Trust" for i in range(n)],
        "consent": ["publish_named" if i % 2 else "do_not_publish" for i in range(n)],
        "notes": [[i] for i in range(n)],  # a column the check never reads (not even a string)
    })
    df.to_parquet(tmp_path / "core_responses.parquet")
    rv = respondent_values(tmp_path)
    text = "We thank john smith1234, Aroha Ngata1991 (p7@example.org) and the Quiet Trust; Kiwi Open Source Group."
    kinds = sorted(kind for _, _, kind in rv.find(text))
    assert kinds == ["ORGANISATION", "RESPONDENT_EMAIL", "RESPONDENT_NAME", "RESPONDENT_NAME"]
    df.drop(columns="consent").to_parquet(tmp_path / "core_responses.parquet")
    with pytest.raises(ValueError, match="consent"):
        respondent_values(tmp_path)
    with pytest.raises(FileNotFoundError):
        respondent_values(tmp_path / "missing")
