"""The pipeline: stages re-run only when their inputs change; re-runs are byte-identical; the guard runs last."""

from __future__ import annotations

import hashlib
import random

import pytest
import yaml

from analysis import pipeline

REASONS = {
    "support": ["Human rights safeguards are essential and this principle protects privacy.",
                "I support this because international cooperation against ransomware is needed.",
                "Yes, strong privacy protections and oversight matter for everyone online."],
    "oppose": ["This treaty could be misused by authoritarian states to punish journalists and critics.",
               "I oppose it: the scope is far too broad and will criminalise ordinary online speech.",
               "No. Cross-border data access without safeguards is dangerous for dissidents."],
}


def _consultation(root, n=60):
    raw = root / "raw" / "tiny"
    raw.mkdir(parents=True)
    rng = random.Random(7)
    lines = ["Response ID,Do you agree?,Why?"]
    for i in range(n):
        side = "support" if i % 3 else "oppose"
        tick = {"support": "Agree", "oppose": "Disagree"}[side]
        lines.append(f"R{i:03d},{tick},\"{rng.choice(REASONS[side])} Response number {i}.\"")
    (raw / "export.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = {
        "id": "tiny", "title": "Tiny test consultation",
        "sources": [{"file": "export.csv", "format": "generic", "id_column": "Response ID",
                     "columns": {"q1": "Do you agree?", "q1_why": "Why?"}}],
        "questions": [
            {"id": "q1", "text": "Do you agree?", "kind": "closed", "choices": {"Agree": "support", "Disagree": "oppose"}},
            {"id": "q1_why", "text": "Why?", "kind": "open", "related_question": "q1"},
        ],
    }
    (raw / "consultation.yml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return raw


def _hashes(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYSIS_DATA_RAW", str(tmp_path / "raw"))
    monkeypatch.setenv("ANALYSIS_DATA_PROCESSED", str(tmp_path / "processed"))
    monkeypatch.setenv("ANALYSIS_REPORTS", str(tmp_path / "reports"))
    return tmp_path


def test_cache_skips_unchanged_stages_and_reruns_dependents(env):
    raw = _consultation(env)
    lines: list[str] = []
    pipeline.run("tiny", echo=lines.append)
    assert sum("running" in line for line in lines) == len(pipeline.STAGES)
    assert lines[-1] == "[guard] clean"
    first = _hashes(env / "reports" / "tiny")
    assert any(k.endswith("summary.md") for k in first) and any(k.endswith(".png") for k in first)

    lines.clear()
    pipeline.run("tiny", echo=lines.append)
    assert sum("skipped" in line for line in lines) == len(pipeline.STAGES)

    # an analyst edit to the overrides re-runs themes and what reads its tables, never ingest or campaigns
    (raw / "overrides.csv").write_text("response_id,question_id,theme_id,action,note\n", encoding="utf-8")
    lines.clear()
    pipeline.run("tiny", echo=lines.append)
    ran = {line.split("]")[0][1:] for line in lines if "running" in line}
    assert "themes" in ran and not ran & {"ingest", "campaigns"}

    # a forced re-run from scratch gives byte-identical reports
    pipeline.run("tiny", force=True)
    assert _hashes(env / "reports" / "tiny") == first


def test_unknown_stage_is_an_error(env):
    _consultation(env)
    with pytest.raises(ValueError, match="unknown stage"):
        pipeline.run("tiny", stages=["nope"])


def test_stages_are_imported_only_when_they_run():
    import subprocess
    import sys

    from analysis import tables

    assert pipeline.TABLE_SUFFIX == tables.SUFFIX  # the cache check hashes the files the tables module writes
    assert [s.module.__name__ for s in pipeline.STAGES] == [s.package for s in pipeline.STAGES]
    code = ("import sys; import analysis.pipeline; "
            "print(sorted(m for m in ('pandas', 'sklearn', 'matplotlib', 'analysis.themes', 'analysis.report') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"  # a run whose stages are up to date pays for none of their imports


def test_conditional_table_input_is_hashed_only_when_read(tmp_path):
    """Positions read ``core_answer_themes`` only for Pol.is statements: hashed only when the votes exist."""
    from analysis.config import load_config

    raw = _consultation(tmp_path)
    cfg = load_config(raw / "consultation.yml")
    processed = tmp_path / "processed"
    processed.mkdir()
    stage = next(s for s in pipeline.STAGES if s.name == "positions")
    assert ("core_answer_themes", "core_statement_votes") in stage.tables_if
    themes = pipeline.table_path("core_answer_themes", processed)
    themes.write_bytes(b"one")
    before = pipeline.stage_inputs(stage, raw / "consultation.yml", cfg, processed)
    themes.write_bytes(b"two")
    assert pipeline.stage_inputs(stage, raw / "consultation.yml", cfg, processed) == before
    assert "table:core_answer_themes" not in before
    pipeline.table_path("core_statement_votes", processed).write_bytes(b"votes")
    with_votes = pipeline.stage_inputs(stage, raw / "consultation.yml", cfg, processed)
    themes.write_bytes(b"three")
    assert pipeline.stage_inputs(stage, raw / "consultation.yml", cfg, processed) != with_votes


def test_a_setting_by_environment_that_changes_outputs_is_an_input_when_set(tmp_path, monkeypatch):
    """The themes' chunk size and the partition size change what a stage writes: a run with another value is not
    skipped as up to date; unset, they leave the hashes (and so earlier runs' records) as they were."""
    from analysis.config import load_config

    raw = _consultation(tmp_path)
    cfg = load_config(raw / "consultation.yml")
    processed = tmp_path / "processed"
    processed.mkdir()
    stage = next(s for s in pipeline.STAGES if s.name == "themes")
    for var in ("ANALYSIS_THEMES_CHUNK_UNITS", "ANALYSIS_PARTITION_ROWS"):
        monkeypatch.delenv(var, raising=False)
    unset = pipeline.stage_inputs(stage, raw / "consultation.yml", cfg, processed)
    assert not [k for k in unset if k.startswith("env:")]
    for var in ("ANALYSIS_THEMES_CHUNK_UNITS", "ANALYSIS_PARTITION_ROWS"):
        monkeypatch.setenv(var, "4096")
        four = pipeline.stage_inputs(stage, raw / "consultation.yml", cfg, processed)
        monkeypatch.setenv(var, "8192")
        eight = pipeline.stage_inputs(stage, raw / "consultation.yml", cfg, processed)
        assert four != eight and four != unset and four[f"env:{var}"] == "4096"
        monkeypatch.delenv(var)
    assert pipeline.stage_inputs(stage, raw / "consultation.yml", cfg, processed) == unset


CODEBOOK = """version: 1
consultation: tiny
questions:
  q1_why:
    themes:
      - id: rights
        label: Human rights and privacy
        description: Human rights, privacy protections and oversight.
        seed_phrases:
          - human rights safeguards
          - privacy protections
      - id: misuse
        label: Misuse against critics
        description: Authoritarian states misusing the treaty against journalists and critics.
        seed_phrases:
          - misused by authoritarian states
          - criminalise online speech
"""


def _outputs(processed, reports):
    """sha256 of every processed table and record (not the caches) and of every report file."""
    out = {f"processed/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest()
           for p in sorted(processed.iterdir()) if p.is_file() and not p.name.startswith(".")}
    return out | {f"reports/{k}": v for k, v in _hashes(reports).items()}


def test_rerun_after_a_codebook_edit_equals_a_cold_run(tmp_path, monkeypatch):
    """The analyst's loop (codebook, run, edit one theme, run again) gives the bytes of a cold run of the edit."""
    edited = CODEBOOK.replace("          - privacy protections\n",
                              "          - privacy protections\n          - cooperation against ransomware\n")
    results = {}
    for case, books in (("warm", (CODEBOOK, edited)), ("cold", (edited,))):
        root = tmp_path / case
        for var, sub in (("RAW", "raw"), ("PROCESSED", "processed"), ("REPORTS", "reports")):
            monkeypatch.setenv(f"ANALYSIS_DATA_{var}" if var != "REPORTS" else "ANALYSIS_REPORTS", str(root / sub))
        raw = _consultation(root)
        lines: list[str] = []
        for book in books:
            (raw / "codebook.yml").write_text(book, encoding="utf-8")
            lines.clear()
            pipeline.run("tiny", echo=lines.append)
        ran = {line.split("]")[0][1:] for line in lines if "running" in line}
        if case == "warm":  # the edit re-runs themes and what reads them; positions read no themes here
            assert {"themes", "counts", "report"} <= ran and not ran & {"ingest", "redaction", "campaigns", "positions"}
        results[case] = _outputs(root / "processed" / "tiny", root / "reports" / "tiny")
    assert results["warm"] == results["cold"]
