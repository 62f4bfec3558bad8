"""Write the reports a scan produces: JSON (the contract), and the human-facing formats.

``write_reports`` is the one entry point the CLI calls; each format lives in its
own module:

- :mod:`ddcheck.report` — ``report.json`` (contract ``ddcheck.report/1``)
- :mod:`ddcheck.outputs.html` — the self-contained HTML review report
- :mod:`ddcheck.outputs.annotate` — reviewed copies of the questionnaires
  (:mod:`~ddcheck.outputs.annotate_docx`, :mod:`~ddcheck.outputs.annotate_xlsx`,
  :mod:`~ddcheck.outputs.annotate_text`)
- :mod:`ddcheck.outputs.csv_md` — the findings CSV and the Markdown summary

All of them read one view of the scan (:mod:`ddcheck.outputs.review`), so verdicts
and counts agree everywhere. Every file is written atomically and never over a
scanned input; the reviewed copies are written first, so the HTML report and the
Markdown summary can link to them and show what each copy could not keep.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ddcheck.report import dumps, write_atomic

OUT_NAMES = {"json": "report.json", "html": "report.html", "csv": "findings.csv", "md": "summary.md", "annotate": "annotated"}


@dataclass(frozen=True)
class ReportPlan:
    """Where each output goes; ``None`` means not requested. ``out_dir`` asks for every format in one folder."""

    json: str | None = None            # a path, or "-" for stdout
    out_dir: Path | None = None        # report.json, report.html, findings.csv, summary.md, annotated/
    html: Path | None = None           # a .html file, or a folder (report.html inside it)
    annotate: Path | None = None       # folder for the reviewed copies
    csv: Path | None = None
    md: Path | None = None
    lang: str = "en"                   # interface language of the HTML, Markdown and annotations: en | zh
    inputs: frozenset[Path] = field(default_factory=frozenset)
    roots: tuple[Path, ...] = ()       # the paths the user asked to scan (for the copies' folder structure)
    quiet: bool = False
    convert_timeout: float = 120.0     # seconds LibreOffice may take to convert a legacy file for its copy

    def wants_anything(self) -> bool:
        return any(v is not None for v in (self.json, self.out_dir, self.html, self.annotate, self.csv, self.md))

    def wants_review(self) -> bool:
        return any(v is not None for v in (self.out_dir, self.html, self.annotate, self.csv, self.md))


def html_path(target: Path) -> Path:
    """``--html x.html`` is the file; ``--html DIR`` (or an existing folder) means ``DIR/report.html``."""
    target = Path(target)
    if target.suffix.lower() in (".html", ".htm") and not target.is_dir():
        return target
    return target / OUT_NAMES["html"]


def _relative(target: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(Path(target).resolve(), Path(start).resolve())).as_posix()
    except ValueError:
        return Path(target).resolve().as_posix()


def _folder_scan(plan: ReportPlan, result) -> bool:
    return len(result.files) > 1 or any(Path(r).is_dir() for r in plan.roots)


def _write_index(result, review, target: Path, annotations: dict | None, plan: ReportPlan, inputs: set[Path]) -> list[str]:
    """``index.html`` beside ``report.html`` (``x.index.html`` beside ``x.html``) and one page per file in
    ``files/`` (``x.files/``), each the report of that file alone; return the paths written."""
    import dataclasses

    from ddcheck.outputs import review as review_mod
    from ddcheck.outputs.html import page_name, render_html, render_index

    named = target.name != OUT_NAMES["html"]
    index = target.with_name(f"{target.stem}.index.html") if named else target.with_name("index.html")
    pages_dir = target.with_name(f"{target.stem}.files") if named else target.with_name("files")
    written, links = [], {}
    for view in review.files:
        page = pages_dir / page_name(view.index, view.path)
        one = review_mod.build(dataclasses.replace(result, files=[view.result], passed_over=[]), annotations)
        html = render_html(one, plan.lang, html_dir=page.parent, index_link=f"../{index.name}")
        write_atomic(page, html, inputs)
        written.append(str(page))
        links[view.index] = f"{pages_dir.name}/{page.name}"
    write_atomic(index, render_index(review, links, target.name, plan.lang), inputs)
    return written + [str(index)]


def write_reports(result, plan: ReportPlan, stdout=None, warn: Callable[[str], None] | None = None) -> list[str]:
    """Write every requested report; return the paths written (for the user's summary line).

    Problems with the reviewed copies (fidelity warnings, a copy that could not be
    written) go to ``warn`` (stderr by default; only errors when ``plan.quiet``).
    """
    if warn is None:
        def warn(message: str) -> None:
            print(message, file=sys.stderr)

    inputs = set(plan.inputs)
    text = dumps(result)
    written: list[str] = []
    if plan.json == "-":
        (stdout or sys.stdout).write(text)
    elif plan.json:
        write_atomic(Path(plan.json), text, inputs)
        written.append(plan.json)
    out = Path(plan.out_dir) if plan.out_dir is not None else None
    if out is not None:
        target = out / OUT_NAMES["json"]
        write_atomic(target, text, inputs)
        written.append(str(target))
    if not plan.wants_review():
        return written

    from ddcheck.outputs import review as review_mod
    from ddcheck.outputs.annotate import annotate_files

    review = review_mod.build(result)
    copies: dict[Path, dict] = {}
    annotate_dirs = [d for d in (plan.annotate, out / OUT_NAMES["annotate"] if out is not None else None) if d is not None]
    for folder in dict.fromkeys(Path(d) for d in annotate_dirs):
        annotations = annotate_files(review.files, folder, roots=list(plan.roots), inputs=inputs, lang=plan.lang,
                                     convert_timeout=plan.convert_timeout)
        copies[folder] = annotations
        for annotation in annotations.values():
            if annotation.path is not None:
                written.append(str(annotation.path))
            label = str(annotation.path or annotation.source)
            if annotation.error:
                warn(f"error: {annotation.source}: {annotation.error}")
            if not plan.quiet:
                for message in annotation.warnings:
                    warn(f"warning: {label}: {message}")

    def with_copies(preferred: Path | None):
        """The review whose files point at the copies in ``preferred`` (else any copies written)."""
        annotations = copies.get(preferred) if preferred is not None else None
        if annotations is None and copies:
            annotations = next(iter(copies.values()))
        for view in review.files:
            view.annotation = (annotations or {}).get(view.path)
        return review

    from ddcheck.outputs.csv_md import findings_csv, summary_md
    from ddcheck.outputs.html import render_html

    own = out / OUT_NAMES["annotate"] if out is not None else None
    chosen = Path(plan.annotate) if plan.annotate is not None else own
    html_targets = ([(html_path(plan.html), chosen)] if plan.html is not None else []) + \
                   ([(out / OUT_NAMES["html"], own)] if out is not None else [])
    for target, folder in html_targets:
        page = render_html(with_copies(folder), plan.lang, html_dir=target.parent)
        write_atomic(target, page, inputs)
        written.append(str(target))
        if _folder_scan(plan, result):
            written += _write_index(result, with_copies(folder), target, copies.get(folder), plan, inputs)
    csv_targets = ([Path(plan.csv)] if plan.csv is not None else []) + ([out / OUT_NAMES["csv"]] if out is not None else [])
    for target in csv_targets:
        write_atomic(target, findings_csv(review, plan.lang), inputs)
        written.append(str(target))
    md_targets = ([(Path(plan.md), chosen)] if plan.md is not None else []) + \
                 ([(out / OUT_NAMES["md"], own)] if out is not None else [])
    for target, folder in md_targets:
        view = with_copies(folder)
        links = {f.path: _relative(f.annotation.path, target.parent) for f in view.files
                 if f.annotation is not None and f.annotation.path is not None}
        write_atomic(target, summary_md(view, plan.lang, links), inputs)
        written.append(str(target))
    return written
