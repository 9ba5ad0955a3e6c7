"""CPU time of the report's quote selection with an empty trim cache (a first run) and with the cache it wrote (a
re-run), for this checkout's :mod:`analysis.report.quotes` and, optionally, another checkout's (``--other``),
alternated in one process on the same tables (the machine's load moves less between two calls than between runs).

Usage::

    PYTHONPATH=src python benchmarks/quotes_cold.py <processed folder> [--other /path/to/other/quotes.py] [--rounds 3]

Each line: ``<module> <cold|warm> cpu <s> wall <s> quotes <n> cache <bytes>``; the quotes of every call must be equal
(the script stops otherwise).
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from analysis.report import quotes as mine


def _load_other(path: Path):
    spec = importlib.util.spec_from_file_location("quotes_other", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["quotes_other"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("processed", type=Path)
    ap.add_argument("--other", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    t = {name: pd.read_parquet(args.processed / f"{name}.parquet") for name in (
        "core_answers_clean", "core_answer_themes", "core_answer_positions", "core_responses")}
    mods = [("mine", mine)] + ([("other", _load_other(args.other))] if args.other else [])
    want = None
    for _ in range(args.rounds):
        for name, mod in mods:
            folder = Path(tempfile.mkdtemp(prefix="quotes_cold_"))
            try:
                for kind in ("cold", "warm"):
                    c0, w0 = time.process_time(), time.perf_counter()
                    got = mod.select_quotes(t["core_answers_clean"], t["core_answer_themes"],
                                            t["core_answer_positions"], t["core_responses"], seed=args.seed,
                                            trim_store=folder)
                    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
                    size = sum(p.stat().st_size for p in folder.iterdir())
                    print(f"{name} {kind} cpu {cpu:.2f} wall {wall:.2f} quotes {len(got)} cache {size}", flush=True)
                    if want is None:
                        want = got
                    pd.testing.assert_frame_equal(got, want, check_exact=True)
            finally:
                shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
