"""``maximum``, ``minimum`` and ``clamp`` (part of the elementwise family).

All three pick, element by element, one of their operands, so their backward is a
`where` that routes the gradient to the operand that was picked. They have kinks where
the pick changes; torch's conventions there are ours:

* ``maximum(a, b)`` / ``minimum(a, b)`` on a tie: each operand gets *half* the gradient;
* ``clamp(x, min, max)``: x gets the gradient on the *closed* interval
  ``min <= x <= max``; tensor bounds get it where they won (``x < min`` / ``x > max``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad import dtypes
from tapegrad.autograd.function import Function, Node
from tapegrad.ops._util import as_array, broadcast_shapes, data_of, promoted, wrap
from tapegrad.ops.comparison import Where, binary_numpy, eq, gt, lt, where
from tapegrad.ops.fill import begin_inplace, finish_inplace
from tapegrad.tensor import Tensor


class Maximum(Function):
    """y = max(a, b) elementwise. The larger one gets the gradient; on a tie each gets
    half (torch's choice: the average of the two one-sided derivatives)."""

    caption = ('{g} where {x0} is the larger, 0 elsewhere (ties share) : {s0}',)

    @staticmethod
    def forward(ctx: Node, a: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(a, b)
        return binary_numpy(np.maximum, a, b)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        a, b = ctx.saved_tensors
        return _tie_split(ctx, grad, a, b, lt(a, b), gt(a, b))


class Minimum(Function):
    """y = min(a, b) elementwise; ties split the gradient in half, as in `Maximum`."""

    caption = ('{g} where {x0} is the smaller, 0 elsewhere (ties share) : {s0}',)

    @staticmethod
    def forward(ctx: Node, a: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(a, b)
        return binary_numpy(np.minimum, a, b)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        a, b = ctx.saved_tensors
        return _tie_split(ctx, grad, a, b, gt(a, b), lt(a, b))


def _tie_split(ctx: Node, grad: Tensor, a: Tensor, b: Tensor, a_loses: Tensor,
               b_loses: Tensor) -> tuple:
    """torch's formula: ``where(a == b, grad / 2, grad)``, then zero where the operand lost.
    (With a nan both 'win': nan propagates, and so does the gradient.)"""
    shared = where(eq(a, b), grad / 2, grad)
    needs_a, needs_b = ctx.needs_input_grad
    return (where(a_loses, 0.0, shared) if needs_a else None,
            where(b_loses, 0.0, shared) if needs_b else None)


def _need_tensors(name: str, a: Any, b: Any) -> None:
    for pos, (arg, v) in enumerate((("input", a), ("other", b)), start=1):
        if not isinstance(v, Tensor):
            raise TypeError(f"{name}(): argument '{arg}' (position {pos}) must be Tensor, "
                            f"not {type(v).__name__}")


def maximum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise max of two tensors (broadcast); ties split the gradient 1/2, 1/2."""
    _need_tensors("maximum", input, other)
    return Maximum.apply(input, other)


def minimum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise min of two tensors (broadcast); ties split the gradient 1/2, 1/2."""
    _need_tensors("minimum", input, other)
    return Minimum.apply(input, other)


# ------------------------------------------------------------------ clamp
def _clamp_values(x: Tensor, lo: Any, hi: Any) -> np.ndarray:
    """min(max(x, lo), hi) in torch's promoted dtype; nan in x (or a bound) stays nan."""
    operands = [v for v in (x, lo, hi) if v is not None]
    out_dtype, arrays = promoted(*operands)
    out = arrays[0]
    if lo is not None:
        out = np.maximum(out, arrays[1])
    if hi is not None:
        out = np.minimum(out, arrays[-1])
    return as_array(out, out_dtype.numpy)


def _clamp_grads(ctx: Node, grad: Tensor, xd: np.ndarray, lo: Any, hi: Any) -> tuple:
    """Gradients of clamp(x, lo, hi) w.r.t. x, lo, hi (torch's masks, inclusive for x).

    x passes the gradient where lo <= x <= hi; a tensor bound gets it where it won:
    lo where x < lo (unless lo > hi: then hi wins everywhere), hi where x > hi."""
    ld, hd = data_of(lo), data_of(hi)
    needs = ctx.needs_input_grad + (False,) * (3 - len(ctx.needs_input_grad))
    masks: list[Any] = [None, None, None]
    with np.errstate(invalid="ignore"):
        if lo is not None and hi is not None:
            masks[0] = (xd >= ld) & (xd <= hd)
            masks[1] = (xd < ld) & (ld < hd)
            masks[2] = (xd > hd) | (hd < ld)
        elif lo is not None:
            masks[0], masks[1] = xd >= ld, xd < ld
        else:
            masks[0], masks[2] = xd <= hd, xd > hd
    return tuple(
        Where.apply(wrap(as_array(m, np.bool_)), grad, 0.0) if need and m is not None else None
        for need, m in zip(needs, masks, strict=True)
    )


class Clamp(Function):
    """y = min(max(x, min), max) with number bounds: dy/dx = 1 on [min, max] (closed), else 0."""

    caption = ('{g} inside [min, max], 0 where clamped : {s0}',)
    node_name = "ClampBackward1"

    @staticmethod
    def forward(ctx: Node, x: Tensor, min: Any = None, max: Any = None) -> Tensor:
        ctx.save_for_backward(x)
        ctx.bounds = (min, max)
        return wrap(_clamp_values(x, min, max))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return _clamp_grads(ctx, grad, x._data, *ctx.bounds)[0]


class ClampMin(Clamp):
    caption = ('{g} above min, 0 where clamped : {s0}',)
    op_name = "clamp_min"


class ClampMax(Clamp):
    caption = ('{g} below max, 0 where clamped : {s0}',)
    op_name = "clamp_max"


class ClampTensor(Function):
    """clamp with tensor bounds (broadcast): the bounds receive gradient where they won."""

    caption = Clamp.caption
    node_name = "ClampBackward0"
    op_name = "clamp"

    @staticmethod
    def forward(ctx: Node, x: Tensor, lo: Tensor | None, hi: Tensor | None) -> Tensor:
        ctx.save_for_backward(x, lo, hi)
        return wrap(_clamp_values(x, lo, hi))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        x, lo, hi = ctx.saved_tensors
        return _clamp_grads(ctx, grad, x._data, lo, hi)


class ClampMinTensor(ClampTensor):
    caption = ClampMin.caption
    node_name = "ClampMinBackward1"
    op_name = "clamp_min"


class ClampMaxTensor(ClampTensor):
    caption = ClampMax.caption
    node_name = "ClampMaxBackward1"
    op_name = "clamp_max"


class ClampInplace(Function):
    """x.clamp_(min, max). The masks need the values *before* the write: keep a copy."""

    node_name = "ClampBackward1"
    op_name = "clamp_"

    @staticmethod
    def forward(ctx: Node, x: Tensor, lo: Tensor | None = None, hi: Tensor | None = None,
                min: Any = None, max: Any = None) -> Tensor:
        lo = lo if lo is not None else min
        hi = hi if hi is not None else max
        out = _clamp_values(x, lo, hi)
        if not np.can_cast(out.dtype, x._data.dtype, "same_kind"):
            result = dtypes.from_numpy(out.dtype).scalar_type
            raise RuntimeError(f"result type {result} can't be cast to the desired output "
                               f"type {x.dtype.scalar_type}")
        ctx.original, ctx.bounds = None, (lo, hi)
        if any(ctx.needs_input_grad):
            ctx.original = x._data.copy()
        np.copyto(x._data, out, casting="unsafe")
        return finish_inplace(ctx, x)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        return _clamp_grads(ctx, grad, ctx.original, *ctx.bounds)


class ClampInplaceTensor(ClampInplace):
    caption = ('{g} inside [min, max], 0 where clamped : {s0}',)
    node_name = "ClampBackward0"


def _clamp_kind(lo: Any, hi: Any) -> bool:
    """True for tensor bounds, False for numbers; torch refuses a mix and no bounds."""
    if lo is None and hi is None:
        raise RuntimeError("tapegrad.clamp: At least one of 'min' or 'max' must not be None")
    kinds = {isinstance(v, Tensor) for v in (lo, hi) if v is not None}
    if len(kinds) > 1:
        raise TypeError("clamp() received an invalid combination of arguments: min and max "
                        "must both be Tensors or both be numbers")
    return kinds.pop()


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Limit every element to ``[min, max]`` (numbers or broadcastable tensors).
    The gradient passes where min <= x <= max, boundaries included."""
    if _clamp_kind(min, max):
        return ClampTensor.apply(input, min, max)
    return Clamp.apply(input, min=min, max=max)


def clamp_min(input: Tensor, min: Any) -> Tensor:
    """``max(x, min)``; the gradient passes where x >= min."""
    if isinstance(min, Tensor):
        return ClampMinTensor.apply(input, min, None)
    return ClampMin.apply(input, min=min)


def clamp_max(input: Tensor, max: Any) -> Tensor:
    """``min(x, max)``; the gradient passes where x <= max."""
    if isinstance(max, Tensor):
        return ClampMaxTensor.apply(input, None, max)
    return ClampMax.apply(input, max=max)


def clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """In-place `clamp`: modifies self, bumps its version, returns self."""
    tensors = _clamp_kind(min, max)
    shapes = [np.shape(data_of(v)) for v in (self, min, max) if v is not None]
    begin_inplace(self, broadcast_shapes(*shapes))
    if tensors:
        return ClampInplaceTensor.apply(self, min, max)
    return ClampInplace.apply(self, min=min, max=max)


clip, clip_ = clamp, clamp_

__all__ = ["maximum", "minimum", "clamp", "clamp_min", "clamp_max", "clip"]

METHODS = {
    "maximum": maximum, "minimum": minimum, "clamp": clamp, "clamp_min": clamp_min,
    "clamp_max": clamp_max, "clip": clamp, "clamp_": clamp_, "clip_": clamp_,
}
