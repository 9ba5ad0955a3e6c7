"""The one-window shortcut of :func:`quotes.trim_quote` (a short one-paragraph text without a token is its own quote)
against the sentence-by-sentence trim it skips (:func:`quotes._trim_sentences`) and against every window tried
(:func:`quotes.trim_quote_each`), on random short texts made of the characters the rules turn on."""

from __future__ import annotations

import random

import pytest

from analysis.report import quotes

#: Pieces of the random texts: sentence ends, closing marks, whitespace of every kind, words; few newlines and
#: brackets (a text holding one is never taken by the shortcut, some are kept to show it).
PARTS = ["word", "Two words", ".", "!", "?", "\u2026", " ", "  ", "\t", "\r", '"', "'", "\u201d", "\u2019", ")", "]",
         "\u00a0", "\u2028", "\u3000", "x", "A", ",", "Dear Sir,", "e.g.", '." ', ".) ", "!\u201d  "]
RARE = ["\n", "\n\n", "[", "[NAME]"]


def _short_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = [rng.choice(PARTS) for _ in range(rng.randint(0, 25))]
        if rng.random() < 0.1:
            parts.insert(rng.randint(0, len(parts)), rng.choice(RARE))
        out.append("".join(parts))
    return out


@pytest.mark.parametrize("max_chars", [10, 40, 300])
def test_one_window_shortcut_equals_the_sentence_trim(max_chars) -> None:
    taken = 0
    for text in _short_texts(20_000, seed=max_chars):
        got = quotes.trim_quote(text, max_chars)
        assert got == quotes._trim_sentences(text, max_chars), repr(text)
        assert got == quotes.trim_quote_each(text, max_chars), repr(text)
        end = len(text.rstrip())
        taken += 0 < end <= max_chars and quotes._one_window(text, end)
    assert taken > 2_000  # the shortcut was compared, not only the texts it leaves alone


def test_what_the_shortcut_leaves_to_the_sentences() -> None:
    """Known answers where the whole text is not the quote: closing marks after the last sentence's end and before
    trailing whitespace stay out of it; a paragraph break or a token changes the window; too long a text is cut."""
    cases = [
        ('He said "no." ', 'He said "no.', 300),
        ("Fine (really.)  ", "Fine (really.", 300),
        ("One.\n\nTwo.", "One.", 300),
        ("A [NAME] said. Then more.", "Then more.", 300),
        ("A [NAME] only.", "A [NAME] only.", 300),
        ("First one. Second one.", "First one.", 15),
    ]
    for text, want, max_chars in cases:
        end = len(text.rstrip())
        assert not (0 < end <= max_chars and quotes._one_window(text, end)), repr(text)
        assert quotes.trim_quote(text, max_chars).text == want == quotes.trim_quote_each(text, max_chars).text
    assert quotes.trim_quote('He said "no."  Fine', 300).text == 'He said "no."  Fine'  # closers mid-text: kept
    assert quotes.trim_quote("   \t ", 300) is None
