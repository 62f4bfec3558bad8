"""On-disk embedding cache (SQLite), so a rescan of unchanged files does not even load the model.

Keyed by encoder id (model + weights hash + normalisation version) and a hash of
the text. Vectors are stored as float32, exactly as the model returned them, so
a warm rescan gives the same report as the cold scan did. The same database
keeps the readers' output per file content (table ``parsed``, see
:mod:`ddcheck.scan`), so a rescan does not parse unchanged files again either.

Two scans at once are safe: the database runs in WAL mode (readers never block,
writers take turns), every connection waits for a busy lock (``timeout``) and a
statement that still meets ``database is locked`` is retried with back-off. The
cache is an optimisation, never a reason for a scan to fail: if it cannot be
opened or written (read-only home, corrupt file, lock held too long) the scan
goes on without it and says so once on stderr.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import sqlite3
import time
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np

log = logging.getLogger("ddcheck.cache")
T = TypeVar("T")
DB_NAME = "embeddings.sqlite3"
ENCODE_CHUNK = 512     # texts per model call: progress and cache writes after each; an interrupted scan keeps them


def source_version(names: tuple[str, ...]) -> str:
    """A hash of the package version and the source of these modules or folders (relative to the package):
    part of a cache key, so that a change to the code that made an entry makes it a miss."""
    from ddcheck import __version__

    root = Path(__file__).parent
    digest = hashlib.sha256(__version__.encode())
    for name in names:
        path = root / name
        for source in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]


def cache_root() -> Path:
    """``$DDCHECK_CACHE``, else ``$XDG_CACHE_HOME/ddcheck``, else ``~/.cache/ddcheck``."""
    if os.environ.get("DDCHECK_CACHE"):
        return Path(os.environ["DDCHECK_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ddcheck"


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    message = str(exc).lower()
    return "locked" in message or "busy" in message


class CacheUnavailable(Exception):
    """The cache could not be used (after retries); the caller goes on without it."""


class EmbeddingCache:
    """Vectors by (encoder id, text hash) in one SQLite file under :func:`cache_root`.

    ``timeout`` is how long one statement waits for another process's lock;
    ``retry_for`` how long a statement that still fails with ``database is
    locked`` is retried before the cache gives up for this scan.
    """

    def __init__(self, path: Path | None = None, timeout: float = 30.0, retry_for: float = 60.0):
        self.path = Path(path) if path else cache_root() / DB_NAME
        self.timeout = timeout
        self.retry_for = retry_for
        self.disabled: str | None = None     # why the cache is off for this scan, if it is
        self._db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
            self._retry(lambda: self._db.execute("PRAGMA journal_mode=WAL").fetchone())
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._retry(lambda: self._db.execute(
                "CREATE TABLE IF NOT EXISTS vectors (model TEXT, key TEXT, dim INTEGER, vec BLOB, PRIMARY KEY (model, key))"))
            self._retry(lambda: self._db.execute(
                "CREATE TABLE IF NOT EXISTS parsed (key TEXT PRIMARY KEY, reader TEXT, data BLOB)"))
            self._retry(lambda: self._db.execute(
                "CREATE TABLE IF NOT EXISTS scored (key TEXT PRIMARY KEY, engine TEXT, data BLOB)"))
        except (OSError, sqlite3.Error, CacheUnavailable) as exc:
            self._disable(f"cannot open {self.path} ({exc})")

    # -- plumbing ---------------------------------------------------------------------------
    def _disable(self, why: str) -> None:
        if self.disabled is None:
            self.disabled = why
            log.warning("ddcheck: embedding cache off for this scan: %s", why)
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None

    def _retry(self, action: Callable[[], T]) -> T:
        """Run ``action``; on ``database is locked``/``busy`` wait a little (growing, jittered) and try again."""
        deadline = time.monotonic() + self.retry_for
        delay = 0.01
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                if time.monotonic() + delay > deadline:
                    raise CacheUnavailable(f"still locked after {self.retry_for:.0f} s") from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)

    def _write(self, statements: Callable[[sqlite3.Connection], None]) -> None:
        """One write transaction (BEGIN IMMEDIATE: take the write lock up front, so the busy wait applies)."""
        db = self._db

        def attempt() -> None:
            db.execute("BEGIN IMMEDIATE")
            try:
                statements(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

        self._retry(attempt)

    @property
    def available(self) -> bool:
        return self._db is not None

    # -- vectors ----------------------------------------------------------------------------
    def get_many(self, model: str, texts: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        if self._db is None:
            return found
        keys = {text_key(t): t for t in texts}
        items = list(keys)
        try:
            for start in range(0, len(items), 500):
                chunk = items[start:start + 500]
                query = f"SELECT key, dim, vec FROM vectors WHERE model = ? AND key IN ({','.join('?' * len(chunk))})"
                rows = self._retry(lambda: self._db.execute(query, [model, *chunk]).fetchall())
                for key, dim, blob in rows:
                    if blob is not None and len(blob) == 4 * dim:      # a damaged row is a miss, not an error
                        found[keys[key]] = np.frombuffer(blob, dtype=np.float32)
        except (sqlite3.Error, CacheUnavailable) as exc:
            self._disable(f"cannot read {self.path} ({exc})")
        return found

    def put_many(self, model: str, texts: list[str], vectors: np.ndarray) -> None:
        if self._db is None or not texts:
            return
        rows = [(model, text_key(t), int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes()) for t, v in zip(texts, vectors)]
        try:
            self._write(lambda db: db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)", rows))
        except (sqlite3.Error, CacheUnavailable) as exc:
            self._disable(f"cannot write {self.path} ({exc})")

    # -- parsed files -------------------------------------------------------------------------
    def get_parsed(self, keys: list[str]) -> dict[str, bytes]:
        """Stored reader output by key (see :func:`ddcheck.scan.parse_key`)."""
        return self._select("parsed", keys)

    def _select(self, table: str, keys: list[str]) -> dict[str, bytes]:
        """``data`` by ``key`` from one of the keyed tables; a cache that fails is switched off, not fatal."""
        found: dict[str, bytes] = {}
        if self._db is None:
            return found
        keys = list(dict.fromkeys(keys))
        try:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                query = f"SELECT key, data FROM {table} WHERE key IN ({','.join('?' * len(chunk))})"
                found.update(self._retry(lambda: self._db.execute(query, chunk).fetchall()))
        except (sqlite3.Error, CacheUnavailable) as exc:
            self._disable(f"cannot read {self.path} ({exc})")
        return found

    def put_parsed(self, items: list[tuple[str, str, bytes]]) -> None:
        """Store (key, reader version, data) rows; entries of older reader versions are dropped on the way."""
        if self._db is None or not items:
            return
        readers = sorted({reader for _, reader, _ in items})

        def write(db: sqlite3.Connection) -> None:
            db.executemany("INSERT OR REPLACE INTO parsed VALUES (?, ?, ?)", items)
            db.execute(f"DELETE FROM parsed WHERE reader NOT IN ({','.join('?' * len(readers))})", readers)

        try:
            self._write(write)
        except (sqlite3.Error, CacheUnavailable) as exc:
            self._disable(f"cannot write {self.path} ({exc})")

    # -- scored texts (the matcher's findings) -----------------------------------------------
    def get_scored(self, keys: list[str]) -> dict[str, bytes]:
        """Stored findings by key (see :meth:`ddcheck.matcher.Matcher.match_units`)."""
        return self._select("scored", keys)

    def put_scored(self, engine: str, items: list[tuple[str, bytes]]) -> None:
        if self._db is None or not items:
            return
        rows = [(key, engine, data) for key, data in items]
        try:
            self._write(lambda db: db.executemany("INSERT OR REPLACE INTO scored VALUES (?, ?, ?)", rows))
        except (sqlite3.Error, CacheUnavailable) as exc:
            self._disable(f"cannot write {self.path} ({exc})")

    def count(self, model: str | None = None) -> int:
        if self._db is None:
            return 0
        if model is None:
            return self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
        return self._db.execute("SELECT COUNT(*) FROM vectors WHERE model = ?", [model]).fetchone()[0]

    def info(self) -> dict[str, object]:
        return cache_info(self.path.parent)

    def clear(self, model: str | None = None) -> int:
        """Delete the vectors (and findings) of one encoder id, or everything; returns how many vectors."""
        if self._db is None:
            return 0
        count = self.count(model)

        def delete(db: sqlite3.Connection) -> None:
            if model is None:
                db.execute("DELETE FROM vectors")
                db.execute("DELETE FROM parsed")
                db.execute("DELETE FROM scored")
            else:
                db.execute("DELETE FROM vectors WHERE model = ?", [model])
                db.execute("DELETE FROM scored WHERE engine LIKE ?", [f"%{model}%"])

        self._write(delete)
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.execute("VACUUM")           # give the space back; skipped while another scan holds the file
        except sqlite3.OperationalError:
            pass
        return count

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def cache_info(root: Path | None = None) -> dict[str, object]:
    """What the cache holds, without creating anything: the database (with its WAL), entries per encoder id,
    and the models built into the cache (the e5 model directory)."""
    root = Path(root) if root else cache_root()
    db_path = root / DB_NAME
    files = [db_path, db_path.with_name(DB_NAME + "-wal"), db_path.with_name(DB_NAME + "-shm")]
    info: dict[str, object] = {"path": str(root), "database": str(db_path),
                               "bytes": sum(f.stat().st_size for f in files if f.exists()), "models": {}, "parsed_files": 0,
                               "scored_texts": 0, "built_models": {}}
    if db_path.exists():
        try:
            db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
            try:
                rows = db.execute("SELECT model, COUNT(*) FROM vectors GROUP BY model ORDER BY model").fetchall()
                try:
                    info["parsed_files"] = db.execute("SELECT COUNT(*) FROM parsed").fetchone()[0]
                except sqlite3.OperationalError:      # a cache written before parsed files were kept
                    pass
                try:
                    info["scored_texts"] = db.execute("SELECT COUNT(*) FROM scored").fetchone()[0]
                except sqlite3.OperationalError:      # a cache written before findings were kept
                    pass
            finally:
                db.close()
            info["models"] = {m: n for m, n in rows}
        except sqlite3.Error as exc:
            info["error"] = str(exc)
    models = root / "models"
    if models.is_dir():
        info["built_models"] = {p.name: _size(p) for p in sorted(models.iterdir())}
    return info


SHIPPED = Path(__file__).parent / "data" / "vectors"


class ShippedVectors:
    """Vectors of the built-in exemplars, computed once by the maintainers and shipped in the package.

    They make a first scan on a new machine fast (only the questionnaire's own
    text reaches the model) and are used only when their encoder id matches.
    """

    def __init__(self, path: Path, encoder_id: str):
        self.vectors: dict[str, np.ndarray] = {}
        if path.exists():
            with np.load(path, allow_pickle=False) as data:
                if str(data["encoder_id"]) == encoder_id:
                    matrix = data["vectors"].astype(np.float32)
                    self.vectors = dict(zip(map(str, data["keys"]), matrix))

    def get_many(self, texts: list[str]) -> dict[str, np.ndarray]:
        found = {}
        for text in texts:
            vector = self.vectors.get(text_key(text))
            if vector is not None:
                found[text] = vector
        return found


def write_shipped(path: Path, encoder_id: str, texts: list[str], vectors: np.ndarray) -> None:
    """Store exemplar vectors (float16, sorted by key so the file is reproducible)."""
    keys = [text_key(t) for t in texts]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez_compressed(tmp, encoder_id=np.array(encoder_id), keys=np.array([keys[i] for i in order]),
                        vectors=np.asarray(vectors, dtype=np.float16)[order])
    tmp.replace(path)


RELEASE_AFTER = 2000      # texts encoded in one call from which the model is released afterwards


def _chunks(texts: list[str]) -> list[list[str]]:
    """Texts in model calls of ``ENCODE_CHUNK``, shortest first (similar lengths share a call)."""
    ordered = sorted(texts, key=len)
    return [ordered[start:start + ENCODE_CHUNK] for start in range(0, len(ordered), ENCODE_CHUNK)]


class CachedEncoder:
    """Wraps an encoder: texts seen before come from the cache or the shipped vectors; only the rest reach the model, in one batch."""

    def __init__(self, encoder, cache: EmbeddingCache | None, shipped_name: str | None = None):
        self.encoder = encoder
        self.cache = cache
        self.id = encoder.id
        self.dim = encoder.dim
        self.name = shipped_name
        self._shipped: ShippedVectors | None = None
        self.encoded = 0      # how many texts actually went through the model
        self.hits = 0

    def shipped(self) -> ShippedVectors | None:
        if self._shipped is None and self.name:
            self._shipped = ShippedVectors(SHIPPED / f"{self.name}.npz", self.id)
        return self._shipped

    @property
    def runs_ahead(self) -> bool:
        """Whether the model can encode in a child process while another model works (see ``start_ahead``)."""
        return hasattr(self.encoder, "start")

    def missing(self, texts: list[str]) -> list[str]:
        """The distinct texts neither the cache nor the shipped vectors have: those the model would encode."""
        return self._lookup(list(dict.fromkeys(texts)))[1]

    def start_ahead(self, texts: list[str]) -> None:
        """Start the model on the texts it lacks, in the chunks ``encode`` will ask for, in a child process."""
        if self.runs_ahead:
            missing = self.missing(texts)
            if missing:
                self.encoder.start(_chunks(missing))

    def _lookup(self, unique: list[str]) -> tuple[dict[str, np.ndarray], list[str]]:
        known = self.cache.get_many(self.id, unique) if self.cache else {}
        missing = [t for t in unique if t not in known]
        if missing and self.shipped() is not None:
            known.update(self.shipped().get_many(missing))
            missing = [t for t in missing if t not in known]
        return known, missing

    def encode(self, texts: list[str]) -> np.ndarray:
        unique = list(dict.fromkeys(texts))
        known, missing = self._lookup(unique)
        self.hits += len(unique) - len(missing)
        if missing:
            known.update(self._encode_missing(missing))
        out = np.empty((len(texts), self.dim), dtype=np.float32)      # filled in place: one copy, not three
        for row, text in enumerate(texts):
            out[row] = known[text]
        return out

    def _encode_missing(self, missing: list[str]) -> dict[str, np.ndarray]:
        """Encode in chunks of similar length (little padding in the model's batches), reporting progress and
        storing each chunk as it is done."""
        from ddcheck import progress

        reporter = progress.current()
        out: dict[str, np.ndarray] = {}
        reporter.encoding(self.id, 0, len(missing))
        done = 0
        for chunk in _chunks(missing):
            vectors = np.asarray(self.encoder.encode(chunk), dtype=np.float32)
            self.encoded += len(chunk)
            if self.cache:
                self.cache.put_many(self.id, chunk, vectors)
            out.update(zip(chunk, vectors))
            done += len(chunk)
            reporter.encoding(self.id, done, len(missing))
        if len(missing) >= RELEASE_AFTER and self.cache is not None and hasattr(self.encoder, "release"):
            # A large scan encodes all its texts in this one call and they are cached now: free the model's
            # memory for the rest of the scan (the next encoder, the similarity search). Reloading, should a
            # later step meet a new text, costs seconds; keeping it costs half a gigabyte until the end.
            self.encoder.release()
        return out
