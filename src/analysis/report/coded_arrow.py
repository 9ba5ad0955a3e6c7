"""The internal coded-answers CSV (:data:`analysis.report.tables.INTERNAL_CODED_CSV`) written column by column
with Arrow, without building the frame :func:`analysis.report.tables.coded_answers` returns.

At 200,000 responses (1.1 million answers, 90% of them campaign copies) ``neutralise_frame(ca).to_csv`` was the
largest cost of the report stage (half its CPU seconds, in the forked process writing the internal workbook), and
the frame it wrote held every answer's text three times over (the merges and the sort each took the text columns).
Here the merges and the sort of :func:`~analysis.report.tables.coded_answers` are done on row numbers only
(:func:`plan`), and each CSV field is rendered from its table's column, a block of rows at a time
(:func:`write`), as ``to_csv`` renders it:

* a text column (a string dtype, or ``object`` holding only ``str``): :func:`analysis.report.workbook.neutralise`
  (characters a workbook cannot store removed, a leading formula character escaped with ``'``), then the
  ``csv`` module's minimal quoting (a field holding ``,``, ``"`` or a newline is quoted, its ``"`` doubled);
* a numpy number or boolean column: ``values.astype(str)``, what pandas hands the ``csv`` module;
* a missing value: the empty field.

A block's texts are taken from their chunks in pieces and rendered piece by piece (:func:`take_pieces`): at 200,000
responses this halved the writer's CPU seconds (11.0 -> 5.9) and what it allocates above the tables (+945 -> +486
MB), with the same bytes.

Any other column (another extension dtype, ``object`` holding non-text, a right-hand integer or boolean column that
a missing match would turn into floats, a name the merges would suffix) makes :func:`plan` return ``None``: the
caller then writes the frame with ``to_csv``. ``tests/test_coded_arrow.py`` compares the bytes with ``to_csv``'s,
``tests/test_coded_arrow_pieces.py`` the pieces with the joined column.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.types import infer_dtype, is_string_dtype

from analysis.memory import give_back
from analysis.report.workbook import FORMULA_PREFIXES, neutralise

#: Rows rendered at a time (memory: a block's fields, not the whole file's).
BLOCK = 131_072
_KEYS = ["response_id", "question_id"]


def _s(text: str) -> pa.Scalar:
    return pa.scalar(text, pa.large_string())


@dataclass
class Source:
    """Columns of one table and, for each CSV row, the table row they come from (``-1``: no row, empty fields)."""

    columns: list[str]
    fields: list[tuple[str, object]]  # per column: ("text", pa.Array) or ("plain", pa.Array of rendered fields)
    rows: np.ndarray


@dataclass
class Plan:
    """What :func:`write` writes: the header's columns, in order, and where each row's fields come from."""

    columns: list[str]
    sources: list[Source]

    @property
    def n(self) -> int:
        """Rows of the CSV (``len(coded_answers(tables))``)."""
        return len(self.sources[0].rows)


def _field_source(s: pd.Series, may_miss: bool) -> tuple[str, object] | None:
    """How the fields of column ``s`` are rendered, or ``None`` when this module does not render its dtype.

    ``("plain", numbers)``: a numpy column, rendered a block at a time (:func:`_plain`); ``("text", values)``: text as
    Arrow strings, kept as the column holds them (a string column's chunks are not joined into one copy: at a million
    responses the texts are over a gigabyte, in the forked process writing the file); a block takes its rows from
    them (:func:`take_rows`).
    """
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "biuf":
        if may_miss and s.dtype.kind != "f":
            return None  # a missing match makes it float in the merged frame
        return "plain", s.to_numpy()
    if s.dtype == object:
        if infer_dtype(s, skipna=True) not in ("string", "empty"):
            return None
        try:
            return "text", pa.array(s.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None
    if is_string_dtype(s.dtype):
        arr = pa.array(s.array)
        if isinstance(arr, pa.ChunkedArray) and (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            return "text", arr
        return "text", arrow_text(s)
    return None


def arrow_text(s: pd.Series) -> pa.Array:
    """A column of a string dtype as one Arrow ``large_string`` array."""
    arr = pa.array(s.array)
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    return arr.cast(pa.large_string())


def _plain(v: np.ndarray, idx: np.ndarray) -> pa.Array:
    """The fields of rows ``idx`` (``-1``: none, an empty field) of a numpy column: ``values.astype(str)``, each value
    rendered on its own (what pandas hands the ``csv`` module), ``nan`` as the empty field.

    Each distinct value (by its bits: ``-0.0`` is not ``0.0``) is rendered once and the fields taken from them: a
    position's confidence takes a few hundred values over a million answers.
    """
    got = v[np.where(idx < 0, 0, idx)] if len(v) else np.zeros(len(idx), dtype=v.dtype)
    codes, bits = pd.factorize(got.view(f"u{got.dtype.itemsize}"))
    missing = idx < 0
    if got.dtype.kind == "f":
        missing = missing | np.isnan(got)
    codes[missing] = len(bits)  # the empty field, after the distinct values
    text = np.append(bits.view(got.dtype).astype(str), "")
    return pa.array(text, type=pa.large_string()).take(pa.array(codes))


def take_rows(arr: pa.Array | pa.ChunkedArray, idx: np.ndarray) -> pa.Array:
    """``arr``'s values at rows ``idx`` (``-1``: missing) as one ``large_string`` array, each taken from its chunk.

    Arrow's ``take`` on a chunked array joins every chunk first (each block would cost the whole column); here each
    chunk gives its own rows and the few taken values are put back in ``idx``'s order.
    """
    if isinstance(arr, pa.Array):
        return arr.take(pa.array(idx, mask=idx < 0)).cast(pa.large_string())
    valid = np.flatnonzero(idx >= 0)
    pos = idx[valid]
    ends = np.cumsum([len(c) for c in arr.chunks], dtype=np.int64)
    chunk = np.searchsorted(ends, pos, side="right")
    order = np.argsort(chunk, kind="stable")
    pieces = []
    for k in np.unique(chunk).tolist():
        at = order[chunk[order] == k]
        start = int(ends[k - 1]) if k else 0
        pieces.append(arr.chunk(k).take(pa.array(pos[at] - start)).cast(pa.large_string()))
    got = pa.concat_arrays(pieces) if pieces else pa.array([], type=pa.large_string())
    where = np.full(len(idx), -1, dtype=np.int64)
    where[valid[order]] = np.arange(len(pos))
    return got.take(pa.array(where, mask=where < 0))


#: Most runs of rows of one chunk that :func:`take_pieces` takes a block's rows in (past it, :func:`take_rows`).
MAX_RUNS = 64


def take_pieces(arr: pa.Array | pa.ChunkedArray, idx: np.ndarray) -> pa.ChunkedArray:
    """:func:`take_rows` of ``arr`` and ``idx``, as a chunked array: one piece per run of ``idx`` from one chunk.

    The coded answers are sorted by question, then respondent, as the answers are stored (by respondent, then
    question): a block's rows of one question are ascending, so they come from a few chunks in turn. Each run is
    taken from its chunk and the pieces are kept as they are, not joined into one array and put in order again (two
    copies of every text of the block). A missing row (``-1``) goes with the run of the row before it (or the first
    row with a value). Rows that jump between chunks more than :data:`MAX_RUNS` times are taken by :func:`take_rows`.
    """
    if isinstance(arr, pa.Array) or not len(idx) or (idx < 0).all():
        return pa.chunked_array([take_rows(arr, idx)], type=pa.large_string())
    ends = np.cumsum([len(c) for c in arr.chunks], dtype=np.int64)
    chunk = np.searchsorted(ends, idx, side="right")
    missing = idx < 0
    if missing.any():
        last = np.maximum.accumulate(np.where(missing, -1, np.arange(len(idx))))
        last[last < 0] = np.flatnonzero(~missing)[0]
        chunk = chunk[last]
    cuts = (np.flatnonzero(chunk[1:] != chunk[:-1]) + 1).tolist()
    if len(cuts) >= MAX_RUNS:
        return pa.chunked_array([take_rows(arr, idx)], type=pa.large_string())
    pieces = []
    for a, b in zip([0, *cuts], [*cuts, len(idx)], strict=True):
        k = int(chunk[a])
        rows = idx[a:b] - (int(ends[k - 1]) if k else 0)
        pieces.append(arr.chunk(k).take(pa.array(rows, mask=idx[a:b] < 0)).cast(pa.large_string()))
    return pa.chunked_array(pieces, type=pa.large_string())


def _source(frame: pd.DataFrame, columns: list[str], rows: np.ndarray) -> Source | None:
    may_miss = bool((rows < 0).any())
    fields = [_field_source(frame[c], may_miss) for c in columns]
    return None if any(f is None for f in fields) else Source(columns, fields, rows)


def _rows(merged: pd.DataFrame, col: str) -> np.ndarray:
    v = merged[col].to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isnan(v), -1, v).astype(np.int64)


def plan(tables: dict, answer_columns: list[str], respondent_columns: list[str],
         joined_themes: pd.DataFrame | None) -> Plan | None:
    """The merges and sort of :func:`analysis.report.tables.coded_answers`, on row numbers.

    Args:
        tables: The loaded tables.
        answer_columns: ``coded_answers``' columns from ``core_answers_clean``.
        respondent_columns: Its columns from ``core_responses``.
        joined_themes: Its per-answer theme lists (``response_id``, ``question_id``, ``theme_ids``,
            ``theme_labels``), or ``None`` when there are no theme rows.

    Returns:
        The plan, or ``None`` when a column is not one this module renders (write the frame instead).
    """
    ans = tables.get("core_answers_clean")
    if ans is None:
        return None
    out = ans[_KEYS].assign(_a=np.arange(len(ans)))
    names = set(answer_columns)
    resp = tables.get("core_responses")
    if resp is not None:
        if names & set(respondent_columns):
            return None
        out = out.merge(resp[["response_id"]].assign(_r=np.arange(len(resp))), on="response_id", how="left")
        names |= set(respondent_columns)
    if joined_themes is not None:
        if names & {"theme_ids", "theme_labels"}:
            return None
        out = out.merge(joined_themes[_KEYS].assign(_t=np.arange(len(joined_themes))), on=_KEYS, how="left")
        names |= {"theme_ids", "theme_labels"}
    pos = tables.get("core_answer_positions")
    pos_columns: list[str] = []
    if pos is not None and len(pos):
        pos = pos.rename(columns={"confidence": "position_confidence", "source": "position_source"})
        pos_columns = [c for c in pos.columns if c not in _KEYS]
        if names & set(pos_columns) or "_row" in pos_columns:
            return None
        out = out.merge(pos[_KEYS].assign(_p=np.arange(len(pos))), on=_KEYS, how="left")
    out = out.sort_values(["question_id", "response_id"], kind="mergesort")
    parts = [(ans, answer_columns, out["_a"].to_numpy())]
    if resp is not None:
        parts.append((resp, respondent_columns, _rows(out, "_r")))
    if joined_themes is not None:
        parts.append((joined_themes, ["theme_ids", "theme_labels"], _rows(out, "_t")))
    if pos_columns:
        parts.append((pos, pos_columns, _rows(out, "_p")))
    sources = [_source(frame, cols, rows) for frame, cols, rows in parts]
    if any(s is None for s in sources):
        return None
    return Plan([c for _, cols, _ in parts for c in cols], sources)


def _bytes(arr: pa.Array) -> np.ndarray:
    """The UTF-8 bytes of a large-string array's values (offset 0), end to end."""
    data = arr.buffers()[2]
    b = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
    return b[:int(np.frombuffer(arr.buffers()[1], dtype=np.int64)[len(arr)])]


def _rows_at(arr: pa.Array, pos: np.ndarray) -> np.ndarray:
    """Rows of a large-string array (offset 0) holding the bytes at positions ``pos`` of :func:`_bytes`, ascending."""
    if not len(pos):
        return pos
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[:len(arr) + 1]
    return np.unique(np.searchsorted(offsets, pos, side="right") - 1)


def _patch(arr: pa.Array, rows: np.ndarray, new: pa.Array) -> pa.Array:
    """``arr`` with its values at ``rows`` replaced by ``new`` (one per row, in order)."""
    idx = np.arange(len(arr), dtype=np.int64)
    idx[rows] = len(arr) + np.arange(len(rows))
    return pa.concat_arrays([arr, new.cast(arr.type)]).take(pa.array(idx))


#: A value holding one of these is quoted in the CSV (the ``csv`` module's minimal quoting, ``\n`` line ends).
_QUOTED = '[,"\n]'
_QUOTED_BYTES = (44, 34, 10)
#: Mean bytes per value of a block's column from which :data:`_QUOTED` is searched by Arrow's regex engine (about
#: 100 ns a value) rather than by numpy, byte by byte (a few passes over every byte): letters by the regex, ids by numpy.
REGEX_FROM = 32
#: :data:`~analysis.report.workbook.FORMULA_PREFIXES` as bytes, when each is one ASCII character (else ``None``: then
#: Arrow's ``starts_with`` finds them).
_FORMULA_BYTES = (np.frombuffer("".join(FORMULA_PREFIXES).encode(), dtype=np.uint8)
                  if all(len(p) == 1 and p.isascii() for p in FORMULA_PREFIXES) else None)


def _formula_rows(arr: pa.Array, b: np.ndarray) -> np.ndarray:
    """Rows of ``arr`` (large strings, offset 0, bytes ``b``) starting with a formula character, ascending."""
    if _FORMULA_BYTES is None:
        formula = pc.starts_with(arr, pattern=FORMULA_PREFIXES[0])
        for p in FORMULA_PREFIXES[1:]:
            formula = pc.or_(formula, pc.starts_with(arr, pattern=p))
        return np.flatnonzero(formula.to_numpy(zero_copy_only=False))
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[:len(arr) + 1]
    rows = np.flatnonzero(offsets[1:] > offsets[:-1])
    return rows[np.isin(b[offsets[rows]], _FORMULA_BYTES)]


def _fixed(arr: pa.Array, look: bool) -> tuple[pa.Array, np.ndarray | None]:
    """One piece of :func:`render_text` before quoting: neutralised, ``"`` doubled; and, with ``look``, which rows
    are to be quoted (``None``: not looked for)."""
    arr = pc.fill_null(arr, _s("")).cast(pa.large_string())
    arr = pa.concat_arrays([arr]) if arr.offset else arr  # offset 0: buffers index rows from 0
    if not len(arr):
        return arr, np.zeros(0, dtype=bool)
    b = _bytes(arr)
    low = np.flatnonzero(b < 32)
    control = low[(b[low] != 9) & (b[low] != 10) & (b[low] != 13)]
    fix = np.union1d(_rows_at(arr, control), _formula_rows(arr, b))
    if len(fix):
        arr = _patch(arr, fix, pa.array([neutralise(v) for v in arr.take(pa.array(fix)).to_pylist()],
                                        type=pa.large_string()))
        b = _bytes(arr)
    quoted = None
    if look:
        quoted = np.zeros(len(arr), dtype=bool)
        quoted[_rows_at(arr, np.flatnonzero(np.logical_or.reduce([b == c for c in _QUOTED_BYTES])))] = True
    doubled = _rows_at(arr, np.flatnonzero(b == 34))
    if len(doubled):
        arr = _patch(arr, doubled, pc.replace_substring(arr.take(pa.array(doubled)), '"', '""'))
    return arr, quoted


def render_text(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """CSV fields of text values as ``to_csv`` writes them after ``neutralise_frame`` (missing: empty).

    The bytes that call for a change are found in the values' UTF-8 bytes (an ASCII byte is never part of another
    character's encoding): control characters other than tab, newline and carriage return (among the bytes below 32),
    and ``"`` (doubled). Only the rows holding one, or starting with a formula character, are changed: those
    neutralised by :func:`analysis.report.workbook.neutralise` itself, the others by Arrow. A value holding ``,``,
    ``"`` or a newline is then put between quotes (one join of the column with the quote or nothing on each side).
    A chunked array is rendered piece by piece (the quoted rows of a large one found by one regex search).
    """
    chunked = isinstance(arr, pa.ChunkedArray)
    look = (pc.sum(pc.binary_length(arr)).as_py() or 0) < REGEX_FROM * len(arr)
    parts = [_fixed(c, look) for c in (arr.chunks if chunked else [arr])]
    out = pa.chunked_array([a for a, _ in parts], type=pa.large_string()) if chunked else parts[0][0]
    if all(q is not None for _, q in parts):
        quoted = np.concatenate([q for _, q in parts]) if parts else np.zeros(0, dtype=bool)
        if not quoted.any():
            return out
        quoted = pa.array(quoted)
    else:
        quoted = pc.match_substring_regex(out, _QUOTED)
        if not pc.any(quoted).as_py():
            return out
    mark = pc.if_else(quoted, _s('"'), _s(""))
    return pc.binary_join_element_wise(mark, out, mark, _s(""))


def _block(p: Plan, start: int, stop: int) -> pa.Array | pa.ChunkedArray:
    """The CSV lines of rows ``start:stop`` of ``p``, each ending with a newline (the pieces of the texts' chunks)."""
    fields = []
    for s in p.sources:
        idx = s.rows[start:stop]
        for kind, arr in s.fields:
            fields.append(render_text(take_pieces(arr, idx)) if kind == "text" else _plain(arr, idx))
    fields[-1] = pc.binary_join_element_wise(fields[-1], _s(""), _s("\n"))  # the row's end, then one join
    return pc.binary_join_element_wise(*fields, _s(","))


def _data(arr: pa.Array | pa.ChunkedArray) -> Iterator[memoryview]:
    """The bytes of a large-string array's values, end to end (of a chunked array, chunk by chunk)."""
    for c in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:
        offsets = np.frombuffer(c.buffers()[1], dtype=np.int64)[c.offset:c.offset + len(c) + 1] if len(c) else None
        if offsets is not None and offsets[-1] > offsets[0]:
            yield memoryview(c.buffers()[2])[int(offsets[0]):int(offsets[-1])]


def write(p: Plan, path: Path, *, encoding: str = "utf-8-sig", block: int = BLOCK) -> bool:
    """Write the CSV of ``p`` to ``path``: the bytes of ``neutralise_frame(ca).to_csv(path, index=False,
    lineterminator="\\n", encoding=encoding)``.

    Returns:
        Whether it was written (``False`` for an encoding other than UTF-8: write the frame instead).
    """
    if encoding.replace("_", "-").lower() not in ("utf-8", "utf-8-sig", "utf8"):
        return False
    header = pd.DataFrame(columns=p.columns).to_csv(index=False, lineterminator="\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.write(header.encode(encoding))
        give_back()  # what planning the rows freed
        for start in range(0, p.n, block):
            for data in _data(_block(p, start, min(start + block, p.n)).cast(pa.large_string())):
                f.write(data)
    return True
