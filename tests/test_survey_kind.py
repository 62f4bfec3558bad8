"""Survey kind without any profile: fixtures built in code, in English and Chinese, and the sample questionnaires.

Each fixture is written like a real questionnaire of its kind (title, instructions,
headings, items) and scanned with the library and no matcher; the test asserts the
kind, so a cue list that drifts towards one kind makes the others fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import new_doc, new_workbook, save, sheet_rows

from ddcheck.model import Evidence, Finding, Location, RawUnit
from ddcheck.scan import FileResult, scan, to_units
from ddcheck.survey_kind import KINDS, classify, classify_units, load_cues

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "questionnaires"


def kind_of(path: Path) -> dict:
    result = scan([path])
    assert not result.failed, result.files[0].error
    return result.files[0].survey_kind


# ---------------------------------------------------------------------------------------- fixtures

def en_dd_request_list(tmp: Path) -> Path:
    doc = new_doc()
    doc.add_heading("Project Heron - Supplemental Due Diligence Request List", 0)
    doc.add_paragraph("Prepared by counsel to the Purchaser. Please upload responses to the data room "
                      "using the numbering below.")
    doc.add_heading("A. Corporate", 1)
    for text in ("Provide the business licence and articles of association of the Target and each subsidiary.",
                 "A list of all equity transfers since incorporation, with the transfer agreements.",
                 "Copies of the minutes of all board and shareholders' meetings held since 1 January 2022.",
                 "Please confirm whether any share of the Target is pledged or frozen."):
        doc.add_paragraph(text, style="List Number")
    doc.add_heading("B. Finance and tax", 1)
    for text in ("Audited financial statements for FY2022-FY2024 and the latest management accounts.",
                 "Details of all bank loans, guarantees and other financing arrangements.",
                 "Tax returns and tax clearance certificates for the last three years."):
        doc.add_paragraph(text, style="List Number")
    doc.add_heading("C. Litigation", 1)
    table = doc.add_table(rows=1, cols=3)
    for cell, text in zip(table.rows[0].cells, ("No.", "Request", "Response")):
        cell.text = text
    for no, text in (("C.1", "Details of any pending or threatened litigation or arbitration involving the Target."),
                     ("C.2", "Copies of any administrative penalty decisions received during the reporting period.")):
        row = table.add_row().cells
        row[0].text, row[1].text = no, text
    return save(doc, tmp / "heron_request_list.docx")


def zh_data_request_xlsx(tmp: Path) -> Path:
    wb = new_workbook()
    ws = wb.active
    ws.title = "财务尽调"
    sheet_rows(ws, [
        ("鼎盛科技股份有限公司 财务尽职调查资料需求清单", None, None, None),
        ("说明：请于每项资料后注明提供情况，资料请按编号上传至数据室。", None, None, None),
        ("编号", "资料名称", "提供情况", "备注"),
        ("1.1", "报告期各期经审计的财务报表及审计报告", "已提供", None),
        ("1.2", "报告期各期末科目余额表及往来款明细", "部分提供", "2022年待补充"),
        ("1.3", "银行账户清单及各期末银行对账单", None, None),
        ("1.4", "请提供主要借款合同、担保合同复印件", None, None),
        ("1.5", "关联方清单及报告期关联交易明细", "已提供", None),
        ("1.6", "纳税申报表及税收优惠批复文件", None, None),
        ("1.7", "请说明收入确认政策及报告期内的变化", None, None),
        ("1.8", "固定资产及在建工程明细、权属证明", None, None),
        ("1.9", "员工花名册、社保及公积金缴纳情况说明", None, None),
    ])
    return save(wb, tmp / "财务资料需求.xlsx")


def en_vendor_security_xlsx(tmp: Path) -> Path:
    wb = new_workbook()
    ws = wb.active
    ws.title = "Controls"
    sheet_rows(ws, [
        ("Supplier Information Security Assessment", None, None, None),
        ("Answer Yes, No or N/A for each control and reference your evidence.", None, None, None),
        ("Ref", "Control question", "Response", "Evidence"),
        ("IS-01", "Is there an information security policy approved by management and reviewed annually?", "Yes", "Policy v4"),
        ("IS-02", "Do you hold a current ISO 27001 certificate or SOC 2 Type II report?", "Yes", "ISO cert"),
        ("IS-03", "Is multi-factor authentication required for remote and privileged access?", "Yes", None),
        ("IS-04", "Are user access rights reviewed at least every quarter?", "No", "Twice a year"),
        ("IS-05", "Is customer data encrypted at rest and in transit (TLS 1.2+)?", "Yes", None),
        ("IS-06", "Are vulnerability scans run monthly and critical patches applied within 14 days?", "Yes", None),
        ("IS-07", "Is there a tested incident response plan with 24-hour customer notification?", "Yes", None),
        ("IS-08", "Are backups taken daily, encrypted and restore-tested?", "Yes", None),
        ("IS-09", "Are security logs centralised and retained for at least 12 months?", "N/A", None),
    ])
    return save(wb, tmp / "supplier_assessment.xlsx")


def zh_consumer_survey_docx(tmp: Path) -> Path:
    doc = new_doc()
    doc.add_heading("即饮咖啡消费者调查问卷", 0)
    doc.add_paragraph("您好！我们正在开展一项关于即饮咖啡消费习惯的调查，大约需要10分钟，您的回答仅用于统计分析。")
    doc.add_heading("一、购买习惯", 1)
    for q, options in (
        ("1. 您平时多久购买一次即饮咖啡？【单选】", ("A. 每天", "B. 每周2-3次", "C. 每周1次", "D. 更少")),
        ("2. 您通常在哪里购买即饮咖啡？【可多选】", ("A. 便利店", "B. 超市", "C. 电商平台", "D. 自动售货机")),
        ("3. 您购买时最看重哪个因素？", ("A. 口味", "B. 价格", "C. 品牌", "D. 包装", "E. 促销活动")),
        ("4. 您能接受的单瓶价格是多少？", ("A. 5元以下", "B. 5-8元", "C. 8-12元", "D. 12元以上")),
    ):
        doc.add_paragraph(q)
        for o in options:
            doc.add_paragraph(o)
    doc.add_heading("二、品牌评价", 1)
    doc.add_paragraph("5. 请您对以下说法的同意程度进行评价：")
    table = doc.add_table(rows=1, cols=6)
    for cell, text in zip(table.rows[0].cells, ("说法", "非常不同意", "不太同意", "一般", "比较同意", "非常同意")):
        cell.text = text
    for statement in ("该品牌的咖啡口味好", "该品牌的价格合理", "我会向朋友推荐该品牌"):
        table.add_row().cells[0].text = statement
    doc.add_paragraph("6. 总体而言，您对该品牌的满意程度如何？")
    for o in ("A. 非常满意", "B. 比较满意", "C. 一般", "D. 不太满意"):
        doc.add_paragraph(o)
    doc.add_heading("三、基本信息", 1)
    for q, options in (("7. 您的性别", ("A. 男", "B. 女")),
                       ("8. 您的年龄", ("A. 18-24岁", "B. 25-34岁", "C. 35-44岁", "D. 45岁及以上")),
                       ("9. 您的个人月收入", ("A. 5000元以下", "B. 5000-9999元", "C. 10000元及以上"))):
        doc.add_paragraph(q)
        for o in options:
            doc.add_paragraph(o)
    return save(doc, tmp / "问卷_咖啡.docx")


def zh_social_survey_docx(tmp: Path) -> Path:
    doc = new_doc()
    doc.add_heading("城市居民生活状况与公共服务评价调查", 0)
    doc.add_paragraph("尊敬的居民朋友：本调查旨在了解您对所在城市公共服务和社会治理的看法，答案无对错之分。")
    doc.add_heading("第一部分 生活状况", 1)
    for q, options in (
        ("1. 与五年前相比，您家的生活水平有何变化？", ("A. 明显提高", "B. 有所提高", "C. 没有变化", "D. 有所下降")),
        ("2. 您家庭的月收入大约是多少？", ("A. 5000元以下", "B. 5000-10000元", "C. 10000元以上")),
        ("3. 您对所在社区的治安状况是否满意？", ("A. 非常满意", "B. 比较满意", "C. 不太满意", "D. 很不满意")),
    ):
        doc.add_paragraph(q)
        for o in options:
            doc.add_paragraph(o)
    doc.add_heading("第二部分 对政府工作的评价", 1)
    for q, options in (
        ("4. 您对当地政府近年来的工作总体满意吗？", ("A. 非常满意", "B. 比较满意", "C. 一般", "D. 不满意")),
        ("5. 您认为当地干部处理群众诉求是否公平？", ("A. 很公平", "B. 比较公平", "C. 不太公平", "D. 很不公平")),
        ("6. 您是否信任当地政府发布的信息？", ("A. 完全信任", "B. 比较信任", "C. 不太信任", "D. 不信任")),
        ("7. 您最担心的社会问题是什么？【最多选三项】", ("□ 就业", "□ 看病", "□ 养老", "□ 住房", "□ 子女教育")),
    ):
        doc.add_paragraph(q)
        for o in options:
            doc.add_paragraph(o)
    doc.add_paragraph("8. 您对改善本地公共服务有什么建议？")
    doc.add_heading("第三部分 个人信息", 1)
    for q, options in (("9. 您的年龄", ("A. 30岁以下", "B. 30-49岁", "C. 50岁及以上")),
                       ("10. 您的户口类型", ("A. 本地城镇", "B. 本地农村", "C. 外地"))):
        doc.add_paragraph(q)
        for o in options:
            doc.add_paragraph(o)
    return save(doc, tmp / "居民调查.docx")


def en_supply_chain_xlsx(tmp: Path) -> Path:
    wb = new_workbook()
    ws = wb.active
    ws.title = "Traceability"
    sheet_rows(ws, [
        ("Supplier Self-Assessment: Raw Material Traceability", None, None),
        ("Complete one row per question. Attach supporting documents where requested.", None, None),
        ("No.", "Question", "Supplier answer"),
        ("1", "List every factory and production site used for our orders, with full addresses.", None),
        ("2", "Identify your tier-2 suppliers of yarn and fabric and the country of origin of the cotton.", None),
        ("3", "Provide purchase orders and certificates of origin for raw materials shipped in the last 12 months.", None),
        ("4", "Do any of your sub-suppliers source polysilicon or cotton from high-risk regions?", "No"),
        ("5", "Describe how you trace each batch of finished goods back to its raw materials.", None),
        ("6", "Do workers at your factories pay recruitment fees or work overtime beyond legal limits?", "No"),
        ("7", "Has your factory been audited against our supplier code of conduct in the last year?", "Yes"),
        ("8", "Provide smelter names for any tin, tantalum, tungsten or gold in the components you supply.", None),
    ])
    return save(wb, tmp / "supplier_traceability.xlsx")


def zh_supply_chain_docx(tmp: Path) -> Path:
    doc = new_doc()
    doc.add_heading("供应商社会责任自评问卷", 0)
    doc.add_paragraph("请贵司如实填写，并于两周内交回采购部。")
    for text in ("1. 请列出为我司订单供货的全部工厂名称及地址。",
                 "2. 请说明主要原材料（棉花、纱线、面料）的产地及上游供应商。",
                 "3. 贵司是否对二级供应商开展社会责任审核？",
                 "4. 工厂员工每周工时及加班情况如何？是否存在童工或强迫劳动？",
                 "5. 请提供近一年原材料采购订单及出货批次记录，以便追溯。",
                 "6. 贵司是否签署并执行我司供应商行为准则？"):
        doc.add_paragraph(text)
    return save(doc, tmp / "供应商自评.docx")


def en_social_survey_txt(tmp: Path) -> Path:
    path = tmp / "community_attitudes.txt"
    path.write_text(
        "# Community Attitudes Survey\n"
        "How satisfied are you with public services (schools, hospitals, transport) in your neighbourhood? (1-5)\n"
        "How far do you agree: local government officials listen to residents like me. Strongly agree ... strongly disagree\n"
        "Do you trust your neighbours? Yes / No / Not sure\n"
        "How often do you worry about your family's standard of living?\n"
        "What is your household income band?\n"
        "What is your hukou type (local urban, local rural, non-local)?\n",
        encoding="utf-8")
    return path


def en_market_survey_md(tmp: Path) -> Path:
    path = tmp / "ev_buyer_study.md"
    path.write_text(
        "# Electric Vehicle Buyer Study\n"
        "Which brands did you consider before you bought your current car?\n"
        "How likely are you to recommend your car's brand to a friend? (0-10)\n"
        "What price range would you consider for your next vehicle?\n"
        "Where did you buy your car: a brand store, a dealer or online?\n"
        "Which features mattered most in your purchase: range, charging speed, price or design?\n"
        "What is your age group?\n",
        encoding="utf-8")
    return path


def agenda_other_txt(tmp: Path) -> Path:
    path = tmp / "notes.txt"
    path.write_text("Lunch at 12:30.\nRoom 4B is booked.\nBring the projector cable.\n", encoding="utf-8")
    return path


FIXTURES = [
    (en_dd_request_list, "due_diligence"),
    (zh_data_request_xlsx, "due_diligence"),
    (en_vendor_security_xlsx, "vendor_security"),
    (zh_consumer_survey_docx, "market_survey"),
    (zh_social_survey_docx, "social_survey"),
    (en_supply_chain_xlsx, "supply_chain"),
    (zh_supply_chain_docx, "supply_chain"),
    (en_social_survey_txt, "social_survey"),
    (en_market_survey_md, "market_survey"),
]


@pytest.mark.parametrize("build,expected", FIXTURES, ids=[b.__name__ for b, _ in FIXTURES])
def test_fixture_kind(tmp_path: Path, build, expected):
    kind = kind_of(build(tmp_path))
    assert kind["kind"] == expected, (kind["kind"], kind["scores"], [e["why"] for e in kind["evidence"][:6]])
    assert 0.3 <= kind["score"] <= 1.0
    # the explanation matches the result: the winning kind's score is the sum of its evidence
    total = sum(e["delta"] for e in kind["evidence"] if expected in e["kinds"])
    assert abs(total - kind["scores"][expected]) < 0.02


def test_scores_are_the_contract_shape_and_deterministic(tmp_path: Path):
    path = zh_social_survey_docx(tmp_path)
    first, second = kind_of(path), kind_of(path)
    assert first == second
    assert set(first) >= {"kind", "score", "evidence"}
    assert first["kind"] in KINDS and isinstance(first["score"], float)
    assert all(set(e) >= {"cue", "kinds", "delta", "why"} for e in first["evidence"])


def test_too_little_evidence_is_other(tmp_path: Path):
    kind = kind_of(agenda_other_txt(tmp_path))
    assert kind["kind"] == "other"


def test_failed_file_has_no_survey_kind(tmp_path: Path):
    bad = tmp_path / "broken.docx"
    bad.write_bytes(b"this is not a zip file")
    result = scan([bad])
    assert result.files[0].failed and result.files[0].survey_kind is None


def test_every_readable_file_gets_a_kind(tmp_path: Path):
    en_dd_request_list(tmp_path)
    zh_consumer_survey_docx(tmp_path)
    agenda_other_txt(tmp_path)
    result = scan([tmp_path])
    assert [f.survey_kind["kind"] for f in result.files] == ["due_diligence", "other", "market_survey"]


def test_expert_call_guide_is_a_market_survey_with_subkind():
    kind = classify_units(
        ["How large is the market for industrial robots in China, and who are the main competitors?",
         "What price points do customers accept, and how do they run procurement tenders?",
         "Which suppliers do you see gaining market share?"],
        titles=["Background", "Compliance reminder"], headlines=["Expert Call Guide", "Interviewer: research associate"])
    assert kind["kind"] == "market_survey" and kind["subkind"] == "expert_interview"


def _result_with_findings(texts: list[str], category: str | None) -> FileResult:
    raws = [RawUnit(text=t, location=Location(f"line {i + 1}", (("line", i + 1),))) for i, t in enumerate(texts)]
    result = FileResult(path="x.txt", format="txt", units=to_units(raws))
    if category:
        for unit in result.units:
            unit.findings = [Finding(category, "medium", 0.9, Evidence(), ("engagement_review",), ())]
    return result


def test_social_survey_findings_are_evidence_for_social_survey():
    texts = ["Q1. How do you see your chances in life? A. good B. fair C. poor",
             "Q2. How would you describe your situation? A. better B. same C. worse",
             "Q3. What do you think of the future? A. hopeful B. unsure C. worried"]
    without = classify(_result_with_findings(texts, None))
    with_findings = classify(_result_with_findings(texts, "social_survey_content"))
    assert with_findings["kind"] == "social_survey"
    assert with_findings["scores"]["social_survey"] > without["scores"]["social_survey"]
    assert any(e["cue"] == "social_survey_findings" for e in with_findings["evidence"])


def test_cue_file_loads_and_covers_every_kind():
    cues = load_cues()
    covered = {k for c in cues.cues for k in c.kinds}
    assert covered == set(KINDS) - {"other"}


# ---------------------------------------------------------------------------------------- samples

SAMPLE_KINDS = {
    "ipo_legal_dd_request_list.docx": "due_diligence",
    "尽职调查清单.docx": "due_diligence",
    "vendor_security_questionnaire.xlsx": "vendor_security",
    "资料清单.xlsx": "due_diligence",
    "消费者调研问卷.docx": "market_survey",
    "expert_call_guide.docx": "market_survey",
}


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="questionnaires/ not present")
@pytest.mark.parametrize("name,expected", sorted(SAMPLE_KINDS.items()))
def test_sample_questionnaire_kind(name: str, expected: str):
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"{name} not present")
    kind = kind_of(path)
    assert kind["kind"] == expected, (kind["scores"], [e["why"] for e in kind["evidence"][:6]])
    if name == "expert_call_guide.docx":
        assert kind.get("subkind") == "expert_interview"


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="questionnaires/ not present")
def test_every_sample_has_an_expected_kind():
    present = {p.name for p in SAMPLES.iterdir() if p.suffix in {".docx", ".xlsx", ".txt", ".md", ".csv"}}
    assert present <= set(SAMPLE_KINDS), f"add the survey kind of new samples: {sorted(present - set(SAMPLE_KINDS))}"
