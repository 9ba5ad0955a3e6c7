"""The coded counting path (:mod:`analysis.counts.coded`, issue 18) gives what the string path it replaces gives.

The string path (a merge or :func:`analysis.counts.cells.attach_units`, then every key column factorized on the
joined frame; the positions' denominators from a second join) still counts whatever the coded path declines, so
switching the coded path off (``encode_units`` returning ``None``) runs the code it replaced.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.counts import coded, rules
from analysis.counts.rules import count_categories, counting_units

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "results"))
import results_frames as rf  # noqa: E402 - the fixture module sits beside the fixtures


def _string_path(monkeypatch) -> None:
    def never(*args, **kwargs):
        raise AssertionError("the coded path ran")

    monkeypatch.setattr(coded, "encode_units", lambda *args, **kwargs: None)
    monkeypatch.setattr(coded, "label_codes", never)


def _both(monkeypatch, compute):
    """``compute()`` with the coded path, then with the string path."""
    fast = compute()
    with monkeypatch.context() as m:
        _string_path(m)
        slow = compute()
    return fast, slow


@pytest.mark.parametrize("polis", [False, True])
def test_build_counts_is_the_string_path_on_argkp_and_polis_cuts(tmp_path, monkeypatch, polis):
    """Every count table of the ArgKP cut (campaigns, themes, positions, options) and of the Pol.is cut."""
    from analysis.config import parse_config
    from analysis.counts.stage import build_counts

    cfg = parse_config(rf.polis_config_dict() if polis else rf.config_dict())
    folder = rf.write_processed(rf.build_polis_frames() if polis else rf.build_frames(), tmp_path, cfg)
    calls = []
    real = coded.label_codes
    monkeypatch.setattr(coded, "label_codes", lambda *a, **k: calls.append(1) or real(*a, **k))
    fast, slow = _both(monkeypatch, lambda: build_counts(cfg, folder))
    assert calls  # the coded path counted (and was switched off for the second run)
    assert len(fast) > 50 and (fast["table"] == "campaign").any()
    pd.testing.assert_frame_equal(fast, slow)


def test_build_counts_is_the_string_path_on_the_sample(sample_results, monkeypatch):
    from analysis import paths
    from analysis.config import load_config
    from analysis.counts.stage import build_counts

    cfg = load_config(paths.resolve_config("sample"))
    processed = paths.processed_dir("sample")
    fast, slow = _both(monkeypatch, lambda: build_counts(cfg, processed))
    assert {"position", "theme", "option", "campaign"} <= set(fast["table"])
    assert (fast.loc[fast["count_mode"] == "unique", "table"] == "position").any()
    pd.testing.assert_frame_equal(fast, slow)


def _consultation(seed: int, n: int = 300):
    """Label rows (multi-label, a missing group, an object category with a missing value) and units of both modes."""
    rng = np.random.default_rng(seed)
    rids = [f"R{i:04d}" for i in range(n)]
    answers = pd.DataFrame([(r, q) for r in rids for q in ("q1", "q2", "q3") if rng.random() < 0.8],
                           columns=["response_id", "question_id"])
    members = rng.choice(rids, size=n // 3, replace=False)
    membership = pd.Series(rng.choice(["C01", "C02"], size=len(members)), index=members).sort_index()
    rows = []
    for r, q in answers.itertuples(index=False):
        for _ in range(int(rng.integers(0, 3))):
            rows.append((r, q, str(rng.choice(["support", "oppose", "b", "a"])),
                         str(rng.choice(["org", "individual"])) if rng.random() < 0.9 else None))
    lab = pd.DataFrame(rows, columns=["response_id", "question_id", "category", "kind"])
    lab.loc[lab.index[::29], "response_id"] = "R9999"  # labels of responses without units
    return lab, answers, membership


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("mode", ["all", "unique"])
@pytest.mark.parametrize("rule", ["any", "plurality", "majority"])
@pytest.mark.parametrize("group", [None, "kind"])
@pytest.mark.parametrize("den", ["units", "labels", "given"])
def test_count_categories_is_the_string_path(monkeypatch, seed, mode, rule, group, den):
    lab, answers, membership = _consultation(seed)
    units = counting_units(answers, mode, membership)
    kw = dict(table="t", category_col="category", group_col=group, mode=mode, min_cell=3, unit_rule=rule,
              label_denominators=den == "labels",
              denominator_units=units.assign(kind="org") if den == "given" else None)
    gappy = lab.assign(category=lab["category"].astype(object).where(lab.index % 31 > 0, None))
    for labelled in (lab, gappy):
        fast, slow = _both(monkeypatch, lambda lb=labelled: count_categories(lb, units, **kw))
        assert len(fast) > 10
        pd.testing.assert_frame_equal(fast, slow)
        pd.testing.assert_frame_equal(count_categories(labelled, coded.prepared(units), **kw), fast)


def test_label_denominators_are_the_joined_label_rows(monkeypatch):
    """``label_denominators``: what ``position_counts`` passed before (the labelled rows joined to the units)."""
    lab, answers, membership = _consultation(5)
    units = counting_units(answers, "unique", membership)
    joined = rules.join_units(lab[["response_id", "question_id", "kind"]].drop_duplicates(), units)
    for group in (None, "kind"):
        kw = dict(table="t", category_col="category", group_col=group, mode="unique", min_cell=0)
        den = joined.drop(columns="kind") if group is None else joined
        want = count_categories(lab, units, denominator_units=den, **kw)
        pd.testing.assert_frame_equal(count_categories(lab, units, label_denominators=True, **kw), want)


def test_units_own_rows_join_as_the_lookup_does():
    """Label rows equal to the units' rows take the shortcut; with one more row they are looked up: same counts."""
    _, answers, membership = _consultation(3)
    units = counting_units(answers, "unique", membership)
    lab = answers.assign(category=np.where(np.arange(len(answers)) % 3 == 0, "x", "y"))
    extra = pd.concat([lab, pd.DataFrame([{"response_id": "nobody", "question_id": "q1", "category": "x"}])])
    kw = dict(table="t", category_col="category", mode="unique", min_cell=0, unit_rule="plurality")
    pd.testing.assert_frame_equal(count_categories(lab, units, **kw), count_categories(extra, units, **kw))


def test_unit_codes_partition_the_unit_ids_as_factorize_does():
    """A campaign's code is its own, also when a campaign unit is named like a response (every id hashed then)."""
    _, answers, membership = _consultation(4)
    for units in (counting_units(answers, "all", membership), counting_units(answers, "unique", membership)):
        clash = units.assign(unit_id=units["unit_id"].where(units["unit_id"] != "campaign:C01", "R0005"))
        for frame in (units, clash):
            enc = coded.encode_units(frame)
            want = pd.factorize(frame["unit_id"])[0]
            # the same partition: equal codes exactly where the unit ids are equal
            pairs = pd.DataFrame({"got": enc.unit, "want": want}).drop_duplicates()
            assert pairs["got"].is_unique and pairs["want"].is_unique
    assert coded.encode_units(pd.concat([units, units.head(1)])) is None  # a pair with two units
    assert coded.encode_units(units.assign(response_id=range(len(units)))) is None  # not strings


def test_units_like_another_mode_and_kept_lookups_count_as_fresh_ones():
    """Keys taken over from the other mode's units, and label rows looked up before, only when they are the same."""
    lab, answers, membership = _consultation(6)
    first = coded.encode_units(counting_units(answers, "all", membership))
    unique = counting_units(answers, "unique", membership)
    taken, fresh = coded.encode_units(unique, like=first), coded.encode_units(unique)
    assert taken.index is first.index and fresh.index is not first.index
    np.testing.assert_array_equal(taken.unit, fresh.unit)
    other = counting_units(answers.iloc[::-1], "unique", membership)  # the same keys in another order
    assert coded.encode_units(other, like=first).index is not first.index
    kw = dict(table="t", category_col="category", group_col="kind", mode="unique", min_cell=0, unit_rule="plurality")
    moved = lab.assign(response_id=lab["response_id"].to_numpy()[::-1])  # same length, other keys
    for labelled in (lab, moved, lab, moved.head(len(lab) - 1), lab.iloc[::-1]):
        want = count_categories(labelled, coded.encode_units(unique), **kw)
        pd.testing.assert_frame_equal(count_categories(labelled, taken, **kw), want)
    assert 1 < len(taken.lookups) <= coded.MAX_LOOKUPS
