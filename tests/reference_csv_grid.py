"""The replaced whole-grid CSV reader (e55ef97), kept only as the reference the streaming reader is compared with
(tests/test_ingest_stream.py): read every record into a list, then split header and body."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from analysis.errors import InputError
from analysis.ingest.tabular import (
    _DELIMITERS,
    EXCEL_CELL_LIMIT,
    Grid,
    HeaderBuilder,
    RawTable,
    _blank_rejects,
    dedupe_columns,
    parse_delimiter,
    reject,
    single_header,
    sniff_delimiter,
    text_lines,
)
from analysis.ingest.text import decode_bytes, fix_cell

logger = logging.getLogger("analysis.ingest.tabular")

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
    data = path.read_bytes()
    if not data.strip():
        raise InputError(file, "the file is empty (0 bytes or only whitespace): export it again")
    text, _ = decode_bytes(data, file, encoding)
    del data  # the text is all that is parsed: the bytes need not stay beside it
    if not text.strip():
        raise InputError(file, "the file is empty (only a byte-order mark or whitespace): export it again")
    offset = 0
    delimiter = parse_delimiter(delimiter)
    first = text.split("\n", 1)[0].strip()
    if first.lower().startswith("sep=") and len(first) == 5:
        delimiter = delimiter or first[4]
        text = text.split("\n", 1)[1] if "\n" in text else ""
        offset = 1
    delim = delimiter or sniff_delimiter(text, file)
    grid: Grid = []
    try:  # strict first: catches a quote that is never closed (it would swallow the rest of the file)
        for i, rec in enumerate(csv.reader(text_lines(text), delimiter=delim, strict=True), start=1 + offset):
            grid.append((i, rec))
    except csv.Error as err:
        if "unexpected end of data" in str(err):
            raise InputError(file, "a quoted cell is never closed (unbalanced \" quote): it would swallow every row "
                             "after it; fix the quote in the file", row=len(grid) + 1 + offset) from None
        grid = []
        for i, rec in enumerate(csv.reader(text_lines(text), delimiter=delim), start=1 + offset):
            grid.append((i, rec))
    return grid, delim


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
    problems = problems or {}
    problem_rows = {r for r, _ in problems}
    content = [k for k, (r, cells) in enumerate(grid) if any(map(str.strip, cells)) or r in problem_rows]
    if not content:
        raise InputError(file, "the file has no header row (it is empty or blank)")
    start, end = content[0], content[-1] + 1
    head = grid[start:start + header_rows]
    if len(head) < header_rows:
        raise InputError(file, f"expected {header_rows} header rows, found {len(head)}", row=grid[start][0])
    width = max(len(c) for _, c in head)
    head_cells = [[fix_cell(c) for c in cells] + [""] * (width - len(cells)) for _, cells in head]
    names, aliases = header(head_cells)
    body = grid[start + header_rows:end]
    # trailing columns with no name and no data are dropped
    ncols = len(names)
    if ncols and not names[ncols - 1]:  # only then can a trailing column go: find the last one with data
        used = max((max((j + 1 for j, x in enumerate(c) if x.strip()), default=0) for _, c in body), default=0)
        while ncols and not names[ncols - 1] and ncols > used:
            ncols -= 1
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
    _body_rows(table, body, head[-1][0], ncols)
    return table


def _body_rows(table: RawTable, body: Grid, header_row: int, ncols: int) -> None:
    """Fill ``table`` with the data rows of ``body`` (blank, ragged and short rows handled; see module docstring)."""
    short = ragged = 0
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
        table.rows.append((row_no, cells))
    if short:
        logger.warning("%s: %d row(s) had fewer fields than the header and were padded with empty cells", table.file, short)
    data_rows = len(table.rows) + ragged
    if table.delimiter is not None and ragged >= 3 and ragged > 0.3 * data_rows:
        raise InputError(table.file, f"{ragged} of {data_rows} rows have more fields than the header's {ncols} when "
                         f"split on {table.delimiter!r}: the separator or the quoting is probably wrong; set "
                         "`delimiter:` (and `encoding:`) in the source, or pass --delimiter to init-config")


