"""``FastTfidfVectorizer``: scikit-learn's TF-IDF matrices, bit for bit, with far less Python counting.

Shared by the positions featurizer (:mod:`analysis.positions.features`) and the themes' TF-IDF + SVD embedding
backend (:class:`analysis.embeddings.TfidfSvdBackend`).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.preprocessing import normalize

#: Where :meth:`FastTfidfVectorizer._word_piece_counts` cuts a document: the space after a sentence end, and a line
#: break. Neither is in a token, and lower-casing (its final-sigma rule looks past neither) and accent stripping
#: (NFKD reorders no mark across either) treat the text on each side alone, so the pieces' tokens, in order, are
#: the document's.
_CUT = re.compile(r"(?<=[.!?]) |\n")
_CUT_SPACES = tuple((f"{end} ", f"{end}\n") for end in ".!?")


def _cut(text: str) -> list[str]:
    """``_CUT.split(text)``: each space after a sentence end made a line break, then split at line breaks."""
    for space, brk in _CUT_SPACES:
        if space in text:
            text = text.replace(space, brk)
    return text.split("\n")
#: The token patterns whose tokens never hold a space or a line break: scikit-learn's default, and the themes'.
#: Pieces analysed by :meth:`FastTfidfVectorizer._piece_terms` kept for the next batches of the same vectoriser.
PIECES_KEPT = 100_000
_PIECES: dict[int, tuple[dict, tuple, dict]] = {}
_WORD_PATTERNS = (r"(?u)\b\w\w+\b", r"(?u)\b\w+\b")

def _two_step_counts(cols: list[int], indptr: list[int], mid_cols: list[int], mid_ptr: list[int],
                     shape: tuple[int, int, int]) -> sp.csr_array:
    """Term counts of documents made of counted parts: (documents x parts) @ (parts x terms), both given as CSR
    column lists with unit entries (a part listed twice counts twice); ``shape`` is (documents, parts, terms)."""
    n_docs, n_mid, n_terms = shape
    # 32-bit counts and indices where they fit (scipy's product widens its indices itself when its nonzeros do not):
    # the product's arrays were 16 bytes a nonzero, now 8; the same counts (none nears 2**31 in one document)
    small = max(len(cols), len(mid_cols), n_docs, n_mid, n_terms) < np.iinfo(np.int32).max
    idx, val = (np.int32, np.intc) if small else (np.int64, np.int64)
    outer = sp.csr_array((np.ones(len(cols), dtype=val), np.asarray(cols, dtype=idx),
                          np.asarray(indptr, dtype=idx)), shape=(n_docs, n_mid))
    inner = sp.csr_array((np.ones(len(mid_cols), dtype=val), np.asarray(mid_cols, dtype=idx),
                          np.asarray(mid_ptr, dtype=idx)), shape=(n_mid, n_terms))
    outer.sum_duplicates()
    inner.sum_duplicates()
    return (outer @ inner).tocsr()


class FastTfidfVectorizer(TfidfVectorizer):
    """``TfidfVectorizer`` whose counting gives the same matrix, bit for bit, with far less Python work.

    scikit-learn counts every n-gram of every document in a Python loop. Here each distinct document is
    counted once and its row repeated (campaign copies and identical short answers are common), and
    ``char_wb`` n-grams, which never cross a word boundary, are counted once per distinct word: a document's
    counts are its word counts times the words' n-gram counts (a sparse product). The vocabulary is numbered
    in the order scikit-learn first meets each term, and rows keep its storage order, so everything after
    counting (feature sorting, idf, normalisation) runs unchanged on identical input.
    """

    def counts_distinct(self) -> bool:
        """Whether :meth:`fit_transform` takes ``doc_counts``: no setting of this vectoriser reads how many
        documents there are except the idf (scikit-learn's defaults ``max_df=1.0``, ``min_df=1``, no
        ``max_features``), so fitting on the distinct documents, each counted as often as it occurs, is fitting on
        all of them."""
        return (isinstance(self.max_df, float) and self.max_df == 1.0 and self.min_df == 1
                and isinstance(self.min_df, int) and self.max_features is None)

    def fit_transform(self, raw_documents: Iterable[Any], y: Any = None, doc_counts: np.ndarray | None = None) -> Any:
        """``TfidfVectorizer.fit_transform``; with ``doc_counts``, of documents each standing for that many.

        Args:
            raw_documents: The documents (distinct ones when ``doc_counts`` is given).
            y: Ignored.
            doc_counts: How many times each document occurs in the collection fitted (``None``: once each). The
                vocabulary and idf are those of the whole collection, bit for bit (the document frequencies are
                the same integers, then the same float operations), and the rows returned are the distinct
                documents' rows of the whole collection's matrix (every step after counting is row by row).
                Only when :meth:`counts_distinct`.

        Returns:
            The TF-IDF matrix, one row per document given.
        """
        if doc_counts is None:
            return super().fit_transform(raw_documents, y)
        if not self.counts_distinct():
            raise ValueError("doc_counts needs max_df=1.0, min_df=1 and no max_features")
        self._check_params()
        self._tfidf = TfidfTransformer(norm=self.norm, use_idf=self.use_idf, smooth_idf=self.smooth_idf,
                                       sublinear_tf=self.sublinear_tf)
        x = CountVectorizer.fit_transform(self, raw_documents)
        # fitted on the first row only: its idf is replaced below (fitted on every row, its document frequencies
        # held an index copy, 8 bytes a nonzero, beside the matrix); what else fit sets reads no row
        self._tfidf.fit(x[:1])
        if self.use_idf:  # TfidfTransformer.fit's steps, on the whole collection's document frequencies
            dtype = x.dtype if x.dtype in (np.float64, np.float32) else np.float64
            counts = np.asarray(doc_counts, dtype=np.int64)
            self._tfidf.idf_ = idf_of(_weighted_df(x, counts).astype(np.int64), int(counts.sum()), self.smooth_idf,
                                      dtype)
        return _tfidf_in_place(self._tfidf, x)

    def _limit_features(self, X: Any, vocabulary: dict, high: Any = None, low: Any = None,  # noqa: N803
                        limit: int | None = None) -> Any:
        """scikit-learn's pruning of rare and common terms; with its defaults (:meth:`counts_distinct`) it keeps
        every column (each term of the vocabulary occurs in at least one and at most every document counted) and
        its ``X[:, every column]`` is a copy of ``X``, 12 bytes a nonzero held beside it: here ``X``'s own arrays in
        a new container (flags recomputed as on the copy), the vocabulary's values set as scikit-learn sets them."""
        if not (self.counts_distinct() and limit is None and low == 1 and high is not None and high >= X.shape[0]):
            return super()._limit_features(X, vocabulary, high, low, limit)
        for term, old_index in list(vocabulary.items()):
            vocabulary[term] = np.intp(old_index)
        return type(X)((X.data, X.indices, X.indptr), shape=X.shape)

    def _count_vocab(self, raw_documents: Iterable[Any], fixed_vocab: bool) -> tuple[dict, Any]:
        docs = list(raw_documents)
        first: dict[Any, int] = {}
        inv = np.fromiter((first.setdefault(d, len(first)) for d in docs), dtype=np.intp, count=len(docs))
        uniq = list(first)
        if self.analyzer == "char_wb":
            vocabulary, x = self._char_wb_counts(uniq, fixed_vocab)
        elif fixed_vocab and self._by_pieces():
            vocabulary, x = self.vocabulary_, self._word_piece_counts(uniq)
        else:
            vocabulary, x = super()._count_vocab(uniq, fixed_vocab)
        if len(uniq) == len(docs):
            return vocabulary, x
        return vocabulary, _repeat_rows(x, inv, self.dtype)

    def _by_pieces(self) -> bool:
        """Whether the word counts of a document are its pieces' (:data:`_CUT`): scikit-learn's own preprocessing
        (lower-casing, accent stripping) and one of its word patterns, unigrams and bigrams, no stop words."""
        return (self.analyzer == "word" and self.preprocessor is None and self.tokenizer is None
                and self.stop_words is None and self.strip_accents in (None, "unicode", "ascii")
                and self.token_pattern in _WORD_PATTERNS and self.ngram_range in ((1, 1), (1, 2)))

    def _word_piece_counts(self, docs: list[Any]) -> Any:
        """``_count_vocab(docs, fixed_vocab=True)`` for words, each distinct piece of the documents analysed once.

        A document is cut at :data:`_CUT` (characters no token holds and no preprocessing reads across), so its
        tokens are its pieces' tokens in order: its unigrams and bigrams are its pieces' own, plus one bigram at
        each cut between two pieces with tokens (the last token of one, the first of the next). Counts are
        integers, so summing them per piece gives scikit-learn's counts exactly; the matrix is built as
        scikit-learn builds it (``intc`` counts, ``int32`` indices, then sorted).
        """
        vocabulary = self.vocabulary_
        ids: dict[str, int] = {}
        cols: list[int] = []
        indptr = [0]
        split, decode = _cut, self.decode
        for doc in docs:
            cols.extend(ids.setdefault(p, len(ids)) for p in split(decode(doc)))
            indptr.append(len(cols))
        p_cols: list[int] = []
        p_ptr = [0]
        tok_id: dict[str, int] = {}
        edges = np.full((len(ids), 2), -1, dtype=np.int64)  # a piece's first and last token (-1: no token)
        memo, analysers = self._pieces_seen(), None
        for k, piece in enumerate(ids):
            got = memo.get(piece)
            if got is None:
                analysers = analysers or (self.build_analyzer(), self.build_tokenizer(), self.build_preprocessor())
                got = memo[piece] = self._piece_terms(piece, *analysers)
            p_cols.extend(got[0])
            p_ptr.append(len(p_cols))
            if got[1] is not None:
                edges[k] = tok_id.setdefault(got[1], len(tok_id)), tok_id.setdefault(got[2], len(tok_id))
        return _sparse_api(piece_counts(cols, indptr, p_cols, p_ptr, edges, tok_id, vocabulary,
                                        self.ngram_range[1] == 2, self.dtype))

    def _piece_terms(self, piece: str, analyze, tokenize, preprocess) -> tuple[list[int], str | None, str | None]:  # noqa: ANN001 - scikit-learn's callables
        """A piece's in-vocabulary term ids (scikit-learn's analyser, in its order), first and last token."""
        vocabulary = self.vocabulary_
        terms = [i for i in map(vocabulary.get, analyze(piece)) if i is not None]
        toks = tokenize(preprocess(piece)) if self.ngram_range[1] == 2 else []
        return terms, (toks[0] if toks else None), (toks[-1] if toks else None)

    def _pieces_seen(self) -> dict[str, tuple[list[int], str | None, str | None]]:
        """The pieces analysed so far in this process against this vocabulary (:meth:`_piece_terms`).

        Kept beside the vectoriser, not on it (a pickled vectoriser stays the same bytes), and dropped when the
        vocabulary is refitted, when it grows past :data:`PIECES_KEPT` pieces, when another vectoriser transforms,
        and when the vectoriser is garbage-collected.
        """
        how = (self.lowercase, self.strip_accents, self.token_pattern, self.ngram_range, self.input, self.encoding,
               self.decode_error)
        vocab, seen_how, memo = _PIECES.get(id(self), (None, None, None))
        if vocab is not self.vocabulary_ or seen_how != how or len(memo) > PIECES_KEPT:
            memo = {}
            _PIECES.clear()  # one vectoriser's pieces at a time: the one transforming now
            _PIECES[id(self)] = (self.vocabulary_, how, memo)
            weakref.finalize(self, _PIECES.pop, id(self), None)  # and none kept once it is gone
        return memo

    def _char_wb_counts(self, docs: list[Any], fixed_vocab: bool) -> tuple[dict, Any]:
        """``_count_vocab`` for ``char_wb``: document-word counts times word-n-gram counts.

        A document's words (its preprocessed text split at white space) are its pieces' (:data:`_CUT`: both cut
        characters are white space), in order, so each distinct piece is preprocessed and split once.
        """
        preprocess, decode = self.build_preprocessor(), self.decode
        words: dict[str, int] = {}
        cols: list[int] = []
        indptr = [0]
        piece_words: dict[str, list[int]] = {}  # each distinct piece (:func:`_cut`) preprocessed and split once
        for doc in docs:
            for piece in _cut(decode(doc)):
                got = piece_words.get(piece)
                if got is None:  # words are numbered in the order first met, as the whole documents met them
                    got = piece_words[piece] = [words.setdefault(w, len(words)) for w in preprocess(piece).split()]
                cols.extend(got)
            indptr.append(len(cols))
        vocabulary: dict[str, int] = dict(self.vocabulary_) if fixed_vocab else {}
        w_cols: list[int] = []
        w_ptr = [0]
        for word in words:  # in first-seen order: new n-grams are numbered as scikit-learn numbers them
            grams = self._char_wb_ngrams(word)
            if fixed_vocab:
                w_cols.extend(i for i in map(vocabulary.get, grams) if i is not None)
            else:
                w_cols.extend(vocabulary.setdefault(g, len(vocabulary)) for g in grams)
            w_ptr.append(len(w_cols))
        if not fixed_vocab and not vocabulary:
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        counts = _two_step_counts(cols, indptr, w_cols, w_ptr, (len(docs), len(words), len(vocabulary)))
        del cols, w_cols
        counts.sort_indices()
        index_dtype = np.int32 if counts.nnz <= np.iinfo(np.int32).max else np.int64
        # converted one array at a time, each int64 array let go once copied (the product's 16 bytes a nonzero and
        # every copy were held together: 32 bytes a nonzero at the peak, now 20; the same values and dtypes)
        data, indices, indptr_, shape = counts.data, counts.indices, counts.indptr, counts.shape
        del counts
        indices = indices.astype(index_dtype, copy=False)
        indptr_ = indptr_.astype(index_dtype, copy=False)
        data = data.astype(np.intc, copy=False)
        x = sp.csr_array((data, indices, indptr_), shape=shape, dtype=self.dtype)
        del data, indices, indptr_
        x.sort_indices()
        return vocabulary, _sparse_api(x)


def piece_counts(cols: list[int], indptr: list[int], p_cols: list[int], p_ptr: list[int], edges: np.ndarray,
                 tok_id: dict[str, int], vocabulary: dict, bigrams: bool, dtype: Any) -> Any:
    """The documents' term counts from their pieces' (:func:`_two_step_counts`), with the bigrams across piece cuts
    (:func:`_cut_bigrams`) when ``bigrams``: a CSR array of ``dtype``, indices sorted, ``int32`` indices when they fit.

    Args:
        cols, indptr: Each document's piece ids (CSR layout).
        p_cols, p_ptr: Each piece's term columns (CSR layout).
        edges: Each piece's first and last token ids (``-1``: no token).
        tok_id: Token -> id of ``edges``.
        vocabulary: Term -> column.
        bigrams: Whether the n-gram range reaches 2.
        dtype: The matrix's value dtype.
    """
    n_docs, n_pieces = len(indptr) - 1, len(p_ptr) - 1
    shape = (n_docs, len(vocabulary))
    counts = _two_step_counts(cols, indptr, p_cols, p_ptr, (n_docs, n_pieces, len(vocabulary)))
    if bigrams and len(cols):
        counts = counts + _cut_bigrams(np.asarray(cols, dtype=np.int64), np.asarray(indptr, dtype=np.int64),
                                       edges, list(tok_id), vocabulary, shape)
    counts = sp.csr_array(counts)
    counts.sum_duplicates()
    counts.sort_indices()
    index_dtype = np.int32 if counts.nnz <= np.iinfo(np.int32).max else np.int64
    x = sp.csr_array((counts.data.astype(np.intc), counts.indices.astype(index_dtype),
                      counts.indptr.astype(index_dtype)), shape=shape, dtype=dtype)
    x.sort_indices()
    return x


def _cut_bigrams(cols: np.ndarray, indptr: np.ndarray, edges: np.ndarray, tokens: list[str], vocabulary: dict,
                 shape: tuple[int, int]) -> sp.csr_array:
    """The bigrams met at the cuts: documents x vocabulary counts of (last token of a piece, first of the next).

    ``cols``/``indptr``: each document's pieces in order; ``edges``: each piece's first and last token ids (-1:
    none, the piece is skipped as its tokens are); ``tokens``: token id -> token. Each distinct pair of tokens is
    looked up in the vocabulary once.
    """
    doc_of = np.repeat(np.arange(shape[0], dtype=np.int64), np.diff(indptr))
    has = edges[cols, 0] >= 0
    kept, doc_of = cols[has], doc_of[has]
    join = doc_of[1:] == doc_of[:-1]  # consecutive pieces with tokens, in one document
    last, first, doc_of = edges[kept[:-1][join], 1], edges[kept[1:][join], 0], doc_of[1:][join]
    pairs, inv = np.unique(last * max(len(tokens), 1) + first, return_inverse=True)
    n = max(len(tokens), 1)
    term = np.array([vocabulary.get(f"{tokens[p // n]} {tokens[p % n]}", -1) for p in pairs.tolist()],
                    dtype=np.int64)[inv.reshape(-1)] if len(pairs) else np.zeros(0, dtype=np.int64)
    found = term >= 0
    return sp.csr_array((np.ones(int(found.sum()), dtype=np.int64), (doc_of[found], term[found])), shape=shape)


def idf_of(df: np.ndarray, n_samples: int, smooth_idf: bool, dtype: Any = np.float64) -> np.ndarray:
    """``TfidfTransformer.fit``'s idf from the terms' document frequencies (whole numbers) in ``n_samples``
    documents: the same float operations, so the same bits."""
    df = np.asarray(df, dtype=np.int64).astype(dtype)
    df += float(smooth_idf)
    n = n_samples + int(smooth_idf)
    idf = np.full_like(df, fill_value=n, dtype=dtype)
    idf /= df
    np.log(idf, out=idf)
    idf += 1.0
    return idf


#: Rows whose document frequencies :func:`_weighted_df` counts per step.
DF_ROWS = 8192


def _weighted_df(x: Any, counts: np.ndarray) -> np.ndarray:
    """``np.bincount(x.indices, weights=np.repeat(counts, np.diff(x.indptr)), minlength=x.shape[1])``: each term's
    document frequency when row ``i`` stands for ``counts[i]`` documents, a few rows at a time (the weights and
    index copies of all rows at once were 16 bytes a nonzero). Sums of integers below 2**53: exact in any order."""
    df = np.zeros(x.shape[1], dtype=np.float64)
    lengths = np.diff(x.indptr)
    for r0 in range(0, x.shape[0], DF_ROWS):
        r1 = min(x.shape[0], r0 + DF_ROWS)
        df += np.bincount(x.indices[x.indptr[r0]:x.indptr[r1]], weights=np.repeat(counts[r0:r1], lengths[r0:r1]),
                          minlength=x.shape[1])
    return df


#: Nonzeros weighted by their idf per step in :func:`_tfidf_in_place` (8 MB of gathered idf values at a time).
IDF_CHUNK = 1 << 20


def _tfidf_in_place(tfidf: TfidfTransformer, x: Any) -> Any:
    """``tfidf.transform(x, copy=False)`` of a fitted transformer on counts ``x`` (CSR, float, as counting returns
    them), the idf gathered a chunk of nonzeros at a time.

    scikit-learn multiplies ``x.data`` by ``idf_[x.indices]`` in one go: an index copy (8 bytes a nonzero) and the
    gathered values (8 more) beside the matrix. The same operations on each value, in the same order (sublinear
    tf, idf, row norm), so the same bits.
    """
    if not (sp.issparse(x) and x.format == "csr" and x.dtype in (np.float64, np.float32)):
        return tfidf.transform(x, copy=False)
    if tfidf.sublinear_tf:
        np.log(x.data, x.data)
        x.data += 1.0
    if hasattr(tfidf, "idf_"):  # as scikit-learn decides
        idf = tfidf.idf_
        for s in range(0, x.nnz, IDF_CHUNK):
            x.data[s:s + IDF_CHUNK] *= idf[x.indices[s:s + IDF_CHUNK]]
    if tfidf.norm is not None:
        x = normalize(x, norm=tfidf.norm, copy=False)
    return _sparse_api(x)


def _repeat_rows(x: Any, rows: np.ndarray, dtype: Any) -> Any:
    """``x[rows]`` as a new CSR matrix, each row's storage order kept (then flagged sorted as counting does)."""
    lengths = np.diff(x.indptr)[rows]
    indptr = np.zeros(len(rows) + 1, dtype=x.indptr.dtype)
    np.cumsum(lengths, out=indptr[1:])
    take = np.arange(indptr[-1], dtype=np.int64) - np.repeat(indptr[:-1] - x.indptr[rows], lengths)
    out = sp.csr_array((x.data[take], x.indices[take], indptr), shape=(len(rows), x.shape[1]), dtype=dtype)
    out.sort_indices()
    return _sparse_api(out)


def _sparse_api(x: Any) -> Any:
    """The sparse container scikit-learn's counting returns (matrix or array, per its configuration)."""
    try:
        from sklearn.utils._sparse import _align_api_if_sparse  # noqa: PLC0415 - private, present in 1.6+
    except ImportError:  # pragma: no cover - older scikit-learn returns csr_matrix
        return sp.csr_matrix(x)
    return _align_api_if_sparse(x)
