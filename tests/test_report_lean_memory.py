"""The report's leaner memory paths against what they replace, on real texts: the internal CSV's texts taken block by
block from a column's Arrow chunks (not one joined copy), the quote trims found by a digest of their text and the trim
store written from the texts read again, and the internal workbook forked once the quotes are selected."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from test_coded_arrow import TRICKY, _edited, _fast, _to_csv
from test_quote_candidates import _former_candidates, _generated

from analysis.report import coded_arrow, quotes

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def real_texts() -> list[str]:
    texts = pd.read_csv(FIXTURES / "themes" / "argkp_arguments.csv")["argument"].tolist()
    return texts + pd.read_csv(FIXTURES / "pii" / "polis_statements.csv")["comment-body"].tolist()


@pytest.fixture(scope="module")
def sample_tables(sample_results) -> dict:
    from analysis import paths
    from analysis.report.load import load_tables

    return load_tables(paths.processed_dir("sample"))


def _chunked(values: list, sizes: list[int]) -> pa.ChunkedArray:
    cuts = np.cumsum([0, *sizes]).tolist()
    return pa.chunked_array([pa.array(values[a:b], type=pa.string()) for a, b in zip(cuts, cuts[1:], strict=False)]
                            + [pa.array(values[cuts[-1]:], type=pa.string())])


def test_rows_taken_chunk_by_chunk_are_those_of_the_joined_column(real_texts) -> None:
    values = real_texts[:3000] + TRICKY + [None, ""]
    arr = _chunked(values, [1, 0, 700, 1200, 5])
    assert arr.num_chunks > 4
    joined = arr.combine_chunks().cast(pa.large_string())
    rnd = np.random.default_rng(3)
    for idx in (rnd.integers(-1, len(values), 5000), np.arange(len(values))[::-1], np.array([-1, -1]),
                np.zeros(0, dtype=np.int64), np.sort(rnd.integers(0, len(values), 300))):
        idx = idx.astype(np.int64)
        want = joined.take(pa.array(idx, mask=idx < 0))
        got = coded_arrow.take_rows(arr, idx)
        assert got.type == pa.large_string() and got.equals(want)


def test_csv_of_texts_held_in_many_chunks_is_to_csv_s(sample_tables, real_texts, tmp_path) -> None:
    """Texts read from a large Parquet file come in several chunks: the CSV taken from them is ``to_csv``'s bytes."""
    t = _edited(sample_tables, real_texts)
    ans = t["core_answers_clean"]
    n = len(ans)
    for col in ("text_redacted", "personal_addition"):
        values = ans[col].astype(object).where(ans[col].notna(), None).tolist()
        ans = ans.assign(**{col: pd.Series(pd.arrays.ArrowStringArray(_chunked(values, [n // 7, n // 3, 1])),
                                           index=ans.index)})
        assert pa.array(ans[col].array).num_chunks > 2
    chunky = t | {"core_answers_clean": ans}
    want = _to_csv(t)
    assert _to_csv(chunky) == want
    for block in (3, 1_000_000):
        assert _fast(chunky, tmp_path, block) == want


def test_trim_store_keeps_each_trimmed_text_once_and_a_warm_run_trims_none(tmp_path) -> None:
    """A cold run stores ``trim_quote`` of exactly the texts it trimmed (keyed by the text's digest); a second run
    reads every trim from the file (none computed) and both give the former code's candidates and quotes."""
    f = _generated(1200, seed=11)
    args = (f["answers_clean"], f["answer_themes"], f["answer_positions"], f["responses"])
    former = _former_candidates(*args, 300)
    calls: list[str] = []
    real = quotes.trim_quote

    def counted(text: str, max_chars: int = 300):
        calls.append(text)
        return real(text, max_chars)

    mp = pytest.MonkeyPatch()
    mp.setattr(quotes, "trim_quote", counted)
    try:
        cold = quotes._candidates(*args, 300, trim_store=tmp_path)
        n_cold = len(calls)
        warm = quotes._candidates(*args, 300, trim_store=tmp_path)
    finally:
        mp.undo()
    pd.testing.assert_frame_equal(cold, former, check_exact=True)
    pd.testing.assert_frame_equal(warm, former, check_exact=True)
    assert n_cold == len(set(calls)) > 100 and len(calls) == n_cold  # each text trimmed once; the warm run: none
    (path,) = tmp_path.glob("trims-300-*.npy")
    stored = np.load(path)
    by_key = {quotes.text_key(t): t for t in calls[:n_cold]}
    assert stored["key"].tolist() == list(by_key)  # each trimmed text once, in the order trimmed
    for i in random.Random(2).sample(range(len(stored)), 200):
        t = real(by_key[stored["key"][i].tobytes()], 300)
        want = (t.start, t.end, t.leading, t.trailing) if t is not None else (-1, -1, False, False)
        assert stored[i].item()[1:] == want
    picked = [quotes.select_quotes(*args, seed=4, trim_store=store) for store in (None, tmp_path)]
    pd.testing.assert_frame_equal(picked[0], picked[1], check_exact=True)
    assert len(picked[0]) > 20


def test_text_key_tells_texts_apart() -> None:
    texts = ["a", "a ", "\u00e9", "e\u0301", "", "[EMAIL]", "x" * 10_000, "\ud800"]
    keys = [quotes.text_key(t) for t in texts]
    assert len(set(keys)) == len(texts) and all(len(k) == 16 for k in keys)
    assert quotes.text_key("same text") == quotes.text_key("".join(["same", " text"]))


def test_report_forks_its_internal_writer_after_the_quotes(sample_results, tmp_path, monkeypatch) -> None:
    """The internal workbook is started once the quotes are selected; the report built so is the sample's report the
    pipeline wrote (its stage process, the chart worker) byte for byte."""
    from analysis import paths
    from analysis.config import load_config
    from analysis.paths import resolve_config
    from analysis.report import build

    order: list[str] = []
    real_select, real_bg = build.select_quotes, build.Background
    monkeypatch.setattr(build, "select_quotes", lambda *a, **k: order.append("quotes") or real_select(*a, **k))
    monkeypatch.setattr(build, "Background", lambda fn: order.append("internal") or real_bg(fn))
    cfg = load_config(resolve_config("sample"))
    processed = tmp_path / "processed"
    processed.mkdir()
    for p in paths.processed_dir("sample").glob("*.parquet"):
        (processed / p.name).write_bytes(p.read_bytes())
    out = tmp_path / "reports"
    build.build_report(cfg, processed, out, raw_dir=paths.raw_dir("sample"))
    assert order == ["quotes", "internal"]
    for name in ("summary.md", "tables.xlsx"):
        assert (out / name).read_bytes() == (paths.reports_dir("sample") / name).read_bytes(), name
