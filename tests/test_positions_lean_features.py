"""The featurising's lean steps against the scikit-learn / scipy code they replace, on real ArgKP arguments.

Each step holds fewer copies of the features at once (the positions stage's peak at scale); each must give the very
arrays of the code it replaces: the union's stacking (``scipy.sparse.hstack``), the idf weighting
(``TfidfTransformer.transform``), the pruning that keeps every term (``CountVectorizer._limit_features``), the
weighted document frequencies (one ``np.bincount``) and the 32-bit two-step counts.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from analysis import vectorize
from analysis.positions import features
from analysis.positions.features import LeanUnion, fit_distinct, lean_hstack, tfidf_featurizer
from analysis.vectorize import FastTfidfVectorizer, _tfidf_in_place, _weighted_df


def _same_csr(a, b) -> None:  # noqa: ANN001
    assert type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype
    assert a.indices.dtype == b.indices.dtype and a.indptr.dtype == b.indptr.dtype
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    assert a.data.tobytes() == b.data.tobytes()


def _docs(cannabis) -> list[str]:  # noqa: ANN001
    texts = cannabis["text"].tolist()
    return texts + texts[::3]  # some repeated


@pytest.mark.parametrize("rows", [4096, 7])
def test_lean_hstack_is_scipys(cannabis, monkeypatch, rows):
    monkeypatch.setattr(features, "STACK_ROWS", rows)  # several steps, rows cut across them
    docs = _docs(cannabis)
    word = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(docs)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True).fit_transform(docs)
    blocks = [word, char, word[:, :5]]
    _same_csr(lean_hstack(blocks), sp.hstack(blocks).tocsr())
    arrays = [sp.csr_array(b) for b in blocks]
    _same_csr(lean_hstack(arrays), sp.hstack(arrays).tocsr())


def test_lean_union_is_feature_union(cannabis):
    docs = _docs(cannabis)
    lean = tfidf_featurizer()
    assert isinstance(lean, LeanUnion)
    plain = FeatureUnion([(n, FastTfidfVectorizer(**t.get_params())) for n, t in lean.transformer_list])
    _same_csr(lean.fit_transform(docs), plain.fit_transform(docs))
    _same_csr(lean.transform(docs[:50]), plain.transform(docs[:50]))
    f_lean, r_lean = fit_distinct(tfidf_featurizer(), docs)
    first: dict[str, int] = {}
    rows = np.array([first.setdefault(d, len(first)) for d in docs])
    f_plain = plain.fit_transform(list(first), doc_counts=np.bincount(rows))
    _same_csr(f_lean, f_plain)
    assert np.array_equal(r_lean, rows)


@pytest.mark.parametrize("kw", [dict(sublinear_tf=True), dict(sublinear_tf=False, norm="l1"),
                                dict(use_idf=False), dict(norm=None, smooth_idf=False)])
def test_tfidf_in_place_is_scikit_learns(cannabis, kw, monkeypatch):
    monkeypatch.setattr(vectorize, "IDF_CHUNK", 1000)  # several chunks
    counts = CountVectorizer(analyzer="char_wb", ngram_range=(2, 5)).fit_transform(_docs(cannabis)).astype(np.float64)
    t = TfidfTransformer(**kw).fit(counts)
    _same_csr(_tfidf_in_place(t, counts.copy()), t.transform(counts.copy(), copy=False))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("analyzer", ["word", "char_wb"])
def test_pruning_that_keeps_every_term_is_scikit_learns(cannabis, analyzer, dtype):
    docs = _docs(cannabis)
    ours = FastTfidfVectorizer(analyzer=analyzer, sublinear_tf=True, dtype=dtype)
    x = ours.fit_transform(docs)
    ref = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, dtype=dtype)
    _same_csr(x, ref.fit_transform(docs))
    assert ours.vocabulary_ == ref.vocabulary_
    counts = CountVectorizer.fit_transform(FastTfidfVectorizer(analyzer=analyzer), docs)
    vocab = {f"t{i}": i for i in range(counts.shape[1])}
    v1, v2 = dict(vocab), dict(vocab)
    _same_csr(FastTfidfVectorizer()._limit_features(counts, v1, counts.shape[0] * 1.0, 1),
              CountVectorizer._limit_features(FastTfidfVectorizer(), counts, v2, counts.shape[0] * 1.0, 1))
    assert v1 == v2
    pruned = FastTfidfVectorizer()._limit_features(counts, dict(vocab), 3, 1)  # other settings: scikit-learn's
    assert pruned.shape[1] < counts.shape[1]


def test_weighted_df_is_one_bincount(cannabis, monkeypatch):
    monkeypatch.setattr(vectorize, "DF_ROWS", 13)
    x = CountVectorizer(analyzer="char_wb", ngram_range=(2, 5)).fit_transform(_docs(cannabis))
    counts = np.random.default_rng(3).integers(1, 50, size=x.shape[0])
    ref = np.bincount(x.indices, weights=np.repeat(counts, np.diff(x.indptr)), minlength=x.shape[1])
    assert _weighted_df(x, counts).tobytes() == ref.tobytes()


def test_two_step_counts_in_32_bits_are_the_64_bit_counts(cannabis):
    rng = np.random.default_rng(4)
    n_docs, n_mid, n_terms = 300, 50, 80
    lens = rng.integers(0, 30, size=n_docs)
    cols = rng.integers(0, n_mid, size=int(lens.sum())).tolist()
    indptr = [0, *np.cumsum(lens).tolist()]
    mlens = rng.integers(0, 10, size=n_mid)
    mid_cols = rng.integers(0, n_terms, size=int(mlens.sum())).tolist()
    mid_ptr = [0, *np.cumsum(mlens).tolist()]
    got = vectorize._two_step_counts(cols, indptr, mid_cols, mid_ptr, (n_docs, n_mid, n_terms))
    outer = sp.csr_array((np.ones(len(cols), dtype=np.int64), np.asarray(cols), np.asarray(indptr)), shape=(n_docs, n_mid))
    inner = sp.csr_array((np.ones(len(mid_cols), dtype=np.int64), np.asarray(mid_cols), np.asarray(mid_ptr)),
                         shape=(n_mid, n_terms))
    outer.sum_duplicates()
    inner.sum_duplicates()
    ref = (outer @ inner).tocsr()
    got.sort_indices()
    ref.sort_indices()
    assert np.array_equal(got.indptr, ref.indptr) and np.array_equal(got.indices, ref.indices)
    assert np.array_equal(got.data, ref.data) and got.data.dtype == np.intc
