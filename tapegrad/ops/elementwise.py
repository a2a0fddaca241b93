"""Elementwise helpers and the two elementwise ops that are not a plain rule.

The elementwise maths itself (``exp``, ``log``, ``sin``, ``tanh``... with their derivatives)
is defined once in `tapegrad.pointwise` and made into ops by `tapegrad.ops.pointwise`. Here:
``round(x, decimals=...)`` (a step function: zero gradient), ``square`` (recorded as a
``pow``, as torch does), and the helpers the other elementwise families share. Comparisons,
logic and ``where`` are in `tapegrad.ops.comparison`; ``maximum``, ``minimum`` and ``clamp``
in `tapegrad.ops.clamp`; ``zero_``, ``fill_`` and ``copy_`` in `tapegrad.ops.fill`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad import dtypes
from tapegrad.autograd.function import Function, Node
from tapegrad.ops._util import as_array, wrap
from tapegrad.ops.arithmetic import pow as _pow
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.ops.fill import zeros_like
from tapegrad.ops.pointwise import FUNCTIONS
from tapegrad.tensor import Tensor


def apply_ufunc(fn: Any, data: np.ndarray) -> Tensor:
    """Run a numpy function quietly (log(-1) is nan, not a warning) and keep the dtype."""
    with np.errstate(all="ignore"):
        out = fn(data)
    return wrap(as_array(out, data.dtype))


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


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round to ``decimals`` places, halves to even (zero gradient)."""
    require_tensor(input, "round")
    if decimals == 0:
        return FUNCTIONS["round"].apply(input)
    return RoundDecimals.apply(input, decimals=decimals)


def square(input: Tensor) -> Tensor:
    """``x ** 2`` (recorded as a pow, as torch does: ``PowBackward0``)."""
    require_tensor(input, "square")
    if input.dtype is dtypes.bool_:
        input = input.to(dtypes.int64)  # torch squares bools as integers
    return _pow(input, 2)


__all__ = ["round", "square"]

# Tensor methods this family provides (installed by tapegrad.ops); the maths of exp, log,
# sin... comes from `tapegrad.ops.pointwise`.
METHODS = {"round": round, "square": square}
