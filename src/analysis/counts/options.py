"""Per-option counts of closed questions: how many respondents chose each choice, overall and by respondent type.

Tables (``out_counts.table``):

- ``option``: per closed question, one row per choice label of the config (zero rows included, in config
  order), ``group`` ``all``.
- ``option_respondent_type``: the same per respondent type (``group``); denominators are that type's answers.

A multi-select answer counts once for each label it holds (shares then add up to more than 100%); an
"Other (please specify): text" answer counts under the ``other_choice`` label (the free text is not a
category). Denominator: every answer to the question. Both count modes, through
:func:`analysis.counts.rules.count_categories`, like every published number. In ``unique`` mode a
campaign (every member's tick-box answer, wherever the campaign was found) counts once, under the choice
most of its members ticked (a tie: under each tied choice); on a multi-select question, under each choice
at least half of its members ticked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.config import ConsultationConfig, QuestionConfig
from analysis.counts.cells import map_strings
from analysis.counts.coded import prepared
from analysis.counts.rules import count_categories, counting_units, respondent_campaigns, respondent_types


def answer_options(answer: str, question: QuestionConfig) -> list[str]:
    """The choice labels one stored closed answer holds (``other_choice`` for its "Other: text" part)."""
    parts = answer.split(question.choice_separator) if question.multi_select else [answer]
    out: list[str] = []
    for part in (p.strip() for p in parts):
        if part in question.choices:
            out.append(part)
        elif question.other_choice and part.startswith(question.other_choice):
            out.append(question.other_choice)
    return list(dict.fromkeys(out))


def labelled_options(ans: pd.DataFrame, closed: dict[str, QuestionConfig]) -> pd.DataFrame:
    """``response_id, question_id, option``: one row per choice label each closed answer holds.

    Each distinct (question, answer) is split once (tick-box answers repeat a handful of values).
    """
    if ans.empty:
        return pd.DataFrame({"response_id": [], "question_id": [], "option": []})
    q_codes, q_vals = pd.factorize(ans["question_id"], use_na_sentinel=False)
    t_codes, t_vals = pd.factorize(ans["answer"], use_na_sentinel=False)
    _, first, inverse = np.unique(q_codes.astype(np.int64) * max(len(t_vals), 1) + t_codes, return_index=True,
                                  return_inverse=True)
    opts = [answer_options(str(t_vals[t_codes[i]]), closed[q_vals[q_codes[i]]]) for i in first.tolist()]
    lens = np.fromiter((len(o) for o in opts), dtype=np.int64, count=len(opts))
    row_len = lens[inverse]
    start = np.concatenate([[0], np.cumsum(lens)[:-1]])
    flat = np.asarray([o for os_ in opts for o in os_], dtype=object)
    within = np.arange(int(row_len.sum())) - np.repeat(np.cumsum(row_len) - row_len, row_len)
    return pd.DataFrame({"response_id": np.repeat(ans["response_id"].to_numpy(), row_len),
                         "question_id": np.repeat(ans["question_id"].to_numpy(), row_len),
                         "option": flat[np.repeat(start[inverse], row_len) + within] if len(flat) else flat},
                        columns=["response_id", "question_id", "option"])


def option_counts(answers_clean: pd.DataFrame, responses: pd.DataFrame, cfg: ConsultationConfig, *,
                  membership: pd.Series | None = None) -> pd.DataFrame | None:
    """``out_counts`` rows of tables ``option`` and ``option_respondent_type`` (``None``: no closed answers).

    ``membership``: per-respondent campaign (default: from ``answers_clean``, all questions).
    """
    if membership is None:
        membership = respondent_campaigns(answers_clean)
    closed = {q.id: q for q in cfg.closed_questions}
    ans = answers_clean[answers_clean["question_id"].isin(closed)]
    if ans.empty:
        return None
    labelled = labelled_options(ans, closed)
    rtype = respondent_types(responses)
    by_type = labelled.assign(respondent_type=map_strings(labelled["response_id"], rtype).fillna("unknown"))
    frames = []
    coded = None
    for mode in ("all", "unique"):
        units = counting_units(ans, mode, membership)
        units_rt = units.assign(respondent_type=map_strings(units["response_id"], rtype).fillna("unknown"))
        asked = set(units["question_id"].unique())
        coded = prepared(units, like=coded)  # encoded once for the calls of this mode (keys: once for both)
        for rule in ("plurality", "majority"):  # the questions of one rule in one call, each with its own choices
            cats = {qid: list(q.choices) for qid, q in closed.items()
                    if qid in asked and ("majority" if q.multi_select else "plurality") == rule}
            if not cats:
                continue
            qids = list(cats)
            frames.append(count_categories(labelled[labelled["question_id"].isin(qids)], coded, table="option",
                                           category_col="option", categories=cats, mode=mode,
                                           min_cell=cfg.settings.min_cell, unit_rule=rule))
            frames.append(count_categories(by_type[by_type["question_id"].isin(qids)], coded,
                                           table="option_respondent_type", category_col="option",
                                           group_col="respondent_type", categories=cats, mode=mode,
                                           min_cell=cfg.settings.min_cell,
                                           denominator_units=units_rt[units_rt["question_id"].isin(qids)],
                                           unit_rule=rule))
    return pd.concat(frames, ignore_index=True) if frames else None
