"""A large table's text columns read from a memory-mapped Arrow file: the file's pages, not the process's memory.

A stage that reads every answer's redacted text whole (the report: quotes and the analysts' coded-answers file) held
it in its own memory: 1.5 GB at 1,000,000 responses with 90% campaign letters, 7.7 GB at 5,000,000, beside
everything else the stage holds. :func:`read_mapped` gives the same frame as :func:`analysis.tables.read_table`
(same columns, dtypes, values and validation), but its text columns' Arrow buffers point into an uncompressed Arrow
IPC file, written once from the table's Parquet files (a batch at a time) and memory-mapped: the texts are pages of
that file, which the system reads in when they are used and may drop again when memory is short, as it does any
file's cached pages, instead of memory of the process that only swap could free.

The file is kept in the consultation's cache (``<processed>/cache/mapped``), named by the table's stored bytes
(:func:`analysis.tables.table_digest`): a re-run on the same table maps it again; a changed table writes a new one
and the old is removed. Below :func:`mapped_rows` rows (``ANALYSIS_MAPPED_ROWS``) a table is read as usual: nothing
is written.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.paths import env_count
from analysis.tables import _checked, _column_subset, read_table, table_digest, table_files, table_rows

log = logging.getLogger(__name__)

#: Rows from which :func:`read_mapped` maps the text columns (``ANALYSIS_MAPPED_ROWS`` overrides it).
MAPPED_MIN_ROWS = 1_048_576
MAPPED_ENV = "ANALYSIS_MAPPED_ROWS"
#: Rows of the Parquet files copied to the Arrow file at a time.
_BATCH = 131_072


def mapped_rows() -> int:
    """:data:`MAPPED_MIN_ROWS`, or the ``ANALYSIS_MAPPED_ROWS`` environment variable when set.

    Raises:
        ConfigError: The variable is set to something other than a positive whole number.
    """
    return env_count(MAPPED_ENV, MAPPED_MIN_ROWS, "rows from which a table's texts are memory-mapped")


def read_mapped(table: str, folder: str | Path, texts: Sequence[str], columns: Sequence[str] | None = None,
                store: Path | None = None) -> pd.DataFrame:
    """:func:`~analysis.tables.read_table` of ``table`` (``columns``: all by default), its ``texts`` columns
    memory-mapped when it has at least :func:`mapped_rows` rows (see the module).

    Args:
        table: Schema name.
        folder: The folder holding the table.
        texts: Text columns to map (those of them read).
        columns: The columns read (in schema order), as for ``read_table``.
        store: Where the Arrow file is kept (default: ``<folder>/cache/mapped``).

    Raises:
        As :func:`~analysis.tables.read_table`.
    """
    wanted = _column_subset(table, columns) if columns is not None else None
    names = list(wanted) if wanted is not None else None
    mapped = [c for c in texts if names is None or c in names]
    if not mapped or table_rows(table, folder) < mapped_rows():
        return read_table(table, folder, columns=columns)
    rest = read_table(table, folder, columns=[c for c in (names or _all_columns(table, folder)) if c not in mapped])
    arrow = _mapped_table(table, Path(folder), mapped, Path(store) if store is not None else Path(folder) / "cache"
                          / "mapped")
    if arrow.num_rows != len(rest):
        raise AssertionError(f"{table}: the mapped text columns and the table differ in rows")  # pragma: no cover
    cols = {c: rest[c] for c in rest.columns}
    for c in mapped:
        cols[c] = pd.Series(arrow.column(c).to_pandas(types_mapper=_str_dtype), index=rest.index, name=c)
    order = names or _all_columns(table, folder)
    return _checked(pd.DataFrame({c: cols[c] for c in order}, index=rest.index, copy=False), table, wanted)


def _all_columns(table: str, folder: str | Path) -> list[str]:
    """The stored columns of ``table`` (its first file's)."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    return list(pq.read_schema(table_files(table, folder)[0]).names)


def _str_dtype(arrow_type: object) -> object:
    """The pandas dtype ``read_parquet`` gives an Arrow text column (``str``), for ``to_pandas``' types_mapper."""
    import pyarrow as pa  # noqa: PLC0415

    if arrow_type in (pa.string(), pa.large_string()):
        return pd.StringDtype("pyarrow", na_value=np.nan)
    return None


def _mapped_table(table: str, folder: Path, columns: list[str], store: Path) -> object:
    """The Arrow table of ``columns`` of ``table``, memory-mapped from its file in ``store`` (written first when
    missing)."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    digest = table_digest(table, folder)
    name = f"{table}-{'-'.join(columns)}"
    path = store / f"{name}-{digest[:24]}.arrow"
    if not path.is_file():
        store.mkdir(parents=True, exist_ok=True)
        for old in store.glob(f"{name}-*.arrow"):  # of an earlier version of the table
            old.unlink(missing_ok=True)
        tmp = path.with_suffix(".tmp")
        writer = None
        with pa.OSFile(str(tmp), "wb") as sink:
            for f in table_files(table, folder):
                for batch in pq.ParquetFile(f).iter_batches(batch_size=_BATCH, columns=columns):
                    if writer is None:
                        writer = pa.ipc.new_file(sink, batch.schema)
                    writer.write_batch(batch)
            if writer is None:  # pragma: no cover - only tables of mapped_rows() rows or more are mapped
                raise AssertionError(f"{table}: no rows to map")
            writer.close()
        tmp.replace(path)
        log.info("%s: its text columns %s written to %s to be memory-mapped", table, ", ".join(columns), path)
    return pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()
