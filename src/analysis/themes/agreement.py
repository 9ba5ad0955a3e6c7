"""Review and agreement: how well the model's coding agrees with an analyst's.

An analyst codes a sample (Citizen Space "analyst fields", or ``overrides.csv``); here the model's themes are
compared with those codes per theme with Cohen's kappa, percentage agreement and the confusion counts, at the
level the analyst coded (a whole response when the tag has no question, else one answer).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score


def theme_agreement(analyst_tags: pd.DataFrame, answer_themes: pd.DataFrame) -> pd.DataFrame:
    """Per-theme agreement between analyst tags and model themes on the analyst-coded units.

    Args:
        analyst_tags: ``core_analyst_tags`` (response_id, question_id — "" for a whole response —, tag).
        answer_themes: ``core_answer_themes`` (response_id, question_id, theme_id, ...).

    Returns:
        One row per theme: ``theme_id, n_units, analyst_yes, model_yes, both_yes, agreement, kappa``
        (kappa is NaN when one side never or always uses the theme). Empty when nothing was coded.
    """
    cols = ["theme_id", "n_units", "analyst_yes", "model_yes", "both_yes", "agreement", "kappa"]
    if analyst_tags is None or analyst_tags.empty or answer_themes is None:
        return pd.DataFrame(columns=cols)
    tags = analyst_tags.copy()
    tags["unit"] = np.where(tags["question_id"].fillna("") == "", tags["response_id"],
                            tags["response_id"] + "|" + tags["question_id"].fillna(""))
    whole = set(tags.loc[tags["question_id"].fillna("") == "", "response_id"])
    model = answer_themes[["response_id", "question_id", "theme_id"]].copy()
    model["unit"] = np.where(model["response_id"].isin(whole), model["response_id"],
                             model["response_id"] + "|" + model["question_id"])
    units = sorted(set(tags["unit"]))
    model = model[model["unit"].isin(units)]
    themes = sorted((set(tags["tag"]) & set(model["theme_id"])) | set(tags["tag"]))
    a_sets = tags.groupby("unit")["tag"].agg(set)
    m_sets = model.groupby("unit")["theme_id"].agg(set)
    rows = []
    for t in themes:
        a = np.array([t in a_sets.get(u, set()) for u in units])
        m = np.array([t in m_sets.get(u, set()) for u in units])
        kappa = cohen_kappa_score(a, m) if 0 < a.sum() < len(a) or 0 < m.sum() < len(m) else np.nan
        rows.append(dict(theme_id=t, n_units=len(units), analyst_yes=int(a.sum()), model_yes=int(m.sum()),
                         both_yes=int((a & m).sum()), agreement=float((a == m).mean()), kappa=float(kappa)))
    return pd.DataFrame(rows, columns=cols)
