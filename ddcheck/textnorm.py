"""Text normalisation, language detection and content identity.

The reported text always stays as written; the normalised form is only for
matching and for ids, so a full-width "？" and a half-width "?" match alike.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

NORMALISATION_VERSION = "1"

_SPACE = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def clean(text: str) -> str:
    """Text as reported: zero-width characters removed, runs of blanks folded, ends stripped.

    Line breaks are kept (sub-points of a compound item stay visible).
    """
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text     # fast path (a million cells): no control, zero-width or non-ASCII blank characters, nothing to fold
    text = text.translate(_ZERO_WIDTH).replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACE.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def normalise(text: str) -> str:
    """Matching form: NFKC (full-width -> half-width), lower case, single spaces. Idempotent."""
    text = unicodedata.normalize("NFKC", text.translate(_ZERO_WIDTH))
    text = text.replace("\u3000", " ").lower()
    return _SPACE.sub(" ", text).strip()


def detect_lang(text: str) -> str:
    """Return ``en``, ``zh`` or ``mixed`` from the share of CJK characters and Latin words."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    if cjk == 0:
        return "en"
    if latin == 0:
        return "zh"
    zh_share = cjk / (cjk + 1.5 * latin)
    if zh_share >= 0.85:
        return "zh"
    if zh_share <= 0.15:
        return "en"
    return "mixed"


def unit_id(container: str, text: str, occurrence: int = 0) -> str:
    """Content identity: hash of the document key, the normalised text and its occurrence count.

    Moving a row keeps its id; a second identical question in the same container
    gets a different id.
    """
    key = f"{container}\x1f{normalise(text)}\x1f{occurrence}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:20]


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))
