"""Benchmark the publication guard: time on a real reports folder and on a synthetic 50,000-row CSV table.

Usage::

    python benchmarks/guard.py [--reports reports/sample] [--processed data/processed/sample] [--rows 50000]

The budget is 10 s for redaction + guard at 50,000 answers on 2 cores, of which the guard's share is 4 s
(it scans the reports, not every answer). Prints, for each case, wall and CPU seconds, the size scanned, the
number of findings and the ratio to the 4 s budget (the guard is single-threaded: its CPU time is its wall time
on an unloaded machine; on a shared, busy one wall time is longer):

* ``reports``: the given reports folder (default: the sample's, written by ``make results``), with the exact
  check against its processed folder when that exists;
* ``csv-50k``: a reports folder holding one CSV table of ``--rows`` rows shaped like the workbook's coded
  answers sheet (ids, question, theme, position, redacted answer text). The text is real: the redaction
  false-positive fixture (600 Pol.is and ArgKP statements, ``tests/fixtures/pii``), cycled and seeded.

The one-off cost of loading the name lexicon (Faker lists + word counts, once per process) is printed apart.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from analysis.redaction.guard import name_lexicon, scan_reports

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 4.0
FIXTURES = ROOT / "tests" / "fixtures" / "pii"


def _statements() -> list[str]:
    texts = pd.read_csv(FIXTURES / "polis_statements.csv")["comment-body"].astype(str).tolist()
    return texts + pd.read_csv(FIXTURES / "argkp_arguments.csv")["argument"].astype(str).tolist()


def write_table(folder: Path, rows: int, seed: int = 7) -> Path:
    """A coded-answers-like CSV of ``rows`` rows of real statements (1-3 per answer), seeded."""
    rng = random.Random(seed)
    texts = _statements()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "coded_answers.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["response_id", "question_id", "theme", "position", "weight", "text_redacted"])
        for i in range(rows):
            answer = " ".join(rng.choice(texts) for _ in range(rng.randint(1, 3)))
            out.writerow([f"r{i:06d}", f"q{rng.randint(1, 6)}", f"theme {rng.randint(1, 12)}",
                          rng.choice(["support", "oppose", "neutral"]), f"{rng.random():.4f}", answer])
    return path


def _measure(name: str, reports: Path, processed: Path | None) -> float:
    size = sum(p.stat().st_size for p in reports.rglob("*") if p.is_file())
    wall, cpu = time.perf_counter(), time.process_time()
    findings, unreadable, _images = scan_reports(reports, processed)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{name:<10} {size / 1e6:7.1f} MB {wall:7.2f} s wall {cpu:7.2f} s CPU  findings {len(findings):>4}  "
          f"unreadable {len(unreadable):>3}  ratio to the {BUDGET_S:.0f} s budget: wall {wall / BUDGET_S:.2f}, "
          f"CPU {cpu / BUDGET_S:.2f}")
    return cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=Path, default=ROOT / "reports" / "sample")
    parser.add_argument("--processed", type=Path, default=ROOT / "data" / "processed" / "sample")
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args(argv)
    t = time.perf_counter()
    name_lexicon()
    print(f"name lexicon loaded once per process in {time.perf_counter() - t:.2f} s")
    worst = 0.0
    if args.reports.is_dir():
        processed = args.processed if (args.processed / "core_responses.parquet").exists() else None
        worst = max(worst, _measure("reports", args.reports, processed))
    else:
        print(f"reports: {args.reports} not found (run `make results`); skipped")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "reports"
        write_table(folder, args.rows)
        worst = max(worst, _measure(f"csv-{args.rows // 1000}k", folder, None))
    print(f"worst case {worst:.2f} s CPU (single-threaded, so the wall time of an unloaded machine): "
          f"{'within' if worst <= BUDGET_S else 'OVER'} the {BUDGET_S:.0f} s budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
