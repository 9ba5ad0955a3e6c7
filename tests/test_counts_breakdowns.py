"""Breakdowns by respondent attribute (``settings.breakdowns``): counts by country / region on a Citizen Space
layout export, with the small-cell rules of every published cell, in ``out_counts``, the workbook and the summary."""

from __future__ import annotations

import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from analysis import report
from analysis.config import parse_config
from analysis.counts.rules import ROW_KEYS
from analysis.errors import ConfigError
from analysis.ingest import ingest
from analysis.ingest.draft import draft_config
from analysis.report.build import MODE_HEADINGS
from analysis.report.tables import sheet_title
from analysis.tables import read_table

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "results"))
import results_frames as rf  # noqa: E402

LAYOUTS = Path(__file__).parent / "fixtures" / "ingest" / "layouts"
EXPORT = LAYOUTS / "citizen_space_layout.csv"
REGION = "Which region do you live in?"
Q1 = "Q1. Should the region ban single-use plastic bags?"


def _cfg(min_cell: int, breakdowns: list[str] | None = None, country: bool = True):  # noqa: ANN202
    data = yaml.safe_load(draft_config(EXPORT))
    if country:
        data["sources"][0]["country_column"] = REGION
    data["settings"] = {"min_cell": min_cell, "language_detection": False,
                        "breakdowns": breakdowns or ["respondent_type", "country"]}
    return parse_config(data, LAYOUTS / "consultation.yml")


def _counts(cfg, folder: Path) -> pd.DataFrame:
    tables, _ = ingest(cfg, LAYOUTS)
    ans = tables["core_answers"].assign(text_redacted=lambda d: d["answer"], personal_addition=None, campaign_id=None,
                                        is_campaign_copy=False)
    frames = {"core_responses": tables["core_responses"], "core_answers_clean": ans,
              "core_questions": tables["core_questions"]}
    rf.write_processed(frames, folder, cfg)
    return read_table("out_counts", folder)


@pytest.mark.parametrize("min_cell", [0, 3])
def test_counts_by_region_follow_the_export_and_the_small_cell_rules(tmp_path: Path, min_cell: int) -> None:
    counts = _counts(_cfg(min_cell), tmp_path)
    raw = pd.read_csv(EXPORT, dtype=str, keep_default_na=False)
    for mode in ("all", "unique"):  # no campaigns: both modes are the same counts
        resp = counts[(counts["table"] == "responses_country") & (counts["count_mode"] == mode)]
        assert (resp["denominator"] == len(raw)).all() and set(resp["question_id"]) == {"*"}
        assert dict(zip(resp["category"], resp["n"], strict=True)) == raw[REGION].value_counts().to_dict()
        opt = counts[(counts["table"] == "option_country") & (counts["count_mode"] == mode)]
        want = pd.crosstab(raw[REGION], raw[Q1])
        assert set(opt["group"]) == set(want.index)
        for row in opt.itertuples(index=False):
            n = int(want.loc[row.group, row.category])
            assert row.denominator == int(want.loc[row.group].sum())
            primary = 0 < n < min_cell
            if primary:
                assert row.suppressed and pd.isna(row.n)
            elif not row.suppressed:
                assert row.n == n
        # secondary suppression: no row of a table shows all but one of its cells when they add up to the total
        for key, g in opt.groupby(ROW_KEYS):
            assert g["suppressed"].sum() != 1, key
    if min_cell == 3:
        assert counts.loc[counts["table"] == "option_country", "suppressed"].any()


def test_breakdowns_reach_the_summary_and_the_workbook(tmp_path: Path) -> None:
    cfg = _cfg(3)
    counts = _counts(cfg, tmp_path / "p")
    report.build_report(cfg, tmp_path / "p", tmp_path / "r")
    md = (tmp_path / "r" / "summary.md").read_text(encoding="utf-8")
    lines = md[md.index("**Responses by country or region**"):].splitlines()
    header = [c.strip() for c in lines[2].strip("|").split("|")]
    modes = sorted(["all", "unique"], key=lambda m: (m != cfg.settings.count_mode, m))
    assert header == ["Country or region"] + [f"{MODE_HEADINGS[m]} (n = 24)" for m in modes]
    shown = {}
    for line in lines[4:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        shown[cells[0]] = cells[1:]
    resp = counts[counts["table"] == "responses_country"]
    for m, mode in enumerate(modes):
        sub = resp[resp["count_mode"] == mode]
        assert {c: v[m] for c, v in shown.items()} == {c: f"{int(n)} ({round(100 * s)}%)" for c, n, s in
                                                      zip(sub["category"], sub["n"], sub["share"], strict=True)}
    html = (tmp_path / "r" / "summary.html").read_text(encoding="utf-8")
    assert 'id="breakdown-country"' in html
    wb = openpyxl.load_workbook(tmp_path / "r" / "tables.xlsx", read_only=True)
    for table in ("responses_country", "option_country"):
        rows = list(wb[sheet_title(table)].iter_rows(values_only=True))
        sheet = pd.DataFrame(rows[1:], columns=rows[0])
        want = counts[counts["table"] == table]
        assert len(sheet) == len(want)
        got = sheet.set_index(["question_id", "group", "category", "count_mode"])
        for r in want.itertuples(index=False):
            g = got.loc[(r.question_id, r.group, r.category, r.count_mode)]
            assert (None if pd.isna(r.n) else int(r.n)) == g["n"] and bool(r.suppressed) == bool(g["suppressed"])


def test_a_breakdown_without_its_column_names_the_key() -> None:
    with pytest.raises(ConfigError, match="settings.breakdowns names 'country' but no source sets country_column"):
        _cfg(3, country=False)
    with pytest.raises(ConfigError, match=r"settings.breakdowns.0: Input should be 'respondent_type', 'sector' or"):
        _cfg(3, breakdowns=["postcode"])
