"""Detectors for personal identifiers other than names and addresses: regexes, libphonenumber, check digits.

Every detector yields ``(start, end, kind)`` spans over the input text:

* ``EMAIL``: ``local@domain.tld`` and obfuscated forms ("jane (at) example (dot) com", "jane[at]example.org",
  "JANE AT EXAMPLE DOT COM", "jane.doe at example dot co dot nz");
* ``URL``: ``http(s)://`` and ``www.`` links, and bare domains with a path or a common TLD
  ("janedoe.co.nz/about", "myblog.com"), unless institutional (:func:`url_is_personal`);
* ``PHONE``: libphonenumber's matcher over the NZ, AU, GB and US numbering plans (US covers Canada: both
  are NANP), national formats without a country code and any ``+`` number; plus any 7+ digit number
  right after "phone", "mobile", "tel", "call me on" ...;
* ``IP_ADDRESS``: IPv4 / IPv6 validated by :mod:`ipaddress`;
* ``DATE_OF_BIRTH``: a full date right after "DOB", "date of birth", "born (on)", "birthday";
* ``SOCIAL_HANDLE``: ``@name`` (not an email);
* ``IRD`` / ``NHI`` / ``CARD``: check digits (IRD mod-11, NHI mod-11 / mod-23 in upper or lower case,
  card Luhn) keep look-alike numbers (dates, amounts, section numbers, reference codes) out.

Names are in :mod:`analysis.redaction.names`, addresses in :mod:`analysis.redaction.addresses`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from functools import lru_cache
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
NHI_RE = re.compile(r"\b(?:[A-HJ-NP-Z]{3}(?:\d{4}|\d{2}[A-HJ-NP-Z]{2})|[a-hj-np-z]{3}(?:\d{4}|\d{2}[a-hj-np-z]{2}))\b")
# 13-19 digit card numbers: contiguous, 4-4-4-4(-3), or Amex 4-6-5; major issuer prefixes only.
CARD_RE = re.compile(
    r"(?<![\w.,-])(?:(?:4\d{3}|5[1-5]\d{2}|2[2-7]\d{2}|6\d{3})(?:[ -]?\d{4}){3}(?:[ -]?\d{1,3})?"
    r"|3[47]\d{2}[ -]?\d{6}[ -]?\d{5})(?![\w]|[.,]\d)"
)

#: Runs of digits and phone separators (the matcher's windows).
_PHONE_CANDIDATE = re.compile(r"\+?\(?\d[\d \t().\-/]{5,24}\d")
_DATE_LIKE = re.compile(r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{2,4}")
#: Numbering plans tried for numbers written without a country code (US also validates Canada: NANP).
PHONE_REGIONS = ("NZ", "AU", "GB", "US")
#: A number announced as a phone: redacted even when no numbering plan accepts it.
PHONE_CUE_RE = re.compile(
    r"(?i:\b(?:ph|phone|tel|telephone|mob|mobile|cell|cellphone|fax|whats[ -]?app|call(?:[ \t]+me)?(?:[ \t]+on|[ \t]+at)?"
    r"|text(?:[ \t]+me)?(?:[ \t]+on|[ \t]+at)?|ring(?:[ \t]+me)?(?:[ \t]+on)?|reach(?:ed)?[ \t]+(?:me[ \t]+)?on"
    r"|(?:my|contact|phone|mobile|home|work)[ \t]+number(?:[ \t]+is)?|number[ \t]+is)\b\.?[ \t]*(?:no\.?|number|#)?[ \t]*[:\-]?)[ \t]*"
    r"(\+?\(?\d[\d \t().\-]{5,18}\d)(?![\d])"
)
_TLDS = r"com|net|org|info|biz|io|co|app|dev|blog|site|online|xyz|tech|news|nz|au|uk|ca|us|ie|me|tv|ly"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
#: A bare domain (no scheme, no ``www.``): "janedoe.co.nz", "myblog.com/about".
BARE_URL_RE = re.compile(
    rf"(?<![\w@./\-])(?:{_LABEL}\.)+(?:{_TLDS})(?![\w-])(?:/[^\s<>\"'()\[\]]*[^\s<>\"'()\[\].,;:!?])?"
)
_AT = r"(?:[ \t]*[(\[{<][ \t]*(?i:at)[ \t]*[)\]}>][ \t]*|[ \t]+AT[ \t]+|[ \t]*@[ \t]*|[ \t]+at[ \t]+)"
_DOT = r"(?:[ \t]*[(\[{<][ \t]*(?i:dot)[ \t]*[)\]}>][ \t]*|[ \t]+DOT[ \t]+|[ \t]+dot[ \t]+|\.)"
#: Obfuscated email addresses (at least one of "at" / "dot" spelled out or bracketed).
OBFUSCATED_EMAIL_RE = re.compile(
    rf"(?<![\w.+-])([\w.+-]+){_AT}([\w-]+(?:{_DOT}[\w-]+)*){_DOT}((?i:{_TLDS}|org|gov|edu|govt|ac|school))(?![\w])"
)
IPV4_RE = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
IPV6_RE = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_MONTH = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
_DATE = (
    rf"(?:\d{{1,2}}[/.\-]\d{{1,2}}[/.\-](?:\d{{4}}|\d{{2}})|\d{{4}}-\d{{1,2}}-\d{{1,2}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?[ \t]+(?:of[ \t]+)?{_MONTH},?[ \t]+\d{{4}}|{_MONTH}[ \t]+\d{{1,2}}(?:st|nd|rd|th)?,?[ \t]+\d{{4}})"
)
#: A full date announced as a date of birth (the date alone is redacted).
DOB_RE = re.compile(
    rf"(?i:\b(?:d\.?o\.?b\.?|date[ \t]+of[ \t]+birth|birth[ \t]*date|birthday|born(?:[ \t]+on)?)(?![\w])[ \t]*(?:is|was|:|-|=)?[ \t]*)"
    rf"(?P<date>(?i:{_DATE}))(?![\w])"
)
#: ``@name`` social-media handles (an email's ``@`` follows a word character and is excluded).
HANDLE_RE = re.compile(r"(?<![\w@.+-])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?(?![\w@])")

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
    """Email addresses, plain and obfuscated ("jane (at) example (dot) com")."""
    if "@" in text:
        for m in EMAIL_RE.finditer(text):
            yield m.start(), m.end(), "EMAIL"
    if not obfuscation_hint(text):
        return
    for m in OBFUSCATED_EMAIL_RE.finditer(text):
        raw = m.group(0)
        if "@" in raw and "dot" not in raw.lower():
            continue  # a plain address: EMAIL_RE's job
        plain_words = " at " in raw and not re.search(r"[(\[{<]|AT|DOT", raw)
        if plain_words and not re.search(r"[._\d]", m.group(1)):
            continue  # "look at the dot com bubble": plain words need an address-like local part
        yield m.start(), m.end(), "EMAIL"


_OBFUSCATION_HINTS = ("at)", "at]", "at}", "at>", "dot")


_BIRTH_HINTS = ("born", "birth", "dob", "d.o.b")


def obfuscation_hint(text: str) -> bool:
    """The gate of the obfuscated-address scan (:func:`find_emails`): "dot", a bracketed "at" or " AT "."""
    low = lowered(text)
    return any(h in low for h in _OBFUSCATION_HINTS) or " AT " in text


def birth_hint(text: str) -> bool:
    """The gate of :func:`find_dobs`: "born", "birth", "dob" or "d.o.b", in any case."""
    low = lowered(text)
    return any(h in low for h in _BIRTH_HINTS)
_URL_HINT = re.compile(rf"://|www\.|\.(?:{_TLDS})")


_ASCII_DIGIT = re.compile("[0-9]")


@lru_cache(maxsize=8)
def has_digit(text: str) -> bool:
    """Whether ``text`` holds an ASCII digit (cached: every numeric detector asks about the same text)."""
    return _ASCII_DIGIT.search(text) is not None


@lru_cache(maxsize=8)
def lowered(text: str) -> str:
    """``text.lower()``, cached: the e-mail, URL, date-of-birth and name detectors each read it for the same text."""
    return text.lower()


_LONG_RUN = re.compile(r"\d(?:[ .\-]?\(?\)?\d){6,}")


@lru_cache(maxsize=8)
def has_long_number(text: str) -> bool:
    """Whether ``text`` holds 7+ digits in a row (single spaces, dots, dashes or brackets between):
    without one there is no phone, IRD or card number."""
    return has_digit(text) and _LONG_RUN.search(text) is not None


def find_urls(text: str) -> Iterator[Span]:
    """URLs that may identify a person (see :func:`url_is_personal`), with or without scheme / ``www.``."""
    if not _URL_HINT.search(lowered(text)):
        return
    for m in URL_RE.finditer(text):
        if url_is_personal(m.group(0)):
            yield m.start(), m.end(), "URL"
    for m in BARE_URL_RE.finditer(text):
        raw = m.group(0)
        host = raw.split("/", 1)[0]
        if host.rsplit(".", 1)[-1] in ("me", "us", "ly", "co") and host.count(".") == 1 and "/" not in raw:
            continue  # "call.me", "help.us": a missing space after a full stop, not a site
        if url_is_personal(raw):
            yield m.start(), m.end(), "URL"


def find_cards(text: str) -> Iterator[Span]:
    """Payment card numbers passing the Luhn check."""
    if not has_long_number(text):
        return
    for m in CARD_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            yield m.start(), m.end(), "CARD"


def find_ird(text: str) -> Iterator[Span]:
    """NZ IRD numbers passing the mod-11 check (grouped consistently: all or no separators)."""
    if not has_long_number(text):
        return
    for m in IRD_RE.finditer(text):
        raw = m.group(0)
        seps = re.findall(r"\D", raw)
        if seps and (len(seps) != 2 or seps[0] != seps[1]):
            continue
        if ird_valid("".join(m.groups())):
            yield m.start(), m.end(), "IRD"


def find_nhi(text: str) -> Iterator[Span]:
    """NZ NHI numbers (whole words, all upper or all lower case) passing the check character."""
    if not has_digit(text):
        return
    for m in NHI_RE.finditer(text):
        if nhi_valid(m.group(0)):
            yield m.start(), m.end(), "NHI"


def find_ips(text: str) -> Iterator[Span]:
    """IPv4 and IPv6 addresses (valid per :mod:`ipaddress`; IPv6 needs at least 6 characters)."""
    for regex, min_len, hint in ((IPV4_RE, 7, text.count(".") >= 3 and has_digit(text)),
                                 (IPV6_RE, 6, "::" in text or text.count(":") > 2)):
        for m in regex.finditer(text) if hint else ():
            if len(m.group(0)) < min_len:
                continue
            try:
                ipaddress.ip_address(m.group(0))
            except ValueError:
                continue
            yield m.start(), m.end(), "IP_ADDRESS"


def find_dobs(text: str) -> Iterator[Span]:
    """Dates of birth: a full date right after "DOB", "date of birth", "born (on)" or "birthday"."""
    if not birth_hint(text):
        return
    for m in DOB_RE.finditer(text):
        yield m.start("date"), m.end("date"), "DATE_OF_BIRTH"


def find_handles(text: str) -> Iterator[Span]:
    """Social-media handles written ``@name``."""
    if "@" not in text:
        return
    for m in HANDLE_RE.finditer(text):
        yield m.start(), m.end(), "SOCIAL_HANDLE"


def _plausible_regions(candidate: str, regions: tuple[str, ...]) -> tuple[str, ...]:
    """Plans worth trying for a digit run: ``+`` numbers parse in any one; a leading 0 is a trunk prefix
    (NZ, AU, GB); NANP numbers (US, Canada) have none."""
    if candidate.startswith("+"):
        return regions[:1]
    first = candidate.lstrip("(")[:1]
    if first == "0":
        return tuple(r for r in regions if r != "US")
    if first == "1":
        return tuple(r for r in regions if r in ("AU", "US"))  # AU 1300 / 1800, NANP 1-xxx
    return tuple(r for r in regions if r == "US")


def _valid_whole(candidate: str, regions: tuple[str, ...]) -> bool:
    """Fast path: the whole run is one valid number of a plan, its trunk prefix written (0 for NZ / AU / GB)."""
    digits = "".join(c for c in candidate if c.isdigit())
    for region in regions:
        if not candidate.startswith("+") and (digits[0] != "0" if region != "US" else len(digits) not in (10, 11)):
            continue
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if candidate.startswith("+"):
            return phonenumbers.is_valid_number(number)
        # per-region validity: is_valid_number would first search all 25 NANP regions for a US number
        if any(phonenumbers.is_valid_number_for_region(number, r) for r in (("US", "CA") if region == "US" else (region,))):
            return True
    return False


def find_phones(text: str, regions: tuple[str, ...] = PHONE_REGIONS) -> Iterator[Span]:
    """Phone numbers valid in any of ``regions`` (national formats) or written with ``+``, and numbers after
    a phone cue ("ph", "mobile", "call me on") whatever their plan.

    libphonenumber's matcher runs on a small window around each run of 7+ digits (not on the whole
    text once per region: 5x faster on answers that hold years and amounts).
    """
    if not has_long_number(text):
        return
    for m in _PHONE_CANDIDATE.finditer(text):
        n_digits = sum(c.isdigit() for c in m.group(0))
        if n_digits < 7:
            continue
        regions_here = _plausible_regions(m.group(0), regions)
        if _valid_whole(m.group(0), regions_here):
            yield m.start(), m.end(), "PHONE"
            continue
        if n_digits > 15 or _DATE_LIKE.fullmatch(m.group(0)):
            continue  # a card number or a date, whole: no phone inside
        lo, hi = max(0, m.start() - 2), min(len(text), m.end() + 2)
        window = text[lo:hi]
        for region in regions_here:
            found = list(phonenumbers.PhoneNumberMatcher(window, region, leniency=phonenumbers.Leniency.VALID))
            for match in found:
                yield lo + match.start, lo + match.end, "PHONE"
            if found and sum(x.end - x.start for x in found) >= len(m.group(0).strip()):
                break  # the whole run is a number of this plan: other plans add nothing
    for m in PHONE_CUE_RE.finditer(text):
        n_digits = sum(c.isdigit() for c in m.group(1))
        if 7 <= n_digits <= (15 if m.group(1).startswith("+") else 12):  # 13+ digits: a card, not a phone
            yield m.start(1), m.end(1), "PHONE"
