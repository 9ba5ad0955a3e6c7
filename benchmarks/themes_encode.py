"""The themes' TF-IDF + SVD encoding: the sparse path against the compiled one (analysis.themes.fastencode).

Reads the distinct redacted answers of a consultation's open questions (``core_answers_clean``), fits the backend as
the stage does (a seeded sample of 5,000), then encodes the first ``--n`` distinct texts three ways and prints each
one's CPU and wall seconds: the sparse path in this process, the compiled path in one thread, the compiled path in
its threads. Every result is compared bit for bit with the sparse path's.

Usage: ``python benchmarks/themes_encode.py <processed folder of the consultation> [--n 100000]``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from analysis import embeddings as E
from analysis.tables import read_table
from analysis.themes import fastencode as F


def _timed(label: str, fn):  # noqa: ANN001, ANN202 - a benchmark's helper
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    print(f"{label:<28} cpu {time.process_time() - c0:7.2f} s   wall {time.perf_counter() - w0:7.2f} s")
    return out


def main() -> None:
    """Parse the arguments and compare the paths."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("processed", type=Path, help="the consultation's processed folder (with core_answers_clean)")
    ap.add_argument("--n", type=int, default=100_000, help="distinct texts encoded")
    args = ap.parse_args()
    answers = read_table("core_answers_clean", args.processed, columns=["response_id", "question_id", "text_redacted"])
    texts = list(dict.fromkeys(t for t in answers["text_redacted"].dropna().astype(str).tolist() if t.strip()))
    del answers
    print(f"{len(texts)} distinct texts; encoding {min(args.n, len(texts))}")
    backend = _timed("fit (5,000 sample)", lambda: E.TfidfSvdBackend(seed=0).fit(texts))
    texts = texts[:args.n]
    E.ENCODE_WORKERS = 1
    E.FUSED_MIN_TEXTS = len(texts) + 1
    want = _timed("sparse path, 1 process", lambda: backend.encode(texts))
    E.FUSED_MIN_TEXTS = 1
    _timed("compiled: load + probe", backend._fused_encoder)
    for threads in (1, F.THREADS):
        F.THREADS = threads
        backend._fused = None
        backend._fused_encoder()
        got = _timed(f"compiled, {threads} thread(s)", lambda: backend.encode(texts))
        print("  identical:", bool(np.array_equal(got.view(np.uint32), want.view(np.uint32))))
    print(f"(cores: {os.cpu_count()})")


if __name__ == "__main__":
    main()
