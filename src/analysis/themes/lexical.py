"""Exact-word (lexical) features of text pieces, beside the dense embeddings.

The ``tfidf`` embedding backend (:mod:`analysis.embeddings`) reduces word and character n-grams by an
SVD: good for clustering and paraphrases, but it smooths away the rare exact words that decide whether
a one-sentence answer matches a one-sentence theme definition. Measured on ArgKP (KPA-2021 scorer,
``docs/themes.md``): a plain scikit-learn TF-IDF cosine reached mAP strict 0.823 on dev where the dense
prototypes reached 0.714. The themes stage therefore scores every piece on both: the dense embedding and
a sparse word TF-IDF vector from :class:`LexicalSpace`.

* :class:`LexicalSpace`: word unigrams, sublinear tf, accents folded, L2-normalised rows; fitted once
  per run on the same corpus as the embedding backend (every themed text and the codebook's texts).
* :class:`PieceLex`: the lexical rows of a question's text units and of their sentences, looked up in
  the order :class:`~analysis.themes.assign.UnitScorer` scores pieces.
* :func:`hybrid`: the zero-shot score, ``w * dense cosine + (1 - w) * lexical cosine`` with ``w`` from
  :data:`DENSE_WEIGHT` (per backend).
"""

from __future__ import annotations

import hashlib
import pickle
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer
from sklearn.preprocessing import normalize

from analysis.vectorize import FastTfidfVectorizer, _sparse_api

#: Weight of the dense cosine in the zero-shot score, per embedding backend. ``tfidf``: the largest
#: weight whose zero-shot mAP strict is at least the plain TF-IDF cosine's on both ArgKP splits (dev
#: 0.824 vs 0.823, train 0.665 vs 0.658; 0.2 falls to 0.817 on dev). ``sentence-transformers``: MiniLM
#: carries paraphrases the words miss (see docs/themes.md).
DENSE_WEIGHT = {"tfidf": 0.1, "sentence-transformers": 0.5}
#: Fewer texts than this are counted without the store (definitions, small questions: counting is quick).
STORE_MIN_TEXTS = 500


class LexicalSpace:
    """Word TF-IDF fitted on a corpus: unigrams, sublinear tf, accents folded, L2-normalised rows.

    Args:
        store: A cache folder, or ``None``. With one, the answers' document frequencies (:meth:`fit` with
            ``extra``) and the word counts of transformed texts are kept there by the hash of their texts,
            so a re-run after a codebook edit counts only the codebook's texts; the idf and rows are computed
            from the counts exactly as scikit-learn computes them (the same bits).
    """

    def __init__(self, store: str | Path | None = None) -> None:
        self.vectorizer_: TfidfVectorizer | None = None
        self.store = Path(store) if store is not None else None
        self._prototypes: dict[tuple, np.ndarray] = {}
        self._vocab_key = ""

    @staticmethod
    def _vectorizer() -> FastTfidfVectorizer:
        return FastTfidfVectorizer(sublinear_tf=True, strip_accents="unicode", lowercase=True, dtype=np.float32)

    def fit(self, corpus: Sequence[str], extra: Sequence[str] = ()) -> LexicalSpace:
        """Fit the vocabulary and idf on ``corpus`` + ``extra`` (de-duplicated; an empty corpus gives an empty space).

        ``extra`` (the codebook's texts) is fitted on exactly as ``corpus``; kept apart only so that with a
        ``store`` the corpus's document frequencies are counted once and reused while its texts are unchanged.
        """
        own = list(dict.fromkeys(str(t) for t in corpus if str(t).strip()))
        seen = set(own)
        added = [t for t in dict.fromkeys(str(t) for t in extra if str(t).strip()) if t not in seen]
        self._prototypes = {}
        if self.store is None or not own:
            try:
                self.vectorizer_ = self._vectorizer().fit((own + added) or ["empty"])
            except ValueError:  # no word at all (e.g. only punctuation)
                self.vectorizer_ = None
        else:
            self.vectorizer_ = self._fit_stored(own, added)
        if self.vectorizer_ is not None:
            terms = sorted(self.vectorizer_.vocabulary_, key=self.vectorizer_.vocabulary_.get)
            self._vocab_key = _hash([repr(self.vectorizer_.get_params()), *terms])
        return self

    def _fit_stored(self, own: list[str], added: list[str]) -> TfidfVectorizer | None:
        """The fit of :meth:`fit` from document frequencies: the corpus's (stored) plus the added texts'."""
        vec = self._vectorizer()
        analyze = vec.build_analyzer()
        path = self.store / f"lexical-df-{_hash([repr(vec.get_params()), sklearn.__version__, *sorted(own)])[:24]}.pkl"
        df: Counter | None = None
        if path.is_file():
            try:
                with path.open("rb") as f:
                    df = pickle.load(f)  # noqa: S301 - our own cache folder
            except Exception:  # noqa: BLE001 - a damaged file is recounted
                df = None
        if df is None:
            df = Counter(t for d in own for t in set(analyze(d)))
            _save(path, df)
        df = df + Counter(t for d in added for t in set(analyze(d))) if added else df
        if not df:
            return None
        terms = sorted(df)  # scikit-learn numbers the vocabulary in sorted order (``_sort_features``)
        counts = np.array([df[t] for t in terms], dtype=np.int64)
        # a count matrix with the same document frequencies: the idf is computed from them alone
        rows = np.concatenate([np.arange(c, dtype=np.int32) for c in counts])
        indptr = np.concatenate([[0], np.cumsum(counts)])
        same_df = sp.csc_matrix((np.ones(len(rows), np.float32), rows, indptr),
                                shape=(len(own) + len(added), len(terms))).tocsr()
        vec.vocabulary_ = {t: i for i, t in enumerate(terms)}
        vec.fixed_vocabulary_ = False
        vec._tfidf = TfidfTransformer(norm=vec.norm, use_idf=vec.use_idf, smooth_idf=vec.smooth_idf,
                                      sublinear_tf=vec.sublinear_tf).fit(same_df)
        return vec

    @property
    def dim(self) -> int:
        """Vocabulary size (0 before fitting or for an empty corpus)."""
        return len(self.vectorizer_.vocabulary_) if self.vectorizer_ is not None else 0

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """L2-normalised sparse rows (all-zero for texts with no known word)."""
        if self.vectorizer_ is None or len(texts) == 0:
            return sp.csr_matrix((len(texts), self.dim), dtype=np.float32)
        texts = [str(t) for t in texts]
        if self.store is None or len(texts) < STORE_MIN_TEXTS:
            rows = self.vectorizer_.transform(texts)
        else:
            rows = self.vectorizer_._tfidf.transform(self._counts(texts), copy=False)
        return normalize(rows).tocsr().astype(np.float32)

    def _counts(self, texts: list[str]):
        """The vectoriser's count matrix of ``texts`` (``CountVectorizer.transform``'s, the same bits).

        The texts' own word counts (columns: their words, sorted) are kept in the store by the hash of the texts
        and mapped onto the vocabulary: its words are numbered in sorted order too, so the mapping keeps each
        row's order, and words outside the vocabulary are dropped as counting with a fixed vocabulary drops them.
        """
        terms, x = self._own_counts(texts)
        vocab = self.vectorizer_.vocabulary_
        col = np.array([vocab.get(t, -1) for t in terms], dtype=np.int64)[x.indices]
        keep = col >= 0
        kept = np.concatenate([[0], np.cumsum(keep)])[x.indptr]
        idx = np.int32 if kept[-1] <= np.iinfo(np.int32).max else np.int64
        out = sp.csr_array((x.data[keep].astype(self.vectorizer_.dtype), col[keep].astype(idx), kept.astype(idx)),
                           shape=(len(texts), len(vocab)))
        out.sort_indices()
        return _sparse_api(out)

    def _own_counts(self, texts: list[str]) -> tuple[list[str], sp.csr_array]:
        """Word counts of ``texts`` over their own words (sorted), from the store when counted before."""
        vec = self._vectorizer()
        path = self.store / f"lexical-counts-{_hash([repr(vec.get_params()), sklearn.__version__, *texts])[:24]}.npz"
        if path.is_file():
            try:
                with np.load(path, allow_pickle=False) as z:
                    x = sp.csr_array((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
                    return z["terms"].tolist(), x
            except Exception:  # noqa: BLE001 - a damaged file is recounted
                pass
        try:
            vocabulary, x = vec._count_vocab(texts, fixed_vocab=False)
        except ValueError:  # no word at all
            vocabulary, x = {}, sp.csr_array((len(texts), 0), dtype=vec.dtype)
        by_index = sorted(vocabulary, key=vocabulary.get)
        order = sorted(range(len(by_index)), key=by_index.__getitem__)
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        x = sp.csr_array((x.data, rank[x.indices], x.indptr), shape=x.shape)
        x.sort_indices()
        terms = [by_index[i] for i in order]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, data=x.data, indices=x.indices, indptr=x.indptr, shape=np.array(x.shape),
                 terms=np.array(terms, dtype=str))
        tmp.replace(path)
        return terms, x

    def prototypes(self, texts_per_theme: list[list[str]]) -> np.ndarray:
        """One normalised dense row per theme: the mean of its defining texts' rows (themes x vocabulary).

        Memoised per fitted space (every cross-fitting fold's model asks for the same definitions); a copy.
        """
        key = tuple(tuple(texts) for texts in texts_per_theme)
        if key not in self._prototypes:
            self._prototypes[key] = self._prototypes_of(texts_per_theme)
        return self._prototypes[key].copy()

    def _prototypes_of(self, texts_per_theme: list[list[str]]) -> np.ndarray:
        out = np.zeros((len(texts_per_theme), self.dim), dtype=np.float32)
        for j, texts in enumerate(texts_per_theme):
            if texts and self.dim:
                out[j] = np.asarray(self.transform(texts).mean(axis=0)).ravel()
        n = np.linalg.norm(out, axis=1, keepdims=True)
        n[n == 0] = 1.0
        return out / n


def _hash(parts: list[str]) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()


def _save(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)


@dataclass
class PieceLex:
    """Lexical rows of a question's units (whole texts) and of their kept sentences.

    Attributes:
        units: One row per unit.
        index: Unit -> row of ``units``.
        sents: One row per kept sentence, grouped by unit in the order of the unit's sentence embeddings.
        spans: Unit -> ``(first, end)`` rows of ``sents``.
    """

    units: sp.csr_matrix
    index: dict[str, int]
    sents: sp.csr_matrix
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)

    def whole(self, units: Sequence[str]) -> sp.csr_matrix:
        """Rows of the units' whole texts, in ``units`` order."""
        return self.units[[self.index[u] for u in units]]

    def sentences(self, units: Sequence[str]) -> sp.csr_matrix:
        """Rows of the units' sentences, unit by unit (the order of ``UnitScorer`` sentence rows)."""
        rows = [r for u in units for r in range(*self.spans.get(u, (0, 0)))]
        return self.sents[rows]


def hybrid(dense: np.ndarray, lexical: np.ndarray | None, dense_weight: float) -> np.ndarray:
    """Zero-shot score: ``w * dense + (1 - w) * lexical`` (the dense score alone without lexical rows)."""
    if lexical is None:
        return dense
    return (dense_weight * dense + (1.0 - dense_weight) * np.asarray(lexical)).astype(np.float32)
