"""Generate a folder of realistic questionnaires for the benchmark: .docx, .xlsx and .txt, English and Chinese.

Each questionnaire is mostly ordinary due-diligence and vendor questions with
a few (about 8 %) that reach into sensitive scope, some compound items ("Please
provide: (a) ...; (b) ...; (c) ...") that the matcher scores clause by clause, and
a share of standard questions that recur across questionnaires, as they do in a
real data room. Texts come from templates with many fillers, so 20,000
questions are almost all distinct (the benchmark prints how many are). Seeded:
the same arguments give the same files.

    python benchmarks/corpus.py OUTDIR --files 40 --questions 2000
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

ENTITIES_EN = ["the Company", "the Group", "each PRC subsidiary", "the VIE entities", "the WFOE", "the Hong Kong holding company",
               "each operating subsidiary", "the joint venture", "the Target", "each branch office", "the Issuer",
               "the Shenzhen subsidiary", "the Shanghai R&D centre", "the Company's parent"]
PERIODS_EN = ["for the last three financial years", "since 1 January 2021", "for FY2022 to FY2024", "during the Track Record Period",
              "for the past five years", "as at the latest practicable date", "since incorporation", "for 2023 and 2024",
              "for the six months ended 30 June 2025", "over the last 24 months"]
DOCS_EN = ["the business licence", "the articles of association", "audited financial statements", "management accounts",
           "the shareholder register", "board minutes", "the organisational chart", "all material loan agreements",
           "guarantee and security documents", "the land use right certificates", "building ownership certificates",
           "lease agreements for all premises", "environmental impact assessment approvals", "the fire safety acceptance",
           "tax registration certificates", "tax clearance certificates", "social insurance payment records",
           "housing fund payment records", "the employee handbook", "standard form customer contracts",
           "the top ten supplier contracts", "the top ten customer contracts", "insurance policies", "the IT asset register",
           "the trademark registrations", "patent certificates", "software copyright registrations", "the internal audit reports",
           "the anti-bribery policy", "the related-party transaction register", "the ESOP documents",
           "capital verification reports", "foreign exchange registration forms", "ODI filings", "the data protection policy",
           "the business continuity plan", "the incident response plan", "the vendor management policy"]
PROCESSES_EN = ["the revenue recognition policy", "the procurement process", "the sales process", "the credit control process",
                "the inventory management process", "the product quality control system", "the complaints handling procedure",
                "the hiring and onboarding process", "the access control process", "the backup and recovery process",
                "the change management process", "the export sales process", "the R&D project approval process",
                "the dividend policy", "the cash management process", "the treasury policy"]
DETAILS_EN = ["responsible persons and approval limits", "key controls and how they are tested", "any exceptions in the period",
              "the systems used", "the frequency of review", "any changes planned", "the number of staff involved",
              "how exceptions are escalated", "the relevant written policies", "any third parties involved"]
THINGS_EN = ["material contracts", "loan agreements", "guarantees", "framework agreements", "licence agreements",
             "distribution agreements", "outsourcing agreements", "joint venture agreements", "equity transfer agreements",
             "settlement agreements", "non-compete undertakings", "government grant agreements"]
FIELDS_EN = ["counterparty, amount and term", "the signing date and expiry date", "the governing law", "any change-of-control clause",
             "the outstanding balance", "the security provided", "any exclusivity terms", "termination rights"]
EVENTS_EN = ["litigation or arbitration", "administrative penalties", "tax investigations", "environmental incidents",
             "work safety accidents", "data breaches", "customs penalties", "product recalls", "labour disputes",
             "anti-monopoly investigations", "regulatory inspections", "material customer complaints"]
SENSITIVE_EN = [
    "List the military customers of {e} and the revenue from each {p}.",
    "Provide copies of any contracts between {e} and PLA units or defence research institutes {p}.",
    "Provide the names, ID numbers and home addresses of all employees of {e}.",
    "Provide the network topology, firewall rules and security configuration of the systems of {e}.",
    "Does {e} source any cotton or components from Xinjiang? Provide supplier names and locations {p}.",
    "Provide the audit working papers of the reporting accountants for {e} {p}.",
    "Provide copies of any documents of {e} marked secret or confidential by a government authority.",
    "Provide raw customer personal data held by {e}, including mobile numbers and purchase histories.",
    "Provide the coordinates and site plans of facilities of {e} located near military zones.",
    "Provide details of communications between {e} and government officials about policy decisions not yet published.",
    "Provide the technical parameters of any export-controlled technology developed by {e}.",
    "Will {e} produce documents to a foreign court or regulator in connection with {p} investigations?",
]
ZH_ENTITIES = ["公司", "发行人", "各境内子公司", "VIE架构下各主体", "外商独资企业", "香港控股公司", "各经营主体", "合资公司", "标的公司",
               "各分公司", "深圳子公司", "上海研发中心", "控股股东"]
ZH_PERIODS = ["报告期内", "最近三年", "自2021年1月1日起", "2022年至2024年", "最近五年", "截至本清单出具之日", "自设立以来",
              "2023年度及2024年度", "截至2025年6月30日止六个月", "最近24个月"]
ZH_DOCS = ["营业执照", "公司章程", "经审计的财务报表", "管理层报表", "股东名册", "董事会决议", "组织架构图", "重大借款合同", "担保合同",
           "土地使用权证", "房屋所有权证", "租赁合同", "环评批复", "消防验收文件", "纳税申报表", "完税证明", "社保缴纳记录",
           "公积金缴纳记录", "员工手册", "标准客户合同", "前十大供应商合同", "前十大客户合同", "保险单", "商标注册证", "专利证书",
           "软件著作权登记证书", "内部审计报告", "反商业贿赂制度", "关联交易台账", "员工持股计划文件", "验资报告", "外汇登记文件"]
ZH_PROCESSES = ["收入确认政策", "采购流程", "销售流程", "信用管理制度", "存货管理制度", "质量控制体系", "投诉处理流程", "招聘流程",
                "权限管理流程", "数据备份与恢复流程", "变更管理流程", "出口销售流程", "研发立项流程", "分红政策", "资金管理制度"]
ZH_DETAILS = ["负责人员及审批权限", "关键控制点", "报告期内的例外情况", "使用的信息系统", "复核频率", "计划中的调整", "涉及人数",
              "相关书面制度"]
ZH_THINGS = ["重大合同", "借款合同", "担保合同", "框架协议", "许可协议", "经销协议", "外包协议", "合资协议", "股权转让协议", "和解协议",
             "竞业限制协议", "政府补助协议"]
ZH_FIELDS = ["合同相对方、金额及期限", "签署日期及到期日", "适用法律", "控制权变更条款", "未偿还余额", "担保方式", "排他性条款"]
ZH_EVENTS = ["诉讼或仲裁", "行政处罚", "税务稽查", "环境污染事件", "安全生产事故", "数据泄露事件", "海关处罚", "产品召回",
             "劳动争议", "反垄断调查", "监管检查"]
SENSITIVE_ZH = [
    "请列明{e}{p}属于部队或军工集团的客户及对应收入。",
    "请提供{e}与军队单位或国防科研院所签订的全部合同。",
    "请提供{e}全体员工的姓名、身份证号码及家庭住址。",
    "请提供{e}信息系统的网络拓扑图、防火墙策略及安全配置。",
    "{e}是否从新疆采购棉花或零部件？请提供供应商名称及所在地。",
    "请提供会计师事务所为{e}{p}审计形成的工作底稿。",
    "请提供{e}持有的被政府机关标注为秘密或内部的文件。",
    "请提供{e}掌握的客户个人信息原始数据，包括手机号码及消费记录。",
    "请提供{e}位于军事管理区附近的厂区坐标及平面图。",
    "请说明{e}与政府官员就尚未公布的政策进行沟通的具体内容。",
    "请提供{e}研发的出口管制技术的技术参数。",
]
STANDARD = ["Please provide the business licence of the Company.", "Please provide the articles of association.",
            "Please provide the latest organisational chart.", "Has the Company been involved in any litigation in the past three years?",
            "Please describe the shareholding structure of the Group.", "Please provide a list of all directors and senior management.",
            "Do you have an information security policy approved by management?", "Is multi-factor authentication enforced for remote access?",
            "请提供公司最新的营业执照。", "请提供公司章程及历次修订。", "请提供公司组织架构图。", "公司报告期内是否存在重大诉讼？",
            "请说明公司的股权结构。", "请提供董事、监事及高级管理人员名单。"]


def _template_pattern(template: str) -> re.Pattern:
    return re.compile(re.escape(template).replace(re.escape("{e}"), ".*").replace(re.escape("{p}"), ".*"))


SENSITIVE_PATTERNS = [_template_pattern(t) for t in SENSITIVE_EN + SENSITIVE_ZH]


def is_sensitive(text: str) -> bool:
    """Whether a generated question came from a sensitive template (an item number in front is ignored)."""
    text = re.sub(r"^\d+\.\s*", "", text)
    return any(p.fullmatch(text) for p in SENSITIVE_PATTERNS)


def _en(rng: random.Random, sensitive: bool) -> str:
    e, p = rng.choice(ENTITIES_EN), rng.choice(PERIODS_EN)
    if sensitive:
        return rng.choice(SENSITIVE_EN).format(e=e, p=p)
    kind = rng.randrange(6)
    if kind == 0:
        return f"Please provide {rng.choice(DOCS_EN)} of {e} {p}."
    if kind == 1:
        return f"Describe {rng.choice(PROCESSES_EN)} of {e}, including {rng.choice(DETAILS_EN)}."
    if kind == 2:
        return f"List all {rng.choice(THINGS_EN)} entered into by {e} {p}, stating {rng.choice(FIELDS_EN)}."
    if kind == 3:
        return f"Has {e} been subject to any {rng.choice(EVENTS_EN)} {p}? If so, please provide details."
    if kind == 4:
        docs = rng.sample(DOCS_EN, 3)
        return f"Please provide the following for {e}: (a) {docs[0]}; (b) {docs[1]}; and (c) {docs[2]}."
    return f"Please confirm whether {e} has obtained {rng.choice(DOCS_EN)} and explain any gaps {p}."


def _zh(rng: random.Random, sensitive: bool) -> str:
    e, p = rng.choice(ZH_ENTITIES), rng.choice(ZH_PERIODS)
    if sensitive:
        return rng.choice(SENSITIVE_ZH).format(e=e, p=p)
    kind = rng.randrange(6)
    if kind == 0:
        return f"请提供{e}{p}的{rng.choice(ZH_DOCS)}。"
    if kind == 1:
        return f"请说明{e}的{rng.choice(ZH_PROCESSES)}，包括{rng.choice(ZH_DETAILS)}。"
    if kind == 2:
        return f"请列明{e}{p}签署的全部{rng.choice(ZH_THINGS)}，并注明{rng.choice(ZH_FIELDS)}。"
    if kind == 3:
        return f"{e}{p}是否发生过{rng.choice(ZH_EVENTS)}？如有，请提供详情。"
    if kind == 4:
        docs = rng.sample(ZH_DOCS, 3)
        return f"请一并提供{e}的以下资料：{docs[0]}、{docs[1]}、{docs[2]}。"
    return f"请确认{e}是否已取得{rng.choice(ZH_DOCS)}，如未取得请说明原因。"


def questions(rng: random.Random, count: int, lang: str, sensitive_share: float = 0.08, standard_share: float = 0.1) -> list[str]:
    """``count`` questions in ``lang`` (en/zh): mostly ordinary, some sensitive, some standard ones that recur across files."""
    out = []
    for _ in range(count):
        r = rng.random()
        if r < standard_share:
            pool = [s for s in STANDARD if (s[0] < "\u3000") == (lang == "en")]
            out.append(rng.choice(pool))
        else:
            out.append((_en if lang == "en" else _zh)(rng, r < standard_share + sensitive_share))
    return list(dict.fromkeys(out)) if len(set(out)) < len(out) else out


def write_docx(path: Path, title: str, items: list[str], lang: str) -> None:
    from docx import Document

    doc = Document()
    doc.add_heading(title, 0)
    doc.add_paragraph("Instructions: please respond to each request in the Response column." if lang == "en"
                      else "填写说明：请在“提供情况”栏中逐项填写。")
    half = len(items) // 2
    doc.add_heading("1. Corporate and legal" if lang == "en" else "一、公司基本情况", 1)
    for i, text in enumerate(items[:half], 1):
        doc.add_paragraph(f"{i}. {text}")
    doc.add_heading("2. Business and operations" if lang == "en" else "二、业务与经营", 1)
    table = doc.add_table(rows=1, cols=3)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text, table.rows[0].cells[2].text = (
        ("No.", "Request", "Response") if lang == "en" else ("序号", "资料名称", "提供情况"))
    for i, text in enumerate(items[half:], half + 1):
        cells = table.add_row().cells
        cells[0].text, cells[1].text = str(i), text
    doc.save(str(path))


def write_xlsx(path: Path, title: str, items: list[str], lang: str) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Questions" if lang == "en" else "问题清单"
    ws.append([title])
    ws.append(["No.", "Question", "Answer", "Comments"] if lang == "en" else ["序号", "问题", "回复", "备注"])
    for i, text in enumerate(items, 1):
        ws.append([i, text, None, None])
    wb.save(str(path))


def write_txt(path: Path, title: str, items: list[str], lang: str) -> None:
    half = len(items) // 2
    lines = [f"# {title}", "", "# Part A" if lang == "en" else "# 第一部分", *items[:half], "",
             "# Part B" if lang == "en" else "# 第二部分", *items[half:]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


WRITERS = {"docx": write_docx, "xlsx": write_xlsx, "txt": write_txt}


def generate(out: Path, files: int, total_questions: int, seed: int = 7, formats=("docx", "xlsx", "txt"),
             weights=(0.45, 0.4, 0.15)) -> list[Path]:
    """Write ``files`` questionnaires holding about ``total_questions`` questions in all; half English, half Chinese."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    per_file = max(1, total_questions // max(files, 1))
    paths = []
    for n in range(files):
        lang = "en" if n % 2 == 0 else "zh"
        fmt = rng.choices(formats, weights)[0]
        count = per_file + (1 if n < total_questions - per_file * files else 0)
        items = questions(rng, count, lang)
        folder = out / f"batch{n // 100:02d}"
        folder.mkdir(exist_ok=True)
        path = folder / f"questionnaire_{n:04d}_{lang}.{fmt}"
        WRITERS[fmt](path, f"Due diligence request list {n}" if lang == "en" else f"尽职调查清单 {n}", items, lang)
        paths.append(path)
    return paths


def single(out: Path, count: int = 300, seed: int = 11) -> Path:
    """One bilingual .docx questionnaire of ``count`` questions (the "one questionnaire, cold" figure)."""
    rng = random.Random(seed)
    items = []
    while len(items) < count:
        items = list(dict.fromkeys(items + questions(rng, 1, "en" if len(items) % 2 == 0 else "zh")))
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"questionnaire_{count}.docx"
    write_docx(path, "Due diligence request list", items[:count], "en")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--questions", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    paths = generate(args.out, args.files, args.questions, args.seed)
    print(f"wrote {len(paths)} questionnaires to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
