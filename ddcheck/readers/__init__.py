"""Turn one input file into an :class:`~ddcheck.model.Extraction`, or raise :class:`InputError`.

The format is decided by the file's content as well as its extension: a PDF
named ``.docx`` is reported as a PDF, a workbook named ``.docx`` is read as a
workbook (with a warning), an encrypted Office file is reported as encrypted.
Legacy Word .doc / Excel .xls files (and RTF saved as .doc) are converted with
LibreOffice when it is installed (see :mod:`ddcheck.convert`), else reported as
``unsupported`` with a hint. Files are only ever opened for reading.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

from ddcheck.model import Extraction
from ddcheck.readers.errors import ERROR_KINDS, InputError, shown
from ddcheck.readers.limits import Limits
from ddcheck.readers.ooxml import CFB_MAGIC, ZIP_MAGIC, is_encrypted_cfb, load_bytes

__all__ = ["ERROR_KINDS", "InputError", "Limits", "read_path", "SUPPORTED", "DOCUMENT_LIKE", "format_of", "shown"]

SUPPORTED = {
    ".docx": "docx", ".docm": "docx", ".dotx": "docx", ".dotm": "docx",
    ".xlsx": "xlsx", ".xlsm": "xlsx", ".xltx": "xlsx", ".xltm": "xlsx",
    ".txt": "txt", ".md": "md", ".markdown": "md", ".csv": "csv",
}
# Document types a user would expect to be screened: in a folder they are reported, never passed over.
DOCUMENT_LIKE = {".doc", ".xls", ".pdf", ".ppt", ".pptx", ".rtf", ".odt", ".ods", ".wps", ".et", ".pages", ".numbers", ".key"}
LEGACY = {".doc": "doc", ".dot": "doc", ".xls": "xls", ".xlt": "xls"}
SUPPORTED_LIST = ".docx .xlsx .txt .md .csv (and macro-enabled .docm/.xlsm; legacy .doc/.xls through LibreOffice)"
CONVERTED_WARNING = ("legacy {what} file converted to .{target} with LibreOffice for reading: locations "
                     "({where}) refer to the converted document, and may differ slightly from what Word/Excel shows")


def format_of(path: Path) -> str:
    return SUPPORTED.get(path.suffix.lower(), path.suffix.lower().lstrip(".") or "unknown")


def _zip_kind(data: bytes) -> str | None:
    import io

    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError, NotImplementedError, RuntimeError):
        return None
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return "zip"


def read_path(path: Path, limits: Limits | None = None) -> Extraction:
    """Read one file into units; raise :class:`InputError` with a one-line message if it cannot be screened."""
    from ddcheck.readers.text_reader import read_csv, read_text

    limits = limits or Limits()
    name = shown(path.name)
    ext = path.suffix.lower()
    kind = SUPPORTED.get(ext)
    if ext in DOCUMENT_LIKE and kind is None and ext not in LEGACY and ext != ".pdf":
        raise InputError("unsupported", f"{name}: {ext} files are not supported yet (supported: {SUPPORTED_LIST})")
    data = load_bytes(path, limits)
    if data.startswith(CFB_MAGIC):
        extraction = _read_compound(data, name, ext, limits)
    elif data.startswith(b"%PDF"):
        raise InputError("unsupported", f"{name}: this is a PDF file{' named ' + ext if ext != '.pdf' else ''}; PDF is not supported yet")
    elif data.startswith(ZIP_MAGIC) and (kind in ("docx", "xlsx") or ext in LEGACY):
        extraction = _read_ooxml(data, name, ext, kind, limits)
    elif kind in ("docx", "xlsx"):
        raise InputError("corrupt", f"{name}: not a valid {ext} file (damaged, or another format with a {ext} name)")
    elif ext in LEGACY:
        if LEGACY[ext] == "doc" and data.lstrip()[:5] == b"{\\rtf":
            extraction = _convert(data, name, "doc", limits, what="RTF")
        else:
            raise InputError("unsupported", f"{name}: not a Word/Excel 97-2003 file (another format with a {ext} name); "
                                            "open it and save it as .docx/.xlsx")
    elif kind in ("txt", "md"):
        extraction = read_text(data, name, limits)
    elif kind == "csv":
        extraction = read_csv(data, name, limits)
    else:
        raise InputError("unsupported", f"{name}: {ext or 'files without an extension'} not supported (supported: {SUPPORTED_LIST})")
    if not extraction.units and not extraction.skipped:
        raise InputError("empty", f"{name}: no text found in the file")
    return extraction


def _read_ooxml(data: bytes, name: str, ext: str, kind: str | None, limits: Limits) -> Extraction:
    from ddcheck.readers.docx_reader import read_docx
    from ddcheck.readers.xlsx_reader import read_xlsx

    actual = _zip_kind(data)
    if actual is None:
        raise InputError("corrupt", f"{name}: damaged file (not a readable Office zip package)")
    if actual == "zip":
        expected = "xl/workbook.xml" if kind == "xlsx" or LEGACY.get(ext) == "xls" else "word/document.xml"
        raise InputError("corrupt", f"{name}: damaged file (no {expected} inside)")
    extraction = read_docx(data, name, limits) if actual == "docx" else read_xlsx(data, name, limits)
    if actual != kind:
        really = "a Word document (.docx)" if actual == "docx" else "a workbook (.xlsx)"
        extraction.warnings.append(f"named {ext} but is really {really}; read as one")
    return extraction


def _read_compound(data: bytes, name: str, ext: str, limits: Limits) -> Extraction:
    """An OLE compound file: an encrypted .docx/.xlsx, a legacy .doc/.xls, or something else."""
    from ddcheck.readers.cfb import CfbError, classify

    try:
        kind, encrypted = classify(data)
    except (CfbError, KeyError, IndexError, ValueError, OverflowError, MemoryError, struct.error):
        if is_encrypted_cfb(data):
            kind, encrypted = "ooxml", True
        else:
            raise InputError("corrupt", f"{name}: damaged file (an Office 97-2003 compound file whose structure is broken)") from None
    if kind == "ooxml" or encrypted:
        raise InputError("encrypted", f"{name}: password-protected (encrypted) Office file; remove the password and scan the copy")
    if kind == "other":
        raise InputError("unsupported", f"{name}: an Office 97-2003 compound file that is neither a Word nor an Excel document "
                                        f"(supported: {SUPPORTED_LIST})")
    return _convert(data, name, kind, limits)


def _convert(data: bytes, name: str, kind: str, limits: Limits, what: str | None = None) -> Extraction:
    from ddcheck.convert import TARGET, convert_legacy
    from ddcheck.readers.docx_reader import read_docx
    from ddcheck.readers.xlsx_reader import read_xlsx

    converted = convert_legacy(data, kind, name, timeout=limits.convert_timeout)
    target = TARGET[kind]
    if not converted.startswith(ZIP_MAGIC) or _zip_kind(converted) != target:
        raise InputError("corrupt", f"{name}: LibreOffice did not produce a readable .{target} from it")
    extraction = read_docx(converted, name, limits) if target == "docx" else read_xlsx(converted, name, limits)
    extraction.format = kind
    if what is None:
        what = f"Word 97-2003 (.{kind})" if kind == "doc" else f"Excel 97-2003 (.{kind})"
    where = "paragraph numbers ¶ and table cells" if target == "docx" else "sheets and cells"
    extraction.warnings.insert(0, CONVERTED_WARNING.format(what=what, target=target, where=where))
    return extraction
