"""Rows that are not responses, and responses an analyst must look at: total rows and attachments.

* **Total rows**: a row whose first filled cell says ``Total`` (``Totals``, ``Grand total``, ``Sum``) and whose
  other filled cells are all numbers is a sum someone added under the data (regulations.gov downloads edited in
  Excel, pivot exports): it is rejected, and ``init-config`` leaves its values out of the choices it drafts.
* **Attachments**: respondents upload documents (EU "Have your say", Citizen Space file questions,
  regulations.gov ``Attachment Files``) that the export only names. A response with an attachment is kept and
  flagged for reading with a warning row; a respondent who *only* uploaded a document is kept and counted (a
  response without answers) rather than rejected as "no answer". File names often carry the respondent's name,
  so they are personal information: they go only to the warning's ``raw`` (never published), never into an
  answer or a reason. An answer that only points to an attachment ("See file attached.") is flagged too,
  whether or not the export names a file.
"""

from __future__ import annotations

import re

from analysis.ingest.language import has_words

_TOTAL = re.compile(r"^(grand\s+)?(totals?|sum|subtotal)\s*:?$", re.I)
_NUMBER = re.compile(r"^[-+]?[\d\s.,']+%?$")
_POINTER = re.compile(r"attach|enclos|\bsee (the |my |our )?(file|document|letter|pdf|upload|submission)", re.I)
#: Longest answer (words) that can be a mere pointer to an attachment.
POINTER_MAX_WORDS = 20

ATTACHMENT_ONLY = ("attachment only: no answer in the export, kept and counted; read the attached file(s) "
                   "(their names, personal information, are in raw)")
ATTACHMENT = "response has attached file(s) the export does not hold: read them too (names in raw)"
POINTER = "an answer only points to an attachment (\"see attached\"): read the attachment"


def is_total_row(cells: list[str]) -> bool:
    """Whether a row is a total someone added under the data (first filled cell ``Total``, the rest numbers)."""
    first = cells[0] if cells and cells[0] and not cells[0].isspace() else None  # most rows: their first cell
    if first is None:
        first = next((c for c in cells if not c.isspace() and c), None)  # the first filled cell decides most rows
    if first is None or not _TOTAL.match(first.strip()):
        return False
    filled = [c.strip() for c in cells if c.strip()]
    return len(filled) >= 2 and bool(_TOTAL.match(filled[0])) and all(_NUMBER.match(c) for c in filled[1:])


#: Characters ``re.IGNORECASE`` matches to ASCII letters that ``str.lower`` does not turn into them (Kelvin sign,
#: long s, dotted and dotless i): a text holding one skips the substring pre-check. Looked for one substring at a
#: time (``frozenset.isdisjoint(text)`` makes a string of every character of the text: 6 of 60 CPU s at 200k rows).
_FOLD_ODD = ("\u212a", "\u017f", "\u0130", "\u0131")


def points_to_attachment(text: str) -> bool:
    """Whether an answer is only a pointer to an attachment ("See file attached.", "Please find enclosed")."""
    low = text.lower()
    if ("attach" not in low and "enclos" not in low and "see" not in low
            and (text.isascii() or not any(c in text for c in _FOLD_ODD))):
        return False  # none of the pattern's words: the (case-insensitive, slow) regex cannot match
    if has_words(text, POINTER_MAX_WORDS + 1):  # reads only the first words of a long letter
        return False
    return bool(_POINTER.search(text))


def attachment_flags(answered: bool, open_answers: list[str], attachments: str | None) -> list[tuple[str, str | None]]:
    """``(reason, raw)`` warnings of one response: attachment only, attachment named, answer pointing to one.

    Args:
        answered: The response answers at least one configured question.
        open_answers: Its open answers' texts.
        attachments: The attachment cell(s) of its row (``None`` when empty).
    """
    out: list[tuple[str, str | None]] = []
    if attachments and not answered:
        out.append((ATTACHMENT_ONLY, attachments))
    elif attachments:
        out.append((ATTACHMENT, attachments))
    if any(points_to_attachment(a) for a in open_answers):
        out.append((POINTER, attachments))
    return out
