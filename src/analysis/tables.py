"""Read and write persisted tables: schema-checked, deterministic CSV.

Every table is validated against :mod:`analysis.schemas` on write *and* on read, sorted by its key,
and written as UTF-8 CSV with ``\\n`` line endings so the same content gives byte-identical files.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.schemas import SCHEMAS, validate


def _sort_keys(table: str, df: pd.DataFrame) -> list[str]:
    schema = SCHEMAS[table]
    unique = schema.unique
    if unique:
        return [unique] if isinstance(unique, str) else list(unique)
    return list(df.columns)


def write_table(df: pd.DataFrame, table: str, folder: str | Path) -> Path:
    """Validate ``df`` as ``table`` and write ``<folder>/<table>.csv``.

    Args:
        df: The table (not modified).
        table: Schema name.
        folder: Output folder (created if missing).

    Returns:
        The written path.
    """
    out = validate(df, table)
    keys = _sort_keys(table, out)
    if len(out):
        out = out.sort_values(keys, kind="mergesort", na_position="first").reset_index(drop=True)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{table}.csv"
    tmp = path.with_suffix(".csv.tmp")
    out.to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8", float_format="%.6g", date_format="%Y-%m-%dT%H:%M:%S")
    tmp.replace(path)
    return path


def read_table(table: str, folder: str | Path) -> pd.DataFrame:
    """Read ``<folder>/<table>.csv`` and validate it.

    Raises:
        FileNotFoundError: Naming the missing table and the stage that writes it.
        TableSchemaError: The file does not match its schema.
    """
    path = Path(folder) / f"{table}.csv"
    if not path.exists():
        raise FileNotFoundError(f"table {table!r} not found at {path}: run the stage that writes it first")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
    schema = SCHEMAS[table]
    for name, col in schema.columns.items():
        if name in df.columns and str(col.dtype) == "bool":
            df[name] = df[name].map({"True": True, "False": False, "true": True, "false": False})
    # text columns that are non-nullable come back as "" rather than NaN
    for name, col in schema.columns.items():
        if name in df.columns and str(col.dtype).startswith(("str", "string")) and not col.nullable:
            df[name] = df[name].fillna("")
    return validate(df, table)


def read_optional(table: str, folder: str | Path) -> pd.DataFrame | None:
    """Like :func:`read_table`, but ``None`` when the table's file does not exist (a stage that did not run)."""
    try:
        return read_table(table, folder)
    except FileNotFoundError:
        return None
