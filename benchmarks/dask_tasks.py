"""Per-task throughput of a dask-engine run, and a projection of a larger consultation on more workers.

Reads the task log a run wrote (``ANALYSIS_DASK_TASK_LOG=tasks.jsonl``: one line a task, with its wall and CPU
seconds on the worker; :data:`analysis.engine.TASK_LOG_ENV`) and that run's figures
(``benchmarks/end_to_end.py --one-run --engine dask --json run.json``), and prints per stage: the tasks, their
summed seconds, the mean task's seconds and units (its ``cost`` where the stage gives one), and the stage's
*serial* part, what is left of its wall time once its tasks' seconds are spread over the run's workers
(``wall - task seconds / workers``, at least 0: the pipeline's own process reading, grouping and writing).

The projection to ``--to`` responses on ``N`` workers assumes both parts grow in proportion to the responses (the
tasks are sized by rows, so their number grows and each one's cost does not; the serial part reads and writes
every row) and that the tasks spread evenly::

    T(N workers) = sum over stages of (serial + task seconds / N) * (to / n)

It says nothing about memory: the figures beside it do (the workers' peaks are bounded by the tasks' sizes; the
pipeline's process, which runs the serial part, is not).

Usage::

    python benchmarks/dask_tasks.py --tasks tasks.jsonl --figures run.json [--to 20000000] [--workers 2,4,8,16,32]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

#: The stages whose tasks run on the cluster, by their tasks' label prefix.
STAGE_OF_LABEL = {"ingest": "ingest", "redaction": "redaction", "campaigns": "campaigns", "themes": "themes",
                  "positions": "positions"}


def stage_of(label: str) -> str:
    """The stage a task's label belongs to (its first word)."""
    return STAGE_OF_LABEL.get(label.split("-", 1)[0], "other")


def summarise(tasks: list[dict], figures: dict, workers: int) -> dict[str, dict]:
    """Per stage: wall seconds, task count, summed task wall and CPU seconds, the serial part."""
    by_stage: dict[str, dict] = defaultdict(lambda: {"tasks": 0, "task_s": 0.0, "task_cpu_s": 0.0,
                                                       "labels": defaultdict(lambda: [0, 0.0, 0.0])})
    for t in tasks:
        row = by_stage[stage_of(t["label"])]
        row["tasks"] += 1
        row["task_s"] += t["wall_s"]
        row["task_cpu_s"] += t["cpu_s"]
        lab = row["labels"][t["label"]]
        lab[0] += 1
        lab[1] += t["wall_s"]
        lab[2] += t["cost"] or 0.0
    out = {}
    for stage, fig in figures["stages"].items():
        row = by_stage.get(stage, {"tasks": 0, "task_s": 0.0, "task_cpu_s": 0.0, "labels": {}})
        serial = max(0.0, fig["wall"] - row["task_s"] / workers)
        out[stage] = {"wall": fig["wall"], "peak_mb": fig.get("peak_mb"), "tasks": row["tasks"],
                      "task_s": row["task_s"], "task_cpu_s": row["task_cpu_s"], "serial_s": serial,
                      "labels": {k: {"tasks": v[0], "task_s": v[1], "cost": v[2]} for k, v in row["labels"].items()}}
    return out


def project(stages: dict[str, dict], n: int, to: int, workers: list[int]) -> dict[int, float]:
    """Projected wall seconds for ``to`` responses on each number of workers."""
    scale = to / n
    return {w: sum((s["serial_s"] + s["task_s"] / w) * scale for s in stages.values()) for w in workers}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=Path, required=True, help="the run's task log (JSON lines)")
    ap.add_argument("--figures", type=Path, required=True, help="the run's end_to_end.py --json figures")
    ap.add_argument("--to", type=int, default=20_000_000, help="responses to project to")
    ap.add_argument("--workers", default="2,4,8,16,32", help="worker counts to project for")
    ap.add_argument("--run-workers", type=int, default=2, help="the measured run's workers")
    ap.add_argument("--n", type=int, default=None, help="the measured run's responses (default: its figures')")
    args = ap.parse_args(argv)
    tasks = [json.loads(line) for line in args.tasks.read_text(encoding="utf-8").splitlines() if line.strip()]
    figures = json.loads(args.figures.read_text(encoding="utf-8"))
    n = int(args.n or figures["n"])
    stages = summarise(tasks, figures, args.run_workers)
    print(f"measured: {n:,} responses on {args.run_workers} workers, {len(tasks):,} tasks")
    print(f"{'stage':<10} {'wall s':>8} {'tasks':>7} {'task s':>9} {'task cpu':>9} {'serial s':>9}  per label "
          "(tasks, mean s, mean cost)")
    for stage, s in stages.items():
        labels = "; ".join(f"{k} {v['tasks']}, {v['task_s'] / v['tasks']:.2f} s"
                           + (f", {v['cost'] / v['tasks']:,.0f}" if v["cost"] else "")
                           for k, v in sorted(s["labels"].items()))
        print(f"{stage:<10} {s['wall']:8.1f} {s['tasks']:7d} {s['task_s']:9.1f} {s['task_cpu_s']:9.1f} "
              f"{s['serial_s']:9.1f}  {labels}")
    total_tasks = sum(s["task_s"] for s in stages.values())
    total_serial = sum(s["serial_s"] for s in stages.values())
    print(f"total: task seconds {total_tasks:,.1f}, serial seconds {total_serial:,.1f}")
    workers = [int(w) for w in args.workers.split(",")]
    for w, secs in project(stages, n, args.to, workers).items():
        print(f"projected {args.to:,} responses on {w} workers: {secs:,.0f} s ({secs / 3600:.2f} h); "
              f"of which serial {total_serial * args.to / n:,.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
