"""Calibrate theme thresholds on the answers an analyst coded.

The cosine thresholds of :mod:`analysis.themes.assign` are backend defaults (``DEFAULT_MIN_SCORE``);
how well a fixed number fits depends on the consultation: on the length of its answers, on how
close its themes' wording is, and on the embedding backend. When the analyst has coded answers
of a question (``core_analyst_tags``), those codes say where the threshold should sit for *this*
consultation. :func:`calibrate` chooses, from a small fixed grid, the factor on the answer-level
threshold, the factor on the sentence-level threshold and the relative score a second theme needs
(how multi-label the answers are) that give the best micro F1 over the coded answers' (answer,
theme) pairs.
When the codes give (almost) every answer one theme, only the answer-level threshold of a one-theme-
per-answer rule is chosen (``MULTI_MIN``): searching the multi-theme rules on a few dozen codes
over-fitted them. Several groups of questions that learnt that rule with a linear model then share one cut
chosen on all their codes (:func:`share_threshold`).

The scores are *cross-fitted*: the coded answers are split into ``folds`` (5) deterministic folds; a
fold's answers are scored by a theme model whose few-shot examples come only from the other
folds, so an answer never grades the prototype it helped to build. Ties go to the smaller count
bias, then to the factors closest to the defaults. The choice, the number of coded answers and the
F1 are recorded in ``out_theme_model`` so every count can be traced to how it was thresholded.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from analysis.themes.assign import ThemeModel, UnitScorer, pick_mask, select_mask
from analysis.themes.codebook import OTHER
from analysis.themes.linear import fit_platt

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
#: Below this estimated share of answers raising two or more themes (:func:`_multi_share`), the rule learnt is
#: one theme per answer (:func:`_grid`). ArgKP (5 / 20 codes per key point drawn per key point; 3-6% of the
#: arguments with a key point have two): searching the multi-theme rules on ~20-60 coded answers per question
#: over-fitted them (coverage 94% against the truth's 71%).
MULTI_MIN = 0.2
#: Sentence factor that switches sentence-level themes off (one theme per answer).
SENTENCE_OFF = float("inf")
#: Most themes one piece keeps (the configured ``max_themes_per_answer`` caps it): learnt from the codes.
MAX_THEMES_GRID = (1, 2, 3)
#: A theme with at least this many coded answers gets its own threshold factor (one of ``THEME_GRID``
#: times the question's), kept only when it raises the cross-fitted F1.
PER_THEME_MIN = 50
THEME_GRID = (0.67, 0.8, 1.25, 1.5)
#: The gain in cross-fitted micro F1 a theme's own factor must bring (smaller gains were noise: on the
#: sample, any gain gave 3 themes their own factor and pair F1 fell from 0.959 to 0.946).
THEME_MIN_GAIN = 0.01
#: Threshold factors searched for the cut shared by the one-theme rules of several groups of questions
#: (:func:`share_threshold`): probability cuts 0.2, 0.225, ..., 0.8 on the learnt models' 0.5.
SHARED_GRID = tuple(round(0.4 + 0.05 * i, 2) for i in range(25))
#: Groups of questions (each calibrated on its own codes) needed before their one-theme cut is shared.
SHARE_MIN_GROUPS = 2


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
        theme_factors: Per theme (model order), a further factor on its threshold (``None``: all 1); only
            themes with ``PER_THEME_MIN`` coded answers get one (per-theme factors chosen on ~50 coded
            answers over all themes over-fitted: sample F1 0.846 against 0.859 with global factors only).
        max_themes: Most themes a piece keeps (``None``: the configured ``max_themes_per_answer``).
        platt: Calibration curve of learnt probabilities (:func:`analysis.themes.linear.fit_platt`)
            fitted on the cross-fitted scores, or ``None``.
        shared: Groups of questions whose codes chose ``threshold_factor`` together (:func:`share_threshold`;
            0: this group's codes alone).
        shared_f1: Cross-fitted micro F1 of the shared factor over those groups' codes (``nan``: not shared).
        crossfit: The cross-fitted ``(whole scores, thresholds, truth)`` per fold part of a one-theme rule
            with a learnt linear part (what :func:`share_threshold` pools), else empty.
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
    max_themes: int | None = None
    platt: tuple[float, float] | None = None
    shared: int = 0
    shared_f1: float = float("nan")
    crossfit: tuple = field(default=(), compare=False, repr=False)

    def factors(self, n_themes: int) -> np.ndarray:
        """Threshold multipliers per theme (global factor times the theme's own)."""
        own = np.ones(n_themes) if self.theme_factors is None else np.asarray(self.theme_factors, dtype=float)
        return self.threshold_factor * own

    @property
    def describe(self) -> str:
        """One line for logs and ``out_theme_model.method``."""
        if not self.n_coded:
            return f"default thresholds (x{self.threshold_factor:g}, sentences x{self.sentence_factor:g})"
        own = sum(f != 1 for f in self.theme_factors or ())
        sent = "no sentence themes" if self.sentence_factor == SENTENCE_OFF else f"sentences x{self.sentence_factor:g}"
        return (f"thresholds calibrated on {self.n_coded} coded answers (x{self.threshold_factor:g}, "
                f"{sent}, relative score {self.relative_score:g}, "
                f"at most {self.max_themes} themes, {own} themes with their own threshold, "
                f"sentence-classifier weight {self.blend:g}; cross-fitted F1 {self.f1:.3f} vs {self.f1_default:.3f} "
                "at defaults)" + (f"; threshold shared by the one-theme rules of {self.shared} groups of questions "
                                  f"(their pooled cross-fitted F1 {self.shared_f1:.3f})" if self.shared else ""))


def coded_sets(tags: pd.DataFrame | None, question_id: str, themes: list, units: set[str]) -> dict[str, set[str]]:
    """Analyst tags of one question as ``unit -> set of base theme ids`` (own-text units only).

    Tags naming no base theme (by id or label, case-insensitive) are left out; a unit whose every
    tag is unknown is left out too (its negatives would be wrong). The tag ``other`` says the analyst
    read the answer and found no theme: the unit is kept with an empty set (a negative for every theme).
    """
    if tags is None or tags.empty:
        return {}
    t = tags[tags["question_id"].astype(str) == question_id]
    by_key = {th.id.lower(): th.id for th in themes} | {th.label.lower(): th.id for th in themes}
    out: dict[str, set[str]] = {}
    for r in t.itertuples(index=False):
        unit = f"own:{r.response_id}"
        tag = str(r.tag).strip().lower()
        tid = by_key.get(tag)
        if unit in units and tid is not None:
            out.setdefault(unit, set()).add(tid)
        elif unit in units and tag == OTHER:
            out.setdefault(unit, set())
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
    fold, and a fold is scored by models built without *any* of that fold's units. The search covers
    the threshold factor, the sentence factor, the relative score, the most themes per piece (up to
    ``max_themes``) and the sentence-classifier weight - or, when the codes are (almost) single-theme
    (:func:`_multi_share` below ``MULTI_MIN``), only the threshold factor and the weight of the one-theme
    rule; then each theme with ``PER_THEME_MIN`` coded answers may get its own factor. Models with a learnt linear part also get a Platt curve.

    Args:
        members: ``(scorer, build_model, coded)`` per question.
        max_themes: As in :func:`analysis.themes.assign.select` (the upper end of the learnt value).
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
    parts, classified = _cross_fit(members, fold_count(n_coded, folds))
    scored = _score_parts(parts, classified)
    search = _Search(scored, max_themes)
    f1_default = search.f1(default.threshold_factor, default.sentence_factor, relative_score, 0.0, max_themes)
    single = _multi_share(members) < MULTI_MIN
    best = _grid(search, sorted(scored), n_coded=n_coded, f1_default=f1_default, default=default,
                 relative_score=relative_score, max_themes=max_themes, single=single,
                 classified=tuple(sorted(classified)))
    best = search.theme_factors(best)
    best = replace(best, platt=_platt(parts, scored[best.blend]))
    if best.platt is not None and best.max_themes == 1 and best.sentence_factor == SENTENCE_OFF:
        best = replace(best, crossfit=tuple((whole, thr, truth) for whole, _, _, thr, truth in scored[best.blend]))
    logger.info("%s", best.describe)
    return best


def _multi_share(members: list[Member]) -> float:
    """Estimated share of answers with a theme that raise two or more, from the coded answers.

    Codes are often drawn per theme (k answers per theme), so an answer with ``m`` themes is about ``m``
    times as likely to be coded as one with a single theme: each coded answer is weighted ``1 / m``.
    """
    sets = [c for _, _, coded in members for c in coded.values() if c]
    total = sum(1 / len(c) for c in sets)
    return sum(1 / len(c) for c in sets if len(c) > 1) / total if sets else 0.0


def _grid(search: _Search, weights: list[float], *, n_coded: int, f1_default: float, default: Calibration,
          relative_score: float, max_themes: int, single: bool, classified: tuple[int, ...]) -> Calibration:
    """The rule of the grid with the best cross-fitted F1 (ties: smaller count bias, then nearer the defaults).

    ``single``: the codes give (almost) every answer one theme, so the rule searched is one theme per answer,
    its best whole-text theme when that reaches the threshold; only the threshold factor (and the classifier
    weight) are learnt. Otherwise the sentence factor, relative score and most themes per piece are too.
    """
    if single:
        shapes, sentence = [(relative_score, 1)], (SENTENCE_OFF,)
    else:
        shapes = [(rs, mt) for rs in sorted({relative_score, *RELATIVE_GRID})
                  for mt in sorted({m for m in MAX_THEMES_GRID if m < max_themes} | {max_themes})]
        sentence = SENTENCE_GRID
    best_key, best = None, default
    for w in weights:
        for (rs, mt), tf, sf in itertools.product(shapes, THRESHOLD_GRID, sentence):
            f1, bias = search.f1_bias(tf, sf, rs, w, mt)
            dist = (abs(np.log(tf / default.threshold_factor)) + abs(np.log(rs / relative_score)) + w
                    + (0.0 if single else abs(np.log(sf / default.sentence_factor)) + (max_themes - mt)))
            key = (-round(f1, 4), round(bias, 4), round(dist, 6))
            if best_key is None or key < best_key:
                best_key = key
                best = Calibration(tf, sf, n_coded, f1, f1_default, relative_score=rs, blend=w,
                                   classified=classified if w else (), max_themes=mt)
    return best


def fold_count(n_coded: int, folds: int = FOLDS) -> int:
    """Cross-fitting folds of :func:`calibrate_pooled` for ``n_coded`` coded answers (``FOLDS_LARGE`` at most above
    ``LARGE_CODED``)."""
    return min(folds, FOLDS_LARGE) if n_coded > LARGE_CODED else folds


def fold_plan(codes: list[dict[str, set[str]]], *, min_coded: int, folds: int = FOLDS) -> list[tuple[set[str], list[int]]]:
    """The models :func:`calibrate_pooled` builds, fold by fold: ``(units left out, members scored)``.

    ``codes``: each member's ``coded``. Empty when there are fewer than ``min_coded`` coded answers (no
    cross-fitting). Lets a caller build the folds' models ahead (side by side) and hand them over in ``build_model``.
    """
    n_coded = sum(len(c) for c in codes)
    if n_coded < min_coded:
        return []
    k = fold_count(n_coded, folds)
    plan = []
    for f in range(k):
        excluded = {u for coded in codes for u in coded if _fold(u, k) == f}
        scored = [i for i, coded in enumerate(codes) if any(_fold(u, k) == f for u in coded)]
        if scored:
            plan.append((excluded, scored))
    return plan


def _cross_fit(members: list[Member], folds: int) -> tuple[list, frozenset]:
    """Per (fold, member): ``(scorer, model built without the fold, units, truth mask)``; classified themes."""
    parts = []
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
    return parts, classified


def _score_parts(parts: list, classified: frozenset) -> dict[float, list]:
    """Blend weight -> per part ``(whole, sent, owner, thresholds, truth)``; only weights every part has."""
    scored: dict[float, list] = {}
    for scorer, model, part, truth_mask in parts:
        if classified:
            model.piece_classifier_ = model.piece_classifier_.restricted(classified)
        for w in (BLEND_GRID if classified else (0.0,)):
            model.blend_ = w
            whole, sent, owner = scorer.piece_scores(model, part)
            scored.setdefault(w, []).append((whole, sent, owner, model.thresholds_, truth_mask))
        model.blend_ = 0.0
    return {w: v for w, v in scored.items() if len(v) == len(parts)}


@dataclass(frozen=True)
class _Stacked:
    """The parts of one blend weight as single matrices (:class:`_Search`).

    Attributes:
        whole: Whole-text scores of every part's units, part after part.
        whole_thr: Each of those rows' thresholds (its part's).
        sent: Sentence scores of every part.
        sent_thr: Each sentence row's thresholds.
        owner: Row in ``whole`` of each sentence's unit.
        truth: The codes of the ``whole`` rows.
        positives: ``truth`` summed per theme.
    """

    whole: np.ndarray
    whole_thr: np.ndarray
    sent: np.ndarray
    sent_thr: np.ndarray
    owner: np.ndarray
    truth: np.ndarray
    positives: np.ndarray


def _stack(parts: list) -> _Stacked:
    """Stack the ``(whole, sent, owner, thresholds, truth)`` parts of :func:`_score_parts` (:class:`_Stacked`).

    Thresholds must be float64 (a theme model's always are): the rule multiplies them by the factors in
    float64 as each part's own thresholds would be.
    """
    n_themes = parts[0][0].shape[1] if parts else 0
    if any(np.asarray(p[3]).dtype != np.float64 for p in parts):
        raise ValueError("calibration parts need float64 thresholds")

    def rows(of: list[np.ndarray], dtype) -> np.ndarray:
        return np.concatenate(of) if of else np.zeros((0, n_themes), dtype)

    offsets = np.cumsum([0] + [len(p[0]) for p in parts])
    truth = rows([np.asarray(p[4], dtype=bool) for p in parts], bool)
    return _Stacked(
        whole=rows([p[0] for p in parts], np.float32),
        whole_thr=rows([np.broadcast_to(p[3], p[0].shape) for p in parts], np.float64),
        sent=rows([p[1] for p in parts], np.float32),
        sent_thr=rows([np.broadcast_to(p[3], p[1].shape) for p in parts], np.float64),
        owner=np.concatenate([np.zeros(0, np.intp)] + [np.asarray(p[2], dtype=np.intp) + off
                                                       for p, off in zip(parts, offsets, strict=False)]),
        truth=truth, positives=truth.sum(0))


class _Search:
    """Micro F1 of a selection rule over the cross-fitted scores of every part.

    The parts of a blend weight are stacked into one matrix (each row keeps its own part's thresholds, and a
    sentence row points at its unit's row), so a rule is picked with one :func:`select_mask` call per piece kind
    rather than one per part: the rows are picked independently, by the same operations on the same numbers,
    and the true / false positives are integer sums, the same whatever the grouping.
    """

    def __init__(self, scored: dict[float, list], max_themes: int):
        self.scored, self.max_themes = scored, max_themes
        self._stacked = {w: _stack(parts) for w, parts in scored.items()}
        self._whole: dict[tuple, np.ndarray] = {}
        self._sent: dict[tuple, np.ndarray] = {}

    def counts(self, tf, sf: float, rs: float, w: float, mt: int) -> np.ndarray:
        """``(tp, fp, fn)`` per theme (``tf``: a factor, or one factor per theme)."""
        st = self._stacked[w]
        got = self._got(st, tf, np.asarray(tf, dtype=float).tobytes(), sf, rs, w, mt)
        tp = np.count_nonzero(got & st.truth, axis=0)
        return np.vstack([tp, np.count_nonzero(got, axis=0) - tp, st.positives - tp])

    def _got(self, st: _Stacked, tf, tf_key: bytes, sf: float, rs: float, w: float, mt: int) -> np.ndarray:
        """:func:`pick_mask` of every part at once, its whole-text and sentence masks memoised (the grid repeats them).

        The whole-text mask does not depend on the sentence factor, the sentence mask not on the most themes
        per piece nor (one theme per sentence, ``relative_score`` <= 1) on the relative score.
        """
        key = (w, tf_key, rs, mt)
        mask = self._whole.get(key)
        if mask is None:
            mask = self._whole[key] = select_mask(st.whole, st.whole_thr * tf, max_themes=mt, relative_score=rs)
        if not len(st.sent):
            return mask
        skey = (w, tf_key, sf, rs if rs > 1 else 1.0)
        s = self._sent.get(skey)
        if s is None:
            s = np.zeros_like(mask)
            r, c = np.nonzero(select_mask(st.sent, st.sent_thr * tf * sf, max_themes=1, relative_score=rs))
            s[st.owner[r], c] = True
            self._sent[skey] = s
        return mask | s

    def f1_bias(self, tf, sf: float, rs: float, w: float, mt: int) -> tuple[float, float]:
        """Micro F1 and the count bias ``|fp - fn| / (tp + fn)``."""
        tp, fp, fn = self.counts(tf, sf, rs, w, mt).sum(axis=1)
        return 2 * tp / max(2 * tp + fp + fn, 1), abs(fp - fn) / max(tp + fn, 1)

    def f1(self, tf, sf: float, rs: float, w: float, mt: int) -> float:
        """Micro F1 only."""
        return self.f1_bias(tf, sf, rs, w, mt)[0]

    def theme_factors(self, cal: Calibration) -> Calibration:
        """Give each theme with ``PER_THEME_MIN`` coded answers the factor that most raises the micro F1."""
        truth = np.vstack([t for *_, t in self.scored[cal.blend]])
        n_pos = truth.sum(axis=0)
        own = np.ones(truth.shape[1])
        args = (cal.sentence_factor, cal.relative_score, cal.blend, cal.max_themes)
        f1 = cal.f1
        for j in np.flatnonzero(n_pos >= PER_THEME_MIN):
            for g in THEME_GRID:
                trial = own.copy()
                trial[j] = g
                got = self.f1(cal.threshold_factor * trial, *args)
                if got >= f1 + THEME_MIN_GAIN:
                    f1, own = got, trial
        if (own == 1).all():
            return cal
        return replace(cal, theme_factors=tuple(float(x) for x in own), f1=f1)


def _platt(parts: list, scored: list) -> tuple[float, float] | None:
    """Platt curve of the learnt probabilities on the cross-fitted unit scores (``None``: no linear part)."""
    if not parts or any(m.linear_ is None for _, m, _, _ in parts):
        return None
    best = []
    for whole, sent, owner, _, truth in scored:
        unit = whole.copy()
        for j in range(unit.shape[1] if len(sent) else 0):
            np.maximum.at(unit[:, j], owner, sent[:, j])
        best.append((unit, truth))
    return fit_platt(np.vstack([u for u, _ in best]), np.vstack([t for _, t in best]))


def share_threshold(cals: list[Calibration]) -> list[Calibration]:
    """One threshold factor for the one-theme rules of several groups of questions, chosen on all their codes.

    Each group's factor is otherwise chosen on its own coded answers (a few dozen per question when an analyst
    codes a handful per theme), a noisy choice on a coarse grid (``THRESHOLD_GRID``). The learnt linear models
    give class-balanced probabilities on one scale whatever the question, so where at least
    ``SHARE_MIN_GROUPS`` groups learnt the one-theme rule with a linear part (those with ``crossfit``), one
    cut is chosen from the finer ``SHARED_GRID`` on the micro F1 of all their cross-fitted scores pooled (ties:
    the smaller count bias, then the cut nearer 0.5) and replaces each group's factor (and own theme factors).
    ArgKP (5 / 20 codes per key point; 8 dev and 48 train questions): micro-F1 dev 0.628 -> 0.628 /
    0.715 -> 0.722, train 0.602 -> 0.620 / 0.671 -> 0.711 (``docs/themes.md``).

    Args:
        cals: One calibration per group of questions.

    Returns:
        The calibrations, in order, those sharing the cut replaced.
    """
    idx = [i for i, c in enumerate(cals) if c.crossfit]
    if len(idx) < SHARE_MIN_GROUPS:
        return cals
    parts = [p for i in idx for p in cals[i].crossfit]

    def counts(tf: float, sub: list) -> np.ndarray:
        out = np.zeros(3)
        for whole, thr, truth in sub:
            got = pick_mask(whole, np.zeros((0, whole.shape[1]), np.float32), np.zeros(0, dtype=int), thr * tf,
                            max_themes=1, relative_score=1.0, sentence_factor=SENTENCE_OFF)
            out += [(got & truth).sum(), (got & ~truth).sum(), (~got & truth).sum()]
        return out

    def f1(c: np.ndarray) -> float:
        return 2 * c[0] / max(2 * c[0] + c[1] + c[2], 1)

    def key(tf: float) -> tuple:
        tp, fp, fn = counts(tf, parts)
        return (-round(f1((tp, fp, fn)), 4), round(abs(fp - fn) / max(tp + fn, 1), 4), abs(np.log(tf)))

    tf = min(SHARED_GRID, key=key)
    pooled = f1(counts(tf, parts))
    logger.info("one-theme threshold x%g shared by %d groups of questions (pooled cross-fitted F1 %.3f)",
                tf, len(idx), pooled)
    out = list(cals)
    for i in idx:
        out[i] = replace(cals[i], threshold_factor=tf, theme_factors=None, f1=f1(counts(tf, list(cals[i].crossfit))),
                         shared=len(idx), shared_f1=pooled)
    return out
