"""The cluster search's fast paths give what the code they replace gives, on real and generated texts (#18).

* :class:`analysis.campaigns.near_duplicates._Grower` reads a :class:`SignatureScan` restricted to its pool
  (``RESTRICT_POOL``) instead of the index of every text: the same clusters;
* ``BYTE_BOUND``: the pool's texts compared on one byte of each hash value first, the agreements counted only for
  those that could join at that bound: the same clusters;
* :func:`analysis.campaigns.near_duplicates._shared_shingles` (two hash tables) against the sort by hash it
  replaces in :func:`template_signature`: the same template shingles, signature and count.
"""

from __future__ import annotations

import numpy as np
import pytest
from generated_consultation import OPEN_QUESTIONS, generate
from test_campaigns_fast_paths import _fixture_texts

from analysis.campaigns import near_duplicates as nd
from analysis.campaigns.stage import find_campaigns, normalise_all, submission_texts
from analysis.config import CampaignSettings

SEED = 20211


def _sorted_template_shingles(sh: np.ndarray, offs: np.ndarray, weights: np.ndarray, share: float) -> np.ndarray:
    """The template shingles as :func:`template_signature` found them before (a stable sort by hash)."""
    doc = np.repeat(np.arange(len(offs)), np.diff(np.append(offs, len(sh))))
    order = np.argsort(sh, kind="stable")
    sh_s, doc_s = sh[order], doc[order]
    new_sh = np.ones(len(sh_s), dtype=bool)
    new_sh[1:] = sh_s[1:] != sh_s[:-1]
    first = new_sh.copy()
    first[1:] |= doc_s[1:] != doc_s[:-1]
    uniq = sh_s[new_sh]
    inv = (np.cumsum(new_sh) - 1)[first]
    wsum = np.bincount(inv, weights=np.asarray(weights, dtype=np.float64)[doc_s[first]], minlength=len(uniq))
    return uniq[wsum >= share * float(np.sum(weights))]


@pytest.fixture(scope="module")
def consultations():
    return {"default mix": generate(3000, SEED), "90% copies": generate(3000, SEED, share_1=0.8, share_2=0.1)}


def _corpora(consultations) -> dict[str, list[str]]:
    """Normalised texts: each generated question's answers, the whole submissions, and the fixture cuts."""
    out = {"argkp+polis": normalise_all(_fixture_texts())}
    for name, c in consultations.items():
        answers = c.answers
        memo: dict[str, str] = {}
        for q in OPEN_QUESTIONS:
            out[f"{name} {q}"] = normalise_all(answers.loc[answers["question_id"] == q, "text_redacted"].tolist(), memo)
        _rids, _joined, keys = submission_texts(answers, OPEN_QUESTIONS, memo)
        out[f"{name} submissions"] = keys
    return out


def test_pool_index_finds_the_same_campaigns(consultations, monkeypatch):
    settings = CampaignSettings()
    restricted = []
    real = nd.SignatureScan.restricted

    def counting(self, keep):
        restricted.append(int(keep.sum()))
        return real(self, keep)

    monkeypatch.setattr(nd.SignatureScan, "restricted", counting)
    monkeypatch.setattr(nd, "_RESTRICT_EVERY", 1)  # restrict as often as possible: every grow may read a new index
    monkeypatch.setattr(nd, "_RESTRICT_SHARE", 0.001)
    for name, keys in _corpora(consultations).items():
        with monkeypatch.context() as m:
            m.setattr(nd, "RESTRICT_POOL", False)
            before = find_campaigns(keys, settings, SEED, keys)
        restricted.clear()
        after = find_campaigns(keys, settings, SEED, keys)
        assert np.array_equal(before, after), name
        if "submissions" in name:
            assert len(restricted) > 3, name  # the giant component of stock phrases: restricted again and again
    assert (before >= 0).sum() > 100  # the 90% copies' submissions hold campaigns


def test_restricted_index_agreements_are_the_full_ones(consultations):
    keys = _corpora(consultations)["default mix submissions"]
    sig, _n_sh = nd.MinHasher(128, 3, SEED).signatures(keys)
    full = nd.ColumnIndex(sig)
    rng = np.random.default_rng(SEED)
    for share in (0.9, 0.5, 0.05):
        keep = rng.random(len(keys)) < share
        part = full.restricted(keep)
        assert part.size == keep.sum()
        for ref in sig[rng.choice(len(keys), 20)]:
            texts, counts = full.agreements(ref)
            p_texts, p_counts = part.agreements(ref)
            assert np.array_equal(texts[keep[texts]], p_texts) and np.array_equal(counts[keep[texts]], p_counts)


@pytest.mark.parametrize("share", [0.5, 0.3, 0.75])
def test_shared_shingles_are_the_sorted_ones(consultations, share):
    hasher = nd.MinHasher(128, 3, SEED)
    rng = np.random.default_rng(SEED)
    corpora = _corpora(consultations)
    checked = 0
    for keys in (corpora["argkp+polis"], corpora["90% copies submissions"], corpora["90% copies q5_other"]):
        _sig, _n_sh, cache = hasher.signatures(keys, keep_shingles=True)
        for size in (1, 5, 40, 300):
            idx = np.sort(rng.choice(len(keys), size, replace=False))
            for weights in (np.ones(size, dtype=np.int64), rng.integers(1, 50, size)):
                sh, offs = cache.get(idx)
                want = _sorted_template_shingles(sh, offs, weights, share)
                got = nd._shared_shingles(sh, offs, weights, share)
                assert np.array_equal(np.sort(got), want) and got.dtype == want.dtype
                sig, n = nd.template_signature(hasher, cache, weights, share, idx=idx)
                assert n == len(want)
                if n:
                    assert np.array_equal(sig, hasher._minhash(want, np.zeros(1, dtype=np.int64))[0])
                checked += n > 0
    assert checked > 8  # some samples share template shingles (campaign copies)


def test_byte_bound_finds_the_same_campaigns(consultations, monkeypatch):
    settings = CampaignSettings()
    calls, kept = [], []
    real = nd.SignatureScan.agreements

    def counting(self, ref, could=None):
        texts, counts = real(self, ref, could)
        if could is not None:
            calls.append(len(self.rows))
            kept.append(len(texts))
        return texts, counts

    monkeypatch.setattr(nd.SignatureScan, "agreements", counting)
    labelled = listed = 0
    for name, keys in _corpora(consultations).items():
        with monkeypatch.context() as m:
            m.setattr(nd, "BYTE_BOUND", False)
            before = find_campaigns(keys, settings, SEED, keys)
        assert not calls
        after = find_campaigns(keys, settings, SEED, keys)
        assert np.array_equal(before, after), name
        labelled += int((after >= 0).sum())
        listed += sum(calls)
        calls.clear()
    assert labelled > 100
    assert kept and sum(kept) < listed  # texts were left out at the bound


@pytest.mark.parametrize("restrict", [False, True])
def test_bounded_agreements_are_the_exact_ones_where_the_test_holds_at_the_bound(consultations, restrict):
    keys = _corpora(consultations)["90% copies submissions"]
    sig, n_sh = nd.MinHasher(128, 3, SEED).signatures(keys)
    scan = nd.SignatureScan(sig)
    rng = np.random.default_rng(SEED)
    if restrict:
        scan = scan.restricted(rng.random(len(keys)) < 0.6)
    left_out = 0
    for ref in sig[rng.choice(len(keys), 25)]:
        for need in (1, 20, 45, 90):
            def could(texts, bound, need=need):
                return (bound >= need) & (n_sh[texts] > 2)

            texts, counts = scan.agreements(ref)
            b_texts, b_counts = scan.agreements(ref, could)
            want = could(texts, counts)  # the test at the exact counts: every such text is returned, exactly counted
            assert np.isin(texts[want], b_texts).all()
            pos = np.searchsorted(texts, b_texts)
            assert np.array_equal(texts[pos], b_texts) and np.array_equal(counts[pos], b_counts)
            left_out += len(texts) - len(b_texts)
    assert left_out > 0
