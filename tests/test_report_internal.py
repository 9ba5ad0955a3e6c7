"""The internal workbook's per-answer theme lists: the one-pass join equals pandas' groupby join."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.report.tables import _joined_themes


def _groupby(at: pd.DataFrame) -> pd.DataFrame:
    g = at.groupby(["response_id", "question_id"], sort=False)
    return pd.DataFrame({"theme_ids": g["theme_id"].agg("; ".join),
                         "theme_labels": g["label"].agg("; ".join)}).reset_index()


def _answer_themes(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    at = pd.DataFrame({"response_id": [f"r{i:04d}" for i in rng.integers(0, max(n // 3, 1), n)],
                       "question_id": [f"q{i}" for i in rng.integers(1, 4, n)],
                       "theme_id": [f"t{i}" for i in rng.integers(0, 12, n)],
                       "score": rng.random(n)})
    at = at.sort_values(["response_id", "question_id", "score", "theme_id"], ascending=[True, True, False, True],
                        kind="mergesort")
    return at.assign(label=[f"Theme {t[1:]}" for t in at["theme_id"]])


def test_one_pass_join_equals_the_groupby():
    for n in (1, 2, 50, 3_000):
        at = _answer_themes(n)
        pd.testing.assert_frame_equal(_joined_themes(at), _groupby(at))


def test_missing_keys_are_dropped_as_the_groupby_drops_them():
    at = _answer_themes(300)
    at.loc[at.index[:5], "question_id"] = None
    pd.testing.assert_frame_equal(_joined_themes(at), _groupby(at))
    assert len(_joined_themes(at)) == len(_groupby(at[at["question_id"].notna()]))
