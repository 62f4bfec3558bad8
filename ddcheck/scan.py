"""Run a scan: collect files, read each into units, match them, and gather the results.

This is the library entry point behind ``ddcheck scan``; it never writes files
(reports are written by :mod:`ddcheck.report` and the CLI).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ddcheck.files import Candidate, Passed, collect
from ddcheck.model import SEVERITY_RANK, Skipped, Unit
from ddcheck.readers import InputError, Limits, format_of, read_path
from ddcheck.textnorm import detect_lang, normalise, unit_id


@dataclass
class FileResult:
    path: str
    format: str
    status: str = "ok"
    error: dict[str, str] | None = None
    units: list[Unit] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    survey_kind: dict[str, Any] | None = None
    engagement: list[dict[str, Any]] = field(default_factory=list)
    file_findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status != "ok"


@dataclass
class ScanResult:
    files: list[FileResult]
    passed_over: list[Passed]
    engine: dict[str, str]
    engagement: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.failed]

    def findings_by_severity(self) -> dict[str, int]:
        counts = {"high": 0, "medium": 0, "low": 0}
        for f in self.files:
            for u in f.units:
                for finding in u.findings:
                    counts[finding.severity] = counts.get(finding.severity, 0) + 1
            for finding in f.file_findings:
                counts[finding["severity"]] = counts.get(finding["severity"], 0) + 1
        return counts

    def worst_severity(self) -> int:
        """Rank of the most severe finding: unit findings, file-level findings and engagement rules that apply
        (an undetermined rule names the missing fact; it does not decide the exit code)."""
        worst = 0
        engagement = [e for f in self.files for e in f.engagement] + self.engagement
        for f in self.files:
            for u in f.units:
                for finding in u.findings:
                    worst = max(worst, SEVERITY_RANK[finding.severity])
            for finding in f.file_findings:
                worst = max(worst, SEVERITY_RANK.get(finding["severity"], 0))
        for item in engagement:
            if item.get("status", "applies") == "applies":
                worst = max(worst, SEVERITY_RANK.get(item["severity"], 0))
        return worst


def to_units(raw_units) -> list[Unit]:
    """Give each raw unit its content id (occurrence-aware), language and matching form."""
    seen: dict[tuple[str, str], int] = {}
    units = []
    for raw in raw_units:
        norm = normalise(raw.text)
        key = (raw.container, norm)
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        units.append(Unit(id=unit_id(raw.container, raw.text, occurrence), raw=raw, lang=detect_lang(raw.text), norm=norm))
    return units


def read_file(candidate: Candidate, limits: Limits) -> FileResult:
    """Read one file; every failure becomes an error result with a one-line message, never an exception."""
    result = FileResult(path=candidate.display, format=format_of(candidate.path))
    try:
        extraction = read_path(candidate.path, limits)
    except InputError as exc:
        result.status = "error"
        result.error = {"kind": exc.kind, "message": exc.message}
        return result
    except MemoryError:
        result.status = "error"
        result.error = {"kind": "too_large", "message": f"{candidate.path.name}: ran out of memory while reading it"}
        return result
    except Exception as exc:  # a reader bug or an input nobody foresaw must not stop the scan
        result.status = "error"
        result.error = {"kind": "corrupt", "message": f"{candidate.path.name}: could not be read ({type(exc).__name__}: {str(exc)[:160]})"}
        return result
    result.format = extraction.format or result.format
    result.units = to_units(extraction.units)
    result.skipped = extraction.skipped
    result.warnings = extraction.warnings
    return result


def scan(paths: list[str | Path], *, include: list[str] | None = None, exclude: list[str] | None = None,
         limits: Limits | None = None, matcher: Any = None,
         on_file: Callable[[FileResult], None] | None = None, profile: Any = None) -> ScanResult:
    """Scan files and folders. ``matcher`` (if given) fills each unit's findings; the engagement
    rules then judge each file (survey kind, licensing, scope) with the ``profile`` if one is given.

    Raises ``FileNotFoundError`` naming the paths that do not exist (a usage error).
    """
    limits = limits or Limits()
    candidates, passed, missing = collect([Path(p) for p in paths], include, exclude)
    if missing:
        raise FileNotFoundError(", ".join(missing))
    files = []
    for candidate in candidates:
        result = read_file(candidate, limits)
        files.append(result)
        if on_file:
            on_file(result)
    engine = {"encoder": "none", "taxonomy": "none", "matcher": "none"}
    if matcher is not None:
        matcher.match_files(files)
        engine = matcher.engine_info()
    from ddcheck.engagement import assess_files

    engagement = assess_files(files, profile)
    return ScanResult(files=files, passed_over=passed, engine=engine, engagement=engagement)
