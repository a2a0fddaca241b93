"""`Adadelta`: an adaptive step whose units match the parameter's, with no tuned learning rate."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tapegrad.creation import zeros_like
from tapegrad.tensor import Tensor

from ._elementwise import ElementwiseOptimizer

__all__ = ["Adadelta"]


class Adadelta(ElementwiseOptimizer):
    r"""Adadelta (Zeiler, 2012), torch's exact update.

    Per parameter (ρ = rho, λ = weight_decay, γ = lr, which is 1 by default)::

        g ← g + λ·p
        v ← ρ·v + (1 - ρ)·g²                  running mean of squared gradients
        Δ = √(u + ε) / √(v + ε) · g           u: running mean of squared *updates*
        u ← ρ·u + (1 - ρ)·Δ²
        p ← p - γ·Δ

    The ratio √u/√v carries the units of ``p`` (Adagrad's and RMSprop's steps carry the
    units of ``lr``), which is why plain ``lr=1`` works: the step size is learned from the
    size of past steps. ``ε`` starts it off: with ``u = 0`` the first step is ``√ε/√v · g``.

    State: ``'step'``, ``'square_avg'`` (v), ``'acc_delta'`` (u).
    """

    _state_keys = ("square_avg", "acc_delta")

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, {
            "lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
            "maximize": maximize, "capturable": capturable, "foreach": foreach,
            "differentiable": differentiable,
        })

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"square_avg": zeros_like(p), "acc_delta": zeros_like(p)}

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], t: float) -> None:
        rho, eps, wd = group["rho"], group["eps"], group["weight_decay"]
        v, u = state["square_avg"]._data, state["acc_delta"]._data
        if wd != 0:
            g = g + wd * p
        v *= rho
        v += ((1 - rho) * g) * g  # addcmul's order: (value·a)·b
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u *= rho
        u += ((1 - rho) * delta) * delta
        p += -float(group["lr"]) * delta
