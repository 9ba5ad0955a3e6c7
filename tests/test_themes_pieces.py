"""analysis.themes.pieces: discovery's word counts, once per distinct sentence, are the vectoriser's (#18)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from test_themes_helpers import argkp_answers, polis_texts

from analysis.themes.discovery import _ctfidf_keywords, _keywords
from analysis.themes.pieces import JoinedCountVectorizer, count_matrix, joined_counts, joined_part


def _groups() -> list[list[str]]:
    args = argkp_answers()["text_redacted"].tolist()
    # letters of a campaign: the same sentences again and again, in other orders, across line breaks and tabs
    letters = [f"Dear Minister,\n\n{args[i % 7]} {args[(i * 3) % 11]}\n{args[i]}! The end.\tNgā mihi,\r\n[NAME]"
               for i in range(60)]
    return [args, args[:40] * 3 + args[5:9], polis_texts(), letters, ["The the and of", "of the", "Not a"],
            ["!!", "?"]]


def _reference_keywords(texts, top=10):
    for stop in ("english", None):
        try:
            cv = CountVectorizer(stop_words=stop, ngram_range=(1, 2))
            x = cv.fit_transform(texts)
        except ValueError:  # empty vocabulary
            continue
        totals = dict(zip(cv.get_feature_names_out(), np.asarray(x.sum(axis=0)).ravel().tolist(), strict=True))
        return [t for t, _ in sorted(totals.items(), key=lambda x: (-x[1], x[0]))[:top]]
    return []


def test_keywords_are_the_count_vectorizers_totals_on_real_answers():
    """Same top terms, ties alphabetical, as the vectoriser's column totals (answers repeated, stop words
    dropped, and kept when nothing else is left)."""
    for texts in _groups():
        assert _keywords(texts) == _reference_keywords(texts)
        assert _keywords(texts, top=25) == _reference_keywords(texts, top=25)
    assert _keywords(["The the and of", "of the"])  # only stop words: they are kept rather than nothing


def _bertopic_docs(docs: list[list[str]]) -> list[str]:
    """BERTopic's cleaned topic documents (what discovery built before JoinedCountVectorizer)."""
    out = []
    for texts in docs:
        doc = re.sub(r"[^A-Za-z0-9 ]+", "", " ".join(texts).replace("\n", " ").replace("\t", " "))
        out.append(doc if doc != "" else "emptydoc")
    return out


@pytest.mark.parametrize("k", [1, 3, 12])
def test_joined_counts_are_the_count_vectorizers_matrix(k):
    """Same matrix, bit for bit and in the same storage order, and the same feature names."""
    for texts in _groups():
        raw = np.arange(len(texts)) % min(k, len(texts))
        docs = [[t for t, r in zip(texts, raw, strict=True) if r == c] for c in sorted(set(raw))]
        ref = CountVectorizer(stop_words="english", ngram_range=(1, 2), min_df=1)
        try:
            want = ref.fit_transform(_bertopic_docs(docs))
        except ValueError:
            with pytest.raises(ValueError, match="empty vocabulary"):
                JoinedCountVectorizer().fit_transform(docs)
            continue
        fast = JoinedCountVectorizer()
        got = fast.fit_transform(docs)
        assert type(got) is type(want) and got.dtype == want.dtype and got.shape == want.shape
        for attr in ("data", "indices", "indptr"):
            a, b = getattr(got, attr), getattr(want, attr)
            assert a.dtype == b.dtype and np.array_equal(a, b), attr
        assert list(fast.get_feature_names_out()) == list(ref.get_feature_names_out())
        assert fast.vocabulary_ == ref.vocabulary_


def test_a_topic_with_nothing_left_is_bertopics_emptydoc():
    docs = [["¿¡āē…"], ["Kia ora whānau, the treaty"], ["…", "—"]]  # the first cleans to nothing
    want = CountVectorizer(stop_words="english", ngram_range=(1, 2)).fit(_bertopic_docs(docs))
    got = JoinedCountVectorizer().fit(docs)
    assert "emptydoc" in got.vocabulary_ and got.vocabulary_ == want.vocabulary_


def test_ctfidf_keywords_of_campaign_letters():
    letters = _groups()[3]
    raw = np.array([i % 4 for i in range(len(letters))])
    words = _ctfidf_keywords(letters, raw)
    assert sorted(words) == [0, 1, 2, 3] and all(words[t] for t in words)


@pytest.mark.parametrize("k", [1, 3, 12])
def test_documents_counted_a_run_of_texts_at_a_time_are_the_joined_matrix(k):
    """Each topic's document cut into runs of consecutive texts at seeded places (empty runs too), each run
    counted on its own and the runs joined (:func:`joined_counts`): the vectoriser's matrix and feature names."""
    rng = np.random.default_rng(k)
    docs_of = [_groups()[i] for i in range(len(_groups()))] + [["¿¡āē…"], ["…", "—"], ["¿¡", "the treaty"]]
    for texts in docs_of:
        raw = np.arange(len(texts)) % min(k, len(texts))
        docs = [[t for t, r in zip(texts, raw, strict=True) if r == c] for c in sorted(set(raw))]
        rows = []
        for doc in docs:
            cuts = sorted(rng.integers(0, len(doc) + 1, size=3).tolist())
            runs = [doc[a:b] for a, b in zip([0, *cuts], [*cuts, len(doc)], strict=True)]
            rows.append(joined_counts([joined_part(r) for r in runs]))
        try:
            want = JoinedCountVectorizer()
            wx = want.fit_transform(docs)
        except ValueError:
            with pytest.raises(ValueError, match="empty vocabulary"):
                count_matrix(rows)
            continue
        x, words = count_matrix(rows)
        assert type(x) is type(wx) and x.dtype == wx.dtype and x.shape == wx.shape
        for attr in ("data", "indices", "indptr"):
            a, b = getattr(x, attr), getattr(wx, attr)
            assert a.dtype == b.dtype and np.array_equal(a, b), attr
        assert list(words) == list(want.get_feature_names_out())
