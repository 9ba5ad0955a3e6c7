"""De-identification: redact personal identifiers from answers, and guard published outputs.

* :func:`redact` replaces identifiers in one text with kind tokens (``[EMAIL]``, ``[PHONE]``,
  ``[ADDRESS]``, ``[URL]``, ``[IRD]``, ``[NHI]``, ``[CARD]``, ``[NAME]``). It is rule based (regexes,
  libphonenumber, check digits): offline, deterministic, no model download.
* :func:`redact_answers` redacts every answer with the respondent's own name/email from
  ``core_responses`` and returns a per-answer log of what was removed (kinds and counts, never values).
* :func:`guard` scans a reports folder before publication and raises :class:`PublicationGuardError`
  listing every file, line and kind of identifier it finds.

See ``docs/campaigns_and_redaction.md`` for what is caught and what is missed.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from analysis.errors import AnalysisError
from analysis.redaction import patterns as pp
from analysis.schemas import REDACTION_KINDS

logger = logging.getLogger(__name__)

KINDS = tuple(REDACTION_KINDS)
#: Kinds the publication guard looks for (those detectable without knowing the respondent).
GUARD_KINDS = ("EMAIL", "PHONE", "IRD", "NHI", "CARD")
TEXT_SUFFIXES = {".md", ".html", ".htm", ".csv", ".svg", ".txt", ".json", ".tsv", ".xml", ".yml", ".yaml"}
SKIP_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".woff", ".woff2", ".ttf", ".zip"}



class PublicationGuardError(AnalysisError):
    """Identifiers were found in files about to be published.

    Attributes:
        findings: ``(file, line, kind)`` triples (line is a 1-based line number, or ``Sheet!A1`` for XLSX).
    """

    def __init__(self, findings: list[tuple[str, str, str]]):
        self.findings = findings
        lines = [f"publication guard: {len(findings)} personal identifier(s) found; redact before publishing:"]
        lines += [f"  - {f}:{line}: {kind}" for f, line, kind in findings[:50]]
        if len(findings) > 50:
            lines.append(f"  ... and {len(findings) - 50} more")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Redaction:
    """One redacted span of the *input* text (the value itself is deliberately not kept)."""

    kind: str
    start: int
    end: int


def _spans(text: str, name_re: re.Pattern[str] | None, kinds: Iterable[str] = KINDS) -> list[pp.Span]:
    """All identifier spans, resolving overlaps by priority (order of ``KINDS``), then position."""
    finders = {
        "EMAIL": pp.find_emails, "URL": pp.find_urls, "CARD": pp.find_cards, "IRD": pp.find_ird,
        "NHI": pp.find_nhi, "PHONE": pp.find_phones, "ADDRESS": pp.find_addresses,
    }
    taken: list[pp.Span] = []
    occupied = bytearray(len(text) + 1) if text else bytearray(1)
    for kind in kinds:
        found = pp.find_names(text, name_re) if kind == "NAME" else finders[kind](text)
        for start, end, k in found:
            if any(occupied[start:end]):
                continue
            occupied[start:end] = b"\x01" * (end - start)
            taken.append((start, end, k))
    return sorted(taken)


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
    spans = _spans(text, None, KINDS)
    return _apply(text, spans), tuple(spans)


def redact(text: str, names: Sequence[str] = ()) -> tuple[str, list[Redaction]]:
    """Replace personal identifiers in ``text`` with kind tokens.

    Args:
        text: Any text (empty, any script, any length).
        names: The respondent's own name(s) (e.g. from the export's name column, and the local part
            of their email); the full name and each part of >= 3 letters are redacted as whole words,
            case-insensitively, wherever they recur.

    Returns:
        ``(redacted_text, redactions)``; redactions give kind and span in the input text.
    """
    if not isinstance(text, str) or not text:
        return ("" if not isinstance(text, str) else text), []
    name_re = pp.name_pattern(tuple(n for n in names if isinstance(n, str)))
    if name_re is None:
        # campaign copies repeat the same text: cache short texts (long ones would pin memory)
        out, spans = _redact_nameless(text) if len(text) < 20_000 else _redact_nameless.__wrapped__(text)
        return out, [Redaction(k, s, e) for s, e, k in spans]
    spans = _spans(text, name_re)
    return _apply(text, spans), [Redaction(k, s, e) for s, e, k in spans]


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


# --- publication guard --------------------------------------------------------------------------

_TAG_RE = re.compile(r"<[^>]*>")
_ATTR_RE = re.compile(r"(\s)([\w:.-]+)\s*=\s*\"([^\"]*)\"")
#: Attributes that carry human-readable text (scanned); all others (d, points, transform, style ...) are geometry.
_TEXT_ATTRS = {"href", "xlink:href", "src", "title", "alt", "content", "value", "label", "placeholder", "summary"}


def _blank_attr(m: re.Match[str]) -> str:
    name = m.group(2).lower()
    if name in _TEXT_ATTRS or name.startswith(("data-", "aria-")):
        return m.group(0)
    return f'{m.group(1)}{m.group(2)}="' + "\n" * m.group(3).count("\n") + '"'


def scan_text(text: str) -> list[str]:
    """Identifier kinds found in one line of published text (``[EMAIL]``-style tokens are ignored)."""
    kinds = []
    for kind, _start, _end in ((k, s, e) for s, e, k in _spans(text, None, GUARD_KINDS)):
        kinds.append(kind)
    return kinds


def _lines_of(path: Path) -> Iterable[tuple[str, str]]:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            for ws in wb.worksheets:
                for row in ws.iter_rows():
                    for cell in row:
                        if cell.value is not None and not isinstance(cell.value, (int, float)):
                            yield f"{ws.title}!{cell.coordinate}", str(cell.value)
        finally:
            wb.close()
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    markup = suffix in (".html", ".htm", ".svg", ".xml")
    if markup:  # blank geometry/style attributes (path data is full of digit groups); keep line numbers
        text = _ATTR_RE.sub(_blank_attr, text)
    for i, line in enumerate(text.splitlines(), start=1):
        if markup:
            # scan visible text, comments (matplotlib writes each label's text there) and text-bearing
            # attribute values (href, title ...) separately
            visible = html.unescape(_TAG_RE.sub(" ", line.replace("<!--", " ").replace("-->", " ")))
            attrs = " ".join(html.unescape(m.group(3)) for m in _ATTR_RE.finditer(line))
            yield str(i), visible + "\n" + attrs
        else:
            yield str(i), line


def guard(reports_dir: Path) -> None:
    """Refuse publication when any report file still holds a personal identifier.

    Scans every text-like file under ``reports_dir`` (md, html, csv, svg, txt, json, xlsx cell values
    ...) for emails, phone numbers, IRD / NHI numbers and payment cards. Images (PNG ...) cannot be
    scanned: they are skipped and listed in a warning.

    Args:
        reports_dir: The reports folder.

    Raises:
        PublicationGuardError: Listing file, line (or XLSX cell) and kind of each finding.
        FileNotFoundError: ``reports_dir`` does not exist.
    """
    reports_dir = Path(reports_dir)
    if not reports_dir.is_dir():
        raise FileNotFoundError(f"reports folder not found: {reports_dir}")
    findings: list[tuple[str, str, str]] = []
    skipped: list[str] = []
    for path in sorted(p for p in reports_dir.rglob("*") if p.is_file()):
        rel = str(path.relative_to(reports_dir))
        suffix = path.suffix.lower()
        if suffix in SKIP_SUFFIXES or (suffix not in TEXT_SUFFIXES and suffix != ".xlsx"):
            skipped.append(rel)
            continue
        for line, text in _lines_of(path):
            for kind in scan_text(text):
                findings.append((rel, line, kind))
    if skipped:
        logger.warning("publication guard could not scan %d file(s) (images/binary): %s", len(skipped),
                       ", ".join(skipped))
    if findings:
        raise PublicationGuardError(findings)
    logger.info("publication guard: %s is clean", reports_dir)
