"""Read a Word .docx/.docm into units by walking its XML directly.

Walking the XML rather than python-docx's object model is deliberate:
``Paragraph.text`` drops text inside content controls (w:sdt) and tracked
insertions (w:ins), python-docx repeats a merged cell once per grid cell and
refuses macro-enabled files, and it cannot see Word's generated list numbers.

Sections come from heading styles (with their generated numbers), from typed
headings ("一、…", "第一部分", and bold "（一）…") and from merged table rows.
A section headed "Notes" / "Instructions" / "填写说明" / "合规提示" holds
instructions, not questions, until the next heading, table, question mark or
change of Word list. Sub-points ((a), （1）, A./□ options, ___ ranking blanks,
bullets under a numbered question) join the item they belong to. Header and
footer text that asks nothing is kept as skipped text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ddcheck.model import Extraction, Location, RawUnit, Skipped
from ddcheck.readers.limits import Limits, room_for_unit
from ddcheck.readers.numbering import Numbering
from ddcheck.readers.ooxml import NS, W, open_package, read_xml
from ddcheck.readers.tables import find_header, row_parts
from ddcheck.segment import (QUESTION_MARK, SUB_POINT, classify, heading_level, is_notes_heading, is_question,
                             looks_like_heading, split_label)
from ddcheck.textnorm import clean

_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)
_SUBLABEL_FORMATS = re.compile(r"^[(（]?(?:[a-zA-Z]{1,2}|[ivxIVX]{1,4}|[①-⑳])[.)）]?$")
_SKIP_TEXT_INSIDE = {f"{{{W}}}del", f"{{{W}}}moveFrom", f"{{{W}}}txbxContent", f"{{{NS['mc']}}}Fallback"}


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def _val(el, tag: str):
    child = el.find(_w(tag)) if el is not None else None
    return child.get(_w("val")) if child is not None else None


def _label_kind(label: str) -> str:
    """The family a list label belongs to: (a) and (b) are one family, Q3 and A. are two."""
    core = label.strip("()（）.、．:： ")
    if not core:
        return ""
    if core[0] in "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳":
        return "circled"
    if core[0] in "□☐○◯●":
        return "box"
    if re.fullmatch(r"[ivxIVX]+", core):
        return "roman"
    if re.fullmatch(r"[A-Za-z]", core):
        return ("paren-" if label.startswith(("(", "（")) else "") + "letter"
    if re.fullmatch(r"[\d.]+", core):
        return ("paren-" if label.startswith(("(", "（")) else "") + "digit"
    if re.fullmatch(r"[一二三四五六七八九十百]+", core):
        return ("paren-" if label.startswith(("(", "（")) else "") + "cn"
    return core[:1].lower()


def _join_label(label: str, text: str) -> str:
    """"1." + "Corporate" -> "1. Corporate"; "一、" + "公司基本情况" -> "一、公司基本情况"."""
    if not label:
        return text
    return f"{label}{text}" if label[-1] in "、）．" else f"{label} {text}"


def paragraph_text(p) -> str:
    """All visible text of a paragraph, including content controls and tracked insertions.

    Deleted and moved-away text is left out; text boxes are read separately; the
    Fallback copy of a drawing (which repeats its Choice) is not read twice.
    """
    parts: list[str] = []

    def walk(el):
        for child in el:
            tag = child.tag
            if tag in _SKIP_TEXT_INSIDE:
                continue
            if tag == _w("t"):
                parts.append(child.text or "")
            elif tag == _w("tab"):
                parts.append("\t")
            elif tag in (_w("br"), _w("cr")):
                parts.append("\n")
            elif tag == _w("noBreakHyphen"):
                parts.append("-")
            else:
                walk(child)

    walk(p)
    return "".join(parts)


@dataclass
class _Style:
    name: str = ""
    based_on: str | None = None
    num: tuple[str, int] | None = None
    outline: int | None = None
    bold: bool | None = None


def _on(el) -> bool | None:
    """The value of a toggle property such as <w:b/> (None when absent)."""
    if el is None:
        return None
    return el.get(_w("val"), "true").lower() not in ("0", "false", "off")


def _parse_styles(root) -> dict[str, _Style]:
    styles: dict[str, _Style] = {}
    if root is None:
        return styles
    for st in root.findall(_w("style")):
        ppr = st.find(_w("pPr"))
        num = None
        outline = None
        if ppr is not None:
            numpr = ppr.find(_w("numPr"))
            if numpr is not None and _val(numpr, "numId"):
                num = (_val(numpr, "numId"), int(_val(numpr, "ilvl") or 0))
            if _val(ppr, "outlineLvl") is not None:
                outline = int(_val(ppr, "outlineLvl"))
        rpr = st.find(_w("rPr"))
        styles[st.get(_w("styleId"))] = _Style(
            name=_val(st, "name") or "", based_on=_val(st, "basedOn"), num=num, outline=outline,
            bold=_on(rpr.find(_w("b"))) if rpr is not None else None,
        )
    return styles


@dataclass
class _State:
    """Running state while walking the body: section path, counters, the unit that may take sub-points."""

    sections: list[tuple[int, str]] = field(default_factory=list)
    paragraph: int = 0
    table: int = 0
    textbox: int = 0
    open_unit: int | None = None        # index in out.units that sub-points may join
    open_ilvl: int = -1
    open_numbered: bool = False         # the open unit carries a Word-generated (non-bullet) number
    pending_prose: tuple[str, Location, str, int] | None = None   # short prose that options may turn into a question
    notes_level: int | None = None      # inside a "Notes" / "填写说明" section opened at this level
    notes_list: str | None = None       # the Word list the notes are numbered with

    def section(self) -> str:
        return " > ".join(text for _, text in self.sections)

    def push_section(self, level: int, text: str, notes: bool = False) -> None:
        while self.sections and self.sections[-1][0] >= level:
            self.sections.pop()
        self.sections.append((level, text))
        if notes:
            self.notes_level = level
            self.notes_list = None
        elif self.notes_level is not None and level <= self.notes_level:
            self.notes_level = None


def cell_paragraphs(tc) -> list:
    """A table cell's own paragraphs: those of tables nested in it belong to those tables."""
    out = []
    for p in tc.iter(_w("p")):
        anc = p.getparent()
        while anc is not None and anc is not tc and anc.tag != _w("tbl"):
            anc = anc.getparent()
        if anc is tc:
            out.append(p)
    return out


class DocxReader:
    def __init__(self, data: bytes, name: str, limits: Limits):
        self.name = name
        self.limits = limits
        self.package = open_package(data, name, limits)
        self.out = Extraction(format="docx")
        self.state = _State()

    # -- document structure -------------------------------------------------------------
    def read(self) -> Extraction:
        names = set(self.package.namelist())
        if "word/document.xml" not in names:
            if "xl/workbook.xml" in names:
                raise _IsSpreadsheet()
        document = read_xml(self.package, "word/document.xml", self.name)
        self.styles = _parse_styles(read_xml(self.package, "word/styles.xml", self.name, required=False))
        self.numbering = Numbering.parse(read_xml(self.package, "word/numbering.xml", self.name, required=False))
        body = document.find(_w("body"))
        if body is None:
            return self.out
        self._walk_blocks(body, container="body")
        self._read_textboxes(body)
        self._read_headers_footers(names)
        if "word/vbaProject.bin" in names:
            self.out.warnings.append("macro-enabled document: its macros were not run or inspected")
        if body.find(f".//{_w('altChunk')}") is not None:
            self.out.warnings.append("holds imported HTML/RTF content (altChunk) that Word shows but ddcheck did not read: "
                                     "open it in Word, save it as a new .docx and scan the copy")
        return self.out

    def _walk_blocks(self, parent, container: str) -> None:
        for child in parent:
            tag = child.tag
            if tag == _w("p"):
                self._paragraph(child, container)
            elif tag == _w("tbl"):
                self.state.table += 1
                self._close_unit()
                self.state.notes_level = None
                self._table(child, f"table {self.state.table}", [("table", self.state.table)])
            elif tag in (_w("sdt"), _w("customXml"), _w("ins"), _w("smartTag")):
                content = child.find(_w("sdtContent"))
                self._walk_blocks(content if content is not None else child, container)

    # -- paragraphs ----------------------------------------------------------------------
    def _numbering_of(self, p) -> tuple[str, int] | None:
        ppr = p.find(_w("pPr"))
        numpr = ppr.find(_w("numPr")) if ppr is not None else None
        if numpr is not None and _val(numpr, "numId") is not None:
            num_id = _val(numpr, "numId")
            return None if num_id == "0" else (num_id, int(_val(numpr, "ilvl") or 0))
        style_id = _val(ppr, "pStyle") if ppr is not None else None
        for _ in range(10):
            style = self.styles.get(style_id or "")
            if style is None:
                return None
            if style.num:
                return None if style.num[0] == "0" else style.num
            style_id = style.based_on
        return None

    def _heading_level(self, p) -> tuple[int | None, bool]:
        """(heading level or None, is the document title)."""
        ppr = p.find(_w("pPr"))
        if ppr is not None and _val(ppr, "outlineLvl") is not None:
            level = int(_val(ppr, "outlineLvl"))
            if level < 9:
                return level + 1, False
        style_id = _val(ppr, "pStyle") if ppr is not None else None
        for _ in range(10):
            style = self.styles.get(style_id or "")
            if style is None:
                break
            name = style.name.strip()
            if name.lower() in ("title", "标题", "subtitle", "副标题"):
                return None, True
            match = _HEADING_STYLE.match(name)
            if match:
                return int(match.group(1)), False
            if style.outline is not None and style.outline < 9:
                return style.outline + 1, False
            style_id = style.based_on
        return None, False

    def _is_bold(self, p) -> bool:
        """Is every run of text in the paragraph bold (directly, by character style or by paragraph style)?"""
        ppr = p.find(_w("pPr"))
        style_bold = self._style_bold(_val(ppr, "pStyle") if ppr is not None else None)
        runs = [r for r in p.iter(_w("r")) if any(t.text and t.text.strip() for t in r.iter(_w("t")))]
        if not runs:
            return False
        for run in runs:
            rpr = run.find(_w("rPr"))
            bold = _on(rpr.find(_w("b"))) if rpr is not None else None
            if bold is None and rpr is not None:
                bold = self._style_bold(_val(rpr, "rStyle"))
            if bold is None:
                bold = style_bold
            if not bold:
                return False
        return True

    def _style_bold(self, style_id: str | None) -> bool | None:
        for _ in range(10):
            style = self.styles.get(style_id or "")
            if style is None:
                return None
            if style.bold is not None:
                return style.bold
            style_id = style.based_on
        return None

    def _paragraph(self, p, container: str) -> None:
        self.state.paragraph += 1
        number = self.state.paragraph
        text = clean(paragraph_text(p))
        if not text:
            return
        fields = [("paragraph", number)]
        if p.find(f".//{_w('ins')}") is not None:
            fields.append(("tracked_insertion", True))
        if p.find(f".//{_w('sdt')}") is not None or container == "content control":
            fields.append(("content_control", True))
        location = Location(f"¶{number}", tuple(fields))
        level, is_title = self._heading_level(p)
        numbered = self._numbering_of(p)
        label = ""
        if numbered and not self.numbering.is_bullet(*numbered):
            label = self.numbering.next_label(*numbered)
        elif numbered:
            self.numbering.next_label(*numbered)
        if is_title:
            self._skip(text, location, "title")
            return
        if level is not None:
            self.state.push_section(level, _join_label(label, text), notes=is_notes_heading(text))
            self._skip(text, location, "heading")
            return
        typed_label, body = split_label(text)
        if not numbered and looks_like_heading(text, bold=self._is_bold(p)):
            self.state.push_section(heading_level(text), text)
            self._skip(text, location, "heading")
            return
        if not numbered and is_notes_heading(text) and (self._is_bold(p) or text.rstrip().endswith((":", "："))
                                                        or len(text) <= 12):
            # "填写说明" / "Notes:" typed as a paragraph: a notes section below the current one.
            deeper = (self.state.sections[-1][0] + 1) if self.state.sections else 1
            self.state.push_section(deeper, text, notes=True)
            self._skip(text, location, "heading")
            return
        if self.state.notes_level is not None and self._in_notes(text, numbered):
            self._close_unit()
            self._skip(text, location, "instruction")
            return
        ilvl = numbered[1] if numbered else -1
        sub_label = label if label and _SUBLABEL_FORMATS.match(label) else ""
        bullet = bool(numbered) and self.numbering.is_bullet(*numbered)
        if bullet and self.state.open_unit is not None and self.state.open_numbered:
            # bullets under a numbered question are its probes / sub-points
            self._append_to_open(f"• {text}")
            return
        if self._joins_open_unit(text, sub_label, ilvl):
            self._append_to_open(f"{label} {text}".strip() if sub_label else text)
            return
        if self.state.pending_prose and SUB_POINT.match(text) and not numbered:
            # A survey question without a question mark or label, recognised by the options under it.
            prev_text, prev_loc, prev_section, skipped_at = self.state.pending_prose
            del self.out.skipped[skipped_at]
            self._emit(prev_text, prev_loc, container, prev_section, "", ilvl)
            self._append_to_open(text)
            return
        kind = classify(text, in_list=bool(numbered) or bool(typed_label))
        if kind == "unit":
            self._emit(text, location, container, self.state.section(), label or typed_label, ilvl)
            self.state.open_numbered = bool(numbered) and not bullet
        else:
            self._close_unit()
            self._skip(text, location, kind)
            if kind == "prose" and len(text) < 120:
                self.state.pending_prose = (text, location, self.state.section(), len(self.out.skipped) - 1)

    def _in_notes(self, text: str, numbered: tuple[str, int] | None) -> bool:
        """Inside a notes section: does this paragraph still belong to the notes?

        The notes end at the next heading, at a table, at a real question (a question
        mark), or where Word numbering switches to another list (the questions begin).
        """
        state = self.state
        if QUESTION_MARK.search(text):
            state.notes_level = None
            return False
        if numbered:
            if state.notes_list is None:
                state.notes_list = numbered[0]
            elif numbered[0] != state.notes_list:
                state.notes_level = None
                return False
        return True

    def _joins_open_unit(self, text: str, sub_label: str, ilvl: int) -> bool:
        if self.state.open_unit is None:
            return False
        opener = self.out.units[self.state.open_unit]
        if sub_label and ilvl > self.state.open_ilvl:
            return True
        if not SUB_POINT.match(text):
            return False
        # "A. …" after "Q3. …" is an option of Q3; "B. …" after "A. …" is the next item of the same list.
        return not opener.item_label or _label_kind(split_label(text)[0]) != _label_kind(opener.item_label)

    def _emit(self, text, location, container, section, label, ilvl) -> None:
        if not room_for_unit(self.out, self.limits):
            return
        self.out.units.append(RawUnit(text=text, location=location, section=section, container=container, item_label=label))
        self.state.open_unit = len(self.out.units) - 1
        self.state.open_ilvl = ilvl
        self.state.open_numbered = False
        self.state.pending_prose = None

    def _append_to_open(self, text: str) -> None:
        index = self.state.open_unit
        unit = self.out.units[index]
        self.out.units[index] = RawUnit(
            text=f"{unit.text}\n{text}", location=unit.location, section=unit.section,
            container=unit.container, item_label=unit.item_label, context=unit.context, hidden=unit.hidden,
        )

    def _close_unit(self) -> None:
        self.state.open_unit = None
        self.state.pending_prose = None

    def _skip(self, text: str, location: Location, reason: str) -> None:
        self.out.skipped.append(Skipped(text=text, location=location, reason=reason))
        if reason in ("heading", "title"):
            self._close_unit()

    # -- tables --------------------------------------------------------------------------
    def _rows(self, tbl):
        """Yield (row number, [(col, span, tc, continued)]) with merged cells resolved."""
        for r, tr in enumerate(tbl.iterfind(_w("tr")), 1):
            cells = []
            col = 1
            for tc in tr.iter(_w("tc")):
                if tc.getparent() is not tr and tc.getparent().tag != _w("sdtContent"):
                    continue
                tcpr = tc.find(_w("tcPr"))
                span = int(_val(tcpr, "gridSpan") or 1) if tcpr is not None else 1
                vmerge = tcpr.find(_w("vMerge")) if tcpr is not None else None
                continued = vmerge is not None and vmerge.get(_w("val"), "continue") == "continue"
                cells.append((col, span, tc, continued))
                col += span
            yield r, cells

    def _cell_text(self, tc) -> str:
        return clean("\n".join(paragraph_text(p) for p in cell_paragraphs(tc)))

    def _table(self, tbl, label: str, fields: list) -> None:
        grid = []
        for r, cells in self._rows(tbl):
            grid.append((r, [(col, span, tc, continued, "" if continued else self._cell_text(tc)) for col, span, tc, continued in cells]))
        width = max((col + span - 1 for _, cells in grid for col, span, *_ in cells), default=0)
        flat, raw = [], []
        for _, cells in grid:
            row, own = [""] * width, [""] * width
            for col, span, _tc, continued, text in cells:
                own[col - 1] = text
                # for context, a vertically merged cell reads as its first cell's text on every row it spans
                row[col - 1] = flat[-1][col - 1] if continued and flat else text
            flat.append(row)
            raw.append(own)
        header = find_header(raw, max_scan=3)
        seen_merged = set()
        for (r, cells), row in zip(grid, flat):
            filled = [c for c in cells if c[4]]
            is_section_row = len(cells) == 1 and cells[0][1] == width and width > 1
            for col, span, tc, continued, text in cells:
                loc = Location(f"{label} r{r}c{col}", tuple(fields) + (("row", r), ("col", col)))
                for nested_index, nested in enumerate(
                    (t for t in tc.iter(_w("tbl")) if t is not tbl and self._parent_tc(t) is tc), 1
                ):
                    self._table(nested, f"{label} r{r}c{col} > table {nested_index}",
                                list(fields) + [("row", r), ("col", col), ("nested_table", nested_index)])
                if continued or not text or id(tc) in seen_merged:
                    continue
                seen_merged.add(id(tc))
                if header is not None and r - 1 < header.data_start:
                    self._skip(text, loc, "table header" if r - 1 >= header.row else "title")
                    continue
                if is_section_row or (header is not None and col - 1 != header.question_col and len(filled) == 1 and not is_question(text)):
                    self.state.push_section(9, text)
                    self._skip(text, loc, "heading")
                    continue
                if header is not None:
                    if col - 1 != header.question_col:
                        question_text = row[header.question_col] if header.question_col < len(row) else ""
                        if question_text and classify(question_text, in_list=True) == "unit":
                            continue            # travels with the question as its label, answer, detail or context
                        self._skip(text, loc, "other column")
                        continue
                    kind = classify(text, in_list=True)
                else:
                    kind = classify(text, in_list=False)
                if kind != "unit":
                    self._skip(text, loc, kind)
                    continue
                context: list[tuple[str, str]] = []
                item_label = ""
                section = self.state.section()
                if header is not None:
                    detail, context, parts, item_label = row_parts(header, row)
                    if detail:
                        text = f"{text}\n{detail}"
                    if parts:
                        section = " > ".join(filter(None, [section, *parts]))
                if not item_label:
                    item_label = split_label(text)[0]
                if room_for_unit(self.out, self.limits):
                    self.out.units.append(RawUnit(
                        text=text, location=loc, section=section, container="body",
                        item_label=item_label, context=tuple(context),
                    ))
        self._close_unit()
        if self.state.sections and self.state.sections[-1][0] == 9:
            self.state.sections.pop()

    @staticmethod
    def _parent_tc(tbl):
        anc = tbl.getparent()
        while anc is not None and anc.tag != _w("tc"):
            anc = anc.getparent()
        return anc

    # -- text boxes, headers and footers -------------------------------------------------
    def _read_textboxes(self, body) -> None:
        for box in body.iter(_w("txbxContent")):
            anc = box.getparent()
            in_fallback = False
            while anc is not None:
                if anc.tag == f"{{{NS['mc']}}}Fallback":
                    in_fallback = True
                    break
                anc = anc.getparent()
            if in_fallback:
                continue
            self.state.textbox += 1
            for k, p in enumerate(box.iter(_w("p")), 1):
                text = clean(paragraph_text(p))
                if not text:
                    continue
                loc = Location(f"text box {self.state.textbox} ¶{k}", (("textbox", self.state.textbox), ("paragraph_in_box", k)))
                if classify(text) == "unit" and room_for_unit(self.out, self.limits):
                    self.out.units.append(RawUnit(text=text, location=loc, section="text box", container="textbox"))
                else:
                    self._skip(text, loc, "text box")

    def _read_headers_footers(self, names: set[str]) -> None:
        for part in sorted(n for n in names if re.match(r"word/(header|footer)\d*\.xml$", n)):
            root = read_xml(self.package, part, self.name, required=False)
            if root is None:
                continue
            kind = part.split("/")[1][:-4]
            reason = kind.rstrip("0123456789")
            for k, p in enumerate(root.iter(_w("p")), 1):
                text = clean(paragraph_text(p))
                if not text:
                    continue
                loc = Location(f"{kind} ¶{k}", (("part", kind), ("paragraph_in_part", k)))
                if is_question(text) and classify(text) == "unit" and room_for_unit(self.out, self.limits):
                    self.out.units.append(RawUnit(text=text, location=loc, section=kind, container=kind))
                else:
                    self.out.skipped.append(Skipped(text=text, location=loc, reason=reason))


class _IsSpreadsheet(Exception):
    """Raised when a file named .docx is really a workbook; the dispatcher reads it as one."""


def read_docx(data: bytes, name: str, limits: Limits) -> Extraction:
    return DocxReader(data, name, limits).read()
