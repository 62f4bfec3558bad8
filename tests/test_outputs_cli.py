"""The scan command's output options, end to end with the real keyword matcher (no embedding model)."""

import csv
import io
import json
from pathlib import Path

from lxml import html as lxml_html
from test_outputs_fixtures import build_docx, build_xlsx
from typer.testing import CliRunner

from ddcheck.cli import app


def make_inputs(root: Path) -> Path:
    src = root / "q"
    (src / "sub").mkdir(parents=True)
    build_docx(src / "request.docx")
    build_xlsx(src / "sub" / "list.xlsx")
    (src / "notes.txt").write_text("请列明贵公司属于部队的客户及收入。\nDescribe the board.\n", encoding="utf-8")
    return src


def invoke(*args):
    return CliRunner().invoke(app, ["scan", *map(str, args), "--matcher", "keywords"])


def test_out_dir_writes_every_report(tmp_path: Path):
    src = make_inputs(tmp_path)
    out = tmp_path / "reports"
    result = invoke(src, "--out", out)
    assert result.exit_code == 1, result.output          # high findings
    assert sorted(p.name for p in out.iterdir()) == ["annotated", "files", "findings.csv", "index.html", "report.html",
                                                     "report.json", "summary.md"]
    copies = sorted(p.relative_to(out / "annotated").as_posix() for p in (out / "annotated").rglob("*") if p.is_file())
    assert copies == ["notes.txt.reviewed.csv", "request.reviewed.docx", "sub/list.reviewed.xlsx"]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    summary = report["summary"]
    doc = lxml_html.fromstring((out / "report.html").read_text(encoding="utf-8"))
    for key in ("high", "medium", "low"):
        assert int(doc.xpath(f"string(//dd[@data-count='{key}'])")) == summary["findings"][key]
    assert int(doc.xpath("string(//dd[@data-count='units'])")) == summary["units"]
    rows = list(csv.DictReader(io.StringIO((out / "findings.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == sum(summary["findings"].values()) > 0
    assert any(r["text"] == "请列明贵公司属于部队的客户及收入。" for r in rows)
    for path in ("report.html", "findings.csv", "summary.md"):
        assert f"wrote {out / path}" in result.stderr


def test_each_output_on_its_own_and_in_chinese(tmp_path: Path):
    src = make_inputs(tmp_path)
    out = tmp_path / "o"
    result = invoke(src, "--json", out / "report.json", "--html", out, "--annotate", out / "annotated",
                    "--csv", out / "findings.csv", "--md", out / "summary.md", "--lang", "zh")
    assert result.exit_code == 1, result.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and "审阅报告" in page
    assert (out / "summary.md").read_text(encoding="utf-8").startswith("# ddcheck 审阅报告")
    from openpyxl import load_workbook

    assert "ddcheck审阅" in load_workbook(out / "annotated" / "sub" / "list.reviewed.xlsx").sheetnames


def test_html_alone_is_enough(tmp_path: Path):
    src = make_inputs(tmp_path)
    result = invoke(src / "notes.txt", "--html", tmp_path / "one.html")
    assert result.exit_code == 1, result.output
    assert (tmp_path / "one.html").exists() and not (tmp_path / "report.json").exists()


def test_no_output_named_is_a_usage_error(tmp_path: Path):
    src = make_inputs(tmp_path)
    result = invoke(src)
    assert result.exit_code == 2 and "--html" in result.stderr and "--out DIR" in result.stderr


def test_help_lists_the_outputs():
    result = CliRunner().invoke(app, ["scan", "--help"], terminal_width=200)
    text = " ".join(result.output.split())
    for option in ("--html", "--annotate", "--csv", "--md", "--lang"):
        assert option in text
    assert "report.html" in text and "findings.csv" in text and "summary.md" in text and "annotated/" in text


def test_folder_scan_index_links_one_page_per_file(tmp_path: Path):
    src = make_inputs(tmp_path)
    out = tmp_path / "reports"
    assert invoke(src, "--out", out).exit_code == 1
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    index = lxml_html.fromstring((out / "index.html").read_text(encoding="utf-8"))
    assert index.xpath("string(//a[@id='combined-report']/@href)") == "report.html"
    rows = index.xpath("//tbody/tr")
    assert [r.xpath("string(.//span[@class='fname'])") for r in rows] == [Path(f["path"]).name for f in report["files"]]
    for row, entry in zip(rows, report["files"]):
        page_path = out / row.xpath("string(.//a[@class='file-report']/@href)")
        page = lxml_html.fromstring(page_path.read_text(encoding="utf-8"))
        assert page_path.parent == out / "files"
        assert page.xpath("string(//a[@id='back-to-index']/@href)") == "../index.html"
        assert [n.text_content() for n in page.xpath("//table[@class='files-table']//a[@class='fname']")] == [Path(entry["path"]).name]
        found = {s: 0 for s in ("high", "medium", "low")}
        for unit in entry["units"]:
            for finding in unit["findings"]:
                found[finding["severity"]] += 1
        for finding in entry.get("file_findings", []):
            found[finding["severity"]] += 1
        for key, n in found.items():
            assert int(page.xpath(f"string(//dd[@data-count='{key}'])")) == n
            assert int(row.xpath(f"string(.//td[@data-file-count='{key}'])")) == n
        copy = page.xpath("string(//table[@class='files-table']//td[last()]/a/@href)")
        assert copy and (page_path.parent / copy).resolve().is_file(), "the page links the file's reviewed copy"
    assert "<script" not in (out / "index.html").read_text(encoding="utf-8")


def test_one_file_gets_no_index(tmp_path: Path):
    src = make_inputs(tmp_path)
    out = tmp_path / "one"
    invoke(src / "request.docx", "--out", out)
    assert not (out / "index.html").exists() and not (out / "files").exists()
    invoke(src, "--html", tmp_path / "named" / "scan.html")
    assert (tmp_path / "named" / "scan.index.html").is_file() and len(list((tmp_path / "named" / "scan.files").iterdir())) == 3
