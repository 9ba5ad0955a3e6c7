"""Placeholders vs short answers, readable discovered labels, and the linear model with a definition prior.

Real text: Pol.is biodiversity statements and ArgKP arguments from ``tests/fixtures/themes`` (attributions
in the README there).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.embeddings import TfidfSvdBackend
from analysis.themes.discovery import discover, phrase_label
from analysis.themes.fit import find_placeholders, has_content, prepare_question
from analysis.themes.lexical import LexicalSpace, hybrid
from analysis.themes.linear import PriorLinear, fit_platt

FIX = Path(__file__).parent / "fixtures" / "themes"


def _statements() -> list[str]:
    return pd.read_csv(FIX / "polis_biodiversity_comments.csv")["comment-body"].astype(str).tolist()


def _answers() -> pd.DataFrame:
    """Two questions answered with real statements, plus a survey tool's filler and short praise."""
    s = _statements()
    rows = []
    for qi, q in enumerate(["q1", "q2"]):
        texts = s[qi * 60:(qi + 1) * 60] + ["Did not answer"] * 8 + ["No response given."] * 6
        if q == "q1":
            texts += ["Very good."] * 6 + ["All good"] * 2
        rows += [{"response_id": f"r{i}", "question_id": q, "text_redacted": t, "language": "en",
                  "is_campaign_copy": False, "campaign_id": None, "personal_addition": None}
                 for i, t in enumerate(texts)]
    return pd.DataFrame(rows)


def test_placeholders_are_found_in_the_data_and_short_praise_is_an_answer() -> None:
    answers = _answers()
    found = find_placeholders(answers)
    assert found == {"did not answer": 16, "no response given": 12}
    assert has_content("Very good.") and has_content("All good")
    assert not has_content("Did not answer") and not has_content("N/A")
    q1 = answers[answers["question_id"] == "q1"]
    p = prepare_question(q1, question_id="q1", embed_units=lambda t, _k: np.eye(len(t), 4, dtype=np.float32),
                         resolved=None, placeholders=frozenset(found))
    themed = set(p.units["text"])
    assert "Very good." in themed and "All good" in themed
    assert "Did not answer" not in themed and "No response given." not in themed
    assert len(p.blank) == 14  # set apart: 'other', never themed


def test_discovered_labels_are_short_phrases_from_the_answers() -> None:
    texts = _statements()
    emb = TfidfSvdBackend(seed=0).fit(texts).encode(texts)
    res = discover(texts, emb, seed=0, n_topics=5)
    joined = " ".join(texts).lower()
    for t in res.topics:
        assert 2 <= len(t.label.split()) <= 6, t.label
        assert t.label.lower() in joined  # drawn from an answer, word for word
        assert ", " not in t.label  # not a keyword triple


def test_a_label_never_carries_a_persons_name() -> None:
    label = phrase_label(["Aroha Ngata wants the river cleaned up", "Clean the river water"],
                         ["river", "aroha", "clean", "water"])
    assert "Aroha" not in label and "Ngata" not in label
    assert label == "Clean the river water"


def test_the_definition_prior_lets_a_few_codes_rank_better_than_the_definition_alone() -> None:
    args = pd.read_csv(FIX / "argkp_arguments.csv")
    kps = pd.read_csv(FIX / "argkp_key_points.csv")
    labels = pd.read_csv(FIX / "argkp_labels.csv")
    g, kp = args[args["stance"] == 1], kps[kps["stance"] == 1].sort_values("key_point_id")
    ids = kp["key_point_id"].tolist()
    pos = labels[labels["label"] == 1]
    y = np.array([[((pos["arg_id"] == a) & (pos["key_point_id"] == k)).any() for k in ids] for a in g["arg_id"]])
    corpus = g["argument"].tolist() + kp["key_point"].tolist()
    be, lex = TfidfSvdBackend(seed=0).fit(corpus), LexicalSpace().fit(corpus)
    emb, rows = be.encode(g["argument"].tolist()), lex.transform(g["argument"].tolist())
    d_emb, d_rows = be.encode(kp["key_point"].tolist()), lex.transform(kp["key_point"].tolist())
    prior = hybrid(emb @ d_emb.T, (rows @ d_rows.T).toarray(), 0.1)
    d_prior = hybrid(d_emb @ d_emb.T, (d_rows @ d_rows.T).toarray(), 0.1)
    rng = np.random.default_rng(0)
    coded = sorted({int(i) for j in range(len(ids)) for i in rng.permutation(np.flatnonzero(y[:, j]))[:3]})
    rest = np.setdiff1d(np.arange(len(g)), coded)
    lin = PriorLinear(len(ids)).fit(emb[coded], rows[coded], prior[coded], y[coded],
                                    definitions=(d_emb, d_rows, d_prior))
    p = lin.proba(emb[rest], rows[rest], prior[rest])
    has = y[rest].any(axis=1)

    def top1(scores):
        return float(y[rest][has][np.arange(has.sum()), scores[has].argmax(axis=1)].mean())
    assert top1(p) > top1(prior[rest])
    assert p.min() >= 0 and p.max() <= 1
    platt = fit_platt(p, y[rest])
    assert platt is not None and platt[0] > 0  # higher probability, more often coded


def test_discovery_prepares_whole_texts_only_and_a_codebook_their_sentences_too() -> None:
    """Discovery clusters whole texts: its answers' sentences are neither split nor embedded."""
    q1 = _answers().query("question_id == 'q1'")
    calls: list[tuple[str, int]] = []

    def embed(texts, key):
        calls.append((key, len(texts)))
        return np.eye(len(texts), 4, dtype=np.float32)

    with_sent = prepare_question(q1, question_id="q1", embed_units=embed, resolved=None)
    assert any(key == "q1.sentences" for key, _ in calls) and with_sent.sent_mat
    calls.clear()
    whole = prepare_question(q1, question_id="q1", embed_units=embed, resolved=None, with_sentences=False)
    assert calls == [("q1", len(whole.units))] and whole.sent_mat == {}
    assert whole.units.equals(with_sent.units) and np.array_equal(whole.emb, with_sent.emb)
