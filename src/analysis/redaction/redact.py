"""De-identification: redact personal identifiers from answers.

* :func:`redact` replaces identifiers in one text with kind tokens (``[NAME]``, ``[ADDRESS]``,
  ``[EMAIL]``, ``[PHONE]``, ``[URL]``, ``[SOCIAL_HANDLE]``, ``[IP_ADDRESS]``, ``[DATE_OF_BIRTH]``,
  ``[IRD]``, ``[NHI]``, ``[CARD]``). It is rule based (name lists, regexes, libphonenumber, check
  digits): offline, deterministic, no model download. Detectors: :mod:`~analysis.redaction.names`,
  :mod:`~analysis.redaction.addresses`, :mod:`~analysis.redaction.patterns`.
* :func:`redact_answers` redacts every answer with the respondent's own name/email from
  ``core_responses`` and returns a per-answer log of what was removed (kinds and counts, never values).
* The publication guard, independent of these detectors, is :mod:`analysis.redaction.guard`.

See ``docs/redaction.md`` for what is caught, what is missed and the measured recall.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from analysis.redaction import addresses
from analysis.redaction import names as person_names
from analysis.redaction import patterns as pp
from analysis.schemas import REDACTION_KINDS

logger = logging.getLogger(__name__)

KINDS = tuple(REDACTION_KINDS)



@dataclass(frozen=True)
class Redaction:
    """One redacted span of the *input* text (the value itself is deliberately not kept)."""

    kind: str
    start: int
    end: int


_FINDERS = {
    "EMAIL": pp.find_emails, "URL": pp.find_urls, "CARD": pp.find_cards, "IRD": pp.find_ird,
    "NHI": pp.find_nhi, "IP_ADDRESS": pp.find_ips, "DATE_OF_BIRTH": pp.find_dobs, "PHONE": pp.find_phones,
    "SOCIAL_HANDLE": pp.find_handles, "ADDRESS": addresses.find_addresses,
}


def _spans(text: str, name_terms: tuple[str, ...] = (), kinds: Iterable[str] = KINDS) -> list[pp.Span]:
    """All identifier spans, resolving overlaps by priority (order of ``KINDS``).

    A span overlapping a higher-priority one keeps only its uncovered parts (when they hold a letter or
    digit), so every character any detector flagged is redacted.
    """
    taken: list[pp.Span] = []
    occupied = bytearray(len(text) + 1)
    for kind in kinds:
        found = person_names.find_person_names(text, name_terms) if kind == "NAME" else _FINDERS[kind](text)
        for start, end, k in found:
            if not any(occupied[start:end]):
                pieces = [(start, end)]
            else:
                free = [i for i in range(start, end) if not occupied[i]]
                pieces = [(g[0], g[-1] + 1) for g in _runs(free) if any(c.isalnum() for c in text[g[0]:g[-1] + 1])]
            for s_, e_ in pieces:
                occupied[s_:e_] = b"\x01" * (e_ - s_)
                taken.append((s_, e_, k))
    return sorted(taken)


def _runs(positions: list[int]) -> list[list[int]]:
    """Consecutive runs in a sorted list of positions."""
    runs: list[list[int]] = []
    for p in positions:
        if runs and p == runs[-1][-1] + 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return runs


def _apply(text: str, spans: list[pp.Span]) -> str:
    parts, pos = [], 0
    for start, end, kind in spans:
        parts.append(text[pos:start])
        parts.append(f"[{kind}]")
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


@lru_cache(maxsize=65536)
def _redact_nameless(text: str) -> tuple[str, tuple[tuple[int, int, str], ...]]:
    spans = _spans(text)
    return _apply(text, spans), tuple(spans)


def redact(text: str, names: Sequence[str] = ()) -> tuple[str, list[Redaction]]:
    """Replace personal identifiers in ``text`` with kind tokens.

    Args:
        text: Any text (empty, any script, any length).
        names: The respondent's own name(s) (e.g. from the export's name column, and the local part
            of their email); the full name and each part of >= 3 letters are redacted as whole words,
            case-insensitively, wherever they recur. Other people's names, signatures and
            self-introductions are found without it (:mod:`analysis.redaction.names`).

    Returns:
        ``(redacted_text, redactions)``; redactions give kind and span in the input text.
    """
    if not isinstance(text, str) or not text:
        return ("" if not isinstance(text, str) else text), []
    terms = _name_terms(tuple(n for n in names if isinstance(n, str)))
    if not terms:
        # campaign copies repeat the same text: cache short texts (long ones would pin memory)
        out, spans = _redact_nameless(text) if len(text) < 20_000 else _redact_nameless.__wrapped__(text)
        return out, [Redaction(k, s, e) for s, e, k in spans]
    spans = _spans(text, terms)
    return _apply(text, spans), [Redaction(k, s, e) for s, e, k in spans]


@lru_cache(maxsize=4096)
def _name_terms(names: tuple[str, ...]) -> tuple[str, ...]:
    return person_names.name_terms(names)


def _respondent_names(name: object, email: object) -> tuple[str, ...]:
    names = []
    if isinstance(name, str) and name.strip():
        names.append(name.strip())
    if isinstance(email, str) and "@" in email:
        local = email.split("@", 1)[0]
        names.extend(p for p in re.split(r"[._+\-\d]+", local) if len(p) >= 3)
    return tuple(names)


def _is_choice_answer(answer: str, choices: dict[str, str], sep: str) -> bool:
    parts = [p.strip() for p in answer.split(sep)] if sep else [answer.strip()]
    return bool(choices) and all(p in choices for p in parts if p)


def redact_answers(
    answers: pd.DataFrame,
    responses: pd.DataFrame,
    questions: pd.DataFrame | None = None,
    rejects: list[dict] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Redact every answer with its respondent's own name and email.

    Args:
        answers: ``core_answers`` (not modified).
        responses: ``core_responses`` (``respondent_name`` / ``respondent_email`` are used).
        questions: Optional ``core_questions``: closed answers made only of known choice labels are
            kept verbatim (a respondent called "Support" must not blank the choice); free "other,
            please specify" text is redacted like any open answer.
        rejects: When given, an answer whose redaction raises is appended here as a ``core_rejects``
            style row (``file="core_answers"``, ``row`` = 1-based table row, ``column`` = question id)
            and its ``text_redacted`` is left empty (never unredacted); otherwise the error propagates.

    Returns:
        ``(answers + text_redacted, redaction_log)``; the log has one row per (response, question,
        kind) with the number of redactions, matching the ``core_redaction_log`` schema.
    """
    people = dict(zip(responses["response_id"],
                      zip(responses["respondent_name"], responses["respondent_email"], strict=True), strict=True))
    choice_map: dict[str, tuple[dict[str, str], str]] = {}
    if questions is not None:
        for _, q in questions.iterrows():
            if q["kind"] == "closed":
                choices = json.loads(q["choices"]) if isinstance(q["choices"], str) and q["choices"] else {}
                choice_map[q["question_id"]] = (choices, ";")
    redacted, log_rows = [], []
    for rid, qid, text in zip(answers["response_id"], answers["question_id"], answers["answer"], strict=True):
        text = text if isinstance(text, str) else ""
        if qid in choice_map and _is_choice_answer(text, *choice_map[qid]):
            redacted.append(text)
            continue
        name, email = people.get(rid, (None, None))
        try:
            out, reds = redact(text, _respondent_names(name, email))
        except Exception as err:  # noqa: BLE001 - any failure becomes a reject row, never a leak
            if rejects is None:
                raise
            rejects.append({"file": "core_answers", "row": len(redacted) + 1, "column": str(qid),
                            "reason": f"redaction failed for response {rid}: {type(err).__name__}: {err}",
                            "raw": None})
            out, reds = "", []
        redacted.append(out)
        for kind, n in sorted(Counter(r.kind for r in reds).items()):
            log_rows.append({"response_id": rid, "question_id": qid, "kind": kind, "count": n})
    result = answers.copy()
    result["text_redacted"] = pd.Series(redacted, index=answers.index, dtype=object).astype(str)
    log = pd.DataFrame(log_rows, columns=["response_id", "question_id", "kind", "count"])
    return result, log.astype({"count": int})
