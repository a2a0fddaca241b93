"""`Adafactor`: Adam-like steps with a second-moment estimate of O(rows + columns) memory."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tapegrad.tensor import Tensor

from ._elementwise import ElementwiseOptimizer, lerp_

__all__ = ["Adafactor"]


class Adafactor(ElementwiseOptimizer):
    r"""Adafactor (Shazeer & Stern, 2018), torch's exact update (no first moment).

    Per parameter, with step count ``t`` (from 1), ε1 = eps[0] (the dtype's machine epsilon
    when None) and ε2 = eps[1]::

        β̂_t = 1 - t^c                         (c = beta2_decay; the state below averages
                                               with weight t^c, a slowly shrinking one)
        ρ_t = min(lr, 1/√t);  α = max(ε2, RMS(p))·ρ_t     (a step relative to p's size)
        p ← p·(1 - lr·λ)                      (decoupled weight decay)
        matrix g:  R ← lerp(R, mean_cols(g²), t^c);  C ← lerp(C, mean_rows(g²), t^c)
                   V = R·C / mean(R)          (rank-1 reconstruction of E[g²])
        vector g:  V ← lerp(V, g², t^c)
        U = g / √max(V, ε1²);  p ← p - α/max(1, RMS(U)/d) · U

    For an ``n×m`` weight Adam keeps ``n·m`` second moments; Adafactor keeps a row vector
    and a column vector whose outer product (divided by their common total) estimates them,
    and clips the update's RMS at ``d`` instead of keeping a first moment. Leading
    dimensions of higher-rank parameters are batch dimensions (one factorisation each).

    State: ``'step'``; ``'row_var'`` and ``'col_var'`` for parameters with 2 or more
    dimensions, ``'variance'`` otherwise.
    """

    _state_keys = ("row_var", "col_var", "variance")
    _group_fallbacks = {"maximize": False, "foreach": None}
    _host_only = True  # norms and matrix products: CUDA parameters update on the host

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-2,
                 beta2_decay: float = -0.8, eps: tuple[float | None, float] = (None, 1e-3),
                 d: float = 1.0, weight_decay: float = 0.0, *, foreach: bool | None = None,
                 maximize: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        super().__init__(params, {
            "lr": lr, "beta2_decay": beta2_decay, "eps": eps, "d": d,
            "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize,
        })

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        if p.dim() > 1:
            row_shape, col_shape = list(p.shape), list(p.shape)
            row_shape[-1] = 1
            col_shape[-2] = 1
            return {"row_var": Tensor._zeros(tuple(row_shape), p.dtype, like=p._data),
                    "col_var": Tensor._zeros(tuple(col_shape), p.dtype, like=p._data)}
        return {"variance": Tensor._zeros(tuple(p.shape), p.dtype, like=p._data)}

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], t: float) -> None:
        lr, wd, d = float(group["lr"]), group["weight_decay"], group["d"]
        eps1, eps2 = group["eps"]
        if eps1 is None:
            eps1 = float(np.finfo(p.dtype).eps)
        weight = t ** group["beta2_decay"]
        rho_t = min(lr, 1 / (t**0.5))
        alpha = max(eps2, float(np.linalg.norm(p.ravel())) / (p.size**0.5)) * rho_t
        if wd != 0:
            p *= 1 - lr * wd
        if g.ndim > 1:
            row_var, col_var = state["row_var"]._data, state["col_var"]._data
            # torch squares the L2 norm (rather than summing squares): same rounding here
            row_mean = np.linalg.norm(g, axis=-1, keepdims=True) ** 2 / g.shape[-1]
            col_mean = np.linalg.norm(g, axis=-2, keepdims=True) ** 2 / g.shape[-2]
            lerp_(row_var, row_mean, weight)
            lerp_(col_var, col_mean, weight)
            var_estimate = row_var @ col_var
            var_estimate /= np.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
        else:
            variance = state["variance"]._data
            lerp_(variance, g * g, weight)
            var_estimate = variance.copy()
        update = 1 / np.sqrt(np.maximum(var_estimate, eps1 * eps1))
        update *= g
        denom = max(1.0, float(np.linalg.norm(update.ravel())) / ((update.size**0.5) * d))
        p += (-alpha / denom) * update
