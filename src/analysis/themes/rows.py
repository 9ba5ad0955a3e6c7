"""Per-row helpers of the themes stage that do their Python work once per distinct text, not once per answer.

At 200,000 responses of which 90% are campaign copies, the stage's bookkeeping iterated pandas' Arrow-backed
string columns one value at a time (each value a PyArrow scalar made into a ``str``), normalised every copy's
whole letter to find the few short placeholder texts, and hashed or compared every copy's text again. The helpers
here give the same values, keys and counts from NumPy object arrays and from each distinct text once;
``tests/test_themes_rows.py`` compares each with the code it replaced on real answers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

#: Rows hashed or compared at a time (bounds the memory of a joined chunk or a gathered block).
CHUNK = 16_384
#: Rows of the first prefix :func:`n_distinct_rows` counts with ``at_most``.
PREFIX = 4_096


def values(column: pd.Series) -> np.ndarray:
    """A column's values as a NumPy object array, each the object iterating the column gives.

    ``Series.__iter__`` (and ``itertuples``) builds every value of an Arrow-backed string column from a PyArrow
    scalar; ``to_numpy`` converts the column at once. Both give the column's ``str`` values and its missing value
    (``nan`` for pandas' ``str`` dtype, ``None`` / ``nan`` as stored in an object column), and Python scalars for
    NumPy columns.
    """
    return column.to_numpy(dtype=object)


def is_in(column: pd.Series, wanted: set[str]) -> np.ndarray:
    """``column.isin(wanted).to_numpy(bool, na_value=False)`` for strings ``wanted``: a missing value is not in it.

    An Arrow-backed string column is matched by PyArrow's ``is_in`` (pandas converts the wanted values one PyArrow
    scalar at a time: 2 s a call for 100,000 tagged responses' ids); other columns by pandas.
    """
    chunked = getattr(column.array, "_pa_array", None)
    if chunked is not None and (chunked.type == "string" or chunked.type == "large_string"):
        import pyarrow as pa  # noqa: PLC0415 - pandas' Arrow-backed columns need it anyway
        import pyarrow.compute as pc  # noqa: PLC0415

        got = pc.is_in(chunked, value_set=pa.array(sorted(wanted), type=chunked.type))
        return got.to_numpy(zero_copy_only=False).astype(bool, copy=False) if got.null_count == 0 else \
            got.fill_null(False).to_numpy(zero_copy_only=False).astype(bool, copy=False)
    return column.isin(wanted).to_numpy(bool, na_value=False)


def iter_rows(frame: pd.DataFrame, columns: Sequence[str]):
    """``zip`` of the ``columns``' :func:`values`, converted :data:`CHUNK` rows at a time (a column's Python
    strings are never all made at once)."""
    for s in range(0, len(frame), CHUNK):
        part = frame.iloc[s:s + CHUNK]
        yield from zip(*(values(part[c]) for c in columns), strict=True)


def chunks(column: pd.Series):
    """:func:`values` of ``column``, :data:`CHUNK` rows at a time."""
    for s in range(0, len(column), CHUNK):
        yield values(column.iloc[s:s + CHUNK])


def more_words_than(text: str, limit: int, word: re.Pattern) -> bool:
    """Whether ``word`` matches ``text`` more than ``limit`` times (``word.finditer(text)`` has a ``limit + 1``-th
    match), by one match of :func:`_at_least`'s pattern (no match object per word)."""
    return _at_least(word.pattern, word.flags, limit + 1).match(text) is not None


@lru_cache(maxsize=64)
def _at_least(pattern: str, flags: int, n: int) -> re.Pattern:
    """A pattern matching (at the start) the texts where ``re.compile(pattern, flags).finditer`` finds ``n`` matches.

    Each of the ``n`` atomic groups ``(?>.*?(?:pattern))`` takes the leftmost match of ``pattern`` after the previous
    one, the match ``search`` (so ``finditer``) gives there: the lazy ``.*?`` tries the nearest start first, and the
    atomic group keeps the first match found and never retries it shorter or later (so no backtracking: a text with
    fewer matches fails in one pass). ``pattern`` must not match the empty string (``finditer``'s rule for empty
    matches is not reproduced); the themes' word pattern needs a letter. For ``n < 1`` every text matches.
    """
    if n < 1:
        return re.compile("")
    return re.compile(f"(?:(?>.*?(?:{pattern}))){{{n}}}", flags | re.DOTALL)


def hash_strings(h: hashlib._Hash, column: pd.Series, sep: str = "\x1f") -> None:
    """``for t in column: h.update(t.encode("utf-8", "surrogatepass") + sep)`` (a column of ``str``), fed a chunk of
    values at a time.

    sha256 is a stream: the same bytes give the same digest however they are split between updates.
    """
    for chunk in chunks(column):
        if len(chunk):
            h.update((sep.join(chunk) + sep).encode("utf-8", "surrogatepass"))


def repr_joined(column: pd.Series, sep: str = "\x1f", *, missing: bool | None = None) -> str:
    """``sep.join("\\x00" if not isinstance(v, str) and pd.isna(v) else repr(v) for v in column.tolist())``.

    Without a missing value every element is ``repr(v)`` (``pd.isna`` of a present scalar is false), joined at
    C speed; otherwise each value is tested as before. ``missing``: whether the column has a missing value, when
    the caller knows (``None``: looked up); with ``False`` there must be none.
    """
    vals = column.tolist()
    if not (column.isna().any() if missing is None else missing):
        return sep.join(map(repr, vals))
    return sep.join("\x00" if not isinstance(v, str) and pd.isna(v) else repr(v) for v in vals)


def hash_repr_joined(h: hashlib._Hash, column: pd.Series, sep: str = "\x1f") -> None:
    """``h.update(repr_joined(column, sep).encode("utf-8", "surrogatepass"))``, fed :data:`CHUNK` values at a time.

    The joined text of a column of 187,055 campaign letters is ~240 MB, made three times over (the values, their
    ``repr``, the join) and encoded once more: about 1.1 GB for a moment, for one hash. sha256 is a stream and
    UTF-8 (``surrogatepass`` too) encodes each character on its own, so the same bytes fed a chunk at a time,
    with ``sep`` between chunks, give the same digest.
    """
    missing = bool(column.isna().any())
    first = True
    for s in range(0, len(column), CHUNK):
        part = repr_joined(column.iloc[s:s + CHUNK], sep, missing=missing)
        h.update((part if first else sep + part).encode("utf-8", "surrogatepass"))
        first = False


def hash_column(h: hashlib._Hash, column: pd.Series) -> None:
    """Feed ``h`` what identifies ``column``'s values: its Arrow buffers, or (other columns) its joined reprs.

    A cache key, not a published value. An Arrow-backed column is fed, chunk by chunk, its type, length, offset
    and null count and then each buffer's size and bytes (validity, offsets, data): these determine every value,
    so different values never give the same bytes (the same values stored otherwise, e.g. sliced, only miss the
    cache). Reading the buffers as they are skips making, quoting and encoding a Python string per row
    (:func:`hash_repr_joined`): 0.13 against 2.5 CPU s for the 187,055 answers (225 MB) of one question at
    200,000 responses with 90% campaign letters. Other columns (object, NumPy) are fed ``b"repr:"`` and
    :func:`hash_repr_joined`'s bytes.
    """
    chunked = getattr(column.array, "_pa_array", None)
    if chunked is None or not hasattr(chunked, "chunks"):
        h.update(b"repr:")
        hash_repr_joined(h, column)
        return
    h.update(f"arrow:{chunked.type}:{len(chunked)}:{chunked.num_chunks}".encode())
    for c in chunked.chunks:
        h.update(f"\x1d{len(c)}:{c.offset}:{c.null_count}:{len(c.buffers())}".encode())
        for b in c.buffers():
            if b is None:
                h.update(b"\x1c-")
                continue
            h.update(f"\x1c{b.size}:".encode())
            h.update(memoryview(b))


def distinct(parts) -> list[str]:
    """``list(dict.fromkeys(str(v) for column in parts for v in column))``, a column converted a chunk at a time.

    ``parts``: pandas Series (or lists). Only the distinct texts are kept as Python strings, never a list of
    every row's.
    """
    seen: dict[str, None] = {}
    for column in parts:
        add_distinct(seen, column)
    return list(seen)


def add_distinct(seen: dict[str, None], column) -> None:
    """Add ``column``'s values as strings to ``seen`` (a dict kept in the order first met; :func:`distinct`'s step).

    ``column``: a pandas Series (converted a chunk at a time) or a list.
    """
    for chunk in (chunks(column) if isinstance(column, pd.Series) else [column]):
        seen.update(dict.fromkeys(map(str, chunk)))


def n_distinct_rows(texts: Sequence[str], emb: np.ndarray, decimals: int = 5, at_most: int | None = None) -> int:
    """``len(np.unique(emb.round(decimals), axis=0))``, sorting one row per distinct text; with ``at_most``, the
    smaller of that and ``at_most``.

    Discovery needs only ``min(k, distinct rows)`` for its ``k`` (30 at most) topics: the first rows have that
    many distinct rows already (a part of the rows never has more than the whole), so with ``at_most`` the rows
    are counted by growing prefixes, and the whole only when a prefix has fewer (the 150,000 units of one question
    at 200,000 responses were all rounded and their 95,000 distinct rows sorted, for 30).

    Rows of one text are the same vector (the embedding cache and the backends give a text one vector), so the
    other rows are left out of the sort once they are checked to be byte for byte the first row of their text
    once rounded: a row equal in every byte to a kept row never adds a distinct row. Only the distinct rows are
    rounded whole (the others :data:`CHUNK` rows at a time, to be checked). Any difference: every row is sorted.
    """
    if at_most is not None:
        if not (np.ndim(emb) == 2 and len(emb) == len(texts)):
            return min(n_distinct_rows(texts, emb, decimals), at_most)
        if at_most <= 1 and len(texts):  # one row is one distinct row
            return at_most
        size = PREFIX
        while size < len(texts):
            if n_distinct_rows(texts[:size], emb[:size], decimals) >= at_most:
                return at_most
            size *= 8
        return min(n_distinct_rows(texts, emb, decimals), at_most)
    first: dict[str, int] = {}
    of = np.fromiter((first.setdefault(t, i) for i, t in enumerate(texts)), dtype=np.intp, count=len(texts))
    if len(first) < len(texts) and np.ndim(emb) == 2 and len(emb) == len(texts):
        kept = np.fromiter(first.values(), dtype=np.intp, count=len(first))
        rounded = emb[kept].round(decimals)  # the first row of each text
        slot = np.empty(len(texts), dtype=np.intp)
        slot[kept] = np.arange(len(kept))  # a first row's place in ``rounded``
        at = slot[of]

        def bits(a: np.ndarray) -> np.ndarray:
            return a.view(np.dtype(f"u{a.dtype.itemsize}")) if a.dtype.kind == "f" else a

        if all(np.array_equal(bits(emb[s:s + CHUNK].round(decimals)), bits(rounded[at[s:s + CHUNK]]))
               for s in range(0, len(texts), CHUNK)):
            return len(np.unique(rounded, axis=0))
    return len(np.unique(np.asarray(emb).round(decimals), axis=0))


def filter_rows(frame: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """``frame[mask]`` (a boolean NumPy mask), each Arrow-backed column filtered by PyArrow.

    pandas selects rows by ``take`` on positions, which on a large string column costs about seven times PyArrow's
    ``filter`` of the same rows (1.5 against 0.2 CPU s for 500,000 of 1.1 million answers). Same values, dtypes,
    column names and index; ``frame[mask]`` itself whenever a column is not rebuilt to the same dtype.
    """
    mask = np.asarray(mask, dtype=bool)
    out = _filtered(frame, mask)
    return frame[mask] if out is None else out


def _filtered(frame: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame | None:
    """:func:`filter_rows` by PyArrow (Arrow columns) and NumPy (boolean, number and date columns); ``None`` when a
    column is of another kind or would not keep its dtype."""
    import pyarrow as pa  # noqa: PLC0415 - pandas' Arrow-backed columns need it anyway

    keep = None
    cols = {}
    for name in frame.columns:
        arr, dtype = frame[name].array, frame[name].dtype
        chunked = getattr(arr, "_pa_array", None)
        if chunked is not None:
            keep = pa.array(mask) if keep is None else keep
            cols[name] = pd.array(chunked.filter(keep), dtype=dtype)
        elif isinstance(dtype, np.dtype) and dtype.kind in "biufcmM":
            cols[name] = frame[name].to_numpy()[mask]
        else:  # object, categorical...
            return None
    if len(cols) != frame.shape[1]:  # repeated column names
        return None
    out = pd.DataFrame(cols, index=frame.index[mask])
    if not (out.columns.equals(frame.columns) and out.dtypes.equals(frame.dtypes)):
        return None
    return out
