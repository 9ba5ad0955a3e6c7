"""The stance features kept as unstacked blocks (:class:`~analysis.positions.features.Blocks`) and renumbered in place
(:class:`~analysis.positions.features.LeanTfidfVectorizer`), against the code they replace: the union's whole stacked
matrix, sorted, scikit-learn's renumbering, and every distinct text predicted at once.

Real ArgKP arguments (``cannabis``, and the ArgKP consultation of ``test_positions``), some repeated as campaign copies
repeat, with the steps made small so that rows and nonzeros are cut across them: the results must be the very bytes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_positions import _argkp_consultation

from analysis.positions import features
from analysis.positions import model as model_mod
from analysis.positions import stage as positions
from analysis.positions.features import (
    Blocks,
    LeanTfidfVectorizer,
    deferred_stacking,
    fit_distinct,
    tfidf_featurizer,
)
from analysis.positions.model import StanceModel, cross_fit
from analysis.vectorize import FastTfidfVectorizer


def _same_csr(a, b) -> None:  # noqa: ANN001
    assert type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    assert a.data.tobytes() == b.data.tobytes()


def _repeated(texts: list[str], seed: int) -> list[str]:
    """The texts with some repeated up to 4 times, shuffled (seeded)."""
    rng = np.random.default_rng(seed)
    reps = 1 + rng.integers(0, 4, size=len(texts)) * (rng.random(len(texts)) < 0.5)
    docs = [t for t, r in zip(texts, reps, strict=True) for _ in range(r)]
    return [docs[i] for i in rng.permutation(len(docs))]


@pytest.mark.parametrize("analyzer", ["word", "char_wb"])
def test_lean_vectorizer_renumbers_as_scikit_learn(cannabis, monkeypatch, analyzer):
    monkeypatch.setattr(features, "SORT_CHUNK", 97)  # many steps, cut inside rows
    docs = _repeated(cannabis["text"].tolist(), seed=2)
    kw = dict(ngram_range=(1, 2)) if analyzer == "word" else dict(analyzer="char_wb", ngram_range=(2, 5))
    first: dict[str, int] = {}
    rows = np.array([first.setdefault(d, len(first)) for d in docs])
    lean, fast = LeanTfidfVectorizer(sublinear_tf=True, **kw), FastTfidfVectorizer(sublinear_tf=True, **kw)
    got = lean.fit_transform(list(first), doc_counts=np.bincount(rows))
    want = fast.fit_transform(list(first), doc_counts=np.bincount(rows))
    assert got.nnz > 10 * features.SORT_CHUNK
    assert lean.vocabulary_ == fast.vocabulary_ and lean.idf_.tobytes() == fast.idf_.tobytes()
    _same_csr(got, want)
    _same_csr(lean.fit_transform(docs), fast.fit_transform(docs))  # the plain path too


def test_blocks_rows_are_the_stacked_sorted_rows(cannabis, monkeypatch):
    monkeypatch.setattr(features, "CHUNK_ROWS", 9)
    docs = _repeated(cannabis["text"].tolist(), seed=4)
    f = tfidf_featurizer()
    with deferred_stacking(f):
        blocks, rows = fit_distinct(f, docs)
    assert isinstance(blocks, Blocks) and rows is not None
    assert not hasattr(f, "_defer_stack")  # the fitted featurizer stacks again (propose_for_coding transforms)
    want, _ = fit_distinct(tfidf_featurizer(), docs)
    want = model_mod._canonical(want)
    assert blocks.shape == want.shape
    blocks.sort_indices()
    pick = rows[::3]
    _same_csr(blocks.take(pick), model_mod._take_rows(want, pick))
    chunks = list(blocks.row_chunks(5))
    assert len(chunks) > 2 and all(c.has_sorted_indices for c in chunks)
    _same_csr(_vstack(chunks), want[5:])
    _same_csr(f.transform(docs[:30]), tfidf_featurizer().fit(docs).transform(docs[:30]))


def _vstack(parts: list) -> object:
    """The CSR row chunks one under the other, as one matrix of the chunks' type."""
    import scipy.sparse as sp

    out = sp.vstack(parts, format="csr")
    return type(parts[0])(out)


def _old_code(monkeypatch) -> None:  # noqa: ANN001
    """The features as before: the stacked matrix (no Blocks) of scikit-learn's renumbering."""
    monkeypatch.setattr(features, "DEFER_STACK", False)
    monkeypatch.setattr(features, "LeanTfidfVectorizer", FastTfidfVectorizer)


@pytest.mark.parametrize(("parallel", "repeat"), [(False, True), (True, True), (False, False)])
def test_cross_fit_on_blocks_is_the_stacked_code(cannabis, monkeypatch, parallel, repeat):
    monkeypatch.setattr(features, "CHUNK_ROWS", 11)
    monkeypatch.setattr(features, "SORT_CHUNK", 301)
    monkeypatch.setattr(model_mod, "PARALLEL_MIN_ROWS", 10)
    texts = _repeated(cannabis["text"].tolist(), seed=13) if repeat else cannabis["text"].tolist()
    label_of = dict(zip(cannabis["text"], cannabis["label"], strict=False))
    train, predict = texts[: len(texts) // 2], texts[len(texts) // 2:] + texts[:7]
    labels = [label_of[t] for t in train]
    new = cross_fit(StanceModel(seed=3), train, labels, predict=predict, parallel=parallel)
    with monkeypatch.context() as mp:
        _old_code(mp)
        old = cross_fit(StanceModel(seed=3), train, labels, predict=predict, parallel=parallel)
    assert isinstance(new[0].featurizer_.transformer_list[0][1], LeanTfidfVectorizer)
    assert not isinstance(old[0].featurizer_.transformer_list[0][1], LeanTfidfVectorizer)
    pd.testing.assert_frame_equal(new[1], old[1], check_exact=True)
    pd.testing.assert_frame_equal(new[2], old[2], check_exact=True)
    assert new[0].classifier_.coef_.tobytes() == old[0].classifier_.coef_.tobytes()
    assert len(new[2]) == len(predict) and new[2]["position"].nunique() > 1
    # the fitted model transforms new texts as the old one did (propose_for_coding)
    assert new[0].predict_proba(texts[:20]).tobytes() == old[0].predict_proba(texts[:20]).tobytes()


def test_stage_positions_are_the_stacked_codes(tmp_path, monkeypatch):
    """The whole positions of a consultation of real arguments, its answers repeated as campaign copies."""
    monkeypatch.setattr(features, "CHUNK_ROWS", 64)
    cfg, raw, proc, _truth = _argkp_consultation(tmp_path)
    questions, answers, analyst, _votes, stmt_pos = positions.positions_inputs(cfg, raw, proc)
    # each response copied once under another id (the copies' texts repeat: the distinct rows spread back)
    copy = answers.assign(response_id=answers["response_id"] + "-copy")
    answers = pd.concat([answers, copy.iloc[::2]], ignore_index=True)
    got = positions.assign_positions(cfg, answers, questions, analyst, statement_positions=stmt_pos)
    with monkeypatch.context() as mp:
        _old_code(mp)
        want = positions.assign_positions(cfg, answers, questions, analyst, statement_positions=stmt_pos)
    for g, w in zip(got[:3], want[:3], strict=True):
        pd.testing.assert_frame_equal(g, w, check_exact=True)
    assert (got[0]["source"] == "text_model").sum() > 0 and len(got[2]) > 0


def _pieced(cannabis, seed: int) -> list[str]:  # noqa: ANN001
    """Documents made of real arguments' sentences: shared sentences, line breaks, pieces with no token, one-letter
    words, repeated documents and sentences repeated inside a document (seeded)."""
    rng = np.random.default_rng(seed)
    sentences = [s for t in cannabis["text"] for s in t.replace("? ", ". ").split(". ") if s]
    extra = ["!!!", "", "A b", "I agree.", "No\nYes", "  ", "über Straße", "x"]
    pool = sentences[:60] + extra
    docs = []
    for _ in range(400):
        k = int(rng.integers(1, 6))
        parts = [pool[i] for i in rng.integers(0, len(pool), size=k)]
        seps = [". ", "\n", "! ", "? ", " "]
        doc = parts[0]
        for p in parts[1:]:
            doc += seps[int(rng.integers(0, len(seps)))] + p
        docs.append(doc)
    return docs + docs[:25]


@pytest.mark.parametrize("ngram_range", [(1, 2), (1, 1)])
def test_word_fit_by_pieces_numbers_terms_as_scikit_learn(cannabis, ngram_range):
    """The counting itself, before the terms are sorted: the same vocabulary numbers (the order scikit-learn meets
    the terms in) and the same rows in the same storage order."""
    from sklearn.feature_extraction.text import CountVectorizer

    docs = _pieced(cannabis, seed=21)
    lean = LeanTfidfVectorizer(ngram_range=ngram_range, sublinear_tf=True)
    assert lean._by_pieces()
    vocab, got = lean._count_vocab(docs, fixed_vocab=False)
    want_vocab, want = CountVectorizer._count_vocab(FastTfidfVectorizer(ngram_range=ngram_range), docs, False)
    assert vocab == dict(want_vocab)
    assert list(vocab.values()) == list(range(len(vocab)))
    _same_csr(sp_csr(got), sp_csr(want))
    assert got.indices.dtype == want.indices.dtype and got.indptr.dtype == want.indptr.dtype
    fast = FastTfidfVectorizer(ngram_range=ngram_range, sublinear_tf=True)
    _same_csr(lean.fit_transform(docs), fast.fit_transform(docs))
    assert lean.idf_.tobytes() == fast.idf_.tobytes()


def sp_csr(x):  # noqa: ANN001, ANN201
    """``x`` as a ``csr_matrix`` (counting returns a matrix or an array, per scikit-learn's configuration)."""
    import scipy.sparse as sp

    return sp.csr_matrix(x)
