"""Max, average and adaptive pooling (functions and layers) against torch.

Max pooling moves values, so outputs, indices and gradients must be equal exactly (gradients
are sums only where overlapping windows pick the same element). Averages are compared in
float64 to rtol 1e-12 and float32 to 1e-6.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tapegrad
import tapegrad.nn.functional as F
from tapegrad.nn.modules import pooling as P
from tapegrad.testing import gradcheck, gradgradcheck

TOL = {np.float64: {"rtol": 1e-12, "atol": 1e-12}, np.float32: {"rtol": 1e-6, "atol": 1e-6}}


def _input(rng, shape, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    if len(shape) >= 3 and shape[-1] >= 4 and shape[-2] >= 4:
        x[..., 1:3, 1:3] = 0.5  # ties: the first maximum of a window wins
    return x


def run_both(fn_name, x, *args, dtype=np.float64, rng=None, **kw):
    xg = tapegrad.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out_t = getattr(TF, fn_name)(xt, *args, **kw)
    out_g = getattr(F, fn_name)(xg, *args, **kw)
    if isinstance(out_t, tuple):  # return_indices
        np.testing.assert_array_equal(out_g[1].numpy(), out_t[1].numpy())
        assert out_g[1].dtype == tapegrad.int64 and not out_g[1].requires_grad
        out_t, out_g = out_t[0], out_g[0]
    assert type(out_g.grad_fn).__name__ == type(out_t.grad_fn).__name__
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), **TOL[dtype])
    grad = (rng or np.random.default_rng(1)).standard_normal(out_t.shape).astype(dtype)
    out_t.backward(torch.tensor(grad))
    out_g.backward(tapegrad.tensor(grad))
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), **TOL[dtype])


MAX2D_CASES = [
    ((2,), {}),
    ((2,), {"return_indices": True}),
    ((3,), {"stride": 1}),  # overlapping windows: gradients accumulate
    ((3,), {"stride": 2, "padding": 1}),
    (((3, 2),), {"stride": (2, 1), "padding": (1, 1), "dilation": (1, 2)}),
    ((3,), {"stride": 2, "ceil_mode": True, "return_indices": True}),
    ((2,), {"stride": 2, "padding": 1, "ceil_mode": True}),
    ((3,), {"stride": 3, "padding": 1, "dilation": 2, "ceil_mode": True}),
    ((2,), {"stride": [], "dilation": 3, "padding": 1}),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(2, 3, 7, 9), (3, 8, 8)])
@pytest.mark.parametrize("case", MAX2D_CASES)
def test_max_pool2d_matches_torch(rng, dtype, shape, case):
    args, kw = case
    run_both("max_pool2d", _input(rng, shape, dtype), *args, dtype=dtype, rng=rng, **kw)


def test_max_pool_nan_inf_and_constant_windows():
    x = np.array([[[[1.0, np.nan, 3.0], [np.nan, 2.0, 0.0], [1.0, 1.0, 1.0]]]])
    run_both("max_pool2d", x, 2, 1, return_indices=True)
    run_both("max_pool2d", np.full((1, 1, 4, 4), -np.inf), 2, 2, 1, return_indices=True)
    run_both("max_pool2d", np.ones((1, 2, 4, 4)), 3, 1, 1, return_indices=True)


@pytest.mark.parametrize("shape", [(2, 3, 9), (3, 10)])
@pytest.mark.parametrize("case", [((2,), {}), ((3,), {"stride": 1, "padding": 1}),
                                  ((3,), {"stride": 2, "dilation": 2, "ceil_mode": True}),
                                  ((2,), {"return_indices": True})])
def test_max_pool1d_matches_torch(rng, shape, case):
    args, kw = case
    run_both("max_pool1d", rng.standard_normal(shape), *args, rng=rng, **kw)


AVG2D_CASES = [
    ((2,), {}),
    ((3,), {"stride": 2, "padding": 1}),
    ((3,), {"stride": 2, "padding": 1, "count_include_pad": False}),
    ((3,), {"stride": 2, "padding": 1, "ceil_mode": True}),
    ((3,), {"stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False}),
    (((3, 2),), {"stride": (1, 2), "padding": (1, 0), "divisor_override": 5}),
    ((2,), {"stride": 2, "padding": 1, "ceil_mode": True, "divisor_override": 3}),
    ((3,), {"stride": 1}),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(2, 3, 7, 9), (3, 8, 8)])
@pytest.mark.parametrize("case", AVG2D_CASES)
def test_avg_pool2d_matches_torch(rng, dtype, shape, case):
    args, kw = case
    run_both("avg_pool2d", _input(rng, shape, dtype), *args, dtype=dtype, rng=rng, **kw)


@pytest.mark.parametrize("shape", [(2, 3, 9), (3, 10)])
@pytest.mark.parametrize("case", [((2,), {}), ((3,), {"stride": 2, "padding": 1}),
                                  ((3,), {"padding": 1, "ceil_mode": True,
                                          "count_include_pad": False})])
def test_avg_pool1d_matches_torch(rng, shape, case):
    args, kw = case
    run_both("avg_pool1d", rng.standard_normal(shape), *args, rng=rng, **kw)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("size", [3, (3, 4), (5, 2), (7, 9), (10, 11), (None, 4), (2, None),
                                  (1, 1), 1, (1, 3)])
def test_adaptive_avg_pool2d_matches_torch(rng, dtype, size):
    run_both("adaptive_avg_pool2d", _input(rng, (2, 3, 7, 9), dtype), size, dtype=dtype,
             rng=rng)


def test_adaptive_avg_pool2d_to_size_zero():
    # torch allows the forward (its backward then refuses the empty gradient)
    assert F.adaptive_avg_pool2d(tapegrad.ones(2, 3, 7, 9), 0).shape == (2, 3, 0, 0)


@pytest.mark.parametrize("size", [3, (3, 4), (5, 2), (10, 11), (None, 4)])
@pytest.mark.parametrize("return_indices", [False, True])
def test_adaptive_max_pool2d_matches_torch(rng, size, return_indices):
    run_both("adaptive_max_pool2d", _input(rng, (2, 3, 7, 9), np.float64), size,
             return_indices=return_indices, rng=rng)
    run_both("adaptive_max_pool2d", _input(rng, (3, 7, 9), np.float64), size,
             return_indices=return_indices, rng=rng)


@pytest.mark.parametrize("size", [1, 3, 4, 7, 12])
def test_adaptive_pool1d_matches_torch(rng, size):
    x = rng.standard_normal((2, 3, 9))
    run_both("adaptive_avg_pool1d", x, size, rng=rng)
    run_both("adaptive_max_pool1d", x, size, rng=rng)
    run_both("adaptive_max_pool1d", x[0], (size,), return_indices=True, rng=rng)


def test_integer_pools_match_torch(rng):
    x = rng.integers(-20, 20, (2, 3, 6, 7))
    for fn, args in (("max_pool2d", (2,)), ("avg_pool2d", (3, 2, 1)), ("max_pool2d", (3, 1, 1))):
        out = getattr(F, fn)(tapegrad.tensor(x), *args)
        expected = getattr(TF, fn)(torch.tensor(x), *args)
        assert out.dtype == tapegrad.int64
        np.testing.assert_array_equal(out.numpy(), expected.numpy())


POOLS = [
    lambda x: F.max_pool2d(x, 3, 2, 1),
    lambda x: F.max_pool2d(x, 2, 1, dilation=2, ceil_mode=True),
    lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda x: F.avg_pool2d(x, 2, divisor_override=3),
    lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
    lambda x: F.adaptive_max_pool2d(x, (2, 3)),
    lambda x: F.max_pool1d(x[0], 2, 1),
    lambda x: F.avg_pool1d(x[0], 3, 2, 1),
]


@pytest.mark.parametrize("fn", POOLS)
def test_gradcheck_and_gradgradcheck(rng, fn):
    # distinct values away from ties, so the max is differentiable under the nudges
    x = tapegrad.tensor(rng.permutation(60).reshape(1, 3, 4, 5) * 0.1, requires_grad=True)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(lambda a: fn(a) ** 2, (x,))


def _same_error(call):
    with pytest.raises(Exception) as t_err:
        call(torch, TF)
    with pytest.raises(Exception) as g_err:
        call(tapegrad, F)
    assert type(g_err.value) is type(t_err.value)
    assert str(g_err.value) == str(t_err.value).replace("torch", "tapegrad")


POOL_ERRORS = [
    lambda L, F: F.max_pool2d(L.ones(1, 2, 5, 5), 3, padding=2),
    lambda L, F: F.max_pool2d(L.ones(1, 2, 5, 5), 0),
    lambda L, F: F.max_pool2d(L.ones(1, 2, 5, 5), -1),
    lambda L, F: F.max_pool2d(L.ones(1, 2, 5, 5), 2, stride=-1),
    lambda L, F: F.max_pool2d(L.ones(1, 2, 5, 5), 2, dilation=0),
    lambda L, F: F.max_pool2d(L.ones(1, 2, 5, 5), 2, padding=-1),
    lambda L, F: F.max_pool2d(L.ones(2, 5), 2),
    lambda L, F: F.max_pool2d(L.ones(1, 2, 5, 5), (2, 2, 2)),
    lambda L, F: F.max_pool2d(L.ones(1, 2, 5, 5), 2, stride=(1, 1, 1)),
    lambda L, F: F.max_pool2d(L.ones(1, 2, 5, 5), 2, padding=(1, 1, 1)),
    lambda L, F: F.max_pool2d(L.ones(1, 2, 5, 5), 2, dilation=(1, 1, 1)),
    lambda L, F: F.max_pool2d(L.ones(1, 2, 5, 5), 6),
    lambda L, F: F.max_pool2d(L.ones(1, 2, 0, 5), 2),
    lambda L, F: F.max_pool2d(L.ones(1, 2, 9, 9), 3, padding=2, dilation=2),
    lambda L, F: F.max_pool2d(L.ones(1, 2, 9, 9), (4, 2), padding=(1, 2)),
    lambda L, F: F.avg_pool2d(L.ones(1, 2, 5, 5), 3, padding=2),
    lambda L, F: F.avg_pool2d(L.ones(1, 2, 5, 5), 2, divisor_override=0),
    lambda L, F: F.avg_pool2d(L.ones(2, 5), 2),
    lambda L, F: F.avg_pool2d(L.ones(1, 1, 2, 5, 5), 2),
    lambda L, F: F.avg_pool2d(L.ones(1, 2, 5, 5), 6),
    lambda L, F: F.avg_pool2d(L.ones(1, 2, 5, 5), (2, 2, 2)),
    lambda L, F: F.avg_pool2d(L.ones(1, 2, 5, 5), 0),
    lambda L, F: F.max_pool1d(L.ones(1, 2, 3, 5), 2),
    lambda L, F: F.max_pool1d(L.ones(1, 2, 5), 6),
    lambda L, F: F.max_pool1d(L.ones(1, 2, 5), (2, 2)),
    lambda L, F: F.max_pool1d(L.ones(1, 2, 5), 3, padding=2),
    lambda L, F: F.avg_pool1d(L.ones(1, 2, 3, 5), 2),
    lambda L, F: F.avg_pool1d(L.ones(1, 2, 5), 6),
    lambda L, F: F.avg_pool1d(L.ones(1, 2, 5), 3, padding=2),
    lambda L, F: F.adaptive_avg_pool2d(L.ones(1, 2, 5, 5), (2, 3, 4)),
    lambda L, F: F.adaptive_avg_pool2d(L.ones(2, 5), 3),
    lambda L, F: F.adaptive_avg_pool2d(L.ones(1, 2, 5, 5), -1),
    lambda L, F: F.adaptive_avg_pool2d(L.ones(1, 2, 0, 5), 3),
    lambda L, F: F.adaptive_avg_pool2d(L.ones(1, 2, 5, 5).long(), 2),
    lambda L, F: F.adaptive_max_pool2d(L.ones(2, 5), 2),
    lambda L, F: F.adaptive_max_pool2d(L.ones(1, 2, 5, 5), (2, 3, 4)),
    lambda L, F: F.adaptive_avg_pool1d(L.ones(1, 2, 3, 5), 2),
    lambda L, F: F.adaptive_avg_pool1d(L.ones(1, 2, 5), (2, 2)),
]


@pytest.mark.parametrize("call", POOL_ERRORS)
def test_pool_errors_match_torch(call):
    _same_error(call)


MODULES = [
    ("MaxPool2d", (2,), {}),
    ("MaxPool2d", ((2, 3),), {"stride": 1, "padding": 1, "dilation": 2, "ceil_mode": True}),
    ("MaxPool2d", (3,), {"stride": 2, "return_indices": True}),
    ("AvgPool2d", (2,), {}),
    ("AvgPool2d", (3, 2, 1, True, False, 2), {}),
    ("AdaptiveAvgPool2d", ((5, 7),), {}),
    ("AdaptiveAvgPool2d", (1,), {}),
    ("AdaptiveAvgPool2d", ((None, 2),), {}),
    ("AdaptiveMaxPool2d", (3,), {}),
    ("AdaptiveMaxPool2d", ((2, 3),), {"return_indices": True}),
    ("MaxPool1d", (3,), {"stride": 2, "padding": 1}),
    ("AvgPool1d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}),
    ("AdaptiveAvgPool1d", (4,), {}),
    ("AdaptiveMaxPool1d", (4,), {"return_indices": True}),
]


@pytest.mark.parametrize("spec", MODULES)
def test_modules_repr_and_forward_match_torch(rng, spec):
    name, args, kw = spec
    layer, tlayer = getattr(P, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert name in P.__all__
    assert repr(layer) == repr(tlayer)
    assert list(layer.parameters()) == []
    shape = (2, 3, 9, 8) if name.endswith("2d") else (2, 3, 11)
    x = rng.standard_normal(shape)
    out_g, out_t = layer(tapegrad.tensor(x)), tlayer(torch.tensor(x))
    if kw.get("return_indices"):
        np.testing.assert_array_equal(out_g[1].numpy(), out_t[1].numpy())
        out_g, out_t = out_g[0], out_t[0]
    np.testing.assert_allclose(out_g.numpy(), out_t.numpy(), rtol=1e-12, atol=1e-12)
