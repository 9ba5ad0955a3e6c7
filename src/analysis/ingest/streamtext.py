"""A large UTF-8 export read from disk a block at a time, never held whole.

:func:`~analysis.ingest.text.decode_bytes` decodes a whole file at once: a 1.5 GB export with a few te reo Māori
macrons becomes a 3 GB string (two bytes a character) beside its 1.5 GB of bytes, for as long as it is parsed. A
file of at least :data:`STREAM_MIN_BYTES` that ``decode_bytes`` would read as plain UTF-8 (no byte-order mark other
than UTF-8's, not binary, not UTF-16, every byte valid UTF-8) is instead read in blocks cut after a line feed,
each decoded and cleaned as ``decode_bytes`` cleans the whole text (NUL characters removed, NFC): both are the same
a line at a time, since no character composes across a line feed. The file is read twice: once to check that it
is all UTF-8 and holds no line break other than CR and LF (with one, the whole-text reader is used), then as it is
parsed. Anything else (a forced encoding, a ``sep=`` line, control characters, a smaller file) returns ``None``:
the caller reads the whole text as before.
"""

from __future__ import annotations

import codecs
import itertools
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from analysis.errors import InputError
from analysis.ingest.text import _BOMS, _CONTROL, _looks_utf16, has_content, sniff_binary

#: Files from this size are read a block at a time (smaller ones are decoded whole, as before).
STREAM_MIN_BYTES = 64 << 20
#: Bytes read at a time (a block ends after its last line feed; a longer line makes a longer block).
BLOCK_BYTES = 16 << 20
#: Line breaks ``str.splitlines`` knows besides CR and LF (as :data:`analysis.ingest.tabular._OTHER_BREAKS`).
_OTHER_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def _blocks(path: Path, size: int) -> Iterator[bytes]:
    """The file's bytes in blocks of about ``size``, each ending just after a line feed (the last: the rest)."""
    rest = b""
    with open(path, "rb") as fh:
        while block := fh.read(size):
            block = rest + block
            cut = block.rfind(b"\n") + 1
            rest = block[cut:]
            if cut:
                yield block[:cut]
    if rest:
        yield rest


def _clean(text: str) -> str:
    """What ``decode_bytes`` does to the decoded text (``_finish``), for a piece ending at a line feed."""
    text = text.replace("\x00", "")
    return unicodedata.normalize("NFC", text) if not text.isascii() else text


class Utf8Blocks:
    """A UTF-8 file as cleaned text a block at a time; see the module docstring (built by :func:`open_utf8`)."""

    def __init__(self, path: Path, bom: bool, block: int, file: str | None = None):
        self.path, self.bom, self.block, self.file = path, bom, block, file or path.name

    def chunks(self) -> Iterator[str]:
        """The cleaned text, a block at a time.

        Raises:
            InputError: The file is no longer all UTF-8 (it was replaced while the run read it).
        """
        done = 0
        for i, data in enumerate(_blocks(self.path, self.block)):
            try:
                text = data.decode("utf-8-sig" if i == 0 and self.bom else "utf-8")
            except UnicodeDecodeError as err:
                raise InputError(self.file, f"the file changed while it was being read (not UTF-8 at byte "
                                 f"{done + err.start:,}, which it was when the run checked it): run again on a "
                                 "copy nobody is writing to") from None
            done += len(data)
            yield _clean(text.lstrip("\ufeff") if i == 0 else text)

    def lines(self) -> Iterator[str]:
        """The text's lines, ends kept, as ``io.StringIO(text, newline="")`` gives them."""
        return itertools.chain.from_iterable(c.splitlines(keepends=True) for c in self.chunks())

    def prefix(self, n: int) -> str:
        """The first ``n + 1`` characters of the cleaned text (all of it when shorter): what sniffing reads."""
        parts, size = [], 0
        for chunk in self.chunks():
            parts.append(chunk)
            size += len(chunk)
            if size > n:
                break
        return "".join(parts)[:n + 1]


def open_utf8(path: Path, encoding: str | None, min_bytes: int | None = None,
              block: int = BLOCK_BYTES, file: str | None = None) -> Utf8Blocks | None:
    """The file as :class:`Utf8Blocks` when it can be read a block at a time with the same result, else ``None``.

    Args:
        path: The file.
        encoding: The source's forced encoding (any: ``None`` is returned).
        min_bytes: Smallest file read in blocks (default :data:`STREAM_MIN_BYTES`; tests lower it).
        block: Bytes read at a time.
        file: The file's display name (in error messages).
    """
    min_bytes = STREAM_MIN_BYTES if min_bytes is None else min_bytes
    if encoding is not None or path.stat().st_size < max(min_bytes, 1):
        return None
    with open(path, "rb") as fh:
        start = fh.read(4000)
    bom = start.startswith(codecs.BOM_UTF8)
    if not bom and (any(start.startswith(b) for b, _ in _BOMS) or sniff_binary(start) or _looks_utf16(start)):
        return None
    head, content = "", False
    for i, data in enumerate(_blocks(path, block)):
        try:
            text = data.decode("utf-8-sig" if i == 0 and bom else "utf-8")
        except UnicodeDecodeError:
            return None  # not all UTF-8: the whole-text reader's fallbacks decide
        if any(c in text for c in _OTHER_BREAKS):
            return None
        if i == 0:
            text = text.lstrip("\ufeff")
        if len(head) < 20000:
            head += text[:20000]
        content = content or has_content(text)
    if not content or len(_CONTROL.findall(head[:20000])) > 0.05 * min(len(head), 20000):
        return None  # empty, or not text: the whole-text reader says so
    first = _clean(head.split("\n", 1)[0]).strip()
    if first.lower().startswith("sep="):
        return None
    return Utf8Blocks(path, bom, block, file)
