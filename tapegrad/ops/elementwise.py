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

from typing import Any

import numpy as np

from tapegrad import dtypes, kernels
from tapegrad.autograd.function import Function, Node
from tapegrad.ops import clamp as _clamp_module
from tapegrad.ops import comparison, fill
from tapegrad.ops._util import as_array, wrap
from tapegrad.ops.arithmetic import pow as _pow
from tapegrad.ops.clamp import *  # noqa: F403 - part of this family's public API
from tapegrad.ops.comparison import *  # noqa: F403
from tapegrad.ops.fill import begin_inplace, finish_inplace, zeros_like  # noqa: F401
from tapegrad.ops.pointwise import FUNCTIONS, check_tensor, exp, float_data  # noqa: F401
from tapegrad.tensor import Tensor


def apply_ufunc(fn: Any, data: np.ndarray) -> Tensor:
    """Run a numpy function quietly (log(-1) is nan, not a warning) and keep the dtype."""
    with np.errstate(all="ignore"):
        out = fn(data)
    return wrap(as_array(out, data.dtype))


def erf_array(data: np.ndarray) -> np.ndarray:
    """erf of an array, on its device (GELU's exact form uses it)."""
    return as_array(kernels.on(data).erf(data), data.dtype)


class RoundDecimals(Function):
    """Round to ``decimals`` places: a step function, so its gradient is 0."""

    node_name = "RoundBackward1"
    op_name = "round"

    @staticmethod
    def forward(ctx: Node, x: Tensor, decimals: int = 0) -> Tensor:
        return apply_ufunc(lambda d: np.round(d, decimals), x._data)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return zeros_like(grad)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001, A002
    """Round to ``decimals`` places, halves to even (zero gradient)."""
    check_tensor(input, "round")
    if decimals == 0:
        return FUNCTIONS["round"].apply(input)
    return RoundDecimals.apply(input, decimals=decimals)


def square(input: Tensor) -> Tensor:  # noqa: A002
    """``x ** 2`` (recorded as a pow, as torch does: ``PowBackward0``)."""
    check_tensor(input, "square")
    if input.dtype is dtypes.bool_:
        input = input.to(dtypes.int64)  # torch squares bools as integers
    return _pow(input, 2)


__all__ = ["round", "square", *comparison.__all__, *_clamp_module.__all__]

# Tensor methods this family provides (installed by tapegrad.ops); the maths of exp, log,
# sin... comes from `tapegrad.ops.pointwise`.
METHODS = {"round": round, "square": square, **comparison.METHODS, **_clamp_module.METHODS,
           **fill.METHODS}
