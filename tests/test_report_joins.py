"""Row positions of merges found by Arrow (analysis.report.joins) and block takes of chunked columns (quotes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from analysis.report import quotes
from analysis.report.joins import key_rows


def _merge_rows(left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
    got = left[["response_id"]].merge(right[["response_id"]].assign(_w=np.arange(len(right))), on="response_id",
                                      how="left", validate="many_to_one")["_w"]
    return got.fillna(-1).to_numpy().astype(np.int64)


def test_key_rows_are_the_left_merge_rows() -> None:
    left = pd.DataFrame({"response_id": pd.array(["r3", "r1", "r9", "r1", "r2"], dtype="str")})
    right = pd.DataFrame({"response_id": pd.array(["r1", "r2", "r3", "r4"], dtype="str")})
    got = key_rows(left, right, "response_id")
    assert got.tolist() == [2, 0, -1, 0, 1]
    assert got.tolist() == _merge_rows(left, right).tolist()


def test_key_rows_refuses_what_the_merge_must_do() -> None:
    left = pd.DataFrame({"response_id": pd.array(["r1", None], dtype="str")})
    right = pd.DataFrame({"response_id": pd.array(["r1", "r2"], dtype="str")})
    assert key_rows(left, right, "response_id") is None  # a missing key
    repeated = pd.DataFrame({"response_id": pd.array(["r1", "r1"], dtype="str")})
    assert key_rows(right, repeated, "response_id") is None  # a key twice on the right
    numbers = pd.DataFrame({"response_id": [1, 2]})
    assert key_rows(numbers, numbers, "response_id") is None  # not text


def test_block_rows_equal_iloc_on_a_chunked_column() -> None:
    chunks = [pa.array([f"t{i}-{j}" for j in range(50)]) for i in range(7)]
    column = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(chunks)))
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(len(column), size=60, replace=False))
    for block in (rows, rows[:1], rows[10:40], rows[:0]):
        got = quotes._block_rows(column, block)
        pd.testing.assert_series_equal(got, column.iloc[block])
