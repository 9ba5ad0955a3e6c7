"""Robust parsing of submission timestamps as exports write them.

Handled, per column: ISO 8601 (with or without time zone; zoned values are converted to UTC and
stored naive), New Zealand/UK ``dd/mm/yyyy [HH:MM[:SS]] [AM/PM]`` (or ``mm/dd/yyyy`` when the
whole column only parses that way, as in a US SurveyMonkey account), ``dd-mm-yyyy``, ``dd.mm.yyyy``,
Excel serial day numbers (``44562.5``), and anything else :mod:`dateutil` understands with
day-first ordering (``3 February 2021``, RFC 2822 e-mail dates). A value must name a day, a month and a
year: ``60``, ``2024``, ``March 2024`` or ``10:30`` are not dates (dateutil would fill the missing parts
from the day of the run), so the result never depends on when the pipeline runs. Values none of these
parse give ``NaT``; the caller keeps the response and records a warning row.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd
from dateutil import parser as du_parser

_SERIAL = re.compile(r"^\d{5}(\.\d+)?$")
#: ISO 8601 with a complete date part (``2024-03-01``, ``20240301``, with or without time and offset).
_ISO_DATE = re.compile(r"^\d{4}-?\d{2}-?\d{2}(?:$|[T ])")
#: Two defaults differing in year, month and day: a value that gives two different dates lacks one of them.
_DEFAULTS = (dt.datetime(2001, 1, 1), dt.datetime(2002, 2, 2))
_DAY_FIRST = ["%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y %I:%M:%S %p", "%d/%m/%Y %I:%M %p", "%d/%m/%Y",
              "%d/%m/%y", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y"]
_MONTH_FIRST = ["%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y"]
EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def _try_formats(s: pd.Series, formats: list[str]) -> pd.Series:
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    for fmt in formats:
        todo = out.isna() & s.notna()
        if not todo.any():
            break
        out[todo] = pd.to_datetime(s[todo], format=fmt, errors="coerce")
    return out


def _to_naive_utc(ts: object) -> pd.Timestamp:
    t = pd.Timestamp(ts)
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    return t


def parse_datetimes(values: Sequence[str | None]) -> pd.Series:
    """Parse timestamps; unparseable or empty values give ``NaT``.

    Args:
        values: Raw cell strings of one column (``None``/empty for missing).

    Returns:
        A ``datetime64[ns]`` Series aligned with ``values`` (naive; zoned input converted to UTC).
    """
    cells = [None if v is None else str(v).strip() or None for v in values]
    distinct = list(dict.fromkeys(cells))
    if len(distinct) == len(cells):
        return _parse_distinct(pd.Series(cells, dtype=object), None)
    counts = Counter(cells)
    parsed = _parse_distinct(pd.Series(distinct, dtype=object), np.array([counts[v] for v in distinct], dtype=float))
    position = {v: i for i, v in enumerate(distinct)}
    return pd.Series(parsed.to_numpy()[[position[v] for v in cells]], dtype="datetime64[ns]")


def _parse_distinct(s: pd.Series, weights: np.ndarray | None) -> pd.Series:
    """:func:`parse_datetimes` of the values ``s`` (``None`` for missing), each standing for ``weights`` cells.

    Every rule reads one value alone, except the choice between day-first and month-first for the whole column:
    that counts the cells each reading parses, so parsing each distinct value once (with its number of cells as
    its weight) decides exactly as parsing every cell would.
    """
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    present = s.notna()
    if not present.any():
        return out
    serial = present & s.fillna("").str.match(_SERIAL)
    if serial.any():
        days = pd.to_numeric(s[serial])
        ok = days.between(20000, 80000)
        out[serial[serial].index[ok]] = EXCEL_EPOCH + pd.to_timedelta(days[ok], unit="D").dt.round("s")
    todo = present & out.isna() & s.fillna("").str.match(_ISO_DATE)
    if todo.any():
        iso = pd.to_datetime(s[todo], format="ISO8601", errors="coerce", utc=True)
        out[todo] = iso.dt.tz_convert(None)
    todo = present & out.isna()
    if todo.any():
        day_first = _try_formats(s[todo], _DAY_FIRST)
        month_first = _try_formats(s[todo], _MONTH_FIRST)
        w = np.ones(len(s)) if weights is None else weights
        todo_w = w[todo.to_numpy()]
        wins = todo_w[month_first.notna().to_numpy()].sum() > todo_w[day_first.notna().to_numpy()].sum()
        out[todo] = month_first if wins else day_first
    for i in out.index[present & out.isna()]:
        parsed = _complete_date(s[i])
        if parsed is not None:
            out[i] = parsed
    return out


def _complete_date(value: str) -> pd.Timestamp | None:
    """``value`` read by dateutil (day first) when it names a day, a month and a year, else ``None``."""
    if len(value) > 100 or not any(ch.isdigit() for ch in value):
        return None
    try:
        first, second = (du_parser.parse(value, dayfirst=True, default=d) for d in _DEFAULTS)
    except (ValueError, OverflowError, TypeError, du_parser.ParserError):
        return None
    if first.date() != second.date() or not 1900 <= first.year <= 2200:
        return None
    try:
        return _to_naive_utc(first)
    except (ValueError, OverflowError):
        return None
