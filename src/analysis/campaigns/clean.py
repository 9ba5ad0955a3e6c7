"""``core_answers_clean`` written a row group at a time: the redacted answers read, joined and written block-wise.

The stage's detection reads the open answers only; the whole redacted table (every answer, the ``answer`` and
``language`` columns included: 5.7 million rows at 1,000,000 responses) is read again only to write
``core_answers_clean``. :func:`write_clean` reads it one row group's worth of rows at a time, puts the campaign
columns in (:func:`analysis.campaigns.stage.with_campaign_columns` of the block and its share of the open rows) and
writes the block as one row group, so the table is never held whole.

Why the file is the one :func:`analysis.tables.write_table` writes of the whole table (byte for byte):

* ``write_table`` validates, sorts by the key, canonicalises and hands the frame to pandas, which converts it with
  ``pyarrow.Table.from_pandas`` and writes it with one ``pyarrow.parquet.write_table`` call: a
  :class:`pyarrow.parquet.ParquetWriter` given the table's schema and one ``write_table(table)``, which cuts row
  groups of :data:`ROW_GROUP_ROWS` rows. Here the same writer (same schema, same options) is given blocks of
  exactly that many rows, each becoming the same row group;
* every step before the conversion is row by row (validation, the campaign columns, canonical values), except the
  sort and the key's uniqueness: the redacted table is already in key order (written by ``write_table`` with the
  same key), which is checked within each block (the sort of ``write_table``, found to be the identity) and across
  blocks (each block's first key after the previous block's last), and keys in strictly increasing order are
  distinct. A table found out of order is written the former way, whole;
* a table of more than :func:`~analysis.tables.partition_rows` rows is partitioned as ``write_table`` cuts it: the
  blocks also end at every partition's end, and each partition's blocks go to a file (and a writer) of its own;
* a column chunk's pages depend on where its Arrow chunks are cut (the writer cuts pages between batches of 1,024
  values, and a batch ends at a chunk's end): the columns read are cut every :data:`_READ_BATCH` rows, as
  ``pandas.read_parquet`` reads them, and the columns made here are one chunk per block, as the whole table's are
  one chunk cut at the row groups' bounds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from analysis.schemas import SCHEMAS, validate
from analysis.tables import (
    PartitionWriter,
    _canonical,
    _sort_keys,
    in_key_order,
    partition_rows,
    read_table,
    table_files,
    table_rows,
    write_table,
)

#: Rows per row group of a table written by one ``pyarrow.parquet.write_table`` call (pyarrow's default maximum).
ROW_GROUP_ROWS = 1024 * 1024
#: Rows per Arrow chunk of a column ``pandas.read_parquet`` reads (the batch size of pyarrow's dataset scan).
_READ_BATCH = 131_072

_SOURCE = "core_answers_redacted"
_TABLE = "core_answers_clean"


def write_clean(processed_dir: Path, open_q: Sequence[str], found: pd.DataFrame, rows: int = ROW_GROUP_ROWS) -> Path:
    """Write ``core_answers_clean``: :func:`~analysis.tables.write_table` of
    ``with_campaign_columns(read_table("core_answers_redacted"), open_q, found)``, a block of rows at a time.

    Args:
        processed_dir: The folder holding ``core_answers_redacted`` and receiving ``core_answers_clean``.
        open_q: The open questions.
        found: The campaign columns of the open questions' rows, in file order (:func:`detect` of them).
        rows: Rows per block and row group: :data:`ROW_GROUP_ROWS` gives ``write_table``'s file (another value
            gives the file of ``pyarrow.parquet.write_table(..., row_group_size=rows)``: the tests).

    Returns:
        The written path (a partitioned table's folder when the table has more than
        :func:`~analysis.tables.partition_rows` rows).

    Raises:
        AssertionError: ``found``'s rows are not the table's open rows (ids and questions, in order).
    """
    from analysis.campaigns.stage import with_campaign_columns  # noqa: PLC0415 - stage imports this module

    n, per = table_rows(_SOURCE, processed_dir), partition_rows()
    parts = -(-n // per) if n > per else 1
    with PartitionWriter(_TABLE, processed_dir, parts) as out:  # the files unfinished are removed on leaving
        if _write_blocks(processed_dir, open_q, found, rows, out, per if parts > 1 else None):
            return out.commit()
    # not in key order (cannot happen for a table write_table wrote): the former way, whole
    return write_table(with_campaign_columns(read_table(_SOURCE, processed_dir), open_q, found), _TABLE,
                       processed_dir)


def _write_blocks(processed_dir: Path, open_q: Sequence[str], found: pd.DataFrame, rows: int,
                  out_files: PartitionWriter, per: int | None) -> bool:
    """Write the blocks to ``out_files``' files (a new one every ``per`` rows when partitioned); ``False`` (the files
    unfinished) when the table is not in key order."""
    import pyarrow as pa  # noqa: PLC0415 - pandas imports it anyway
    import pyarrow.parquet as pq  # noqa: PLC0415

    from analysis.campaigns.stage import with_campaign_columns  # noqa: PLC0415

    done, last, writer, file_no, at, first_schema = 0, None, None, 0, 0, None
    try:
        for block in _blocks(table_files(_SOURCE, processed_dir), rows, per):
            answers = _as_read(block)
            del block
            n_open = int(answers["question_id"].isin(list(open_q)).sum())
            part = found.iloc[done:done + n_open].reset_index(drop=True)
            if len(part) != n_open:
                raise AssertionError("campaigns: the open answers read for detection differ from the table's (rows)")
            done += n_open
            out = validate(with_campaign_columns(answers, open_q, part), _TABLE)
            del answers, part
            keys = _sort_keys(_TABLE, out)
            first, last_here = _key_at(out, keys, 0), _key_at(out, keys, len(out) - 1)
            if (last is not None and not last < first) or not in_key_order(out, keys):
                return False
            last = last_here
            table = pa.Table.from_pandas(_canonical(out, _TABLE), preserve_index=False)
            del out
            if writer is not None and per is not None and at and at % per == 0:  # the next partition's first block
                writer.close()
                writer, file_no = None, file_no + 1
            if writer is None:
                if first_schema is not None and not table.schema.equals(first_schema, check_metadata=True):
                    return False
                writer = pq.ParquetWriter(out_files.path(file_no), table.schema, compression="zstd",
                                          write_statistics=False)
                first_schema = writer.schema
            elif not table.schema.equals(writer.schema, check_metadata=True):
                return False
            writer.write_table(table, row_group_size=rows)
            at += table.num_rows
            del table
    finally:
        if writer is not None:
            writer.close()
    if done != len(found):
        raise AssertionError("campaigns: the open answers read for detection differ from the table's (rows)")
    return writer is not None


def _blocks(files: list[Path], rows: int, per: int | None = None) -> Iterator[object]:
    """The Parquet ``files`` (one table's, in order) as Arrow tables of ``rows`` rows (the last: what is left), in
    file order; with ``per``, a block also ends at every multiple of ``per`` rows (a partition's end).

    The columns' chunks are cut every :data:`_READ_BATCH` rows when ``rows`` is a multiple of it (as
    ``pandas.read_parquet`` cuts them), else once per block.
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    batch = _READ_BATCH if rows % _READ_BATCH == 0 else rows
    held: list[object] = []
    n = pos = 0  # rows held; rows yielded before them
    schema = pq.read_schema(files[0])
    for f in files:
        for b in pq.ParquetFile(f).iter_batches(batch_size=batch):
            while len(b):
                room = rows - n if per is None else min(rows - n, per - (pos + n) % per)
                take = b.slice(0, room)
                held.append(take)
                n += len(take)
                b = b.slice(len(take))
                if n == rows or (per is not None and (pos + n) % per == 0):
                    yield _aligned(pa.Table.from_batches(held), batch)
                    held, pos, n = [], pos + n, 0
    if n or not held and pos == 0:
        yield _aligned(pa.Table.from_batches(held, schema=schema), batch)


def _aligned(table, batch: int):  # noqa: ANN001, ANN202 - pyarrow tables
    """``table`` with its columns' chunks cut every ``batch`` rows (the batches read may end at a row group's end)."""
    import pyarrow as pa  # noqa: PLC0415

    lens = [len(c) for c in table.column(0).chunks] if table.num_columns else []
    if all(n == batch for n in lens[:-1]):
        return table
    return pa.Table.from_batches(table.combine_chunks().to_batches(max_chunksize=batch), schema=table.schema)


def _as_read(block) -> pd.DataFrame:  # noqa: ANN001 - a pyarrow table
    """``block`` as :func:`~analysis.tables.read_table` gives ``core_answers_redacted``'s rows."""
    df = block.to_pandas()
    for name, col in SCHEMAS[_SOURCE].columns.items():
        if name in df.columns and str(col.dtype).startswith(("str", "string")) and not col.nullable:
            df[name] = df[name].fillna("")
    return validate(df, _SOURCE)


def _key_at(df: pd.DataFrame, keys: list[str], i: int) -> tuple[object, ...] | None:
    """Row ``i``'s key (``None`` for an empty frame)."""
    return tuple(df[k].iloc[i] for k in keys) if len(df) else None
