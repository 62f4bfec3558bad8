"""The findings CSV, the Markdown summary and the reviewed copies of text inputs, read back."""

import csv
import io
import re
from pathlib import Path

import pytest
from test_outputs_fixtures import build_docx, findings_total, flagged, run

from ddcheck.outputs import ReportPlan, write_reports
from ddcheck.outputs import review as review_mod
from ddcheck.outputs.annotate import annotate_files
from ddcheck.outputs.csv_md import CSV_COLUMNS, findings_csv, md, summary_md
from ddcheck.report import report_dict


@pytest.fixture()
def scanned(tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    build_docx(src / "q.docx")
    (src / "list.txt").write_text("# Section A\nList military customers and personal data of staff?\n\nDescribe the board.\n"
                                  "=cmd|' /C calc'!A0 military?\n", encoding="utf-8")
    (src / "grid.csv").write_text("No.,Question,Response\n1,Provide personal data of all staff?,\n2,Describe the board?,Yes\n"
                                  '3,"Multi-line military\nrequest?",\n', encoding="utf-8")
    return src, run([src])


def read_csv(text: str):
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_csv_one_row_per_finding(scanned):
    _, result = scanned
    rows = read_csv(findings_csv(review_mod.build(result)))
    assert len(rows) == findings_total(result) == sum(report_dict(result)["summary"]["findings"].values())
    assert list(rows[0].keys()) == CSV_COLUMNS
    first = next(r for r in rows if r["location"] == "¶3")
    assert first["category"] == "Defence-industry business and military end users"
    assert first["category_zh"] == "军工军品业务与军方客户"
    assert first["severity"] == "high" and first["score"] == "0.9300" and first["action"].startswith("Route to")
    assert "[V]" in first["references"] and "[U]" in first["references"]
    assert first["file"].endswith("q.docx") and first["category_id"] == "defense_military_business"


def test_csv_is_excel_safe(scanned):
    _, result = scanned
    text = findings_csv(review_mod.build(result))
    assert "\r\n" in text
    rows = read_csv(text)
    hostile = [r for r in rows if "calc" in r["text"]]
    assert hostile and all(r["text"].startswith("'=") for r in hostile)


def test_markdown_summary(scanned):
    src, result = scanned
    text = summary_md(review_mod.build(result))
    assert text.startswith("# ddcheck review report: stop — high findings")
    summary = report_dict(result)["summary"]["findings"]
    assert f"**{summary['high']}** high" in text and f"**{summary['medium']}** medium" in text
    assert text.count("\n  - **") == findings_total(result)
    assert "| grid.csv" not in text and f"| {md(str(src / 'grid.csv'))} |" in text


def test_markdown_escapes_links_and_html():
    hostile = "See [click here](http://evil.example) <img src=x onerror=alert(1)> *bold* | pipe"
    out = md(hostile)
    assert "](" not in out.replace("\\](", "") and "<img" not in out and "&lt;img" in out
    assert "\\|" in out and "\\*bold\\*" in out
    assert md("line one\nline two") == "line one / line two"


def test_reviewed_copies_of_text_inputs(scanned, tmp_path: Path):
    src, result = scanned
    view = review_mod.build(result)
    annotations = annotate_files(view.files, tmp_path / "out", roots=[src], inputs={Path(f.path).resolve() for f in result.files})
    txt = annotations[str(src / "list.txt")]
    assert txt.path.name == "list.txt.reviewed.csv"
    rows = list(csv.reader(io.StringIO(txt.path.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["Line", "Text", "Risk", "Category", "Why", "Action"]
    assert len(rows) == 1 + 5                    # every line of the file, blank ones too, so row N is line N
    assert rows[2][1] == "List military customers and personal data of staff?" and rows[2][2] == "HIGH\nMEDIUM"
    assert rows[4][2] == "no finding" and rows[1][2] == "" and rows[3] == ["3", "", "", "", "", ""]
    assert rows[5][1].startswith("'=cmd")
    assert txt.annotated == txt.expected == 2
    grid = annotations[str(src / "grid.csv")]
    assert grid.path.name == "grid.reviewed.csv"
    rows = list(csv.reader(io.StringIO(grid.path.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["No.", "Question", "Response", "Risk", "Category", "Why", "Action"]
    assert rows[1][3] == "MEDIUM" and rows[2][3] == "no finding" and rows[3][1] == "Multi-line military\nrequest?"
    assert rows[3][3] == "HIGH"
    assert grid.annotated == grid.expected == 2


def test_every_output_in_one_run(scanned, tmp_path: Path):
    src, result = scanned
    out = tmp_path / "o"
    plan = ReportPlan(json=str(out / "r.json"), html=out / "h", annotate=out / "ann", csv=out / "f.csv", md=out / "s.md",
                      inputs=frozenset(Path(f.path).resolve() for f in result.files), roots=(src,))
    messages = []
    written = write_reports(result, plan, warn=messages.append)
    for path in (out / "r.json", out / "h" / "report.html", out / "f.csv", out / "s.md"):
        assert path.exists() and str(path) in written
    assert sorted(p.name for p in (out / "ann").iterdir()) == ["grid.reviewed.csv", "list.txt.reviewed.csv", "q.reviewed.docx"]
    assert len(read_csv((out / "f.csv").read_text(encoding="utf-8"))) == findings_total(result)
    md_text = (out / "s.md").read_text(encoding="utf-8")
    assert "| ann/q.reviewed.docx |" in md_text
    assert any("text boxes, headers or footers" in m for m in messages)
    assert flagged(result) == 12     # 8 in the Word file, 2 in each text file


def test_out_dir_writes_everything(scanned, tmp_path: Path):
    src, result = scanned
    out = tmp_path / "all"
    write_reports(result, ReportPlan(out_dir=out, roots=(src,)), warn=lambda m: None)
    assert sorted(p.name for p in out.iterdir()) == ["annotated", "files", "findings.csv", "index.html", "report.html",
                                                     "report.json", "summary.md"]
    assert re.search(r"annotated/q\.reviewed\.docx", (out / "summary.md").read_text(encoding="utf-8"))
