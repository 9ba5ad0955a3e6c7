"""The integer-code paths of the counts (issue 18) give what the pandas merges and groupings they replace give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.config import QuestionConfig
from analysis.counts import cells
from analysis.counts.options import answer_options, labelled_options
from analysis.counts.rules import (
    ROW_KEYS,
    _collapse_units,
    _secondary,
    count_categories,
    counting_units,
    suppress,
)


def _consultation(seed: int, n: int = 400) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Label rows (multi-label, a missing group), answers and campaign membership of ``n`` respondents."""
    rng = np.random.default_rng(seed)
    rids = [f"R{i:04d}" for i in range(n)]
    answers = pd.DataFrame([(r, q) for r in rids for q in ("q1", "q2", "q3") if rng.random() < 0.8],
                           columns=["response_id", "question_id"])
    members = rng.choice(rids, size=n // 4, replace=False)
    membership = pd.Series(rng.choice(["C01", "C02", "C03"], size=len(members)), index=members).sort_index()
    rows = []
    for r, q in answers.itertuples(index=False):
        for _ in range(int(rng.integers(0, 3))):  # 0, 1 or 2 labels (a repeated label too)
            rows.append((r, q, str(rng.choice(["support", "oppose", "neutral", "b", "a"])),
                         str(rng.choice(["org", "individual"])) if rng.random() < 0.95 else None))
    lab = pd.DataFrame(rows, columns=["response_id", "question_id", "category", "kind"])
    return lab, answers, membership


def _reference(lab: pd.DataFrame, units: pd.DataFrame, group: str | None, rule: str) -> pd.DataFrame:
    """Distinct units and response ids per cell, and units per question (and group), with pandas merges/groupbys."""
    m = lab.merge(units, on=["response_id", "question_id"], how="inner")
    g = group or "__g"
    if group is None:
        m = m.assign(__g="all")
    if rule != "any":
        m = _reference_collapse(m, ["question_id", g, "unit_id"], rule)
    keys = ["question_id", g, "category"]
    cell = m.groupby(keys).agg(n=("unit_id", "nunique"), ev=("response_id", "nunique"))
    return cell


def _reference_collapse(m: pd.DataFrame, keys: list[str], rule: str) -> pd.DataFrame:
    shared = m["unit_id"] != m["response_id"]
    s = m[shared]
    votes = s.groupby(keys + ["category"], dropna=False)["response_id"].transform("nunique")
    if rule == "plurality":
        keep = votes == votes.groupby([s[k] for k in keys], dropna=False).transform("max")
    else:
        keep = 2 * votes >= s.groupby(keys, dropna=False)["response_id"].transform("nunique")
    return pd.concat([m[~shared], s[keep]]).sort_index(kind="stable")


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("mode", ["all", "unique"])
@pytest.mark.parametrize("rule", ["any", "plurality", "majority"])
@pytest.mark.parametrize("group", [None, "kind"])
def test_count_categories_matches_pandas_groupings(seed, mode, rule, group):
    lab, answers, membership = _consultation(seed)
    units = counting_units(answers, mode, membership)
    out = count_categories(lab, units, table="t", category_col="category", group_col=group, mode=mode, min_cell=0,
                           unit_rule=rule)
    ref = _reference(lab, units, group, rule)
    got = out.set_index(["question_id", "group", "category"])
    assert len(got) == len(ref) and got.index.is_unique
    for (qid, grp, cat), row in ref.iterrows():
        cell = got.loc[(qid, str(grp), cat)]
        assert int(cell["n"]) == row["n"] and int(cell["evidence_n"]) == row["ev"]
    # denominators: every unit of the question (in that group when the units carry it)
    den = units.groupby("question_id")["unit_id"].nunique()
    assert (out["denominator"].to_numpy() == out["question_id"].map(den).to_numpy()).all()
    # evidence ids: the first ids of the cell in sorted order
    m = lab.merge(units, on=["response_id", "question_id"])
    if rule == "any" and group is None:
        for _, row in out.head(5).iterrows():
            ids = sorted(set(m.loc[(m["question_id"] == row["question_id"]) & (m["category"] == row["category"]),
                                   "response_id"]))
            assert row["evidence_ids"] == ";".join(ids[:20])


def test_attach_units_is_the_inner_merge_and_declines_repeated_keys():
    lab, answers, membership = _consultation(3)
    units = counting_units(answers.sample(frac=0.7, random_state=1), "unique", membership)
    rows, unit_id = cells.attach_units(lab, units)
    merged = lab.merge(units, on=["response_id", "question_id"], how="inner")
    assert lab.iloc[rows]["response_id"].tolist() == merged["response_id"].tolist()
    assert unit_id.tolist() == merged["unit_id"].tolist()
    assert cells.attach_units(lab, pd.concat([units, units.head(1)])) is None  # a pair with two units: merge instead
    assert cells.attach_units(lab.assign(response_id=range(len(lab))), units) is None  # not strings


@pytest.mark.parametrize("flags", [True, False])
def test_distinct_per_group_is_groupby_nunique(monkeypatch, flags):
    """Both ways of finding the distinct pairs: flags (small key space) and hashing (forced here)."""
    if not flags:
        monkeypatch.setattr(cells, "BITMAP_BYTES_PER_ROW", 0)
        monkeypatch.setattr(cells, "BITMAP_MIN_BYTES", 0)
    rng = np.random.default_rng(5)
    for size, groups, values in ((2000, 30, 50), (5000, 3, 4000), (1, 1, 1)):
        group, codes = rng.integers(-1, groups, size), rng.integers(-1, values, size)
        group[0], codes[0] = max(groups - 1, 0), max(values - 1, 0)
        present, n = cells.distinct_per_group(group, codes)
        ok = (group >= 0) & (codes >= 0)
        ref = pd.Series(codes[ok]).groupby(group[ok]).nunique()
        assert present.tolist() == ref.index.tolist() and n.tolist() == ref.tolist()


def test_collapse_units_keeps_plurality_and_majority_rows():
    lab, answers, membership = _consultation(7)
    m = lab.merge(counting_units(answers, "unique", membership), on=["response_id", "question_id"]).assign(g="all")
    for rule in ("plurality", "majority"):
        got = _collapse_units(m, ["question_id", "g", "unit_id"], "category", rule)
        assert got.index.tolist() == _reference_collapse(m, ["question_id", "g", "unit_id"], rule).index.tolist()


def _secondary_loop(counts: pd.DataFrame, primary: pd.Series) -> pd.Series:
    """Secondary suppression cell by cell (the rule as written)."""
    extra = pd.Series(False, index=counts.index)
    n = counts["n"].fillna(0).astype(int)
    for _, idx in counts[ROW_KEYS].astype(str).groupby(ROW_KEYS, sort=False).groups.items():
        hidden = primary.loc[idx]
        den = counts.loc[idx, "denominator"]
        if int(hidden.sum()) != 1 or len(idx) < 2 or den.nunique() != 1 or int(n.loc[idx].sum()) != int(den.iloc[0]):
            continue
        extra.loc[n.loc[idx][~hidden.to_numpy()].sort_values(kind="stable").index[0]] = True
    return extra


def test_secondary_suppression_matches_the_rule_cell_by_cell():
    rng = np.random.default_rng(11)
    rows = []
    for r in range(300):
        k = int(rng.integers(1, 5))
        n = rng.integers(0, 12, k)
        den = int(n.sum()) if rng.random() < 0.7 else int(n.sum()) + 3
        rows += [dict(table="t", question_id=f"q{r % 7}", group=f"g{r}", category=f"c{i}", n=int(v), denominator=den,
                      count_mode="all") for i, v in enumerate(n)]
    counts = pd.DataFrame(rows)
    primary = (counts["n"] > 0) & (counts["n"] < 5)
    assert (_secondary(counts, primary.to_numpy()) == _secondary_loop(counts, primary).to_numpy()).all()
    out = suppress(counts.assign(share=0.5, ci_low=0.1, ci_high=0.9, suppressed=False), 5)
    hidden = primary | _secondary_loop(counts, primary)
    assert out["suppressed"].tolist() == hidden.tolist() and out.loc[hidden.to_numpy(), "n"].isna().all()
    assert out.loc[hidden.to_numpy(), "share"].isna().all() and (out.loc[~hidden.to_numpy(), "share"] == 0.5).all()


def test_labelled_options_splits_each_answer_as_answer_options_does():
    q = QuestionConfig(id="q1", text="Which?", kind="closed", multi_select=True, choice_separator=";",
                       choices={"Yes": "support", "No": "oppose", "Other": "none"}, other_choice="Other")
    rng = np.random.default_rng(2)
    values = ["Yes", "No", "Yes;No", "Other: a road", "", "Maybe", "No;No", None]
    ans = pd.DataFrame({"response_id": [f"R{i}" for i in range(200)], "question_id": "q1",
                        "answer": [values[i] for i in rng.integers(0, len(values), 200)]})
    got = labelled_options(ans, {"q1": q})
    want = [(r, "q1", o) for r, a in zip(ans["response_id"], ans["answer"], strict=True)
            for o in answer_options(str(a), q)]
    assert list(got.itertuples(index=False, name=None)) == want


@pytest.mark.parametrize("rule", ["any", "plurality"])
def test_one_call_over_questions_is_the_calls_per_question(rule):
    lab, answers, membership = _consultation(13)
    units = counting_units(answers, "unique", membership)
    cats = {"q1": ["support", "oppose", "zero"], "q2": ["a", "b"], "q3": ["neutral", "support"]}
    kw = dict(table="t", category_col="category", group_col="kind", mode="unique", min_cell=5, unit_rule=rule)
    one = count_categories(lab, units, categories=cats, **kw)
    each = pd.concat([count_categories(lab[lab["question_id"] == q], units, categories=c, **kw)
                      for q, c in cats.items()], ignore_index=True)
    assert (one["category"] == "zero").any()  # a category nobody chose is kept, with n 0
    pd.testing.assert_frame_equal(one.reset_index(drop=True), each.reset_index(drop=True))


def test_map_strings_is_series_map_on_the_sample(sample_results):
    """The Arrow lookup gives ``Series.map``'s Series for the maps the counts make (membership, respondent type)."""
    from analysis import paths
    from analysis.counts.rules import respondent_campaigns, respondent_types
    from analysis.tables import read_optional, read_table

    processed = paths.processed_dir("sample")
    answers = read_table("core_answers_clean", processed)
    members = respondent_campaigns(answers, read_optional("core_submission_campaigns", processed))
    rtype = respondent_types(read_table("core_responses", processed))
    assert len(members) and len(rtype)
    ids = answers["response_id"]
    for values in (ids, ids.astype(object), ids.astype(str).rename("unit_id"), ids.iloc[::-3]):
        for mapping in (members, rtype, rtype.iloc[::2]):
            expected = values.map(mapping)
            assert expected.notna().any()
            pd.testing.assert_series_equal(cells.map_strings(values, mapping), expected)
    # what map must do itself: a repeated key (map raises), keys that are not strings, missing values
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever map raises
        cells.map_strings(ids, pd.concat([rtype, rtype.head(1)]))
    numbered = pd.Series(range(3), index=[1, 2, 3])
    pd.testing.assert_series_equal(cells.map_strings(pd.Series([1, 3, 4]), numbered),
                                   pd.Series([1, 3, 4]).map(numbered))
    gappy = ids.head(10).astype(object).where(np.arange(10) % 3 > 0)
    pd.testing.assert_series_equal(cells.map_strings(gappy, rtype), gappy.map(rtype))


@pytest.mark.parametrize("flags", [True, False])
def test_sorted_unique_is_np_unique_on_evidence_codes(sample_results, monkeypatch, flags):
    """On the sample's (cell, response) codes, as ``evidence_by_code`` makes them, and on edge cases."""
    from analysis import paths
    from analysis.tables import read_table

    at = read_table("core_answer_themes", paths.processed_dir("sample"))
    cell = cells.sorted_codes(at["question_id"])[0]  # a question's cell: an answer with several themes repeats
    rid = pd.factorize(at["response_id"])[0]
    codes = cell * (int(rid.max()) + 1) + rid
    assert len(np.unique(codes)) < len(codes)  # repeated pairs are there
    if not flags:  # the sort (else the flags: the sample's codes are few)
        monkeypatch.setattr(cells, "BITMAP_BYTES_PER_ROW", 0)
        monkeypatch.setattr(cells, "BITMAP_MIN_BYTES", 0)
    for values in (codes, codes[::-1], np.repeat(codes, 2), np.zeros(0, dtype=np.int64), np.array([5, -1, 5, -1])):
        got = cells.sorted_unique(values)
        np.testing.assert_array_equal(got, np.unique(values))
        assert got.dtype == np.unique(values).dtype


def _evidence_before(cell: np.ndarray, ids: pd.Series, most: int | None):
    """``evidence_by_code`` as it was: every distinct id made a Python string, then the listed ones taken."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes, uniques = pd.factorize(ids)
    order = np.asarray(pc.sort_indices(pa.array(uniques, type=pa.string())), dtype=np.int64)
    uniques = np.asarray(uniques, dtype=object)
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[order] = np.arange(len(uniques))
    ok = (cell >= 0) & (codes >= 0)
    for empty in np.flatnonzero(uniques == ""):
        ok &= codes != empty
    n_u = len(uniques)
    pairs = np.unique(cell[ok].astype(np.int64) * n_u + rank[codes[ok]])
    pair_id = uniques[order[pairs % n_u]]
    pair_cell = pairs // n_u
    first = np.flatnonzero(np.r_[True, pair_cell[1:] != pair_cell[:-1]])
    cells_, n_ids = pair_cell[first], np.diff(np.r_[first, len(pairs)])
    if most is not None:
        pair_id = pair_id[np.arange(len(pairs)) - np.repeat(first, n_ids) < most]
        first = np.concatenate([[0], np.cumsum(np.minimum(n_ids, most))[:-1]])
    return cells_, [";".join(chunk) for chunk in np.split(pair_id, first[1:])], n_ids


@pytest.mark.parametrize("most", [20, 3, None])
def test_evidence_by_code_is_the_code_it_replaces_on_the_sample(sample_results, monkeypatch, most):
    from analysis import paths
    from analysis.counts import rules
    from analysis.tables import read_table

    monkeypatch.setattr(rules, "EVIDENCE_MAX", most)
    processed = paths.processed_dir("sample")
    for name, col in (("core_answer_themes", "theme_id"), ("core_answer_positions", "position")):
        lab = read_table(name, processed)
        cell = cells.combine(cells.sorted_codes(lab["question_id"])[0], cells.sorted_codes(lab[col])[0])[0]
        cell[::17] = -1  # rows left out
        ids = lab["response_id"].astype(str)
        gappy = ids.astype(object).where(np.arange(len(ids)) % 11 > 0, "").where(np.arange(len(ids)) % 13 > 0)
        for values in (ids, gappy):
            got, want = rules.evidence_by_code(cell, values), _evidence_before(cell, values, most)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[2], want[2])
            assert got[1] == want[1] and len(got[1]) > 5
