"""Campaign (form-letter) detection: exact and near copies, shared templates, personal additions.

Pipeline per open question (and once over whole submissions):

1. **Normalise** each redacted answer: strip greetings ("Dear Minister,", "Kia ora") and sign-offs
   ("Kind regards, [NAME]", "Sent from my iPhone"), fold case and diacritics, drop punctuation,
   split CJK characters into tokens, collapse whitespace.
2. **Exact copies** collapse onto one distinct normalised text (a hash table: pandas ``factorize``).
3. **Near copies**: vectorised MinHash over word shingles + LSH banding + verification against each
   cluster's medoid (:mod:`analysis.campaigns.near_duplicates`). Texts shorter than ``min_chars`` after
   normalisation ("I agree") never form campaigns.
4. **Template + edits**: a campaign's template is the sentences present in >= ``template_share`` of its
   copies, in their usual order; a copy's **personal addition** is its sentences not fuzzily matching
   a template sentence (so typos in template sentences are not counted as personal).

Every member, including the earliest copy, has ``is_campaign_copy = True``: the unique-submission
count (:func:`analysis.counts.rules.counting_units`) collapses all members into one unit, so no member is
privileged as "the original" (submission times are often missing or meaningless for form letters).
"""

from __future__ import annotations

import difflib
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.campaigns import describe, sampled
from analysis.campaigns.clean import write_clean
from analysis.campaigns.parallel import label_all
from analysis.campaigns.streamed import detect_streamed
from analysis.campaigns.text import (  # noqa: F401 - re-exported
    _TOKEN_ONLY_RE,
    _key,
    boilerplate_bounds,
    fold_sentences,
    joined_key,
    normalise,
    split_sentences,
    strip_boilerplate,
    stripped,
)
from analysis.config import CampaignSettings, ConsultationConfig
from analysis.counts.rules import counting_units
from analysis.memory import trim_heap
from analysis.tables import read_table, table_rows, write_table
from analysis.worker import Worker

logger = logging.getLogger(__name__)

#: Fewest answers for which whole-submission detection runs in a second process (:class:`analysis.worker.Worker`,
#: about a second of CPU to start) while the per-question detection runs in this one.
PARALLEL_MIN_ANSWERS = 20_000


# --- detection ----------------------------------------------------------------------------------


def normalise_all(texts: Sequence[object], memo: dict[str, str] | None = None,
                  bounds: dict[str, tuple[int, int] | None] | None = None) -> list[str]:
    """:func:`normalise` of each text (``""`` for a non-string), computed once per distinct text.

    ``memo`` (text -> its key) is read and extended when given: the stage normalises every open answer once,
    for the per-question and the whole-submission detection. ``bounds``, when given, is extended with each newly
    normalised text's :func:`~analysis.campaigns.text.boilerplate_bounds` (read again by
    :func:`~analysis.campaigns.text.stripped` and :func:`~analysis.campaigns.text.joined_key`).
    """
    memo = {} if memo is None else memo
    folded: dict[str, str] = {}  # sentence -> its fold: the copies' sentences recur (fold_sentences)
    out = []
    for t in texts:
        if not isinstance(t, str):
            out.append("")
            continue
        k = memo.get(t)
        if k is None:
            if bounds is None:
                body = strip_boilerplate(t)
            else:
                b = bounds[t] = boilerplate_bounds(t)
                body = strip_boilerplate(t) if b is None else t[b[0]:b[1]].strip()  # = strip_boilerplate(t)
            k = memo[t] = fold_sentences(body, folded)  # = normalise(t)
        out.append(k)
    return out


def find_campaigns(texts: Sequence[str], settings: CampaignSettings, seed: int,
                   keys: list[str] | None = None, *, consume: bool = False,
                   run: sampled.Runner | None = None) -> np.ndarray:
    """Label each text with a campaign number (``-1``: not in a campaign).

    Args:
        texts: Answers (already redacted).
        settings: Thresholds (``min_size``, ``near_threshold``, ``containment``, ``num_perm``,
            ``shingle_size``, ``min_chars``).
        seed: Seed of every random step.
        keys: ``normalise_all(texts)`` when the caller already has it.
        consume: Empty ``keys`` (and ``texts`` when it is the same list) once the signatures are made, and give the
            freed memory back (:func:`analysis.memory.trim_heap`): the clustering reads signatures only, so the strings need not
            be held beside its arrays (the whole submissions' keys at 1,000,000 responses: about 1 GB). For a
            caller that does not read its keys again.
        run: Where the clustering's steps are computed (:data:`analysis.campaigns.sampled.Runner`, e.g. tasks on the
            Dask cluster); by default here. More than :func:`analysis.campaigns.sampled.chunk_keys` distinct texts
            are detected in rounds of tasks of at most that many (:mod:`analysis.campaigns.sampled`), wherever they
            are computed.

    Returns:
        One integer per text; campaign numbers are arbitrary but deterministic.
    """
    t0 = time.perf_counter()
    n_texts = len(texts)
    keys = normalise_all(texts) if keys is None else keys
    labels = np.full(len(keys), -1, dtype=np.int64)
    eligible = np.flatnonzero(np.fromiter((len(k) >= settings.min_chars for k in keys), bool, len(keys)))
    if len(eligible) < settings.min_size:
        return labels
    codes, uniques = pd.factorize(pd.Series([keys[i] for i in eligible], dtype=object), sort=True)
    weight = np.bincount(codes, minlength=len(uniques))
    n_distinct = len(uniques)
    distinct = list(uniques)
    del uniques
    if consume:
        keys.clear()  # the distinct keys stay (``distinct``) until the signatures are made
        del texts
    t1 = time.perf_counter()
    size = sampled.chunk_keys()
    if run is None and n_distinct <= size:
        distinct_labels = sampled.cluster_distinct(distinct, weight, settings, seed, consume=consume)
    else:  # in rounds of tasks of at most ``size`` texts (analysis.campaigns.sampled)
        distinct_labels = sampled.distinct_labels(distinct, weight, settings, seed, run or sampled.in_process, size)
    labels[eligible] = distinct_labels[codes]
    logger.info("find_campaigns: %d texts, %d eligible, %d distinct; normalise+dedupe %.1fs, minhash+lsh+verify %.1fs",
                n_texts, len(eligible), n_distinct, t1 - t0, time.perf_counter() - t1)
    return labels


def _template_of(texts: Sequence[str], idx: np.ndarray, share: float = 0.5, max_sample: int = 500,
                 bounds: dict[str, tuple[int, int] | None] | None = None) -> list[str]:
    """``derive_template`` of the bodies of ``texts[idx]``, stripping only the copies it reads (``bounds``: see
    :func:`normalise_all`)."""
    step = max(1, len(idx) // max_sample)
    return derive_template([stripped(texts[i], bounds) for i in idx[::step][:max_sample]], share, max_sample)


def derive_template(bodies: Sequence[str], share: float = 0.5, max_sample: int = 500) -> list[str]:
    """Template sentences of a campaign: those in >= ``share`` of its copies, in their usual order.

    Args:
        bodies: The copies' bodies (boilerplate stripped, redacted).
        share: Minimum share of copies holding a sentence (exact match after normalisation).
        max_sample: At most this many copies (evenly spaced) are read.

    Returns:
        The template sentences in their most common original wording; if no sentence is shared
        by enough copies, the sentences of the copy closest to the others.
    """
    if not bodies:
        return []
    step = max(1, len(bodies) // max_sample)
    sample = list(bodies[::step])[:max_sample]
    df: Counter[str] = Counter()
    positions: dict[str, list[float]] = defaultdict(list)
    wording: dict[str, Counter[str]] = defaultdict(Counter)
    for body in sample:
        sents = split_sentences(body)
        seen = set()
        for i, s in enumerate(sents):
            k = _key(s)
            if not k or k in seen:
                continue
            seen.add(k)
            df[k] += 1
            positions[k].append(i / max(1, len(sents)))
            wording[k][s] += 1
    need = share * len(sample)
    keep = [k for k, c in df.items() if c >= need]
    if not keep:
        scores = [(sum(df[_key(s)] for s in split_sentences(b)), -i) for i, b in enumerate(sample)]
        return split_sentences(sample[-max(scores)[1]])
    keep.sort(key=lambda k: (float(np.median(positions[k])), k))
    return [min(wording[k].items(), key=lambda kv: (-kv[1], kv[0]))[0] for k in keep]


class _TemplateMatcher:
    """Decides whether a sentence is (a possibly mistyped) template sentence."""

    def __init__(self, template: Sequence[str], similarity: float):
        self.keys = {_key(s) for s in template}
        self.token_sets = [(k, set(k.split())) for k in sorted(self.keys)]
        self._matchers: dict[str, difflib.SequenceMatcher] = {}  # template key -> matcher with it as seq2
        self.similarity = similarity
        self._memo: dict[str, bool] = {}

    def is_template(self, sentence: str) -> bool:
        """Whether ``sentence`` is a template sentence (decided once per distinct sentence)."""
        hit = self._memo.get(sentence)
        if hit is None:
            hit = self._memo[sentence] = self._is_template(sentence)
        return hit

    def learn(self, sentences: Sequence[str], flags: Sequence[bool]) -> None:
        """Take the decisions made elsewhere of ``sentences`` (:func:`analysis.campaigns.describe.template_flags`
        with this template and similarity: the same decisions)."""
        self._memo.update(zip(sentences, flags, strict=True))

    def _is_template(self, sentence: str) -> bool:
        k = _key(sentence)
        if not k or k in self.keys:
            return True
        toks = set(k.split())
        for tk, tset in self.token_sets:
            if len(toks & tset) / max(1, len(toks | tset)) < 0.4:
                continue
            sm = self._matchers.get(tk)
            if sm is None:  # seq2's index is built once per template sentence
                sm = self._matchers[tk] = difflib.SequenceMatcher(None, "", tk, autojunk=False)
            sm.set_seq1(k)
            if sm.quick_ratio() >= self.similarity and sm.ratio() >= self.similarity:
                return True
        return False


def personal_addition(body: str, matcher: _TemplateMatcher) -> str:
    """Sentences of one copy's body that are not template sentences, joined by a space."""
    extra = [s for s in split_sentences(body) if not matcher.is_template(s) and not _TOKEN_ONLY_RE.match(s)]
    return " ".join(extra)


def describe_campaigns(
    texts: Sequence[str], labels: np.ndarray, settings: CampaignSettings,
    known: dict[int, list[str]] | None = None, bounds: dict[str, tuple[int, int] | None] | None = None,
    worker: Worker | None = None,
) -> tuple[dict[int, str], list[str | None]]:
    """Templates of each campaign and each member's personal addition.

    Args:
        texts: Redacted answers.
        labels: Output of :func:`find_campaigns`.
        settings: ``template_share`` and ``sentence_similarity`` are used.
        known: Template sentences already known for some labels (derived otherwise).
        bounds: The texts' :func:`~analysis.campaigns.text.boilerplate_bounds` where known (see :func:`normalise_all`).
        worker: A started worker, or ``None``: part of each campaign's sentences are then decided there
            (:func:`analysis.campaigns.describe.additions`: the same additions).

    Returns:
        ``(template text per label, personal addition per text)``; non-members get ``None``, members
        without additions get ``""``.
    """
    templates: dict[int, str] = {}
    additions: list[str | None] = [None] * len(texts)
    for lab in sorted(set(labels.tolist()) - {-1}):
        idx = np.flatnonzero(labels == lab)
        stripped_: dict[str, str] = {}  # copies often repeat a text: strip it once
        bodies = [stripped_[t] if t in stripped_ else stripped_.setdefault(t, stripped(t, bounds))
                  for t in (texts[i] for i in idx)]
        sents = (known or {}).get(lab) or derive_template(bodies, settings.template_share)
        templates[lab] = " ".join(sents)
        matcher = _TemplateMatcher(sents, settings.sentence_similarity)
        if worker is None:
            cache: dict[str, str] = {}
            for i, body in zip(idx, bodies, strict=True):
                if body not in cache:
                    cache[body] = personal_addition(body, matcher)
                additions[i] = cache[body]
        else:
            cache = describe.additions(list(dict.fromkeys(bodies)), sents, matcher, worker)
            for i, body in zip(idx, bodies, strict=True):
                additions[i] = cache[body]
        del cache
    return templates, additions


def _shingles(text: str, k: int, key: str | None = None) -> set[str]:
    toks = (normalise(text) if key is None else key).split()
    return {" ".join(toks[i:i + k]) for i in range(max(1, len(toks) - k + 1))} if toks else set()


def _match_known_templates(
    per_q: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]],
    templates: list[tuple[str, int, list[str]]],
    settings: CampaignSettings,
) -> dict[str, dict[int, list[str]]]:
    """Attach stray copies of known campaigns (any question) to them; updates labels in place.

    A form letter often arrives both as a survey answer and as an email (another "question"); in the
    email question there may be fewer than ``min_size`` copies. Every eligible text outside a campaign
    that contains >= ``containment`` of a found template's shingles becomes a copy: of that campaign
    when the template is from the same question, else of a new campaign of its own question that
    reuses the template (labels ``1_000_000 + template index``).

    Args:
        per_q: Per question: its rows' positions, their texts' lengths, their labels (updated) and their keys
            (:func:`normalise_all`): no text is read.
        templates: ``(question, label, template sentences)`` of the campaigns found.
        settings: Campaign settings.

    Returns:
        Template sentences of the new labels, per question.
    """
    k = settings.shingle_size
    sets = [(q, lab, sents, _shingles(" ".join(sents), k)) for q, lab, sents in templates]
    sets = [t for t in sets if t[3]]
    new: dict[str, dict[int, list[str]]] = defaultdict(dict)
    if not sets:
        return new
    best_of: dict[str, tuple[float, int]] = {}  # normalised text -> (best containment, -template index)
    smallest = min(len(t[3]) for t in sets)
    for qid, (_pos, lengths, labels, keys) in per_q.items():
        for i in np.flatnonzero(labels < 0):
            if lengths[i] < settings.min_chars:
                continue
            best = best_of.get(keys[i])
            if best is None and max(1, keys[i].count(" ") + 2 - k) / smallest < settings.containment:
                continue  # too few shingles to hold enough of any template
            if best is None:
                sh = _shingles("", k, keys[i])
                best = best_of[keys[i]] = max(((len(sh & t) / len(t), -j) for j, (_q, _l, _s, t) in enumerate(sets)),
                                              default=(0.0, 0))
            if best[0] < settings.containment:
                continue
            j = -best[1]
            src_q, src_lab, src_sents, _ = sets[j]
            if src_q == qid:
                labels[i] = src_lab
            else:
                labels[i] = 1_000_000 + j
                new[qid][1_000_000 + j] = src_sents
    return new


def _number(sort_rows: list[tuple[int, str, str, object]], prefix: str) -> dict[object, str]:
    """Deterministic ids: size desc, then template, then scope."""
    sort_rows = sorted(sort_rows, key=lambda r: (-r[0], r[1], r[2]))
    width = max(2, len(str(len(sort_rows))))
    return {r[3]: f"{prefix}{i:0{width}d}" for i, r in enumerate(sort_rows, start=1)}


def detect(
    answers: pd.DataFrame, open_questions: Sequence[str], settings: CampaignSettings, seed: int,
    memo: dict[str, str] | None = None, texts: list[str] | None = None,
    bounds: dict[str, tuple[int, int] | None] | None = None, found_labels: dict[str, np.ndarray] | None = None,
    worker: Worker | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Detect per-question campaigns in redacted answers.

    Args:
        answers: ``core_answers`` plus ``text_redacted`` (not modified).
        open_questions: Ids of the open questions to search.
        settings: Campaign settings.
        seed: Global seed.
        memo: Normalised keys already computed (text -> :func:`normalise` of it); extended here.
        texts: ``text_redacted`` as a list of ``str`` when the caller has it (the same objects as ``memo``'s keys).
        bounds: The texts' boilerplate bounds where known (see :func:`normalise_all`); extended here.
        found_labels: :func:`find_campaigns` of some questions' answers when the caller has it (question -> labels,
            updated in place).
        worker: A started worker (idle) or ``None``: shares the personal additions' work (:func:`describe_campaigns`).

    Returns:
        ``(core_answers_clean, core_campaigns)`` frames.
    """
    found: list[tuple] = []  # (question_id, label, row positions, template, additions)
    if settings.enabled:
        per_q: dict[str, tuple[np.ndarray, list[str], np.ndarray, list[str]]] = {}
        templates: list[tuple[str, int, list[str]]] = []  # (question, label, sentences)
        all_texts = _texts(answers["text_redacted"]) if texts is None else texts
        qids = answers["question_id"].to_numpy()
        memo = {} if memo is None else memo
        for qid in open_questions:
            pos = np.flatnonzero(qids == qid)
            if len(pos) == 0:
                continue
            texts = [all_texts[i] for i in pos.tolist()]
            keys = normalise_all(texts, memo, bounds)
            if found_labels is not None and qid in found_labels:
                labels = found_labels[qid]
            else:
                labels = (find_campaigns(texts, settings, seed, keys) if len(pos) >= settings.min_size
                          else np.full(len(pos), -1))
            per_q[qid] = (pos, texts, labels, keys)
            for lab in sorted(set(labels.tolist()) - {-1}):
                templates.append((qid, lab, _template_of(texts, np.flatnonzero(labels == lab), settings.template_share,
                                                         bounds=bounds)))
        fixed = _match_known_templates({q: (pos, np.fromiter(map(len, texts), np.int64, len(texts)), labels, keys)
                                        for q, (pos, texts, labels, keys) in per_q.items()}, templates, settings)
        for qid, (pos, texts, labels, _keys) in per_q.items():
            found += describe_found(qid, pos, texts, labels, templates, fixed, settings, bounds, worker)
    return labelled_rows(answers, found)


def describe_found(qid: str, pos: np.ndarray, texts: Sequence[str], labels: np.ndarray,
                   templates: list[tuple[str, int, list[str]]], fixed: dict[str, dict[int, list[str]]],
                   settings: CampaignSettings, bounds: dict[str, tuple[int, int] | None] | None,
                   worker: Worker | None = None) -> list[tuple]:
    """One question's campaigns (:func:`describe_campaigns` of its texts, given the templates found and those of
    the stray copies attached, :func:`_match_known_templates`): ``(question, label, row positions, template,
    additions)`` each."""
    sents = {lab: t for q, lab, t in templates if q == qid} | fixed.get(qid, {})
    tmpl_text, adds = describe_campaigns(texts, labels, settings, sents, bounds, worker)
    found = []
    for lab, tmpl in tmpl_text.items():
        members = np.flatnonzero(labels == lab)
        found.append((qid, lab, pos[members], tmpl, [adds[i] for i in members]))
    return found


def labelled_rows(answers: pd.DataFrame, found: list[tuple]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``answers`` with the campaign columns of :func:`describe_found`'s campaigns, numbered, and ``core_campaigns``."""
    out = answers.copy()
    out["campaign_id"] = pd.Series([None] * len(out), index=out.index, dtype=object)
    out["is_campaign_copy"] = False
    out["personal_addition"] = pd.Series([None] * len(out), index=out.index, dtype=object)
    ids = _number([(len(f[2]), f[3], f[0], (f[0], f[1])) for f in found], "C")
    camp_rows = []
    cid_col = out.columns.get_loc("campaign_id")
    copy_col = out.columns.get_loc("is_campaign_copy")
    add_col = out.columns.get_loc("personal_addition")
    for qid, lab, rows, tmpl, adds in found:
        cid = ids[(qid, lab)]
        out.iloc[rows, cid_col] = cid
        out.iloc[rows, copy_col] = True
        out.iloc[rows, add_col] = pd.Series(adds, dtype=object).to_numpy()
        camp_rows.append({"campaign_id": cid, "question_id": qid, "size": len(rows), "template": tmpl})
    campaigns = pd.DataFrame(camp_rows, columns=["campaign_id", "question_id", "size", "template"])
    campaigns = campaigns.sort_values("campaign_id", kind="mergesort").reset_index(drop=True)
    logger.info("campaigns: %d campaigns covering %d answers", len(campaigns), int(out["is_campaign_copy"].sum()))
    return out, campaigns


def _texts(column: pd.Series) -> list[str]:
    """A text column as a list of ``str`` (a missing text is ``""``)."""
    return ["" if not isinstance(t, str) else t for t in column.tolist()]


class JoinedTexts(Sequence[str]):
    """Each response's open answers joined by a blank line, built when read (:func:`submission_parts`).

    The stage reads only the few hundred submissions it samples for a template (:func:`submission_rows`), so the
    joined texts of every submission are never held at once: this holds the answers' texts (the caller's) and where
    each submission's run of them starts.

    Args:
        parts: The answers' texts, each submission's in question order, submissions one after the other.
        starts: Where each submission's answers start in ``parts`` (ascending); the last ends at ``len(parts)``.
    """

    def __init__(self, parts: list[str], starts: np.ndarray):
        self.parts = parts
        self.bounds = np.append(starts, len(parts)).astype(np.int64)

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def __getitem__(self, i):  # type: ignore[override]  # an int (a slice: the list of those)
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        a, b = int(self.bounds[i]), int(self.bounds[i + 1])
        return self.parts[a] if b - a == 1 else "\n\n".join(self.parts[a:b])


def submission_parts(answers: pd.DataFrame, open_questions: Sequence[str], memo: dict[str, str] | None = None,
                     texts: list[str] | None = None, bounds: dict[str, tuple[int, int] | None] | None = None
                     ) -> tuple[list[object], JoinedTexts, list[str | None]]:
    """:func:`submission_texts` with the joined texts as a :class:`JoinedTexts` (joined when read, not held)."""
    order = {q: i for i, q in enumerate(open_questions)}
    texts = _texts(answers["text_redacted"]) if texts is None else texts
    o = answers["question_id"].map(order)
    keep = np.flatnonzero(o.notna().to_numpy())
    sub = pd.DataFrame({"response_id": answers["response_id"].iloc[keep].reset_index(drop=True),
                        "_o": o.iloc[keep].to_numpy(), "_i": keep})
    sub = sub.sort_values(["response_id", "_o"], kind="mergesort")
    rids = sub["response_id"].to_numpy()
    parts = [texts[i] for i in sub["_i"].tolist()]
    starts = np.flatnonzero(np.r_[True, rids[1:] != rids[:-1]]) if len(rids) else np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], len(rids)].astype(np.int64)
    keys = []
    memo = {} if memo is None else memo
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        keys.append(memo.get(parts[a]) if b - a == 1 else joined_key(parts[a:b], memo, bounds))
    return rids[starts].tolist(), JoinedTexts(parts, starts), keys


def submission_texts(answers: pd.DataFrame, open_questions: Sequence[str], memo: dict[str, str] | None = None,
                     texts: list[str] | None = None, bounds: dict[str, tuple[int, int] | None] | None = None
                     ) -> tuple[list[object], list[str], list[str | None]]:
    """Each response's open answers joined (in question order): response ids, texts and known keys.

    A submission of one answer is that answer's text, so its key is the answer's when ``memo`` holds it
    (``None`` otherwise: :func:`detect_submission_texts` normalises it); a longer one's key is built from its
    answers' keys (:func:`analysis.campaigns.text.joined_key`). ``texts``: ``text_redacted`` as a list of
    ``str`` when the caller has it; ``bounds``: the answers' boilerplate bounds (see :func:`normalise_all`).
    """
    rids, joined, keys = submission_parts(answers, open_questions, memo, texts, bounds)
    return rids, list(joined), keys


def detect_submission_texts(rids: list[object], texts: list[str], keys: list[str | None],
                            settings: CampaignSettings, seed: int) -> pd.DataFrame:
    """Whole-submission campaigns of :func:`submission_texts`' output (``None`` keys are normalised here).

    Returns:
        ``core_submission_campaigns`` rows (``response_id, campaign_id, size``) for members only.
    """
    memo: dict[str, str] = {}
    full = [k if k is not None else memo.get(t) or memo.setdefault(t, normalise(t)) for t, k in zip(texts, keys,
                                                                                                    strict=True)]
    return submission_rows(rids, texts, submission_labels(full, settings, seed))


def submission_labels(keys: list[str], settings: CampaignSettings, seed: int) -> np.ndarray:
    """Whole-submission campaign labels (:func:`find_campaigns`) from the submissions' keys alone (what the
    worker is sent: no text)."""
    return find_campaigns(keys, settings, seed, keys)


def submission_rows(rids: list[object], texts: list[str], labels: np.ndarray) -> pd.DataFrame:
    """``core_submission_campaigns`` rows of labelled submissions (ids numbered by size, then template)."""
    cols = ["response_id", "campaign_id", "size"]
    if (labels < 0).all():
        return pd.DataFrame(columns=cols)
    rows = []
    for lab in sorted(set(labels.tolist()) - {-1}):
        idx = np.flatnonzero(labels == lab)
        rows.append((len(idx), " ".join(_template_of(texts, idx)), "", lab))
    ids = _number(rows, "S")
    size = {lab: n for n, _t, _s, lab in rows}
    members = [
        {"response_id": rid, "campaign_id": ids[lab], "size": size[lab]}
        for rid, lab in zip(rids, labels, strict=True) if lab >= 0
    ]
    return pd.DataFrame(members, columns=cols)


def detect_submissions(
    answers: pd.DataFrame, open_questions: Sequence[str], settings: CampaignSettings, seed: int
) -> pd.DataFrame:
    """Whole-submission campaigns: each response's open answers joined (in question order).

    Returns:
        ``core_submission_campaigns`` rows (``response_id, campaign_id, size``) for members only.
    """
    if not settings.enabled or not open_questions:
        return pd.DataFrame(columns=["response_id", "campaign_id", "size"])
    return detect_submission_texts(*submission_texts(answers, open_questions), settings, seed)


def reconcile(answers_clean: pd.DataFrame, campaigns: pd.DataFrame) -> pd.DataFrame:
    """Prove, per question, ``n_all == n_unique + sum over campaigns (size - 1)``.

    Args:
        answers_clean: ``core_answers_clean``.
        campaigns: ``core_campaigns``.

    Returns:
        One row per question: ``question_id, n_all, n_unique, n_campaigns, collapsed`` (the sum of
        ``size - 1``) and ``balanced``.
    """
    all_units = counting_units(answers_clean, "all").groupby("question_id")["unit_id"].nunique()
    uniq_units = counting_units(answers_clean, "unique").groupby("question_id")["unit_id"].nunique()
    camp = campaigns.groupby("question_id").agg(n_campaigns=("campaign_id", "size"), collapsed=("size", "sum"))
    camp["collapsed"] = camp["collapsed"] - camp["n_campaigns"]
    out = pd.DataFrame({"n_all": all_units, "n_unique": uniq_units}).join(camp, how="left")
    out = out.fillna({"n_campaigns": 0, "collapsed": 0}).astype(int)
    out["balanced"] = out["n_all"] == out["n_unique"] + out["collapsed"]
    return out.rename_axis("question_id").reset_index()


def with_campaign_columns(answers: pd.DataFrame, open_q: Sequence[str], found: pd.DataFrame) -> pd.DataFrame:
    """``answers`` (every answer) with :func:`detect`'s campaign columns, ``found`` being :func:`detect` of its open
    questions' rows alone (in the same order): what :func:`detect` of ``answers`` gives.

    :func:`detect` reads only the open questions' rows and their order (closed answers keep ``campaign_id`` and
    ``personal_addition`` missing and ``is_campaign_copy`` false), so its result on the open rows, put back in their
    places, is its result on the whole table.

    Raises:
        AssertionError: ``found``'s rows are not ``answers``' open rows (ids and questions, in order).
    """
    pos = np.flatnonzero(answers["question_id"].isin(list(open_q)).to_numpy())
    for col in ("response_id", "question_id"):
        if len(pos) != len(found) or not answers[col].iloc[pos].reset_index(drop=True).equals(
                found[col].reset_index(drop=True)):
            raise AssertionError(f"campaigns: the open answers read for detection differ from the table's ({col})")
    out = answers.copy(deep=False)
    for col, fill, dtype in (("campaign_id", None, object), ("is_campaign_copy", False, bool),
                             ("personal_addition", None, object)):
        values = np.full(len(out), fill, dtype=dtype)
        values[pos] = found[col].to_numpy(dtype=dtype)
        out[col] = pd.Series(values, index=out.index, dtype=dtype)
    return out


def run(cfg: ConsultationConfig, *, raw_dir: Path, processed_dir: Path) -> list[Path]:
    """Stage: detect campaigns in the redacted answers, write the clean tables.

    Reads ``core_answers_redacted`` (the redaction stage) and ``core_questions``; writes
    ``core_answers_clean``, ``core_campaigns`` and ``core_submission_campaigns``. The open answers' texts are read a
    batch of rows at a time, never held whole (:func:`analysis.campaigns.streamed.detect_streamed`): what is held is
    each open answer's normalised key, and each whole submission's. With at least :data:`PARALLEL_MIN_ANSWERS`
    answers, the detections (whole submissions, each question) are shared with a second process (same result: each
    is deterministic and independent, :func:`analysis.campaigns.parallel.label_all`). The whole table is read again
    to write, a row group at a time (:func:`analysis.campaigns.clean.write_clean`).

    Returns:
        The written paths.
    """
    questions = read_table("core_questions", processed_dir)
    open_q = [q for q in questions.sort_values("order")["question_id"] if
              questions.set_index("question_id").loc[q, "kind"] == "open"]
    n_all = table_rows("core_answers_redacted", processed_dir)
    ids = read_table("core_answers_redacted", processed_dir, columns=["response_id", "question_id"],
                     where=("question_id", list(open_q)))
    s = cfg.settings
    with Worker() as worker:
        in_worker = n_all >= PARALLEL_MIN_ANSWERS and s.campaigns.enabled and bool(open_q)
        if in_worker:  # it starts and imports while the answers are normalised here
            in_worker = worker.start(__name__, "analysis.campaigns.parallel")
        if s.campaigns.enabled and open_q:
            def label(jobs: list, later: Callable[[], list]) -> dict:
                return label_all(jobs, s.campaigns, s.seed, worker if in_worker else None, later=later, consume=True)

            found_open, campaigns, subs = detect_streamed(processed_dir, ids, open_q, s.campaigns, s.seed, label,
                                                          describe_found, worker if in_worker and worker.started
                                                          else None)
        else:
            found_open, campaigns = labelled_rows(ids, [])
            subs = pd.DataFrame(columns=["response_id", "campaign_id", "size"])
        del ids
    trim_heap()  # the keys and the texts read for the descriptions
    # the open rows alone: a closed question's answers are each their own unit in both counts (balanced)
    rec = reconcile(found_open, campaigns)
    if not rec["balanced"].all():  # cannot happen unless a table was edited by hand
        raise AssertionError(f"campaign counts do not reconcile:\n{rec[~rec['balanced']]}")
    return [
        write_clean(processed_dir, open_q, found_open),
        write_table(campaigns, "core_campaigns", processed_dir),
        write_table(subs, "core_submission_campaigns", processed_dir),
    ]
