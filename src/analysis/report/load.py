"""Load the tables the results stage reads, tolerating stages that did not run.

:func:`load_tables` reads every table the report uses with :func:`analysis.tables.read_table`; a table
whose file is absent (e.g. no themes for a consultation with only closed questions) comes back as
``None`` and the report says so. :func:`derive_counts` rebuilds the standard ``out_counts`` tables with
:mod:`analysis.counts` when the counts table itself is absent, so the report never invents its own
counting rules.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.config import ConsultationConfig
from analysis.counts.rules import count_categories, counting_units
from analysis.schemas import POSITIONS
from analysis.tables import read_table

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
    "out_counts",
    "ledger",
    "core_rejects",
    "core_statement_votes",
    "out_theme_support",
    "out_theme_model",
)


def load_tables(processed_dir: str | Path) -> dict[str, Any]:
    """Read every input table that exists (``None`` for missing ones), plus ``stage_records``.

    Raises:
        TableSchemaError: A table exists but does not match its schema.
    """
    out: dict[str, Any] = {"stage_records": load_stage_records(processed_dir)}
    for name in INPUT_TABLES:
        path = Path(processed_dir) / f"{name}.csv"
        if path.exists():
            out[name] = read_table(name, processed_dir)
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


def derive_counts(
    answers_clean: pd.DataFrame,
    responses: pd.DataFrame,
    answer_themes: pd.DataFrame | None,
    answer_positions: pd.DataFrame | None,
    themes: pd.DataFrame | None = None,
    *,
    mode: str,
    min_cell: int,
) -> pd.DataFrame:
    """Standard count tables (``out_counts`` rows) from the coded tables, via :mod:`analysis.counts`.

    Tables: ``position``, ``position_by_respondent_type`` (group = respondent type, category =
    position), ``theme`` (category = theme id), ``theme_by_respondent_type`` (group = respondent type),
    ``theme_position`` (group = theme id, category = position; denominator = units raising the theme).

    Args:
        answers_clean: ``core_answers_clean`` (defines the units and denominators).
        responses: ``core_responses`` (respondent types).
        answer_themes: ``core_answer_themes`` or ``None``.
        answer_positions: ``core_answer_positions`` or ``None``.
        themes: ``core_themes`` (themes listed there are reported even when nobody raised them).
        mode: Count mode (``all`` / ``unique``).
        min_cell: Suppression threshold.

    Returns:
        A frame matching the ``out_counts`` schema.
    """
    units = counting_units(answers_clean, mode)
    types = responses[["response_id", "respondent_type"]]
    typed_units = units.merge(types, on="response_id", how="left").fillna({"respondent_type": "unknown"})
    frames = []
    kw = dict(mode=mode, min_cell=min_cell)
    if answer_positions is not None and len(answer_positions):
        lab = answer_positions[["response_id", "question_id", "position"]]
        frames.append(count_categories(lab, units, table="position", category_col="position",
                                       categories=POSITIONS, **kw))
        lab_t = lab.merge(types, on="response_id", how="left").fillna({"respondent_type": "unknown"})
        frames.append(count_categories(lab_t, units, table="position_by_respondent_type", category_col="position",
                                       group_col="respondent_type", categories=POSITIONS,
                                       denominator_units=typed_units, **kw))
    if answer_themes is not None and len(answer_themes):
        lab = answer_themes[["response_id", "question_id", "theme_id"]]
        for qid, qlab in lab.groupby("question_id", sort=True):
            cats = None
            if themes is not None and len(themes):
                cats = sorted(set(themes.loc[themes["question_id"] == qid, "theme_id"].astype(str))
                              | set(qlab["theme_id"].astype(str)))
            frames.append(count_categories(qlab, units, table="theme", category_col="theme_id", categories=cats, **kw))
            qlab_t = qlab.merge(types, on="response_id", how="left").fillna({"respondent_type": "unknown"})
            frames.append(count_categories(qlab_t, units, table="theme_by_respondent_type", category_col="theme_id",
                                           group_col="respondent_type", categories=cats,
                                           denominator_units=typed_units, **kw))
            if answer_positions is not None and len(answer_positions):
                tp = qlab.merge(answer_positions[["response_id", "question_id", "position"]],
                                on=["response_id", "question_id"], how="inner")
                den = units.merge(qlab, on=["response_id", "question_id"], how="inner")
                frames.append(count_categories(tp, units, table="theme_position", category_col="position",
                                               group_col="theme_id", categories=POSITIONS,
                                               denominator_units=den, **kw))
    frames = [f for f in frames if len(f)]
    if not frames:
        return count_categories(pd.DataFrame(columns=["response_id", "question_id", "c"]), units, table="position",
                                category_col="c", **kw)
    return pd.concat(frames, ignore_index=True)


# --- Pol.is statements ---------------------------------------------------------------------------------
def is_polis(cfg: ConsultationConfig, tables: dict[str, Any]) -> bool:
    """Whether the consultation's answers are Pol.is statements voted on by participants.

    True when a source has format ``polis`` or a position comes from votes (source ``votes``).
    """
    if any(s.format == "polis" for s in cfg.sources):
        return True
    pos = tables.get("core_answer_positions")
    return pos is not None and bool((pos["source"] == "votes").any())


def vote_summary(votes: pd.DataFrame | None, ledger: pd.DataFrame | None = None) -> dict[str, Any] | None:
    """Totals of ``core_statement_votes``: statements, votes cast, voters.

    ``participants`` is the number of rows of the Pol.is participant matrix (``participants-votes.csv``
    in the ledger) when it was read, else ``None``; ``max_voters`` / ``median_voters`` describe the
    voters per statement. ``passes`` is ``None`` when some tallies lack pass counts.

    Returns:
        A dict of integers, or ``None`` without votes.
    """
    if votes is None or votes.empty:
        return None
    agrees, disagrees = int(votes["agrees"].sum()), int(votes["disagrees"].sum())
    passes = None if votes["passes"].isna().any() else int(votes["passes"].sum())
    voters = votes["n_voters"].dropna()
    participants = None
    if ledger is not None and len(ledger):
        rows = ledger[(ledger["reader"] == "polis") & ledger["file"].astype(str).str.endswith("participants-votes.csv")]
        if len(rows):
            participants = int(rows["rows_read"].sum())
    return {"statements": int(len(votes)), "agrees": agrees, "disagrees": disagrees, "passes": passes,
            "votes": agrees + disagrees + (passes or 0), "participants": participants,
            "max_voters": int(voters.max()) if len(voters) else None,
            "median_voters": float(voters.median()) if len(voters) else None}


def statement_position_counts(positions: pd.DataFrame | None, question_id: str) -> dict[str, int]:
    """Statements per vote-based position (``support`` / ``oppose`` / ``unclear``) of one question."""
    if positions is None or positions.empty:
        return {}
    p = positions[(positions["question_id"] == question_id) & (positions["source"] == "votes")]
    return {str(k): int(v) for k, v in p["position"].value_counts().sort_index().items()}

