"""Near-duplicate grouping: vectorised MinHash + LSH banding + verified clustering.

The engine behind :mod:`analysis.campaigns`, written for 10^6 texts on a laptop:

1. exact copies are collapsed first (the caller passes distinct normalised texts with weights);
2. each distinct text becomes a set of word ``k``-shingles, hashed with pandas' deterministic
   SipHash (:func:`pandas.util.hash_array`) and combined with a rolling polynomial hash;
3. MinHash signatures use ``num_perm`` multiply-shift hash functions ``(a*x + b) >> 32`` evaluated in
   numpy blocks and reduced per text with ``np.minimum.reduceat`` (no Python loop per shingle);
4. LSH banding (``b`` bands of ``r`` rows chosen for the Jaccard ``threshold``) links texts sharing any
   band bucket; linked texts form connected components (scipy);
5. each component is split by *verification* against a centre (a weighted medoid): a member joins
   only if the estimated containment between it and the centre reaches ``containment``. Chains of
   pairwise-similar texts therefore cannot merge unrelated letters.

All randomness (hash functions, samples) comes from one seed: same input, same output.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat

import numpy as np
import pandas as pd
from scipy.integrate import quad
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from analysis.campaigns.agreement_scan import (
    ColumnIndex as ColumnIndex,  # re-exported: the tests swap the two
)
from analysis.campaigns.agreement_scan import SignatureScan, matches

logger = logging.getLogger(__name__)

_P = np.uint64(0x100000001B3)  # FNV prime: rolling combination of token hashes
_BLOCK = 8192  # shingles per numpy block (fits in cache with 128 hash functions)


def agreements_needed(threshold: float, num_perm: int) -> int:
    """The fewest agreeing hash functions ``c`` with ``c / num_perm >= threshold`` (estimated Jaccard)."""
    need = max(0, int(np.floor(threshold * num_perm)) - 1)
    while need / num_perm < threshold:
        need += 1
    return need


@lru_cache(maxsize=64)
def optimal_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """Bands ``b`` and rows ``r`` (``b*r <= num_perm``) minimising false positives + negatives at ``threshold``.

    Same criterion as datasketch's ``MinHashLSH`` (equal weights), integrated numerically.
    """
    best, best_err = (1, num_perm), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = quad(lambda s, b=b, r=r: 1 - (1 - s**r) ** b, 0.0, threshold)[0]
            fn = quad(lambda s, b=b, r=r: 1 - (1 - (1 - s**r) ** b), threshold, 1.0)[0]
            if fp + fn < best_err:
                best, best_err = (b, r), fp + fn
    return best


def _token_hashes(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Token hashes of space-separated texts and the token count of each text."""
    # ``s.count(" ") + 1 if s else 0`` of each text, and the non-empty texts joined: mapped in C (no Python frame
    # per text)
    spaces = np.fromiter(map(str.count, texts, repeat(" ")), dtype=np.int64, count=len(texts))
    lens = np.where(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) > 0, spaces + 1, 0)
    toks = " ".join(filter(None, texts)).split(" ") if lens.sum() else []
    hashes = pd.util.hash_array(np.asarray(toks, dtype=object), categorize=True) if toks else np.zeros(0, np.uint64)
    return hashes.astype(np.uint64, copy=False), lens


def shingle_hashes(texts: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the word ``k``-shingles of each text, concatenated, and the start offset of each text.

    A text shorter than ``k`` tokens gets one shingle (all its tokens); an empty text gets one
    constant shingle, so every text has at least one.
    """
    t, lens = _token_hashes(texts)
    n_tok = len(t)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    ends_tok = np.repeat(starts + lens, lens)
    idx = np.arange(n_tok, dtype=np.int64)
    h = t.copy()
    tp = np.concatenate([t, np.zeros(k, np.uint64)])
    with np.errstate(over="ignore"):
        for m in range(1, k):
            nxt = np.where(idx + m < ends_tok, tp[m : n_tok + m], np.uint64(0))
            h = h * _P + nxt
    pos_in_doc = idx - np.repeat(starts, lens)
    doc_len = np.repeat(lens, lens)
    valid = (pos_in_doc <= doc_len - k) | ((pos_in_doc == 0) & (doc_len < k))
    counts = np.where(lens >= k, lens - k + 1, np.minimum(lens, 1))
    sh = h[valid]
    empty = np.flatnonzero(lens == 0)
    if len(empty):
        # insert one constant shingle for each empty text at its offset
        offs = np.concatenate([[0], np.cumsum(counts)[:-1]])
        sh = np.insert(sh, offs[empty], np.uint64(0x9E3779B97F4A7C15))
        counts = np.where(lens == 0, 1, counts)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return sh, offsets


@dataclass
class MinHasher:
    """Vectorised MinHash.

    Args:
        num_perm: Number of hash functions (signature length).
        shingle_size: Words per shingle.
        seed: Seed of the hash functions.
    """

    num_perm: int = 128
    shingle_size: int = 5
    seed: int = 1

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.a_ = rng.integers(1, 2**63, size=self.num_perm, dtype=np.uint64) | np.uint64(1)
        self.b_ = rng.integers(0, 2**63, size=self.num_perm, dtype=np.uint64)

    def signatures(self, texts: list[str], chunk: int = 2000, keep_shingles: bool = False
                   ) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, ShingleCache]:
        """MinHash signatures (``uint32``, one row per text) and shingle counts of normalised texts.

        With ``keep_shingles`` also a :class:`ShingleCache` holding every text's shingle hashes (computed
        here anyway; templates re-read them).
        """
        sig = np.empty((len(texts), self.num_perm), dtype=np.uint32)
        n_sh = np.empty(len(texts), dtype=np.int64)
        kept = []
        for lo in range(0, len(texts), chunk):
            sh, offs = shingle_hashes(texts[lo : lo + chunk], self.shingle_size)
            n_sh[lo : lo + len(offs)] = np.diff(np.append(offs, len(sh)))
            sig[lo : lo + len(offs)] = self._minhash(sh, offs)
            if keep_shingles:
                kept.append(sh)
        if not keep_shingles:
            return sig, n_sh
        all_sh = np.concatenate(kept) if kept else np.zeros(0, np.uint64)
        return sig, n_sh, ShingleCache(all_sh, np.concatenate([[0], np.cumsum(n_sh)]).astype(np.int64))

    def _minhash(self, sh: np.ndarray, offs: np.ndarray, funcs: slice = slice(None)) -> np.ndarray:
        """Row-wise minimum of ``(a*x + b) >> 32`` over each text's shingles, in cache-sized blocks.

        ``funcs``: which hash functions (columns of the signature; default all).
        """
        a, b, shift = self.a_[funcs, None], self.b_[funcs, None], np.uint64(32)
        out = np.empty((len(offs), len(a)), dtype=np.uint32)
        bounds = np.append(offs, len(sh))
        # blocks of about _BLOCK shingles, cut at text boundaries (a text is never split)
        cut = np.unique(np.searchsorted(bounds, np.arange(0, len(sh), _BLOCK), side="right") - 1)
        cut = np.append(cut[cut < len(offs)], len(offs))
        width = int(np.diff(bounds[cut]).max()) if len(cut) > 1 else 1
        buf = np.empty((len(a), width), dtype=np.uint64)  # hash functions x shingles: rows contiguous
        with np.errstate(over="ignore"):
            for d0, d1 in zip(cut[:-1], cut[1:], strict=True):
                s0, s1 = bounds[d0], bounds[d1]
                v = buf[:, : s1 - s0]
                np.multiply(a, sh[None, s0:s1], out=v)
                np.add(v, b, out=v)
                np.right_shift(v, shift, out=v)
                out[d0:d1] = np.minimum.reduceat(v, offs[d0:d1] - s0, axis=1).T
        return out


def band_keys(sig: np.ndarray, b: int, r: int) -> np.ndarray:
    """One ``uint64`` bucket key per text and band (``n x b``): the band's ``r`` MinHash values combined."""
    keys = np.zeros((len(sig), b), dtype=np.uint64)
    for band in range(b):
        keys[:, band] = band_key(sig, band, r)
    return keys


def band_key(sig: np.ndarray, band: int, r: int) -> np.ndarray:
    """Column ``band`` of :func:`band_keys` (one band's keys, made alone)."""
    key = np.zeros(len(sig), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(band * r, (band + 1) * r):
            key *= _P
            key += sig[:, j].astype(np.uint64)
    return key


@dataclass
class Buckets:
    """LSH buckets: per band, texts sorted by key, and each text's bucket as a range of that order."""

    order: np.ndarray  # b x n
    start: np.ndarray  # b x n: first position of text i's bucket in order[band]
    end: np.ndarray  # b x n: one past its last position
    crowded: np.ndarray | None = None  # n: in some bucket whose pairs were not all enumerated
    indptr: np.ndarray | None = None  # n + 1: text i's verified neighbours are nbr[indptr[i]:indptr[i + 1]]
    nbr: np.ndarray | None = None

    def neighbours(self, i: int) -> np.ndarray:
        """Texts sharing at least one band bucket with text ``i`` (``i`` included), sorted."""
        parts = [self.order[band, lo:hi] for band, (lo, hi) in enumerate(zip(self.start[:, i], self.end[:, i],
                                                                              strict=True))]
        return np.unique(np.concatenate(parts))


def candidate_pairs(sig: np.ndarray, b: int, r: int, cap: int = 32
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Buckets]:
    """Distinct pairs ``(i < j)`` of texts sharing an LSH band bucket, and the texts in crowded buckets.

    A bucket of at most ``cap`` texts gives all its pairs; a larger one (a campaign's thousands of
    copies share most buckets) only pairs each text with the next (``m - 1`` pairs, never ``m^2``), and
    its texts are reported as crowded.

    Returns:
        ``(rows, cols, crowded, buckets)``: pair indices (``int32`` below 2**31 texts), a boolean mask of texts in
        some bucket of more than ``cap`` texts, and the buckets.
    """
    n = len(sig)
    crowded = np.zeros(n, dtype=bool)
    parts = []
    itype = np.int32 if n < 2**31 else np.int64
    buckets = Buckets(*(np.empty((b, n), dtype=itype) for _ in range(3)))
    for band in range(b):  # each band's keys made when read (band_keys whole: 8 bytes a text and band)
        key = band_key(sig, band, r)
        order = np.argsort(key, kind="stable")
        ks = key[order]
        new = np.r_[True, ks[1:] != ks[:-1]]
        bucket = np.cumsum(new) - 1
        first = np.flatnonzero(new)
        size = np.bincount(bucket)[bucket]
        buckets.order[band] = order
        buckets.start[band, order] = first[bucket]
        buckets.end[band, order] = first[bucket] + size
        crowded[order[size > cap]] = True
        small = size <= cap
        top = int(size[small & (size > 1)].max()) if (small & (size > 1)).any() else 1
        for d in range(1, max(2, top)):
            same = np.flatnonzero(bucket[d:] == bucket[:-d])
            if d > 1:
                same = same[small[same]]
            lo, hi = order[same], order[same + d]
            parts.append(np.minimum(lo, hi).astype(np.int64) * n + np.maximum(lo, hi))
    codes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    del parts
    codes.sort()
    codes = codes[np.r_[True, codes[1:] != codes[:-1]]] if len(codes) else codes
    buckets.crowded = crowded
    rows = (codes // n).astype(itype)
    codes %= n
    return rows, codes.astype(itype), crowded, buckets


def verified_neighbours(sig: np.ndarray, weight: np.ndarray, threshold: float, chunk: int = 1 << 15
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Buckets]:
    """LSH candidate pairs whose estimated Jaccard reaches ``threshold``, and each text's neighbour weight.

    Args:
        sig: MinHash signatures (``n x num_perm``).
        weight: Copies behind each text.
        threshold: Jaccard similarity at which banding is tuned and pairs are verified.
        chunk: Pairs compared per numpy block.

    Returns:
        ``(rows, cols, reach, buckets)``: verified pairs; per text its own weight plus its verified
        neighbours' (``inf`` for texts in a crowded bucket, whose pairs are not all enumerated); the buckets.
    """
    n, num_perm = sig.shape
    b, r = optimal_bands(threshold, num_perm)
    rows, cols, crowded, buckets = candidate_pairs(sig, b, r)
    keep = np.zeros(len(rows), dtype=bool)
    need = agreements_needed(threshold, num_perm)
    for lo in range(0, len(rows), chunk):
        hi = lo + chunk
        keep[lo:hi] = matches(sig[rows[lo:hi]], sig[cols[lo:hi]]) >= need
    rows, cols = rows[keep], cols[keep]
    del keep
    # each text's neighbours (its pairs both ways) grouped by text, by scipy's counting sort (``_seed`` reads them
    # as a set: their order within a text does not matter)
    sym = coo_matrix((np.ones(2 * len(rows), dtype=np.int8), (np.concatenate([rows, cols]), np.concatenate([cols, rows]))),
                     shape=(n, n)).tocsr()
    buckets.indptr, buckets.nbr = sym.indptr, sym.indices
    del sym
    w = weight.astype(np.float64)
    reach = w + np.bincount(rows, weights=w[cols], minlength=n) + np.bincount(cols, weights=w[rows], minlength=n)
    reach[crowded] = np.inf
    return rows, cols, reach, buckets


def lsh_components(sig: np.ndarray, threshold: float, weight: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray, Buckets | None]:
    """Connected components of texts linked by verified LSH candidate pairs.

    A candidate pair (texts sharing an LSH band bucket) is an edge only if its estimated Jaccard
    similarity reaches ``threshold``: chance bucket collisions (stock phrases shared by unrelated
    answers) would otherwise chain nearly every text into one component.

    Args:
        sig: MinHash signatures (``n x num_perm``).
        threshold: Jaccard similarity at which banding is tuned and pairs are verified.
        weight: Copies behind each text (default 1).

    Returns:
        ``(component label, reach, buckets)`` (see :func:`verified_neighbours`).
    """
    n = len(sig)
    weight = np.ones(n, dtype=np.int64) if weight is None else weight
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0), None
    rows, cols, reach, buckets = verified_neighbours(sig, weight, threshold)
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    return connected_components(graph, directed=False)[1], reach, buckets


def _similarity(counts: np.ndarray, num_perm: int, n_sh: np.ndarray, ref_n: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimated Jaccard, containment of the reference in each member, and of each member in the reference.

    Args:
        counts: Agreeing hash functions between each member's signature and the reference's.
        num_perm: Signature length.
        n_sh: Shingle count of each member.
        ref_n: Shingle count of the reference.
    """
    jac = counts / num_perm
    a, b = float(ref_n), n_sh.astype(float)
    inter = jac * (a + b) / (1.0 + jac)
    return jac, np.minimum(inter / a, 1.0), np.minimum(inter / b, 1.0)


def _seed(sig: np.ndarray, buckets: Buckets, alive: np.ndarray, centre: int, threshold: float) -> np.ndarray:
    """The centre and its remaining (``alive``) texts at estimated Jaccard >= ``threshold``, sorted.

    Only texts sharing an LSH bucket with the centre can qualify. For a centre in no crowded bucket they
    are its verified neighbours (all pairs of its buckets were verified at ``threshold``); otherwise its
    buckets are read and compared.
    """
    if buckets.crowded is not None and buckets.nbr is not None and not buckets.crowded[centre]:
        cand = buckets.nbr[buckets.indptr[centre]:buckets.indptr[centre + 1]]
        cand = cand[alive[cand]]
    else:  # buckets.neighbours(centre) that are alive: filtered before the sort (most are gone as clusters form)
        order = buckets.order
        cand = np.concatenate([order[band, lo:hi] for band, (lo, hi) in
                               enumerate(zip(buckets.start[:, centre].tolist(), buckets.end[:, centre].tolist(),
                                             strict=True))])
        cand = np.unique(cand[alive[cand]])
        cand = cand[matches(sig[cand], sig[centre]) >= agreements_needed(threshold, sig.shape[1])]
    return np.union1d(cand, [centre]).astype(np.int64)


def _heaviest(idx: np.ndarray, weight: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` texts of ``idx`` with the highest weight (ties: first in ``idx``), in O(len(idx))."""
    if len(idx) <= k:
        return idx
    w = weight[idx]
    kth = np.partition(w, len(w) - k)[len(w) - k]  # k-th largest weight
    above = np.flatnonzero(w > kth)
    at = np.flatnonzero(w == kth)[: k - len(above)]
    return idx[np.sort(np.concatenate([above, at]))]


class _Heaviest:
    """:func:`_heaviest` of a shrinking candidate set, without re-reading it: the ranking is sorted once."""

    def __init__(self, can: np.ndarray, weight: np.ndarray):
        self.rank = can[np.lexsort((can, -weight[can]))]  # heaviest first, then lowest index (``can`` order)
        self.start = 0

    def top(self, alive: np.ndarray, k: int) -> np.ndarray:
        """The ``k`` heaviest texts still ``alive`` (ascending index): ``_heaviest(can[alive[can]], ...)``."""
        rank = self.rank
        while self.start < len(rank) and not alive[rank[self.start]]:
            self.start += 1
        width = 4 * k
        while True:
            window = rank[self.start:self.start + width]
            got = window[alive[window]]
            if len(got) >= k or self.start + width >= len(rank):
                return np.sort(got[:k])
            width *= 4


#: Whether :class:`_Grower` reads an index restricted to its pool (same clusters; ``False``: the full index, as
#: before #18's session 9 — kept for the tests that compare the two).
RESTRICT_POOL = True
#: Whether :class:`_Grower` compares the lowest byte of each hash value first and counts the agreements of only the
#: texts that could join at that bound (same clusters; ``False``: every agreeing text counted, as before #18's
#: session 20 — kept for the tests that compare the two).
BYTE_BOUND = True
#: Share of an index's texts that must have left the pool before it is restricted again.
_RESTRICT_SHARE = 0.25
#: Grows between two checks of how many texts left the pool (each check reads ``n`` booleans).
_RESTRICT_EVERY = 16

#: Up to this many texts an :class:`_AliveSet` is kept compacted (cheaper there than its blocks: measured
#: crossover about 60,000 texts).
_SMALL = 50_000


class _AliveSet:
    """The still-``alive`` texts of a fixed ascending index array, drawn from by rank without compacting it.

    ``rng.choice(idx[alive[idx]], k, replace=False)`` is ``alive_texts[rng.choice(count, k, replace=False)]``
    (numpy draws positions from the population size alone), so a draw only needs the alive texts of ``k``
    ranks: they are found through per-block alive counts, in O(n / block + k * block) instead of the O(n)
    of compacting ``idx`` after every removal. A set of at most ``_SMALL`` texts is simply kept compacted
    (fewer numpy calls), and a large set with more than half its texts dead starts again from the alive ones.
    """

    def __init__(self, idx: np.ndarray, alive: np.ndarray, block: int = 16):
        self.alive, self.block = alive, block
        self.compact: np.ndarray | None = idx[alive[idx]] if len(idx) <= _SMALL else None
        if self.compact is not None:
            self.n = len(self.compact)
            return
        self.idx = idx
        n_blocks = -(-len(idx) // block)
        self.live = np.zeros((n_blocks, block), dtype=bool)  # alive[idx], padded with False, one row per block
        self.live.ravel()[:len(idx)] = alive[idx]
        self.counts = self.live.sum(axis=1, dtype=np.int64)
        self.n = int(self.counts.sum())
        self._pad = np.concatenate([idx, np.zeros(n_blocks * block - len(idx), dtype=idx.dtype)])

    def __len__(self) -> int:
        return self.n

    def remove(self, gone: np.ndarray) -> None:
        """Account for ``gone`` (distinct texts that were alive) having just been set not alive."""
        if self.compact is not None:
            self.compact = self.compact[self.alive[self.compact]]
            self.n = len(self.compact)
            return
        if len(gone) == 0:
            return
        pos = np.minimum(np.searchsorted(self.idx, gone), len(self.idx) - 1)
        pos = pos[self.idx[pos] == gone]
        self.live.ravel()[pos] = False
        np.subtract.at(self.counts, pos // self.block, 1)
        self.n -= len(pos)
        if self.n * 2 < len(self.idx):  # mostly dead: start again from the alive texts
            self.__init__(self.array(), self.alive, self.block)

    def take(self, ranks: np.ndarray) -> np.ndarray:
        """The alive texts of these ranks (0-based, in index order), in the order of ``ranks``."""
        if self.compact is not None:
            return self.compact[ranks]
        cum = np.cumsum(self.counts)
        blk = np.searchsorted(cum, ranks, side="right")
        within = ranks - cum[blk] + self.counts[blk]  # rank inside the block
        col = np.count_nonzero(np.cumsum(self.live[blk], axis=1) <= within[:, None], axis=1)
        return self._pad[blk * self.block + col]

    def choice(self, rng: np.random.Generator, k: int) -> np.ndarray:
        """``rng.choice(self.array(), k, replace=False)``, with the same draw from ``rng``."""
        return self.take(rng.choice(self.n, k, replace=False))

    def array(self) -> np.ndarray:
        """The alive texts, ascending."""
        return self.compact if self.compact is not None else self.idx[self.alive[self.idx]]


def _draw(pop: np.ndarray | _AliveSet, rng: np.random.Generator, k: int) -> np.ndarray:
    """``min(k, len(pop))`` distinct texts of ``pop`` drawn at random (an array or an :class:`_AliveSet`)."""
    k = min(k, len(pop))
    return pop.choice(rng, k) if isinstance(pop, _AliveSet) else rng.choice(pop, k, replace=False)


def _medoid(sig: np.ndarray, weight: np.ndarray, members: np.ndarray | _AliveSet, rng: np.random.Generator,
            threshold: float, can: np.ndarray | _AliveSet | None = None, heavy: np.ndarray | None = None) -> int:
    """Densest member: the candidate with the most (weighted) sampled texts at Jaccard >= ``threshold``.

    Density rather than mean similarity, so that a text bridging two letters (half of each) is not
    picked as the centre of both. Ties go to the higher weighted mean Jaccard, then the lower index.
    Candidates are drawn from ``can`` (default: all members), density is measured against members;
    ``heavy`` is ``_heaviest(can, weight, 10)`` when the caller has it (required with an :class:`_AliveSet`).
    """
    can = members if can is None else can
    heavy = _heaviest(can, weight, 10) if heavy is None else heavy
    cands = np.unique(np.concatenate([heavy, _draw(can, rng, 20)]))
    ref = _draw(members, rng, 100)
    w = weight[ref].astype(float)
    sims = matches(sig[cands][:, None, :], sig[ref][None, :, :]) / sig.shape[1]
    dense = (sims >= threshold) @ w
    score = dense * 2.0 + sims @ w / max(1.0, float(w.sum()))  # density first, mean similarity breaks ties
    best = np.flatnonzero(score == score.max())
    return int(cands[best].min())


class ShingleCache:
    """Shingle hashes of every text, concatenated (``sh``), text ``i``'s at ``sh[bounds[i]:bounds[i + 1]]``."""

    def __init__(self, sh: np.ndarray, bounds: np.ndarray):
        self.sh, self.bounds = sh, bounds

    @classmethod
    def of(cls, texts: list[str], k: int) -> ShingleCache:
        """The cache of ``texts`` (``k``-word shingles)."""
        sh, offs = shingle_hashes(texts, k)
        return cls(sh, np.append(offs, len(sh)).astype(np.int64))

    def get(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Concatenated shingle hashes of ``texts[idx]`` (in that order) and each text's start offset."""
        idx = np.asarray(idx, dtype=np.int64)
        lo, lens = self.bounds[idx], self.bounds[idx + 1] - self.bounds[idx]
        offs = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
        # position j of the output reads sh[lo[text] + (j - offs[text])]
        pos = np.arange(int(lens.sum()), dtype=np.int64) + np.repeat(lo - offs, lens)
        return self.sh[pos], offs


def _shared_shingles(sh: np.ndarray, offs: np.ndarray, weights: np.ndarray, share: float) -> np.ndarray:
    """The distinct hashes of ``sh`` held by texts of total weight >= ``share`` of all (in first-seen order).

    Text ``d``'s hashes are ``sh[offs[d]:offs[d + 1]]`` (the last runs to the end); a hash counts once per text.
    Two hash tables (pandas), not a sort: the distinct hashes, then the distinct (hash, text) pairs. Each hash's
    weight adds its texts' weights in text order, as a sort by (hash, text) would (the same sums, to the bit).
    """
    n_docs = len(offs)
    if len(sh) == 0:
        return sh
    codes, uniq = pd.factorize(sh)
    doc = np.repeat(np.arange(n_docs, dtype=np.int64), np.diff(np.append(offs, len(sh))))
    pairs = pd.unique(codes.astype(np.int64) * n_docs + doc)  # first occurrence of each (hash, text), in order
    w = np.asarray(weights, dtype=np.float64)
    wsum = np.bincount(pairs // n_docs, weights=w[pairs % n_docs], minlength=len(uniq))
    return np.asarray(uniq, dtype=np.uint64)[wsum >= share * float(np.sum(weights))]


def template_signature(hasher: MinHasher, texts: list[str] | ShingleCache, weights: np.ndarray,
                       share: float = 0.5, idx: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """MinHash of the shingles found in >= ``share`` of the (weighted) texts: the campaign's template.

    Args:
        hasher: The MinHasher of the signatures.
        texts: The texts, or a :class:`ShingleCache` read at ``idx``.
        weights: Weight (copies) of each text.
        share: Minimum weighted share of texts holding a template shingle.
        idx: With a cache: which of its texts.

    Returns:
        ``(signature, number of template shingles)``; ``n == 0`` when no shingle is shared enough.
    """
    if isinstance(texts, ShingleCache):
        sh, offs = texts.get(np.asarray(idx))
    else:
        sh, offs = shingle_hashes(texts, hasher.shingle_size)
    keep = _shared_shingles(sh, offs, weights, share)
    if len(keep) == 0:
        return np.zeros(hasher.num_perm, dtype=np.uint32), 0
    return hasher._minhash(keep, np.zeros(1, dtype=np.int64))[0], len(keep)


def cluster(
    texts: list[str],
    sig: np.ndarray,
    n_sh: np.ndarray,
    weight: np.ndarray,
    hasher: MinHasher,
    *,
    threshold: float,
    containment: float,
    min_size: int,
    seed: int,
    max_sample: int = 300,
    refine: int = 3,
    min_template: int = 1,
    min_coverage: float = 0.0,
    shingles: ShingleCache | None = None,
    templates: list[tuple[np.ndarray, int]] | None = None,
) -> np.ndarray:
    """Group texts into verified clusters of total weight >= ``min_size``.

    Within each LSH component: take the densest text as centre, gather a seed cluster of texts
    whose estimated Jaccard with it reaches ``threshold``, derive the seed's
    template shingles (those in >= half of the copies) and accept every text of the component that
    contains >= ``containment`` of the template (or has Jaccard >= ``containment`` with it); re-derive
    the template from the accepted texts and repeat until membership is stable (so a centre that
    happens to be a hybrid of two letters converges onto one of them). Repeat on what is left.

    Args:
        texts: Distinct normalised texts.
        sig: Their MinHash signatures.
        n_sh: Shingle count of each text.
        weight: Number of exact copies behind each distinct text.
        hasher: The MinHasher that made ``sig``.
        threshold: LSH Jaccard threshold (candidate generation).
        containment: Verification threshold.
        min_size: Minimum total weight of a cluster.
        seed: Seed of the samples.
        max_sample: Texts read to derive a template.
        refine: Template/membership refinement rounds (stops early when membership is stable).
        min_template: Minimum number of template shingles: groups sharing less (a stock sentence) are
            not clusters.
        min_coverage: Minimum (copy-weighted) mean share of a member's shingles that are template
            shingles: a form letter is mostly the letter; answers that merely share one stock
            sentence among their own words are not a campaign.
        shingles: The texts' shingle hashes when already computed (:meth:`MinHasher.signatures`).
        templates: When given, each cluster's template is appended to it, in label order: the signature of its
            template shingles and their number (the template its members were last tested against).

    Returns:
        Cluster label per text (``-1``: in no cluster), numbered in order of discovery.
    """
    rng = np.random.default_rng(seed)
    labels = np.full(len(sig), -1, dtype=np.int64)
    shingles = ShingleCache.of(texts, hasher.shingle_size) if shingles is None else shingles
    comp, reach, buckets = lsh_components(sig, threshold, weight)
    seedable = reach >= min_size  # enough verified neighbours to seed a cluster (see verified_neighbours)
    alive = np.zeros(len(sig), dtype=bool)  # members of the component still unassigned (= ``remaining``)
    free = np.ones(len(sig), dtype=bool)  # in no cluster yet
    grow = _Grower(sig, n_sh, weight, shingles, hasher, comp, alive, free, rng, containment=containment,
                   min_size=min_size, max_sample=max_sample, refine=refine, min_template=min_template)
    order = np.argsort(comp, kind="stable")
    bounds = np.flatnonzero(np.diff(comp[order])) + 1
    next_label = 0
    for members in np.split(order, bounds):
        members = members[free[members]]
        if len(members) == 0 or weight[members].sum() < min_size:
            continue
        left = int(weight[members].sum())
        alive[members] = True
        can_idx = members[seedable[members]]
        remaining, can = _AliveSet(members, alive), _AliveSet(can_idx, alive)  # the alive members / candidates
        heaviest = _Heaviest(can_idx, weight)
        while len(remaining) and left >= min_size:
            if len(can) == 0:
                break
            centre = (_medoid(sig, weight, remaining, rng, threshold, can, heaviest.top(alive, 10))
                      if len(remaining) > 1 else int(can.take(np.zeros(1, dtype=np.int64))[0]))
            seed_idx = _seed(sig, buckets, alive, centre, threshold)
            ok, tn, coverage = None, 0, 0.0
            if weight[seed_idx].sum() >= min_size:
                ok, tn, coverage = grow(seed_idx, int(comp[centre]))
            if ok is None or tn < min_template or weight[ok].sum() < min_size or coverage < min_coverage:
                gone = seed_idx  # too few around this centre, or they share too little
            else:
                gone = ok
                labels[ok] = next_label
                next_label += 1
                if templates is not None:
                    templates.append((grow.template, tn))
                free[ok] = False
            gone = gone[alive[gone]]
            alive[gone] = False
            left -= int(weight[gone].sum())
            remaining.remove(gone)
            can.remove(gone)
        alive[remaining.array()] = False
    return labels


class _Grower:
    """Template of the current members -> texts containing it, repeated until stable (see :func:`cluster`).

    The pool a cluster may take texts from is the centre's component's remaining texts (``alive``) and the
    unclustered texts of other components (copies too edited to be LSH neighbours may still hold the
    template). Only texts agreeing with the template's signature on some hash function can contain it,
    so those are found with a :class:`ColumnIndex` instead of comparing the whole pool.
    """

    def __init__(self, sig: np.ndarray, n_sh: np.ndarray, weight: np.ndarray, shingles: ShingleCache,
                 hasher: MinHasher, comp: np.ndarray, alive: np.ndarray, free: np.ndarray,
                 rng: np.random.Generator, *, containment: float, min_size: int, max_sample: int, refine: int,
                 min_template: int):
        self.sig, self.n_sh, self.weight, self.shingles, self.hasher = sig, n_sh, weight, shingles, hasher
        self.comp, self.alive, self.free, self.rng = comp, alive, free, rng
        self.containment, self.min_size, self.max_sample = containment, min_size, max_sample
        self.refine, self.min_template = refine, min_template
        self._index: SignatureScan | None = None
        #: ``(component, index of the texts that were in its pool, grow calls since)``: see :meth:`_pool_index`
        self._local: tuple[int, SignatureScan, int] | None = None
        #: The signature of the template the last call tested its members against (``cluster``'s ``templates``).
        self.template: np.ndarray | None = None

    def _pool_index(self, centre_comp: int) -> SignatureScan:
        """A :class:`ColumnIndex` listing every text of the current pool (and maybe texts that left it).

        The pool of a component's clusters (``alive``, or ``free`` in another component) only shrinks while that
        component is searched (texts leave ``alive`` and ``free``, never enter), so an index restricted to the
        pool at some point still lists every text of the pool later: its :meth:`ColumnIndex.agreements`, filtered
        to the pool, are the full index's. A large component (the giant component of texts sharing stock
        phrases) would otherwise read every text of the consultation at each grow, consumed or not; the index is
        restricted again when at least :data:`_RESTRICT_SHARE` of the texts it lists left the pool (checked every
        :data:`_RESTRICT_EVERY` grows), and starts from the full index for each new component.
        """
        if self._index is None:
            self._index = SignatureScan(self.sig)
        if not RESTRICT_POOL:
            return self._index
        local = self._local
        if local is not None and local[0] == centre_comp and local[2] < _RESTRICT_EVERY:
            self._local = (centre_comp, local[1], local[2] + 1)
            return local[1]
        index = local[1] if local is not None and local[0] == centre_comp else self._index
        pool = self.alive | (self.free & (self.comp != centre_comp))
        if np.count_nonzero(pool) < (1 - _RESTRICT_SHARE) * index.size:
            index = index.restricted(pool)
        self._local = (centre_comp, index, 1)
        return index

    def _could_join(self, centre_comp: int, tn: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """Whether texts in the pool would join a template of ``tn`` shingles with so many agreements: the test
        :meth:`__call__` applies to the exact counts. Both similarities rise with the agreements, so a text that
        fails at an upper bound of its agreements fails at their number (:meth:`SignatureScan.agreements`)."""
        def could(cand: np.ndarray, bound: np.ndarray) -> np.ndarray:
            in_pool = self.alive[cand] | (self.free[cand] & (self.comp[cand] != centre_comp))
            jac, t_in_m, _ = _similarity(bound, self.sig.shape[1], self.n_sh[cand], tn)
            return in_pool & ((t_in_m >= self.containment) | (jac >= self.containment))

        return could

    def _pool_order(self, idx: np.ndarray, *extra: np.ndarray) -> tuple[np.ndarray, ...]:
        """Sorted ``idx`` (and aligned ``extra``) reordered as the pool lists them: component first."""
        inside = self.alive[idx]
        if inside.all():
            return (idx, *extra)
        perm = np.concatenate([np.flatnonzero(inside), np.flatnonzero(~inside)])
        return (idx[perm], *(e[perm] for e in extra))

    def __call__(self, seed_idx: np.ndarray, centre_comp: int) -> tuple[np.ndarray, int, float]:
        """Grow the cluster seeded by ``seed_idx`` (texts of the centre's component ``centre_comp``).

        Returns:
            ``(members in pool order, template shingle count, copy-weighted mean template coverage)``.
        """
        ok, tn, m_in_t = seed_idx, 0, np.zeros(len(seed_idx))
        for _ in range(self.refine):
            cur = ok
            if len(cur) > self.max_sample:
                cur = np.sort(self.rng.choice(cur, self.max_sample, replace=False))
            tsig, tn = template_signature(self.hasher, self.shingles, self.weight[cur], idx=cur)
            self.template = tsig
            if tn < self.min_template:
                break
            could = self._could_join(centre_comp, tn) if BYTE_BOUND else None
            cand, counts = self._pool_index(centre_comp).agreements(tsig, could)
            in_pool = self.alive[cand] | (self.free[cand] & (self.comp[cand] != centre_comp))
            cand, counts = cand[in_pool], counts[in_pool]
            jac, t_in_m, new_m = _similarity(counts, self.sig.shape[1], self.n_sh[cand], tn)
            take = (t_in_m >= self.containment) | (jac >= self.containment)
            new_ok, new_m = self._pool_order(cand[take], new_m[take])
            same = len(new_ok) == len(ok) and np.array_equal(np.sort(new_ok), np.sort(ok))
            ok, m_in_t = new_ok, new_m
            if self.weight[ok].sum() < self.min_size or same:
                break
        w_ok = self.weight[ok].astype(float)
        coverage = float((m_in_t * w_ok).sum() / w_ok.sum()) if tn and w_ok.sum() else 0.0
        return ok, tn, coverage
