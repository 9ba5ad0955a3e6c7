"""The TF-IDF + SVD vectors of :class:`~analysis.embeddings.TfidfSvdBackend`, bit for bit, counted and projected
by one compiled pass per text.

The backend's batch path (``_sparse`` then ``_project``) builds, for every 4,096 texts, a word count matrix and a
``char_wb`` count matrix (each sorted by a sparse sort), weights and normalises each (scikit-learn's
``TfidfTransformer`` and ``normalize``), stacks them, normalises again and multiplies by the SVD basis. Here:

* each text is cut into pieces at :func:`analysis.vectorize._cut` (the cuts ``FastTfidfVectorizer`` already
  counts by: no token and no ``char_wb`` word crosses one); each distinct piece is analysed once per process
  (its in-vocabulary word terms, first and last token, and the ``char_wb`` n-gram columns of its words, each
  distinct word's n-grams looked up once) and kept for the next batches (:data:`PIECES_KEPT`);
* a compiled kernel (numba, as :mod:`analysis.spmm`) adds up each text's counts from its pieces (plus the bigrams
  met across the cuts, as :func:`analysis.vectorize._cut_bigrams`), orders its columns, and computes the very
  operations of the sparse path on them, in the same order: ``log(count) + 1`` (the table of
  ``np.log(count) + 1.0`` made by NumPy, as scikit-learn does it on the matrix), times the idf, the l2 norm of each
  block (squares summed in column order, ``sqrt``, then each value divided), the character block times its weight,
  the l2 norm of the whole row, and the product with the basis (``y = 0; y += a * x[j]`` in column order, as
  scipy's and :mod:`analysis.spmm`'s). No sparse matrix is built;
* batches are analysed in the calling thread and their kernels run in :data:`THREADS` threads (the kernel releases
  the GIL), so both cores work without forking the process.

The first use in a process checks the kernel against the sparse path on probe texts (:data:`PROBE`): a build that
gives other bits (a contracting compiler, numba missing) is never used, and the sparse path runs instead.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from analysis.vectorize import FastTfidfVectorizer, _cut

logger = logging.getLogger(__name__)

#: Texts analysed and projected per kernel call (the vectors do not depend on it).
BATCH = 4096
#: Threads running the kernels (the calling thread analyses the next batches meanwhile).
THREADS = min(2, os.cpu_count() or 1)
#: Batches analysed ahead of the kernels at most (bounds the memory held by waiting batches).
AHEAD = 3
#: Distinct pieces (and distinct words) kept between batches; past it the memo starts again (bounds memory).
PIECES_KEPT = 100_000
#: Texts of every kind the first use compares with the sparse path (accents, case, punctuation, cuts, blanks).
PROBE = (
    "", " ", "...", "Hello world. Hello again!\nA new line", "Ça coûte cher; NAÏVE café Über-große Straße.",
    "word word word word. word? word! end", "  spaced   out\ttabs\r\nand CRLF  ", "x", "1234 56 7 89.0",
    "the the the. the the. The THE", "Ünïcödé — dashes – and “quotes” ‘here’… ok.", "a. b. c. d. e.",
    "privacy and human rights matter. privacy and human rights matter.", "ΣΊΣΥΦΟΣ ΟΔΟΣ. final sigma ς", "end.",
)

_KERNELS: tuple[Callable, Callable] | None | bool = False  # False: not tried; None: unavailable


def _compile() -> tuple[Callable, Callable]:
    import numba  # noqa: PLC0415 - heavy import, only when a large encoding is due

    if numba.config.DISABLE_JIT:
        raise RuntimeError("numba's JIT is disabled")
    from analysis.themes import fastkernels  # noqa: PLC0415 - imports numba

    return fastkernels.cut_pairs, fastkernels.encode_rows


def kernels() -> tuple[Callable, Callable] | None:
    """The compiled kernels (compiled or loaded from numba's cache on first use); ``None`` when numba is missing."""
    global _KERNELS
    if _KERNELS is False:
        try:
            _KERNELS = _compile()
        except Exception as err:  # noqa: BLE001 - numba missing or failing: the sparse path
            logger.info("compiled TF-IDF encoding unavailable (%s: %s): sparse path", type(err).__name__, err)
            _KERNELS = None
    return _KERNELS


def applies(word: Any, char: Any, svd: Any) -> bool:
    """Whether the kernel computes what the backend's sparse path computes for these fitted parts: a word vectoriser
    counted by pieces (unigrams, bigrams), a ``char_wb`` one, both plain ``FastTfidfVectorizer`` with sublinear tf,
    smoothed idf and l2 norm on ``str`` content, and a fitted SVD."""
    def plain(v: Any) -> bool:
        return (type(v) is FastTfidfVectorizer and v.input == "content" and not v.binary and v.sublinear_tf
                and v.use_idf and v.norm == "l2" and v.dtype == np.float64 and hasattr(v, "vocabulary_")
                and hasattr(v, "idf_") and v.preprocessor is None)
    return (svd is not None and plain(word) and plain(char) and word._by_pieces() and char.analyzer == "char_wb"
            and getattr(svd, "components_", None) is not None
            and svd.components_.shape[1] == len(word.vocabulary_) + len(char.vocabulary_))


class FusedEncoder:
    """Encodes texts as the backend's sparse path does (float64 projections), one compiled pass per text.

    Args:
        word: The fitted word vectoriser.
        char: The fitted ``char_wb`` vectoriser.
        basis: ``svd.components_.T``, C-ordered float64 (word columns, then character columns).
        char_weight: The character block's weight.
    """

    def __init__(self, word: FastTfidfVectorizer, char: FastTfidfVectorizer, basis: np.ndarray, char_weight: float):
        self.word, self.char = word, char
        self.basis = basis
        self.char_weight = float(char_weight)
        self.idf_w = np.ascontiguousarray(word.idf_, dtype=np.float64)
        self.idf_c = np.ascontiguousarray(char.idf_, dtype=np.float64)
        self.bigrams = word.ngram_range[1] == 2
        self._pre_w = word.build_preprocessor()
        self._tok = word.build_tokenizer()
        self._pre_c = char.build_preprocessor()
        self._same_pre = (word.lowercase, word.strip_accents) == (char.lowercase, char.strip_accents)
        self._pieces: dict[str, tuple] = {}
        self._words: dict[str, np.ndarray] = {}
        self._tokens: dict[str, int] = {}
        self._names: list[str] = []
        self._pairs: dict[int, int] = {}
        self._logp1 = np.zeros(1, dtype=np.float64)
        self._lock = threading.Lock()

    # -- analysis (calling thread) ---------------------------------------------------------------------------------
    def _char_ids(self, word: str) -> np.ndarray:
        got = self._words.get(word)
        if got is None:
            vocab = self.char.vocabulary_
            got = self._words[word] = np.array([i for i in map(vocab.get, self.char._char_wb_ngrams(word))
                                                if i is not None], dtype=np.int64)
        return got

    def _token_id(self, token: str) -> int:
        got = self._tokens.get(token)
        if got is None:
            got = self._tokens[token] = len(self._names)
            self._names.append(token)
        return got

    def _analyse(self, piece: str) -> tuple:
        """A piece's word term columns (with repeats), first and last token ids (-1: no token), n-gram columns."""
        pre = self._pre_w(piece)
        toks = self._tok(pre)
        vocab = self.word.vocabulary_
        w_ids = np.array([i for i in map(vocab.get, self.word._word_ngrams(toks)) if i is not None], dtype=np.int64)
        first = self._token_id(toks[0]) if toks else -1
        last = self._token_id(toks[-1]) if toks else -1
        words = (pre if self._same_pre else self._pre_c(piece)).split()
        c_ids = (np.concatenate([self._char_ids(w) for w in words]) if words else np.zeros(0, dtype=np.int64))
        return w_ids, first, last, c_ids

    def _prepare(self, texts: Sequence[str]) -> tuple:
        """The kernel's arrays for a batch: each text's pieces (batch-local ids) and each piece's columns."""
        if max(len(self._pieces), len(self._tokens), len(self._pairs)) > PIECES_KEPT:
            for memo in (self._pieces, self._tokens, self._names, self._pairs):
                memo.clear()  # the pieces and the pairs hold token ids: all start again
        if len(self._words) > PIECES_KEPT:
            self._words.clear()
        memo, entries = self._pieces, []
        local: dict[str, int] = {}

        def local_id(piece: str) -> int:
            k = local.get(piece)
            if k is None:
                e = memo.get(piece)
                if e is None:
                    e = memo[piece] = self._analyse(piece)
                k = local[piece] = len(entries)
                entries.append(e)
            return k

        doc_pieces: list[int] = []
        ptr = np.zeros(len(texts) + 1, dtype=np.int64)
        for i, text in enumerate(texts):
            doc_pieces.extend(map(local_id, _cut(text)))
            ptr[i + 1] = len(doc_pieces)
        pieces = np.asarray(doc_pieces, dtype=np.int64)
        w_len = np.fromiter((len(e[0]) for e in entries), dtype=np.int64, count=len(entries))
        c_len = np.fromiter((len(e[3]) for e in entries), dtype=np.int64, count=len(entries))
        wp_ptr = np.zeros(len(entries) + 1, dtype=np.int64)
        cp_ptr = np.zeros(len(entries) + 1, dtype=np.int64)
        np.cumsum(w_len, out=wp_ptr[1:])
        np.cumsum(c_len, out=cp_ptr[1:])
        wp_ids = np.concatenate([e[0] for e in entries]) if entries else np.zeros(0, dtype=np.int64)
        cp_ids = np.concatenate([e[3] for e in entries]) if entries else np.zeros(0, dtype=np.int64)
        first = np.fromiter((e[1] for e in entries), dtype=np.int64, count=len(entries))
        last = np.fromiter((e[2] for e in entries), dtype=np.int64, count=len(entries))
        codes, terms = self._cut_terms(ptr, pieces, first, last)
        # the largest count a text can reach: every column of its pieces (and its cuts) the same
        per_piece = w_len + c_len + 1
        most = int(np.add.reduceat(per_piece[pieces], ptr[:-1]).max()) if len(pieces) else 1
        return ptr, pieces, wp_ptr, wp_ids, first, last, codes, terms, cp_ptr, cp_ids, self._log_table(most)

    def _cut_terms(self, ptr: np.ndarray, pieces: np.ndarray, first: np.ndarray, last: np.ndarray):
        """The bigrams met across cuts: sorted pair codes ``last << 32 | first`` and their columns (-1: none)."""
        if not self.bigrams or not len(pieces):
            return np.zeros(1, dtype=np.int64), np.full(1, -1, dtype=np.int64)
        cut_pairs = kernels()[0]
        buf = np.empty(len(pieces), dtype=np.int64)
        codes = np.unique(buf[:cut_pairs(ptr, pieces, first, last, buf)])
        if not len(codes):
            return np.zeros(1, dtype=np.int64), np.full(1, -1, dtype=np.int64)
        memo, vocab = self._pairs, self.word.vocabulary_
        missing = [c for c in codes.tolist() if c not in memo]
        if missing:
            names = self._names
            for c in missing:
                memo[c] = vocab.get(f"{names[c >> 32]} {names[c & 0xFFFFFFFF]}", -1)
        return codes, np.fromiter((memo[c] for c in codes.tolist()), dtype=np.int64, count=len(codes))

    def _log_table(self, most: int) -> np.ndarray:
        """``np.log(count) + 1.0`` for every count up to ``most``, by NumPy as scikit-learn computes it."""
        if len(self._logp1) <= most:
            table = np.arange(max(most + 1, 2 * len(self._logp1)), dtype=np.float64)
            with np.errstate(divide="ignore"):
                np.log(table, table)
            table += 1.0
            self._logp1 = table
        return self._logp1

    # -- projection (kernel threads) -------------------------------------------------------------------------------
    def _project(self, arrays: tuple, out: np.ndarray) -> None:
        ptr, pieces, wp_ptr, wp_ids, first, last, codes, terms, cp_ptr, cp_ids, logp1 = arrays
        kernels()[1](ptr, pieces, wp_ptr, wp_ids, first, last, codes, terms, cp_ptr, cp_ids, logp1, self.idf_w,
                     self.idf_c, self.char_weight, self.basis, out, self.bigrams)

    def project(self, texts: Sequence[str]) -> np.ndarray:
        """The float64 projections of ``texts`` (``_project(_sparse(texts))``), in one call (no threads)."""
        out = np.empty((len(texts), self.basis.shape[1]), dtype=np.float64)
        for s in range(0, len(texts), BATCH):
            self._project(self._prepare(texts[s:s + BATCH]), out[s:s + BATCH])
        return out

    def encode(self, texts: Sequence[str], finish: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """``finish(projections)`` of every text (float32 rows), batches analysed here and projected in threads.

        Args:
            texts: The texts (``str``).
            finish: Rows of float64 projections -> the float32 rows returned (the backend's l2 normalisation).
        """
        dim = self.basis.shape[1]
        result = np.empty((len(texts), dim), dtype=np.float32)

        def run(s: int, arrays: tuple) -> None:
            part = np.empty((min(BATCH, len(texts) - s), dim), dtype=np.float64)
            self._project(arrays, part)
            result[s:s + len(part)] = finish(part)

        with self._lock, ThreadPoolExecutor(max(1, THREADS)) as pool:  # one encoding at a time uses the memos
            pending: deque[Future] = deque()
            for s in range(0, len(texts), BATCH):
                arrays = self._prepare(texts[s:s + BATCH])
                while len(pending) >= AHEAD:
                    pending.popleft().result()
                pending.append(pool.submit(run, s, arrays))
            while pending:
                pending.popleft().result()
        return result


def fused_encoder(word: Any, char: Any, svd: Any, basis: np.ndarray, char_weight: float,
                  sparse_path: Callable[[list[str]], np.ndarray]) -> FusedEncoder | None:
    """A :class:`FusedEncoder` for these fitted parts once it gives the sparse path's bits on :data:`PROBE`.

    Args:
        word, char, svd: The backend's fitted vectorisers and SVD.
        basis: ``svd.components_.T`` (C order).
        char_weight: The character block's weight.
        sparse_path: texts -> float64 projections by the backend's sparse path (the reference).

    Returns:
        The encoder, or ``None`` when it does not apply (:func:`applies`), numba is unavailable, or the probe differs.
    """
    if not applies(word, char, svd) or kernels() is None:
        return None
    enc = FusedEncoder(word, char, basis, char_weight)
    probe = list(PROBE)
    want = sparse_path(probe)
    got = enc.project(probe)
    if not np.array_equal(got.view(np.uint64), np.asarray(want, dtype=np.float64).view(np.uint64)):
        logger.warning("compiled TF-IDF encoding differs from the sparse path here: sparse path used")
        return None
    return FusedEncoder(word, char, basis, char_weight)  # fresh memos: the probe's pieces are not kept
