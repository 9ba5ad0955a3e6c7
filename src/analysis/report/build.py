"""The published summary: "We asked / You said / We did", charts, methods appendix and workbook.

:func:`build_report` reads the processed tables (any stage but counts may be missing: its section says
so), draws the charts (:mod:`analysis.charts`), picks quotes (:mod:`analysis.report.quotes`), renders
``summary.md`` and a self-contained ``summary.html`` from the jinja2 templates in
``analysis/templates``, and writes ``tables.xlsx`` plus one CSV per count table under ``tables/``.

Every published number is a cell of ``out_counts`` (the counts stage, :mod:`analysis.counts`): the
report never counts the coded tables itself, and stops with
:class:`~analysis.report.load.MissingCountsError` when ``out_counts`` is absent.

Prose never overstates a count: every quantifier word comes from :func:`quantifier`, one documented
table (:data:`QUANTIFIERS`, printed in the methods section) keyed on the share of respondents. Only
redacted text is published (``text_redacted`` / ``personal_addition``), never ``answer`` or a
respondent's name or email; organisation names only with publication consent. Outputs hold no
timestamps or absolute paths, so re-runs are byte-identical.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path

import jinja2
import pandas as pd

from analysis import paths
from analysis.charts import figures as charts
from analysis.charts import style
from analysis.charts.data import (
    THEME_POSITION_TABLE,
    Cell,
    answers_to,
    breakdown_rows,
    campaign_summary,
    heatmap_matrix,
    option_rows,
    position_rows,
    response_table,
    select_table,
    theme_labels,
    theme_position_rows,
    theme_rows,
)
from analysis.charts.draw import chart_entry, deferred_charts
from analysis.charts.parallel import take as take_worker
from analysis.config import ConsultationConfig
from analysis.memory import give_back
from analysis.report.background import Background
from analysis.report.load import is_polis, load_tables, report_counts
from analysis.report.methods import methods_context
from analysis.report.polis import polis_asked, polis_question_context, polis_quotes
from analysis.report.quotes import select_quotes
from analysis.report.tables import (
    WITHHELD_TEMPLATE,
    published_campaigns,
    quote_items,
    with_languages,
    write_internal_workbook,
    write_tables,
)
from analysis.report.we_did import we_did_context
from analysis.schemas import POSITIONS
from analysis.themes.codebook import OTHER, UNTRANSLATED

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
#: Folder of the drawn charts, by content key, in the processed folder's ``cache`` (:class:`analysis.charts.draw.ChartCache`).
CHART_CACHE = "charts"
#: Folder of the answers' trimmed quotes, in the processed folder's ``cache`` (:class:`analysis.report.quotes.TrimStore`).
QUOTE_CACHE = "quotes"
#: Folder of the internal coded-answers CSV's answer columns, rendered (:mod:`analysis.report.coded_csv`).
CODED_CACHE = "coded_answers"
#: Themes listed per question in the summary (all are in the workbook).
TOP_THEMES = 8
#: Quotes shown per theme in the summary.
QUOTES_PER_THEME = 2

#: Quantifier words: ``(lower bound, upper bound, word)``; a share ``s`` gets the word of the row
#: with ``low <= s < high`` (the exact values 0, 0.5 and 1 have their own words).
QUANTIFIERS: list[tuple[float, float, str]] = [
    (0.0, 0.0, "no"),
    (0.0, 0.10, "a few"),
    (0.10, 0.33, "some"),
    (0.33, 0.50, "many"),
    (0.50, 0.50, "half of the"),
    (0.50, 0.75, "most"),
    (0.75, 0.95, "a large majority of"),
    (0.95, 1.0, "almost all"),
    (1.0, 1.0, "all"),
]

POSITION_VERBS = {
    "support": "supported the proposal",
    "oppose": "opposed the proposal",
    "neutral": "were neutral",
    "unsure": "were unsure",
    "unclear": "gave no clear position",
    "none": "chose an option expressing no position",
}
#: Verbs for a question that puts no proposal ("Anything else?", e-mailed letters): the stance read in the text.
NO_PROPOSAL_VERBS = POSITION_VERBS | {"support": "expressed support", "oppose": "expressed opposition"}


def has_proposal(q) -> bool:
    """Whether question ``q`` asks respondents to take a side on something put to them.

    A closed question with a choice that maps to support or oppose does ("To what extent do you agree?");
    an open question reported under itself ("Anything else?", letters) does not (a "why?" question's
    positions are reported under the closed question it explains).
    """
    return q.kind == "closed" and any(p in ("support", "oppose") for p in q.choices.values())


def position_verb(position: str, q) -> str:
    """How the summary says respondents held ``position`` on question ``q`` (no "proposal" where there is none)."""
    verbs = POSITION_VERBS if has_proposal(q) else NO_PROPOSAL_VERBS
    return verbs.get(position, position)


def uncoded_positions(positions: pd.DataFrame | None, question_id: str) -> tuple[int, int]:
    """``(not coded yet, all)`` position rows of a question.

    A free-text position is *not coded yet* when no stance model could be trained for its question (no or
    too few coded answers): the positions stage then records it as ``unclear`` with confidence 0 — not a
    judgement that the text is unclear.
    """
    if positions is None or positions.empty:
        return 0, 0
    p = positions[positions["question_id"].astype(str) == str(question_id)]
    uncoded = (p["source"].astype(str) == "text_model") & (p["position"].astype(str) == "unclear") & (p["confidence"] == 0)
    return int(uncoded.sum()), len(p)


def quantifier(share: float) -> str:
    """The word describing ``share`` (in [0, 1]) of respondents, from :data:`QUANTIFIERS`.

    Raises:
        ValueError: ``share`` is outside [0, 1] or not a number.
    """
    if share != share or share < 0 or share > 1:
        raise ValueError(f"share must be within [0, 1], got {share!r}")
    for low, high, word in QUANTIFIERS:
        if low == high == share:
            return word
    for low, high, word in QUANTIFIERS:
        if low < high and low <= share < high:
            return word
    raise AssertionError(f"no quantifier for {share}")  # unreachable: the table covers [0, 1]


def quantifier_rows() -> list[dict[str, str]]:
    """The quantifier table as printable rows (share range, word)."""
    rows = []
    for low, high, word in QUANTIFIERS:
        rng = f"exactly {low:.0%}" if low == high else f"{'more than' if low in (0.0, 0.5) else 'from'} {low:.0%} to under {high:.0%}"
        rows.append({"range": rng, "word": word})
    return rows


def count_phrase(cell: Cell, min_cell: int, *, of: bool = True) -> str:
    """``"36 of 80, 45%; 95% CI 35–56%"`` or ``"fewer than 5 of 80"`` for a suppressed cell.

    With ``of=False`` only the count: ``"36"`` or ``"fewer than 5"``.
    """
    if not of:
        return f"fewer than {min_cell}" if cell.suppressed else style.fmt_int(cell.n or 0)
    if cell.suppressed:
        return f"fewer than {min_cell} of {style.fmt_int(cell.denominator)}"
    text = f"{style.fmt_int(cell.n or 0)} of {style.fmt_int(cell.denominator)}"
    if cell.share is not None:
        text += f", {style.fmt_pct(cell.share)}"
    if cell.ci_low is not None and cell.ci_high is not None:
        text += f"; 95% CI {style.fmt_pct(cell.ci_low)}\u2013{style.fmt_pct(cell.ci_high)}"
    return text


def short_count(cell: Cell, min_cell: int, *, share: bool = True) -> str:
    """``"29 (45%)"`` (``"29"`` with ``share=False``), or ``"<5"`` for a suppressed cell (table cells)."""
    if cell.suppressed:
        return style.suppressed_label(min_cell)
    pct = f" ({style.fmt_pct(cell.share)})" if share and cell.share is not None else ""
    return f"{style.fmt_int(cell.n or 0)}{pct}"


def subject(cell: Cell, min_cell: int) -> str:
    """Sentence subject tied to the count: ``"Most respondents"`` / ``"Fewer than 5 respondents"``."""
    if cell.suppressed:
        return f"Fewer than {min_cell} respondents"
    if cell.share is None:
        return f"{style.fmt_int(cell.n or 0)} respondents"
    word = quantifier(cell.share)
    return f"{word[0].upper()}{word[1:]} respondents"


#: Characters of a question's text kept in its heading (cut at a word, with an ellipsis).
SHORT_TITLE = 72
#: Theme ids that are not themes a respondent raised (no codebook match; not in a themed language).
NOT_MAIN_THEMES = (OTHER, UNTRANSLATED)


def theme_sentence(row: dict, min_cell: int) -> str:
    """``"Some respondents (12 of 80, 15%; 95% CI 9%–24%) raised “Cost”."`` for a :func:`theme_rows` row."""
    c: Cell = row["cell"]
    return f"{subject(c, min_cell)} ({count_phrase(c, min_cell)}) raised \u201c{row['label']}\u201d."


def short_title(text: str, width: int = SHORT_TITLE) -> str:
    """``text`` on one line, cut at a word boundary to at most ``width`` characters (``…`` marks a cut)."""
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    return text[: width - 1].rsplit(" ", 1)[0].rstrip(",;:.") + "\u2026"


def question_headings(questions: list) -> dict[str, dict[str, str]]:
    """Question id -> ``{label, heading, explains}``: the consultation's number and a distinct short heading.

    A question id ``q<digits>`` keeps its number (label ``Q5``, heading ``Q5. Is there anything else…``); an
    open "why?" question is numbered after the closed question it explains and titled by it (``Q1b``,
    ``Q1b. Reasons for Q1: The convention should…``, explains ``Q1``), so "Please explain your answer" never
    stands alone; other questions (an emailed letter, a Pol.is conversation) have no label and are titled by
    their text.
    """
    by_id = {q.id: q for q in questions}

    def number(q) -> str:
        m = re.fullmatch(r"[A-Za-z]*(\d+)", q.id)
        return m.group(1) if m else ""

    out: dict[str, dict[str, str]] = {}
    for q in questions:
        rel = by_id.get(q.related_question) if q.related_question else None
        if rel is not None:
            num = number(rel)
            label, explains = (f"Q{num}b", f"Q{num}") if num else ("", "the question before")
            title = f"Reasons for {explains}: {short_title(rel.text, SHORT_TITLE - 20)}"
        else:
            num = number(q)
            label, explains, title = (f"Q{num}" if num else ""), "", short_title(q.text)
        out[q.id] = {"label": label, "explains": explains, "heading": f"{label}. {title}" if label else title}
    return out


#: Column headings of the per-option table, per count mode (the report's count mode comes first).
MODE_HEADINGS = {"all": "All responses", "unique": "Campaigns counted once"}


def option_context(q, all_counts: pd.DataFrame, count_mode: str, min_cell: int, footnote: str, heading: str,
                   charts_dir: Path, written: list[Path]) -> dict | None:
    """The full per-option distribution of a closed question, in both count modes, and its chart.

    Every option is listed in the order asked (a rating scale in full, in scale order; options nobody chose
    show 0), each cell an ``out_counts`` ``option`` cell shown as ``"29 (45%)"`` or ``"<5"`` when suppressed.

    Returns:
        ``{"modes": [{"heading", "n"}], "rows": [{"label", "cells"}], "multi": bool, "chart": entry}``, or
        ``None`` when the counts stage wrote no ``option`` rows for the question.
    """
    rows, dens = option_rows(all_counts, q.id, list(q.choices))
    if not rows:
        return None
    modes = sorted(dens, key=lambda m: (m != count_mode, m))
    one_mode = all_counts[all_counts["count_mode"].astype(str) == count_mode]
    kw = dict(question_text=heading, min_cell=min_cell, multi_select=q.multi_select)
    chart = None
    if count_mode in dens and dens[count_mode]:
        chart = chart_entry(partial(charts.option_chart, one_mode, q.id, list(q.choices), footnote=footnote, **kw),
                            charts.option_alt(one_mode, q.id, list(q.choices), **kw), f"{q.id}_options", charts_dir,
                            written, style.chart_title("options", heading))
    return {"modes": [{"heading": MODE_HEADINGS.get(m, m), "n": style.fmt_int(dens[m])} for m in modes],
            "rows": [{"label": r.label, "cells": [short_count(r.cells[m], min_cell) for m in modes]} for r in rows],
            "multi": q.multi_select, "chart": chart}


#: Published names of the respondent attributes counts can be broken down by (``settings.breakdowns``).
ATTRIBUTE_LABELS = {"sector": "Sector", "country": "Country or region"}


def breakdown_context(cfg: ConsultationConfig, all_counts: pd.DataFrame) -> list[dict]:
    """Responses by each attribute of ``settings.breakdowns`` (beyond respondent type), both count modes.

    Every cell is an ``out_counts`` ``responses_<attribute>`` cell (``"29 (45%)"``, ``"<5"`` when suppressed);
    per-question breakdowns (``option_<attribute>``) are in the workbook.
    """
    out = []
    for attr, label in ATTRIBUTE_LABELS.items():
        if attr not in cfg.settings.breakdowns:
            continue
        rows, dens = breakdown_rows(all_counts, attr)
        if not rows:
            continue
        modes = sorted(dens, key=lambda m: (m != cfg.settings.count_mode, m))
        out.append({"attribute": attr, "label": label,
                    "modes": [{"heading": MODE_HEADINGS.get(m, m), "n": style.fmt_int(dens[m])} for m in modes],
                    "rows": [{"label": r.label, "cells": [short_count(r.cells[m], cfg.settings.min_cell)
                                                          for m in modes]} for r in rows]})
    return out


# --- context -----------------------------------------------------------------------------------------
def _theme_position_counts(counts: pd.DataFrame | None, themes: pd.DataFrame | None, q) -> pd.DataFrame | None:
    """Theme x position rows of question ``q``.

    The counts stage may report positions of an open "why?" question under the closed question it
    explains; such rows (restricted to ``q``'s themes) are relabelled with ``q``'s id.
    """
    if counts is None or len(select_table(counts, q.id, THEME_POSITION_TABLE)) or not q.related_question:
        return counts
    rel = select_table(counts, q.related_question, THEME_POSITION_TABLE)
    ids = set(theme_labels(themes, q.id))
    rel = rel[rel["group"].astype(str).isin(ids) | rel["category"].astype(str).isin(ids)]
    return pd.concat([counts, rel.assign(question_id=q.id)], ignore_index=True) if len(rel) else counts


#: Note of an open question whose positions are not inferred from its text (key: switched off explicitly).
TEXT_POSITIONS_OFF = {
    False: "Support or opposition was not inferred from these free-text answers: the question does not ask for a "
           "view on the proposal.",
    True: "Support or opposition was not inferred from these free-text answers (switched off for this question).",
}


def _question_context(q, t: dict, counts: pd.DataFrame | None, min_cell: int,
                      footnote: str, charts_dir: Path, written: list[Path], heading: str,
                      text_positions: bool = True) -> dict:
    """One question's "You said" context; each theme's ``quotes`` are left for :func:`_fill_quotes`."""
    qid, text = q.id, heading
    ctx: dict = {"id": qid, "text": q.text, "heading": heading, "kind": q.kind, "charts": [], "notes": [],
                 "positions": [], "by_type": [], "themes": [], "n": 0, "n_more_themes": 0, "polis": False,
                 "support": [], "set_aside": []}
    rows, total = position_rows(counts, qid)
    kw = dict(question_text=text, min_cell=min_cell)
    n_uncoded, n_pos = uncoded_positions(t.get("core_answer_positions"), qid)
    if n_pos and n_uncoded == n_pos:
        ctx["notes"].append(f"Positions in these answers are not coded yet ({style.fmt_int(n_uncoded)} answers): no "
                            "answer has been coded, so no position is reported.")
    elif rows and total:
        if n_uncoded:
            ctx["notes"].append(f"{style.fmt_int(n_uncoded)} free-text answers are not coded yet; they are counted "
                                "as giving no clear position.")
        ctx["n"] = total
        label, cells = rows[0]
        for pos in POSITIONS:
            c = cells.get(pos)
            if c is None or (not c.suppressed and not c.n):
                continue
            ctx["positions"].append({"position": style.POSITION_LABELS.get(pos, pos), "count": count_phrase(c, min_cell),
                                     "sentence": f"{subject(c, min_cell)} ({count_phrase(c, min_cell)}) "
                                                 f"{position_verb(pos, q)}."})
        for label, cells in rows[1:]:
            ctx["by_type"].append({"group": label.replace("\n", " "), "cells": [
                (style.POSITION_LABELS.get(p, p), short_count(cells[p], min_cell) if p in cells else "\u2013")
                for p in POSITIONS]})
        ctx["charts"].append(chart_entry(partial(charts.position_chart, counts, qid, footnote=footnote, **kw),
                                          charts.position_alt(counts, qid, **kw), f"{qid}_positions", charts_dir, written,
                                          style.chart_title("positions", text)))
    elif q.kind == "open" and not text_positions:
        ctx["notes"].append(TEXT_POSITIONS_OFF[q.text_positions is False])
    elif q.related_question and position_rows(counts, q.related_question)[1]:
        ctx["notes"].append(f"Positions expressed in these answers are counted with question "
                            f"{q.related_question} (the closed question they explain).")
    elif t.get("core_answer_positions") is None:
        ctx["notes"].append("Positions were not analysed for this question (no positions table).")
    else:
        ctx["notes"].append("No positions were recorded for this question.")
    themes = t.get("core_themes")
    trows, ttotal = theme_rows(counts, themes, qid)
    if trows and ttotal:
        ctx["n"] = max(ctx["n"], ttotal)
        main = [r for r in trows if r["theme_id"] not in NOT_MAIN_THEMES]
        ctx["set_aside"] = [{"untranslated": r["theme_id"] == UNTRANSLATED, "sentence": theme_sentence(r, min_cell)}
                            for r in trows if r["theme_id"] in NOT_MAIN_THEMES and (r["cell"].suppressed or r["cell"].n)]
        for r in main[:TOP_THEMES]:
            c: Cell = r["cell"]
            if not c.suppressed and not c.n:
                continue
            ctx["themes"].append({"label": r["label"], "count": count_phrase(c, min_cell),
                                  "sentence": theme_sentence(r, min_cell), "quotes": [],
                                  _QUOTES_OF: None if c.suppressed else r["theme_id"]})
        ctx["n_more_themes"] = max(0, len(main) - TOP_THEMES)
        tkw = dict(question_text=text, min_cell=min_cell)
        ctx["charts"].append(chart_entry(partial(charts.theme_chart, counts, themes, qid, footnote=footnote, **tkw),
                                          charts.theme_alt(counts, themes, qid, **tkw), f"{qid}_themes", charts_dir,
                                          written, style.chart_title("themes", text)))
        tp = _theme_position_counts(counts, themes, q)
        if theme_position_rows(tp, themes, qid):
            ctx["charts"].append(chart_entry(partial(charts.theme_position_chart, tp, themes, qid, footnote=footnote, **tkw),
                                              charts.theme_position_alt(tp, themes, qid, **tkw),
                                              f"{qid}_theme_positions", charts_dir, written,
                                              style.chart_title("theme_positions", text)))
        if heatmap_matrix(counts, themes, qid)[0]:
            ctx["charts"].append(chart_entry(partial(charts.theme_respondent_chart, counts, themes, qid, footnote=footnote,
                                                                                    **tkw),
                                              charts.theme_respondent_alt(counts, themes, qid, **tkw),
                                              f"{qid}_theme_respondents", charts_dir, written,
                                              style.chart_title("theme_respondents", text)))
    elif q.kind == "open":
        if t.get("core_answer_themes") is None:
            ctx["notes"].append("Themes were not analysed for this question (no themes table).")
        else:
            ctx["notes"].append("No themes were recorded for this question.")
    if not answers_to(counts, qid) and not ctx["n"]:
        ctx["notes"].insert(0, "Nobody answered this question.")
    return ctx


#: Key of a theme entry naming the theme whose quotes :func:`_fill_quotes` puts there (removed by it).
_QUOTES_OF = "_quotes_of"


def _fill_quotes(questions: list[dict], quotes: pd.DataFrame) -> None:
    """Put each theme's first :data:`QUOTES_PER_THEME` quotes in the entries :func:`_question_context` left for them.

    The quotes are selected after the charts are queued, so the charts are drawn while the quotes are chosen.
    """
    for q in questions:
        for theme in q["themes"]:
            tid = theme.pop(_QUOTES_OF, None)
            if tid is not None and not quotes.empty:
                theme["quotes"] = quote_items(quotes[(quotes["question_id"] == q["id"]) & (quotes["theme_id"] == tid)],
                                              QUOTES_PER_THEME)


def _asked_context(cfg: ConsultationConfig, tables: dict, all_counts: pd.DataFrame, polis: bool, source: str,
                   charts_dir: Path, written: list[Path],
                   campaigns: Callable[[], pd.DataFrame | None] | None = None) -> dict:
    """"We asked": responses by channel and respondent type, campaigns (or Pol.is statements and votes).

    Every number is an ``out_counts`` cell (``all_counts`` holds both count modes): responses and unique
    submissions from ``responses_total``, the channel table from ``responses``, campaign sizes from
    ``campaign``; for Pol.is the tables of :mod:`analysis.counts.polis`.
    """
    min_cell = cfg.settings.min_cell
    asked: dict = {"channels": [], "total": 0, "unique": None, "campaigns": [], "charts": [], "polis": None,
                   "types": []}
    if polis:
        asked["polis"] = polis_asked(all_counts)
    table = response_table(all_counts)
    if table.total:
        asked["total"] = table.total
        for ch in table.channels:
            asked["channels"].append({"channel": style.CHANNEL_LABELS.get(ch, ch), "total": style.fmt_int(
                table.channel_totals[ch]), "types": [(style.RESPONDENT_LABELS.get(t, t),
                                                      short_count(table.cells[ch, t], min_cell, share=False))
                                                     for t in table.types]})
        asked["types"] = [style.RESPONDENT_LABELS.get(t, t) for t in table.types]
        if not polis:  # Pol.is statements have no channel or respondent type worth charting
            asked["charts"].append(chart_entry(partial(charts.responses_chart,
                all_counts, min_cell=min_cell, footnote="Every response counted. " + source),
                charts.responses_alt(all_counts, min_cell=min_cell), "responses", charts_dir, written,
                "Responses by channel and respondent type"))
    # a letter's words are quoted only when one of its senders consented
    camps = campaigns() if campaigns is not None else published_campaigns(tables)
    if camps is not None:
        camps = camps.assign(template=camps["template"].where(camps["template"] != WITHHELD_TEMPLATE, ""))
    camp = campaign_summary(all_counts, camps, max_campaigns=50)
    if camp["total"]:
        asked["unique"] = camp["unique"]
        asked["campaigns"] = [{"label": c["label"], "size": count_phrase(c["cell"], min_cell, of=False)}
                              for c in camp["campaigns"]]
    if camp["n_campaigns"]:
        asked["charts"].append(chart_entry(partial(charts.campaign_chart, all_counts, camps, min_cell=min_cell,
                                                                          footnote=source),
                                            charts.campaign_alt(all_counts, camps, min_cell=min_cell), "campaigns",
                                            charts_dir, written, "Campaign copies and unique submissions"))
    return asked


def build_context(
    cfg: ConsultationConfig, tables: dict, reports_dir: Path, raw_dir: Path | None = None,
    charts_queued: Callable[[], None] | None = None, quote_cache: Path | None = None,
    campaigns: Callable[[], pd.DataFrame | None] | None = None,
    quotes_picked: Callable[[], None] | None = None,
) -> tuple[dict, list[Path], pd.DataFrame, pd.DataFrame]:
    """Everything the templates need; charts are written on the way.

    Every published number is an ``out_counts`` cell (:func:`analysis.report.load.report_counts`; the
    report stops when the counts stage has not run). For a Pol.is conversation
    (:func:`analysis.report.load.is_polis`) the answers are statements voted on by participants: "We asked"
    reports statements and votes, "You said" how many statements most voters supported and how strongly
    each theme's statements were supported (``out_theme_support``). ``raw_dir`` (the consultation's raw
    folder) is read for an attribution statement and the analyst's ``we_did.md`` only. ``charts_queued`` is
    called once every chart is queued, before the quotes are selected (e.g. to start drawing them meanwhile).
    ``quote_cache``: folder keeping the answers' trimmed quotes between runs
    (:class:`~analysis.report.quotes.TrimStore`; the quotes are the same without it). ``campaigns``: returns
    :func:`~analysis.report.tables.published_campaigns` of ``tables`` (computed here when not given).
    ``quotes_picked`` is called once the quotes are selected (and what selecting them took is freed).

    Returns:
        ``(template context, written chart files, counts used (one count mode), selected quotes)``.

    Raises:
        MissingCountsError: There is no ``out_counts`` table.
    """
    s = cfg.settings
    written: list[Path] = []
    charts_dir = Path(reports_dir) / "charts"
    all_counts, counts = report_counts(tables, s.count_mode)
    ans, resp = tables.get("core_answers_clean"), tables.get("core_responses")
    mode_text = ("unique submissions (each form-letter campaign counted once)" if s.count_mode == "unique"
                 else "all responses (every campaign copy counted)")
    source = f"Source: {cfg.title}" + (f", {cfg.organisation}" if cfg.organisation else "") \
        + (". SYNTHETIC TEST DATA." if cfg.synthetic else ".")
    footnote = f"Count mode: {mode_text}. {source}"

    def pick_quotes() -> pd.DataFrame:
        if ans is not None and resp is not None and tables.get("core_answer_themes") is not None:
            picked = select_quotes(ans, tables["core_answer_themes"], tables.get("core_answer_positions"), resp,
                                   seed=s.seed, trim_store=quote_cache)
        else:
            picked = pd.DataFrame(columns=["question_id", "theme_id", "rank", "display"])
        if quotes_picked is not None:
            quotes_picked()
        return picked

    polis = is_polis(cfg, tables)
    if polis:  # Pol.is statements' quotes are part of their questions' context
        quotes = polis_quotes(pick_quotes())
        shown = with_languages(quotes, ans)
    asked = _asked_context(cfg, tables, all_counts, polis, source, charts_dir, written, campaigns)
    if polis:
        footnote = f"Each statement counted once; support from participants' votes. {source}"
    headings = question_headings(cfg.questions)
    questions = [polis_question_context(q, tables, all_counts, shown, footnote, charts_dir,
                                        written, QUOTES_PER_THEME, s.min_cell, heading=headings[q.id]["heading"])
                 if polis
                 else _question_context(q, tables, counts, s.min_cell, footnote, charts_dir, written,
                                        headings[q.id]["heading"], text_positions=cfg.text_positions_on(q.id))
                 for q in cfg.questions]
    for q in questions:
        q.update(label=headings[q["id"]]["label"], explains=headings[q["id"]]["explains"], options=None)
    if not polis:
        for qc, q in zip(cfg.questions, questions, strict=True):
            if qc.kind == "closed":
                q["options"] = option_context(qc, all_counts, s.count_mode, s.min_cell, footnote,
                                              headings[qc.id]["heading"], charts_dir, written)
                if q["options"] and q["options"]["chart"]:
                    q["charts"].insert(0, q["options"]["chart"])
    if charts_queued is not None:
        charts_queued()
    if not polis:
        quotes = pick_quotes()
        _fill_quotes(questions, with_languages(quotes, ans))
    ctx = {
        "title": cfg.title, "organisation": cfg.organisation, "url": cfg.url,
        "opened": cfg.opened.isoformat() if cfg.opened else None,
        "closed": cfg.closed.isoformat() if cfg.closed else None,
        "synthetic": cfg.synthetic, "count_mode": s.count_mode, "mode_text": mode_text, "min_cell": s.min_cell,
        "asked": asked, "breakdowns": [] if polis else breakdown_context(cfg, all_counts), "questions": questions, "quantifiers": quantifier_rows(), "polis": polis,
        "methods": methods_context(cfg, tables, quotes, all_counts, raw_dir=raw_dir, polis=polis),
        "we_did": we_did_context(raw_dir, cfg, headings),
    }
    return ctx, written, counts, quotes


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             autoescape=jinja2.select_autoescape(["html", "html.j2"]), keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["md"] = md_escape
    env.filters["ws"] = lambda s: " ".join(str(s).split())
    return env


def md_escape(text: object) -> str:
    """Escape Markdown control characters and collapse whitespace (keeps text on one line)."""
    out = " ".join(str(text).split())
    for ch in ("\\", "`", "*", "_", "[", "]", "<", ">", "|", "#"):
        out = out.replace(ch, "\\" + ch)
    return out


def build_report(cfg: ConsultationConfig, processed_dir: str | Path, reports_dir: str | Path,
                 raw_dir: str | Path | None = None) -> list[Path]:
    """Write ``summary.md``, ``summary.html``, charts, ``tables.xlsx`` and ``tables/*.csv``, and the internal
    full-text workbook under ``processed_dir`` (:data:`~analysis.report.tables.INTERNAL_WORKBOOK`).

    Args:
        cfg: The consultation config.
        processed_dir: Folder of the processed tables.
        reports_dir: Output folder (created).
        raw_dir: The consultation's raw folder (its ``ATTRIBUTION.md`` or README "Attribution"
            section is printed in the methods section); ``None`` to skip.

    Returns:
        Every written path.
    """
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    tables = load_tables(processed_dir)
    report_counts(tables, cfg.settings.count_mode)  # no counts: stop before anything is written
    campaigns = functools.cache(partial(published_campaigns, tables))  # "We asked" and the workbook: worked out once
    # full text, analysts only; written by a forked process while the rest is built. It is forked once the quotes are
    # selected, not before: at a million responses (90% campaign letters) the two at once held 3.7 GB (the writer)
    # and 1.9 GB (the selection) besides the tables they share
    internal: list[Background] = []

    def start_internal() -> None:
        if not internal:
            gc.collect()
            give_back()  # what the selection freed is not the fork's to hold
            internal.append(Background(lambda: write_internal_workbook(
                cfg, tables, Path(processed_dir), csv_store=Path(processed_dir) / "cache" / CODED_CACHE)))

    try:
        # a chart whose drawing inputs are unchanged since the last build is copied from the cache, not drawn
        with deferred_charts(Path(processed_dir) / "cache" / CHART_CACHE) as batch:
            # charts drawn by a second interpreter while the quotes are selected and the tables written here (the
            # pipeline started it while the counts ran: analysis.charts.parallel); then by both
            ctx, written, counts, quotes = build_context(cfg, tables, reports_dir,
                                                         Path(raw_dir) if raw_dir is not None else None,
                                                         charts_queued=lambda: batch.start(take_worker(processed_dir)),
                                                         quote_cache=Path(processed_dir) / "cache" / QUOTE_CACHE,
                                                         campaigns=campaigns, quotes_picked=start_internal)
            start_internal()  # (no quotes to select)
            table_files = write_tables(cfg, tables, quotes, reports_dir, attribution=ctx["methods"]["attribution"],
                                       campaigns=campaigns)
            batch.finish()
        env = _env()
        for name in ("summary.md", "summary.html"):
            text = env.get_template(f"{name}.j2").render(**ctx)
            path = reports_dir / name
            path.write_text(text, encoding="utf-8", newline="\n")
            written.append(path)
        written.extend(table_files)
    except BaseException:
        with contextlib.suppress(Exception):
            for job in internal:
                job.result()  # never leave it writing
        raise
    written.extend(internal[0].result())
    log.info("report written: %d files", len(written))
    return written


def run(cfg: ConsultationConfig, *, raw_dir: Path, processed_dir: Path, reports_dir: Path | None = None) -> list[Path]:
    """Stage entry point: build the report into ``reports_dir`` (default: the consultation's reports folder).

    Of ``raw_dir`` only the attribution statement is read (see :func:`build_report`).
    """
    return build_report(cfg, processed_dir, reports_dir if reports_dir is not None else paths.reports_dir(cfg.id),
                        raw_dir=raw_dir)
