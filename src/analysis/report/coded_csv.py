"""The internal coded-answers CSV (:data:`analysis.report.tables.INTERNAL_CODED_CSV`) with its answer columns kept.

At 50,000 responses the CSV has ~300,000 rows of full answer text; rendering them was ~5 CPU s of a report re-run
after a codebook edit, which changes only the themes (and maybe the positions) columns. The columns taken from the
answers and respondents (:data:`analysis.report.tables.STATIC_COLUMNS`) are rendered once and kept in the
consultation's cache, by the sha256 of the two tables they come from (``core_answers_clean``, ``core_responses``),
the source of the modules that render them and pandas' version; each run renders the other columns and joins each
row's two parts. A CSV row is its fields joined by commas, each field rendered (and quoted) on its own, so the joined
rows are the bytes one ``to_csv`` of the whole frame writes (``tests/test_report_internal.py`` compares them).
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.hashing import sha256_file
from analysis.report.workbook import neutralise_frame
from analysis.tables import table_digest

log = logging.getLogger(__name__)

#: A last field no text holds, unquoted by the CSV writer: each rendered row ends with ``,`` + it + newline, so the
#: rows of a block are found even where a text holds newlines.
_END = "\ue000row-end\ue000"
_TABLES = ("core_answers_clean", "core_responses")


def static_key(processed_dir: Path) -> str:
    """sha256 of what the kept columns are rendered from: their tables' files, the rendering code, pandas."""
    from analysis.report import tables, workbook  # noqa: PLC0415 - tables imports this module

    h = hashlib.sha256(f"coded-csv-v2:pandas{pd.__version__}:".encode())
    for name in _TABLES:
        h.update(f"{name}:{table_digest(name, processed_dir)};".encode())
    for mod in (tables, workbook):
        h.update(sha256_file(Path(mod.__file__)).encode())
    h.update(sha256_file(Path(__file__)).encode())
    return h.hexdigest()


def render_rows(df: pd.DataFrame, float_format: str | None = None) -> list[str] | None:
    """Each row of ``df`` as ``to_csv`` renders it (neutralised, no header, no newline), or ``None`` when a text
    holds the row marker (then write the frame whole)."""
    text = neutralise_frame(df).assign(**{_END: _END}).to_csv(index=False, header=False, lineterminator="\n",
                                                              float_format=float_format)
    parts = text.split(f",{_END}\n")
    if len(parts) != len(df) + 1 or parts[-1]:
        return None
    parts.pop()
    return parts


def write_coded_csv(ca: pd.DataFrame, rows: np.ndarray, n_static: int, path: Path, *, store: Path | None,
                    key: str | None, encoding: str = "utf-8-sig") -> bool:
    """Write ``ca`` (no ``_row`` column) to ``path`` as ``to_csv`` would, its first ``n_static`` columns from ``store``.

    Args:
        ca: The coded answers, in the order written.
        rows: For each row of ``ca``, its row in the answers table (the kept rows are in that order).
        n_static: Leading columns of ``ca`` taken from the answers and respondents only.
        path: The CSV.
        store: Folder keeping the rendered leading columns (``None``: rendered, not kept).
        key: :func:`static_key` of the tables ``ca`` was built from.
        encoding: The file's encoding (the kept rows are kept encoded, under it).

    Returns:
        Whether the file was written (``False``: a text holds the row marker; write the frame whole).
    """
    static_cols, other_cols = list(ca.columns[:n_static]), list(ca.columns[n_static:])
    enc = encoding.removesuffix("-sig")
    key = f"{enc}-{key}" if key is not None else None
    kept = _load(store, key, int(rows.max()) + 1 if len(rows) else 0)
    if kept is None:
        first = np.unique(rows, return_index=True)[1]  # each answer's first row, in answer order
        if len(first) != (int(rows.max()) + 1 if len(rows) else 0):
            return False
        text = render_rows(ca[static_cols].iloc[first])
        if text is None:
            return False
        kept = [t.encode(enc) for t in text]  # kept encoded: encoding them was a fifth of the file's time
        _save(store, key, kept)
    other = render_rows(ca[other_cols]) if other_cols else None
    if other_cols and other is None:
        return False
    header = neutralise_frame(ca.iloc[:0]).to_csv(index=False, lineterminator="\n")
    if other is None:
        body = [kept[r] + b"\n" for r in rows.tolist()]
    else:
        body = [b"%s,%s\n" % (kept[r], o.encode(enc)) for r, o in zip(rows.tolist(), other, strict=True)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header.encode(encoding) + b"".join(body))
    return True


def _file(store: Path, key: str) -> Path:
    return store / f"coded-{key[:48]}.pkl"


def _load(store: Path | None, key: str | None, n: int) -> list[bytes] | None:
    if store is None or key is None or not _file(store, key).is_file():
        return None
    try:
        with _file(store, key).open("rb") as f:
            kept = pickle.load(f)  # noqa: S301 - written here, in the consultation's own cache
    except Exception:  # noqa: BLE001 - a damaged file is rendered again
        log.warning("unreadable coded-answers cache in %s: rendered again", store)
        return None
    return kept if isinstance(kept, list) and len(kept) == n else None


def _save(store: Path | None, key: str | None, kept: list[bytes]) -> None:
    if store is None or key is None:
        return
    try:
        store.mkdir(parents=True, exist_ok=True)
        tmp = _file(store, key).with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump(kept, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(_file(store, key))
        for old in store.glob("coded-*.pkl"):
            if old != _file(store, key):
                old.unlink(missing_ok=True)
    except OSError as err:
        log.warning("could not store the coded answers' columns in %s: %s", store, err)
