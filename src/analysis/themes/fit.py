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

import hashlib
import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from analysis.themes import fitcache
from analysis.themes.assign import UnitScorer, build_theme_model, prototype_texts, sentences
from analysis.themes.calibrate import Calibration, calibrate_pooled, coded_sets, fold_plan, share_threshold
from analysis.themes.codebook import Codebook, ResolvedQuestion
from analysis.themes.lexical import DENSE_WEIGHT, LexicalSpace, PieceLex
from analysis.themes.linear import PriorLinear
from analysis.themes.rows import chunks, hash_column, iter_rows, more_words_than
from analysis.themes.supervised import PROBA_THRESHOLD, PieceClassifier, bag_witness, training_pieces

logger = logging.getLogger(__name__)

EN_LIKE = {"en", "und", ""}
#: Words that carry no theme on their own: an answer made only of these (and English stop words) -
#: "N/A", "Nope", "Of course", "Nothing further.", "Did not answer" - goes to ``other`` without being
#: scored, so a near-empty text cannot land near some theme by accident of its few character n-grams.
#: Evaluations ("Very good.", "All good", "Great", "Fine") are answers and are themed.
NON_ANSWER_WORDS = frozenset({
    "yes", "yeah", "yep", "no", "nope", "nah", "na", "nil", "none", "nothing", "agree", "agreed", "disagree",
    "neutral", "unsure", "sure", "maybe", "ok", "okay", "meh", "thanks", "thank", "comment", "comments",
    "course", "add", "idk", "dunno", "support", "oppose", "definitely", "absolutely", "indeed",
    "depends", "way", "all", "that's", "see", "above", "below", "same",
    # placeholders written by survey tools or by respondents skipping a question
    "answer", "answered", "response", "responded", "applicable", "provided", "skip", "skipped", "blank",
    "given", "entered", "question", "prefer", "say", "did", "does", "wish",
})
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
#: A placeholder is repeated word for word by at least this share (and ``PLACEHOLDER_MIN_COUNT``) of the
#: respondents of at least two questions, in at most ``PLACEHOLDER_MAX_WORDS`` words (see
#: :func:`find_placeholders`).
PLACEHOLDER_MIN_SHARE = 0.01
PLACEHOLDER_MIN_COUNT = 5
PLACEHOLDER_MAX_WORDS = 6


def has_content(text: str) -> bool:
    """Whether a text has a word outside English stop words and :data:`NON_ANSWER_WORDS`."""
    return any(len(w) > 1 and w not in ENGLISH_STOP_WORDS and w not in NON_ANSWER_WORDS
               for w in (m.group(0).lower().strip("'’-") for m in _WORD.finditer(str(text))))


def normalise(text: str) -> str:
    """Lower-case words of a text joined by single spaces (punctuation dropped): the placeholder key.

    Lower-casing the joined words equals lower-casing each word: the one context-dependent mapping (final
    sigma) looks no further than the word, as a space is not case-ignorable.
    """
    return " ".join(_WORD.findall(str(text))).lower()


def _short_key(text: str) -> str | None:
    """``normalise(text)`` when it is non-empty and has fewer than ``PLACEHOLDER_MAX_WORDS`` spaces, else ``None``.

    The key joins the text's words by one space each, and lower-casing never makes or removes a space (no
    character lower-cases to one or to nothing: ``tests/test_themes_rows.py``), so a key has one space fewer
    than the text has words: a text of more than ``PLACEHOLDER_MAX_WORDS`` words (its first ones counted, not
    all) has no short key.
    """
    if more_words_than(text, PLACEHOLDER_MAX_WORDS, _WORD):
        return None
    key = normalise(text)
    return key if key != "" and key.count(" ") < PLACEHOLDER_MAX_WORDS else None


def find_placeholders(answers: pd.DataFrame) -> dict[str, int]:
    """Placeholder texts detected from the data: one short text repeated across questions.

    A survey tool's filler ("Did not answer", "No response given", "-") is the same string whatever
    the question; a short substantive answer ("Very good.") answers one question. A normalised text
    (:func:`normalise`) of at most ``PLACEHOLDER_MAX_WORDS`` words that at least ``PLACEHOLDER_MIN_SHARE``
    (and ``PLACEHOLDER_MIN_COUNT``) of the respondents of each of two or more questions gave word for word
    is a placeholder. Texts without content words (:func:`has_content`) are set apart anyway.

    Args:
        answers: ``question_id, text_redacted`` rows of the themed questions.

    Returns:
        Normalised placeholder text -> number of answers.
    """
    if answers.empty:
        return {}
    return placeholders_of(*placeholder_keys(answers))


def placeholder_keys(answers: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """What :func:`find_placeholders` counts in ``answers``: each short text's ``(q, key)`` row, and the number of
    answers of each question.

    Row by row (and a sum by question), so a table read a part at a time gives, part by part, what the whole gives:
    :func:`placeholders_of` of the parts' rows and counts is :func:`find_placeholders` of the whole.
    """
    # only short keys are counted: a text of more words is never normalised (its first words are counted)
    keys = [_short_key(t) for chunk in chunks(answers["text_redacted"].fillna("").astype(str)) for t in chunk]
    short = np.fromiter((k is not None for k in keys), dtype=bool, count=len(keys))
    df = pd.DataFrame({"q": answers["question_id"].to_numpy()[short],
                       "key": np.array([k for k in keys if k is not None], dtype=object)})
    return df, answers.groupby("question_id").size()


def placeholders_of(keys: pd.DataFrame, n_q: pd.Series) -> dict[str, int]:
    """:func:`find_placeholders` from :func:`placeholder_keys`'s rows and counts (of every themed answer)."""
    counts = keys.groupby(["q", "key"]).size().rename("n").reset_index()
    if counts.empty:
        return {}
    n_answers = counts["q"].map(n_q).astype(float)  # numbers, whatever string type the ids came in
    counts = counts[(counts["n"] >= PLACEHOLDER_MIN_COUNT) & (counts["n"] >= PLACEHOLDER_MIN_SHARE * n_answers)]
    spread = counts.groupby("key").agg(questions=("q", "nunique"), n=("n", "sum"))
    found = spread[spread["questions"] >= 2]
    return {str(k): int(n) for k, n in found["n"].items()}


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
        lex: Lexical rows of the units and their sentences (``None``: dense scores only).
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
    lex: PieceLex | None = None

    def __getstate__(self) -> dict:
        """The fields, pickled without ``unit_emb`` and ``scorer`` when ``unit_emb`` is ``emb``'s rows by unit.

        Those two are rebuilt from ``units`` and ``emb`` on unpickling (:meth:`__setstate__`). Pickle copies every
        view of ``emb`` on its own: a themes task on the dask engine was sent each question's vectors twice, and the
        worker made an array per unit of the second copy (the letters question's 768,374 units at a million
        responses: 1.9 GB pickled, where the vectors are 0.79 GB).
        """
        state = dict(self.__dict__)
        owner = self.emb if self.emb.base is None else self.emb.base  # what a row of emb is a view of
        s = self.scorer
        if (len(self.unit_emb) == len(self.emb) == len(self.units) and s.unit_emb is self.unit_emb
                and (s.sent_emb is self.sent_mat or not (s.sent_emb or self.sent_mat)) and s.lex is self.lex
                and list(self.unit_emb) == self.units["unit"].tolist()
                and all(v.base is owner for v in self.unit_emb.values())):
            state["unit_emb"] = state["scorer"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self.unit_emb is None:
            self.unit_emb = dict(zip(self.units["unit"], self.emb, strict=True))
            self.scorer = UnitScorer(self.unit_emb, self.sent_mat, self.lex)

    def units_slice(self, lo: int, hi: int) -> Prepared:
        """Units ``lo:hi`` with their vectors, sentences' vectors and lexical rows, to be scored on their own (a
        themes task of a chunk of a large question): no owners, blanks or untranslated answers."""
        units = self.units.iloc[lo:hi].reset_index(drop=True)
        keys = units["unit"].tolist()
        emb = self.emb[lo:hi]
        unit_emb = dict(zip(keys, emb, strict=True))
        sent_mat = {u: self.sent_mat[u] for u in keys if u in self.sent_mat}
        lex = None
        if self.lex is not None:
            spans = [self.lex.spans[u] for u in keys if u in self.lex.spans]  # a unit's sentences follow the last's
            s0, s1 = (spans[0][0], spans[-1][1]) if spans else (0, 0)
            lex = PieceLex(self.lex.units[lo:hi], {u: i for i, u in enumerate(keys)}, self.lex.sents[s0:s1],
                           {u: (a - s0, b - s0) for u in keys if u in self.lex.spans
                            for a, b in [self.lex.spans[u]]})
        return Prepared(self.question_id, self.resolved, self.covered, units, self.owners.iloc[:0], [], [], emb,
                        unit_emb, sent_mat, UnitScorer(unit_emb, sent_mat, lex), lex)


@dataclass
class Fitted:
    """A question's fitted theme model, its calibration and the codes behind them."""

    model: object
    calibration: Calibration
    n_pooled: int = 0
    pooled_with: tuple[str, ...] = ()
    route: str = "definition"
    routes_tried: str = ""


def _units(q: pd.DataFrame, campaigns: pd.DataFrame | None, covered: set[str],
           placeholders: frozenset[str] | set[str] = frozenset()):
    """Split one question's answers into text units (campaign copies share their template's unit).

    Answers without content or whose normalised text is a placeholder are ``blank`` (not themed).
    """
    templates = {}
    if campaigns is not None and len(campaigns):
        templates = dict(zip(campaigns["campaign_id"].astype(str), campaigns["template"].astype(str), strict=True))
    units, owners, untranslated, blank = {}, [], [], []
    seen: dict[str, bool] = {}
    content: dict[str, bool] = {}
    longest = max((k.count(" ") + 1 for k in placeholders), default=0)
    # the values itertuples gave, a chunk of rows converted at a time (no PyArrow scalar per value)
    for row in iter_rows(q, ("response_id", "language", "is_campaign_copy", "campaign_id", "personal_addition",
                             "text_redacted")):
        response_id, language, is_campaign_copy, campaign_id, personal_addition, text_redacted = row
        rid = str(response_id)
        if str(language or "") not in covered:
            untranslated.append(rid)
            continue
        is_copy = bool(is_campaign_copy) and isinstance(campaign_id, str) and campaign_id
        if is_copy:
            key = f"campaign:{campaign_id}"
            if key not in units:
                units[key] = templates.get(campaign_id) or str(text_redacted)
            owners.append((key, rid))
            extra = personal_addition if isinstance(personal_addition, str) else ""
            if extra not in content:  # additions repeat (pooled personal sentences): each text checked once
                content[extra] = has_content(extra)
            if content[extra]:
                units[f"own:{rid}"] = extra
                owners.append((f"own:{rid}", rid))
        elif _themable(text_redacted, placeholders, seen, longest):
            units[f"own:{rid}"] = str(text_redacted)
            owners.append((f"own:{rid}", rid))
        else:
            blank.append(rid)
    udf = pd.DataFrame({"unit": list(units), "text": list(units.values())}, dtype=object)
    return udf, pd.DataFrame(owners, columns=["unit", "response_id"]), untranslated, blank


def _themable(text, placeholders, seen: dict[str, bool], longest: int | None = None) -> bool:
    """Whether a text has content and is no placeholder (memoised in ``seen``: answers repeat).

    ``longest``: the most words of a placeholder (``None``: counted here). A text of more words normalises to a
    key of more words (:func:`_short_key`), so it is not normalised at all; nor is any text without placeholders.
    """
    text = str(text)
    if text not in seen:
        if longest is None:
            longest = max((k.count(" ") + 1 for k in placeholders), default=0)
        seen[text] = has_content(text) and (not placeholders or more_words_than(text, longest, _WORD)
                                            or normalise(text) not in placeholders)
    return seen[text]


def prepare_question(q: pd.DataFrame, *, question_id: str, embed_units, resolved: ResolvedQuestion | None,
                     campaigns: pd.DataFrame | None = None, keep_sentence=None, lexical: LexicalSpace | None = None,
                     placeholders: frozenset[str] = frozenset(), with_sentences: bool = True) -> Prepared:
    """Split a question's answers into units and embed them and their sentences.

    Args:
        q: ``core_answers_clean`` rows of this question.
        question_id: The question.
        embed_units: ``(texts, key) -> embeddings`` (cached encode).
        resolved: The question's resolved codebook themes, or ``None``.
        campaigns: ``core_campaigns`` rows (templates).
        keep_sentence: ``embeddings -> bool mask`` of the sentences to theme on their own
            (:func:`procedural_filter`), or ``None`` to keep all.
        lexical: Lexical space of the consultation (units and sentences also get lexical rows).
        placeholders: Normalised texts set apart as placeholders (:func:`find_placeholders`).
        with_sentences: Split and embed the units' sentences (``False``: whole texts only, as discovery
            clusters whole texts and never scores sentences).
    """
    covered = covered_languages(resolved)
    (units, owners, untranslated, blank), sent_of = _split(q, campaigns, covered, placeholders, with_sentences)
    emb = embed_units(units["text"].tolist(), question_id) if len(units) else np.zeros((0, 1), np.float32)
    unit_emb = dict(zip(units["unit"], emb, strict=True))
    sent_vec = embed_units([x for _, x in sent_of], f"{question_id}.sentences") if sent_of else []
    keep = keep_sentence(np.asarray(sent_vec)) if keep_sentence is not None and len(sent_of) else None
    if keep is not None and not keep.all():
        logger.info("question %s: %d of %d sentences are procedural (closest to an ignore phrase): not themed "
                    "on their own", question_id, int((~keep).sum()), len(keep))
    sent_emb: dict[str, list] = {}
    kept: list[int] = []
    for i, ((u, _), v) in enumerate(zip(sent_of, sent_vec, strict=True)):
        if keep is None or keep[i]:
            sent_emb.setdefault(u, []).append(v)
            kept.append(i)
    sent_mat = {u: np.vstack(v) for u, v in sent_emb.items()}
    lex = _piece_lex(lexical, units, [sent_of[i] for i in kept]) if lexical is not None else None
    return Prepared(question_id, resolved, covered, units, owners, untranslated, blank, emb, unit_emb, sent_mat,
                    UnitScorer(unit_emb, sent_mat, lex), lex)


def covered_languages(resolved: ResolvedQuestion | None) -> set[str]:
    """Languages a question's answers are themed in (the others go to ``_untranslated``)."""
    return EN_LIKE | (resolved.languages() if resolved else set())


def store_units(q: pd.DataFrame, *, resolved: ResolvedQuestion | None, campaigns: pd.DataFrame | None = None,
                placeholders: frozenset[str] = frozenset(), with_sentences: bool = True) -> None:
    """Compute the text units :func:`prepare_question` splits ``q`` into, with these arguments, into the themes
    store (:func:`analysis.themes.fitcache.stored_in`; nothing without one), where it finds them.

    Computed ahead by a forked process (:func:`analysis.themes.fitcache.fork_ahead`) while the stage fits its
    embedding backend.
    """
    if fitcache.folder() is not None:
        _split(q, campaigns, covered_languages(resolved), placeholders, with_sentences)


def _split(q: pd.DataFrame, campaigns: pd.DataFrame | None, covered: set[str], placeholders, with_sentences: bool):
    """``(_units(...), [(unit, sentence), ...])``, kept in the themes store by the hash of exactly what they read."""
    def compute():
        parts = _units(q, campaigns, covered, placeholders)
        units = parts[0]
        return parts, [(u, x) for u, t in zip(units["unit"], units["text"], strict=True)
                       for x in (sentences(t) if with_sentences else ())]
    store = fitcache.folder()
    if store is None:
        return compute()
    cols = ["response_id", "language", "is_campaign_copy", "campaign_id", "personal_addition", "text_redacted"]
    # v2: columns hashed by their Arrow buffers (:func:`~analysis.themes.rows.hash_column`), not their reprs
    h = hashlib.sha256(f"units-v2:{sorted(covered)}:{sorted(placeholders)}:{with_sentences}".encode())
    frames = [(q, cols)] + ([(campaigns, ["campaign_id", "template"])] if campaigns is not None else [])
    for frame, names in frames:
        for c in names:
            h.update(f"\x1e{c}:{frame[c].dtype}:{len(frame)}\x1e".encode())
            hash_column(h, frame[c])
    return fitcache.cached(store / "units" / f"{h.hexdigest()[:32]}.pkl", compute)


def _piece_lex(lexical: LexicalSpace, units: pd.DataFrame, sent_of: list[tuple[str, str]]) -> PieceLex:
    """Lexical rows of the units and of their kept sentences (grouped by unit, in sentence order)."""
    spans: dict[str, tuple[int, int]] = {}
    for i, (u, _) in enumerate(sent_of):
        spans[u] = (spans.get(u, (i, i))[0], i + 1)
    return PieceLex(lexical.transform(units["text"].tolist()), {u: i for i, u in enumerate(units["unit"])},
                    lexical.transform([x for _, x in sent_of]), spans)


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
                  max_themes: int, relative_score: float, lexical: LexicalSpace | None = None) -> dict[str, Fitted]:
    """Fit (and calibrate) the theme model of every prepared question that has codebook themes.

    Per group of questions the route (:data:`ROUTE_NAMES`) with the best cross-fitted micro F1 on the
    group's coded answers is kept; without codes the zero-shot definition route is used. Groups that learnt
    the one-theme rule with a linear model then share one threshold chosen on all their codes
    (:func:`analysis.themes.calibrate.share_threshold`).

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
                          relative_score=relative_score, lexical=lexical)
    groups_of = {id(f.calibration): f.calibration for f in out.values()}
    shared = dict(zip(groups_of, share_threshold(list(groups_of.values())), strict=True))
    for f in out.values():
        f.calibration = shared[id(f.calibration)]
    return out


#: Coded answers (over a group of questions) before the routes are compared by cross-fitted F1; with
#: fewer the comparison is noise (ArgKP dev, 5 codes per key point, ~30 per question: the prototypes won
#: it in 6 of 8 questions and mAP strict fell from 0.809 to 0.797, where the linear model alone reaches 0.85).
COMPARE_MIN_CODED = 200
ROUTE_NAMES = {
    "definition": "definition (zero-shot: definition + seed phrases, dense + lexical cosine)",
    "prototype": "prototype (definition averaged with the coded answers' centre)",
    "prior+linear": "prior+linear (logistic regression on the codes with the definition as prior)",
    "supervised": "supervised (one-vs-rest logistic regression on the codes)",
}


class _Group:
    """The questions of one group (identical themes), their codes and the model builders of each route."""

    def __init__(self, members: list[Prepared], codebook: Codebook, *, backend, settings, seed: int, min_score: float,
                 tags, respondent_tags, lexical: LexicalSpace | None):
        self.members, self.backend, self.settings, self.seed, self.min_score = members, backend, settings, seed, min_score
        self.tags, self.lexical = tags, lexical
        self._encoded: dict[tuple[str, ...], np.ndarray] = {}
        self.dense_weight = DENSE_WEIGHT.get(backend.name, 1.0)
        self.base = {p.question_id: codebook.questions[p.question_id].themes for p in members}
        self.definition = {p.question_id: self._model(p) for p in members}
        self.coded = {p.question_id: coded_sets(tags, p.question_id, self.base[p.question_id], set(p.units["unit"]))
                      for p in members}
        self.known = {p.question_id: known_codes(respondent_tags, self.base[p.question_id], p.units["unit"],
                                                 self.coded[p.question_id]) for p in members}
        self.n_coded = sum(len(c) for c in self.coded.values())
        self.use_clf = settings.classifier == "auto" and settings.calibrate == "auto" and any(self.coded.values())
        self._classifiers: dict[frozenset, PieceClassifier] = {}
        self._linear: dict[tuple[frozenset, bool], PriorLinear] = {}

    def _model(self, p: Prepared, coded: dict | None = None, hybrid: bool = True):
        st = self.settings
        return build_theme_model(self.base[p.question_id], self._encode, coded=coded, min_score=self.min_score,
                                 supervised=st.supervised if coded else "off",
                                 min_coded_per_theme=st.min_coded_per_theme, seed=self.seed, languages=p.covered,
                                 lexical=self.lexical if hybrid else None, dense_weight=self.dense_weight)

    def _encode(self, texts: list[str]) -> np.ndarray:
        """``backend.encode``, memoised per list of texts: every fold's model embeds the same definitions."""
        key = tuple(texts)
        if key not in self._encoded:
            self._encoded[key] = self.backend.encode(texts)
        return self._encoded[key].copy()

    def routes(self) -> list[str]:
        """Candidate routes: none without codes; with codes the linear models (and the prototypes)."""
        if not self.n_coded:
            return ["definition"]
        if self.settings.learner == "prototype":
            return ["prototype"]
        if self.settings.calibrate != "auto" or self.n_coded < COMPARE_MIN_CODED:
            return ["prior+linear"]
        return ["prior+linear", "prototype", "supervised"]

    def classifier(self, excluded: frozenset) -> PieceClassifier:
        """The sentence classifier trained without ``excluded`` units (cached)."""
        if excluded not in self._classifiers:
            defs = {p.question_id: self.definition[p.question_id] for p in self.members}
            n = len(defs[self.members[0].question_id].theme_ids)
            # which sentence raised a coded theme: the one an answer-level model (whole answers of
            # respondents coded with the theme against those never coded with it) rates highest
            bags = [training_pieces(self.coded[p.question_id], self.known[p.question_id],
                                    defs[p.question_id].theme_ids, p.unit_emb, {}, defs[p.question_id].prototypes_,
                                    exclude=excluded) for p in self.members]
            bags = [(a, b) for a, b in bags if len(a)]
            bag = PieceClassifier(n, min_positive=self.settings.min_coded_per_theme, seed=self.seed)
            if bags:
                bag.fit(np.vstack([a for a, _ in bags]), np.vstack([b for _, b in bags]))
            witness = bag_witness(bag)
            parts = [training_pieces(self.coded[p.question_id], self.known[p.question_id],
                                     defs[p.question_id].theme_ids, p.unit_emb, p.sent_mat,
                                     defs[p.question_id].prototypes_, exclude=excluded, witness=witness)
                     for p in self.members]
            parts = [(a, b) for a, b in parts if len(a)]
            x = np.vstack([a for a, _ in parts]) if parts else np.zeros((0, 1), np.float32)
            y = np.vstack([b for _, b in parts]) if parts else np.zeros((0, n), np.int8)
            self._classifiers[excluded] = PieceClassifier(n, min_positive=self.settings.min_coded_per_theme,
                                                          seed=self.seed).fit(x, y)
        return self._classifiers[excluded]

    def linear(self, excluded: frozenset, use_prior: bool) -> PriorLinear:
        """The linear model trained on every member's coded answers but ``excluded`` (cached)."""
        key = (excluded, use_prior)
        if key not in self._linear:
            rows = []
            for p in self.members:
                units = [u for u in sorted(self.coded[p.question_id]) if u not in excluded]
                if units:
                    d = self.definition[p.question_id]
                    emb = np.vstack([p.unit_emb[u] for u in units])
                    lex = p.lex.whole(units) if p.lex is not None and d.lex_prototypes_ is not None else None
                    y = np.array([[t in self.coded[p.question_id][u] for t in d.theme_ids] for u in units], dtype=int)
                    rows.append((emb, lex, d.prior(emb, lex), y))
            d = self.definition[self.members[0].question_id]
            n = len(d.theme_ids)
            lin = PriorLinear(n, use_prior=use_prior, seed=self.seed)
            defs = _definition_examples(d)
            if rows:
                lex = sp.vstack([r[1] for r in rows]).tocsr() if all(r[1] is not None for r in rows) else None
                lin.fit(np.vstack([r[0] for r in rows]), lex, np.vstack([r[2] for r in rows]),
                        np.vstack([r[3] for r in rows]), definitions=defs)
            self._linear[key] = lin
        return self._linear[key]

    def builder(self, p: Prepared, route: str):
        """``excluded units -> ThemeModel`` of ``route`` for question ``p``."""
        qid = p.question_id

        def build(excluded: set[str] | frozenset[str] = frozenset()):
            if route == "definition":
                m = self._model(p)
                m.method_ = "definition"
                return m
            if route == "prototype":
                ex = coded_examples(self.tags, qid, self.base[qid], p.unit_emb, p.sent_mat, self.definition[qid],
                                    exclude=excluded)
                m = self._model(p, coded=ex, hybrid=False)
                if self.use_clf:
                    m.piece_classifier_ = self.classifier(frozenset(excluded))
                return m
            m = self._model(p)
            m.n_coded_ = [sum(t in c for q in self.coded.values() for u, c in q.items() if u not in excluded)
                          for t in m.theme_ids]
            m.linear_ = self.linear(frozenset(excluded), use_prior=route == "prior+linear")
            m.thresholds_ = np.full(len(m.theme_ids), PROBA_THRESHOLD, dtype=np.float64)
            m.method_ = route
            return m
        return build


def _definition_examples(d) -> tuple[np.ndarray, sp.csr_matrix | None, np.ndarray]:
    """Each theme's definition as a training example: its prototypes (dense, lexical) and their prior."""
    lex = sp.csr_matrix(d.lex_prototypes_) if d.lex_prototypes_ is not None else None
    return d.prototypes_, lex, d.prior(d.prototypes_, lex)


def _fold_models(g: _Group, routes: list[str]) -> dict[tuple[str, frozenset], dict[str, object]]:
    """Every cross-fitting model the calibration of ``routes`` builds, ``(route, units left out) -> question -> model``.

    The models of one (route, fold) are built as :func:`~analysis.themes.calibrate.calibrate_pooled` builds them
    (the group's members in order, sharing the fold's classifier); the (route, fold) pairs do not depend on each
    other, so they are built side by side in forked processes and handed back (pickles: the same models).
    """
    plan = fold_plan([g.coded[p.question_id] for p in g.members], min_coded=g.settings.calibrate_min_coded)
    tasks = [(route, excluded, scored) for route in routes for excluded, scored in plan]

    def build(task: tuple[str, set[str], list[int]]) -> dict[str, object]:
        route, excluded, scored = task
        return {g.members[i].question_id: g.builder(g.members[i], route)(excluded) for i in scored}

    return {(route, frozenset(excluded)): models
            for (route, excluded, _), models in zip(tasks, fitcache.map_forked(build, tasks), strict=True)}


def _fit_group(members: list[Prepared], codebook: Codebook, *, backend, settings, seed, min_score, tags,
               respondent_tags, max_themes, relative_score, lexical: LexicalSpace | None = None) -> dict[str, Fitted]:
    """Fit every route of a group on its codes and keep, per group, the one with the best cross-fitted F1."""
    g = _Group(members, codebook, backend=backend, settings=settings, seed=seed, min_score=min_score, tags=tags,
               respondent_tags=respondent_tags, lexical=lexical)
    default = Calibration(1.0, settings.sentence_factor)
    chosen, cal, tried = None, default, {}

    routes = g.routes()
    searched = [r for r in routes if settings.calibrate == "auto" and r != "definition"]
    built = _fold_models(g, searched)

    def calibrate_route(route: str) -> Calibration:
        def builder(p: Prepared):
            def build(excluded: set[str]):
                models = built.get((route, frozenset(excluded)), {})
                return models[p.question_id] if p.question_id in models else g.builder(p, route)(excluded)
            return build
        return calibrate_pooled([(p.scorer, builder(p), g.coded[p.question_id]) for p in members],
                                default=default, min_coded=settings.calibrate_min_coded, max_themes=max_themes,
                                relative_score=relative_score)

    # each route's scores and grid search are independent of the others': side by side too
    calibrated = dict(zip(searched, fitcache.map_forked(calibrate_route, searched), strict=True))
    for route in routes:
        c = calibrated.get(route, default)
        tried[route] = c.f1
        if chosen is None or (c.n_coded and round(c.f1, 4) > round(cal.f1, 4)):
            chosen, cal = route, c
    names = tuple(p.question_id for p in members) if len(members) > 1 else ()
    others = ", ".join(f"{r} {f:.3f}" for r, f in tried.items() if r != chosen and f == f)
    out = {}
    for p in members:
        model = g.builder(p, chosen)()
        model.blend_ = cal.blend
        if model.piece_classifier_ is not None:
            model.piece_classifier_ = model.piece_classifier_.restricted(cal.classified)
        if cal.blend > 0:
            model.method_ = f"{model.method_}+sentence-classifier"
        if model.linear_ is not None and cal.platt is not None:
            model.linear_.platt_ = cal.platt
        out[p.question_id] = Fitted(model, cal, g.n_coded, names, chosen, others)
    return out
