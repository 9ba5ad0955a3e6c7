"""Read and write persisted tables: schema-checked, deterministic, typed columnar files (Parquet).

Every table is validated against :mod:`analysis.schemas` on write *and* on read, sorted by its key, and
written as ``<folder>/<table>.parquet`` (pyarrow, zstd, no index, statistics off) so the same content gives a
byte-identical file. Parquet keeps the dtypes, so a stage no longer re-parses text: reading a 60,000-row
answers table costs a fraction of parsing its CSV (``docs/performance.md``).

The values stored are exactly those the earlier CSV tables held, so the outputs downstream did not change:
floats are rounded to 6 significant digits (CSV's ``%.6g``), timestamps to the second, and an empty string in
a nullable text column is stored as missing. Published tables stay CSV/XLSX (the report stage writes them);
:func:`export_csv` writes any internal table as CSV for an analyst who wants to open it in a spreadsheet.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.schemas import SCHEMAS, validate

#: File suffix of persisted internal tables.
SUFFIX = ".parquet"


def table_path(table: str, folder: str | Path) -> Path:
    """Where ``table`` is stored under ``folder``."""
    return Path(folder) / f"{table}{SUFFIX}"


def table_exists(table: str, folder: str | Path) -> bool:
    """Whether ``table`` has been written under ``folder``."""
    return table_path(table, folder).exists()


def _sort_keys(table: str, df: pd.DataFrame) -> list[str]:
    schema = SCHEMAS[table]
    unique = schema.unique
    if unique:
        return [unique] if isinstance(unique, str) else list(unique)
    return list(df.columns)


def _round6(values: pd.Series) -> pd.Series:
    """Round floats as ``'%.6g'`` does (the former CSV format), keeping missing values."""
    arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
    ok = np.isfinite(arr)
    out = arr.copy()
    if ok.any():
        out[ok] = np.array([float(f"{v:.6g}") for v in arr[ok].tolist()])
    return pd.Series(out, index=values.index, name=values.name)


def _canonical(out: pd.DataFrame, table: str) -> pd.DataFrame:
    """The values a CSV round trip kept: 6 significant digits, whole seconds, '' as missing when nullable."""
    schema = SCHEMAS[table]
    out = out.copy()
    for name, col in schema.columns.items():
        if name not in out.columns:  # an optional column the table does not have
            continue
        dtype = str(col.dtype)
        if dtype.startswith("float"):
            out[name] = _round6(out[name])
        elif dtype.startswith("datetime"):
            out[name] = out[name].dt.floor("s")
        elif dtype.startswith("str") and col.nullable:
            out[name] = out[name].mask(out[name].astype("string").eq("").fillna(False).astype(bool))
    return out


def _sorted(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``df`` sorted by ``keys`` (stable, missing first), with a fresh index.

    The order is found on the key columns alone; a table already in that order (a stage that wrote its rows in key
    order, or kept the order of a table it read) is not copied: ``take`` would copy every column, long texts
    included, for the identity.
    """
    df = df.reset_index(drop=True)
    if not len(df):
        return df
    order = df[keys].sort_values(keys, kind="mergesort", na_position="first").index.to_numpy()
    if np.array_equal(order, np.arange(len(df))):
        return df
    return df.take(order).reset_index(drop=True)


def write_table(df: pd.DataFrame, table: str, folder: str | Path) -> Path:
    """Validate ``df`` as ``table`` and write ``<folder>/<table>.parquet``.

    Args:
        df: The table (not modified).
        table: Schema name.
        folder: Output folder (created if missing).

    Returns:
        The written path.
    """
    out = validate(df, table)
    out = _sorted(out, _sort_keys(table, out))
    out = _canonical(out, table)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = table_path(table, folder)
    tmp = path.with_suffix(".parquet.tmp")
    out.to_parquet(tmp, engine="pyarrow", index=False, compression="zstd", write_statistics=False)
    tmp.replace(path)
    return path


def read_table(table: str, folder: str | Path, columns: Sequence[str] | None = None,
               where: tuple[str, Sequence[str]] | None = None) -> pd.DataFrame:
    """Read ``<folder>/<table>.parquet`` and validate it.

    Args:
        table: Schema name.
        folder: The folder holding the table.
        columns: Read only these columns (in schema order), validated against their part of the schema; they
            must include the table's key (its ``unique`` columns). Default: every column. A stage that needs
            a few short columns of a table holding long texts reads much less this way (counts at 1M answers).
        where: ``(column, values)``: read only the rows whose ``column`` holds one of ``values``, in file order,
            filtered a batch of rows at a time (the rows left out are never held whole, nor converted; the key
            is checked on the rows read).

    Raises:
        FileNotFoundError: Naming the missing table and the stage that writes it.
        TableSchemaError: The file does not match its schema.
        ValueError: ``columns`` names a column the schema does not have, or leaves out part of the key.
    """
    schema = SCHEMAS[table]
    wanted = None if columns is None else _column_subset(table, columns)
    path = table_path(table, folder)
    if not path.exists():
        raise FileNotFoundError(f"table {table!r} not found at {path}: run the stage that writes it first")
    df = pd.read_parquet(path, engine="pyarrow", columns=wanted) if where is None else _read_where(path, wanted, *where)
    # text columns that are non-nullable come back as "" rather than missing
    for name, col in schema.columns.items():
        if name in df.columns and str(col.dtype).startswith(("str", "string")) and not col.nullable:
            df[name] = df[name].fillna("")
    return validate(df, table, columns=wanted)


def _read_where(path: Path, columns: list[str] | None, column: str, values: Sequence[str]) -> pd.DataFrame:
    """The rows of the Parquet file ``path`` whose ``column`` is in ``values`` (:func:`read_table`'s ``where``)."""
    import pyarrow as pa  # noqa: PLC0415 - pandas imports it anyway; only this path names it
    import pyarrow.compute as pc  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    if columns is not None and column not in columns:
        raise ValueError(f"where= filters on {column!r}, which is not among the columns read")
    pf = pq.ParquetFile(path)
    wanted = pa.array(list(values), type=pf.schema_arrow.field(column).type)
    parts = [b.filter(pc.is_in(b.column(column), value_set=wanted))
             for b in pf.iter_batches(batch_size=65_536, columns=columns)]
    got = pa.Table.from_batches(parts) if parts else pf.read(columns=columns).slice(0, 0)
    return got.to_pandas()


def _column_subset(table: str, columns: Sequence[str]) -> list[str]:
    """``columns`` in the schema's order, checked: known columns, the whole key, no table-wide checks."""
    schema = SCHEMAS[table]
    unknown = sorted(set(columns) - set(schema.columns))
    if unknown:
        raise ValueError(f"table {table!r} has no column(s) {unknown}; its columns: {list(schema.columns)}")
    key = _sort_keys(table, pd.DataFrame(columns=list(schema.columns))) if schema.unique else []
    missing = [k for k in key if k not in columns]
    if missing or schema.checks:
        raise ValueError(f"table {table!r} cannot be read in part without {missing or 'its table-wide checks'}")
    return [c for c in schema.columns if c in set(columns)]


def read_optional(table: str, folder: str | Path) -> pd.DataFrame | None:
    """Like :func:`read_table`, but ``None`` when the table's file does not exist (a stage that did not run)."""
    try:
        return read_table(table, folder)
    except FileNotFoundError:
        return None


def export_csv(table: str, folder: str | Path, out: str | Path) -> Path:
    """Write an internal table as UTF-8 CSV (for reading in a spreadsheet; never re-read by the pipeline).

    Args:
        table: Schema name.
        folder: The processed folder holding the table.
        out: The CSV file to write.

    Returns:
        The written path.
    """
    df = read_table(table, folder)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out, index=False, lineterminator="\n", encoding="utf-8", float_format="%.6g",
              date_format="%Y-%m-%dT%H:%M:%S")
    return out
