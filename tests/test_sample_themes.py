"""Acceptance check of theme assignment on the bundled SYNTHETIC sample against its ground truth.

Runs ingest -> campaigns -> themes into a temp folder (about half a minute) and compares every open
answer's themes with ``data/raw/sample/ground_truth/themes.csv``. The thresholds below are the levels
measured when the pooled sentence classifier (answer-level witnesses), the procedural-sentence filter,
the non-answer rule, accent folding, 5-fold calibration and no sentence break at ";" were added (pair F1
0.968, all 51 cells within 5 pp - the issue's target -, mean gap 1.1 pp, worst cell 3.9 pp, 7.2% not
coded). The issue's bound (every cell within 5 pp) is asserted as is; the others keep a margin. ``benchmarks/themes_sample.py`` prints the full table.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import ingest, paths
from analysis.campaigns import stage as campaigns
from analysis.config import load_config
from analysis.redaction import stage as redaction
from analysis.tables import read_table
from analysis.themes import fit, fitcache
from analysis.themes import stage as themes
from analysis.themes.codebook import OTHER, UNTRANSLATED


@pytest.fixture(scope="module")
def themed(tmp_path_factory, monkeypatch_module) -> tuple:
    cfg = load_config("sample")
    raw = paths.raw_dir("sample")
    out = tmp_path_factory.mktemp("sample_themes")
    monkeypatch_module.setenv("ANALYSIS_DATA_PROCESSED", str(out.parent))  # embedding cache in the temp folder
    ingest.run(cfg, raw_dir=raw, processed_dir=out)
    redaction.run(cfg, raw_dir=raw, processed_dir=out)
    campaigns.run(cfg, raw_dir=raw, processed_dir=out)
    themes.run(cfg, raw_dir=raw, processed_dir=out)
    return cfg, out


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _comparison(cfg, out) -> tuple[pd.DataFrame, float, float]:
    r = read_table("core_responses", out)
    key = r["source_file"].str.replace(r"^.*/", "", regex=True)
    survey = r["source_file"].str.endswith(".csv")
    key[survey] = r["response_id"][survey].str.split(":", n=1).str[1]
    key_of = dict(zip(r["response_id"], key, strict=True))
    at = read_table("core_answer_themes", out)
    ans = read_table("core_answers_clean", out)
    ans = ans[ans["question_id"].isin([q.id for q in cfg.open_questions])]
    gt = pd.read_csv(paths.raw_dir("sample") / "ground_truth" / "themes.csv", dtype=str)
    truth = gt[gt["theme_id"] != OTHER].groupby(["response_key", "question_id"])["theme_id"].agg(set).to_dict()
    mine = at[~at["theme_id"].isin([OTHER, UNTRANSLATED])].assign(key=at["response_id"].map(key_of))
    mine = mine.groupby(["key", "question_id"])["theme_id"].agg(set).to_dict()
    cells, tp, fp, fn, not_coded = [], 0, 0, 0, 0
    for qid, g in ans.groupby("question_id"):
        keys = [(key_of[rid], qid) for rid in g["response_id"]]
        t_sets = [truth.get(k, set()) for k in keys]
        m_sets = [mine.get(k, set()) for k in keys]
        not_coded += sum(not m for m in m_sets)
        for t, m in zip(t_sets, m_sets, strict=True):
            tp, fp, fn = tp + len(t & m), fp + len(m - t), fn + len(t - m)
        for th in sorted(set().union(*t_sets, *m_sets)):
            cells.append({"question": qid, "theme": th, "gap_pp": 100 * (sum(th in m for m in m_sets)
                                                                          - sum(th in t for t in t_sets)) / len(g)})
    return pd.DataFrame(cells), 2 * tp / (2 * tp + fp + fn), not_coded / len(ans)


def test_sample_themes_match_the_ground_truth(themed):
    cfg, out = themed
    cells, f1, not_coded = _comparison(cfg, out)
    assert not_coded < 0.10  # the bound on "other / not coded"
    assert f1 >= 0.94
    assert cells["gap_pp"].abs().mean() <= 2.0
    assert cells["gap_pp"].abs().max() <= 5.0, cells.loc[cells["gap_pp"].abs().idxmax()].to_dict()


def test_thresholding_is_recorded_for_every_question(themed):
    cfg, out = themed
    model = read_table("out_theme_model", out)
    by_q = model.drop_duplicates("question_id").set_index("question_id")["thresholding"]
    assert set(by_q.index) == {q.id for q in cfg.open_questions}
    assert "thresholds calibrated on" in by_q["q1_why"]  # the sample's analyst codes are used
    # every question shares one theme list: the codes are pooled, so the uncoded letters are calibrated too
    assert by_q["email_submission"] == by_q["q1_why"] and "pooled over" in by_q["email_submission"]


def test_rerun_after_a_one_theme_edit_writes_what_a_cold_run_writes(themed, tmp_path, monkeypatch):
    """The analyst's loop: one seed phrase added to one theme, then a re-run.

    The re-run reuses what the first run stored (unit splits, word counts, fits with unchanged inputs) and
    calibrates the routes and themes the questions in forked processes; a cold run (empty store, everything in
    this process) must write the same bytes. The edit moves some response-level codes to other answers, so most
    fits are redone: this checks the reuse is keyed exactly, not that it is large.
    """
    cfg, out = themed
    raw = tmp_path / "raw"
    raw.mkdir()
    book = (paths.raw_dir("sample") / "codebook.yml").read_text(encoding="utf-8")
    phrase = "          - human rights safeguards\n"
    edited = book.replace(phrase, phrase + "          - the right to privacy when police ask another country for data\n", 1)
    assert edited != book
    (raw / "codebook.yml").write_text(edited, encoding="utf-8")
    shutil.copy(paths.raw_dir("sample") / "overrides.csv", raw / "overrides.csv")
    store = paths.cache_dir(cfg.id) / "themes"
    units_before = sorted(p.name for p in (store / "units").iterdir())
    warm, cold = tmp_path / "warm", tmp_path / "cold"
    for folder in (warm, cold):
        shutil.copytree(out, folder)
    themes.run(cfg, raw_dir=raw, processed_dir=warm)
    assert sorted(p.name for p in (store / "units").iterdir()) == units_before  # every split was reused
    monkeypatch.setenv("ANALYSIS_DATA_PROCESSED", str(tmp_path / "cold-root"))  # an empty store
    monkeypatch.setattr(fitcache, "WORKERS", 1)
    themes.run(cfg, raw_dir=raw, processed_dir=cold)
    for name in ("core_themes", "core_answer_themes", "out_theme_model"):
        assert (warm / f"{name}.parquet").read_bytes() == (cold / f"{name}.parquet").read_bytes(), name
    assert not read_table("core_answer_themes", warm).equals(read_table("core_answer_themes", out))  # the edit counted


def test_models_built_ahead_in_forks_give_what_building_them_in_the_calibration_gives(themed, tmp_path, monkeypatch):
    """The (route, fold) models built ahead side by side (``fit._fold_models``) against the former path: each
    built by ``calibrate_pooled`` itself, one process, empty store. Same bytes."""
    cfg, out = themed
    monkeypatch.setenv("ANALYSIS_DATA_PROCESSED", str(tmp_path / "root"))
    monkeypatch.setattr(fitcache, "WORKERS", 1)
    monkeypatch.setattr(fit, "_fold_models", lambda g, routes: {})
    former = tmp_path / "former"
    shutil.copytree(out, former)
    themes.run(cfg, raw_dir=paths.raw_dir("sample"), processed_dir=former)
    for name in ("core_themes", "core_answer_themes", "out_theme_model"):
        assert (former / f"{name}.parquet").read_bytes() == (out / f"{name}.parquet").read_bytes(), name


def _theme_all(cfg, out, root: Path, workers: int, monkeypatch) -> tuple:
    """``theme_all`` on the sample's tables as the stage calls it, with its caches under ``root`` (empty)."""
    from analysis.embeddings import EmbeddingCache, make_backend
    from analysis.tables import read_optional
    from analysis.themes.codebook import load_codebook

    monkeypatch.setattr(fitcache, "WORKERS", workers)
    inspect: dict = {}
    with fitcache.stored_in(root / "themes"):
        got = themes.theme_all(read_table("core_answers_clean", out), cfg,
                               backend=make_backend(cfg.settings.themes, cfg.settings.seed),
                               cache=EmbeddingCache(root / "embeddings"),
                               codebook=load_codebook(paths.raw_dir("sample") / "codebook.yml"),
                               campaigns=read_optional("core_campaigns", out),
                               tags=read_optional("core_analyst_tags", out), inspect=inspect)
    return got, inspect


def test_scores_published_at_once_are_each_scores_published_alone(themed, tmp_path, monkeypatch):
    """``published`` (the Platt curve applied to an array) against the former one call per score, on the scores
    the sample's fitted models pick: through the model's curve, or one fitted on those scores (the sample's
    models are not linear: the 50k consultation's are), and through the identity."""
    from analysis.themes.codebook import load_codebook
    from analysis.themes.linear import PriorLinear, fit_platt

    cfg, out = themed
    _, got = _theme_all(cfg, out, tmp_path, 1, monkeypatch)
    book = load_codebook(paths.raw_dir("sample") / "codebook.yml")
    curves = 0
    for qid, fitted in got["fitted"].items():
        p, model, cal = got["prepared"][qid], fitted.model, fitted.calibration
        kw = {"max_themes": cal.max_themes or cfg.settings.themes.max_themes_per_answer,
              "threshold_factor": cal.factors(len(book.questions[qid].themes)), "sentence_factor": cal.sentence_factor,
              "relative_score": cal.relative_score or cfg.settings.themes.relative_score}
        _, picks = p.scorer.pick(model, p.units["unit"].tolist(), **kw)
        scores = [s for p_ in picks for _, s in p_]
        assert len(scores) >= 50
        linear = model.linear_ if model.linear_ is not None else PriorLinear(len(model.theme_ids))
        if linear.platt_ is None:
            linear.platt_ = fit_platt(np.array(scores), np.array(scores) > np.median(scores))
        assert linear.platt_ is not None
        curves += 1
        for publish in (linear.calibrated, lambda x: x):
            assert themes.published(publish, scores) == [float(publish(np.float32(s))) for s in scores]
    assert curves
    assert themes.published(lambda x: x, []) == []
