"""SetFit-style contrastive fine-tuning of the local sentence encoder on the analyst's codes (opt-in).

The linear learner (:mod:`analysis.themes.linear`) reads fixed embeddings. This module first adapts the
encoder itself to the consultation's themes, as SetFit does (Tunstall et al. 2022): pairs of texts from
the coded answers of one question are labelled 1 when they share a theme and 0 otherwise, the theme's
definition (label. description, seed phrases) is an anchor text of its theme, and the encoder is trained
so that the cosine of a pair approaches its label (cosine-similarity loss). The existing learners then
run unchanged on the tuned embeddings.

Everything is seeded (pair sampling, torch, dropout) and runs on CPU. The number of pairs is capped
(:data:`MAX_PAIRS`) so the tuning stays within minutes whatever the number of codes.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

#: Pairs per coded answer (SetFit's ``num_iterations``: one positive and one negative each).
PAIRS_PER_ANSWER = 10
#: Most pairs in one tuning run (~0.08 CPU s per pair measured: 50 themes x 20 codes stays within 5 minutes).
MAX_PAIRS = 3000
BATCH_SIZE = 16
LEARNING_RATE = 2e-5
#: Tokens per text while tuning (longer texts are truncated for the tuning only).
MAX_TOKENS = 96
#: Most tokens (both texts of every pair, each counted up to :data:`MAX_TOKENS`) in one tuning run: the cost
#: grows with the tokens, so long answers get fewer pairs. 3,000 pairs of ArgKP-length texts (~20 words) are
#: well within it and are not cut; 50 themes x 20 codes of ~110-word answers took 532 CPU s at 3,000 pairs.
MAX_PAIR_TOKENS = 200_000


@dataclass(frozen=True)
class CodedText:
    """One coded answer (or a theme's definition) of a question and the themes it carries."""

    question: str
    text: str
    themes: frozenset[str]


def make_pairs(coded: Sequence[CodedText], definitions: Sequence[CodedText], seed: int,
               per_answer: int = PAIRS_PER_ANSWER, max_pairs: int = MAX_PAIRS) -> list[tuple[str, str, float]]:
    """Labelled pairs within each question: 1 for a shared theme, 0 otherwise.

    Args:
        coded: Coded answers (an answer coded "no theme" has an empty set: it is only ever a negative).
        definitions: One text per theme (its definition), anchors of their theme.
        seed: Random seed of the sampling.
        per_answer: Positive and negative pairs drawn per coded answer.
        max_pairs: Cap on the total (a seeded subsample beyond it).

    Returns:
        ``(text a, text b, label)`` triples in a seeded order.
    """
    rng = np.random.default_rng(seed)
    by_q: dict[str, list[CodedText]] = {}
    for c in [*coded, *definitions]:
        by_q.setdefault(c.question, []).append(c)
    pairs: list[tuple[str, str, float]] = []
    for q in sorted(by_q):
        items = by_q[q]
        themed = [c for c in coded if c.question == q]
        for a in themed:
            pos = [b for b in items if b is not a and a.themes & b.themes]
            neg = [b for b in items if b is not a and not (a.themes & b.themes)]
            for pool, label in ((pos, 1.0), (neg, 0.0)):
                if pool:
                    for i in rng.choice(len(pool), size=min(per_answer, len(pool)), replace=False):
                        pairs.append((a.text, pool[int(i)].text, label))
    order = rng.permutation(len(pairs))[:max_pairs]
    return [pairs[int(i)] for i in order]


def tune(model, pairs: Sequence[tuple[str, str, float]], seed: int, *, epochs: int = 1,
         batch_size: int = BATCH_SIZE, lr: float = LEARNING_RATE, max_tokens: int = MAX_TOKENS):
    """Fine-tune a ``SentenceTransformer`` in place on labelled pairs (cosine-similarity loss).

    Args:
        model: A loaded ``SentenceTransformer`` (CPU).
        pairs: ``(text a, text b, label)``.
        seed: Seeds torch (dropout, initialisation) and the batch order.
        epochs: Passes over the pairs.
        batch_size: Pairs per step.
        lr: AdamW learning rate (linear decay, 10% warm-up).
        max_tokens: Truncation while tuning.

    Returns:
        The model, in eval mode.
    """
    import torch  # heavy import, only when tuning

    if not pairs:
        return model
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the same float sums (so the same vectors) on any machine
    try:
        return _tune(model, pairs, seed, epochs, batch_size, lr, max_tokens)
    finally:
        torch.set_num_threads(threads)


def _tune(model, pairs, seed: int, epochs: int, batch_size: int, lr: float, max_tokens: int):
    """The training loop of :func:`tune` (seeded; cosine-similarity loss, AdamW, warm-up + linear decay)."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    old_len = model.max_seq_length
    model.max_seq_length = min(old_len, max_tokens)
    prep = getattr(model, "preprocess", None) or model.tokenize  # sentence-transformers >= 6: preprocess
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    n_steps = epochs * int(np.ceil(len(pairs) / batch_size))
    warm = max(1, n_steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (n_steps - s) / max(1, n_steps - warm))))
    for _ in range(epochs):
        order = rng.permutation(len(pairs))
        for start in range(0, len(pairs), batch_size):
            batch = [pairs[int(i)] for i in order[start:start + batch_size]]
            emb = []
            for side in (0, 1):
                feats = prep([b[side] for b in batch])
                emb.append(model(dict(feats))["sentence_embedding"])
            cos = torch.nn.functional.cosine_similarity(emb[0], emb[1])
            loss = torch.nn.functional.mse_loss(cos, torch.tensor([b[2] for b in batch], dtype=cos.dtype))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    model.max_seq_length = old_len
    return model


def within_token_budget(pairs: Sequence[tuple[str, str, float]], n_tokens, budget: int = MAX_PAIR_TOKENS,
                        max_tokens: int = MAX_TOKENS) -> list[tuple[str, str, float]]:
    """The longest prefix of ``pairs`` (already in a seeded order) whose texts hold at most ``budget`` tokens.

    Args:
        pairs: ``(text a, text b, label)`` from :func:`make_pairs`.
        n_tokens: Callable giving the token counts of a list of texts (the model's tokenizer).
        budget: Most tokens in all, each text counted up to ``max_tokens`` (its truncation while tuning).
        max_tokens: Truncation while tuning.
    """
    texts = sorted({t for a, b, _ in pairs for t in (a, b)})
    length = dict(zip(texts, (min(int(n), max_tokens) for n in n_tokens(texts)), strict=True))
    total = np.cumsum([length[a] + length[b] for a, b, _ in pairs])
    return list(pairs[: int(np.searchsorted(total, budget, side="right"))])


def token_counter(model):
    """Token counts of texts under ``model``'s tokenizer (special tokens included).

    A model whose tokenizer is not a Hugging Face tokenizer (e.g. a word-embedding model) is counted in
    words plus two.
    """
    tok = getattr(model, "tokenizer", None)

    def count(texts: list[str]) -> list[int]:
        try:
            return [len(ids) for ids in tok(texts, add_special_tokens=True, truncation=False)["input_ids"]]
        except TypeError:  # not callable as a Hugging Face tokenizer
            return [len(t.split()) + 2 for t in texts]

    return count


def pairs_hash(pairs: Sequence[tuple[str, str, float]], seed: int) -> str:
    """Fingerprint of a tuning run (its pairs and seed): part of the tuned backend's cache key."""
    h = hashlib.sha256(f"setfit:v1:{seed}:{MAX_TOKENS}:{BATCH_SIZE}:{LEARNING_RATE}".encode())
    for a, b, y in pairs:
        h.update(f"{a}\x00{b}\x00{y}\x01".encode())
    return h.hexdigest()[:16]


def coded_texts(answers: pd.DataFrame, tags: pd.DataFrame, codebook) -> tuple[list[CodedText], list[CodedText]]:
    """The question-level codes of a run as :class:`CodedText` (answers, then one definition per theme).

    Args:
        answers: ``core_answers_clean`` rows of the themed questions (``text_redacted``).
        tags: ``core_analyst_tags`` (the tag ``other`` = coded with no theme; response-level tags, question
            ``""``, are not used for tuning).
        codebook: The frozen :class:`~analysis.themes.codebook.Codebook`.
    """
    from analysis.themes.codebook import OTHER  # local: keeps this module light to import

    known = {q: {t.id for t in rq.themes} for q, rq in codebook.questions.items()}
    text = {(str(r), str(q)): str(t) for r, q, t in zip(answers["response_id"], answers["question_id"],
                                                        answers["text_redacted"].fillna(""), strict=True)}
    codes: dict[tuple[str, str], set[str]] = {}
    for r, q, tag in zip(tags["response_id"].astype(str), tags["question_id"].fillna("").astype(str),
                         tags["tag"].astype(str), strict=True):
        if q in known and (r, q) in text and (tag in known[q] or tag == OTHER):
            codes.setdefault((r, q), set()).update({tag} - {OTHER})
    items = [CodedText(q, text[(r, q)], frozenset(c)) for (r, q), c in sorted(codes.items()) if text[(r, q)].strip()]
    defs = [CodedText(q, ". ".join(x for x in (t.label, t.description or "") if x), frozenset([t.id]))
            for q, rq in sorted(codebook.questions.items()) for t in rq.themes]
    return items, defs


def tuned_backend(backend, answers: pd.DataFrame, tags: pd.DataFrame, codebook, seed: int):
    """A copy of a sentence-transformers backend whose model is fine-tuned on the run's codes.

    The backend is returned unchanged when it is not a sentence-transformers backend or no question-level
    code is usable. The tuned backend's fingerprint adds the hash of the training pairs, so cached
    embeddings of the untuned (or differently tuned) model are never reused.
    """
    import copy

    if getattr(backend, "name", "") != "sentence-transformers" or tags is None or not len(tags):
        return backend
    items, defs = coded_texts(answers, tags, codebook)
    drawn = make_pairs(items, defs, seed, max_pairs=MAX_PAIRS)
    pairs = within_token_budget(drawn, token_counter(backend.model_))
    if len(pairs) < len(drawn):
        logger.info("fine-tuning on %d of %d pairs (long answers: at most %d tokens per run)", len(pairs),
                    len(drawn), MAX_PAIR_TOKENS)
    if not pairs:
        return backend
    tuned = copy.copy(backend)
    tuned.model_ = tune(copy.deepcopy(backend.model_), pairs, seed)
    tuned.model_hash_ = f"{backend.model_hash_}+setfit:{pairs_hash(pairs, seed)}"
    logger.info("sentence encoder fine-tuned on %d coded answers (%d pairs, SetFit-style)", len(items), len(pairs))
    return tuned
