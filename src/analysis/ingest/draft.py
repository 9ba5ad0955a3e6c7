"""Draft a ``consultation.yml`` from an export, for the analyst to check (``analysis init-config``).

The draft is valid YAML that :func:`~analysis.config.load_config` accepts as written. What is drafted:

* ``id``: the name of the folder holding the export (the consultation folder), not the file name;
* the format, from the headers (Qualtrics ImportId row, SurveyMonkey ``Respondent ID`` + ``Collector ID``,
  Microsoft Forms ``Id, Start time, Completion time``, regulations.gov ``Document ID`` + ``Docket ID``, EU
  "Have your say" / EUSurvey (two of ``Transparency register number``, ``Publication privacy settings``,
  ``User type``, ``Surname`` ...), Citizen Space ``Response ID``, else ``generic``);
* the separator and encoding: read with the same reader as ingest (records sniffed with a real CSV parse;
  ``--delimiter`` / ``--encoding`` force them and are written to the source); a parse that is implausible stops
  with an error instead of drafting garbage columns;
* the **role of every column** (:mod:`analysis.ingest.roles`): id, date, name(s), e-mail, organisation,
  respondent type (with a ``respondent_type_map``), sector, country/region, language, consent (with a
  ``consent_map``, :func:`guess_consent`), attachment(s), metadata and personal details to ignore, analyst
  tags and notes; sure roles (the platform's layout) have no ``TODO``, every unsure one is a ``TODO`` with
  sample values as evidence (masked for names, e-mail addresses and file names);
* each remaining column as a question: *closed* when it has few distinct short, label-like values (listed as
  choices with a position guessed from their wording; rows that are totals are left out), else *open*; ids
  ``q1, q2, ...``; an open "why / please explain" column right after a closed one gets ``related_question``;
  SurveyMonkey questions spread over sub-answer columns become one multi-select question.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from analysis.errors import InputError
from analysis.ingest.flags import is_total_row
from analysis.ingest.formats import FORMATS
from analysis.ingest.language import word_count
from analysis.ingest.roles import CONFIG_KEYS, MULTI, PERSONAL, ColumnRole, assign_roles
from analysis.ingest.tabular import (
    RawTable,
    is_xlsx,
    parse_delimiter,
    read_csv_grid,
    read_table,
    read_xlsx_grid,
)
from analysis.ingest.text import norm_key

MAX_CHOICES = 12
MAX_CHOICE_CHARS = 80
#: Mean words of a question's distinct answers above which it is open (choice labels are short).
MAX_LABEL_WORDS = 8

_WHY = re.compile(r"\bwhy\b|please explain|explain|reason|tell us more|comments?\b|because|give details|elaborate", re.I)
_POSITIONS: list[tuple[str, re.Pattern]] = [
    ("unsure", re.compile(r"don'?t know|do not know|not sure|unsure|no opinion|undecided|can'?t say", re.I)),
    ("neutral", re.compile(r"neither|neutral|indifferent", re.I)),
    ("oppose", re.compile(r"disagree|oppose|against|^no\b|not support|object", re.I)),
    ("support", re.compile(r"agree|^yes\b|support|in favou?r|approve", re.I)),
]
_ORG_WORDS = re.compile(r"organi[sz]ation|behalf|business|company|group|iwi|council|agency|association|ngo\b|"
                        r"non-governmental|authority|institution|union|academic|research", re.I)
_IND_WORDS = re.compile(r"individual|myself|personal|member of the public|citizen|private", re.I)
_YES_WORDS = re.compile(r"^(yes|y|true|1|i agree|agree|i consent|consent)\b", re.I)
_WITHHOLD_WORDS = re.compile(r"withh[oe]ld|anonym|without (my |the )?name|not (include |publish |use )?(my )?name|"
                             r"no names?\b|don'?t name|do not name", re.I)
_NAME_WORDS = re.compile(r"\bnames?\b|\bnamed\b|attribut", re.I)
_PUBLIC_WORDS = re.compile(r"^public\b|publish (it )?with (my|our) (name|details)", re.I)
_ANONYMOUS_WORDS = re.compile(r"^anonym", re.I)
_EU_MARKERS = {"transparency register number", "publication privacy settings", "user type", "surname",
               "feedback date", "i am giving my contribution as", "country of origin", "organisation size"}


def guess_position(label: str) -> str:
    """Position a choice label probably expresses (``none`` when its wording says nothing)."""
    for pos, pattern in _POSITIONS:
        if pattern.search(label.strip()):
            return pos
    return "none"


def guess_consent(value: str) -> str:
    """Consent a consent-column value probably gives (the draft marks it ``TODO check``).

    A "yes" naming the respondent explicitly ("Yes, including my name") is ``publish_named``; any other
    "yes" (including "Yes, but withhold my name") is ``publish_anonymous`` (a name needs explicit
    permission); everything else is ``do_not_publish``. EU "Have your say" privacy settings: ``Public``
    (published with the respondent's details) is ``publish_named``, ``Anonymous`` is ``publish_anonymous``.
    """
    v = value.strip()
    if _PUBLIC_WORDS.search(v):
        return "publish_named"
    if _ANONYMOUS_WORDS.search(v):
        return "publish_anonymous"
    if not _YES_WORDS.search(v):
        return "do_not_publish"
    return "publish_named" if _NAME_WORDS.search(v) and not _WITHHOLD_WORDS.search(v) else "publish_anonymous"


def guess_respondent_type(value: str) -> str:
    """``individual`` / ``organisation`` / ``unknown`` a respondent-type value probably means."""
    if _IND_WORDS.search(value):
        return "individual"
    return "organisation" if _ORG_WORDS.search(value) else "unknown"


def _grid(path: Path, label: str, delimiter: str | None = None, encoding: str | None = None) -> list[list[str]]:
    grid = read_xlsx_grid(path, label, None, 3)[0] if is_xlsx(path) else read_csv_grid(path, label, encoding, delimiter)[0]
    return [cells for _, cells in grid if any(c.strip() for c in cells)]


def detect_format(path: Path, delimiter: str | None = None, encoding: str | None = None) -> str:
    """Guess the export's platform from its first rows (``folder`` for a directory)."""
    if path.is_dir():
        return "folder"
    rows = _grid(path, path.name, delimiter, encoding)[:3]
    if not rows:
        raise InputError(path.name, "the file has no header row (it is empty or blank)")
    head = {norm_key(c) for c in rows[0]}
    if len(rows) >= 3 and any(c.strip().startswith('{"ImportId"') for c in rows[2]):
        return "qualtrics"
    if {"respondent id", "collector id"} <= head:
        return "surveymonkey"
    if [norm_key(c) for c in rows[0][:3]] == ["id", "start time", "completion time"]:
        return "ms_forms"
    if {"document id", "docket id", "comment"} <= head:
        return "regulations_gov"
    if len(head & _EU_MARKERS) >= 2:
        return "have_your_say"
    if "response id" in head:
        return "citizen_space"
    return "generic"


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-]+", "-", text).strip("-").lower() or "consultation"


def _column_values(table: RawTable) -> list[list[str]]:
    """Each column's non-empty values, rows that are totals left out."""
    rows = [row for _, row in table.rows if not is_total_row(row)]
    return [[row[i].strip() for row in rows if row[i].strip()] for i in range(len(table.columns))]


def _evidence(values: list[str], role: str) -> str:
    """Up to three distinct sample values (masked for personal information) for a ``TODO``."""
    sample = list(dict.fromkeys(values))[:3]
    if not sample:
        return "no values in the export"
    if role in PERSONAL:
        return "e.g. " + ", ".join(repr(v[0] + "…") for v in sample)
    return "e.g. " + ", ".join(repr(v if len(v) <= 30 else v[:29] + "…") for v in sample)


def _closed_choices(values: list[str], separators: tuple[str, ...] = (";", "|")) -> tuple[list[str], str | None] | None:
    """Distinct labels (by frequency) if the values look like a closed question, plus a multi-select separator."""
    if not values:
        return None
    for sep in separators:
        if sum(sep in v for v in values) >= max(2, len(values) // 5):
            tokens = Counter(t.strip() for v in values for t in v.split(sep) if t.strip())
            if len(tokens) <= MAX_CHOICES and all(len(t) <= MAX_CHOICE_CHARS for t in tokens):
                return sorted(tokens, key=lambda t: (-tokens[t], t)), sep
    counts = Counter(values)
    if len(counts) > MAX_CHOICES or any(len(v) > MAX_CHOICE_CHARS for v in counts):
        return None
    words = sum(word_count(v) for v in counts) / len(counts)
    repeated = len(values) >= 1.5 * len(counts)
    if words > MAX_LABEL_WORDS or (not repeated and (len(counts) > 3 or words > 4)):
        return None
    return sorted(counts, key=lambda t: (-counts[t], t)), None


#: The source and question lines of a draft for a folder of submissions.
_FOLDER_DRAFT = [
    "    channel: email  # TODO: email or document",
    "    consent_default: do_not_publish  # TODO: letters carry no consent record: none is quoted unless"
    " submitters were told submissions are published (then publish_anonymous)",
    "    question_id: q1",
    "questions:",
    "  - id: q1",
    '    text: "TODO: the question the submissions answer"',
    "    kind: open",
    "",
]


def _comment(cols: list[ColumnRole], values: list[list[str]]) -> str:
    unsure = [c for c in cols if not c.sure]
    if not unsure:
        return f"  # {cols[0].why}"
    if len(cols) == 1:
        return f"  # TODO check ({unsure[0].why}: {_evidence(values[unsure[0].index], unsure[0].role)})"
    return "  # TODO check (" + "; ".join(f"{c.column!r} from the {c.why}: {_evidence(values[c.index], c.role)}"
                                         for c in unsure) + ")"


def _role_lines(plan: list[ColumnRole], values: list[list[str]], fmt: str) -> list[str]:
    """Source lines of the configured roles, the respondent-type and consent maps, and the unused attributes."""
    out: list[str] = []
    by_role: dict[str, list[ColumnRole]] = {}
    for c in plan:
        by_role.setdefault(c.role, []).append(c)
    for role, key in CONFIG_KEYS.items():
        cols = by_role.get(role)
        if not cols:
            continue
        names = [c.column for c in cols]
        value = json.dumps(names, ensure_ascii=False) if role in MULTI and len(names) > 1 else _q(names[0])
        out.append(f"    {key}: {value}{_comment(cols, values)}")
        if role == "respondent_type":
            out.append("    respondent_type_map:")
            out += [f"      {_q(v)}: {guess_respondent_type(v)}  # TODO check"
                    for v in sorted(set(values[cols[0].index]))]
        if role == "consent":
            out.append("    consent_map:  # TODO check: what each answer allows to be published")
            out += [f"      {_q(v)}: {guess_consent(v)}" for v in sorted(set(values[cols[0].index]))]
    if "consent" not in by_role and fmt != "regulations_gov":
        out.append("    # TODO: no consent column found, so no text of this source will be published (its responses"
                   " still count); set consent_default if respondents agreed to publication")
    for c in by_role.get("country", []):
        out.append(f"    # country/region: {_q(c.column)} (respondent attribute, not a question: set country_column to "
                   "it and add country to settings.breakdowns to break counts down by it)")
    return out


def question_text(header: str) -> str:
    """A question's wording from its header: the first paragraph (a header cell may hold pages of guidance)."""
    first = re.split(r"\n\s*\n", header.strip(), maxsplit=1)[0]
    return " ".join(first.split())


def _group_question(table: RawTable, group: list[int], qid: str, values: list[list[str]]) -> list[str]:
    """Question lines of a SurveyMonkey question spanning the sub-answer columns ``group`` (multi-select)."""
    text = table.columns[group[0]].split(" | ")[0]
    subs = [table.columns[j].split(" | ", 1)[-1] for j in group]
    other = next((s for s in subs if s.lower().startswith("other")), None)
    labels = sorted({v for j, s in zip(group, subs, strict=True) if s != other for v in values[j]}
                    | ({other} if other else set()))
    q = [f"  - id: {qid}", f"    text: {_q(text)}  # TODO: the question as asked",
         f"    kind: closed  # TODO check ({len(group)} sub-answer columns read as one multi-select question)",
         "    multi_select: true", "    choices:"]
    q += [f"      {_q(label)}: {guess_position(label)}  # TODO check" for label in labels]
    if other:
        q.append(f"    other_choice: {_q(other)}  # its free text is kept as the answer")
    return q


def _question(qid: str, text: str, values: list[str], separators: tuple[str, ...],
              prev: tuple[str, str] | None) -> tuple[list[str], str]:
    """Lines of one single-column question and its kind."""
    closed = _closed_choices(values, separators)
    q = [f"  - id: {qid}", f"    text: {_q(question_text(text))}  # TODO: the question as asked"]
    if closed:
        labels, sep = closed
        q.append("    kind: closed  # TODO check (few distinct values)")
        if sep:
            q += ["    multi_select: true", f"    choice_separator: {_q(sep)}"]
        q.append("    choices:")
        q += [f"      {_q(label)}: {guess_position(label)}  # TODO check" for label in labels]
    else:
        q.append("    kind: open" + ("  # TODO check (no answers in the export)" if not values else ""))
        if prev and prev[1] == "closed" and _WHY.search(text):
            q.append(f"    related_question: {prev[0]}  # TODO check (explains the closed question before it)")
    return q, "closed" if closed else "open"


def _questions(table: RawTable, plan: list[ColumnRole], values: list[list[str]], texts: list[str],
               fmt: str) -> tuple[list[str], list[list[str]], list[str], dict[int, str]]:
    """``(columns lines, question blocks, analyst tag lines, column -> question id)``."""
    separators = (",",) if fmt == "qualtrics" else (";", "|")
    group_of = {g[0]: g for g in table.aliases.values() if len(g) > 1}
    in_group = {i for g in group_of.values() for i in g[1:]}
    columns_map: list[str] = []
    questions: list[list[str]] = []
    tags: list[str] = []
    qid_of: dict[int, str] = {}
    prev: tuple[str, str] | None = None  # (question id, kind) of the previous question column
    for c in plan:
        if c.role == "tags":
            tags.append(f'      {_q(c.column)}: ""  # TODO: the question id these tags code, or "" for the whole '
                        f"response ({_evidence(values[c.index], c.role)})")
        if c.role != "question" or c.index in in_group:
            continue
        qid = f"q{len(questions) + 1}"
        group = group_of.get(c.index)
        columns_map.append(f"      {qid}: {_q(c.column.split(' | ')[0] if group else c.column)}")
        if group:  # a SurveyMonkey question spanning several sub-answer columns
            questions.append(_group_question(table, group, qid, values))
            qid_of |= {j: qid for j in group}
            prev = (qid, "closed")
            continue
        block, kind = _question(qid, texts[c.index], values[c.index], separators, prev)
        questions.append(block)
        qid_of[c.index] = qid
        prev = (qid, kind)
    return columns_map, questions, tags, qid_of


def _listing(table: RawTable, plan: list[ColumnRole], qid_of: dict[int, str], name: str,
             values: list[list[str]]) -> list[str]:
    """The comment listing every column with its role (unsure ones: ``TODO`` with evidence)."""
    lines = [f"# Every column of {name} ({len(table.columns)}; {len(table.rows)} data rows read):"]
    for c in plan:
        if c.index in qid_of or c.role == "question":
            lines.append(f"#   {c.column!r}: question {qid_of.get(c.index, '')}".rstrip())
        elif c.sure:
            lines.append(f"#   {c.column!r}: {c.role} ({c.why})")
        else:
            lines.append(f"#   {c.column!r}: {c.role} (TODO check: {c.why}; {_evidence(values[c.index], c.role)})")
    return lines


@dataclass
class Export:
    """An export read for drafting.

    Attributes:
        table: The file as ingest reads it.
        texts: Each column's label (Qualtrics: the question text of header row 2).
        values: Each column's non-empty values (total rows left out).
        plan: Each column's role (:func:`analysis.ingest.roles.assign_roles`).
    """

    table: RawTable
    texts: list[str]
    values: list[list[str]]
    plan: list[ColumnRole]


def read_export(path: Path, fmt: str | None = None, *, delimiter: str | None = None,
                encoding: str | None = None) -> Export:
    """Read a tabular export with ingest's reader and assign every column a role.

    Args:
        path: The export (CSV/XLSX).
        fmt: Its format (default: detected).
        delimiter: Forced CSV separator.
        encoding: Forced text encoding.

    Raises:
        InputError: The file cannot be read, or its parse is implausible.
    """
    delimiter = parse_delimiter(delimiter)
    fmt = fmt or detect_format(path, delimiter, encoding)
    layout = FORMATS.get(fmt, FORMATS["generic"])
    table = read_table(path, path.name, reader=fmt, header_rows=layout.header_rows, header=layout.header,
                       encoding=encoding, delimiter=delimiter)
    texts = list(table.columns)
    if fmt == "qualtrics":  # row 2 holds the question text; the column names are ids
        second = _grid(path, path.name, delimiter, encoding)[1]
        texts = [(second[i].strip() if i < len(second) and second[i].strip() else c) for i, c in enumerate(table.columns)]
    values = _column_values(table)
    groups = {i for g in table.aliases.values() if len(g) > 1 for i in g}
    return Export(table, texts, values, assign_roles(table.columns, texts, values, fmt, groups))


def draft_config(export_path: Path, format: str | None = None, *, delimiter: str | None = None,
                 encoding: str | None = None) -> str:
    """Draft ``consultation.yml`` text for an export (see module docstring).

    Args:
        export_path: A survey export (CSV/XLSX) or a folder of submissions, inside the consultation folder.
        format: Force the reader (default: detected from the headers).
        delimiter: Force the CSV separator (``;``, ``tab`` ...; default: sniffed); written to the source.
        encoding: Force the text encoding (default: detected); written to the source.

    Returns:
        YAML text; ``load_config`` accepts it as is, and each unsure guess carries a ``TODO`` comment.

    Raises:
        InputError: The export cannot be read, or its parse is implausible (wrong separator or quoting).
    """
    path = Path(export_path)
    if not path.exists():
        raise InputError(str(path), "export not found")
    delimiter = parse_delimiter(delimiter)
    fmt = format or detect_format(path, delimiter, encoding)
    head = [
        f"# Draft consultation.yml generated from {path.name} (format: {fmt}; "
        f"{'given' if format else 'detected from the headers'}).",
        "# Check every line marked TODO. Paths are relative to the folder holding this file.",
        f"id: {_slug(path.resolve().parent.name)}",
        'title: "TODO: title of the consultation"',
        'organisation: ""  # TODO: who runs the consultation',
        "sources:",
        f"  - file: {_q(path.name)}",
        f"    format: {fmt}",
    ]
    if fmt == "folder":
        return "\n".join(head + _FOLDER_DRAFT)
    ex = read_export(path, fmt, delimiter=delimiter, encoding=encoding)
    table, texts, values, plan = ex.table, ex.texts, ex.values, ex.plan
    if table.delimiter not in (None, ","):
        head.append(f"    delimiter: {_q(table.delimiter)}  # {'given' if delimiter else 'detected from the first records'}")
    if encoding:
        head.append(f"    encoding: {_q(encoding)}  # given")
    columns_map, questions, tags, qid_of = _questions(table, plan, values, texts, fmt)
    lines = head + _role_lines(plan, values, fmt)
    if columns_map:
        lines += ["    columns:"] + columns_map
    if tags:
        lines += ["    analyst_tag_columns:"] + tags
    lines += _listing(table, plan, qid_of, path.name, values)
    lines.append("questions:" if questions else "questions: []  # TODO: no question columns found")
    for q in questions:
        lines += q
    lines += ["settings:", "  seed: 20211", "  count_mode: unique", ""]
    return "\n".join(lines)
