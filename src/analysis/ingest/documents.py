"""Folder sources: one response per file (emailed submissions, letters, PDFs, Word documents).

Supported: ``.txt``, ``.md``, ``.eml`` (body text, plus the text of attached DOCX/PDF/TXT/MD files
appended under an ``[Attachment: name]`` line; ``From`` gives the name and address, ``Date`` the
submission time), ``.docx`` (paragraphs and tables, in document order) and ``.pdf`` (pypdf text layer).

A file that cannot give text is never an empty response: it becomes a reject row naming the reason
(``no text layer: needs OCR``, ``unsupported file type .jpg``, ``corrupt .docx``, ``empty document``).
Problems with an email's *attachment* keep the email and add a warning row to the rejects table.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import html
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from analysis.ingest.text import decode_bytes, fix_cell, sha256_file

logger = logging.getLogger(__name__)

TEXT_EXTENSIONS = {".txt", ".md", ".text"}
DOCUMENT_EXTENSIONS = TEXT_EXTENSIONS | {".eml", ".docx", ".pdf"}


class DocumentError(Exception):
    """A document gives no usable text (the message is the reject reason)."""


@dataclass
class Document:
    """One file of a folder source, read.

    Attributes:
        file: Path relative to the consultation's raw folder.
        name: Path relative to the source folder (POSIX separators).
        sha256: Digest of the file's bytes.
        text: The document's text (``None`` when rejected).
        reason: Reject reason when no text could be read.
        raw: What to keep in the reject row (text that was read, when any).
        respondent_name: From an email's ``From`` header.
        respondent_email: From an email's ``From`` header.
        submitted_at: From an email's ``Date`` header.
        warnings: Problems that did not stop the document being kept (unreadable attachments).
    """

    file: str
    name: str
    sha256: str
    text: str | None = None
    reason: str | None = None
    raw: str | None = None
    respondent_name: str | None = None
    respondent_email: str | None = None
    submitted_at: datetime | None = None
    warnings: list[str] = field(default_factory=list)


def docx_text(data: bytes) -> str:
    """Text of a .docx: paragraphs and table rows (cells joined by `` | ``) in document order."""
    import docx  # noqa: PLC0415
    from docx.table import Table  # noqa: PLC0415
    from docx.text.paragraph import Paragraph  # noqa: PLC0415

    try:
        doc = docx.Document(io.BytesIO(data))
    except Exception as err:  # python-docx raises several types for corrupt packages
        raise DocumentError(f"corrupt or unreadable .docx: {type(err).__name__}: {err}") from None
    parts: list[str] = []
    for child in doc.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            parts.append(Paragraph(child, doc).text)
        elif tag == "tbl":
            for row in Table(child, doc).rows:
                cells: list[str] = []
                for c in row.cells:
                    if not cells or c.text != cells[-1]:  # merged cells repeat
                        cells.append(c.text)
                parts.append(" | ".join(cells))
    return "\n".join(parts)


def pdf_text(data: bytes) -> str:
    """Text layer of a PDF (pages joined by blank lines).

    Raises:
        DocumentError: Encrypted, corrupt, or no text layer (a scan needing OCR).
    """
    from pypdf import PdfReader  # noqa: PLC0415
    from pypdf.errors import PdfReadError  # noqa: PLC0415

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError("password-protected PDF: ask the submitter for an unprotected copy")
        pages = [p.extract_text() or "" for p in reader.pages]
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as err:
        raise DocumentError(f"corrupt or unreadable PDF: {type(err).__name__}: {err}") from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text.strip():
        raise DocumentError(f"no text layer: needs OCR ({len(pages)} page(s) of images or drawings)")
    return text


class _HTMLText:
    _TAG = re.compile(r"<(script|style)[^>]*>.*?</\1>|<br\s*/?>|</p>|<[^>]+>", re.S | re.I)

    @classmethod
    def convert(cls, markup: str) -> str:
        def repl(m: re.Match) -> str:
            t = m.group(0).lower()
            return "\n" if t.startswith(("<br", "</p")) else ""

        return html.unescape(cls._TAG.sub(repl, markup))


def _attachment_text(name: str, data: bytes) -> str:
    ext = Path(name).suffix.lower()
    if ext == ".docx":
        return docx_text(data)
    if ext == ".pdf":
        return pdf_text(data)
    if ext in TEXT_EXTENSIONS:
        from analysis.errors import InputError  # noqa: PLC0415

        try:
            return decode_bytes(data, name)[0]
        except InputError as err:
            raise DocumentError(err.reason) from None
    raise DocumentError(f"unsupported attachment type {ext or '(none)'}")


def eml_document(data: bytes, doc: Document) -> None:
    """Fill ``doc`` from an RFC 822 message (body + attachments, From, Date)."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    name, addr = email.utils.parseaddr(str(msg.get("From", "")))
    doc.respondent_name = name.strip() or None
    doc.respondent_email = addr.strip() or None
    date = msg.get("Date")
    if date:
        try:
            doc.submitted_at = email.utils.parsedate_to_datetime(str(date))
        except (TypeError, ValueError):
            doc.warnings.append(f"unparseable Date header {str(date)!r}: submitted_at left empty")
    parts: list[str] = []
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is not None:
        content = body.get_content()
        if body.get_content_subtype() == "html":
            content = _HTMLText.convert(content)
        parts.append(content.strip())
    for att in msg.iter_attachments():
        fname = att.get_filename() or "(unnamed attachment)"
        if att.get_content_maintype() == "text" and fname == "(unnamed attachment)":
            continue
        try:
            payload = att.get_payload(decode=True) or b""
            text = _attachment_text(fname, payload).strip()
        except DocumentError as err:
            doc.warnings.append(f"attachment {fname!r} not read: {err}")
            continue
        if text:
            parts.append(f"[Attachment: {fname}]\n{text}")
        else:
            doc.warnings.append(f"attachment {fname!r} is empty")
    doc.text = "\n\n".join(p for p in parts if p)


def read_document(path: Path, file: str, name: str) -> Document:
    """Read one file of a folder source (never raises for a bad file: sets ``reason``)."""
    doc = Document(file=file, name=name, sha256=sha256_file(path))
    ext = path.suffix.lower()
    data = path.read_bytes()
    try:
        if ext not in DOCUMENT_EXTENSIONS:
            raise DocumentError(f"unsupported file type {ext or '(no extension)'}: convert it to .txt, .docx or .pdf")
        if not data.strip():
            raise DocumentError("empty document (0 bytes)")
        if ext in TEXT_EXTENSIONS:
            from analysis.errors import InputError  # noqa: PLC0415

            try:
                doc.text = decode_bytes(data, file)[0]
            except InputError as err:
                raise DocumentError(err.reason) from None
        elif ext == ".eml":
            eml_document(data, doc)
        elif ext == ".docx":
            doc.text = docx_text(data)
        elif ext == ".pdf":
            doc.text = pdf_text(data)
        doc.text = fix_cell((doc.text or "").replace("\r\n", "\n").strip())
        if not doc.text:
            raise DocumentError("empty document (no text after reading it)")
    except DocumentError as err:
        doc.reason, doc.raw, doc.text = str(err), (doc.text or None), None
    return doc


def read_folder(folder: Path, label: str) -> list[Document]:
    """Read every file under ``folder`` (recursively, sorted by path; hidden files included as rejects).

    Args:
        folder: The source folder.
        label: Its path relative to the raw folder (prefix of every document's ``file``).
    """
    docs = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        docs.append(read_document(path, f"{label}/{rel}", rel))
    return docs
