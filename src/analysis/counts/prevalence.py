"""Prevalence of positions with honest uncertainty (raw counts and error-corrected counts).

Two families of rows are produced in ``out_counts`` format by :func:`position_counts`:

* ``position``, ``position_respondent_type``, ``theme_position``: plain distinct-unit counts of the
  final positions (:mod:`analysis.counts`), Wilson 95% intervals, small cells suppressed.
* ``*_adjusted`` (only for questions where some positions come from the text model, its
  cross-validated confusion is known, and :func:`adjustment_gate` lets it through: error rates from a
  declared random sample of at least ``min_adjust_codes`` codes): *adjusted classify-and-count*. With ``M[j, i] = P(predicted j |
  true i)`` estimated from out-of-fold predictions on the labelled answers, the text-model units'
  predicted distribution ``q`` (including ``unclear``) satisfies ``q ≈ M p``; ``p`` is solved by least
  squares constrained to the probability simplex. The adjusted count of a position is then
  ``exact units with it + T · p`` (``T`` = text-model units); text-model ``unclear`` units are
  redistributed by ``p``, exact ``unclear`` (e.g. a multi-select ticking both sides) stay. The interval
  combines the Wilson interval of the adjusted share with the spread of ``T·p/D`` over a bootstrap
  that resamples both the labelled (true, predicted) pairs (uncertainty of ``M``) and the text
  predictions (uncertainty of ``q``): the two half-widths are added in quadrature. ``n`` is the
  rounded adjusted count, ``share`` the unrounded adjusted share.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import lsq_linear

from analysis import schemas
from analysis.config import ConsultationConfig
from analysis.counts import rules as counts
from analysis.counts.cells import map_strings
from analysis.counts.coded import prepared

log = logging.getLogger(__name__)

EXACT_SOURCES = ("closed", "analyst", "votes")



def _codes(values: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """Integer code of each value in ``classes`` (-1 when absent)."""
    idx = {c: i for i, c in enumerate(classes)}
    return np.fromiter((idx.get(v, -1) for v in values), dtype=np.int64, count=len(values))


def _matrix_from_codes(t: np.ndarray, p: np.ndarray, true_classes: Sequence[str],
                       pred_classes: Sequence[str]) -> np.ndarray:
    nt, npc = len(true_classes), len(pred_classes)
    ok = (t >= 0) & (p >= 0)
    m = np.bincount(p[ok] * nt + t[ok], minlength=npc * nt).reshape(npc, nt).astype(float)
    col = m.sum(axis=0)
    p_idx = {c: j for j, c in enumerate(pred_classes)}
    for i, c in enumerate(true_classes):
        if col[i] == 0:
            if c in p_idx:
                m[p_idx[c], i] = 1.0
            col[i] = m[:, i].sum() or 1.0
    return m / col


def misclassification_matrix(
    true: Sequence[str], pred: Sequence[str], true_classes: Sequence[str], pred_classes: Sequence[str]
) -> np.ndarray:
    """``M[j, i] = P(predicted pred_classes[j] | true true_classes[i])`` from paired labels.

    A true class without examples gets an identity column (assumed predicted as itself).
    """
    true, pred = list(true), list(pred)
    if len(true) != len(pred):
        raise ValueError("true and pred must have the same length")
    return _matrix_from_codes(_codes(true, true_classes), _codes(pred, pred_classes), true_classes, pred_classes)


def adjusted_prevalence(pred_share: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Solve ``pred_share ≈ m @ p`` for ``p`` on the probability simplex (least squares).

    Args:
        pred_share: Observed share of each predicted class (sums to 1).
        m: Misclassification matrix (columns: true classes, rows: predicted classes).

    Returns:
        Estimated true-class prevalence (non-negative, sums to 1).
    """
    k = m.shape[1]
    w = 100.0  # weight of the sum-to-one row
    a = np.vstack([m, w * np.ones((1, k))])
    b = np.concatenate([np.asarray(pred_share, dtype=float), [w]])
    p = lsq_linear(a, b, bounds=(0.0, 1.0), method="bvls").x
    p = np.clip(p, 0.0, None)
    s = p.sum()
    return p / s if s > 0 else np.full(k, 1.0 / k)


def bootstrap_prevalence(
    cv_true: Sequence[str],
    cv_pred: Sequence[str],
    pred_counts: np.ndarray,
    true_classes: Sequence[str],
    pred_classes: Sequence[str],
    *,
    n_boot: int = 200,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Adjusted prevalence and its bootstrap replicates, from labelled (true, predicted) pairs.

    The pairs are tallied into their confusion table and passed to :func:`bootstrap_prevalence_table`.

    Args:
        cv_true: True labels of the labelled answers.
        cv_pred: Their out-of-fold predicted labels.
        pred_counts: Counts of each predicted class among the text-model answers.
        true_classes: Classes ``p`` is estimated over.
        pred_classes: Classes of ``pred_counts`` (may include ``unclear``).
        n_boot: Bootstrap replicates.
        seed: Random seed.

    Returns:
        ``(p_hat, replicates)`` with shapes ``(K,)`` and ``(n_boot, K)``.
    """
    cv_true = np.asarray(cv_true, dtype=object)  # not list(): iterating a pandas string array is slow
    cv_pred = np.asarray(cv_pred, dtype=object)
    t, p = _codes(cv_true, true_classes), _codes(cv_pred, pred_classes)
    nt, npc = len(true_classes), len(pred_classes)
    ok = (t >= 0) & (p >= 0)
    table = np.bincount(p[ok] * nt + t[ok], minlength=npc * nt).reshape(npc, nt)
    return bootstrap_prevalence_table(table, pred_counts, true_classes, pred_classes, n_boot=n_boot, seed=seed)


def bootstrap_prevalence_table(
    table: np.ndarray,
    pred_counts: np.ndarray,
    true_classes: Sequence[str],
    pred_classes: Sequence[str],
    *,
    n_boot: int = 200,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Adjusted prevalence and its bootstrap replicates, from the confusion count table.

    Each replicate resamples the labelled pairs (a multinomial draw over the confusion table's cells: the same
    distribution as drawing the pairs with replacement) and the text predictions (a multinomial draw of
    ``pred_counts``), then solves :func:`adjusted_prevalence` for it; all replicates are solved at once
    (:class:`_Replicates`). The labelled-pair draws come first in ``seed``'s stream and depend only on
    ``table``, so every group of a question shares them and their matrices are factorised once (cached).

    Args:
        table: Confusion counts, ``table[j, i]`` = labelled answers of true class ``i`` predicted as ``j``.
        pred_counts: Counts of each predicted class among the text-model answers.
        true_classes: Classes ``p`` is estimated over (columns of ``table``).
        pred_classes: Classes of ``pred_counts`` (rows of ``table``; may include ``unclear``).
        n_boot: Bootstrap replicates.
        seed: Random seed.

    Returns:
        ``(p_hat, replicates)`` with shapes ``(K,)`` and ``(n_boot, K)``.
    """
    table = np.ascontiguousarray(table, dtype=np.int64)
    pred_counts = np.asarray(pred_counts, dtype=float)
    total = pred_counts.sum()
    k = len(true_classes)
    if total <= 0:
        return np.zeros(k), np.zeros((n_boot, k))
    m = _column_stochastic(table[None], true_classes, pred_classes)[0]
    p_hat = adjusted_prevalence(pred_counts / total, m)
    if n_boot <= 0:
        return p_hat, np.zeros((0, k))
    reps = _replicates(table.tobytes(), table.shape, tuple(true_classes), tuple(pred_classes), n_boot, seed)
    rng = np.random.default_rng(seed)
    rng.bit_generator.state = reps.state  # the stream continues after the labelled-pair draws
    q = rng.multinomial(int(total), pred_counts / total, size=n_boot) / total
    return p_hat, reps.solve(q)


def _column_stochastic(counts: np.ndarray, true_classes: Sequence[str], pred_classes: Sequence[str]) -> np.ndarray:
    """Count tables ``(R, npc, nt)`` as misclassification matrices (as :func:`_matrix_from_codes`)."""
    m = counts.astype(float)
    col = m.sum(axis=1)
    p_idx = {c: j for j, c in enumerate(pred_classes)}
    for i, c in enumerate(true_classes):
        empty = col[:, i] == 0
        if empty.any():
            if c in p_idx:
                m[empty, p_idx[c], i] = 1.0
            col[empty, i] = np.maximum(m[empty, :, i].sum(axis=1), 1.0)
    return m / col[:, None, :]


#: Weight of the sum-to-one row of :func:`adjusted_prevalence`'s least-squares problem.
SUM_WEIGHT = 100.0
#: Slack on the bounds when a face's solution is checked for feasibility.
_FEASIBLE_TOL = 1e-9


class _Replicates:
    """The labelled-pair half of the bootstrap of one confusion table: matrices and their face factorisations.

    :func:`adjusted_prevalence` minimises ``|M p - q|^2 + w^2 (1'p - 1)^2`` over ``0 <= p <= 1``. With few
    classes every face of that box (each class at 0, at 1 or free) is enumerated: on a face the free classes
    solve their normal equations (pseudo-inverse, precomputed here for every replicate), and the optimum is the
    feasible face solution with the smallest objective (some optimum is the unique solution of its face, where
    the free columns are independent). Only ``q`` changes between the groups of a question.

    Args:
        m_reps: Misclassification matrix of each replicate ``(R, npc, K)``.
        state: The random stream's state after drawing them.
    """

    def __init__(self, m_reps: np.ndarray, state: dict):
        self.m_reps, self.state = m_reps, state
        k = m_reps.shape[2]
        faces = np.array(list(itertools.product((0, 1, 2), repeat=k)), dtype=np.int8)  # 0 low, 1 free, 2 up
        self.free, self.up = faces == 1, (faces == 2).astype(float)
        self.gram = np.einsum("rji,rjl->ril", m_reps, m_reps) + SUM_WEIGHT ** 2
        both = self.free[:, None, :, None] & self.free[:, None, None, :]
        fixed = np.eye(k)[None, None] * (~self.free)[:, None, :, None]
        self.inv = np.linalg.pinv(np.where(both, self.gram[None], 0.0) + fixed, rcond=1e-10)
        self.gu1 = np.einsum("rij,fj->fri", self.gram, self.up)

    def solve(self, q: np.ndarray) -> np.ndarray:
        """Adjusted prevalence of each replicate given its predicted shares ``q`` ``(R, npc)``."""
        c = np.einsum("rji,rj->ri", self.m_reps, q) + SUM_WEIGHT ** 2
        rhs = (c[None] - self.gu1) * self.free[:, None, :]
        x = np.einsum("frij,frj->fri", self.inv, rhs)
        x = np.where(self.free[:, None, :], x, self.up[:, None, :])
        feasible = ((x >= -_FEASIBLE_TOL) & (x <= 1 + _FEASIBLE_TOL)).all(axis=2)
        obj = np.einsum("fri,rij,frj->fr", x, self.gram, x) - 2 * np.einsum("ri,fri->fr", c, x)
        best = np.where(feasible, obj, np.inf).argmin(axis=0)
        p = np.clip(x[best, np.arange(x.shape[1])], 0.0, None)
        s = p.sum(axis=1, keepdims=True)
        return np.where(s > 0, p / np.where(s > 0, s, 1.0), 1.0 / p.shape[1])


@functools.lru_cache(maxsize=32)
def _replicates(table: bytes, shape: tuple[int, int], true_classes: tuple[str, ...], pred_classes: tuple[str, ...],
                n_boot: int, seed: int) -> _Replicates:
    """Labelled-pair replicates of a confusion table (cached: the groups of a question share them)."""
    flat = np.frombuffer(table, dtype=np.int64)
    cells = np.flatnonzero(flat)
    n_lab = int(flat.sum())
    rng = np.random.default_rng(seed)
    draws = np.zeros((n_boot, flat.size), dtype=np.int64)
    if n_lab:  # only the non-zero cells are drawn: the stream does not depend on empty rows
        draws[:, cells] = rng.multinomial(n_lab, flat[cells] / n_lab, size=n_boot)
    m_reps = _column_stochastic(draws.reshape(n_boot, *shape), true_classes, pred_classes)
    return _Replicates(m_reps, rng.bit_generator.state)


# --- when an adjusted figure may be published ----------------------------------------------------


def adjustment_gate(confusion: pd.DataFrame | None, cfg: ConsultationConfig) -> dict[str, str | None]:
    """Per question with text-model error rates: ``None`` when its adjusted counts may be published, else why not.

    The correction is only as good as its error rates. Measured on ArgKP, error rates from actively chosen
    (hard) codes made the adjusted share worse than raw counting at every k, and at k = 50 random codes
    the correction still added more noise than it removed on a balanced split (docs/positions.md). So the
    adjusted figure is published only when the codes behind the error rates were drawn at random
    (``settings.positions.codes_drawn_at_random``, declared by the analyst) and number at least
    ``settings.positions.min_adjust_codes`` for the question.
    """
    if confusion is None or confusion.empty:
        return {}
    ps = cfg.settings.positions
    sizes = confusion.groupby("question_id", sort=True)["n"].sum()
    out: dict[str, str | None] = {}
    for qid, n in sizes.items():
        if not ps.codes_drawn_at_random:
            out[str(qid)] = (f"error rates from {int(n):,} coded answers not declared a random sample, "
                             "settings.positions.codes_drawn_at_random")
        elif n < ps.min_adjust_codes:
            out[str(qid)] = (f"error rates from only {int(n):,} coded answers, fewer than "
                             f"settings.positions.min_adjust_codes = {ps.min_adjust_codes:,}")
        else:
            out[str(qid)] = None
    return out


def publishable_confusion(confusion: pd.DataFrame | None, cfg: ConsultationConfig) -> pd.DataFrame | None:
    """The rows of ``confusion`` whose question passes :func:`adjustment_gate` (``None`` when none does)."""
    gate = adjustment_gate(confusion, cfg)
    ok = [q for q, why in gate.items() if why is None]
    if confusion is None or not ok:
        return None
    return confusion[confusion["question_id"].astype(str).isin(ok)]


# --- unit assignment ------------------------------------------------------------------------------


def _units_for_positions(positions: pd.DataFrame, answers_clean: pd.DataFrame | None, mode: str,
                         membership: pd.Series | None = None) -> pd.DataFrame:
    """Counting unit of each (response, question) position row.

    Campaign membership is per respondent (``membership``; default: campaigns found in ``answers_clean``),
    so a member counts with its campaign on every question, including closed questions and positions on a
    question it never answered in text; anyone else is their own unit.
    """
    base = positions[["response_id", "question_id"]].drop_duplicates()
    if membership is None:
        membership = counts.respondent_campaigns(answers_clean)
    return counts.counting_units(base, mode, membership)


def _labelled_frames(
    answer_positions: pd.DataFrame,
    responses: pd.DataFrame | None,
    answer_themes: pd.DataFrame | None,
    cfg: ConsultationConfig,
    tables: Sequence[str] | None = None,
) -> list[tuple[str, pd.DataFrame, str | None]]:
    """(table name, labelled frame, group column) for each count family (of ``tables`` only, when given)."""
    wanted = set(tables) if tables is not None else {"position", "position_respondent_type", "theme_position"}
    pos = answer_positions[["response_id", "question_id", "position", "source", "confidence"]].copy()
    frames: list[tuple[str, pd.DataFrame, str | None]] = [("position", pos, None)] if "position" in wanted else []
    if "position_respondent_type" in wanted:
        rtype = pd.Series(dtype=str)
        if responses is not None and not responses.empty:
            rtype = responses.set_index("response_id")["respondent_type"].astype(str)
        pos_rt = pos.assign(respondent_type=map_strings(pos["response_id"], rtype).fillna("unknown").astype(str))
        frames.append(("position_respondent_type", pos_rt, "respondent_type"))
    if "theme_position" in wanted and answer_themes is not None and not answer_themes.empty:
        target = {q.id: cfg.reported_under(q.id) for q in cfg.questions}
        th = answer_themes[["response_id", "question_id", "theme_id"]].copy()
        th["question_id"] = th["question_id"].map({q: target.get(q, q) for q in th["question_id"].unique()})
        th = th.drop_duplicates()
        frames.append(("theme_position", pos.merge(th, on=["response_id", "question_id"], how="inner"), "theme_id"))
    return frames


# --- counting -------------------------------------------------------------------------------------


def position_counts(
    answer_positions: pd.DataFrame,
    answers_clean: pd.DataFrame | None,
    responses: pd.DataFrame | None,
    answer_themes: pd.DataFrame | None,
    cfg: ConsultationConfig,
    *,
    confusion: pd.DataFrame | None = None,
    n_boot: int = 200,
    membership: pd.Series | None = None,
    tables: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Position counts per question, per respondent type and per theme, in both count modes.

    In ``unique`` mode a campaign counts once on every question and holds the position most of its
    members hold (a tie: each tied position).

    Args:
        answer_positions: ``core_answer_positions``.
        answers_clean: ``core_answers_clean`` (campaign membership for the unique mode); may be ``None``.
        responses: ``core_responses`` (respondent type); may be ``None``.
        answer_themes: ``core_answer_themes`` or ``None``.
        cfg: The consultation config (seed, min_cell, question links).
        confusion: ``core_position_confusion`` (cross-validated confusion counts of the text model);
            when given, ``*_adjusted`` rows correct text-model counts for its error rates, on the
            questions that pass :func:`adjustment_gate` only.
        n_boot: Bootstrap replicates for the adjusted intervals.
        membership: Per-respondent campaign (:func:`analysis.counts.rules.respondent_campaigns`); default:
            from ``answers_clean``.
        tables: Only these families (``position``, ``position_respondent_type``, ``theme_position``);
            ``None``: all.

    Returns:
        A frame in ``out_counts`` format, sorted by its key.
    """
    min_cell = cfg.settings.min_cell
    parts = []
    frames = _labelled_frames(answer_positions, responses, answer_themes, cfg, tables)
    if membership is None:
        membership = counts.respondent_campaigns(answers_clean)
    confusion = publishable_confusion(confusion, cfg)
    coded = None
    for mode in schemas.COUNT_MODES:
        units = _units_for_positions(answer_positions, answers_clean, mode, membership)
        coded = prepared(units, like=coded)  # encoded once for the tables of this mode (keys: once for both)
        for table, lab, gcol in frames:
            if lab.empty:
                continue
            # denominator: the distinct units of the labelled (response, question[, group]) rows
            parts.append(
                counts.count_categories(
                    lab, coded, table=table, category_col="position", group_col=gcol,
                    categories=schemas.POSITIONS, mode=mode, min_cell=min_cell, label_denominators=True,
                    unit_rule="plurality",
                )
            )
            if confusion is not None and not confusion.empty:
                parts.append(_adjusted(lab, units, table, gcol, mode, confusion, cfg, n_boot))
    parts = [p for p in parts if not p.empty]
    if not parts:
        return schemas.validate(pd.DataFrame(columns=list(schemas.out_counts.columns)), "out_counts")
    out = pd.concat(parts, ignore_index=True)
    out = schemas.validate(out, "out_counts")
    return out.sort_values(["table", "question_id", "group", "category", "count_mode"], kind="mergesort").reset_index(
        drop=True
    )


def _unit_positions(lab: pd.DataFrame, units: pd.DataFrame, gcol: str | None) -> pd.DataFrame:
    """One position per (question, group, unit): exact sources first, then the most frequent label."""
    df = lab.merge(units, on=["response_id", "question_id"], how="inner")
    df["exact"] = df["source"].isin(EXACT_SOURCES)
    keys = ["question_id", gcol, "unit_id"] if gcol else ["question_id", "unit_id"]
    df["freq"] = df.groupby(keys + ["position"])["response_id"].transform("size")
    df = df.sort_values(keys + ["exact", "freq", "position"], ascending=[True] * len(keys) + [False, False, True],
                        kind="mergesort")
    return df.drop_duplicates(keys)


def _adjusted(
    lab: pd.DataFrame,
    units: pd.DataFrame,
    table: str,
    gcol: str | None,
    mode: str,
    confusion: pd.DataFrame,
    cfg: ConsultationConfig,
    n_boot: int,
) -> pd.DataFrame:
    rows = []
    up = _unit_positions(lab, units, gcol)
    if gcol is None:
        up = up.assign(__group="all")
        gcol = "__group"
    # response ids behind each (question, group, position), joined once (not filtered per cell)
    keys = ["question_id", "position"] + ([] if gcol == "__group" else [gcol])
    evidence = counts.cell_evidence(lab.assign(__rid=lab["response_id"].astype(str)), keys, "__rid")
    confusion = confusion[confusion["n"].astype(int) > 0]
    by_question = dict(tuple(confusion.groupby("question_id", sort=False)))
    for (qid, grp), sub in up.groupby(["question_id", gcol], sort=True):
        conf = by_question.get(qid, confusion.head(0))
        text = sub[sub["source"] == "text_model"]
        if conf.empty or text.empty:
            continue
        true_classes = sorted(conf["true_position"].unique())
        pred_classes = sorted(set(conf["predicted_position"]) | set(text["position"]) | set(true_classes))
        pred_counts = text["position"].value_counts().reindex(pred_classes, fill_value=0).to_numpy()
        tally = np.zeros((len(pred_classes), len(true_classes)), dtype=np.int64)
        np.add.at(tally, (_codes(conf["predicted_position"].to_numpy(object), pred_classes),
                          _codes(conf["true_position"].to_numpy(object), true_classes)), conf["n"].astype(int))
        p_hat, reps = bootstrap_prevalence_table(tally, pred_counts, true_classes, pred_classes, n_boot=n_boot,
                                                 seed=cfg.settings.seed)
        t_n = len(text)
        d = len(sub)
        exact = sub[sub["source"] != "text_model"]["position"].value_counts()
        for cat in schemas.POSITIONS:
            i = true_classes.index(cat) if cat in true_classes else None
            est = float(exact.get(cat, 0)) + (t_n * p_hat[i] if i is not None else 0.0)
            boot_sd = float(np.std(t_n * reps[:, i] / d, ddof=1)) if (i is not None and n_boot > 1) else 0.0
            share = est / d
            lo, hi = counts.wilson_interval(est, d)
            lo = max(0.0, share - float(np.hypot(share - lo, counts.Z95 * boot_sd)))
            hi = min(1.0, share + float(np.hypot(hi - share, counts.Z95 * boot_sd)))
            ev, ev_n = evidence.get((qid, cat) if gcol == "__group" else (qid, cat, grp), (None, 0))
            rows.append(dict(table=f"{table}_adjusted", question_id=qid, group=str(grp), category=cat,
                             n=int(round(est)), denominator=d, share=share, ci_low=lo, ci_high=hi,
                             suppressed=False, count_mode=mode, evidence_ids=ev, evidence_n=ev_n))
    out = pd.DataFrame(rows, columns=list(schemas.out_counts.columns))
    return counts.suppress(out, cfg.settings.min_cell) if not out.empty else out
