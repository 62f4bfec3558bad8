"""The Excel reader: headers in both languages, merged cells, hidden sheets and rows, notes, title rows."""

from pathlib import Path

import pytest
from builders import comment, new_workbook, save, sheet_rows

from ddcheck.readers import read_path


def test_english_sheet_with_title_header_answer_note_and_hidden_row(tmp_path: Path):
    wb = new_workbook()
    ws = wb.active
    ws.title = "Access Control"
    ws["A1"] = "Vendor Security Questionnaire – Access Control"
    ws.merge_cells("A1:D1")
    ws["A2"] = "Answer every question; attach evidence where asked."
    ws.append([])
    ws.append(["ID", "Question", "Response", "Comments"])
    ws.append(["AC-01", "Do you enforce multi-factor authentication for administrators?", "Yes", ""])
    ws.append(["Section B – Remote access"])
    ws.merge_cells("A6:D6")
    ws.append(["AC-02", "Provide the network topology and IP ranges of systems serving government customers.", "", "see note"])
    ws["B7"].comment = comment("Requested by the client's HQ team")
    ws.append(["AC-03", "Password policy", "", ""])
    ws.row_dimensions[8].hidden = True
    units = read_path(save(wb, tmp_path / "vsq.xlsx")).units
    assert [u.text for u in units] == [
        "Do you enforce multi-factor authentication for administrators?",
        "Provide the network topology and IP ranges of systems serving government customers.",
        "Password policy",
    ]
    assert [u.location.label for u in units] == ["'Access Control'!B5", "'Access Control'!B7", "'Access Control'!B8"]
    assert units[0].location.get("sheet") == "Access Control" and units[0].location.get("cell") == "B5"
    assert [u.item_label for u in units] == ["AC-01", "AC-02", "AC-03"]
    assert dict(units[0].context)["answer"] == "Yes"
    assert ("note", "Requested by the client's HQ team") in units[1].context
    assert units[1].section == "Access Control > Section B – Remote access"
    assert units[2].hidden and units[2].location.get("hidden") is True
    assert not units[0].hidden


def test_chinese_header_merged_category_and_hidden_sheet(tmp_path: Path):
    wb = new_workbook()
    ws = wb.active
    ws.title = "资料清单"
    ws["A1"] = "法律尽职调查资料清单"
    ws.merge_cells("A1:E1")
    ws["A2"] = "填写说明：请在“是否提供”列填写是/否。"
    ws.append(["序号", "类别", "资料名称/问题", "是否提供", "备注"])
    ws.append([1, "公司基本情况", "营业执照", "是", ""])
    ws.append([2, None, "公司章程及历次修订", "", ""])
    ws.append([3, "业务", "请列明前五大客户及销售金额。", "", ""])
    ws.merge_cells("B4:B5")
    hidden = wb.create_sheet("内部评分")
    hidden.append(["问题", "得分"])
    hidden.append(["是否存在军方客户？", 5])
    hidden.sheet_state = "hidden"
    extraction = read_path(save(wb, tmp_path / "zh.xlsx"))
    units = extraction.units
    assert [u.text for u in units] == ["营业执照", "公司章程及历次修订", "请列明前五大客户及销售金额。", "是否存在军方客户？"]
    assert [u.location.label for u in units] == ["资料清单!C4", "资料清单!C5", "资料清单!C6", "内部评分!A2"]
    # the merged category cell gives both rows their section, and is not itself a unit
    assert units[0].section == units[1].section == "资料清单 > 公司基本情况"
    assert units[3].hidden and not units[0].hidden
    reasons = {s.text: s.reason for s in extraction.skipped}
    assert reasons["法律尽职调查资料清单"] == "title"
    assert reasons["填写说明：请在“是否提供”列填写是/否。"] == "instruction"


def test_instructions_sheet_and_headerless_question_sheet(tmp_path: Path):
    wb = new_workbook()
    ws = wb.active
    ws.title = "Instructions"
    ws.append(["Please complete the questionnaire and return it within 10 business days."])
    ws.append(["Provide evidence where requested."])
    other = wb.create_sheet("Questions")
    other.append(["Does the company export dual-use items?"])
    other.append(["Describe the encryption used for data at rest."])
    extraction = read_path(save(wb, tmp_path / "i.xlsx"))
    assert [u.text for u in extraction.units] == [
        "Does the company export dual-use items?",
        "Describe the encryption used for data at rest.",
    ]
    assert all(s.reason == "instructions sheet" for s in extraction.skipped if s.location.get("sheet") == "Instructions")


def test_real_world_request_list_with_titles_instructions_and_two_row_header(tmp_path: Path):
    wb = new_workbook()
    ws = wb.active
    ws.title = "Request List"
    sheet_rows(ws, [
        ["Project Falcon"],
        ["Legal Due Diligence – Supplemental Request List"],
        ["Please provide the documents below by 15 April. Where an item is not applicable, mark it N/A in the "
         "Response column."],
        [],
        ["No.", "Category", "Request", "Company Response", None, "Priority"],
        [None, None, None, "Status", "Comments", None],
        ["A. Corporate"],
        [1, "Corporate", "Business licence", "Provided", None, "High"],
        [2, None, "Articles of association", None, "in data room 1.2", "Medium"],
        [],
        ["B. Customers"],
        [3, "Customers", "List all customers that are military units.", None, None, "High"],
    ])
    ws.merge_cells("A3:F3")
    for col in "ABCF":
        ws.merge_cells(f"{col}5:{col}6")
    ws.merge_cells("D5:E5")
    ws.merge_cells("A7:F7")
    ws.merge_cells("B8:B9")
    ws.merge_cells("A11:F11")
    extraction = read_path(save(wb, tmp_path / "rl.xlsx"))
    assert [(u.text, u.location.label, u.item_label, u.section, u.context) for u in extraction.units] == [
        ("Business licence", "'Request List'!C8", "1", "Request List > A. Corporate > Corporate",
         (("answer", "Provided"), ("Priority", "High"))),
        ("Articles of association", "'Request List'!C9", "2", "Request List > A. Corporate > Corporate",
         (("Company Response / Comments", "in data room 1.2"), ("Priority", "Medium"))),
        ("List all customers that are military units.", "'Request List'!C12", "3",
         "Request List > B. Customers > Customers", (("Priority", "High"),)),
    ]
    reasons = {s.location.label: s.reason for s in extraction.skipped}
    assert reasons == {
        "'Request List'!A1": "title", "'Request List'!A2": "title", "'Request List'!A3": "instruction",
        "'Request List'!A5": "table header", "'Request List'!B5": "table header", "'Request List'!C5": "table header",
        "'Request List'!D5": "table header", "'Request List'!F5": "table header", "'Request List'!D6": "table header",
        "'Request List'!E6": "table header", "'Request List'!A7": "heading", "'Request List'!A11": "heading",
    }


@pytest.mark.parametrize("name", ["Question", "Request", "Item", "Description", "问题", "事项", "资料", "内容"])
def test_question_column_found_by_header_name_in_the_third_column(tmp_path: Path, name: str):
    wb = new_workbook()
    ws = wb.active
    ws.title = "Sheet1"
    sheet_rows(ws, [["Due diligence questions"], [], ["Ref", "Date", name, "Response"],
                    ["R-1", "2025-03-01", "Provide the audited accounts.", "Yes"],
                    ["R-2", "2025-03-01", "营业执照", ""]])
    extraction = read_path(save(wb, tmp_path / "h.xlsx"))
    assert [(u.text, u.location.label, u.item_label, u.section) for u in extraction.units] == [
        ("Provide the audited accounts.", "Sheet1!C4", "R-1", "Sheet1"), ("营业执照", "Sheet1!C5", "R-2", "Sheet1")]
    assert extraction.units[0].context == (("Date", "2025-03-01"), ("answer", "Yes"))
    assert {s.location.label for s in extraction.skipped if s.reason == "table header"} == {"Sheet1!A3", "Sheet1!B3", "Sheet1!C3", "Sheet1!D3"}


def test_item_with_description_column_joins_the_description(tmp_path: Path):
    wb = new_workbook()
    sheet_rows(wb.active, [["Item", "Description", "Response"],
                           ["Source code", "Provide the source code of the core platform to our US engineers.", ""]])
    units = read_path(save(wb, tmp_path / "d.xlsx")).units
    assert [u.text for u in units] == ["Source code\nProvide the source code of the core platform to our US engineers."]


def test_sheet_without_header_numbers_blank_rows_and_answer_lists(tmp_path: Path):
    wb = new_workbook()
    ws = wb.active
    ws.title = "Checklist"
    sheet_rows(ws, [["Document checklist for the site visit"], [],
                    [1, "Business licence"], [2, "Articles of association"], [],
                    ["Customers"], [3, "Top ten customers by revenue"], [4, "Are any customers state-owned?"]])
    lists = wb.create_sheet("Lists")
    sheet_rows(lists, [["Yes"], ["No"], ["N/A"], ["Partially"], ["Not applicable"], ["是"], ["否"]])
    lists.sheet_state = "hidden"
    extraction = read_path(save(wb, tmp_path / "nh.xlsx"))
    assert [(u.text, u.location.label, u.item_label, u.section) for u in extraction.units] == [
        ("Business licence", "Checklist!B3", "1", "Checklist"),
        ("Articles of association", "Checklist!B4", "2", "Checklist"),
        ("Top ten customers by revenue", "Checklist!B7", "3", "Checklist > Customers"),
        ("Are any customers state-owned?", "Checklist!B8", "4", "Checklist > Customers"),
    ]
    reasons = {s.location.label: s.reason for s in extraction.skipped}
    assert reasons["Checklist!A1"] == "title" and reasons["Checklist!A6"] == "heading"
    assert {reasons[f"Lists!A{r}"] for r in range(1, 8)} == {"answer option"}


def test_headerless_sheet_of_plain_text_keeps_only_questions(tmp_path: Path):
    wb = new_workbook()
    sheet_rows(wb.active, [["Vendor name:", "Shenzhen Cloudbridge"], ["Date:", "2025-02-20"],
                           ["Do you hold an ISO 27001 certificate?", ""], ["Describe your backup regime.", ""]])
    extraction = read_path(save(wb, tmp_path / "p.xlsx"))
    assert [u.text for u in extraction.units] == ["Do you hold an ISO 27001 certificate?", "Describe your backup regime."]
    assert {"Vendor name:", "Shenzhen Cloudbridge"} <= {s.text for s in extraction.skipped}


@pytest.mark.parametrize("title", ["Cover Sheet", "Introduction", "Glossary", "Version History", "0. Instructions",
                                   "填写说明", "封面", "Instructions & Glossary"])
def test_cover_and_instruction_sheets_hold_no_units(tmp_path: Path, title: str):
    wb = new_workbook()
    cover = wb.active
    cover.title = title
    sheet_rows(cover, [["Vendor name:", "X"], ["1. Complete every question on each tab."],
                       ["2. Please return the questionnaire within 10 days."], ["Response", "Meaning"], ["Yes", "Implemented"]])
    questions = wb.create_sheet("Questions")
    sheet_rows(questions, [["ID", "Question"], ["Q-1", "Is data encrypted at rest?"]])
    extraction = read_path(save(wb, tmp_path / "c.xlsx"))
    assert [u.location.label for u in extraction.units] == ["Questions!B2"]
    assert {s.reason for s in extraction.skipped if s.location.get("sheet") == title} == {"instructions sheet"}


def test_dates_are_context_not_sections(tmp_path: Path):
    import datetime as dt

    wb = new_workbook()
    sheet_rows(wb.active, [["编号", "提出日期", "问题", "回复"], ["Q-1", dt.datetime(2025, 3, 18), "请说明收入增长的原因。", ""]])
    unit = read_path(save(wb, tmp_path / "dt.xlsx")).units[0]
    assert (unit.section, unit.context, unit.item_label) == ("Sheet", (("提出日期", "2025-03-18"),), "Q-1")
