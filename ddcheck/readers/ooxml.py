"""Safe access to Office Open XML packages (the zip inside .docx/.xlsx).

Checks sizes and compression ratios before anything is decompressed, refuses XML
with a DTD (OOXML never has one; a DTD is how XXE and billion-laughs attacks
start) and parses with entity resolution and network access off.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from lxml import etree

from ddcheck.readers.errors import InputError
from ddcheck.readers.limits import Limits

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {
    "w": W,
    "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006",
    "wps": "http://schemas.microsoft.com/office/word/2010/wordprocessingShape",
    "v": "urn:schemas-microsoft-com:vml",
}

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def open_package(data: bytes, name: str, limits: Limits) -> zipfile.ZipFile:
    """Open the bytes of an OOXML file as a zip after checking it is safe to decompress."""
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InputError("corrupt", f"{name}: damaged file (not a readable Office zip package)") from None
    total = 0
    for info in package.infolist():
        total += info.file_size
        compressed = max(info.compress_size, 1)
        if info.file_size > limits.max_part_bytes or (
            info.file_size > 1024 * 1024 and info.file_size / compressed > limits.max_ratio
        ):
            raise InputError(
                "too_large",
                f"{name}: part {info.filename} would expand to {info.file_size:,} bytes "
                f"(ratio {info.file_size // compressed}:1); refusing a possible zip bomb",
            )
    if total > limits.max_unpacked_bytes:
        raise InputError("too_large", f"{name}: would expand to {total:,} bytes, over the {limits.max_unpacked_bytes:,}-byte limit")
    return package


def read_xml(package: zipfile.ZipFile, part: str, name: str, required: bool = True):
    """Parse one XML part of the package; ``None`` if it is absent and not required."""
    try:
        data = package.read(part)
    except KeyError:
        if required:
            raise InputError("corrupt", f"{name}: damaged file (missing {part})") from None
        return None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InputError("corrupt", f"{name}: damaged file ({part}: {exc})") from None
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:65536]:
        raise InputError("corrupt", f"{name}: {part} declares a DTD/entities, which Office files never do; refusing to parse it")
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise InputError("corrupt", f"{name}: damaged file ({part}: {exc})") from None


def is_encrypted_cfb(data: bytes) -> bool:
    """An encrypted .docx/.xlsx is an OLE compound file holding an ``EncryptedPackage`` stream."""
    return data.startswith(CFB_MAGIC) and "EncryptedPackage".encode("utf-16-le") in data


def load_bytes(path: Path, limits: Limits) -> bytes:
    """Read a whole input file, read-only, with the size limit and clear errors."""
    name = path.name
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError("unreadable", f"{name}: cannot read ({exc.strerror or exc})") from None
    if size == 0:
        raise InputError("empty", f"{name}: the file is empty (0 bytes)")
    if size > limits.max_file_bytes:
        raise InputError("too_large", f"{name}: {size:,} bytes, over the {limits.max_file_bytes:,}-byte limit (--max-file-mb)")
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise InputError("unreadable", f"{name}: cannot read ({exc.strerror or exc})") from None
