"""Folder sources: one response per file (emailed submissions, letters, PDFs, Word documents).

Supported: ``.txt``, ``.md``, ``.eml`` (body text, plus the text of attached DOCX/PDF/TXT/MD files
appended under an ``[Attachment N (.ext)]`` line; ``From`` gives the name and address, ``Date`` the
submission time), ``.docx`` (paragraphs and tables, in document order) and ``.pdf`` (pypdf text layer).

**No file stops the run.** A file that cannot give text is never an empty response: it becomes a reject row
naming the reason (``no text layer: needs OCR``, ``unsupported file type .jpg``, ``corrupt .docx``, ``empty
document``, a PDF whose streams exceed pypdf's decompression limits, or any other failure of a reader, named
with its exception). Problems with an email's *attachment* keep the email and add a warning row to the rejects
table. Attachment file names are personal information (``Submission from Jane Smith.docx``): they never enter
the text; warnings carry them only in ``raw``, which is never published.

Text encodings: an e-mail part is decoded with the charset it declares when that charset exists and fits its
bytes (a ``koi8-r`` attachment stays Cyrillic); an unknown charset (``x-unknown``) or a wrong label (``utf-8``
holding Windows-1252) falls back to detection (:func:`analysis.ingest.text.decode_bytes`) with a warning,
never to ``U+FFFD`` replacement characters. A file name that is not valid UTF-8 is shown with ``\\xNN``
escapes (warning) and the file is read.

Symbolic links are never followed: a link in the folder (to a file or a folder, inside or outside it) is
listed as a reject with reason ``symlink``, nothing behind it is read, and a linked folder is not entered.
Devices, pipes and sockets are rejects too (``not a regular file``).
"""

from __future__ import annotations

import email
import email.message
import email.policy
import email.utils
import html
import io
import logging
import os
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from analysis.errors import InputError
from analysis.ingest.tabular import SYMLINK
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
        file: Path relative to the consultation's raw folder (undecodable bytes of the name as ``\\xNN``).
        name: Path relative to the source folder (POSIX separators, same escaping).
        sha256: Digest of the file's bytes.
        text: The document's text (``None`` when rejected).
        reason: Reject reason when no text could be read.
        raw: What to keep in the reject row (text that was read, when any).
        respondent_name: From an email's ``From`` header.
        respondent_email: From an email's ``From`` header.
        submitted_at: From an email's ``Date`` header.
        warnings: ``(reason, raw)`` of problems that did not stop the document being kept (unreadable
            attachments: the reason never names the file, ``raw`` does).
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
    warnings: list[tuple[str, str | None]] = field(default_factory=list)


def docx_text(data: bytes) -> str:
    """Text of a .docx: paragraphs and table rows (cells joined by `` | ``) in document order."""
    import docx  # noqa: PLC0415
    from docx.table import Table  # noqa: PLC0415
    from docx.text.paragraph import Paragraph  # noqa: PLC0415

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            inflated = sum(i.file_size for i in zf.infolist())
        if inflated > MAX_DOCX_BYTES:
            raise DocumentError(f"the .docx inflates to {inflated:,} bytes (over {MAX_DOCX_BYTES:,}): a zip bomb, "
                                "or a document to read by hand")
        doc = docx.Document(io.BytesIO(data))
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
    except DocumentError:
        raise
    except Exception as err:  # noqa: BLE001 - python-docx / lxml raise many types for corrupt packages
        raise DocumentError(f"corrupt or unreadable .docx: {type(err).__name__}: {str(err)[:300]}") from None
    return "\n".join(parts)


#: Largest total uncompressed size of a .docx package read (a real submission is a few megabytes).
MAX_DOCX_BYTES = 200_000_000
#: Most page-content bytes (decompressed) read from one PDF: text extraction costs about 50 µs per drawing
#: operator, so a small file whose streams inflate to hundreds of megabytes would otherwise run for hours.
MAX_PDF_CONTENT = 8_000_000


def _content_size(page) -> int:  # noqa: ANN001 - a pypdf page
    """Decompressed size of a page's content stream(s) (pypdf's own decompression limits apply)."""
    contents = page.get("/Contents")
    if contents is None:
        return 0
    obj = contents.get_object()
    streams = list(obj) if isinstance(obj, list) else [obj]
    return sum(len(s.get_object().get_data()) for s in streams)


def pdf_text(data: bytes, warnings: list[tuple[str, str | None]] | None = None) -> str:
    """Text layer of a PDF (pages joined by blank lines).

    Pages after :data:`MAX_PDF_CONTENT` bytes of page content are not read (a warning is added to
    ``warnings`` when given).

    Raises:
        DocumentError: Encrypted, corrupt, over pypdf's decompression limits, or no text layer (a scan).
    """
    from pypdf import PdfReader  # noqa: PLC0415

    pages: list[str] = []
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError("password-protected PDF: ask the submitter for an unprotected copy")
        used, n = 0, len(reader.pages)
        for i, page in enumerate(reader.pages, start=1):
            used += _content_size(page)
            if used > MAX_PDF_CONTENT:
                if warnings is not None:
                    warnings.append((f"pages {i}-{n} of the PDF not read: over {MAX_PDF_CONTENT:,} bytes of page "
                                     "content (a decompression bomb, or a drawing); read the rest by hand", None))
                break
            pages.append(page.extract_text() or "")
    except DocumentError:
        raise
    except Exception as err:  # noqa: BLE001 - pypdf raises many types (LimitReachedError, PdfReadError, ...)
        raise DocumentError(f"corrupt or unreadable PDF: {type(err).__name__}: {str(err)[:300]}") from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text.strip():
        raise DocumentError(f"no text layer: needs OCR ({len(pages)} page(s) of images or drawings)"
                            if len(pages) == n else "no text read: the first page is over the PDF content limit")
    return text


class _HTMLText:
    _TAG = re.compile(r"<(script|style)[^>]*>.*?</\1>|<br\s*/?>|</p>|<[^>]+>", re.S | re.I)

    @classmethod
    def convert(cls, markup: str) -> str:
        def repl(m: re.Match) -> str:
            t = m.group(0).lower()
            return "\n" if t.startswith(("<br", "</p")) else ""

        return html.unescape(cls._TAG.sub(repl, markup))


def _decode_text(data: bytes, name: str) -> str:
    try:
        return decode_bytes(data, name)[0]
    except InputError as err:
        raise DocumentError(err.reason) from None


def part_text(part: email.message.Message, name: str) -> tuple[str, str | None]:
    """Text of a ``text/*`` MIME part and a warning when its declared charset could not be used.

    The declared charset is used when Python knows it and the bytes are valid in it; otherwise the bytes are
    decoded by detection (never with replacement characters).

    Raises:
        DocumentError: The part holds no text (binary content).
    """
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else str(payload or "").encode("utf-8", "surrogateescape")
    charset = part.get_content_charset()
    if charset:
        try:
            return data.decode(charset), None
        except LookupError:
            problem = f"unknown charset {charset!r}"
        except UnicodeDecodeError:
            problem = f"text labelled {charset!r} is not valid {charset}"
        return _decode_text(data, name), f"{problem}: its encoding was detected instead"
    return _decode_text(data, name), None


def _attachment_text(att: email.message.Message, name: str) -> tuple[str, str | None]:
    ext = Path(name).suffix.lower()
    data = att.get_payload(decode=True)
    data = data if isinstance(data, bytes) else b""
    if ext == ".docx":
        return docx_text(data), None
    if ext == ".pdf":
        skipped: list[tuple[str, str | None]] = []
        text = pdf_text(data, skipped)
        return text, (skipped[0][0] if skipped else None)
    if ext in TEXT_EXTENSIONS:
        return part_text(att, name)
    raise DocumentError(f"unsupported attachment type {ext or '(none)'}")


def _eml_headers(msg: email.message.Message, doc: Document) -> None:
    try:
        name, addr = email.utils.parseaddr(str(msg.get("From", "")))
        doc.respondent_name = name.strip() or None
        doc.respondent_email = addr.strip() or None
    except Exception as err:  # noqa: BLE001 - malformed headers raise many types
        doc.warnings.append((f"unreadable From header ({type(err).__name__}): no name or address to redact", None))
    try:
        date = msg.get("Date")
    except Exception:  # noqa: BLE001
        date = None
    if date:
        try:
            doc.submitted_at = email.utils.parsedate_to_datetime(str(date))
        except (TypeError, ValueError, IndexError, OverflowError):
            doc.warnings.append((f"unparseable Date header {str(date)[:100]!r}: submitted_at left empty", None))


def _eml_body(msg: email.message.EmailMessage, doc: Document) -> str:
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    content, problem = part_text(body, doc.file)
    if problem:
        doc.warnings.append((f"e-mail body: {problem}", None))
    if body.get_content_subtype() == "html":
        content = _HTMLText.convert(content)
    return content.strip()


def eml_document(data: bytes, doc: Document) -> None:
    """Fill ``doc`` from an RFC 822 message (body + attachments, From, Date)."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    _eml_headers(msg, doc)
    parts: list[str] = [_eml_body(msg, doc)]
    try:
        attachments = list(msg.iter_attachments())
    except Exception as err:  # noqa: BLE001 - a malformed MIME structure
        attachments = []
        doc.warnings.append((f"attachments not read: malformed MIME structure ({type(err).__name__})", None))
    for n, att in enumerate(attachments, start=1):
        fname = att.get_filename() or ""
        if att.get_content_maintype() == "text" and not fname:
            continue
        ext = Path(fname).suffix.lower()
        try:
            text, problem = _attachment_text(att, fname)
        except DocumentError as err:
            doc.warnings.append((f"attachment {n} ({ext or 'no extension'}) not read: {err}", fname or None))
            continue
        except Exception as err:  # noqa: BLE001 - any reader failure: the e-mail itself is kept
            doc.warnings.append((f"attachment {n} ({ext or 'no extension'}) not read: {type(err).__name__}",
                                 fname or None))
            continue
        if problem:
            doc.warnings.append((f"attachment {n} ({ext}): {problem}", fname or None))
        if text.strip():
            parts.append(f"[Attachment {n} ({ext})]\n{text.strip()}")
        else:
            doc.warnings.append((f"attachment {n} ({ext or 'no extension'}) is empty", fname or None))
    doc.text = "\n\n".join(p for p in parts if p)


def _read_text(path: Path, doc: Document, data: bytes) -> None:
    ext = path.suffix.lower()
    if ext not in DOCUMENT_EXTENSIONS:
        raise DocumentError(f"unsupported file type {ext or '(no extension)'}: convert it to .txt, .docx or .pdf")
    if not data.strip():
        raise DocumentError("empty document (0 bytes)")
    if ext in TEXT_EXTENSIONS:
        doc.text = _decode_text(data, doc.file)
    elif ext == ".eml":
        eml_document(data, doc)
    elif ext == ".docx":
        doc.text = docx_text(data)
    elif ext == ".pdf":
        doc.text = pdf_text(data, doc.warnings)
    doc.text = fix_cell((doc.text or "").replace("\r\n", "\n").strip())
    if not doc.text:
        raise DocumentError("empty document (no text after reading it)")


def read_document(path: Path, file: str, name: str) -> Document:
    """Read one file of a folder source (never raises for a bad file: sets ``reason``).

    A symbolic link is not followed (reason ``symlink``, empty ``sha256``); a device, pipe or socket is
    not opened (reason ``not a regular file``); any failure of a reader is a reject naming it.
    """
    if path.is_symlink():
        logger.warning("%s: symbolic link not followed (copy what it points to into the folder instead)", file)
        return Document(file=file, name=name, sha256="", reason=SYMLINK)
    if not path.is_file():
        return Document(file=file, name=name, sha256="", reason="not a regular file (a device, pipe or socket)")
    try:
        doc = Document(file=file, name=name, sha256=sha256_file(path))
        data = path.read_bytes()
    except OSError as err:
        return Document(file=file, name=name, sha256="", reason=f"cannot be read: {type(err).__name__}: {err.strerror}")
    try:
        _read_text(path, doc, data)
    except DocumentError as err:
        doc.reason, doc.raw, doc.text = str(err), (doc.text or None), None
    except Exception as err:  # noqa: BLE001 - no single file stops the run
        logger.warning("%s: %s while reading it: rejected", file, type(err).__name__)
        doc.reason, doc.raw, doc.text = f"unreadable file: {type(err).__name__}: {str(err)[:300]}", None, None
    return doc


def _folder_entries(folder: Path) -> list[Path]:
    """Every file under ``folder`` and every symbolic link (a linked folder is listed, never entered), sorted."""
    out: list[Path] = []
    for here, dirs, files in os.walk(folder):  # followlinks=False: linked folders are not walked
        base = Path(here)
        out += [base / d for d in dirs if (base / d).is_symlink()]
        out += [base / f for f in files]
    return sorted(out, key=lambda p: os.fsencode(p))


def display_name(path: str) -> str:
    """A file name as text: bytes that are not UTF-8 (a name made on another system) shown as ``\\xNN``."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def read_folder(folder: Path, label: str) -> list[Document]:
    """Read every file under ``folder`` (recursively, sorted by path; hidden files included as rejects).

    Symbolic links become rejects with reason ``symlink`` (see :func:`read_document`).

    Args:
        folder: The source folder.
        label: Its path relative to the raw folder (prefix of every document's ``file``).
    """
    docs = []
    for path in _folder_entries(folder):
        rel = path.relative_to(folder).as_posix()
        safe = display_name(rel)
        doc = read_document(path, f"{label}/{safe}", safe)
        if safe != rel:
            logger.warning("%s: the file name is not valid UTF-8 (undecodable bytes shown as \\xNN)", doc.file)
            doc.warnings.append(("the file name is not valid UTF-8 (undecodable bytes shown as \\xNN)", None))
        docs.append(doc)
    return docs
