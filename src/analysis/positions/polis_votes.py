"""Pol.is statements: how strongly each statement, and each theme of statements, was supported.

A Pol.is statement is not a respondent, so its "position" is the verdict of the people who voted
on it (``core_answer_positions`` source ``votes``): ``support`` when the agree share among agree +
disagree votes has a Wilson 95% interval entirely above 0.5, ``oppose`` when entirely below, else
``unclear`` (too few votes or a split room). ``confidence`` is the majority share
(``max(share, 1 - share)``; 0 with no votes). Passes are excluded from the share (a pass is "no
opinion", not half a vote) but reported.

Theme support (``out_theme_support``) pools the votes of every statement in a theme: agree share =
Σ agrees / Σ (agrees + disagrees) with a Wilson interval. Caveat: the same participants vote on many
statements, so votes are not independent and the Wilson interval (which assumes they are) is too
narrow; ``n_statements`` is reported beside it so a theme resting on one or two statements is
visible.

The tallies (``core_statement_votes``) are written by the ingest stage from the raw export on every
run; this module reads them only from the processed folder (a declared input of the positions stage).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis import schemas
from analysis.config import ConsultationConfig
from analysis.counts.rules import wilson_interval
from analysis.tables import read_table


def load_statement_votes(cfg: ConsultationConfig, processed_dir: Path) -> pd.DataFrame | None:
    """``core_statement_votes`` from the processed folder when a source of ``cfg`` is Pol.is, else ``None``.

    Raises:
        FileNotFoundError: A source is Pol.is but the table is missing (run the ingest stage first).
    """
    if not any(s.format == "polis" for s in cfg.sources):
        return None
    return read_table("core_statement_votes", processed_dir)


def statement_positions(votes: pd.DataFrame, answers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Position of each statement from its votes (source ``votes``; see module docstring).

    Args:
        votes: ``core_statement_votes``.
        answers: If given, only statements present in it are kept (e.g. after redaction drops).

    Returns:
        Rows in ``core_answer_positions`` columns.
    """
    v = votes
    if answers is not None:
        keys = set(zip(answers["response_id"], answers["question_id"], strict=True))
        v = v[[k in keys for k in zip(v["response_id"], v["question_id"], strict=True)]]
    rows = []
    for r in v.itertuples(index=False):
        n = int(r.agrees) + int(r.disagrees)
        if n == 0:
            rows.append((r.response_id, r.question_id, "unclear", 0.0, "votes"))
            continue
        share = r.agrees / n
        lo, hi = wilson_interval(r.agrees, n)
        pos = "support" if lo > 0.5 else "oppose" if hi < 0.5 else "unclear"
        rows.append((r.response_id, r.question_id, pos, max(share, 1 - share), "votes"))
    return pd.DataFrame(rows, columns=["response_id", "question_id", "position", "confidence", "source"])


def theme_support(votes: pd.DataFrame, answer_themes: pd.DataFrame) -> pd.DataFrame:
    """Votes-weighted agree share per theme with a Wilson 95% interval (``out_theme_support``).

    Args:
        votes: ``core_statement_votes``.
        answer_themes: ``core_answer_themes`` (``response_id, question_id, theme_id``); statements
            without votes rows are ignored.

    Returns:
        A validated ``out_theme_support`` frame sorted by question and theme.
    """
    th = answer_themes[["response_id", "question_id", "theme_id"]].drop_duplicates()
    df = th.merge(votes, on=["response_id", "question_id"], how="inner")
    rows = []
    for (qid, tid), sub in df.groupby(["question_id", "theme_id"], sort=True):
        a, d = int(sub["agrees"].sum()), int(sub["disagrees"].sum())
        passes = pd.NA if sub["passes"].isna().any() else int(sub["passes"].sum())
        n = a + d
        lo, hi = wilson_interval(a, n)
        rows.append(dict(question_id=qid, theme_id=tid, n_statements=len(sub), agrees=a, disagrees=d,
                         passes=passes, agree_share=(a / n) if n else np.nan, ci_low=lo, ci_high=hi))
    out = pd.DataFrame(rows, columns=list(schemas.out_theme_support.columns))
    return schemas.validate(out, "out_theme_support")
