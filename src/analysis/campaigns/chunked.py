"""MinHash signatures of campaign copies from shared pieces: each distinct piece of text is hashed once.

Campaign copies repeat the letter's sentences in another order, with some left out and a few personal ones
added, so most of their word shingles recur in thousands of copies. :func:`signatures` gives exactly
:meth:`analysis.campaigns.near_duplicates.MinHasher.signatures` (``keep_shingles=True``) of the same texts, but
hashes each distinct *chunk* once instead of every copy's every shingle.

Why it is the same: a signature is, per hash function, the minimum over the text's shingles, and a minimum can
be taken over any partition of the shingles. A text of ``n >= k`` tokens (``k`` = words per shingle) has the
shingles starting at token ``0 .. n - k``. It is cut before chosen tokens (each word "the" that starts at a
token ``<= n - k``, so every piece holds at least one shingle start); piece ``i`` covers the starts
``c_i .. c_{i+1} - 1``, and those shingles are exactly the shingles of the text ``tokens[c_i : c_{i+1} + k - 1]``
(the piece plus the ``k - 1`` tokens after it: its *chunk*; the last chunk runs to the end). A chunk has at least
``k`` tokens, so :func:`~analysis.campaigns.near_duplicates.shingle_hashes` of it pads nothing, and the same
tokens give the same shingle hashes wherever they stand (a token's hash is a function of the token alone). The
chunk's string therefore determines its shingles: a signature is the minimum of its chunks' signatures, and its
shingles are its chunks' shingles, in order. A text of fewer than ``k`` tokens (or none) is its own single chunk,
hashed as before (its one padded shingle); such a chunk cannot equal a real chunk, which has ``k`` tokens or more.
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache
from itertools import count, repeat

import numpy as np

from analysis.campaigns.near_duplicates import MinHasher, ShingleCache, shingle_hashes

#: The word before which texts are cut (the commonest English word: about 20 tokens per chunk in letters).
ANCHOR = " the "
#: Distinct chunks hashed per block, texts' signatures reduced per block.
_CHUNKS_PER_BLOCK = 2000
_TEXTS_PER_BLOCK = 2048


@lru_cache(maxsize=16)
def _cut_re(k: int) -> re.Pattern[str]:
    """An :data:`ANCHOR` holding ``k`` tokens from its "the" on; group 1 ends at the end of the ``k - 1``-th."""
    return re.compile(rf" the(?=((?: [^ ]+){{{k - 2}}}) [^ ]+)")


def chunk_strings(key: str, k: int) -> list[str]:
    """The chunks of one normalised text (single spaces between tokens), in order (see the module docstring).

    What :func:`chunk_strings_find` gives, with one regex scan: a match of :func:`_cut_re` is an :data:`ANCHOR`
    (its literal start ``" the"``, then a space in the look-ahead) whose "the" starts ``k`` tokens or more (a
    token: a run of non-spaces), i.e. a cut; ``finditer`` goes on after the "the", where the loop's next
    ``find(ANCHOR, c + 3)`` starts, so both find the same anchors, and the look-ahead's test is the loop's ``k - 1``
    further spaces on a text with single spaces (no empty token). Group 1's end is where the previous chunk ends:
    ``k - 1`` tokens from the cut (the loop's ``k - 1`` spaces from the space before the cut).

    Args:
        key: A normalised text.
        k: Words per shingle.

    Returns:
        The chunks; ``[key]`` when it has fewer than ``k`` tokens or no cut.
    """
    if k < 2:  # the cut's own "the" must be followed by a space: the pattern assumes k >= 2
        return chunk_strings_find(key, k)
    out, lo = [], 0
    for m in _cut_re(k).finditer(key):
        out.append(key[lo:m.end(1)])
        lo = m.start() + 1
    if not out:
        return [key]
    out.append(key[lo:])
    return out


def chunk_strings_find(key: str, k: int) -> list[str]:
    """:func:`chunk_strings` by ``str.find`` (the definition; kept for ``k < 2`` and the tests)."""
    find = key.find
    cut = find(ANCHOR)
    if cut < 0:
        return [key]
    cuts = [0]
    while cut >= 0:
        c = cut + 1  # the cut's token starts here
        # the text must hold k tokens from c on: k - 1 more spaces after it
        p = c
        for _ in range(k - 1):
            p = find(" ", p + 1) if p >= 0 else -1
        if p < 0:
            break  # fewer than k tokens from here: neither this cut nor a later one
        cuts.append(c)
        cut = find(ANCHOR, c + 3)
    if len(cuts) == 1:
        return [key]
    out = []
    for i in range(len(cuts) - 1):
        # the chunk: from its cut to the end of the (k - 1)-th token after the next cut's start
        p = cuts[i + 1] - 1
        for _ in range(k - 1):
            p = find(" ", p + 1)
        out.append(key[cuts[i]:p if p >= 0 else len(key)])
    out.append(key[cuts[-1]:])
    return out


class ChunkedShingles(ShingleCache):
    """Each text's shingle hashes, stored once per distinct chunk (a :class:`ShingleCache` that holds no copy's).

    Args:
        chunk_sh: Shingle hashes of every distinct chunk, concatenated.
        chunk_bounds: Chunk ``j``'s hashes are ``chunk_sh[chunk_bounds[j]:chunk_bounds[j + 1]]``.
        ids: Every text's chunk ids, concatenated.
        text_bounds: Text ``i``'s chunk ids are ``ids[text_bounds[i]:text_bounds[i + 1]]``.
    """

    def __init__(self, chunk_sh: np.ndarray, chunk_bounds: np.ndarray, ids: np.ndarray,
                 text_bounds: np.ndarray):
        self.chunk_sh, self.chunk_bounds, self.ids, self.text_bounds = chunk_sh, chunk_bounds, ids, text_bounds

    def get(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Concatenated shingle hashes of texts ``idx`` (in that order) and each text's start offset."""
        idx = np.asarray(idx, dtype=np.int64)
        lo, n_ids = self.text_bounds[idx], self.text_bounds[idx + 1] - self.text_bounds[idx]
        ids = self.ids[_ranges(lo, n_ids)]
        c_lo, c_len = self.chunk_bounds[ids], self.chunk_bounds[ids + 1] - self.chunk_bounds[ids]
        sh = self.chunk_sh[_ranges(c_lo, c_len)]
        per_text = np.add.reduceat(c_len, np.concatenate([[0], np.cumsum(n_ids)[:-1]])) if len(ids) else n_ids
        offs = np.concatenate([[0], np.cumsum(per_text)[:-1]]).astype(np.int64)
        return sh, offs


def _ranges(lo: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """``concatenate([arange(a, a + n) for a, n in zip(lo, lens)])``."""
    offs = np.cumsum(lens) - lens
    return np.arange(int(lens.sum()), dtype=np.int64) + np.repeat(lo - offs, lens)


def signatures(hasher: MinHasher, texts: list[str]) -> tuple[np.ndarray, np.ndarray, ChunkedShingles]:
    """``hasher.signatures(texts, keep_shingles=True)``, each distinct chunk hashed once.

    A chunk held by several texts (a campaign's sentences) is MinHashed once and its signature (every hash function)
    kept while the texts' signatures are reduced; a chunk held by one text only (most of a personalised copy's own
    words) is MinHashed as part of that text: its shingles, with those of the text's other such chunks, form one
    segment of the text's block. A text's signature is the minimum of both (a minimum over a partition of its
    shingles: the module docstring), so the chunks' signatures are held only for the shared chunks, with every hash
    function at once (a block of texts reads them once, not once per group of hash functions).

    Args:
        hasher: The MinHasher.
        texts: Normalised texts (tokens separated by single spaces, as :func:`analysis.campaigns.normalise`).

    Returns:
        ``(signatures, shingle counts, shingles)`` equal to the MinHasher's.
    """
    k = hasher.shingle_size
    # chunk -> its id, ids in order of first appearance (``list(memo)`` is the chunks): a missing chunk is given the
    # counter's next value by the dict itself (no Python call per chunk)
    memo: defaultdict[str, int] = defaultdict(count().__next__)
    ids: list[int] = []
    n_ids = np.empty(len(texts), dtype=np.int64)
    if k < 2:
        for i, text in enumerate(texts):
            parts = chunk_strings(text, k) if text.count(" ") >= k - 1 else [text]
            n_ids[i] = len(parts)
            ids += [memo[part] for part in parts]
    else:  # chunk_strings inlined: a text of fewer than k tokens has no cut (it is its own chunk)
        finditer, append = _cut_re(k).finditer, ids.append
        for i, text in enumerate(texts):
            lo, n0 = 0, len(ids)
            for m in finditer(text):
                append(memo[text[lo:m.end(1)]])
                lo = m.start() + 1
            append(memo[text[lo:] if lo else text])
            n_ids[i] = len(ids) - n0
    chunks = list(memo)
    del memo
    # every chunk's shingle hashes in one array, made a block of chunks at a time (a chunk of t tokens has
    # max(1, t - k + 1) shingles: see shingle_hashes; t is its spaces + 1, or 0 for "", which has one shingle too)
    counts = np.maximum(1, _spaces(chunks) + (2 - k))
    chunk_bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    all_sh = np.empty(int(chunk_bounds[-1]), dtype=np.uint64)
    for lo in range(0, len(chunks), _CHUNKS_PER_BLOCK):
        sh, offs = shingle_hashes(chunks[lo:lo + _CHUNKS_PER_BLOCK], k)
        got = np.diff(np.append(offs, len(sh)))
        if not np.array_equal(got, counts[lo:lo + len(offs)]):  # cannot happen: the count's rule is shingle_hashes'
            raise AssertionError("chunked.signatures: a chunk's shingle count differs from its tokens'")
        all_sh[chunk_bounds[lo]:chunk_bounds[lo] + len(sh)] = sh
    n_chunks = len(chunks)
    del chunks
    id_arr = np.asarray(ids, dtype=np.int64)
    del ids
    text_bounds = np.concatenate([[0], np.cumsum(n_ids)]).astype(np.int64)
    shared = np.bincount(id_arr, minlength=n_chunks) > 1
    rank = np.cumsum(shared) - 1  # a shared chunk's row in shared_sig
    shared_sig = _chunk_signatures(hasher, all_sh, chunk_bounds, np.flatnonzero(shared))
    sig = np.empty((len(texts), hasher.num_perm), dtype=np.uint32)
    for lo in range(0, len(texts), _TEXTS_PER_BLOCK):
        hi = min(len(texts), lo + _TEXTS_PER_BLOCK)
        a, b = text_bounds[lo], text_bounds[hi]
        sig[lo:hi] = _block_signatures(hasher, all_sh, chunk_bounds, id_arr[a:b], n_ids[lo:hi], shared,
                                       rank, shared_sig)
    del shared_sig
    n_sh = np.add.reduceat(counts[id_arr], text_bounds[:-1]) if len(texts) else np.zeros(0, dtype=np.int64)
    return sig, n_sh.astype(np.int64), ChunkedShingles(all_sh, chunk_bounds, id_arr, text_bounds)


def _spaces(strings: list[str]) -> np.ndarray:
    """The number of spaces in each string (``str.count`` mapped in C: no Python frame per string)."""
    return np.fromiter(map(str.count, strings, repeat(" ")), dtype=np.int64, count=len(strings))


def _chunk_signatures(hasher: MinHasher, all_sh: np.ndarray, chunk_bounds: np.ndarray, which: np.ndarray
                      ) -> np.ndarray:
    """The signatures (every hash function) of chunks ``which``, a block of :data:`_CHUNKS_PER_BLOCK` at a time."""
    out = np.empty((len(which), hasher.num_perm), dtype=np.uint32)
    for lo in range(0, len(which), _CHUNKS_PER_BLOCK):
        part = which[lo:lo + _CHUNKS_PER_BLOCK]
        c_lo, c_len = chunk_bounds[part], chunk_bounds[part + 1] - chunk_bounds[part]
        out[lo:lo + len(part)] = hasher._minhash(all_sh[_ranges(c_lo, c_len)], np.cumsum(c_len) - c_len)
    return out


def _block_signatures(hasher: MinHasher, all_sh: np.ndarray, chunk_bounds: np.ndarray, ids: np.ndarray,
                      n_ids: np.ndarray, shared: np.ndarray, rank: np.ndarray, shared_sig: np.ndarray) -> np.ndarray:
    """Signatures of a block of texts whose chunk ids are ``ids`` (``n_ids`` each, every text at least one).

    Per text: the minimum of its shared chunks' signatures (rows of ``shared_sig``) and of the MinHash of its own
    chunks' shingles (one segment); each part is taken over the texts that have one.
    """
    m = len(n_ids)
    out = np.full((m, hasher.num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)  # the identity of the minimum
    text = np.repeat(np.arange(m, dtype=np.int64), n_ids)
    is_shared = shared[ids]
    s_ids, s_text = ids[is_shared], text[is_shared]  # by text (a mask keeps the order)
    if len(s_ids):
        n_s = np.bincount(s_text, minlength=m)
        has = np.flatnonzero(n_s)
        starts = (np.cumsum(n_s) - n_s)[has]
        out[has] = np.minimum.reduceat(shared_sig[rank[s_ids]], starts, axis=0)
    o_ids, o_text = ids[~is_shared], text[~is_shared]
    if len(o_ids):
        c_lo, c_len = chunk_bounds[o_ids], chunk_bounds[o_ids + 1] - chunk_bounds[o_ids]
        n_o = np.bincount(o_text, weights=c_len, minlength=m).astype(np.int64)  # each text's own shingles
        has = np.flatnonzero(n_o)
        own = hasher._minhash(all_sh[_ranges(c_lo, c_len)], (np.cumsum(n_o) - n_o)[has])
        np.minimum(out[has], own, out=own)
        out[has] = own
    return out
