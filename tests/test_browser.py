"""The HTML report in a real browser (Debian's chromium, driven by the playwright package).

Opened from a file:// URL like a user opening it from a USB stick: the summary
numbers must equal the JSON report, the filters and the search must change what
is shown, hostile text must not run, and the page must make no request at all
besides loading its own file. Never runs ``playwright install``: it uses the
system chromium (``apt-get install -y chromium``), or ``DDCHECK_CHROMIUM``.
"""

import json
import os
import shutil
from pathlib import Path

import pytest
from test_outputs_fixtures import build_docx, build_xlsx, flagged, run

from ddcheck.outputs import ReportPlan, write_reports

CHROMIUM = os.environ.get("DDCHECK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[test]')")
if not Path(CHROMIUM).exists():
    pytest.skip(f"chromium not found at {CHROMIUM}: install it with 'apt-get install -y chromium' "
                "(or set DDCHECK_CHROMIUM) to run the browser tests", allow_module_level=True)

HOSTILE = 'List military customers <script>window.__pwned = 1; alert(1)</script><img src="http://evil.invalid/x.png" onerror="window.__pwned = 2">?'


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    src = root / "in"
    src.mkdir()
    build_docx(src / "q.docx")
    build_xlsx(src / "q.xlsx")
    (src / "hostile.txt").write_text(HOSTILE + "\nDescribe the board.\n", encoding="utf-8")
    result = run([src])
    out = root / "out"
    write_reports(result, ReportPlan(out_dir=out, inputs=frozenset(Path(f.path).resolve() for f in result.files), roots=(src,)),
                  warn=lambda m: None)
    return out / "report.html", json.loads((out / "report.json").read_text(encoding="utf-8")), result


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        except Exception as exc:  # noqa: BLE001
            pytest.skip(f"chromium at {CHROMIUM} could not be started: {exc}")
        yield b
        b.close()


@pytest.fixture()
def page(browser, report):
    path, data, result = report
    context = browser.new_context()
    page = context.new_page()
    requests, problems, dialogs = [], [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    url = path.resolve().as_uri()
    page.goto(url)
    page.wait_for_load_state("load")
    page.requests, page.problems, page.dialogs, page.url_expected = requests, problems, dialogs, url
    yield page
    context.close()


def shown(page) -> int:
    return int(page.locator("#shown-flagged").inner_text())


def visible_units(page) -> int:
    return page.locator("article.unit:visible").count()


def test_summary_numbers_match_the_json(page, report):
    _, data, result = report
    summary = data["summary"]
    for key in ("files", "files_failed", "units", "high", "medium", "low"):
        expected = summary["findings"][key] if key in ("high", "medium", "low") else summary[key]
        assert int(page.locator(f"dd[data-count='{key}']").inner_text()) == expected, key
    assert shown(page) == visible_units(page) == flagged(result)


def test_filters_and_search_change_what_is_shown(page, report):
    _, _, result = report
    total = flagged(result)
    highs = sum(1 for f in result.files for u in f.units if any(x.severity == "high" for x in u.findings))
    page.locator("input[name=sev][value=high]").uncheck()
    assert shown(page) == visible_units(page) == total - highs
    page.locator("input[name=sev][value=high]").check()
    assert shown(page) == total

    page.select_option("#f-cat", "human_genetic_health")
    assert shown(page) == visible_units(page) == 2           # the nested Word table and the hidden sheet
    page.select_option("#f-cat", "")

    page.select_option("#f-file", "3")                        # q.xlsx (hostile.txt, q.docx, q.xlsx)
    assert shown(page) == visible_units(page) == 3
    assert page.locator("section.file[data-file='1']").is_hidden()
    page.select_option("#f-file", "")

    page.fill("#f-search", "genetic")
    assert shown(page) == 2
    page.fill("#f-search", "ＧＥＮＥＴＩＣ")                  # full-width and upper case: the same search
    assert shown(page) == 2
    page.fill("#f-search", "no such text anywhere")
    assert shown(page) == visible_units(page) == 0
    assert page.locator("section.file .empty-note:visible").count() >= 1
    page.fill("#f-search", "")
    assert shown(page) == total


def test_show_all_units_and_skipped_text(page, report):
    _, data, result = report
    assert page.locator(".skipped-block:visible").count() == 0
    page.locator("#f-all").check()
    assert visible_units(page) == data["summary"]["units"]
    assert page.locator(".skipped-block:visible").count() == sum(1 for f in result.files if f.skipped)
    assert page.locator("tr.skipped-row:visible").count() == sum(len(f.skipped) for f in result.files)
    assert "unflagged" in page.locator("#shown-other-text").inner_text()


def test_hostile_text_does_not_run_and_no_request_is_made(page):
    page.locator("#f-all").check()
    page.fill("#f-search", "military")
    page.locator("details.steps summary").first.click()
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs == []
    assert page.get_by_text("<script>window.__pwned", exact=False).count() >= 1    # shown as text
    assert page.requests == [page.url_expected], page.requests
    assert not [p for p in page.problems if "Content Security Policy" in p or "Refused" in p], page.problems


def test_print_stylesheet_hides_the_controls(page):
    assert page.locator("#controls").is_visible()
    page.emulate_media(media="print")
    assert page.locator("#controls").is_hidden()
    assert page.locator("article.unit.flagged").first.is_visible()
