"""`RMSprop`: divide each gradient by a running root-mean-square of its recent values."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tapegrad.creation import zeros_like
from tapegrad.tensor import Tensor

from .optimizer import Optimizer, _check_options, _float

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), torch's exact update.

    Per parameter (α = alpha, μ = momentum, λ = weight_decay, γ = lr)::

        g ← g + λ·p
        v ← α·v + (1 - α)·g²                  running mean of g²
        centered:  ḡ ← α·ḡ + (1 - α)·g;  ṽ = v - ḡ²   (a variance instead of a 2nd moment)
        otherwise: ṽ = v
        μ > 0:     b ← μ·b + g/(√ṽ + ε);  p ← p - γ·b
        otherwise: p ← p - γ·g/(√ṽ + ε)

    Unlike Adam there is no bias correction, so with ``v`` starting at 0 the first steps are
    about ``γ/√(1-α)`` = 10γ per coordinate for α = 0.99.

    Equals these equations written with tensor ops under ``no_grad`` (checked step by step in
    tests/optim/test_optimizer_composites.py).

    State: ``'step'``, ``'square_avg'`` (v), ``'momentum_buffer'`` (μ > 0),
    ``'grad_avg'`` (centered). ``foreach``/``capturable`` are accepted and ignored;
    ``differentiable=True`` raises.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "capturable": capturable,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)
        _check_options(foreach, None, differentiable)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("momentum", 0)
            group.setdefault("centered", False)
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("capturable", False)
        self._steps_to_tensors()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One RMSprop update of every parameter that has a gradient; returns ``closure()``'s
        loss."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            momentum = _float(group["momentum"])
            centered = bool(group["centered"])
            for p in self._params_with_grad(group):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = self._new_step()
                    state["square_avg"] = zeros_like(p)
                    if momentum > 0:
                        state["momentum_buffer"] = zeros_like(p)
                    if centered:
                        state["grad_avg"] = zeros_like(p)
                self._advance(state["step"])
                buf = state["momentum_buffer"]._data if momentum > 0 else None
                gavg = state["grad_avg"]._data if centered else None
                self._kernels(p).rmsprop_(
                    p._data, p.grad._data, state["square_avg"]._data, gavg, buf,
                    lr=_float(group["lr"]), alpha=_float(group["alpha"]),
                    eps=_float(group["eps"]), weight_decay=_float(group["weight_decay"]),
                    momentum=momentum, centered=centered, maximize=bool(group["maximize"]),
                )
                p._bump_version()
                for key in ("square_avg", "momentum_buffer", "grad_avg"):
                    if key in state:
                        state[key]._bump_version()
        return loss
