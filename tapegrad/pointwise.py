"""Pointwise ops, each defined once: forward, derivative and the formula a learner reads.

A pointwise op maps each element on its own, so its Jacobian is diagonal and its whole
backward is *the incoming gradient times the local derivative*::

    tanh:   y = tanh(x)      dy/dx = 1 − y²        backward: grad · (1 − y²)

This table is the only place such a derivative is written. Everything else is made from it:

* the tensor op (`tapegrad.ops.pointwise` turns each `Unary` into a `Function`, its
  ``tapegrad.<name>`` function and its Tensor method; the backward runs the derivative as
  tensor ops, so ``create_graph=True`` gives second derivatives with no extra code);
* `tapegrad.Scalar`'s method and its backward walk (`tapegrad.scalar_backward` generates
  the walk's Python source from these formulas);
* the captions of the backprop stepper and the op table in the docs.

Which values the backward keeps follows from the formula: tanh's reads only ``y``, so the
forward saves its output; sin's reads ``x``, so it saves its input. A formula is written
in the variables ``x`` (input) and ``y`` (output) for one-input ops, ``a``, ``b`` and
``y`` for two-input ops (see `tapegrad.formula`).

Fast kernels may implement a derivative too (tanh's backward is one fused pass in
`tapegrad.kernels`); they are used when no graph of the backward is being built, and
tests check each against the formula here.

Kinks follow torch: ``relu'(0) = 0``, ``abs'(0) = 0``, ``sqrt'(0) = inf``; ``floor``,
``ceil``, ``round``, ``trunc`` and ``sign`` have gradient 0; ``0⁰`` has base-gradient 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tapegrad.formula import (
    FUNCTIONS,
    Expr,
    constant,
    cos,
    cosh,
    erf,
    exp,
    log,
    safe_div,
    safe_pow,
    sigmoid,
    sign,
    sin,
    sinh,
    sqrt,
    tanh,
    total,
    trace,
    where,
)

__all__ = ["Unary", "Binary", "UNARY", "BINARY", "RULES"]

_LN2 = constant(math.log(2), "ln 2")
_LN10 = constant(math.log(10), "ln 10")
_TWO_OVER_SQRT_PI = constant(2 / math.sqrt(math.pi), "2/√π")


@dataclass(frozen=True)
class Unary:
    """A one-input pointwise op: ``y = f(x)``, ``dy/dx = derivative(x, y)``."""

    name: str  # torch's name: tapegrad.<name>, Tensor.<name>, Scalar.<name>
    forward: Callable[[np.ndarray], np.ndarray]  # on arrays: the readable reference
    derivative: Callable[[Expr, Expr], Any]  # lambda x, y: ...
    doc: str
    #: on floats, for Scalar (None: Scalar has no such method)
    float_forward: Callable[[float], float] | None = None
    keeps_integers: bool = False  # relu(int) is int; exp(int) is float, as in torch
    #: torch's error for a bool tensor, where torch refuses one (neg, abs)
    bool_error: str = ""
    node_name: str = ""  # torch's grad_fn name when it is not <Name>Backward0
    #: the fast kernels, when there are any: kernel_forward(kernels, x_array) and
    #: kernel_backward(kernels, grad_array, x_array, y_array) (checked against the formula)
    kernel_forward: Callable[[Any, np.ndarray], np.ndarray] | None = None
    kernel_backward: Callable[[Any, np.ndarray, Any, Any], np.ndarray] | None = None
    #: torch's name for the op its backward records (``tanh_backward``), where torch has one
    backward_op: str = ""
    #: keyword options and their defaults (leaky_relu's ``negative_slope``): the forward
    #: receives them, and the derivative takes them after x and y
    options: tuple[tuple[str, Any], ...] = ()
    #: torch's kernel name when only floating inputs are accepted ("leaky_relu_cpu")
    float_only: str = ""
    #: False when the public function is a wrapper with more arguments (``inplace=``...)
    public: bool = True
    formula: Expr = field(init=False)
    #: whether the backward reads x, and y (so the forward saves them): from the formula
    saves_input: bool = field(init=False)
    saves_output: bool = field(init=False)

    def __post_init__(self) -> None:
        names = ("x", "y", *(name for name, _ in self.options))
        formula = trace(self.derivative, names)
        object.__setattr__(self, "formula", formula)
        object.__setattr__(self, "saves_input", "x" in formula.variables)
        object.__setattr__(self, "saves_output", "y" in formula.variables)

    @property
    def option_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.options)

    @property
    def class_name(self) -> str:
        """``LeakyRelu`` for ``leaky_relu``: the Function's name."""
        return "".join(part.capitalize() for part in self.name.split("_"))

    @property
    def backward_name(self) -> str:
        return self.node_name or f"{self.class_name}Backward0"

    def text(self) -> str:
        """``d tanh(x)/dx = 1 − y²  (y = tanh(x))``."""
        out = f"  (y = {self.name}(x))" if self.saves_output else ""
        args = "".join(f", {name}" for name in self.option_names)
        return f"d {self.name}(x{args})/dx = {self.formula.text()}{out}"


@dataclass(frozen=True)
class Binary:
    """A two-input pointwise op: ``y = a ∘ b``, with ``∂y/∂a`` and ``∂y/∂b``."""

    name: str
    symbol: str  # how y = a ∘ b is written: "+", "·", "^"...
    forward: Callable[[Any, Any], Any]  # on arrays
    float_forward: Callable[[float, float], float]  # on floats (Scalar)
    derivative_a: Callable[[Expr, Expr, Expr], Any]  # lambda a, b, y: ∂y/∂a
    derivative_b: Callable[[Expr, Expr, Expr], Any]  # lambda a, b, y: ∂y/∂b
    doc: str
    formulas: tuple[Expr, Expr] = field(init=False)

    def __post_init__(self) -> None:
        names = ("a", "b", "y")
        object.__setattr__(self, "formulas", (trace(self.derivative_a, names),
                                              trace(self.derivative_b, names)))

    @property
    def backward_name(self) -> str:
        return f"{self.name.capitalize()}Backward0"

    def text(self) -> str:
        """``∂(a·b)/∂a = b,  ∂(a·b)/∂b = a``."""
        op = f"a{self.symbol}b" if self.symbol in "·^" else f"a {self.symbol} b"
        return (f"∂({op})/∂a = {self.formulas[0].text()},  "
                f"∂({op})/∂b = {self.formulas[1].text()}")


def _math(name: str) -> Callable[[float], float]:
    """math.<name> on floats, with numpy's inf/nan where math raises."""
    return total(getattr(math, name), getattr(np, name))


def _relu(x: float) -> float:
    return 0.0 if x <= 0.0 else x  # nan stays nan



def _np_sign(x: np.ndarray) -> np.ndarray:
    """(x > 0) − (x < 0), so sign(nan) = 0 as torch's; bool stays bool."""
    if x.dtype == np.bool_:
        return x.copy()
    return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)


_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT2 = constant(_SQRT1_2, "1/√2")
_PDF = constant(1 / math.sqrt(2 * math.pi), "1/√(2π)")  # the standard normal density at 0
_TANH_SCALE = math.sqrt(2 / math.pi)  # GELU's tanh approximation: tanh(k (x + κ x³))
_K = constant(_TANH_SCALE, "k")
_KAPPA = 0.044715


def _gelu_tanh(d: np.ndarray) -> np.ndarray:
    return 0.5 * d * (1 + np.tanh(_TANH_SCALE * (d + _KAPPA * d * d * d)))


def _gelu_tanh_derivative(x: Expr, y: Expr) -> Expr:
    """d/dx of x/2 (1 + t), t = tanh(u), u = k (x + κ x³), k = √(2/π), κ = 0.044715:
    (1 + t)/2 + x/2 (1 − t²) u'."""
    t = tanh(_K * (x + _KAPPA * x ** 3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t ** 2) * (_K * (1 + 3 * _KAPPA * x ** 2))


UNARY: tuple[Unary, ...] = (
    Unary("neg", np.negative, lambda x, y: -1, "−x of each element.",
          float_forward=lambda x: -x, keeps_integers=True,
          bool_error="Negation, the `-` operator, on a bool tensor is not supported. If you are "
                     "trying to invert a mask, use the `~` or `logical_not()` operator instead."),
    Unary("exp", np.exp, lambda x, y: y, "e to the power of each element.",
          float_forward=_math("exp")),
    Unary("exp2", np.exp2, lambda x, y: y * _LN2, "2 to the power of each element.",
          float_forward=total(lambda x: 2.0 ** x, np.exp2)),
    Unary("expm1", np.expm1, lambda x, y: y + 1, "e^x − 1, accurate for small x.",
          float_forward=_math("expm1")),
    Unary("log", np.log, lambda x, y: 1 / x,
          "Natural logarithm of each element (nan below 0, −inf at 0).",
          float_forward=_math("log")),
    Unary("log2", np.log2, lambda x, y: 1 / (x * _LN2), "Base-2 logarithm.",
          float_forward=_math("log2")),
    Unary("log10", np.log10, lambda x, y: 1 / (x * _LN10), "Base-10 logarithm.",
          float_forward=_math("log10")),
    Unary("log1p", np.log1p, lambda x, y: 1 / (1 + x), "ln(1 + x), accurate for small x.",
          float_forward=_math("log1p"), node_name="Log1PBackward0"),
    Unary("sqrt", np.sqrt, lambda x, y: 1 / (2 * y),
          "Square root of each element (its gradient at 0 is inf).",
          float_forward=_math("sqrt")),
    Unary("rsqrt", lambda d: 1 / np.sqrt(d), lambda x, y: -0.5 * y ** 3,
          "1 / sqrt(x) of each element.",
          float_forward=total(lambda x: 1 / math.sqrt(x), lambda d: 1 / np.sqrt(d))),
    Unary("reciprocal", np.reciprocal, lambda x, y: -(y ** 2), "1 / x of each element.",
          float_forward=total(lambda x: 1 / x, np.reciprocal)),
    Unary("sin", np.sin, lambda x, y: cos(x), "Sine of each element (radians).",
          float_forward=_math("sin")),
    Unary("cos", np.cos, lambda x, y: -sin(x), "Cosine of each element (radians).",
          float_forward=_math("cos")),
    Unary("tan", np.tan, lambda x, y: 1 + y ** 2, "Tangent of each element (radians).",
          float_forward=_math("tan")),
    Unary("asin", np.arcsin, lambda x, y: 1 / sqrt(1 - x ** 2),
          "Inverse sine (nan outside [−1, 1]).", float_forward=total(math.asin, np.arcsin)),
    Unary("acos", np.arccos, lambda x, y: -1 / sqrt(1 - x ** 2),
          "Inverse cosine (nan outside [−1, 1]).", float_forward=total(math.acos, np.arccos)),
    Unary("atan", np.arctan, lambda x, y: 1 / (1 + x ** 2), "Inverse tangent.",
          float_forward=_math("atan")),
    Unary("sinh", np.sinh, lambda x, y: cosh(x), "Hyperbolic sine.",
          float_forward=_math("sinh")),
    Unary("cosh", np.cosh, lambda x, y: sinh(x), "Hyperbolic cosine.",
          float_forward=_math("cosh")),
    Unary("tanh", np.tanh, lambda x, y: 1 - y ** 2, "Hyperbolic tangent.",
          float_forward=math.tanh,  # never overflows
          kernel_backward=lambda k, g, x, y: k.tanh_backward(g, y), backward_op="tanh_backward"),
    Unary("asinh", np.arcsinh, lambda x, y: 1 / sqrt(x ** 2 + 1), "Inverse hyperbolic sine.",
          float_forward=total(math.asinh, np.arcsinh)),
    Unary("acosh", np.arccosh, lambda x, y: 1 / sqrt(x ** 2 - 1),
          "Inverse hyperbolic cosine (nan below 1).",
          float_forward=total(math.acosh, np.arccosh)),
    Unary("atanh", np.arctanh, lambda x, y: 1 / (1 - x ** 2),
          "Inverse hyperbolic tangent (nan outside [−1, 1]).",
          float_forward=total(math.atanh, np.arctanh)),
    Unary("sigmoid", None, lambda x, y: y * (1 - y),  # forward: the kernel (overflow-free)
          "The logistic function 1 / (1 + e^−x).", float_forward=FUNCTIONS["sigmoid"],
          kernel_forward=lambda k, d: k.sigmoid(d),
          kernel_backward=lambda k, g, x, y: k.sigmoid_backward(g, y),
          backward_op="sigmoid_backward"),
    Unary("relu", None, lambda x, y: where(y > 0, 1, 0),
          "max(x, 0) elementwise; the gradient at exactly 0 is 0.",
          float_forward=_relu, keeps_integers=True,
          kernel_forward=lambda k, d: k.relu(d),
          kernel_backward=lambda k, g, x, y: k.threshold_backward(g, y, 0),
          backward_op="threshold_backward"),
    Unary("erf", None, lambda x, y: _TWO_OVER_SQRT_PI * exp(-(x ** 2)),
          "The error function (used by the exact GELU).", float_forward=math.erf,
          kernel_forward=lambda k, d: k.erf(d)),
    # -- activations with options (their public functions, with ``inplace=`` and
    # ``approximate=``, are in `tapegrad.ops.activation`)
    Unary("leaky_relu", lambda d, negative_slope: np.where(d > 0, d, d * negative_slope),
          lambda x, y, negative_slope: where(x > 0, 1, negative_slope),
          "x for x > 0, else negative_slope·x; the gradient at 0 is negative_slope.",
          options=(("negative_slope", 0.01),), float_only="leaky_relu_cpu", public=False,
          backward_op="leaky_relu_backward"),
    Unary("hardtanh", lambda d, min_val, max_val: np.minimum(
              np.maximum(d, np.asarray(min_val, d.dtype)), np.asarray(max_val, d.dtype)),
          lambda x, y, min_val, max_val: where((x > min_val) & (x < max_val), 1, 0),
          "x clamped to [min_val, max_val]; unlike clamp, the gradient is 0 on the edges.",
          options=(("min_val", -1.0), ("max_val", 1.0)), keeps_integers=True, public=False,
          backward_op="hardtanh_backward"),
    Unary("elu", lambda d, alpha: np.where(d <= 0, alpha * np.expm1(d), d),
          lambda x, y, alpha: where(x <= 0, alpha * exp(x), 1),
          "x for x > 0, alpha (e^x − 1) otherwise; the gradient at 0 is alpha.",
          options=(("alpha", 1.0),), float_only="elu_cpu", public=False,
          backward_op="elu_backward"),
    Unary("softplus", lambda d, beta, threshold: np.where(
              d * beta > threshold, d, np.log1p(np.exp(d * beta)) / beta),
          lambda x, y, beta, threshold: where(x * beta > threshold, 1, sigmoid(x * beta)),
          "ln(1 + e^(beta x)) / beta, a smooth relu (linear once beta x > threshold).",
          options=(("beta", 1.0), ("threshold", 20.0)), float_only="softplus_cpu",
          public=False, backward_op="softplus_backward"),
    Unary("gelu", None,  # forward: the erf kernel of the array's device
          lambda x, y: 0.5 * (1 + erf(x * _INV_SQRT2)) + x * _PDF * exp(-0.5 * x ** 2),
          "x·Φ(x): x weighted by how likely a standard normal is below it.",
          float_only="GeluKernelImpl", public=False, backward_op="gelu_backward",
          kernel_forward=lambda k, d: d * 0.5 * (1 + k.erf(d * _SQRT1_2)),
          float_forward=lambda x: x * 0.5 * (1 + math.erf(x * _SQRT1_2))),
    Unary("gelu_tanh", _gelu_tanh, _gelu_tanh_derivative,
          "GELU's tanh approximation (approximate='tanh'), the formula of the GPT-2 era.",
          float_only="GeluKernelImpl", public=False, node_name="GeluBackward0",
          backward_op="gelu_backward"),
    Unary("logsigmoid", lambda d: np.minimum(d, 0) - np.log1p(np.exp(-np.abs(d))),
          lambda x, y: sigmoid(-x), "ln sigmoid(x), computed stably.",
          float_only="log_sigmoid_cpu", public=False, node_name="LogSigmoidBackward0",
          backward_op="log_sigmoid_backward"),
    Unary("silu", lambda d: d / (1 + np.exp(-d)),
          lambda x, y: sigmoid(x) * (1 + x * (1 - sigmoid(x))),
          "x·sigmoid(x) (also called swish).", float_only="silu_cpu", public=False),
    Unary("abs", np.abs, lambda x, y: sign(x),
          "|x| of each element; its gradient at 0 is 0.",
          float_forward=abs, keeps_integers=True,
          bool_error="\"abs_cpu\" not implemented for 'Bool'"),
    Unary("sign", _np_sign, lambda x, y: 0, "−1, 0 or 1 for each element (zero gradient).",
          float_forward=FUNCTIONS["sign"], keeps_integers=True),
    Unary("floor", np.floor, lambda x, y: 0, "Largest integer ≤ x (zero gradient).",
          keeps_integers=True),
    Unary("ceil", np.ceil, lambda x, y: 0, "Smallest integer ≥ x (zero gradient).",
          keeps_integers=True),
    Unary("round", np.rint, lambda x, y: 0,
          "Round half to even (round(2.5) = 2), like torch and numpy (zero gradient).",
          keeps_integers=True),
    Unary("trunc", np.trunc, lambda x, y: 0, "x rounded toward zero (zero gradient).",
          keeps_integers=True),
    Unary("frac", lambda d: d - np.trunc(d), lambda x, y: 1,
          "x − trunc(x): the fractional part, with x's sign."),
)

BINARY: tuple[Binary, ...] = (
    Binary("add", "+", np.add, lambda a, b: a + b, lambda a, b, y: 1, lambda a, b, y: 1,
           "a + b"),
    Binary("sub", "−", np.subtract, lambda a, b: a - b, lambda a, b, y: 1,
           lambda a, b, y: -1, "a − b"),
    Binary("mul", "·", np.multiply, lambda a, b: a * b, lambda a, b, y: b,
           lambda a, b, y: a, "a · b"),
    Binary("div", "/", np.true_divide, safe_div, lambda a, b, y: 1 / b,
           lambda a, b, y: -a / b ** 2, "a / b (true division)"),
    # torch's conventions at 0: ∂(a^0)/∂a = 0 (even at a = 0), and ∂(0^b)/∂b = 0 for b ≥ 0
    Binary("pow", "^", np.power, safe_pow,
           lambda a, b, y: where(b.eq(0), 0, b * a ** (b - 1)),
           lambda a, b, y: where(a.eq(0) & (b >= 0), 0, y * log(a)), "a to the power b"),
)

#: Every pointwise rule by name.
RULES: dict[str, Unary | Binary] = {r.name: r for r in (*UNARY, *BINARY)}
