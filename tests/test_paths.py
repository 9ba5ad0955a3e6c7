"""Paths are defined once and overridable by environment."""

from __future__ import annotations

from analysis import paths


def test_env_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("ANALYSIS_DATA_RAW", str(tmp_path / "raw"))
    monkeypatch.setenv("ANALYSIS_DATA_PROCESSED", str(tmp_path / "proc"))
    monkeypatch.setenv("ANALYSIS_REPORTS", str(tmp_path / "rep"))
    assert paths.config_path("x") == tmp_path / "raw" / "x" / "consultation.yml"
    assert paths.processed_dir("x") == tmp_path / "proc" / "x"
    assert paths.reports_dir("x") == tmp_path / "rep" / "x"
    assert paths.cache_dir("x") == tmp_path / "proc" / "x" / "cache"


def test_default_root_is_the_checkout(monkeypatch):
    monkeypatch.delenv("ANALYSIS_ROOT", raising=False)
    monkeypatch.delenv("ANALYSIS_DATA_RAW", raising=False)
    assert (paths.project_root() / "pyproject.toml").exists()
    assert paths.data_raw() == paths.project_root() / "data" / "raw"
