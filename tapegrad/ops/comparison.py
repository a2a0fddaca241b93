"""Comparisons, logic and ``where`` (part of the elementwise family;
`tapegrad.ops.elementwise` re-exports everything here).

Comparisons (``x < y``) and logic (``a & b``) return bool tensors. They have no gradient
(a step has derivative 0 and torch records nothing), so they are plain functions, not
`Function`s. They *steer* gradients though: ``where(cond, a, b)`` sends each element's
gradient to the branch that was picked::

    y = where(c, a, b)      dL/da = where(c, grad, 0)      dL/db = where(c, 0, grad)

``clamp``, ``maximum`` and ``minimum`` (`tapegrad.ops.clamp`) are where-selections in
disguise.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.ops._util import as_array, broadcast_shapes, promoted, wrap
from tapegrad.ops.checks.tensor_args import require_self, require_tensor
from tapegrad.tensor import Tensor


def _as_operand(v: Any) -> Any:
    """A tensor or real Python number (numpy scalars become Python numbers), else None."""
    if isinstance(v, np.generic) and v.dtype.kind in "biuf":
        return v.item()
    if isinstance(v, Tensor | bool | int | float):
        return v
    return None


def binary_numpy(np_op: Any, a: Any, b: Any, out_dtype: Any = None) -> Tensor:
    """Promote to torch's common dtype, apply ``np_op`` with broadcasting, wrap."""
    common, (x, y) = promoted(a, b)
    try:
        with np.errstate(invalid="ignore"):
            out = np_op(x, y)
    except ValueError:
        broadcast_shapes(np.shape(x), np.shape(y))  # raises torch's message
        raise
    return wrap(as_array(out, np.dtype(out_dtype) if out_dtype is not None else common.numpy))


# ------------------------------------------------------------------ comparisons
def _comparison(np_op: Any, name: str):
    def op(input: Any, other: Any) -> Tensor:  # torch's argument name
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                            f"{type(input).__name__}")
        return binary_numpy(np_op, input, other, np.bool_)

    def method(self: Tensor, other: Any) -> Any:
        operand = _as_operand(other)
        if operand is None:
            return NotImplemented  # Python then falls back (x == None is False)
        return op(self, operand)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` with broadcasting; a bool tensor (no gradient)."
    return op, method


(eq, _eq), (ne, _ne) = _comparison(np.equal, "eq"), _comparison(np.not_equal, "ne")
(lt, _lt), (le, _le) = _comparison(np.less, "lt"), _comparison(np.less_equal, "le")
(gt, _gt), (ge, _ge) = _comparison(np.greater, "gt"), _comparison(np.greater_equal, "ge")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def equal(input: Tensor, other: Tensor) -> bool:
    """True if both tensors have the same shape and the same values (a Python bool)."""
    return input._data.shape == other._data.shape and bool(eq(input, other)._data.all())


def isclose(input: Tensor, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """``|input - other| <= atol + rtol * |other|`` elementwise (a bool tensor)."""
    require_tensor(input, "isclose")
    require_tensor(other, "isclose", "other", 2)
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if tol < 0:
            raise RuntimeError(f"{name} must be greater than or equal to zero, but got {tol}")
    _, (x, y) = promoted(input, other)
    return wrap(as_array(np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan), np.bool_))


def allclose(input: Tensor, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """True if every element is `isclose`."""
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def isnan(input: Tensor) -> Tensor:
    d = input._data
    return wrap(np.isnan(d) if d.dtype.kind == "f" else np.zeros(d.shape, np.bool_, like=d))


def isinf(input: Tensor) -> Tensor:
    d = input._data
    return wrap(np.isinf(d) if d.dtype.kind == "f" else np.zeros(d.shape, np.bool_, like=d))


def isfinite(input: Tensor) -> Tensor:
    d = input._data
    return wrap(np.isfinite(d) if d.dtype.kind == "f" else np.ones(d.shape, np.bool_, like=d))


def isposinf(input: Tensor) -> Tensor:
    """True where the element is +inf."""
    d = input._data
    return wrap(np.isposinf(d) if d.dtype.kind == "f" else np.zeros(d.shape, np.bool_, like=d))


def isneginf(input: Tensor) -> Tensor:
    """True where the element is −inf."""
    d = input._data
    return wrap(np.isneginf(d) if d.dtype.kind == "f" else np.zeros(d.shape, np.bool_, like=d))


def isreal(input: Tensor) -> Tensor:
    """True where the imaginary part is 0: everywhere, since tapegrad's dtypes are real."""
    d = input._data
    return wrap(np.ones(d.shape, np.bool_, like=d))


def signbit(input: Tensor) -> Tensor:
    """True where the sign bit is set: x < 0, and also −0.0 and a NaN with its sign bit."""
    d = input._data
    return wrap(np.signbit(d) if d.dtype.kind != "b" else np.zeros(d.shape, np.bool_, like=d))


# ------------------------------------------------------------------ logic and bits
def logical_and(input: Tensor, other: Any) -> Tensor:
    """True where both are non-zero."""
    return binary_numpy(np.logical_and, input, other, np.bool_)


def logical_or(input: Tensor, other: Any) -> Tensor:
    return binary_numpy(np.logical_or, input, other, np.bool_)


def logical_xor(input: Tensor, other: Any) -> Tensor:
    return binary_numpy(np.logical_xor, input, other, np.bool_)


def logical_not(input: Tensor) -> Tensor:
    return wrap(as_array(np.logical_not(input._data), np.bool_))


def _bitwise(np_op: Any, name: str):
    def op(input: Any, other: Any) -> Tensor:
        common, _ = promoted(input, other)
        if common.is_floating_point:
            raise NotImplementedError(
                f"\"{name}_cpu\" not implemented for '{common.scalar_type}'")
        return binary_numpy(np_op, input, other)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"``{name}`` of bool or integer tensors (``&``, ``|``, ``^``): logical for "
                  "bools, bit by bit for integers.")
    return op


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")


def bitwise_not(input: Tensor) -> Tensor:
    """``~x``: logical not for bool tensors, bitwise not for integers."""
    if input._data.dtype.kind == "f":
        raise TypeError(
            "~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return wrap(as_array(np.invert(input._data), input._data.dtype))


def _reflected(fn: Any, name: str):
    def method(self: Tensor, other: Any) -> Tensor:
        require_self(self, name)  # Tensor.__radd__(2, x): torch's TypeError
        return fn(other, self)

    return method


# ------------------------------------------------------------------ where
class Where(Function):
    """y = where(cond, a, b): a's element where cond is True, else b's.

    Backward routes each element's gradient to the branch it came from; the condition
    gets none (it is a bool tensor). ``a`` and ``b`` may be Python numbers."""

    caption = ('0 (the condition has no gradient)',
               '{g} where the condition holds : {s1}',
               '{g} where the condition fails : {s2}')

    @staticmethod
    def forward(ctx: Node, condition: Tensor, a: Any, b: Any) -> Tensor:
        out_dtype, (x, y) = promoted(a, b)
        try:
            out = np.where(condition._data, x, y)
        except ValueError:
            broadcast_shapes(condition._data.shape, np.shape(x), np.shape(y))
            raise
        ctx.save_for_backward(condition)
        return wrap(as_array(out, out_dtype.numpy))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        (condition,) = ctx.saved_tensors
        _, needs_a, needs_b = ctx.needs_input_grad
        return (None, where(condition, grad, 0.0) if needs_a else None,
                where(condition, 0.0, grad) if needs_b else None)


def where(condition: Tensor, input: Any = None, other: Any = None) -> Any:
    """``input`` where ``condition`` holds, else ``other`` (broadcast together).
    With only a condition: the indices of its True elements, one int64 tensor per dim."""
    if not isinstance(condition, Tensor):
        raise TypeError("where(): argument 'condition' (position 1) must be Tensor, not "
                        f"{type(condition).__name__}")
    if condition._data.dtype == np.uint8:
        warnings.warn("where received a uint8 condition tensor. This behavior is deprecated "
                      "and will be removed in a future version of tapegrad. Use a boolean "
                      "condition instead.", UserWarning, stacklevel=2)
        condition = wrap(condition._data.astype(np.bool_))
    elif condition._data.dtype != np.bool_:
        raise RuntimeError("where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {condition.dtype.scalar_type}")
    if input is None and other is None:
        if condition._data.ndim == 0:  # torch treats a 0-d condition as one element
            return (wrap(np.zeros(1 if condition._data else 0, dtype=np.int64)),)
        return tuple(wrap(i.astype(np.int64)) for i in np.nonzero(condition._data))
    return Where.apply(condition, input, other)



__all__ = ["eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less",
           "less_equal", "not_equal", "equal", "isclose", "allclose", "isnan", "isinf",
           "isfinite", "isposinf", "isneginf", "isreal", "signbit", "logical_and", "logical_or",
           "logical_xor", "logical_not",
           "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "where"]

METHODS = {
    "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge, "greater": gt,
    "greater_equal": ge, "less": lt, "less_equal": le, "not_equal": ne, "equal": equal,
    "isclose": isclose, "allclose": allclose,
    "__eq__": _eq, "__ne__": _ne, "__lt__": _lt, "__le__": _le, "__gt__": _gt, "__ge__": _ge,
    "isnan": isnan, "isinf": isinf, "isfinite": isfinite, "isposinf": isposinf,
    "isneginf": isneginf, "isreal": isreal, "signbit": signbit,
    "logical_and": logical_and, "logical_or": logical_or, "logical_xor": logical_xor,
    "logical_not": logical_not, "bitwise_and": bitwise_and, "bitwise_or": bitwise_or,
    "bitwise_xor": bitwise_xor, "bitwise_not": bitwise_not,
    "__and__": bitwise_and, "__or__": bitwise_or, "__xor__": bitwise_xor,
    "__rand__": _reflected(bitwise_and, "__rand__"),
    "__ror__": _reflected(bitwise_or, "__ror__"),
    "__rxor__": _reflected(bitwise_xor, "__rxor__"), "__invert__": bitwise_not,
    "where": lambda self, condition, other: where(condition, self, other),
}
