"""Read an Excel .xlsx/.xlsm workbook into units.

Every sheet is read, hidden sheets and hidden rows included (and marked hidden).
The header row and question column are found by name (English and Chinese);
title rows, instruction rows and section rows are kept as skipped text; the
answer cell beside a question and any cell note on the row travel with the unit
as context. Merged cells are reported once, from their top-left cell.

The header may sit below title and instruction rows and may span two rows (a
merged group header over sub-headers); a "具体要求"/"Description" column beside
a terse item name joins the unit's text; a category column ("类别", "Topic")
joins the section path; other columns travel as context. Cover, instruction,
glossary and version sheets are skipped whole. In a sheet without a header a
terse item counts only beside a number or ID cell, and answer vocabulary
(Yes/No/N/A, 是/否) is never a question.
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
from ddcheck.readers.limits import Limits, room_for_unit
from ddcheck.readers.ooxml import open_package, read_xml
from ddcheck.readers.xlsx_stream import StreamWorkbook
from ddcheck.readers.tables import Header, find_header, longest_text_column, row_parts
from ddcheck.segment import classify, is_answer_word, is_instruction, is_question, split_label
from ddcheck.textnorm import clean

_INSTRUCTION_SHEET = re.compile(
    r"^(?:\d+[.\s_-]*)?(?:general )?(?:instructions?|read ?me|guidance|guide|notes?|cover(?: sheet| page)?|introduction|"
    r"overview|glossary|definitions?|legend|key|how to (?:complete|use)|version(?: history| control)?|change ?log|"
    r"revision history|contents|table of contents|说明|填写说明|填表说明|使用说明|填报说明|封面|目录|释义|版本(?:记录|说明)?|"
    r"修订记录)(?:\s*(?:&|and|/|与|及)\s*(?:instructions?|说明|glossary|definitions?|contents))?$",
    re.IGNORECASE,
)
_ID_CELL = re.compile(r"^(?:[A-Za-z]{0,6}[-_.]?\d{1,4}(?:[.-]\d{1,4}){0,3}[.)、]?|[一二三四五六七八九十]{1,3}[、.]?|[(（]\d{1,3}[)）])$")
_SAFE_SHEET = re.compile(r"^[^\W\d]\w*$")
# Above this many cells openpyxl's object per cell costs minutes and GBs: read with the streaming reader instead.
STREAM_CELLS = 250_000


def _cell_str(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time(0, 0):
        return value.date().isoformat()
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return clean(str(value))


def cell_label(sheet: str, col: int, row: int) -> str:
    name = sheet if _SAFE_SHEET.match(sheet) else "'" + sheet.replace("'", "''") + "'"
    return f"{name}!{get_column_letter(col)}{row}"


_MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]{1,3})(\d{1,7}):([A-Z]{1,3})(\d{1,7})"')


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _declared_cells(package, name: str) -> int:
    """Cells the sheets declare in their <dimension>, read without loading the workbook."""
    if "xl/workbook.xml" not in package.namelist():
        raise InputError("corrupt", f"{name}: damaged file (missing xl/workbook.xml)")
    total = 0
    for part in package.namelist():
        if re.match(r"xl/worksheets/sheet\d+\.xml$", part):
            with package.open(part) as handle:
                head = handle.read(4096).decode("utf-8", "replace")
            match = re.search(r'<(?:\w+:)?dimension ref="[A-Z]+(\d+)(?::([A-Z]+)(\d+))?"', head)
            # A <dimension> can lie (or be missing): the part's size bounds the cells as well (~40 bytes of XML per cell).
            size = package.getinfo(part).file_size
            by_size = size // 40
            if match and match.group(3):
                cols = sum((ord(ch) - 64) * 26 ** i for i, ch in enumerate(reversed(match.group(2))))
                total += max(int(match.group(3)) * cols, by_size)
            else:
                total += by_size
            if size <= STREAM_CELLS * 40:
                # openpyxl makes an object for every cell of a merged range: a tiny file merging A1:XFD1048576
                # would ask for 17 billion. Merged areas count as cells, so such a sheet is streamed.
                with package.open(part) as handle:
                    for m in _MERGE_REF.finditer(handle.read()):
                        rows = int(m.group(4)) - int(m.group(2)) + 1
                        cols = _col_number(m.group(3)) - _col_number(m.group(1)) + 1
                        total += max(rows, 0) * max(cols, 0)
    # Parsed with ddcheck's own safe parser first (open_package has already refused DTDs in every part).
    read_xml(package, "xl/workbook.xml", name)
    return total


class XlsxReader:
    def __init__(self, data: bytes, name: str, limits: Limits):
        self.data = data
        self.name = name
        self.limits = limits
        self.out = Extraction(format="xlsx")
        self.cells_seen = 0
        self._with_units: set[str] = set()

    def read(self) -> Extraction:
        package = open_package(self.data, self.name, self.limits)
        declared = _declared_cells(package, self.name)
        stream = declared > STREAM_CELLS
        if stream:
            workbook = StreamWorkbook(package, self.name)
            self.out.warnings.append(
                f"large workbook (~{declared:,} cells): read in streaming mode, so cell notes were not read"
            )
        else:
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    workbook = load_workbook(io.BytesIO(self.data), read_only=False, data_only=True, keep_links=False)
            except InputError:
                raise
            except Exception as exc:  # openpyxl raises many types for damaged parts
                raise InputError("corrupt", f"{self.name}: damaged workbook ({type(exc).__name__}: {str(exc)[:120]})") from None
            for warning in caught:
                text = str(warning.message)
                if "extension" in text.lower() or "not supported" in text.lower():
                    self.out.warnings.append(f"openpyxl: {text}")
        if getattr(workbook, "vba_archive", None) is not None or "xl/vbaProject.bin" in package.namelist():
            self.out.warnings.append("macro-enabled workbook: its macros were not run or inspected")
        try:
            for ws in workbook.worksheets:
                self._sheet(ws, stream)
                if self.cells_seen >= self.limits.max_cells:
                    self.out.warnings.append(f"stopped after {self.limits.max_cells:,} cells (--max-cells); later rows were not screened")
                    break
                if not room_for_unit(self.out, self.limits):
                    break
        finally:
            if stream:
                workbook.close()
        return self.out

    def _rows(self, ws, stream: bool) -> list[list[str]]:
        rows = []
        for values in ws.iter_rows(values_only=True):
            self.cells_seen += max(len(values), 1)          # an empty row costs memory too
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
        width = max(map(len, rows))
        for rng in ws.merged_cells.ranges:         # (the streaming reader keeps merged cells too)
            merged_width[(rng.min_row, rng.min_col)] = rng.max_col - rng.min_col + 1
            # only the cells that were read: a merge over A1:XFD1048576 must not mean 17 billion entries
            for r in range(rng.min_row, min(rng.max_row, len(rows)) + 1):
                for c in range(rng.min_col, min(rng.max_col, width) + 1):
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
        start = header.data_start if header else 0
        for r0 in range(start):
            for c0, text in enumerate(rows[r0]):
                if text and (r0 + 1, c0 + 1) not in merged_into:
                    if instruction_sheet:
                        reason = "instructions sheet"
                    elif header and r0 >= header.row:
                        reason = "table header"
                    else:
                        reason = "instruction" if is_instruction(text) else "title"
                    self.out.skipped.append(Skipped(text, location(r0 + 1, c0 + 1, False), reason))
        id_col = None if header else self._id_column(rows, qcol)
        first_filled = next((k for k, row in enumerate(rows) if any(row)), len(rows))
        section = ""
        for r0 in range(start, len(rows)):
            r = r0 + 1
            if len(self.out.units) >= self.limits.max_units and not room_for_unit(self.out, self.limits):
                break                           # the rest of the sheet is not screened (the warning says so)
            hidden_row = r in ws.row_dimensions and bool(ws.row_dimensions[r].hidden)
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
                # A section row ("Section B – Access Control") or text outside the question column;
                # the first line of a sheet without a header is its title.
                first_line = header is None and first_filled >= r0
                for c0, t in filled:
                    reason = "title" if first_line else "heading" if len(filled) == 1 else "other column"
                    if reason == "heading":
                        section = t
                    self.out.skipped.append(Skipped(t, location(r, c0 + 1, hidden_row), reason))
                continue
            if header is None:
                # No header: a terse item counts only beside a number or ID cell ("3 | Business licence").
                has_id = id_col is not None and id_col < len(row) and bool(row[id_col])
                kind = classify(text, in_list=has_id or bool(split_label(text)[0]))
                if is_answer_word(text):
                    kind = "prose"
            else:
                kind = "prose" if is_answer_word(text) else classify(text, in_list=True)
            if kind != "unit":
                reason = "answer option" if is_answer_word(text) else kind
                if reason == "prose" and header is None and kind == "prose" and len(filled) == 1 and not section and not self._units_in(title):
                    reason = "title"
                self.out.skipped.append(Skipped(text, location(r, qcol + 1, hidden_row), reason))
                for c0, t in filled:
                    if c0 != qcol:
                        self.out.skipped.append(Skipped(t, location(r, c0 + 1, hidden_row), "other column"))
                continue
            context: list[tuple[str, str]] = []
            parts = [title]
            if section:
                parts.append(section)
            label = ""
            if header is not None:
                detail, context, extra, label = row_parts(header, row, lambda c0: value(r, c0 + 1))
                if detail:
                    text = f"{text}\n{detail}"
                parts.extend(extra)
            else:
                if id_col is not None and id_col < len(row):
                    label = row[id_col]
                for c0, t in filled:
                    if c0 not in (qcol, id_col):
                        context.append((get_column_letter(c0 + 1), t))
            if not label:
                label = split_label(text)[0]
            if not stream:
                for c0 in range(len(row)):
                    comment = ws.cell(row=r, column=c0 + 1).comment
                    if comment is not None and comment.text:
                        context.append(("note", clean(comment.text)))
            if room_for_unit(self.out, self.limits):
                self.out.units.append(RawUnit(
                    text=text, location=location(r, qcol + 1, hidden_row), section=" > ".join(parts),
                    container=title, item_label=label, context=tuple(context), hidden=hidden,
                ))
                self._with_units.add(title)

    def _units_in(self, sheet: str) -> bool:
        return sheet in self._with_units

    @staticmethod
    def _id_column(rows: list[list[str]], qcol: int | None) -> int | None:
        """In a sheet without a header, a column left of the questions that holds item numbers or IDs."""
        if qcol is None:
            return None
        counts: dict[int, int] = {}
        for row in rows:
            if qcol < len(row) and row[qcol]:
                for c0 in range(min(qcol, len(row))):
                    if row[c0] and _ID_CELL.match(row[c0].strip()):
                        counts[c0] = counts.get(c0, 0) + 1
        return max(counts, key=lambda c: (counts[c], -c)) if counts and max(counts.values()) >= 2 else None


def read_xlsx(data: bytes, name: str, limits: Limits) -> Extraction:
    return XlsxReader(data, name, limits).read()
