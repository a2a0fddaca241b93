"""`SGD`: stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tapegrad.creation import zeros_like
from tapegrad.tensor import Tensor

from .optimizer import Optimizer, _check_options, _float

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), torch's exact update.

    For each parameter ``p`` with gradient ``g`` (λ = weight_decay, μ = momentum,
    τ = dampening, γ = lr)::

        g ← g + λ·p                         weight decay as an L2 penalty in the gradient
        b ← g                               first step (a copy of g: no dampening)
        b ← μ·b + (1 - τ)·g                 later steps
        g ← g + μ·b  (nesterov)   or   g ← b
        p ← p - γ·g                         (maximize=True: p + γ·g)

    Momentum averages recent gradients, so steps keep going in directions where the gradient
    is consistent and cancel out where it oscillates. The buffer is state
    ``'momentum_buffer'`` (only when momentum != 0).

    Equals these equations written with tensor ops under ``no_grad`` (checked step by step in
    tests/optim/test_optimizer_composites.py).

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate (default 1e-3, torch >= 2.2's default).
        momentum, dampening, weight_decay, nesterov: as above.
        maximize: ascend the objective instead of descending it.
        foreach, fused: accepted for compatibility; tapegrad always runs one fused kernel per
            parameter. differentiable=True raises NotImplementedError.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float | Tensor = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
        }
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        _check_options(foreach, fused, differentiable)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("differentiable", False)
            group.setdefault("fused", False)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One SGD update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            momentum = _float(group["momentum"])
            for p in self._params_with_grad(group):
                buf, first = None, False
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:  # torch: buffer = clone of the (decayed) first gradient
                        buf = zeros_like(p)
                        state["momentum_buffer"] = buf
                        first = True
                self._kernels(p).sgd_(
                    p._data, p.grad._data, None if buf is None else buf._data,
                    lr=_float(group["lr"]), weight_decay=_float(group["weight_decay"]),
                    momentum=momentum, dampening=_float(group["dampening"]),
                    nesterov=bool(group["nesterov"]), maximize=bool(group["maximize"]),
                    first_step=first,
                )
                p._bump_version()
                if buf is not None:
                    buf._bump_version()
        return loss
