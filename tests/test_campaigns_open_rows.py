"""The campaigns stage's detection on the open answers alone gives what it gave on the whole table (#18, session 12).

* :func:`analysis.campaigns.stage.run` reads the open questions' ids and texts for the detection and the whole
  table only to write (:func:`~analysis.campaigns.stage.with_campaign_columns`): its tables are compared, byte for
  byte, with the tables of the code it replaces (:func:`detect` and :func:`detect_submissions` of the whole table);
* :class:`~analysis.campaigns.stage.JoinedTexts` (submissions joined when read) against the list
  :func:`submission_texts` builds, through :func:`submission_rows`;
* :class:`analysis.campaigns.near_duplicates.ColumnIndex` built one hash function at a time against the batched
  sort it replaces, on the signatures of real and generated texts.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from generated_consultation import OPEN_QUESTIONS, generate
from test_campaigns import _write_inputs, arguments  # noqa: F401 - a fixture
from test_campaigns_fast_paths import _fixture_texts

from analysis.campaigns import chunked, stage
from analysis.campaigns.near_duplicates import ColumnIndex, MinHasher
from analysis.campaigns.stage import (
    detect,
    detect_submissions,
    find_campaigns,
    normalise_all,
    submission_parts,
    submission_rows,
    submission_texts,
    with_campaign_columns,
)
from analysis.config import CampaignSettings, parse_config
from analysis.redaction import stage as redaction_stage
from analysis.tables import read_table, write_table

SEED = 20211


@pytest.fixture(scope="module")
def answers() -> pd.DataFrame:
    """A generated consultation (90% copies) plus real answers (ArgKP, Pol.is) and closed answers, interleaved."""
    gen = generate(2000, SEED, share_1=0.8, share_2=0.1).answers.drop(columns="truth")
    real = _fixture_texts()
    rids = sorted(gen["response_id"].unique())
    rng = random.Random(SEED)
    extra = pd.DataFrame({"response_id": [rng.choice(rids) + f"-{i}" for i in range(len(real))],
                          "question_id": "q_real", "text_redacted": real})
    closed = pd.DataFrame({"response_id": rids, "question_id": "q_closed",
                           "text_redacted": [rng.choice(["Support", "Oppose", ""]) for _ in rids]})
    df = pd.concat([gen, extra, closed], ignore_index=True)
    df = df.sample(frac=1.0, random_state=SEED).reset_index(drop=True)  # open and closed rows interleaved
    df["answer"], df["language"] = df["text_redacted"], "en"
    return df


def test_detect_on_open_rows_put_back_is_detect_on_all(answers):
    open_q = [*OPEN_QUESTIONS, "q_real"]
    settings = CampaignSettings()
    whole, camps = detect(answers, open_q, settings, SEED)
    rows = answers[answers["question_id"].isin(open_q)].reset_index(drop=True)
    part, camps_part = detect(rows, open_q, settings, SEED)
    assert whole["is_campaign_copy"].sum() > 1000  # campaigns were found
    assert answers.loc[~answers["question_id"].isin(open_q)].shape[0] > 1000  # closed rows were put back
    pd.testing.assert_frame_equal(with_campaign_columns(answers, open_q, part), whole)
    pd.testing.assert_frame_equal(camps_part, camps)
    with pytest.raises(AssertionError, match="differ"):
        with_campaign_columns(answers, open_q, part.iloc[::-1].reset_index(drop=True))


def test_joined_texts_are_the_joined_list(answers):
    open_q = [*OPEN_QUESTIONS, "q_real"]
    texts = answers["text_redacted"].tolist()
    memo, bounds = {}, {}
    normalise_all([t for t, q in zip(texts, answers["question_id"], strict=True) if q in open_q], memo, bounds)
    rids, joined, keys = submission_texts(answers, open_q, memo, texts, bounds)
    lazy_rids, lazy, lazy_keys = submission_parts(answers, open_q, memo, texts, bounds)
    assert (lazy_rids, lazy_keys) == (rids, keys)
    assert len(lazy) == len(joined) and list(lazy) == joined and any("\n\n" in t for t in joined)
    assert lazy[-1] == joined[-1] and lazy[np.int64(3)] == joined[3] and lazy[2:9:3] == joined[2:9:3]
    with pytest.raises(IndexError):
        lazy[len(joined)]
    labels = find_campaigns([k or "" for k in keys], CampaignSettings(), SEED, [k or "" for k in keys])
    pd.testing.assert_frame_equal(submission_rows(lazy_rids, lazy, labels), submission_rows(rids, joined, labels))


def test_run_writes_the_tables_of_detect_on_the_whole_table(arguments, tmp_path, monkeypatch):  # noqa: F811
    cfg = parse_config({
        "id": "t", "title": "t", "sources": [{"file": "export.csv", "format": "generic"}],
        "questions": [{"id": "q1", "text": "Agree?", "kind": "closed", "choices": {"Support": "support"}},
                      {"id": "q2", "text": "Why?", "kind": "open"}, {"id": "q3", "text": "Else?", "kind": "open"}],
    })
    ref_dir = tmp_path / "ref"
    for threshold, name in ((10**9, "here"), (1, "worker")):
        processed = tmp_path / name
        _write_inputs(arguments, processed)
        redaction_stage.run(cfg, raw_dir=tmp_path / "raw", processed_dir=processed)
        monkeypatch.setattr(stage, "PARALLEL_MIN_ANSWERS", threshold)
        got = {p.name: p.read_bytes() for p in stage.run(cfg, raw_dir=tmp_path / "raw", processed_dir=processed)}
        # the code replaced: detection on the whole table, all columns
        redacted = read_table("core_answers_redacted", processed)
        assert (redacted["question_id"] == "q1").sum() > 10  # closed answers are in the table
        clean, camps = detect(redacted, ["q2", "q3"], cfg.settings.campaigns, cfg.settings.seed)
        subs = detect_submissions(redacted, ["q2", "q3"], cfg.settings.campaigns, cfg.settings.seed)
        assert clean["is_campaign_copy"].any() and len(subs)
        want = {p.name: p.read_bytes() for p in (write_table(clean, "core_answers_clean", ref_dir),
                                                 write_table(camps, "core_campaigns", ref_dir),
                                                 write_table(subs, "core_submission_campaigns", ref_dir))}
        assert got == want, name


def _column_index_batched(sig: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The index's keys and order as :class:`ColumnIndex` built them before session 12 (one batched sort)."""
    n, num_perm = sig.shape
    sig_t = np.ascontiguousarray(sig.T)
    order = np.argsort(sig_t, axis=1, kind="stable")
    keys = (np.take_along_axis(sig_t, order, axis=1).astype(np.uint64)
            | (np.arange(num_perm, dtype=np.uint64)[:, None] << np.uint64(32))).ravel()
    return keys, order.astype(np.int32 if n < 2**31 else np.int64).ravel()


def test_column_index_row_by_row_is_the_batched_sort(answers):
    keys = sorted(set(normalise_all(answers["text_redacted"].tolist())))
    hasher = MinHasher(128, 5, SEED)
    sig = chunked.signatures(hasher, keys)[0]
    assert len(np.unique(sig[:, 0])) < len(sig)  # ties: the sort's stability matters
    for part in (sig, sig[:1], sig[:0], np.ascontiguousarray(sig[::7, :64])):
        index = ColumnIndex(part)
        want_keys, want_order = _column_index_batched(part)
        assert index.keys.dtype == want_keys.dtype and index.order.dtype == want_order.dtype
        assert np.array_equal(index.keys, want_keys) and np.array_equal(index.order, want_order)
        assert index.size == len(part)
