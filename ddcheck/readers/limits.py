"""Resource limits that keep a hostile or broken file from exhausting the machine.

Each limit has a command-line option (see ``ddcheck scan --help``); a file over a
size limit is an error of kind ``too_large``; a file over a count limit
(``max_cells``, ``max_units``) is read up to the limit, with a warning saying
what was not screened.
"""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 200 * MB             # on disk                                  --max-file-mb
    max_unpacked_bytes: int = 1024 * MB        # sum of a zip's uncompressed parts        --max-unpacked-mb
    max_part_bytes: int = 256 * MB             # one part of a zip, uncompressed          (min of this and the above)
    max_ratio: int = 200                       # uncompressed / compressed, per part over 1 MB
    max_parts: int = 10_000                    # parts in one zip package
    max_cells: int = 1_000_000                 # spreadsheet cells looked at              --max-cells
    max_units: int = 100_000                   # units taken from one file                --max-units
    convert_timeout: float = 120.0             # seconds LibreOffice may take for a .doc/.xls  --convert-timeout

    @classmethod
    def from_mb(cls, max_file_mb: float | None = None, max_unpacked_mb: float | None = None, **others) -> "Limits":
        """Limits from the command-line units (MB, counts, seconds); ``None`` keeps a default."""
        base = cls()
        unpacked = int(max_unpacked_mb * MB) if max_unpacked_mb else base.max_unpacked_bytes
        values = dict(
            max_file_bytes=int(max_file_mb * MB) if max_file_mb else base.max_file_bytes,
            max_unpacked_bytes=unpacked,
            max_part_bytes=min(base.max_part_bytes, unpacked),
        )
        values.update({k: v for k, v in others.items() if v is not None})
        return cls(**values)


def room_for_unit(out, limits: Limits) -> bool:
    """Is there room for one more unit in ``out`` (an Extraction)? When not, say so once in its warnings."""
    if len(out.units) < limits.max_units:
        return True
    note = f"stopped after {limits.max_units:,} units (--max-units); later text was not screened"
    if note not in out.warnings:
        out.warnings.append(note)
    return False
