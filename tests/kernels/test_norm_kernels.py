"""Normalisation kernels: numba (`norm_cpu`) against the NumPy reference, and the reference
against torch's native batch/layer norm.

Tolerances: both backends accumulate in float64, so they agree to rtol 1e-12 in float64 and
to a float32 ulp or two in float32 (rtol 1e-5, atol 1e-6 on O(1) values).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tapegrad.kernels import norm_cpu, norm_reference

ref, jit = norm_reference, norm_cpu
TOL = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-12, "atol": 1e-12}}
BN_SHAPES = [(2, 3, 1), (5, 4, 7), (1, 2, 9), (3, 1, 1), (16, 8, 33), (0, 3, 4)]
LN_SHAPES = [(1, 1), (4, 7), (3, 64), (10, 5), (2, 130), (0, 5)]

pytestmark = pytest.mark.filterwarnings("error")


def close(a, b, dtype):
    assert isinstance(a, np.ndarray) and a.shape == b.shape
    assert a.dtype == b.dtype
    np.testing.assert_allclose(a, b, **TOL[dtype])


def affine(rng, n, with_weight, with_bias):
    w = rng.random(n) + 0.5 if with_weight else None
    b = rng.standard_normal(n) if with_bias else None
    return w, b


def test_same_api():
    assert jit.__all__ == ref.__all__
    for name in ref.__all__:
        assert callable(getattr(jit, name))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine_flags", [(True, True), (False, False), (True, False)])
def test_batch_norm_kernels(rng, dtype, shape, training, affine_flags):
    x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    w, b = affine(rng, shape[1], *affine_flags)
    if shape[0] * shape[2] == 0:
        return  # no statistics to take; forward/backward below still need mean/invstd
    mean_j, var_j = jit.batch_norm_stats(x)
    mean_r, var_r = ref.batch_norm_stats(x)
    close(mean_j, mean_r, np.float64)
    close(var_j, var_r, np.float64)
    invstd = 1.0 / np.sqrt(var_r + 1e-5)
    close(jit.batch_norm_forward(x, mean_r, invstd, w, b),
          ref.batch_norm_forward(x, mean_r, invstd, w, b), dtype)
    out_j = jit.batch_norm_backward(g, x, mean_r, invstd, w, training)
    out_r = ref.batch_norm_backward(g, x, mean_r, invstd, w, training)
    close(out_j[0], out_r[0], dtype)
    # parameter gradients are float64 sums of n*s terms: relative agreement
    np.testing.assert_allclose(out_j[1], out_r[1], rtol=1e-5 if dtype == np.float32 else 1e-11,
                               atol=1e-6 if dtype == np.float32 else 1e-10)
    np.testing.assert_allclose(out_j[2], out_r[2], rtol=1e-5 if dtype == np.float32 else 1e-11,
                               atol=1e-6 if dtype == np.float32 else 1e-10)


def test_batch_norm_kernels_accept_strided_input(rng):
    wide = rng.standard_normal((4, 3, 10))
    x = wide[:, :, ::2]  # not contiguous
    mean, var = jit.batch_norm_stats(x)
    mean_r, var_r = ref.batch_norm_stats(x)
    close(mean, mean_r, np.float64)
    close(var, var_r, np.float64)
    g = rng.standard_normal((4, 3, 10))[..., 1::2]
    inv = 1 / np.sqrt(var_r + 1e-5)
    close(jit.batch_norm_backward(g, x, mean_r, inv, None, True)[0],
          ref.batch_norm_backward(g, x, mean_r, inv, None, True)[0], np.float64)


def test_batch_norm_stats_stable_for_large_mean(rng):
    """Two-pass variance: a mean of 1e8 does not swamp a unit variance."""
    x = rng.standard_normal((50, 2, 20)) + 1e8
    _, var = jit.batch_norm_stats(x)
    np.testing.assert_allclose(var, x.var(axis=(0, 2)), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", LN_SHAPES)
@pytest.mark.parametrize("affine_flags", [(True, True), (False, False), (True, False)])
def test_layer_norm_kernels(rng, dtype, shape, affine_flags):
    x = (rng.standard_normal(shape) * 2 - 1).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    w, b = affine(rng, shape[1], *affine_flags)
    y_j, m_j, r_j = jit.layer_norm_forward(x, w, b, 1e-5)
    y_r, m_r, r_r = ref.layer_norm_forward(x, w, b, 1e-5)
    close(y_j, y_r, dtype)
    close(m_j, m_r, np.float64)
    close(r_j, r_r, np.float64)
    out_j = jit.layer_norm_backward(g, x, m_r, r_r, w)
    out_r = ref.layer_norm_backward(g, x, m_r, r_r, w)
    close(out_j[0], out_r[0], dtype)
    for a, b_ in zip(out_j[1:], out_r[1:], strict=True):
        np.testing.assert_allclose(a, b_, rtol=1e-5 if dtype == np.float32 else 1e-11,
                                   atol=1e-6 if dtype == np.float32 else 1e-10)


def test_kernels_leave_inputs_untouched(rng):
    x = rng.standard_normal((3, 5))
    g = rng.standard_normal((3, 5))
    copies = (x.copy(), g.copy())
    _, m, r = jit.layer_norm_forward(x, None, None, 1e-5)
    jit.layer_norm_backward(g, x, m, r, None)
    x3 = x.reshape(3, 5, 1)
    jit.batch_norm_backward(g.reshape(3, 5, 1), x3, *jit.batch_norm_stats(x3), None, True)
    np.testing.assert_array_equal(x, copies[0])
    np.testing.assert_array_equal(g, copies[1])


# ------------------------------------------------------------------ reference vs torch
def test_reference_batch_norm_matches_torch(rng):
    x = rng.standard_normal((6, 4, 5))
    w, b = rng.random(4) + 0.5, rng.standard_normal(4)
    g = rng.standard_normal((6, 4, 5))
    xt = torch.tensor(x, requires_grad=True)
    wt, bt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    yt = torch.nn.functional.batch_norm(xt, None, None, wt, bt, training=True, eps=1e-5)
    yt.backward(torch.tensor(g))
    mean, var = ref.batch_norm_stats(x)
    inv = 1 / np.sqrt(var + 1e-5)
    np.testing.assert_allclose(ref.batch_norm_forward(x, mean, inv, w, b), yt.detach().numpy(),
                               rtol=1e-12, atol=1e-12)
    dx, dw, db = ref.batch_norm_backward(g, x, mean, inv, w, True)
    for ours, theirs in ((dx, xt), (dw, wt), (db, bt)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_reference_layer_norm_matches_torch(rng):
    x = rng.standard_normal((6, 9))
    w, b = rng.random(9) + 0.5, rng.standard_normal(9)
    g = rng.standard_normal((6, 9))
    xt = torch.tensor(x, requires_grad=True)
    wt, bt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    yt = torch.nn.functional.layer_norm(xt, (9,), wt, bt)
    yt.backward(torch.tensor(g))
    y, m, r = ref.layer_norm_forward(x, w, b, 1e-5)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    dx, dw, db = ref.layer_norm_backward(g, x, m, r, w)
    for ours, theirs in ((dx, xt), (dw, wt), (db, bt)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
