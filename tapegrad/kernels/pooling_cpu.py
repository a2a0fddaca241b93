"""Numba versions of `pooling_reference`: same results, compiled.

The loops follow torch's CPU kernels line by line (window start/end clipping, the scan order
that decides which of equal maxima wins, float64 accumulation of sums), so they are also the
most direct statement of those rules. Inputs are stacks of planes (B, H, W). Max pools and
their indices equal the reference exactly; sums (averages, backward scatters) may differ from
NumPy's pairwise sums by rounding.

As in `conv_cpu`: numba is imported on first use and caches its machine code on disk. The
kernels are serial: pools are memory-bound and cheap next to the convolutions around them, and
a parallel kernel would start numba's thread pool beside BLAS's (see performance-notes: two
pools spinning on two cores slow both). dtypes other than float32/float64 take the NumPy
reference.
"""

from __future__ import annotations

import threading

import numpy as np

from . import pooling_reference as reference

__all__ = reference.__all__

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


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
            h0 = i * sh - ph
            h1 = min(h0 + kh, h + ph)
            for j in range(ow):
                w0 = j * sw - pw
                w1 = min(w0 + kw, w + pw)
                size = (h1 - h0) * (w1 - w0)
                r0, r1, c0, c1 = max(h0, 0), min(h1, h), max(w0, 0), min(w1, w)
                if r0 >= r1 or c0 >= c1:
                    out[b, i, j] = 0
                    continue
                total = 0.0  # float64 accumulator, as torch's acc_type
                for r in range(r0, r1):
                    for c in range(c0, c1):
                        total += xb[r, c]
                if divisor == 0:
                    divisor_ij = size if include_pad else (r1 - r0) * (c1 - c0)
                else:
                    divisor_ij = divisor
                out[b, i, j] = total / divisor_ij


def _avg_pool_bw_py(grad, kh, kw, sh, sw, ph, pw, include_pad, divisor, out):
    h, w = out.shape[1], out.shape[2]
    oh, ow = grad.shape[1], grad.shape[2]
    for b in range(grad.shape[0]):
        ob = out[b]
        for i in range(oh):
            h0 = i * sh - ph
            h1 = min(h0 + kh, h + ph)
            for j in range(ow):
                w0 = j * sw - pw
                w1 = min(w0 + kw, w + pw)
                size = (h1 - h0) * (w1 - w0)
                r0, r1, c0, c1 = max(h0, 0), min(h1, h), max(w0, 0), min(w1, w)
                if divisor == 0:
                    divisor_ij = size if include_pad else (r1 - r0) * (c1 - c0)
                else:
                    divisor_ij = divisor
                delta = grad[b, i, j] / grad.dtype.type(divisor_ij)
                for r in range(r0, r1):
                    for c in range(c0, c1):
                        ob[r, c] += delta


def _adaptive_avg_py(x, out):
    h, w = x.shape[1], x.shape[2]
    oh, ow = out.shape[1], out.shape[2]
    for b in range(x.shape[0]):
        xb = x[b]
        for i in range(oh):
            r0, r1 = (i * h) // oh, ((i + 1) * h + oh - 1) // oh
            for j in range(ow):
                c0, c1 = (j * w) // ow, ((j + 1) * w + ow - 1) // ow
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
            r0, r1 = (i * h) // oh, ((i + 1) * h + oh - 1) // oh
            for j in range(ow):
                c0, c1 = (j * w) // ow, ((j + 1) * w + ow - 1) // ow
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
            r0, r1 = (i * h) // oh, ((i + 1) * h + oh - 1) // oh
            for j in range(ow):
                c0, c1 = (j * w) // ow, ((j + 1) * w + ow - 1) // ow
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


_NAMES = ("_max_pool", "_max_pool_bw", "_avg_pool", "_avg_pool_bw", "_adaptive_avg",
          "_adaptive_avg_bw", "_adaptive_max")
_build_lock = threading.Lock()
_jit: dict = {}


def _build() -> None:
    """Import numba and wrap each body in a dispatcher (compiled per signature on first call,
    or loaded from the on-disk cache)."""
    with _build_lock:
        if _jit:
            return
        import numba

        opts = {"cache": True, "nogil": True, "error_model": "numpy"}
        for name in _NAMES:
            _jit[name] = numba.njit(**opts)(globals()[name + "_py"])


def _run(name: str, *args) -> None:
    if not _jit:
        _build()
    _jit[name](*args)


def max_pool2d(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
               padding: tuple[int, int], dilation: tuple[int, int],
               out_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """See `pooling_reference.max_pool2d`."""
    if x.dtype not in _FLOATS or x.size == 0:
        return reference.max_pool2d(x, kernel, stride, padding, dilation, out_size)
    x = np.ascontiguousarray(x)
    out = np.empty((x.shape[0], *out_size), x.dtype)
    idx = np.empty((x.shape[0], *out_size), np.int64)
    _run("_max_pool", x, *kernel, *stride, *padding, *dilation, out, idx)
    return out, idx


def max_pool2d_backward(grad: np.ndarray, indices: np.ndarray,
                        in_size: tuple[int, int]) -> np.ndarray:
    """See `pooling_reference.max_pool2d_backward`."""
    if grad.dtype not in _FLOATS or grad.size == 0:
        return reference.max_pool2d_backward(grad, indices, in_size)
    b = grad.shape[0]
    out = np.zeros((b, in_size[0] * in_size[1]), grad.dtype)
    _run("_max_pool_bw", np.ascontiguousarray(grad).reshape(b, -1),
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
    _run("_avg_pool", x, *kernel, *stride, *padding, bool(count_include_pad),
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
    _run("_avg_pool_bw", np.ascontiguousarray(grad), *kernel, *stride, *padding,
         bool(count_include_pad), int(divisor_override or 0), out)
    return out


def adaptive_avg_pool2d(x: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """See `pooling_reference.adaptive_avg_pool2d`."""
    if x.dtype not in _FLOATS or x.size == 0 or 0 in out_size:
        return reference.adaptive_avg_pool2d(x, out_size)
    out = np.empty((x.shape[0], *out_size), x.dtype)
    _run("_adaptive_avg", np.ascontiguousarray(x), out)
    return out


def adaptive_avg_pool2d_backward(grad: np.ndarray, in_size: tuple[int, int]) -> np.ndarray:
    """See `pooling_reference.adaptive_avg_pool2d_backward`."""
    if grad.dtype not in _FLOATS or grad.size == 0:
        return reference.adaptive_avg_pool2d_backward(grad, in_size)
    out = np.zeros((grad.shape[0], *in_size), grad.dtype)
    _run("_adaptive_avg_bw", np.ascontiguousarray(grad), out)
    return out


def adaptive_max_pool2d(x: np.ndarray,
                        out_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """See `pooling_reference.adaptive_max_pool2d`."""
    if x.dtype not in _FLOATS or x.size == 0 or 0 in out_size:
        return reference.adaptive_max_pool2d(x, out_size)
    out = np.empty((x.shape[0], *out_size), x.dtype)
    idx = np.empty((x.shape[0], *out_size), np.int64)
    _run("_adaptive_max", np.ascontiguousarray(x), out, idx)
    return out, idx
