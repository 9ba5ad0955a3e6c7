"""House style for every published chart: palette, fonts, sizes, labels, footnotes.

One place decides how charts look so they are consistent and accessible:

* **Colour-blind-safe, WCAG 2.2 AA colours.** Every filled mark has a contrast of at least 3:1 against the
  white background and against the colour drawn next to it (WCAG 1.4.11, non-text contrast; checked by
  :func:`contrast_ratio` in the tests). Sequences alternate a mid tone (Okabe-Ito vermilion, green, blue,
  pink, orange) with a dark one, so neighbours differ in lightness and stay distinguishable under the
  common colour-vision deficiencies and in greyscale. Positions: orange = oppose, dark purple = support,
  greys alternating mid / dark for neither side.
* **Readable at 800 px.** Figures are 8 in wide at 100 dpi, text is DejaVu Sans (bundled with
  matplotlib) at 10 pt (never below 9 pt), long labels are wrapped with :func:`textwrap.wrap`, and
  layout uses constrained layout so nothing overlaps or is cut off.
* **Deterministic files.** A fixed SVG hash salt, coordinates rounded to 0.01 pt, and no timestamps in
  PNG/SVG metadata make re-runs byte-identical. SVG text stays text (searchable, read by screen
  readers), naming DejaVu Sans with fallbacks.
* **Honest marks.** Every chart states its ``n`` and carries a source/method footnote; suppressed
  cells are drawn as a hollow marker on the axis labelled ``<min_cell``: no bar, so no magnitude.
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

#: Categorical colours in drawing order: mid tones (Okabe & Ito 2008 vermilion, green, pink) alternating with
#: dark ones, so each is >= 3:1 against white and against its neighbours (also across the wrap-around).
CATEGORY_COLOURS = ["#2D004B", "#D55E00", "#1A1A1A", "#009E73", "#1B2A41", "#CC79A7"]
#: Kept as the name of the house qualitative palette (matplotlib's colour cycle).
OKABE_ITO = CATEGORY_COLOURS

#: Position colours (ColorBrewer PuOr ends; greys for "neither"), >= 3:1 against white; oppose and
#: support, and the "neither" positions in stacking order (:data:`analysis.schemas.NEITHER`), >= 3:1
#: against each other.
POSITION_COLOURS = {
    "oppose": "#E66101",
    "support": "#3F1D6E",
    "neutral": "#767676",
    "unsure": "#1A1A1A",
    "unclear": "#8C8C8C",
    "none": "#333333",
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

#: Respondent type display names.
RESPONDENT_LABELS = {"individual": "Individuals", "organisation": "Organisations", "unknown": "Unknown type"}
#: Channel display names.
CHANNEL_LABELS = {"online_survey": "Online survey", "email": "Email", "document": "Document / letter", "other": "Other"}

#: Respondent-type colours in stacking order (mid, dark, mid: >= 3:1 against white and each neighbour).
RESPONDENT_COLOURS = {"individual": "#D55E00", "organisation": "#1B2A41", "unknown": "#767676"}
#: Colour of the main single-series bars.
BAR_COLOUR = "#0072B2"
#: Colour for unique submissions (not part of a campaign; drawn before :data:`CATEGORY_COLOURS`).
UNIQUE_COLOUR = "#0072B2"
#: Hatch pattern and colour of suppressed cells (legend swatch and stacked segments of a published total).
SUPPRESSED_HATCH = "///"
SUPPRESSED_EDGE = "#555555"
#: Marker of a suppressed cell in a bar chart: a hollow diamond on the axis, no bar (no magnitude).
SUPPRESSED_MARKER = "D"
#: Sequential colour map for heatmaps (ColorBrewer Blues: colour-blind safe, prints in greyscale).
HEATMAP_CMAP = "Blues"

#: Fixed salt so SVG element ids are the same on every run.
SVG_HASHSALT = "analysis-consultation"


def relative_luminance(colour: str) -> float:
    """WCAG 2.2 relative luminance of a ``#RRGGBB`` colour (0 = black, 1 = white)."""
    hexa = colour.lstrip("#")
    channels = [int(hexa[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(a: str, b: str = "#FFFFFF") -> float:
    """WCAG 2.2 contrast ratio of two ``#RRGGBB`` colours (1 to 21; AA non-text contrast needs 3)."""
    light, dark = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


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


#: What each per-question chart shows (its title is ``"<kind>: <question heading>"``).
CHART_KINDS = {
    "options": "Options chosen",
    "positions": "Positions",
    "themes": "Themes raised",
    "theme_positions": "Themes by position",
    "theme_respondents": "Themes by respondent type",
    "theme_support": "Support for each theme's statements",
}


def chart_title(kind: str, question: str) -> str:
    """Title of a per-question chart (drawn and used as its caption): ``"Themes raised: Q1b. Reasons for Q1: …"``."""
    return f"{CHART_KINDS[kind]}: {question}"


def n_label(n: int, unit: str = "respondents") -> str:
    """The ``n = ...`` statement every chart carries."""
    return f"n = {fmt_int(n)} {unit}"
