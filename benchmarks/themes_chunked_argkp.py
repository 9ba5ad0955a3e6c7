"""Discovery a chunk at a time against the whole question, on real text: ArgKP's train and dev arguments.

Usage::

    python benchmarks/themes_chunked_argkp.py [--argkp ../shared/data/argkp-2021] [--chunk 1024]

The distinct arguments of the train and dev splits (never the test split) are one open question, half of the
respondents consenting (every second one); the themes stage's ``theme_all`` runs once with
``ANALYSIS_THEMES_CHUNK_UNITS=--chunk`` and once whole. Printed: whether every argument has the same topic, how many
topics have the same label, keywords, representative answers and size, the largest difference between the topics'
centres, and the response-theme rows of both runs with their largest score difference.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_themes_helpers import answers, config  # noqa: E402 - the tests' builders, beside them

from analysis.embeddings import make_backend  # noqa: E402
from analysis.themes import chunked  # noqa: E402
from analysis.themes import stage as themes  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--argkp", type=Path, default=Path("../shared/data/argkp-2021"))
    ap.add_argument("--chunk", type=int, default=1024)
    a = ap.parse_args()
    args = pd.concat([pd.read_csv(a.argkp / f"arguments_{s}.csv") for s in ("train", "dev")])
    texts = list(dict.fromkeys(args["argument"].astype(str)))
    cfg = config(("q1",))
    consenting = frozenset(f"r{i:03d}" for i in range(0, len(texts), 2))

    def run(chunk: int):
        os.environ[chunked.CHUNK_ENV] = str(chunk)
        t = time.perf_counter()
        out = themes.theme_all(answers(texts), cfg, backend=make_backend(cfg.settings.themes, cfg.settings.seed),
                               consenting=consenting)
        return out, time.perf_counter() - t

    (_, at1, _, (d1,)), s1 = run(a.chunk)
    (_, at0, _, (d0,)), s0 = run(10**9)
    print(f"{len(texts)} arguments, {len(d0.topics)} topics; chunks of {a.chunk}: {s1:.1f} s, whole: {s0:.1f} s")
    print("every argument's topic the same:", bool(np.array_equal(d1.labels, d0.labels)))
    same = [(x.label == y.label, x.keywords == y.keywords, x.representative == y.representative, x.size == y.size)
            for x, y in zip(d1.topics, d0.topics, strict=True)]
    print("topics with the same label / keywords / representatives / size:",
          " / ".join(str(sum(s[i] for s in same)) for i in range(4)), f"of {len(same)}")
    print("largest centre difference:",
          max(float(np.abs(x.centroid - y.centroid).max()) for x, y in zip(d1.topics, d0.topics, strict=True)))
    m = at1.merge(at0, on=["response_id", "theme_id"], how="outer", indicator=True, suffixes=("", "_whole"))
    print(f"response-theme rows: {len(at1)} in chunks, {len(at0)} whole, {int((m['_merge'] == 'both').sum())} in both;"
          f" largest score difference {float((m['score'] - m['score_whole']).abs().max()):.3g}")


if __name__ == "__main__":
    main()
