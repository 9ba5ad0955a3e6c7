"""Planted-identifier corpus: consultation letters and answers with known personal identifiers.

Built **independently of the detectors** in :mod:`analysis.redaction`: from its own lists of names,
streets, suburbs, cities and postcodes per country, and from each identifier's format rules (national
phone numbering, postcode shapes, the IRD mod-11 / NHI mod-11 / Luhn check digits computed here). Nothing
here imports the package, its regexes or its name lexicon, and the names below were written for this
corpus (many Māori, Pacific, French-Canadian and other names in it are not in the redaction lexicon).

:func:`build_corpus` returns documents (realistic letters and short survey answers, NZ / AU / UK / US / CA
formats) and the ground truth: one :class:`Planted` per identifier with its type, country, the exact
string as written and its obvious parts (surname, suburb, postcode, email local part ...), each of
which must be gone after redaction.

Usable from tests (``tests/`` is on ``sys.path``) and from benchmarks (``sys.path`` insert).
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass, field

COUNTRIES = ("NZ", "AU", "UK", "US", "CA")

# --- names ---------------------------------------------------------------------------------------

FIRST = {
    "NZ": ["Aroha", "Wiremu", "Mereana", "Hemi", "Tamati", "Kiri", "Ngaio", "Rāwiri", "Anahera", "Tipene", "Olivia",
           "Liam", "Charlotte", "Manaia", "Nikau", "Kahurangi", "Pania", "Isla", "Sione", "Losana", "Te Rina", "Hōhepa"],
    "AU": ["Lachlan", "Chloe", "Mitchell", "Matilda", "Harrison", "Kylie", "Bruce", "Tahnee", "Jarrah", "Brodie",
           "Shane", "Kirra", "Darcy", "Tegan", "Ngoc", "Dimitri"],
    "UK": ["Oliver", "Amelia", "Harry", "Alfie", "Poppy", "Siobhan", "Rhys", "Ffion", "Callum", "Niamh", "Priya",
           "Mohammed", "Eilidh", "Gethin", "Imogen", "Tobias"],
    "US": ["James", "Patricia", "Michael", "Jennifer", "DeShawn", "Latoya", "Carlos", "Ashley", "Tyler", "Brittany",
           "Juan", "Marisol", "Dakota", "Jamal", "Kayleigh", "Hector"],
    "CA": ["Étienne", "Geneviève", "Mathieu", "Chloé", "Owen", "Avery", "Gurpreet", "Siobhan", "Maxime", "Josée",
           "Mackenzie", "Rémi", "Nathalie", "Sébastien", "Amélie", "Connor"],
}
LAST = {
    "NZ": ["Ngata", "Te Whata", "Parata", "Walker", "Thompson", "Kereama", "Rangihau", "Pōmare", "Tamihana",
           "Wihongi", "Horomona", "McKenzie", "Ruatapu", "Mātene", "Tūhoro", "Fa'alogo", "Tupou", "Te Rangi", "Kawhia",
           "Pōtae", "Fitzgerald", "Tautahi"],
    "AU": ["Nguyen", "Papadopoulos", "Kowalski", "O'Brien", "Russo", "Anderson", "Kelly", "Tran", "Fitzsimmons",
           "McGregor", "Haddad", "Ivanovic", "Whitlam", "Pearce", "Costello", "Wirrpanda"],
    "UK": ["Davies", "Evans", "Roberts", "Hughes", "Patel", "Khan", "MacLeod", "Fraser", "Llewellyn", "Pritchard",
           "Ahmed", "Whitfield", "Ogunleye", "Cartwright", "Blackwood", "Featherstone"],
    "US": ["Johnson", "Garcia", "Rodriguez", "Martinez", "Hernandez", "Gonzalez", "Washington", "Kowalczyk", "O'Malley",
           "Jackson", "Whitaker", "Delgado", "Okafor", "Lindqvist", "Abernathy", "Castellano"],
    "CA": ["Tremblay", "Gagnon", "Bouchard", "Gauthier", "Côté", "Lavoie", "Fortin", "MacDonald", "Singh", "Leblanc",
           "Bélanger", "Pelletier", "Desjardins", "Thibodeau", "Okonkwo", "Beaulieu"],
}
#: Full names written in other languages' conventions (diacritics, particles, several given names).
WORLD_NAMES = ["María José García", "José Luis Hernández", "François Lefèvre", "Łukasz Wójcik", "Zoë van der Berg",
               "Sinéad Ní Bhriain", "Søren Østergaard", "Nguyễn Thị Hoa", "Gonçalo Magalhães", "Ayşe Yılmaz",
               "Björn Åkesson", "Chiara De Luca", "Dagný Þórsdóttir", "Jürgen Müller", "Ana Lucía Ñáñez"]
TITLES = ["Mr", "Mrs", "Ms", "Dr", "Mr.", "Mrs.", "Dr.", "Prof.", "Miss"]

# --- places (street names, suburbs, cities and their real postcodes) --------------------------------------

STREETS = {
    "NZ": ["Pōhutukawa Drive", "Kōwhai Street", "Hinemoa Street", "Great South Road", "Te Awe Awe Street",
           "Rimu Road", "Matai Crescent", "Harakeke Place", "Kauri Terrace", "Tōtara Avenue", "Aotea Lane"],
    "AU": ["Brunswick Street", "Crown Street", "Ann Street", "Jetty Road", "Hay Street", "Sandy Bay Road",
           "Lonsdale Street", "Wattle Grove", "Banksia Court", "Kookaburra Close"],
    "UK": ["High Street", "Station Road", "Church Lane", "Victoria Road", "Mill Lane", "Queen's Drive",
           "Acacia Avenue", "Bramble Close", "Oakfield Gardens", "Kingsway"],
    "US": ["Main Street", "Elm St", "Oak Avenue", "Maple Drive", "Pennsylvania Avenue NW", "Cedar Lane",
           "W 42nd Street", "Sunset Blvd", "Lakeview Court", "N Broadway"],
    "CA": ["Queen St W", "Rue Sainte-Catherine", "Yonge Street", "Granville Street", "Spring Garden Road",
           "Portage Avenue", "Jasper Avenue", "Bank Street", "Maple Crescent", "Birch Road"],
}
PLACES = {  # (suburb or town, city / state / province, postcode)
    "NZ": [("Te Aro", "Wellington", "6011"), ("Karori", "Wellington", "6012"), ("Ponsonby", "Auckland", "1011"),
           ("Ōtara", "Auckland", "2023"), ("Riccarton", "Christchurch", "8011"), ("Hillcrest", "Hamilton", "3216"),
           ("Mount Maunganui", "Tauranga", "3116"), ("Roslyn", "Dunedin", "9010"), ("Havelock North", "Hastings", "4130"),
           ("Stoke", "Nelson", "7011"), ("Whanganui East", "Whanganui", "4500"), ("Kelburn", "Wellington", "6012")],
    "AU": [("Fitzroy", "VIC", "3065"), ("Surry Hills", "NSW", "2010"), ("Fortitude Valley", "QLD", "4006"),
           ("Glenelg", "SA", "5045"), ("Fremantle", "WA", "6160"), ("Sandy Bay", "TAS", "7005"), ("Braddon", "ACT", "2612"),
           ("Parap", "NT", "0820"), ("Newtown", "NSW", "2042"), ("Brunswick", "VIC", "3056")],
    "UK": [("Westminster", "London", "SW1A 2AA"), ("Ancoats", "Manchester", "M4 6DE"), ("Yardley", "Birmingham", "B33 8TH"),
           ("Headingley", "Leeds", "LS6 3HN"), ("Cathays", "Cardiff", "CF24 4AN"), ("Leith", "Edinburgh", "EH6 6QU"),
           ("Ormeau", "Belfast", "BT7 1SH"), ("Clifton", "Bristol", "BS8 1TH"), ("Jericho", "Oxford", "OX2 6BH"),
           ("Little Snoring", "Norfolk", "NR21 0AB")],
    "US": [("Springfield", "IL", "62704"), ("Austin", "TX", "78701"), ("Portland", "OR", "97205"), ("Columbus", "OH", "43215"),
           ("Bowling Green", "KY", "42101"), ("Albany", "NY", "12207"), ("Madison", "WI", "53703"), ("Boise", "ID", "83702"),
           ("Savannah", "GA", "31401"), ("Tucson", "AZ", "85701")],
    "CA": [("Toronto", "ON", "M5H 2N2"), ("Vancouver", "BC", "V6B 1A1"), ("Montréal", "QC", "H2X 1Y4"),
           ("Calgary", "AB", "T2P 1J9"), ("Halifax", "NS", "B3J 1S9"), ("Winnipeg", "MB", "R3C 4T3"),
           ("Ottawa", "ON", "K1P 5G4"), ("Edmonton", "AB", "T5J 0N3"), ("Regina", "SK", "S4P 3Y2"), ("Moncton", "NB", "E1C 4M3")],
}
HOUSE_NAMES = ["Rose Cottage", "The Old Rectory", "Orchard House", "Willow Barn"]

# --- telephone numbering (real area codes, national formats) -------------------------------------

PHONE_FORMATS = {
    "NZ": ["021 {3} {4}", "022 {3} {4}", "027 {3} {4}", "(09) {L3} {4}", "09-{L3} {4}", "04 {L3} {4}", "(03) {L3} {4}",
           "07 {L3} {4}", "0800 {3} {3}", "027{7}"],
    "AU": ["04{2} {3} {3}", "(02) 9{3} {4}", "(03) 9{3} {4}", "07 3{3} {4}", "08 8{3} {4}", "1300 {3} {3}", "04{2}{6}"],
    "UK": ["020 7{3} {4}", "020 8{3} {4}", "0161 {L3} {4}", "0121 {L3} {4}", "0113 {L3} {4}", "0131 {L3} {4}", "07{1}{2} {6}",
           "(0117) {L3} {4}"],
    "US": ["({AREA}) {EX}-{4}", "{AREA}-{EX}-{4}", "{AREA}.{EX}.{4}", "1-{AREA}-{EX}-{4}", "({AREA}) {EX} {4}"],
    "CA": ["({AREA}) {EX}-{4}", "{AREA}-{EX}-{4}", "{AREA} {EX} {4}", "1 {AREA} {EX}-{4}"],
}
INTL_FORMATS = {"NZ": "+64 2{NZM} {3} {4}", "AU": "+61 4{2} {3} {3}", "UK": "+44 20 7{3} {4}", "US": "+1 {AREA} {EX} {4}",
                "CA": "+1 ({AREA}) {EX}-{4}"}
AREA_CODES = {"US": ["212", "312", "415", "503", "512", "614", "270", "518", "608", "208", "912", "520"],
              "CA": ["416", "647", "604", "514", "403", "902", "204", "613", "780", "306", "506"]}
MOBILE_UK = "1234579"  # 071-075, 077-079

EMAIL_DOMAINS = {"NZ": ["xtra.co.nz", "gmail.com", "slingshot.co.nz", "outlook.co.nz"],
                 "AU": ["bigpond.com", "optusnet.com.au", "gmail.com", "hotmail.com.au"],
                 "UK": ["btinternet.com", "yahoo.co.uk", "gmail.com", "sky.com"],
                 "US": ["gmail.com", "aol.com", "comcast.net", "yahoo.com"],
                 "CA": ["rogers.com", "shaw.ca", "videotron.ca", "gmail.com"]}

# --- consultation prose ------------------------------------------------------------------------------

OPENINGS = [
    "Thank you for the opportunity to comment on the proposed changes to the district plan.",
    "I am writing to oppose the proposal to reduce the speed limit on our road.",
    "Please accept this as my submission on the draft water services strategy.",
    "I support the council's plan to protect the wetland, with some reservations.",
    "This submission concerns the proposed rates increase for the 2025/26 year.",
    "I have read the consultation document and want to make a few points.",
]
BODIES = [
    "The new cycleway has made the school run much safer for our children.",
    "Rates have risen 12% in three years while services have been cut.",
    "Please keep the library open on Sundays; it is the only quiet place for students.",
    "Native bush along the stream needs fencing to keep stock out of the water.",
    "Public transport in the evenings is too infrequent to be useful.",
    "The consultation period of four weeks was far too short for a plan of this size.",
    "Section 32 of the Act requires the council to assess the costs and benefits.",
    "We have been on the waiting list for social housing since 2019.",
    "Housing density near the station is sensible, but the design rules need work.",
    "Funding for pest control should be doubled in the next long-term plan.",
]
PREFIXES = ["Kind regards", "Regards", "Yours sincerely", "Yours faithfully", "Sincerely", "Many thanks", "Cheers",
            "Ngā mihi", "Ngā mihi nui", "Best wishes", "Thank you", "With thanks", "Warm regards", "Respectfully"]


@dataclass
class Planted:
    """One planted identifier: where, what, which national format, the exact string and its parts."""

    doc: int
    type: str
    country: str
    value: str
    parts: list[str] = field(default_factory=list)


@dataclass
class Corpus:
    """Documents and their planted identifiers."""

    docs: list[str]
    planted: list[Planted]


# --- generators -------------------------------------------------------------------------------------


def _digits(rng: random.Random, n: int, first: str = string.digits) -> str:
    return rng.choice(first) + "".join(rng.choice(string.digits) for _ in range(n - 1)) if n else ""


def _fill(rng: random.Random, fmt: str, country: str) -> str:
    """Expand a phone format: {n} random digits, {L3} a local number start (2-9), {AREA}/{EX} NANP parts."""
    out = fmt.replace("{AREA}", rng.choice(AREA_CODES.get(country, AREA_CODES["US"])))
    ex = _digits(rng, 3, "23456789")
    while ex[1:] == "11" or ex == "555":
        ex = _digits(rng, 3, "23456789")
    out = out.replace("{EX}", ex).replace("{L3}", _digits(rng, 3, "2345789"))
    out = out.replace("{NZM}", rng.choice("12789"))
    if "07{1}" in out:
        out = out.replace("07{1}", "07" + rng.choice(MOBILE_UK), 1)
    for n in range(9, 0, -1):
        while "{" + str(n) + "}" in out:
            out = out.replace("{" + str(n) + "}", _digits(rng, n), 1)
    return out


def phone(rng: random.Random, country: str, international: bool = False) -> str:
    """A phone number in the country's national (or international) written format."""
    return _fill(rng, INTL_FORMATS[country] if international else rng.choice(PHONE_FORMATS[country]), country)


def _plain(s: str) -> str:
    src, dst = "āēīōūáéíóúèêëàâîïôöüçñøåłğışżé", "aeiouaeioueeeaaiioouenoalgisze"
    return "".join(c for c in s.lower().translate(str.maketrans(src, dst)) if c.isascii() and c.isalnum())


def email(rng: random.Random, country: str, first: str, last: str) -> str:
    """A plain email address on one of the country's common mail domains."""
    local = rng.choice([f"{_plain(first)}.{_plain(last)}", f"{_plain(first)[0]}{_plain(last)}{rng.randint(1, 99)}",
                        f"{_plain(last)}_{_plain(first)}", f"{_plain(first)}{rng.randint(60, 99)}"])
    return f"{local}@{rng.choice(EMAIL_DOMAINS[country])}"


def obfuscated_email(rng: random.Random, country: str, first: str, last: str) -> str:
    """An email written to dodge scrapers: "(at)" / "[dot]", "AT ... DOT", "at ... dot"."""
    local, domain = email(rng, country, first, last).split("@")
    labels = domain.split(".")
    style = rng.randrange(5)
    if style == 0:
        return f"{local} (at) {labels[0]} (dot) " + " (dot) ".join(labels[1:])
    if style == 1:
        return f"{local}[at]{domain}"
    if style == 2:
        return f"{local} AT {labels[0]} DOT " + " DOT ".join(x.upper() for x in labels[1:])
    if style == 3:
        return f"{local} at {labels[0]} dot " + " dot ".join(labels[1:])
    return f"{local} [at] {labels[0]} [dot] " + " [dot] ".join(labels[1:])


def ird_number(rng: random.Random) -> str:
    """A valid NZ IRD number (Inland Revenue's published mod-11 rule), written ddd-ddd-ddd or bare."""
    while True:
        base = str(rng.randrange(10_000_000, 149_999_999))[:8].zfill(8)
        for weights in ((3, 2, 7, 6, 5, 4, 3, 2), (7, 4, 3, 2, 5, 2, 7, 6)):
            rem = sum(int(d) * w for d, w in zip(base, weights, strict=True)) % 11
            check = 0 if rem == 0 else 11 - rem
            if check != 10:
                break
        if check == 10:
            continue
        digits = (base + str(check)).zfill(9)
        if not 10_000_000 < int(digits) < 150_000_000:
            continue
        return rng.choice([f"{digits[:3]}-{digits[3:6]}-{digits[6:]}", f"{digits[:3]} {digits[3:6]} {digits[6:]}"])


def nhi_number(rng: random.Random) -> str:
    """A valid old-format NZ NHI number (HISO 10046 mod-11), in upper or lower case."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    while True:
        letters = "".join(rng.choice(alphabet) for _ in range(3))
        nums = _digits(rng, 3)
        total = sum((alphabet.index(c) + 1) * (7 - i) for i, c in enumerate(letters))
        total += sum(int(d) * (4 - i) for i, d in enumerate(nums))
        rem = total % 11
        if rem == 0 or (11 - rem) == 10:
            continue
        code = letters + nums + str((11 - rem) % 10)
        return code.lower() if rng.random() < 0.5 else code


def card_number(rng: random.Random) -> str:
    """A Luhn-valid Visa / Mastercard number, grouped 4-4-4-4."""
    body = rng.choice(["4", "51", "53", "55"])
    body += _digits(rng, 15 - len(body))
    total = 0
    for i, d in enumerate(reversed(body)):
        n = int(d)
        if i % 2 == 0:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    full = body + str((10 - total % 10) % 10)
    return " ".join(full[i:i + 4] for i in range(0, 16, 4))


def ip_address(rng: random.Random) -> str:
    """A public-range IPv4 address or a (possibly ``::``-compressed) IPv6 address."""
    if rng.random() < 0.6:
        return ".".join(str(x) for x in (rng.randint(11, 223), rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254)))
    groups = [f"{rng.randrange(0x10000):x}" for _ in range(8)]
    groups[0] = "2001"
    return rng.choice([":".join(groups), ":".join(groups[:3]) + "::" + ":".join(groups[6:])])


def date_of_birth(rng: random.Random, country: str) -> tuple[str, str]:
    """``(sentence, date)``: a date of birth as a person would mark it."""
    d, m, y = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1935, 2005)
    month = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December"][m - 1]
    us = country in ("US", "CA")
    date = rng.choice([f"{m:02d}/{d:02d}/{y}" if us else f"{d:02d}/{m:02d}/{y}", f"{y}-{m:02d}-{d:02d}",
                       f"{month} {d}, {y}" if us else f"{d} {month} {y}", f"{d}{'th' if d > 3 else 'rd'} {month} {y}",
                       f"{d}.{m}.{y % 100:02d}"])
    sentence = rng.choice([f"DOB: {date}", f"My date of birth is {date}.", f"I was born on {date} and have lived here since.",
                           f"(D.O.B. {date})", f"Date of birth: {date}"])
    return sentence, date


def street_address(rng: random.Random, country: str) -> tuple[str, list[str]]:
    """``(address, parts)`` in the country's written format; parts = street line, suburb, postcode."""
    street = rng.choice(STREETS[country])
    suburb, city, pc = rng.choice(PLACES[country])
    n = str(rng.randint(1, 480))
    line = f"{n} {street}"
    style = rng.randrange(4)
    if country == "NZ":
        unit = [f"Flat {rng.randint(1, 9)}, {line}", f"{rng.randint(1, 9)}/{line}", line, line][style]
        addr = rng.choice([f"{unit}, {suburb}, {city} {pc}", f"{unit}\n{suburb}\n{city} {pc}", f"{unit}, {suburb}, {city}"])
        return addr, [line, suburb] + ([pc] if pc in addr else [])
    if country == "AU":
        unit = [f"Unit {rng.randint(1, 20)}, {line}", f"{rng.randint(1, 20)}/{line}", line, line][style]
        sep = rng.choice([", ", " "])
        return f"{unit}{sep}{suburb} {city} {pc}", [line, suburb, pc]
    if country == "UK":
        if style == 3:
            house = rng.choice(HOUSE_NAMES)
            return f"{house}, {street}, {suburb}, {city} {pc}", [house, suburb, pc]
        unit = [f"Flat {rng.randint(1, 12)}, {line}", line, line][style]
        return rng.choice([f"{unit}, {suburb}, {city} {pc}", f"{unit}\n{city}\n{pc}"]), [line, pc]
    if country == "US":
        unit = [f"{line} Apt {rng.randint(1, 30)}{rng.choice('ABC')}", f"{line}, Suite {rng.randint(100, 900)}", line, line][style]
        zip_ = pc if rng.random() < 0.7 else f"{pc}-{_digits(rng, 4)}"
        return rng.choice([f"{unit}, {suburb}, {city} {zip_}", f"{unit}\n{suburb}, {city} {zip_}"]), [line, zip_]
    unit = [f"Unit {rng.randint(1, 30)}, {line}", f"{rng.randint(100, 2500)}-{line}", line, line][style]
    return rng.choice([f"{unit}, {suburb}, {city} {pc}", f"{unit}\n{suburb} {city}  {pc}"]), [line, pc]


def city_line(rng: random.Random, country: str) -> tuple[str, list[str]]:
    """A signature's town line without street: "Springfield, IL 62704", "Fitzroy VIC 3065", "Leeds LS6 3HN"."""
    suburb, city, pc = rng.choice(PLACES[country])
    if country == "US":
        return f"{suburb}, {city} {pc}", [pc]
    if country == "CA":
        return rng.choice([f"{suburb}, {city} {pc}", f"{suburb} {city} {pc}"]), [pc]
    if country == "AU":
        return f"{suburb} {city} {pc}", [suburb, pc]
    if country == "UK":
        return f"{city} {pc}", [pc]
    return rng.choice([f"{suburb}, {city} {pc}", f"{city} {pc}"]), [pc]


def personal_url(rng: random.Random, first: str, last: str, country: str) -> str:
    """A personal site: bare domain, with a path, with ``www.``, or a hosted blog post."""
    tld = {"NZ": "co.nz", "AU": "com.au", "UK": "co.uk", "US": "com", "CA": "ca"}[country]
    host = rng.choice([f"{_plain(first)}{_plain(last)}.{tld}", f"{_plain(last)}-family.net", f"{_plain(first)}-{_plain(last)}.com"])
    return rng.choice([host, f"{host}/about", f"www.{host}", f"https://{_plain(first)}{_plain(last)}.wordpress.com/2024/05/submission",
                       f"{host}/blog/our-submission"])


def handle(rng: random.Random, first: str, last: str) -> str:
    """A social-media handle ``@name``."""
    return "@" + rng.choice([f"{_plain(first)}{_plain(last)}", f"{_plain(first)}_{_plain(last)[:4]}{rng.randint(1, 99)}",
                             f"{_plain(last)}.{_plain(first)}"])


# --- documents ---------------------------------------------------------------------------------------

_PARTICLES = {"van", "der", "den", "de", "del", "la", "le", "da", "di", "du", "te", "ní", "ni", "von", "thị"}


def name_parts(name: str) -> list[str]:
    """The words of a name a reader could still recognise: each of >= 3 letters that is not a particle."""
    return [w.strip(".,") for w in name.split() if len(w.strip(".,")) >= 3 and w.lower() not in _PARTICLES]


def _person(rng: random.Random, country: str) -> tuple[str, str]:
    return rng.choice(FIRST[country]), rng.choice(LAST[country])


def signoff(rng: random.Random, country: str) -> tuple[str, str, list[str]]:
    """``(block, value, parts)``: a letter's closing with the writer's name in one of many written forms."""
    first, last = _person(rng, country)
    full = f"{first} {last}"
    prefix = rng.choice(PREFIXES)
    style = rng.randrange(14)
    if style == 0:
        return f"{prefix},\n{full}", full, name_parts(full)
    if style == 1:
        title = rng.choice(TITLES)
        return f"{prefix},\n{title} {full}", f"{title} {full}", name_parts(full)
    if style == 2:
        value = f"{first[0]}. {last}"
        return f"{prefix},\n\n{value}", value, name_parts(last)
    if style == 3:
        value = f"{full} ({rng.choice(['Mr', 'Mrs', 'Ms', 'Dr'])})"
        return f"{prefix}, {value}", value, name_parts(full)
    if style == 4:
        value = full.lower()
        return f"{prefix.lower()}, {value}", value, name_parts(value)
    if style == 5:
        return f"Signed: {full}", full, name_parts(full)
    if style == 6:
        return f"Nāku noa, nā\n{full}", full, name_parts(full)
    if style == 7:
        return f"Nā {full}", full, name_parts(full)
    if style == 8:
        world = rng.choice(WORLD_NAMES)
        return f"Ngā mihi. Sincerely, {world}", world, name_parts(world)
    if style == 9:
        return f"{prefix},\n{full}.", full, name_parts(full)
    if style == 10:
        world = rng.choice(WORLD_NAMES)
        closing = rng.choice(["Fa'afetai lava", "Mālō ʻaupito", "Saludos cordiales", "Cordialement",
                              "Mit freundlichen Grüßen", "Vinaka vakalevu", "Met vriendelijke groet"])
        return f"{closing},\n{world}", world, name_parts(world)
    if style == 11:
        value = f"{first} {rng.choice(string.ascii_uppercase)}. {last}"
        return f"{prefix},\n{value}\nSecretary, Hillside Residents' Association", value, name_parts(full)
    if style == 12:
        return f"{prefix} -\n{full.upper()}", full.upper(), name_parts(full.upper())
    return f"{prefix},\n{first}", first, name_parts(first)


def intro(rng: random.Random, country: str) -> tuple[str, str, list[str]]:
    """``(sentence, value, parts)``: a self-introduction."""
    first, last = _person(rng, country)
    full = f"{first} {last}"
    city = rng.choice(PLACES[country])[1 if country == "NZ" else 0]
    style = rng.randrange(6)
    if style == 1:
        value = full.lower()
        return f"my name is {value} and this is my submission.", value, name_parts(value)
    sentence = [f"My name is {full} and I have lived in {city} for {rng.randint(2, 40)} years.", "",
                f"I am {full}, a nurse and mother of three.", f"I'm {full} and I oppose this proposal.",
                f"Ko {full} tōku ingoa, nō {city} ahau.", f"This is {full} writing on behalf of my whānau."][style]
    return sentence, full, name_parts(full)


def inline_name(rng: random.Random, country: str) -> tuple[str, str, list[str]]:
    """``(sentence, value, parts)``: someone's full name in running text."""
    first, last = _person(rng, country)
    full = f"{first} {last}"
    style = rng.randrange(4)
    if style == 0:
        place = {"US": "America", "NZ": "Aotearoa", "AU": "Australia", "UK": "Britain", "CA": "Canada"}[country]
        return f"God bless {place}, {full}!", full, name_parts(full)
    if style == 1:
        title = rng.choice(["Mr", "Mrs", "Dr", "Ms"])
        return f"{title} {last} from the council told us the road would be fixed.", f"{title} {last}", name_parts(last)
    if style == 2:
        return f"My neighbour {full} and I both rely on this bus.", full, name_parts(full)
    return f"As {full} said at the public meeting, nobody asked us.", full, name_parts(full)


def _extra(rng: random.Random, country: str, first: str, last: str) -> tuple[str, str, str, list[str]]:
    """``(type, sentence, value, parts)``: one more identifier for a letter or a short answer."""
    options = ["name_intro", "name_inline", "date_of_birth", "social_handle", "url", "ip_address", "phone_intl",
               "email_obfuscated", "card"] + (["ird", "nhi"] if country == "NZ" else [])
    kind = rng.choice(options)
    if kind == "name_intro":
        return (kind, *intro(rng, country))
    if kind == "name_inline":
        return (kind, *inline_name(rng, country))
    if kind == "date_of_birth":
        sentence, date = date_of_birth(rng, country)
        return kind, sentence, date, []
    if kind == "social_handle":
        h = handle(rng, first, last)
        return kind, rng.choice([f"Follow me on Twitter {h} for photos of the flooding.", f"I post updates as {h}.",
                                 f"(Instagram: {h})"]), h, [h[1:]]
    if kind == "url":
        url = personal_url(rng, first, last, country)
        host = url.split("://")[-1].split("/")[0].removeprefix("www.")
        return kind, rng.choice([f"My full submission is at {url}", f"Photos: {url} .", f"See {url} for our evidence."]), url, [host]
    if kind == "ip_address":
        ip = ip_address(rng)
        return kind, f"The online form failed from my IP address {ip} twice.", ip, []
    if kind == "phone_intl":
        p = phone(rng, country, international=True)
        return kind, f"From overseas, call {p}.", p, []
    if kind == "email_obfuscated":
        e = obfuscated_email(rng, country, first, last)
        return kind, f"Write to me at {e} if you need more.", e, [e.split()[0].split("[")[0]]
    if kind == "card":
        c = card_number(rng)
        return kind, f"I paid the objection fee with card {c} but got no receipt.", c, []
    if kind == "ird":
        n = ird_number(rng)
        return kind, f"My IRD number is {n} for the rebate.", n, []
    n = nhi_number(rng)
    return "nhi", f"My NHI is {n} if the DHB needs to check.", n, []


def _letter(rng: random.Random, doc: int, country: str) -> tuple[str, list[Planted]]:
    first, last = _person(rng, country)
    planted: list[Planted] = []
    lines = [rng.choice(["Dear Sir or Madam,", "Kia ora,", "To the submissions team,", "Tēnā koutou,"]), "",
             rng.choice(OPENINGS) + " " + " ".join(rng.sample(BODIES, 2))]
    for _ in range(rng.randint(1, 2)):
        kind, sentence, value, parts = _extra(rng, country, first, last)
        lines.append(sentence)
        planted.append(Planted(doc, kind, country, value, parts))
    block, value, parts = signoff(rng, country)
    lines += ["", block]
    planted.append(Planted(doc, "name_signoff", country, value, parts))
    if rng.random() < 0.6:
        addr, parts = street_address(rng, country)
        lines.append(addr)
        planted.append(Planted(doc, "address", country, addr, parts))
    else:
        line, parts = city_line(rng, country)
        lines.append(line)
        planted.append(Planted(doc, "city_line", country, line, parts))
    p = phone(rng, country)
    lines.append(rng.choice([f"Ph: {p}", f"Phone {p}", f"Mobile: {p}", p, f"Tel. {p}"]))
    planted.append(Planted(doc, "phone", country, p, []))
    e = email(rng, country, first, last)
    lines.append(e)
    planted.append(Planted(doc, "email", country, e, [e.split("@")[0]]))
    return "\n".join(lines), planted


def _short_answer(rng: random.Random, doc: int, country: str) -> tuple[str, list[Planted]]:
    first, last = _person(rng, country)
    body = rng.choice(BODIES)
    choice = rng.randrange(5)
    if choice == 0:
        p = phone(rng, country)
        sentence = rng.choice([f"Call me on {p} if you want to discuss.", f"I can be reached on {p} after 5pm.",
                               f"My number is {p}."])
        return f"{body} {sentence}", [Planted(doc, "phone", country, p, [])]
    if choice == 1:
        addr, parts = street_address(rng, country)
        addr = addr.replace("\n", ", ")
        return f"{body} We live at {addr} and the flooding reaches our gate.", [Planted(doc, "address", country, addr, parts)]
    if choice == 2:
        e = email(rng, country, first, last)
        return f"{body} Email {e} for our photos.", [Planted(doc, "email", country, e, [e.split("@")[0]])]
    kind, sentence, value, parts = _extra(rng, country, first, last)
    return f"{body} {sentence}", [Planted(doc, kind, country, value, parts)]


def build_corpus(seed: int = 2024, n_letters: int = 120, n_short: int = 180) -> Corpus:
    """Letters (several identifiers each) and short answers (one each), countries in turn, seeded.

    Returns:
        The corpus; every planted value occurs verbatim in its document.
    """
    rng = random.Random(seed)
    docs: list[str] = []
    planted: list[Planted] = []
    for i in range(n_letters + n_short):
        country = COUNTRIES[i % len(COUNTRIES)]
        text, items = (_letter if i < n_letters else _short_answer)(rng, len(docs), country)
        docs.append(text)
        planted.extend(items)
    for item in planted:
        assert item.value in docs[item.doc], (item, docs[item.doc])
    return Corpus(docs, planted)


def survives(item: Planted, redacted: str) -> list[str]:
    """What of a planted identifier is still readable in the redacted document: the exact value, and each
    obvious part as a whole word (case-sensitive)."""
    left = [item.value] if item.value in redacted else []
    return left + [p for p in item.parts if re.search(rf"(?<!\w){re.escape(p)}(?!\w)", redacted)]


def recall_table(corpus: Corpus, redacted: list[str]) -> list[tuple[str, str, int, float]]:
    """``(type, country, n, recall)`` rows, sorted; recall = share of identifiers with nothing left."""
    counts: dict[tuple[str, str], list[int]] = {}
    for item in corpus.planted:
        row = counts.setdefault((item.type, item.country), [0, 0])
        row[0] += 1
        row[1] += not survives(item, redacted[item.doc])
    return [(t, c, n, ok / n) for (t, c), (n, ok) in sorted(counts.items())]
