"""The chunk table and token hashes of the campaigns' MinHash, against their definitions (#18, session 17).

* :func:`analysis.campaigns.chunked.signatures` numbers the distinct chunks in order of first appearance (a
  ``defaultdict`` fed by a counter, the cutting inlined): its :class:`~analysis.campaigns.chunked.ChunkedShingles`
  (chunk ids, bounds and shingles) is the one built from :func:`~analysis.campaigns.chunked.chunk_strings_find`
  (the definition of the cuts) and a plain dict;
* a chunk's shingle count is taken from its spaces (``str.count`` mapped in C) and must be
  :func:`~analysis.campaigns.near_duplicates.shingle_hashes`' count;
* :func:`~analysis.campaigns.near_duplicates._token_hashes` (token counts and the non-empty texts joined, mapped in
  C) against the per-text generator it replaces.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from generated_consultation import generate

from analysis.campaigns import chunked
from analysis.campaigns import near_duplicates as nd
from analysis.campaigns.stage import normalise_all

SEED = 20211

#: Short, empty and anchor-heavy keys (normalised: single spaces), where the cuts and counts are at their edges.
EDGES = ["", "a", "the", "a b c d", "a b c d e", "the the the the the the the the", "x the y the z",
         "one two the three four five six", "the a b c d e f the g", "a the b the c the d the e the f the g h i j k",
         "a the b c d e the f g h i the", "there the theme the the x y z w v"]


@pytest.fixture(scope="module")
def keys() -> list[str]:
    texts = generate(1500, SEED, share_1=0.8, share_2=0.1).answers["text_redacted"].tolist()
    return sorted(set(normalise_all(texts))) + EDGES


def _reference_table(texts: list[str], k: int) -> tuple[list[str], list[int], list[int]]:
    """Distinct chunks (first appearance), every text's chunk ids and counts: the loop the stage had before."""
    memo: dict[str, int] = {}
    ids: list[int] = []
    n_ids: list[int] = []
    for text in texts:
        parts = chunked.chunk_strings_find(text, k) if text.count(" ") >= k - 1 else [text]
        n_ids.append(len(parts))
        ids += [memo.setdefault(part, len(memo)) for part in parts]
    return list(memo), ids, n_ids


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_chunk_table_is_the_definitions(keys, k, monkeypatch):
    monkeypatch.setattr(chunked, "_CHUNKS_PER_BLOCK", 61)  # several blocks of chunks
    hasher = nd.MinHasher(32, k, SEED)
    sig, n_sh, cache = chunked.signatures(hasher, keys)
    chunks, ids, n_ids = _reference_table(keys, k)
    assert cache.ids.tolist() == ids
    assert np.diff(cache.text_bounds).tolist() == n_ids
    sh, offs = nd.shingle_hashes(chunks, k)  # every distinct chunk's shingles at once, in id order
    assert np.array_equal(cache.chunk_sh, sh)
    assert np.array_equal(cache.chunk_bounds, np.append(offs, len(sh)))
    assert len(chunks) < len(ids)  # the generated copies share chunks: the table is not trivial
    ref_sig, ref_n_sh = hasher.signatures(keys)
    assert np.array_equal(sig, ref_sig) and np.array_equal(n_sh, ref_n_sh)


def test_shingle_counts_from_spaces_are_shingle_hashes(keys):
    for k in (1, 2, 5):
        sh, offs = nd.shingle_hashes(keys, k)
        assert np.maximum(1, chunked._spaces(keys) + (2 - k)).tolist() == np.diff(np.append(offs, len(sh))).tolist()


@pytest.mark.parametrize("block", [slice(None), slice(0, 0), slice(-len(EDGES), None), slice(0, 1)])
def test_token_hashes_are_the_generators(keys, block):
    texts = keys[block]
    lens = np.fromiter((s.count(" ") + 1 if s else 0 for s in texts), dtype=np.int64, count=len(texts))
    toks = " ".join(s for s in texts if s).split(" ") if lens.sum() else []
    want = (pd.util.hash_array(np.asarray(toks, dtype=object), categorize=True).astype(np.uint64) if toks
            else np.zeros(0, np.uint64))
    got, got_lens = nd._token_hashes(texts)
    assert got.dtype == np.uint64 and np.array_equal(got, want)
    assert got_lens.dtype == lens.dtype and np.array_equal(got_lens, lens)
