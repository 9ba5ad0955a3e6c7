"""The internal CSV's blocks taken in pieces (:func:`analysis.report.coded_arrow.take_pieces`), their texts rendered
piece by piece (:func:`~analysis.report.coded_arrow.render_text`) and numbers rendered once per distinct value
(``_plain``), against the joined column, pandas' ``to_csv`` and numpy's ``astype(str)`` value by value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analysis.report import coded_arrow
from analysis.report.workbook import neutralise_frame

TEXTS = ["plain", "a,b", 'say "hi"', "line\nbreak", "cr\rinside", "bell\x07inside", "\x01=hidden", '=f,"x"',
         '"', ",", "\n", "", " padded ", "caf\u00e9 \u2028 \U0001f600", '\x02"q"\n,', "-1", "@at", "\tTab", None]


def _chunked(values: list, sizes: list[int]) -> pa.ChunkedArray:
    cuts = np.cumsum([0, *sizes]).tolist()
    return pa.chunked_array([pa.array(values[a:b], type=pa.large_string()) for a, b in zip(cuts, cuts[1:], strict=False)]
                            + [pa.array(values[cuts[-1]:], type=pa.large_string())])


def _to_csv_fields(values: list) -> list[str]:
    frame = neutralise_frame(pd.DataFrame({"t": pd.array(values, dtype="str"), "end": "x"}))
    return frame.to_csv(index=False, header=False, lineterminator="\n").split(",x\n")[:-1]


@pytest.fixture(scope="module")
def column() -> tuple[list, pa.ChunkedArray]:
    rnd = np.random.default_rng(5)
    values = [TEXTS[i] for i in rnd.integers(0, len(TEXTS), 4000)]
    return values, _chunked(values, [1, 0, 900, 1500, 7, 0])


def _orders(n: int) -> list[np.ndarray]:
    rnd = np.random.default_rng(7)
    asc = np.sort(rnd.choice(n, 1500, replace=False))
    with_missing = asc.copy()
    with_missing[rnd.random(len(asc)) < 0.3] = -1
    two_runs = np.concatenate([asc[::2], asc[1::2]])  # two questions: ascending, then ascending again
    lead_missing = np.concatenate([[-1, -1], asc[:50]])
    return [asc, with_missing, two_runs, lead_missing, rnd.integers(-1, n, 3000), np.array([-1, -1]),
            np.zeros(0, dtype=np.int64), np.arange(n)[::-1]]


def test_pieces_hold_the_joined_columns_rows_in_order(column) -> None:
    values, arr = column
    joined = arr.combine_chunks()
    for idx in _orders(len(values)):
        idx = idx.astype(np.int64)
        got = coded_arrow.take_pieces(arr, idx)
        assert isinstance(got, pa.ChunkedArray) and got.type == pa.large_string()
        assert got.combine_chunks().equals(joined.take(pa.array(idx, mask=idx < 0)))
        assert got.combine_chunks().equals(coded_arrow.take_rows(arr, idx))


def test_ascending_rows_come_in_pieces_and_scattered_rows_in_one(column) -> None:
    values, arr = column
    asc, with_missing, two_runs, *_ = _orders(len(values))
    assert coded_arrow.take_pieces(arr, asc).num_chunks > 2  # one per chunk the rows run through
    # a missing row stays in the run it falls in
    assert 2 < coded_arrow.take_pieces(arr, with_missing).num_chunks <= coded_arrow.take_pieces(arr, asc).num_chunks
    assert coded_arrow.take_pieces(arr, two_runs).num_chunks > coded_arrow.take_pieces(arr, asc).num_chunks
    scattered = np.random.default_rng(1).integers(0, len(values), 3000)
    assert coded_arrow.take_pieces(arr, scattered).num_chunks == 1  # past MAX_RUNS: take_rows


@pytest.mark.parametrize("regex_from", [0, 1 << 40])  # quoted rows found by Arrow's regex search, or by numpy
def test_texts_rendered_piece_by_piece_are_to_csv_s_fields(column, regex_from, monkeypatch) -> None:
    monkeypatch.setattr(coded_arrow, "REGEX_FROM", regex_from)
    values, arr = column
    for idx in _orders(len(values)):
        idx = idx.astype(np.int64)
        got = coded_arrow.render_text(coded_arrow.take_pieces(arr, idx))
        want = _to_csv_fields([values[i] if i >= 0 else None for i in idx.tolist()])
        assert got.to_pylist() == want
    assert coded_arrow.render_text(pa.array(TEXTS, type=pa.large_string())).to_pylist() == _to_csv_fields(TEXTS)


@pytest.mark.parametrize("values", [
    np.array([0.5, -0.0, 0.0, np.nan, 1e-05, 1 / 3, 0.5, 2.0, -np.inf, 1e300] * 3),
    np.array([0.5, -0.0, 0.0, np.nan, 1 / 3], dtype=np.float32),
    np.array([True, False, True, True]),
    np.array([3, -1, 0, 10**12, 3], dtype=np.int64),
    np.array([7, 0, 255], dtype=np.uint8),
    np.zeros(0, dtype=np.float64),
])
def test_numbers_rendered_once_per_value_are_astype_str_value_by_value(values) -> None:
    n = len(values)
    for idx in (np.arange(n), np.arange(n)[::-1], np.array([-1, *range(n), -1]) if n else np.array([-1])):
        idx = idx.astype(np.int64)
        want = []
        for i in idx.tolist():
            v = values[i] if i >= 0 else None
            missing = v is None or (values.dtype.kind == "f" and np.isnan(v))
            want.append("" if missing else np.asarray([v], dtype=values.dtype).astype(str)[0])
        got = coded_arrow._plain(values, idx)
        assert got.type == pa.large_string() and got.to_pylist() == want
