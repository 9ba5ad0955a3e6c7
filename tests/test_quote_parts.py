"""Quotes worked out in two halves, the second by a forked process: the same candidates, quotes and trim store as
in one process (generated consultation with campaign letters, consent and redaction tokens)."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
from test_quote_candidates import _former_candidates, _generated

from analysis.report import quote_parts, quotes


def _args():
    f = _generated(1500)
    return f, (f["answers_clean"], f["answer_themes"], f["answer_positions"], f["responses"])


def test_two_halves_give_the_candidates_and_quotes_of_one_process(monkeypatch, tmp_path) -> None:
    f, args = _args()
    monkeypatch.setattr(quote_parts, "MIN_ANSWERS", 10**9)
    alone = quotes._candidates(*args, 300, trim_store=tmp_path / "one")
    q_alone = quotes.select_quotes(*args, seed=3)
    monkeypatch.setattr(quote_parts, "MIN_ANSWERS", 0)
    monkeypatch.setattr(quote_parts, "WORKERS", 2)
    forks = []
    real = quote_parts.Background
    monkeypatch.setattr(quote_parts, "Background", lambda fn: forks.append(1) or real(fn))
    halves = quotes._candidates(*args, 300, trim_store=tmp_path / "two")
    q_halves = quotes.select_quotes(*args, seed=3)
    assert len(forks) == 2  # both runs really split
    pd.testing.assert_frame_equal(halves, alone, check_exact=True)
    pd.testing.assert_frame_equal(halves, _former_candidates(*args, 300), check_exact=True)
    pd.testing.assert_frame_equal(q_halves, q_alone, check_exact=True)
    assert len(q_halves) > 20 and halves["is_campaign_letter"].any()
    # the trims the fork made were kept with this process's: the same store file, the same mapping
    (one,), (two,) = (tmp_path / "one").glob("trims-*.pkl"), (tmp_path / "two").glob("trims-*.pkl")
    stored_one, stored_two = (pickle.loads(p.read_bytes()) for p in (one, two))
    assert stored_two == stored_one and len(stored_one) > 100
    assert one.name == two.name and one.read_bytes() == two.read_bytes()


def test_a_failing_fork_raises_here(monkeypatch) -> None:
    _, args = _args()
    monkeypatch.setattr(quote_parts, "MIN_ANSWERS", 0)
    monkeypatch.setattr(quote_parts, "WORKERS", 2)

    def broken(answers, used, responses, trim):
        raise ValueError("broken half")

    monkeypatch.setattr(quote_parts, "_forked_part", broken)
    try:
        quotes._candidates(*args, 300)
    except ValueError as err:
        assert "broken half" in str(err)
    else:  # pragma: no cover - the test fails
        raise AssertionError("the fork's error was not raised")


def test_as_objects_keeps_each_element() -> None:
    t = quotes.Trimmed("a", 0, 1, False, False)
    out = quote_parts.as_objects([t, "x", None])
    assert out.dtype == object and out.shape == (3,) and out[0] is t and type(out[1]) is str
    assert np.array_equal(quote_parts.as_objects([]), np.empty(0, dtype=object))
