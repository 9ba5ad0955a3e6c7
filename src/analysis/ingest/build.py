"""Pure core of ingest: read files (:class:`RawTable`, :class:`Document`) -> canonical rows.

Nothing here touches the disk. :func:`table_rows` turns one tabular source into response, answer,
analyst-tag, reject and ledger rows; :func:`document_rows` does the same for a folder source. Choice
labels that are not in the config are *collected* (file, column, label, first rows) so one
:class:`ConfigError` can list them all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.config import ConsultationConfig, QuestionConfig, SourceConfig
from analysis.errors import ConfigError
from analysis.ingest.dates import parse_datetimes
from analysis.ingest.documents import Document
from analysis.ingest.platforms import ANONYMOUS_VALUES, DEFAULT_ROLES
from analysis.ingest.tabular import RawTable, reject
from analysis.ingest.text import norm_key

logger = logging.getLogger(__name__)

WARNING_PREFIX = "warning (response kept): "
_TAG_SPLIT = re.compile(r"[;,\n]+")
_ROLE_FIELDS = ["id_column", "submitted_at_column", "respondent_type_column", "sector_column",
                "organisation_column", "consent_column", "name_column", "email_column"]


@dataclass
class SourceRows:
    """Rows one source contributes to the ingest tables (lists of dicts, in file order)."""

    responses: list[dict] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)
    tags: list[dict] = field(default_factory=list)
    rejects: list[dict] = field(default_factory=list)
    ledger: list[dict] = field(default_factory=list)
    #: (file, column, question id) -> unmapped label -> row numbers
    unmapped: dict[tuple[str, str, str], dict[str, list[int]]] = field(default_factory=dict)


@dataclass
class Profile:
    """Format-specific behaviour of a tabular source beyond its header layout.

    Attributes:
        consent_default: ``publish_consent`` when the config names no consent column.
        organisation_means_type: Without a respondent-type column, a non-empty organisation makes the
            respondent an organisation and an empty one an individual (regulations.gov).
        name_columns: Columns joined (space) into the respondent name when ``name_column`` is unset.
        row_filter: ``(table, cells, column index) -> reason or None``: rows to reject up front.
    """

    consent_default: bool = False
    organisation_means_type: bool = False
    name_columns: tuple[str, ...] = ()
    row_filter: Callable[[RawTable, list[str]], str | None] | None = None


def questions_table(cfg: ConsultationConfig) -> pd.DataFrame:
    """``core_questions`` from the config (choices as a sorted-key JSON object, order = index)."""
    rows = [
        {"question_id": q.id, "text": q.text, "kind": q.kind,
         "choices": json.dumps(q.choices, sort_keys=True, ensure_ascii=False), "order": i}
        for i, q in enumerate(cfg.questions)
    ]
    return pd.DataFrame(rows, columns=["question_id", "text", "kind", "choices", "order"])


class ChoiceMatcher:
    """Maps answer cells of one closed question onto its configured choice labels.

    Matching is exact after normalisation (case, whitespace, curly quotes). Multi-select cells are
    split on the question's separator. With an ``other_choice``, unmatched text is kept as
    ``"<other label>: <text>"``; without one it is reported as unmapped.
    """

    def __init__(self, question: QuestionConfig):
        self.q = question
        self.by_key = {norm_key(label): label for label in question.choices}
        self.order = {label: i for i, label in enumerate(question.choices)}
        self.other_key = norm_key(question.other_choice) if question.other_choice else None

    def _other_text(self, token: str) -> str:
        if self.other_key and norm_key(token).startswith(self.other_key):
            return token.strip()[len(self.q.other_choice or ""):].lstrip(" :-–—").strip()
        return token.strip()

    def match(self, cells: list[str]) -> tuple[str | None, list[str]]:
        """Return ``(answer or None, unmapped labels)`` for the non-empty cells of one response."""
        sep = self.q.choice_separator
        whole = sep.join(cells)
        if norm_key(whole) in self.by_key:
            return self.by_key[norm_key(whole)], []
        tokens: list[str] = []
        for c in cells:
            if norm_key(c) in self.by_key or not (self.q.multi_select or len(cells) > 1):
                tokens.append(c)
            else:
                tokens.extend(t for t in c.split(sep) if t.strip())
        labels: set[str] = set()
        other: list[str] = []
        unmapped: list[str] = []
        for t in tokens:
            label = self.by_key.get(norm_key(t))
            if label is not None and label != self.q.other_choice:
                labels.add(label)
            elif self.q.other_choice is not None:
                text = self._other_text(t)
                if text:
                    other.append(text)
                elif label is not None or norm_key(t) == self.other_key:
                    other.append("")
            else:
                unmapped.append(t.strip())
        if unmapped:
            return None, unmapped
        parts = sorted(labels, key=self.order.__getitem__)
        if other:
            free = " ".join(o for o in other if o)
            parts.append(f"{self.q.other_choice}: {free}" if free else str(self.q.other_choice))
        return (sep.join(parts) if parts else None), []


def _short_hash(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:12]


def resolve_roles(source: SourceConfig, table: RawTable) -> dict[str, list[int] | None]:
    """Column indices of every configured (or platform-default) role, question and tag column.

    Raises:
        ConfigError: Listing every configured column absent from the file (with close matches).
    """
    import difflib  # noqa: PLC0415

    out: dict[str, list[int] | None] = {}
    missing: list[str] = []
    for role in _ROLE_FIELDS:
        name = getattr(source, role)
        if name:
            out[role] = table.lookup(name)
            if out[role] is None:
                missing.append(f"{role} {name!r}")
        else:
            out[role] = None
            for cand in DEFAULT_ROLES.get(source.format, {}).get(role, []):
                hit = table.lookup(cand)
                if hit:
                    out[role] = hit
                    break
    for qid, name in source.columns.items():
        out[f"q:{qid}"] = table.lookup(name)
        if out[f"q:{qid}"] is None:
            missing.append(f"column {name!r} (question {qid})")
    for col in source.analyst_tag_columns:
        out[f"tag:{col}"] = table.lookup(col)
        if out[f"tag:{col}"] is None:
            missing.append(f"analyst tag column {col!r}")
    if missing:
        hints = []
        for m in missing:
            name = m.split("'")[1] if "'" in m else m
            close = difflib.get_close_matches(name, table.columns, n=1, cutoff=0.6)
            hints.append(f"  - {m}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ConfigError(f"{table.file}: {len(missing)} configured column(s) not in the file:\n" + "\n".join(hints)
                          + f"\n  columns in the file: {table.columns}")
    return out


def _cells(row: list[str], idx: list[int] | None) -> list[str]:
    return [row[i].strip() for i in idx if row[i].strip()] if idx else []


def _value(row: list[str], idx: list[int] | None) -> str | None:
    vals = _cells(row, idx)
    return " ".join(vals) if vals else None


def _person(value: str | None) -> str | None:
    return None if value is None or value.strip().lower() in ANONYMOUS_VALUES else value


def table_rows(cfg: ConsultationConfig, source: SourceConfig, table: RawTable, profile: Profile | None = None) -> SourceRows:
    """Canonical rows from one tabular source.

    Args:
        cfg: The consultation config.
        source: The source entry (its ``columns`` name the question columns).
        table: The file, read.
        profile: Format-specific behaviour (default: none).

    Returns:
        The source's rows; ``unmapped`` holds closed-answer labels not in the config.

    Raises:
        ConfigError: A configured column is missing.
    """
    profile = profile or Profile()
    res = SourceRows(rejects=list(table.rejects))
    roles = resolve_roles(source, table)
    columns = dict(source.columns)
    if not columns and source.question_id:
        raise ConfigError(f"{table.file}: source has question_id {source.question_id!r} but no 'columns' mapping naming the text column")
    name_idx = roles["name_column"]
    if name_idx is None and profile.name_columns:
        idx = [table.lookup(c) for c in profile.name_columns]
        name_idx = [i[0] for i in idx if i] or None
    matchers = {qid: ChoiceMatcher(cfg.question(qid)) for qid in columns if cfg.question(qid).kind == "closed"}
    type_map = {norm_key(k): v for k, v in source.respondent_type_map.items()}
    consent_yes = {norm_key(v) for v in source.consent_yes}
    stem = Path(table.file).stem
    seen_ids: dict[str, int] = {}
    hash_counts: Counter[str] = Counter()
    unmapped_types: Counter[str] = Counter()
    kept: list[tuple[int, list[str], str]] = []
    for row_no, row in table.rows:
        if profile.row_filter is not None:
            reason = profile.row_filter(table, row)
            if reason:
                res.rejects.append(reject(table.file, row_no, None, reason, table.raw_line(row)))
                continue
        answers: list[dict] = []
        for qid, _col in columns.items():
            cells = _cells(row, roles[f"q:{qid}"])
            if not cells:
                continue
            if qid in matchers:
                answer, bad = matchers[qid].match(cells)
                for label in bad:
                    res.unmapped.setdefault((table.file, columns[qid], qid), {}).setdefault(label, []).append(row_no)
                if answer is None:
                    continue
            else:
                answer = "\n".join(cells)
            answers.append({"question_id": qid, "answer": answer})
        if not answers:
            res.rejects.append(reject(table.file, row_no, None, "no answer to any configured question", table.raw_line(row)))
            continue
        if roles["id_column"]:
            pid = _value(row, roles["id_column"])
            if pid is None:
                res.rejects.append(reject(table.file, row_no, source.id_column or table.columns[roles["id_column"][0]], "empty response id", table.raw_line(row)))
                continue
            rid = f"{stem}:{pid}"
            if rid in seen_ids:
                res.rejects.append(reject(table.file, row_no, table.columns[roles["id_column"][0]], f"duplicate response id {pid!r} (first seen at row {seen_ids[rid]})", table.raw_line(row)))
                continue
            seen_ids[rid] = row_no
        else:
            base = f"{stem}:{_short_hash(Path(table.file).name, *row)}"
            hash_counts[base] += 1
            rid = base if hash_counts[base] == 1 else f"{base}-{hash_counts[base]}"
        organisation = _value(row, roles["organisation_column"])
        rtype = "unknown"
        if roles["respondent_type_column"]:
            raw_type = _value(row, roles["respondent_type_column"])
            if raw_type is not None:
                rtype = type_map.get(norm_key(raw_type), "unknown")
                if norm_key(raw_type) not in type_map:
                    unmapped_types[raw_type] += 1
        elif profile.organisation_means_type:
            rtype = "organisation" if organisation else "individual"
        consent_val = _value(row, roles["consent_column"])
        consent = (norm_key(consent_val) in consent_yes) if roles["consent_column"] else profile.consent_default
        res.responses.append({
            "response_id": rid, "source_file": table.file, "source_row": row_no, "channel": source.channel,
            "submitted_at": _value(row, roles["submitted_at_column"]), "respondent_type": rtype,
            "sector": _value(row, roles["sector_column"]), "organisation": organisation,
            "publish_consent": bool(consent), "respondent_name": _person(_value(row, name_idx)),
            "respondent_email": _person(_value(row, roles["email_column"])),
        })
        for a in answers:
            res.answers.append({"response_id": rid, **a})
        for col, qid in source.analyst_tag_columns.items():
            for cell in _cells(row, roles[f"tag:{col}"]):
                for tag in dict.fromkeys(t.strip() for t in _TAG_SPLIT.split(cell)):
                    if tag:
                        res.tags.append({"response_id": rid, "question_id": qid, "tag": tag, "source_column": col})
        kept.append((row_no, row, rid))
    for value, n in sorted(unmapped_types.items()):
        logger.warning("%s: respondent type %r (%d rows) is not in respondent_type_map: counted as 'unknown'", table.file, value, n)
    _parse_submitted(res, table, roles)
    res.ledger.append({"file": table.file, "reader": table.reader, "rows_read": table.rows_read,
                       "rows_kept": len(res.responses), "rows_rejected": table.rows_read - len(res.responses),
                       "sha256": table.sha256})
    return res


def _parse_submitted(res: SourceRows, table: RawTable, roles: dict) -> None:
    raw = [r["submitted_at"] for r in res.responses]
    parsed = parse_datetimes(raw)
    col = table.columns[roles["submitted_at_column"][0]] if roles["submitted_at_column"] else None
    for r, v, p in zip(res.responses, raw, list(parsed.array), strict=True):
        r["submitted_at"] = p
        if v is not None and pd.isna(p):
            res.rejects.append(reject(table.file, r["source_row"], col,
                                      f"{WARNING_PREFIX}unparseable date {v!r}: submitted_at left empty", v))


def document_rows(source: SourceConfig, label: str, docs: list[Document]) -> SourceRows:
    """Canonical rows from a folder source (one response per readable document).

    Args:
        source: The source entry (``question_id`` names the open question every text answers).
        label: The folder's path relative to the raw folder.
        docs: The folder's documents, read.
    """
    if not source.question_id:
        raise ConfigError(f"{label}: a 'folder' source needs question_id (the question each document answers)")
    res = SourceRows()
    folder = Path(label).name
    channel_set = "channel" in source.model_fields_set
    for d in docs:
        kept = d.text is not None
        res.ledger.append({"file": d.file, "reader": "folder", "rows_read": 1, "rows_kept": int(kept),
                           "rows_rejected": int(not kept), "sha256": d.sha256})
        if not kept:
            res.rejects.append(reject(d.file, 1, None, d.reason or "unreadable document", d.raw))
            continue
        # file names of emailed submissions often carry the sender's name ("Submission from Jane Smith.eml"):
        # the id is a stable hash of the file's path in the folder; source_file keeps the name (never published)
        rid = f"{folder}:{hashlib.sha256(d.name.encode('utf-8')).hexdigest()[:12]}"
        channel = source.channel if channel_set else ("email" if d.name.lower().endswith(".eml") else "document")
        submitted = pd.Timestamp(d.submitted_at) if d.submitted_at is not None else pd.NaT
        if submitted is not pd.NaT and submitted.tzinfo is not None:
            submitted = submitted.tz_convert("UTC").tz_localize(None)
        res.responses.append({
            "response_id": rid, "source_file": d.file, "source_row": 1, "channel": channel, "submitted_at": submitted,
            "respondent_type": "unknown", "sector": None, "organisation": None, "publish_consent": False,
            "respondent_name": d.respondent_name, "respondent_email": d.respondent_email,
        })
        res.answers.append({"response_id": rid, "question_id": source.question_id, "answer": d.text})
        for w in d.warnings:
            res.rejects.append(reject(d.file, 1, None, WARNING_PREFIX + w, None))
    return res


def unmapped_error(unmapped: dict[tuple[str, str, str], dict[str, list[int]]], limit: int = 5) -> ConfigError:
    """One :class:`ConfigError` listing every unmapped choice label with the first rows it occurs in."""
    lines = ["closed answers with labels not in the question's choices (add them to 'choices', or set other_choice):"]
    for (file, column, qid), labels in sorted(unmapped.items()):
        lines.append(f"  {file}, column {column!r} (question {qid}):")
        for label, rows in sorted(labels.items()):
            more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
            lines.append(f"    - {label!r}: rows {', '.join(map(str, rows[:limit]))}{more}")
    return ConfigError("\n".join(lines))


def merge(results: list[SourceRows]) -> SourceRows:
    """Concatenate several sources' rows (unmapped labels merged)."""
    out = SourceRows()
    for r in results:
        out.responses += r.responses
        out.answers += r.answers
        out.tags += r.tags
        out.rejects += r.rejects
        out.ledger += r.ledger
        for k, v in r.unmapped.items():
            for label, rows in v.items():
                out.unmapped.setdefault(k, defaultdict(list))[label].extend(rows)
    return out
