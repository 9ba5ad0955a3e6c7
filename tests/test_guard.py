"""The publication guard: its own detectors find every identifier family in every published format, it fails on
what it cannot read, the exact check finds respondents' names and non-consenting organisations, a real report
passes, and every identifier planted by ``tests/pii_corpus.py`` is found when written unredacted into a report."""

from __future__ import annotations

import base64
import importlib
import json
import os
import struct
import subprocess
import sys
import zlib
from collections import Counter, defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import openpyxl  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis.errors import AnalysisError  # noqa: E402
from analysis.redaction import PublicationGuardError, guard  # noqa: E402
from analysis.redaction.guard import scan_reports, scan_text  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

#: One planted value per identifier family, each as a person would write it.
FAMILIES = {
    "EMAIL": "aroha.ngata@example.co.nz",
    "EMAIL_OBFUSCATED": "aroha (at) example (dot) co (dot) nz",
    "PHONE": "021 555 0143",
    "PHONE_INTL": "+44 20 7946 0958",
    "IP_ADDRESS": "203.0.113.77",
    "IPV6": "2001:db8::8a2e:370:7334",
    "IRD": "49-091-850",
    "NHI": "zac5361",
    "CARD": "4111 1111 1111 1111",
    "POSTCODE": "Te Aro, Wellington 6011",
    "ZIP": "Springfield, IL 62704",
    "ADDRESS": "154 Pōhutukawa Drive",
    "DATE_OF_BIRTH": "born on 3 March 1985",
    "SOCIAL_HANDLE": "@aroha_ngata",
    "URL": "https://www.facebook.com/aroha.ngata.75",
    "NAME": "Wiremu Tuilagi",
    "NAME_SIGNOFF": "Kind regards,\nFfion Llewellyn",
    "NAME_TITLE": "Dr. Featherstone",
}
KIND_OF = {"EMAIL_OBFUSCATED": "EMAIL", "PHONE_INTL": "PHONE", "IPV6": "IP_ADDRESS", "ZIP": "POSTCODE",
           "NAME_SIGNOFF": "NAME", "NAME_TITLE": "NAME"}
CONTAINERS = ("summary.md", "summary.html", "embedded.html", "tables.xlsx", "charts/figure.png", "tables/t.csv")


# --- building report folders -------------------------------------------------------------------------


def _chart_svg(title: str) -> str:
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.bar(["support", "oppose"], [1234, 4444])
    ax.set_title(title)
    buf = __import__("io").StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    return buf.getvalue()


def _png(text_chunks: dict[str, str] | None = None, extra: bytes = b"") -> bytes:
    """A valid 1x1 PNG with the given text chunks (tEXt when Latin-1, else compressed iTXt) and any raw
    ``extra`` chunk bytes."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    for key, value in (text_chunks or {}).items():
        if _chunk_type(value) == "tEXt":
            out += chunk(b"tEXt", key.encode("latin-1") + b"\x00" + value.encode("latin-1"))
        else:
            out += chunk(b"iTXt", key.encode("latin-1") + b"\x00\x01\x00en\x00\x00" + zlib.compress(value.encode()))
    return out + extra + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")


def _chunk_type(value: str) -> str:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return "iTXt"
    return "tEXt"


def _clean_report(folder: Path) -> None:
    """A small report of every published format, with nothing personal in it."""
    (folder / "charts").mkdir(parents=True)
    (folder / "tables").mkdir()
    (folder / "summary.md").write_text(
        "# You said\n\n1,234 responses (95% CI 0.42-0.48) in 2023-2024; section 12 of the Act.\n"
        "> “Keep the reserve” — A participant\n> “[NAME] said no, call [PHONE]” — Pacific Tech Trust\n"
        "Published 12 May 2024. See https://www.mfat.govt.nz/en/trade/ and Te Tiriti o Waitangi.\n",
        encoding="utf-8")
    svg = _chart_svg("Responses 2024")
    (folder / "charts" / "figure.svg").write_text(svg, encoding="utf-8")
    (folder / "charts" / "figure.alt.txt").write_text("Bar chart: 1,234 support, 4,444 oppose.\n", encoding="utf-8")
    (folder / "charts" / "figure.png").write_bytes(_png({"Software": "matplotlib"}))
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    (folder / "summary.html").write_text(
        "<html><head><style>body { font-family: \"DejaVu Sans\", sans-serif; }</style></head><body>\n"
        "<h1>Results</h1><p>Version 3.2.1, $1,250,000, Grace Period ends 2024-06-30.</p>\n"
        f'<figure><img src="{uri}" alt="Bar chart of positions"><figcaption>Positions</figcaption></figure>\n'
        '<a href="https://www.stats.govt.nz/">Stats NZ</a></body></html>\n', encoding="utf-8")
    (folder / "embedded.html").write_text(f'<p>Chart</p><img src="{uri}" alt="chart">\n', encoding="utf-8")
    (folder / "tables" / "t.csv").write_text("question_id,category,n,share\nq1,support,1234,0.2173\n",
                                             encoding="utf-8")
    (folder / "data.json").write_text(json.dumps({"n": 1234, "quote": "[NAME] said no"}), encoding="utf-8")
    wb = openpyxl.Workbook()
    wb.active.title = "counts"
    wb.active.append(["question", "category", "n", "share"])
    wb.active.append(["q1", "support", 1234, 0.138889])
    wb.save(folder / "tables.xlsx")


def _plant(folder: Path, container: str, value: str) -> str:
    """Write ``value`` into one file of a clean report; return the location the guard should name (the line of
    the value's last line: a signature's name follows its closing line)."""
    path = folder / container
    extra = value.count("\n")
    if container == "summary.md":
        before = path.read_text(encoding="utf-8").count("\n")
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"\n{value}\n")
        return str(before + 2 + extra)
    if container == "summary.html":
        html = path.read_text(encoding="utf-8").replace("<h1>Results</h1>", f"<h1>Results</h1><p>{value}</p>")
        path.write_text(html, encoding="utf-8")
        return str(2 + extra)
    if container == "embedded.html":  # inside the SVG of a data: URI
        svg = _chart_svg("Responses").replace("</svg>", f"<desc>{value}</desc></svg>")
        uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
        path.write_text(f'<p>Chart</p><img src="{uri}" alt="chart">\n', encoding="utf-8")
        return f"1[data:image/svg+xml]:{svg[:svg.index('<desc>')].count(chr(10)) + 1 + extra}"
    if container == "tables.xlsx":
        wb = openpyxl.load_workbook(path)
        wb["counts"]["B5"] = f"note: {value}"
        wb.save(path)
        return "counts!B5"
    if container == "charts/figure.png":
        path.write_bytes(_png({"Software": "matplotlib", "Author": value}))
        return _chunk_type(value)
    with path.open("a", encoding="utf-8") as fh:  # csv: a quoted cell
        fh.write(f'q9,"{value}",1,0.1\n')
    return str(3 + extra)


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    _clean_report(folder)
    return folder


# --- tests -------------------------------------------------------------------------------------------


def test_a_clean_report_of_every_format_passes(clean, caplog):
    with caplog.at_level("WARNING", logger="analysis.redaction.guard"):
        guard(clean)
    assert "charts/figure.png" in caplog.text  # accepted PNGs are listed: their pixels were not read


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_identifier_family_is_caught_in_every_format(clean, family, container):
    value = FAMILIES[family]
    where = _plant(clean, container, value)
    with pytest.raises(PublicationGuardError) as exc:
        guard(clean)
    kind = KIND_OF.get(family, family)
    assert (container, where, kind) in exc.value.findings, exc.value.findings
    assert isinstance(exc.value, AnalysisError)
    assert value.splitlines()[-1] not in str(exc.value)  # the error never repeats the identifier


def test_real_statements_without_personal_information_are_not_flagged():
    """600 real Pol.is and ArgKP statements chosen for their look-alikes (digits, capitalised pairs, @, URLs):
    measured, the only findings are two real people's names ("Bill Mitchell's Modern Monetary Theory", the
    "Graves Gilbert" clinic); ordinary words, numbers and links are never flagged."""
    fixtures = ROOT / "tests" / "fixtures" / "pii"
    texts = (pd.read_csv(fixtures / "polis_statements.csv")["comment-body"].astype(str).tolist()
             + pd.read_csv(fixtures / "argkp_arguments.csv")["argument"].astype(str).tolist())
    flagged = {t: [(t[a:b], k) for a, b, k in scan_text(t)] for t in texts}
    flagged = {t: f for t, f in flagged.items() if f}
    assert len(texts) == 600
    assert len(flagged) <= 3, flagged
    assert all(k == "NAME" for f in flagged.values() for _v, k in f), flagged


def test_redaction_tokens_and_report_numbers_are_not_findings():
    text = ("[NAME] ([EMAIL], [PHONE]) lives at [ADDRESS]. 29,188 votes; 18,942 agree; 95% CI 0.42-0.48; "
            "2019-09-22T04:32:00; v3.2.1; 0.138889; 0.0877598; ISBN 978-0-306-40615-7; Article 15 CA 90210.")
    assert scan_text(text) == []


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("notes.bin", b"\x00\x01binary", "unknown file type '.bin'"),
        ("README", b"plain", "unknown file type '(no suffix)'"),
        ("photo.jpg", b"\xff\xd8\xff\xe0", "unknown file type '.jpg'"),
        ("broken.svg", b"<svg><text>unclosed</svg>", "not well-formed XML"),
        ("latin1.md", "Café Aroha".encode("latin-1"), "not UTF-8"),
        ("data.json", b'{"n": 1,', "not valid JSON"),
        ("corrupt.png", b"\x89PNG\r\n\x1a\nnot chunks", "truncated PNG chunk"),
        ("alone.png", None, "no sibling SVG or alt text"),
        ("exif.png", "exif", "PNG chunk 'eXIf' cannot be scanned"),
        ("bad-uri.html", b'<img src="data:image/svg+xml;base64,@@@@" alt="x">', "not valid base64"),
        ("pixels.html", b'<img src="data:image/png;base64,' + base64.b64encode(_png()) + b'">',
         "embedded PNG without alt text"),
        ("bomb.svg", b'<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>', "entity declarations are not allowed"),
    ],
)
def test_a_file_the_guard_cannot_read_fails_it(clean, name, content, reason):
    if content is None:
        content = _png()
    elif content == "exif":
        content = _png(extra=struct.pack(">I", 4) + b"eXIf" + b"MM\x00*" + struct.pack(">I", zlib.crc32(b"eXIfMM\x00*")))
    (clean / name).write_bytes(content)
    with pytest.raises(PublicationGuardError) as exc:
        guard(clean)
    assert not exc.value.findings
    assert [m for m in exc.value.unreadable if m.startswith(f"could not scan {name}: ") and reason in m], \
        exc.value.unreadable


def test_a_workbook_with_an_embedded_image_fails_and_its_comments_and_properties_are_scanned(clean):
    wb = openpyxl.load_workbook(clean / "tables.xlsx")
    wb.active["A9"].comment = openpyxl.comments.Comment("ring 021 555 0143", "analyst")
    wb.properties.creator = "Aroha Ngata"
    wb.create_sheet("Mia Williams")
    wb.save(clean / "tables.xlsx")
    findings, unreadable, _ = scan_reports(clean)
    kinds = {(f, k) for f, _w, k in findings}
    assert ("tables.xlsx", "PHONE") in kinds and ("tables.xlsx", "NAME") in kinds
    wheres = {w for f, w, k in findings if f == "tables.xlsx"}
    assert any(w.startswith("docProps/core.xml") for w in wheres)  # the author property
    assert any(w.startswith("xl/workbook.xml") for w in wheres)  # the sheet name
    assert not unreadable
    import zipfile

    with zipfile.ZipFile(clean / "tables.xlsx", "a") as zf:
        zf.writestr("xl/media/image1.png", _png())
    _findings, unreadable, _ = scan_reports(clean)
    assert any("xl/media/image1.png" in m for m in unreadable)


def _responses(folder: Path, consent_column: str) -> Path:
    rows = [("r1", "Mia Williams", "mia.w@example.org", "Kiwi Open Source Group", "publish_named"),
            ("r2", "Tama Harris", "", "Aotearoa Journalists Foundation", "publish_anonymous"),
            ("r3", "", "", "NZ Civil Liberties Forum", "do_not_publish"),
            ("r4", "", "", "ACT", "do_not_publish")]
    df = pd.DataFrame(rows, columns=["response_id", "respondent_name", "respondent_email", "organisation", "consent"])
    if consent_column == "publish_consent":
        df["publish_consent"] = df.pop("consent").eq("publish_named")
    folder.mkdir(parents=True, exist_ok=True)
    df.to_csv(folder / "core_responses.csv", index=False)
    return folder


@pytest.mark.parametrize("consent_column", ["consent", "publish_consent"])
def test_the_exact_check_finds_names_emails_and_non_consenting_organisations(clean, tmp_path, consent_column):
    processed = _responses(tmp_path / "processed", consent_column)
    with (clean / "summary.md").open("a", encoding="utf-8") as fh:
        fh.write("\n> “We support this” — Kiwi Open Source Group\n"  # consented to be named: allowed
                 "> “Protect sources” — aotearoa  journalists\nFOUNDATION\n"  # case and spaces ignored
                 "> “Keep rights” — NZ Civil Liberties Forum\n"
                 "Thanks to TAMA HARRIS. The ACT party (3 letters: ignored).\n"
                 "Mia Williams agreed.\n")
    lines = (clean / "summary.md").read_text(encoding="utf-8").splitlines()

    def line_of(fragment: str) -> str:
        return str(next(i for i, line in enumerate(lines, 1) if fragment in line))

    with pytest.raises(PublicationGuardError) as exc:
        guard(clean, processed)
    got = {(w, k) for f, w, k in exc.value.findings if k in ("ORGANISATION", "RESPONDENT_NAME")}
    assert got == {(line_of("aotearoa"), "ORGANISATION"), (line_of("NZ Civil"), "ORGANISATION"),
                   (line_of("TAMA"), "RESPONDENT_NAME"), (line_of("Mia Williams"), "RESPONDENT_NAME")}, got
    assert "Kiwi Open Source Group" not in str(exc.value)


def test_the_exact_check_fails_closed_without_a_readable_consent_column(clean, tmp_path):
    processed = tmp_path / "processed"
    processed.mkdir()
    pd.DataFrame({"response_id": ["r1"], "respondent_name": ["Mia Williams"]}).to_csv(
        processed / "core_responses.csv", index=False)
    with pytest.raises(PublicationGuardError, match="could not scan .*core_responses.csv: .*consent"):
        guard(clean, processed)
    with pytest.raises(PublicationGuardError, match="could not scan .*core_responses.parquet"):
        guard(clean, tmp_path / "missing")


def test_the_clean_record_skips_unchanged_files_and_never_passes_a_changed_or_unread_one(clean, tmp_path, caplog,
                                                                                       monkeypatch):
    guard_module = importlib.import_module("analysis.redaction.guard")  # the package attribute is the function
    processed = _responses(tmp_path / "processed", "consent")
    record = tmp_path / "cache" / "guard_clean.json"
    guard(clean, processed, cache_file=record)
    clean_files = json.loads(record.read_text())["clean"]
    assert set(clean_files) == {p.relative_to(clean).as_posix() for p in clean.rglob("*") if p.is_file()}
    read: list[str] = []
    real_read = guard_module._read
    monkeypatch.setattr(guard_module, "_read", lambda path, rel, sib: read.append(rel) or real_read(path, rel, sib))
    with caplog.at_level("WARNING", logger="analysis.redaction.guard"):
        guard(clean, processed, cache_file=record)  # nothing changed: nothing read
    assert read == [] and "charts/figure.png" in caplog.text  # accepted PNGs are still listed
    with (clean / "summary.md").open("a", encoding="utf-8") as fh:  # one file changes: only it is read
        fh.write("\nMia Williams agreed.\n")
    with pytest.raises(PublicationGuardError, match="RESPONDENT_NAME"):
        guard(clean, processed, cache_file=record)
    assert read == ["summary.md"]
    (clean / "summary.md").write_text("# Results\n", encoding="utf-8")
    guard(clean, processed, cache_file=record)
    (clean / "tables.xlsx").write_bytes(b"PK\x03\x04 not a workbook")  # a clean file replaced by an unreadable one
    with pytest.raises(PublicationGuardError, match="could not scan tables.xlsx"):
        guard(clean, processed, cache_file=record)
    # the record is tied to the respondent values: a new name in core_responses re-reads every file
    (clean / "tables.xlsx").unlink()
    guard(clean, processed, cache_file=record)
    read.clear()
    df = pd.read_csv(processed / "core_responses.csv", dtype=str, keep_default_na=False)
    df.loc[0, "respondent_name"] = "Results Person"
    df.to_csv(processed / "core_responses.csv", index=False)
    guard(clean, processed, cache_file=record)
    assert sorted(read) == sorted(clean_files.keys() - {"tables.xlsx"})


def test_the_cli_guard_command_exits_1_and_names_the_file(clean, tmp_path):
    _plant(clean, "summary.md", FAMILIES["EMAIL"])
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-m", "analysis", "guard", str(clean)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 1
    assert "summary.md:" in proc.stderr and ": EMAIL" in proc.stderr and FAMILIES["EMAIL"] not in proc.stderr


def test_every_planted_identifier_of_the_pii_corpus_is_caught(tmp_path):
    """Each document of the planted-identifier corpus, unredacted, in its own report file: every planted
    identifier must be found on its own line(s). Misses are reported per identifier type."""
    from pii_corpus import build_corpus

    corpus = build_corpus()
    reports = tmp_path / "reports"
    reports.mkdir()
    for i, doc in enumerate(corpus.docs):
        (reports / f"doc{i:03d}.md").write_text(doc, encoding="utf-8")
    findings, unreadable, _ = scan_reports(reports)
    assert not unreadable
    lines_hit = defaultdict(set)
    for file, where, _kind in findings:
        lines_hit[file].add(int(where))
    misses, totals = defaultdict(list), Counter()
    for item in corpus.planted:
        doc = corpus.docs[item.doc]
        first = doc[:doc.index(item.value)].count("\n") + 1
        lines = set(range(first, first + item.value.count("\n") + 1))
        totals[item.type] += 1
        if not lines & lines_hit[f"doc{item.doc:03d}.md"]:
            misses[item.type].append(item.value)
    report = {t: f"{len(misses[t])}/{totals[t]} missed {misses[t][:3]}" for t in sorted(misses)}
    assert not misses, report
    assert len(totals) >= 15 and sum(totals.values()) > 700  # the corpus plants every family


def test_a_real_pipeline_report_passes(polis_run):
    reports, processed = polis_run
    guard(reports, processed)  # the real report of the bundled Pol.is consultation: nothing personal


@pytest.fixture(scope="module")
def polis_run(tmp_path_factory) -> tuple[Path, Path]:
    """The real pipeline on data/raw/polis-nz-biodiversity, into temporary folders."""
    work = tmp_path_factory.mktemp("polis")
    env = {**os.environ, "ANALYSIS_DATA_PROCESSED": str(work / "processed"), "ANALYSIS_REPORTS": str(work / "reports"),
           "MPLBACKEND": "Agg", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    code = "from analysis import pipeline; pipeline.run('polis-nz-biodiversity')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]  # the pipeline runs the guard itself, with processed
    return work / "reports" / "polis-nz-biodiversity", work / "processed" / "polis-nz-biodiversity"
