"""The label rows of :func:`analysis.counts.rules.count_categories` as integer codes, each key column hashed once.

``count_categories`` joins the label rows to their counting units on ``(response_id, question_id)``, drops the rows
a campaign does not hold (``unit_rule``), groups the rest by (question, group, category) and lists the response ids
behind each cell. Done on the joined frame, every step hashed the Arrow strings again: the join, the cell keys, the
unit ids, the members of each unit and the evidence ids (five passes over the response ids of up to 1.4 million
rows per call, 20 calls at 200k responses). Here the units are encoded once (:func:`encode_units`; a caller that
counts several tables with the same units encodes them once for all), the label rows' ids are looked up once in
the units' dictionaries, and every later step takes integer codes by row position. :func:`label_codes` returns what
the string path returns, as codes of the same partitions (the same cells, units, members and ids), and ``None``
when it cannot (keys that are not all strings, a missing key, a (response, question) with several units): the
caller then takes the string path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.counts import cells


@dataclass
class CodedUnits:
    """The rows of a :func:`~analysis.counts.rules.counting_units` frame as codes.

    Attributes:
        frame: The units frame encoded.
        rid: Its ``response_id`` column (Arrow strings).
        qid: Its ``question_id`` column (Arrow strings).
        rids: Distinct response ids; ``r`` indexes them.
        qids: Distinct question ids; ``q`` indexes them.
        r: Each row's response id code.
        q: Each row's question id code.
        unit: Each row's unit code (distinct codes are distinct ``unit_id`` values).
        shared: Per row: its unit is not the response alone (``unit_id != response_id``: a campaign).
        index: Row position of each ``(r, q)`` pair key (``r * len(qids) + q``; unique).
        lookups: Label rows' key columns looked up in ``rids`` / ``qids`` and their codes (``(rid, qid, r, q)``),
            kept for the next call with the same label rows (the same rows are counted in several tables and
            modes); shared with the encoding of units with the same keys (:func:`encode_units`'s ``like``).
    """

    frame: pd.DataFrame
    rid: pa.Array
    qid: pa.Array
    rids: pa.Array
    qids: pa.Array
    r: np.ndarray
    q: np.ndarray
    unit: np.ndarray
    shared: np.ndarray
    index: pd.Index
    lookups: list = field(default_factory=list)
    _rid_order: np.ndarray | None = None

    def rid_order(self) -> np.ndarray:
        """Positions of ``rids`` in sorted order (Arrow's sort: UTF-8 byte order, which is code point order)."""
        if self._rid_order is None:
            self._rid_order = np.asarray(pc.sort_indices(self.rids), dtype=np.int64)
        return self._rid_order


def encode_units(units: pd.DataFrame, like: CodedUnits | pd.DataFrame | None = None) -> CodedUnits | None:
    """``units`` (``response_id, question_id, unit_id``) as :class:`CodedUnits`, or ``None`` when the string path must
    count them (keys or unit ids that are not all strings, a missing value, a (response, question) twice).

    ``like``: units encoded before (the other count mode's); when their keys are the same rows, their key codes,
    pair index and lookups are taken over and only the unit ids are encoded.
    """
    cols = [cells.arrow_strings(units[c]) for c in ("response_id", "question_id", "unit_id")]
    if any(c is None or c.null_count for c in cols):
        return None
    rid, qid, unit_id = cols
    if isinstance(like, CodedUnits) and _same(rid, like.rid) and _same(qid, like.qid):
        rids, qids, r, q, index, lookups = like.rids, like.qids, like.r, like.q, like.index, like.lookups
    else:
        (r, rids), (q, qids) = _codes(rid), _codes(qid)
        index, lookups = pd.Index(r * max(len(qids), 1) + q), []
        if not index.is_unique:
            return None
    shared = pc.not_equal(unit_id, rid).to_numpy(zero_copy_only=False).astype(bool)
    return CodedUnits(units, rid, qid, rids, qids, r, q, _unit_codes(unit_id, r, rids, shared), shared, index,
                      lookups)


def _same(a: pa.Array, b: pa.Array) -> bool:
    """The same values, row by row (a comparison, no hashing)."""
    return len(a) == len(b) and (a is b or a.equals(b))


def _unit_codes(unit_id: pa.Array, r: np.ndarray, rids: pa.Array, shared: np.ndarray) -> np.ndarray:
    """Codes of the unit ids: a response alone has its response id's code, a campaign ``len(rids)`` + its own.

    Only the campaign members' unit ids are hashed; every unit id is when one of theirs is also a response id.
    """
    at = np.flatnonzero(shared)
    if not len(at):
        return r
    s_codes, s_vals = _codes(unit_id.take(pa.array(at)))
    if pc.any(pc.is_in(rids, value_set=s_vals)).as_py():
        return _codes(unit_id)[0]
    unit = r.copy()
    unit[at] = len(rids) + s_codes
    return unit


def prepared(units: pd.DataFrame, like: CodedUnits | pd.DataFrame | None = None) -> CodedUnits | pd.DataFrame:
    """``units`` encoded for several :func:`~analysis.counts.rules.count_categories` calls (or as they are, when the
    string path must count them): each call then skips the encoding. ``like``: see :func:`encode_units`."""
    coded = encode_units(units, like)
    return units if coded is None else coded


def _codes(arr: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """int64 codes of a string array without missing values and its distinct values."""
    enc = pc.dictionary_encode(arr)
    return enc.indices.to_numpy().astype(np.int64), enc.dictionary


@dataclass
class LabelCodes:
    """The joined (and collapsed) label rows of one count as codes; each ``*_vals`` in sorted order of its codes.

    ``ids`` index ``id_strings`` (the distinct response ids, in no particular order); ``id_order``: their positions
    in sorted order, when known.
    """

    q: np.ndarray
    q_vals: np.ndarray
    g: np.ndarray
    g_vals: np.ndarray
    c: np.ndarray
    c_vals: np.ndarray
    unit: np.ndarray
    ids: np.ndarray
    id_strings: pa.Array
    id_order: np.ndarray | None = None


def label_codes(labelled: pd.DataFrame, coded: CodedUnits, category_col: str, group_col: str | None,
                unit_rule: str, collapse, *, label_denominators: bool = False
                ) -> tuple[LabelCodes, dict | None] | None:
    """The codes of ``labelled`` joined to ``coded``'s units (the inner merge's rows), units collapsed by ``unit_rule``.

    Args:
        labelled: Label rows (``response_id``, ``question_id``, ``category_col``[, ``group_col``]).
        coded: The units (:func:`encode_units`).
        category_col: The category column (counted as ``astype(str)``, as the string path does).
        group_col: The group column, or ``None`` (one group ``all``).
        unit_rule: ``any``, ``plurality`` or ``majority`` (:func:`analysis.counts.rules.count_categories`).
        collapse: :func:`analysis.counts.rules.collapse_codes` (the rule on codes; passed in: rules imports this).
        label_denominators: Also count the distinct units of the joined label rows (before ``unit_rule``) per
            question (and group): ``_denominators`` of the joined distinct (response, question[, group]) rows.

    Returns:
        ``(codes, those denominators or None)``, or ``None`` when the label rows' keys are not all strings or one is
        missing.
    """
    l_rid, l_qid = cells.arrow_strings(labelled["response_id"]), cells.arrow_strings(labelled["question_id"])
    if l_rid is None or l_qid is None or l_rid.null_count or l_qid.null_count:
        return None
    if _same(l_rid, coded.rid) and _same(l_qid, coded.qid):
        # the units' own rows (units counted from the label rows): each row joins the unit row at its position
        r, q, rows = coded.r, coded.q, np.arange(len(l_rid))
        at = rows
    else:
        r, q = _looked_up(coded, l_rid, l_qid)
        at = coded.index.get_indexer(np.where((r >= 0) & (q >= 0), r * max(len(coded.qids), 1) + q, -1))
        rows = np.flatnonzero(at >= 0)
        at = at[rows]
    q_order = np.asarray(pc.sort_indices(coded.qids), dtype=np.int64)
    q_rank = np.empty(len(q_order), dtype=np.int64)
    q_rank[q_order] = np.arange(len(q_order))
    q_vals = np.asarray(coded.qids.take(q_order).to_pylist(), dtype=object)
    if group_col is None:
        g, g_vals = np.zeros(len(rows), dtype=np.int64), np.asarray(["all"], dtype=object)
    else:
        g, g_vals = cells.sorted_codes(labelled[group_col])
        g = g[rows]
    category = labelled[category_col]
    c, c_vals = cells.sorted_codes(category.astype(str))
    codes = LabelCodes(q_rank[q[rows]], q_vals, g, g_vals, c[rows], c_vals, coded.unit[at], r[rows], coded.rids,
                       coded.rid_order())
    den = _label_denominators(codes, group_col is not None) if label_denominators else None
    if unit_rule == "any":
        return codes, den
    shared = coded.shared[at]
    if not shared.any():
        return codes, den
    if isinstance(category.dtype, pd.StringDtype):  # astype(str) is the column itself: the same partition
        raw_cat = codes.c
    else:
        raw_cat = pd.factorize(category, use_na_sentinel=False)[0].astype(np.int64)[rows]
    keep = collapse(shared, [codes.q, _na_as_value(codes.g), codes.unit], _na_as_value(raw_cat), codes.ids,
                    unit_rule)
    return LabelCodes(codes.q[keep], q_vals, codes.g[keep], g_vals, codes.c[keep], c_vals, codes.unit[keep],
                      codes.ids[keep], coded.rids, codes.id_order), den


def _label_denominators(codes: LabelCodes, by_group: bool) -> dict:
    """Distinct units per question (``{qid: n}``) or per question and group (``{(qid, group): n}``; a missing group
    left out), as ``_denominators`` counts them."""
    key, sizes = cells.combine(codes.q, codes.g) if by_group else (codes.q, None)
    groups, n = cells.distinct_per_group(key, codes.unit)
    if not by_group:
        return dict(zip(codes.q_vals[groups].tolist(), n.tolist(), strict=True))
    qs, gs = cells.split(groups, sizes)
    return dict(zip(zip(codes.q_vals[qs].tolist(), codes.g_vals[gs].tolist(), strict=True), n.tolist(), strict=True))


#: Label rows' lookups a :class:`CodedUnits` keeps (each holds two int64 codes per row).
MAX_LOOKUPS = 3


def _looked_up(coded: CodedUnits, rid: pa.Array, qid: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Codes of label rows' keys in the units' distinct ids (``-1``: not there), looked up once per label rows."""
    for k_rid, k_qid, r, q in coded.lookups:
        if _same(rid, k_rid) and _same(qid, k_qid):
            return r, q
    r = pc.fill_null(pc.index_in(rid, value_set=coded.rids), -1).to_numpy().astype(np.int64)
    q = pc.fill_null(pc.index_in(qid, value_set=coded.qids), -1).to_numpy().astype(np.int64)
    coded.lookups[:] = [(rid, qid, r, q)] + coded.lookups[:MAX_LOOKUPS - 1]
    return r, q


def _na_as_value(codes: np.ndarray) -> np.ndarray:
    """Codes with the missing value (``-1``) as one more value (``factorize(use_na_sentinel=False)``'s partition)."""
    return np.where(codes < 0, int(codes.max(initial=-1)) + 1, codes)


def denominators(coded: CodedUnits, asked: np.ndarray) -> dict[str, int]:
    """Distinct units per question of ``asked`` (question id strings), as ``_denominators`` counts the units frame."""
    wanted = pc.is_in(coded.qids, value_set=pa.array(asked, type=coded.qids.type)).to_numpy(zero_copy_only=False)
    ok = wanted[coded.q]
    groups, n = cells.distinct_per_group(np.where(ok, coded.q, -1), coded.unit)
    names = coded.qids.take(pa.array(groups)).to_pylist()
    return dict(zip(names, n.tolist(), strict=True))
