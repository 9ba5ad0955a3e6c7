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

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from analysis.vectorize import FastTfidfVectorizer

#: Weight of the dense cosine in the zero-shot score, per embedding backend. ``tfidf``: the largest
#: weight whose zero-shot mAP strict is at least the plain TF-IDF cosine's on both ArgKP splits (dev
#: 0.824 vs 0.823, train 0.665 vs 0.658; 0.2 falls to 0.817 on dev). ``sentence-transformers``: MiniLM
#: carries paraphrases the words miss (see docs/themes.md).
DENSE_WEIGHT = {"tfidf": 0.1, "sentence-transformers": 0.5}


class LexicalSpace:
    """Word TF-IDF fitted on a corpus: unigrams, sublinear tf, accents folded, L2-normalised rows."""

    def __init__(self) -> None:
        self.vectorizer_: TfidfVectorizer | None = None
        self._prototypes: dict[tuple, np.ndarray] = {}

    def fit(self, corpus: Sequence[str]) -> LexicalSpace:
        """Fit the vocabulary and idf on ``corpus`` (de-duplicated; an empty corpus gives an empty space)."""
        docs = list(dict.fromkeys(str(t) for t in corpus if str(t).strip()))
        vec = FastTfidfVectorizer(sublinear_tf=True, strip_accents="unicode", lowercase=True, dtype=np.float32)
        try:
            self.vectorizer_ = vec.fit(docs or ["empty"])
        except ValueError:  # no word at all (e.g. only punctuation)
            self.vectorizer_ = None
        self._prototypes = {}
        return self

    @property
    def dim(self) -> int:
        """Vocabulary size (0 before fitting or for an empty corpus)."""
        return len(self.vectorizer_.vocabulary_) if self.vectorizer_ is not None else 0

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """L2-normalised sparse rows (all-zero for texts with no known word)."""
        if self.vectorizer_ is None or len(texts) == 0:
            return sp.csr_matrix((len(texts), self.dim), dtype=np.float32)
        return normalize(self.vectorizer_.transform([str(t) for t in texts])).tocsr().astype(np.float32)

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
