"""A fast streaming reader for very large workbooks, with just the worksheet surface the xlsx reader uses.

openpyxl builds a Python object per cell and needs minutes and GBs for a sheet
of a million rows. Above :data:`~ddcheck.readers.xlsx_reader.STREAM_CELLS` the
workbook is read here instead: each sheet's XML is parsed incrementally with
lxml (entity resolution and network off, elements freed as soon as they are
read), rows come out one at a time, and reading stops as soon as the caller
stops asking (the cell limit). Hidden sheets, hidden rows and merged cells are
kept; cell notes are not read, and dates appear as Excel serial numbers.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass
from typing import Iterator

from lxml import etree
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

from ddcheck.readers.errors import InputError
from ddcheck.readers.ooxml import read_xml

S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_R = "http://schemas.openxmlformats.org/package/2006/relationships"
_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")
_MAX_COL = 16384
_DATE_FORMAT_IDS = set(range(14, 23)) | set(range(27, 37)) | {45, 46, 47} | set(range(50, 59))   # incl. the CJK built-ins
_C, _V, _IS, _T, _RPH = (f"{{{S}}}{tag}" for tag in ("c", "v", "is", "t", "rPh"))


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        if not "A" <= ch <= "Z":
            return 0
        n = n * 26 + ord(ch) - 64
    return n


def _letters(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


_COLUMNS = {_letters(i): i for i in range(1, 703)}        # A..ZZ, the columns questionnaires use


@dataclass(frozen=True)
class _Range:
    min_row: int
    min_col: int
    max_row: int
    max_col: int


@dataclass(frozen=True)
class _RowDim:
    hidden: bool = True


class _Merged:
    def __init__(self):
        self.ranges: list[_Range] = []


class _NoComment:
    comment = None


def _iter(source, tags):
    return etree.iterparse(source, events=("end",), tag=tags, resolve_entities=False, no_network=True,
                           load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True)


def _free(element) -> None:
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


class StreamSheet:
    """One worksheet, read row by row from the package."""

    def __init__(self, package: zipfile.ZipFile, part: str, title: str, state: str, strings, name: str,
                 date_styles: frozenset[int] = frozenset(), epoch=None):
        self._package = package
        self._date_styles = date_styles
        self._epoch = epoch
        self._part = part
        self._strings = strings
        self._name = name
        self.title = title
        self.sheet_state = state
        self.merged_cells = _Merged()
        self.row_dimensions: dict[int, _RowDim] = {}

    def cell(self, row: int, column: int) -> _NoComment:
        return _NoComment()

    def iter_rows(self, values_only: bool = True) -> Iterator[tuple]:
        """Rows 1..last as tuples of values (str, float, bool or None); gaps come out as empty rows."""
        expected = 1
        try:
            with self._package.open(self._part) as handle:
                for _event, element in _iter(handle, (f"{{{S}}}row", f"{{{S}}}mergeCell")):
                    if element.tag == f"{{{S}}}mergeCell":
                        self._merge(element.get("ref", ""))
                        _free(element)
                        continue
                    number = int(element.get("r") or expected)
                    if number < expected:           # rows out of order: keep going below the last one
                        number = expected
                    while expected < number:
                        yield ()
                        expected += 1
                    if element.get("hidden") in ("1", "true"):
                        self.row_dimensions[number] = _RowDim(True)
                    yield self._row(element)
                    expected = number + 1
                    _free(element)
        except etree.XMLSyntaxError as exc:
            raise InputError("corrupt", f"{self._name}: damaged workbook ({self._part}: {' '.join(str(exc).split())[:120]})") from None

    def _merge(self, ref: str) -> None:
        if ":" not in ref:
            return
        first, last = ref.split(":", 1)
        a, b = _CELL_REF.match(first), _CELL_REF.match(last)
        if a and b:
            self.merged_cells.ranges.append(_Range(int(a.group(2)), _col_index(a.group(1)), int(b.group(2)), _col_index(b.group(1))))

    def _row(self, row) -> tuple:
        values: list = []
        columns = _COLUMNS
        for c in row:
            if c.tag != _C:
                continue
            ref = c.get("r")
            col = columns.get(ref.rstrip("0123456789")) if ref else None
            if col is None:
                col = _col_index(ref.rstrip("0123456789")) if ref and ref[:1].isalpha() else len(values) + 1
                if not 1 <= col <= _MAX_COL:
                    continue
            if col > len(values):
                values.extend([None] * (col - len(values)))
            values[col - 1] = self._value(c)
        return tuple(values)

    def _value(self, c):
        # Children are walked directly: lxml's find()/findtext() go through ElementPath in Python (~5 us a call).
        kind = c.get("t")
        value = None
        for child in c:
            tag = child.tag
            if tag == _V:
                value = child.text
            elif tag == _IS:
                return _rich_text(child)
        if value is None:
            return None
        if kind == "s":
            try:
                return self._strings()[int(value)]
            except (ValueError, IndexError):
                return None
        if kind == "b":
            return value.strip() in ("1", "true")
        if kind in ("str", "e", "d", "inlineStr"):
            return value
        try:
            number = float(value)
        except ValueError:
            return value
        if self._date_styles and c.get("s") and int(c.get("s")) in self._date_styles:
            try:
                return from_excel(number, self._epoch)
            except (ValueError, OverflowError, TypeError):
                pass
        return int(number) if number.is_integer() and abs(number) < 1e15 else number


def _rich_text(node) -> str:
    """The text of an <si> or <is>: its <t> and rich-text runs, without phonetic (<rPh>) guides."""
    if len(node) == 1 and node[0].tag == _T:           # the common case: one plain <t>
        return node[0].text or ""
    return "".join(t.text or "" for t in node.iter(_T) if t.getparent().tag != _RPH)


class StreamWorkbook:
    """The sheets of a workbook in workbook order, each read lazily."""

    def __init__(self, package: zipfile.ZipFile, name: str):
        self._package = package
        self._name = name
        self._shared: list[str] | None = None
        workbook = read_xml(package, "xl/workbook.xml", name)
        rels = read_xml(package, "xl/_rels/workbook.xml.rels", name, required=False)
        targets: dict[str, str] = {}
        shared_part = None
        if rels is not None:
            for rel in rels.iter(f"{{{PKG_R}}}Relationship"):
                target = rel.get("Target", "")
                path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
                targets[rel.get("Id", "")] = path
                if rel.get("Type", "").endswith("/sharedStrings"):
                    shared_part = path
        self._shared_part = shared_part or ("xl/sharedStrings.xml" if "xl/sharedStrings.xml" in package.namelist() else None)
        names = set(package.namelist())
        date_styles = self._date_styles(package, name)
        props = workbook.find(f"{{{S}}}workbookPr")
        epoch = CALENDAR_MAC_1904 if props is not None and props.get("date1904") in ("1", "true") else CALENDAR_WINDOWS_1900
        self.worksheets: list[StreamSheet] = []
        for index, sheet in enumerate(workbook.iter(f"{{{S}}}sheet"), 1):
            part = targets.get(sheet.get(f"{{{R}}}id", ""), f"xl/worksheets/sheet{index}.xml")
            if part not in names or "worksheets/" not in part:
                continue                       # chartsheets, dialog sheets, dangling references
            self.worksheets.append(StreamSheet(package, part, sheet.get("name", f"Sheet{index}"),
                                               sheet.get("state", "visible"), self._strings, name, date_styles, epoch))

    @staticmethod
    def _date_styles(package: zipfile.ZipFile, name: str) -> frozenset[int]:
        """Indexes of the cell formats (cellXfs) whose number format shows a date or time."""
        styles = read_xml(package, "xl/styles.xml", name, required=False)
        if styles is None:
            return frozenset()
        custom = {int(f.get("numFmtId", "-1")): f.get("formatCode", "") for f in styles.iter(f"{{{S}}}numFmt")
                  if (f.get("numFmtId") or "").isdigit()}
        found = set()
        xfs = styles.find(f"{{{S}}}cellXfs")
        for index, xf in enumerate(xfs if xfs is not None else ()):
            fmt_id = xf.get("numFmtId", "0")
            if not fmt_id.isdigit():
                continue
            code = custom.get(int(fmt_id)) or BUILTIN_FORMATS.get(int(fmt_id), "")
            if int(fmt_id) in _DATE_FORMAT_IDS or (code and is_date_format(code)):
                found.add(index)
        return frozenset(found)

    def _strings(self) -> list[str]:
        if self._shared is None:
            self._shared = []
            if self._shared_part and self._shared_part in self._package.namelist():
                try:
                    with self._package.open(self._shared_part) as handle:
                        for _event, si in _iter(handle, (f"{{{S}}}si",)):
                            self._shared.append(_rich_text(si))
                            _free(si)
                except etree.XMLSyntaxError as exc:
                    raise InputError("corrupt", f"{self._name}: damaged workbook (shared strings: "
                                                f"{' '.join(str(exc).split())[:120]})") from None
        return self._shared

    def close(self) -> None:
        pass
