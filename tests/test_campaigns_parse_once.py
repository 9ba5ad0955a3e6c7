"""Session 10's campaigns fast paths give what the code they replace gives, on real and generated texts (#18).

* :func:`analysis.campaigns.text.boilerplate_bounds` / :func:`~analysis.campaigns.text.stripped` (each answer's
  greeting and sign-off parsed once) against :func:`strip_boilerplate`, through :func:`normalise_all`,
  :func:`joined_key`, :func:`_template_of` and :func:`describe_campaigns`;
* :func:`analysis.campaigns.chunked.chunk_strings` (one regex scan) against ``chunk_strings_find`` (``str.find``);
* :func:`analysis.campaigns.parallel.label_all` (detections shared with a worker) against
  :func:`find_campaigns` of each set in this process.
"""

from __future__ import annotations

import contextlib
import random

import numpy as np
import pytest
from generated_consultation import OPEN_QUESTIONS, generate
from test_campaigns_fast_paths import ODD, _fixture_texts

from analysis.campaigns import chunked, parallel
from analysis.campaigns.stage import (
    _template_of,
    describe_campaigns,
    find_campaigns,
    normalise_all,
    submission_texts,
)
from analysis.campaigns.text import boilerplate_bounds, joined_key, normalise, strip_boilerplate, stripped
from analysis.config import CampaignSettings
from analysis.worker import Worker, WorkerError

SEED = 20211

#: Texts whose "Sent from" test or lower-casing is unusual: the joined text must agree with its parts.
SENT = ["Sent from my iPhone", "I agree.\nSent from my Galaxy", "Get Outlook for Android", "OUTLOOK is bad. Regards, Jo",
        "ΣΊΣΥΦΟΣ said so. Regards,\nJo", "İstanbul. Sent", "from my phone", "sent", "İ", "Σ", "ſent from my iPhone",
        "K\u212a outlook", "Dear Jo,\nYes.\nSent from my iPad\nKind regards,\n[NAME]"]


@pytest.fixture(scope="module")
def consultation():
    return generate(3000, SEED, share_1=0.8, share_2=0.1)  # 90% campaign copies, as the #18 target


@pytest.fixture(scope="module")
def texts(consultation) -> list[str]:
    return consultation.answers["text_redacted"].tolist() + _fixture_texts() + ODD + SENT


def test_bounds_strip_as_strip_boilerplate(texts):
    bounds = {t: boilerplate_bounds(t) for t in texts}
    assert sum(b is None for b in bounds.values()) >= 5  # the "Sent from" path is exercised too
    for t in texts:
        assert stripped(t, bounds) == strip_boilerplate(t) == stripped(t, None) == stripped(t, {}), repr(t)


def test_normalise_all_with_bounds(texts):
    bounds: dict = {}
    assert normalise_all(texts, {}, bounds) == normalise_all(texts) == [normalise(t) for t in texts]
    assert bounds == {t: boilerplate_bounds(t) for t in texts}


def test_submission_keys_with_bounds(consultation):
    answers = consultation.answers
    open_texts = answers.loc[answers["question_id"].isin(OPEN_QUESTIONS), "text_redacted"].tolist()
    memo, bounds = {}, {}
    normalise_all(open_texts, memo, bounds)
    fast = submission_texts(answers, OPEN_QUESTIONS, memo, None, bounds)
    assert fast == submission_texts(answers, OPEN_QUESTIONS, memo)
    assert all(normalise(t) == k for t, k in zip(fast[1], fast[2], strict=True) if k is not None)


@pytest.mark.parametrize("seed", range(4))
def test_joined_key_with_bounds_on_mixed_parts(texts, seed):
    rng = random.Random(seed)
    pool = texts[:300] + ODD + SENT + [t + "\n" + s for t, s in zip(texts[:40], SENT * 4, strict=False)]
    for _ in range(400):
        parts = rng.sample(pool, rng.randint(2, 4))
        memo, bounds = {}, {}
        normalise_all(parts[: rng.randint(0, len(parts))], memo, bounds)  # some parts unknown
        assert joined_key(parts, memo, bounds) == joined_key(parts, memo) == normalise("\n\n".join(parts)), parts


def test_templates_and_additions_with_bounds(consultation):
    answers = consultation.answers
    settings = CampaignSettings()
    for qid in OPEN_QUESTIONS:
        texts = answers.loc[answers["question_id"] == qid, "text_redacted"].tolist()
        memo, bounds = {}, {}
        keys = normalise_all(texts, memo, bounds)
        labels = find_campaigns(texts, settings, SEED, keys)
        for lab in sorted(set(labels.tolist()) - {-1}):
            idx = np.flatnonzero(labels == lab)
            assert _template_of(texts, idx, bounds=bounds) == _template_of(texts, idx)
        assert describe_campaigns(texts, labels, settings, None, bounds) == describe_campaigns(texts, labels, settings)
        if qid == "q5_other":
            assert (labels >= 0).sum() > 1000


def _the_texts(n: int, seed: int) -> list[str]:
    """Single-spaced texts dense in "the" (and "the the", "then", "other"), of every length."""
    rng = random.Random(seed)
    words = ["the", "the", "the", "a", "then", "other", "thee", "x", "bill", "th", "e"]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(0, 30))) for _ in range(n)]


@pytest.mark.parametrize("k", [1, 2, 3, 5, 7])
def test_chunk_strings_is_the_find_loop(texts, k):
    keys = sorted(set(normalise_all(texts))) + _the_texts(3000, k)
    keys += [t for t in ODD if t == " ".join(t.split())]
    several = 0
    for key in keys:
        got = chunked.chunk_strings(key, k)
        assert got == chunked.chunk_strings_find(key, k), (key, k)
        several += len(got) > 1
    assert several > 500


def test_label_all_in_a_worker_is_find_campaigns(consultation):
    answers = consultation.answers
    settings = CampaignSettings()
    memo: dict = {}
    jobs = [(q, normalise_all(answers.loc[answers["question_id"] == q, "text_redacted"].tolist(), memo))
            for q in OPEN_QUESTIONS]
    want = {q: find_campaigns(keys, settings, SEED, keys) for q, keys in jobs}
    assert any((lab >= 0).any() for lab in want.values())
    with Worker() as worker:
        assert worker.start("analysis.campaigns.parallel")
        got = parallel.label_all(jobs, settings, SEED, worker)
        assert worker.started
    assert got.keys() == want.keys() and all(np.array_equal(got[q], want[q]) for q in want)
    assert all(np.array_equal(got[q], want[q]) for q in want)
    here = parallel.label_all(jobs, settings, SEED, None)
    assert all(np.array_equal(here[q], want[q]) for q in want)
    for worker_or_none in (Worker(), None):  # jobs added while the worker starts on the others
        with contextlib.ExitStack() as stack:
            if worker_or_none is not None:
                stack.enter_context(worker_or_none)
                assert worker_or_none.start("analysis.campaigns.parallel")
            got = parallel.label_all(jobs[:2], settings, SEED, worker_or_none, later=lambda: jobs[2:])
        assert got.keys() == want.keys() and all(np.array_equal(got[q], want[q]) for q in want)


def test_label_all_when_the_worker_fails(consultation, monkeypatch):
    answers = consultation.answers
    settings = CampaignSettings()
    jobs = [(q, normalise_all(answers.loc[answers["question_id"] == q, "text_redacted"].tolist()))
            for q in OPEN_QUESTIONS]

    class Broken:
        def call(self, *_a):
            raise WorkerError("no worker")

    got = parallel.label_all(jobs, settings, SEED, Broken())
    for q, keys in jobs:
        assert np.array_equal(got[q], find_campaigns(keys, settings, SEED, keys))
