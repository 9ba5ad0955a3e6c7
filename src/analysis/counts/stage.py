"""The counts stage: every published count table, in both count modes, as one ``out_counts`` table.

Tables (the ``table`` column):

- ``responses``: responses by channel (group) and respondent type (category); ``question_id`` is ``*``.
- ``campaign``: per question, answers of each campaign's members vs all other answers (category
  ``campaign:<id>`` / ``independent``); question ``*``: every response, so a campaign's ``all``-mode ``n``
  there is its size across questions and channels.
- ``option`` / ``option_respondent_type``: per closed question, respondents choosing each choice
  (:func:`analysis.counts.options.option_counts`).
- ``responses_<attribute>`` / ``option_<attribute>``: breakdowns by the respondent attributes
  ``settings.breakdowns`` names (:func:`analysis.counts.breakdowns.breakdown_counts`).
- theme tables from :func:`analysis.counts.themes.theme_counts` and position tables from
  :func:`analysis.counts.prevalence.position_counts`.
- Pol.is statements, votes and voters from :func:`analysis.counts.polis.polis_counts`.

Everything is computed in both count modes (``all`` responses and ``unique`` submissions); the report
shows ``settings.count_mode`` first and the other beside it. Campaign membership is per respondent
(:func:`analysis.counts.rules.respondent_campaigns`, from ``core_answers_clean`` and
``core_submission_campaigns``) and the same membership is applied to every table and question.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import engine
from analysis.config import ConsultationConfig
from analysis.counts import parallel
from analysis.counts.breakdowns import breakdown_counts
from analysis.counts.cells import map_strings
from analysis.counts.options import option_counts
from analysis.counts.polis import polis_counts
from analysis.counts.prevalence import position_counts
from analysis.counts.reuse import MISSING, input_key, reused, store, stored
from analysis.counts.rules import count_categories, counting_units, respondent_campaigns
from analysis.counts.themes import theme_counts
from analysis.errors import TableSchemaError
from analysis.tables import read_optional, read_table, table_exists, write_table

log = logging.getLogger(__name__)

MODES = ("all", "unique")


def response_counts(responses: pd.DataFrame, answers_clean: pd.DataFrame, min_cell: int,
                    membership: pd.Series | None = None) -> pd.DataFrame:
    """Responses by channel x respondent type in both count modes.

    In ``unique`` mode every member of one campaign (``membership``; default: campaigns found in
    ``answers_clean``) collapses into one unit.
    """
    if membership is None:
        membership = respondent_campaigns(answers_clean)
    frames = []
    for mode in MODES:
        lab = responses[["response_id", "channel", "respondent_type"]].assign(question_id="*")
        units = counting_units(lab, mode, membership)
        units = units.merge(lab[["response_id", "channel"]], on="response_id")
        frames.append(
            count_categories(lab, units, table="responses", category_col="respondent_type", group_col="channel",
                             mode=mode, min_cell=min_cell)
        )
        frames.append(
            count_categories(lab, units.drop(columns="channel"), table="responses_total",
                             category_col="respondent_type", mode=mode, min_cell=min_cell)
        )
    return pd.concat(frames, ignore_index=True)


def campaign_counts(answers_clean: pd.DataFrame, min_cell: int, membership: pd.Series | None = None,
                    responses: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per question (and ``*``: every response): answers of each campaign's members vs the others, both modes."""
    if membership is None:
        membership = respondent_campaigns(answers_clean)
    lab = answers_clean[["response_id", "question_id"]].copy()
    if responses is not None:
        lab = pd.concat([lab, responses[["response_id"]].assign(question_id="*")], ignore_index=True)
    camp = map_strings(lab["response_id"], membership)
    lab["category"] = ("campaign:" + camp.astype(str)).where(camp.notna(), "independent")
    frames = []
    for mode in MODES:
        units = counting_units(lab, mode, membership)
        frames.append(count_categories(lab, units, table="campaign", category_col="category", mode=mode,
                                       min_cell=min_cell))
    return pd.concat(frames, ignore_index=True)


#: The columns of ``core_answers_clean`` the counts read (not the redacted texts: at 200k answers with 90%
#: campaign letters, reading and filtering those was a fifth of the stage).
ANSWER_COLUMNS = ("response_id", "question_id", "answer", "campaign_id", "is_campaign_copy")
#: The columns of ``core_answer_themes`` the counts read (not the scores and sources of its million rows at 200k
#: answers with 90% campaign letters).
THEME_COLUMNS = ("response_id", "question_id", "theme_id")
#: Tables the counts that read no themes and no positions are computed from (:func:`build_counts`).
BASE_TABLES = ("core_responses", "core_answers_clean", "core_submission_campaigns")
#: Tables the position counts that are not crossed with themes are computed from.
POSITION_TABLES = BASE_TABLES + ("core_answer_positions", "core_position_confusion")
#: Position count families crossed with the themes (recomputed whenever the themes change).
THEMED_POSITION_TABLES = ("theme_position",)


def counted_answers(cfg: ConsultationConfig, processed_dir: Path) -> pd.DataFrame:
    """``core_answers_clean``'s :data:`ANSWER_COLUMNS`, with ``answer`` read for the closed questions' rows only
    (the options and breakdowns read no other; an open question's is ``None`` here). At a million responses with
    90% campaign letters the open answers' texts were most of what the stage held."""
    answers = read_table("core_answers_clean", processed_dir, columns=[c for c in ANSWER_COLUMNS if c != "answer"])
    closed = sorted(q.id for q in cfg.closed_questions)
    ticked = read_table("core_answers_clean", processed_dir, columns=("response_id", "question_id", "answer"),
                        where=("question_id", closed))
    mask = answers["question_id"].isin(closed).to_numpy()
    if int(mask.sum()) != len(ticked) or not (answers["response_id"].to_numpy()[mask]
                                               == ticked["response_id"].to_numpy()).all():
        raise TableSchemaError("core_answers_clean: its closed questions' rows differ between two reads (the file "
                               "changed during the counts stage); run the stage again")  # pragma: no cover
    column = np.full(len(answers), None, dtype=object)
    column[mask] = ticked["answer"].to_numpy(dtype=object)
    answers.insert(answers.columns.get_loc("question_id") + 1, "answer",
                   pd.array(column, dtype=ticked["answer"].dtype) if len(ticked) else column)
    return answers


def base_counts(cfg: ConsultationConfig, responses: pd.DataFrame, answers_clean: pd.DataFrame,
                membership: pd.Series) -> list[pd.DataFrame]:
    """The families that read no themes and no positions: responses, campaigns, closed options, breakdowns."""
    min_cell = cfg.settings.min_cell
    return [response_counts(responses, answers_clean, min_cell, membership),
            campaign_counts(answers_clean, min_cell, membership, responses),
            option_counts(answers_clean, responses, cfg, membership=membership),
            breakdown_counts(answers_clean, responses, cfg, membership=membership)]


def base_counts_from(cfg: ConsultationConfig, processed_dir: Path) -> list[pd.DataFrame]:
    """:func:`base_counts` from the tables it is computed from (what :func:`build_counts`'s second process runs)."""
    responses = read_table("core_responses", processed_dir)
    answers_clean = counted_answers(cfg, processed_dir)
    members = respondent_campaigns(answers_clean, read_optional("core_submission_campaigns", processed_dir))
    return base_counts(cfg, responses, answers_clean, members)


def build_counts(cfg: ConsultationConfig, processed_dir: Path, *, reuse: bool = False) -> pd.DataFrame:
    """Assemble every count table for one consultation (pure apart from reading tables).

    With two CPUs and a large consultation (:data:`analysis.counts.parallel.MIN_ROWS`), the base family is
    computed by a second process from the same tables while this one counts themes and positions
    (:mod:`analysis.counts.parallel`); the frames are the same either way. Not on the Dask engine: that second
    process reads the tables again, a second copy on the pipeline's machine (at 5,000,000 responses 10 GB beside
    this process's 12.5 GB), where the engine is used for consultations too large to hold twice.

    Args:
        cfg: The consultation.
        processed_dir: Folder of the processed tables.
        reuse: Keep the families that read neither themes nor (for the base counts) positions in the cache
            and reuse them while their input tables are unchanged (:mod:`analysis.counts.reuse`): a codebook
            edit recounts only the themes. The result is the same either way.
    """
    base_key = input_key(cfg, processed_dir, BASE_TABLES, "base") if reuse else ""
    base = stored(processed_dir, "base", base_key) if reuse else MISSING
    beside = None
    if (base is MISSING and parallel.WORKERS > 1 and engine.active() is None
            and parallel.table_rows("core_answers_clean", processed_dir) >= parallel.MIN_ROWS):
        beside = parallel.Beside(base_counts_from, cfg, processed_dir)
    try:
        rest, responses, answers_clean, members = _themed_counts(cfg, processed_dir, reuse)
        if base is MISSING:
            ok, base = beside.result() if beside is not None else (False, None)
            if not ok:
                base = base_counts(cfg, responses, answers_clean, members)
            if reuse:
                store(processed_dir, "base", base_key, base)
    finally:
        if beside is not None:
            beside.close()
    frames = [f for f in [*base, *rest] if f is not None and len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _themed_counts(cfg: ConsultationConfig, processed_dir: Path, reuse: bool):
    """The theme, position and Pol.is families, with the responses, answers and membership they were counted on."""
    responses = read_table("core_responses", processed_dir)
    answers_clean = counted_answers(cfg, processed_dir)
    answer_themes = (read_table("core_answer_themes", processed_dir, columns=THEME_COLUMNS)
                     if table_exists("core_answer_themes", processed_dir) else None)
    answer_positions = read_optional("core_answer_positions", processed_dir)
    members = respondent_campaigns(answers_clean, read_optional("core_submission_campaigns", processed_dir))
    frames = []
    if answer_themes is not None:
        frames.append(theme_counts(answer_themes, answers_clean, responses, cfg, membership=members))
    if answer_positions is not None:
        confusion = read_optional("core_position_confusion", processed_dir)
        compute = lambda: position_counts(  # noqa: E731
            answer_positions, answers_clean, responses, None, cfg, confusion=confusion, membership=members)
        plain = (reused(processed_dir, "positions", input_key(cfg, processed_dir, POSITION_TABLES, "positions"),
                        compute) if reuse else compute())
        themed = None
        if answer_themes is not None:
            themed = position_counts(answer_positions, answers_clean, responses, answer_themes, cfg,
                                     confusion=confusion, membership=members, tables=THEMED_POSITION_TABLES)
        frames.append(_merged(plain, themed))
    frames.append(polis_counts(read_optional("core_statement_votes", processed_dir),
                               read_optional("core_rejects", processed_dir), read_optional("ledger", processed_dir)))
    return frames, responses, answers_clean, members


def _merged(plain: pd.DataFrame, themed: pd.DataFrame | None) -> pd.DataFrame:
    """The position counts of both parts in :func:`~analysis.counts.prevalence.position_counts`'s order (its key)."""
    parts = [f for f in (plain, themed) if f is not None and len(f)]
    if len(parts) < 2:
        return parts[0] if parts else plain
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["table", "question_id", "group", "category", "count_mode"], kind="mergesort").reset_index(
        drop=True)


def run(cfg: ConsultationConfig, *, raw_dir: Path, processed_dir: Path) -> list[Path]:
    """Write ``out_counts`` for the consultation."""
    out = build_counts(cfg, processed_dir, reuse=True)
    return [write_table(out, "out_counts", processed_dir)]
