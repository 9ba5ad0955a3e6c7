"""Every number the report publishes is an ``out_counts`` cell: summary, chart data, alt texts, workbook.

The real pipeline runs once on the bundled sample into temporary folders (module fixture, a few minutes);
the text drawn in every chart is recorded as the report saves it. The checks below then tie each
published number to the ``out_counts`` row it must come from (count, denominator and share/interval as
displayed):

- ``summary.md`` "We asked" and "You said": each sentence and table cell is matched to its row, and any
  digit left over (other than question numbering) fails the test;
- the methods sentences about counts (suppressed cells, campaigns found);
- every chart's drawn labels and its alt text (values must be cells of that chart's tables and question);
- every ``counts_*`` sheet of ``tables.xlsx`` and every ``tables/*.csv`` count table, row by row.

Not covered here: the methods appendix's process records (ingest ledger, reject reasons, where positions
and themes came from, text-model confidence, closed-vs-text agreement), settings and dates.

The second test changes one ``out_counts`` cell and shows that each check reports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from matplotlib.figure import Figure

from analysis import paths, pipeline
from analysis.charts import draw, style
from analysis.charts.data import campaign_summary, theme_labels
from analysis.config import ConsultationConfig, load_config
from analysis.report.build import (
    MODE_HEADINGS,
    NO_PROPOSAL_VERBS,
    NOT_MAIN_THEMES,
    POSITION_VERBS,
    TOP_THEMES,
    quantifier,
)
from analysis.tables import read_table

pytestmark = pytest.mark.slow

NUM = r"\d[\d,]*"
KEY = ["table", "question_id", "group", "category", "count_mode"]


@dataclass
class Published:
    """One pipeline run: config, counts, labels and the published outputs."""

    cfg: ConsultationConfig
    counts: pd.DataFrame
    themes: pd.DataFrame
    campaigns: pd.DataFrame | None
    reports: Path
    drawn: dict[str, str]


def figure_text(fig: Figure) -> str:
    """Every label a chart draws (values, row and group labels, legend, title, footnote), not axis scales."""
    texts = [t for t in (fig._suptitle, fig._supxlabel) if t is not None]
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        ticks = [t for t in ax.get_xticklabels() + ax.get_yticklabels()
                 if not re.fullmatch(r"[\u2212-]?[\d,.]+%?", t.get_text().strip())]  # scales: not data
        texts += ax.texts + ticks + (ax.get_legend().get_texts() if ax.get_legend() is not None else [])
    return "\n".join(t.get_text() for t in texts)


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Published:
    root = tmp_path_factory.mktemp("published")
    drawn: dict[str, str] = {}
    save = draw.save_figure

    def recording_save(fig, path_stem, alt_text):
        drawn[Path(path_stem).name] = figure_text(fig)
        return save(fig, path_stem, alt_text)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANALYSIS_DATA_PROCESSED", str(root / "processed"))
        mp.setenv("ANALYSIS_REPORTS", str(root / "reports"))
        mp.setattr(draw, "save_figure", recording_save)
        mp.setattr(draw, "CHART_WORKERS", 1)  # drawn in this process, so the recording sees every chart
        pipeline.run("sample")
        cfg = load_config(paths.config_path("sample"))
        proc, reports = paths.processed_dir(cfg.id), paths.reports_dir(cfg.id)
    campaigns = read_table("core_campaigns", proc) if (proc / "core_campaigns.parquet").exists() else None
    return Published(cfg, read_table("out_counts", proc), read_table("core_themes", proc), campaigns, reports, drawn)


# --- helpers -------------------------------------------------------------------------------------------
def _int(text: str) -> int:
    return int(text.replace(",", ""))


def _rows(counts: pd.DataFrame, table: str, qid: str | None, mode: str | None) -> pd.DataFrame:
    keep = counts["table"] == table
    if qid is not None:
        keep &= counts["question_id"] == qid
    if mode is not None:
        keep &= counts["count_mode"] == mode
    return counts[keep]


def _cell(counts: pd.DataFrame, table: str, qid: str, group: str, category: str, mode: str) -> pd.Series | None:
    r = _rows(counts, table, qid, mode)
    r = r[(r["group"] == group) & (r["category"] == category)]
    return r.iloc[0] if len(r) else None


def _check_shown(row: pd.Series | None, shown: str, where: str, min_cell: int, den: int | None = None) -> list[str]:
    """``shown`` is how a cell reads: ``"951 (75%)"``, ``"951"``, ``"<5"`` / ``"fewer than 5"`` or ``"0 (0%)"``."""
    shown = shown.strip()
    if row is None:
        return [] if shown in ("0", "0 (0%)", "\u2013") else [f"{where}: {shown!r} has no out_counts row"]
    if den is not None and int(row["denominator"]) != den:
        return [f"{where}: denominator {den} != out_counts {row['denominator']}"]
    if shown in (f"<{min_cell}", f"fewer than {min_cell}"):
        return [] if row["suppressed"] else [f"{where}: {shown!r} but out_counts n = {row['n']}"]
    m = re.fullmatch(rf"({NUM})(?: \((\d+)%\))?", shown)
    if not m or row["suppressed"] or _int(m.group(1)) != int(row["n"]):
        return [f"{where}: {shown!r} != out_counts n = {row['n']} (suppressed {row['suppressed']})"]
    if m.group(2) is not None and f"{m.group(2)}%" != style.fmt_pct(row["share"]):
        return [f"{where}: {m.group(2)}% != out_counts share {row['share']:.4f}"]
    return []


def _check_sentence(row: pd.Series | None, m: dict, where: str, min_cell: int) -> list[str]:
    """A "Most respondents (36 of 80, 45%; 95% CI 35%–56%) ..." or "Fewer than 5 ..." sentence vs its row."""
    if row is None:
        return [f"{where}: no out_counts row"]
    if int(row["denominator"]) != _int(m["den"]):
        return [f"{where}: of {m['den']} != out_counts denominator {row['denominator']}"]
    if m["k"] is None:
        return [] if row["suppressed"] and _int(m["min"]) == min_cell else [f"{where}: suppressed but n = {row['n']}"]
    shown = (m["word"].lower(), _int(m["k"]), f"{m['p']}%", f"{m['lo']}%", f"{m['hi']}%")
    want = (quantifier(row["share"]), None if row["suppressed"] else int(row["n"]), style.fmt_pct(row["share"]),
            style.fmt_pct(row["ci_low"]), style.fmt_pct(row["ci_high"]))
    return [] if shown == want else [f"{where}: shows {shown}, out_counts {want}"]


SENTENCE = re.compile(rf"^- (?:(?P<word>[A-Z][\w ]*?) respondents \((?P<k>{NUM}) of (?P<den>{NUM}), (?P<p>\d+)%; "
                      rf"95% CI (?P<lo>\d+)%\u2013(?P<hi>\d+)%\)|Fewer than (?P<min>\d+) respondents \(fewer than "
                      rf"\d+ of (?P<den2>{NUM})\)) (?P<rest>.+)\.$")


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _strip_texts(p: Published, text: str) -> str:
    """``text`` (whitespace collapsed) without question texts and ids, theme and campaign labels, title."""
    text = " ".join(text.split())
    texts = {" ".join(q.text.split()) for q in p.cfg.questions} | set(p.themes["label"].astype(str))
    texts |= {p.cfg.title, p.cfg.organisation or ""} | {f"question {q.id}" for q in p.cfg.questions}
    for t in sorted(texts - {""}, key=len, reverse=True):
        text = text.replace(" ".join(t.split()), " ")
    return re.sub(r"Campaign \w+(: \u201c[^\u201d]*\u201d)?", " ", text)


# --- summary.md ----------------------------------------------------------------------------------------
def _asked_problems(p: Published, counts: pd.DataFrame, lines: list[str]) -> tuple[list[str], list[str]]:
    """Check "We asked"; returns (problems, lines not recognised)."""
    min_cell, out, left = p.cfg.settings.min_cell, [], []
    chan = {v: k for k, v in style.CHANNEL_LABELS.items()}
    summary = campaign_summary(counts, p.campaigns, max_campaigns=50)
    types: list[str] = []
    for line in lines:
        if m := re.fullmatch(rf"We received \*\*({NUM}) responses\*\*(?:, or \*\*({NUM}) unique submissions\*\*.*)?\.",
                             line):
            for mode, shown in (("all", m.group(1)), ("unique", m.group(2) or m.group(1))):
                dens = set(_rows(counts, "responses_total", "*", mode)["denominator"])
                if dens != {_int(shown)}:
                    out.append(f"We asked: {shown} {mode} responses != responses_total denominators {dens}")
        elif line.startswith("| Channel |"):
            inverse = {v: k for k, v in style.RESPONDENT_LABELS.items()}
            types = [inverse[c.strip()] for c in line.strip("|").split("|")[1:-1]]
        elif (cells := [c.strip() for c in line.strip("|").split("|")]) and cells[0] in chan:
            ch = chan[cells[0]]
            den = _int(cells[-1])
            for t, shown in zip(types, cells[1:-1], strict=True):
                row = _cell(counts, "responses", "*", ch, t, "all")
                out += _check_shown(row, shown, f"We asked: {ch} x {t}", min_cell, None if row is None else den)
            if {int(d) for d in _rows(counts, "responses", "*", "all").query("group == @ch")["denominator"]} != {den}:
                out.append(f"We asked: {ch} total {den} != its responses denominator")
        elif m := re.fullmatch(r"(\d+) organised campaigns? .* identified:", line):
            if _int(m.group(1)) != summary["n_campaigns"]:
                out.append(f"We asked: {m.group(1)} campaigns != {summary['n_campaigns']} campaign categories")
        elif m := re.fullmatch(r"- Campaign (\w+)(?:: .*)?: (.+) copies", line):  # template withheld: no quote
            row = _cell(counts, "campaign", _campaign_question(counts, m.group(1)), "all", f"campaign:{m.group(1)}",
                        "all")
            out += _check_shown(row, m.group(2), f"We asked: campaign {m.group(1)}", min_cell)
        else:
            left.append(line)
    return out, left


def _campaign_question(counts: pd.DataFrame, cid: str) -> str:
    rows = counts[(counts["table"] == "campaign") & (counts["category"] == f"campaign:{cid}")]
    if (rows["question_id"] == "*").any():  # a campaign's size over every response, across questions and channels
        return "*"
    return str(rows["question_id"].iloc[0]) if len(rows) else "?"


def _question_problems(p: Published, counts: pd.DataFrame, qid: str, lines: list[str]) -> tuple[list[str], list[str]]:
    """Check one question of "You said"; returns (problems, lines not recognised)."""
    mode, min_cell = p.cfg.settings.count_mode, p.cfg.settings.min_cell
    verbs = {v: k for k, v in POSITION_VERBS.items()} | {v: k for k, v in NO_PROPOSAL_VERBS.items()}
    label_ids = {lab: tid for tid, lab in theme_labels(p.themes, qid).items()}
    inverse = {v: k for k, v in style.RESPONDENT_LABELS.items()}
    theme_rows = _rows(counts, "theme", qid, mode)
    counts_all = counts  # both count modes: the option table shows both
    q = p.cfg.question(qid)
    choices, option_modes = set(q.choices) if q.kind == "closed" else set(), []
    out, left = [], []
    for line in lines:
        where = f"You said {qid}: {line[:60]}"
        if m := SENTENCE.fullmatch(line):
            d = m.groupdict()
            d["den"] = d["den"] or d["den2"]
            if theme := re.fullmatch(r"raised \u201c(.+)\u201d", d["rest"]):
                row = _cell(counts, "theme", qid, "all", label_ids.get(theme.group(1), "?"), mode)
            else:
                row = _cell(counts, "position", qid, "all", verbs.get(d["rest"], "?"), mode)
            out += _check_sentence(row, d, where, min_cell)
        elif line.startswith("**Answers by option** (every option in the order asked"):
            pass  # "shares can add up to more than 100%" (multi-select) is no count
        elif line.startswith("| Option |"):
            heads = [c.strip() for c in line.strip().strip("|").split("|")][1:]
            option_modes = []
            for head in heads:
                h = re.fullmatch(rf"(.+) \(n = ({NUM})\)", head)
                omode = {v: k for k, v in MODE_HEADINGS.items()}[h.group(1)]
                option_modes.append(omode)
                if set(_rows(counts_all, "option", qid, omode)["denominator"]) != {_int(h.group(2))}:
                    out.append(f"{where}: option denominator {h.group(2)} != out_counts ({omode})")
        elif (cells := [c.strip() for c in line.strip().strip("|").split("|")]) and cells[0] in choices:
            for omode, shown in zip(option_modes, cells[1:], strict=True):
                row = _cell(counts_all, "option", qid, "all", cells[0], omode)
                out += _check_shown(row, shown, f"{where} option {omode}", min_cell)
        elif m := re.fullmatch(rf"\*\*Positions\*\* \(({NUM}) respondents\):", line):
            dens = set(_rows(counts, "position", qid, mode)["denominator"])
            if dens != {_int(m.group(1))}:
                out.append(f"{where}: {m.group(1)} != position denominators {dens}")
        elif (cells := [c.strip() for c in line.strip().strip("|").split("|")]) and (
                t := re.fullmatch(rf"(.+) \(n = ({NUM})\)", cells[0])):
            rtype, den = inverse[t.group(1)], _int(t.group(2))
            for pos, shown in zip(["support", "oppose", "neutral", "unsure", "unclear"], cells[1:], strict=True):
                row = _cell(counts, "position_respondent_type", qid, rtype, pos, mode)
                out += _check_shown(row, shown, f"{where} {pos}", min_cell, None if row is None else den)
        elif m := re.fullmatch(r"(\d+) further themes? (?:is|are) listed in the workbook \(tables.xlsx\).", line):
            main = theme_rows[~theme_rows["category"].astype(str).isin(NOT_MAIN_THEMES)]  # "other" is listed apart
            if _int(m.group(1)) != len(main) - TOP_THEMES:
                out.append(f"{where}: {m.group(1)} further themes but out_counts has {len(theme_rows)} theme rows")
        else:
            left.append(line)
    return out, left


def _image_problems(p: Published, line: str) -> list[str]:
    m = re.fullmatch(r"!\[(.+)\]\(charts/(.+)\.png\)", line)
    alt = (p.reports / "charts" / f"{m.group(2)}.alt.txt").read_text(encoding="utf-8").strip()
    return [] if _unescape(m.group(1)) == alt else [f"summary image {m.group(2)}: alt text differs from its file"]


def summary_problems(p: Published, counts: pd.DataFrame) -> list[str]:
    """Mismatches between ``summary.md`` and ``counts`` (see the module docstring for the scope)."""
    md = (p.reports / "summary.md").read_text(encoding="utf-8")
    asked = md[md.index("## We asked"):md.index("## You said")].splitlines()
    said = md[md.index("## You said"):md.index("## We did")].splitlines()
    problems, left = _asked_problems(p, counts, [_unescape(x) for x in asked if not x.startswith("![")])
    problems += [e for x in asked + said if x.startswith("![") for e in _image_problems(p, x)]
    by_q: dict[str, list[str]] = {}
    qid = ""
    for line in said:
        if m := re.fullmatch(r"### (\d+)\. .*", line):
            qid = p.cfg.questions[int(m.group(1)) - 1].id
        elif qid and not line.startswith(("  > ", "![")):
            by_q.setdefault(qid, []).append(_unescape(line))
    for q, lines in by_q.items():
        found, rest = _question_problems(p, counts, q, lines)
        problems += found
        left += rest
    for line in left:  # what no check above recognised must hold no number (question numbers, texts, ids aside)
        if re.search(r"\d", _strip_texts(p, re.sub(r"^\d+\. ", "", line))):
            problems.append(f"number not tied to out_counts: {line!r}")
    methods = md[md.index("## Methods"):]
    mode = p.cfg.settings.count_mode
    supp = int(counts.loc[counts["count_mode"] == mode, "suppressed"].sum())
    if f"({supp} cells in this report)" not in methods:
        problems.append(f"methods: suppressed cells != {supp}")
    n_camp = campaign_summary(counts, None)["n_campaigns"]
    if f" {n_camp} campaign(s) were found." not in methods:
        problems.append(f"methods: campaigns found != {n_camp}")
    return problems


# --- charts: drawn labels and alt texts ---------------------------------------------------------------
CHART_KINDS = ("_theme_respondents", "_theme_positions", "_positions", "_themes", "_options")


def _chart_scope(p: Published, counts: pd.DataFrame, stem: str) -> tuple[pd.DataFrame, set[int], set[str]]:
    """What a chart may show: its ``out_counts`` cells; other counts it states (denominators of related
    tables, numbers of rows); percentages derived from them."""
    mode = p.cfg.settings.count_mode
    if stem == "responses":
        dens = _rows(counts, "responses_total", "*", "all")["denominator"]
        return _rows(counts, "responses", "*", "all"), {int(d) for d in dens}, set()
    if stem == "campaigns":
        s = campaign_summary(counts, p.campaigns)
        camp = _rows(counts, "campaign", None, "all")
        derived = {s["total"], s["unique"], s["own"], s["copies"], s["n_campaigns"]}
        return camp[camp["category"].str.startswith("campaign:")], derived, {style.fmt_pct(s["copies"] / s["total"])}
    kind = next(k for k in CHART_KINDS if stem.endswith(k))
    qid = stem.removesuffix(kind)
    theme = _rows(counts, "theme", qid, mode)
    if kind == "_positions":
        rows = pd.concat([_rows(counts, "position", qid, mode), _rows(counts, "position_respondent_type", qid, mode)])
        return rows, {rows["group"].nunique() - 1}, set()
    if kind == "_themes":
        return theme, {len(theme)}, set()
    if kind == "_options":
        opt = _rows(counts, "option", qid, mode)
        return opt, {len(opt)}, set()
    n_theme = {int(d) for d in theme["denominator"]}
    if kind == "_theme_positions":
        related = p.cfg.question(qid).related_question or qid
        return pd.concat([_rows(counts, "theme_position", q, mode) for q in sorted({qid, related})]), n_theme, set()
    rows = _rows(counts, "theme_respondent_type", qid, mode)
    return rows, n_theme | {rows["category"].nunique(), int(rows["suppressed"].sum())}, set()


def _token_problems(p: Published, text: str, rows: pd.DataFrame, ints: set[int], pcts: set[str],
                    where: str) -> list[str]:
    """Every number in ``text`` is a cell of ``rows``: "45% (36)" pairs, "n = 80" denominators, counts.

    ``ints`` are the other counts the chart may state (e.g. the denominator of a related table).
    """
    min_cell = p.cfg.settings.min_cell
    shown = rows[~rows["suppressed"]]
    pairs = {f"{style.fmt_pct(s)} ({style.fmt_int(n)})" for n, s in zip(shown["n"], shown["share"], strict=True)}
    dens = {int(d) for d in rows["denominator"]} | ints
    ints = dens | {int(n) for n in shown["n"]}
    text, out = _strip_texts(p, text), []
    out += [f"{where}: {m.group(0)!r} is no cell" for m in re.finditer(rf"\d+% \({NUM}\)", text) if m.group(0) not in pairs]
    out += [f"{where}: {m.group(0)!r} is no denominator" for m in re.finditer(rf"n = ({NUM})", text)
            if _int(m.group(1)) not in dens]
    if (f"<{min_cell}" in text or f"fewer than {min_cell}" in text) and not rows["suppressed"].any():
        out.append(f"{where}: shows a suppressed cell, out_counts has none")
    text = re.sub(rf"\d+% \({NUM}\)|n = {NUM}|<{min_cell}|fewer than {min_cell}|95% (Wilson|interval|CI)", " ", text)
    for m in re.finditer(rf"(?<![\w.]){NUM}(?:%|(?![\w.]))", text):
        ok = m.group(0) in pcts if m.group(0).endswith("%") else _int(m.group(0)) in ints
        if not ok:
            out.append(f"{where}: {m.group(0)!r} is not in out_counts")
    return out


def _alt_cell_problems(p: Published, counts: pd.DataFrame, stem: str, alt: str) -> list[str]:
    """Alt texts name their cells: "support 75% (1,051)", "Theme label 45% (314)": each must be that cell."""
    mode, min_cell, out = p.cfg.settings.count_mode, p.cfg.settings.min_cell, []
    if stem.endswith("_positions") and not stem.endswith("_theme_positions"):
        qid = stem.removesuffix("_positions")
        labels = {v.lower(): k for k, v in style.POSITION_LABELS.items()}
        for m in re.finditer(rf"\b({'|'.join(labels)}) (?:(\d+)% \(({NUM})\)|(<{min_cell}))",
                             alt.split("All respondents:")[1]):
            row = _cell(counts, "position", qid, "all", labels[m.group(1)], mode)
            out += _check_shown(row, m.group(4) or f"{m.group(3)} ({m.group(2)}%)", f"alt {stem} {m.group(1)}", min_cell)
    elif stem.endswith("_options"):
        qid = stem.removesuffix("_options")
        for item in alt.strip().split("with 95% intervals: ")[1].rstrip(".").split("; "):
            m = re.fullmatch(rf"(.+) (\d+)% \(({NUM})\)|(.+) (<{min_cell})", item)
            label = m.group(1) or m.group(4)
            row = _cell(counts, "option", qid, "all", label, mode)
            out += _check_shown(row, f"{m.group(3)} ({m.group(2)}%)" if m.group(1) else m.group(5),
                                f"alt {stem} {label}", min_cell)
    elif stem.endswith("_themes"):
        qid = stem.removesuffix("_themes")
        ids = {lab: tid for tid, lab in theme_labels(p.themes, qid).items()}
        for item in alt.strip().split("Most raised: ")[1].rstrip(".").split("; "):
            m = re.fullmatch(rf"(.+) (\d+)% \(({NUM})\)|(.+) (<{min_cell})", item)
            label = m.group(1) or m.group(4)
            row = _cell(counts, "theme", qid, "all", ids.get(label, "?"), mode)
            out += _check_shown(row, f"{m.group(3)} ({m.group(2)}%)" if m.group(1) else m.group(5),
                                f"alt {stem} {label}", min_cell)
    return out


def chart_problems(p: Published, counts: pd.DataFrame) -> list[str]:
    """Mismatches between every chart (drawn labels, alt text) and ``counts``."""
    out = []
    for path in sorted((p.reports / "charts").glob("*.alt.txt")):
        stem = path.name.removesuffix(".alt.txt")
        rows, ints, pcts = _chart_scope(p, counts, stem)
        alt = path.read_text(encoding="utf-8")
        if stem not in p.drawn:
            out.append(f"chart {stem}: not drawn by the report")
        out += _token_problems(p, p.drawn.get(stem, ""), rows, ints, pcts, f"chart {stem}")
        out += _token_problems(p, alt, rows, ints, pcts, f"alt {stem}")
        out += _alt_cell_problems(p, counts, stem, alt)
    return out


# --- workbook and CSV count tables --------------------------------------------------------------------
def _table_problems(df: pd.DataFrame, counts: pd.DataFrame, where: str, digits: int | None) -> list[str]:
    want = counts.assign(n=counts["n"].astype("Float64")).set_index(KEY)
    out = []
    for r in df.to_dict("records"):
        key = tuple(str(r[k]) for k in KEY)
        if key not in want.index:
            out.append(f"{where}: row {key} is not in out_counts")
            continue
        w = want.loc[key]
        n = None if pd.isna(r["n"]) else int(r["n"])
        share = None if pd.isna(r["share"]) else float(r["share"])
        wshare = None if pd.isna(w["share"]) else float(w["share"])
        if digits is not None and wshare is not None:
            wshare = round(wshare, digits)
        if (n, int(r["denominator"]), bool(r["suppressed"])) != (
                None if pd.isna(w["n"]) else int(w["n"]), int(w["denominator"]), bool(w["suppressed"])) \
                or (share is None) != (wshare is None) or (share is not None and abs(share - wshare) > 1e-9):
            out.append(f"{where}: {key} shows n={n}, den={r['denominator']}, share={share}; out_counts "
                       f"n={w['n']}, den={w['denominator']}, share={w['share']}")
    return out


def workbook_problems(p: Published, counts: pd.DataFrame) -> list[str]:
    """Mismatches between the count sheets of ``tables.xlsx`` / ``tables/*.csv`` and ``counts`` (every row)."""
    wb = openpyxl.load_workbook(p.reports / "tables.xlsx", read_only=True)
    sheets = []
    for name in wb.sheetnames:
        rows = list(wb[name].iter_rows(values_only=True))
        if rows and rows[0][0] == "table":  # a count sheet (readable titles: "Positions by theme" ...)
            sheets.append(pd.DataFrame(rows[1:], columns=rows[0]))
    out = []
    book = pd.concat(sheets, ignore_index=True)
    csvs = pd.concat([pd.read_csv(f, keep_default_na=False, na_values=[""], dtype={"question_id": str, "group": str,
                                                                                  "category": str})
                      for f in sorted((p.reports / "tables").glob("*.csv")) if f.stem in set(counts["table"])],
                     ignore_index=True)
    for where, df, digits in (("tables.xlsx", book, None), ("tables/*.csv", csvs, 4)):
        if len(df) != len(counts) or set(df["table"]) != set(counts["table"]):
            out.append(f"{where}: {len(df)} count rows of {sorted(set(df['table']))}, out_counts has {len(counts)}")
        out += _table_problems(df, counts, where, digits)
    return out


def all_problems(p: Published, counts: pd.DataFrame) -> dict[str, list[str]]:
    return {"summary": summary_problems(p, counts), "charts": chart_problems(p, counts),
            "workbook": workbook_problems(p, counts)}


# --- tests -----------------------------------------------------------------------------------------------
def test_every_published_number_is_an_out_counts_cell(published):
    problems = all_problems(published, published.counts)
    assert problems == {"summary": [], "charts": [], "workbook": []}
    # the checks saw the outputs: every chart was drawn and recorded, every count table published
    alts = {f.name.removesuffix(".alt.txt") for f in (published.reports / "charts").glob("*.alt.txt")}
    assert set(published.drawn) == alts and {"responses", "campaigns", "q1_positions", "q1_why_themes"} <= alts
    md = (published.reports / "summary.md").read_text(encoding="utf-8")
    q1 = published.counts.query("table == 'position' and question_id == 'q1' and group == 'all' "
                                "and category == 'support' and count_mode == @published.cfg.settings.count_mode")
    n, den = int(q1["n"].iloc[0]), int(q1["denominator"].iloc[0])
    assert f"({n:,} of {den:,}, " in md  # the counts stage's q1 support (1,051 of 1,403 on the sample)


@pytest.mark.parametrize("table, qid, group, category", [
    ("position", "q1", "all", "support"),
    ("responses", "*", "online_survey", "individual"),
    ("theme", "q1_why", "all", None),  # the most raised theme
    ("option", "q2", "all", "Disagree"),
])
def test_a_changed_count_is_caught_everywhere_it_is_published(published, table, qid, group, category):
    counts = published.counts.copy()
    mode = "all" if table == "responses" else published.cfg.settings.count_mode
    hit = (counts["table"] == table) & (counts["question_id"] == qid) & (counts["group"] == group) \
        & (counts["count_mode"] == mode)
    if category is None:
        category = str(counts[hit].sort_values("n", ascending=False)["category"].iloc[0])
    hit &= counts["category"] == category
    assert hit.sum() == 1 and not counts.loc[hit, "suppressed"].iloc[0]
    counts.loc[hit, "n"] = counts.loc[hit, "n"] + 1
    problems = all_problems(published, counts)
    assert all(problems.values()), problems  # summary, a chart and the workbook each disagree now
    assert any(f"'{table}', '{qid}', '{group}', '{category}'" in e for e in problems["workbook"])
