"""The compiled kernel of :func:`analysis.campaigns.agreement_scan._scan` (numba), defined at module level.

Imported only when a scan is large enough (numba's import is heavy); a module-level function, so numba's disk
cache (``cache=True``) loads it in the next process instead of compiling it again.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def count_equal(rows: np.ndarray, ref: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """``out[i]`` = the number of positions ``j`` where ``rows[i, j] == ref[j]`` (what
    :func:`~analysis.campaigns.agreement_scan.matches` counts), in one pass without temporaries."""
    n, k = rows.shape
    for i in range(n):
        c = np.int32(0)
        for j in range(k):
            if rows[i, j] == ref[j]:
                c += 1
        out[i] = c
