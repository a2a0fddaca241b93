"""Every pointwise rule (`tapegrad.pointwise`), checked where it is used, against torch.

One definition feeds the tensor op, its in-place form, Scalar's method and walk, the
fused kernels and the stepper's captions; each use is compared here with torch (float64),
so a wrong formula fails in every place at once.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import tapegrad as tg
from tapegrad import kernels
from tapegrad.formula import Expr, diff, float_function
from tapegrad.pointwise import BINARY, RULES, UNARY

# inputs inside each op's domain, away from kinks (x = 0 for abs/relu, integers for floor)
DOMAIN = {"asin": (-0.9, 0.9), "acos": (-0.9, 0.9), "atanh": (-0.9, 0.9),
          "acosh": (1.1, 3.0), "log": (0.2, 3.0), "log2": (0.2, 3.0), "log10": (0.2, 3.0),
          "log1p": (-0.5, 3.0), "sqrt": (0.2, 3.0), "rsqrt": (0.2, 3.0),
          "reciprocal": (0.3, 3.0), "tan": (-1.2, 1.2), "erfinv": (-0.9, 0.9),
          "logit": (0.05, 0.95), "logit_eps": (0.05, 0.95), "lgamma": (0.2, 4.0),
          "digamma": (0.2, 4.0), "hardswish": (-2.9, 2.9)}
# (lgamma and digamma also take negative x: tests/ops/test_special_functions.py)
SMOOTH_SECOND = {r.name for r in UNARY} - {"sign", "floor", "ceil", "round", "trunc", "frac",
                                           "relu", "abs", "neg", "leaky_relu", "hardtanh",
                                           "sgn", "deg2rad", "rad2deg", "hardsigmoid",
                                           "softshrink", "hardshrink"}
# options other than the defaults, so that they are exercised (softplus: the linear branch)
OPTIONS = {"leaky_relu": {"negative_slope": 0.2}, "hardtanh": {"min_val": -0.5, "max_val": 1.2},
           "elu": {"alpha": 1.5}, "softplus": {"beta": 1.5, "threshold": 2.0},
           "celu": {"alpha": 0.7}, "softshrink": {"lambd": 0.3}, "hardshrink": {"lambd": 0.3},
           "logit_eps": {"eps": 0.2}}
# gradients where torch's own kernel is less exact than the formula (relative error):
# its trigamma (digamma's derivative, lgamma's second) is a short series good to ~5e-10;
# hardsigmoid's backward multiplies by 1/6 rounded to float32; celu's kernel is ~3e-8 off
# exp(x/alpha) for alpha = 0.7. The database compares at 1e-7.
GRAD_RTOL = {"lgamma": 2e-9, "digamma": 2e-9, "hardsigmoid": 1e-7, "celu": 1e-7}
# rules whose torch function has another name (tapegrad's op is public elsewhere)
TORCH_NAME = {"logit": lambda lib: lib.logit, "logit_eps": lambda lib: lib.logit,
              "i1": lambda lib: lib.special.i1 if lib is torch else None}


def op_of(lib, name: str):
    """``lib``'s function for rule ``name`` with OPTIONS applied: ``lib.<name>`` for plain
    rules, ``lib.nn.functional.<name>`` for the activations with options."""
    options = OPTIONS.get(name, {})
    if name == "gelu_tanh":
        return lambda x, **kw: lib.nn.functional.gelu(x, approximate="tanh")
    if name == "i1" and lib is tg:  # hidden: i0's derivative, torch.special.i1's double
        return lambda x, **kw: tg.ops.pointwise.FUNCTIONS["i1"].apply(x)
    if name in TORCH_NAME:
        fn = TORCH_NAME[name](lib)
        return lambda x, **kw: fn(x, **options)
    if RULES[name].public:
        return getattr(lib, name)
    fn = getattr(lib.nn.functional, name)
    return lambda x, **kw: fn(x, **options, **kw)


def float_forward(rule, x0: float) -> float:
    if rule.float_forward is not None:
        return rule.float_forward(x0)
    return float(rule.forward(np.asarray(x0), **OPTIONS.get(rule.name, dict(rule.options))))


def _inputs(name: str, shape=(3, 4), seed=0) -> np.ndarray:
    lo, hi = DOMAIN.get(name, (-2.0, 2.0))
    x = np.random.default_rng(seed).uniform(lo, hi, size=shape)
    if name in ("floor", "ceil", "round", "trunc", "frac", "sign", "sgn", "abs", "relu"):
        x = np.where(np.abs(x - np.round(x)) < 0.05, x + 0.1, x)  # off the kinks
    return x


@pytest.mark.parametrize("name", [r.name for r in UNARY])
def test_tensor_op_value_grad_and_grad_of_grad_match_torch(name):
    x_np = _inputs(name)
    v_np = np.random.default_rng(1).standard_normal(x_np.shape)
    got = []
    for lib in (tg, torch):
        x = lib.tensor(x_np, dtype=lib.float64, requires_grad=True)
        v = lib.tensor(v_np, dtype=lib.float64, requires_grad=True)
        y = op_of(lib, name)(x)
        (g,) = lib.autograd.grad(y, x, v, create_graph=True)
        # (torch returns sgn's zero gradient as a ZeroTensor: numpy() needs force=True)
        row = [y.detach().numpy(), g.detach().numpy(**({"force": True} if lib is torch else {})),
               type(y.grad_fn).__name__]
        if name in SMOOTH_SECOND:
            row.append(lib.autograd.grad(g.sum(), x)[0].numpy())
        got.append(row)
    ours, theirs = got
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=GRAD_RTOL.get(name, 1e-11), atol=1e-13)
    assert ours[2] == theirs[2]
    if name in SMOOTH_SECOND:
        np.testing.assert_allclose(ours[3], theirs[3], rtol=GRAD_RTOL.get(name, 1e-10),
                                   atol=1e-12)


INPLACE_NAMES = [r.name for r in UNARY if r.public and r.name != "round"] + [
    "leaky_relu", "hardtanh", "elu", "silu", "celu", "selu", "mish", "hardswish",
    "hardsigmoid"]  # F.<name>(x, inplace=True)


@pytest.mark.parametrize("name", INPLACE_NAMES)
def test_inplace_form_matches_torch(name):
    """``y.tanh_()`` against torch's out-of-place op (torch has no in-place derivative of
    asinh, acosh, atanh; tapegrad's comes from the same rule as the rest)."""
    x_np = _inputs(name) / 1.5
    got = []
    for lib, inplace in ((tg, True), (torch, False)):
        x = lib.tensor(x_np, dtype=lib.float64, requires_grad=True)
        y = x * 1.5
        if inplace:
            y = getattr(y, f"{name}_")() if RULES[name].public else op_of(lib, name)(
                y, inplace=True)
        else:
            y = op_of(lib, name)(y)
        (y * y).sum().backward()
        force = {"force": True} if lib is torch else {}  # sgn's zero gradient: a ZeroTensor
        got.append((y.detach().numpy(), x.grad.numpy(**force)))
    np.testing.assert_allclose(got[0][0], got[1][0], rtol=1e-12)
    np.testing.assert_allclose(got[0][1], got[1][1], rtol=GRAD_RTOL.get(name, 1e-10),
                               atol=1e-12)


@pytest.mark.parametrize("name", [r.name for r in UNARY if r.float_forward is not None])
def test_scalar_method_matches_torch(name):
    for x0 in _inputs(name, shape=(4,), seed=2):
        s = tg.Scalar(float(x0))
        out = getattr(s, name)()
        (out * out).backward()  # the generated walk, not a single-entry shortcut
        t = torch.tensor(float(x0), dtype=torch.float64, requires_grad=True)
        ot = op_of(torch, name)(t)
        (ot * ot).backward()
        assert out.data == pytest.approx(ot.item(), rel=1e-13, abs=1e-15)
        assert s.grad == pytest.approx(t.grad.item(), rel=1e-11, abs=1e-13)
        assert out.op == name


@pytest.mark.parametrize("rule", BINARY, ids=lambda r: r.name)
def test_scalar_binary_forms_match_torch(rule):
    """Both operands Scalars, Scalar (op) number and number (op) Scalar."""
    a0, b0 = 1.7, -0.6 if rule.name != "pow" else 1.3
    for form in ("ss", "sc", "cs"):
        a, b = tg.Scalar(a0), tg.Scalar(b0)
        ta = torch.tensor(a0, dtype=torch.float64, requires_grad=True)
        tb = torch.tensor(b0, dtype=torch.float64, requires_grad=True)
        fn = {"add": lambda p, q: p + q, "sub": lambda p, q: p - q, "mul": lambda p, q: p * q,
              "div": lambda p, q: p / q, "pow": lambda p, q: p ** q}[rule.name]
        left, right = {"ss": ((a, b), (ta, tb)), "sc": ((a, b0), (ta, b0)),
                       "cs": ((a0, b), (a0, tb))}[form]
        out, tout = fn(*left), fn(*right)
        (out * out).backward()
        (tout * tout).backward()
        assert out.data == pytest.approx(tout.item(), rel=1e-13)
        for s, t in ((a, ta), (b, tb)):
            want = 0.0 if t.grad is None else t.grad.item()
            assert s.grad == pytest.approx(want, rel=1e-12, abs=1e-14), (form, s)


def test_pow_conventions_at_zero_match_torch():
    """0^0: base gradient 0; 0^b with b ≥ 0: exponent gradient 0 (torch's choices)."""
    for a0, b0 in ((0.0, 0.0), (0.0, 2.0), (0.0, 0.5), (2.0, 0.0)):
        a, b = tg.Scalar(a0), tg.Scalar(b0)
        (a ** b).backward()
        ta = torch.tensor(a0, dtype=torch.float64, requires_grad=True)
        tb = torch.tensor(b0, dtype=torch.float64, requires_grad=True)
        (ta ** tb).backward()
        assert (a.grad, b.grad) == (ta.grad.item(), tb.grad.item()), (a0, b0)


@pytest.mark.parametrize("rule", BINARY, ids=lambda r: r.name)
def test_tensor_binary_backward_agrees_with_the_rule(rule):
    """The tensor Functions of + − × / ** (in `tapegrad.ops.arithmetic`) against the rule's
    own formulas, evaluated on floats: one statement of each derivative is the truth."""
    rng = np.random.default_rng(4)
    a_np, b_np = rng.uniform(0.5, 2.0, 6), rng.uniform(-1.5, 1.5, 6)
    a = tg.tensor(a_np, dtype=tg.float64, requires_grad=True)
    b = tg.tensor(b_np, dtype=tg.float64, requires_grad=True)
    y = getattr(tg, rule.name)(a, b)
    y.backward(tg.ones_like(y))
    da, db = (float_function(f, ("a", "b", "y")) for f in rule.formulas)
    want_a = [da(p, q, r) for p, q, r in zip(a_np, b_np, y.detach().numpy(), strict=True)]
    want_b = [db(p, q, r) for p, q, r in zip(a_np, b_np, y.detach().numpy(), strict=True)]
    np.testing.assert_allclose(a.grad.numpy(), want_a, rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), want_b, rtol=1e-12)


@pytest.mark.parametrize("rule", [r for r in UNARY if r.kernel_backward], ids=lambda r: r.name)
@pytest.mark.parametrize("backend", ["reference", "jit"])
def test_fused_backward_kernels_agree_with_the_formula(rule, backend):
    """A fused kernel (tanh_backward...) is a second statement of a derivative: it must
    equal grad · formula, on both CPU backends."""
    module = kernels.reference if backend == "reference" else kernels.load_jit()
    x = _inputs(rule.name, shape=(257,), seed=5)
    y = np.asarray([rule.float_forward(v) for v in x])
    g = np.random.default_rng(6).standard_normal(x.shape)
    got = rule.kernel_backward(module, g, x, y)
    local = float_function(rule.formula, ("x", "y"))
    want = g * np.asarray([local(p, q) for p, q in zip(x, y, strict=True)])
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("rule", [r for r in UNARY if r.name in SMOOTH_SECOND],
                         ids=lambda r: r.name)
def test_symbolic_derivative_of_each_formula_matches_finite_differences(rule):
    """`formula.diff` (which double backward uses) against central differences of the
    formula along x, with y following x (y = f(x))."""
    names = ("x", "y", *rule.option_names)
    options = tuple(OPTIONS.get(rule.name, dict(rule.options)).values())
    f = float_function(rule.formula, names)
    dx = diff(rule.formula, "x")
    dy = diff(rule.formula, "y")
    d2 = float_function(Expr("add", dx, Expr("mul", dy, rule.formula)), names)
    for x0 in _inputs(rule.name, shape=(5,), seed=7):
        h = 1e-6
        up = f(x0 + h, float_forward(rule, x0 + h), *options)
        down = f(x0 - h, float_forward(rule, x0 - h), *options)
        assert d2(x0, float_forward(rule, x0), *options) == pytest.approx(
            (up - down) / (2 * h), rel=1e-6, abs=1e-8)


def test_formula_text_reads_as_on_paper():
    assert RULES["tanh"].text() == "d tanh(x)/dx = 1 − y²  (y = tanh(x))"
    assert RULES["sin"].text() == "d sin(x)/dx = cos(x)"
    assert RULES["div"].text() == "∂(a / b)/∂a = 1 / b,  ∂(a / b)/∂b = −a / b²"
    pow_a = RULES["pow"].formulas[0].substitute({"b": 3.0})
    assert pow_a.text() == "3a²"


def test_each_scalar_and_tensor_op_comes_from_one_rule():
    """The Tensor method, the function and the Scalar method are the rule's, by name."""
    for rule in UNARY:
        if rule.name == "round" or not rule.public:  # wrapped: round(x, decimals=...)...
            continue
        assert getattr(tg.Tensor, rule.name).__doc__ == rule.doc
        if rule.float_forward is not None:
            assert getattr(tg.Scalar, rule.name).__doc__ == rule.doc
    assert math.isnan(tg.Scalar(-1.0).sqrt().data)  # math's ValueError becomes numpy's nan
    assert tg.Scalar(0.0).log().data == -math.inf


def test_a_nan_branch_of_a_derivative_does_not_leak_into_its_gradient():
    """logit's derivative is nan outside [0, 1]; the derivative of ``grad · f'(x)`` with
    respect to grad must still be f'(x) inside (found by the database's second order
    through the cotangent): torch float64 as the oracle."""
    x = np.array([0.38, -0.5, 1.5, 0.9])
    got = []
    for lib in (tg, torch):
        t = lib.tensor(x, dtype=lib.float64, requires_grad=True)
        c = lib.tensor(np.ones(4), dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad(lib.logit(t), t, c, create_graph=True)
        got.append([a.detach().numpy() for a in lib.autograd.grad(g.sum(), [t, c])])
    for ours, theirs in zip(got[0], got[1], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)
