"""Numba versions of `pooling_reference`: same results, compiled.

The loops follow torch's CPU kernels line by line (window start/end clipping, the scan order
that decides which of equal maxima wins, float64 accumulation of sums), so they are also the
most direct statement of those rules. Inputs are stacks of planes (B, H, W). Max pools and
their indices equal the reference exactly; sums (averages, backward scatters) may differ from
NumPy's pairwise sums by rounding.

As in `conv_cpu`: numba is imported on first use and caches its machine code on disk
(`_jit.lazy_njit`). The
kernels are serial: pools are memory-bound and cheap next to the convolutions around them
(LeNet-5's two pools take ~70 us of a ~3.5 ms step, less than waking a second thread costs
twice), and a parallel kernel would start numba's thread pool beside BLAS's: measured in
`tapegrad.kernels.cpu`, two pools of spinning threads on two cores slowed a training loop
~10x. dtypes other than float32/float64 take the NumPy reference.
"""

from __future__ import annotations

import numpy as np

from . import pooling_reference as reference
from ._jit import lazy_njit

__all__ = reference.__all__

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _avg_range_py(i, k, s, p, n):
    # Window of output index i along one axis of size n: its start and end clipped to [0, n),
    # and its length counting padding (the size count_include_pad divides by).
    lo = i * s - p
    hi = min(lo + k, n + p)
    return max(lo, 0), min(hi, n), hi - lo


def _avg_divisor_py(padded_size, r0, r1, c0, c1, include_pad, divisor):
    # What an average window divides by: divisor_override (0 = none), else its size with or
    # without the padding.
    if divisor != 0:
        return divisor
    return padded_size if include_pad else (r1 - r0) * (c1 - c0)


def _adaptive_range_py(i, n_in, n_out):
    # torch's adaptive windows: start floor(i * n_in / n_out), end ceil((i + 1) * n_in / n_out).
    return (i * n_in) // n_out, ((i + 1) * n_in + n_out - 1) // n_out


def _max_pool_py(x, kh, kw, sh, sw, ph, pw, dh, dw, out, idx):
    h, w = x.shape[1], x.shape[2]
    oh, ow = out.shape[1], out.shape[2]
    lowest = -np.inf
    for b in range(x.shape[0]):
        xb = x[b]
        for i in range(oh):
            h0 = i * sh - ph
            h1 = min(h0 + (kh - 1) * dh + 1, h)
            while h0 < 0:
                h0 += dh
            for j in range(ow):
                w0 = j * sw - pw
                w1 = min(w0 + (kw - 1) * dw + 1, w)
                while w0 < 0:
                    w0 += dw
                best_i = h0 * w + w0
                best = lowest
                for r in range(h0, h1, dh):
                    for c in range(w0, w1, dw):
                        v = xb[r, c]
                        if v > best or v != v:  # first max wins; NaN always wins
                            best = v
                            best_i = r * w + c
                out[b, i, j] = best
                idx[b, i, j] = best_i


def _max_pool_2x2_py(x, out, idx):
    # The common CNN pool (kernel 2, stride 2, no padding or dilation, every window inside the
    # plane) with the same results as _max_pool. Two things make it ~10x faster than
    # _max_pool there (0.43 -> 0.04 ms on LeNet's first pool, 192 planes of 28x28):
    # constant window bounds (runtime-sized 2-tap loops cost more than the comparisons), and
    # a branch-free choice of the winner: each tap's test is a select, and the winner's
    # offset in the window is a float select too, so LLVM vectorises the row loop. An int64
    # select in the same loop (the index itself) stopped vectorisation in measurement, so
    # the offsets go through a small float row and become indices in a second loop.
    w = x.shape[2]
    oh, ow = out.shape[1], out.shape[2]
    zero = x.dtype.type(0)
    one = x.dtype.type(1)
    right = x.dtype.type(w)  # offset of the tap one row down
    offset = np.empty(ow, x.dtype)
    for b in range(x.shape[0]):
        xb = x[b]
        for i in range(oh):
            top = xb[2 * i]
            bottom = xb[2 * i + 1]
            orow = out[b, i]
            for j in range(ow):
                # taps in scan order; "v > best or v != v" is max pooling's rule (first max
                # wins, a NaN always wins)
                best = top[2 * j]
                v = top[2 * j + 1]
                take = (v > best) | (v != v)
                best = v if take else best
                off = one if take else zero
                v = bottom[2 * j]
                take = (v > best) | (v != v)
                best = v if take else best
                off = right if take else off
                v = bottom[2 * j + 1]
                take = (v > best) | (v != v)
                best = v if take else best
                off = right + one if take else off
                orow[j] = best
                offset[j] = off
            irow = idx[b, i]
            start = 2 * i * w
            for j in range(ow):
                irow[j] = start + 2 * j + np.int64(offset[j])


def _max_pool_bw_py(grad, idx, out):
    # out: (B, H*W) zeroed; overlapping windows that chose one pixel add up
    for b in range(grad.shape[0]):
        g = grad[b]
        k = idx[b]
        o = out[b]
        for t in range(g.shape[0]):
            o[k[t]] += g[t]


def _avg_pool_py(x, kh, kw, sh, sw, ph, pw, include_pad, divisor, out):
    h, w = x.shape[1], x.shape[2]
    oh, ow = out.shape[1], out.shape[2]
    for b in range(x.shape[0]):
        xb = x[b]
        for i in range(oh):
            r0, r1, hp = _avg_range(i, kh, sh, ph, h)
            for j in range(ow):
                c0, c1, wp = _avg_range(j, kw, sw, pw, w)
                if r0 >= r1 or c0 >= c1:
                    out[b, i, j] = 0
                    continue
                total = 0.0  # float64 accumulator, as torch's acc_type
                for r in range(r0, r1):
                    for c in range(c0, c1):
                        total += xb[r, c]
                out[b, i, j] = total / _avg_divisor(hp * wp, r0, r1, c0, c1, include_pad,
                                                    divisor)


def _avg_pool_bw_py(grad, kh, kw, sh, sw, ph, pw, include_pad, divisor, out):
    h, w = out.shape[1], out.shape[2]
    oh, ow = grad.shape[1], grad.shape[2]
    for b in range(grad.shape[0]):
        ob = out[b]
        for i in range(oh):
            r0, r1, hp = _avg_range(i, kh, sh, ph, h)
            for j in range(ow):
                c0, c1, wp = _avg_range(j, kw, sw, pw, w)
                d = _avg_divisor(hp * wp, r0, r1, c0, c1, include_pad, divisor)
                delta = grad[b, i, j] / grad.dtype.type(d)
                for r in range(r0, r1):
                    for c in range(c0, c1):
                        ob[r, c] += delta


def _adaptive_avg_py(x, out):
    h, w = x.shape[1], x.shape[2]
    oh, ow = out.shape[1], out.shape[2]
    for b in range(x.shape[0]):
        xb = x[b]
        for i in range(oh):
            r0, r1 = _adaptive_range(i, h, oh)
            for j in range(ow):
                c0, c1 = _adaptive_range(j, w, ow)
                total = 0.0
                for r in range(r0, r1):
                    for c in range(c0, c1):
                        total += xb[r, c]
                out[b, i, j] = total / (r1 - r0) / (c1 - c0)


def _adaptive_avg_bw_py(grad, out):
    h, w = out.shape[1], out.shape[2]
    oh, ow = grad.shape[1], grad.shape[2]
    for b in range(grad.shape[0]):
        ob = out[b]
        for i in range(oh):
            r0, r1 = _adaptive_range(i, h, oh)
            for j in range(ow):
                c0, c1 = _adaptive_range(j, w, ow)
                delta = grad[b, i, j] / grad.dtype.type(r1 - r0) / grad.dtype.type(c1 - c0)
                for r in range(r0, r1):
                    for c in range(c0, c1):
                        ob[r, c] += delta


def _adaptive_max_py(x, out, idx):
    h, w = x.shape[1], x.shape[2]
    oh, ow = out.shape[1], out.shape[2]
    for b in range(x.shape[0]):
        xb = x[b]
        for i in range(oh):
            r0, r1 = _adaptive_range(i, h, oh)
            for j in range(ow):
                c0, c1 = _adaptive_range(j, w, ow)
                best = -np.inf
                best_i = r0 * w + c0
                for r in range(r0, r1):
                    for c in range(c0, c1):
                        v = xb[r, c]
                        if v > best or v != v:
                            best = v
                            best_i = r * w + c
                out[b, i, j] = best
                idx[b, i, j] = best_i


# Compiled on first call (`_jit.lazy_njit`).
_avg_range = lazy_njit(_avg_range_py)
_avg_divisor = lazy_njit(_avg_divisor_py)
_adaptive_range = lazy_njit(_adaptive_range_py)
_max_pool = lazy_njit(_max_pool_py)
_max_pool_2x2 = lazy_njit(_max_pool_2x2_py)
_max_pool_bw = lazy_njit(_max_pool_bw_py)
_avg_pool = lazy_njit(_avg_pool_py)
_avg_pool_bw = lazy_njit(_avg_pool_bw_py)
_adaptive_avg = lazy_njit(_adaptive_avg_py)
_adaptive_avg_bw = lazy_njit(_adaptive_avg_bw_py)
_adaptive_max = lazy_njit(_adaptive_max_py)


def max_pool2d(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
               padding: tuple[int, int], dilation: tuple[int, int],
               out_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """See `pooling_reference.max_pool2d`."""
    if x.dtype not in _FLOATS or x.size == 0:
        return reference.max_pool2d(x, kernel, stride, padding, dilation, out_size)
    x = np.ascontiguousarray(x)
    out = np.empty((x.shape[0], *out_size), x.dtype)
    idx = np.empty((x.shape[0], *out_size), np.int64)
    if (tuple(kernel) == tuple(stride) == (2, 2) and tuple(padding) == (0, 0)
            and tuple(dilation) == (1, 1)
            and 2 * out_size[0] <= x.shape[1] and 2 * out_size[1] <= x.shape[2]):
        _max_pool_2x2(x, out, idx)  # no window reaches past the plane (ceil_mode may)
    else:
        _max_pool(x, *kernel, *stride, *padding, *dilation, out, idx)
    return out, idx


def max_pool2d_backward(grad: np.ndarray, indices: np.ndarray,
                        in_size: tuple[int, int]) -> np.ndarray:
    """See `pooling_reference.max_pool2d_backward`."""
    if grad.dtype not in _FLOATS or grad.size == 0:
        return reference.max_pool2d_backward(grad, indices, in_size)
    b = grad.shape[0]
    out = np.zeros((b, in_size[0] * in_size[1]), grad.dtype)
    _max_pool_bw(np.ascontiguousarray(grad).reshape(b, -1),
                 np.ascontiguousarray(indices).reshape(b, -1), out)
    return out.reshape(b, *in_size)


def avg_pool2d(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
               padding: tuple[int, int], out_size: tuple[int, int], count_include_pad: bool,
               divisor_override: int | None) -> np.ndarray:
    """See `pooling_reference.avg_pool2d`."""
    if x.dtype not in _FLOATS or x.size == 0:
        return reference.avg_pool2d(x, kernel, stride, padding, out_size, count_include_pad,
                                    divisor_override)
    x = np.ascontiguousarray(x)
    out = np.empty((x.shape[0], *out_size), x.dtype)
    _avg_pool(x, *kernel, *stride, *padding, bool(count_include_pad),
              int(divisor_override or 0), out)
    return out


def avg_pool2d_backward(grad: np.ndarray, in_size: tuple[int, int], kernel: tuple[int, int],
                        stride: tuple[int, int], padding: tuple[int, int],
                        count_include_pad: bool, divisor_override: int | None) -> np.ndarray:
    """See `pooling_reference.avg_pool2d_backward`."""
    if grad.dtype not in _FLOATS or grad.size == 0:
        return reference.avg_pool2d_backward(grad, in_size, kernel, stride, padding,
                                             count_include_pad, divisor_override)
    out = np.zeros((grad.shape[0], *in_size), grad.dtype)
    _avg_pool_bw(np.ascontiguousarray(grad), *kernel, *stride, *padding,
                 bool(count_include_pad), int(divisor_override or 0), out)
    return out


def adaptive_avg_pool2d(x: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """See `pooling_reference.adaptive_avg_pool2d`."""
    if x.dtype not in _FLOATS or x.size == 0 or 0 in out_size:
        return reference.adaptive_avg_pool2d(x, out_size)
    out = np.empty((x.shape[0], *out_size), x.dtype)
    _adaptive_avg(np.ascontiguousarray(x), out)
    return out


def adaptive_avg_pool2d_backward(grad: np.ndarray, in_size: tuple[int, int]) -> np.ndarray:
    """See `pooling_reference.adaptive_avg_pool2d_backward`."""
    if grad.dtype not in _FLOATS or grad.size == 0:
        return reference.adaptive_avg_pool2d_backward(grad, in_size)
    out = np.zeros((grad.shape[0], *in_size), grad.dtype)
    _adaptive_avg_bw(np.ascontiguousarray(grad), out)
    return out


def adaptive_max_pool2d(x: np.ndarray,
                        out_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """See `pooling_reference.adaptive_max_pool2d`."""
    if x.dtype not in _FLOATS or x.size == 0 or 0 in out_size:
        return reference.adaptive_max_pool2d(x, out_size)
    out = np.empty((x.shape[0], *out_size), x.dtype)
    idx = np.empty((x.shape[0], *out_size), np.int64)
    _adaptive_max(np.ascontiguousarray(x), out, idx)
    return out, idx
