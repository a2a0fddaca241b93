"""Elementwise helpers and the elementwise ops that are not a plain rule.

The elementwise maths itself (``exp``, ``log``, ``sin``, ``tanh``... with their derivatives)
is defined once in `tapegrad.pointwise` and made into ops by `tapegrad.ops.pointwise`. Here:
``round(x, decimals=...)`` (a step function: zero gradient), ``square`` (recorded as a
``pow``, as torch does), ``frexp`` (two outputs), ``nan_to_num`` (options), the parts of a
complex number for real tensors (``real``, ``conj``, ``angle``...: identities or steps,
since tapegrad's dtypes are real), and the helpers the other elementwise families share.
Comparisons, logic and ``where`` are in `tapegrad.ops.comparison`; ``maximum``, ``minimum``
and ``clamp`` in `tapegrad.ops.clamp`; ``zero_``, ``fill_`` and ``copy_`` in `tapegrad.ops.fill`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad import dtypes
from tapegrad.autograd.function import Function, Node
from tapegrad.ops._util import as_array, wrap
from tapegrad.ops.arithmetic import pow as _pow
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.ops.comparison import isfinite, where
from tapegrad.ops.fill import zeros_like
from tapegrad.ops.pointwise import FUNCTIONS
from tapegrad.ops.shape import clone
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


class Frexp(Function):
    """x = mantissa · 2^exponent with |mantissa| in [0.5, 1): the mantissa's gradient is
    grad / 2^exponent (the exponent, an integer, has none)."""

    caption = ('{g} / 2^exponent (the mantissa scales x by that) : {s0}',)

    node_name = "FrexpBackward0"
    op_name = "frexp"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> tuple:
        mantissa, exponent = np.frexp(x._data)
        ctx.scale = np.exp2(exponent.astype(x._data.dtype))
        exponent_t = wrap(exponent.astype(np.int32))
        ctx.mark_non_differentiable(exponent_t)
        return wrap(mantissa), exponent_t

    @staticmethod
    def backward(ctx: Node, grad: Tensor, grad_exponent: Any) -> Tensor:
        return grad / Tensor._from_array(ctx.scale)


def frexp(input: Tensor) -> tuple[Tensor, Tensor]:
    """(mantissa, exponent) with input = mantissa · 2^exponent, |mantissa| in [0.5, 1)
    (0 for 0; inf and nan keep themselves with exponent 0)."""
    require_tensor(input, "frexp")
    if not input.is_floating_point():
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    return Frexp.apply(input)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """NaN, +inf and −inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default 0 and
    the dtype's largest and smallest finite values). The gradient passes where the element
    was finite and is 0 where it was replaced."""
    require_tensor(input, "nan_to_num")
    d = input._data
    if d.dtype.kind != "f":
        return clone(input)
    replaced = np.nan_to_num(d, nan=nan, posinf=posinf, neginf=neginf)
    return where(isfinite(input), input, Tensor._from_array(np.asarray(replaced, d.dtype)))


def nan_to_num_(input: Tensor, nan: float = 0.0, posinf: float | None = None,
                neginf: float | None = None) -> Tensor:
    """In-place `nan_to_num`."""
    return input.copy_(nan_to_num(input.clone(), nan, posinf, neginf))


# ------------------------------------------------------------------ complex parts, real tensors
def real(input: Tensor) -> Tensor:
    """The real part: a real tensor is its own real part (the same tensor, as in torch)."""
    require_tensor(input, "real")
    return input


def conj(input: Tensor) -> Tensor:
    """The complex conjugate: a real tensor is its own (the same tensor)."""
    require_tensor(input, "conj")
    return input


def resolve_conj(input: Tensor) -> Tensor:
    """Materialise a lazy conjugation: nothing to do for a real tensor."""
    require_tensor(input, "resolve_conj")
    return input


def resolve_neg(input: Tensor) -> Tensor:
    """Materialise a lazy negation: nothing to do for a real tensor."""
    require_tensor(input, "resolve_neg")
    return input


def conj_physical(input: Tensor) -> Tensor:
    """The conjugate as a new tensor: for a real tensor, a copy."""
    require_tensor(input, "conj_physical")
    return clone(input)


class Angle(Function):
    """The argument of x in the complex plane: 0 for x ≥ 0, π for x < 0 (NaN stays NaN);
    a step function, so its gradient is 0."""

    caption = ('0 (the angle of a real number is a step) : {s0}',)

    node_name = "AngleBackward0"
    op_name = "angle"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        d = x._data
        if d.dtype.kind != "f":
            d = d.astype(dtypes.get_default_dtype().numpy)
        out = np.where(d < 0, d.dtype.type(np.pi), d.dtype.type(0))
        return wrap(np.where(np.isnan(d), d, out))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return zeros_like(grad)


def angle(input: Tensor) -> Tensor:
    """0 for x ≥ 0 and π for x < 0: a real number's angle in the complex plane."""
    require_tensor(input, "angle")
    return Angle.apply(input)


def _is_inference(self: Tensor) -> bool:
    """True for a tensor made in inference mode (it can never join a graph)."""
    return bool(self._is_inference)


__all__ = ["round", "square", "frexp", "nan_to_num", "nan_to_num_", "real", "conj",
           "resolve_conj", "resolve_neg", "conj_physical", "angle"]

# Tensor methods this family provides (installed by tapegrad.ops); the maths of exp, log,
# sin... comes from `tapegrad.ops.pointwise`.
METHODS = {"round": round, "square": square, "frexp": frexp, "nan_to_num": nan_to_num,
           "nan_to_num_": nan_to_num_, "conj": conj, "resolve_conj": resolve_conj,
           "resolve_neg": resolve_neg, "conj_physical": conj_physical, "angle": angle,
           "is_inference": _is_inference, "real": property(real)}
