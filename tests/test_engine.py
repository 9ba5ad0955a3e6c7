"""The Dask engine (:mod:`analysis.engine`): the same outputs, byte for byte, as the local engine.

A 2-worker LocalCluster (started as ``analysis run --engine dask`` starts one) serves the module. The pipeline
runs in a child process (``analysis run ... --scheduler ADDRESS``), as an analyst's command would; this process
records the tasks the cluster computed (Dask's task stream), so a run that computed nothing on the cluster fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from distributed import Client, get_task_stream
from generated_consultation import write_survey

from analysis import engine, paths
from analysis.config import Settings
from analysis.errors import AnalysisError
from analysis.ingest import stage as ingest_stage
from analysis.ingest.language import guess_languages

CLI = "import sys; from analysis.cli import main; sys.argv[0] = 'analysis'; main()"


@pytest.fixture(scope="module")
def cluster(sample_results):
    """``(address, client)`` of a 2-worker LocalCluster (the sample's local outputs are produced first, before this
    process holds a client's threads)."""
    with engine.DaskEngine(workers=2) as eng, Client(eng.address_, set_as_default=False) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        yield eng.address_, client


def _run(raw: Path, out: Path, consultation: str, *extra: str, env: dict | None = None) -> str:
    """``analysis run consultation *extra`` in a child process, into ``out``; returns its stderr."""
    environ = {**os.environ, "ANALYSIS_DATA_RAW": str(raw), "ANALYSIS_DATA_PROCESSED": str(out / "processed"),
               "ANALYSIS_REPORTS": str(out / "reports"), "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg", **(env or {})}
    proc = subprocess.run([sys.executable, "-c", CLI, "run", consultation, *extra], env=environ,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stderr


def _files(folder: Path, pattern: str) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.glob(pattern)) if p.is_file()}


def _assert_same(local_processed: Path, local_reports: Path, other_processed: Path, other_reports: Path) -> None:
    """Every published file and every processed table (Parquet) byte-identical."""
    want, got = _files(local_reports, "**/*"), _files(other_reports, "**/*")
    assert sorted(got) == sorted(want)
    assert [name for name in want if want[name] != got[name]] == []
    want, got = _files(local_processed, "*.parquet"), _files(other_processed, "*.parquet")
    assert len(want) > 10 and sorted(got) == sorted(want)
    assert [name for name in want if want[name] != got[name]] == []


def _keys(stream: get_task_stream, label: str) -> list[str]:
    return [t["key"] for t in stream.data if str(t["key"]).startswith(f"{label}-")]


def test_sample_on_a_two_worker_cluster_is_byte_identical(cluster, sample_results, tmp_path):
    address, client = cluster
    with get_task_stream(client=client) as stream:
        log = _run(paths.data_raw(), tmp_path, "sample", "--scheduler", address)
    assert f"[engine] dask, scheduler {address}" in log
    assert len(_keys(stream, "ingest-language")) == 1  # the sample's distinct beginnings, 20,000 a task
    assert len(_keys(stream, "redaction-detect")) >= 2  # the sample's distinct texts, 2,048 a task
    assert len(_keys(stream, "themes-question")) == 6  # each open question (the email letters' included)
    assert len(_keys(stream, "campaigns-labels")) == 7  # each open question, and the whole submissions
    assert len(_keys(stream, "positions-question")) == 5  # each question with a text stance model
    _assert_same(paths.processed_dir("sample"), sample_results, tmp_path / "processed" / "sample",
                 tmp_path / "reports" / "sample")


def test_the_sample_themed_a_chunk_at_a_time_on_the_cluster_is_the_local_engines(cluster, tmp_path):
    """Themes tasks of up to 64 units: every question of the sample (its codebook's themes, a merge-free operations
    log) assigned a chunk a task (``themes-chunk-assign``); positions tasks of up to 64 distinct texts: every stance
    model counted and predicted a chunk a task. On the cluster and locally: the same bytes."""
    address, client = cluster
    chunks = {"ANALYSIS_THEMES_CHUNK_UNITS": "64", "ANALYSIS_POSITIONS_CHUNK_TEXTS": "64"}
    _run(paths.data_raw(), tmp_path / "local", "sample", env=chunks)
    with get_task_stream(client=client) as stream:
        _run(paths.data_raw(), tmp_path / "dask", "sample", "--scheduler", address, env=chunks)
    # 5 of the 6 open questions have more than 64 units (2 chunks or more each); the emailed letters' has fewer
    assert len(_keys(stream, "themes-question")) == 1
    assert len(_keys(stream, "themes-chunk-assign")) >= 10
    # the 5 stance models' 627-2,364 distinct texts: 10-37 chunks each to count, and their predicted texts
    assert len(_keys(stream, "positions-question")) == 0
    assert len(_keys(stream, "positions-chunk-terms")) >= 50
    assert len(_keys(stream, "positions-chunk-predict")) >= 5
    _assert_same(tmp_path / "local" / "processed" / "sample", tmp_path / "local" / "reports" / "sample",
                 tmp_path / "dask" / "processed" / "sample", tmp_path / "dask" / "reports" / "sample")


def test_a_20000_response_consultation_on_a_two_worker_cluster_is_byte_identical(cluster, tmp_path_factory):
    address, client = cluster
    raw = tmp_path_factory.mktemp("raw20k")
    write_survey(raw / "gen20k", 20_000)
    local, dask = tmp_path_factory.mktemp("local"), tmp_path_factory.mktemp("dask")
    # themes tasks of up to 8,192 units: the four questions of ~8,700 units each are discovered in 2 chunks (as a
    # million-response question is in chunks of 262,144), the fifth (7,927) whole; positions tasks of up to 4,096
    # distinct texts: the four stance models' 7,469-8,067 distinct texts counted in 2 chunks each; campaign detection
    # in tasks of up to 8,192 distinct texts
    chunks = {"ANALYSIS_THEMES_CHUNK_UNITS": "8192", "ANALYSIS_POSITIONS_CHUNK_TEXTS": "4096",
              "ANALYSIS_CAMPAIGNS_CHUNK_KEYS": "8192"}
    _run(raw, local, "gen20k", env=chunks)
    with get_task_stream(client=client) as stream:  # each stage in a forked child, as for a large consultation
        err = _run(raw, dask, "gen20k", "--engine", "dask", "--scheduler", address,
                   env={"ANALYSIS_STAGE_PROCESS": "always", **chunks})
    assert "detecting here" not in err  # nothing fell back to this process
    assert len(_keys(stream, "ingest-language")) >= 1
    assert len(_keys(stream, "redaction-detect")) >= 10
    assert len(_keys(stream, "themes-question")) == 1
    assert len(_keys(stream, "themes-chunk-counts")) == len(_keys(stream, "themes-chunk-topics")) == 8
    # every run has more than 8,192 answers: none is one task; the whole submissions and one question have more
    # distinct texts and are detected in rounds, the four other questions' are clustered whole in one task each
    assert len(_keys(stream, "campaigns-labels")) == 0
    assert len(_keys(stream, "campaigns-sample")) >= 2 and len(_keys(stream, "campaigns-assign")) >= 3
    assert len(_keys(stream, "campaigns-whole")) >= 5
    assert len(_keys(stream, "positions-question")) == 0
    assert len(_keys(stream, "positions-chunk-terms")) == 8
    assert len(_keys(stream, "positions-chunk-predict")) >= 4
    _assert_same(local / "processed" / "gen20k", local / "reports" / "gen20k", dask / "processed" / "gen20k",
                 dask / "reports" / "gen20k")


def test_the_engine_is_local_unless_asked_and_names_a_bad_choice():
    assert Settings().engine == "local"
    assert engine.resolve("local", None, None) == ("local", None)
    assert engine.resolve("dask", None, None) == ("dask", None)
    assert engine.resolve("local", "dask", None) == ("dask", None)
    assert engine.resolve("local", None, "tcp://10.0.0.1:8786") == ("dask", "tcp://10.0.0.1:8786")
    with pytest.raises(engine.EngineError, match="engine 'spark'"):
        engine.resolve("local", "spark", None)
    with pytest.raises(engine.EngineError, match="only used by the dask engine"):
        engine.resolve("local", "local", "tcp://10.0.0.1:8786")
    assert issubclass(engine.EngineError, AnalysisError)


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path):
    with engine.DaskEngine("tcp://127.0.0.1:9", timeout=3) as eng, pytest.raises(engine.EngineError, match="cannot reach"):
        eng.client()
    engine.release()


def test_a_task_that_raises_on_the_cluster_names_its_label(cluster):
    address, _client = cluster
    with engine.DaskEngine(address) as eng:
        try:
            assert eng.map(abs, [-2, 3, -1], label="probe", cost=[1, 3, 2]) == [2, 3, 1]  # the items' order
            with pytest.raises(engine.EngineError, match="a probe task failed on the Dask cluster"):
                eng.map(abs, ["x"], label="probe")
            assert eng.tasks_ == {"probe": 3}
        finally:
            engine.release()


def test_the_task_log_times_each_task_and_leaves_the_results_as_they_were(cluster, monkeypatch, tmp_path):
    import json

    address, _client = cluster
    log_file = tmp_path / "tasks.jsonl"
    monkeypatch.setenv(engine.TASK_LOG_ENV, str(log_file))
    with engine.DaskEngine(address) as eng:
        try:
            assert eng.map(abs, [-2, 3, -1], label="probe-timed", cost=[1, 3, 2]) == [2, 3, 1]
            assert eng.map(abs, [-5], label="probe-timed-2") == [5]
        finally:
            engine.release()
    lines = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    assert [(x["label"], x["index"], x["cost"]) for x in lines] == [
        ("probe-timed", 1, 3.0), ("probe-timed", 2, 2.0), ("probe-timed", 0, 1.0), ("probe-timed-2", 0, None)]
    assert all(x["wall_s"] >= 0 and x["cpu_s"] >= 0 and x["worker_pid"] != os.getpid() for x in lines)


@pytest.mark.parametrize("per_worker", [1, 2])
def test_large_items_are_sent_as_workers_have_room(cluster, monkeypatch, per_worker):
    """Each worker holds at most ``LARGE_PER_WORKER`` large inputs at once (by default its task's and the next), the
    items spread over both workers, the results in the items' order, whatever the number of items."""
    monkeypatch.setattr(engine, "LARGE_PER_WORKER", per_worker)
    size = 1 << 20

    def held_while_running(item: bytes) -> tuple[int, int, str]:  # nested: sent by value (workers cannot import
        import time  # this test module)

        from distributed import get_worker

        held = sum(1 for v in list(get_worker().data.values()) if isinstance(v, bytes) and len(v) == size)
        time.sleep(0.2)  # long enough for a sender without a limit to have sent every item
        return item[0], held, get_worker().address

    address, _client = cluster
    items = [bytes([i]) * size for i in range(12)]
    with engine.DaskEngine(address) as eng:
        try:
            got = eng.map(held_while_running, items, label="probe-large", large=True, cost=[i % 5 for i in range(12)])
        finally:
            engine.release()
    assert [tag for tag, _held, _worker in got] == list(range(12))
    assert max(held for _tag, held, _worker in got) == per_worker  # a sender without a limit: up to 6 (measured)
    assert len({worker for _tag, _held, worker in got}) == 2


def test_shared_sets_and_dicts_reach_every_task_whole(cluster):
    address, _client = cluster
    with engine.DaskEngine(address) as eng:
        try:  # (a standard-library function: the cluster's workers cannot import this test module)
            got = eng.map("{0} {pool} {table}".format, ["a", "b"], label="probe-shared",
                          shared=dict(pool=frozenset({1, 2}), table={"b": 2}))
        finally:
            engine.release()
    assert got == ["a frozenset({1, 2}) {'b': 2}", "b frozenset({1, 2}) {'b': 2}"]


def test_on_a_terminal_dask_draws_its_progress_bar(cluster, monkeypatch, capsys):
    address, _client = cluster
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    with engine.DaskEngine(address) as eng:
        try:
            assert eng.map(abs, [-4, 5], label="probe-bar") == [4, 5]
        finally:
            engine.release()
    assert "100% Completed" in capsys.readouterr().out


def test_languages_guessed_on_the_cluster_are_the_local_guesses(cluster, monkeypatch):
    """Ingest's language guesses on the cluster (real ArgKP and Pol.is texts, and texts in other languages) are the
    local ones; a cluster that fails leaves them to this process, with a warning."""
    import pyarrow as pa

    address, _client = cluster
    texts = (pd.read_csv(Path(__file__).parent / "fixtures" / "positions" / "argkp_two_topics.csv")["argument"]
             .str.slice(0, 200).tolist()
             + ["Je pense que la convention doit protéger la vie privée.", "Ko te tiriti te tūāpapa.",
                "Der Vertrag sollte die Menschenrechte schützen."])
    distinct = pa.array(texts, pa.large_string())
    local = guess_languages(texts)
    monkeypatch.setattr(ingest_stage, "GUESS_BATCH", 50)
    with engine.activated("dask", address):
        assert ingest_stage._guessed_on_cluster(distinct).to_pylist() == local
    assert ingest_stage._guessed_on_cluster(distinct) is None  # the local engine: guessed as before

    class Failing:
        def map(self, *args, **kwargs):
            raise engine.EngineError("ingest-language-0 failed on the cluster: boom")

    monkeypatch.setattr(engine, "active", lambda: Failing())
    assert ingest_stage._guessed_on_cluster(distinct) is None
