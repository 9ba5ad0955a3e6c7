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

import contextlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from itertools import islice
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
#: Distinct pieces whose detections are kept from one block to the next, the least recently used dropped first:
#: campaign copies and short answers bring the same sentences back a few blocks later (at 200,000 responses, 90%
#: copies: 97,391 distinct pieces, 162,170 detections when only the previous block's were kept, 97,391 with this).
KEEP_PIECES = 100_000
#: Texts between sentence breaks whose reading by :func:`analysis.redaction.pieces.cuts` is kept from one block to
#: the next (all are dropped once there are more).
KEEP_SENTENCES = 100_000

#: Campaign copies and repeated answers repeat the same text: detect once per text (short texts only: long ones
#: would pin memory), then add each respondent's own names.
_detect = lru_cache(maxsize=65536)(_detect_uncached)


class PieceMemo:
    """What :func:`_detect_texts` keeps from one call to the next (every value a pure function of its key).

    Attributes:
        pieces: piece -> its :class:`_Piece`, the least recently used first (at most ``keep`` once a call ends).
        sentences: :func:`analysis.redaction.pieces.cuts`' reading of the texts between sentence breaks.
        could: piece -> [gates asked about, gates whose scan could find something in it] (:func:`_clash`).
        keep: Most pieces kept (:data:`KEEP_PIECES`).
    """

    def __init__(self, keep: int | None = None) -> None:
        self.pieces: dict[str, _Piece] = {}
        self.sentences: dict[str, int] = {}
        self.could: dict[str, list[int]] = {}
        self.keep = KEEP_PIECES if keep is None else keep

    def remember(self, order: list[str], records: list[_Piece | None]) -> None:
        """Keep this call's pieces (the most recently used, at the end) and drop the oldest beyond ``keep``."""
        kept = self.pieces
        for piece, record in zip(order, records, strict=True):
            if record is not None:
                kept.pop(piece, None)
                kept[piece] = record
        excess = len(kept) - self.keep
        if excess > 0:
            for piece in list(islice(kept, excess)):
                del kept[piece]
        if len(self.could) > self.keep:
            self.could.clear()
        if len(self.sentences) > KEEP_SENTENCES:
            self.sentences.clear()


def _detect_texts(texts: list[str], memo: PieceMemo | dict, detector: Detector | None = None,
                  meanwhile: Callable[[], None] | None = None) -> dict[str, _Detected]:
    """``{text: _detect_uncached(text)}`` for distinct ``texts``, each distinct piece detected once (by
    ``detector``'s processes, or here when it is ``None``); ``meanwhile()`` runs while the worker detects
    (:meth:`Detector.many`).

    ``memo`` holds what earlier calls detected (a ``dict`` stands for a new :class:`PieceMemo`). A text is left
    out when one of its pieces raised, or when a gate on for the text is off for a piece whose scan could find
    something in it (:data:`analysis.redaction.pieces.GATES`): its caller detects it whole.
    """
    if not isinstance(memo, PieceMemo):
        memo = PieceMemo()
    known_pieces = memo.pieces
    seen = memo.sentences
    cuts = pieces.cuts
    ids: dict[str, int] = {}  # piece -> its index in `order`
    plans = []
    for text in texts:
        bounds = cuts(text, seen)
        if len(bounds) == 1:
            plans.append((text, bounds, (ids.setdefault(text, len(ids)),)))
        else:
            plans.append((text, bounds, [ids.setdefault(text[s:e], len(ids)) for s, e in bounds]))
    order = list(ids)
    del ids
    todo = [p for p in order if p not in known_pieces]
    found = detector.many(todo, meanwhile) if detector is not None else {}
    for piece in todo:
        if piece not in found:
            try:
                found[piece] = _detect_piece(piece)
            except Exception:  # noqa: BLE001 - the text is detected whole by the caller, where it becomes a reject
                continue
    records = [found.get(p) or known_pieces.get(p) for p in order]
    memo.remember(order, records)
    del found, todo
    hints = [r.hints if r is not None else -1 for r in records]  # -1: the piece raised
    dets = [r.det if r is not None else None for r in records]
    has = [r is not None and bool(r.det.found) for r in records]  # the piece's detection found something
    del records
    could = memo.could
    out: dict[str, _Detected] = {}
    for text, bounds, idx in plans:
        if len(idx) == 1:
            det = dets[idx[0]]
            if det is not None:
                out[text] = det
            continue
        whole = 0
        differ = False
        first = hints[idx[0]]
        for i in idx:
            h = hints[i]
            whole |= h
            differ = differ or h != first
        if whole < 0 or (differ and _clash(order, idx, hints, whole, could)):
            continue  # (every piece passing the same gates: none is missing one the text passes)
        with_spans = [k for k, i in enumerate(idx) if has[i]]
        if with_spans:
            out[text] = _assemble(text, [bounds[k] for k in with_spans], [dets[idx[k]] for k in with_spans])  # type: ignore[misc]
        else:
            out[text] = _Detected({}, text, ())
    return out


#: A text in which nothing was found, as :func:`detect_batch` hands it back (the caller makes its
#: ``_Detected({}, text, ())``: the text does not travel back from the worker).
NOTHING = ()
#: The pieces :func:`detect_batch` detected in this process when no memo is passed (the worker's own).
_PROCESS_MEMO = PieceMemo()


def detect_batch(texts: list[str], memo: PieceMemo | None = None) -> list[_Detected | tuple | None]:
    """What the detectors find in each of distinct ``texts`` (``_detect_uncached(text)``), in their order: a text
    cut into pieces and each distinct piece detected once (:func:`_detect_texts`), a text that cannot be
    detected by its pieces detected whole. Run in either process of :class:`Detector` (a pure function of each
    text: the same in both).

    Args:
        texts: Distinct texts.
        memo: Pieces detected before (default: this process's own, kept from call to call).

    Returns:
        Per text its :class:`_Detected`, :data:`NOTHING` when nothing was found, ``None`` when its detection
        raised (the caller detects it again, where the error becomes a reject row).
    """
    found = _detect_texts(texts, _PROCESS_MEMO if memo is None else memo)
    out: list[_Detected | tuple | None] = []
    for text in texts:
        det = found.get(text)
        if det is None:
            try:
                det = _detect_uncached(text)
            except Exception:  # noqa: BLE001 - re-raised by the caller's own detection, where it becomes a reject
                out.append(None)
                continue
        out.append(det if det.found else NOTHING)
    return out


def _clash(order: list[str], idx: list[int], hints: list[int], whole: int, could: dict[str, list[int]]) -> bool:
    """Whether a gate on for a text (``whole``, bits) is off for one of its pieces (``idx``) whose scan could
    find something in it (:func:`analysis.redaction.pieces.could`; ``could`` keeps, per piece, the gates asked
    about and those answered yes)."""
    for i in idx:
        missing = whole & ~hints[i]
        if missing:
            piece = order[i]
            asked = could.get(piece)
            if asked is None:
                asked = could[piece] = [0, 0]
            new = missing & ~asked[0]
            if new:
                asked[0] |= new
                asked[1] |= pieces.could(piece, new)
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
    out, spans = _redact_spans(text, terms, det)
    return out, [Redaction(k, s, e) for s, e, k in spans]


def _redact_spans(text: str, terms: tuple[str, ...], det: _Detected | None = None) -> tuple[str, Sequence[pp.Span]]:
    """:func:`_redact_terms` with the redactions as ``(start, end, kind)`` spans."""
    if det is None:
        det = _detect(text) if len(text) < 20_000 else _detect_uncached(text)
    own = person_names.find_own_names(text, terms) if terms else []
    if not own:
        return det.redacted, det.spans
    # what find_person_names(text, terms) gives: the candidates and the own names, merged
    spans = _resolve(text, {**det.found, "NAME": person_names.merge_spans(det.found.get("NAME", []) + own)})
    return _apply(text, spans), spans


def _kind_counts(spans: Sequence[pp.Span]) -> list[tuple[str, int]]:
    """``sorted(Counter(kind of each span).items())``."""
    if len(spans) == 1:
        return [(spans[0][2], 1)]
    counts: dict[str, int] = {}
    for _s, _e, kind in spans:
        counts[kind] = counts.get(kind, 0) + 1
    return sorted(counts.items())


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


def _pair_terms(pair: tuple[object, object]) -> tuple[str, ...]:
    """A respondent's name terms from their ``(name, email)`` (:func:`_respondent_names`, then
    :func:`analysis.redaction.names.name_terms`; kept per pair while a table is redacted)."""
    try:
        return _cached_pair_terms(pair)
    except TypeError:  # an unhashable value in a hand-made table: the same terms, not kept
        return person_names.name_terms(_respondent_names(*pair))


@lru_cache(maxsize=65536)
def _cached_pair_terms(pair: tuple[object, object]) -> tuple[str, ...]:
    return person_names.name_terms(_respondent_names(*pair))


def _own_redaction(text: str, pair: tuple[object, object], det: _Detected | tuple) -> tuple | None | bool:
    """``_redact_spans(text, terms of pair, det)`` when the respondent's own names are in ``text``; ``None`` when
    none is (the redaction is ``det``'s); ``False`` when it raised (the caller redacts the row again, where the
    error becomes a reject row). ``det`` may be :data:`NOTHING`."""
    try:
        terms = _pair_terms(pair)
        own = person_names.find_own_names(text, terms) if terms else None
        if not own:
            return None
        found = det.found if det is not NOTHING else {}  # type: ignore[union-attr]
        spans = _resolve(text, {**found, "NAME": person_names.merge_spans(found.get("NAME", []) + own)})
        return _apply(text, spans), spans
    except Exception:  # noqa: BLE001 - redacted again by the caller, where it becomes a reject row
        return False


def detect_rows(items: list[tuple[str, tuple]], memo: PieceMemo | None = None) -> list[tuple | None]:
    """:func:`detect_batch` of the items' texts, and each text redacted with each of its respondents' own names:
    the redaction's whole work on an answer, in either process of :class:`Detector` (pure functions of the item).

    Args:
        items: ``(text, pairs)``: distinct texts, each with the ``(name, email)`` of the respondents who wrote it.
        memo: As for :func:`detect_batch`.

    Returns:
        Per item ``None`` when its text's detection raised, else ``(detection, owns)``: the detection as
        :func:`detect_batch` gives it, and per pair what :func:`_own_redaction` gives.
    """
    dets = detect_batch([text for text, _pairs in items], memo)
    return [None if det is None else (det, tuple(_own_redaction(text, pair, det) for pair in pairs))
            for (text, pairs), det in zip(items, dets, strict=True)]


def _group_rows(block: list[tuple]) -> tuple[dict[str, dict[object, int]], list[int]]:
    """The block's distinct texts, each with its respondents in the order they first come (response id -> place),
    and each row's place among its text's respondents."""
    respondents: dict[str, dict[object, int]] = {}
    slot: list[int] = []
    for rid, _qid, text in block:
        mine = respondents.get(text)
        if mine is None:
            mine = respondents[text] = {}
        k = mine.get(rid)
        if k is None:
            k = mine[rid] = len(mine)
        slot.append(k)
    return respondents, slot


def _new_items(respondents: dict[str, dict[object, int]], known: dict[str, _Detected | tuple],
               people: dict[object, tuple]) -> tuple[list[tuple[str, tuple]], dict[str, _Detected | tuple]]:
    """The texts of ``respondents`` (:func:`_group_rows`) not in ``known`` as :func:`detect_rows` items (each
    with its respondents' ``(name, email)``), and the detections of the others, carried over from ``known``."""
    none = (None, None)
    items = []
    carried: dict[str, _Detected | tuple] = {}
    for text, mine in respondents.items():
        det = known.get(text)
        if det is None:
            items.append((text, tuple(people.get(rid, none) for rid in mine)))
        else:
            carried[text] = det
    return items, carried


def _is_choice_answer(answer: str, choices: dict[str, str], sep: str) -> bool:
    parts = [p.strip() for p in answer.split(sep)] if sep else [answer.strip()]
    return bool(choices) and all(p in choices for p in parts if p)


def _block_texts(texts: pd.Series, arrow: pa.ChunkedArray | None, lo: int, hi: int) -> pa.Array:
    """The answers of rows ``[lo, hi)`` as one Arrow ``large_string`` array, a missing or non-text answer as ``""``
    (``arrow``: the column's Arrow data, when it has any)."""
    if arrow is not None:
        return pc.fill_null(arrow.slice(lo, hi - lo).combine_chunks().cast(pa.large_string()), "")
    return pa.array([t if isinstance(t, str) else "" for t in texts.iloc[lo:hi].tolist()], type=pa.large_string())


def _to_redact(answers: pd.DataFrame, choice_map: dict[str, tuple[dict[str, str], str]]) -> np.ndarray:
    """Positions of the answers to redact: a text (not empty) that is not made only of its closed question's
    choice labels (those stay verbatim)."""
    texts = answers["answer"]
    if isinstance(texts.dtype, pd.StringDtype):
        need = (texts.notna() & texts.str.len().gt(0)).to_numpy(dtype=bool, na_value=False).copy()
    else:
        need = np.fromiter((isinstance(t, str) and t != "" for t in texts.tolist()), dtype=bool, count=len(texts))
    qids = answers["question_id"]
    for qid, (choices, sep) in choice_map.items():
        rows = (qids == qid).to_numpy(dtype=bool, na_value=False) & need
        if not rows.any():
            continue
        sub = texts[rows]
        labels = [t for t in pd.unique(sub) if _is_choice_answer(t, choices, sep)]
        if labels:
            need[np.flatnonzero(rows)[sub.isin(labels).to_numpy(dtype=bool)]] = False
    return np.flatnonzero(need)


class Session:
    """What several :func:`redact_answers` calls share (the parts of a partitioned table, one after another): one
    detecting worker, the pieces' detections and the texts carried over from the part before; the caches are
    emptied on exit (a context manager). The results do not depend on it: a text's detection is the same wherever
    it is computed.

    Args:
        workers: As :func:`redact_answers`'s.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.memo = PieceMemo()
        self.detector = Detector(detect_rows, workers, batch=True, here=partial(detect_rows, memo=self.memo))
        self.known: dict[str, _Detected | tuple] = {}

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.detector.__exit__(*exc)
        self.known = {}
        _detect.cache_clear()  # the texts of this table are done: do not pin them for the rest of the run
        _cached_pair_terms.cache_clear()


def redact_answers(
    answers: pd.DataFrame,
    responses: pd.DataFrame,
    questions: pd.DataFrame | None = None,
    rejects: list[dict] | None = None,
    workers: int | None = None,
    session: Session | None = None,
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
        session: Shared with the other calls of the same table's parts (:class:`Session`; ``workers`` is then
            the session's); default: this call's own.

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
    # Only the rows to redact are read into Python: every other row keeps its text ("" when missing), no log row.
    rows = _to_redact(answers, choice_map)
    blocks: list[pa.Array] = []  # each block's redacted texts (not a Python str per row until the end)
    log_rid: list[object] = []
    log_qid: list[object] = []
    log_kind: list[str] = []
    log_count: list[int] = []
    own = session is None
    session = Session(workers) if own else session
    known = session.known  # detections of the previous block's texts (campaign copies recur)
    memo = session.memo  # detections of the pieces of earlier blocks

    texts = answers["answer"]
    arrow = (pa.chunked_array(texts.array.__arrow_array__())
             if isinstance(texts.dtype, pd.StringDtype) and texts.dtype.storage == "pyarrow" else None)

    def finish(lo: int, pos: np.ndarray, block: list[tuple], found: dict[str, tuple], slot: list[int],
               known: dict[str, _Detected | tuple]) -> None:
        """Redact the rows at ``pos`` (``block``: their response, question and text), those of the block of rows
        starting at ``lo``: ``found`` holds what :func:`detect_rows` gave for the block's new texts (``slot``: each
        row's place among its text's respondents there), ``known`` the detections of the texts carried over."""
        redacted: list[str] = []
        for at, (rid, qid, text), k in zip(pos.tolist(), block, slot, strict=True):
            res = found.get(text)
            own = res[1][k] if res is not None else False
            if own is None:  # no own name in the text: its detection's redaction
                det = res[0]  # type: ignore[index]
                out, spans = (text, ()) if det is NOTHING else (det.redacted, det.spans)
            elif own is not False:
                out, spans = own
            else:  # a text carried over, or one whose redaction raised: here, row by row
                try:
                    det = res[0] if res is not None else known.get(text)
                    out, spans = _redact_spans(text, _pair_terms(people.get(rid, (None, None))),
                                               _Detected({}, text, ()) if det is NOTHING else det)
                except Exception as err:  # noqa: BLE001 - any failure becomes a reject row, never a leak
                    if rejects is None:
                        raise
                    rejects.append({"file": "core_answers", "row": at + 1, "column": str(qid),
                                    "reason": f"redaction failed for response {rid}: {type(err).__name__}: {err}",
                                    "raw": None})
                    out, spans = "", ()
            redacted.append(out)
            if spans:
                for kind, n in _kind_counts(spans):
                    log_rid.append(rid)
                    log_qid.append(qid)
                    log_kind.append(kind)
                    log_count.append(n)
        hi = min(lo + BLOCK_ROWS, len(answers))
        column = _block_texts(texts, arrow, lo, hi)
        if redacted:
            mask = np.zeros(hi - lo, dtype=bool)
            mask[pos - lo] = True
            column = pc.replace_with_mask(column, pa.array(mask), pa.array(redacted, type=pa.large_string()))
        blocks.append(column)

    with session if own else contextlib.nullcontext(session):
        detector = session.detector
        pending: tuple | None = None  # the previous block, redacted here while the worker detects this one's

        def take(lo: int) -> tuple:
            """Block ``lo``'s rows to redact: positions, (response, question, text) and :func:`_group_rows`."""
            pos = rows[np.searchsorted(rows, lo):np.searchsorted(rows, lo + BLOCK_ROWS)]
            hi, at = lo + BLOCK_ROWS, pos - lo  # (a take from the block's rows: from the whole column, Arrow would
            block = list(zip(answers["response_id"].iloc[lo:hi].take(at).tolist(),  # join all its chunks first)
                             answers["question_id"].iloc[lo:hi].take(at).tolist(), texts.iloc[lo:hi].take(at).tolist(),
                             strict=True))
            return (pos, block, *_group_rows(block))

        ahead: list[tuple] = [take(0)] if len(answers) else []  # the next block's rows, taken while detecting

        def meanwhile(lo: int, pending: tuple | None) -> None:
            """While the worker detects block ``lo``'s texts: redact the previous block, take the next one's rows."""
            if pending is not None:
                finish(*pending)
            if lo + BLOCK_ROWS < len(answers):
                ahead.append(take(lo + BLOCK_ROWS))

        for lo in range(0, len(answers), BLOCK_ROWS):
            pos, block, respondents, slot = ahead.pop()
            items, carried = _new_items(respondents, known, people)
            del respondents
            found = detector.many(items, partial(meanwhile, lo, pending))  # {} when too few for the worker
            rest = [item for item in items if item not in found]  # (and after `meanwhile()`)
            if rest:
                found.update(zip(rest, detect_rows(rest, memo), strict=True))
            by_text = {item[0]: res for item, res in found.items() if res is not None}
            del items, found, rest
            pending = (lo, pos, block, by_text, slot, carried)
            known = carried | {t: res[0] for t, res in by_text.items()}
            del block, carried, by_text, slot
        if pending is not None:
            finish(*pending)
        del pending
        if detector.in_worker:
            logger.info("redaction: %d distinct texts of %d answers detected by a second process",
                        detector.in_worker, len(answers))
        session.known = known  # for the next part's first block
    del known, memo
    result = answers.copy()
    result["text_redacted"] = _one_column(blocks, answers.index)
    log = pd.DataFrame({"response_id": log_rid, "question_id": log_qid, "kind": log_kind, "count": log_count},
                       columns=["response_id", "question_id", "kind", "count"])
    return result, log.astype({"count": int})


def _one_column(blocks: list[pa.Array], index: pd.Index) -> pd.Series:
    """The blocks' texts as one column, in one contiguous Arrow array (the Parquet file's pages, hence its bytes,
    depend on it), as the ``str`` dtype: what ``pd.Series(every_text, dtype=object).astype(str)`` gives."""
    dtype = pd.Series([], dtype=object).astype(str).dtype
    whole = pa.chunked_array([pa.concat_arrays(blocks) if blocks else pa.array([], type=pa.large_string())])
    blocks.clear()
    return pd.Series(pd.arrays.ArrowStringArray(whole, dtype=dtype), index=index)
