"""Time the redaction stage alone on an existing processed folder: wall and CPU seconds (this process and its
children, the detection worker included).

Usage (the data folders are chosen by ``ANALYSIS_DATA_RAW`` / ``ANALYSIS_DATA_PROCESSED``; wrap it in a tree-RSS
sampler for the peak)::

    python benchmarks/redaction_stage.py bench200000c90
"""

from __future__ import annotations

import resource
import sys
import time


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(consultation: str) -> None:
    """Run the redaction stage of ``consultation`` and print its wall and CPU seconds."""
    from analysis import pipeline

    wall, cpu = time.perf_counter(), _cpu()
    pipeline.run(consultation, stages=["redaction"], force=True)
    print(f"redaction {consultation}: wall {time.perf_counter() - wall:.1f} s, cpu {_cpu() - cpu:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
