"""Find matched trigger terms in the text as written.

Terms are matched on the normalised text (NFKC: full-width -> half-width, lower
case, blanks folded), exactly as the matcher does, but the highlight must sit on
the characters the questionnaire really contains: ``ＧＰＳ`` or ``Military`` in
the text, ``gps`` or ``military`` in the evidence. So the text is normalised one
character at a time, remembering which original character each normalised
character came from, and the matches are mapped back.
"""

from __future__ import annotations

import re
import unicodedata

from ddcheck.textnorm import has_cjk, normalise

_ZERO_WIDTH = set("\u200b\u200c\u200d\u2060\ufeff\u00ad")


def _normalised_with_map(text: str) -> tuple[str, list[int]]:
    """The matching form of ``text`` and, for each of its characters, the index of the source character."""
    out: list[str] = []
    source: list[int] = []
    for index, ch in enumerate(text):
        if ch in _ZERO_WIDTH:
            continue
        for c in unicodedata.normalize("NFKC", ch).replace("\u3000", " ").lower():
            if c.isspace():
                if not out or out[-1] == " ":
                    continue
                c = " "
            out.append(c)
            source.append(index)
    return "".join(out), source


def _pattern(terms) -> re.Pattern | None:
    parts = []
    for term in sorted({normalise(t) for t in terms if t and t.strip()}, key=len, reverse=True):
        escaped = re.escape(term)
        parts.append(escaped if has_cjk(term) else rf"(?<![a-z0-9]){escaped}(?![a-z0-9])")
    return re.compile("|".join(parts)) if parts else None


def term_spans(text: str, terms) -> list[tuple[int, int]]:
    """(start, end) offsets in ``text`` as written of every occurrence of the terms, merged and sorted."""
    pattern = _pattern(terms)
    if pattern is None or not text:
        return []
    norm, source = _normalised_with_map(text)
    spans: list[tuple[int, int]] = []
    for match in pattern.finditer(norm):
        if match.end() <= match.start():
            continue
        start = source[match.start()]
        end = source[match.end() - 1] + 1
        spans.append((start, end))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def segments(text: str, terms) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, is_matched_term) pieces that join back to ``text`` exactly."""
    out: list[tuple[str, bool]] = []
    position = 0
    for start, end in term_spans(text, terms):
        if start > position:
            out.append((text[position:start], False))
        out.append((text[start:end], True))
        position = end
    if position < len(text):
        out.append((text[position:], False))
    return out
