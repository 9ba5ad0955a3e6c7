"""Discovery and assignment of a large question a chunk of units at a time (themes tasks sized by rows).

A question with more than :data:`CHUNK_UNITS` units is not sent to one task whole (at a million responses with 90%
campaign letters the letters question's 768,374 units and vectors were one task). Its topics are found in three
steps, the first and last of them a task a chunk:

1. **Fit** (this process): PCA and k-means on the seeded sample of :data:`analysis.themes.discovery.FIT_MAX_UNITS`
   units that discovery fits on anyway (:func:`analysis.themes.discovery._pca_kmeans`): the same models.
2. **Predict and count** (a task a chunk, :func:`chunk_counts`): every unit's nearest centre (the same prediction,
   block for block, as the whole question's), and per cluster its size, the sum of its vectors, its first unit and
   its word counts (:class:`analysis.themes.pieces.JoinedPart`). Joined here, they give the topics' order by size,
   their centres and BERTopic's c-TF-IDF keywords, the counts being those of the whole topic's document.
3. **Describe and assign** (a task a chunk, :func:`chunk_topics`): per topic the chunk's answers nearest its centre
   (its consenting respondents' too) and the keyword counts a label needs; and every unit's themes
   (:func:`discovery_rows`). Joined here: each topic's label, keywords and representative
   answers, chosen among all its answers exactly as for a whole question.

What differs from discovering the question whole: each topic's centre is its members' mean summed in float64 a
chunk at a time (the whole question's is NumPy's float32 mean), so scores can differ in the last digits; and a
question whose answers leave no word for the c-TF-IDF keeps its k-means clusters (a whole question is re-clustered
on all its vectors). The chunks are fixed by the question's units alone, never by the engine: the local engine runs
the same tasks in forked processes, so both engines give the same bytes (``tests/test_themes_chunked.py``).

Here too: the discovered themes of each unit (:func:`discovery_rows`, :func:`chunk_rows`, for a whole question and
for a chunk) and the two runners of a chunked step (:func:`on_cluster`, :func:`forked`).
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from analysis import paths
from analysis.themes import discovery, fitcache
from analysis.themes.discovery import (
    DiscoveredTopic,
    DiscoveryResult,
    _ctfidf_from_counts,
    _kmeans,
    _norm,
    _ranked_head,
    choose_n_topics,
    phrase_label,
)
from analysis.themes.pieces import (
    ENGLISH_STOP_WORDS,
    count_matrix,
    joined_counts,
    joined_part,
    keyword_totals,
)
from analysis.themes.rows import n_distinct_rows

logger = logging.getLogger(__name__)

#: Units of one question beyond which it is discovered and assigned a chunk of this many units a task (a multiple
#: of the prediction's block, so that every unit's nearest centre is computed as for the whole question).
CHUNK_UNITS = 4 * discovery._PREDICT_BLOCK
#: Overrides :data:`CHUNK_UNITS` (a positive whole number).
CHUNK_ENV = "ANALYSIS_THEMES_CHUNK_UNITS"
#: Answers nearest a topic's centre that its label is chosen from (as :func:`analysis.themes.discovery._make_topics`).
NEAREST = 10

#: ``run(fn, items, label, shared)`` -> ``[fn(item, **shared) for item in items]``, on the engine's workers.
Runner = Callable[..., list]


def chunk_units() -> int:
    """Units of a question beyond which it is discovered in chunks of that many: :data:`CHUNK_UNITS`, or
    ``ANALYSIS_THEMES_CHUNK_UNITS`` when set.

    Raises:
        ConfigError: The variable is not a positive whole number.
    """
    return paths.env_count(CHUNK_ENV, CHUNK_UNITS, "units per themes task")


@dataclass
class Chunk:
    """The units a task is sent: from ``start``, their texts, vectors, keys and whether they may be quoted."""

    start: int
    texts: list[str]
    emb: np.ndarray
    units: list[str]
    label_ok: np.ndarray | None


def chunks(texts: Sequence[str], emb: np.ndarray, units: Sequence[str], label_ok: Sequence[bool] | None,
           size: int = CHUNK_UNITS) -> list[Chunk]:
    """The question's units cut every ``size``."""
    ok = None if label_ok is None else np.asarray(label_ok, dtype=bool)
    return [Chunk(lo, list(texts[lo:lo + size]), emb[lo:lo + size], list(units[lo:lo + size]),
                  None if ok is None else ok[lo:lo + size]) for lo in range(0, len(texts), size)]


def chunk_counts(chunk: Chunk, *, pca: PCA, km, block: int) -> tuple[np.ndarray, dict[int, tuple]]:
    """Step 2 for one chunk: each unit's cluster (k-means' own numbering, predicted ``block`` units at a time) and,
    per cluster met, ``(size, first unit's index in the question, float64 sum of the vectors, JoinedPart of its
    texts)``."""
    raw = np.empty(len(chunk.emb), dtype=np.int64)
    for lo in range(0, len(chunk.emb), block):
        raw[lo:lo + block] = km.predict(np.nan_to_num(pca.transform(chunk.emb[lo:lo + block])))
    out = {}
    for c in np.unique(raw).tolist():
        members = np.flatnonzero(raw == c)
        out[c] = (len(members), chunk.start + int(members[0]), chunk.emb[members].sum(axis=0, dtype=np.float64),
                  joined_part([chunk.texts[i] for i in members], once=True))
    return raw, out


def _head(texts: Sequence[str], emb: np.ndarray, centroid: np.ndarray, index: np.ndarray, n: int) -> list[tuple]:
    """``(-round(sim, 6), index, text)`` of the first ``n`` distinct texts in that order (``sim = emb @ centroid``):
    what :func:`analysis.themes.discovery._representatives` reads, for a part of a topic's members."""
    if not len(texts):
        return []
    sims = emb @ centroid
    out, seen = [], set()
    for i in _ranked_head(np.asarray(sims), lambda got: len({texts[j] for j in got}) >= n):
        if texts[i] not in seen:
            seen.add(texts[i])
            out.append((-round(float(sims[i]), 6), int(index[i]), texts[i]))
        if len(out) == n:
            break
    return out


def _totals(texts: list[str]) -> tuple[Counter, Counter | None]:
    """:func:`keyword_totals` with English stop words dropped, and kept when nothing is left (else ``None``)."""
    eng = keyword_totals(texts, ENGLISH_STOP_WORDS)
    return eng, (keyword_totals(texts, None) if not eng else None)


def chunk_topics(item: tuple[Chunk, np.ndarray], *, centroids: np.ndarray, all_words: frozenset[int],
                 assign: Callable[..., object]) -> tuple[dict[int, dict], object]:
    """Step 3 for one ``(chunk, its topic labels)``: per topic met, the chunk's answers nearest its centre
    (``"head"``), its consenting ones' (``"ok_head"``, ``"ok_words"``), its members' word totals when the topic has
    no c-TF-IDF keyword (``"words"``, topics in ``all_words``); and ``assign(units, labels, sims, top)``."""
    chunk, labels = item
    per: dict[int, dict] = {}
    for j in np.unique(labels[labels >= 0]).tolist():
        members = np.flatnonzero(labels == j)
        texts = [chunk.texts[i] for i in members]
        got = {"head": _head(texts, chunk.emb[members], centroids[j], chunk.start + members, NEAREST)}
        if chunk.label_ok is not None:
            ok = members[chunk.label_ok[members]]
            ok_texts = [chunk.texts[i] for i in ok]
            got["ok_head"] = _head(ok_texts, chunk.emb[ok], centroids[j], chunk.start + ok, NEAREST)
            got["ok_words"] = _totals(ok_texts)
            got["n_ok"] = len(ok)
        if j in all_words:
            got["words"] = _totals(texts)
        per[j] = got
    sims = chunk.emb @ centroids.T
    return per, assign(chunk.units, labels, sims)


def _merged_keywords(parts: list[tuple[Counter, Counter | None]], top: int = 10) -> list[str]:
    """:func:`analysis.themes.discovery._keywords` of the texts whose :func:`_totals` are ``parts``."""
    for k in (0, 1):
        totals: Counter = Counter()
        for p in parts:
            if p[k] is not None:
                totals.update(p[k])
        if totals:
            return [term for term, _ in sorted(totals.items(), key=lambda x: (-x[1], x[0]))[:top]]
    return []


def _nearest(heads: list[list[tuple]], n: int = NEAREST) -> list[str]:
    """The first ``n`` distinct texts of the chunks' heads merged in their order."""
    out: list[str] = []
    for _, _, text in sorted(h for head in heads for h in head):
        if text not in out:
            out.append(text)
        if len(out) == n:
            break
    return out


def discover_in_chunks(texts: Sequence[str], emb: np.ndarray, units: Sequence[str], *, question_id: str, seed: int,
                       n_topics: int | str, max_topics: int, min_answers: int, label_ok: Sequence[bool] | None,
                       assign: Callable[..., object], run: Runner, size: int | None = None):
    """:func:`analysis.themes.discovery.discover` and the assignment of every unit, a chunk of ``size`` at a time.

    Args:
        texts, emb, units: The question's units (texts, L2-normalised vectors, keys), more than ``size``.
        question_id, seed, n_topics, max_topics, min_answers, label_ok: As for ``discover``.
        assign: ``(units, labels, sims) -> rows``: a chunk's assignment (a module-level function, or a partial of
            one: it is sent to the tasks).
        run: Runs a step's tasks (the engine's workers, or forked processes).
        size: Units a task (default :func:`chunk_units`).

    Returns:
        ``(DiscoveryResult, [assign's rows of each chunk])``, or ``None`` when the question is one a whole question's
        rules treat apart (fewer than ``min_answers`` answers, identical answers, one topic): discover it whole.
    """
    size = chunk_units() if size is None else size
    fit_max, block = discovery.FIT_MAX_UNITS, discovery._PREDICT_BLOCK
    n = len(texts)
    emb = np.asarray(emb, dtype=np.float32)
    if n < max(min_answers, 2) or len(set(texts)) == 1 or float(np.ptp(emb, axis=0).max(initial=0.0)) < 1e-6:
        return None
    if n_topics == "auto":
        k, rule = choose_n_topics(n, max_topics=max_topics, min_size=min_answers)
    else:
        k, rule = int(n_topics), f"fixed k={n_topics}"
    k = max(1, n_distinct_rows(list(texts), emb, at_most=k))
    if k == 1:
        return None
    n_comp = int(min(50, emb.shape[1], n - 1))
    # below the sample's size (chunks smaller than it: ANALYSIS_THEMES_CHUNK_UNITS), fitted on every unit
    fit = (np.sort(np.random.default_rng(seed).choice(n, size=fit_max, replace=False)) if n > fit_max
           else np.arange(n))
    pca = PCA(n_components=n_comp, svd_solver="full", random_state=seed).fit(emb[fit])
    km = _kmeans(k, seed).fit(np.nan_to_num(pca.transform(emb[fit])))
    parts = chunks(texts, emb, units, label_ok, size)
    counted = run(chunk_counts, parts, label="themes-chunk-counts", shared={"pca": pca, "km": km, "block": block})
    raws = [r for r, _ in counted]
    # the topics by decreasing size, ties to the one met first (discovery's _relabel_by_size)
    size_of: Counter = Counter()
    first: dict[int, int] = {}
    for _, per in counted:
        for c, (m, f, _, _) in per.items():
            size_of[c] += m
            first.setdefault(c, f)
    order = sorted(size_of, key=lambda c: (-size_of[c], first[c]))
    label_of = {c: r for r, c in enumerate(order)}
    mapping = np.full(max(size_of) + 1, -1, dtype=np.int64)
    for c, r in label_of.items():
        mapping[c] = r
    clusters = sorted(size_of)  # the c-TF-IDF's documents, in k-means' numbering
    docs = [joined_counts([per[c][3] for _, per in counted if c in per]) for c in clusters]
    try:
        words = _ctfidf_from_counts(*count_matrix(docs), clusters)
        keywords = {label_of[c]: w for c, w in words.items()}
    except ValueError as err:  # no word left in any answer
        logger.warning("BERTopic c-TF-IDF failed (%s); topics without c-TF-IDF keywords", err)
        keywords = {}
    sums = {c: sum(per[c][2] for _, per in counted if c in per) for c in clusters}
    centroids = np.vstack([_norm((sums[c] / size_of[c]).astype(np.float32)) for c in order])
    del counted, docs
    labels = [mapping[r] for r in raws]
    no_words = frozenset(j for j in range(len(order)) if not keywords.get(j))
    described = run(chunk_topics, list(zip(parts, labels, strict=True)), label="themes-chunk-topics",
                    shared={"centroids": centroids, "all_words": no_words, "assign": assign})
    topics = []
    for j, c in enumerate(order):
        got = [per[j] for per, _ in described if j in per]
        topic_id = f"t{j + 1:02d}"
        kws = keywords.get(j) or _merged_keywords([g["words"] for g in got])
        nearest = _nearest([g["head"] for g in got])
        label = phrase_label(nearest, kws)
        if label_ok is not None:  # a published label (words and phrase) comes only from consenting answers
            label = (phrase_label(_nearest([g["ok_head"] for g in got]), _merged_keywords([g["ok_words"] for g in got]))
                     if sum(g["n_ok"] for g in got) else f"Theme {topic_id}")
        topics.append(DiscoveredTopic(topic_id=topic_id, label=label, keywords=kws, representative=nearest[:3],
                                      size=int(size_of[c]), centroid=centroids[j]))
    logger.info("question %s: %d answers -> %d topics (%s), %d chunks of up to %d", question_id, n, len(topics), rule,
                len(parts), size)
    result = DiscoveryResult(question_id, topics, np.concatenate(labels).astype(int), "bertopic:pca+kmeans", rule)
    return result, [rows for _, rows in described]


def chunk_rows(units, labels: np.ndarray, sims: np.ndarray, *, min_score: float, relative_score: float,
               max_themes: int, topic_ids: list[str] | None = None) -> pd.DataFrame:
    """:func:`discovery_rows` of units whose cosines to the topics ``topic_ids`` (default ``t01``, ``t02``...) are
    ``sims``."""
    top = np.argsort(-sims, axis=1, kind="stable")[:, :max_themes]
    ids = topic_ids if topic_ids is not None else [f"t{j + 1:02d}" for j in range(sims.shape[1])]
    return discovery_rows(units, labels, sims, top, ids, min_score=min_score, relative_score=relative_score,
                          max_themes=max_themes)


def discovery_rows(units: np.ndarray, labels: np.ndarray, sims: np.ndarray, top: np.ndarray, topic_ids: list[str], *,
                   min_score: float, relative_score: float, max_themes: int) -> pd.DataFrame:
    """``unit, theme_id, score`` rows of :func:`analysis.themes.stage._assign_by_discovery` (and of each chunk's
    task), chosen for every unit at once.

    A unit of topic ``lab >= 0`` gets that topic (its cosine to the centre), then, in the order of ``top`` (each
    unit's closest centres, stable), every other topic whose cosine reaches ``min_score`` and ``relative_score``
    times its own topic's, while it has fewer than ``max_themes``. The loop this replaces made a dictionary per
    row: 150,000 units of one question at 200,000 responses with 90% campaign letters. The comparisons are the
    loop's: a Python float against a float32 is compared as a float32 (NumPy's weak scalars), and the relative
    score times a float32 is a float32; ``tests/test_themes_rows.py`` compares the rows with the loop's.
    """
    cols = ["unit", "theme_id", "score"]
    if not len(labels):
        return pd.DataFrame([], columns=cols)
    labels = labels.astype(np.intp, copy=False)
    mine = np.flatnonzero(labels >= 0)
    if not len(mine):
        return pd.DataFrame([], columns=cols)
    lab = labels[mine]
    own = sims[mine, lab]  # float32
    cand = top[mine]
    cs = np.take_along_axis(sims[mine], cand, axis=1)
    ok = (cand != lab[:, None]) & (cs >= np.maximum(np.float32(min_score), relative_score * own)[:, None])
    before = np.cumsum(ok, axis=1) - ok  # extra topics accepted before this one
    ok &= before < max_themes - 1
    themes = np.concatenate([lab[:, None], cand], axis=1)
    scores = np.concatenate([own[:, None], cs], axis=1)
    keep = np.concatenate([np.ones((len(mine), 1), dtype=bool), ok], axis=1)
    rows = np.repeat(mine, keep.sum(axis=1))
    ids = np.asarray(topic_ids, dtype=object)
    return pd.DataFrame({"unit": np.asarray(units, dtype=object)[rows], "theme_id": ids[themes[keep]],
                         "score": scores[keep].astype(np.float64)}, columns=cols)


def on_cluster(eng, fn, items: list, *, label: str, shared: dict) -> list:
    """A chunked question's step (:data:`~analysis.themes.chunked.Runner`) as tasks on the Dask cluster."""
    return eng.map(fn, items, label=label, shared=shared, large=True)


def forked(fn, items: list, *, label: str, shared: dict) -> list:  # noqa: ARG001 - the Runner's signature
    """A chunked question's step (:data:`~analysis.themes.chunked.Runner`) in forked processes (the local engine)."""
    return fitcache.map_forked(functools.partial(fn, **shared), items)
