"""The chart cache: a report re-built with charts copied from the cache is byte for byte a cold build."""

from __future__ import annotations

import shutil
import sys
from functools import partial
from pathlib import Path

import pandas as pd

from analysis.charts import draw
from analysis.charts import figures as charts
from analysis.config import parse_config
from analysis.report import build as report
from analysis.report.load import load_tables

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "results"))
import results_frames as rf  # noqa: E402


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _count_drawn(monkeypatch) -> list[str]:
    """Charts drawn (not copied) from now on, by file stem; drawing happens in this process."""
    drawn: list[str] = []
    real = draw.save_figure

    def counting(fig, stem, alt):
        drawn.append(Path(stem).name)
        return real(fig, stem, alt)

    monkeypatch.setattr(draw, "CHART_WORKERS", 1)
    monkeypatch.setattr(draw, "save_figure", counting)
    return drawn


def _relabelled(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The frames with one theme of the open question renamed (as after a one-theme codebook edit)."""
    themes = frames["core_themes"].copy()
    themes.loc[themes.index[0], "label"] = "A renamed theme about school uniforms"
    return frames | {"core_themes": themes}


def test_cached_rebuild_after_an_edit_equals_a_cold_build(tmp_path, monkeypatch):
    cfg = parse_config(rf.config_dict())
    drawn = _count_drawn(monkeypatch)
    warm = rf.write_processed(rf.build_frames(), tmp_path / "warm", cfg)
    report.build_report(cfg, warm, tmp_path / "first")
    n_charts = len(drawn)
    assert n_charts >= 6 and len(list((warm / "cache" / report.CHART_CACHE).glob("*.svg"))) == n_charts

    drawn.clear()  # the same tables again: every chart comes from the cache
    report.build_report(cfg, warm, tmp_path / "again")
    assert drawn == []
    assert _files(tmp_path / "again") == _files(tmp_path / "first")

    edited = _relabelled(rf.build_frames())
    rf.write_processed(edited, warm, cfg)  # the edit, on top of the warm cache
    report.build_report(cfg, warm, tmp_path / "edited")
    redrawn = sorted(drawn)
    assert redrawn and all(s.startswith(rf.QUESTION_OPEN) for s in redrawn) and len(redrawn) < n_charts

    drawn.clear()
    cold = rf.write_processed(edited, tmp_path / "cold", cfg)
    report.build_report(cfg, cold, tmp_path / "cold_report")
    assert len(drawn) == n_charts  # nothing cached there
    cached, fresh = _files(tmp_path / "edited"), _files(tmp_path / "cold_report")
    assert cached.keys() == fresh.keys()
    assert [k for k in cached if cached[k] != fresh[k]] == []
    assert any(cached[f"charts/{s}.svg"] != _files(tmp_path / "first")[f"charts/{s}.svg"] for s in redrawn)
    # entries no longer used are removed: one entry per chart of the last build
    assert len(list((warm / "cache" / report.CHART_CACHE).glob("*.svg"))) == n_charts


def test_a_damaged_cache_entry_is_drawn_again(tmp_path, monkeypatch):
    cfg = parse_config(rf.config_dict())
    drawn = _count_drawn(monkeypatch)
    proc = rf.write_processed(rf.build_frames(), tmp_path / "p", cfg)
    report.build_report(cfg, proc, tmp_path / "a")
    cache = proc / "cache" / report.CHART_CACHE
    victim = sorted(cache.glob("*.png"))[0]
    victim.unlink()  # half an entry: the chart is drawn, not half-copied
    drawn.clear()
    report.build_report(cfg, proc, tmp_path / "b")
    assert len(drawn) == 1 and victim.exists()
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_key_covers_the_drawn_rows_and_every_argument(tmp_path):
    cfg = parse_config(rf.config_dict())
    proc = rf.write_processed(rf.build_frames(), tmp_path / "p", cfg)
    t = load_tables(proc)
    counts, themes = t["out_counts"], t["core_themes"]
    counts = counts[counts["count_mode"].astype(str) == "all"]
    key = partial(charts.theme_chart, counts, themes, rf.QUESTION_OPEN, question_text="Q", min_cell=5)
    base = draw.chart_key(key)
    assert base is not None and base == draw.chart_key(partial(charts.theme_chart, counts.copy(), themes.copy(),
                                                               rf.QUESTION_OPEN, question_text="Q", min_cell=5))
    other_q = counts[counts["question_id"].astype(str) != rf.QUESTION_OPEN]
    # rows of other questions are not drawn: they do not change the key; the drawn rows, labels and arguments do
    assert draw.chart_key(partial(charts.theme_chart, pd.concat([counts, other_q.head(3)]), themes,
                                  rf.QUESTION_OPEN, question_text="Q", min_cell=5)) == base
    assert draw.chart_key(partial(charts.theme_chart, counts, _relabelled(t)["core_themes"], rf.QUESTION_OPEN,
                                  question_text="Q", min_cell=5)) != base
    assert draw.chart_key(partial(charts.theme_chart, counts, themes, rf.QUESTION_OPEN, question_text="Q2",
                                  min_cell=5)) != base
    assert draw.chart_key(partial(charts.theme_chart, counts, themes, rf.QUESTION_OPEN, question_text="Q",
                                  min_cell=6)) != base
    assert draw.chart_key(lambda: charts.theme_chart(counts, themes, rf.QUESTION_OPEN, question_text="Q")) is None


def test_shared_text_metrics_draw_the_same_bytes_as_matplotlibs_own(tmp_path, monkeypatch):
    """Text sizes measured once per process (:func:`analysis.charts.draw._shared_text_metrics`) draw every file
    exactly as matplotlib's per-renderer measuring does, also when the cache was filled by other charts."""
    cfg = parse_config(rf.config_dict())
    processed = rf.write_processed(rf.build_frames(), tmp_path / "processed", cfg)
    monkeypatch.setattr(draw, "CHART_WORKERS", 1)
    draw._TEXT_METRICS.clear()
    report.build_report(cfg, processed, tmp_path / "shared")  # the later charts reuse the earlier ones' sizes
    assert draw._TEXT_METRICS  # the shared cache was used
    monkeypatch.setattr(draw.mtext, "_get_text_metrics_with_cache", draw.MPL_TEXT_METRICS)
    shutil.rmtree(processed / "cache" / report.CHART_CACHE)  # every chart drawn again, not copied
    report.build_report(cfg, processed, tmp_path / "own")
    shared, own = _files(tmp_path / "shared" / "charts"), _files(tmp_path / "own" / "charts")
    assert len(own) >= 18 and shared == own
