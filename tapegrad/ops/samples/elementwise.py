"""Samples for the elementwise family: unary maths, clamp, maximum/minimum, where,
comparisons and logic, and the in-place fills.

Gradcheck perturbs each input by ~1e-6, so samples keep their values well away (>= 0.1)
from kinks (abs at 0, clamp at its bounds, floor at integers...). The kink conventions
themselves are tested against torch by hand in tests/ops/test_elementwise.py.
"""

import numpy as np

from tapegrad.ops.registry import OpInfo, Sample, register

SHAPES = ((3, 4), (2, 3, 4), (), (1,), (0, 3))


def randn(rng: np.random.Generator, shape) -> np.ndarray:
    """Standard normal values as an array, also for shape () (numpy gives a scalar)."""
    return np.asarray(rng.standard_normal(shape))


def away(x: np.ndarray, kinks=(0.0,), margin: float = 0.15) -> np.ndarray:
    """Push every value at least ``margin`` away from each kink."""
    x = np.array(x, dtype=np.float64)
    for k in kinks:
        near = np.abs(x - k) < margin
        x[near] = k + np.where(x[near] >= k, margin, -margin) * 1.5
    return x


def _unary(domain: str = "real", kinks=()):
    def samples(rng: np.random.Generator) -> list[Sample]:
        out = []
        for shape in SHAPES:
            x = randn(rng, shape)
            if domain == "positive":
                x = np.abs(x) + 0.5
            x = away(x, kinks) if kinks else x
            out.append(Sample((x,), name="x" + "x".join(map(str, shape)) if shape else "0-d"))
        return out

    return samples


def _steps(offsets) -> callable:
    """Values k + offset for small integers k: far from the jumps of floor/ceil/round."""
    def samples(rng: np.random.Generator) -> list[Sample]:
        k = rng.integers(-3, 4, size=(3, 4))
        off = rng.choice(offsets, size=(3, 4))
        return [Sample((k + off,), name="3x4"), Sample((np.array(1.3),), name="0-d"),
                Sample((np.zeros((0, 2)),), name="empty")]

    return samples


for _name, _call, _domain, _kinks, _gg in [
    ("exp", lambda lib, x: x.exp(), "real", (), True),
    ("log", lambda lib, x: lib.log(x), "positive", (), True),
    ("log1p", lambda lib, x: x.log1p(), "positive", (), True),
    ("sqrt", lambda lib, x: x.sqrt(), "positive", (), True),
    ("rsqrt", lambda lib, x: x.rsqrt(), "positive", (), True),
    ("sin", lambda lib, x: lib.sin(x), "real", (), True),
    ("cos", lambda lib, x: x.cos(), "real", (), True),
    ("reciprocal", lambda lib, x: x.reciprocal(), "real", (0.0,), True),
    ("erf", lambda lib, x: lib.erf(x), "real", (), True),
    ("abs", lambda lib, x: x.abs(), "real", (0.0,), True),
    ("abs_builtin", lambda lib, x: abs(x), "real", (0.0,), False),
    ("sign", lambda lib, x: x.sign(), "real", (0.0,), False),
    ("square", lambda lib, x: lib.square(x), "real", (), True),
]:
    register(OpInfo(_name, _call, _unary(_domain, _kinks), gradgradcheck=_gg))

register(OpInfo("floor", lambda lib, x: x.floor(), _steps((0.3, 0.7))))
register(OpInfo("ceil", lambda lib, x: lib.ceil(x), _steps((0.3, 0.7))))
register(OpInfo("round", lambda lib, x: x.round(), _steps((0.2, 0.8))))
register(OpInfo("round_decimals", lambda lib, x: lib.round(x, decimals=1),
                _steps((0.22, 0.81))))


# ------------------------------------------------------------------ clamp family
def _clamp_numbers(rng: np.random.Generator) -> list[Sample]:
    x = lambda *s: away(randn(rng, s) * 2, (-0.5, 1.0))  # noqa: E731
    return [Sample((x(3, 4), -0.5, 1.0), name="both"),
            Sample((x(2, 3, 4), -0.5, None), name="min only"),
            Sample((x(3, 4), None, 1.0), name="max only"),
            Sample((x(), -0.5, 1.0), name="0-d"),
            Sample((np.zeros((0, 3)), -0.5, 1.0), name="empty")]


def _clamp_tensors(rng: np.random.Generator) -> list[Sample]:
    """lo in [-1.5, -0.5], hi in [0.5, 1.5]; x near -2.2, 0 or 2.2: below, inside or above
    the bounds, never within 0.3 of one (so every element is clearly on one side)."""
    def three(xs, ls, hs):
        x = rng.choice([-2.2, 0.0, 2.2], size=xs) + rng.uniform(-0.2, 0.2, size=xs)
        return x, -0.5 - rng.uniform(0, 1, size=ls), 0.5 + rng.uniform(0, 1, size=hs)

    return [Sample(three((3, 4), (3, 4), (3, 4)), name="same shape"),
            Sample(three((2, 3, 4), (4,), (3, 1)), name="broadcast bounds"),
            Sample(three((3, 4), (3, 4), (3, 4)), grad=(False, True, True),
                   name="bounds only"),
            Sample(three((), (), ()), name="0-d")]


register(OpInfo("clamp", lambda lib, x, lo, hi: x.clamp(lo, hi), _clamp_numbers))
register(OpInfo("clip", lambda lib, x, lo, hi: lib.clip(x, min=lo, max=hi), _clamp_numbers))
register(OpInfo("clamp_tensor", lambda lib, x, lo, hi: lib.clamp(x, lo, hi), _clamp_tensors))
register(OpInfo("clamp_min", lambda lib, x, lo, hi: x.clamp_min(-0.5), _clamp_numbers))
register(OpInfo("clamp_max", lambda lib, x, lo, hi: lib.clamp_max(x, 1.0), _clamp_numbers))
register(OpInfo("clamp_min_tensor", lambda lib, x, lo, hi: x.clamp_min(lo), _clamp_tensors))
register(OpInfo("clamp_max_tensor", lambda lib, x, lo, hi: lib.clamp_max(x, hi),
                _clamp_tensors))
register(OpInfo("clamp_", lambda lib, x, lo, hi: (x * 1).clamp_(lo, hi), _clamp_numbers))
register(OpInfo("clamp__tensor", lambda lib, x, lo, hi: (x * 1).clamp_(lo, hi),
                _clamp_tensors))


# ------------------------------------------------------------------ maximum / minimum
def _pairs(rng: np.random.Generator) -> list[Sample]:
    a = randn(rng, (3, 4))
    b = randn(rng, (3, 4))
    b[0] = a[0]  # ties: each side gets half the gradient
    return [Sample((a, b), name="with ties"),
            Sample((randn(rng, (2, 3, 4)), randn(rng, (4,))),
                   name="broadcast"),
            Sample((randn(rng, ()), randn(rng, (2, 3))), name="0-d lhs"),
            Sample((randn(rng, (3, 1)), randn(rng, (1, 4))),
                   grad=(True, False), name="lhs only"),
            Sample((np.zeros((0, 3)), randn(rng, 3)), name="empty")]


register(OpInfo("maximum", lambda lib, a, b: lib.maximum(a, b), _pairs))
register(OpInfo("minimum", lambda lib, a, b: a.minimum(b), _pairs))


# ------------------------------------------------------------------ where
def _where(rng: np.random.Generator) -> list[Sample]:
    a, b = randn(rng, (3, 4)), randn(rng, (3, 4))
    return [Sample((a > 0, a, b), name="same shape"),
            Sample((randn(rng, (2, 1, 4)) > 0, randn(rng, (3, 1)),
                    randn(rng, 4)), name="broadcast all"),
            Sample((a > 0, a, 0.5), name="python scalar other"),
            Sample((a > 0, -1.5, b), name="python scalar input"),
            Sample((np.array(True), randn(rng, ()), randn(rng, (2,))),
                   name="0-d"),
            Sample((a > 0, a, b), grad=(False, False, True), name="other only")]


register(OpInfo("where", lambda lib, c, a, b: lib.where(c, a, b), _where, gradgradcheck=True))
register(OpInfo("where_method", lambda lib, c, a, b: a.where(c, b),
                lambda r: [s for s in _where(r) if isinstance(s.args[1], np.ndarray)]))


# ------------------------------------------------------------------ comparisons and logic
def _compare(rng: np.random.Generator) -> list[Sample]:
    a = np.round(randn(rng, (3, 4)), 1)
    b = np.round(randn(rng, (3, 4)), 1)
    b[1] = a[1]  # equal elements
    return [Sample((a, b), name="with ties"),
            Sample((a, np.array([np.nan, 0.0, np.inf, -1.0])), name="nan inf"),
            Sample((randn(rng, (2, 3, 1)), randn(rng, 4)), name="broadcast"),
            Sample((a, 0.0), name="python scalar"),
            Sample((np.zeros((0, 3)), randn(rng, 3)), name="empty")]


for _name, _call in [
    ("eq", lambda lib, a, b: a == b), ("ne", lambda lib, a, b: a != b),
    ("lt", lambda lib, a, b: a < b), ("le", lambda lib, a, b: lib.le(a, b)),
    ("gt", lambda lib, a, b: a > b), ("ge", lambda lib, a, b: a.ge(b)),
    ("logical_and", lambda lib, a, b: (a > 0) & (b > 0)),
    ("logical_or", lambda lib, a, b: (a > 0) | (b < 0)),
    ("logical_xor", lambda lib, a, b: (a > 0) ^ (b < 0)),
    ("logical_not", lambda lib, a, b: ~(a > b)),
    ("logical_fns", lambda lib, a, b: lib.logical_and(a, lib.logical_not(a > 0.5))),
    ("isnan", lambda lib, a, b: lib.isnan(a + b)), ("isinf", lambda lib, a, b: (a * b).isinf()),
    ("isfinite", lambda lib, a, b: lib.isfinite(a - b)),
]:
    register(OpInfo(_name, _call, _compare, differentiable=False, gradcheck=False))


# ------------------------------------------------------------------ in-place fills
def _fill(rng: np.random.Generator) -> list[Sample]:
    return [Sample((randn(rng, (3, 4)), randn(rng, ())), name="3x4"),
            Sample((randn(rng, ()), randn(rng, ())), name="0-d"),
            Sample((randn(rng, (3, 4)), randn(rng, ())), grad=(False, True),
                   name="value only")]


def _copy(rng: np.random.Generator) -> list[Sample]:
    return [Sample((randn(rng, (3, 4)), randn(rng, (3, 4))), name="same"),
            Sample((randn(rng, (2, 3, 4)), randn(rng, (3, 1))),
                   name="broadcast src"),
            Sample((randn(rng, (3, 4)), randn(rng, (4,))),
                   grad=(False, True), name="src only")]


register(OpInfo("zero_", lambda lib, x, v: (x * 2).zero_() + x, _fill))
register(OpInfo("fill_", lambda lib, x, v: (x * 2).fill_(1.5) * x, lambda r: _fill(r)[:2]))
register(OpInfo("fill__tensor", lambda lib, x, v: (x * 2).fill_(v) * x, _fill))
register(OpInfo("copy_", lambda lib, x, s: (x * 2).copy_(s) * x, _copy))
