"""Reading CSV and XLSX exports into a :class:`RawTable` (header rows + data rows of strings).

Everything that can go wrong with a spreadsheet export is handled here, once, for every platform:
encodings and BOMs (:mod:`analysis.ingest.text`), ``;``/tab/``|`` separators (sniffed on the first
*records* with a real CSV parse, so a header cell spanning 47 lines does not mislead it; or Excel's
``sep=;`` first line; or the source's ``delimiter``), leading blank lines, merged cells (forward-filled in
the header, filled down in data rows), duplicated column names (``Q``, ``Q (2)``), trailing empty columns
(dropped), ragged rows (too many non-empty fields: a reject holding the raw line; too few: padded),
interior blank rows (a reject with reason ``blank row``; a run over :data:`BLANK_RUN_LIMIT` rows is one
reject naming the range), cells over Excel's 32,767-character limit (kept, warning logged), formulas
without a saved value and Excel error values (``#DIV/0!``: the cell is empty and its row is rejected when a
configured column uses it), stray cells far from the data (read sparsely: a cell at ``XFD1048576`` never
materialises a million rows), corrupt or password-protected workbooks (:class:`InputError`). A parse that is
implausible (most rows with more fields than the header) is an :class:`InputError` rather than a silent
success.

Row numbers are the ones a person sees when opening the file in a spreadsheet: the header is row 1
and a quoted cell spanning three lines still occupies one row.

Symbolic links are never read (:func:`read_table` refuses one; folder readers list each link they meet
with :func:`symlink_rows`), so no file outside the consultation folder can reach a table.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import logging
import re
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from analysis.errors import ConfigError, InputError
from analysis.ingest import streamtext
from analysis.ingest.text import decode_bytes, fix_cell, has_content, norm_key, sha256_file, sniff_binary

logger = logging.getLogger(__name__)

EXCEL_CELL_LIMIT = 32_767
#: Reject reason of a symbolic link met in an input folder (never followed, nothing of it read).
SYMLINK = "symlink"
#: :class:`InputError` reason of a configured input file that is a symbolic link.
SYMLINK_ERROR = "is a symbolic link: links are never followed; copy the file itself into the consultation folder"
_DELIMITERS = [",", ";", "\t", "|"]
#: The delimiter is sniffed on the first records of at most this many characters.
SNIFF_CHARS = 1_000_000
SNIFF_RECORDS = 200
#: A run of more interior blank rows than this is one reject row naming the range (each still counts as read).
BLANK_RUN_LIMIT = 100
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
#: Line breaks :meth:`str.splitlines` knows besides CR and LF (a CSV reader's lines end only at CR, LF, CRLF).
_OTHER_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
#: Characters of the text split into lines at a time (:func:`text_lines`).
LINE_CHUNK = 1 << 20

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
        problems: ``(source_row, column index)`` -> what is wrong with that cell (a workbook formula without a
            saved value, an error value such as ``#DIV/0!``); the cell reads as empty.
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
    problems: dict[tuple[int, int], str] = field(default_factory=dict)

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


# --- CSV ---------------------------------------------------------------------------------------
def parse_delimiter(value: str | None) -> str | None:
    """A delimiter given by name or escape (``tab``, ``\\t``, ``semicolon``, ``;``) as its one character."""
    if value is None:
        return None
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
    return named.get(value.lower(), value)


def _sample_records(text: str, delimiter: str) -> list[list[str]]:
    """The first :data:`SNIFF_RECORDS` non-blank records of ``text`` parsed with ``delimiter`` (a real CSV parse:
    a quoted cell spanning 47 lines is one record)."""
    sample = text[:SNIFF_CHARS]
    records: list[list[str]] = []
    try:
        for rec in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter):
            if any(c.strip() for c in rec):
                records.append(rec)
            if len(records) > SNIFF_RECORDS:
                break
    except csv.Error:
        pass
    if len(text) > SNIFF_CHARS and len(records) <= SNIFF_RECORDS:
        records = records[:-1]  # the sample may cut the last record in the middle
    return records


def _consistency(records: list[list[str]]) -> tuple[int, int]:
    """``(records with as many fields as the header, that number)``; 0 records when the header has one field.

    Measured against the header, not the most common width: split on the wrong character, a header cell of 47
    lines becomes 47 records of a few fields each, consistent with one another but not with the header.
    """
    if not records:
        return 0, 0
    width = len(records[0])
    if width < 2:
        return 0, width
    fits = sum(1 for r in records if len(r) == width or (len(r) > width and not any(c.strip() for c in r[width:])))
    return fits, width


def sniff_delimiter(text: str, file: str) -> str:
    """The delimiter that gives the largest share of the first records as many fields as the header.

    Records are parsed with :mod:`csv` (quotes honoured), not split into physical lines, and compared with the
    header record: split on the wrong character, a quoted header cell of 47 lines turns into 47 records of a few
    fields each, consistent with one another but not with the header, and the answers after it do not fit.
    Ties go to the wider header, then to the order ``,`` ``;`` tab ``|``.

    Raises:
        InputError: No candidate gives the header's number of fields to at least half the records: the file is
            not a table this reader understands (or its quoting is broken).
    """
    best, best_score, best_fit = ",", (0.0, 0), (0, 0)
    for delim in _DELIMITERS:
        records = _sample_records(text, delim)
        fits, width = _consistency(records)
        if width < 2 or (fits < 2 <= len(records)):
            continue
        score = (round(fits / len(records), 3), width)
        if score > best_score:
            best, best_score, best_fit = delim, score, (fits, len(records))
    fits, n_records = best_fit
    if best_score[0] and n_records >= 4 and best_score[0] < 0.5:
        raise InputError(file, f"cannot tell how the columns are separated: with the best candidate {best!r} only "
                         f"{fits} of the first {n_records} rows have the header's {best_score[1]} fields; set "
                         "`delimiter:` (and `encoding:`) in the source, or pass --delimiter to init-config")
    return best


def _chunks(text: str, size: int) -> Iterator[str]:
    """``text`` in pieces of about ``size`` characters, each ending just after a ``\\n`` (the last one: the rest)."""
    start = 0
    while start < len(text):
        cut = text.find("\n", start + size)
        end = len(text) if cut < 0 else cut + 1
        yield text[start:end]
        start = end


def text_lines(text: str, chunk: int = LINE_CHUNK) -> Iterator[str]:
    """The lines of ``text`` as ``io.StringIO(text, newline="")`` gives them (ends kept, split at CR, LF, CRLF).

    A StringIO holds a copy of the text at four bytes a character (5.6 GB for a 1.4 GB export); here the text is
    split a piece at a time with :meth:`str.splitlines`, which gives the same lines when the text holds none of
    the other characters it splits on (vertical tab, form feed, ...): otherwise the StringIO is used.
    """
    if _OTHER_BREAKS.search(text):
        return iter(io.StringIO(text, newline=""))
    return itertools.chain.from_iterable(c.splitlines(keepends=True) for c in _chunks(text, chunk))


def _csv_text(path: Path, file: str, encoding: str | None, delimiter: str | None) -> tuple[str, str, int]:
    """The decoded text of a delimited file, its delimiter and the row number of its first line (2 after a
    ``sep=`` line, else 1).

    Raises:
        InputError: Empty, binary or undecodable file, or columns that cannot be told apart.
    """
    data = path.read_bytes()
    if not has_content(data):
        raise InputError(file, "the file is empty (0 bytes or only whitespace): export it again")
    text, _ = decode_bytes(data, file, encoding)
    del data  # the text is all that is parsed: the bytes need not stay beside it
    if not has_content(text):
        raise InputError(file, "the file is empty (only a byte-order mark or whitespace): export it again")
    offset = 0
    delimiter = parse_delimiter(delimiter)
    nl = text.find("\n")  # not split(): that would copy the whole text
    first = (text if nl < 0 else text[:nl]).strip()
    if first.lower().startswith("sep=") and len(first) == 5:
        delimiter = delimiter or first[4]
        text = text[nl + 1:] if nl >= 0 else ""
        offset = 1
    return text, delimiter or sniff_delimiter(text, file), 1 + offset


def iter_csv_records(lines: Callable[[], Iterator[str]], delim: str, first_row: int,
                     file: str) -> Iterator[tuple[int, list[str]]]:
    """``(row number, cells)`` of every record of the text whose lines ``lines()`` gives, parsed strictly first.

    A strict parse catches a quote that is never closed (it would swallow the rest of the file: an
    :class:`InputError`). Any other strictness error (a character after a closing quote) switches to a lenient
    parse from the start of the record that failed: records are parsed independently, each from the start of a
    line, and the strict parser only adds errors, so the records before it are what a lenient parse of the whole
    file gives (tests compare the two on such files).
    """
    reader = csv.reader(lines(), delimiter=delim, strict=True)
    row, lines_done = first_row, 0
    try:
        for rec in reader:
            yield row, rec
            row += 1
            lines_done = reader.line_num
    except csv.Error as err:
        if "unexpected end of data" in str(err):
            raise InputError(file, "a quoted cell is never closed (unbalanced \" quote): it would swallow every row "
                             "after it; fix the quote in the file", row=row) from None
        rest = itertools.islice(lines(), lines_done, None)
        yield from enumerate(csv.reader(rest, delimiter=delim), start=row)


def _stream_records(path: Path, file: str, encoding: str | None,
                    delimiter: str | None) -> tuple[Iterator[tuple[int, list[str]]], str]:
    """The records of a delimited file as they are parsed, and its delimiter: a large UTF-8 file read a block at a
    time (:mod:`analysis.ingest.streamtext`), any other decoded whole (:func:`_csv_text`)."""
    blocks = streamtext.open_utf8(path, encoding, file=file)
    if blocks is None:
        text, delim, first_row = _csv_text(path, file, encoding, delimiter)
        return iter_csv_records(lambda: text_lines(text), delim, first_row, file), delim
    delim = parse_delimiter(delimiter) or sniff_delimiter(blocks.prefix(SNIFF_CHARS), file)
    return iter_csv_records(blocks.lines, delim, 1, file), delim


def read_csv_grid(path: Path, file: str, encoding: str | None = None, delimiter: str | None = None) -> tuple[Grid, str]:
    """Read a delimited text file into ``(row number, cells)`` records.

    Args:
        path: The file.
        file: Its display name.
        encoding: Forced encoding (default: detected).
        delimiter: Forced delimiter (default: sniffed on the first records, see :func:`sniff_delimiter`).

    Returns:
        ``(grid, delimiter)``.

    Raises:
        InputError: Empty, binary or unparseable file.
    """
    text, delim, first_row = _csv_text(path, file, encoding, delimiter)
    return list(iter_csv_records(lambda: text_lines(text), delim, first_row, file)), delim


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
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        return value.isoformat() if not isinstance(value, dt.timedelta) else str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sheet_parser(*args, **kwargs):  # noqa: ANN002, ANN003 - openpyxl's own signature
    """openpyxl's streaming sheet parser, also noting formulas without a saved value and error values."""
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser  # noqa: PLC0415

    class _Parser(WorkSheetParser):
        problems: dict[tuple[int, int], str]

        def parse_cell(self, element):  # noqa: ANN001, ANN202
            cell = super().parse_cell(element)
            key = (cell["row"], cell["column"])
            if cell["value"] is None and element.find(FORMULA_TAG) is not None:
                formula = element.find(FORMULA_TAG).text or "(shared formula)"
                self.problems[key] = (f"formula without a saved value (={formula[:200]}): open the workbook in Excel "
                                      "and save it, so the value is computed")
            elif cell["data_type"] == "e":
                self.problems[key] = f"Excel error value {cell['value']} (a formula that failed): not an answer"
                cell["value"] = None
            return cell

    parser = _Parser(*args, **kwargs)
    parser.problems = {}
    return parser


@dataclass
class _SheetCells:
    rows: dict[int, dict[int, str]]  # row -> column (1-based) -> non-empty value; only rows holding something
    merges: list[tuple[int, int, int, int]]  # (min_col, min_row, max_col, max_row)
    problems: dict[tuple[int, int], str]  # (row, column 1-based) -> problem


def _sheet_cells(wb, ws) -> _SheetCells:  # noqa: ANN001 - openpyxl objects
    """Every non-empty cell of a worksheet, read sparsely: a stray cell at XFD1048576 costs one cell, not a
    million rows of 16,384 columns."""
    from openpyxl.utils.cell import range_boundaries  # noqa: PLC0415

    rows: dict[int, dict[int, str]] = {}
    with wb._archive.open(ws._worksheet_path) as src:
        parser = _sheet_parser(src, ws._shared_strings, data_only=True, epoch=wb.epoch,
                               date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)
        for idx, cells in parser.parse():
            values = {c["column"]: _cell_str(c["value"]) for c in cells if c["value"] is not None}
            values = {k: v for k, v in values.items() if v}
            if values or any((idx, c["column"]) in parser.problems for c in cells):
                rows[idx] = values
    merged = parser.merged_cells.mergeCell if parser.merged_cells is not None else []
    return _SheetCells(rows, [range_boundaries(m.coord) for m in merged], parser.problems)


def _fill_merged(sheet: _SheetCells, file: str, header_rows: int) -> None:
    """Copy each merged range's value into its cells: across and down within the header rows, down the first
    column in data rows (only rows that hold something else: a merge never creates a row)."""
    if not sheet.rows or not sheet.merges:
        return
    first = min(sheet.rows)
    last_head = first + header_rows - 1
    filled: list[str] = []
    for min_col, min_row, max_col, max_row in sheet.merges:
        top = sheet.rows.get(min_row, {}).get(min_col, "")
        if not top:
            continue
        if min_row <= last_head:
            for r in range(max(min_row, first), min(max_row, last_head) + 1):
                cells = sheet.rows.setdefault(r, {})
                for c in range(min_col, max_col + 1):
                    cells.setdefault(c, top)
            continue
        rows = [r for r in range(min_row + 1, max_row + 1) if r in sheet.rows] if max_row - min_row < 1_000_000 else []
        for r in rows:
            sheet.rows[r].setdefault(min_col, top)
        if rows:
            filled.append(f"{min_row}-{max_row}")
    if filled:
        logger.warning("%s: merged cells in data rows (rows %s): the merged value was copied into every row of the "
                       "merge", file, ", ".join(filled[:10]) + (" ..." if len(filled) > 10 else ""))


def read_xlsx_grid(path: Path, file: str, sheet: str | None = None,
                   header_rows: int = 1) -> tuple[Grid, dict[tuple[int, int], str]]:
    """Read one worksheet into ``(row number, cells)`` records (rows holding nothing are left out).

    Merged cells are filled (:func:`_fill_merged`). Formulas without a saved value and Excel error values
    (``#DIV/0!``) are read as empty cells and returned as problems, so the rows using them can be rejected.

    Returns:
        ``(grid, problems)``: problems map ``(row, column index from 0)`` to what is wrong with that cell.

    Raises:
        InputError: Not a workbook, corrupt, or password-protected.
        ConfigError: The configured sheet does not exist.
    """
    import openpyxl  # noqa: PLC0415 - heavy import, only for workbooks

    data = path.read_bytes()
    head = data[:8]
    if not head:
        raise InputError(file, "the file is empty (0 bytes): export it again")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        what = sniff_binary(head)
        if what and "OLE2" in what:
            raise InputError(file, "the workbook is password-protected (encrypted) or an old .xls file: remove the password / save it as .xlsx in Excel")
        raise InputError(file, f"not a readable .xlsx workbook (not a ZIP container{': ' + what if what else ''}); it may be corrupt or truncated")
    try:  # read-only mode streams the sheet (fast for 100k rows)
        wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True, read_only=True)
    except Exception as err:  # noqa: BLE001 - openpyxl raises many types for corrupt files
        raise InputError(file, f"corrupt .xlsx workbook: {type(err).__name__}: {err}") from None
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise ConfigError(f"{file}: sheet {sheet!r} not found; the workbook has {wb.sheetnames}")
        if not wb.worksheets:
            raise InputError(file, "the workbook has no worksheet")
        ws = wb[sheet] if sheet else wb.worksheets[0]
        try:
            cells = _sheet_cells(wb, ws)
        except Exception as err:  # noqa: BLE001 - corrupt sheet XML inside a valid ZIP
            raise InputError(file, f"corrupt .xlsx worksheet: {type(err).__name__}: {err}") from None
    finally:
        wb.close()
    _fill_merged(cells, file, header_rows)
    grid: Grid = []
    for r in sorted(cells.rows):
        values = cells.rows[r]
        row = [""] * (max(values) if values else 0)
        for c, v in values.items():
            row[c - 1] = v
        grid.append((r, row))
    return grid, {(r, c - 1): why for (r, c), why in cells.problems.items()}


# --- grid -> RawTable -----------------------------------------------------------------------------
def _blank_rejects(file: str, first: int, last: int) -> list[dict]:
    """Reject rows for the blank rows ``first..last``: one per row, or one for a run over :data:`BLANK_RUN_LIMIT`."""
    n = last - first + 1
    if n <= BLANK_RUN_LIMIT:
        return [reject(file, r, None, "blank row", None) for r in range(first, last + 1)]
    return [reject(file, first, None, f"blank rows {first}-{last} ({n:,} rows; counted one by one in the ledger)", None)]


def grid_to_table(grid: Grid, *, file: str, reader: str, sha256: str, header_rows: int = 1,
                  header: HeaderBuilder = single_header, delimiter: str | None = None,
                  problems: dict[tuple[int, int], str] | None = None) -> RawTable:
    """Split a grid into header and data rows and apply the mess rules (see module docstring).

    Rows missing from the grid (a workbook stores no empty rows) between data rows are blank rows, like empty
    records of a CSV file. A row whose only content is a cell with a problem (a formula without a saved value)
    is rejected with that problem.

    Raises:
        InputError: No header row at all, or (CSV) so many rows have more fields than the header that the
            separator is surely wrong.
    """
    table = records_to_table(iter(grid), file=file, reader=reader, sha256=sha256, header_rows=header_rows,
                             header=header, delimiter=delimiter, problems=problems)
    table.rows = list(table.rows)
    return table


def records_to_table(records: Iterator[tuple[int, list[str]]], *, file: str, reader: str, sha256: str,
                     header_rows: int = 1, header: HeaderBuilder = single_header, delimiter: str | None = None,
                     problems: dict[tuple[int, int], str] | None = None) -> RawTable:
    """:func:`grid_to_table` reading the records once, as they come: the header now, the data rows later.

    The returned table's ``rows`` is an iterator to be read once; ``rows_read``, ``rejects`` (blank and ragged
    rows) and the warnings about short rows are complete only when it is exhausted, and the "separator is surely
    wrong" :class:`InputError` is raised at its end. Only when the last header cell is empty are the data rows
    read up front (whether trailing columns without a name hold data decides the columns).

    Raises:
        InputError: No header row at all, or fewer header rows than ``header_rows``.
    """
    problems = problems or {}
    problem_rows = {r for r, _ in problems}
    first = next(((r, cells) for r, cells in records if any(map(str.strip, cells)) or r in problem_rows), None)
    if first is None:
        raise InputError(file, "the file has no header row (it is empty or blank)")
    head = [first, *itertools.islice(records, header_rows - 1)]
    if len(head) < header_rows:
        raise InputError(file, f"expected {header_rows} header rows, found {len(head)}", row=first[0])
    width = max(len(c) for _, c in head)
    head_cells = [[fix_cell(c) for c in cells] + [""] * (width - len(cells)) for _, cells in head]
    names, aliases = header(head_cells)
    body: Iterator[tuple[int, list[str]]] = records
    # trailing columns with no name and no data are dropped
    ncols = len(names)
    if ncols and not names[ncols - 1]:  # only then can a trailing column go: find the last one with data
        rest = list(records)
        used = max((max((j + 1 for j, x in enumerate(c) if x.strip()), default=0) for _, c in rest), default=0)
        while ncols and not names[ncols - 1] and ncols > used:
            ncols -= 1
        body = iter(rest)
    if ncols < len(names):
        logger.info("%s: dropped %d trailing empty column(s)", file, len(names) - ncols)
    if delimiter is not None and ncols == 1:
        other = next((d for d in _DELIMITERS if d != delimiter and names[0].count(d) >= 2), None)
        if other:
            raise InputError(file, f"split on {delimiter!r} the header is one column holding {names[0].count(other)} "
                             f"{other!r}: the separator is probably {other!r}; set `delimiter:` in the source, or "
                             "pass --delimiter to init-config", row=head[0][0])
    names = dedupe_columns(names[:ncols], file)
    table = RawTable(file=file, reader=reader, columns=names, rows=[], sha256=sha256,
                     aliases={k: v for k, v in aliases.items() if all(i < ncols for i in v)}, delimiter=delimiter)
    table.problems = {k: v for k, v in problems.items() if k[1] < ncols}
    table.rows = _body_rows(table, body, head[-1][0], ncols)  # type: ignore[assignment] - read once, see above
    return table


def _body_rows(table: RawTable, body: Iterator[tuple[int, list[str]]], header_row: int,
               ncols: int) -> Iterator[tuple[int, list[str]]]:
    """The data rows of ``body`` (blank, ragged and short rows handled; see module docstring).

    Blank rows after the last data row are neither rows read nor rejects (the table ends at its last content).
    """
    short = ragged = kept = 0
    prev = header_row
    problem_rows = {r for r, _ in table.problems}
    blank_from: int | None = None
    for row_no, cells in body:
        is_blank = not any(map(str.strip, cells)) and row_no not in problem_rows
        if blank_from is None and (row_no > prev + 1 or is_blank):
            blank_from = prev + 1
        prev = row_no
        if is_blank:
            continue
        if blank_from is not None:
            table.rejects += _blank_rejects(table.file, blank_from, row_no - 1)
            table.rows_read += row_no - blank_from
            blank_from = None
        table.rows_read += 1
        if len(cells) > ncols:
            if any(c.strip() for c in cells[ncols:]):
                ragged += 1
                table.rejects.append(reject(table.file, row_no, None, f"ragged row: {len(cells)} fields but the header has {ncols} (a stray separator or unquoted text?)", table.raw_line(cells)))
                continue
            cells = cells[:ncols]
        elif len(cells) < ncols:
            short += table.delimiter is not None  # a workbook row simply ends at its last filled cell
            cells = cells + [""] * (ncols - len(cells))
        if max(map(len, cells), default=0) > EXCEL_CELL_LIMIT:
            for j, c in enumerate(cells):
                if len(c) > EXCEL_CELL_LIMIT:
                    logger.warning("%s, row %d, column %r: cell of %d characters (over Excel's 32,767 limit; kept in full)", table.file, row_no, table.columns[j], len(c))
        if not "".join(cells).isascii():  # one test for the row; most rows are plain ASCII
            cells = [c if c.isascii() else fix_cell(c) for c in cells]
        kept += 1
        yield row_no, cells
    if short:
        logger.warning("%s: %d row(s) had fewer fields than the header and were padded with empty cells", table.file, short)
    data_rows = kept + ragged
    if table.delimiter is not None and ragged >= 3 and ragged > 0.3 * data_rows:
        raise InputError(table.file, f"{ragged} of {data_rows} rows have more fields than the header's {ncols} when "
                         f"split on {table.delimiter!r}: the separator or the quoting is probably wrong; set "
                         "`delimiter:` (and `encoding:`) in the source, or pass --delimiter to init-config")


def reject(file: str, row: int | None, column: str | None, reason: str, raw: str | None) -> dict:
    """One ``core_rejects`` row."""
    return {"file": file, "row": row, "column": column, "reason": reason, "raw": raw}


def symlink_rows(file: str, reader: str) -> tuple[dict, dict]:
    """Ledger and ``core_rejects`` rows of a symbolic link that was not followed.

    The link counts as one row read and rejected (reason :data:`SYMLINK`); nothing behind it is read, so
    the ledger's ``sha256`` is empty and the reject has no ``raw`` content.
    """
    ledger = {"file": file, "reader": reader, "rows_read": 1, "rows_kept": 0, "rows_rejected": 1, "sha256": ""}
    return ledger, reject(file, None, None, SYMLINK, None)


def is_xlsx(path: Path) -> bool:
    """Whether ``path`` should be read as a workbook (by extension, or a ZIP saved as .csv)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return True
    with open(path, "rb") as fh:
        return fh.read(4) == b"PK\x03\x04" and zipfile.is_zipfile(path)


def read_table(path: Path, file: str, *, reader: str, sheet: str | None = None, encoding: str | None = None,
               delimiter: str | None = None, header_rows: int = 1, header: HeaderBuilder = single_header,
               stream: bool = False) -> RawTable:
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
        stream: A CSV file's data rows are parsed as the table's ``rows`` iterator is read (once), not held as a
            list: see :func:`records_to_table` (a workbook's rows are always a list).

    Raises:
        InputError: The file is a symbolic link (never followed), missing, or cannot be read.
    """
    if path.is_symlink():
        raise InputError(file, SYMLINK_ERROR)
    if not path.is_file():
        raise InputError(file, "not a file (missing, or a folder: use format 'folder' for a folder of documents)")
    sha = sha256_file(path)
    if is_xlsx(path):
        if path.suffix.lower() not in (".xlsx", ".xlsm"):
            logger.warning("%s: this is an Excel workbook saved with a %s name; reading it as .xlsx", file, path.suffix)
        grid, problems = read_xlsx_grid(path, file, sheet, header_rows)
        delim = None
    else:
        if path.suffix.lower() == ".xls":
            raise InputError(file, "old binary .xls workbooks are not supported: save it as .xlsx or .csv")
        if stream:
            records, delim = _stream_records(path, file, encoding, delimiter)
            return records_to_table(records, file=file, reader=reader, sha256=sha, header_rows=header_rows,
                                    header=header, delimiter=delim)
        grid, delim = read_csv_grid(path, file, encoding, delimiter)
        problems = {}
    return grid_to_table(grid, file=file, reader=reader, sha256=sha, header_rows=header_rows, header=header,
                         delimiter=delim, problems=problems)
