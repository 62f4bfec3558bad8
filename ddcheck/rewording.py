"""When is a question "the same question, lightly reworded"? Shared by the decisions (a reviewer's earlier
verdict follows a reworded question) and the version diff (a question counts as *changed*, not as removed
and added).

Two pieces of evidence, each with its own threshold:

* the **text ratio** (difflib's ratio of the comparable forms, characters, so Chinese and English alike):
  a lightly reworded question shares most of its text. This is all the keywords matcher has;
* with an encoder (hybrid and semantic matchers), the **cosine** of the two questions' sentence vectors,
  against a threshold calibrated **per encoder** (similarity scales differ by model: e5 puts unrelated
  questions near 0.77, USE near 0.1). It catches rewordings that move words around ("by religion and
  ethnicity" / "by ethnicity and religion") and must still share a little text (:data:`TEXT_FLOOR`).

A pair is a rewording when either measure reaches its threshold. The thresholds were set on
``tests/data/reworded_pairs.yaml`` (40 lightly reworded questions, half English, half Chinese, and 24 pairs
of *different* questions on one topic, such as "top twenty customers" / "top twenty suppliers") and on every
pair of example questions within one category of the built-in taxonomy (209,304 pairs: the hardest
"different question" pairs there are, same category and same vocabulary). :func:`calibrate` reproduces the
figures; ``tests/test_decisions.py`` checks the shipped thresholds on the pair file. Measured with the
union rule at the two levels below:

    measure   decision level (strict)                      diff level
              rule                  reworded diff cat.     rule                  reworded diff cat.
    text      ratio >= 0.80          88 %     0    0       ratio >= 0.72          98 %     4    1
    e5+use    cos >= 0.90 | 0.80     98 %     0    0       cos >= 0.86 | 0.72    100 %     5    2
    e5        cos >= 0.97 | 0.80     98 %     0    0       cos >= 0.96 | 0.72    100 %     4    3
    use       cos >= 0.85 | 0.80     98 %     0    0       cos >= 0.80 | 0.72    100 %     4    1
    hash      cos >= 0.85 | 0.80     95 %     0    2       cos >= 0.80 | 0.72     98 %     4   34

(reworded: share of the 40 reworded pairs found; diff: of the 24 different-question pairs, cat.: of the
209,304 same-category example pairs, how many were taken for rewordings; ``hash`` is the tiny test
encoder.) A decision is carried over only at the strict level: a reviewer's verdict must not drift to a
different question, and every carried decision is shown as "reworded" with the text it was made
for. The diff pairs questions at the looser level: calling a heavier rewrite "changed" still shows both
texts, and the one-word swaps it then pairs ("customers" / "suppliers") are exactly what a reviewer of a
new version wants to see side by side. Encoders not in the table fall back on the text ratio alone.
"""

from __future__ import annotations

import difflib
import re
import zlib
from dataclasses import dataclass

import numpy as np

from ddcheck.textnorm import normalise

# measure -> {"strict": (cosine, text ratio), "diff": (cosine, text ratio)}; cosine None = text ratio only.
THRESHOLDS: dict[str, dict[str, tuple[float | None, float]]] = {
    "text": {"strict": (None, 0.80), "diff": (None, 0.72)},
    "e5+use": {"strict": (0.90, 0.80), "diff": (0.86, 0.72)},
    "e5": {"strict": (0.97, 0.80), "diff": (0.96, 0.72)},
    "use": {"strict": (0.85, 0.80), "diff": (0.80, 0.72)},
    "hash": {"strict": (0.85, 0.80), "diff": (0.80, 0.72)},
}
LEVELS = ("strict", "diff")
TEXT_FLOOR = 0.30      # with an encoder, the texts must still share this much (difflib ratio)
_ID_PREFIX = (("e5-small", "e5"), ("use-m3", "use"), ("minilm", "minilm"), ("hash", "hash"))
_LABEL = re.compile(
    r"^\s*(?:"
    r"(?:q(?:uestion)?\s*)?\d+(?:\.\d+)*[.)、:：．](?!\d)"            # 1.  1.2.  Q12:  3)  1、
    r"|\d+(?:\.\d+)+(?=\s)"                                          # 1.2.3 (then a space)
    r"|[(（]\s*(?:\d+|[a-z]{1,3}|[一二三四五六七八九十百]+)\s*[)）]"   # (a)  （三）  (12)
    r"|[a-z][.)](?=\s)"                                               # a.  b)
    r"|[一二三四五六七八九十百]+[、.．]"                                # 一、
    r")\s*")
_END = re.compile(r"[\s?？.。:：;；!！,，]+$")


def comparable(text: str) -> str:
    """The form in which two questions are compared and fingerprinted: normalised (NFKC, lower case, single
    spaces), without a leading list label (``1.``, ``(a)``, ``一、``, ``Q12:``) or trailing punctuation, so
    renumbering a list or changing "." to "?" changes nothing."""
    norm = normalise(text)
    for _ in range(2):                      # "1. (a) ..." carries two labels
        stripped = _LABEL.sub("", norm, count=1)
        if stripped == norm or not stripped.strip():
            break
        norm = stripped
    return _END.sub("", norm) or normalise(text)


def _ratio(a: str, b: str, floor: float = 0.0, matcher: difflib.SequenceMatcher | None = None) -> float:
    """difflib's ratio, or 0 when a cheap upper bound is already below ``floor``. ``matcher`` (optional) has
    ``b`` set as its second sequence already (difflib indexes the second sequence: reuse it across ``a``)."""
    if a == b:
        return 1.0
    if matcher is None:
        matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    else:
        matcher.set_seq1(a)
    if matcher.real_quick_ratio() < floor or matcher.quick_ratio() < floor:
        return 0.0
    return matcher.ratio()


_WORD = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[a-z0-9]+")
# Pairs whose words (Chinese: characters) overlap less than this are not compared by text ratio at all: the
# 40 reworded pairs overlap by 0.57 or more, and 0.2 % of the 209,304 same-category example pairs reach 0.4.
# It keeps a diff of two long, unrelated lists to a second instead of minutes of difflib.
WORD_FLOOR = 0.40


def _overlap_bounds(a: list[str], b: list[str], pieces, buckets: int) -> np.ndarray:
    """For every pair, 2 x shared pieces / all pieces, with pieces hashed into ``buckets`` (a shared bucket can
    only overstate what two texts share, so this is an upper bound of the overlap), all pairs at once."""
    def counts(texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), buckets), dtype=np.float32)
        for row, text in enumerate(texts):
            codes = [zlib.crc32(piece.encode("utf-8")) % buckets for piece in pieces(text)]   # the same every run
            if codes:
                out[row] = np.bincount(codes, minlength=buckets)
        return out

    ca, cb = counts(a), counts(b)
    total = ca.sum(axis=1)[:, None] + cb.sum(axis=1)[None, :]
    shared = np.empty((len(a), len(b)), dtype=np.float32)
    for j in range(len(b)):
        shared[:, j] = np.minimum(ca, cb[j]).sum(axis=1)
    return np.where(total > 0, 2.0 * shared / np.maximum(total, 1), 1.0) + 1e-6


def text_ratio(a: str, b: str) -> float:
    """difflib's ratio of the comparable forms."""
    return _ratio(comparable(a), comparable(b))


def measure_name(encoder) -> str:
    """``e5``, ``use``, ``e5+use``, ``hash`` ... from an encoder's id; ``text`` without an encoder."""
    if encoder is None:
        return "text"
    names = []
    for part in str(getattr(encoder, "id", "")).split("+"):
        for prefix, name in _ID_PREFIX:
            if part.startswith(prefix):
                names.append(name)
                break
        else:
            return "unknown"
    order = [n for _, n in _ID_PREFIX]
    return "+".join(sorted(dict.fromkeys(names), key=order.index)) or "unknown"


@dataclass(frozen=True)
class Pair:
    old: int
    new: int
    score: float          # > 0: how far past the nearer threshold (0..1, 1 = identical)
    cosine: float | None
    ratio: float


class Similarity:
    """Pairwise evidence between two lists of questions and the thresholds of the measure in use."""

    def __init__(self, encoder=None, level: str = "strict"):
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}")
        name = measure_name(encoder)
        self.measure = name if name in THRESHOLDS else "text"
        self.encoder = encoder if self.measure != "text" else None
        self.level = level
        self.cosine_threshold, self.ratio_threshold = THRESHOLDS[self.measure][level]

    def describe(self) -> str:
        if self.cosine_threshold is None:
            return f"text ratio >= {self.ratio_threshold:.2f}"
        return (f"cosine ({self.measure}) >= {self.cosine_threshold:.2f} or text ratio >= "
                f"{self.ratio_threshold:.2f}")

    def pairs(self, old: list[str], new: list[str], allowed=None) -> list[Pair]:
        """Every (old, new) pair that is a rewording, scored; ``allowed(i, j)`` may veto a pair first."""
        if not old or not new:
            return []
        a = [comparable(t) for t in old]
        b = [comparable(t) for t in new]
        cos = None
        if self.encoder is not None:
            vectors = self.encoder.encode(list(old) + list(new))   # the texts as scanned: cached already
            cos = vectors[:len(old)] @ vectors[len(old):].T
        chars = _overlap_bounds(a, b, list, 512)               # an upper bound of difflib's ratio
        words = _overlap_bounds(a, b, _WORD.findall, 1024)
        out = []
        for j in range(len(new)):
            indexed = None
            for i in range(len(old)):
                c = float(cos[i, j]) if cos is not None else None
                by_cosine = c is not None and c >= self.cosine_threshold
                floor = TEXT_FLOOR if by_cosine else self.ratio_threshold
                if chars[i, j] < floor or (not by_cosine and words[i, j] < WORD_FLOOR) or (
                        allowed is not None and not allowed(i, j)):
                    continue
                if indexed is None:
                    indexed = difflib.SequenceMatcher(None, "", b[j], autojunk=False)
                ratio = _ratio(a[i], b[j], floor, indexed)
                score = -1.0
                if ratio >= self.ratio_threshold:
                    score = (ratio - self.ratio_threshold) / (1 - self.ratio_threshold)
                if by_cosine and ratio >= TEXT_FLOOR:
                    score = max(score, (c - self.cosine_threshold) / (1 - self.cosine_threshold))
                if score >= 0:
                    out.append(Pair(i, j, min(1.0, score), c, ratio))
        return out

    def best_pairs(self, old: list[str], new: list[str], allowed=None) -> list[Pair]:
        """One-to-one pairing, the closest pairs first (ties by position: deterministic)."""
        chosen, used_old, used_new = [], set(), set()
        for pair in sorted(self.pairs(old, new, allowed), key=lambda p: (-p.score, -(p.cosine or 0), -p.ratio, p.old, p.new)):
            if pair.old in used_old or pair.new in used_new:
                continue
            used_old.add(pair.old)
            used_new.add(pair.new)
            chosen.append(pair)
        return chosen

    def is_rewording(self, old: str, new: str) -> bool:
        return bool(self.pairs([old], [new]))


def calibrate(similarity: Similarity, reworded: list[tuple[str, str]], different: list[tuple[str, str]]) -> dict:
    """How one measure and level does on labelled pairs: the share of rewordings found and the different
    questions taken for rewordings (the figures in the table above)."""
    found = [similarity.is_rewording(a, b) for a, b in reworded]
    false = [(a, b) for a, b in different if similarity.is_rewording(a, b)]
    return {"measure": similarity.measure, "level": similarity.level, "rule": similarity.describe(),
            "recall": sum(found) / len(found) if found else None,
            "missed": [b for (a, b), ok in zip(reworded, found) if not ok], "false": false}
