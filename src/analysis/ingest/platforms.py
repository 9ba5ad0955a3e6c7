"""Survey platforms' export layouts: header rows, column naming and default column roles.

* ``citizen_space`` / ``generic``: one header row (Citizen Space's "all responses including analyst
  fields" export, CSV or XLSX, is a plain table: ``Response ID``, timestamps, one column per question
  part, analyst notes and tag columns).
* ``surveymonkey``: two header rows. Row 1 holds the question text over the first of its columns (the
  others blank, or a merged cell in XLSX); row 2 the sub-answer (``Response``, ``Open-Ended Response``,
  a choice label, ``Other (please specify)``). Columns are named ``Question | Sub-answer`` when the
  sub-answer is meaningful, else the question text. The question text alone addresses *all* its
  columns (their non-empty cells are joined), which is how multi-select and "Other" answers are read.
* ``qualtrics``: three header rows: the column id (``Q1``, ``ResponseId``), the question text, and an
  ``{"ImportId": ...}`` JSON. Columns are named by id; the question text and the ImportId are aliases.
* ``ms_forms``: Microsoft Forms' Excel download: ``Id, Start time, Completion time, Email, Name`` and
  then one column per question (header row 1).
* ``have_your_say``: the European Commission's "Have your say" portal (and EUSurvey) export: ``;``-separated
  UTF-8 with a byte-order mark, header row 1 whose long question cells hold new lines; ``Reference``,
  ``Feedback date``, ``Language``, ``User type``, ``First name``, ``Surname``, ``Organisation name``,
  ``Transparency register number``, ``Country of origin``, a publication-privacy column (``Public`` /
  ``Anonymous``), the questions, ``Feedback`` and ``Attachment``.

Each platform's header layout and usual metadata columns are declared with its entry in
:data:`analysis.ingest.formats.FORMATS`.
"""

from __future__ import annotations

import json

from analysis.ingest.text import norm_key

_SM_COLLAPSE = {"response", "open-ended response", "open ended response", ""}


def surveymonkey_header(rows: list[list[str]]) -> tuple[list[str], dict[str, list[int]]]:
    """Column names and question-text aliases from SurveyMonkey's two header rows."""
    top, sub = rows[0], rows[1]
    names: list[str] = []
    groups: dict[str, list[int]] = {}
    current = ""
    for i, (q, s) in enumerate(zip(top, sub, strict=True)):
        q, s = q.strip(), s.strip()
        if q:
            current = q
        elif s:
            q = current  # blank (or merged) question cell: the sub-answer belongs to the question on its left
        if not q:
            names.append(s)
            continue
        name = q if norm_key(s) in _SM_COLLAPSE else f"{q} | {s}"
        names.append(name)
        groups.setdefault(norm_key(q), []).append(i)
    return names, {k: v for k, v in groups.items() if len(v) > 1}


def qualtrics_header(rows: list[list[str]]) -> tuple[list[str], dict[str, list[int]]]:
    """Column names (ids) and aliases (question text, ImportId) from Qualtrics' three header rows."""
    ids, texts, imports = rows[0], rows[1], rows[2]
    aliases: dict[str, list[int]] = {}
    for i, (text, imp) in enumerate(zip(texts, imports, strict=True)):
        if text.strip():
            aliases.setdefault(norm_key(text), [i])
        try:
            meta = json.loads(imp) if imp.strip().startswith("{") else {}
        except json.JSONDecodeError:
            meta = {}
        if isinstance(meta, dict) and meta.get("ImportId"):
            aliases.setdefault(norm_key(str(meta["ImportId"])), [i])
    return [c.strip() for c in ids], aliases


#: Placeholder values platforms write into name/email cells of anonymous responses.
ANONYMOUS_VALUES = {"anonymous", "anon", "n/a", "na", "none", "-"}
