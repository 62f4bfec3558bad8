"""Run a scan: collect files, read each into units, match them, and gather the results.

This is the library entry point behind ``ddcheck scan``; it never writes files
(reports are written by :mod:`ddcheck.report` and the CLI).
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import stat
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from ddcheck.files import Candidate, Passed, collect
from ddcheck.model import SEVERITY_RANK, Skipped, Unit
from ddcheck.readers import InputError, Limits, format_of, read_path
from ddcheck.textnorm import detect_lang, normalise, unit_id


@dataclass
class FileResult:
    path: str
    format: str
    status: str = "ok"
    error: dict[str, str] | None = None
    units: list[Unit] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    survey_kind: dict[str, Any] | None = None
    engagement: list[dict[str, Any]] = field(default_factory=list)
    file_findings: list[dict[str, Any]] = field(default_factory=list)
    document_key: str = ""            # what reviewers' decisions are filed under (ddcheck.decisions.document_key)

    @property
    def failed(self) -> bool:
        return self.status != "ok"


@dataclass
class ScanResult:
    files: list[FileResult]
    passed_over: list[Passed]
    engine: dict[str, str]
    engagement: list[dict[str, Any]] = field(default_factory=list)
    decisions: Any = None             # ddcheck.decisions.Outcome when a decisions file was applied
    taxonomy: Any = None              # the matcher's categories (built-in plus any custom lexicon)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.failed]

    def findings_by_severity(self) -> dict[str, int]:
        counts = {"high": 0, "medium": 0, "low": 0}
        for f in self.files:
            for u in f.units:
                for finding in u.findings:
                    counts[finding.severity] = counts.get(finding.severity, 0) + 1
            for finding in f.file_findings:
                counts[finding["severity"]] = counts.get(finding["severity"], 0) + 1
        return counts

    def worst_severity(self) -> int:
        """Rank of the most severe finding: unit findings, file-level findings and engagement rules that apply
        (an undetermined rule names the missing fact; it does not decide the exit code). Findings a reviewer
        decided ``accepted`` or ``false_positive`` (:mod:`ddcheck.decisions`) no longer count."""
        worst = 0
        engagement = [e for f in self.files for e in f.engagement] + self.engagement
        for f in self.files:
            for u in f.units:
                for finding in u.findings:
                    if self.decisions is not None and not self.decisions.counts(f.path, u.id, finding.category):
                        continue
                    worst = max(worst, SEVERITY_RANK[finding.severity])
            for finding in f.file_findings:
                worst = max(worst, SEVERITY_RANK.get(finding["severity"], 0))
        for item in engagement:
            if item.get("status", "applies") == "applies":
                worst = max(worst, SEVERITY_RANK.get(item["severity"], 0))
        return worst


def to_units(raw_units) -> list[Unit]:
    """Give each raw unit its content id (occurrence-aware), language and matching form."""
    seen: dict[tuple[str, str], int] = {}
    units = []
    for raw in raw_units:
        norm = normalise(raw.text)
        key = (raw.container, norm)
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        units.append(Unit(id=unit_id(raw.container, raw.text, occurrence), raw=raw, lang=detect_lang(raw.text), norm=norm))
    return units


def read_file(candidate: Candidate, limits: Limits) -> FileResult:
    """Read one file; every failure becomes an error result with a one-line message, never an exception."""
    result = FileResult(path=candidate.display, format=format_of(candidate.path))
    if candidate.error is not None:
        result.status = "error"
        result.format = "folder"
        result.error = {"kind": candidate.error[0], "message": candidate.error[1]}
        return result
    try:
        extraction = read_path(candidate.path, limits)
    except InputError as exc:
        result.status = "error"
        result.error = {"kind": exc.kind, "message": exc.message}
        return result
    except MemoryError:
        result.status = "error"
        result.error = {"kind": "too_large", "message": f"{candidate.path.name}: ran out of memory while reading it"}
        return result
    except Exception as exc:  # a reader bug or an input nobody foresaw must not stop the scan
        result.status = "error"
        result.error = {"kind": "corrupt", "message": f"{candidate.path.name}: could not be read ({type(exc).__name__}: {str(exc)[:160]})"}
        return result
    result.format = extraction.format or result.format
    result.units = to_units(extraction.units)
    result.skipped = extraction.skipped
    result.warnings = extraction.warnings
    return result


# --- parsed-file cache ------------------------------------------------------------------------
# The code whose output is cached: any change to it (or a new version) is a new reader version.
_READER_CODE = ("readers", "segment.py", "textnorm.py", "model.py", "scan.py", "convert.py")


@lru_cache(maxsize=1)
def reader_version() -> str:
    """A hash of the package version and the source of everything that turns a file into units."""
    from ddcheck.cache import source_version

    return source_version(_READER_CODE)


def parse_key(path: Path, limits: Limits) -> str | None:
    """What a file's reading depends on: its bytes, its name (messages name it), the reader version and the
    limits. ``None`` when the file cannot be read or is over the size limit (the reader will say why)."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > limits.max_file_bytes:
            return None                                  # a FIFO or device would block open(); the reader names it
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    digest.update(b"\0" + path.name.encode("utf-8", "surrogateescape") + b"\0" + reader_version().encode()
                  + b"\0" + repr(limits).encode())
    return digest.hexdigest()


class _Unpickler(pickle.Unpickler):
    """Only the records a reader produces are rebuilt from the cache; anything else is refused."""

    ALLOWED = {("ddcheck.model", n) for n in ("Unit", "RawUnit", "Location", "Skipped")}

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in the parse cache")


def _pack(result: FileResult) -> bytes:
    return pickle.dumps((result.format, result.units, result.skipped, result.warnings), protocol=pickle.HIGHEST_PROTOCOL)


def _unpack(data: bytes, candidate: Candidate) -> FileResult | None:
    try:
        fmt, units, skipped, warnings = _Unpickler(io.BytesIO(data)).load()
    except Exception:          # a damaged or foreign entry is a miss
        return None
    return FileResult(path=candidate.display, format=fmt, units=units, skipped=skipped, warnings=warnings)


# A pool costs a process start per worker (~0.1 s with fork, more with spawn): below this many files a scan reads in process.
POOL_MIN_FILES = 8


def default_jobs() -> int:
    """Worker processes for reading: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _read_in_worker(candidate: Candidate, limits: Limits, key: str | None = None) -> tuple[FileResult, bool]:
    """Read one file; also say whether its content still has ``key`` afterwards (only then is it cached)."""
    result = read_file(candidate, limits)
    return result, key is not None and not result.failed and parse_key(candidate.path, limits) == key


def _crashed(candidate: Candidate, why: str) -> FileResult:
    return FileResult(path=candidate.display, format=format_of(candidate.path), status="error",
                      error={"kind": "corrupt", "message": f"{candidate.path.name}: could not be read (the reader {why})"})


def read_files(candidates: list[Candidate], limits: Limits, jobs: int | None = None,
               on_file: Callable[[FileResult], None] | None = None, reporter: Any = None,
               cache: Any = None) -> list[FileResult]:
    """Read every candidate, in parallel worker processes when there are enough files and ``jobs`` > 1.

    The results (and the ``on_file`` calls) always come in the candidates' order,
    whatever order the workers finish in; ``reporter.file_done`` hears each file as
    soon as it is read. A worker that dies (a reader crash, the OOM killer) costs
    only the files it held: they are read again one at a time in fresh workers,
    and the one that kills a worker on its own is reported as an error.

    With a ``cache`` (an :class:`~ddcheck.cache.EmbeddingCache`), files whose
    content was read before by the same reader version come from it, and only
    the others are parsed (so a warm rescan starts no worker at all).
    """
    from ddcheck import progress

    reporter = reporter or progress.current()
    jobs = default_jobs() if jobs is None or jobs <= 0 else jobs
    results: list[FileResult | None] = [None] * len(candidates)
    flushed = 0

    def done(index: int, result: FileResult) -> None:
        nonlocal flushed
        results[index] = result
        reporter.file_done(result)
        while flushed < len(results) and results[flushed] is not None:
            if on_file:
                on_file(results[flushed])
            flushed += 1

    reporter.files_started(len(candidates))
    keys: dict[int, str] = {}
    unread = list(range(len(candidates)))
    if cache is not None:
        keys = {i: k for i, c in enumerate(candidates) if c.error is None and (k := parse_key(c.path, limits))}
        stored = cache.get_parsed(list(keys.values()))
        for index in list(unread):
            data = stored.get(keys.get(index, ""))
            result = _unpack(data, candidates[index]) if data is not None else None
            if result is not None:
                done(index, result)
                unread.remove(index)
    fresh: list[tuple[str, str, bytes]] = []

    def parsed(index: int, outcome: tuple[FileResult, bool]) -> None:
        result, cacheable = outcome
        if cacheable:
            fresh.append((keys[index], reader_version(), _pack(result)))
        done(index, result)

    def parse(index: int) -> tuple[FileResult, bool]:
        return _read_in_worker(candidates[index], limits, keys.get(index))

    workers = min(jobs, len(unread))
    if workers > 1 and len(unread) >= POOL_MIN_FILES:
        try:
            unread = _read_with_pool(candidates, keys, unread, limits, workers, parsed)
            if unread:                        # a worker died: once more in a fresh pool,
                unread = _read_with_pool(candidates, keys, unread, limits, workers, parsed)
            for index in list(unread):        # then each file alone, so only the one that kills a worker is lost
                if _read_with_pool(candidates, keys, [index], limits, 1, parsed) == [index]:
                    done(index, _crashed(candidates[index], "process died on this file"))
                unread.remove(index)
        except _NoPool:
            unread = [i for i in unread if results[i] is None]
    for index in unread:                      # small scans, --jobs 1, or no process pool on this system
        parsed(index, parse(index))
    if cache is not None and fresh:
        cache.put_parsed(fresh)
    reporter.files_finished()
    return results  # type: ignore[return-value]


class _NoPool(Exception):
    """Worker processes cannot be started here (no semaphores, no fork, process limit)."""


def _read_with_pool(candidates: list[Candidate], keys: dict[int, str], indices: list[int], limits: Limits, workers: int,
                    done: Callable[[int, tuple[FileResult, bool]], None]) -> list[int]:
    """Read ``indices`` in a process pool; return those left unread (the pool broke, or none could be started)."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    from ddcheck.children import ignore_interrupts, pool_context

    read: set[int] = set()
    try:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=pool_context(), initializer=ignore_interrupts)
    except (OSError, NotImplementedError, ValueError) as exc:
        raise _NoPool(str(exc)) from exc
    try:
        pending = {}
        try:
            for index in indices:
                pending[pool.submit(_read_in_worker, candidates[index], limits, keys.get(index))] = index
        except OSError as exc:                # the first workers could not be started
            if not pending:
                raise _NoPool(str(exc)) from exc
        except BrokenProcessPool:
            pass
        while pending:
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=pending.__getitem__):
                index = pending.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    continue
                except Exception as exc:      # e.g. a result that could not be sent back
                    result = (_crashed(candidates[index], f"failed: {type(exc).__name__}: {str(exc)[:120]}"), False)
                done(index, result)
                read.add(index)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [i for i in indices if i not in read]


def scan(paths: list[str | Path], *, include: list[str] | None = None, exclude: list[str] | None = None,
         limits: Limits | None = None, matcher: Any = None,
         on_file: Callable[[FileResult], None] | None = None, profile: Any = None,
         jobs: int | None = None, use_cache: bool = True, decisions: Any = None,
         document_keys: dict[str, str] | None = None) -> ScanResult:
    """Scan files and folders. ``matcher`` (if given) fills each unit's findings; the engagement
    rules then judge each file (survey kind, licensing, scope) with the ``profile`` if one is given.

    Files are read by ``jobs`` worker processes (default: one per CPU; 1 = in this
    process); results keep the stable order of :func:`ddcheck.files.collect`.
    Matching runs here, in this process: every distinct text of the whole scan is
    encoded once, in large batches, by one copy of the model. Progress goes to
    :func:`ddcheck.progress.current`. ``use_cache`` keeps parsed files in the
    on-disk cache (:mod:`ddcheck.cache`) so unchanged files are not parsed again.
    ``decisions`` (a :class:`ddcheck.decisions.DecisionSet`) marks each finding with the
    reviewers' earlier decision (``result.decisions``); ``document_keys`` maps file-name
    globs to the document key decisions are filed under.

    Raises ``FileNotFoundError`` naming the paths that do not exist (a usage error).
    """
    from ddcheck import progress

    limits = limits or Limits()
    candidates, passed, missing = collect([Path(p) for p in paths], include, exclude)
    if missing:
        raise FileNotFoundError(", ".join(missing))
    cache = None
    if use_cache and candidates:
        from ddcheck.cache import EmbeddingCache

        cache = EmbeddingCache()
    try:
        files = read_files(candidates, limits, jobs=jobs, on_file=on_file, cache=cache)
    finally:
        if cache is not None:
            cache.close()
    if matcher is not None:
        progress.current().matching(sum(len(f.units) for f in files))
    engine = {"encoder": "none", "taxonomy": "none", "matcher": "none"}
    if matcher is not None:
        matcher.match_files(files)
        engine = matcher.engine_info()
        purpose = getattr(profile, "purpose", None)
        if purpose and hasattr(matcher, "semantic_evidence"):
            from ddcheck.scope import flag_beyond_scope

            flag_beyond_scope(files, purpose, matcher, getattr(profile, "activity", None))
        from ddcheck.aggregation import aggregate

        names = {c.id: c.name_en for c in getattr(matcher, "categories", ())}
        for f in files:
            f.file_findings = aggregate(f, names)
    from ddcheck.decisions import document_key

    for f in files:
        f.document_key = document_key(f.path, document_keys)
    outcome = None
    if decisions is not None and matcher is not None:
        outcome = decisions.apply(files, getattr(matcher, "encoder", None) if getattr(matcher, "kind", "") != "keywords" else None)
    from ddcheck.engagement import assess_files

    engagement = assess_files(files, profile)
    return ScanResult(files=files, passed_over=passed, engine=engine, engagement=engagement, decisions=outcome,
                      taxonomy=getattr(matcher, "taxonomy", None))
