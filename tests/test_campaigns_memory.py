"""The campaigns stage's memory cuts give what the code they replace gives (#18, session 14).

* :class:`analysis.campaigns.near_duplicates.SignatureScan` (signatures compared, no index) against
  :class:`~analysis.campaigns.near_duplicates.ColumnIndex`: the same agreements, restricted or not, and the same
  campaigns when the clustering reads one or the other;
* :func:`~analysis.campaigns.near_duplicates.verified_neighbours` (``int32`` pairs, neighbours grouped by scipy)
  against the ``int64`` pairs and stable argsort it replaces;
* :func:`analysis.campaigns.chunked.signatures` made a block of texts at a time, for several block sizes;
* ``consume`` (:func:`~analysis.campaigns.stage.find_campaigns`, :func:`~analysis.campaigns.parallel.label_all`):
  the same labels, the keys emptied;
* :func:`analysis.campaigns.streamed.open_batches` (texts made Python strings a batch at a time) against
  :func:`~analysis.tables.read_table` of the open rows.
"""

from __future__ import annotations

import numpy as np
import pytest
from generated_consultation import OPEN_QUESTIONS, generate
from test_campaigns_fast_paths import _fixture_texts

from analysis.campaigns import agreement_scan, chunked, parallel, stage, streamed
from analysis.campaigns import near_duplicates as nd
from analysis.campaigns.stage import find_campaigns, normalise_all, submission_texts
from analysis.config import CampaignSettings
from analysis.tables import read_table, write_table

SEED = 20211


@pytest.fixture(scope="module")
def corpora() -> dict[str, list[str]]:
    """Normalised texts: real answers, a generated consultation's (90% copies) questions and whole submissions."""
    answers = generate(3000, SEED, share_1=0.8, share_2=0.1).answers
    memo: dict[str, str] = {}
    out = {"argkp+polis": normalise_all(_fixture_texts())}
    for q in OPEN_QUESTIONS:
        out[q] = normalise_all(answers.loc[answers["question_id"] == q, "text_redacted"].tolist(), memo)
    out["submissions"] = submission_texts(answers, OPEN_QUESTIONS, memo)[2]
    return out


def _signatures(keys: list[str]) -> np.ndarray:
    return chunked.signatures(nd.MinHasher(128, 3, SEED), sorted(set(keys)))[0]


@pytest.mark.parametrize(("rows", "kernel_from"), [(agreement_scan._SCAN_ROWS, 2**62), (7, 2**62), (7, 0)])
def test_signature_scan_agreements_are_the_index_ones(corpora, monkeypatch, rows, kernel_from):
    monkeypatch.setattr(agreement_scan, "_SCAN_ROWS", rows)  # several blocks, and blocks cut anywhere
    monkeypatch.setattr(agreement_scan, "KERNEL_MIN_ROWS", kernel_from)  # numpy's blocks, or the compiled loop
    sig = _signatures(corpora["submissions"])
    rng = np.random.default_rng(SEED)
    index, scan = nd.ColumnIndex(sig), nd.SignatureScan(sig)
    assert scan.size == index.size == len(sig) and scan.rows is sig  # no copy while every text is listed
    refs = np.concatenate([sig[rng.choice(len(sig), 15)], rng.integers(0, 2**32, (3, 128), dtype=np.uint32)])
    for keep_share in (None, 0.9, 0.3, 0.01, 0.0):
        if keep_share is not None:
            keep = rng.random(len(sig)) < keep_share
            index, scan = index.restricted(keep), scan.restricted(keep)  # nested: each restricts the last
        assert scan.size == index.size
        for ref in refs:
            want, got = index.agreements(ref), scan.agreements(ref)
            assert got[0].dtype == want[0].dtype == np.int64 and got[1].dtype == want[1].dtype
            assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    assert len(want[0]) == 0  # nothing listed at the end


def test_the_compiled_scan_counts_what_the_blocks_count(corpora, monkeypatch):
    sig = _signatures(corpora["submissions"])
    rng = np.random.default_rng(SEED)
    refs = np.concatenate([sig[rng.choice(len(sig), 10)], rng.integers(0, 2**32, (2, 128), dtype=np.uint32)])
    keep = rng.random(len(sig)) < 0.5
    found = [0, 0]
    for scan in (nd.SignatureScan(sig), nd.SignatureScan(sig).restricted(keep)):
        for ref in refs:
            could = (lambda texts, bound: (bound >= 2) & (texts % 3 > 0))  # noqa: E731 - a minimum, and a filter
            got = []
            for kernel_from in (0, 2**62):  # every scan compiled, then none
                monkeypatch.setattr(agreement_scan, "KERNEL_MIN_ROWS", kernel_from)
                got.append((scan.agreements(ref), scan.agreements(ref, could)))
            for (a_texts, a_counts), (b_texts, b_counts) in zip(got[0], got[1], strict=True):
                assert a_texts.dtype == b_texts.dtype == a_counts.dtype == b_counts.dtype == np.int64
                assert np.array_equal(a_texts, b_texts) and np.array_equal(a_counts, b_counts)
            found = [found[0] + len(got[0][0][0]), found[1] + len(got[0][1][0])]
    assert min(found) > 0


def test_the_scan_finds_the_index_campaigns(corpora, monkeypatch):
    settings = CampaignSettings()
    found = 0
    for name, keys in corpora.items():
        got = find_campaigns(keys, settings, SEED, keys)
        with monkeypatch.context() as m:
            m.setattr(nd, "SignatureScan", nd.ColumnIndex)
            want = find_campaigns(keys, settings, SEED, keys)
        assert np.array_equal(got, want), name
        found += int((got >= 0).sum())
    assert found > 1000


def test_verified_neighbours_are_the_argsort_ones(corpora):
    sig = _signatures(corpora["submissions"] + corpora["argkp+polis"])
    n = len(sig)
    weight = np.random.default_rng(SEED).integers(1, 5, n)
    rows, cols, reach, buckets = nd.verified_neighbours(sig, weight, 0.3)
    assert rows.dtype == cols.dtype == np.int32 and len(rows) > 1000
    # what the code replaced did: int64 pairs from the sorted codes, verified, grouped by a stable argsort
    b, r = nd.optimal_bands(0.3, 128)
    keys = nd.band_keys(sig, b, r)
    assert all(np.array_equal(keys[:, band], nd.band_key(sig, band, r)) for band in range(b))
    w_rows, w_cols, crowded, _ = nd.candidate_pairs(sig, b, r)
    ok = nd.matches(sig[w_rows], sig[w_cols]) >= nd.agreements_needed(0.3, 128)
    w_rows, w_cols = w_rows[ok].astype(np.int64), w_cols[ok].astype(np.int64)
    assert np.array_equal(rows, w_rows) and np.array_equal(cols, w_cols)
    assert np.all(w_rows < w_cols) and len(np.unique(w_rows * n + w_cols)) == len(w_rows)  # distinct, sorted
    both = np.concatenate([w_rows, w_cols])
    indptr = np.concatenate([[0], np.cumsum(np.bincount(both, minlength=n))])
    nbr = np.concatenate([w_cols, w_rows])[np.argsort(both, kind="stable")]
    assert np.array_equal(buckets.indptr, indptr)
    for i in range(n):
        assert np.array_equal(np.sort(buckets.nbr[buckets.indptr[i]:buckets.indptr[i + 1]]),
                              np.sort(nbr[indptr[i]:indptr[i + 1]]))
    w = weight.astype(np.float64)
    want = w + np.bincount(w_rows, weights=w[w_cols], minlength=n) + np.bincount(w_cols, weights=w[w_rows], minlength=n)
    want[crowded] = np.inf
    assert np.array_equal(reach, want)


@pytest.mark.parametrize("texts_per_block", [1, 7, 32, 128, 500])
def test_chunked_signatures_by_blocks_of_texts(corpora, monkeypatch, texts_per_block):
    monkeypatch.setattr(chunked, "_TEXTS_PER_BLOCK", texts_per_block)  # session 15: no groups of hash functions
    monkeypatch.setattr(chunked, "_CHUNKS_PER_BLOCK", 97)  # several blocks of chunks
    keys = sorted(set(corpora["submissions"])) + ["", "one", "two words", "the the the the"]
    hasher = nd.MinHasher(128, 3, SEED)
    want_sig, want_n, want_cache = hasher.signatures(keys, keep_shingles=True)
    sig, n_sh, cache = chunked.signatures(hasher, keys)
    assert np.array_equal(sig, want_sig) and np.array_equal(n_sh, want_n)
    idx = np.arange(len(keys))
    assert all(np.array_equal(a, b) for a, b in zip(cache.get(idx), want_cache.get(idx), strict=True))


def test_consumed_keys_give_the_same_labels(corpora):
    settings = CampaignSettings()
    jobs = [(name, list(keys)) for name, keys in corpora.items()]
    want = {name: find_campaigns(keys, settings, SEED, keys) for name, keys in jobs}
    for name, keys in jobs:
        mine = list(keys)
        assert np.array_equal(find_campaigns(mine, settings, SEED, mine, consume=True), want[name])
        assert mine == [] and keys  # emptied; the caller's other lists untouched
    got = parallel.label_all([(n, list(k)) for n, k in jobs], settings, SEED, None, consume=True)
    assert all(np.array_equal(got[name], want[name]) for name in want)
    kept = [(n, list(k)) for n, k in jobs]
    parallel.label_all(kept, settings, SEED, None)
    assert [k for _n, k in kept] == [k for _n, k in jobs]  # not consumed unless asked


def test_open_batches_are_read_tables_rows(tmp_path, monkeypatch):
    answers = generate(400, SEED).answers.drop(columns="truth")
    answers["answer"], answers["language"] = answers["text_redacted"], "en"
    answers.loc[answers.index[::37], "text_redacted"] = ""
    write_table(answers, "core_answers_redacted", tmp_path)
    open_q = [q for q in OPEN_QUESTIONS if q != OPEN_QUESTIONS[1]]
    monkeypatch.setattr(streamed, "BATCH", 13)  # many batches
    batches = list(streamed.open_batches(tmp_path, open_q, with_ids=True))
    want = read_table("core_answers_redacted", tmp_path, columns=["response_id", "question_id", "text_redacted"],
                      where=("question_id", open_q))
    assert len(batches) > 20 and 0 < len(want) < len(answers)
    texts = [t for batch, _ in batches for t in batch]
    assert texts == stage._texts(want["text_redacted"]) and "" in texts
    assert [q for _, ids in batches for q in ids.to_pylist()] == want["question_id"].tolist()
    assert streamed.question_texts(tmp_path, open_q[0]) == [t for t, q in zip(texts, want["question_id"], strict=True)
                                                            if q == open_q[0]]
