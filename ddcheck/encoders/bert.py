"""e5's BERT encoder in plain torch, read from the sentence-transformers model directory ddcheck builds.

Why not load that directory with sentence-transformers at scan time: importing it costs ~4 s
on a 2-core machine (it pulls in transformers, scikit-learn, scipy and sympy) and loading
through it ~1.4 s more, about as long as e5 takes to encode a 300-question questionnaire,
and every cold scan pays it. This module
does the same arithmetic as transformers' ``BertModel`` (sdpa attention, exact GELU) plus
sentence-transformers' mean pooling and normalisation, in the same order, with the weights
rounded through float16 as ddcheck always loaded them, so its vectors are bitwise those of
``SentenceTransformer`` on the same directory (``tests/test_encoders.py`` holds it to
that). It needs only torch, safetensors and tokenizers, which that stack installs anyway.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# The checkpoint's names for the parts of one encoder layer -> this module's attribute names.
LAYER_PARTS = {
    "attention.self.query": "query", "attention.self.key": "key", "attention.self.value": "value",
    "attention.output.dense": "attention_out", "attention.output.LayerNorm": "attention_norm",
    "intermediate.dense": "inner", "output.dense": "outer", "output.LayerNorm": "output_norm",
}
WORD_TABLE = "embeddings.word_embeddings.weight"


class EncoderLayer(nn.Module):
    """One BERT layer: self-attention, then the feed-forward block, each added back and layer-normed."""

    def __init__(self, hidden: int, inner: int, heads: int, eps: float):
        super().__init__()
        self.heads, self.head_size = heads, hidden // heads
        self.query, self.key, self.value = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.attention_out, self.attention_norm = nn.Linear(hidden, hidden), nn.LayerNorm(hidden, eps=eps)
        self.inner, self.outer, self.output_norm = nn.Linear(hidden, inner), nn.Linear(inner, hidden), nn.LayerNorm(hidden, eps=eps)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(*x.shape[:-1], self.heads, self.head_size).transpose(1, 2)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        batch, length, hidden = h.shape
        attended = F.scaled_dot_product_attention(self._heads(self.query(h)), self._heads(self.key(h)), self._heads(self.value(h)),
                                                  attn_mask=None, dropout_p=0.0, scale=self.head_size ** -0.5, is_causal=False)
        attended = attended.transpose(1, 2).contiguous().reshape(batch, length, hidden)
        h = self.attention_norm(self.attention_out(attended) + h)
        return self.output_norm(self.outer(F.gelu(self.inner(h))) + h)


class BertEncoder(nn.Module):
    """Token ids of equal-length texts -> their mean-pooled, L2-normalised sentence vectors. ``words`` looks up
    the vocabulary rows (``load_bert`` gives the memory-mapped, int8-rounded lookup)."""

    def __init__(self, config: dict, words: nn.Module):
        super().__init__()
        hidden, eps = config["hidden_size"], config["layer_norm_eps"]
        self.embeddings = nn.Module()
        self.embeddings.word_embeddings = words
        for name, rows in (("position_embeddings", config["max_position_embeddings"]), ("token_type_embeddings", config["type_vocab_size"])):
            # given a weight, nn.Embedding skips its random initialisation, whose first call on "meta" costs ~1.4 s
            setattr(self.embeddings, name, nn.Embedding(rows, hidden, _weight=torch.empty(rows, hidden)))
        self.embeddings.LayerNorm = nn.LayerNorm(hidden, eps=eps)
        self.layers = nn.ModuleList(EncoderLayer(hidden, config["intermediate_size"], config["num_attention_heads"], eps)
                                    for _ in range(config["num_hidden_layers"]))

    @torch.inference_mode()
    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        e = self.embeddings
        length = ids.shape[1]
        h = e.word_embeddings(ids) + e.token_type_embeddings.weight[0] + e.position_embeddings.weight[:length]
        h = e.LayerNorm(h)
        for layer in self.layers:
            h = layer(h)
        pooled = h.sum(dim=1) / float(length)
        # Twice, as sentence-transformers does (its Normalize module, then encode's normalize_embeddings): the
        # second pass can move the last bit, and the vectors must stay bitwise those of the cache and shipped files.
        return F.normalize(F.normalize(pooled, p=2, dim=-1), p=2, dim=-1)


def load_bert(directory: Path) -> BertEncoder:
    """The encoder with the directory's weights, every tensor rounded through float16: the word table stays in
    the file, memory-mapped, its rows rounded to int8 as they are looked up (``int8.RowInt8Embedding``); the
    rest computes in float32 (the caller turns the linear layers into int8 ones)."""
    from safetensors import safe_open

    from ddcheck.encoders.int8 import RowInt8Embedding

    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    if config.get("model_type") != "bert" or config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"{directory}: not a BERT model with absolute positions")
    weights_file = directory / "model.safetensors"
    table = _mapped(weights_file, WORD_TABLE)
    words = RowInt8Embedding(lambda ids: torch.from_numpy(table[ids.numpy()]).to(torch.float16).to(torch.float32))
    with torch.device("meta"):
        model = BertEncoder(config, words)
    state = {}
    with safe_open(str(weights_file), framework="pt") as weights:
        for key in weights.keys():
            name = _module_name(key)
            if name is not None and key != WORD_TABLE:
                state[name] = weights.get_tensor(key).to(torch.float16).to(torch.float32)
    model.load_state_dict(state, assign=True, strict=True)
    return model.eval()


SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16}


def _mapped(path: Path, key: str) -> np.ndarray:
    """One tensor of a safetensors file as a read-only memory map (the format: an 8-byte little-endian header
    size, a JSON header giving each tensor's dtype, shape and byte range, then the data)."""
    with open(path, "rb") as handle:
        size = int.from_bytes(handle.read(8), "little")
        info = json.loads(handle.read(size))[key]
    start, end = info["data_offsets"]
    dtype = np.dtype(SAFETENSORS_DTYPES[info["dtype"]])
    shape = tuple(info["shape"])
    if end - start != dtype.itemsize * int(np.prod(shape)):
        raise ValueError(f"{path}: {key} does not fill its byte range")
    return np.memmap(path, dtype=dtype, mode="r", offset=8 + size + start, shape=shape)


def _module_name(key: str) -> str | None:
    """A checkpoint key as this module names it; None for the parts it does not use (the pooler head)."""
    if key.startswith("embeddings."):
        return key
    if key.startswith("encoder.layer."):
        index, rest = key[len("encoder.layer."):].split(".", 1)
        part, leaf = rest.rsplit(".", 1)
        return f"layers.{index}.{LAYER_PARTS[part]}.{leaf}"
    return None


def load_tokenizer(directory: Path, max_length: int):
    """The directory's fast tokenizer (special tokens added, long texts cut at ``max_length``), no padding."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer
