"""The themes stage lets go of what it no longer reads, with the same units (#18, 1M responses with 90% copies).

Once the corpus and the placeholders are computed, a campaign copy's letter is read only through its campaign's
template: :func:`analysis.themes.stage.without_template_texts` empties those texts, and every question's units,
owners, untranslated and blank answers are the ones split from the full texts.
"""

from __future__ import annotations

import pandas as pd
import pytest
from test_themes_rows import _answers, _assert_units_equal

from analysis.themes.fit import _units
from analysis.themes.reading import without_template_texts


def _campaigns(campaigns: pd.DataFrame) -> pd.DataFrame:
    """The fixture's campaigns plus one with an empty template (its copies' units are their own letters)."""
    extra = pd.DataFrame({"campaign_id": ["c3"], "question_id": ["q2"], "size": [2], "template": [""]})
    return pd.concat([campaigns, extra], ignore_index=True)


@pytest.mark.parametrize("arrow", [True, False])
def test_units_are_the_same_without_the_copies_letters(arrow):
    df, campaigns = _answers(arrow)
    # some copies of a campaign with an empty template, and of one missing from the campaigns table
    copies = df.index[df["is_campaign_copy"].to_numpy(bool)]
    df.loc[copies[::5], "campaign_id"] = "c3"
    df.loc[copies[1::7], "campaign_id"] = "c9"
    campaigns = _campaigns(campaigns)
    slim = without_template_texts(df, campaigns)
    assert slim.dtypes.equals(df.dtypes) and slim.index.equals(df.index)
    for c in df.columns.drop("text_redacted"):
        pd.testing.assert_series_equal(slim[c], df[c])
    emptied = df["is_campaign_copy"].to_numpy(bool) & df["campaign_id"].isin(["c1", "c2"]).to_numpy(bool)
    assert emptied.any() and (~emptied & df["is_campaign_copy"].to_numpy(bool)).any()
    assert (slim.loc[emptied, "text_redacted"] == "").all()
    pd.testing.assert_series_equal(slim.loc[~emptied, "text_redacted"], df.loc[~emptied, "text_redacted"])
    for qid in ("q1", "q2"):
        for covered in ({"en", "und", ""}, {"en", "und", "", "mi", "nan"}):
            for placeholders in (frozenset(), frozenset({"did not answer", "n a"})):
                _assert_units_equal(_units(slim[slim["question_id"] == qid], campaigns, covered, placeholders),
                                    _units(df[df["question_id"] == qid], campaigns, covered, placeholders))


def test_nothing_is_emptied_without_templates():
    df, campaigns = _answers(True)
    assert without_template_texts(df, None) is df
    assert without_template_texts(df, campaigns.assign(template="")) is df
