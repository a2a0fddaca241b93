"""Convolution and pooling kernels: the numba backend against the NumPy reference.

Copies (im2col and its wide variant, max pooling and its indices) must agree exactly: they move
values without arithmetic, or compare them in the same order. Sums (col2im, average pools,
backward scatters) may add in another order: float64 to rtol 1e-12, float32 to 1e-5. The
references themselves are checked against torch in tests/nn; here also against each other
(col2im is the adjoint of im2col) and against torch on a few direct cases.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from tapegrad.kernels import conv_cpu, conv_reference, pooling_cpu, pooling_reference

DTYPES = [np.float32, np.float64]
TOL = {np.float32: {"rtol": 1e-5, "atol": 1e-5}, np.float64: {"rtol": 1e-12, "atol": 1e-12}}

# (x shape, kernel, stride, dilation)
GEOMETRIES = [
    ((2, 3, 9, 11), (3, 3), (1, 1), (1, 1)),
    ((2, 3, 9, 11), (2, 3), (2, 1), (1, 2)),
    ((1, 2, 7, 8), (3, 2), (2, 3), (2, 1)),
    ((3, 1, 5, 5), (1, 1), (1, 1), (1, 1)),
    ((2, 4, 1, 9), (1, 4), (1, 2), (1, 1)),  # a 1-d convolution as 2-d
    ((0, 3, 6, 6), (3, 3), (1, 1), (1, 1)),  # empty batch
]


def _out(shape, kernel, stride, dilation):
    return tuple((shape[2 + i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
                 for i in range(2))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geom", GEOMETRIES)
def test_im2col_col2im_match_reference(rng, dtype, geom):
    shape, kernel, stride, dilation = geom
    out_size = _out(shape, kernel, stride, dilation)
    x = rng.standard_normal(shape).astype(dtype)
    cols = conv_cpu.im2col(x, kernel, stride, dilation, out_size)
    expected = conv_reference.im2col(x, kernel, stride, dilation, out_size)
    assert cols.dtype == dtype and cols.shape == expected.shape
    np.testing.assert_array_equal(cols, expected)
    g = rng.standard_normal(cols.shape).astype(dtype)
    np.testing.assert_allclose(conv_cpu.col2im(g, shape, kernel, stride, dilation, out_size),
                               conv_reference.col2im(g, shape, kernel, stride, dilation,
                                                     out_size), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geom", [g for g in GEOMETRIES if g[2] == (1, 1)])
def test_wide_columns_match_reference_and_plain_columns(rng, dtype, geom):
    shape, kernel, _, dilation = geom
    out_size = _out(shape, kernel, (1, 1), dilation)
    n, c, _, w = shape
    rows = c * kernel[0] * kernel[1]
    x = rng.standard_normal(shape).astype(dtype)
    wide = conv_cpu.im2col_wide(x, kernel, dilation, out_size)
    np.testing.assert_array_equal(wide, conv_reference.im2col_wide(x, kernel, dilation,
                                                                   out_size))
    # dropping the W - OW garbage columns of each row gives the plain columns
    plain = conv_reference.im2col(x, kernel, (1, 1), dilation, out_size)
    kept = wide.reshape(n, rows, out_size[0], w)[..., :out_size[1]].reshape(plain.shape)
    np.testing.assert_array_equal(kept, plain)
    # col2im_wide of a gradient that is 0 at the garbage columns equals plain col2im
    g = rng.standard_normal(wide.shape).astype(dtype)
    g.reshape(n, rows, out_size[0], w)[..., out_size[1]:] = 0
    expected = conv_reference.col2im(
        np.ascontiguousarray(g.reshape(n, rows, out_size[0], w)[..., :out_size[1]]).reshape(
            plain.shape), shape, kernel, (1, 1), dilation, out_size)
    for backend in (conv_cpu, conv_reference):
        np.testing.assert_allclose(backend.col2im_wide(g, shape, kernel, dilation, out_size),
                                   expected, **TOL[dtype])


@pytest.mark.parametrize("geom", GEOMETRIES[:3])
def test_col2im_is_the_adjoint_of_im2col(rng, geom):
    # <im2col(x), c> == <x, col2im(c)> for all x, c: backward of the copy is the scatter-add
    shape, kernel, stride, dilation = geom
    out_size = _out(shape, kernel, stride, dilation)
    x = rng.standard_normal(shape)
    c = rng.standard_normal(conv_reference.im2col(x, kernel, stride, dilation, out_size).shape)
    lhs = np.vdot(conv_cpu.im2col(x, kernel, stride, dilation, out_size), c)
    rhs = np.vdot(x, conv_cpu.col2im(c, shape, kernel, stride, dilation, out_size))
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_im2col_writes_into_out_and_handles_views(rng):
    x = rng.standard_normal((2, 3, 8, 16))[:, :, :, ::2]  # not contiguous
    out = np.empty((2, 27, 36))
    res = conv_cpu.im2col(x, (3, 3), (1, 1), (1, 1), (6, 6), out=out)
    assert res is out
    np.testing.assert_array_equal(out, conv_reference.im2col(x, (3, 3), (1, 1), (1, 1), (6, 6)))
    back = np.empty((2, 3, 8, 8))
    assert conv_cpu.col2im(out, back.shape, (3, 3), (1, 1), (1, 1), (6, 6), out=back) is back


def test_integer_columns_use_the_reference(rng):
    x = rng.integers(-5, 5, (2, 2, 5, 5))
    cols = conv_cpu.im2col(x, (2, 2), (1, 1), (1, 1), (4, 4))
    assert cols.dtype == np.int64
    np.testing.assert_array_equal(cols, conv_reference.im2col(x, (2, 2), (1, 1), (1, 1), (4, 4)))


# ---- pooling ------------------------------------------------------------------------------

def _pool_out(n, k, s, p, d, ceil):
    o = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    return o - 1 if ceil and (o - 1) * s >= n + p else o


# (kernel, stride, padding, dilation, ceil_mode)
MAX_CASES = [
    ((2, 2), (2, 2), (0, 0), (1, 1), False),
    ((3, 2), (2, 1), (1, 1), (1, 2), True),
    ((3, 3), (3, 3), (1, 0), (2, 1), True),
    ((3, 3), (1, 1), (1, 1), (1, 1), False),  # overlapping windows
]


def _planes(rng, dtype):
    x = rng.standard_normal((6, 7, 9)).astype(dtype)
    x[0, 1, 1] = np.nan
    x[1, 2:4, 2:4] = 1.0  # ties: the first maximum must win
    x[2] = -np.inf
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MAX_CASES)
def test_max_pool_matches_reference_and_torch(rng, dtype, case):
    k, s, p, d, ceil = case
    x = _planes(rng, dtype)
    out_size = tuple(_pool_out(x.shape[1 + i], k[i], s[i], p[i], d[i], ceil) for i in range(2))
    out, idx = pooling_cpu.max_pool2d(x, k, s, p, d, out_size)
    ref_out, ref_idx = pooling_reference.max_pool2d(x, k, s, p, d, out_size)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(idx, ref_idx)
    t_out, t_idx = TF.max_pool2d(torch.tensor(x)[None], k, s, p, d, ceil, return_indices=True)
    np.testing.assert_array_equal(idx, t_idx[0].numpy())
    np.testing.assert_array_equal(out, t_out[0].numpy())
    g = rng.standard_normal(out.shape).astype(dtype)
    np.testing.assert_allclose(pooling_cpu.max_pool2d_backward(g, idx, x.shape[1:]),
                               pooling_reference.max_pool2d_backward(g, idx, x.shape[1:]),
                               **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6, 7, 9), (5, 8, 8), (3, 2, 3)])
@pytest.mark.parametrize("ceil", [False, True])
def test_max_pool_2x2_path_matches_reference_and_torch(rng, dtype, shape, ceil):
    # kernel 2, stride 2, no padding: the branch-free kernel, unless ceil_mode gives a window
    # that hangs over the edge (odd sizes), which takes the general one
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[::7] = 0.0  # ties (ReLU outputs): the first maximum must win
    x.flat[3::11] = np.nan  # NaN wins, the last of several NaNs in a window
    x.flat[5::11] = np.nan
    x[-1] = -np.inf  # an all -inf window reports its first pixel
    out_size = tuple(_pool_out(n, 2, 2, 0, 1, ceil) for n in shape[1:])
    out, idx = pooling_cpu.max_pool2d(x, (2, 2), (2, 2), (0, 0), (1, 1), out_size)
    ref_out, ref_idx = pooling_reference.max_pool2d(x, (2, 2), (2, 2), (0, 0), (1, 1), out_size)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(idx, ref_idx)
    t_out, t_idx = TF.max_pool2d(torch.tensor(x)[None], 2, 2, 0, 1, ceil, return_indices=True)
    np.testing.assert_array_equal(out, t_out[0].numpy())
    np.testing.assert_array_equal(idx, t_idx[0].numpy())
    if not ceil:  # the plain-Python body of the fast kernel, against the reference
        py_out, py_idx = np.empty_like(out), np.empty_like(idx)
        pooling_cpu._max_pool_2x2_py(x, py_out, py_idx)
        np.testing.assert_array_equal(py_out, ref_out)
        np.testing.assert_array_equal(py_idx, ref_idx)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("include_pad", [True, False])
@pytest.mark.parametrize("divisor", [None, 3])
@pytest.mark.parametrize("case", [((2, 2), (2, 2), (0, 0), False), ((3, 2), (2, 1), (1, 1), True),
                                  ((3, 3), (2, 3), (1, 0), True)])
def test_avg_pool_matches_reference(rng, dtype, include_pad, divisor, case):
    k, s, p, ceil = case
    x = _planes(rng, dtype)[3:]  # no -inf planes: they would make inf - inf comparisons
    out_size = tuple(_pool_out(x.shape[1 + i], k[i], s[i], p[i], 1, ceil) for i in range(2))
    args = (k, s, p, out_size, include_pad, divisor)
    np.testing.assert_allclose(pooling_cpu.avg_pool2d(x, *args),
                               pooling_reference.avg_pool2d(x, *args), equal_nan=True,
                               **TOL[dtype])
    g = rng.standard_normal((x.shape[0], *out_size)).astype(dtype)
    bw = (x.shape[1:], k, s, p, include_pad, divisor)
    np.testing.assert_allclose(pooling_cpu.avg_pool2d_backward(g, *bw),
                               pooling_reference.avg_pool2d_backward(g, *bw), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out_size", [(3, 4), (7, 9), (5, 2), (10, 11), (1, 1), (2, 9)])
def test_adaptive_pools_match_reference(rng, dtype, out_size):
    x = _planes(rng, dtype)
    np.testing.assert_allclose(pooling_cpu.adaptive_avg_pool2d(x[3:], out_size),
                               pooling_reference.adaptive_avg_pool2d(x[3:], out_size),
                               **TOL[dtype])
    out, idx = pooling_cpu.adaptive_max_pool2d(x, out_size)
    ref_out, ref_idx = pooling_reference.adaptive_max_pool2d(x, out_size)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(idx, ref_idx)
    g = rng.standard_normal((x.shape[0], *out_size)).astype(dtype)
    np.testing.assert_allclose(pooling_cpu.adaptive_avg_pool2d_backward(g, x.shape[1:]),
                               pooling_reference.adaptive_avg_pool2d_backward(g, x.shape[1:]),
                               **TOL[dtype])


def test_integer_pools_use_the_reference(rng):
    x = rng.integers(-9, 9, (2, 5, 5))
    out, idx = pooling_cpu.max_pool2d(x, (2, 2), (2, 2), (0, 0), (1, 1), (2, 2))
    t_out, t_idx = TF.max_pool2d(torch.tensor(x)[None], 2, return_indices=True)
    np.testing.assert_array_equal(out, t_out[0].numpy())
    np.testing.assert_array_equal(idx, t_idx[0].numpy())
    avg = pooling_cpu.avg_pool2d(x, (2, 2), (2, 2), (0, 0), (2, 2), True, None)
    np.testing.assert_array_equal(avg, TF.avg_pool2d(torch.tensor(x)[None], 2)[0].numpy())


def test_jit_off_selects_the_references():
    code = ("import numpy as np\n"
            "from tapegrad import kernels\n"
            "from tapegrad.kernels import conv_reference, pooling_reference\n"
            "cpu = kernels.on(np.zeros(1))\n"
            "assert cpu.im2col is conv_reference.im2col\n"
            "assert cpu.max_pool2d is pooling_reference.max_pool2d\n"
            "import tapegrad, tapegrad.nn.functional as F\n"
            "x = tapegrad.randn(2, 3, 6, 6, requires_grad=True)\n"
            "w = tapegrad.randn(4, 3, 3, 3, requires_grad=True)\n"
            "F.max_pool2d(F.conv2d(x, w), 2).sum().backward()\n"
            "assert x.grad.shape == x.shape and w.grad.shape == w.shape\n")
    env = dict(os.environ, TAPEGRAD_JIT="0")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
