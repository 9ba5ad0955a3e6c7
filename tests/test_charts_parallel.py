"""A report's charts drawn by a second interpreter and this process together, and text layouts and glyph bitmaps
kept across figures, draw the bytes drawn one after another here with matplotlib's own layout and rendering (#18)."""

from __future__ import annotations

import contextlib
import shutil
import sys
import time
from pathlib import Path

import pytest

from analysis import pipeline
from analysis.charts import draw, glyphs, parallel, textlayout
from analysis.config import parse_config
from analysis.report import build as report
from analysis.report.load import load_tables
from analysis.worker import Worker

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "results"))
import results_frames as rf  # noqa: E402


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def queued(tmp_path_factory) -> tuple[list[tuple], Path]:
    """The report's charts as queued (not drawn) for the results fixture, and the folder they are drawn in."""
    root = tmp_path_factory.mktemp("charts")
    cfg = parse_config(rf.config_dict())
    proc = rf.write_processed(rf.build_frames(), root / "processed", cfg)
    with draw.deferred_charts(None) as batch:
        report.build_context(cfg, load_tables(proc), root / "out")
        jobs, batch.jobs = list(batch.jobs), []
    assert len(jobs) >= 6
    return jobs, root / "out" / "charts"


def _draw_here(jobs: list[tuple]) -> dict[str, bytes]:
    folder = jobs[0][1].parent
    shutil.rmtree(folder)
    folder.mkdir()
    for fig_fn, stem, alt, _entry in jobs:
        draw.save_figure(fig_fn(), stem, alt)
    return _files(folder)


def _split(jobs: list[tuple], worker: Worker, *, wait_for_worker: bool = True) -> tuple[dict[str, bytes], parallel.SplitDraw]:
    folder = jobs[0][1].parent
    shutil.rmtree(folder)
    folder.mkdir()
    split = parallel.SplitDraw(jobs, worker)
    split.start()
    deadline = time.monotonic() + 60
    while wait_for_worker and not split._done and split.error is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the worker has drawn one before this process takes the rest
    split.finish(lambda i: draw.save_figure(jobs[i][0](), jobs[i][1], jobs[i][2]))
    return _files(folder), split


def test_charts_drawn_by_both_processes_are_the_bytes_drawn_here(queued):
    jobs, _ = queued
    here = _draw_here(jobs)
    both, split = _split(jobs, Worker())
    assert split.error is None and 0 < len(split._done) < len(jobs)  # each process drew some
    assert both.keys() == here.keys() and len(here) == 3 * len(jobs)
    assert [k for k in here if here[k] != both[k]] == []
    assert split.worker is None  # ended


def test_a_worker_started_ahead_is_taken_once_and_ended_with_its_block(tmp_path, queued):
    jobs, _ = queued
    cfg = parse_config(rf.config_dict())
    assert len(cfg.questions) >= parallel.MIN_QUESTIONS
    with parallel.start_early(cfg, raw_dir=tmp_path, processed_dir=tmp_path / "p"):
        worker = parallel.take(tmp_path / "p")
        assert worker is not None and worker.started and parallel.take(tmp_path / "p") is None
        got, split = _split(jobs, worker)  # its imports' reply comes before the charts'
        assert split.error is None and split._done
    with parallel.start_early(cfg, raw_dir=tmp_path, processed_dir=tmp_path / "q"):
        left = parallel._PENDING[tmp_path / "q"]
    assert not left.started and tmp_path / "q" not in parallel._PENDING  # not taken: ended
    few = cfg.model_copy(update={"questions": cfg.questions[: parallel.MIN_QUESTIONS - 1]})
    with parallel.start_early(few, raw_dir=tmp_path, processed_dir=tmp_path / "r"):
        assert parallel.take(tmp_path / "r") is None  # a few questions draw a few charts: nothing started
    assert got == _draw_here(jobs)
    report_stage = next(s for s in pipeline.STAGES if s.name == "report")
    assert report_stage.starts_with == "counts" and report_stage.module.start_early is parallel.start_early


def test_a_worker_with_other_settings_or_one_that_dies_leaves_the_charts_here(queued, monkeypatch):
    jobs, _ = queued
    here = _draw_here(jobs)
    with monkeypatch.context() as mp:  # the worker's matplotlib settings are not this process's: it refuses
        mp.setattr(parallel, "rc_settings", lambda: {"font.size": "99"})
        refused, split = _split(jobs, Worker())
    assert split.error is not None and "settings differ" in str(split.error) and not split._done
    assert refused == here
    dying = Worker()
    dying.start("analysis.charts.figures")
    dying._proc.kill()  # dies before it draws anything
    died, split = _split(jobs, dying)
    assert split.error is not None and died == here


def test_cached_text_layouts_draw_the_bytes_of_matplotlibs_own_layout(queued, monkeypatch):
    """Layouts kept across figures and formats (:mod:`analysis.charts.textlayout`) draw every file as
    matplotlib's own per-call layout does, also when the cache was filled by the other charts."""
    jobs, _ = queued
    textlayout._LAYOUTS.clear()
    cached = _draw_here(jobs)
    assert len(textlayout._LAYOUTS) > 50  # used
    hits = []
    real = textlayout.MPL_GET_LAYOUT
    monkeypatch.setattr(textlayout, "MPL_GET_LAYOUT", lambda text, renderer: hits.append(1) or real(text, renderer))
    again = _draw_here(jobs)  # every text the same: laid out from the cache
    assert again == cached and len(hits) < 50  # only what is never cached (e.g. mathtext) laid out again
    with monkeypatch.context() as mp:
        mp.setattr(textlayout.mtext.Text, "_get_layout", real)
        own = _draw_here(jobs)
    assert own.keys() == cached.keys() and [k for k in own if own[k] != cached[k]] == []


def test_layouts_are_cached_only_while_saving_and_keyed_on_what_they_read():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(dpi=100)
    renderer = FigureCanvasAgg(fig).get_renderer()
    text = fig.text(0.5, 0.5, "Support (45%)", ha="right")
    assert textlayout.layout_key(text, renderer) is None  # outside save_figure: matplotlib's own
    with textlayout.saving():
        key = textlayout.layout_key(text, renderer)
        assert key is not None
        for change in (lambda t: t.set_ha("left"), lambda t: t.set_fontsize(13), lambda t: t.set_rotation(30),
                       lambda t: t.set_text("Oppose"), lambda t: t.set_linespacing(2), lambda t: t.set_va("top")):
            other = fig.text(0.1, 0.1, "Support (45%)", ha="right")
            change(other)
            assert textlayout.layout_key(other, renderer) != key
        moved = fig.text(0.1, 0.9, "Support (45%)", ha="right")  # where it is drawn does not matter
        assert textlayout.layout_key(moved, renderer) == key
        for never in (fig.text(0.1, 0.1, "$x^2$"), fig.text(0.1, 0.1, "long", wrap=True)):
            assert textlayout.layout_key(never, renderer) is None
        with contextlib.ExitStack() as stack:
            import matplotlib as mpl

            stack.enter_context(mpl.rc_context({"font.sans-serif": ["DejaVu Serif"]}))
            with textlayout.saving():
                assert textlayout.layout_key(text, renderer) != key  # another font behind the family name
    assert textlayout.layout_key(text, renderer) is None


def test_kept_glyph_bitmaps_draw_the_bytes_of_agg_rendering_each_glyph(queued, monkeypatch):
    """Glyphs rendered once per font, size, angle and sub-pixel offset, and strings shaped once
    (:mod:`analysis.charts.glyphs`), draw every PNG as Agg rendering and shaping each does, also when they were
    kept from the other charts."""
    from matplotlib.backends import backend_agg

    jobs, _ = queued
    assert glyphs.reproduces_matplotlib()  # the matplotlib of this project: installed
    assert backend_agg.RendererAgg._draw_text_glyphs_and_boxes is glyphs.cached_glyphs
    assert backend_agg.RendererAgg.draw_text is glyphs.cached_draw_text
    glyphs._GLYPHS.clear()
    glyphs._LAYOUTS.clear()
    kept = _draw_here(jobs)
    assert len(glyphs._GLYPHS) > 100 and len(glyphs._LAYOUTS) > 20
    with monkeypatch.context() as mp:
        mp.setattr(backend_agg.RendererAgg, "_draw_text_glyphs_and_boxes", glyphs.MPL_DRAW_GLYPHS)
        mp.setattr(backend_agg.RendererAgg, "draw_text", glyphs.MPL_DRAW_TEXT)
        own = _draw_here(jobs)
    pngs = [k for k in own if k.endswith(".png")]
    assert len(pngs) == len(jobs) and own.keys() == kept.keys()
    assert [k for k in own if own[k] != kept[k]] == []
    with monkeypatch.context() as mp:  # another matplotlib's method: its own is kept
        mp.setattr(glyphs, "MPL_SOURCE_SHA256", "0" * 64)
        mp.setattr(backend_agg.RendererAgg, "_draw_text_glyphs_and_boxes", glyphs.MPL_DRAW_GLYPHS)
        mp.setattr(backend_agg.RendererAgg, "draw_text", glyphs.MPL_DRAW_TEXT)
        assert not glyphs.install()
        assert backend_agg.RendererAgg._draw_text_glyphs_and_boxes is glyphs.MPL_DRAW_GLYPHS
        assert backend_agg.RendererAgg.draw_text is glyphs.MPL_DRAW_TEXT


def test_charts_all_drawn_here_before_the_worker_is_fed_leave_no_process(queued):
    """This process drew every chart before the feeding thread ran: the worker is ended, not started again."""
    jobs, _ = queued
    here = _draw_here(jobs)
    shutil.rmtree(jobs[0][1].parent)
    jobs[0][1].parent.mkdir()
    worker = Worker()
    split = parallel.SplitDraw(jobs, worker)  # not started: its thread runs after finish
    split.finish(lambda i: draw.save_figure(jobs[i][0](), jobs[i][1], jobs[i][2]))
    late = parallel.threading.Thread(target=split._feed)
    late.start()
    late.join()
    assert _files(jobs[0][1].parent) == here
    assert not split._sent and split.worker is None and not worker.started
