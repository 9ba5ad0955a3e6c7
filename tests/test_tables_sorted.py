"""``write_table`` stores a table in key order whether it arrives sorted or not (a sorted one is not copied):
the same bytes either way, on the bundled sample's answers and on the Pol.is example's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.config import load_config
from analysis.ingest import stage
from analysis.tables import _sorted, write_table

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"


@pytest.fixture(scope="module", params=["sample", "polis-nz-biodiversity"])
def tables(request):
    cfg = load_config(RAW / request.param / "consultation.yml")
    tables, rejects = stage.ingest(cfg, RAW / request.param)
    tables["core_rejects"] = rejects
    return tables


@pytest.mark.parametrize("name", ["core_answers", "core_responses", "core_rejects", "core_questions"])
def test_sorted_and_shuffled_inputs_give_the_same_file(tables, name: str, tmp_path: Path) -> None:
    df = tables[name]
    shuffled = df.sample(frac=1, random_state=0)
    by_pandas = df.sort_values(list(df.columns[:1]) if name != "core_answers" else ["response_id", "question_id"],
                               kind="mergesort")
    paths = [write_table(x, name, tmp_path / tag) for tag, x in
             (("as_is", df), ("shuffled", shuffled), ("sorted", by_pandas))]
    data = [p.read_bytes() for p in paths]
    assert data[0] == data[1] == data[2]


def test_a_sorted_frame_is_kept_and_an_unsorted_one_sorted(tables) -> None:
    df = tables["core_answers"]
    keys = ["response_id", "question_id"]
    shuffled = df.sample(frac=1, random_state=1).reset_index(drop=True)
    expected = shuffled.sort_values(keys, kind="mergesort", na_position="first").reset_index(drop=True)
    got = _sorted(shuffled, keys)
    assert got.equals(expected) and not got.equals(shuffled)
    again = _sorted(expected, keys)
    assert again.equals(expected)
    assert np.shares_memory(again["response_id"].array._pa_array.chunks[0].buffers()[1],
                            expected["response_id"].array._pa_array.chunks[0].buffers()[1])  # not copied
