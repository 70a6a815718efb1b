"""scorecard.html in a real headless Chromium (Debian `chromium`, driven by Playwright): opened as a file with the
network blocked, no console or page errors, the verdict banner, every chart and every check row visible, and a
full-page screenshot that is a real picture."""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import pytest

from harness.scorecard.charts import charts_for
from harness.scorecard.html import to_html
from harness.scorecard.model import Scorecard

pytestmark = pytest.mark.integration
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "scorecards"
GREEN = "rgb(26, 127, 55)"


def png_facts(path: Path) -> tuple[int, int, int]:
    """Width, height and the number of distinct byte values of the decoded pixel rows of a PNG file."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    width, height = struct.unpack(">II", data[16:24])
    offset, compressed = 8, b""
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if kind == b"IDAT":
            compressed += data[offset + 8:offset + 8 + length]
        offset += 12 + length
    return width, height, len(set(zlib.decompress(compressed)))


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no chromium binary on PATH (Debian: apt-get install chromium; .ci/run installs it)")
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


def open_offline(browser, html_file: Path):
    """The page opened from disk with every non-file request aborted; returns it with the blocked requests and errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
    page = context.new_page()
    blocked, errors = [], []

    def route(request_route):
        if request_route.request.url.startswith("file://"):
            request_route.continue_()
        else:
            blocked.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    page.on("console", lambda message: errors.append(f"console {message.type}: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.goto(html_file.as_uri(), wait_until="load")
    return page, blocked, errors


@pytest.mark.parametrize("fixture", ["good-app", "load-scenarios", "no-go"])
def test_scorecard_renders_in_chromium(browser, tmp_path, fixture):
    card = Scorecard.model_validate_json((FIXTURES / f"{fixture}.json").read_text())
    html_file = tmp_path / "scorecard.html"
    html_file.write_text(to_html(card), encoding="utf-8")
    page, blocked, errors = open_offline(browser, html_file)
    try:
        banner = page.locator("header.banner")
        assert banner.is_visible() and card.verdict.value in banner.inner_text()
        box = banner.bounding_box()
        assert box["width"] > 600 and box["height"] > 80
        expected_charts = [c.id for c in charts_for(card)]
        assert [f.get_attribute("id") for f in page.locator("figure.chart").all()] == expected_charts
        for chart_id in expected_charts:
            svg = page.locator(f"#{chart_id} svg")
            svg_box = svg.bounding_box()
            assert svg.is_visible() and svg_box["width"] > 300 and svg_box["height"] > 100, chart_id
            assert page.locator(f"#{chart_id} svg rect, #{chart_id} svg path").count() > 5, chart_id
        rows = page.locator("tr.check-row")
        assert rows.count() == len(card.checks)
        for row, check in zip(rows.all(), card.checks, strict=True):
            assert row.is_visible() and check.id in row.inner_text() and check.status.value in row.inner_text()
        if card.verdict.value == "GO":
            assert banner.evaluate("e => getComputedStyle(e).backgroundColor") == GREEN
        if fixture == "good-app":  # one full-page screenshot is enough proof (and the slowest step)
            shot = tmp_path / "page.png"
            page.screenshot(path=str(shot), full_page=True)
            width, height, distinct = png_facts(shot)
            assert width == 1280 and height > 2000 and distinct > 50 and shot.stat().st_size > 50_000
    finally:
        page.context.close()
    assert blocked == [] and errors == []


def test_collapsed_evidence_opens_without_script(browser, tmp_path):
    card = Scorecard.model_validate_json((FIXTURES / "good-app.json").read_text())
    html_file = tmp_path / "scorecard.html"
    html_file.write_text(to_html(card), encoding="utf-8")
    page, blocked, errors = open_offline(browser, html_file)
    try:
        details = page.locator("#check-signals-concurrent details")
        table = details.locator("table")
        assert not table.is_visible()
        details.locator("summary").click()
        assert table.is_visible() and table.locator("tr").count() == 10  # header + 9 bursts
        page.locator("a[href='#check-retry-outage']").click()
        assert page.evaluate("location.hash") == "#check-retry-outage"
    finally:
        page.context.close()
    assert blocked == [] and errors == []
