"""Draft a ``consultation.yml`` from an export, for the analyst to check (``analysis init-config``).

The draft is valid YAML that :func:`~analysis.config.load_config` accepts as written; every guess is
marked ``# TODO check`` so the analyst reviews it. What is guessed:

* the format, from the headers (Qualtrics ImportId row, SurveyMonkey ``Respondent ID`` +
  ``Collector ID``, Microsoft Forms ``Id, Start time, Completion time``, regulations.gov
  ``Document ID`` + ``Docket ID``, Citizen Space ``Response ID``, else ``generic``);
* metadata columns by header keywords (id, submitted time, respondent type, organisation, sector,
  consent, name, email) and platform bookkeeping columns (IP address, collector, duration ...), listed
  as not used;
* each remaining column: *closed* when it has few distinct short values (listed as choices with a
  position guessed from their wording), else *open*; ids ``q1, q2, ...``; an open "why / please
  explain" column right after a closed one gets ``related_question``;
* analyst tag / coding columns (``tag``, ``code``, ``analyst`` in the header).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from analysis.errors import InputError
from analysis.ingest.platforms import DEFAULT_ROLES, LAYOUTS
from analysis.ingest.tabular import RawTable, is_xlsx, read_csv_grid, read_table, read_xlsx_grid
from analysis.ingest.text import norm_key

MAX_CHOICES = 12
MAX_CHOICE_CHARS = 80

_ROLE_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("id_column", re.compile(r"^(response|respondent|submission|document)?\s*_?id$|^(response|respondent|submission|document) ?id\b|^responseid$", re.I)),
    ("submitted_at_column", re.compile(r"submitted|completion time|end ?date|recorded ?date|posted date|timestamp|^date$", re.I)),
    ("respondent_type_column", re.compile(r"responding as|individual or (an )?organi[sz]ation|respondent type|on behalf of|capacity", re.I)),
    ("organisation_column", re.compile(r"organi[sz]ation( name)?|name of (your )?organi[sz]ation|company", re.I)),
    ("sector_column", re.compile(r"sector|^category$|industry", re.I)),
    ("consent_column", re.compile(r"publish|consent|permission|may we (share|use)", re.I)),
    ("email_column", re.compile(r"e-?mail", re.I)),
    ("name_column", re.compile(r"^(your |full |first )?name\??$|what is your name|^name of respondent", re.I)),
]
_METADATA = re.compile(
    r"ip ?address|collector|duration|progress|latitude|longitude|^status$|^finished$|distribution|user ?language|"
    r"recipient|external ?ref|^start(ed)?( date| time| on)?$|^startdate$|^enddate$|last modified|tracking number|"
    r"agency id|docket id|document type|is withdrawn|attachment|^title$|received date|custom data|^city$|"
    r"state/province|^country$|first name|last name|zip|postal", re.I)
_TAGS = re.compile(r"\btags?\b|\bcod(e|es|ing)\b|analyst", re.I)
_WHY = re.compile(r"\bwhy\b|please explain|explain|reason|tell us more|comments?\b|because|give details|elaborate", re.I)
_POSITIONS: list[tuple[str, re.Pattern]] = [
    ("unsure", re.compile(r"don'?t know|do not know|not sure|unsure|no opinion|undecided|can'?t say", re.I)),
    ("neutral", re.compile(r"neither|neutral|indifferent", re.I)),
    ("oppose", re.compile(r"disagree|oppose|against|^no\b|not support|object", re.I)),
    ("support", re.compile(r"agree|^yes\b|support|in favou?r|approve", re.I)),
]
_ORG_WORDS = re.compile(r"organi[sz]ation|behalf|business|company|group|iwi|council|agency|association", re.I)
_IND_WORDS = re.compile(r"individual|myself|personal|member of the public|citizen|private", re.I)
_YES_WORDS = re.compile(r"^(yes|y|true|1|i agree|agree|i consent|consent)\b", re.I)


def guess_position(label: str) -> str:
    """Position a choice label probably expresses (``none`` when its wording says nothing)."""
    for pos, pattern in _POSITIONS:
        if pattern.search(label.strip()):
            return pos
    return "none"


def detect_format(path: Path) -> str:
    """Guess the export's platform from its first rows (``folder`` for a directory)."""
    if path.is_dir():
        return "folder"
    label = path.name
    grid = read_xlsx_grid(path, label, None, 3) if is_xlsx(path) else read_csv_grid(path, label)[0]
    rows = [cells for _, cells in grid if any(c.strip() for c in cells)][:3]
    if not rows:
        raise InputError(label, "the file has no header row (it is empty or blank)")
    head = {norm_key(c) for c in rows[0]}
    if len(rows) >= 3 and any(c.strip().startswith('{"ImportId"') for c in rows[2]):
        return "qualtrics"
    if {"respondent id", "collector id"} <= head:
        return "surveymonkey"
    if [norm_key(c) for c in rows[0][:3]] == ["id", "start time", "completion time"]:
        return "ms_forms"
    if {"document id", "docket id", "comment"} <= head:
        return "regulations_gov"
    if "response id" in head:
        return "citizen_space"
    return "generic"


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-]+", "-", text).strip("-").lower() or "consultation"


def _values(table: RawTable, i: int) -> list[str]:
    return [row[i].strip() for _, row in table.rows if row[i].strip()]


def _guess_roles(table: RawTable, fmt: str) -> dict[str, int]:
    roles: dict[str, int] = {}
    for role, names in DEFAULT_ROLES.get(fmt, {}).items():
        for n in names:
            hit = table.lookup(n)
            if hit:
                roles[role] = hit[0]
                break
    used = set(roles.values())
    for role, pattern in _ROLE_PATTERNS:
        if role in roles:
            continue
        for i, col in enumerate(table.columns):
            if i not in used and pattern.search(col.strip()) and len(col) < 120:
                roles[role] = i
                used.add(i)
                break
    return roles


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
    if len(values) < 1.5 * len(counts) and len(counts) > 3:
        return None
    return sorted(counts, key=lambda t: (-counts[t], t)), None


def draft_config(export_path: Path, format: str | None = None) -> str:
    """Draft ``consultation.yml`` text for an export (see module docstring).

    Args:
        export_path: A survey export (CSV/XLSX) or a folder of submissions.
        format: Force the reader (default: detected from the headers).

    Returns:
        YAML text; ``load_config`` accepts it as is, and each guess carries a ``TODO`` comment.

    Raises:
        InputError: The export cannot be read.
    """
    path = Path(export_path)
    if not path.exists():
        raise InputError(str(path), "export not found")
    fmt = format or detect_format(path)
    head = [
        f"# Draft consultation.yml generated from {path.name} (format: {fmt}; detected from the headers).",
        "# Check every line marked TODO. Paths are relative to the folder holding this file.",
        f"id: {_slug(path.stem)}",
        'title: "TODO: title of the consultation"',
        'organisation: ""  # TODO: who runs the consultation',
        "sources:",
        f"  - file: {_q(path.name)}",
        f"    format: {fmt}",
    ]
    if fmt == "folder":
        return "\n".join(head + [
            "    channel: email  # TODO: email or document",
            "    question_id: q1",
            "questions:",
            "  - id: q1",
            '    text: "TODO: the question the submissions answer"',
            "    kind: open",
            "",
        ])
    header_rows, header = LAYOUTS.get(fmt, LAYOUTS["generic"])
    table = read_table(path, path.name, reader=fmt, header_rows=header_rows, header=header)
    roles = _guess_roles(table, fmt)
    texts = list(table.columns)
    if fmt == "qualtrics":  # row 2 holds the question text; the column names are ids
        grid = read_xlsx_grid(path, path.name, None, 3) if is_xlsx(path) else read_csv_grid(path, path.name)[0]
        second = [cells for _, cells in grid if any(c.strip() for c in cells)][1]
        texts = [(second[i].strip() if i < len(second) and second[i].strip() else c) for i, c in enumerate(table.columns)]
    separators = (",",) if fmt == "qualtrics" else (";", "|")
    role_of = {i: r for r, i in roles.items()}
    lines = list(head)
    src_lines: list[str] = []
    for role, i in roles.items():
        src_lines.append(f"    {role}: {_q(table.columns[i])}  # TODO check (guessed from the header)")
    if "respondent_type_column" in roles:
        src_lines.append("    respondent_type_map:")
        for v in sorted(set(_values(table, roles["respondent_type_column"]))):
            t = "organisation" if _ORG_WORDS.search(v) else "individual" if _IND_WORDS.search(v) else "unknown"
            src_lines.append(f"      {_q(v)}: {t}  # TODO check")
    if "consent_column" in roles:
        yes = sorted({v for v in _values(table, roles["consent_column"]) if _YES_WORDS.search(v)})
        src_lines.append(f"    consent_yes: [{', '.join(_q(v) for v in yes)}]  # TODO check")
    questions: list[list[str]] = []
    columns_map: list[str] = []
    tag_lines: list[str] = []
    unused: list[str] = []
    prev: tuple[str, str] | None = None  # (question id, kind) of the previous question column
    group_of = {g[0]: g for g in table.aliases.values() if len(g) > 1}
    in_group = {i for g in group_of.values() for i in g[1:]}
    for i, col in enumerate(table.columns):
        if i in in_group:
            continue
        if i in group_of:  # a SurveyMonkey question spanning several sub-answer columns
            qid = f"q{len(questions) + 1}"
            group = group_of[i]
            text = col.split(" | ")[0]
            columns_map.append(f"      {qid}: {_q(text)}")
            subs = [table.columns[j].split(" | ", 1)[-1] for j in group]
            other = next((s for s in subs if s.lower().startswith("other")), None)
            labels = sorted({v for j, s in zip(group, subs, strict=True) if s != other for v in _values(table, j)} | ({other} if other else set()))
            q = [f"  - id: {qid}", f"    text: {_q(text)}  # TODO: the question as asked",
                 f"    kind: closed  # TODO check ({len(group)} sub-answer columns read as one multi-select question)",
                 "    multi_select: true", "    choices:"]
            q += [f"      {_q(label)}: {guess_position(label)}  # TODO check" for label in labels]
            if other:
                q.append(f"    other_choice: {_q(other)}  # its free text is kept as the answer")
            questions.append(q)
            unused += [f"#   {table.columns[j]!r}: question {qid}" for j in group]
            prev = (qid, "closed")
            continue
        if i in role_of:
            unused.append(f"#   {col!r}: {role_of[i]}")
            continue
        if _METADATA.search(col.strip()) and len(col) < 60:
            unused.append(f"#   {col!r}: not used (platform metadata)")
            continue
        values = _values(table, i)
        if _TAGS.search(col) and len(col) < 60:
            tag_lines.append(f'      {_q(col)}: ""  # TODO: the question id these tags code, or "" for the whole response')
            unused.append(f"#   {col!r}: analyst tags")
            continue
        qid = f"q{len(questions) + 1}"
        columns_map.append(f"      {qid}: {_q(col)}")
        closed = _closed_choices(values, separators)
        q = [f"  - id: {qid}", f"    text: {_q(texts[i])}  # TODO: the question as asked"]
        if closed:
            labels, sep = closed
            q.append("    kind: closed  # TODO check (few distinct values)")
            if sep:
                q += ["    multi_select: true", f"    choice_separator: {_q(sep)}"]
            q.append("    choices:")
            q += [f"      {_q(label)}: {guess_position(label)}  # TODO check" for label in labels]
        else:
            q.append("    kind: open" + ("  # TODO check (no answers in the export)" if not values else ""))
            if prev and prev[1] == "closed" and _WHY.search(texts[i]):
                q.append(f"    related_question: {prev[0]}  # TODO check (explains the closed question before it)")
        questions.append(q)
        unused.append(f"#   {col!r}: question {qid}")
        prev = (qid, "closed" if closed else "open")
    lines += src_lines
    if columns_map:
        lines += ["    columns:"] + columns_map
    if tag_lines:
        lines += ["    analyst_tag_columns:"] + tag_lines
    lines += [f"# Every column of {path.name} ({len(table.columns)}; {len(table.rows)} data rows read):"] + unused
    lines.append("questions:" if questions else "questions: []  # TODO: no question columns found")
    for q in questions:
        lines += q
    lines += ["settings:", "  seed: 20211", "  count_mode: unique", ""]
    return "\n".join(lines)
