"""Split a compound questionnaire item into the clauses a reviewer would read one by one.

A sensitive request is often buried in a list of ordinary ones ("Please provide the
share register, the lease agreements, <the thing>, and the D&O policy", "请一并提供：
审计报告、授信合同、<那份材料>、社保证明"). A sentence vector of the whole item averages
the one dangerous clause away, so the matcher also scores each clause and keeps the
strongest. The unit itself is never split: only its scoring looks inside.
"""

from __future__ import annotations

import re

# Sentence ends, semicolons and line breaks always separate clauses; a colon ends an introducer.
_SENTENCES = re.compile(r"[\n;；。!?！？]+|(?<=[:：])")
# Sub-point labels: (a) (iii) （二） ① a) — a clause starts at each.
_SUB_POINTS = re.compile(
    r"(?:^|\s|[:：;；,，、])(?=(?:\(\s*[a-zA-Z0-9ivx]{1,4}\s*\)|（\s*[一二三四五六七八九十0-9a-zA-Z]{1,3}\s*）|[①-⑳]|\b[a-h][.)]\s))"
)
# Enumerations inside one sentence: 、 and commas, "and the / and your / and any".
_ENUMERATION = re.compile(r"、|，|,\s+(?:and\s+|or\s+)?|\s+and\s+(?=(?:the|your|any|all|a|an|its|their)\b)")
# Answer options under a survey question ("A. 线下专柜", "□ Yes", "○ 满意") complete the question;
# they are not requests of their own, so they are never scored as clauses.
_OPTION_LINE = re.compile(r"^\s*(?:[A-Ha-h][.、．)）]|[□☐■○◯●◎√✓]|_{2,})")
_TRIM = " ,，、:：;；"
MIN_CLAUSE_CHARS = 8
MIN_LIST_ITEMS = 3      # "A, B and C": two parts are a phrase, three or more are a list


def without_options(text: str) -> str:
    """The question without the answer options listed under it (``text`` itself when it has none).

    A survey item's options ("A. 1-2步", "□ 微信") say little about what is asked and
    pull its sentence vector towards unrelated examples, so the matcher scores the stem.
    """
    lines = text.split("\n")
    if len(lines) < 2:
        return text
    stem = [line for line in lines if not _OPTION_LINE.match(line)]
    return "\n".join(stem) if stem and len(stem) < len(lines) else text


def clauses(text: str) -> list[str]:
    """The clauses of a compound item, or ``[]`` when the item is a single clause.

    Clauses shorter than a few characters ("FY2023", "是否") carry no meaning of
    their own and are dropped.
    """
    parts: list[str] = []
    text = without_options(text)
    for sentence in _SENTENCES.split(text):
        for piece in _SUB_POINTS.split(sentence):
            piece = piece.strip(_TRIM)
            if not piece:
                continue
            items = _ENUMERATION.split(piece)
            parts += [i.strip(_TRIM) for i in items] if len(items) >= MIN_LIST_ITEMS else [piece]
    parts = list(dict.fromkeys(p for p in parts if len(p) >= MIN_CLAUSE_CHARS))
    return parts if len(parts) >= 2 else []
