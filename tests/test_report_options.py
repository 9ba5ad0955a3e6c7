"""Every closed question publishes its full per-option distribution: summary.md, summary.html, the workbook and a
chart, each number an ``option`` cell of ``out_counts`` (both count modes), on the sample's real pipeline output."""

from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pytest
from markupsafe import escape

from analysis import paths
from analysis.charts import style
from analysis.charts.data import cell_from_row
from analysis.config import load_config
from analysis.report.build import MODE_HEADINGS, md_escape, short_count
from analysis.report.tables import sheet_title
from analysis.tables import read_table

pytestmark = pytest.mark.usefixtures("sample_results")


def _option_table(md: str, heading_number: int) -> tuple[list[str], list[list[str]]]:
    """The "Answers by option" table under question ``heading_number`` of "You said": (header, rows)."""
    said = md[md.index("## You said"):md.index("## We did")]
    section = re.split(r"^### \d+\. ", said, flags=re.M)[heading_number]
    lines = section.splitlines()
    start = next(i for i, x in enumerate(lines) if x.startswith("| Option |"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append([c.strip() for c in line.strip().strip("|").split("|")])
    return table[0], table[2:]


def test_every_closed_question_publishes_its_options() -> None:
    cfg = load_config(paths.config_path("sample"))
    proc, reports = paths.processed_dir("sample"), paths.reports_dir("sample")
    counts = read_table("out_counts", proc)
    md = (reports / "summary.md").read_text(encoding="utf-8")
    html = (reports / "summary.html").read_text(encoding="utf-8")
    wb = openpyxl.load_workbook(reports / "tables.xlsx", read_only=True)
    rows = list(wb[sheet_title("option")].iter_rows(values_only=True))
    sheet = pd.DataFrame(rows[1:], columns=rows[0])
    modes = sorted(["all", "unique"], key=lambda m: (m != cfg.settings.count_mode, m))
    closed = [q for q in cfg.questions if q.kind == "closed"]
    assert len(closed) == 4
    for number, q in enumerate(cfg.questions, start=1):
        if q.kind != "closed":
            continue
        opt = counts[(counts["table"] == "option") & (counts["question_id"] == q.id) & (counts["group"] == "all")]
        header, body = _option_table(md, number)
        # every option in the order asked (scale order, not by size), both count modes, denominators shown
        assert [r[0] for r in body] == [md_escape(c) for c in q.choices]
        for j, mode in enumerate(modes, start=1):
            sub = opt[opt["count_mode"] == mode].set_index("category")
            den = int(sub["denominator"].max())
            assert header[j] == f"{MODE_HEADINGS[mode]} (n = {style.fmt_int(den)})"
            for r in body:
                cell = cell_from_row(sub.loc[r[0]])
                assert r[j] == short_count(cell, cfg.settings.min_cell), (q.id, mode, r[0])
                if not cell.suppressed:
                    assert r[j].startswith(f"{int(sub.loc[r[0], 'n']):,} ")
            # the workbook's option sheet holds the same cells
            ws = sheet[(sheet["question_id"] == q.id) & (sheet["count_mode"] == mode) & (sheet["group"] == "all")]
            assert set(ws["category"]) == set(q.choices)
            for c, n, d in zip(ws["category"], ws["n"], ws["denominator"], strict=True):
                want = sub.loc[c]
                assert (None if pd.isna(want["n"]) else int(want["n"])) == n and int(want["denominator"]) == d
        # the table is also on the HTML page, and a chart with its alt text exists
        assert f'id="options-{q.id}"' in html
        alt = (reports / "charts" / f"{q.id}_options.alt.txt").read_text(encoding="utf-8")
        assert (reports / "charts" / f"{q.id}_options.svg").exists()
        shown = opt[opt["count_mode"] == cfg.settings.count_mode].set_index("category")
        for choice in q.choices:
            cell = cell_from_row(shown.loc[choice])
            text = style.suppressed_label(cfg.settings.min_cell) if cell.suppressed else \
                f"{style.fmt_pct(cell.share)} ({style.fmt_int(cell.n)})"
            assert f"{choice} {text}" in alt
        assert f"charts/{q.id}_options.png" in md and str(escape(alt.strip())) in html
