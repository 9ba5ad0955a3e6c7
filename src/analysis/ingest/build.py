"""Pure core of ingest: read files (:class:`RawTable`, :class:`Document`) -> canonical rows.

Nothing here touches the disk. :func:`table_rows` turns one tabular source into response, answer,
analyst-tag, reject and ledger rows; :func:`document_rows` does the same for a folder source. Choice
labels that are not in the config are *collected* (file, column, label, first rows) so one
:class:`ConfigError` can list them all.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import heapq
import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.config import Consent, ConsultationConfig, QuestionConfig, SourceConfig
from analysis.errors import ConfigError
from analysis.ingest.dates import parse_datetimes
from analysis.ingest.documents import Document
from analysis.ingest.flags import POINTER, attachment_flags, is_total_row, points_to_attachment
from analysis.ingest.language import language_code
from analysis.ingest.platforms import ANONYMOUS_VALUES
from analysis.ingest.response_rows import ResponseRows
from analysis.ingest.tabular import HeaderBuilder, RawTable, read_table, reject
from analysis.ingest.text import norm_key

logger = logging.getLogger(__name__)

WARNING_PREFIX = "warning (response kept): "
_TAG_SPLIT = re.compile(r"[;,\n]+")
#: Answers a tabular reader collects as Python objects before turning them into an Arrow block.
ANSWER_BLOCK = 1 << 16
_ROLE_FIELDS = ["id_column", "submitted_at_column", "respondent_type_column", "sector_column", "country_column",
                "organisation_column", "consent_column", "name_column", "email_column", "language_column",
                "attachment_column"]


#: Called with each block of answers :meth:`AnswerRows.flush` makes (see :func:`block_listener`).
_BLOCK_LISTENER: contextvars.ContextVar[Callable[[pa.Table], None] | None] = contextvars.ContextVar(
    "block_listener", default=None)


@contextlib.contextmanager
def block_listener(listener: Callable[[pa.Table], None] | None) -> Iterator[None]:
    """Within the block, every Arrow block of answers :meth:`AnswerRows.flush` makes is also given to ``listener``
    (the stage's language prefetch sees the answers while the file is still being read)."""
    token = _BLOCK_LISTENER.set(listener)
    try:
        yield
    finally:
        _BLOCK_LISTENER.reset(token)


class AnswerRows:
    """``core_answers`` rows kept as four columns, in file order: Arrow blocks, then the rows added since.

    A million responses give several million answers: one dict per answer cost ~230 bytes, a Python string per
    text ~50 bytes besides its characters. Rows are added to four lists (32 bytes a row); :meth:`flush` turns the
    lists into an Arrow block (the texts' characters and 8-byte offsets), so a reader that flushes every few
    thousand rows (:func:`table_rows`) never holds its answers as Python objects. :meth:`table` gives every row as
    one Arrow table. Reads like the list of dicts it once replaced (``len``, iteration and ``+=`` of dicts), so
    readers that build their answers as dicts (documents, Pol.is) still can; the column attributes
    (``response_id``, ``answer``, ...) give and take whole columns as lists (blocks are turned back into lists
    first: for tests and small sources).
    """

    COLUMNS = ("response_id", "question_id", "answer", "language")

    def __init__(self, rows: Iterable[Mapping[str, Any]] = ()) -> None:
        self._lists: dict[str, list] = {c: [] for c in self.COLUMNS}
        self._blocks: list[pa.Table] = []
        self._n_blocks = 0
        self += rows

    # the columns as lists (blocks turned back into lists first)
    def _column(self, name: str) -> list:
        self._unblock()
        return self._lists[name]

    def _set_column(self, name: str, values: list) -> None:
        self._unblock()
        self._lists[name] = values

    response_id = property(lambda self: self._column("response_id"),
                           lambda self, v: self._set_column("response_id", v), doc="Response ids (a list).")
    question_id = property(lambda self: self._column("question_id"),
                           lambda self, v: self._set_column("question_id", v), doc="Question ids (a list).")
    answer = property(lambda self: self._column("answer"),
                      lambda self, v: self._set_column("answer", v), doc="Answers (a list).")
    language = property(lambda self: self._column("language"),
                        lambda self, v: self._set_column("language", v), doc="Declared languages or None (a list).")

    def _unblock(self) -> None:
        if self._blocks:
            whole = pa.concat_tables(self._blocks)
            self._lists = {c: whole.column(c).to_pylist() + self._lists[c] for c in self.COLUMNS}
            self._blocks, self._n_blocks = [], 0

    def add(self, response_id: str, question_id: str, answer: str, language: str | None) -> None:
        """Append one answer."""
        lists = self._lists
        lists["response_id"].append(response_id)
        lists["question_id"].append(question_id)
        lists["answer"].append(answer)
        lists["language"].append(language)

    def appenders(self) -> tuple[Callable[[Any], None], ...]:
        """The ``append`` of each column's list of pending rows (a reader's fast :meth:`add`; valid until the next
        :meth:`flush` or a column is set)."""
        return tuple(self._lists[c].append for c in self.COLUMNS)

    def pending(self) -> int:
        """Rows added since the last :meth:`flush`."""
        return len(self._lists["response_id"])

    def flush(self) -> None:
        """Turn the rows added since the last flush into an Arrow block (their Python strings can go)."""
        if not self._lists["response_id"]:
            return
        self._blocks.append(_arrow_block(self._lists))
        self._n_blocks += self._blocks[-1].num_rows
        self._lists = {c: [] for c in self.COLUMNS}
        listener = _BLOCK_LISTENER.get()
        if listener is not None:
            listener(self._blocks[-1])

    def table(self, consume: bool = False) -> pa.Table:
        """Every row as one Arrow table (``large_string`` columns, ``language`` null when absent); flushes.

        Args:
            consume: Empty the rows (the table is then the only holder of the blocks, which can go with it).
        """
        self.flush()
        whole = pa.concat_tables(self._blocks) if self._blocks else _arrow_block(self._lists)
        if consume:
            self._blocks, self._n_blocks = [], 0
        return whole

    @classmethod
    def from_columns(cls, response_id: list[str], question_id: list[str], answer: list[str],
                     language: list[str | None]) -> AnswerRows:
        """Rows holding the four lists given (used as they are, not copied)."""
        rows = cls()
        rows._lists = dict(zip(cls.COLUMNS, (response_id, question_id, answer, language), strict=True))
        return rows

    def append(self, row: Mapping[str, Any]) -> None:
        """Append one answer given as a dict (``language`` may be absent: ``None``)."""
        self.add(row["response_id"], row["question_id"], row["answer"], row.get("language"))

    def __iadd__(self, rows: Iterable[Mapping[str, Any]]) -> AnswerRows:
        if isinstance(rows, AnswerRows):
            if rows._blocks:
                self.flush()
                self._blocks += rows._blocks
                self._n_blocks += rows._n_blocks
            for name in self.COLUMNS:
                self._lists[name].extend(rows._lists[name])
        else:
            for row in rows:
                self.append(row)
        return self

    def __len__(self) -> int:
        return self._n_blocks + self.pending()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for block in self._blocks:
            yield from block.to_pylist()
        lists = self._lists
        for values in zip(*(lists[c] for c in self.COLUMNS), strict=True):
            yield dict(zip(self.COLUMNS, values, strict=True))

    def frame(self, columns: Sequence[str], language: list[str | None] | None = None) -> pd.DataFrame:
        """The rows as a DataFrame with ``columns`` (each one of :attr:`COLUMNS`), as ``DataFrame(list of dicts)``
        gives them; ``language``, when given, replaces the rows' own language column."""
        if not len(self):
            return pd.DataFrame([], columns=list(columns))
        values = {c: self._column(c) for c in columns}
        if language is not None:
            values["language"] = language
        return pd.DataFrame(values, columns=list(columns))


def _arrow_block(lists: Mapping[str, list]) -> pa.Table:
    """The four answer lists as an Arrow table (a declared language that is not a string, NaN included: null)."""
    return pa.table({c: pa.array(lists[c], type=pa.large_string(), from_pandas=c == "language")
                     for c in AnswerRows.COLUMNS})


@dataclass
class SourceRows:
    """Rows one source contributes to the ingest tables (responses as frame blocks, answers as columns, the rest lists of
    dicts; in file order)."""

    responses: ResponseRows = field(default_factory=ResponseRows)
    answers: AnswerRows = field(default_factory=AnswerRows)
    tags: list[dict] = field(default_factory=list)
    rejects: list[dict] = field(default_factory=list)
    ledger: list[dict] = field(default_factory=list)
    #: (file, column, question id) -> unmapped label -> row numbers
    unmapped: dict[tuple[str, str, str], dict[str, list[int]]] = field(default_factory=dict)


@dataclass
class Profile:
    """Format-specific behaviour of a tabular source beyond its header layout.

    Attributes:
        consent_default: ``consent`` of responses without a consent record when the source config sets no
            ``consent_default`` (see :class:`ConsentReader`).
        organisation_means_type: Without a respondent-type column, a non-empty organisation makes the
            respondent an organisation and an empty one an individual (regulations.gov).
        name_columns: Columns joined (space) into the respondent name when ``name_column`` is unset.
        row_filter: ``(table, cells, column index) -> reason or None``: rows to reject up front.
    """

    consent_default: Consent = "do_not_publish"
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
        self._memo: dict[tuple[str, ...], tuple[str | None, list[str]]] = {}

    def _other_text(self, token: str) -> str:
        if self.other_key and norm_key(token).startswith(self.other_key):
            return token.strip()[len(self.q.other_choice or ""):].lstrip(" :-–—").strip()
        return token.strip()

    def match_cached(self, cells: list[str]) -> tuple[str | None, list[str]]:
        """:meth:`match`, computed once per distinct list of cells (closed answers repeat a few labels)."""
        key = tuple(cells)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = self.match(cells)
        return hit

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


class ConsentReader:
    """Maps one source's consent cells onto :data:`~analysis.config.Consent` (``consent_map``).

    A response without a consent record (no consent column, or an empty cell) gets the source's
    ``consent_default``, else the format's (``fallback``). Non-empty values missing from the map are
    collected (value -> rows) and stop the run in :meth:`check`: no text is published on a guess.
    """

    def __init__(self, source: SourceConfig, column: list[int] | None, fallback: Consent = "do_not_publish"):
        self.column = column
        self.by_key = {norm_key(k): v for k, v in source.consent_map.items()}
        self.default: Consent = source.consent_default or fallback
        self.unmapped: dict[str, list[int]] = {}
        self._of_value: dict[str, Consent | None] = {}  # cell value -> its mapped consent (norm_key once a value)

    def __call__(self, row: list[str], row_no: int) -> Consent:
        """Consent of one row (``do_not_publish`` for an unmapped value, which :meth:`check` reports)."""
        value = _value(row, self.column)
        if value is None:
            return self.default
        try:
            consent = self._of_value[value]
        except KeyError:
            consent = self._of_value[value] = self.by_key.get(norm_key(value))
        if consent is None:
            self.unmapped.setdefault(value, []).append(row_no)
            return "do_not_publish"
        return consent

    def check(self, table: RawTable, limit: int = 5) -> None:
        """Raise :class:`ConfigError` naming every unmapped value, the column, the file and the first rows."""
        if not self.unmapped:
            return
        column = table.columns[self.column[0]] if self.column else "?"
        lines = [f"{table.file}, column {column!r}: consent values not in consent_map (map each one to "
                 "publish_named | publish_anonymous | do_not_publish; nothing is published until they are):"]
        for value, rows in sorted(self.unmapped.items()):
            more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
            lines.append(f"  - {value!r}: rows {', '.join(map(str, rows[:limit]))}{more}")
        raise ConfigError("\n".join(lines))


def _short_hash(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:12]


def _names(value: str | list[str] | None) -> list[str]:
    """A role's configured column(s) as a list (``name_column`` and ``attachment_column`` may list several)."""
    return [value] if isinstance(value, str) else list(value or [])


def resolve_roles(source: SourceConfig, table: RawTable,
                  defaults: Mapping[str, tuple[str, ...]] | None = None) -> dict[str, list[int] | None]:
    """Column indices of every configured (or platform-default) role, question and tag column.

    ``defaults`` are the format's usual column names per role (:attr:`ExportFormat.roles`), tried when the
    config leaves a role empty. A role naming several columns (``name_column: [First name, Surname]``) gets
    all their indices.

    Raises:
        ConfigError: Listing every configured column absent from the file (with close matches).
    """
    import difflib  # noqa: PLC0415

    out: dict[str, list[int] | None] = {}
    missing: list[str] = []
    for role in _ROLE_FIELDS:
        names = _names(getattr(source, role))
        out[role] = None
        for name in names:
            hit = table.lookup(name)
            if hit is None:
                missing.append(f"{role} {name!r}")
            else:
                out[role] = (out[role] or []) + [i for i in hit if i not in (out[role] or [])]
        if not names:
            for cand in (defaults or {}).get(role, ()):
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
    if not idx:
        return []
    if len(idx) == 1:  # the usual case: one column per role or question
        c = row[idx[0]].strip()
        return [c] if c else []
    return [c for c in (row[i].strip() for i in idx) if c]


def _value(row: list[str], idx: list[int] | None) -> str | None:
    if not idx:
        return None
    if len(idx) == 1:  # the usual case, without the list _cells makes (called ~10 times a row)
        return row[idx[0]].strip() or None
    vals = _cells(row, idx)
    return " ".join(vals) if vals else None


def _person(row: list[str], idx: list[int] | None) -> str | None:
    """The respondent's name or e-mail from its column(s), without the placeholders of anonymous responses."""
    if idx is not None and len(idx) == 1:  # the usual case, without the lists
        v = row[idx[0]].strip()
        return v if v and v.lower() not in ANONYMOUS_VALUES else None
    vals = [v for v in _cells(row, idx) if v.lower() not in ANONYMOUS_VALUES]
    return " ".join(vals) if vals else None


def _row_answers(row: list[str], row_no: int, questions: list[tuple[str, str, list[int] | None, ChoiceMatcher | None]],
                 unmapped: dict, file: str) -> list[tuple[str, str]]:
    """One row's non-empty ``(question id, answer)`` pairs (closed ones matched to their labels; unmatched labels go to ``unmapped``).

    ``questions``: ``(question id, configured column, column indices, matcher or None for an open question)``.
    """
    answers: list[tuple[str, str]] = []
    for qid, column, idx, matcher in questions:
        if idx is not None and len(idx) == 1:  # the usual case: one column (what _cells gives, without its call)
            cell = row[idx[0]].strip()
            if not cell:
                continue
            if matcher is None:
                answers.append((qid, cell))
                continue
            cells = [cell]
        else:
            cells = _cells(row, idx)
            if not cells:
                continue
        if matcher is not None:
            answer, bad = matcher.match_cached(cells)
            for label in bad:
                unmapped.setdefault((file, column, qid), {}).setdefault(label, []).append(row_no)
            if answer is None:
                continue
        else:
            answer = "\n".join(cells)
        answers.append((qid, answer))
    return answers


class _SourceReader:
    """Per-source state of :func:`table_rows`: roles, choice matchers, maps and what to report at the end."""

    def __init__(self, cfg: ConsultationConfig, source: SourceConfig, table: RawTable, profile: Profile,
                 roles: dict[str, list[int] | None]):
        self.source, self.table, self.profile, self.roles = source, table, profile, roles
        self.columns = dict(source.columns)
        self.open = {qid for qid in self.columns if cfg.question(qid).kind == "open"}
        self.matchers = {qid: ChoiceMatcher(cfg.question(qid)) for qid in self.columns if qid not in self.open}
        self.type_map = {norm_key(k): v for k, v in source.respondent_type_map.items()}
        self._type_of: dict[str, str | None] = {}  # cell value -> its mapped type, None when unmapped
        self._tag_columns = [(col, qid, roles[f"tag:{col}"]) for col, qid in source.analyst_tag_columns.items()]
        self.consent_of = ConsentReader(source, roles["consent_column"], profile.consent_default)
        self.stem = Path(table.file).stem
        self.seen_ids: dict[str, int] = {}
        self.hash_counts: Counter[str] = Counter()
        self.unmapped_types: Counter[str] = Counter()
        self.unknown_languages: Counter[str] = Counter()
        used = {i for idx in roles.values() if idx for i in idx}
        self.problems = {k: v for k, v in table.problems.items() if k[1] in used}

    def skip_reason(self, row_no: int, row: list[str]) -> tuple[str, str | None] | None:
        """``(reason, column)`` when the row is not a response: format filter, total row, unusable cell."""
        if self.profile.row_filter is not None:
            reason = self.profile.row_filter(self.table, row)
            if reason:
                return reason, None
        if is_total_row(row):
            return "total row (a sum added under the data, not a response)", None
        bad = sorted((c, why) for (r, c), why in self.problems.items() if r == row_no)
        if bad:
            return f"cell {bad[0][1]}", self.table.columns[bad[0][0]]
        return None

    def response_id(self, row_no: int, row: list[str], rejects: list[dict]) -> str | None:
        """The row's response id, or ``None`` after adding a reject (empty or repeated platform id)."""
        idx = self.roles["id_column"]
        if not idx:
            base = f"{self.stem}:{_short_hash(Path(self.table.file).name, *row)}"
            self.hash_counts[base] += 1
            return base if self.hash_counts[base] == 1 else f"{base}-{self.hash_counts[base]}"
        pid = _value(row, idx)
        column = self.table.columns[idx[0]]
        if pid is None:
            rejects.append(reject(self.table.file, row_no, column, "empty response id", self.table.raw_line(row)))
            return None
        rid = f"{self.stem}:{pid}"
        if rid in self.seen_ids:
            rejects.append(reject(self.table.file, row_no, column, f"duplicate response id {pid!r} (first seen at "
                                  f"row {self.seen_ids[rid]})", self.table.raw_line(row)))
            return None
        self.seen_ids[rid] = row_no
        return rid

    def response(self, row_no: int, row: list[str], rid: str) -> dict:
        """The ``core_responses`` row of a kept data row."""
        roles = self.roles
        organisation = _value(row, roles["organisation_column"])
        rtype = "unknown"
        if roles["respondent_type_column"]:
            raw_type = _value(row, roles["respondent_type_column"])
            if raw_type is not None:
                try:
                    mapped = self._type_of[raw_type]
                except KeyError:
                    mapped = self._type_of[raw_type] = self.type_map.get(norm_key(raw_type))
                if mapped is None:
                    self.unmapped_types[raw_type] += 1
                rtype = "unknown" if mapped is None else mapped
        elif self.profile.organisation_means_type:
            rtype = "organisation" if organisation else "individual"
        return {
            "response_id": rid, "source_file": self.table.file, "source_row": row_no, "channel": self.source.channel,
            "submitted_at": _value(row, roles["submitted_at_column"]), "respondent_type": rtype,
            "sector": _value(row, roles["sector_column"]), "country": _value(row, roles["country_column"]),
            "organisation": organisation,
            "consent": self.consent_of(row, row_no), "respondent_name": _person(row, roles["name_column"]),
            "respondent_email": _person(row, roles["email_column"]),
        }

    def language(self, row: list[str]) -> str | None:
        """The row's language from the export's language column (``None``: none, or a value not understood)."""
        value = _value(row, self.roles["language_column"])
        code = language_code(value)
        if value is not None and code is None:
            self.unknown_languages[value] += 1
        return code

    def tags(self, row: list[str], rid: str) -> list[dict]:
        """Analyst tags of one row (cells split on ``;``, ``,`` and new lines)."""
        out = []
        for col, qid, idx in self._tag_columns:
            for cell in _cells(row, idx):
                for tag in dict.fromkeys(t.strip() for t in _TAG_SPLIT.split(cell)):
                    if tag:
                        out.append({"response_id": rid, "question_id": qid, "tag": tag, "source_column": col})
        return out

    def finish(self) -> None:
        """Report what was collected: unmapped consent values stop the run; the rest is logged."""
        self.consent_of.check(self.table)
        for value, n in sorted(self.unmapped_types.items()):
            logger.warning("%s: respondent type %r (%d rows) is not in respondent_type_map: counted as 'unknown'",
                           self.table.file, value, n)
        for value, n in sorted(self.unknown_languages.items()):
            logger.warning("%s: language %r (%d rows) is not a language code or name: those answers' language is "
                           "detected from the text", self.table.file, value, n)


def table_rows(cfg: ConsultationConfig, source: SourceConfig, table: RawTable, profile: Profile | None = None,
               default_roles: Mapping[str, tuple[str, ...]] | None = None) -> SourceRows:
    """Canonical rows from one tabular source.

    Args:
        cfg: The consultation config.
        source: The source entry (its ``columns`` name the question columns).
        table: The file, read.
        profile: Format-specific behaviour (default: none).
        default_roles: The format's usual column per role (:attr:`analysis.ingest.formats.ExportFormat.roles`).

    Returns:
        The source's rows; ``unmapped`` holds closed-answer labels not in the config.

    Raises:
        ConfigError: A configured column is missing, or a consent value is not in ``consent_map``.
    """
    profile = profile or Profile()
    res = SourceRows()
    try:
        roles = resolve_roles(source, table, default_roles)
        if not source.columns and source.question_id:
            raise ConfigError(f"{table.file}: source has question_id {source.question_id!r} but no 'columns' mapping naming the text column")
        if roles["name_column"] is None and profile.name_columns:
            idx = [table.lookup(c) for c in profile.name_columns]
            roles["name_column"] = [i[0] for i in idx if i] or None
        rd = _SourceReader(cfg, source, table, profile, roles)
    except ConfigError:
        for _ in table.rows:  # a file read as it goes: its own errors (ragged rows, open quote) come first
            pass
        raise
    questions = [(qid, column, roles[f"q:{qid}"], rd.matchers.get(qid)) for qid, column in rd.columns.items()]
    add_rid, add_qid, add_answer, add_language = res.answers.appenders()
    open_ids = rd.open
    has_language = bool(roles["language_column"])
    listener = _BLOCK_LISTENER.get()
    pointing = getattr(listener, "pointing", None)  # the answers pointing to an attachment, found in a worker
    attached: dict[int, str] = {}  # row -> its attachment cell(s) (the rows naming one), when pointing is used
    for row_no, row in table.rows:
        skip = rd.skip_reason(row_no, row)
        if skip:
            res.rejects.append(reject(table.file, row_no, skip[1], skip[0], table.raw_line(row)))
            continue
        answers = _row_answers(row, row_no, questions, res.unmapped, table.file)
        attachments = _value(row, roles["attachment_column"])
        if not answers and not attachments:
            res.rejects.append(reject(table.file, row_no, None, "no answer to any configured question", table.raw_line(row)))
            continue
        rid = rd.response_id(row_no, row, res.rejects)
        if rid is None:
            continue
        res.responses.append(rd.response(row_no, row, rid))
        language = rd.language(row) if has_language else None
        texts = []
        for qid, answer in answers:
            add_rid(rid)
            add_qid(qid)
            add_answer(answer)
            if qid in open_ids:
                add_language(language)
                texts.append(answer)
            else:
                add_language(None)
        res.tags += rd.tags(row, rid)
        if pointing is not None and attachments:
            attached[row_no] = attachments
        for reason, raw in attachment_flags(bool(answers), texts if pointing is None else [], attachments):
            res.rejects.append(reject(table.file, row_no, None, WARNING_PREFIX + reason, raw))
        if res.answers.pending() >= ANSWER_BLOCK:
            res.answers.flush()
            add_rid, add_qid, add_answer, add_language = res.answers.appenders()
    rd.finish()
    if pointing is not None:
        res.answers.flush()  # the last rows to the worker too
        _add_pointers(res, table.file, open_ids, attached, pointing())
    res.rejects[:0] = table.rejects  # the file's own (blank, ragged rows) first, complete once its rows are read
    _parse_submitted(res, table, roles)
    res.ledger.append({"file": table.file, "reader": table.reader, "rows_read": table.rows_read,
                       "rows_kept": len(res.responses), "rows_rejected": table.rows_read - len(res.responses),
                       "sha256": table.sha256})
    return res


def _add_pointers(res: SourceRows, file: str, open_ids: set[str], attached: dict[int, str],
                  pointing: set[str] | None) -> None:
    """Add the warning of each response with an open answer that only points to an attachment to ``res.rejects``,
    where :func:`table_rows` adds it when it tests the answers row by row: after the row's other entries, before the
    next row's (a kept row's entries come in row order).

    Args:
        res: One tabular source's rows, every answer in an Arrow block.
        file: The source's file.
        open_ids: Its open questions.
        attached: Row -> attachment cell(s), of the rows naming one (the warning's ``raw``).
        pointing: The open answers that point to an attachment (found in a worker), or ``None``: every open answer
            is tested here (:func:`~analysis.ingest.flags.points_to_attachment`).
    """
    if pointing is not None and not pointing:
        return
    ids = pa.array(sorted(open_ids), pa.large_string())
    found = None if pointing is None else pa.array(sorted(pointing), pa.large_string())
    rids: set[str] = set()
    for block in res.answers._blocks:
        keep = pc.is_in(block.column("question_id"), value_set=ids)
        if found is not None:
            keep = pc.and_(keep, pc.is_in(block.column("answer"), value_set=found))
        sub = block.filter(keep)
        answers = sub.column("answer").to_pylist() if found is None else None
        for i, rid in enumerate(sub.column("response_id").to_pylist()):
            if answers is None or points_to_attachment(answers[i]):
                rids.add(rid)
    if not rids:
        return
    rows = sorted(row for rid, row in zip(res.responses.column("response_id"), res.responses.column("source_row"),
                                          strict=True) if rid in rids)
    flags = [reject(file, row, None, WARNING_PREFIX + POINTER, attached.get(row)) for row in rows]
    res.rejects = list(heapq.merge(res.rejects, flags, key=lambda r: r["row"]))  # stable: a row's flag goes last


def tabular_rows(cfg: ConsultationConfig, source: SourceConfig, path: Path, label: str, *, header_rows: int,
                 header: HeaderBuilder, roles: Mapping[str, tuple[str, ...]],
                 profile: Profile | None) -> tuple[SourceRows, RawTable]:
    """Read one spreadsheet export (CSV/XLSX) and turn it into canonical rows (see :func:`table_rows`).

    Returns:
        The rows and the file as read (format readers may add warnings from columns no role uses).
    """
    table = read_table(path, label, reader=source.format, sheet=source.sheet, encoding=source.encoding,
                       delimiter=source.delimiter, header_rows=header_rows, header=header, stream=True)
    res = table_rows(cfg, source, table, profile, roles)
    logger.info("%s: %d rows read, %d kept, %d rejected", label, table.rows_read, len(res.responses),
                table.rows_read - len(res.responses))
    return res, table


def _parse_submitted(res: SourceRows, table: RawTable, roles: dict) -> None:
    raw = res.responses.column("submitted_at")
    parsed = parse_datetimes(raw)
    col = table.columns[roles["submitted_at_column"][0]] if roles["submitted_at_column"] else None
    values = parsed.to_numpy()  # numpy datetime64 values: no Timestamp object made a row (the frame reads both)
    res.responses.set_column("submitted_at", values)
    bad = np.flatnonzero(np.isnat(values))
    source_rows = res.responses.column("source_row") if len(bad) else []
    for i in bad:
        v = raw[i]
        if v is not None:
            res.rejects.append(reject(table.file, source_rows[i], col,
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
    consent = ConsentReader(source, None).default  # a letter carries no consent record
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
            "respondent_type": "unknown", "sector": None, "organisation": None,
            "consent": consent,
            "respondent_name": d.respondent_name, "respondent_email": d.respondent_email,
        })
        res.answers.append({"response_id": rid, "question_id": source.question_id, "answer": d.text})
        for reason, raw in d.warnings:
            res.rejects.append(reject(d.file, 1, None, WARNING_PREFIX + reason, raw))
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
