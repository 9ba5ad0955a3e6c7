"""Detectors for personal identifiers: regexes plus check-digit validators.

Every detector returns ``(start, end, kind)`` spans over the input text. The check-digit validators
(IRD mod-11, NHI mod-11 / mod-23, card Luhn) keep look-alike numbers (dates, amounts, section numbers,
reference codes) from being flagged. Used by :mod:`analysis.redaction` (redaction and the publication
guard); kept separate so the patterns can be tested and benchmarked on their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import phonenumbers

Span = tuple[int, int, str]

# --- check digits -------------------------------------------------------------------------------

_NHI_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # A-Z without I and O, valued 1..24


def ird_valid(digits: str) -> bool:
    """Validate a NZ IRD number with Inland Revenue's mod-11 check digit.

    Args:
        digits: 8 or 9 digits (separators already removed).

    Returns:
        True when the number is in range (10,000,000-150,000,000) and its check digit matches
        (primary weights 3,2,7,6,5,4,3,2; secondary weights 7,4,3,2,5,2,7,6 when the first gives 10).
    """
    if not digits.isdigit() or len(digits) not in (8, 9):
        return False
    value = int(digits)
    if not 10_000_000 < value < 150_000_000:
        return False
    base, check = digits[:-1].zfill(8), int(digits[-1])
    for weights in ((3, 2, 7, 6, 5, 4, 3, 2), (7, 4, 3, 2, 5, 2, 7, 6)):
        rem = sum(int(d) * w for d, w in zip(base, weights, strict=True)) % 11
        calc = 0 if rem == 0 else 11 - rem
        if calc != 10:
            return calc == check
    return False


def nhi_valid(code: str) -> bool:
    """Validate a NZ National Health Index number (HISO 10046).

    Old format ``AAANNNN`` (mod-11 check digit) and new format ``AAANNAA`` (mod-23 check letter);
    letters exclude I and O.
    """
    code = code.upper()
    if not re.fullmatch(r"[A-HJ-NP-Z]{3}(\d{4}|\d{2}[A-HJ-NP-Z]{2})", code):
        return False

    def val(c: str) -> int:
        return _NHI_ALPHABET.index(c) + 1 if c.isalpha() else int(c)

    total = sum(val(c) * (7 - i) for i, c in enumerate(code[:6]))
    if code[6].isdigit():
        rem = total % 11
        return rem != 0 and (11 - rem) % 10 == int(code[6])
    return _NHI_ALPHABET[(23 - total % 23) - 1] == code[6]


def luhn_valid(digits: str) -> bool:
    """Luhn (mod-10) check of a card number given as digits only."""
    if not digits.isdigit():
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


# --- regexes ------------------------------------------------------------------------------------

EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")
URL_RE = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'()\[\]]+[^\s<>\"'()\[\].,;:!?]", re.IGNORECASE)
# 8-9 digits, bare or grouped 2/3-3-3 with space, dash or dot; not part of a longer number.
IRD_RE = re.compile(r"(?<![\w.,/$+-])(?<![+(]\d)(?<!\d[ -])(\d{2,3})[ .-]?(\d{3})[ .-]?(\d{3})(?![\w/%]|[.,]\d|[ -]\d)")
NHI_RE = re.compile(r"\b[A-HJ-NP-Z]{3}(?:\d{4}|\d{2}[A-HJ-NP-Z]{2})\b")
# 13-19 digit card numbers: contiguous, 4-4-4-4(-3), or Amex 4-6-5; major issuer prefixes only.
CARD_RE = re.compile(
    r"(?<![\w.,-])(?:(?:4\d{3}|5[1-5]\d{2}|2[2-7]\d{2}|6\d{3})(?:[ -]?\d{4}){3}(?:[ -]?\d{1,3})?"
    r"|3[47]\d{2}[ -]?\d{6}[ -]?\d{5})(?![\w]|[.,]\d)"
)

STREET_TYPES = (
    "Street|St|Road|Rd|Avenue|Ave|Drive|Dr|Place|Pl|Terrace|Tce|Crescent|Cres|Lane|Ln|Way|Grove|Gr|"
    "Close|Court|Ct|Parade|Pde|Highway|Hwy|Boulevard|Blvd|Square|Sq|Quay|Rise|Heights|Hts|Esplanade|"
    "Mews|Track|Glade|Row|Walk|Loop|Promenade|Strand|Green|Mall"
)
_UNIT = r"(?:(?:Flat|Unit|Apartment|Apt|Suite|Level)\s+\d{1,4}[A-Za-z]?,?\s+)?"
_NUMBER = r"(?:\d{1,4}[A-Za-z]?/)?\d{1,5}[A-Za-z]?(?:-\d{1,5})?"
_STREET_WORDS = r"(?:[A-Z\u0100-\u017f][\w'\u0100-\u017f-]*\s+){1,3}"
ADDRESS_RE = re.compile(
    rf"(?<![\w$.,/])(?<!section )(?<!Section )(?<!article )(?<!Article )(?<!clause )(?<!Clause )"
    rf"{_UNIT}{_NUMBER}\s+{_STREET_WORDS}(?:{STREET_TYPES})\b"
    r"|\b(?:P\.?\s?O\.?\s?Box|Private\s+Bag)\s+\d{1,6}\b"
    r"|(?<![\w])R\.?D\.?\s?\d{1,2}\b"
)
# Candidate digit runs for the phone matcher (cheap pre-filter so texts without numbers skip it).
_PHONE_HINT = re.compile(r"\d[\d\s().\-/]{5,}\d")

#: Hosts of social networks / personal publishing: URLs there identify a person.
SOCIAL_HOSTS = (
    "facebook.com", "fb.com", "twitter.com", "x.com", "instagram.com", "linkedin.com", "tiktok.com",
    "youtube.com", "youtu.be", "github.com", "gitlab.com", "medium.com", "substack.com", "reddit.com",
    "pinterest.com", "tumblr.com", "wordpress.com", "blogspot.com", "threads.net", "mastodon.social",
    "bsky.app", "flickr.com", "vimeo.com", "soundcloud.com", "t.me", "wa.me", "snapchat.com",
)
#: Domain suffixes of institutions (government, education, NGOs, iwi): such URLs stay readable.
INSTITUTIONAL_SUFFIXES = (
    ".govt.nz", ".gov", ".mil", ".parliament.nz", ".ac.nz", ".edu", ".school.nz", ".iwi.nz", ".health.nz",
    ".org", ".org.nz", ".int", ".mil.nz", ".cri.nz",
)
_GOV_SLD = re.compile(r"\.(?:gov|govt|edu|ac|org)\.[a-z]{2}$")


def url_is_personal(url: str) -> bool:
    """Decide whether a URL may identify a person (and so must be redacted).

    Social-network and personal-publishing hosts are always personal; otherwise a URL is kept only
    when its host is institutional (government, education, ``.org``, iwi); everything else (personal
    sites, blogs, company sites that may be one person's) is treated as personal: privacy first.
    """
    raw = url if "://" in url else "http://" + url
    try:
        host = (urlsplit(raw).hostname or "").lower()
    except ValueError:
        return True
    host = host.removeprefix("www.")
    if any(host == h or host.endswith("." + h) for h in SOCIAL_HOSTS):
        return True
    if any(host.endswith(s) for s in INSTITUTIONAL_SUFFIXES) or _GOV_SLD.search(host):
        return False
    return True


# --- detectors ----------------------------------------------------------------------------------


def find_emails(text: str) -> Iterator[Span]:
    """Email addresses."""
    for m in EMAIL_RE.finditer(text):
        yield m.start(), m.end(), "EMAIL"


def find_urls(text: str) -> Iterator[Span]:
    """URLs that may identify a person (see :func:`url_is_personal`)."""
    for m in URL_RE.finditer(text):
        if url_is_personal(m.group(0)):
            yield m.start(), m.end(), "URL"


def find_cards(text: str) -> Iterator[Span]:
    """Payment card numbers passing the Luhn check."""
    for m in CARD_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            yield m.start(), m.end(), "CARD"


def find_ird(text: str) -> Iterator[Span]:
    """NZ IRD numbers passing the mod-11 check (grouped consistently: all or no separators)."""
    for m in IRD_RE.finditer(text):
        raw = m.group(0)
        seps = re.findall(r"\D", raw)
        if seps and (len(seps) != 2 or seps[0] != seps[1]):
            continue
        if ird_valid("".join(m.groups())):
            yield m.start(), m.end(), "IRD"


def find_nhi(text: str) -> Iterator[Span]:
    """NZ NHI numbers (upper case, whole words) passing the check character."""
    for m in NHI_RE.finditer(text):
        if nhi_valid(m.group(0)):
            yield m.start(), m.end(), "NHI"


def find_phones(text: str, region: str = "NZ") -> Iterator[Span]:
    """Phone numbers: libphonenumber's matcher for ``region`` (international ``+`` numbers included)."""
    if not _PHONE_HINT.search(text):
        return
    for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        yield m.start, m.end, "PHONE"


def find_addresses(text: str) -> Iterator[Span]:
    """NZ-style street addresses, PO Box / Private Bag and rural delivery (RD) numbers."""
    for m in ADDRESS_RE.finditer(text):
        yield m.start(), m.end(), "ADDRESS"


def name_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """Regex matching a respondent's names, or their parts of >= 3 letters, as whole words (any case)."""
    terms: set[str] = set()
    for name in names:
        if not name or not isinstance(name, str):
            continue
        name = " ".join(name.split())
        if len(name) >= 3:
            terms.add(name)
        parts = [p.strip(".'\"()") for p in re.split(r"[\s,]+", name)]
        for part in parts:
            if len(part) >= 3 and sum(c.isalpha() for c in part) >= 3:
                terms.add(part)
        for i in range(len(parts)):  # multi-word surnames: "Te Whata", "van der Berg"
            for j in range(i + 2, len(parts) + 1):
                terms.add(" ".join(parts[i:j]))
    if not terms:
        return None
    alts = "|".join(re.escape(t) for t in sorted(terms, key=lambda t: (-len(t), t)))
    return re.compile(rf"(?<!\w)(?:{alts})(?!\w)", re.IGNORECASE)


_NAME_WORD = r"[A-Z\u00c0-\u017f][\w'\u2019\u0100-\u017f-]+"
_PARTICLE = r"(?:van|von|de|der|den|da|di|du|le|la|te|ten|bin|al|el|Mac|Mc)"
#: A sign-off ("Kind regards,", "Ngā mihi") followed on the same or next line by 1-4 capitalised words
#: that end the line: the writer's signature.
SIGNOFF_NAME_RE = re.compile(
    r"(?:(?i:regards|sincerely|faithfully|yours truly|thanks|thank you|cheers|ng[aā] mihi(?: nui(?: rawa)?| maioha| mahana)?|n[aā]ku noa(?:,? n[aā])?|"
    r"best wishes|warm wishes|kind wishes))[ \t]*[,.!:\-–]?[ \t]*\n?[ \t]*"
    rf"({_NAME_WORD}(?:[ \t]+(?:{_PARTICLE}|{_NAME_WORD})){{0,3}})[ \t]*(?=\n|$|,)"
)


#: A self-introduction: "I'm Jane Smith", "My name is Jane", "This is Jane Smith writing", "Ko Jane Smith
#: tōku ingoa" (only with "tōku ingoa": "Ko Te Tiriti ..." is not a name). Two capitalised words are needed after "I'm"/"I am"/"This is" (one word there is usually not
#: a name: "I'm Māori", "I am Pākehā"); one is enough after "my name is".
INTRO_NAME_RE = re.compile(
    rf"(?:\b(?:I'm|I’m|I am|This is)\s+({_NAME_WORD}(?:\s+(?:{_PARTICLE}\s+)?{_NAME_WORD}){{1,2}})"
    rf"|\b(?i:my name is|my name's|my name’s)\s+({_NAME_WORD}(?:\s+(?:{_PARTICLE}\s+)?{_NAME_WORD}){{0,2}})"
    rf"|\bKo\s+({_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})\s+t[oō]ku\s+ingoa)"
)
#: Capitalised words that follow "I'm"/"I am" without being a name.
_NOT_NAMES = frozenset({
    "new", "zealand", "zealander", "aotearoa", "maori", "māori", "pākehā", "pakeha", "pacific", "kiwi", "nz",
    "the", "a", "an", "not", "very", "strongly", "also", "writing", "concerned", "opposed", "in", "on", "of", "and",
    "christian", "muslim", "jewish", "hindu", "buddhist", "samoan", "tongan", "chinese", "indian", "european",
})


def find_names(text: str, pattern: re.Pattern[str] | None) -> Iterator[Span]:
    """The respondent's own name (see :func:`name_pattern`), any signature after a sign-off, and
    self-introductions ("I'm Jane Smith") — the last for respondents whose export row has no name."""
    if pattern is not None:
        for m in pattern.finditer(text):
            yield m.start(), m.end(), "NAME"
    for m in SIGNOFF_NAME_RE.finditer(text):
        yield m.start(1), m.end(1), "NAME"
    for m in INTRO_NAME_RE.finditer(text):
        g = next(i for i in (1, 2, 3) if m.group(i))
        words = m.group(g).split()
        while words and words[-1].lower() in _NOT_NAMES:  # "I'm Jane Smith New Zealand born" -> keep the name
            words.pop()
        if not words or any(w.lower() in _NOT_NAMES for w in words):
            continue
        if g == 1 and len(words) < 2:
            continue
        start = m.start(g)
        yield start, start + len(" ".join(words)) if " ".join(words) == m.group(g)[: len(" ".join(words))] else m.end(g), "NAME"
