"""Run a command and sample the memory of its process tree every 0.5 s, three ways (Linux ``smaps_rollup``).

* **RSS sum** (what ``treerss.py`` reports): every process's resident pages; a forked child counts the pages it
  shares with its parent again, so a stage that forks two workers from a 4 GB heap shows 12 GB.
* **PSS sum**: each shared page divided between the processes sharing it, i.e. what the tree really holds.
* **root RSS + descendants' USS** (what ``benchmarks/memsampler.py`` reports): pages shared by descendants only
  (a stage's child and the workers it forked) are counted by no one, so it can read low during a fork.

Usage: ``python benchmarks/treemem.py <command...>``; a timeline every 10 s and the three peaks go to stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

#: The third measure's name (root RSS + descendants' USS, as benchmarks/memsampler.py).
LEAD = "root RSS + descendants' USS"


def _children(pid: int) -> list[int]:
    out: list[int] = []
    kids = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:  # every thread's children: a process started from a thread is listed under that thread
        try:
            with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as f:
                kids += [int(c) for c in f.read().split()]
        except OSError:
            pass
    for c in kids:
        out += [c, *_children(c)]
    return out


def _memory(pid: int) -> tuple[int, int, int]:
    """``(rss, pss, uss)`` of a process in MB (zeros when it ended)."""
    rss = pss = uss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key == "Rss":
                    rss = int(rest.split()[0]) // 1024
                elif key == "Pss":
                    pss = int(rest.split()[0]) // 1024
                elif key in ("Private_Clean", "Private_Dirty"):
                    uss += int(rest.split()[0]) // 1024
    except (OSError, ValueError):
        pass
    return rss, pss, uss


def main(argv: list[str]) -> int:
    """Run ``argv``, print the timeline and the peaks; return its exit status."""
    proc = subprocess.Popen(argv)
    t0 = time.time()
    peaks = {"RSS sum": (0, 0.0, {}), "PSS sum": (0, 0.0, {}), LEAD: (0, 0.0, {})}
    last = 0.0
    while proc.poll() is None:
        mem = {p: _memory(p) for p in [proc.pid, *_children(proc.pid)]}
        now = time.time() - t0
        totals = {"RSS sum": sum(m[0] for m in mem.values()), "PSS sum": sum(m[1] for m in mem.values()),
                  LEAD: mem[proc.pid][0] + sum(m[2] for p, m in mem.items() if p != proc.pid)}
        for name, total in totals.items():
            if total > peaks[name][0]:
                peaks[name] = (total, now, {p: m for p, m in mem.items() if any(m)})
        if now - last >= 10:
            last = now
            print(f"t={now:6.0f}s rss={totals['RSS sum']} pss={totals['PSS sum']} "
                  f"lead={totals[LEAD]} MB (pid:rss/pss/uss) "
                  + " ".join(f"{p}:{m[0]}/{m[1]}/{m[2]}" for p, m in mem.items() if any(m)), file=sys.stderr, flush=True)
        time.sleep(0.5)
    for name, (total, at, who) in peaks.items():
        print(f"PEAK {name} {total} MB at t={at:.0f}s: {who}", file=sys.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
