"""``analysis evaluate themes``: the coded-dataset format, the draws, and learning from codes on real text.

The fixture ``tests/fixtures/themes/coded_argkp`` is the 80 ArgKP dev arguments of the themes fixtures
(IBM, CDLA-Sharing 1.0; see the README there) in the evaluation format: one question per stance, one theme
per key point, an argument's codes its key points labelled 1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from analysis.cli import app
from analysis.config import ThemeSettings
from analysis.errors import InputError
from analysis.themes.evaluate import draw_codes, evaluate, load_folder

CODED = Path(__file__).parent / "fixtures" / "themes" / "coded_argkp"


@pytest.fixture(scope="module")
def data():
    return load_folder(CODED)


@pytest.fixture(scope="module")
def result(data):
    return evaluate(data, [0, 5], seed=0, settings=ThemeSettings(cache=False))


def test_the_format_is_read_with_codes_as_sets(data) -> None:
    a = data.answers
    assert len(a) == 80 and set(a["question"]) == {"topic00_con", "topic00_pro"}
    two = a.loc[a["codes"].map(len) == 2, "codes"].iloc[0]
    assert isinstance(two, frozenset) and all(t.startswith("kp_4_") for t in two)
    assert (a["codes"].map(len) == 0).sum() == 9  # coded with no key point


def test_draws_are_nested_capped_at_half_and_seeded(data) -> None:
    d = draw_codes(data, [0, 2, 5], seed=0)
    assert d[0] == set() and d[2] <= d[5]
    assert d == draw_codes(data, [0, 2, 5], seed=0) and d[5] != draw_codes(data, [5], seed=1)[5]
    truth = data.truth()
    for q in data.codebook.questions:
        for t in data.theme_ids(q):
            n = sum(t in c for (qq, _), c in truth.items() if qq == q)
            got = sum(t in truth[x] for x in d[5] if x[0] == q)
            assert got >= min(5, n // 2)  # at least k (or half) coded with the theme; others may add more
        none = [x for x in d[5] if x[0] == q and not truth[x]]
        assert len(none) <= max(sum(1 for (qq, _), c in truth.items() if qq == q and not c) // 2, 0)


def test_every_k_is_scored_on_the_same_uncoded_rows(result, data) -> None:
    summary, per_theme, runs = result
    assert summary["n_scored"].nunique() == 1
    held = draw_codes(data, [0, 5], seed=0)[5]
    assert summary["n_scored"].iloc[0] == len(data.answers) - len(held)
    assert set(per_theme["k"]) == {0, 5}
    assert per_theme.groupby("k")["n"].sum().nunique() == 1


def test_codes_are_learnt_from_and_beat_a_plain_logistic_regression(result) -> None:
    summary, _, runs = result
    zero, five = summary.set_index("k").loc[0], summary.set_index("k").loc[5]
    assert zero["routes"] == "definition x2" and five["routes"] == "prior+linear x2"
    assert five["micro_f1"] > zero["micro_f1"]
    assert five["micro_f1"] > five["logreg_micro_f1"] and five["macro_f1"] > five["logreg_macro_f1"]
    assert np.isnan(zero["logreg_micro_f1"])
    # scores for ranking metrics: every scored argument against every key point of its stance
    ids, themes, m = runs[5].scores["topic00_pro"]
    assert m.shape == (len(ids), len(themes)) and len(themes) == 5


def test_out_theme_model_records_the_route_and_its_cross_fitted_accuracy(result) -> None:
    meta = result[2][5].meta
    row = meta[meta["question_id"] == "topic00_con"].iloc[0]
    assert row["method"] == "prior+linear"
    assert row["thresholding"].startswith("route prior+linear; thresholds calibrated on")
    assert "cross-fitted F1" in row["thresholding"] and "at most" in row["thresholding"]


def test_bad_codes_are_named_with_file_row_and_column(tmp_path: Path) -> None:
    (tmp_path / "codebook.yml").write_text((CODED / "codebook.yml").read_text())
    a = pd.read_csv(CODED / "answers.csv", dtype=str, keep_default_na=False)
    a.loc[3, "codes"] = "kp_4_1;no_such_theme"
    a.to_csv(tmp_path / "answers.csv", index=False)
    with pytest.raises(InputError, match="no_such_theme") as err:
        load_folder(tmp_path)
    assert "row 5" in str(err.value) and "codes" in str(err.value)


def test_cli_prints_and_writes_the_scores(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["evaluate", "themes", str(CODED), "--k", "0,3", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "micro_f1" in res.output and "prior+linear" in res.output
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert list(summary["k"]) == [0, 3] and (tmp_path / "per_theme.csv").exists()


def test_cli_refuses_an_unknown_backend_and_names_the_missing_encoder(tmp_path: Path, monkeypatch) -> None:
    res = CliRunner().invoke(app, ["evaluate", "themes", str(CODED), "--k", "0", "--backend", "bert"])
    assert res.exit_code == 2 and "--backend must be tfidf or minilm" in res.output
    import analysis.embeddings as E

    monkeypatch.setattr(E, "_find_minilm_package_dir", lambda: None)  # as on a machine without the optional weights
    res = CliRunner().invoke(app, ["evaluate", "themes", str(CODED), "--k", "0", "--backend", "minilm",
                                   "--finetune", "setfit"])
    assert res.exit_code == 2 and "all-MiniLM-L6-v2" in res.output


def test_one_theme_questions_share_one_threshold_chosen_on_all_their_codes(data) -> None:
    """Both stances learn the one-theme rule on ~20 codes each; their cut is chosen on the codes of both."""
    from dataclasses import replace
    from types import SimpleNamespace

    from analysis.embeddings import make_backend
    from analysis.themes.calibrate import SHARED_GRID, share_threshold
    from analysis.themes.evaluate import _tables
    from analysis.themes.stage import theme_all

    settings = ThemeSettings(cache=False)
    answers, tags = _tables(data, draw_codes(data, [5], seed=0)[5])
    cfg = SimpleNamespace(open_questions=[SimpleNamespace(id=q) for q in sorted(data.codebook.questions)],
                          settings=SimpleNamespace(themes=settings, seed=0))
    inspect: dict = {}
    _, _, meta, _ = theme_all(answers, cfg, backend=make_backend(settings, 0), codebook=data.codebook, tags=tags,
                              inspect=inspect)
    cals = [f.calibration for f in inspect["fitted"].values()]
    assert all(c.shared == 2 and c.max_themes == 1 and c.crossfit for c in cals)
    assert len({c.threshold_factor for c in cals}) == 1 and cals[0].threshold_factor in SHARED_GRID
    assert meta["thresholding"].str.contains("threshold shared by the one-theme rules of 2 groups").all()
    # the shared factor is the best of the grid on the two questions' cross-fitted scores pooled
    pooled = cals[0].shared_f1
    assert share_threshold([replace(c, shared=0) for c in cals])[0].shared_f1 == pooled
    for tf in SHARED_GRID:
        fixed = [replace(c, threshold_factor=tf) for c in cals]
        tp = fp = fn = 0
        for c in fixed:
            for whole, thr, truth in c.crossfit:
                rel = whole / (thr * tf)
                got = np.zeros_like(truth)
                best = rel.argmax(axis=1)
                keep = rel[np.arange(len(rel)), best] >= 1
                got[np.flatnonzero(keep), best[keep]] = True
                tp, fp, fn = tp + (got & truth).sum(), fp + (got & ~truth).sum(), fn + (~got & truth).sum()
        assert 2 * tp / max(2 * tp + fp + fn, 1) <= pooled + 1e-9
    # one group alone keeps its own choice
    assert share_threshold(cals[:1]) == cals[:1]
