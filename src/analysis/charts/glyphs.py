"""Agg's rendered glyphs kept across texts and figures (a PNG's text rasterised once per glyph and sub-pixel offset).

Matplotlib's Agg renderer asks FreeType to render every glyph of every text it draws: 25,368 glyph renders for
the bundled sample's 28 PNGs, of which 6,169 differ. A glyph's bitmap depends on the font file and its hinting
factor, the size and resolution, the glyph, the text's angle, slant and stretch, the hinting flags, and where
the glyph's origin falls *within* a pixel (FreeType places it in 1/64 pixel); moving the origin by whole pixels
moves the bitmap by as many pixels and leaves it as it was (the rasteriser works on the outline translated to its
own bounding box). :func:`cached_glyphs` renders a glyph once per such key at its fractional offset and draws the
kept bitmap at the whole-pixel offset, with the same call Agg makes, so every PNG is byte for byte what it was
(``tests/test_charts_parallel.py`` compares the two on the report's charts).

Likewise a string's glyphs and their positions (its shaping by FreeType and HarfBuzz, once per draw of a text
before) are kept by :func:`cached_draw_text`.

The functions reproduce ``RendererAgg._draw_text_glyphs_and_boxes`` and ``RendererAgg.draw_text`` of the
matplotlib they were written for; they are installed only when those methods' sources are the ones they
reproduce (:data:`MPL_SOURCE_SHA256`, :data:`MPL_DRAW_TEXT_SHA256`), so another matplotlib draws with its own.
Glyphs drawn without antialiasing (scaled in place by matplotlib) are not kept.
"""

from __future__ import annotations

import hashlib
import inspect
import math
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.backends import backend_agg
from matplotlib.ft2font import RenderMode

from analysis.charts.textlayout import LAYOUT_RC

#: Agg's own method (kept for the test that compares the two).
MPL_DRAW_GLYPHS = backend_agg.RendererAgg._draw_text_glyphs_and_boxes
#: sha256 of the source of the method :func:`cached_glyphs` reproduces (matplotlib 3.11.2).
MPL_SOURCE_SHA256 = "ccc4749c9809539465c335a8e206cf42043d8e98199a2909cde208f6b463cab8"
#: Agg's own ``draw_text`` and the sha256 of its source (:func:`cached_draw_text` reproduces it).
MPL_DRAW_TEXT = backend_agg.RendererAgg.draw_text
MPL_DRAW_TEXT_SHA256 = "a08e437e92594360d8780f19d5fec59b6a49a2fa4898d4d79e3914d169ee1f72"
_GLYPHS: dict[tuple, tuple[np.ndarray, int, int]] = {}
_LAYOUTS: dict[tuple, list[tuple]] = {}  # a string's glyphs and their positions (cached_draw_text)
#: Bitmaps kept before the cache is emptied (each is a few hundred bytes).
_GLYPHS_MAX = 100_000


def cached_glyphs(self: Any, gc: Any, x: float, y: float, angle: float, glyphs: Any, boxes: Any) -> None:
    """``RendererAgg._draw_text_glyphs_and_boxes`` with each glyph's bitmap rendered once per key (module docstring)."""
    if not gc.get_antialiased():
        return MPL_DRAW_GLYPHS(self, gc, x, y, angle, glyphs, boxes)
    cos = math.cos(math.radians(angle))
    sin = math.sin(math.radians(angle))
    load_flags = backend_agg.get_hinting_flag()
    hinting = mpl.rcParams["text.hinting_factor"]  # the factor get_font gave the text's fonts
    height = self.height
    for font, size, glyph_index, slant, extend, dx, dy in glyphs:  # dy is upwards.
        px = round(0x40 * (x + dx * cos - dy * sin))
        py = round(0x40 * (height - y + dx * sin + dy * cos))  # FreeType's y is upwards.
        key = (font.fname, font.face_index, hinting, size, self.dpi, glyph_index, slant, extend, angle,
               load_flags, px & 0x3F, py & 0x3F)
        kept = _GLYPHS.get(key)
        if kept is None:
            font.set_size(size, self.dpi)
            font._set_transform(
                (0x10000 * np.array([[cos, -sin], [sin, cos]])
                 @ [[extend, extend * slant], [0, 1]]).round().astype(int),
                [px & 0x3F, py & 0x3F])
            bitmap = font._render_glyph(glyph_index, load_flags, RenderMode.NORMAL)
            if len(_GLYPHS) >= _GLYPHS_MAX:
                _GLYPHS.clear()
            kept = _GLYPHS[key] = (bitmap.buffer.copy(), bitmap.left, bitmap.top)  # its own copy
        buffer, left, top = kept
        # draw_text_image's y is downwards & the bitmap bottom side.
        self._renderer.draw_text_image(buffer, left + (px >> 6), int(height) - (top + (py >> 6)) + buffer.shape[0],
                                       0, gc)
    return MPL_DRAW_GLYPHS(self, gc, x, y, angle, (), boxes)  # the boxes (mathtext rules), as Agg draws them


def cached_draw_text(self: Any, gc: Any, x: float, y: float, s: str, prop: Any, angle: float, ismath: Any = False,
                     mtext: Any = None) -> None:
    """``RendererAgg.draw_text`` with each string's glyph layout (FreeType and HarfBuzz shaping) worked out once
    per font properties, size, resolution, string, hinting, features, language and the rcParams that choose
    and measure the font (:data:`analysis.charts.textlayout.LAYOUT_RC`)."""
    if ismath:
        return self.draw_mathtext(gc, x, y, s, prop, angle)
    flags = backend_agg.get_hinting_flag()
    features = mtext.get_fontfeatures() if mtext is not None else None
    language = mtext.get_language() if mtext is not None else None
    key = (prop, self.dpi, s, flags, features, language, tuple(str(mpl.rcParams[k]) for k in LAYOUT_RC))
    try:
        items = _LAYOUTS.get(key)
    except TypeError:  # an unhashable feature or language list: laid out every time
        key, items = None, None
    if items is None:
        font = self._prepare_font(prop)
        items = [(item.ft_object, item.glyph_index, item.x, item.y)
                 for item in font._layout(s, flags=flags, features=features, language=language)]
        if key is not None:
            if len(_LAYOUTS) >= _GLYPHS_MAX:
                _LAYOUTS.clear()
            _LAYOUTS[key[:1] + (prop.copy(),) + key[1:]] = items
    size = prop.get_size_in_points()
    self._draw_text_glyphs_and_boxes(gc, x, y, angle, ((ft, size, gi, 0, 1, gx, gy) for ft, gi, gx, gy in items), [])


def reproduces_matplotlib() -> bool:
    """Whether this matplotlib's methods are the ones :func:`cached_glyphs` and :func:`cached_draw_text` reproduce."""
    try:
        sources = [inspect.getsource(MPL_DRAW_GLYPHS), inspect.getsource(MPL_DRAW_TEXT)]
    except (OSError, TypeError):
        return False
    return [hashlib.sha256(src.encode()).hexdigest() for src in sources] == [MPL_SOURCE_SHA256, MPL_DRAW_TEXT_SHA256]


def install() -> bool:
    """Use :func:`cached_glyphs` and :func:`cached_draw_text` in Agg when :func:`reproduces_matplotlib`
    (idempotent); whether they are used."""
    if not reproduces_matplotlib():
        return False
    backend_agg.RendererAgg._draw_text_glyphs_and_boxes = cached_glyphs
    backend_agg.RendererAgg.draw_text = cached_draw_text
    return True
