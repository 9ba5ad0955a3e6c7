"""Turning raw bytes into clean text: encoding detection, mojibake repair, normalisation.

Consultation exports arrive as UTF-8 (with or without BOM), Windows-1252 (Excel "CSV" on an English
Windows machine), UTF-16 (Excel "Unicode text"), or a mix of those (a file edited in two tools). The
rules, in order:

1. A byte-order mark decides (UTF-8, UTF-16 LE/BE, UTF-32).
2. NUL bytes at alternating positions without a BOM mean UTF-16.
3. Strict UTF-8.
4. Mostly UTF-8 with a few lines that are not: each line is decoded on its own (UTF-8, else
   Windows-1252) and the lines that needed the fallback are logged.
5. Strict Windows-1252 (but when most letters come out non-ASCII, the text is Cyrillic or Greek in a legacy
   code page such as KOI8-R: charset-normalizer's guess), then charset-normalizer's best guess.
6. Anything else, or text that is mostly control characters, is not text: :class:`InputError`.

Decoded text is NFC-normalised (so a macron typed as "a" + combining macron matches "ā"), and
mojibake ("donâ€™t") is repaired with ftfy, but only for strings ftfy flags as bad (fast path).
"""

from __future__ import annotations

import codecs
import functools
import logging
import re
import unicodedata

import ftfy
from charset_normalizer import from_bytes

from analysis.errors import InputError
from analysis.hashing import sha256_file  # noqa: F401  (re-exported for the readers)

logger = logging.getLogger(__name__)

_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_FTFY_CONFIG = ftfy.TextFixerConfig(uncurl_quotes=False, fix_line_breaks=False, normalization="NFC")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: Magic numbers of binary files people save with a text extension.
BINARY_MAGIC = {
    b"PK\x03\x04": "a ZIP container (an .xlsx/.docx workbook or document?)",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "an OLE2 compound file (a password-protected workbook or an old .xls/.doc)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "a gzip archive",
}


def sniff_binary(data: bytes) -> str | None:
    """Describe ``data`` if it starts with a known binary magic number, else ``None``."""
    for magic, what in BINARY_MAGIC.items():
        if data.startswith(magic):
            return what
    return None


def _looks_utf16(data: bytes) -> str | None:
    sample = data[:4000]
    if len(sample) < 4:
        return None
    even_nul = sample[0::2].count(0) / max(1, len(sample[0::2]))
    odd_nul = sample[1::2].count(0) / max(1, len(sample[1::2]))
    if odd_nul > 0.3 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.3 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def _decode_mixed(data: bytes, file: str) -> str | None:
    """Decode line by line when most non-ASCII lines are UTF-8 and a few are Windows-1252."""
    lines = data.split(b"\n")
    good = bad = 0
    for line in lines:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            good += 1
        except UnicodeDecodeError:
            bad += 1
    if good == 0 or bad == 0:
        return None
    out, fallback_lines = [], []
    for i, line in enumerate(lines, start=1):
        try:
            out.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(line.decode("cp1252", errors="replace"))
            fallback_lines.append(i)
    logger.warning(
        "%s: mixed encodings: %d line(s) are not UTF-8 and were read as Windows-1252 (lines %s)",
        file, len(fallback_lines), ", ".join(map(str, fallback_lines[:10])) + (" ..." if len(fallback_lines) > 10 else ""),
    )
    return "\n".join(out)


def _mostly_non_ascii(text: str) -> bool:
    """Whether most letters are not ASCII: Western text in Windows-1252 is mostly ASCII with a few accents."""
    letters = [c for c in text[:20000] if c.isalpha()]
    return len(letters) >= 8 and sum(not c.isascii() for c in letters) > 0.5 * len(letters)


def decode_bytes(data: bytes, file: str, encoding: str | None = None) -> tuple[str, str]:
    """Decode file bytes to text.

    Args:
        data: The file's bytes.
        file: File name for messages.
        encoding: Force this encoding (from the config); no detection.

    Returns:
        ``(text, encoding_used)``; the text is NFC-normalised, BOM removed.

    Raises:
        InputError: The file is empty, binary, or in no encoding we can identify.
    """
    if encoding:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as err:
            raise InputError(file, f"cannot decode with the configured encoding {encoding!r}: {err}") from None
        return _finish(text.lstrip("\ufeff"), file), encoding
    used: str | None = None
    text: str | None = None
    for bom, enc in _BOMS:
        if data.startswith(bom):
            used = enc
            try:
                text = data.decode(enc)
            except UnicodeDecodeError as err:
                raise InputError(file, f"starts with a {enc} byte-order mark but is not valid {enc}: {err}") from None
            break
    if text is None:
        what = sniff_binary(data)
        if what:
            raise InputError(file, f"not a text file: the content is {what}")
        enc16 = _looks_utf16(data)
        if enc16:
            try:
                text, used = data.decode(enc16), enc16
            except UnicodeDecodeError:
                text = None
    if text is None:
        try:
            text, used = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            mixed = _decode_mixed(data, file)
            if mixed is not None:
                text, used = mixed, "utf-8+cp1252"
    if text is None:
        try:
            text, used = data.decode("cp1252"), "cp1252"
            if _mostly_non_ascii(text):  # Cyrillic / Greek in a legacy code page also decodes as cp1252
                best = from_bytes(data).best()
                if best is not None and best.encoding != "cp1252":
                    text, used = str(best), best.encoding
        except UnicodeDecodeError:
            best = from_bytes(data).best()
            if best is None:
                raise InputError(file, "not a text file: no text encoding fits its bytes (binary content?)") from None
            text, used = str(best), best.encoding
    text = text.lstrip("\ufeff")
    if has_content(text):
        controls = len(_CONTROL.findall(text[:20000]))
        if controls > 0.05 * min(len(text), 20000):
            raise InputError(file, f"not a text file: {controls} control characters in the first 20,000 (binary content?)")
    if used not in ("utf-8", "utf-8-sig"):
        logger.info("%s: decoded as %s", file, used)
    return _finish(text, file), str(used)


def has_content(value: str | bytes) -> bool:
    """``bool(value.strip())`` without the copy ``strip`` makes of a whole file (same whitespace: ``isspace``)."""
    return bool(value) and not value.isspace()


def _finish(text: str, file: str) -> str:
    text = text.replace("\x00", "")
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text


def fix_cell(value: str) -> str:
    """Repair mojibake in one string (only when ftfy flags it) and NFC-normalise."""
    if value and not value.isascii():
        return _fix_non_ascii(value)
    return value


def _mojibake_chars() -> frozenset[str] | None:
    """Characters without one of which ftfy's mojibake pattern cannot match (``None``: pattern not understood).

    Every alternative of ``ftfy.badness.BADNESS_RE`` must match some single non-ASCII character class; one such
    class is taken from each alternative (avoiding te reo Māori macrons and typographic quotes), and a text
    holding none of their characters cannot be flagged, so ftfy's long regex need not run on it.
    """
    try:
        import re._constants as sre_c  # noqa: PLC0415
        import re._parser as sre_p  # noqa: PLC0415

        from ftfy.badness import BADNESS_RE  # noqa: PLC0415

        def chars(op, av) -> set[str] | None:
            items = [(op, av)] if op is sre_c.LITERAL else (av if op is sre_c.IN else [])
            out: set[str] = set()
            for o, a in items:
                lo, hi = (a, a) if o is sre_c.LITERAL else (a if o is sre_c.RANGE else (0, 0))
                if lo <= 127:
                    return None
                out |= {chr(c) for c in range(lo, hi + 1)}
            return out or None

        usual = set("āēīōūĀĒĪŌŪ’‘“”–—…")
        needed: set[str] = set()
        (op, (_, branches)), = list(sre_p.parse(BADNESS_RE.pattern, BADNESS_RE.flags))
        if op is not sre_c.BRANCH:
            return None
        for branch in branches:
            sets = [c for c in (chars(o, a) for o, a in branch) if c]
            if not sets:
                return None
            needed |= min(sets, key=lambda c: (len(c & usual), len(c)))
        return frozenset(needed)
    except Exception:  # noqa: BLE001 (another ftfy or Python version: always run ftfy's own test)
        return None


_MOJIBAKE_CHARS = _mojibake_chars()
#: A character class of :data:`_MOJIBAKE_CHARS`: one regex scan of a text is twice as fast as
#: ``frozenset.isdisjoint``, which makes a string of each of its characters (61,000 cells at 200,000 rows).
_MOJIBAKE_RE = (re.compile("[" + "".join(map(re.escape, sorted(_MOJIBAKE_CHARS))) + "]")
                if _MOJIBAKE_CHARS else None)


@functools.lru_cache(maxsize=1 << 16)
def _fix_non_ascii(value: str) -> str:
    """:func:`fix_cell` of a non-ASCII string, once per distinct string (form-letter copies repeat)."""
    if _MOJIBAKE_RE is not None and _MOJIBAKE_RE.search(value) is None:
        return value  # ftfy.is_bad cannot match: none of the characters every mojibake pattern needs
    return ftfy.fix_text(value, _FTFY_CONFIG) if ftfy.is_bad(value) else value


_WS = re.compile(r"\s+")


@functools.lru_cache(maxsize=1 << 16)
def norm_key(value: str | None) -> str:
    """Normalise a label for matching: NFC, case-folded, whitespace collapsed, curly quotes straightened.

    ``None`` (a blank cell) normalises to ``""``.
    """
    if value is None:
        return ""
    value = unicodedata.normalize("NFC", value).replace("\u2019", "'").replace("\u2018", "'")
    value = value.replace("\u201c", '"').replace("\u201d", '"').replace("\u2013", "-").replace("\u2014", "-")
    return _WS.sub(" ", value).strip().casefold()
