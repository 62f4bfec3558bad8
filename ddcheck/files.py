"""Find the files a scan covers: explicit files, folders walked recursively in a stable order."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path

from ddcheck.readers import DOCUMENT_LIKE, SUPPORTED


@dataclass(frozen=True)
class Candidate:
    path: Path          # where to read it
    display: str        # how reports name it (as the user wrote the folder, plus the relative path)


@dataclass(frozen=True)
class Passed:
    display: str
    reason: str


def _is_temp(name: str) -> bool:
    """Office lock/temp files and hidden files are never questionnaires."""
    return name.startswith(("~$", ".~lock", ".")) or name.endswith((".tmp", "~")) or name.lower() in ("thumbs.db", "desktop.ini")


def _matches(rel: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(os.path.basename(rel), p) for p in patterns)


def collect(paths: list[Path], include: list[str] | None = None, exclude: list[str] | None = None
            ) -> tuple[list[Candidate], list[Passed], list[str]]:
    """Return (files to read, files passed over with the reason, paths that do not exist).

    Files named explicitly are always read (so an unsupported type is reported as an
    error). In folders, supported and document-like types are read, lock/temp files
    are ignored silently, and other files are listed as passed over. Symlinked
    folders are followed once; a loop is not entered twice.
    """
    include = include or []
    exclude = exclude or []
    found: list[Candidate] = []
    passed: list[Passed] = []
    missing: list[str] = []
    seen: set[str] = set()
    for root in paths:
        if root.is_file():
            key = str(root.resolve())
            if key not in seen and not root.name.startswith("~$"):
                seen.add(key)
                found.append(Candidate(root, str(root)))
            continue
        if not root.is_dir():
            missing.append(str(root))
            continue
        visited_dirs: set[tuple[int, int]] = set()
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
            try:
                st = os.stat(dirpath)
            except OSError:
                dirnames[:] = []
                continue
            if (st.st_dev, st.st_ino) in visited_dirs:
                dirnames[:] = []
                continue
            visited_dirs.add((st.st_dev, st.st_ino))
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                full = Path(dirpath) / name
                rel = full.relative_to(root).as_posix()
                display = (root / rel).as_posix()
                if _is_temp(name):
                    continue
                if include and not _matches(rel, include):
                    continue
                if exclude and _matches(rel, exclude):
                    continue
                ext = full.suffix.lower()
                if ext not in SUPPORTED and ext not in DOCUMENT_LIKE:
                    passed.append(Passed(display, f"not a questionnaire format ({ext or 'no extension'})"))
                    continue
                key = str(full.resolve()) if full.exists() else display
                if key in seen:
                    continue
                seen.add(key)
                found.append(Candidate(full, display))
    return found, passed, missing
