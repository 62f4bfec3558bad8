"""Plain text, Markdown and CSV inputs as the contract defines them."""

from pathlib import Path

from ddcheck.readers import read_path


def test_txt_lines_and_section_headings(tmp_path: Path):
    path = tmp_path / "q.txt"
    path.write_text("# Corporate\nProvide the business licence.\n\n# 客户\n请列明前五大客户。\n", encoding="utf-8")
    units = read_path(path).units
    assert [(u.text, u.location.label, u.location.get("line"), u.section) for u in units] == [
        ("Provide the business licence.", "line 2", 2, "Corporate"),
        ("请列明前五大客户。", "line 5", 5, "客户"),
    ]


def test_gbk_text_is_decoded(tmp_path: Path):
    path = tmp_path / "gbk.txt"
    path.write_bytes("请提供营业执照。\n".encode("gbk"))
    assert read_path(path).units[0].text == "请提供营业执照。"


def test_markdown_list_markers_are_removed(tmp_path: Path):
    path = tmp_path / "q.md"
    path.write_text("# Requests\n- Provide the org chart.\n1. List all subsidiaries.\n", encoding="utf-8")
    units = read_path(path).units
    assert [u.text for u in units] == ["Provide the org chart.", "1. List all subsidiaries."]
    assert units[1].item_label == "1."


def test_csv_question_column_by_header(tmp_path: Path):
    path = tmp_path / "r.csv"
    path.write_text("No,Priority,Request\n1,High,Provide audited accounts\n2,Low,\"List customers, with revenue\"\n", encoding="utf-8")
    units = read_path(path).units
    assert [(u.text, u.location.label, u.item_label) for u in units] == [
        ("Provide audited accounts", "line 2", "1"),
        ("List customers, with revenue", "line 3", "2"),
    ]
    assert ("Priority", "High") in units[0].context


def test_csv_without_header_uses_longest_column(tmp_path: Path):
    path = tmp_path / "r.csv"
    path.write_text("1,Provide the business licence and articles\n2,Describe the board composition\n", encoding="utf-8")
    assert [u.text for u in read_path(path).units] == ["Provide the business licence and articles", "Describe the board composition"]


def test_csv_header_below_title_rows_with_detail_and_category_columns(tmp_path: Path):
    path = tmp_path / "list.csv"
    path.write_text("资料清单,,,\n,,,\n序号,类别,资料名称,具体要求,提供情况\n"
                    "1,业务,军方客户,请列明属于部队的客户及收入,\n2,人事,员工花名册,,已提供\n", encoding="utf-8")
    extraction = read_path(path)
    assert [(u.text, u.location.label, u.item_label, u.section, u.context) for u in extraction.units] == [
        ("军方客户\n请列明属于部队的客户及收入", "line 4", "1", "业务", ()),
        ("员工花名册", "line 5", "2", "人事", (("answer", "已提供"),)),
    ]
    assert [s.text for s in extraction.skipped] == ["资料清单", "序号", "类别", "资料名称", "具体要求", "提供情况"]
