"""The bundled SYNTHETIC sample consultation: reproducible, loadable, and its ground truth is consistent."""

from __future__ import annotations

import csv
import hashlib
import io
import random
import re
from email import policy
from email.parser import BytesParser
from pathlib import Path

import docx
import pandas as pd
import pypdf
import pytest
import yaml

from analysis import sample
from analysis.config import load_config
from analysis.sample.compose import strip_macrons
from analysis.sample.survey import ANALYST_HEADER, LIKERT
from analysis.sample.text import CAMPAIGN_1

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "raw" / "sample"
GT = SAMPLE / "ground_truth"
BINARY = {".docx", ".pdf", ".eml"}
#: Files the analyst writes beside the generated sample (not generated, not in provenance.yml).
ANALYST_FILES = {"codebook.yml", "overrides.csv", "analyst_positions.csv"}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    sample.generate(out)
    return out


@pytest.fixture(scope="module")
def export() -> pd.DataFrame:
    return pd.read_csv(SAMPLE / "survey_export.csv", dtype=str, keep_default_na=False)


def _gt(name: str) -> pd.DataFrame:
    return pd.read_csv(GT / name, dtype=str, keep_default_na=False)


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and p.relative_to(root).as_posix() not in ANALYST_FILES)


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def _docx_text(data: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)


def _letter_text(path: Path, encoding: str = "utf-8") -> str:
    """The text a reader of this emailed submission would see (body plus attachments)."""
    data = path.read_bytes()
    if path.suffix == ".pdf":
        return _pdf_text(data)
    if path.suffix == ".docx":
        return _docx_text(data)
    if path.suffix == ".txt":
        return data.decode(encoding)
    msg = BytesParser(policy=policy.default).parsebytes(data)
    parts = [msg.get_body(preferencelist=("plain",)).get_content()]
    for att in msg.iter_attachments():
        blob = att.get_content()
        parts.append(_pdf_text(blob) if att.get_filename().endswith(".pdf") else _docx_text(blob))
    return "\n".join(parts)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_regeneration_is_identical(regenerated: Path) -> None:
    committed, fresh = _files(SAMPLE), _files(regenerated)
    assert fresh == committed
    for rel in committed:
        a, b = (SAMPLE / rel).read_bytes(), (regenerated / rel).read_bytes()
        if rel == "provenance.yml" or Path(rel).suffix in BINARY:
            continue  # checked below: binary bytes may depend on zlib / library versions
        assert a == b, f"{rel} differs from a fresh regeneration"


def test_regenerated_binaries_have_the_same_text(regenerated: Path) -> None:
    emails = {r["file"]: r["encoding"] for r in csv.DictReader(open(GT / "emails.csv", encoding="utf-8"))}
    for name, enc in emails.items():
        assert _letter_text(SAMPLE / "emails" / name, enc) == _letter_text(regenerated / "emails" / name, enc)


def test_generation_is_deterministic_in_process(regenerated: Path, tmp_path: Path) -> None:
    sample.generate(tmp_path)
    for rel in _files(regenerated):
        assert (tmp_path / rel).read_bytes() == (regenerated / rel).read_bytes(), rel


def test_provenance_lists_every_file_with_its_sha256() -> None:
    prov = yaml.safe_load((SAMPLE / "provenance.yml").read_text(encoding="utf-8"))
    assert prov["synthetic"] is True and "seed" in prov["source"]
    listed = {e["file"]: e["sha256"] for e in prov["files"]}
    assert sorted(listed) == [f for f in _files(SAMPLE) if f != "provenance.yml"]
    for rel, sha in listed.items():
        assert hashlib.sha256((SAMPLE / rel).read_bytes()).hexdigest() == sha, rel


def test_sample_is_labelled_synthetic_and_small() -> None:
    assert "SYNTHETIC" in (SAMPLE / "README.md").read_text(encoding="utf-8")
    assert sum((SAMPLE / f).stat().st_size for f in _files(SAMPLE)) < 5_000_000


def test_config_loads_and_maps_every_column(export: pd.DataFrame) -> None:
    cfg = load_config(SAMPLE / "consultation.yml")
    assert cfg.id == "sample" and cfg.synthetic
    survey, emails = cfg.sources
    assert emails.format == "folder" and emails.channel == "email" and emails.question_id == "email_submission"
    for header in [*survey.columns.values(), *survey.analyst_tag_columns, survey.id_column,
                   survey.submitted_at_column, survey.respondent_type_column, survey.consent_column]:
        assert header in export.columns
    assert set(export[survey.respondent_type_column]) - {""} == set(survey.respondent_type_map)
    for q in cfg.closed_questions:
        assert set(export[survey.columns[q.id]]) - {""} <= set(q.choices)
    assert all(cfg.question(q.related_question).kind == "closed" for q in cfg.open_questions if q.related_question)
    assert export["Response ID"].is_unique and export["Response ID"].str.fullmatch(
        r"ANON-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]").all()
    when = pd.to_datetime(export["Submitted on"], format="%d/%m/%Y %H:%M")
    assert when.min() >= pd.Timestamp(cfg.opened) and when.max() <= pd.Timestamp(cfg.closed) + pd.Timedelta(days=1)


def test_ground_truth_keys_exist(export: pd.DataFrame) -> None:
    ids = set(export["Response ID"])
    files = set(p.name for p in (SAMPLE / "emails").iterdir())
    cfg = load_config(SAMPLE / "consultation.yml")
    cols = {**cfg.sources[0].columns, "email_submission": None}
    codebook = set(_gt("themes_codebook.csv")["theme_id"])
    by_id = export.set_index("Response ID")
    for name in ["themes.csv", "positions.csv", "campaigns.csv", "pii.csv", "languages.csv"]:
        df = _gt(name)
        assert len(df) > 0, name
        for key, qid in df[["response_key", "question_id"]].itertuples(index=False):
            assert key in ids or key in files, (name, key)
            assert qid in cols, (name, qid)
            if key in ids and name != "positions.csv":
                assert by_id.at[key, cols[qid]] != "", (name, key, qid)  # truth only for answered questions
    assert set(_gt("themes.csv")["theme_id"]) == codebook


def test_positions_match_ticks_and_texts(export: pd.DataFrame) -> None:
    cfg = load_config(SAMPLE / "consultation.yml")
    cols = cfg.sources[0].columns
    by_id = export.set_index("Response ID")
    pos = _gt("positions.csv")
    assert set(pos["basis"]) == {"tick", "text_only", "contradicts"}
    for r in pos.itertuples(index=False):
        tick, text = by_id.at[r.response_key, cols[r.question_id]], by_id.at[r.response_key, cols[r.text_question_id]]
        if r.basis == "text_only":
            assert tick == "" and text != "" and r.position == r.text_position
        else:
            assert LIKERT[tick] == r.position
        if r.basis == "contradicts":
            assert {r.position, r.text_position} == {"support", "oppose"}
    ticked = pos[pos["basis"] != "text_only"]
    with_text = ticked[ticked["text_position"] != ""]
    rate = (with_text["basis"] == "contradicts").mean()
    assert 0.02 < rate < 0.08  # "consistent in ~95% of cases"
    n_resp_text_only = pos.loc[pos["basis"] == "text_only", "response_key"].nunique()
    assert 0.10 < n_resp_text_only / len(export) < 0.20
    # every tick in the export has a position row
    n_ticks = sum((export[cols[q.id]] != "").sum() for q in cfg.closed_questions)
    assert len(ticked) == n_ticks


def test_campaigns_have_intended_size_and_lean(export: pd.DataFrame) -> None:
    camp = _gt("campaigns.csv")
    sizes = camp["campaign_id"].value_counts()
    assert sizes["campaign_1"] == 303 and sizes["campaign_2"] == 40  # 300 + 3 by email; 40
    assert (camp["campaign_id"].str.len() > 0).sum() == 343
    cfg = load_config(SAMPLE / "consultation.yml")
    q2 = export.set_index("Response ID")[cfg.sources[0].columns["q2"]]
    c1 = camp[(camp["campaign_id"] == "campaign_1") & camp["response_key"].str.startswith("ANON")]["response_key"]
    assert q2[c1].isin(["Disagree", "Strongly disagree"]).mean() > 0.8
    texts = export.set_index("Response ID")[cfg.sources[0].columns["q5_other"]]
    body = [sent for sent, _ in CAMPAIGN_1[:-1]]
    kept = texts[c1].map(lambda t: sum(sent in t for sent in body) / len(body))
    assert kept.min() >= 4 / len(body) and 0.7 < kept.mean() < 1.0  # edited near-copies
    assert len(set(texts[c1])) == len(c1)  # near-copies, not exact duplicates
    with_add = camp[(camp["campaign_id"] != "") & (camp["personal_addition"] != "")]
    assert len(with_add) > 200
    for r in with_add.itertuples(index=False):
        if r.response_key.startswith("ANON"):
            assert r.personal_addition[:25] in texts[r.response_key]


def test_te_reo_answers_exist(export: pd.DataFrame) -> None:
    cfg = load_config(SAMPLE / "consultation.yml")
    cols = cfg.sources[0].columns
    by_id = export.set_index("Response ID")
    lang = _gt("languages.csv")
    mi = lang[lang["language"] == "mi"]
    assert 8 <= len(mi) <= 16
    for r in mi.itertuples(index=False):
        text = (_letter_text(SAMPLE / "emails" / r.response_key) if r.question_id == "email_submission"
                else by_id.at[r.response_key, cols[r.question_id]])
        assert re.search(r"\b(ngā|te|ki|me|ahau|kāore)\b", text.lower()), text
        assert not re.search(r"\b(the|and|should)\b", text.lower()), text
    assert (lang["language"] == "mixed").sum() > 20


def test_pii_is_present_where_planted(export: pd.DataFrame) -> None:
    cfg = load_config(SAMPLE / "consultation.yml")
    cols = cfg.sources[0].columns
    by_id = export.set_index("Response ID")
    emails = {r["file"]: r["encoding"] for r in csv.DictReader(open(GT / "emails.csv", encoding="utf-8"))}
    pii = _gt("pii.csv")
    assert set(pii["kind"]) == {"email", "phone", "address", "name"}
    letter_text: dict[str, str] = {}
    for r in pii.itertuples(index=False):
        if r.question_id == "email_submission":
            if r.response_key not in letter_text:
                letter_text[r.response_key] = _norm(_letter_text(SAMPLE / "emails" / r.response_key,
                                                                 emails[r.response_key]))
            text = letter_text[r.response_key]
        else:
            text = by_id.at[r.response_key, cols[r.question_id]]
        assert r.value in text, (r.response_key, r.kind, r.value)
    survey_pii = pii[pii["response_key"].str.startswith("ANON") & (pii["kind"] != "name")]
    n_texts = sum((export[cols[q.id]] != "").sum() for q in cfg.open_questions if q.id in cols)
    assert 0.02 < survey_pii.groupby(["response_key", "question_id"]).ngroups / n_texts < 0.08


def test_emails_folder_formats_and_scanned_pdf() -> None:
    emails = _gt("emails.csv")
    assert len(emails) == len(list((SAMPLE / "emails").iterdir())) >= 25
    assert {"txt", "eml", "docx", "pdf"} <= set(emails["format"])
    assert set(emails["attachment"]) >= {"docx", "pdf", ""}
    scanned = emails[emails["expected"] != "ok"]
    assert list(scanned["expected"]) == ["reject: needs OCR"]
    assert _pdf_text((SAMPLE / "emails" / scanned["file"].iloc[0]).read_bytes()).strip() == ""
    for r in emails[emails["expected"] == "ok"].itertuples(index=False):
        assert len(_letter_text(SAMPLE / "emails" / r.file, r.encoding)) > 100, r.file
    org = emails[emails["respondent_type"] == "organisation"]
    assert len(org) >= 4
    for r in org.itertuples(index=False):
        text = _norm(_letter_text(SAMPLE / "emails" / r.file))
        assert len(text.split()) > 300 and strip_macrons(r.organisation).upper() in \
            strip_macrons(text).upper()


def test_analyst_column_is_noisy_truth(export: pd.DataFrame) -> None:
    coded = export[export[ANALYST_HEADER] != ""]
    assert 0.08 < len(coded) / len(export) < 0.12
    at = _gt("analyst_tags.csv").set_index("response_key")
    themes = _gt("themes.csv")
    truth = themes.groupby("response_key")["theme_id"].agg(lambda s: ";".join(sorted(set(s))))
    agree = 0
    for rid, tags in coded[["Response ID", ANALYST_HEADER]].itertuples(index=False):
        assert at.at[rid, "coded_themes"] == tags and at.at[rid, "true_themes"] == truth[rid]
        agree += tags == truth[rid]
    assert 0.6 < agree / len(coded) < 1.0  # mostly right, but not perfect


def test_themes_overlap_and_are_multi_label() -> None:
    themes = _gt("themes.csv")
    per_answer = themes.groupby(["response_key", "question_id"]).size()
    assert (per_answer >= 2).mean() > 0.3 and (per_answer == 1).mean() > 0.3
    assert themes["theme_id"].value_counts().min() > 100


@pytest.mark.parametrize(("n", "c1", "c2", "te_reo"), [(3000, 2400, 300, 16), (1500, 300, 40, 8), (7, 0, 0, 0)])
def test_streamed_export_is_the_generated_one(tmp_path: Path, n: int, c1: int, c2: int, te_reo: int) -> None:
    """``write_export`` (the benchmarks' generator of millions of rows, holding no respondent) writes the bytes of
    ``generate_survey``'s rows written whole: the same respondents, analyst codes and submission order."""
    from analysis.sample.survey import generate_survey, write_export

    sv = generate_survey(random.Random("stream"), n=n, n_campaign_1=c1, n_campaign_2=c2, n_te_reo_respondents=te_reo)
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(sv.header)
    w.writerows(sv.rows)
    assert write_export(tmp_path / "export.csv", random.Random("stream"), n, c1, c2, te_reo) == n
    written = (tmp_path / "export.csv").read_bytes()
    assert written == buf.getvalue().encode("utf-8")
    assert sum(1 for r in sv.rows if r[-1]) > 0.09 * n or n < 10  # analyst codes are in the file
    assert list(tmp_path.iterdir()) == [tmp_path / "export.csv"]  # the spool is gone
