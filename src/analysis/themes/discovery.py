"""Deterministic theme discovery per open question with BERTopic on precomputed embeddings.

BERTopic is configured so a ministry can publish its output:

* embeddings are always passed in (never fetched from a model hub); when seed phrases guide the
  model, our own backend is wrapped as a BERTopic embedder;
* dimension reduction is PCA (seeded, exact solver) and clustering is k-means (seeded, fixed
  ``n_init``): every answer belongs to a topic (no -1 outlier topic), runs are identical and fast
  (seconds at 50k answers, where UMAP alone needs minutes to compile and run);
* the number of topics is chosen by a documented, seeded rule (:func:`choose_n_topics`);
* topic labels are short phrases (up to six words) taken from the answers nearest the topic centre,
  the phrase covering most of the topic's c-TF-IDF keywords (:func:`phrase_label`; never a word that
  looks like a person's name); the keywords and the three nearest answers (redacted text) are kept too.

Degenerate inputs never crash: no answers -> no topics; fewer than ``min_answers`` answers -> all
``other``; all answers identical -> one topic.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from sklearn.preprocessing import normalize

from analysis.redaction.names import is_person_name
from analysis.themes.pieces import JoinedCountVectorizer, keyword_totals
from analysis.themes.rows import n_distinct_rows

logger = logging.getLogger(__name__)


@dataclass
class DiscoveredTopic:
    """One discovered topic.

    Attributes:
        topic_id: ``t01``, ``t02`` ... (by decreasing size).
        label: A short phrase from the answers nearest the centre (:func:`phrase_label`).
        keywords: c-TF-IDF keywords, best first.
        representative: Up to 3 answers nearest the centre.
        size: Answers in the topic.
        centroid: Normalised mean embedding.
    """

    topic_id: str
    label: str
    keywords: list[str]
    representative: list[str]
    size: int
    centroid: np.ndarray = field(repr=False)


@dataclass
class DiscoveryResult:
    """Topics of one question and the topic of each answer (-1: ``other``)."""

    question_id: str
    topics: list[DiscoveredTopic]
    labels: np.ndarray
    method: str
    k_rule: str


def _kmeans(n_clusters: int, seed: int) -> KMeans:
    return KMeans(n_clusters=n_clusters, n_init=10, random_state=seed, algorithm="lloyd")


def choose_n_topics(n: int, max_topics: int = 30, min_size: int = 5) -> tuple[int, str]:
    """Number of topics for ``n`` answers: ``round(sqrt(n / 2))`` within ``[2, max_topics]``.

    Also at most ``n // min_size`` so a topic holds ``min_size`` answers on average. A silhouette
    search was measured and rejected: on short answers (ArgKP dev) the cosine silhouette is flat
    (0.012-0.031 for every k from 2 to 30) and the k it picks jumps between 2 and 30.

    Returns:
        ``(k, description of the rule)``.
    """
    k = int(round(np.sqrt(n / 2)))
    k = max(2, min(k, max_topics, max(2, n // max(min_size, 1))))
    return k, f"k=round(sqrt(n/2)) clamped to [2, {max_topics}] and n//{min_size}: n={n} -> k={k}"


def _keywords(texts: Sequence[str], top: int = 10) -> list[str]:
    """The ``top`` most frequent words and bigrams (English stop words dropped, else kept), ties alphabetical.

    The column totals of a ``CountVectorizer(stop_words=..., ngram_range=(1, 2))`` fitted on ``texts``, counted
    once per distinct sentence (:func:`analysis.themes.pieces.keyword_totals`).
    """
    for stop in (ENGLISH_STOP_WORDS, None):
        totals = keyword_totals(texts, stop)
        if totals:
            return [term for term, _ in sorted(totals.items(), key=lambda x: (-x[1], x[0]))[:top]]
    return []


_CLAUSE = re.compile(r"[.!?;:,()\n\"“”]+|\s[-–—]\s")
_TOKEN = re.compile(r"[^\W_][\w'’-]*")
#: Longest label, in words.
LABEL_WORDS = 6


def phrase_label(answers: Sequence[str], keywords: list[str], max_words: int = LABEL_WORDS) -> str:
    """A short readable label: the phrase of a representative answer that best covers the topic's keywords.

    Candidates are runs of 2 to ``max_words`` words inside one clause of an answer (never across
    punctuation), neither starting nor ending with a stop word, and without any word that looks like a
    person's name (:func:`analysis.redaction.names.is_person_name`). A candidate scores the c-TF-IDF
    weight of the keywords it contains (keyword ``r`` weighs ``1 / (r + 1)``) less 0.1 per word; ties go
    to the answer nearer the topic centre, then to the earlier phrase. Without any candidate, the first
    keywords are joined.
    """
    weight: dict[str, float] = {}
    for r, kw in enumerate(keywords[:10]):
        for w in kw.lower().split():
            weight[w] = max(weight.get(w, 0.0), 1.0 / (r + 1))
    best, best_key = None, None
    for a, text in enumerate(answers):
        for clause in _CLAUSE.split(str(text)):
            words = _TOKEN.findall(clause)
            for i in range(len(words)):
                if words[i].lower() in ENGLISH_STOP_WORDS:
                    continue
                for j in range(i + 2, min(i + max_words, len(words)) + 1):
                    span = words[i:j]
                    if span[-1].lower() in ENGLISH_STOP_WORDS or any(_looks_like_name(w) for w in span):
                        continue
                    gain = sum(weight.get(w, 0.0) for w in {x.lower() for x in span}) - 0.1 * len(span)
                    key = (-round(gain, 6), a, i, j)
                    if gain > 0 and (best_key is None or key < best_key):
                        best, best_key = span, key
    if best is None:
        return ", ".join(k for k in keywords[:3] if not any(_looks_like_name(w) for w in k.split())) or "(no label)"
    text = " ".join(best)
    return text[0].upper() + text[1:]


@lru_cache(maxsize=65536)
def _looks_like_name(token: str) -> bool:
    """Whether a label token looks like a person's name (capitalised and in the name lists)."""
    return token[:1].isupper() and is_person_name(token)


def _representatives(texts: Sequence[str], emb: np.ndarray, centroid: np.ndarray, n: int = 3) -> list[str]:
    """The first ``n`` distinct texts in the order of ``(-round(float(sim), 6), index)``, ``sim = emb @ centroid``.

    Only the head of that order is sorted (:func:`_ranked_head`), not every member of the topic.
    """
    sims = emb @ centroid
    out: list[str] = []
    for i in _ranked_head(np.asarray(sims), lambda got: len(set(texts[j] for j in got)) >= n):
        if texts[i] not in out:
            out.append(texts[i])
        if len(out) == n:
            break
    return out


#: Members ranked first by :func:`_ranked_head` (doubled until enough).
HEAD = 64


def _ranked_head(sims: np.ndarray, enough) -> list[int]:
    """A head of ``sorted(range(len(sims)), key=lambda i: (-round(float(sims[i]), 6), i))``, ending where ``enough``
    (called on the head) first holds, or the whole order.

    ``round`` never puts a lower similarity above a higher one, so the members ordered by decreasing similarity
    (NumPy's sort) hold, in their first ``m``, every member whose rounded similarity is above the ``m``-th one's;
    the head is extended over the members rounding to that same value, then sorted by the exact key. A topic's
    members were all sorted by that key (a Python tuple each: 150,000 per question at 200,000 responses with 90%
    campaign letters) to read the first few.
    """
    def key(i: int) -> tuple[float, int]:
        return (-round(float(sims[i]), 6), i)

    if len(sims) <= HEAD or np.isnan(sims).any():
        return sorted(range(len(sims)), key=key)
    desc = np.argsort(-sims.astype(np.float64), kind="stable")
    m = HEAD
    while True:
        if m >= len(desc):
            return sorted(range(len(sims)), key=key)
        last = round(float(sims[desc[m - 1]]), 6)
        end = m
        while end < len(desc) and round(float(sims[desc[end]]), 6) == last:
            end += 1
        head = sorted(desc[:end].tolist(), key=key)
        if enough(head):
            return head
        m = end * 2


def _norm(v: np.ndarray) -> np.ndarray:
    d = np.linalg.norm(v)
    return (v / d).astype(np.float32) if d > 0 else v.astype(np.float32)


def _make_topics(texts: list[str], emb: np.ndarray, labels: np.ndarray, keywords: dict[int, list[str]],
                 label_ok: Sequence[bool] | None = None) -> list[DiscoveredTopic]:
    """One :class:`DiscoveredTopic` per cluster; labels are phrases of ``label_ok`` answers only."""
    topics = []
    for j in range(int(labels.max()) + 1 if len(labels) else 0):
        members = np.flatnonzero(labels == j)
        if len(members) == 0:
            continue
        sub = [texts[i] for i in members]
        centroid = _norm(emb[members].mean(axis=0))
        kws = keywords.get(j) or _keywords(sub)
        nearest = _representatives(sub, emb[members], centroid, n=10)
        topic_id = f"t{j + 1:02d}"
        label = phrase_label(nearest, kws)
        if label_ok is not None:  # a published label (words and phrase) comes only from consenting answers
            ok = [i for i in members if label_ok[i]]
            ok_texts = [texts[i] for i in ok]
            label = (phrase_label(_representatives(ok_texts, emb[ok], centroid, n=10), _keywords(ok_texts))
                     if ok else f"Theme {topic_id}")
        topics.append(DiscoveredTopic(topic_id=topic_id, label=label, keywords=kws,
                                      representative=nearest[:3], size=len(members), centroid=centroid))
    return topics


def discover(
    texts: Sequence[str],
    embeddings: np.ndarray,
    *,
    question_id: str = "",
    seed: int = 0,
    n_topics: int | str = "auto",
    max_topics: int = 30,
    min_answers: int = 5,
    seed_topics: list[list[str]] | None = None,
    backend=None,
    label_ok: Sequence[bool] | None = None,
) -> DiscoveryResult:
    """Discover topics in the answers of one question.

    Args:
        texts: Redacted answers.
        embeddings: Their L2-normalised embeddings (one row per text).
        question_id: Written into the result.
        seed: Seeds PCA, k-means and the k search.
        n_topics: A number, or ``"auto"`` (:func:`choose_n_topics`).
        max_topics: Upper bound of the auto rule.
        min_answers: Fewer answers than this are not clustered (all ``other``).
        seed_topics: Guided topic modelling: lists of seed phrases (needs ``backend``).
        backend: Embedding backend used to embed ``seed_topics``.
        label_ok: Per text, whether it may be quoted in a published label (its respondent consented);
            ``None``: every text may.

    Returns:
        The topics (ids ``t01``... by decreasing size) and the topic index of each answer.
    """
    texts = [str(t) for t in texts]
    n = len(texts)
    if n == 0:
        return DiscoveryResult(question_id, [], np.zeros(0, dtype=int), "empty", "no answers")
    if n < min_answers:
        logger.info("question %s: %d answers (< min_answers=%d): not clustered, all 'other'", question_id, n,
                    min_answers)
        return DiscoveryResult(question_id, [], np.full(n, -1), "too_few", f"n={n} < min_answers={min_answers}")
    emb = np.asarray(embeddings, dtype=np.float32)
    if len(set(texts)) == 1 or float(np.ptp(emb, axis=0).max(initial=0.0)) < 1e-6:
        labels = np.zeros(n, dtype=int)
        return DiscoveryResult(question_id, _make_topics(texts, emb, labels, {}, label_ok), labels, "identical",
                               "all answers identical -> one topic")
    if n_topics == "auto":
        k, rule = choose_n_topics(n, max_topics=max_topics, min_size=min_answers)
    else:
        k, rule = int(n_topics), f"fixed k={n_topics}"
    # min(k, len(np.unique(emb.round(5), axis=0))): the distinct rows are counted only as far as k
    k = max(1, n_distinct_rows(texts, emb, at_most=k))
    labels, keywords = _bertopic(texts, emb, k, seed, seed_topics, backend)
    topics = _make_topics(texts, emb, labels, keywords, label_ok)
    logger.info("question %s: %d answers -> %d topics (%s)", question_id, n, len(topics), rule)
    return DiscoveryResult(question_id, topics, labels, "bertopic:pca+kmeans", rule)


def _bertopic(texts: list[str], emb: np.ndarray, k: int, seed: int, seed_topics, backend):
    """BERTopic's pipeline (PCA + k-means + c-TF-IDF); returns labels 0..k-1 by size and keywords per label.

    Unguided (the themes stage), the steps BERTopic 0.17 runs for this configuration are reproduced here
    (:func:`_pca_kmeans`, :func:`_ctfidf_keywords`) without importing ``bertopic``, whose import pulls
    sentence-transformers, torch and UMAP (tens of seconds from a cold cache); the output is identical
    (``tests/test_theme_labels.py`` compares them when bertopic is installed). Guided by seed phrases, the
    BERTopic object itself is used.
    """
    if k == 1:
        return np.zeros(len(texts), dtype=int), {0: _keywords(texts)}
    n_comp = int(min(50, emb.shape[1], len(texts) - 1))
    if bool(seed_topics) and backend is not None:
        return _bertopic_guided(texts, emb, k, seed, seed_topics, backend, n_comp)
    raw = _pca_kmeans(emb, n_comp, k, seed)  # PCA centres a copy (copy=True): emb is never written
    try:
        words = _ctfidf_keywords(texts, raw)
    except ValueError as err:  # e.g. empty vocabulary after stop words: cluster without c-TF-IDF
        logger.warning("BERTopic c-TF-IDF failed (%s); clustering with k-means only", err)
        return _relabel_by_size(_kmeans(k, seed).fit_predict(emb)), {}
    labels = _relabel_by_size(raw)
    keywords = {int(labels[np.flatnonzero(raw == t)[0]]): w for t, w in words.items()}
    return labels, keywords


#: Units of one question beyond which PCA and k-means are fitted on a seeded sample of this many, every unit then
#: taking its nearest centre (:func:`_pca_kmeans`).
FIT_MAX_UNITS = 50_000
#: Units projected and assigned at a time, past :data:`FIT_MAX_UNITS`.
_PREDICT_BLOCK = 65_536


def _pca_kmeans(emb: np.ndarray, n_comp: int, k: int, seed: int, fit_max: int | None = None) -> np.ndarray:
    """BERTopic's reduction and clustering steps with PCA as ``umap_model`` and k-means as ``hdbscan_model``.

    Up to ``fit_max`` units (default :data:`FIT_MAX_UNITS`) both are fitted on every unit, as BERTopic does.
    Beyond it they are fitted on a seeded uniform sample of ``fit_max`` units and every unit takes the nearest
    of the sample's centres in the sample's PCA space: the cost of the fit no longer grows with the question
    (at a million responses with 90% campaign letters, the letters question had ~750,000 units, and fitting
    every one was most of the stage). Methodology: ``docs/themes.md``.
    """
    fit_max = FIT_MAX_UNITS if fit_max is None else fit_max
    if len(emb) <= fit_max:
        reduced = np.nan_to_num(PCA(n_components=n_comp, svd_solver="full", random_state=seed).fit_transform(emb))
        return np.asarray(_kmeans(k, seed).fit(reduced).labels_)
    fit = np.sort(np.random.default_rng(seed).choice(len(emb), size=fit_max, replace=False))
    pca = PCA(n_components=n_comp, svd_solver="full", random_state=seed).fit(emb[fit])
    km = _kmeans(k, seed).fit(np.nan_to_num(pca.transform(emb[fit])))
    labels = np.empty(len(emb), dtype=np.int64)
    for lo in range(0, len(emb), _PREDICT_BLOCK):
        labels[lo:lo + _PREDICT_BLOCK] = km.predict(np.nan_to_num(pca.transform(emb[lo:lo + _PREDICT_BLOCK])))
    return labels


def _ctfidf_keywords(texts: list[str], raw: np.ndarray, top_n_words: int = 10) -> dict[int, list[str]]:
    """Cluster -> its top c-TF-IDF words, as BERTopic 0.17 computes them (``reduce_frequent_words=True``).

    The answers of a cluster are joined into one document, cleaned as BERTopic does for English (tabs and
    newlines to spaces, only ``[A-Za-z0-9 ]`` kept), counted (unigrams and bigrams, English stop words
    dropped; once per distinct sentence, :class:`analysis.themes.pieces.JoinedCountVectorizer`); each row is
    L1-normalised, square-rooted and weighted by ``log(avg words per cluster / df + 1)``.
    The top words are picked with BERTopic's own partition and sort (so ties break the same way).

    Raises:
        ValueError: No word left (the vectoriser's empty-vocabulary error).
    """
    clusters = sorted(set(raw.tolist()))
    joined = {t: [] for t in clusters}
    for text, t in zip(texts, raw.tolist(), strict=True):
        joined[t].append(text)
    # the counts of CountVectorizer(stop_words="english", ngram_range=(1, 2)) on the cleaned joined documents
    cv = JoinedCountVectorizer()
    x = cv.fit_transform([joined[t] for t in clusters])
    return _ctfidf_from_counts(x, cv.get_feature_names_out(), clusters, top_n_words)


def _ctfidf_from_counts(x, words: np.ndarray, clusters: list[int], top_n_words: int = 10) -> dict[int, list[str]]:
    """:func:`_ctfidf_keywords` from the clusters' documents' counts ``x`` (rows in ``clusters`` order) and the
    vectoriser's feature names ``words``."""
    df = np.squeeze(np.asarray(x.sum(axis=0)))
    idf = np.log((int(x.sum(axis=1).mean()) / df) + 1)
    ctfidf = normalize(x, axis=1, norm="l1", copy=False)
    ctfidf.data = np.sqrt(ctfidf.data)
    ctfidf = ctfidf * sp.diags(idf, offsets=0, shape=(len(idf), len(idf)), format="csr", dtype=np.float64)
    indices = _top_n_idx_sparse(ctfidf, max(top_n_words, 30))
    scores = np.array([np.array([ctfidf[r, v] if v is not None else 0 for v in row]) for r, row in enumerate(indices)])
    order = np.argsort(scores, 1)
    indices = np.take_along_axis(indices, order, axis=1)
    scores = np.take_along_axis(scores, order, axis=1)
    out = {}
    for r, t in enumerate(clusters):
        best = [str(words[i]) if i is not None and s > 0 else "" for i, s in zip(indices[r][::-1], scores[r][::-1], strict=True)]
        out[int(t)] = [w for w in best[:top_n_words] if w]
    return out


def _top_n_idx_sparse(matrix: sp.csr_matrix, n: int) -> np.ndarray:
    """Indices of the top ``n`` values of each row (``None`` pads short rows): BERTopic's own selection."""
    indices = []
    for le, ri in zip(matrix.indptr[:-1], matrix.indptr[1:], strict=True):
        n_row_pick = min(n, ri - le)
        values = matrix.indices[le + np.argpartition(matrix.data[le:ri], -n_row_pick)[-n_row_pick:]]
        indices.append([values[i] if len(values) >= i + 1 else None for i in range(n)])
    return np.array(indices)


def _bertopic_guided(texts: list[str], emb: np.ndarray, k: int, seed: int, seed_topics, backend, n_comp: int):
    """Guided topic modelling: BERTopic itself, with our backend as its embedder for the seed phrases."""
    from bertopic import BERTopic
    from bertopic.backend import BaseEmbedder
    from bertopic.vectorizers import ClassTfidfTransformer

    class _Embedder(BaseEmbedder):
        def embed(self, documents, verbose=False):  # noqa: ARG002 - BERTopic signature
            return backend.encode(list(documents))

    model = BERTopic(
        embedding_model=_Embedder(),
        umap_model=PCA(n_components=n_comp, svd_solver="full", random_state=seed),
        hdbscan_model=_kmeans(k, seed),
        vectorizer_model=CountVectorizer(stop_words="english", ngram_range=(1, 2), min_df=1),
        ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
        seed_topic_list=seed_topics,
        calculate_probabilities=False,
        top_n_words=10,
        verbose=False,
    )
    try:
        topics, _ = model.fit_transform(texts, embeddings=emb.copy())
    except ValueError as err:  # e.g. empty vocabulary after stop words: cluster without c-TF-IDF
        logger.warning("BERTopic c-TF-IDF failed (%s); clustering with k-means only", err)
        return _relabel_by_size(_kmeans(k, seed).fit_predict(emb)), {}
    raw = np.asarray(topics)
    labels = _relabel_by_size(raw)
    keywords = {}
    for t in sorted(set(raw.tolist())):
        words = [w for w, _ in (model.get_topic(t) or []) if w]
        keywords[int(labels[np.flatnonzero(raw == t)[0]])] = words
    return labels, keywords


def _relabel_by_size(raw: np.ndarray) -> np.ndarray:
    """Relabel clusters 0..k-1 by decreasing size (ties: first occurrence)."""
    uniq, first, counts = np.unique(raw, return_index=True, return_counts=True)
    order = sorted(range(len(uniq)), key=lambda i: (-counts[i], first[i]))
    mapping = {int(uniq[i]): r for r, i in enumerate(order)}
    return np.array([mapping[int(v)] for v in raw], dtype=int)
