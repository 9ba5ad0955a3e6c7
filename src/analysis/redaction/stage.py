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
from pathlib import Path

import pandas as pd

from analysis.config import ConsultationConfig
from analysis.redaction.redact import redact_answers
from analysis.tables import read_table, write_table

log = logging.getLogger(__name__)

REJECT_COLS = ["file", "row", "column", "reason", "raw"]
#: The columns of ``core_responses`` that :func:`~analysis.redaction.redact.redact_answers` reads.
RESPONSE_COLS = ["response_id", "respondent_name", "respondent_email"]


def run(cfg: ConsultationConfig, *, raw_dir: Path, processed_dir: Path) -> list[Path]:
    """Stage: redact every answer and write the redacted answers, the log and the rejects.

    Returns:
        The written paths.
    """
    answers = read_table("core_answers", processed_dir)
    # only the columns redaction reads: the others (source, channel, dates, consent...) are neither converted nor
    # checked here (1,000,000 responses: a second or two)
    responses = read_table("core_responses", processed_dir, columns=RESPONSE_COLS)
    questions = read_table("core_questions", processed_dir)
    reject_rows: list[dict] = []
    redacted, redaction_log = redact_answers(answers, responses, questions, rejects=reject_rows)
    rejects = pd.DataFrame(reject_rows, columns=REJECT_COLS)
    if len(rejects):
        log.warning("redaction: %d answers could not be redacted (see core_redaction_rejects)", len(rejects))
    return [
        write_table(redacted, "core_answers_redacted", processed_dir),
        write_table(redaction_log, "core_redaction_log", processed_dir),
        write_table(rejects, "core_redaction_rejects", processed_dir),
    ]
