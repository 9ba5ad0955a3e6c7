"""The campaigns stage with the open answers' texts read a batch at a time (:mod:`analysis.campaigns.streamed`).

The stage's tables are compared, byte for byte, with those of :func:`detect` and :func:`detect_submissions` of the
whole table (every text held at once), with batches small enough that responses are cut by a batch's end, on a
partitioned table; pass 1's keys with those of :func:`normalise_all` and :func:`submission_texts` of the whole texts;
a table whose responses are out of order is refused.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from generated_consultation import OPEN_QUESTIONS, generate

from analysis.campaigns import describe, stage, streamed
from analysis.campaigns.stage import detect, detect_submissions, normalise_all, submission_texts
from analysis.config import parse_config
from analysis.errors import TableSchemaError
from analysis.tables import PARTITION_ENV, read_table, table_files, write_table

SEED = 20211
OPEN_Q = [*OPEN_QUESTIONS, "email"]


@pytest.fixture(scope="module")
def redacted() -> pd.DataFrame:
    """A generated consultation (80% and 10% in two campaigns), a closed question, and an "email" question holding a
    few stray copies of the campaign letters (fewer than a campaign) and some answers of its own."""
    gen = generate(1500, SEED, share_1=0.8, share_2=0.1).answers.drop(columns="truth")
    rng = random.Random(SEED)
    rids = sorted(gen["response_id"].unique())
    letters = gen.loc[gen["question_id"] == OPEN_QUESTIONS[-1], ["response_id", "text_redacted"]]
    strays = letters.sample(n=6, random_state=SEED).assign(question_id="email")
    own = pd.DataFrame({"response_id": rng.sample(rids, 40), "question_id": "email",
                        "text_redacted": [f"My own view number {i}: the plan needs more time." for i in range(40)]})
    own = own[~own["response_id"].isin(strays["response_id"])]
    closed = pd.DataFrame({"response_id": rids, "question_id": "q_closed",
                           "text_redacted": [rng.choice(["Support", "Oppose", ""]) for _ in rids]})
    df = pd.concat([gen, strays, own, closed], ignore_index=True)
    df["answer"], df["language"] = df["text_redacted"], "en"
    return df[["response_id", "question_id", "answer", "language", "text_redacted"]]


def _cfg():
    questions = [{"id": "q_closed", "text": "Agree?", "kind": "closed", "choices": {"Support": "support"}}]
    questions += [{"id": q, "text": f"{q}?", "kind": "open"} for q in OPEN_Q]
    return parse_config({"id": "t", "title": "t", "sources": [{"file": "export.csv", "format": "generic"}],
                         "questions": questions})


def _write(redacted: pd.DataFrame, folder):
    write_table(redacted, "core_answers_redacted", folder)
    cfg = _cfg()
    questions = pd.DataFrame({"question_id": [q.id for q in cfg.questions], "text": [q.text for q in cfg.questions],
                              "kind": [q.kind for q in cfg.questions], "choices": "{}",
                              "order": range(len(cfg.questions))})
    write_table(questions, "core_questions", folder)
    return cfg


@pytest.mark.parametrize(("batch", "block", "worker"), [(7, 50, False), (1000, 300, True), (65_536, 10**9, False),
                                                       (65_536, 10**9, True)])
def test_run_streamed_writes_the_tables_of_detect_on_the_whole_table(redacted, tmp_path, monkeypatch, batch, block,
                                                                     worker):
    """Batches of 7 rows cut responses; questions described a block of 50 or 300 answers at a time or whole; the
    personal additions decided here or partly by the stage's worker."""
    monkeypatch.setenv(PARTITION_ENV, "2000")  # a partitioned table: batches also end at the parts' ends
    monkeypatch.setattr(streamed, "BATCH", batch)
    monkeypatch.setattr(streamed, "DESCRIBE_BLOCK", block)
    monkeypatch.setattr(stage, "PARALLEL_MIN_ANSWERS", 1 if worker else 10**9)
    monkeypatch.setattr(describe, "MIN_BODIES", 5)  # the worker is asked for a block's bodies
    processed = tmp_path / "processed"
    cfg = _write(redacted, processed)
    assert len(table_files("core_answers_redacted", processed)) > 2
    got = {p.name: p for p in stage.run(cfg, raw_dir=tmp_path / "raw", processed_dir=processed)}
    whole = read_table("core_answers_redacted", processed)
    clean, camps = detect(whole, OPEN_Q, cfg.settings.campaigns, cfg.settings.seed)
    subs = detect_submissions(whole, OPEN_Q, cfg.settings.campaigns, cfg.settings.seed)
    # the stray copies in "email" are attached to a letter's template (their own campaign there), and campaigns found
    assert set(camps["question_id"]) >= {OPEN_QUESTIONS[-1], "email"} and len(subs)
    assert (clean["personal_addition"].fillna("") != "").sum() > 10  # personal additions were described
    ref = tmp_path / "ref"
    for table, frame in (("core_answers_clean", clean), ("core_campaigns", camps),
                         ("core_submission_campaigns", subs)):
        want = [f.read_bytes() for f in table_files(table, write_table(frame, table, ref).parent)]
        assert [f.read_bytes() for f in table_files(table, processed)] == want, table
        assert got[f"{table}.parquet"].exists()


def test_pass_one_keys_are_the_whole_texts_keys(redacted, tmp_path, monkeypatch):
    monkeypatch.setattr(streamed, "BATCH", 11)
    _write(redacted, tmp_path)
    ids = read_table("core_answers_redacted", tmp_path, columns=["response_id", "question_id"],
                     where=("question_id", OPEN_Q))
    keyed = streamed.key_rows(tmp_path, ids, OPEN_Q, normalise_all)
    whole = read_table("core_answers_redacted", tmp_path)
    rows = whole[whole["question_id"].isin(OPEN_Q)].reset_index(drop=True)
    texts = rows["text_redacted"].tolist()
    memo, bounds = {}, {}
    assert keyed.keys == normalise_all(texts, memo, bounds)
    assert keyed.length.tolist() == [len(t) for t in texts]
    assert [None if lo < 0 else (lo, hi) for lo, hi in zip(keyed.lo, keyed.hi, strict=True)] == [bounds[t] for t in
                                                                                               texts]
    rids, joined, keys = submission_texts(rows, OPEN_Q, memo, texts, bounds)
    assert keyed.sub_keys == keys and any("\n\n" in t for t in joined)
    assert list(streamed._Ids(ids, keyed)) == rids
    assert streamed.joined_of(keyed, range(len(rids)), dict(enumerate(texts))) == dict(enumerate(joined))


def test_responses_out_of_order_are_refused(redacted):
    ids = redacted.loc[redacted["question_id"].isin(OPEN_Q), ["response_id", "question_id"]]
    ids = ids.sort_values(["response_id", "question_id"]).reset_index(drop=True)
    streamed.submission_groups(ids, OPEN_Q)  # in key order
    with pytest.raises(TableSchemaError, match=r"open answer \d+ \(response_id .*\) is out of key order"):
        streamed.submission_groups(ids.iloc[::-1].reset_index(drop=True), OPEN_Q)
    second = int(np.flatnonzero(ids["response_id"].duplicated().to_numpy())[0])  # a response's second row
    apart = pd.concat([ids.drop(index=second), ids.iloc[[second]]], ignore_index=True)  # moved to the end
    with pytest.raises(TableSchemaError, match=f"open answer {len(ids) - 1} .* out of key order"):
        streamed.submission_groups(apart, OPEN_Q)
    groups, parts = streamed.submission_groups(ids, OPEN_Q)
    assert groups[-1] == len(ids) and sorted(parts.tolist()) == list(range(len(ids)))
    assert np.all(np.diff(groups) > 0)
