"""The HTML report: parsed back, its numbers equal the JSON report; it is self-contained, escaped and deterministic."""

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from lxml import html as lxml_html
from test_outputs_fixtures import build_docx, build_xlsx, flagged, run

from ddcheck.outputs import ReportPlan, write_reports
from ddcheck.outputs import review as review_mod
from ddcheck.outputs.html import render_html
from ddcheck.report import report_dict

HOSTILE = 'Please list military customers <script>alert("x")</script> <img src="http://evil.example/p.png"> &amp; more?'


@pytest.fixture()
def scanned(tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    build_docx(src / "q.docx")
    build_xlsx(src / "q.xlsx")
    (src / "hostile.txt").write_text(HOSTILE + "\nDescribe the board.\n", encoding="utf-8")
    (src / "broken.docx").write_bytes(b"PK\x03\x04 damaged")
    return run([src])


def page(result, lang="en"):
    return lxml_html.fromstring(render_html(review_mod.build(result), lang))


def test_summary_numbers_equal_the_json(scanned):
    doc = page(scanned)
    summary = report_dict(scanned)["summary"]
    counts = {dd.get("data-count"): int(dd.text_content()) for dd in doc.xpath("//dd[@data-count]")}
    assert counts == {"files": summary["files"], "files_failed": summary["files_failed"], "units": summary["units"],
                      **summary["findings"]}
    assert summary["files_failed"] == 1 and summary["findings"]["high"] > 0
    # per file rows add up to the same totals
    for sev in ("high", "medium", "low"):
        assert sum(int(td.text_content()) for td in doc.xpath(f"//td[@data-file-count='{sev}']")) == summary["findings"][sev]
    # the category chart shows every finding once
    assert sum(int(t.get("data-category-total")) for t in doc.xpath("//*[@data-category-total]")) == sum(summary["findings"].values())
    # every unit is in the page, flagged ones visible, the others hidden until "show all"
    units = doc.xpath("//article[contains(@class,'unit')]")
    assert len(units) == summary["units"]
    assert len([u for u in units if u.get("data-flagged") == "1"]) == flagged(scanned)
    assert all(u.get("hidden") is not None for u in units if u.get("data-flagged") == "0")
    assert doc.xpath("string(//*[@id='shown-flagged'])") == str(flagged(scanned))


def test_verdicts_failed_files_and_skipped_text(scanned):
    doc = page(scanned)
    assert doc.xpath("string(//p[@class='overall']//span/@data-verdict)") == "stop"
    assert doc.xpath("//*[@id='incomplete-banner']")
    failed = doc.xpath("//li[@data-failed]")
    assert len(failed) == 1 and "broken.docx" in failed[0].text_content()
    verdicts = [v.get("data-verdict") for v in doc.xpath("//table[@class='files-table']//span[@data-verdict]")]
    assert sorted(verdicts) == ["stop", "stop", "stop", "unreadable"]
    skipped_rows = doc.xpath("//tr[@class='skipped-row']")
    assert len(skipped_rows) == sum(len(f.skipped) for f in scanned.files)


def test_hostile_text_renders_as_text(scanned):
    text = render_html(review_mod.build(scanned), "en")
    assert "<script>alert" not in text and '<img src="http://evil' not in text
    doc = lxml_html.fromstring(text)
    scripts = doc.xpath("//script")
    assert len(scripts) == 1 and "alert(" not in scripts[0].text
    assert not doc.xpath("//img")
    shown = [p.text_content() for p in doc.xpath("//p[contains(@class,'qtext')]")]
    assert HOSTILE in shown


def test_self_contained_no_urls_and_csp_hashes_match(scanned):
    text = render_html(review_mod.build(scanned), "en")
    doc = lxml_html.fromstring(text)
    assert not doc.xpath("//link|//img|//iframe|//object|//embed|//script[@src]|//*[@srcset]")
    for a in doc.xpath("//a[@href]"):
        assert a.get("href").startswith("#") or "://" not in a.get("href")
    assert not re.search(r"(?i)(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", doc.xpath("string(//style)") + doc.xpath("string(//script)"))
    assert "@import" not in doc.xpath("string(//style)") and "url(" not in doc.xpath("string(//style)")
    csp = doc.xpath("string(//meta[@http-equiv='Content-Security-Policy']/@content)")
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp

    def digest(s):
        return "sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()

    style = re.search(r"<style>(.*?)</style>", text, re.S).group(1)
    script = re.search(r"<script>(.*?)</script>", text, re.S).group(1)
    assert f"style-src '{digest(style)}'" in csp and f"script-src '{digest(script)}'" in csp


def test_unit_details_highlight_category_action_references(scanned):
    doc = page(scanned)
    unit = next(u for u in doc.xpath("//article[@data-flagged='1']") if "military customers and the revenue" in u.text_content())
    assert [m.text_content() for m in unit.xpath(".//p[contains(@class,'qtext')]/mark")] == ["military"]
    finding = unit.xpath(".//section[@class='finding']")[0]
    body = finding.text_content()
    assert "Defence-industry business and military end users" in body and "军工军品业务与军方客户" in body
    assert "Route to the confidentiality office" in body          # the category's action_text
    assert "0.93" in body and "An example question" in body and "0.81" in body
    assert len(finding.xpath(".//details[@class='steps']//tbody/tr")) == 3
    certs = [c.text_content() for c in finding.xpath(".//ul[@class='refs']//span[contains(@class,'cert ')]")]
    assert certs == ["V", "U", "S"]
    assert "do not rely on the article number" in finding.xpath("string(.//ul[@class='refs'])")


def test_hidden_sheet_units_are_marked(scanned):
    doc = page(scanned)
    unit = next(u for u in doc.xpath("//article") if "Extra!B2" in u.text_content())
    assert unit.xpath(".//span[contains(@class,'badge-hidden')]")


def test_chinese_interface(scanned):
    doc = page(scanned, "zh")
    assert doc.get("lang") == "zh-CN"
    assert "审阅报告" in doc.xpath("string(//h1)")
    assert doc.xpath("string(//p[@class='overall'])").startswith("总体结论")
    cat = doc.xpath("//article[@data-flagged='1']//span[@class='cat']")[0].text_content()
    assert re.search(r"[\u4e00-\u9fff]", cat)


def test_deterministic(scanned):
    view = review_mod.build(scanned)
    assert render_html(view, "en") == render_html(review_mod.build(scanned), "en")


def test_written_with_out_dir_links_reviewed_copies(scanned, tmp_path: Path):
    out = tmp_path / "out"
    written = write_reports(scanned, ReportPlan(out_dir=out, inputs=frozenset(Path(f.path).resolve() for f in scanned.files)),
                            warn=lambda m: None)
    assert (out / "report.html").exists() and str(out / "report.html") in written
    doc = lxml_html.fromstring((out / "report.html").read_text(encoding="utf-8"))
    links = [a.get("href") for a in doc.xpath("//table[@class='files-table']//a[not(starts-with(@href,'#'))]")]
    assert sorted(links) == ["annotated/hostile.txt.reviewed.csv", "annotated/q.reviewed.docx", "annotated/q.reviewed.xlsx"]
    for link in links:
        assert (out / link).exists()
    json_summary = json.loads((out / "report.json").read_text(encoding="utf-8"))["summary"]
    assert int(doc.xpath("string(//dd[@data-count='high'])")) == json_summary["findings"]["high"]


def test_html_option_file_or_folder(scanned, tmp_path: Path):
    write_reports(scanned, ReportPlan(html=tmp_path / "a" / "x.html"), warn=lambda m: None)
    write_reports(scanned, ReportPlan(html=tmp_path / "b"), warn=lambda m: None)
    assert (tmp_path / "a" / "x.html").exists() and (tmp_path / "b" / "report.html").exists()
