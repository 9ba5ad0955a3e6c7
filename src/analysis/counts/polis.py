"""Pol.is totals as ``out_counts`` rows: statements accepted and moderated out, votes cast, voters.

A Pol.is conversation's "We asked" facts are counts too, so they come from the counts stage like every
other published number. Three tables, each with one row set per question and one for all questions
(``question_id`` ``*``), group ``all``:

- ``polis_statements``: category ``accepted`` (statements with vote tallies, ``core_statement_votes``) and,
  for ``*`` only, ``moderated_out`` (rejected rows whose reason mentions moderation, ``core_rejects``);
  denominator: accepted + moderated out (``*``) or accepted (per question).
- ``polis_votes``: categories ``agree``, ``disagree`` and ``pass`` (votes cast); denominator: all votes
  cast. The ``pass`` row is absent when some tallies lack pass counts (the denominator then counts
  agree + disagree votes only).
- ``polis_voters``: category ``participants`` (rows of the participant matrix ``participants-votes.csv``
  as read by the ingest ledger; absent when it was not read), ``max_per_statement`` and
  ``median_per_statement`` (voters per statement; the median is rounded down to whole voters, as
  printed); denominator: the participants (0 when unknown, share then empty).

Statements and votes are not respondents: nothing is suppressed and there are no intervals (the same
people vote on many statements, so the votes are not independent draws). Rows are written identically
for both count modes: each statement counts once in either.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import schemas

POLIS_STATEMENTS_TABLE = "polis_statements"
POLIS_VOTES_TABLE = "polis_votes"
POLIS_VOTERS_TABLE = "polis_voters"
#: ``question_id`` of rows about no single question (the whole conversation; also the ``responses`` tables).
ALL_QUESTIONS = "*"
#: Ingest ledger entry of the Pol.is participant matrix (one row per participant).
PARTICIPANTS_FILE = "participants-votes.csv"


def moderated_out(rejects: pd.DataFrame | None) -> int:
    """Statements rejected by the Pol.is moderators (``core_rejects`` rows whose reason mentions moderation)."""
    if rejects is None or rejects.empty:
        return 0
    return int(rejects["reason"].astype(str).str.contains("moderated").sum())


def participants(ledger: pd.DataFrame | None) -> int | None:
    """Rows of the Pol.is participant matrix read by the ingest stage, or ``None`` when it was not read."""
    if ledger is None or ledger.empty:
        return None
    rows = ledger[(ledger["reader"] == "polis") & ledger["file"].astype(str).str.endswith(PARTICIPANTS_FILE)]
    return int(rows["rows_read"].sum()) if len(rows) else None


def _row(table: str, qid: str, category: str, n: int, denominator: int) -> dict:
    return dict(table=table, question_id=qid, group="all", category=category, n=n, denominator=denominator,
                share=(n / denominator) if denominator else np.nan, ci_low=np.nan, ci_high=np.nan,
                suppressed=False, evidence_ids=None, evidence_n=0)


def _scope_rows(qid: str, votes: pd.DataFrame, moderated: int | None, n_participants: int | None) -> list[dict]:
    """Rows of the three tables for one scope (one question, or every question with ``moderated``)."""
    accepted = len(votes)
    rows = [_row(POLIS_STATEMENTS_TABLE, qid, "accepted", accepted, accepted + (moderated or 0))]
    if moderated is not None:
        rows.append(_row(POLIS_STATEMENTS_TABLE, qid, "moderated_out", moderated, accepted + moderated))
    tallies = {"agree": int(votes["agrees"].sum()), "disagree": int(votes["disagrees"].sum())}
    if not votes["passes"].isna().any():
        tallies["pass"] = int(votes["passes"].sum())
    cast = sum(tallies.values())
    rows += [_row(POLIS_VOTES_TABLE, qid, cat, n, cast) for cat, n in tallies.items()]
    den = n_participants or 0
    if n_participants is not None:
        rows.append(_row(POLIS_VOTERS_TABLE, qid, "participants", n_participants, den))
    voters = votes["n_voters"].dropna()
    if len(voters):
        rows.append(_row(POLIS_VOTERS_TABLE, qid, "max_per_statement", int(voters.max()), den))
        rows.append(_row(POLIS_VOTERS_TABLE, qid, "median_per_statement", int(float(voters.median())), den))
    return rows


def polis_counts(votes: pd.DataFrame | None, rejects: pd.DataFrame | None, ledger: pd.DataFrame | None
                 ) -> pd.DataFrame:
    """``out_counts`` rows of the Pol.is tables (see the module docstring), both count modes.

    Args:
        votes: ``core_statement_votes`` (``None`` or empty: no rows).
        rejects: ``core_rejects`` (moderated-out statements), or ``None``.
        ledger: The ingest ledger (participants), or ``None``.

    Returns:
        A frame matching the ``out_counts`` schema, sorted by its key.
    """
    columns = list(schemas.out_counts.columns)
    if votes is None or votes.empty:
        return schemas.validate(pd.DataFrame(columns=columns), "out_counts")
    n_participants = participants(ledger)
    rows = _scope_rows(ALL_QUESTIONS, votes, moderated_out(rejects), n_participants)
    for qid, v in votes.groupby(votes["question_id"].astype(str), sort=True):
        rows += _scope_rows(str(qid), v, None, n_participants)
    one = pd.DataFrame(rows)
    out = pd.concat([one.assign(count_mode=mode) for mode in schemas.COUNT_MODES], ignore_index=True)
    out = schemas.validate(out[columns], "out_counts")
    return out.sort_values(["table", "question_id", "group", "category", "count_mode"], kind="mergesort"
                           ).reset_index(drop=True)
