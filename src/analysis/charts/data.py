"""Tidy the persisted tables into what the charts, alt texts and report prose need.

Pure functions over ``out_counts`` / ``core_*`` frames (inputs are never modified). ``out_counts``
tables are read by their ``table`` name; for two-way tables the orientation (which of ``group`` /
``category`` holds the theme, the position or the respondent type) is detected from the values, so
either convention of the counts stage works.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from analysis.charts import style
from analysis.schemas import POSITIONS, RESPONDENT_TYPES

#: ``out_counts.table`` names read for each view (first found wins).
POSITION_TABLE = ("position",)
POSITION_BY_TYPE_TABLES = ("position_by_respondent_type", "position_respondent_type")
THEME_TABLE = ("theme",)
THEME_POSITION_TABLES = ("theme_position", "theme_by_position", "position_by_theme")
THEME_BY_TYPE_TABLES = ("theme_by_respondent_type", "theme_respondent_type")
ALL_POSITIONS = [*POSITIONS, "none"]


@dataclass(frozen=True)
class Cell:
    """One published count cell.

    Attributes:
        n: Count (``None`` when suppressed).
        share: ``n / denominator`` (``None`` when suppressed or undefined).
        ci_low: Wilson 95% lower bound.
        ci_high: Wilson 95% upper bound.
        denominator: Units in the denominator.
        suppressed: The count is below ``min_cell`` and hidden.
    """

    n: int | None
    share: float | None
    ci_low: float | None
    ci_high: float | None
    denominator: int
    suppressed: bool


def cell_text(cell: Cell, scale: str, min_cell: int) -> str:
    """How a cell is labelled: ``<5`` when suppressed, else ``"45% (36)"`` (share scale) or ``"36"``."""
    if cell.suppressed:
        return style.suppressed_label(min_cell)
    if scale == "count":
        return style.fmt_int(cell.n or 0)
    return f"{style.fmt_pct(cell.share or 0.0)} ({style.fmt_int(cell.n or 0)})"


def _num(v: object) -> float | None:
    if v is None or v is pd.NA:
        return None
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def cell_from_row(row: pd.Series) -> Cell:
    """Build a :class:`Cell` from one ``out_counts`` row."""
    n = _num(row.get("n"))
    suppressed = bool(row.get("suppressed", False)) or n is None
    return Cell(
        n=None if suppressed else int(n),  # type: ignore[arg-type]
        share=None if suppressed else _num(row.get("share")),
        ci_low=None if suppressed else _num(row.get("ci_low")),
        ci_high=None if suppressed else _num(row.get("ci_high")),
        denominator=int(_num(row.get("denominator")) or 0),
        suppressed=suppressed,
    )


def select_tables(counts: pd.DataFrame | None, question_id: str, names: tuple[str, ...]) -> pd.DataFrame:
    """Rows of the first table in ``names`` present for ``question_id`` (empty frame when none)."""
    if counts is None or counts.empty:
        return pd.DataFrame(columns=["table", "question_id", "group", "category", "n", "denominator", "share",
                                     "ci_low", "ci_high", "suppressed", "count_mode"])
    q = counts[counts["question_id"].astype(str) == str(question_id)]
    for name in names:
        sub = q[q["table"].astype(str) == name]
        if len(sub):
            return sub
    return q.iloc[0:0]


def theme_labels(themes: pd.DataFrame | None, question_id: str) -> dict[str, str]:
    """Theme id -> label for one question (ids without a label map to themselves)."""
    if themes is None or themes.empty:
        return {}
    t = themes[themes["question_id"].astype(str) == str(question_id)]
    return {str(i): (str(lab) if isinstance(lab, str) and lab.strip() else str(i))
            for i, lab in zip(t["theme_id"], t["label"], strict=True)}


def _rank(cell: Cell) -> float:
    return -(cell.n if cell.n is not None else 0.5)


def response_matrix(responses: pd.DataFrame) -> pd.DataFrame:
    """Channel x respondent type counts of responses (every response counted once)."""
    if responses is None or responses.empty:
        return pd.DataFrame(dtype=int)
    m = pd.crosstab(responses["channel"].astype(str), responses["respondent_type"].astype(str))
    chans = [c for c in style.CHANNEL_LABELS if c in m.index] + sorted(c for c in m.index if c not in style.CHANNEL_LABELS)
    types = [t for t in RESPONDENT_TYPES if t in m.columns] + sorted(t for t in m.columns if t not in RESPONDENT_TYPES)
    return m.loc[chans, types].astype(int)


def position_rows(counts: pd.DataFrame | None, question_id: str) -> tuple[list[tuple[str, dict[str, Cell]]], int]:
    """Rows of the position chart: all respondents, then one per respondent type.

    Returns:
        ``([(row label, {position: Cell})], total respondents)``.
    """
    rows: list[tuple[str, dict[str, Cell]]] = []
    main = select_tables(counts, question_id, POSITION_TABLE)
    total = int(main["denominator"].max()) if len(main) else 0
    if len(main):
        grp = main[main["group"].astype(str) == "all"]
        grp = grp if len(grp) else main[main["group"] == main["group"].iloc[0]]
        rows.append((f"All respondents\n(n = {style.fmt_int(total)})",
                     {str(r["category"]): cell_from_row(r) for _, r in grp.iterrows()}))
    by_type = select_tables(counts, question_id, POSITION_BY_TYPE_TABLES)
    if len(by_type):
        pos_in_cat = by_type["category"].astype(str).isin(ALL_POSITIONS).mean() >= 0.5
        type_col, pos_col = ("group", "category") if pos_in_cat else ("category", "group")
        order = [t for t in RESPONDENT_TYPES if t in set(by_type[type_col].astype(str))]
        order += sorted(set(by_type[type_col].astype(str)) - set(order))
        for t in order:
            sub = by_type[by_type[type_col].astype(str) == t]
            cells = {str(r[pos_col]): cell_from_row(r) for _, r in sub.iterrows()}
            den = max((c.denominator for c in cells.values()), default=0)
            rows.append((f"{style.RESPONDENT_LABELS.get(t, t)}\n(n = {style.fmt_int(den)})", cells))
    return rows, total


def theme_rows(counts: pd.DataFrame | None, themes: pd.DataFrame | None, question_id: str) -> tuple[list[dict], int]:
    """Theme prevalence rows, most raised first: ``[{theme_id, label, cell}]`` and the denominator."""
    sub = select_tables(counts, question_id, THEME_TABLE)
    if not len(sub):
        return [], 0
    allg = sub[sub["group"].astype(str) == "all"]
    sub = allg if len(allg) else sub[sub["group"] == sub["group"].iloc[0]]
    labels = theme_labels(themes, question_id)
    rows = [{"theme_id": str(r["category"]), "label": labels.get(str(r["category"]), str(r["category"])),
             "cell": cell_from_row(r)} for _, r in sub.iterrows()]
    rows.sort(key=lambda d: (_rank(d["cell"]), d["label"]))
    return rows, int(sub["denominator"].max())


def theme_position_rows(
    counts: pd.DataFrame | None, themes: pd.DataFrame | None, question_id: str
) -> list[tuple[str, dict[str, Cell]]]:
    """Theme x position rows, most raised theme first: ``[(theme label, {position: Cell})]``."""
    sub = select_tables(counts, question_id, THEME_POSITION_TABLES)
    if not len(sub):
        return []
    pos_in_cat = sub["category"].astype(str).isin(ALL_POSITIONS).mean() >= 0.5
    theme_col, pos_col = ("group", "category") if pos_in_cat else ("category", "group")
    labels = theme_labels(themes, question_id)
    out = []
    for tid, g in sub.groupby(sub[theme_col].astype(str), sort=True):
        cells = {str(r[pos_col]): cell_from_row(r) for _, r in g.iterrows()}
        total = sum(c.n or 0 for c in cells.values())
        out.append((total, labels.get(tid, tid), cells))
    out.sort(key=lambda t: (-t[0], t[1]))
    return [(label, cells) for _, label, cells in out]


def heatmap_matrix(
    counts: pd.DataFrame | None, themes: pd.DataFrame | None, question_id: str
) -> tuple[list[str], list[str], list[list[Cell | None]]]:
    """Theme x respondent type cells: ``(theme labels, group labels with n, rows of cells)``."""
    sub = select_tables(counts, question_id, THEME_BY_TYPE_TABLES)
    if not len(sub):
        return [], [], []
    type_in_group = sub["group"].astype(str).isin([*RESPONDENT_TYPES, "all"]).mean() >= 0.5
    type_col, theme_col = ("group", "category") if type_in_group else ("category", "group")
    types = [t for t in RESPONDENT_TYPES if t in set(sub[type_col].astype(str))]
    types += sorted(set(sub[type_col].astype(str)) - set(types))
    labels = theme_labels(themes, question_id)
    order_rows, _ = theme_rows(counts, themes, question_id)
    ids = [r["theme_id"] for r in order_rows if r["theme_id"] in set(sub[theme_col].astype(str))]
    ids += sorted(set(sub[theme_col].astype(str)) - set(ids))
    lookup = {(str(r[theme_col]), str(r[type_col])): cell_from_row(r) for _, r in sub.iterrows()}
    cells = [[lookup.get((tid, t)) for t in types] for tid in ids]
    dens = {t: max((lookup[k].denominator for k in lookup if k[1] == t), default=0) for t in types}
    groups = [f"{style.RESPONDENT_LABELS.get(t, t)}\n(n = {style.fmt_int(dens[t])})" for t in types]
    return [labels.get(i, i) for i in ids], groups, cells


def campaign_summary(answers_clean: pd.DataFrame | None, campaigns: pd.DataFrame | None,
                     max_campaigns: int = 8) -> dict:
    """Response-level campaign sizes.

    A response is a campaign copy when any of its answers is flagged ``is_campaign_copy`` with a
    ``campaign_id``. In unique mode each campaign counts as one submission.

    Returns:
        ``{total, copies, own, unique, n_campaigns, campaigns: [{campaign_id, label, size, units}]}``
        with at most ``max_campaigns`` entries (the rest grouped as "Other campaigns").
    """
    if answers_clean is None or answers_clean.empty:
        return dict(total=0, copies=0, own=0, unique=0, n_campaigns=0, campaigns=[])
    a = answers_clean
    total = int(a["response_id"].nunique())
    flag = a["is_campaign_copy"].fillna(False).astype(bool) & a["campaign_id"].notna()
    member = (a[flag].sort_values(["response_id", "campaign_id"], kind="mergesort")
              .drop_duplicates("response_id")[["response_id", "campaign_id"]])
    sizes = member.groupby(member["campaign_id"].astype(str)).size()
    templates = {}
    if campaigns is not None and len(campaigns):
        templates = {str(c): str(t) for c, t in zip(campaigns["campaign_id"], campaigns["template"], strict=True)}
    ordered = sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))
    camps = []
    for cid, size in ordered[:max_campaigns]:
        words = templates.get(cid, "").split()
        excerpt = " ".join(words[:6]) + ("\u2026" if len(words) > 6 else "")
        label = f"Campaign {cid}" + (f": \u201c{excerpt}\u201d" if excerpt else "")
        camps.append(dict(campaign_id=cid, label=label, size=int(size), units=1))
    rest = ordered[max_campaigns:]
    if rest:
        camps.append(dict(campaign_id="", label=f"Other campaigns ({len(rest)})", size=int(sum(s for _, s in rest)),
                          units=len(rest)))
    copies = int(sizes.sum())
    return dict(total=total, copies=copies, own=total - copies, unique=total - copies + len(sizes),
                n_campaigns=len(sizes), campaigns=camps)


def theme_support_rows(support: pd.DataFrame | None, themes: pd.DataFrame | None, question_id: str) -> list[dict]:
    """``out_theme_support`` rows of one question with theme labels, most-supported first.

    Each row: ``theme_id``, ``label``, ``n_statements``, ``agrees``, ``disagrees``, ``passes`` (or
    ``None``), ``votes`` (agree + disagree), ``share``, ``ci_low``, ``ci_high`` (``None`` without votes).
    Ties are broken by number of votes then theme id, so the order is deterministic.
    """
    if support is None or support.empty:
        return []
    s = support[support["question_id"] == question_id]
    labels: dict[str, str] = {}
    if themes is not None and len(themes):
        t = themes[themes["question_id"] == question_id]
        labels = dict(zip(t["theme_id"].astype(str), t["label"].astype(str), strict=True))
    rows = []
    for r in s.itertuples(index=False):
        share = None if pd.isna(r.agree_share) else float(r.agree_share)
        rows.append({"theme_id": str(r.theme_id), "label": labels.get(str(r.theme_id), str(r.theme_id)),
                     "n_statements": int(r.n_statements), "agrees": int(r.agrees), "disagrees": int(r.disagrees),
                     "passes": None if pd.isna(r.passes) else int(r.passes), "votes": int(r.agrees) + int(r.disagrees),
                     "share": share, "ci_low": None if pd.isna(r.ci_low) else float(r.ci_low),
                     "ci_high": None if pd.isna(r.ci_high) else float(r.ci_high)})
    rows.sort(key=lambda r: (-(r["share"] if r["share"] is not None else -1.0), -r["votes"], r["theme_id"]))
    return rows
