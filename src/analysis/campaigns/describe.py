"""A campaign's personal additions with its sentences decided in two processes (the stage's worker and this one).

A copy's personal addition (:func:`analysis.campaigns.stage.personal_addition`) is its sentences that are not
template sentences (:class:`analysis.campaigns.stage._TemplateMatcher`, a ``difflib`` ratio against each
template sentence) and not bare placeholders, joined by a space. Whether a sentence is a template sentence
depends on the sentence, the template and the similarity alone, so any process may decide any sentence: the
worker decides the distinct sentences of the first :data:`FIRST_SHARE` of the copies' bodies while this process
splits the other bodies into sentences and decides the sentences only they hold. Every distinct sentence is
decided once, in one process, and the additions are those of :func:`~analysis.campaigns.stage.personal_addition`.

At the end of the stage the worker is otherwise idle (the detections are done): at 200,000 responses a campaign
of 130,000 distinct bodies holds 1.56 million sentences, 12,900 of them distinct, and deciding them (about 3 s)
took as long as splitting the bodies.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from analysis.campaigns.text import _TOKEN_ONLY_RE, split_sentences
from analysis.worker import Worker, WorkerError

if TYPE_CHECKING:
    from analysis.campaigns.stage import _TemplateMatcher

logger = logging.getLogger(__name__)

#: Share of a campaign's distinct bodies whose new sentences the worker decides (the first ones: it starts on
#: them while this process splits the rest).
FIRST_SHARE = 0.4
#: Fewest distinct bodies for which the worker is asked (fewer: decided here, as without a worker).
MIN_BODIES = 2_000


def template_flags(template: Sequence[str], similarity: float, sentences: list[str]) -> list[bool]:
    """Whether each sentence is a template sentence (run in the worker: a matcher of its own, same decisions)."""
    from analysis.campaigns.stage import _TemplateMatcher  # noqa: PLC0415 - stage imports this module

    matcher = _TemplateMatcher(template, similarity)
    return [matcher.is_template(s) for s in sentences]


def additions(bodies: list[str], template: Sequence[str], matcher: _TemplateMatcher, worker: Worker | None,
              first: float | None = None, min_bodies: int | None = None) -> dict[str, str]:
    """Each distinct body's personal addition (``{body: personal_addition(body, matcher)}``).

    Args:
        bodies: Distinct bodies (boilerplate stripped) of one campaign's copies.
        template: The campaign's template sentences (``matcher``'s).
        matcher: The campaign's matcher; the sentences decided in the worker are added to its memo.
        worker: A started worker, or ``None`` (everything is decided here).
        first: Share of ``bodies`` (the first ones) whose sentences are sent to the worker (:data:`FIRST_SHARE`
            when ``None``).
        min_bodies: Fewer bodies: no worker (:data:`MIN_BODIES` when ``None``).

    Returns:
        ``{body: its personal addition}`` for every body.
    """
    first = FIRST_SHARE if first is None else first
    min_bodies = MIN_BODIES if min_bodies is None else min_bodies
    canon: dict[str, str] = {}  # distinct sentence -> itself, in order of first appearance (the lists share them)
    setdefault = canon.setdefault
    n_first = int(len(bodies) * first) if worker is not None and len(bodies) >= min_bodies else -1
    sent: list[str] = []
    box: dict[str, object] = {}
    thread = None
    parts: list[list[str]] = []
    for j, body in enumerate(bodies):
        if j == n_first and canon:
            sent = list(canon)
            thread = threading.Thread(target=_decide_there, args=(worker, template, matcher.similarity, sent, box),
                                      daemon=True)
            thread.start()
        parts.append([setdefault(s, s) for s in split_sentences(body)])
    t0 = time.perf_counter()
    is_template = matcher.is_template
    for s in list(canon)[len(sent):]:  # the sentences of the later bodies alone: decided here meanwhile
        is_template(s)
    t1 = time.perf_counter()
    if thread is not None:
        thread.join()
        flags = box.get("flags")
        if flags is None:  # the worker could not: decided here
            logger.warning("campaigns: deciding template sentences failed in the worker (%s); deciding here",
                           box.get("error"))
            flags = [is_template(s) for s in sent]
        matcher.learn(sent, flags)
        logger.info("campaigns: %d bodies, %d distinct sentences, %d decided by the worker; here %.1fs, waited "
                    "%.1fs", len(bodies), len(canon), len(sent), t1 - t0, time.perf_counter() - t1)
    keep = {s: not is_template(s) and not _TOKEN_ONLY_RE.match(s) for s in canon}
    return {body: " ".join([s for s in sl if keep[s]]) for body, sl in zip(bodies, parts, strict=True)}


def _decide_there(worker: Worker, template: Sequence[str], similarity: float, sentences: list[str],
                  box: dict[str, object]) -> None:
    """``template_flags`` in the worker, into ``box["flags"]`` (``box["error"]`` when the worker could not)."""
    try:
        box["flags"] = worker.call(template_flags, list(template), similarity, sentences)
    except WorkerError as err:
        box["error"] = err
