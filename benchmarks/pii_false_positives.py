"""Benchmark redaction's false positives: the share of real answers it alters that hold no personal information.

Usage::

    python benchmarks/pii_false_positives.py [--data ../shared/data] [--show 20]

Reads every Pol.is statement (``polis/*/comments.csv``) and the ArgKP 2021 train and dev arguments
(``argkp-2021/arguments_{train,dev}.csv``; never the test split) from ``--data`` (default: the shared data
folder next to the project, when present; otherwise the 600-text fixture in ``tests/fixtures/pii``).
These are statements written for public consultation or argument mining, without their writers' details,
so any redaction is a false positive (a name of a public figure or a website counts too). Prints the
share of answers altered, overall and per source, the kinds that fired, and examples.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd

from analysis.redaction.redact import redact

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
FIXTURE = ROOT / "tests" / "fixtures" / "pii"


def load_texts(data: Path | None) -> list[tuple[str, str]]:
    """``(source, text)`` pairs from the shared corpora, or from the fixture when they are absent."""
    if data is not None and (data / "polis").is_dir():
        texts = []
        for conv in sorted((data / "polis").iterdir()):
            body = pd.read_csv(conv / "comments.csv")["comment-body"].dropna().astype(str)
            texts += [(f"polis:{conv.name}", t) for t in body]
        for split in ("train", "dev"):
            args = pd.read_csv(data / "argkp-2021" / f"arguments_{split}.csv")["argument"].dropna().astype(str)
            texts += [(f"argkp:{split}", t) for t in args]
        return texts
    polis = pd.read_csv(FIXTURE / "polis_statements.csv")
    args = pd.read_csv(FIXTURE / "argkp_arguments.csv")
    return ([(f"polis:{c}", t) for c, t in zip(polis["conversation"], polis["comment-body"].astype(str), strict=True)]
            + [(f"argkp:{s}", t) for s, t in zip(args["split"], args["argument"].astype(str), strict=True)])


def altered_share(texts: list[tuple[str, str]]) -> tuple[float, dict[str, list[int]], Counter, list[tuple[str, str]]]:
    """Share of texts redaction changes; per-source ``[n, altered]``; kinds fired; altered examples."""
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    kinds: Counter = Counter()
    examples = []
    for source, text in texts:
        out, reds = redact(text)
        per[source][0] += 1
        if out != text:
            per[source][1] += 1
            kinds.update(r.kind for r in reds)
            examples.append((source, out))
    return sum(a for _, a in per.values()) / max(1, len(texts)), dict(per), kinds, examples


def main(argv: list[str] | None = None) -> int:
    """Print the altered share of the real statements (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=SHARED if SHARED.is_dir() else None)
    ap.add_argument("--show", type=int, default=20, help="altered examples to print")
    a = ap.parse_args(argv)
    texts = load_texts(a.data)
    t0 = time.perf_counter()
    share, per, kinds, examples = altered_share(texts)
    dt = time.perf_counter() - t0
    where = a.data if a.data is not None and (a.data / "polis").is_dir() else FIXTURE
    print(f"{len(texts)} texts from {where} ({dt:.1f}s)")
    print(f"altered by redaction: {sum(v[1] for v in per.values())} = {share:.2%} (budget < 2%)")
    for source, (n, altered) in sorted(per.items()):
        print(f"  {source:45s} {n:5d}  {altered / n:.2%}")
    print(f"kinds: {dict(kinds)}")
    for source, out in examples[: a.show]:
        print(f"  [{source}] {out[:160]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
