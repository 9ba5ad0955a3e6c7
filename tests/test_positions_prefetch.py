"""The positions computed ahead in a second process (while the themes stage runs) are the ones computed in the
stage, used only for the inputs they were computed from; the pipeline starts them before the themes stage (#18)."""

from __future__ import annotations

import contextlib
import hashlib
import time

import pandas as pd
import pytest
from test_pipeline import _consultation
from test_positions import _argkp_consultation

from analysis import pipeline
from analysis.positions import prefetch
from analysis.positions import stage as positions
from analysis.tables import read_table
from analysis.worker import Worker


@pytest.fixture(autouse=True)
def _small_consultations_too(monkeypatch):
    monkeypatch.setattr(prefetch, "MIN_TEXTS", 0)  # these consultations are smaller than the threshold


@pytest.fixture()
def argkp(tmp_path):
    cfg, raw, proc, _truth = _argkp_consultation(tmp_path)
    return cfg, raw, proc


def test_nothing_is_started_for_a_few_texts(argkp, monkeypatch):
    cfg, raw, proc = argkp
    n = prefetch.text_answers(cfg, proc)
    assert n > 0
    monkeypatch.setattr(prefetch, "MIN_TEXTS", n + 1)
    started = []
    monkeypatch.setattr(prefetch, "Worker", lambda: started.append(1) or Worker())
    with prefetch.start_early(cfg, raw_dir=raw, processed_dir=proc):
        assert prefetch.take(proc, positions._result_key(cfg, raw, proc)) is None
    assert started == []
    monkeypatch.setattr(prefetch, "MIN_TEXTS", n)
    with prefetch.start_early(cfg, raw_dir=raw, processed_dir=proc):
        assert started == [1]


def test_nothing_is_started_for_more_texts_than_fit_beside_the_themes(argkp, monkeypatch):
    """Above MAX_TEXTS the positions' peak would add to the themes': the positions stage computes them itself."""
    cfg, raw, proc = argkp
    n = prefetch.text_answers(cfg, proc)
    started = []
    monkeypatch.setattr(prefetch, "Worker", lambda: started.append(1) or Worker())
    monkeypatch.setattr(prefetch, "MAX_TEXTS", n - 1)
    with prefetch.start_early(cfg, raw_dir=raw, processed_dir=proc):
        assert prefetch.take(proc, positions._result_key(cfg, raw, proc)) is None
    assert started == []
    assert prefetch.worker_modules(cfg, raw_dir=raw, processed_dir=proc) == ()  # nothing imported ahead for it
    monkeypatch.setattr(prefetch, "MAX_TEXTS", n)
    assert prefetch.worker_modules(cfg, raw_dir=raw, processed_dir=proc) == prefetch.PRELOAD
    with prefetch.start_early(cfg, raw_dir=raw, processed_dir=proc):
        assert started == [1]


def _in_process(cfg, raw, proc):
    questions, answers, analyst, _votes, stmt_pos = positions.positions_inputs(cfg, raw, proc)
    return positions.assign_positions(cfg, answers, questions, analyst, statement_positions=stmt_pos)[:3]


def test_the_result_computed_ahead_is_the_one_computed_in_the_stage(argkp):
    cfg, raw, proc = argkp
    expected = _in_process(cfg, raw, proc)
    key = positions._result_key(cfg, raw, proc)
    with prefetch.start_early(cfg, raw_dir=raw, processed_dir=proc):
        got = prefetch.take(proc, key)
        assert prefetch.take(proc, key) is None  # taken once
    assert got is not None
    for a, b in zip(got, expected, strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_the_worker_gives_back_what_computing_freed_before_it_waits(argkp, monkeypatch):
    """The worker holds its result until the positions stage takes it (after the whole themes stage): what the
    computation freed is returned to the system first, once the positions are computed (and before they are sent)."""
    cfg, raw, proc = argkp
    events = []
    real = positions.assign_positions

    def assign(*a, **k):
        out = real(*a, **k)
        events.append("computed")
        return out

    monkeypatch.setattr(positions, "assign_positions", assign)
    monkeypatch.setattr(pipeline, "release_memory", lambda: events.append("released") or True)
    key, frames = prefetch.compute(cfg, raw, proc)
    assert events == ["computed", "released"]
    for a, b in zip(frames, _in_process(cfg, raw, proc), strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert key == positions._result_key(cfg, raw, proc)


def test_a_result_of_other_inputs_is_not_used(argkp):
    cfg, raw, proc = argkp
    key = positions._result_key(cfg, raw, proc)
    with prefetch.start_early(cfg, raw_dir=raw, processed_dir=proc):
        # an input changed after the worker read it: the stage's key differs, so the stage computes
        assert prefetch.take(proc, "the key of other inputs") is None
    assert prefetch.take(proc, key) is None  # nothing pending after the block
    assert prefetch.compute(cfg, raw, proc)[0] == key  # the worker's result names the inputs it read


def test_nothing_is_started_when_the_cache_holds_a_result_of_these_inputs(argkp, monkeypatch):
    cfg, raw, proc = argkp
    positions.run(cfg, raw_dir=raw, processed_dir=proc)  # the cache now holds the result of these inputs
    started = []
    monkeypatch.setattr(prefetch, "Worker", lambda: started.append(1) or Worker())
    with prefetch.start_early(cfg, raw_dir=raw, processed_dir=proc):
        assert prefetch.take(proc, positions._result_key(cfg, raw, proc)) is None
    assert started == []


def test_a_result_not_taken_is_dropped_and_its_worker_ended(argkp, monkeypatch):
    cfg, raw, proc = argkp
    workers: list[Worker] = []
    monkeypatch.setattr(prefetch, "Worker", lambda: workers.append(Worker()) or workers[-1])
    with prefetch.start_early(cfg, raw_dir=raw, processed_dir=proc):
        assert workers and workers[0].started
    assert not workers[0].started and proc not in prefetch._PENDING


def test_the_stage_uses_the_result_computed_ahead_and_writes_the_same_tables(argkp, monkeypatch):
    cfg, raw, proc = argkp
    positions.run(cfg, raw_dir=raw, processed_dir=proc)
    before = {t: read_table(t, proc) for t in ("core_answer_positions", "core_position_disagreements")}
    (proc / "cache").joinpath("positions", "result.pkl").unlink()  # a cold cache: the stage computes
    calls = []
    real = positions.assign_positions
    with prefetch.start_early(cfg, raw_dir=raw, processed_dir=proc):
        monkeypatch.setattr(positions, "assign_positions", lambda *a, **k: calls.append(1) or real(*a, **k))
        positions.run(cfg, raw_dir=raw, processed_dir=proc)
    assert calls == []  # computed in the worker, not here
    for t, frame in before.items():
        pd.testing.assert_frame_equal(read_table(t, proc), frame)


def test_a_failed_worker_leaves_the_computing_to_the_stage(argkp):
    cfg, raw, proc = argkp
    key = positions._result_key(cfg, raw, proc)
    with prefetch.start_early(cfg, raw_dir=raw, processed_dir=proc):
        prefetch._PENDING[proc].kill()  # the process dies
        prefetch._PENDING[proc] = Worker()  # a worker that was sent nothing
        assert prefetch.take(proc, key) is None


def test_kill_ends_a_busy_worker_at_once():
    with Worker() as w:
        w.send(time.sleep, 60)
        t = time.perf_counter()
        w.kill()
        assert time.perf_counter() - t < 30 and not w.started


def _hashes(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.parquet"))}


def test_the_pipeline_starts_the_positions_with_the_themes_and_outputs_do_not_change(tmp_path, monkeypatch):
    assert {s.name: s.starts_with for s in pipeline.STAGES}["positions"] == "themes"
    for k in ("RAW", "PROCESSED"):
        monkeypatch.setenv(f"ANALYSIS_DATA_{k}", str(tmp_path / k.lower()))
    monkeypatch.setenv("ANALYSIS_REPORTS", str(tmp_path / "reports"))
    _consultation(tmp_path)
    taken = []
    real_take = prefetch.take
    monkeypatch.setattr(prefetch, "take", lambda *a: taken.append(r := real_take(*a)) or r)
    pipeline.run("tiny")
    assert len(taken) == 1 and taken[0] is not None  # computed ahead and used
    ahead = _hashes(tmp_path / "processed" / "tiny")
    monkeypatch.setattr(prefetch, "start_early", _nothing_early)  # the same run with the positions computed here
    taken.clear()
    pipeline.run("tiny", force=True)
    assert taken == [None]
    assert _hashes(tmp_path / "processed" / "tiny") == ahead


def _nothing_early(*_a, **_k):
    return contextlib.nullcontext()


def test_a_run_without_the_positions_starts_nothing(tmp_path, monkeypatch):
    for k in ("RAW", "PROCESSED"):
        monkeypatch.setenv(f"ANALYSIS_DATA_{k}", str(tmp_path / k.lower()))
    monkeypatch.setenv("ANALYSIS_REPORTS", str(tmp_path / "reports"))
    _consultation(tmp_path)
    started = []
    monkeypatch.setattr(prefetch, "start_early", lambda *a, **k: started.append(1) or _nothing_early())
    pipeline.run("tiny", stages=["ingest", "redaction", "campaigns", "themes"])
    assert started == []
    pipeline.run("tiny", stages=["themes", "positions"], force=True)
    assert started == [1]


def test_what_was_started_ahead_ends_once_its_stage_ran_or_was_skipped(tmp_path, monkeypatch):
    for k in ("RAW", "PROCESSED"):
        monkeypatch.setenv(f"ANALYSIS_DATA_{k}", str(tmp_path / k.lower()))
    monkeypatch.setenv("ANALYSIS_REPORTS", str(tmp_path / "reports"))
    raw = _consultation(tmp_path)
    lines: list[str] = []

    @contextlib.contextmanager
    def recorded(*_a, **_k):
        lines.append("<enter>")
        yield
        lines.append("<exit>")

    monkeypatch.setattr(prefetch, "start_early", recorded)
    pipeline.run("tiny", echo=lines.append)
    assert lines.index("<enter>") == lines.index("[themes] running ...") + 1
    assert lines[lines.index("<exit>") - 1] == "[positions] done: 3 files"
    # an analyst edit re-runs the themes; the positions, whether re-run or skipped, end what was started for them
    (raw / "overrides.csv").write_text("response_id,question_id,theme_id,action,note\n", encoding="utf-8")
    lines.clear()
    pipeline.run("tiny", echo=lines.append)
    assert lines.count("<enter>") == lines.count("<exit>") == 1
    assert lines[lines.index("<exit>") - 1].startswith("[positions] ")
