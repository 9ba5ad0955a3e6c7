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
    body = _SENT_FROM_RE.sub(" ", text) if "sent from" in text.lower() or "outlook" in text.lower() else text
    m = _GREETING_RE.match(body)
    if m and m.end() < len(body):
        body = body[m.end():]
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
        body = body[: last.start(1)]
    return body.strip()


def normalise(text: str) -> str:
    """Matching key of an answer: boilerplate stripped, case/diacritics folded, punctuation dropped."""
    s = strip_boilerplate(text).casefold()
    if s.isascii():
        return " ".join(s.translate(_ASCII_PUNCT).split())
    s = _COMBINING_RE.sub("", unicodedata.normalize("NFKD", s))
    s = _CJK_RE.sub(r" \1 ", s)
    return " ".join(_NONWORD_RE.sub(" ", s).split())


def split_sentences(text: str) -> list[str]:
    """Sentences (and lines) of a text, stripped, without empties."""
    return [s.strip() for s in _SENTENCE_RE.split(text) if s and s.strip()]


def _key(sentence: str) -> str:
    s = sentence.casefold()
    if s.isascii():
        return " ".join(s.translate(_ASCII_PUNCT).split())
    s = _COMBINING_RE.sub("", unicodedata.normalize("NFKD", s))
    return " ".join(_NONWORD_RE.sub(" ", s).split())


