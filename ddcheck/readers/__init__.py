"""Turn one input file into an :class:`~ddcheck.model.Extraction`, or raise :class:`InputError`.

The format is decided by the file's content as well as its extension: a PDF
named ``.docx`` is reported as a PDF, a workbook named ``.docx`` is read as a
workbook (with a warning), an encrypted Office file is reported as encrypted.
Files are only ever opened for reading.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ddcheck.model import Extraction
from ddcheck.readers.errors import ERROR_KINDS, InputError
from ddcheck.readers.limits import Limits
from ddcheck.readers.ooxml import CFB_MAGIC, ZIP_MAGIC, is_encrypted_cfb, load_bytes

__all__ = ["ERROR_KINDS", "InputError", "Limits", "read_path", "SUPPORTED", "DOCUMENT_LIKE", "format_of"]

SUPPORTED = {
    ".docx": "docx", ".docm": "docx", ".dotx": "docx", ".dotm": "docx",
    ".xlsx": "xlsx", ".xlsm": "xlsx", ".xltx": "xlsx", ".xltm": "xlsx",
    ".txt": "txt", ".md": "md", ".markdown": "md", ".csv": "csv",
}
# Document types a user would expect to be screened: in a folder they are reported, never passed over.
DOCUMENT_LIKE = {".doc", ".xls", ".pdf", ".ppt", ".pptx", ".rtf", ".odt", ".ods", ".wps", ".et", ".pages", ".numbers", ".key"}
SUPPORTED_LIST = ".docx .xlsx .txt .md .csv (and macro-enabled .docm/.xlsm)"


def format_of(path: Path) -> str:
    return SUPPORTED.get(path.suffix.lower(), path.suffix.lower().lstrip(".") or "unknown")


def _zip_kind(data: bytes) -> str | None:
    import io

    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except zipfile.BadZipFile:
        return None
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return "zip"


def read_path(path: Path, limits: Limits | None = None) -> Extraction:
    """Read one file into units; raise :class:`InputError` with a one-line message if it cannot be screened."""
    from ddcheck.readers.docx_reader import read_docx
    from ddcheck.readers.text_reader import read_csv, read_text
    from ddcheck.readers.xlsx_reader import read_xlsx

    limits = limits or Limits()
    name = path.name
    ext = path.suffix.lower()
    kind = SUPPORTED.get(ext)
    if ext in DOCUMENT_LIKE and kind is None and ext not in (".doc", ".xls", ".pdf"):
        raise InputError("unsupported", f"{name}: {ext} files are not supported yet (supported: {SUPPORTED_LIST})")
    data = load_bytes(path, limits)
    if data.startswith(CFB_MAGIC):
        if is_encrypted_cfb(data):
            raise InputError("encrypted", f"{name}: password-protected (encrypted) Office file; remove the password and scan the copy")
        raise InputError("unsupported", f"{name}: legacy binary Word/Excel format (.doc/.xls); save it as .docx/.xlsx and scan again")
    if data.startswith(b"%PDF"):
        raise InputError("unsupported", f"{name}: this is a PDF file{' named ' + ext if ext != '.pdf' else ''}; PDF is not supported yet")
    if kind in ("docx", "xlsx"):
        if not data.startswith(ZIP_MAGIC):
            raise InputError("corrupt", f"{name}: not a valid {ext} file (damaged, or another format with a {ext} name)")
        actual = _zip_kind(data)
        if actual is None:
            raise InputError("corrupt", f"{name}: damaged file (not a readable Office zip package)")
        if actual == "zip":
            raise InputError("corrupt", f"{name}: damaged file (no {'word/document.xml' if kind == 'docx' else 'xl/workbook.xml'} inside)")
        extraction = read_docx(data, name, limits) if actual == "docx" else read_xlsx(data, name, limits)
        if actual != kind:
            extraction.warnings.append(f"named {ext} but is really a {'Word document' if actual == 'docx' else 'workbook'}; read as one")
    elif kind in ("txt", "md"):
        extraction = read_text(data, name, limits)
    elif kind == "csv":
        extraction = read_csv(data, name, limits)
    else:
        raise InputError("unsupported", f"{name}: {ext or 'files without an extension'} not supported (supported: {SUPPORTED_LIST})")
    if not extraction.units and not extraction.skipped:
        raise InputError("empty", f"{name}: no text found in the file")
    return extraction
