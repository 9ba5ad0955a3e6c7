"""Sentence-level theme picking and threshold calibration on coded answers."""

from __future__ import annotations

import numpy as np

from analysis.themes.assign import ThemeModel, UnitScorer, pick_from_scores
from analysis.themes.calibrate import Calibration, calibrate, coded_sets


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_a_sentence_adds_the_theme_the_whole_answer_would_drop() -> None:
    whole = np.array([[0.9, 0.2]], dtype=np.float32)  # theme 1 below 0.6 x the best: dropped answer-level
    sent = np.array([[0.1, 0.5], [0.1, 0.15]], dtype=np.float32)
    owner = np.array([0, 0])
    thr = np.array([0.1, 0.1])
    _, picks = pick_from_scores(whole, np.zeros((0, 2)), np.zeros(0, int), thr, max_themes=3,
                                relative_score=0.6, sentence_factor=2.0)
    assert [j for j, _ in picks[0]] == [0]
    best, picks = pick_from_scores(whole, sent, owner, thr, max_themes=3, relative_score=0.6, sentence_factor=2.0)
    assert [j for j, _ in picks[0]] == [0, 1]
    assert best[0, 1] == np.float32(0.5)  # the unit's score is its best piece
    # a sentence needs sentence_factor x the threshold: at 6x (0.6) the 0.5 sentence adds nothing
    _, picks = pick_from_scores(whole, sent, owner, thr, max_themes=3, relative_score=0.6, sentence_factor=6.0)
    assert [j for j, _ in picks[0]] == [0]


def _world(n: int = 60, second=(0, 1, 0)):
    """Random answers coded with every theme whose prototype they reach 0.5 cosine with (``second``: the
    second theme's direction; closer to the first, more answers carry both)."""
    rng = np.random.default_rng(0)
    protos = np.vstack([_unit([1, 0, 0]), _unit(second)])
    model = ThemeModel(["a", "b"], protos, [1, 1], [0, 0], np.full(2, 0.25))
    emb, coded = {}, {}
    for i in range(n):
        v = _unit(rng.uniform(0, 1, 3))
        emb[f"own:r{i}"] = v
        coded[f"own:r{i}"] = {t for t, p in zip(["a", "b"], protos, strict=True) if float(v @ p) >= 0.5}
    return model, UnitScorer(emb), coded


def test_calibration_moves_the_threshold_to_where_the_codes_are() -> None:
    model, scorer, coded = _world(second=(0.3, 1, 0))  # multi-label codes (30% of answers carry both)
    coded = {u: s for u, s in coded.items() if s}  # coded answers all carry a theme
    default = Calibration(1.0, 2.0)
    cal = calibrate(scorer, lambda excluded: model, coded, max_themes=3, relative_score=0.1, default=default)
    assert cal.threshold_factor == 2.0  # 0.25 x 2 = 0.5: the coders' rule
    assert cal.n_coded == len(coded) and cal.f1 > cal.f1_default
    again = calibrate(scorer, lambda excluded: model, coded, max_themes=3, relative_score=0.1, default=default)
    assert again == cal or (np.isnan(again.f1) and np.isnan(cal.f1))


def test_too_few_coded_answers_keep_the_defaults() -> None:
    model, scorer, coded = _world(10)
    default = Calibration(1.0, 2.0)
    assert calibrate(scorer, lambda excluded: model, coded, max_themes=3, relative_score=0.6,
                     default=default, min_coded=20) is default
    assert "default thresholds" in default.describe


def test_cross_fitting_excludes_the_scored_fold() -> None:
    model, scorer, coded = _world()
    seen: list[set[str]] = []

    def build(excluded: set[str]) -> ThemeModel:
        seen.append(excluded)
        return model

    used = {u: s for u, s in coded.items() if s}
    calibrate(scorer, build, used, max_themes=3, relative_score=0.6, default=Calibration(1.0, 2.0))
    assert len(seen) == 5 and all(seen) and set().union(*seen) == set(used)
    assert sum(len(s) for s in seen) == len(used)  # each coded answer is left out exactly once


def test_coded_sets_match_ids_and_labels_and_skip_unknown() -> None:
    import pandas as pd

    class T:
        def __init__(self, id_: str, label: str):
            self.id, self.label = id_, label

    tags = pd.DataFrame({"response_id": ["r1", "r1", "r2", "r3"], "question_id": ["q", "q", "q", "other"],
                         "tag": ["a", "Bee label", "nonsense", "a"]})
    out = coded_sets(tags, "q", [T("a", "A"), T("b", "Bee label")], {"own:r1", "own:r2", "own:r3"})
    assert out == {"own:r1": {"a", "b"}}


def test_codes_with_one_theme_each_learn_one_theme_per_answer() -> None:
    """Single-theme codes: the rule learnt keeps each answer's best theme only (no second theme, no sentences)."""
    from analysis.themes.calibrate import SENTENCE_OFF, _multi_share

    model, scorer, coded = _world()
    single = {u: set(sorted(s)[:1]) for u, s in coded.items() if s}  # the coder kept one theme per answer
    assert _multi_share([(scorer, None, single)]) == 0.0
    cal = calibrate(scorer, lambda excluded: model, single, max_themes=3, relative_score=0.1,
                    default=Calibration(1.0, 2.0))
    assert cal.max_themes == 1 and cal.sentence_factor == SENTENCE_OFF
    assert "no sentence themes" in cal.describe
    _, picks = scorer.pick(model, sorted(single), max_themes=cal.max_themes, relative_score=cal.relative_score,
                           sentence_factor=cal.sentence_factor, threshold_factor=cal.threshold_factor)
    assert max(len(p) for p in picks) == 1
    # a world whose codes often carry both themes is multi-label: the multi-theme rules are searched
    model, scorer, coded = _world(second=(0.3, 1, 0))
    multi = {u: s for u, s in coded.items() if s}
    assert _multi_share([(scorer, None, multi)]) >= 0.2
    cal = calibrate(scorer, lambda excluded: model, multi, max_themes=3, relative_score=0.1,
                    default=Calibration(1.0, 2.0))
    assert cal.max_themes > 1 and cal.sentence_factor != SENTENCE_OFF


def test_multi_share_weights_an_answer_by_one_over_its_themes() -> None:
    """An answer with two themes is about twice as likely to be drawn per theme: it counts half."""
    from analysis.themes.calibrate import _multi_share

    coded = {"own:1": {"a"}, "own:2": {"b"}, "own:3": {"a", "b"}, "own:4": set()}
    assert _multi_share([(None, None, coded)]) == 0.5 / 2.5  # the uncoded ('other') answer does not count


def test_grid_search_counts_match_picking_each_rule_afresh() -> None:
    """The memoised grid (masks reused across rules) counts exactly what ``pick_mask`` picks per rule."""
    import itertools

    from analysis.themes.assign import pick_mask
    from analysis.themes.calibrate import RELATIVE_GRID, SENTENCE_GRID, THRESHOLD_GRID, _Search

    rng = np.random.default_rng(7)
    scored = {}
    for w in (0.0, 0.5):
        parts = []
        for n in (12, 9):
            whole = rng.random((n, 4)).astype(np.float32) * 0.4
            whole[0] = whole[0, 0]  # ties between themes
            sent = rng.random((2 * n, 4)).astype(np.float32) * 0.6
            owner = np.repeat(np.arange(n), 2)
            parts.append((whole, sent, owner, np.full(4, 0.1), rng.random((n, 4)) < 0.3))
        parts.append((rng.random((5, 4)).astype(np.float32), np.zeros((0, 4), np.float32), np.zeros(0, int),
                      np.full(4, 0.2), rng.random((5, 4)) < 0.5))  # no sentences
        scored[w] = parts
    search = _Search(scored, 3)
    for _ in range(2):  # the second pass is served from the memo
        for w, rs, tf, sf, mt in itertools.product(scored, (*RELATIVE_GRID, 1.2), THRESHOLD_GRID, SENTENCE_GRID,
                                                   (1, 2, 3)):
            expected = 0
            for whole, sent, owner, thr, tru in scored[w]:
                got = pick_mask(whole, sent, owner, thr * tf, max_themes=mt, relative_score=rs, sentence_factor=sf)
                expected = expected + np.vstack([(got & tru).sum(0), (got & ~tru).sum(0), (~got & tru).sum(0)])
            assert np.array_equal(search.counts(tf, sf, rs, w, mt), expected)
    per_theme = np.array([0.8, 1.0, 1.25, 1.5])
    got = search.counts(per_theme, 2.0, 0.8, 0.5, 2)
    expected = 0
    for whole, sent, owner, thr, tru in scored[0.5]:
        m = pick_mask(whole, sent, owner, thr * per_theme, max_themes=2, relative_score=0.8, sentence_factor=2.0)
        expected = expected + np.vstack([(m & tru).sum(0), (m & ~tru).sum(0), (~m & tru).sum(0)])
    assert np.array_equal(got, expected)


def test_one_theme_fast_path_picks_what_the_stable_sort_picks() -> None:
    """``select_mask`` with ``max_themes=1`` takes the first maximum (argmax): the stable descending sort's first.

    Real scores (ArgKP arguments against their key points, TF-IDF + SVD) and planted ties, zeros and negatives.
    """
    from pathlib import Path

    import pandas as pd

    from analysis.embeddings import TfidfSvdBackend
    from analysis.themes.assign import select_mask

    fix = Path(__file__).parent / "fixtures" / "themes"
    args = pd.read_csv(fix / "argkp_arguments.csv")["argument"].astype(str).tolist()
    kps = pd.read_csv(fix / "argkp_key_points.csv")["key_point"].astype(str).tolist()
    be = TfidfSvdBackend(seed=0, n_components=32).fit(args + kps)
    scores = be.encode(args) @ be.encode(kps).T
    scores[::5, 1] = scores[::5, 0]  # ties: the lower index wins
    scores[::7] = 0.0
    scores[3::11] *= -1
    rng = np.random.default_rng(3)
    for thr in (np.full(scores.shape[1], 0.1), rng.uniform(0.05, 0.3, scores.shape[1]),
                rng.uniform(0.05, 0.3, scores.shape)):  # per theme, and one row per answer
        for rs in (0.6, 1.0, 1.2):
            got = select_mask(scores, thr, max_themes=1, relative_score=rs)
            t = thr if thr.ndim == 2 else thr[None, :]
            rel = scores / np.maximum(t, 1e-6)
            order = np.argsort(-np.round(rel, 6), axis=1, kind="stable")[:, :1]  # the general path
            top = np.take_along_axis(rel, order, axis=1)
            keep = (top >= 1.0) & (top >= rs * top)
            expected = np.zeros_like(got)
            expected[np.arange(len(rel))[keep[:, 0]], order[keep[:, 0], 0]] = True
            assert np.array_equal(got, expected)
            assert got.any() == (rs <= 1)  # above 1 a lone best theme never reaches rs x itself
