"""What each column of an export is, for ``init-config``: a metadata role, personal details, analyst
annotations, or a question.

Three kinds of evidence, strongest first:

1. **The platform's layout** (:data:`LAYOUTS`): the columns Citizen Space, EU "Have your say" / EUSurvey,
   regulations.gov, SurveyMonkey, Qualtrics and Microsoft Forms always write, with their role. These guesses
   are *sure* (no ``TODO``). A regulations.gov column that is not in the download's layout was added by an
   analyst: an annotation, never a question (the only question of a regulations.gov download is ``Comment``).
2. **The header** (:data:`_PATTERNS`): ``Surname``, ``Country of origin``, ``Publication privacy settings`` ...
3. **The values**: e-mail addresses, language codes or names, dates.

Every guess from 2 or 3 is *unsure*: the draft marks it ``TODO`` with sample values as evidence (masked for
names, e-mail addresses and file names). Roles a config key holds once (id, date, e-mail, organisation,
respondent type, sector, language, consent) go to the first column that fits; a later column that fits the
same role is metadata (a second e-mail column is personal information). ``name`` and ``attachment`` take any
number of columns (``name_column: [First name, Surname]``).

Roles: ``id``, ``date``, ``name``, ``email``, ``organisation``, ``respondent_type``, ``sector``, ``country``
(respondent attribute: listed, not used yet), ``language``, ``consent``, ``attachment``, ``metadata`` (not
used), ``personal`` (personal details such as phone or address: never read), ``tags`` (analyst tags ->
``analyst_tag_columns``), ``notes`` (analyst annotations: not used) and ``question``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from analysis.ingest.dates import parse_datetimes
from analysis.ingest.language import language_code, word_count
from analysis.ingest.text import norm_key

#: Role -> the source key that holds it (roles without a key are listed in the draft, not configured).
CONFIG_KEYS = {"id": "id_column", "date": "submitted_at_column", "name": "name_column", "email": "email_column",
               "organisation": "organisation_column", "respondent_type": "respondent_type_column",
               "sector": "sector_column", "language": "language_column", "consent": "consent_column",
               "attachment": "attachment_column"}
#: Roles that take any number of columns.
MULTI = {"name", "attachment"}
#: Roles whose sample values are personal information (masked in the draft).
PERSONAL = {"name", "email", "attachment", "personal"}

_REGS_METADATA = (
    "agency id", "docket id", "tracking number", "document type", "received date", "is withdrawn?",
    "federal register number", "fr citation", "title", "comment start date", "comment due date",
    "allow late comments", "comment on document id", "effective date", "implementation date", "postmark date",
    "author date", "related rin(s)", "authors", "cfr", "abstract", "legacy id", "media", "document subtype",
    "exhibit location", "exhibit type", "additional field 1", "additional field 2", "topics",
    "duplicate comments", "omb/pra approval number", "page count", "page length", "paper width",
    "special instructions", "source citation", "start end page", "subject", "government agency",
    "government agency type", "restrict reason type", "restrict reason", "reason withdrawn", "content files",
    "display properties (pipe-delimited): display property label | tooltip",
)
_REGS_PERSONAL = (
    "phone", "fax", "address line 1", "address line 2", "zip/postal code", "submitter representative",
    "representative's address", "representative's city", "representative's state/province",
    "representative's zip/postal code", "representative's country", "representative's email",
    "representative's phone", "representative's fax",
)

#: Platform -> normalised header -> role (sure guesses).
LAYOUTS: dict[str, dict[str, str]] = {
    "citizen_space": {"response id": "id", "started on": "metadata", "submitted on": "date",
                      "response submitted": "date", "submitted": "date", "last updated": "metadata"},
    "have_your_say": {
        "reference": "id", "feedback reference": "id", "contribution id": "id", "feedback date": "date",
        "submission date": "date", "language": "language", "language of my contribution": "language",
        "user type": "respondent_type", "i am giving my contribution as": "respondent_type", "first name": "name",
        "surname": "name", "email (this won't be published)": "email", "email": "email",
        "organisation name": "organisation", "organisation size": "metadata",
        "transparency register number": "metadata", "country of origin": "country", "scope": "metadata",
        "level of governance": "metadata", "publication privacy settings": "consent",
        "publication privacy": "consent", "feedback": "question", "attachment": "attachment",
        "attachments": "attachment", "uploaded document": "attachment", "status": "metadata",
        "creation date": "metadata", "last update date": "metadata", "user agent": "metadata",
    },
    "regulations_gov": {
        "document id": "id", "posted date": "date", "first name": "name", "last name": "name",
        "organization name": "organisation", "category": "sector", "comment": "question", "email": "email",
        "attachment files": "attachment", "country": "country", "state/province": "country", "city": "country",
        **{k: "metadata" for k in _REGS_METADATA}, **{k: "personal" for k in _REGS_PERSONAL},
    },
    "surveymonkey": {"respondent id": "id", "collector id": "metadata", "start date": "metadata",
                     "end date": "date", "ip address": "metadata", "email address": "email", "first name": "name",
                     "last name": "name", "custom data 1": "metadata", "custom data": "metadata"},
    "qualtrics": {"startdate": "metadata", "enddate": "metadata", "status": "metadata", "ipaddress": "metadata",
                  "progress": "metadata", "duration (in seconds)": "metadata", "finished": "metadata",
                  "recordeddate": "date", "responseid": "id", "recipientlastname": "name",
                  "recipientfirstname": "name", "recipientemail": "email", "externalreference": "metadata",
                  "externaldatareference": "metadata", "locationlatitude": "metadata",
                  "locationlongitude": "metadata", "distributionchannel": "metadata", "userlanguage": "language"},
    "ms_forms": {"id": "id", "start time": "metadata", "completion time": "date", "email": "email", "name": "name",
                 "last modified time": "metadata"},
}

_NAME = (r"^(your |full |first |given |last |family |middle |fore|sur|contact |respondent'?s? )?names?\??$|"
         r"^surname|^(first|given|last|family|middle) ?names?\b|^forename|what is your (full )?name|"
         r"^name of (the )?(respondent|person|submitter)|^(nom|prénom|vorname|nachname|nome|cognome|nombre|"
         r"apellidos?|voornaam|achternaam)$|^recipient(first|last)name$")
#: (role, header pattern), first match wins. Headers over 120 characters are questions, never roles.
_PATTERNS: list[tuple[str, re.Pattern]] = [(role, re.compile(p, re.I)) for role, p in [
    ("metadata", r"transparency regist|organi[sz]ation (size|type)|ip ?address|user ?agent|browser|collector|"
                 r"duration|progress|latitude|longitude|^status$|^finished$|distribution|external ?(data )?ref|"
                 r"^start(ed)?( date| time| on)?$|^startdate$|last modified|last updated|tracking number|docket|"
                 r"custom data|^row( id| number)?$|^index$|^#$|token|time taken|^page\b|referr?er"),
    ("email", r"e-?mail"),
    ("personal", r"phone|mobile|\bfax\b|street|address|post ?code|zip|^city$|date of birth|birth ?date|^age$"),
    ("organisation", r"^organi[sz]ation( name)?\??$|name of (your |the )?organi[sz]ation|^company( name)?$|"
                     r"organi[sz]ation you represent|^employer$|^organi[sz]ation\b.{0,20}name"),
    ("respondent_type", r"responding as|individual or (an |on behalf of )?(an )?organi[sz]ation|respondent type|"
                        r"type of respondent|user ?type|contribution as|on behalf of|capacity|are you (an? )?"
                        r"(individual|organi)"),
    ("consent", r"publish|publication|consent|permission|may we (share|use|quote)|privacy (setting|statement|"
                r"option|preference)|^privacy$|confidential"),
    ("language", r"^language\b|language of (my|your|the) (contribution|response|submission)|^userlanguage$|"
                 r"^lang$|preferred language"),
    ("country", r"^(which |what |your |home )?(country|region|county|state|province)\b.{0,30}$|country of "
                r"(origin|residence)|^nationality$|^state/province$|where do you live|^location$"),
    ("attachment", r"attach|upload|^files?$|supporting documents?|^documents?$"),
    ("name", _NAME),
    ("date", r"^(date )?submitted( on| at| date)?$|^submission (date|time)$|completion time|^end ?date$|"
             r"recorded ?date|posted date|timestamp|^date$|feedback date|^date (of submission|submitted|received)$|"
             r"^received( date| on)?$|^(response|submission) (date|time)$"),
    ("id", r"^(response|respondent|submission|document|feedback|contribution)?\s*_?id$|^(response|respondent|"
           r"submission|document|contribution) ?id\b|^responseid$|^reference( (number|no\.?|id))?$"),
    ("sector", r"sector|^category$|industry"),
    ("notes", r"\bnotes?\b|review|triage|\bflag|assigned to|internal|staff|officer|\bpriority\b|follow.?up|"
              r"^action\b|remarks?$"),
    ("tags", r"\btags?\b|\bcod(e|es|ing)\b|analyst|^theme|categor(y|ies) assigned"),
]]
_CONTACT = re.compile(r"contact|newsletter|updates|email you|follow.?up|survey in future", re.I)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I)
_SINGLE_FALLBACK = {"date": "metadata", "id": "metadata", "email": "personal", "organisation": "metadata",
                    "respondent_type": "metadata", "sector": "metadata", "language": "metadata",
                    "consent": "metadata"}


@dataclass(frozen=True)
class ColumnRole:
    """What one column is.

    Attributes:
        index: Column index in the table.
        column: Its header.
        role: One of the roles in the module docstring.
        sure: From the platform's layout (no ``TODO``).
        why: The evidence, for the draft's comment.
    """

    index: int
    column: str
    role: str
    sure: bool
    why: str


def _by_values(values: list[str]) -> tuple[str, str] | None:
    """A role the values show (e-mail addresses, language codes or names, dates), with the evidence."""
    if len(values) < 2:
        return None
    share = 0.9 * len(values)
    if sum(bool(_EMAIL.match(v)) for v in values) >= share:
        return "email", "values look like e-mail addresses"
    if len(set(values)) <= 30 and sum(language_code(v) is not None for v in values) >= share \
            and all(len(v) <= 30 for v in values):
        return "language", "values are language codes or names"
    if all(len(v) <= 40 for v in values) and parse_datetimes(values).notna().sum() >= share:
        return "date", "values are dates"
    return None


def _mostly(values: list[str], test) -> bool:  # noqa: ANN001 - a predicate
    return sum(bool(test(v)) for v in values) >= 0.8 * len(values)


#: A header match is kept only when the values agree (a consent column has a few options, dates parse ...).
_VALUES_AGREE = {
    "date": lambda vals: parse_datetimes(vals).notna().sum() >= 0.8 * len(vals),
    "consent": lambda vals: len(set(vals)) <= 6,
    "respondent_type": lambda vals: len(set(vals)) <= 15,
    "language": lambda vals: _mostly(vals, language_code),
    "email": lambda vals: _mostly(vals, lambda v: "@" in v or v.lower() in ("anonymous", "n/a", "-")),
    "country": lambda vals: len(set(vals)) <= 300 and _mostly(vals, lambda v: word_count(v) <= 4),
    "tags": lambda vals: _mostly(vals, lambda v: word_count(v) <= 6),
}


def _guess(label: str, values: list[str]) -> tuple[str, str] | None:
    text = " ".join(label.split())
    if len(text) <= 120:
        for role, pattern in _PATTERNS:
            if not pattern.search(text) or (role == "consent" and _CONTACT.search(text)):
                continue
            if values and role in _VALUES_AGREE and not _VALUES_AGREE[role](values):
                continue
            return role, "header"
    return _by_values(values)


def assign_roles(columns: list[str], labels: list[str], values: list[list[str]], fmt: str,
                 questions_only: set[int] = frozenset()) -> list[ColumnRole]:
    """The role of every column.

    Args:
        columns: Column names.
        labels: Text to read a column's role from (the header; Qualtrics: the question text of row 2).
        values: Each column's non-empty values (total rows left out).
        fmt: The detected format (its :data:`LAYOUTS` entry, if any, decides first).
        questions_only: Columns that are part of a multi-column question (SurveyMonkey sub-answers).

    Returns:
        One :class:`ColumnRole` per column, in column order.
    """
    layout = LAYOUTS.get(fmt, {})
    taken: set[str] = set()
    out: list[ColumnRole] = []
    for i, col in enumerate(columns):
        known = layout.get(norm_key(col))
        if i in questions_only:
            role, sure, why = "question", True, "sub-answer column of a multi-column question"
        elif known is not None:
            role, sure, why = known, True, f"{fmt} layout"
        elif fmt == "regulations_gov":
            guessed = _guess(labels[i], values[i])
            role = guessed[0] if guessed and guessed[0] in ("tags", "notes") else "notes"
            sure, why = False, "not a column of the regulations.gov download: added by an analyst?"
        else:
            guessed = _guess(labels[i], values[i])
            role, why = guessed if guessed else ("question", "")
            sure = False
        if role in _SINGLE_FALLBACK and role in taken:
            role, why = _SINGLE_FALLBACK[role], f"a second {role} column ({why})"
        taken.add(role)
        out.append(ColumnRole(i, col, role, sure, why))
    return out
