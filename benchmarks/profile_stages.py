"""Profile each pipeline stage with cProfile on a generated consultation (the issue's hot-spot command).

Usage::

    python benchmarks/profile_stages.py --work /tmp/e2e-10k [--n 10000] [--campaign-share 0.9] [--stages themes,report] [--top 25]

Generates the consultation with ``benchmarks/end_to_end.py``'s generator when ``--work`` does not hold it yet,
runs each named stage once under cProfile (``force=True``) and prints the functions with the most cumulative
and own time; the raw profiles are written to ``--work/profile_<stage>.pstats`` for snakeviz or pstats.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20211)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--campaign-share", type=float, default=None,
                    help="share of respondents sending a campaign letter (as benchmarks/end_to_end.py)")
    ap.add_argument("--stages", default=None)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args(argv)
    raw_root, proc_root, rep_root = args.work / "raw", args.work / "processed", args.work / "reports"
    os.environ.update(ANALYSIS_DATA_RAW=str(raw_root), ANALYSIS_DATA_PROCESSED=str(proc_root),
                      ANALYSIS_REPORTS=str(rep_root), HF_HUB_OFFLINE="1", MPLBACKEND="Agg")
    share = args.campaign_share
    name = f"bench{args.n}" + (f"c{round(share * 100)}" if share is not None else "")  # end_to_end.py's name
    if not (raw_root / name / "consultation.yml").exists():
        from end_to_end import generate
        generate(raw_root / name, args.n, args.seed, share)
    from analysis import pipeline
    from analysis.redaction import guard

    wanted = [s.name for s in pipeline.STAGES] + ["guard"]
    if args.stages:
        wanted = [s for s in wanted if s in set(args.stages.split(","))]
    for stage in wanted:
        prof = cProfile.Profile()
        t = time.perf_counter()
        prof.enable()
        if stage == "guard":
            guard(rep_root / name)
        else:
            pipeline.run(name, stages=[stage], force=True)
        prof.disable()
        secs = time.perf_counter() - t
        out = args.work / f"profile_{stage}.pstats"
        prof.dump_stats(out)
        print(f"\n===== {stage}: {secs:.1f}s wall (profile in {out})")
        st = pstats.Stats(prof).sort_stats("tottime")
        st.print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
