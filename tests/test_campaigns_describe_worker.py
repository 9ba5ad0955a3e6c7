"""Personal additions with the template sentences decided partly in the worker (:mod:`analysis.campaigns.describe`)
are :func:`describe_campaigns`' own, whatever share the worker takes, and when the worker fails (#18)."""

from __future__ import annotations

import numpy as np
import pytest
from generated_consultation import OPEN_QUESTIONS, generate
from test_campaigns import _write_inputs, arguments  # noqa: F401 - a fixture

from analysis.campaigns import describe
from analysis.campaigns.stage import (
    _TemplateMatcher,
    derive_template,
    describe_campaigns,
    find_campaigns,
    normalise_all,
    personal_addition,
)
from analysis.campaigns.text import strip_boilerplate
from analysis.config import CampaignSettings
from analysis.worker import Worker, WorkerError

SEED = 4417


@pytest.fixture(scope="module")
def questions():
    """Each open question's texts and campaign labels (90% copies, as the #18 target)."""
    answers = generate(2000, SEED, share_1=0.8, share_2=0.1).answers
    settings = CampaignSettings()
    out = []
    for q in OPEN_QUESTIONS:
        texts = answers.loc[answers["question_id"] == q, "text_redacted"].tolist()
        out.append((texts, find_campaigns(texts, settings, SEED, normalise_all(texts))))
    assert any((labels >= 0).sum() >= 500 for _t, labels in out)  # a campaign large enough to share
    return out


class _Broken:
    """A worker that cannot run anything."""

    def call(self, *_a):
        raise WorkerError("no worker")


def test_additions_in_two_processes_are_personal_addition(questions):
    settings = CampaignSettings()
    texts, labels = max(questions, key=lambda q: int((q[1] >= 0).sum()))
    lab = int(np.bincount(labels[labels >= 0]).argmax())
    bodies = list(dict.fromkeys(strip_boilerplate(texts[i]) for i in np.flatnonzero(labels == lab)))
    sents = derive_template(bodies, settings.template_share)
    want = {b: personal_addition(b, _TemplateMatcher(sents, settings.sentence_similarity)) for b in bodies}
    assert sum(bool(a) for a in want.values()) >= 50  # copies with additions of their own
    with Worker() as worker:
        assert worker.start("analysis.campaigns.describe")
        for first in (0.0, 0.01, 0.4, 1.0):
            matcher = _TemplateMatcher(sents, settings.sentence_similarity)
            assert describe.additions(bodies, sents, matcher, worker, first=first, min_bodies=1) == want
        assert worker.started
    for worker_or_none in (None, _Broken()):  # here alone; the worker failing: decided here
        matcher = _TemplateMatcher(sents, settings.sentence_similarity)
        assert describe.additions(bodies, sents, matcher, worker_or_none, min_bodies=1) == want


def test_template_flags_are_the_matchers_decisions(questions):
    settings = CampaignSettings()
    texts, labels = questions[0]
    sents = derive_template([strip_boilerplate(t) for t in texts], settings.template_share)
    sentences = sorted({s for t in texts for s in strip_boilerplate(t).split(". ")})
    matcher = _TemplateMatcher(sents, settings.sentence_similarity)
    flags = describe.template_flags(sents, settings.sentence_similarity, sentences)
    assert flags == [matcher.is_template(s) for s in sentences]
    assert any(flags) and not all(flags)


def test_describe_campaigns_with_a_worker(questions, monkeypatch):
    settings = CampaignSettings()
    monkeypatch.setattr(describe, "MIN_BODIES", 1)
    with Worker() as worker:
        assert worker.start("analysis.campaigns.describe")
        for texts, labels in questions:
            want = describe_campaigns(texts, labels, settings)
            assert describe_campaigns(texts, labels, settings, worker=worker) == want
            assert describe_campaigns(texts, labels, settings, worker=_Broken()) == want


def test_run_with_every_share_in_the_worker_writes_the_same_tables(arguments, tmp_path, monkeypatch):  # noqa: F811
    from analysis.campaigns import stage
    from analysis.config import parse_config
    from analysis.redaction import stage as redaction_stage

    cfg = parse_config({
        "id": "t", "title": "t", "sources": [{"file": "export.csv", "format": "generic"}],
        "questions": [{"id": "q1", "text": "Agree?", "kind": "closed", "choices": {"Support": "support"}},
                      {"id": "q2", "text": "Why?", "kind": "open"}, {"id": "q3", "text": "Else?", "kind": "open"}],
    })
    got = {}
    for threshold, name in ((10**9, "here"), (1, "worker")):
        processed = tmp_path / name
        _write_inputs(arguments, processed)
        redaction_stage.run(cfg, raw_dir=tmp_path / "raw", processed_dir=processed)
        monkeypatch.setattr(stage, "PARALLEL_MIN_ANSWERS", threshold)
        monkeypatch.setattr(describe, "MIN_BODIES", threshold)  # the template sentences' decisions
        got[name] = {p.name: p.read_bytes() for p in stage.run(cfg, raw_dir=tmp_path / "raw", processed_dir=processed)}
    assert got["worker"] == got["here"] and len(got["here"]) == 3
