"""The schema registry stands alone: every table round-trips in a fresh interpreter that imports only
``analysis.tables``, and bad values are refused on write and on read for every table."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys

import pandas as pd
import pytest

from analysis.errors import TableSchemaError
from analysis.schemas import SCHEMAS, validate
from analysis.tables import read_table, write_table

#: Sub-packages and modules of ``analysis`` that a table schema must not need.
STAGE_MODULES = ("ingest", "campaigns", "redaction", "themes", "positions", "counts", "charts", "report",
                 "sample", "pipeline", "cli", "embeddings")


def example_row(schema, null: bool = False, variant: int = 0) -> dict:
    """One valid row of ``schema`` built from its columns' dtypes and checks.

    Args:
        schema: A pandera schema of :data:`~analysis.schemas.SCHEMAS`.
        null: Nullable columns are ``None``.
        variant: Another small number gives other (still valid) values in every column.

    Kept free of imports: its source also runs in the fresh interpreter (:func:`_round_trip_in_child`).
    """
    row = {}
    for name, col in schema.columns.items():
        stats = {k: v for check in col.checks for k, v in (check.statistics or {}).items()}
        dtype = str(col.dtype).lower()
        if null and col.nullable:
            value = None
        elif "allowed_values" in stats:
            allowed = sorted(stats["allowed_values"])
            value = allowed[(variant - 1) % len(allowed)]
        elif dtype.startswith("bool"):
            value = variant == 0
        elif dtype.startswith("datetime"):
            value = f"2021-03-{1 + variant:02d}T10:00:00"
        elif dtype.startswith("int"):
            value = stats.get("min_value", 3) + variant  # the smallest allowed count keeps the ledger balanced
        elif dtype.startswith("float"):
            lo, hi = stats.get("min_value", 0.0), stats.get("max_value", 1.0)
            value = lo + (hi - lo) / (2 + variant)
        else:
            value = f"{name} value {variant}"
        row[name] = value
    return row


def _round_trip_in_child(folder: str) -> None:  # pragma: no cover - runs in a subprocess
    """Body of the fresh interpreter: for every table, write and read back an empty, a full and a null row frame."""
    import json
    import sys

    import pandas as pd

    from analysis import tables

    report = {}
    for table, schema in tables.SCHEMAS.items():
        frames = {"empty": pd.DataFrame({c: pd.Series([], dtype=object) for c in schema.columns}),
                  "one_row": pd.DataFrame([example_row(schema)]),
                  "nulls": pd.DataFrame([example_row(schema, null=True)])}
        rows, error = {}, None
        try:
            for case, df in frames.items():
                path = tables.write_table(df, table, f"{folder}/{case}")
                back = tables.read_table(table, path.parent)
                pd.testing.assert_frame_equal(back, tables.validate(df, table))
                rows[case] = len(back)
        except Exception as err:  # noqa: BLE001 - reported to the parent, per table
            error = f"{type(err).__name__}: {err}"
        report[table] = {"rows": rows, "error": error}
    loaded = sorted(m for m in sys.modules if m == "analysis" or m.startswith("analysis."))
    print(json.dumps({"tables": report, "modules": loaded}))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> dict:
    """What one fresh interpreter, importing only ``analysis.tables``, saw and wrote."""
    folder = tmp_path_factory.mktemp("fresh")
    code = "\n".join([inspect.getsource(example_row), inspect.getsource(_round_trip_in_child),
                      f"_round_trip_in_child({str(folder)!r})"])
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    return {"folder": folder, **json.loads(res.stdout.strip().splitlines()[-1])}


def test_the_fresh_interpreter_loaded_no_stage_code_and_saw_the_whole_registry(fresh):
    stages = [m for m in fresh["modules"] if m.split(".")[1:2] and m.split(".")[1] in STAGE_MODULES]
    assert stages == []
    importlib.import_module("analysis.pipeline")  # every stage imported: nothing registers a schema late
    from analysis import schemas

    assert sorted(fresh["tables"]) == sorted(schemas.SCHEMAS) and len(fresh["tables"]) >= 20


@pytest.mark.parametrize("table", sorted(SCHEMAS))
def test_every_table_round_trips_in_the_fresh_interpreter(fresh, table):
    assert fresh["tables"][table] == {"rows": {"empty": 0, "one_row": 1, "nulls": 1}, "error": None}
    written = pd.read_parquet(fresh["folder"] / "one_row" / f"{table}.parquet")
    assert list(written.columns) == list(SCHEMAS[table].columns) and len(written) == 1


def _numeric_column(table: str) -> str | None:
    return next((c for c, col in SCHEMAS[table].columns.items() if str(col.dtype).lower().startswith(("int", "float"))),
                None)


@pytest.mark.parametrize("table", [t for t in sorted(SCHEMAS) if _numeric_column(t)])
def test_a_non_number_in_a_numeric_column_is_refused_on_write_and_on_read(table, tmp_path):
    col = _numeric_column(table)
    bad = pd.DataFrame([example_row(SCHEMAS[table])]).astype({col: object})
    bad.loc[0, col] = "many"
    with pytest.raises(TableSchemaError, match=rf"(?s){table}.*{col}"):
        write_table(bad, table, tmp_path)
    assert not (tmp_path / f"{table}.parquet").exists()
    path = write_table(pd.DataFrame([example_row(SCHEMAS[table])]), table, tmp_path)
    tampered = pd.read_parquet(path).astype({col: object})
    tampered.loc[0, col] = "many"  # a file written by something else than write_table
    tampered.to_parquet(path, index=False)
    with pytest.raises(TableSchemaError, match=rf"(?s){table}.*{col}"):
        read_table(table, tmp_path)


@pytest.mark.parametrize("table", [t for t in sorted(SCHEMAS) if SCHEMAS[t].unique])
def test_a_duplicate_key_is_refused_for_every_keyed_table(table, tmp_path):
    schema = SCHEMAS[table]
    key = [schema.unique] if isinstance(schema.unique, str) else list(schema.unique)
    row = example_row(schema)
    other = dict(row)
    if set(key) != set(row):  # the second row differs outside the key: only the key is duplicated
        col = next(c for c in row if c not in key)
        other[col] = example_row(schema, variant=1)[col]
        assert other != row
    validate(pd.DataFrame([other]), table)  # valid on its own: the pair fails only on its key
    with pytest.raises(TableSchemaError, match=rf"(?s){table}.*uniqu"):
        write_table(pd.DataFrame([row, other]), table, tmp_path)
    assert not (tmp_path / f"{table}.parquet").exists()
