"""Negative log-likelihood losses of continuous and count data: ``gaussian_nll_loss`` and
``poisson_nll_loss``.

Minimising ``-log p(target | prediction)`` fits a distribution rather than a point:

* Gaussian: the network predicts a mean ``input`` and a variance ``var``;
  ``-log N(target; input, var) = 0.5 (log var + (input - target)^2 / var) + const``, so a
  large error can be "explained" by a large variance, at the price of ``log var``;
* Poisson: the network predicts a rate ``lambda`` (or ``log lambda`` with ``log_input``);
  ``-log Poisson(target; lambda) = lambda - target log lambda + log(target!)``, the last
  term (constant in the prediction) added only with ``full=True`` through Stirling's
  approximation.

Both are composites of tensor ops, written in torch's order of operations.
"""

from __future__ import annotations

import math

from tapegrad.ops.checks.losses import (
    check_tensors,
    get_reduction,
    legacy_get_string,
    reduce_tensor,
)
from tapegrad.tensor import Tensor

__all__ = ["gaussian_nll_loss", "poisson_nll_loss"]


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """``0.5 (log var + (input - target)^2 / var)`` (``+ 0.5 log(2 pi)`` with ``full``),
    reduced. ``var`` has input's shape, or lacks its last dim or has size 1 in one dim (one
    variance shared along it); values below ``eps`` are raised to ``eps`` for stability,
    but the gradient flows to ``var`` as if they had not been (as in torch)."""
    check_tensors("gaussian_nll_loss", input=input, target=target)
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = input.detach() * 0.0 + float(var)
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)
        elif input.dim() == var.dim() and sum(
                v for i, v in zip(input.shape, var.shape, strict=True) if i != v) == 1:
            pass  # one dim of size 1: a variance shared along it
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    # torch clamps a clone of var in place under no_grad: the value is clamped, the
    # gradient is the identity's. Adding the (constant) correction does the same.
    var = var + (var.clamp_min(eps) - var).detach()
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_tensor(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average: bool | None = None, eps: float = 1e-8,
                     reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """``exp(input) - target * input`` (``log_input=True``: the input is the log-rate) or
    ``input - target * log(input + eps)``; ``full`` adds Stirling's
    ``target log target - target + 0.5 log(2 pi target)`` where ``target > 1``."""
    check_tensors("poisson_nll_loss", input=input, target=target)
    if size_average is not None or reduce is not None:
        reduction = legacy_get_string(size_average, reduce)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not a valid value for reduction")
    reduction = get_reduction(reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + stirling.masked_fill(target <= 1, 0.0)
    return reduce_tensor(loss, reduction)
