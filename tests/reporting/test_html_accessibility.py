"""The HTML report in a real headless Chromium: axe-core finds no WCAG 2.2 AA violation, the page
makes no network request, and it reflows on a phone and at 200 % zoom without sideways scrolling.

Screenshots are kept in ``test-artifacts/`` (git-ignored) for a reviewer to look at. Skipped, with
the reason, where Playwright, axe or a Chromium is missing; ``.ci/run`` installs Debian's chromium.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.export_document import build_report
from bot.core.export_regional import build_regional_report
from bot.reporting.render import render_document
from tests.reporting.datasets import GENERATED, HOSTILE, HOSTILE_SET, ONE_BREW, PROMPTS, region

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-dev-shm-usage",
]  # fmt: skip


def find_chromium() -> str | None:
    explicit = os.environ.get("BREWHOST_CHROMIUM")
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[dev]')"
    )
    pytest.importorskip("axe_playwright_python", reason="axe-playwright-python is not installed")
    executable = find_chromium()
    if executable is None:
        pytest.skip(
            "No Chromium browser is installed, so the accessibility check cannot run: "
            "install Debian's `chromium` (apt-get install chromium; .ci/run does) "
            "or set BREWHOST_CHROMIUM to a Chrome/Chromium binary"
        )
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


def check_page(browser: Any, html: bytes, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.html"
    path.write_bytes(html)
    for label, width, scale in (("desktop", 1280, 1), ("phone", 360, 2), ("zoom-200", 640, 2)):
        # 200 % zoom of a 1280 px window is a 640 CSS-pixel viewport at twice the density
        page = browser.new_page(viewport={"width": width, "height": 900}, device_scale_factor=scale)
        requests: list[str] = []
        page.on("request", lambda request, seen=requests: seen.append(request.url))
        page.goto(path.as_uri())
        # axe once per page (its rules do not depend on the width); reflow at every width
        results = (
            Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
            if label == "desktop"
            else None
        )
        screenshot = ARTIFACTS / f"{name}-{label}.png"
        page.screenshot(path=str(screenshot), full_page=False)
        print(f"Screenshot of the {name} report ({label}): {screenshot}")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        images = page.evaluate(
            "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt.length])"
        )
        page.close()
        if results is not None:
            assert results.violations_count == 0, results.generate_report()
        assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
        assert overflow <= 0, f"{label}: the page scrolls sideways by {overflow} px"
        assert all(complete and natural > 0 and alt > 0 for complete, natural, alt in images)


def test_regional_report_passes_axe(browser: Any) -> None:
    doc = build_regional_report(
        region(),
        PROMPTS,
        title="Over A Brew in the Eastern region: what we heard",
        generated_on=GENERATED,
    )
    check_page(browser, render_document(doc, "html"), "regional-report")


def test_one_brew_and_hostile_text_pass_axe(browser: Any) -> None:
    for ds in (ONE_BREW, HOSTILE_SET):
        doc = build_report(
            ds.brews,
            ds.reflections,
            PROMPTS,
            title="Over A Brew in Norfolk: what we heard",
            generated_on=GENERATED,
        )
        html = render_document(doc, "html")
        if ds is HOSTILE_SET:
            assert all(h.encode() not in html for h in HOSTILE if "<" in h)  # escaped, not raw
        check_page(browser, html, ds.name.replace(" ", "-") + "-report")
