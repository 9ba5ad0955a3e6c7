"""The report's internal workbook and coded-answers CSV written alone (what the report's forked writer does).

Loads a consultation's processed tables as the report does, then writes
:data:`analysis.report.tables.INTERNAL_WORKBOOK` (and, above ``INTERNAL_SHEET_MAX_ROWS`` answers, the CSV beside it)
into a scratch folder, and prints its CPU and wall seconds and the resident memory it took above the loaded tables
(``VmRSS`` sampled every 50 ms). With ``--against`` the written files are compared byte for byte with a folder's.

Usage: ``python benchmarks/report_internal_csv.py <consultation> [--out DIR] [--against PROCESSED_DIR]``
(``ANALYSIS_DATA_RAW`` / ``ANALYSIS_DATA_PROCESSED`` select the data, as for a run).
"""

from __future__ import annotations

import argparse
import filecmp
import gc
import tempfile
import threading
import time
from pathlib import Path

from analysis import paths
from analysis.config import load_config
from analysis.report.load import load_tables
from analysis.report.tables import write_internal_workbook


def _rss_mb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    return 0


def main() -> None:
    """Parse the arguments, write the internal files and print what it took."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("consultation")
    ap.add_argument("--out", type=Path, default=None, help="folder written into (default: a temporary folder)")
    ap.add_argument("--against", type=Path, default=None, help="a processed folder whose internal files to compare")
    args = ap.parse_args()
    cfg = load_config(args.consultation)
    tables = load_tables(paths.processed_dir(args.consultation))
    gc.collect()
    base = _rss_mb()
    peak, done = [base], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_mb())
            time.sleep(0.05)

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        watcher = threading.Thread(target=sample, daemon=True)
        watcher.start()
        c0, w0 = time.process_time(), time.perf_counter()
        written = write_internal_workbook(cfg, tables, out)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        done.set()
        watcher.join()
        print(f"cpu {cpu:.2f} s   wall {wall:.2f} s   rss after load {base} MB, peak {peak[0]} MB (+{peak[0] - base})")
        for path in written:
            rel = path.relative_to(out)
            same = ""
            if args.against is not None:
                same = "  same" if filecmp.cmp(path, args.against / rel, shallow=False) else "  DIFFERS"
            print(f"{rel}  {path.stat().st_size:,} bytes{same}")


if __name__ == "__main__":
    main()
