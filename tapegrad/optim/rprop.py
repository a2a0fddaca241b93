"""`Rprop`: resilient backpropagation, steps driven by the gradient's sign alone."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tapegrad.creation import full_like, zeros_like
from tapegrad.tensor import Tensor

from ._elementwise import ElementwiseOptimizer

__all__ = ["Rprop"]


class Rprop(ElementwiseOptimizer):
    r"""Rprop (Riedmiller & Braun, 1993), torch's exact update.

    Every coordinate has its own step size ``s`` (starting at ``lr``); only the *sign* of the
    gradient is used::

        same sign as last step:   s ← min(s·η+, s_max)     (speed up)
        sign flipped:             s ← max(s·η-, s_min);  g ← 0 for this step
                                                           (overshot: stay, and forget g)
        either gradient zero:     s unchanged
        p ← p - sign(g)·s;   g_prev ← g

    A full-batch method: with mini-batches the sign flips are noise. With ``(η-, η+) =
    etas`` and ``(s_min, s_max) = step_sizes``.

    State: ``'step'``, ``'prev'`` (the last step's gradient, zeroed where it flipped),
    ``'step_size'`` (s).
    """

    _state_keys = ("prev", "step_size")

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-2,
                 etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(params, {
            "lr": lr, "etas": etas, "step_sizes": step_sizes, "foreach": foreach,
            "maximize": maximize, "differentiable": differentiable, "capturable": capturable,
        })

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"prev": zeros_like(p), "step_size": full_like(p, float(group["lr"]))}

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], t: float) -> None:
        etaminus, etaplus = group["etas"]
        step_min, step_max = group["step_sizes"]
        prev, step_size = state["prev"]._data, state["step_size"]._data
        dt = p.dtype.type
        agreement = np.sign(g * prev)
        factor = np.where(agreement > 0, dt(etaplus),
                          np.where(agreement < 0, dt(etaminus),
                                   np.where(agreement == 0, dt(1), agreement)))
        step_size *= factor
        np.clip(step_size, dt(step_min), dt(step_max), out=step_size)
        g = np.where(factor == dt(etaminus), dt(0), g)  # a flipped sign: no move this step
        p -= np.sign(g) * step_size
        prev[...] = g
