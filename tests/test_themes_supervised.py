"""Sentence classifier learnt from analyst codes, pooled calibration, procedural sentences, non-answers."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.embeddings import TfidfSvdBackend
from analysis.themes.assign import ThemeModel, UnitScorer, sentences
from analysis.themes.calibrate import Calibration, calibrate_pooled
from analysis.themes.codebook import PROCEDURAL_PHRASES, parse_codebook
from analysis.themes.fit import has_content, procedural_filter
from analysis.themes.supervised import PieceClassifier, blend, training_pieces


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_training_pieces_label_positives_negatives_and_leave_the_rest_out() -> None:
    definition = np.vstack([_unit([1, 0, 0]), _unit([0, 1, 0]), _unit([0, 0, 1])])  # themes a, b, c
    unit_emb = {"own:r1": _unit([1, 1, 0]), "own:r2": _unit([0, 0, 1]), "own:r3": _unit([1, 0, 1])}
    sent_emb = {"own:r1": np.vstack([_unit([1, 0.1, 0]), _unit([0.1, 1, 0.2])])}
    coded = {"own:r1": {"a"}, "own:r2": {"c"}}
    # r1 was coded a and b at response level (b attributed elsewhere); r2's codes are question-level;
    # r3 answered but its respondent's codes (a) all went to another question
    known = {"own:r1": {"a", "b"}, "own:r2": None, "own:r3": {"a"}}
    x, y = training_pieces(coded, known, ["a", "b", "c"], unit_emb, sent_emb, definition)
    assert x.shape == (5, 3) and y.shape == (5, 3)
    r1 = y[:3]  # whole, sentence 1, sentence 2
    assert r1[:, 0].tolist() == [1, 1, -1]  # a: the whole and the sentence that raised it; not the other
    assert r1[:, 1].tolist() == [-1, -1, -1]  # b: coded elsewhere, so no label here
    assert r1[:, 2].tolist() == [0, 0, 0]  # c: never coded for this respondent
    assert y[3].tolist() == [0, 0, 1]  # r2 question-level: complete
    assert y[4].tolist() == [-1, 0, 0]  # r3: a could be here, b and c are not
    x2, y2 = training_pieces(coded, known, ["a", "b", "c"], unit_emb, sent_emb, definition,
                             exclude={"own:r1"})
    assert len(x2) == 2 and y2[0].tolist() == [0, 0, 1]


def test_piece_classifier_only_where_there_are_enough_examples() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype(np.float32)
    y = np.full((40, 2), -1, np.int8)
    y[:, 0] = (x[:, 0] > 0).astype(np.int8)  # theme 0: learnable, plenty of both
    y[:3, 1] = 1  # theme 1: three positives only
    clf = PieceClassifier(2, min_positive=5, seed=1).fit(x, y)
    assert set(clf.models_) == {0} and clf.n_positive_[1] == 3
    p = clf.proba(x)
    assert np.isnan(p[:, 1]).all()
    assert ((p[:, 0] >= 0.5) == (x[:, 0] > 0)).mean() > 0.9


def test_blend_reaches_the_threshold_where_either_part_does() -> None:
    sims = np.array([[0.2, 0.05], [0.05, 0.3]], dtype=np.float32)
    proba = np.array([[0.5, np.nan], [0.1, np.nan]], dtype=np.float32)
    thr = np.array([0.1, 0.1])
    assert blend(sims, proba, thr, 0.0) is sims
    full = blend(sims, proba, thr, 1.0)
    assert full[0, 0] == pytest.approx(0.1)  # p = 0.5 is exactly the threshold
    assert full[1, 0] == pytest.approx(0.02)  # the classifier overrules a weak cosine
    assert full[:, 1].tolist() == pytest.approx(sims[:, 1].tolist())  # no classifier: prototype kept
    half = blend(sims, proba, thr, 0.5)
    assert half[0, 0] == pytest.approx(0.5 * 0.2 + 0.5 * 0.1)


def test_the_classifier_learns_the_counter_examples_a_prototype_cannot() -> None:
    """A phrase near theme a's prototype that the analyst never coded a: the blend drops it."""
    rng = np.random.default_rng(3)
    proto = np.vstack([_unit([1, 0, 0, 0]), _unit([0, 1, 0, 0])])
    true_a = [_unit([1, 0, 0.3 + 0.1 * rng.random(), 0]) for _ in range(20)]  # a, with feature 3
    decoy = [_unit([1, 0, 0, 0.3 + 0.1 * rng.random()]) for _ in range(20)]  # close to a, but it is b
    emb = {f"own:t{i}": v for i, v in enumerate(true_a)} | {f"own:d{i}": v for i, v in enumerate(decoy)}
    coded = {f"own:t{i}": {"a"} for i in range(20)} | {f"own:d{i}": {"b"} for i in range(20)}
    model = ThemeModel(["a", "b"], proto, [1, 1], [0, 0], np.full(2, 0.5))
    x, y = training_pieces(coded, {u: None for u in coded}, ["a", "b"], emb, {}, proto)
    model.piece_classifier_ = PieceClassifier(2, seed=0).fit(x, y)
    units = sorted(emb)
    scorer = UnitScorer(emb)
    _, plain = scorer.pick(model, units, max_themes=1, relative_score=0.6)
    model.blend_ = 1.0
    _, blended = scorer.pick(model, units, max_themes=1, relative_score=0.6)
    got = {u: {model.theme_ids[j] for j, _ in p} for u, p in zip(units, plain, strict=True)}
    assert all(got[u] == {"a"} for u in units)  # the prototype calls every decoy a
    got = {u: {model.theme_ids[j] for j, _ in p} for u, p in zip(units, blended, strict=True)}
    assert all(got[u] == coded[u] for u in units)


def test_pooled_calibration_excludes_a_respondent_from_every_question_at_once() -> None:
    proto = np.vstack([_unit([1, 0, 0]), _unit([0, 1, 0])])
    rng = np.random.default_rng(0)
    seen: list[tuple[str, frozenset]] = []
    members = []
    for q in ("q1", "q2"):
        emb = {f"own:r{i}": _unit(rng.uniform(0, 1, 3)) for i in range(30)}
        coded = {u: {t for t, p in zip("ab", proto, strict=True) if float(v @ p) >= 0.5} or {"a"}
                 for u, v in emb.items()}

        def build(excluded, q=q):
            seen.append((q, frozenset(excluded)))
            return ThemeModel(["a", "b"], proto, [1, 1], [0, 0], np.full(2, 0.25))
        members.append((UnitScorer(emb), build, coded))
    cal = calibrate_pooled(members, max_themes=3, relative_score=0.6, default=Calibration(1.0, 2.0))
    assert cal.n_coded == 60 and not np.isnan(cal.f1)
    folds = {ex for _, ex in seen}
    assert len(folds) == 5 and sum(len(f) for f in folds) == 30  # disjoint folds covering the 30 respondents
    assert {q for q, _ in seen} == {"q1", "q2"}  # each question scored with the same exclusions


def test_non_answers_have_no_content() -> None:
    for text in ["N/A", "Nope", "Of course", "Nothing further.", "Yes!!", "No comment", "See above", "  "]:
        assert not has_content(text), text
    for text in ["Privacy.", "Māori data sovereignty", "Protect journalists", "AI"]:
        assert has_content(text), text


def test_sentences_join_hard_wrapped_lines() -> None:
    text = ("Kia ora,\nPlease accept this as my submission.\nA UN treaty could bring in countries that will "
            "never\njoin the Budapest Convention.\n\nYours sincerely,\n[NAME]")
    assert sentences(text) == ["Please accept this as my submission.",
                               "A UN treaty could bring in countries that will never join the Budapest Convention."]


def test_procedural_sentences_are_set_aside_and_the_filter_can_be_turned_off() -> None:
    body = {"version": 1, "questions": {"q1": {"themes": [
        {"id": "rivers", "label": "Clean rivers", "description": "Water quality in rivers and lakes.",
         "seed_phrases": ["swimmable rivers", "farm run-off pollutes the water"]},
        {"id": "birds", "label": "Native birds", "description": "Protect native birds from predators.",
         "seed_phrases": ["predator free", "kiwi and kereru"]}]}}}
    book = parse_codebook(body, "<test>")
    assert book.ignore_phrases == list(PROCEDURAL_PHRASES)
    texts = ["Please accept this email as my submission.", "Thank you for considering my views.",
             "Farm run-off pollutes the water in our rivers.", "Trap the predators so kiwi survive."]
    be = TfidfSvdBackend(seed=2, n_components=16).fit(texts + list(PROCEDURAL_PHRASES) + [
        "Clean rivers", "Native birds", "swimmable rivers", "predator free"])
    keep = procedural_filter(book, "q1", be.encode, 0.1)
    assert keep(be.encode(texts)).tolist() == [False, False, True, True]
    off = parse_codebook(body | {"ignore_phrases": []}, "<test>")
    assert procedural_filter(off, "q1", be.encode, 0.1) is None


def test_vectorised_selection_matches_the_ranked_rule() -> None:
    """``select_mask`` / ``pick_mask`` keep exactly the themes of the ranked, list-based rule."""
    from analysis.themes.assign import pick_from_scores, pick_mask, select, select_mask

    rng = np.random.default_rng(11)
    scores = rng.uniform(0, 0.4, (300, 6)).astype(np.float32)
    scores[::7] = 0.2  # exact ties: the lower theme index ranks first
    thr = np.array([0.1, 0.12, 0.1, 0.2, 0.15, 0.1])
    for max_themes, rel in [(1, 0.6), (3, 0.6), (3, 0.9), (6, 0.3)]:
        picks = select(scores, thr, max_themes=max_themes, relative_score=rel)
        mask = select_mask(scores, thr, max_themes=max_themes, relative_score=rel)
        # the rule itself, written out: rank by relative score, best must reach 1, keep the top k within rel
        for i in range(len(scores)):
            r = scores[i] / thr
            order = sorted(range(6), key=lambda j: (-round(float(r[j]), 6), j))[:max_themes]
            want = [j for j in order if r[order[0]] >= 1 and r[j] >= 1 and r[j] >= rel * r[order[0]]]
            assert [j for j, _ in picks[i]] == want
            assert set(np.flatnonzero(mask[i])) == set(want)
    sent = rng.uniform(0, 0.5, (500, 6)).astype(np.float32)
    owner = rng.integers(0, 300, 500)
    best, lists = pick_from_scores(scores, sent, owner, thr, max_themes=3, relative_score=0.6, sentence_factor=2)
    mask = pick_mask(scores, sent, owner, thr, max_themes=3, relative_score=0.6, sentence_factor=2)
    assert [set(j for j, _ in p) for p in lists] == [set(np.flatnonzero(m)) for m in mask]
    assert (mask.sum(axis=1) > 0).any() and not mask.all()
    assert best.shape == scores.shape and (best >= scores).all()


def test_calibration_uses_a_theme_classifier_only_if_every_fold_had_one() -> None:
    """A theme short of examples in one fold is judged - and published - without its classifier."""
    rng = np.random.default_rng(5)
    proto = np.vstack([_unit([0, 1, 0]), _unit([1, 0, 0])])  # swapped: only a classifier gets a right
    emb = {f"own:r{i}": _unit(rng.uniform(0, 1, 3)) for i in range(40)}
    coded = {u: {"a"} if v[0] >= v[1] else {"b"} for u, v in emb.items()}
    x = np.vstack(list(emb.values()))
    y = np.array([[int(coded[u] == {"a"}), int(coded[u] == {"b"})] for u in emb], dtype=np.int8)
    full = PieceClassifier(2, min_positive=1, min_negative=1).fit(x, y)
    calls = []

    def build(excluded):
        m = ThemeModel(["a", "b"], proto, [1, 1], [0, 0], np.full(2, 0.3))
        clf = full.restricted({0, 1} if calls else {0})  # the first fold's training lacks theme b's
        calls.append(excluded)
        m.piece_classifier_ = clf
        return m

    cal = calibrate_pooled([(UnitScorer(emb), build, coded)], max_themes=1, relative_score=0.6,
                           default=Calibration(1.0, 2.0))
    assert len(calls) == 5
    assert cal.blend > 0 and cal.classified == (0,)
    assert full.restricted(cal.classified).models_.keys() <= {0}


def test_methods_appendix_lists_questions_sharing_a_threshold_setting_together() -> None:
    import pandas as pd

    from analysis.report.methods import _theme_thresholds

    model = pd.DataFrame({"question_id": ["q2", "q1", "q1", "q3"], "theme_id": ["a", "a", "b", "a"],
                          "thresholding": ["pooled x1", "pooled x1", "pooled x1", "default thresholds"]})
    assert _theme_thresholds(model) == [{"question": "q1, q2", "thresholding": "pooled x1"},
                                        {"question": "q3", "thresholding": "default thresholds"}]
    assert _theme_thresholds(None) == []


def test_the_bag_witness_finds_the_sentence_the_definition_misses() -> None:
    """Coded answers share a sentence worded unlike the definition; the answer-level model points at it."""
    from analysis.themes.supervised import bag_witness

    rng = np.random.default_rng(2)
    definition = np.vstack([_unit([1, 0, 0, 0]), _unit([0, 1, 0, 0])])
    generic = _unit([0.7, 0.7, 0, 0])  # written by everyone, closest to a's definition
    signature = _unit([0.1, 0, 1, 0])  # written only by respondents coded a
    unit_emb, sent_emb, coded, known = {}, {}, {}, {}
    for i in range(30):
        u = f"own:r{i}"
        is_a = i % 2 == 0
        sents = [generic + 0.02 * rng.normal(size=4), (signature if is_a else _unit([0, 0.2, 0, 1]))
                 + 0.02 * rng.normal(size=4)]
        sent_emb[u] = np.vstack([_unit(v) for v in sents]).astype(np.float32)
        unit_emb[u] = _unit(sent_emb[u].sum(axis=0))
        coded[u] = {"a"} if is_a else {"b"}
        known[u] = None
    x_def, y_def = training_pieces(coded, known, ["a", "b"], unit_emb, sent_emb, definition)
    bag = PieceClassifier(2, seed=0).fit(*training_pieces(coded, known, ["a", "b"], unit_emb, {}, definition))
    x_bag, y_bag = training_pieces(coded, known, ["a", "b"], unit_emb, sent_emb, definition,
                                   witness=bag_witness(bag))
    order = sorted(unit_emb)  # training_pieces walks the units in sorted order: 3 rows each
    rows_a = [3 * k for k, u in enumerate(order) if coded[u] == {"a"}]
    assert all(y_def[r + 1, 0] == 1 and y_def[r + 2, 0] == -1 for r in rows_a)  # definition: the generic one
    assert all(y_bag[r + 2, 0] == 1 and y_bag[r + 1, 0] == -1 for r in rows_a)  # bag: the signature sentence


def test_a_semicolon_does_not_split_a_sentence() -> None:
    text = "Treaty negotiations are the job of governments; too many voices will slow everything down. I disagree."
    assert sentences(text) == []  # "I disagree." is under three words: one sentence left, so no split
    assert sentences(text + " And another point here.")[0].startswith("Treaty negotiations are the job")
    assert ";" in sentences(text + " And another point here.")[0]
