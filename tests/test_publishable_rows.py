"""The publication gate's row choice by row numbers (:func:`publishable_rows`, :func:`publishable_text`) and the quote
candidates' column takes, against the code they replace (the merge of the respondents into the texts, the
value-by-value columns), on the sample's tables and on generated inputs with every kind of consent, organisations
named in their own texts, missing respondents and missing values."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from test_quote_candidates import _generated

from analysis.report import quotes
from analysis.report.publishable import _publishable_merged, publishable_text, values

ORGS = ["Clinic Trust", "Te Rūnanga", "AB", None, "  ", "Forest & Bird"]


def _same(frame: pd.DataFrame, responses: pd.DataFrame) -> pd.DataFrame:
    new = publishable_text(frame, responses)
    base = frame.drop(columns=[c for c in ["respondent_type", "sector", "organisation", "attribution", "consent"]
                               if c in frame.columns]).reset_index(drop=True)
    former = (base.iloc[0:0].reindex(columns=[*base.columns, "respondent_type", "sector", "organisation", "attribution"])
              if base.empty else _publishable_merged(base, responses))  # the former function's first step
    pd.testing.assert_frame_equal(new, former, check_exact=True)
    return new


def _inputs(seed: int, n: int = 800) -> tuple[pd.DataFrame, pd.DataFrame]:
    rnd = random.Random(seed)
    ids = [f"r{i}" for i in range(n)]
    orgs = [rnd.choice(ORGS) for _ in ids]
    responses = pd.DataFrame(dict(
        response_id=ids + ids[:5],  # repeated ids: the first row counts
        respondent_type=[rnd.choice(["individual", "organisation", "unknown", None]) for _ in ids] + ["x"] * 5,
        sector=[rnd.choice(["health", None, "  "]) for _ in ids] + ["y"] * 5,
        organisation=orgs + ["Clinic Trust"] * 5,
        consent=[rnd.choice(["publish_named", "publish_anonymous", "do_not_publish", None]) for _ in ids]
        + ["publish_named"] * 5))
    rows = []
    for k in range(3 * n):
        i = rnd.randrange(n + 20)  # some texts of unknown respondents
        rid = f"r{i}"
        org = orgs[i] if i < n else None
        text = rnd.choice(["We support it.", "No comment", None, f"As {(org or 'x').upper()} we object.",
                           f"clinic trust{'' if rnd.random() < 0.5 else ' and others'}"])
        add = rnd.choice([None, "", f"From {org}" if org else "mine", "Forest & bird here"])
        rows.append((rid, f"q{k % 3}", text, add, rnd.random() < 0.3))
    frame = pd.DataFrame(rows, columns=["response_id", "question_id", "text_redacted", "personal_addition", "flag"])
    return frame, responses


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rows_by_number_equal_the_merge_on_generated_texts(seed) -> None:
    frame, responses = _inputs(seed)
    out = _same(frame, responses)
    assert 0 < len(out) < len(frame)
    former_named = _publishable_merged(frame.assign(personal_addition=None), responses)
    assert len(former_named) > len(out)  # the self-naming rule dropped rows (some through the additions)
    _same(frame.drop(columns="personal_addition"), responses)
    _same(frame.iloc[::-1].set_index(np.arange(len(frame)) * 7), responses)  # any index
    _same(frame.assign(template=frame["text_redacted"]).drop(columns="text_redacted"), responses)
    # object columns (not Arrow text), all-missing columns, and a frame nobody may be quoted from
    obj = responses.astype({"sector": object, "organisation": object}).assign(sector=None)
    _same(frame, obj)
    _same(frame, responses.assign(consent="do_not_publish"))
    _same(frame.iloc[:0], responses)


def test_a_non_text_respondent_column_takes_the_merge() -> None:
    frame, responses = _inputs(4)
    resp = responses.assign(sector=np.arange(len(responses)))  # a missing match makes it float in the merge
    out = _same(frame, resp)
    assert out["sector"].dtype == np.float64


def test_rows_by_number_equal_the_merge_on_the_sample(sample_results) -> None:
    from analysis import paths
    from analysis.report.load import load_tables

    t = load_tables(paths.processed_dir("sample"))
    ans, resp = t["core_answers_clean"], t["core_responses"]
    out = _same(ans[["response_id", "question_id", "text_redacted", "personal_addition", "campaign_id",
                     "is_campaign_copy"]], resp)
    assert len(out) > 100 and out["organisation"].notna().any()
    named = resp.assign(consent=np.where(resp["organisation"].notna(), "publish_anonymous", resp["consent"]))
    _same(ans[["response_id", "text_redacted", "personal_addition"]], named)


def test_candidate_columns_taken_equal_the_values_rebuilt() -> None:
    f = _generated(600)
    c = f["answer_themes"].merge(f["answer_positions"], on=["response_id", "question_id"], how="left")
    cases = [(c["question_id"], "id"), (c["theme_id"], "id"), (c["position"], "position"), (c["score"], "score"),
             (c["position"].iloc[:0], "position"), (pd.Series([None, None], dtype="str"), "position"),
             (pd.Series(["a", None], dtype="str"), "id"), (pd.Series([1, 2]), "score"),
             (pd.Series([None, "x"], dtype=object), "position"), (c["score"].astype("float32"), "score")]
    for column, kind in cases:
        sel = column.iloc[::2] if len(column) > 2 else column
        got = pd.DataFrame({"v": quotes._take(sel, kind)})
        want = pd.DataFrame({"v": quotes._take_each(sel, kind)})
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_shared_values_and_redaction_flags_equal_the_former() -> None:
    f = _generated(300)
    for column in (f["answers_clean"]["campaign_id"].astype("str"), f["answers_clean"]["campaign_id"],
                   f["answers_clean"]["is_campaign_copy"], pd.Series(["a", None, "a"], dtype="str")):
        assert quotes._shared(column) == values(column)
    cand = quotes._candidates(f["answers_clean"], f["answer_themes"], f["answer_positions"], f["responses"], 300)
    assert quotes._has_redaction(cand["trimmed"]) == [t.has_redaction for t in cand["trimmed"]]
    assert any(quotes._has_redaction(cand["trimmed"]))
