"""The campaigns stage's fast paths give what the code they replace gives, on real and generated texts (#18).

* :func:`analysis.campaigns.chunked.signatures` (each distinct chunk hashed once) against
  :meth:`MinHasher.signatures` (every shingle of every text);
* :func:`analysis.campaigns.text.split_sentences` against ``_SENTENCE_RE.split``;
* :func:`analysis.campaigns.text.joined_key` (a submission's key from its answers' keys) and
  :func:`analysis.campaigns.stage.normalise_all` (sentences folded once) against :func:`normalise`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from generated_consultation import OPEN_QUESTIONS, generate

from analysis.campaigns import chunked
from analysis.campaigns.near_duplicates import MinHasher
from analysis.campaigns.stage import normalise_all, submission_texts
from analysis.campaigns.text import (
    joined_key,
    normalise,
    split_sentences,
    split_sentences_re,
    strip_boilerplate,
)

FIXTURES = Path(__file__).parent / "fixtures" / "campaigns"
SEED = 20211

#: Edge cases: short and empty texts, anchors near the end, repeated anchors, odd whitespace and scripts.
ODD = [
    "", "a", "a b c d", "a b c d e", "the", "the the the the the the the the", "x the y the z",
    "one two the three four five six", "the a b c d e f the g", "a the b the c the d the e the f the g h i j k",
    "Dear Jo,\n\nThe text here.\nRegards,\nMe", "Kia ora koutou, I support it.\nNgā mihi, Mere\nSent from my iPhone",
    "a.\u2028b", "x!\n \n y", " \n a", "a. \x1c b", "end. ", "\n", "  ", "q?\u3000r", "a.\t\nb. c", "\u3002\u3000x",
    "a \n. b", "Hello. I think thanks are due to the council.", "é\u0301 b. \u0301c", "我们反对。 这个 法案！好",
    "Cheers,\n[NAME]", "Dear all", "Regards,", "Thanks", "A. Sent from my iPhone", "Tēnā koe, e hoa.\n\nNgā mihi,\n[NAME]",
]


def _fixture_texts() -> list[str]:
    texts = []
    for name, col in (("argkp_arguments.csv", "argument"), ("polis_nz_comments.csv", "comment-body")):
        with (FIXTURES / name).open(encoding="utf-8") as fh:
            texts += [r[col] for r in csv.DictReader(fh)]
    return texts


@pytest.fixture(scope="module")
def consultation():
    return generate(3000, SEED, share_1=0.8, share_2=0.1)  # 90% campaign copies, as the #18 target


@pytest.fixture(scope="module")
def texts(consultation) -> list[str]:
    return consultation.answers["text_redacted"].tolist() + _fixture_texts() + ODD


@pytest.mark.parametrize("k", [1, 3, 5])
def test_chunked_signatures_are_the_minhashers(texts, k):
    keys = sorted(set(normalise_all(texts))) + [t for t in ODD if t == " ".join(t.split())]
    hasher = MinHasher(64, k, SEED)
    sig, n_sh, cache = hasher.signatures(keys, keep_shingles=True)
    c_sig, c_n_sh, c_cache = chunked.signatures(hasher, keys)
    assert np.array_equal(sig, c_sig) and np.array_equal(n_sh, c_n_sh)
    rng = np.random.default_rng(SEED)
    for idx in [np.arange(len(keys)), rng.choice(len(keys), 300), np.array([len(keys) - 1, 0, 0])]:
        for a, b in zip(cache.get(idx), c_cache.get(idx), strict=True):
            assert np.array_equal(a, b)
    assert c_cache.chunk_sh.nbytes < cache.sh.nbytes / 2  # the copies' shingles are stored once


def test_chunks_cover_the_text_with_k_tokens_each(texts):
    k = 5
    for key in normalise_all(texts):
        parts = chunked.chunk_strings(key, k)
        if len(parts) == 1:
            assert parts == [key]
            continue
        toks = [p.split(" ") for p in parts]
        assert all(len(t) >= k for t in toks)
        assert all(t[0] == "the" for t in toks[1:])
        own = [t[:len(t) - (k - 1)] for t in toks[:-1]] + [toks[-1]]  # each chunk's shingle starts
        assert [w for t in own for w in t] == key.split(" ")
        assert all(a[len(a) - (k - 1):] == b[:k - 1] for a, b in zip(toks, toks[1:], strict=False))


def test_split_sentences_is_the_regex_split(texts):
    for text in texts + [strip_boilerplate(t) for t in texts]:
        assert split_sentences(text) == split_sentences_re(text), repr(text)


def test_normalise_all_is_normalise(texts):
    assert normalise_all(texts) == [normalise(t) for t in texts]


def test_submission_keys_are_the_joined_texts_keys(consultation):
    answers = consultation.answers
    memo: dict[str, str] = {}
    normalise_all(answers.loc[answers["question_id"].isin(OPEN_QUESTIONS), "text_redacted"].tolist(), memo)
    _rids, joined, keys = submission_texts(answers, OPEN_QUESTIONS, memo)
    several = [(t, k) for t, k in zip(joined, keys, strict=True) if "\n\n" in t]
    assert len(several) > 500
    assert all(normalise(t) == k for t, k in zip(joined, keys, strict=True) if k is not None)


@pytest.mark.parametrize("parts", [
    ["Hi,", "Dear Jo,\n\nThe text here.\nRegards,\nMe"], ["Body one.", "Kind regards"], ["Thanks", "x"],
    ["Kia ora", "Tēnā koe, e hoa.\n\nNgā mihi,\n[NAME]"], ["A. Sent from my iPhone", "b"], ["", ""],
    ["", "Dear X,\nY"], ["Cheers,\n[NAME]", "More text after. Regards, Jo"], ["Dear all", "Regards,"],
    ["é\u0301", "\u0301b"], ["I agree.", "Yours sincerely", "Jo"], ["Hello", "Hello", "Regards"],
])
def test_joined_key_edge_cases(parts):
    for memo in ({}, {p: normalise(p) for p in parts}):
        assert joined_key(parts, memo) == normalise("\n\n".join(parts))
