"""What Pol.is open data lets us measure about per-statement support.

Usage::

    python benchmarks/polis.py --data /work/shared/data/polis [--features tfidf,minilm]

For every conversation folder under ``--data`` (read with :func:`analysis.ingest.polis.read_polis`):

* size: accepted / moderated-out statements, where the tallies come from;
* tally consistency: the comments' own agrees/disagrees columns vs the latest-vote tallies from
  ``votes.csv`` / ``participants-votes.csv`` (share of statements with identical counts, mean
  absolute difference of the agree share);
* statement verdicts (``analysis.positions.polis_votes.statement_positions``): how many statements have
  a Wilson interval of their agree share clearly above / below 0.5;
* can the *text* of a statement predict its agree share? 5-fold cross-validated ridge regression
  on TF-IDF (and MiniLM embeddings when the local package is importable): Pearson and Spearman
  correlation of predicted vs observed agree share, and the mean absolute error against the
  "predict the mean" baseline.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import pearsonr, spearmanr
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import make_pipeline

from analysis.ingest.polis import read_polis
from analysis.positions.model import minilm_featurizer, tfidf_featurizer
from analysis.positions.polis_votes import statement_positions


def text_predictability(texts: list[str], share: np.ndarray, feats, seed: int) -> dict[str, float]:
    cv = KFold(5, shuffle=True, random_state=seed)
    model = make_pipeline(feats, RidgeCV(alphas=np.logspace(-2, 3, 12)))
    pred = cross_val_predict(model, texts, share, cv=cv)
    base = cross_val_predict(make_pipeline(feats, RidgeCV(alphas=[1e12])), texts, share, cv=cv)
    return dict(pearson=pearsonr(pred, share)[0], spearman=spearmanr(pred, share)[0],
                mae=np.mean(np.abs(pred - share)), mae_mean_baseline=np.mean(np.abs(base - share)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--features", default="tfidf,minilm")
    ap.add_argument("--min-votes", type=int, default=10, help="statements with fewer agree+disagree votes are skipped")
    ap.add_argument("--seed", type=int, default=20211)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    featurizers = {}
    for name in args.features.split(","):
        if name == "tfidf":
            featurizers[name] = tfidf_featurizer
        elif name == "minilm":
            emb = minilm_featurizer()
            if emb is None:
                print("minilm: not importable, skipped")
            else:
                featurizers[name] = lambda emb=emb: emb
    rows, pred_rows = [], []
    for conv in sorted(p for p in args.data.iterdir() if (p / "comments.csv").exists()):
        tables, rejects = read_polis(conv)
        sv = tables["core_statement_votes"]
        ans = tables["core_answers"].set_index("response_id")["answer"]
        com = pd.read_csv(conv / "comments.csv")
        com = com[com["moderated"] != -1].assign(response_id=lambda d: "polis:" + d["comment-id"].astype(str))
        m = sv.merge(com[["response_id", "agrees", "disagrees"]], on="response_id", suffixes=("", "_tally"))
        n = m["agrees"] + m["disagrees"]
        nt = m["agrees_tally"] + m["disagrees_tally"]
        ok = (n > 0) & (nt > 0)
        diff = np.abs(m.loc[ok, "agrees"] / n[ok] - m.loc[ok, "agrees_tally"] / nt[ok])
        verdict = statement_positions(sv)["position"].value_counts()
        rows.append(dict(conversation=conv.name, accepted=len(sv), moderated_out=int((rejects["reason"] == "moderated out").sum()),
                         votes_source=sv["votes_source"].iloc[0] if len(sv) else "-",
                         votes=int(n.sum()), tallies_identical=float(((m["agrees"] == m["agrees_tally"])
                                                                       & (m["disagrees"] == m["disagrees_tally"])).mean()),
                         share_abs_diff=float(diff.mean()) if len(diff) else np.nan,
                         support=int(verdict.get("support", 0)), oppose=int(verdict.get("oppose", 0)),
                         unclear=int(verdict.get("unclear", 0))))
        keep = sv[(sv["agrees"] + sv["disagrees"]) >= args.min_votes]
        if len(keep) < 30:
            continue
        share = (keep["agrees"] / (keep["agrees"] + keep["disagrees"])).to_numpy(dtype=float)
        texts = [ans[r] for r in keep["response_id"]]
        for fname, make in featurizers.items():
            pred_rows.append(dict(conversation=conv.name, features=fname, n=len(keep), share_mean=share.mean(),
                                  share_sd=share.std(), **text_predictability(texts, share, make(), args.seed)))
    pd.set_option("display.width", 200)
    print("conversations (tallies: comments.csv agrees/disagrees vs latest-vote tallies):")
    print(pd.DataFrame(rows).round(3).to_string(index=False))
    if pred_rows:
        print(f"\ncan a statement's text predict its agree share? (5-fold CV ridge, statements with >= {args.min_votes} votes)")
        pr = pd.DataFrame(pred_rows).round(3)
        print(pr.to_string(index=False))
        print("\nmean over conversations:")
        print(pr.groupby("features")[["pearson", "spearman", "mae", "mae_mean_baseline"]].mean().round(3).to_string())


if __name__ == "__main__":
    main()
