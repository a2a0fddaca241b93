"""`Muon`: momentum whose update matrix is orthogonalised (all singular values pushed to ~1)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from tapegrad.creation import zeros_like
from tapegrad.tensor import Tensor

from ._elementwise import ElementwiseOptimizer, lerp_

__all__ = ["Muon"]

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def to_bfloat16(x: np.ndarray) -> np.ndarray:
    """``x`` rounded to bfloat16 (returned as float32): keep float32's top 16 bits, rounding
    to nearest, ties to even. numpy has no bfloat16; torch runs Muon's iteration in it."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    out = rounded.astype(np.uint32).view(np.float32)
    return np.where(np.isnan(x), np.float32(np.nan), out).astype(np.float32)


def newton_schulz(g: np.ndarray, coefficients: tuple[float, float, float], steps: int,
                  eps: float) -> np.ndarray:
    """An approximate orthogonalisation of the matrix ``g`` (torch's quintic iteration).

    With ``X = g/‖g‖`` (singular values in (0, 1]), each step applies the odd polynomial
    ``X ← aX + (bA + cA²)X`` with ``A = XXᵀ``, i.e. ``σ ← aσ + bσ³ + cσ⁵`` to every singular
    value: the coefficients make this pull every σ towards ~1 (roughly into [0.7, 1.2]) in
    a few steps, giving about ``UVᵀ`` of the SVD ``g = USVᵀ`` without computing an SVD.
    Computed in bfloat16, as torch does (each matrix product and ``addmm`` accumulates in
    float32 and rounds its result to bfloat16).
    """
    if steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if g.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = (np.float32(k) for k in coefficients)
    x = to_bfloat16(g.astype(np.float32))
    tall = g.shape[0] > g.shape[1]
    if tall:  # iterate on the wide orientation: A = XXᵀ is then the smaller Gram matrix
        x = x.T
    norm = to_bfloat16(np.float32(np.linalg.norm(x)))
    x = to_bfloat16(x / max(norm, to_bfloat16(np.float32(eps))))
    for _ in range(steps):
        gram = to_bfloat16(x @ x.T)
        poly = to_bfloat16(b * gram + c * (gram @ gram))  # addmm: one rounding
        x = to_bfloat16(a * x + poly @ x)
    return x.T if tall else x


def lr_ratio(adjust_lr_fn: str | None, shape: tuple) -> float:
    """The factor Muon scales lr by so updates of different shapes have comparable RMS:
    ``"original"`` (Keller Jordan's) √max(1, rows/cols), ``"match_rms_adamw"`` (Moonshot's)
    0.2·√max(rows, cols), which makes AdamW's tuned lr and weight decay reusable."""
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return math.sqrt(max(1, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return 0.2 * math.sqrt(max(rows, cols))
    return 1.0


class Muon(ElementwiseOptimizer):
    r"""Muon (Jordan et al., 2024), torch's update: for 2-d weights only.

    Per weight matrix::

        B ← μ·B + (1 - μ)·G                   (momentum buffer)
        U = lerp(G, B, μ) if nesterov else B
        O = NewtonSchulz(U)                   ≈ the orthogonal factor of U (see newton_schulz)
        W ← W·(1 - γλ) - γ'·O                 (γ' = γ·lr_ratio(adjust_lr_fn, shape))

    An orthogonalised update moves every singular direction of the weight by the same
    amount, so directions with small gradients are not starved. Biases, embeddings and the
    output layer should use another optimizer (AdamW), as the error for non-2-d parameters
    says.

    State: ``'momentum_buffer'`` (B); no step counter (as in torch).
    """

    _state_keys = ("momentum_buffer",)
    _group_fallbacks: dict[str, Any] = {}
    _counts_steps = False
    _host_only = True  # bfloat16 emulation and matrix products: CUDA weights update on the host

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-3,
                 weight_decay: float = 0.1, momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
                 eps: float = 1e-7, ns_steps: int = 5, adjust_lr_fn: str | None = None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        super().__init__(params, {
            "lr": lr, "weight_decay": weight_decay, "momentum": momentum,
            "nesterov": nesterov, "ns_coefficients": ns_coefficients, "eps": eps,
            "ns_steps": ns_steps, "adjust_lr_fn": adjust_lr_fn,
        })
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.size()}")

    def step(self, closure: Any = None) -> Any:
        """One Muon update of every weight that has a gradient; returns ``closure()``'s loss."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            for p in self._params_with_grad(group):
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = zeros_like(p)
                self._run_update(p, p.grad._data, state, group, 0.0)
                p._bump_version()
                state["momentum_buffer"]._bump_version()
        return loss

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], t: float) -> None:
        if g.ndim != 2:
            raise ValueError("Param gradient must be a 2D matrix")
        momentum = group["momentum"]
        buf = state["momentum_buffer"]._data
        lerp_(buf, g, 1 - momentum)
        if group["nesterov"]:
            update = g.copy()
            lerp_(update, buf, momentum)
        else:
            update = buf
        ortho = newton_schulz(update, group["ns_coefficients"], group["ns_steps"],
                              group["eps"])
        ratio = lr_ratio(group["adjust_lr_fn"], p.shape)
        lr = group["lr"]
        if isinstance(lr, Tensor):  # torch computes these scalars as 0-d tensors of lr's dtype
            f = lr._data.dtype.type
            step, decay = f(lr._data) * f(ratio), f(1) - f(lr._data) * f(group["weight_decay"])
        else:
            step, decay = lr * ratio, 1 - lr * group["weight_decay"]
        p *= float(decay)
        p += -float(step) * ortho.astype(p.dtype)
