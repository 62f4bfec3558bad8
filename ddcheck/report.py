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


def unit_json(unit) -> dict[str, Any]:
    raw = unit.raw
    data: dict[str, Any] = {
        "id": unit.id,
        "text": raw.text,
        "lang": unit.lang,
        "section": raw.section,
        "location": raw.location.to_json(),
        "findings": [f.to_json() for f in unit.findings],
    }
    if raw.item_label:
        data["item"] = raw.item_label
    if raw.hidden:
        data["hidden"] = True
    if raw.context:
        data["context"] = [{"field": k, "text": v} for k, v in raw.context]
    return data


def file_json(result: FileResult) -> dict[str, Any]:
    return {
        "path": result.path,
        "format": result.format,
        "status": result.status,
        "error": result.error,
        "survey_kind": result.survey_kind,
        "units": [unit_json(u) for u in result.units],
        "engagement": result.engagement,
        "file_findings": result.file_findings,
        "warnings": result.warnings,
        "skipped": [{"text": s.text, "location": s.location.to_json(), "reason": s.reason} for s in result.skipped],
    }


def report_dict(result: ScanResult) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "tool": {"name": "ddcheck", "version": __version__},
        "engine": result.engine,
        "files": [file_json(f) for f in result.files],
        "passed_over": [{"path": p.display, "reason": p.reason} for p in result.passed_over],
        "engagement": result.engagement,
        "summary": {
            "files": len(result.files),
            "files_failed": len(result.failed),
            "units": sum(len(f.units) for f in result.files),
            "findings": result.findings_by_severity(),
        },
    }


def dumps(result: ScanResult) -> str:
    return json.dumps(report_dict(result), ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def write_atomic(path: Path, text: str, inputs: set[Path] | None = None) -> None:
    """Write via a temporary file and rename, so a reader never sees half a report; never over an input."""
    path = Path(path)
    if inputs and path.resolve() in inputs:
        raise ValueError(f"refusing to write {path}: it is one of the scanned inputs")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
