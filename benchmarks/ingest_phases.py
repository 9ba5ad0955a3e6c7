"""The ingest stage alone, in this process, with the RSS peak and CPU time of each of its phases.

Usage (the consultation's raw folder is ``$ANALYSIS_DATA_RAW/<consultation>``)::

    ANALYSIS_DATA_RAW=/tmp/w200/raw python benchmarks/ingest_phases.py bench200000c90 /tmp/out/processed

Prints one line per phase (entering or leaving a function of :mod:`analysis.ingest.stage`: reading the sources,
assembling the tables, the answers frame, writing each table) with the peak RSS sampled every 50 ms while it ran,
the RSS when it ended and the CPU time so far; then the whole run's wall, CPU and peak (``ru_maxrss``). Measured
figures only: RSS depends on the allocators (Python's, glibc's, Arrow's), so compare runs back to back.
"""

from __future__ import annotations

import argparse
import os
import resource
import threading
import time
from pathlib import Path

from analysis.config import load_config
from analysis.ingest import stage

PHASES = ("read_source", "assemble", "_answers_frame", "_languages", "_key_order", "write_table")


def _rss_mb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


class Phases:
    """Wraps functions of :mod:`analysis.ingest.stage`; records (phase, peak MB, MB at its end, CPU s)."""

    def __init__(self) -> None:
        self.peak, self.phase, self.log = 0, "start", []
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, _rss_mb())
            time.sleep(0.05)

    def mark(self, name: str) -> None:
        self.log.append((self.phase, self.peak, _rss_mb(), time.process_time()))
        self.phase, self.peak = name, 0

    def wrap(self, name: str) -> None:
        inner = getattr(stage, name, None)
        if inner is None:
            return

        def wrapped(*args, **kwargs):
            self.mark(f"{name} >")
            try:
                return inner(*args, **kwargs)
            finally:
                self.mark(f"{name} <")

        setattr(stage, name, wrapped)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("consultation")
    ap.add_argument("processed", type=Path, help="folder the tables are written to")
    args = ap.parse_args()
    raw = Path(os.environ.get("ANALYSIS_DATA_RAW", "data/raw")) / args.consultation
    cfg = load_config(raw / "consultation.yml")
    phases = Phases()
    for name in PHASES:
        phases.wrap(name)
    t0 = time.time()
    stage.run(cfg, raw_dir=raw, processed_dir=args.processed)
    phases.mark("end")
    for phase, peak, end, cpu in phases.log:
        print(f"{phase:20s} peak {peak:6d} MB  at its end {end:6d} MB  cpu so far {cpu:6.1f} s")
    print(f"wall {time.time() - t0:.1f} s, cpu {time.process_time():.1f} s, "
          f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
