"""Binary arithmetic: ``+ - * / **`` with broadcasting, type promotion and in-place forms.

Each op is a `Function` whose forward and backward sit side by side. The backward
returns the gradient *as if no broadcasting happened* (the output's shape); the engine
sums it back to each input's shape (``sum_to_size``), exactly once, in one place.

    z = x * y        dz/dx = y,   dz/dy = x
    z = x / y        dz/dx = 1/y, dz/dy = -x/y^2
    z = x ** y       dz/dx = y x^(y-1),  dz/dy = x^y log x
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from tapegrad import dtypes
from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.grad_mode import _state, no_grad
from tapegrad.formula import Expr, array_function, chain, tensor_function
from tapegrad.kernels.ieee import quiet, restore
from tapegrad.ops._on_arrays import array_result, exact_arrays
from tapegrad.ops._util import as_array, broadcast_shapes, check_inplace, promoted, wrap
from tapegrad.ops.checks.tensor_args import require_self, require_tensor
from tapegrad.ops.comparison import where
from tapegrad.ops.fill import recorded_clone, zeros_like
from tapegrad.pointwise import RULES
from tapegrad.tensor import Tensor

# A 0-d float64 tensor with a Python float (``x * 1.0001`` on a micrograd-style chain of
# numbers): Python's float arithmetic is the same IEEE double operation numpy's ufunc does,
# and skips the ufunc's dispatch and its numpy-scalar result (about 0.7 us of a 5 us op).
# Only + - *: Python's division raises on zero where numpy gives inf or nan.
_ON_FLOATS = {np.add: operator.add, np.subtract: operator.sub, np.multiply: operator.mul}
_FLOAT64 = np.dtype(np.float64)


def binary_forward(np_op, a: Any, b: Any, true_division: bool = False) -> Tensor:
    # The common case first, decided without building lists: a float tensor and a tensor
    # of the same dtype or a Python number (which never widens a float tensor).
    if isinstance(a, Tensor):
        x, y = a._data, (b._data if isinstance(b, Tensor) else b)
        np_dt = x.dtype
        if type(y) is float and np_dt is _FLOAT64 and not x.ndim and type(x) is np.ndarray:
            on_floats = _ON_FLOATS.get(np_op)
            if on_floats is not None:
                return wrap(np.array(on_floats(float(x), y)))
        fast = np_dt.kind == "f" and (y.dtype == np_dt if isinstance(b, Tensor)
                                      else isinstance(y, (int, float)))
    else:
        fast = False
    if not fast:
        out_dtype, (x, y) = promoted(a, b)
        if true_division and not out_dtype.is_floating_point:
            # int / int is true division giving the default float dtype, as in torch
            out_dtype = dtypes.get_default_dtype()
            x, y = as_array(x, out_dtype.numpy), as_array(y, out_dtype.numpy)
        np_dt = out_dtype.numpy
    # IEEE results without numpy's RuntimeWarnings, as torch: inf - inf and 0 * inf are
    # nan, 1/0 is inf, overflow is inf (`quiet` is np.errstate(all="ignore"), cheaper)
    token = quiet()
    try:
        result = np_op(x, y)
    except ValueError:
        broadcast_shapes(np.shape(x), np.shape(y))  # raises torch's message
        raise
    finally:
        restore(token)
    if type(result) is not np.ndarray or result.dtype != np_dt:
        result = as_array(result, np_dt)
    return wrap(result)


# ------------------------------------------------------------------ the rules' derivatives
# ∂y/∂a and ∂y/∂b of + − × / ** are written once, in `tapegrad.pointwise` (BINARY); here they
# are compiled to tensor code: grad · ∂y/∂a as a function of (g, a, b, y), where a and b
# may be tensors or Python numbers. What forward saves follows from the formulas too: only
# the values read by the formula of an input that needs a gradient.
def _where(condition: Any, a: Any, b: Any) -> Any:
    if isinstance(condition, (bool, np.bool_)):  # a number operand: decided already
        return a if condition else b
    return where(condition, a, b)


_NO_NUMBERS = (None, None)  # an op whose needed derivatives read no number operand


class BinaryDerivatives:
    """One binary rule's two derivatives, compiled, and the variables each reads."""

    def __init__(self, name: str) -> None:
        rule = RULES[name]
        g = Expr("var", "g")
        params = ("g", "a", "b", "y")
        self.grads = [tensor_function(chain(f, g), params, _where) for f in rule.formulas]
        # the same formulas on the arrays, for a backward that records nothing
        self.array_grads = [array_function(chain(f, g), params, where, wrap)
                            for f in rule.formulas]
        self._compiled: list | None = None  # array_grads compiled (on first use)
        # grad · ∂y/∂a that is just grad (add's, sub's for a): pass the gradient on as it is
        chained = [chain(f, g) for f in rule.formulas]
        self.passes = tuple(c.op == "var" and c.args[0] == "g" for c in chained)
        reads = [f.variables for f in rule.formulas]
        # (needs grad for a, for b) -> which of a, b, y the needed formulas read: worked
        # out once here, since forward runs for every op
        self.keeps = {}
        for needs in ((False, False), (False, True), (True, False), (True, True)):
            read = set().union(*(r for r, need in zip(reads, needs, strict=True) if need))
            self.keeps[needs] = tuple(name in read for name in ("a", "b", "y"))

    def save(self, ctx: Node, a: Any, b: Any, y: Tensor | None = None) -> None:
        """Save (a, b, y) as far as the derivatives of the inputs needing grad read them;
        numbers are kept as they are (they cannot change)."""
        keep_a, keep_b, keep_y = self.keeps[ctx.needs_input_grad[:2]]
        a_tensor, b_tensor = isinstance(a, Tensor), isinstance(b, Tensor)
        number_a, number_b = keep_a and not a_tensor, keep_b and not b_tensor
        keep_a, keep_b = keep_a and a_tensor, keep_b and b_tensor
        ctx.saves = keep_a or keep_b or keep_y  # add and sub keep nothing at all
        if ctx.saves:  # ctx.save_for_backward(...), spelled out: once per op
            ctx._to_save = (a if keep_a else None, b if keep_b else None, y if keep_y else None)
        if number_a or number_b:  # (x + 2 reads no number: nothing kept, as for add's x)
            ctx.numbers = (a if number_a else None, b if number_b else None)

    def __call__(self, ctx: Node, grad: Tensor, scale_b: Any = 1) -> tuple:
        """grad · ∂y/∂a and grad · ∂y/∂b for the inputs that need them (``scale_b``: add's
        and sub's ``alpha``, which multiplies b)."""
        needs = ctx.needs_input_grad[:2]
        pass_a, pass_b = self.passes
        if (pass_a or not needs[0]) and (pass_b and scale_b == 1 or not needs[1]):
            return (grad if needs[0] else None, grad if needs[1] else None)  # x + y
        if not _state.grad_enabled:  # nothing to record: the formulas on the arrays
            a, b, y = ctx._saved_data() if ctx.saves else (None, None, None)
            numbers = getattr(ctx, "numbers", _NO_NUMBERS)
            arrays = exact_arrays(grad._data, (numbers[0] if a is None else a,
                                               numbers[1] if b is None else b, y))
            if arrays is not None:
                return self._on_arrays(needs, grad, arrays, scale_b)
        a, b, y = ctx.saved_tensors if ctx.saves else (None, None, None)
        numbers = getattr(ctx, "numbers", _NO_NUMBERS)
        a = numbers[0] if a is None else a
        b = numbers[1] if b is None else b
        out = []
        for k, need in enumerate(needs):
            if not need:
                out.append(None)
                continue
            r = self.grads[k](grad, a, b, y)
            if not isinstance(r, Tensor):  # a constant branch (0 where b == 0 in pow)
                r = zeros_like(grad) + r
            out.append(r * scale_b if k == 1 and scale_b != 1 else r)
        return tuple(out)

    def _on_arrays(self, needs: tuple, grad: Tensor, arrays: tuple, scale_b: Any) -> tuple:
        gd = arrays[0]
        grads = self._compiled
        if grads is None:
            grads = self._compiled = [f.now() for f in self.array_grads]
        out = []
        token = quiet()
        try:
            for k, need in enumerate(needs):
                if not need:
                    out.append(None)
                elif k == 1 and scale_b != 1:
                    r = array_result(grads[k](*arrays), gd)
                    out.append(wrap(array_result(r * scale_b, gd)))
                else:
                    r = grads[k](*arrays)
                    # add's gradient is grad itself: pass the tensor on, as the tensor
                    # code does (a second tensor on grad's array would let two leaves
                    # take the same array as their .grad)
                    out.append(grad if r is gd else wrap(array_result(r, gd)))
        finally:
            restore(token)
        return tuple(out)


_ADD, _SUB, _MUL, _DIV, _POW = (BinaryDerivatives(n) for n in ("add", "sub", "mul", "div", "pow"))


class Add(Function):
    op_name = "add"

    @staticmethod
    def forward(ctx: Node, a: Any, b: Any, alpha: float = 1) -> Tensor:
        ctx.alpha = alpha
        _ADD.save(ctx, a, b)
        if alpha != 1:
            return binary_forward(lambda x, y: x + alpha * y, a, b)
        return binary_forward(np.add, a, b)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        return _ADD(ctx, grad, ctx.alpha)


class Sub(Function):
    op_name = "sub"

    @staticmethod
    def forward(ctx: Node, a: Any, b: Any, alpha: float = 1) -> Tensor:
        ctx.alpha = alpha
        _SUB.save(ctx, a, b)
        if alpha != 1:
            return binary_forward(lambda x, y: x - alpha * y, a, b)
        return binary_forward(np.subtract, a, b)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        return _SUB(ctx, grad, ctx.alpha)


class Mul(Function):
    op_name = "mul"

    @staticmethod
    def forward(ctx: Node, a: Any, b: Any) -> Tensor:
        _MUL.save(ctx, a, b)  # d/da reads b and d/db reads a: each kept only if needed
        return binary_forward(np.multiply, a, b)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        return _MUL(ctx, grad)


class Div(Function):
    op_name = "div"

    @staticmethod
    def forward(ctx: Node, a: Any, b: Any) -> Tensor:
        _DIV.save(ctx, a, b)  # d/da = 1/b reads b; d/db = −a/b² reads both
        return binary_forward(np.true_divide, a, b, true_division=True)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        return _DIV(ctx, grad)


class Pow(Function):
    op_name = "pow"

    @staticmethod
    def forward(ctx: Node, a: Any, b: Any) -> Tensor:
        out = binary_forward(np.power, a, b)
        _POW.save(ctx, a, b, out)  # d/db = y·log a reads the output
        return out

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        return _POW(ctx, grad)


class InplaceBinary(Function):
    """``x.add_(y)`` and friends: modify ``x`` in place and record it as this op's output."""

    @staticmethod
    def forward(ctx: Node, x: Tensor, y: Any, kind: str = "add", alpha: float = 1) -> Tensor:
        ctx.kind, ctx.alpha = kind, alpha
        out_dtype, (_, yd) = promoted(x, y)
        if kind == "div" and not out_dtype.is_floating_point:
            out_dtype = dtypes.get_default_dtype()  # true division of integers gives floats
        if not np.can_cast(out_dtype.numpy, x._data.dtype, "same_kind"):
            raise RuntimeError(
                f"result type {out_dtype.scalar_type} can't be cast to the desired "
                f"output type {x.dtype.scalar_type}"
            )
        if kind in ("mul", "div"):
            # the original x is needed for d/dy (a recorded clone: under create_graph its
            # history carries the second-order terms); y for d/dx. ``x.mul_(x)`` saves x as
            # the other factor *before* overwriting it: an alias, so backward sees the
            # write and refuses, as torch does.
            before = recorded_clone(x) if ctx.needs_input_grad[1] else None
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


def _integer_pow(a: Tensor, b: Any) -> Tensor | None:
    """Integer powers with torch's rules: a negative Python exponent is an error; negative
    exponents in a tensor give 1 for base 1, +-1 for base -1, else 0 (numpy refuses both).
    None when the ordinary path applies."""
    if isinstance(b, bool) or not isinstance(b, (int, Tensor)):
        return None
    if isinstance(b, int):
        if b < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        return None
    if b.dtype.is_floating_point or b.dtype is dtypes.bool_ or not (b._data < 0).any():
        return None
    out_dtype, (x, e) = promoted(a, b)
    x, e = np.asarray(x), np.asarray(e)
    magnitude = np.power(x, np.abs(e))
    odd = (np.abs(e) % 2) == 1
    negative = np.where(x == 1, 1, np.where(x == -1, np.where(odd, -1, 1), 0))
    return wrap(np.where(e < 0, negative, magnitude).astype(out_dtype.numpy))


def pow(a: Any, b: Any) -> Tensor:  # torch's name
    if isinstance(a, Tensor) and a._data.dtype.kind in "iu":
        special = _integer_pow(a, b)
        if special is not None:
            return special
    return Pow.apply(a, b)


def rsub(a: Any, b: Any, *, alpha: float = 1) -> Tensor:
    """``b - alpha * a``: `sub` with its operands swapped (``a`` must be a tensor, as in
    torch; ``b`` may be a number)."""
    require_tensor(a, "rsub")
    return sub(b, a, alpha=alpha)


def ldexp(input: Tensor, other: Tensor) -> Tensor:
    """input · 2^other (made of mul and pow, as torch defines it; integers give floats)."""
    for position, (argument, value) in enumerate((("input", input), ("other", other))):
        if not isinstance(value, Tensor):
            raise TypeError(f"ldexp(): argument '{argument}' (position {position + 1}) must be "
                            f"Tensor, not {type(value).__name__}")
    return mul(input, pow(2.0, other))


def float_power(input: Any, exponent: Any) -> Tensor:
    """``input ** exponent`` computed in float64 whatever the dtypes (made of `to` and
    `pow`: the gradient comes back to each input's own dtype)."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError("float_power(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    a = input.to(dtypes.float64) if isinstance(input, Tensor) else float(input)
    b = exponent.to(dtypes.float64) if isinstance(exponent, Tensor) else float(exponent)
    return pow(a, b)


def float_power_(input: Tensor, exponent: Any) -> Tensor:
    """In-place `float_power`: only a float64 tensor can hold the result."""
    if input.dtype is not dtypes.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {input.dtype.scalar_type} "
                           "but the operation's result requires dtype Double")
    return input.copy_(float_power(input.clone(), exponent))


def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """``input + weight · (end − input)``, the linear interpolation from input to end.

    Made of differentiable ops, so ∂/∂input = 1 − weight, ∂/∂end = weight and ∂/∂weight =
    end − input follow. For weight ≥ 1/2 it is computed from the other end,
    ``end − (end − input)(1 − weight)``, as torch does: then weight = 1 gives exactly end."""
    if not isinstance(input, Tensor) or not isinstance(end, Tensor):
        raise TypeError("lerp(): argument 'end' must be Tensor")
    if isinstance(weight, Tensor):
        if weight.dtype != input.dtype:
            raise RuntimeError(f"expected dtype {input.dtype.scalar_type.lower()} for `weight` "
                               f"but got dtype {weight.dtype.scalar_type.lower()}")
        diff = end - input
        return where(weight.abs() < 0.5, input + weight * diff, end - diff * (1 - weight))
    if input.dtype != end.dtype:
        raise RuntimeError(f"expected dtype {input.dtype.scalar_type.lower()} for `end` but got "
                           f"dtype {end.dtype.scalar_type.lower()}")
    diff = end - input
    if abs(weight) < 0.5:
        return input + weight * diff
    return end - diff * (1 - weight)


def lerp_(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """In-place `lerp`."""
    return input.copy_(lerp(input.clone(), end, weight))


def _reflected(fn, name: str | None = None):
    """``x.__radd__(y)`` is ``add(y, x)``. With ``name``, ``self`` must be a tensor (torch's
    C methods: ``Tensor.__radd__(2, x)`` is a TypeError); torch's Python-level ones
    (``__rpow__``, ``__rtruediv__``...) run with whatever ``self`` they get, as here."""
    def method(self: Tensor, other: Any) -> Tensor:
        if name is not None:
            require_self(self, name)
        return fn(other, self)

    return method


def _rsub_method(self: Tensor, other: Any) -> Tensor:
    """torch's ``Tensor.__rsub__`` turns the TypeError of ``rsub(2, x)`` into NotImplemented."""
    if not isinstance(self, Tensor):
        return NotImplemented
    return sub(other, self)


def _iop(inplace):
    def method(self: Tensor, other: Any) -> Tensor:
        return inplace(self, other)

    return method


__all__ = ["add", "sub", "mul", "div", "pow", "rsub", "true_divide", "multiply",
           "subtract", "divide", "floor_divide", "ldexp", "float_power", "lerp"]
true_divide = divide = div
multiply, subtract = mul, sub

# Tensor methods this module provides (installed by tapegrad.ops).
METHODS = {
    "add": add, "sub": sub, "mul": mul, "div": div, "pow": pow,
    "true_divide": div, "multiply": mul, "subtract": sub, "divide": div,
    "add_": add_, "sub_": sub_, "mul_": mul_, "div_": div_,
    "__add__": add, "__radd__": _reflected(add, "__radd__"), "__sub__": sub,
    "__rsub__": _rsub_method, "__mul__": mul,
    "__rmul__": _reflected(mul, "__rmul__"), "__truediv__": div,
    "__rtruediv__": _reflected(div), "__rdiv__": _reflected(div, "__rdiv__"), "__pow__": pow,
    "__rpow__": _reflected(pow), "ldexp": ldexp, "float_power": float_power,
    "float_power_": float_power_, "lerp": lerp, "lerp_": lerp_,
    "__iadd__": _iop(add_), "__isub__": _iop(sub_), "__imul__": _iop(mul_),
    "__itruediv__": _iop(div_),
    "floor_divide": floor_divide, "__floordiv__": floor_divide,
    "__rfloordiv__": _reflected(floor_divide),
}
