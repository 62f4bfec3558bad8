"""Compare two versions of a questionnaire: which questions were added, removed and changed, and the risk of
each added or changed one (``ddcheck diff OLD NEW``).

Both files are read and screened like ``ddcheck scan`` does (any mix of .docx, .xlsx, .txt, .md, .csv:
the first round came as Word, the revised list as Excel). Questions are then paired:

1. **unchanged**: the same comparable text (:func:`ddcheck.rewording.comparable`: case, width, spacing,
   list numbers and trailing punctuation do not count), occurrence by occurrence in document order. Those
   whose order changed are counted as **moved** (the questions outside the longest run kept in order);
2. **changed**: the remaining questions paired by similarity at the diff level of :mod:`ddcheck.rewording`
   (sentence vectors with the hybrid and semantic matchers, the text ratio with keywords), closest first;
3. what is left is **removed** (only in OLD) or **added** (only in NEW).

The findings shown are those of the NEW version; a changed question also shows what the old wording had,
so a question that became sensitive through an edit stands out (``risk: raised``).
"""

from __future__ import annotations

import bisect
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ddcheck.model import SEVERITY_RANK
from ddcheck.rewording import Pair, Similarity, comparable

SCHEMA = "ddcheck.diff/1"


@dataclass
class Changed:
    old: Any              # ddcheck.model.Unit
    new: Any
    pair: Pair

    @property
    def risk(self) -> str:
        """raised / lowered / same: the worst severity of the new wording against the old one."""
        new, old = worst(self.new), worst(self.old)
        return "raised" if new > old else "lowered" if new < old else "same"


@dataclass
class DiffResult:
    old: Any              # ddcheck.scan.FileResult
    new: Any
    unchanged: list[tuple[Any, Any]] = field(default_factory=list)
    moved: list[tuple[Any, Any]] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)
    added: list[Any] = field(default_factory=list)
    removed: list[Any] = field(default_factory=list)
    rule: str = ""
    engine: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> list[Any]:
        return [f for f in (self.old, self.new) if f.failed]

    def risky(self) -> list[Any]:
        """The added and changed questions (new wording) that have a finding."""
        return [u for u in self.added if u.findings] + [c.new for c in self.changed if c.new.findings]

    def risk_counts(self) -> dict[str, int]:
        counts = {"high": 0, "medium": 0, "low": 0}
        for unit in [*self.added, *(c.new for c in self.changed)]:
            for f in unit.findings:
                counts[f.severity] = counts.get(f.severity, 0) + 1
        return counts

    def worst_severity(self) -> int:
        return max((SEVERITY_RANK[f.severity] for u in [*self.added, *(c.new for c in self.changed)] for f in u.findings),
                   default=0)

    def summary(self) -> dict[str, Any]:
        return {"unchanged": len(self.unchanged), "moved": len(self.moved), "changed": len(self.changed),
                "removed": len(self.removed), "added": len(self.added), "risk": self.risk_counts(),
                "risky_questions": len(self.risky())}


def worst(unit) -> int:
    return max((SEVERITY_RANK[f.severity] for f in unit.findings), default=0)


def _moved(pairs: list[tuple[int, int]]) -> set[int]:
    """Indexes (into ``pairs``, sorted by old position) outside the longest run whose new positions increase."""
    if not pairs:
        return set()
    tails: list[int] = []           # smallest new position ending a run of each length
    tail_at: list[int] = []
    parent = [-1] * len(pairs)
    for i, (_, new) in enumerate(pairs):
        k = bisect.bisect_left(tails, new)
        if k == len(tails):
            tails.append(new)
            tail_at.append(i)
        else:
            tails[k] = new
            tail_at[k] = i
        parent[i] = tail_at[k - 1] if k else -1
    keep, i = set(), tail_at[-1]
    while i != -1:
        keep.add(i)
        i = parent[i]
    return set(range(len(pairs))) - keep


def compare(old, new, encoder=None) -> DiffResult:
    """Pair the units of two read and matched files (:class:`ddcheck.scan.FileResult`)."""
    similarity = Similarity(encoder, "diff")
    result = DiffResult(old, new, rule=similarity.describe())
    if old.failed or new.failed:
        return result
    by_text: dict[str, list[int]] = {}
    for j, unit in enumerate(new.units):
        by_text.setdefault(comparable(unit.text), []).append(j)
    taken_new: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for i, unit in enumerate(old.units):
        queue = by_text.get(comparable(unit.text))
        if queue:
            j = queue.pop(0)
            taken_new.add(j)
            pairs.append((i, j))
    moved = _moved(pairs)
    result.unchanged = [(old.units[i], new.units[j]) for i, j in pairs]
    result.moved = [(old.units[pairs[k][0]], new.units[pairs[k][1]]) for k in sorted(moved)]
    matched_old = {i for i, _ in pairs}
    rest_old = [i for i in range(len(old.units)) if i not in matched_old]
    rest_new = [j for j in range(len(new.units)) if j not in taken_new]
    chosen = similarity.best_pairs([old.units[i].text for i in rest_old], [new.units[j].text for j in rest_new])
    changed_old = {rest_old[p.old] for p in chosen}
    changed_new = {rest_new[p.new] for p in chosen}
    result.changed = [Changed(old.units[rest_old[p.old]], new.units[rest_new[p.new]], p)
                      for p in sorted(chosen, key=lambda p: p.new)]          # in the new version's order
    result.removed = [old.units[i] for i in rest_old if i not in changed_old]
    result.added = [new.units[j] for j in rest_new if j not in changed_new]
    return result


def diff_paths(old: str | Path, new: str | Path, matcher=None, **scan_options) -> DiffResult:
    """Read and screen both files in one scan (every distinct text encoded once), then compare them."""
    from ddcheck.scan import scan

    result = scan([old, new], matcher=matcher, **scan_options)
    if len(result.files) != 2:
        raise ValueError("diff compares two files; give two different questionnaire files "
                         f"(got {len(result.files)} readable input(s))")
    encoder = getattr(matcher, "encoder", None) if matcher is not None and getattr(matcher, "kind", "") != "keywords" else None
    out = compare(result.files[0], result.files[1], encoder)
    out.engine = dict(result.engine or {})
    return out


# -- output ------------------------------------------------------------------------------------------------
def _unit_line(unit) -> str:
    label = unit.raw.location.label + (f" {unit.raw.item_label}" if unit.raw.item_label else "")
    return label


def _findings_text(unit) -> str:
    if not unit.findings:
        return "no finding"
    return ", ".join(f"{f.severity.upper()} {f.category}" for f in unit.findings)


def _one_line(text: str, limit: int = 160) -> str:
    text = " / ".join(part.strip() for part in str(text).splitlines() if part.strip())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_text(diff: DiffResult) -> str:
    """The report ``ddcheck diff`` prints on stdout."""
    s = diff.summary()
    lines = [f"old: {diff.old.path} ({len(diff.old.units)} questions)",
             f"new: {diff.new.path} ({len(diff.new.units)} questions)"]
    for f in diff.failed:
        lines.append(f"error: {f.path}: {(f.error or {}).get('kind', '')}: {(f.error or {}).get('message', '')}")
    risk = s["risk"]
    lines.append(f"{s['unchanged']} unchanged ({s['moved']} moved), {s['changed']} changed, {s['removed']} removed, "
                 f"{s['added']} added; {s['risky_questions']} added or changed question(s) with findings "
                 f"({risk['high']} high, {risk['medium']} medium, {risk['low']} low)")
    lines.append(f"changed = {diff.rule}")
    if diff.added:
        lines += ["", f"ADDED ({len(diff.added)})"]
        for unit in diff.added:
            lines.append(f"  + {_unit_line(unit):<16} [{_findings_text(unit)}] {_one_line(unit.text)}")
    if diff.changed:
        lines += ["", f"CHANGED ({len(diff.changed)})"]
        for c in diff.changed:
            sim = f"cosine {c.pair.cosine:.2f}, " if c.pair.cosine is not None else ""
            was = f"was {_findings_text(c.old)}" if c.old.findings or c.new.findings else ""
            risk_note = f", risk {c.risk}" if c.risk != "same" else ""
            lines.append(f"  ~ {_unit_line(c.new):<16} [{_findings_text(c.new)}] (was {_unit_line(c.old)}; {sim}"
                         f"text {c.pair.ratio:.2f}{risk_note}{'; ' + was if was and c.risk != 'same' else ''})")
            lines.append(f"      - {_one_line(c.old.text)}")
            lines.append(f"      + {_one_line(c.new.text)}")
    if diff.removed:
        lines += ["", f"REMOVED ({len(diff.removed)})"]
        for unit in diff.removed:
            lines.append(f"  - {_unit_line(unit):<16} [{_findings_text(unit)}] {_one_line(unit.text)}")
    if diff.moved:
        lines += ["", f"MOVED ({len(diff.moved)})"]
        for old, new in diff.moved:
            lines.append(f"  > {_unit_line(new):<16} (was {_unit_line(old)}) {_one_line(new.text, 100)}")
    return "\n".join(lines) + "\n"


def _file_json(f) -> dict[str, Any]:
    return {"path": f.path, "format": f.format, "status": f.status, "error": f.error, "units": len(f.units)}


def to_json(diff: DiffResult) -> dict[str, Any]:
    from ddcheck import __version__
    from ddcheck.report import unit_json

    return {
        "schema": SCHEMA,
        "tool": {"name": "ddcheck", "version": __version__},
        "engine": diff.engine,
        "changed_rule": diff.rule,
        "old": _file_json(diff.old),
        "new": _file_json(diff.new),
        "summary": diff.summary(),
        "added": [unit_json(u) for u in diff.added],
        "changed": [{"old": unit_json(c.old), "new": unit_json(c.new), "risk": c.risk,
                     "similarity": None if c.pair.cosine is None else round(c.pair.cosine, 4),
                     "text_ratio": round(c.pair.ratio, 4)} for c in diff.changed],
        "removed": [unit_json(u) for u in diff.removed],
        "moved": [{"old": old.raw.location.label, "new": new.raw.location.label, "id": new.id, "text": new.text}
                  for old, new in diff.moved],
    }


_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[A-Za-z0-9_'’-]+|\s+|.", re.S)


def inline_diff(old: str, new: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Word-level (character-level for Chinese) differences: ([(text, "same"|"del")], [(text, "same"|"ins")])."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    left: list[tuple[str, str]] = []
    right: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            left.append(("".join(a[i1:i2]), "same"))
            right.append(("".join(b[j1:j2]), "same"))
        else:
            if i2 > i1:
                left.append(("".join(a[i1:i2]), "del"))
            if j2 > j1:
                right.append(("".join(b[j1:j2]), "ins"))
    return left, right
