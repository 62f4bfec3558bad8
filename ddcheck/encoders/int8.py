"""Row-wise int8 linear layers for e5 on CPU: a text's vector never depends on its batch, on any CPU.

torch's stock dynamic quantisation scales activations per *tensor*, so a question's
vector would change with whichever questions share its batch (and a cached vector
would disagree with a fresh one). Here every activation row (one token) gets its own
scale and every weight row (one output channel) its own, so each token is computed
alone. The integer product has two kernels that give the same exact sums, so the same
vectors: ``torch._int_mm`` (fast where the CPU has int8 dot-product instructions, but ~40x
slower than a float32 matmul on an AVX2-only AMD EPYC) and a float32 matmul of the
integers (see :func:`_float32_product`); :func:`default_kernel` picks one by the CPU's
instruction sets. (Across CPU types vectors still differ slightly, cosine ~0.999: the float32 parts
around these layers, attention and layer norm, round differently per CPU's kernels.)
Change the rounding here and bump ``INT8_VERSION`` in this package's ``__init__``, so
cached vectors of the old layers are not reused.
"""
from __future__ import annotations

from typing import Callable

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


# Linux's names (/proc/cpuinfo flags) for the int8 dot-product instructions that make torch._int_mm fast.
INT8_DOT_PRODUCT_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


def cpu_int8_flags() -> list[str]:
    """The CPU's int8 dot-product instruction sets among ``INT8_DOT_PRODUCT_FLAGS``; none where there is no
    /proc/cpuinfo to read them from."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() == "flags":
                    return [flag for flag in INT8_DOT_PRODUCT_FLAGS if flag in value.split()]
    except OSError:
        pass
    return []


def default_kernel() -> str:
    """``int_mm`` where the CPU has int8 dot-product instructions (there ~2.5x faster than float32), else
    ``float32``. Decided by the CPU's flags, not by timing both: a timing taken while another process
    (USE's child, any other program) held a core once chose ``int_mm`` on a CPU where it is ~40x slower,
    and a 300-question scan took three minutes. Where the flags cannot be read, float32 is the safe side:
    at worst ~2.5x slower, never 40x."""
    global _chosen_kernel
    if _chosen_kernel is None:
        _chosen_kernel = "int_mm" if cpu_int8_flags() and _int_mm_works() else "float32"
    return _chosen_kernel


def _rounded_rows(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row of a float32 matrix rounded to integers in [-127, 127] on its own scale (its largest
    magnitude / 127), still as float32, and the scales: the one rounding rule of weights, activations and
    the vocabulary table."""
    scale = (matrix.abs().amax(dim=1) / 127.0).clamp(min=1e-12)
    return torch.round(matrix / scale[:, None]), scale


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
    kernel = kernel or default_kernel()
    targets = [(parent, name, child) for parent in module.modules()
               for name, child in parent.named_children() if isinstance(child, torch.nn.Linear)]
    for parent, name, child in targets:
        setattr(parent, name, RowInt8Linear(child, kernel))
    return len(targets)


class RowInt8Embedding(torch.nn.Module):
    """A lookup table whose rows are rounded to int8 on their own scale (the rule of :func:`_rounded_rows`) as
    they are looked up, and rebuilt in float32 (off by at most half a step of the row's own scale).

    ``rows_of(ids)`` gives the raw rows, from wherever the table lies: memory-mapped from the model file
    (``bert.py``), e5's 250k-token vocabulary costs no memory beyond the pages of the rows a scan touches
    and no time at load. A row's rounding depends on that row alone, so rounding on demand gives exactly
    what rounding the whole table once would.
    """

    def __init__(self, rows_of: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.rows_of = rows_of

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        unique, inverse = torch.unique(ids, return_inverse=True)
        rows, scale = _rounded_rows(self.rows_of(unique).to(torch.float32))
        return rows.mul_(scale[:, None])[inverse]

