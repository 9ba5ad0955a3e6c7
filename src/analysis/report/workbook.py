"""Workbooks (the public ``tables.xlsx``, the internal analyst workbook) and the published count CSVs, safe
and byte-reproducible. What goes into them is decided by :mod:`analysis.report.tables`.

* Every text cell that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``,
  ``@``, tab or carriage return) is neutralised with a leading apostrophe (OWASP "CSV injection"
  advice); characters Excel cannot store are removed.
* The workbook's created/modified properties are fixed and the ZIP entries get a fixed timestamp, so
  two runs on the same tables give byte-identical files.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from datetime import datetime
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

log = logging.getLogger(__name__)

#: First characters that make a spreadsheet treat a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Timestamp written into the workbook properties and ZIP entries (reproducible builds).
FIXED_TIME = datetime(2000, 1, 1, 0, 0, 0)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_BAD_SHEET = re.compile(r"[\[\]:*?/\\]")
MAX_COL_WIDTH = 80
#: Columns holding shares in [0, 1], shown as percentages (the stored value stays the exact share).
PERCENT_COLUMNS = frozenset({"share", "ci_low", "ci_high", "agree_share"})
#: Columns holding counts, shown with thousands separators.
COUNT_COLUMNS = frozenset({"n", "denominator", "n_statements", "agrees", "disagrees", "passes", "votes"})
PERCENT_FORMAT = "0.0%"
COUNT_FORMAT = "#,##0"


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


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` with every text cell neutralised (for CSVs opened in spreadsheets)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: neutralise(v) if isinstance(v, str) else v)
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
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.to_pydatetime()
    if hasattr(v, "item") and not isinstance(v, str):  # numpy scalars
        try:
            v = v.item()
        except (ValueError, AttributeError):
            pass
    return neutralise(v)


def write_workbook(sheets: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """Write one sheet per frame to ``path`` (XLSX), neutralised and byte-reproducible.

    Args:
        sheets: Sheet title -> frame (order kept).
        path: Output file.

    Returns:
        The written path.
    """
    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = set()
    for title, df in sheets.items():
        ws = wb.create_sheet(sheet_name(title, taken))
        ws.append([neutralise(str(c)) for c in df.columns])
        for c in ws[1]:
            c.font = Font(bold=True)
        for row in df.itertuples(index=False, name=None):
            ws.append([_cell(v) for v in row])
        _number_formats(ws, df)
        for j, col in enumerate(df.columns, start=1):
            lengths = [len(str(col))] + [len(str(v)) for v in df[col].head(200) if v is not None]
            ws.column_dimensions[get_column_letter(j)].width = min(MAX_COL_WIDTH, max(lengths) + 2)
            if max(lengths) > MAX_COL_WIDTH:
                for cell in ws[get_column_letter(j)][1:]:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.freeze_panes = "A2"
    if not wb.worksheets:
        wb.create_sheet("empty")
    props = wb.properties
    props.creator = "analysis"
    props.lastModifiedBy = "analysis"
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _rezip(buf.getvalue(), path)
    log.debug("wrote workbook with %d sheets", len(wb.worksheets))
    return path


def _number_formats(ws, df: pd.DataFrame) -> None:
    """Percent format on share columns, thousands separators on count columns (values are unchanged)."""
    for j, col in enumerate(df.columns, start=1):
        fmt = PERCENT_FORMAT if col in PERCENT_COLUMNS else COUNT_FORMAT if col in COUNT_COLUMNS else None
        if fmt is None:
            continue
        for cell in ws[get_column_letter(j)][1:]:
            cell.number_format = fmt


def _rezip(data: bytes, path: Path) -> None:
    """Copy a ZIP with fixed entry timestamps and attributes (removes the time of writing)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, src.read(info.filename))
    path.write_bytes(out.getvalue())
