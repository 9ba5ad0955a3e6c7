"""The open answers normalised partly in the worker (:func:`analysis.campaigns.parallel.normalise_shared`) give
:func:`normalise_all`'s keys and boilerplate bounds, whatever the share, and when the worker fails (#18)."""

from __future__ import annotations

import pytest
from generated_consultation import generate
from test_campaigns import _write_inputs, arguments  # noqa: F401 - a fixture
from test_campaigns_fast_paths import ODD, _fixture_texts
from test_campaigns_parse_once import SENT

from analysis.campaigns import parallel
from analysis.campaigns.stage import normalise_all
from analysis.worker import Worker, WorkerError

SEED = 9067


@pytest.fixture(scope="module")
def texts() -> list[str]:
    answers = generate(1500, SEED, share_1=0.8, share_2=0.1).answers
    return answers["text_redacted"].tolist() + _fixture_texts() + ODD + SENT + ODD  # copies, "Sent from" texts


def _want(texts: list[str]) -> tuple[dict, dict]:
    memo: dict = {}
    bounds: dict = {}
    normalise_all(texts, memo, bounds)
    assert any(b is None for b in bounds.values()) and any(b for b in bounds.values())
    return memo, bounds


def test_normalise_shared_is_normalise_all(texts):
    want_memo, want_bounds = _want(texts)
    with Worker() as worker:
        assert worker.start("analysis.campaigns.parallel")
        for share in (0.0, 0.3, 0.5, 1.0):
            memo: dict = {}
            bounds: dict = {}
            parallel.normalise_shared(texts, memo, bounds, worker, share=share, min_texts=1)
            assert memo == want_memo and bounds == want_bounds
        assert worker.started
    memo = {texts[0]: want_memo[texts[0]]}  # a memo holding some texts already: only the others are normalised
    bounds = {texts[0]: want_bounds[texts[0]]}
    parallel.normalise_shared(texts, memo, bounds, None)
    assert memo == want_memo and bounds == want_bounds


def test_normalise_shared_when_the_worker_fails(texts):
    class Broken:
        def call(self, *_a):
            raise WorkerError("no worker")

    want_memo, want_bounds = _want(texts)
    memo: dict = {}
    bounds: dict = {}
    parallel.normalise_shared(texts, memo, bounds, Broken(), min_texts=1)
    assert memo == want_memo and bounds == want_bounds


def test_normalise_part_encodes_bounds(texts):
    keys, lo, hi = parallel.normalise_part(list(dict.fromkeys(texts)))
    want_memo, want_bounds = _want(texts)
    for t, k, a, b in zip(dict.fromkeys(texts), keys, lo.tolist(), hi.tolist(), strict=True):
        assert k == want_memo[t] and want_bounds[t] == (None if a < 0 else (a, b))


def test_run_with_every_share_in_the_worker_writes_the_same_tables(arguments, tmp_path, monkeypatch):  # noqa: F811
    from analysis.campaigns import describe, stage
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
        monkeypatch.setattr(parallel, "SHARE_MIN_TEXTS", threshold)  # the normalising shared
        monkeypatch.setattr(describe, "MIN_BODIES", threshold)  # and the template sentences' decisions
        got[name] = {p.name: p.read_bytes() for p in stage.run(cfg, raw_dir=tmp_path / "raw", processed_dir=processed)}
    assert got["worker"] == got["here"] and len(got["here"]) == 3
