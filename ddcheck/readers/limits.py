"""Resource limits that keep a hostile or broken file from exhausting the machine."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 200 * 1024 * 1024          # on disk
    max_unpacked_bytes: int = 1024 * 1024 * 1024     # sum of a zip's uncompressed parts
    max_part_bytes: int = 256 * 1024 * 1024          # one XML part, uncompressed
    max_ratio: int = 200                             # uncompressed / compressed, per part
    max_cells: int = 5_000_000                       # spreadsheet cells looked at
    max_units: int = 100_000                         # units taken from one file

    @classmethod
    def from_mb(cls, max_file_mb: float | None = None, max_unpacked_mb: float | None = None) -> "Limits":
        base = cls()
        return cls(
            max_file_bytes=int(max_file_mb * 1024 * 1024) if max_file_mb else base.max_file_bytes,
            max_unpacked_bytes=int(max_unpacked_mb * 1024 * 1024) if max_unpacked_mb else base.max_unpacked_bytes,
        )
