"""Elementwise maths: ``exp``, ``log``, ``sqrt``, ``sin``... and the in-place fills.

Every op here maps each element on its own, so its Jacobian is *diagonal*: the backward
is just ``grad * f'(x)``, elementwise. Which value the backward needs decides what the
forward saves. For ``exp`` the derivative is the output itself (``d e^x/dx = e^x``), so
``Exp`` saves its output; ``sin`` needs its input (``d sin x/dx = cos x``).

The backwards are written with tensor ops (``grad * y``), so they are recorded too when a
graph of the backward is asked for (``create_graph=True``): that is how second
derivatives come for free.

Functions with a kink follow torch's conventions (see docs, "gradients at kinks"):
``abs'(0) = 0``; ``floor``, ``ceil``, ``round`` and ``sign`` have gradient 0 everywhere;
``sqrt'(0) = inf``. The rest of the family lives beside this module and is re-exported
here: comparisons, logic and ``where`` (`tapegrad.ops.comparison`), ``maximum``,
``minimum`` and ``clamp`` (`tapegrad.ops.clamp`), ``zero_``, ``fill_``, ``copy_``
(`tapegrad.ops.fill`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapegrad import dtypes
from tapegrad.autograd.function import Function, Node
from tapegrad.ops import clamp as _clamp_module
from tapegrad.ops import comparison, fill
from tapegrad.ops._tensor_args import require_tensor
from tapegrad.ops._util import as_array, wrap
from tapegrad.ops.arithmetic import pow as _pow
from tapegrad.ops.clamp import *  # noqa: F403 - part of this family's public API
from tapegrad.ops.comparison import *  # noqa: F403
from tapegrad.ops.fill import begin_inplace, finish_inplace, zeros_like  # noqa: F401
from tapegrad.tensor import Tensor


def check_tensor(x: Any, op: str) -> None:
    """torch's TypeError when a function that needs a tensor gets something else."""
    require_tensor(x, op)


def float_data(x: Tensor) -> np.ndarray:
    """``x``'s array, with integer and bool inputs cast to the default float dtype
    (``exp`` of an int64 tensor is float32 in torch, as it is here)."""
    d = x._data
    if d.dtype.kind != "f":
        d = d.astype(dtypes.get_default_dtype().numpy)
    return d


def apply_ufunc(fn: Any, data: np.ndarray) -> Tensor:
    """Run a numpy function quietly (log(-1) is nan, not a warning) and keep the dtype."""
    with np.errstate(all="ignore"):
        out = fn(data)
    return wrap(as_array(out, data.dtype))


# ----------------------------------------------------------------------------------- erf
# numpy has no erf. The libm one through frompyfunc is exact to the last bit (torch also
# calls libm), at ~0.1 us per element; a numba kernel is used instead when one exists.
_erf_scalar = np.frompyfunc(math.erf, 1, 1)


def erf_array(data: np.ndarray) -> np.ndarray:
    from tapegrad import kernels

    kernel = getattr(kernels.on(data), "erf", None)
    if kernel is not None:
        return as_array(kernel(data), data.dtype)
    return np.asarray(_erf_scalar(data), dtype=data.dtype)


# ------------------------------------------------------------------ unary maths
class Exp(Function):
    """y = e^x.   dy/dx = e^x = y: the backward reuses the saved *output*."""

    node_name = "ExpBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        y = apply_ufunc(np.exp, float_data(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        (y,) = ctx.saved_tensors
        return grad * y


class Log(Function):
    """y = ln x.   dy/dx = 1/x (inf at 0, nan below: log is undefined there)."""

    node_name = "LogBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return apply_ufunc(np.log, float_data(x))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad / x


class Log1p(Function):
    """y = ln(1 + x), accurate for tiny x.   dy/dx = 1/(1 + x)."""

    node_name = "Log1PBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return apply_ufunc(np.log1p, float_data(x))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad / (x + 1)


class Sqrt(Function):
    """y = sqrt(x).   dy/dx = 1/(2 sqrt x) = 1/(2y): inf at x = 0, as in torch."""

    node_name = "SqrtBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        y = apply_ufunc(np.sqrt, float_data(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        (y,) = ctx.saved_tensors
        return grad / (2 * y)


class Rsqrt(Function):
    """y = x^(-1/2).   dy/dx = -1/2 x^(-3/2) = -y^3 / 2."""

    node_name = "RsqrtBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        y = apply_ufunc(lambda d: 1 / np.sqrt(d), float_data(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        (y,) = ctx.saved_tensors
        return -0.5 * grad * y ** 3


class Sin(Function):
    """y = sin x.   dy/dx = cos x."""

    node_name = "SinBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return apply_ufunc(np.sin, float_data(x))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad * cos(x)


class Cos(Function):
    """y = cos x.   dy/dx = -sin x."""

    node_name = "CosBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return apply_ufunc(np.cos, float_data(x))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad * -sin(x)


class Reciprocal(Function):
    """y = 1/x.   dy/dx = -1/x^2 = -y^2."""

    node_name = "ReciprocalBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        y = apply_ufunc(np.reciprocal, float_data(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        (y,) = ctx.saved_tensors
        return -grad * (y * y)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class Erf(Function):
    """y = erf x = 2/sqrt(pi) * integral_0^x e^(-t^2) dt.   dy/dx = 2/sqrt(pi) e^(-x^2)."""

    node_name = "ErfBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return wrap(erf_array(float_data(x)))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return _TWO_OVER_SQRT_PI * exp(-(x * x)) * grad


class Abs(Function):
    """y = |x|.   dy/dx = sign(x), which is 0 at x = 0 (the min-norm subgradient: torch's
    choice, so a gradient step never moves a value that sits exactly at the kink)."""

    node_name = "AbsBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        if x.dtype is dtypes.bool_:
            raise NotImplementedError("\"abs_cpu\" not implemented for 'Bool'")
        ctx.save_for_backward(x)
        return wrap(as_array(np.abs(x._data), x._data.dtype))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad * sign(x)


class _StepFunction(Function):
    """A piecewise-constant function: its derivative is 0 wherever it exists, and torch
    uses 0 at the jumps too. The forward keeps integer dtypes (floor of an int is itself)."""

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return zeros_like(grad)


class Sign(_StepFunction):
    """y = -1, 0 or 1.  Computed as (x > 0) - (x < 0), so sign(nan) = 0 as in torch."""

    node_name = "SignBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        d = x._data
        if d.dtype == np.bool_:
            return wrap(d.copy())
        return wrap(as_array((d > 0).astype(d.dtype) - (d < 0).astype(d.dtype), d.dtype))


class Floor(_StepFunction):
    node_name = "FloorBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        return wrap(x._data.copy()) if x._data.dtype.kind != "f" else apply_ufunc(np.floor,
                                                                                  x._data)


class Ceil(_StepFunction):
    node_name = "CeilBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        return wrap(x._data.copy()) if x._data.dtype.kind != "f" else apply_ufunc(np.ceil,
                                                                                  x._data)


class Round(_StepFunction):
    """Round half to even (``round(2.5) == 2``), like torch and numpy."""

    node_name = "RoundBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        return wrap(x._data.copy()) if x._data.dtype.kind != "f" else apply_ufunc(np.rint,
                                                                                  x._data)


class RoundDecimals(_StepFunction):
    node_name = "RoundBackward1"
    op_name = "round"

    @staticmethod
    def forward(ctx: Node, x: Tensor, decimals: int = 0) -> Tensor:
        return apply_ufunc(lambda d: np.round(d, decimals), x._data)


def _unary(cls: type[Function], name: str, doc: str):
    def op(input: Tensor) -> Tensor:  # noqa: A002 - torch's argument name
        check_tensor(input, name)
        return cls.apply(input)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


exp = _unary(Exp, "exp", "e to the power of each element.")
log = _unary(Log, "log", "Natural logarithm of each element (nan below 0, -inf at 0).")
log1p = _unary(Log1p, "log1p", "ln(1 + x), accurate for small x.")
sqrt = _unary(Sqrt, "sqrt", "Square root of each element (its gradient at 0 is inf).")
rsqrt = _unary(Rsqrt, "rsqrt", "1 / sqrt(x) of each element.")
sin = _unary(Sin, "sin", "Sine of each element (radians).")
cos = _unary(Cos, "cos", "Cosine of each element (radians).")
reciprocal = _unary(Reciprocal, "reciprocal", "1 / x of each element.")
erf = _unary(Erf, "erf", "The error function (used by the exact GELU).")
abs = _unary(Abs, "abs", "|x| of each element; its gradient at 0 is 0.")  # noqa: A001
sign = _unary(Sign, "sign", "-1, 0 or 1 for each element (zero gradient).")
floor = _unary(Floor, "floor", "Largest integer <= x (zero gradient).")
ceil = _unary(Ceil, "ceil", "Smallest integer >= x (zero gradient).")
absolute = abs


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001, A002
    """Round to ``decimals`` places, halves to even (zero gradient)."""
    check_tensor(input, "round")
    if decimals == 0:
        return Round.apply(input)
    return RoundDecimals.apply(input, decimals=decimals)


def square(input: Tensor) -> Tensor:  # noqa: A002
    """``x ** 2`` (recorded as a pow, as torch does: ``PowBackward0``)."""
    check_tensor(input, "square")
    if input.dtype is dtypes.bool_:
        input = input.to(dtypes.int64)  # torch squares bools as integers
    return _pow(input, 2)


__all__ = ["exp", "log", "log1p", "sqrt", "rsqrt", "sin", "cos", "reciprocal", "erf", "abs",
           "absolute", "sign", "floor", "ceil", "round", "square", *comparison.__all__,
           *_clamp_module.__all__]

# Tensor methods this family provides (installed by tapegrad.ops).
METHODS = {
    "exp": exp, "log": log, "log1p": log1p, "sqrt": sqrt, "rsqrt": rsqrt, "sin": sin,
    "cos": cos, "reciprocal": reciprocal, "erf": erf, "abs": abs, "absolute": abs,
    "__abs__": abs, "sign": sign, "floor": floor, "ceil": ceil, "round": round,
    "square": square, **comparison.METHODS, **_clamp_module.METHODS, **fill.METHODS,
}
