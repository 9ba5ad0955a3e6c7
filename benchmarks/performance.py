"""Produce ``docs/performance.md``: the whole pipeline at several sizes, against issue #18's baseline and budgets.

One command::

    python benchmarks/performance.py [--sizes 10000,50000,200000] [--large 1000000] [--sample 3] [--out docs/performance.md]

Each size runs ``benchmarks/end_to_end.py`` in a fresh process (imports and model loading are part of the
cost), on a consultation generated with the bundled sample's mix; ``--large N`` adds a run of ``N`` responses
of which 90% send a campaign letter (the issue's 1,000,000 case), as one ``analysis run`` from a cold cache;
``--sample K`` times ``make results`` (the bundled consultations) ``K`` times, cold into empty folders.
``--render-only --work DIR`` writes the report again from the figures a finished run saved in ``DIR``. The default BERTopic comparison runs at the
largest of ``--sizes`` up to 50,000 (or ``--baseline-at``). The report lists, per stage, wall and CPU seconds and peak memory, the
ratio to the issue's measured CPU seconds, the budget at 50k, and each stage's growth exponent between sizes
(time ∝ n^k). Nothing here is a test: the figures describe the machine they ran on, which the report names.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: CPU seconds per stage measured for issue #18 (before this work), at 10k and 50k responses.
BASELINE_CPU = {
    10_000: {"ingest": 13.8, "redaction+campaigns": 24.2, "themes": 95.8, "positions": 54.1, "counts": 24.3,
             "report": 48.2, "guard": 25.0},
    50_000: {"ingest": 50.6, "redaction+campaigns": 161.8, "themes": 387.9, "positions": 129.1, "counts": 45.4,
             "report": 173.1, "guard": 144.0},
}
#: Wall-clock budgets at 50k from the issue (seconds).
BUDGET_50K = {"ingest": 10, "redaction+campaigns": 20, "themes": 40, "positions": 20, "counts": 5, "report": 20,
              "guard": 5}
#: Text below this line in the output file is kept when the figures are regenerated.
NOTES_MARKER = "<!-- notes: kept when the figures above are regenerated -->"
ROWS = ["ingest", "redaction+campaigns", "themes", "positions", "counts", "report", "guard"]


def _run(n: int, work: Path, *, campaign_share: float | None, baseline: bool, edit: bool = False,
         one_run: bool = False) -> dict:
    out = work / f"figures_{n}_{campaign_share}.json"
    cmd = [sys.executable, str(HERE / "end_to_end.py"), "--n", str(n), "--work", str(work / f"w{n}"),
           "--json", str(out)]
    if campaign_share is not None:
        cmd += ["--campaign-share", str(campaign_share)]
    if one_run:  # one `analysis run` from a cold cache, as an analyst's first run on an export
        cmd += ["--one-run", "--cold"]
    if not baseline:
        cmd.append("--no-baseline")
    if edit:
        cmd.append("--codebook-edit")
    print("$", " ".join(cmd), flush=True)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg"})
    figures = json.loads(out.read_text(encoding="utf-8"))
    figures.setdefault("n", n)  # a one-run's figures name neither
    figures.setdefault("campaign_share", campaign_share)
    figures["process_wall"] = time.perf_counter() - t
    return figures


def speed_probe() -> dict[str, float]:
    """Seconds of two fixed workloads (best of three), to compare the machine's speed between reports: this project's
    2-core VMs ran the same code up to half as fast again on some days as on others."""
    import numpy as np  # noqa: PLC0415 - only the probe needs it here

    def python_loop() -> None:
        total = 0
        for i in range(5_000_000):
            total += i % 7
        sorted(str(i) for i in range(300_000))

    rng = np.random.default_rng(0)
    a = rng.random((1200, 1200))

    def numpy_work() -> None:
        np.sort(rng.random(4_000_000))
        a @ a

    out = {}
    for name, fn in (("python", python_loop), ("numpy", numpy_work)):
        times = []
        for _ in range(3):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        out[name] = min(times)
    return out


def sample_results(work: Path, repeats: int) -> list[dict]:
    """``make results`` (the bundled consultations, two at a time), cold into empty folders under ``work``: each
    repeat's wall seconds and its processes' user and system CPU seconds."""
    root = HERE.parent
    out = []
    for i in range(repeats):
        proc_dir, rep_dir = work / f"results{i}" / "processed", work / f"results{i}" / "reports"
        env = {**os.environ, "ANALYSIS_DATA_PROCESSED": str(proc_dir), "ANALYSIS_REPORTS": str(rep_dir)}
        cmd = ["make", "--no-print-directory", "-C", str(root), "results", f"BIN={Path(sys.executable).parent}"]
        print("$", " ".join(cmd), f"(into {work / f'results{i}'})", flush=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out.append({"wall": wall, "user": after.ru_utime - before.ru_utime, "sys": after.ru_stime - before.ru_stime})
        print(f"make results: {wall:.1f} s wall, {out[-1]['user']:.1f} user + {out[-1]['sys']:.1f} system CPU s",
              flush=True)
    return out


def _saved(work: Path, sizes: list[int], large_n: int | None, sample_k: int
           ) -> tuple[list[dict], dict | None, list[dict] | None, list[dict[str, float]] | None]:
    """The figures a finished run saved under ``work`` (``--render-only``)."""
    def load(name: str) -> dict:
        return json.loads((work / name).read_text(encoding="utf-8"))

    results = [load(f"figures_{n}_None.json") for n in sizes]
    large = None
    if large_n:
        large = load(f"figures_{large_n}_0.9.json")
        large.setdefault("n", large_n)
        large.setdefault("campaign_share", 0.9)
    extra = load("figures_sample_probe.json") if (work / "figures_sample_probe.json").exists() else {}
    sample = extra.get("sample") if sample_k else None
    return results, large, sample, extra.get("probe")


def _rows(fig: dict) -> dict[str, dict[str, float]]:
    """Stage figures merged into the issue's rows (redaction with campaigns; the guard's in-run pass)."""
    st = fig["stages"]
    rows = {k: dict(st[k]) for k in ("ingest", "themes", "positions", "counts") if k in st}
    rc = [st[k] for k in ("redaction", "campaigns") if k in st]
    rows["redaction+campaigns"] = {"wall": sum(r["wall"] for r in rc), "cpu": sum(r["cpu"] for r in rc),
                                   "peak_mb": max(r["peak_mb"] for r in rc)}
    if "report" in st:  # the pipeline runs the guard once, after the report stage: it is inside "report"
        rows["report"] = dict(st["report"])
    if "guard (again)" in st:
        rows["guard"] = dict(st["guard (again)"])
    elif "guard" in st:  # one `analysis run`: its own guard pass, timed apart from the report stage
        rows["guard"] = dict(st["guard"])
    return rows


def _exponent(t1: float, t2: float, n1: int, n2: int) -> float:
    return math.log(max(t2, 1e-3) / max(t1, 1e-3)) / math.log(n2 / n1)


def render(results: list[dict], large: dict | None, baseline_at: int | None = None,
           sample: list[dict] | None = None, probe: list[dict[str, float]] | None = None) -> str:
    """The Markdown report."""
    sizes = [r["n"] for r in results]
    lines = ["# Performance", "",
             f"Produced by `python benchmarks/performance.py --sizes {','.join(map(str, sizes))}"
             + (f" --baseline-at {baseline_at}" if baseline_at else "")
             + (f" --large {large['n']}" if large else "") + (f" --sample {len(sample)}" if sample else "")
             + f"` on {platform.machine()}, "
             f"{os.cpu_count()} cores, Python {platform.python_version()} "
             f"({time.strftime('%Y-%m-%d')}). Generated consultations (the sample's mix); each size in a fresh "
             "process. Wall and CPU seconds per stage (CPU includes every thread); the report row includes the "
             "guard's pass that the pipeline runs after it, and the guard row is a second, separate scan.", ""]
    if probe:
        lines += ["Machine speed probe (`speed_probe`: a fixed pure-Python loop and a fixed NumPy sort + matrix "
                  "product, best of three, before and after the runs): "
                  + "; ".join(f"Python {p['python']:.2f} s, NumPy {p['numpy']:.2f} s" for p in probe)
                  + ". Figures from days with different probe times do not compare.", ""]
    head = "| stage | " + " | ".join(f"{n // 1000}k wall s | {n // 1000}k CPU s" for n in sizes)
    head += " | baseline CPU ratio (issue / now) | budget at 50k (wall) | growth exponent (CPU) |"
    lines += [head, "|" + "---|" * (2 * len(sizes) + 4)]
    per = [_rows(r) for r in results]
    for row in ROWS:
        cells = []
        for fig in per:
            v = fig.get(row)
            cells += [f"{v['wall']:.1f}", f"{v['cpu']:.1f}"] if v else ["", ""]
        ratios = [f"{n // 1000}k {BASELINE_CPU[n][row] / p[row]['cpu']:.1f}×" for n, p in zip(sizes, per, strict=True)
                  if n in BASELINE_CPU and row in p and p[row]["cpu"] > 0]
        exps = [f"{_exponent(a[row]['cpu'], b[row]['cpu'], n1, n2):.2f} ({n1 // 1000}k→{n2 // 1000}k)"
                for (n1, a), (n2, b) in zip(zip(sizes, per, strict=True), list(zip(sizes, per, strict=True))[1:],
                                            strict=False) if row in a and row in b]
        lines.append(f"| {row} | " + " | ".join(cells) + f" | {', '.join(ratios)} | {BUDGET_50K[row]} | "
                     f"{', '.join(exps)} |")
    tot = [f"{r.get('total_wall', 0):.1f} | {r.get('total_cpu', 0):.1f}" for r in results]
    lines += ["| **whole run** | " + " | ".join(tot) + " | | 120 | |", "",
              "Peak resident memory (MB): " + ", ".join(f"{r['n']:,}: {r.get('peak_mb', 0):,.0f}" for r in results),
              ""]
    bert = next((r["bertopic"] for r in reversed(results) if "bertopic" in r), None)
    if bert:
        lines += [f"**Default BERTopic (UMAP + HDBSCAN) on the same texts, same process:** "
                  f"{bert['default_wall']:.1f} s against our theme stage's {bert['ours_cold_wall']:.1f} s from a "
                  f"cold embedding cache (ratio {bert['default_wall'] / bert['ours_cold_wall']:.1f}×); our first run, "
                  f"with the process's imports, took {bert['ours_first_run_wall']:.1f} s "
                  f"(ratio {bert['default_wall'] / bert['ours_first_run_wall']:.1f}×).",
                  ""]
    edit = next(((r["n"], r["codebook_edit"]) for r in results if "codebook_edit" in r), None)
    if edit:
        n, e = edit
        first, again = e["with_codebook"], e["after_one_theme_edit"]
        lines += [f"**Re-run after a one-theme codebook edit ({n:,} responses):** the bundled sample's codebook "
                  f"added and run ({first['wall']:.1f} s wall, {first['cpu']:.1f} CPU s; stages "
                  f"{', '.join(first['stages_run'])}), then one seed phrase added to one theme and re-run: "
                  f"**{again['wall']:.1f} s wall**, {again['cpu']:.1f} CPU s (target < 30 s; stages "
                  f"{', '.join(again['stages_run'])}).", ""]
    if large:
        rows = _rows(large)
        lines += [f"**{large['n']:,} responses, {large['campaign_share']:.0%} campaign copies, one `analysis run` "
                  f"from a cold cache:** whole run {large.get('total_wall', 0):.1f} s wall (target < 600 s), "
                  f"{large.get('total_cpu', 0):.1f} CPU s, peak {large.get('peak_mb', 0):,.0f} MB (target < 8,192); "
                  + ", ".join(f"{k} {v['wall']:.1f} s" for k, v in rows.items()) + ".", ""]
    if sample:
        lines += ["**The bundled consultations, `make results` cold into empty folders** (target < 20 s): "
                  + ", ".join(f"{r['wall']:.1f} s" for r in sample) + " wall"
                  + (" (" + ", ".join(f"{r['user']:.1f} user + {r['sys']:.1f} system CPU s" for r in sample) + ")"
                     if all("user" in r for r in sample) else "") + ".", ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,50000,200000")
    ap.add_argument("--large", type=int, default=None, help="also N responses with 90%% campaign copies")
    ap.add_argument("--baseline-at", type=int, default=None,
                    help="size at which default BERTopic runs beside ours (default: the largest size up to 50,000)")
    ap.add_argument("--codebook-edit-at", type=int, default=50_000,
                    help="size at which the re-run after a one-theme codebook edit is timed (if in --sizes)")
    ap.add_argument("--sample", type=int, default=0, metavar="K",
                    help="also time `make results` (the bundled consultations) K times, cold into empty folders")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--render-only", action="store_true",
                    help="run nothing: write the report from the figures a finished run saved under --work")
    ap.add_argument("--out", type=Path, default=HERE.parent / "docs" / "performance.md")
    args = ap.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="perf-"))
    sizes = [int(s) for s in args.sizes.split(",")]
    with_baseline = args.baseline_at or max((s for s in sizes if s <= 50_000), default=None)
    if args.render_only:
        if args.work is None:
            ap.error("--render-only needs the --work folder of a finished run")
        results, large, sample, probe = _saved(work, sizes, args.large, args.sample)
    else:
        probe = [speed_probe()]
        print(f"speed probe: {probe[0]}", flush=True)
        results = [_run(n, work, campaign_share=None, baseline=n == with_baseline, edit=n == args.codebook_edit_at)
                   for n in sizes]
        large = _run(args.large, work, campaign_share=0.9, baseline=False, one_run=True) if args.large else None
        sample = sample_results(work, args.sample) if args.sample else None
        probe.append(speed_probe())
        print(f"speed probe: {probe[1]}", flush=True)
        (work / "figures_sample_probe.json").write_text(json.dumps({"sample": sample, "probe": probe}),
                                                        encoding="utf-8")
    notes = ""  # hand-written notes below the marker survive a re-run
    if args.out.exists() and NOTES_MARKER in args.out.read_text(encoding="utf-8"):
        notes = args.out.read_text(encoding="utf-8").split(NOTES_MARKER, 1)[1]
    args.out.write_text(render(results, large, baseline_at=with_baseline, sample=sample, probe=probe) + "\n" + NOTES_MARKER + notes,
                        encoding="utf-8")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
