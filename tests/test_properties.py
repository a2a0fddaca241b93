"""Property tests: random programs give the same values and gradients in tapegrad and torch.

A program is a chain of 3-8 ops over a growing pool of values (the inputs ``x`` and
``y`` first). Each op takes one or two values from the pool, so programs reuse values
(``a + a``), share weights between layers (every ``matmul`` uses the same ``W``, every
``reshape`` step the same ``w``) and take Python branches on computed numbers. The
program runs once with tapegrad and once with torch, in float64; outputs and the
gradients of all four inputs must agree.

Only ops that tapegrad already has take part (op families land one by one), so the
programs grow richer as the library does.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import tapegrad
from tapegrad.testing import compare_with_torch, gradcheck

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
TOL = dict(atol=1e-9, rtol=1e-7)


class Ambiguous(Exception):
    """A branch condition too close to its threshold: the two libraries' last-bit
    differences could send them different ways, so the example is skipped."""


def _has(*methods: str) -> bool:
    return all(hasattr(tapegrad.Tensor, m) for m in methods)


def _np(t) -> np.ndarray:
    return t.detach().numpy()


def _decide(value: float, threshold: float = 0.0, band: float = 1e-4) -> bool:
    # the band is wide enough that gradcheck's 1e-6 nudges never cross a threshold
    if abs(value - threshold) < band:
        raise Ambiguous
    return value > threshold


def _relu_or_square(lib, a, b, p):
    # relu away from its kink: exactly-zero inputs take the other branch
    if a.numel() and _decide(float(np.abs(_np(a)).min()), threshold=1e-3):
        return a.relu() + b
    return a * a


def _branch(lib, a, b, p):
    return a * b if _decide(float(_np(a).mean())) else a - b


def _sum_back(lib, a, b, p):
    return a.sum(dim=p % 2 - 2, keepdim=True) + b  # dims -2 / -1, broadcast back


def _exp_clamped(lib, a, b, p):
    return lib.clamp(a, -3.0, 3.0).exp()


# name -> (op(lib, a, b, param, weights), available?)
OPS = {
    "add": (lambda lib, a, b, p, w: a + b, True),
    "sub": (lambda lib, a, b, p, w: a - b, True),
    "mul": (lambda lib, a, b, p, w: a * b, True),
    "scale": (lambda lib, a, b, p, w: a * (0.5 + p / 4.0) - 1.0, True),
    "reshape": (lambda lib, a, b, p, w: (a.reshape(-1) * w["v"]).reshape(a.shape), True),
    "branch": (lambda lib, a, b, p, w: _branch(lib, a, b, p), True),
    "tanh": (lambda lib, a, b, p, w: a.tanh(), _has("tanh")),
    "sigmoid": (lambda lib, a, b, p, w: a.sigmoid() * b, _has("sigmoid")),
    "exp": (lambda lib, a, b, p, w: _exp_clamped(lib, a, b, p),
            _has("exp") and hasattr(tapegrad, "clamp")),
    "sum": (lambda lib, a, b, p, w: _sum_back(lib, a, b, p), _has("sum")),
    "matmul": (lambda lib, a, b, p, w: a @ w["W"], _has("__matmul__")),
    "relu": (lambda lib, a, b, p, w: _relu_or_square(lib, a, b, p), _has("relu")),
}
AVAILABLE = sorted(name for name, (_, ok) in OPS.items() if ok)


def run_program(program: list, lib, x, y, W, v):
    """Interpret ``program`` with ``lib``; returns the last two values of the pool."""
    weights = {"W": W, "v": v}
    pool = [x, y]
    for name, i, j, p in program:
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        pool.append(OPS[name][0](lib, a, b, p, weights))
    return pool[-2], pool[-1]


@st.composite
def programs(draw):
    n_ops = draw(st.integers(3, 8))
    step = st.tuples(st.sampled_from(AVAILABLE), st.integers(0, 9), st.integers(0, 9),
                     st.integers(0, 3))
    program = draw(st.lists(step, min_size=n_ops, max_size=n_ops))
    rows, cols = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    values = st.floats(-1.5, 1.5, allow_subnormal=False, width=64)
    x = draw(arrays(np.float64, (rows, cols), elements=values))
    y = draw(arrays(np.float64, (rows, cols), elements=values))
    W = draw(arrays(np.float64, (cols, cols), elements=values))
    v = draw(arrays(np.float64, (rows * cols,), elements=values))
    return program, (x, y, W, v)


def _compare(fn, *inputs, names=("x", "y", "W", "v")):
    try:
        return compare_with_torch(fn, *inputs, names=names[:len(inputs)], **TOL)
    except Ambiguous:
        reject()


@SETTINGS
@given(programs())
def test_random_programs_match_torch(case):
    program, inputs = case
    result = _compare(lambda lib, *xs: run_program(program, lib, *xs), *inputs)
    assert result.passed
    assert any(r.name == "grad x" for r in result.rows)


@SETTINGS
@given(programs())
def test_random_programs_pass_gradcheck(case):
    program, inputs = case
    leaves = tuple(tapegrad.tensor(a, requires_grad=True) for a in inputs)
    try:
        assert gradcheck(lambda *xs: run_program(program, tapegrad, *xs), leaves)
    except Ambiguous:
        reject()


MATMUL = _has("__matmul__")


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 4), st.integers(2, 5), st.data())
def test_weight_shared_across_layers(rows, cols, depth, data):
    values = st.floats(-1.0, 1.0, allow_subnormal=False)
    x = data.draw(arrays(np.float64, (rows, cols), elements=values))
    # an elementwise weight stands in for the matrix while matmul is being written
    W = data.draw(arrays(np.float64, (cols, cols) if MATMUL else (cols,), elements=values))
    v = data.draw(arrays(np.float64, (cols,), elements=values))

    def net(lib, x, W, v):
        h = x
        for _ in range(depth):  # the same W and v in every layer: gradients accumulate
            h = ((h @ W) if MATMUL else (h * W)) * 0.5 + v
        return h

    result = _compare(net, x, W, v, names=("x", "W", "v"))
    assert {"grad x", "grad W", "grad v"} <= {r.name for r in result.rows}


@SETTINGS
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 4)),
              elements=st.floats(-2.0, 2.0, allow_subnormal=False)))
def test_repeated_inputs(a):
    def f(lib, t):
        u = t + t  # one tensor, two edges into the same AddBackward node
        w = t * t
        return u * w - t / (w + 1.0), (t - t) * t

    _compare(f, a)
    x = tapegrad.tensor(a, requires_grad=True)
    assert gradcheck(lambda t: (t + t) * (t * t) - t / (t * t + 1.0), (x,))


@SETTINGS
@given(arrays(np.float64, st.integers(1, 6), elements=st.floats(-3.0, 3.0,
                                                                 allow_subnormal=False)),
       st.floats(0.1, 2.0))
def test_data_dependent_branches(a, limit):
    def f(lib, t):
        h = t * 1.0
        steps = 0
        # a Python loop whose trip count depends on values computed in the program
        while _decide(float(np.abs(_np(h)).max()), threshold=limit) and steps < 6:
            h = h * 0.5 + h * h * 0.01
            steps += 1
        if _decide(float(_np(h).sum()), threshold=0.3):
            return h * t
        return h - t * t

    _compare(f, a)


def test_some_programs_ran():
    # the strategies above must not reject everything (a silent pass would prove nothing)
    assert "add" in AVAILABLE and "branch" in AVAILABLE
    x, y = np.ones((2, 3)), np.full((2, 3), 2.0)
    out = run_program([("add", 0, 0, 0), ("branch", 2, 1, 0), ("mul", 3, 0, 0)], tapegrad,
                      tapegrad.tensor(x), tapegrad.tensor(y), None, None)
    np.testing.assert_array_equal(out[1].numpy(), (x + x) * y * x)


if __name__ == "__main__":
    pytest.main([__file__])
