"""The ingest stage: every configured source -> the canonical ``core_*`` tables, a ledger and rejects.

For a Pol.is source it also writes the statements' vote tallies (``core_statement_votes``), from the raw
export on every run: the positions stage reads them only from the processed folder.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import pandas as pd

from analysis.config import ConsultationConfig, SourceConfig, source_path
from analysis.errors import ConfigError, InputError
from analysis.ingest import polis
from analysis.ingest.build import (
    AnswerRows,
    SourceRows,
    merge,
    questions_table,
    unmapped_error,
)
from analysis.ingest.formats import export_format
from analysis.ingest.language import LanguageGuesser, default_guesser
from analysis.schemas import SCHEMAS
from analysis.tables import table_path, write_table

logger = logging.getLogger(__name__)

#: Tables :func:`run` writes (the rejects table last); ``core_statement_votes`` only when a source is Pol.is.
OUTPUT_TABLES = ("core_questions", "core_responses", "core_answers", "core_analyst_tags", "ledger",
                 "core_statement_votes", "core_rejects")


def _frame(rows: list[dict], table: str) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(SCHEMAS[table].columns))


def read_source(cfg: ConsultationConfig, source: SourceConfig, raw_dir: Path) -> SourceRows:
    """Read one source with the reader for its ``format``.

    Raises:
        InputError: The file cannot be read at all.
        ConfigError: The config does not fit the file (missing column, sheet, question id), or ``file`` leaves
            ``raw_dir`` or goes through a symbolic link.
    """
    path = source_path(raw_dir, source.file)  # inside raw_dir, through no symbolic link (else ConfigError)
    label = Path(source.file).as_posix()
    if not path.exists():
        raise InputError(label, f"source not found under {raw_dir}")
    fmt = export_format(source.format)
    return fmt.read(fmt, cfg, source, path, label)


def _answers_frame(cfg: ConsultationConfig, rows: AnswerRows, guesser: LanguageGuesser | None,
                   key_order: bool = False) -> pd.DataFrame:
    """``core_answers`` of ``rows``: an export's own language kept, else ``und`` or (open answers, when
    ``settings.language_detection``) the guessed one.

    The guess reads the rows' own strings before the frame exists, so the texts are never held three times
    (Python strings, the frame's Arrow copy, the guesser's distinct texts) at once. With ``key_order`` the rows
    are put in key order (response, question) first: :func:`~analysis.tables.write_table` then stores the frame
    as it is instead of copying every column into that order.
    """
    open_ids = {q.id for q in cfg.questions if q.kind == "open"}
    # the export's own language (a code); None, NaN and "und" are not one
    language = [lang if isinstance(lang, str) and lang != "und" else "und" for lang in rows.language]
    if cfg.settings.language_detection:
        todo = [i for i, (qid, own) in enumerate(zip(rows.question_id, rows.language, strict=True))
                if qid in open_ids and not (isinstance(own, str) and own != "und")]
        if todo:
            texts = [rows.answer[i] for i in todo]
            for i, code in zip(todo, (guesser or default_guesser()).guess(texts), strict=True):
                language[i] = code
    if key_order:  # the order write_table stores them in, found on the keys alone: the frame is built sorted
        keys = pd.DataFrame({"response_id": rows.response_id, "question_id": rows.question_id})
        order = keys.sort_values(["response_id", "question_id"], kind="mergesort").index.tolist()
        del keys
        rows = AnswerRows.from_columns(*([col[i] for i in order] for col in
                                         (rows.response_id, rows.question_id, rows.answer, language)))
        language = rows.language
    return rows.frame(list(SCHEMAS["core_answers"].columns), language)


def assemble(cfg: ConsultationConfig, rows: SourceRows, guesser: LanguageGuesser | None = None, *,
             consume: bool = False) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Turn merged source rows into the ingest tables (pure: no I/O).

    Args:
        cfg: The config (questions; ``settings.language_detection``).
        rows: All sources' rows (see :func:`~analysis.ingest.build.merge`).
        guesser: Language guesser (default: the module-level lingua one).
        consume: ``rows`` is the caller's to give up: its answers are emptied once the answers table holds them
            (a million answers' texts are not kept twice), and the answers table is in key order (response,
            question), the order it is stored in, rather than file order.

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
    answers = _answers_frame(cfg, rows.answers, guesser, key_order=consume)
    if consume:  # the frame holds its own (Arrow) copy of the texts: the rows' strings can go now
        rows.answers = AnswerRows()
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
        ``core_analyst_tags``, ``ledger`` and, when a source is Pol.is, ``core_statement_votes`` to
        DataFrames; ``rejects`` is ``core_rejects``.

    Raises:
        InputError: A file cannot be read (names the file, and row/column when known).
        ConfigError: The config does not fit the files (every problem of one kind listed at once).
    """
    results = [read_source(cfg, s, Path(raw_dir)) for s in cfg.sources]
    votes = [r.statement_votes for r in results if isinstance(r, polis.PolisRows)]
    rows = merge(results)
    del results  # the merged rows hold everything now; the answers' strings go once the table holds them
    tables, rejects = assemble(cfg, rows, guesser, consume=True)
    if votes:
        tables["core_statement_votes"] = pd.concat(votes, ignore_index=True)
    return tables, rejects


def run(cfg: ConsultationConfig, *, raw_dir: Path, processed_dir: Path) -> list[Path]:
    """Stage entry point: :func:`ingest` and write :data:`OUTPUT_TABLES` to ``processed_dir``.

    A table this run does not produce (``core_statement_votes`` without a Pol.is source) is removed from
    ``processed_dir``, so one written for an earlier version of the config never outlives it.
    """
    tables, rejects = ingest(cfg, raw_dir)
    tables["core_rejects"] = rejects
    out = []
    for name in OUTPUT_TABLES:
        if name in tables:
            out.append(write_table(tables[name], name, processed_dir))
        else:
            table_path(name, processed_dir).unlink(missing_ok=True)
    n_rej = int(tables["ledger"]["rows_rejected"].sum())
    logger.info("ingest: %d responses, %d answers, %d rejected rows (%d reject/warning entries)",
                len(tables["core_responses"]), len(tables["core_answers"]), n_rej, len(rejects))
    return out
