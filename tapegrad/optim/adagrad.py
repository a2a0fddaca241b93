"""`Adagrad`: per-coordinate learning rates from the sum of all past squared gradients."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tapegrad.creation import full_like
from tapegrad.tensor import Tensor

from .optimizer import Optimizer, _check_options, _float, _step_from_number

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), torch's exact update.

    Per parameter, at step ``t`` (from 1)::

        γ̃ = γ / (1 + (t - 1)·η)               η = lr_decay
        g ← g + λ·p                            λ = weight_decay
        s ← s + g²                             s starts at initial_accumulator_value
        p ← p - γ̃·g / (√s + ε)

    Equals these equations written with tensor ops under ``no_grad`` (checked step by step in
    tests/optim/test_optimizer_composites.py).

    State (``'step'``, ``'sum'``) is created in the constructor for every parameter, as torch
    does, from the constructor's ``initial_accumulator_value`` (a per-group override is
    ignored there; parameters added later start from the default's value).
    ``foreach``/``fused`` are accepted and ignored; ``differentiable=True`` raises.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}"
            )
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)
        _check_options(foreach, fused, differentiable)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, initial_accumulator_value)

    def _init_state(self, p: Tensor, initial_accumulator_value: float) -> None:
        state = self.state[p]
        state["step"] = self._new_step()
        state["sum"] = full_like(p, initial_accumulator_value)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("fused", None)
        for s in self.state.values():
            if isinstance(s, dict) and "step" in s and not isinstance(s["step"], Tensor):
                s["step"] = _step_from_number(s["step"])

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adagrad update of every parameter that has a gradient; returns ``closure()``'s
        loss."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            for p in self._params_with_grad(group):
                state = self.state[p]
                if len(state) == 0:  # a parameter added with add_param_group
                    self._init_state(p, self.defaults["initial_accumulator_value"])
                t = self._advance(state["step"])
                self._kernels(p).adagrad_(
                    p._data, p.grad._data, state["sum"]._data, step=t,
                    lr=_float(group["lr"]), lr_decay=_float(group["lr_decay"]),
                    weight_decay=_float(group["weight_decay"]), eps=_float(group["eps"]),
                    maximize=bool(group["maximize"]),
                )
                p._bump_version()
                state["sum"]._bump_version()
        return loss
