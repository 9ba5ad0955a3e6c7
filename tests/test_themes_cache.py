"""Caches of the themes stage: stored fits and stored word counts give the same bits as computing them.

Real text: ArgKP arguments and key points from ``tests/fixtures/themes`` (attributions in the README there).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.embeddings import TfidfSvdBackend
from analysis.themes import fitcache, lexical
from analysis.themes.lexical import LexicalSpace
from analysis.themes.linear import PriorLinear
from analysis.themes.supervised import PieceClassifier

FIX = Path(__file__).parent / "fixtures" / "themes"


def _arguments() -> pd.DataFrame:
    return pd.read_csv(FIX / "argkp_arguments.csv")


def _same_rows(a, b) -> bool:
    return (a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a.indptr, b.indptr)
            and np.array_equal(a.indices, b.indices) and np.array_equal(a.data, b.data))


def test_stored_lexical_space_equals_scikit_learns_fit_after_an_edit(tmp_path: Path, monkeypatch) -> None:
    args = pd.read_csv(FIX / "polis_biodiversity_comments.csv")["comment-body"].astype(str).tolist()
    monkeypatch.setattr(lexical, "STORE_MIN_TEXTS", 20)  # every list below goes through the store
    book = pd.read_csv(FIX / "argkp_key_points.csv")["key_point"].astype(str).tolist()
    edited = book + ["a brand-new phrase with zyxwvut words", args[0]]  # new words; one text already an answer
    sentences = [s for t in args for s in t.split(", ") if s]
    for extra in (book, edited, book):  # the original, an edit, back again: each from the store's counts
        plain = LexicalSpace().fit(args + extra)
        stored = LexicalSpace(tmp_path).fit(args, extra=extra)
        assert stored.vectorizer_.vocabulary_ == plain.vectorizer_.vocabulary_
        assert stored.vectorizer_.idf_.dtype == plain.vectorizer_.idf_.dtype
        assert np.array_equal(stored.vectorizer_.idf_, plain.vectorizer_.idf_)
        for texts in (args, sentences, extra):
            assert _same_rows(stored.transform(texts), plain.transform(texts))
    assert "zyxwvut" in LexicalSpace(tmp_path).fit(args, extra=edited).vectorizer_.vocabulary_
    assert len(list(tmp_path.glob("lexical-df-*.pkl"))) == 1  # the answers' frequencies were counted once


def test_stored_fits_are_the_fits_and_are_reused(tmp_path: Path) -> None:
    args = _arguments()
    texts = args["argument"].astype(str).tolist()
    emb = TfidfSvdBackend(seed=0, n_components=32).fit(texts).encode(texts)
    labels = pd.read_csv(FIX / "argkp_labels.csv")
    topics = ["kp_4_5", "kp_4_6", "kp_4_4"]  # key points with the most arguments
    y = np.zeros((len(args), len(topics)), np.int8)
    row = {a: i for i, a in enumerate(args["arg_id"])}
    for r in labels[labels["key_point_id"].isin(topics) & (labels["label"] == 1)].itertuples():
        y[row[r.arg_id], topics.index(r.key_point_id)] = 1
    y[::7, 0] = -1  # some pieces unlabelled for the first theme
    plain = PieceClassifier(len(topics), seed=0).fit(emb, y)
    before = dict(fitcache.STATS)
    with fitcache.stored_in(tmp_path):
        first = PieceClassifier(len(topics), seed=0).fit(emb, y)
        again = PieceClassifier(len(topics), seed=0).fit(emb, y)
        changed = y.copy()
        changed[2, 1] = 1 - changed[2, 1]  # one label of the second theme: only its fit is redone
        third = PieceClassifier(len(topics), seed=0).fit(emb, changed)
    assert fitcache.STATS["fits"] - before["fits"] == len(topics) + 1
    assert fitcache.STATS["hits"] - before["hits"] == 2 * len(topics) - 1
    for c in (first, again):
        assert np.array_equal(c.proba(emb), plain.proba(emb), equal_nan=True)
        assert all(pickle.dumps(c.models_[j]) == pickle.dumps(plain.models_[j]) for j in plain.models_)
    assert np.array_equal(third.proba(emb)[:, 0], plain.proba(emb)[:, 0])
    assert not np.array_equal(third.proba(emb)[:, 1], plain.proba(emb)[:, 1])
    prior = emb[:, :len(topics)]
    lex = LexicalSpace().fit(texts).transform(texts)
    for use_prior in (True, False):  # without the prior, every theme's fit reads one matrix, hashed once
        lin_plain = PriorLinear(len(topics), use_prior=use_prior, seed=0).fit(emb, lex, prior, y.clip(0))
        with fitcache.stored_in(tmp_path):
            for _ in range(2):
                lin = PriorLinear(len(topics), use_prior=use_prior, seed=0).fit(emb, lex, prior, y.clip(0))
                assert np.array_equal(lin.proba(emb, lex, prior), lin_plain.proba(emb, lex, prior))
                assert np.array_equal(lin.coef_, lin_plain.coef_)


def test_feature_matrix_built_from_the_shared_block_is_the_three_blocks_stacked() -> None:
    """``linear._features`` (shared block, then the prior column) equals stacking the three blocks at once."""
    import scipy.sparse as sp

    from analysis.themes.linear import _base_features, _features, _with_prior

    texts = _arguments()["argument"].astype(str).tolist()
    emb = TfidfSvdBackend(seed=0, n_components=32).fit(texts).encode(texts)
    lex = LexicalSpace().fit(texts).transform(texts)
    prior = np.asarray(emb @ emb[:4].T, dtype=np.float32)
    prior[prior < 0.05] = 0  # some zero priors: the column is sparse too
    base = _base_features(emb, lex)
    for j in range(prior.shape[1]):
        at_once = sp.hstack([sp.csr_matrix(emb), sp.csr_matrix(lex), sp.csr_matrix(prior[:, j].reshape(-1, 1))]).tocsr()
        for got in (_features(emb, lex, prior[:, j]), _with_prior(base, prior[:, j])):
            assert _same_rows(got, at_once) and got.has_sorted_indices == at_once.has_sorted_indices
            assert fitcache.digest(got) == fitcache.digest(at_once)
    assert _same_rows(_features(emb, None, None), sp.hstack([sp.csr_matrix(emb)]).tocsr())


def _square_then_pid(x: int) -> tuple[int, int]:
    import os

    return x * x, os.getpid()


def _pid_and_clock(x: int) -> tuple[int, int, int]:
    import os
    import time

    time.sleep(0.01)
    return x, os.getpid(), time.monotonic_ns()


def test_map_forked_hands_out_the_costliest_items_first_and_returns_them_in_order(monkeypatch) -> None:
    monkeypatch.setattr(fitcache, "WORKERS", 2)
    items, cost = list(range(8)), [3, 9, 1, 9, 5, 0, 7, 2]  # handed out 1, 3 (a tie: items order), 6, 4, 0, 7, 2, 5
    order = sorted(items, key=lambda i: (-cost[i], i))
    for kw, expected in (({"cost": cost}, order), ({}, items)):
        got = fitcache.map_forked(_pid_and_clock, items, **kw)
        assert [x for x, _, _ in got] == items  # the items' order, whatever order they were computed in
        by_worker: dict[int, list[tuple[int, int]]] = {}
        for x, pid, clock in got:
            by_worker.setdefault(pid, []).append((clock, x))
        assert len(by_worker) <= 2
        for seq in by_worker.values():  # each worker took its items in the order they were handed out
            taken = [x for _, x in sorted(seq)]
            assert taken == [x for x in expected if x in taken]


def test_map_forked_computes_in_forks_in_order_and_falls_back_when_a_worker_dies(monkeypatch) -> None:
    import os

    monkeypatch.setattr(fitcache, "WORKERS", 2)
    got = fitcache.map_forked(_square_then_pid, list(range(7)))
    assert [v for v, _ in got] == [x * x for x in range(7)]
    assert {pid for _, pid in got} - {os.getpid()}  # computed in forked processes
    nested = fitcache.map_forked(lambda x: fitcache.map_forked(_square_then_pid, [x, x + 1]), [1, 2])
    assert [[v for v, _ in row] for row in nested] == [[1, 4], [4, 9]]
    assert all(len({pid for _, pid in row}) == 1 for row in nested)  # inside a worker: computed in that worker
    parent = os.getpid()

    def dies_in_a_fork(x: int) -> int:
        if os.getpid() != parent:
            os._exit(1)
        return x + 1

    assert fitcache.map_forked(dies_in_a_fork, [1, 2, 3]) == [2, 3, 4]  # recomputed here
    monkeypatch.setattr(fitcache, "WORKERS", 1)
    assert fitcache.map_forked(_square_then_pid, [3]) == [(9, parent)]


def test_start_forked_lets_this_process_work_beside_its_workers(monkeypatch) -> None:
    """The workers are forked and handed every item at once; meanwhile this process computes other work, and a
    map_forked it calls runs here (no fork while the workers run); afterwards map_forked forks again."""
    import os

    monkeypatch.setattr(fitcache, "WORKERS", 2)
    parent = os.getpid()
    pending = fitcache.start_forked(_pid_and_clock, list(range(6)), cost=[1, 2, 3, 4, 5, 6])
    beside = fitcache.map_forked(_square_then_pid, [4, 5])
    assert beside == [(16, parent), (25, parent)]
    got = pending.result()
    assert [x for x, _, _ in got] == list(range(6))
    assert {pid for _, pid, _ in got} and parent not in {pid for _, pid, _ in got}
    assert {pid for _, pid in fitcache.map_forked(_square_then_pid, [1, 2, 3])} - {parent}  # forked again

    def dies_in_a_fork(x: int) -> int:
        if os.getpid() != parent:
            os._exit(1)
        return -x

    assert fitcache.start_forked(dies_in_a_fork, [1, 2]).result() == [-1, -2]  # recomputed here
    monkeypatch.setattr(fitcache, "WORKERS", 1)
    assert fitcache.start_forked(_square_then_pid, [3, 4]).result() == [(9, parent), (16, parent)]


def test_a_cancelled_start_forked_stops_its_workers_and_later_calls_fork_again(monkeypatch) -> None:
    import os

    monkeypatch.setattr(fitcache, "WORKERS", 2)
    parent = os.getpid()
    pending = fitcache.start_forked(_pid_and_clock, list(range(4)))
    assert fitcache.map_forked(_square_then_pid, [1, 2]) == [(1, parent), (4, parent)]  # its workers run
    pending.cancel()
    assert fitcache._FORKED is None
    assert {pid for _, pid in fitcache.map_forked(_square_then_pid, [1, 2, 3])} - {parent}  # forked again
    pending.cancel()  # twice: nothing left to stop
