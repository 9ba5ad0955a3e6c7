"""Detection per piece: campaign copies are distinct texts made of the same sentences, each detected once.

A text is cut into **pieces** at its paragraph breaks (runs of two or more ``"\\n"``) and, inside a paragraph
without digits, at the space of a ``". "`` after a lower-case letter; each distinct piece is detected once
(:func:`analysis.redaction.redact._detect_piece`) and a text's spans are its pieces' spans, moved by the piece's
offset. That is exactly what the detectors find in the whole text (``redact._detect_uncached``) when

1. **nothing a detector reads crosses a cut**. Every pattern of :mod:`~analysis.redaction.names`,
   :mod:`~analysis.redaction.patterns` and :mod:`~analysis.redaction.addresses` matches within one line
   (``[ \\t]`` separators, ``\\S``, ``\\w``) and, apart from those named below, never across ``"x. Y"``; their
   look-arounds read one character (a line break or a space reads as the string's edge for every class they
   test: ``\\w``, ``.``, ``$``, ``\\b``, ``^``/``$`` in multi-line mode) or a word ("section ") that neither
   ends. What reads further, and what keeps it from crossing a cut:

   * a sign-off's name may follow after its punctuation and up to two line breaks ("Kind regards,\\n\\nJane",
     "Thanks. Jane"), must end its line (``_ends_line``), and a greeting's addressee ends its clause: no cut
     after a sign-off on the rest of its line, nor at the paragraph break after it (``_SIGNOFF``: the detector's
     own clause starts and pattern; a weak one followed by a word is skipped by the detector too);
   * a name run continues after an initial or a title ("Dr. Aroha", "U.S. Jane"), the title pattern reads the
     word after it and "..., Jane Smith." reads up to the line's end: no cut after them (``_ENDS_BADLY``);
   * "Love" and "Nā" close a letter only at the start of a line, an obfuscated address's "at" / "@" may follow
     its user part's full stop, and the speaker gate (" said") reads the space before the verb: no cut before
     them (``_STARTS_BADLY``);
   * address growth crosses one line break per segment (each segment starts with a capitalised word, a region
     or a postcode, never a line break: an empty line stops it) and every address needs a digit in its
     paragraph; the phone matcher reads two characters around a digit run: no sentence cut in a paragraph with
     a digit, no paragraph cut with a digit in the two characters before it or the four after it.

2. **each detector's gate reads the same**. Most gates are necessary for a match inside the match itself
   ("@", ``://``, a title, "ingoa", three dots for an IPv4 address): a piece holding a match passes them. The
   others (:data:`GATES`) can be on for the whole text and off for a piece that their scan would still find
   something in ("I am" in one paragraph, "my name  is" in another): the text is then detected whole. A gate's
   hint never spans a cut (no hint holds a line break or ``". "``; " said" is kept from it above), so the whole
   text's is on exactly when one of its pieces' is.

3. **spans of different pieces never interact**: ``_resolve`` only splits overlapping spans, and names merge
   when at most one character apart; a cut leaves two characters at least between them (``"\\n\\n"``, ``". "``).

``tests/test_redaction_pieces.py`` compares both paths on real and crafted texts, and shows that a naive cut
breaks each crafted one. Everything here is a pure function of the text: the same in either process.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from analysis.redaction import addresses, names, scan
from analysis.redaction import patterns as pp

_DIGIT_RE = re.compile(r"\d")
#: Every card, IRD and phone candidate holds such a run (their digits with spaces, dots, dashes, brackets, slashes).
_LONGISH_RE = re.compile(r"\d[\d \t().\-/]{5,}\d")
_SPEECH_VERB_RE = re.compile(r"said|says|told|wrote|writes|asked|explained|argued|claimed|claims|mentioned|noted")
_LAST_WORD_RE = re.compile(r"[A-Za-z]+\Z")
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")
#: After a weak sign-off ("thanks"), no punctuation and no line break: ``names._signoff_names`` skips it.
_WORD_AFTER_RE = re.compile(r"[ \t]*[^ \t,.!:;\-\u2013\u2014\r\n]")
#: What may not start the sentence after a cut: a short sign-off that must start its line ("Love", "Nā"), the "at"
#: or "@" of an obfuscated address whose user part ends the sentence before, and the verbs whose gate (" said")
#: reads the space before them.
_NEXT_BLOCKS_RE = re.compile(r"(?i:love|n[aā]|at[ \t]|[(\[{<@])|said|told|wrote|says|asked|AT[ \t]")


class Gate(NamedTuple):
    """A detector's gate read on the whole text, and whether its scan could find anything in a piece without it."""

    name: str
    hint: Callable[[str], bool]  # the detector's own gate
    could: Callable[[str], bool]  # necessary for the gated scan to find anything in a piece


def _could_intro(piece: str) -> bool:
    # without a hint ("I am", "name is", ...), _INTRO_RE needs a tab or two spaces between its words
    return ("\t" in piece or "  " in piece) and _first(scan.finditer(names._INTRO_RE, names._INTRO_GATE, piece))


def _could_relative(piece: str) -> bool:
    # without a hint ("my ", "our "), _RELATIVE_RE needs a tab after "my" / "our"
    low = pp.lowered(piece)
    return ("my\t" in low or "our\t" in low) and _first(scan.finditer(names._RELATIVE_RE, names._RELATIVE_GATE, piece))


def _first(matches: object) -> bool:
    return next(iter(matches), None) is not None  # type: ignore[call-overload]


#: The gates that a match does not itself pass (every scan under them needs what ``could`` looks for).
GATES: tuple[Gate, ...] = (
    Gate("digit", pp.has_digit, lambda p: _has_digit(p)),  # ASCII digits; the scans under it need \d (any script)
    Gate("long_number", pp.has_long_number, lambda p: _has_digit(p) and _LONGISH_RE.search(p) is not None),
    Gate("obfuscated_email", pp.obfuscation_hint, lambda p: pp.OBFUSCATED_EMAIL_RE.search(p) is not None),
    Gate("birth", pp.birth_hint, lambda p: _has_digit(p) and pp.DOB_RE.search(p) is not None),
    Gate("street", addresses.street_hint, lambda p: _has_digit(p) and addresses.STREET_RE.search(p) is not None),
    Gate("city", addresses.city_hint, lambda p: _has_digit(p) and addresses._POSTCODE_HINT.search(p) is not None),
    Gate("intro", names.intro_hint, _could_intro),
    Gate("speech", names.speech_hint,
         lambda p: _SPEECH_VERB_RE.search(p) is not None and names._SPEECH_RE.search(p) is not None),
    Gate("relative", names.relative_hint, _could_relative),
)


def hints(piece: str) -> int:
    """The :data:`GATES` that ``piece`` passes, as bits."""
    bits = 0
    for bit, hint in _HINTS:
        if hint(piece):
            bits |= bit
    return bits


def could(piece: str, gates: int) -> int:
    """Those of ``gates`` (bits) whose scan could find something in ``piece``, as bits."""
    return sum(1 << i for i, g in enumerate(GATES) if gates >> i & 1 and g.could(piece))


_HINTS = tuple((1 << i, g.hint) for i, g in enumerate(GATES))

_NEW_LINE, _SIGNOFF, _ENDS_BADLY, _STARTS_BADLY, _DIGIT = 1, 2, 4, 8, 16


def _sentence(part: str) -> int:
    """What a cut reads of ``part``, a text between two ``". "`` or a paragraph's edges, as bits:

    * ``_NEW_LINE``: it holds a line break (its last line starts a new line);
    * ``_SIGNOFF``: a sign-off or greeting starts one of its last line's clauses (``names._SIGNOFF_RE`` at one of
      ``names._cue_starts``): its name may be read up to the end of that line, or on the next lines, so no cut
      follows on that line, nor at the paragraph break after it;
    * ``_ENDS_BADLY``: no sentence cut after it and its full stop: no lower-case letter ends it (an initial, "U.S."),
      a title does ("Dr."), or "..., Jane Smith." does (``names._TRAIL_RE`` reads up to the line's end);
    * ``_STARTS_BADLY``: no sentence cut before it: it starts with a space, or with what :data:`_NEXT_BLOCKS_RE`
      names;
    * ``_DIGIT``: it holds a digit (no sentence cut in its paragraph).
    """
    nl = part.rfind("\n")
    line = part[nl + 1:]
    bits = _NEW_LINE if nl >= 0 else 0
    for pos, first in names._cue_starts(line):
        m = names._SIGNOFF_RE.match(line, pos) if first in names._SIGNOFF_FIRST else None
        if m is not None and not (m.group("weak") and names.fold(m.group(0)) not in ("na", "love")
                                  and _WORD_AFTER_RE.match(line, m.end())):
            bits |= _SIGNOFF  # (a weak one followed by a word on its line is skipped by names._signoff_names)
            break
    word = _LAST_WORD_RE.search(line)
    if (line[-1:] not in _LOWER or (word is not None and word.group(0).lower() in names.TITLES)
            or names._TRAIL_RE.search(line + ".") is not None):
        bits |= _ENDS_BADLY
    if not part or part[0] in " \t\r\n" or _NEXT_BLOCKS_RE.match(part) is not None:
        bits |= _STARTS_BADLY
    if _has_digit(part):
        bits |= _DIGIT
    return bits


def _paragraph(text: str, lo: int, hi: int, seen: dict, out: list[tuple[int, int]]) -> bool:
    """Append to ``out`` the ``(a, b)`` of each sentence break of ``text[lo:hi]`` (a paragraph) that may be cut:
    in a paragraph without digits, a lower-case letter and a full stop before, one space ``[a, b)``, a word after.

    Returns:
        Whether a sign-off starts a clause of the paragraph's last line (no paragraph break may follow).
    """
    parts = text[lo:hi].split(". ")
    get = seen.get
    found: list[tuple[int, int]] = []
    pos, blocked, no_cut, digits = lo, False, True, 0
    for part in parts:
        bits = get(part)
        if bits is None:
            bits = seen[part] = _sentence(part)
        digits |= bits
        if not (no_cut or bits & _STARTS_BADLY):
            found.append((pos - 1, pos))
        if bits & _NEW_LINE:
            blocked = False
        blocked = blocked or bits & _SIGNOFF
        no_cut = blocked or bits & _ENDS_BADLY
        pos += len(part) + 2
    if found and not digits & _DIGIT:
        out += found
    return bool(blocked)


def _has_digit(text: str) -> bool:
    """Whether ``text`` holds a digit (``\\d``: any script; ASCII digits are the ASCII characters ``\\d`` matches)."""
    return _DIGIT_RE.search(text) is not None


def cuts(text: str, seen: dict) -> list[tuple[int, int]]:
    """The ``(start, end)`` of each piece of ``text`` (one piece when nothing may be cut).

    A paragraph break (two line breaks or more, ``[a, b)``) is cut unless a digit is within two characters
    before it or four after it, or a sign-off starts a clause of the line before it; a sentence break
    (:func:`_paragraph`) only in a paragraph without digits.

    Args:
        text: The text.
        seen: :func:`_sentence` of the texts between sentence breaks already seen (filled here).
    """
    breaks: list[tuple[int, int]] = []
    lo = 0
    a = text.find("\n\n")
    while a >= 0:
        b = a + 2
        while b < len(text) and text[b] == "\n":
            b += 1
        if not (_paragraph(text, lo, a, seen, breaks) or _has_digit(text[max(0, a - 2):a] + text[b:b + 4])):
            breaks.append((a, b))
        lo = b
        a = text.find("\n\n", b)
    _paragraph(text, lo, len(text), seen, breaks)
    if not breaks:
        return [(0, len(text))]
    bounds: list[tuple[int, int]] = []
    start = 0
    for a, b in breaks:
        bounds.append((start, a))
        start = b
    bounds.append((start, len(text)))
    return bounds
