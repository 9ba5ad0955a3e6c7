"""A stance model counted and predicted a chunk of texts at a time against the whole question, on real text: ArgKP.

Usage::

    python benchmarks/positions_chunked_argkp.py [--argkp ../shared/data/argkp-2021] [--chunk 300] [--seed 0]

The train and dev arguments (never the test split), per motion (28): a seeded 60% labelled with their authors'
stance train the model, the other 40% (and 50 of them again, as repeats) are predicted, once with
:func:`analysis.positions.model.cross_fit` whole and once with
:func:`analysis.positions.chunked.cross_fit_chunked` in chunks of ``--chunk`` distinct texts. Printed: whether
every vocabulary and idf is the same, how many predicted and out-of-fold positions differ, the largest difference
between confidences, and the accuracy of both on the predicted arguments.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.positions import chunked
from analysis.positions.model import StanceModel, cross_fit


def _here(fn, items, *, label, shared):  # noqa: ARG001 - the runner's signature, in this process
    return [fn(x, **shared) for x in items]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--argkp", type=Path, default=Path("../shared/data/argkp-2021"))
    ap.add_argument("--chunk", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    df = pd.concat([pd.read_csv(a.argkp / f"arguments_{s}.csv") for s in ("train", "dev")], ignore_index=True)
    df["label"] = np.where(df["stance"] == 1, "support", "oppose")
    rng = np.random.default_rng(a.seed)
    same_vocab, n_pred, flips, oof_flips, diff = True, 0, 0, 0, 0.0
    right_whole = right_chunked = 0
    times = [0.0, 0.0]
    for _topic, g in df.groupby("topic", sort=True):
        idx = rng.permutation(len(g))
        k = int(0.6 * len(g))
        train, test = g.iloc[idx[:k]], g.iloc[idx[k:]]
        texts, labels = train["argument"].astype(str).tolist(), train["label"].tolist()
        predict = test["argument"].astype(str).tolist() + test["argument"].astype(str).tolist()[:50]
        truth = np.array(test["label"].tolist() + test["label"].tolist()[:50])
        t0 = time.perf_counter()
        m1, o1, p1 = cross_fit(StanceModel(seed=a.seed), texts, labels, folds=5, predict=predict, parallel=False)
        t1 = time.perf_counter()
        m2, o2, p2 = chunked.cross_fit_chunked(StanceModel(seed=a.seed), texts, labels, folds=5, predict=predict,
                                               run=_here, size=a.chunk)
        times[0] += t1 - t0
        times[1] += time.perf_counter() - t1
        for (_, w), (_, c) in zip(m1.featurizer_.transformer_list, m2.featurizer_.transformer_list, strict=True):
            same_vocab &= w.vocabulary_ == c.vocabulary_ and np.array_equal(w.idf_, c.idf_)
        n_pred += len(p1)
        flips += int((p1["position"].to_numpy() != p2["position"].to_numpy()).sum())
        oof_flips += int((o1["position"].to_numpy() != o2["position"].to_numpy()).sum())
        diff = max(diff, float(np.abs(p1["confidence"].to_numpy() - p2["confidence"].to_numpy()).max()),
                   float(np.abs(o1["confidence"].to_numpy() - o2["confidence"].to_numpy()).max()))
        right_whole += int((p1["position"].to_numpy() == truth).sum())
        right_chunked += int((p2["position"].to_numpy() == truth).sum())
    print(f"ArgKP train+dev: {df['topic'].nunique()} motions, {len(df)} arguments; chunks of {a.chunk} distinct texts")
    print(f"vocabulary and idf identical: {same_vocab}")
    print(f"predicted {n_pred}: positions differing {flips}; out-of-fold positions differing {oof_flips}; "
          f"largest confidence difference {diff:.3g}")
    print(f"accuracy (unclear counted wrong): whole {right_whole / n_pred:.4f}, chunked {right_chunked / n_pred:.4f}")
    print(f"time: whole {times[0]:.1f}s, chunked (one process) {times[1]:.1f}s")


if __name__ == "__main__":
    main()
