"""Optimizer kernels: the numba backend (`optim_cpu`) against the NumPy reference.

Both perform the same IEEE operations in the same order (no fastmath, no fused multiply-add),
so in float32 and float64 they must agree *bit for bit*; the tests use assert_array_equal.
Parameters come in C-contiguous, transposed and strided layouts (the numba wrapper copies those
into contiguous scratch arrays and back), as 0-d, empty and 2-D arrays.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from tapegrad import kernels
from tapegrad.kernels import optim_cpu as jit
from tapegrad.kernels import optim_reference as ref

SHAPES = [(), (0,), (1,), (7,), (5, 6)]
LAYOUTS = ["c", "transposed", "sliced"]


def make(rng, shape, dtype, layout="c", positive=False):
    if layout == "transposed" and len(shape) == 2:
        a = rng.standard_normal(shape[::-1]).astype(dtype).T
    elif layout == "sliced" and len(shape) >= 1:
        a = rng.standard_normal(shape[:-1] + (2 * shape[-1],)).astype(dtype)[..., ::2]
    else:
        a = np.asarray(rng.standard_normal(shape), dtype=dtype)
    if positive:
        np.abs(a, out=a)
    return a


def clone(x):
    """A copy of `x` in the same memory layout (C, F, or every-other-element strided)."""
    if x is None:
        return None
    if x.ndim and not (x.flags.c_contiguous or x.flags.f_contiguous):
        out = np.empty(x.shape[:-1] + (2 * x.shape[-1],), x.dtype)[..., ::2]
        out[...] = x
    else:
        out = x.copy(order="K")
    assert out.strides == x.strides or x.size <= 1
    return out


def run_both(name, arrays, kwargs):
    """Call kernel `name` on two same-layout copies of `arrays` (the 2nd is grad, read only);
    return the updated arrays of each backend."""
    a = [clone(x) for x in arrays]
    b = [clone(x) for x in arrays]
    grad_before = arrays[1].copy()
    getattr(jit, name)(*a, **kwargs)
    getattr(ref, name)(*b, **kwargs)
    np.testing.assert_array_equal(a[1], grad_before, err_msg="grad was modified")
    return a, b


def assert_same(a, b, msg):
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if x is not None:
            np.testing.assert_array_equal(x, y, err_msg=f"{msg}: array {i}")


SGD_CASES = [
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "dampening": 0.3},
    {"momentum": 0.9, "nesterov": True},
    {"weight_decay": 0.1},
    {"maximize": True, "momentum": 0.5, "weight_decay": 0.01},
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", range(len(SGD_CASES)))
@pytest.mark.parametrize("first_step", [True, False])
def test_sgd(rng, dtype, shape, case, first_step):
    opts = {"lr": 0.1, "weight_decay": 0.0, "momentum": 0.0, "dampening": 0.0,
            "nesterov": False, "maximize": False, **SGD_CASES[case]}
    for layout in LAYOUTS:
        p, g, buf = (make(rng, shape, dtype, layout) for _ in range(3))
        buf = buf if opts["momentum"] else None
        a, b = run_both("sgd_", [p, g, buf], {**opts, "first_step": first_step})
        assert_same(a, b, f"sgd {opts} {layout}")
        assert not np.array_equal(a[0], p) or p.size == 0, "param did not move"


ADAM_CASES = [
    {},
    {"amsgrad": True},
    {"weight_decay": 0.1},
    {"weight_decay": 0.1, "decoupled_weight_decay": True},
    {"maximize": True, "amsgrad": True, "weight_decay": 0.05},
    {"beta1": 0.3, "beta2": 0.5},  # 1 - beta1 >= 0.5: lerp's second branch
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", range(len(ADAM_CASES)))
def test_adam(rng, dtype, shape, case):
    opts = {"step": 3.0, "lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
            "weight_decay": 0.0, "amsgrad": False, "maximize": False,
            "decoupled_weight_decay": False, **ADAM_CASES[case]}
    for layout in LAYOUTS:
        p, g, m = (make(rng, shape, dtype, layout) for _ in range(3))
        v, vmax = (make(rng, shape, dtype, layout, positive=True) for _ in range(2))
        vmax = vmax if opts["amsgrad"] else None
        a, b = run_both("adam_", [p, g, m, v, vmax], opts)
        assert_same(a, b, f"adam {opts} {layout}")


RMSPROP_CASES = [
    {},
    {"centered": True},
    {"momentum": 0.9},
    {"weight_decay": 0.1},
    {"centered": True, "momentum": 0.5, "weight_decay": 0.1, "maximize": True},
    {"centered": True, "alpha": 0.3},
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", range(len(RMSPROP_CASES)))
def test_rmsprop(rng, dtype, shape, case):
    opts = {"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0,
            "centered": False, "maximize": False, **RMSPROP_CASES[case]}
    for layout in LAYOUTS:
        p, g, gavg, buf = (make(rng, shape, dtype, layout) for _ in range(4))
        sq = make(rng, shape, dtype, layout, positive=True)
        sq += dtype(2)  # keeps v - gbar^2 > 0
        gavg *= dtype(0.1)
        gavg = gavg if opts["centered"] else None
        buf = buf if opts["momentum"] else None
        a, b = run_both("rmsprop_", [p, g, sq, gavg, buf], opts)
        assert_same(a, b, f"rmsprop {opts} {layout}")


ADAGRAD_CASES = [{}, {"lr_decay": 0.1}, {"weight_decay": 0.1}, {"maximize": True, "eps": 1e-3}]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", range(len(ADAGRAD_CASES)))
def test_adagrad(rng, dtype, shape, case):
    opts = {"step": 4.0, "lr": 0.1, "lr_decay": 0.0, "weight_decay": 0.0, "eps": 1e-10,
            "maximize": False, **ADAGRAD_CASES[case]}
    for layout in LAYOUTS:
        p, g = (make(rng, shape, dtype, layout) for _ in range(2))
        s = make(rng, shape, dtype, layout, positive=True)
        a, b = run_both("adagrad_", [p, g, s], opts)
        assert_same(a, b, f"adagrad {opts} {layout}")


def test_updates_land_in_non_contiguous_params(rng):
    """A transposed parameter is updated through its own memory (not a detached copy)."""
    base = rng.standard_normal((4, 3)).astype(np.float32)
    p = base.T  # a view: F-contiguous
    g = np.ones((3, 4), np.float32)
    expected = p - np.float32(0.5) * g
    jit.sgd_(p, g, None, lr=0.5, weight_decay=0, momentum=0, dampening=0, nesterov=False,
             maximize=False, first_step=True)
    np.testing.assert_array_equal(base.T, expected)


def test_nan_propagates_like_the_reference(rng):
    p = rng.standard_normal(6)
    g = np.array([1.0, np.nan, -2.0, 0.0, np.inf, 3.0])
    m, v, vmax = np.zeros(6), np.zeros(6), np.full(6, np.nan)
    kwargs = {"step": 1.0, "lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
              "weight_decay": 0.0, "amsgrad": True, "maximize": False,
              "decoupled_weight_decay": False}
    vmax[0] = 0.0
    with np.errstate(invalid="ignore"):
        a, b = run_both("adam_", [p, g, m, v, vmax], kwargs)
    assert np.isnan(a[0][1]) and np.isnan(a[4][2])  # NaN grad, NaN max kept
    assert_same(a, b, "adam with NaN")


def test_float16_uses_the_reference(rng):
    p = rng.standard_normal(5).astype(np.float16)
    g = rng.standard_normal(5).astype(np.float16)
    m, v = np.zeros(5, np.float16), np.zeros(5, np.float16)
    kwargs = {"step": 1.0, "lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-4,
              "weight_decay": 0.0, "amsgrad": False, "maximize": False,
              "decoupled_weight_decay": False}
    a, b = run_both("adam_", [p, g, m, v, None], kwargs)
    assert a[0].dtype == np.float16
    assert_same(a, b, "adam float16")


def test_shape_mismatch_is_an_error():
    p = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="does not match param shape"):
        jit.adagrad_(p, np.zeros(3, np.float32), np.zeros(4, np.float32), step=1.0, lr=0.1,
                     lr_decay=0.0, weight_decay=0.0, eps=1e-10, maximize=False)
    with pytest.raises(ValueError, match="does not match param shape"):
        jit.sgd_(p, np.zeros(4, np.float32), np.zeros(5, np.float32), lr=0.1,
                 weight_decay=0.0, momentum=0.9, dampening=0.0, nesterov=False,
                 maximize=False, first_step=False)


def test_scalar_helpers():
    step_size, bc2 = ref.adam_scalars(2.0, 0.1, 0.9, 0.999)
    assert step_size == pytest.approx(0.1 / (1 - 0.9**2), rel=1e-15)
    assert bc2 == pytest.approx((1 - 0.999**2) ** 0.5, rel=1e-15)
    assert ref.adagrad_lr(3.0, 0.1, 0.5) == pytest.approx(0.1 / 2.0, rel=1e-15)


def test_same_api():
    for name in ref.__all__:
        assert callable(getattr(jit, name)), name


def test_selector_follows_tapegrad_jit():
    assert kernels.on(np.zeros(1)).sgd_ is jit.sgd_
    code = ("import numpy as np; from tapegrad import kernels; "
            "from tapegrad.kernels import optim_reference; "
            "assert kernels.on(np.zeros(1)).sgd_ is optim_reference.sgd_")
    env = {**os.environ, "TAPEGRAD_JIT": "0"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
