"""Which texts' MinHash signatures agree with one signature, and on how many hash functions.

The clustering (:mod:`analysis.campaigns.near_duplicates`) asks this of every text of a pool, once per attempt to grow
a cluster: :class:`SignatureScan` compares the signatures themselves, a block at a time (one byte of each value first
when the caller can say which texts could still join); :class:`ColumnIndex` finds the same texts through each hash
function's sorted values (12 bytes per text and function; kept for the tests that compare the two).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

_BYTES = np.uint64(0x0101010101010101)


def matches(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Number of equal positions along the last axis of ``a`` and ``b`` (broadcast): MinHash agreements.

    ``np.count_nonzero(a == b, axis=-1)``, computed by adding the 0/1 bytes eight at a time.
    """
    eq = np.equal(a, b)
    k = eq.shape[-1]
    if k % 8 or k >= 256 or not eq.flags.c_contiguous:
        return np.count_nonzero(eq, axis=-1)
    words = eq.view(np.uint64).reshape(eq.shape[:-1] + (k // 8,)).sum(axis=-1, dtype=np.uint64)
    with np.errstate(over="ignore"):  # each byte holds a count < 256: their sum is the top byte of w * 0x0101...
        return ((words * _BYTES) >> np.uint64(56)).astype(np.int64)


class ColumnIndex:
    """Each hash function's values sorted: the texts agreeing with a signature anywhere, without a full scan."""

    def __init__(self, sig: np.ndarray):
        n, num_perm = sig.shape
        sig_t = np.ascontiguousarray(sig.T)
        # one sorted key per (hash function, value): (j << 32) | value, so all columns are searched at once; built
        # one hash function at a time (each row's stable argsort, as ``argsort(sig_t, axis=1)`` sorts each row), so
        # that no ``n x num_perm`` temporary of 8-byte positions or keys is held beside the index
        self.keys = np.empty(num_perm * n, dtype=np.uint64)
        self.order = np.empty(num_perm * n, dtype=np.int32 if n < 2**31 else np.int64)
        for j in range(num_perm):
            row, keys = sig_t[j], self.keys[j * n:(j + 1) * n]
            order = np.argsort(row, kind="stable")
            self.order[j * n:(j + 1) * n] = order
            keys[:] = row[order]  # uint32 values into the uint64 keys (a safe cast)
            keys |= np.uint64(j) << np.uint64(32)
        self.n, self.num_perm = n, num_perm

    @property
    def size(self) -> int:
        """Texts listed (``n`` unless :meth:`restricted`)."""
        return len(self.order) // self.num_perm

    def restricted(self, keep: np.ndarray) -> ColumnIndex:
        """The index of the texts where ``keep`` (``n`` booleans) is true, in ``O(size * num_perm)``, no sort.

        Its :meth:`agreements` are this index's restricted to those texts (the others are never listed): removing
        entries from a sorted list leaves it sorted, and each text keeps its value under each hash function.
        """
        m = keep[self.order]
        out = object.__new__(ColumnIndex)
        out.keys, out.order, out.n, out.num_perm = self.keys[m], self.order[m], self.n, self.num_perm
        return out

    def agreements(self, ref: np.ndarray, could: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Texts agreeing with signature ``ref`` on at least one hash function (sorted) and on how many.

        Every other text agrees on none (estimated Jaccard 0). With ``could`` (texts, their agreements ->
        booleans), only the texts for which it is true (:meth:`SignatureScan.agreements`).
        """
        texts, counts = self._agreements(ref)
        if could is None:
            return texts, counts
        keep = np.asarray(could(texts, counts), dtype=bool)
        return texts[keep], counts[keep]

    def _agreements(self, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = ref.astype(np.uint64) | (np.arange(self.num_perm, dtype=np.uint64) << np.uint64(32))
        lo, hi = np.searchsorted(self.keys, q, side="left"), np.searchsorted(self.keys, q, side="right")
        lens = hi - lo
        total = int(lens.sum())
        if total == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        pos = np.arange(total, dtype=np.int64) + np.repeat(lo - (np.cumsum(lens) - lens), lens)
        hits = self.order[pos]
        if total * 8 < self.n:
            texts, counts = np.unique(hits, return_counts=True)
            return texts.astype(np.int64), counts
        counts = np.bincount(hits, minlength=self.n)
        texts = np.flatnonzero(counts)
        return texts, counts[texts]


#: Signatures compared per numpy block by :meth:`SignatureScan.agreements` (a block's comparison is 128 bytes a text).
_SCAN_ROWS = 8192


class SignatureScan:
    """:class:`ColumnIndex`'s :meth:`~ColumnIndex.agreements` by comparing the listed texts' signatures, no index.

    The index holds 12 bytes per text and hash function beside the signatures (1.4 GB for 928,743 texts): this
    reads the signatures themselves, or a copy of the listed rows once :meth:`restricted` (4 bytes per text and hash
    function). Each query compares every listed text (``size * num_perm`` bytes, a block of rows at a time) where
    the index reads only the agreeing ones; the pool the clustering queries shrinks fast, and the index's sort
    is saved (measured at 200,000 responses, 90% copies: fewer CPU seconds than the index's build and queries).

    Args:
        sig: MinHash signatures (``n x num_perm``, ``uint32``), not copied while every text is listed.
        listed: The texts listed (ascending; default all).
    """

    def __init__(self, sig: np.ndarray, listed: np.ndarray | None = None):
        self.n, self.num_perm = sig.shape
        self.listed = listed
        self.rows = np.ascontiguousarray(sig) if listed is None else sig  # the listed texts' signatures
        self._bytes: np.ndarray | None = None  # their values' lowest bytes (:meth:`low_bytes`)

    def low_bytes(self) -> np.ndarray:
        """The lowest byte of each listed text's hash values (``size x num_perm``, ``uint8``; made once, a quarter
        of the signatures' size): equal values have equal lowest bytes, so the texts agreeing on a byte include
        every text agreeing on the value, and their number of agreeing bytes bounds its number of agreements."""
        if self._bytes is None:
            self._bytes = _lowest_byte(self.rows)
        return self._bytes

    @property
    def size(self) -> int:
        """Texts listed (``n`` unless :meth:`restricted`)."""
        return len(self.rows)

    def restricted(self, keep: np.ndarray) -> SignatureScan:
        """The scan of the listed texts where ``keep`` (``n`` booleans) is true (their signatures copied)."""
        listed = np.arange(self.n, dtype=np.int64) if self.listed is None else self.listed
        mask = keep[listed]
        out = object.__new__(SignatureScan)
        out.n, out.num_perm, out.listed, out.rows = self.n, self.num_perm, listed[mask], self.rows[mask]
        out._bytes = None if self._bytes is None else self._bytes[mask]
        return out

    def agreements(self, ref: np.ndarray, could: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Texts agreeing with signature ``ref`` on at least one hash function (sorted) and on how many: what
        :meth:`ColumnIndex.agreements` gives.

        With ``could`` (texts, an upper bound of their agreements -> booleans), only the texts for which it is true
        at the bound are counted exactly and returned: the bound is the number of hash values whose lowest byte
        agrees (:meth:`low_bytes`: a quarter of the bytes to compare). When ``could`` can only become false as the
        agreements fall (as a minimum similarity), the texts left out are texts it is false for.
        """
        ref = np.ascontiguousarray(ref, dtype=self.rows.dtype)
        if could is None:
            pos, counts = _scan(self.rows, ref)
            got = pos if self.listed is None else self.listed[pos]
            return got.astype(np.int64, copy=False), counts
        pos, bound = _scan(self.low_bytes(), _lowest_byte(ref))  # bytes compared first
        got = (pos if self.listed is None else self.listed[pos]).astype(np.int64, copy=False)
        keep = np.asarray(could(got, bound), dtype=bool)
        pos, got = pos[keep], got[keep]
        exact = matches(self.rows[pos], ref) if len(pos) else np.zeros(0, dtype=np.int64)  # values where it holds
        agree = exact > 0
        return got[agree], exact[agree].astype(np.int64, copy=False)


def _lowest_byte(values: np.ndarray) -> np.ndarray:
    """The lowest byte of each of ``values`` (unsigned integers, last axis contiguous), as ``uint8``, contiguous."""
    size = values.dtype.itemsize
    as_bytes = values.view(np.uint8).reshape(*values.shape, size)
    return np.ascontiguousarray(as_bytes[..., 0 if sys.byteorder == "little" else size - 1])


#: Rows from which :func:`_scan` counts with the compiled kernel (:mod:`analysis.campaigns.scankernels`): 3-5x
#: faster than :func:`matches` a block at a time, once numba is imported (about a second, once a process).
KERNEL_MIN_ROWS = 32_768


def _scan(rows: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows agreeing with ``ref`` at one position or more (ascending) and at how many (:func:`matches`), a block of
    :data:`_SCAN_ROWS` at a time (from :data:`KERNEL_MIN_ROWS` rows, all at once by a compiled loop)."""
    if len(rows) >= KERNEL_MIN_ROWS and rows.flags.c_contiguous and ref.flags.c_contiguous:
        from analysis.campaigns.scankernels import count_equal  # noqa: PLC0415 - numba: only for large scans

        counts = np.empty(len(rows), dtype=np.int32)
        count_equal(rows, ref, counts)
        pos = np.flatnonzero(counts)
        return pos.astype(np.int64, copy=False), counts[pos].astype(np.int64)
    pos_parts, count_parts = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for lo in range(0, len(rows), _SCAN_ROWS):
        c = matches(rows[lo:lo + _SCAN_ROWS], ref)
        hit = np.flatnonzero(c)
        pos_parts.append(hit + lo)
        count_parts.append(c[hit])
    return (np.concatenate(pos_parts).astype(np.int64, copy=False),
            np.concatenate(count_parts).astype(np.int64, copy=False))
