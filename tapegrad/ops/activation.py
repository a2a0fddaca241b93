"""The activations that take options: ``leaky_relu``, ``hardtanh``, ``elu``, ``softplus``,
``gelu``, ``logsigmoid``, ``silu``, as torch spells them (``inplace=``, ``approximate=``).

Each is a pointwise rule of `tapegrad.pointwise`, where its forward and its derivative are
written once (``leaky_relu``: ``d/dx = 1 if x > 0 else negative_slope``); the functions
here only choose the rule and its in-place form. Like torch, each records its backward as
an op of its own (``leaky_relu_backward`` -> ``LeakyReluBackwardBackward0`` when a graph
of the backward is built), whose derivatives come from differentiating the formula.

Kinks follow torch: ``leaky_relu'(0) = negative_slope``, ``elu'(0) = alpha``,
``hardtanh'`` is 0 at both edges, ``softplus`` is linear (slope 1) once beta·x > threshold.
(``relu``, ``sigmoid`` and ``tanh`` have no options: they are plain rules, made into ops
by `tapegrad.ops.pointwise`; softmax and log_softmax are in `tapegrad.ops.softmax`.)
"""

from __future__ import annotations

from typing import Any

from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.ops.fill import begin_inplace
from tapegrad.ops.pointwise import FUNCTIONS, INPLACE
from tapegrad.tensor import Tensor

__all__ = ["leaky_relu", "hardtanh", "elu", "softplus", "gelu", "logsigmoid", "silu"]


def _apply(rule: str, input: Tensor, inplace: bool = False, **options: Any) -> Tensor:
    """Run ``rule`` on ``input`` (in place when asked), checking the argument first."""
    require_tensor(input, rule)
    if inplace:
        begin_inplace(input)
        return INPLACE[rule].apply(input, **options)
    return FUNCTIONS[rule].apply(input, **options)


def leaky_relu(input: Tensor, negative_slope: float = 0.01,
               inplace: bool = False) -> Tensor:
    """x for x > 0, else ``negative_slope * x``; the gradient at 0 is ``negative_slope``."""
    return _apply("leaky_relu", input, inplace, negative_slope=negative_slope)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """Clamp to ``[min_val, max_val]``; the gradient is 0 at and beyond the edges."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _apply("hardtanh", input, inplace, min_val=min_val, max_val=max_val)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (e^x - 1) otherwise; the gradient at 0 is alpha."""
    return _apply("elu", input, inplace, alpha=alpha)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """ln(1 + e^(beta x)) / beta, a smooth relu (linear once beta x > threshold)."""
    return _apply("softplus", input, beta=beta, threshold=threshold)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) (``approximate='tanh'``: the tanh formula of the GPT-2 era)."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return _apply("gelu" if approximate == "none" else "gelu_tanh", input)


def logsigmoid(input: Tensor) -> Tensor:
    """ln sigmoid(x), computed stably."""
    return _apply("logsigmoid", input)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    return _apply("silu", input, inplace)


METHODS: dict = {}
