"""A large question's stance model featurised and predicted a chunk of texts at a time (positions tasks sized by rows).

A question whose training and predicted texts hold more than :data:`CHUNK_TEXTS` distinct texts is not fitted in
one task whole (at a million responses with 90% campaign letters, the letters question's ~700,000 distinct texts
and their TF-IDF features were one task of ~2.5 GB). With the default TF-IDF features
(:func:`analysis.positions.features.tfidf_featurizer`) its :func:`~analysis.positions.model.cross_fit` runs in
three steps, the first and last a task a chunk:

1. **Count** (a task a chunk of distinct texts, :func:`chunk_terms`): each vectoriser's terms in the chunk and their
   document frequencies (each distinct text counted as often as it occurs). Summed here, they give the vocabulary
   (every term, in sorted order) and the idf of the whole collection, exactly: document frequencies are whole
   numbers, and the idf is computed from them as scikit-learn computes it (:func:`analysis.vectorize.idf_of`).
2. **Fit** (this process): the training texts' features (:func:`features`), then the classifier, its
   out-of-fold scores and calibration as for a whole question (:func:`analysis.positions.model.fit_classifier`).
   Training sets are capped (``settings.positions.max_training``, 5,000 by default), so this step is small.
3. **Predict** (a task a chunk of the predicted texts' distinct texts, :func:`chunk_proba`): features and class
   probabilities.

What differs from fitting the question whole: a text's features are computed from its own counts, sorted by column
before the tf-idf weighting (:func:`features`), where the whole question's keep the order counting met its terms,
so each row's norm can differ in the last bit and the classifier's fit with it (positions and confidences are
compared on real ArgKP arguments in ``tests/test_positions_chunked.py`` and ``benchmarks/positions_chunked_argkp.py``).
A text's features do not depend on the other texts of its chunk, and the chunks are fixed by the question's texts
alone, never by the engine: the local engine runs the same tasks in forked processes, so both engines give the same
bytes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from threadpoolctl import threadpool_limits

from analysis import paths
from analysis.positions.features import LeanUnion, lean_hstack
from analysis.positions.model import StanceModel, _decide, _empty_pred, _labels, fit_classifier
from analysis.vectorize import FastTfidfVectorizer, _tfidf_in_place, _weighted_df, idf_of

log = logging.getLogger(__name__)

#: Distinct texts of one question (its training and predicted texts) beyond which its model is featurised and
#: predicted a chunk of this many distinct texts a task.
CHUNK_TEXTS = 262_144
#: Overrides :data:`CHUNK_TEXTS` (a positive whole number).
CHUNK_ENV = "ANALYSIS_POSITIONS_CHUNK_TEXTS"


def chunk_texts() -> int:
    """Distinct texts of a question beyond which its model is fitted in chunks of that many: :data:`CHUNK_TEXTS`,
    or ``ANALYSIS_POSITIONS_CHUNK_TEXTS`` when set.

    Raises:
        ConfigError: The variable is not a positive whole number.
    """
    return paths.env_count(CHUNK_ENV, CHUNK_TEXTS, "texts per positions task")


def _vectorizers(featurizer: Any) -> list[FastTfidfVectorizer] | None:
    """The TF-IDF vectorisers of a default featurizer whose vocabulary and idf can be summed from chunks (no setting
    reads how many documents there are but the idf: :meth:`FastTfidfVectorizer.counts_distinct`), else ``None``."""
    if not (isinstance(featurizer, LeanUnion) and featurizer.transformer_weights is None):
        return None
    vecs = [t for _, t in featurizer.transformer_list]
    if not all(isinstance(v, FastTfidfVectorizer) and v.counts_distinct() and not v.binary and v.use_idf
               for v in vecs):
        return None
    return vecs


def distinct(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The distinct texts in order of first occurrence, and each text's index among them."""
    first: dict[str, int] = {}
    rows = np.fromiter((first.setdefault(t, len(first)) for t in texts), dtype=np.intp, count=len(texts))
    return list(first), rows


def in_chunks(model: StanceModel, texts: Sequence[str], predict: Sequence[str], size: int | None = None) -> bool:
    """Whether :func:`cross_fit_chunked` fits this question: the default TF-IDF features and more than ``size``
    (default :func:`chunk_texts`) distinct texts."""
    size = chunk_texts() if size is None else size
    if len(texts) + len(predict) <= size or _vectorizers(model._new_featurizer()) is None:
        return False
    return len(set(texts).union(predict)) > size


def chunk_terms(part: tuple[list[str], np.ndarray], *, featurizer: Any) -> list[tuple[list[str], np.ndarray]]:
    """Step 1 for one chunk: per vectoriser of ``featurizer`` (unfitted), the chunk's terms in sorted order and each
    one's document frequency, a distinct text standing for as many documents as ``part[1]`` says."""
    docs, counts = part
    out = []
    with threadpool_limits(limits=1, user_api="blas"):
        for vec in _vectorizers(featurizer) or []:
            v = clone(vec)
            try:
                x = CountVectorizer.fit_transform(v, docs)  # the vectoriser's own counting, vocabulary sorted
            except ValueError as err:  # no text of the chunk holds a term (e.g. every one blank)
                if "empty vocabulary" not in str(err):
                    raise
                out.append(([], np.zeros(0, dtype=np.int64)))
                continue
            terms = [""] * len(v.vocabulary_)
            for term, i in v.vocabulary_.items():
                terms[i] = term
            out.append((terms, _weighted_df(x, np.asarray(counts, dtype=np.int64)).astype(np.int64)))
    return out


def fitted_featurizer(featurizer: Any, parts: list[list[tuple[list[str], np.ndarray]]], n_docs: int) -> Any:
    """Step 1 joined: ``featurizer`` (unfitted; a fitted copy is returned) with each vectoriser's vocabulary (every
    term met, numbered in sorted order as scikit-learn numbers them) and idf, from the chunks' :func:`chunk_terms`
    of ``n_docs`` documents in all.

    Raises:
        ValueError: No chunk held a term (as fitting on the texts whole raises).
    """
    out = clone(featurizer)
    for j, v in enumerate(_vectorizers(out) or []):
        terms, df = _summed([part[j] for part in parts])
        if not terms:
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        v._check_params()
        v.vocabulary_ = {term: i for i, term in enumerate(terms)}  # as the whole fit leaves them (Python ints)
        v.fixed_vocabulary_ = False
        v._tfidf = TfidfTransformer(norm=v.norm, use_idf=v.use_idf, smooth_idf=v.smooth_idf,
                                    sublinear_tf=v.sublinear_tf)
        v._tfidf.fit(sp.csr_matrix((1, len(terms)), dtype=v.dtype))  # what fit sets besides the idf reads no row
        v._tfidf.idf_ = idf_of(df, n_docs, v.smooth_idf,
                               np.float64 if v.dtype not in (np.float32, np.float64) else v.dtype)
        del terms, df
    return out


def _summed(parts: list[tuple[list[str], np.ndarray]]) -> tuple[list[str], np.ndarray]:
    """Every term of the chunks in sorted order (Python's string order, as ``sorted``) and its summed document
    frequency."""
    terms = np.concatenate([np.asarray(t, dtype=object) for t, _ in parts] or [np.zeros(0, dtype=object)])
    codes, uniq = pd.factorize(terms)
    del terms
    freq = np.concatenate([f for _, f in parts] or [np.zeros(0, dtype=np.int64)]).astype(np.float64)
    df = np.bincount(codes, weights=freq, minlength=len(uniq)).astype(np.int64)  # whole numbers below 2**53: exact
    order = np.argsort(uniq, kind="stable")
    return uniq[order].tolist(), df[order]


def features(featurizer: Any, texts: Sequence[str]) -> Any:
    """The features of ``texts`` from a :func:`fitted_featurizer`: per vectoriser each text's term counts, sorted by
    column, weighted by the idf and normalised (so a text's row depends on its text alone), put side by side; CSR
    with sorted indices."""
    blocks = []
    for v in _vectorizers(featurizer) or []:
        x = CountVectorizer.transform(v, list(texts))
        x = sp.csr_matrix(x) if not isinstance(x, sp.csr_matrix | sp.csr_array) else x
        x = x.astype(v._tfidf.idf_.dtype, copy=False)
        x.sort_indices()
        blocks.append(_tfidf_in_place(v._tfidf, x))
    out = lean_hstack(blocks)
    out.sort_indices()
    return out


def chunk_proba(texts: list[str], *, model: StanceModel) -> np.ndarray:
    """Step 3 for one chunk: the fitted ``model``'s class probabilities of ``texts`` (columns in ``classes_``
    order)."""
    with threadpool_limits(limits=1, user_api="blas"):
        return model.proba_features(features(model.featurizer_, texts))


def cross_fit_chunked(model: StanceModel, texts: Sequence[str], labels: Sequence[str], *, folds: int = 5,
                      predict: Sequence[str] = (), run: Any, size: int | None = None,
                      ) -> tuple[StanceModel, pd.DataFrame, pd.DataFrame]:
    """:func:`~analysis.positions.model.cross_fit` with the counting and the predictions a task a chunk.

    Args:
        model: Unfitted template (cloned); its featurizer the default TF-IDF one (:func:`in_chunks`).
        texts: Labelled (training) texts.
        labels: Their positions.
        folds: Maximum number of stratified folds.
        predict: Further texts to predict with the final model.
        run: ``run(fn, items, label=, shared=)`` -> ``[fn(item, **shared) ...]`` on the engine's workers
            (:func:`analysis.themes.chunked.on_cluster`, :func:`analysis.themes.chunked.forked`).
        size: Distinct texts a chunk (default :func:`chunk_texts`).

    Returns:
        ``(fitted model, oof, predicted)`` as :func:`~analysis.positions.model.cross_fit` returns them.

    Raises:
        ValueError: Fewer than two distinct labels.
    """
    size = chunk_texts() if size is None else size
    texts, predict = list(texts), list(predict)
    y = _labels(labels)
    m = model.clone()
    docs, rows = distinct(texts + predict)
    counts = np.bincount(rows, minlength=len(docs))
    del rows
    parts = [(docs[lo:lo + size], counts[lo:lo + size]) for lo in range(0, len(docs), size)]
    unfitted = m._new_featurizer()
    t0 = time.perf_counter()
    terms = run(chunk_terms, parts, label="positions-chunk-terms", shared=dict(featurizer=unfitted))
    t1 = time.perf_counter()
    n_docs, n_parts = len(docs), len(parts)
    del parts, docs, counts
    m.featurizer_ = fitted_featurizer(unfitted, terms, len(texts) + len(predict))
    del terms
    t2 = time.perf_counter()
    oof = fit_classifier(m, features(m.featurizer_, texts), y, folds)
    t3 = time.perf_counter()
    pred = _empty_pred()
    if predict:
        wanted, back = distinct(predict)
        proba = run(chunk_proba, [wanted[lo:lo + size] for lo in range(0, len(wanted), size)],
                    label="positions-chunk-predict", shared=dict(model=m))
        pred = _decide(np.concatenate(proba)[back], m.classes_, m.confidence_threshold)
    log.info("positions: %d distinct texts in %d chunks: counted in %.1fs, vocabulary joined in %.1fs, model fitted "
             "in %.1fs, predicted in %.1fs", n_docs, n_parts, t1 - t0, t2 - t1,
             t3 - t2, time.perf_counter() - t3)
    return m, oof, pred
