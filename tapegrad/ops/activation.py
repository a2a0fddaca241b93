"""The piecewise-linear activations with options: ``leaky_relu`` and ``hardtanh``.

(``relu``, ``sigmoid`` and ``tanh`` are pointwise rules of `tapegrad.pointwise`; the smooth
activations with options are in `tapegrad.ops.activation_smooth`, softmax and log_softmax
in `tapegrad.ops.softmax`.)

Each acts elementwise, so its backward is ``grad * slope(x)``. Here that product is itself
an *op* with a name, as in torch (``leaky_relu_backward``, recorded as
``LeakyReluBackwardBackward0`` when a graph of the backward is built). Giving the backward
its own `Function` lets us state its derivatives exactly, which second derivatives
(``create_graph=True``) need: it is linear in ``grad`` (the same slopes) and a step in x
(d/dx = 0).

Kinks follow torch: ``leaky_relu'(0) = negative_slope``, ``hardtanh'`` is 0 at both edges.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.ops._tensor_args import require_tensor
from tapegrad.ops._util import as_array, wrap
from tapegrad.ops.activation_smooth import float_only, maybe_inplace, quiet
from tapegrad.ops.fill import zeros_like
from tapegrad.tensor import Tensor


# ------------------------------------------------------------------ piecewise-linear ones
class _PiecewiseLinearBackward(Function):
    """g = grad * slope(x) for a piecewise-linear activation: linear in ``grad`` with the
    same slopes, and a step in x (d/dx = 0 wherever it exists; torch uses 0 everywhere)."""

    @staticmethod
    def slope(x: np.ndarray, **options: Any) -> np.ndarray:
        raise NotImplementedError

    @classmethod
    def forward(cls, ctx: Node, grad: Tensor, x: Tensor, **options: Any) -> Tensor:
        ctx.save_for_backward(x)
        ctx.options = options
        return quiet(lambda g, s: g * s, grad._data, cls.slope(x._data, **options))

    @classmethod
    def backward(cls, ctx: Node, gg: Tensor) -> tuple:
        (x,) = ctx.saved_tensors
        needs_grad, needs_x = ctx.needs_input_grad
        return (cls.apply(gg, x, **ctx.options) if needs_grad else None,
                zeros_like(gg) if needs_x else None)


class LeakyReluBackward(_PiecewiseLinearBackward):
    """slope 1 for x > 0, ``negative_slope`` for x <= 0 (so at 0 too)."""

    node_name = "LeakyReluBackwardBackward0"
    op_name = "leaky_relu_backward"

    @staticmethod
    def slope(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
        return np.where(x > 0, 1, negative_slope).astype(x.dtype)


class HardtanhBackward(_PiecewiseLinearBackward):
    """slope 1 strictly inside (min_val, max_val), 0 outside *and on the edges*."""

    node_name = "HardtanhBackwardBackward0"
    op_name = "hardtanh_backward"

    @staticmethod
    def slope(x: np.ndarray, min_val: float = -1.0, max_val: float = 1.0) -> np.ndarray:
        return ((x > min_val) & (x < max_val)).astype(x.dtype)


class LeakyRelu(Function):
    """y = x for x > 0, else negative_slope * x."""

    node_name = "LeakyReluBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor, negative_slope: float = 0.01) -> Tensor:
        ctx.save_for_backward(x)
        ctx.slope = negative_slope
        d = float_only(x, "leaky_relu_cpu", "leaky_relu")
        return quiet(lambda d: np.where(d > 0, d, d * negative_slope), d)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return LeakyReluBackward.apply(grad, x, negative_slope=ctx.slope)


class Hardtanh(Function):
    """y = clamp(x, min_val, max_val) (but, unlike clamp, gradient 0 on the edges)."""

    node_name = "HardtanhBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
        ctx.save_for_backward(x)
        ctx.bounds = {"min_val": min_val, "max_val": max_val}
        d = x._data
        lo, hi = np.asarray(min_val, dtype=d.dtype), np.asarray(max_val, dtype=d.dtype)
        return wrap(as_array(np.minimum(np.maximum(d, lo), hi), d.dtype))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return HardtanhBackward.apply(grad, x, **ctx.bounds)


def leaky_relu(input: Tensor, negative_slope: float = 0.01,  # noqa: A002
               inplace: bool = False) -> Tensor:
    """x for x > 0, else ``negative_slope * x``; the gradient at 0 is ``negative_slope``."""
    return maybe_inplace(lambda x: LeakyRelu.apply(x, negative_slope=negative_slope), input,
                         inplace)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,  # noqa: A002
             inplace: bool = False) -> Tensor:
    """Clamp to ``[min_val, max_val]``; the gradient is 0 at and beyond the edges."""
    require_tensor(input, "hardtanh")
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return maybe_inplace(lambda x: Hardtanh.apply(x, min_val=min_val, max_val=max_val), input,
                         inplace)

__all__ = ["leaky_relu", "hardtanh"]

# Tensor methods this family provides (installed by tapegrad.ops), as torch has them.
METHODS: dict = {}
