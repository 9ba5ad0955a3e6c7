"""Reading CSV and XLSX exports into a :class:`RawTable` (header rows + data rows of strings).

Everything that can go wrong with a spreadsheet export is handled here, once, for every platform:
encodings and BOMs (:mod:`analysis.ingest.text`), ``;``/tab/``|`` separators (sniffed, or Excel's
``sep=;`` first line), leading blank lines, merged header cells (forward-filled), duplicated column
names (``Q``, ``Q (2)``), trailing empty columns (dropped), ragged rows (too many non-empty fields: a
reject holding the raw line; too few: padded), interior blank rows (a reject with reason
``blank row``), cells over Excel's 32,767-character limit (kept, warning logged), corrupt or
password-protected workbooks (:class:`InputError`).

Row numbers are the ones a person sees when opening the file in a spreadsheet: the header is row 1
and a quoted cell spanning three lines still occupies one row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from analysis.errors import ConfigError, InputError
from analysis.ingest.text import decode_bytes, fix_cell, norm_key, sha256_file, sniff_binary

logger = logging.getLogger(__name__)

EXCEL_CELL_LIMIT = 32_767
_DELIMITERS = [",", ";", "\t", "|"]
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

#: A header builder turns the header rows into (column names, extra aliases name -> column indices).
HeaderBuilder = Callable[[list[list[str]]], tuple[list[str], dict[str, list[int]]]]
Grid = list[tuple[int, list[str]]]


@dataclass
class RawTable:
    """One tabular input file, read but not yet interpreted.

    Attributes:
        file: The file's path relative to the consultation's raw folder (used in every message).
        reader: Name of the reader that produced it (for the ledger).
        columns: Column names after de-duplication.
        rows: ``(source_row, cells)`` for every data row kept, cells padded to ``len(columns)``.
        rejects: Reject rows (``file, row, column, reason, raw``) for rows that were not kept.
        rows_read: Data rows seen (kept + rejected).
        sha256: Digest of the file's bytes.
        aliases: Extra names a config may use for columns: normalised alias -> column indices (a
            SurveyMonkey question text covers all its sub-answer columns; a Qualtrics question text
            addresses the id-named column).
        delimiter: The CSV delimiter used (``None`` for XLSX); used to serialise raw rows.
    """

    file: str
    reader: str
    columns: list[str]
    rows: Grid
    rejects: list[dict] = field(default_factory=list)
    rows_read: int = 0
    sha256: str = ""
    aliases: dict[str, list[int]] = field(default_factory=dict)
    delimiter: str | None = None

    def lookup(self, name: str) -> list[int] | None:
        """Column indices a config name refers to (exact name first, then normalised, then aliases)."""
        if name in self.columns:
            return [self.columns.index(name)]
        key = norm_key(name)
        hits = [i for i, c in enumerate(self.columns) if norm_key(c) == key]
        if hits:
            return hits[:1]
        return self.aliases.get(key)

    def raw_line(self, cells: list[str]) -> str:
        """Serialise cells back to one CSV line (what a reject's ``raw`` holds)."""
        buf = io.StringIO()
        csv.writer(buf, delimiter=self.delimiter or ",", lineterminator="").writerow(cells)
        return buf.getvalue()


def single_header(rows: list[list[str]]) -> tuple[list[str], dict[str, list[int]]]:
    """Header builder of ordinary exports: row 1 holds the column names."""
    return [c.strip() for c in rows[0]], {}


def dedupe_columns(names: list[str], file: str) -> list[str]:
    """Name empty headers ``column N`` and disambiguate repeats as ``Q``, ``Q (2)``, ``Q (3)``."""
    out: list[str] = []
    seen: dict[str, int] = {}
    taken = {norm_key(n) for n in names if n}
    for i, name in enumerate(names, start=1):
        name = name or f"column {i}"
        key = norm_key(name)
        if key in seen:
            k = seen[key] + 1
            while norm_key(f"{name} ({k})") in taken:
                k += 1
            seen[key] = k
            new = f"{name} ({k})"
            logger.warning("%s: duplicated column name %r (column %d) renamed %r", file, name, i, new)
            taken.add(norm_key(new))
            out.append(new)
        else:
            seen[key] = 1
            out.append(name)
    return out


# --- CSV ------------------------------------------------------------------------------------------
def _sniff_delimiter(text: str) -> str:
    sample_lines = text[:200_000].splitlines()[:50]
    best, best_score = ",", (-1, -1)
    for d in _DELIMITERS:
        try:
            recs = list(csv.reader(io.StringIO("\n".join(sample_lines)), delimiter=d))
        except csv.Error:
            continue
        recs = [r for r in recs if r]
        if not recs or len(recs[0]) < 2:
            continue
        width = len(recs[0])
        consistent = sum(1 for r in recs[1:] if len(r) == width)
        score = (consistent, width)
        if score > best_score:
            best, best_score = d, score
    return best


def read_csv_grid(path: Path, file: str, encoding: str | None = None, delimiter: str | None = None) -> tuple[Grid, str]:
    """Read a delimited text file into ``(row number, cells)`` records.

    Args:
        path: The file.
        file: Its display name.
        encoding: Forced encoding (default: detected).
        delimiter: Forced delimiter (default: sniffed).

    Returns:
        ``(grid, delimiter)``.

    Raises:
        InputError: Empty, binary or unparseable file.
    """
    data = path.read_bytes()
    if not data.strip():
        raise InputError(file, "the file is empty (0 bytes or only whitespace): export it again")
    text, _ = decode_bytes(data, file, encoding)
    if not text.strip():
        raise InputError(file, "the file is empty (only a byte-order mark or whitespace): export it again")
    offset = 0
    first = text.split("\n", 1)[0].strip()
    if first.lower().startswith("sep=") and len(first) == 5:
        delimiter = delimiter or first[4]
        text = text.split("\n", 1)[1] if "\n" in text else ""
        offset = 1
    delim = delimiter or _sniff_delimiter(text)
    grid: Grid = []
    try:  # strict first: catches a quote that is never closed (it would swallow the rest of the file)
        for i, rec in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True), start=1 + offset):
            grid.append((i, rec))
    except csv.Error as err:
        if "unexpected end of data" in str(err):
            raise InputError(file, "a quoted cell is never closed (unbalanced \" quote): it would swallow every row "
                             "after it; fix the quote in the file", row=len(grid) + 1 + offset) from None
        grid = []
        for i, rec in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delim), start=1 + offset):
            grid.append((i, rec))
    return grid, delim


# --- XLSX -----------------------------------------------------------------------------------------
def _cell_str(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds") if (value.hour or value.minute or value.second) else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_xlsx_grid(path: Path, file: str, sheet: str | None = None, header_rows: int = 1) -> Grid:
    """Read one worksheet into ``(row number, cells)`` records, merged header cells forward-filled.

    Raises:
        InputError: Not a workbook, corrupt, or password-protected.
        ConfigError: The configured sheet does not exist.
    """
    import openpyxl  # noqa: PLC0415 - heavy import, only for workbooks

    data = path.read_bytes()
    head = data[:8]
    if not head:
        raise InputError(file, "the file is empty (0 bytes): export it again")
    if not zipfile.is_zipfile(path):
        what = sniff_binary(head)
        if what and "OLE2" in what:
            raise InputError(file, "the workbook is password-protected (encrypted) or an old .xls file: remove the password / save it as .xlsx in Excel")
        raise InputError(file, f"not a readable .xlsx workbook (not a ZIP container{': ' + what if what else ''}); it may be corrupt or truncated")
    try:  # read-only mode streams the sheet (fast for 100k rows); merged ranges are read from the XML
        wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True, read_only=True)
    except Exception as err:  # openpyxl raises many types for corrupt files
        raise InputError(file, f"corrupt .xlsx workbook: {type(err).__name__}: {err}") from None
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise ConfigError(f"{file}: sheet {sheet!r} not found; the workbook has {wb.sheetnames}")
        ws = wb[sheet] if sheet else wb.worksheets[0]
        ws.reset_dimensions()  # some exporters write a wrong <dimension>; read every cell present
        try:
            grid: Grid = [(r, [_cell_str(v) for v in row])
                          for r, row in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1)]
        except Exception as err:  # corrupt sheet XML inside a valid ZIP
            raise InputError(file, f"corrupt .xlsx worksheet: {type(err).__name__}: {err}") from None
        merged = _merged_ranges(data, getattr(ws, "_worksheet_path", None))
    finally:
        wb.close()
    first = next((r for r, cells in grid if any(c.strip() for c in cells)), None)
    if first is not None:
        last = first + header_rows - 1
        for min_col, min_row, max_col, max_row in merged:
            if max_row < first or min_row > last or min_row > len(grid):
                continue
            top = grid[min_row - 1][1][min_col - 1] if min_col - 1 < len(grid[min_row - 1][1]) else ""
            for r in range(max(min_row, first), min(max_row, last) + 1):
                cells = grid[r - 1][1]
                cells.extend([""] * (max_col - len(cells)))
                for c in range(min_col, max_col + 1):
                    if not cells[c - 1]:
                        cells[c - 1] = top
    return grid


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')


def _merged_ranges(data: bytes, member: str | None) -> list[tuple[int, int, int, int]]:
    """``(min_col, min_row, max_col, max_row)`` of every merged range of a worksheet part."""
    from openpyxl.utils.cell import range_boundaries  # noqa: PLC0415

    if not member:
        return []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        try:
            xml = zf.read(member.lstrip("/"))
        except KeyError:
            return []
    return [range_boundaries(m.decode()) for m in _MERGE.findall(xml)]


# --- grid -> RawTable -----------------------------------------------------------------------------
def grid_to_table(grid: Grid, *, file: str, reader: str, sha256: str, header_rows: int = 1,
                  header: HeaderBuilder = single_header, delimiter: str | None = None) -> RawTable:
    """Split a grid into header and data rows and apply the mess rules (see module docstring).

    Raises:
        InputError: No header row at all.
    """
    start = next((k for k, (_, cells) in enumerate(grid) if any(c.strip() for c in cells)), None)
    if start is None:
        raise InputError(file, "the file has no header row (it is empty or blank)")
    end = max(k for k, (_, cells) in enumerate(grid) if any(c.strip() for c in cells)) + 1
    head = grid[start:start + header_rows]
    if len(head) < header_rows:
        raise InputError(file, f"expected {header_rows} header rows, found {len(head)}", row=grid[start][0])
    width = max(len(c) for _, c in head)
    head_cells = [[fix_cell(c) for c in cells] + [""] * (width - len(cells)) for _, cells in head]
    names, aliases = header(head_cells)
    body = grid[start + header_rows:end]
    # trailing columns with no name and no data are dropped
    ncols = len(names)
    while ncols and not names[ncols - 1] and not any(len(c) >= ncols and c[ncols - 1].strip() for _, c in body):
        ncols -= 1
    if ncols < len(names):
        logger.info("%s: dropped %d trailing empty column(s)", file, len(names) - ncols)
    names = dedupe_columns(names[:ncols], file)
    table = RawTable(file=file, reader=reader, columns=names, rows=[], sha256=sha256,
                     aliases={k: v for k, v in aliases.items() if all(i < ncols for i in v)}, delimiter=delimiter)
    short = 0
    for row_no, cells in body:
        table.rows_read += 1
        if not any(c.strip() for c in cells):
            table.rejects.append(reject(file, row_no, None, "blank row", None))
            continue
        if len(cells) > ncols:
            extra = cells[ncols:]
            if any(c.strip() for c in extra):
                table.rejects.append(reject(file, row_no, None, f"ragged row: {len(cells)} fields but the header has {ncols} (a stray separator or unquoted text?)", table.raw_line(cells)))
                continue
            cells = cells[:ncols]
        elif len(cells) < ncols:
            short += 1
            cells = cells + [""] * (ncols - len(cells))
        out = []
        for j, c in enumerate(cells):
            if len(c) > EXCEL_CELL_LIMIT:
                logger.warning("%s, row %d, column %r: cell of %d characters (over Excel's 32,767 limit; kept in full)", file, row_no, names[j], len(c))
            out.append(fix_cell(c))
        table.rows.append((row_no, out))
    if short:
        logger.warning("%s: %d row(s) had fewer fields than the header and were padded with empty cells", file, short)
    return table


def reject(file: str, row: int | None, column: str | None, reason: str, raw: str | None) -> dict:
    """One ``core_rejects`` row."""
    return {"file": file, "row": row, "column": column, "reason": reason, "raw": raw}


def is_xlsx(path: Path) -> bool:
    """Whether ``path`` should be read as a workbook (by extension, or a ZIP saved as .csv)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return True
    with open(path, "rb") as fh:
        return fh.read(4) == b"PK\x03\x04" and zipfile.is_zipfile(path)


def read_table(path: Path, file: str, *, reader: str, sheet: str | None = None, encoding: str | None = None,
               delimiter: str | None = None, header_rows: int = 1, header: HeaderBuilder = single_header) -> RawTable:
    """Read a CSV/TSV/XLSX file into a :class:`RawTable`.

    Args:
        path: The file.
        file: Its display name (path relative to the raw folder).
        reader: Reader name for the ledger.
        sheet: XLSX sheet (default: first).
        encoding: Forced text encoding.
        delimiter: Forced CSV delimiter.
        header_rows: Number of header rows (SurveyMonkey 2, Qualtrics 3).
        header: Builds column names from the header rows.
    """
    if not path.is_file():
        raise InputError(file, "not a file (missing, or a folder: use format 'folder' for a folder of documents)")
    sha = sha256_file(path)
    if is_xlsx(path):
        if path.suffix.lower() not in (".xlsx", ".xlsm"):
            logger.warning("%s: this is an Excel workbook saved with a %s name; reading it as .xlsx", file, path.suffix)
        grid = read_xlsx_grid(path, file, sheet, header_rows)
        delim = None
    else:
        if path.suffix.lower() == ".xls":
            raise InputError(file, "old binary .xls workbooks are not supported: save it as .xlsx or .csv")
        grid, delim = read_csv_grid(path, file, encoding, delimiter)
    return grid_to_table(grid, file=file, reader=reader, sha256=sha, header_rows=header_rows, header=header, delimiter=delim)
