"""Screenshots of the published summary pages for the docs (``docs/screenshots/<consultation>-<width>.png``).

Uses the browser helpers of ``tests/test_accessibility.py`` (headless system Chromium via Playwright), so the
pictures show exactly what the accessibility test audits. Each screenshot is the top of the page (the first
:data:`CLIP_HEIGHT` CSS px) at a desktop (1280 px) and a phone (390 px) width, quantised to 64 colours to keep
the files small.

Usage (reads the reports folder, so run the pipeline first)::

    .venv/bin/python scripts/screenshots.py [--reports DIR] [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_accessibility import CONSULTATIONS, browser, open_page  # noqa: E402

#: Widths of the screenshots: desktop and a common phone.
WIDTHS = (1280, 390)
#: Height of the captured top of each page, in CSS px.
CLIP_HEIGHT = 1600
#: Colours kept in each PNG (the pages are mostly text on white).
COLOURS = 64


def shrink(png: bytes) -> bytes:
    """``png`` quantised to :data:`COLOURS` colours and re-encoded without metadata."""
    img = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=COLOURS, dither=Image.Dither.NONE)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def take(reports: Path, out: Path) -> list[Path]:
    """Write one screenshot per consultation and width; returns the written paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with browser() as chromium:
        for consultation in CONSULTATIONS:
            html = reports / consultation / "summary.html"
            for width in WIDTHS:
                with open_page(chromium, html, width) as page:
                    height = min(CLIP_HEIGHT, int(page.evaluate("document.documentElement.scrollHeight")))
                    png = page.screenshot(full_page=True, clip={"x": 0, "y": 0, "width": width, "height": height})
                path = out / f"{consultation}-{width}.png"
                path.write_bytes(shrink(png))
                written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--reports`` (default: the reports folder) and ``--out`` (default: docs/screenshots)."""
    from analysis import paths

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=Path, default=paths.reports())
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    for path in take(args.reports, args.out):
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
