"""Small-cell suppression holds against an attacker who reads the published table.

The attacker knows every published cell and every row's denominator (both are in ``out_counts``, the CSVs and
the workbook) and solves each row for its hidden cells. Primary suppression alone loses: a row
``17 = 10 + 6 + [hidden] + 0 + 0`` gives the hidden cell away (1). Secondary suppression
(:func:`analysis.counts.rules.suppress`) hides a second cell so that every row has several solutions.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis import schemas
from analysis.config import parse_config
from analysis.counts.rules import ROW_KEYS, count_categories, counting_units, suppress

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "results"))
import results_frames as rf  # noqa: E402

MIN_CELL = 5


def solutions(row: pd.DataFrame, min_cell: int) -> list[tuple[int, ...]]:
    """Every assignment of the row's hidden cells (each 0 to ``min_cell - 1``) consistent with its total.

    Only rows whose cells partition the denominator can be solved by subtraction; for them the hidden cells
    add up to ``denominator - sum(shown)``.
    """
    hidden = row[row["suppressed"].astype(bool)]
    rest = int(row["denominator"].iloc[0]) - int(row.loc[~row["suppressed"].astype(bool), "n"].fillna(0).sum())
    return [combo for combo in itertools.product(range(min_cell), repeat=len(hidden)) if sum(combo) == rest]


def recovered_cells(counts: pd.DataFrame, truth: pd.DataFrame, min_cell: int) -> list[tuple]:
    """Hidden cells the attacker pins down exactly: rows (that partition their total) with one solution."""
    found = []
    for key, row in counts.groupby(ROW_KEYS, sort=True):
        if not row["suppressed"].any():
            continue
        true_row = truth.loc[row.index]
        if int(true_row["n"].sum()) != int(row["denominator"].iloc[0]):
            continue  # multi-label or partial rows: subtraction gives no single cell
        sols = solutions(row, min_cell)
        if len(sols) == 1:
            found.append(key)
    return found


def _row(values: dict[str, int], table: str = "position") -> pd.DataFrame:
    """One published row (``values``: category -> true count), counted by the real counting rule."""
    ids = [f"r{i}" for i in range(sum(values.values()))]
    cats = [c for c, k in values.items() for _ in range(k)]
    ans = pd.DataFrame({"response_id": ids, "question_id": "q1"})
    lab = ans.assign(position=cats)
    return count_categories(lab, counting_units(ans, "all"), table=table, category_col="position",
                            categories=list(values), mode="all", min_cell=MIN_CELL)


def test_the_issue_example_cannot_be_solved_from_the_row_total():
    # q1 "Unknown type": 17 respondents = 10 support + 6 neutral + 1 oppose + 0 + 0
    row = _row({"support": 10, "oppose": 1, "neutral": 6, "unsure": 0, "unclear": 0})
    truth = pd.Series([10, 1, 6, 0, 0], index=row.index)
    assert row["suppressed"].tolist() == [False, True, False, True, False]  # the next-smallest (a 0) is hidden too
    assert len(solutions(row, MIN_CELL)) > 1
    primary_only = row.assign(n=truth, suppressed=[False, True, False, False, False])
    assert solutions(primary_only, MIN_CELL) == [(1,)]  # what the issue measured: recoverable without it


def test_without_zeros_the_next_smallest_cell_is_hidden():
    row = _row({"support": 3, "oppose": 8, "neutral": 6})
    assert row["suppressed"].tolist() == [True, False, True]
    hidden = row[row["suppressed"]]
    assert hidden["n"].isna().all() and hidden["share"].isna().all() and hidden["ci_low"].isna().all()


def test_rows_that_do_not_partition_their_total_are_left_alone():
    # multi-label themes: cells add up to more than the denominator, so nothing can be subtracted
    df = pd.DataFrame({"table": "theme", "question_id": "q1", "group": "all", "count_mode": "all",
                       "category": ["a", "b", "c"], "n": [2, 9, 8], "denominator": 12, "share": [0.2, 0.7, 0.7],
                       "ci_low": 0.1, "ci_high": 0.9, "suppressed": False})
    assert suppress(df, MIN_CELL)["suppressed"].tolist() == [True, False, False]


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The fixture consultation's ``out_counts`` (real counts stage) and the same counts unsuppressed."""
    f = {k: schemas.validate(v, k) for k, v in rf.build_frames().items()}
    out = {}
    for min_cell in (MIN_CELL, 0):
        cfg = parse_config(rf.config_dict(min_cell=min_cell))
        out[min_cell] = rf.counts_of(f, tmp_path_factory.mktemp(f"p{min_cell}"), cfg).reset_index(drop=True)
    return out[MIN_CELL], out[0]


def test_no_hidden_cell_of_the_published_counts_can_be_solved(published):
    counts, truth = published
    key = [*ROW_KEYS, "category"]
    assert counts[key].equals(truth[key])  # same cells, in the same order
    assert counts["suppressed"].sum() >= 2
    assert recovered_cells(counts, truth, MIN_CELL) == []
    # without secondary suppression the same attack succeeds: the check can fail
    primary = truth.assign(suppressed=(truth["n"] > 0) & (truth["n"] < MIN_CELL))
    partitions = [k for k, r in truth.groupby(ROW_KEYS) if int(r["n"].sum()) == int(r["denominator"].iloc[0])]
    attacked = [k for k in partitions if int(primary.loc[truth.groupby(ROW_KEYS).groups[k], "suppressed"].sum()) == 1]
    assert attacked, "the fixture should hold a row that primary suppression alone leaves solvable"
    assert recovered_cells(primary, truth, MIN_CELL)
