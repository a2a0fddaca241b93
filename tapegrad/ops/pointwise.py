"""The tensor ops made from `tapegrad.pointwise`'s definitions: one `Function` per rule.

For a rule ``tanh`` this module makes

* ``Tanh``, a `Function`: forward runs the rule's array function (or its kernel) on the
  tensor's array and saves what the formula reads (``y`` for tanh); backward computes
  ``grad · (1 − y²)``, the formula compiled to tensor ops, so that with
  ``create_graph=True`` the backward is itself recorded and can be differentiated again;
* ``tapegrad.tanh(input)`` and the Tensor method ``x.tanh()`` (installed by `tapegrad.ops`),
  and the in-place ``x.tanh_()``.

Nothing about tanh is written here: read the rule in `tapegrad.pointwise`.

Two refinements, both derived from the rule too:

* When no graph of the backward is being built (the usual ``loss.backward()``), a rule's
  fused kernel (``kernel_backward``) computes ``grad · f'`` in one pass instead of the
  formula's several tensor ops.
* torch records the backward of ``tanh``, ``sigmoid`` and ``relu`` as one op of its own
  (``tanh_backward``...), so a double-backward graph shows ``TanhBackwardBackward0``. Those
  rules name it (``backward_op``), and its own derivatives come from differentiating the
  formula (`tapegrad.formula.diff`): ∂(g·f)/∂g = f, and ∂(g·f)/∂y = g·∂f/∂y.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapegrad import dtypes, kernels
from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.grad_mode import _state
from tapegrad.formula import Expr, chain, diff, register_tensor_function, tensor_function
from tapegrad.ops._util import as_array, broadcast_shapes, wrap
from tapegrad.ops.arithmetic import BinaryDerivatives, binary_forward
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.ops.comparison import where
from tapegrad.ops.fill import begin_inplace, finish_inplace, recorded_clone, zeros_like
from tapegrad.pointwise import BINARY_FUNCTIONS, UNARY, Binary, Unary
from tapegrad.tensor import Tensor

_G = Expr("var", "g")
_VARIABLES = ("g", "x", "y")

def float_data(x: Tensor) -> np.ndarray:
    """``x``'s array, with integer and bool inputs cast to the default float dtype
    (``exp`` of an int64 tensor is float32 in torch, as it is here)."""
    d = x._data
    if d.dtype.kind != "f":
        d = d.astype(dtypes.get_default_dtype().numpy)
    return d


def _forward_array(rule: Unary, x: Tensor, options: dict) -> np.ndarray:
    if rule.bool_error and x._data.dtype == np.bool_:  # "not implemented for": torch's type
        kind = NotImplementedError if "not implemented for" in rule.bool_error else RuntimeError
        raise kind(rule.bool_error)
    if rule.float_only and x._data.dtype.kind != "f":
        raise NotImplementedError(
            f"\"{rule.float_only}\" not implemented for '{x.dtype.scalar_type}'")
    d = x._data if rule.keeps_integers else float_data(x)
    if rule.keeps_integers and d.dtype.kind != "f" and rule.forward in (np.floor, np.ceil,
                                                                       np.trunc, np.rint):
        return d.copy()  # floor of an integer is itself (numpy would make it float)
    with np.errstate(all="ignore"):  # log(-1) is nan, not a warning
        out = (rule.kernel_forward(kernels.on(d), d) if rule.kernel_forward is not None
               else rule.forward(d, **options))
    return as_array(out, d.dtype)


def _array(t: Tensor | None) -> np.ndarray | None:
    return None if t is None else t._data


def _saved(rule: Unary, x: Tensor, y: Tensor) -> tuple:
    return (x if rule.saves_input else None, y if rule.saves_output else None)


def _options(rule: Unary, given: dict) -> dict:
    """The rule's options with their defaults filled in (``negative_slope=0.01``)."""
    return {name: given.get(name, default) for name, default in rule.options}


def function_of(rule: Unary) -> type[Function]:
    """The `Function` for ``rule`` (see the module docstring)."""
    backward_formula = chain(rule.formula, _G)  # g · f'(x, y)
    compiled = _compile(backward_formula, (*_VARIABLES, *rule.option_names))
    fused = rule.kernel_backward
    backward_op = _backward_function(rule) if rule.backward_op else None

    def forward(ctx: Node, x: Tensor, **given: Any) -> Tensor:
        options = _options(rule, given)
        y = wrap(_forward_array(rule, x, options))
        ctx.save_for_backward(*_saved(rule, x, y))
        if options:
            ctx.options = options
        return y

    def backward(ctx: Node, grad: Tensor) -> Tensor:
        x, y = ctx.saved_tensors
        options = ctx.options if rule.options else {}
        if not _state.grad_enabled and fused is not None:  # no graph of the backward
            k = kernels.on(grad._data)
            return wrap(as_array(fused(k, grad._data, _array(x), _array(y)),
                                 grad._data.dtype))
        if backward_op is not None:
            return backward_op.apply(grad, x, y, **options)
        return compiled(grad, x, y, *options.values())

    return type(rule.class_name, (Function,), {
        "__doc__": f"{rule.doc}   {rule.text()}", "__module__": __name__,
        "node_name": rule.backward_name, "op_name": rule.name, "rule": rule,
        "forward": staticmethod(forward), "backward": staticmethod(backward)})


def _backward_function(rule: Unary) -> type[Function]:
    """torch's named backward op for ``rule`` (``tanh_backward``): g·f'(x, y) as one
    recorded op, differentiable in g, x and y by the derivatives of the formula."""
    formula = chain(rule.formula, _G)
    names = (*_VARIABLES, *rule.option_names)
    value = _compile(formula, names)
    partials = {v: _compile(chain(diff(formula, v), Expr("var", "gg")), ("gg", *names))
                for v in ("x", "y")}
    fused = rule.kernel_backward

    def forward(ctx: Node, g: Tensor, x: Tensor | None, y: Tensor | None,
                **options: Any) -> Tensor:
        ctx.save_for_backward(g, x, y)
        ctx.options = options
        if fused is not None:
            out = fused(kernels.on(g._data), g._data, _array(x), _array(y))
            return wrap(as_array(out, g._data.dtype))
        return value(g, x, y, *options.values())

    def backward(ctx: Node, gg: Tensor) -> tuple:
        g, x, y = ctx.saved_tensors
        needs_g, needs_x, needs_y = ctx.needs_input_grad
        opts = ctx.options
        return (cls.apply(gg, x, y, **opts) if needs_g else None,  # linear in g: the same op
                partials["x"](gg, g, x, y, *opts.values()) if needs_x else None,
                partials["y"](gg, g, x, y, *opts.values()) if needs_y else None)

    name = "".join(part.capitalize() for part in rule.backward_op.split("_"))
    cls = type(name, (Function,), {
        "__doc__": f"The backward of {rule.name} as one op: grad · ({rule.formula.text()}).",
        "__module__": __name__, "node_name": f"{name}Backward0", "op_name": rule.backward_op,
        "forward": staticmethod(forward), "backward": staticmethod(backward)})
    return cls


def _compile(e: Expr, params: tuple[str, ...]) -> Callable[..., Tensor]:
    """``e`` over tensors; a formula that is 0 gives zeros shaped like the first tensor."""
    if e.constant() == 0:
        return lambda first, *rest: zeros_like(first)
    return tensor_function(e, params, where)


def _inplace_function(rule: Unary, out_of_place: type[Function]) -> type[Function]:
    """``x.tanh_()``: the same rule, writing into ``x``. Backward can read only what is
    left: the output (so a rule whose formula needs x saves a copy of the old x)."""

    def forward(ctx: Node, x: Tensor, **given: Any) -> Tensor:
        if not rule.keeps_integers and x.dtype.is_floating_point is False:
            raise RuntimeError(f"result type Float can't be cast to the desired output type "
                               f"{x.dtype.scalar_type}")
        options = _options(rule, given)
        # the old x, with its history: under create_graph, second derivatives need it
        old = recorded_clone(x) if rule.saves_input else None
        x._data[...] = _forward_array(rule, x, options)
        ctx.save_for_backward(old, x if rule.saves_output else None)
        if options:
            ctx.options = options
        return finish_inplace(ctx, x)

    return type(f"{rule.class_name}Inplace", (out_of_place,), {
        "__module__": __name__, "node_name": rule.backward_name,
        "op_name": f"{rule.name}_", "forward": staticmethod(forward)})


def _public(name: str, function: type[Function], doc: str) -> Callable[[Tensor], Tensor]:
    def op(input: Tensor) -> Tensor:  # torch's argument name
        require_tensor(input, name)
        return function.apply(input)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


def _public_inplace(name: str, function: type[Function]) -> Callable[[Tensor], Tensor]:
    def op(input: Tensor) -> Tensor:
        require_tensor(input, name)
        begin_inplace(input)
        return function.apply(input)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"In-place ``{name[:-1]}``: modifies the tensor, bumps its version, returns it."
    return op


# ------------------------------------------------------------------ two-input functions
def _dtype_check(rule: Binary, a: Any, b: Any) -> None:
    """torch's refusal of a dtype the kernel does not accept (``hypot`` of integers), and
    the rule's own check of the operands."""
    if rule.check is not None:
        rule.check(a, b)
    if not rule.accepts:
        return
    for v in (a, b):
        if isinstance(v, Tensor):
            kind = v._data.dtype.kind
            name = v.dtype.scalar_type
        else:
            kind = {bool: "b", int: "i", float: "f"}.get(type(v), "")
            name = {"b": "Bool", "i": "Long", "f": "Double"}.get(kind, "")
        if kind and kind not in rule.accepts:
            raise NotImplementedError(f"\"{rule.kernel_name}\" not implemented for '{name}'")


def binary_function_of(rule: Binary) -> type[Function]:
    """The `Function` of a two-input rule: forward runs the rule's array function with
    broadcasting and torch's type promotion; backward is grad · ∂y/∂a and grad · ∂y/∂b,
    the rule's formulas compiled to tensor ops (so they differentiate again), each summed
    back to its input's shape by the engine."""
    derivatives = BinaryDerivatives(rule.name)

    def forward(ctx: Node, a: Any, b: Any) -> Tensor:
        _dtype_check(rule, a, b)
        out = binary_forward(rule.forward, a, b, true_division=rule.to_float)
        derivatives.save(ctx, a, b, out)
        return out

    def backward(ctx: Node, grad: Tensor) -> tuple:
        return derivatives(ctx, grad)

    return type(rule.class_name, (Function,), {
        "__doc__": f"{rule.doc}   {rule.text()}", "__module__": __name__,
        "node_name": rule.backward_name, "op_name": rule.name, "rule": rule,
        "forward": staticmethod(forward), "backward": staticmethod(backward)})


def _binary_public(rule: Binary, function: type[Function]) -> Callable[..., Tensor]:
    def op(input: Any, other: Any) -> Tensor:  # torch's argument names
        for position, (argument, value) in enumerate((("input", input), ("other", other))):
            number_ok = "ab"[position] in rule.numbers and isinstance(
                (other, input)[position], Tensor)  # a number beside a tensor, not two
            if not isinstance(value, Tensor) and not (
                    number_ok and isinstance(value, (bool, int, float))):
                raise TypeError(f"{rule.name}(): argument '{argument}' (position "
                                f"{position + 1}) must be Tensor, not {type(value).__name__}")
        return function.apply(input, other)

    op.__name__ = op.__qualname__ = rule.name
    op.__doc__ = f"{rule.doc}\n\n{rule.text()}"
    return op


def _binary_inplace(rule: Binary, op: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """``x.atan2_(y)``: the op on a recorded copy of x (what backward saves stays intact),
    written back into x by `copy_`, whose gradient flows to that copy."""
    def method(input: Tensor, other: Any) -> Tensor:
        require_tensor(input, f"{rule.name}_")
        other_shape = other._data.shape if isinstance(other, Tensor) else ()
        begin_inplace(input, broadcast_shapes(input._data.shape, other_shape), other)
        out = op(recorded_clone(input), other)
        if not np.can_cast(out._data.dtype, input._data.dtype, "same_kind"):
            raise RuntimeError(f"result type {out.dtype.scalar_type} can't be cast to the "
                               f"desired output type {input.dtype.scalar_type}")
        return input.copy_(out)

    method.__name__ = method.__qualname__ = f"{rule.name}_"
    method.__doc__ = f"In-place ``{rule.name}``: writes the result into the tensor."
    return method


#: rule name -> its Function class (``FUNCTIONS["tanh"] is Tanh``)
FUNCTIONS: dict[str, type[Function]] = {r.name: function_of(r) for r in UNARY}
FUNCTIONS.update((r.name, binary_function_of(r)) for r in BINARY_FUNCTIONS)
#: rule name -> ``tapegrad.<name>``; in-place forms under ``<name>_``
OPS: dict[str, Callable[[Tensor], Tensor]] = {}
#: rule name -> its in-place Function (``x.tanh_()``; ``F.leaky_relu(x, inplace=True)``)
INPLACE: dict[str, type[Function]] = {
    r.name: _inplace_function(r, FUNCTIONS[r.name]) for r in UNARY}
for _rule in UNARY:
    if _rule.public:
        OPS[_rule.name] = _public(_rule.name, FUNCTIONS[_rule.name], _rule.doc)
        OPS[f"{_rule.name}_"] = _public_inplace(f"{_rule.name}_", INPLACE[_rule.name])
for _binary in BINARY_FUNCTIONS:
    OPS[_binary.name] = _binary_public(_binary, FUNCTIONS[_binary.name])
    if _binary.inplace:
        OPS[f"{_binary.name}_"] = _binary_inplace(_binary, OPS[_binary.name])

# round(x, decimals=...) wraps the rule's plain form in `tapegrad.ops.elementwise`
_PUBLIC = {name: op for name, op in OPS.items() if name not in ("round", "round_")}
__all__ = [*_PUBLIC, "FUNCTIONS", "INPLACE", "absolute", "negative", "arctan2"]
# The functions and classes made above, as this module's names (``pointwise.tanh``,
# ``pointwise.Tanh``): generated, so they are bound here rather than written out.
globals().update(_PUBLIC)
globals().update((f.__name__, f) for f in FUNCTIONS.values())
absolute, negative = OPS["abs"], OPS["neg"]
arctan2 = OPS["atan2"]

# What a formula's trigamma(x), tetragamma(x) and i1(x) run on tensors (see
# `tapegrad.formula.register_tensor_function`): ψ₁ and ψ₂ are polygamma of order 1 and 2
# (`tapegrad.ops.special`, imported later: looked up when a backward first runs), and
# I₁ is a hidden rule of its own, differentiable again (I₁' = I₀ − I₁/x).


def _polygamma(n: int) -> Callable[[Tensor], Tensor]:
    def fn(x: Tensor) -> Tensor:
        return x.polygamma(n)

    return fn


register_tensor_function("trigamma", _polygamma(1))
register_tensor_function("tetragamma", _polygamma(2))
register_tensor_function("i1", lambda x: FUNCTIONS["i1"].apply(x))
# floor and trunc are steps: their derivative is 0 everywhere, so fmod's and remainder's
# ∂/∂b = −trunc(a/b) is a constant to a second derivative (unrecorded: differentiating
# through a/b would give 0·inf = nan where b = 0, where torch gives 0)
register_tensor_function("floor", lambda x: x.detach().floor())
register_tensor_function("trunc", lambda x: x.detach().trunc())
register_tensor_function("round", lambda x: x.detach().round())

# Tensor methods this family provides (installed by tapegrad.ops).
def _reflected(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    def method(self: Tensor, other: Any) -> Tensor:
        return fn(other, self)

    return method


METHODS = {**_PUBLIC, "__neg__": OPS["neg"], "__abs__": OPS["abs"], "absolute": OPS["abs"],
           "negative": OPS["neg"], "arctan2": arctan2, "arctan2_": OPS["atan2_"],
           "__mod__": OPS["remainder"], "__rmod__": _reflected(OPS["remainder"]),
           "__imod__": OPS["remainder_"],
           "__lshift__": OPS["bitwise_left_shift"],
           "__rlshift__": _reflected(OPS["bitwise_left_shift"]),
           "__ilshift__": OPS["bitwise_left_shift_"],
           "__rshift__": OPS["bitwise_right_shift"],
           "__rrshift__": _reflected(OPS["bitwise_right_shift"]),
           "__irshift__": OPS["bitwise_right_shift_"]}
