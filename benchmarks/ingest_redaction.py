"""Time the ingest and redaction stages on a generated consultation against issue #18's baseline and budgets.

Usage::

    python benchmarks/ingest_redaction.py --work /tmp/ir-50k --n 50000 [--compare]

Generates the consultation with ``benchmarks/end_to_end.py``'s generator when ``--work`` does not hold it yet,
then runs the ``ingest`` and ``redaction`` stages once each (``force=True``) and prints CPU seconds (all threads,
``time.process_time``), wall seconds and peak RSS, with the ratios to issue #18's measured baseline (ingest:
13.8 CPU s at 10k, 50.6 at 50k; the lead's cProfile of redaction at 10k: 7.1 s) and to the per-stage budgets
at 50k (ingest 10 s; redaction about 6 s of the 20 s shared with campaigns). ``--compare`` also runs ingest with
the obviously-English first pass off (lingua on every distinct text: the detector before #18) and prints
after/before. Prints measured numbers only.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

#: Issue #18's measurements (CPU s; the redaction figure is the lead's cProfile at 10k, under other load).
BASELINE = {("ingest", 10_000): 13.8, ("ingest", 50_000): 50.6, ("redaction", 10_000): 7.1}
#: Per-stage budgets at 50,000 responses (s).
BUDGET_50K = {"ingest": 10.0, "redaction": 6.0}


def timed_stage(name: str, stage: str) -> tuple[float, float]:
    """Run one stage (forced) and return ``(cpu_s, wall_s)``."""
    from analysis import pipeline  # noqa: PLC0415 - after the environment is set

    c0, t0 = time.process_time(), time.perf_counter()
    pipeline.run(name, stages=[stage], force=True)
    return time.process_time() - c0, time.perf_counter() - t0


def report(stage: str, n: int, cpu: float, wall: float) -> None:
    line = f"{stage:10s} n={n:,}: {cpu:6.1f} s CPU, {wall:6.1f} s wall"
    if (stage, n) in BASELINE:
        line += f"; ratio to the issue's baseline ({BASELINE[stage, n]} s): {cpu / BASELINE[stage, n]:.2f}"
    budget = BUDGET_50K[stage] * n / 50_000
    line += f"; ratio to the budget scaled to n ({budget:.1f} s): {cpu / budget:.2f}"
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20211)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--compare", action="store_true", help="also time ingest with the English first pass off")
    args = ap.parse_args(argv)
    raw_root = args.work / "raw"
    os.environ.update(ANALYSIS_DATA_RAW=str(raw_root), ANALYSIS_DATA_PROCESSED=str(args.work / "processed"),
                      ANALYSIS_REPORTS=str(args.work / "reports"), HF_HUB_OFFLINE="1", MPLBACKEND="Agg")
    name = f"bench{args.n}"
    if not (raw_root / name / "consultation.yml").exists():
        from end_to_end import generate  # noqa: PLC0415

        generate(raw_root / name, args.n, args.seed)
    from analysis.ingest import language  # noqa: PLC0415

    results = {}
    for stage in ("ingest", "redaction"):
        results[stage] = timed_stage(name, stage)
        report(stage, args.n, *results[stage])
    if args.compare:
        language._DEFAULT = language.LanguageGuesser(fast_english=False)
        cpu, wall = timed_stage(name, "ingest")
        print(f"ingest with lingua on every text (before #18): {cpu:.1f} s CPU, {wall:.1f} s wall; "
              f"after/before: CPU {results['ingest'][0] / cpu:.2f}, wall {results['ingest'][1] / wall:.2f}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
