"""Pol.is parts of the published summary: statement verdicts, vote sentences, per-theme support and quotes.

Pol.is statements are answers that participants voted on; their positions come from votes
(:mod:`analysis.positions.polis_votes`), and quotes are attributed to "A participant".
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.charts import figures as charts
from analysis.charts import style
from analysis.charts.data import theme_support_rows
from analysis.charts.draw import chart_entry
from analysis.report.load import statement_position_counts, vote_summary
from analysis.report.quotes import display

#: How a Pol.is statement's vote-based position is described (see :mod:`analysis.positions.polis_votes`).
STATEMENT_VERDICTS = {
    "support": "were supported by most voters (agree share above 50% with 95% confidence)",
    "oppose": "were opposed by most voters (agree share below 50% with 95% confidence)",
    "unclear": "had no clear majority (the 95% interval of the agree share includes 50%, or no votes)",
}
#: Attribution of a quoted Pol.is statement (statements are anonymous).
POLIS_ATTRIBUTION = "A participant"


def statement_sentences(counts: dict[str, int]) -> list[str]:
    """Sentences on how many Pol.is statements most voters supported / opposed / split on.

    The first reads ``"Of 154 statements, 122 (79%) were supported by most voters (...)"``.
    """
    total = sum(counts.values())
    if not total:
        return []
    out = []
    for pos in ("support", "oppose", "unclear"):
        n = counts.get(pos, 0)
        if pos != "support" and not n:
            continue
        part = f"{style.fmt_int(n)} ({style.fmt_pct(n / total)}) {STATEMENT_VERDICTS[pos]}."
        out.append(f"Of {style.fmt_int(total)} statements, {part}" if not out else f"{part[0].upper()}{part[1:]}")
    return out


def polis_votes_sentence(summary: dict | None) -> str | None:
    """``"536 participants cast 29,188 votes on the 154 statements (...)"`` from :func:`vote_summary`."""
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


def polis_question_context(q, t: dict, quotes: pd.DataFrame, footnote: str, charts_dir: Path,
                           written: list[Path], quotes_per_theme: int = 2) -> dict:
    """"You said" for a Pol.is question: statement verdicts, per-theme support table, chart and quotes."""
    qid = q.id
    ctx: dict = {"id": qid, "text": q.text, "kind": q.kind, "charts": [], "notes": [], "positions": [],
                 "by_type": [], "themes": [], "n": 0, "n_more_themes": 0, "polis": True, "support": []}
    pcounts = statement_position_counts(t.get("core_answer_positions"), qid)
    ctx["n"] = sum(pcounts.values())
    ctx["positions"] = [{"sentence": s} for s in statement_sentences(pcounts)]
    votes = t.get("core_statement_votes")
    if votes is not None:
        ctx["votes_sentence"] = polis_votes_sentence(vote_summary(votes[votes["question_id"] == qid],
                                                                 t.get("ledger")))
    if not ctx["positions"]:
        ctx["notes"].append("No vote-based positions were recorded for these statements.")
    support, themes = t.get("out_theme_support"), t.get("core_themes")
    for r in theme_support_rows(support, themes, qid):
        qs = [] if quotes.empty else (
            quotes[(quotes["question_id"] == qid) & (quotes["theme_id"] == r["theme_id"])]
            .sort_values("rank")["display"].head(quotes_per_theme).tolist())
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
        kw = dict(question_text=q.text)
        ctx["charts"].append(chart_entry(lambda: charts.theme_support_chart(support, themes, qid, footnote=footnote, **kw),
                                          charts.theme_support_alt(support, themes, qid, **kw), f"{qid}_theme_support",
                                          charts_dir, written, "Support for each theme's statements"))
    elif t.get("core_answer_themes") is None:
        ctx["notes"].append("Themes were not analysed for these statements (no themes table).")
    else:
        ctx["notes"].append("No theme support was recorded for these statements (no out_theme_support table).")
    return ctx


def polis_quotes(quotes: pd.DataFrame) -> pd.DataFrame:
    """Quotes of Pol.is statements attributed to "A participant" (statements are anonymous)."""
    if quotes.empty:
        return quotes
    out = quotes.copy()
    out["attribution"] = POLIS_ATTRIBUTION
    out["display"] = [display(r.quote, POLIS_ATTRIBUTION, bool(r.leading_ellipsis), bool(r.trailing_ellipsis))
                      for r in out.itertuples(index=False)]
    return out


def polis_asked(t: dict) -> dict:
    """"We asked" facts of a Pol.is conversation: accepted / moderated-out statements, votes."""
    votes, rej = t.get("core_statement_votes"), t.get("core_rejects")
    moderated = 0 if rej is None or rej.empty else int(rej["reason"].astype(str).str.contains("moderated").sum())
    return {"statements": style.fmt_int(0 if votes is None else len(votes)), "moderated_out": style.fmt_int(moderated),
            "votes_sentence": polis_votes_sentence(vote_summary(votes, t.get("ledger")))}
