"""Calibrate theme thresholds on the answers an analyst coded.

The cosine thresholds of :mod:`analysis.themes.assign` are backend defaults (``DEFAULT_MIN_SCORE``);
how well a fixed number fits depends on the consultation: on the length of its answers, on how
close its themes' wording is, and on the embedding backend. When the analyst has coded answers
of a question (``core_analyst_tags``), those codes say where the threshold should sit for *this*
consultation. :func:`calibrate` chooses, from a small fixed grid, the factor on the answer-level
threshold, the factor on the sentence-level threshold and the relative score a second theme needs
(how multi-label the answers are) that give the best micro F1 over the coded answers' (answer,
theme) pairs.

The scores are *cross-fitted*: the coded answers are split into ``folds`` (5) deterministic folds; a
fold's answers are scored by a theme model whose few-shot examples come only from the other
folds, so an answer never grades the prototype it helped to build. Ties go to the smaller count
bias, then to the factors closest to the defaults. The choice, the number of coded answers and the
F1 are recorded in ``out_theme_model`` so every count can be traced to how it was thresholded.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.themes.assign import ThemeModel, UnitScorer, pick_mask

logger = logging.getLogger(__name__)

THRESHOLD_GRID = (0.5, 0.75, 1.0, 1.5, 2.0)
SENTENCE_GRID = (1.0, 1.5, 2.0, 3.0, 5.0)
RELATIVE_GRID = (0.6, 0.8, 1.0)
#: Cross-fitting folds: each fold's model learns from 80% of the codes, close to the final model's 100%
#: (measured on the sample: 3 and 5 folds choose the same settings, 2 folds a weaker classifier weight).
FOLDS = 5
#: More coded answers than this are cross-fitted with ``FOLDS_LARGE`` folds (each fold is already large;
#: fewer folds save classifier fits).
LARGE_CODED = 2000
FOLDS_LARGE = 3
#: Weights of the sentence classifier learnt from the codes (:mod:`analysis.themes.supervised`).
BLEND_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class Calibration:
    """Threshold factors used for one question.

    Attributes:
        threshold_factor: Multiplies the answer-level threshold.
        sentence_factor: Multiplies the threshold again for a single sentence.
        n_coded: Coded answers the choice was made on (0: defaults).
        f1: Cross-fitted micro F1 on those answers at the chosen factors (``nan``: defaults).
        f1_default: The same F1 at the default factors (``nan``: defaults).
        relative_score: The relative score a further theme of the same piece needs (``None``: the
            configured ``relative_score``).
        blend: Weight of the sentence classifier (0: prototypes only).
        classified: Theme indices whose classifier is used: those that had one in every fold.
        theme_factors: Per theme (model order), a further factor on its threshold (``None``: all 1).
            :func:`calibrate` leaves it ``None``: per-theme factors chosen on ~50 coded answers
            over-fitted (measured on the sample: F1 0.846 against 0.859 with global factors only).
    """

    threshold_factor: float
    sentence_factor: float
    n_coded: int = 0
    f1: float = float("nan")
    f1_default: float = float("nan")
    theme_factors: tuple[float, ...] | None = None
    relative_score: float | None = None
    blend: float = 0.0
    classified: tuple[int, ...] = ()

    def factors(self, n_themes: int) -> np.ndarray:
        """Threshold multipliers per theme (global factor times the theme's own)."""
        own = np.ones(n_themes) if self.theme_factors is None else np.asarray(self.theme_factors, dtype=float)
        return self.threshold_factor * own

    @property
    def describe(self) -> str:
        """One line for logs and ``out_theme_model.method``."""
        if not self.n_coded:
            return f"default thresholds (x{self.threshold_factor:g}, sentences x{self.sentence_factor:g})"
        return (f"thresholds calibrated on {self.n_coded} coded answers (x{self.threshold_factor:g}, "
                f"sentences x{self.sentence_factor:g}, relative score {self.relative_score:g}, sentence-classifier weight {self.blend:g}; cross-fitted F1 {self.f1:.3f} vs {self.f1_default:.3f} "
                "at defaults)")


def coded_sets(tags: pd.DataFrame | None, question_id: str, themes: list, units: set[str]) -> dict[str, set[str]]:
    """Analyst tags of one question as ``unit -> set of base theme ids`` (own-text units only).

    Tags naming no base theme (by id or label, case-insensitive) are left out; a unit whose every
    tag is unknown is left out too (its negatives would be wrong).
    """
    if tags is None or tags.empty:
        return {}
    t = tags[tags["question_id"].astype(str) == question_id]
    by_key = {th.id.lower(): th.id for th in themes} | {th.label.lower(): th.id for th in themes}
    out: dict[str, set[str]] = {}
    for r in t.itertuples(index=False):
        unit = f"own:{r.response_id}"
        tid = by_key.get(str(r.tag).strip().lower())
        if unit in units and tid is not None:
            out.setdefault(unit, set()).add(tid)
    return out


def _fold(unit: str, folds: int) -> int:
    return int(hashlib.sha256(unit.encode("utf-8")).hexdigest()[:8], 16) % folds


Member = tuple[UnitScorer, Callable[[set[str]], ThemeModel], dict[str, set[str]]]


def calibrate(scorer: UnitScorer, build_model: Callable[[set[str]], ThemeModel], coded: dict[str, set[str]],
              **options) -> Calibration:
    """Choose threshold factors on one question's coded answers (cross-fitted), or keep ``default``.

    Args:
        scorer: Knows the embeddings of every unit and its sentences.
        build_model: ``excluded units -> ThemeModel`` whose few-shot examples leave those units out.
        coded: ``unit -> set of theme ids`` (:func:`coded_sets`).
        **options: Keyword arguments of :func:`calibrate_pooled` (``max_themes``, ``relative_score``,
            ``default``, ``min_coded``, ``folds``).

    Returns:
        The chosen :class:`Calibration`.
    """
    return calibrate_pooled([(scorer, build_model, coded)], **options)


def calibrate_pooled(
    members: list[Member],
    *,
    max_themes: int,
    relative_score: float,
    default: Calibration,
    min_coded: int = 20,
    folds: int = FOLDS,
) -> Calibration:
    """Choose one set of factors on the coded answers of several questions sharing their themes.

    Each member is ``(scorer, build_model, coded)`` as in :func:`calibrate`. Folds are by unit key
    (``own:<response id>``), so a respondent's answers to every member question fall in the same
    fold, and a fold is scored by models built without *any* of that fold's units.

    Args:
        members: ``(scorer, build_model, coded)`` per question.
        max_themes: As in :func:`analysis.themes.assign.select`.
        relative_score: The configured relative score (the default of the relative-score grid).
        default: Factors used when there are too few coded answers, and the tie-break target.
        min_coded: Fewer coded answers (over all members) than this keep ``default``.
        folds: Cross-fitting folds (``FOLDS_LARGE`` at most above ``LARGE_CODED`` coded answers).

    Returns:
        The chosen :class:`Calibration`.
    """
    n_coded = sum(len(c) for _, _, c in members)
    if n_coded < min_coded:
        return default
    if n_coded > LARGE_CODED:
        folds = min(folds, FOLDS_LARGE)
    parts = []  # (scorer, model, units, truth mask) per (fold, member)
    for f in range(folds):
        excluded = {u for _, _, coded in members for u in coded if _fold(u, folds) == f}
        for scorer, build_model, coded in members:
            part = sorted(u for u in coded if _fold(u, folds) == f)
            if not part:
                continue
            model = build_model(excluded)
            index = {tid: j for j, tid in enumerate(model.theme_ids)}
            truth_mask = np.zeros((len(part), len(model.theme_ids)), dtype=bool)
            for i, u in enumerate(part):
                truth_mask[i, sorted(index[t] for t in coded[u] if t in index)] = True
            parts.append((scorer, model, part, truth_mask))
    # the classifier counts only for themes that have one in every fold: a theme short of examples in
    # one fold would otherwise be judged without its classifier and published with it
    clfs = [m.piece_classifier_ for _, m, _, _ in parts]
    classified = (frozenset.intersection(*(frozenset(c.models_) for c in clfs))
                  if clfs and all(c is not None for c in clfs) else frozenset())
    scored: dict[float, list] = {}  # blend weight -> per part: (whole, sent, owner, thresholds, truth)
    n_parts = len(parts)
    for scorer, model, part, truth_mask in parts:
        if classified:
            model.piece_classifier_ = model.piece_classifier_.restricted(classified)
        for w in (BLEND_GRID if classified else (0.0,)):
            model.blend_ = w
            whole, sent, owner = scorer.piece_scores(model, part)
            scored.setdefault(w, []).append((whole, sent, owner, model.thresholds_, truth_mask))
        model.blend_ = 0.0
    # a weight is only comparable when every (fold, member) part has it
    weights = sorted(w for w, v in scored.items() if len(v) == n_parts)

    def evaluate(tf: float, sf: float, rs: float, w: float = 0.0) -> tuple[float, float]:
        tp = fp = fn = 0
        for whole, sent, owner, thr, tru in scored[w]:
            got = pick_mask(whole, sent, owner, thr * tf, max_themes=max_themes, relative_score=rs,
                            sentence_factor=sf)
            tp += int((got & tru).sum())
            fp += int((got & ~tru).sum())
            fn += int((~got & tru).sum())
        return 2 * tp / max(2 * tp + fp + fn, 1), abs(fp - fn) / max(tp + fn, 1)

    f1_default, _ = evaluate(default.threshold_factor, default.sentence_factor, relative_score)
    best_key, best = None, default
    for w in weights:
        for rs in sorted({relative_score, *RELATIVE_GRID}):
            for tf in THRESHOLD_GRID:
                for sf in SENTENCE_GRID:
                    f1, bias = evaluate(tf, sf, rs, w)
                    dist = (abs(np.log(tf / default.threshold_factor)) + abs(np.log(sf / default.sentence_factor))
                            + abs(np.log(rs / relative_score)) + w)
                    key = (-round(f1, 4), round(bias, 4), round(dist, 6))
                    if best_key is None or key < best_key:
                        best_key, best = key, Calibration(tf, sf, n_coded, f1, f1_default, relative_score=rs,
                                                          blend=w, classified=tuple(sorted(classified)) if w else ())
    logger.info("%s", best.describe)
    return best
