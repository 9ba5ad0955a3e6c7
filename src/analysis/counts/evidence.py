"""Every response behind one ``out_counts`` cell (the analyst's trace from a number back to responses).

``out_counts`` keeps, per cell, the first :data:`analysis.counts.rules.EVIDENCE_MAX` response ids (sorted,
``evidence_ids``) and how many responses there are (``evidence_n``): the full lists grew with the consultation
(21.5 million characters for a generated 10,000-response consultation) and nothing published reads them.
:func:`cell_response_ids` recounts the cells from the same core tables with the cap lifted and returns every id
of one cell.
"""

from __future__ import annotations

from pathlib import Path

from analysis.config import ConsultationConfig
from analysis.counts import rules


def cell_response_ids(cfg: ConsultationConfig, processed_dir: Path, *, table: str, question_id: str, category: str,
                      group: str = "all", count_mode: str = "all") -> list[str]:
    """Every response id behind one ``out_counts`` cell, sorted (recounted from the processed tables).

    Args:
        cfg: The consultation config.
        processed_dir: The processed folder the counts stage read.
        table: ``out_counts.table`` of the cell (``theme``, ``position``, ``option`` ...).
        question_id: Its ``question_id`` (``*`` for tables about whole responses).
        category: Its ``category``.
        group: Its ``group`` (``all`` unless the table has a row dimension).
        count_mode: ``all`` or ``unique``.

    Returns:
        The response ids (``[]`` when the cell is empty or does not exist); their number is the cell's
        ``evidence_n``, and the first :data:`~analysis.counts.rules.EVIDENCE_MAX` are its ``evidence_ids``.
    """
    from analysis.counts.stage import build_counts  # noqa: PLC0415 (the stage imports this package)

    saved, rules.EVIDENCE_MAX = rules.EVIDENCE_MAX, None
    try:
        out = build_counts(cfg, processed_dir)
    finally:
        rules.EVIDENCE_MAX = saved
    hit = out[(out["table"] == table) & (out["question_id"] == question_id) & (out["category"] == category)
              & (out["group"] == group) & (out["count_mode"] == count_mode)]
    if hit.empty or hit["evidence_ids"].isna().all():
        return []
    return str(hit["evidence_ids"].iloc[0]).split(";")
