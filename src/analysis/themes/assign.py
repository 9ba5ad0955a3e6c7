"""Multi-label assignment of answers to a frozen codebook.

Each theme has a *prototype*: the normalised mean of the embeddings of ``label. description``, of
each seed phrase (and translated seed phrase) and - few-shot - the mean embedding of answers an
analyst coded with that theme (``core_analyst_tags``). An answer's score for a theme is the cosine
similarity to the prototype. When a theme has at least ``min_coded_per_theme`` coded answers and
``supervised: auto``, a one-vs-rest logistic regression on ``[embedding, prototype similarities]``
replaces the cosine for that theme (score = probability, threshold 0.5).

Selection: a theme is kept when its score reaches its threshold; an answer keeps its best theme
and up to ``max_themes_per_answer - 1`` others whose threshold-relative score is at least
``relative_score`` of the best one. Answers with no theme go to ``other``.

Assignment runs against the codebook's *base* themes; the operations log is then applied to the
result (:func:`apply_operations`), so a merge gives exactly the union of its members' answers, a
rename changes only the id / label, a delete sends exactly that theme's answers to ``other`` and a
split re-scores only the answers of the split theme against its parts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from analysis.themes import fitcache
from analysis.themes.codebook import OTHER, DeleteOp, MergeOp, RenameOp, SplitOp, ThemeDef
from analysis.themes.lexical import LexicalSpace, PieceLex, hybrid
from analysis.themes.linear import PriorLinear
from analysis.themes.supervised import PROBA_THRESHOLD, PieceClassifier, blend, positive_proba

logger = logging.getLogger(__name__)

#: Cosine threshold per backend when ``min_score: auto`` (chosen on ArgKP *train*, see docs/themes.md).
DEFAULT_MIN_SCORE = {"tfidf": 0.1, "sentence-transformers": 0.5}

Embed = Callable[[list[str]], np.ndarray]
_SENT = re.compile(r"(?<=[.!?])\s+|\n+")
#: A line break inside a sentence (a hard-wrapped letter or PDF): the line does not end in punctuation
#: and no blank line follows.
_WRAP = re.compile(r"(?<![.!?;:,\n])[ \t]*\n(?![ \t]*\n)[ \t]*")


def sentences(text: str, min_words: int = 3) -> list[str]:
    """Split an answer into sentences of at least ``min_words`` words (none when it has only one).

    Sentences end at ``. ! ?`` or at a line break after punctuation or before a blank line (not at ``;``,
    which joins clauses of one point: "X is the job of governments; too many voices slow it down"); other
    line breaks are hard wraps (letters, PDFs) and are joined, so a wrapped sentence stays whole.
    """
    parts = [p.strip() for p in _SENT.split(_WRAP.sub(" ", str(text))) if len(p.split()) >= min_words]
    return parts if len(parts) > 1 else []


class UnitScorer:
    """Scores text units against a theme model: the maximum over the whole text and its sentences.

    Long answers and letters raise several themes in different sentences; scoring each sentence
    keeps one theme's sentence from being diluted by the rest of the letter.

    Args:
        unit_emb: Unit key -> embedding of the whole text.
        sent_emb: Unit key -> embeddings of its sentences (absent or empty: whole text only).
        lex: Lexical rows of the same units and sentences (:class:`~analysis.themes.lexical.PieceLex`),
            or ``None`` (dense scores only).
    """

    def __init__(self, unit_emb: dict[str, np.ndarray], sent_emb: dict[str, np.ndarray] | None = None,
                 lex: PieceLex | None = None):
        self.unit_emb, self.sent_emb, self.lex = unit_emb, sent_emb or {}, lex

    def __call__(self, model: ThemeModel, units: list[str]) -> np.ndarray:
        """Score matrix (units x themes): the best of each unit's whole text and sentences."""
        whole, sent, owner = self.piece_scores(model, units)
        for j in range(whole.shape[1] if len(sent) else 0):
            np.maximum.at(whole[:, j], owner, sent[:, j])
        return whole

    def piece_scores(self, model: ThemeModel, units: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scores of the whole texts and of their sentences.

        Returns:
            ``(whole, sent, owner)``: units x themes, sentences x themes, and the unit index of
            each sentence row.
        """
        t = len(model.theme_ids)
        if not units:
            return np.zeros((0, t), np.float32), np.zeros((0, t), np.float32), np.zeros(0, dtype=int)
        lex = self.lex
        whole = model.scores(np.vstack([self.unit_emb[u] for u in units]), lex.whole(units) if lex else None)
        rows = [(i, e) for i, u in enumerate(units) for e in self.sent_emb.get(u, [])]
        if not rows:
            return whole, np.zeros((0, t), np.float32), np.zeros(0, dtype=int)
        sent = model.scores(np.vstack([e for _, e in rows]), lex.sentences(units) if lex else None)
        return whole, sent, np.array([i for i, _ in rows])

    def pick(self, model: ThemeModel, units: list[str], *, max_themes: int, relative_score: float,
             sentence_factor: float = 2.0, threshold_factor: float | np.ndarray = 1.0,
             ) -> tuple[np.ndarray, list[list[tuple[int, float]]]]:
        """Select themes per unit from its whole text and its sentences (see :func:`pick_from_scores`).

        Returns:
            ``(scores, picks)``: the max-over-pieces score matrix (units x themes) and per unit a
            list of ``(theme index, score)``, best first (empty: ``other``).
        """
        whole, sent, owner = self.piece_scores(model, units)
        return pick_from_scores(whole, sent, owner, model.thresholds_ * threshold_factor, max_themes=max_themes,
                                relative_score=relative_score, sentence_factor=sentence_factor)


def pick_from_scores(whole: np.ndarray, sent: np.ndarray, owner: np.ndarray, thresholds: np.ndarray, *,
                     max_themes: int, relative_score: float, sentence_factor: float,
                     ) -> tuple[np.ndarray, list[list[tuple[int, float]]]]:
    """Themes of each unit: those of its whole text plus the best theme of each of its sentences.

    The whole text keeps up to ``max_themes`` themes by :func:`select`. Each sentence adds its single
    best theme when that theme's score reaches ``sentence_factor`` times the threshold: a sentence
    is short, so it needs a stronger match than a whole answer does, and one sentence raises one
    point. A letter raising five themes in five paragraphs so keeps all five instead of losing the
    weaker ones to its strongest paragraph. A unit's score for a theme is its best over the pieces.

    Returns:
        ``(scores, picks)`` as :meth:`UnitScorer.pick`.
    """
    best = whole.copy()
    if len(sent):
        for j in range(best.shape[1]):
            np.maximum.at(best[:, j], owner, sent[:, j])
    mask = pick_mask(whole, sent, owner, thresholds, max_themes=max_themes, relative_score=relative_score,
                     sentence_factor=sentence_factor)
    out = []
    for i in range(len(best)):
        ids = sorted(np.flatnonzero(mask[i]).tolist(), key=lambda j: (-round(float(best[i, j]), 6), j))
        out.append([(j, float(best[i, j])) for j in ids])
    return best, out


def _norm_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return x / n


def prototype_texts(theme: ThemeDef | object, languages: set[str] | None = None) -> list[str]:
    """Texts that define a theme: ``label. description``, seed phrases, translated seed phrases."""
    head = f"{theme.label}. {getattr(theme, 'description', '') or ''}".strip().rstrip(".")
    texts = [head] + [s for s in getattr(theme, "seed_phrases", []) if s.strip()]
    for lang, phrases in sorted(getattr(theme, "translations", {}).items()):
        if languages is None or lang in languages:
            texts += [p for p in phrases if p.strip()]
    return texts


@dataclass
class ThemeModel:
    """Prototypes (and optional classifier) for a list of themes.

    Attributes:
        theme_ids: Theme ids, in order.
        prototypes_: One normalised row per theme.
        n_texts_: Defining texts per theme.
        n_coded_: Coded answers used per theme.
        thresholds_: Score threshold per theme.
        classifier_: Fitted one-vs-rest models per theme index (only themes with enough coded answers).
        method_: ``prototype`` or ``prototype+logreg``.
        piece_classifier_: Sentence-level classifier learnt from the analyst's codes
            (:mod:`analysis.themes.supervised`), or ``None``.
        blend_: Weight of ``piece_classifier_`` in the scores (0: prototypes only).
        lex_prototypes_: One normalised lexical row per theme (its defining texts), or ``None``.
        dense_weight_: Weight of the dense cosine when lexical rows are scored too
            (:func:`analysis.themes.lexical.hybrid`).
        linear_: The linear model learnt from the codes with the zero-shot score as its prior
            (:mod:`analysis.themes.linear`), or ``None``; when set, scores are its probabilities.
    """

    theme_ids: list[str]
    prototypes_: np.ndarray
    n_texts_: list[int]
    n_coded_: list[int]
    thresholds_: np.ndarray
    classifier_: dict[int, LogisticRegression] = field(default_factory=dict)
    method_: str = "prototype"
    piece_classifier_: PieceClassifier | None = None
    blend_: float = 0.0
    lex_prototypes_: np.ndarray | None = None
    dense_weight_: float = 1.0
    linear_: PriorLinear | None = None

    def prior(self, emb: np.ndarray, lex=None) -> np.ndarray:
        """Zero-shot scores (answers x themes): dense cosine, or the dense + lexical hybrid with ``lex``."""
        sims = np.asarray(emb, dtype=np.float32) @ self.prototypes_.T
        if lex is None or self.lex_prototypes_ is None:
            return sims
        return hybrid(sims, lex @ self.lex_prototypes_.T, self.dense_weight_)

    def scores(self, emb: np.ndarray, lex=None) -> np.ndarray:
        """Score matrix (answers x themes): prototype score, or a learnt probability where trained.

        Args:
            emb: Piece embeddings.
            lex: Their lexical rows (:class:`~analysis.themes.lexical.LexicalSpace`), or ``None``.
        """
        emb = np.asarray(emb, dtype=np.float32)
        if len(self.theme_ids) == 0:
            return np.zeros((len(emb), 0), dtype=np.float32)
        sims = self.prior(emb, lex)
        if self.linear_ is not None:
            return self.linear_.proba(emb, lex if self.lex_prototypes_ is not None else None, sims)
        if self.classifier_ and len(emb):
            feats = np.hstack([emb, sims])
            for j, clf in self.classifier_.items():
                sims[:, j] = positive_proba(clf, feats)
        if self.piece_classifier_ is not None and self.blend_ > 0 and len(emb):
            sims = blend(sims, self.piece_classifier_.proba(emb), self.thresholds_, self.blend_)
        return sims


def build_theme_model(
    themes: list,
    embed: Embed,
    *,
    coded: dict[str, np.ndarray] | None = None,
    min_score: float = 0.2,
    supervised: str = "auto",
    min_coded_per_theme: int = 5,
    seed: int = 0,
    languages: set[str] | None = None,
    lexical: LexicalSpace | None = None,
    dense_weight: float = 1.0,
) -> ThemeModel:
    """Build prototypes (and, when enough coded answers exist, a classifier) for ``themes``.

    Args:
        themes: Objects with ``id``, ``label``, ``description``, ``seed_phrases`` (e.g. ThemeDef).
        embed: Function texts -> normalised embeddings (same space as the answers).
        coded: Theme id -> embeddings of answers an analyst coded with it.
        min_score: Cosine threshold.
        supervised: ``auto`` or ``off``.
        min_coded_per_theme: Coded answers needed before the classifier is used for a theme.
        seed: Random state of the classifier.
        languages: Languages whose translated seed phrases are used.
        lexical: Lexical space of the answers: themes also get lexical prototypes (their defining texts)
            and scores become the dense + lexical hybrid (``None``: dense only).
        dense_weight: Weight of the dense cosine in the hybrid.
    """
    coded = coded or {}
    ids = [t.id for t in themes]
    all_texts: list[str] = []
    spans = []
    for t in themes:
        tx = prototype_texts(t, languages)
        spans.append((len(all_texts), len(all_texts) + len(tx)))
        all_texts += tx
    text_emb = embed(all_texts) if all_texts else np.zeros((0, 1), dtype=np.float32)
    protos, n_coded = [], []
    for t, (a, b) in zip(themes, spans, strict=True):
        p = _norm_rows(text_emb[a:b].mean(axis=0, keepdims=True))[0]
        c = coded.get(t.id)
        if c is not None and len(c):
            # few-shot: equal weight to the codebook definition and to the coded answers' centre
            p = _norm_rows((p + _norm_rows(c.mean(axis=0, keepdims=True))[0])[None, :])[0]
        protos.append(p)
        n_coded.append(0 if c is None else len(c))
    dim = text_emb.shape[1] if len(themes) else 1
    model = ThemeModel(ids, np.vstack(protos).astype(np.float32) if protos else np.zeros((0, dim), np.float32),
                       [b - a for a, b in spans], n_coded, np.full(len(ids), float(min_score)))
    if lexical is not None and lexical.dim:
        model.lex_prototypes_ = lexical.prototypes([all_texts[a:b] for a, b in spans])
        model.dense_weight_ = float(dense_weight)
    if supervised == "auto":
        _fit_classifier(model, coded, min_coded_per_theme, seed)
    return model


def _fit_classifier(model: ThemeModel, coded: dict[str, np.ndarray], min_coded: int, seed: int) -> None:
    eligible = [j for j, tid in enumerate(model.theme_ids) if len(coded.get(tid, [])) >= min_coded]
    if len(eligible) < 2:
        return
    xs, ys = [], []
    for j, tid in enumerate(model.theme_ids):
        for row in coded.get(tid, []):
            xs.append(row)
            ys.append(j)
    x = np.vstack(xs).astype(np.float32)
    y = np.array(ys)
    feats = np.hstack([x, x @ model.prototypes_.T])
    for j in eligible:
        target = (y == j).astype(int)
        if target.min() == target.max():
            continue
        model.classifier_[j] = fitcache.fit_logistic(feats, target, C=1.0, class_weight="balanced", max_iter=2000,
                                                     random_state=seed)
        model.thresholds_[j] = PROBA_THRESHOLD
    if model.classifier_:
        model.method_ = "prototype+logreg"


def select_mask(scores: np.ndarray, thresholds: np.ndarray, *, max_themes: int = 3,
                relative_score: float = 0.85) -> np.ndarray:
    """Boolean matrix (answers x themes) of the themes :func:`select` keeps (vectorised).

    Themes are ranked by threshold-relative score (rounded to 6 decimals, ties to the lower index);
    the best must reach its threshold, and each of the top ``max_themes`` is kept when it reaches its
    threshold and ``relative_score`` x the best. ``thresholds``: one per theme, or one row per answer (rows
    are picked independently, so stacked score matrices keep each row's own thresholds).
    """
    n, t = scores.shape
    out = np.zeros((n, t), dtype=bool)
    if n == 0 or t == 0:
        return out
    thr = np.asarray(thresholds, dtype=float)
    rel = scores / np.maximum(thr if thr.ndim == 2 else thr[None, :], 1e-6)
    rounded = np.round(rel, 6)
    if max_themes == 1 and not np.isnan(rounded).any():
        # the first of a stable descending sort is the first maximum (without NaN, which sorts last)
        order = np.argmax(rounded, axis=1)[:, None]
    else:
        order = np.argsort(-rounded, axis=1, kind="stable")[:, :max_themes]
    top = np.take_along_axis(rel, order, axis=1)
    best = top[:, :1]
    keep = (best >= 1.0) & (top >= 1.0) & (top >= relative_score * best)
    rows = np.repeat(np.arange(n)[:, None], order.shape[1], axis=1)
    out[rows[keep], order[keep]] = True
    return out


def select(scores: np.ndarray, thresholds: np.ndarray, *, max_themes: int = 3,
           relative_score: float = 0.85) -> list[list[tuple[int, float]]]:
    """Pick themes per answer from a score matrix (see :func:`select_mask`).

    Returns:
        Per answer a list of ``(theme index, score)``, best first (empty: ``other``).
    """
    mask = select_mask(scores, thresholds, max_themes=max_themes, relative_score=relative_score)
    if scores.shape[1] == 0:
        return [[] for _ in range(scores.shape[0])]
    rel = np.round(scores / np.maximum(np.asarray(thresholds, dtype=float)[None, :], 1e-6), 6)
    out = []
    for i in range(scores.shape[0]):
        js = np.flatnonzero(mask[i])
        js = sorted(js.tolist(), key=lambda j: (-rel[i, j], j))
        out.append([(j, float(scores[i, j])) for j in js])
    return out


def pick_mask(whole: np.ndarray, sent: np.ndarray, owner: np.ndarray, thresholds: np.ndarray, *,
              max_themes: int, relative_score: float, sentence_factor: float) -> np.ndarray:
    """Boolean matrix (units x themes) of the themes :func:`pick_from_scores` picks (vectorised)."""
    mask = select_mask(whole, thresholds, max_themes=max_themes, relative_score=relative_score)
    if len(sent):
        s = select_mask(sent, thresholds * sentence_factor, max_themes=1, relative_score=relative_score)
        r, c = np.nonzero(s)
        mask[owner[r], c] = True
    return mask


def apply_operations(assigned: pd.DataFrame, operations: list, question_id: str, *,
                     scorer: UnitScorer, embed: Embed, min_score: float,
                     max_themes: int, relative_score: float, sentence_factor: float = 2.0,
                     threshold_factor: float = 1.0) -> pd.DataFrame:
    """Apply the codebook operations log to base-theme assignments of one question.

    Args:
        assigned: ``unit, theme_id, score`` rows (``unit``: a key the scorer knows).
        operations: The codebook's operations (only those of ``question_id`` are applied).
        question_id: The question.
        scorer: Scores units against the split parts.
        embed: Embeds the split parts' defining texts.
        min_score: Cosine threshold for split parts.
        max_themes: Most parts an answer of a split theme can get.
        relative_score: As in :func:`select`.
        sentence_factor: As in :func:`pick_from_scores`.
        threshold_factor: Multiplies ``min_score`` (a calibrated factor, see :mod:`analysis.themes.calibrate`).

    Returns:
        The same shape with live theme ids; answers left without a theme get ``other``.
    """
    df = assigned.copy()
    for op in operations:
        if op.question != question_id:
            continue
        if isinstance(op, MergeOp):
            df.loc[df["theme_id"].isin(op.ids), "theme_id"] = op.into
        elif isinstance(op, RenameOp) and op.new_id:
            df.loc[df["theme_id"] == op.id, "theme_id"] = op.new_id
        elif isinstance(op, DeleteOp):
            hit = df["theme_id"] == op.id
            df.loc[hit, "theme_id"] = OTHER
        elif isinstance(op, SplitOp):
            hit = df["theme_id"] == op.id
            if hit.any():
                units = df.loc[hit, "unit"].tolist()
                parts = build_theme_model(op.into, embed, min_score=min_score, supervised="off")
                sc, picks = scorer.pick(parts, units, max_themes=max_themes, relative_score=relative_score,
                                        sentence_factor=sentence_factor, threshold_factor=threshold_factor)
                rows = []
                for i, (u, pick) in enumerate(zip(units, picks, strict=True)):
                    if not pick:  # no part reaches the threshold: the best part still takes it
                        j = int(np.argmax(sc[i]))
                        pick = [(j, float(sc[i, j]))]
                    rows += [{"unit": u, "theme_id": parts.theme_ids[j], "score": sc} for j, sc in pick]
                df = pd.concat([df[~hit], pd.DataFrame(rows, columns=df.columns)], ignore_index=True)
        df = df.sort_values("score", ascending=False, kind="mergesort").drop_duplicates(["unit", "theme_id"])
        # a unit that kept a real theme does not also sit in 'other'
        real = set(df.loc[df["theme_id"] != OTHER, "unit"])
        df = df[~((df["theme_id"] == OTHER) & df["unit"].isin(real))]
    return df.sort_values(["unit", "theme_id"], kind="mergesort").reset_index(drop=True)


def attribute_response_tags(tags: pd.DataFrame, answers: pd.DataFrame, codebook, embed: Embed, *,
                            min_score: float, languages: set[str] | None = None) -> pd.DataFrame:
    """Attribute whole-response analyst tags (``question_id`` empty) to the answer that raised them.

    A response-level tag says the respondent raised a theme somewhere, not in which answer. It is
    given to the respondent's answer (open question whose codebook has that theme) scoring that
    theme highest - best of the whole text and its sentences against the codebook-only prototype -
    provided that score reaches ``min_score``; otherwise the tag is not used (it may be analyst noise
    or raised in an answer that is not themed).

    Args:
        tags: ``core_analyst_tags`` rows (``response_id, question_id, tag``).
        answers: ``core_answers_clean`` rows of the themed questions (``text_redacted``).
        codebook: The frozen codebook (``resolved(qid)`` and ``questions[qid].themes``).
        embed: Texts -> normalised embeddings (the answers' space).
        min_score: Lowest cosine at which an attribution is trusted.
        languages: Languages whose translated seed phrases define the prototypes.

    Returns:
        Tag rows ``response_id, question_id, tag`` (question-level), one per attributed tag.
    """
    cols = ["response_id", "question_id", "tag"]
    if tags is None or tags.empty or codebook is None:
        return pd.DataFrame(columns=cols)
    whole = tags[tags["question_id"].fillna("").astype(str) == ""]
    texts = answers[answers["response_id"].isin(set(whole["response_id"]))]
    texts = texts[texts["text_redacted"].fillna("").astype(str).str.strip() != ""]
    if whole.empty or texts.empty:
        return pd.DataFrame(columns=cols)
    protos: dict[str, tuple[dict[str, int], np.ndarray]] = {}
    for qid in sorted(set(texts["question_id"])):
        if codebook.resolved(qid) is None:
            continue
        base = codebook.questions[qid].themes
        by_key = {t.id.lower(): t.id for t in base} | {t.label.lower(): t.id for t in base}
        m = build_theme_model(base, embed, min_score=min_score, supervised="off", languages=languages)
        protos[qid] = ({k: m.theme_ids.index(v) for k, v in by_key.items()}, m.prototypes_)
    units = [(r.response_id, r.question_id, str(r.text_redacted)) for r in texts.itertuples(index=False)
             if r.question_id in protos]
    pieces = [(i, x) for i, (_, _, t) in enumerate(units) for x in [t, *sentences(t)]]
    vecs = embed([x for _, x in pieces]) if pieces else np.zeros((0, 1), np.float32)
    by_unit: dict[int, list[np.ndarray]] = {}
    for (i, _), v in zip(pieces, vecs, strict=True):
        by_unit.setdefault(i, []).append(v)
    of_resp: dict[str, list[int]] = {}
    for i, (rid, _, _) in enumerate(units):
        of_resp.setdefault(rid, []).append(i)
    out = []
    for r in whole.itertuples(index=False):
        best, best_q = -1.0, None
        for i in of_resp.get(r.response_id, []):
            idx, pro = protos[units[i][1]]
            j = idx.get(str(r.tag).strip().lower())
            if j is None:
                continue
            s = float((np.vstack(by_unit[i]) @ pro[j]).max())
            if s > best:
                best, best_q = s, units[i][1]
        if best_q is not None and best >= min_score:
            out.append((r.response_id, best_q, r.tag))
    res = pd.DataFrame(out, columns=cols).drop_duplicates()
    logger.info("response-level analyst tags: %d of %d attributed to an answer", len(res), len(whole))
    return res
