"""The ingest stage: every configured source -> the canonical ``core_*`` tables, a ledger and rejects."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import pandas as pd

from analysis.config import ConsultationConfig, SourceConfig
from analysis.errors import ConfigError, InputError
from analysis.ingest import regulations_gov
from analysis.ingest.build import (
    WARNING_PREFIX,
    SourceRows,
    document_rows,
    merge,
    questions_table,
    table_rows,
    unmapped_error,
)
from analysis.ingest.documents import read_folder
from analysis.ingest.language import LanguageGuesser, default_guesser
from analysis.ingest.platforms import LAYOUTS
from analysis.ingest.tabular import read_table, reject
from analysis.schemas import SCHEMAS
from analysis.tables import write_table

logger = logging.getLogger(__name__)

#: Tables :func:`run` writes (the rejects table last).
OUTPUT_TABLES = ("core_questions", "core_responses", "core_answers", "core_analyst_tags", "ledger", "core_rejects")


def _frame(rows: list[dict], table: str) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(SCHEMAS[table].columns))


def read_source(cfg: ConsultationConfig, source: SourceConfig, raw_dir: Path) -> SourceRows:
    """Read one source with the reader for its ``format``.

    Raises:
        InputError: The file cannot be read at all.
        ConfigError: The config does not fit the file (missing column, sheet, question id).
    """
    path = Path(raw_dir) / source.file
    label = Path(source.file).as_posix()
    if not path.exists():
        raise InputError(label, f"source not found under {raw_dir}")
    if source.format == "folder":
        if not path.is_dir():
            raise InputError(label, "format 'folder' needs a folder of documents, not a file")
        return document_rows(source, label, read_folder(path, label))
    if source.format == "polis":
        try:
            from analysis.ingest import polis  # noqa: PLC0415
        except ImportError:
            raise ConfigError(f"{label}: format 'polis' needs the Pol.is reader (analysis.ingest.polis), which is not installed") from None
        return polis.source_rows(cfg, source, path, label)
    profile = None
    if source.format == "regulations_gov":
        source = regulations_gov.prepare_source(source)
        profile = regulations_gov.PROFILE
    header_rows, header = LAYOUTS[source.format]
    table = read_table(path, label, reader=source.format, sheet=source.sheet, encoding=source.encoding,
                       delimiter=source.delimiter, header_rows=header_rows, header=header)
    res = table_rows(cfg, source, table, profile)
    if source.format == "regulations_gov":
        rows = {r["source_row"]: r["response_id"] for r in res.responses}
        text = {a["response_id"]: a["answer"] for a in res.answers}
        by_row = {row: text.get(rid, "") for row, rid in rows.items()}
        for row_no, reason in regulations_gov.attachment_warnings(table, by_row):
            res.rejects.append(reject(label, row_no, "Attachment Files", WARNING_PREFIX + reason, None))
    logger.info("%s: %d rows read, %d kept, %d rejected", label, table.rows_read, len(res.responses),
                table.rows_read - len(res.responses))
    return res


def assemble(cfg: ConsultationConfig, rows: SourceRows, guesser: LanguageGuesser | None = None) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Turn merged source rows into the ingest tables (pure: no I/O).

    Args:
        cfg: The config (questions; ``settings.language_detection``).
        rows: All sources' rows (see :func:`~analysis.ingest.build.merge`).
        guesser: Language guesser (default: the module-level lingua one).

    Returns:
        ``(tables, rejects)`` as :func:`ingest`.

    Raises:
        ConfigError: Unmapped closed-answer labels, or two sources giving the same response id / file.
    """
    if rows.unmapped:
        raise unmapped_error(rows.unmapped)
    dup_ids = [k for k, n in Counter(r["response_id"] for r in rows.responses).items() if n > 1]
    if dup_ids:
        raise ConfigError(f"two sources produce the same response ids (give the files different names): {sorted(dup_ids)[:5]}")
    dup_files = [k for k, n in Counter(r["file"] for r in rows.ledger).items() if n > 1]
    if dup_files:
        raise ConfigError(f"the same file is configured as a source twice: {sorted(dup_files)}")
    answers = _frame(rows.answers, "core_answers")
    kinds = {q.id: q.kind for q in cfg.questions}
    answers["language"] = "und"
    if cfg.settings.language_detection and len(answers):
        open_mask = answers["question_id"].map(kinds).eq("open").to_numpy()
        texts = answers.loc[open_mask, "answer"].tolist()
        answers.loc[open_mask, "language"] = (guesser or default_guesser()).guess(texts)
    tags = _frame(rows.tags, "core_analyst_tags").drop_duplicates(["response_id", "question_id", "tag"])
    responses = _frame(rows.responses, "core_responses")
    responses["submitted_at"] = pd.to_datetime(responses["submitted_at"]).astype("datetime64[ns]")
    tables = {
        "core_questions": questions_table(cfg),
        "core_responses": responses,
        "core_answers": answers,
        "core_analyst_tags": tags.reset_index(drop=True),
        "ledger": _frame(rows.ledger, "ledger"),
    }
    rejects = _frame(rows.rejects, "core_rejects")
    rejects["row"] = rejects["row"].astype("Int64")
    return tables, rejects


def ingest(cfg: ConsultationConfig, raw_dir: Path, guesser: LanguageGuesser | None = None) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Read every source of ``cfg`` into the canonical tables.

    Args:
        cfg: The consultation config.
        raw_dir: Folder the sources' ``file`` paths are relative to.
        guesser: Language guesser (default: the module-level lingua one).

    Returns:
        ``(tables, rejects)``: ``tables`` maps ``core_questions``, ``core_responses``, ``core_answers``,
        ``core_analyst_tags`` and ``ledger`` to DataFrames; ``rejects`` is ``core_rejects``.

    Raises:
        InputError: A file cannot be read (names the file, and row/column when known).
        ConfigError: The config does not fit the files (every problem of one kind listed at once).
    """
    results = [read_source(cfg, s, Path(raw_dir)) for s in cfg.sources]
    return assemble(cfg, merge(results), guesser)


def run(cfg: ConsultationConfig, *, raw_dir: Path, processed_dir: Path) -> list[Path]:
    """Stage entry point: :func:`ingest` and write the six tables to ``processed_dir``."""
    tables, rejects = ingest(cfg, raw_dir)
    out = [write_table(tables[name], name, processed_dir) for name in OUTPUT_TABLES[:-1]]
    out.append(write_table(rejects, "core_rejects", processed_dir))
    n_rej = int(tables["ledger"]["rows_rejected"].sum())
    logger.info("ingest: %d responses, %d answers, %d rejected rows (%d reject/warning entries)",
                len(tables["core_responses"]), len(tables["core_answers"]), n_rej, len(rejects))
    return out
