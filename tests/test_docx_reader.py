"""The Word reader finds every question with its exact location, list label and section."""

from pathlib import Path

from builders import (add_chinese_numbering, add_content_control, add_multilevel_numbering, add_text_box,
                      add_tracked_insertion, merge_table_row, new_doc, number_paragraph, save)

from ddcheck.readers import read_path


def units_of(path):
    return read_path(path).units


def by_text(units):
    return {u.text: u for u in units}


def test_list_labels_sections_and_sub_points(tmp_path: Path):
    doc = new_doc()
    doc.add_heading("Legal Due Diligence Request List", 0)
    doc.add_paragraph("Please provide the following documents and information:")
    doc.add_heading("Corporate", 1)
    doc.add_heading("Share capital", 2)
    for text in ["Business licence", "Articles of association", "Provide details of each subsidiary, including:"]:
        doc.add_paragraph(text, style="List Number")
    doc.add_paragraph("(a) name and registered address;")
    doc.add_paragraph("(b) shareholding structure.")
    doc.add_heading("Customers", 1)
    doc.add_paragraph("List the top ten customers by revenue.", style="List Number")
    units = units_of(save(doc, tmp_path / "list.docx"))
    assert [u.text for u in units] == [
        "Business licence",
        "Articles of association",
        "Provide details of each subsidiary, including:\n(a) name and registered address;\n(b) shareholding structure.",
        "List the top ten customers by revenue.",
    ]
    assert [u.item_label for u in units] == ["1.", "2.", "3.", "4."]
    assert [u.location.label for u in units] == ["¶5", "¶6", "¶7", "¶11"]
    assert units[0].section == "Corporate > Share capital"
    assert units[3].section == "Customers"
    skipped = {s.text: s.reason for s in read_path(tmp_path / "list.docx").skipped}
    assert skipped["Legal Due Diligence Request List"] == "title"
    assert skipped["Please provide the following documents and information:"] == "instruction"


def test_multilevel_and_chinese_numbering(tmp_path: Path):
    doc = new_doc()
    legal = add_multilevel_numbering(doc)
    for text, level in [("Corporate matters", 0), ("Provide the business licence.", 1), ("Provide the articles.", 1),
                        ("Provide board minutes for 2024.", 2), ("Litigation", 0), ("List pending lawsuits.", 1)]:
        number_paragraph(doc.add_paragraph(text), legal, level)
    chinese = add_chinese_numbering(doc, "chineseCounting", "%1、")
    for text in ["请提供营业执照。", "请提供公司章程。"]:
        number_paragraph(doc.add_paragraph(text), chinese)
    paren = add_chinese_numbering(doc, "chineseCounting", "（%1）")
    for text in ["是否存在未决诉讼？", "是否存在行政处罚？", "是否存在对外担保？"]:
        number_paragraph(doc.add_paragraph(text), paren)
    labels = {u.text: u.item_label for u in units_of(save(doc, tmp_path / "n.docx"))}
    assert labels["Provide the business licence."] == "1.1"
    assert labels["Provide the articles."] == "1.2"
    assert labels["Provide board minutes for 2024."] == "1.2.1"
    assert labels["List pending lawsuits."] == "2.1"
    assert labels["请提供营业执照。"] == "一、"
    assert labels["请提供公司章程。"] == "二、"
    assert labels["是否存在对外担保？"] == "（三）"


def test_content_control_tracked_insertion_and_text_box(tmp_path: Path):
    doc = new_doc()
    add_content_control(doc, "Does the Company hold any classified contracts?")
    add_tracked_insertion(doc, "Please list ", "all customers that are military units.", deleted="only your top customers.")
    add_text_box(doc, "Who is your data protection officer?")
    units = units_of(save(doc, tmp_path / "hidden.docx"))
    found = by_text(units)
    assert "Does the Company hold any classified contracts?" in found
    assert found["Does the Company hold any classified contracts?"].location.get("content_control") is True
    assert "Please list all customers that are military units." in found
    assert found["Please list all customers that are military units."].location.get("tracked_insertion") is True
    # the text box appears once, although its VML fallback repeats it
    boxes = [u for u in units if u.text == "Who is your data protection officer?"]
    assert len(boxes) == 1 and boxes[0].location.label == "text box 1 ¶1"
    assert not any("only your top customers" in u.text for u in units)


def test_tables_merged_cells_once_and_nested(tmp_path: Path):
    doc = new_doc()
    doc.add_paragraph("Intro paragraph of the request list.")
    table = doc.add_table(rows=5, cols=4)
    for cell, head in zip(table.rows[0].cells, ["No.", "Request", "Response", "Remarks"]):
        cell.text = head
    merge_table_row(table, 1)
    table.rows[1].cells[0].text = "B. Customers"
    rows = [("1", "Top 10 customers and revenue share", "See annex 3", ""),
            ("2", "Is any customer a state organ?", "", "urgent"),
            ("3", "Provide the customer contracts.", "", "")]
    for r, values in enumerate(rows, start=2):
        for c, value in enumerate(values):
            table.rows[r].cells[c].text = value
    # a vertically merged "Remarks" cell must be reported once, not once per row
    table.cell(3, 3).merge(table.cell(4, 3))
    inner = table.rows[4].cells[2].add_table(rows=1, cols=2)
    inner.rows[0].cells[0].text = "Provide the IP ranges of the hosting network?"
    units = units_of(save(doc, tmp_path / "t.docx"))
    found = by_text(units)
    top = found["Top 10 customers and revenue share"]
    assert top.location.label == "table 1 r3c2"
    assert (top.location.get("table"), top.location.get("row"), top.location.get("col")) == (1, 3, 2)
    assert top.item_label == "1"
    assert dict(top.context)["answer"] == "See annex 3"
    assert top.section == "B. Customers"
    assert found["Is any customer a state organ?"].location.label == "table 1 r4c2"
    nested = found["Provide the IP ranges of the hosting network?"]
    assert nested.location.label == "table 1 r5c3 > table 1 r1c1"
    assert len([u for u in units if u.text == "Is any customer a state organ?"]) == 1
    extraction = read_path(tmp_path / "t.docx")
    remarks = [s for s in extraction.skipped if s.text.startswith("urgent")]
    assert len(remarks) == 1


def test_survey_question_without_question_mark_takes_its_options(tmp_path: Path):
    doc = new_doc()
    doc.add_paragraph("Q3. 您的年龄")
    doc.add_paragraph("A. 18岁以下")
    doc.add_paragraph("B. 18-30岁")
    doc.add_paragraph("Q4. 您多久购买一次运动鞋？")
    doc.add_paragraph("A. 每月")
    doc.add_paragraph("B. 每季度")
    units = units_of(save(doc, tmp_path / "survey.docx"))
    assert [u.text for u in units] == ["Q3. 您的年龄\nA. 18岁以下\nB. 18-30岁", "Q4. 您多久购买一次运动鞋？\nA. 每月\nB. 每季度"]
    assert units[1].item_label == "Q4."


def test_headers_only_when_they_hold_questions(tmp_path: Path):
    doc = new_doc()
    doc.sections[0].header.paragraphs[0].text = "Strictly confidential – Project Falcon"
    doc.sections[0].footer.paragraphs[0].text = "Have you answered every question on this page?"
    doc.add_paragraph("Provide the organisation chart.")
    units = units_of(save(doc, tmp_path / "hf.docx"))
    texts = [u.text for u in units]
    assert "Strictly confidential – Project Falcon" not in texts
    assert "Have you answered every question on this page?" in texts
