"""Reviewed Excel copies: notes, fills and review columns on the question table, a summary sheet, fidelity warnings."""

import hashlib
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from test_outputs_fixtures import build_xlsx, flagged, run

from ddcheck.outputs import review as review_mod
from ddcheck.outputs.annotate import annotate_files
from ddcheck.outputs.annotate_xlsx import fidelity_warnings


def annotate(src_dir: Path, out: Path, lang: str = "en"):
    result = run([src_dir])
    view = review_mod.build(result)
    inputs = {Path(f.path).resolve() for f in result.files}
    return result, annotate_files(view.files, out, roots=[src_dir], inputs=inputs, lang=lang)


@pytest.fixture()
def reviewed(tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    build_xlsx(src / "q.xlsx")
    before = hashlib.sha256((src / "q.xlsx").read_bytes()).hexdigest()
    result, annotations = annotate(src, tmp_path / "out")
    copy = annotations[str(src / "q.xlsx")]
    return src, result, copy, load_workbook(copy.path), before


def test_one_note_per_flagged_unit(reviewed):
    src, result, copy, wb, _ = reviewed
    assert copy.path.name == "q.reviewed.xlsx" and not copy.error
    assert copy.annotated == copy.expected == flagged(result) == 3
    notes = [(ws.title, c.coordinate, c.comment) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.comment]
    assert [(s, c) for s, c, _ in notes] == [("Requests", "B3"), ("Requests", "B5"), ("Extra", "B2")]
    assert all("ddcheck: " in n.text for _, _, n in notes)
    client = next(n for s, c, n in notes if c == "B5")
    assert client.text.startswith("Client note: urgent") and "MEDIUM" in client.text     # the client's note is kept
    assert notes[0][2].author == "ddcheck"


def test_review_columns_fills_and_formulas(reviewed):
    _, _, _, wb, _ = reviewed
    ws = wb["Requests"]
    assert [ws.cell(row=2, column=c).value for c in range(5, 9)] == ["Risk", "Category", "Why", "Action"]
    assert ws["E3"].value == "HIGH" and "军工军品业务与军方客户" in ws["F3"].value and ws["H3"].value.startswith("Route to")
    assert ws["E4"].value == "no finding" and ws["F4"].value is None
    assert ws["E5"].value == "MEDIUM"
    assert ws["B3"].fill.fgColor.rgb.endswith("FFC7CE") and ws["B5"].fill.fgColor.rgb.endswith("FFEB9C")
    assert ws["B4"].fill.fgColor.rgb in (None, "00000000")
    assert ws["D3"].value == "=1+1" and ws["D3"].data_type == "f"          # formulas kept, not their values
    assert wb["Extra"].sheet_state == "hidden"


def test_summary_sheet(reviewed):
    _, _, _, wb, _ = reviewed
    assert wb.sheetnames[-1] == "ddcheck review" and wb.active.title == "ddcheck review"
    ws = wb["ddcheck review"]
    rows = [r for r in ws.iter_rows(min_row=8, values_only=True) if r[2]]
    assert len(rows) == 3
    assert [r[0] for r in rows] == ["Requests!B3", "Requests!B5", "Extra!B2 (hidden)"]
    assert ws["A8"].hyperlink.location == "'Requests'!B3"
    assert [ws.title for ws in wb.worksheets if ws.sheet_view.tabSelected] == ["ddcheck review"]


def test_original_untouched(reviewed):
    src, _, _, _, before = reviewed
    assert hashlib.sha256((src / "q.xlsx").read_bytes()).hexdigest() == before


def test_copy_is_deterministic(tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    build_xlsx(src / "q.xlsx")
    a = annotate(src, tmp_path / "a")[1][str(src / "q.xlsx")].path.read_bytes()
    b = annotate(src, tmp_path / "b")[1][str(src / "q.xlsx")].path.read_bytes()
    assert a == b


EXCEL_CORE = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<cp:coreProperties '
              b'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
              b'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
              b'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
              b'<dc:creator>Li Lei</dc:creator><dcterms:created xsi:type="dcterms:W3CDTF">2024-03-01T08:00:00Z</dcterms:created>'
              b'<dcterms:modified xsi:type="dcterms:W3CDTF">2024-05-06T09:10:11Z</dcterms:modified></cp:coreProperties>')


def test_excel_style_properties_keep_their_date_and_stay_valid(tmp_path: Path):
    """Excel declares the xsi prefix on the root of docProps/core.xml, not on each element: the copy keeps
    the original's modification date and still opens (splicing the original element in would not)."""
    src = tmp_path / "in"
    src.mkdir()
    build_xlsx(tmp_path / "plain.xlsx")
    with zipfile.ZipFile(tmp_path / "plain.xlsx") as plain, zipfile.ZipFile(src / "q.xlsx", "w") as excel:
        for info in plain.infolist():
            excel.writestr(info, EXCEL_CORE if info.filename == "docProps/core.xml" else plain.read(info))
    _, annotations = annotate(src, tmp_path / "out")
    wb = load_workbook(annotations[str(src / "q.xlsx")].path)
    assert wb.properties.modified.isoformat().startswith("2024-05-06T09:10:11")


def test_chinese_annotations(tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    build_xlsx(src / "q.xlsx")
    copy = annotate(src, tmp_path / "out", lang="zh")[1][str(src / "q.xlsx")]
    wb = load_workbook(copy.path)
    assert [wb["Requests"].cell(row=2, column=c).value for c in range(5, 9)] == ["风险", "类别", "原因", "建议处理"]
    assert wb["Requests"]["E3"].value == "高" and "ddcheck审阅" in wb.sheetnames
    assert copy.annotated == 3


def test_hostile_question_stays_text_in_the_summary(tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    wb = Workbook()
    ws = wb.active
    ws.append(["No.", "Question"])
    ws.append(["1", None])
    ws["B2"].value = '=HYPERLINK("http://evil.example","military customers?")'
    ws["B2"].data_type = "s"                  # text that looks like a formula, as a hostile sender would type it
    wb.save(src / "h.xlsx")
    copy = annotate(src, tmp_path / "out")[1][str(src / "h.xlsx")]
    summary = load_workbook(copy.path)["ddcheck review"]
    cell = summary["F8"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def _inject(path: Path, extra: dict[str, bytes], sheet_xml_tail: bytes = b"") -> None:
    data = {i.filename: (i, zipfile.ZipFile(path).read(i.filename)) for i in zipfile.ZipFile(path).infolist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, (info, blob) in data.items():
            if name == "xl/worksheets/sheet1.xml" and sheet_xml_tail:
                blob = blob.replace(b"</worksheet>", sheet_xml_tail + b"</worksheet>")
            z.writestr(info, blob)
        for name, blob in extra.items():
            z.writestr(name, blob)


X14_VALIDATION = (
    b'<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
    b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
    b'<x14:dataValidations count="1" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
    b'<x14:dataValidation type="list" allowBlank="1"><x14:formula1><xm:f>Lists!$A$1:$A$3</xm:f></x14:formula1>'
    b'<xm:sqref>C3</xm:sqref></x14:dataValidation></x14:dataValidations></ext></extLst>'
)


def test_lost_content_is_reported_not_silently_dropped(tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    path = build_xlsx(src / "q.xlsx")
    _inject(path, {"xl/ctrlProps/ctrlProp1.xml": b'<?xml version="1.0"?><formControlPr objectType="CheckBox"/>'},
            X14_VALIDATION)
    copy = annotate(src, tmp_path / "out")[1][str(path)]
    assert copy.annotated == copy.expected == 3
    text = "\n".join(copy.warnings)
    assert "form controls" in text
    assert "Excel 2010 extensions" in text and "'Requests'" in text


def test_fidelity_check_sees_nothing_lost_when_nothing_is(tmp_path: Path):
    path = build_xlsx(tmp_path / "q.xlsx")
    assert fidelity_warnings(path.read_bytes(), path.read_bytes()) == []


def test_xlsm_keeps_its_macros(tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    plain = build_xlsx(tmp_path / "plain.xlsx")
    target = src / "m.xlsm"
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml").replace(
                    b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>')
            if item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdVba" '
                                    b'Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
                                    b'Target="vbaProject.bin"/></Relationships>')
            zout.writestr(item, data)
        zout.writestr("xl/vbaProject.bin", b"\x00fake vba\x00")
    copy = annotate(src, tmp_path / "out")[1][str(target)]
    assert copy.path.name == "m.reviewed.xlsm" and copy.annotated == 3
    assert zipfile.ZipFile(copy.path).read("xl/vbaProject.bin") == b"\x00fake vba\x00"
    assert not any("macros (VBA project)" in w for w in copy.warnings)


PNG_1PX = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000105"
                        "7b0d2f0a0000000049454e44ae426082")
DRAWING = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
    b'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    b'<xdr:oneCellAnchor><xdr:from><xdr:col>5</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>'
    b'<xdr:ext cx="9525" cy="9525"/><xdr:pic><xdr:nvPicPr><xdr:cNvPr id="2" name="Logo"/><xdr:cNvPicPr/></xdr:nvPicPr>'
    b'<xdr:blipFill><a:blip r:embed="rIdImg"/><a:stretch><a:fillRect/></a:stretch></xdr:blipFill>'
    b'<xdr:spPr><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr></xdr:pic><xdr:clientData/></xdr:oneCellAnchor>'
    b'<xdr:oneCellAnchor><xdr:from><xdr:col>6</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>'
    b'<xdr:ext cx="952500" cy="190500"/><xdr:sp><xdr:nvSpPr><xdr:cNvPr id="3" name="Box"/><xdr:cNvSpPr txBox="1"/></xdr:nvSpPr>'
    b'<xdr:spPr><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr>'
    b'<xdr:txBody><a:bodyPr/><a:p><a:r><a:t>Return by 31 May</a:t></a:r></a:p></xdr:txBody></xdr:sp><xdr:clientData/></xdr:oneCellAnchor>'
    b'</xdr:wsDr>'
)


def test_pictures_and_shapes_openpyxl_drops_are_reported(tmp_path: Path):
    """A logo and a text box on the question sheet: whatever the copy loses is named in a warning."""
    src = tmp_path / "in"
    src.mkdir()
    path = build_xlsx(src / "q.xlsx")
    entries = {i.filename: zipfile.ZipFile(path).read(i.filename) for i in zipfile.ZipFile(path).infolist()}
    entries["[Content_Types].xml"] = entries["[Content_Types].xml"].replace(
        b"</Types>", b'<Default Extension="png" ContentType="image/png"/><Override PartName="/xl/drawings/drawing1.xml" '
                     b'ContentType="application/vnd.openxmlformats-officedocument.drawing+xml"/></Types>')
    rels_name = "xl/worksheets/_rels/sheet1.xml.rels"
    drawing_rel = (b'<Relationship Id="rIdDraw" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/drawing" '
                   b'Target="../drawings/drawing1.xml"/>')
    if rels_name in entries:
        entries[rels_name] = entries[rels_name].replace(b"</Relationships>", drawing_rel + b"</Relationships>")
    else:
        entries[rels_name] = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships '
                              b'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' + drawing_rel + b"</Relationships>")
    sheet = entries["xl/worksheets/sheet1.xml"]
    marker = b"<legacyDrawing" if b"<legacyDrawing" in sheet else b"</worksheet>"
    entries["xl/worksheets/sheet1.xml"] = sheet.replace(marker, b'<drawing r:id="rIdDraw" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"/>' + marker, 1)
    entries["xl/drawings/drawing1.xml"] = DRAWING
    entries["xl/drawings/_rels/drawing1.xml.rels"] = (
        b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rIdImg" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" '
        b'Target="../media/image1.png"/></Relationships>')
    entries["xl/media/image1.png"] = PNG_1PX
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, blob in entries.items():
            z.writestr(name, blob)
    copy = annotate(src, tmp_path / "out")[1][str(path)]
    assert copy.annotated == copy.expected == 3
    text = "\n".join(copy.warnings)
    assert "shapes, text boxes and connectors" in text          # openpyxl never keeps shapes
    kept_picture = zipfile.ZipFile(copy.path).namelist().count("xl/media/image1.png") == 1
    assert kept_picture or "1 of 1 pictures" in text            # kept with Pillow installed, reported without it
