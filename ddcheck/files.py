"""Find the files a scan covers: explicit files, and folders walked recursively in a stable order.

Folder walks
    Entries are visited in sorted order (by name, folders entered where they sort),
    so the same folder always yields the same list, whatever the file system
    returns. Symlinked folders are followed, but every real folder is entered
    once (a loop, or two paths to one folder, cannot repeat files), and a file
    reached twice (a path given twice, overlapping folders, a symlink to a file
    already listed) is scanned once, under the first name it was reached by.

Ignored silently
    Office lock and temp files (``~$x.docx``, ``.~lock.x.docx#``, ``~WRL1234.tmp``,
    ``*.tmp``, ``x~``), hidden files and folders (``.name``) and ``Thumbs.db`` /
    ``desktop.ini``. Other files of a type ddcheck does not read are listed as
    passed over, with the reason, so nothing disappears unseen.

``--include`` / ``--exclude`` globs (folders only; a file named on the command line is always read)
    Matched against the path relative to the scanned folder, with ``/`` between
    folders, case-insensitively:

    * ``*`` matches within one name (never a ``/``), ``?`` one character,
      ``[abc]`` / ``[!abc]`` one character of (or not of) a set;
    * ``**`` matches across folders: ``**/x.docx`` is ``x.docx`` at any depth,
      ``legal/**`` everything under ``legal``, ``a/**/b.xlsx`` ``a/b.xlsx`` and
      ``a/x/y/b.xlsx``;
    * a pattern without ``/`` matches any single name on the path: the file name
      at any depth (``*.docx``, ``~*``) or a folder name at any depth (``drafts``
      covers everything inside every ``drafts`` folder);
    * a pattern with ``/`` is anchored at the scanned folder and matches the whole
      relative path or a folder on it (``2024/drafts`` covers ``2024/drafts/x.docx``);
    * a trailing ``/`` restricts a pattern to folders (``drafts/``).

    A file is scanned when it matches some ``--include`` (if any is given) and no
    ``--exclude``. An excluded folder is not entered at all.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from ddcheck.readers import DOCUMENT_LIKE, SUPPORTED


@dataclass(frozen=True)
class Candidate:
    path: Path          # where to read it
    display: str        # how reports name it (as the user wrote the folder, plus the relative path)
    error: tuple[str, str] | None = None   # (kind, message) when it is known to be unreadable before reading it


@dataclass(frozen=True)
class Passed:
    display: str
    reason: str


_TEMP_NAMES = {"thumbs.db", "desktop.ini", "ehthumbs.db"}
_WORD_TEMP = re.compile(r"~wr[a-z]\d+\.tmp\Z", re.I)   # ~WRL0001.tmp, ~WRD1234.tmp


def is_ignored(name: str) -> bool:
    """Office lock/temp files, editor backups and hidden files are never questionnaires."""
    lower = name.lower()
    return (name.startswith(("~$", ".~lock", "."))
            or bool(_WORD_TEMP.match(name))
            or lower.endswith((".tmp", "~", "#"))
            or lower in _TEMP_NAMES)


# --- globs -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Glob:
    """One ``--include``/``--exclude`` pattern, compiled (see the module docstring for the syntax)."""

    pattern: str
    regex: re.Pattern
    anchored: bool       # contains a "/": matched against the relative path and its leading folders
    folders_only: bool   # ends with "/"

    def matches_dir(self, rel_dir: str) -> bool:
        """Does the pattern cover every file under the folder ``rel_dir`` (a relative posix path)?"""
        if self.anchored:
            return bool(self.regex.fullmatch(rel_dir))
        return bool(self.regex.fullmatch(rel_dir.rsplit("/", 1)[-1]))

    def matches_file(self, rel: str) -> bool:
        """Does the pattern match the file ``rel`` itself or one of the folders it sits in?"""
        parts = rel.split("/")
        folders = ["/".join(parts[:i]) for i in range(1, len(parts))]
        if any(self.matches_dir(d) for d in folders):
            return True
        if self.folders_only:
            return False
        return bool(self.regex.fullmatch(rel if self.anchored else parts[-1]))


def _translate(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            while i < n and pattern[i] == "*":
                i += 1
            if i < n and pattern[i] == "/":
                out.append("(?:[^/]*/)*")      # zero or more whole folders
                i += 1
            else:
                out.append(".*")
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            j = i + 1
            if j < n and pattern[j] in "!^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:                          # no closing bracket: a literal "["
                out.append(re.escape(c))
                i += 1
                continue
            body = pattern[i + 1:j]
            negate = body[:1] in ("!", "^")
            if negate:
                body = body[1:]
            body = "".join("\\" + ch if ch in "\\^[]" else ch for ch in body)
            out.append(f"[^/{body}]" if negate else f"(?!/)[{body}]")
            i = j + 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


@lru_cache(maxsize=256)
def compile_glob(pattern: str) -> Glob:
    text = pattern.replace("\\", "/").strip()
    while text.startswith("./"):
        text = text[2:]
    folders_only = text.endswith("/") and text != "/"
    text = text.rstrip("/")
    anchored = "/" in text
    text = text.lstrip("/")
    return Glob(pattern, re.compile(_translate(text), re.IGNORECASE | re.DOTALL), anchored, folders_only)


def matches(rel: str, patterns: list[str]) -> bool:
    """Does the relative posix path ``rel`` match any of the glob ``patterns``?"""
    return any(compile_glob(p).matches_file(rel) for p in patterns)


# --- collecting ----------------------------------------------------------------------------

def _real_key(path: Path) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return os.path.abspath(path)


def _display(root: Path, rel: str) -> str:
    return (root / rel).as_posix() if rel else root.as_posix()


def _scandir_sorted(path: Path) -> list[os.DirEntry]:
    with os.scandir(path) as it:
        return sorted(it, key=lambda e: e.name)


def collect(paths: list[Path], include: list[str] | None = None, exclude: list[str] | None = None
            ) -> tuple[list[Candidate], list[Passed], list[str]]:
    """Return (files to read, files passed over with the reason, paths that do not exist).

    Files named explicitly are always read (so an unsupported type is reported as
    an error), in the order given; each folder contributes its files in sorted
    order. A folder that cannot be listed becomes an ``unreadable`` candidate, so
    the scan reports it (and is marked incomplete) instead of skipping it.
    """
    include_globs = [compile_glob(p) for p in include or []]
    exclude_globs = [compile_glob(p) for p in exclude or []]
    found: list[Candidate] = []
    passed: list[Passed] = []
    missing: list[str] = []
    seen_files: set[str] = set()
    seen_dirs: set[tuple[int, int]] = set()

    def add(path: Path, display: str) -> None:
        key = _real_key(path)
        if key not in seen_files:
            seen_files.add(key)
            found.append(Candidate(path, display))

    def enter(root: Path, directory: Path, rel_dir: str) -> list[os.DirEntry] | None:
        """The folder's entries, sorted; None when it was entered before or cannot be read (then reported)."""
        try:
            st = directory.stat()
            if (st.st_dev, st.st_ino) in seen_dirs:
                return None
            seen_dirs.add((st.st_dev, st.st_ino))
            return _scandir_sorted(directory)
        except OSError as exc:
            found.append(Candidate(directory, _display(root, rel_dir),
                                   ("unreadable", f"{directory.name or directory}: folder cannot be read ({exc.strerror or exc})")))
            return None

    def walk(root: Path) -> None:
        entries = enter(root, root, "")
        if entries is None:
            return
        stack: list[tuple[str, Iterator[os.DirEntry]]] = [("", iter(entries))]   # depth first, iteratively: no recursion limit
        while stack:
            rel_dir, it = stack[-1]
            entry = next(it, None)
            if entry is None:
                stack.pop()
                continue
            name = entry.name
            rel = f"{rel_dir}/{name}" if rel_dir else name
            try:
                is_dir = entry.is_dir()          # follows symlinks; False for a dangling link
            except OSError:
                is_dir = False
            if is_dir:
                if name.startswith(".") or any(g.matches_dir(rel) for g in exclude_globs):
                    continue
                sub = enter(root, Path(entry.path), rel)
                if sub is not None:
                    stack.append((rel, iter(sub)))
                continue
            if is_ignored(name):
                continue
            if include_globs and not any(g.matches_file(rel) for g in include_globs):
                continue
            if any(g.matches_file(rel) for g in exclude_globs):
                continue
            try:
                regular = entry.is_file()
            except OSError:
                regular = False
            if not regular and not entry.is_symlink():
                continue                          # fifos, sockets, devices: never opened (a fifo would block)
            ext = os.path.splitext(name)[1].lower()
            display = _display(root, rel)
            if ext not in SUPPORTED and ext not in DOCUMENT_LIKE:
                passed.append(Passed(display, f"not a questionnaire format ({ext or 'no extension'})"))
                continue
            add(Path(entry.path), display)

    for root in paths:
        root = Path(root)
        if root.is_dir():
            walk(root)
        elif root.exists():
            if not root.name.startswith(("~$", ".~lock")):   # a lock file is never a questionnaire, even when named
                add(root, str(root))
        else:
            missing.append(str(root))
    return found, passed, missing
