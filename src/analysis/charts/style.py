"""House style for every published chart: palette, fonts, sizes, labels, footnotes.

One place decides how charts look so they are consistent and accessible:

* **Colour-blind-safe colours.** Categories use the Okabe-Ito palette; positions use the ColorBrewer
  ``PuOr`` diverging palette (orange = oppose, purple = support, greys for neither), which stays
  distinguishable under the common colour-vision deficiencies and in greyscale.
* **Readable at 800 px.** Figures are 8 in wide at 100 dpi, text is DejaVu Sans (bundled with
  matplotlib) at 10 pt (never below 9 pt), long labels are wrapped with :func:`textwrap.wrap`, and
  layout uses constrained layout so nothing overlaps or is cut off.
* **Deterministic files.** A fixed SVG hash salt, coordinates rounded to 0.01 pt, and no timestamps in
  PNG/SVG metadata make re-runs byte-identical. SVG text stays text (searchable, read by screen
  readers), naming DejaVu Sans with fallbacks.
* **Honest marks.** Every chart states its ``n`` and carries a source/method footnote; suppressed
  cells are drawn as hatched outlines labelled ``<min_cell``, never as zero.
"""

from __future__ import annotations

import textwrap
from typing import Any

from cycler import cycler

#: Figure width in inches (8 in at 100 dpi = 800 px).
FIG_WIDTH = 8.0
#: Output resolution of PNG files.
DPI = 100
#: Base font size in points (ticks and footnotes never go below :data:`MIN_FONT`).
FONT_SIZE = 10
MIN_FONT = 9
#: Characters per line when wrapping long axis labels and titles.
LABEL_WRAP = 34
TITLE_WRAP = 70
FOOTNOTE_WRAP = 105

#: Okabe & Ito (2008) colour-blind-safe qualitative palette (black omitted).
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999"]

#: Position colours: ColorBrewer PuOr (diverging, colour-blind safe) plus greys for "neither".
POSITION_COLOURS = {
    "oppose": "#E66101",
    "support": "#5E3C99",
    "neutral": "#BDBDBD",
    "unsure": "#8C8C8C",
    "unclear": "#E0E0E0",
    "none": "#F0F0F0",
}
#: Display names of positions.
POSITION_LABELS = {
    "support": "Support",
    "oppose": "Oppose",
    "neutral": "Neutral",
    "unsure": "Unsure",
    "unclear": "Unclear",
    "none": "No position",
}
#: Positions drawn away from the centre line (the rest go to a separate "neither" panel).
SIDED_POSITIONS = ("oppose", "support")
NEITHER_POSITIONS = ("neutral", "unsure", "unclear", "none")

#: Respondent type display names.
RESPONDENT_LABELS = {"individual": "Individuals", "organisation": "Organisations", "unknown": "Unknown type"}
#: Channel display names.
CHANNEL_LABELS = {"online_survey": "Online survey", "email": "Email", "document": "Document / letter", "other": "Other"}

#: Colour of the main single-series bars.
BAR_COLOUR = "#0072B2"
#: Colour for campaign copies and unique submissions.
CAMPAIGN_COLOUR = "#D55E00"
UNIQUE_COLOUR = "#0072B2"
#: Hatch pattern and colour of suppressed cells.
SUPPRESSED_HATCH = "///"
SUPPRESSED_EDGE = "#555555"
#: Sequential colour map for heatmaps (ColorBrewer Blues: colour-blind safe, prints in greyscale).
HEATMAP_CMAP = "Blues"

#: Fixed salt so SVG element ids are the same on every run.
SVG_HASHSALT = "analysis-consultation"


def rc_params() -> dict[str, Any]:
    """Matplotlib rcParams of the house style (use with :func:`matplotlib.rc_context`)."""
    return {
        # DejaVu Sans (bundled with matplotlib) draws every chart; SVG text names wider-or-equal fallbacks
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans", "Verdana", "Arial", "Helvetica"],
        "font.size": FONT_SIZE,
        "axes.titlesize": FONT_SIZE + 1,
        "axes.labelsize": FONT_SIZE,
        "xtick.labelsize": MIN_FONT,
        "ytick.labelsize": MIN_FONT,
        "legend.fontsize": MIN_FONT,
        "figure.titlesize": FONT_SIZE + 2,
        "figure.dpi": DPI,
        "savefig.dpi": DPI,
        "figure.constrained_layout.use": True,
        "figure.constrained_layout.h_pad": 0.08,
        "figure.constrained_layout.w_pad": 0.08,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": cycler(color=OKABE_ITO),
        "hatch.linewidth": 0.8,
        "svg.hashsalt": SVG_HASHSALT,
        "svg.fonttype": "none",
        "path.simplify": True,
    }


def wrap(text: str, width: int = LABEL_WRAP) -> str:
    """Wrap ``text`` into lines of at most ``width`` characters (words are never split)."""
    text = " ".join(str(text).split())
    return "\n".join(textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False)) or text


def fmt_int(n: int | float) -> str:
    """Format a count with thousands separators (``1,234``)."""
    return f"{int(n):,}"


def fmt_pct(share: float, digits: int = 0) -> str:
    """Format a share in [0, 1] as a percentage (``42%``)."""
    return f"{share * 100:.{digits}f}%"


def suppressed_label(min_cell: int) -> str:
    """Text drawn in place of a suppressed count (``<5``)."""
    return f"<{min_cell}"


def n_label(n: int, unit: str = "respondents") -> str:
    """The ``n = ...`` statement every chart carries."""
    return f"n = {fmt_int(n)} {unit}"
