"""The internal coded-answers CSV written column by column (:mod:`analysis.report.coded_arrow`) against
``neutralise_frame(coded_answers(tables)).to_csv``, the code it replaces: on the sample's tables, with real texts
(ArgKP arguments, Pol.is statements) and the cells the CSV and workbook rules turn on (formula characters, control
characters, quotes, commas, newlines, missing values), an answer without a respondent, an answer with two position
rows, and a column the fast path does not render."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analysis.report import coded_arrow
from analysis.report import tables as report_tables
from analysis.report.workbook import neutralise_frame

FIXTURES = Path(__file__).parent / "fixtures"
TRICKY = ["=SUM(A1)", "+64 21", "-minus", "@at", "\tTab first", "\rCR first", "a,b", 'say "hi"', "line\nbreak",
          "cr\rinside", "bell\x07inside", "\x01=hidden formula", "", " padded ", "caf\u00e9 \u0101 \u2028 \U0001f600",
          '"', ",", "\n", "'already"]


def _to_csv(tables: dict) -> bytes:
    ca = report_tables.coded_answers(tables)
    return neutralise_frame(ca).to_csv(index=False, lineterminator="\n").encode("utf-8-sig")


def _fast(tables: dict, tmp_path: Path, block: int = 7) -> bytes | None:
    plan = coded_arrow.plan(tables, report_tables.ANSWER_COLUMNS, report_tables.RESPONDENT_COLUMNS,
                            report_tables.theme_lists(tables))
    if plan is None:
        return None
    path = tmp_path / "coded.csv"
    assert coded_arrow.write(plan, path, block=block)
    return path.read_bytes()


@pytest.fixture(scope="module")
def sample_tables(sample_results) -> dict:
    from analysis import paths
    from analysis.report.load import load_tables

    return load_tables(paths.processed_dir("sample"))


@pytest.fixture(scope="module")
def real_texts() -> list[str]:
    texts = pd.read_csv(FIXTURES / "themes" / "argkp_arguments.csv")["argument"].tolist()
    return texts + pd.read_csv(FIXTURES / "pii" / "polis_statements.csv")["comment-body"].tolist()


def _edited(t: dict, real_texts: list[str]) -> dict:
    ans = t["core_answers_clean"].copy()
    n = len(ans)
    texts = [real_texts[i % len(real_texts)] for i in range(n)]
    for i, v in enumerate(TRICKY):
        texts[(7 * i + 3) % n] = v
    ans["text_redacted"] = pd.array(texts, dtype=ans["text_redacted"].dtype)
    ans.loc[ans.index[1], "text_redacted"] = None
    add = ans["personal_addition"].astype(object).to_numpy(copy=True)
    add[:len(TRICKY)] = TRICKY
    ans["personal_addition"] = pd.array(add, dtype=ans["personal_addition"].dtype)
    resp = t["core_responses"].copy()
    resp = resp[resp["response_id"] != ans["response_id"].iloc[0]]  # an answer without a respondent
    org = resp["organisation"].astype(object).to_numpy(copy=True)
    org[:len(TRICKY)] = TRICKY
    resp["organisation"] = pd.array(org, dtype=resp["organisation"].dtype)
    pos = t["core_answer_positions"]
    pos = pd.concat([pos, pos.iloc[:2]], ignore_index=True)  # two position rows: the answer is written twice
    conf = pos["confidence"].to_numpy(copy=True)
    conf[:4] = [np.nan, -0.0, 1e-05, 1 / 3]
    return t | {"core_answers_clean": ans, "core_responses": resp, "core_answer_positions": pos.assign(confidence=conf)}


def test_fast_csv_equals_to_csv_on_the_sample(sample_tables, tmp_path):
    assert _fast(sample_tables, tmp_path) == _to_csv(sample_tables)


def test_fast_csv_equals_to_csv_with_real_texts_and_tricky_cells(sample_tables, real_texts, tmp_path):
    t = _edited(sample_tables, real_texts)
    want = _to_csv(t)
    assert b'"\'=SUM(A1)"' not in want and b"'=SUM(A1)" in want  # the rules the comparison covers are exercised
    assert b'"line\nbreak"' in want and b"'=hidden formula" in want
    for block in (1, 5, 1_000_000):
        assert _fast(t, tmp_path, block) == want
    obj = t["core_answers_clean"].assign(text_redacted=t["core_answers_clean"]["text_redacted"].astype(object))
    assert _fast(t | {"core_answers_clean": obj}, tmp_path) == _to_csv(t | {"core_answers_clean": obj})
    no_pos = {k: v for k, v in t.items() if k != "core_answer_positions"}
    assert _fast(no_pos, tmp_path) == _to_csv(no_pos)
    no_themes = t | {"core_answer_themes": t["core_answer_themes"].iloc[:0]}
    assert _fast(no_themes, tmp_path) == _to_csv(no_themes)


def test_columns_it_does_not_render_fall_back_to_the_frame(sample_tables, tmp_path, monkeypatch):
    pos = sample_tables["core_answer_positions"]
    odd = sample_tables | {"core_answer_positions": pos.assign(weight=pd.array(np.arange(len(pos)), dtype="Int64"))}
    assert _fast(odd, tmp_path) is None
    monkeypatch.setattr(report_tables, "INTERNAL_SHEET_MAX_ROWS", 10)
    monkeypatch.setattr(report_tables.coded_arrow, "plan", lambda *a, **k: None)
    report_tables.write_internal_workbook(_config(), odd, tmp_path)
    assert (tmp_path / report_tables.INTERNAL_CODED_CSV).read_bytes() == _to_csv(odd)


def test_internal_workbook_writes_the_same_csv_both_ways(sample_tables, real_texts, tmp_path, monkeypatch):
    t = _edited(sample_tables, real_texts)
    monkeypatch.setattr(report_tables, "INTERNAL_SHEET_MAX_ROWS", 10)  # the sample's answers go to the CSV
    fast, frame = tmp_path / "fast", tmp_path / "frame"
    fast_files = report_tables.write_internal_workbook(_config(), t, fast)
    real_plan = report_tables.coded_arrow.plan
    monkeypatch.setattr(report_tables.coded_arrow, "plan", lambda *a, **k: None)
    frame_files = report_tables.write_internal_workbook(_config(), t, frame)
    assert [p.relative_to(fast) for p in fast_files] == [p.relative_to(frame) for p in frame_files]
    for a, b in zip(fast_files, frame_files, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert real_plan is not None


def test_render_text_equals_pandas_on_real_and_tricky_texts(real_texts):
    values = real_texts + TRICKY + [None]
    got = coded_arrow.render_text(pa.array(values, type=pa.large_string())).to_pylist()
    frame = neutralise_frame(pd.DataFrame({"t": pd.array(values, dtype="str"), "end": "x"}))
    want = frame.to_csv(index=False, header=False, lineterminator="\n").split(",x\n")[:-1]
    assert got == want


def _config():
    from analysis.config import load_config
    from analysis.paths import resolve_config

    return load_config(resolve_config("sample"))
