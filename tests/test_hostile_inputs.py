"""The hostile-input suite: 150+ broken, strange and malicious inputs through config loading and ingest.

Each case (written at collection time by ``tests/hostile/generate.py`` into a temporary folder) must end in one
of two ways, within its time budget: ingest reads it, with a balanced ledger, every row a response or a reject,
every planted text found in an answer or a reject's raw content, nothing corrupted; or it stops with an
:class:`~analysis.errors.AnalysisError` whose message names the file (and the row or line). Any other exception
(a traceback) or a hang fails the case.
"""

from __future__ import annotations

import atexit
import math
import os
import re
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from hostile.generate import Case, generate

from analysis import pipeline
from analysis.config import load_config
from analysis.errors import AnalysisError
from analysis.ingest import ingest
from analysis.ingest.build import WARNING_PREFIX
from analysis.schemas import validate

_ROOT = Path(tempfile.mkdtemp(prefix="hostile-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)  # also when the module is collected but not run
CASES = generate(_ROOT)


class _Hang(Exception):
    pass


def _alarm(signum, frame):  # noqa: ANN001
    raise _Hang


def _ingest(case: Case) -> tuple[dict | None, pd.DataFrame | None, AnalysisError | None, float]:
    folder = _ROOT / case.name
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(max(60, math.ceil(4 * case.budget)))
    t0 = time.perf_counter()
    try:
        cfg = load_config(folder / "consultation.yml")
        tables, rejects = ingest(cfg, folder)
        return tables, rejects, None, time.perf_counter() - t0
    except AnalysisError as err:
        return None, None, err, time.perf_counter() - t0
    except _Hang:
        pytest.fail(f"{case.name}: no result after {max(60, math.ceil(4 * case.budget))} s (a hang)")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _rows_accounted(resp: pd.DataFrame, rejects: pd.DataFrame) -> list[int]:
    """Data rows that are a kept response or a reject (a collapsed run of blank rows counts for its range)."""
    rows = list(resp["source_row"].astype(int))
    real = rejects[~rejects["reason"].str.startswith(WARNING_PREFIX)]
    for row, reason in zip(real["row"], real["reason"], strict=True):
        span = re.match(r"blank rows (\d+)-(\d+)", reason)
        rows += range(int(span[1]), int(span[2]) + 1) if span else [int(row)]
    return rows


def test_the_suite_is_large_and_covers_every_family() -> None:
    assert len(CASES) >= 100
    prefixes = {c.name.split("-")[0] for c in CASES}
    assert {"dialect", "encoding", "forced", "implausible", "xlsx", "date", "pdf", "eml", "docx", "txt", "file",
            "config", "rows"} <= prefixes


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input(case: Case) -> None:
    tables, rejects, err, seconds = _ingest(case)
    assert seconds <= 2 * case.budget, f"{case.name} took {seconds:.1f} s (budget {case.budget} s)"
    if case.error:
        assert err is not None, f"{case.name}: expected an error naming {case.error}, ingest succeeded"
        for part in case.error:
            assert part in str(err), (part, str(err))
        return
    assert err is None, f"{case.name}: unexpected error: {err}"
    for name, df in tables.items():
        validate(df, name)  # every table matches its schema; the ledger balances (rows read = kept + rejected)
    validate(rejects, "core_rejects")
    ledger, resp, ans = tables["ledger"], tables["core_responses"], tables["core_answers"]
    if case.rows is not None:
        assert int(ledger["rows_read"].sum()) == case.rows
    if case.kept is not None:
        assert len(resp) == case.kept == int(ledger["rows_kept"].sum())
    if case.files is not None:
        assert len(ledger) == case.files and ledger["file"].is_unique
    if case.covered is not None:
        got = _rows_accounted(resp, rejects)
        assert sorted(got) == list(range(2, case.covered + 1)), "a row is neither kept nor rejected, or both"
    texts = "\x1e".join(ans["answer"]) + "\x1e" + "\x1e".join(rejects["raw"].dropna().astype(str))
    for text in case.texts:
        assert text in texts, f"lost: {text[:80]!r}"
    for text in case.absent:
        assert not ans["answer"].str.contains(text, regex=False).any(), f"an answer holds {text!r}"
    for part in case.reasons:
        assert rejects["reason"].str.contains(part, regex=False).any(), (part, rejects["reason"].tolist())
    if case.answers:
        by = ans.merge(resp[["response_id", "source_row"]], on="response_id").set_index(["source_row", "question_id"])
        for key, text in case.answers.items():
            assert by.loc[key, "answer"] == text, key
    for row, iso in case.dates.items():
        value = resp.set_index("source_row").loc[row, "submitted_at"]
        assert (pd.isna(value) if iso is None else value == pd.Timestamp(iso)), (row, value, iso)


def test_small_consultation_runs_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three answers per open question (under themes' min_answers of 5): every stage runs, the report exists."""
    raw = tmp_path / "raw" / "tiny"
    raw.mkdir(parents=True)
    (raw / "export.csv").write_text(
        "Response ID,Submitted on,Do you agree?,Why?\n"
        "R1,01/03/2024 10:00,Yes,Because the buses are too slow and the traffic is terrible every morning.\n"
        "R2,02/03/2024 11:00,No,It costs too much money for families who already struggle with bills.\n"
        "R3,03/03/2024 12:00,Yes,Cleaner air in the city centre would help children with asthma.\n", encoding="utf-8")
    (raw / "consultation.yml").write_text(
        "id: tiny\ntitle: Tiny\nsources:\n  - file: export.csv\n    format: citizen_space\n"
        "    consent_default: publish_anonymous\n    columns: {q1: 'Do you agree?', q2: 'Why?'}\n"
        "questions:\n  - {id: q1, text: 'Do you agree?', kind: closed, choices: {'Yes': support, 'No': oppose}}\n"
        "  - {id: q2, text: 'Why?', kind: open, related_question: q1}\n", encoding="utf-8")
    for var, sub in (("ANALYSIS_DATA_RAW", "raw"), ("ANALYSIS_DATA_PROCESSED", "processed"),
                     ("ANALYSIS_REPORTS", "reports")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    done = pipeline.run("tiny")
    assert set(done) >= {"ingest", "themes", "report"}
    assert (tmp_path / "reports" / "tiny" / "summary.md").exists()
    model = pd.read_parquet(tmp_path / "processed" / "tiny" / "out_theme_model.parquet")
    assert list(model.columns)[:2] == ["question_id", "theme_id"]


def test_second_concurrent_run_stops_and_stale_lock_is_taken_over(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    raw = tmp_path / "raw" / "locked"
    raw.mkdir(parents=True)
    (raw / "export.csv").write_text("Response ID,Why?\nR1,Because.\n", encoding="utf-8")
    (raw / "consultation.yml").write_text(
        "id: locked\ntitle: L\nsources:\n  - {file: export.csv, format: generic, columns: {q1: 'Why?'}}\n"
        "questions:\n  - {id: q1, text: 'Why?', kind: open}\nsettings: {language_detection: false}\n",
        encoding="utf-8")
    for var, sub in (("ANALYSIS_DATA_RAW", "raw"), ("ANALYSIS_DATA_PROCESSED", "processed"),
                     ("ANALYSIS_REPORTS", "reports")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    lock = tmp_path / "processed" / "locked" / pipeline.LOCK_FILE
    lock.parent.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock.write_text(f"{holder.pid} 2024-03-01 10:00:00\n", encoding="utf-8")
        with pytest.raises(pipeline.RunLockedError, match=rf"another run is in progress \(process {holder.pid}"):
            pipeline.run("locked", stages=["ingest"])
        assert lock.exists() and not (lock.parent / "core_responses.parquet").exists()  # nothing was touched
    finally:
        holder.kill()
        holder.wait()
    dead = holder.pid  # that process is gone: its lock is stale and taken over
    lock.write_text(f"{dead} 2024-03-01 10:00:00\n", encoding="utf-8")
    assert pipeline.run("locked", stages=["ingest"])["ingest"]
    assert not lock.exists()  # released after the run


def test_pipeline_hashes_a_folder_with_a_non_utf8_file_name() -> None:
    """The stage cache used to stop the whole run before ingest (UnicodeEncodeError naming no file)."""
    docs = _ROOT / "file-name-not-utf8" / "docs"
    assert any(b"\xe9" in os.fsencode(p.name) for p in docs.iterdir())
    first = pipeline._hash_tree(docs)
    assert len(first) == 64 and pipeline._hash_tree(docs) == first
