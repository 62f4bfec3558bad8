"""The sample questionnaires: rebuilt from examples/make_questionnaires.py, every question found once, in place.

Each sample is built into a temporary folder and scanned with the library (no
matcher); the tests pin the unit counts and concrete units (location, list item,
section, hidden mark, context), check that nothing skipped is a question, and that
the committed copies in questionnaires/ read exactly like freshly built ones.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from ddcheck.scan import scan
from ddcheck.segment import QUESTION_MARK

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "questionnaires"

# file -> (units, skipped)
COUNTS = {
    "ipo_legal_dd_request_list.docx": (101, 59),
    "尽职调查清单.docx": (88, 36),
    "vendor_security_questionnaire.xlsx": (125, 106),
    "资料清单.xlsx": (91, 22),
    "消费者调研问卷.docx": (42, 17),
    "expert_call_guide.docx": (15, 23),
}
SKIP_REASONS = {"title", "heading", "instruction", "prose", "table header", "instructions sheet", "answer option",
                "header", "footer"}


def _generator():
    spec = importlib.util.spec_from_file_location("make_questionnaires", ROOT / "examples" / "make_questionnaires.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("samples")
    paths = _generator().build_all(out)
    assert sorted(p.name for p in paths) == sorted(COUNTS)
    result = scan([out])
    assert not result.failed and not result.passed_over
    return {Path(f.path).name: f for f in result.files}


def unit(files, name: str, needle: str):
    """The one unit of ``name`` whose text contains ``needle``."""
    found = [u.raw for u in files[name].units if needle in u.text]
    assert len(found) == 1, (needle, [u.text for u in found])
    return found[0]


def test_unit_and_skipped_counts(built):
    assert {name: (len(f.units), len(f.skipped)) for name, f in built.items()} == COUNTS
    assert all(f.format == ("xlsx" if name.endswith(".xlsx") else "docx") for name, f in built.items())


def test_each_question_is_one_unit(built):
    for name, f in built.items():
        keys = [(u.raw.location.label, u.text) for u in f.units]
        assert len(keys) == len(set(keys)), name
        labels = [u.raw.location.label for u in f.units]
        assert len(labels) == len(set(labels)), f"{name}: two units at one location"


def test_nothing_skipped_is_a_question(built):
    for name, f in built.items():
        for s in f.skipped:
            assert s.reason in SKIP_REASONS, (name, s)
            assert not QUESTION_MARK.search(s.text), (name, s)
        unit_texts = {u.text for u in f.units}
        assert not any(s.text in unit_texts for s in f.skipped if s.reason != "table header"), name


def test_ipo_request_list(built):
    name = "ipo_legal_dd_request_list.docx"
    pla = unit(built, name, "People's Liberation Army")
    assert (pla.location.label, pla.location.get("paragraph"), pla.item_label) == ("¶48", 48, "4.3")
    assert pla.section == "4. Business Operations > Customers"
    compound = unit(built, name, "For each PRC member of the Group, copies of:")
    assert compound.item_label == "1.2" and compound.location.label == "¶15"
    assert compound.text.split("\n")[1:3] == [
        "(a) the current business licence;",
        "(b) the articles of association currently in force, and all amendments since incorporation; and",
    ]
    assert compound.text.count("\n") == 3
    control = unit(built, name, "for the period ended 31 March 2025")
    assert (control.item_label, control.location.get("content_control")) == ("6.5", True)
    tracked = unit(built, name, "related party of the Group")
    assert tracked.location.get("tracked_insertion") is True
    assert tracked.text.endswith("close relative of a director.") and "last two years" not in tracked.text
    table = unit(built, name, "internal notices, meeting minutes")
    assert (table.location.label, table.item_label, table.section) == ("table 1 r7c2", "5.6", "5. Material Contracts")
    assert (table.location.get("table"), table.location.get("row"), table.location.get("col")) == (1, 7, 2)
    answered = unit(built, name, "in force during the Track Record Period")
    assert answered.context == (("answer", "Data room folder 5.1"),)
    follow_up = unit(built, name, "decrease in gross margin")
    assert (follow_up.location.label, follow_up.item_label) == ("table 2 r4c2", "A2")
    assert follow_up.section == "Annex A – Follow-up Requests > A. Follow-up from the management presentation on 12 February 2025"
    assert follow_up.context == (("Remarks", "CFO to respond"),)
    texts = [u.text for u in built[name].units]
    assert not any(t.startswith(("1. This request list", "Please provide the documents listed")) for t in texts)
    assert not any("@" in t for t in texts), "the contact table holds no questions"
    reasons = {s.text: s.reason for s in built[name].skipped}
    assert reasons["Project Lotus"] == "title"
    assert reasons["3. Where a request is not applicable, please say so rather than leaving it blank."] == "instruction"
    assert reasons["Notes"] == "heading"
    assert reasons["A. Follow-up from the management presentation on 12 February 2025"] == "heading"


def test_chinese_dd_list(built):
    name = "尽职调查清单.docx"
    pi = unit(built, name, "身份证复印件")
    assert (pi.location.label, pi.item_label, pi.section) == ("¶26", "10.", "一、公司基本情况 > （二）股权结构与控股股东")
    military = unit(built, name, "部队、武警")
    assert (military.location.label, military.item_label, military.section) == ("table 1 r4c2", "3", "三、主要客户与供应商")
    typed = unit(built, name, "审计工作底稿")
    assert (typed.item_label, typed.section) == ("5.", "六、财务与税务")
    compound = unit(built, name, "社会保险及住房公积金缴纳情况说明")
    assert compound.text.split("\n")[1:] == ["（1）涉及人数及金额；", "（2）是否收到主管部门的责令补缴通知。"]
    restart = [u.raw.item_label for u in built[name].units if u.raw.section == "二、业务与资质"]
    assert restart == [f"{n}." for n in range(1, 9)], "Word numbering restarts in each chapter"
    noted = unit(built, name, "与前十大客户签订的框架协议")
    assert noted.context == (("answer", "部分提供"), ("备注", "其余合同待补充"))
    reasons = {s.text: s.reason for s in built[name].skipped}
    assert reasons["（一）设立及历史沿革"] == "heading"
    assert reasons["3、如某项资料不适用，请在相应位置注明“不适用”。"] == "instruction"
    assert reasons["请按下表提供资料，并在“提供情况”栏注明已提供、部分提供或不适用。"] == "instruction"


def test_vendor_security_questionnaire(built):
    name = "vendor_security_questionnaire.xlsx"
    units = built[name].units
    pi = unit(built, name, "national ID numbers")
    assert (pi.location.label, pi.location.get("sheet"), pi.location.get("cell")) == ("'Access Control'!B10", "Access Control", "B10")
    assert (pi.item_label, pi.section) == ("IAM-1.5", "Access Control > IAM-1 Identity management")
    assert pi.context == (("note", "Requested by Group Security; required before go-live."),)
    hidden_row = unit(built, name, "service account passwords")
    assert hidden_row.hidden and hidden_row.location.get("hidden") is True
    assert hidden_row.location.label == "'Access Control'!B22"
    assert sum(u.raw.hidden for u in units) == 3 + 6
    supplemental = [u.raw for u in units if u.raw.container == "Supplemental"]
    assert len(supplemental) == 6 and all(u.hidden for u in supplemental)
    assert supplemental[0].location.label == "Supplemental!B3"
    answered = unit(built, name, "documented information security policy approved")
    assert answered.context == (("answer", "Yes"), ("Comments", "Approved by the board in January 2025."))
    third_col = unit(built, name, "Xinjiang Uyghur Autonomous Region")
    assert (third_col.location.label, third_col.section) == ("'Third Parties'!C10", "Third Parties > TPR-1 Subcontractors > Location")
    assert not any(u.raw.container in ("Cover Sheet", "Lists") for u in units)
    per_sheet = {}
    for u in units:
        per_sheet[u.raw.container] = per_sheet.get(u.raw.container, 0) + 1
    assert per_sheet == {"Governance": 19, "Access Control": 19, "Data Protection": 18, "Network Security": 18,
                         "Application Security": 18, "Operations & BCM": 15, "Third Parties": 12, "Supplemental": 6}
    reasons = {(s.location.label, s.reason) for s in built[name].skipped}
    assert ("Governance!B4", "table header") in reasons
    assert ("Governance!A2", "instruction") in reasons
    assert ("Governance!A5", "heading") in reasons
    assert ("Lists!A1", "answer option") in reasons


def test_chinese_request_workbook(built):
    name = "资料清单.xlsx"
    military = unit(built, name, "军方客户")
    assert military.text == "军方客户\n请列明属于部队、军工科研院所或军工集团下属单位的客户及对应收入"
    assert (military.location.label, military.item_label, military.section) == ("资料清单!B34", "4", "资料清单 > 三、业务与客户")
    noted = unit(built, name, "税务资料")
    assert noted.context == (("note", "投资人要求以电子版提供"),)
    follow = unit(built, name, "地方政府领导会谈")
    assert (follow.location.label, follow.item_label, follow.section) == ("补充问题!C7", "Q-04", "补充问题")
    assert follow.context == (("提出日期", "2025-03-20"),)
    assert len([u for u in built[name].units if u.raw.container == "补充问题"]) == 6
    reasons = {s.location.label: s.reason for s in built[name].skipped}
    assert reasons["资料清单!A1"] == "title" and reasons["资料清单!A2"] == "instruction"
    assert reasons["资料清单!C3"] == "table header" and reasons["资料清单!A30"] == "heading"


def test_consumer_survey(built):
    name = "消费者调研问卷.docx"
    age = unit(built, name, "您的年龄")
    assert (age.item_label, age.location.label) == ("S2.", "¶11")
    assert age.text.split("\n") == ["S2. 您的年龄", "A. 18岁以下", "B. 18-24岁", "C. 25-34岁", "D. 35-44岁", "E. 45岁及以上"]
    ethnicity = unit(built, name, "您的民族")
    assert (ethnicity.item_label, ethnicity.section) == ("D6.", "第四部分 个人背景资料")
    likert = unit(built, name, "外国品牌比国产品牌更值得信赖")
    assert (likert.location.label, likert.context) == ("table 1 r6c1", ())
    assert unit(built, name, "请您对以下说法的同意程度进行评价").item_label == "Q9."
    ranking = unit(built, name, "按对您的重要性排序")
    assert ranking.text.count("\n___ ") == 5
    assert not any(u.text.startswith(("A. ", "□")) for u in built[name].units), "options stay with their question"
    labels = [u.raw.item_label for u in built[name].units if u.raw.item_label]
    assert labels[:4] == ["S1.", "S2.", "S3.", "S4."] and labels[-1] == "D12."


def test_expert_call_guide(built):
    name = "expert_call_guide.docx"
    classified = unit(built, name, "classified programmes")
    assert (classified.item_label, classified.section) == ("8.", "Competitive landscape / 竞争格局")
    assert classified.text.split("\n")[1] == "哪些企业向军工厂供应机器人？您能否介绍它们与解放军合作的涉密项目？"
    probes = unit(built, name, "procurement tenders")
    assert probes.item_label == "9." and probes.text.count("\n• ") == 2
    assert [u.raw.item_label for u in built[name].units] == [f"{n}." for n in range(1, 16)]
    compliance = [s for s in built[name].skipped if s.text.startswith(("Please do not disclose", "请勿透露"))]
    assert [(s.location.label, s.reason) for s in compliance] == [("¶7", "instruction"), ("¶8", "instruction")]


def _snapshot(file_result):
    return [(u.text, u.raw.location.to_json(), u.raw.item_label, u.raw.section, u.raw.hidden, u.raw.context)
            for u in file_result.units]


def test_committed_samples_match_the_generator(built):
    committed = {Path(f.path).name: f for f in scan([COMMITTED]).files}
    assert sorted(committed) == sorted(COUNTS), "questionnaires/ holds exactly the generated samples"
    for name, fresh in built.items():
        assert _snapshot(committed[name]) == _snapshot(fresh), f"{name} is stale: run examples/make_questionnaires.py"


def test_generator_is_deterministic(tmp_path: Path):
    generator = _generator()
    first = generator.build_ipo_request_list(tmp_path / "a.docx").read_bytes()
    second = generator.build_ipo_request_list(tmp_path / "b.docx").read_bytes()
    assert first == second
    first = generator.build_vendor_security_questionnaire(tmp_path / "a.xlsx").read_bytes()
    second = generator.build_vendor_security_questionnaire(tmp_path / "b.xlsx").read_bytes()
    assert first == second
