"""Breakdowns by the respondent attributes ``settings.breakdowns`` names (sector, country / region).

Respondent type is broken down everywhere already (``responses``, ``option_respondent_type``,
``theme_respondent_type``, ``position_respondent_type``); every other attribute of :data:`ATTRIBUTES` named
in ``settings.breakdowns`` adds two ``out_counts`` tables:

- ``responses_<attribute>``: responses by value (question ``*``, group ``all``, category = value; a
  respondent who gave none is ``not stated``); denominator: every response (unique submission).
- ``option_<attribute>``: per closed question, respondents choosing each option (category, in config order)
  by value (group); denominators are that value's answers to the question.

Both count modes, through :func:`analysis.counts.rules.count_categories`, so the small-cell rules of every
published cell apply: cells below ``min_cell`` are suppressed, and secondary suppression hides a second cell
wherever one hidden cell could be recovered from its row's total.
"""

from __future__ import annotations

import pandas as pd

from analysis.config import ConsultationConfig
from analysis.counts.options import labelled_options
from analysis.counts.rules import count_categories, counting_units, respondent_campaigns

#: Attributes with their own breakdown tables (``respondent_type`` has its tables in every count).
ATTRIBUTES = ("sector", "country")
#: Category of respondents who gave no value for the attribute.
NOT_STATED = "not stated"


def attribute_values(responses: pd.DataFrame, attribute: str) -> pd.DataFrame:
    """``response_id`` and the attribute's value, whitespace collapsed (missing or blank: :data:`NOT_STATED`)."""
    col = responses[attribute] if attribute in responses.columns else pd.Series(None, index=responses.index)
    values = col.map(lambda v: " ".join(str(v).split()) if isinstance(v, str) else "").replace("", NOT_STATED)
    return pd.DataFrame({"response_id": responses["response_id"].to_numpy(), attribute: values.to_numpy()})


def breakdown_counts(answers_clean: pd.DataFrame, responses: pd.DataFrame, cfg: ConsultationConfig, *,
                     membership: pd.Series | None = None) -> pd.DataFrame | None:
    """``out_counts`` rows of ``responses_<attribute>`` and ``option_<attribute>`` for each attribute of
    ``settings.breakdowns`` in :data:`ATTRIBUTES` (``None``: none named).

    ``membership``: per-respondent campaign (default: from ``answers_clean``, all questions), so a campaign
    counts once in ``unique`` mode exactly as in the ``responses`` and ``option`` tables (plurality rule for
    one-answer questions, majority for multi-select).
    """
    attrs = [a for a in cfg.settings.breakdowns if a in ATTRIBUTES]
    if not attrs:
        return None
    if membership is None:
        membership = respondent_campaigns(answers_clean)
    min_cell = cfg.settings.min_cell
    closed = {q.id: q for q in cfg.closed_questions}
    ans = answers_clean[answers_clean["question_id"].isin(closed)]
    opts = labelled_options(ans, closed)
    frames = []
    for attr in attrs:
        values = attribute_values(responses, attr)
        for mode in ("all", "unique"):
            lab = values.assign(question_id="*")
            units = counting_units(lab, mode, membership)
            frames.append(count_categories(lab, units, table=f"responses_{attr}", category_col=attr, mode=mode,
                                           min_cell=min_cell))
            if ans.empty:
                continue
            q_units = counting_units(ans, mode, membership)
            den = q_units.merge(values, on="response_id", how="left").fillna({attr: NOT_STATED})
            by_value = opts.merge(values, on="response_id", how="left").fillna({attr: NOT_STATED})
            for qid, q in closed.items():
                if not (q_units["question_id"] == qid).any():
                    continue
                frames.append(count_categories(by_value[by_value["question_id"] == qid], q_units,
                                               table=f"option_{attr}", category_col="option", group_col=attr,
                                               categories=list(q.choices), mode=mode, min_cell=min_cell,
                                               denominator_units=den[den["question_id"] == qid],
                                               unit_rule="majority" if q.multi_select else "plurality"))
    return pd.concat(frames, ignore_index=True) if frames else None
