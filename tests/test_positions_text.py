"""Text stance model and active learning on real ArgKP arguments."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.config import parse_config
from analysis.positions.model import StanceModel, cross_val_predictions, propose_for_coding
from analysis.positions.text_stance import text_positions

FIX = Path(__file__).parent / "fixtures" / "positions"


def test_model_learns_stance_from_sixty_ticked_texts(cannabis):
    tr, te = cannabis.iloc[:60], cannabis.iloc[60:]
    m = StanceModel(seed=1, confidence_threshold=0.0).fit(tr["text"].tolist(), tr["label"].tolist())
    pred = m.predict(te["text"].tolist())
    assert m.classes_ == ["oppose", "support"]
    assert (pred["position"] == te["label"].to_numpy()).mean() >= 0.7  # 30 held-out texts, chance = 0.5
    assert pred["confidence"].between(0.5, 1.0).all()


def test_threshold_makes_unsure_predictions_unclear(cannabis):
    tr, te = cannabis.iloc[:60], cannabis.iloc[60:]
    texts = te["text"].tolist()
    loose = StanceModel(seed=1, confidence_threshold=0.0).fit(tr["text"].tolist(), tr["label"].tolist())
    top = loose.predict(texts)["confidence"].max()
    assert "unclear" not in set(loose.predict(texts)["position"])
    strict = StanceModel(seed=1, confidence_threshold=top + 1e-9).fit(tr["text"].tolist(), tr["label"].tolist())
    assert set(strict.predict(texts)["position"]) == {"unclear"}
    mid = StanceModel(seed=1, confidence_threshold=0.6).fit(tr["text"].tolist(), tr["label"].tolist())
    p = mid.predict(texts)
    assert ((p["confidence"] < 0.6) == (p["position"] == "unclear")).all()


def test_model_refuses_a_single_position():
    with pytest.raises(ValueError, match="two positions"):
        StanceModel().fit(["a", "b", "c"], ["support"] * 3)


def test_cross_val_predictions_are_out_of_fold_and_deterministic(cannabis):
    sub = cannabis.iloc[:40]
    a = cross_val_predictions(StanceModel(seed=5), sub["text"].tolist(), sub["label"].tolist())
    b = cross_val_predictions(StanceModel(seed=5), sub["text"].tolist(), sub["label"].tolist())
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 40 and list(a["true"]) == list(sub["label"])
    # out-of-fold accuracy is below in-sample accuracy (no leakage), but above chance
    full = StanceModel(seed=5, confidence_threshold=0.0).fit(sub["text"].tolist(), sub["label"].tolist())
    in_sample = (full.predict(sub["text"].tolist())["position"] == sub["label"].to_numpy()).mean()
    decided = a[a["position"] != "unclear"]
    oof = (decided["position"] == decided["true"]).mean()
    assert in_sample == 1.0 and 0.55 <= oof < 1.0


def test_propose_for_coding_spreads_over_different_texts(cannabis):
    tr = cannabis.iloc[:20]
    m = StanceModel(seed=2).fit(tr["text"].tolist(), tr["label"].tolist())
    dup = "Cannabis is a plant."
    pool = pd.concat([cannabis.iloc[20:60][["arg_id", "text"]],
                      pd.DataFrame({"arg_id": [f"dup{i}" for i in range(15)], "text": [dup] * 15})],
                     ignore_index=True)
    prop = propose_for_coding(m, pool, 6, seed=4)
    assert len(prop) == 6 and prop["arg_id"].is_unique and list(prop["rank"]) == list(range(1, 7))
    assert (prop["text"] == dup).sum() <= 1  # duplicates collapse into one k-means cluster
    # the proposals are among the least certain answers of the pool
    proba = m.predict_proba(pool["text"].tolist())
    margins = np.abs(proba[:, 0] - proba[:, 1])
    assert prop["margin"].max() <= np.sort(margins)[4 * 6 - 1] + 1e-12
    again = propose_for_coding(m, pool, 6, seed=4)
    assert list(again["arg_id"]) == list(prop["arg_id"])
    cold = propose_for_coding(None, pool, 5, seed=4)
    assert len(cold) == 5 and cold["arg_id"].is_unique and (cold["margin"] == 0).all()


def test_too_little_training_data_gives_unclear_with_a_logged_reason(cannabis, caplog):
    cfg = parse_config({
        "id": "t", "title": "T", "sources": [{"file": "x.csv", "format": "generic"}],
        "questions": [{"id": "q1", "text": "Legalise?", "kind": "closed",
                       "choices": {"Yes": "support", "No": "oppose"}},
                      {"id": "q1_why", "text": "Why?", "kind": "open", "related_question": "q1"}],
        "settings": {"positions": {"min_training": 20}},
    })
    sub = cannabis.iloc[:25]
    answers = pd.DataFrame({"response_id": sub["arg_id"], "question_id": "q1_why", "answer": sub["text"],
                            "language": "en"})
    closed = pd.DataFrame({"response_id": sub["arg_id"].iloc[:10], "question_id": "q1",
                           "position": sub["label"].iloc[:10], "confidence": 1.0, "source": "closed"})
    with caplog.at_level(logging.WARNING, logger="analysis.positions.text_stance"):
        res = text_positions(answers, closed, None, cfg)
    assert "min_training=20" in caplog.text
    assert len(res.positions) == 15 and set(res.positions["position"]) == {"unclear"}
    assert set(res.positions["question_id"]) == {"q1"} and res.confusion.empty and not res.models


class _HashEncoder:
    """A stand-in sentence model: hashed bag of words, L2-normalised (no weights, no download)."""

    def encode(self, texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False):
        out = np.zeros((len(texts), 64))
        for i, t in enumerate(texts):
            for w in str(t).lower().split():
                out[i, sum(map(ord, w)) % 64] += 1.0
        n = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(n == 0, 1, n)


def test_tfidf_plus_embeddings_featurizer_shares_the_sentence_model(cannabis):
    from sklearn.base import clone
    from sklearn.pipeline import FeatureUnion

    from analysis.positions.model import SentenceEmbedder, tfidf_featurizer

    emb = SentenceEmbedder(_HashEncoder())
    assert clone(emb) is emb  # stateless: the (large) model is shared, never deep-copied
    union = FeatureUnion([("tfidf", tfidf_featurizer()), ("emb", emb)])
    tr, te = cannabis.iloc[:60], cannabis.iloc[60:]
    m = StanceModel(seed=1, confidence_threshold=0.0, featurizer=union).fit(tr["text"].tolist(), tr["label"].tolist())
    assert m.featurizer_.transformer_list[1][1] is emb
    pred = m.predict(te["text"].tolist())
    assert (pred["position"] == te["label"].to_numpy()).mean() >= 0.6


def test_fast_tfidf_gives_scikit_learns_matrices_bit_for_bit():
    """The counting shortcut (distinct texts, distinct words) changes nothing in the features."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from analysis.vectorize import FastTfidfVectorizer

    raw = pd.read_csv(Path(__file__).parents[1] / "data" / "raw" / "sample" / "survey_export.csv", dtype=str,
                      keep_default_na=False)
    texts = [t for col in raw.columns[8:] for t in raw[col]]  # real answers: copies, blanks, Māori, punctuation
    texts += ["", "  ", "Kia ora\u00a0tēnā koe", "A  b\tc\nd", "x" * 3, "DUPLICATE text", "duplicate TEXT"] * 2
    assert len(set(texts)) < len(texts)
    fit, later = texts[: len(texts) // 2], texts[len(texts) // 2:]
    for params in (dict(analyzer="char_wb", ngram_range=(2, 5)), dict(ngram_range=(1, 2))):
        ref = TfidfVectorizer(sublinear_tf=True, **params)
        fast = FastTfidfVectorizer(sublinear_tf=True, **params)
        for a, b in ((ref.fit_transform(fit), fast.fit_transform(fit)), (ref.transform(later), fast.transform(later))):
            assert a.shape == b.shape and a.data.tobytes() == b.data.tobytes()
            assert np.array_equal(a.indices, b.indices) and np.array_equal(a.indptr, b.indptr)
        assert ref.vocabulary_ == fast.vocabulary_ and list(ref.vocabulary_) == list(fast.vocabulary_)
