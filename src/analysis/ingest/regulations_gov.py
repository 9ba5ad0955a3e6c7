"""regulations.gov bulk-download CSV (one row per document of a docket).

Columns used: ``Document ID`` (response id), ``Comment`` (the text, answer to ``source.question_id``),
``Posted Date``, ``Organization Name`` (organisation; a non-empty one makes the respondent an
organisation, else an individual), ``Category`` (sector), ``First Name`` + ``Last Name`` (respondent
name, for redaction). Rows whose ``Document Type`` is not ``Public Submission`` (the rule, notices,
supporting material) and withdrawn comments (``Is Withdrawn?`` true) are rejected with that reason.
Comments on regulations.gov are already public (with the submitter's name and organisation), so
``consent`` defaults to ``publish_named``: a comment may be quoted and an organisation named as it
appears on the docket; a person's name is still never printed (the report names organisations only),
and a source's ``consent_default`` overrides the default. Attachment files are links only in the bulk
download: ``Attachment Files`` is the source's default ``attachment_column``, so a comment with attachments, a
comment that only says "See file attached." and a submission that is only an attachment are all kept and
flagged for reading (:mod:`analysis.ingest.flags`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from analysis.config import ConsultationConfig, SourceConfig
from analysis.errors import ConfigError
from analysis.ingest.build import Profile, SourceRows, tabular_rows
from analysis.ingest.tabular import RawTable

if TYPE_CHECKING:
    from analysis.ingest.formats import ExportFormat

_TRUE = {"true", "yes", "y", "1"}


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


PROFILE = Profile(consent_default="publish_named", organisation_means_type=True, name_columns=("First Name", "Last Name"),
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


def read(fmt: ExportFormat, cfg: ConsultationConfig, source: SourceConfig, path: Path, label: str) -> SourceRows:
    """Reader of a regulations.gov bulk download (``columns`` filled from ``question_id``)."""
    source = prepare_source(source)
    res, _ = tabular_rows(cfg, source, path, label, header_rows=fmt.header_rows, header=fmt.header,
                          roles=fmt.roles, profile=fmt.profile)
    return res
