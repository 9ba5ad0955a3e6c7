"""Changed Pol.is votes reach the published counts: ingest re-reads the export on every run.

Regression: ``core_statement_votes`` used to be written by the positions stage only when missing, so votes
flipped in the raw export never reached the report, even with ``--force``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis import pipeline
from analysis.tables import read_table

CONSULTATION = "polis-nz-biodiversity"
EXAMPLE = Path(__file__).parents[1] / "data" / "raw" / CONSULTATION


def _tallies(matrix: Path, statement: int) -> tuple[int, int, int]:
    """(agrees, disagrees, passes) of one statement, counted straight from the participant matrix."""
    cells = pd.to_numeric(pd.read_csv(matrix, dtype=str, keep_default_na=False)[str(statement)], errors="coerce")
    return int((cells == 1).sum()), int((cells == -1).sum()), int((cells == 0).sum())


def _published(reports: Path) -> dict[str, pd.DataFrame]:
    tables = reports / "tables"
    return {"theme_support": pd.read_csv(tables / "theme_support.csv").set_index("theme_id"),
            "position": pd.read_csv(tables / "position.csv").query("count_mode == 'all'").set_index("category"),
            "votes": pd.read_csv(tables / "polis_votes.csv").query("question_id == '*' and count_mode == 'all'")
            .set_index("category")}


@pytest.fixture()
def env(tmp_path, monkeypatch) -> dict[str, Path]:
    raw = tmp_path / "raw"
    shutil.copytree(EXAMPLE, raw / CONSULTATION)
    for var, name in (("ANALYSIS_DATA_RAW", "raw"), ("ANALYSIS_DATA_PROCESSED", "processed"),
                      ("ANALYSIS_REPORTS", "reports")):
        monkeypatch.setenv(var, str(tmp_path / name))
    return {"matrix": raw / CONSULTATION / "conversation" / "participants-votes.csv",
            "processed": tmp_path / "processed" / CONSULTATION, "reports": tmp_path / "reports" / CONSULTATION}


@pytest.mark.slow
def test_flipped_votes_change_the_published_counts_with_and_without_force(env):
    matrix, processed = env["matrix"], env["processed"]
    assert not (matrix.parent / "votes.csv").exists()  # ingest reads the participant matrix here
    pipeline.run(CONSULTATION)
    before = _published(env["reports"])
    original = matrix.read_bytes()

    # the most agreed-with supported statement that belongs to a theme
    positions = read_table("core_answer_positions", processed).set_index("response_id")
    themes = read_table("core_answer_themes", processed)
    votes = read_table("core_statement_votes", processed).set_index("response_id")
    supported = votes.loc[positions.index[positions["position"] == "support"]]
    rid = supported.loc[supported.index.isin(themes["response_id"]), "agrees"].idxmax()
    statement, theme = int(rid.split(":")[1]), themes.loc[themes["response_id"] == rid, "theme_id"].iloc[0]
    agrees, disagrees, passes = _tallies(matrix, statement)
    assert (agrees, disagrees, passes) == tuple(votes.loc[rid, ["agrees", "disagrees", "passes"]]) and agrees > 20

    # every agree vote on it becomes a disagree vote
    pv = pd.read_csv(matrix, dtype=str, keep_default_na=False)
    pv[str(statement)] = pv[str(statement)].replace({"1": "-1"})
    pv.to_csv(matrix, index=False)
    assert _tallies(matrix, statement) == (0, disagrees + agrees, passes)

    ran = pipeline.run(CONSULTATION)  # no force: the changed export alone must re-run ingest and positions
    assert ran["ingest"] and ran["positions"] and ran["report"]
    votes = read_table("core_statement_votes", processed).set_index("response_id")
    assert tuple(votes.loc[rid, ["agrees", "disagrees", "passes"]]) == (0, disagrees + agrees, passes)
    pos = read_table("core_answer_positions", processed).set_index("response_id").loc[rid]
    assert (pos["position"], pos["source"]) == ("oppose", "votes")
    after = _published(env["reports"])
    members = themes.loc[themes["theme_id"] == theme, "response_id"]
    truth = [_tallies(matrix, int(r.split(":")[1])) for r in members]
    assert after["theme_support"].loc[theme, "agrees"] == sum(t[0] for t in truth)
    assert after["theme_support"].loc[theme, "disagrees"] == sum(t[1] for t in truth)
    assert after["theme_support"].loc[theme, "agrees"] == before["theme_support"].loc[theme, "agrees"] - agrees
    assert after["position"].loc["support", "n"] == before["position"].loc["support", "n"] - 1
    assert after["position"].loc["oppose", "n"] == before["position"].loc["oppose", "n"] + 1
    assert after["votes"].loc["agree", "n"] == before["votes"].loc["agree", "n"] - agrees
    assert after["votes"].loc["disagree", "n"] == before["votes"].loc["disagree", "n"] + agrees

    # back to the original export under --force (themes and the stages before them do not read votes)
    matrix.write_bytes(original)
    pipeline.run(CONSULTATION, stages=["ingest", "positions", "counts", "report"], force=True)
    restored = _published(env["reports"])
    for name, table in before.items():
        pd.testing.assert_frame_equal(restored[name], table)
