"""Find the header row and the question, answer and label columns of a grid.

Shared by the .xlsx, .csv and Word-table readers: request lists come as grids
whose header names the question column in English or Chinese.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ddcheck.textnorm import normalise

# (pattern, priority): a lower priority number wins when several columns match.
_QUESTION_HEADERS = [
    (re.compile(r"^(?:questions?|requests?|queries|query|question text|request(?:ed)? (?:items?|information|documents?)|"
                r"information requested|documents? requested|control question|assessment question|问题|问询|事项|"
                r"询问事项|调查问题|问题描述|请求事项|题目|提问)$"), 1),
    (re.compile(r"\b(?:questions?|requests?)\b|问题|事项"), 2),
    (re.compile(r"^(?:items?|requirements?|description|document(?:s| name)?|documents/information|information|"
                r"statements?|attributes?|资料|资料名称|资料/问题|文件|文件名称|内容|名称|要求|清单|所需资料|资料清单|"
                r"说法|陈述|题项|评价项目|topic|subject|controls?)$"), 3),
    (re.compile(r"\b(?:items?|description|requirement|documents?)\b|资料|内容|要求|文件"), 4),
]
_ANSWER_HEADERS = re.compile(
    r"^(?:responses?|answers?|reply|replies|vendor response|supplier response|your response|company response|"
    r"回复|答复|回答|反馈|提供情况|是否提供|已提供|答复情况|公司回复|落实情况|status|yes/no|是/否)$|\b(?:response|answer)\b|回复|答复"
)
# A column that spells out the request named in the question column ("资料名称 | 具体要求"):
# its text is part of the request and joins the unit.
_DETAIL_HEADERS = re.compile(
    r"^(?:具体要求|详细要求|资料要求|提供要求|具体内容|内容说明|资料说明|具体说明|说明|details?|description|"
    r"specific requirements?|request details|details of request|explanation)$"
)
# A column that groups questions ("类别", "Domain"): its value joins the section path.
_CATEGORY_HEADERS = re.compile(
    r"^(?:类别|分类|类型|大类|小类|模块|领域|板块|范畴|方面|主题|category|categories|domain|topic|area|section|"
    r"subject|module|theme|control (?:family|domain|area)|sub-?category)$"
)
_LABEL_HEADERS = re.compile(r"^(?:no\.?|#|id|ref\.?|reference|item no\.?|s/n|number|序号|编号|编码|题号|question id|control id)$")


def _header_cell(text: str) -> str:
    return normalise(text).strip(" :：*.#").replace("（", "(").replace("）", ")")


@dataclass(frozen=True)
class Header:
    row: int                 # index of the (first) header row in the grid (0-based)
    question_col: int        # 0-based
    answer_col: int | None
    label_col: int | None
    names: tuple[str, ...]   # header text per column (both rows of a two-row header, joined by " / ")
    rows: int = 1            # 2 for a two-row header (a merged group header over sub-headers)
    detail_cols: tuple[int, ...] = ()
    category_cols: tuple[int, ...] = ()

    @property
    def data_start(self) -> int:
        """Index of the first row below the header."""
        return self.row + self.rows


def is_header_like(text: str) -> bool:
    cell = _header_cell(text)
    return bool(_ANSWER_HEADERS.search(cell) or _LABEL_HEADERS.match(cell) or _DETAIL_HEADERS.match(cell)
                or _CATEGORY_HEADERS.match(cell) or any(p.match(cell) for p, prio in _QUESTION_HEADERS if prio in (1, 3))
                or re.match(r"^(?:comments?|remarks?|notes?|evidence|备注|附件|说明|状态|负责人|日期)", cell))


def _sub_header(rows: list[list[str]], index: int, question_col: int) -> bool:
    """Is row ``index`` the second row of a two-row header whose first row is ``index - 1``?"""
    if index >= len(rows):
        return False
    above, row = rows[index - 1], rows[index]
    filled = [(c, t) for c, t in enumerate(row) if t]
    if not filled or (question_col < len(row) and row[question_col]):
        return False
    if any(len(t) > 40 or "?" in t or "？" in t for _, t in filled):
        return False
    under_blank = any(c >= len(above) or not above[c] for c, _ in filled)
    return under_blank or all(is_header_like(t) for _, t in filled)


def find_header(rows: list[list[str]], max_scan: int = 30) -> Header | None:
    """Return the most plausible header row within the first ``max_scan`` rows, or ``None``."""
    best: tuple[int, int, Header] | None = None
    for index, row in enumerate(rows[:max_scan]):
        cells = [_header_cell(c) if c else "" for c in row]
        filled = [c for c in cells if c]
        if len(filled) < 2 or any(len(c) > 40 for c in filled):
            continue
        question = None
        for col, cell in enumerate(cells):
            for pattern, priority in _QUESTION_HEADERS:
                if cell and pattern.search(cell) and not _ANSWER_HEADERS.search(cell):
                    if question is None or priority < question[1]:
                        question = (col, priority)
                    break
        if question is None:
            continue
        header = _build_header(rows, index, question[0])
        score = (question[1], -(header.answer_col is not None) - (header.label_col is not None))
        if best is None or score < best[:2]:
            best = (score[0], score[1], header)
    return best[2] if best else None


def _build_header(rows: list[list[str]], index: int, question_col: int) -> Header:
    main = list(rows[index])
    two_rows = _sub_header(rows, index + 1, question_col)
    if two_rows:
        sub = rows[index + 1]
        width = max(len(main), len(sub))
        main += [""] * (width - len(main))
        spread, last = [], ""
        for c in range(width):
            # a group header merged over several sub-headers reads as blank cells after it
            last = main[c] or (last if c < len(sub) and sub[c] else "")
            spread.append(last)
        names = [" / ".join(t for t in (spread[c], sub[c] if c < len(sub) else "") if t) for c in range(width)]
    else:
        names = main
    parts = [[_header_cell(x) for x in name.split(" / ")] for name in names]

    def find(pattern, search=False):
        for c, options in enumerate(parts):
            if c != question_col and any(o and (pattern.search(o) if search else pattern.match(o)) for o in options):
                return c
        return None

    answer = find(_ANSWER_HEADERS, search=True)
    label = find(_LABEL_HEADERS)
    taken = {question_col, answer, label}
    detail = tuple(c for c, options in enumerate(parts) if c not in taken and any(_DETAIL_HEADERS.match(o) for o in options if o))
    category = tuple(c for c, options in enumerate(parts)
                     if c not in taken and c not in detail and any(_CATEGORY_HEADERS.match(o) for o in options if o))
    return Header(index, question_col, answer, label, tuple(names), 2 if two_rows else 1, detail, category)


def row_parts(header: Header, row: list[str], value=None) -> tuple[str, list[tuple[str, str]], list[str], str]:
    """Split one data row by the header: (detail text, context, section parts, item label).

    ``value(c)`` gives a cell's text (a merged region's value spread over it, for
    context); by default the row's own cell.
    """
    get = value or (lambda c: row[c] if c < len(row) else "")
    details, context, sections, label = [], [], [], ""
    for c, name in enumerate(header.names):
        cell = get(c)
        if c == header.question_col or not cell:
            continue
        if c == header.label_col:
            label = cell
        elif c == header.answer_col:
            context.append(("answer", cell))
        elif c in header.detail_cols:
            details.append(cell)
        elif c in header.category_cols or (c < header.question_col and not name and len(cell) <= 40):
            sections.append(cell)
        elif re.fullmatch(r"[\s□☐○◯●■✓✔√×✗\d]*", cell):
            continue                                    # empty tick boxes of a rating grid
        else:
            context.append((normalise(name) and name.strip() or f"col {c + 1}", cell))
    return "\n".join(details), context, sections, label


def longest_text_column(rows: list[list[str]]) -> int | None:
    """The column with the most text: the fallback question column when no header names it."""
    totals: dict[int, int] = {}
    for row in rows:
        for col, cell in enumerate(row):
            if cell:
                totals[col] = totals.get(col, 0) + len(cell)
    return max(totals, key=lambda c: (totals[c], -c)) if totals else None
