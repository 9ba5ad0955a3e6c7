"""``FastTfidfVectorizer``: scikit-learn's TF-IDF matrices, bit for bit, with far less Python counting.

Shared by the positions featurizer (:mod:`analysis.positions.features`) and the themes' TF-IDF + SVD embedding
backend (:class:`analysis.embeddings.TfidfSvdBackend`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer


class FastTfidfVectorizer(TfidfVectorizer):
    """``TfidfVectorizer`` whose counting gives the same matrix, bit for bit, with far less Python work.

    scikit-learn counts every n-gram of every document in a Python loop. Here each distinct document is
    counted once and its row repeated (campaign copies and identical short answers are common), and
    ``char_wb`` n-grams, which never cross a word boundary, are counted once per distinct word: a document's
    counts are its word counts times the words' n-gram counts (a sparse product). The vocabulary is numbered
    in the order scikit-learn first meets each term, and rows keep its storage order, so everything after
    counting (feature sorting, idf, normalisation) runs unchanged on identical input.
    """

    def _count_vocab(self, raw_documents: Iterable[Any], fixed_vocab: bool) -> tuple[dict, Any]:
        docs = list(raw_documents)
        first: dict[Any, int] = {}
        inv = np.fromiter((first.setdefault(d, len(first)) for d in docs), dtype=np.intp, count=len(docs))
        uniq = list(first)
        if self.analyzer == "char_wb":
            vocabulary, x = self._char_wb_counts(uniq, fixed_vocab)
        else:
            vocabulary, x = super()._count_vocab(uniq, fixed_vocab)
        if len(uniq) == len(docs):
            return vocabulary, x
        return vocabulary, _repeat_rows(x, inv, self.dtype)

    def _char_wb_counts(self, docs: list[Any], fixed_vocab: bool) -> tuple[dict, Any]:
        """``_count_vocab`` for ``char_wb``: document-word counts times word-n-gram counts."""
        preprocess, decode = self.build_preprocessor(), self.decode
        words: dict[str, int] = {}
        cols: list[int] = []
        indptr = [0]
        for doc in docs:
            cols.extend(words.setdefault(w, len(words)) for w in preprocess(decode(doc)).split())
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
        doc_words = sp.csr_array((np.ones(len(cols), dtype=np.int64), np.asarray(cols, dtype=np.int64),
                                  np.asarray(indptr, dtype=np.int64)), shape=(len(docs), len(words)))
        word_grams = sp.csr_array((np.ones(len(w_cols), dtype=np.int64), np.asarray(w_cols, dtype=np.int64),
                                   np.asarray(w_ptr, dtype=np.int64)), shape=(len(words), len(vocabulary)))
        doc_words.sum_duplicates()
        word_grams.sum_duplicates()
        counts = (doc_words @ word_grams).tocsr()
        counts.sort_indices()
        index_dtype = np.int32 if counts.nnz <= np.iinfo(np.int32).max else np.int64
        x = sp.csr_array((counts.data.astype(np.intc), counts.indices.astype(index_dtype),
                          counts.indptr.astype(index_dtype)), shape=counts.shape, dtype=self.dtype)
        x.sort_indices()
        return vocabulary, _sparse_api(x)


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
