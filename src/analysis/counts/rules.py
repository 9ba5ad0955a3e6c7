"""Counting: the one place the count mode (all responses / unique submissions) is applied.

* **all** mode: every response counts once.
* **unique** mode: every member of a form-letter campaign collapses into one unit (the campaign), so a
  campaign of 300 letters counts once; its size is reported beside it. Membership is **per respondent**
  (:func:`respondent_campaigns`): a respondent whose letter was found in any question (or whose whole
  submission is a copy) counts with the campaign on *every* question, tick-boxes included, so no
  question's ``n`` exceeds the number of unique submissions. Campaigns that share a member (the same
  letter sent by web form and by e-mail) are one unit. For theme counts a unit "has" a category when at
  least one of its members has it (distinct-unit counting); for positions and tick-box options, where a
  unit must hold one answer, it holds the answer most of its members gave (:func:`count_categories`,
  ``unit_rule``), so ``n_all = n_unique + sum over campaigns (size - 1)`` holds for response totals.

Shares carry Wilson 95% score intervals; cells below ``min_cell`` units are suppressed (``n`` and
share blanked, ``suppressed`` set) in anything published, as statistical agencies do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.counts import cells
from analysis.counts import coded as coded_mod

Z95 = 1.959963984540054


def wilson_interval(k: int | float, n: int | float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``k / n``.

    Args:
        k: Successes (may be fractional after error correction).
        n: Trials.
        z: Normal quantile (default 95%).

    Returns:
        ``(low, high)``; ``(nan, nan)`` when ``n == 0``.
    """
    if n <= 0:
        return (math.nan, math.nan)
    p = min(max(k / n, 0.0), 1.0)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def respondent_campaigns(answers_clean: pd.DataFrame | None,
                         submission_campaigns: pd.DataFrame | None = None) -> pd.Series:
    """One campaign per respondent, found in any of their answers or their whole submission.

    Campaign ids a respondent is a member of (``campaign_id`` of their campaign-copy answers in
    ``core_answers_clean``; ``campaign_id`` of ``core_submission_campaigns``) are linked; linked campaigns
    (connected through shared members, e.g. one letter detected as C01 on the web form and C03 by e-mail,
    both in whole-submission campaign S01) form one unit, named after its largest per-question campaign
    (``C..``, which has a template in ``core_campaigns``; ties: the smaller id), else its largest
    whole-submission campaign (``S..``).

    Args:
        answers_clean: ``core_answers_clean`` (``response_id``, ``campaign_id``, ``is_campaign_copy``).
        submission_campaigns: ``core_submission_campaigns`` or ``None``.

    Returns:
        Series ``response_id -> campaign id`` (strings) for campaign members only, sorted by response id.
    """
    pairs = []
    if answers_clean is not None and "campaign_id" in answers_clean.columns and len(answers_clean):
        copy = answers_clean.get("is_campaign_copy", answers_clean["campaign_id"].notna())
        mask = answers_clean["campaign_id"].notna() & copy.fillna(False).astype(bool)
        pairs.append(answers_clean.loc[mask, ["response_id", "campaign_id"]])
    if submission_campaigns is not None and len(submission_campaigns):
        pairs.append(submission_campaigns[["response_id", "campaign_id"]])
    if not pairs:
        return pd.Series(dtype=str, name="campaign_id")
    pairs_df = pd.concat(pairs, ignore_index=True).astype(str).drop_duplicates()
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    linked = pairs_df[pairs_df.duplicated("response_id", keep=False)]  # members of several campaigns link them
    linked = linked.sort_values(["response_id", "campaign_id"], kind="mergesort")
    # each member's smallest campaign id links its other ones: the distinct (smallest, other) links, in the order
    # first met (a component does not depend on the order its links are joined in; a million members share a few)
    rids, cids = linked["response_id"].to_numpy(dtype=object), linked["campaign_id"].to_numpy(dtype=object)
    new = np.ones(len(rids), dtype=bool)
    new[1:] = rids[1:] != rids[:-1]
    firsts = cids[np.maximum.accumulate(np.where(new, np.arange(len(rids)), 0))] if len(rids) else cids
    for first, cid in dict.fromkeys(zip(firsts[~new].tolist(), cids[~new].tolist(), strict=True)):
        parent[find(cid)] = find(first)
    size = pairs_df["campaign_id"].value_counts()
    rank = sorted(size.index, key=lambda c: (c.startswith("S"), -int(size[c]), c))
    name: dict[str, str] = {}
    for cid in rank:  # best-ranked campaign of each component names it
        name.setdefault(find(cid), cid)
    first_id = pairs_df.sort_values(["response_id", "campaign_id"]).drop_duplicates("response_id")
    codes, firsts = pd.factorize(first_id["campaign_id"])  # each member's campaign named once per campaign id
    named = np.asarray([name[find(c)] for c in firsts] + [None], dtype=object)
    out = pd.Series(named[codes], index=first_id["response_id"].to_numpy(), dtype=object, name="campaign_id")
    return out.sort_index()


def respondent_types(responses: pd.DataFrame | None) -> pd.Series:
    """``response_id -> respondent_type`` of ``core_responses`` (to ``map`` onto label rows: a left merge's values)."""
    if responses is None or responses.empty:
        return pd.Series(dtype=str)
    return responses.set_index("response_id")["respondent_type"]


def counting_units(answers_clean: pd.DataFrame, mode: str, membership: pd.Series | None = None) -> pd.DataFrame:
    """Map each (response, question) to its counting unit.

    Args:
        answers_clean: Table with ``response_id``, ``question_id`` and optionally ``campaign_id`` /
            ``is_campaign_copy`` (``core_answers_clean``).
        mode: ``"all"`` or ``"unique"``.
        membership: Per-respondent campaign (:func:`respondent_campaigns`); in ``unique`` mode every answer of
            a member, on any question, then counts with its campaign. ``None``: only the campaign-copy
            answers themselves collapse (the per-question view, used to reconcile detection).

    Returns:
        DataFrame ``response_id, question_id, unit_id``.
    """
    if mode not in ("all", "unique"):
        raise ValueError(f"count mode must be 'all' or 'unique', got {mode!r}")
    out = answers_clean[["response_id", "question_id"]].copy()
    out["unit_id"] = out["response_id"].astype(str)
    if mode == "unique" and membership is not None:
        camp = cells.map_strings(out["unit_id"], membership)
        hit = camp.notna()
        out.loc[hit, "unit_id"] = "campaign:" + camp[hit].astype(str)
    elif mode == "unique" and "campaign_id" in answers_clean.columns:
        camp = answers_clean["campaign_id"]
        copy = answers_clean.get("is_campaign_copy", camp.notna())
        mask = camp.notna().to_numpy() & copy.fillna(False).astype(bool).to_numpy()
        out.loc[mask, "unit_id"] = "campaign:" + camp[mask].astype(str)
    return out


def count_categories(
    labelled: pd.DataFrame,
    units: pd.DataFrame | coded_mod.CodedUnits,
    *,
    table: str,
    category_col: str,
    group_col: str | None = None,
    categories: Iterable[str] | dict[str, Iterable[str]] | None = None,
    mode: str,
    min_cell: int = 5,
    denominator_units: pd.DataFrame | None = None,
    unit_rule: str = "any",
    label_denominators: bool = False,
) -> pd.DataFrame:
    """Count distinct units per (question, group, category) with shares, intervals and suppression.

    Args:
        labelled: Rows ``response_id, question_id, <category_col>[, <group_col>]`` (one row per label;
            multi-label allowed).
        units: Output of :func:`counting_units` for the same mode, or it encoded
            (:func:`analysis.counts.coded.prepared`) for several calls.
        table: Name written in the ``table`` column of ``out_counts``.
        category_col: Column holding the category (position, theme id ...).
        group_col: Optional column holding the row dimension (respondent type, theme ...).
        categories: Categories to report even when empty (zero rows are kept); a dict gives each question's own
            (``{question_id: categories}``: several questions counted in one call, as one call per question would).
        mode: Count mode written in the output.
        min_cell: Suppress cells with fewer units than this (0 disables).
        denominator_units: Units that form the denominator per question (and group); default: all
            units in ``units`` for that question.
        unit_rule: When a unit has several member responses (a campaign in ``unique`` mode), which
            categories it holds: ``"any"`` (those at least one member has: themes raised), ``"plurality"``
            (the category most members have; a tie holds each tied category: one-answer questions and
            positions) or ``"majority"`` (each category at least half of the members have: multi-select).
            Members are the unit's responses with a label in that question (and group).
        label_denominators: The denominators are the distinct units of the label rows themselves, per question and
            group (``denominator_units`` = the labelled (response, question[, group]) rows joined to ``units``).

    Returns:
        A frame matching the ``out_counts`` schema.
    """
    if unit_rule not in ("any", "plurality", "majority"):
        raise ValueError(f"unit_rule must be 'any', 'plurality' or 'majority', got {unit_rule!r}")
    asked = labelled["question_id"].unique()
    coded = units if isinstance(units, coded_mod.CodedUnits) else coded_mod.encode_units(units)
    units = coded.frame if coded is not None else units
    found = None if coded is None else coded_mod.label_codes(labelled, coded, category_col, group_col, unit_rule,
                                                             collapse_codes, label_denominators=label_denominators)
    codes = None if found is None else found[0]
    if found is not None and label_denominators:
        den, by_group = found[1], group_col is not None
    elif found is not None and denominator_units is None and group_col not in units.columns:
        den, by_group = coded_mod.denominators(coded, asked), False
    else:
        if label_denominators:
            keys = ["response_id", "question_id"] + ([group_col] if group_col else [])
            denominator_units = join_units(labelled[keys].drop_duplicates(), units)
        if codes is None:  # the string path (keys that are not all strings, a missing key, a repeated pair)
            # only the questions labelled (callers pass every question's units): a smaller join, the same rows
            if units["question_id"].nunique() > len(asked):
                units = units[units["question_id"].isin(asked)]
            codes = label_codes_of_frame(labelled, units, category_col, group_col, unit_rule)
        den_src = units if denominator_units is None else denominator_units
        den_src = den_src[den_src["question_id"].isin(asked)]
        by_group = group_col is not None and group_col in den_src.columns
        den = _denominators(den_src, group_col if by_group else None)
    q_vals, g_vals, c_vals = codes.q_vals, codes.g_vals, codes.c_vals
    # one grouped pass (not a filter per cell): distinct units and the evidence (response ids) per cell; cells in
    # sorted key order (as a sorted groupby), rows with a missing key left out
    cell, sizes = cells.combine(codes.q, codes.g, codes.c)
    present, n_units = cells.distinct_per_group(cell, codes.unit)
    n_by_cell = dict(zip(present.tolist(), n_units.tolist(), strict=True))
    ev_cells, ev_joined, ev_n = evidence_of_codes(cell, codes.ids, codes.id_strings, codes.id_order)
    ev_by_cell = dict(zip(ev_cells.tolist(), zip(ev_joined, ev_n.tolist(), strict=True), strict=True))
    by_question = isinstance(categories, dict)
    cats = (None if categories is None else {q: list(c) for q, c in categories.items()} if by_question
            else list(categories))
    qs, gs, cs = cells.split(present, sizes)
    c_index = {c: i for i, c in enumerate(c_vals.tolist())}
    rows = []
    for qg in np.unique(qs * max(sizes[1], 1) + gs).tolist():
        qc, gc = divmod(qg, max(sizes[1], 1))
        qid, grp = q_vals[qc], g_vals[gc]
        d = int(den.get((qid, grp) if by_group else qid, 0))
        base = qg * max(sizes[2], 1)
        wanted = cats.get(qid) if by_question else cats
        for cat in wanted if wanted is not None else c_vals[cs[(qs == qc) & (gs == gc)]].tolist():
            code = base + c_index[cat] if cat in c_index else -1
            n = int(n_by_cell.get(code, 0))
            ev, ev_n_cell = ev_by_cell.get(code, (None, 0))
            rows.append((qid, str(grp), cat, n, d, ev, ev_n_cell))
    return _cell_frame(rows, table, mode, min_cell)


def label_codes_of_frame(labelled: pd.DataFrame, units: pd.DataFrame, category_col: str, group_col: str | None,
                         unit_rule: str) -> coded_mod.LabelCodes:
    """:func:`analysis.counts.coded.label_codes` on the joined frame: a merge, then each key column factorized."""
    lab = join_units(labelled, units)
    gcol = group_col or "__group"
    if group_col is None:
        lab = lab.assign(__group="all")
    if unit_rule != "any":
        lab = _collapse_units(lab, ["question_id", gcol, "unit_id"], category_col, unit_rule)
    (q, q_vals), (g, g_vals), (c, c_vals) = (
        cells.sorted_codes(lab["question_id"]), cells.sorted_codes(lab[gcol]),
        cells.sorted_codes(lab[category_col].astype(str)))
    ids, uniques = pd.factorize(lab["response_id"].astype(str))  # hashing Arrow strings is cheap
    return coded_mod.LabelCodes(q, q_vals, g, g_vals, c, c_vals, pd.factorize(lab["unit_id"])[0].astype(np.int64),
                                ids.astype(np.int64), pa.array(uniques, type=pa.string()))


def join_units(labelled: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """``labelled`` with each row's ``unit_id`` (an inner join on response and question; the merge's rows)."""
    found = cells.attach_units(labelled, units)
    if found is None:
        return labelled.merge(units[["response_id", "question_id", "unit_id"]], on=["response_id", "question_id"],
                              how="inner")
    rows, unit_id = found
    lab = labelled.iloc[rows].reset_index(drop=True)
    lab["unit_id"] = unit_id.array
    return lab


def _denominators(den_src: pd.DataFrame, group_col: str | None) -> dict:
    """Distinct units per question (and group): ``{qid or (qid, group): n}`` (missing keys left out)."""
    keys = ["question_id"] + ([group_col] if group_col else [])
    coded = [cells.sorted_codes(den_src[k]) for k in keys]
    code, sizes = cells.combine(*(c for c, _ in coded))
    groups, n = cells.distinct_per_group(code, pd.factorize(den_src["unit_id"])[0])
    parts = cells.split(groups, sizes)
    names = [vals[p].tolist() for (_, vals), p in zip(coded, parts, strict=True)]
    keys_out = names[0] if group_col is None else list(zip(*names, strict=True))
    return dict(zip(keys_out, n.tolist(), strict=True))


#: Columns of ``out_counts`` rows (the schema's order).
COUNT_COLUMNS = ["table", "question_id", "group", "category", "n", "denominator", "share", "ci_low", "ci_high",
                 "suppressed", "count_mode", "evidence_ids", "evidence_n"]


def _cell_frame(rows: list[tuple], table: str, mode: str, min_cell: int) -> pd.DataFrame:
    """``out_counts`` rows from ``(question, group, category, n, denominator, evidence ids, evidence n)`` tuples."""
    if not rows:
        return suppress(pd.DataFrame(columns=COUNT_COLUMNS), min_cell)
    qid, grp, cat, n, d, ev, ev_n = (list(c) for c in zip(*rows, strict=True))
    ci = [wilson_interval(k, m) for k, m in zip(n, d, strict=True)]
    n_arr, d_arr = np.asarray(n, dtype=np.int64), np.asarray(d, dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(d_arr > 0, n_arr / np.where(d_arr > 0, d_arr, 1), np.nan)
    out = pd.DataFrame({"table": table, "question_id": qid, "group": grp, "category": cat, "n": n_arr,
                        "denominator": d_arr, "share": share, "ci_low": [c[0] for c in ci],
                        "ci_high": [c[1] for c in ci], "suppressed": False, "count_mode": mode, "evidence_ids": ev,
                        "evidence_n": np.asarray(ev_n, dtype=np.int64)}, columns=COUNT_COLUMNS)
    return suppress(out, min_cell)


#: Most response ids ``out_counts.evidence_ids`` lists per cell (the first in sorted order); ``evidence_n`` counts
#: them all. The full lists grew with the consultation (21.5 million characters of ids for a generated 10k-response
#: consultation) and nothing published reads them; :func:`analysis.counts.evidence.cell_response_ids` lists every
#: response behind a cell.
EVIDENCE_MAX: int | None = 20


def evidence_by_code(cell: np.ndarray, ids: pd.Series) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Per cell code: the first :data:`EVIDENCE_MAX` distinct ids, sorted and ``;``-joined, and how many there are.

    Args:
        cell: Each row's cell code (``-1``: the row is left out).
        ids: Each row's id (strings; missing and empty ids are left out).

    Returns:
        ``(cell codes with at least one id, sorted; their joined ids; their numbers of distinct ids)``.
    """
    codes, uniques = pd.factorize(ids)  # hashing Arrow strings is cheap; comparing them in Python is not
    return evidence_of_codes(cell, codes.astype(np.int64), pa.array(uniques, type=pa.string()))


def evidence_of_codes(cell: np.ndarray, codes: np.ndarray, strings: pa.Array, order: np.ndarray | None = None
                      ) -> tuple[np.ndarray, list[str], np.ndarray]:
    """:func:`evidence_by_code` of ids given as codes (``-1``: missing) into ``strings`` (distinct ids, any order;
    ``order``: their positions in sorted order, when known)."""
    # UTF-8 byte order is code point order: Arrow's sort orders the ids exactly as Python's sorted() does
    if order is None:
        order = np.asarray(pc.sort_indices(strings), dtype=np.int64)
    rank = np.empty(len(strings), dtype=np.int64)
    rank[order] = np.arange(len(strings))
    ok = (cell >= 0) & (codes >= 0)
    for empty in np.flatnonzero(pc.equal(strings, "").to_numpy(zero_copy_only=False)):
        ok &= codes != empty
    if not ok.any():
        return np.zeros(0, dtype=np.int64), [], np.zeros(0, dtype=np.int64)
    n_u = len(strings)
    pairs = cells.sorted_unique(cell[ok].astype(np.int64) * n_u + rank[codes[ok]])  # distinct (cell, id), sorted
    pair_cell = pairs // n_u
    first = np.flatnonzero(np.r_[True, pair_cell[1:] != pair_cell[:-1]])
    cells_, n_ids = pair_cell[first], np.diff(np.r_[first, len(pairs)])
    if EVIDENCE_MAX is not None:  # each cell's first ids only
        pairs = pairs[np.arange(len(pairs)) - np.repeat(first, n_ids) < EVIDENCE_MAX]
        first = np.concatenate([[0], np.cumsum(np.minimum(n_ids, EVIDENCE_MAX))[:-1]])
    # only the listed ids become Python strings (not every distinct id, nor every pair's)
    pair_id = np.asarray(strings.take(order[pairs % n_u]).to_numpy(zero_copy_only=False), dtype=object)
    joined = [";".join(chunk) for chunk in np.split(pair_id, first[1:])]
    return cells_, joined, n_ids


def cell_evidence(lab: pd.DataFrame, keys: list[str], id_col: str,
                  cell: np.ndarray | None = None) -> dict[tuple, tuple[str | None, int]]:
    """Per cell (``keys``): the first :data:`EVIDENCE_MAX` distinct ids, sorted and ``;``-joined, and how many there are.

    Args:
        lab: Label rows, one or more per (cell, id).
        keys: Columns naming a cell (at least two).
        id_col: Column of string ids (response ids).
        cell: The rows' cell codes (``lab.groupby(keys).ngroup()``), when already known.

    Returns:
        ``{cell key tuple: (joined ids or None when there are none, number of distinct ids)}``.
    """
    if cell is None:
        cell = lab.groupby(keys, sort=False).ngroup().to_numpy()
    cell = np.asarray(cell, dtype=np.int64)
    codes, joined, n_ids = evidence_by_code(cell, lab[id_col])
    if not len(codes):
        return {}
    first_row = np.full(int(cell.max()) + 1, -1, dtype=np.int64)
    rows = np.flatnonzero(cell >= 0)
    first_row[cell[rows[::-1]]] = rows[::-1]  # a row of each cell (the first)
    at = lab.iloc[first_row[codes]]
    names = zip(*(at[k].tolist() for k in keys), strict=True)
    return {key: (j, int(n)) for key, j, n in zip(names, joined, n_ids.tolist(), strict=True)}


def _collapse_units(lab: pd.DataFrame, keys: list[str], category_col: str, rule: str) -> pd.DataFrame:
    """Keep, for units with several members, only the label rows of the categories the unit holds."""
    if rule not in ("plurality", "majority"):
        raise ValueError(f"unit_rule must be 'any', 'plurality' or 'majority', got {rule!r}")
    shared = (lab["unit_id"] != lab["response_id"].astype(str)).to_numpy()
    if not shared.any():
        return lab
    s = lab[shared]
    # a group code per (keys) and per (keys, category), missing values a group of their own (groupby dropna=False)
    keys_codes = [pd.factorize(s[k], use_na_sentinel=False)[0].astype(np.int64) for k in keys]
    cat = pd.factorize(s[category_col], use_na_sentinel=False)[0].astype(np.int64)
    member = pd.factorize(s["response_id"])[0].astype(np.int64)  # nunique: missing ids are not members
    mask = ~shared
    mask[np.flatnonzero(shared)[_kept(keys_codes, cat, member, rule)]] = True
    return lab[mask]


def collapse_codes(shared: np.ndarray, keys: list[np.ndarray], cat: np.ndarray, member: np.ndarray,
                   rule: str) -> np.ndarray:
    """:func:`_collapse_units` on codes: which rows to keep.

    Args:
        shared: Per row: its unit has (or may have) several members (``unit_id != response_id``).
        keys: Codes of the unit key columns (question, group, unit; no ``-1``).
        cat: Category codes (no ``-1``: a missing category is a value of its own).
        member: Response id codes (``-1``: missing, not a member).
        rule: ``plurality`` or ``majority``.
    """
    at = np.flatnonzero(shared)
    mask = ~shared
    mask[at[_kept([k[at] for k in keys], cat[at], member[at], rule)]] = True
    return mask


def _kept(keys: list[np.ndarray], cat: np.ndarray, member: np.ndarray, rule: str) -> np.ndarray:
    """Per row of shared units (key codes ``keys``): whether its unit holds its category under ``rule``."""
    unit = pd.factorize(cells.combine(*keys)[0])[0].astype(np.int64)  # compact: 0 .. units - 1
    unit_cat = unit * (int(cat.max(initial=0)) + 1) + cat
    votes = _distinct_per_row(unit_cat, member)
    if rule == "plurality":
        best = np.zeros(int(unit.max(initial=0)) + 1, dtype=np.int64)
        np.maximum.at(best, unit, votes)
        keep = votes == best[unit]
    else:
        keep = 2 * votes >= _distinct_per_row(unit, member)
    return keep


def _distinct_per_row(group: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """For each row, the number of distinct non-missing ``codes`` in its group (``transform("nunique")``)."""
    groups, n = cells.distinct_per_group(group, codes)
    out = np.zeros(len(group), dtype=np.int64)
    ok = group >= 0
    pos = np.searchsorted(groups, group[ok])
    hit = (pos < len(groups)) & (groups[np.minimum(pos, len(groups) - 1)] == group[ok]) if len(groups) else pos < 0
    vals = np.zeros(ok.sum(), dtype=np.int64)
    vals[hit] = n[pos[hit]]
    out[ok] = vals
    return out


#: Columns that identify one published row of cells sharing a denominator (a table row).
ROW_KEYS = ["table", "question_id", "group", "count_mode"]


def suppress(counts: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Blank ``n``/share/intervals of cells with ``0 < n < min_cell`` and mark them suppressed.

    Zero cells are not suppressed (a zero discloses nobody). **Secondary suppression**: when a row (one
    table, question, group and count mode) has exactly one suppressed cell and its cells add up to the
    published denominator, that cell could be recovered by subtraction (17 - 10 - 6 - 0 - 0 = 1), so the
    next-smallest cell of the row (often a zero: then "fewer than 5" stays true of both hidden cells, and
    nobody can tell which holds the respondents) is suppressed too; the first such cell in table order when
    several tie. Returns a copy.
    """
    out = counts.copy()
    out["n"] = out["n"].astype("Int64")
    if min_cell <= 0 or out.empty:
        return out
    n = out["n"].fillna(0).to_numpy(dtype=np.int64)
    small = (n > 0) & (n < min_cell)
    small |= _secondary(out, small)
    if small.any():
        for col in ("share", "ci_low", "ci_high"):
            out[col] = out[col].mask(small, np.nan)
        out["n"] = out["n"].mask(small)
        out["suppressed"] = out["suppressed"].mask(small, True)
    return out


def _secondary(counts: pd.DataFrame, primary: np.ndarray | pd.Series) -> np.ndarray:
    """Cells to suppress so that no row's single suppressed cell is its denominator minus the shown cells."""
    primary = np.asarray(primary, dtype=bool)
    extra = np.zeros(len(counts), dtype=bool)
    if not set(ROW_KEYS + ["denominator"]) <= set(counts.columns) or not primary.any():
        return extra
    n = counts["n"].fillna(0).to_numpy(dtype=np.int64)
    keys = counts[ROW_KEYS].astype(str).fillna("")
    row = cells.combine(*(pd.factorize(keys[k])[0].astype(np.int64) for k in ROW_KEYS))[0]
    row = pd.factorize(row)[0]  # rows in order of first appearance
    n_rows = int(row.max()) + 1
    den = pd.to_numeric(counts["denominator"], errors="coerce").to_numpy(dtype=float)
    den_ok = np.ones(n_rows, dtype=bool)
    np.logical_and.at(den_ok, row, ~np.isnan(den))
    den_code = pd.factorize(np.where(np.isnan(den), -1.0, den))[0]
    one_den = cells.distinct_per_group(row, den_code)[1] == 1  # every row group is present: den_ok rules out NaN
    first_den = np.full(n_rows, np.nan)
    first_den[row[::-1]] = den[::-1]
    hidden = np.bincount(row, weights=primary, minlength=n_rows)
    size = np.bincount(row, minlength=n_rows)
    total = np.bincount(row, weights=n, minlength=n_rows)
    ok = (hidden == 1) & (size >= 2) & den_ok & one_den & (total == np.where(den_ok, first_den, -1))
    cand = np.flatnonzero(ok[row] & ~primary)
    if len(cand):
        order = cand[np.lexsort((cand, n[cand], row[cand]))]  # per row: smallest n, then table order
        firsts = order[np.r_[True, row[order][1:] != row[order][:-1]]]
        extra[firsts] = True
    return extra
