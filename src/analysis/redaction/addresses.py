"""Postal addresses in free text: New Zealand, Australian, UK, US and Canadian formats.

An address is found from an **anchor** and then grown to the whole address line(s):

* anchors: a street address (house number + capitalised street words + a street type: "154 Pōhutukawa
  Drive", "Flat 2, 14 High St", "1600 Pennsylvania Avenue NW", "3/45A Queen St", "123 Main St Apt 4B"),
  a PO Box / Private Bag / Locked Bag, a rural delivery number ("RD 2"), a city line with a state or
  province and a postcode ("Springfield, IL 62704", "Fitzroy VIC 3065", "Toronto, ON M5H 2N2"), a UK or
  Canadian postcode ("London SW1A 2AA", "M5V 3L9"), a New Zealand city line ("Hillcrest, Hamilton 3216",
  or "Wellington 6011" alone on a line) and a postcode after "postcode" / "ZIP";
* growth: forward over the comma- or line-separated suburb / city / state / postcode segments that
  follow ("154 Pōhutukawa Drive, Te Aro, Wellington 6011" is one span) and backward over the
  comma-separated place words before a city line ("Rose Cottage, Mill Lane, Little Snoring, Norfolk
  NR21 0AB").

Street-type words, a postcode shape or a state code are required, so "section 12 of the Act", "12 May
2024", "Article 15", "Scottsville Road" (no number) and "$45 million" are not addresses. Evaluated
against usaddress (a CRF that parses an address string it is given but does not find one in prose) and
pyap (regex finder for US/CA/GB, last released 2020): see ``docs/redaction.md``.
"""

from __future__ import annotations

import re

from analysis.redaction.patterns import has_digit

Span = tuple[int, int, str]

STREET_TYPES = (
    "Street|St|Road|Rd|Avenue|Ave|Av|Drive|Dr|Place|Pl|Terrace|Tce|Terr|Crescent|Cres|Cr|Lane|Ln|Way|"
    "Grove|Gr|Gv|Close|Cl|Court|Ct|Parade|Pde|Highway|Hwy|Boulevard|Blvd|Bvd|Square|Sq|Quay|Rise|Heights|"
    "Hts|Esplanade|Esp|Mews|Track|Glade|Row|Walk|Loop|Promenade|Strand|Green|Mall|Circle|Cir|Circuit|Cct|"
    "Gardens|Gdns|Parkway|Pkwy|Trail|Trl|Alley|Wynd|Vale|View|Plaza|Pike|Turnpike|Expressway|Expy|Freeway|"
    "Fwy|Gate|Chase|Crossing|Approach|Broadway|Hill|Park|Point|Ridge|Common|Reserve|Retreat|Vista|Wharf"
)
#: Street types written before the name in French (Québec): "347 rue Sainte-Catherine", "12, avenue des Pins".
FRENCH_TYPES = "[Rr]ue|[Aa]venue|[Bb]oulevard|[Bb]oul\\.|[Cc]hemin|[Rr]oute|[Rr]ang|[Pp]lace|[Mm]ontée|[Cc]ôte|[Aa]llée|[Ii]mpasse"
_DIRECTION = r"(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)"
_CAPW = r"[A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u017f][\w'\u2019\u02bb-]*\.?"
_CAPWORDS = rf"{_CAPW}(?:[ \t]+{_CAPW}){{0,3}}"
_ORDINAL = r"\d{1,3}(?:st|nd|rd|th)"
_UNIT = r"(?:(?:Flat|Unit|Apartment|Apt|Suite|Ste|Level|Lvl|Shop|Villa)\.?[ \t]*\d{1,4}[A-Za-z]?[ \t]*[,/]?[ \t]*)"
_NUMBER = r"(?:\d{1,4}[A-Za-z]?/)?\d{1,5}[A-Za-z]?(?:-\d{1,5}[A-Za-z]?)?"
_STREET_WORDS = rf"(?:(?:{_DIRECTION}\.?[ \t]+)?(?:{_ORDINAL}|[A-Z\u00c0-\u00de\u0100-\u017f][\w'\u2019\u02bb\u0100-\u017f-]*)[ \t]+){{1,3}}"
_UNIT_SUFFIX = r"(?:,?[ \t]+(?:Apt|Apartment|Unit|Suite|Ste|Flat|#)\.?[ \t]*#?[A-Za-z0-9-]{1,6}(?![\w]))?"

US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|"
    "OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC|PR|Alabama|Alaska|Arizona|Arkansas|California|"
    "Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|"
    "Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|"
    "New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|"
    "Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|"
    "West Virginia|Wisconsin|Wyoming"
)
AU_STATES = "NSW|VIC|Vic|QLD|Qld|SA|WA|TAS|Tas|ACT|NT"
CA_PROVINCES = (
    "AB|BC|MB|NB|NL|NS|NT|NU|ON|PE|QC|SK|YT|Alberta|British Columbia|Manitoba|New Brunswick|Newfoundland|"
    "Nova Scotia|Ontario|Quebec|Québec|Saskatchewan|Yukon"
)
UK_POSTCODE = r"(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?|GIR)[ \t]?\d[ABD-HJLNP-UW-Z]{2}"
CA_POSTCODE = r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z][ \t-]?\d[ABCEGHJ-NPRSTV-Z]\d"
_US_ZIP = r"\d{5}(?:-\d{4})?"
_POSTCODE = rf"(?:{UK_POSTCODE}|{CA_POSTCODE}|{_US_ZIP}|\d{{4}})(?![\w])"
_REGION = rf"(?:{US_STATES}|{AU_STATES}|{CA_PROVINCES})"
_END = r"(?=[ \t]*(?:[,.;:!?)\r\n]|$))"
_PLACE = rf"(?:{_CAPWORDS}(?:,?[ \t]+{_REGION})?(?:,?[ \t]+{_POSTCODE})?|{_REGION}[ \t]+{_POSTCODE}|{_POSTCODE})"
_MONTHS = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*"

#: A street address, PO Box / Private Bag, or rural delivery number (the forward-growing anchors).
STREET_RE = re.compile(
    rf"(?<![\w$.,/])(?<!section )(?<!Section )(?<!article )(?<!Article )(?<!clause )(?<!Clause )"
    rf"{_UNIT}?{_NUMBER}[ \t]+{_STREET_WORDS}(?:{STREET_TYPES})\b\.?(?:[ \t]+{_DIRECTION}\b\.?)?{_UNIT_SUFFIX}"
    rf"|(?<![\w$.,/]){_UNIT}?{_NUMBER},?[ \t]+(?:{FRENCH_TYPES})[ \t]+(?:(?:de|du|des|de[ \t]+la|d['’])[ \t]*)?{_CAPW}"
    rf"(?:[ \t]+{_CAPW})?"
    r"|\b(?:P\.?[ \t]?O\.?[ \t]?Box|Post[ \t]+Office[ \t]+Box|GPO[ \t]+Box|Private[ \t]+Bag|Locked[ \t]+Bag)[ \t]+\d{1,6}\b"
    r"|(?<![\w])R\.?D\.?[ \t]?\d{1,2}\b"
)
#: City lines and postcodes (the backward-growing anchors).
CITY_LINE_RE = re.compile(
    rf"(?<![\w])(?:{_CAPWORDS},?[ \t]+(?:{US_STATES})[ \t]+{_US_ZIP}"
    rf"|{_CAPWORDS},?[ \t]+(?:{AU_STATES})[ \t]+\d{{4}}"
    rf"|(?:{_CAPWORDS},?[ \t]+)?(?:(?:{CA_PROVINCES}),?[ \t]+)?{CA_POSTCODE}"
    rf"|(?:{_CAPWORDS},?[ \t]+)?{UK_POSTCODE}"
    rf"|{_CAPWORDS},[ \t]*{_CAPWORDS}[ \t]+\d{{4}})(?![\w])"
    rf"|(?m:^[ \t]*(?:{_CAPWORDS},[ \t]*){{0,2}}{_CAPWORDS}[ \t]+\d{{4}}[ \t]*$)"
)
#: A postcode announced as one ("my postcode is 3216", "ZIP: 90210"); only the code is redacted.
POSTCODE_RE = re.compile(
    rf"(?i:\b(?:post[ \t]?code|postal[ \t]+code|zip(?:[ \t]?code)?)\b[ \t]*(?:is|:)?[ \t]*)({_POSTCODE})"
)
_SEGMENT_RE = re.compile(rf"(?:[ \t]*,[ \t]*|[ \t]*\r?\n[ \t]*|[ \t]+(?=(?:{_CAPWORDS}[ \t]+)?(?:{_REGION}[ \t]+)?{_POSTCODE}))({_PLACE}){_END}")
#: Lines above a city line: a street line ("91 Kingsway", "Flat 4, 35 Kingsway") and place-name lines.
_STREET_LINE_RE = re.compile(rf"[ \t]*{_UNIT}?{_NUMBER},?[ \t]+{_CAPWORDS}[ \t]*,?[ \t]*\r?")
_PLACE_LINE_RE = re.compile(rf"[ \t]*{_CAPWORDS}[ \t]*\r?")
_BEFORE_RE = re.compile(rf"(?:{_CAPWORDS}[ \t]*,[ \t]*){{1,3}}$")
_YEAR_LINE = re.compile(r"^\s*\S+\s+(?:19|20)\d\d\s*$")
#: Cheap gates: a street address needs a number then a capitalised word (or a French type, box, bag, RD);
#: a city line needs four digits or a letter-digit pair (UK / CA postcodes).
_STREET_HINT = re.compile(r"\d[A-Za-z]?,?[ \t]+[A-Z\u00c0-\u00de\u0100-\u017f]")
_STREET_WORDS_HINT = ("Box", "Bag", "RD", "R.D", "rue ", "avenue ", "boulevard ", "chemin ", "route ", "rang ")
_FOUR_DIGITS = re.compile(r"\d{4}")
_LETTER_DIGIT = re.compile(r"[A-Z]\d")
_POSTCODE_HINT = re.compile(rf"\d{{4}}|{UK_POSTCODE}|{CA_POSTCODE}")
_DATE_TAIL = re.compile(rf"\b{_MONTHS}\.?[ \t]+\d{{4}}$")


def _ordinary(word: str) -> bool:
    from analysis.redaction.names import is_ordinary_word  # names imports this module's street types

    return is_ordinary_word(word)


def _grow_forward(text: str, end: int, max_segments: int = 4) -> int:
    """Extend an address over the suburb / city / state / postcode segments that follow it."""
    for _ in range(max_segments):
        m = _SEGMENT_RE.match(text, end)
        if m is None:
            break
        end = m.end(1)
    return end


def _grow_backward(text: str, start: int, max_lines: int = 3) -> int:
    """Extend a city line back over comma-separated place words on the same line and, when it starts its
    line, up to the street line above it ("91 Kingsway\nBristol\nBS8 1TH"; only place-name lines between)."""
    line_start = max(text.rfind("\n", 0, start) + 1, start - 160)
    m = _BEFORE_RE.search(text, line_start, start)
    start = m.start() if m else start
    if text[line_start:start].strip():
        return start
    cur = line_start
    for _ in range(max_lines):
        if cur == 0:
            break
        prev = text.rfind("\n", 0, cur - 1) + 1
        if _STREET_LINE_RE.fullmatch(text, prev, cur - 1):
            return prev
        if not _PLACE_LINE_RE.fullmatch(text, prev, cur - 1):
            break
        cur = prev
    return start


def street_hint(text: str) -> bool:
    """The gate of the street-address scan: a number then a capitalised word, or a box / bag / RD / French type."""
    return _STREET_HINT.search(text) is not None or any(h in text for h in _STREET_WORDS_HINT)


def city_hint(text: str) -> bool:
    """The gate of the city-line scan: four digits, or a capital letter then a digit."""
    return _FOUR_DIGITS.search(text) is not None or _LETTER_DIGIT.search(text) is not None


def _city_lines(text: str) -> list[re.Match[str]]:
    """City-line matches, searched only on the lines (up to 120 characters before) of postcode-shaped tokens."""
    matches: list[re.Match[str]] = []
    done = -1
    if not city_hint(text):
        return matches
    for hint in _POSTCODE_HINT.finditer(text):
        if hint.start() < done:
            continue
        line_start = text.rfind("\n", 0, hint.start()) + 1
        line_end = text.find("\n", hint.end())
        line_end = len(text) if line_end < 0 else line_end
        lo = max(line_start, hint.start() - 120)
        matches += [m for m in CITY_LINE_RE.finditer(text, lo, line_end) if m.start() >= done]
        done = max(done, line_end)
    return matches


def find_addresses(text: str) -> list[Span]:
    """Street addresses, PO boxes, rural delivery numbers, city lines and postcodes, grown to whole lines.

    Returns:
        Merged ``(start, end, "ADDRESS")`` spans, sorted.
    """
    if not has_digit(text):
        return []
    streets = STREET_RE.finditer(text) if street_hint(text) else ()
    spans = [(m.start(), _grow_forward(text, m.end()), "ADDRESS") for m in streets]
    for m in _city_lines(text):
        if _DATE_TAIL.search(m.group(0)) or (_YEAR_LINE.match(m.group(0)) and _ordinary(m.group(0).split()[0])):
            continue  # "Vision 2050" alone on a line is a heading ("Auckland 2023" is not), "March 2024" a date
        spans.append((_grow_backward(text, m.start()), _grow_forward(text, m.end()), "ADDRESS"))
    spans += [(m.start(1), m.end(1), "ADDRESS") for m in POSTCODE_RE.finditer(text)]
    out: list[Span] = []
    for start, end, kind in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end), kind)
        else:
            out.append((start, end, kind))
    return out
