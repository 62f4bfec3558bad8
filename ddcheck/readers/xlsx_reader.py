"""Read an Excel .xlsx/.xlsm workbook into units.

Every sheet is read, hidden sheets and hidden rows included (and marked hidden).
The header row and question column are found by name (English and Chinese);
title rows, instruction rows and section rows are kept as skipped text; the
answer cell beside a question and any cell note on the row travel with the unit
as context. Merged cells are reported once, from their top-left cell.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from ddcheck.model import Extraction, Location, RawUnit, Skipped
from ddcheck.readers.errors import InputError
from ddcheck.readers.limits import Limits
from ddcheck.readers.ooxml import open_package, read_xml
from ddcheck.readers.tables import Header, find_header, longest_text_column
from ddcheck.segment import classify, is_question, split_label
from ddcheck.textnorm import clean

_INSTRUCTION_SHEET = re.compile(r"^(?:instructions?|read ?me|guidance|notes?|cover|说明|填写说明|填表说明|封面|目录|contents)$", re.IGNORECASE)
_SAFE_SHEET = re.compile(r"^[^\W\d]\w*$")
# Above this many cells openpyxl's full model costs too much memory: stream instead.
STREAM_CELLS = 2_000_000


def _cell_str(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return clean(str(value))


def cell_label(sheet: str, col: int, row: int) -> str:
    name = sheet if _SAFE_SHEET.match(sheet) else "'" + sheet.replace("'", "''") + "'"
    return f"{name}!{get_column_letter(col)}{row}"


def _declared_cells(data: bytes, name: str, limits: Limits) -> int:
    """Cells the sheets declare in their <dimension>, read without loading the workbook."""
    package = open_package(data, name, limits)
    if "xl/workbook.xml" not in package.namelist():
        raise InputError("corrupt", f"{name}: damaged file (missing xl/workbook.xml)")
    total = 0
    for part in package.namelist():
        if re.match(r"xl/worksheets/sheet\d+\.xml$", part):
            head = package.open(part).read(4096).decode("utf-8", "replace")
            match = re.search(r'<(?:\w+:)?dimension ref="[A-Z]+(\d+)(?::([A-Z]+)(\d+))?"', head)
            if match and match.group(3):
                cols = sum((ord(ch) - 64) * 26 ** i for i, ch in enumerate(reversed(match.group(2))))
                total += int(match.group(3)) * cols
            else:
                total += package.getinfo(part).file_size // 20   # ~20 bytes of XML per cell
    # The shared strings part is parsed too: refuse DTD tricks there before openpyxl sees it.
    read_xml(package, "xl/workbook.xml", name)
    if "xl/sharedStrings.xml" in package.namelist():
        head = package.open("xl/sharedStrings.xml").read(65536)
        if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
            raise InputError("corrupt", f"{name}: xl/sharedStrings.xml declares a DTD/entities, which Office files never do; refusing to parse it")
    return total


class XlsxReader:
    def __init__(self, data: bytes, name: str, limits: Limits):
        self.data = data
        self.name = name
        self.limits = limits
        self.out = Extraction(format="xlsx")
        self.cells_seen = 0

    def read(self) -> Extraction:
        declared = _declared_cells(self.data, self.name, self.limits)
        stream = declared > STREAM_CELLS
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                workbook = load_workbook(io.BytesIO(self.data), read_only=stream, data_only=True, keep_links=False)
        except InputError:
            raise
        except Exception as exc:  # openpyxl raises many types for damaged parts
            raise InputError("corrupt", f"{self.name}: damaged workbook ({type(exc).__name__}: {str(exc)[:120]})") from None
        for warning in caught:
            text = str(warning.message)
            if "extension" in text.lower() or "not supported" in text.lower():
                self.out.warnings.append(f"openpyxl: {text}")
        if stream:
            self.out.warnings.append(
                f"large workbook (~{declared:,} cells): read in streaming mode, so merged cells, hidden rows and notes were not read"
            )
        if getattr(workbook, "vba_archive", None) is not None or "xl/vbaProject.bin" in open_package(self.data, self.name, self.limits).namelist():
            self.out.warnings.append("macro-enabled workbook: its macros were not run or inspected")
        try:
            for ws in workbook.worksheets:
                self._sheet(ws, stream)
                if self.cells_seen >= self.limits.max_cells:
                    self.out.warnings.append(f"stopped after {self.limits.max_cells:,} cells (--max-cells); later rows were not screened")
                    break
        finally:
            if stream:
                workbook.close()
        return self.out

    def _rows(self, ws, stream: bool) -> list[list[str]]:
        rows = []
        for values in ws.iter_rows(values_only=True):
            self.cells_seen += len(values)
            rows.append([_cell_str(v) for v in values])
            if self.cells_seen >= self.limits.max_cells:
                break
        return rows

    def _sheet(self, ws, stream: bool) -> None:
        title = ws.title
        sheet_hidden = getattr(ws, "sheet_state", "visible") != "visible"
        rows = self._rows(ws, stream)
        if not any(any(r) for r in rows):
            return
        merged_into: dict[tuple[int, int], tuple[int, int]] = {}
        merged_width: dict[tuple[int, int], int] = {}
        if not stream:
            for rng in ws.merged_cells.ranges:
                merged_width[(rng.min_row, rng.min_col)] = rng.max_col - rng.min_col + 1
                for r in range(rng.min_row, rng.max_row + 1):
                    for c in range(rng.min_col, rng.max_col + 1):
                        if (r, c) != (rng.min_row, rng.min_col):
                            merged_into[(r, c)] = (rng.min_row, rng.min_col)

        def value(r: int, c: int) -> str:
            """Cell text with a merged region's value spread over the region (for context only)."""
            src = merged_into.get((r, c), (r, c))
            row = rows[src[0] - 1] if src[0] - 1 < len(rows) else []
            return row[src[1] - 1] if src[1] - 1 < len(row) else ""

        def location(r: int, c: int, hidden_row: bool) -> Location:
            fields = [("sheet", title), ("cell", f"{get_column_letter(c)}{r}"), ("row", r), ("col", c)]
            if sheet_hidden or hidden_row:
                fields.append(("hidden", True))
            return Location(cell_label(title, c, r), tuple(fields))

        instruction_sheet = bool(_INSTRUCTION_SHEET.match(title.strip()))
        header: Header | None = None if instruction_sheet else find_header(rows)
        qcol = header.question_col if header else longest_text_column(rows)
        start = header.row + 1 if header else 0
        for r0 in range(start):
            for c0, text in enumerate(rows[r0]):
                if text and (r0 + 1, c0 + 1) not in merged_into:
                    reason = "table header" if header and r0 == header.row else "title"
                    self.out.skipped.append(Skipped(text, location(r0 + 1, c0 + 1, False), reason))
        section = ""
        for r0 in range(start, len(rows)):
            r = r0 + 1
            hidden_row = not stream and r in ws.row_dimensions and bool(ws.row_dimensions[r].hidden)
            row = rows[r0]
            filled = [(c0, t) for c0, t in enumerate(row) if t and (r, c0 + 1) not in merged_into]
            if not filled:
                continue
            text = row[qcol] if qcol is not None and qcol < len(row) and (r, qcol + 1) not in merged_into else ""
            hidden = sheet_hidden or hidden_row
            if instruction_sheet:
                for c0, t in filled:
                    self.out.skipped.append(Skipped(t, location(r, c0 + 1, hidden_row), "instructions sheet"))
                continue
            spans_row = len(filled) == 1 and merged_width.get((r, filled[0][0] + 1), 1) > 1
            if not text or (spans_row and not is_question(text)) or (
                len(filled) == 1 and header is not None and filled[0][0] != qcol and not is_question(filled[0][1])
            ):
                # A section row ("Section B – Access Control") or text outside the question column.
                for c0, t in filled:
                    reason = "heading" if len(filled) == 1 else "other column"
                    if reason == "heading":
                        section = t
                    self.out.skipped.append(Skipped(t, location(r, c0 + 1, hidden_row), reason))
                continue
            kind = classify(text, in_list=True)
            if kind != "unit" or (header is None and r0 < 5 and len(filled) == 1 and not is_question(text)):
                self.out.skipped.append(Skipped(text, location(r, qcol + 1, hidden_row), kind if kind != "unit" else "title"))
                continue
            context: list[tuple[str, str]] = []
            parts = [title]
            if section:
                parts.append(section)
            label = ""
            if header is not None:
                for c0, name in enumerate(header.names):
                    cell = value(r, c0 + 1)
                    if c0 == qcol or not cell:
                        continue
                    if c0 == header.label_col:
                        label = cell
                    elif c0 == header.answer_col:
                        context.append(("answer", cell))
                    elif c0 < qcol and len(cell) <= 40:
                        parts.append(cell)
                    else:
                        context.append((_cell_str(name) or get_column_letter(c0 + 1), cell))
            if not label:
                label = split_label(text)[0]
            if not stream:
                for c0 in range(len(row)):
                    comment = ws.cell(row=r, column=c0 + 1).comment
                    if comment is not None and comment.text:
                        context.append(("note", clean(comment.text)))
            if len(self.out.units) < self.limits.max_units:
                self.out.units.append(RawUnit(
                    text=text, location=location(r, qcol + 1, hidden_row), section=" > ".join(parts),
                    container=title, item_label=label, context=tuple(context), hidden=hidden,
                ))


def read_xlsx(data: bytes, name: str, limits: Limits) -> Extraction:
    return XlsxReader(data, name, limits).read()
