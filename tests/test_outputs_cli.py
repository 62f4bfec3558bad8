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
    assert sorted(p.name for p in out.iterdir()) == ["annotated", "findings.csv", "report.html", "report.json", "summary.md"]
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
