"""Each quotable answer's quote worked out in two halves, the second by a forked process.

:func:`~analysis.report.quotes._candidates` works out one quote per answer that may be quoted: consent, attribution
and the trimmed text (:func:`~analysis.report.quotes.trim_quote`, once per distinct text). At a million responses
with 90% campaign letters that is over a million answers on one core. Every answer's quote depends on that answer
alone (and the trims on their text alone), so the answers are cut in two halves of rows: a process forked
(:class:`~analysis.report.background.Background`) works out the second half while this one works out the first.
The fork reads the same frames (shared pages) and returns its quotes and the trims it made, which join this
process's :class:`~analysis.report.quotes.TrimStore` (so the store file is written as before). The values are the
same wherever they were computed: only the Python objects differ (a campaign letter trimmed in both halves is two
equal objects).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.report.background import Background

if TYPE_CHECKING:
    from analysis.report.quotes import Trimmed, TrimStore

log = logging.getLogger(__name__)

#: Processes working out quotes (a second only with two CPUs).
WORKERS = min(2, os.cpu_count() or 1)
#: Answers from which the second half is worked out by a fork (a fork and its reply cost well under a second; the
#: bundled sample has about 3,000 quotable answers and takes well under a second for all of them).
MIN_ANSWERS = 50_000


@dataclass
class QuotePart:
    """The quotes of some answers, in row order.

    Attributes:
        rows: Row numbers (in ``core_answers_clean``) of the answers with a quote.
        trims: Their quotes.
        letters: Whether each quote is its campaign letter.
        cids: Each one's campaign id (``None`` unless a campaign copy).
        attribs: Each one's attribution.
        seen: Row numbers of every answer whose texts were trimmed (quoted or not).
    """

    rows: list[int]
    trims: list[Trimmed]
    letters: list[bool]
    cids: list[str | None]
    attribs: list[str]
    seen: np.ndarray


def quote_part(answers_clean: pd.DataFrame, used: np.ndarray, responses: pd.DataFrame | None,
               trim: TrimStore) -> QuotePart:
    """The quotes of the publishable answers at rows ``used`` (ascending), in this process."""
    from analysis.report.quotes import _answer_quote, _publishable_answers  # noqa: PLC0415 - quotes imports this

    rows: list[int] = []
    trims: list[Trimmed] = []
    letters: list[bool] = []
    cids: list[str | None] = []
    attribs: list[str] = []
    seen: list[int] = []
    for ai, text, add, copy, cid, attrib in _publishable_answers(answers_clean, used, responses):
        seen.append(ai)
        is_copy = bool(copy) and isinstance(cid, str)
        q = _answer_quote(text, add, is_copy, trim)
        if q is not None:
            trimmed, letter = q
            rows.append(ai)
            trims.append(trimmed)
            letters.append(letter)
            cids.append(cid if is_copy else None)
            attribs.append(f"{attrib} (campaign letter)" if letter else attrib)
    return QuotePart(rows, trims, letters, cids, attribs, np.asarray(seen, dtype=np.int64))


def _forked_part(answers_clean: pd.DataFrame, used: np.ndarray, responses: pd.DataFrame | None,
                 trim: TrimStore) -> tuple[QuotePart, dict, int]:
    """:func:`quote_part` in the fork, with the trims it made (``trim`` is the fork's copy of the caller's store)."""
    before = set(trim.used)
    part = quote_part(answers_clean, used, responses, trim)
    return part, {k: v for k, v in trim.used.items() if k not in before}, trim.computed


def quote_parts(answers_clean: pd.DataFrame, used: np.ndarray, responses: pd.DataFrame | None,
                trim: TrimStore) -> Iterator[QuotePart]:
    """The quotes of the publishable answers at rows ``used``: one part, or two (the second from a fork) from
    :data:`MIN_ANSWERS` answers with two CPUs. ``trim`` ends up holding every trim made, as if made here."""
    if WORKERS < 2 or len(used) < MIN_ANSWERS:
        yield quote_part(answers_clean, used, responses, trim)
        return
    half = len(used) // 2
    computed = trim.computed
    job = Background(lambda: _forked_part(answers_clean, used[half:], responses, trim))
    try:
        first = quote_part(answers_clean, used[:half], responses, trim)
    except BaseException:
        try:
            job.result()  # never leave it running
        except Exception:  # noqa: BLE001, S110 - the error raised here is the one to report
            pass
        raise
    yield first
    del first
    second, made, fork_computed = job.result()
    trim.used.update(made)
    trim.computed += fork_computed - computed
    yield second


def as_objects(values: list) -> np.ndarray:
    """``values`` as a one-dimensional ``object`` array (each element as it is)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
