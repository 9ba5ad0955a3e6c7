"""Generate the hostile-input suite: broken, strange and malicious exports, documents and configs.

``generate(root)`` writes one consultation folder per case under ``root`` (``consultation.yml`` plus its
inputs) and returns the :class:`Case` list saying what ingest must do with each: read it (and account for every
row and every text) or stop with a clear error naming the file (and the row or line). Nothing here is stored in
the repository; the test writes the cases into a temporary folder. Run it by hand to look at them::

    python tests/hostile/generate.py /tmp/hostile

Families: separators x byte-order marks x multi-line headers x line ends; text encodings; forced separators
and encodings; implausible parses; workbooks (merged cells, formulas without saved values, error values, a
stray cell at XFD1048576, long blank runs, corrupt packages, an entity bomb); dates that are not dates; folder
documents (PDF decompression bombs, encrypted / truncated / looping PDFs, e-mails with unknown or wrong
charsets, KOI8-R attachments, broken DOCX, a FIFO, a symbolic link, a file name that is not UTF-8); configs
(duplicate keys, Latin-1, UTF-16, not a mapping); rows (attachment only, totals, duplicates, huge cells,
thousands of columns).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

QUESTIONS = [
    {"id": "q1", "text": "Do you support the proposal?", "kind": "closed",
     "choices": {"Yes": "support", "No": "oppose", "Not sure": "unsure"}},
    {"id": "q2", "text": "Why?", "kind": "open"},
]
#: Open answers with every character that trips parsers: separators, quotes, new lines, non-ASCII.
TEXTS = [
    'It would cut traffic, noise; and "fumes" | in the centre.',
    "Too expensive for families\nwho already struggle – we can’t afford it.",
    "Kia ora, he pai tēnei kaupapa mō te iwi katoa.",
    "Buses first, then charges;\tplease.",
    "Café owners in Ōtaki oppose it (see: survey, 2023).",
    "No opinion, but the consultation was too short.",
]
HEADER = ["Response ID", "Submitted on", "Do you support the proposal?", "Why?"]


@dataclass
class Case:
    """One hostile input and what ingest must make of it.

    Attributes:
        name: Folder name (also the test id).
        error: Ingest must stop with an ``AnalysisError`` whose message holds these substrings (the file or
            config name first); empty: it must succeed.
        rows: Data rows the ledger must count (``None``: not checked).
        kept: Responses that must be kept (``None``: not checked).
        texts: Strings that must be found in an answer or in a reject's ``raw`` (nothing lost).
        absent: Strings no answer may contain (``#DIV/0!``, ``\\ufffd`` ...).
        reasons: Substrings that must appear among the rejects' reasons.
        files: Ledger rows the case must produce (folder sources: one per entry).
        covered: Every data row number ``2..covered`` must be a kept response or a reject.
        budget: Seconds the ingest may take.
        answers: ``(source row, question id)`` -> the answer that row must have.
        dates: ``source row`` -> its ``submitted_at`` (ISO text), or ``None`` for "left empty".
    """

    name: str
    error: list[str] = field(default_factory=list)
    rows: int | None = None
    kept: int | None = None
    texts: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    files: int | None = None
    covered: int | None = None
    budget: float = 30.0
    answers: dict[tuple[int, str], str] = field(default_factory=dict)
    dates: dict[int, str | None] = field(default_factory=dict)


# --- writers ----------------------------------------------------------------------------------------
def _config(folder: Path, source: dict, questions: list[dict] | None = None) -> None:
    data = {"id": folder.name, "title": "Hostile", "sources": [source], "questions": questions or QUESTIONS,
            "settings": {"language_detection": False}}
    (folder / "consultation.yml").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def _tab_source(file: str, **extra: object) -> dict:
    return {"file": file, "format": "generic", "id_column": "Response ID", "submitted_at_column": "Submitted on",
            "columns": {"q1": "Do you support the proposal?", "q2": "Why?"}, **extra}


def _rows(n: int = 6) -> list[list[str]]:
    return [[f"R{i}", f"0{1 + i % 9}/03/2024 10:0{i % 10}", ["Yes", "No", "Not sure"][i % 3], TEXTS[i % len(TEXTS)]]
            for i in range(n)]


def _csv_text(rows: list[list[str]], delimiter: str = ",", newline: str = "\r\n") -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator=newline, quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return buf.getvalue()


def _case_dir(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    return folder


_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>"),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        '<sheet name="Responses" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
        "</Relationships>"),
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs></styleSheet>'),
}


def _col(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _cell(ref: str, value: object) -> str:
    """One ``<c>``: a str is an inline string, a number a number, a dict raw XML pieces (``f``, ``v``, ``t``)."""
    if isinstance(value, dict):
        t = f' t="{value["t"]}"' if "t" in value else ""
        f = f"<f>{escape(value['f'])}</f>" if "f" in value else ""
        v = f"<v>{escape(value['v'])}</v>" if "v" in value else ""
        return f'<c r="{ref}"{t}>{f}{v}</c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>'


def write_xlsx(path: Path, rows: dict[int, dict[int, object]], merges: list[str] = (), dimension: str | None = None,
               sheet_xml: str | None = None) -> None:
    """A minimal workbook written by hand, so its XML can hold what Excel writes (and what it should not)."""
    body = "".join(f'<row r="{r}">' + "".join(_cell(f"{_col(c)}{r}", v) for c, v in sorted(cells.items())) + "</row>"
                   for r, cells in sorted(rows.items()))
    merge = (f'<mergeCells count="{len(merges)}">' + "".join(f'<mergeCell ref="{m}"/>' for m in merges)
             + "</mergeCells>") if merges else ""
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    xml = sheet_xml or ('<?xml version="1.0" encoding="UTF-8"?><worksheet '
                        'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                        f"{dim}<sheetData>{body}</sheetData>{merge}</worksheet>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in _XLSX_PARTS.items():
            zf.writestr(name, text)
        zf.writestr("xl/worksheets/sheet1.xml", xml)


def _grid_rows(rows: list[list[object]]) -> dict[int, dict[int, object]]:
    return {r: {c: v for c, v in enumerate(cells, start=1) if v not in ("", None)}
            for r, cells in enumerate(rows, start=1)}


def pdf_bytes(content: bytes, compress: bool = True, pages_obj: bytes | None = None) -> bytes:
    """A one-page PDF whose page content stream is ``content`` (Flate-compressed by default)."""
    stream = zlib.compress(content, 9) if compress else content
    filt = b" /Filter /FlateDecode" if compress else b""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", pages_obj or b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d%s >>\nstream\n" % (len(stream), filt) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + o + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for o in offsets:
        out.write(b"%010d 00000 n \n" % o)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref))
    return out.getvalue()


def _pdf_text_op(text: str) -> bytes:
    return b"BT /F1 12 Tf 72 712 Td (" + text.encode("latin-1") + b") Tj ET"


def docx_bytes(text: str) -> bytes:
    """A minimal .docx holding one paragraph."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
            "</Types>"))
        zf.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
            "</Relationships>"))
        zf.writestr("word/document.xml", (
            '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f"<w:body><w:p><w:r><w:t>{escape(text)}</w:t></w:r></w:p></w:body></w:document>"))
    return buf.getvalue()


def eml_bytes(body: bytes | str, charset: str | None = "utf-8", attachments: list[tuple[str, bytes, str]] = (),
              headers: dict[str, str] | None = None) -> bytes:
    """An e-mail whose body bytes are written as given under the declared ``charset`` (possibly a lie)."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    head = {"From": "Hera Ngata <hera@example.org>", "To": "consult@example.govt.nz", "Subject": "Submission",
            "Date": "Tue, 12 Mar 2024 14:05:00 +1300", "MIME-Version": "1.0", **(headers or {})}
    boundary = "XYZ-boundary-42"
    ctype = f"text/plain; charset={charset}" if charset else "text/plain"
    lines = [f"{k}: {v}" for k, v in head.items()]
    if not attachments:
        out = "\r\n".join(lines + [f"Content-Type: {ctype}", "Content-Transfer-Encoding: 8bit", "", ""]).encode()
        return out + raw + b"\r\n"
    out = "\r\n".join(lines + [f'Content-Type: multipart/mixed; boundary="{boundary}"', "", f"--{boundary}",
                               f"Content-Type: {ctype}", "Content-Transfer-Encoding: 8bit", "", ""]).encode() + raw
    for name, data, att_type in attachments:
        import base64  # noqa: PLC0415

        out += (f"\r\n--{boundary}\r\nContent-Type: {att_type}; name=\"{name}\"\r\n"
                f"Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                ).encode() + base64.encodebytes(data)
    return out + f"\r\n--{boundary}--\r\n".encode()


# --- families ---------------------------------------------------------------------------------------
Family = Callable[[Path], list[Case]]


def dialects(root: Path) -> list[Case]:
    """Every separator x byte-order mark x multi-line header x line end (32 cases)."""
    cases = []
    long_header = ("Why?\n\n(Please explain your answer:\nuse as many lines, commas, and; separators | as you like)")
    for dname, delim in [("comma", ","), ("semicolon", ";"), ("tab", "\t"), ("pipe", "|")]:
        for bom in (False, True):
            for multiline in (False, True):
                for crlf in (True, False):
                    name = f"dialect-{dname}{'-bom' if bom else ''}{'-multiline' if multiline else ''}-{'crlf' if crlf else 'lf'}"
                    folder = _case_dir(root, name)
                    header = HEADER[:3] + [long_header if multiline else HEADER[3]]
                    text = _csv_text([header, *_rows()], delim, "\r\n" if crlf else "\n")
                    data = (codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8")
                    (folder / "export.csv").write_bytes(data)
                    _config(folder, _tab_source("export.csv", columns={"q1": header[2], "q2": header[3]}))
                    cases.append(Case(name, rows=6, kept=6, texts=TEXTS, covered=7))
    # the EU "Have your say" shape: a header cell spanning 60 physical lines, more than any line-based sniffer reads
    folder = _case_dir(root, "dialect-semicolon-bom-header-60-lines")
    header = HEADER[:3] + ["Why, in your own words, do you say that?\n"
                           + "\n".join(f"Guidance line {k}, with commas, and more commas." for k in range(59))]
    text = _csv_text([header, *_rows()], ";")
    (folder / "export.csv").write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    _config(folder, _tab_source("export.csv", columns={"q1": header[2], "q2": header[3]}))
    cases.append(Case("dialect-semicolon-bom-header-60-lines", rows=6, kept=6, texts=TEXTS, covered=7))
    return cases


def encodings(root: Path) -> list[Case]:
    """UTF-16/32 with and without byte-order marks, Windows-1252, Latin-1, KOI8-R, mixed lines."""
    western = ["Café owners can’t afford it – really", "Ça coûte trop cher", "Prix déjà élevés", "Größere Busse",
               "Señor, ñandú", "Naïve résumé"]
    russian = ["Привет, я не согласен с этим предложением", "Это слишком дорого для семей",
               "Автобусы важнее платы", "Нужно больше времени", "Спасибо за консультацию", "Город станет чище"]
    specs = [("utf16-bom", "utf-16", TEXTS, "\t"), ("utf16le-nobom", "utf-16-le", TEXTS, "\t"),
             ("utf16be-bom", "utf-16-be-bom", TEXTS, ","), ("utf32-bom", "utf-32", TEXTS, ","),
             ("cp1252", "cp1252", western, ","), ("latin1", "latin-1", western[1:] + ["Zoë ÿ"], ";"),
             ("koi8r", "koi8-r", russian, ","), ("cp1251", "cp1251", russian, ";")]
    cases = []
    for name, enc, texts, delim in specs:
        folder = _case_dir(root, f"encoding-{name}")
        rows = [HEADER] + [[f"R{i}", "01/03/2024", "Yes", t] for i, t in enumerate(texts)]
        text = _csv_text(rows, delim)
        data = codecs.BOM_UTF16_BE + text.encode("utf-16-be") if enc == "utf-16-be-bom" else text.encode(enc)
        (folder / "export.csv").write_bytes(data)
        _config(folder, _tab_source("export.csv"))
        cases.append(Case(f"encoding-{name}", rows=len(texts), kept=len(texts), texts=texts, absent=["\ufffd"]))
    folder = _case_dir(root, "encoding-mixed-lines")
    good = _csv_text([HEADER, ["R1", "01/03/2024", "Yes", "Tēnā koutou – I support this"]]).encode("utf-8")
    bad = _csv_text([["R2", "02/03/2024", "No", "Café owners can’t afford fines"]]).encode("cp1252")
    (folder / "export.csv").write_bytes(good + bad)
    _config(folder, _tab_source("export.csv"))
    cases.append(Case("encoding-mixed-lines", rows=2, kept=2, absent=["\ufffd"],
                      texts=["Tēnā koutou – I support this", "Café owners can’t afford fines"]))
    return cases


def forced(root: Path) -> list[Case]:
    """A separator or encoding set in the config that does not fit the file."""
    cases = []
    folder = _case_dir(root, "forced-wrong-delimiter")
    (folder / "export.csv").write_text(_csv_text([HEADER, *_rows()], ";"), encoding="utf-8")
    _config(folder, _tab_source("export.csv", delimiter=","))
    cases.append(Case("forced-wrong-delimiter", error=["export.csv"]))
    folder = _case_dir(root, "forced-wrong-encoding")
    (folder / "export.csv").write_bytes(_csv_text([HEADER, *_rows()]).encode("utf-16"))
    _config(folder, _tab_source("export.csv", encoding="utf-8"))
    cases.append(Case("forced-wrong-encoding", error=["export.csv", "cannot decode"]))
    folder = _case_dir(root, "forced-unknown-encoding")
    (folder / "export.csv").write_text(_csv_text([HEADER, *_rows()]), encoding="utf-8")
    _config(folder, _tab_source("export.csv", encoding="klingon-8"))
    cases.append(Case("forced-unknown-encoding", error=["consultation.yml", "unknown encoding 'klingon-8'"]))
    folder = _case_dir(root, "forced-comma-on-semicolon-multiline-header")
    header = HEADER[:3] + ["Why?\n(one line, then another)"]
    (folder / "export.csv").write_text(_csv_text([header, *_rows()], ";"), encoding="utf-8")
    _config(folder, _tab_source("export.csv", delimiter=",", columns={"q1": header[2], "q2": header[3]}))
    cases.append(Case("forced-comma-on-semicolon-multiline-header", error=["export.csv", "row 1",
                                                                            "the separator is probably ';'"]))
    folder = _case_dir(root, "forced-tab-by-name")
    (folder / "export.csv").write_text(_csv_text([HEADER, *_rows()], "\t"), encoding="utf-8")
    _config(folder, _tab_source("export.csv", delimiter="tab"))
    cases.append(Case("forced-tab-by-name", rows=6, kept=6, texts=TEXTS))
    return cases


def implausible(root: Path) -> list[Case]:
    """Parses that would silently produce garbage: they must stop with a clear error."""
    cases = []
    folder = _case_dir(root, "implausible-ragged-majority")
    rows = [HEADER] + [[f"R{i}", "01/03/2024", "Yes", "one", "two", "three"] for i in range(8)]
    (folder / "export.csv").write_text(_csv_text(rows), encoding="utf-8")
    _config(folder, _tab_source("export.csv"))
    cases.append(Case("implausible-ragged-majority", error=["export.csv", "delimiter"]))
    folder = _case_dir(root, "implausible-prose")
    prose = "\n".join(f"Paragraph {i}: we think, on balance, that the plan; is fine | mostly, but {i}." *
                      (1 + i % 3) for i in range(40))
    (folder / "export.csv").write_text(prose, encoding="utf-8")
    _config(folder, _tab_source("export.csv"))
    cases.append(Case("implausible-prose", error=["export.csv"]))
    folder = _case_dir(root, "implausible-unterminated-quote")
    text = _csv_text([HEADER, *_rows(3)]) + 'R9,01/03/2024,Yes,"this quote never ends\nR10,02/03/2024,No,fine\n'
    (folder / "export.csv").write_text(text, encoding="utf-8")
    _config(folder, _tab_source("export.csv"))
    cases.append(Case("implausible-unterminated-quote", error=["export.csv", "row 5", "never closed"]))
    return cases


def _xlsx_case(root: Path, name: str, rows: list[list[object]], case: Case, source: dict | None = None,
               **kw: object) -> Case:
    folder = _case_dir(root, name)
    grid = _grid_rows(rows) if isinstance(rows, list) else rows
    write_xlsx(folder / "export.xlsx", grid, **kw)
    _config(folder, _tab_source("export.xlsx", **(source or {})))
    case.name = name
    return case


def workbooks(root: Path) -> list[Case]:
    """Hand-written .xlsx packages: what Excel writes, and what it should not."""
    base = [HEADER, *_rows()]
    c = []
    c.append(_xlsx_case(root, "xlsx-plain", base, Case("", rows=6, kept=6, texts=TEXTS, covered=7)))
    merged = [HEADER] + [[f"R{i}", "01/03/2024", "Yes" if i == 0 else "", TEXTS[i]] for i in range(6)]
    c.append(_xlsx_case(root, "xlsx-merged-vertical-answer", merged,
                        Case("", rows=6, kept=6, answers={(2, "q1"): "Yes", (3, "q1"): "Yes", (4, "q1"): "Yes",
                                                           (5, "q2"): TEXTS[3]}), merges=["C2:C4"]))
    wide = [HEADER[:3] + ["Why?", ""]] + [r + [""] for r in _rows()]
    c.append(_xlsx_case(root, "xlsx-merged-header", wide, Case("", rows=6, kept=6, texts=TEXTS), merges=["D1:E1"]))
    formula = [list(r) for r in base]
    formula[2][3] = {"f": "CONCATENATE(A1,B1)"}
    c.append(_xlsx_case(root, "xlsx-formula-no-value-in-question", formula,
                        Case("", rows=6, kept=5, reasons=["formula without a saved value (=CONCATENATE(A1,B1))"],
                             covered=7)))
    unused = [HEADER + ["Score"]] + [r + [{"f": f"LEN(D{k + 2})"}] for k, r in enumerate(_rows())]
    c.append(_xlsx_case(root, "xlsx-formula-no-value-unused-column", unused, Case("", rows=6, kept=6, texts=TEXTS)))
    error = [list(r) for r in base]
    error[3][3] = {"t": "e", "f": "1/0", "v": "#DIV/0!"}
    c.append(_xlsx_case(root, "xlsx-error-value-in-question", error,
                        Case("", rows=6, kept=5, reasons=["Excel error value #DIV/0!"], absent=["#DIV/0!"])))
    na = [HEADER + ["Lookup"]] + [r + [{"t": "e", "f": "VLOOKUP(A2,X:Y,2,0)", "v": "#N/A"}] for r in _rows()]
    c.append(_xlsx_case(root, "xlsx-error-value-unused-column", na, Case("", rows=6, kept=6, absent=["#N/A"])))
    cached = [list(r) for r in base]
    cached[1][3] = {"t": "str", "f": "\"Computed \"&\"text\"", "v": "Computed text"}
    c.append(_xlsx_case(root, "xlsx-formula-with-saved-value", cached,
                        Case("", rows=6, kept=6, answers={(2, "q2"): "Computed text"})))
    far = _grid_rows(base)
    far[1048576] = {16384: "stray"}
    c.append(_xlsx_case(root, "xlsx-stray-cell-XFD1048576", far,
                        Case("", rows=1048575, kept=6, reasons=["blank rows 8-1048575", "ragged row"], budget=15,
                             texts=["stray"]), dimension="A1:XFD1048576"))
    far_empty = _grid_rows(base)
    far_empty[1048576] = {16384: {}}
    c.append(_xlsx_case(root, "xlsx-stray-empty-cell-XFD1048576", far_empty,
                        Case("", rows=6, kept=6, budget=15), dimension="A1:XFD1048576"))
    c.append(_xlsx_case(root, "xlsx-wrong-dimension", base, Case("", rows=6, kept=6, texts=TEXTS), dimension="A1:B2"))
    gap = _grid_rows(base[:4])
    gap |= {r + 10: cells for r, cells in _grid_rows(base).items() if r >= 5}
    c.append(_xlsx_case(root, "xlsx-blank-rows-10", gap, Case("", rows=16, kept=6, reasons=["blank row"], covered=17)))
    gap = _grid_rows(base[:4])
    gap |= {r + 500: cells for r, cells in _grid_rows(base).items() if r >= 5}
    c.append(_xlsx_case(root, "xlsx-blank-rows-500", gap, Case("", rows=506, kept=6, reasons=["blank rows 5-504"],
                                                                covered=507)))
    typed = [HEADER] + [[f"R{i}", 45352.5 + i, "Yes", v] for i, v in
                        enumerate([42, 3.25, {"t": "b", "v": "1"}, "plain", -7, 0.5])]
    c.append(_xlsx_case(root, "xlsx-numbers-and-booleans", typed,
                        Case("", rows=6, kept=6, answers={(2, "q2"): "42", (3, "q2"): "3.25", (4, "q2"): "TRUE"},
                             dates={2: "2024-03-01T12:00:00"})))
    c.append(_xlsx_case(root, "xlsx-missing-sheet", base, Case("", error=["export.xlsx", "sheet 'Nope' not found"]),
                        source={"sheet": "Nope"}))
    c.append(_xlsx_case(root, "xlsx-header-only", [HEADER], Case("", rows=0, kept=0)))
    c.append(_xlsx_case(root, "xlsx-empty-sheet", [], Case("", error=["export.xlsx", "no header row"])))
    bad_xml = "<worksheet><sheetData><row r='1'><c r='A1' t='inlineStr'><is><t>x</t></is></c></row><row"
    c.append(_xlsx_case(root, "xlsx-broken-sheet-xml", [], Case("", error=["export.xlsx", "corrupt"]),
                        sheet_xml=bad_xml))
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lololololololololol">'
            + "".join(f'<!ENTITY lol{k} "{("&lol" + (str(k - 1) if k > 1 else "") + ";") * 10}">' for k in range(1, 10))
            + ']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>')
    c.append(_xlsx_case(root, "xlsx-entity-bomb", [], Case("", error=["export.xlsx"], budget=15), sheet_xml=bomb))
    for name, data, words in [("xlsx-not-a-zip", b"PK\x03\x04" + bytes(range(256)) * 2, "not a readable .xlsx"),
                              ("xlsx-ole2-encrypted", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "password"),
                              ("xlsx-zero-bytes", b"", "empty")]:
        folder = _case_dir(root, name)
        (folder / "export.xlsx").write_bytes(data)
        _config(folder, _tab_source("export.xlsx"))
        c.append(Case(name, error=["export.xlsx", words]))
    folder = _case_dir(root, "xlsx-truncated")
    write_xlsx(folder / "full.xlsx", _grid_rows(base))
    (folder / "export.xlsx").write_bytes((folder / "full.xlsx").read_bytes()[:700])
    (folder / "full.xlsx").unlink()
    _config(folder, _tab_source("export.xlsx"))
    c.append(Case("xlsx-truncated", error=["export.xlsx"]))
    folder = _case_dir(root, "xlsx-no-workbook-part")
    with zipfile.ZipFile(folder / "export.xlsx", "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    _config(folder, _tab_source("export.xlsx"))
    c.append(Case("xlsx-no-workbook-part", error=["export.xlsx", "corrupt"]))
    return c


#: (value, expected submitted_at or None): dates must name a day, a month and a year; nothing depends on today.
DATE_VALUES = [("60", None), ("10:30", None), ("2024", None), ("March 2024", None), ("31/02/2024", None),
               ("1e5", None), ("99999", None), ("00/00/0000", None), ("Monday", None), ("2024-13-45", None),
               ("tomorrow", None), ("12.5", None), ("1/2", None), ("-1", None),
               ("3 February 2021", "2021-02-03T00:00:00"), ("2024-03-01T10:00:00+13:00", "2024-02-29T21:00:00"),
               ("45352.5", "2024-03-01T12:00:00")]


def dates(root: Path) -> list[Case]:
    """One export per suspicious date value: kept, with a warning and no date when it is not a full date."""
    cases = []
    for k, (value, expected) in enumerate(DATE_VALUES):
        name = f"date-{k:02d}-{''.join(ch if ch.isalnum() else '_' for ch in value)[:20]}"
        folder = _case_dir(root, name)
        rows = [HEADER, ["R1", value, "Yes", TEXTS[0]], ["R2", "01/03/2024 10:00", "No", TEXTS[1]]]
        (folder / "export.csv").write_text(_csv_text(rows), encoding="utf-8")
        _config(folder, _tab_source("export.csv"))
        cases.append(Case(name, rows=2, kept=2, dates={2: expected, 3: "2024-03-01T10:00:00"},
                          reasons=[] if expected else [f"unparseable date {value!r}"]))
    return cases


def _folder_case(root: Path, name: str, files: dict[str, bytes], case: Case) -> Case:
    folder = _case_dir(root, name)
    docs = folder / "docs"
    docs.mkdir()
    for rel, data in files.items():
        path = docs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    _config(folder, {"file": "docs", "format": "folder", "question_id": "q2"})
    case.name = name
    case.files = case.files if case.files is not None else len(files)
    return case


def _encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter  # noqa: PLC0415 - a project dependency

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(_pdf_text_op("secret text")))))
    writer.encrypt("s3cret")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def documents(root: Path) -> list[Case]:
    """Folder sources: every file is a response or a reject with its reason; none stops the run."""
    good = _pdf_text_op("A readable letter about the plan")
    russian = "Привет, это мой отзыв о проекте. Я не согласен."
    specs: list[tuple[str, dict[str, bytes], Case]] = [
        ("pdf-readable", {"letter.pdf": pdf_bytes(good)}, Case("", kept=1, texts=["A readable letter about the plan"])),
        ("pdf-flate-40mb-zeros", {"bomb.pdf": pdf_bytes(b"0" * 40_000_000)}, Case("", kept=0, reasons=["no text"])),
        ("pdf-flate-80mb-limit", {"bomb.pdf": pdf_bytes(b" " * 80_000_000)},
         Case("", kept=0, reasons=["LimitReachedError"])),
        ("pdf-operator-bomb", {"ops.pdf": pdf_bytes(b"BT /F1 12 Tf " + b"(word) Tj " * 1_500_000 + b"ET")},
         Case("", kept=0, reasons=["content limit"], budget=20)),
        ("pdf-truncated", {"cut.pdf": pdf_bytes(good)[:300]}, Case("", kept=0)),
        ("pdf-garbage", {"junk.pdf": b"%PDF-1.7\n" + bytes(range(256)) * 8}, Case("", kept=0)),
        ("pdf-encrypted", {"locked.pdf": _encrypted_pdf()}, Case("", kept=0, reasons=["password-protected"])),
        ("pdf-looping-page-tree", {"loop.pdf": pdf_bytes(good, pages_obj=b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>")},
         Case("")),
        ("pdf-zero-bytes", {"empty.pdf": b""}, Case("", kept=0, reasons=["empty document"])),
        ("eml-unknown-charset", {"a.eml": eml_bytes("Tēnā koutou, I support the plan.", "x-unknown-charset")},
         Case("", kept=1, texts=["Tēnā koutou, I support the plan."], reasons=["unknown charset"], absent=["\ufffd"])),
        ("eml-utf8-label-cp1252-bytes", {"b.eml": eml_bytes("Café owners can’t afford it – really".encode("cp1252"))},
         Case("", kept=1, texts=["Café owners can’t afford it – really"], absent=["\ufffd"],
              reasons=["is not valid utf-8"])),
        ("eml-koi8r-attachment", {"c.eml": eml_bytes("See my attachment.", attachments=[
            ("отзыв.txt", russian.encode("koi8-r"), "text/plain; charset=koi8-r")])},
         Case("", kept=1, texts=[russian], absent=["\ufffd"])),
        ("eml-unknown-charset-attachment", {"d.eml": eml_bytes("Body text here.", attachments=[
            ("notes.txt", "Größere Busse, bitte.".encode(), "text/plain; charset=x-mystery")])},
         Case("", kept=1, texts=["Größere Busse, bitte."], reasons=["unknown charset"])),
        ("eml-pdf-bomb-attachment", {"e.eml": eml_bytes("Body survives the bomb.", attachments=[
            ("bomb.pdf", pdf_bytes(b" " * 80_000_000), "application/pdf")])},
         Case("", kept=1, texts=["Body survives the bomb."], reasons=["attachment 1 (.pdf) not read"])),
        ("eml-broken-base64", {"f.eml": eml_bytes("Body with a broken attachment.", attachments=[
            ("x.docx", b"!!!not base64!!!", "application/octet-stream")])},
         Case("", kept=1, texts=["Body with a broken attachment."])),
        ("eml-empty-body", {"g.eml": eml_bytes("", None)}, Case("", kept=0, reasons=["empty document"])),
        ("eml-bad-date", {"h.eml": eml_bytes("Dated nonsense.", headers={"Date": "the 32nd of Smarch"})},
         Case("", kept=1, reasons=["unparseable Date header"])),
        ("eml-huge-header", {"i.eml": eml_bytes("Short body.", headers={"Subject": "x" * 100_000})},
         Case("", kept=1, texts=["Short body."])),
        ("eml-unclosed-boundary", {"j.eml": eml_bytes("Body before a cut.", attachments=[
            ("n.txt", b"attached words", "text/plain")])[:-20]}, Case("", kept=1, texts=["Body before a cut."])),
        ("eml-no-from", {"k.eml": eml_bytes("Nobody sent this.", headers={"From": ""})},
         Case("", kept=1, texts=["Nobody sent this."])),
        ("eml-garbage", {"l.eml": bytes(range(256)) * 20}, Case("")),
        ("docx-readable", {"m.docx": docx_bytes("Word says hello")}, Case("", kept=1, texts=["Word says hello"])),
        ("docx-not-a-zip", {"n.docx": b"PK\x03\x04garbage" * 10}, Case("", kept=0, reasons=["corrupt or unreadable .docx"])),
        ("docx-no-document-part", {"o.docx": _zip({"hello.txt": b"x"})}, Case("", kept=0, reasons=[".docx"])),
        ("docx-broken-xml", {"p.docx": docx_bytes("ok").replace(b"word/document.xml", b"word/documenX.xml")},
         Case("", kept=0)),
        ("txt-png-named-txt", {"q.txt": b"\x89PNG\r\n\x1a\n" + bytes(64)}, Case("", kept=0, reasons=["not a text file"])),
        ("txt-utf16", {"r.txt": "Kia ora koutou katoa".encode("utf-16")}, Case("", kept=1, texts=["Kia ora koutou katoa"])),
        ("txt-koi8r", {"s.txt": russian.encode("koi8-r")}, Case("", kept=1, texts=[russian], absent=["\ufffd"])),
        ("txt-empty", {"t.txt": b""}, Case("", kept=0, reasons=["empty document"])),
        ("txt-whitespace", {"u.txt": b"  \n\t \r\n"}, Case("", kept=0, reasons=["empty document"])),
        ("txt-control-characters", {"v.txt": bytes(range(1, 9)) * 200}, Case("", kept=0, reasons=["not a text file"])),
        ("file-unsupported-doc", {"w.doc": b"\xd0\xcf\x11\xe0" + bytes(100)}, Case("", kept=0, reasons=["unsupported file type .doc"])),
        ("file-hidden", {".DS_Store": bytes(range(40))}, Case("", kept=0, reasons=["unsupported file type"])),
        ("file-nested-folders", {"a/b/c/deep.txt": b"Deep text here."}, Case("", kept=1, texts=["Deep text here."])),
        ("file-name-with-newline", {"two\nlines.txt": b"Newline name text."}, Case("", kept=1, texts=["Newline name text."])),
    ]
    cases = [_folder_case(root, name, files, case) for name, files, case in specs]
    folder = _case_dir(root, "file-name-not-utf8")
    (folder / "docs").mkdir()
    (folder / "docs" / "good.txt").write_bytes(b"A good letter.")
    with open(os.path.join(os.fsencode(folder / "docs"), b"caf\xe9 letter.txt"), "wb") as fh:
        fh.write(b"Latin-1 named letter.")
    _config(folder, {"file": "docs", "format": "folder", "question_id": "q2"})
    cases.append(Case("file-name-not-utf8", files=2, kept=2, texts=["Latin-1 named letter."],
                      reasons=["the file name is not valid UTF-8"]))
    folder = _case_dir(root, "file-fifo")
    (folder / "docs").mkdir()
    (folder / "docs" / "good.txt").write_bytes(b"A good letter.")
    os.mkfifo(folder / "docs" / "pipe.txt")
    _config(folder, {"file": "docs", "format": "folder", "question_id": "q2"})
    cases.append(Case("file-fifo", files=2, kept=1, reasons=["not a regular file"]))
    folder = _case_dir(root, "file-symlink-outside")
    (folder / "docs").mkdir()
    (folder / "docs" / "good.txt").write_bytes(b"A good letter.")
    os.symlink("/etc/hostname", folder / "docs" / "link.txt")
    _config(folder, {"file": "docs", "format": "folder", "question_id": "q2"})
    cases.append(Case("file-symlink-outside", files=2, kept=1, reasons=["symlink"]))
    folder = _case_dir(root, "file-source-is-fifo")
    os.mkfifo(folder / "export.csv")
    _config(folder, _tab_source("export.csv"))
    cases.append(Case("file-source-is-fifo", error=["export.csv", "not a file"]))
    return cases


def _zip(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buf.getvalue()


def configs(root: Path) -> list[Case]:
    """consultation.yml files that are not what they look like."""
    good_yaml = ("id: c\ntitle: T\nsources:\n  - file: export.csv\n    format: generic\n    id_column: Response ID\n"
                 "    columns:\n      q1: Do you support the proposal?\n      q2: Why?\nquestions:\n"
                 "  - id: q1\n    text: Support?\n    kind: closed\n    choices:\n      \"Yes\": support\n"
                 "      \"No\": oppose\n      \"Not sure\": unsure\n  - id: q2\n    text: Why?\n    kind: open\n")
    specs = [
        ("config-duplicate-top-key", good_yaml.replace("title: T\n", "title: T\nid: other\n").encode(),
         ["consultation.yml", "line 3", "duplicate key 'id'"]),
        ("config-duplicate-source-key", good_yaml.replace("    format: generic\n", "    format: generic\n    format: polis\n").encode(),
         ["consultation.yml", "line 6", "duplicate key 'format'"]),
        ("config-duplicate-choice", good_yaml.replace('      "No": oppose\n', '      "No": oppose\n      "Yes": oppose\n').encode(),
         ["consultation.yml", "duplicate key 'Yes'"]),
        ("config-latin1", good_yaml.replace("title: T", "title: Caf\u00e9").encode("latin-1"),
         ["consultation.yml", "line 2", "not UTF-8"]),
        ("config-utf16", good_yaml.encode("utf-16"), ["consultation.yml", "not UTF-8"]),
        ("config-tab-indented", good_yaml.replace("    format", "\tformat").encode(), ["consultation.yml", "not valid YAML"]),
        ("config-a-list", b"- id: c\n- title: T\n", ["consultation.yml", "must be a YAML mapping"]),
        ("config-empty", b"", ["consultation.yml", "must be a YAML mapping"]),
        ("config-bad-delimiter", good_yaml.replace("    format: generic\n", "    format: generic\n    delimiter: ab\n").encode(),
         ["consultation.yml", "delimiter 'ab' must be one character"]),
        ("config-missing-name-column", good_yaml.replace("    id_column", "    name_column: [First name, Surname]\n    id_column").encode(),
         ["export.csv", "name_column 'Surname'", "name_column 'First name'"]),
    ]
    cases = []
    for name, data, error in specs:
        folder = _case_dir(root, name)
        (folder / "export.csv").write_text(_csv_text([HEADER, *_rows()]), encoding="utf-8")
        (folder / "consultation.yml").write_bytes(data)
        cases.append(Case(name, error=error))
    folder = _case_dir(root, "config-language-column-unknown-values")
    rows = [HEADER + ["Language"]] + [r + [v] for r, v in zip(_rows(), ["EN", "Klingon", "mi", "", "xx", "fr"], strict=True)]
    (folder / "export.csv").write_text(_csv_text(rows), encoding="utf-8")
    _config(folder, _tab_source("export.csv", language_column="Language"))
    cases.append(Case("config-language-column-unknown-values", rows=6, kept=6, texts=TEXTS))
    return cases


def _csv_case(root: Path, name: str, data: bytes | str, case: Case, **source: object) -> Case:
    folder = _case_dir(root, name)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    (folder / "export.csv").write_bytes(raw)
    _config(folder, _tab_source("export.csv", **source))
    case.name = name
    return case


def rows(root: Path) -> list[Case]:
    """Rows that are not plain answers: attachments only, totals, duplicates, huge cells, thousands of columns."""
    c = []
    att = [HEADER + ["Attachment"]] + [r + [""] for r in _rows(4)]
    att += [["R8", "01/03/2024", "", "", "Smith_submission.pdf"], ["R9", "01/03/2024", "", "", ""]]
    c.append(_csv_case(root, "rows-attachment-only", _csv_text(att),
                       Case("", rows=6, kept=5, reasons=["attachment only", "no answer to any configured question"],
                            texts=["Smith_submission.pdf"], covered=7), attachment_column="Attachment"))
    pointer = [HEADER + ["Attachment"], ["R1", "01/03/2024", "Yes", "See file attached.", ""],
               ["R2", "01/03/2024", "No", "Please find our submission enclosed", "sub.pdf"]]
    c.append(_csv_case(root, "rows-see-attached", _csv_text(pointer),
                       Case("", rows=2, kept=2, reasons=["only points to an attachment"]), attachment_column="Attachment"))
    totals = [HEADER, *_rows(4), ["Total", "", "4", ""], ["Grand total:", "", "4", "1,234"]]
    c.append(_csv_case(root, "rows-total-rows", _csv_text(totals),
                       Case("", rows=6, kept=4, reasons=["total row"], covered=7)))
    c.append(_csv_case(root, "rows-header-only", _csv_text([HEADER]), Case("", rows=0, kept=0)))
    c.append(_csv_case(root, "rows-header-then-blank-lines", _csv_text([HEADER]) + "\r\n" * 5 + ",,,\r\n" * 5,
                       Case("", rows=0, kept=0)))
    c.append(_csv_case(root, "rows-one-row", _csv_text([HEADER, _rows(1)[0]]), Case("", rows=1, kept=1, texts=TEXTS[:1])))
    c.append(_csv_case(root, "rows-none-answered", _csv_text([HEADER] + [[f"R{i}", "", "", ""] for i in range(3)]),
                       Case("", rows=3, kept=0, reasons=["no answer to any configured question"], covered=4)))
    dup = [HEADER, *_rows(3), ["R1", "01/03/2024", "No", "Second R1"], ["", "01/03/2024", "No", "No id at all"]]
    c.append(_csv_case(root, "rows-duplicate-and-empty-ids", _csv_text(dup),
                       Case("", rows=5, kept=3, reasons=["duplicate response id 'R1'", "empty response id"],
                            texts=["Second R1", "No id at all"], covered=6)))
    big = "word " * 40_000
    c.append(_csv_case(root, "rows-huge-cell", _csv_text([HEADER, ["R1", "01/03/2024", "Yes", big.strip()]]),
                       Case("", rows=1, kept=1, texts=[big.strip()[:1000]])))
    c.append(_csv_case(root, "rows-nul-bytes", _csv_text([HEADER, *_rows()]).replace("Buses", "Bu\x00ses"),
                       Case("", rows=6, kept=6, texts=["Buses first"])))
    wide_header = HEADER + [f"Extra {k}" for k in range(2000)]
    wide = [wide_header] + [r + [str(k) for k in range(2000)] for r in _rows()]
    c.append(_csv_case(root, "rows-2000-columns", _csv_text(wide), Case("", rows=6, kept=6, texts=TEXTS)))
    many = [HEADER] + [[f"R{i}", "01/03/2024", "Yes", f"Answer number {i} about buses"] for i in range(20_000)]
    c.append(_csv_case(root, "rows-20000", _csv_text(many),
                       Case("", rows=20_000, kept=20_000, texts=["Answer number 19999 about buses"], budget=40)))
    scripts = ["مرحبا، أنا أؤيد هذا الاقتراح 👍", "שלום, אני מתנגד", "e\u0301cole re\u0301sume\u0301", "🚌🚲🚆 yes please",
               "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math", "zero\u200bwidth\u200djoiner"]
    import unicodedata  # noqa: PLC0415

    uni = [HEADER] + [[f"R{i}", "01/03/2024", "Yes", s] for i, s in enumerate(scripts)]
    c.append(_csv_case(root, "rows-scripts-emoji-combining", _csv_text(uni),
                       Case("", rows=6, kept=6, texts=[unicodedata.normalize("NFC", s) for s in scripts])))
    c.append(_csv_case(root, "rows-excel-sep-line", "sep=;\r\n" + _csv_text([HEADER, *_rows()], ";"),
                       Case("", rows=6, kept=6, texts=TEXTS)))
    old_mac = _csv_text([HEADER] + [r[:3] + ["plain text " + str(k)] for k, r in enumerate(_rows())], ",", "\r")
    c.append(_csv_case(root, "rows-old-mac-line-ends", old_mac, Case("", rows=6, kept=6, texts=["plain text 5"])))
    c.append(_csv_case(root, "rows-bom-only", codecs.BOM_UTF8, Case("", error=["export.csv", "empty"])))
    c.append(_csv_case(root, "rows-png-named-csv", b"\x89PNG\r\n\x1a\n" + bytes(200),
                       Case("", error=["export.csv", "not a text file"])))
    folder = _case_dir(root, "rows-xlsx-named-csv")
    write_xlsx(folder / "export.csv", _grid_rows([HEADER, *_rows()]))
    _config(folder, _tab_source("export.csv"))
    c.append(Case("rows-xlsx-named-csv", rows=6, kept=6, texts=TEXTS))
    return c


FAMILIES: list[Family] = [dialects, encodings, forced, implausible, workbooks, dates, documents, configs, rows]


def generate(root: Path) -> list[Case]:
    """Write every hostile case under ``root`` (one folder each) and return what ingest must do with them."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    cases = [case for family in FAMILIES for case in family(root)]
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return cases


if __name__ == "__main__":
    out = generate(Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-inputs"))
    print(f"{len(out)} hostile cases written")
