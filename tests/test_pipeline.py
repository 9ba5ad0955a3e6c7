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
