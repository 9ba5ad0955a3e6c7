"""Every folder the toolkit reads or writes, defined once.

Each location can be overridden by an environment variable so tests (and analysts) can point the
pipeline at other folders without touching code:

- ``ANALYSIS_ROOT``: project root (default: the checkout this package lives in, else the working dir).
- ``ANALYSIS_DATA_RAW``: immutable inputs (default ``<root>/data/raw``).
- ``ANALYSIS_DATA_PROCESSED``: schema-checked tables (default ``<root>/data/processed``).
- ``ANALYSIS_REPORTS``: published outputs (default ``<root>/reports``).

Values are read at call time, never cached at import.

Consultation names are plain folder names (:func:`check_name`): a name can never point outside these
roots. A path to a ``consultation.yml`` is accepted only inside :func:`data_raw` (:func:`resolve_config`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from analysis.errors import ConfigError

#: A consultation name: letters, digits, ``-``, ``_`` and ``.`` (not first); ``..`` is refused separately.
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


def project_root() -> Path:
    """Return the project root folder."""
    env = os.environ.get("ANALYSIS_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[2]
    if (here / "pyproject.toml").exists():
        return here
    return Path.cwd().resolve()


def env_count(var: str, default: int, what: str) -> int:
    """A positive whole number set by environment variable ``var`` (``default`` when unset or blank).

    Raises:
        ConfigError: The value is not a positive whole number (the message names ``var`` and ``what`` it counts; the
            command line prints it, not a traceback).
    """
    value = os.environ.get(var, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{var}={value!r}: give a positive whole number of {what}")
    return int(value)


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


def check_name(consultation: str) -> str:
    """Return ``consultation`` if it is a plain consultation name (one folder name, nothing else).

    Raises:
        ConfigError: The name is empty, starts with ``.``, holds ``..``, a ``/`` or ``\\``, or any
            character other than letters, digits, ``-``, ``_`` and ``.``.
    """
    if not isinstance(consultation, str) or not _NAME.fullmatch(consultation) or ".." in consultation:
        raise ConfigError(
            f"consultation name {consultation!r} is not a plain name: use letters, digits, '-', '_' and '.' "
            f"(not first), no '/', '\\' or '..' (it names a folder under {data_raw()})"
        )
    return consultation


def raw_dir(consultation: str) -> Path:
    """Raw folder of one consultation (holds ``consultation.yml``, exports, sidecars)."""
    return data_raw() / check_name(consultation)


def processed_dir(consultation: str) -> Path:
    """Processed-tables folder of one consultation."""
    return data_processed() / check_name(consultation)


def reports_dir(consultation: str) -> Path:
    """Reports folder of one consultation."""
    return reports() / check_name(consultation)


def cache_dir(consultation: str) -> Path:
    """Cache folder (embeddings, stage hashes) of one consultation; safe to delete."""
    return processed_dir(consultation) / "cache"


def config_path(consultation: str) -> Path:
    """The consultation's ``consultation.yml``."""
    return raw_dir(consultation) / "consultation.yml"


def resolve_config(consultation: str | Path) -> Path:
    """The ``consultation.yml`` a command line argument names.

    Args:
        consultation: A consultation name (see :func:`check_name`), or a path to a ``.yml`` / ``.yaml``
            config inside a consultation folder under :func:`data_raw` (symbolic links resolved first).

    Returns:
        The config path (absolute for a path argument).

    Raises:
        ConfigError: The name is not a plain name, or the path is not inside a folder under the raw root.
    """
    given = Path(consultation)
    if given.suffix.lower() not in (".yml", ".yaml"):
        return config_path(str(consultation))
    root = data_raw().resolve()
    resolved = given.resolve()
    if not resolved.parent.is_relative_to(root) or resolved.parent == root:
        raise ConfigError(
            f"config path {str(consultation)!r} is not inside a consultation folder under {root}: "
            "configs are read only from there (give the consultation's name instead)"
        )
    return resolved
