"""The Word reader finds every question with its exact location, list label and section."""

from pathlib import Path

from builders import (add_chinese_numbering, add_content_control, add_multilevel_numbering, add_text_box, bold_paragraph,
                      add_tracked_insertion, merge_table_row, new_doc, number_paragraph, save, unnumbered_heading)

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
    # the merged remark travels as context of both rows it spans, and is never a unit
    assert ("Remarks", "urgent") in found["Is any customer a state organ?"].context
    assert ("Remarks", "urgent") in found["Provide the customer contracts."].context
    assert not any(u.text.startswith("urgent") for u in units)


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


def test_notes_section_is_instructions_until_the_next_heading(tmp_path: Path):
    doc = new_doc()
    unnumbered_heading(doc, "Notes", 1)
    doc.add_paragraph("1. This list is preliminary; we may add requests later.")
    doc.add_paragraph("2. Where a request is not applicable, please say so.")
    doc.add_heading("Corporate", 1)
    doc.add_paragraph("1. Provide the business licence.")
    bold_paragraph(doc, "填写说明")
    doc.add_paragraph("1、请将资料按序号上传至数据室。")
    doc.add_paragraph("是否存在未决诉讼？")          # a real question ends the notes
    doc.add_paragraph("2、请提供公司章程。")
    extraction = read_path(save(doc, tmp_path / "notes.docx"))
    assert [(u.text, u.location.label, u.section) for u in extraction.units] == [
        ("1. Provide the business licence.", "¶5", "Corporate"),
        ("是否存在未决诉讼？", "¶8", "Corporate > 填写说明"),
        ("2、请提供公司章程。", "¶9", "Corporate > 填写说明"),
    ]
    reasons = {s.location.label: s.reason for s in extraction.skipped}
    assert reasons == {"¶1": "heading", "¶2": "instruction", "¶3": "instruction", "¶4": "heading",
                       "¶6": "heading", "¶7": "instruction"}


def test_notes_end_where_word_numbering_switches_list(tmp_path: Path):
    doc = new_doc()
    notes = add_chinese_numbering(doc, "decimal", "%1.")
    items = add_chinese_numbering(doc, "decimal", "%1.")
    unnumbered_heading(doc, "General Notes", 1)
    number_paragraph(doc.add_paragraph("References to the Company include its subsidiaries."), notes)
    number_paragraph(doc.add_paragraph("Documents may be provided in Chinese."), notes)
    number_paragraph(doc.add_paragraph("Business licence"), items)
    units = units_of(save(doc, tmp_path / "n.docx"))
    assert [(u.text, u.item_label, u.location.label) for u in units] == [("Business licence", "1.", "¶4")]


def test_typed_chinese_headings_sub_points_and_restarted_numbering(tmp_path: Path):
    doc = new_doc()
    chapters = add_chinese_numbering(doc, "chineseCounting", "%1、")
    items = add_chinese_numbering(doc, "decimal", "%1.")
    number_paragraph(doc.add_heading("公司基本情况", 1), chapters)
    bold_paragraph(doc, "（一）设立及历史沿革")
    number_paragraph(doc.add_paragraph("公司历次股权变动的相关文件，包括："), items)
    doc.add_paragraph("（1）股权转让协议；")
    doc.add_paragraph("（2）验资报告。")
    number_paragraph(doc.add_paragraph("营业执照"), items)
    doc.add_paragraph("（二）公司章程")                     # not bold: a typed request item, not a heading
    doc.add_paragraph("3. 社会保险缴纳情况；如未足额缴纳，请说明：")
    doc.add_paragraph("（1）涉及人数；")
    units = units_of(save(doc, tmp_path / "zh.docx"))
    assert [(u.text, u.item_label, u.section) for u in units] == [
        ("公司历次股权变动的相关文件，包括：\n（1）股权转让协议；\n（2）验资报告。", "1.", "一、公司基本情况 > （一）设立及历史沿革"),
        ("营业执照", "2.", "一、公司基本情况 > （一）设立及历史沿革"),
        ("（二）公司章程", "（二）", "一、公司基本情况 > （一）设立及历史沿革"),
        ("3. 社会保险缴纳情况；如未足额缴纳，请说明：\n（1）涉及人数；", "3.", "一、公司基本情况 > （一）设立及历史沿革"),
    ]


def test_survey_labels_options_rankings_and_likert_grid(tmp_path: Path):
    doc = new_doc()
    doc.add_paragraph("S1. 您的性别")
    doc.add_paragraph("A. 男")
    doc.add_paragraph("B. 女")
    doc.add_paragraph("【访问员注意：S1未回答，终止访问】")
    doc.add_paragraph("您的年龄")                           # no label, no question mark: its options make it a question
    doc.add_paragraph("A. 18-30岁")
    doc.add_paragraph("B. 31岁及以上")
    doc.add_paragraph("Q9. 请您对以下说法的同意程度进行评价：")
    table = doc.add_table(rows=3, cols=4)
    for r, values in enumerate([["说法", "不同意", "一般", "同意"], ["价格合理", "□1", "□2", "□3"],
                                ["外国品牌更值得信赖", "□1", "□2", "□3"]]):
        for c, value in enumerate(values):
            table.rows[r].cells[c].text = value
    doc.add_paragraph("Q10. 请将以下因素按重要性排序：")
    doc.add_paragraph("___ 价格")
    doc.add_paragraph("___ 功效")
    doc.add_paragraph("D4. 请留下您的手机号码：________")
    extraction = read_path(save(doc, tmp_path / "s.docx"))
    assert [(u.text, u.item_label, u.location.label) for u in extraction.units] == [
        ("S1. 您的性别\nA. 男\nB. 女", "S1.", "¶1"),
        ("您的年龄\nA. 18-30岁\nB. 31岁及以上", "", "¶5"),
        ("Q9. 请您对以下说法的同意程度进行评价：", "Q9.", "¶8"),
        ("价格合理", "", "table 1 r2c1"),
        ("外国品牌更值得信赖", "", "table 1 r3c1"),
        ("Q10. 请将以下因素按重要性排序：\n___ 价格\n___ 功效", "Q10.", "¶9"),
        ("D4. 请留下您的手机号码：________", "D4.", "¶12"),
    ]
    assert all(u.context == () for u in extraction.units), "tick boxes are not context"
    reasons = {s.text: s.reason for s in extraction.skipped}
    assert reasons["【访问员注意：S1未回答，终止访问】"] == "instruction"
    assert "您的年龄" not in reasons, "a prose line that became a question is not also skipped"
    assert reasons["说法"] == "table header"


def test_instructions_about_the_table_negative_imperatives_and_contact_tables(tmp_path: Path):
    doc = new_doc()
    doc.add_paragraph("Please provide the documents listed in the table below and complete the Response column.")
    doc.add_paragraph("Please do not disclose any state secrets or confidential information of former employers.")
    doc.add_paragraph("请勿透露任何国家秘密。")
    table = doc.add_table(rows=2, cols=3)
    for r, values in enumerate([["Party", "Name", "Email"], ["Company", "Ms. Chen", "chen@example.com"]]):
        for c, value in enumerate(values):
            table.rows[r].cells[c].text = value
    doc.add_paragraph("Subtitle line", style="Subtitle")
    extraction = read_path(save(doc, tmp_path / "i.docx"))
    assert extraction.units == []
    reasons = [s.reason for s in extraction.skipped]
    assert reasons[:3] == ["instruction"] * 3
    assert "Name" in [s.text for s in extraction.skipped]
    assert reasons[-1] == "title"


def test_bullets_under_a_numbered_question_are_its_probes(tmp_path: Path):
    doc = new_doc()
    questions = add_chinese_numbering(doc, "decimal", "%1.")
    number_paragraph(doc.add_paragraph("How do state-owned customers run tenders?"), questions)
    doc.add_paragraph("Probe: who sits on the panel?", style="List Bullet")
    doc.add_paragraph("追问：是否有国产化率要求？", style="List Bullet")
    number_paragraph(doc.add_paragraph("What payment terms are usual?"), questions)
    units = units_of(save(doc, tmp_path / "b.docx"))
    assert [(u.text, u.item_label) for u in units] == [
        ("How do state-owned customers run tenders?\n• Probe: who sits on the panel?\n• 追问：是否有国产化率要求？", "1."),
        ("What payment terms are usual?", "2."),
    ]


def test_request_table_with_detail_category_and_two_row_header(tmp_path: Path):
    doc = new_doc()
    table = doc.add_table(rows=5, cols=5)
    rows = [["序号", "类别", "资料名称", "具体要求", "回复"],
            ["", "", "", "", "状态"],
            ["1", "业务", "军方客户", "请列明属于部队的客户及收入", "已提供"],
            ["2", "业务", "前十大客户", "名称及销售金额", ""],
            ["3", "人事", "员工花名册", "", ""]]
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            table.rows[r].cells[c].text = value
    for c in range(4):
        table.cell(0, c).merge(table.cell(1, c))
    extraction = read_path(save(doc, tmp_path / "t.docx"))
    assert [(u.text, u.location.label, u.item_label, u.section, u.context) for u in extraction.units] == [
        ("军方客户\n请列明属于部队的客户及收入", "table 1 r3c3", "1", "业务", (("answer", "已提供"),)),
        ("前十大客户\n名称及销售金额", "table 1 r4c3", "2", "业务", ()),
        ("员工花名册", "table 1 r5c3", "3", "人事", ()),
    ]
    assert {s.text: s.reason for s in extraction.skipped} == {
        "序号": "table header", "类别": "table header", "资料名称": "table header", "具体要求": "table header",
        "回复": "table header", "状态": "table header"}


def test_header_and_footer_text_is_kept_as_skipped(tmp_path: Path):
    doc = new_doc()
    doc.sections[0].header.paragraphs[0].text = "Project Falcon – Draft"
    doc.sections[0].footer.paragraphs[0].text = "Privileged & Confidential"
    doc.add_paragraph("Provide the organisation chart.")
    extraction = read_path(save(doc, tmp_path / "hf.docx"))
    assert {(s.text, s.reason) for s in extraction.skipped} == {("Project Falcon – Draft", "header"),
                                                               ("Privileged & Confidential", "footer")}


def test_instruction_wording_inside_a_numbered_item_is_a_request(tmp_path: Path):
    doc = new_doc()
    items = add_chinese_numbering(doc, "decimal", "%1.")
    doc.add_heading("Notes payable", 1)                     # a financing topic, not a notes section
    for text in ["Do not include employee names; provide headcount by grade.",
                 "请在“回复”栏填写军方客户名单", "Provide the following documents:"]:
        number_paragraph(doc.add_paragraph(text), items)
    doc.add_paragraph("(a) loan agreements;")
    doc.add_paragraph("请在“回复”栏填写军方客户名单和合同金额")        # unnumbered, yet a request
    units = units_of(save(doc, tmp_path / "r.docx"))
    assert [(u.text, u.item_label, u.section) for u in units] == [
        ("Do not include employee names; provide headcount by grade.", "1.", "Notes payable"),
        ("请在“回复”栏填写军方客户名单", "2.", "Notes payable"),
        ("Provide the following documents:\n(a) loan agreements;", "3.", "Notes payable"),
        ("请在“回复”栏填写军方客户名单和合同金额", "", "Notes payable"),
    ]
