"""Ingest stage: survey exports, emailed submissions and documents -> canonical tables.

Public API:

* :func:`ingest` / :func:`run` (:mod:`analysis.ingest.stage`): read every configured source.
* :func:`draft_config` (:mod:`analysis.ingest.draft`): draft a ``consultation.yml`` from an export.
* :func:`guess_languages` (:mod:`analysis.ingest.language`).

Readers: :mod:`~analysis.ingest.tabular` (CSV/XLSX and their mess), :mod:`~analysis.ingest.platforms`
(Citizen Space, SurveyMonkey, Qualtrics, Microsoft Forms, EU Have your say layouts),
:mod:`~analysis.ingest.regulations_gov`, :mod:`~analysis.ingest.documents` (folder of .txt/.eml/.docx/.pdf).
Rows: :mod:`~analysis.ingest.build` (rows -> tables), :mod:`~analysis.ingest.flags` (total rows, attachments).
Drafting: :mod:`~analysis.ingest.roles` (each column's role), :mod:`~analysis.ingest.draft`. See
``docs/ingest.md``.
"""

from analysis.ingest.draft import draft_config
from analysis.ingest.language import LanguageGuesser, guess_languages
from analysis.ingest.stage import OUTPUT_TABLES, assemble, ingest, read_source, run

__all__ = ["OUTPUT_TABLES", "LanguageGuesser", "assemble", "draft_config", "guess_languages", "ingest",
           "read_source", "run"]
