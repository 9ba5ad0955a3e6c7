"""A discovered theme's published label quotes only answers whose authors consented to publication."""

from __future__ import annotations

import numpy as np

from analysis.themes.discovery import discover

PRIVATE = ["Farm runoff is poisoning the Waikato river badly"] * 4
PUBLIC = ["Stronger limits on nitrate leaching from dairy farms", "Nitrate leaching from dairy farms must stop"]


def _emb(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    v = np.ones((n, 8), dtype=np.float32) + 0.01 * rng.standard_normal((n, 8)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_label_is_a_phrase_of_a_consenting_answer():
    texts = PRIVATE + PUBLIC
    consent = [False] * len(PRIVATE) + [True] * len(PUBLIC)
    res = discover(texts, _emb(len(texts)), n_topics=1, min_answers=2, label_ok=consent)
    label = res.topics[0].label.lower()
    assert label and all(w in " ".join(PUBLIC).lower() for w in label.split()), label
    assert "runoff" not in label and "waikato" not in label


def test_without_consent_information_any_answer_may_label():
    texts = PRIVATE + PUBLIC
    res = discover(texts, _emb(len(texts)), n_topics=1, min_answers=2)
    assert res.topics[0].label  # the most frequent wording (the private answers) may label it


def test_no_consenting_answer_gives_a_neutral_label():
    res = discover(PRIVATE + PRIVATE, _emb(8), n_topics=1, min_answers=2, label_ok=[False] * 8)
    assert res.topics[0].label == "Theme t01"
