"""The CSVs' text neutralising with a vectorised search (:func:`analysis.report.workbook.neutralise_frame`) gives
the frame (and the CSV bytes) of neutralising every cell (#18)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pandas as pd

from analysis.config import parse_config
from analysis.report.load import load_tables
from analysis.report.tables import coded_answers
from analysis.report.workbook import FORMULA_PREFIXES, neutralise_frame, neutralise_frame_each

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "results"))
import results_frames as rf  # noqa: E402


def _csv(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def test_neutralising_only_flagged_cells_equals_neutralising_every_cell(tmp_path):
    cfg = parse_config(rf.config_dict())
    tables = load_tables(rf.write_processed(rf.build_frames(), tmp_path / "p", cfg))
    ca = coded_answers(tables)
    assert len(ca) > 50 and pd.api.types.is_string_dtype(ca["text_redacted"])
    hostile = [p + "cell" for p in FORMULA_PREFIXES] + ["ok\x00zero", "\x01=both", "\x0b\x0c\x0e\x1f-", "\x1f",
                                                        "tab\tinside", "line\nbreak\r\n", "-", "\u00e9=", ""]
    for i, text in enumerate(hostile):
        ca.loc[ca.index[i], "text_redacted"] = text
        ca.loc[ca.index[-1 - i], "personal_addition"] = text
    ca["mixed"] = pd.Series(["=1", 2, None, "x\x02"] * (len(ca) // 4) + ["y"] * (len(ca) % 4),
                            index=ca.index, dtype=object)  # an object column: every cell, as before
    before = ca.copy()
    each, fast = neutralise_frame_each(ca), neutralise_frame(ca)
    pd.testing.assert_frame_equal(fast, each, check_exact=True)
    assert _csv(fast) == _csv(each)
    assert fast["text_redacted"].iloc[:9].tolist() == [f"'{p}cell" for p in FORMULA_PREFIXES] + [
        "okzero", "'=both", "'-"]
    pd.testing.assert_frame_equal(ca, before, check_exact=True)  # the input is not modified
