"""analysis.vectorize: counts made once per distinct piece of the documents are scikit-learn's, bit for bit (#18).

The themes' TF-IDF + SVD backend encodes every distinct answer and personal addition; at 200k responses of which
90% are campaign copies, 135,000 distinct texts are made of 17,000 distinct sentences. ``FastTfidfVectorizer`` now
analyses each distinct piece once (word counts when transforming; the ``char_wb`` words always). Compared here with
``TfidfVectorizer`` itself on real answers (the sample's survey export, with its campaign letters; ArgKP; Pol.is),
letters joined from them across sentence ends and line breaks, and texts whose case and accents are hard.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from test_themes_helpers import argkp_answers, polis_texts

from analysis import vectorize
from analysis.vectorize import FastTfidfVectorizer

HARD = [
    "ΟΔΟΣ. Σ ΟΔΟΣ! ΣΑΣ.\nΣ", "Café. Ｆｕｌｌ ｗｉｄｔｈ. ﬁne ﬂow.", "x. \u0301a b.\n\u0301c", "Kia ora\u00a0tēnā koe. Ā.",
    "A  b\tc\nd", "Dr. Smith said no. OK?\r\nYes!\n\nNo.", ". . .", "!", "", " ", "\n", "end.", "...word...next",
    "İstanbul. İ. ß. Straße!", "one.two three?four five! six", "ǅemal. ǅ", "Tab.\tafter. space. \u2003em",
]


def _texts() -> tuple[list[str], list[str]]:
    raw = pd.read_csv(Path(__file__).parents[1] / "data" / "raw" / "sample" / "survey_export.csv", dtype=str,
                      keep_default_na=False)
    survey = [t for col in raw.columns[8:] for t in raw[col]]  # campaign letters, answers, blanks, Māori
    args, polis = argkp_answers()["text_redacted"].tolist(), polis_texts()
    letters = [f"Dear Minister,\n\n{args[i % 7]} {args[(i * 3) % 11]}\n{polis[i % 13]}! {args[i]}? Thanks.\tNgā mihi,"
               f"\r\n[NAME]" for i in range(60)]
    additions = [" ".join(polis[(i * j) % 40] for j in range(1, 1 + i % 5)) for i in range(80)]
    docs = survey + args + polis + letters + additions + HARD * 2
    return docs[::2], docs[1::2] + HARD


PARAMS = {
    "themes word": dict(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, lowercase=True, min_df=1,
                        strip_accents="unicode", token_pattern=r"(?u)\b\w+\b", dtype=np.float64),
    "themes char_wb": dict(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, lowercase=True, min_df=1,
                           strip_accents="unicode", dtype=np.float64),
    "lexical": dict(sublinear_tf=True, strip_accents="unicode", lowercase=True, dtype=np.float32),
    "positions word": dict(ngram_range=(1, 2), sublinear_tf=True, min_df=1, lowercase=True),
    "positions char_wb": dict(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1),
    "ascii, no lower-casing": dict(ngram_range=(1, 2), strip_accents="ascii", lowercase=False),
    "capped vocabulary": dict(ngram_range=(1, 2), min_df=2, max_features=300, token_pattern=r"(?u)\b\w+\b"),
}


def _same(a, b) -> None:
    assert type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype
    assert a.indices.dtype == b.indices.dtype and a.indptr.dtype == b.indptr.dtype
    assert a.data.tobytes() == b.data.tobytes() and a.has_sorted_indices == b.has_sorted_indices
    assert np.array_equal(a.indices, b.indices) and np.array_equal(a.indptr, b.indptr)


@pytest.mark.parametrize("name", list(PARAMS))
def test_piece_counts_are_scikit_learns(name):
    fit, later = _texts()
    ref, fast = TfidfVectorizer(**PARAMS[name]), FastTfidfVectorizer(**PARAMS[name])
    _same(ref.fit_transform(fit), fast.fit_transform(fit))
    assert list(ref.vocabulary_) == list(fast.vocabulary_) and ref.vocabulary_ == fast.vocabulary_
    _same(ref.transform(later), fast.transform(later))
    _same(ref.transform(fit), fast.transform(fit))


def test_the_word_counts_are_made_by_pieces_and_the_cuts_are_where_tokens_join():
    """The piece path is the one taken (and its raw counts are the vectoriser's, bigrams across cuts included)."""
    from sklearn.feature_extraction.text import CountVectorizer

    fit, later = _texts()
    params = dict(PARAMS["themes word"])
    for drop in ("sublinear_tf", "dtype"):
        params.pop(drop)
    ref = CountVectorizer(**params, dtype=np.int64).fit(fit)
    fast = FastTfidfVectorizer(**PARAMS["themes word"]).fit(fit)
    assert fast._by_pieces()
    counts = fast._word_piece_counts(later)
    want = ref.transform(later)
    assert np.array_equal(counts.toarray().astype(np.int64), want.toarray())
    joined = ["this is it. the end", "this is it.\nthe end"]
    assert ref.vocabulary_.get("it the") is not None  # a bigram across a cut, counted once per cut
    assert np.array_equal(fast._word_piece_counts(joined).toarray(), ref.transform(joined).toarray())
    assert vectorize._cut("a. b!\nc? d.e") == vectorize._CUT.split("a. b!\nc? d.e") == ["a.", "b!", "c?", "d.e"]
    for text in fit + later:
        assert vectorize._cut(text) == vectorize._CUT.split(text)
    assert not FastTfidfVectorizer(stop_words="english")._by_pieces()
    assert not FastTfidfVectorizer(ngram_range=(1, 3))._by_pieces()
    assert not FastTfidfVectorizer(token_pattern=r"\S+")._by_pieces()


def test_pieces_are_kept_for_one_vectoriser_while_it_lives():
    """Later batches reuse the pieces analysed (same matrix as analysing them again); the memo goes with the
    vectoriser, is not pickled with it, and is dropped for another vectoriser or vocabulary."""
    import gc

    fit, later = _texts()
    fast = FastTfidfVectorizer(**PARAMS["themes word"]).fit(fit)
    first = fast.transform(later)
    assert vectorize._PIECES and id(fast) in vectorize._PIECES
    _same(first, fast.transform(later))  # every piece from the memo
    ref = TfidfVectorizer(**PARAMS["themes word"]).fit(fit)
    _same(first, ref.transform(later))
    assert set(vars(fast)) == set(vars(ref))  # nothing more on the vectoriser (its pickle is unchanged)
    other = FastTfidfVectorizer(**PARAMS["positions word"]).fit(fit)
    other.transform(later[:5])
    assert list(vectorize._PIECES) == [id(other)]
    del other
    gc.collect()
    assert not vectorize._PIECES
