"""Binary arithmetic: ``+ - * / **`` with broadcasting, type promotion and in-place forms.

Each op is a `Function` whose forward and backward sit side by side. The backward
returns the gradient *as if no broadcasting happened* (the output's shape); the engine
sums it back to each input's shape (``sum_to_size``), exactly once, in one place.

    z = x * y        dz/dx = y,   dz/dy = x
    z = x / y        dz/dx = 1/y, dz/dy = -x/y^2
    z = x ** y       dz/dx = y x^(y-1),  dz/dy = x^y log x
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad import dtypes
from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.grad_mode import no_grad
from tapegrad.ops._util import as_array, broadcast_shapes, check_inplace, is_array, promoted, wrap
from tapegrad.ops.comparison import where
from tapegrad.tensor import Tensor


def _binary_forward(np_op, a: Any, b: Any, true_division: bool = False) -> Tensor:
    out_dtype, (x, y) = promoted(a, b)
    if true_division and not out_dtype.is_floating_point:
        # int / int is true division giving the default float dtype, as in torch
        out_dtype = dtypes.get_default_dtype()
        x, y = as_array(x, out_dtype.numpy), as_array(y, out_dtype.numpy)
    try:
        # IEEE results without numpy's RuntimeWarnings, as torch: inf - inf and 0 * inf
        # are nan, 1/0 is inf, overflow is inf
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            result = np_op(x, y)
    except ValueError:
        broadcast_shapes(np.shape(x), np.shape(y))  # raises torch's message
        raise
    if not is_array(result) or result.dtype != out_dtype.numpy:
        result = as_array(result, out_dtype.numpy)
    return wrap(result)


def _save_operands(ctx: Node, a: Any, b: Any, *more: Tensor, keep_a: bool = True,
                   keep_b: bool = True) -> None:
    """Keep what backward will read of a binary op's operands: a tensor operand is saved
    (so an in-place change to it before backward is caught) only when ``keep_*`` says its
    backward needs it; a number is kept as it is. ``more``: extra tensors to save."""
    a_is_tensor, b_is_tensor = isinstance(a, Tensor), isinstance(b, Tensor)
    ctx.save_for_backward(a if a_is_tensor and keep_a else None,
                          b if b_is_tensor and keep_b else None, *more)
    ctx.scalars = (None if a_is_tensor else a, None if b_is_tensor else b)


def _saved_operands(ctx: Node) -> tuple:
    """The operands kept by `_save_operands` (tensor or number; None for a tensor that was
    not needed), then the extra tensors."""
    a, b, *more = ctx.saved_tensors
    return (ctx.scalars[0] if a is None else a, ctx.scalars[1] if b is None else b, *more)


class Add(Function):
    node_name = "AddBackward0"
    op_name = "add"

    @staticmethod
    def forward(ctx: Node, a: Any, b: Any, alpha: float = 1) -> Tensor:
        ctx.alpha = alpha
        if alpha != 1:
            return _binary_forward(lambda x, y: x + alpha * y, a, b)
        return _binary_forward(np.add, a, b)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        ga, gb = ctx.needs_input_grad[:2]
        return (grad if ga else None,
                (grad if ctx.alpha == 1 else grad * ctx.alpha) if gb else None)


class Sub(Function):
    node_name = "SubBackward0"
    op_name = "sub"

    @staticmethod
    def forward(ctx: Node, a: Any, b: Any, alpha: float = 1) -> Tensor:
        ctx.alpha = alpha
        if alpha != 1:
            return _binary_forward(lambda x, y: x - alpha * y, a, b)
        return _binary_forward(np.subtract, a, b)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        ga, gb = ctx.needs_input_grad[:2]
        return (grad if ga else None, (-grad if ctx.alpha == 1 else grad * -ctx.alpha)
                if gb else None)


class Mul(Function):
    node_name = "MulBackward0"
    op_name = "mul"

    @staticmethod
    def forward(ctx: Node, a: Any, b: Any) -> Tensor:
        # d/da needs b and d/db needs a: keep each only if the other needs a gradient
        needs_a, needs_b = ctx.needs_input_grad
        _save_operands(ctx, a, b, keep_a=needs_b, keep_b=needs_a)
        return _binary_forward(np.multiply, a, b)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        a, b = _saved_operands(ctx)
        ga, gb = ctx.needs_input_grad
        return (grad * b if ga else None, grad * a if gb else None)


class Div(Function):
    node_name = "DivBackward0"
    op_name = "div"

    @staticmethod
    def forward(ctx: Node, a: Any, b: Any) -> Tensor:
        # d/da = 1/b needs b; d/db = -a/b^2 needs both
        _save_operands(ctx, a, b, keep_a=ctx.needs_input_grad[1])
        return _binary_forward(np.true_divide, a, b, true_division=True)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        a, b = _saved_operands(ctx)
        ga, gb = ctx.needs_input_grad
        return (grad / b if ga else None, -grad * a / (b * b) if gb else None)


class Pow(Function):
    node_name = "PowBackward0"
    op_name = "pow"

    @staticmethod
    def forward(ctx: Node, a: Any, b: Any) -> Tensor:
        out = _binary_forward(np.power, a, b)
        _save_operands(ctx, a, b, out)
        return out

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        a, b, out = _saved_operands(ctx)
        ga, gb = ctx.needs_input_grad
        grad_a = grad_b = None
        if ga:
            if isinstance(b, (int, float)) and b == 0:
                grad_a = grad * 0.0
            else:
                grad_a = grad * b * a ** (b - 1)
        if gb:
            # torch: d/db a^b = a^b log(a), defined as 0 where a == 0 and b >= 0
            base = a if isinstance(a, Tensor) else Tensor._from_array(
                np.full((), a, dtype=out._data.dtype, like=out._data))
            safe = (base == 0) & (b >= 0) if isinstance(b, Tensor) else base == 0
            grad_b = where(safe, grad * 0.0, grad * out * base.log())
        return grad_a, grad_b


class InplaceBinary(Function):
    """``x.add_(y)`` and friends: modify ``x`` in place and record it as this op's output."""

    node_name = "InplaceBinaryBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor, y: Any, kind: str = "add", alpha: float = 1) -> Tensor:
        ctx.kind, ctx.alpha = kind, alpha
        out_dtype, (_, yd) = promoted(x, y)
        if out_dtype.is_floating_point and not x.dtype.is_floating_point or (
                kind == "div" and not x.dtype.is_floating_point):
            raise RuntimeError(
                f"result type {out_dtype.name.capitalize()} can't be cast to the desired output "
                f"type {x.dtype.name.capitalize()}"
            )
        if kind in ("mul", "div"):
            # the original x is needed for d/dy (a recorded clone: under create_graph its
            # history carries the second-order terms); y for d/dx. ``x.mul_(x)`` saves x as
            # the other factor *before* overwriting it: an alias, so backward sees the
            # write and refuses, as torch does.
            before = _recorded_clone(x) if ctx.needs_input_grad[1] else None
            other = y if isinstance(y, Tensor) else None
            ctx.save_for_backward(before, other._alias() if other is x else other)
            ctx.scalar = y
        np_op = {"add": np.add, "sub": np.subtract, "mul": np.multiply,
                 "div": np.true_divide}[kind]
        if alpha != 1:
            yd = yd * alpha
        np_op(x._data, yd, out=x._data, casting="unsafe")
        x._bump_version()
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        gx, gy = ctx.needs_input_grad[:2]
        kind = ctx.kind
        if kind in ("add", "sub"):
            sign = 1 if kind == "add" else -1
            return grad if gx else None, grad * (sign * ctx.alpha) if gy else None
        x_before, y = ctx.saved_tensors
        y = ctx.scalar if y is None else y
        if kind == "mul":
            return grad * y if gx else None, grad * x_before if gy else None
        return grad / y if gx else None, -grad * x_before / (y * y) if gy else None


# torch names an in-place op's node like the out-of-place op's (``y.mul_(w)`` -> MulBackward0)
_INPLACE = {
    kind: type(f"Inplace{kind.capitalize()}", (InplaceBinary,),
               {"node_name": f"{kind.capitalize()}Backward0", "op_name": f"{kind}_",
                "__module__": __name__})
    for kind in ("add", "sub", "mul", "div")
}


def _recorded_clone(x: Tensor) -> Tensor:
    """``x.clone()`` recorded on the tape even though forwards run with recording off."""
    from tapegrad.autograd.grad_mode import _state

    before = _state.grad_enabled
    _state.grad_enabled = True
    try:
        return x.clone()
    finally:
        _state.grad_enabled = before


def _inplace(kind: str):
    def method(self: Tensor, other: Any, *, alpha: float = 1) -> Tensor:
        shape = self._data.shape
        other_shape = other._data.shape if isinstance(other, Tensor) else ()
        check_inplace(self, broadcast_shapes(shape, other_shape), other)
        return _INPLACE[kind].apply(self, other, kind=kind, alpha=alpha)

    method.__name__ = f"{kind}_"
    method.__doc__ = f"In-place ``{kind}``: modifies self, bumps its version, returns self."
    return method


add_ = _inplace("add")
sub_ = _inplace("sub")
mul_ = _inplace("mul")
div_ = _inplace("div")


def add(a: Any, b: Any, *, alpha: float = 1) -> Tensor:
    """``a + alpha * b`` with broadcasting."""
    return Add.apply(a, b, alpha=alpha) if alpha != 1 else Add.apply(a, b)


def sub(a: Any, b: Any, *, alpha: float = 1) -> Tensor:
    """``a - alpha * b`` with broadcasting."""
    return Sub.apply(a, b, alpha=alpha) if alpha != 1 else Sub.apply(a, b)


def mul(a: Any, b: Any) -> Tensor:
    return Mul.apply(a, b)


def div(a: Any, b: Any, *, rounding_mode: str | None = None) -> Tensor:
    """``a / b``; ``rounding_mode='floor'`` or ``'trunc'`` rounds the quotient (then the
    result keeps the operands' dtype: int // int is int, as in torch)."""
    if rounding_mode is None:
        return Div.apply(a, b)
    if rounding_mode not in ("floor", "trunc"):
        raise RuntimeError("div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found '{rounding_mode}'")
    operands = [v._data if isinstance(v, Tensor) else v for v in (a, b)]
    if all(isinstance(v, (np.ndarray, int, float, np.generic)) for v in operands):
        return _rounded_div(a, b, rounding_mode)
    with no_grad():  # floor/trunc division has zero gradient almost everywhere
        q = Div.apply(a, b)
        data = np.floor(q._data) if rounding_mode == "floor" else np.trunc(q._data)
    return wrap(data.astype(q._data.dtype))


def _rounded_div(a: Any, b: Any, rounding_mode: str) -> Tensor:
    """Floor division as Python's ``//`` computes it (from the remainder, so
    ``-0.25 // -0.001`` is 249, not the 250 that ``floor(-0.25 / -0.001)`` rounds to), and
    truncation toward zero; integers stay integers. Zero gradient: a constant result."""
    dt, (x, y) = promoted(a, b)
    if not dt.is_floating_point and np.any(np.asarray(y) == 0):
        raise RuntimeError("ZeroDivisionError")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if rounding_mode == "floor":
            data = np.floor_divide(x, y)
        elif dt.is_floating_point:
            data = np.trunc(np.true_divide(x, y))
        else:  # exact integer truncation: floor, plus one where the signs differ and it's inexact
            data = np.floor_divide(x, y)
            data = data + ((np.remainder(x, y) != 0) & ((np.asarray(x) < 0) != (np.asarray(y) < 0)))
    return wrap(np.asarray(data, dtype=dt.numpy))


def floor_divide(a: Any, b: Any) -> Tensor:
    """``a // b``: the quotient rounded down (`div` with ``rounding_mode='floor'``)."""
    return div(a, b, rounding_mode="floor")


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001 - torch's name
    return Pow.apply(a, b)


def rsub(a: Any, b: Any, *, alpha: float = 1) -> Tensor:
    """``b - alpha * a``: `sub` with its operands swapped."""
    return sub(b, a, alpha=alpha)


def _reflected(fn):
    def method(self: Tensor, other: Any) -> Tensor:
        return fn(other, self)

    return method


def _iop(inplace):
    def method(self: Tensor, other: Any) -> Tensor:
        return inplace(self, other)

    return method


__all__ = ["add", "sub", "mul", "div", "pow", "rsub", "true_divide", "multiply",
           "subtract", "divide", "floor_divide"]
true_divide = divide = div
multiply, subtract = mul, sub

# Tensor methods this module provides (installed by tapegrad.ops).
METHODS = {
    "add": add, "sub": sub, "mul": mul, "div": div, "pow": pow,
    "true_divide": div, "multiply": mul, "subtract": sub, "divide": div,
    "add_": add_, "sub_": sub_, "mul_": mul_, "div_": div_,
    "__add__": add, "__radd__": _reflected(add), "__sub__": sub, "__rsub__": _reflected(sub),
    "__mul__": mul, "__rmul__": _reflected(mul), "__truediv__": div,
    "__rtruediv__": _reflected(div), "__pow__": pow, "__rpow__": _reflected(pow),
    "__iadd__": _iop(add_), "__isub__": _iop(sub_), "__imul__": _iop(mul_),
    "__itruediv__": _iop(div_),
    "floor_divide": floor_divide, "__floordiv__": floor_divide,
    "__rfloordiv__": _reflected(floor_divide),
}
