"""Matplotlib's text layout, worked out once per text and kept across figures and saved formats.

Every chart is saved twice (PNG, then SVG), and each save draws the figure twice (once to lay it out, once to
render), where constrained layout measures the extent of every tick label, title and footnote again; matplotlib
lays a text out (its lines, line heights, alignment offsets and rotated box) anew each time: about a fifth of a
chart's saving under cProfile (the bundled sample's charts). The layout (``Text._get_layout``) does not depend on where the text is drawn: only on the
string, its font, alignment, rotation and line spacing, the figure's resolution and the kind of renderer (and
a few rcParams read while it is measured). With those as the key, :func:`cached_layout` returns, while a figure
is saved (:func:`saving`, used by :func:`~analysis.charts.draw.save_figure`), what
matplotlib's own method computed the first time, so every drawn file is byte for byte what it was
(``tests/test_charts_cache.py`` compares the two on the report's charts).

Texts whose layout does depend on more (wrapped to the figure, rotated with their transform, TeX, or holding
mathtext, whose parsing reads many more rcParams) are laid out by matplotlib every time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import matplotlib as mpl
import matplotlib.text as mtext
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.transforms import Bbox

#: rcParams a text's layout depends on besides its own properties: how it is measured and which font file a
#: family name resolves to.
LAYOUT_RC = ("text.hinting", "text.hinting_factor", "text.kerning_factor", "text.usetex", "mathtext.fontset",
             "mathtext.default", "mathtext.fallback", "font.family", "font.sans-serif", "font.serif",
             "font.monospace", "font.cursive", "font.fantasy")
#: Matplotlib's own layout method (kept for the test that compares the two).
MPL_GET_LAYOUT = mtext.Text._get_layout
_LAYOUTS: dict[tuple, tuple] = {}
#: Entries kept before the cache is emptied (each is a few hundred bytes).
_LAYOUTS_MAX = 50_000


_RC: tuple | None = None  # the LAYOUT_RC values while :func:`saving` (None: nothing is cached)


@contextlib.contextmanager
def saving() -> Iterator[None]:
    """Lay texts out from the cache in this block (a figure being saved: its rcParams do not change meanwhile)."""
    global _RC
    outer, _RC = _RC, tuple(str(mpl.rcParams[k]) for k in LAYOUT_RC)
    try:
        yield
    finally:
        _RC = outer


def layout_key(text: mtext.Text, renderer: Any) -> tuple | None:
    """What the layout of ``text`` on ``renderer`` depends on (``None``: not cached, see the module docstring).

    The font properties in the key are ``text``'s own (mutable) object: :func:`cached_layout` stores a copy.
    """
    s = text.get_text()
    if (_RC is None or text.get_wrap() or text.get_transform_rotates_text() or text.get_usetex()
            or ("$" in s and text.get_parse_math())):
        return None
    inner = renderer._renderer if isinstance(renderer, MixedModeRenderer) else renderer
    return (type(inner), inner.points_to_pixels(72.0), getattr(inner, "dpi", None),
            text.get_figure(root=True).dpi, s, text._fontproperties, text.get_parse_math(),
            text._linespacing, text._multialignment, text._horizontalalignment, text._verticalalignment,
            text._rotation, text.get_rotation_mode(), _RC)


def cached_layout(self: mtext.Text, renderer: Any) -> tuple:
    """``Text._get_layout``, from the cache when this text was laid out before (installed in its place)."""
    key = layout_key(self, renderer)
    if key is None:
        return MPL_GET_LAYOUT(self, renderer)
    try:
        bbox, lines, box = _LAYOUTS[key]
    except KeyError:
        if len(_LAYOUTS) >= _LAYOUTS_MAX:
            _LAYOUTS.clear()
        bbox, lines, box = MPL_GET_LAYOUT(self, renderer)
        _LAYOUTS[key[:5] + (key[5].copy(),) + key[6:]] = (bbox.frozen(), list(lines), box)
        return bbox, lines, box
    return Bbox(bbox.get_points().copy()), list(lines), box


def install() -> None:
    """Use :func:`cached_layout` for every matplotlib text (idempotent)."""
    mtext.Text._get_layout = cached_layout
