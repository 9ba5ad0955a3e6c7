"""Stance training at scale: the capped training sample, single-pass cross-fitting, balanced calibration."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.config import parse_config
from analysis.positions.model import BalancedPlatt, StanceModel, capped_sample, cross_fit
from analysis.positions.text_stance import text_positions

FIX = Path(__file__).parent / "fixtures" / "positions"


def test_capped_sample_keeps_every_position_and_is_deterministic():
    labels = ["support"] * 900 + ["oppose"] * 80 + ["neutral"] * 15 + ["unsure"] * 5
    prio = [i in (3, 7) for i in range(len(labels))]
    idx = capped_sample(labels, 200, seed=11, priority=prio)
    assert len(idx) == 200 and list(idx) == sorted(idx) and len(set(idx)) == 200
    got = pd.Series(np.asarray(labels)[idx]).value_counts().to_dict()
    # rare positions are kept whole; the rest of the budget is shared evenly
    assert got == {"support": 100, "oppose": 80, "neutral": 15, "unsure": 5}
    assert {3, 7} <= set(idx)  # priority rows (analyst codes) are always taken
    assert list(capped_sample(labels, 200, seed=11, priority=prio)) == list(idx)
    assert list(capped_sample(labels, 200, seed=12)) != list(idx)
    assert list(capped_sample(labels, 0, seed=11)) == list(range(len(labels)))  # 0: no cap
    assert list(capped_sample(labels, 5000, seed=11)) == list(range(len(labels)))


def test_cross_fit_is_out_of_fold_deterministic_and_predicts_extra_texts(cannabis):
    tr, te = cannabis.iloc[:60], cannabis.iloc[60:]
    a = cross_fit(StanceModel(seed=3), tr["text"], tr["label"], predict=te["text"].tolist())
    b = cross_fit(StanceModel(seed=3), tr["text"], tr["label"], predict=te["text"].tolist())
    pd.testing.assert_frame_equal(a[1], b[1])
    pd.testing.assert_frame_equal(a[2], b[2])
    model, oof, pred = a
    assert len(oof) == 60 and len(pred) == 30 and model.calibrator_ is not None
    decided = pred[pred["position"] != "unclear"]
    assert (decided["position"] == te["label"].to_numpy()[decided.index]).mean() >= 0.7
    pd.testing.assert_frame_equal(pred, model.predict(te["text"].tolist()))  # same model, same features


def test_balanced_calibration_does_not_bake_the_tick_majority_into_predictions():
    rng = np.random.default_rng(0)
    y = np.array(["support"] * 900 + ["oppose"] * 100, dtype=object)
    noise = rng.normal(size=(1000, 1))
    scores = np.column_stack([-noise[:, 0], noise[:, 0]])  # scores carrying no information
    p = BalancedPlatt().fit(scores, y, ["oppose", "support"]).predict_proba(scores)
    assert abs(p[:, 1].mean() - 0.5) < 0.05  # not 0.9: no evidence means no side
    informative = np.column_stack([-(noise[:, 0] + 3 * (y == "support")), noise[:, 0] + 3 * (y == "support")])
    q = BalancedPlatt().fit(informative, y, ["oppose", "support"]).predict_proba(informative)
    assert q[y == "support", 1].mean() > 0.8 and q[y == "oppose", 0].mean() > 0.8
    # scores that fall with the class out of fold do not invert predictions: flat at the prior, order kept
    flipped = BalancedPlatt().fit(-informative, y, ["oppose", "support"])
    f = flipped.predict_proba(informative)
    assert np.allclose(f, 0.5, atol=1e-3) and (np.argmax(f, axis=1) == np.argmax(informative, axis=1)).all()
    three = np.array(["a"] * 700 + ["b"] * 200 + ["c"] * 100, dtype=object)
    r = BalancedPlatt().fit(rng.normal(size=(1000, 3)), three, ["a", "b", "c"]).predict_proba(rng.normal(size=(5, 3)))
    assert np.allclose(r.sum(axis=1), 1.0) and np.all(np.abs(r - 1 / 3) < 0.1)


def _cfg(max_training: int):
    return parse_config({
        "id": "t", "title": "T", "sources": [{"file": "x.csv", "format": "generic"}],
        "questions": [{"id": "q1", "text": "Legalise?", "kind": "closed",
                       "choices": {"Yes": "support", "No": "oppose"}},
                      {"id": "q1_why", "text": "Why?", "kind": "open", "related_question": "q1"}],
        "settings": {"seed": 7, "positions": {"min_training": 20, "max_training": max_training}},
    })


def test_capped_training_still_predicts_every_ticked_answer_out_of_sample(cannabis, caplog):
    answers = pd.DataFrame({"response_id": cannabis["arg_id"], "question_id": "q1_why",
                            "answer": cannabis["text"], "language": "en"})
    ticked = cannabis.iloc[:80]
    flipped = ticked["label"].map({"support": "oppose", "oppose": "support"})
    closed = pd.DataFrame({"response_id": ticked["arg_id"], "question_id": "q1",
                           "position": ticked["label"].where(ticked.index % 10 != 0, flipped),
                           "confidence": 1.0, "source": "closed"})
    with caplog.at_level(logging.INFO, logger="analysis.positions.text_stance"):
        res = text_positions(answers, closed, None, _cfg(40))
    assert "trained on 40 of 80 labelled texts" in caplog.text
    assert res.confusion["n"].sum() == 80  # every ticked text predicted by a model that never saw it
    assert len(res.positions) == 10 and set(res.positions["question_id"]) == {"q1"}
    assert set(res.disagreements["response_id"]) <= set(ticked["arg_id"])
    again = text_positions(answers, closed, None, _cfg(40))
    pd.testing.assert_frame_equal(res.positions, again.positions)
    pd.testing.assert_frame_equal(res.disagreements, again.disagreements)
    pd.testing.assert_frame_equal(res.confusion, again.confusion)
    uncapped = text_positions(answers, closed, None, _cfg(0))
    assert uncapped.confusion["n"].sum() == 80


def test_cross_fit_in_forked_processes_gives_the_same_model_and_predictions(cannabis, monkeypatch):
    from analysis.positions import model as M

    tr, te = cannabis.iloc[:60], cannabis.iloc[60:]
    runs = []
    for workers, min_rows in ((1, 1000), (2, 1)):  # all in this process, then folds and final fit forked
        monkeypatch.setattr(M, "FIT_WORKERS", workers)
        monkeypatch.setattr(M, "PARALLEL_MIN_ROWS", min_rows)
        runs.append(cross_fit(StanceModel(seed=3), tr["text"], tr["label"], predict=te["text"].tolist()))
    (m1, oof1, pred1), (m2, oof2, pred2) = runs
    pd.testing.assert_frame_equal(oof1, oof2)
    pd.testing.assert_frame_equal(pred1, pred2)
    assert np.array_equal(m1.classifier_.coef_, m2.classifier_.coef_)
    assert m1.calibrator_.coef_ == m2.calibrator_.coef_


def test_questions_fitted_side_by_side_in_a_second_process_give_the_same_results(cannabis, monkeypatch):
    from analysis.positions import model as M
    from analysis.positions import parallel as P

    arg = pd.read_csv(FIX / "argkp_two_topics.csv")
    jobs = []
    for _topic, sub in arg.groupby("topic", sort=True):
        sub = sub.sample(frac=1.0, random_state=5).reset_index(drop=True)
        labels = np.where(sub["stance"] == 1, "support", "oppose").tolist()
        jobs.append(P.FitJob(sub["argument"].iloc[:60].tolist(), labels[:60], 3, sub["argument"].iloc[60:].tolist()))
    jobs.append(P.FitJob(cannabis["text"].iloc[:50].tolist(), cannabis["label"].iloc[:50].tolist(), 5, []))
    assert len(jobs) == 3
    monkeypatch.setattr(P, "PARALLEL_MIN_ROWS", 1000)
    assert not P.use_worker(StanceModel(seed=3), jobs)
    alone = P.cross_fit_all(StanceModel(seed=3), jobs)
    monkeypatch.setattr(P, "PARALLEL_MIN_ROWS", 1)
    monkeypatch.setattr(P, "FIT_WORKERS", 2)
    assert P.use_worker(StanceModel(seed=3), jobs)
    here, there = P.split_jobs(jobs)
    assert here and there and sorted(here + there) == [0, 1, 2]
    calls = []
    real = P._fit_one
    monkeypatch.setattr(P, "_fit_one", lambda *a: calls.append(a[1]) or real(*a))  # this process's share only
    side = P.cross_fit_all(StanceModel(seed=3), jobs)
    assert len(calls) == len(here)  # the others ran in the worker
    for (m1, oof1, pred1), (m2, oof2, pred2) in zip(alone, side, strict=True):
        pd.testing.assert_frame_equal(oof1, oof2)
        pd.testing.assert_frame_equal(pred1, pred2)
        assert np.array_equal(m1.classifier_.coef_, m2.classifier_.coef_)
        assert m1.calibrator_.coef_ == m2.calibrator_.coef_
    # a worker that fails: its questions are fitted here, with the same results
    monkeypatch.setattr(P, "_fit_many", M.capped_sample)  # wrong signature: the worker reports an error
    again = P.cross_fit_all(StanceModel(seed=3), jobs)
    for (_, oof1, pred1), (_, oof2, pred2) in zip(alone, again, strict=True):
        pd.testing.assert_frame_equal(oof1, oof2)
        pd.testing.assert_frame_equal(pred1, pred2)


def test_split_rows_gives_views_equal_to_slices():
    import scipy.sparse as sp

    from analysis.positions.model import _canonical, _split_rows

    X = _canonical(sp.random(40, 25, density=0.3, format="csr", random_state=1))  # noqa: N806
    for n in (0, 1, 13, 40):
        head, tail = _split_rows(X, n)
        assert np.shares_memory(tail.data, X.data) or tail.nnz == 0
        assert (head != X[:n]).nnz == 0 and (tail != X[n:]).nnz == 0
        assert head.shape == (n, 25) and tail.shape == (40 - n, 25)
        head.check_format(full_check=True)
        tail.check_format(full_check=True)
