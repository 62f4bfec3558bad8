"""The ``ddcheck`` command line: thin wrappers that parse options, call the library, and map results to exit codes.

Exit codes (contract): 0 clean, 1 a finding at or above ``--fail-on``, 2 usage or
configuration error, 3 incomplete (some input could not be read; wins over 1).
Humans read stderr; machines read the files and stdout.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from ddcheck import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3

app = typer.Typer(
    help="Screen due-diligence and survey questionnaires (.docx .xlsx .txt .md .csv) for questions that reach into "
         "state secrets, military, personal data, critical infrastructure, export-controlled technology and other "
         "sensitive scope, and for foreign-related survey licensing issues. Works fully offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class MatcherName(str, Enum):
    hybrid = "hybrid"
    semantic = "semantic"
    keywords = "keywords"
    none = "none"


class FailOn(str, Enum):
    high = "high"
    medium = "medium"
    low = "low"
    never = "never"


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ddcheck {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """ddcheck: sensitive-scope screening for questionnaires."""


@app.command()
def scan(
    paths: List[Path] = typer.Argument(..., help="Files or folders (folders are scanned recursively)."),
    json_out: Optional[str] = typer.Option(None, "--json", metavar="FILE", help="Write the JSON report to FILE ('-' = stdout)."),
    out: Optional[Path] = typer.Option(None, "--out", metavar="DIR", help="Write all reports into DIR (report.json, ...)."),
    fail_on: FailOn = typer.Option(FailOn.high, "--fail-on", help="Exit 1 when a finding is at or above this severity."),
    include: List[str] = typer.Option([], "--include", metavar="GLOB", help="In folders, scan only paths matching GLOB (repeatable)."),
    exclude: List[str] = typer.Option([], "--exclude", metavar="GLOB", help="In folders, skip paths matching GLOB (repeatable)."),
    max_file_mb: float = typer.Option(200, "--max-file-mb", help="Refuse input files larger than this (MB)."),
    max_unpacked_mb: float = typer.Option(1024, "--max-unpacked-mb", help="Refuse .docx/.xlsx that would unpack to more than this (MB)."),
    matcher: MatcherName = typer.Option(MatcherName.none, "--matcher", help="Which evidence to use: hybrid (default), semantic, keywords, or none (ingestion only)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors on stderr."),
) -> None:
    """Scan questionnaires and write a review report."""
    from ddcheck import report
    from ddcheck.model import SEVERITY_RANK
    from ddcheck.readers import Limits
    from ddcheck.scan import scan as run_scan

    if json_out is None and out is None:
        _err("error: say where the report goes: --json FILE (or '-' for stdout) and/or --out DIR")
        raise typer.Exit(EXIT_USAGE)

    def on_file(result) -> None:
        if result.failed:
            _err(f"error: {result.path}: {result.error['kind']}: {result.error['message']}")
        elif not quiet:
            for warning in result.warnings:
                _err(f"warning: {result.path}: {warning}")

    try:
        result = run_scan(
            paths, include=include, exclude=exclude, on_file=on_file,
            limits=Limits.from_mb(max_file_mb, max_unpacked_mb), matcher=_build_matcher(matcher.value),
        )
    except FileNotFoundError as exc:
        _err(f"error: no such file or folder: {exc}")
        raise typer.Exit(EXIT_USAGE)
    inputs = {Path(f.path).resolve() for f in result.files}
    text = report.dumps(result)
    written = []
    if json_out == "-":
        sys.stdout.write(text)
    elif json_out:
        report.write_atomic(Path(json_out), text, inputs)
        written.append(json_out)
    if out is not None:
        report.write_atomic(out / "report.json", text, inputs)
        written.append(str(out / "report.json"))
    summary = report.report_dict(result)["summary"]
    if not quiet:
        counts = summary["findings"]
        _err(
            f"ddcheck: {summary['files']} file(s), {summary['units']} unit(s) screened, "
            f"{summary['files_failed']} could not be read; findings: {counts['high']} high, "
            f"{counts['medium']} medium, {counts['low']} low"
            + (f"; {len(result.passed_over)} other file(s) passed over (listed in the report)" if result.passed_over else "")
        )
        for path in written:
            _err(f"ddcheck: wrote {path}")
    if result.failed:
        raise typer.Exit(EXIT_INCOMPLETE)
    if fail_on != FailOn.never and result.worst_severity() >= SEVERITY_RANK[fail_on.value]:
        raise typer.Exit(EXIT_FINDINGS)
    raise typer.Exit(EXIT_OK)


def _build_matcher(name: str):
    """Load the matcher lazily: only a scan that needs embeddings imports torch and the model."""
    if name == "none":
        return None
    from ddcheck.matcher import build_matcher

    return build_matcher(name)


def main() -> None:
    app()
