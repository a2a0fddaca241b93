"""`NAdam`: Adam with Nesterov momentum (look one step ahead along the first moment)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tapegrad.creation import zeros_like
from tapegrad.tensor import Tensor

from ._elementwise import ElementwiseOptimizer, lerp_, scalar_state
from .adam import check_betas

__all__ = ["NAdam"]


class NAdam(ElementwiseOptimizer):
    r"""NAdam (Dozat, 2016), torch's exact update.

    Per parameter, with step count ``t`` (from 1) and ψ = momentum_decay::

        μ_t = β1·(1 - 0.96^(t·ψ)/2)           a momentum that warms up towards β1
        Π_t = μ_1·μ_2·…·μ_t                    (state 'mu_product')
        g ← g + λ·p                           (decoupled_weight_decay: p ← p·(1 - γλ) instead)
        m ← β1·m + (1 - β1)·g;  v ← β2·v + (1 - β2)·g²
        d = √(v / (1 - β2^t)) + ε
        p ← p - γ(1 - μ_t)/(1 - Π_t) · g/d - γ·μ_{t+1}/(1 - Π_t·μ_{t+1}) · m/d

    The last term is Nesterov's trick: it uses the *next* step's momentum weight, so the
    update already includes the momentum the next step would add.

    State: ``'step'``, ``'mu_product'`` (0-d, torch's scalar dtype), ``'exp_avg'`` (m),
    ``'exp_avg_sq'`` (v).
    """

    _state_keys = ("exp_avg", "exp_avg_sq", "mu_product")
    _group_fallbacks = {**ElementwiseOptimizer._group_fallbacks, "decoupled_weight_decay": False}

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        check_betas(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        super().__init__(params, {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize, "foreach": foreach, "capturable": capturable,
            "differentiable": differentiable,
        })

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"mu_product": scalar_state(1.0), "exp_avg": zeros_like(p),
                "exp_avg_sq": zeros_like(p)}

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], t: float) -> None:
        beta1, beta2 = (float(b) for b in group["betas"])
        lr, wd, psi = float(group["lr"]), group["weight_decay"], group["momentum_decay"]
        m, v, mu_product = state["exp_avg"]._data, state["exp_avg_sq"]._data, state["mu_product"]
        bias_correction2 = 1 - beta2**t
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p *= 1 - lr * wd
            else:
                g = g + wd * p
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (t * psi)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * psi)))
        mu_product._data *= mu  # kept in torch's scalar dtype, rounded each step as torch does
        prod = float(mu_product._data)
        lerp_(m, g, 1 - beta1)
        v *= beta2
        v += ((1 - beta2) * g) * g
        denom = np.sqrt(v / bias_correction2)
        denom += p.dtype.type(group["eps"])
        p += ((-lr * (1.0 - mu) / (1.0 - prod)) * g) / denom
        p += ((-lr * mu_next) / (1.0 - prod * mu_next) * m) / denom
