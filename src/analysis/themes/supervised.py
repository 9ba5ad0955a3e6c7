"""A sentence-level theme classifier learnt from the analyst's codes (multi-instance).

Prototype scores (:mod:`analysis.themes.assign`) only use what a theme *is*; the analyst's codes
also say what it is *not*: a respondent the analyst coded without ``cooperation`` never raised
cooperation, so every sentence they wrote - "we need to be careful who we cooperate with" included -
is a counter-example for it. This module turns codes into labelled text *pieces* (whole answers and
their sentences) and fits one logistic regression per theme on the pieces' embeddings:

* **positive** for theme *t*: the whole text of an answer coded *t*, and the sentence that raised it
  (its *witness*: the sentence an answer-level model of *t* rates highest, see :func:`bag_witness`;
  without one, the sentence closest to *t*'s codebook definition);
* **negative** for *t*: every piece of an answer whose respondent was coded without *t* - at
  response level when the codes are response-level (the respondent raised *t* nowhere), at answer
  level when they are question-level;
* **unlabelled** for *t* otherwise (the other sentences of an answer coded *t*, or an answer of a
  respondent coded *t* whose code was attributed to another answer): left out of *t*'s fit.

The classifier's probability is *blended* with the prototype score (see :class:`PieceClassifier`
and ``ThemeModel.blend_``); the blend weight is chosen on the coded answers, cross-fitted, by
:func:`analysis.themes.calibrate.calibrate` - weight 0 (prototypes only) stays whenever the
classifier does not help.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.utils.extmath import safe_sparse_dot

from analysis.themes import fitcache

#: Probability at which a classifier calls a piece positive (``class_weight="balanced"``).
PROBA_THRESHOLD = 0.5


@dataclass
class PieceClassifier:
    """One-vs-rest logistic regressions on piece embeddings, one per theme with enough examples.

    Args:
        n_themes: Themes of the model (column order).
        min_positive: Positive pieces (distinct answers) a theme needs before it gets a classifier.
        min_negative: Negative pieces it needs.
        c: Inverse regularisation strength.
        seed: Random state (the solver is deterministic; kept for the record).

    Attributes:
        models_: Theme index -> fitted classifier.
        n_positive_: Positive examples per theme.
        n_negative_: Negative examples per theme.
    """

    n_themes: int
    min_positive: int = 5
    min_negative: int = 10
    c: float = 1.0
    seed: int = 0
    models_: dict[int, LogisticRegression] = field(default_factory=dict)
    n_positive_: list[int] = field(default_factory=list)
    n_negative_: list[int] = field(default_factory=list)

    def fit(self, x: np.ndarray, y: np.ndarray) -> PieceClassifier:
        """Fit on pieces ``x`` (n x d) with labels ``y`` (n x themes: 1, 0, or -1 unlabelled)."""
        self.models_, self.n_positive_, self.n_negative_ = {}, [], []
        x_digest = None
        for j in range(self.n_themes):
            col = y[:, j] if len(y) else np.zeros(0)
            keep = col >= 0
            pos, neg = int((col == 1).sum()), int((col == 0).sum())
            self.n_positive_.append(pos)
            self.n_negative_.append(neg)
            if pos < self.min_positive or neg < self.min_negative:
                continue
            x_digest = x_digest or (fitcache.digest(x) if fitcache.active() else "")
            self.models_[j] = fitcache.fit_logistic(x, col[keep].astype(int), rows=keep, x_digest=x_digest, C=self.c,
                                                    class_weight="balanced", max_iter=2000, random_state=self.seed)
        return self

    def restricted(self, themes) -> PieceClassifier:
        """A copy keeping only the classifiers of theme indices in ``themes`` (the fitted models are shared)."""
        out = PieceClassifier(self.n_themes, self.min_positive, self.min_negative, self.c, self.seed)
        out.models_ = {j: m for j, m in self.models_.items() if j in set(themes)}
        out.n_positive_, out.n_negative_ = list(self.n_positive_), list(self.n_negative_)
        return out

    def proba(self, x: np.ndarray) -> np.ndarray:
        """Probabilities (n x themes); ``nan`` for themes without a classifier."""
        out = np.full((len(x), self.n_themes), np.nan, dtype=np.float32)
        if len(x):
            for j, clf in self.models_.items():
                out[:, j] = positive_proba(clf, x)
        return out


def positive_proba(clf: LogisticRegression, x: np.ndarray) -> np.ndarray:
    """``clf.predict_proba(x)[:, 1]`` of a fitted binary logistic regression, without the per-call checks.

    The same operations as scikit-learn's (``decision_function`` then ``expit``), so the same bits; it skips
    the input validation that made up most of the time of the calibration's ~16,000 small calls.
    """
    scores = safe_sparse_dot(x, clf.coef_.T, dense_output=True) + clf.intercept_
    return expit(scores.reshape(-1))


def blend(sims: np.ndarray, proba: np.ndarray, thresholds: np.ndarray, weight: float) -> np.ndarray:
    """Blend prototype scores with classifier probabilities, in prototype-score units.

    ``(1 - w) * score + w * threshold * p / 0.5``: both parts reach the theme's threshold exactly when
    the prototype score does, or the classifier's probability reaches 0.5. Themes without a classifier
    (``nan``) keep their prototype score.
    """
    if weight <= 0 or proba.size == 0:
        return sims
    mixed = (1 - weight) * sims + weight * thresholds[None, :] * proba / PROBA_THRESHOLD
    return np.where(np.isnan(proba), sims, mixed).astype(np.float32)


def bag_witness(bag: PieceClassifier) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Witness scores from an answer-level classifier (the multi-instance "bag" model).

    ``bag`` is trained on whole answers only (:func:`training_pieces` without sentences): respondents
    coded with a theme against respondents never coded with it. Applied to each sentence of a coded
    answer, it points at the sentence that distinguishes the theme's respondents - which may be worded
    unlike the theme's definition. Themes without a bag classifier fall back to the definition cosine.
    """
    def witness(pieces: np.ndarray, cosines: np.ndarray) -> np.ndarray:
        p = bag.proba(pieces)
        return np.where(np.isnan(p), cosines, p)
    return witness


def training_pieces(
    coded: dict[str, set[str]],
    known: dict[str, set[str] | None],
    theme_ids: list[str],
    unit_emb: dict[str, np.ndarray],
    sent_emb: dict[str, np.ndarray],
    definition: np.ndarray,
    exclude: set[str] | frozenset[str] = frozenset(),
    witness: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Labelled pieces from the coded answers of one question.

    Args:
        coded: Unit -> theme ids coded for that answer (question level, after attribution).
        known: Unit -> every theme id its respondent was coded with anywhere (response-level codes),
            or ``None`` when the unit's codes are question-level (then ``coded`` is complete for it).
            Units in ``known`` but not in ``coded`` are answers of coded respondents that got none of
            their codes: negatives for the themes the respondent was never coded with.
        theme_ids: Theme order of the labels.
        unit_emb: Unit -> whole-text embedding.
        sent_emb: Unit -> sentence embeddings.
        definition: Codebook-only prototypes (themes x d): pick the piece that raised a theme.
        exclude: Units left out (cross-fitting).
        witness: ``(pieces, cosines to the definitions) -> scores`` (pieces x themes): the piece scoring
            highest for a coded theme is its positive example. Default: the cosine to the definition.

    Returns:
        ``(x, y)``: piece embeddings and labels (1 / 0 / -1 unlabelled) per theme.
    """
    index = {t: j for j, t in enumerate(theme_ids)}
    xs, ys = [], []
    for unit in sorted(set(coded) | set(known)):
        if unit in exclude or unit not in unit_emb:
            continue
        mine = {index[t] for t in coded.get(unit, set()) if t in index}
        anywhere = known.get(unit)
        never = set(range(len(theme_ids))) - (mine if anywhere is None else
                                              mine | {index[t] for t in anywhere if t in index})
        sents = sent_emb.get(unit)
        pieces = np.vstack([unit_emb[unit][None, :]] + ([sents] if sents is not None and len(sents) else []))
        lab = np.full((len(pieces), len(theme_ids)), -1, dtype=np.int8)
        for j in never:
            lab[:, j] = 0
        fit = pieces @ definition.T if witness is None else witness(pieces, pieces @ definition.T)
        for j in mine:
            lab[0, j] = 1
            lab[int(np.argmax(fit[:, j])), j] = 1
        xs.append(pieces)
        ys.append(lab)
    if not xs:
        return np.zeros((0, 1), np.float32), np.zeros((0, len(theme_ids)), np.int8)
    return np.vstack(xs).astype(np.float32), np.vstack(ys)
