"""The compiled TF-IDF + SVD encoding (analysis.themes.fastencode) gives the backend's sparse path, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from test_themes_helpers import polis_texts

from analysis import embeddings as E
from analysis.themes import fastencode as F

pytestmark = pytest.mark.skipif(F.kernels() is None, reason="numba is not available")

#: Texts that stress what the counting reads: accents and case (NFKD, final sigma), every cut (sentence ends before
#: a space, line breaks, CRLF, tabs), blanks, punctuation only, repeated pieces and words (counts past 255 for the
#: radix sort's and the log table's larger values), terms outside the vocabulary, bigrams across cuts.
ODD = [
    "", " ", "\n", "...", "?!", "Nature. Nature. Nature.", "nature nature\nnature\r\nnature\tnature",
    "Ça coûte cher; NAÏVE café. Über-große Straße!", "ΣΊΣΥΦΟΣ ΟΔΟΣ. τελικό ς", "x", "1234 56. 7 89.0",
    "The birds. Birds matter? the BIRDS! birds\nbirds", "zzzqqq xxyyzz. wwvvuu", "a. b. c. d. e. f. g. h.",
    "predator free " * 300, ("Protect the native forest. " * 40 + "\n") * 3, "“Quoted” — dashed – text… ok.",
    "water quality\n\nwater quality.\n.\n", "  leading and trailing spaces  ", "e\u0301t\u00e9 cafe\u0301",
]


def _backend(texts: list[str], **kw) -> E.TfidfSvdBackend:
    return E.TfidfSvdBackend(n_components=kw.pop("n_components", 48), seed=kw.pop("seed", 5), **kw).fit(texts)


def _sparse_path(backend: E.TfidfSvdBackend, texts: list[str]) -> np.ndarray:
    """The backend's own batch path, one batch."""
    return backend._encode_batch(list(texts))


def _texts() -> list[str]:
    base = polis_texts()
    rng = np.random.default_rng(11)
    mixed = [" ".join(rng.choice(base, size=3)) + ". " + base[i % len(base)].upper() for i in range(150)]
    return base + mixed + ODD


def test_fused_vectors_are_the_sparse_paths_bit_for_bit(monkeypatch):
    texts = _texts()
    be = _backend(polis_texts())
    enc = be._fused_encoder()
    assert enc is not None
    want = _sparse_path(be, texts)
    monkeypatch.setattr(E, "FUSED_MIN_TEXTS", 1)
    got = be.encode(texts)
    assert got.dtype == np.float32 and got.shape == want.shape
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
    # the float64 projections themselves, before the l2 normalisation
    ref = be._project(be._sparse(texts))
    assert np.array_equal(enc.project(texts).view(np.uint64), ref.view(np.uint64))


def test_fused_vectors_do_not_depend_on_batches_threads_or_forgotten_memos(monkeypatch):
    texts = _texts()
    be = _backend(texts, n_components=32, char_weight=0.5)  # a weight other than 1 on the character block
    want = _sparse_path(be, texts)
    monkeypatch.setattr(E, "FUSED_MIN_TEXTS", 1)
    for batch, threads, kept in ((7, 2, 5), (64, 1, 3), (1000, 2, 100_000)):
        monkeypatch.setattr(F, "BATCH", batch)
        monkeypatch.setattr(F, "THREADS", threads)
        monkeypatch.setattr(F, "PIECES_KEPT", kept)  # the memos start again between batches
        be._fused = None
        got = be.encode(texts)
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), (batch, threads, kept)
    # texts met again by the same encoder (pieces, words and pairs from its memos)
    assert np.array_equal(be.encode(texts[::-1]).view(np.uint32), want[::-1].view(np.uint32))


def test_unigram_only_word_block_and_a_vocabulary_without_bigrams(monkeypatch):
    texts = _texts()
    be = E.TfidfSvdBackend(n_components=24, seed=2, word_ngrams=(1, 1), char_ngrams=(2, 4)).fit(polis_texts())
    monkeypatch.setattr(E, "FUSED_MIN_TEXTS", 1)
    assert be._fused_encoder() is not None
    assert np.array_equal(be.encode(texts).view(np.uint32), _sparse_path(be, texts).view(np.uint32))


def test_settings_the_kernel_does_not_compute_take_the_sparse_path(monkeypatch):
    be = _backend(polis_texts())
    be.word_.sublinear_tf = False  # a setting the kernel does not reproduce
    assert not F.applies(be.word_, be.char_, be.svd_)
    assert be._fused_encoder() is None
    monkeypatch.setattr(E, "FUSED_MIN_TEXTS", 1)
    texts = _texts()
    assert np.array_equal(be.encode(texts), _sparse_path(be, texts))
    tiny = E.TfidfSvdBackend().fit(["only one answer"])  # no SVD: the sparse space
    assert tiny.svd_ is None and tiny._fused_encoder() is None


def test_an_encoder_that_differs_on_the_probe_is_never_used():
    be = _backend(polis_texts())
    good = F.fused_encoder(be.word_, be.char_, be.svd_, be._projection_matrix(), be.char_weight,
                           lambda t: be._project(be._sparse(t)))
    assert good is not None and not good._pieces  # the probe's pieces are not kept
    bad = F.fused_encoder(be.word_, be.char_, be.svd_, be._projection_matrix(), be.char_weight,
                          lambda t: be._project(be._sparse(t)) * (1 + 1e-12))
    assert bad is None


def test_the_encoder_is_not_pickled_with_the_backend():
    import pickle

    be = _backend(polis_texts())
    assert be._fused_encoder() is not None
    again = pickle.loads(pickle.dumps(be))
    assert "_fused" not in again.__dict__
    texts = _texts()
    assert np.array_equal(again.encode(texts), be.encode(texts))
