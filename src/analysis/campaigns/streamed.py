"""The campaigns stage's detection with the open answers' texts read a batch of rows at a time, never held whole.

:func:`analysis.campaigns.stage.detect` takes every open answer's text at once; at 5,000,000 responses the stage's
process held the texts (6 GB of characters), their normalised keys (5 GB more), the maps between them and the
whole submissions' keys: 23-25 GB, beside the workers. Here (:func:`detect_streamed`) the texts are read from
``core_answers_redacted`` (in key order, so a response's answers are together) in four passes, and what is held
from pass to pass is each open answer's key, boilerplate bounds and length, and each submission's key:

1. **Keys** (:func:`key_rows`): each batch's texts are normalised (:func:`~analysis.campaigns.stage.normalise_all`)
   and each whole submission's key is joined from its answers (:func:`~analysis.campaigns.text.joined_key`, a
   response's answers read in question order; a response cut by a batch's end waits for the next batch). Equal keys
   are one string.
2. **Detection**: :func:`~analysis.campaigns.parallel.label_all` of each question's keys and of the submissions' keys,
   as the stage always ran it.
3. **Templates** (:func:`pick_texts`): the texts a campaign's template is derived from (at most 500 of its copies,
   :func:`~analysis.campaigns.stage._template_of`'s sample), of the questions and of the whole submissions, fetched in
   one pass by row.
4. **Per question**: stray copies of known templates matched on keys and lengths
   (:func:`~analysis.campaigns.stage._match_known_templates`), then each question's texts read again (one question
   at a time, a block of :data:`DESCRIBE_BLOCK` answers at a time: :func:`describe_question`) to describe its
   campaigns (personal additions: :func:`~analysis.campaigns.stage.describe_campaigns`).

Each step is the one :func:`~analysis.campaigns.stage.detect` and
:func:`~analysis.campaigns.stage.submission_rows` take on the whole texts, on the same values in the same order, so
the tables are the same (``tests/test_campaigns_streamed.py`` compares them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.campaigns.text import joined_key
from analysis.config import CampaignSettings
from analysis.errors import TableSchemaError
from analysis.memory import trim_heap
from analysis.tables import arrow_schema, iter_batches

logger = logging.getLogger(__name__)

_SOURCE = "core_answers_redacted"
#: Rows of ``core_answers_redacted`` read at a time (their texts are Python strings for one batch).
BATCH = 65_536
#: A question's answers described at a time (pass 4: their texts and bodies held at once).
DESCRIBE_BLOCK = 262_144


@dataclass
class Keyed:
    """What pass 1 (:func:`key_rows`) keeps of the open answers, by their position among the open rows (file order).

    Attributes:
        keys: Each open answer's :func:`~analysis.campaigns.text.normalise` (equal keys: one object).
        lo: Where its body starts (:func:`~analysis.campaigns.text.boilerplate_bounds`; ``-1``: no bounds).
        hi: Where its body ends (``-1``: no bounds).
        length: Its text's length.
        group: Each whole submission's first open row (ascending; a last entry: the number of open rows).
        parts: The open rows in submission order (each submission's in question order).
        sub_keys: Each whole submission's key (its answers joined in question order, normalised).
    """

    keys: list[str] = field(default_factory=list)
    lo: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    hi: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    length: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    group: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    parts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    sub_keys: list[str] = field(default_factory=list)

    def bounds_of(self, texts: Sequence[str], positions: Sequence[int]) -> dict[str, tuple[int, int] | None]:
        """The ``bounds`` map (text -> its bounds, ``None``: none) of the texts at ``positions``."""
        lo, hi = self.lo, self.hi
        return {t: None if lo[p] < 0 else (int(lo[p]), int(hi[p])) for t, p in zip(texts, positions, strict=True)}


def open_batches(processed_dir: Path, questions: Sequence[str], with_ids: bool = False
                 ) -> Iterator[tuple[list[str], object]]:
    """``core_answers_redacted``'s rows of ``questions``, a batch at a time, in file order: their texts (``""`` for a
    missing one) and (``with_ids``) their Arrow ``question_id`` column."""
    import pyarrow as pa  # noqa: PLC0415 - pandas imports it anyway
    import pyarrow.compute as pc  # noqa: PLC0415

    schema = arrow_schema(_SOURCE, processed_dir)
    wanted = pa.array(list(questions), type=schema.field("question_id").type)
    for batch in iter_batches(_SOURCE, processed_dir, columns=["question_id", "text_redacted"], batch_size=BATCH):
        kept = batch.filter(pc.is_in(batch.column("question_id"), value_set=wanted))
        texts = ["" if not isinstance(t, str) else t
                 for t in kept.column("text_redacted").to_numpy(zero_copy_only=False).tolist()]
        yield texts, (kept.column("question_id") if with_ids else None)


def submission_groups(ids: pd.DataFrame, open_q: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Where each whole submission's open rows start (plus their number at the end) and the open rows in submission
    order (each submission's in ``open_q`` order), from the open rows' ids in file order.

    Raises:
        TableSchemaError: A response's rows are not together, or the responses are not in order (the table is not
            in key order: it is written so by :func:`analysis.tables.write_table`).
    """
    n = len(ids)
    if not n:
        return np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    codes, uniques = pd.factorize(ids["response_id"])
    group = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]).astype(np.int64)
    back = np.flatnonzero(np.diff(codes) < 0)  # a response's rows apart
    if len(back) or not pd.Index(uniques).is_monotonic_increasing:
        if len(back):
            row = int(back[0]) + 1
        else:  # the first response whose id sorts before the one above it
            firsts = pd.Series(ids["response_id"].to_numpy()[group])
            row = int(group[int(np.flatnonzero(firsts.iloc[1:].to_numpy() < firsts.iloc[:-1].to_numpy())[0]) + 1])
        raise TableSchemaError(f"{_SOURCE}: open answer {row} (response_id {ids['response_id'].iloc[row]!r}) is out "
                               "of key order (response_id, question_id); run the redaction stage again")
    order = ids["question_id"].map({q: i for i, q in enumerate(open_q)}).to_numpy(dtype=np.int64)
    parts = np.lexsort((order, codes)).astype(np.int64)  # by response (file order), then question order
    return np.append(group, n), parts


def key_rows(processed_dir: Path, ids: pd.DataFrame, open_q: Sequence[str], normalise_all: Callable) -> Keyed:
    """Pass 1: every open answer's key, bounds and length, and every whole submission's key (see the module).

    Args:
        processed_dir: The processed folder.
        ids: The open rows' ``response_id, question_id`` in file order (``core_answers_redacted`` filtered).
        open_q: The open questions, in their order.
        normalise_all: :func:`analysis.campaigns.stage.normalise_all`.

    Raises:
        AssertionError: The texts read are not as many as ``ids`` (the file changed meanwhile).
    """
    n = len(ids)
    group, parts = submission_groups(ids, open_q)
    out = Keyed(keys=[""] * n, lo=np.full(n, -1, dtype=np.int64), hi=np.full(n, -1, dtype=np.int64),
                length=np.zeros(n, dtype=np.int64), group=group, parts=parts)
    one: dict[str, str] = {}  # each distinct key once (copies in different batches share it)
    held: dict[int, str] = {}  # the texts of the submissions not yet keyed (a response cut by a batch's end)
    at, g = 0, 0
    for texts, _ in open_batches(processed_dir, open_q):
        memo: dict[str, str] = {}
        bounds: dict[str, tuple[int, int] | None] = {}
        keys = normalise_all(texts, memo, bounds)
        end = at + len(texts)
        if end > n:
            raise AssertionError("campaigns: the open answers' texts and rows read differ in number")
        for i, (t, k) in enumerate(zip(texts, keys, strict=True)):
            p = at + i
            out.keys[p] = one.setdefault(k, k)
            out.length[p] = len(t)
            b = bounds[t]
            if b is not None:
                out.lo[p], out.hi[p] = b
            held[p] = t
        while g < len(group) - 1 and group[g + 1] <= end:  # every submission whose rows are all read
            rows = parts[group[g]:group[g + 1]].tolist()
            if len(rows) == 1:
                key = out.keys[rows[0]]
            else:
                own = [held[p] for p in rows]
                key = joined_key(own, dict(zip(own, (out.keys[p] for p in rows), strict=True)),
                                 out.bounds_of(own, rows))
            out.sub_keys.append(one.setdefault(key, key))
            for p in rows:
                del held[p]
            g += 1
        at = end
        del texts, keys, memo, bounds
    if at != n or held:
        raise AssertionError("campaigns: the open answers' texts and rows read differ in number")
    del one
    trim_heap()
    return out


def pick_texts(processed_dir: Path, open_q: Sequence[str], positions: np.ndarray) -> dict[int, str]:
    """Pass 3: the texts of the open rows at ``positions`` (file order among the open rows), read in one pass."""
    want = np.unique(np.asarray(positions, dtype=np.int64))
    out: dict[int, str] = {}
    at = 0
    for texts, _ in open_batches(processed_dir, open_q):
        end = at + len(texts)
        lo, hi = np.searchsorted(want, [at, end])
        for p in want[lo:hi].tolist():
            out[p] = texts[p - at]
        at = end
    return out


def question_texts(processed_dir: Path, question: str) -> list[str]:
    """One open question's texts, in file order (pass 4)."""
    texts: list[str] = []
    for batch, _ in open_batches(processed_dir, [question]):
        texts += batch
    return texts


def sampled_members(labels: np.ndarray, max_sample: int = 500) -> dict[int, np.ndarray]:
    """Each campaign's copies (indices into ``labels``) its template is derived from: the sample
    :func:`~analysis.campaigns.stage._template_of` reads."""
    out = {}
    for lab in sorted(set(labels.tolist()) - {-1}):
        idx = np.flatnonzero(labels == lab)
        step = max(1, len(idx) // max_sample)
        out[lab] = idx[::step][:max_sample]
    return out


class Picked(Sequence[str]):
    """Texts by index, of which only those fetched are held (what :func:`_template_of` reads).

    Args:
        size: How many texts there are.
        texts: The fetched ones, by index.
    """

    def __init__(self, size: int, texts: dict[int, str]):
        self.size, self.texts = size, texts

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i):  # type: ignore[override]  # an int only
        return self.texts[int(i)]


def joined_of(keyed: Keyed, subs: Sequence[int], texts: dict[int, str]) -> dict[int, str]:
    """The joined texts of the whole submissions ``subs`` (their open answers in question order, blank-line
    separated, as :class:`~analysis.campaigns.stage.JoinedTexts` joins them) from their answers' ``texts``."""
    out = {}
    for s in subs:
        rows = keyed.parts[keyed.group[s]:keyed.group[s + 1]].tolist()
        out[s] = texts[rows[0]] if len(rows) == 1 else "\n\n".join(texts[p] for p in rows)
    return out


def submission_positions(keyed: Keyed, subs: Sequence[int]) -> np.ndarray:
    """The open rows of the whole submissions ``subs``."""
    rows = [keyed.parts[keyed.group[s]:keyed.group[s + 1]] for s in subs]
    return np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)


def detect_streamed(
    processed_dir: Path, ids: pd.DataFrame, open_q: Sequence[str], settings: CampaignSettings, seed: int,
    label: Callable[[list[tuple[Hashable, list[str]]], Callable[[], list]], dict[Hashable, np.ndarray]],
    describe: Callable, worker: object | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """:func:`~analysis.campaigns.stage.detect` of the open rows and :func:`~analysis.campaigns.stage.submission_rows`
    of the whole submissions, the texts read a batch at a time (see the module).

    Args:
        processed_dir: The processed folder (``core_answers_redacted`` is read).
        ids: The open rows' ``response_id, question_id``, in file order.
        open_q: The open questions, in their order.
        settings: Campaign settings (enabled).
        seed: Global seed.
        label: ``label(jobs, later)``: :func:`~analysis.campaigns.parallel.label_all` of the questions' jobs and of
            ``later()``'s (the whole submissions').
        describe: :func:`analysis.campaigns.stage.describe_found` (the stage's per-question step).
        worker: A started worker or ``None`` (shares the personal additions' work).

    Returns:
        ``(open rows with the campaign columns, core_campaigns, core_submission_campaigns)``.
    """
    from analysis.campaigns import stage  # noqa: PLC0415 - the stage imports this module

    keyed = key_rows(processed_dir, ids, open_q, stage.normalise_all)
    qids = ids["question_id"].to_numpy()
    where = {q: np.flatnonzero(qids == q) for q in open_q}
    del qids
    jobs = [(q, [keyed.keys[i] for i in where[q].tolist()]) for q in open_q
            if len(where[q]) and len(where[q]) >= settings.min_size]
    n_subs = len(keyed.sub_keys)
    box, keyed.sub_keys = [keyed.sub_keys], []  # held by the job alone (labelling may empty it)
    found = label(jobs, lambda: [(None, box.pop())])
    del jobs
    trim_heap()
    labels = {q: found[q] if q in found else np.full(len(where[q]), -1, dtype=np.int64)
              for q in open_q if len(where[q])}
    # pass 3: the templates' texts (of the questions' campaigns and of the whole submissions')
    samples = {q: sampled_members(lab) for q, lab in labels.items()}
    sub_labels = found.get(None, np.full(n_subs, -1, dtype=np.int64))
    sub_samples = sampled_members(sub_labels)
    subs_read = np.unique(np.concatenate([np.zeros(0, dtype=np.int64), *sub_samples.values()]))
    wanted = [where[q][idx] for q in samples for idx in samples[q].values()]
    wanted.append(submission_positions(keyed, subs_read.tolist()))
    texts = pick_texts(processed_dir, open_q, np.concatenate([np.zeros(0, dtype=np.int64), *wanted]))
    templates = []
    for q, by_label in samples.items():
        pos = where[q]
        picked = {int(i): texts[int(pos[i])] for idx in by_label.values() for i in idx.tolist()}
        bounds = keyed.bounds_of(list(picked.values()), [int(pos[i]) for i in picked])
        for lab in by_label:
            templates.append((q, lab, stage._template_of(Picked(len(pos), picked), np.flatnonzero(labels[q] == lab),
                                                         settings.template_share, bounds=bounds)))
    joined = Picked(n_subs, joined_of(keyed, subs_read.tolist(), texts))
    subs = stage.submission_rows(_Ids(ids, keyed), joined, sub_labels)
    del texts, joined
    # pass 4: stray copies matched on keys and lengths, then each question described from its texts read again
    per_q = {q: (where[q], keyed.length[where[q]], labels[q], [keyed.keys[i] for i in where[q].tolist()])
             for q in labels}
    fixed = stage._match_known_templates(per_q, templates, settings)
    out = []
    for q in list(per_q):
        pos, _lengths, lab, _keys = per_q.pop(q)
        del _keys
        out += describe_question(processed_dir, q, pos, lab, templates, fixed, settings, keyed, describe, worker)
        trim_heap()
    clean, campaigns = stage.labelled_rows(ids, out)
    return clean, campaigns, subs


def describe_question(processed_dir: Path, q: str, pos: np.ndarray, labels: np.ndarray,
                      templates: list[tuple[str, int, list[str]]], fixed: dict[str, dict[int, list[str]]],
                      settings: CampaignSettings, keyed: Keyed, describe: Callable, worker: object | None) -> list[tuple]:
    """Pass 4 for question ``q``: ``describe(...)`` (:func:`~analysis.campaigns.stage.describe_found`) of its texts,
    read again; a question of more than :data:`DESCRIBE_BLOCK` answers a block of them at a time.

    :func:`~analysis.campaigns.stage.describe_campaigns` takes a campaign's template from those known (every campaign
    has one here: found, or attached by the stray copies' matching) and each copy's personal addition from its body
    and the template alone (:func:`~analysis.campaigns.stage.personal_addition`, its sentences' decisions kept by the
    campaign's matcher), so the copies can be described a block at a time with one matcher a campaign: the same
    templates and additions. A campaign whose known template is empty would be derived again from its copies: such a
    question is described whole.
    """
    from analysis.campaigns import stage  # noqa: PLC0415 - the stage imports this module

    known = {lab: t for qq, lab, t in templates if qq == q} | fixed.get(q, {})
    labs = sorted(set(labels.tolist()) - {-1})
    if len(pos) <= DESCRIBE_BLOCK or not all(known.get(lab) for lab in labs):
        texts = question_texts(processed_dir, q)
        if len(texts) != len(pos):
            raise AssertionError("campaigns: the open answers read again differ in number")
        return describe(q, pos, texts, labels, templates, fixed, settings, keyed.bounds_of(texts, pos.tolist()), worker)
    matchers = {lab: stage._TemplateMatcher(known[lab], settings.sentence_similarity) for lab in labs}
    additions: list[str | None] = [None] * len(pos)
    at = 0
    for texts in _blocks(open_batches(processed_dir, [q]), DESCRIBE_BLOCK):
        end = at + len(texts)
        if end > len(pos):
            raise AssertionError("campaigns: the open answers read again differ in number")
        bounds = keyed.bounds_of(texts, pos[at:end].tolist())
        block = labels[at:end]
        for lab in labs:
            members = np.flatnonzero(block == lab).tolist()
            if not members:
                continue
            stripped_: dict[str, str] = {}  # copies often repeat a text: strip it once
            bodies = [stripped_[t] if t in stripped_ else stripped_.setdefault(t, stage.stripped(t, bounds))
                      for t in (texts[i] for i in members)]
            if worker is None:
                cache: dict[str, str] = {}
                for body in bodies:
                    if body not in cache:
                        cache[body] = stage.personal_addition(body, matchers[lab])
            else:
                cache = describe_additions(list(dict.fromkeys(bodies)), known[lab], matchers[lab], worker)
            for i, body in zip(members, bodies, strict=True):
                additions[at + i] = cache[body]
        at = end
    if at != len(pos):
        raise AssertionError("campaigns: the open answers read again differ in number")
    found = []
    for lab in labs:
        members = np.flatnonzero(labels == lab)
        found.append((q, lab, pos[members], " ".join(known[lab]), [additions[i] for i in members.tolist()]))
    return found


def describe_additions(*args: object) -> dict[str, str]:
    """:func:`analysis.campaigns.describe.additions` (imported when called)."""
    from analysis.campaigns.describe import additions  # noqa: PLC0415

    return additions(*args)


def _blocks(batches: Iterator[tuple[list[str], object]], size: int) -> Iterator[list[str]]:
    """The batches' texts joined into blocks of at least ``size`` (the last: what is left)."""
    block: list[str] = []
    for texts, _ in batches:
        block += texts
        if len(block) >= size:
            yield block
            block = []
    if block:
        yield block


class _Ids(Sequence[object]):
    """Each whole submission's response id (its first open row's), by index: what
    :func:`~analysis.campaigns.stage.submission_rows` reads as ``rids``."""

    def __init__(self, ids: pd.DataFrame, keyed: Keyed):
        self.first = keyed.group[:-1]
        self.rids = ids["response_id"]

    def __len__(self) -> int:
        return len(self.first)

    def __iter__(self) -> Iterator[object]:
        yield from self.rids.take(self.first).tolist()

    def __getitem__(self, i):  # type: ignore[override]  # an int only
        return self.rids.iloc[int(self.first[int(i)])]
