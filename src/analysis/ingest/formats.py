"""The export formats ingest reads, in one registry.

Each :class:`ExportFormat` names its reader and, for spreadsheets, its header layout and the platform's usual
metadata columns (used when ``consultation.yml`` leaves a role empty, and by ``init-config``). The ingest stage,
``init-config`` and the config's validation all look formats up here, so **adding a format is one reader
module, one entry in** :data:`FORMATS`, a fixture under ``tests/fixtures/ingest/`` and a test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from analysis.config import ConsultationConfig, SourceConfig
from analysis.errors import InputError
from analysis.ingest import polis, regulations_gov
from analysis.ingest.build import Profile, SourceRows, document_rows, tabular_rows
from analysis.ingest.documents import read_folder
from analysis.ingest.platforms import qualtrics_header, surveymonkey_header
from analysis.ingest.tabular import HeaderBuilder, single_header

#: ``reader(format, cfg, source, path, label)`` -> the source's rows.
Reader = Callable[["ExportFormat", ConsultationConfig, SourceConfig, Path, str], SourceRows]


@dataclass(frozen=True)
class ExportFormat:
    """One export format.

    Attributes:
        name: The ``format:`` value in ``consultation.yml``.
        read: Its reader.
        header_rows: Header rows of a spreadsheet export (1 for most platforms).
        header: Builds column names from the header rows.
        roles: Config role (``id_column`` ...) -> the platform's usual column names, first present wins.
        profile: Format-specific row behaviour for spreadsheet readers (consent default, row filter ...).
    """

    name: str
    read: Reader
    header_rows: int = 1
    header: HeaderBuilder = single_header
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    profile: Profile | None = None


def read_tabular(fmt: ExportFormat, cfg: ConsultationConfig, source: SourceConfig, path: Path,
                 label: str) -> SourceRows:
    """Reader of a spreadsheet export (CSV/XLSX) in ``fmt``'s layout."""
    rows, _ = tabular_rows(cfg, source, path, label, header_rows=fmt.header_rows, header=fmt.header,
                           roles=fmt.roles, profile=fmt.profile)
    return rows


def _read_folder(fmt: ExportFormat, cfg: ConsultationConfig, source: SourceConfig, path: Path,
                 label: str) -> SourceRows:
    if not path.is_dir():
        raise InputError(label, "format 'folder' needs a folder of documents, not a file")
    return document_rows(source, label, read_folder(path, label))


def _read_polis(fmt: ExportFormat, cfg: ConsultationConfig, source: SourceConfig, path: Path,
                label: str) -> SourceRows:
    return polis.source_rows(cfg, source, path, label)


_SUBMITTED = ("Submitted on", "Response Submitted", "Submitted")

#: Every format ingest can read, by its ``format:`` name.
FORMATS: dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("citizen_space", read_tabular,
                 roles={"id_column": ("Response ID",), "submitted_at_column": _SUBMITTED}),
    ExportFormat("surveymonkey", read_tabular, 2, surveymonkey_header,
                 roles={"id_column": ("Respondent ID",), "submitted_at_column": ("End Date",),
                        "email_column": ("Email Address",)},
                 profile=Profile(name_columns=("First Name", "Last Name"))),
    ExportFormat("qualtrics", read_tabular, 3, qualtrics_header,
                 roles={"id_column": ("ResponseId",), "submitted_at_column": ("RecordedDate", "EndDate"),
                        "email_column": ("RecipientEmail",), "language_column": ("UserLanguage",)},
                 profile=Profile(name_columns=("RecipientFirstName", "RecipientLastName"))),
    ExportFormat("ms_forms", read_tabular,
                 roles={"id_column": ("Id", "ID"), "submitted_at_column": ("Completion time",),
                        "email_column": ("Email",), "name_column": ("Name",)}),
    ExportFormat("have_your_say", read_tabular,
                 roles={"id_column": ("Reference", "Feedback reference"),
                        "submitted_at_column": ("Feedback date", "Submission date", "Submitted on"),
                        "organisation_column": ("Organisation name",),
                        "language_column": ("Language", "Language of my contribution"),
                        "attachment_column": ("Attachment", "Attachments", "Uploaded document")},
                 profile=Profile(name_columns=("First name", "Surname"))),
    ExportFormat("generic", read_tabular),
    ExportFormat("regulations_gov", regulations_gov.read,
                 roles={"id_column": ("Document ID",), "submitted_at_column": ("Posted Date", "Received Date"),
                        "organisation_column": ("Organization Name",), "sector_column": ("Category",),
                        "email_column": ("Email",), "attachment_column": ("Attachment Files",)},
                 profile=regulations_gov.PROFILE),
    ExportFormat("folder", _read_folder),
    ExportFormat("polis", _read_polis),
)}


def export_format(name: str) -> ExportFormat:
    """The registered format called ``name``.

    Raises:
        KeyError: Naming the unknown format and every known one.
    """
    if name not in FORMATS:
        raise KeyError(f"unknown source format {name!r}; known formats: {', '.join(sorted(FORMATS))}")
    return FORMATS[name]
