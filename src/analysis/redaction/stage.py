"""Redaction stage: every answer's personal information replaced by ``[KIND]`` tokens before anything else reads it.

Reads ``core_answers``, ``core_responses`` (each respondent's own name and email are redacted from their answers)
and ``core_questions`` (closed answers made only of choice labels stay verbatim); writes
``core_answers_redacted`` (the answers plus ``text_redacted``), ``core_redaction_log`` (how many of each kind per
answer) and ``core_redaction_rejects`` (answers whose redaction failed: their text is left empty, never
unredacted; expected empty). Every later stage reads ``text_redacted``, never the raw ``answer``, for anything
it may publish.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from analysis.config import ConsultationConfig
from analysis.redaction.redact import Session, redact_answers
from analysis.tables import (
    iter_table,
    part_layout,
    read_table,
    table_files,
    write_partitions,
    write_table,
)

log = logging.getLogger(__name__)

REJECT_COLS = ["file", "row", "column", "reason", "raw"]
#: The columns of ``core_responses`` that :func:`~analysis.redaction.redact.redact_answers` reads.
RESPONSE_COLS = ["response_id", "respondent_name", "respondent_email"]


def run(cfg: ConsultationConfig, *, raw_dir: Path, processed_dir: Path) -> list[Path]:
    """Stage: redact every answer and write the redacted answers, the log and the rejects.

    A partitioned ``core_answers`` (more than :func:`~analysis.tables.partition_rows` rows) is redacted a partition
    at a time: each part read, redacted and written as the same part of ``core_answers_redacted``, so the stage
    holds one part's texts at a time (the whole table's redaction gives the same rows: each answer's redaction
    depends on its text and its respondent alone).

    Returns:
        The written paths.
    """
    # only the columns redaction reads: the others (source, channel, dates, consent...) are neither converted nor
    # checked here (1,000,000 responses: a second or two)
    responses = read_table("core_responses", processed_dir, columns=RESPONSE_COLS)
    questions = read_table("core_questions", processed_dir)
    reject_rows: list[dict] = []
    logs: list[pd.DataFrame] = []
    sizes = _part_sizes(processed_dir)
    aligned = sizes == part_layout(sum(sizes))  # else (the partition size changed since ingest): whole
    frames = iter_table("core_answers", processed_dir) if aligned else iter([read_table("core_answers", processed_dir)])

    def redacted_parts(session: Session) -> Iterator[pd.DataFrame]:
        offset = 0
        for i, answers in enumerate(frames):
            rejects: list[dict] = []
            redacted, redaction_log = redact_answers(answers, responses, questions, rejects=rejects, session=session)
            reject_rows.extend(r | {"row": r["row"] + offset} for r in rejects)  # the whole table's row
            logs.append(redaction_log)
            offset += len(answers)
            if aligned and len(sizes) > 1:
                log.info("redaction: part %d of %d (%d answers)", i + 1, len(sizes), len(answers))
            del answers
            yield redacted

    with Session() as session:  # one detecting worker, and the detections carried from part to part
        if aligned:
            written = write_partitions(redacted_parts(session), "core_answers_redacted", processed_dir, sum(sizes))
        else:
            written = write_table(next(redacted_parts(session)), "core_answers_redacted", processed_dir)
    rejects = pd.DataFrame(reject_rows, columns=REJECT_COLS)
    if len(rejects):
        log.warning("redaction: %d answers could not be redacted (see core_redaction_rejects)", len(rejects))
    redaction_log = pd.concat(logs, ignore_index=True) if len(logs) > 1 else logs[0]
    return [
        written,
        write_table(redaction_log, "core_redaction_log", processed_dir),
        write_table(rejects, "core_redaction_rejects", processed_dir),
    ]


def _part_sizes(processed_dir: Path) -> list[int]:
    """Rows of each stored file of ``core_answers`` (one: the table is not partitioned).

    Raises:
        FileNotFoundError: No ``core_answers`` (run ingest first).
    """
    import pyarrow.parquet as pq  # noqa: PLC0415 - pandas imports it anyway

    files = table_files("core_answers", processed_dir)
    if not files:
        read_table("core_answers", processed_dir)  # raises, naming the table and the stage that writes it
    return [pq.read_metadata(f).num_rows for f in files]
