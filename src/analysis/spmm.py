"""A compiled CSR x dense product that gives scipy's result bit for bit, about twice as fast.

scipy's ``csr_matvecs`` (behind ``csr_matrix @ ndarray`` with a 2-D operand) computes each output row as
``y = 0; for each stored entry (j, a) of the row, in storage order: y += a * x[j]``, one multiplication and
one addition per element, each rounded. :func:`csr_dense_rows` does exactly these operations in exactly this
order for every output element (four stored entries per pass over the row, added one after the other, so the
output row is read and written a quarter as often), compiled by numba (installed with ``umap-learn``, which
``bertopic`` needs). numba contracts nothing into fused multiply-adds unless told to (``fastmath``), and
:func:`kernel` checks that on a probe against scipy before the kernel is used at all: a build that differs
(a contracting compiler on either side, numba missing) falls back to scipy.

The compiled kernel is cached on disk by numba (``cache=True``: ``__pycache__`` beside this file, or numba's
user cache folder when that is read-only), so a process loads it instead of compiling it: ~0.4 s CPU for numba's
import and the cached code, ~0.5 s more the first time (measured here), hence :data:`MIN_WORK`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

logger = logging.getLogger(__name__)

#: Multiply-adds that make loading the kernel worth it: loading costs ~0.4 s CPU (numba's import and its cached
#: code), about what scipy's products take for 1e9 multiply-adds here; the kernel saves about half of them
#: (measured on the sample's SVD fit: 13 products, 2.07M nonzeros x 266 columns, 2.5 -> 1.15 s CPU).
MIN_WORK = 3e9

_KERNEL: Callable | None | bool = False  # False: not tried yet; None: unavailable (scipy is used)


def _compile() -> Callable:
    import numba  # noqa: PLC0415 - heavy import, only when a large product is due

    if numba.config.DISABLE_JIT:  # NUMBA_DISABLE_JIT=1 would run the loops below in Python
        raise RuntimeError("numba's JIT is disabled")

    @numba.njit(nogil=True, cache=True)
    def csr_dense_rows(indptr, indices, data, x, out, r0, r1):  # pragma: no cover - compiled
        k = x.shape[1]
        for i in range(r0, r1):
            o = out[i - r0]
            for c in range(k):
                o[c] = 0.0
            jj = indptr[i]
            end = indptr[i + 1]
            while jj + 4 <= end:
                a0 = data[jj]
                a1 = data[jj + 1]
                a2 = data[jj + 2]
                a3 = data[jj + 3]
                x0 = x[indices[jj]]
                x1 = x[indices[jj + 1]]
                x2 = x[indices[jj + 2]]
                x3 = x[indices[jj + 3]]
                for c in range(k):
                    o[c] = (((o[c] + a0 * x0[c]) + a1 * x1[c]) + a2 * x2[c]) + a3 * x3[c]
                jj += 4
            while jj < end:
                a0 = data[jj]
                x0 = x[indices[jj]]
                for c in range(k):
                    o[c] = o[c] + a0 * x0[c]
                jj += 1

    return csr_dense_rows


def _probe(fn: Callable) -> bool:
    """Whether ``fn`` gives scipy's product bit for bit on small random matrices (rows of 0 to ~12 entries)."""
    rng = np.random.default_rng(20240518)
    for shape, n_vecs in (((37, 53), 11), ((64, 29), 266)):
        a = sp.random(*shape, density=0.12, format="csr", random_state=rng, dtype=np.float64)
        a.data = rng.standard_normal(a.nnz) * 1e3
        x = rng.standard_normal((shape[1], n_vecs))
        want = sp.csr_matrix._matmul_multivector(a, x)
        got = np.empty_like(want)
        fn(a.indptr, a.indices, a.data, x, got, 0, shape[0])
        if not np.array_equal(got.view(np.uint64), want.view(np.uint64)):
            return False
    return True


def kernel() -> Callable | None:
    """The compiled kernel once it has given scipy's bits on a probe; ``None`` when it cannot be used.

    Call it in one thread before sharing it between threads (it compiles or loads on first use).
    """
    global _KERNEL
    if _KERNEL is False:
        try:
            fn = _compile()
            _KERNEL = fn if _probe(fn) else None
            if _KERNEL is None:
                logger.info("compiled sparse product differs from scipy's here: scipy is used")
        except Exception as err:  # noqa: BLE001 - numba missing or failing: scipy's product
            logger.info("compiled sparse product unavailable (%s: %s): scipy is used", type(err).__name__, err)
            _KERNEL = None
    return _KERNEL


def loaded() -> bool:
    """Whether :func:`kernel` is ready (was called and passed its probe): no load or compile cost left."""
    return _KERNEL is not False and _KERNEL is not None


def worth(multiply_adds: float) -> bool:
    """Whether products totalling ``multiply_adds`` repay loading the kernel (already loaded: always)."""
    return loaded() or multiply_adds >= MIN_WORK


def usable(a: sp.csr_matrix, other: np.ndarray) -> bool:
    """Whether :func:`csr_dense_rows` applies: a float64 CSR matrix times a float64 2-D operand."""
    return a.dtype == np.float64 and other.dtype == np.float64 and other.ndim == 2


def csr_dense_rows(a: sp.csr_matrix, other: np.ndarray, r0: int, r1: int, out: np.ndarray) -> None:
    """Rows ``r0:r1`` of ``a @ other`` into ``out`` (``r1 - r0`` rows), as scipy computes them.

    Args:
        a: A float64 CSR matrix (:func:`usable`).
        other: A C-contiguous float64 matrix of ``a.shape[1]`` rows.
        r0: First row.
        r1: End row (exclusive).
        out: C-contiguous float64 output of ``(r1 - r0, other.shape[1])``.
    """
    fn = kernel()
    if fn is None:
        lo, hi = a.indptr[r0], a.indptr[r1]
        rows = sp.csr_matrix((a.data[lo:hi], a.indices[lo:hi], a.indptr[r0:r1 + 1] - lo), shape=(r1 - r0, a.shape[1]))
        out[...] = sp.csr_matrix._matmul_multivector(rows, other)
        return
    fn(a.indptr, a.indices, a.data, other, out, r0, r1)
