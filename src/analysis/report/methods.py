"""The methods appendix: data sources and ledger, campaigns and count mode, models and seeds,
accuracy checks and caveats, computed from the tables (nothing hand-written per consultation).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from analysis.charts import style
from analysis.charts.data import campaign_summary
from analysis.config import ConsultationConfig
from analysis.counts.prevalence import adjustment_gate
from analysis.report.load import public_path
from analysis.schemas import SIDES

log = logging.getLogger(__name__)

CAVEATS = [
    "Consultations are open to anyone who chooses to respond, so respondents are not a random sample of "
    "the population: counts describe the responses received, not public opinion as a whole.",
    "One response can raise several themes, so theme shares do not add up to 100%.",
    "Themes and positions inferred from free text were coded automatically; automatic coding makes "
    "mistakes (see the accuracy checks), so small differences between themes should not be "
    "over-interpreted. Analysts can review every coded answer in the workbook.",
    "Shares carry 95% Wilson score intervals, which describe uncertainty of the coding-as-measured "
    "share among respondents, not sampling error about a wider population.",
    "Quotes are chosen to illustrate each theme in respondents' own (redacted) words; they are not a "
    "measure of how common a view is.",
]

#: Caveats replacing the respondent ones for a Pol.is conversation (statements voted on by participants).
POLIS_CAVEATS = [
    "Pol.is participants chose to take part, so they are not a random sample of the population: the votes "
    "describe those who voted, not public opinion as a whole.",
    "Participants vote on the statements shown to them, so statements received different numbers of votes; "
    "passes (no opinion) are excluded from agree shares.",
    "The same participants vote on many statements, so votes are not independent: the 95% Wilson intervals "
    "(which assume they are) are too narrow, especially for themes pooling many statements.",
    "Themes were assigned to statements automatically; a statement can belong to several themes, and small "
    "differences between themes should not be over-interpreted.",
    "Quotes are chosen to illustrate each theme in participants' own words; they are not a measure of how "
    "common a view is.",
]

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def attribution_statement(raw_dir: str | Path | None) -> list[str]:
    """The attribution statement a consultation's data licence requires, as paragraphs.

    Read from ``<raw_dir>/ATTRIBUTION.md`` (its whole text, a leading heading dropped) or else from
    the "Attribution" section of ``<raw_dir>/README.md`` (up to the next heading of the same or a
    higher level). Lines of a paragraph are joined; paragraphs are separated by blank lines.

    Returns:
        The paragraphs (empty when there is no statement).
    """
    if raw_dir is None:
        return []
    folder = Path(raw_dir)
    lines: list[str] = []
    if (folder / "ATTRIBUTION.md").is_file():
        lines = (folder / "ATTRIBUTION.md").read_text(encoding="utf-8").splitlines()
        if lines and _HEADING.match(lines[0]):
            lines = lines[1:]
    elif (folder / "README.md").is_file():
        level = None
        for line in (folder / "README.md").read_text(encoding="utf-8").splitlines():
            m = _HEADING.match(line)
            if level is None:
                if m and m.group(2).strip().lower().rstrip(":") == "attribution":
                    level = len(m.group(1))
                continue
            if m and len(m.group(1)) <= level:
                break
            lines.append(line)
    paras: list[str] = []
    block: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            block.append(line.strip())
        elif block:
            paras.append(" ".join(block))
            block = []
    if paras:
        log.info("attribution statement found in %s", folder.name)
    return paras


def _ledger(tables: dict) -> dict:
    ledger = tables.get("ledger")
    if ledger is None or ledger.empty:
        return {"rows": [], "totals": None, "balanced": None}
    rows = [{"file": public_path(r.file), "reader": r.reader, "read": style.fmt_int(r.rows_read),
             "kept": style.fmt_int(r.rows_kept), "rejected": style.fmt_int(r.rows_rejected)}
            for r in ledger.sort_values("file", kind="mergesort").itertuples(index=False)]
    totals = {k: style.fmt_int(ledger[c].sum()) for k, c in
              (("read", "rows_read"), ("kept", "rows_kept"), ("rejected", "rows_rejected"))}
    balanced = bool((ledger["rows_read"] == ledger["rows_kept"] + ledger["rows_rejected"]).all())
    return {"rows": rows, "totals": totals, "balanced": balanced}


def _rejects(tables: dict) -> list[dict]:
    rej = tables.get("core_rejects")
    if rej is None or rej.empty:
        return []
    counts = rej.groupby([rej["file"].map(public_path), "reason"]).size().reset_index(name="n")
    counts = counts.sort_values(["n", "file", "reason"], ascending=[False, True, True], kind="mergesort")
    return [{"file": r.file, "reason": " ".join(str(r.reason).split()), "n": style.fmt_int(r.n)}
            for r in counts.head(20).itertuples(index=False)]


def _agreement(cfg: ConsultationConfig, tables: dict) -> list[dict]:
    """Closed answer vs text-model position of the same respondent on the related open question."""
    pos = tables.get("core_answer_positions")
    if pos is None or pos.empty:
        return []
    out = []
    for q in cfg.open_questions:
        if not q.related_question:
            continue
        closed = pos[(pos["question_id"] == q.related_question) & (pos["source"] == "closed")]
        text = pos[(pos["question_id"] == q.id) & (pos["source"] == "text_model")]
        both = closed.merge(text, on="response_id", suffixes=("_closed", "_text"))
        both = both[both["position_closed"].isin(SIDES) & both["position_text"].isin(SIDES)]
        if len(both):
            agree = int((both["position_closed"] == both["position_text"]).sum())
            out.append({"question": q.id, "related": q.related_question, "n": style.fmt_int(len(both)),
                        "agree": style.fmt_int(agree), "share": style.fmt_pct(agree / len(both))})
    return out


def _sources(df: pd.DataFrame | None, col: str = "source") -> list[dict]:
    if df is None or df.empty:
        return []
    c = df.groupby(["question_id", col]).size().reset_index(name="n")
    return [{"question": r.question_id, "source": getattr(r, col), "n": style.fmt_int(r.n)}
            for r in c.itertuples(index=False)]


def _theme_thresholds(model: pd.DataFrame | None) -> list[dict[str, str]]:
    """How each question's theme thresholds were set, from ``out_theme_model``.

    One row per distinct setting; questions sharing one (pooled calibration) are listed together.
    """
    if model is None or model.empty:
        return []
    first = model.drop_duplicates("question_id").sort_values("question_id", kind="mergesort")
    groups: dict[str, list[str]] = {}
    for r in first.itertuples():
        groups.setdefault(str(r.thresholding), []).append(str(r.question_id))
    return [{"question": ", ".join(qs), "thresholding": text} for text, qs in groups.items()]


def _adjustment(cfg: ConsultationConfig, confusion: pd.DataFrame | None) -> list[dict[str, str]]:
    """Per question with text-model error rates: whether error-corrected counts are published, and why not."""
    return [{"question_id": q, "published": why is None, "why": why or ""}
            for q, why in adjustment_gate(confusion, cfg).items()]


def _text_positions(text_pos: pd.DataFrame | None) -> dict | None:
    """Free-text positions for the methods text: how many were inferred, too uncertain, or not coded yet.

    A text position is *not coded yet* when no stance model could be trained for its question (no or too few
    coded answers): recorded as ``unclear`` with confidence 0, it is no measure of uncertainty, so it is
    counted apart and left out of the mean confidence.
    """
    if text_pos is None or not len(text_pos):
        return None
    uncoded = (text_pos["position"] == "unclear") & (text_pos["confidence"] == 0)
    coded = text_pos[~uncoded]
    unclear = int((coded["position"] == "unclear").sum())
    return {"n": style.fmt_int(len(coded)), "unclear": style.fmt_int(unclear),
            "share": style.fmt_pct(unclear / len(coded)) if len(coded) else None,
            "mean_conf": f"{coded['confidence'].mean():.2f}" if len(coded) else None,
            "uncoded": style.fmt_int(int(uncoded.sum())) if uncoded.any() else None}


def methods_context(cfg: ConsultationConfig, tables: dict, quotes: pd.DataFrame, counts: pd.DataFrame, *,
                    raw_dir: str | Path | None = None, polis: bool = False) -> dict:
    """Template context of the methods appendix.

    Args:
        cfg: The consultation config.
        tables: Loaded tables (``None`` for missing ones) plus ``stage_records``.
        quotes: The selected quotes.
        counts: ``out_counts`` (both count modes): suppressed cells and the number of campaigns.
        raw_dir: The consultation's raw folder (for :func:`attribution_statement`), or ``None``.
        polis: The answers are Pol.is statements voted on by participants (Pol.is caveats).

    Returns:
        A dict of plain values for the templates.
    """
    s = cfg.settings
    pos = tables.get("core_answer_positions")
    text_pos = pos[pos["source"] == "text_model"] if pos is not None and len(pos) else None
    low_conf = _text_positions(text_pos)
    n_suppressed = int(counts.loc[counts["count_mode"] == s.count_mode, "suppressed"].sum()) if len(counts) else None
    return {
        "ledger": _ledger(tables),
        "rejects": _rejects(tables),
        "tables_missing": [name for name in ("core_responses", "core_answers_clean", "core_themes",
                                             "core_answer_themes", "core_answer_positions", "out_counts", "ledger")
                           if tables.get(name) is None],
        "campaigns": {"enabled": s.campaigns.enabled, "min_size": s.campaigns.min_size,
                      "near_threshold": s.campaigns.near_threshold, "shingle_size": s.campaigns.shingle_size,
                      "num_perm": s.campaigns.num_perm,
                      "n": campaign_summary(counts, None)["n_campaigns"]},
        "seed": s.seed,
        "themes": {"backend": s.themes.backend, "model": s.themes.model or "default", "n_topics": s.themes.n_topics,
                   "min_score": s.themes.min_score, "max_per_answer": s.themes.max_themes_per_answer},
        "theme_thresholds": _theme_thresholds(tables.get("out_theme_model")),
        "positions": {"threshold": s.positions.confidence_threshold, "min_training": s.positions.min_training},
        "stage_records": tables.get("stage_records") or [],
        "position_sources": _sources(pos),
        "theme_sources": _sources(tables.get("core_answer_themes")),
        "text_positions": low_conf,
        "adjustment": _adjustment(cfg, tables.get("core_position_confusion")),
        "agreement": _agreement(cfg, tables),
        "n_quotes": len(quotes),
        "n_suppressed": n_suppressed,
        "caveats": POLIS_CAVEATS if polis else CAVEATS,
        "polis": polis,
        "attribution": attribution_statement(raw_dir),
    }
