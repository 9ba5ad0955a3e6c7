"""Campaign detection of more distinct texts than one task should hold: templates found on a sample, texts assigned
a chunk a task.

:func:`analysis.campaigns.near_duplicates.cluster` grows one campaign at a time over every distinct text at once (its
signatures, shingles and LSH buckets: about 3.5 KB a text, 3.3 GB for the 928,743 distinct whole submissions of a
million responses), so one run cannot be cut into independent pieces without changing what it finds. A run of more
than :data:`CHUNK_KEYS` distinct texts is detected in rounds instead, each step a task of at most that many texts:

1. **Sample** (a task, :func:`fit_sample`): a seeded sample of that many of the texts left, drawn with probability
   growing with each text's number of copies (a letter sent word for word by thousands is always drawn), clustered
   as a whole run is; each campaign found gives its template (the signature of the shingles at least half of its
   copies hold, and their number: what its members were last tested against).
2. **Assign** (a task a chunk of that many texts, :func:`assign`): every text left is tested against the templates
   in the order they were found, as the clustering tests a text against a growing campaign (it holds at least
   ``containment`` of the template, or has that Jaccard similarity with it), and joins the first that takes it.
3. **Decide** (this process): a template whose texts weigh at least ``min_size`` copies, with a copy-weighted mean
   share of template of at least ``template_coverage``, is a campaign; the texts of the others are left.

Rounds go on while more than :data:`CHUNK_KEYS` texts are left and a round found a campaign (at most
:data:`MAX_ROUNDS`); what is left, when no more than that, is clustered whole (a task, :func:`whole_labels`), which
finds the campaigns too small to show in a sample (a letter of a few dozen copies among the personal answers).
When more is left (more than :data:`CHUNK_KEYS` distinct texts outside every campaign found), they stay outside
campaigns and a warning says how many: a campaign with too few copies to be drawn in a sample of them is not found.

Both engines run the same steps (:class:`Runner`: in this process, or tasks on the Dask cluster), so their labels are
the same. The labels differ from a whole run's where a text would have joined another campaign in the whole run's
order of discovery, or where a campaign's template is derived from a sample's copies instead of all of them:
measured in ``docs/campaigns.md``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from analysis import engine, paths
from analysis.campaigns import chunked
from analysis.campaigns.agreement_scan import SignatureScan
from analysis.campaigns.near_duplicates import MinHasher, _similarity, cluster
from analysis.config import CampaignSettings
from analysis.memory import trim_heap

logger = logging.getLogger(__name__)

#: Distinct texts of one detection beyond which it runs in rounds of tasks of at most that many texts.
CHUNK_KEYS = 524_288
#: Overrides :data:`CHUNK_KEYS` (a positive whole number).
CHUNK_ENV = "ANALYSIS_CAMPAIGNS_CHUNK_KEYS"
#: Rounds of sample and assignment at most before what is left is clustered whole or left out.
MAX_ROUNDS = 8

#: ``run(fn, items, *, label, shared) -> [fn(item, **shared) for item in items]``, wherever it computes them.
Runner = Callable[..., list]
Template = tuple[np.ndarray, int]


def chunk_keys() -> int:
    """:data:`CHUNK_KEYS`, or ``ANALYSIS_CAMPAIGNS_CHUNK_KEYS`` when set.

    Raises:
        ConfigError: The variable is not a positive whole number.
    """
    return paths.env_count(CHUNK_ENV, CHUNK_KEYS, "distinct texts per campaigns task")


def in_process(fn: Callable[..., Any], items: list, *, label: str, shared: dict) -> list:  # noqa: ARG001
    """A :data:`Runner` computing every item here, in order."""
    return [fn(item, **shared) for item in items]


def cluster_distinct(keys: list[str], weight: np.ndarray, settings: CampaignSettings, seed: int, *,
                     consume: bool = False, templates: list[Template] | None = None) -> np.ndarray:
    """:func:`~analysis.campaigns.near_duplicates.cluster` of distinct normalised texts and their copy counts.

    Args:
        keys: Distinct normalised texts.
        weight: Copies of each.
        settings: Campaign settings.
        seed: Global seed.
        consume: Empty ``keys`` once the signatures are made (the clustering reads the shingles kept).
        templates: Filled with each campaign's template (``cluster``'s).

    Returns:
        A label per text (``-1``: in no campaign).
    """
    hasher = MinHasher(settings.num_perm, settings.shingle_size, seed)
    sig, n_sh, shingles = chunked.signatures(hasher, keys)  # hasher.signatures(keys, keep_shingles=True)
    if consume:
        keys.clear()
        trim_heap()
    return cluster(keys, sig, n_sh, weight, hasher, threshold=settings.near_threshold,
                   containment=settings.containment, min_size=settings.min_size, seed=seed,
                   min_template=max(1, settings.min_template_words - settings.shingle_size + 1),
                   min_coverage=settings.template_coverage, shingles=shingles, templates=templates)


def whole_labels(item: tuple[list[str], np.ndarray], *, settings: CampaignSettings, seed: int
                 ) -> tuple[np.ndarray, list[Template]]:
    """Task: :func:`cluster_distinct` of ``(distinct keys, their copies)``, and the campaigns' templates."""
    keys, weight = item
    templates: list[Template] = []
    return cluster_distinct(list(keys), weight, settings, seed, consume=True, templates=templates), templates


def fit_sample(item: tuple[list[str], np.ndarray], *, settings: CampaignSettings, seed: int) -> list[Template]:
    """Task: the templates of the campaigns found in a sample ``(distinct keys, their copies)``, in order found."""
    keys, weight = item
    templates: list[Template] = []
    cluster_distinct(list(keys), weight, settings, seed, consume=True, templates=templates)
    return templates


def assign(keys: list[str], *, templates: list[Template], settings: CampaignSettings, seed: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """Task: the first template each text joins (``-1``: none) and the share of the text that is that template.

    A text joins a template when it holds at least ``containment`` of the template's shingles or has at least that
    Jaccard similarity with it, both estimated from the agreements of their signatures, as
    :func:`~analysis.campaigns.near_duplicates.cluster` tests the texts of its pool.
    """
    hasher = MinHasher(settings.num_perm, settings.shingle_size, seed)
    sig, n_sh, _shingles = chunked.signatures(hasher, keys)
    del _shingles
    which = np.full(len(keys), -1, dtype=np.int64)
    share = np.zeros(len(keys))
    scan = SignatureScan(sig)
    for t, (tsig, tn) in enumerate(templates):
        cand, counts = scan.agreements(tsig)
        free = which[cand] < 0
        cand, counts = cand[free], counts[free]
        jac, t_in_m, m_in_t = _similarity(counts, sig.shape[1], n_sh[cand], tn)
        take = (t_in_m >= settings.containment) | (jac >= settings.containment)
        which[cand[take]] = t
        share[cand[take]] = m_in_t[take]
    return which, share


def weighted_sample(weight: np.ndarray, size: int, seed: int, round_: int) -> np.ndarray:
    """``size`` positions of ``weight`` drawn without replacement with probability growing with the weight
    (Efraimidis and Spirakis: the largest ``log(u) / w``), seeded by ``(seed, round_)``; ascending."""
    if size >= len(weight):
        return np.arange(len(weight))
    score = np.log(np.random.default_rng([seed, round_]).random(len(weight))) / weight
    return np.sort(np.argsort(-score, kind="stable")[:size])


def _same_letters(templates: list[Template], found: list[Template], next_label: int, settings: CampaignSettings
                  ) -> np.ndarray:
    """The label of each campaign of what was left (its template in ``templates``): a campaign of the rounds
    (``found``, labels from 0) when its template holds that campaign's template as a text must to join it (the last
    copies of a round's letter that its sample's template missed), else a new label from ``next_label`` on."""
    number = np.empty(len(templates), dtype=np.int64)
    refs = np.array([tsig for tsig, _ in found], dtype=np.uint32).reshape(len(found), settings.num_perm)
    ref_n = np.array([tn for _, tn in found], dtype=np.int64)
    for j, (tsig, tn) in enumerate(templates):
        jac, _this_in_round, round_in_this = _similarity((refs == tsig).sum(axis=1), settings.num_perm, ref_n, tn)
        same = np.flatnonzero((round_in_this >= settings.containment) | (jac >= settings.containment))
        if len(same):
            number[j] = same[0]
        else:
            number[j] = next_label
            next_label += 1
    return number


def _failover(run: Runner) -> Runner:
    """``run``, switching to :func:`in_process` for good once the cluster fails."""
    state = {"run": run}

    def safe(fn: Callable[..., Any], items: list, *, label: str, shared: dict) -> list:
        try:
            return state["run"](fn, items, label=label, shared=shared)
        except engine.EngineError as err:
            logger.warning("campaigns: %s; detecting here", err)
            state["run"] = in_process
            return in_process(fn, items, label=label, shared=shared)

    return safe


def distinct_labels(keys: list[str], weight: np.ndarray, settings: CampaignSettings, seed: int, run: Runner,
                    size: int | None = None) -> np.ndarray:
    """Campaign labels of distinct normalised texts (``weight``: copies of each), every step computed by ``run``.

    At most ``size`` (default :func:`chunk_keys`) texts: one task, :func:`whole_labels`. More: the rounds of the
    module docstring.

    Returns:
        A label per text (``-1``: in no campaign), the rounds' campaigns numbered first in order found, then those of
        what was left.
    """
    size = chunk_keys() if size is None else size
    run = _failover(run)
    shared = dict(settings=settings, seed=seed)
    labels = np.full(len(keys), -1, dtype=np.int64)
    todo = np.arange(len(keys))
    next_label = 0
    found: list[Template] = []  # the rounds' campaigns' templates, in label order
    for round_ in range(MAX_ROUNDS):
        if len(todo) <= size:
            break
        t0 = time.perf_counter()
        pick = todo[weighted_sample(weight[todo].astype(float), size, seed, round_)]
        templates = run(fit_sample, [([keys[i] for i in pick], weight[pick])], label="campaigns-sample",
                        shared=shared)[0]
        t1 = time.perf_counter()
        if not templates:
            break
        chunks = [todo[lo:lo + size] for lo in range(0, len(todo), size)]
        got = run(assign, [[keys[i] for i in c] for c in chunks], label="campaigns-assign",
                  shared=dict(shared, templates=templates))
        which = np.concatenate([w for w, _ in got])
        share = np.concatenate([s for _, s in got])
        taken = which >= 0
        w = weight[todo].astype(float)
        total = np.bincount(which[taken], weights=w[taken], minlength=len(templates))
        covered = np.bincount(which[taken], weights=(share * w)[taken], minlength=len(templates))
        kept = (total >= settings.min_size) & (covered >= settings.template_coverage * np.maximum(total, 1e-300))
        number = np.where(kept, next_label + np.cumsum(kept) - 1, -1)
        got_label = np.where(taken, number[np.maximum(which, 0)], -1)
        hit = got_label >= 0
        logger.info("campaigns: round %d: %d of %d distinct texts sampled, %d templates (%.1fs), %d kept, %d texts "
                    "in them (%.1fs)", round_, len(pick), len(todo), len(templates), t1 - t0, int(kept.sum()),
                    int(hit.sum()), time.perf_counter() - t1)
        if not hit.any():
            break
        labels[todo[hit]] = got_label[hit]
        found += [templates[t] for t in np.flatnonzero(kept)]
        next_label += int(kept.sum())
        todo = todo[~hit]
    if len(todo) <= size:
        rest, rest_templates = run(whole_labels, [([keys[i] for i in todo], weight[todo])],
                                   label="campaigns-whole", shared=shared)[0]
        number = _same_letters(rest_templates, found, next_label, settings)
        labels[todo[rest >= 0]] = number[rest[rest >= 0]]
    else:
        logger.warning("campaigns: %d distinct texts outside the campaigns found in samples are more than %d; they "
                       "are left outside campaigns (a campaign too small to be drawn in a sample is not found)",
                       len(todo), size)
    return labels
