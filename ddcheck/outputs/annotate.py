"""Reviewed copies of the questionnaires (``--annotate DIR``).

Each readable input gets a copy in DIR, named ``x.reviewed.docx`` /
``x.reviewed.xlsx`` (``x.reviewed.csv`` for CSV; ``x.txt.reviewed.csv`` and
``x.md.reviewed.csv`` for text files, whose copy changes format), keeping the
folder structure below the scanned folder. Inputs are opened read-only and never
written; a copy is never written over an input. After writing, each copy is
opened again and its annotations are counted: the count must equal the number of
flagged units, and anything the copy could not keep is reported as a fidelity
warning rather than lost silently.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ddcheck.outputs.review import FileView

# Fixed timestamp for zip members we write, so the same scan gives byte-identical copies.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass
class Annotation:
    """What happened to one file's reviewed copy."""

    source: str                       # the input as the report names it
    path: Path | None                 # the copy written, or None
    expected: int                     # flagged units
    annotated: int = 0                # annotations counted when the copy was opened again
    warnings: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.path is not None and not self.error and self.annotated == self.expected


def copy_name(path: Path, fmt: str) -> str:
    """``x.docx`` -> ``x.reviewed.docx``; ``x.txt`` -> ``x.txt.reviewed.csv``; a .docm stays .docm."""
    suffix = path.suffix.lower()
    if fmt == "docx":
        out_ext = ".docm" if suffix in (".docm", ".dotm") else ".docx"        # a template's copy is a document
    elif fmt in ("doc", "xls"):
        out_ext = f".{fmt}x"                                                  # x.doc -> x.doc.reviewed.docx
    elif fmt == "xlsx":
        out_ext = ".xlsm" if suffix in (".xlsm", ".xltm") else ".xlsx"
    else:
        out_ext = ".csv"
    if suffix == out_ext:
        return f"{path.stem}.reviewed{out_ext}"
    return f"{path.name}.reviewed{out_ext}"


def base_folder(roots: list[Path], files: list[Path]) -> Path | None:
    """The folder the copies' relative paths start from: the scanned folder(s), else the files' common folder."""
    folders = [r.resolve() if r.is_dir() else r.resolve().parent for r in roots] if roots else []
    folders = folders or [f.resolve().parent for f in files]
    if not folders:
        return None
    try:
        return Path(os.path.commonpath([str(f) for f in folders]))
    except ValueError:          # different drives on Windows
        return None


def plan_targets(views: list[FileView], out_dir: Path, roots: list[Path], inputs: set[Path]) -> dict[str, Path]:
    """Where each readable file's copy goes; names are unique and never an input."""
    readable = [v for v in views if not v.failed]
    base = base_folder(roots, [Path(v.path) for v in readable])
    targets: dict[str, Path] = {}
    used: set[Path] = set()
    for view in readable:
        source = Path(view.path).resolve()
        try:
            rel_dir = source.parent.relative_to(base) if base else Path()
        except ValueError:
            rel_dir = Path()
        target = out_dir / rel_dir / copy_name(source, view.format)
        n = 2
        while target.resolve() in used or target.resolve() in inputs:
            target = out_dir / rel_dir / f"{Path(copy_name(source, view.format)).stem}-{n}{target.suffix}"
            n += 1
        used.add(target.resolve())
        targets[view.path] = target
    return targets


def rezip(members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    """A zip of ``members`` in the given order; new members get a fixed date, kept members keep theirs."""
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in members:
            if isinstance(info, str):
                info = zipfile.ZipInfo(info, date_time=ZIP_EPOCH)
                info.compress_type = zipfile.ZIP_DEFLATED
            else:
                kept = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                kept.compress_type = info.compress_type if info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) \
                    else zipfile.ZIP_DEFLATED
                kept.external_attr = info.external_attr
                info = kept
            out.writestr(info, data)
    return buffer.getvalue()


def annotate_files(views: list[FileView], out_dir: Path, *, roots: list[Path] | None = None,
                   inputs: set[Path] | None = None, lang: str = "en", convert_timeout: float = 120.0) -> dict[str, Annotation]:
    """Write a reviewed copy of every readable file; return what happened, by the file's report path.

    A legacy .doc/.xls is converted again (as it was for reading) and its copy is a .docx/.xlsx."""
    from ddcheck.outputs.annotate_docx import annotate_docx
    from ddcheck.outputs.annotate_text import annotate_text
    from ddcheck.outputs.annotate_xlsx import annotate_xlsx

    inputs = set(inputs or set())
    targets = plan_targets(views, Path(out_dir), list(roots or []), inputs)
    results: dict[str, Annotation] = {}
    for view in views:
        if view.failed:
            continue
        target = targets[view.path]
        writer = {"docx": annotate_docx, "xlsx": annotate_xlsx, "doc": annotate_docx, "xls": annotate_xlsx}.get(
            view.format, annotate_text)
        annotation = Annotation(view.path, None, len(view.flagged))
        try:
            extra = {}
            if view.format in ("doc", "xls"):
                extra["data"] = _converted(Path(view.path), view.format, convert_timeout)
                annotation.warnings.append(f"the reviewed copy is the .{view.format}x LibreOffice converts this legacy "
                                           f".{view.format} file to (the report's locations refer to it too)")
            writer(Path(view.path), target, view, annotation, inputs=inputs, lang=lang, **extra)
        except Exception as exc:  # noqa: BLE001 - one copy failing must not lose the other reports
            annotation.path = None
            annotation.error = f"could not write a reviewed copy ({type(exc).__name__}: {str(exc)[:200]})"
        if annotation.path is not None and not annotation.error and annotation.annotated != annotation.expected:
            annotation.warnings.insert(0, f"the reviewed copy holds {annotation.annotated} annotation(s) but "
                                          f"{annotation.expected} unit(s) were flagged: check it against the report")
        results[view.path] = annotation
    return results


def _converted(source: Path, kind: str, timeout: float) -> bytes:
    """The .docx/.xlsx bytes LibreOffice makes of a legacy file: the same document the reader read."""
    from ddcheck.convert import convert_legacy
    from ddcheck.readers.limits import Limits
    from ddcheck.readers.ooxml import load_bytes

    return convert_legacy(load_bytes(source, Limits()), kind, source.name, timeout=timeout)
