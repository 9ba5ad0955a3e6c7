"""Alt text of every chart, written from the same data as the chart: what it shows and the headline numbers.

Each ``<chart>_alt`` takes the arguments of :mod:`analysis.charts`' ``<chart>_chart`` (without styling
options) and returns one paragraph of plain text, saved as ``<chart>.alt.txt`` and used as the HTML
``alt`` attribute.
"""

from __future__ import annotations

import pandas as pd

from analysis.charts import style
from analysis.charts.data import (
    campaign_summary,
    cell_text,
    heatmap_matrix,
    option_rows,
    position_rows,
    response_table,
    theme_position_rows,
    theme_rows,
    theme_support_rows,
)
from analysis.schemas import POSITIONS, SIDES


def responses_alt(counts: pd.DataFrame, *, min_cell: int = 5) -> str:
    """Alt text of :func:`responses_chart`."""
    table = response_table(counts)
    if table.total == 0:
        return "Bar chart of responses by channel: no responses were received."
    parts = []
    for ch in table.channels:
        types = ", ".join(f"{cell_text(c, 'count', min_cell)} {style.RESPONDENT_LABELS.get(t, t).lower()}"
                          for t in table.types if (c := table.cells[ch, t]).suppressed or (c.n or 0) > 0)
        parts.append(f"{style.CHANNEL_LABELS.get(ch, ch)}: {style.fmt_int(table.channel_totals[ch])} ({types})")
    return (f"Stacked bar chart of the {style.fmt_int(table.total)} responses received, by channel and respondent "
            f"type. " + "; ".join(parts) + ".")


def position_alt(counts: pd.DataFrame, question_id: str, *, question_text: str, min_cell: int = 5) -> str:
    """Alt text of :func:`position_chart`."""
    rows, total = position_rows(counts, question_id)
    if not rows or total == 0:
        return f"Chart of positions on '{question_text}': no positions were recorded."
    label, cells = rows[0]
    parts = []
    for pos in POSITIONS:
        if pos in cells and (pos in SIDES or cells[pos].suppressed or (cells[pos].n or 0) > 0):
            parts.append(f"{style.POSITION_LABELS[pos].lower()} {cell_text(cells[pos], 'share', min_cell)}")
    extra = f" Further rows break this down for {len(rows) - 1} respondent types." if len(rows) > 1 else ""
    return (f"Diverging bar chart of positions on '{question_text}' ({style.n_label(total)}). "
            f"All respondents: " + ", ".join(parts) + "." + extra)


def option_alt(counts: pd.DataFrame, question_id: str, choices: list[str], *, question_text: str,
               min_cell: int = 5, multi_select: bool = False) -> str:
    """Alt text of :func:`option_chart`: every option in the order asked, with its share (count)."""
    rows, dens = option_rows(counts, question_id, choices)
    total = max(dens.values(), default=0)
    if not rows or total == 0:
        return f"Chart of the options chosen on '{question_text}': nobody answered."
    several = " (a respondent could choose several)" if multi_select else ""
    parts = [f"{r.label} {cell_text(c, 'share', min_cell)}" for r in rows for c in list(r.cells.values())[:1]]
    return (f"Bar chart of the share of the {style.fmt_int(total)} respondents to '{question_text}' choosing each of "
            f"{len(rows)} options{several}, in the order asked, with 95% intervals: " + "; ".join(parts) + ".")


def theme_alt(counts: pd.DataFrame, themes: pd.DataFrame, question_id: str, *, question_text: str,
              min_cell: int = 5) -> str:
    """Alt text of :func:`theme_chart`."""
    rows, total = theme_rows(counts, themes, question_id)
    if not rows or total == 0:
        return f"Chart of themes raised on '{question_text}': no themes were recorded."
    top = [f"{r['label']} {cell_text(r['cell'], 'share', min_cell)}" for r in rows[:5]]
    return (f"Bar chart of the share of the {style.fmt_int(total)} respondents to '{question_text}' raising each of "
            f"{len(rows)} themes, with 95% intervals. Most raised: " + "; ".join(top) + ".")


def theme_position_alt(counts: pd.DataFrame, themes: pd.DataFrame, question_id: str, *, question_text: str,
                       min_cell: int = 5) -> str:
    """Alt text of :func:`theme_position_chart`."""
    rows = theme_position_rows(counts, themes, question_id)
    if not rows:
        return f"Chart of themes by position on '{question_text}': no counts were recorded."
    parts = []
    for label, cells in rows[:5]:
        bits = [f"{cell_text(cells[p], 'count', min_cell)} {p}" for p in SIDES if p in cells]
        parts.append(f"{label}: " + ", ".join(bits))
    return (f"Diverging bar chart of how many respondents raising each theme on '{question_text}' supported or "
            f"opposed. " + "; ".join(parts) + ".")


def theme_respondent_alt(counts: pd.DataFrame, themes: pd.DataFrame, question_id: str, *, question_text: str,
                         min_cell: int = 5) -> str:
    """Alt text of :func:`theme_respondent_chart`."""
    theme_labels, groups, cells = heatmap_matrix(counts, themes, question_id)
    if not theme_labels or not groups:
        return f"Heatmap of themes by respondent type on '{question_text}': no counts were recorded."
    parts = []
    for j, g in enumerate(groups):
        best = [(c.share, theme_labels[i], c) for i, row in enumerate(cells) if (c := row[j]) is not None
                and not c.suppressed and c.share]
        if best:
            share, label, c = max(best, key=lambda t: (t[0], t[1]))
            parts.append(f"{g.split(chr(10))[0]}: most often '{label}' ({cell_text(c, 'share', min_cell)})")
    n_supp = sum(1 for row in cells for c in row if c is not None and c.suppressed)
    supp = f" {n_supp} cells with fewer than {min_cell} respondents are suppressed." if n_supp else ""
    return (f"Heatmap of the share of each respondent type raising each of {len(theme_labels)} themes on "
            f"'{question_text}'. " + "; ".join(parts) + "." + supp)


def campaign_alt(counts: pd.DataFrame, campaigns: pd.DataFrame | None, max_campaigns: int = 8, *,
                 min_cell: int = 5) -> str:
    """Alt text of :func:`campaign_chart`."""
    s = campaign_summary(counts, campaigns, max_campaigns=max_campaigns)
    if s["total"] == 0:
        return "Chart of campaign copies: no responses were received."
    share = s["copies"] / s["total"]
    camps = "; ".join(f"{c['label']}: {cell_text(c['cell'], 'count', min_cell)}" for c in s["campaigns"])
    return (f"Bar chart comparing all {style.fmt_int(s['total'])} responses with the {style.fmt_int(s['unique'])} "
            f"unique submissions. {style.fmt_int(s['copies'])} responses ({style.fmt_pct(share)}) are copies of "
            f"{s['n_campaigns']} campaign(s)" + (f" ({camps})." if camps else "."))


def theme_support_alt(support: pd.DataFrame | None, themes: pd.DataFrame | None, question_id: str, *,
                      question_text: str) -> str:
    """Alt text of :func:`theme_support_chart`."""
    rows = theme_support_rows(support, themes, question_id)
    if not rows:
        return f"Chart of how strongly the themes of '{question_text}' were supported: no votes were recorded."
    parts = []
    for r in rows:
        if r["share"] is None:
            parts.append(f"{r['label']}: no agree or disagree votes ({r['n_statements']} statements)")
            continue
        parts.append(f"{r['label']}: {style.fmt_pct(r['share'])} agree ({r['n_statements']} statements, "
                     f"{style.fmt_int(r['votes'])} votes)")
    return (f"Bar chart of the share of agree votes among agree and disagree votes on the statements of each of "
            f"{len(rows)} themes of '{question_text}', with a line at 50% (no intervals: votes by the same "
            "participants are not independent). " + "; ".join(parts) + ".")
