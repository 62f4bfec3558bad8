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
                r"资料|资料名称|资料/问题|文件|文件名称|内容|名称|要求|清单|所需资料|资料清单|topic|subject|controls?)$"), 3),
    (re.compile(r"\b(?:items?|description|requirement|documents?)\b|资料|内容|要求|文件"), 4),
]
_ANSWER_HEADERS = re.compile(
    r"^(?:responses?|answers?|reply|replies|vendor response|supplier response|your response|company response|"
    r"回复|答复|回答|反馈|提供情况|是否提供|已提供|答复情况|公司回复|落实情况|status|yes/no|是/否)$|\b(?:response|answer)\b|回复|答复"
)
_LABEL_HEADERS = re.compile(r"^(?:no\.?|#|id|ref\.?|reference|item no\.?|s/n|number|序号|编号|编码|题号|question id|control id)$")


def _header_cell(text: str) -> str:
    return normalise(text).strip(" :：*.#").replace("（", "(").replace("）", ")")


@dataclass(frozen=True)
class Header:
    row: int                 # index of the header row in the grid (0-based)
    question_col: int        # 0-based
    answer_col: int | None
    label_col: int | None
    names: tuple[str, ...]   # header text per column


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
        answer = next((c for c, cell in enumerate(cells) if cell and c != question[0] and _ANSWER_HEADERS.search(cell)), None)
        label = next((c for c, cell in enumerate(cells) if cell and c != question[0] and _LABEL_HEADERS.match(cell)), None)
        score = (question[1], -(answer is not None) - (label is not None))
        header = Header(index, question[0], answer, label, tuple(row))
        if best is None or score < best[:2]:
            best = (score[0], score[1], header)
    return best[2] if best else None


def longest_text_column(rows: list[list[str]]) -> int | None:
    """The column with the most text: the fallback question column when no header names it."""
    totals: dict[int, int] = {}
    for row in rows:
        for col, cell in enumerate(row):
            if cell:
                totals[col] = totals.get(col, 0) + len(cell)
    return max(totals, key=lambda c: (totals[c], -c)) if totals else None
