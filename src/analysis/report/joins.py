"""Row positions of a pandas merge on a text key, found by Arrow (no merged copy).

:func:`analysis.report.publishable.publishable_rows` pairs each text with its respondent: a left merge of the
texts' ids with the respondents' unique ids. :func:`key_rows` returns only where each id is found (``-1``: not
there), which is all the caller takes from the merge; it returns ``None`` when it cannot stand for the merge (a key
that is not text, a missing key, a right side whose keys repeat): the caller merges then.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.counts.cells import arrow_strings


def _strings(frame: pd.DataFrame, column: str) -> pa.Array | None:
    """``frame[column]`` as Arrow strings without a missing value, else ``None``."""
    arr = arrow_strings(frame[column])
    return None if arr is None or arr.null_count else arr


def key_rows(left: pd.DataFrame, right: pd.DataFrame, key: str) -> np.ndarray | None:
    """For each row of ``left``, the row of ``right`` with the same ``key`` (``-1``: none), or ``None``.

    The rows of ``left.merge(right, on=key, how="left")`` are ``left``'s, each paired with that row when ``right``'s
    keys are unique (``None`` otherwise, and for keys that are not all text or hold a missing value).
    """
    lk, rk = _strings(left, key), _strings(right, key)
    if lk is None or rk is None:
        return None
    values = pc.unique(rk)
    if len(values) != len(rk):
        return None
    return pc.fill_null(pc.index_in(lk, value_set=rk), -1).to_numpy().astype(np.int64)
