"""The counts read the closed questions' answer texts only (#18: at a million responses the open answers' texts were
most of what the stage held): the same option and breakdown counts as from every answer's text."""

from __future__ import annotations

import pandas as pd

from analysis import paths
from analysis.config import load_config
from analysis.counts.breakdowns import breakdown_counts
from analysis.counts.options import option_counts
from analysis.counts.rules import respondent_campaigns
from analysis.counts.stage import ANSWER_COLUMNS, counted_answers
from analysis.tables import read_optional, read_table


def test_closed_answers_are_read_and_open_ones_left_out_with_the_same_counts(sample_results):
    cfg = load_config(paths.resolve_config("sample"))
    processed = paths.processed_dir("sample")
    full = read_table("core_answers_clean", processed, columns=ANSWER_COLUMNS)
    got = counted_answers(cfg, processed)
    assert list(got.columns) == list(full.columns) and len(got) == len(full)
    closed = full["question_id"].isin({q.id for q in cfg.closed_questions})
    assert closed.any() and (~closed).any()
    pd.testing.assert_frame_equal(got[closed], full[closed])
    assert got.loc[~closed, "answer"].isna().all() and full.loc[~closed, "answer"].str.len().gt(0).any()
    pd.testing.assert_frame_equal(got.drop(columns="answer"), full.drop(columns="answer"))
    responses = read_table("core_responses", processed)
    members = respondent_campaigns(full, read_optional("core_submission_campaigns", processed))
    assert responses["sector"].notna().any()
    by_sector = cfg.model_copy(update={"settings": cfg.settings.model_copy(update={"breakdowns": ["sector"]})})
    for count in (option_counts, breakdown_counts):
        want = count(full, responses, by_sector, membership=members)
        assert want is not None and len(want) > 0
        pd.testing.assert_frame_equal(count(got, responses, by_sector, membership=members), want)
