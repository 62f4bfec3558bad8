"""``ddcheck diff OLD NEW``: questions added, removed, changed (reworded) and moved between two versions of a
questionnaire, with the risk of each added or changed one; text, JSON and HTML output; exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from lxml import html as lxml_html
from openpyxl import Workbook
from typer.testing import CliRunner

from ddcheck.cli import app
from ddcheck.diff import compare, diff_paths, inline_diff
from ddcheck.matcher import build_matcher
from ddcheck.rewording import comparable
from ddcheck.scan import scan

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "questionnaires" / "ipo_legal_dd_request_list.docx"
sys.path.insert(0, str(ROOT / "examples" / "rounds"))
import make_rounds  # noqa: E402

SENSITIVE_ADDED = "Provide the names and security clearance levels of the employees who work on classified military projects."
PLAIN_ADDED = "Describe the Group's ESG policy and its targets for the next three years."


@pytest.fixture(scope="module")
def keywords():
    return build_matcher("keywords")


@pytest.fixture(scope="module")
def versions(tmp_path_factory, keywords):
    """OLD: the sample IPO request list (.docx). NEW: the same list as an Excel sheet, with rows moved, one
    removed, one flagged question lightly reworded, one plain question edited into a sensitive one, and two
    added (one sensitive)."""
    old = scan([SAMPLE], matcher=keywords, use_cache=False).files[0]
    texts = [u.text for u in old.units]
    flagged = next(u.text for u in old.units if u.findings and "People's Liberation Army" in u.text)
    plain = [u.text for u in old.units if not u.findings]
    removed = plain[3]
    raised_from = next(t for t in plain if t.startswith("A list of the top twenty customers"))
    raised_to = raised_from.rstrip(".") + ", and say which of them are units of the People's Liberation Army."
    reworded = flagged.replace("A list of all customers", "Please provide a list of all the customers", 1)
    assert reworded != flagged
    new = [t for t in texts if t != removed]
    new = [reworded if t == flagged else raised_to if t == raised_from else t for t in new]
    moved = new[5:9]
    new = new[:5] + new[9:]
    new[20:20] = moved                                   # four rows moved further down
    new.insert(30, SENSITIVE_ADDED)
    new.insert(12, PLAIN_ADDED)
    wb = Workbook()
    ws = wb.active
    ws.title = "Requests"
    ws.append(["No.", "Request", "Response"])
    for number, text in enumerate(new, 1):
        ws.append([str(number), text, ""])
    folder = tmp_path_factory.mktemp("diff")
    target = folder / "ipo_legal_dd_request_list v2.xlsx"
    wb.save(target)
    return {"old": SAMPLE, "new": target, "removed": removed, "flagged": flagged, "reworded": reworded,
            "raised": (raised_from, raised_to), "moved": moved, "folder": folder}


def test_added_removed_changed_and_their_risk(versions, keywords):
    diff = diff_paths(versions["old"], versions["new"], matcher=keywords, use_cache=False)
    assert [u.text for u in diff.added] == [PLAIN_ADDED, SENSITIVE_ADDED]
    added = {u.text: u for u in diff.added}
    assert not added[PLAIN_ADDED].findings
    assert any(f.severity == "high" for f in added[SENSITIVE_ADDED].findings)
    assert [u.text for u in diff.removed] == [versions["removed"]]
    changed = {c.old.text: c for c in diff.changed}
    assert set(changed) == {versions["flagged"], versions["raised"][0]}
    assert changed[versions["flagged"]].new.text == versions["reworded"]
    assert changed[versions["flagged"]].new.findings and changed[versions["flagged"]].risk == "same"
    assert changed[versions["raised"][0]].risk == "raised", "an edit that makes a question sensitive stands out"
    assert len(diff.moved) >= len(versions["moved"])
    assert {o.text for o, _ in diff.moved} >= set(versions["moved"])
    s = diff.summary()
    assert s["unchanged"] + s["changed"] + s["removed"] == len(diff.old.units)
    assert s["unchanged"] + s["changed"] + s["added"] == len(diff.new.units)
    assert s["risky_questions"] == 3 and s["risk"]["high"] >= 2


def test_cli_text_json_html_and_exit_codes(versions):
    folder = versions["folder"]
    args = ["diff", str(versions["old"]), str(versions["new"]), "--matcher", "keywords", "--no-cache"]
    result = CliRunner().invoke(app, args + ["--json", str(folder / "diff.json"), "--html", str(folder / "diff.html")])
    assert result.exit_code == 1, (result.stderr, result.exception)
    text = result.stdout
    assert "2 added" in text and "1 removed" in text and "2 changed" in text
    assert "  + " in text and SENSITIVE_ADDED[:60] in text and "ADDED (2)" in text and "REMOVED (1)" in text
    assert "CHANGED (2)" in text and "risk raised" in text and "HIGH" in text
    data = json.loads((folder / "diff.json").read_text(encoding="utf-8"))
    assert data["schema"] == "ddcheck.diff/1" and data["summary"]["added"] == 2
    assert [u["text"] for u in data["added"]] == [PLAIN_ADDED, SENSITIVE_ADDED]
    assert data["added"][1]["findings"] and data["added"][1]["location"]["sheet"] == "Requests"
    assert {c["risk"] for c in data["changed"]} == {"same", "raised"}
    assert data["changed_rule"] == "text ratio >= 0.72"
    page = (folder / "diff.html").read_text(encoding="utf-8")
    doc = lxml_html.fromstring(page)
    assert not doc.xpath("//script") and "script-src 'none'" in page
    assert doc.xpath("//dd[@data-count='added']")[0].text == "2"
    assert len(doc.xpath("//article[@data-kind='changed']")) == 2 and doc.xpath("//article[@data-kind='changed']//ins")

    json_only = CliRunner().invoke(app, args + ["--json", "-"])
    assert json.loads(json_only.stdout)["summary"] == data["summary"]
    never = CliRunner().invoke(app, args + ["--fail-on", "never"])
    assert never.exit_code == 0
    same = CliRunner().invoke(app, ["diff", str(versions["old"]), str(versions["old"]), "--matcher", "keywords"])
    assert same.exit_code == 2 and "same file" in same.stderr
    missing = CliRunner().invoke(app, ["diff", str(versions["old"]), str(folder / "nope.docx"), "--matcher", "keywords"])
    assert missing.exit_code == 2 and "nope.docx" in missing.stderr


def test_unreadable_version_is_exit_3(versions, tmp_path):
    broken = tmp_path / "v3.docx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    result = CliRunner().invoke(app, ["diff", str(versions["old"]), str(broken), "--matcher", "keywords", "--no-cache"])
    assert result.exit_code == 3 and "v3.docx" in result.stderr


def test_the_committed_rounds_example(keywords):
    """examples/rounds: round 1 in Word, round 2 in Excel; the generator and the committed files agree."""
    folder = ROOT / "examples" / "rounds"
    old, new = folder / "round1" / make_rounds.ROUND1_NAME, folder / "round2" / make_rounds.ROUND2_NAME
    diff = diff_paths(old, new, matcher=keywords, use_cache=False)
    assert [u.text for u in diff.added] == [q for _, q in make_rounds.ADDED]
    assert [comparable(u.text) for u in diff.removed] == [comparable(make_rounds.REMOVED)]
    assert [(c.old.text.split(". ", 1)[1], c.new.text) for c in diff.changed] == [make_rounds.REWORDED]
    assert diff.moved and diff.worst_severity() == 3


def test_pairing_is_count_aware_and_ignores_numbering(keywords, tmp_path):
    (tmp_path / "a.txt").write_text("1. Provide the licence.\n2. Provide the licence.\n3. Describe the board.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Describe the board?\nProvide the licence.\n", encoding="utf-8")
    result = scan([tmp_path / "a.txt", tmp_path / "b.txt"], matcher=keywords, use_cache=False)
    diff = compare(*result.files)
    assert len(diff.unchanged) == 2 and [u.text for u in diff.removed] == ["2. Provide the licence."]
    assert len(diff.moved) == 1


def test_inline_diff_marks_words_and_chinese_characters():
    left, right = inline_diff("请提供公司营业执照。", "请提供贵公司的营业执照。")
    assert ("贵", "ins") in right and all(op != "del" for _, op in left)
    left, right = inline_diff("List all customers.", "List all suppliers.")
    assert ("customers", "del") in left and ("suppliers", "ins") in right
