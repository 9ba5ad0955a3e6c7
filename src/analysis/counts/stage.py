"""The counts stage: every published count table, in both count modes, as one ``out_counts`` table.

Tables (the ``table`` column):

- ``responses``: responses by channel (group) and respondent type (category); ``question_id`` is ``*``.
- ``campaign``: per open question, campaign copies vs other answers (category ``campaign:<id>`` / ``unique``).
- ``option`` / ``option_respondent_type``: per closed question, respondents choosing each choice
  (:func:`analysis.counts.options.option_counts`).
- ``responses_<attribute>`` / ``option_<attribute>``: breakdowns by the respondent attributes
  ``settings.breakdowns`` names (:func:`analysis.counts.breakdowns.breakdown_counts`).
- theme tables from :func:`analysis.counts.themes.theme_counts` and position tables from
  :func:`analysis.counts.prevalence.position_counts`.
- Pol.is statements, votes and voters from :func:`analysis.counts.polis.polis_counts`.

Everything is computed in both count modes (``all`` responses and ``unique`` submissions); the report
shows ``settings.count_mode`` first and the other beside it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from analysis.config import ConsultationConfig
from analysis.counts.breakdowns import breakdown_counts
from analysis.counts.options import option_counts
from analysis.counts.polis import polis_counts
from analysis.counts.prevalence import position_counts
from analysis.counts.rules import count_categories, counting_units
from analysis.counts.themes import theme_counts
from analysis.tables import read_optional, read_table, write_table

log = logging.getLogger(__name__)

MODES = ("all", "unique")


def response_counts(responses: pd.DataFrame, answers_clean: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Responses by channel x respondent type in both count modes.

    In ``unique`` mode a response counts as a campaign copy when any of its answers is one; every
    response of one campaign then collapses into one unit.
    """
    frames = []
    for mode in MODES:
        camp = answers_clean[answers_clean["is_campaign_copy"]].sort_values(["response_id", "question_id"])
        first = camp.drop_duplicates("response_id").set_index("response_id")["campaign_id"]
        lab = responses[["response_id", "channel", "respondent_type"]].assign(question_id="*")
        units = lab[["response_id", "question_id"]].copy()
        units["unit_id"] = units["response_id"]
        if mode == "unique":
            hit = units["response_id"].map(first)
            units.loc[hit.notna(), "unit_id"] = "campaign:" + hit[hit.notna()].astype(str)
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


def campaign_counts(answers_clean: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Per question: answers that are copies of each campaign vs all other answers, both modes."""
    lab = answers_clean[["response_id", "question_id"]].copy()
    lab["category"] = "independent"
    copy = answers_clean["is_campaign_copy"].to_numpy()
    lab.loc[copy, "category"] = "campaign:" + answers_clean.loc[copy, "campaign_id"].astype(str)
    frames = []
    for mode in MODES:
        units = counting_units(answers_clean, mode)
        frames.append(count_categories(lab, units, table="campaign", category_col="category", mode=mode,
                                       min_cell=min_cell))
    return pd.concat(frames, ignore_index=True)


def build_counts(cfg: ConsultationConfig, processed_dir: Path) -> pd.DataFrame:
    """Assemble every count table for one consultation (pure apart from reading tables)."""
    responses = read_table("core_responses", processed_dir)
    answers_clean = read_table("core_answers_clean", processed_dir)
    answer_themes = read_optional("core_answer_themes", processed_dir)
    answer_positions = read_optional("core_answer_positions", processed_dir)
    min_cell = cfg.settings.min_cell
    frames = [response_counts(responses, answers_clean, min_cell), campaign_counts(answers_clean, min_cell),
              option_counts(answers_clean, responses, cfg), breakdown_counts(answers_clean, responses, cfg)]
    if answer_themes is not None:
        frames.append(theme_counts(answer_themes, answers_clean, responses, cfg))
    if answer_positions is not None:
        confusion = read_optional("core_position_confusion", processed_dir)
        frames.append(position_counts(answer_positions, answers_clean, responses, answer_themes, cfg, confusion=confusion))
    frames.append(polis_counts(read_optional("core_statement_votes", processed_dir),
                               read_optional("core_rejects", processed_dir), read_optional("ledger", processed_dir)))
    frames = [f for f in frames if f is not None and len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def run(cfg: ConsultationConfig, *, raw_dir: Path, processed_dir: Path) -> list[Path]:
    """Write ``out_counts`` for the consultation."""
    out = build_counts(cfg, processed_dir)
    return [write_table(out, "out_counts", processed_dir)]
