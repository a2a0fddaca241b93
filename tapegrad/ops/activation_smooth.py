"""The smooth activations: ``sigmoid``, ``tanh``, ``silu``, ``gelu``, ``elu``, ``softplus``,
``logsigmoid`` (part of the activation family; sigmoid and tanh are rules of `tapegrad.pointwise`).

Each backward is ``g = grad * f'(x)``, and that product is an op of its own (as torch's
``sigmoid_backward``, ``gelu_backward``...). Its two derivatives are what a second
backward needs:

    dg/dgrad = f'(x)           (the same op again, applied to the incoming gradient)
    dg/dx    = grad * f''(x)   (written with tensor ops, so it is differentiable too)

`_SmoothBackward` holds that pattern once; each activation only states f' (on arrays, for
speed) and f'' (with tensor ops).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.ops._tensor_args import require_tensor
from tapegrad.ops._util import as_array, wrap
from tapegrad.ops.comparison import TYPE_NAMES, where
from tapegrad.ops.elementwise import erf_array, exp
from tapegrad.ops.pointwise import sigmoid, tanh
from tapegrad.tensor import Tensor

_SQRT1_2 = math.sqrt(0.5)
_PDF_SCALE = 1 / math.sqrt(2 * math.pi)  # the standard normal density at 0
_TANH_SCALE = math.sqrt(2 / math.pi)  # GELU's tanh approximation
_KAPPA = 0.044715


def float_only(x: Tensor, kernel: str, op: str) -> np.ndarray:
    """torch implements most activations for floating dtypes only (``kernel`` names the
    torch kernel in the error)."""
    require_tensor(x, op)
    if x._data.dtype.kind != "f":
        raise NotImplementedError(
            f"\"{kernel}\" not implemented for '{TYPE_NAMES[x.dtype.name]}'")
    return x._data


def quiet(fn: Any, *arrays: np.ndarray) -> Tensor:
    """Evaluate ``fn`` on arrays without overflow warnings, keeping the first one's dtype."""
    with np.errstate(all="ignore"):
        out = fn(*arrays)
    return wrap(as_array(out, arrays[0].dtype))


def maybe_inplace(fn: Any, input: Tensor, inplace: bool) -> Tensor:  # noqa: A002
    """``fn(input)``, or with ``inplace=True`` its result copied into ``input``.

    The in-place form is recorded as ``fn`` on a clone of the input, then a ``copy_``:
    the backward needs the *old* input, which the copy overwrites, so ``fn`` must save
    the clone. (torch has dedicated in-place kernels that save the result instead.)"""
    if not inplace:
        return fn(input)
    return input.copy_(fn(input.clone()))


# ------------------------------------------------------------------ the pattern
class _SmoothBackward(Function):
    """g = grad * f'(x) for a smooth activation f (see the module docstring)."""

    @staticmethod
    def first(x: np.ndarray, **options: Any) -> np.ndarray:  # f'(x) on arrays
        raise NotImplementedError

    @staticmethod
    def second(x: Tensor, **options: Any) -> Tensor:  # f''(x) with tensor ops
        raise NotImplementedError

    @classmethod
    def forward(cls, ctx: Node, grad: Tensor, x: Tensor, **options: Any) -> Tensor:
        ctx.save_for_backward(grad, x)
        ctx.options = options
        with np.errstate(all="ignore"):
            slope = cls.first(x._data, **options)
        return quiet(np.multiply, grad._data, slope)

    @classmethod
    def backward(cls, ctx: Node, gg: Tensor) -> tuple:
        grad, x = ctx.saved_tensors
        needs_grad, needs_x = ctx.needs_input_grad
        return (cls.apply(gg, x, **ctx.options) if needs_grad else None,
                gg * grad * cls.second(x, **ctx.options) if needs_x else None)


class _Smooth(Function):
    """y = f(x) with the backward ``backward_op.apply(grad, x)``; saves x."""

    backward_op: type[_SmoothBackward]
    kernel = ""

    @classmethod
    def forward(cls, ctx: Node, x: Tensor, **options: Any) -> Tensor:
        d = float_only(x, cls.kernel, ctx.op_name)
        ctx.save_for_backward(x)
        ctx.options = options
        return quiet(lambda a: cls.f(a, **options), d)

    @classmethod
    def backward(cls, ctx: Node, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return cls.backward_op.apply(grad, x, **ctx.options)


# ------------------------------------------------------------------ elu
class EluBackward(_SmoothBackward):
    """f' = 1 for x > 0, alpha e^x for x <= 0 (so alpha at 0);  f'' = alpha e^x for x < 0
    (torch's mask is strict there, so f''(0) = 0)."""

    node_name = "EluBackwardBackward0"
    op_name = "elu_backward"

    @staticmethod
    def first(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
        return np.where(x <= 0, alpha * np.exp(x), 1).astype(x.dtype)

    @staticmethod
    def second(x: Tensor, alpha: float = 1.0) -> Tensor:
        return where(x < 0, alpha * exp(x), 0.0)


class Elu(_Smooth):
    """y = x for x > 0, alpha (e^x - 1) for x <= 0."""

    node_name = "EluBackward0"
    backward_op = EluBackward
    kernel = "elu_cpu"

    @staticmethod
    def f(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
        return np.where(x <= 0, alpha * np.expm1(x), x)


# ------------------------------------------------------------------ softplus
class SoftplusBackward(_SmoothBackward):
    """f' = sigmoid(beta x) (1 where beta x > threshold);  f'' = beta s (1 - s)."""

    node_name = "SoftplusBackwardBackward0"
    op_name = "softplus_backward"

    @staticmethod
    def first(x: np.ndarray, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
        z = np.exp(x * beta)
        return np.where(x * beta > threshold, 1, z / (z + 1)).astype(x.dtype)

    @staticmethod
    def second(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
        s = sigmoid(x * beta)
        return where(x * beta < threshold, s * (1 - s) * beta, 0.0)


class Softplus(_Smooth):
    """y = ln(1 + e^(beta x)) / beta, a smooth relu; linear (y = x) once beta x > threshold."""

    node_name = "SoftplusBackward0"
    backward_op = SoftplusBackward
    kernel = "softplus_cpu"

    @staticmethod
    def f(x: np.ndarray, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
        return np.where(x * beta > threshold, x, np.log1p(np.exp(x * beta)) / beta)


# ------------------------------------------------------------------ gelu
class GeluBackward(_SmoothBackward):
    """Exact: f = x Phi(x), f' = Phi + x phi, f'' = phi (2 - x^2)  (Phi, phi: the standard
    normal cdf and density). 'tanh': f = x/2 (1 + t), t = tanh(k (x + kappa x^3))."""

    node_name = "GeluBackwardBackward0"
    op_name = "gelu_backward"

    @staticmethod
    def first(x: np.ndarray, approximate: str = "none") -> np.ndarray:
        if approximate == "tanh":
            t = np.tanh(_TANH_SCALE * (x + _KAPPA * x * x * x))
            dinner = _TANH_SCALE * (1 + 3 * _KAPPA * x * x)
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dinner
        cdf = 0.5 * (1 + erf_array(x * _SQRT1_2))
        return cdf + x * (_PDF_SCALE * np.exp(-0.5 * x * x))

    @staticmethod
    def second(x: Tensor, approximate: str = "none") -> Tensor:
        if approximate == "tanh":
            t = tanh(_TANH_SCALE * (x + _KAPPA * x * x * x))
            s2 = 1 - t * t  # sech^2 of the inner argument
            h = _TANH_SCALE * (1 + 3 * _KAPPA * x * x)  # the inner argument's derivative
            return s2 * h - x * t * s2 * h * h + 3 * _KAPPA * _TANH_SCALE * x * x * s2
        pdf = _PDF_SCALE * exp(-0.5 * x * x)
        return pdf * (2 - x * x)


class Gelu(_Smooth):
    """y = x Phi(x): x weighted by how likely a standard normal is below it."""

    node_name = "GeluBackward0"
    backward_op = GeluBackward
    kernel = "GeluKernelImpl"

    @staticmethod
    def f(x: np.ndarray, approximate: str = "none") -> np.ndarray:
        if approximate == "tanh":
            return 0.5 * x * (1 + np.tanh(_TANH_SCALE * (x + _KAPPA * x * x * x)))
        return x * 0.5 * (1 + erf_array(x * _SQRT1_2))


# ------------------------------------------------------------------ logsigmoid
class LogSigmoidBackward(_SmoothBackward):
    """f' = 1 - sigmoid(x) = sigmoid(-x) (computed without overflow);  f'' = s (s - 1)."""

    node_name = "LogSigmoidBackwardBackward0"
    op_name = "log_sigmoid_backward"

    @staticmethod
    def first(x: np.ndarray) -> np.ndarray:
        z = np.exp(-np.abs(x))
        return np.where(x < 0, 1 - z / (1 + z), z / (1 + z)).astype(x.dtype)

    @staticmethod
    def second(x: Tensor) -> Tensor:
        s = sigmoid(x)
        return (s - 1) * s


class LogSigmoid(_Smooth):
    """y = ln sigmoid(x) = min(x, 0) - ln(1 + e^-|x|), stable for large |x|."""

    node_name = "LogSigmoidBackward0"
    backward_op = LogSigmoidBackward
    kernel = "log_sigmoid_cpu"

    @staticmethod
    def f(x: np.ndarray) -> np.ndarray:
        return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


# ------------------------------------------------------------------ silu
class Silu(Function):
    """y = x sigmoid(x).  dy/dx = s (1 + x (1 - s)), written with tensor ops (as torch
    does when a graph is built), so it is differentiable any number of times."""

    node_name = "SiluBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return quiet(lambda d: d / (1 + np.exp(-d)), float_only(x, "silu_cpu", "silu"))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        s = sigmoid(x)
        return grad * s * (1 + x * (1 - s))


def silu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """x * sigmoid(x) (also called swish)."""
    return maybe_inplace(Silu.apply, input, inplace)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:  # noqa: A002
    """x * Phi(x) (``approximate='tanh'``: the tanh formula of the GPT-2 era)."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    if approximate == "none":
        return Gelu.apply(input)
    return Gelu.apply(input, approximate=approximate)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """x for x > 0, alpha (e^x - 1) otherwise; the gradient at 0 is alpha."""
    return maybe_inplace(lambda x: Elu.apply(x, alpha=alpha), input, inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:  # noqa: A002
    """ln(1 + e^(beta x)) / beta, a smooth relu (linear once beta x > threshold)."""
    return Softplus.apply(input, beta=beta, threshold=threshold)


def logsigmoid(input: Tensor) -> Tensor:  # noqa: A002
    """ln sigmoid(x), computed stably."""
    return LogSigmoid.apply(input)


__all__ = ["silu", "gelu", "elu", "softplus", "logsigmoid"]

METHODS: dict = {}
