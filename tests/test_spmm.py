"""analysis.spmm: the compiled CSR x dense product against scipy's, bit for bit, on the TF-IDF matrices of real texts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD

from analysis import embeddings as E
from analysis import spmm

FIX = Path(__file__).parent / "fixtures"


def _texts() -> list[str]:
    """ArgKP arguments (themes and positions cuts) and the Pol.is statements."""
    return (pd.read_csv(FIX / "themes" / "argkp_arguments.csv")["argument"].tolist()
            + pd.read_csv(FIX / "positions" / "argkp_two_topics.csv")["argument"].tolist()
            + pd.read_csv(FIX / "themes" / "polis_biodiversity_comments.csv")["comment-body"].tolist())


@pytest.fixture(scope="module")
def tfidf() -> sp.csr_matrix:
    texts = _texts()
    be = E.TfidfSvdBackend(n_components=8, seed=0).fit(texts)
    return be._sparse(texts)


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.uint64)


def _scipy(a: sp.csr_matrix, x: np.ndarray) -> np.ndarray:
    return sp.csr_matrix._matmul_multivector(sp.csr_matrix(a), x)


def test_the_kernel_is_available_here():
    assert spmm.kernel() is not None  # numba comes with umap-learn (bertopic): the fast path is what runs


def test_the_kernel_gives_scipys_bits_on_tfidf_rows_and_their_transpose(tfidf):
    rng = np.random.default_rng(3)
    t = sp.csr_matrix(tfidf.T.tocsr())
    t.sort_indices()
    unsorted = tfidf.copy()
    for i in range(unsorted.shape[0]):  # storage order reversed: the kernel must follow it as scipy does
        lo, hi = unsorted.indptr[i], unsorted.indptr[i + 1]
        unsorted.indices[lo:hi] = unsorted.indices[lo:hi][::-1].copy()
        unsorted.data[lo:hi] = unsorted.data[lo:hi][::-1].copy()
    unsorted.has_sorted_indices = False
    for a in (tfidf, t, unsorted):
        for n_vecs in (1, 3, 266):
            x = rng.standard_normal((a.shape[1], n_vecs))
            want = _scipy(a, x)
            got = np.empty_like(want)
            spmm.csr_dense_rows(a, x, 0, a.shape[0], got)
            assert np.array_equal(_bits(got), _bits(want))
            part = np.empty((a.shape[0] - 5 - 7, n_vecs))  # a block of rows, as a thread computes it
            spmm.csr_dense_rows(a, x, 7, a.shape[0] - 5, part)
            assert np.array_equal(_bits(part), _bits(want[7:-5]))
    assert not np.array_equal(_bits(_scipy(unsorted, x)), _bits(_scipy(tfidf, x)))  # the order matters


def test_the_svd_fit_with_the_kernel_is_the_fit_with_scipys_product(tfidf, monkeypatch):
    k = min(256, tfidf.shape[0] - 1)
    plain = TruncatedSVD(n_components=k, algorithm="randomized", random_state=0).fit(tfidf)
    for kernel in (spmm.kernel(), None):
        monkeypatch.setattr(spmm, "_KERNEL", kernel)
        for threads in (1, 2):
            monkeypatch.setattr(E, "SVD_THREADS", threads)
            svd = TruncatedSVD(n_components=k, algorithm="randomized", random_state=0).fit(E._ThreadedCSR(tfidf))
            assert np.array_equal(_bits(svd.components_), _bits(plain.components_))
            assert np.array_equal(_bits(svd.singular_values_), _bits(plain.singular_values_))


def test_the_probe_refuses_a_kernel_that_sums_otherwise():
    def pairwise(indptr, indices, data, x, out, r0, r1):  # the same products, summed as a dot product does
        for i in range(r0, r1):
            lo, hi = indptr[i], indptr[i + 1]
            out[i - r0] = data[lo:hi] @ x[indices[lo:hi]]

    def fused(indptr, indices, data, x, out, r0, r1):  # one rounding per entry instead of two (an FMA)
        for i in range(r0, r1):
            acc = np.zeros(x.shape[1], dtype=np.longdouble)
            for jj in range(indptr[i], indptr[i + 1]):
                acc = (acc + np.longdouble(data[jj]) * x[indices[jj]]).astype(np.float64).astype(np.longdouble)
            out[i - r0] = acc.astype(np.float64)

    assert spmm._probe(spmm.kernel())
    assert not spmm._probe(pairwise)
    assert not spmm._probe(fused)


def test_without_numba_scipy_is_used(monkeypatch, tfidf):
    monkeypatch.setattr(spmm, "_KERNEL", False)
    monkeypatch.setattr(spmm, "_compile", lambda: (_ for _ in ()).throw(ImportError("no numba")))
    assert spmm.kernel() is None
    x = np.random.default_rng(1).standard_normal((tfidf.shape[1], 5))
    got = np.empty((tfidf.shape[0], 5))
    spmm.csr_dense_rows(tfidf, x, 0, tfidf.shape[0], got)
    assert np.array_equal(_bits(got), _bits(_scipy(tfidf, x)))


def test_the_backend_projects_as_the_svds_transform_did(monkeypatch):
    import pickle

    texts = _texts()
    be = E.TfidfSvdBackend(n_components=64, seed=1).fit(texts[::2])
    for kernel in (None, spmm.kernel()):  # scipy's product, then the kernel's (once loaded)
        monkeypatch.setattr(spmm, "_KERNEL", kernel)
        for part in (texts[:3], texts[1::2], texts):
            x = be._sparse(part)
            assert np.array_equal(_bits(be._project(x)), _bits(be.svd_.transform(x)))
            assert np.array_equal(be.encode(part), E._l2(be.svd_.transform(x)))
    assert "_projection" in be.__dict__ and "_projection" not in pickle.loads(pickle.dumps(be)).__dict__
    old = be.svd_
    be.fit(texts[1::2])  # refitted: a new SVD, a new projection
    assert be.svd_ is not old and be._project(be._sparse(texts[:4])).shape == (4, be.svd_.n_components)
    assert np.array_equal(_bits(be._project(be._sparse(texts))), _bits(be.svd_.transform(be._sparse(texts))))


def test_a_small_fit_does_not_load_the_kernel_a_large_one_does(monkeypatch):
    texts = _texts()
    monkeypatch.setattr(spmm, "_KERNEL", False)
    small = E.TfidfSvdBackend(n_components=32, seed=0).fit(texts)
    assert spmm._KERNEL is False  # ~1e7 multiply-adds: not worth the ~0.4 s load
    monkeypatch.setattr(spmm, "MIN_WORK", 1e6)
    big = E.TfidfSvdBackend(n_components=32, seed=0).fit(texts)
    assert spmm.loaded()
    assert np.array_equal(_bits(big.svd_.components_), _bits(small.svd_.components_))


def test_with_numbas_jit_disabled_scipy_is_used(monkeypatch):
    import numba

    monkeypatch.setattr(numba.config, "DISABLE_JIT", True)
    monkeypatch.setattr(spmm, "_KERNEL", False)
    assert spmm.kernel() is None and not spmm.loaded()
