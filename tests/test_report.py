"""Summary report, methods appendix and workbook: content tied to the numbers, safe, robust, byte-identical."""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from analysis import tables
from analysis.config import parse_config
from analysis.report import build as report
from analysis.report import tables as report_tables
from analysis.report.load import MissingCountsError, load_tables
from analysis.report.tables import INTERNAL_CODED_CSV, INTERNAL_WORKBOOK
from analysis.report.workbook import CUT_MARK, EXCEL_MAX_CHARS, neutralise, write_workbook

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "results"))
import results_frames as rf  # noqa: E402


def _write(frames: dict[str, pd.DataFrame], folder: Path, cfg) -> Path:
    """The frames as processed tables plus the ``out_counts`` the real counts stage computes from them."""
    return rf.write_processed(frames, folder, cfg)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("report")
    cfg = parse_config(rf.config_dict())
    proc = _write(rf.build_frames(), root / "processed", cfg)
    a = report.build_report(cfg, proc, root / "a")
    report.build_report(cfg, proc, root / "b")
    return {"root": root, "a": root / "a", "b": root / "b", "written": a, "cfg": cfg}


# --- quantifiers ---------------------------------------------------------------------------------
def test_quantifier_table_boundaries():
    q = report.quantifier
    assert [q(0), q(0.001), q(0.0999), q(0.1), q(0.33), q(0.4999), q(0.5), q(0.5001), q(0.75), q(0.95), q(1)] == [
        "no", "a few", "a few", "some", "many", "many", "half of the", "most", "a large majority of",
        "almost all", "all"]
    for bad in (-0.1, 1.01, float("nan")):
        with pytest.raises(ValueError):
            q(bad)


def test_quantifiers_never_overstate_any_count():
    order = [w for _, _, w in report.QUANTIFIERS]
    for n in range(1, 61):
        words = [report.quantifier(k / n) for k in range(n + 1)]
        assert [order.index(w) for w in words] == sorted(order.index(w) for w in words)  # monotone in k
        for k, w in enumerate(words):
            assert (w == "no") == (k == 0) and (w == "all") == (k == n)
            if w in ("most", "a large majority of", "almost all"):
                assert 2 * k > n
            if w in ("a few", "some", "many"):
                assert 2 * k < n


# --- the full report -----------------------------------------------------------------------------
def test_reruns_are_byte_identical(built):
    a, b = _files(built["a"]), _files(built["b"])
    assert a.keys() == b.keys()
    assert {"summary.md", "summary.html", "tables.xlsx", "tables/position.csv", "charts/q1_positions.svg",
            "charts/q1_positions.png", "charts/q1_positions.alt.txt"} <= set(a)
    assert [k for k in a if a[k] != b[k]] == []
    with zipfile.ZipFile(built["a"] / "tables.xlsx") as z:
        core = z.read("docProps/core.xml").decode()
        assert "2000-01-01T00:00:00Z" in core
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 31, 0, 0, 0)}  # xlsxwriter's fixed time


def test_charts_drawn_in_workers_are_the_bytes_drawn_here(built, tmp_path, monkeypatch):
    """The report built with its charts drawn one after another in this process (and the internal workbook
    written here) is byte for byte the report built with a second interpreter drawing charts too (and the workbook
    written by a forked process), and lists the same files."""
    from analysis.charts import draw
    from analysis.report import background

    assert draw.CHART_WORKERS >= 1
    monkeypatch.setattr(draw, "CHART_WORKERS", 1)
    monkeypatch.setattr(background.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    proc = tmp_path / "processed"
    written = report.build_report(built["cfg"], _write(rf.build_frames(), proc, built["cfg"]), tmp_path / "here")
    here, forked = _files(tmp_path / "here"), _files(built["a"])  # built with CHART_WORKERS = 2 (2 cores)
    assert here.keys() == forked.keys() and len([k for k in here if k.startswith("charts/")]) >= 6
    assert [k for k in here if here[k] != forked[k]] == []
    assert [p.name for p in written] == [p.name for p in built["written"]]
    assert (proc / INTERNAL_WORKBOOK).read_bytes() == (built["root"] / "processed" / INTERNAL_WORKBOOK).read_bytes()


def test_summary_sections_and_numbers(built):
    md = (built["a"] / "summary.md").read_text()
    for heading in ("## We asked", "## You said", "## We did", "## Methods", "### Words used for numbers"):
        assert heading in md
    assert "PLACEHOLDER: TO BE WRITTEN BY THE MINISTRY" in md
    assert "We received **92 responses**, or **81 unique submissions**" in md
    assert "Campaign C1" in md and "12 copies" in md
    assert "2026-03-01 to 2026-04-30" in md
    # quantifier words follow the table and are tied to the numbers printed beside them
    assert "Many respondents (36 of 80, 45%; 95% CI 35%\u201356%) supported the proposal." in md
    assert "Some respondents (8 of 80, 10%; 95% CI 5%\u201319%) were unsure." in md
    for word, k, n in re.findall(r"- (\w[\w ]*?) respondents \((\d+) of (\d+),", md):
        assert report.quantifier(int(k) / int(n)).lower() == word.lower()
    # suppressed cells are shown as such (organisations unsure on q1: 2 people); the row total (16) would give
    # them away, so the next-smallest cell (neutral: 0) is suppressed too and "<5" stays true of both
    assert "| Organisations (n = 16) | 7 (44%) | 7 (44%) | <5 | <5 | 0 (0%) |" in md
    # themes with quotes; the methods appendix reports ledger, quantifier table, and the accuracy check
    assert "raised \u201cSchool uniforms are expensive\u201d" in md
    assert "  > \u201cschool uniforms are an expense that many families can't afford." in md
    assert "| export.csv | generic | 82 | 80 | 2 |" in md and "| **Total** | | 94 | 92 | 2 |" in md
    assert "| more than 50% to under 75% | most |" in md
    assert "the two agreed for 72 (100%)" in md
    assert "Positions expressed" not in md  # q2_why has its own position counts here


def test_published_outputs_hold_no_personal_data_or_paths(built):
    texts = {k: v.decode("utf-8") for k, v in _files(built["a"]).items() if k.endswith((".md", ".html", ".csv",
                                                                                       ".txt", ".svg"))}
    with zipfile.ZipFile(built["a"] / "tables.xlsx") as z:
        texts.update({n: z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml")})
    for name, text in texts.items():
        for secret in [*rf.SECRET_NAMES, *rf.SECRET_EMAILS, rf.SECRET_ORG]:
            assert secret not in text, (name, secret)
        assert str(built["root"]) not in text and "/tmp/" not in text, name
    assert rf.PUBLIC_ORG in texts["summary.md"]  # consented organisation may be named


def test_html_is_self_contained_and_accessible(built):
    html = (built["a"] / "summary.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", html)
    assert "<link" not in html and "<script" not in html
    imgs = re.findall(r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+" alt="([^"]+)">', html)
    assert len(imgs) == html.count("<img") == len(list((built["a"] / "charts").glob("*.svg")))
    assert all(len(alt) > 40 for alt in imgs)
    assert "PLACEHOLDER: TO BE WRITTEN BY THE MINISTRY" in html and 'id="we-did"' in html
    from html.parser import HTMLParser

    HTMLParser().feed(html)  # parses without error


def test_workbook_and_csv_tables(built):
    wb = openpyxl.load_workbook(built["a"] / "tables.xlsx")
    assert {"Positions", "Themes raised", "Quotes", "Campaign letters", "Ledger", "Rejected rows"} <= set(wb.sheetnames)
    assert all(len(n) <= 31 and "~" not in n and "_" not in n for n in wb.sheetnames)  # readable, none truncated
    assert "coded_answers" not in wb.sheetnames  # every answer's full text is internal (below)
    header = [c.value for c in wb["Quotes"][1]]
    assert "answer" not in header and "respondent_name" not in header and "quote" in header
    who = {r[header.index("attribution")] for r in wb["Quotes"].iter_rows(min_row=2, values_only=True)}
    assert who == {"An individual", "An organisation (education)", f"{rf.PUBLIC_ORG} (education)"}
    # the analysts' full-text workbook sits in the processed folder and holds every answer, whatever its consent
    internal = built["root"] / "processed" / INTERNAL_WORKBOOK
    assert internal in built["written"] and internal.name.startswith("INTERNAL_")
    ws = openpyxl.load_workbook(internal)["coded_answers"]
    header = [c.value for c in ws[1]]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 80 * 2 + 12 and "text_redacted" in header and "answer" not in header
    assert {r[header.index("consent")] for r in rows} == {"publish_named", "publish_anonymous", "do_not_publish"}
    assert {r[header.index("organisation")] for r in rows} == {None, rf.PUBLIC_ORG, rf.SECRET_ORG}
    rej = [c.value for c in wb["Rejected rows"][1]]
    assert "raw" not in rej and "raw_chars" in rej
    csv = pd.read_csv(built["a"] / "tables" / "theme.csv")
    assert "evidence_ids" not in csv.columns and "category_label" in csv.columns
    # both count modes, as the counts stage wrote them: kp_4_0 (3 answers) and kp_4_8 (1) suppressed in each
    assert csv.groupby("count_mode")["suppressed"].sum().to_dict() == {"all": 2, "unique": 2}
    assert csv["n"].isna().sum() == 4


# --- safety of the workbook ---------------------------------------------------------------------
def test_many_answers_go_to_an_internal_csv_beside_the_workbook(built, tmp_path, monkeypatch):
    """Above the sheet limit, ``coded_answers`` is a CSV with every answer; the README sheet points to it."""
    proc = built["root"] / "processed"
    in_sheet = pd.read_excel(proc / INTERNAL_WORKBOOK, sheet_name="coded_answers", dtype=str, na_filter=False)
    monkeypatch.setattr(report_tables, "INTERNAL_SHEET_MAX_ROWS", len(in_sheet) - 1)
    out = tmp_path / "processed"
    written = report_tables.write_internal_workbook(built["cfg"], load_tables(proc), out)
    assert written == [out / INTERNAL_WORKBOOK, out / INTERNAL_CODED_CSV]
    assert (out / INTERNAL_CODED_CSV).read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    in_csv = pd.read_csv(out / INTERNAL_CODED_CSV, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(in_csv.columns) == list(in_sheet.columns)
    assert sorted(in_csv["text_redacted"]) == sorted(in_sheet["text_redacted"])
    wb = openpyxl.load_workbook(out / INTERNAL_WORKBOOK)
    assert "coded_answers" not in wb.sheetnames
    readme = {r[0]: r[1] for r in wb["README"].iter_rows(min_row=2, values_only=True)}
    assert INTERNAL_CODED_CSV.name in readme["coded_answers"]
    monkeypatch.setattr(report_tables, "INTERNAL_SHEET_MAX_ROWS", len(in_sheet))  # fits again: no stale CSV
    assert report_tables.write_internal_workbook(built["cfg"], load_tables(proc), out) == [out / INTERNAL_WORKBOOK]
    assert not (out / INTERNAL_CODED_CSV).exists()


def test_formula_injection_is_neutralised(tmp_path):
    nasty = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+2", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "safe = text"]
    assert [neutralise(v) for v in nasty] == ["'" + v for v in nasty[:6]] + ["safe = text"]
    assert neutralise(-5) == -5 and neutralise(None) is None and neutralise("bad\x07char") == "badchar"
    path = write_workbook({"t": pd.DataFrame({"text": nasty, "n": range(len(nasty))})}, tmp_path / "x.xlsx")
    ws = openpyxl.load_workbook(path)["t"]
    cells = [ws.cell(row=i + 2, column=1) for i in range(len(nasty))]
    assert all(c.data_type == "s" for c in cells)
    assert [c.value for c in cells][:4] == ["'" + v for v in nasty[:4]]
    assert ws.cell(row=2, column=2).value == 0  # numbers stay numbers


def test_long_tables_continue_on_further_sheets_and_long_texts_are_cut(tmp_path, caplog):
    rows = pd.DataFrame({"id": [f"r{i}" for i in range(7)], "n": range(7)})
    path = write_workbook({"answers": rows, "other": rows.head(2)}, tmp_path / "x.xlsx", max_rows=4)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["answers", "answers_2", "answers_3", "other"]
    got = [r for name in wb.sheetnames[:3] for r in wb[name].iter_rows(values_only=True)]
    assert got == [("id", "n"), ("r0", 0), ("r1", 1), ("r2", 2), ("id", "n"), ("r3", 3), ("r4", 4), ("r5", 5),
                   ("id", "n"), ("r6", 6)]  # every row once, each sheet with the header
    assert "do not fit one Excel sheet" in caplog.text
    long = "word " * 10_000  # 50,000 characters: more than an Excel cell holds
    path = write_workbook({"t": pd.DataFrame({"text": [long]})}, tmp_path / "y.xlsx")
    value = openpyxl.load_workbook(path)["t"]["A2"].value
    assert len(value) == EXCEL_MAX_CHARS and value.endswith(CUT_MARK) and long.startswith(value[:-len(CUT_MARK)])


def test_workbook_bytes_do_not_depend_on_time_zone_or_time_of_writing(tmp_path):
    import os
    import subprocess

    import analysis

    src = str(Path(analysis.__file__).resolve().parents[1])
    code = ("import sys, pandas as pd; from analysis.report.workbook import write_workbook; "
            "write_workbook({'t': pd.DataFrame({'a': ['x', '=y'], 'share': [0.5, None]})}, sys.argv[1])")
    outs = []
    for i, tz in enumerate(("UTC", "Pacific/Auckland")):
        out = tmp_path / f"{i}.xlsx"
        subprocess.run([sys.executable, "-c", code, str(out)], check=True, env={**os.environ, "TZ": tz, "PYTHONPATH": src})
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


# --- robustness ------------------------------------------------------------------------------------
def _small(n: int, position: str = "support") -> dict[str, pd.DataFrame]:
    ids = [f"s{i}" for i in range(n)]
    resp = pd.DataFrame(dict(response_id=ids, source_file="x.csv", source_row=range(2, n + 2), channel="online_survey",
                             submitted_at=None, respondent_type="individual", sector=None, organisation=None,
                             consent="do_not_publish", respondent_name="Zed Person", respondent_email="z@example.org"))
    ans = pd.DataFrame(dict(response_id=ids, question_id="q1", answer="Yes", language="en", text_redacted="Yes",
                            campaign_id=None, is_campaign_copy=False, personal_addition=None))
    pos = pd.DataFrame(dict(response_id=ids, question_id="q1", position=position, confidence=1.0, source="closed"))
    return {"core_responses": resp, "core_answers_clean": ans, "core_answer_positions": pos}


def _closed_cfg(**kw):
    return parse_config({
        "id": "c", "title": "Closed only", "sources": [{"file": "x.csv", "format": "generic"}],
        "questions": [{"id": "q1", "text": "Do you support the change?", "kind": "closed",
                       "choices": {"Yes": "support", "No": "oppose"}},
                      {"id": "q2", "text": "Any other comments?", "kind": "open"}], **kw})


def test_closed_only_all_on_one_side_and_missing_stages(tmp_path):
    proc = _write(_small(12), tmp_path / "p", _closed_cfg())
    out = report.build_report(_closed_cfg(), proc, tmp_path / "r")
    md = (tmp_path / "r" / "summary.md").read_text()
    assert "All respondents (12 of 12, 100%; 95% CI 76%\u2013100%) supported the proposal." in md
    assert "opposed" not in md.split("## We did")[0]  # a zero side is not narrated
    assert "Themes were not analysed for this question (no themes table)." in md
    assert "Nobody answered this question." in md  # q2 has no answers
    assert "No ledger table was found" in md and "No organised campaigns" in md
    assert (tmp_path / "r" / "charts" / "q1_positions.svg") in out


def test_single_respondent_is_suppressed_and_no_positions_table(tmp_path):
    frames = _small(1)
    proc = _write(frames, tmp_path / "p", _closed_cfg())
    report.build_report(_closed_cfg(), proc, tmp_path / "r")
    md = (tmp_path / "r" / "summary.md").read_text()
    assert "Fewer than 5 respondents (fewer than 5 of 1) supported the proposal." in md
    assert "(1 of 1" not in md
    # without the positions table the section says so instead of crashing
    del frames["core_answer_positions"]
    proc2 = _write(frames, tmp_path / "p2", _closed_cfg())
    report.build_report(_closed_cfg(), proc2, tmp_path / "r2")
    md2 = (tmp_path / "r2" / "summary.md").read_text()
    assert "Positions were not analysed for this question (no positions table)." in md2


def test_synthetic_warning_and_count_table_of_the_configured_mode(tmp_path):
    f = rf.build_frames()
    f["core_themes"] = f["core_themes"].assign(label=lambda d: d["label"].where(d["theme_id"] != "kp_4_6",
                                                                                  "=cost(1)"))
    cfg = parse_config(rf.config_dict(count_mode="all") | {"synthetic": True})
    proc = _write(f, tmp_path / "p", cfg)
    counts = tables.read_table("out_counts", proc)
    # a count table missing from out_counts is missing from the report: nothing rebuilds it
    counts = counts[counts["table"] != "theme_respondent_type"]
    tables.write_table(counts, "out_counts", proc)
    report.build_report(cfg, proc, tmp_path / "r")
    md = (tmp_path / "r" / "summary.md").read_text()
    assert "WARNING: SYNTHETIC DATA" in md and "**Synthetic data.**" in md
    assert "**Positions** (92 respondents)" in md  # all mode: every campaign copy counts
    assert "every copy of a campaign letter" in md and "rebuilt" not in md
    charts = {p.name for p in (tmp_path / "r" / "charts").glob("*.svg")}
    assert "q2_why_theme_positions.svg" in charts and "q2_why_theme_respondents.svg" not in charts
    wb = openpyxl.load_workbook(tmp_path / "r" / "tables.xlsx")
    assert "Themes raised" in wb.sheetnames and "Themes by respondent type" not in wb.sheetnames
    ws = wb["Themes raised"]
    labels = [r[5] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert "'=cost(1)" in labels and len(ws["A"]) - 1 == len(counts[counts["table"] == "theme"])
    assert "'=cost(1)" in (tmp_path / "r" / "tables" / "theme.csv").read_text()


def test_report_without_out_counts_stops_and_names_the_counts_stage(tmp_path):
    cfg = _closed_cfg()
    proc = _write(_small(12), tmp_path / "p", cfg)
    (proc / "out_counts.parquet").unlink()
    with pytest.raises(MissingCountsError, match=r"no out_counts table.*run it first \(`analysis counts"):
        report.build_report(cfg, proc, tmp_path / "r")
    assert not (tmp_path / "r" / "summary.md").exists()


# --- Pol.is: statements voted on by participants ---------------------------------------------------
ATTRIBUTION = ("Data was gathered using the Polis software (compdemocracy.org/polis) and is sub-licensed under "
               "CC BY 4.0 with Attribution to The Computational Democracy Project.")


def _wilson_low(k: int, n: int, z: float = 1.959963984540054) -> float:
    p = k / n
    return (p + z * z / (2 * n) - z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)


@pytest.fixture(scope="module")
def polis_built(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("polis")
    cfg = parse_config(rf.polis_config_dict())
    proc = _write(rf.build_polis_frames(), root / "processed", cfg)
    raw = root / "raw"
    raw.mkdir()
    (raw / "README.md").write_text("# Example\n\nIntro.\n\n## Attribution\n"
                                   + ATTRIBUTION.replace(" is sub-licensed", "\nis sub-licensed") + "\n\n## Other\nNot this.\n", encoding="utf-8")
    report.build_report(cfg, proc, root / "a", raw_dir=raw)
    report.build_report(cfg, proc, root / "b", raw_dir=raw)
    return {"root": root, "a": root / "a", "b": root / "b", "proc": proc, "raw": raw, "cfg": cfg}


def test_polis_statements_are_worded_as_statements_voted_on(polis_built):
    md = (polis_built["a"] / "summary.md").read_text()
    s = rf.polis_statements()
    n = len(s)
    supported = sum(_wilson_low(int(a), int(a + d)) > 0.5 for a, d in zip(s["agrees"], s["disagrees"], strict=True))
    assert 0 < supported < n
    assert (f"- Of {n} statements, {supported} ({supported / n:.0%}) were supported by most voters (agree share "
            f"above 50% with 95% confidence).") in md
    votes = int((s["agrees"] + s["disagrees"] + s["passes"]).sum())
    assert f"{rf.POLIS_PARTICIPANTS} participants cast {votes:,} votes on the {n} statements" in md
    assert f"**{n} statements** were accepted by moderation and voted on (4 further statements" in md
    assert "submitted statements" in md
    you_said = md[md.index("## You said"):md.index("## We did")]
    assert "respondents" not in you_said and "supported the proposal" not in md
    assert "We received" not in md and "charts/responses.png" not in md


def test_polis_totals_are_count_tables(polis_built):
    """Statements, votes and voters are published from the counts stage's Pol.is tables (both modes alike)."""
    s = rf.polis_statements()
    counts = tables.read_table("out_counts", polis_built["proc"])
    pub = pd.read_csv(polis_built["a"] / "tables" / "polis_votes.csv")
    for mode in ("all", "unique"):
        got = pub[(pub["count_mode"] == mode) & (pub["question_id"] == "*")].set_index("category")
        assert got["n"].to_dict() == {"agree": s["agrees"].sum(), "disagree": s["disagrees"].sum(),
                                      "pass": s["passes"].sum()}
        assert set(got["denominator"]) == {int((s["agrees"] + s["disagrees"] + s["passes"]).sum())}
    st = counts[(counts["table"] == "polis_statements") & (counts["question_id"] == "*")
                & (counts["count_mode"] == "unique")].set_index("category")
    assert st["n"].to_dict() == {"accepted": len(s), "moderated_out": 4} and set(st["denominator"]) == {len(s) + 4}
    vr = counts[(counts["table"] == "polis_voters") & (counts["question_id"] == rf.POLIS_QUESTION)
                & (counts["count_mode"] == "all")].set_index("category")["n"].to_dict()
    assert vr == {"participants": rf.POLIS_PARTICIPANTS, "max_per_statement": s["n_voters"].max(),
                  "median_per_statement": int(s["n_voters"].median())}
    # a perturbed count table changes the published sentence: the report reads it, not the votes
    counts.loc[(counts["table"] == "polis_votes") & (counts["category"] == "agree"), "n"] += 1000
    altered = polis_built["root"] / "altered"
    altered.mkdir()
    for name in ("core_responses", "core_answers_clean", "core_statement_votes", "core_answer_positions",
                 "core_themes", "core_answer_themes", "out_theme_support", "ledger", "core_rejects"):
        tables.write_table(tables.read_table(name, polis_built["proc"]), name, altered)
    tables.write_table(counts, "out_counts", altered)
    report.build_report(polis_built["cfg"], altered, polis_built["root"] / "altered_report")
    md = (polis_built["root"] / "altered_report" / "summary.md").read_text()
    assert f"({s['agrees'].sum() + 1000:,} agree, " in md


def test_polis_counts_without_pass_tallies_or_participant_matrix():
    from analysis.counts.polis import polis_counts

    s = rf.polis_statements().head(3)
    votes = pd.DataFrame(dict(response_id=s["response_id"], question_id="q", agrees=s["agrees"],
                              disagrees=s["disagrees"], passes=[s["passes"].iloc[0], None, None], n_voters=None,
                              votes_source="comments.csv"))
    out = polis_counts(votes, None, None)
    assert set(out["table"]) == {"polis_statements", "polis_votes"}  # no voter figures without them
    v = out[(out["table"] == "polis_votes") & (out["question_id"] == "*") & (out["count_mode"] == "all")]
    assert list(v["category"]) == ["agree", "disagree"]  # passes unknown for some statements: no pass row
    assert set(v["denominator"]) == {int((s["agrees"] + s["disagrees"]).sum())}
    st = out[(out["table"] == "polis_statements") & (out["question_id"] == "*")]
    assert set(zip(st["category"], st["n"], strict=True)) == {("accepted", 3), ("moderated_out", 0)}
    assert polis_counts(votes.iloc[0:0], None, None).empty


def test_polis_theme_support_table_chart_and_quotes(polis_built):
    md = (polis_built["a"] / "summary.md").read_text()
    s = rf.polis_statements()
    rows = []
    for label, g in s.groupby("theme_label"):
        a, d = int(g["agrees"].sum()), int(g["disagrees"].sum())
        row = f"| {label} | {len(g)} | {a + d:,} | {a / (a + d):.0%} |"
        assert row in md, row
        rows.append((a / (a + d), md.index(row)))
    assert [p for _, p in sorted(rows, reverse=True)] == sorted(p for _, p in rows)  # most supported first
    quotes = re.findall(r"^  > \u201c(.+)\u201d \u2014 (.+)$", md, flags=re.M)
    assert 3 <= len(quotes) <= 2 * s["theme_id"].nunique()
    assert {who for _, who in quotes} == {"A participant"}
    assert all(any(q in text for text in s["statement"]) for q, _ in quotes)
    charts_dir = polis_built["a"] / "charts"
    assert sorted(p.name for p in charts_dir.glob("*.png")) == ["statements_theme_support.png"]
    alt = (charts_dir / "statements_theme_support.alt.txt").read_text()
    assert all(label in alt for label in s["theme_label"].unique())
    html = (polis_built["a"] / "summary.html").read_text()
    assert html.count("<img") == 1 and "Agree + disagree votes</th>" in html
    sup = pd.read_csv(polis_built["a"] / "tables" / "theme_support.csv")
    assert set(sup["label"]) == set(s["theme_label"]) and sup["n_statements"].sum() == len(s)
    assert {"Theme support", "Statement votes"} <= set(openpyxl.load_workbook(polis_built["a"] / "tables.xlsx").sheetnames)
    from html.parser import HTMLParser

    HTMLParser().feed(html)


def test_polis_attribution_reruns_and_detection(polis_built, tmp_path):
    for name in ("summary.md", "summary.html"):
        text = " ".join((polis_built["a"] / name).read_text().split())
        assert ATTRIBUTION in text and "Not this." not in text, name
    assert _files(polis_built["a"]) == _files(polis_built["b"])
    # ATTRIBUTION.md wins over the README; no statement -> no attribution section
    (polis_built["raw"] / "ATTRIBUTION.md").write_text("# Attribution\n\nCite us like this.\n", encoding="utf-8")
    cfg = polis_built["cfg"]
    report.build_report(cfg, polis_built["proc"], tmp_path / "c", raw_dir=polis_built["raw"])
    assert "Cite us like this." in (tmp_path / "c" / "summary.md").read_text()
    report.build_report(cfg, polis_built["proc"], tmp_path / "d")
    assert "### Attribution" not in (tmp_path / "d" / "summary.md").read_text()
    # positions from votes mark a Pol.is conversation even when the source format is not "polis"
    report.build_report(parse_config(rf.polis_config_dict("generic")), polis_built["proc"], tmp_path / "e")
    assert "were supported by most voters" in (tmp_path / "e" / "summary.md").read_text()


# --- readable labels, distinct chart titles, quotes that agree with their figures -------------------------
def _captions(html: str) -> list[str]:
    return [" ".join(c.split()) for c in re.findall(r"<figcaption>(.*?) \(<a ", html, flags=re.S)]


def test_chart_titles_are_distinct_and_questions_keep_their_numbers(built, polis_built):
    for folder in (built["a"], polis_built["a"]):
        html = (folder / "summary.html").read_text()
        titles = _captions(html)
        assert titles and len(titles) == len(set(titles)) == html.count("<figcaption>")
    cfg = built["cfg"]
    heads = report.question_headings(cfg.questions)
    assert len({h["heading"] for h in heads.values()}) == len(cfg.questions)
    md = (built["a"] / "summary.md").read_text()
    for q in cfg.questions:
        assert re.search(rf"^### \d+\. {re.escape(heads[q.id]['heading'])}$", md, flags=re.M)
        if q.related_question:  # a "why?" question is titled by the closed question it explains
            assert heads[q.id]["heading"].startswith(f"{heads[q.related_question]['label']}b. Reasons for ")


def test_question_headings_number_and_shorten():
    from types import SimpleNamespace as Q

    qs = [Q(id="q1", text="Should the scheme go ahead " + "and more " * 20, related_question=None),
          Q(id="q1_why", text="Please explain your answer", related_question="q1"),
          Q(id="email_submission", text="Submission received by email (whole letter)", related_question=None)]
    heads = report.question_headings(qs)
    assert heads["q1"]["label"] == "Q1" and heads["q1"]["heading"].endswith("\u2026")
    assert len(heads["q1"]["heading"]) <= report.SHORT_TITLE + 4
    assert heads["q1_why"] == {"label": "Q1b", "explains": "Q1",
                               "heading": heads["q1_why"]["heading"]}
    assert heads["q1_why"]["heading"].startswith("Q1b. Reasons for Q1: Should the scheme go ahead")
    assert heads["email_submission"]["heading"] == "Submission received by email (whole letter)"


def test_other_is_never_listed_as_a_main_theme(tmp_path):
    from analysis.themes.codebook import OTHER

    cfg = parse_config(rf.config_dict())
    frames = rf.build_frames()
    at = frames["core_answer_themes"]
    q = rf.QUESTION_OPEN
    # the answers of the least-raised theme become "no codebook theme matched"
    moved = at[at["question_id"] == q]["theme_id"].value_counts().index[-1]
    frames["core_answer_themes"] = at.assign(theme_id=at["theme_id"].where(at["theme_id"] != moved, OTHER))
    th = frames["core_themes"]
    frames["core_themes"] = pd.concat([th, th[th["theme_id"] == moved].assign(
        theme_id=OTHER, label="Other (no codebook theme matched)")], ignore_index=True)
    proc = _write(frames, tmp_path / "processed", cfg)
    counts = tables.read_table("out_counts", proc)
    assert len(counts[(counts["table"] == "theme") & (counts["category"] == OTHER)])
    report.build_report(cfg, proc, tmp_path / "out")
    md = (tmp_path / "out" / "summary.md").read_text()
    main = md[md.index("**Main themes raised**"):md.index("**Answers not assigned to a main theme**")]
    assert "raised \u201cOther" not in main and "Other" not in main
    assert "**Answers not assigned to a main theme**" in md and "raised \u201cOther (no codebook theme matched)\u201d" in md


def test_polis_quotes_never_contradict_their_theme():
    from analysis.report.polis import theme_quotes

    quotes = pd.DataFrame({"question_id": "s", "theme_id": "t", "rank": [0, 1, 2],
                           "position": ["oppose", "support", "unclear"],
                           "display": ["\u201c14 agree, 44 disagree\u201d", "\u201cbacked\u201d", "\u201csplit\u201d"]})
    assert [q["text"] for q in theme_quotes(quotes, "s", "t", 0.83, 2)] == ["\u201cbacked\u201d"]
    assert [q["text"] for q in theme_quotes(quotes, "s", "t", 0.2, 2)] == ["\u201c14 agree, 44 disagree\u201d"]
    assert theme_quotes(quotes, "s", "t", None, 2) == [] and theme_quotes(quotes, "s", "t", 0.5, 2) == []


def test_polis_quotes_in_the_report_agree_with_their_theme(polis_built):
    md = (polis_built["a"] / "summary.md").read_text()
    s = rf.polis_statements()
    verdict = {}
    for r in s.itertuples(index=False):
        a, d = int(r.agrees), int(r.disagrees)
        verdict[r.statement] = "support" if _wilson_low(a, a + d) > 0.5 else (
            "oppose" if _wilson_low(d, a + d) > 0.5 else "unclear")
    # each theme bullet: its share, then its quotes
    checked = 0
    for share, body in re.findall(r"^- \u201c.+?\u201d \(.+?\): (\d+)% agree.*?$\n((?:  > .*\n)*)", md, flags=re.M):
        side = "support" if int(share) > 50 else "oppose"
        for quote in re.findall(r"  > \u201c(.+?)\u201d", body):
            owners = [st for st in s["statement"] if quote.rstrip("\u2026. ") in st]
            assert owners and all(verdict[st] == side for st in owners), (share, quote)
            checked += 1
    assert checked >= 3


def test_workbook_about_sheet_defines_columns_and_credits_the_licence(built, polis_built):
    wb = openpyxl.load_workbook(built["a"] / "tables.xlsx")
    assert wb.sheetnames[0] == "About"
    about = dict(list(wb["About"].iter_rows(min_row=2, values_only=True)))
    assert about["sheet: Positions by respondent type"] == "count table 'position_respondent_type' " \
        "(tables/position_respondent_type.csv)"
    counts = wb["Positions"]
    header = [c.value for c in counts[1]]
    for col in header:
        assert about.get(f"column: {col}"), f"no definition of column {col!r}"
    share = counts.cell(row=2, column=header.index("share") + 1)
    assert share.number_format == "0.0%" and (share.value is None or 0 <= share.value <= 1)
    assert counts.cell(row=2, column=header.index("n") + 1).number_format == "#,##0"
    polis_about = [r for r in openpyxl.load_workbook(polis_built["a"] / "tables.xlsx")["About"].iter_rows(values_only=True)
                   if r[0] == "attribution"]
    assert polis_about and any("licen" in str(v).lower() for _, v in polis_about)


# --- position wording that fits the question (#13) -------------------------------------------------
def _with_q2_text_positions(n: int, position: str, confidence: float) -> dict[str, pd.DataFrame]:
    """``_small(n)`` plus "Any other comments?" answers whose positions come from the text model."""
    f = _small(n)
    ids = f["core_responses"]["response_id"]
    q2 = f["core_answers_clean"].assign(question_id="q2", answer="Some comment", text_redacted="Some comment")
    pos = pd.DataFrame(dict(response_id=ids, question_id="q2", position=position, confidence=confidence,
                            source="text_model"))
    return f | {"core_answers_clean": pd.concat([f["core_answers_clean"], q2], ignore_index=True),
                "core_answer_positions": pd.concat([f["core_answer_positions"], pos], ignore_index=True)}


def _q2_section(md: str) -> str:
    return md.split("### 2. Q2. Any other comments?", 1)[1].split("## ", 1)[0]


def test_no_proposal_wording_for_a_question_that_puts_none(tmp_path):
    cfg = _closed_cfg()
    assert report.has_proposal(cfg.question("q1")) and not report.has_proposal(cfg.question("q2"))
    report.build_report(cfg, _write(_with_q2_text_positions(12, "oppose", 0.9), tmp_path / "p", cfg), tmp_path / "r")
    md = (tmp_path / "r" / "summary.md").read_text()
    assert "All respondents (12 of 12, 100%; 95% CI 76%\u2013100%) supported the proposal." in md  # q1: closed
    q2 = _q2_section(md)
    assert "All respondents (12 of 12, 100%; 95% CI 76%\u2013100%) expressed opposition." in q2
    assert "proposal" not in q2


def test_uncoded_text_positions_say_not_coded_yet(tmp_path):
    cfg = _closed_cfg()
    # no stance model could be trained: the positions stage records "unclear" with confidence 0
    report.build_report(cfg, _write(_with_q2_text_positions(12, "unclear", 0.0), tmp_path / "p", cfg), tmp_path / "r")
    md = (tmp_path / "r" / "summary.md").read_text()
    q2 = _q2_section(md)
    assert "Positions in these answers are not coded yet (12 answers)" in q2
    assert "gave no clear position" not in q2 and "q2_positions" not in q2
    assert "too uncertain" not in md and "mean confidence 0.00" not in md  # the methods annex
    assert "12 free-text answers are not coded yet" in md


# --- "We did" from the analyst's file (#13) ----------------------------------------------------------
def test_we_did_comes_from_the_analysts_file(tmp_path):
    from analysis.errors import InputError
    from analysis.report.we_did import WE_DID_FILE, parse_we_did, we_did_template

    cfg = _closed_cfg()
    template = we_did_template(cfg)
    assert "## q1" in template and "## q2" in template
    assert parse_we_did(template, cfg) == {"intro": [], "questions": {"q1": [], "q2": []}}  # guidance is comments
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / WE_DID_FILE).write_text(template.replace("## q1\n", "## q1\nWe kept the change <b>as</b> proposed.\n\n"
                                                    "A review follows in 2027.\n"), encoding="utf-8")
    proc = _write(_small(12), tmp_path / "p", cfg)
    report.build_report(cfg, proc, tmp_path / "r", raw_dir=raw)
    md = (tmp_path / "r" / "summary.md").read_text()
    did = md.split("## We did", 1)[1].split("## Methods", 1)[0]
    assert "We kept the change \\<b\\>as\\</b\\> proposed." in did and "A review follows in 2027." in did
    assert did.count("[NOT WRITTEN YET]") == 1 and "PLACEHOLDER" not in did  # q2 has no text yet
    assert "Say what was decided" not in did  # the template's guidance (a comment) is not published
    html = (tmp_path / "r" / "summary.html").read_text()
    assert "<p>We kept the change &lt;b&gt;as&lt;/b&gt; proposed.</p>" in html
    with pytest.raises(InputError, match="names no question"):
        parse_we_did("## q9\ntext", cfg)
    # without the file the section stays a marked placeholder
    report.build_report(cfg, proc, tmp_path / "r2", raw_dir=tmp_path)
    assert "[PLACEHOLDER: TO BE WRITTEN BY THE MINISTRY]" in (tmp_path / "r2" / "summary.md").read_text()


def test_adjusted_counts_published_only_from_random_codes(tmp_path):
    conf = pd.DataFrame([("q2", "support", "support", 9), ("q2", "support", "oppose", 1),
                         ("q2", "oppose", "support", 4), ("q2", "oppose", "oppose", 6)],
                        columns=["question_id", "true_position", "predicted_position", "n"])
    frames = _with_q2_text_positions(12, "oppose", 0.9) | {"core_position_confusion": conf}
    for name, positions, published in (("chosen", {}, False),
                                       ("random", {"codes_drawn_at_random": True, "min_adjust_codes": 20}, True)):
        cfg = _closed_cfg(settings={"positions": positions})
        report.build_report(cfg, _write(frames, tmp_path / f"p_{name}", cfg), tmp_path / name)
        md = " ".join((tmp_path / name / "summary.md").read_text().split())
        sheets = openpyxl.load_workbook(tmp_path / name / "tables.xlsx").sheetnames
        assert ("Positions, adjusted" in sheets) is published
        if published:
            assert "corrected for the text model's measured error rates (the workbook's \"adjusted\" sheets) for q2" in md
        else:
            assert ("No error-corrected (\"adjusted\") position counts are published for q2 (error rates from 20 "
                    "coded answers not declared a random sample, settings.positions.codes\\_drawn\\_at\\_random)") in md
        html = (tmp_path / name / "summary.html").read_text()
        assert ("No error-corrected" in html) is not published
