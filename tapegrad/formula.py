"""Formulas: a derivative written once, then read, run on floats and run on tensors.

An op's derivative is written as ordinary Python over its inputs and output::

    derivative = lambda x, y: 1 - y ** 2          # d tanh(x)/dx, with y = tanh(x)

Calling that lambda with `Expr` placeholders instead of numbers *records* the formula as a
small tree (``sub(1, pow(y, 2))``). From the one tree come three things:

* `Expr.text` -- the formula a learner reads: ``1 − y²``;
* `float_function` -- a compiled Python function over floats for `tapegrad.Scalar`
  (division by zero gives inf/nan as in torch, never an exception);
* `tensor_function` -- a compiled function over tensors for the tensor op's backward.
  Its operations are tensor ops, so they are recorded when ``create_graph=True``: that is
  why second derivatives need no extra code.

The variables are fixed names: ``x`` (the input of a one-input op), ``a`` and ``b`` (the
inputs of a two-input op), ``y`` (the output) and ``g`` (the gradient arriving from the
output). Only what a derivative needs is here: ``+ − × / **``, comparisons, ``where``,
and a few functions (`FUNCTIONS`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from tapegrad.kernels import special

__all__ = ["Expr", "FLOAT_NAMESPACE", "FUNCTIONS", "chain", "constant", "diff",
           "array_function", "float_function", "float_source", "safe_div", "safe_pow",
           "tensor_function", "total",
           "trace", "where",
           "register_tensor_function",
           "cos", "cosh", "digamma", "erf", "exp", "floor", "i0", "i1", "lgamma", "log", "log1p",
           "round_", "sigmoid", "sign", "sin", "sinh", "sqrt", "tanh", "tetragamma", "trigamma",
           "trunc"]

# Binding strength, to print and generate parentheses only where they are needed.
_PRECEDENCE = {"where": 0, "or": 1, "and": 2, "cmp": 3, "add": 4, "sub": 4, "mul": 5,
               "div": 5, "neg": 6, "pow": 7, "call": 8, "var": 9, "const": 9}
_COMPARISONS = {"gt": ">", "lt": "<", "ge": ">=", "le": "<=", "eq": "==", "ne": "!="}
_TEXT_SYMBOL = {"add": " + ", "sub": " − ", "mul": "·", "div": " / ", "and": " and ",
                "or": " or ", **{k: f" {v} " for k, v in _COMPARISONS.items()}}
_TEXT_SYMBOL.update(ge=" ≥ ", le=" ≤ ", ne=" ≠ ", eq=" = ")
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


class Expr:
    """A node of a formula: an operation (``op``) on its arguments (``args``).

    Leaves are ``Expr("var", name)`` and ``Expr("const", number)``; functions are
    ``Expr("call", name, argument)``. Python's operators build the tree, so a derivative
    is written as it would be on paper.
    """

    __slots__ = ("op", "args")
    __hash__ = object.__hash__

    def __init__(self, op: str, *args: Any) -> None:
        self.op = op
        self.args = args

    # -- building (operators record instead of computing) --------------------------------
    def __add__(self, o: Any) -> Expr:
        return Expr("add", self, _lift(o))

    def __radd__(self, o: Any) -> Expr:
        return Expr("add", _lift(o), self)

    def __sub__(self, o: Any) -> Expr:
        return Expr("sub", self, _lift(o))

    def __rsub__(self, o: Any) -> Expr:
        return Expr("sub", _lift(o), self)

    def __mul__(self, o: Any) -> Expr:
        return Expr("mul", self, _lift(o))

    def __rmul__(self, o: Any) -> Expr:
        return Expr("mul", _lift(o), self)

    def __truediv__(self, o: Any) -> Expr:
        return Expr("div", self, _lift(o))

    def __rtruediv__(self, o: Any) -> Expr:
        return Expr("div", _lift(o), self)

    def __pow__(self, o: Any) -> Expr:
        return Expr("pow", self, _lift(o))

    def __rpow__(self, o: Any) -> Expr:
        return Expr("pow", _lift(o), self)

    def __neg__(self) -> Expr:
        return Expr("neg", self)

    def __gt__(self, o: Any) -> Expr:
        return Expr("gt", self, _lift(o))

    def __lt__(self, o: Any) -> Expr:
        return Expr("lt", self, _lift(o))

    def __ge__(self, o: Any) -> Expr:
        return Expr("ge", self, _lift(o))

    def __le__(self, o: Any) -> Expr:
        return Expr("le", self, _lift(o))

    def eq(self, o: Any) -> Expr:
        """``x == o`` (a method: ``==`` itself keeps its meaning of identity)."""
        return Expr("eq", self, _lift(o))

    def __and__(self, o: Any) -> Expr:
        return Expr("and", self, _lift(o))

    def __bool__(self) -> bool:
        raise TypeError("a formula has no truth value: write where(condition, a, b), "
                        "not `a if condition else b`")

    # -- reading ------------------------------------------------------------------------
    @property
    def variables(self) -> set[str]:
        """The names of the variables the formula reads (``{'y'}`` for tanh's)."""
        if self.op == "var":
            return {self.args[0]}
        found: set[str] = set()
        for a in self.args:
            if isinstance(a, Expr):
                found |= a.variables
        return found

    def constant(self) -> float | None:
        """The number this formula is, if it is a bare constant (``1``, ``-1``, ``0``)."""
        if self.op == "const":
            return self.args[0]
        if self.op == "neg" and self.args[0].op == "const":
            return -self.args[0].args[0]
        return None

    def substitute(self, values: dict[str, float]) -> Expr:
        """The formula with some variables replaced by numbers, folded where that makes
        it shorter: ``where(b = 0, 0, b·a^(b − 1))`` with b = 2 is ``2·a``."""
        return _fold(self, values)

    def text(self, names: dict[str, str] | None = None) -> str:
        """The formula as a learner reads it: ``1 − y²``, ``cos(x)``, ``b·a^(b − 1)``.

        ``names`` renames variables (the stepper writes ``%3`` for ``x``)."""
        return _text(self, names or {})

    def __repr__(self) -> str:
        return f"Expr({self.text()})"


def _lift(v: Any) -> Expr:
    if isinstance(v, Expr):
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"a formula takes numbers and formulas, not {type(v).__name__}")
    return Expr("const", v)


def _call(name: str) -> Callable[[Any], Expr]:
    def function(x: Any) -> Expr:
        return Expr("call", name, _lift(x))

    function.__name__ = name
    function.__doc__ = f"``{name}(x)`` inside a formula."
    return function


def constant(value: float, text: str) -> Expr:
    """A number with a name for printing: ``constant(2 / math.sqrt(math.pi), "2/√π")``."""
    return Expr("const", value, text)


def where(condition: Expr, a: Any, b: Any) -> Expr:
    """``a`` where ``condition`` holds, else ``b`` (elementwise for tensors)."""
    return Expr("where", condition, _lift(a), _lift(b))


#: Functions a formula may call, with the float version `float_function` runs for each
#: (tensors call the tensor op of the same name). The float versions never raise: math's
#: domain and overflow errors become numpy's nan and inf, which is what torch gives.
cos, cosh, erf, exp, log, sigmoid, sign, sin, sinh, sqrt, tanh = (_call(n) for n in (
    "cos", "cosh", "erf", "exp", "log", "sigmoid", "sign", "sin", "sinh", "sqrt", "tanh"))
# the special functions' derivatives (lgamma' = digamma, digamma' = trigamma = ψ₁,
# trigamma' = tetragamma = ψ₂, i0' = i1), log1p (mish's), and the steps floor and trunc
# (fmod's and remainder's ∂/∂b = −trunc(a/b), −floor(a/b))
lgamma, digamma, trigamma, tetragamma, i0, i1, log1p, floor, trunc, round_ = (
    _call(n) for n in ("lgamma", "digamma", "trigamma", "tetragamma", "i0", "i1", "log1p",
                       "floor", "trunc", "round"))


def total(math_fn: Callable[[float], float], numpy_fn: Any) -> Callable[[float], float]:
    """``math_fn``, with numpy's answer where math raises (log(0) = -inf, sqrt(-1) = nan)."""
    def fn(x: float) -> float:
        try:
            return math_fn(x)
        except (ValueError, OverflowError):
            with np.errstate(all="ignore"):
                return float(numpy_fn(np.float64(x)))

    fn.__name__ = math_fn.__name__
    return fn


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)  # never overflows for x < 0
    return e / (1.0 + e)


def _sign(x: float) -> float:
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0 * x)  # sign(nan) = nan * 0 = nan


def safe_div(p: float, q: float) -> float:
    """p / q with IEEE's answer at q = 0 (inf or nan) instead of ZeroDivisionError."""
    if q:
        return p / q
    if p != p or p == 0:
        return math.nan
    return math.copysign(math.inf, p) * math.copysign(1.0, q)


def safe_pow(x: float, y: float) -> float:
    """x ** y with numpy's answer where Python raises or goes complex (0 ** -1 = inf)."""
    try:
        r = x ** y
        if r.__class__ is float:
            return r
    except (ZeroDivisionError, OverflowError):
        pass
    with np.errstate(all="ignore"):
        return float(np.power(np.float64(x), np.float64(y)))


def _on_array(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[float], float]:
    """An array function of `tapegrad.kernels.special` on one float."""
    def one(x: float) -> float:
        with np.errstate(all="ignore"):
            return float(fn(np.float64(x)))

    one.__name__ = getattr(fn, "__name__", "special")
    return one


FUNCTIONS: dict[str, Callable[[float], float]] = {
    "cos": total(math.cos, np.cos), "cosh": total(math.cosh, np.cosh), "erf": math.erf,
    "exp": total(math.exp, np.exp), "log": total(math.log, np.log), "sigmoid": _sigmoid,
    "sign": _sign, "tanh": math.tanh,
    "sin": total(math.sin, np.sin), "sinh": total(math.sinh, np.sinh),
    "sqrt": total(math.sqrt, np.sqrt),
    "lgamma": _on_array(special.lgamma), "digamma": _on_array(special.digamma),
    "trigamma": _on_array(lambda v: special.polygamma(1, v)),
    "tetragamma": _on_array(lambda v: special.polygamma(2, v)),
    "i0": _on_array(special.i0), "i1": _on_array(special.i1),
    "log1p": total(math.log1p, np.log1p),
    "floor": _on_array(np.floor), "trunc": _on_array(np.trunc), "round": _on_array(np.rint),
}
#: The names that float code generated from formulas calls.
FLOAT_NAMESPACE = {f"_{k}": v for k, v in FUNCTIONS.items()} | {"_div": safe_div, "_pow": safe_pow}


def trace(derivative: Callable[..., Any], names: tuple[str, ...]) -> Expr:
    """Record ``derivative`` (a lambda over ``names``) as a formula."""
    return _lift(derivative(*(Expr("var", n) for n in names)))


def _fold(e: Expr, values: dict[str, float]) -> Expr:
    if e.op == "var":
        return Expr("const", values[e.args[0]]) if e.args[0] in values else e
    if e.op == "const":
        return e
    args = [_fold(a, values) if isinstance(a, Expr) else a for a in e.args]
    if e.op == "where" and args[0].constant() is not None:
        return args[1] if args[0].constant() else args[2]
    folded = Expr(e.op, *args)
    operands = [a for a in args if isinstance(a, Expr)]
    if all(a.op == "const" and len(a.args) == 1 for a in operands):
        value = float_function(folded, ())()
        return Expr("const", int(value) if float(value).is_integer() else value)
    if e.op == "pow" and args[1].constant() == 1:
        return args[0]
    if e.op == "mul":
        return _mul(args[0], args[1])
    if e.op == "add":
        return _add(args[0], args[1])
    return folded


# ------------------------------------------------------------------ printing
def _paren(e: Expr, parent: str, names: dict, right: bool = False) -> str:
    inner = _text(e, names)
    p, c = _PRECEDENCE.get(parent, 3), _precedence(e)
    if inner.startswith("−") and parent in ("add", "sub", "mul", "div", "pow") and (
            right or parent == "pow"):
        return f"({inner})"  # a·(−3), not a·−3
    if c < p or (c == p and right and parent in ("sub", "div", "pow")):
        return f"({inner})"
    return inner


def _precedence(e: Expr) -> int:
    if e.op == "const" and e.args[0] < 0:
        return _PRECEDENCE["neg"]
    return _PRECEDENCE["cmp"] if e.op in _COMPARISONS else _PRECEDENCE[e.op]


def _number(v: float) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if v == math.pi:
        return "π"
    return str(v).replace("-", "−")


def _text(e: Expr, names: dict) -> str:
    op, args = e.op, e.args
    if op == "var":
        return names.get(args[0], args[0])
    if op == "const":
        return args[1] if len(args) > 1 else _number(args[0])
    if op == "call":
        return f"{args[0]}({_text(args[1], names)})"
    if op == "neg":
        return "−" + _paren(args[0], "neg", names)
    if op == "where":
        cond, a, b = (_text(x, names) for x in args)
        return f"{a} if {cond} else {b}"
    if op == "pow":
        base = _paren(args[0], "pow", names)
        power = args[1]
        if power.op == "const" and isinstance(power.args[0], int):
            return base + str(power.args[0]).translate(_SUPERSCRIPT)
        return f"{base}^{_paren(power, 'pow', names, right=True)}"
    left = _paren(args[0], op, names)
    right = _paren(args[1], op, names, right=True)
    if op == "mul" and args[0].op == "const" and len(args[0].args) == 1 and args[1].op != "const":
        return f"{left}{right}" if right[0].isalpha() or right[0] == "(" else f"{left}·{right}"
    return f"{left}{_TEXT_SYMBOL[op]}{right}"


# ------------------------------------------------------------------ code generation
_PY_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "and": "and", "or": "or", **_COMPARISONS}


def _py(e: Expr, src: dict[str, str], floats: bool, arrays: bool = False) -> str:
    """Python source for ``e``: for floats (safe division and powers, lazy ``where``) or
    for tensors (operators and ``where``/functions looked up by name at run time);
    ``arrays``: for tensors' arrays (powers through ``_pow``)."""
    op, args = e.op, e.args
    if op == "var":
        return src[args[0]]
    if op == "const":
        if isinstance(args[0], float) and not math.isfinite(args[0]):
            return f"float('{args[0]}')"  # nan, inf: no literal for them
        return repr(float(args[0]) if floats else args[0])
    if op == "call":
        return f"_{args[0]}({_py(args[1], src, floats, arrays)})"
    if op == "neg":
        return f"(-{_py(args[0], src, floats, arrays)})"
    if op == "where":
        c, a, b = (_py(x, src, floats, arrays) for x in args)
        return f"({a} if {c} else {b})" if floats else f"_where({c}, {a}, {b})"
    a, b = _py(args[0], src, floats, arrays), _py(args[1], src, floats, arrays)
    if floats and op == "pow" and args[0].op == "var" and args[1].constant() in (2, 3):
        return "(" + " * ".join([a] * int(args[1].constant())) + ")"  # y*y: no call
    if floats and op in ("div", "pow"):
        return f"_{op}({a}, {b})"
    if op == "and" and not floats:
        return f"({a} & {b})"
    if op == "pow" and arrays:
        return f"_pow({a}, {b})"  # np.power, as the tensor op calls (not ndarray's **)
    symbol = {"div": "/", "pow": "**"}.get(op) or _PY_SYMBOL[op]
    return f"({a} {symbol} {b})"


def chain(derivative: Expr, grad: Expr) -> Expr:
    """``grad · derivative``, simplified the way a person would: ``g·1`` is ``g``, ``g·0``
    is ``0``, ``g·(1/q)`` is ``g/q`` and ``g·(c ? p : q)`` is ``c ? g·p : g·q``."""
    k = derivative.constant()
    if k == 1:
        return grad
    if k == -1:
        return -grad
    if k == 0:
        return Expr("const", 0)
    if k is not None and math.isnan(k):
        # g·nan is nan whatever g is (logit outside [0, 1]); kept a constant, so that the
        # derivative with respect to g of the branch not taken is 0, not 0·nan
        return Expr("const", k)
    if derivative.op == "where":
        cond, a, b = derivative.args
        return where(cond, chain(a, grad), chain(b, grad))
    if derivative.op == "div" and derivative.args[0].constant() == 1:
        return Expr("div", grad, derivative.args[1])
    return Expr("mul", grad, derivative)


_ZERO, _ONE = Expr("const", 0), Expr("const", 1)


def diff(e: Expr, var: str) -> Expr:
    """∂e/∂var by the rules of calculus, simplified a little (so a derivative's own
    derivative, which double backward needs, is derived rather than written by hand).
    Comparisons and the choice in ``where`` are steps: their derivative is 0."""
    op, args = e.op, e.args
    if op == "var":
        return _ONE if args[0] == var else _ZERO
    if op == "const" or op in _COMPARISONS or op in ("and", "or"):
        return _ZERO
    if var not in e.variables:
        return _ZERO
    if op == "neg":
        return _neg(diff(args[0], var))
    if op == "where":
        return _where(args[0], diff(args[1], var), diff(args[2], var))
    if op == "call":
        u = args[1]
        return _mul(_derivative_of_call(args[0], u, e), diff(u, var))
    u, v = args
    du, dv = diff(u, var), diff(v, var)
    if op == "add":
        return _add(du, dv)
    if op == "sub":
        return _add(du, _neg(dv))
    if op == "mul":
        return _add(_mul(du, v), _mul(u, dv))
    if op == "div":  # (du·v − u·dv) / v², kept as du/v − u·dv/v²
        return _add(_div(du, v), _neg(_div(_mul(u, dv), Expr("pow", v, Expr("const", 2)))))
    if op == "pow":
        if "a" not in v.variables and var not in v.variables:  # u^k: k·u^(k−1)·du
            k = v.constant()
            power = u if k == 2 else Expr("pow", u, _lift(k - 1) if k is not None else v - 1)
            return _mul(_mul(v, power), du)
        return _add(_mul(_mul(v, Expr("pow", u, v - 1)), du),  # the general rule
                    _mul(_mul(e, Expr("call", "log", u)), dv))
    raise ValueError(f"no derivative rule for {op!r}")


def _derivative_of_call(name: str, u: Expr, e: Expr) -> Expr:
    return {"exp": lambda: e, "log": lambda: 1 / u, "sin": lambda: Expr("call", "cos", u),
            "cos": lambda: -Expr("call", "sin", u), "sinh": lambda: Expr("call", "cosh", u),
            "cosh": lambda: Expr("call", "sinh", u), "sqrt": lambda: 0.5 / e,
            "sign": lambda: _ZERO, "sigmoid": lambda: e * (1 - e), "tanh": lambda: 1 - e ** 2,
            "erf": lambda: Expr("const", 2 / math.sqrt(math.pi), "2/√π")
            * Expr("call", "exp", -(u ** 2)),
            "log1p": lambda: 1 / (1 + u), "floor": lambda: _ZERO, "trunc": lambda: _ZERO,
            "round": lambda: _ZERO,
            "lgamma": lambda: Expr("call", "digamma", u),
            "digamma": lambda: Expr("call", "trigamma", u),
            "trigamma": lambda: Expr("call", "tetragamma", u),
            "i0": lambda: Expr("call", "i1", u),
            # I₁' = I₀ − I₁/x (the limit 1/2 at x = 0 is not needed by any formula here)
            "i1": lambda: Expr("call", "i0", u) - Expr("call", "i1", u) / u}[name]()


def _add(p: Expr, q: Expr) -> Expr:
    if p.constant() == 0:
        return q
    if q.constant() == 0:
        return p
    return Expr("add", p, q)


def _neg(p: Expr) -> Expr:
    k = p.constant()
    return Expr("const", -k) if k is not None else Expr("neg", p)


def _mul(p: Expr, q: Expr) -> Expr:
    if p.constant() == 0 or q.constant() == 0:
        return _ZERO
    if p.constant() == 1:
        return q
    if q.constant() == 1:
        return p
    return Expr("mul", p, q)


def _div(p: Expr, q: Expr) -> Expr:
    return _ZERO if p.constant() == 0 else Expr("div", p, q)


def _where(c: Expr, p: Expr, q: Expr) -> Expr:
    if p.constant() == 0 and q.constant() == 0:
        return _ZERO
    return Expr("where", c, p, q)


def float_function(e: Expr, params: tuple[str, ...]) -> Callable[..., float]:
    """Compile ``e`` into ``f(*params) -> float`` (Scalar's arithmetic)."""
    return _compile(_py(e, {n: n for n in params}, True), params, FLOAT_NAMESPACE)


def float_source(e: Expr, src: dict[str, str]) -> str:
    """Python source over floats for ``e``, variables replaced by ``src`` (code that
    generates code, like Scalar's backward walk, splices it in)."""
    return _py(e, src, True)



def _method_or_float(name: str) -> Callable[[Any], Any]:
    """``x.<name>()`` for a tensor, the float function for a number (a binary op's operand
    may be a Python number: ``2 ** x`` reads ``log(2)``)."""
    on_float = FUNCTIONS[name]

    def fn(v: Any) -> Any:
        return on_float(v) if isinstance(v, (int, float)) else getattr(v, name)()

    return fn


_TENSOR_NAMESPACE = {f"_{name}": _method_or_float(name) for name in FUNCTIONS}


def register_tensor_function(name: str, on_tensor: Callable[[Any], Any]) -> None:
    """Say how a formula's ``name(...)`` runs on tensors when the Tensor has no method of
    that name (``trigamma`` is ``polygamma(1, x)``; ``i1`` is a hidden op). The ops layer
    registers these on import; formulas compile on first use, after that."""
    on_float = FUNCTIONS[name]
    _TENSOR_NAMESPACE[f"_{name}"] = lambda v: (
        on_float(v) if isinstance(v, (int, float)) else on_tensor(v))


def tensor_function(e: Expr, params: tuple[str, ...],
                    where_fn: Callable[..., Any]) -> Callable[..., Any]:
    """Compile ``e`` into ``f(*params)`` over tensors (and numbers), using ``where_fn`` for
    ``where`` and the tensors' own methods for functions (``x.cos()``).

    The compiling waits for the first call: a program uses a few of the ops, and
    ``import tapegrad`` should not pay for compiling the backward of every one."""
    body = _py(e, {n: n for n in params}, False)
    compiled: list = []

    def formula(*args: Any) -> Any:
        if not compiled:
            compiled.append(_compile(body, params, {**_TENSOR_NAMESPACE, "_where": where_fn}))
        return compiled[0](*args)

    formula.source = f"def formula({', '.join(params)}):\n    return {body}\n"
    return formula


def array_function(e: Expr, params: tuple[str, ...], where_fn: Callable[..., Any],
                   to_tensor: Callable[[Any], Any]) -> Callable[..., Any]:
    """Compile ``e`` into ``f(*params)`` over the *arrays* behind tensors (and numbers).

    The same generated code as `tensor_function`, run on numpy arrays: a tensor op on
    tensors of one float dtype calls exactly these numpy operators on their arrays, so when
    nothing needs recording (a backward without ``create_graph``) the formula gives the
    same numbers without the cost of a recorded op per ``+`` and ``*``. The caller keeps
    the exactness condition: every array argument has one float dtype. Functions
    (``x.exp()``) and a ``where`` between two numbers run as tensor ops on wrapped arrays
    (``to_tensor``, ``where_fn``), so that they too compute what the tensor code does.

    Numbers from 0-d arrays come back as numpy scalars; the caller turns the result
    into an array of its dtype."""
    body = _py(e, {n: n for n in params}, False, arrays=True)
    compiled: list = []

    def array_pow(a: Any, b: Any) -> Any:
        if isinstance(a, (np.ndarray, np.generic)) or isinstance(b, (np.ndarray, np.generic)):
            return np.power(a, b)  # what Pow runs (ndarray's ** takes shortcuts for 0.5, 2...)
        return a ** b  # two Python numbers: Python's power, as in the tensor code

    def array_where(condition: Any, a: Any, b: Any) -> Any:
        if isinstance(condition, (bool, np.bool_)):
            return a if condition else b
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return np.where(condition, a, b)  # a number takes the array's dtype (NEP 50)
        return where_fn(to_tensor(condition), a, b)._data  # two numbers: torch's dtype

    def call(name: str) -> Callable[[Any], Any]:
        on_float = FUNCTIONS[name]
        on_tensor = _TENSOR_NAMESPACE[f"_{name}"]  # what the tensor code runs (registered
        # functions such as trigamma included)

        def fn(v: Any) -> Any:
            if isinstance(v, (int, float)) and not isinstance(v, np.generic):
                return on_float(v)  # a Python number operand, as in the tensor code
            return on_tensor(to_tensor(np.asarray(v)))._data

        return fn

    def now() -> Callable[..., Any]:
        if not compiled:
            namespace = {f"_{name}": call(name) for name in FUNCTIONS}
            compiled.append(_compile(body, params, {**namespace, "_where": array_where,
                                                    "_pow": array_pow}))
        return compiled[0]

    def formula(*args: Any) -> Any:
        return now()(*args)

    formula.source = f"def formula({', '.join(params)}):\n    return {body}\n"
    formula.now = now  # the compiled function itself, for callers that keep it
    return formula


def _compile(body: str, params: tuple[str, ...], namespace: dict) -> Callable[..., Any]:
    source = f"def formula({', '.join(params)}):\n    return {body}\n"
    scope = dict(namespace)
    exec(compile(source, "<formula>", "exec"), scope)  # our own generated code
    fn = scope["formula"]
    fn.source = source
    return fn
