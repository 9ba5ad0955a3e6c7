"""Learning themes from the analyst's codes: a linear model with the codebook definition as its prior.

The few-shot prototypes of :mod:`analysis.themes.assign` average a theme's definition with the centre of
its coded answers; that centre lies near *every* answer of the question (they share its topic), so more
codes made themes less distinct (ArgKP dev, 5 codes per key point: mAP strict 0.681 -> 0.607). This
module learns from the codes discriminatively instead. Per theme, a logistic regression on

* the piece's dense embedding and its lexical (word TF-IDF) row (:mod:`analysis.themes.lexical`), and
* the theme's zero-shot score (definition + seed phrases, :func:`analysis.themes.lexical.hybrid`): the
  *prior*. One more feature, so with few codes the model leans on the definition and with many it
  learns its own weights; the definition texts are also training examples (positive for their theme,
  negative for the others),

trained on coded answers: an answer coded with the theme is a positive, an answer coded without it (with
other themes, or as having none) a negative. ``use_prior=False`` gives the plain supervised multi-label
classifier (one-vs-rest logistic regression on the same features, no definition) for questions with
hundreds of codes. Scores are class-balanced probabilities; :meth:`PriorLinear.calibrated` maps them
through a Platt curve fitted on cross-fitted scores (:func:`fit_platt`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from analysis.themes import fitcache

#: Inverse regularisation strength (ArgKP dev, 5 codes per key point: C 0.3 / 1 / 10 gave mAP strict
#: 0.853 / 0.847 / 0.840 and micro-F1 0.578 / 0.584 / 0.570; 20 codes 0.900 / 0.900 / 0.889).
C_DEFAULT = 1.0


def _features(emb: np.ndarray, lex: sp.csr_matrix | None, prior: np.ndarray | None) -> sp.csr_matrix:
    """``[embedding, lexical row, prior]`` as one CSR matrix (:func:`_with_prior` of :func:`_base_features`)."""
    return _with_prior(_base_features(emb, lex), prior)


def _base_features(emb: np.ndarray, lex: sp.csr_matrix | None) -> sp.csr_matrix:
    """The columns every theme's model shares: ``[embedding, lexical row]``."""
    blocks = [sp.csr_matrix(np.asarray(emb, dtype=np.float32))]
    if lex is not None:
        blocks.append(sp.csr_matrix(lex))
    return sp.hstack(blocks).tocsr()


def _with_prior(base: sp.csr_matrix, prior: np.ndarray | None) -> sp.csr_matrix:
    """``base`` with the theme's prior score as its last column (``base`` itself without one).

    Stacking the shared block with the column gives the arrays stacking the three blocks at once gives (rows keep
    the blocks' order), so the shared block is built once per fit rather than once per theme.
    """
    if prior is None:
        return base
    return sp.hstack([base, sp.csr_matrix(np.asarray(prior, dtype=np.float32).reshape(-1, 1))]).tocsr()


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


@dataclass
class PriorLinear:
    """One-vs-rest logistic regressions on ``[embedding, lexical row, prior score of the theme]``.

    Args:
        n_themes: Themes (column order of labels and scores).
        use_prior: Use the theme's zero-shot score as a feature and the definitions as examples.
        c: Inverse regularisation strength.
        seed: Random state (the lbfgs solver is deterministic; kept for the record).

    Attributes:
        coef_: Themes x features weights of the embedding and lexical blocks.
        prior_coef_: Weight of the prior score per theme.
        intercept_: Per theme.
        fitted_: Whether each theme had both classes to learn from (else its score is its prior, or 0).
        platt_: ``(a, b)`` of the calibration curve ``sigmoid(a * logit(p) + b)``, or ``None``.
    """

    n_themes: int
    use_prior: bool = True
    c: float = C_DEFAULT
    seed: int = 0
    coef_: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    prior_coef_: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    intercept_: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    fitted_: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    platt_: tuple[float, float] | None = None

    def fit(self, emb: np.ndarray, lex: sp.csr_matrix | None, prior: np.ndarray, y: np.ndarray,
            definitions: tuple[np.ndarray, sp.csr_matrix | None, np.ndarray] | None = None) -> PriorLinear:
        """Fit one model per theme.

        Args:
            emb: Coded pieces' embeddings (n x d).
            lex: Their lexical rows (n x vocabulary), or ``None``.
            prior: Their zero-shot scores (n x themes).
            y: Labels (n x themes, 1 / 0).
            definitions: ``(embeddings, lexical rows, zero-shot scores)`` of one text per theme (its
                definition), added as examples when ``use_prior``.
        """
        y = np.asarray(y, dtype=int)
        if self.use_prior and definitions is not None:
            d_emb, d_lex, d_prior = definitions
            emb = np.vstack([emb, d_emb])
            lex = sp.vstack([lex, d_lex]).tocsr() if lex is not None else None
            prior = np.vstack([prior, d_prior])
            y = np.vstack([y, np.eye(self.n_themes, dtype=int)])
        n_feat = emb.shape[1] + (lex.shape[1] if lex is not None else 0)
        self.coef_ = np.zeros((self.n_themes, n_feat), np.float32)
        self.prior_coef_ = np.zeros(self.n_themes, np.float32)
        self.intercept_ = np.zeros(self.n_themes, np.float32)
        self.fitted_ = np.zeros(self.n_themes, bool)
        base = _base_features(emb, lex)
        shared = None  # without the prior every theme's model reads the same matrix: hashed once
        for j in range(self.n_themes):
            if y[:, j].min() == y[:, j].max():
                continue
            x = _with_prior(base, prior[:, j] if self.use_prior else None)
            if not self.use_prior and shared is None:
                shared = fitcache.digest(x) if fitcache.active() else ""
            clf = fitcache.fit_logistic(x, y[:, j], x_digest=shared or None, C=self.c, class_weight="balanced",
                                        max_iter=2000, random_state=self.seed)
            w = clf.coef_[0]
            self.coef_[j] = w[:n_feat]
            self.prior_coef_[j] = w[n_feat] if self.use_prior else 0.0
            self.intercept_[j] = clf.intercept_[0]
            self.fitted_[j] = True
        return self

    def proba(self, emb: np.ndarray, lex: sp.csr_matrix | None, prior: np.ndarray) -> np.ndarray:
        """Class-balanced probabilities (n x themes); a theme that could not be fitted keeps its prior."""
        emb = np.asarray(emb, dtype=np.float32)
        d = emb.shape[1]
        z = emb @ self.coef_[:, :d].T
        if lex is not None and self.coef_.shape[1] > d:
            z = z + np.asarray(lex @ self.coef_[:, d:].T)
        z = z + prior * self.prior_coef_[None, :] + self.intercept_[None, :]
        p = 1.0 / (1.0 + np.exp(-z))
        fallback = np.clip(prior, 0, 1) if self.use_prior else np.zeros_like(p)
        return np.where(self.fitted_[None, :], p, fallback).astype(np.float32)

    def calibrated(self, p: np.ndarray) -> np.ndarray:
        """Probabilities mapped through the Platt curve (unchanged without one)."""
        if self.platt_ is None:
            return p
        a, b = self.platt_
        return (1.0 / (1.0 + np.exp(-(a * _logit(p) + b)))).astype(np.float32)


def fit_platt(scores: np.ndarray, truth: np.ndarray) -> tuple[float, float] | None:
    """Platt curve ``(a, b)`` from cross-fitted probabilities and the codes (``None``: one class only)."""
    s, t = np.asarray(scores).ravel(), np.asarray(truth).ravel().astype(int)
    if len(s) == 0 or t.min() == t.max():
        return None
    clf = LogisticRegression(C=100.0, max_iter=1000).fit(_logit(s).reshape(-1, 1), t)
    return float(clf.coef_[0, 0]), float(clf.intercept_[0])
