"""The small immutable records that flow from readers to matchers to reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Location:
    """Where a unit sits in its document.

    ``label`` is what a person reads (``Sheet1!B12``, ``¶57``, ``table 2 r3c2``,
    ``line 7``); ``fields`` holds the machine-readable parts the contract names
    (line, sheet, cell, paragraph, table, row, col) plus extras such as ``hidden``.
    """

    label: str
    fields: tuple[tuple[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, **dict(self.fields)}

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.fields).get(key, default)


@dataclass(frozen=True)
class RawUnit:
    """A question or request item as a reader found it, before ids and language."""

    text: str
    location: Location
    section: str = ""
    container: str = ""          # part of the document: sheet name, "body", "textbox" ...
    item_label: str = ""         # list label a reader sees: "3.2.1", "(a)", "一、", "AC-01"
    context: tuple[tuple[str, str], ...] = ()   # e.g. (("answer", "Yes"), ("note", "..."))
    hidden: bool = False


@dataclass(frozen=True)
class Skipped:
    """Text a reader saw but did not screen (title, instruction, heading), kept so nothing is silently lost."""

    text: str
    location: Location
    reason: str


@dataclass(frozen=True)
class Evidence:
    """Why a finding was raised: every contribution to the score is listed in ``steps``."""

    exemplar: str = ""
    similarity: float = 0.0
    terms: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    steps: tuple[tuple[str, float], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "exemplar": self.exemplar,
            "similarity": round(self.similarity, 4),
            "terms": list(self.terms),
            "context": list(self.context),
            "steps": [{"why": why, "delta": round(delta, 4)} for why, delta in self.steps],
        }


@dataclass(frozen=True)
class Finding:
    category: str
    severity: str
    score: float
    evidence: Evidence
    action: tuple[str, ...]
    references: tuple[str, ...]
    certainty: tuple[str, ...] = ()
    why: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "severity": self.severity,
            "score": round(self.score, SCORE_DECIMALS),
            "evidence": self.evidence.to_json(),
            "action": self.action[0] if self.action else "",
            "actions": list(self.action),
            "references": list(self.references),
            "reference_certainty": list(self.certainty),
            "why": self.why,
        }


@dataclass
class Unit:
    """A screened unit: the raw unit plus identity, language and findings."""

    id: str
    raw: RawUnit
    lang: str
    norm: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.raw.text


SEVERITY_RANK = {"none": 0, "info": 0, "low": 1, "medium": 2, "high": 3}
SCORE_DECIMALS = 4     # a score as reports print it; findings are decided on this rounding too (matcher.selected)


@dataclass
class Extraction:
    """What a reader got out of one file: the units, the text it did not screen, and fidelity warnings."""

    units: list[RawUnit] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    format: str = ""
