"""The internal workbook's per-answer theme lists: the one-pass join equals pandas' groupby join."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.report.tables import _joined_themes


def _groupby(at: pd.DataFrame) -> pd.DataFrame:
    g = at.groupby(["response_id", "question_id"], sort=False)
    return pd.DataFrame({"theme_ids": g["theme_id"].agg("; ".join),
                         "theme_labels": g["label"].agg("; ".join)}).reset_index()


def _answer_themes(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    at = pd.DataFrame({"response_id": [f"r{i:04d}" for i in rng.integers(0, max(n // 3, 1), n)],
                       "question_id": [f"q{i}" for i in rng.integers(1, 4, n)],
                       "theme_id": [f"t{i}" for i in rng.integers(0, 12, n)],
                       "score": rng.random(n)})
    at = at.sort_values(["response_id", "question_id", "score", "theme_id"], ascending=[True, True, False, True],
                        kind="mergesort")
    return at.assign(label=[f"Theme {t[1:]}" for t in at["theme_id"]])


def test_one_pass_join_equals_the_groupby():
    for n in (1, 2, 50, 3_000):
        at = _answer_themes(n)
        pd.testing.assert_frame_equal(_joined_themes(at), _groupby(at))


def test_missing_keys_are_dropped_as_the_groupby_drops_them():
    at = _answer_themes(300)
    at.loc[at.index[:5], "question_id"] = None
    pd.testing.assert_frame_equal(_joined_themes(at), _groupby(at))
    assert len(_joined_themes(at)) == len(_groupby(at[at["question_id"].notna()]))


def _internal_csv(tables: dict, folder, store=None) -> bytes:
    from pathlib import Path

    from analysis.config import load_config
    from analysis.paths import resolve_config
    from analysis.report.tables import INTERNAL_CODED_CSV, write_internal_workbook

    for name in ("core_answers_clean", "core_responses"):  # what the kept columns are keyed by
        tables[name].to_parquet(Path(folder) / f"{name}.parquet")
    write_internal_workbook(load_config(resolve_config("sample")), tables, Path(folder), csv_store=store)
    return (Path(folder) / INTERNAL_CODED_CSV).read_bytes()


def test_kept_answer_columns_give_the_bytes_of_one_to_csv(sample_results, tmp_path, monkeypatch):
    """The coded-answers CSV written from kept answer columns (a re-run after a codebook edit) against the whole
    frame's ``to_csv``, on the sample's tables: first run, a run with other themes (kept columns reused), a run
    with an edited answer text (the kept columns must not be reused), and a text holding the row marker."""
    from analysis import paths
    from analysis.report import coded_csv
    from analysis.report import tables as report_tables
    from analysis.report.load import load_tables

    monkeypatch.setattr(report_tables, "INTERNAL_SHEET_MAX_ROWS", 10)  # the sample's answers go to the CSV
    # the frame path, which keeps these columns (the Arrow path, tests/test_coded_arrow.py, keeps nothing)
    monkeypatch.setattr(report_tables.coded_arrow, "plan", lambda *a, **k: None)
    t = load_tables(paths.processed_dir("sample"))
    ans = t["core_answers_clean"].copy()
    ans["text_redacted"] = ans["text_redacted"].astype(object)
    ans.loc[ans.index[3], "text_redacted"] = '=SUM(A1)\n"quoted", with a comma\r\nand lines'
    t["core_answers_clean"] = ans
    store, plain, cached = tmp_path / "store", tmp_path / "plain", tmp_path / "cached"
    plain.mkdir(), cached.mkdir()
    renders = []
    real = coded_csv.render_rows
    monkeypatch.setattr(coded_csv, "render_rows", lambda df, **kw: renders.append(list(df.columns)) or real(df, **kw))

    def same(tables: dict, reuse: bool) -> None:
        renders.clear()
        want = _internal_csv(dict(tables), plain)
        assert _internal_csv(dict(tables), cached, store) == want
        assert ("text_redacted" in sum(renders, [])) is not reuse
        assert len(list(store.glob("coded-*.pkl"))) == 1

    same(t, reuse=False)
    same(t, reuse=True)
    at = t["core_answer_themes"]
    fewer = at[np.arange(len(at)) % 3 != 0]
    same(t | {"core_answer_themes": fewer.assign(theme_id=fewer["theme_id"].iloc[::-1].to_numpy())}, reuse=True)
    edited = ans.copy()
    edited.loc[edited.index[5], "text_redacted"] = "An answer edited after the last run."
    same(t | {"core_answers_clean": edited}, reuse=False)
    marker = ans.copy()
    marker.loc[marker.index[7], "text_redacted"] = f"holds the marker ,{coded_csv._END}\n here"
    renders.clear()
    assert _internal_csv(t | {"core_answers_clean": marker}, cached, store) == _internal_csv(
        t | {"core_answers_clean": marker}, plain)


def test_labels_per_pair_equal_the_row_by_row_lookup(sample_results):
    """Theme labels looked up once per (question, theme) against the former lookup of every row, on the sample's
    theme rows: labelled themes, a theme the codebook lacks (its id), and a missing id (row by row)."""
    from analysis import paths
    from analysis.report.load import load_tables
    from analysis.report.tables import _labels, _labels_each

    t = load_tables(paths.processed_dir("sample"))
    at, th = t["core_answer_themes"], t["core_themes"]
    labels = {(str(q), str(i)): str(lab) for q, i, lab in zip(th["question_id"], th["theme_id"], th["label"],
                                                              strict=True)}
    labels.pop(next(iter(labels)))
    assert _labels(at, labels) == _labels_each(at, labels)
    assert set(_labels(at, labels)) - set(labels.values())  # a theme without a label keeps its id
    odd = at.astype({"theme_id": object})
    odd.loc[odd.index[0], "theme_id"] = None
    assert _labels(odd, labels) == _labels_each(odd, labels)
