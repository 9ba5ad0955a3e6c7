"""Campaign detection in rounds of bounded tasks (:mod:`analysis.campaigns.sampled`, issue #17).

A run of more distinct texts than ``ANALYSIS_CAMPAIGNS_CHUNK_KEYS`` is detected from a sample's templates, every text
assigned a chunk at a time, what is left clustered whole. Checked on campaign letters built from real ArgKP arguments
(``tests/fixtures/campaigns``, see its README) and on the generated consultation whose letter senders are known.
"""

from __future__ import annotations

import pickle
import random

import numpy as np
import pandas as pd
import pytest
from generated_consultation import OPEN_QUESTIONS, generate
from test_campaigns import FIX, _copy, _s
from test_campaigns_generated import _pairwise

from analysis import engine
from analysis.campaigns import sampled
from analysis.campaigns.near_duplicates import MinHasher, cluster
from analysis.campaigns.stage import detect_submissions, find_campaigns, normalise_all
from analysis.config import CampaignSettings
from analysis.errors import ConfigError

SEED = 20211
SETTINGS = CampaignSettings()


def _letters(sizes: list[int], seed: int = SEED) -> tuple[list[str], list[int]]:
    """Campaign copies of six real arguments each (``sizes`` copies), then every other real argument and Pol.is
    comment once (truth ``-1``), shuffled."""
    rng = random.Random(seed)
    pool = [_s(a) for a in pd.read_csv(FIX / "argkp_arguments.csv")["argument"]]
    rng.shuffle(pool)
    templates = [pool[i * 6:(i + 1) * 6] for i in range(len(sizes))]
    rest = pool[len(sizes) * 6:]
    personal = rest[:len(rest) // 2]
    indep = rest[len(rest) // 2:] + pd.read_csv(FIX / "polis_nz_comments.csv")["comment-body"].astype(str).tolist()
    texts, truth = [], []
    for c, n in enumerate(sizes):
        for _ in range(n):
            texts.append(_copy(templates[c], personal, rng)[0])
            truth.append(c)
    texts += indep
    truth += [-1] * len(indep)
    order = rng.sample(range(len(texts)), len(texts))
    return [texts[i] for i in order], [truth[i] for i in order]


@pytest.fixture(scope="module")
def letters() -> tuple[list[str], list[int]]:
    """Three letters (400, 120 and 12 copies) among single real arguments and comments."""
    return _letters([400, 120, 12])


def _labels(texts: list[str], size: int | None, monkeypatch: pytest.MonkeyPatch, run=None) -> np.ndarray:
    if size is None:
        monkeypatch.delenv(sampled.CHUNK_ENV, raising=False)
    else:
        monkeypatch.setenv(sampled.CHUNK_ENV, str(size))
    return find_campaigns(texts, SETTINGS, SEED, run=run)


def _as_truth(labels: np.ndarray) -> list[object]:
    return [f"c{x}" if x >= 0 else None for x in labels]


def test_each_campaign_found_gives_the_template_its_members_hold(letters):
    keys = sorted(set(normalise_all(letters[0])))
    weight = np.ones(len(keys), dtype=np.int64)
    templates: list = []
    labels = sampled.cluster_distinct(list(keys), weight, SETTINGS, SEED, templates=templates)
    assert len(templates) == labels.max() + 1 == 3
    assert all(tn >= SETTINGS.min_template_words - SETTINGS.shingle_size + 1 for _, tn in templates)
    which, share = sampled.assign(keys, templates=templates, settings=SETTINGS, seed=SEED)
    for c in range(3):
        members = labels == c
        assert (which[members] == c).mean() >= 0.97
        assert share[members].mean() >= SETTINGS.template_coverage
    # the same clustering without the list: the same labels (recording templates changes nothing)
    hasher = MinHasher(SETTINGS.num_perm, SETTINGS.shingle_size, SEED)
    sig, n_sh, sh = hasher.signatures(keys, keep_shingles=True)
    plain = cluster(keys, sig, n_sh, weight, hasher, threshold=SETTINGS.near_threshold,
                    containment=SETTINGS.containment, min_size=SETTINGS.min_size, seed=SEED,
                    min_template=SETTINGS.min_template_words - SETTINGS.shingle_size + 1,
                    min_coverage=SETTINGS.template_coverage, shingles=sh)
    assert np.array_equal(plain, labels)


@pytest.mark.parametrize("size", [300, 700])
def test_rounds_find_the_letters_a_whole_run_finds(letters, size, monkeypatch):
    texts, truth = letters
    whole = _labels(texts, None, monkeypatch)
    got = _labels(texts, size, monkeypatch)
    truth_s = [f"t{t}" if t >= 0 else "" for t in truth]
    pw, rw = _pairwise(truth_s, _as_truth(whole))
    ps, rs = _pairwise(truth_s, _as_truth(got))
    assert pw >= 0.999 and rw >= 0.95  # the whole run, as a reference
    assert ps >= 0.999 and rs >= rw - 0.01
    # the 12-copy letter too: at 300 in the whole clustering of what is left, at 700 drawn in the round's sample
    small = np.array(truth) == 2
    assert (got[small] >= 0).mean() >= 0.9 and len(set(got[small].tolist())) == 1
    assert (got[np.array(truth) == -1] < 0).all()  # no single argument is put in a campaign


def test_what_is_left_beyond_a_task_stays_outside_campaigns_with_a_warning(monkeypatch, caplog):
    texts, truth = _letters([300])  # 206 distinct texts left once the letter is found: more than 150
    got = _labels(texts, 150, monkeypatch)
    assert "left outside campaigns" in caplog.text
    assert ((got >= 0) == (np.array(truth) >= 0)).mean() >= 0.99


def test_the_generated_consultations_letter_senders_are_found_in_rounds(monkeypatch):
    c = generate(5000, SEED)
    rids = list(c.respondent_campaign)
    truth = [c.respondent_campaign[r] for r in rids]
    got = {}
    for size in (None, 1000, 4000):  # 4,769 distinct submissions: 1 round, then left out (1000) or clustered (4000)
        if size is None:
            monkeypatch.delenv(sampled.CHUNK_ENV, raising=False)
        else:
            monkeypatch.setenv(sampled.CHUNK_ENV, str(size))
        subs = detect_submissions(c.answers, OPEN_QUESTIONS, SETTINGS, SEED).set_index("response_id")["campaign_id"]
        got[size] = [subs.get(r) for r in rids]
        precision, recall = _pairwise(truth, got[size])
        assert precision >= 0.999 and recall >= 0.98, (size, precision, recall)
    for size in (1000, 4000):
        assert [x is None for x in got[size]] == [x is None for x in got[None]]


def _pickled(fn, items, *, label, shared):
    """A runner sending everything through pickle, as a cluster does."""
    assert label.startswith("campaigns-")
    fn2, items2, shared2 = pickle.loads(pickle.dumps((fn, items, shared)))
    return pickle.loads(pickle.dumps([fn2(x, **shared2) for x in items2]))


def _failing(fn, items, *, label, shared):  # noqa: ARG001
    raise engine.EngineError(f"{label}: the cluster is gone")


def test_the_runner_changes_nothing_and_a_failed_cluster_is_done_here(letters, monkeypatch, caplog):
    texts = letters[0]
    here = _labels(texts, 300, monkeypatch)
    assert np.array_equal(_labels(texts, 300, monkeypatch, run=_pickled), here)
    assert np.array_equal(_labels(texts, 300, monkeypatch, run=_failing), here)
    assert "the cluster is gone; detecting here" in caplog.text
    # below the size, a runner gets one whole task: the whole run's labels
    whole = _labels(texts, None, monkeypatch)
    assert np.array_equal(_labels(texts, None, monkeypatch, run=_pickled), whole)


def test_the_sample_favours_the_texts_sent_most_and_is_seeded():
    weight = np.ones(10_000)
    weight[[17, 4242]] = 1e6
    a = sampled.weighted_sample(weight, 100, SEED, 0)
    assert len(a) == 100 and np.all(np.diff(a) > 0) and {17, 4242} <= set(a.tolist())
    assert np.array_equal(a, sampled.weighted_sample(weight, 100, SEED, 0))
    assert not np.array_equal(a, sampled.weighted_sample(weight, 100, SEED, 1))
    assert np.array_equal(sampled.weighted_sample(weight, 20_000, SEED, 0), np.arange(10_000))


@pytest.mark.parametrize("value", ["0", "-3", "many", "1.5"])
def test_a_bad_size_setting_is_a_clear_error(value, monkeypatch):
    monkeypatch.setenv(sampled.CHUNK_ENV, value)
    with pytest.raises(ConfigError, match=sampled.CHUNK_ENV):
        sampled.chunk_keys()


def _template(keys: list[str]) -> sampled.Template:
    """The one campaign's template of ``keys`` (copies of one letter)."""
    distinct = sorted(set(keys))
    templates: list = []
    sampled.cluster_distinct(distinct, np.ones(len(distinct), dtype=np.int64), SETTINGS, SEED, templates=templates)
    assert len(templates) == 1
    return templates[0]


def test_a_campaign_of_what_is_left_holding_a_rounds_template_takes_its_label(letters):
    keys, truth = normalise_all(letters[0]), np.array(letters[1])
    # the rounds' templates from the even copies of letters 0 and 1, what is left's from their odd copies
    found = [_template([keys[i] for i in np.flatnonzero(truth == c)[::2]]) for c in (0, 1)]
    rest = [_template([keys[i] for i in np.flatnonzero(truth == c)[1::2]]) for c in (1, 0)]
    assert sampled._same_letters(rest, found, 7, SETTINGS).tolist() == [1, 0]
    # a letter no round found gets the next new label
    assert sampled._same_letters(rest, found[1:], 7, SETTINGS).tolist() == [0, 7]
