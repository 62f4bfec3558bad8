"""The machine-readable JSON report (contract ``ddcheck.report/1``).

Deterministic: files are in scan order (stable, sorted), units in document
order, no timestamps; the same inputs give byte-identical output.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ddcheck import __version__
from ddcheck.scan import FileResult, ScanResult

SCHEMA = "ddcheck.report/1"


def finding_json(finding, unit, decisions=None, path: str = "") -> dict[str, Any]:
    """A finding as the contract has it, plus its ``fingerprint`` (content identity for decisions) and, when a
    decisions file was applied, its ``decision`` (``null`` when nobody decided it yet)."""
    from ddcheck.decisions import fingerprint

    data = finding.to_json()
    data["fingerprint"] = fingerprint(finding.category, unit.raw.text)
    if decisions is not None:
        match = decisions.match(path, unit.id, finding.category)
        data["decision"] = match.to_json(unit.raw.text) if match is not None else None
    return data


def unit_json(unit, decisions=None, path: str = "") -> dict[str, Any]:
    raw = unit.raw
    data: dict[str, Any] = {
        "id": unit.id,
        "text": raw.text,
        "lang": unit.lang,
        "section": raw.section,
        "location": raw.location.to_json(),
        "findings": [finding_json(f, unit, decisions, path) for f in unit.findings],
    }
    if raw.item_label:
        data["item"] = raw.item_label
    if raw.hidden:
        data["hidden"] = True
    if raw.context:
        data["context"] = [{"field": k, "text": v} for k, v in raw.context]
    return data


def file_json(result: FileResult, decisions=None) -> dict[str, Any]:
    return {
        "path": result.path,
        "format": result.format,
        "status": result.status,
        "error": result.error,
        "document_key": getattr(result, "document_key", ""),
        "survey_kind": result.survey_kind,
        "units": [unit_json(u, decisions, result.path) for u in result.units],
        "engagement": result.engagement,
        "file_findings": result.file_findings,
        "warnings": result.warnings,
        "skipped": [{"text": s.text, "location": s.location.to_json(), "reason": s.reason} for s in result.skipped],
    }


def report_dict(result: ScanResult) -> dict[str, Any]:
    decisions = getattr(result, "decisions", None)
    data = {
        "schema": SCHEMA,
        "tool": {"name": "ddcheck", "version": __version__},
        "engine": result.engine,
        "files": [file_json(f, decisions) for f in result.files],
        "passed_over": [{"path": p.display, "reason": p.reason} for p in result.passed_over],
        "engagement": result.engagement,
        "summary": {
            "files": len(result.files),
            "files_failed": len(result.failed),
            "units": sum(len(f.units) for f in result.files),
            "findings": result.findings_by_severity(),
        },
    }
    if decisions is not None:
        data["summary"]["undecided_findings"] = decisions.open_by_severity()
        data["decisions"] = decisions.to_json()
    return data


def dumps(result: ScanResult) -> str:
    return json.dumps(report_dict(result), ensure_ascii=False, indent=2, sort_keys=False) + "\n"


class OverwriteError(ValueError):
    """An output path that is one of the scanned inputs: refused, so evidence is never altered."""


def _creation_mode() -> int:
    """The permission bits an ordinary new file gets under the user's umask (mkstemp would give 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: Path, data: str | bytes, inputs: set[Path] | None = None) -> None:
    """Write via a temporary file and rename, so a reader never sees half a report; never over an input.

    Text is written as UTF-8 with ``\n`` line ends; bytes as they are.
    """
    path = Path(path)
    if inputs and path.resolve() in inputs:
        raise OverwriteError(f"refusing to write {path}: it is one of the scanned inputs")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, _creation_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
