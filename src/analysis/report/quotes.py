"""Representative quotes per theme (and position within it), verbatim and safe to publish.

Rules every selected quote follows (each enforced in code):

* **Verbatim.** A quote is a substring of the answer's ``text_redacted``, checked after selection
  (:class:`QuoteError` if not). Quotes are trimmed at sentence boundaries to at most ``max_chars``;
  the ellipsis marking a cut sits *outside* the quotation marks (it is not the respondent's text).
  Whitespace runs are collapsed only in the ``display`` string.
* **Redacted only.** Only ``text_redacted`` / ``personal_addition`` are read, never ``answer``; a
  quote containing a redaction token such as ``[EMAIL]`` is used only when no alternative exists
  (windows of sentences without a token are preferred within an answer too).
* **Representative.** Candidates are ranked by their theme score (the assignment's confidence),
  ties broken by a permutation seeded from ``seed``.
* **Diverse.** No two quotes of a theme are near-duplicates (Jaccard similarity of word 3-shingles
  below ``max_similarity``); an answer already quoted for another theme of the question is used
  again only when nothing else is left.
* **Campaigns.** A campaign copy is quoted through its respondent's own ``personal_addition`` when
  that is a verbatim part of the text; the campaign letter itself is quoted at most once per theme,
  only when needed, and labelled "(campaign letter)".
* **Consent and attribution.** Candidates pass :func:`analysis.report.publishable.publishable_text`:
  only respondents whose ``consent`` allows publication are quoted; attribution by respondent type
  ("An individual", "An organisation (sector)"), the organisation's name only with ``publish_named``
  consent, never a person's name.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.memory import give_back
from analysis.report.publishable import TEXT_COLUMNS, publishable_rows, publishable_text, safe_who, values
from analysis.schemas import POSITIONS

log = logging.getLogger(__name__)

#: Redaction placeholders inserted by the redaction stage ("[EMAIL]", "[PHONE]", "[NAME]" ...).
REDACTION_TOKEN = re.compile(r"\[[A-Z][A-Z0-9_ ]*\]")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?\u2026])[\"'\u201d\u2019)\]]*\s+|\s*\n\s*")
_WORD = re.compile(r"\w+", re.UNICODE)
#: Order in which positions are visited when quotes are spread across positions.
QUOTE_COLUMNS = [
    "question_id", "theme_id", "position", "rank", "response_id", "quote", "leading_ellipsis",
    "trailing_ellipsis", "attribution", "campaign_id", "is_campaign_letter", "has_redaction", "display",
]


class QuoteError(AssertionError):
    """A selected quote is not a verbatim substring of the redacted answer (a bug, never silenced)."""


@dataclass(frozen=True, slots=True)
class Trimmed:
    """A verbatim span of a text.

    Attributes:
        text: The quote (``source[start:end]``).
        start: Start offset in the source text.
        end: End offset in the source text.
        leading: Text was cut before the quote.
        trailing: Text was cut after the quote.
    """

    text: str
    start: int
    end: int
    leading: bool
    trailing: bool

    @property
    def has_redaction(self) -> bool:
        """The quote contains a redaction token."""
        return bool(REDACTION_TOKEN.search(self.text))


#: :data:`_SENTENCE_BREAK`'s breaks, each found from its first character: a sentence end (the break is what follows
#: it) or a newline (the break starts at the whitespace before it). Python's regex engine tried both alternatives of
#: :data:`_SENTENCE_BREAK` at every character (its lookbehind, then whitespace up to a newline); this pattern fails at
#: once on any other character, about three times faster on campaign letters.
_BREAK_AT = re.compile(r"[.!?\u2026\n](?:(?<=[.!?\u2026])[\"'\u201d\u2019)\]]*\s+|(?<=\n)\s*)")


def _iter_spans(text: str) -> Iterator[tuple[int, int, bool]]:
    """The spans of :func:`sentence_spans`, front to back, found as they are asked for.

    A break is a match of :data:`_SENTENCE_BREAK` (``tests/test_quote_spans.py`` compares the two searches): a match
    of :data:`_BREAK_AT` led by a sentence end starts one character later; one led by a newline starts at the first
    whitespace character before it that no earlier break took (the whitespace-and-newline alternative matched there
    first), which the span's end is cut back to anyway.
    """
    pos = 0
    for m in _BREAK_AT.finditer(text):
        start, stop = m.span()
        if text[start] == "\n":
            brk = True
        else:
            start += 1
            brk = "\n" in text[start:stop]
        end = start
        while end > pos and text[end - 1].isspace():
            end -= 1
        if end > pos:
            yield pos, end, brk
        pos = stop
    end = len(text.rstrip())
    if end > pos:
        yield pos, end, True


def _iter_spans_regex(text: str) -> Iterator[tuple[int, int, bool]]:
    """:func:`_iter_spans` by :data:`_SENTENCE_BREAK` itself (the code it replaces; its test compares the two)."""
    pos = 0
    for m in _SENTENCE_BREAK.finditer(text):
        end = m.start()
        while end > pos and text[end - 1].isspace():
            end -= 1
        if end > pos:
            yield pos, end, "\n" in m.group(0)
        pos = m.end()
    end = len(text.rstrip())
    if end > pos:
        yield pos, end, True


def sentence_spans(text: str) -> list[tuple[int, int, bool]]:
    """Sentence spans ``(start, end, paragraph_break_after)`` of ``text`` (whitespace excluded)."""
    return list(_iter_spans(text))


def _best_window(text: str, max_chars: int, tokens: list[tuple[int, int]]) -> tuple[int, int] | None:
    """:func:`trim_quote`'s window, reading only the sentences up to it (:func:`_iter_spans` is lazy).

    The windows starting at a sentence get longer sentence by sentence, and once one holds a token the longer ones
    do too; so the earliest sentence starting a token-free window that fits gives the choice (its longest such
    window), and later sentences are never read. Without one, the earliest start of any fitting window wins, with its
    longest window: every sentence is then read. A campaign letter opening with a short paragraph ("Dear Sir or
    Madam,") is decided by it.

    Args:
        text: The text.
        max_chars: Longest window.
        tokens: ``(start, end)`` of the text's redaction tokens.

    Returns:
        ``(start, end)``, or ``None`` when no window fits (or there is no sentence).
    """
    spans: list[tuple[int, int, bool]] = []
    more = _iter_spans(text)

    def span(k: int) -> tuple[int, int, bool] | None:
        while len(spans) <= k:
            nxt = next(more, None)
            if nxt is None:
                return None
            spans.append(nxt)
        return spans[k]

    fallback = None
    i = 0
    while (first := span(i)) is not None:
        s, free, longest, j = first[0], None, None, i
        while (last := span(j)) is not None:
            e = last[1]
            if e - s > max_chars:
                break
            longest = e
            if not tokens or not any(s <= a and b <= e for a, b in tokens):
                free = e
            if last[2]:
                break
            j += 1
        if free is not None:
            return s, free
        if longest is not None and fallback is None:
            fallback = (s, longest)
        i += 1
    return fallback


def trim_quote(text: str, max_chars: int = 300) -> Trimmed | None:
    """Cut ``text`` to whole sentences of at most ``max_chars`` characters.

    Among windows of consecutive sentences (never across a paragraph break) that fit, the one
    without a redaction token is preferred, then the earliest start, then the longest. A single sentence
    longer than ``max_chars`` is cut at the last word boundary that fits.

    Returns:
        The verbatim span, or ``None`` for blank text.
    """
    end = len(text.rstrip())
    if 0 < end <= max_chars and _one_window(text, end):
        return Trimmed(text[:end], 0, end, False, False)
    return _trim_sentences(text, max_chars)


def _trim_sentences(text: str, max_chars: int) -> Trimmed | None:
    """:func:`trim_quote` read sentence by sentence (every text; :func:`trim_quote` skips it for one window)."""
    # text[s:e] holds a token exactly when one of the text's tokens lies within [s, e): a token's brackets hold no
    # bracket, so tokens never overlap and finditer finds every one
    tokens = [m.span() for m in REDACTION_TOKEN.finditer(text)] if "[" in text else []
    found = _best_window(text, max_chars, tokens)
    if found is not None:
        return _span(text, *found)
    spans = sentence_spans(text)
    if not spans:
        return None
    # no window fits: the first sentence without a token, cut at a word boundary
    return _span(text, *_cut_first_free(text, spans, lambda s2, e2: any(s2 <= a and b <= e2 for a, b in tokens),
                                        max_chars))


def _span(text: str, s: int, e: int) -> Trimmed:
    """``text[s:e]``, cut before when a non-space character precedes it and after when one follows it (found from the
    lengths of the text stripped, which is the text itself when there is nothing to strip: no copy of either end)."""
    return Trimmed(text[s:e], s, e, len(text) - len(text.lstrip()) < s, len(text.rstrip()) > e)


#: Characters that may close a sentence after its end mark (:data:`_SENTENCE_BREAK`'s ``["'\u201d\u2019)\]]*``).
_CLOSERS = frozenset("\"'\u201d\u2019)]")


def _one_window(text: str, end: int) -> bool:
    """Whether :func:`trim_quote`'s window of ``text`` is ``text[:end]`` (its text up to the trailing whitespace)
    once that fits: no redaction token (no ``[``), no newline (so no paragraph break and the first sentence starts
    at 0), and the last sentence ending at ``end`` (a sentence end followed by closing marks and whitespace ends its
    sentence before the marks). Most answers and personal additions are such short texts: they are not cut into
    sentences (``tests/test_quote_trim_fast.py`` compares the two)."""
    return "\n" not in text and "[" not in text and (end == len(text) or text[end - 1] not in _CLOSERS)


def _cut_first_free(text: str, spans: list[tuple[int, int, bool]], has_token: Callable[[int, int], bool],
                    max_chars: int) -> tuple[int, int]:
    """The first sentence without a redaction token (else the first), cut to ``max_chars`` at a word boundary."""
    s, e, _ = spans[0]
    for s2, e2, _ in spans:
        if not has_token(s2, e2):
            s, e = s2, e2
            break
    cut = text[s:s + max_chars]
    ws = max(cut.rfind(" "), cut.rfind("\n"), cut.rfind("\t"))
    e = s + (ws if ws > 0 else len(cut))
    while e > s and text[e - 1] in " ,;:-\u2013\u2014\t\n":
        e -= 1
    return s, e


def trim_quote_each(text: str, max_chars: int = 300) -> Trimmed | None:
    """:func:`trim_quote` by trying every window of every sentence (the code it replaces; its test compares the two)."""
    spans = list(_iter_spans_regex(text))
    if not spans:
        return None
    best: tuple | None = None
    for i in range(len(spans)):
        for j in range(i, len(spans)):
            s, e = spans[i][0], spans[j][1]
            if e - s > max_chars:
                break
            key = (bool(REDACTION_TOKEN.search(text[s:e])), s, -(e - s))
            if best is None or key < best[0]:
                best = (key, s, e)
            if spans[j][2]:
                break
    if best is None:
        s, e = _cut_first_free(text, spans, lambda s2, e2: bool(REDACTION_TOKEN.search(text[s2:e2])), max_chars)
    else:
        _, s, e = best
    return Trimmed(text[s:e], s, e, bool(text[:s].strip()), bool(text[e:].strip()))


def text_key(text: str) -> bytes:
    """A 16-byte digest standing for ``text`` in :class:`TrimStore` (the texts themselves are not kept)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


#: A stored trim (:class:`TrimStore`'s file): the text's :func:`text_key`, then where its quote lies in it
#: (``text[start:end]``; ``start`` -1: :func:`trim_quote` returned ``None``) and the quote's two cut flags.
_STORED = np.dtype([("key", "V16"), ("start", "<i8"), ("end", "<i8"), ("leading", "?"), ("trailing", "?")])


class TrimStore:
    """:func:`trim_quote` of each text, kept in a folder between runs (a report re-run after a codebook edit trims the
    same answers again: a third of the quote selection at 50,000 responses).

    A stored trim is found by the digest of its text (:func:`text_key`), in a file named by ``max_chars`` and the
    sha256 of this module's source (any change to the trimming rules starts a new file), so a stored value is what
    :func:`trim_quote` returns for that text. The file holds no text: a quote is a span of its text, so each entry is
    the digest, the span's offsets and its two flags (:data:`_STORED`, 34 bytes; the former file of texts and quotes
    was ~880 MB at a million responses with 90% campaign letters, and writing it read every text again). It is
    rewritten with the trims of the last run only when that run trimmed a text it did not hold (or used fewer), and
    files of other keys are removed then.

    During a run a trim is found by the same digest: at a million responses the distinct texts trimmed held over a
    gigabyte until the quotes were chosen.

    Args:
        folder: Where the file is kept (``None``: nothing is kept, every text is trimmed).
        max_chars: :func:`trim_quote`'s ``max_chars``.
    """

    def __init__(self, folder: Path | None, max_chars: int) -> None:
        self.max_chars, self.folder = max_chars, Path(folder) if folder is not None else None
        self.stored: dict[bytes, int] = {}  # text key -> row of self.rows
        self.rows = np.zeros(0, dtype=_STORED)
        self.used: dict[bytes, Trimmed | None] = {}
        self.computed = 0
        if self.folder is not None:
            digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
            self.path = self.folder / f"trims-{max_chars}-{digest}.npy"
            if self.path.is_file():
                try:
                    rows = np.load(self.path, allow_pickle=False)
                    if rows.dtype != _STORED or rows.ndim != 1:
                        raise ValueError(f"not a trims file: {rows.dtype}")
                    self.rows, self.stored = rows, dict(zip(rows["key"].tolist(), range(len(rows)), strict=True))
                except Exception:  # noqa: BLE001 - a damaged file is recomputed
                    log.warning("unreadable quote cache %s: trimmed again", self.path.name)

    def __call__(self, text: str) -> Trimmed | None:
        """``trim_quote(text, max_chars)``."""
        key = text_key(text)
        if key in self.used:
            return self.used[key]
        t = self._stored(key, text)
        if t is False:
            t = trim_quote(text, self.max_chars)
            self.computed += 1
        self.used[key] = t
        return t

    def _stored(self, key: bytes, text: str) -> Trimmed | None | bool:
        """The stored trim of ``text`` (``False``: none, or one that is no span of it)."""
        i = self.stored.get(key)
        if i is None:
            return False
        _, start, end, leading, trailing = self.rows[i].item()
        if start < 0:
            return None
        if not 0 <= start <= end <= len(text):
            return False
        return Trimmed(text[start:end], start, end, leading, trailing)

    def save(self) -> None:
        """Keep this run's trims (when it trimmed a new text, or fewer texts than are kept)."""
        if self.folder is None or (not self.computed and len(self.used) == len(self.stored)):
            return
        trims = list(self.used.values())
        rows = np.zeros(len(trims), dtype=_STORED)
        rows["key"] = np.frombuffer(b"".join(self.used), dtype="V16")
        rows["start"] = [t.start if t is not None else -1 for t in trims]
        rows["end"] = [t.end if t is not None else -1 for t in trims]
        rows["leading"] = [t is not None and t.leading for t in trims]
        rows["trailing"] = [t is not None and t.trailing for t in trims]
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            with tmp.open("wb") as f:
                np.save(f, rows, allow_pickle=False)
            tmp.replace(self.path)
            for old in self.folder.glob("trims-*"):
                if old != self.path and old.suffix in (".pkl", ".npy"):
                    old.unlink(missing_ok=True)
        except OSError as err:
            log.warning("could not store %s: %s", self.path, err)


def shingles(text: str, k: int = 3) -> set[tuple[str, ...]]:
    """Word ``k``-shingles of ``text`` (lower-cased); the word set when shorter than ``k`` words."""
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < k:
        return {(w,) for w in words}
    return {tuple(words[i:i + k]) for i in range(len(words) - k + 1)}


def jaccard(a: set, b: set) -> float:
    """Jaccard similarity of two sets (0 for two empty sets)."""
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


def display(quote: Trimmed | str, attrib: str, leading: bool = False, trailing: bool = False) -> str:
    """``… “quote” … — attribution`` with whitespace collapsed (ellipses outside the quote marks)."""
    if isinstance(quote, Trimmed):
        leading, trailing, quote = quote.leading, quote.trailing, quote.text
    body = " ".join(quote.split())
    lead = "\u2026 " if leading else ""
    trail = " \u2026" if trailing else ""
    return f"{lead}\u201c{body}\u201d{trail} \u2014 {attrib}"


def _answer_quote(text: object, add: object, is_copy: bool,
                  trim: Callable[[str], Trimmed | None]) -> tuple[Trimmed, bool] | None:
    """An answer's quote and whether it is its campaign letter, or ``None`` when it has no word to quote.

    A campaign copy is quoted through its personal addition when that (trimmed) is a verbatim part of the text,
    otherwise through the text (the letter).
    """
    text = text if isinstance(text, str) else ""
    trimmed, letter = None, False
    if is_copy:
        if isinstance(add, str) and add.strip():
            t = trim(add)
            start = text.find(t.text) if t is not None else -1
            if start >= 0:
                trimmed = Trimmed(t.text, start, start + len(t.text), bool(text[:start].strip()),
                                  bool(text[start + len(t.text):].strip()))
        if trimmed is None:
            letter = True
    if trimmed is None:
        trimmed = trim(text)
    if trimmed is None or not _WORD.search(trimmed.text):
        return None
    return trimmed, letter


def _candidates(answers_clean: pd.DataFrame, answer_themes: pd.DataFrame, answer_positions: pd.DataFrame | None,
                responses: pd.DataFrame, max_chars: int, trim_store: Path | None = None) -> pd.DataFrame:
    """One row per (answer, theme) that may be quoted, in ``answer_themes`` order.

    The theme rows are joined to the answers by row number only (narrow merges); consent, attribution and the
    quote are worked out once per answer (an answer raises several themes), :data:`BLOCK` answers at a time (their
    texts are Python strings only while their block is worked on), and each text is trimmed once (or taken from
    ``trim_store``, :class:`TrimStore`). The id, position and score columns are taken from the joined rows
    (:func:`_take`), not rebuilt value by value.
    """
    on = ["response_id", "question_id"]
    keys = answers_clean[on].assign(_a=np.arange(len(answers_clean)))
    c = answer_themes[["response_id", "question_id", "theme_id", "score"]].merge(keys, on=on, how="inner")
    if answer_positions is not None and len(answer_positions):
        c = c.merge(answer_positions[["response_id", "question_id", "position"]], on=on, how="left")
    else:
        c["position"] = None
    used = _distinct(c["_a"].to_numpy(), len(answers_clean))
    trim = TrimStore(trim_store, max_chars)  # a campaign letter, or an addition repeated, is trimmed once
    # each answer's quote, campaign and attribution at its row number (object arrays): the theme rows take them by
    # row (a million theme rows of 200,000 responses: one C-level take each, not a Python lookup per row)
    n = len(answers_clean)
    quoted, letters = np.zeros(n + 1, dtype=bool), np.zeros(n + 1, dtype=bool)
    trims, cids, attribs = (np.full(n + 1, None, dtype=object) for _ in range(3))
    for ai, text, add, copy, cid, attrib in _publishable_answers(answers_clean, used, responses):
        is_copy = bool(copy) and isinstance(cid, str)
        q = _answer_quote(text, add, is_copy, trim)
        if q is not None:
            trimmed, letter = q
            quoted[ai], trims[ai], letters[ai] = True, trimmed, letter
            cids[ai] = cid if is_copy else None
            attribs[ai] = f"{attrib} (campaign letter)" if letter else attrib
    trim.save()
    ais = c["_a"].to_numpy()
    rows = np.flatnonzero(quoted[ais])
    if not len(rows):
        return pd.DataFrame()
    at = ais[rows]
    sel = c.iloc[rows]
    return pd.DataFrame(dict(
        question_id=_take(sel["question_id"], "id"), theme_id=_take(sel["theme_id"], "id"),
        position=_take(sel["position"], "position"), response_id=_take(sel["response_id"], "id"),
        score=_take(sel["score"], "score"), trimmed=trims[at].tolist(), attribution=attribs[at].tolist(),
        campaign_id=cids[at].tolist(), is_campaign_letter=letters[at].tolist()))


def _distinct(codes: np.ndarray, size: int) -> np.ndarray:
    """``np.unique(codes)`` of row numbers in ``[0, size)``: flagged, then read in order (no sort)."""
    seen = np.zeros(size, dtype=bool)
    seen[codes] = True
    return np.flatnonzero(seen)


#: Answers whose quotes :func:`_candidates` works out at a time (:func:`_publishable_answers`).
BLOCK = 65_536
#: Columns of the answers a quote is worked out from (with ``attribution``, from the respondents).
_ANSWER = ("text_redacted", "personal_addition", "is_campaign_copy", "campaign_id")


def _publishable_answers(answers: pd.DataFrame, used: np.ndarray, responses: pd.DataFrame | None) -> Iterator[tuple]:
    """``(row, text_redacted, personal_addition, is_campaign_copy, campaign_id, attribution)`` of the answers at rows
    ``used`` (ascending) that :func:`~analysis.report.publishable.publishable_text` keeps, in order.

    The kept rows are found on the answers' ids (the texts are read only for the self-naming check of the rows it
    may drop) and their values read :data:`BLOCK` rows at a time from ``answers`` itself: no copy of the text
    columns is made, and their Python strings live for one block.
    """
    keep = ["response_id", "text_redacted", "personal_addition", "campaign_id", "is_campaign_copy"]
    kept = None
    if responses is not None and len(used):
        def texts(rows: np.ndarray) -> list[list]:
            return [values(answers[c].iloc[used[rows]]) for c in TEXT_COLUMNS if c in keep]

        kept = publishable_rows(answers[["response_id"]].iloc[used].reset_index(drop=True), responses, texts)
    if kept is None:  # the merge (a respondent column neither text nor object), or nothing to publish
        a = publishable_text(answers[keep].iloc[used].assign(_a=used), responses)
        yield from zip(*(values(a[k]) for k in ("_a", *_ANSWER, "attribution")), strict=True)
        return
    rows, who = kept
    at, attrib = used[rows], _shared(safe_who(who)["attribution"])
    for start in range(0, len(at), BLOCK):
        block = at[start:start + BLOCK]
        cols = [_shared(_block_rows(answers[k], block)) if k == "campaign_id" else values(_block_rows(answers[k], block))
                for k in _ANSWER]
        yield from zip(block.tolist(), *cols, attrib[start:start + BLOCK], strict=True)
        del cols
        give_back()


def _block_rows(column: pd.Series, rows: np.ndarray) -> pd.Series:
    """``column.iloc[rows]`` for ascending ``rows``, taken from the slice they span.

    An Arrow-backed column read from Parquet is a chunked array, and Arrow's ``take`` on it joined every chunk
    again: each block cost the whole column (a million answers, 90% campaign letters: 29 blocks of one text column,
    7.7 CPU s, against 0.3 s taken from the slice).
    """
    if not len(rows):
        return column.iloc[rows]
    lo = int(rows[0])
    return column.iloc[lo:int(rows[-1]) + 1].iloc[rows - lo]


def _shared(column: pd.Series) -> list:
    """:func:`~analysis.report.publishable.values` of a column with few distinct values, each one Python object
    however often it repeats (a campaign id or an attribution is kept with every quotable answer)."""
    if not isinstance(column.dtype, pd.StringDtype | pd.ArrowDtype):
        return values(column)
    codes, uniques = pd.factorize(column)
    return np.asarray([*values(pd.Series(uniques, dtype=column.dtype)), None], dtype=object)[codes].tolist()


#: The dtype pandas gives a column built from a list of Python strings (what the former rows were built from).
_TEXT = pd.Series(["x"]).dtype


def _take(column: pd.Series, kind: str) -> pd.Series | list:
    """A candidate column as :func:`_take_each` builds it, from ``column`` itself when its dtype allows.

    ``kind``: ``"id"`` (``str(v)`` of every value), ``"position"`` (text, else ``None``) or ``"score"``
    (``float(v)``). A text column of the dtype a list of strings gets, with no missing id (``str(None)`` is
    ``"None"``) and at least one position (a list of ``None`` only is an ``object`` column), or a ``float64``
    score column, is taken as it is; any other column is rebuilt value by value.
    """
    if kind == "score":
        if column.dtype == np.float64:
            return pd.Series(column.to_numpy(), dtype=np.float64)
    elif column.dtype == _TEXT:
        missing = column.isna()
        if (kind == "id" and not missing.any()) or (kind == "position" and not missing.all()):
            return column.reset_index(drop=True)
    return _take_each(column, kind)


def _take_each(column: pd.Series, kind: str) -> list:
    """:func:`_take` value by value (the code it replaces; its test compares the two)."""
    v = values(column)
    if kind == "id":
        return [str(x) for x in v]
    if kind == "position":
        return [x if isinstance(x, str) else None for x in v]
    return [float(x) for x in v]


def select_quotes(
    answers_clean: pd.DataFrame,
    answer_themes: pd.DataFrame,
    answer_positions: pd.DataFrame | None,
    responses: pd.DataFrame,
    *,
    per_theme: int = 3,
    seed: int,
    max_chars: int = 300,
    max_similarity: float = 0.5,
    by_position: bool = True,
    trim_store: Path | None = None,
) -> pd.DataFrame:
    """Pick up to ``per_theme`` representative quotes for every theme of every question.

    Args:
        answers_clean: ``core_answers_clean`` (``text_redacted``, campaign columns).
        answer_themes: ``core_answer_themes`` (which answers raise which theme, with scores).
        answer_positions: ``core_answer_positions`` or ``None`` (quotes then ignore positions).
        responses: ``core_responses`` (respondent type, sector, organisation, consent): only respondents
            whose consent allows publication are quoted.
        per_theme: Quotes per theme.
        seed: Seed of the tie-breaking permutation (``cfg.settings.seed``).
        max_chars: Longest quote, in characters.
        max_similarity: Two quotes of a theme must have word-shingle Jaccard below this.
        by_position: Spread each theme's quotes across the positions of those raising it (round robin,
            most common position first).
        trim_store: Folder keeping each text's trimmed quote between runs (:class:`TrimStore`; ``None``: none).

    Returns:
        One row per quote with columns :data:`QUOTE_COLUMNS`; ``rank`` is 1.. within the theme.

    Raises:
        QuoteError: A quote is not a verbatim substring of its answer's ``text_redacted``.
    """
    empty = pd.DataFrame(columns=QUOTE_COLUMNS)
    if answer_themes is None or answer_themes.empty or answers_clean.empty or per_theme <= 0:
        return empty
    cand = _candidates(answers_clean, answer_themes, answer_positions, responses, max_chars, trim_store)
    if cand.empty:
        return empty
    cand = cand.sort_values(["question_id", "theme_id", "response_id"], kind="mergesort").reset_index(drop=True)
    rng = np.random.default_rng(seed)
    cand["tiebreak"] = rng.permutation(len(cand))
    cand["has_redaction"] = _has_redaction(cand["trimmed"])
    out = []
    for _qid, q in cand.groupby("question_id", sort=True):
        used: set[str] = set()
        theme_order = q.groupby("theme_id")["response_id"].nunique().sort_values(ascending=False, kind="mergesort")
        themes = dict(iter(q.groupby("theme_id", sort=False)))  # each theme's rows in order, as q[q.theme_id == t]
        for tid in sorted(theme_order.index, key=lambda t: (-theme_order[t], t)):
            out.extend(_pick_theme(themes[tid], used, per_theme, max_similarity, by_position))
    if not out:
        return empty
    df = pd.DataFrame(out)
    quoted = answers_clean.loc[answers_clean["response_id"].isin(set(df["response_id"])),  # not every column
                               ["response_id", "question_id", "text_redacted"]]
    sources: dict[tuple, object] = {}
    for key in zip(quoted["response_id"], quoted["question_id"], quoted["text_redacted"], strict=True):
        sources.setdefault(key[:2], key[2])  # the first answer of a (response, question), as .loc[...].iloc[0]
    for row in df.itertuples(index=False):
        src = sources.get((row.response_id, row.question_id), _MISSING)
        if src is _MISSING or row.quote not in str(src):
            raise QuoteError(f"quote for response {row.response_id!r}, question {row.question_id!r} is not verbatim")
    return df[QUOTE_COLUMNS].reset_index(drop=True)


_MISSING = object()


def _has_redaction(trimmed: pd.Series) -> list[bool]:
    """``[t.has_redaction for t in trimmed]``, searched once per quote object (an answer raising several themes
    shares one): the objects are told apart by identity in numpy, not one dictionary lookup per row."""
    objs = trimmed.to_numpy(dtype=object)
    if not len(objs):
        return []
    codes, uniques = pd.factorize(np.fromiter(map(id, objs), dtype=np.uint64, count=len(objs)))
    first = np.empty(len(uniques), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # each object's first row
    flags = np.fromiter((objs[i].has_redaction for i in first.tolist()), dtype=bool, count=len(first))
    return flags[codes].tolist()


class _LazyRecords:
    """The rows of a frame as ``to_dict("records")`` dicts, front to back, built :data:`CHUNK` rows at a time when
    popped (a theme has thousands of candidates; a few dozen are looked at)."""

    CHUNK = 32

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame, self.next, self.buffer = frame, 0, []

    def __bool__(self) -> bool:
        return bool(self.buffer) or self.next < len(self.frame)

    def pop(self, _index: int = 0) -> dict:
        if not self.buffer:
            self.buffer = self.frame.iloc[self.next:self.next + self.CHUNK].to_dict("records")
            self.buffer.reverse()
            self.next += self.CHUNK
        return self.buffer.pop()


def _pick_theme(t: pd.DataFrame, used: set[str], per_theme: int, max_similarity: float,
                by_position: bool) -> list[dict]:
    t = t.assign(_used=t["response_id"].isin(used))
    t = t.sort_values(["is_campaign_letter", "has_redaction", "_used", "score", "tiebreak"],
                      ascending=[True, True, True, False, True], kind="mergesort")
    # one candidate per campaign letter
    t = t[~(t["is_campaign_letter"] & t.duplicated(["campaign_id", "is_campaign_letter"]))]
    if by_position:
        keys = t["position"].fillna("")
        counts = keys.value_counts()
        order = sorted(counts.index, key=lambda p: (-counts[p], POSITIONS.index(p) if p in POSITIONS else 99, p))
        queues = [_LazyRecords(t[keys == p]) for p in order]
    else:
        queues = [_LazyRecords(t)]
    chosen: list[dict] = []
    chosen_sh: list[set] = []
    while len(chosen) < per_theme and any(queues):
        for qu in queues:
            while qu:
                rec = qu.pop(0)
                sh = shingles(rec["trimmed"].text)
                if any(jaccard(sh, other) >= max_similarity for other in chosen_sh):
                    continue
                chosen.append(rec)
                chosen_sh.append(sh)
                break
            if len(chosen) >= per_theme:
                break
    out = []
    for rank, rec in enumerate(chosen, start=1):
        tr: Trimmed = rec["trimmed"]
        used.add(rec["response_id"])
        out.append(dict(question_id=rec["question_id"], theme_id=rec["theme_id"], position=rec["position"], rank=rank,
                        response_id=rec["response_id"], quote=tr.text, leading_ellipsis=tr.leading,
                        trailing_ellipsis=tr.trailing, attribution=rec["attribution"],
                        campaign_id=rec["campaign_id"], is_campaign_letter=bool(rec["is_campaign_letter"]),
                        has_redaction=tr.has_redaction, display=display(tr, rec["attribution"])))
    return out
