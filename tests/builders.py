"""Build .docx/.xlsx fixtures in code, including the XML python-docx has no API for."""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from openpyxl import Workbook
from openpyxl.comments import Comment

W_NS = nsdecls("w")


def add_content_control(doc, text: str):
    """A paragraph whose only text sits inside a w:sdt content control."""
    p = doc.add_paragraph()
    sdt = parse_xml(
        f'<w:sdt {W_NS}><w:sdtPr><w:alias w:val="Question"/></w:sdtPr>'
        f'<w:sdtContent><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:sdtContent></w:sdt>'
    )
    p._p.append(sdt)
    return p


def add_tracked_insertion(doc, before: str, inserted: str, deleted: str = ""):
    """A paragraph with plain text, a tracked insertion (w:ins) and optionally a tracked deletion (w:del)."""
    p = doc.add_paragraph(before)
    ins = parse_xml(
        f'<w:ins {W_NS} w:id="1" w:author="Reviewer" w:date="2026-01-01T00:00:00Z">'
        f'<w:r><w:t xml:space="preserve">{inserted}</w:t></w:r></w:ins>'
    )
    p._p.append(ins)
    if deleted:
        p._p.append(parse_xml(
            f'<w:del {W_NS} w:id="2" w:author="Reviewer" w:date="2026-01-01T00:00:00Z">'
            f'<w:r><w:delText xml:space="preserve">{deleted}</w:delText></w:r></w:del>'
        ))
    return p


def add_text_box(doc, text: str):
    """A paragraph holding a DrawingML text box (with its VML fallback, which must not be read twice)."""
    p = doc.add_paragraph()
    xml = (
        f'<w:r {W_NS} xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
        'xmlns:v="urn:schemas-microsoft-com:vml">'
        '<mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor><a:graphic><a:graphicData>'
        f'<wps:wsp><wps:txbx><w:txbxContent><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:txbxContent></wps:txbx></wps:wsp>'
        '</a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>'
        '<mc:Fallback><w:pict><v:shape><v:textbox>'
        f'<w:txbxContent><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:txbxContent>'
        '</v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>'
    )
    p._p.append(parse_xml(xml))
    return p


def add_chinese_numbering(doc, fmt: str = "chineseCounting", text: str = "%1、") -> str:
    """Add a one-level list definition to numbering.xml and return its numId."""
    numbering = doc.part.numbering_part.element
    abstract_id = 90 + len(numbering.findall(parse_xml(f"<w:abstractNum {W_NS}/>").tag))
    numbering.insert(0, parse_xml(
        f'<w:abstractNum {W_NS} w:abstractNumId="{abstract_id}"><w:multiLevelType w:val="singleLevel"/>'
        f'<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/><w:lvlText w:val="{text}"/></w:lvl>'
        f'</w:abstractNum>'
    ))
    num_id = 900 + abstract_id
    numbering.append(parse_xml(f'<w:num {W_NS} w:numId="{num_id}"><w:abstractNumId w:val="{abstract_id}"/></w:num>'))
    return str(num_id)


def number_paragraph(paragraph, num_id: str, ilvl: int = 0) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    ppr.append(parse_xml(f'<w:numPr {W_NS}><w:ilvl w:val="{ilvl}"/><w:numId w:val="{num_id}"/></w:numPr>'))


def add_multilevel_numbering(doc) -> str:
    """A legal-style multilevel list: 1. / 1.1 / 1.1.1 / (a)."""
    numbering = doc.part.numbering_part.element
    levels = [("decimal", "%1."), ("decimal", "%1.%2"), ("decimal", "%1.%2.%3"), ("lowerLetter", "(%4)")]
    lvl_xml = "".join(
        f'<w:lvl w:ilvl="{i}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/><w:lvlText w:val="{text}"/></w:lvl>'
        for i, (fmt, text) in enumerate(levels)
    )
    numbering.insert(0, parse_xml(f'<w:abstractNum {W_NS} w:abstractNumId="77">{lvl_xml}</w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {W_NS} w:numId="777"><w:abstractNumId w:val="77"/></w:num>'))
    return "777"


def merge_table_row(table, row_index: int) -> None:
    row = table.rows[row_index]
    row.cells[0].merge(row.cells[-1])


def save(doc_or_wb, path: Path) -> Path:
    doc_or_wb.save(str(path))
    return path


def new_doc():
    return Document()


def new_workbook():
    return Workbook()


def comment(text: str) -> Comment:
    return Comment(text, "Tester")


def bold_paragraph(doc, text: str):
    """A paragraph typed in bold, as people type headings such as "（一）设立及历史沿革"."""
    p = doc.add_paragraph()
    p.add_run(text).bold = True
    return p


def unnumbered_heading(doc, text: str, level: int = 1):
    """A heading whose style carries numbering switched off for this paragraph (numId 0), as Word writes it."""
    p = doc.add_heading(text, level)
    number_paragraph(p, "0")
    return p


def sheet_rows(ws, rows) -> None:
    """Append rows to a worksheet; ``None`` cells stay empty."""
    for row in rows:
        ws.append(list(row))
