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
    digamma,
    erf,
    exp,
    floor,
    i0,
    i1,
    log,
    log1p,
    round_,
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
    trigamma,
    trunc,
    where,
)
from tapegrad.formula import lgamma as _lgamma
from tapegrad.kernels import special

__all__ = ["Unary", "Binary", "UNARY", "BINARY", "BINARY_FUNCTIONS", "RULES"]

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
    symbol: str  # how y = a ∘ b is written: "+", "·", "^"... (a function: its name)
    forward: Callable[[Any, Any], Any]  # on arrays
    float_forward: Callable[[float, float], float] | None  # on floats (Scalar)
    derivative_a: Callable[[Expr, Expr, Expr], Any]  # lambda a, b, y: ∂y/∂a
    derivative_b: Callable[[Expr, Expr, Expr], Any]  # lambda a, b, y: ∂y/∂b
    doc: str
    #: integer inputs give the default float dtype (atan2, xlogy), as true division does
    to_float: bool = False
    #: the dtype kinds accepted ("f": floating only, "iu": integers only...), with torch's
    #: kernel name for the NotImplementedError of any other ("hypot_cpu")
    accepts: str = ""
    kernel_name: str = ""
    node_name: str = ""  # torch's grad_fn name when it is not <Name>Backward0
    #: which operands may be Python numbers ("b": other; "ab": both), as torch's overloads
    numbers: str = ""
    inplace: bool = True  # whether torch has the in-place method (x.atan2_(y))
    #: a check of the operands (tensors or numbers) beyond their dtype kinds
    check: Callable[[Any, Any], None] | None = None
    formulas: tuple[Expr, Expr] = field(init=False)

    def __post_init__(self) -> None:
        names = ("a", "b", "y")
        object.__setattr__(self, "formulas", (trace(self.derivative_a, names),
                                              trace(self.derivative_b, names)))

    @property
    def class_name(self) -> str:
        """``BitwiseLeftShift`` for ``bitwise_left_shift``: the Function's name."""
        return "".join(part.capitalize() for part in self.name.split("_"))

    @property
    def backward_name(self) -> str:
        return self.node_name or f"{self.class_name}Backward0"

    def text(self) -> str:
        """``∂(a·b)/∂a = b,  ∂(a·b)/∂b = a``; a function reads ``∂atan2(a, b)/∂a``."""
        if self.symbol.isidentifier():
            op = f"{self.symbol}(a, b)"
            return (f"∂{op}/∂a = {self.formulas[0].text()},  "
                    f"∂{op}/∂b = {self.formulas[1].text()}")
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


_PI_180 = constant(math.pi / 180, "π/180")
_180_PI = constant(180 / math.pi, "180/π")
_SQRT_PI_OVER_TWO = constant(math.sqrt(math.pi) / 2, "√π/2")
_SIXTH = constant(1 / 6, "1/6")
# selu's constants (Klambauer et al. 2017): the fixed point of mean 0 and variance 1
_SELU_ALPHA_VALUE = 1.6732632423543772848170429916717
_SELU_SCALE_VALUE = 1.0507009873554804934193349852946
_SELU_ALPHA = _SELU_ALPHA_VALUE
_SELU_SCALE = constant(_SELU_SCALE_VALUE, "λ")
_SELU_SCALE_ALPHA = constant(_SELU_SCALE_VALUE * _SELU_ALPHA_VALUE, "λα")


def _elu_slope(x: Expr, negative: Any, inner: Any, positive: Any) -> Expr:
    """The slope of the elu family, ``negative·e^(inner·x)`` for x ≤ 0 and ``positive``
    otherwise, written as torch's kernels behave at the edges: at x = 0 the slope is the
    constant ``negative`` (so the second derivative there is 0); a NaN takes the positive
    slope (torch's vectorised kernels differ from element to element there: this choice
    agrees with more of its cases); and e^(...) reads min(x, 0), so that for x = +inf the
    unused branch is 1, not inf (its gradient, 0·inf, would be NaN)."""
    below = where(x <= 0, x, 0)
    return where(x <= 0, where(x.eq(0), negative, negative * exp(inner * below)), positive)


def _sinc_derivative(x: Expr, y: Expr) -> Expr:
    """d/dx sin(πx)/(πx) = (πx cos(πx) − sin(πx)) / (πx²), and 0 at x = 0."""
    px = math.pi * x
    return where(x.eq(0), 0, (px * cos(px) - sin(px)) / (math.pi * x ** 2))


def _mish_derivative(x: Expr, y: Expr) -> Expr:
    """d/dx x·tanh(sp(x)), sp = softplus: tanh(sp) + x·sigmoid(x)·(1 − tanh²(sp))."""
    t = tanh(log1p(exp(x)))
    return t + x * sigmoid(x) * (1 - t ** 2)


def _logit_clamped(d: np.ndarray, eps: float) -> np.ndarray:
    z = np.minimum(np.maximum(d, d.dtype.type(eps)), d.dtype.type(1 - eps))
    return np.log(z / (1 - z))


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
          # written as "0 at or beyond an edge" so that a NaN passes its gradient, as torch
          lambda x, y, min_val, max_val: where(x <= min_val, 0, where(x >= max_val, 0, 1)),
          "x clamped to [min_val, max_val]; unlike clamp, the gradient is 0 on the edges.",
          options=(("min_val", -1.0), ("max_val", 1.0)), keeps_integers=True, public=False,
          backward_op="hardtanh_backward"),
    Unary("elu", lambda d, alpha: np.where(d <= 0, alpha * np.expm1(d), d),
          lambda x, y, alpha: _elu_slope(x, alpha, 1, 1),
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
    Unary("sgn", _np_sign, lambda x, y: 0,
          "x/|x| (0 at 0): for real numbers the same as sign (zero gradient).",
          keeps_integers=True),
    Unary("deg2rad", lambda d: d * d.dtype.type(math.pi / 180), lambda x, y: _PI_180,
          "Degrees to radians: x·π/180.", float_forward=lambda x: x * (math.pi / 180),
          node_name="Deg2RadBackward0"),
    Unary("rad2deg", lambda d: d * d.dtype.type(180 / math.pi), lambda x, y: _180_PI,
          "Radians to degrees: x·180/π.", float_forward=lambda x: x * (180 / math.pi),
          node_name="Rad2DegBackward0"),
    Unary("sinc", np.sinc, _sinc_derivative,
          "The normalised sinc: sin(πx)/(πx), and 1 at x = 0."),
    # -- special functions (their numerics, and how each is computed: tapegrad.kernels.special)
    Unary("erfc", special.erfc, lambda x, y: -_TWO_OVER_SQRT_PI * exp(-(x ** 2)),
          "1 − erf(x), without the cancellation for large x.", float_forward=math.erfc),
    Unary("erfinv", special.erfinv, lambda x, y: _SQRT_PI_OVER_TWO * exp(y ** 2),
          "The inverse of erf: the y in (−inf, inf) with erf(y) = x (nan outside [−1, 1])."),
    Unary("lgamma", special.lgamma, lambda x, y: digamma(x),
          "ln |Γ(x)|, the log of the gamma function's magnitude (inf at 0, −1, −2...)."),
    Unary("digamma", special.digamma, lambda x, y: trigamma(x),
          "ψ(x) = d ln Γ(x)/dx, the digamma function."),
    Unary("i0", special.i0, lambda x, y: i1(x),
          "I₀(x), the modified Bessel function of the first kind of order 0."),
    Unary("i1", special.i1, lambda x, y: where(x.eq(0), 0.5, i0(x) - y / x),
          "I₁(x) = I₀'(x), the modified Bessel function of order 1 (torch.special.i1): "
          "i0's derivative, so that its second derivative exists.", public=False,
          node_name="SpecialI1Backward0"),
    Unary("logit", lambda d: np.log(d / (1 - d)),
          lambda x, y: where(x < 0, math.nan, where(x > 1, math.nan, 1 / (x * (1 - x)))),
          "ln(x/(1 − x)), the inverse of the sigmoid (nan outside [0, 1]).", public=False),
    Unary("logit_eps", lambda d, eps: _logit_clamped(d, eps),
          lambda x, y, eps: where(x < eps, 0, where(x > 1 - eps, 0, 1 / (x * (1 - x)))),
          "logit of x clamped to [eps, 1 − eps]; the gradient is 0 where the clamp holds.",
          options=(("eps", 1e-6),), public=False, node_name="LogitBackward0"),
    # -- activations (their public functions are in tapegrad.ops.activation)
    Unary("celu", lambda d, alpha: np.where(d <= 0, alpha * np.expm1(d / alpha), d),
          lambda x, y, alpha: _elu_slope(x, 1, 1 / alpha, 1),
          "x for x > 0, alpha (e^(x/alpha) − 1) otherwise: elu, continuously differentiable.",
          options=(("alpha", 1.0),), float_only="elu_cpu", public=False),
    Unary("selu", lambda d: _SELU_SCALE_VALUE * np.where(d <= 0, _SELU_ALPHA * np.expm1(d), d),
          lambda x, y: _elu_slope(x, _SELU_SCALE_ALPHA, 1, _SELU_SCALE),
          "scale·elu(x, alpha) with the constants that keep activations normalised.",
          float_only="elu_cpu", public=False, node_name="EluBackward0"),
    Unary("hardswish", lambda d: d * np.minimum(np.maximum(d + 3, 0), 6) / 6,
          lambda x, y: where(x <= -3, 0, where(x < 3, x / 3 + 0.5, 1)),  # torch's edges
          "x·relu6(x + 3)/6, a piecewise-quadratic swish.", float_only="hardswish_cpu",
          public=False),
    Unary("hardsigmoid", lambda d: np.minimum(np.maximum(d + 3, 0), 6) / 6,
          lambda x, y: where(x <= -3, 0, where(x < 3, _SIXTH, 0)),
          "relu6(x + 3)/6, a piecewise-linear sigmoid.", float_only="hardsigmoid_cpu",
          public=False),
    Unary("mish", lambda d: d * np.tanh(np.logaddexp(0, d)), _mish_derivative,
          "x·tanh(softplus(x)).", float_only="mish_cpu", public=False),
    Unary("softshrink", lambda d, lambd: np.where(
              d > lambd, d - lambd, np.where(d < -lambd, d + lambd, d * 0)),
          lambda x, y, lambd: where((x >= -lambd) & (x <= lambd), 0, 1),
          "x shrunk towards 0 by lambd (0 inside [−lambd, lambd]).",
          options=(("lambd", 0.5),), float_only="softshrink_cpu", public=False),
    Unary("hardshrink", lambda d, lambd: np.where(np.abs(d) > lambd, d, d * 0),
          lambda x, y, lambd: where((x >= -lambd) & (x <= lambd), 0, 1),
          "x where |x| > lambd, else 0.", options=(("lambd", 0.5),),
          float_only="hardshrink_cpu", public=False),
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



def _integer_division_check(b: Any) -> None:
    if np.issubdtype(np.asarray(b).dtype, np.integer) and np.any(np.asarray(b) == 0):
        raise RuntimeError("ZeroDivisionError")


def _fmod(a: Any, b: Any) -> Any:
    _integer_division_check(b)
    return np.fmod(a, b)


def _remainder(a: Any, b: Any) -> Any:
    """a − b·floor(a/b): the remainder with the sign of b, as Python's ``%``."""
    _integer_division_check(b)
    return np.remainder(a, b)


def _xlogy(a: Any, b: Any) -> Any:
    """a·ln b, and 0 where a = 0 (unless b is nan)."""
    return np.where(np.equal(a, 0) & ~np.isnan(b), 0, a * np.log(b))


def _shift(left: bool) -> Callable[[Any, Any], Any]:
    """torch's shifts: a shift by a negative count or by the width of the type or more
    gives 0 to the left, and the sign (0 or −1) to the right (C leaves them undefined)."""
    def shift(a: Any, b: Any) -> Any:
        a, b = np.asarray(a), np.asarray(b)
        dtype = np.result_type(a, b)
        bits = np.iinfo(dtype).bits
        inside = (b >= 0) & (b < bits)
        count = np.where(inside, b, 0).astype(dtype)
        if left:
            return np.where(inside, np.left_shift(a.astype(dtype), count), 0).astype(dtype)
        sign = np.where(a < 0, -1, 0) if np.issubdtype(dtype, np.signedinteger) else 0
        return np.where(inside, np.right_shift(a.astype(dtype), count), sign).astype(dtype)

    return shift


def _ge_or_nan(a: Expr, b: Expr) -> Expr:
    """1 where fmax picks a (a ≥ b, or b is nan), else 0."""
    return where(a >= b, 1, where(b.eq(b), 0, 1))


def _le_or_nan(a: Expr, b: Expr) -> Expr:
    """1 where fmin picks a (a ≤ b, or b is nan), else 0."""
    return where(a <= b, 1, where(b.eq(b), 0, 1))


_NO_GRADIENT = "(no gradient: torch defines none)"


def _same_dtypes(a: Any, b: Any) -> None:
    if getattr(a, "dtype", None) != getattr(b, "dtype", None):
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes")

#: Two-input functions (tensor ops only: Scalar has the operators of BINARY).
BINARY_FUNCTIONS: tuple[Binary, ...] = (
    # (0 at the origin, where b/(a² + b²) is 0/0: torch's choice)
    Binary("atan2", "atan2", np.arctan2, math.atan2,
           lambda a, b, y: where((a ** 2 + b ** 2).eq(0), 0, b / (a ** 2 + b ** 2)),
           lambda a, b, y: where((a ** 2 + b ** 2).eq(0), 0, -a / (a ** 2 + b ** 2)),
           "The angle of the point (b, a) from the x axis, in (−π, π].", to_float=True),
    Binary("hypot", "hypot", np.hypot, math.hypot, lambda a, b, y: a / y,
           lambda a, b, y: b / y, "√(a² + b²) without overflow or underflow.",
           accepts="f", kernel_name="hypot_cpu"),
    Binary("copysign", "copysign", np.copysign, math.copysign,
           lambda a, b, y: where(a.eq(0), 0, y / a), lambda a, b, y: 0,
           "|a| with the sign of b (also of b = −0).", to_float=True, numbers="b"),
    Binary("fmod", "fmod", _fmod, None, lambda a, b, y: 1, lambda a, b, y: -trunc(a / b),
           "a − trunc(a/b)·b: the remainder with the sign of a, as C's fmod.", numbers="b"),
    # ∂/∂b = −(the floored quotient), which is (a − y)/b exactly: rounded, that is the
    # quotient Python's // gives (249 for −0.25 // −0.001, where floor(a/b) is 250)
    Binary("remainder", "remainder", _remainder, None, lambda a, b, y: 1,
           lambda a, b, y: -where(b.eq(0), floor(a / b), round_((a - y) / b)),
           "a − floor(a/b)·b: the remainder with the sign of b, as Python's %.",
           numbers="ab"),
    Binary("fmax", "fmax", np.fmax, None, lambda a, b, y: _ge_or_nan(a, b),
           lambda a, b, y: 1 - _ge_or_nan(a, b),
           "The larger of a and b, ignoring a nan (nan only if both are).", inplace=False),
    Binary("fmin", "fmin", np.fmin, None, lambda a, b, y: _le_or_nan(a, b),
           lambda a, b, y: 1 - _le_or_nan(a, b),
           "The smaller of a and b, ignoring a nan (nan only if both are).", inplace=False),
    Binary("logaddexp", "logaddexp", np.logaddexp, None,
           lambda a, b, y: 1 / (1 + exp(b - a)), lambda a, b, y: 1 / (1 + exp(a - b)),
           "ln(eᵃ + eᵇ), computed without overflow.", accepts="f",
           kernel_name="logaddexp_cpu", inplace=False),
    Binary("logaddexp2", "logaddexp2", np.logaddexp2, None,
           lambda a, b, y: 1 / (1 + 2 ** (b - a)), lambda a, b, y: 1 / (1 + 2 ** (a - b)),
           "log₂(2ᵃ + 2ᵇ), computed without overflow.", accepts="f",
           kernel_name="logaddexp2_cpu", inplace=False),
    Binary("xlogy", "xlogy", _xlogy, None,
           lambda a, b, y: where(a.eq(0) & (b <= 0), 0, log(b)),
           lambda a, b, y: a / b, "a·ln b, and 0 where a = 0 (unless b is nan).",
           to_float=True, numbers="ab"),
    Binary("heaviside", "heaviside", lambda a, b: np.where(
               np.asarray(a) == 0, b, np.asarray(a) > 0).astype(np.result_type(a, b)),
           None, lambda a, b, y: 0, lambda a, b, y: 0,
           f"The step function: 0 for a < 0, 1 for a > 0, b at a = 0 {_NO_GRADIENT}.",
           check=_same_dtypes),
    # torch passes the gradient through to a (the result is a, moved by one ulp)
    Binary("nextafter", "nextafter", np.nextafter, math.nextafter,
           lambda a, b, y: 1, lambda a, b, y: 0,
           "The next representable number after a towards b.",
           accepts="f", kernel_name="nextafter_cpu"),
    Binary("gcd", "gcd", np.gcd, None, lambda a, b, y: 0, lambda a, b, y: 0,
           "The greatest common divisor of integers (≥ 0).", accepts="iu",
           kernel_name="gcd_cpu"),
    Binary("lcm", "lcm", np.lcm, None, lambda a, b, y: 0, lambda a, b, y: 0,
           "The least common multiple of integers (≥ 0).", accepts="iu",
           kernel_name="lcm_cpu"),
    Binary("bitwise_left_shift", "<<", _shift(True), None, lambda a, b, y: 0,
           lambda a, b, y: 0, "a·2ᵇ for integers: the bits of a moved b places left.",
           accepts="iu", kernel_name="lshift_cpu", numbers="ab"),
    Binary("bitwise_right_shift", ">>", _shift(False), None, lambda a, b, y: 0,
           lambda a, b, y: 0, "floor(a/2ᵇ) for integers: the bits of a moved b places right.",
           accepts="iu", kernel_name="rshift_cpu", numbers="ab"),
    Binary("igamma", "igamma", special.igamma, None, lambda a, b, y: 0,
           lambda a, b, y: exp(-b) * b ** (a - 1) / exp(_lgamma(a)),
           "P(a, b) = γ(a, b)/Γ(a), the regularised lower incomplete gamma function "
           "(torch differentiates it in b only).", to_float=True, accepts="f",
           kernel_name="igamma_cpu"),
    Binary("igammac", "igammac", special.igammac, None, lambda a, b, y: 0,
           lambda a, b, y: -exp(-b) * b ** (a - 1) / exp(_lgamma(a)),
           "Q(a, b) = 1 − P(a, b), the regularised upper incomplete gamma function "
           "(torch differentiates it in b only).", to_float=True, accepts="f",
           kernel_name="igammac_cpu"),
)

#: Every pointwise rule by name.
RULES: dict[str, Unary | Binary] = {r.name: r for r in (*UNARY, *BINARY, *BINARY_FUNCTIONS)}
