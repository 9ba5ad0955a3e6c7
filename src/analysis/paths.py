"""Every folder the toolkit reads or writes, defined once.

Each location can be overridden by an environment variable so tests (and analysts) can point the
pipeline at other folders without touching code:

- ``ANALYSIS_ROOT``: project root (default: the checkout this package lives in, else the working dir).
- ``ANALYSIS_DATA_RAW``: immutable inputs (default ``<root>/data/raw``).
- ``ANALYSIS_DATA_PROCESSED``: schema-checked tables (default ``<root>/data/processed``).
- ``ANALYSIS_REPORTS``: published outputs (default ``<root>/reports``).

Values are read at call time, never cached at import.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """Return the project root folder."""
    env = os.environ.get("ANALYSIS_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[2]
    if (here / "pyproject.toml").exists():
        return here
    return Path.cwd().resolve()


def _env_dir(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).resolve() if value else default


def data_raw() -> Path:
    """Root of immutable raw inputs (one sub-folder per consultation)."""
    return _env_dir("ANALYSIS_DATA_RAW", project_root() / "data" / "raw")


def data_processed() -> Path:
    """Root of processed, schema-checked tables."""
    return _env_dir("ANALYSIS_DATA_PROCESSED", project_root() / "data" / "processed")


def reports() -> Path:
    """Root of published outputs."""
    return _env_dir("ANALYSIS_REPORTS", project_root() / "reports")


def raw_dir(consultation: str) -> Path:
    """Raw folder of one consultation (holds ``consultation.yml``, exports, sidecars)."""
    return data_raw() / consultation


def processed_dir(consultation: str) -> Path:
    """Processed-tables folder of one consultation."""
    return data_processed() / consultation


def reports_dir(consultation: str) -> Path:
    """Reports folder of one consultation."""
    return reports() / consultation


def cache_dir(consultation: str) -> Path:
    """Cache folder (embeddings, stage hashes) of one consultation; safe to delete."""
    return processed_dir(consultation) / "cache"


def config_path(consultation: str) -> Path:
    """The consultation's ``consultation.yml``."""
    return raw_dir(consultation) / "consultation.yml"
