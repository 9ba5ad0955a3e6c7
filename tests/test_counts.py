"""Count modes, Wilson intervals and small-cell suppression."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.counts.rules import count_categories, counting_units, suppress, wilson_interval


def test_wilson_matches_known_values():
    lo, hi = wilson_interval(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-3) and hi == pytest.approx(0.5962, abs=1e-3)
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-3)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def _clean():
    return pd.DataFrame(
        {
            "response_id": [f"r{i}" for i in range(10)],
            "question_id": ["q"] * 10,
            "campaign_id": ["C01"] * 6 + [None] * 4,
            "is_campaign_copy": [True] * 6 + [False] * 4,
        }
    )


def test_unique_mode_collapses_campaign_and_reconciles():
    clean = _clean()
    lab = clean[["response_id", "question_id"]].assign(position=["oppose"] * 6 + ["support"] * 3 + ["oppose"])
    res = {}
    for mode in ("all", "unique"):
        units = counting_units(clean, mode)
        res[mode] = count_categories(lab, units, table="position", category_col="position", mode=mode, min_cell=0)
    all_ = res["all"].set_index("category")
    uni = res["unique"].set_index("category")
    assert all_.loc["oppose", "n"] == 7 and uni.loc["oppose", "n"] == 2
    assert all_["denominator"].iloc[0] == 10 and uni["denominator"].iloc[0] == 5
    # all-responses count = unique count + sum over campaigns of (size - 1)
    assert all_["denominator"].iloc[0] == uni["denominator"].iloc[0] + (6 - 1)
    assert "r0" in all_.loc["oppose", "evidence_ids"].split(";")


def test_categories_listed_even_when_empty_and_unknown_mode_rejected():
    clean = _clean()
    lab = clean[["response_id", "question_id"]].assign(position="support")
    out = count_categories(lab, counting_units(clean, "all"), table="p", category_col="position",
                           categories=["support", "oppose"], mode="all", min_cell=0)
    assert out.set_index("category").loc["oppose", "n"] == 0
    with pytest.raises(ValueError, match="count mode"):
        counting_units(clean, "some")


def test_small_cells_are_suppressed_but_zero_is_not():
    df = pd.DataFrame({"n": [0, 3, 5], "share": [0.0, 0.3, 0.5], "ci_low": [0, 0.1, 0.2], "ci_high": [0.1, 0.6, 0.8],
                       "suppressed": [False] * 3})
    out = suppress(df, 5)
    assert out["suppressed"].tolist() == [False, True, False]
    assert pd.isna(out.loc[1, "n"]) and pd.isna(out.loc[1, "share"])
    assert out.loc[2, "n"] == 5
    assert df.loc[1, "n"] == 3  # input not mutated


def test_evidence_lists_the_first_ids_and_counts_them_all():
    from analysis.counts.rules import EVIDENCE_MAX

    n = EVIDENCE_MAX + 7
    clean = pd.DataFrame({"response_id": [f"r{i:03d}" for i in range(n)], "question_id": "q"})
    lab = clean.assign(position=["support"] * (n - 2) + ["oppose"] * 2)
    out = count_categories(lab, counting_units(clean, "all"), table="position", category_col="position",
                           categories=["support", "oppose", "neutral"], mode="all", min_cell=0).set_index("category")
    assert out.loc["support", "evidence_ids"].split(";") == [f"r{i:03d}" for i in range(EVIDENCE_MAX)]
    assert out.loc["support", "evidence_n"] == n - 2 == out.loc["support", "n"]
    assert out.loc["oppose", "evidence_ids"] == f"r{n - 2:03d};r{n - 1:03d}" and out.loc["oppose", "evidence_n"] == 2
    assert pd.isna(out.loc["neutral", "evidence_ids"]) and out.loc["neutral", "evidence_n"] == 0


def test_cell_response_ids_recounts_every_response_behind_a_cell(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "results"))
    import results_frames as rf

    from analysis.config import parse_config
    from analysis.counts import rules
    from analysis.counts.evidence import cell_response_ids

    cfg = parse_config(rf.config_dict())
    out = rf.counts_of(rf.build_frames(), tmp_path, cfg)
    capped = out[out["evidence_n"] > rules.EVIDENCE_MAX]
    assert len(capped) and rules.EVIDENCE_MAX == 20  # the fixture has cells over the cap; the cap is restored
    for _, cell in capped.head(5).iterrows():
        ids = cell_response_ids(cfg, tmp_path, table=cell["table"], question_id=cell["question_id"],
                                category=cell["category"], group=cell["group"], count_mode=cell["count_mode"])
        assert len(ids) == cell["evidence_n"] and ids == sorted(set(ids))
        assert ids[:rules.EVIDENCE_MAX] == cell["evidence_ids"].split(";")
    assert cell_response_ids(cfg, tmp_path, table="theme", question_id="nope", category="x") == []
