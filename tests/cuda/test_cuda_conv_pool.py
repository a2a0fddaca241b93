"""CUDA convolution copies and pooling kernels against the NumPy reference modules.

Each function of ``tapegrad.kernels.cuda.conv`` / ``.pooling`` runs on tiny inputs (N=2, C=2,
5x5 planes) beside the same function of ``conv_reference`` / ``pooling_reference``, over
strides, dilations, paddings and divisor rules. The copies, the max pools and the gathers
(col2im, the average backwards) add in the reference's order, so their float results must be
equal, not just close; forward averages sum in float64 in another order than NumPy's
pairwise sums, so they need only be close.
"""

from __future__ import annotations

import numpy as np
import pytest

from tapegrad.kernels import conv_reference, pooling_reference
from tapegrad.kernels.cuda import TRANSFERS, CudaArray, available
from tapegrad.kernels.cuda import conv as cuda_conv
from tapegrad.kernels.cuda import pooling as cuda_pooling

if not available():
    pytest.skip("CUDA (or numba's simulator) is not available", allow_module_level=True)


def test_same_functions_as_the_references():
    assert cuda_conv.__all__ == conv_reference.__all__
    assert cuda_pooling.__all__ == pooling_reference.__all__


def _out_size(h, w, kernel, stride, dilation):
    return tuple((n - d * (k - 1) - 1) // s + 1
                 for n, k, s, d in zip((h, w), kernel, stride, dilation, strict=True))


def _equal(got, want):
    assert isinstance(got, CudaArray)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got.get(), want)


def _close(got, want):
    assert isinstance(got, CudaArray)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got.get(), want, rtol=1e-6, atol=1e-12)


# ------------------------------------------------------------------ convolution
CONV = [((3, 3), (1, 1), (1, 1)), ((3, 3), (2, 2), (1, 1)), ((2, 3), (1, 2), (2, 1)),
        ((3, 2), (2, 1), (2, 2))]


@pytest.mark.parametrize(("kernel", "stride", "dilation"), CONV)
def test_im2col_and_col2im_match_reference(rng, kernel, stride, dilation):
    x = rng.standard_normal((2, 2, 5, 5))
    size = _out_size(5, 5, kernel, stride, dilation)
    dx = CudaArray.from_host(x)
    before = TRANSFERS.snapshot()
    cols = cuda_conv.im2col(dx, kernel, stride, dilation, size)
    assert TRANSFERS.total == before.total  # no host round trip inside the kernels
    want = conv_reference.im2col(x, kernel, stride, dilation, size)
    _equal(cols, want)
    g = rng.standard_normal(want.shape)
    _equal(cuda_conv.col2im(CudaArray.from_host(g), x.shape, kernel, stride, dilation, size),
           conv_reference.col2im(g, x.shape, kernel, stride, dilation, size))


@pytest.mark.parametrize(("kernel", "dilation"), [((3, 3), (1, 1)), ((2, 3), (2, 1))])
def test_wide_columns_match_reference(rng, kernel, dilation):
    x = rng.standard_normal((2, 2, 5, 5)).astype(np.float32)
    size = _out_size(5, 5, kernel, (1, 1), dilation)
    want = conv_reference.im2col_wide(x, kernel, dilation, size)
    _equal(cuda_conv.im2col_wide(CudaArray.from_host(x), kernel, dilation, size), want)
    # the wide layout's garbage positions must hold 0 in a gradient; zero them as callers do
    g = rng.standard_normal(want.shape).astype(np.float32)
    g.reshape(2, -1, size[0], 5)[..., size[1]:] = 0
    _equal(cuda_conv.col2im_wide(CudaArray.from_host(g), x.shape, kernel, dilation, size),
           conv_reference.col2im_wide(g, x.shape, kernel, dilation, size))


def test_conv_copies_read_and_write_strided_views(rng):
    # x is a view (every other channel, a transposed plane); out= is a slice of a buffer
    big = rng.standard_normal((2, 4, 5, 5))
    x = big[:, ::2].transpose(0, 1, 3, 2)
    kernel, stride, dilation = (3, 3), (2, 1), (1, 1)
    size = _out_size(5, 5, kernel, stride, dilation)
    dx = CudaArray.from_host(big)[:, ::2].transpose(0, 1, 3, 2)
    buf = CudaArray.full((3, 18, size[0] * size[1]), 7.0)
    got = cuda_conv.im2col(dx, kernel, stride, dilation, size, out=buf[:2])
    want = conv_reference.im2col(x, kernel, stride, dilation, size)
    np.testing.assert_array_equal(buf.get()[:2], want)
    np.testing.assert_array_equal(buf.get()[2], 7.0)  # nothing written past the slice
    assert got.shape == want.shape
    img = CudaArray.full((2, 2, 5, 5), 3.0)
    cuda_conv.col2im(CudaArray.from_host(want), x.shape, kernel, stride, dilation, size,
                     out=img)  # overwritten, not added to
    np.testing.assert_array_equal(
        img.get(), conv_reference.col2im(want, x.shape, kernel, stride, dilation, size))


def test_integer_columns(rng):
    x = rng.integers(-9, 9, size=(1, 2, 4, 4))
    size = _out_size(4, 4, (2, 2), (1, 1), (1, 1))
    cols = conv_reference.im2col(x, (2, 2), (1, 1), (1, 1), size)
    _equal(cuda_conv.im2col(CudaArray.from_host(x), (2, 2), (1, 1), (1, 1), size), cols)
    _equal(cuda_conv.col2im(CudaArray.from_host(cols), x.shape, (2, 2), (1, 1), (1, 1), size),
           conv_reference.col2im(cols, x.shape, (2, 2), (1, 1), (1, 1), size))


# ------------------------------------------------------------------ pooling
def _pool_out(n, k, s, p, d, ceil=False):
    span = n + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil else 0)) // s + 1
    if ceil and (out - 1) * s >= n + p:  # torch: the last window must start inside
        out -= 1
    return out


def _planes(rng, dtype="float64"):
    # small integers make ties, which test that the FIRST maximum wins
    x = rng.integers(-3, 4, size=(4, 5, 5)).astype(dtype)
    if np.dtype(dtype).kind == "f":
        x[1, 2, 2] = np.nan
    return x


@pytest.mark.parametrize(("kernel", "stride", "padding", "dilation"), [
    ((3, 3), (1, 1), (0, 0), (1, 1)), ((3, 3), (2, 2), (1, 1), (1, 1)),
    ((3, 2), (1, 2), (1, 0), (2, 1)), ((2, 2), (2, 2), (1, 1), (2, 2)),
])
def test_max_pool_and_backward_match_reference(rng, kernel, stride, padding, dilation):
    x = _planes(rng)
    size = tuple(_pool_out(5, k, s, p, d)
                 for k, s, p, d in zip(kernel, stride, padding, dilation, strict=True))
    out, idx = cuda_pooling.max_pool2d(CudaArray.from_host(x), kernel, stride, padding,
                                       dilation, size)
    want, want_idx = pooling_reference.max_pool2d(x, kernel, stride, padding, dilation, size)
    _equal(out, want)
    _equal(idx, want_idx)
    g = rng.standard_normal(want.shape)
    got = cuda_pooling.max_pool2d_backward(CudaArray.from_host(g), idx, (5, 5))
    assert got.dtype == g.dtype
    np.testing.assert_allclose(got.get(), pooling_reference.max_pool2d_backward(
        g, want_idx, (5, 5)), rtol=1e-12, atol=1e-12)


def test_integer_and_float32_pools(rng):
    x = _planes(rng, "int64")
    for name in ("max_pool2d", "adaptive_max_pool2d"):
        args = ((3, 3), (2, 2), (1, 1), (1, 1), (3, 3)) if name == "max_pool2d" else ((2, 3),)
        got = getattr(cuda_pooling, name)(CudaArray.from_host(x), *args)
        want = getattr(pooling_reference, name)(x, *args)
        _equal(got[0], want[0])
        _equal(got[1], want[1])
    _equal(cuda_pooling.avg_pool2d(CudaArray.from_host(x - 2), (2, 2), (2, 2), (1, 1), (3, 3),
                                   False, None),
           pooling_reference.avg_pool2d(x - 2, (2, 2), (2, 2), (1, 1), (3, 3), False, None))
    # float32 stays float32, and the max backward's atomics work in float32
    x32 = _planes(rng, "float32")
    out, idx = cuda_pooling.max_pool2d(CudaArray.from_host(x32), (2, 2), (1, 1), (0, 0),
                                       (1, 1), (4, 4))
    assert out.dtype == np.float32
    g = np.ones((4, 4, 4), np.float32)
    got = cuda_pooling.max_pool2d_backward(CudaArray.from_host(g), idx, (5, 5))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.get(), pooling_reference.max_pool2d_backward(
        g, idx.get(), (5, 5)))


@pytest.mark.parametrize(("kernel", "stride", "padding", "include_pad", "divisor", "ceil"), [
    ((3, 3), (1, 1), (1, 1), True, None, False),
    ((3, 3), (2, 2), (1, 1), False, None, True),
    ((2, 3), (2, 1), (1, 0), True, 3, False),
    ((2, 2), (2, 2), (0, 1), False, None, True),
])
def test_avg_pool_and_backward_match_reference(rng, kernel, stride, padding, include_pad,
                                               divisor, ceil):
    x = rng.standard_normal((3, 5, 5)).astype(np.float32)
    size = tuple(_pool_out(5, k, s, p, 1, ceil)
                 for k, s, p in zip(kernel, stride, padding, strict=True))
    args = (kernel, stride, padding)
    _close(cuda_pooling.avg_pool2d(CudaArray.from_host(x), *args, size, include_pad, divisor),
           pooling_reference.avg_pool2d(x, *args, size, include_pad, divisor))
    g = rng.standard_normal((3, *size)).astype(np.float32)
    _equal(cuda_pooling.avg_pool2d_backward(CudaArray.from_host(g), (5, 5), *args,
                                            include_pad, divisor),
           pooling_reference.avg_pool2d_backward(g, (5, 5), *args, include_pad, divisor))


@pytest.mark.parametrize("out_size", [(3, 2), (2, 4), (1, 1), (7, 5)])
def test_adaptive_pools_match_reference(rng, out_size):
    x = _planes(rng)
    _close(cuda_pooling.adaptive_avg_pool2d(CudaArray.from_host(np.nan_to_num(x)), out_size),
           pooling_reference.adaptive_avg_pool2d(np.nan_to_num(x), out_size))
    out, idx = cuda_pooling.adaptive_max_pool2d(CudaArray.from_host(x), out_size)
    want, want_idx = pooling_reference.adaptive_max_pool2d(x, out_size)
    _equal(out, want)
    _equal(idx, want_idx)
    g = rng.standard_normal((4, *out_size))
    _equal(cuda_pooling.adaptive_avg_pool2d_backward(CudaArray.from_host(g), (5, 5)),
           pooling_reference.adaptive_avg_pool2d_backward(g, (5, 5)))


def test_pools_read_strided_planes_without_transfers(rng):
    x = rng.standard_normal((4, 5, 5))
    dx = CudaArray.from_host(x).transpose(0, 2, 1)[::2]  # a non-contiguous view
    before = TRANSFERS.snapshot()
    out, idx = cuda_pooling.max_pool2d(dx, (2, 2), (1, 1), (0, 0), (1, 1), (4, 4))
    avg = cuda_pooling.adaptive_avg_pool2d(dx, (2, 2))
    assert TRANSFERS.total == before.total
    view = x.transpose(0, 2, 1)[::2]
    want, want_idx = pooling_reference.max_pool2d(view, (2, 2), (1, 1), (0, 0), (1, 1), (4, 4))
    _equal(out, want)
    _equal(idx, want_idx)
    _close(avg, pooling_reference.adaptive_avg_pool2d(view, (2, 2)))
