"""Reviewed Word copies: one real comment per flagged unit, on the right paragraph, nothing else changed."""

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from docx import Document
from lxml import etree
from test_outputs_fixtures import build_docx, flagged, run

from ddcheck.outputs import review as review_mod
from ddcheck.outputs.annotate import Annotation, annotate_files, copy_name, plan_targets
from ddcheck.outputs.annotate_docx import count_comments, verify_docx
from ddcheck.readers.docx_reader import paragraph_text
from ddcheck.textnorm import clean

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {"w": W}


def annotate(src_dir: Path, out: Path):
    result = run([src_dir])
    view = review_mod.build(result)
    inputs = {Path(f.path).resolve() for f in result.files}
    return result, view, annotate_files(view.files, out, roots=[src_dir], inputs=inputs)


@pytest.fixture()
def reviewed(tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    build_docx(src / "q.docx")
    before = hashlib.sha256((src / "q.docx").read_bytes()).hexdigest()
    result, view, annotations = annotate(src, tmp_path / "out")
    return src, result, view, annotations[str(src / "q.docx")], before


def anchored_text(body, comment_id: str) -> str:
    start = body.xpath(f".//w:commentRangeStart[@w:id='{comment_id}']", namespaces=NS)[0]
    p = start.getparent()
    return clean(paragraph_text(p))


def test_one_comment_per_flagged_unit(reviewed):
    src, result, view, annotation, _ = reviewed
    assert annotation.path == src.parent / "out" / "q.reviewed.docx"
    assert annotation.error == "" and annotation.expected == flagged(result) == 8
    assert annotation.annotated == 8
    comments = list(Document(str(annotation.path)).comments)
    assert len(comments) == 8
    assert {(c.author, c.initials) for c in comments} == {("ddcheck", "DD")}
    text = comments[0].text
    assert "HIGH" in text and "Defence-industry business and military end users" in text and "军工军品业务与军方客户" in text
    assert "Why:" in text and "Recommended action:" in text and "Route to the confidentiality office" in text


def test_comments_sit_on_the_units_own_text(reviewed):
    src, result, view, annotation, _ = reviewed
    package = zipfile.ZipFile(annotation.path)
    body = etree.fromstring(package.read("word/document.xml")).find(f"{{{W}}}body")
    comments = {c.comment_id: c.text for c in Document(str(annotation.path)).comments}
    by_location = {}
    for unit in view.files[0].flagged:
        cid = next(i for i, t in comments.items() if unit.location in t) if unit.location.startswith(("text box", "header")) else None
        by_location[unit.location] = cid
    own = [u for u in view.files[0].flagged if not u.location.startswith(("text box", "header"))]
    assert [u.location for u in own] == ["¶3", "table 1 r2c2", "table 2 r1c1 > table 1 r1c1", "¶6", "¶7", "¶9"]
    starts = body.xpath(".//w:commentRangeStart/@w:id", namespaces=NS)
    assert len(starts) == 8
    texts = [anchored_text(body, cid) for cid in starts]
    for unit in own:
        assert any(t.startswith(unit.text.split("\n")[0]) for t in texts), unit.location
    # the nested-table unit's comment is inside the inner table's cell
    inner = body.xpath(".//w:tbl//w:tbl//w:commentRangeStart", namespaces=NS)
    assert len(inner) == 1
    # the content-control unit: its comment is in the paragraph that holds the content control
    sdt_paragraph = body.xpath(".//w:p[w:sdt]", namespaces=NS)[0]
    assert sdt_paragraph.xpath("./w:commentRangeStart", namespaces=NS)
    # text box and header units name their real place
    moved = [t for t in comments.values() if t.startswith("[in ")]
    assert sorted(m.split("]")[0] for m in moved) == ["[in header1 ¶1", "[in text box 1 ¶1"]
    assert any("text boxes, headers or footers" in w for w in annotation.warnings)


def test_flagged_paragraphs_are_highlighted(reviewed):
    _, _, _, annotation, _ = reviewed
    body = etree.fromstring(zipfile.ZipFile(annotation.path).read("word/document.xml"))
    highlighted = {clean(paragraph_text(p)) for p in body.iter(f"{{{W}}}p")
                   if p.xpath(".//w:highlight", namespaces=NS)}
    assert "1. Please list all military customers and the revenue from each?" in highlighted
    assert "2. Describe the board of directors and its committees?" not in highlighted


def test_original_untouched_and_other_parts_identical(reviewed):
    src, _, _, annotation, before = reviewed
    assert hashlib.sha256((src / "q.docx").read_bytes()).hexdigest() == before
    original = zipfile.ZipFile(src / "q.docx")
    copy = zipfile.ZipFile(annotation.path)
    changed = {"word/document.xml", "word/_rels/document.xml.rels", "[Content_Types].xml", "word/comments.xml"}
    for name in original.namelist():
        if name not in changed:
            assert copy.read(name) == original.read(name), name
    assert set(copy.namelist()) - set(original.namelist()) <= {"word/comments.xml"}


def test_copy_is_deterministic(tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    build_docx(src / "q.docx")
    a = annotate(src, tmp_path / "a")[2][str(src / "q.docx")].path.read_bytes()
    b = annotate(src, tmp_path / "b")[2][str(src / "q.docx")].path.read_bytes()
    assert a == b


def test_reviewing_a_reviewed_copy_counts_only_new_comments(reviewed, tmp_path: Path):
    _, _, _, annotation, _ = reviewed
    again_dir = tmp_path / "again"
    again_dir.mkdir()
    (again_dir / "x.docx").write_bytes(annotation.path.read_bytes())
    _, _, second = annotate(again_dir, tmp_path / "out2")
    copy = second[str(again_dir / "x.docx")]
    assert copy.annotated == copy.expected == 8
    assert count_comments(copy.path.read_bytes()) == 16


def test_macro_enabled_docm_keeps_its_macros(tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    plain = build_docx(tmp_path / "plain.docx")
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(src / "m.docm", "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"wordprocessingml.document.main+xml", b"ms-word.document.macroEnabled.main+xml")
            zout.writestr(item, data)
        zout.writestr("word/vbaProject.bin", b"\x00fake vba project\x00")
    _, _, annotations = annotate(src, tmp_path / "out")
    copy = annotations[str(src / "m.docm")]
    assert copy.path.name == "m.reviewed.docm"
    assert copy.annotated == copy.expected == 8
    assert zipfile.ZipFile(copy.path).read("word/vbaProject.bin") == b"\x00fake vba project\x00"


def test_verification_fails_when_a_comment_is_missing(reviewed):
    """The post-write check must be able to fail: a copy without the comments counts zero."""
    src, _, view, _, _ = reviewed
    original = (src / "q.docx").read_bytes()
    placed = [(u, i, True) for i, u in enumerate(view.files[0].flagged)]
    note = Annotation("q.docx", None, len(placed))
    assert verify_docx(original, placed, note) == 0


def test_names_and_folder_structure(tmp_path: Path):
    assert copy_name(Path("x.docx"), "docx") == "x.reviewed.docx"
    assert copy_name(Path("x.xlsm"), "xlsx") == "x.reviewed.xlsm"
    assert copy_name(Path("x.txt"), "txt") == "x.txt.reviewed.csv"
    assert copy_name(Path("x.csv"), "csv") == "x.reviewed.csv"
    assert copy_name(Path("x.docx"), "xlsx") == "x.docx.reviewed.xlsx"
    assert copy_name(Path("x.dotx"), "docx") == "x.dotx.reviewed.docx"
    assert copy_name(Path("x.xltm"), "xlsx") == "x.xltm.reviewed.xlsm"
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    build_docx(src / "a.docx")
    build_docx(src / "sub" / "b.docx")
    _, _, annotations = annotate(src, tmp_path / "out")
    assert sorted(str(a.path.relative_to(tmp_path / "out")) for a in annotations.values()) == ["a.reviewed.docx", "sub/b.reviewed.docx"]


def test_never_written_over_an_input(tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    build_docx(src / "q.docx")
    build_docx(src / "q.reviewed.docx")          # an input already carries the copy's name
    result = run([src])
    view = review_mod.build(result)
    inputs = {Path(f.path).resolve() for f in result.files}
    targets = plan_targets(view.files, src, [src], inputs)      # copies into the scanned folder itself
    assert targets[str(src / "q.docx")].name == "q.reviewed-2.docx"
    assert all(t.resolve() not in inputs for t in targets.values())


def test_document_with_existing_comments_keeps_them(tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    doc = Document()
    p = doc.add_paragraph("Please list all military customers?")
    doc.add_comment(p.runs, text="Client's own comment", author="Client", initials="CL")
    doc.save(str(src / "c.docx"))
    _, _, annotations = annotate(src, tmp_path / "out")
    copy = annotations[str(src / "c.docx")]
    comments = list(Document(str(copy.path)).comments)
    assert sorted(c.author for c in comments) == ["Client", "ddcheck"]
    assert copy.annotated == copy.expected == 1
    assert len({c.comment_id for c in comments}) == 2
    assert io.BytesIO(copy.path.read_bytes())


def test_locked_content_control_is_annotated_with_a_warning(tmp_path: Path):
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    src = tmp_path / "in"
    src.mkdir()
    doc = Document()
    p = doc.add_paragraph()
    p._p.append(parse_xml(
        f'<w:sdt {nsdecls("w")}><w:sdtPr><w:lock w:val="sdtContentLocked"/></w:sdtPr>'
        '<w:sdtContent><w:r><w:t>Which military units buy from you?</w:t></w:r></w:sdtContent></w:sdt>'))
    doc.save(str(src / "locked.docx"))
    _, _, annotations = annotate(src, tmp_path / "out")
    copy = annotations[str(src / "locked.docx")]
    assert copy.annotated == copy.expected == 1
    assert any("locked content control" in w for w in copy.warnings)
    assert len(list(Document(str(copy.path)).comments)) == 1


def test_a_template_becomes_a_document(tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    plain = build_docx(tmp_path / "plain.docx")
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(src / "t.dotx", "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"wordprocessingml.document.main+xml", b"wordprocessingml.template.main+xml")
            zout.writestr(item, data)
    _, _, annotations = annotate(src, tmp_path / "out")
    copy = annotations[str(src / "t.dotx")]
    assert copy.path.name == "t.dotx.reviewed.docx" and copy.annotated == 8
    assert b"wordprocessingml.document.main+xml" in zipfile.ZipFile(copy.path).read("[Content_Types].xml")
    assert len(list(Document(str(copy.path)).comments)) == 8
