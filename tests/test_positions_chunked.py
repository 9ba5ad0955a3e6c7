"""A large question's stance model counted and predicted a chunk of texts at a time (:mod:`analysis.positions.chunked`).

On real text: the ArgKP arguments of the test fixtures (IBM ArgKP-2021, CDLA-Sharing 1.0) labelled with their
authors' stance train the model; those and the Pol.is statements of the fixtures (CC BY 4.0; see the READMEs beside
them), with repeats, are predicted. Chunks are made small so that the fixture is cut as a million-response question
is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import ConfigError
from analysis.positions import chunked
from analysis.positions import parallel as pos_parallel
from analysis.positions.features import SentenceEmbedder
from analysis.positions.model import StanceModel, cross_fit
from analysis.themes import fitcache
from analysis.themes.chunked import forked

FIX = Path(__file__).parent / "fixtures"


def _here(fn, items, *, label, shared):  # noqa: ARG001 - the runner's signature
    return [fn(x, **shared) for x in items]


@pytest.fixture(scope="module")
def question() -> tuple[list[str], list[str], list[str]]:
    """Labelled ArgKP arguments (two motions), and texts to predict: other ArgKP arguments, Pol.is statements,
    campaign-like repeats, a blank answer and one without a word."""
    lab = pd.read_csv(FIX / "positions" / "argkp_two_topics.csv")
    texts = lab["argument"].astype(str).tolist()
    labels = np.where(lab["stance"] == 1, "support", "oppose").tolist()
    other = pd.read_csv(FIX / "themes" / "argkp_arguments.csv")["argument"].astype(str).tolist()
    polis = pd.read_csv(FIX / "themes" / "polis_biodiversity_comments.csv")["comment-body"].dropna().astype(str)
    predict = other + polis.tolist()[:120] + texts[:30] + other[:40] + ["", "?!"]
    return texts, labels, predict


def _whole(question):
    texts, labels, predict = question
    return cross_fit(StanceModel(seed=3), texts, labels, folds=5, predict=predict, parallel=False)


def _chunked(question, size, run=_here):
    texts, labels, predict = question
    return chunked.cross_fit_chunked(StanceModel(seed=3), texts, labels, folds=5, predict=predict, run=run,
                                     size=size)


def test_chunks_give_the_whole_questions_vocabulary_idf_and_positions(question):
    m1, oof1, pred1 = _whole(question)
    m2, oof2, pred2 = _chunked(question, 64)
    for (name, whole), (_, part) in zip(m1.featurizer_.transformer_list, m2.featurizer_.transformer_list, strict=True):
        assert part.vocabulary_ == whole.vocabulary_, name  # every term, numbered as scikit-learn numbers them
        assert {type(i) for i in part.vocabulary_.values()} == {type(i) for i in whole.vocabulary_.values()}
        assert np.array_equal(part.idf_, whole.idf_), name  # bit for bit: summed whole-number frequencies
    assert m2.classes_ == m1.classes_
    assert len(pred2) == len(question[2]) and len(oof2) == len(question[0])
    assert (pred2["position"].to_numpy() == pred1["position"].to_numpy()).all()
    assert (oof2["position"].to_numpy() == oof1["position"].to_numpy()).all()
    # a row's norm summed in column order instead of the order counting met its terms: the last bits only
    assert np.abs(pred2["confidence"].to_numpy() - pred1["confidence"].to_numpy()).max() < 1e-9
    assert np.abs(oof2["confidence"].to_numpy() - oof1["confidence"].to_numpy()).max() < 1e-9
    assert pred2["confidence"].to_numpy().std() > 0.05  # not a constant model


def test_the_chunk_size_does_not_change_a_bit(question):
    """A text's features depend on its own text alone: one chunk, chunks of 64 and of one text give the same
    bytes (a chunk of one blank text, or of one without a word, holds no term of that vectoriser)."""
    want = _chunked(question, 10**6)
    for size in (64, 1):
        got = _chunked(question, size)
        pd.testing.assert_frame_equal(got[1], want[1], check_exact=True)
        pd.testing.assert_frame_equal(got[2], want[2], check_exact=True)


def test_chunks_in_forked_processes_give_what_one_process_gives(question, monkeypatch):
    monkeypatch.setattr(fitcache, "WORKERS", 2)
    want = _chunked(question, 100)
    got = _chunked(question, 100, run=forked)
    for a, b in zip(got[1:], want[1:], strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_which_questions_are_fitted_in_chunks(question, monkeypatch):
    texts, _, predict = question
    n = len(set(texts).union(predict))
    assert chunked.in_chunks(StanceModel(), texts, predict, size=n - 1)
    assert not chunked.in_chunks(StanceModel(), texts, predict, size=n)  # at the size: whole
    assert not chunked.in_chunks(StanceModel(featurizer=SentenceEmbedder(model=None)), texts, predict, size=10)
    monkeypatch.setenv(chunked.CHUNK_ENV, str(n - 1))
    assert chunked.in_chunks(StanceModel(), texts, predict)


def test_the_stage_fits_a_large_question_in_chunks_and_the_others_whole(question, monkeypatch):
    """cross_fit_all: the question above the size goes through the chunks (counted here), the one below whole; each
    gives what its own path gives."""
    texts, labels, predict = question
    small = pos_parallel.FitJob(texts[:100], labels[:100], 3, predict[:50])
    large = pos_parallel.FitJob(texts, labels, 5, predict)
    monkeypatch.setenv(chunked.CHUNK_ENV, "200")
    calls = []
    real = chunked.cross_fit_chunked
    monkeypatch.setattr(chunked, "cross_fit_chunked", lambda *a, **k: calls.append(len(a[1])) or real(*a, **k))
    got = pos_parallel.cross_fit_all(StanceModel(seed=3), [large, small])
    assert calls == [len(texts)]
    want_large = _chunked(question, 200)
    want_small = cross_fit(StanceModel(seed=3), small.texts, small.labels, folds=3, predict=small.predict)
    for a, b in zip(got[0][1:] + got[1][1:], want_large[1:] + want_small[1:], strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.parametrize("value", ["0", "-5", "many", "2.5"])
def test_a_bad_chunk_size_is_a_config_error(monkeypatch, value):
    monkeypatch.setenv(chunked.CHUNK_ENV, value)
    with pytest.raises(ConfigError, match=chunked.CHUNK_ENV):
        chunked.chunk_texts()
