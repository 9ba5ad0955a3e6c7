"""Publication guard: refuse to publish a reports folder that holds personal information or cannot be read.

The guard is the last line of defence after redaction, so it is deliberately **independent** of it: it has
its own, broader detectors (it imports nothing from :mod:`analysis.redaction.patterns` or
:mod:`analysis.redaction.redact`), and it **fails closed**: a file whose type it does not know, or that does
not parse, stops publication just like an identifier does.

What it looks for (kinds in findings):

* ``EMAIL`` (also obfuscated: ``jane (at) example (dot) com``), ``PHONE`` (libphonenumber's matcher over the
  NZ, AU, GB, US and CA numbering plans, and any ``+`` international number), ``IP_ADDRESS`` (v4 / v6),
  ``IRD`` / ``NHI`` / ``CARD`` (check digits: IRD mod-11, NHI mod-11 / mod-23 in any case, Luhn),
  ``POSTCODE`` (only with a city, state or street beside it: NZ, AU, UK, US ``City, ST 12345``, CA
  ``A1A 1A1``), ``ADDRESS`` (number + street name + street type, PO boxes), ``DATE_OF_BIRTH`` (a date after
  "born", "DOB", "date of birth"), ``SOCIAL_HANDLE`` (``@name``, ``u/name``), ``URL`` (personal pages:
  social-network profiles, ``/~user``, ``/@user``), ``NAME`` (a given name followed by a surname, a title
  and a surname, or a given name after a sign-off).
* With the consultation's processed folder, an exact check: no respondent's ``respondent_name`` or
  ``respondent_email``, and no ``organisation`` of a respondent who did not consent to be named, appears in
  any published file (``RESPONDENT_NAME``, ``RESPONDENT_EMAIL``, ``ORGANISATION``).

Redaction tokens (``[EMAIL]``, ``[NAME]`` ...) are never findings. What each file type contributes (text,
comments, attributes, embedded ``data:`` URIs, workbook cells and properties, PNG text chunks) and the rule for
PNG images (whose pixels cannot be read) are in ``docs/redaction.md`` ("Publication guard").
"""

from __future__ import annotations

import base64
import binascii
import bisect
import csv
import html.parser
import io
import ipaddress
import json
import logging
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import NamedTuple
from urllib.parse import unquote_to_bytes, urlsplit
from xml.parsers import expat

import pandas as pd
import phonenumbers

from analysis.errors import AnalysisError

logger = logging.getLogger(__name__)

Span = tuple[int, int, str]
#: One finding: ``(file relative to the reports folder, where in it, kind)``; never the value itself.
Finding = tuple[str, str, str]

#: Detector kinds, in priority order (an overlap goes to the earlier kind).
KINDS = ("EMAIL", "URL", "IP_ADDRESS", "CARD", "IRD", "NHI", "PHONE", "DATE_OF_BIRTH", "ADDRESS", "POSTCODE",
         "SOCIAL_HANDLE", "NAME")
#: Kinds of the exact check against ``core_responses``.
EXACT_KINDS = ("RESPONDENT_NAME", "RESPONDENT_EMAIL", "ORGANISATION")
PHONE_REGIONS = ("NZ", "AU", "GB", "US", "CA")
TEXT_SUFFIXES = frozenset({".md", ".txt", ".tsv", ".yml", ".yaml"})
MARKUP_SUFFIXES = frozenset({".svg", ".xml"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
#: Every suffix the guard can read; any other file fails the guard.
KNOWN_SUFFIXES = TEXT_SUFFIXES | MARKUP_SUFFIXES | HTML_SUFFIXES | {".csv", ".json", ".xlsx", ".png"}
_MAX_LISTED = 50


class PublicationGuardError(AnalysisError):
    """Identifiers were found in files about to be published, or some file could not be scanned.

    Attributes:
        findings: ``(file, where, kind)`` triples; ``where`` is a 1-based line number, ``Sheet!B5`` for a
            workbook cell, and ``73[data:image/svg+xml]:12`` for line 12 of a document embedded at line 73.
        unreadable: ``"could not scan <file>: <reason>"`` messages (unknown type, parse error ...).
    """

    def __init__(self, findings: list[Finding], unreadable: list[str] | None = None):
        self.findings = findings
        self.unreadable = list(unreadable or [])
        lines = []
        if findings:
            lines.append(f"publication guard: {len(findings)} personal identifier(s) found; "
                         "redact before publishing:")
            lines += [f"  - {f}:{where}: {kind}" for f, where, kind in findings[:_MAX_LISTED]]
            if len(findings) > _MAX_LISTED:
                lines.append(f"  ... and {len(findings) - _MAX_LISTED} more")
        if self.unreadable:
            lines.append(f"publication guard: {len(self.unreadable)} file(s) could not be scanned; "
                         "nothing unscanned is published:")
            lines += [f"  - {msg}" for msg in self.unreadable]
        super().__init__("\n".join(lines))


# =========================================================================================================
# Detectors
# =========================================================================================================

#: Upper-case Latin letters (with Latin-1 and Latin Extended-A, whose block mixes cases: callers check
#: ``str.isupper`` where it matters).
_UPPER = "A-ZÀ-ÖØ-ÞĀ-ž"
_WS = r"[ \t\u00a0]"


@lru_cache(maxsize=4)
def _lowered(text: str) -> str:
    """``text.lower()`` when it keeps every offset (else ``text``: callers then also try the other case)."""
    low = text.lower()
    return low if len(low) == len(text) else text


def _find_all(haystack: str, needle: str) -> Iterator[int]:
    """Every offset of ``needle`` (``str.find``: far faster than a regex without a literal prefix)."""
    i = haystack.find(needle)
    while i != -1:
        yield i
        i = haystack.find(needle, i + 1)


@lru_cache(maxsize=64)
def _needles_re(needles: tuple[str, ...], ignore_case: bool) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)),
                      re.IGNORECASE if ignore_case else 0)


def _anchors(text: str, needles: tuple[str, ...]) -> list[int]:
    """Sorted offsets of any of the (lower-case) ``needles`` in ``text``, case-insensitively (one regex pass
    over the lower-cased text; overlapping needles each report their own offset)."""
    low = _lowered(text)
    rx = _needles_re(needles, ignore_case=low is text)  # lower() changed lengths: match case-insensitively
    hits = {m.start() for m in rx.finditer(low)}
    for n in needles:  # a needle that starts inside a longer one's match
        if any(n in other and n != other for other in needles):
            hits |= set(_find_all(low, n))
    return sorted(hits)


def _free(rx: re.Pattern[str], text: str, glue: str = "", pos: int = 0, endpos: int | None = None,
          ) -> Iterator[re.Match[str]]:
    """Matches of ``rx`` not glued to the character before them (a letter, digit, ``_`` or one of ``glue``).

    Same result as a ``(?<![\\w...])`` lookbehind, but the regex can then start with a digit or a literal,
    which the regex engine scans for much faster (measured 2-4x on a 2.7 MB report).
    """
    for m in rx.finditer(text, pos, len(text) if endpos is None else endpos):
        i = m.start()
        if i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_" or text[i - 1] in glue):
            yield m


#: A run of digits with phone / card / IRD / IP separators: the one pass that those detectors share.
_NUMBER_RE = re.compile(r"[+(0-9][0-9 \t\u00a0().\-–/]{5,22}[0-9](?![\w/])")


@lru_cache(maxsize=4)
def _numbers(text: str) -> tuple[tuple[int, int], ...]:
    """Spans of :data:`_NUMBER_RE` not glued to a word, a dot, comma, slash or hyphen before them."""
    return tuple((m.start(), m.end()) for m in _free(_NUMBER_RE, text, ".,/-"))


# --- email -----------------------------------------------------------------------------------------------
#: Where an address can be: a plain "@", a bracketed "(at)" / "[@]", or a bare " at " between words.
_EMAIL_AT_RE = re.compile(r"[(\[{<][ \t]*(?:at|@)[ \t]*[)\]}>]|@|[ \t]at[ \t]", re.IGNORECASE)
_EMAIL_AT_NEEDLES = ("@", " at ", "(at", "[at", "{at", "<at", "( at", "[ at", "{ at", "< at")
_EMAIL_LOCAL_RE = re.compile(r"[\w.%+'-]+[ \t]*\Z")
_EMAIL_DOMAIN_RE = re.compile(r"[ \t]*[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])")
_DOT = r"(?:[ \t]*[(\[{<][ \t]*(?:dot|\.)[ \t]*[)\]}>][ \t]*|[ \t]+dot[ \t]+|[ \t]?\.[ \t]?)"
_TLD = r"(?:com|net|org|edu|gov|govt|co|nz|au|uk|us|ca|io|info|biz|ac|me|ie)"
_OBFUSCATED_DOMAIN_RE = re.compile(rf"[ \t]*[\w-]+(?:{_DOT}[\w-]+)*{_DOT}{_TLD}(?![\w-])", re.IGNORECASE)


def find_emails(text: str) -> list[Span]:
    """Email addresses, plain or written to dodge scrapers (``(at)``, ``[dot]``, ``at`` / ``dot``).

    A bare " at " counts only with a "dot" word after it ("jane at example dot com", not "look at page.com").
    """
    spans = []
    low = _lowered(text)
    for i in _anchors(text, _EMAIL_AT_NEEDLES):
        if low.startswith(" at ", i) and "dot" not in low[i:i + 90]:
            continue  # a bare " at " needs a "dot" word after it
        at = next((m for m in _EMAIL_AT_RE.finditer(text, max(0, i - 2), i + 8) if m.start() <= i < m.end()),
                  None)
        if at is None:
            continue
        plain = at.group(0) == "@"
        local = _EMAIL_LOCAL_RE.search(text, max(0, at.start() - 80), at.start())
        if local is None:
            continue
        domain = (_EMAIL_DOMAIN_RE if plain else _OBFUSCATED_DOMAIN_RE).match(text, at.end())
        if domain is None:
            continue
        if at.group(0).strip().lower() == "at" and "dot" not in domain.group(0).lower():
            continue
        spans.append((local.start(), domain.end(), "EMAIL"))
    return spans


# --- phone -----------------------------------------------------------------------------------------------
_DECIMAL_RE = re.compile(r"-?\d+\.\d+")  # a share or a coordinate, not a phone number


def find_phones(text: str) -> list[Span]:
    """Phone numbers valid in NZ, AU, GB, US or CA numbering plans, or international with ``+``.

    A cheap digit-run filter first; libphonenumber's matcher (``VALID`` leniency, which rejects dates,
    times and look-alike numbers) runs only on those windows.
    """
    spans = []
    for start, end in _numbers(text):
        number = text[start:end]
        if sum(c.isdigit() for c in number) < 7 or _DECIMAL_RE.fullmatch(number):
            continue
        lo = max(0, start - 4)
        found = [(lo + a, lo + b, "PHONE") for a, b in _valid_phones(text[lo:end + 1])]
        if not found and _possible_phone(number):
            found = [(start, end, "PHONE")]
        spans += found
    return spans


@lru_cache(maxsize=4096)
def _valid_phones(window: str) -> tuple[tuple[int, int], ...]:
    """libphonenumber's VALID matches in a short window, for each region (cached: tables repeat numbers)."""
    return tuple((m.start, m.end) for region in PHONE_REGIONS
                 for m in phonenumbers.PhoneNumberMatcher(window, region, leniency=phonenumbers.Leniency.VALID))


_DATE_LIKE_RE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")


def _possible_phone(number: str) -> bool:
    """A number not (yet) allocated but shaped like one: ``+`` and a possible international number, or a
    trunk ``0`` and 9-11 digits possible in one of :data:`PHONE_REGIONS` (libphonenumber's length rules).

    Catches e.g. AU mobiles and UK numbers in ranges the VALID matcher does not know; dates are excluded.
    """
    digits = sum(c.isdigit() for c in number)
    if _DATE_LIKE_RE.search(number):
        return False
    if number.startswith("+") and 8 <= digits <= 15:
        regions: tuple[str | None, ...] = (None,)
    elif number.lstrip("(").startswith("0") and 9 <= digits <= 11:
        regions = PHONE_REGIONS
    else:
        return False
    for region in regions:
        try:
            if phonenumbers.is_possible_number(phonenumbers.parse(number, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


# --- IP addresses ----------------------------------------------------------------------------------------
_IPV4_RE = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?!\w|\.[0-9])")
_IPV6_ANCHOR_RE = re.compile(r":[0-9A-Fa-f]{0,4}:")
_IPV6_CHARS = frozenset("0123456789abcdefABCDEF:.")


def find_ips(text: str) -> list[Span]:
    """IPv4 and IPv6 addresses (validated by :mod:`ipaddress`; an IPv6 needs 4+ hex digits, not "12:30:")."""
    spans = [(m.start(), m.end(), "IP_ADDRESS") for start, end in _numbers(text)
             for m in _free(_IPV4_RE, text, ".", start, end) if _is_ip(m.group(0))]
    last = -1
    for m in _IPV6_ANCHOR_RE.finditer(text):
        if m.start() < last:
            continue
        start, end = m.start(), m.end()
        while start > 0 and text[start - 1] in _IPV6_CHARS:
            start -= 1
        while end < len(text) and text[end] in _IPV6_CHARS:
            end += 1
        last = end
        value = text[start:end].rstrip(".")
        if sum(c.isalnum() for c in value) >= 4 and _is_ip(value) and not (
                (start and (text[start - 1].isalnum() or text[start - 1] == "_")) or
                (start + len(value) < len(text) and text[start + len(value)].isalnum())):
            spans.append((start, start + len(value), "IP_ADDRESS"))
    return spans


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


# --- check-digit identifiers -----------------------------------------------------------------------------
_IRD_RE = re.compile(r"[0-9]{2,3}[ \-]?[0-9]{3}[ \-]?[0-9]{3}(?![\w.,-][0-9]|\w)")
_NHI_DIGITS_RE = re.compile(r"[0-9]{2}(?:[0-9]{2}|[A-HJ-NP-Za-hj-np-z]{2})(?![\w-])")  # the part after 3 letters
_NHI_LETTERS_RE = re.compile(r"[A-HJ-NP-Za-hj-np-z]{3}")
_CARD_RE = re.compile(r"[2-6][0-9]{3}(?:[ \-]?[0-9]{2,4}){2,4}(?:[ \-]?[0-9]{1,3})?(?![\w]|[.-][0-9])")
_NHI_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def _mod11(digits: str, weights: Iterable[int]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11


def ird_ok(number: str) -> bool:
    """NZ IRD number check: 8-9 digits in 10,000,000-150,000,000 with a valid mod-11 check digit."""
    digits = re.sub(r"\D", "", number)
    if len(digits) not in (8, 9) or not 10_000_000 < int(digits) < 150_000_000:
        return False
    body, check = digits[:-1].rjust(8, "0"), int(digits[-1])
    for weights in ((3, 2, 7, 6, 5, 4, 3, 2), (7, 4, 3, 2, 5, 2, 7, 6)):
        rem = _mod11(body, weights)
        expected = (11 - rem) % 11
        if expected != 10:
            return expected == check
    return False


def nhi_ok(code: str) -> bool:
    """NZ NHI number check, any case: ``AAANNNN`` (mod-11 digit) or ``AAANNAA`` (mod-23 letter)."""
    code = code.upper()
    values = [(_NHI_LETTERS.index(c) + 1) if c.isalpha() else int(c) for c in code[:6]]
    total = sum(v * w for v, w in zip(values, range(7, 1, -1), strict=True))
    if code[6].isdigit():
        rem = total % 11
        return rem != 0 and (11 - rem) % 10 == int(code[6])
    return code[6] in _NHI_LETTERS and _NHI_LETTERS[22 - total % 23] == code[6]


def luhn_ok(digits: str) -> bool:
    """Luhn check of a card number given as digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def find_check_digit_ids(text: str) -> list[Span]:
    """Payment cards (13-19 digits, Luhn), NZ IRD numbers (mod-11) and NHI numbers (mod-11 / mod-23)."""
    spans = []
    for start, end in _numbers(text):
        for m in _free(_CARD_RE, text, ".-", start, end):
            digits = re.sub(r"\D", "", m.group(0))
            if 13 <= len(digits) <= 19 and luhn_ok(digits):
                spans.append((m.start(), m.end(), "CARD"))
        spans += [(m.start(), m.end(), "IRD") for m in _free(_IRD_RE, text, ".,-", start, end) if ird_ok(m.group(0))]
    for m in _NHI_DIGITS_RE.finditer(text):
        start = m.start() - 3
        if start >= 0 and _NHI_LETTERS_RE.fullmatch(text, start, m.start()) and not (
                start and (text[start - 1].isalnum() or text[start - 1] in "_-")) and nhi_ok(text[start:m.end()]):
            spans.append((start, m.end(), "NHI"))
    return spans


# --- addresses and postcodes -----------------------------------------------------------------------------
_STREET_TYPES = (
    "Street|St|Road|Rd|Avenue|Ave|Av|Drive|Dr|Place|Pl|Crescent|Cres|Cr|Lane|Ln|Terrace|Tce|Terr|Way|Court|Ct|"
    "Close|Boulevard|Blvd|Parade|Pde|Highway|Hwy|Grove|Gr|Quay|Square|Sq|Mews|Rise|Esplanade|Esp|Circle|Cir|"
    "Track|Walk|Glen|Heights|Hts|Row|Loop|Promenade|Wynd|Alley|Strand"
)
_NAME_WORD = rf"[{_UPPER}0-9][\w'’.-]*"
_FRENCH_STREET_TYPES = "Rue|Chemin|Avenue|Boulevard|Boul|Route|All[ée]e|Impasse|Rang|Place|C[ôo]te|Promenade|Quai"
_ADDRESS_RE = re.compile(
    rf"[0-9]{{1,5}}[A-Za-z]?(?:[/-][0-9]{{1,5}}[A-Za-z]?)?,?{_WS}+(?:(?:{_NAME_WORD}{_WS}+){{1,3}}(?:{_STREET_TYPES})\b\.?"
    rf"|(?:{_FRENCH_STREET_TYPES})\.?{_WS}+(?:de{_WS}+l[a'’]?{_WS}*|du{_WS}+|des{_WS}+)?{_NAME_WORD})"
)
_UNIT_BEFORE_RE = re.compile(r"\b(?:Flat|Unit|Apt|Apartment|Suite|Level)\s+\d+[A-Za-z]?,?\s+\Z", re.IGNORECASE)
_BOX_RE = re.compile(r"\b(?:P\.?\s?O\.?\s?Box|Private\s+Bag|Locked\s+Bag|PO\s+Box)\s+\d{1,6}\b", re.IGNORECASE)
_NZ_CITIES = (
    "Auckland|Wellington|Christchurch|Hamilton|Tauranga|Dunedin|Palmerston North|Napier|Hastings|Nelson|"
    "Rotorua|New Plymouth|Whang[aā]rei|Invercargill|Wh?anganui|Gisborne|Timaru|Blenheim|Porirua|Lower Hutt|"
    "Upper Hutt|Queenstown|Masterton|Levin|Taup[oō]|Ashburton|Oamaru|Paraparaumu|Te Awamutu|Whakat[aā]ne|"
    "Feilding|Greymouth|Thames|Tokoroa|H[aā]wera|Kerikeri|Pukekohe|Rangiora|Rolleston|Motueka|W[aā]naka|"
    "Westport|Kaik[oō]ura|Cambridge|Richmond|Waiuku|Matamata|Morrinsville|Stratford|Dannevirke|Gore|Picton"
)
_AU_STATES = "NSW|VIC|Vic|QLD|Qld|SA|WA|TAS|Tas|NT|ACT"
_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|"
    "OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC|PR"
)
_CA_PROVINCES = "AB|BC|MB|NB|NL|NS|NT|NU|ON|PE|QC|SK|YT"
_TOWN = rf"[{_UPPER}][\w'’.-]+(?:{_WS}[{_UPPER}][\w'’.-]+){{0,2}}"
_NUMERIC_CODE_RE = re.compile(r"[0-9]{4,5}(?:-[0-9]{4})?(?![\w-])")  # NZ / AU 4 digits, US ZIP (+4)
_CA_CODE_RE = re.compile(r"[ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z][ -]?[0-9][ABCEGHJ-NPRSTV-Z][0-9](?!\w)")
_UK_CODE_RE = re.compile(rf"[A-PR-UWYZ][A-HK-Y]?[0-9][A-Z0-9]?{_WS}?[0-9][ABD-HJLNP-UW-Z]{{2}}(?!\w)|GIR{_WS}?0AA")
#: What must come right before a code: a NZ city, an AU town + state, a US "City, ST", a CA town / province,
#: a UK town.
_BEFORE_4 = re.compile(rf"(?:(?P<nz>\b(?:{_NZ_CITIES}))|{_TOWN},?{_WS}+(?:{_AU_STATES})),?{_WS}+\Z")
_BEFORE_ZIP = re.compile(rf"{_TOWN},{_WS}+(?:{_US_STATES}){_WS}+\Z")
_BEFORE_CA = re.compile(rf"(?:{_TOWN},?{_WS}+(?:(?:{_CA_PROVINCES}),?{_WS}+)?|\b(?:{_CA_PROVINCES}),?{_WS}+)\Z")
_BEFORE_UK = re.compile(rf"{_TOWN},?(?:{_WS}+|{_WS}*\n{_WS}*)\Z")  # also on the next line of an address
_YEAR_CONTEXT_RE = re.compile(rf"\[ADDRESS\]|\b\d{{1,5}}[A-Za-z]?,?{_WS}+(?:{_NAME_WORD}{_WS}+){{1,3}}"
                              rf"(?:{_STREET_TYPES})\b|{_BOX_RE.pattern}", re.IGNORECASE)


def find_addresses(text: str) -> list[Span]:
    """Street addresses (number + capitalised street name + street type), PO boxes and private bags."""
    spans = []
    for m in _free(_ADDRESS_RE, text, "/.-"):
        unit = _UNIT_BEFORE_RE.search(text, max(0, m.start() - 24), m.start())
        spans.append((unit.start() if unit else m.start(), m.end(), "ADDRESS"))
    for i in _anchors(text, ("box", "bag")):
        m = next((m for m in _BOX_RE.finditer(text, max(0, i - 12), i + 12) if m.start() <= i < m.end()), None)
        if m:
            spans.append((m.start(), m.end(), "ADDRESS"))
    return spans


def find_postcodes(text: str) -> list[Span]:
    """Postcodes and ZIPs right after a city, state or province (a bare number is never one).

    NZ: a city then 4 digits (``Wellington 6011``); one that could be a year (1900-2099: "Auckland 2023")
    counts only after a street address, PO box or ``[ADDRESS]`` on the same line. AU: town + state + 4 digits.
    US: ``City, ST 12345``. CA: ``A1A 1A1`` after a town or province. UK: ``SW1A 1AA`` after a town.
    """
    spans = []
    for m in _free(_NUMERIC_CODE_RE, text, ".,-"):
        code = m.group(0)
        before = _code_context(text, m.start(), _BEFORE_4 if len(code) == 4 else _BEFORE_ZIP)
        if before is None:
            continue
        if len(code) == 4 and before.group("nz") and 1900 <= int(code) <= 2099 and not _address_line(
                text, before.start(), m.end()):
            continue
        spans.append((before.start(), m.end(), "POSTCODE"))
    for code_re, before_re in ((_CA_CODE_RE, _BEFORE_CA), (_UK_CODE_RE, _BEFORE_UK)):
        for m in _free(code_re, text):
            before = _code_context(text, m.start(), before_re)
            if before is not None:
                spans.append((before.start(), m.end(), "POSTCODE"))
    return spans


def _address_line(text: str, start: int, end: int) -> bool:
    """Whether "City YYYY" at ``start:end`` is an address line: after a street, PO box, ``[ADDRESS]`` or a
    suburb and comma on its line ("Ōtara, Auckland 2023"), or alone on its line."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = len(text) if text.find("\n", end) == -1 else text.find("\n", end)
    before = text[line_start:start]
    return bool(_YEAR_CONTEXT_RE.search(before) or re.search(rf"[{_UPPER}][\w'’-]+,{_WS}*\Z", before)
                or not (before.strip() or text[end:line_end].strip(" \t.")))


def _code_context(text: str, start: int, before_re: re.Pattern[str]) -> re.Match[str] | None:
    """The town / state right before a postcode at ``start`` (spaces after a word or comma), or None."""
    i = start - 1
    while i > 0 and text[i] in " \t\u00a0\n":
        i -= 1
    if i < 1 or i == start - 1 or not (text[i].isalpha() or text[i] == ","):
        return None
    return before_re.search(text, max(0, start - 60), start)


# --- dates of birth --------------------------------------------------------------------------------------
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DATE = (rf"(?:\d{{1,2}}[/.\-]\d{{1,2}}[/.\-]\d{{2,4}}|\d{{4}}-\d{{1,2}}-\d{{1,2}}|"
         rf"\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?\s+{_MONTH},?\s+\d{{4}}|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})")
_DOB_RE = re.compile(
    rf"\b(?:born(?:\s+on)?|d\.?\s?o\.?\s?b\.?|date\s+of\s+birth|birth\s?date|birthday)\s*(?:is|was)?\s*[:\-–]?\s*{_DATE}",
    re.IGNORECASE,
)


_DOB_NEEDLES = ("born", "birth", "dob", "d.o.b", "d. o. b", "d o b")


def find_dates_of_birth(text: str) -> list[Span]:
    """A full date after "born", "DOB", "date of birth" or "birthday"."""
    spans, last = [], -1
    for i in _anchors(text, _DOB_NEEDLES):
        if i < last:
            continue
        m = next((m for m in _DOB_RE.finditer(text, max(0, i - 9), i + 120) if m.start() <= i < m.end()), None)
        if m:
            spans.append((m.start(), m.end(), "DATE_OF_BIRTH"))
            last = m.end()
    return spans


# --- handles and personal URLs ---------------------------------------------------------------------------
_HANDLE_RE = re.compile(r"@(?=[\w.]*[A-Za-z])[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?(?![\w@-])")
_REDDIT_RE = re.compile(r"u/[A-Za-z0-9_-]{3,20}\b")
#: CSS at-rules, not people.
_NOT_HANDLES = frozenset({"@media", "@import", "@page", "@charset", "@namespace", "@supports", "@keyframes",
                          "@layer", "@container", "@property", "@document", "@viewport", "@font"})
#: Where a URL can be: a scheme, "www.", or a social network's domain followed by a path.
_URL_ANCHOR_RE = re.compile(r"://|www\.|\.(?:com|me|ee|net)/|/[@~]", re.IGNORECASE)
_URL_NEEDLES = ("://", "www.", ".com/", ".me/", ".ee/", ".net/", "/@", "/~")
#: A bare domain (``ashleyomalley.com``): letters, digits and hyphens, then a common top-level domain.
_BARE_DOMAIN_RE = re.compile(r"[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|net|org|info|biz|io|me|nz|au|uk|ca|us|ie)"
                             r"(?![\w-]|\.[a-z])", re.IGNORECASE)
_TLD_NEEDLES = (".com", ".net", ".org", ".info", ".biz", ".io", ".me", ".nz", ".au", ".uk", ".ca", ".us", ".ie")
_URL_HEAD_RE = re.compile(r"(?:https?|ftp)?(?::)?[\w.-]*\Z", re.IGNORECASE)
_URL_TAIL_RE = re.compile(r"[^\s\x00<>\"'`\])]*")
_SOCIAL_HOSTS = frozenset({"facebook.com", "fb.com", "instagram.com", "twitter.com", "x.com", "tiktok.com",
                           "github.com", "threads.net", "linktr.ee", "about.me", "wa.me", "t.me", "flickr.com",
                           "pinterest.com", "soundcloud.com", "vimeo.com", "snapchat.com", "patreon.com"})
_GENERIC_PATHS = frozenset({"", "home", "about", "help", "policies", "policy", "privacy", "legal", "terms",
                            "login", "signup", "search", "explore", "settings", "share", "sharer", "intent",
                            "hashtag", "watch", "pages", "groups", "events", "features", "pricing", "docs"})


def _personal_url(url: str) -> bool:
    parts = urlsplit(url if "://" in url else "https://" + url)
    host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("m.").removeprefix("mobile.")
    path = unquote_to_bytes(parts.path).decode("utf-8", "replace")
    first = path.strip("/").split("/", 1)[0].lower()
    if "/~" in path or first.startswith("@") or "@" in parts.netloc:
        return True
    if host in ("linkedin.com",) or host.endswith(".linkedin.com"):
        return first in ("in", "pub")
    if host in ("youtube.com", "youtu.be"):
        return first.startswith("@") or first in ("c", "user", "channel")
    if host == "reddit.com":
        return first in ("u", "user")
    if host == "medium.com":
        return first.startswith("@")
    if host in _SOCIAL_HOSTS:
        return first not in _GENERIC_PATHS
    return _personal_domain(host)


#: Hosts whose sub-domains are people's own pages (``jane.wordpress.com``).
_PERSONAL_PAGE_HOSTS = ("wordpress.com", "blogspot.com", "substack.com", "github.io", "wixsite.com", "weebly.com",
                        "squarespace.com", "tumblr.com", "neocities.org", "carrd.co", "medium.com")
#: Second-level labels of a two-part public suffix (``co.nz``, ``com.au``, ``org.uk`` ...).
_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "ac", "govt", "gov", "edu", "school", "iwi", "geek", "gen",
                           "maori", "id", "asn", "ltd", "plc", "me", "nom"})
_INSTITUTIONAL = frozenset({"gov", "govt", "ac", "edu", "mil", "int", "parliament", "health", "school", "iwi"})


def _personal_domain(host: str) -> bool:
    """A person's own site: a sub-domain of a personal-page host, or a domain named after a person
    (``priyafraser.co.uk``, ``josee-gagnon.com``, ``mckenzie-family.net``); never an institutional one."""
    labels = [x for x in host.split(".") if x]
    if len(labels) < 2 or _INSTITUTIONAL & set(labels):
        return False
    if any(host.endswith("." + h) and host != h for h in _PERSONAL_PAGE_HOSTS):
        return not host.startswith("www.")
    suffix = 2 if len(labels) > 2 and labels[-2] in _SECOND_LEVEL else 1
    name = labels[-suffix - 1]
    parts = [x for x in re.split(r"[-_]+", name) if x]
    if any(x in ("family", "whanau", "whānau", "home") for x in parts):
        return True
    lex = name_lexicon()
    if len(parts) >= 2:  # one known name and no ordinary word ("josee-gagnon", not "open-data")
        return any(len(x) > 2 and x in lex.folded for x in parts) and not any(lex.ordinary(x) for x in parts)
    return any((name[:i] in lex.folded and name[i:] in lex.folded) or (  # "priyafraser", "oliviawihongi"
        3 < i and 3 < len(name) - i < 13 and name[:i] in lex.folded_given and lex.unknown(name[i:])) or (
        3 < i < 9 and len(name) - i > 4 and name[i:] in lex.folded_surnames and lex.unknown(name[:i]))  # "ffiondavies"
        for i in range(3, len(name) - 2))


def _urls(text: str) -> Iterator[tuple[int, int]]:
    """Spans of URLs: ``scheme://...``, ``www....`` and ``domain.com/path``, found from their anchors."""
    last_end = -1
    for i in _anchors(text, _URL_NEEDLES):
        anchor = _URL_ANCHOR_RE.match(text, i)
        if anchor is None or i < last_end:
            continue
        head = _URL_HEAD_RE.search(text, max(0, i - 40), i)
        start = head.start() if head else i
        end = _URL_TAIL_RE.match(text, anchor.end()).end()
        last_end = end
        yield start, end


def _bare_domains(text: str) -> Iterator[tuple[int, int]]:
    """Spans of domain names written without scheme or path (``ashleyomalley.com``)."""
    last_end = -1
    for i in _anchors(text, _TLD_NEEDLES):
        if i < last_end:
            continue
        start = i
        while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "-."):
            start -= 1
        if start and (text[start - 1] in "@/_" or text[start - 1].isalnum()):
            continue  # part of an email address or a URL path
        m = _BARE_DOMAIN_RE.match(text, start)
        if m and m.end() > i:
            last_end = m.end()
            yield m.start(), m.end()


def find_handles_and_urls(text: str) -> list[Span]:
    """Social handles (``@name``, ``u/name``) and personal URLs (profiles, ``/~user``, ``/@user``)."""
    spans = [(s, e, "URL") for s, e in _urls(text) if _personal_url(text[s:e].rstrip(".,;:!?"))]
    spans += [(s, e, "URL") for s, e in _bare_domains(text) if _personal_domain(text[s:e].lower())]
    for m in _HANDLE_RE.finditer(text):
        if m.group(0).lower() not in _NOT_HANDLES and not (m.start() and text[m.start() - 1] in _HANDLE_STOP):
            spans.append((m.start(), m.end(), "SOCIAL_HANDLE"))
    spans += [(m.start(), m.end(), "SOCIAL_HANDLE") for m in _free(_REDDIT_RE, text, "/")]
    return spans


_HANDLE_STOP = frozenset("@.+/-_") | frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


# --- person names ----------------------------------------------------------------------------------------
#: Faker person-name locales whose given names and surnames are taken (Latin script).
NAME_LOCALES = ("en", "en_NZ", "en_GB", "en_IE", "en_US", "en_IN", "en_PK", "ga_IE", "fr_FR", "fr_CA", "fr_QC",
                "de_DE", "de_AT", "de_CH", "nl_NL", "es_ES", "es_MX", "es_CO", "it_IT", "pt_BR", "pt_PT", "pl_PL",
                "cs_CZ", "sk_SK", "hr_HR", "sl_SI", "hu_HU", "ro_RO", "da_DK", "sv_SE", "no_NO", "fi_FI",
                "is_IS", "id_ID", "tr_TR", "fil_PH", "vi_VN")
#: Common NZ given names (te reo Māori, Pasifika, romanised Chinese / Korean / Indian) missing from Faker.
EXTRA_GIVEN_NAMES = frozenset({
    "Anahera", "Aroha", "Awhina", "Hemi", "Hine", "Hinemoa", "Hohepa", "Kahurangi", "Kiri", "Manaia", "Mere",
    "Mereana", "Moana", "Ngaio", "Ngaire", "Pita", "Rangi", "Rawiri", "Rāwiri", "Rewi", "Tama", "Tamati",
    "Tāmati", "Tui", "Wiremu", "Losa", "Malia", "Mele", "Salote", "Sefa", "Sina", "Sione", "Tavita", "Tevita",
    "Viliami", "Lupe", "Wei", "Mei", "Jun", "Min-jun", "Ji-woo", "Seo-yeon", "Ji-ho", "Xin", "Hui", "Ming",
    "Jia", "Yan", "Deepak", "Arjun", "Sanjay", "Rajesh", "Sunita", "Anita",
})
#: Given names in Faker's lists that are mostly places or nature here: never taken as a given name.
PLACE_NAMES = frozenset({
    "Wellington", "Nelson", "Victoria", "Jordan", "India", "China", "Georgia", "Paris", "Sydney", "Florence",
    "Austin", "Dallas", "Denver", "Phoenix", "Israel", "America", "Africa", "Asia", "Europe", "Kenya", "Chelsea",
    "Brooklyn", "Kingston", "Hamilton", "Napier", "Auckland", "Canterbury", "Otago", "Tasman", "Waikato",
    "Houston", "Cairo", "Adelaide", "Darwin", "Perth", "Brisbane", "Hobart", "Vienna", "Geneva", "Milan",
    "London", "Berlin", "Madison", "Savannah", "Aspen", "Nevada", "Dakota", "Montana", "Carolina", "Indiana",
    "Arizona", "Tennessee", "Kauri", "Nikau", "Rata", "Totara", "Rimu", "Matai", "Manuka", "Kowhai", "Aotearoa",
    "Zealand", "Pacific", "Britain", "Ireland", "Scotland", "Wales", "Canada", "Australia",
})
#: A word this frequent in pyspellchecker's English word counts is an ordinary word ("grace", "mark", "brown",
#: "period": 14,000-60,000), not a name on its own; given names and surnames count 0-6,000 (measured).
ORDINARY_WORD_COUNT = 10_000
#: Below this count a capitalised word is rare enough to be a surname after a title ("Ms MacLeod": 50;
#: "Mr Speaker": 5,644 is not).
RARE_WORD_COUNT = 1_000
_TITLES = ("Mr", "Mrs", "Ms", "Mx", "Miss", "Dr", "Prof", "Professor", "Sir", "Dame", "Rev", "Revd", "Reverend", "Fr")
_PARTICLES = ("van", "von", "de", "der", "den", "da", "di", "du", "del", "della", "le", "la", "ter", "ten", "bin",
              "ibn", "al", "el", "te", "ní", "ni", "mac", "st")
_NAME_TOKEN = rf"[{_UPPER}][^\W\d_]*(?:['’-][^\W\d_]+)*"
_CAP_WORD_RE = re.compile(_NAME_TOKEN)  # callers check the character before (a lookbehind is 4x slower)
_WORD_TAIL_CHARS = frozenset("'’-")
_PARTICLE_RE = "|".join(sorted(set(_PARTICLES) | {p.title() for p in _PARTICLES}, key=len, reverse=True))
_SURNAME_AFTER_RE = re.compile(rf"[ \u00a0](?P<particles>(?:(?:{_PARTICLE_RE})[ \u00a0])*)(?P<surname>{_NAME_TOKEN})")
#: A speech verb after a pair of rare capitalised words ("As Ngoc Haddad said"): a person speaking.
_SAID_AFTER_RE = re.compile(rf"{_WS}+(?:said|says|told|wrote|writes|asked|explained|noted|argued|stated)\b")
_AFTER_TITLE_RE = re.compile(rf"\.?{_WS}+(?=[{_UPPER}])")
_ORG_WORDS = frozenset({
    "Ltd", "Limited", "Inc", "LLC", "LLP", "PLC", "Pty", "Co", "Company", "Corporation", "Corp", "Trust", "Council",
    "Society", "Group", "Foundation", "Association", "Network", "Alliance", "Institute", "Collective", "Forum",
    "Centre", "Center", "Club", "School", "College", "University", "Hospital", "Church", "Board", "Ministry",
    "Department", "Agency", "Authority", "Union", "Federation", "Party", "Partners", "Services", "Holdings",
    "Industries", "Solutions", "Consulting", "Press", "Media", "Studio", "Studios", "Farm", "Farms", "Marae", "Iwi",
})
_STREET_WORDS = frozenset(_STREET_TYPES.split("|")) | frozenset(_FRENCH_STREET_TYPES.split("|"))
_ORG_WORD_AFTER_RE = re.compile(rf"{_WS}+(?:{'|'.join(sorted(_ORG_WORDS))})\b")
#: Phrases after which the rest of the line is the writer's name: closings (also in te reo Māori and other
#: languages) and "Signed:" (lower case, matched at the end of the text before a candidate name).
_CLOSINGS = (
    "regards", "sincerely", "faithfully", "yours truly", "thanks", "thank you", "cheers", "best wishes",
    "respectfully", "signed", "ngā mihi", "nga mihi", "ngā mihi nui", "nga mihi nui", "nāku noa, nā",
    "naku noa, na", "nā", "na", "fa'afetai", "fa'afetai lava", "mālō ʻaupito", "malo aupito", "saludos",
    "saludos cordiales", "cordialement", "mit freundlichen grüßen", "mit freundlichen gruessen", "vinaka",
    "vinaka vakalevu", "met vriendelijke groet", "met vriendelijke groeten",
)
#: Introductions ("my name is", "Ko ... tōku ingoa") and greetings or a dash ("Dear Mia", "— Mia").
_INTRODUCTIONS = ("my name is", "i am", "i'm", "ko", "this is")
_GREETINGS = ("dear", "hi", "hello", "kia ora", "tēnā koe", "tena koe", "—", "–")


def _phrase_before(text: str, start: int, phrases: tuple[str, ...], closing: bool) -> str | None:
    """The phrase of ``phrases`` that ends right before ``start`` (as a whole word), or None.

    Between them: for a closing, a comma, colon or dash and up to two line breaks ("Kind regards,\\n\\n"), or
    a full stop and a line break; otherwise spaces and an optional comma or colon on the same line.
    """
    window = text[max(0, start - 40):start]
    core = window.rstrip(" \t\u00a0\n")
    newlines = window.count("\n", len(core))
    if closing:
        if newlines > 2:
            return None
        if core[-1:] in (",", ":", ";", "-", "–", "—"):
            core = core[:-1].rstrip(" \t\u00a0")
        elif core[-1:] in (".", "!") and newlines:
            core = core[:-1]
    else:
        if newlines:
            return None
        if core[-1:] in (",", ":"):
            core = core[:-1].rstrip(" \t\u00a0")
    low = core.lower()
    if not low.endswith(phrases):
        return None
    for phrase in phrases:
        if low.endswith(phrase) and (len(low) == len(phrase) or not low[-len(phrase) - 1].isalnum()
                                     or not phrase[0].isalnum()):
            return phrase
    return None


#: The signature after a closing: 1-5 name words (any case, initials, particles), an optional "(Mr)", then the
#: end of the line (or of a quoted cell).
_SIGNATURE_RE = re.compile(
    rf"(?P<name>(?:[^\W\d_][^\W\d_'’-]*(?:['’-][^\W\d_]+)*\.?|[^\W\d_]\.)(?:{_WS}+(?:[^\W\d_][^\W\d_'’-]*"
    rf"(?:['’-][^\W\d_]+)*|[^\W\d_]\.)){{0,4}})(?:{_WS}*\((?:Mr|Mrs|Ms|Mx|Miss|Dr)\.?\))?{_WS}*[.!]?"
    rf"(?:[\"”’)\]]{_WS}*,|[\"”’)\]]?{_WS}*(?:\n|\x00|\Z))"  # the end of the line, or of a quoted table cell
)


@dataclass(frozen=True)
class _NameLexicon:
    given: frozenset[str]
    surnames: frozenset[str]
    folded: frozenset[str]  # given names and surnames, lower-case without accents
    folded_given: frozenset[str]
    folded_surnames: frozenset[str]
    given_variants: frozenset[str]  # given names Title-cased, with and without accents
    word_counts: dict[str, int]  # lower-case English word -> pyspellchecker count

    def counts(self, word: str) -> int:
        """English word count of ``word`` (lower case), 0 for no English word."""
        return self.word_counts.get(word, 0)

    def is_given(self, word: str) -> bool:
        """A given name as written, or in another case / without accents ("DeShawn", "Josee")."""
        return word in self.given or (len(word) > 2 and word.title() in self.given_variants)

    def ordinary(self, word: str) -> bool:
        """A common English word (a given name from :data:`EXTRA_GIVEN_NAMES` never is)."""
        return word not in EXTRA_GIVEN_NAMES and self.word_counts.get(word.lower(), 0) >= ORDINARY_WORD_COUNT

    def unknown(self, word: str) -> bool:
        """Not an English word at all (no count): "Ngata", "Tuilagi", "Ffion"."""
        return self.word_counts.get(word.lower(), 0) == 0

    def rare(self, word: str) -> bool:
        """A word English text hardly uses (or not at all): "Ngata", "MacLeod", "Tuilagi"."""
        return self.word_counts.get(word.lower(), 0) < RARE_WORD_COUNT

    def is_name_word(self, word: str) -> bool:
        """Any given name or surname, in any case and with or without accents."""
        return _fold(word) in self.folded


@lru_cache(maxsize=1 << 16)
def _fold(word: str) -> str:
    """Lower case, without accents, apostrophes or hyphens: "O'Malley" -> "omalley", "Josée" -> "josee"."""
    return "".join(c for c in unicodedata.normalize("NFKD", word.lower()) if c.isalnum())


def _faker_names(attr_names: tuple[str, ...], locale: str) -> set[str]:
    import importlib

    try:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    except ModuleNotFoundError:
        return set()
    out: set[str] = set()
    for attr in attr_names:
        values = getattr(provider, attr, ())
        if isinstance(values, (dict, list, tuple, set, frozenset)):
            out.update(v for v in values if isinstance(v, str))
    return {v for v in out if v[:1].isupper() and v.replace("-", "").replace("'", "").isalpha()}


@lru_cache(maxsize=1)
def name_lexicon() -> _NameLexicon:
    """Given names and surnames (Faker's person providers) and English word counts (pyspellchecker).

    A given name that is also a very common English word ("Will", "May", "Hope") is kept, but such a token
    only makes a name with a surname after it that is not itself a common word (see :func:`find_names`);
    :data:`PLACE_NAMES` are removed.
    """
    from spellchecker import SpellChecker

    given: set[str] = set(EXTRA_GIVEN_NAMES)
    surnames: set[str] = set()
    for locale in NAME_LOCALES:
        given |= _faker_names(("first_names", "first_names_male", "first_names_female",
                               "first_names_nonbinary"), locale)
        surnames |= _faker_names(("last_names", "last_names_male", "last_names_female", "male_last_names",
                                  "female_last_names", "unisex_last_names"), locale)
    given -= PLACE_NAMES
    places = {_fold(w) for w in PLACE_NAMES}
    folded = frozenset(_fold(w) for w in given | surnames if len(w) > 2) - places
    folded_given = frozenset(_fold(w) for w in given if len(w) > 2) - places
    folded_surnames = frozenset(_fold(w) for w in surnames if len(w) > 2) - places
    variants = frozenset(v for w in given for v in (w.title(), _fold(w).title()))
    counts = dict(SpellChecker(language="en", distance=1).word_frequency.dictionary)
    return _NameLexicon(frozenset(given), frozenset(surnames), folded, folded_given, folded_surnames, variants,
                        counts)


def _word_at(text: str, pos: int) -> str | None:
    """The capitalised word starting exactly at ``pos`` (not inside another word)."""
    if pos and (text[pos - 1] in _WORD_TAIL_CHARS or text[pos - 1].isalnum()):
        return None
    m = _CAP_WORD_RE.match(text, pos)
    return m.group(0) if m else None


def _is_person(lex: _NameLexicon, given: str, surname: str) -> bool:
    """Whether ``given`` (a given name, or "" after a title) and ``surname`` make a person's name."""
    if len(surname) < 2 or surname.isupper() or surname in _ORG_WORDS or surname in _STREET_WORDS:
        return False
    if surname in lex.surnames or surname in lex.given:  # after a title ("Dr Brown") any known name
        return not given or not (lex.ordinary(given) and lex.ordinary(surname))
    if not given:  # after a title: a rare word ("Ms MacLeod")
        return lex.rare(surname)
    return lex.is_given(given) and len(surname) > 2 and lex.unknown(surname)


def _signature(text: str, start: int, lex: _NameLexicon) -> int | None:
    """End of the writer's name when a closing ("Kind regards,") comes right before ``start``, else None.

    The rest of the line must be 1-5 name words: capitalised or all upper case ("Ffion", "JARRAH NGUYEN",
    "M. Tremblay"), or lower case with a known name among them ("kind regards, mia williams"); a lone
    common word ("Thank you, Minister") or an organisation ("Regards, Pacific Tech Trust") is not a name.
    """
    if not _phrase_before(text, start, _CLOSINGS, closing=True):
        return None
    m = _SIGNATURE_RE.match(text, start)
    if m is None:
        return None
    words = [w.rstrip(".") for w in m.group("name").split()]
    names = [w for w in words if w.lower() not in _PARTICLES and len(w) > 1]
    if any(w in _ORG_WORDS for w in words) or any(lex.ordinary(w) and not lex.is_name_word(w) for w in names):
        return None
    capitalised = all(w[0].isupper() for w in names)
    if (capitalised and (len(words) > len(names) or any(lex.unknown(w) for w in names))) or any(
            lex.is_name_word(w) for w in names):  # initials count: "M. Tremblay"
        return m.start() + len(m.group("name"))
    return None


def _lowercase_signatures(text: str, lex: _NameLexicon) -> list[Span]:
    """Signatures written in lower case ("kind regards, mia williams") and names after "my name is"."""
    spans = []
    low = _lowered(text)
    for needle in ("regards", "thanks", "thank you", "cheers", "sincerely", "faithfully", "wishes", "mihi", "mihi nui",
                   "signed", "my name is", "nā", "respectfully"):
        for i in _find_all(low, needle):
            gap = re.compile(rf"[,.!:;\-–—]?{_WS}*(?:\n{_WS}*){{0,2}}").match(text, i + len(needle))
            start = gap.end()
            if start >= len(text):
                continue
            if needle == "my name is":
                end = _intro_name(text, start, lex)
            else:
                end = _signature(text, start, lex) if text[start].islower() else None
            if end:
                spans.append((start, end, "NAME"))
    return spans


def _intro_name(text: str, start: int, lex: _NameLexicon) -> int | None:
    """End of the name after "my name is": its next one or two words that are not common English words."""
    words = list(re.finditer(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", text[start:start + 60]))[:2]
    if not words or words[0].start() != 0 or lex.ordinary(words[0].group(0)):
        return None
    keep = words if len(words) == 2 and not lex.ordinary(words[1].group(0)) and (
        words[1].start() == words[0].end() + 1) else words[:1]
    return start + keep[-1].end()


def find_names(text: str) -> list[Span]:
    """Person names: given name + surname, title + surname, a signature after a closing, an introduction.

    * ``Aroha Ngata``: a Title-case given name (Faker's lists + :data:`EXTRA_GIVEN_NAMES`) followed by a
      Title-case surname: a known surname (Faker's lists), or a word rare in English. When both are common
      words ("Grace Park", "Will Power") it is not a name; nor when an organisation word follows ("Grace
      Baptist Church"). ``Hōhepa Thompson``: an unknown rare word before a known, uncommon surname.
    * ``Dr. Jones`` / ``Ms MacLeod``: a title followed by a known name or a rare word.
    * ``Kind regards,\\nJARRAH NGUYEN`` / ``Signed: Tipene Te Rangi`` / ``Nā Hemi``: the rest of the line after
      a closing (:func:`_signature`).
    * ``My name is Kirra Pearce`` / ``Dear Mia`` / ``— Mia``: a given name after an introduction, greeting or
      dash (alone, when it is not a common word).
    """
    lex = name_lexicon()
    spans = _lowercase_signatures(text, lex)
    counts, given = lex.word_counts, lex.given
    for m in _CAP_WORD_RE.finditer(text):
        word, start = m.group(0), m.start()
        if start and (text[start - 1].isalnum() or text[start - 1] in "_'’-"):
            continue  # inside a word
        if not word[0].isupper() or (counts.get(word.lower(), 0) >= ORDINARY_WORD_COUNT and word not in given
                                     and word not in _TITLES and not _maybe_after_closing(text, m.start())):
            continue  # "The", "We", "Council": a common word starts a name only in a signature
        end = _name_at(text, m, lex)
        if end:
            spans.append((m.start(), end, "NAME"))
    return spans


def _name_at(text: str, m: re.Match[str], lex: _NameLexicon) -> int | None:
    """End of the person's name that starts with the capitalised word ``m``, or None."""
    word, start = m.group(0), m.start()
    signature = _signature(text, start, lex) if _maybe_after_closing(text, start) else None
    if signature:
        return signature
    if word in _TITLES:
        gap = _AFTER_TITLE_RE.match(text, m.end())
        surname = gap and _word_at(text, gap.end())
        return gap.end() + len(surname) if surname and _is_person(lex, "", surname) else None
    if word.lower() in _PARTICLES:
        return None  # "Te Tiriti", "De Beers": a particle starts no name outside a signature
    given = lex.is_given(word)
    nxt = _SURNAME_AFTER_RE.match(text, m.end())
    if not (nxt or given):
        return None
    intro = _phrase_before(text, start, _INTRODUCTIONS, closing=False)
    if nxt and not _ORG_WORD_AFTER_RE.match(text, nxt.end()):
        surname = nxt.group("surname")
        if _pair_is_person(lex, word, nxt) or (
                (intro or _SAID_AFTER_RE.match(text, nxt.end())) and not lex.ordinary(word)
                and (surname in lex.surnames or lex.rare(surname)) and not lex.ordinary(surname)):
            return nxt.end()  # also "I am Tahnee Whitlam", "As Ngoc Haddad said"
    if given and len(word) > 2 and (
            intro not in (None, "this is") or _phrase_before(text, start, _GREETINGS, closing=False)
            or _phrase_before(text, start, _CLOSINGS, closing=True)) and (
            not lex.ordinary(word) or _SIGNATURE_RE.match(text, start)):
        return m.end()
    return None


def _maybe_after_closing(text: str, start: int) -> bool:
    """Cheap test before :func:`_signature`: a comma, colon or dash before ``start``, a line break, or "nā"."""
    i = start - 1
    while i >= 0 and text[i] in " \t\u00a0":
        i -= 1
    return i < 0 or text[i] in ",:;-–—\n\x00" or text[max(0, i - 1):i + 1].lower() in ("nā", "na")


def _pair_is_person(lex: _NameLexicon, word: str, nxt: re.Match[str]) -> bool:
    surname = nxt.group("surname")
    if lex.is_given(word):
        return bool(nxt.group("particles")) or _is_person(lex, word, surname)
    # an unknown first word (not English, not a known given name) before a known, uncommon surname
    return (len(word) > 2 and word[1:].islower() and lex.unknown(word) and not lex.ordinary(surname)
            and surname in lex.surnames and word not in PLACE_NAMES and not nxt.group("particles"))


# --- all detectors ---------------------------------------------------------------------------------------
DETECTORS: tuple[Callable[[str], list[Span]], ...] = (
    find_emails, find_handles_and_urls, find_ips, find_check_digit_ids, find_phones, find_dates_of_birth,
    find_addresses, find_postcodes, find_names,
)
_PRIORITY = {k: i for i, k in enumerate(KINDS)}


def _detect(text: str) -> tuple[Span, ...]:
    found = sorted((s for det in DETECTORS for s in det(text)), key=lambda s: (_PRIORITY[s[2]], s[0], -s[1]))
    taken: list[Span] = []
    occupied = bytearray(len(text) + 1)
    for start, end, kind in found:
        if any(occupied[start:end]):
            continue
        occupied[start:end] = b"\x01" * (end - start)
        taken.append((start, end, kind))
    return tuple(sorted(taken))


def scan_text(text: str) -> list[Span]:
    """Every identifier the guard's detectors find in ``text``, as ``(start, end, kind)`` spans.

    Overlaps go to the kind earlier in :data:`KINDS`; redaction tokens such as ``[EMAIL]`` never match.
    """
    return list(_detect(text)) if text else []


# =========================================================================================================
# Exact check against core_responses
# =========================================================================================================
_TOKEN_RE = re.compile(r"\w+")


def _norm_token(token: str) -> str:
    return token.lower() if token.isascii() else unicodedata.normalize("NFKC", token).lower()


def _tokens(text: str) -> list[str]:
    return [_norm_token(t) for t in _TOKEN_RE.findall(text)]


@dataclass
class RespondentValues:
    """The respondent values that must never be published, as token sequences.

    Matching is case-insensitive and ignores whitespace and punctuation between words: a value is found when
    its words appear consecutively, as whole words, in a published text.

    Attributes:
        kinds: Token sequence of a value -> its kinds, in the order added.
        lengths: First token -> the token counts of the values starting with it (a text token is looked up
            once per length, so finding does not slow down with the number of values sharing a first word).
    """

    kinds: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    lengths: dict[str, list[int]] = field(default_factory=dict)

    def add(self, value: object, kind: str, min_chars: int = 1) -> None:
        """Add one value (blank, missing or shorter than ``min_chars`` values are ignored)."""
        if not isinstance(value, str) or len(value.strip()) < min_chars:
            return
        toks = tuple(_tokens(value))
        if not toks:
            return
        kinds = self.kinds.setdefault(toks, [])
        if kind not in kinds:
            kinds.append(kind)
            lengths = self.lengths.setdefault(toks[0], [])
            if len(toks) not in lengths:
                lengths.append(len(toks))

    def find(self, text: str) -> list[Span]:
        """Spans of ``text`` holding a value."""
        if not self.kinds:
            return []
        norm = _lowered(text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text))
        exact_offsets = len(norm) == len(text) and norm is not text  # else: tokens normalised one by one, offsets from text
        toks = _TOKEN_RE.findall(norm) if exact_offsets else _tokens(text)
        lengths, kinds, n_toks = self.lengths, self.kinds, len(toks)
        found = [(i, n, kind) for i in [i for i, t in enumerate(toks) if t in lengths]
                 for n in lengths[toks[i]] if i + n <= n_toks
                 for kind in kinds.get(tuple(toks[i:i + n]), ())]
        if not found:
            return []
        matches = list(_TOKEN_RE.finditer(norm if exact_offsets else text))
        return [(matches[i].start(), matches[i + n - 1].end(), kind) for i, n, kind in found]


def _responses_file(processed_dir: Path) -> Path:
    """The ``core_responses`` table: Parquet (a file, or a partitioned table's folder), or the CSV of older runs (the
    Parquet path when neither)."""
    parquet, csv = processed_dir / "core_responses.parquet", processed_dir / "core_responses.csv"
    return csv if csv.exists() and not parquet.exists() else parquet


#: The columns of ``core_responses`` that the exact check reads.
_RESPONSE_COLUMNS = ("consent", "publish_consent", "respondent_name", "respondent_email", "organisation")


def _read_responses(processed_dir: Path) -> pd.DataFrame:
    """The columns of ``core_responses`` that the exact check reads (:data:`_RESPONSE_COLUMNS`), as strings ('' for
    missing)."""
    path = _responses_file(processed_dir)
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8",
                           usecols=lambda c: c in _RESPONSE_COLUMNS)
    import pyarrow.parquet as pq

    from analysis.tables import table_files  # noqa: PLC0415 - the guard's other readers need no table code

    files = table_files("core_responses", path.parent)
    if not files:
        raise FileNotFoundError(f"no core_responses table: {path}")
    names = pq.read_schema(files[0]).names
    wanted = [c for c in names if c in _RESPONSE_COLUMNS]
    df = pd.concat([pd.read_parquet(f, engine="pyarrow", columns=wanted) for f in files], ignore_index=True)
    return df.astype(object).where(df.notna(), "").astype(str)


def respondent_values(processed_dir: Path) -> RespondentValues:
    """Names and emails of every respondent, and organisations of respondents not consenting to be named.

    Reads ``core_responses`` as plain strings (not through the schema) so that both consent columns work:
    ``consent`` (``publish_named`` / ``publish_anonymous`` / ``do_not_publish``) or the older boolean
    ``publish_consent`` (True means ``publish_named``). An organisation that a consenting respondent also gave
    may be published; organisation strings shorter than 4 characters and one-word names shorter than 4
    characters are ignored (they collide with ordinary words).

    Raises:
        FileNotFoundError: No ``core_responses`` table (``.parquet``, or ``.csv`` of older runs) in ``processed_dir``.
        ValueError: It has neither consent column.
    """
    df = _read_responses(Path(processed_dir))
    if "consent" in df.columns:
        named = df["consent"].str.strip().str.lower() == "publish_named"
    elif "publish_consent" in df.columns:
        named = df["publish_consent"].str.strip().str.lower().isin(["true", "1", "yes"])
    else:
        raise ValueError("core_responses has no consent column (consent / publish_consent)")
    values = RespondentValues()  # each distinct value once, in order of first appearance (repeats add nothing)
    for col, kind in (("respondent_name", "RESPONDENT_NAME"), ("respondent_email", "RESPONDENT_EMAIL")):
        for v in pd.unique(df.get(col, pd.Series(dtype=str))):
            values.add(v, kind, min_chars=1 if len(_tokens(v)) > 1 else 4)
    orgs = df.get("organisation", pd.Series("", index=df.index))
    allowed = {" ".join(_tokens(o)) for o in pd.unique(orgs[named])}
    for org in pd.unique(orgs[~named]):
        if " ".join(_tokens(org)) not in allowed:
            values.add(org, "ORGANISATION", min_chars=4)
    return values


# =========================================================================================================
# Readers: every published format -> pieces of text with a way to say where they are
# =========================================================================================================


class Piece(NamedTuple):
    """A piece of published text.

    Attributes:
        text: The text.
        where: Fixed location (``Sheet!B5``); ``None``: line numbers counted from ``line``.
        line: Line of ``text[0]`` in its file (when ``where`` is None).
        prefix: Location prefix of an embedded document (``73[data:image/svg+xml]:``).
    """

    text: str
    where: str | None = None
    line: int = 1
    prefix: str = ""

    def locate(self, offset: int) -> str:
        """Location of ``text[offset]``."""
        if self.where is not None:
            return self.prefix + self.where
        return f"{self.prefix}{self.line + self.text.count(chr(10), 0, offset)}"


class Unreadable(Exception):
    """A file (or a part embedded in one) cannot be scanned; the message says why."""


@dataclass
class _Scan:
    """What reading one file produced: text pieces, problems, and PNGs accepted without reading pixels."""

    pieces: list[Piece] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


def _utf8(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise Unreadable(f"{what} is not UTF-8 text ({err.reason} at byte {err.start})") from None


# --- data: URIs ------------------------------------------------------------------------------------------
_DATA_URI_RE = re.compile(r"data:([\w.+-]+/[\w.+-]+)?((?:;[\w.+-]+=[^;,\s]*)*)(;base64)?,([^\"')<>]*)",
                          re.IGNORECASE)


def _decode_data_uri(uri: str) -> tuple[str, bytes]:
    m = _DATA_URI_RE.fullmatch(uri.strip())
    if not m:
        raise Unreadable("malformed data: URI")
    mime = (m.group(1) or "text/plain").lower()
    payload = m.group(4)
    if m.group(3):
        try:
            return mime, base64.b64decode(unquote_to_bytes(re.sub(r"\s+", "", payload)), validate=True)
        except (binascii.Error, ValueError) as err:
            raise Unreadable(f"data:{mime} URI is not valid base64 ({err})") from None
    return mime, unquote_to_bytes(payload)


def _scan_data_uri(uri: str, prefix: str, scan: _Scan, described: bool) -> None:
    """Decode an embedded ``data:`` URI and scan its content like a file of its type.

    ``described``: the element carrying it has a text alternative (``alt``, ``aria-label``), or the document
    it sits in has one; an embedded PNG is accepted only then (see :func:`_read_png`).
    """
    try:
        mime, data = _decode_data_uri(uri)
    except Unreadable as err:
        scan.problems.append(f"{prefix}: {err}")
        return
    inner = f"{prefix}[data:{mime}]:"
    try:
        if mime == "image/svg+xml" or mime.endswith("+xml") or mime in ("text/xml", "application/xml"):
            _read_xml(_utf8(data, f"data:{mime}"), scan, inner, described)
        elif mime in ("text/plain", "text/csv", "text/markdown", "application/json", "text/tab-separated-values"):
            scan.pieces.append(Piece(_utf8(data, f"data:{mime}"), prefix=inner))
        elif mime == "text/html":
            _read_html(_utf8(data, f"data:{mime}"), scan, inner)
        elif mime == "image/png":
            _png_text(data, scan, inner)
            if not described:
                raise Unreadable("embedded PNG without alt text (its pixels cannot be scanned)")
            scan.images.append(inner.rstrip(":"))
        else:
            raise Unreadable(f"data:{mime} content cannot be scanned")
    except Unreadable as err:
        scan.problems.append(f"{inner.rstrip(':')}: {err}")


# --- HTML ------------------------------------------------------------------------------------------------
_INLINE_TAGS = frozenset({"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "i", "kbd", "mark",
                          "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr"})
#: Attributes that never carry text meant for people (geometry, styling, identifiers of the page itself).
_NON_TEXT_ATTRS = frozenset({
    "d", "points", "transform", "style", "viewbox", "x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "rx",
    "ry", "dx", "dy", "width", "height", "fill", "stroke", "stroke-width", "stroke-linecap", "stroke-linejoin",
    "stroke-dasharray", "stroke-miterlimit", "opacity", "fill-opacity", "stroke-opacity", "clip-path",
    "clippathunits", "class", "id", "version", "xmlns", "xmlns:xlink", "xmlns:svg", "xmlns:dc", "xmlns:cc",
    "xmlns:rdf", "preserveaspectratio", "font-family", "font-size", "font-weight", "font-style", "text-anchor",
    "dominant-baseline", "offset", "stop-color", "gradientunits", "gradienttransform", "patternunits",
    "markerwidth", "markerheight", "refx", "refy", "orient", "charset", "lang", "xml:lang", "xml:space", "dir",
    "rel", "type", "media", "colspan", "rowspan", "scope", "align", "valign", "role", "tabindex",
})


class _HtmlScanner(html.parser.HTMLParser):
    """Visible text (joined across inline tags), comments, text-bearing attributes and data: URIs."""

    def __init__(self, scan: _Scan, prefix: str):
        super().__init__(convert_charrefs=True)
        self.scan, self.prefix = scan, prefix
        self.buf: list[str] = []
        self.buf_line = 1
        self.raw_tag = ""

    def flush(self) -> None:
        text = "".join(self.buf)
        if text.strip():
            self.scan.pieces.append(Piece(text, line=self.buf_line, prefix=self.prefix))
        self.buf = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _INLINE_TAGS:
            self.flush()
        line = self.getpos()[0]
        attr_map = {k.lower(): v or "" for k, v in attrs}
        described = bool(attr_map.get("alt", "").strip() or attr_map.get("aria-label", "").strip()
                         or attr_map.get("title", "").strip())
        for name, value in attr_map.items():
            _attribute(name, value, line, self.prefix, self.scan, described)
        self.raw_tag = tag if tag in ("style", "script") else ""

    def handle_endtag(self, tag: str) -> None:
        if tag not in _INLINE_TAGS:
            self.flush()
        self.raw_tag = ""

    def handle_data(self, data: str) -> None:
        if self.raw_tag:  # CSS / script: scanned on its own, embedded data: URIs decoded
            _text_with_data_uris(data, self.getpos()[0], self.prefix, self.scan)
            return
        if not self.buf:
            self.buf_line = self.getpos()[0]
        self.buf.append(data)

    def handle_comment(self, data: str) -> None:
        _text_with_data_uris(data, self.getpos()[0], self.prefix, self.scan)


def _attribute(name: str, value: str, line: int, prefix: str, scan: _Scan, described: bool) -> None:
    if name.lower() in _NON_TEXT_ATTRS or not value.strip():
        return
    if value.lstrip()[:5].lower() == "data:":
        _scan_data_uri(value, f"{prefix}{line}", scan, described)
    else:
        _text_with_data_uris(value, line, prefix, scan)


def _text_with_data_uris(text: str, line: int, prefix: str, scan: _Scan) -> None:
    """Scan ``text``; data: URIs inside it (CSS ``url(data:...)``) are decoded and scanned instead."""
    if "data:" in text:
        for m in _DATA_URI_RE.finditer(text):
            _scan_data_uri(m.group(0), f"{prefix}{line + text.count(chr(10), 0, m.start())}", scan, False)
        text = _DATA_URI_RE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    if text.strip():
        scan.pieces.append(Piece(text, line=line, prefix=prefix))


def _read_html(text: str, scan: _Scan, prefix: str = "") -> None:
    parser = _HtmlScanner(scan, prefix)
    parser.feed(text)
    parser.close()
    parser.flush()


# --- XML / SVG -------------------------------------------------------------------------------------------
_SVG_INLINE = frozenset({"tspan", "a", "textPath", "svg:tspan", "svg:a"})


def _expat(on_start: Callable[[str, dict[str, str], int], None], on_end: Callable[[str], None],
           on_text: Callable[[str, int], None], on_comment: Callable[[str, int], None]) -> expat.XMLParserType:
    """An expat parser that refuses DTD entity declarations (no entity expansion, nothing fetched)."""
    p = expat.ParserCreate()
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(*_args: object) -> None:
        raise Unreadable("XML entity declarations are not allowed")

    p.EntityDeclHandler = refuse
    p.StartElementHandler = lambda name, attrs: on_start(name, attrs, p.CurrentLineNumber)
    p.EndElementHandler = on_end
    p.CharacterDataHandler = lambda data: on_text(data, p.CurrentLineNumber)
    p.CommentHandler = lambda data: on_comment(data, p.CurrentLineNumber)
    return p


def _parse_xml(p: expat.XMLParserType, text: str, what: str) -> None:
    try:
        p.Parse(text, True)
    except expat.ExpatError as err:
        raise Unreadable(f"{what} is not well-formed XML ({expat.errors.messages[err.code]}, "
                         f"line {err.lineno})") from None


def _read_xml(text: str, scan: _Scan, prefix: str = "", described: bool = False) -> None:
    """SVG / XML: text content (joined across ``tspan``), comments and text-bearing attributes.

    ``described``: the document has a text alternative (a sibling alt text file, or the ``alt`` of the HTML
    ``<img>`` embedding it), which then also describes raster images embedded in it.
    """
    buf: list[str] = []
    buf_line = [1]

    def flush() -> None:
        joined = "".join(buf)
        if joined.strip():
            scan.pieces.append(Piece(joined, line=buf_line[0], prefix=prefix))
        buf.clear()

    def on_start(name: str, attrs: dict[str, str], line: int) -> None:
        if name not in _SVG_INLINE:
            flush()
        labelled = described or bool(attrs.get("aria-label", "").strip())
        for key, value in attrs.items():
            _attribute(key, value, line, prefix, scan, labelled)

    def on_end(name: str) -> None:
        if name not in _SVG_INLINE:
            flush()

    def on_text(data: str, line: int) -> None:
        if not buf:
            buf_line[0] = line
        buf.append(data)

    def on_comment(data: str, line: int) -> None:
        _text_with_data_uris(data, line, prefix, scan)

    _parse_xml(_expat(on_start, on_end, on_text, on_comment), text, "file")
    flush()


# --- PNG -------------------------------------------------------------------------------------------------
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Chunks without text (image data, colour and layout information).
_PNG_PLAIN_CHUNKS = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT",
                               b"bKGD", b"hIST", b"pHYs", b"tIME", b"acTL", b"fcTL", b"fdAT", b"cICP", b"mDCV",
                               b"cLLI"})


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    if not data.startswith(_PNG_SIGNATURE):
        raise Unreadable("not a PNG file (bad signature)")
    pos = len(_PNG_SIGNATURE)
    while pos < len(data):
        if pos + 12 > len(data):
            raise Unreadable("truncated PNG chunk")
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length or zlib.crc32(ctype + body) != struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]:
            raise Unreadable(f"corrupt PNG chunk {ctype!r}")
        yield ctype, body
        pos += 12 + length
        if ctype == b"IEND":
            if data[pos:].strip(b"\x00"):
                raise Unreadable("data after the PNG end chunk")
            return
    raise Unreadable("PNG has no end chunk")


def _inflate(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error as err:
        raise Unreadable(f"corrupt compressed PNG text ({err})") from None


def _png_text(data: bytes, scan: _Scan, prefix: str) -> None:
    """Scan the text chunks of a PNG (tEXt, zTXt, iTXt; iCCP / sPLT names); other chunk types fail."""
    for ctype, body in _png_chunks(data):
        where = f"{prefix}{ctype.decode('latin-1')}"
        if ctype in _PNG_PLAIN_CHUNKS:
            continue
        keyword, _, rest = body.partition(b"\x00")
        if ctype == b"tEXt":
            text = rest.decode("latin-1")
        elif ctype == b"zTXt":
            text = _inflate(rest[1:]).decode("latin-1")
        elif ctype == b"iTXt":
            flag, _method, rest = rest[0], rest[1], rest[2:]
            lang, _, rest = rest.partition(b"\x00")
            translated, _, value = rest.partition(b"\x00")
            value = _inflate(value) if flag else value
            text = "\n".join(x.decode("utf-8", "replace") for x in (lang, translated, value))
        elif ctype in (b"iCCP", b"sPLT"):
            text = ""
        else:
            raise Unreadable(f"PNG chunk {ctype.decode('latin-1', 'replace')!r} cannot be scanned")
        scan.pieces.append(Piece(keyword.decode("latin-1") + "\n" + text, where=where))


def _read_png(path: Path, rel: str, siblings: frozenset[str], scan: _Scan) -> None:
    _png_text(path.read_bytes(), scan, "")
    stem = rel[: -len(path.suffix)]
    if f"{stem}.svg" not in siblings and f"{stem}.alt.txt" not in siblings:
        raise Unreadable("its pixels cannot be scanned and it has no sibling SVG or alt text "
                         f"({PurePosixPath(stem).name}.svg / .alt.txt)")
    scan.images.append(rel)


# --- XLSX ------------------------------------------------------------------------------------------------
_XLSX_PART_SUFFIXES = (".xml", ".rels", ".vml")
#: Worksheet attributes that are layout (cell references, styles, sizes), not text.
_SHEET_LAYOUT_ATTRS = frozenset({"r", "s", "t", "spans", "ht", "customHeight", "customWidth", "min", "max",
                                 "width", "style", "ref", "sqref", "activeCell", "topLeftCell", "xSplit",
                                 "ySplit", "pane", "state", "tabSelected", "workbookViewId", "zoomScale",
                                 "defaultRowHeight", "baseColWidth", "outlineLevel", "bestFit", "hidden",
                                 "x14ac:dyDescent", "cm", "vm", "ph", "si", "ca", "aca", "bx", "dt2D", "dtr",
                                 "del1", "del2", "r1", "r2", "left", "right", "top", "bottom", "header",
                                 "footer", "summaryBelow", "summaryRight", "fitToPage"})


#: Worksheet elements whose attributes are layout only (their text is handled with the cell).
_SHEET_PLAIN_ELEMENTS = frozenset({"row", "v", "f", "is", "t", "r", "rPr", "col", "cols", "sheetData",
                                   "dimension", "sheetView", "sheetViews", "selection", "pane", "sheetFormatPr",
                                   "pageMargins", "mergeCell", "mergeCells", "sheetPr", "outlinePr",
                                   "pageSetUpPr", "tableParts", "tablePart", "pageSetup", "printOptions"})


def _xlsx_sheet_names(zf: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part name -> sheet title (from workbook.xml and its relationships)."""
    rels: dict[str, str] = {}
    titles: dict[str, str] = {}

    def rel_start(name: str, attrs: dict[str, str], _line: int) -> None:
        if name.endswith("Relationship") and "Id" in attrs:
            target = attrs.get("Target", "")
            rels[attrs["Id"]] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"

    def wb_start(name: str, attrs: dict[str, str], _line: int) -> None:
        if name.endswith("sheet") and "name" in attrs:
            rid = next((v for k, v in attrs.items() if k.endswith(":id") or k == "r:id"), "")
            titles[rid] = attrs["name"]

    noop = lambda *_a: None  # noqa: E731
    for part, handler in (("xl/_rels/workbook.xml.rels", rel_start), ("xl/workbook.xml", wb_start)):
        if part in zf.namelist():
            _parse_xml(_expat(handler, noop, noop, noop), _utf8(zf.read(part), part), part)
    return {rels[rid]: title for rid, title in titles.items() if rid in rels}


def _xlsx_shared_strings(zf: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in zf.namelist():
        return []
    strings: list[str] = []
    cur: list[str] | None = None
    in_t = [False]

    def on_start(name: str, _attrs: dict[str, str], _line: int) -> None:
        nonlocal cur
        if name == "si":
            cur = []
        in_t[0] = name == "t" and cur is not None

    def on_end(name: str) -> None:
        nonlocal cur
        if name == "si" and cur is not None:
            strings.append("".join(cur))
            cur = None
        in_t[0] = False

    def on_text(data: str, _line: int) -> None:
        if in_t[0] and cur is not None:
            cur.append(data)

    part = "xl/sharedStrings.xml"
    _parse_xml(_expat(on_start, on_end, on_text, lambda *_a: None), _utf8(zf.read(part), part), part)
    return strings


def _xlsx_sheet(text: str, part: str, sheet: str, shared: list[str], used: set[int], scan: _Scan) -> None:
    """One worksheet: each cell's text (shared strings resolved, formulas too) as ``Sheet!B5``; any other text
    (headers, footers, data-validation prompts, hyperlink tooltips) as ``Sheet!<element>``."""
    pieces = scan.pieces
    cell: list = []  # [ref, type, text parts] while inside <c>

    def on_start(name: str, attrs: dict[str, str]) -> None:
        if name == "c":
            cell[:] = [attrs.get("r", "?"), attrs.get("t", "n"), []]
            return
        if name in _SHEET_PLAIN_ELEMENTS:
            return
        for key, value in attrs.items():
            if key not in _SHEET_LAYOUT_ATTRS and value.strip():
                pieces.append(Piece(value, f"{sheet}!<{name}>"))

    def on_end(name: str) -> None:
        if name == "c" and cell:
            ref, kind, parts = cell
            value = "".join(parts)
            if kind == "s" and value.strip().isdigit() and int(value) < len(shared):
                used.add(int(value))
                value = shared[int(value)]
            if value.strip():
                pieces.append(Piece(value, f"{sheet}!{ref}"))
            cell.clear()

    def on_text(data: str) -> None:
        if cell:
            cell[2].append(data)
        elif data.strip():
            pieces.append(Piece(data, f"{sheet}!<text>"))

    p = _expat(lambda *_a: None, lambda *_a: None, lambda *_a: None,
               lambda data, _line: pieces.append(Piece(data, f"{sheet}!<comment>")))
    p.buffer_text = True
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = on_start, on_end, on_text
    _parse_xml(p, text, part)


def _xlsx_part(text: str, part: str, scan: _Scan) -> None:
    """Any other XML part (workbook, properties, comments, styles, relationships): all text and attributes."""

    def on_start(_name: str, attrs: dict[str, str], line: int) -> None:
        scan.pieces.extend(Piece(v, f"{part}:{line}") for v in attrs.values() if v.strip())

    def on_text(data: str, line: int) -> None:
        if data.strip():
            scan.pieces.append(Piece(data, f"{part}:{line}"))

    _parse_xml(_expat(on_start, lambda _name: None, on_text, on_text), text, part)


def _read_xlsx(path: Path, scan: _Scan) -> None:
    """Every part of the workbook: cells, shared strings, sheet names, comments, properties, links."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise Unreadable(f"not a readable XLSX (zip) file ({err})") from None
    with zf:
        sheets = _xlsx_sheet_names(zf)
        shared = _xlsx_shared_strings(zf)
        used: set[int] = set()
        for info in zf.infolist():
            part = info.filename
            if info.is_dir():
                continue
            if not part.endswith(_XLSX_PART_SUFFIXES):
                scan.problems.append(f"part {part}: embedded {PurePosixPath(part).suffix or 'binary'} part "
                                     "cannot be scanned")
                continue
            if part == "xl/sharedStrings.xml":
                continue
            text = _utf8(zf.read(part), part)
            if part in sheets:
                _xlsx_sheet(text, part, sheets[part], shared, used, scan)
            else:
                _xlsx_part(text, part, scan)
        for i, s in enumerate(shared):
            if i not in used and s.strip():
                scan.pieces.append(Piece(s, where=f"sharedStrings#{i}"))


# --- plain text, CSV, JSON -------------------------------------------------------------------------------
def _read_text_file(path: Path, described: bool, scan: _Scan) -> None:
    suffix = path.suffix.lower()
    text = _utf8(path.read_bytes(), "file")
    if suffix in HTML_SUFFIXES:
        _read_html(text, scan)
        return
    if suffix in MARKUP_SUFFIXES:
        _read_xml(text, scan, "", described)
        return
    _text_with_data_uris(text, 1, "", scan)
    if suffix == ".csv":
        try:
            for _row in csv.reader(io.StringIO(text, newline=""), strict=True):
                pass
        except csv.Error as err:
            scan.problems.append(f"not valid CSV ({err})")
    elif suffix == ".json":
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as err:
            scan.problems.append(f"not valid JSON ({err.msg}, line {err.lineno})")
            return
        if "\\u" in text or "\\/" in text:  # escapes hide text from the raw scan: scan decoded strings too
            scan.pieces.extend(Piece(s, where="json") for s in _json_strings(parsed))


def _json_strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _json_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _json_strings(v)


def _read(path: Path, rel: str, siblings: frozenset[str]) -> _Scan:
    scan = _Scan()
    suffix = path.suffix.lower()
    try:
        if suffix not in KNOWN_SUFFIXES:
            raise Unreadable(f"unknown file type {suffix or '(no suffix)'!r}: the guard cannot read it")
        if suffix == ".png":
            _read_png(path, rel, siblings, scan)
        elif suffix == ".xlsx":
            _read_xlsx(path, scan)
        else:
            stem = rel[: -len(suffix)]
            _read_text_file(path, f"{stem}.alt.txt" in siblings, scan)
    except Unreadable as err:
        scan.problems.append(str(err))
    except (OSError, ValueError, RecursionError) as err:
        scan.problems.append(f"{type(err).__name__}: {err}")
    return scan


# =========================================================================================================
# The guard
# =========================================================================================================


def published_text(reports_dir: Path) -> Iterator[tuple[str, str, str]]:
    """Every piece of text the guard reads in a reports folder: ``(file, where it starts, text)``.

    The same reading as :func:`guard` (visible text, comments and attributes, decoded ``data:`` URIs, workbook
    cells, sheet names, comments and properties, PNG text chunks), for tests that search published text.

    Raises:
        PublicationGuardError: Some file cannot be read (listed as ``could not scan <file>: <reason>``).
    """
    reports_dir = Path(reports_dir)
    files = sorted(p for p in reports_dir.rglob("*") if p.is_file())
    siblings = frozenset(p.relative_to(reports_dir).as_posix() for p in files)
    for path in files:
        rel = path.relative_to(reports_dir).as_posix()
        scan = _read(path, rel, siblings)
        if scan.problems:
            raise PublicationGuardError([], [f"could not scan {rel}: {msg}" for msg in scan.problems])
        for piece in scan.pieces:
            yield rel, piece.locate(0), piece.text


def scan_reports(reports_dir: Path, processed_dir: Path | None = None, *,
                 cache_file: Path | None = None) -> tuple[list[Finding], list[str], list[str]]:
    """Scan a reports folder without raising.

    Args:
        reports_dir: The folder about to be published.
        processed_dir: The consultation's processed folder (for the exact check), or None to skip it.
        cache_file: Record of the files found clean (see :func:`guard`); ``None``: read every file.

    Returns:
        ``(findings, unreadable, accepted_images)``: sorted unique findings, ``"could not scan <file>:
        <reason>"`` messages, and the PNGs accepted on their text chunks and sibling SVG / alt text.
    """
    reports_dir = Path(reports_dir)
    if not reports_dir.is_dir():
        raise FileNotFoundError(f"reports folder not found: {reports_dir}")
    unreadable: list[str] = []
    files = sorted(p for p in reports_dir.rglob("*") if p.is_file())
    siblings = frozenset(p.relative_to(reports_dir).as_posix() for p in files)
    context = _scan_context(siblings, processed_dir, unreadable) if cache_file is not None else None
    clean = _load_clean(cache_file, context)
    exact: list[RespondentValues | None] = []  # loaded on the first file that is read
    findings: set[Finding] = set()
    images: list[str] = []
    record: dict[str, dict] = {}
    for path in files:
        rel = path.relative_to(reports_dir).as_posix()
        digest = _file_digest(path) if context is not None else None
        known = clean.get(rel)
        if digest is not None and known is not None and known.get("sha256") == digest:
            images += known.get("images", [])
            record[rel] = known
            continue
        if not exact:
            exact.append(_exact_values(processed_dir, unreadable))
        scan = _read(path, rel, siblings)
        unreadable += [f"could not scan {rel}: {msg}" for msg in scan.problems]
        found = [(rel, where, kind) for where, kind in _scan_pieces(scan.pieces, exact[0])]
        accepted = [img if img == rel else f"{rel}:{img}" for img in scan.images]
        images += accepted
        findings.update(found)
        if digest is not None and not scan.problems and not found:
            record[rel] = {"sha256": digest, "images": accepted}
    if cache_file is not None and context is not None and not findings and not unreadable:
        _save_clean(cache_file, context, record)  # only a wholly clean scan is recorded
    order = {k: i for i, k in enumerate(KINDS + EXACT_KINDS)}
    return sorted(findings, key=lambda f: (f[0], _natural(f[1]), order[f[2]])), unreadable, images


def _exact_values(processed_dir: Path | None, unreadable: list[str]) -> RespondentValues | None:
    if processed_dir is None:
        return None
    try:
        return respondent_values(Path(processed_dir))
    except (OSError, ValueError, pd.errors.ParserError) as err:
        unreadable.append(f"could not scan {_responses_file(Path(processed_dir))}: {err}")
        return None


# --- the record of files found clean ---------------------------------------------------------------------
#: Version of the record's layout.
_CACHE_VERSION = 1


def _file_digest(path: Path) -> str | None:
    """sha256 of a file, ``None`` when it cannot be read (then it is read, and fails, like any other)."""
    import hashlib

    h = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


def _scan_context(siblings: frozenset[str], processed_dir: Path | None, unreadable: list[str]) -> str | None:
    """What a clean result depends on besides the file itself: the guard's code and word lists, the file names
    beside it (PNG text alternatives) and the respondent values of the exact check. ``None``: no caching."""
    import hashlib
    from importlib import metadata

    h = hashlib.sha256(f"v{_CACHE_VERSION}".encode())
    h.update(Path(__file__).read_bytes())
    for dist in ("faker", "pyspellchecker", "phonenumbers"):
        try:
            h.update(f"{dist}={metadata.version(dist)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{dist}=absent".encode())
    h.update("\n".join(sorted(siblings)).encode())
    if processed_dir is not None:
        digest = _file_digest(_responses_file(Path(processed_dir)))
        if digest is None:  # the exact check will fail the scan: record nothing
            return None
        h.update(digest.encode())
    return h.hexdigest()


def _load_clean(cache_file: Path | None, context: str | None) -> dict[str, dict]:
    """Files found clean under the same ``context`` (empty when there is no valid record)."""
    if cache_file is None or context is None:
        return {}
    try:
        data = json.loads(Path(cache_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("context") != context or not isinstance(data.get("clean"), dict):
        return {}
    return {k: v for k, v in data["clean"].items() if isinstance(v, dict)}


def _save_clean(cache_file: Path, context: str, record: dict[str, dict]) -> None:
    try:
        Path(cache_file).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(cache_file).with_suffix(".tmp")
        tmp.write_text(json.dumps({"context": context, "clean": record}, sort_keys=True), encoding="utf-8")
        tmp.replace(cache_file)
    except OSError as err:  # a record not written only costs a full scan next time
        logger.warning("publication guard: could not write %s (%s)", cache_file, err)


#: Joins a file's pieces into one text for a single detector pass; no detector matches across it.
_PIECE_SEPARATOR = "\n\x00\n"


def _scan_pieces(pieces: list[Piece], exact: RespondentValues | None) -> Iterator[tuple[str, str]]:
    """``(where, kind)`` of every finding in ``pieces`` (one detector pass over their joined text)."""
    if not pieces:
        return
    starts, pos = [], 0
    for piece in pieces:
        starts.append(pos)
        pos += len(piece.text) + len(_PIECE_SEPARATOR)
    joined = _PIECE_SEPARATOR.join(piece.text for piece in pieces)
    spans = scan_text(joined) + (exact.find(joined) if exact else [])
    newlines: dict[int, list[int]] = {}  # piece -> offsets of its line breaks, when it has many findings
    for start, _end, kind in spans:
        i = bisect.bisect_right(starts, start) - 1
        piece, offset = pieces[i], start - starts[i]
        if piece.where is None and len(piece.text) > 100_000:
            if i not in newlines:
                newlines[i] = [m.start() for m in re.finditer("\n", piece.text)]
            lines = newlines[i]
            yield f"{piece.prefix}{piece.line + bisect.bisect_left(lines, offset)}", kind
        else:
            yield piece.locate(offset), kind


def _natural(where: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", where))


def guard(reports_dir: Path, processed_dir: Path | None = None, *, cache_file: Path | None = None) -> None:
    """Refuse publication when any report file holds a personal identifier or cannot be scanned.

    Args:
        reports_dir: The reports folder about to be published.
        processed_dir: The consultation's processed folder: when given, respondents' names and emails and
            non-consenting respondents' organisations from ``core_responses`` are searched for verbatim.
        cache_file: A record of the files found clean (the pipeline keeps one in the consultation's cache
            folder): a file whose sha256 is recorded as clean under the same guard code, word lists, file
            names and respondent values is not read again. Only files read completely and found clean are
            recorded, so nothing unread ever passes. ``None`` (the ``analysis guard`` command): read every file.

    Raises:
        PublicationGuardError: Listing ``file:where: KIND`` for each finding (never the value) and
            ``could not scan <file>: <reason>`` for each file (or embedded part) that could not be read.
        FileNotFoundError: ``reports_dir`` does not exist.
    """
    findings, unreadable, images = scan_reports(reports_dir, processed_dir, cache_file=cache_file)
    if images:
        listed = ", ".join(images[:10]) + (f" and {len(images) - 10} more" if len(images) > 10 else "")
        logger.warning("publication guard: %d PNG image(s) accepted on their scanned text chunks and a text "
                       "alternative (sibling SVG / alt text, or alt of the embedding <img>); pixels are not read: %s",
                       len(images), listed)
    if findings or unreadable:
        raise PublicationGuardError(findings, unreadable)
    logger.info("publication guard: %s is clean", reports_dir)
