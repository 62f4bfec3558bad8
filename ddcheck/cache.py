"""On-disk embedding cache (SQLite), so a rescan of unchanged files does not even load the model.

Keyed by encoder id (model + weights hash + normalisation version) and a hash of
the text. WAL mode and a busy timeout make two scans at once safe.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import numpy as np


def cache_root() -> Path:
    """``$DDCHECK_CACHE``, else ``$XDG_CACHE_HOME/ddcheck``, else ``~/.cache/ddcheck``."""
    if os.environ.get("DDCHECK_CACHE"):
        return Path(os.environ["DDCHECK_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ddcheck"


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class EmbeddingCache:
    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else cache_root() / "embeddings.sqlite3"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT, key TEXT, dim INTEGER, vec BLOB, PRIMARY KEY (model, key))")
        self._db.commit()

    def get_many(self, model: str, texts: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        keys = {text_key(t): t for t in texts}
        items = list(keys)
        for start in range(0, len(items), 500):
            chunk = items[start:start + 500]
            rows = self._db.execute(
                f"SELECT key, vec FROM vectors WHERE model = ? AND key IN ({','.join('?' * len(chunk))})", [model, *chunk]
            )
            for key, blob in rows:
                found[keys[key]] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, model: str, texts: list[str], vectors: np.ndarray) -> None:
        rows = [(model, text_key(t), int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes()) for t, v in zip(texts, vectors)]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)", rows)

    def info(self) -> dict[str, object]:
        rows = self._db.execute("SELECT model, COUNT(*) FROM vectors GROUP BY model ORDER BY model").fetchall()
        size = self.path.stat().st_size if self.path.exists() else 0
        return {"path": str(self.path), "bytes": size, "models": {m: n for m, n in rows}}

    def clear(self) -> int:
        with self._db:
            count = self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
            self._db.execute("DELETE FROM vectors")
        self._db.execute("VACUUM")
        return count

    def close(self) -> None:
        self._db.close()


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

    def encode(self, texts: list[str]) -> np.ndarray:
        unique = list(dict.fromkeys(texts))
        known = self.cache.get_many(self.id, unique) if self.cache else {}
        missing = [t for t in unique if t not in known]
        if missing and self.shipped() is not None:
            known.update(self.shipped().get_many(missing))
            missing = [t for t in missing if t not in known]
        self.hits += len(unique) - len(missing)
        if missing:
            vectors = self.encoder.encode(missing)
            self.encoded += len(missing)
            if self.cache:
                self.cache.put_many(self.id, missing, vectors)
            known.update(zip(missing, vectors))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([known[t] for t in texts]).astype(np.float32)
