"""Compute the list labels Word shows ("3.2.1", "(a)", "一、", "（三）") from numbering.xml.

python-docx does not expose generated numbering at all, yet a reviewer refers to
"item 3.2.1", so the reader recomputes the counters the way Word does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ddcheck.readers.ooxml import W

_CN_DIGITS = "零一二三四五六七八九"
_CN_LEGAL = "零壹贰叁肆伍陆柒捌玖"
_TIANGAN = "甲乙丙丁戊己庚辛壬癸"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def _val(el, tag: str) -> str | None:
    child = el.find(_w(tag)) if el is not None else None
    return child.get(_w("val")) if child is not None else None


def _letters(n: int) -> str:
    # Word repeats the letter: a..z, aa..zz, aaa..
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)


def _roman(n: int) -> str:
    out = []
    for value, sym in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
                       (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        while n >= value:
            out.append(sym)
            n -= value
    return "".join(out)


def _chinese(n: int, digits: str = _CN_DIGITS, ten: str = "十") -> str:
    if n < 10:
        return digits[n]
    if n < 20:
        return ten + (digits[n % 10] if n % 10 else "")
    if n < 100:
        return digits[n // 10] + ten + (digits[n % 10] if n % 10 else "")
    return str(n)


def format_number(n: int, fmt: str) -> str:
    if fmt in ("lowerLetter",):
        return _letters(n)
    if fmt == "upperLetter":
        return _letters(n).upper()
    if fmt == "lowerRoman":
        return _roman(n)
    if fmt == "upperRoman":
        return _roman(n).upper()
    if fmt in ("chineseCounting", "chineseCountingThousand", "taiwaneseCounting", "taiwaneseCountingThousand",
               "japaneseCounting", "ideographDigital"):
        return _chinese(n)
    if fmt == "chineseLegalSimplified":
        return _chinese(n, _CN_LEGAL, "拾")
    if fmt in ("ideographTraditional",):
        return _TIANGAN[(n - 1) % 10]
    if fmt == "decimalEnclosedCircle" or fmt == "decimalEnclosedCircleChinese":
        return _CIRCLED[n - 1] if 0 < n <= 20 else str(n)
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt == "decimalFullWidth":
        return "".join(chr(ord(d) + 0xFEE0) for d in str(n))
    if fmt in ("none", "bullet"):
        return ""
    return str(n)


@dataclass
class _Level:
    fmt: str = "decimal"
    text: str = "%1."
    start: int = 1
    legal: bool = False


@dataclass
class Numbering:
    """List definitions of one document plus the running counters."""

    abstract: dict[str, dict[int, _Level]] = field(default_factory=dict)
    nums: dict[str, str] = field(default_factory=dict)                 # numId -> abstractNumId
    overrides: dict[str, dict[int, int]] = field(default_factory=dict)  # numId -> ilvl -> start
    counters: dict[str, dict[int, int]] = field(default_factory=dict)

    @classmethod
    def parse(cls, root) -> "Numbering":
        numbering = cls()
        if root is None:
            return numbering
        for abstract in root.findall(_w("abstractNum")):
            levels = {}
            for lvl in abstract.findall(_w("lvl")):
                start = _val(lvl, "start")
                levels[int(lvl.get(_w("ilvl"), "0"))] = _Level(
                    fmt=_val(lvl, "numFmt") or "decimal",
                    text=_val(lvl, "lvlText") if _val(lvl, "lvlText") is not None else "",
                    start=int(start) if start and start.lstrip("-").isdigit() else 1,
                    legal=lvl.find(_w("isLgl")) is not None,
                )
            numbering.abstract[abstract.get(_w("abstractNumId"))] = levels
        for num in root.findall(_w("num")):
            num_id = num.get(_w("numId"))
            numbering.nums[num_id] = _val(num, "abstractNumId")
            for override in num.findall(_w("lvlOverride")):
                start = _val(override, "startOverride")
                if start and start.isdigit():
                    numbering.overrides.setdefault(num_id, {})[int(override.get(_w("ilvl"), "0"))] = int(start)
        return numbering

    def is_bullet(self, num_id: str, ilvl: int) -> bool:
        level = self.abstract.get(self.nums.get(num_id, ""), {}).get(ilvl)
        return level is not None and level.fmt == "bullet"

    def next_label(self, num_id: str, ilvl: int) -> str:
        """Advance the counter of (num_id, ilvl) and return the label Word would show."""
        levels = self.abstract.get(self.nums.get(num_id, ""))
        if not levels or ilvl not in levels:
            return ""
        counters = self.counters.setdefault(num_id, {})
        starts = self.overrides.get(num_id, {})
        counters[ilvl] = counters.get(ilvl, starts.get(ilvl, levels[ilvl].start) - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        level = levels[ilvl]
        if level.fmt == "bullet":
            return "•"
        label = level.text
        for i in range(9, -1, -1):
            token = f"%{i + 1}"
            if token in label:
                n = counters.get(i, starts.get(i, levels.get(i, _Level()).start))
                fmt = "decimal" if level.legal else levels.get(i, _Level()).fmt
                label = label.replace(token, format_number(n, fmt))
        return label.strip()
