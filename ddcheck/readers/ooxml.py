"""Safe access to Office Open XML packages (the zip inside .docx/.xlsx) and to input files.

Before anything is parsed, every part of the package is checked against the
limits (number of parts, declared sizes, compression ratio) and then inflated
once, in bounded chunks, straight from the raw zip bytes: a part that inflates
to more than its declared size (a lying zip bomb) or that declares a DTD or
entities (how XXE and billion-laughs attacks start; OOXML never has either) is
refused before lxml or openpyxl sees it. XML is then parsed the way defusedxml
does it (``forbid_dtd``): entity resolution, DTD loading and network access off,
and a document that still carries a DTD is refused. openpyxl parses with
defusedxml itself when it is installed (it is a dependency of ddcheck).

Input files are opened read-only, without following them if they are not regular
files (a FIFO or device would block or never end), and without updating their
access time where the system allows it.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path

from lxml import etree

from ddcheck.readers.errors import InputError, shown
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

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, dtd_validation=False)
_CHUNK = 1 << 20
# What starts a DTD or an entity declaration, in the encodings an XML part can use.
_DTD_MARKERS = tuple(m.encode(enc) for m in ("<!DOCTYPE", "<!ENTITY") for enc in ("utf-8", "utf-16-le", "utf-16-be"))
_HTML_PARTS = (".htm", ".html", ".xhtml", ".mht", ".mhtml")
_XML_START = (b"<", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00<", b"<\x00")


def _looks_like_xml(head: bytes) -> bool:
    return head.lstrip(b" \t\r\n").startswith(_XML_START)


def _refuse_dtd(name: str, part: str) -> InputError:
    return InputError("corrupt", f"{name}: {part} declares a DTD/entities, which Office files never do; refusing to parse it "
                                 "(possible XXE or entity-expansion attack)")


def _inflate_check(data: bytes, info: zipfile.ZipInfo, name: str) -> None:
    """Inflate one part in bounded chunks from the raw zip bytes: it must not outgrow its declared
    size, and an XML part must not declare a DTD or entities. Memory stays at a few MB."""
    offset = info.header_offset
    header = data[offset:offset + 30]
    if len(header) < 30 or header[:4] != ZIP_MAGIC:
        raise InputError("corrupt", f"{name}: damaged file (bad zip entry for {info.filename})")
    name_length = struct.unpack_from("<H", header, 26)[0]
    local_name = data[offset + 30:offset + 30 + name_length]
    expected = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437", "replace")
    if local_name != expected or info.extract_version > 63:
        raise InputError("corrupt", f"{name}: damaged file (inconsistent zip entry for {info.filename})")
    start = offset + 30 + name_length + struct.unpack_from("<H", header, 28)[0]
    raw = memoryview(data)[start:start + info.compress_size]
    if len(raw) < info.compress_size:
        raise InputError("corrupt", f"{name}: damaged file ({info.filename} is cut short)")
    produced = 0
    crc = 0
    tail = b""
    # HTML parts (Word's altChunk imports) may carry an HTML <!DOCTYPE>; neither ddcheck nor openpyxl parses them.
    xml: bool | None = False if info.filename.lower().endswith(_HTML_PARTS) else None

    def take(out: bytes) -> None:
        nonlocal produced, tail, xml, crc
        produced += len(out)
        crc = zlib.crc32(out, crc)
        if produced > info.file_size:
            raise InputError("too_large", f"{name}: part {info.filename} inflates beyond its declared {info.file_size:,} bytes; "
                                          "refusing a possible zip bomb")
        if xml is None:
            xml = _looks_like_xml(out[:64])
        if xml:
            window = tail + out
            if any(marker in window for marker in _DTD_MARKERS):
                raise _refuse_dtd(name, info.filename)
            tail = window[-24:]

    if info.compress_type == zipfile.ZIP_STORED:
        for position in range(0, len(raw), _CHUNK):
            take(bytes(raw[position:position + _CHUNK]))
    else:
        inflater = zlib.decompressobj(-15)
        position = 0
        try:
            while not inflater.eof:
                if inflater.unconsumed_tail:
                    source = inflater.unconsumed_tail
                elif position < len(raw):
                    source = raw[position:position + _CHUNK]
                    position += len(source)
                else:
                    break                       # the stream is cut short; the size check below says so
                out = inflater.decompress(source, _CHUNK)
                if out:
                    take(out)
        except zlib.error as exc:
            raise InputError("corrupt", f"{name}: damaged file ({info.filename}: {exc})") from None
    if produced != info.file_size:
        raise InputError("corrupt", f"{name}: damaged file ({info.filename} holds {produced:,} of its declared {info.file_size:,} bytes)")
    if crc != info.CRC:
        raise InputError("corrupt", f"{name}: damaged file ({info.filename} fails its CRC check)")


def open_package(data: bytes, name: str, limits: Limits) -> zipfile.ZipFile:
    """Open the bytes of an OOXML file as a zip after checking that every part is safe to decompress and parse."""
    name = shown(name)
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
        infos = package.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError, NotImplementedError, RuntimeError):
        raise InputError("corrupt", f"{name}: damaged file (not a readable Office zip package)") from None
    if len(infos) > limits.max_parts:
        raise InputError("too_large", f"{name}: {len(infos):,} parts in the package, over the {limits.max_parts:,}-part limit")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise InputError("encrypted", f"{name}: the zip parts are password-protected; remove the password and scan the copy")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise InputError("corrupt", f"{name}: part {info.filename} uses zip compression method {info.compress_type}, "
                                        "which Office never writes")
        total += info.file_size
        compressed = max(info.compress_size, 1)
        if info.file_size > limits.max_part_bytes or (
            info.file_size > 1024 * 1024 and info.file_size / compressed > limits.max_ratio
        ):
            raise InputError(
                "too_large",
                f"{name}: part {info.filename} would expand to {info.file_size:,} bytes "
                f"(ratio {info.file_size // compressed}:1); refusing a possible zip bomb (--max-unpacked-mb)",
            )
        if total > limits.max_unpacked_bytes:
            raise InputError("too_large", f"{name}: would expand to over {limits.max_unpacked_bytes:,} bytes (--max-unpacked-mb)")
    for info in infos:
        _inflate_check(data, info, name)
    return package


def read_xml(package: zipfile.ZipFile, part: str, name: str, required: bool = True):
    """Parse one XML part of the package; ``None`` if it is absent and not required.

    Parsed as defusedxml would (``forbid_dtd``): no entity resolution, no DTD
    loading, no network; a part that still carries a DTD is refused.
    """
    name = shown(name)
    try:
        data = package.read(part)
    except KeyError:
        if required:
            raise InputError("corrupt", f"{name}: damaged file (missing {part})") from None
        return None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as exc:
        raise InputError("corrupt", f"{name}: damaged file ({part}: {str(exc)[:120]})") from None
    if any(marker in data[:65536] for marker in _DTD_MARKERS):
        raise _refuse_dtd(name, part)
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise InputError("corrupt", f"{name}: damaged file ({part}: {' '.join(str(exc).split())[:160]})") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _refuse_dtd(name, part)
    return root


def is_encrypted_cfb(data: bytes) -> bool:
    """An encrypted .docx/.xlsx is an OLE compound file holding an ``EncryptedPackage`` stream."""
    return data.startswith(CFB_MAGIC) and "EncryptedPackage".encode("utf-16-le") in data


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOATIME = getattr(os, "O_NOATIME", 0)


def _open_read_only(path: Path) -> int:
    """A read-only descriptor; O_NONBLOCK so a FIFO cannot hang the scan, O_NOATIME where permitted
    (the owner or root), so even the file's access time stays as it was."""
    if _NOATIME:
        try:
            return os.open(path, _OPEN_FLAGS | _NOATIME)
        except PermissionError:
            pass            # O_NOATIME needs ownership; retry without it (a real permission problem recurs below)
    return os.open(path, _OPEN_FLAGS)


def load_bytes(path: Path, limits: Limits) -> bytes:
    """Read a whole input file, read-only, with the size limit and clear errors.

    Only regular files are read: a folder, FIFO, socket or device is ``unreadable``.
    """
    name = shown(path.name)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise InputError("unreadable", f"{name}: cannot read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        what = "a folder" if stat.S_ISDIR(info.st_mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(info.st_mode) \
            else "a device or socket"
        raise InputError("unreadable", f"{name}: is {what}, not a regular file")
    try:
        fd = _open_read_only(path)
    except OSError as exc:
        raise InputError("unreadable", f"{name}: cannot read ({exc.strerror or exc})") from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):            # swapped for something else after the check above
            raise InputError("unreadable", f"{name}: is not a regular file")
        size = opened.st_size
        if size == 0:
            raise InputError("empty", f"{name}: the file is empty (0 bytes)")
        if size > limits.max_file_bytes:
            raise InputError("too_large", f"{name}: {size:,} bytes, over the {limits.max_file_bytes:,}-byte limit (--max-file-mb)")
        with os.fdopen(fd, "rb", closefd=True) as handle:
            fd = -1
            data = handle.read(limits.max_file_bytes + 1)
    except OSError as exc:
        raise InputError("unreadable", f"{name}: cannot read ({exc.strerror or exc})") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > limits.max_file_bytes:               # it grew while being read
        raise InputError("too_large", f"{name}: over the {limits.max_file_bytes:,}-byte limit (--max-file-mb)")
    if not data:
        raise InputError("empty", f"{name}: the file is empty (0 bytes)")
    return data
