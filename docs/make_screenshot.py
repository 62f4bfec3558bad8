"""Take docs/report.png from an HTML report with the system chromium (never ``playwright install``).

    .venv/bin/ddcheck scan questionnaires/ --out reports/
    .venv/bin/python docs/make_screenshot.py reports/report.html docs/report.png

The page is opened from a file:// URL; the script fails if the page asks for anything else.
Chinese text needs a CJK font on the machine (Debian: ``apt-get install -y fonts-wqy-microhei``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def main(source: str, target: str, width: int = 1280, height: int = 1700) -> None:
    url = Path(source).resolve().as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(url)
        page.wait_for_load_state("load")
        page.screenshot(path=target, full_page=False)
        browser.close()
    if requests != [url]:
        raise SystemExit(f"the report made requests besides its own file: {requests}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
