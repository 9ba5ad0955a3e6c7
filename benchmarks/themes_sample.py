"""Theme accuracy on the bundled SYNTHETIC sample against its ``ground_truth/themes.csv``.

Usage::

    python benchmarks/themes_sample.py [--processed DIR] [--raw data/raw/sample] [--show-missed N]

``--processed`` is a folder holding the sample's processed tables (``core_answers_clean`` ...), e.g.
produced by ``ANALYSIS_DATA_PROCESSED=/tmp/x analysis run sample`` (then ``DIR`` = ``/tmp/x/sample``).
Without it the pipeline is run into a temporary folder first. The themes stage is (re-)run on ``DIR``
(it rewrites ``core_themes``, ``core_answer_themes`` and ``out_theme_model`` there), twice, and the two
runs are compared byte for byte.

Printed per question x theme: truth share, model share (percent of the question's answers),
difference; per question: % not coded (``other`` or ``_untranslated``) for the model and the truth
(truth "not coded" = answers with no theme or only ``other`` in the ground truth); then micro pair
precision / recall / F1 over (answer, theme) pairs (``other`` excluded), the number of cells within
5 percentage points and the worst cell.

Ground-truth key: the part of ``response_id`` after ``<source>:`` (survey Response ID or email file name).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from analysis.config import load_config  # noqa: E402
from analysis.embeddings import verified_minilm_dir  # noqa: E402
from analysis.tables import read_table  # noqa: E402
from analysis.themes import stage as themes  # noqa: E402

NOT_CODED = ("other", "_untranslated")
OUTPUTS = ("core_themes.parquet", "core_answer_themes.parquet", "out_theme_model.parquet")


def prepare(raw: Path, work: Path) -> Path:
    """Run the pipeline on the sample into ``work`` and return the processed folder of the sample."""
    env = dict(os.environ, ANALYSIS_DATA_PROCESSED=str(work / "processed"), ANALYSIS_REPORTS=str(work / "reports"),
               ANALYSIS_DATA_RAW=str(raw.parent))
    subprocess.run([str(Path(sys.executable).parent / "analysis"), "run", raw.name], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return work / "processed" / raw.name


def _truth_keys(processed: Path) -> dict:
    """response_id -> ground-truth key: the survey's Response ID, or the letter's file name.

    Letters' ids are hashed (``emails:<sha256(file name)[:12]>``) so a sender's name in a file name is
    never published; the ground truth is keyed by file name, so map through ``core_responses``.
    """
    r = read_table("core_responses", processed)
    key = r["source_file"].str.replace(r"^.*/", "", regex=True)
    survey = r["source_file"].str.endswith(".csv") | r["source_file"].str.endswith(".xlsx")
    key[survey] = r["response_id"][survey].str.split(":", n=1).str[1]
    return dict(zip(r["response_id"], key, strict=True))


def evaluate(raw: Path, processed: Path, show_missed: int = 0, **overrides) -> dict:
    """Run the themes stage on ``processed`` and compare with the ground truth (prints the tables).

    ``overrides`` replace ``settings.themes`` fields (e.g. ``min_score=0.12``) for a sweep.
    """
    cfg = load_config(raw / "consultation.yml")
    for k, v in overrides.items():
        if v is not None:
            setattr(cfg.settings.themes, k, v)
    open_ids = [q.id for q in cfg.open_questions]
    t0 = time.time()
    themes.run(cfg, raw_dir=raw, processed_dir=processed)
    secs = time.time() - t0
    first = {n: (processed / n).read_bytes() for n in OUTPUTS}
    at = read_table("core_answer_themes", processed)
    ans = read_table("core_answers_clean", processed)
    ans = ans[ans["question_id"].isin(open_ids)].copy()
    gt = pd.read_csv(raw / "ground_truth" / "themes.csv", dtype=str)
    key_of = _truth_keys(processed)
    at["key"] = at["response_id"].map(key_of)
    ans["key"] = ans["response_id"].map(key_of)
    truth_sets = gt.groupby(["response_key", "question_id"])["theme_id"].agg(set).to_dict()
    mine_sets = at.groupby(["key", "question_id"])["theme_id"].agg(set).to_dict()
    rows, qrows = [], []
    for qid, g in ans.groupby("question_id", sort=True):
        n = len(g)
        keys = list(zip(g["key"], g["question_id"], strict=True))
        t_sets = [truth_sets.get(k, set()) for k in keys]
        m_sets = [mine_sets.get(k, set()) for k in keys]
        ids = sorted(set().union(*t_sets, *m_sets) - set(NOT_CODED))
        for th in ids:
            tp_ = 100 * sum(th in s for s in t_sets) / n
            mp_ = 100 * sum(th in s for s in m_sets) / n
            rows.append({"question": qid, "theme": th, "n": n, "truth_pct": tp_, "model_pct": mp_, "diff_pp": mp_ - tp_})
        qrows.append({"question": qid, "n": n,
                      "model_not_coded_pct": 100 * sum(not (s - set(NOT_CODED)) for s in m_sets) / n,
                      "truth_not_coded_pct": 100 * sum(not (s - {"other"}) for s in t_sets) / n})
    r = pd.DataFrame(rows)
    q = pd.DataFrame(qrows)
    pd.set_option("display.width", 200)
    print(r.round(1).to_string(index=False))
    print()
    print(q.round(1).to_string(index=False))
    mine = {(k, qid, t) for (k, qid), s in mine_sets.items() for t in s if t not in NOT_CODED}
    truth = {(k, qid, t) for (k, qid), s in truth_sets.items() for t in s if t != "other"}
    tp = len(mine & truth)
    p, rec = tp / max(len(mine), 1), tp / max(len(truth), 1)
    all_keys = list(zip(ans["key"], ans["question_id"], strict=True))
    nc = 100 * sum(not (mine_sets.get(k, set()) - set(NOT_CODED)) for k in all_keys) / len(all_keys)
    truth_nc = 100 * sum(not (truth_sets.get(k, set()) - {"other"}) for k in all_keys) / len(all_keys)
    worst = r.loc[r["diff_pp"].abs().idxmax()]
    themes.run(cfg, raw_dir=raw, processed_dir=processed)
    same = all((processed / n).read_bytes() == b for n, b in first.items())
    print(f"\nnot coded: model {nc:.1f}% (truth {truth_nc:.1f}%) | within 5 pp: {(r['diff_pp'].abs() <= 5).sum()}/{len(r)} "
          f"| mean |diff| {r['diff_pp'].abs().mean():.2f} pp | worst {worst['diff_pp']:+.1f} pp ({worst['question']} x "
          f"{worst['theme']}) | micro P {p:.3f} R {rec:.3f} F1 {2 * p * rec / max(p + rec, 1e-9):.3f} "
          f"| identical on 2nd run: {same} | themes stage {secs:.1f}s")
    if show_missed:
        text = dict(zip(zip(ans["key"], ans["question_id"], strict=True), ans["text_redacted"], strict=True))
        missed = [k for k in all_keys if not (mine_sets.get(k, set()) - set(NOT_CODED)) and truth_sets.get(k, set()) - {"other"}]
        print(f"\n{len(missed)} answers not coded whose truth has a theme (first {show_missed}):")
        for k in missed[:show_missed]:
            print(f"  {k[1]} {sorted(truth_sets[k])}: {str(text[k])[:160]!r}")
    return {"not_coded_pct": nc, "within5": int((r["diff_pp"].abs() <= 5).sum()), "cells": len(r),
            "worst_pp": float(abs(worst["diff_pp"])), "precision": p, "recall": rec, "identical": same}


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raw", type=Path, default=ROOT / "data" / "raw" / "sample")
    ap.add_argument("--processed", type=Path, help="processed folder of the sample (default: run the pipeline)")
    ap.add_argument("--show-missed", type=int, default=0, help="print N answers the model left uncoded")
    ap.add_argument("--min-score", type=float, help="override settings.themes.min_score")
    ap.add_argument("--relative", type=float, help="override settings.themes.relative_score")
    ap.add_argument("--backend", choices=["tfidf", "sentence-transformers"], help="override settings.themes.backend")
    ap.add_argument("--model", help="local sentence-transformers folder (default: the verified MiniLM, if installed)")
    ap.add_argument("--classifier", choices=["auto", "off"], help="override settings.themes.classifier")
    ap.add_argument("--pool", choices=["on", "off"], help="override settings.themes.pool_questions")
    ns = ap.parse_args(argv)
    kw = {"min_score": ns.min_score, "relative_score": ns.relative, "backend": ns.backend,
          "classifier": ns.classifier, "pool_questions": None if ns.pool is None else ns.pool == "on"}
    if ns.backend == "sentence-transformers":
        model = ns.model or verified_minilm_dir()
        if model is None:
            ap.error("--backend sentence-transformers needs --model DIR (no verified local MiniLM found)")
        kw["model"] = str(model)
    if ns.processed:
        # the embedding cache lives under <processed root>/<consultation>/cache: keep it next to DIR
        os.environ["ANALYSIS_DATA_PROCESSED"] = str(ns.processed.resolve().parent)
        evaluate(ns.raw, ns.processed, ns.show_missed, **kw)
        return
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ANALYSIS_DATA_PROCESSED"] = str(Path(tmp) / "processed")
        evaluate(ns.raw, prepare(ns.raw, Path(tmp)), ns.show_missed, **kw)


if __name__ == "__main__":
    main()
