"""The compiled kernels of :mod:`analysis.themes.fastencode` (numba), defined at module level.

Imported only by :func:`analysis.themes.fastencode.kernels` (numba's import is heavy). The kernels are module-level
functions so numba's disk cache (``cache=True``) loads them in the next process: defined inside a function,
``encode_rows`` held ``radix_sort`` in a closure cell, whose pickled bytes (part of the cache's index key) differ
from one process to the next, so every process compiled it again (a new cache file each run; ~3 CPU s a process).
Functions called from a kernel are globals here, fixed when the kernel is compiled.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def cut_pairs(doc_ptr, doc_pieces, first, last, out):  # pragma: no cover - compiled
    n = 0
    for i in range(len(doc_ptr) - 1):
        prev = -1
        for j in range(doc_ptr[i], doc_ptr[i + 1]):
            p = doc_pieces[j]
            f = first[p]
            if f >= 0:
                if prev >= 0:
                    out[n] = (prev << 32) | f
                    n += 1
                prev = last[p]
    return n


@numba.njit(nogil=True, cache=True)
def radix_sort(src, n, tmp, cnt, bits):  # pragma: no cover - compiled
    # src[:n] (distinct, 0 <= v < 2**bits) in increasing order, 8 bits a pass (least significant first);
    # returns src or tmp, whichever holds the result
    shift = 0
    while shift < bits:
        for d in range(256):
            cnt[d] = 0
        for i in range(n):
            cnt[(src[i] >> shift) & 255] += 1
        total = 0
        for d in range(256):
            c = cnt[d]
            cnt[d] = total
            total += c
        for i in range(n):
            v = src[i]
            d = (v >> shift) & 255
            tmp[cnt[d]] = v
            cnt[d] += 1
        src, tmp = tmp, src
        shift += 8
    return src


@numba.njit(nogil=True, cache=True)
def encode_rows(doc_ptr, doc_pieces, wp_ptr, wp_ids, first, last, pair_codes, pair_terms, cp_ptr, cp_ids,
                logp1, idf_w, idf_c, char_weight, ct, out, bigrams):  # pragma: no cover - compiled
    n_w = idf_w.shape[0]
    n_c = idf_c.shape[0]
    k = ct.shape[1]
    acc_w = np.zeros(n_w, np.int64)
    acc_c = np.zeros(n_c, np.int64)
    seen_w = np.empty(n_w, np.int64)
    seen_c = np.empty(n_c, np.int64)
    tmp_w = np.empty(n_w, np.int64)
    tmp_c = np.empty(n_c, np.int64)
    cnt = np.empty(256, np.int64)
    bits_w = 1
    while (1 << bits_w) < n_w:
        bits_w += 1
    bits_c = 1
    while (1 << bits_c) < n_c:
        bits_c += 1
    rows = np.empty(n_w + n_c, np.int64)
    vals = np.empty(n_w + n_c, np.float64)
    for i in range(len(doc_ptr) - 1):
        nw = 0
        nc = 0
        prev = -1
        for j in range(doc_ptr[i], doc_ptr[i + 1]):
            p = doc_pieces[j]
            for q in range(wp_ptr[p], wp_ptr[p + 1]):
                t = wp_ids[q]
                if acc_w[t] == 0:
                    seen_w[nw] = t
                    nw += 1
                acc_w[t] += 1
            if bigrams:
                f = first[p]
                if f >= 0:
                    if prev >= 0:
                        t = pair_terms[np.searchsorted(pair_codes, (prev << 32) | f)]
                        if t >= 0:
                            if acc_w[t] == 0:
                                seen_w[nw] = t
                                nw += 1
                            acc_w[t] += 1
                    prev = last[p]
            for q in range(cp_ptr[p], cp_ptr[p + 1]):
                t = cp_ids[q]
                if acc_c[t] == 0:
                    seen_c[nc] = t
                    nc += 1
                acc_c[t] += 1
        cols_w = radix_sort(seen_w, nw, tmp_w, cnt, bits_w)
        cols_c = radix_sort(seen_c, nc, tmp_c, cnt, bits_c)
        # the word block: TfidfTransformer (log + 1, times idf) then normalize's l2 (sum, sqrt, divide)
        s = 0.0
        for a in range(nw):
            t = cols_w[a]
            v = logp1[acc_w[t]] * idf_w[t]
            acc_w[t] = 0
            rows[a] = t
            vals[a] = v
            s += v * v
        if s != 0.0:
            s = math.sqrt(s)
            for a in range(nw):
                vals[a] /= s
        s = 0.0
        for a in range(nc):
            t = cols_c[a]
            v = logp1[acc_c[t]] * idf_c[t]
            acc_c[t] = 0
            rows[nw + a] = n_w + t
            vals[nw + a] = v
            s += v * v
        if s != 0.0:
            s = math.sqrt(s)
            for a in range(nc):
                vals[nw + a] /= s
        for a in range(nc):
            vals[nw + a] = vals[nw + a] * char_weight
        end = nw + nc
        s = 0.0  # the stacked row's l2
        for a in range(end):
            s += vals[a] * vals[a]
        if s != 0.0:
            s = math.sqrt(s)
            for a in range(end):
                vals[a] /= s
        o = out[i]  # the product with the basis: scipy's csr_matvecs order (analysis.spmm)
        for c in range(k):
            o[c] = 0.0
        jj = 0
        while jj + 4 <= end:
            a0 = vals[jj]
            a1 = vals[jj + 1]
            a2 = vals[jj + 2]
            a3 = vals[jj + 3]
            x0 = ct[rows[jj]]
            x1 = ct[rows[jj + 1]]
            x2 = ct[rows[jj + 2]]
            x3 = ct[rows[jj + 3]]
            for c in range(k):
                o[c] = (((o[c] + a0 * x0[c]) + a1 * x1[c]) + a2 * x2[c]) + a3 * x3[c]
            jj += 4
        while jj < end:
            a0 = vals[jj]
            x0 = ct[rows[jj]]
            for c in range(k):
                o[c] = o[c] + a0 * x0[c]
            jj += 1
