"""WCAG 2.2 AA of the published summary pages, checked in a real browser.

Both bundled consultations' ``summary.html`` are opened in headless Chromium (Debian's ``chromium`` package,
installed by ``make install``) at a desktop width (1280 px) and a small-phone width (320 px, the WCAG 1.4.10
reflow width). axe-core (bundled with ``axe-playwright-python``) must report no violation of any rule, with
every ``<details>`` opened so folded content is checked too, and the page must not scroll sideways.

The browser helpers here are reused by ``scripts/screenshots.py`` (the screenshots in ``docs/screenshots``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

#: The bundled consultations whose reports are published.
CONSULTATIONS = ("sample", "polis-nz-biodiversity")
#: Viewport widths audited: desktop and the WCAG reflow width.
WIDTHS = (1280, 320)
#: Viewport height of every page (screenshots are of the full page anyway).
HEIGHT = 900
#: Chromium flags for a root user in a container without a GPU.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def chromium_executable() -> str | None:
    """The system Chromium (Debian ``chromium``), or ``None`` when none is installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@contextmanager
def browser() -> Iterator[Any]:
    """A headless system Chromium driven by Playwright (no browser download: ``executable_path`` is set)."""
    from playwright.sync_api import sync_playwright

    exe = chromium_executable()
    if exe is None:
        raise RuntimeError("no chromium on PATH: run `make install` (apt-get install chromium)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def open_page(chromium: Any, html: Path, width: int) -> Iterator[Any]:
    """``html`` loaded in a fresh page ``width`` CSS px wide (device scale 1, reduced motion, fixed locale)."""
    context = chromium.new_context(viewport={"width": width, "height": HEIGHT}, device_scale_factor=1,
                                   locale="en-NZ", reduced_motion="reduce")
    page = context.new_page()
    try:
        page.goto(html.resolve().as_uri(), wait_until="load")
        yield page
    finally:
        context.close()


def open_details(page: Any) -> None:
    """Unfold every ``<details>`` so folded charts and tables are audited too."""
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")


def horizontal_overflow(page: Any) -> int:
    """CSS px the page is wider than its viewport (0 = no sideways scrolling)."""
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def axe_violations(page: Any) -> list[dict]:
    """axe-core violations of every rule (WCAG 2.0-2.2 A/AA and best practice) on the loaded page."""
    from axe_playwright_python.sync_playwright import Axe

    return Axe().run(page).response["violations"]


def describe(violations: list[dict]) -> str:
    """One line per violation: rule, impact, help text and the first offending elements."""
    return "\n".join(f"{v['id']} ({v['impact']}): {v['help']} -> "
                     + "; ".join(str(n["target"]) for n in v["nodes"][:3]) for v in violations)


# --- tests -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def summaries() -> dict[str, Path]:
    """Each bundled consultation's ``summary.html``, produced by the real pipeline (a cache check when up to date)."""
    if chromium_executable() is None:
        pytest.fail("chromium is not installed: `make install` installs it (apt-get install chromium)")
    from analysis import paths, pipeline

    out = {}
    for consultation in CONSULTATIONS:
        pipeline.run(consultation)
        out[consultation] = paths.reports_dir(consultation) / "summary.html"
    return out


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless browser for the module's tests."""
    with browser() as b:
        yield b


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("consultation", CONSULTATIONS)
def test_summary_page_has_no_axe_violations_and_no_sideways_scroll(summaries, chromium, consultation, width):
    with open_page(chromium, summaries[consultation], width) as page:
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.locator("main").count() == 1
        open_details(page)
        violations = axe_violations(page)
        assert not violations, f"{consultation} at {width}px:\n{describe(violations)}"
        assert horizontal_overflow(page) <= 0, f"{consultation} scrolls sideways at {width}px"


@pytest.mark.slow
def test_every_table_has_a_caption_and_the_page_links_workbook_and_methods(summaries, chromium):
    for consultation, html in summaries.items():
        with open_page(chromium, html, 1280) as page:
            tables = page.locator("table").count()
            assert tables and page.locator("table > caption").count() == tables, consultation
            hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
            assert "tables.xlsx" in hrefs and "#methods" in hrefs, consultation
            assert page.locator("#methods").count() == 1, consultation


def test_axe_finds_a_planted_violation(tmp_path, chromium):
    """The audit is live: an image without alt text and a grey-on-white paragraph are reported."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html lang="en"><head><title>t</title></head><body><main><h1>T</h1>'
                   '<p style="color:#bbbbbb">faint text</p><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
                   '<div style="width:600px">wide</div></main></body></html>', encoding="utf-8")
    with open_page(chromium, bad, 320) as page:
        ids = {v["id"] for v in axe_violations(page)}
        assert {"image-alt", "color-contrast"} <= ids
        assert horizontal_overflow(page) > 0
