"""regulations.gov bulk-download CSV (one row per document of a docket).

Columns used: ``Document ID`` (response id), ``Comment`` (the text, answer to ``source.question_id``),
``Posted Date``, ``Organization Name`` (organisation; a non-empty one makes the respondent an
organisation, else an individual), ``Category`` (sector), ``First Name`` + ``Last Name`` (respondent
name, for redaction). Rows whose ``Document Type`` is not ``Public Submission`` (the rule, notices,
supporting material) and withdrawn comments (``Is Withdrawn?`` true) are rejected with that reason.
Comments on regulations.gov are already public, so ``publish_consent`` defaults to true. Attachment
files are links only in the bulk download; a comment that just says "see attached" is kept as is and
noted in the rejects table as a warning.
"""

from __future__ import annotations

import re

from analysis.config import SourceConfig
from analysis.errors import ConfigError
from analysis.ingest.build import Profile
from analysis.ingest.tabular import RawTable

_TRUE = {"true", "yes", "y", "1"}
_SEE_ATTACHED = re.compile(r"^\s*(please\s+)?see\s+(the\s+)?attach", re.I)


def _row_filter(table: RawTable, row: list[str]) -> str | None:
    doc_type = table.lookup("Document Type")
    if doc_type is not None:
        value = row[doc_type[0]].strip()
        if value and value.lower() != "public submission":
            return f"not a public submission (Document Type: {value})"
    withdrawn = table.lookup("Is Withdrawn?")
    if withdrawn is not None and row[withdrawn[0]].strip().lower() in _TRUE:
        return "comment withdrawn by the submitter (Is Withdrawn? = true)"
    return None


PROFILE = Profile(consent_default=True, organisation_means_type=True, name_columns=("First Name", "Last Name"),
                  row_filter=_row_filter)


def prepare_source(source: SourceConfig) -> SourceConfig:
    """Fill ``columns`` from ``question_id`` (the ``Comment`` column) when the config leaves it empty.

    Raises:
        ConfigError: Neither ``question_id`` nor ``columns`` is set.
    """
    if source.columns:
        return source
    if not source.question_id:
        raise ConfigError(f"{source.file}: a 'regulations_gov' source needs question_id (the question the Comment column answers)")
    return source.model_copy(update={"columns": {source.question_id: "Comment"}})


def attachment_warnings(table: RawTable, answers_by_row: dict[int, str]) -> list[tuple[int, str]]:
    """``(row, reason)`` for kept comments that only point to attachments the download does not hold."""
    att = table.lookup("Attachment Files")
    out = []
    for row_no, row in table.rows:
        text = answers_by_row.get(row_no)
        if text and _SEE_ATTACHED.match(text) and att and row[att[0]].strip():
            out.append((row_no, f"comment refers to attachment(s) not in the bulk download: {row[att[0]].strip()}"))
    return out
