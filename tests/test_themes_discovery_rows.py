"""Discovery's per-unit steps done for all units at once give what the loops they replace gave (#18).

The replaced code is kept here verbatim (``_old_*``) and run on real answers (the ArgKP and Pol.is fixtures, with
repeated texts as campaign copies' additions repeat), discovered as the themes stage discovers them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_themes_helpers import argkp_answers, polis_texts

from analysis.embeddings import TfidfSvdBackend
from analysis.themes import rows
from analysis.themes.chunked import discovery_rows
from analysis.themes.discovery import discover


def _old_rows(units, discovery, emb, *, min_score, relative_score, max_themes) -> pd.DataFrame:
    rows_ = []
    cent = np.vstack([t.centroid for t in discovery.topics]) if discovery.topics else np.zeros((0, emb.shape[1]))
    sims = emb @ cent.T if len(cent) else np.zeros((len(emb), 0))
    top = np.argsort(-sims, axis=1, kind="stable")[:, : max_themes]
    for i, u in enumerate(units):
        lab = int(discovery.labels[i]) if len(discovery.labels) else -1
        if lab < 0:
            continue
        rows_.append({"unit": u, "theme_id": discovery.topics[lab].topic_id, "score": float(sims[i, lab])})
        n_rows = 1
        for j in top[i]:
            if j != lab and sims[i, j] >= max(min_score, relative_score * sims[i, lab]) and \
                    n_rows < max_themes:
                rows_.append({"unit": u, "theme_id": discovery.topics[j].topic_id, "score": float(sims[i, j])})
                n_rows += 1
    return pd.DataFrame(rows_, columns=["unit", "theme_id", "score"]), sims, top


def _texts() -> list[str]:
    args = argkp_answers()["text_redacted"].tolist()
    polis = polis_texts()
    return args[:260] + polis[:140] + args[:40] * 3 + polis[:25]  # repeated texts, as copies' additions repeat


@pytest.fixture(scope="module")
def discovered():
    texts = _texts()
    emb = TfidfSvdBackend(n_components=48, seed=5).fit(texts).encode(texts)
    return texts, emb, discover(texts, emb, question_id="q", seed=5, n_topics="auto", max_topics=12)


@pytest.mark.parametrize(("min_score", "relative_score", "max_themes"),
                         [(0.1, 0.6, 3), (0.05, 0.3, 4), (0.2, 0.9, 1), (0.0, 0.1, 2), (0.15, 0.75, 5)])
def test_rows_are_the_loops(discovered, min_score, relative_score, max_themes):
    """Same rows, order, values and dtypes as the per-unit loop, with several themes per unit and the limit hit."""
    texts, emb, disc = discovered
    units = [f"own:r{i}" for i in range(len(texts))]
    want, sims, top = _old_rows(units, disc, emb, min_score=min_score, relative_score=relative_score,
                                max_themes=max_themes)
    got = discovery_rows(np.asarray(units, dtype=object), np.asarray(disc.labels), sims, top,
                         [t.topic_id for t in disc.topics], min_score=min_score, relative_score=relative_score,
                         max_themes=max_themes)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got["score"].to_numpy().tobytes() == want["score"].to_numpy().tobytes()
    if max_themes > 1 and relative_score < 0.5:
        assert len(want) > len(units)  # extra themes were given


def test_rows_with_other_and_without_topics(discovered):
    """Units of topic -1 get no row; no labels or no topics: no row, the loop's empty frame."""
    texts, emb, disc = discovered
    units = [f"own:r{i}" for i in range(len(texts))]
    disc.labels = np.where(np.arange(len(texts)) % 3 == 0, -1, disc.labels)
    want, sims, top = _old_rows(units, disc, emb, min_score=0.1, relative_score=0.5, max_themes=3)
    got = discovery_rows(np.asarray(units, dtype=object), disc.labels, sims, top, [t.topic_id for t in disc.topics],
                         min_score=0.1, relative_score=0.5, max_themes=3)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    for labels in (np.zeros(0, dtype=int), np.full(len(units), -1)):
        disc.labels = labels
        want, sims, top = _old_rows(units, disc, emb, min_score=0.1, relative_score=0.5, max_themes=3)
        got = discovery_rows(np.asarray(units, dtype=object), labels, sims, top, [t.topic_id for t in disc.topics],
                             min_score=0.1, relative_score=0.5, max_themes=3)
        pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize("prefix", [4096, 50, 7])
def test_distinct_rows_up_to_k_are_the_smaller_of_k_and_all(monkeypatch, prefix):
    """``at_most``: ``min(at_most, len(np.unique(emb.round(5), axis=0)))``, by prefixes of any size."""
    monkeypatch.setattr(rows, "PREFIX", prefix)
    texts = _texts()
    emb = TfidfSvdBackend(n_components=32, seed=3).fit(texts).encode(texts)
    few = ["a", "b", "a", "c"] * 40 + ["b"] * 30  # 3 distinct rows among many
    few_emb = TfidfSvdBackend(n_components=2, seed=3).fit(["a x", "b y", "c z"]).encode(
        [{"a": "a x", "b": "b y", "c": "c z"}[t] for t in few])
    for t, e in ((texts, emb), (few, few_emb), (texts[:5], emb[:5])):
        n = len(np.unique(e.round(5), axis=0))
        for k in (1, 2, 3, 4, 30, n, n + 1, 10_000):
            assert rows.n_distinct_rows(t, e, at_most=k) == min(k, n)


def _split_key(tmp_path, q, campaigns) -> str:
    from analysis.themes import fitcache
    from analysis.themes.fit import _split

    store = tmp_path / f"s{len(list(tmp_path.iterdir()))}"
    with fitcache.stored_in(store):
        got = _split(q, campaigns, {"en", "und", ""}, frozenset({"n a"}), True)
    (name,) = [p.stem for p in (store / "units").iterdir()]
    return name, got


@pytest.mark.parametrize("arrow", [True, False])
def test_units_cache_key_changes_with_any_value_and_hits_on_the_same_values(tmp_path, arrow):
    """The units' cache key (Arrow buffers hashed, or reprs): a copy of the rows (other buffers, same values) hits
    the cache and gives the computed units; one value changed in any column read gives another key."""
    from test_themes_rows import _answers

    from analysis.themes.fit import _units

    df, campaigns = _answers(arrow)
    q = df[df["question_id"] == "q1"]
    key, got = _split_key(tmp_path, q, campaigns)
    again, got_again = _split_key(tmp_path, q.copy(deep=True), campaigns.copy(deep=True))
    assert again == key
    want = _units(q, campaigns, {"en", "und", ""}, frozenset({"n a"}))
    for g, w in zip(got[0][:2], want[:2], strict=True):
        pd.testing.assert_frame_equal(g, w)
    keys = {key}
    for col, value in [("text_redacted", "changed text"), ("personal_addition", "Thanks!"), ("language", "fr"),
                       ("campaign_id", "c9"), ("response_id", "r9999"), ("is_campaign_copy", False),
                       ("text_redacted", None)]:
        changed = q.copy(deep=True)
        before = changed.iloc[4, changed.columns.get_loc(col)]
        changed.iloc[4, changed.columns.get_loc(col)] = value
        assert before is not value and before != value  # a copy's row: every one of these is another value
        keys.add(_split_key(tmp_path, changed, campaigns)[0])
    changed = campaigns.copy(deep=True)
    changed.loc[0, "template"] = changed.loc[0, "template"] + "."
    keys.add(_split_key(tmp_path, q, changed)[0])
    keys.add(_split_key(tmp_path, q.iloc[:-1], campaigns)[0])
    assert len(keys) == 10


def _old_representatives(texts, emb, centroid, n=3):
    sims = emb @ centroid
    order = sorted(range(len(texts)), key=lambda i: (-round(float(sims[i]), 6), i))
    out: list[str] = []
    for i in order:
        if texts[i] not in out:
            out.append(texts[i])
        if len(out) == n:
            break
    return out


@pytest.mark.parametrize("head", [64, 2, 1])
def test_representatives_are_the_sorted_ones(discovered, monkeypatch, head):
    """The nearest distinct texts of each topic as sorting every member gave them: repeated texts (equal
    similarities), similarities equal once rounded, and more texts asked for than a head holds."""
    from analysis.themes import discovery

    monkeypatch.setattr(discovery, "HEAD", head)
    texts, emb, disc = discovered
    many = texts * 3  # every similarity three times
    many_emb = np.vstack([emb] * 3)
    for t in disc.topics:
        for n in (1, 3, 10, 40):
            assert discovery._representatives(many, many_emb, t.centroid, n=n) == _old_representatives(
                many, many_emb, t.centroid, n=n)
    rounded = (np.round(emb, 3) + 1e-9).astype(np.float32)  # many similarities equal once rounded to 6 places
    for t in disc.topics:
        assert discovery._representatives(texts, rounded, t.centroid, n=10) == _old_representatives(
            texts, rounded, t.centroid, n=10)
    assert discovery._representatives(texts[:3], emb[:3], disc.topics[0].centroid, n=5) == _old_representatives(
        texts[:3], emb[:3], disc.topics[0].centroid, n=5)


@pytest.mark.parametrize("head", [64, 3, 1])
def test_ranked_head_is_the_head_of_the_full_sort(discovered, monkeypatch, head):
    """Members whose similarities round to the same 6 places are ordered by index whatever their raw order: a head
    cut inside such a run is extended over it (raw similarities rising with the index inside each run)."""
    from analysis.themes import discovery

    monkeypatch.setattr(discovery, "HEAD", head)
    _, emb, disc = discovered
    raw = (emb @ disc.topics[0].centroid).astype(np.float64)
    runs = np.round(raw, 3) + np.arange(len(raw)) * 1e-10  # runs of equal rounded values, rising inside
    for sims in (raw, runs, np.round(raw, 2)):
        full = sorted(range(len(sims)), key=lambda i: (-round(float(sims[i]), 6), i))
        for n in (1, 2, 5, 17, 100, len(sims)):
            got = discovery._ranked_head(sims, lambda h, n=n: len(h) >= n)
            assert got[:n] == full[:n] and got == full[:len(got)]
