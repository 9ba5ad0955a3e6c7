"""Workbooks (the public ``tables.xlsx``, the internal analyst workbook) and the published count CSVs, safe
and byte-reproducible. What goes into them is decided by :mod:`analysis.report.tables`.

* Every text cell that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``,
  ``@``, tab or carriage return) is neutralised with a leading apostrophe (OWASP "CSV injection"
  advice); characters Excel cannot store are removed.
* Workbooks are streamed row by row (xlsxwriter's ``constant_memory`` mode: memory does not grow with the
  rows). The document's created date is fixed and xlsxwriter gives every ZIP entry the same timestamp, so two
  runs on the same tables give byte-identical files.
* Excel stores at most :data:`EXCEL_MAX_ROWS` rows a sheet and :data:`EXCEL_MAX_CHARS` characters a cell: a
  longer table continues on sheets ``<name>_2``, ``<name>_3`` ... (each with the header row), and a longer text
  is cut with :data:`CUT_MARK` (both logged).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

log = logging.getLogger(__name__)

#: First characters that make a spreadsheet treat a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Characters an XLSX cell cannot hold (XML 1.0 control characters; as openpyxl's ``ILLEGAL_CHARACTERS_RE``).
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
#: Created date written into the workbook properties (reproducible builds).
FIXED_TIME = datetime(2000, 1, 1, 0, 0, 0)
_BAD_SHEET = re.compile(r"[\[\]:*?/\\]")
MAX_COL_WIDTH = 80
#: Columns holding shares in [0, 1], shown as percentages (the stored value stays the exact share).
PERCENT_COLUMNS = frozenset({"share", "ci_low", "ci_high", "agree_share"})
#: Columns holding counts, shown with thousands separators.
COUNT_COLUMNS = frozenset({"n", "denominator", "n_statements", "agrees", "disagrees", "passes", "votes"})
PERCENT_FORMAT = "0.0%"
COUNT_FORMAT = "#,##0"
DATE_FORMAT = "yyyy-mm-dd h:mm:ss"
#: Rows of an Excel sheet (the header row included).
EXCEL_MAX_ROWS = 1_048_576
#: Characters of an Excel cell.
EXCEL_MAX_CHARS = 32_767
#: Ends a text cut to :data:`EXCEL_MAX_CHARS`.
CUT_MARK = " [... cut: longer than an Excel cell holds]"


def neutralise(value: object) -> object:
    """Make a cell value safe for spreadsheets.

    Strings starting with a formula character get a leading ``'``; characters that cannot be
    stored in XLSX are dropped. Other values pass unchanged (missing values become ``None``).
    """
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith(FORMULA_PREFIXES):
            return "'" + value
    return value


#: :data:`ILLEGAL_CHARACTERS_RE`'s characters as one class, for pandas' vectorised search of a string column.
_ILLEGAL_CLASS = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"


def neutralise_frame_each(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`neutralise_frame`, one cell at a time (kept for the test that compares the two)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: neutralise(v) if isinstance(v, str) else v)
    return out


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` with every text cell neutralised (for CSVs opened in spreadsheets).

    In a column of a string dtype only the cells :func:`neutralise` changes (those holding a character a
    workbook cannot store or starting with a formula character, found by pandas' vectorised string search) go
    through it; the others are left as they are, which is what it returns for them. The full-text CSV of a
    large consultation's internal workbook spent ~3 CPU s per 280,000 answers calling it on every cell.
    """
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object:
            out[col] = s.map(lambda v: neutralise(v) if isinstance(v, str) else v)
        elif pd.api.types.is_string_dtype(s):
            flagged = (s.str.contains(_ILLEGAL_CLASS, regex=True) | s.str.startswith(FORMULA_PREFIXES))
            rows = np.flatnonzero(flagged.fillna(False).to_numpy(dtype=bool))
            if len(rows):
                new = s.copy()
                new.iloc[rows] = [neutralise(v) for v in s.iloc[rows]]
                out[col] = new
    return out


def sheet_name(name: str, taken: set[str]) -> str:
    """A valid, unique sheet name (at most 31 characters, no ``[]:*?/\\``)."""
    base = _BAD_SHEET.sub("_", name).strip("'") or "sheet"
    base = base[:31]
    cand, k = base, 2
    while cand.lower() in {t.lower() for t in taken}:
        suffix = f"~{k}"
        cand = base[: 31 - len(suffix)] + suffix
        k += 1
    taken.add(cand)
    return cand


def _cell(v: object) -> object:
    """A value as xlsxwriter writes it: Python scalars, neutralised text, ``None`` for missing."""
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.to_pydatetime()
    if hasattr(v, "item") and not isinstance(v, str):  # numpy scalars
        try:
            v = v.item()
        except (ValueError, AttributeError):
            pass
    v = neutralise(v)
    if isinstance(v, str) and len(v) > EXCEL_MAX_CHARS:
        return v[: EXCEL_MAX_CHARS - len(CUT_MARK)] + CUT_MARK
    return v


def _column(values: pd.Series) -> list[object]:
    """Cell values of one column (plain numpy numbers and booleans without per-cell conversion)."""
    kind = values.dtype.kind if isinstance(values.dtype, np.dtype) else "O"
    if kind == "f":
        return [None if v != v else v for v in values.tolist()]
    if kind in "biu":
        return values.tolist()
    return [_text_cell(v) if v.__class__ is str else _cell(v) for v in values.tolist()]


def _text_cell(v: str) -> str:
    """:func:`_cell` of a plain ``str`` (the common case, without the checks other types need)."""
    if ILLEGAL_CHARACTERS_RE.search(v):
        v = ILLEGAL_CHARACTERS_RE.sub("", v)
    if v.startswith(FORMULA_PREFIXES):
        v = "'" + v
    if len(v) > EXCEL_MAX_CHARS:
        return v[: EXCEL_MAX_CHARS - len(CUT_MARK)] + CUT_MARK
    return v


def _write_rows(ws: Worksheet, columns: list[list[object]]) -> None:
    """Write data rows from row 1 on, as ``ws.write_row`` would (same cells, same bytes), with less dispatch.

    Workbooks here are opened without string-to-number/formula/URL conversion, so a non-empty ``str`` is always
    a string cell and a ``float``/``int`` a number; empty strings and ``None`` are blank cells (not stored, as
    ``write_row`` does without a format); other values go through ``write_row``'s own dispatch. As in
    ``write_row``, a row stops at the first cell that reports an error (e.g. a string cut by xlsxwriter).
    """
    write_string, write_number, write = ws._write_string, ws._write_number, ws._write
    for i, row in enumerate(zip(*columns, strict=True), start=1):
        for j, v in enumerate(row):
            cls = v.__class__
            if cls is str:
                if not v:
                    continue
                err = write_string(i, j, v)
            elif cls is float or cls is int:
                err = write_number(i, j, v)
            elif v is None:
                continue
            else:
                err = write(i, j, v)
            if err:
                break


def _chunks(title: str, df: pd.DataFrame, max_rows: int) -> list[tuple[str, pd.DataFrame]]:
    """``(sheet title, rows)`` parts of a frame longer than a sheet holds (``max_rows`` counts the header)."""
    per = max_rows - 1
    if len(df) <= per:
        return [(title, df)]
    parts = [(title if i == 0 else f"{title}_{i + 1}", df.iloc[start:start + per])
             for i, start in enumerate(range(0, len(df), per))]
    log.warning("sheet %r: %d rows do not fit one Excel sheet (%d rows); continued on %d sheets %s",
                title, len(df), per, len(parts), [t for t, _ in parts])
    return parts


def _column_formats(wb: xlsxwriter.Workbook, df: pd.DataFrame) -> list[tuple[float, object]]:
    """Width and format of each column: number formats on share / count columns, wrapped long text."""
    out = []
    for j, col in enumerate(df.columns):
        lengths = [len(str(col))] + [len(str(v)) for v in df.iloc[:200, j] if v is not None]
        props: dict[str, object] = {}
        if col in PERCENT_COLUMNS:
            props["num_format"] = PERCENT_FORMAT
        elif col in COUNT_COLUMNS:
            props["num_format"] = COUNT_FORMAT
        if max(lengths) > MAX_COL_WIDTH:
            props.update(text_wrap=True, valign="top")
        out.append((min(MAX_COL_WIDTH, max(lengths) + 2), wb.add_format(props) if props else None))
    return out


def write_workbook(sheets: dict[str, pd.DataFrame], path: str | Path, *, max_rows: int = EXCEL_MAX_ROWS) -> Path:
    """Write one sheet per frame to ``path`` (XLSX), streamed, neutralised and byte-reproducible.

    Args:
        sheets: Sheet title -> frame (order kept).
        path: Output file.
        max_rows: Rows a sheet holds, header included (Excel's limit; smaller in tests). A longer frame
            continues on sheets ``<title>_2``, ``<title>_3`` ...

    Returns:
        The written path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
        "strings_to_urls": False, "nan_inf_to_errors": True, "default_date_format": DATE_FORMAT})
    wb.set_properties({"author": "analysis", "created": FIXED_TIME})
    bold = wb.add_format({"bold": True})
    taken: set[str] = set()
    n_sheets = 0
    for title, frame in sheets.items():
        formats = _column_formats(wb, frame)
        for part_title, df in _chunks(title, frame, max_rows):
            ws = wb.add_worksheet(sheet_name(part_title, taken))
            n_sheets += 1
            for j, (width, fmt) in enumerate(formats):
                ws.set_column(j, j, width, fmt)
            ws.freeze_panes(1, 0)
            ws.write_row(0, 0, [neutralise(str(c)) for c in df.columns], bold)
            _write_rows(ws, [_column(df.iloc[:, j]) for j in range(df.shape[1])])
    if not n_sheets:
        wb.add_worksheet("empty")
    wb.close()
    log.debug("wrote workbook with %d sheets", max(n_sheets, 1))
    return path
