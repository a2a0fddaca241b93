"""`Adam` and `AdamW`: adaptive moment estimation, with coupled or decoupled weight decay."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tapegrad.creation import zeros_like
from tapegrad.tensor import Tensor

from .optimizer import Optimizer, _check_options, _float

__all__ = ["Adam", "AdamW"]


def check_betas(lr: Any, betas: tuple, eps: float, weight_decay: float) -> None:
    """The argument checks Adam's family shares (torch's messages)."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2014), torch's exact update.

    Per parameter, with step count ``t`` (from 1), γ = lr, λ = weight_decay::

        g ← g + λ·p                           (AdamW instead: p ← p - γλ·p, first)
        m ← β1·m + (1 - β1)·g                 first moment: a running mean of g
        v ← β2·v + (1 - β2)·g²                second moment: a running mean of g²
        v_max ← max(v_max, v)                 (amsgrad; then v_max replaces v below)
        p ← p - γ/(1 - β1^t) · m / (√v / √(1 - β2^t) + ε)

    Dividing by √v gives every coordinate a step of about γ whatever the gradient's scale;
    the ``1 - β^t`` factors undo the bias of moments that start at 0.

    Equals these equations written with tensor ops under ``no_grad`` (checked step by step in
    tests/optim/test_optimizer_composites.py).

    State per parameter: ``'step'`` (a 0-d float tensor), ``'exp_avg'`` (m), ``'exp_avg_sq'``
    (v) and, with amsgrad, ``'max_exp_avg_sq'``.

    ``foreach``/``fused``/``capturable`` are accepted and change nothing (tapegrad always
    runs one fused kernel per parameter on the CPU); ``differentiable=True`` raises.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 1e-3,
        betas: tuple[float | Tensor, float | Tensor] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        check_betas(lr, betas, eps, weight_decay)
        if not (
            (isinstance(betas[0], float) and isinstance(betas[1], float))
            or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))
        ):
            raise ValueError("betas must be either both floats or both Tensors")
        for i in (0, 1):
            if isinstance(betas[i], Tensor) and betas[i].numel() != 1:
                raise ValueError(f"Tensor betas[{i}] must be 1-element")
        betas = tuple(b.reshape(()) if isinstance(b, Tensor) else b for b in betas)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)
        _check_options(foreach, fused, differentiable)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("capturable", False)
            group.setdefault("differentiable", False)
            group.setdefault("decoupled_weight_decay", False)
            group.setdefault("fused", None)
        self._steps_to_tensors()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adam update of every parameter that has a gradient; returns ``closure()``'s
        loss."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = (_float(b) for b in group["betas"])
            amsgrad = bool(group["amsgrad"])
            for p in self._params_with_grad(group):
                state = self.state[p]
                if len(state) == 0:  # lazy initialisation, on the first step with a gradient
                    state["step"] = self._new_step()
                    state["exp_avg"] = zeros_like(p)
                    state["exp_avg_sq"] = zeros_like(p)
                    if amsgrad:
                        state["max_exp_avg_sq"] = zeros_like(p)
                t = self._advance(state["step"])
                vmax = state["max_exp_avg_sq"]._data if amsgrad else None
                self._kernels(p).adam_(
                    p._data, p.grad._data, state["exp_avg"]._data, state["exp_avg_sq"]._data,
                    vmax, step=t, lr=_float(group["lr"]), beta1=beta1, beta2=beta2,
                    eps=_float(group["eps"]), weight_decay=_float(group["weight_decay"]),
                    amsgrad=amsgrad, maximize=bool(group["maximize"]),
                    decoupled_weight_decay=bool(group["decoupled_weight_decay"]),
                )
                p._bump_version()
                for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
                    if key in state:
                        state[key]._bump_version()
        return loss


class AdamW(Adam):
    r"""Adam with *decoupled* weight decay (Loshchilov & Hutter, 2017).

    Identical to `Adam` except for weight decay: instead of adding ``λ·p`` to the gradient
    (where Adam's normalisation would then shrink it for coordinates with large gradients),
    every parameter first shrinks by ``p ← p·(1 - γλ)``, then takes the plain Adam step.
    Default ``weight_decay=1e-2`` (Adam's is 0). torch implements it as
    ``Adam(..., decoupled_weight_decay=True)``; so does this class. Equals Adam's equations
    with the decay ``p ← p - γλ·p`` first (checked step by step in
    tests/optim/test_optimizer_composites.py).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 1e-3,
        betas: tuple[float | Tensor, float | Tensor] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:  # loading any checkpoint keeps AdamW decoupled
            group["decoupled_weight_decay"] = True
