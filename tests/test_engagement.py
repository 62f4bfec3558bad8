"""Engagement rules: the profile (strict loading), the decision table ENG-01..ENG-20 and how items reach the report.

Three layers of tests:
- the table's own annotated examples (``examples:`` beside each rule in rules.yaml), one
  test per rule, naming the case that failed;
- a hand-written case table below: for every rule a profile (and where needed a file with
  findings) that triggers it and one that does not, run through the full assessment
  (engagement-level pass, file pass, de-duplication);
- end to end with ``ddcheck.scan.scan`` and the CLI on fixtures built in code.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from builders import new_doc, save
from typer.testing import CliRunner

from ddcheck.cli import app
from ddcheck.engagement import (ProfileError, RuleError, assess_file, assess_profile, load_profile,
                                load_rules, parse_profile)
from ddcheck.engagement.examples import check_examples, example_file, example_status
from ddcheck.engagement.rules import DATA as RULES_PATH
from ddcheck.engagement.rules import parse_rules
from ddcheck.model import Evidence, Finding
from ddcheck.scan import scan

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ROOT / "examples" / "profiles"
RULE_IDS = [f"ENG-{n:02d}" for n in range(1, 21)]


def write_profile(tmp_path: Path, data, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def items_for(profile: dict | None, file: dict | None = None) -> list[dict]:
    """All engagement items (engagement level + file level) for a profile mapping and a file spec."""
    prof = parse_profile(profile, "case.yaml") if profile is not None else None
    top = assess_profile(prof)
    if file is None:
        return top
    return top + assess_file(example_file(file), prof, engagement_items=top)


def status_of(rule: str, items: list[dict]) -> str:
    found = [i["status"] for i in items if i["rule"] == rule]
    assert len(set(found)) <= 1, (rule, found)
    return found[0] if found else "absent"


# ============================================================================ the table itself

def test_table_has_exactly_eng_01_to_20():
    assert [r.id for r in load_rules().rules] == RULE_IDS


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_examples(rule_id: str):
    rule = load_rules().rule(rule_id)
    for i, example in enumerate(rule.examples):
        got = example_status(rule, example)
        assert got == example["expect"], f"{rule_id} example {i + 1}: expected {example['expect']}, got {got}: {example}"


def test_example_checker_reports_a_wrong_expectation():
    data = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    broken = copy.deepcopy(data)
    broken["rules"][2]["examples"][0]["expect"] = "absent"          # ENG-03 fires here
    failures = check_examples(parse_rules(broken))
    assert len(failures) == 1 and failures[0].startswith("ENG-03 example 1: expected absent, got applies")
    assert check_examples() == []


def test_every_rule_carries_references_with_certainty_and_bilingual_text():
    for rule in load_rules().rules:
        assert rule.references and rule.title_zh and rule.message_zh and rule.action_zh
        for ref in rule.references:
            label = ref.label()
            assert label.endswith(("[V]", "[S]", "[U]", "[U: article number unverified]")), label
            if ref.certainty == "U":
                assert "unverified" in ref.cite.lower() or "not confirmed" in ref.cite.lower(), ref.cite


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d["rules"][0].__setitem__("when", {"fact": "no_such_fact", "is": True}), "unknown fact 'no_such_fact'"),
    (lambda d: d["rules"][0].__setitem__("when", {"fact": "overseas_party", "is": "maybe"}), "not allowed for fact"),
    (lambda d: d["rules"][0].__setitem__("decided_by", ["overseas_party"]), "decided_by"),
    (lambda d: d["rules"][0]["message"].__setitem__("en", "Hello {client}"), "unknown placeholder"),
    (lambda d: d["rules"][0].__setitem__("severity", "critical"), "'severity' must be one of"),
    (lambda d: d["rules"][0]["references"][0].__setitem__("certainty", "X"), "certainty must be V, S or U"),
    (lambda d: d["rules"][0].__setitem__("colour", "red"), "unknown key(s) ['colour']"),
    (lambda d: d["rules"][0].__setitem__("when", {"findings": ["not_a_category"]}), "category ids"),
    (lambda d: d["rules"][0].__setitem__("examples", [{"expect": "applies", "file": {}}]), "stays absent"),
])
def test_broken_table_is_rejected_naming_rule_and_key(mutate, needle):
    data = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    mutate(data)
    with pytest.raises(RuleError) as info:
        parse_rules(data)
    assert needle in str(info.value) and ("ENG-01" in str(info.value) or "fact" in str(info.value))


# ============================================================================ every rule: fires / does not

OVERSEAS_MARKET = {"activity": "market_survey", "requester": {"overseas": True}, "scope": "multi_province"}
DOMESTIC = {"requester": {"overseas": False}, "recipient_overseas": False, "funder_or_partner_overseas": False}
NATIONAL_LICENCE = {"licence": "国统涉外证字第0001号", "licence_scope": "national", "overseas": False}

CASES = [
    # rule, profile, file, expected status
    ("ENG-01", OVERSEAS_MARKET, None, "applies"),
    ("ENG-01", {**DOMESTIC, "activity": "market_survey"}, None, "compliant"),
    ("ENG-01", {"activity": "transaction_dd", "requester": {"overseas": True}}, {"kind": "due_diligence"}, "absent"),
    ("ENG-02", {**OVERSEAS_MARKET, "conductor": NATIONAL_LICENCE}, None, "compliant"),
    ("ENG-02", {**OVERSEAS_MARKET, "conductor": {"licence": "none"}}, None, "absent"),
    ("ENG-03", {**OVERSEAS_MARKET, "conductor": {"licence": "none"}}, None, "applies"),
    ("ENG-03", {**OVERSEAS_MARKET, "conductor": {"licence": "X", "licence_scope": "provincial"}}, None, "applies"),
    ("ENG-03", {**OVERSEAS_MARKET, "conductor": {"licence": "X", "licence_expired": True, "licence_scope": "national"}}, None, "applies"),
    ("ENG-03", {**OVERSEAS_MARKET, "conductor": NATIONAL_LICENCE}, None, "absent"),
    ("ENG-03", {**DOMESTIC, "activity": "market_survey", "conductor": {"licence": "none"}}, None, "absent"),
    ("ENG-04", {**OVERSEAS_MARKET, "activity": "social_survey", "conductor": NATIONAL_LICENCE,
                "social_survey_approval": "none"}, None, "applies"),
    ("ENG-04", {**OVERSEAS_MARKET, "activity": "social_survey", "conductor": NATIONAL_LICENCE,
                "social_survey_approval": "国统涉外社审字〔2025〕3号"}, None, "compliant"),
    ("ENG-04", {**OVERSEAS_MARKET, "conductor": NATIONAL_LICENCE, "social_survey_approval": "none"}, None, "absent"),
    ("ENG-05", {"activity": "market_survey", "conductor": {"overseas": True}}, None, "applies"),
    ("ENG-05", {"activity": "market_survey", "conductor": {"overseas": False}}, None, "absent"),
    ("ENG-06", {"activity": "social_survey", "conductor": {"foreign_invested": True}}, None, "applies"),
    ("ENG-06", {"activity": "social_survey", "conductor": {"foreign_invested": False}}, None, "absent"),
    ("ENG-07", OVERSEAS_MARKET, {"kind": "market_survey", "findings": ["military_sites_geospatial"]}, "applies"),
    ("ENG-07", OVERSEAS_MARKET, {"kind": "market_survey", "findings": ["strategic_industry_intel"]}, "absent"),
    ("ENG-07", {**DOMESTIC, "activity": "market_survey"}, {"kind": "market_survey", "findings": ["social_political_sensitive"]}, "absent"),
    ("ENG-08", {"activity": "transaction_dd"}, {"kind": "due_diligence"}, "applies"),
    ("ENG-08", None, {"kind": "market_survey"}, "absent"),
    ("ENG-08", {"activity": "expert_interviews"}, {"kind": "due_diligence"}, "absent"),
    ("ENG-09", {"activity": "background_check", "recipient_overseas": True}, None, "applies"),
    ("ENG-09", {**DOMESTIC, "activity": "background_check"}, None, "absent"),
    ("ENG-10", {"activity": "expert_interviews", "respondents": ["officials"]}, None, "applies"),
    ("ENG-10", {"activity": "expert_interviews", "respondents": ["experts", "former_staff"]}, {"kind": "market_survey"}, "absent"),
    ("ENG-11", {"recipient_overseas": True}, {"kind": "due_diligence", "findings": ["human_genetic_health"]}, "applies"),
    ("ENG-11", {"recipient_overseas": True}, {"kind": "due_diligence", "findings": ["export_controlled_tech"]}, "absent"),
    ("ENG-12", {"data_room": "offshore"}, {"kind": "due_diligence", "findings": ["important_core_data"]}, "applies"),
    ("ENG-12", {"recipient_overseas": False}, {"kind": "due_diligence", "findings": ["important_core_data"]}, "absent"),
    ("ENG-13", {"listing": "overseas_indirect"}, {"kind": "due_diligence", "findings": ["government_work_secrets"]}, "applies"),
    ("ENG-13", {"listing": "none"}, {"kind": "due_diligence", "findings": ["government_work_secrets"]}, "absent"),
    ("ENG-14", {"listing": "overseas_direct"}, {"kind": "due_diligence", "findings": ["strategic_industry_intel"]}, "applies"),
    ("ENG-14", {"listing": "overseas_direct"}, {"kind": "due_diligence", "findings": ["sensitive_personal_info"]}, "absent"),
    ("ENG-15", {"listing": "overseas_direct"}, {"kind": "due_diligence", "findings": ["listing_archives_workpapers"]}, "applies"),
    ("ENG-15", {"listing": "none"}, {"kind": "due_diligence", "findings": ["listing_archives_workpapers"]}, "absent"),
    ("ENG-16", None, {"kind": "due_diligence", "findings": [
        {"category": "foreign_authority_evidence", "text": "The PCAOB asks for the audit working papers."}]}, "applies"),
    ("ENG-16", None, {"kind": "due_diligence", "findings": [
        {"category": "foreign_authority_evidence", "text": "Provide documents for the DOJ subpoena."}]}, "absent"),
    ("ENG-17", None, {"kind": "due_diligence", "findings": [
        {"category": "foreign_authority_evidence", "text": "Provide documents for the DOJ subpoena."}]}, "applies"),
    ("ENG-17", None, {"kind": "due_diligence", "findings": [
        {"category": "foreign_authority_evidence", "text": "Will you let the SEC regulator's inspectors visit?"}]}, "absent"),
    ("ENG-18", {"end_use": "sanctions_compliance"}, {"kind": "supply_chain", "findings": ["sanctions_xinjiang_blocking"]}, "applies"),
    ("ENG-18", {"end_use": "transaction"}, {"kind": "supply_chain", "findings": ["sanctions_xinjiang_blocking"]}, "absent"),
    ("ENG-19", {"red_flags": ["staff_without_management"]}, None, "applies"),
    ("ENG-19", None, {"kind": "market_survey", "text": ["我们希望在管理层不在场的情况下访谈员工"]}, "applies"),
    ("ENG-19", {"client_disclosed": True}, {"kind": "market_survey", "text": ["Client: Example Fund"]}, "absent"),
    ("ENG-20", None, {"kind": "social_survey"}, "applies"),
    ("ENG-20", {**DOMESTIC, "activity": "social_survey"}, None, "absent"),
]


def test_case_table_covers_every_rule_both_ways():
    fires = {r for r, _, _, s in CASES if s != "absent"}
    quiet = {r for r, _, _, s in CASES if s == "absent"}
    assert fires == set(RULE_IDS) and quiet == set(RULE_IDS)


@pytest.mark.parametrize("rule,profile,file,expected", CASES,
                         ids=[f"{c[0]}-{c[3]}-{i}" for i, c in enumerate(CASES)])
def test_rule_case(rule, profile, file, expected):
    assert status_of(rule, items_for(profile, file)) == expected


# ============================================================================ what an item says

def test_item_has_the_contract_and_explanation_fields():
    (item,) = [i for i in items_for({**OVERSEAS_MARKET, "conductor": {"name": "Acme Research", "licence": "none"}})
               if i["rule"] == "ENG-03"]
    assert set(item) >= {"rule", "severity", "certainty", "status", "message", "action", "references", "facts", "missing"}
    assert item["severity"] == "high" and item["certainty"] == "definite" and item["status"] == "applies"
    assert "Acme Research" in item["message"] and "无资质" in item["message_zh"]
    assert item["facts"]["licensed_for_scope"] is False and item["facts"]["foreign_related"] is True
    assert any("Art. 52" in r for r in item["references"])
    assert any(r.endswith("[U]") and "article number unverified" in r for r in item["references"])
    assert item["missing"] == []


def test_undetermined_names_the_fact_that_would_decide_it():
    items = items_for(None, {"kind": "market_survey"})
    (eng03,) = [i for i in items if i["rule"] == "ENG-03"]
    assert eng03["status"] == "undetermined"
    facts = [m["fact"] for m in eng03["missing"]]
    assert "has_licence" in facts and "overseas_party" in facts
    assert "whether the conductor holds a foreign-related investigation licence" in eng03["message"]
    (licence,) = [m for m in eng03["missing"] if m["fact"] == "has_licence"]
    assert licence["profile_keys"] == ["conductor.licence"]


def test_not_stated_is_not_the_same_as_no():
    stated_no = items_for({**OVERSEAS_MARKET, "conductor": {"name": "Acme", "licence": "none"}})
    not_stated = items_for({**OVERSEAS_MARKET, "conductor": {"name": "Acme"}})
    null_value = items_for({**OVERSEAS_MARKET, "conductor": {"name": "Acme", "licence": None}})
    written_unknown = items_for({**OVERSEAS_MARKET, "conductor": {"name": "Acme", "licence": "unknown"}})
    assert status_of("ENG-03", stated_no) == "applies"
    assert status_of("ENG-03", not_stated) == "undetermined"
    assert null_value == not_stated == written_unknown
    assert status_of("ENG-01", items_for({"activity": "market_survey", "requester": {"overseas": False}})) == "undetermined"
    assert status_of("ENG-01", items_for({**DOMESTIC, "activity": "market_survey"})) == "compliant"


def test_compliant_items_are_reported_at_severity_info():
    (item,) = [i for i in items_for({**OVERSEAS_MARKET, "conductor": NATIONAL_LICENCE}) if i["rule"] == "ENG-02"]
    assert item["status"] == "compliant" and item["severity"] == "info" and item["rule_severity"] == "low"


def test_variants_raise_severity_and_change_certainty():
    (eng03,) = [i for i in items_for({**OVERSEAS_MARKET, "conductor": {"licence": "苏统涉外证字第1号", "licence_scope": "provincial"}})
                if i["rule"] == "ENG-03"]
    assert eng03["certainty"] == "arguable" and "provincial" in eng03["message"]
    (eng08,) = [i for i in items_for({"activity": "transaction_dd", "requester": {"overseas": True}}) if i["rule"] == "ENG-08"]
    assert eng08["severity"] == "medium"
    (eng08,) = [i for i in items_for({"activity": "transaction_dd", "requester": {"overseas": False}}) if i["rule"] == "ENG-08"]
    assert eng08["severity"] == "low"


def test_items_are_sorted_by_severity_then_rule():
    items = items_for({"activity": "expert_interviews", "requester": {"overseas": True}, "conductor": {"overseas": True, "licence": "none"},
                       "respondents": ["defence_staff"], "client_disclosed": False})
    keys = [(-{"info": 0, "low": 1, "medium": 2, "high": 3}[i["severity"]], i["rule"]) for i in items]
    assert keys == sorted(keys)
    assert [i["rule"] for i in items][:3] == ["ENG-03", "ENG-05", "ENG-09"] and items[-1]["rule"] == "ENG-01"


def test_profile_only_items_are_top_level_and_not_repeated_per_file():
    profile = parse_profile({**OVERSEAS_MARKET, "conductor": {"licence": "none", "overseas": False},
                             "respondents": ["consumers"]}, "p.yaml")
    top = assess_profile(profile)
    assert {"ENG-01", "ENG-03", "ENG-20"} <= {i["rule"] for i in top}
    per_file = assess_file(example_file({"kind": "market_survey", "findings": ["social_political_sensitive"]}), profile,
                           engagement_items=top)
    assert {i["rule"] for i in per_file} == {"ENG-07"}            # content rule: needs the file
    assert per_file[0]["units"] and per_file[0]["facts"]["findings"] == ["social_political_sensitive"]


def test_no_profile_dd_list_is_not_buried_in_undetermined_rules():
    items = items_for(None, {"kind": "due_diligence", "findings": ["sensitive_personal_info", "state_secret_classified",
                                                                   "listing_archives_workpapers", "important_core_data"]})
    assert [i["rule"] for i in items] == ["ENG-08"]
    assert items[0]["status"] == "applies" and "No survey licence is generally needed" in items[0]["message"]


def test_no_profile_market_survey_asks_for_the_licensing_facts():
    items = items_for(None, {"kind": "market_survey"})
    assert {(i["rule"], i["status"]) for i in items} == {("ENG-01", "undetermined"), ("ENG-03", "undetermined"),
                                                         ("ENG-20", "applies")}


def test_no_profile_social_survey_also_asks_for_the_approval():
    items = items_for(None, {"kind": "social_survey"})
    (eng04,) = [i for i in items if i["rule"] == "ENG-04"]
    assert eng04["status"] == "undetermined" and "NBS" in eng04["message"]


def test_engagement_without_files_still_reports_profile_items():
    top = assess_profile(parse_profile({"end_use": "foreign_authority", "foreign_authority": "securities_regulator"}, "p"))
    assert [(i["rule"], i["status"]) for i in top] == [("ENG-16", "applies")]


def test_a_survey_file_in_a_dd_engagement_gets_the_survey_rules(tmp_path: Path):
    zh_survey(tmp_path)
    result = scan([tmp_path], profile=parse_profile({"activity": "transaction_dd", "requester": {"overseas": True}}, "p"))
    assert [i["rule"] for i in result.engagement] == ["ENG-08"]          # what the profile says
    f = result.files[0]
    assert "reads as a market_survey" in f.survey_kind["note"]
    assert {(i["rule"], i["status"]) for i in f.engagement} >= {("ENG-01", "applies"), ("ENG-03", "undetermined")}


def test_undisclosed_client_counts_as_overseas():
    items = items_for({"activity": "expert_interviews", "client_disclosed": False})
    assert status_of("ENG-09", items) == "applies" and status_of("ENG-19", items) == "applies"
    (eng09,) = [i for i in items if i["rule"] == "ENG-09"]
    assert any("not disclosed" in b for b in eng09["basis"])


# ============================================================================ profile loading

def test_example_profiles_all_load(tmp_path: Path):
    paths = sorted(PROFILES.glob("*.yaml"))
    assert {p.name for p in paths} >= {"ipo_dd_overseas_fund.yaml", "market_survey_unlicensed_agency.yaml",
                                       "social_survey_no_approval.yaml", "expert_calls_soe_defence_staff.yaml",
                                       "foreign_regulator_request.yaml", "uflpa_tracing.yaml"}
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# "), f"{path.name} needs a header comment saying what it models"
        load_profile(path)


@pytest.mark.parametrize("name,rule,status", [
    ("market_survey_unlicensed_agency.yaml", "ENG-03", "applies"),
    ("social_survey_no_approval.yaml", "ENG-04", "applies"),
    ("expert_calls_soe_defence_staff.yaml", "ENG-10", "applies"),
    ("expert_calls_soe_defence_staff.yaml", "ENG-05", "applies"),
    ("foreign_regulator_request.yaml", "ENG-16", "applies"),
    ("ipo_dd_overseas_fund.yaml", "ENG-08", "applies"),
    ("ipo_dd_overseas_fund.yaml", "ENG-15", "applies"),
    ("uflpa_tracing.yaml", "ENG-08", "applies"),
])
def test_example_profile_outcomes(name, rule, status):
    assert status_of(rule, assess_profile(load_profile(PROFILES / name))) == status


def test_full_profile_round_trip(tmp_path: Path):
    profile = load_profile(PROFILES / "social_survey_no_approval.yaml")
    assert profile.requester.overseas is True and profile.conductor.has_licence is True
    assert profile.conductor.licence == "国统涉外证字第0123号" and profile.has_social_survey_approval is False
    assert profile.respondents == ("residents",) and profile.scope == "multi_province"
    assert profile.to_json()["conductor.licence_scope"] == "national"


@pytest.mark.parametrize("text,needles", [
    ("activity: market_survey\nclient: Acme\n", ["unknown key 'client'", "p.yaml", "allowed at the top level"]),
    ("conductor: {name: X, licence_no: 123}\n", ["unknown key 'conductor.licence_no'", "did you mean 'licence'", "p.yaml"]),
    ("requester: {overseas: true, country: US}\n", ["unknown key 'requester.country'", "allowed under 'requester'"]),
    ("activity: survey\n", ["'activity'", "'survey' is not allowed", "market_survey", "social_survey"]),
    ("scope: national\n", ["'scope'", "'national'", "single_province, multi_province"]),
    ("requester: {overseas: maybe}\n", ["'requester.overseas'", "must be true or false", "'maybe'"]),
    ("recipient_overseas: 1\n", ["'recipient_overseas'", "must be true or false", "the number 1"]),
    ("conductor: {licence: [1, 2]}\n", ["'conductor.licence'", "document number", "'none' if there is none"]),
    ("respondents: officials\n", ["'respondents' must be a list", "allowed items"]),
    ("respondents: [officials, aliens]\n", ["'respondents'", "'aliens' is not allowed"]),
    ("requester: Example Capital\n", ["'requester' must be a mapping", "'Example Capital'"]),
    ("purpose: [a, b]\n", ["'purpose' must be text", "a list"]),
    ("- activity: market_survey\n", ["must be a mapping", "a list", "p.yaml"]),
    ("activity: [market_survey\n", ["not valid YAML", "line", "p.yaml"]),
    ("activity: market_survey\nactivity: social_survey\n", ["duplicate key 'activity'"]),
    ("", ["the profile is empty"]),
    ("   \n# only a comment\n", ["the profile is empty"]),
])
def test_profile_errors_name_file_key_value_and_allowed(tmp_path: Path, text, needles):
    path = write_profile(tmp_path, text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    for needle in needles:
        assert needle in str(info.value), (needle, str(info.value))


def test_unreadable_profiles(tmp_path: Path):
    with pytest.raises(ProfileError, match="no such engagement profile"):
        load_profile(tmp_path / "missing.yaml")
    with pytest.raises(ProfileError, match="is a folder"):
        load_profile(tmp_path)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00activity")
    with pytest.raises(ProfileError, match="not a UTF-8 text file"):
        load_profile(binary)


def test_unknown_is_accepted_and_means_not_stated(tmp_path: Path):
    profile = load_profile(write_profile(tmp_path, "requester: {overseas: unknown}\nactivity: unknown\nlisting: none\n"))
    assert profile.requester.overseas is None and profile.activity is None and profile.listing == "none"
    assert profile.stated == frozenset({"listing"})


# ============================================================================ end to end

class StubMatcher:
    """Tags units by keyword, so a test controls exactly which findings a file has."""

    def __init__(self, rules: dict[str, tuple[str, str]]):
        self.rules = rules

    def match_files(self, files) -> None:
        for f in files:
            for u in f.units:
                u.findings = [Finding(cat, sev, 0.9, Evidence(terms=(term,)), ("route_legal",), ())
                              for term, (cat, sev) in self.rules.items() if term in u.text]

    def engine_info(self) -> dict[str, str]:
        return {"encoder": "none", "taxonomy": "test", "matcher": "stub"}


def zh_survey(tmp_path: Path) -> Path:
    doc = new_doc()
    doc.add_heading("手机使用习惯消费者调研问卷", 0)
    doc.add_paragraph("您好！我们受一家国际手机品牌委托开展本次调查，约需10分钟。")
    for q, options in (("1. 您目前使用的手机品牌是？【单选】", ("A. 华为", "B. 苹果", "C. 小米", "D. 其他")),
                       ("2. 您购买手机时最看重什么？", ("A. 价格", "B. 拍照", "C. 续航", "D. 品牌")),
                       ("3. 您的宗教信仰是？", ("A. 无", "B. 佛教", "C. 基督教", "D. 其他")),
                       ("4. 您的年龄", ("A. 18-24岁", "B. 25-34岁", "C. 35岁及以上"))):
        doc.add_paragraph(q)
        for o in options:
            doc.add_paragraph(o)
    return save(doc, tmp_path / "手机调研.docx")


def en_dd(tmp_path: Path) -> Path:
    doc = new_doc()
    doc.add_heading("Legal Due Diligence Request List", 0)
    for text in ("Provide the business licence and articles of association of each subsidiary.",
                 "Copies of all board minutes for the reporting period.",
                 "A list of employees with their ID numbers and home addresses.",
                 "Please provide the audit working papers of the PRC auditor for review by our US team."):
        doc.add_paragraph(text, style="List Number")
    return save(doc, tmp_path / "dd_request_list.docx")


STUB = StubMatcher({"宗教": ("social_political_sensitive", "high"), "ID numbers": ("sensitive_personal_info", "high"),
                    "working papers": ("listing_archives_workpapers", "high")})


def test_scan_sets_kind_and_engagement_per_file(tmp_path: Path):
    zh_survey(tmp_path)
    en_dd(tmp_path)
    profile = load_profile(PROFILES / "market_survey_unlicensed_agency.yaml")
    result = scan([tmp_path], matcher=STUB, profile=profile)
    by_name = {Path(f.path).name: f for f in result.files}
    survey, dd = by_name["手机调研.docx"], by_name["dd_request_list.docx"]
    assert survey.survey_kind["kind"] == "market_survey" and dd.survey_kind["kind"] == "due_diligence"
    assert {i["rule"] for i in result.engagement} >= {"ENG-01", "ENG-03", "ENG-20"}
    assert [i["rule"] for i in survey.engagement] == ["ENG-07"]
    assert survey.engagement[0]["units"][0]["categories"] == ["social_political_sensitive"]


def test_scan_without_profile(tmp_path: Path):
    zh_survey(tmp_path)
    en_dd(tmp_path)
    result = scan([tmp_path], matcher=STUB)
    assert result.engagement == []
    by_name = {Path(f.path).name: f for f in result.files}
    assert [(i["rule"], i["status"]) for i in by_name["dd_request_list.docx"].engagement] == [("ENG-08", "applies")]
    survey = {(i["rule"], i["status"]) for i in by_name["手机调研.docx"].engagement}
    assert survey == {("ENG-01", "undetermined"), ("ENG-03", "undetermined"), ("ENG-07", "applies"), ("ENG-20", "applies")}
    (eng01,) = [i for i in by_name["手机调研.docx"].engagement if i["rule"] == "ENG-01"]
    assert eng01["hints"] and "国际" in eng01["hints"][0]["terms"]


def test_ipo_profile_on_a_dd_list(tmp_path: Path):
    en_dd(tmp_path)
    result = scan([tmp_path], matcher=STUB, profile=load_profile(PROFILES / "ipo_dd_overseas_fund.yaml"))
    top = {(i["rule"], i["status"]) for i in result.engagement}
    assert ("ENG-08", "applies") in top and ("ENG-15", "applies") in top
    per_file = {(i["rule"], i["status"], i["severity"]) for i in result.files[0].engagement}
    assert ("ENG-11", "applies", "high") in per_file            # ID numbers go to the overseas fund
    assert ("ENG-15", "applies", "high") in per_file            # the file's own working-paper question, with its unit
    assert not any(r == "ENG-08" for r, _, _ in per_file)       # not repeated per file


def _cli(args):
    return CliRunner().invoke(app, args)


def test_cli_engagement_report(tmp_path: Path):
    path = zh_survey(tmp_path)
    result = _cli(["scan", str(path), "--json", "-", "--matcher", "none", "--engagement",
                   str(PROFILES / "market_survey_unlicensed_agency.yaml")])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    assert {i["rule"] for i in report["engagement"]} >= {"ENG-01", "ENG-03"}
    assert report["files"][0]["survey_kind"]["kind"] == "market_survey"


@pytest.mark.parametrize("text,needle", [
    ("activity: market_survey\nconductor: {name: X, licence_number: 1}\n", "conductor.licence_number"),
    ("colour: blue\n", "'colour'"),
    ("activity: poll\n", "'activity'"),
    ("requester: {overseas: perhaps}\n", "'requester.overseas'"),
    ("[1, 2]\n", "must be a mapping"),
    ("activity: [x\n", "not valid YAML"),
])
def test_cli_bad_profile_exits_2_naming_the_key(tmp_path: Path, text, needle):
    doc = tmp_path / "q.txt"
    doc.write_text("Provide the business licence.\n", encoding="utf-8")
    profile = write_profile(tmp_path, text, "bad.yaml")
    result = _cli(["scan", str(doc), "--json", "-", "--matcher", "none", "--engagement", str(profile)])
    assert result.exit_code == 2
    assert needle in result.stderr and "bad.yaml" in result.stderr
    assert result.stdout == ""


def test_cli_missing_profile_exits_2(tmp_path: Path):
    doc = tmp_path / "q.txt"
    doc.write_text("Provide the business licence.\n", encoding="utf-8")
    result = _cli(["scan", str(doc), "--json", "-", "--matcher", "none", "--engagement", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "nope.yaml" in result.stderr


def test_report_is_deterministic_with_engagement(tmp_path: Path):
    zh_survey(tmp_path)
    en_dd(tmp_path)
    args = ["scan", str(tmp_path), "--json", "-", "--matcher", "none", "--engagement",
            str(PROFILES / "expert_calls_soe_defence_staff.yaml")]
    assert _cli(args).stdout == _cli(args).stdout


SAMPLES = ROOT / "questionnaires"


@pytest.mark.skipif(not (SAMPLES / "expert_call_guide.docx").exists(), reason="sample not present")
def test_sample_expert_call_guide_without_and_with_profile():
    path = SAMPLES / "expert_call_guide.docx"
    bare = scan([path])
    assert bare.engagement == []
    rules = {(i["rule"], i["status"]) for i in bare.files[0].engagement}
    # no profile: the licensing questions are asked, the anonymous client is a red flag in the file itself
    assert {("ENG-01", "undetermined"), ("ENG-03", "undetermined"), ("ENG-09", "undetermined"),
            ("ENG-19", "applies")} <= rules
    (eng19,) = [i for i in bare.files[0].engagement if i["rule"] == "ENG-19"]
    assert "name withheld" in eng19["text_evidence"][0]["text"]
    full = scan([path], profile=load_profile(PROFILES / "expert_calls_soe_defence_staff.yaml"))
    top = {(i["rule"], i["status"]) for i in full.engagement}
    assert {("ENG-03", "applies"), ("ENG-05", "applies"), ("ENG-09", "applies"), ("ENG-10", "applies"),
            ("ENG-19", "applies")} <= top
    assert not any(i["status"] == "undetermined" for i in full.engagement)


@pytest.mark.skipif(not (SAMPLES / "资料清单.xlsx").exists(), reason="sample not present")
def test_sample_chinese_request_list_without_profile_is_quiet():
    result = scan([SAMPLES / "资料清单.xlsx"])
    assert [(i["rule"], i["status"]) for i in result.files[0].engagement] == [("ENG-08", "applies")]
