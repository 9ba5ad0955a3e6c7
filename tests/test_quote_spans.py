"""Sentence spans and quote trimming against the code they replace: :func:`quotes._iter_spans` (breaks found from
their first character) against the :data:`quotes._SENTENCE_BREAK` search, and :func:`quotes.trim_quote` (sentences
read lazily, tokens by span) against :func:`quotes.trim_quote_each` (every window tried), on real texts (ArgKP
arguments, Pol.is statements, a generated consultation's campaign copies) and on random texts made of the characters
the rules turn on."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest
from generated_consultation import generate

from analysis.report import quotes

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def real_texts() -> list[str]:
    texts = pd.read_csv(FIXTURES / "themes" / "argkp_arguments.csv")["argument"].tolist()
    texts += pd.read_csv(FIXTURES / "pii" / "polis_statements.csv")["comment-body"].tolist()
    texts += pd.read_csv(FIXTURES / "themes" / "polis_biodiversity_comments.csv").iloc[:, -1].astype(str).tolist()
    texts += generate(400).answers["text_redacted"].tolist()  # campaign letters: greetings, paragraphs, sign-offs
    rng = random.Random(5)
    joined = ["\n\n".join(rng.sample(texts, 4)) for _ in range(300)]  # several paragraphs, as letters
    tokened = [t.replace(" the ", " [NAME] ", 1).replace(" and ", " [EMAIL] and ", 1) for t in texts[::3]]
    return [t for t in texts + joined + tokened if isinstance(t, str)]


def _random_texts(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    parts = ["word", "Two words", ".", "!", "?", "\u2026", " ", "  ", "\n", "\n\n", " \n ", "\t", "\r\n", '"', "'",
             "\u201d", "\u2019", ")", "]", "[", "[NAME]", "[PHONE 2]", "\u00a0", "\u2028", "x", "A", ",", "Dear Sir,"]
    return ["".join(rng.choice(parts) for _ in range(rng.randint(0, 40))) for _ in range(n)]


def test_spans_equal_the_regex_search(real_texts):
    for text in real_texts + _random_texts(20_000):
        assert list(quotes._iter_spans(text)) == list(quotes._iter_spans_regex(text)), repr(text)


@pytest.mark.parametrize("max_chars", [15, 60, 300])
def test_trim_quote_equals_every_window_tried(real_texts, max_chars):
    for text in real_texts + _random_texts(5_000, seed=max_chars):
        assert quotes.trim_quote(text, max_chars) == quotes.trim_quote_each(text, max_chars), repr(text)


def test_the_comparison_can_fail():
    """Known answers of both: the token-free window wins over an earlier one, a paragraph break ends a window."""
    text = "First sentence with [NAME] in it. Second sentence.\n\nThird one."
    for trim in (quotes.trim_quote, quotes.trim_quote_each):
        assert trim(text, 300).text == "Second sentence."
        assert trim("Short. Then a much longer second sentence here.", 10).text == "Short."
        assert trim("A [NAME] only.", 300).text == "A [NAME] only."
