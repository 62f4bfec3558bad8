"""Reviewer decisions: fingerprints and document keys, matching across rounds (moved rows, renamed files,
reworded questions, repeated questions), stale decisions, --fail-on, 'ddcheck decide' from the command line
and from the findings CSV, the reports' ordering, and the HTML review mode in a real browser.

The keywords matcher is used wherever the embedding model is not the point; the one test about a question
reworded beyond what the text ratio catches uses the real model.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ddcheck.cli import app
from ddcheck.decisions import (
    DecisionError,
    DecisionSet,
    Record,
    Row,
    document_key,
    fingerprint,
    parse_decision,
)
from ddcheck.matcher import build_matcher
from ddcheck.rewording import Similarity, calibrate, comparable
from ddcheck.scan import scan

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples" / "rounds"))
import make_rounds  # noqa: E402

MILITARY = "List all customers that are units of the People's Liberation Army, with the revenue from each."
ROSTER = "Provide a roster of all employees with their identity card numbers and home addresses."
SITES = "Provide the GPS coordinates of each production site and whether it lies in a military restricted zone."
PLAIN = ["Describe the board of directors.", "Provide the audited accounts for the last three years."]


@pytest.fixture(scope="module")
def keywords():
    return build_matcher("keywords")


def write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(args: list[str], env: dict | None = None):
    return CliRunner().invoke(app, args, env=env)


def scan_json(paths, *extra) -> tuple[int, dict, str]:
    result = run(["scan", *map(str, paths), "--json", "-", "--matcher", "keywords", "--no-cache", *extra])
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr, result.exception)
    return result.exit_code, json.loads(result.stdout), result.stderr


def findings(report: dict):
    for f in report["files"]:
        for u in f["units"]:
            for x in u["findings"]:
                yield f, u, x


def decide_everything(report: dict, decision: str = "redact", by: str = "Wang Fang") -> DecisionSet:
    """A decision for every finding of a report, as 'ddcheck decide' would record it (one per occurrence)."""
    rows = [Row(f["document_key"], x["category"], u["text"], decision, "note", by) for f, u, x in findings(report)]
    decisions = DecisionSet([])
    decisions.record(rows, at="2026-03-02T09:00:00Z")
    return decisions


# -- identity ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, key", [
    ("IPO_DD_Request_List_v2_final.docx", "ipo_dd_request_list"),
    ("IPO DD request list (revised).docx", "ipo_dd_request_list"),
    ("ipo-dd-request-list rev3 2026-03-01.xlsx", "ipo_dd_request_list"),
    ("IPO DD Request List - Round 2 (1).xlsx", "ipo_dd_request_list"),
    ("folder/sub/IPO DD Request List.docx", "ipo_dd_request_list"),
    ("尽职调查清单（第二轮）.docx", "尽职调查清单"),
    ("尽职调查清单_修订版_20260301.docx", "尽职调查清单"),
    ("Supplementary request list v3.docx", "supplementary_request_list"),   # a different document: keeps its word
    ("v2.docx", "v2"),                                                       # never empty
])
def test_document_key_drops_round_version_date_and_copy_suffixes(name, key):
    assert document_key(name) == key


def test_document_key_can_be_set_by_glob():
    assert document_key("in/Falcon DD list.docx", {"falcon*.docx": "ipo_dd_request_list"}) == "ipo_dd_request_list"
    assert document_key("in/Other.docx", {"falcon*.docx": "x"}) == "other"


def test_fingerprint_is_content_not_place():
    a = fingerprint("defense_military_business", "3. List all military customers?")
    assert a == fingerprint("defense_military_business", "（三）LIST ALL   MILITARY CUSTOMERS。")
    assert a == fingerprint("defense_military_business", "12) List all military customers")
    assert a != fingerprint("sensitive_personal_info", "List all military customers")
    assert a != fingerprint("defense_military_business", "List all military suppliers")
    assert comparable("2024年度财务报表") == "2024年度财务报表"       # a year is not a list number


def test_parse_decision_accepts_spellings_and_chinese_labels():
    assert parse_decision("False positive") == "false_positive"
    assert parse_decision("answer-public-only") == "answer_public_only"
    assert parse_decision("脱敏") == "redact" and parse_decision("误报") == "false_positive"
    assert parse_decision("undecided") == "undecided"
    with pytest.raises(DecisionError, match="'redacted please' is not one of accepted"):
        parse_decision("redacted please")


# -- matching across rounds ---------------------------------------------------------------------------------------
def test_decisions_survive_moved_rows_and_renamed_files(tmp_path, keywords):
    first = write(tmp_path / "r1" / "Request list.txt", [MILITARY, PLAIN[0], ROSTER, PLAIN[1], SITES])
    result = scan([first], matcher=keywords, use_cache=False)
    from ddcheck.report import report_dict

    decisions = decide_everything(report_dict(result))
    assert decisions.records and all(r.document == "request_list" for r in decisions.records)

    # round 2: rows reordered, renumbered, file renamed with a version suffix
    second = write(tmp_path / "r2" / "Request list v2 (final).txt", [f"1. {SITES}", PLAIN[1], f"2. {ROSTER}", f"3. {MILITARY}"])
    out = scan([second], matcher=keywords, use_cache=False, decisions=decisions)
    kinds = [m.kind for m in out.decisions.matches.values()]
    assert kinds and set(kinds) == {"exact"}
    assert out.decisions.summary()["undecided"] == 0 and not out.decisions.stale

    # renamed beyond the suffix rules: found by fingerprint among documents not in this scan
    third = write(tmp_path / "r3" / "Project X questions.txt", [ROSTER, MILITARY, SITES])
    out = scan([third], matcher=keywords, use_cache=False, decisions=decisions)
    assert {m.kind for m in out.decisions.matches.values()} == {"other_document"}
    assert out.decisions.summary()["undecided"] == 0


def test_a_document_in_the_scan_keeps_its_own_decisions(tmp_path, keywords):
    """The same question in another document that is scanned too is not decided by the first one's decision."""
    a = write(tmp_path / "main list.txt", [MILITARY])
    b = write(tmp_path / "supplementary list.txt", [MILITARY])
    from ddcheck.report import report_dict

    decisions = decide_everything(report_dict(scan([a], matcher=keywords, use_cache=False)))
    out = scan([a, b], matcher=keywords, use_cache=False, decisions=decisions)
    decided = {path for path, _, _ in out.decisions.matches}
    assert decided == {str(a)}
    assert out.decisions.summary()["undecided"] >= 1


def test_count_aware_repeated_question(tmp_path, monkeypatch):
    # One reviewer deciding both occurrences in the same second: pinned, so a slow machine crossing a
    # second boundary between the two `decide` runs does not make them two decisions (they differ in time).
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1772442000")
    path = write(tmp_path / "list.txt", [MILITARY, PLAIN[0], MILITARY])
    _, report, _ = scan_json([path])
    (first, second) = [u for u in report["files"][0]["units"] if u["findings"]]
    cat = first["findings"][0]["category"]
    decisions = tmp_path / "decisions.json"
    (tmp_path / "report.json").write_text(json.dumps(report), encoding="utf-8")
    base = ["decide", str(decisions), "--report", str(tmp_path / "report.json"), "--category", cat, "--by", "Li Lei"]

    done = run(base + ["--unit", first["id"], "--decision", "redact"])
    assert done.exit_code == 0, done.stderr
    data = json.loads(decisions.read_text(encoding="utf-8"))
    assert [(r["decision"], r["count"]) for r in data["decisions"] if r["category"] == cat] == [("redact", 1)]
    _, again, _ = scan_json([path], "--decisions", str(decisions))
    states = [x.get("decision") is not None for u in again["files"][0]["units"] for x in u["findings"] if x["category"] == cat]
    assert sorted(states) == [False, True], "one decision covers one of the two occurrences"

    done = run(base + ["--unit", second["id"], "--decision", "redact"])      # the second occurrence
    assert done.exit_code == 0, done.stderr
    data = json.loads(decisions.read_text(encoding="utf-8"))
    assert [(r["decision"], r["count"]) for r in data["decisions"] if r["category"] == cat] == [("redact", 2)]

    done = run(base + ["--unit", second["id"], "--decision", "decline", "--all"])   # one decision for all of them
    data = json.loads(decisions.read_text(encoding="utf-8"))
    assert [(r["decision"], r["count"]) for r in data["decisions"] if r["category"] == cat] == [("decline", "all")]
    write(path, [MILITARY, MILITARY, MILITARY, PLAIN[0]])
    _, again, _ = scan_json([path], "--decisions", str(decisions))
    assert all(x["decision"]["decision"] == "decline" for _, _, x in findings(again) if x["category"] == cat)


def test_reworded_question_keeps_its_decision_with_the_old_text(tmp_path, keywords):
    old = "Provide copies of all contracts with military end users and the revenue from each."
    new = "Please provide copies of all the contracts with military end users, and the revenue from each."
    path = write(tmp_path / "list.txt", [old, PLAIN[0]])
    from ddcheck.report import report_dict

    decisions = decide_everything(report_dict(scan([path], matcher=keywords, use_cache=False)), "answer_public_only")
    write(path, [PLAIN[0], new])
    out = scan([path], matcher=keywords, use_cache=False, decisions=decisions)
    report = report_dict(out)
    marked = [x["decision"] for _, _, x in findings(report)]
    assert marked and all(d["match"] == "reworded" and d["previous_text"] == old and d["decision"] == "answer_public_only"
                          and d["text_ratio"] >= 0.8 and d["similarity"] is None for d in marked)
    assert report["decisions"]["reworded_rule"] == "text ratio >= 0.80"

    # reworded beyond recognition: a new question, and the old decision is stale
    write(path, [PLAIN[0], "Which of your contracts concern the armed forces, and how much did they earn?"])
    out = scan([path], matcher=keywords, use_cache=False, decisions=decisions)
    assert not out.decisions.matches and out.decisions.stale


def test_stale_decisions_in_the_json_and_on_stderr(tmp_path):
    path = write(tmp_path / "list.txt", [MILITARY, ROSTER, PLAIN[0]])
    _, report, _ = scan_json([path])
    decisions = decide_everything(report)
    decisions.save(tmp_path / "decisions.json")
    write(path, [ROSTER, PLAIN[0]])                       # the military question was removed
    _, report, stderr = scan_json([path], "--decisions", str(tmp_path / "decisions.json"))
    stale = report["decisions"]["stale"]
    assert stale and all(s["text"] == MILITARY and s["unmatched"] == 1 for s in stale)
    assert report["decisions"]["summary"]["stale"] == len(stale)
    assert "no longer match any finding" in stderr and "List all customers" in stderr
    # decisions for a document that is not in the scan are not stale
    other = write(tmp_path / "another.txt", [PLAIN[1]])
    _, report, stderr = scan_json([other], "--decisions", str(tmp_path / "decisions.json"))
    assert report["decisions"]["stale"] == [] and report["decisions"]["summary"]["other_documents"] == len(decisions.records)


def test_fail_on_ignores_only_accepted_and_false_positive(tmp_path):
    path = write(tmp_path / "list.txt", [MILITARY, PLAIN[0]])
    code, report, _ = scan_json([path])
    assert code == 1
    for decision, expected in (("accepted", 0), ("false_positive", 0), ("redact", 1), ("decline", 1),
                               ("answer_public_only", 1)):
        decide_everything(report, decision).save(tmp_path / f"{decision}.json")
        code, again, _ = scan_json([path], "--decisions", str(tmp_path / f"{decision}.json"))
        assert code == expected, decision
        assert all(x["decision"]["counts_for_fail_on"] == (expected == 1) for _, _, x in findings(again))
        assert again["summary"]["findings"] == report["summary"]["findings"], "the contract counts stay as they are"
        assert again["summary"]["undecided_findings"] == {"high": 0, "medium": 0, "low": 0}


def test_missing_decisions_file_is_an_empty_baseline_and_a_broken_one_is_exit_2(tmp_path):
    path = write(tmp_path / "list.txt", [MILITARY])
    _, report, stderr = scan_json([path], "--decisions", str(tmp_path / "none-yet.json"))
    assert "no decisions recorded yet" in stderr
    assert all(x["decision"] is None for _, _, x in findings(report))
    bad = tmp_path / "bad.json"
    for text, message in (("{", "not valid JSON"), ('{"schema": "other"}', "schema must be 'ddcheck.decisions/1'"),
                          ('{"schema": "ddcheck.decisions/1", "decisions": [{"document": "d", "category": "c", '
                           '"text": "t", "decision": "maybe"}]}', "decisions[0]: decision 'maybe'"),
                          ('{"schema": "ddcheck.decisions/1", "decisions": [{"document": "d", "category": "c", '
                           '"text": "t", "decision": "redact", "fingerprint": "0000"}]}', "was the text edited by hand"),
                          ('{"schema": "ddcheck.decisions/1", "decisions": [{"document": "d", "category": "c", '
                           '"text": "t", "decision": "redact", "count": 0}]}', "'count' must be")):
        bad.write_text(text, encoding="utf-8")
        result = run(["scan", str(path), "--json", "-", "--matcher", "keywords", "--no-cache", "--decisions", str(bad)])
        assert result.exit_code == 2 and message in result.stderr, (text, result.stderr)


def test_decisions_file_is_sorted_canonical_and_round_trips(tmp_path):
    records = [Record("b", "x", fingerprint("x", "Q2"), "Q2", "redact", "", "A", "2026-01-01T00:00:00Z", 1),
               Record("a", "y", fingerprint("y", "Q1"), "Q1", "decline", "n", "B", "2026-01-02T00:00:00Z", "all")]
    text = DecisionSet(records).dumps()
    data = json.loads(text)
    assert data["schema"] == "ddcheck.decisions/1" and set(data) == {"schema", "decisions"}
    assert [r["document"] for r in data["decisions"]] == ["a", "b"]
    assert list(data["decisions"][0]) == ["document", "category", "fingerprint", "text", "decision", "note", "by", "at", "count"]
    assert DecisionSet.loads(text).dumps() == text


# -- 'ddcheck decide' ---------------------------------------------------------------------------------------------
def read_csv(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_csv_round_trip_through_decide(tmp_path):
    path = write(tmp_path / "in" / "Request list.txt", [MILITARY, PLAIN[0], ROSTER, MILITARY])
    assert run(["scan", str(path), "--csv", str(tmp_path / "r1.csv"), "--matcher", "keywords", "--no-cache", "-q"]).exit_code == 1
    rows = read_csv(tmp_path / "r1.csv")
    assert rows and all(r["status"] == "new" and r["fingerprint"] and r["document_key"] == "request_list" for r in rows)
    for r in rows:                                   # the reviewer fills in the Decision column in Excel
        r["decision"] = "Redact" if "military" in r["text"].lower() or "Liberation" in r["text"] else "false positive"
        r["note"] = "aggregate only"
    write_csv(tmp_path / "r1-filled.csv", rows)
    decisions = tmp_path / "decisions.json"
    env = {"SOURCE_DATE_EPOCH": "1772442000"}
    done = run(["decide", str(decisions), "--csv", str(tmp_path / "r1-filled.csv"), "--by", "Wang Fang"], env=env)
    assert done.exit_code == 0, done.stderr
    data = json.loads(decisions.read_text(encoding="utf-8"))
    assert all(r["by"] == "Wang Fang" and r["at"] == "2026-03-02T09:00:00Z" for r in data["decisions"])
    assert sum(r["count"] for r in data["decisions"]) == len(rows), "count-aware: the repeated question counts twice"

    # round 2: moved rows and a new question; the CSV then lists new findings first, decided ones filled in
    write(path, [ROSTER, SITES, MILITARY, PLAIN[0], MILITARY])
    code = run(["scan", str(path), "--csv", str(tmp_path / "r2.csv"), "--matcher", "keywords", "--no-cache", "-q",
                "--decisions", str(decisions)]).exit_code
    assert code == 1
    rows2 = read_csv(tmp_path / "r2.csv")
    statuses = [r["status"] for r in rows2]
    assert statuses == sorted(statuses, key=lambda s: s != "new"), "new findings first"
    assert {r["text"] for r in rows2 if r["status"] == "new"} == {SITES}
    assert all(r["decision"] and r["decided_by"] == "Wang Fang" for r in rows2 if r["status"] == "decided")

    # the same CSV back, unchanged: nothing new is recorded and the earlier time stamps are kept
    before = decisions.read_text(encoding="utf-8")
    done = run(["decide", str(decisions), "--csv", str(tmp_path / "r2.csv"), "--by", "Li Lei"],
               env={"SOURCE_DATE_EPOCH": "1773000000"})
    assert done.exit_code == 0, done.stderr
    assert decisions.read_text(encoding="utf-8") == before
    # a second reviewer decides the new question and changes one earlier decision
    for r in rows2:
        if r["status"] == "new":
            r["decision"], r["note"] = "decline", "no coordinates"
        elif r["text"] == ROSTER:
            r["decision"], r["note"] = "answer_public_only", "headcount only"
    write_csv(tmp_path / "r2-filled.csv", rows2)
    done = run(["decide", str(decisions), "--csv", str(tmp_path / "r2-filled.csv"), "--by", "Li Lei"],
               env={"SOURCE_DATE_EPOCH": "1773000000"})
    assert done.exit_code == 0, done.stderr
    data = json.loads(decisions.read_text(encoding="utf-8"))
    by_text = {(r["text"], r["decision"]): r for r in data["decisions"]}
    assert by_text[(SITES, "decline")]["by"] == "Li Lei"
    assert by_text[(ROSTER, "answer_public_only")]["by"] == "Li Lei"
    assert by_text[(MILITARY, "redact")]["by"] == "Wang Fang" and by_text[(MILITARY, "redact")]["count"] == 2
    _, report, _ = scan_json([path], "--decisions", str(decisions))
    assert report["summary"]["undecided_findings"] == {"high": 0, "medium": 0, "low": 0}


def test_decide_validates_values_and_names_the_row(tmp_path):
    path = write(tmp_path / "list.txt", [MILITARY, ROSTER])
    run(["scan", str(path), "--csv", str(tmp_path / "f.csv"), "--json", str(tmp_path / "r.json"), "--matcher", "keywords",
         "--no-cache", "-q"])
    rows = read_csv(tmp_path / "f.csv")
    rows[0]["decision"] = "redacted please"
    write_csv(tmp_path / "bad.csv", rows)
    done = run(["decide", str(tmp_path / "d.json"), "--csv", str(tmp_path / "bad.csv"), "--by", "X"])
    assert done.exit_code == 2 and "bad.csv row 2: decision 'redacted please' is not one of" in done.stderr
    assert not (tmp_path / "d.json").exists()
    rows[0]["decision"], rows[0]["text"] = "redact", rows[0]["text"] + " (edited)"
    write_csv(tmp_path / "bad.csv", rows)
    done = run(["decide", str(tmp_path / "d.json"), "--csv", str(tmp_path / "bad.csv"), "--by", "X"])
    assert done.exit_code == 2 and "row 2: the text or category was edited" in done.stderr

    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    unit = next(u for u in report["files"][0]["units"] if u["findings"])
    cases = [
        (["--unit", "nope", "--decision", "redact", "--by", "X"], "no unit with id nope"),
        (["--unit", unit["id"], "--decision", "maybe", "--by", "X"], "decision 'maybe' is not one of"),
        (["--unit", unit["id"], "--decision", "redact", "--category", "state_secret_classified", "--by", "X"],
         "has no state_secret_classified finding"),
        (["--unit", unit["id"], "--decision", "redact"], "who decided?"),
        (["--decision", "redact"], "say what to record"),
    ]
    for extra, message in cases:
        done = run(["decide", str(tmp_path / "d.json"), "--report", str(tmp_path / "r.json"), *extra])
        assert done.exit_code == 2 and message in done.stderr, (extra, done.stderr)
    if len(unit["findings"]) > 1:
        done = run(["decide", str(tmp_path / "d.json"), "--report", str(tmp_path / "r.json"), "--unit", unit["id"],
                    "--decision", "redact", "--by", "X"])
        assert done.exit_code == 2 and "say which with --category" in done.stderr


def test_reviewer_comes_from_the_configuration(tmp_path, monkeypatch):
    path = write(tmp_path / "list.txt", [ROSTER])
    run(["scan", str(path), "--json", str(tmp_path / "r.json"), "--matcher", "keywords", "--no-cache", "-q"])
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    _, unit, finding = next(findings(report))
    (tmp_path / ".git").mkdir()
    (tmp_path / "ddcheck.toml").write_text('reviewer = "Zhang Wei"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    done = run(["decide", "d.json", "--report", "r.json", "--unit", unit["id"], "--category", finding["category"],
                "--decision", "accepted", "--note", "public already"])
    assert done.exit_code == 0, done.stderr
    assert json.loads(Path("d.json").read_text(encoding="utf-8"))["decisions"][0]["by"] == "Zhang Wei"


# -- the reports -------------------------------------------------------------------------------------------------
def test_reports_list_new_findings_first_and_decided_ones_collapsed(tmp_path):
    path = write(tmp_path / "in" / "list.txt", [MILITARY, PLAIN[0], ROSTER])
    _, report, _ = scan_json([path])
    decided = DecisionSet([])
    decided.record([Row(f["document_key"], x["category"], u["text"], "redact", "aggregate only", "Wang Fang")
                    for f, u, x in findings(report) if u["text"] == MILITARY], at="2026-03-02T09:00:00Z")
    decided.save(tmp_path / "d.json")
    out = tmp_path / "out"
    done = run(["scan", str(path), "--out", str(out), "--matcher", "keywords", "--no-cache", "-q", "--decisions",
                str(tmp_path / "d.json")])
    assert done.exit_code == 1
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert md.index("identity card") < md.index("Decided earlier (1)") < md.index("People's Liberation Army")
    assert "**Redact or aggregate**" in md and "1 flagged question(s) decided earlier" in md
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.index("identity card") < page.index('class="decided-group"') < page.index("People&#39;s Liberation Army")
    assert 'id="decisions-banner"' in page and "aggregate only" in page
    assert page.count("<script") == 1, "the page keeps its one hashed script"


def test_custom_categories_are_named_in_the_reports(tmp_path):
    lexicon = ROOT / "examples" / "custom_lexicon.yaml"
    path = write(tmp_path / "list.txt", ["Please provide admin accounts to the HawkEye MES for our advisers."])
    out = tmp_path / "out"
    done = run(["scan", str(path), "--out", str(out), "--matcher", "keywords", "--no-cache", "-q", "--lexicon", str(lexicon)])
    assert done.exit_code == 1, done.stderr
    assert "Acme internal system names and architecture" in (out / "report.html").read_text(encoding="utf-8")
    assert "Acme internal system names" in (out / "summary.md").read_text(encoding="utf-8")


# -- rewording thresholds ------------------------------------------------------------------------------------------
PAIRS = yaml.safe_load((Path(__file__).parent / "data" / "reworded_pairs.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("encoder", [None, "hash"])
def test_shipped_thresholds_separate_the_calibration_pairs(encoder):
    from ddcheck.encoders import get_encoder

    enc = get_encoder(encoder) if encoder else None
    strict = calibrate(Similarity(enc, "strict"), PAIRS["reworded"], PAIRS["different"])
    assert strict["recall"] >= 0.85 and strict["false"] == [], strict
    loose = calibrate(Similarity(enc, "diff"), PAIRS["reworded"], PAIRS["different"])
    assert loose["recall"] >= 0.95 and len(loose["false"]) <= 5, loose


@pytest.fixture(scope="module")
def real_matcher():
    """The default hybrid matcher with the real encoder (e5+use): loads the model (10-20 s)."""
    return build_matcher("hybrid")


def test_reworded_by_embedding_with_the_real_model(tmp_path, real_matcher):
    """Words moved around: the text ratio alone would call it a new question; the sentence vectors do not."""
    old = "Provide the survey results broken down by respondents' religion and ethnicity."
    new = "Provide the survey results broken down by the ethnicity and religion of the respondents."
    path = write(tmp_path / "survey.txt", [old, PLAIN[0]])
    from ddcheck.report import report_dict

    first = report_dict(scan([path], matcher=real_matcher, use_cache=False))
    assert any(True for _ in findings(first)), "the question must be flagged to be decided"
    decisions = decide_everything(first, "answer_public_only")
    write(path, [PLAIN[0], new])
    report = report_dict(scan([path], matcher=real_matcher, use_cache=False, decisions=decisions))
    marked = [x["decision"] for _, _, x in findings(report)]
    assert marked and all(d and d["match"] == "reworded" and d["previous_text"] == old for d in marked)
    assert all(d["similarity"] >= 0.90 and d["text_ratio"] < 0.80 for d in marked)

    strict = calibrate(Similarity(real_matcher.encoder, "strict"), PAIRS["reworded"], PAIRS["different"])
    assert strict["recall"] >= 0.9 and strict["false"] == [], strict


# -- the HTML review mode in a real browser -------------------------------------------------------------------
CHROMIUM = os.environ.get("DDCHECK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def test_html_review_mode_downloads_a_decisions_file_that_scan_reads_back(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium not found at {CHROMIUM}")
    r1 = make_rounds.build_round1(tmp_path / "r1" / make_rounds.ROUND1_NAME)
    out = tmp_path / "out1"
    done = run(["scan", str(r1), "--out", str(out), "--matcher", "keywords", "--no-cache", "-q"])
    assert done.exit_code == 1, done.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    total = sum(1 for _ in findings(report))
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        requests, problems = [], []
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        url = (out / "report.html").resolve().as_uri()
        page.goto(url)
        assert page.locator(".decide").first.is_hidden()
        page.locator("#f-review").check()
        assert page.locator("#review-bar").is_visible() and page.locator(".decide").first.is_visible()
        selects = page.locator("section.finding .d-sel")
        assert selects.count() == total
        for i in range(total):
            selects.nth(i).select_option("false_positive" if i == 0 else "redact")
        page.locator("section.finding .d-note").nth(1).fill("aggregate only")
        assert "change(s) not downloaded" in page.locator("#r-status").inner_text()
        page.locator("#r-download").click()
        assert page.locator("#r-need").is_visible(), "a reviewer's name is needed first"
        page.fill("#r-by", "Wang Fang")
        with page.expect_download() as info:
            page.locator("#r-download").click()
        download = info.value
        assert download.suggested_filename == "decisions.json"
        saved = tmp_path / "decisions.json"
        download.save_as(saved)
        assert page.locator("#r-status").inner_text() == ""
        assert requests == [url] or all(r == url or r.startswith("blob:") for r in requests), requests
        assert not [m for m in problems if "Content Security Policy" in m or "Refused" in m], problems
        browser.close()
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert data["schema"] == "ddcheck.decisions/1"
    assert sum(r["count"] for r in data["decisions"]) == total
    assert all(r["by"] == "Wang Fang" for r in data["decisions"])
    assert DecisionSet.loads(saved.read_text(encoding="utf-8")).dumps() == saved.read_text(encoding="utf-8"), \
        "the page writes the canonical form 'ddcheck decide' writes"
    # read back: round 1 again (every finding decided) and round 2 (only what changed is new)
    _, again, _ = scan_json([r1], "--decisions", str(saved))
    assert again["summary"]["undecided_findings"] == {"high": 0, "medium": 0, "low": 0}
    r2 = make_rounds.build_round2(tmp_path / "r2" / make_rounds.ROUND2_NAME)
    _, second, _ = scan_json([r2], "--decisions", str(saved))
    new = {u["text"] for _, u, x in findings(second) if x["decision"] is None}
    assert make_rounds.ADDED[1][1] in new
    assert not new & {q for _, q in make_rounds.ROUND1}, "nothing decided in round 1 comes back as new"
    assert any(x["decision"]["match"] == "reworded" for _, u, x in findings(second) if x["decision"])

    # round 2's page starts from those decisions: decided ones collapsed, only the new ones to choose
    out2 = tmp_path / "out2"
    assert run(["scan", str(r2), "--out", str(out2), "--matcher", "keywords", "--no-cache", "-q", "--decisions",
                str(saved)]).exit_code == 1
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_context(accept_downloads=True).new_page()
        page.goto((out2 / "report.html").resolve().as_uri())
        assert page.locator("details.decided-group").first.get_attribute("open") is None
        assert page.locator("#decisions-banner").is_visible()
        assert int(page.locator("#shown-flagged").inner_text()) == len({u for u in new})
        page.locator("#f-review").check()
        fresh = page.locator("article.unit[data-status='new'] .d-sel")
        for i in range(fresh.count()):
            fresh.nth(i).select_option("decline")
        page.fill("#r-by", "Li Lei")
        with page.expect_download() as info:
            page.locator("#r-download").click()
        info.value.save_as(tmp_path / "decisions2.json")
        browser.close()
    text2 = (tmp_path / "decisions2.json").read_text(encoding="utf-8")
    assert DecisionSet.loads(text2).dumps() == text2
    records = json.loads(text2)["decisions"]
    assert {r["by"] for r in records if r["decision"] == "decline" and r["text"] == make_rounds.ADDED[1][1]} == {"Li Lei"}
    kept = [r for r in records if r["by"] == "Wang Fang"]
    assert kept and {r["at"] for r in kept} == {r["at"] for r in data["decisions"]}, "earlier decisions keep author and time"
    assert any(r["text"] == make_rounds.REWORDED[1] for r in kept), "a reworded match moves to the new wording"
    _, third, _ = scan_json([r2], "--decisions", str(tmp_path / "decisions2.json"))
    assert third["summary"]["undecided_findings"] == {"high": 0, "medium": 0, "low": 0}
    assert {x["decision"]["match"] for _, _, x in findings(third)} == {"exact"}


def test_the_example_decisions_file_is_canonical():
    path = ROOT / "examples" / "rounds" / "decisions.json"
    assert DecisionSet.load(path).dumps() == path.read_text(encoding="utf-8")
