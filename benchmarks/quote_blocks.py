"""The quote selection's block takes of a chunked text column: ``Series.iloc[block]`` against the slice's take.

Usage::

    python benchmarks/quote_blocks.py PROCESSED_DIR [--times 5]

Reads ``text_redacted`` of ``core_answers_clean`` under ``PROCESSED_DIR`` (a generated consultation), repeats its
chunks ``--times`` times (a consultation that many times larger), and times taking every third row in blocks of
:data:`analysis.report.quotes.BLOCK` rows both ways (CPU seconds); checks the two give the same values.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from analysis.report import quotes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("processed", type=Path)
    ap.add_argument("--times", type=int, default=5)
    args = ap.parse_args()
    col = pd.read_parquet(args.processed / "core_answers_clean.parquet", columns=["text_redacted"])["text_redacted"]
    chunks = pa.chunked_array(col.array._pa_array.chunks * args.times)  # noqa: SLF001 - the column's own chunks
    column = pd.Series(pd.arrays.ArrowStringArray(chunks))
    rows = np.arange(0, len(column), 3)
    blocks = [rows[s:s + quotes.BLOCK] for s in range(0, len(rows), quotes.BLOCK)]
    for name, take in (("iloc", lambda b: column.iloc[b]), ("slice", lambda b: quotes._block_rows(column, b))):
        t = time.process_time()
        got = [take(b) for b in blocks]
        print(f"{name:6s} {len(column):,} rows, {len(blocks)} blocks: {time.process_time() - t:.2f} CPU s")
    assert all(a.equals(b) for a, b in zip((column.iloc[b] for b in blocks), got, strict=True))


if __name__ == "__main__":
    main()
