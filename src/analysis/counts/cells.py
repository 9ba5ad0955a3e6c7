"""Integer-code helpers of :func:`analysis.counts.rules.count_categories` (joins and groupings without pandas merges).

Counting joins label rows to their counting units on ``(response_id, question_id)`` and groups them by cell; with
string keys (Arrow-backed) every pandas merge or grouping hashes and copies the strings again. These helpers hash
each key column once (Arrow's C++ ``unique`` / ``index_in``) and then work on integer codes. They return exactly
what the pandas operations they replace return: the rows of an inner merge (in the left frame's order), the cells of
a sorted grouping (rows with a missing key left out), distinct counts per cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def arrow_strings(values: pd.Series) -> pa.Array | None:
    """``values`` as an Arrow string array (no copy for Arrow-backed columns), or ``None`` when they are not strings."""
    try:
        arr = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_large_string(arr.type) or pa.types.is_string(arr.type):
        return arr
    return None


def _pair_codes(rid: pa.Array, qid: pa.Array, rid_set: pa.Array, qid_set: pa.Array) -> np.ndarray:
    """One int64 code per (rid, qid) row: ``-1`` when either value is not in its set."""
    r = pc.fill_null(pc.index_in(rid, value_set=rid_set), -1).to_numpy().astype(np.int64)
    q = pc.fill_null(pc.index_in(qid, value_set=qid_set), -1).to_numpy().astype(np.int64)
    return np.where((r >= 0) & (q >= 0), r * max(len(qid_set), 1) + q, -1)


def _dictionary_codes(arr: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """int64 codes of ``arr`` and its distinct values (a missing value is one of them, so it matches missing)."""
    enc = pc.dictionary_encode(arr, null_encoding="encode")
    return enc.indices.to_numpy().astype(np.int64), enc.dictionary


def attach_units(labelled: pd.DataFrame, units: pd.DataFrame) -> tuple[np.ndarray, pd.Series] | None:
    """The rows of ``labelled.merge(units, on=["response_id", "question_id"], how="inner")``, by position.

    Args:
        labelled: Rows with ``response_id`` and ``question_id``.
        units: Rows with ``response_id``, ``question_id`` and ``unit_id``.

    Returns:
        ``(row positions in labelled, unit_id of each)`` in the merge's row order, or ``None`` when the keys are
        not all strings or a (response, question) has several units (the caller merges then).
    """
    cols = [arrow_strings(f[c]) for f in (labelled, units) for c in ("response_id", "question_id")]
    if any(c is None for c in cols):
        return None
    l_rid, l_qid, u_rid, u_qid = cols
    (u_r, rid_set), (u_q, qid_set) = _dictionary_codes(u_rid), _dictionary_codes(u_qid)  # codes, values: one pass
    u_key = u_r * max(len(qid_set), 1) + u_q
    index = pd.Index(u_key)
    if not index.is_unique:
        return None
    at = index.get_indexer(_pair_codes(l_rid, l_qid, rid_set, qid_set))
    rows = np.flatnonzero(at >= 0)
    return rows, units["unit_id"].iloc[at[rows]].reset_index(drop=True)


def map_strings(values: pd.Series, mapping: pd.Series) -> pd.Series:
    """``values.map(mapping)`` for string values and a string-keyed ``mapping``: the same Series.

    ``Series.map`` finds each value in ``mapping.index`` with pandas' hash lookup (16 maps: 3.4 of 24 CPU s of the
    counts stage of a generated 200k consultation, under cProfile); Arrow's ``index_in`` finds the same positions
    (a value's first, here only, position in the index), and the values are taken as ``map`` takes them.
    Anything else (missing keys or values, keys that are not all strings, a repeated key) goes to ``map``.
    """
    keys = arrow_strings(pd.Series(mapping.index)) if len(mapping) else None  # an Arrow-backed index: no copy
    vals = arrow_strings(values) if keys is not None else None
    if vals is None or keys is None or vals.null_count or keys.null_count or not mapping.index.is_unique:
        return values.map(mapping)
    at = pc.fill_null(pc.index_in(vals, value_set=keys), -1).to_numpy().astype(np.intp)
    taken = pd.api.extensions.take(mapping.array, at, allow_fill=True)
    return pd.Series(taken, index=values.index, name=values.name, copy=False)


def sorted_codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``values`` in sorted order of the distinct values (``-1``: missing) and those values (objects)."""
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def combine(*codes: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """One code per row for several code columns, ordered as the tuples (``-1`` when any is ``-1``), and the radices."""
    sizes = [int(c.max(initial=-1)) + 1 for c in codes]
    out = np.zeros(len(codes[0]), dtype=np.int64)
    bad = np.zeros(len(codes[0]), dtype=bool)
    for c, size in zip(codes, sizes, strict=True):
        out = out * max(size, 1) + c
        bad |= c < 0
    out[bad] = -1
    return out, sizes


def split(code: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """The code columns :func:`combine` combined into ``code``."""
    parts = []
    for size in reversed(sizes):
        parts.append(code % max(size, 1))
        code = code // max(size, 1)
    return parts[::-1]


#: :func:`distinct_per_group` marks each (group, code) pair in a flag array when it has at most this many flags per
#: row (or :data:`BITMAP_MIN_BYTES`), else sorts the pairs: 1.2 million pairs of 45 groups x 250,000 units took
#: 0.01 CPU s marked against 0.14 s hashed (``pd.unique``, whose table leaves the caches), 400 groups 0.10 s; 865,000
#: pairs of 600 groups x 200,000: hashed 0.09, sorted 0.06, marked (120 MB of flags) 0.06.
BITMAP_BYTES_PER_ROW = 16
BITMAP_MIN_BYTES = 1 << 24


def distinct_per_group(group: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct non-missing ``codes`` per group code (rows with ``-1`` in either left out).

    Returns:
        ``(group codes present, number of distinct codes of each)``, groups sorted.
    """
    ok = (group >= 0) & (codes >= 0)
    if not ok.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    radix = int(codes.max(initial=0)) + 1
    pairs = group[ok].astype(np.int64) * radix + codes[ok]
    n_groups = int(group.max()) + 1
    if n_groups * radix <= max(BITMAP_BYTES_PER_ROW * len(pairs), BITMAP_MIN_BYTES):
        seen = np.zeros(n_groups * radix, dtype=bool)  # one flag per possible pair: no hashing
        seen[pairs] = True
        n = np.count_nonzero(seen.reshape(n_groups, radix), axis=1)
    else:
        n = np.bincount(sorted_unique(pairs) // radix)  # sorted: faster than hashing them at 200k responses
    present = np.flatnonzero(n)
    return present.astype(np.int64), n[present].astype(np.int64)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` of int64 codes: sorted, then each run's first value.

    The codes are (cell, id) pairs, nearly all distinct: hashing them first (``pd.unique``, then sorting the
    distinct ones) grew faster than the sort with the consultation (its hash table leaves the caches; 200k
    responses: 0.13 s against 0.07 s for 1.2 million codes), and ``np.unique`` took 1 s. Non-negative codes below
    :data:`BITMAP_BYTES_PER_ROW` per value (or :data:`BITMAP_MIN_BYTES`) are flagged and the flags read in order.
    """
    values = np.asarray(values)
    if len(values) and values.dtype == np.int64 and int(values.min()) >= 0:
        top = int(values.max()) + 1
        if top <= max(BITMAP_BYTES_PER_ROW * len(values), BITMAP_MIN_BYTES):  # flags, read in order: no sort
            seen = np.zeros(top, dtype=bool)
            seen[values] = True
            return np.flatnonzero(seen).astype(np.int64)
    out = np.sort(values)
    return out[np.r_[True, out[1:] != out[:-1]]] if len(out) else out
