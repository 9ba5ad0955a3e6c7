"""Read and write persisted tables: schema-checked, deterministic, typed columnar files (Parquet).

Every table is validated against :mod:`analysis.schemas` on write *and* on read, sorted by its key, and
written as ``<folder>/<table>.parquet`` (pyarrow, zstd, no index, statistics off) so the same content gives a
byte-identical file. A table of more than :func:`partition_rows` rows (1,048,576 unless
``ANALYSIS_PARTITION_ROWS`` says otherwise) is written partitioned: ``<folder>/<table>.parquet/`` is then a folder of
``part-00000.parquet``, ``part-00001.parquet``, ... holding the sorted rows in order, that many to a file, so a
stage can read it a partition at a time (:func:`iter_table`, :func:`iter_batches`); :func:`read_table` reads either
form whole and gives the same frame. Parquet keeps the dtypes, so a stage no longer re-parses text: reading a 60,000-row
answers table costs a fraction of parsing its CSV (``docs/performance.md``).

The values stored are exactly those the earlier CSV tables held, so the outputs downstream did not change:
floats are rounded to 6 significant digits (CSV's ``%.6g``), timestamps to the second, and an empty string in
a nullable text column is stored as missing. Published tables stay CSV/XLSX (the report stage writes them);
:func:`export_csv` writes any internal table as CSV for an analyst who wants to open it in a spreadsheet.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.schemas import SCHEMAS, validate

#: File suffix of persisted internal tables.
SUFFIX = ".parquet"
#: Rows per partition of a partitioned table (pyarrow's default row group: one row group a partition).
PARTITION_ROWS = 1024 * 1024
#: Environment variable overriding :data:`PARTITION_ROWS` (a positive whole number; the tests use small ones).
PARTITION_ENV = "ANALYSIS_PARTITION_ROWS"
#: File name of partition ``i`` inside a partitioned table's folder.
PART_NAME = "part-{:05d}.parquet"


def partition_rows() -> int:
    """Rows per partition: :data:`PARTITION_ROWS`, or ``ANALYSIS_PARTITION_ROWS`` when set.

    Raises:
        ConfigError: ``ANALYSIS_PARTITION_ROWS`` is not a positive whole number (the command line prints the
            message, not a traceback).
    """
    from analysis.paths import env_count  # noqa: PLC0415

    return env_count(PARTITION_ENV, PARTITION_ROWS, "rows per partition")


def table_path(table: str, folder: str | Path) -> Path:
    """Where ``table`` is stored under ``folder`` (a file, or the folder of a partitioned table's files)."""
    return Path(folder) / f"{table}{SUFFIX}"


def table_exists(table: str, folder: str | Path) -> bool:
    """Whether ``table`` has been written under ``folder``."""
    return table_path(table, folder).exists()


def table_files(table: str, folder: str | Path) -> list[Path]:
    """The Parquet files holding ``table``, in row order: the one file, or a partitioned table's parts (``[]``
    when it was not written).

    Raises:
        ValueError: A partitioned table's folder whose parts are not numbered 0, 1, ... without a gap.
    """
    path = table_path(table, folder)
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    parts = sorted(path.glob("part-*.parquet"))
    expected = [path / PART_NAME.format(i) for i in range(len(parts))]
    if parts != expected:
        raise ValueError(f"table {table!r} at {path}: its partitions are not part-00000.parquet, part-00001.parquet, "
                         f"... without a gap ({[p.name for p in parts][:5]})")
    return parts


def table_rows(table: str, folder: str | Path) -> int:
    """Rows of ``table`` from its Parquet footers (raises as :func:`read_table` when it is missing)."""
    import pyarrow.parquet as pq  # noqa: PLC0415 - pandas imports it anyway

    files = _files_or_raise(table, folder)
    return sum(pq.read_metadata(f).num_rows for f in files)


def table_digest(table: str, folder: str | Path) -> str:
    """sha256 of ``table``'s stored bytes (and its partitions' names), or ``absent``: what a cache key hashes."""
    import hashlib  # noqa: PLC0415

    from analysis.hashing import sha256_file  # noqa: PLC0415

    path = table_path(table, folder)
    if path.is_file():
        return sha256_file(path)
    files = table_files(table, folder)
    if not files:
        return "absent"
    h = hashlib.sha256(b"partitioned:")
    for f in files:
        h.update(f"{f.name}:{sha256_file(f)};".encode())
    return h.hexdigest()


def remove_table(table: str, folder: str | Path) -> None:
    """Delete ``table`` under ``folder`` (either form; nothing when it is not there)."""
    _remove(table_path(table, folder))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _files_or_raise(table: str, folder: str | Path) -> list[Path]:
    files = table_files(table, folder)
    if not files:
        path = table_path(table, folder)
        raise FileNotFoundError(f"table {table!r} not found at {path}: run the stage that writes it first")
    return files


class PartitionWriter:
    """Write a table's Parquet file(s) under a temporary name, then put them in place at once.

    ``parts`` files are made (one: ``<table>.parquet``; more: ``<table>.parquet/part-NNNNN.parquet``); :meth:`path`
    gives where part ``i`` is written; :meth:`commit` replaces whatever was stored for the table (either form) with
    them; leaving the ``with`` block without committing removes them.
    """

    def __init__(self, table: str, folder: str | Path, parts: int) -> None:
        self.final = table_path(table, folder)
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.partitioned = parts > 1
        self.tmp = self.final.with_name(self.final.name + ".tmp")
        _remove(self.tmp)
        if self.partitioned:
            self.tmp.mkdir()
        self._done = False

    def path(self, i: int) -> Path:
        """Where part ``i`` is written (before :meth:`commit`)."""
        return self.tmp / PART_NAME.format(i) if self.partitioned else self.tmp

    def commit(self) -> Path:
        """Put the written file(s) in place of the table's former ones; returns the table's path."""
        old = self.final.with_name(self.final.name + ".old")
        _remove(old)
        if self.final.is_dir() or (self.partitioned and self.final.exists()):
            self.final.rename(old)  # a folder cannot replace, nor be replaced, in one rename
        self.tmp.replace(self.final)
        _remove(old)
        self._done = True
        return self.final

    def __enter__(self) -> PartitionWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            with contextlib.suppress(OSError):
                _remove(self.tmp)


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
    """Validate ``df`` as ``table`` and write ``<folder>/<table>.parquet`` (partitioned when it has more than
    :func:`partition_rows` rows: the sorted rows cut every that many rows, one file each).

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
    per = partition_rows()
    if len(out) <= per:
        with PartitionWriter(table, folder, 1) as writer:
            out.to_parquet(writer.path(0), engine="pyarrow", index=False, compression="zstd", write_statistics=False)
            return writer.commit()
    import pyarrow as pa  # noqa: PLC0415 - pandas imports it anyway
    import pyarrow.parquet as pq  # noqa: PLC0415

    arrow = pa.Table.from_pandas(out, preserve_index=False)  # one schema for every part (as to_parquet converts)
    del out
    starts = range(0, arrow.num_rows, per)
    with PartitionWriter(table, folder, len(starts)) as writer:
        for i, start in enumerate(starts):
            pq.write_table(arrow.slice(start, per), writer.path(i), compression="zstd", write_statistics=False)
        return writer.commit()


def part_layout(rows: int) -> list[int]:
    """Rows in each file :func:`write_table` writes for a table of ``rows`` rows (one file up to
    :func:`partition_rows`)."""
    per = partition_rows()
    if rows <= per:
        return [rows]
    return [min(per, rows - start) for start in range(0, rows, per)]


def write_partitions(parts: Iterable[pd.DataFrame], table: str, folder: str | Path, rows: int) -> Path:
    """Write ``table`` from its parts, one at a time: the files :func:`write_table` writes of their concatenation.

    For a stage that computes a large table a partition at a time (each part from the same part of its input,
    read with :func:`iter_table`): only one part is held. The parts must come in key order, each sorted, with the
    row counts :func:`part_layout` gives for ``rows`` (the input's own layout when the two tables have as many rows).

    Args:
        parts: The table's parts, in order (each validated, canonicalised and written as it comes).
        table: Schema name.
        folder: Output folder (created if missing).
        rows: The whole table's rows.

    Returns:
        The written path.

    Raises:
        TableSchemaError: A part does not match the schema, is not in key order, or repeats a key of the part
            before; or the parts' rows are not the layout of ``rows`` (nothing is written then).
    """
    import pyarrow as pa  # noqa: PLC0415 - pandas imports it anyway
    import pyarrow.parquet as pq  # noqa: PLC0415

    from analysis.errors import TableSchemaError  # noqa: PLC0415

    layout = part_layout(rows)
    if len(layout) == 1:
        frames = list(parts)
        if len(frames) != 1 or len(frames[0]) != rows:
            raise TableSchemaError(f"table {table!r}: parts of {[len(f) for f in frames]} rows, expected {layout}")
        return write_table(frames[0], table, folder)
    last_key, schema = None, None
    with PartitionWriter(table, folder, len(layout)) as writer:
        i = -1
        for i, part in enumerate(parts):
            if i >= len(layout) or len(part) != layout[i]:
                raise TableSchemaError(f"table {table!r}: part {i} has {len(part)} rows; the layout of {rows} rows "
                                       f"is {layout}")
            out = validate(part, table)
            keys = _sort_keys(table, out)
            if not in_key_order(out, keys) or (last_key is not None and len(out)
                                                and not last_key < _first_key(out, keys)):
                raise TableSchemaError(f"table {table!r}: part {i} is not in key order after the part before")
            last_key = tuple(out[k].iloc[-1] for k in keys)
            arrow = pa.Table.from_pandas(_canonical(out, table), preserve_index=False)
            del out
            if schema is None:
                schema = arrow.schema
            elif not arrow.schema.equals(schema, check_metadata=True):
                arrow = arrow.cast(schema)
            pq.write_table(arrow, writer.path(i), compression="zstd", write_statistics=False)
            del arrow
        if i != len(layout) - 1:
            raise TableSchemaError(f"table {table!r}: {i + 1} parts written; the layout of {rows} rows is {layout}")
        return writer.commit()


def _first_key(df: pd.DataFrame, keys: list[str]) -> tuple:
    return tuple(df[k].iloc[0] for k in keys)


def in_key_order(df: pd.DataFrame, keys: list[str]) -> bool:
    """Whether :func:`write_table`'s sort (stable, missing first) leaves ``df`` as it is."""
    if not len(df):
        return True
    order = df[keys].sort_values(keys, kind="mergesort", na_position="first").index.to_numpy()
    return bool(np.array_equal(order, np.arange(len(df))))


def read_table(table: str, folder: str | Path, columns: Sequence[str] | None = None,
               where: tuple[str, Sequence[str]] | None = None) -> pd.DataFrame:
    """Read ``<folder>/<table>.parquet`` (either form: a partitioned table's parts in order) and validate it.

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
    wanted = None if columns is None else _column_subset(table, columns)
    files = _files_or_raise(table, folder)
    if where is not None:
        df = _read_where(files, wanted, *where)
    elif len(files) == 1:
        df = pd.read_parquet(files[0], engine="pyarrow", columns=wanted)
    else:
        df = pd.concat([pd.read_parquet(f, engine="pyarrow", columns=wanted) for f in files], ignore_index=True)
    return _checked(df, table, wanted)


def _checked(df: pd.DataFrame, table: str, wanted: list[str] | None) -> pd.DataFrame:
    """``df`` as read, with non-nullable text columns' missing values as "" (as stored), validated."""
    for name, col in SCHEMAS[table].columns.items():
        if name in df.columns and str(col.dtype).startswith(("str", "string")) and not col.nullable:
            df[name] = df[name].fillna("")
    return validate(df, table, columns=wanted)


def iter_table(table: str, folder: str | Path, columns: Sequence[str] | None = None,
               where: tuple[str, Sequence[str]] | None = None) -> Iterator[pd.DataFrame]:
    """``table`` a partition at a time (the whole table when it is one file), each part validated as read.

    The parts, concatenated, are :func:`read_table`'s frame (with the same ``columns`` and ``where``); the key's
    uniqueness and the table-wide checks are checked within each part (the parts are cut from one sorted table, so
    their keys do not overlap when :func:`write_table` wrote it).

    Raises:
        As :func:`read_table` (a part that does not match the schema is named).
    """
    from analysis.errors import TableSchemaError  # noqa: PLC0415

    wanted = None if columns is None else _column_subset(table, columns)
    for f in _files_or_raise(table, folder):
        try:
            read = (_read_where([f], wanted, *where) if where is not None
                    else pd.read_parquet(f, engine="pyarrow", columns=wanted))
            part = _checked(read, table, wanted)
        except TableSchemaError as err:
            raise TableSchemaError(f"{f}: {err}") from None
        yield part


def iter_batches(table: str, folder: str | Path, columns: Sequence[str] | None = None,
                 batch_size: int = 65_536) -> Iterator[object]:
    """``table``'s rows as Arrow record batches of at most ``batch_size`` rows, in order, across its partitions
    (not validated: for stages that stream a column and check what they read themselves).

    Raises:
        FileNotFoundError: As :func:`read_table`.
    """
    import pyarrow.parquet as pq  # noqa: PLC0415

    for f in _files_or_raise(table, folder):
        yield from pq.ParquetFile(f).iter_batches(batch_size=batch_size, columns=columns)


def arrow_schema(table: str, folder: str | Path) -> object:
    """The stored Arrow schema of ``table`` (its first file's)."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    return pq.read_schema(_files_or_raise(table, folder)[0])


def _read_where(files: list[Path], columns: list[str] | None, column: str, values: Sequence[str]) -> pd.DataFrame:
    """The rows of the Parquet ``files`` whose ``column`` is in ``values`` (:func:`read_table`'s ``where``)."""
    import pyarrow as pa  # noqa: PLC0415 - pandas imports it anyway; only this path names it
    import pyarrow.compute as pc  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    if columns is not None and column not in columns:
        raise ValueError(f"where= filters on {column!r}, which is not among the columns read")
    pf = pq.ParquetFile(files[0])
    wanted = pa.array(list(values), type=pf.schema_arrow.field(column).type)
    parts = [b.filter(pc.is_in(b.column(column), value_set=wanted))
             for f in files for b in pq.ParquetFile(f).iter_batches(batch_size=65_536, columns=columns)]
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
