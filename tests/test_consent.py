"""Consent decides what text is published: config, ingest, the one publication gate, the report's public
and internal outputs, and the bundled sample end to end (into temporary folders)."""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from analysis import pipeline, tables
from analysis.config import parse_config
from analysis.counts import stage as counts_stage
from analysis.errors import ConfigError
from analysis.ingest import ingest
from analysis.ingest import stage as ingest_stage
from analysis.report import build as report
from analysis.report.publishable import PUBLISHABLE_CONSENT, PublicationError, publishable_text
from analysis.report.quotes import select_quotes, sentence_spans
from analysis.report.tables import INTERNAL_WORKBOOK, WITHHELD_TEMPLATE
from analysis.report.workbook import neutralise

CONSENT_COL = "May we publish your response?"
WHY = "Why do you say that?"
CONSENT_MAP = {"Yes, with our name": "publish_named", "Yes, but withhold our name": "publish_anonymous",
               "No, do not publish": "do_not_publish"}
#: Response ID -> (type, organisation, consent cell, explanation). Each explanation is unique to its writer.
SURVEY = {
    "R1": ("Organisation", "Harbour Restoration Trust", "Yes, with our name",
           "Tidal wetlands filter the run-off that reaches the harbour every winter."),
    "R2": ("Organisation", "Quiet Lobby Limited", "YES,  but withhold our name",  # matched ignoring case/spacing
           "Freight operators need two years of notice before any change to the rules."),
    "R3": ("Individual", "", "No, do not publish",
           "My grandmother's orchard flooded twice after the stopbank was moved."),
    "R4": ("Individual", "", "",  # no answer to the consent question
           "Volunteers planted eleven thousand flax bushes along the estuary last spring."),
    "R5": ("Organisation", "Selfnamed Cooperative", "Yes, but withhold our name",
           "At Selfnamed Cooperative we measured the sediment load for a decade."),
    "R6": ("Individual", "", "Yes, with our name",
           "Cycle lanes beside the stopbank would bring families down to the river."),
}
LETTERS = {
    "letter_a.txt": "Dear Minister, our school children tested the creek water every term and found it cloudy.",
    "letter_b.txt": "To the committee: the boat ramp car park floods at every king tide and needs raising.",
}


def _write_raw(folder: Path, extra_rows: list[list[str]] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "survey.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Response ID", "Responding as", "Organisation", CONSENT_COL, "Do you agree?", WHY])
        for rid, (kind, org, consent, text) in SURVEY.items():
            w.writerow([rid, kind, org, consent, "Yes", text])
        for row in extra_rows:
            w.writerow(row)
    (folder / "letters").mkdir(exist_ok=True)
    for name, text in LETTERS.items():
        (folder / "letters" / name).write_text(text, encoding="utf-8")
    return folder


def _cfg(letters: dict | None = None, **survey):
    return parse_config({
        "id": "estuary", "title": "Estuary plan (test)",
        "sources": [
            {"file": "survey.csv", "format": "generic", "id_column": "Response ID",
             "respondent_type_column": "Responding as",
             "respondent_type_map": {"Organisation": "organisation", "Individual": "individual"},
             "organisation_column": "Organisation", "consent_column": CONSENT_COL, "consent_map": CONSENT_MAP,
             "columns": {"q1": "Do you agree?", "q1_why": WHY}, **survey},
            {"file": "letters", "format": "folder", "channel": "email", "question_id": "letter", **(letters or {})},
        ],
        "questions": [
            {"id": "q1", "text": "Do you agree?", "kind": "closed", "choices": {"Yes": "support", "No": "oppose"}},
            {"id": "q1_why", "text": WHY, "kind": "open", "related_question": "q1"},
            {"id": "letter", "text": "Emailed letter", "kind": "open"},
        ],
        "settings": {"language_detection": False, "min_cell": 0},  # every quote shown in the summary too
    })


def _consents(frames: dict) -> dict[str, str]:
    r = frames["core_responses"]
    key = r["response_id"].str.split(":", n=1).str[1].where(r["channel"] == "online_survey",
                                                           r["source_file"].str.rsplit("/", n=1).str[-1])
    return dict(zip(key, r["consent"], strict=True))


# --- config --------------------------------------------------------------------------------------
def test_config_consent_map_is_a_closed_enum_and_old_configs_are_told_how_to_migrate(tmp_path):
    src = _cfg().sources[0].model_dump(exclude_defaults=True)
    with pytest.raises(ConfigError, match=r"consent_yes.*replaced by 'consent_map'.*publish_anonymous"):
        parse_config({"id": "x", "title": "x", "questions": [{"id": "q1", "text": "t", "kind": "open"}],
                      "sources": [{"file": "s.csv", "format": "generic", "consent_column": CONSENT_COL,
                                   "consent_yes": ["Yes"]}]})
    for bad, message in [({"consent_map": {}}, "needs a consent_map"),
                         ({"consent_column": None}, "consent_map needs consent_column"),
                         ({"consent_map": {"Yes": "yes"}}, "consent_map.Yes"),
                         ({"consent_default": "publish"}, "consent_default")]:
        data = {"id": "x", "title": "x", "sources": [{**src, **bad}],
                "questions": [q.model_dump() for q in _cfg().questions[:2]]}
        with pytest.raises(ConfigError, match=message):
            parse_config(data)


# --- ingest --------------------------------------------------------------------------------------
def test_ingest_maps_every_consent_value_and_records_without_consent_are_not_published(tmp_path):
    frames, _ = ingest(_cfg(), _write_raw(tmp_path))
    assert _consents(frames) == {"R1": "publish_named", "R2": "publish_anonymous", "R3": "do_not_publish",
                                 "R4": "do_not_publish", "R5": "publish_anonymous", "R6": "publish_named",
                                 "letter_a.txt": "do_not_publish", "letter_b.txt": "do_not_publish"}
    # every response still counts: all eight are in the canonical tables
    assert len(frames["core_responses"]) == 8 and frames["core_answers"]["response_id"].nunique() == 8
    # consent configured for the letters (senders were told submissions are published) and for empty cells
    frames, _ = ingest(_cfg(letters={"consent_default": "publish_anonymous"}, consent_default="publish_anonymous"),
                       tmp_path)
    got = _consents(frames)
    assert got["letter_a.txt"] == got["letter_b.txt"] == got["R4"] == "publish_anonymous"
    assert got["R3"] == "do_not_publish"  # an explicit "No" is never overridden


def test_unmapped_consent_value_stops_the_run_naming_value_column_and_file(tmp_path):
    raw = _write_raw(tmp_path, [["R7", "Individual", "", "Maybe later", "No", "Unsure about the timing."],
                                ["R8", "Individual", "", "Maybe later", "Yes", "Keep the walkway open."]])
    with pytest.raises(ConfigError) as err:
        ingest(_cfg(), raw)
    msg = str(err.value)
    assert "'Maybe later'" in msg and repr(CONSENT_COL) in msg and "survey.csv" in msg and "rows 8, 9" in msg
    assert "consent_map" in msg


# --- the publication gate ------------------------------------------------------------------------
def test_publishable_text_applies_consent_and_never_names_people_or_unconsented_organisations(tmp_path):
    frames, _ = ingest(_cfg(), _write_raw(tmp_path))
    resp = frames["core_responses"]
    ans = frames["core_answers"]
    texts = ans[ans["question_id"].isin(["q1_why", "letter"])].rename(columns={"answer": "text_redacted"})
    out = publishable_text(texts.drop(columns="language"), resp)
    by_text = dict(zip(out["text_redacted"], out["attribution"], strict=True))
    assert by_text == {SURVEY["R1"][3]: "Harbour Restoration Trust", SURVEY["R2"][3]: "An organisation",
                       SURVEY["R6"][3]: "An individual"}  # R5 names its own organisation: dropped
    assert out["organisation"].dropna().tolist() == ["Harbour Restoration Trust"]
    with pytest.raises(PublicationError, match="answer"):
        publishable_text(ans, resp)
    assert publishable_text(texts.drop(columns="language"), None).empty  # unknown consent: nothing published


def _processed(cfg, raw: Path, folder: Path) -> Path:
    """Ingest for real, then (as the themes stage would) give every open answer its own theme and count."""
    ingest_stage.run(cfg, raw_dir=raw, processed_dir=folder)
    answers = tables.read_table("core_answers", folder)
    clean = answers.assign(text_redacted=answers["answer"], campaign_id=None, is_campaign_copy=False,
                           personal_addition=None)
    tables.write_table(clean, "core_answers_clean", folder)
    open_ = clean[clean["question_id"] != "q1"]
    ids = [f"t{i}" for i in range(len(open_))]
    themes = pd.DataFrame({"question_id": open_["question_id"].to_numpy(), "theme_id": ids,
                           "label": [f"Theme {i}" for i in ids], "description": None, "parent_id": None,
                           "keywords": None})
    tables.write_table(themes, "core_themes", folder)
    tables.write_table(themes[["question_id", "theme_id"]].assign(response_id=open_["response_id"].to_numpy(),
                                                                  score=0.9, source="assigned"),
                       "core_answer_themes", folder)
    counts_stage.run(cfg, raw_dir=raw, processed_dir=folder)
    return folder


def _published_parts(reports: Path) -> list[str]:
    """Every text a reader of the reports folder sees: each file (HTML entities and Markdown escapes undone,
    embedded images dropped) and each workbook cell."""
    parts = []
    for p in sorted(reports.rglob("*")):
        if p.suffix in (".md", ".html", ".csv", ".svg", ".txt", ".json"):
            text = re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+", "", p.read_text(encoding="utf-8"))
            parts.append(re.sub(r"\\(.)", r"\1", html.unescape(text)))
        elif p.suffix == ".xlsx":
            wb = openpyxl.load_workbook(p, read_only=True)
            parts += [str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
                      if v is not None]
    return parts


def _published_text(reports: Path) -> str:
    """:func:`_published_parts` joined, whitespace collapsed."""
    return " ".join(" ".join(_published_parts(reports)).split())


def test_report_publishes_only_consented_text_and_keeps_full_text_internal(tmp_path):
    raw = _write_raw(tmp_path / "raw")
    cfg = _cfg()
    proc = _processed(cfg, raw, tmp_path / "processed")
    written = report.build_report(cfg, proc, tmp_path / "reports")
    pub = _published_text(tmp_path / "reports")
    assert SURVEY["R1"][3] in pub and SURVEY["R2"][3] in pub and SURVEY["R6"][3] in pub
    for withheld in ("R3", "R4", "R5"):  # refused, no answer, or naming itself without publish_named
        assert SURVEY[withheld][3] not in pub, withheld
    for letter in LETTERS.values():  # emailed letters carry no consent record
        assert letter not in pub
    assert "Harbour Restoration Trust" in pub  # publish_named
    assert "Quiet Lobby" not in pub and "Selfnamed" not in pub
    # the full text of every answer, whatever its consent, is in the internal workbook (and only there)
    internal = proc / INTERNAL_WORKBOOK
    assert internal in written and not list((tmp_path / "reports").rglob("INTERNAL*"))
    ws = openpyxl.load_workbook(internal)["coded_answers"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)]
    full = {r["text_redacted"]: r["consent"] for r in rows}
    assert {SURVEY[k][3] for k in SURVEY} | set(LETTERS.values()) <= set(full)
    assert full[SURVEY["R3"][3]] == "do_not_publish" and "Quiet Lobby Limited" in {r["organisation"] for r in rows}


def test_letters_are_quoted_only_when_consent_is_configured(tmp_path):
    raw = _write_raw(tmp_path / "raw")
    for letters, quoted in [(None, False), ({"consent_default": "publish_anonymous"}, True)]:
        cfg = _cfg(letters=letters)
        proc = _processed(cfg, raw, tmp_path / f"processed_{quoted}")
        t = {n: tables.read_table(n, proc) for n in ("core_answers_clean", "core_answer_themes", "core_responses")}
        q = select_quotes(t["core_answers_clean"], t["core_answer_themes"], None, t["core_responses"], seed=1)
        assert (q["question_id"] == "letter").sum() == (2 if quoted else 0)
        report.build_report(cfg, proc, tmp_path / f"reports_{quoted}")
        pub = _published_text(tmp_path / f"reports_{quoted}")
        assert all((text in pub) == quoted for text in LETTERS.values())


def test_campaign_letter_text_published_only_when_a_sender_consented():
    from analysis.report.tables import published_campaigns

    resp = pd.DataFrame({"response_id": ["a", "b", "c"], "respondent_type": "individual", "sector": None,
                         "organisation": None, "consent": ["do_not_publish", "do_not_publish", "publish_anonymous"]})
    ans = pd.DataFrame({"response_id": ["a", "b", "c"], "campaign_id": ["C1", "C1", "C2"],
                        "is_campaign_copy": True})
    camps = pd.DataFrame({"campaign_id": ["C1", "C2"], "question_id": "q", "size": [2, 1],
                          "template": ["Letter one text.", "Letter two text."]})
    out = published_campaigns({"core_campaigns": camps, "core_answers_clean": ans, "core_responses": resp})
    assert out["template"].tolist() == [WITHHELD_TEMPLATE, "Letter two text."] and out["size"].tolist() == [2, 1]


# --- the bundled sample, end to end --------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> tuple[Path, Path]:
    """The whole pipeline on the bundled sample, into temporary processed and reports folders."""
    root = tmp_path_factory.mktemp("consent_sample")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANALYSIS_DATA_PROCESSED", str(root / "processed"))
        mp.setenv("ANALYSIS_REPORTS", str(root / "reports"))
        pipeline.run("sample")
    return root / "processed" / "sample", root / "reports" / "sample"


def _grams(text: str, n: int = 8) -> set[tuple[str, ...]]:
    """Word ``n``-grams (case-folded) within each sentence-like segment of ``text`` (a run across a sentence
    end, a line break, a quotation mark or a table cell is not a run of anyone's words)."""
    out = set()
    for seg in re.split(r"[.!?;:|()\[\]\n\"\u201c\u201d]+", str(text)):
        w = re.findall(r"\w+", seg.casefold())
        out.update(tuple(w[i:i + n]) for i in range(len(w) - n + 1))
    return out


@pytest.mark.slow
def test_sample_publishes_no_text_of_respondents_who_refused(sample_run):
    proc, reports = sample_run
    resp = tables.read_table("core_responses", proc)
    ans = tables.read_table("core_answers_clean", proc)
    consent = ans["response_id"].map(resp.set_index("response_id")["consent"])
    assert (resp["consent"] == "do_not_publish").sum() > 250  # 245 "No", 36 without an answer, 29 letters
    assert set(resp.loc[resp["channel"] == "email", "consent"]) == {"do_not_publish"}
    ok, private = ans[consent.isin(PUBLISHABLE_CONSENT)], ans[~consent.isin(PUBLISHABLE_CONSENT)]
    # word 8-grams written only by respondents who may not be published (stock phrases shared with a consenting
    # respondent are theirs too, and the analyst's question texts and theme labels are the analyst's): none may
    # appear anywhere in the reports folder, workbook cells included
    themes = tables.read_table("core_themes", proc)
    analyst = [*themes["label"], *themes["description"].dropna(), *tables.read_table("core_questions", proc)["text"]]
    shared = set().union(*(_grams(t) for t in [*ok["text_redacted"], *analyst]))
    own = set().union(*(_grams(t) for t in private["text_redacted"])) - shared
    assert len(own) > 500  # the check has something to find (all of them leaked before consent was applied)
    published = set().union(*(_grams(part) for part in _published_parts(reports)))
    assert len(published) > 1000
    leaks = own & published
    assert not leaks, sorted(leaks)[:5]
    # and every quote in the workbook comes from a consenting respondent
    quotes = pd.read_excel(reports / "tables.xlsx", sheet_name="Quotes")
    assert len(quotes) > 50
    assert quotes["response_id"].map(resp.set_index("response_id")["consent"]).isin(PUBLISHABLE_CONSENT).all()
    # sentences of refusing respondents' answers are absent too (not only their 8-word runs), unless a consenting
    # respondent wrote the same words
    pub = _published_text(reports)
    theirs = "\n".join(" ".join(t.split()) for t in [*ok["text_redacted"], *analyst])
    mine = {" ".join(t[s:e].split()) for t in private["text_redacted"] for s, e, _ in sentence_spans(t)}
    mine = {s for s in mine if len(s) >= 40}
    assert len(mine) > 500
    assert not [s for s in sorted(mine) if s in pub and s not in theirs][:5]


@pytest.mark.slow
def test_sample_names_organisations_only_with_publish_named_and_keeps_full_text_internal(sample_run):
    proc, reports = sample_run
    resp = tables.read_table("core_responses", proc)
    orgs = resp[resp["organisation"].notna()]
    named = set(orgs.loc[orgs["consent"] == "publish_named", "organisation"])
    unnamed = set(orgs.loc[orgs["consent"] != "publish_named", "organisation"]) - named
    assert len(named) > 20 and len(unnamed) > 20
    pub = _published_text(reports)
    assert not [o for o in sorted(unnamed) if re.search(rf"(?<!\w){re.escape(o)}(?!\w)", pub)]
    quotes = pd.read_excel(reports / "tables.xlsx", sheet_name="Quotes")
    shown = {a for a in quotes["attribution"] if not a.startswith(("An ", "A "))}
    assert shown and {a.split(" (")[0] for a in shown} <= named
    # the internal workbook has every answer's full (redacted) text, with its consent
    assert not list(reports.rglob("INTERNAL*"))
    full = pd.read_excel(proc / INTERNAL_WORKBOOK, sheet_name="coded_answers", dtype=str, na_filter=False)
    ans = tables.read_table("core_answers_clean", proc)
    assert sorted(full["text_redacted"]) == sorted(neutralise(t) for t in ans["text_redacted"])
    assert (full["consent"] == "do_not_publish").sum() > 1000
