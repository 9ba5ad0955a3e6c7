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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import pandas as pd
import pyarrow as pa

from analysis.redaction import addresses, pieces
from analysis.redaction import names as person_names
from analysis.redaction import patterns as pp
from analysis.redaction.parallel import Detector
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


#: Detectors that find nothing in a text without an ASCII digit (each checks it too: skipping them saves the calls).
_NEED_DIGITS = frozenset({"CARD", "IRD", "NHI", "PHONE"})


def _resolve(text: str, found: dict[str, list[pp.Span]]) -> list[pp.Span]:
    """All identifier spans of ``found`` (kind -> the detector's spans, in priority order: ``KINDS``), sorted.

    A span overlapping a higher-priority one keeps only its uncovered parts (when they hold a letter or
    digit), so every character any detector flagged is redacted.
    """
    taken: list[pp.Span] = []
    occupied = bytearray(len(text) + 1)
    for spans in found.values():
        for start, end, k in spans:
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


class _Detected(NamedTuple):
    """What the detectors found in one text without the respondent's own names, and that text redacted."""

    found: dict[str, list[pp.Span]]  # kind -> spans (NAME: before merging), kinds found only, in priority order
    redacted: str
    spans: tuple[pp.Span, ...]


def _detect_uncached(text: str) -> _Detected:
    digits = pp.has_digit(text)
    found = {kind: person_names.name_candidates(text) if kind == "NAME" else
             list(_FINDERS[kind](text)) if digits or kind not in _NEED_DIGITS else [] for kind in KINDS}
    spans = _resolve(text, {**found, "NAME": person_names.merge_spans(found["NAME"])})
    # only the kinds found are kept (the cache holds up to 65,536 texts); NAME stays last, as in KINDS
    return _Detected({k: v for k, v in found.items() if v}, _apply(text, spans), tuple(spans))


class _Piece(NamedTuple):
    """:class:`_Detected` of one piece of a text (:mod:`~analysis.redaction.pieces`), and the gates it passes."""

    det: _Detected
    hints: int  # bits of pieces.GATES (pieces.hints)


def _detect_piece(piece: str) -> _Piece:
    """:func:`_detect_uncached` of one piece of a text, and the gates it passes."""
    return _Piece(_detect_uncached(piece) if piece else _Detected({}, piece, ()), pieces.hints(piece))


def _assemble(text: str, bounds: list[tuple[int, int]], parts: list[_Detected]) -> _Detected:
    """``_detect_uncached(text)`` from the detections of its pieces that found something (whose gates agree with
    the text's), at ``bounds`` in ``text``."""
    found: dict[str, list[pp.Span]] = {}
    spans: list[pp.Span] = []
    out: list[str] = []
    pos = 0
    for (start, end), part in zip(bounds, parts, strict=True):
        for kind, kind_spans in part.found.items():
            found.setdefault(kind, []).extend([(s + start, e + start, k) for s, e, k in kind_spans])
        spans += [(s + start, e + start, k) for s, e, k in part.spans]
        out += [text[pos:start], part.redacted]
        pos = end
    out.append(text[pos:])
    return _Detected({k: found[k] for k in KINDS if k in found}, "".join(out), tuple(spans))


#: Answers whose distinct texts are detected together (in two processes when there are many): bounds the memory
#: the detections hold.
BLOCK_ROWS = 100_000

#: Campaign copies and repeated answers repeat the same text: detect once per text (short texts only: long ones
#: would pin memory), then add each respondent's own names.
_detect = lru_cache(maxsize=65536)(_detect_uncached)


def _detect_texts(texts: list[str], known_pieces: dict[str, _Piece], detector: Detector,
                  meanwhile: Callable[[], None] | None = None) -> dict[str, _Detected]:
    """``{text: _detect_uncached(text)}`` for distinct ``texts``, each distinct piece detected once;
    ``meanwhile()`` runs while the worker detects (:meth:`Detector.many`).

    ``known_pieces`` holds the previous call's pieces and is replaced by this call's. A text is left out when one
    of its pieces raised, or when a gate on for the text is off for a piece whose scan could find something in it
    (:data:`analysis.redaction.pieces.GATES`): its caller detects it whole.
    """
    seen: dict = {}
    ids: dict[str, int] = {}  # piece -> its index in `order`
    plans = []
    for text in texts:
        bounds = pieces.cuts(text, seen)
        strs = [text[s:e] for s, e in bounds] if len(bounds) > 1 else [text]
        plans.append((text, bounds, [ids.setdefault(p, len(ids)) for p in strs]))
    del seen
    order = list(ids)
    del ids
    todo = [p for p in order if p not in known_pieces]
    found = detector.many(todo, meanwhile)
    for piece in todo:
        if piece not in found:
            try:
                found[piece] = _detect_piece(piece)
            except Exception:  # noqa: BLE001 - the text is detected whole by the caller, where it becomes a reject
                continue
    records = [found.get(p) or known_pieces.get(p) for p in order]
    known_pieces.clear()
    known_pieces.update((p, r) for p, r in zip(order, records, strict=True) if r is not None)
    del found, todo
    hints = [r.hints if r is not None else -1 for r in records]  # -1: the piece raised
    dets = [r.det if r is not None else None for r in records]
    del records
    could: dict[int, list[int]] = {}  # piece -> [gates asked about, gates whose scan could find something]
    out: dict[str, _Detected] = {}
    for text, bounds, idx in plans:
        if len(idx) == 1:
            det = dets[idx[0]]
            if det is not None:
                out[text] = det
            continue
        whole = 0
        for i in idx:
            whole |= hints[i]
        if whole < 0 or _clash(order, idx, hints, whole, could):
            continue
        if any(dets[i].found for i in idx):  # type: ignore[union-attr]
            with_spans = [(b, dets[i]) for b, i in zip(bounds, idx, strict=True) if dets[i].found]  # type: ignore[union-attr]
            out[text] = _assemble(text, [b for b, _d in with_spans], [d for _b, d in with_spans])  # type: ignore[misc]
        else:
            out[text] = _Detected({}, text, ())
    return out


def _clash(order: list[str], idx: list[int], hints: list[int], whole: int, could: dict[int, list[int]]) -> bool:
    """Whether a gate on for a text (``whole``, bits) is off for one of its pieces (``idx``) whose scan could
    find something in it (:func:`analysis.redaction.pieces.could`; ``could`` keeps, per piece, the gates asked
    about and those answered yes)."""
    for i in idx:
        missing = whole & ~hints[i]
        if missing:
            asked = could.get(i)
            if asked is None:
                asked = could[i] = [0, 0]
            new = missing & ~asked[0]
            if new:
                asked[0] |= new
                asked[1] |= pieces.could(order[i], new)
            if missing & asked[1]:
                return True
    return False


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
    return _redact_terms(text, terms)


def _redact_terms(text: str, terms: tuple[str, ...], det: _Detected | None = None) -> tuple[str, list[Redaction]]:
    """:func:`redact` with the respondent's name terms already built (:func:`_name_terms`).

    ``det`` is ``_detect_uncached(text)`` when the caller already has it.
    """
    if det is None:
        det = _detect(text) if len(text) < 20_000 else _detect_uncached(text)
    own = person_names.find_own_names(text, terms) if terms else []
    if not own:
        out, spans = det.redacted, det.spans
    else:  # what find_person_names(text, terms) gives: the candidates and the own names, merged
        spans = _resolve(text, {**det.found, "NAME": person_names.merge_spans(det.found.get("NAME", []) + own)})
        out = _apply(text, spans)
    return out, [Redaction(k, s, e) for s, e, k in spans]


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


def _one_column(blocks: list[pd.Series], index: pd.Index) -> pd.Series:
    """The blocks' texts as one column, in one contiguous Arrow array: what ``pd.Series(every_text,
    dtype=object).astype(str)`` gives (one chunk: the Parquet file's pages, hence its bytes, are the same)."""
    if not blocks:
        return pd.Series([], index=index, dtype=object).astype(str)
    column = pd.concat(blocks, ignore_index=True)
    blocks.clear()
    whole = pa.chunked_array([column.array.__arrow_array__().combine_chunks()])
    return pd.Series(pd.arrays.ArrowStringArray(whole, dtype=column.dtype), index=index)


def redact_answers(
    answers: pd.DataFrame,
    responses: pd.DataFrame,
    questions: pd.DataFrame | None = None,
    rejects: list[dict] | None = None,
    workers: int | None = None,
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
        workers: Processes detecting the distinct texts of a large table (default
            :data:`analysis.redaction.parallel.DETECT_WORKERS`; the result is the same for any number).

    Returns:
        ``(answers + text_redacted, redaction_log)``; the log has one row per (response, question,
        kind) with the number of redactions, matching the ``core_redaction_log`` schema.
    """
    people = dict(zip(responses["response_id"].tolist(), zip(responses["respondent_name"].tolist(),
                                                          responses["respondent_email"].tolist(), strict=True),
                      strict=True))
    choice_map: dict[str, tuple[dict[str, str], str]] = {}
    if questions is not None:
        for _, q in questions.iterrows():
            if q["kind"] == "closed":
                choices = json.loads(q["choices"]) if isinstance(q["choices"], str) and q["choices"] else {}
                choice_map[q["question_id"]] = (choices, ";")
    terms_of: dict[object, tuple[str, ...]] = {}  # response id -> its respondent's name terms
    is_choice: dict[tuple[object, str], bool] = {}  # (question, answer) -> made only of choice labels

    def verbatim(qid: object, text: str) -> bool:
        if qid not in choice_map:
            return False
        key = (qid, text)
        if key not in is_choice:
            is_choice[key] = _is_choice_answer(text, *choice_map[qid])
        return is_choice[key]

    blocks: list[pd.Series] = []  # each block's redacted texts, as the column's dtype (not a Python str per row)
    log_rows: list[dict] = []
    response_ids, question_ids, texts = answers["response_id"].tolist(), answers["question_id"].tolist(), answers["answer"]
    known: dict[str, _Detected] = {}  # detections of the previous block's texts (campaign copies recur)
    known_pieces: dict[str, _Piece] = {}  # detections of the previous block's pieces

    def finish(lo: int, block: list[tuple], known: dict[str, _Detected]) -> None:
        """Redact the rows of the block starting at row ``lo`` (its texts' detections in ``known``)."""
        redacted: list[str] = []
        for rid, qid, text in block:
            if verbatim(qid, text):
                redacted.append(text)
                continue
            try:
                if rid not in terms_of:
                    terms_of[rid] = person_names.name_terms(_respondent_names(*people.get(rid, (None, None))))
                out, reds = _redact_terms(text, terms_of[rid], known.get(text)) if text else (text, [])
            except Exception as err:  # noqa: BLE001 - any failure becomes a reject row, never a leak
                if rejects is None:
                    raise
                rejects.append({"file": "core_answers", "row": lo + len(redacted) + 1, "column": str(qid),
                                "reason": f"redaction failed for response {rid}: {type(err).__name__}: {err}",
                                "raw": None})
                out, reds = "", []
            redacted.append(out)
            for kind, n in sorted(Counter(r.kind for r in reds).items()):
                log_rows.append({"response_id": rid, "question_id": qid, "kind": kind, "count": n})
        blocks.append(pd.Series(redacted, dtype=object).astype(str))

    with Detector(_detect_piece, workers) as detector:
        pending: tuple | None = None  # the previous block, redacted here while the worker detects this one's
        for lo in range(0, len(answers), BLOCK_ROWS):
            block = list(zip(response_ids[lo:lo + BLOCK_ROWS], question_ids[lo:lo + BLOCK_ROWS],
                             [t if isinstance(t, str) else "" for t in texts.iloc[lo:lo + BLOCK_ROWS].tolist()],
                             strict=True))
            todo = list(dict.fromkeys(t for _r, q, t in block if t and t not in known and not verbatim(q, t)))
            carried = {t: known[t] for _r, _q, t in block if t in known}
            meanwhile = (lambda p=pending: finish(*p)) if pending is not None else None
            found = _detect_texts(todo, known_pieces, detector, meanwhile)
            known = carried | found
            pending = (lo, block, known)
            del block, carried, found
        if pending is not None:
            finish(*pending)
        del pending
        if detector.in_worker:
            logger.info("redaction: %d distinct pieces of %d answers detected by a second process",
                        detector.in_worker, len(answers))
    del known, known_pieces
    _detect.cache_clear()  # the texts of this table are done: do not pin them for the rest of the run
    result = answers.copy()
    result["text_redacted"] = _one_column(blocks, answers.index)
    log = pd.DataFrame(log_rows, columns=["response_id", "question_id", "kind", "count"])
    return result, log.astype({"count": int})
