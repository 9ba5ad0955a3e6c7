"""Drawing helpers shared by the chart functions of :mod:`analysis.charts`: house style, figure frames,
diverging bars, legends and byte-stable saving (PNG + SVG + alt text, no timestamps).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib as mpl
import matplotlib.text as mtext
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from analysis.charts import glyphs, style, textlayout
from analysis.charts.data import Cell, cell_text
from analysis.schemas import NEITHER, SIDES

log = logging.getLogger(__name__)


#: rcParams a text's measured size depends on besides its font properties (part of :func:`_shared_text_metrics`' key).
_METRIC_RC = ("text.hinting", "text.hinting_factor", "text.kerning_factor", "text.usetex", "mathtext.fontset",
              "mathtext.default", "mathtext.fallback")
_TEXT_METRICS: dict[tuple, tuple[float, float, float]] = {}
#: Entries kept before the shared text-metrics cache is emptied (each is a few hundred bytes).
_TEXT_METRICS_MAX = 50_000


def _shared_text_metrics(renderer: Any, text: str, fontprop: Any, ismath: Any, dpi: float) -> tuple[float, float, float]:
    """Matplotlib's text measuring, cached across figures (replaces ``matplotlib.text._get_text_metrics_with_cache``).

    Matplotlib caches a text's size per renderer, and every figure (and every saved format) has a renderer of its
    own, so the same tick labels, legend entries and footnotes were measured again for each of a report's ~30
    charts (each measurement lays the string out with FreeType). A size depends only on the kind of renderer,
    its resolution, the string, the font properties and a few rcParams, which form the key here; the measuring
    itself is the renderer's own, so every drawn file is byte-for-byte what it was.
    """
    inner = renderer._renderer if isinstance(renderer, MixedModeRenderer) else renderer
    key = (type(inner), inner.points_to_pixels(72.0), getattr(inner, "dpi", None), text, fontprop.copy(), ismath, dpi,
           tuple(mpl.rcParams[k] for k in _METRIC_RC))
    try:
        return _TEXT_METRICS[key]
    except KeyError:
        pass
    if len(_TEXT_METRICS) >= _TEXT_METRICS_MAX:
        _TEXT_METRICS.clear()
    value = _TEXT_METRICS[key] = renderer.get_text_width_height_descent(text, key[4], ismath)
    return value


#: Matplotlib's own per-renderer measuring (kept for the test that compares the two); ``None`` if this
#: matplotlib has no such private function, in which case its own measuring is left in place.
MPL_TEXT_METRICS = getattr(mtext, "_get_text_metrics_with_cache", None)
if MPL_TEXT_METRICS is not None:
    mtext._get_text_metrics_with_cache = _shared_text_metrics
textlayout.install()  # text layouts kept across figures too
glyphs.install()  # and Agg's rendered glyphs (with the matplotlib it reproduces)


@contextmanager
def house_style() -> Iterator[None]:
    """Context manager applying the house rcParams (used around building *and* saving)."""
    with mpl.rc_context(style.rc_params()):
        yield


def new_figure(height: float) -> Figure:
    fig = Figure(figsize=(style.FIG_WIDTH, max(2.6, height)), dpi=style.DPI, layout="constrained")
    FigureCanvasAgg(fig)  # Agg: no display needed, same pixels everywhere
    return fig


def draw_frame(fig: Figure, title: str, footnote: str) -> None:
    fig.suptitle(style.wrap(title, style.TITLE_WRAP), x=0.01, ha="left", fontweight="bold")
    fig.supxlabel(style.wrap(footnote, style.FOOTNOTE_WRAP), x=0.01, ha="left", fontsize=style.MIN_FONT, color="#444444")


def n_lines(text: str) -> int:
    return text.count("\n") + 1


def draw_empty(fig: Figure, message: str) -> None:
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#444444")


def bar_value(cell: Cell, scale: str, min_cell: int) -> float:
    """Bar length of a cell: share in percent or count; 0 for a suppressed cell (drawn as a marker, no magnitude).

    ``min_cell`` is kept for the callers' uniform signature; a suppressed cell's size is never drawn.
    """
    if cell.suppressed:
        return 0.0
    if scale == "count":
        return float(cell.n or 0)
    return 100.0 * (cell.share or 0.0)


def stack_widths(cells: list[Cell], total: int) -> list[float]:
    """Lengths of stacked segments adding up to ``total``: counts, with suppressed cells sharing the rest.

    ``total`` is published (e.g. a channel's responses), so the suppressed segments together take what the
    shown counts leave of it; their individual lengths are equal (the split is hidden).
    """
    hidden = sum(1 for c in cells if c.suppressed)
    rest = max(total - sum(c.n or 0 for c in cells if not c.suppressed), 0) / hidden if hidden else 0.0
    return [rest if c.suppressed else float(c.n or 0) for c in cells]


def draw_suppressed_marker(ax: Any, x: float, y: float) -> None:
    """A hollow diamond at ``x`` marking a suppressed cell: its position says nothing about its size."""
    ax.plot([x], [y], linestyle="none", marker=style.SUPPRESSED_MARKER, markersize=7, markerfacecolor="white",
            markeredgecolor=style.SUPPRESSED_EDGE, markeredgewidth=1.2, zorder=3, clip_on=False)


def draw_bar(ax: Any, y: float, left: float, width: float, colour: str, suppressed: bool) -> None:
    """A horizontal bar; a suppressed cell is a hatched segment of a published total (stacked charts only)."""
    if suppressed:
        ax.barh(y, width, left=left, height=0.6, facecolor="white", edgecolor=style.SUPPRESSED_EDGE,
                hatch=style.SUPPRESSED_HATCH, linewidth=0.8)
    else:
        ax.barh(y, width, left=left, height=0.6, color=colour, edgecolor="white", linewidth=0.5)


def diverging(
    fig: Figure,
    rows: list[tuple[str, dict[str, Cell]]],
    *,
    scale: str,
    min_cell: int,
) -> tuple[Any, list[str]]:
    """Draw oppose-left / support-right bars and a separate stacked panel for the other positions.

    Returns:
        The main axes and the positions drawn (for the legend).
    """
    neither = [p for p in NEITHER if any(p in cells and
                                                          (cells[p].suppressed or (cells[p].n or 0) > 0)
                                                          for _, cells in rows)]
    if neither:
        ax, ax2 = fig.subplots(1, 2, sharey=True, width_ratios=[3, 1.5])
    else:
        ax, ax2 = fig.add_subplot(), None
    ys = np.arange(len(rows))[::-1]
    sided_max = max([bar_value(c[p], scale, min_cell) for _, c in rows for p in SIDES if p in c]
                    + [1.0])
    pad = sided_max * 0.03
    for y, (_, cells) in zip(ys, rows, strict=True):
        for pos, sign in (("oppose", -1), ("support", 1)):
            cell = cells.get(pos)
            if cell is None:
                continue
            v = bar_value(cell, scale, min_cell)
            if cell.suppressed:
                draw_suppressed_marker(ax, sign * pad, y)
                v = 2 * pad  # the label goes beyond the marker
            elif v > 0:
                draw_bar(ax, y, 0.0 if sign > 0 else -v, v, style.POSITION_COLOURS[pos], False)
            ax.text(sign * (v + pad), y, cell_text(cell, scale, min_cell), va="center",
                    ha="left" if sign > 0 else "right", fontsize=style.MIN_FONT)
    lim = sided_max * 1.85  # room for "57% (800)" labels beyond the longest bar at 800 px (checked by eye)
    ax.set_xlim(-lim, lim)
    ax.axvline(0, color="#333333", linewidth=0.8)
    ax.set_yticks(ys, [label for label, _ in rows])
    unit = "%" if scale == "share" else ""
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{abs(x):.0f}{unit}"))
    what = "share of respondents" if scale == "share" else "respondents"
    ax.set_xlabel(f"\u2190 Oppose   ({what})   Support \u2192")
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    if ax2 is not None:
        totals, labels = [], []
        for y, (_, cells) in zip(ys, rows, strict=True):
            left = 0.0
            for pos in neither:
                cell = cells.get(pos)
                if cell is None:
                    continue
                v = bar_value(cell, scale, min_cell)
                if v > 0:
                    draw_bar(ax2, y, left, v, style.POSITION_COLOURS[pos], False)
                left += v
            if any(cells[p].suppressed for p in neither if p in cells):
                draw_suppressed_marker(ax2, left, y)
            totals.append(left)
            parts = [cell_text(cells[p], scale, min_cell) if cells[p].suppressed
                     else style.fmt_int(cells[p].n or 0)
                     for p in neither if p in cells and (cells[p].suppressed or (cells[p].n or 0) > 0)]
            labels.append(" + ".join(parts) if parts else "0")
        # bars take a share of the narrow panel that leaves room for the longest label on their right
        longest = max(len(lab) for lab in labels)
        lim2 = max(totals + [1.0]) / max(0.2, 0.55 - 0.03 * longest)
        for y, left, lab in zip(ys, totals, labels, strict=True):  # "<" in a label: clear of the marker
            ax2.text(left + (0.07 if "<" in lab else 0.03) * lim2, y, lab, va="center", ha="left", fontsize=style.MIN_FONT)
        ax2.set_xlim(0, lim2)
        ax2.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{abs(x):.0f}{unit}"))
        ax2.set_xlabel("Neither side")
        ax2.tick_params(axis="y", length=0, labelleft=False)
        ax2.spines["left"].set_visible(False)
    return ax, ["oppose", "support", *neither]


def axes_legend(ax: Any, handles: list[Patch], ncols: int) -> None:
    """Legend above the plotting area (part of the axes, so constrained layout makes room for it)."""
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.01), ncols=ncols, frameon=False,
              borderaxespad=0.0, handlelength=1.4, columnspacing=1.2)


def suppressed_handle(min_cell: int, *, marker: bool = False) -> Patch | Line2D:
    """Legend entry of suppressed cells: the hatched swatch (stacked charts) or the hollow marker (bar charts)."""
    label = f"Suppressed (fewer than {min_cell})"
    if marker:
        return Line2D([], [], linestyle="none", marker=style.SUPPRESSED_MARKER, markersize=7, markerfacecolor="white",
                      markeredgecolor=style.SUPPRESSED_EDGE, label=label)
    return Patch(facecolor="white", edgecolor=style.SUPPRESSED_EDGE, hatch=style.SUPPRESSED_HATCH, label=label)


def legend(ax: Any, positions: list[str], suppressed: bool, min_cell: int) -> None:
    handles = [Patch(facecolor=style.POSITION_COLOURS[p], label=style.POSITION_LABELS[p]) for p in positions]
    if suppressed:
        handles.append(suppressed_handle(min_cell, marker=True))
    axes_legend(ax, handles, ncols=min(len(handles), 4))


def any_suppressed(rows: list[tuple[str, dict[str, Cell]]]) -> bool:
    return any(c.suppressed for _, cells in rows for c in cells.values())


def styled(func: Callable[..., Figure]) -> Callable[..., Figure]:
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with house_style():
            return func(*args, **kwargs)

    wrapper.__name__, wrapper.__doc__, wrapper.__wrapped__ = func.__name__, func.__doc__, func  # type: ignore[attr-defined]
    # the chart function's own name, so a partial of it pickles by reference (charts sent to a second interpreter)
    wrapper.__module__, wrapper.__qualname__ = func.__module__, func.__qualname__
    return wrapper


# --- saving ----------------------------------------------------------------------------------------
_LONG_DECIMAL = re.compile(r"(?<![\w#.])(-?\d+)\.(\d{3,})(?![\w.])")


def compact_svg(text: str) -> str:
    """Round SVG coordinates to 2 decimals (0.01 pt; invisible at any zoom a reader uses).

    Smaller files, and long runs of coordinate digits no longer look like phone or card numbers to
    the publication guard (:func:`analysis.redaction.guard.guard`).
    """
    def _round(m: re.Match) -> str:
        out = f"{float(m.group(0)):.2f}".rstrip("0").rstrip(".")
        return "0" if out in ("-0", "") else out

    return _LONG_DECIMAL.sub(_round, text)


def save_figure(fig: Figure, path_stem: str | Path, alt_text: str) -> list[Path]:
    """Write ``<stem>.png``, ``<stem>.svg`` and ``<stem>.alt.txt`` with no timestamps (byte-identical re-runs).

    Args:
        fig: The figure (from one of the chart functions).
        path_stem: Output path without suffix (folders are created).
        alt_text: Text alternative describing the chart and its headline numbers.

    Returns:
        The three written paths (PNG, SVG, alt text).
    """
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    png, svg, alt = stem.with_suffix(".png"), stem.with_suffix(".svg"), stem.with_name(stem.name + ".alt.txt")
    with house_style(), textlayout.saving():
        fig.savefig(png, format="png", dpi=style.DPI, metadata={"Software": None})
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg.write_text(compact_svg(buf.getvalue()), encoding="utf-8", newline="\n")
    write_alt(alt, alt_text)
    log.debug("wrote chart %s", stem.name)
    return [png, svg, alt]


def write_alt(path: Path, alt_text: str) -> None:
    """Write a chart's text alternative (whitespace collapsed, one line)."""
    path.write_text(" ".join(alt_text.split()) + "\n", encoding="utf-8")


# --- the chart cache -------------------------------------------------------------------------------
#: Version of the chart cache's keys (bump when what a key covers changes).
_CACHE_VERSION = 1


def chart_inputs(inputs: Callable[..., Any]) -> Callable[[Callable[..., Figure]], Callable[..., Figure]]:
    """Declare everything a chart function draws from its data frames.

    ``inputs`` takes the chart function's own arguments and returns every value the function reads from its
    data frames (the rows of :mod:`analysis.charts.data` it draws). Together with the chart's other arguments
    and the drawing code (:func:`chart_key`) it decides the chart's files, so a chart whose inputs are unchanged
    is copied from the cache instead of drawn again. A chart function without it is always drawn.
    """
    def mark(func: Callable[..., Figure]) -> Callable[..., Figure]:
        func.chart_inputs = inputs  # type: ignore[attr-defined]
        return func

    return mark


@functools.cache
def _code_digest() -> str:
    """What a chart's pixels depend on besides its arguments: the chart code, library versions and rcParams."""
    h = hashlib.sha256(f"charts v{_CACHE_VERSION}".encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    h.update(f"matplotlib={mpl.__version__} numpy={np.__version__}".encode())
    with house_style():
        h.update(repr(sorted((k, str(v)) for k, v in mpl.rcParams.items())).encode())
    return h.hexdigest()


def _plain(value: Any) -> Any:
    """An argument as it enters a key: data frames are represented by their declared inputs."""
    return "<frame>" if isinstance(value, pd.DataFrame | pd.Series) else value


def chart_key(fig_fn: Callable[[], Figure]) -> str | None:
    """Content key of a chart: sha256 of its drawing code, its arguments and the values it draws.

    ``fig_fn`` must be a :func:`functools.partial` of a chart function declared with :func:`chart_inputs`;
    anything else has no key (``None``) and is always drawn.
    """
    if not isinstance(fig_fn, functools.partial):
        return None
    inputs = getattr(fig_fn.func, "chart_inputs", None)
    if inputs is None:
        return None
    data = inputs(*fig_fn.args, **fig_fn.keywords)
    args = [_plain(a) for a in fig_fn.args]
    kwargs = sorted((k, _plain(v)) for k, v in fig_fn.keywords.items())
    text = repr((_code_digest(), fig_fn.func.__name__, args, kwargs, data))
    if " at 0x" in text:  # an object without a stable repr: no key
        return None
    return hashlib.sha256(text.encode()).hexdigest()


class ChartCache:
    """Drawn charts (PNG and SVG) by :func:`chart_key`, in one folder; entries not used by a build are removed.

    Args:
        folder: The cache folder (created when something is stored).
    """

    SUFFIXES = (".png", ".svg")

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.used: set[str] = set()

    def restore(self, key: str, stem: Path) -> bool:
        """Copy the chart of ``key`` to ``<stem>.png`` / ``<stem>.svg``; False when it is not (wholly) cached."""
        try:
            blobs = [(self.folder / f"{key}{sfx}").read_bytes() for sfx in self.SUFFIXES]
        except OSError:
            return False
        for sfx, blob in zip(self.SUFFIXES, blobs, strict=True):
            stem.with_suffix(sfx).write_bytes(blob)
        self.used.add(key)
        return True

    def store(self, key: str, stem: Path) -> None:
        """Keep the chart just drawn at ``stem`` under ``key`` (a failure to store only costs a redraw)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for sfx in self.SUFFIXES:
                tmp = self.folder / f"{key}{sfx}.tmp"
                tmp.write_bytes(stem.with_suffix(sfx).read_bytes())
                tmp.replace(self.folder / f"{key}{sfx}")
            self.used.add(key)
        except OSError as err:
            log.warning("chart cache: could not store %s (%s)", stem.name, err)

    def prune(self) -> None:
        """Remove the entries this build did not use."""
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            if path.name.split(".", 1)[0] not in self.used:
                path.unlink(missing_ok=True)


#: Processes drawing a report's charts (1: one after another in this process; 2: a second interpreter and this
#: one, :class:`analysis.charts.parallel.SplitDraw`). A chart is drawn and saved the same way wherever it runs
#: (no state is shared between charts), so its files do not depend on it.
CHART_WORKERS = min(2, os.cpu_count() or 1)


class ChartBatch:
    """Charts queued by :func:`chart_entry` inside :func:`deferred_charts`, drawn together (:meth:`start`, :meth:`finish`).

    Attributes:
        jobs: ``(figure function, path stem, alt text, report entry)`` in the order queued.
        keys: Each job's :func:`chart_key` (``None``: not cached).
        restored: ``(path stem, report entry)`` of the charts copied from the cache instead of drawn.
        cache: The chart cache (``None``: every chart is drawn).
    """

    def __init__(self, cache: ChartCache | None = None) -> None:
        self.jobs: list[tuple[Callable[[], Figure], Path, str, dict]] = []
        self.keys: list[str | None] = []
        self.restored: list[tuple[Path, dict]] = []
        self.cache = cache
        self._split: Any = None  # analysis.charts.parallel.SplitDraw, once started

    def start(self, worker: Any = None) -> None:
        """Start drawing the queued charts in a second interpreter when there are two or more (and
        :data:`CHART_WORKERS` allows it; without a ``worker`` given, when there are
        :data:`analysis.charts.parallel.MIN_CHARTS` or more); this process draws the rest in :meth:`finish`.

        Args:
            worker: An :class:`analysis.worker.Worker` to draw them (e.g. started ahead by the pipeline,
                :func:`analysis.charts.parallel.take`); ``None``: a new one. It is ended when not used.
        """
        from analysis.charts import parallel
        from analysis.worker import Worker

        if (self._split is not None or min(CHART_WORKERS, len(self.jobs)) < 2
                or (worker is None and len(self.jobs) < parallel.MIN_CHARTS)):
            if worker is not None:
                worker.close()
            return
        self._split = parallel.SplitDraw(self.jobs, worker if worker is not None else Worker())
        self._split.start()

    def _draw_here(self, index: int) -> None:
        fig_fn, stem, alt, _entry = self.jobs[index]
        save_figure(fig_fn(), stem, alt)

    def finish(self) -> None:
        """Draw the charts (with the worker started by :meth:`start`) and fill each entry's ``data_uri``."""
        try:
            if self._split is None:
                for i in range(len(self.jobs)):
                    self._draw_here(i)
            else:
                self._split.finish(self._draw_here)
        finally:
            self.close()
        if self.cache is not None:
            for (_fn, stem, _alt, _entry), key in zip(self.jobs, self.keys, strict=True):
                if key is not None:
                    self.cache.store(key, stem)
            self.cache.prune()
        for stem, entry in [(stem, entry) for _fn, stem, _alt, entry in self.jobs] + self.restored:
            entry["data_uri"] = svg_data_uri(stem.with_suffix(".svg"))
        self.jobs, self.keys, self.restored = [], [], []

    def queue(self, fig_fn: Callable[[], Figure], stem: Path, alt: str, entry: dict) -> None:
        """Queue one chart, or copy it from the cache at once when its :func:`chart_key` is there."""
        key = chart_key(fig_fn) if self.cache is not None else None
        if key is not None and self.cache.restore(key, stem):
            write_alt(stem.with_name(stem.name + ".alt.txt"), alt)
            self.restored.append((stem, entry))
            return
        self.jobs.append((fig_fn, stem, alt, entry))
        self.keys.append(key)

    def close(self) -> None:
        """Stop the second interpreter (charts it has not drawn yet are dropped)."""
        split, self._split = self._split, None
        if split is not None:
            split.close()


_BATCH: ChartBatch | None = None


@contextmanager
def deferred_charts(cache_dir: Path | None = None) -> Iterator[ChartBatch]:
    """Queue the charts of :func:`chart_entry` calls in this block instead of drawing each at once.

    With ``cache_dir`` a chart whose :func:`chart_key` was drawn before is copied from that folder
    (:class:`ChartCache`) instead of drawn: the same bytes, as every input of its drawing is in its key.

    The caller starts drawing them with :meth:`ChartBatch.start` (in parallel, while it does other work) and
    must call :meth:`ChartBatch.finish` before using the entries' ``data_uri``; charts still queued when the
    block ends are drawn then.
    """
    global _BATCH
    batch = _BATCH = ChartBatch(ChartCache(cache_dir) if cache_dir is not None else None)
    try:
        yield batch
    except BaseException:
        batch.close()
        raise
    finally:
        _BATCH = None
    batch.finish()


def svg_data_uri(svg: Path) -> str:
    """The inline ``data:`` URI of an SVG file (base64)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.read_bytes()).decode("ascii")


def chart_entry(fig_fn: Callable[[], Figure], alt: str, stem: str, charts_dir: Path, written: list[Path],
                title: str) -> dict:
    """Draw and save one chart; return its report entry (title, alt text, file names, inline SVG data URI).

    The written files are appended to ``written``. Inside :func:`deferred_charts` the chart is only queued:
    its files and ``data_uri`` exist once the batch is finished.
    """
    path_stem = Path(charts_dir) / stem
    entry = {"title": title, "alt": alt, "png": f"charts/{stem}.png", "svg": f"charts/{stem}.svg", "data_uri": None}
    if _BATCH is not None:
        path_stem.parent.mkdir(parents=True, exist_ok=True)
        _BATCH.queue(fig_fn, path_stem, alt, entry)
        written.extend([path_stem.with_suffix(".png"), path_stem.with_suffix(".svg"),
                        path_stem.with_name(path_stem.name + ".alt.txt")])
        return entry
    files = save_figure(fig_fn(), path_stem, alt)
    written.extend(files)
    entry["data_uri"] = svg_data_uri(files[1])
    return entry
