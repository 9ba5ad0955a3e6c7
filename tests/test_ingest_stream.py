"""The streaming CSV reader (``read_table(..., stream=True)``) against the whole-grid reader it replaces.

Every CSV under tests/fixtures (real ArgKP / Pol.is cuts, platform layouts, the malformed exports) and files built
to hit each rule (blank-row runs, ragged and short rows, trailing unnamed columns, a ``sep=`` line, a strictness
error after good rows, an unclosed quote, over-long cells) give the same columns, rows, rejects, rows read and
warnings, or the same error; and ingest of the streamed file keeps the old error order (ragged rows before a
missing configured column).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import reference_csv_grid as ref

from analysis.errors import InputError
from analysis.ingest import streamtext
from analysis.ingest.tabular import read_table, single_header, text_lines
from analysis.ingest.text import decode_bytes

FIXTURES = Path(__file__).parent / "fixtures"
CSV_FILES = sorted(p for p in FIXTURES.rglob("*.csv") if not p.is_symlink())


def _old(path: Path, header_rows: int = 1) -> tuple:
    grid, delim = ref.read_csv_grid(path, path.name)
    t = ref.grid_to_table(grid, file=path.name, reader="csv", sha256="x", header_rows=header_rows,
                          header=single_header, delimiter=delim)
    return t.columns, t.rows, t.rejects, t.rows_read, t.aliases, t.delimiter


def _new(path: Path, header_rows: int = 1) -> tuple:
    t = read_table(path, path.name, reader="csv", header_rows=header_rows, stream=True)
    rows = list(t.rows)
    return t.columns, rows, t.rejects, t.rows_read, t.aliases, t.delimiter


def _outcome(fn, path: Path, caplog: pytest.LogCaptureFixture, header_rows: int = 1) -> tuple:
    caplog.clear()
    try:
        with caplog.at_level(logging.INFO, logger="analysis.ingest.tabular"):
            result = fn(path, header_rows)
    except InputError as err:
        result = ("InputError", str(err))
    return result, [(r.levelname, r.getMessage()) for r in caplog.records]


@pytest.mark.parametrize("path", CSV_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_files_read_alike(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    if path.read_bytes()[:4] == b"PK\x03\x04":
        pytest.skip("a workbook saved as .csv: read as XLSX, never streamed")
    for header_rows in (1, 2):
        old = _outcome(_old, path, caplog, header_rows)
        assert _outcome(_new, path, caplog, header_rows) == old


EDGE_CASES = {
    "blank_runs": "id,text\n\n\n1,a\n" + "\n" * 150 + "2,b\n,\n3,c\n\n\n",
    "leading_blank_lines": "\n\n ,\nid,text\n1,a\n",
    "ragged_and_short": "id,text,x\n1,a,b,c\n2\n3,a,b,,\n4,a,b\n",
    "mostly_ragged": "id,text\n1,a,b\n2,a,b\n3,a,b\n4,a\n",
    "trailing_unnamed_columns": "id,text,,\n1,a,,\n2,b,,\n",
    "trailing_unnamed_with_data": "id,text,,\n1,a,,z\n2,b,,\n",
    "sep_line": "sep=;\nid;text\n1;a,b\n2;c\n",
    "strict_error_after_good_rows": 'id,text\n1,"ok"\n2,"bad"x,more\n3,"fine\nacross lines"\n4,"again"y\n5,end\n',
    "strict_error_in_first_record": 'id,"te"xt\n1,a\n',
    "unclosed_quote": 'id,text\n1,a\n2,"never closed\n3,b\n',
    "header_only": "id,text\n",
    "blank_only": "\n\n\n",
    "long_cell": "id,text\n1," + "x" * 33_000 + "\n2,b\n",
    "crlf_and_cr": "id,text\r\n1,a\r\n2,\"b\rc\"\r\n",
    "non_ascii": "id,te\u0304xt\n1,Ma\u0304ori\n2,cafe\u0301\n",
    "no_final_newline": "id,text\n1,a\n2,the last row without a line feed",
}


@pytest.mark.parametrize("blocks", [False, True])
@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_edge_files_read_alike(name: str, blocks: bool, tmp_path: Path, caplog: pytest.LogCaptureFixture,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    if blocks:  # read a block of 16 bytes at a time
        monkeypatch.setattr(streamtext, "STREAM_MIN_BYTES", 1)
        monkeypatch.setattr(streamtext, "BLOCK_BYTES", 16)
    path = tmp_path / f"{name}.csv"
    path.write_text(EDGE_CASES[name], encoding="utf-8", newline="")
    for header_rows in (1, 2, 3):
        old = _outcome(_old, path, caplog, header_rows)
        new = _outcome(_new, path, caplog, header_rows)
        assert new == old


def test_strict_error_switches_to_lenient_at_the_failing_record(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(EDGE_CASES["strict_error_after_good_rows"], encoding="utf-8", newline="")
    table = read_table(path, "s.csv", reader="csv", stream=True)
    rows = list(table.rows)
    assert [r for r, _ in rows] == [2, 4, 5, 6]
    assert rows[1] == (4, ["3", "fine\nacross lines"]) and rows[2] == (5, ["4", "againy"])  # lenient from row 3 on
    assert [(r["row"], r["raw"]) for r in table.rejects] == [(3, "2,badx,more")]  # three fields: ragged


def test_rows_are_not_held(tmp_path: Path) -> None:
    """The streamed table reads its records as they are asked for: the file is parsed lazily."""
    path = tmp_path / "big.csv"
    path.write_text("id,text\n" + "".join(f"{i},answer {i}\n" for i in range(1000)), encoding="utf-8")
    table = read_table(path, "big.csv", reader="csv", stream=True)
    it = iter(table.rows)
    next(it)
    assert table.rows_read == 1
    assert sum(1 for _ in it) == 999 and table.rows_read == 1000


# --- large UTF-8 files read a block at a time (analysis.ingest.streamtext) ----------------------------------------


@pytest.fixture()
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file counts as large and is read in blocks of 256 bytes (many blocks per fixture)."""
    monkeypatch.setattr(streamtext, "STREAM_MIN_BYTES", 1)
    monkeypatch.setattr(streamtext, "BLOCK_BYTES", 256)


@pytest.mark.parametrize("path", CSV_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_files_read_alike_in_blocks(path: Path, caplog: pytest.LogCaptureFixture, small_blocks) -> None:
    if path.read_bytes()[:4] == b"PK\x03\x04":
        pytest.skip("a workbook saved as .csv")
    old = _outcome(_old, path, caplog)
    assert _outcome(_new, path, caplog) == old


@pytest.mark.parametrize("block", [64, 1000, 1 << 20])
@pytest.mark.parametrize("path", CSV_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_blocks_give_the_decoded_lines(path: Path, block: int) -> None:
    blocks = streamtext.open_utf8(path, None, min_bytes=1, block=block)
    if blocks is None:
        return  # read whole, as before (not UTF-8, a sep= line, ...): nothing to compare
    text, used = decode_bytes(path.read_bytes(), path.name)
    assert used in ("utf-8", "utf-8-sig")
    assert list(blocks.lines()) == list(text_lines(text))
    assert blocks.prefix(1000) == text[:1001]


def test_files_that_are_read_whole(tmp_path: Path) -> None:
    cases = {
        "cp1252": "id,text\n1,caf\u00e9 na\u00efve\n".encode("cp1252"),
        "utf16": "\ufeffid,text\n1,a\n".encode("utf-16"),
        "sep_line": b"sep=;\nid;text\n1;a\n",
        "vertical_tab": b"id,text\n1,a\x0bb\n",
        "line_separator": "id,text\n1,a\u2028b\n".encode(),
        "binary": b"PK\x03\x04rest",
        "blank": b"\n\n  \n",
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes(data)
        assert streamtext.open_utf8(path, None, min_bytes=1, block=8) is None, name
    path = tmp_path / "plain.csv"
    path.write_bytes("\ufeffid,text\n1,Ma\u0304ori\r\n2,\"two\nlines\"\n".encode())
    assert streamtext.open_utf8(path, "utf-8", min_bytes=1) is None  # a forced encoding: read whole
    assert streamtext.open_utf8(path, None) is None  # small: read whole
    blocks = streamtext.open_utf8(path, None, min_bytes=1, block=8)
    assert blocks is not None
    assert "".join(blocks.lines()) == "id,text\n1,M\u0101ori\r\n2,\"two\nlines\"\n"  # BOM gone, NFC


def test_a_file_changed_after_its_check_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"id,text\n" + b"".join(b"%d,answer %d\n" % (i, i) for i in range(100)))
    blocks = streamtext.open_utf8(path, None, min_bytes=1, block=64, file="raw/export.csv")
    assert blocks is not None
    path.write_bytes(path.read_bytes() + b"101,caf\xe9\n")  # a Windows-1252 line appended while the run reads it
    with pytest.raises(InputError, match="changed while it was being read") as err:
        list(blocks.lines())
    assert "raw/export.csv" in str(err.value)
