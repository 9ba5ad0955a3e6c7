"""Summary report, methods appendix and workbook: content tied to the numbers, safe, robust, byte-identical."""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from analysis import schemas, tables
from analysis.config import parse_config
from analysis.report import build as report
from analysis.report.load import derive_counts
from analysis.report.workbook import neutralise, write_workbook

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "results"))
import results_frames as rf  # noqa: E402


def _write(frames: dict[str, pd.DataFrame], folder: Path) -> Path:
    for name, df in frames.items():
        tables.write_table(df, name, folder)
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("report")
    proc = _write(rf.build_frames(), root / "processed")
    cfg = parse_config(rf.config_dict())
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
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


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
    # suppressed cells are shown as such (organisations unsure on q1: 2 people)
    assert "| Organisations (n = 16) | 7 (44%) | 7 (44%) | 0 (0%) | <5 | 0 (0%) |" in md
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
    assert {"counts_position", "counts_theme", "coded_answers", "quotes", "campaigns", "ledger",
            "rejects"} <= set(wb.sheetnames)
    header = [c.value for c in wb["coded_answers"][1]]
    assert "answer" not in header and "respondent_name" not in header and "text_redacted" in header
    orgs = {r[header.index("organisation")] for r in wb["coded_answers"].iter_rows(min_row=2, values_only=True)}
    assert orgs == {None, rf.PUBLIC_ORG}
    rej = [c.value for c in wb["rejects"][1]]
    assert "raw" not in rej and "raw_chars" in rej
    csv = pd.read_csv(built["a"] / "tables" / "theme.csv")
    assert "evidence_ids" not in csv.columns and "category_label" in csv.columns
    assert csv["n"].isna().sum() == 2 and csv["suppressed"].sum() == 2


# --- safety of the workbook ---------------------------------------------------------------------
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


# --- robustness ------------------------------------------------------------------------------------
def _small(n: int, position: str = "support") -> dict[str, pd.DataFrame]:
    ids = [f"s{i}" for i in range(n)]
    resp = pd.DataFrame(dict(response_id=ids, source_file="x.csv", source_row=range(2, n + 2), channel="online_survey",
                             submitted_at=None, respondent_type="individual", sector=None, organisation=None,
                             publish_consent=False, respondent_name="Zed Person", respondent_email="z@example.org"))
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
    proc = _write(_small(12), tmp_path / "p")
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
    proc = _write(frames, tmp_path / "p")
    report.build_report(_closed_cfg(), proc, tmp_path / "r")
    md = (tmp_path / "r" / "summary.md").read_text()
    assert "Fewer than 5 respondents (fewer than 5 of 1) supported the proposal." in md
    assert "(1 of 1" not in md
    # without the positions table the section says so instead of crashing
    del frames["core_answer_positions"]
    proc2 = _write(frames, tmp_path / "p2")
    report.build_report(_closed_cfg(), proc2, tmp_path / "r2")
    md2 = (tmp_path / "r2" / "summary.md").read_text()
    assert "Positions were not analysed for this question (no positions table)." in md2


def test_synthetic_warning_and_count_table_of_the_configured_mode(tmp_path):
    f = rf.build_frames()
    v = {k: schemas.validate(df, k) for k, df in f.items()}
    both = pd.concat([derive_counts(v["core_answers_clean"], v["core_responses"], v["core_answer_themes"],
                                    v["core_answer_positions"], v["core_themes"], mode=m, min_cell=5)
                      for m in ("all", "unique")], ignore_index=True)
    # as the counts stage does: theme x position rows of the "why?" question reported under its closed
    # question; and no theme x respondent type table (the report rebuilds that family)
    both.loc[both["table"] == "theme_position", "question_id"] = "q1"
    both = both[both["table"] != "theme_by_respondent_type"]
    f["out_counts"] = both
    f["core_themes"] = f["core_themes"].assign(label=lambda d: d["label"].where(d["theme_id"] != "kp_4_6",
                                                                                  "=cost(1)"))
    proc = _write(f, tmp_path / "p")
    cfg = parse_config(rf.config_dict(count_mode="all") | {"synthetic": True})
    report.build_report(cfg, proc, tmp_path / "r")
    md = (tmp_path / "r" / "summary.md").read_text()
    assert "WARNING: SYNTHETIC DATA" in md and "**Synthetic data.**" in md
    assert "**Positions** (92 respondents)" in md  # all mode: every campaign copy counts
    assert "every copy of a campaign letter" in md
    assert "rebuilt from the coded answers with the same counting rules: theme_by_respondent_type." in md
    charts = {p.name for p in (tmp_path / "r" / "charts").glob("*.svg")}
    assert {"q2_why_theme_positions.svg", "q2_why_theme_respondents.svg"} <= charts
    wb = openpyxl.load_workbook(tmp_path / "r" / "tables.xlsx")
    assert "counts_theme_by_respondent_type" in wb.sheetnames
    ws = openpyxl.load_workbook(tmp_path / "r" / "tables.xlsx")["counts_theme"]
    labels = [r[5] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert "'=cost(1)" in labels and len(ws["A"]) - 1 == len(both[both["table"] == "theme"])
    assert "'=cost(1)" in (tmp_path / "r" / "tables" / "theme.csv").read_text()


# --- Pol.is: statements voted on by participants ---------------------------------------------------
ATTRIBUTION = ("Data was gathered using the Polis software (compdemocracy.org/polis) and is sub-licensed under "
               "CC BY 4.0 with Attribution to The Computational Democracy Project.")


def _wilson_low(k: int, n: int, z: float = 1.959963984540054) -> float:
    p = k / n
    return (p + z * z / (2 * n) - z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)


@pytest.fixture(scope="module")
def polis_built(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("polis")
    proc = _write(rf.build_polis_frames(), root / "processed")
    raw = root / "raw"
    raw.mkdir()
    (raw / "README.md").write_text("# Example\n\nIntro.\n\n## Attribution\n"
                                   + ATTRIBUTION.replace(" is sub-licensed", "\nis sub-licensed") + "\n\n## Other\nNot this.\n", encoding="utf-8")
    cfg = parse_config(rf.polis_config_dict())
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
    assert {"theme_support", "statement_votes"} <= set(openpyxl.load_workbook(polis_built["a"] / "tables.xlsx").sheetnames)
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
