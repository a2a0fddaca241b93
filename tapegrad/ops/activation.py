"""The activations: ``leaky_relu``, ``hardtanh``, ``elu``, ``celu``, ``selu``, ``softplus``,
``gelu``, ``logsigmoid``, ``silu``, ``mish``, ``hardswish``, ``hardsigmoid``, ``softshrink``,
``hardshrink``, as torch spells them (``inplace=``, ``approximate=``); and the ones made
of other ops: ``relu6``, ``threshold``, ``softsign``, ``tanhshrink``, ``glu``, ``prelu``,
``rrelu``, ``softmin``.

Each is a pointwise rule of `tapegrad.pointwise`, where its forward and its derivative are
written once (``leaky_relu``: ``d/dx = 1 if x > 0 else negative_slope``); the functions
here only choose the rule and its in-place form. Like torch, each records its backward as
an op of its own (``leaky_relu_backward`` -> ``LeakyReluBackwardBackward0`` when a graph
of the backward is built), whose derivatives come from differentiating the formula.

Kinks follow torch: ``leaky_relu'(0) = negative_slope``, ``elu'(0) = alpha``,
``hardtanh'`` is 0 at both edges, ``softplus`` is linear (slope 1) once beta·x > threshold.
(``relu``, ``sigmoid`` and ``tanh`` have no options: they are plain rules, made into ops
by `tapegrad.ops.pointwise`; softmax and log_softmax are in `tapegrad.ops.softmax`.)

The composites need no backward of their own: each is the definition torch documents,
written with differentiable ops (``softsign(x) = x / (1 + |x|)``), so the gradient follows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad import random as _random
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.ops.comparison import where
from tapegrad.ops.fill import begin_inplace
from tapegrad.ops.joining import chunk
from tapegrad.ops.pointwise import FUNCTIONS, INPLACE, sigmoid, tanh
from tapegrad.ops.shape import reshape
from tapegrad.ops.softmax import softmax
from tapegrad.tensor import Tensor

# in tapegrad's namespace as in torch's (torch.celu, torch.prelu...); the others are
# nn.functional only
__all__ = ["leaky_relu", "hardtanh", "elu", "softplus", "gelu", "logsigmoid", "silu", "celu",
           "selu", "hardshrink", "prelu", "rrelu", "threshold", "celu_", "selu_", "rrelu_",
           "threshold_"]


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



def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (e^(x/alpha) − 1) otherwise (elu with a gradient continuous at
    0)."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    return _apply("celu", input, inplace, alpha=alpha)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale · elu(x, alpha), with alpha ≈ 1.6733 and scale ≈ 1.0507 (self-normalising)."""
    return _apply("selu", input, inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x · tanh(softplus(x))."""
    return _apply("mish", input, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x · relu6(x + 3) / 6."""
    return _apply("hardswish", input, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6."""
    return _apply("hardsigmoid", input, inplace)


def _check_lambda(lambd: float) -> None:
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x − lambd above lambd, x + lambd below −lambd, 0 between."""
    _check_lambda(lambd)
    return _apply("softshrink", input, lambd=lambd)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, 0 elsewhere."""
    return _apply("hardshrink", input, lambd=lambd)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6): `hardtanh` on [0, 6]."""
    require_tensor(input, "relu6")
    return hardtanh(input, 0.0, 6.0, inplace)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``value`` where x ≤ threshold, x elsewhere. Written as "x ≤ threshold", not
    "x > threshold" the other way round, so that a NaN stays NaN (and passes its gradient
    on), as in torch."""
    require_tensor(input, "threshold")
    # the value in the input's dtype, wrapping around as C's cast does (uint8: −9 is 247)
    filler = Tensor._from_array(np.asarray(value).astype(input._data.dtype))
    out = where(input <= threshold, filler, input)
    if inplace:
        begin_inplace(input)
        return input.copy_(out)
    return out


_threshold = threshold  # threshold_'s own argument is called threshold


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place `threshold`."""
    return _threshold(input, threshold, value, True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place `celu`."""
    return celu(input, alpha, True)


def selu_(input: Tensor) -> Tensor:
    """In-place `selu`."""
    return selu(input, True)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    require_tensor(input, "softsign")
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """x − tanh(x)."""
    require_tensor(input, "tanhshrink")
    return input - tanh(input)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """The gated linear unit: a · sigmoid(b), where a and b are the two halves of ``input``
    along ``dim``."""
    require_tensor(input, "glu")
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = dim % input.ndim if -input.ndim <= dim < input.ndim else dim
    if not -input.ndim <= dim < input.ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-input.ndim}, {input.ndim - 1}], but got {dim})")
    if input.shape[d] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size "
                           f"{input.shape[d]}")
    a, b = chunk(input, 2, d)
    return a * sigmoid(b)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x for x > 0, weight · x elsewhere, with one learned slope per channel (dim 1) or
    one for all; the gradient at 0 is the slope (torch's choice)."""
    require_tensor(input, "prelu")
    require_tensor(weight, "prelu")
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.numel() != 1 and weight.numel() != channels:
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                           f"parameter numbers = {weight.numel()} and channel size = "
                           f"{channels}.")
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.ndim}")
    if weight.numel() == 1:
        w = reshape(weight, ())
    else:
        w = reshape(weight, (channels,) + (1,) * (input.ndim - 2))
    return where(input > 0, input, w * input)


def rrelu(input: Tensor, lower: float = 1.0 / 8.0, upper: float = 1.0 / 3.0,
          training: bool = False, inplace: bool = False) -> Tensor:
    """Randomised leaky relu: in training each non-positive x gets its own slope drawn
    uniformly from [lower, upper]; in eval the slope is their mean, (lower + upper)/2."""
    require_tensor(input, "rrelu")
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    rng = _random.generator_of(None)
    slopes = rng.uniform(lower, upper, size=input.shape).astype(input._data.dtype)
    noise = np.where(input._data <= 0, slopes, input._data.dtype.type(1))
    out = input * Tensor._from_array(noise)
    if inplace:
        begin_inplace(input)
        return input.copy_(out)
    return out


def rrelu_(input: Tensor, lower: float = 1.0 / 8.0, upper: float = 1.0 / 3.0,
           training: bool = False) -> Tensor:
    """In-place `rrelu`."""
    return rrelu(input, lower, upper, training, True)


def softmin(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    """softmax(−x): weights that favour the smallest entries."""
    require_tensor(input, "softmin")
    if dtype is not None:
        input = input.to(dtype)
    return softmax(-input, dim)


# the Tensor methods torch has among these (x.hardshrink(), x.prelu(w))
METHODS = {"hardshrink": hardshrink, "prelu": prelu}
