"""Take the screenshot of a scorecard's HTML report kept in the docs (run by hand, never by the tests):

    .venv/bin/python docs/screenshot.py [SCORECARD.json] [--out docs/scorecard-good-app.png]

It renders the scorecard (default: the good app's real run in tests/fixtures/scorecards/good-app.json) with
`harness.scorecard.html`, opens it in headless Chromium (the Debian `chromium` binary) with the network blocked,
and captures the page from the verdict banner to the last chart.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from harness.scorecard.html import to_html
from harness.scorecard.model import Scorecard

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 1200


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scorecard", nargs="?", type=Path, default=ROOT / "tests" / "fixtures" / "scorecards" / "good-app.json")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "scorecard-good-app.png")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("error: no chromium binary on PATH (Debian: apt-get install chromium)", file=sys.stderr)
        return 2
    card = Scorecard.model_validate_json(args.scorecard.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        page_file = Path(folder) / "scorecard.html"
        page_file.write_text(to_html(card), encoding="utf-8")
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport={"width": WIDTH, "height": 900}, offline=True).new_page()
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://") else route.abort())
        page.goto(page_file.as_uri(), wait_until="load")
        last = page.locator("figure.chart").last if page.locator("figure.chart").count() else page.locator("table.checks")
        box = last.bounding_box()
        page.screenshot(path=str(args.out), full_page=True, clip={"x": 0, "y": 0, "width": WIDTH, "height": box["y"] + box["height"] + 16})
        browser.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
