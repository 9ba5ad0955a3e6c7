"""Published tables: ``tables.xlsx`` (every count table, coded answers, quotes, campaigns, ledger,
rejects) and one CSV per count table under ``tables/``.

Only publishable columns leave this module: redacted text (``text_redacted`` /
``personal_addition``), never ``answer``, ``respondent_name`` or ``respondent_email``; organisation
names only where ``publish_consent`` is true; rejected rows without their raw content (it stays in
the processed folder for analysts); count tables without ``evidence_ids``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.charts.data import theme_labels
from analysis.config import ConsultationConfig
from analysis.report.load import public_path
from analysis.report.workbook import neutralise_frame, write_workbook

COUNT_COLUMNS = ["table", "question_id", "group", "group_label", "category", "category_label", "n", "denominator",
                 "share", "ci_low", "ci_high", "suppressed", "count_mode"]


def publishable_counts(counts: pd.DataFrame, themes: pd.DataFrame | None) -> pd.DataFrame:
    """Count rows without evidence ids, with theme labels beside theme ids, sorted by key."""
    df = counts.copy()
    labels: dict[tuple[str, str], str] = {}
    if themes is not None and len(themes):
        for qid in themes["question_id"].unique():
            for tid, lab in theme_labels(themes, qid).items():
                labels[(str(qid), tid)] = lab
    df["group_label"] = [labels.get((str(q), str(g)), "") for q, g in zip(df["question_id"], df["group"], strict=True)]
    df["category_label"] = [labels.get((str(q), str(c)), "") for q, c in
                            zip(df["question_id"], df["category"], strict=True)]
    df = df[COUNT_COLUMNS]
    return df.sort_values(["table", "count_mode", "question_id", "group", "category"], kind="mergesort").reset_index(
        drop=True)


def coded_answers(tables: dict) -> pd.DataFrame:
    """One row per answer: redacted text, campaign flags, themes and position (publishable columns only)."""
    ans = tables.get("core_answers_clean")
    if ans is None:
        return pd.DataFrame()
    out = ans[["response_id", "question_id", "text_redacted", "personal_addition", "campaign_id",
               "is_campaign_copy"]].copy()
    resp = tables.get("core_responses")
    if resp is not None:
        r = resp[["response_id", "channel", "respondent_type", "sector", "organisation", "publish_consent"]].copy()
        r["organisation"] = r["organisation"].where(r["publish_consent"].astype(bool))
        out = out.merge(r.drop(columns="publish_consent"), on="response_id", how="left")
    at = tables.get("core_answer_themes")
    if at is not None and len(at):
        labels = {}
        themes = tables.get("core_themes")
        if themes is not None:
            labels = {(str(q), str(t)): str(lab) for q, t, lab in
                      zip(themes["question_id"], themes["theme_id"], themes["label"], strict=True)}
        at = at.sort_values(["response_id", "question_id", "score", "theme_id"], ascending=[True, True, False, True],
                            kind="mergesort")
        at = at.assign(label=[labels.get((str(q), str(t)), str(t)) for q, t in
                              zip(at["question_id"], at["theme_id"], strict=True)])
        g = at.groupby(["response_id", "question_id"], sort=False)
        agg = pd.DataFrame({"theme_ids": g["theme_id"].agg("; ".join), "theme_labels": g["label"].agg("; ".join)})
        out = out.merge(agg.reset_index(), on=["response_id", "question_id"], how="left")
    pos = tables.get("core_answer_positions")
    if pos is not None and len(pos):
        p = pos.rename(columns={"confidence": "position_confidence", "source": "position_source"})
        out = out.merge(p, on=["response_id", "question_id"], how="left")
    return out.sort_values(["question_id", "response_id"], kind="mergesort").reset_index(drop=True)


def _csv(df: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # 4 decimals is the precision a share needs; longer digit runs are flagged as phone numbers by the guard
    neutralise_frame(df).to_csv(path, index=False, lineterminator="\n", encoding="utf-8", float_format="%.4f")
    return path


def write_tables(cfg: ConsultationConfig, tables: dict, counts: pd.DataFrame | None, quotes: pd.DataFrame,
                 reports_dir: Path, rebuilt: list[str] | None = None) -> list[Path]:
    """Write ``tables.xlsx`` and ``tables/<count table>.csv``.

    Args:
        cfg: The consultation config.
        tables: Loaded tables (``None`` for missing ones).
        counts: Counts of the configured count mode (``out_counts`` if present holds every mode and is
            used in full; else these derived counts).
        quotes: Selected quotes.
        reports_dir: Output folder.
        rebuilt: Count tables the report rebuilt (absent from ``out_counts``): taken from ``counts``.

    Returns:
        The written paths.
    """
    written: list[Path] = []
    all_counts = tables.get("out_counts")
    if all_counts is None or all_counts.empty:
        all_counts = counts
    elif rebuilt and counts is not None:
        all_counts = pd.concat([all_counts, counts[counts["table"].isin(rebuilt)]], ignore_index=True)
    sheets: dict[str, pd.DataFrame] = {}
    sheets["about"] = pd.DataFrame({"item": ["consultation", "count_mode", "min_cell", "seed", "synthetic"],
                                    "value": [cfg.title, cfg.settings.count_mode, str(cfg.settings.min_cell),
                                              str(cfg.settings.seed), str(cfg.synthetic)]})
    if tables.get("core_questions") is not None:
        sheets["questions"] = tables["core_questions"]
    if all_counts is not None and len(all_counts):
        pub = publishable_counts(all_counts, tables.get("core_themes"))
        for name, sub in pub.groupby("table", sort=True):
            sheets[f"counts_{name}"] = sub.reset_index(drop=True)
            written.append(_csv(sub, reports_dir / "tables" / f"{name}.csv"))
    support = tables.get("out_theme_support")
    if support is not None and len(support):  # Pol.is: how strongly each theme's statements were supported
        th = tables.get("core_themes")
        if th is not None and len(th):
            support = support.merge(th[["question_id", "theme_id", "label"]], on=["question_id", "theme_id"],
                                    how="left")
        sheets["theme_support"] = support
        written.append(_csv(support, reports_dir / "tables" / "theme_support.csv"))
    votes = tables.get("core_statement_votes")
    if votes is not None and len(votes):
        sheets["statement_votes"] = votes
    ca = coded_answers(tables)
    if len(ca):
        sheets["coded_answers"] = ca
    if len(quotes):
        sheets["quotes"] = quotes.drop(columns=["display"], errors="ignore")
    if tables.get("core_themes") is not None:
        sheets["themes"] = tables["core_themes"]
    if tables.get("core_campaigns") is not None:
        sheets["campaigns"] = tables["core_campaigns"]
    if tables.get("ledger") is not None:
        sheets["ledger"] = tables["ledger"].assign(file=tables["ledger"]["file"].map(public_path))
    if tables.get("core_rejects") is not None:
        rej = tables["core_rejects"]
        sheets["rejects"] = rej.assign(file=rej["file"].map(public_path),
                                       raw_chars=rej["raw"].fillna("").str.len()).drop(columns="raw")
    written.append(write_workbook(sheets, reports_dir / "tables.xlsx"))
    return written
