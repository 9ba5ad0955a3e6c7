"""SYNTHETIC emailed submissions of the sample consultation: .txt, .eml, .docx and .pdf files.

Every file is written deterministically: fixed ``Date``/``Message-ID`` headers and MIME boundaries for
EML, fixed core properties and zip timestamps for DOCX, ``invariant=1`` and no page compression for PDF.
"""

from __future__ import annotations

import io
import random
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from analysis.sample import text as T
from analysis.sample.compose import Composer, Person, Text, strip_macrons

NZDT = timezone(timedelta(hours=13))
INBOX = "cybercrime.consultation@mfat.example.govt.nz"
_FIXED_ZIP_TIME = (2021, 11, 1, 0, 0, 0)

INTROS = [
    "I am writing to comment on the draft principles for New Zealand's participation in negotiating a UN "
    "cybercrime convention.",
    "Thank you for the chance to give feedback on the proposed cybercrime treaty.",
    "Please accept this email as my submission on the cybercrime convention consultation.",
    "I missed the online survey so I'm sending my thoughts by email instead.",
    "I would like to make a short submission on the UN cybercrime convention.",
]
CLOSINGS = ["Thank you for considering my views.", "I look forward to seeing the summary of submissions.",
            "Thanks for reading.", "Please keep me informed about the next steps."]
#: Organisations sending long letters: (name, sector, lean, focus themes). All invented.
ORGS: list[tuple[str, str, str, list[str]]] = [
    ("Aotearoa Digital Rights Trust", "Civil society / NGO", "+",
     ["human_rights", "misuse_speech", "scope", "data_access", "multistakeholder"]),
    ("Pacific Cyber Resilience Network", "Pacific organisation", "0",
     ["pacific_capacity", "cooperation", "multistakeholder", "human_rights"]),
    ("NZ Payments and Fraud Prevention Association", "Business / industry", "-",
     ["cooperation", "scope", "data_access", "budapest"]),
    ("Ngā Kaitiaki Matihiko Trust", "Iwi / Māori organisation", "+",
     ["te_tiriti", "human_rights", "data_access", "multistakeholder"]),
    ("Southern Institute for Technology Law", "Academic / research", "0",
     ["budapest", "scope", "human_rights", "data_access", "cooperation"]),
    ("Cyber Security Industry Council of Aotearoa", "Technology", "-",
     ["cooperation", "scope", "budapest", "pacific_capacity"]),
    ("Kiwi Journalists' Freedom Forum", "Civil society / NGO", "+",
     ["misuse_speech", "human_rights", "scope", "multistakeholder"]),
    ("Open Source Software Society of NZ", "Technology", "+",
     ["scope", "human_rights", "multistakeholder", "budapest"]),
]
ROLES = ["Chief Executive", "Policy Director", "Chair", "Executive Director", "Policy Adviser", "Co-convenor"]


@dataclass
class Letter:
    """One emailed submission and what the generator knows about it."""

    file: str
    fmt: str  # txt | eml | docx | pdf | pdf_scanned
    blocks: list[tuple[str, str]]  # ("h" heading | "p" paragraph, text) of the submission
    truth: Text
    person: Person
    when: datetime
    respondent_type: str = "individual"
    organisation: str = ""
    attachment: str = ""  # "", "docx", "pdf": the submission is attached to a short cover note
    cover: str = ""
    encoding: str = "utf-8"
    campaign: str = ""
    expected: str = "ok"
    notes: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The submission as plain text (paragraphs separated by blank lines)."""
        return "\n\n".join(t for _, t in self.blocks)


def _blocks(text: str) -> list[tuple[str, str]]:
    return [("p", p) for p in text.split("\n\n") if p]


def _signature(comp: Composer, person: Person, *, p_contact: float) -> tuple[str, list[tuple[str, str]]]:
    r = comp.rng
    lines = [r.choice(T.SIGNOFFS), person.name]
    pii = [("name", person.name)]
    if r.random() < p_contact:
        lines.append(person.email)
        pii.append(("email", person.email))
    if r.random() < p_contact:
        ph = comp.phone()
        lines.append(ph)
        pii.append(("phone", ph))
    if r.random() < p_contact / 2:
        ad = comp.address()
        lines.append(ad)
        pii.append(("address", ad))
    return "\n".join(lines), pii


def individual_letter(comp: Composer, person: Person, lean: str) -> Text:
    """A personal letter: greeting, intro, 1-3 themed paragraphs, closing, signature."""
    r = comp.rng
    weights = {th: 1.0 for th in T.THEMES}
    themes = comp.pick_themes(weights, comp.n_themes())
    used: set[str] = set()
    paras = [r.choice([g for g in T.GREETINGS if g]), r.choice(INTROS)]
    for th in themes:
        paras.append(" ".join(comp.sentence(th, lean, used) for _ in range(r.randint(2, 3))))
    paras.append(r.choice(CLOSINGS))
    body = "\n\n".join(paras)
    if r.random() < 0.2:
        body = comp.typo(body, 2)  # before the signature, so planted PII stays intact
    sig, pii = _signature(comp, person, p_contact=0.5)
    return Text(f"{body}\n\n{sig}", sorted(themes), None, pii)


def org_letter(comp: Composer, person: Person, org: tuple[str, str, str, list[str]],
               when: datetime) -> tuple[list[tuple[str, str]], Text]:
    """A long organisational letter with letterhead, an 'about us' section and themed sections."""
    r = comp.rng
    name, sector, lean, focus = org
    slug = "".join(w[0] for w in strip_macrons(name).lower().replace("'", "").split())
    blocks: list[tuple[str, str]] = [
        ("h", name.upper()),
        ("p", f"www.{slug}.example.org | Wellington, Aotearoa New Zealand"),
        ("p", f"{when.day} {when:%B %Y}"),
        ("p", "Submission to the Ministry of Foreign Affairs and Trade"),
        ("h", "Re: Draft principles for New Zealand's participation in negotiating a UN cybercrime convention"),
        ("h", "About us"),
        ("p", f"{name} is a {sector.split(' /')[0].lower()} organisation with members and supporters across "
              f"Aotearoa New Zealand. We welcome the opportunity to comment and would be happy to meet officials "
              f"to discuss this submission."),
    ]
    themes = list(focus)
    used: set[str] = set()
    for n, th in enumerate(themes, start=1):
        blocks.append(("h", f"{n}. {T.CODEBOOK[th][0]}"))
        for _ in range(r.randint(1, 2)):
            sents = [comp.sentence(th, lean, used) for _ in range(3)]
            blocks.append(("p", " ".join(sents)))
    blocks.append(("h", "Conclusion"))
    blocks.append(("p", "We thank the Ministry for consulting early and ask that submitters are kept informed "
                        "as the negotiations progress."))
    role = r.choice(ROLES)
    phone = comp.phone()
    blocks.append(("p", f"{r.choice(['Yours sincerely,', 'Ngā mihi nui,', 'Yours faithfully,'])}\n{person.name}\n"
                        f"{role}, {name}\n{person.email}\n{phone}"))
    pii = [("name", person.name), ("email", person.email), ("phone", phone)]
    return blocks, Text("", sorted(themes), None, pii)


def te_reo_letter(person: Person) -> Text:
    """A letter wholly in te reo Māori."""
    picks = [T.TE_REO[i] for i in (1, 2, 0, 6, 4)]
    body = "\n\n".join(t for t, _, _ in picks)
    themes = sorted({th for _, ths, _ in picks for th in ths})
    text = f"Tēnā koutou e te Manatū Aorere,\n\n{body}\n\nNāku noa, nā\n{person.name}"
    return Text(text, themes, None, [("name", person.name)], "mi")


def build_letters(rng: random.Random) -> list[Letter]:
    """Plan and compose the ~30 emailed submissions."""
    comp = Composer(rng)
    plan = (["txt"] * 6 + ["txt_cp1252", "txt_te_reo", "txt_campaign", "eml_campaign", "eml_campaign"]
            + ["eml"] * 6 + ["eml_docx_org", "eml_docx_org", "eml_pdf_org", "eml_pdf_org"]
            + ["docx", "docx", "docx_org", "docx_org", "pdf", "pdf", "pdf_org", "pdf_org", "pdf_scanned"])
    rng.shuffle(plan)
    orgs = list(ORGS)
    rng.shuffle(orgs)
    letters: list[Letter] = []
    for n, kind in enumerate(plan, start=1):
        person = comp.person()
        when = datetime(2021, 10, 20, 8, 0, tzinfo=NZDT) + timedelta(minutes=rng.randint(0, 29 * 24 * 60))
        lean = rng.choice(["+", "+", "-", "0"])
        base = kind.split("_")[0]
        fmt = "txt" if base == "txt" else base
        if kind == "pdf_scanned":
            fmt = "pdf_scanned"
        org = orgs.pop() if kind.endswith("_org") else None
        if org:
            blocks, truth = org_letter(comp, person, org, when)
            slug = strip_macrons(org[0]).lower().replace("'", "").replace(" ", "-")
            ext = kind.split("_")[1] if base == "eml" else base
            letter = Letter(f"{n:02d}_{slug}.{'eml' if base == 'eml' else ext}", fmt, blocks, truth, person, when,
                            "organisation", org[0])
            if base == "eml":
                letter.attachment = ext
                letter.cover = (f"Kia ora,\n\nPlease find attached the submission of {org[0]} on the draft "
                                f"principles for the UN cybercrime convention negotiations.\n\nNgā mihi,\n"
                                f"{person.name}")
        elif kind in ("txt_campaign", "eml_campaign"):
            truth = comp.campaign_copy(T.CAMPAIGN_1, T.CAMPAIGN_1_THEMES, "+", person)
            letter = Letter(f"{n:02d}_{'submission' if base == 'txt' else 'email'}-{person.last.lower()}.{fmt}"
                            .replace(" ", "-").replace("'", ""), fmt, _blocks(truth.text), truth, person, when,
                            campaign="campaign_1")
        elif kind == "txt_te_reo":
            truth = te_reo_letter(person)
            letter = Letter(f"{n:02d}_he-tuhinga-na-{strip_macrons(person.first).lower()}.txt", "txt",
                            _blocks(truth.text), truth, person, when)
        elif kind == "pdf_scanned":
            truth = Text("", [], None)
            letter = Letter(f"{n:02d}_scanned-letter.pdf", fmt, [], truth, person, when, expected="reject: needs OCR")
        else:
            truth = individual_letter(comp, person, lean)
            name = "Submission from " + strip_macrons(person.name) if n % 4 == 0 else f"submission-{n:02d}"
            letter = Letter(f"{n:02d}_{name}.{fmt}", fmt, _blocks(truth.text), truth, person, when)
            if kind == "txt_cp1252":
                letter.encoding = "cp1252"
        if fmt == "pdf" or letter.encoding == "cp1252" or letter.attachment == "pdf":
            letter.blocks = [(k, strip_macrons(t)) for k, t in letter.blocks]
            letter.truth.pii = [(k, strip_macrons(v)) for k, v in letter.truth.pii]
            letter.notes.append("macrons stripped (font/encoding without them)")
        if letter.encoding == "cp1252":
            letter.blocks = [(k, t.replace("'", "\u2019")) for k, t in letter.blocks]
            letter.truth.pii = [(k, v.replace("'", "\u2019")) for k, v in letter.truth.pii]
        letters.append(letter)
    return letters


# --- writers ---------------------------------------------------------------------------------------
def _fixed_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps (deflated at level 9: bytes depend only on the zlib build)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            zi.external_attr = 0o644 << 16
            z.writestr(zi, src.read(info.filename), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def docx_bytes(blocks: list[tuple[str, str]], *, title: str, author: str, when: datetime) -> bytes:
    """A DOCX of the blocks, byte-identical for the same input."""
    import docx  # python-docx

    d = docx.Document()
    for kind, text in blocks:
        if kind == "h":
            d.add_heading(text, level=2)
        else:
            d.add_paragraph(text)
    cp = d.core_properties
    cp.title, cp.author, cp.last_modified_by, cp.revision = title, author, author, 1
    stamp = when.astimezone(UTC).replace(tzinfo=None)
    cp.created = cp.modified = cp.last_printed = stamp
    buf = io.BytesIO()
    d.save(buf)
    return _fixed_zip(buf.getvalue())


def pdf_bytes(blocks: list[tuple[str, str]], *, title: str, author: str) -> bytes:
    """A PDF with a text layer (reportlab, Helvetica, ``invariant=1``, no compression)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    story = []
    for kind, text in blocks:
        style = styles["Heading3"] if kind == "h" else styles["BodyText"]
        story += [Paragraph(escape(text).replace("\n", "<br/>"), style), Spacer(1, 4)]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, invariant=1, pageCompression=0, title=title, author=author,
                            creator="analysis.sample (synthetic)")
    doc.build(story)
    return buf.getvalue()


def scanned_pdf_bytes(rng: random.Random) -> bytes:
    """A 'scanned' letter: grey bars shaped like lines of text, and no text layer at all."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1, pageCompression=0)
    w, h = A4
    c.setFillGray(0.97)
    c.rect(0, 0, w, h, stroke=0, fill=1)
    y = h - 90
    for _para in range(6):
        for _line in range(rng.randint(2, 6)):
            x = 72
            while x < w - 90:
                word = rng.uniform(12, 55)
                c.setFillGray(rng.uniform(0.15, 0.35))
                c.rect(x, y + rng.uniform(-0.6, 0.6), min(word, w - 72 - x), 7, stroke=0, fill=1)
                x += word + rng.uniform(3, 6)
            y -= 14
        y -= 16
    c.setStrokeGray(0.2)
    c.bezier(80, y - 10, 120, y + 20, 160, y - 30, 210, y)  # a signature scrawl
    c.showPage()
    c.save()
    return buf.getvalue()


def eml_bytes(letter: Letter, n: int, attachment: bytes | None = None) -> bytes:
    """An RFC 5322 message with fixed headers and boundary."""
    msg = EmailMessage()
    msg["From"] = f"{letter.person.name} <{letter.person.email}>"
    msg["To"] = INBOX
    msg["Subject"] = ("Submission: UN cybercrime convention" if not letter.organisation
                      else f"Submission from {letter.organisation}")
    msg["Date"] = format_datetime(letter.when)
    msg["Message-ID"] = f"<sample-{n:03d}@mail.example.com>"
    msg.set_content(letter.cover if letter.attachment else letter.text)
    if attachment is not None:
        name = letter.file.rsplit(".", 1)[0] + "." + letter.attachment
        if letter.attachment == "pdf":
            msg.add_attachment(attachment, maintype="application", subtype="pdf", filename=name)
        else:
            msg.add_attachment(attachment, maintype="application",
                               subtype="vnd.openxmlformats-officedocument.wordprocessingml.document", filename=name)
        msg.set_boundary(f"==sample-boundary-{n:03d}==")
    return msg.as_bytes(policy=default_policy)


def write_letters(letters: list[Letter], folder: Path, rng: random.Random) -> list[Path]:
    """Write every letter into ``folder``; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for n, lt in enumerate(letters, start=1):
        path = folder / lt.file
        title = lt.organisation or f"Submission from {strip_macrons(lt.person.name)}"
        author = strip_macrons(lt.person.name)
        if lt.fmt == "txt":
            path.write_bytes(lt.text.replace("\n", "\r\n" if n % 3 == 0 else "\n").encode(lt.encoding) + b"\n")
        elif lt.fmt == "docx":
            path.write_bytes(docx_bytes(lt.blocks, title=title, author=author, when=lt.when))
        elif lt.fmt == "pdf":
            path.write_bytes(pdf_bytes(lt.blocks, title=title, author=author))
        elif lt.fmt == "pdf_scanned":
            path.write_bytes(scanned_pdf_bytes(rng))
        else:
            att = None
            if lt.attachment == "docx":
                att = docx_bytes(lt.blocks, title=title, author=author, when=lt.when)
            elif lt.attachment == "pdf":
                att = pdf_bytes(lt.blocks, title=title, author=author)
            path.write_bytes(eml_bytes(lt, n, att))
        out.append(path)
    return out
