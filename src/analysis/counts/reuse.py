"""Count families kept between runs, keyed by a hash of exactly the tables they are computed from.

A re-run after a codebook edit changes ``core_answer_themes`` only: the counts of responses, campaigns, closed
options, breakdowns and Pol.is statements (and the position counts that do not cross positions with themes)
read none of it. :func:`reused` stores such a family's rows in ``<processed>/cache/counts/<part>.pkl`` with the
sha256 of its input tables, the consultation's configuration and the package's source; the next run computes
the family again only when one of them changed. A stored frame is the frame the computation returned (pickled
as it is), so ``out_counts`` is the same bytes either way.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from analysis.config import ConsultationConfig
from analysis.tables import table_digest

log = logging.getLogger(__name__)
T = TypeVar("T")


def input_key(cfg: ConsultationConfig, processed_dir: Path, tables: Iterable[str], part: str) -> str:
    """sha256 of a count family's inputs: its name, the configuration, the tables it reads and the source.

    Args:
        cfg: The consultation's configuration (every setting counts).
        processed_dir: Folder of the processed tables.
        tables: Tables the family reads (a missing one is hashed as absent).
        part: The family's name.
    """
    from analysis.pipeline import _package_hash  # noqa: PLC0415 - the pipeline imports the stages lazily

    h = hashlib.sha256(f"counts:{part}:".encode())
    h.update(cfg.model_dump_json().encode())
    for name in sorted(set(tables)):
        h.update(f"{name}:{table_digest(name, processed_dir)}".encode())
    h.update(_package_hash().encode())
    return h.hexdigest()


#: :func:`stored`'s answer when nothing usable is stored.
MISSING = object()


def stored(processed_dir: Path, part: str, key: str) -> object:
    """What the last run whose inputs had the same ``key`` stored for ``part``, or :data:`MISSING`.

    An unreadable file counts as missing (it is computed again).
    """
    path = Path(processed_dir) / "cache" / "counts" / f"{part}.pkl"
    if path.is_file():
        try:
            with path.open("rb") as f:
                value = pickle.load(f)  # noqa: S301 - written by this stage, in the consultation's own cache
            if isinstance(value, dict) and value.get("key") == key:
                log.info("counts: %s reused (its input tables are unchanged)", part)
                return value["value"]
        except Exception:  # noqa: BLE001 - a damaged file is recomputed
            log.warning("unreadable counts cache %s: recomputed", path.name)
    return MISSING


def store(processed_dir: Path, part: str, key: str, value: object) -> None:
    """Keep ``value`` as ``part``'s result for inputs ``key`` (a failure to write is logged, not raised)."""
    path = Path(processed_dir) / "cache" / "counts" / f"{part}.pkl"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump({"key": key, "value": value}, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    except OSError as err:
        log.warning("could not store %s: %s", path, err)


def reused(processed_dir: Path, part: str, key: str, compute: Callable[[], T]) -> T:
    """``compute()`` (count frames), or what it returned by the last run whose inputs had the same ``key`` (:func:`input_key`).

    One result is kept per ``part`` (the latest); an unreadable file is recomputed.
    """
    value = stored(processed_dir, part, key)
    if value is MISSING:
        value = compute()
        store(processed_dir, part, key, value)
    return value
