"""Free-text stance: a small supervised model trained per consultation, plus active learning.

The model is deliberately simple and fully offline: TF-IDF word (1-2) and character (2-5) n-grams
feeding a class-balanced, seeded logistic regression, Platt-scaled on out-of-fold scores with every
position weighted equally (:class:`~analysis.positions.features.BalancedPlatt`). :func:`cross_fit` fits
the featurizer once and reuses one set of folds for both the calibration and the honest out-of-fold
predictions; :func:`capped_sample` caps large training sets. The
featurizer is swappable (``StanceModel(featurizer=...)``); :func:`minilm_featurizer` returns a
sentence-embedding featurizer when the optional local MiniLM package is importable.

Predictions whose top probability is below ``confidence_threshold`` become ``unclear``: the model
never forces a text into a side it is unsure of.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier

from analysis.positions.features import (  # noqa: F401  (re-exported)
    BalancedPlatt,
    Blocks,
    SentenceEmbedder,
    _balanced_weights,
    deferred_stacking,
    fit_distinct,
    minilm_featurizer,
    take_rows,
    tfidf_featurizer,
)

log = logging.getLogger(__name__)

UNCLEAR = "unclear"
#: Forked processes fitting :func:`cross_fit`'s fold classifiers and its final classifier side by side (1: all in
#: this process). Every fit is seeded and runs the same way wherever it runs, so the results do not depend on it.
FIT_WORKERS = min(2, os.cpu_count() or 1)
#: Labelled texts from which the fits are spread over processes (smaller sets fit faster than a fork).
PARALLEL_MIN_ROWS = 1000


class StanceModel:
    """Calibrated text stance classifier with an explicit ``unclear`` outcome.

    The classifier is a class-balanced logistic regression (one-vs-rest for more than two positions).
    Its scores are Platt-scaled per position on out-of-fold scores, with every position weighted
    equally (:class:`BalancedPlatt`): the probabilities assume no position is more common than
    another, so a text carrying no stance evidence comes out near uniform (hence ``unclear``)
    instead of taking the majority tick's position. Prevalence is estimated separately
    (:mod:`analysis.counts.prevalence`), not baked into individual predictions.

    Args:
        seed: Random seed (logistic regression, calibration folds).
        confidence_threshold: Predictions whose top probability is below this become ``unclear``.
        featurizer: A scikit-learn transformer mapping texts to features (default :func:`tfidf_featurizer`).
            It is cloned on fit, so one instance can be shared.
        C: Inverse regularisation strength of the logistic regression.
        calibrate: Platt-calibrate probabilities when every class has at least 2 examples.

    Attributes:
        classes_: Positions the model was trained on.
        featurizer_: The fitted featurizer.
        classifier_: The fitted logistic regression.
        calibrator_: The fitted :class:`BalancedPlatt` (``None`` when not calibrated).
    """

    def __init__(
        self,
        seed: int = 0,
        confidence_threshold: float = 0.6,
        featurizer: Any = None,
        C: float = 4.0,  # noqa: N803
        calibrate: bool = True,
    ):
        self.seed = seed
        self.confidence_threshold = confidence_threshold
        self.featurizer = featurizer
        self.C = C
        self.calibrate = calibrate

    def clone(self) -> StanceModel:
        """An unfitted copy with the same settings (the featurizer instance is shared, then cloned on fit)."""
        return StanceModel(self.seed, self.confidence_threshold, self.featurizer, self.C, self.calibrate)

    def _new_featurizer(self) -> Any:
        if self.featurizer is None:
            return tfidf_featurizer()
        if isinstance(self.featurizer, SentenceEmbedder):
            return self.featurizer  # stateless and expensive to copy
        return clone(self.featurizer)

    def _new_classifier(self, n_classes: int, X: Any = None) -> Any:  # noqa: N803
        # liblinear is ~5x faster than lbfgs on these sparse problems (measured: 0.04 s vs 0.2 s a fit on 700
        # answers); more than two positions are fitted one-vs-rest. With more features than texts (TF-IDF
        # n-grams: 76k features for 5,000 ArgKP arguments) liblinear's dual solver reaches the same optimum
        # 16x faster (measured: 0.18 s vs 2.96 s CPU; decision scores within 0.0013).
        dual = X is not None and X.shape[1] > X.shape[0]
        lr = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000, random_state=self.seed,
                                solver="liblinear", dual=dual)
        return OneVsRestClassifier(lr) if n_classes > 2 else lr

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> StanceModel:
        """Fit the featurizer on ``texts``, then the classifier and calibrator (inner 3-fold CV scores).

        Raises:
            ValueError: Fewer than two distinct labels.
        """
        y = _labels(labels)
        self.featurizer_ = self._new_featurizer()
        return self.fit_features(_canonical(self.featurizer_.fit_transform(list(texts))), y)

    def fit_features(self, X: Any, labels: Sequence[str], *, oof_scores: np.ndarray | None = None,  # noqa: N803
                     classifier: Any = None) -> StanceModel:
        """Fit classifier and calibrator on features from the already fitted ``featurizer_``.

        Args:
            X: Feature matrix of the labelled texts.
            labels: Their positions.
            oof_scores: Out-of-fold decision scores of the same rows (:func:`cross_fit` passes them);
                when ``None`` and ``calibrate``, an inner stratified CV (up to 3 folds) computes them.
            classifier: The classifier already fitted on ``X`` and ``labels`` (:func:`cross_fit` fits it beside
                the folds), or ``None`` to fit it here.

        Raises:
            ValueError: Fewer than two distinct labels.
        """
        y = _labels(labels)
        classes, counts = np.unique(y, return_counts=True)
        self.classifier_ = classifier if classifier is not None else self._new_classifier(len(classes), X).fit(X, y)
        self.classes_ = [str(c) for c in self.classifier_.classes_]
        self.calibrator_ = None
        if self.calibrate and oof_scores is None and counts.min() >= 2:
            oof_scores, _, _ = _oof_scores(self, X, y, int(min(3, counts.min())))
        if self.calibrate and oof_scores is not None:
            self.calibrator_ = BalancedPlatt().fit(oof_scores, y, self.classes_)
        return self

    def scores(self, X: Any) -> np.ndarray:  # noqa: N803
        """Decision scores, one column per class in :attr:`classes_` order."""
        return _score_columns(self.classifier_, X)

    def proba_features(self, X: Any) -> np.ndarray:  # noqa: N803
        """Class probabilities of a feature matrix (columns in :attr:`classes_` order)."""
        if self.calibrator_ is not None:
            return self.calibrator_.predict_proba(self.scores(X))
        return self.classifier_.predict_proba(X)

    def transform(self, texts: Sequence[str]) -> Any:
        """Features of texts (fitted featurizer)."""
        return self.featurizer_.transform(list(texts))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, columns in :attr:`classes_` order."""
        return self.proba_features(self.transform(texts))

    def predict(self, texts: Sequence[str]) -> pd.DataFrame:
        """Predict positions.

        Returns:
            DataFrame ``position, confidence`` (confidence = top probability; ``position`` is
            ``unclear`` when the confidence is below the threshold), one row per text.
        """
        if len(texts) == 0:
            return _empty_pred()
        proba = self.predict_proba(texts)
        return _decide(proba, self.classes_, self.confidence_threshold)


def _labels(labels: Sequence[str]) -> np.ndarray:
    y = np.asarray(list(labels), dtype=object)
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(f"need at least two positions to train a stance model, got {list(classes)}")
    return y


def _canonical(X: Any) -> Any:  # noqa: N803
    """Sparse features as CSR with sorted indices, once: every fold's row slice is then sorted already
    (liblinear's input check would otherwise sort each slice again: 7 of 66 s at 10,000 responses)."""
    if sp.issparse(X):
        X = X.tocsr()  # noqa: N806
        X.sort_indices()
    return X


def _split_rows(X: Any, n: int) -> tuple[Any, Any]:  # noqa: N803
    """``X[:n]`` and ``X[n:]``; of a CSR matrix as views of its arrays (no copy of the nonzeros), still sorted."""
    if not (sp.issparse(X) and X.format == "csr" and X.has_sorted_indices):
        return X[:n], X[n:]
    cut = X.indptr[n]
    parts = []
    for data, indices, indptr in ((X.data[:cut], X.indices[:cut], X.indptr[: n + 1]),
                                  (X.data[cut:], X.indices[cut:], X.indptr[n:] - cut)):
        part = type(X)((len(indptr) - 1, X.shape[1]), dtype=X.dtype)
        # set directly: scipy's constructor copies a view of a much larger array ("pruning" it)
        part.data, part.indices, part.indptr = data, indices, indptr
        parts.append(part)
    head, tail = parts
    head.has_sorted_indices = tail.has_sorted_indices = True
    return head, tail


def _take_rows(X: Any, rows: np.ndarray) -> Any:  # noqa: N803
    """``X[rows]`` of a CSR matrix with sorted indices, as the same type with the same index dtypes, each row's
    storage kept (so row by row the same as the rows of a matrix featurised with repeated documents)."""
    out = take_rows(X, rows)
    out.has_sorted_indices = True
    return out


def _score_columns(clf: Any, X: Any) -> np.ndarray:  # noqa: N803
    d = clf.decision_function(X)
    return np.column_stack([-d, d]) if d.ndim == 1 else d


def _empty_pred() -> pd.DataFrame:
    return pd.DataFrame({"position": pd.Series([], dtype=str), "confidence": pd.Series([], dtype=float)})


def _decide(proba: np.ndarray, classes: Sequence[str], threshold: float) -> pd.DataFrame:
    top = proba.argmax(axis=1)
    conf = proba.max(axis=1)
    pos = np.asarray(classes, dtype=object)[top]
    pos = np.where(conf < threshold, UNCLEAR, pos)
    return pd.DataFrame({"position": pos.astype(str), "confidence": conf.astype(float)})


def _oof_scores(model: StanceModel, X: Any, y: np.ndarray, k: int,  # noqa: N803
                final: bool = False, parallel: bool = True) -> tuple[np.ndarray, np.ndarray, Any]:
    """Out-of-fold decision scores (uncalibrated), the fold of each row (stratified ``k`` folds) and, with
    ``final``, the classifier fitted on every row (else ``None``).

    The fits are independent: with ``FIT_WORKERS`` > 1 and at least ``PARALLEL_MIN_ROWS`` rows they run in
    forked processes (the final one, the largest, first), with the same results; ``parallel=False`` keeps them
    in this process.
    """
    n_classes = len(set(y))
    scores = np.zeros((len(y), n_classes))
    fold = np.zeros(len(y), dtype=int)
    splits = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=model.seed).split(np.zeros(len(y)), y))
    tasks = ([-1] if final else []) + list(range(k))
    global _FORKED
    _FORKED = (model, X, y, splits, n_classes)
    try:
        if parallel and FIT_WORKERS > 1 and len(y) >= PARALLEL_MIN_ROWS and "fork" in multiprocessing.get_all_start_methods():
            with ProcessPoolExecutor(FIT_WORKERS, mp_context=multiprocessing.get_context("fork")) as pool:
                results = list(pool.map(_fit_task, tasks))
        else:
            results = [_fit_task(t) for t in tasks]
    finally:
        _FORKED = None
    clf = results.pop(0) if final else None
    for f, ((_, te), s) in enumerate(zip(splits, results, strict=True)):
        scores[te] = s
        fold[te] = f
    return scores, fold, clf


_FORKED: tuple | None = None


def _fit_task(task: int) -> Any:
    """Fold ``task``'s held-out scores, or (``-1``) the classifier fitted on every row (:func:`_oof_scores`)."""
    model, X, y, splits, n_classes = _FORKED  # noqa: N806 - inherited by forked workers, nothing large pickled
    if task < 0:
        return model._new_classifier(n_classes, X).fit(X, y)
    tr, te = splits[task]
    return _score_columns(model._new_classifier(n_classes, X).fit(X[tr], y[tr]), X[te])


def cross_fit(
    model: StanceModel,
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    folds: int = 5,
    predict: Sequence[str] = (),
    parallel: bool = True,
) -> tuple[StanceModel, pd.DataFrame, pd.DataFrame]:
    """Fit a model and get honest out-of-fold predictions for its own training texts, in one pass.

    The featurizer is fitted once, on the labelled *and* the ``predict`` texts (it sees no labels,
    so out-of-fold predictions stay honest). ``k = min(folds, smallest class)`` stratified folds
    give out-of-fold decision scores; the final classifier is fitted on all labelled texts and
    calibrated on those scores (as ``CalibratedClassifierCV(ensemble=False)`` would, without its
    inner CV). Each fold's own out-of-fold scores are calibrated by a calibrator fitted on the
    *other* folds' scores, so no label of a row touches its own out-of-fold prediction.

    Args:
        model: Unfitted template (cloned).
        texts: Labelled texts.
        labels: Their positions.
        folds: Maximum number of stratified folds.
        predict: Further texts to predict with the final model.
        parallel: Spread the fits over forked processes when the training set is large (:func:`_oof_scores`);
            ``False`` when something else already runs beside this call (:mod:`analysis.positions.parallel`).

    Returns:
        ``(fitted model, oof, predicted)``: ``oof`` has columns ``true, position, confidence`` aligned
        with ``texts`` (empty when a class has fewer than 2 examples); ``predicted`` has
        ``position, confidence`` aligned with ``predict``.

    Raises:
        ValueError: Fewer than two distinct labels.
    """
    texts, predict = list(texts), list(predict)
    y = _labels(labels)
    m = model.clone()
    m.featurizer_ = m._new_featurizer()
    # each distinct text featurised (and predicted) once: copies and identical short answers repeat; the TF-IDF
    # union's blocks are not stacked whole (Blocks: the training rows stacked, the rest predicted a chunk at a time)
    with deferred_stacking(m.featurizer_):
        feats, rows = fit_distinct(m.featurizer_, texts + predict)
    if isinstance(feats, Blocks):
        feats.sort_indices()
        first = np.arange(len(texts)) if rows is None else rows[: len(texts)]
        X, Xp = feats.take(first), feats  # noqa: N806
        start, back = (len(texts), None) if rows is None else (0, rows[len(texts):])
    else:
        feats = _canonical(feats)
        start = 0
        if rows is None:
            X, Xp = _split_rows(feats, len(texts))  # noqa: N806
            back = None
        else:
            X = _take_rows(feats, rows[: len(texts)])  # noqa: N806
            Xp, back = feats, rows[len(texts):]  # noqa: N806 - every distinct text scored once (no copy of the rows)
    del feats  # held by X and Xp only
    oof = fit_classifier(m, X, y, folds, parallel=parallel)
    if not predict:
        return m, oof, _empty_pred()
    if isinstance(Xp, Blocks):  # row by row the same probabilities as of the stacked matrix
        proba = np.concatenate([m.proba_features(chunk) for chunk in Xp.row_chunks(start)])
    else:
        proba = m.proba_features(Xp)
    return m, oof, _decide(proba if back is None else proba[back], m.classes_, m.confidence_threshold)


def fit_classifier(m: StanceModel, X: Any, y: np.ndarray, folds: int, *, parallel: bool = True  # noqa: N803
                   ) -> pd.DataFrame:
    """:func:`cross_fit`'s classifier step: fit ``m``'s classifier and calibrator on the features ``X`` of its
    labelled texts (``m.featurizer_`` fitted already) and return their honest out-of-fold predictions.

    Args:
        m: The model being fitted (its classifier and calibrator set here).
        X: Features of the labelled texts (CSR with sorted indices, or dense).
        y: Their positions.
        folds: Maximum number of stratified folds.
        parallel: As :func:`cross_fit`'s.

    Returns:
        ``true, position, confidence`` per labelled text (empty when a class has fewer than 2 examples).
    """
    counts = np.unique(y, return_counts=True)[1]
    k = int(min(folds, counts.min()))
    if k < 2:
        m.fit_features(X, y)
        return pd.DataFrame(columns=["true", "position", "confidence"])
    scores, fold, clf = _oof_scores(m, X, y, k, final=True, parallel=parallel)
    m.fit_features(X, y, oof_scores=scores if m.calibrate else None, classifier=clf)
    proba = np.zeros_like(scores)
    for f in range(k):
        te = fold == f
        if m.calibrate:
            proba[te] = BalancedPlatt().fit(scores[~te], y[~te], m.classes_).predict_proba(scores[te])
        else:
            clf = m._new_classifier(len(m.classes_), X).fit(X[~te], y[~te])
            proba[te] = clf.predict_proba(X[te])
    dec = _decide(proba, m.classes_, m.confidence_threshold)
    return pd.DataFrame({"true": y.astype(str), "position": dec["position"].to_numpy(),
                         "confidence": dec["confidence"].to_numpy()})


def cross_val_predictions(
    model: StanceModel, texts: Sequence[str], labels: Sequence[str], *, folds: int = 5
) -> pd.DataFrame:
    """Out-of-fold predictions on labelled data (for error rates and tick/text disagreements).

    Args:
        model: Unfitted template (cloned).
        texts: Labelled texts.
        labels: Their positions.
        folds: Maximum number of stratified folds (reduced to the smallest class size).

    Returns:
        DataFrame ``true, position, confidence`` aligned with the inputs; empty when there are fewer than
        two positions or a class has fewer than 2 examples (no honest out-of-fold estimate is possible).
    """
    y = np.asarray(list(labels), dtype=object)
    if len(np.unique(y)) < 2:
        return pd.DataFrame(columns=["true", "position", "confidence"])
    return cross_fit(model, texts, y, folds=folds)[1]


def capped_sample(labels: Sequence[str], cap: int, seed: int, *, priority: Sequence[bool] | None = None) -> np.ndarray:
    """Indices of a seeded, class-stratified sample of at most ``cap`` labelled rows.

    The budget is shared between positions as evenly as possible (a position with fewer rows than its
    share keeps all of them and the rest goes to the others), so rare positions are never thinned;
    within a position, ``priority`` rows (e.g. analyst codes) are taken first, the rest in seeded
    random order. Every position keeps at least one row.

    Args:
        labels: Position of each row.
        cap: Maximum sample size (``0`` or at least the row count: all rows).
        seed: Random seed.
        priority: Rows to take first within their position.

    Returns:
        Sorted row indices.
    """
    y = np.asarray(list(labels), dtype=object)
    n = len(y)
    if cap <= 0 or n <= cap:
        return np.arange(n)
    prio = np.zeros(n, dtype=bool) if priority is None else np.asarray(list(priority), dtype=bool)
    classes, counts = np.unique(y, return_counts=True)
    quota = dict.fromkeys(classes, 0)
    left, open_ = cap, sorted(classes, key=lambda c: (counts[list(classes).index(c)], c))
    while open_ and left > 0:  # water-filling, smallest class first
        share = max(1, left // len(open_))
        c = open_[0]
        take = min(int(counts[list(classes).index(c)]), share)
        quota[c], left = take, left - take
        open_.pop(0)
    rng = np.random.default_rng(seed)
    chosen = []
    for c in classes:
        idx = np.flatnonzero(y == c)
        idx = idx[np.lexsort((rng.permutation(len(idx)), ~prio[idx]))]
        chosen.append(idx[: max(1, quota[c])])
    return np.sort(np.concatenate(chosen))


def propose_for_coding(
    model: StanceModel | None,
    pool: pd.DataFrame,
    n: int,
    seed: int,
    *,
    text_col: str = "text",
    candidates_factor: int = 4,
    featurizer: Callable[[Sequence[str]], Any] | None = None,
) -> pd.DataFrame:
    """Choose the next ``n`` answers an analyst should code (uncertainty sampling with diversity).

    The ``candidates_factor * n`` answers with the smallest margin between the model's two most
    likely positions are clustered with k-means into ``n`` clusters; from each cluster the
    lowest-margin answer is proposed, so the batch is both uncertain and spread over different
    kinds of text. Without a fitted model (cold start) every answer has margin 0 and the choice is
    pure k-means diversity.

    Args:
        model: A fitted :class:`StanceModel`, or ``None`` for a cold start.
        pool: Uncoded answers (any columns, must hold ``text_col``); not modified.
        n: How many to propose.
        seed: Seed for k-means (ties are broken by pool order).
        text_col: Column holding the text.
        candidates_factor: Size of the uncertain candidate set relative to ``n``.
        featurizer: Optional callable texts -> features for clustering (default: the model's
            featurizer, or a fresh TF-IDF on the pool for a cold start).

    Returns:
        The proposed rows of ``pool`` (original columns) plus ``margin`` and ``rank`` (1 = code first),
        ordered by rank.
    """
    if n <= 0 or pool.empty:
        return pool.head(0).assign(margin=pd.Series(dtype=float), rank=pd.Series(dtype=int))
    texts = pool[text_col].fillna("").astype(str).tolist()
    fitted = model is not None and hasattr(model, "classifier_")
    if fitted:
        proba = model.predict_proba(texts)
        srt = np.sort(proba, axis=1)
        margin = srt[:, -1] - (srt[:, -2] if proba.shape[1] > 1 else 0.0)
    else:
        margin = np.zeros(len(texts))
    order = np.argsort(margin, kind="mergesort")
    cand = order[: max(n, candidates_factor * n)]
    n = min(n, len(cand))
    if featurizer is not None:
        feats = featurizer([texts[i] for i in cand])
    elif fitted:
        feats = model.transform([texts[i] for i in cand])
    else:
        feats = tfidf_featurizer().fit_transform([texts[i] for i in cand])
    if n < len(cand):
        km = KMeans(n_clusters=n, n_init=4, random_state=seed).fit(feats)
        chosen = []
        for c in range(n):
            members = np.flatnonzero(km.labels_ == c)
            if len(members):
                chosen.append(cand[members[0]])  # cand is margin-sorted: first member is least certain
        chosen = sorted(chosen, key=lambda i: (margin[i], i))
        if len(chosen) < n:  # empty clusters (duplicate texts): fill with the next most uncertain
            rest = [i for i in cand if i not in set(chosen)]
            chosen += rest[: n - len(chosen)]
    else:
        chosen = list(cand)
    out = pool.iloc[chosen].copy()
    out["margin"] = margin[chosen].astype(float)
    out["rank"] = np.arange(1, len(chosen) + 1)
    return out
