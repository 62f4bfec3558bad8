"""Beyond-scope findings (declared purpose) and file-level aggregation findings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ddcheck.aggregation import MIN_UNITS, aggregate
from ddcheck.cli import app
from ddcheck.model import Evidence, Finding, Location, RawUnit, Unit
from ddcheck.scan import FileResult


def unit(text: str, n: int, *findings: tuple[str, str]) -> Unit:
    raw = RawUnit(text=text, location=Location(f"line {n}", (("line", n),)))
    return Unit(id=f"u{n}", raw=raw, lang="en", norm=text.lower(),
                findings=[Finding(c, s, 0.6, Evidence(), ("route_legal",), ()) for c, s in findings])


def test_modest_findings_in_one_category_add_up_to_one_file_finding():
    units = [unit(f"question {i}", i, ("strategic_industry_intel", "medium")) for i in range(1, MIN_UNITS + 1)]
    found = aggregate(FileResult(path="a.txt", format="txt", units=units))
    assert [f["category"] for f in found] == ["strategic_industry_intel"]
    assert found[0]["severity"] == "high" and found[0]["units"] == [u.id for u in units]
    assert found[0]["locations"] == [f"line {i}" for i in range(1, MIN_UNITS + 1)]
    assert any("Art. 36" in r for r in found[0]["references"])


def test_an_area_spanning_categories_is_aggregated_and_few_or_high_findings_are_not():
    spread = [unit("q1", 1, ("strategic_industry_intel", "low")), unit("q2", 2, ("export_controlled_tech", "medium")),
              unit("q3", 3, ("important_core_data", "medium")), unit("q4", 4, ("cii_security_details", "low"))]
    found = aggregate(FileResult(path="a.txt", format="txt", units=spread))
    assert [f["category"] for f in found] == ["strategic_sector"] and found[0]["severity"] == "high"
    few = spread[: MIN_UNITS - 1]
    assert aggregate(FileResult(path="a.txt", format="txt", units=few)) == []
    high = [unit(f"q{i}", i, ("strategic_industry_intel", "high")) for i in range(1, 6)]
    assert aggregate(FileResult(path="a.txt", format="txt", units=high)) == []


class StubMatcher:
    """Gives every unit one medium finding in the same category, so the file's findings add up."""

    kind = "keywords"
    taxonomy = None

    def __init__(self):
        from ddcheck.taxonomy import load

        self.categories = list(load().categories.values())

    def match_files(self, files):
        for f in files:
            for u in f.units:
                u.findings = [Finding("strategic_industry_intel", "medium", 0.6, Evidence(), ("route_legal",), ())]

    def engine_info(self):
        return {"encoder": "none", "taxonomy": "stub", "matcher": "stub"}


def test_file_findings_reach_the_json_report_and_the_exit_code(tmp_path: Path):
    from ddcheck.report import report_dict
    from ddcheck.scan import scan

    (tmp_path / "q.txt").write_text("\n".join(f"Question number {i}?" for i in range(1, 6)) + "\n", encoding="utf-8")
    result = scan([tmp_path / "q.txt"], matcher=StubMatcher(), use_cache=False)
    report = report_dict(result)
    findings = report["files"][0]["file_findings"]
    assert [f["category"] for f in findings] == ["strategic_industry_intel"] and findings[0]["kind"] == "aggregation"
    assert report["summary"]["findings"] == {"high": 1, "medium": 5, "low": 0}
    assert result.worst_severity() == 3, "an aggregation finding decides the exit code like any other"


@pytest.fixture(scope="module")
def ipo_list(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scope")
    ordinary = [
        "Provide the audited financial statements for the last three years.",
        "Provide the business licence and articles of association of each subsidiary.",
        "List all material contracts with a value above RMB 5 million.",
        "Describe pending litigation and arbitration with claims above RMB 1 million.",
        "Provide the register of shareholders and the history of equity changes.",
        "List the patents, trademarks and software copyrights held by the group.",
        "Provide the loan agreements, guarantees and pledges currently in force.",
        "Describe related-party transactions during the track record period and their pricing.",
        "Provide the minutes of board and shareholder meetings for the last three years.",
        "List the operating permits and licences held, with their validity.",
        "Provide the social insurance and housing fund contribution records in aggregate.",
        "Describe the group's tax filings and any tax audits in the last three years.",
        "Provide the leases of all properties used by the group.",
        "Describe the internal control system over financial reporting.",
        "Provide the insurance policies held by the group and the claims history.",
        "List the top ten customers and suppliers by revenue and purchase amount.",
        "Describe any administrative penalties received in the last three years.",
        "Provide the environmental impact assessment approvals for each plant.",
        "Describe the employee share incentive plan and options granted.",
        "Provide the dividend policy and dividends declared in the last three years.",
        "Describe the anti-bribery and compliance programme.",
        "Provide the organisational chart of the group.",
    ]
    far = "Provide a roster of all employees with their identity card numbers, home addresses and mobile numbers."
    usual = "Please arrange for the reporting accountants' audit working papers for the track record period to be sent to the sponsors' office in Hong Kong."
    (folder / "ipo.txt").write_text("\n".join(ordinary + [far, usual]) + "\n", encoding="utf-8")
    return folder / "ipo.txt"


def test_beyond_scope_marks_questions_an_ordinary_engagement_would_not_ask(ipo_list: Path, tmp_path: Path):
    profile = tmp_path / "p.yaml"
    profile.write_text('activity: transaction_dd\npurpose: "Pre-IPO legal due diligence of the company"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["scan", str(ipo_list), "--json", "-", "--engagement", str(profile), "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    units = {u["text"]: u for u in json.loads(result.stdout)["files"][0]["units"]}
    roster = units["Provide a roster of all employees with their identity card numbers, home addresses and mobile numbers."]
    categories = [f["category"] for f in roster["findings"]]
    assert "sensitive_personal_info" in categories and "beyond_scope" in categories
    beyond = next(f for f in roster["findings"] if f["category"] == "beyond_scope")
    assert "Pre-IPO legal due diligence" in beyond["why"] and beyond["severity"] in ("medium", "high")
    papers = units[next(t for t in units if t.startswith("Please arrange for the reporting accountants"))]
    assert papers["findings"], "moving working papers abroad is flagged"
    assert all(f["category"] != "beyond_scope" for f in papers["findings"]), "but an IPO list ordinarily asks about them"
    without = CliRunner().invoke(app, ["scan", str(ipo_list), "--json", "-", "--fail-on", "never"])
    assert all(f["category"] != "beyond_scope" for u in json.loads(without.stdout)["files"][0]["units"] for f in u["findings"])
