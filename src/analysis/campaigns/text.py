"""Text normalisation for campaign detection: boilerplate stripping, matching keys, sentences.

Split out of :mod:`analysis.campaigns` (which re-exports these names).
"""

from __future__ import annotations

import re
import unicodedata

_TITLE = r"\b(?:hon|mr|mrs|ms|mx|dr|rt|prof|sir)\."
_GREETING_RE = re.compile(
    r"^\s*(?:(?:dear|hi|hello|hey|greetings|good (?:morning|afternoon|day)|kia ora|t[eē]n[aā] (?:koe|koutou|kor[aā]ua)"
    rf"|to whom it may concern|attention|attn)\b(?:{_TITLE}|[^\n,:;!.]){{0,80}}(?:[,:;!.]|\n|$)\s*)+",
    re.IGNORECASE,
)
_SIGNOFF_WORDS = ("regards", "sincerely", "faithfully", "truly", "thank", "cheers", "mihi", "noa", "iti", "ora mai",
                  "wishes", "yours")
_SIGNOFF_RE = re.compile(
    r"(?<!\w)((?:(?:kind|best|warm|warmest|many)\s+)?regards|yours (?:sincerely|faithfully|truly)|sincerely"
    r"|many thanks|thanks|thank you|cheers|ng[aā] mihi|n[aā]ku (?:noa|iti)|noho ora mai|best wishes|yours)"
    r"\b",
    re.IGNORECASE,
)
_SENT_FROM_RE = re.compile(
    r"\b(?:sent from my [\w\- ]{2,30}?|get outlook for \w+)(?=\s*$|\s*\n|[.!])\.?", re.IGNORECASE
)
_CJK_RE = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff])")
_NONWORD_RE = re.compile(r"[\W_]+")
_ASCII_PUNCT = str.maketrans({c: " " for c in map(chr, range(128)) if not c.isalnum()})
_COMBINING_RE = re.compile(r"[\u0300-\u036f]+")
_SENTENCE_RE = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+|\s*\n\s*")
#: :func:`split_sentences`' separators: the whitespace after a sentence end (group 1), any whitespace run.
_END_SPACE_RE = re.compile(r"[.!?\u3002\uff01\uff1f](\s+)")
_SPACE_RUN_RE = re.compile(r"\s+")
_TOKEN_ONLY_RE = re.compile(r"^[\s\W]*(?:\[[A-Z]+\][\s\W]*)*$")
_SIGNOFF_TAIL = 160  # max characters (name, town ...) allowed after a sign-off phrase


def strip_boilerplate(text: str) -> str:
    """Remove a leading greeting, a trailing sign-off (and what follows it) and "Sent from my ..." lines.

    Args:
        text: One answer.

    Returns:
        The body, in its original case.
    """
    if not text:
        return ""
    body = _SENT_FROM_RE.sub(" ", text) if _has_sent_from(text) else text
    start, end = body_bounds(body)
    return body[start:end].strip()


def _has_sent_from(text: str) -> bool:
    low = text.lower()
    return "sent from" in low or "outlook" in low


def boilerplate_bounds(text: str) -> tuple[int, int] | None:
    """``body_bounds(text)`` when ``text`` holds no "Sent from ..." candidate (then :func:`strip_boilerplate` is
    ``text[start:end].strip()``), else ``None`` (:func:`strip_boilerplate` edits such a text first).

    The stage keeps these per distinct answer (:func:`analysis.campaigns.stage.normalise_all`), so that the copies'
    greetings and sign-offs are parsed once, not again for the templates, personal additions and submissions.
    """
    return None if _has_sent_from(text) else body_bounds(text)


def stripped(text: str, bounds: dict[str, tuple[int, int] | None] | None) -> str:
    """:func:`strip_boilerplate` of ``text``, cut at its :func:`boilerplate_bounds` when ``bounds`` holds them."""
    b = bounds.get(text) if bounds else None
    return strip_boilerplate(text) if b is None else text[b[0]:b[1]].strip()


def body_bounds(body: str) -> tuple[int, int]:
    """Where the body of a text without "Sent from my ..." starts and ends: :func:`strip_boilerplate` is
    ``body[start:end].strip()``.

    The character before ``start`` (when ``start > 0``) is a space or one of ``,:;!.`` and a line break (the
    greeting's end); the characters between the last non-space before ``end`` and ``end`` are spaces or tabs,
    and that last one is one of ``.!?,`` or a line break (a sign-off's start).
    """
    m = _GREETING_RE.match(body)
    start = m.end() if m and m.end() < len(body) else 0
    if start:
        body = body[start:]
    tail_start = max(0, len(body) - _SIGNOFF_TAIL - 40)
    tail = body[tail_start:].lower()
    last = None
    hit = max(map(tail.rfind, _SIGNOFF_WORDS))
    if hit >= 0:  # regex only around the last sign-off word (a full regex scan is 10x slower)
        abs_hit = tail_start + hit
        for m in _SIGNOFF_RE.finditer(body, max(tail_start, abs_hit - 12), abs_hit + 30):
            before = body[: m.start(1)].rstrip(" \t")
            after = body[m.end(1):m.end(1) + 3].lstrip(" \t")
            if m.start(1) <= abs_hit and (not before or before[-1] in ".!?\n,") and (
                not after or after[0] in ",.!\n[" or after[0].isupper()
            ):
                last = m
    if last is not None and len(body) - last.end() <= _SIGNOFF_TAIL and last.start(1) > 0:
        return start, start + last.start(1)
    return start, start + len(body)


def normalise(text: str) -> str:
    """Matching key of an answer: boilerplate stripped, case/diacritics folded, punctuation dropped."""
    return fold(strip_boilerplate(text))


def fold(s: str) -> str:
    """Case/diacritics folded, punctuation dropped: the tokens of ``s`` joined by single spaces.

    Each character is folded on its own (``casefold``; NFKD, which reorders combining marks only between two
    starters; dropping combining marks; spacing CJK; non-word characters to spaces), so at a cut between two
    characters either of which folds to a space, ``fold(a + b)`` is ``fold(a)`` and ``fold(b)`` joined by a
    space (empty parts left out). The ASCII branch gives what the other branch would.
    """
    s = s.casefold()
    if s.isascii():
        return " ".join(s.translate(_ASCII_PUNCT).split())
    s = _COMBINING_RE.sub("", unicodedata.normalize("NFKD", s))
    s = _CJK_RE.sub(r" \1 ", s)
    return " ".join(_NONWORD_RE.sub(" ", s).split())


def fold_sentences(s: str, memo: dict[str, str]) -> str:
    """:func:`fold` of ``s``, each piece between ". " folded once (``memo``: piece -> its fold, extended here).

    Both characters of the cut ". " fold to spaces, so the pieces' folds joined are ``fold(s)`` (see
    :func:`fold`); campaign copies repeat the same sentences, so most pieces are found in ``memo``.
    """
    out = []
    for piece in s.split(". "):
        key = memo.get(piece)
        if key is None:
            key = memo[piece] = fold(piece)
        if key:
            out.append(key)
    return " ".join(out)


def joined_key(parts: list[str], memo: dict[str, str], bounds: dict[str, tuple[int, int] | None] | None = None
               ) -> str:
    """``normalise("\\n\\n".join(parts))``, reusing the parts' keys in ``memo`` (text -> its ``normalise``).

    The joined text's body is cut where its own greeting ends and its sign-off starts (:func:`body_bounds`),
    and at the blank lines between the parts; a part with a known key is cut again where its own body starts
    and ends. Every cut has a character folding to a space on one side (a line break, a space, or the
    punctuation :func:`body_bounds` names), so the key is the pieces' folds joined (:func:`fold`), and a part's
    own body folds to its key.

    ``bounds`` (text -> :func:`boilerplate_bounds`, ``None`` for a text with a "Sent from" candidate), when given,
    spares re-parsing the parts: the joined text holds "sent from" or "outlook" (lower-cased) exactly when a part
    does (``str.lower`` maps each character on its own but for the Greek capital sigma, whose two lower forms are in
    neither phrase, and neither phrase holds the line breaks between the parts), and a part's own body is cut at
    its bounds.
    """
    text = "\n\n".join(parts)
    if bounds is None:
        sent = _has_sent_from(text)
    else:
        sent = any(bounds[p] is None if p in bounds else _has_sent_from(p) for p in parts)
    if sent:
        return normalise(text)
    start, end = body_bounds(text)
    out, pos = [], 0
    for part in parts:
        lo, hi = max(start - pos, 0), min(end - pos, len(part))
        pos += len(part) + 2
        if lo >= hi:
            continue
        key = memo.get(part)
        if key is not None:
            b = bounds.get(part) if bounds is not None else None
            p_lo, p_hi = body_bounds(part) if b is None else b
            if lo <= p_lo <= p_hi <= hi:
                out += [fold(part[lo:p_lo]), key, fold(part[p_hi:hi])]
                continue
        out.append(fold(part[lo:hi]))
    return " ".join(k for k in out if k)


def split_sentences(text: str) -> list[str]:
    """Sentences (and lines) of a text, stripped, without empties.

    The pieces of ``_SENTENCE_RE.split(text)``, found without trying the pattern at every position (it starts
    with a look-behind, so ``re`` cannot skip ahead). Both of its branches match only whitespace, and a match
    always runs to the end of its whitespace run (``\\s+`` and the last ``\\s*`` are greedy and followed by
    a non-space); a match can start only at the first character of a run (inside a run the character before is a
    space, not a full stop, and a run holding a line break is matched from its first character). So the
    separators are exactly the maximal whitespace runs that follow a sentence end or hold a line break.
    """
    spans = {m.span(1) for m in _END_SPACE_RE.finditer(text)}
    nl = text.find("\n")
    while nl >= 0:  # the whitespace run around each line break
        lo, hi = nl, _SPACE_RUN_RE.match(text, nl).end()
        while lo and text[lo - 1].isspace():  # str.isspace is re's \s for str patterns
            lo -= 1
        spans.add((lo, hi))
        nl = text.find("\n", hi)
    if not spans:
        s = text.strip()
        return [s] if s else []
    out, pos = [], 0
    for lo, hi in sorted(spans):
        s = text[pos:lo].strip()
        if s:
            out.append(s)
        pos = hi
    s = text[pos:].strip()
    if s:
        out.append(s)
    return out


def split_sentences_re(text: str) -> list[str]:
    """:func:`split_sentences` by ``_SENTENCE_RE.split`` (the definition; kept for the tests)."""
    return [s.strip() for s in _SENTENCE_RE.split(text) if s and s.strip()]


def _key(sentence: str) -> str:
    s = sentence.casefold()
    if s.isascii():
        return " ".join(s.translate(_ASCII_PUNCT).split())
    s = _COMBINING_RE.sub("", unicodedata.normalize("NFKD", s))
    return " ".join(_NONWORD_RE.sub(" ", s).split())


