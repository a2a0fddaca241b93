"""`RAdam`: Adam whose adaptive step is switched on only once its variance estimate is reliable."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tapegrad.creation import zeros_like
from tapegrad.tensor import Tensor

from ._elementwise import ElementwiseOptimizer, lerp_
from .adam import check_betas

__all__ = ["RAdam"]


class RAdam(ElementwiseOptimizer):
    r"""Rectified Adam (Liu et al., 2019), torch's exact update.

    Per parameter, with step count ``t`` (from 1)::

        g ← g + λ·p                           (decoupled_weight_decay: p ← p·(1 - γλ) instead)
        m ← β1·m + (1 - β1)·g;  v ← β2·v + (1 - β2)·g²
        m̂ = m / (1 - β1^t)
        ρ_∞ = 2/(1 - β2) - 1;   ρ_t = ρ_∞ - 2t·β2^t/(1 - β2^t)
        ρ_t > 5:  r = √((ρ_t - 4)(ρ_t - 2)ρ_∞ / ((ρ_∞ - 4)(ρ_∞ - 2)ρ_t))
                  p ← p - γ·m̂·√(1 - β2^t)/(√v + ε)·r
        else:     p ← p - γ·m̂                 (plain momentum SGD)

    ρ_t is the effective number of samples behind ``v``; with few of them Adam's ``1/√v``
    has a huge variance (the reason Adam needs a warm-up), so RAdam takes SGD-with-momentum
    steps until ρ_t passes 5 (about 6 steps for β2 = 0.999), then Adam steps scaled by the
    rectification ``r``, which grows to 1.

    State: ``'step'``, ``'exp_avg'`` (m), ``'exp_avg_sq'`` (v).
    """

    _state_keys = ("exp_avg", "exp_avg_sq")
    _group_fallbacks = {**ElementwiseOptimizer._group_fallbacks, "decoupled_weight_decay": False}

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        check_betas(lr, betas, eps, weight_decay)
        super().__init__(params, {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "maximize": maximize, "foreach": foreach, "capturable": capturable,
            "decoupled_weight_decay": decoupled_weight_decay, "differentiable": differentiable,
        })

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"exp_avg": zeros_like(p), "exp_avg_sq": zeros_like(p)}

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], t: float) -> None:
        beta1, beta2 = (float(b) for b in group["betas"])
        lr, wd = float(group["lr"]), group["weight_decay"]
        m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p *= 1 - lr * wd
            else:
                g = g + wd * p
        lerp_(m, g, 1 - beta1)
        v *= beta2
        v += ((1 - beta2) * g) * g
        bias_correction1 = 1 - beta1**t
        bias_correction2 = 1 - beta2**t
        m_hat = m / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * (beta2**t) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive = (bias_correction2**0.5) / (np.sqrt(v) + p.dtype.type(group["eps"]))
            p -= m_hat * lr * adaptive * rect
        else:
            p -= m_hat * lr
