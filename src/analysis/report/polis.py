"""Pol.is parts of the published summary: statement verdicts, vote sentences, per-theme support and quotes.

Pol.is statements are answers that participants voted on; their positions come from votes
(:mod:`analysis.positions.polis_votes`), and quotes are attributed to "A participant". Every number is an
``out_counts`` cell: statements per verdict are the ``position`` table in ``all`` mode (each statement
counted once), statements, votes and voters the Pol.is tables of :mod:`analysis.counts.polis`; theme
support is ``out_theme_support`` (positions stage).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pandas as pd

from analysis.charts import figures as charts
from analysis.charts import style
from analysis.charts.data import Cell, in_mode, position_rows, select_table, theme_support_rows, zero_cell
from analysis.charts.draw import chart_entry
from analysis.counts.polis import ALL_QUESTIONS, POLIS_STATEMENTS_TABLE, POLIS_VOTERS_TABLE, POLIS_VOTES_TABLE
from analysis.report.quotes import display
from analysis.report.tables import quote_items
from analysis.schemas import SIDES
from analysis.themes.codebook import OTHER, UNTRANSLATED

#: How a Pol.is statement's vote-based position is described (see :mod:`analysis.positions.polis_votes`).
STATEMENT_VERDICTS = {
    "support": "were supported by most voters (agree share above 50% with 95% confidence)",
    "oppose": "were opposed by most voters (agree share below 50% with 95% confidence)",
    "unclear": "had no clear majority (the 95% interval of the agree share includes 50%, or no votes)",
}
#: Theme ids listed apart from the themes (no codebook match; not in a themed language).
NOT_THEMES = (OTHER, UNTRANSLATED)
#: Attribution of a quoted Pol.is statement (statements are anonymous).
POLIS_ATTRIBUTION = "A participant"


def statement_sentences(cells: dict[str, Cell], total: int, min_cell: int) -> list[str]:
    """Sentences on how many Pol.is statements most voters supported / opposed / split on.

    Args:
        cells: Position -> cell of the ``position`` table (``all`` mode: each statement once).
        total: Statements with a vote-based position (the cells' denominator).
        min_cell: Suppression threshold (a suppressed cell reads "fewer than 5").

    The first reads ``"Of 154 statements, 122 (79%) were supported by most voters (...)"``.
    """
    if not total:
        return []
    out = []
    for pos in (*SIDES, "unclear"):  # a statement's verdict from its votes
        c = cells.get(pos, zero_cell(total))
        if pos != "support" and not c.suppressed and not c.n:
            continue
        count = (f"fewer than {min_cell}" if c.suppressed
                 else f"{style.fmt_int(c.n or 0)} ({style.fmt_pct(c.share or 0.0)})")
        part = f"{count} {STATEMENT_VERDICTS[pos]}."
        out.append(f"Of {style.fmt_int(total)} statements, {part}" if not out else f"{part[0].upper()}{part[1:]}")
    return out


def vote_totals(counts: pd.DataFrame | None, question_id: str = ALL_QUESTIONS) -> dict[str, int | None] | None:
    """Statements, votes and voters of one question (``*``: the conversation) from the Pol.is count tables.

    Returns:
        ``{statements, moderated_out, agrees, disagrees, passes, votes, participants, max_voters,
        median_voters}`` (``None`` for a figure the counts stage did not record), or ``None`` without votes.
    """
    def cells(table: str) -> dict[str, pd.Series]:
        return {str(r["category"]): r for _, r in select_table(counts, question_id, table, "all").iterrows()}

    st, vo, vr = cells(POLIS_STATEMENTS_TABLE), cells(POLIS_VOTES_TABLE), cells(POLIS_VOTERS_TABLE)
    if "accepted" not in st:
        return None

    def n(rows: dict[str, pd.Series], category: str) -> int | None:
        return int(rows[category]["n"]) if category in rows else None

    return {"statements": n(st, "accepted"), "moderated_out": n(st, "moderated_out"), "agrees": n(vo, "agree") or 0,
            "disagrees": n(vo, "disagree") or 0, "passes": n(vo, "pass"),
            "votes": int(next(iter(vo.values()))["denominator"]) if vo else 0, "participants": n(vr, "participants"),
            "max_voters": n(vr, "max_per_statement"), "median_voters": n(vr, "median_per_statement")}


def polis_votes_sentence(summary: dict | None) -> str | None:
    """``"536 participants cast 29,188 votes on the 154 statements (...)"`` from :func:`vote_totals`."""
    if not summary:
        return None
    split = f"{style.fmt_int(summary['agrees'])} agree, {style.fmt_int(summary['disagrees'])} disagree"
    if summary["passes"] is not None:
        split += f", {style.fmt_int(summary['passes'])} pass"
    who = f"{style.fmt_int(summary['participants'])} participants" if summary["participants"] else "Participants"
    per = (f"; each statement was voted on by up to {style.fmt_int(summary['max_voters'])} participants "
           f"(median {style.fmt_int(summary['median_voters'])})" if summary["max_voters"] is not None else "")
    return (f"{who} cast {style.fmt_int(summary['votes'])} votes on the {style.fmt_int(summary['statements'])} "
            f"statements ({split}){per}.")


def polis_question_context(q, t: dict, counts: pd.DataFrame, quotes: pd.DataFrame, footnote: str, charts_dir: Path,
                           written: list[Path], quotes_per_theme: int = 2, min_cell: int = 5,
                           heading: str | None = None) -> dict:
    """"You said" for a Pol.is question: statement verdicts, per-theme support table, chart and quotes.

    ``counts`` is ``out_counts`` with both count modes (statements are counted in ``all`` mode); ``heading``
    titles the question and its chart (default: the question's text).
    """
    qid, heading = q.id, heading or q.text
    ctx: dict = {"id": qid, "text": q.text, "heading": heading, "kind": q.kind, "charts": [], "notes": [],
                 "positions": [], "by_type": [], "themes": [], "n": 0, "n_more_themes": 0, "polis": True,
                 "support": [], "set_aside": []}
    rows, ctx["n"] = position_rows(in_mode(counts, "all"), qid)
    ctx["positions"] = [{"sentence": s} for s in statement_sentences(rows[0][1] if rows else {}, ctx["n"], min_cell)]
    ctx["votes_sentence"] = polis_votes_sentence(vote_totals(counts, qid))
    if not ctx["positions"]:
        ctx["notes"].append("No vote-based positions were recorded for these statements.")
    support, themes = t.get("out_theme_support"), t.get("core_themes")
    for r in theme_support_rows(support, themes, qid):
        if r["theme_id"] in NOT_THEMES:
            continue
        qs = theme_quotes(quotes, qid, r["theme_id"], r["share"], quotes_per_theme)
        share = "no agree or disagree votes" if r["share"] is None else (
            f"{style.fmt_pct(r['share'])} agree (95% CI {style.fmt_pct(r['ci_low'])}\u2013{style.fmt_pct(r['ci_high'])})")
        ctx["support"].append({
            "label": r["label"], "statements": style.fmt_int(r["n_statements"]), "votes": style.fmt_int(r["votes"]),
            "share": "\u2013" if r["share"] is None else style.fmt_pct(r["share"]),
            "ci": "\u2013" if r["share"] is None else f"{style.fmt_pct(r['ci_low'])}\u2013{style.fmt_pct(r['ci_high'])}",
            "sentence": f"\u201c{r['label']}\u201d ({style.fmt_int(r['n_statements'])} statements, "
                        f"{style.fmt_int(r['votes'])} agree or disagree votes): {share}.",
            "quotes": qs})
    if ctx["support"]:
        kw = dict(question_text=heading)
        ctx["charts"].append(chart_entry(partial(charts.theme_support_chart, support, themes, qid, footnote=footnote, **kw),
                                          charts.theme_support_alt(support, themes, qid, **kw), f"{qid}_theme_support",
                                          charts_dir, written, style.chart_title("theme_support", heading)))
    elif t.get("core_answer_themes") is None:
        ctx["notes"].append("Themes were not analysed for these statements (no themes table).")
    else:
        ctx["notes"].append("No theme support was recorded for these statements (no out_theme_support table).")
    return ctx


def theme_quotes(quotes: pd.DataFrame, question_id: str, theme_id: str, share: float | None,
                 k: int) -> list[dict[str, str | None]]:
    """Up to ``k`` quotes of a theme whose own votes agree with the theme's figure.

    A theme supported overall (agree share above 50%) is illustrated only by statements most voters
    supported, a theme opposed overall only by statements most voters opposed, so a quote never contradicts
    the number beside it; a theme without votes, or split exactly, gets no quote.
    """
    if quotes.empty or share is None or share == 0.5:
        return []
    side = "support" if share > 0.5 else "oppose"
    sub = quotes[(quotes["question_id"] == question_id) & (quotes["theme_id"] == theme_id)]
    if "position" not in sub.columns:
        return []
    return quote_items(sub[sub["position"].astype(str) == side], k)


def polis_quotes(quotes: pd.DataFrame) -> pd.DataFrame:
    """Quotes of Pol.is statements attributed to "A participant" (statements are anonymous)."""
    if quotes.empty:
        return quotes
    out = quotes.copy()
    out["attribution"] = POLIS_ATTRIBUTION
    out["display"] = [display(r.quote, POLIS_ATTRIBUTION, bool(r.leading_ellipsis), bool(r.trailing_ellipsis))
                      for r in out.itertuples(index=False)]
    return out


def polis_asked(counts: pd.DataFrame) -> dict:
    """"We asked" facts of a Pol.is conversation from ``out_counts``: accepted / moderated-out statements, votes."""
    totals = vote_totals(counts) or {}
    return {"statements": style.fmt_int(totals.get("statements") or 0),
            "moderated_out": style.fmt_int(totals.get("moderated_out") or 0),
            "votes_sentence": polis_votes_sentence(totals or None)}
