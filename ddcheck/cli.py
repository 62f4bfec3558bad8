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
ENCODER_HELP = "Encoder: e5 (default), use, minilm, or a combination such as e5+use."

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


class OutputLang(str, Enum):
    en = "en"
    zh = "zh"


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
    out: Optional[Path] = typer.Option(None, "--out", metavar="DIR",
                                       help="Write every report into DIR: report.json, report.html, findings.csv, summary.md "
                                            "and annotated/ (reviewed copies of the questionnaires)."),
    html_out: Optional[Path] = typer.Option(None, "--html", metavar="FILE|DIR",
                                            help="Write the HTML review report (one self-contained file) to FILE.html, or to DIR/report.html."),
    annotate: Optional[Path] = typer.Option(None, "--annotate", metavar="DIR",
                                            help="Write reviewed copies into DIR (x.reviewed.docx with Word comments, x.reviewed.xlsx "
                                                 "with review columns and notes, CSV for text files); originals are never changed."),
    csv_out: Optional[Path] = typer.Option(None, "--csv", metavar="FILE", help="Write one row per finding to FILE (UTF-8 CSV for Excel)."),
    md_out: Optional[Path] = typer.Option(None, "--md", metavar="FILE", help="Write a Markdown summary to FILE (for tickets and e-mail)."),
    lang: OutputLang = typer.Option(OutputLang.en, "--lang", help="Language of the HTML report, summary and annotations: en or zh."),
    engagement: Optional[Path] = typer.Option(None, "--engagement", metavar="PROFILE.yaml",
                                              help="Facts about the engagement (who commissions, conducts and receives it) for the licensing and scope rules."),
    fail_on: FailOn = typer.Option(FailOn.high, "--fail-on", help="Exit 1 when a finding is at or above this severity."),
    include: List[str] = typer.Option([], "--include", metavar="GLOB", help="In folders, scan only paths matching GLOB (repeatable)."),
    exclude: List[str] = typer.Option([], "--exclude", metavar="GLOB", help="In folders, skip paths matching GLOB (repeatable)."),
    max_file_mb: float = typer.Option(200, "--max-file-mb", help="Refuse input files larger than this (MB)."),
    max_unpacked_mb: float = typer.Option(1024, "--max-unpacked-mb", help="Refuse .docx/.xlsx that would unpack to more than this (MB)."),
    matcher: MatcherName = typer.Option(MatcherName.hybrid, "--matcher", help="Which evidence to use: hybrid (default), semantic, keywords, or none (ingestion only)."),
    encoder: Optional[str] = typer.Option(None, "--encoder", help=ENCODER_HELP),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the embedding cache."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors on stderr."),
) -> None:
    """Scan questionnaires and write a review report."""
    from ddcheck import report
    from ddcheck.model import SEVERITY_RANK
    from ddcheck.outputs import ReportPlan, write_reports
    from ddcheck.readers import Limits
    from ddcheck.scan import scan as run_scan

    plan = ReportPlan(json=json_out, out_dir=out, html=html_out, annotate=annotate, csv=csv_out, md=md_out)
    if not plan.wants_anything():
        _err("error: say where the report goes: --json FILE (or '-' for stdout), --html, --annotate DIR, --csv FILE, "
             "--md FILE, and/or --out DIR for all of them")
        raise typer.Exit(EXIT_USAGE)

    profile = None
    if engagement is not None:
        from ddcheck.engagement import ProfileError, load_profile

        try:
            profile = load_profile(engagement)
        except ProfileError as exc:
            _err(f"error: {exc}")
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
            limits=Limits.from_mb(max_file_mb, max_unpacked_mb), matcher=_build_matcher(matcher.value, encoder, not no_cache),
            profile=profile,
        )
    except FileNotFoundError as exc:
        _err(f"error: no such file or folder: {exc}")
        raise typer.Exit(EXIT_USAGE)
    plan = ReportPlan(json=json_out, out_dir=out, html=html_out, annotate=annotate, csv=csv_out, md=md_out, lang=lang.value,
                      inputs=frozenset(Path(f.path).resolve() for f in result.files), roots=tuple(paths), quiet=quiet)
    written = write_reports(result, plan)
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


def _build_matcher(name: str, encoder: str | None = None, use_cache: bool = True):
    """Load the matcher lazily: only a scan that needs embeddings imports torch and the model."""
    if name == "none":
        return None
    from ddcheck.matcher import build_matcher
    from ddcheck.taxonomy import TaxonomyError

    try:
        return build_matcher(name, encoder=encoder, use_cache=use_cache)
    except (TaxonomyError, ValueError) as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE)



@app.command()
def explain(
    text: str = typer.Argument(..., help="The question to score."),
    section: str = typer.Option("", "--section", help="Section heading the question sits under."),
    matcher: MatcherName = typer.Option(MatcherName.hybrid, "--matcher"),
    encoder: Optional[str] = typer.Option(None, "--encoder", help=ENCODER_HELP),
    all_categories: bool = typer.Option(False, "--all", help="Show every category's score, not only findings."),
) -> None:
    """Score one question against every category and print why."""
    from ddcheck.explain import explain_text

    typer.echo(explain_text(_build_matcher(matcher.value, encoder), text, section, all_categories))


rules_app = typer.Typer(help="List, show and test the category rules.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


@rules_app.command("list")
def rules_list() -> None:
    """List the categories with their severity and number of examples."""
    from ddcheck.taxonomy import load

    for c in load().categories.values():
        typer.echo(f"{c.number:>2} {c.id:<36} {c.severity:<6} {c.name_en} / {c.name_zh}  "
                   f"({len(c.positives)} examples, {len(c.negatives)} near-misses)")


@rules_app.command("show")
def rules_show(category: str = typer.Argument(..., help="Category id.")) -> None:
    """Show one category: description, terms, action and legal references."""
    from ddcheck.explain import describe_category
    from ddcheck.taxonomy import load

    taxonomy = load()
    if category not in taxonomy.categories:
        _err(f"error: no category '{category}'; see 'ddcheck rules list'")
        raise typer.Exit(EXIT_USAGE)
    typer.echo(describe_category(taxonomy.categories[category]))


@rules_app.command("test")
def rules_test(
    matcher: MatcherName = typer.Option(MatcherName.hybrid, "--matcher"),
    encoder: Optional[str] = typer.Option(None, "--encoder", help=ENCODER_HELP),
) -> None:
    """Check every category's held-out test cases: 'flag' items must get the category, 'pass' items must not."""
    from ddcheck.explain import run_rule_tests

    failures, total = run_rule_tests(_build_matcher(matcher.value, encoder))
    for line in failures:
        typer.echo(line)
    typer.echo(f"rules: {total - len(failures)} passed, {len(failures)} failed")
    raise typer.Exit(EXIT_FINDINGS if failures else EXIT_OK)


@app.command("eval")
def eval_command(
    file: Path = typer.Argument(..., help="Labelled items, one JSON object per line (text, lang, cats, sev)."),
    matcher: List[MatcherName] = typer.Option([MatcherName.hybrid], "--matcher", help="Repeat to compare matchers."),
    encoder: Optional[str] = typer.Option(None, "--encoder", help=ENCODER_HELP),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the figures as JSON."),
) -> None:
    """Measure matchers on labelled data: recall, right category, benign flagged, per category and language."""
    import json

    from ddcheck.evaluate import format_report, load_items, metrics, predict

    try:
        items = load_items(file)
    except (OSError, ValueError) as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE)
    results = {}
    for name in dict.fromkeys(matcher):
        results[name.value] = metrics(items, predict(_build_matcher(name.value, encoder), items))
        typer.echo(format_report(f"{name.value} ({encoder or 'default encoder'})", results[name.value]))
    if json_out:
        json_out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


@app.command(hidden=True)
def calibrate(
    file: Path = typer.Argument(..., help="Labelled items, one JSON object per line (text, lang, cats, sev)."),
    matcher: List[MatcherName] = typer.Option([MatcherName.hybrid, MatcherName.semantic, MatcherName.keywords], "--matcher"),
    encoder: Optional[str] = typer.Option(None, "--encoder", help=ENCODER_HELP),
    write: bool = typer.Option(True, "--write/--dry-run", help="Write data/calibration.yaml (maintainers)."),
) -> None:
    """Maintainers: fit the matcher parameters per matcher and encoder on labelled data."""
    from ddcheck import calibration
    from ddcheck.evaluate import load_items
    from ddcheck.matcher import DEFAULT_ENCODER, build_matcher
    from ddcheck.encoders import parse_spec

    items = load_items(file)
    spec = "+".join(parse_spec(encoder or DEFAULT_ENCODER))
    for name in dict.fromkeys(matcher):
        m = build_matcher(name.value, encoder=spec)
        params, held_out = calibration.calibrate(m, items)
        key = f"{name.value}/{'none' if name.value == 'keywords' else spec}"
        typer.echo(f"{key}: {params}")
        typer.echo(f"{key}: two-fold cross-validated recall(med/high) {held_out['recall']}, right category "
                   f"{held_out['right']}, benign flagged {held_out['benign']}")
        if write:
            calibration.save(key, params)


@app.command(hidden=True)
def vectors(encoder: List[str] = typer.Option(["e5", "use"], "--encoder", help="Encoders whose exemplar vectors to ship.")) -> None:
    """Maintainers: compute the built-in exemplars' vectors that ship in the package (data/vectors/NAME.npz)."""
    from ddcheck.cache import SHIPPED, EmbeddingCache, write_shipped
    from ddcheck.encoders import get_encoder
    from ddcheck.matcher import ordinary_texts
    from ddcheck.taxonomy import load

    taxonomy = load()
    texts = [p for c in taxonomy.categories.values() for p in c.positives] + ordinary_texts(taxonomy)
    texts = list(dict.fromkeys(texts))
    for name in encoder:
        enc = get_encoder(name, EmbeddingCache(), shipped=False)
        write_shipped(SHIPPED / f"{name}.npz", enc.id, texts, enc.encode(texts))
        typer.echo(f"wrote {SHIPPED / (name + '.npz')}: {len(texts)} vectors for {enc.id}")


def main() -> None:
    app()
