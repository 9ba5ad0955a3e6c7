"""Fit the theme models of a consultation's questions against a frozen codebook.

One question's answers are split into text units and embedded (:func:`prepare_question`); the
questions are then fitted together (:func:`fit_questions`):

* questions whose codebook themes are *identical* (same ids, labels, descriptions and seed phrases,
  e.g. one theme list shared through a YAML anchor) form a group when ``pool_questions`` is on: they
  share the analyst's codes. The sentence classifier (:mod:`analysis.themes.supervised`) is trained on
  the coded answers of every question of the group, and the thresholds are calibrated on all of them
  at once (:mod:`analysis.themes.calibrate`), so a question with few or no coded answers (e.g. emailed
  letters) is thresholded on the group's codes rather than on defaults. Cross-fitting folds are by
  respondent, so no respondent's answer grades a model that learnt from any of their answers;
* otherwise every question is its own group (its own codes only).

Few-shot prototypes always use the question's own coded answers.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from analysis.themes.assign import UnitScorer, build_theme_model, prototype_texts, sentences
from analysis.themes.calibrate import Calibration, calibrate, calibrate_pooled, coded_sets
from analysis.themes.codebook import Codebook, ResolvedQuestion
from analysis.themes.supervised import PieceClassifier, bag_witness, training_pieces

logger = logging.getLogger(__name__)

EN_LIKE = {"en", "und", ""}
#: Words that carry no theme on their own: an answer made only of these (and English stop words) -
#: "N/A", "Nope", "Of course", "Nothing further." - goes to ``other`` without being scored, so a
#: near-empty text cannot land near some theme by accident of its few character n-grams.
NON_ANSWER_WORDS = frozenset({
    "yes", "yeah", "yep", "no", "nope", "nah", "na", "nil", "none", "nothing", "agree", "agreed", "disagree",
    "neutral", "unsure", "sure", "maybe", "ok", "okay", "meh", "thanks", "thank", "comment", "comments",
    "course", "add", "idk", "dunno", "support", "oppose", "definitely", "absolutely", "indeed", "fine",
    "good", "bad", "great", "depends", "way", "all", "that's", "see", "above", "below", "same",
})
_WORD = re.compile(r"[^\W\d_][\w'’-]*")


def has_content(text: str) -> bool:
    """Whether a text has a word outside English stop words and :data:`NON_ANSWER_WORDS`."""
    return any(len(w) > 1 and w not in ENGLISH_STOP_WORDS and w not in NON_ANSWER_WORDS
               for w in (m.group(0).lower().strip("'’-") for m in _WORD.finditer(str(text))))


@dataclass
class Prepared:
    """One question's text units and their embeddings.

    Attributes:
        question_id: The question.
        resolved: Its codebook themes after the operations log (``None``: discovery).
        covered: Languages themed (others go to ``_untranslated``).
        units: ``unit, text`` (a unit is an answer's own text or a campaign template).
        owners: ``unit, response_id``.
        untranslated: Response ids in a language without seed phrases.
        blank: Response ids with no text, or only non-answer words (:func:`has_content`).
        emb: Whole-text embeddings, in ``units`` order.
        unit_emb: Unit -> whole-text embedding.
        sent_mat: Unit -> sentence embeddings.
        scorer: Scores the units against a theme model.
    """

    question_id: str
    resolved: ResolvedQuestion | None
    covered: set[str]
    units: pd.DataFrame
    owners: pd.DataFrame
    untranslated: list[str]
    blank: list[str]
    emb: np.ndarray
    unit_emb: dict[str, np.ndarray]
    sent_mat: dict[str, np.ndarray]
    scorer: UnitScorer


@dataclass
class Fitted:
    """A question's fitted theme model, its calibration and the codes behind them."""

    model: object
    calibration: Calibration
    n_pooled: int = 0
    pooled_with: tuple[str, ...] = ()


def _units(q: pd.DataFrame, campaigns: pd.DataFrame | None, covered: set[str]):
    """Split one question's answers into text units (campaign copies share their template's unit)."""
    templates = {}
    if campaigns is not None and len(campaigns):
        templates = dict(zip(campaigns["campaign_id"].astype(str), campaigns["template"].astype(str), strict=True))
    units, owners, untranslated, blank = {}, [], [], []
    for r in q.itertuples(index=False):
        rid = str(r.response_id)
        if str(r.language or "") not in covered:
            untranslated.append(rid)
            continue
        is_copy = bool(r.is_campaign_copy) and isinstance(r.campaign_id, str) and r.campaign_id
        if is_copy:
            key = f"campaign:{r.campaign_id}"
            if key not in units:
                units[key] = templates.get(r.campaign_id) or str(r.text_redacted)
            owners.append((key, rid))
            extra = r.personal_addition if isinstance(r.personal_addition, str) else ""
            if has_content(extra):
                units[f"own:{rid}"] = extra
                owners.append((f"own:{rid}", rid))
        elif has_content(r.text_redacted):
            units[f"own:{rid}"] = str(r.text_redacted)
            owners.append((f"own:{rid}", rid))
        else:
            blank.append(rid)
    udf = pd.DataFrame({"unit": list(units), "text": list(units.values())}, dtype=object)
    return udf, pd.DataFrame(owners, columns=["unit", "response_id"]), untranslated, blank


def prepare_question(q: pd.DataFrame, *, question_id: str, embed_units, resolved: ResolvedQuestion | None,
                     campaigns: pd.DataFrame | None = None, keep_sentence=None) -> Prepared:
    """Split a question's answers into units and embed them and their sentences.

    Args:
        q: ``core_answers_clean`` rows of this question.
        question_id: The question.
        embed_units: ``(texts, key) -> embeddings`` (cached encode).
        resolved: The question's resolved codebook themes, or ``None``.
        campaigns: ``core_campaigns`` rows (templates).
        keep_sentence: ``embeddings -> bool mask`` of the sentences to theme on their own
            (:func:`procedural_filter`), or ``None`` to keep all.
    """
    covered = EN_LIKE | (resolved.languages() if resolved else set())
    units, owners, untranslated, blank = _units(q, campaigns, covered)
    emb = embed_units(units["text"].tolist(), question_id) if len(units) else np.zeros((0, 1), np.float32)
    unit_emb = dict(zip(units["unit"], emb, strict=True))
    sent_of = [(u, x) for u, t in zip(units["unit"], units["text"], strict=True) for x in sentences(t)]
    sent_vec = embed_units([x for _, x in sent_of], f"{question_id}.sentences") if sent_of else []
    keep = keep_sentence(np.asarray(sent_vec)) if keep_sentence is not None and len(sent_of) else None
    if keep is not None and not keep.all():
        logger.info("question %s: %d of %d sentences are procedural (closest to an ignore phrase): not themed "
                    "on their own", question_id, int((~keep).sum()), len(keep))
    sent_emb: dict[str, list] = {}
    for i, ((u, _), v) in enumerate(zip(sent_of, sent_vec, strict=True)):
        if keep is None or keep[i]:
            sent_emb.setdefault(u, []).append(v)
    sent_mat = {u: np.vstack(v) for u, v in sent_emb.items()}
    return Prepared(question_id, resolved, covered, units, owners, untranslated, blank, emb, unit_emb, sent_mat,
                    UnitScorer(unit_emb, sent_mat))


def procedural_filter(codebook: Codebook, question_id: str, encode, min_score: float):
    """``sentence embeddings -> keep mask``: drop sentences closer to an ignore phrase than to any theme.

    A sentence is set aside when its cosine to the nearest of ``codebook.ignore_phrases`` reaches
    twice ``min_score`` and is higher than its cosine to every text defining a theme (label and
    description, each seed phrase): the same nearest-text comparison on both sides. Returns ``None``
    when the codebook has no ignore phrases or no themes for the question.
    """
    if not codebook.ignore_phrases or codebook.resolved(question_id) is None:
        return None
    themes = codebook.questions[question_id].themes
    if not themes:
        return None
    phrases = encode(list(codebook.ignore_phrases))
    defining = encode([t for th in themes for t in prototype_texts(th)])

    def keep(emb: np.ndarray) -> np.ndarray:
        ign = (emb @ phrases.T).max(axis=1)
        return ~((ign >= 2 * min_score) & (ign > (emb @ defining.T).max(axis=1)))
    return keep


def coded_examples(tags: pd.DataFrame | None, qid: str, themes: list, unit_emb: dict[str, np.ndarray],
                   sent_emb: dict[str, np.ndarray] | None = None, base=None,
                   exclude: set[str] | frozenset[str] = frozenset()) -> dict[str, np.ndarray]:
    """Analyst tags of this question matched to base theme ids or labels -> embeddings of their answers.

    With ``sent_emb`` and the codebook-only model ``base``, the example is the part of the answer (whole
    text or one sentence) closest to the theme's definition, so a long answer raising several themes
    gives each of them only the span that raised it. Units in ``exclude`` are left out (cross-fitting).
    """
    if tags is None or tags.empty:
        return {}
    t = tags[tags["question_id"].astype(str) == qid]
    by_key = {th.id.lower(): th.id for th in themes} | {th.label.lower(): th.id for th in themes}
    out: dict[str, list] = {}
    unmatched = 0
    for r in t.itertuples(index=False):
        tid = by_key.get(str(r.tag).strip().lower())
        unit = f"own:{r.response_id}"
        if unit in exclude:
            continue
        vec = unit_emb.get(unit)
        if tid is None or vec is None:
            unmatched += 1
            continue
        sents = (sent_emb or {}).get(unit)
        if base is not None and sents is not None and len(sents):
            pieces = np.vstack([vec[None, :], sents])
            vec = pieces[int(np.argmax(pieces @ base.prototypes_[base.theme_ids.index(tid)]))]
        out.setdefault(tid, []).append(vec)
    if unmatched:
        logger.info("question %s: %d analyst tags name no codebook theme (or no own text); not used", qid, unmatched)
    return {k: np.vstack(v) for k, v in out.items()}


def known_codes(respondent_tags: dict[str, set[str]] | None, themes: list, units, coded: dict[str, set[str]],
                ) -> dict[str, set[str] | None]:
    """Unit -> base theme ids its respondent was coded with anywhere (``None``: question-level codes only).

    A respondent with a tag naming no codebook theme gets no negatives (the unknown tag could hide
    one), unless the unit itself is coded.
    """
    by_key = {th.id.lower(): th.id for th in themes} | {th.label.lower(): th.id for th in themes}
    out: dict[str, set[str] | None] = {u: None for u in coded}
    for u in units:
        rid = u[4:] if u.startswith("own:") else None
        tags = (respondent_tags or {}).get(rid) if rid else None
        if tags:
            ids = {by_key[t.strip().lower()] for t in tags if t.strip().lower() in by_key}
            if len(ids) == len(tags) or u in coded:
                out[u] = ids | coded.get(u, set())
    return out


def _signature(codebook: Codebook, qid: str, covered: set[str]) -> tuple:
    return tuple((t.id, tuple(prototype_texts(t, covered)), t.parent) for t in codebook.questions[qid].themes)


def fit_questions(prepared: list[Prepared], codebook: Codebook, *, backend, settings, seed: int, min_score: float,
                  tags: pd.DataFrame | None = None, respondent_tags: dict[str, set[str]] | None = None,
                  max_themes: int, relative_score: float) -> dict[str, Fitted]:
    """Fit (and calibrate) the theme model of every prepared question that has codebook themes.

    Returns:
        Question id -> :class:`Fitted`.
    """
    groups: dict[tuple, list[Prepared]] = {}
    for p in prepared:
        if p.resolved is None:
            continue
        key = _signature(codebook, p.question_id, p.covered) if settings.pool_questions else (p.question_id,)
        groups.setdefault(key, []).append(p)
    out: dict[str, Fitted] = {}
    for members in groups.values():
        out |= _fit_group(members, codebook, backend=backend, settings=settings, seed=seed, min_score=min_score,
                          tags=tags, respondent_tags=respondent_tags, max_themes=max_themes,
                          relative_score=relative_score)
    return out


def _fit_group(members: list[Prepared], codebook: Codebook, *, backend, settings, seed, min_score, tags,
               respondent_tags, max_themes, relative_score) -> dict[str, Fitted]:
    base = {p.question_id: codebook.questions[p.question_id].themes for p in members}
    definition = {p.question_id: build_theme_model(base[p.question_id], backend.encode, min_score=min_score,
                                                   supervised="off", languages=p.covered) for p in members}
    coded = {p.question_id: coded_sets(tags, p.question_id, base[p.question_id], set(p.units["unit"]))
             for p in members}
    known = {p.question_id: known_codes(respondent_tags, base[p.question_id], p.units["unit"], coded[p.question_id])
             for p in members}
    use_clf = settings.classifier == "auto" and settings.calibrate == "auto" and any(coded.values())
    classifiers: dict[frozenset, PieceClassifier] = {}

    def classifier(excluded: frozenset) -> PieceClassifier:
        if excluded not in classifiers:
            n = len(definition[members[0].question_id].theme_ids)
            # which sentence raised a coded theme: the one an answer-level model (whole answers of
            # respondents coded with the theme against those never coded with it) rates highest
            bags = [training_pieces(coded[p.question_id], known[p.question_id], definition[p.question_id].theme_ids,
                                    p.unit_emb, {}, definition[p.question_id].prototypes_, exclude=excluded)
                    for p in members]
            bags = [(a, b) for a, b in bags if len(a)]
            bag = PieceClassifier(n, min_positive=settings.min_coded_per_theme, seed=seed)
            if bags:
                bag.fit(np.vstack([a for a, _ in bags]), np.vstack([b for _, b in bags]))
            witness = bag_witness(bag)
            parts = [training_pieces(coded[p.question_id], known[p.question_id], definition[p.question_id].theme_ids,
                                     p.unit_emb, p.sent_mat, definition[p.question_id].prototypes_, exclude=excluded,
                                     witness=witness)
                     for p in members]
            parts = [(a, b) for a, b in parts if len(a)]
            x = np.vstack([a for a, _ in parts]) if parts else np.zeros((0, 1), np.float32)
            y = np.vstack([b for _, b in parts]) if parts else np.zeros((0, n), np.int8)
            clf = PieceClassifier(n, min_positive=settings.min_coded_per_theme, seed=seed).fit(x, y)
            classifiers[excluded] = clf
        return classifiers[excluded]

    def builder(p: Prepared):
        qid = p.question_id

        def build(excluded: set[str] | frozenset[str] = frozenset()):
            ex = coded_examples(tags, qid, base[qid], p.unit_emb, p.sent_mat, definition[qid], exclude=excluded)
            m = build_theme_model(base[qid], backend.encode, coded=ex, min_score=min_score,
                                  supervised=settings.supervised, min_coded_per_theme=settings.min_coded_per_theme,
                                  seed=seed, languages=p.covered)
            if use_clf:
                m.piece_classifier_ = classifier(frozenset(excluded))
            return m
        return build

    default = Calibration(1.0, settings.sentence_factor)
    cals: dict[str, Calibration] = {}
    if settings.calibrate == "auto":
        if len(members) > 1:
            shared = calibrate_pooled([(p.scorer, builder(p), coded[p.question_id]) for p in members], default=default,
                               min_coded=settings.calibrate_min_coded, max_themes=max_themes,
                               relative_score=relative_score)
            cals = {p.question_id: shared for p in members}
        else:
            p = members[0]
            cals[p.question_id] = calibrate(p.scorer, builder(p), coded[p.question_id], default=default,
                                            min_coded=settings.calibrate_min_coded, max_themes=max_themes,
                                            relative_score=relative_score)
    names = tuple(p.question_id for p in members) if len(members) > 1 else ()
    out = {}
    for p in members:
        cal = cals.get(p.question_id, default)
        model = builder(p)()
        model.blend_ = cal.blend
        if model.piece_classifier_ is not None:
            model.piece_classifier_ = model.piece_classifier_.restricted(cal.classified)
        if cal.blend > 0:
            model.method_ = f"{model.method_}+sentence-classifier"
        out[p.question_id] = Fitted(model, cal, sum(len(c) for c in coded.values()), names)
    return out
