"""Publication charts: one function per chart, each returning a :class:`matplotlib.figure.Figure`.

Every number a chart draws is an ``out_counts`` cell (the counts stage is their only source;
``core_themes`` and ``core_campaigns`` give labels, ``out_theme_support`` the Pol.is theme support). Charts
use the house style of :mod:`analysis.charts.style`, without pyplot state (figures are created directly,
so nothing leaks between calls and the Agg canvas is used).
Every chart has a companion ``*_alt`` function that writes its alt text from the same data (what it
shows and the headline numbers), and :func:`save_figure` writes PNG + SVG + ``<stem>.alt.txt`` with no
timestamps, so re-runs give byte-identical files.

Suppressed cells (``n`` is ``<NA>``) are drawn as hatched outlines as wide as the largest value they
could hide (``min_cell - 1``; in stacked bars of a published total, what the shown counts leave of it) and
labelled ``<min_cell``, never as zero.
"""

from __future__ import annotations

import logging

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter

from analysis.charts import style
from analysis.charts.alt import (
    campaign_alt,
    option_alt,
    position_alt,
    responses_alt,
    theme_alt,
    theme_position_alt,
    theme_respondent_alt,
    theme_support_alt,
)
from analysis.charts.data import (
    Cell,
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
from analysis.charts.draw import (
    any_suppressed,
    axes_legend,
    bar_value,
    chart_inputs,
    diverging,
    draw_bar,
    draw_empty,
    draw_frame,
    draw_suppressed_marker,
    legend,
    n_lines,
    new_figure,
    save_figure,
    stack_widths,
    styled,
    suppressed_handle,
)

log = logging.getLogger(__name__)

__all__ = [
    "campaign_chart",
    "campaign_alt",
    "option_chart",
    "option_alt",
    "position_chart",
    "position_alt",
    "responses_chart",
    "responses_alt",
    "save_figure",
    "theme_chart",
    "theme_alt",
    "theme_position_chart",
    "theme_position_alt",
    "theme_respondent_chart",
    "theme_respondent_alt",
    "theme_support_chart",
    "theme_support_alt",
]


# --- responses by channel and respondent type ------------------------------------------------------
@chart_inputs(lambda counts, **_: response_table(counts))
@styled
def responses_chart(counts: pd.DataFrame, *, min_cell: int = 5, footnote: str = "") -> Figure:
    """Responses received per channel, stacked by respondent type (every response counted).

    Args:
        counts: ``out_counts`` (its ``responses`` / ``responses_total`` rows in ``all`` mode are used).
        min_cell: Suppression threshold (suppressed cells are hatched and labelled ``<5``).
        footnote: Source/method line.

    Returns:
        The figure.
    """
    table = response_table(counts)
    fig = new_figure(1.9 + 0.5 * max(len(table.channels), 1))
    draw_frame(fig, "Responses received, by channel and respondent type",
           f"{style.n_label(table.total, 'responses')}. {footnote}".strip())
    if table.total == 0:
        draw_empty(fig, "No responses")
        return fig
    ax = fig.add_subplot()
    ys = np.arange(len(table.channels))[::-1]
    left = np.zeros(len(table.channels))
    totals = np.array([table.channel_totals[ch] for ch in table.channels], dtype=float)
    widths = np.array([stack_widths([table.cells[ch, t] for t in table.types], table.channel_totals[ch])
                       for ch in table.channels], dtype=float).reshape(len(table.channels), len(table.types))
    colours = {t: style.RESPONDENT_COLOURS.get(t, style.CATEGORY_COLOURS[k % len(style.CATEGORY_COLOURS)])
               for k, t in enumerate(table.types)}
    for j, rtype in enumerate(table.types):
        vals = widths[:, j]
        ax.barh(ys, vals, left=left, height=0.6, color=colours[rtype], edgecolor="white",
                label=style.RESPONDENT_LABELS.get(rtype, rtype))
        for y, v, lft, ch in zip(ys, vals, left, table.channels, strict=True):
            cell = table.cells[ch, rtype]
            if cell.suppressed:
                draw_bar(ax, y, lft, v, colours[rtype], True)
            if v > 0 and v / max(totals.max(), 1) > 0.06:
                ax.text(lft + v / 2, y, cell_text(cell, "count", min_cell), ha="center", va="center",
                        fontsize=style.MIN_FONT)
        left += vals
    for y, tot in zip(ys, totals, strict=True):
        ax.text(tot + totals.max() * 0.01, y, style.fmt_int(tot), va="center", ha="left", fontsize=style.MIN_FONT,
                fontweight="bold")
    ax.set_xlim(0, totals.max() * 1.12)
    ax.set_yticks(ys, [style.wrap(style.CHANNEL_LABELS.get(c, c), 20) for c in table.channels])
    ax.set_xlabel("Responses")
    ax.tick_params(axis="y", length=0)
    handles, _ = ax.get_legend_handles_labels()
    if any(c.suppressed for c in table.cells.values()):
        handles.append(suppressed_handle(min_cell))
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.01), ncols=len(handles), frameon=False,
              borderaxespad=0.0)
    return fig


# --- positions ---------------------------------------------------------------------------------------
@chart_inputs(lambda counts, question_id, **_: position_rows(counts, question_id))
@styled
def position_chart(
    counts: pd.DataFrame, question_id: str, *, question_text: str, min_cell: int = 5, footnote: str = ""
) -> Figure:
    """Diverging stacked bars of positions on one question: oppose left, support right, others apart.

    One row for all respondents and one per respondent type (when ``position_respondent_type``
    rows exist). Bars show the share of respondents; labels give share and count.

    Args:
        counts: ``out_counts`` (one count mode).
        question_id: The question.
        question_text: Title (wrapped).
        min_cell: Suppression threshold (for the ``<5`` labels and hatched widths).
        footnote: Source/method line.

    Returns:
        The figure.
    """
    rows, total = position_rows(counts, question_id)
    height = 1.9 + sum(0.32 + 0.17 * n_lines(label) for label, _ in rows) + 0.2 * n_lines(style.wrap(question_text, style.TITLE_WRAP))
    fig = new_figure(height)
    draw_frame(fig, style.chart_title("positions", question_text), f"{style.n_label(total)} answering this question. Bars: share of respondents in "
               f"each row; labels: share (count). {footnote}".strip())
    if not rows or total == 0:
        draw_empty(fig, "No positions recorded for this question")
        return fig
    ax, drawn = diverging(fig, rows, scale="share", min_cell=min_cell)
    legend(ax, drawn, any_suppressed(rows), min_cell)
    return fig


# --- options of a closed question ------------------------------------------------------------------
@chart_inputs(lambda counts, question_id, choices, **_: option_rows(counts, question_id, choices))
@styled
def option_chart(
    counts: pd.DataFrame,
    question_id: str,
    choices: list[str],
    *,
    question_text: str,
    min_cell: int = 5,
    footnote: str = "",
    multi_select: bool = False,
) -> Figure:
    """Share of respondents choosing each option of a closed question, in the order asked (a rating scale in
    scale order, never sorted by size), with 95% Wilson interval whiskers.

    Args:
        counts: ``out_counts`` of one count mode (its ``option`` rows are used).
        question_id: The closed question.
        choices: Its choice labels in config order.
        question_text: Title.
        min_cell: Suppression threshold (a suppressed option is a hollow marker labelled ``<5``: no bar).
        footnote: Source/method line.
        multi_select: Respondents could choose several options (shares may add up to more than 100%).

    Returns:
        The figure.
    """
    rows, dens = option_rows(counts, question_id, choices)
    total = max(dens.values(), default=0)
    labels = [style.wrap(r.label) for r in rows]
    height = 1.5 + sum(0.2 + 0.17 * n_lines(lab) for lab in labels) + 0.2 * n_lines(style.wrap(question_text, style.TITLE_WRAP))
    fig = new_figure(height)
    several = " (a respondent could choose several)" if multi_select else ""
    draw_frame(fig, style.chart_title("options", question_text), f"{style.n_label(total)} answering this question. Bars: "
               f"share choosing each option{several}, in the order asked; whiskers: 95% Wilson interval. {footnote}".strip())
    if not rows or total == 0:
        draw_empty(fig, "Nobody answered this question")
        return fig
    share_bars(fig.add_subplot(), labels, [next(iter(r.cells.values())) for r in rows], min_cell,
               xlabel="Share of respondents choosing the option", draw_zero=False)
    return fig


def share_bars(ax, labels: list[str], cells: list[Cell], min_cell: int, *, xlabel: str, draw_zero: bool) -> None:
    """Horizontal share bars with 95% interval whiskers, one per label (top to bottom), on ``ax``.

    A suppressed cell is a hollow marker with no magnitude and no whisker; ``draw_zero`` draws a bar for a
    zero share too (the theme chart always did; the options chart leaves an empty row).
    """
    ys = np.arange(len(cells))[::-1]
    right = 0.0
    for y, cell in zip(ys, cells, strict=True):
        v = bar_value(cell, "share", min_cell)
        if cell.suppressed:
            draw_suppressed_marker(ax, 0.0, y)
        elif draw_zero or v > 0:
            draw_bar(ax, y, 0.0, v, style.BAR_COLOUR, False)
        end = v
        if not cell.suppressed and cell.ci_low is not None and cell.ci_high is not None:
            lo, hi = 100 * cell.ci_low, 100 * cell.ci_high
            ax.errorbar(v, y, xerr=[[max(v - lo, 0)], [max(hi - v, 0)]], fmt="none", ecolor="#222222",
                        elinewidth=1, capsize=3)
            end = max(end, hi)
        ax.text(end + 1.0, y, cell_text(cell, "share", min_cell), va="center", ha="left", fontsize=style.MIN_FONT)
        right = max(right, end)
    ax.set_xlim(0, min(100.0, right) * 1.3 + 4)
    ax.set_yticks(ys, labels)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{x:.0f}%"))
    ax.set_xlabel(xlabel)
    ax.tick_params(axis="y", length=0)
    if any(c.suppressed for c in cells):
        axes_legend(ax, [suppressed_handle(min_cell, marker=True)], ncols=1)


# --- theme prevalence ------------------------------------------------------------------------------
@chart_inputs(lambda counts, themes, question_id, **_: theme_rows(counts, themes, question_id))
@styled
def theme_chart(
    counts: pd.DataFrame,
    themes: pd.DataFrame,
    question_id: str,
    *,
    question_text: str,
    min_cell: int = 5,
    footnote: str = "",
) -> Figure:
    """Share of respondents raising each theme, with 95% Wilson interval whiskers.

    Args:
        counts: ``out_counts`` (rows with ``table == "theme"`` are used).
        themes: ``core_themes`` (labels).
        question_id: The question.
        question_text: Title.
        min_cell: Suppression threshold.
        footnote: Source/method line.

    Returns:
        The figure.
    """
    rows, total = theme_rows(counts, themes, question_id)
    labels = [style.wrap(r["label"]) for r in rows]
    height = 1.5 + sum(0.2 + 0.17 * n_lines(lab) for lab in labels) + 0.2 * n_lines(style.wrap(question_text, style.TITLE_WRAP))
    fig = new_figure(height)
    draw_frame(fig, style.chart_title("themes", question_text), f"{style.n_label(total)} answering this question. Bars: share raising each theme "
               f"(a response can raise several); whiskers: 95% Wilson interval. {footnote}".strip())
    if not rows or total == 0:
        draw_empty(fig, "No themes recorded for this question")
        return fig
    share_bars(fig.add_subplot(), labels, [r["cell"] for r in rows], min_cell,
               xlabel="Share of respondents raising the theme", draw_zero=True)
    return fig


# --- theme x position ------------------------------------------------------------------------------
@chart_inputs(lambda counts, themes, question_id, **_: (theme_position_rows(counts, themes, question_id),
                                                         theme_rows(counts, themes, question_id)[1]))
@styled
def theme_position_chart(
    counts: pd.DataFrame,
    themes: pd.DataFrame,
    question_id: str,
    *,
    question_text: str,
    min_cell: int = 5,
    footnote: str = "",
) -> Figure:
    """Per theme, how many respondents raising it opposed / supported (diverging counts).

    Args:
        counts: ``out_counts`` (rows with ``table == "theme_position"``).
        themes: ``core_themes``.
        question_id: The question.
        question_text: Title.
        min_cell: Suppression threshold.
        footnote: Source/method line.

    Returns:
        The figure.
    """
    rows = theme_position_rows(counts, themes, question_id)
    rows = [(style.wrap(label), cells) for label, cells in rows]
    height = 1.9 + sum(0.3 + 0.17 * n_lines(label) for label, _ in rows) + 0.2 * n_lines(style.wrap(question_text, style.TITLE_WRAP))
    fig = new_figure(height)
    _, total = theme_rows(counts, themes, question_id)
    draw_frame(fig, style.chart_title("theme_positions", question_text), f"{style.n_label(total)} answering this question. Bars: respondents raising each "
               f"theme, by their position (counts). {footnote}".strip())
    if not rows:
        draw_empty(fig, "No theme-by-position counts for this question")
        return fig
    ax, drawn = diverging(fig, rows, scale="count", min_cell=min_cell)
    legend(ax, drawn, any_suppressed(rows), min_cell)
    return fig


# --- theme x respondent type -----------------------------------------------------------------------
@chart_inputs(lambda counts, themes, question_id, **_: (heatmap_matrix(counts, themes, question_id),
                                                         theme_rows(counts, themes, question_id)[1]))
@styled
def theme_respondent_chart(
    counts: pd.DataFrame,
    themes: pd.DataFrame,
    question_id: str,
    *,
    question_text: str,
    min_cell: int = 5,
    footnote: str = "",
) -> Figure:
    """Heatmap: share of each respondent type raising each theme (suppressed cells hatched).

    Args:
        counts: ``out_counts`` (``theme_respondent_type`` rows).
        themes: ``core_themes``.
        question_id: The question.
        question_text: Title.
        min_cell: Suppression threshold.
        footnote: Source/method line.

    Returns:
        The figure.
    """
    theme_labels, groups, cells = heatmap_matrix(counts, themes, question_id)
    labels = [style.wrap(t) for t in theme_labels]
    height = 1.8 + sum(0.22 + 0.16 * n_lines(lab) for lab in labels) + 0.2 * n_lines(style.wrap(question_text, style.TITLE_WRAP))
    fig = new_figure(height)
    _, total = theme_rows(counts, themes, question_id)
    draw_frame(fig, style.chart_title("theme_respondents", question_text), f"{style.n_label(total)} answering this question. Cells: share of each respondent "
               f"type raising the theme (count). {footnote}".strip())
    if not theme_labels or not groups:
        draw_empty(fig, "No theme-by-respondent-type counts for this question")
        return fig
    ax = fig.add_subplot()
    values = np.array([[(_c.share * 100 if (_c and _c.share is not None and not _c.suppressed) else np.nan)
                        for _c in row] for row in cells], dtype=float)
    vmax = max(float(np.nanmax(values)) if np.isfinite(values).any() else 1.0, 1.0)
    mesh = ax.pcolormesh(np.ma.masked_invalid(values), cmap=style.HEATMAP_CMAP, vmin=0, vmax=vmax,
                         edgecolors="white", linewidth=1)
    cmap = mpl.colormaps[style.HEATMAP_CMAP]
    for i, row in enumerate(cells):
        for j, cell in enumerate(row):
            if cell is None:
                continue
            if cell.suppressed:
                ax.add_patch(Rectangle((j, i), 1, 1, facecolor="white", edgecolor=style.SUPPRESSED_EDGE,
                                       hatch=style.SUPPRESSED_HATCH, linewidth=0.8))
                ax.text(j + 0.5, i + 0.5, style.suppressed_label(min_cell), ha="center", va="center",
                        fontsize=style.MIN_FONT, bbox=dict(facecolor="white", edgecolor="none", pad=2.5))
                continue
            val = values[i, j]
            rgba = cmap(val / vmax if np.isfinite(val) else 0)
            dark = (0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2]) < 0.5
            ax.text(j + 0.5, i + 0.5, cell_text(cell, "share", min_cell), ha="center", va="center",
                    fontsize=style.MIN_FONT, color="white" if dark else "black")
    ax.set_xticks(np.arange(len(groups)) + 0.5, groups)
    ax.set_yticks(np.arange(len(labels)) + 0.5, labels)
    ax.invert_yaxis()
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for side in ("left", "bottom", "top", "right"):
        ax.spines[side].set_visible(False)
    cbar = fig.colorbar(mesh, ax=ax, shrink=0.8, pad=0.02)
    cbar.ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{x:.0f}%"))
    cbar.set_label("Share of respondent type")
    return fig


# --- campaigns -------------------------------------------------------------------------------------
@chart_inputs(lambda counts, campaigns, max_campaigns=8, **_: campaign_summary(counts, campaigns, max_campaigns))
@styled
def campaign_chart(counts: pd.DataFrame, campaigns: pd.DataFrame | None, *, min_cell: int = 5, footnote: str = "",
                   max_campaigns: int = 8) -> Figure:
    """All responses vs unique submissions: how much of the total is campaign (form-letter) copies.

    Args:
        counts: ``out_counts`` (``campaign`` and ``responses_total`` rows; see
            :func:`analysis.charts.data.campaign_summary`).
        campaigns: ``core_campaigns`` (labels; may be ``None``).
        min_cell: Suppression threshold (a suppressed campaign size is hatched and labelled ``<5``).
        footnote: Source/method line.
        max_campaigns: Campaigns shown individually (the rest are grouped).

    Returns:
        The figure.
    """
    s = campaign_summary(counts, campaigns, max_campaigns=max_campaigns)
    fig = new_figure(2.6 + 0.18 * len(s["campaigns"]))
    draw_frame(fig, "Campaign copies and unique submissions",
           f"{style.n_label(s['total'], 'responses')}; {style.fmt_int(s['unique'])} unique submissions "
           f"(each campaign counted once). {footnote}".strip())
    if s["total"] == 0:
        draw_empty(fig, "No responses")
        return fig
    ax = fig.add_subplot()
    colours = style.CATEGORY_COLOURS
    sizes = stack_widths([c["cell"] for c in s["campaigns"]], s["copies"])
    hidden = [c["cell"].suppressed for c in s["campaigns"]]
    bars = [("All responses\nreceived", s["total"], [("Not part of a campaign", s["own"], style.UNIQUE_COLOUR, False)]
             + [(c["label"], v, colours[k % len(colours)], h)
                for k, (c, v, h) in enumerate(zip(s["campaigns"], sizes, hidden, strict=True))]),
            ("Unique\nsubmissions", s["unique"], [("Not part of a campaign", s["own"], style.UNIQUE_COLOUR, False)]
             + [(c["label"], c["units"], colours[k % len(colours)], False) for k, c in enumerate(s["campaigns"])])]
    for y, (_, end, segs) in zip([1, 0], bars, strict=True):
        left = 0
        for _, v, col, supp in segs:
            if v > 0:
                if supp:
                    draw_bar(ax, y, left, v, col, True)
                else:
                    ax.barh(y, v, left=left, height=0.55, color=col, edgecolor="white", linewidth=0.5)
            left += v
        ax.text(left + s["total"] * 0.01, y, style.fmt_int(end), va="center", ha="left", fontweight="bold",
                fontsize=style.MIN_FONT)
    ax.set_xlim(0, s["total"] * 1.12)
    ax.set_yticks([1, 0], [b[0] for b in bars])
    ax.set_xlabel("Responses")
    ax.tick_params(axis="y", length=0)
    handles = [Patch(color=style.UNIQUE_COLOUR, label=f"Not part of a campaign ({style.fmt_int(s['own'])})")]
    for k, c in enumerate(s["campaigns"]):
        label = style.wrap(f"{c['label']} ({cell_text(c['cell'], 'count', min_cell)})", 40)
        handles.append(Patch(facecolor="white", edgecolor=style.SUPPRESSED_EDGE, hatch=style.SUPPRESSED_HATCH,
                             label=label) if hidden[k] else Patch(color=colours[k % len(colours)], label=label))
    axes_legend(ax, handles, ncols=2)
    return fig


# --- Pol.is theme support -------------------------------------------------------------------------
@chart_inputs(lambda support, themes, question_id, **_: theme_support_rows(support, themes, question_id))
@styled
def theme_support_chart(
    support: pd.DataFrame | None,
    themes: pd.DataFrame | None,
    question_id: str,
    *,
    question_text: str,
    footnote: str = "",
) -> Figure:
    """Agree share of the votes on each theme's statements (Pol.is); no interval is drawn.

    The same participants vote on many statements, so votes are not independent and a Wilson interval
    (which assumes they are) is too narrow to draw as the uncertainty of a theme's support: the caption
    says so, and the chart shows the share with its number of statements and votes instead.

    Args:
        support: ``out_theme_support``.
        themes: ``core_themes`` (labels).
        question_id: The question.
        question_text: Title.
        footnote: Source/method line.

    Returns:
        The figure.
    """
    rows = theme_support_rows(support, themes, question_id)
    labels = [style.wrap(r["label"]) for r in rows]
    height = 1.7 + sum(0.2 + 0.17 * n_lines(lab) for lab in labels) + 0.2 * n_lines(style.wrap(question_text, style.TITLE_WRAP))
    fig = new_figure(height)
    draw_frame(fig, style.chart_title("theme_support", question_text), "Bars: agree votes as a share of agree + disagree votes on the statements of each theme "
               "(passes excluded); no interval is drawn: the same people vote on many statements, so votes are not "
               f"independent and a 95% interval would be too narrow; dashed line: 50%. {footnote}".strip())
    if not rows:
        draw_empty(fig, "No votes recorded for this question")
        return fig
    ax = fig.add_subplot()
    ys = np.arange(len(rows))[::-1]
    for y, r in zip(ys, rows, strict=True):
        text = f"{r['n_statements']} statements, {style.fmt_int(r['votes'])} votes"
        if r["share"] is None:
            ax.text(103.0, y, "no votes (" + text + ")", va="center", ha="left", fontsize=style.MIN_FONT)
            continue
        v = 100 * r["share"]
        draw_bar(ax, y, 0.0, v, style.BAR_COLOUR, False)
        ax.text(103.0, y, f"{style.fmt_pct(r['share'])} ({text})", va="center", ha="left",
                fontsize=style.MIN_FONT)
    ax.axvline(50, color="#444444", linestyle="--", linewidth=1, zorder=0)
    xmax = 170.0  # labels sit in their own column right of 100%, clear of bars and the 50% line
    ax.set_xlim(0, xmax)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{x:.0f}%"))
    ax.set_xlabel("Agree share of the votes on the theme's statements", x=50 / xmax, ha="center")
    ax.set_yticks(ys, labels)
    ax.tick_params(axis="y", length=0)
    ax.spines["bottom"].set_bounds(0, 100)
    return fig
