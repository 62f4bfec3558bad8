"""Same inputs, same report: two scans of a folder of every format give byte-identical JSON.

The scans run in separate processes with different hash seeds (set and dict order
must not leak into the report), from different working folders, with the keyword
matcher (the real model's determinism is checked in tests/test_offline.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from builders import comment, new_doc, new_workbook, save
from test_bad_input import encrypted_ooxml


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("det") / "in"
    (root / "sub").mkdir(parents=True)
    doc = new_doc()
    doc.add_heading("一、公司基本情况", 1)
    doc.add_paragraph("请列明贵公司属于部队的客户及收入。")
    doc.add_paragraph("Provide the business licence.")
    table = doc.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Question", "Response"
    table.cell(1, 0).text = "Do you process personal information of more than 1 million individuals?"
    save(doc, root / "dd.docx")
    wb = new_workbook()
    ws = wb.active
    ws.title = "Security"
    ws.append(["No.", "Question", "Answer"])
    ws.append([1, "Do you store data outside mainland China?", "No"])
    ws.append([2, "Please provide your network topology diagram for the critical information infrastructure.", ""])
    ws["B3"].comment = comment("include the OT network")
    hidden = wb.create_sheet("Hidden")
    hidden.sheet_state = "hidden"
    hidden.append(["Question"])
    hidden.append(["请提供涉密项目清单。"])
    wb.save(root / "vendor.xlsx")
    (root / "list.txt").write_text("# Part A\nPlease list your export-controlled products.\n请说明公司是否有军工资质？\n",
                                   encoding="utf-8")
    (root / "notes.md").write_text("# Scope\n- Provide the org chart.\n- 请提供员工花名册。\n", encoding="utf-8")
    (root / "sub" / "items.csv").write_text("No,Question,Answer\n1,Provide the lease agreements.,\n2,请说明董事的国籍。,\n",
                                            encoding="utf-8")
    (root / "sub" / "empty.docx").write_bytes(b"")
    encrypted_ooxml(root / "sub" / "locked.docx")
    (root / "picture.png").write_bytes(b"\x89PNG")
    return root


def _scan(folder: Path, cwd: Path, seed: str, out: Path) -> bytes:
    env = {k: v for k, v in os.environ.items() if k != "DDCHECK_CACHE"}
    env.update(PYTHONHASHSEED=seed, DDCHECK_CACHE=str(cwd / "cache"))
    cwd.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "ddcheck", "scan", str(folder), "--json", str(out), "--matcher", "keywords"],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=600)
    assert done.returncode in (1, 3), done.stderr
    return out.read_bytes()


def test_two_scans_give_byte_identical_json(folder: Path, tmp_path: Path):
    first = _scan(folder, tmp_path / "a", "1", tmp_path / "first.json")
    second = _scan(folder, tmp_path / "b", "4242", tmp_path / "second.json")
    assert first == second
    report = json.loads(first)
    formats = {f["format"] for f in report["files"]}
    assert {"docx", "xlsx", "txt", "md", "csv"} <= formats
    assert any(u["findings"] for f in report["files"] for u in f["units"]), "the keyword matcher found something"
    assert [f["path"] for f in report["files"]] == sorted(f["path"] for f in report["files"]), "files in a stable, sorted order"


def test_a_warm_cache_gives_the_same_report(folder: Path, tmp_path: Path):
    """The parse cache (on by default) must not change the report: cold and warm runs agree byte for byte."""
    cold = _scan(folder, tmp_path / "c", "7", tmp_path / "cold.json")
    warm = _scan(folder, tmp_path / "c", "8", tmp_path / "warm.json")
    assert cold == warm
