"""The Excel reader: headers in both languages, merged cells, hidden sheets and rows, notes, title rows."""

from pathlib import Path

from builders import comment, new_workbook, save

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
    assert reasons["填写说明：请在“是否提供”列填写是/否。"] == "title"


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
