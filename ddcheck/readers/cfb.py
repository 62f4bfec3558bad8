"""Just enough of the OLE compound file format (MS-CFB) to tell what a ``D0 CF 11 E0`` file is.

Office writes three kinds of compound file that reach ddcheck: a password-protected
.docx/.xlsx (an ``EncryptedPackage`` stream beside ``EncryptionInfo``), a legacy
Word .doc (a ``WordDocument`` stream) and a legacy Excel .xls (a ``Workbook`` or
``Book`` stream). Legacy files carry their own encryption flags: bit ``fEncrypted``
of the Word FIB, a ``FILEPASS`` record right after Excel's first ``BOF``.

Everything here is bounded: chains are followed at most as many steps as the file
has sectors, so a cyclic or truncated FAT ends in :class:`CfbError`, never a hang.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_END = 0xFFFFFFFE
_FREE = 0xFFFFFFFF
_SPECIAL = 0xFFFFFFFA          # values at or above this are markers, not sector numbers


class CfbError(ValueError):
    """The file starts like a compound file but its structure cannot be followed."""


@dataclass(frozen=True)
class Entry:
    name: str
    kind: int          # 1 storage, 2 stream, 5 root
    start: int
    size: int


class CompoundFile:
    """Read-only view of a compound file held in memory."""

    def __init__(self, data: bytes):
        if not data.startswith(MAGIC) or len(data) < 512:
            raise CfbError("not a compound file")
        self.data = data
        (major, order, shift, mini_shift) = struct.unpack_from("<HHHH", data, 0x1A)
        if order != 0xFFFE or shift not in (9, 12) or mini_shift != 6 or major not in (3, 4):
            raise CfbError("bad compound file header")
        self.sector_size = 1 << shift
        self.mini_size = 1 << mini_shift
        (n_fat, first_dir, _tx, self.cutoff, first_minifat, n_minifat, first_difat, n_difat) = \
            struct.unpack_from("<IIIIIIII", data, 0x2C)
        self.n_sectors = max(0, (len(data) - self.sector_size) // self.sector_size + 1)
        fat_sectors = [s for s in struct.unpack_from("<109I", data, 0x4C) if s < _SPECIAL]
        sector, hops = first_difat, 0
        per = self.sector_size // 4
        while sector < _SPECIAL and hops <= n_difat:
            values = struct.unpack_from(f"<{per}I", self._sector(sector))
            fat_sectors.extend(v for v in values[:-1] if v < _SPECIAL)
            sector, hops = values[-1], hops + 1
        fat_sectors = fat_sectors[:max(n_fat, 0)] if n_fat else fat_sectors
        self.fat: list[int] = []
        for s in fat_sectors:
            self.fat.extend(struct.unpack_from(f"<{per}I", self._sector(s)))
        directory = self._chain_bytes(first_dir, self.fat, self._sector)
        self.entries: list[Entry] = []
        for offset in range(0, len(directory) - 127, 128):
            raw = directory[offset:offset + 128]
            name_len = struct.unpack_from("<H", raw, 64)[0]
            kind = raw[66]
            if kind not in (1, 2, 5) or not 2 <= name_len <= 64:
                continue
            name = raw[:name_len - 2].decode("utf-16-le", "replace")
            start, size = struct.unpack_from("<IQ", raw, 0x74)
            if major == 3:
                size &= 0xFFFFFFFF
            self.entries.append(Entry(name, kind, start, size))
        if not self.entries or self.entries[0].kind != 5:
            raise CfbError("compound file without a root entry")
        root = self.entries[0]
        self._minifat: list[int] = []
        if n_minifat and first_minifat < _SPECIAL:
            raw = self._chain_bytes(first_minifat, self.fat, self._sector)
            self._minifat = list(struct.unpack_from(f"<{len(raw) // 4}I", raw))
        self._ministream = b""
        if root.start < _SPECIAL and root.size:
            self._ministream = self._chain_bytes(root.start, self.fat, self._sector, limit=root.size)

    def _sector(self, index: int) -> bytes:
        start = (index + 1) * self.sector_size
        if index >= _SPECIAL or start >= len(self.data):
            raise CfbError(f"sector {index} lies outside the file")
        block = self.data[start:start + self.sector_size]
        return block + b"\x00" * (self.sector_size - len(block))     # a short last sector is padded

    def _mini(self, index: int) -> bytes:
        start = index * self.mini_size
        if start + self.mini_size > len(self._ministream):
            raise CfbError(f"mini sector {index} lies outside the mini stream")
        return self._ministream[start:start + self.mini_size]

    def _chain_bytes(self, first: int, fat: list[int], read, limit: int | None = None) -> bytes:
        parts: list[bytes] = []
        got, sector, hops = 0, first, 0
        max_hops = self.n_sectors if read == self._sector else len(self._ministream) // self.mini_size
        while sector < _SPECIAL:
            if hops > max_hops or sector >= len(fat):
                raise CfbError("broken sector chain")
            block = read(sector)
            parts.append(block)
            got += len(block)
            if limit is not None and got >= limit:
                break
            sector, hops = fat[sector], hops + 1
        joined = b"".join(parts)
        return joined[:limit] if limit is not None else joined

    def names(self) -> set[str]:
        return {e.name for e in self.entries[1:]}

    def stream(self, name: str, max_bytes: int = 1 << 16) -> bytes:
        """The first ``max_bytes`` of a stream (the head is all the format checks need)."""
        for entry in self.entries[1:]:
            if entry.kind == 2 and entry.name == name:
                want = min(entry.size, max_bytes)
                if entry.size < self.cutoff:
                    return self._chain_bytes(entry.start, self._minifat, self._mini, limit=want)
                return self._chain_bytes(entry.start, self.fat, self._sector, limit=want)
        raise KeyError(name)


def classify(data: bytes) -> tuple[str, bool]:
    """``(kind, encrypted)`` of a compound file: kind is ``ooxml`` (an encrypted .docx/.xlsx),
    ``doc``, ``xls`` or ``other``. Raises :class:`CfbError` when the structure is broken."""
    cfb = CompoundFile(data)
    names = cfb.names()
    if "EncryptedPackage" in names:
        return "ooxml", True
    if "WordDocument" in names:
        fib = cfb.stream("WordDocument", 64)
        if len(fib) < 12 or struct.unpack_from("<H", fib, 0)[0] != 0xA5EC:
            raise CfbError("WordDocument stream without a Word FIB")
        return "doc", bool(struct.unpack_from("<H", fib, 0x0A)[0] & 0x0100)
    for stream in ("Workbook", "Book"):
        if stream in names:
            return "xls", _xls_has_filepass(cfb.stream(stream, 1 << 16))
    return "other", False


def _xls_has_filepass(head: bytes) -> bool:
    """A FILEPASS record (0x002F) among the first records of the workbook globals means a password."""
    offset = 0
    for _ in range(64):
        if offset + 4 > len(head):
            break
        rtype, length = struct.unpack_from("<HH", head, offset)
        if rtype == 0x002F:
            return True
        if rtype == 0x000A and offset:          # EOF of the globals substream
            break
        offset += 4 + length
    return False
