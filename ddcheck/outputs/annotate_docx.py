"""A reviewed copy of a Word document: one real Word comment per flagged unit, plus a highlight.

The copy is made by editing the package's XML directly, not through python-docx:
every part other than the document body, the comments part, its relationship
and the content types is copied byte for byte, so nothing the library does not
model (content controls, tracked changes, fields, drawings, macros in a .docm)
is lost. Comments are anchored at paragraph level (start after the paragraph
properties, end after the last run), which also works for paragraphs inside
content controls and around tracked insertions.

Locations are found the way :mod:`ddcheck.readers.docx_reader` counts them:
``¶N`` is the N-th ``w:p`` met walking the body's blocks in order (empty ones
included; paragraphs inside tables and text boxes not counted; content controls,
custom XML, smart tags and block-level insertions walked into); ``table T`` is
the T-th table met on the same walk, ``rRcC`` the R-th ``w:tr`` and the grid
column C (``w:gridSpan`` widens a cell); nested tables are numbered within their
cell. After writing, the copy is parsed again and every comment is checked: it
must exist, be anchored, and sit on text that starts like the unit's text.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path, PurePosixPath

from lxml import etree

from ddcheck.report import write_atomic
from ddcheck.outputs.annotate import Annotation, rezip
from ddcheck.outputs.review import FileView, UnitView, note_text
from ddcheck.readers.docx_reader import cell_paragraphs, paragraph_text
from ddcheck.readers.limits import Limits
from ddcheck.readers.ooxml import NS, W, load_bytes, open_package, read_xml
from ddcheck.textnorm import clean, normalise

AUTHOR, INITIALS = "ddcheck", "DD"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
COMMENTS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments"
COMMENTS_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml"
HIGHLIGHT = {"high": "yellow", "medium": "lightGray", "low": "lightGray"}
_TEMPLATE_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml":
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml": "application/vnd.ms-word.document.macroEnabled.main+xml",
}

_TABLE_PART = re.compile(r"^table (\d+) r(\d+)c(\d+)$")
_TEXTBOX = re.compile(r"^text box (\d+) ¶\d+$")
_LOCKS = {"contentLocked", "sdtContentLocked"}
_NOT_VISIBLE = {f"{{{W}}}del", f"{{{W}}}moveFrom", f"{{{W}}}txbxContent", f"{{{NS['mc']}}}Fallback"}
# w:rPr children that must come after w:highlight (ECMA-376 CT_RPr sequence).
_AFTER_HIGHLIGHT = {f"{{{W}}}{tag}" for tag in (
    "u", "effect", "bdr", "shd", "fitText", "vertAlign", "rtl", "cs", "em", "lang", "eastAsianLayout",
    "specVanish", "oMath", "rPrChange")}


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


class Locator:
    """Find the XML elements a unit's location names, counting exactly as the reader does."""

    def __init__(self, body):
        self.body = body
        self.paragraphs: dict[int, etree._Element] = {}
        self.tables: dict[int, etree._Element] = {}
        self._p = self._t = 0
        self._walk(body)
        self.textboxes = [box for box in body.iter(_w("txbxContent")) if not _has_ancestor(box, {f"{{{NS['mc']}}}Fallback"})]

    def _walk(self, parent) -> None:
        for child in parent:
            tag = child.tag
            if tag == _w("p"):
                self._p += 1
                self.paragraphs[self._p] = child
            elif tag == _w("tbl"):
                self._t += 1
                self.tables[self._t] = child
            elif tag in (_w("sdt"), _w("customXml"), _w("ins"), _w("smartTag")):
                content = child.find(_w("sdtContent"))
                self._walk(content if content is not None else child)

    def first_paragraph(self):
        if self.paragraphs:
            return self.paragraphs[min(self.paragraphs)]
        return next(self.body.iter(_w("p")), None)

    @staticmethod
    def cell(tbl, row: int, col: int):
        for r, tr in enumerate(tbl.iterfind(_w("tr")), 1):
            if r != row:
                continue
            c = 1
            for tc in tr.iter(_w("tc")):
                if tc.getparent() is not tr and tc.getparent().tag != _w("sdtContent"):
                    continue
                tcpr = tc.find(_w("tcPr"))
                span_el = tcpr.find(_w("gridSpan")) if tcpr is not None else None
                span = int(span_el.get(_w("val")) or 1) if span_el is not None else 1
                if c == col:
                    return tc
                c += span
            return None
        return None

    @staticmethod
    def nested_tables(tc, tbl) -> list:
        return [t for t in tc.iter(_w("tbl")) if t is not tbl and _parent_tc(t) is tc]

    own_paragraphs = staticmethod(cell_paragraphs)

    def locate(self, label: str, fields: dict) -> tuple[list, str]:
        """(paragraphs to anchor on, where the unit really is when the comment cannot sit on it) or ([], reason)."""
        if label.startswith("¶"):
            p = self.paragraphs.get(int(fields.get("paragraph", label[1:] or 0)))
            return ([p], "") if p is not None else ([], f"paragraph {label} not found")
        if label.startswith("table "):
            tbl, tc = None, None
            for depth, part in enumerate(label.split(" > ")):
                match = _TABLE_PART.match(part.strip())
                if not match:
                    return [], f"cannot read the location {label!r}"
                number, row, col = (int(g) for g in match.groups())
                if depth == 0:
                    tbl = self.tables.get(number)
                else:
                    nested = self.nested_tables(tc, tbl)
                    tbl = nested[number - 1] if 0 < number <= len(nested) else None
                if tbl is None:
                    return [], f"{part} not found"
                tc = self.cell(tbl, row, col)
                if tc is None:
                    return [], f"{part}: cell not found"
            paragraphs = self.own_paragraphs(tc)
            return (paragraphs, "") if paragraphs else ([], f"{label}: cell has no paragraph")
        match = _TEXTBOX.match(label)
        if match:
            number = int(match.group(1))
            if not 0 < number <= len(self.textboxes):
                return [], f"{label} not found"
            host = self.textboxes[number - 1].getparent()
            while host is not None and host.tag != _w("p"):
                host = host.getparent()
            if host is None:
                return [], f"{label}: no paragraph holds the text box"
            return [host], label
        # headers and footers cannot hold comments in Word: anchor on the first body paragraph
        first = self.first_paragraph()
        return ([first], label) if first is not None else ([], f"{label}: the body has no paragraph")


def _has_ancestor(el, tags: set[str], stop=None) -> bool:
    anc = el.getparent()
    while anc is not None and anc is not stop:
        if anc.tag in tags:
            return True
        anc = anc.getparent()
    return False


def _parent_tc(tbl):
    anc = tbl.getparent()
    while anc is not None and anc.tag != _w("tc"):
        anc = anc.getparent()
    return anc


def _locked_control(p) -> bool:
    anc = p.getparent()
    while anc is not None:
        if anc.tag == _w("sdt"):
            pr = anc.find(_w("sdtPr"))
            lock = pr.find(_w("lock")) if pr is not None else None
            if lock is not None and lock.get(_w("val")) in _LOCKS:
                return True
        anc = anc.getparent()
    return any(
        (lock := sdt.find(f"{_w('sdtPr')}/{_w('lock')}")) is not None and lock.get(_w("val")) in _LOCKS
        for sdt in p.iter(_w("sdt"))
    )


def _highlight(paragraphs, colour: str) -> tuple[int, int]:
    """Highlight the visible text runs; runs the author already highlighted or shaded keep their colour."""
    done = kept = 0
    for p in paragraphs:
        for run in p.iter(_w("r")):
            if run.find(_w("t")) is None or _has_ancestor(run, _NOT_VISIBLE, stop=p):
                continue
            rpr = run.find(_w("rPr"))
            if rpr is None:
                rpr = etree.Element(_w("rPr"))
                run.insert(0, rpr)
            if rpr.find(_w("highlight")) is not None or rpr.find(_w("shd")) is not None:
                kept += 1
                continue
            mark = etree.Element(_w("highlight"))
            mark.set(_w("val"), colour)
            for index, child in enumerate(rpr):
                if child.tag in _AFTER_HIGHLIGHT or not str(child.tag).startswith(f"{{{W}}}"):
                    rpr.insert(index, mark)
                    break
            else:
                rpr.append(mark)
            done += 1
    return done, kept


def _anchor(paragraphs, comment_id: int) -> None:
    first, last = paragraphs[0], paragraphs[-1]
    start = etree.Element(_w("commentRangeStart"))
    start.set(_w("id"), str(comment_id))
    ppr = first.find(_w("pPr"))
    first.insert(list(first).index(ppr) + 1 if ppr is not None else 0, start)
    end = etree.SubElement(last, _w("commentRangeEnd"))
    end.set(_w("id"), str(comment_id))
    ref_run = etree.SubElement(last, _w("r"))
    ref = etree.SubElement(ref_run, _w("commentReference"))
    ref.set(_w("id"), str(comment_id))


def _comment(comments_root, comment_id: int, text: str) -> None:
    comment = etree.SubElement(comments_root, _w("comment"))
    comment.set(_w("id"), str(comment_id))
    comment.set(_w("author"), AUTHOR)
    comment.set(_w("initials"), INITIALS)
    for number, line in enumerate(text.split("\n")):
        p = etree.SubElement(comment, _w("p"))
        if number == 0:
            etree.SubElement(etree.SubElement(p, _w("r")), _w("annotationRef"))
        if not line:
            continue
        run = etree.SubElement(p, _w("r"))
        if number == 0:
            etree.SubElement(etree.SubElement(run, _w("rPr")), _w("b"))
        t = etree.SubElement(run, _w("t"))
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        t.text = line


def _xml_bytes(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _rels_target(rels_root, rel_type: str) -> str | None:
    for rel in rels_root.iter(f"{{{REL_NS}}}Relationship"):
        if rel.get("Type") == rel_type and rel.get("TargetMode") != "External":
            return rel.get("Target")
    return None


def _part_name(base_dir: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = []
    for piece in PurePosixPath(base_dir, target).parts:
        if piece == "..":
            if parts:
                parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def _first_line(text: str) -> str:
    return normalise(text.split("\n", 1)[0])[:200]


def annotate_docx(source: Path, target: Path, view: FileView, result: Annotation, *, inputs: set[Path],
                  lang: str = "en", data: bytes | None = None) -> None:
    limits = Limits()
    data = load_bytes(source, limits) if data is None else data        # given: a legacy file's converted bytes
    package = open_package(data, source.name, limits)
    names = package.namelist()
    document = read_xml(package, "word/document.xml", source.name)
    body = document.find(_w("body"))
    if body is None:
        raise ValueError("the document has no body")
    rels_name = "word/_rels/document.xml.rels"
    rels = read_xml(package, rels_name, source.name, required=False)
    if rels is None:
        rels = etree.Element(f"{{{REL_NS}}}Relationships", nsmap={None: REL_NS})
    types = read_xml(package, "[Content_Types].xml", source.name)

    target_rel = _rels_target(rels, COMMENTS_REL)
    comments_name = _part_name("word", target_rel) if target_rel else None
    comments = read_xml(package, comments_name, source.name, required=False) if comments_name else None
    new_part = comments is None
    if new_part:
        comments_name = "word/comments.xml" if "word/comments.xml" not in names else "word/ddcheck-comments.xml"
        comments = etree.Element(_w("comments"), nsmap={"w": W})
    used_ids = [int(v) for el in [*comments.iter(_w("comment")), *body.iter(_w("commentRangeStart")),
                                  *body.iter(_w("commentReference"))]
                if (v := el.get(_w("id"), "")).lstrip("-").isdigit()]
    next_id = max(used_ids, default=-1) + 1

    locator = Locator(body)
    placed: list[tuple[UnitView, int, bool]] = []         # (unit, comment id, is the anchor the unit's own text)
    moved: list[str] = []
    for unit in view.flagged:
        paragraphs, where = locator.locate(unit.location, dict(unit.raw.location.fields))
        if not paragraphs:
            result.warnings.append(f"{unit.location}: {where}; its comment sits on the first paragraph instead")
            first = locator.first_paragraph()
            if first is None:
                continue
            paragraphs, where = [first], unit.location
        if where:
            moved.append(unit.location)
        if _locked_control(paragraphs[0]):
            result.warnings.append(f"{unit.location} is inside a locked content control: the comment is in the file, "
                                   "but Word may not let you edit or reply to it")
        _anchor(paragraphs, next_id)
        _comment(comments, next_id, note_text(unit, lang, where=where))
        if not where:
            _highlight(paragraphs, HIGHLIGHT.get(unit.severity, "yellow"))
        placed.append((unit, next_id, not where))
        next_id += 1
    if moved:
        result.warnings.append(
            f"{len(moved)} flagged unit(s) sit in text boxes, headers or footers ({', '.join(moved[:5])}"
            f"{', …' if len(moved) > 5 else ''}), where Word cannot anchor a comment on the text: their comment is on the "
            "paragraph holding the text box, or on the first paragraph, and names the real place")

    if new_part and placed:
        rid_numbers = [int(m.group(1)) for rel in rels.iter(f"{{{REL_NS}}}Relationship")
                       if (m := re.fullmatch(r"rId(\d+)", rel.get("Id", "")))]
        rel = etree.SubElement(rels, f"{{{REL_NS}}}Relationship")
        rel.set("Id", f"rId{max(rid_numbers, default=0) + 1}")
        rel.set("Type", COMMENTS_REL)
        rel.set("Target", PurePosixPath(comments_name).relative_to("word").as_posix())
        override = etree.SubElement(types, f"{{{CT_NS}}}Override")
        override.set("PartName", "/" + comments_name)
        override.set("ContentType", COMMENTS_CT)

    retyped = False
    for override in types.iter(f"{{{CT_NS}}}Override"):       # a template's reviewed copy is a document
        if override.get("PartName") == "/word/document.xml" and override.get("ContentType") in _TEMPLATE_TYPES:
            override.set("ContentType", _TEMPLATE_TYPES[override.get("ContentType")])
            retyped = True
    changed = {"word/document.xml": _xml_bytes(document)}
    if placed:
        changed[comments_name] = _xml_bytes(comments)
        changed[rels_name] = _xml_bytes(rels)
    if placed or retyped:
        changed["[Content_Types].xml"] = _xml_bytes(types)
    members = [(info, changed.pop(info.filename, None) or package.read(info.filename)) for info in package.infolist()]
    members += [(name, blob) for name, blob in changed.items()]
    out = rezip(members)

    if any(n.startswith("_xmlsignatures/") for n in names):
        result.warnings.append("the original is digitally signed: the reviewed copy's signature is no longer valid")
    settings = read_xml(package, "word/settings.xml", source.name, required=False)
    protection = settings.find(_w("documentProtection")) if settings is not None else None
    if protection is not None and protection.get(_w("enforcement"), "0").lower() in ("1", "true", "on"):
        result.warnings.append(f"the document is protected ({protection.get(_w('edit'), 'restricted')} editing): "
                               "the comments were written into the file, but Word may not let you reply to them")

    write_atomic(target, out, inputs)
    result.path = target
    result.annotated = verify_docx(out, placed, result)


def count_comments(data: bytes, author: str = AUTHOR) -> int:
    """Comments by ``author`` in a .docx/.docm, read straight from its comments part."""
    package = zipfile.ZipFile(io.BytesIO(data))
    rels = read_xml(package, "word/_rels/document.xml.rels", "copy", required=False)
    target = _rels_target(rels, COMMENTS_REL) if rels is not None else None
    if not target:
        return 0
    comments = read_xml(package, _part_name("word", target), "copy", required=False)
    if comments is None:
        return 0
    return sum(1 for c in comments.iter(_w("comment")) if c.get(_w("author")) == author)


def verify_docx(data: bytes, placed: list[tuple[UnitView, int, bool]], result: Annotation) -> int:
    """Open the written copy again: count the comments that exist, are anchored, and sit on the unit's text."""
    package = zipfile.ZipFile(io.BytesIO(data))
    document = read_xml(package, "word/document.xml", "copy")
    body = document.find(_w("body"))
    rels = read_xml(package, "word/_rels/document.xml.rels", "copy", required=False)
    target = _rels_target(rels, COMMENTS_REL) if rels is not None else None
    comments = read_xml(package, _part_name("word", target), "copy", required=False) if target else None
    ours = {c.get(_w("id")) for c in comments.iter(_w("comment")) if c.get(_w("author")) == AUTHOR} if comments is not None else set()
    starts = {el.get(_w("id")) for el in body.iter(_w("commentRangeStart"))}
    ends = {el.get(_w("id")) for el in body.iter(_w("commentRangeEnd"))}
    refs = {el.get(_w("id")) for el in body.iter(_w("commentReference"))}
    locator = Locator(body)
    good = 0
    for unit, comment_id, own in placed:
        cid = str(comment_id)
        if not (cid in ours and cid in starts and cid in ends and cid in refs):
            continue
        good += 1
        if own:
            paragraphs, _ = locator.locate(unit.location, dict(unit.raw.location.fields))
            anchored = normalise(clean("\n".join(paragraph_text(p) for p in paragraphs)))
            if _first_line(unit.text) not in anchored:
                result.warnings.append(f"{unit.location}: the comment's paragraph does not read like the flagged text; check it")
    try:  # the same count as a client library sees it (python-docx refuses macro-enabled .docm files)
        from docx import Document

        seen = sum(1 for c in Document(io.BytesIO(data)).comments if c.author == AUTHOR)
        before = len(ours) - len(placed)
        if seen - before != good:
            result.warnings.append(f"python-docx sees {seen - before} new comment(s), expected {good}")
    except ValueError:
        pass
    return good
