"""Theme counts: themes per open question and theme x respondent type, in both count modes."""

from __future__ import annotations

import pandas as pd

from analysis.config import ConsultationConfig
from analysis.counts.cells import map_strings
from analysis.counts.coded import prepared
from analysis.counts.rules import count_categories, counting_units, respondent_campaigns, respondent_types


def theme_counts(answer_themes: pd.DataFrame, answers_clean: pd.DataFrame, responses: pd.DataFrame,
                 cfg: ConsultationConfig, *, membership: pd.Series | None = None) -> pd.DataFrame:
    """Counts of themes per question and theme x respondent type, in both count modes.

    Denominator: every answer to the question (``other`` and ``_untranslated`` included, so shares of
    the shown categories add up with them). Evidence ids list the responses behind each count. In
    ``unique`` mode a campaign (``membership``: per respondent, default from ``answers_clean``) counts once
    on every question and raises each theme at least one of its members raised.

    Returns:
        ``out_counts`` rows for tables ``theme`` and ``theme_respondent_type``.
    """
    open_ids = {q.id for q in cfg.open_questions}
    ans = answers_clean[answers_clean["question_id"].isin(open_ids)]
    at = answer_themes[answer_themes["question_id"].isin(open_ids)]
    rtype = respondent_types(responses)
    if membership is None:
        membership = respondent_campaigns(answers_clean)
    at = at.assign(respondent_type=map_strings(at["response_id"], rtype).fillna("unknown"))
    # every open question in one call per table and mode, each with its own themes (as one call per question)
    cats = {qid: sorted(g["theme_id"].astype(str).unique()) for qid, g in at.groupby("question_id", sort=True)}
    frames = []
    coded = None
    for mode in ("all", "unique"):
        units = counting_units(ans, mode, membership)
        units_rt = units.assign(respondent_type=map_strings(units["response_id"], rtype).fillna("unknown"))
        if not cats:
            continue
        coded = prepared(units, like=coded)  # encoded once for both tables (keys: once for both modes)
        frames.append(count_categories(at, coded, table="theme", category_col="theme_id", categories=cats,
                                       mode=mode, min_cell=cfg.settings.min_cell))
        frames.append(count_categories(at, coded, table="theme_respondent_type", category_col="theme_id",
                                       group_col="respondent_type", categories=cats, mode=mode,
                                       min_cell=cfg.settings.min_cell,
                                       denominator_units=units_rt[units_rt["question_id"].isin(list(cats))]))
    if not frames:
        return count_categories(at.assign(theme_id=at["theme_id"]), counting_units(ans, "all"), table="theme",
                                category_col="theme_id", mode="all")
    return pd.concat(frames, ignore_index=True)
