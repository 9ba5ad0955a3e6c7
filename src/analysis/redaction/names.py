"""Personal names in free text: a first-name / surname lexicon and rule-based name detectors.

The lexicon is Faker's census-based person-name lists (every Latin-script locale: 21k first names,
21k surnames, loaded once in ~0.4 s) plus a supplement of Māori, Pacific, Korean and Punjabi names
(:mod:`analysis.redaction.name_lists`). Tokens are compared case-, macron-, accent- and
apostrophe-insensitively ("rawiri" = "Rāwiri", "Faʻasalele" = "Fa'asalele").

:func:`find_person_names` finds names where a reader would see one:

* **sign-offs** ("Kind regards,\\nMr. J. R. Smith", "Sincerely, john smith", "Ngā mihi. Sincerely,
  María José García", "Nāku noa, nā\\nHemi", "Cheers, Sam.", "Jane Smith (Mrs)"), in English, te reo
  Māori, Pacific and European languages; the name must end its line (or be followed by a role, an
  email address or bracketed title);
* **labels** ("Signed: ...", "Name: ...", "Submitted by ...", "From: ...");
* **titles** anywhere ("Mr Smith", "Dr. Aroha Ngata");
* **self-introductions** ("My name is jane smith", "I'm Jack Henare", "Ko Tama Harris tōku ingoa");
* **full names** anywhere: a known first name followed by a known surname, both capitalised
  ("God bless America, John Smith!"), optionally with initials or particles ("Anna van der Berg").

The publication guard and theme-label code reuse :func:`is_person_name`.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from analysis.redaction import scan
from analysis.redaction.addresses import STREET_TYPES
from analysis.redaction.name_lists import (
    COMMON_WORDS,
    PLACE_NOUNS,
    SUPPLEMENT_FIRST_NAMES,
    SUPPLEMENT_SURNAMES,
)
from analysis.redaction.patterns import lowered

Span = tuple[int, int, str]

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bb": "'", "\u02bc": "'", "`": "'", "\u2018": "'"})
_LATIN_NAME = re.compile(r"^[A-Za-z\u00c0-\u024f\u1e00-\u1eff' -]+$")
_FIRST_ATTRS = ("first_names", "first_names_female", "first_names_male", "first_names_nonbinary",
                "first_romanized_names")
_LAST_ATTRS = ("last_names", "last_names_female", "last_names_male", "last_romanized_names")

#: A capitalised pair followed by one of these is a place, not a person ("Gary Farms Blvd", "Ken Bale Road").
_PLACE_WORDS = PLACE_NOUNS | {w.lower() for w in STREET_TYPES.split("|")}
#: Street-type abbreviations, never a surname ("Campbell Ln", "Adams St").
_STREET_ABBREVIATIONS = {w.lower() for w in STREET_TYPES.split("|") if len(w) <= 4 and w.lower() not in PLACE_NOUNS
                         and w not in ("Way", "Row", "Gate", "Hill", "Park", "Rise", "Walk", "Vale", "View", "Mall",
                                       "Loop", "Mews", "Quay", "Wynd", "Pike", "Green")}
#: Name particles that may sit between a first name and a surname ("van der", "de la", "Te").
PARTICLES = frozenset("van von der den de del della di da du dos das le la te ten ter bin binti al el mac st".split())
#: Honorifics that start a name ("Mr", "Dr."); the whole "Mr Smith" is redacted.
TITLES = frozenset("mr mrs ms miss mx dr prof professor rev revd reverend sir dame fr".split())
_NOT_NAMES_TEXT = """
new zealand zealander aotearoa america australia canada england britain uk nz usa us kiwi kiwis maori māori
pakeha pākehā pacific samoan tongan chinese indian european christian muslim jewish hindu buddhist
the a an not very strongly also writing concerned opposed in on of and for from to all everyone team
minister council committee board chair chairman chairperson secretary speaker mayor president premier
sir madam trust society association inc ltd limited group club church school university network
government department ministry office staff members member residents resident citizens community
thanks thank regards sincerely cheers kind best warm yours faithfully truly mihi nāku noa nā reira
god bless hello hi dear kia ora tena tēnā koe koutou ko ngāti ngati
"""


_COMBINING = re.compile(r"[\u0300-\u036f]")


def fold(token: str) -> str:
    """Case-, accent- and apostrophe-folded form of a token ("Rāwiri" -> "rawiri")."""
    if token.isascii():
        return token.lower().replace("`", "'")
    return _COMBINING.sub("", unicodedata.normalize("NFKD", token.translate(_APOSTROPHES).casefold()))


#: Capitalised words that follow a sign-off, title or "I am" without being (part of) a name (folded).
NOT_NAMES = frozenset(fold(w) for w in _NOT_NAMES_TEXT.split())


def _provider_values(provider: type, attr: str) -> list[str]:
    for klass in provider.__mro__:
        if attr in vars(klass):
            value = vars(klass)[attr]
            if isinstance(value, (list, tuple, set, dict)):
                return [v for v in value if isinstance(v, str) and _LATIN_NAME.match(v)]
            return []
    return []


def _folded_set(raw: set[str]) -> frozenset[str]:
    """Fold every name, and add its parts of >= 3 letters ("María José" -> maría, josé, "Smith-Jones")."""
    folded = fold("\n".join(sorted(raw))).split("\n")
    out = set(folded)
    for name in folded:
        if " " in name or "-" in name:
            out.update(p for p in re.split(r"[ -]+", name) if len(p) >= 3 and p not in PARTICLES)
    return frozenset(out)


@lru_cache(maxsize=1)
def lexicon() -> tuple[frozenset[str], frozenset[str]]:
    """Folded first names and surnames (Faker's person providers plus :mod:`name_lists`).

    Returns:
        ``(first_names, surnames)``, each a frozenset of folded tokens.
    """
    import faker.providers.person as person

    firsts: set[str] = set(SUPPLEMENT_FIRST_NAMES.split())
    lasts: set[str] = set(SUPPLEMENT_SURNAMES.split())
    for info in sorted(pkgutil.iter_modules(person.__path__), key=lambda i: i.name):
        provider = importlib.import_module(f"{person.__name__}.{info.name}").Provider
        for attr in _FIRST_ATTRS:
            firsts.update(_provider_values(provider, attr))
        for attr in _LAST_ATTRS:
            lasts.update(_provider_values(provider, attr))
    return _folded_set(firsts), _folded_set(lasts)


def is_first_name(token: str) -> bool:
    """Whether ``token`` is a known first name (any case, macrons and accents optional)."""
    return fold(token.strip(".,;:!?")) in lexicon()[0]


def is_surname(token: str) -> bool:
    """Whether ``token`` is a known surname; hyphenated surnames need every part known."""
    folded = fold(token.strip(".,;:!?"))
    lasts = lexicon()[1]
    return folded in lasts or ("-" in folded and all(p in lasts for p in folded.split("-") if p))


@lru_cache(maxsize=1)
def _word_frequency() -> object:
    from spellchecker import SpellChecker

    return SpellChecker(language="en", distance=1).word_frequency


#: Subtitle-corpus count from which a word is ordinary English (pyspellchecker rounds rare words to 50).
ORDINARY_COUNT = 100


def is_ordinary_word(token: str) -> bool:
    """Whether ``token`` is a common word in pyspellchecker's English list (160k words counted in subtitles).

    A capitalised word that is absent or rare there ("Papadopoulos", "Ngata", "Whitfield") is name-like;
    "Green", "Course" and "Vision" are ordinary.
    """
    return _word_frequency()[fold(token.strip(".,;:!?"))] >= ORDINARY_COUNT


def name_like(token: str) -> bool:
    """A known first name or surname, or a word too rare to be ordinary English."""
    return is_first_name(token) or is_surname(token) or not is_ordinary_word(token)


def is_person_name(token: str) -> bool:
    """Whether ``token`` is a known first name or surname and not an everyday word.

    "Aroha", "ngata", "García" and "Smith" are names; "Council", "May", "Green" and "Will" are in the
    name lists but are also everyday words, so they are not (they still count inside a sign-off).
    """
    folded = fold(token.strip(".,;:!?"))
    return bool(folded) and folded not in COMMON_WORDS and (is_first_name(folded) or is_surname(folded))


# --- tokens and name runs -----------------------------------------------------------------------

_WORD = r"[^\W\d_][\w'\u2019\u02bb]*(?:-[^\W\d_][\w'\u2019\u02bb]*)*"
_TOKEN_RE = re.compile(rf"(?:Mr|Mrs|Ms|Mx|Dr|Prof|Rev|Revd|Fr)\.(?=[ \t])|(?:[A-Z]\.){{2,3}}|[A-Z]\.(?!\w)|{_WORD}|\((?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\)|\S")
_INITIAL_RE = re.compile(r"(?:[A-Z]\.){1,3}|[A-Z]")
_GAP_RE = re.compile(r"[ \t]+")


class NameRun(NamedTuple):
    """A run of name-like tokens: offsets, token count, lexicon hits, first token a first name."""

    start: int
    end: int
    tokens: int
    known: int
    first_known: bool


def _kind(tok: str, allow_lower: bool) -> str | None:
    """Classify one token inside a name: 'title', 'initial', 'particle', 'name' or None (stop)."""
    bare = tok.rstrip(".")
    folded = fold(bare)
    if folded in TITLES:
        return "title"
    if _INITIAL_RE.fullmatch(tok) and tok != "I":
        return "initial"
    if folded in PARTICLES and tok.islower():
        return "particle"
    if not tok[0].isalpha() or folded in NOT_NAMES:
        return None
    if tok[0].isupper():
        return "name"
    if allow_lower and folded not in COMMON_WORDS and (
            is_first_name(tok) or is_surname(tok) or (len(tok) > 2 and not is_ordinary_word(tok))):
        return "name"
    return None


def name_run(text: str, pos: int, endpos: int, allow_lower: bool = False, max_tokens: int = 6) -> NameRun | None:
    """The run of name tokens starting at ``pos`` (leading spaces skipped) and ending before ``endpos``.

    A run is an optional title, then capitalised words, initials and particles (and, with
    ``allow_lower``, lower-case words that are known names), separated by spaces, plus an optional
    "(Mr)"-style suffix. Trailing particles and a lone title are not part of it.

    Returns:
        The run, or None when no name token starts at ``pos``.
    """
    gap = _GAP_RE.match(text, pos, endpos)
    cur = gap.end() if gap else pos
    start, end, n, known, first_known, last_name_end = cur, cur, 0, 0, False, None
    for i, m in enumerate(_TOKEN_RE.finditer(text, cur, endpos)):
        if (m.start() != cur) if i == 0 else not _GAP_RE.fullmatch(text, end, m.start()):
            break
        tok = m.group(0)
        if tok.startswith("(") and n:
            last_name_end = m.end()
            break
        kind = _kind(tok, allow_lower)
        if kind is None and allow_lower and first_known and tok.isalpha() and tok.islower() and fold(tok) not in (
                COMMON_WORDS | NOT_NAMES):
            kind = "name"  # "mohammed whitfield": a lower-case surname after a known first name
        if kind is None or (kind == "title" and i > 0) or i >= max_tokens:
            break
        end = m.end()
        if kind in ("name", "initial"):
            if kind == "name":
                hit = is_first_name(tok) or is_surname(tok)
                known += hit
                first_known = first_known or (n == 0 and is_first_name(tok))
            n += 1
            last_name_end = end
    if not n or last_name_end is None:
        return None
    return NameRun(start, last_name_end, n, known, first_known)


# --- contexts -----------------------------------------------------------------------------------

_S = r"[ \t]+"
#: Sign-offs that are never anything else: a name may follow after a space.
_STRONG = (
    rf"(?:yours{_S})?sincerely(?:{_S}yours)?|(?:yours{_S})?faithfully|yours{_S}truly|respectfully(?:{_S}(?:yours|submitted))?"
    rf"|(?:with{_S})?(?:(?:kind|kindest|best|warm|warmest|many){_S})?regards"
    rf"|ng[aā]{_S}mihi(?:{_S}(?:nui(?:{_S}rawa)?|maioha|mahana|aroha|o{_S}te{_S}w[aā]))?"
    rf"|n[aā]ku{_S}(?:noa|iti)(?:[ \t]*,?[ \t]*n[aā])?|heoi{_S}an[oō]|noho{_S}ora{_S}mai|mauri{_S}ora"
    rf"|fa['ʻ’]?afetai(?:{_S}(?:tele|lava))*|m[aā]l[oō]{_S}['ʻ’]?aupito|vinaka(?:{_S}vakalevu)?"
    rf"|meitaki(?:{_S}ma['ʻ’]?ata)?|fakaaue(?:{_S}lahi)?|kia{_S}manuia|soifua|['ʻ’]?ofa{_S}atu"
    rf"|saludos(?:{_S}cordiales)?|un{_S}saludo|atentamente|cordialmente|cordialement|bien{_S}[àa]{_S}vous"
    rf"|mit{_S}freundlichen{_S}gr(?:ü|ue)(?:ß|ss)en|viele{_S}gr(?:ü|ue)(?:ß|ss)e|met{_S}vriendelijke{_S}groet(?:en)?"
    rf"|cordiali{_S}saluti|distinti{_S}saluti|atenciosamente|abra[cç]os|pozdrawiam|s{_S}pozdravem"
    rf"|med{_S}ven[n]?lig{_S}hilsen|(?:med{_S})?v[aä]nliga{_S}h[aä]lsningar|yst[aä]v[aä]llisin{_S}terveisin"
    rf"|terima{_S}kasih|salamat"
)
#: Words that close a letter but also start ordinary sentences: punctuation or a line break must follow.
_WEAK = (
    rf"thanks(?:{_S}again)?|many{_S}thanks|thank{_S}you(?:{_S}(?:again|all))?|with{_S}thanks|cheers|best(?:{_S}wishes)?"
    rf"|all{_S}the{_S}best|(?:kind|warm|warmest|good){_S}wishes|yours|blessings|take{_S}care|gratefully|love"
    rf"|kia{_S}ora|ka{_S}kite(?:{_S}an[oō])?|n[aā]"
)
#: Greetings: the addressee's name follows ("Dear Jane," "Tēnā koe Hemi").
_GREETING = rf"dear|hi|hello|t[eē]n[aā]{_S}koe|kia{_S}ora"
_SIGNOFF_RE = re.compile(rf"(?i)(?:(?P<strong>{_STRONG})|(?P<weak>{_WEAK})|(?P<greet>{_GREETING}))(?![\w'’])")
_AFTER_RE = re.compile(r"[ \t]*([,.!:;\-\u2013\u2014]*)[ \t]*((?:\r?\n[ \t]*){0,2})")
_LABEL_RE = re.compile(
    r"(?i)(?:(?:signed|sgd|signature|(?:full[ \t]+)?name|submitter(?:[ \t]+name)?|from|author"
    r"|contact(?:[ \t]+(?:person|name))?|attn|attention)[ \t]*[:\-\u2013\u2014]"
    r"|(?:signed|submitted|written|prepared)[ \t]+by(?=[ \t]))"
)
_TITLE_BODY = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Rev|Revd|Reverend|Sir|Dame)\.?(?=[ \t]+\S)"
_TITLE_RE = re.compile(r"(?<![\w'’])" + _TITLE_BODY)
#: Gates for :func:`analysis.redaction.scan.finditer`: each matches wherever the pattern it gates does (the
#: pattern without its leading look-behind, or the literal starts of its branches).
_TITLE_GATE = re.compile(_TITLE_BODY)
_INTRO_RE = re.compile(
    r"(?<![\w'’])(?:(?P<named>[Mm]y[ \t]+name[ \t]+is|[Mm]y[ \t]+name['’]s|[Nn]ame[ \t]+is)"
    r"|(?P<self>I['’]m|I[ \t]+am)|(?P<this>This[ \t]+is|It['’]s))(?=[ \t])"
)
_INTRO_GATE = re.compile("My|my|Name|name|I|This")
_INTRO_HINTS = ("I'm", "I’m", "I am", "This is", "It's", "It’s", "ame is", "ame's", "ame’s")
_TITLE_HINTS = ("Mr", "Ms", "Miss", "Mx", "Dr", "Prof", "Rev", "Sir", "Dame")
#: One search for any hint (the same as ``any(h in text for h in hints)``, in one pass).
_INTRO_HINT_RE = re.compile("|".join(map(re.escape, _INTRO_HINTS)))
_TITLE_HINT_RE = re.compile("|".join(map(re.escape, _TITLE_HINTS)))
#: Clause starts (after a line break or punctuation): where sign-offs and labels may begin.
_CLAUSE_RE = re.compile(r"[\n.!?,;:)][ \t]*")
_FIRST_WORD_RE = re.compile(r"['ʻ’]?[^\W\d_]+(?:['ʻ’][^\W\d_]+)?")
_KO_RE = re.compile(rf"\bKo[ \t]+({_WORD}(?:[ \t]+{_WORD}){{0,3}})[ \t]+t[oō]ku[ \t]+ingoa")
_CAP = r"[A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u017f]"
#: "..., Jane Smith!" ending a line: a closing salutation's signature.
_TRAIL_RE = re.compile(rf"(?m),[ \t]+({_CAP}[\w'’ʻ-]*(?:[ \t]+{_CAP}[\w'’ʻ-]*){{1,2}})[ \t]*[!.]?[ \t]*$")
#: "Jane Smith said / told / wrote ...": a speaker.
_SPEECH_RE = re.compile(
    rf"(?<![\w'’])({_CAP}[\w'’ʻ-]*(?:[ \t]+(?:[A-Z]\.[ \t]+)?{_CAP}[\w'’ʻ-]*){{1,2}})[ \t]+"
    r"(?:said|says|told|wrote|writes|asked|explained|argued|claimed|claims|mentioned|noted)\b"
)
_RELATIVES = (
    "neighbour|neighbor|neighbours|husband|wife|partner|son|daughter|friend|colleague|mother|father|mum|mom|dad|"
    "brother|sister|uncle|aunt|aunty|auntie|cousin|grandmother|grandfather|grandson|granddaughter|nana|koro|kuia|"
    "landlord|landlady|tenant|boss|employer|lawyer|flatmate|mate|niece|nephew|stepson|stepdaughter|fiancée|fiance|fiancé"
)
#: "my neighbour", "our late friend": a person's name may follow.
_RELATIVE_RE = re.compile(rf"\b(?:[Mm]y|[Oo]ur|MY|OUR)[ \t]+(?:late[ \t]+|dear[ \t]+|elderly[ \t]+)?(?:{_RELATIVES})[ \t]*,?(?=[ \t]+[A-Z])")
_RELATIVE_GATE = re.compile("My|my|MY|Our|our|OUR")
_PAIR_BODY = (
    rf"{_CAP}[\w'’ʻ]*(?:-[^\W\d_][\w'’ʻ]*)*"
    rf"(?:[ \t]+(?:(?:{'|'.join(sorted(PARTICLES))})[ \t]+)*(?:(?:[A-Z]\.)+|{_CAP}[\w'’ʻ]*(?:-[^\W\d_][\w'’ʻ]*)*))+"
)
_PAIR_RE = re.compile(rf"(?<![\w'’]){_PAIR_BODY}")
_PAIR_GATE = re.compile(_PAIR_BODY)




def _line_bounds(text: str, pos: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, len(text) if end < 0 else end


#: First words of the sign-offs, greetings and labels (folded): a clause starting otherwise is skipped.
_SIGNOFF_FIRST = frozenset(fold(w) for w in """
yours sincerely faithfully respectfully with kind kindest best warm warmest many regards nga ngā naku nāku heoi noho
mauri fa'afetai faafetai fa’afetai faʻafetai malo mālō vinaka meitaki fakaaue kia soifua 'ofa ofa ʻofa saludos un
atentamente cordialmente cordialement bien mit viele met cordiali distinti atenciosamente abraços abracos pozdrawiam s
med vänliga vanliga ystävällisin terima salamat thanks thank cheers all good blessings take gratefully love ka na nā
dear hi hello tena tēnā
""".split())
_LABEL_FIRST = frozenset("signed sgd signature name full submitter from author contact attn attention submitted "
                         "written prepared".split())


#: A clause start and its first word in one match (the word cannot hold a clause character, so no start is lost).
_CLAUSE_WORD_RE = re.compile(r"[\n.!?,;:)][ \t]*(" + _FIRST_WORD_RE.pattern + ")")


def _clause_starts(text: str) -> list[tuple[int, str]]:
    """Clause starts (0, and after each line break or punctuation, spaces skipped) with their first word,
    lower-cased and folded only when not ASCII."""
    first = len(text) - len(text.lstrip(" \t"))
    word = _FIRST_WORD_RE.match(text, first)
    found = [(first, word.group(0))] if word is not None else []
    found += [(m.start(1), m.group(1)) for m in _CLAUSE_WORD_RE.finditer(text)]
    out = []
    for pos, w in found:
        w = w.lower()
        out.append((pos, w if w.isascii() else fold(w)))
    return out


#: First words that :func:`_signoff_names` or :func:`_label_names` look at (each skips every other clause start).
_CUE_FIRST = _SIGNOFF_FIRST | _LABEL_FIRST


def _cue_starts(text: str) -> list[tuple[int, str]]:
    """:func:`_clause_starts` whose first word starts a sign-off, greeting or label (:data:`_CUE_FIRST`), in order:
    the same spans from :func:`_signoff_names` and :func:`_label_names`, without a tuple for every comma."""
    out = []
    first = len(text) - len(text.lstrip(" \t"))
    word = _FIRST_WORD_RE.match(text, first)
    if word is not None:
        w = word.group(0).lower()
        w = w if w.isascii() else fold(w)
        if w in _CUE_FIRST:
            out.append((first, w))
    for m in _CLAUSE_WORD_RE.finditer(text):
        w = m.group(1).lower()
        if not w.isascii():
            w = fold(w)
        if w in _CUE_FIRST:
            out.append((m.start(1), w))
    return out


def _ends_line(text: str, end: int, line_end: int) -> bool:
    """Only punctuation, a capitalised role after a comma ("Jane Smith, Chair"), an email or a bracketed
    note follow on the line (not a sentence: "Personally, foreign law ...")."""
    rest = text[end:line_end].strip()
    if not rest or all(c in ".!,;:" for c in rest):
        return True
    if rest[0] == ",":
        role = rest[1:].strip()
        return not role or role[0].isupper() or role[0] in "<("
    return rest[0] in "<(|/\u2013\u2014-"


def _signoff_names(text: str, starts: list[tuple[int, str]]) -> list[Span]:
    """Names after a sign-off or greeting that starts a clause, ending their line."""
    spans = []
    for pos, first in starts:
        if first not in _SIGNOFF_FIRST:
            continue
        m = _SIGNOFF_RE.match(text, pos)
        if m is None:
            continue
        after = _AFTER_RE.match(text, m.end())
        punct, breaks = after.group(1), after.group(2)
        line_initial = not text[_line_bounds(text, m.start())[0]:m.start()].strip()
        short = fold(m.group(0)) in ("na", "love")
        if short and not line_initial:
            continue  # "nā" and "love" close a letter only at the start of a line
        if m.group("weak") and not (punct or breaks or short):
            continue
        start = after.end()
        line_end = _line_bounds(text, start)[1]
        run = name_run(text, start, line_end, allow_lower=True)
        if run is None or not _ends_line(text, run.end, line_end) or (m.group("greet") and breaks):
            continue  # a greeting's addressee is on its line ("Dear Jane,"), not the next paragraph
        word = text[run.start:run.end]
        if not m.group("strong") and run.tokens == 1 and not run.known and (
                (is_ordinary_word(word) and not breaks) or (word.isupper() and len(word) > 1)):
            continue  # "Thanks, Wellington!", "Dear MFAT,": one ordinary word or an acronym is not a name
        spans.append((run.start, run.end, "NAME"))
    return spans


def _label_names(text: str, starts: list[tuple[int, str]]) -> list[Span]:
    """Names after a label ("Signed:", "Name:", "Submitted by") that starts a clause."""
    spans = []
    for pos, first in starts:
        if first not in _LABEL_FIRST:
            continue
        m = _LABEL_RE.match(text, pos)
        if m is not None:
            run = name_run(text, m.end(), _line_bounds(text, m.end())[1], allow_lower=True)
            if run is not None and (run.known or text[run.start].isupper()):
                spans.append((run.start, run.end, "NAME"))
    return spans


def _intro_ok(kind: str, run: NameRun, words: list[str]) -> bool:
    """Whether a self-introduction's run is a name ("My name is Jane", "I'm Jack Henare", not "I'm Māori")."""
    if kind == "named":
        return True
    common = [fold(w) in COMMON_WORDS for w in words]
    if run.first_known and (run.tokens > 1 or not common[0]):
        return True
    return run.tokens > 1 and not any(common) and all(name_like(w) for w in words if not _INITIAL_RE.fullmatch(w))


def intro_hint(text: str) -> bool:
    """The gate of the self-introduction scan ("I'm", "I am", "This is", "It's", "name is", "name's")."""
    return _INTRO_HINT_RE.search(text) is not None


def speech_hint(text: str) -> bool:
    """The gate of the speaker scan (:data:`_SPEECH_RE`): " said", " told", " wrote", " says" or " asked"."""
    return " said" in text or " told" in text or " wrote" in text or " says" in text or " asked" in text


def relative_hint(text: str) -> bool:
    """The gate of the relative scan ("my neighbour Jane Smith"): "my " or "our ", in any case."""
    low = lowered(text)
    return "my " in low or "our " in low


def _context_names(text: str) -> list[Span]:
    """Names after titles ("Dr Smith") and in self-introductions ("My name is ...", "Ko ... tōku ingoa")."""
    spans = []
    if _TITLE_HINT_RE.search(text):
        for m in scan.finditer(_TITLE_RE, _TITLE_GATE, text):
            run = name_run(text, m.start(), _line_bounds(text, m.start())[1])
            if run is not None:
                spans.append((run.start, run.end, "NAME"))
    if intro_hint(text):
        for m in scan.finditer(_INTRO_RE, _INTRO_GATE, text):
            kind = m.lastgroup or ""
            run = name_run(text, m.end(), _line_bounds(text, m.end())[1], allow_lower=kind == "named")
            if run is not None and (run.known or text[run.start].isupper()) and _intro_ok(
                    kind, run, text[run.start:run.end].split()):
                spans.append((run.start, run.end, "NAME"))
    if "ingoa" in text:
        spans += [(m.start(1), m.end(1), "NAME") for m in _KO_RE.finditer(text)]
    return spans


def _is_given(tok: str) -> bool:
    """A capitalised token that can start a full name: a known first name, or a word no dictionary has."""
    folded = fold(tok)
    if not tok[0].isupper() or tok.isupper() or folded in COMMON_WORDS or folded in NOT_NAMES:
        return False
    return is_first_name(tok) or not is_ordinary_word(tok)


def _surname_end(words: list[str], i: int) -> int | None:
    """Index of the last surname-like token of a full name starting at ``words[i]`` (None if there is none).

    A known first name may be followed by a known surname or by a word no dictionary has ("Harrison
    Papadopoulos"); a first word no dictionary has needs a known surname ("Ngoc Kowalski").
    """
    known_given = is_first_name(words[i])
    best = None
    for j in range(i + 1, len(words)):
        kind = _kind(words[j], allow_lower=False)
        if kind not in ("name", "initial", "particle") or fold(words[j].rstrip(".")) in PLACE_NOUNS | _STREET_ABBREVIATIONS:
            break
        if kind != "name" or words[j].isupper() or fold(words[j]) in COMMON_WORDS or words[j].endswith("."):
            continue
        after_particle = _kind(words[j - 1], False) == "particle"
        if is_surname(words[j]) or after_particle or (known_given and not is_ordinary_word(words[j])):  # rare word
            best = j
    return best


def _full_names(text: str) -> list[Span]:
    """Full names in running text ("God bless America, John Smith!"), capitalised, not the start of a
    place name ("Campbell Lane", "Paul Walker Golf Course")."""
    spans = []
    for m in scan.finditer(_PAIR_RE, _PAIR_GATE, text):
        base = m.start()
        spans += [(base + s, base + e, "NAME") for s, e in _pair_names(m.group(0))]
    return spans


@lru_cache(maxsize=65536)
def _pair_names(pair: str) -> tuple[tuple[int, int], ...]:
    """Full names inside one run of capitalised words (:data:`_PAIR_RE`), as offsets into the run; the same
    runs ("New Zealand", "Te Tiriti o Waitangi") recur in thousands of answers."""
    toks = list(_TOKEN_RE.finditer(pair))
    words = [t.group(0) for t in toks]
    found = []
    i = 0
    while i < len(toks) - 1:
        best = _surname_end(words, i) if _is_given(words[i]) else None
        if best is None:
            i += 1
            continue
        following = words[best + 1] if best + 1 < len(words) else ""
        if fold(following.rstrip('.')) not in _PLACE_WORDS:
            found.append((toks[i].start(), toks[best].end()))
        i = best + 1
    return tuple(found)


def _cued_names(text: str) -> list[Span]:
    """Two or three name-like capitalised words where context says "person": "..., Jane Smith!" ending a
    line, "my neighbour Jane Smith", "Jane Smith said"."""
    spans = []
    cued = [m.span(1) for m in _TRAIL_RE.finditer(text)]
    if speech_hint(text):
        cued += [m.span(1) for m in _SPEECH_RE.finditer(text)]
    if relative_hint(text):
        for m in scan.finditer(_RELATIVE_RE, _RELATIVE_GATE, text):
            run = name_run(text, m.end(), _line_bounds(text, m.end())[1], max_tokens=3)
            if run is not None and run.tokens > 1:
                cued.append((run.start, run.end))
    for start, end in cued:
        tokens = [(m.start(), m.group(0)) for m in re.finditer(r"\S+", text[start:end])]
        while tokens and fold(tokens[0][1]) in COMMON_WORDS | NOT_NAMES:
            tokens.pop(0)  # "As Jane Smith said" -> "Jane Smith"
        if not tokens:
            continue
        start += tokens[0][0]
        words = [w for _, w in tokens if not _INITIAL_RE.fullmatch(w)]
        if len(words) > 1 and all(fold(w) not in NOT_NAMES and fold(w) not in COMMON_WORDS and fold(w) not in _PLACE_WORDS
                         and name_like(w) for w in words):
            spans.append((start, end, "NAME"))
    return spans


def merge_spans(spans: list[Span]) -> list[Span]:
    """Merge overlapping or space-separated spans of the same kind (sorted by start)."""
    out: list[Span] = []
    for start, end, kind in sorted(spans):
        if out and out[-1][2] == kind and start <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], end), kind)
        else:
            out.append((start, end, kind))
    return out


def find_person_names(text: str, own_names: tuple[str, ...] = ()) -> list[Span]:
    """Every person-name span in ``text`` (see the module docstring), merged, as ``(start, end, "NAME")``.

    Args:
        text: Any text.
        own_names: The respondent's own name terms (:func:`name_terms`), matched anywhere as whole words.
    """
    spans = name_candidates(text)
    if own_names:
        spans += find_own_names(text, own_names)
    return merge_spans(spans)


def name_candidates(text: str) -> list[Span]:
    """:func:`find_person_names` without the respondent's own names, before merging (a new list)."""
    if not text:
        return []
    starts = _cue_starts(text)
    spans = _signoff_names(text, starts) + _label_names(text, starts) + _context_names(text)
    return spans + _full_names(text) + _cued_names(text)


def name_terms(names: tuple[str, ...]) -> tuple[str, ...]:
    """A respondent's names as lower-case search terms: each full name, its parts of >= 3 letters and its
    multi-word parts ("te whata", "van der berg"), longest first."""
    terms: set[str] = set()
    for name in names:
        if not name or not isinstance(name, str):
            continue
        terms |= _name_terms_of(name)
    return tuple(sorted(terms, key=_longest_first))


def _longest_first(term: str) -> tuple[int, str]:
    return -len(term), term


@lru_cache(maxsize=65536)
def _name_terms_of(name: str) -> frozenset[str]:
    """:func:`name_terms` of one name (cached: first names and surnames recur among respondents)."""
    terms: set[str] = set()
    name = " ".join(name.split())
    if len(name) >= 3:
        terms.add(name)
    parts = [p.strip(".'\"()") for p in re.split(r"[\s,]+", name)]
    for part in parts:
        if len(part) >= 3 and sum(map(str.isalpha, part)) >= 3:
            terms.add(part)
    for i in range(len(parts)):
        for j in range(i + 2, len(parts) + 1):
            terms.add(" ".join(parts[i:j]))
    return frozenset(t.lower() for t in terms if t.strip())


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def find_own_names(text: str, terms: tuple[str, ...]) -> list[Span]:
    """Whole-word, case-insensitive occurrences of a respondent's name terms (:func:`name_terms`).

    Plain substring search (no regex to compile per respondent: 50,000 respondents would each cost one).
    """
    low = text.lower()
    if len(low) != len(text):  # lower-casing changed the length (rare scripts): fall back to a regex
        alts = "|".join(re.escape(t) for t in terms)
        return [(m.start(), m.end(), "NAME") for m in re.finditer(rf"(?<!\w)(?:{alts})(?!\w)", text, re.IGNORECASE)]
    spans = []
    for term in terms:
        i = low.find(term)
        while i >= 0:
            j = i + len(term)
            if (i == 0 or not _is_word_char(low[i - 1])) and (j == len(low) or not _is_word_char(low[j])):
                spans.append((i, j, "NAME"))
            i = low.find(term, i + 1)
    return spans
