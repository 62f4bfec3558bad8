"""A reviewed copy of an Excel workbook: review columns, a severity fill and a note per flagged question, and a summary sheet.

The copy is written with openpyxl (formulas kept, not their cached values; rich
text kept; macros kept only in a macro-enabled .xlsm). openpyxl does not keep
everything a workbook can hold, so the original and the copy are compared part
by part and sheet by sheet afterwards, and whatever the copy lost (shapes, form
controls, threaded comments, pivot tables, slicers, data-validation extensions,
...) is reported as a fidelity warning. The original is never written.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from collections import defaultdict
from pathlib import Path

from ddcheck.report import write_atomic
from ddcheck.outputs.annotate import Annotation, rezip
from ddcheck.outputs.i18n import t
from ddcheck.outputs.review import (FileView, UnitView, action_text, category_text, note_text, severity_text,
                                    why_text, xml_safe)
from ddcheck.readers.limits import Limits
from ddcheck.readers.ooxml import load_bytes, open_package

AUTHOR = "ddcheck"
FILL = {"high": "FFC7CE", "medium": "FFEB9C", "low": "DDEBF7"}
HEADER_FILL = "D9D9D9"
MAX_COL = 16384
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")

# Parts openpyxl may drop, by what a person would call them.
_PART_KINDS = [
    (re.compile(r"^xl/charts/chart\d+\.xml$"), "charts"),
    (re.compile(r"^xl/media/"), "image files"),
    (re.compile(r"^xl/pivotTables/[^/]+\.xml$"), "pivot tables"),
    (re.compile(r"^xl/pivotCache/pivotCacheDefinition"), "pivot caches"),
    (re.compile(r"^xl/slicers/"), "slicers"),
    (re.compile(r"^xl/slicerCaches/"), "slicer caches"),
    (re.compile(r"^xl/timelines/"), "timelines"),
    (re.compile(r"^xl/threadedComments/"), "threaded comments (modern comments)"),
    (re.compile(r"^xl/persons/"), "comment authors list"),
    (re.compile(r"^xl/ctrlProps/"), "form controls"),
    (re.compile(r"^xl/activeX/"), "ActiveX controls"),
    (re.compile(r"^xl/embeddings/"), "embedded objects"),
    (re.compile(r"^xl/externalLinks/[^/]+\.xml$"), "external links"),
    (re.compile(r"^xl/queryTables/"), "query tables"),
    (re.compile(r"^xl/connections\.xml$"), "data connections"),
    (re.compile(r"^xl/model/"), "data model"),
    (re.compile(r"^customXml/item\d+\.xml$"), "custom XML parts"),
    (re.compile(r"^xl/vbaProject\.bin$"), "macros (VBA project)"),
    (re.compile(r"^xl/vbaProjectSignature\.bin$"), "macro signature"),
    (re.compile(r"^xl/printerSettings/"), "printer settings"),
    (re.compile(r"^xl/tables/table\d+\.xml$"), "Excel tables"),
    (re.compile(r"^xl/drawings/[^/]+\.xml$"), "drawings"),
]
# Things inside a sheet's XML that a copy might lose.
_SHEET_KINDS = [
    (re.compile(rb"<dataValidation[\s>/]"), "data-validation rules"),
    (re.compile(rb"<x14:dataValidation[\s>/]"), "data-validation rules stored as Excel 2010 extensions (e.g. lists on another sheet)"),
    (re.compile(rb"<conditionalFormatting[\s>/]"), "conditional formats"),
    (re.compile(rb"<x14:conditionalFormatting[\s>/]"), "conditional formats stored as Excel 2010 extensions"),
    (re.compile(rb"<x14:sparklineGroup[\s>/]"), "sparklines"),
    (re.compile(rb"<hyperlink[\s>/]"), "hyperlinks"),
    (re.compile(rb"<mergeCell[\s>/]"), "merged ranges"),
    (re.compile(rb"<(?:\w+:)?oleObject[\s>/]"), "OLE objects"),
    (re.compile(rb"<(?:\w+:)?control[\s>/]"), "controls"),
]
_DRAWING_KINDS = [
    (re.compile(rb"<(?:\w+:)?(?:sp|cxnSp|grpSp)[\s>]"), "shapes, text boxes and connectors"),
    (re.compile(rb"<(?:\w+:)?pic[\s>]"), "pictures"),
    (re.compile(rb"<(?:\w+:)?graphicFrame[\s>]"), "charts and diagrams"),
]
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)([^<]*)(</dcterms:modified>)")


def _sheet_parts(package: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its worksheet part, from workbook.xml and its relationships."""
    from lxml import etree

    try:
        workbook = etree.fromstring(package.read("xl/workbook.xml"), etree.XMLParser(resolve_entities=False, no_network=True))
        rels = etree.fromstring(package.read("xl/_rels/workbook.xml.rels"), etree.XMLParser(resolve_entities=False, no_network=True))
    except (KeyError, etree.XMLSyntaxError):
        return {}
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    out = {}
    for sheet in workbook.iter("{http://schemas.openxmlformats.org/spreadsheetml/2006/main}sheet"):
        rid = sheet.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
        target = targets.get(rid, "")
        out[sheet.get("name", "")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return out


def _inventory(data: bytes) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """(workbook-level counts by kind, (sheet, kind) counts) of what a copy might lose."""
    package = zipfile.ZipFile(io.BytesIO(data))
    names = package.namelist()
    parts: dict[str, int] = defaultdict(int)
    for name in names:
        for pattern, kind in _PART_KINDS:
            if pattern.search(name):
                parts[kind] += 1
        if re.match(r"^xl/drawings/drawing\d+\.xml$", name):
            blob = package.read(name)
            for pattern, kind in _DRAWING_KINDS:
                parts[kind] += len(pattern.findall(blob))
    sheets: dict[tuple[str, str], int] = defaultdict(int)
    for sheet, part in _sheet_parts(package).items():
        if part not in names:
            continue
        blob = package.read(part)
        for pattern, kind in _SHEET_KINDS:
            sheets[(sheet, kind)] += len(pattern.findall(blob))
    return dict(parts), dict(sheets)


def fidelity_warnings(original: bytes, copy: bytes) -> list[str]:
    """What the copy holds less of than the original (never silently lost)."""
    before_parts, before_sheets = _inventory(original)
    after_parts, after_sheets = _inventory(copy)
    out = []
    for kind, count in before_parts.items():
        if kind == "drawings":
            continue
        left = after_parts.get(kind, 0)
        if left < count:
            out.append(f"openpyxl did not keep {count - left} of {count} {kind} in the reviewed copy (the original is unchanged)")
    for (sheet, kind), count in before_sheets.items():
        left = after_sheets.get((sheet, kind), 0)
        if left < count:
            out.append(f"sheet {sheet!r}: {count - left} of {count} {kind} were not kept in the reviewed copy")
    return out


def _unique_sheet_title(wb, wanted: str) -> str:
    base = _BAD_SHEET_CHARS.sub(" ", wanted)[:31]
    title, n = base, 2
    while title in wb.sheetnames:
        suffix = f" ({n})"
        title = base[: 31 - len(suffix)] + suffix
        n += 1
    return title


def _set_text(cell, text: str) -> None:
    """Store text as text: a value starting with = must never become a formula."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    value = ILLEGAL_CHARACTERS_RE.sub("", xml_safe(str(text)))[:32000]
    cell.value = value
    cell.data_type = "s"


def _last_column(ws) -> int:
    last = 0
    for (_row, col), cell in ws._cells.items():   # noqa: SLF001 - the only way to see used cells without scanning a grid
        if cell.value is not None and col > last:
            last = col
    for rng in ws.merged_cells.ranges:
        last = max(last, rng.max_col)
    return last


def _restore_modified(copy: bytes, original: bytes) -> list[tuple[zipfile.ZipInfo | str, bytes]]:
    """The copy's members, with the original's modification date in docProps/core.xml and fixed zip dates."""
    before = None          # the original's date only: its element's namespace declarations may sit on its root
    try:
        core = zipfile.ZipFile(io.BytesIO(original)).read("docProps/core.xml")
        match = _MODIFIED.search(core)
        before = match.group(2) if match else None
    except KeyError:
        pass
    members = []
    with zipfile.ZipFile(io.BytesIO(copy)) as package:
        for info in package.infolist():
            blob = package.read(info.filename)
            if info.filename == "docProps/core.xml":
                blob = (_MODIFIED.sub(lambda m: m.group(1) + before + m.group(3), blob) if before is not None
                        else _MODIFIED.sub(b"", blob))
            members.append((info.filename, blob))
    return members


def annotate_xlsx(source: Path, target: Path, view: FileView, result: Annotation, *, inputs: set[Path],
                  lang: str = "en", data: bytes | None = None) -> None:
    from openpyxl import load_workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter, quote_sheetname
    from openpyxl.worksheet.hyperlink import Hyperlink

    if any("streaming mode" in w for w in view.warnings):
        raise ValueError("the workbook is too large to annotate in memory; use the HTML report or the CSV instead")
    limits = Limits()
    data = load_bytes(source, limits) if data is None else data        # given: a legacy file's converted bytes
    names = set(open_package(data, source.name, limits).namelist())
    macro_ext = target.suffix.lower() in (".xlsm", ".xltm")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wb = load_workbook(io.BytesIO(data), keep_vba=macro_ext, keep_links=True, rich_text=True, data_only=False)
    for message in dict.fromkeys(str(w.message) for w in caught):
        result.warnings.append(f"openpyxl: {message}")
    wb.template = False
    if "xl/vbaProject.bin" in names and not macro_ext:
        result.warnings.append("the workbook holds macros but is not a macro-enabled .xlsm: the reviewed copy has no macros")
    if any(n.startswith("xl/comments") for n in names):
        result.warnings.append("notes already in the workbook were kept as plain text; their formatting and box sizes were reset")

    by_sheet: dict[str, list[UnitView]] = {}
    for unit in view.units:
        by_sheet.setdefault(str(unit.raw.location.get("sheet", "")), []).append(unit)
    header_rows: dict[str, int] = {}
    for skipped in view.skipped:
        if skipped.reason == "table header":
            sheet = str(skipped.location.get("sheet", ""))
            header_rows[sheet] = max(header_rows.get(sheet, 0), int(skipped.location.get("row", 0) or 0))

    titles = [t("col_risk", lang), t("col_category", lang), t("col_why", lang), t("col_action", lang)]
    widths = [10, 34, 48, 60]
    wrap = Alignment(wrap_text=True, vertical="top")
    expected_notes: dict[str, tuple[str, str, str]] = {}    # unit id -> (sheet, cell, first line of note)
    for sheet_name, units in by_sheet.items():
        if sheet_name not in wb.sheetnames:
            result.warnings.append(f"sheet {sheet_name!r} not found in the copy: its {len(units)} unit(s) were not annotated")
            continue
        ws = wb[sheet_name]
        if ws.protection.sheet:
            result.warnings.append(f"sheet {sheet_name!r} is protected: the review columns and notes were added, "
                                   "but Excel will not let you edit them without unprotecting the sheet")
        first_col = _last_column(ws) + 1
        columns_fit = first_col + len(titles) - 1 <= MAX_COL
        if not columns_fit:
            result.warnings.append(f"sheet {sheet_name!r} has no free columns: review columns not added (notes and fills still are)")
        rows = [int(u.raw.location.get("row", 0) or 0) for u in units]
        header_row = header_rows.get(sheet_name) or (min(rows) - 1 if rows and min(rows) > 1 else 0)
        if columns_fit:
            for offset, (title, width) in enumerate(zip(titles, widths)):
                letter = get_column_letter(first_col + offset)
                ws.column_dimensions[letter].width = width
                if header_row:
                    cell = ws.cell(row=header_row, column=first_col + offset)
                    _set_text(cell, title)
                    cell.font = Font(bold=True)
                    cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
                    cell.alignment = wrap
        for unit in units:
            row = int(unit.raw.location.get("row", 0) or 0)
            col = int(unit.raw.location.get("col", 0) or 0)
            if not row or not col:
                if unit.flagged:
                    result.warnings.append(f"{unit.location}: no cell position known; not annotated")
                continue
            if columns_fit:
                values = ([severity_text(unit, lang), category_text(unit, lang), why_text(unit), action_text(unit, lang)]
                          if unit.flagged else [t("no_finding", lang), "", "", ""])
                for offset, value in enumerate(values):
                    cell = ws.cell(row=row, column=first_col + offset)
                    _set_text(cell, value)
                    cell.alignment = wrap
                    if offset == 0 and unit.flagged:
                        cell.fill = PatternFill("solid", fgColor=FILL.get(unit.severity, FILL["low"]))
                        cell.font = Font(bold=True)
            if not unit.flagged:
                continue
            question = ws.cell(row=row, column=col)
            question.fill = PatternFill("solid", fgColor=FILL.get(unit.severity, FILL["low"]))
            text = note_text(unit, lang)
            old = question.comment
            if old is not None and old.text:
                note = Comment(f"{old.text}\n\n{text}", old.author or AUTHOR)
            else:
                note = Comment(text, AUTHOR)
            note.width = 420
            note.height = min(600, 40 + 15 * text.count("\n") + 15 * (len(text) // 70))
            question.comment = note
            expected_notes[unit.id] = (sheet_name, question.coordinate, text.split("\n", 1)[0])

    # the summary sheet: one row per finding, each linking to its question
    summary = wb.create_sheet(_unique_sheet_title(wb, t("summary_sheet", lang)))
    bold = Font(bold=True)
    _set_text(summary.cell(row=1, column=1), f"ddcheck — {Path(view.path).name}")
    summary.cell(row=1, column=1).font = Font(bold=True, size=14)
    counts = view.counts()
    _set_text(summary.cell(row=2, column=1), f"{t('verdict', lang)}: {t('verdict_' + view.verdict, lang)}. {view.verdict_reason(lang)}")
    _set_text(summary.cell(row=3, column=1),
              f"{t('units_screened', lang)}: {len(view.units)}; {t('findings', lang)}: "
              + ", ".join(f"{counts.get(s, 0)} {t(s, lang)}" for s in ("high", "medium", "low")))
    _set_text(summary.cell(row=4, column=1), t("disclaimer", lang))
    _set_text(summary.cell(row=5, column=1), t("certainty_legend", lang))
    head = [t("location", lang), t("item", lang), t("severity", lang), t("col_category", lang), t("col_score", lang),
            t("col_question", lang), t("col_why", lang), t("col_action", lang), t("col_references", lang)]
    head_row = 7
    for c, title in enumerate(head, 1):
        cell = summary.cell(row=head_row, column=c)
        _set_text(cell, title)
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
    row_index = head_row
    for unit in view.flagged:
        for finding in unit.findings:
            row_index += 1
            values = [unit.location + (f" ({t('hidden', lang)})" if unit.hidden else ""), unit.item,
                      t(finding.severity, lang).upper(), finding.info.both(lang), None, unit.text, finding.why,
                      finding.action_text(lang), finding.references_label()]
            for c, value in enumerate(values, 1):
                cell = summary.cell(row=row_index, column=c)
                if c == 5:
                    cell.value = round(finding.score, 2)
                else:
                    _set_text(cell, value or "")
                cell.alignment = wrap
            summary.cell(row=row_index, column=3).fill = PatternFill("solid", fgColor=FILL.get(finding.severity, FILL["low"]))
            sheet, coord = str(unit.raw.location.get("sheet", "")), str(unit.raw.location.get("cell", ""))
            if sheet in wb.sheetnames and coord:
                link = summary.cell(row=row_index, column=1)
                link.hyperlink = Hyperlink(ref=link.coordinate, location=f"{quote_sheetname(sheet)}!{coord}")
                link.font = Font(color="0563C1", underline="single")
    for c, width in enumerate([18, 10, 10, 40, 8, 60, 48, 60, 60], 1):
        summary.column_dimensions[get_column_letter(c)].width = width
    summary.freeze_panes = summary.cell(row=head_row + 1, column=1)
    if row_index > head_row:
        summary.auto_filter.ref = f"A{head_row}:{get_column_letter(len(head))}{row_index}"
    for ws in wb.worksheets:
        ws.sheet_view.tabSelected = False
    summary.sheet_view.tabSelected = True
    wb.active = wb.worksheets.index(summary)

    buffer = io.BytesIO()
    wb.save(buffer)
    out = rezip(_restore_modified(buffer.getvalue(), data))
    write_atomic(target, out, inputs)
    result.path = target
    result.warnings.extend(fidelity_warnings(data, out))
    result.annotated = verify_xlsx(out, view, expected_notes, summary.title, row_index - head_row, result, lang)


def verify_xlsx(data: bytes, view: FileView, expected: dict[str, tuple[str, str, str]], summary_title: str,
                summary_rows: int, result: Annotation, lang: str) -> int:
    """Open the written copy again and count the flagged questions that carry their note; check the summary sheet."""
    from openpyxl import load_workbook

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = load_workbook(io.BytesIO(data), rich_text=False)
    good = 0
    for unit in view.flagged:
        if unit.id not in expected:
            continue
        sheet, coord, first_line = expected[unit.id]
        comment = wb[sheet][coord].comment if sheet in wb.sheetnames else None
        if comment is not None and first_line in (comment.text or ""):
            good += 1
        else:
            result.warnings.append(f"{unit.location}: the note was not found in the reviewed copy")
    if summary_title not in wb.sheetnames:
        result.warnings.append("the summary sheet is missing from the reviewed copy")
    else:
        rows = sum(1 for r in wb[summary_title].iter_rows(min_row=8, max_col=3, values_only=True) if r[2])
        if rows != summary_rows:
            result.warnings.append(f"the summary sheet lists {rows} finding(s), expected {summary_rows}")
    return good
