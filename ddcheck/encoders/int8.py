"""Row-wise int8 linear layers for e5 on CPU: a text's vector never depends on its batch, on any CPU.

torch's stock dynamic quantisation scales activations per *tensor*, so a question's
vector would change with whichever questions share its batch (and a cached vector
would disagree with a fresh one). Here every activation row (one token) gets its own
scale and every weight row (one output channel) its own, so each token is computed
alone. The integer product has two kernels that give the same exact sums, so the same
vectors: ``torch._int_mm`` (fast where the CPU has int8 dot-product instructions, but ~40x
slower than a float32 matmul on an AVX2-only AMD EPYC) and a float32 matmul of the
integers (see :func:`_float32_product`). :func:`fastest_kernel` times both once per
process. (Across CPU types vectors still differ slightly, cosine ~0.999: the float32 parts
around these layers, attention and layer norm, round differently per CPU's kernels.)
Change the rounding here and bump ``INT8_VERSION`` in this package's ``__init__``, so
cached vectors of the old layers are not reused.
"""
from __future__ import annotations

import time

import torch

KERNELS = ("int_mm", "float32")

# int8 x int8 products are at most 127 * 127; float32 holds every integer below 2**24 exactly, so a
# sum of up to 1024 such products (16,516,096) is exact in whatever order the matmul adds them.
EXACT_FLOAT32_TERMS = 1024

_chosen_kernel: str | None = None


def _int_mm_works() -> bool:
    try:
        a = torch.ones((3, 16), dtype=torch.int8)
        return bool((torch._int_mm(a, torch.ones((16, 8), dtype=torch.int8)) == 16).all())
    except (AttributeError, RuntimeError, NotImplementedError):
        return False


def _float32_product(rows: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Integer-valued float32 ``rows @ weights``, exact: slices of at most ``EXACT_FLOAT32_TERMS`` along the
    inner dimension (each slice's sums stay below 2**24), the slices added in float64."""
    inner = rows.shape[1]
    if inner <= EXACT_FLOAT32_TERMS:
        return rows @ weights
    total = None
    for start in range(0, inner, EXACT_FLOAT32_TERMS):
        part = rows[:, start:start + EXACT_FLOAT32_TERMS] @ weights[start:start + EXACT_FLOAT32_TERMS]
        total = part.to(torch.float64) if total is None else total.add_(part)
    return total.to(torch.float32)


def fastest_kernel() -> str:
    """The faster exact kernel on this CPU, timed once per process on an e5-sized product (~10 ms)."""
    global _chosen_kernel
    if _chosen_kernel is None:
        _chosen_kernel = "float32"
        if _int_mm_works():
            rows, weights = torch.ones((64, 384), dtype=torch.int8), torch.ones((384, 384), dtype=torch.int8)
            rows_f, weights_f = rows.float(), weights.float()     # as forward holds them: no conversion timed
            timings = {}
            for kernel, run in (("int_mm", lambda: torch._int_mm(rows, weights)),
                                ("float32", lambda: _float32_product(rows_f, weights_f))):
                run()                                  # first call pays one-off set-up
                start = time.perf_counter()
                for _ in range(3):
                    run()
                timings[kernel] = time.perf_counter() - start
            _chosen_kernel = min(timings, key=timings.get)
    return _chosen_kernel


def _rounded_rows(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row of a float32 matrix rounded to integers in [-127, 127] on its own scale (its largest
    magnitude / 127), still as float32, and the scales: the one rounding rule of weights, activations and
    the vocabulary table."""
    scale = (matrix.abs().amax(dim=1) / 127.0).clamp(min=1e-12)
    return torch.round(matrix / scale[:, None]), scale


def _rows_to_int8(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    rows, scale = _rounded_rows(matrix)
    return rows.to(torch.int8), scale


class RowInt8Linear(torch.nn.Module):
    """A ``nn.Linear`` whose weights are int8 per output channel and whose inputs are int8 per row."""

    def __init__(self, linear: torch.nn.Linear, kernel: str):
        super().__init__()
        if kernel not in KERNELS:
            raise ValueError(f"unknown int8 kernel {kernel!r}")
        rows, scale = _rounded_rows(linear.weight.detach().to(torch.float32))
        # Stored as the kernel multiplies them: int8, or the same integers in float32 (no per-call conversion).
        self.register_buffer("weight_t", (rows.to(torch.int8) if kernel == "int_mm" else rows).t().contiguous())
        self.register_buffer("weight_scale", scale)
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().to(torch.float32))
        self.in_features, self.out_features, self.kernel = linear.in_features, linear.out_features, kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features).to(torch.float32)
        rows, row_scale = _rounded_rows(flat)
        if self.kernel == "int_mm":
            out = torch._int_mm(rows.to(torch.int8), self.weight_t).to(torch.float32)
        else:
            out = _float32_product(rows, self.weight_t)
        out.mul_(row_scale[:, None]).mul_(self.weight_scale)
        if self.bias is not None:
            out.add_(self.bias)
        return out.reshape(*x.shape[:-1], self.out_features)


def quantise_linears(module: torch.nn.Module, kernel: str | None = None) -> int:
    """Replace every ``nn.Linear`` under ``module`` in place (with this CPU's faster kernel, unless one is
    given); returns how many were replaced."""
    kernel = kernel or fastest_kernel()
    targets = [(parent, name, child) for parent in module.modules()
               for name, child in parent.named_children() if isinstance(child, torch.nn.Linear)]
    for parent, name, child in targets:
        setattr(parent, name, RowInt8Linear(child, kernel))
    return len(targets)


class RowInt8Embedding(torch.nn.Module):
    """A lookup table stored as int8 rows with one float32 scale each: e5's 250k-token vocabulary takes
    ~96 MB instead of 192 MB in fp16, for the whole time the model stays loaded. A looked-up row is
    rebuilt in float32 (its rounding error is at most half a step of that row's own scale)."""

    def __init__(self, embedding: torch.nn.Embedding):
        super().__init__()
        table = embedding.weight.detach()
        scale = torch.empty(table.shape[0], dtype=torch.float32)
        rows = torch.empty(table.shape, dtype=torch.int8)
        for start in range(0, table.shape[0], 16384):      # in float32 slices: no full float32 copy of the table
            rows[start:start + 16384], scale[start:start + 16384] = _rows_to_int8(table[start:start + 16384].to(torch.float32))
        self.register_buffer("rows", rows)
        self.register_buffer("scale", scale)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.rows[ids].to(torch.float32) * self.scale[ids].unsqueeze(-1)


def quantise_word_embeddings(bert: torch.nn.Module) -> None:
    """Replace the model's word-embedding table with :class:`RowInt8Embedding`, in place."""
    bert.embeddings.word_embeddings = RowInt8Embedding(bert.embeddings.word_embeddings)
