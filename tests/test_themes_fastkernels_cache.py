"""The compiled TF-IDF kernels (analysis.themes.fastkernels) are loaded from numba's disk cache by the next process.

Defined inside a function, ``encode_rows`` held ``radix_sort`` in a closure cell whose pickled bytes (part of
numba's cache index key) differed from one process to the next: every process compiled it again and added a new
cache file. Here two fresh interpreters share one cache folder; the second must compile nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.themes import fastencode as F

pytestmark = pytest.mark.skipif(F.kernels() is None, reason="numba is not available")

_RUN = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from test_themes_helpers import polis_texts
from analysis import embeddings as E
from analysis.themes import fastencode as F
be = E.TfidfSvdBackend(n_components=16, seed=3).fit(polis_texts())
assert be._fused_encoder() is not None  # the probe ran both kernels (with and without bigrams: below)
F.FusedEncoder(be.word_, be.char_, be._projection_matrix(), be.char_weight).project(["a b. c d", "e"])
cut_pairs, encode_rows = F.kernels()
print(json.dumps({name: {"hits": sum(d.stats.cache_hits.values()), "misses": sum(d.stats.cache_misses.values())}
                  for name, d in (("cut_pairs", cut_pairs), ("encode_rows", encode_rows))}))
"""


def _run(cache: Path) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    out = subprocess.run([sys.executable, "-c", _RUN, str(Path(__file__).parent)], env=env, check=True,
                         capture_output=True, text=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_second_process_loads_the_kernels_from_the_cache(tmp_path):
    first = _run(tmp_path)
    assert first["encode_rows"]["misses"] >= 1  # compiled (and stored) by the first process
    files = sorted(p.name for p in tmp_path.rglob("*.nbc"))
    second = _run(tmp_path)
    assert second["encode_rows"]["misses"] == 0 and second["encode_rows"]["hits"] >= 1
    assert second["cut_pairs"]["misses"] == 0 and second["cut_pairs"]["hits"] >= 1
    assert sorted(p.name for p in tmp_path.rglob("*.nbc")) == files  # nothing compiled, nothing added
