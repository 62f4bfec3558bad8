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
ENCODER_HELP = "Encoder: e5+use (default), e5, use, minilm, or another combination joined with +."

app = typer.Typer(
    help="Screen due-diligence and survey questionnaires (.docx .xlsx .txt .md .csv) for questions that reach into "
         "state secrets, military, personal data, critical infrastructure, export-controlled technology and other "
         "sensitive scope, and for foreign-related survey licensing issues. Works fully offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,   # plain help: rendering it through rich costs a tenth of a second on every --help
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
    ctx: typer.Context,
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
    fail_on: FailOn = typer.Option(FailOn.high, "--fail-on", help="Exit 1 when a finding is at or above this severity "
                                   "(findings decided 'accepted' or 'false_positive' in --decisions do not count)."),
    decisions: Optional[Path] = typer.Option(None, "--decisions", metavar="FILE.json",
                                             help="The reviewers' earlier decisions: each finding is marked decided or new, new ones "
                                                  "are listed first, decisions that match nothing any more are reported (stale)."),
    lexicon: List[Path] = typer.Option([], "--lexicon", metavar="FILE.yaml",
                                       help="Custom lexicon: company terms and examples for built-in categories, or new categories (repeatable)."),
    doc_key: List[str] = typer.Option([], "--doc-key", metavar="GLOB=KEY",
                                      help="File the decisions of files whose name matches GLOB under document KEY (repeatable; "
                                           "default: the file name without round/version suffixes)."),
    include: List[str] = typer.Option([], "--include", metavar="GLOB", help="In folders, scan only paths matching GLOB (repeatable)."),
    exclude: List[str] = typer.Option([], "--exclude", metavar="GLOB", help="In folders, skip paths matching GLOB (repeatable)."),
    max_file_mb: float = typer.Option(200, "--max-file-mb", help="Refuse input files larger than this (MB)."),
    max_unpacked_mb: float = typer.Option(1024, "--max-unpacked-mb", help="Refuse .docx/.xlsx that would unpack to more than this (MB)."),
    max_cells: int = typer.Option(1_000_000, "--max-cells", min=1, help="Stop reading a workbook after this many cells (with a warning)."),
    max_units: int = typer.Option(100_000, "--max-units", min=1, help="Take at most this many questions from one file (with a warning)."),
    convert_timeout: float = typer.Option(120, "--convert-timeout", min=1, help="Seconds LibreOffice may take to convert one .doc/.xls."),
    matcher: MatcherName = typer.Option(MatcherName.hybrid, "--matcher", help="Which evidence to use: hybrid (default), semantic, keywords, or none (ingestion only)."),
    encoder: Optional[str] = typer.Option(None, "--encoder", help=ENCODER_HELP),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the cache (embeddings and parsed files; see 'ddcheck cache info')."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors on stderr."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, metavar="N",
                             help="Read files in N worker processes (default 0 = one per CPU; 1 = in this process). "
                                  "Matching always runs in one process with one copy of the model."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Do not draw progress bars (drawn only when stderr is a terminal)."),
) -> None:
    """Scan questionnaires and write a review report."""
    from ddcheck import report
    from ddcheck.model import SEVERITY_RANK
    from ddcheck.outputs import ReportPlan, write_reports
    from ddcheck.readers import Limits
    from ddcheck.readers.errors import shown
    from ddcheck.scan import scan as run_scan

    plan = ReportPlan(json=json_out, out_dir=out, html=html_out, annotate=annotate, csv=csv_out, md=md_out)
    if not plan.wants_anything():
        _err("error: say where the report goes: --json FILE (or '-' for stdout), --html, --annotate DIR, --csv FILE, "
             "--md FILE, and/or --out DIR for all of them")
        raise typer.Exit(EXIT_USAGE)

    settings = _settings()
    fail_on = FailOn(_pick(ctx, settings, "fail_on", fail_on.value))
    matcher = MatcherName(_pick(ctx, settings, "matcher", matcher.value))
    lang = OutputLang(_pick(ctx, settings, "lang", lang.value))
    encoder = _pick(ctx, settings, "encoder", encoder)
    include = _pick(ctx, settings, "include", include)
    exclude = _pick(ctx, settings, "exclude", exclude)
    engagement = _pick(ctx, settings, "engagement", engagement)
    lexicons = _pick(ctx, settings, "lexicon", lexicon)
    document_keys = _pick(ctx, settings, "document_keys", _doc_keys(doc_key), param="doc_key")
    decision_set = _load_decisions(_pick(ctx, settings, "decisions", decisions), quiet)
    if decision_set is not None and matcher == MatcherName.none:
        _err("warning: --matcher none finds nothing to decide: the decisions are not applied")

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
            _err(f"error: {shown(result.path)}: {result.error['kind']}: {result.error['message']}")
        elif not quiet:
            for warning in result.warnings:
                _err(f"warning: {shown(result.path)}: {warning}")

    from ddcheck import progress

    reporter = progress.RichProgress() if progress.wanted(quiet or no_progress) else progress.NullProgress()
    try:
        with progress.active(reporter):
            result = run_scan(
                paths, include=include, exclude=exclude, on_file=on_file,
                limits=Limits.from_mb(max_file_mb, max_unpacked_mb, max_cells=max_cells, max_units=max_units,
                                      convert_timeout=convert_timeout), matcher=_build_matcher(matcher.value, encoder, not no_cache, lexicons),
                profile=profile, jobs=jobs or None, use_cache=not no_cache,
                decisions=decision_set, document_keys=document_keys,
            )
    except FileNotFoundError as exc:
        _err(f"error: no such file or folder: {exc}")
        raise typer.Exit(EXIT_USAGE)
    plan = ReportPlan(json=json_out, out_dir=out, html=html_out, annotate=annotate, csv=csv_out, md=md_out, lang=lang.value,
                      inputs=frozenset(Path(f.path).resolve() for f in result.files), roots=tuple(paths), quiet=quiet,
                      convert_timeout=convert_timeout)
    try:
        written = write_reports(result, plan)
    except report.OverwriteError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE)
    summary = report.report_dict(result)["summary"]
    if not quiet:
        counts = summary["findings"]
        _err(
            f"ddcheck: {summary['files']} file(s), {summary['units']} unit(s) screened, "
            f"{summary['files_failed']} could not be read; findings: {counts['high']} high, "
            f"{counts['medium']} medium, {counts['low']} low"
            + (f"; {len(result.passed_over)} other file(s) passed over (listed in the report)" if result.passed_over else "")
        )
        if result.decisions is not None:
            undecided = summary.get("undecided_findings", {})
            done = result.decisions.summary()
            _err(f"ddcheck: decisions: {done['decided']} finding(s) decided earlier "
                 f"({done['by_match']['reworded']} of them reworded), {done['undecided']} still to decide "
                 f"({undecided.get('high', 0)} high, {undecided.get('medium', 0)} medium, {undecided.get('low', 0)} low)")
        for path in written:
            _err(f"ddcheck: wrote {path}")
    if result.decisions is not None and result.decisions.stale and not quiet:
        _err(f"warning: {len(result.decisions.stale)} decision(s) in {result.decisions.source} no longer match any "
             "finding (removed or reworded beyond recognition; listed under decisions.stale in the JSON report):")
        for line in result.decisions.stale_lines():
            _err(f"warning:   {line}")
    if result.failed:
        raise typer.Exit(EXIT_INCOMPLETE)
    if fail_on != FailOn.never and result.worst_severity() >= SEVERITY_RANK[fail_on.value]:
        raise typer.Exit(EXIT_FINDINGS)
    raise typer.Exit(EXIT_OK)


def _settings():
    """The effective configuration (ddcheck.toml, pyproject [tool.ddcheck], DDCHECK_*); a bad value exits 2."""
    from ddcheck.config import ConfigError, load_settings

    try:
        return load_settings()
    except ConfigError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE)


def _pick(ctx: typer.Context, settings, key: str, cli_value, param: str | None = None):
    """The command line's value when the user gave the option, else the configured one (or the default)."""
    source = ctx.get_parameter_source(param or key)
    if getattr(source, "name", "") == "COMMANDLINE":        # typer may bring its own copy of click's enum
        settings.override(key, cli_value)
        return cli_value
    return settings[key]


def _doc_keys(items: List[str]) -> dict[str, str]:
    out = {}
    for item in items:
        glob, sep, key = item.partition("=")
        if not sep or not glob.strip() or not key.strip():
            _err(f"error: --doc-key {item!r} must read GLOB=KEY (e.g. --doc-key 'Falcon DD*.docx=ipo_request_list')")
            raise typer.Exit(EXIT_USAGE)
        out[glob.strip()] = key.strip()
    return out


def _load_decisions(path, quiet: bool = False):
    """The decisions file; a missing one is an empty baseline (a first round), a broken one exits 2."""
    if path is None:
        return None
    from ddcheck.decisions import DecisionError, DecisionSet

    path = Path(path)
    if not path.exists():
        if not quiet:
            _err(f"warning: no decisions recorded yet at {path}: every finding is new (record decisions with "
                 "'ddcheck decide' or the HTML report's review mode)")
        return DecisionSet([], path)
    try:
        return DecisionSet.load(path)
    except DecisionError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE)


def _build_matcher(name: str, encoder: str | None = None, use_cache: bool = True, lexicons=()):
    """Load the matcher lazily: only a scan that needs embeddings imports torch and the model.
    ``lexicons``: custom lexicon files (:mod:`ddcheck.custom`) added to the built-in categories."""
    if name == "none":
        return None
    from ddcheck.matcher import build_matcher
    from ddcheck.taxonomy import TaxonomyError, load_with

    try:
        taxonomy = load_with(lexicons) if lexicons else None
        return build_matcher(name, encoder=encoder, use_cache=use_cache, taxonomy=taxonomy)
    except (TaxonomyError, ValueError) as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE)



@app.command()
def explain(
    ctx: typer.Context,
    text: str = typer.Argument(..., help="The question to score."),
    section: str = typer.Option("", "--section", help="Section heading the question sits under."),
    matcher: MatcherName = typer.Option(MatcherName.hybrid, "--matcher"),
    encoder: Optional[str] = typer.Option(None, "--encoder", help=ENCODER_HELP),
    all_categories: bool = typer.Option(False, "--all", help="Show every category's score, not only findings."),
    lexicon: List[Path] = typer.Option([], "--lexicon", metavar="FILE.yaml", help="Custom lexicon file (repeatable)."),
) -> None:
    """Score one question against every category and print why."""
    from ddcheck.explain import explain_text

    settings = _settings()
    m = _build_matcher(_pick(ctx, settings, "matcher", matcher.value), _pick(ctx, settings, "encoder", encoder),
                       lexicons=_pick(ctx, settings, "lexicon", lexicon))
    if m is None:
        _err("error: explain needs a matcher (hybrid, semantic or keywords)")
        raise typer.Exit(EXIT_USAGE)
    typer.echo(explain_text(m, text, section, all_categories))


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
    ctx: typer.Context,
    matcher: MatcherName = typer.Option(MatcherName.hybrid, "--matcher"),
    encoder: Optional[str] = typer.Option(None, "--encoder", help=ENCODER_HELP),
    lexicon: List[Path] = typer.Option([], "--lexicon", metavar="FILE.yaml",
                                       help="Load this custom lexicon (repeatable) and run its own tests (tests.flag / tests.pass)."),
    all_rules: bool = typer.Option(False, "--all", help="With a lexicon: run the built-in categories' tests as well."),
) -> None:
    """Check every category's held-out test cases: 'flag' items must get the category, 'pass' items must not.

    With a lexicon (--lexicon, or 'lexicon' in the configuration) its own cases are run (add --all for the
    built-in ones too); a failure names the file, the key and the case."""
    from ddcheck.explain import run_rule_tests

    settings = _settings()
    lexicons = _pick(ctx, settings, "lexicon", lexicon)
    name = _pick(ctx, settings, "matcher", matcher.value)
    if name == "none":
        _err("error: rules test needs a matcher (hybrid, semantic or keywords)")
        raise typer.Exit(EXIT_USAGE)
    m = _build_matcher(name, _pick(ctx, settings, "encoder", encoder), lexicons=lexicons)
    failures, total = [], 0
    if lexicons:
        from ddcheck.custom import load_lexicon, run_lexicon_tests
        from ddcheck.taxonomy import TaxonomyError

        try:
            loaded = [load_lexicon(p) for p in lexicons]
        except TaxonomyError as exc:
            _err(f"error: {exc}")
            raise typer.Exit(EXIT_USAGE)
        if not any(lex.tests for lex in loaded):
            _err("warning: the lexicon has no tests (add tests.flag and tests.pass to its entries)")
        failures, total = run_lexicon_tests(m, loaded, builtin=all_rules)
    else:
        failures, total = run_rule_tests(m)
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


cache_app = typer.Typer(help="Show or clear the embedding cache (vectors of texts already seen, so rescans skip the model).",
                        no_args_is_help=True)
app.add_typer(cache_app, name="cache")


def _bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _interactive() -> bool:
    """Can we ask the person a question (stdin is a terminal)?"""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


@cache_app.command("info")
def cache_info_command(json_out: bool = typer.Option(False, "--json", help="Print the figures as JSON.")) -> None:
    """Where the cache is, its size on disk, and how many vectors it holds per encoder id."""
    import json

    from ddcheck.cache import cache_info

    info = cache_info()
    if json_out:
        typer.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    typer.echo(f"cache:    {info['path']}  (set DDCHECK_CACHE to move it)")
    typer.echo(f"database: {info['database']}  {_bytes(info['bytes'])}")
    typer.echo(f"parsed:   {info['parsed_files']:>8,}  files (reader output by file content)")
    typer.echo(f"scored:   {info['scored_texts']:>8,}  texts (findings by text, section and engine)")
    if info.get("error"):
        typer.echo(f"          could not be read: {info['error']}")
    if not info["models"]:
        typer.echo("vectors:  none yet")
    for model, count in info["models"].items():
        typer.echo(f"vectors:  {count:>8,}  {model}")
    for name, size in info["built_models"].items():
        typer.echo(f"models/:  {_bytes(size):>9}  {name}")


@cache_app.command("clear")
def cache_clear_command(
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    model: Optional[str] = typer.Option(None, "--model", metavar="ID", help="Clear only the vectors of this encoder id (see 'ddcheck cache info')."),
) -> None:
    """Delete the cached vectors, parsed files and scored texts (the next scan does everything again). Built models are kept."""
    from ddcheck.cache import DB_NAME, EmbeddingCache, cache_info

    info = cache_info()
    count = info["models"].get(model, 0) if model else sum(info["models"].values()) + info["parsed_files"] + info["scored_texts"]
    if model and model not in info["models"]:
        _err(f"error: the cache holds no vectors for '{model}'; see 'ddcheck cache info'")
        raise typer.Exit(EXIT_USAGE)
    if not count:
        typer.echo(f"the cache at {info['path']} is empty")
        return
    if not yes:
        if not _interactive():
            _err("error: 'ddcheck cache clear' asks for confirmation; pass --yes to clear without asking")
            raise typer.Exit(EXIT_USAGE)
        what = (f"{info['models'][model]:,} cached vectors of {model}" if model else
                f"{sum(info['models'].values()):,} cached vectors, {info['parsed_files']:,} parsed files and "
                f"{info['scored_texts']:,} scored texts")
        if not typer.confirm(f"Delete {what} from {info['database']}?"):
            typer.echo("nothing deleted")
            raise typer.Exit(EXIT_OK)
    cache = EmbeddingCache(Path(info["path"]) / DB_NAME)
    if not cache.available:
        _err(f"error: cannot open the cache: {cache.disabled}")
        raise typer.Exit(EXIT_USAGE)
    deleted = cache.clear(model)
    cache.close()
    rest = "" if model else f", {info['parsed_files']:,} parsed files and {info['scored_texts']:,} scored texts"
    typer.echo(f"deleted {deleted:,} cached vectors{rest} from {info['database']}")


# -- review workflow: decisions, version diff, configuration -------------------------------------------------
@app.command()
def decide(
    ctx: typer.Context,
    decisions_file: Path = typer.Argument(..., metavar="FILE.json", help="The decisions file (created when missing)."),
    report_file: Optional[Path] = typer.Option(None, "--report", metavar="report.json",
                                               help="The JSON report the unit id comes from ('ddcheck scan --json')."),
    unit: Optional[str] = typer.Option(None, "--unit", metavar="ID", help="The unit (question) id from the report or the CSV."),
    category: Optional[str] = typer.Option(None, "--category", metavar="CAT", help="Which finding of the unit (needed when it has several)."),
    decision: Optional[str] = typer.Option(None, "--decision",
                                           help="accepted | answer_public_only | redact | decline | false_positive, or undecided to remove."),
    note: str = typer.Option("", "--note", help="Why (shown in the reports beside the decision)."),
    by: Optional[str] = typer.Option(None, "--by", metavar="NAME", help="Who decided (default: 'reviewer' in the configuration)."),
    file: Optional[str] = typer.Option(None, "--file", metavar="PATH", help="The file, when the unit id occurs in several."),
    all_occurrences: bool = typer.Option(False, "--all", help="The decision covers every occurrence of this question in the document."),
    csv_file: Optional[Path] = typer.Option(None, "--csv", metavar="FILE.csv",
                                            help="Record the decisions filled into the findings CSV ('ddcheck scan --csv'): its "
                                                 "decision, note and decided_by columns."),
    doc_key: List[str] = typer.Option([], "--doc-key", metavar="GLOB=KEY", help="As for scan (only needed for CSVs without document_key)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and say what would change; write nothing."),
) -> None:
    """Record reviewers' decisions (accepted, answer_public_only, redact, decline, false_positive) in a decisions file.

    From the command line:  ddcheck decide decisions.json --report report.json --unit ID --decision redact --note ... --by NAME
    From the findings CSV:  ddcheck decide decisions.json --csv findings.csv --by NAME
    """
    from ddcheck.decisions import DecisionError, DecisionSet, load_report, parse_decision, rows_for_unit, rows_from_csv

    settings = _settings()
    who = by if by is not None else settings["reviewer"]
    keys = _pick(ctx, settings, "document_keys", _doc_keys(doc_key), param="doc_key")
    if (unit is None) == (csv_file is None):
        _err("error: say what to record: --unit ID (with --report and --decision) or --csv FILE")
        raise typer.Exit(EXIT_USAGE)
    try:
        existing = DecisionSet.load(decisions_file, missing_ok=True)
        if csv_file is not None:
            if decision is not None or category is not None or all_occurrences:
                raise DecisionError("--csv reads the decisions from the file's decision column; --decision, --category "
                                    "and --all are for --unit")
            rows = rows_from_csv(csv_file, who or "", keys)
            if not any(r.decision is not None for r in rows):
                raise DecisionError(f"{csv_file}: no row has a decision filled in (column 'decision': "
                                    "accepted, answer_public_only, redact, decline, false_positive)")
        else:
            if report_file is None or decision is None:
                raise DecisionError("--unit needs --report report.json and --decision")
            code = parse_decision(decision, "--decision")
            if not who and code != "undecided":
                raise DecisionError("who decided? pass --by NAME (or set 'reviewer' in ddcheck.toml)")
            rows = rows_for_unit(load_report(report_file), unit, category, code, note, who or "", file=file,
                                 all_occurrences=all_occurrences, label=str(report_file), document_keys=keys)
        changes = existing.record(rows, blank_first=csv_file is None)
    except DecisionError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE)
    if dry_run:
        _err(f"ddcheck: {decisions_file} (dry run, nothing written): {changes.describe()}")
        raise typer.Exit(EXIT_OK)
    existing.save(decisions_file)
    _err(f"ddcheck: {decisions_file}: {changes.describe()}; {len(existing.records)} decision record(s) in the file")
    raise typer.Exit(EXIT_OK)


@app.command("diff")
def diff_command(
    ctx: typer.Context,
    old: Path = typer.Argument(..., help="The earlier version (.docx .xlsx .txt .md .csv)."),
    new: Path = typer.Argument(..., help="The later version (any of those formats)."),
    json_out: Optional[str] = typer.Option(None, "--json", metavar="FILE", help="Write the diff as JSON to FILE ('-' = stdout instead of the text)."),
    html_out: Optional[Path] = typer.Option(None, "--html", metavar="FILE", help="Write the diff as one self-contained HTML page."),
    fail_on: FailOn = typer.Option(FailOn.high, "--fail-on", help="Exit 1 when an added or changed question has a finding at or above this."),
    matcher: MatcherName = typer.Option(MatcherName.hybrid, "--matcher", help="Evidence for the findings and for pairing reworded questions."),
    encoder: Optional[str] = typer.Option(None, "--encoder", help=ENCODER_HELP),
    lexicon: List[Path] = typer.Option([], "--lexicon", metavar="FILE.yaml", help="Custom lexicon file (repeatable)."),
    lang: OutputLang = typer.Option(OutputLang.en, "--lang", help="Language of the HTML page: en or zh."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the cache."),
) -> None:
    """List the questions added, removed and changed between two versions of a questionnaire, with their risk.

    The findings of each added or changed question are shown. Exit codes as for scan: 1 when an added or
    changed question has a finding at or above --fail-on, 3 when a file could not be read."""
    import json

    from ddcheck.diff import diff_paths, format_text, to_json
    from ddcheck.model import SEVERITY_RANK
    from ddcheck.report import write_atomic

    settings = _settings()
    fail_on = FailOn(_pick(ctx, settings, "fail_on", fail_on.value))
    name = _pick(ctx, settings, "matcher", matcher.value)
    lang_code = _pick(ctx, settings, "lang", lang.value)
    for path in (old, new):
        if not path.exists():
            _err(f"error: no such file: {path}")
            raise typer.Exit(EXIT_USAGE)
        if path.is_dir():
            _err(f"error: {path} is a folder: diff compares two files")
            raise typer.Exit(EXIT_USAGE)
    if old.resolve() == new.resolve():
        _err("error: OLD and NEW are the same file")
        raise typer.Exit(EXIT_USAGE)
    m = _build_matcher(name, _pick(ctx, settings, "encoder", encoder), not no_cache, _pick(ctx, settings, "lexicon", lexicon))
    try:
        result = diff_paths(old, new, matcher=m, use_cache=not no_cache)
    except (FileNotFoundError, ValueError) as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE)
    inputs = {old.resolve(), new.resolve()}
    for f in result.failed:
        _err(f"error: {f.path}: {(f.error or {}).get('kind', '')}: {(f.error or {}).get('message', '')}")
    if json_out == "-":
        sys.stdout.write(json.dumps(to_json(result), ensure_ascii=False, indent=2) + "\n")
    else:
        typer.echo(format_text(result), nl=False)
        if json_out:
            write_atomic(Path(json_out), json.dumps(to_json(result), ensure_ascii=False, indent=2) + "\n", inputs)
            _err(f"ddcheck: wrote {json_out}")
    if html_out is not None:
        from ddcheck.outputs.diff_html import render_diff_html

        target = html_out if html_out.suffix.lower() in (".html", ".htm") else html_out / "diff.html"
        write_atomic(target, render_diff_html(result, lang_code), inputs)
        _err(f"ddcheck: wrote {target}")
    if result.failed:
        raise typer.Exit(EXIT_INCOMPLETE)
    if fail_on != FailOn.never and result.worst_severity() >= SEVERITY_RANK[fail_on.value]:
        raise typer.Exit(EXIT_FINDINGS)
    raise typer.Exit(EXIT_OK)


config_app = typer.Typer(help="Show the effective configuration (ddcheck.toml, the tool.ddcheck table of pyproject.toml, DDCHECK_* variables).",
                         no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(json_out: bool = typer.Option(False, "--json", help="Print the settings as JSON.")) -> None:
    """Every setting's effective value and where it came from.

    Precedence: command line > environment DDCHECK_* > ddcheck.toml > pyproject.toml (tool.ddcheck) > defaults."""
    import json

    from ddcheck.config import format_settings, settings_json

    settings = _settings()
    if json_out:
        typer.echo(json.dumps(settings_json(settings), ensure_ascii=False, indent=2))
    else:
        typer.echo(format_settings(settings))


def main() -> None:
    """The console entry point. After a scan that loaded torch, Python's own teardown of torch and
    transformers spends ~1.5 s freeing memory the system reclaims anyway; so when nothing else is
    running, do the exit work that matters (atexit handlers, flushing) and leave at once."""
    try:
        app()
    except SystemExit as stop:
        code = stop.code
        if code is None or isinstance(code, int):
            _leave_quickly(code or 0)
        raise


def _leave_quickly(code: int) -> None:
    import threading

    if "ddcheck.encoders" in sys.modules:
        sys.modules["ddcheck.encoders"].stop_children()      # a USE child's pool has a thread of its own
    if "torch" not in sys.modules or threading.active_count() > 1:
        return                                  # the normal exit is fast, or a thread would be cut short
    import atexit
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
