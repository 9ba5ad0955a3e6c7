"""The published summary: "We asked / You said / We did", charts, methods appendix and workbook.

:func:`build_report` reads the processed tables (any stage may be missing: its section says so),
draws the charts (:mod:`analysis.charts`), picks quotes (:mod:`analysis.report.quotes`), renders
``summary.md`` and a self-contained ``summary.html`` from the jinja2 templates in
``analysis/templates``, and writes ``tables.xlsx`` plus one CSV per count table under ``tables/``.

Prose never overstates a count: every quantifier word comes from :func:`quantifier`, one documented
table (:data:`QUANTIFIERS`, printed in the methods section) keyed on the share of respondents. Only
redacted text is published (``text_redacted`` / ``personal_addition``), never ``answer`` or a
respondent's name or email; organisation names only with publication consent. Outputs hold no
timestamps or absolute paths, so re-runs are byte-identical.
"""

from __future__ import annotations

import logging
from pathlib import Path

import jinja2
import pandas as pd

from analysis import paths
from analysis.charts import figures as charts
from analysis.charts import style
from analysis.charts.data import (
    POSITION_BY_TYPE_TABLES,
    POSITION_TABLE,
    THEME_BY_TYPE_TABLES,
    THEME_POSITION_TABLES,
    THEME_TABLE,
    Cell,
    campaign_summary,
    heatmap_matrix,
    position_rows,
    response_matrix,
    select_tables,
    theme_labels,
    theme_position_rows,
    theme_rows,
)
from analysis.charts.draw import chart_entry
from analysis.config import ConsultationConfig
from analysis.report.load import derive_counts, is_polis, load_tables
from analysis.report.methods import methods_context
from analysis.report.polis import polis_asked, polis_question_context, polis_quotes
from analysis.report.quotes import select_quotes
from analysis.report.tables import write_tables

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
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


def count_phrase(cell: Cell, min_cell: int) -> str:
    """``"36 of 80, 45%; 95% CI 35–56%"`` or ``"fewer than 5 of 80"`` for a suppressed cell."""
    if cell.suppressed:
        return f"fewer than {min_cell} of {style.fmt_int(cell.denominator)}"
    text = f"{style.fmt_int(cell.n or 0)} of {style.fmt_int(cell.denominator)}"
    if cell.share is not None:
        text += f", {style.fmt_pct(cell.share)}"
    if cell.ci_low is not None and cell.ci_high is not None:
        text += f"; 95% CI {style.fmt_pct(cell.ci_low)}\u2013{style.fmt_pct(cell.ci_high)}"
    return text


def short_count(cell: Cell, min_cell: int) -> str:
    """``"29 (45%)"``, or ``"<5"`` for a suppressed cell (table cells)."""
    if cell.suppressed:
        return style.suppressed_label(min_cell)
    pct = f" ({style.fmt_pct(cell.share)})" if cell.share is not None else ""
    return f"{style.fmt_int(cell.n or 0)}{pct}"


def subject(cell: Cell, min_cell: int) -> str:
    """Sentence subject tied to the count: ``"Most respondents"`` / ``"Fewer than 5 respondents"``."""
    if cell.suppressed:
        return f"Fewer than {min_cell} respondents"
    if cell.share is None:
        return f"{style.fmt_int(cell.n or 0)} respondents"
    word = quantifier(cell.share)
    return f"{word[0].upper()}{word[1:]} respondents"


# --- context -----------------------------------------------------------------------------------------
def _theme_position_counts(counts: pd.DataFrame | None, themes: pd.DataFrame | None, q) -> pd.DataFrame | None:
    """Theme x position rows of question ``q``.

    The counts stage may report positions of an open "why?" question under the closed question it
    explains; such rows (restricted to ``q``'s themes) are relabelled with ``q``'s id.
    """
    if counts is None or len(select_tables(counts, q.id, THEME_POSITION_TABLES)) or not q.related_question:
        return counts
    rel = select_tables(counts, q.related_question, THEME_POSITION_TABLES)
    ids = set(theme_labels(themes, q.id))
    rel = rel[rel["group"].astype(str).isin(ids) | rel["category"].astype(str).isin(ids)]
    return pd.concat([counts, rel.assign(question_id=q.id)], ignore_index=True) if len(rel) else counts


def _question_context(q, t: dict, counts: pd.DataFrame | None, quotes: pd.DataFrame, min_cell: int,
                      footnote: str, charts_dir: Path, written: list[Path]) -> dict:
    qid, text = q.id, q.text
    ctx: dict = {"id": qid, "text": text, "kind": q.kind, "charts": [], "notes": [], "positions": [],
                 "by_type": [], "themes": [], "n": 0, "n_more_themes": 0, "polis": False, "support": []}
    ans = t.get("core_answers_clean")
    if ans is not None:
        ctx["n_answers"] = int((ans["question_id"] == qid).sum())
    rows, total = position_rows(counts, qid)
    kw = dict(question_text=text, min_cell=min_cell)
    if rows and total:
        ctx["n"] = total
        label, cells = rows[0]
        for pos in ["support", "oppose", "neutral", "unsure", "unclear", "none"]:
            c = cells.get(pos)
            if c is None or (not c.suppressed and not c.n):
                continue
            ctx["positions"].append({"position": style.POSITION_LABELS.get(pos, pos), "count": count_phrase(c, min_cell),
                                     "sentence": f"{subject(c, min_cell)} ({count_phrase(c, min_cell)}) "
                                                 f"{POSITION_VERBS.get(pos, pos)}."})
        for label, cells in rows[1:]:
            ctx["by_type"].append({"group": label.replace("\n", " "), "cells": [
                (style.POSITION_LABELS.get(p, p), short_count(cells[p], min_cell) if p in cells else "\u2013")
                for p in ("support", "oppose", "neutral", "unsure", "unclear")]})
        ctx["charts"].append(chart_entry(lambda: charts.position_chart(counts, qid, footnote=footnote, **kw),
                                          charts.position_alt(counts, qid, **kw), f"{qid}_positions", charts_dir, written,
                                          "Positions"))
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
        for r in trows[:TOP_THEMES]:
            c: Cell = r["cell"]
            if not c.suppressed and not c.n:
                continue
            qs = [] if c.suppressed or quotes.empty else (
                quotes[(quotes["question_id"] == qid) & (quotes["theme_id"] == r["theme_id"])]
                .sort_values("rank")["display"].head(QUOTES_PER_THEME).tolist())
            ctx["themes"].append({"label": r["label"], "count": count_phrase(c, min_cell),
                                  "sentence": f"{subject(c, min_cell)} ({count_phrase(c, min_cell)}) raised "
                                              f"\u201c{r['label']}\u201d.", "quotes": qs})
        ctx["n_more_themes"] = max(0, len(trows) - TOP_THEMES)
        tkw = dict(question_text=text, min_cell=min_cell)
        ctx["charts"].append(chart_entry(lambda: charts.theme_chart(counts, themes, qid, footnote=footnote, **tkw),
                                          charts.theme_alt(counts, themes, qid, **tkw), f"{qid}_themes", charts_dir,
                                          written, "Themes"))
        tp = _theme_position_counts(counts, themes, q)
        if theme_position_rows(tp, themes, qid):
            ctx["charts"].append(chart_entry(lambda: charts.theme_position_chart(tp, themes, qid, footnote=footnote, **tkw),
                                              charts.theme_position_alt(tp, themes, qid, **tkw),
                                              f"{qid}_theme_positions", charts_dir, written, "Themes by position"))
        if heatmap_matrix(counts, themes, qid)[0]:
            ctx["charts"].append(chart_entry(lambda: charts.theme_respondent_chart(counts, themes, qid, footnote=footnote,
                                                                                    **tkw),
                                              charts.theme_respondent_alt(counts, themes, qid, **tkw),
                                              f"{qid}_theme_respondents", charts_dir, written,
                                              "Themes by respondent type"))
    elif q.kind == "open":
        if t.get("core_answer_themes") is None:
            ctx["notes"].append("Themes were not analysed for this question (no themes table).")
        else:
            ctx["notes"].append("No themes were recorded for this question.")
    if ctx.get("n_answers", 0) == 0 and not ctx["n"]:
        ctx["notes"].insert(0, "Nobody answered this question.")
    return ctx


#: Count families the report reads, each under any of its accepted ``out_counts.table`` names.
COUNT_FAMILIES = {
    "position": POSITION_TABLE,
    "position_by_respondent_type": POSITION_BY_TYPE_TABLES,
    "theme": THEME_TABLE,
    "theme_by_respondent_type": THEME_BY_TYPE_TABLES,
    "theme_position": THEME_POSITION_TABLES,
}


def counts_for_report(cfg: ConsultationConfig, tables: dict) -> tuple[pd.DataFrame | None, list[str]]:
    """Counts of the configured count mode; families missing from ``out_counts`` are rebuilt.

    A family (e.g. theme counts) absent from ``out_counts`` while its coded table exists is rebuilt
    with :func:`analysis.report.load.derive_counts` (the same :mod:`analysis.counts` rules), and
    named in the methods section.

    Returns:
        ``(counts or None, names of the rebuilt families)``.
    """
    s = cfg.settings
    counts = tables.get("out_counts")
    if counts is not None and len(counts):
        modes = counts["count_mode"].astype(str)
        counts = counts[modes == s.count_mode] if (modes == s.count_mode).any() else counts
    ans, resp = tables.get("core_answers_clean"), tables.get("core_responses")
    if ans is None or resp is None:
        return counts, []
    have = set() if counts is None else set(counts["table"].astype(str))
    missing = [fam for fam, names in COUNT_FAMILIES.items() if not have & set(names)]
    if not missing:
        return counts, []
    derived = derive_counts(ans, resp, tables.get("core_answer_themes"), tables.get("core_answer_positions"),
                            tables.get("core_themes"), mode=s.count_mode, min_cell=s.min_cell)
    derived = derived[derived["table"].isin(missing)]
    if derived.empty:
        return counts, []
    rebuilt = sorted(set(derived["table"]))
    log.info("count families rebuilt from coded tables: %s", ", ".join(rebuilt))
    parts = [c for c in (counts, derived) if c is not None and len(c)]
    return pd.concat(parts, ignore_index=True), rebuilt


def build_context(
    cfg: ConsultationConfig, tables: dict, reports_dir: Path, raw_dir: Path | None = None
) -> tuple[dict, list[Path], pd.DataFrame | None, pd.DataFrame]:
    """Everything the templates need; charts are written on the way.

    For a Pol.is conversation (:func:`analysis.report.load.is_polis`) the answers are statements voted
    on by participants: "We asked" reports statements and votes, "You said" how many statements most
    voters supported and how strongly each theme's statements were supported (``out_theme_support``).
    ``raw_dir`` (the consultation's raw folder) is read for an attribution statement only.

    Returns:
        ``(template context, written chart files, counts used (one count mode), selected quotes)``.
    """
    s = cfg.settings
    written: list[Path] = []
    charts_dir = Path(reports_dir) / "charts"
    counts, derived = counts_for_report(cfg, tables)
    ans, resp = tables.get("core_answers_clean"), tables.get("core_responses")
    mode_text = ("unique submissions (each form-letter campaign counted once)" if s.count_mode == "unique"
                 else "all responses (every campaign copy counted)")
    source = f"Source: {cfg.title}" + (f", {cfg.organisation}" if cfg.organisation else "") \
        + (". SYNTHETIC TEST DATA." if cfg.synthetic else ".")
    footnote = f"Count mode: {mode_text}. {source}"
    quotes = pd.DataFrame(columns=["question_id", "theme_id", "rank", "display"])
    if ans is not None and resp is not None and tables.get("core_answer_themes") is not None:
        quotes = select_quotes(ans, tables["core_answer_themes"], tables.get("core_answer_positions"), resp,
                               seed=s.seed)
    polis = is_polis(cfg, tables)
    if polis:
        quotes = polis_quotes(quotes)
    asked: dict = {"channels": [], "total": 0, "unique": None, "campaigns": [], "charts": [], "polis": None}
    if polis:
        asked["polis"] = polis_asked(tables)
    if resp is not None:
        m = response_matrix(resp)
        asked["total"] = int(len(resp))
        for ch, row in m.iterrows():
            asked["channels"].append({"channel": style.CHANNEL_LABELS.get(str(ch), str(ch)),
                                      "types": [(style.RESPONDENT_LABELS.get(k, k), style.fmt_int(v))
                                                for k, v in row.items()], "total": style.fmt_int(row.sum())})
        asked["types"] = [style.RESPONDENT_LABELS.get(k, k) for k in m.columns]
        if not polis:  # Pol.is statements have no channel or respondent type worth charting
            asked["charts"].append(chart_entry(lambda: charts.responses_chart(resp, footnote="Every response counted. "
                                                                               + source),
                                                charts.responses_alt(resp), "responses", charts_dir, written,
                                                "Responses by channel and respondent type"))
    if ans is not None:
        camp = campaign_summary(ans, tables.get("core_campaigns"), max_campaigns=50)
        asked["unique"] = camp["unique"]
        asked["campaigns"] = [{"label": c["label"], "size": style.fmt_int(c["size"])} for c in camp["campaigns"]]
        asked["copies"] = camp["copies"]
        if camp["n_campaigns"]:
            asked["charts"].append(chart_entry(lambda: charts.campaign_chart(ans, tables.get("core_campaigns"),
                                                                              footnote=source),
                                                charts.campaign_alt(ans, tables.get("core_campaigns")), "campaigns",
                                                charts_dir, written, "Campaign copies and unique submissions"))
    if polis:
        footnote = f"Each statement counted once; support from participants' votes. {source}"
    questions = [polis_question_context(q, tables, quotes, footnote, charts_dir, written, QUOTES_PER_THEME) if polis
                 else _question_context(q, tables, counts, quotes, s.min_cell, footnote, charts_dir, written)
                 for q in cfg.questions]
    ctx = {
        "title": cfg.title, "organisation": cfg.organisation, "url": cfg.url,
        "opened": cfg.opened.isoformat() if cfg.opened else None,
        "closed": cfg.closed.isoformat() if cfg.closed else None,
        "synthetic": cfg.synthetic, "count_mode": s.count_mode, "mode_text": mode_text, "min_cell": s.min_cell,
        "asked": asked, "questions": questions, "quantifiers": quantifier_rows(), "polis": polis,
        "methods": methods_context(cfg, tables, quotes, derived, raw_dir=raw_dir, polis=polis),
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
    """Write ``summary.md``, ``summary.html``, charts, ``tables.xlsx`` and ``tables/*.csv``.

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
    ctx, written, counts, quotes = build_context(cfg, tables, reports_dir,
                                                 Path(raw_dir) if raw_dir is not None else None)
    env = _env()
    for name in ("summary.md", "summary.html"):
        text = env.get_template(f"{name}.j2").render(**ctx)
        path = reports_dir / name
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    written.extend(write_tables(cfg, tables, counts, quotes, reports_dir, rebuilt=ctx["methods"]["derived_counts"]))
    log.info("report written: %d files", len(written))
    return written


def run(cfg: ConsultationConfig, *, raw_dir: Path, processed_dir: Path, reports_dir: Path | None = None) -> list[Path]:
    """Stage entry point: build the report into ``reports_dir`` (default: the consultation's reports folder).

    Of ``raw_dir`` only the attribution statement is read (see :func:`build_report`).
    """
    return build_report(cfg, processed_dir, reports_dir if reports_dir is not None else paths.reports_dir(cfg.id),
                        raw_dir=raw_dir)
