"""Pol.is conversation reader (the open-data export of compdemocracy.org/polis).

A conversation folder holds ``comments.csv`` (``comment-id, author-id, agrees, disagrees, moderated,
comment-body``; ``timestamp`` optional), optionally ``votes.csv`` (``voter-id, comment-id, vote``
with 1 agree / -1 disagree / 0 pass) and ``participants-votes.csv`` (one row per participant, one
column per comment id, cells 1 / -1 / 0 / blank).

Mapping onto the canonical tables:

* Every statement whose ``moderated`` is not -1 becomes one response ``polis:<comment-id>`` answering
  one open question (``statements`` by default); moderated-out statements (``moderated == -1``)
  become rejects with reason ``moderated out`` and their text kept. ``moderated == 0`` (not
  reviewed) is accepted, as Pol.is itself shows those statements.
* Votes become per-statement tallies in ``core_statement_votes``: from ``votes.csv`` when present
  (latest vote per voter and statement, as Pol.is counts them), else from ``participants-votes.csv``
  (the same latest-vote matrix), else from the comments' own ``agrees`` / ``disagrees`` columns
  (passes and voter counts then unknown). ``votes_source`` says which. The ingest stage writes them
  from the raw export on every run (:func:`source_rows` carries them in :class:`PolisRows`), so a
  changed export always reaches the positions stage, which reads them only from the processed folder.
* A statement is not a respondent: ``respondent_type`` is ``unknown``, ``channel`` ``online_survey``,
  ``consent`` ``publish_anonymous`` (the statements are published openly by the platform, without
  authors; a source's ``consent_default`` overrides it), no PII columns.
  ``language`` is ``und``: language detection is the ingest stage's job.
* Row numbers are 1-based record numbers with the header as row 1 (a statement containing a line
  break still counts as one row).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import schemas
from analysis.config import ConsultationConfig, SourceConfig
from analysis.errors import ConfigError, InputError
from analysis.hashing import sha256_file
from analysis.ingest.build import AnswerRows, SourceRows
from analysis.ingest.response_rows import ResponseRows
from analysis.ingest.tabular import SYMLINK_ERROR, reject, symlink_rows

log = logging.getLogger(__name__)

READER = "polis"
COMMENT_COLUMNS = ("comment-id", "moderated", "comment-body")
#: Optional files of a conversation folder: a symbolic link in their place is listed as a reject, never read.
OPTIONAL_FILES = ("votes.csv", "participants-votes.csv", "summary.csv")


def _regular(path: Path) -> bool:
    """Whether ``path`` is a file that may be read (a symbolic link never is)."""
    return path.is_file() and not path.is_symlink()



def _read_csv(path: Path, label: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError) as err:
        raise InputError(label, f"cannot read as UTF-8 CSV: {err}") from None


def _int_or_none(value: str) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def read_polis(
    folder: str | Path,
    *,
    question_id: str = "statements",
    question_text: str | None = None,
    file_label: str | None = None,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Read one Pol.is conversation folder.

    Args:
        folder: The conversation folder.
        question_id: Id of the open question the statements answer.
        question_text: Its text (default: the ``topic`` of ``summary.csv``, else a generic text).
        file_label: Prefix for file names in the ledger and rejects (default: the folder name).

    Returns:
        ``(tables, rejects)``: tables ``core_questions``, ``core_responses``, ``core_answers``,
        ``core_statement_votes`` and ``ledger`` (validated), and ``core_rejects`` rows.

    Raises:
        InputError: The folder or ``comments.csv`` is missing, or a required column is absent.
    """
    folder = Path(folder)
    prefix = file_label or folder.name
    cpath = folder / "comments.csv"
    clabel = f"{prefix}/comments.csv"
    if cpath.is_symlink():
        raise InputError(clabel, SYMLINK_ERROR)
    if not cpath.exists():
        raise InputError(str(folder), "not a Pol.is conversation folder: comments.csv is missing")
    com = _read_csv(cpath, clabel)
    for col in COMMENT_COLUMNS:
        if col not in com.columns:
            raise InputError(clabel, f"missing required column {col!r}", column=col)
    rejects: list[dict] = []
    kept = []
    seen: set[int] = set()
    for i, r in enumerate(com.to_dict("records"), start=2):
        body = str(r.get("comment-body", "")).strip()
        cid = _int_or_none(r["comment-id"])
        mod = _int_or_none(r["moderated"])
        if cid is None:
            rejects.append(reject(clabel, i, "comment-id", "comment-id is not a number", body or None))
        elif cid in seen:
            rejects.append(reject(clabel, i, "comment-id", f"duplicate comment-id {cid}", body or None))
        elif mod not in (-1, 0, 1):
            rejects.append(reject(clabel, i, "moderated", f"moderated value {r['moderated']!r} is not -1, 0 or 1",
                                   body or None))
        elif mod == -1:
            rejects.append(reject(clabel, i, "moderated", "moderated out", body or None))
        elif not body:
            rejects.append(reject(clabel, i, "comment-body", "empty statement", None))
        else:
            seen.add(cid)
            ts = _int_or_none(r.get("timestamp", ""))
            kept.append(dict(cid=cid, row=i, body=body, ts=ts, agrees=_int_or_none(r.get("agrees", "")),
                             disagrees=_int_or_none(r.get("disagrees", ""))))
        if cid is not None:
            seen.add(cid)
    ledger = [dict(file=clabel, reader=READER, rows_read=len(com), rows_kept=len(kept),
                   rows_rejected=len(com) - len(kept), sha256=sha256_file(cpath))]
    k = pd.DataFrame(kept, columns=["cid", "row", "body", "ts", "agrees", "disagrees"])
    rid = "polis:" + k["cid"].astype(str)
    text = question_text or _topic(folder) or "Statements submitted to the Pol.is conversation"
    questions = pd.DataFrame([dict(question_id=question_id, text=text, kind="open", choices="{}", order=0)])
    submitted = pd.to_datetime(k["ts"].astype("float"), unit="ms", errors="coerce")
    responses = pd.DataFrame(dict(
        response_id=rid, source_file=clabel, source_row=k["row"], channel="online_survey",
        submitted_at=submitted.astype("datetime64[ns]"), respondent_type="unknown", sector=None,
        organisation=None, consent="publish_anonymous", respondent_name=None, respondent_email=None,
    ))
    answers = pd.DataFrame(dict(response_id=rid, question_id=question_id, answer=k["body"], language="und"))
    votes, vledger, vrejects = _votes(folder, prefix, k, question_id)
    ledger += vledger
    rejects += vrejects
    for name in OPTIONAL_FILES:  # a link in place of an optional file: listed, never read (see _regular)
        if (folder / name).is_symlink():
            link_ledger, link_reject = symlink_rows(f"{prefix}/{name}", READER)
            ledger.append(link_ledger)
            rejects.append(link_reject)
    tables = {
        "core_questions": schemas.validate(questions, "core_questions"),
        "core_responses": schemas.validate(responses, "core_responses"),
        "core_answers": schemas.validate(answers, "core_answers"),
        "core_statement_votes": schemas.validate(votes, "core_statement_votes"),
        "ledger": schemas.validate(pd.DataFrame(ledger), "ledger"),
    }
    rej = pd.DataFrame(rejects, columns=["file", "row", "column", "reason", "raw"])
    log.info("polis %s: %d statements kept, %d rejected, votes from %s", prefix, len(k), len(rej),
             votes["votes_source"].iloc[0] if len(votes) else "-")
    return tables, schemas.validate(rej, "core_rejects")


def _topic(folder: Path) -> str | None:
    p = folder / "summary.csv"
    if not _regular(p):
        return None
    for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
        key, _, val = line.partition(",")
        if key.strip() == "topic" and val.strip():
            return val.strip().strip('"')
    return None


def _votes(folder: Path, prefix: str, kept: pd.DataFrame, qid: str) -> tuple[pd.DataFrame, list[dict], list[dict]]:
    """Per-statement tallies from the best vote source available (see module docstring)."""
    ids = kept["cid"].to_numpy()
    vpath, ppath = folder / "votes.csv", folder / "participants-votes.csv"
    ledger, rejects = [], []
    if _regular(vpath):
        label = f"{prefix}/votes.csv"
        v = _read_csv(vpath, label)
        for col in ("voter-id", "comment-id", "vote"):
            if col not in v.columns:
                raise InputError(label, f"missing required column {col!r}", column=col)
        v["row"] = np.arange(2, len(v) + 2)
        v["cid"] = pd.to_numeric(v["comment-id"], errors="coerce")
        v["val"] = pd.to_numeric(v["vote"], errors="coerce")
        bad = v["val"].isna() | ~v["val"].isin([-1, 0, 1]) | v["cid"].isna() | (v["voter-id"].str.strip() == "")
        for r in v[bad].itertuples(index=False):
            rejects.append(reject(label, int(r.row), "vote", "vote is not 1, -1 or 0 (or ids missing)",
                                   f"voter {r[v.columns.get_loc('voter-id')]}, comment {r[v.columns.get_loc('comment-id')]}, vote {r.vote}"))
        ok = v[~bad].copy()
        if "timestamp" in ok.columns:
            ok["ts"] = pd.to_numeric(ok["timestamp"], errors="coerce")
            ok = ok.sort_values(["ts", "row"], kind="mergesort")
        latest = ok.drop_duplicates(["voter-id", "cid"], keep="last")
        latest = latest[latest["cid"].isin(ids)]
        g = latest.groupby("cid")["val"]
        a, d, p = (g.apply(lambda s, x=x: int((s == x).sum())) for x in (1, -1, 0))
        ledger.append(dict(file=label, reader=READER, rows_read=len(v), rows_kept=int((~bad).sum()),
                           rows_rejected=int(bad.sum()), sha256=sha256_file(vpath)))
        src = "votes.csv"
    elif _regular(ppath):
        label = f"{prefix}/participants-votes.csv"
        pv = _read_csv(ppath, label)
        cols = [c for c in pv.columns if c.strip().lstrip("-").isdigit()]
        mat = pv[cols].apply(pd.to_numeric, errors="coerce")
        mat.columns = [int(c) for c in cols]
        a, d, p = ((mat == x).sum() for x in (1, -1, 0))
        ledger.append(dict(file=label, reader=READER, rows_read=len(pv), rows_kept=len(pv), rows_rejected=0,
                           sha256=sha256_file(ppath)))
        src = "participants-votes.csv"
    else:
        a = pd.Series(kept["agrees"].to_numpy(), index=ids)
        d = pd.Series(kept["disagrees"].to_numpy(), index=ids)
        p = None
        src = "comments.csv"
    out = pd.DataFrame({"response_id": "polis:" + kept["cid"].astype(str), "question_id": qid})
    out["agrees"] = pd.Series(a).reindex(ids).fillna(0).astype(int).to_numpy()
    out["disagrees"] = pd.Series(d).reindex(ids).fillna(0).astype(int).to_numpy()
    if p is None:
        out["passes"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out["n_voters"] = pd.array([pd.NA] * len(out), dtype="Int64")
    else:
        out["passes"] = pd.Series(p).reindex(ids).fillna(0).astype(int).to_numpy()
        out["n_voters"] = out["agrees"] + out["disagrees"] + out["passes"]
    out["votes_source"] = src
    return out, ledger, rejects


def polis_question_id(cfg: ConsultationConfig, source: SourceConfig) -> str:
    """The open question a ``format: polis`` source's statements answer.

    The source's ``question_id``, else the config's only open question.

    Raises:
        ConfigError: The source names no question and the config has no open question or several.
    """
    if source.question_id:
        return source.question_id
    if len(cfg.open_questions) == 1:
        return cfg.open_questions[0].id
    raise ConfigError(f"{Path(source.file).as_posix()}: a 'polis' source needs question_id (the open question "
                      f"the statements answer; the config has {len(cfg.open_questions)} open questions)")


@dataclass
class PolisRows(SourceRows):
    """The ingest rows of one conversation plus its per-statement tallies (``core_statement_votes`` rows)."""

    statement_votes: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(schemas.core_statement_votes.columns)))


def source_rows(cfg: ConsultationConfig, source: SourceConfig, path: Path, label: str) -> PolisRows:
    """Adapter for the ingest stage: one ``format: polis`` source as :class:`PolisRows`.

    The statement tallies travel beside the rows (``statement_votes``); the ingest stage writes them as
    ``core_statement_votes``.

    Raises:
        ConfigError: No question to attach the statements to (:func:`polis_question_id`).
        InputError: The folder is not a Pol.is conversation.
    """
    tables, rejects = read_polis(path, question_id=polis_question_id(cfg, source), file_label=label)
    res = PolisRows(statement_votes=tables["core_statement_votes"])
    responses = tables["core_responses"].astype(object).where(tables["core_responses"].notna(), None).to_dict("records")
    for r in responses:
        r["submitted_at"] = pd.NaT if r["submitted_at"] is None else pd.Timestamp(r["submitted_at"])
        r["consent"] = source.consent_default or r["consent"]
    res.responses = ResponseRows(responses)
    res.answers = AnswerRows(tables["core_answers"][["response_id", "question_id", "answer"]].to_dict("records"))
    res.ledger = tables["ledger"].to_dict("records")
    res.rejects = rejects.astype(object).where(rejects.notna(), None).to_dict("records")
    return res
