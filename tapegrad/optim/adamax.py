"""`Adamax`: Adam with the infinity norm in place of the root mean square."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tapegrad.creation import zeros_like
from tapegrad.tensor import Tensor

from ._elementwise import ElementwiseOptimizer, lerp_
from .adam import check_betas

__all__ = ["Adamax"]


class Adamax(ElementwiseOptimizer):
    r"""Adamax (Kingma & Ba, 2014, section 7.1), torch's exact update.

    Per parameter, with step count ``t`` (from 1)::

        g ← g + λ·p
        m ← β1·m + (1 - β1)·g                 first moment, as in Adam
        u ← max(β2·u, |g| + ε)                 an exponentially weighted infinity norm
        p ← p - γ/(1 - β1^t) · m / u

    Adam's ``√v`` is an L2 average of past gradients; the limit of the Lp average as
    p → ∞ is this decayed maximum, which needs no bias correction (a maximum started at 0
    is not biased towards 0 once one gradient has arrived).

    State: ``'step'``, ``'exp_avg'`` (m), ``'exp_inf'`` (u).
    """

    _state_keys = ("exp_avg", "exp_inf")

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        check_betas(lr, betas, eps, weight_decay)
        super().__init__(params, {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
            "capturable": capturable,
        })

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"exp_avg": zeros_like(p), "exp_inf": zeros_like(p)}

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], t: float) -> None:
        beta1, beta2 = (float(b) for b in group["betas"])
        wd = group["weight_decay"]
        m, u = state["exp_avg"]._data, state["exp_inf"]._data
        if wd != 0:
            g = g + wd * p
        lerp_(m, g, 1 - beta1)
        u *= beta2
        np.maximum(u, np.abs(g) + p.dtype.type(group["eps"]), out=u)
        clr = float(group["lr"]) / (1 - beta1**t)
        p += (-clr * m) / u  # addcdiv's order: (value·a)/b
