"""Read plain-text (.txt/.md) and .csv questionnaires.

Text files: one unit per non-empty line; a line starting with ``#`` is a section
heading. CSV: the question column is found by its header (Question / Request /
问题 / 事项 ...), else the longest-text column; one unit per row.
"""

from __future__ import annotations

import csv
import io
import re

from ddcheck.model import Extraction, Location, RawUnit, Skipped
from ddcheck.readers.errors import InputError
from ddcheck.readers.limits import Limits, room_for_unit
from ddcheck.readers.tables import find_header, longest_text_column, row_parts
from ddcheck.segment import split_label
from ddcheck.textnorm import clean

_MD_MARKER = re.compile(r"^\s*(?:[-*+]\s+(?:\[[ xX]\]\s+)?|>\s+)")
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def decode_text(data: bytes, name: str) -> str:
    """Decode UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030 (covers GBK/GB2312)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    sample = data[:65536]
    if b"\x00" in sample:
        raise InputError("unsupported", f"{name}: binary content, not a text file")
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError("unsupported", f"{name}: not text in UTF-8, UTF-16 or GB18030")


def read_text(data: bytes, name: str, limits: Limits) -> Extraction:
    out = Extraction(format="md" if name.lower().endswith((".md", ".markdown")) else "txt")
    section = ""
    for number, raw in enumerate(decode_text(data, name).splitlines(), 1):
        line = clean(raw)
        if not line:
            continue
        location = Location(f"line {number}", (("line", number),))
        if line.startswith("#"):
            section = line.lstrip("#").strip()
            out.skipped.append(Skipped(line, location, "heading"))
            continue
        line = _MD_MARKER.sub("", line) if out.format == "md" else line
        if room_for_unit(out, limits):
            out.units.append(RawUnit(text=line, location=location, section=section, container="text",
                                     item_label=split_label(line)[0]))
    return out


def read_csv(data: bytes, name: str, limits: Limits) -> Extraction:
    out = Extraction(format="csv")
    text = decode_text(data, name)
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            rows.append((reader.line_num, [clean(c) for c in row]))
    except csv.Error as exc:
        raise InputError("corrupt", f"{name}: damaged CSV ({exc})") from None
    grid = [r for _, r in rows]
    header = find_header(grid, max_scan=5)
    qcol = header.question_col if header else longest_text_column(grid)
    if qcol is None:
        return out
    start = header.data_start if header else 0
    for index in range(start):
        line, row = rows[index]
        for cell in row:
            if cell:
                out.skipped.append(Skipped(cell, Location(f"line {line}", (("line", line),)), "table header"))
    for line, row in rows[start:]:
        text = row[qcol] if qcol < len(row) else ""
        if not text:
            if any(row):
                out.skipped.append(Skipped(" | ".join(c for c in row if c), Location(f"line {line}", (("line", line),)), "no question"))
            continue
        context: list[tuple[str, str]] = []
        label = ""
        section = ""
        if header is not None:
            detail, context, parts, label = row_parts(header, row)
            if detail:
                text = f"{text}\n{detail}"
            section = " > ".join(parts)
        location = Location(f"line {line}", (("line", line), ("row", line), ("col", qcol + 1)))
        if room_for_unit(out, limits):
            out.units.append(RawUnit(text=text, location=location, section=section, container="csv",
                                     item_label=label or split_label(text)[0], context=tuple(context)))
    return out
