"""Reviewed copies of text inputs, as CSV with the findings beside each line or row.

- ``x.csv`` -> ``x.reviewed.csv``: every original row and column, plus Risk, Category,
  Why and Action columns (the titles go on the header row).
- ``x.txt`` / ``x.md`` -> ``x.txt.reviewed.csv``: one row per line of the file (blank
  lines included, so row N is line N), with the line as written and the same columns.

A plain-text or Markdown copy cannot hold findings "beside" a line without changing
the text itself (a Markdown table row or list item would break), so the copy is CSV,
which Excel and any editor open. Files are UTF-8 with a BOM so Excel shows Chinese
correctly; a cell that starts like a formula is prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ddcheck.report import write_atomic
from ddcheck.outputs.annotate import Annotation
from ddcheck.outputs.i18n import t
from ddcheck.outputs.review import FileView, action_text, category_text, cell_safe, severity_text, why_text
from ddcheck.readers.limits import Limits
from ddcheck.readers.ooxml import load_bytes
from ddcheck.readers.text_reader import decode_text


def _review_cells(unit, lang: str) -> list[str]:
    if unit is None:
        return ["", "", "", ""]
    if not unit.flagged:
        return [t("no_finding", lang), "", "", ""]
    return [severity_text(unit, lang), category_text(unit, lang), why_text(unit), action_text(unit, lang)]


def _csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([cell_safe(c) for c in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def annotate_text(source: Path, target: Path, view: FileView, result: Annotation, *, inputs: set[Path],
                  lang: str = "en") -> None:
    text = decode_text(load_bytes(source, Limits()), source.name)
    by_line = {int(u.raw.location.get("line", 0) or 0): u for u in view.units}
    titles = [t("col_risk", lang), t("col_category", lang), t("col_why", lang), t("col_action", lang)]
    rows: list[list[str]] = []
    if view.format == "csv":
        try:
            dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        header_lines = {int(s.location.get("line", 0) or 0) for s in view.skipped if s.reason == "table header"}
        reader = csv.reader(io.StringIO(text), dialect)
        parsed = [(reader.line_num, row) for row in reader]
        width = max((len(row) for _, row in parsed), default=0)
        for line, row in parsed:
            padded = row + [""] * (width - len(row))
            review = titles if line in header_lines else _review_cells(by_line.get(line), lang)
            rows.append(padded + review)
        if not header_lines and rows:
            rows.insert(0, [""] * width + titles)
    else:
        rows.append([t("col_line", lang), t("text", lang), *titles])
        for number, line in enumerate(text.splitlines(), 1):
            rows.append([str(number), line, *_review_cells(by_line.get(number), lang)])
    data = _csv_bytes(rows)
    write_atomic(target, data, inputs)
    result.path = target
    result.annotated = verify_text(data, len(titles), lang, result)


def verify_text(data: bytes, review_columns: int, lang: str, result: Annotation) -> int:
    """Read the copy back: rows whose Risk column holds a severity."""
    severities = {t(s, lang).upper() for s in ("high", "medium", "low")}
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    count = 0
    for row in rows:
        if len(row) >= review_columns:
            risk = row[-review_columns]
            if risk and set(risk.split("\n")) <= severities:
                count += 1
    return count
