"""`ASGD`: averaged stochastic gradient descent (SGD plus a running average of the iterates)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tapegrad.creation import zeros_like
from tapegrad.tensor import Tensor

from ._elementwise import ElementwiseOptimizer, scalar_state

__all__ = ["ASGD"]


class ASGD(ElementwiseOptimizer):
    r"""Averaged SGD (Polyak & Juditsky, 1992; the decaying step of Bottou, 2012), torch's
    exact update.

    Per parameter, with step count ``t`` (from 1), η the current step size (starting at
    ``lr``) and μ the averaging weight (starting at 1)::

        g ← g + λ·p                           (λ = weight_decay)
        p ← p·(1 - λ_d·η) - η·g               (λ_d = lambd, a decay towards 0)
        a ← a + μ·(p - a)                     (a = p exactly while μ = 1)
        η ← lr / (1 + λ_d·lr·t)^α
        μ ← 1 / max(1, t - t0)

    The parameters follow plain SGD with a slowly shrinking step; ``'ax'`` holds the average
    of the iterates since step ``t0``, which converges faster than the iterates themselves
    (read it out for evaluation: the optimizer never copies it back into ``p``).

    State: ``'step'``, ``'eta'`` and ``'mu'`` (0-d tensors in torch's scalar dtype, rounded
    as torch rounds them), ``'ax'``.
    """

    _state_keys = ("ax",)

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-2, lambd: float = 1e-4,
                 alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, {
            "lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0, "weight_decay": weight_decay,
            "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
            "capturable": capturable,
        })

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"eta": scalar_state(float(group["lr"])), "mu": scalar_state(1.0),
                "ax": zeros_like(p)}

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], t: float) -> None:
        lr, lambd, wd = float(group["lr"]), group["lambd"], group["weight_decay"]
        ax, eta_t, mu_t = state["ax"]._data, state["eta"], state["mu"]
        if wd != 0:
            g = g + wd * p
        eta, mu = float(eta_t._data), float(mu_t._data)
        p *= 1 - lambd * eta
        p += -eta * g
        if mu != 1:
            ax += (p - ax) * mu
        else:
            ax[...] = p
        eta_t._data[...] = lr / ((1 + lambd * lr * t) ** group["alpha"])
        mu_t._data[...] = 1 / max(1, t - group["t0"])
        eta_t._bump_version()
        mu_t._bump_version()
