"""Load the tables the results stage reads, tolerating stages that did not run, except the counts stage.

:func:`load_tables` reads every table the report uses with :func:`analysis.tables.read_table`; a table
whose file is absent (e.g. no themes for a consultation with only closed questions) comes back as
``None`` and the report says so. ``out_counts`` is the one exception (:func:`report_counts`): every
number the report publishes is one of its cells, so without it the report stops and asks for the counts
stage to be run; it never counts the coded tables itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.config import ConsultationConfig
from analysis.errors import AnalysisError
from analysis.mapped import read_mapped
from analysis.schemas import SCHEMAS
from analysis.tables import read_table, table_exists

log = logging.getLogger(__name__)

#: Tables the results stage reads (all optional except as noted in the report).
INPUT_TABLES = (
    "core_questions",
    "core_responses",
    "core_answers_clean",
    "core_campaigns",
    "core_themes",
    "core_answer_themes",
    "core_answer_positions",
    "core_position_confusion",
    "out_counts",
    "ledger",
    "core_rejects",
    "core_statement_votes",
    "out_theme_support",
    "out_theme_model",
)


#: Columns the report never reads, left on disk: the raw answer text (the report publishes and writes redacted text
#: only; at 1,000,000 answers the column is over a gigabyte in memory, in the report's process and its fork).
UNREAD_COLUMNS = {"core_answers_clean": ("answer",)}
#: Text columns read memory-mapped from a large table (:func:`analysis.mapped.read_mapped`): every answer's redacted
#: text, 7.7 GB at 5,000,000 responses, is then the pages of a file, not the report's own memory.
MAPPED_COLUMNS = {"core_answers_clean": ("text_redacted", "personal_addition")}


def _columns(name: str) -> list[str] | None:
    """The columns of table ``name`` the report reads (``None``: all)."""
    if name not in UNREAD_COLUMNS:
        return None
    return [c for c in SCHEMAS[name].columns if c not in UNREAD_COLUMNS[name]]


def load_tables(processed_dir: str | Path) -> dict[str, Any]:
    """Read every input table that exists (``None`` for missing ones), plus ``stage_records``; of
    ``core_answers_clean`` every column but the raw ``answer`` (:data:`UNREAD_COLUMNS`), its texts memory-mapped when
    it is large (:data:`MAPPED_COLUMNS`).

    Raises:
        TableSchemaError: A table exists but does not match its schema.
    """
    out: dict[str, Any] = {"stage_records": load_stage_records(processed_dir)}
    for name in INPUT_TABLES:
        if table_exists(name, processed_dir):
            out[name] = (read_mapped(name, processed_dir, MAPPED_COLUMNS[name], columns=_columns(name))
                         if name in MAPPED_COLUMNS else read_table(name, processed_dir, columns=_columns(name)))
        else:
            log.info("table %s not found in the processed folder: its report section says so", name)
            out[name] = None
    return deidentify_files(out)


def deidentify_files(tables: dict[str, Any]) -> dict[str, Any]:
    """Keep submitters' names out of published file names.

    Emailed or uploaded submissions are often saved as "Submission from Jane Smith.eml": in anything published,
    the per-file ledger rows of ``folder`` sources collapse into one row per folder, and rejects from those files
    name the folder and a short hash of the file name instead of the name. Returns a new dict.
    """
    out = dict(tables)
    led = out.get("ledger")
    if led is None or led.empty or not (led["reader"] == "folder").any():
        return out
    folder = led["reader"] == "folder"
    files = set(led.loc[folder, "file"].astype(str))

    def _folder(path: str) -> str:
        return (path.rsplit("/", 1)[0] if "/" in path else ".") + "/"

    agg = (led[folder].assign(file=led.loc[folder, "file"].astype(str).map(_folder))
           .groupby(["file", "reader"], as_index=False, sort=True)[["rows_read", "rows_kept", "rows_rejected"]].sum())
    agg["sha256"] = "(one row per folder; see provenance)"
    out["ledger"] = pd.concat([led[~folder], agg], ignore_index=True)[list(led.columns)]
    rej = out.get("core_rejects")
    if rej is not None and len(rej):
        def _mask(path: object) -> object:
            text = str(path)
            if text not in files:
                return path
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
            return f"{_folder(text)}file-{digest}{Path(text).suffix}"
        out["core_rejects"] = rej.assign(file=rej["file"].map(_mask))
    return out


def public_path(value: object) -> str:
    """A path safe to publish: absolute paths are reduced to the file name (no user folders leak)."""
    text = str(value)
    if text.startswith("/") or (len(text) > 2 and text[1] == ":" and text[2] in "\\/"):
        return Path(text.replace("\\", "/")).name
    return text


def load_stage_records(processed_dir: str | Path) -> list[dict[str, str]]:
    """What stages recorded about their run (backend, model, seed ...) in ``<processed>/*.json``.

    Every top-level JSON object found is flattened to ``{stage, key, value}`` rows (nested objects
    one level deep as ``outer.inner``); absolute paths are reduced to file names. Unreadable files
    are logged and skipped (they describe runs, they are not data).
    """
    rows: list[dict[str, str]] = []
    for path in sorted(Path(processed_dir).glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            log.warning("stage record %s is not readable JSON (%s): skipped", path.name, err)
            continue
        if not isinstance(data, dict):
            continue
        for key, value in sorted(data.items()):
            items = sorted(value.items()) if isinstance(value, dict) else [(None, value)]
            for sub, v in items:
                if isinstance(v, dict | list):
                    v = json.dumps(v, sort_keys=True)
                rows.append({"stage": path.stem, "key": f"{key}.{sub}" if sub else str(key), "value": public_path(v)})
    return rows


class MissingCountsError(AnalysisError):
    """The processed folder holds no ``out_counts`` table, the only source of the report's numbers."""


def report_counts(tables: dict[str, Any], count_mode: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``out_counts`` as loaded (both count modes) and its rows of ``count_mode``.

    Raises:
        MissingCountsError: ``out_counts`` was not found (the counts stage has not run).
    """
    counts = tables.get("out_counts")
    if counts is None:
        raise MissingCountsError(
            "the processed folder has no out_counts table: every number in the report comes from the counts "
            "stage, so run it first (`analysis counts <consultation>`, or `analysis run <consultation>`)")
    return counts, counts[counts["count_mode"].astype(str) == count_mode]


# --- Pol.is statements ---------------------------------------------------------------------------------
def is_polis(cfg: ConsultationConfig, tables: dict[str, Any]) -> bool:
    """Whether the consultation's answers are Pol.is statements voted on by participants.

    True when a source has format ``polis`` or a position comes from votes (source ``votes``).
    """
    if any(s.format == "polis" for s in cfg.sources):
        return True
    pos = tables.get("core_answer_positions")
    return pos is not None and bool((pos["source"] == "votes").any())
