"""Tidy ``out_counts`` into what the charts, alt texts and report prose need.

Pure functions over ``out_counts`` (and ``core_themes`` / ``core_campaigns`` / ``out_theme_support`` for
labels and Pol.is theme support); inputs are never modified. Every number these functions return is an
``out_counts`` cell, read by the table name the counts stage (:mod:`analysis.counts`) writes: one
constant per table below, one orientation per table (which of ``group`` / ``category`` holds the theme,
the position or the respondent type). Nothing here counts rows of the coded tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from analysis.charts import style
from analysis.counts.polis import ALL_QUESTIONS
from analysis.schemas import RESPONDENT_TYPES

# ``out_counts.table`` names written by the counts stage (analysis.counts.stage / themes / prevalence).
#: Responses by channel (group) and respondent type (category); question ``*``.
RESPONSES_TABLE = "responses"
#: Responses by respondent type (category); its denominator is every response (or unique submission).
RESPONSES_TOTAL_TABLE = "responses_total"
#: Per question: answers that are copies of each campaign (category ``campaign:<id>``) or ``independent``.
CAMPAIGN_TABLE = "campaign"
#: Positions per question (group ``all``, category = position).
POSITION_TABLE = "position"
#: Positions by respondent type (group = respondent type, category = position).
POSITION_BY_TYPE_TABLE = "position_respondent_type"
#: Themes per question (group ``all``, category = theme id).
THEME_TABLE = "theme"
#: Themes by respondent type (group = respondent type, category = theme id).
THEME_BY_TYPE_TABLE = "theme_respondent_type"
#: Positions of the respondents raising each theme (group = theme id, category = position).
THEME_POSITION_TABLE = "theme_position"
#: Per closed question, respondents choosing each option (group ``all``, category = choice label).
OPTION_TABLE = "option"
CAMPAIGN_PREFIX = "campaign:"
COUNT_COLUMNS = ["table", "question_id", "group", "category", "n", "denominator", "share", "ci_low", "ci_high",
                 "suppressed", "count_mode"]


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


def zero_cell(denominator: int) -> Cell:
    """The cell of a category the counts stage lists no row for in a group it counted: nobody."""
    return Cell(n=0, share=0.0 if denominator else None, ci_low=None, ci_high=None, denominator=denominator,
                suppressed=False)


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


def _records(frame: pd.DataFrame) -> list[dict]:
    """The rows of ``frame`` as dicts of its :data:`COUNT_COLUMNS` (what :func:`cell_from_row` and the row keys
    read; ``iterrows`` built a Series per row, and converted the internal evidence columns too)."""
    return frame[[c for c in COUNT_COLUMNS if c in frame.columns]].to_dict("records")


def cell_from_row(row: pd.Series | dict) -> Cell:
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


def in_mode(counts: pd.DataFrame | None, mode: str) -> pd.DataFrame | None:
    """Rows of ``out_counts`` of one count mode (``None`` stays ``None``)."""
    return None if counts is None else counts[counts["count_mode"].astype(str) == mode]


def select_table(counts: pd.DataFrame | None, question_id: str, table: str, mode: str | None = None) -> pd.DataFrame:
    """Rows of ``table`` for ``question_id`` (of count mode ``mode`` when given); an empty frame when none."""
    if counts is None or counts.empty:
        return pd.DataFrame(columns=COUNT_COLUMNS)
    keep = (counts["table"].astype(str) == table) & (counts["question_id"].astype(str) == str(question_id))
    if mode is not None:
        keep &= counts["count_mode"].astype(str) == mode
    return counts[keep]


def theme_labels(themes: pd.DataFrame | None, question_id: str) -> dict[str, str]:
    """Theme id -> label for one question (ids without a label map to themselves)."""
    if themes is None or themes.empty:
        return {}
    t = themes[themes["question_id"].astype(str) == str(question_id)]
    return {str(i): (str(lab) if isinstance(lab, str) and lab.strip() else str(i))
            for i, lab in zip(t["theme_id"], t["label"], strict=True)}


def _rank(cell: Cell) -> float:
    return -(cell.n if cell.n is not None else 0.5)


def _ordered(values: set[str], known: list[str]) -> list[str]:
    """``values`` in the order of ``known``, then any others sorted."""
    return [v for v in known if v in values] + sorted(values - set(known))


def answers_to(counts: pd.DataFrame | None, question_id: str) -> int:
    """Units answering a question: the denominator of its ``campaign`` rows (0 when it has none)."""
    sub = select_table(counts, question_id, CAMPAIGN_TABLE)
    return int(sub["denominator"].max()) if len(sub) else 0


def response_totals(counts: pd.DataFrame | None) -> dict[str, int]:
    """Every response (``all``) and unique submissions (``unique``): the ``responses_total`` denominators."""
    out = {}
    for mode in ("all", "unique"):
        sub = select_table(counts, ALL_QUESTIONS, RESPONSES_TOTAL_TABLE, mode)
        out[mode] = int(sub["denominator"].max()) if len(sub) else 0
    return out


@dataclass(frozen=True)
class ResponseTable:
    """Responses by channel and respondent type, every response counted (``responses`` rows, ``all`` mode).

    Attributes:
        channels: Channels, in house order.
        types: Respondent types, in house order.
        cells: ``(channel, type)`` -> cell (a type without a row in a channel is a zero cell).
        channel_totals: Responses per channel (the cells' denominators).
        total: Every response (the ``responses_total`` denominator).
    """

    channels: list[str]
    types: list[str]
    cells: dict[tuple[str, str], Cell]
    channel_totals: dict[str, int]
    total: int


def response_table(counts: pd.DataFrame | None) -> ResponseTable:
    """The channel x respondent type table of ``out_counts`` (needs its ``all`` mode rows)."""
    sub = select_table(counts, ALL_QUESTIONS, RESPONSES_TABLE, "all")
    found = {(str(r["group"]), str(r["category"])): cell_from_row(r) for r in _records(sub)}
    chans = _ordered({g for g, _ in found}, list(style.CHANNEL_LABELS))
    types = _ordered({t for _, t in found}, RESPONDENT_TYPES)
    totals = {ch: max(c.denominator for (g, _), c in found.items() if g == ch) for ch in chans}
    cells = {(ch, t): found.get((ch, t), zero_cell(totals[ch])) for ch in chans for t in types}
    return ResponseTable(chans, types, cells, totals, response_totals(counts)["all"])


def position_rows(counts: pd.DataFrame | None, question_id: str) -> tuple[list[tuple[str, dict[str, Cell]]], int]:
    """Rows of the position chart: all respondents, then one per respondent type.

    Args:
        counts: ``out_counts`` of one count mode.
        question_id: The question.

    Returns:
        ``([(row label, {position: Cell})], total respondents)``.
    """
    rows: list[tuple[str, dict[str, Cell]]] = []
    main = select_table(counts, question_id, POSITION_TABLE)
    main = main[main["group"].astype(str) == "all"]
    total = int(main["denominator"].max()) if len(main) else 0
    if len(main):
        rows.append((f"All respondents\n(n = {style.fmt_int(total)})",
                     {str(r["category"]): cell_from_row(r) for r in _records(main)}))
    by_type = select_table(counts, question_id, POSITION_BY_TYPE_TABLE)
    types = by_type["group"].astype(str)
    for t in _ordered(set(types), RESPONDENT_TYPES):
        cells = {str(r["category"]): cell_from_row(r) for r in _records(by_type[types == t])}
        den = max((c.denominator for c in cells.values()), default=0)
        rows.append((f"{style.RESPONDENT_LABELS.get(t, t)}\n(n = {style.fmt_int(den)})", cells))
    return rows, total


@dataclass(frozen=True)
class OptionRow:
    """One option of a closed question: its label and its cell in each count mode present."""

    label: str
    cells: dict[str, Cell]


def option_rows(counts: pd.DataFrame | None, question_id: str, choices: list[str]) -> tuple[list[OptionRow],
                                                                                              dict[str, int]]:
    """The full distribution of a closed question: every option in the order asked (never sorted by size).

    Args:
        counts: ``out_counts`` (one or both count modes; each mode present gets a cell per option).
        question_id: The closed question.
        choices: Its choice labels in config order (a rating scale stays in scale order); options the
            counts stage lists but the config does not follow, sorted.

    Returns:
        ``([OptionRow], {count mode: denominator})``; empty when the question has no ``option`` rows.
    """
    sub = select_table(counts, question_id, OPTION_TABLE)
    sub = sub[sub["group"].astype(str) == "all"]
    if not len(sub):
        return [], {}
    modes = [m for m in ("all", "unique") if (sub["count_mode"].astype(str) == m).any()]
    found = {(str(r["category"]), str(r["count_mode"])): cell_from_row(r) for r in _records(sub)}
    dens = {m: int(sub.loc[sub["count_mode"].astype(str) == m, "denominator"].max()) for m in modes}
    labels = _ordered({c for c, _ in found}, [str(c) for c in choices])
    rows = [OptionRow(lab, {m: found.get((lab, m), zero_cell(dens[m])) for m in modes}) for lab in labels]
    return rows, dens


def breakdown_rows(counts: pd.DataFrame | None, attribute: str) -> tuple[list[OptionRow], dict[str, int]]:
    """Responses by one respondent attribute (``responses_<attribute>`` of the counts stage), values in
    alphabetical order with ``not stated`` last; same shape as :func:`option_rows`."""
    sub = select_table(counts, ALL_QUESTIONS, f"responses_{attribute}")
    if not len(sub):
        return [], {}
    modes = [m for m in ("all", "unique") if (sub["count_mode"].astype(str) == m).any()]
    found = {(str(r["category"]), str(r["count_mode"])): cell_from_row(r) for r in _records(sub)}
    dens = {m: int(sub.loc[sub["count_mode"].astype(str) == m, "denominator"].max()) for m in modes}
    values = sorted({c for c, _ in found}, key=lambda v: (v == "not stated", v.casefold(), v))
    rows = [OptionRow(v, {m: found.get((v, m), zero_cell(dens[m])) for m in modes}) for v in values]
    return rows, dens


def theme_rows(counts: pd.DataFrame | None, themes: pd.DataFrame | None, question_id: str) -> tuple[list[dict], int]:
    """Theme prevalence rows, most raised first: ``[{theme_id, label, cell}]`` and the denominator."""
    sub = select_table(counts, question_id, THEME_TABLE)
    sub = sub[sub["group"].astype(str) == "all"]
    if not len(sub):
        return [], 0
    labels = theme_labels(themes, question_id)
    rows = [{"theme_id": str(r["category"]), "label": labels.get(str(r["category"]), str(r["category"])),
             "cell": cell_from_row(r)} for r in _records(sub)]
    rows.sort(key=lambda d: (_rank(d["cell"]), d["label"]))
    return rows, int(sub["denominator"].max())


def theme_position_rows(
    counts: pd.DataFrame | None, themes: pd.DataFrame | None, question_id: str
) -> list[tuple[str, dict[str, Cell]]]:
    """Theme x position rows, most raised theme first: ``[(theme label, {position: Cell})]``."""
    sub = select_table(counts, question_id, THEME_POSITION_TABLE)
    labels = theme_labels(themes, question_id)
    out = []
    for tid, g in sub.groupby(sub["group"].astype(str), sort=True):
        cells = {str(r["category"]): cell_from_row(r) for r in _records(g)}
        total = sum(c.n or 0 for c in cells.values())
        out.append((total, labels.get(tid, tid), cells))
    out.sort(key=lambda t: (-t[0], t[1]))
    return [(label, cells) for _, label, cells in out]


def heatmap_matrix(
    counts: pd.DataFrame | None, themes: pd.DataFrame | None, question_id: str
) -> tuple[list[str], list[str], list[list[Cell | None]]]:
    """Theme x respondent type cells: ``(theme labels, group labels with n, rows of cells)``."""
    sub = select_table(counts, question_id, THEME_BY_TYPE_TABLE)
    if not len(sub):
        return [], [], []
    types = _ordered(set(sub["group"].astype(str)), RESPONDENT_TYPES)
    labels = theme_labels(themes, question_id)
    order_rows, _ = theme_rows(counts, themes, question_id)
    present = set(sub["category"].astype(str))
    ids = [r["theme_id"] for r in order_rows if r["theme_id"] in present]
    ids += sorted(present - set(ids))
    lookup = {(str(r["category"]), str(r["group"])): cell_from_row(r) for r in _records(sub)}
    cells = [[lookup.get((tid, t)) for t in types] for tid in ids]
    dens = {t: max((lookup[k].denominator for k in lookup if k[1] == t), default=0) for t in types}
    groups = [f"{style.RESPONDENT_LABELS.get(t, t)}\n(n = {style.fmt_int(dens[t])})" for t in types]
    return [labels.get(i, i) for i in ids], groups, cells


def campaign_summary(counts: pd.DataFrame | None, campaigns: pd.DataFrame | None, max_campaigns: int = 8) -> dict:
    """Campaign sizes and what they do to the total, from ``out_counts``.

    A campaign's size is its ``campaign`` row in ``all`` mode on question ``*`` (its members' responses,
    across questions and channels; suppressed below ``min_cell`` like any cell). The totals are the ``responses_total`` denominators: ``total`` responses
    and ``unique`` submissions (each campaign one unit); so ``own`` (responses that are no campaign copy)
    is ``unique - n_campaigns`` and ``copies`` is ``total - own``. ``core_campaigns`` gives labels only.

    Returns:
        ``{total, copies, own, unique, n_campaigns, campaigns: [{campaign_id, label, cell, units}]}``, largest
        campaign first, with at most ``max_campaigns`` entries (the rest grouped as "Other campaigns",
        suppressed when any of them is).
    """
    totals = response_totals(counts)
    total, unique = totals["all"], totals["unique"]
    if not total:
        return dict(total=0, copies=0, own=0, unique=0, n_campaigns=0, campaigns=[])
    rows = counts[(counts["table"].astype(str) == CAMPAIGN_TABLE) & (counts["count_mode"].astype(str) == "all")
                  & counts["category"].astype(str).str.startswith(CAMPAIGN_PREFIX)]
    if (rows["question_id"].astype(str) == ALL_QUESTIONS).any():  # sizes over every response, all channels
        rows = rows[rows["question_id"].astype(str) == ALL_QUESTIONS]
    sizes = {str(r["category"])[len(CAMPAIGN_PREFIX):]: cell_from_row(r) for r in _records(rows)}
    templates = {}
    if campaigns is not None and len(campaigns):
        templates = {str(c): str(t) for c, t in zip(campaigns["campaign_id"], campaigns["template"], strict=True)}
    ordered = sorted(sizes.items(), key=lambda kv: (_rank(kv[1]), kv[0]))
    camps = []
    for cid, cell in ordered[:max_campaigns]:
        words = templates.get(cid, "").split()
        excerpt = " ".join(words[:6]) + ("\u2026" if len(words) > 6 else "")
        label = f"Campaign {cid}" + (f": \u201c{excerpt}\u201d" if excerpt else "")
        camps.append(dict(campaign_id=cid, label=label, cell=cell, units=1))
    rest = [cell for _, cell in ordered[max_campaigns:]]
    if rest:
        hidden = any(c.suppressed for c in rest)
        n = None if hidden else sum(c.n or 0 for c in rest)
        camps.append(dict(campaign_id="", label=f"Other campaigns ({len(rest)})", units=len(rest),
                          cell=Cell(n=n, share=None, ci_low=None, ci_high=None, denominator=total, suppressed=hidden)))
    own = unique - len(sizes)
    return dict(total=total, copies=total - own, own=own, unique=unique, n_campaigns=len(sizes), campaigns=camps)


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
