"""Normalisation kernels compiled with numba: the API of `norm_reference`, fused.

Read `norm_reference` for the maths. What fusing buys: NumPy needs ~6 full passes over the
data for a layer-norm forward (subtract, square, mean, ...) and allocates a temporary for
each; here a group is read twice for its statistics (mean, then squared deviations: more
accurate than one pass of sums of squares) and once to write the output, and backward reads
each group once for its two sums and once to write dx. Sums use float64 accumulators, in four
independent partial sums (without fastmath LLVM may not reorder one running sum, and four
chains run 2-3x faster than one, as in the softmax kernels of `tapegrad.kernels.cpu`).

Like `tapegrad.kernels.cpu`, numba is imported on the first kernel call (not at import) and
the compiled code is cached on disk (`_jit.lazy_njit`). Kernels are serial: a parallel kernel
next to BLAS's threads fights for the 2 cores of the development machine (see the performance
notes).
"""

from __future__ import annotations

import math

import numpy as np

from . import norm_reference
from ._jit import lazy_njit

__all__ = norm_reference.__all__


# ---------------------------------------------------------------------------------------------
# Kernel bodies (plain Python; compiled by numba on first use).


def _sum_py(a):
    # sum(a), four partial sums. Written again rather than imported from cpu.py (its
    # _sum_row): numba's disk cache would not notice an edit there (see _jit).
    s0 = s1 = s2 = s3 = 0.0
    n4 = a.shape[0] // 4 * 4
    for j in range(0, n4, 4):
        s0 += a[j]
        s1 += a[j + 1]
        s2 += a[j + 2]
        s3 += a[j + 3]
    for j in range(n4, a.shape[0]):
        s0 += a[j]
    return (s0 + s1) + (s2 + s3)


def _sq_dev_py(a, m):
    # sum((a - m)^2), four partial sums
    s0 = s1 = s2 = s3 = 0.0
    n4 = a.shape[0] // 4 * 4
    for j in range(0, n4, 4):
        d0 = a[j] - m
        d1 = a[j + 1] - m
        d2 = a[j + 2] - m
        d3 = a[j + 3] - m
        s0 += d0 * d0
        s1 += d1 * d1
        s2 += d2 * d2
        s3 += d3 * d3
    for j in range(n4, a.shape[0]):
        d0 = a[j] - m
        s0 += d0 * d0
    return (s0 + s1) + (s2 + s3)


def _bn_stats_py(x, mean, var):
    n_, c_, s_ = x.shape
    m = n_ * s_
    for c in range(c_):
        total = 0.0
        for n in range(n_):
            total += _sum(x[n, c])
        mu = total / m if m > 0 else np.nan
        sq = 0.0
        for n in range(n_):
            sq += _sq_dev(x[n, c], mu)
        mean[c] = mu
        var[c] = sq / m if m > 0 else np.nan


def _bn_forward_py(x, alpha, beta, y):
    n_, c_, s_ = x.shape
    for n in range(n_):
        for c in range(c_):
            a = alpha[c]
            b = beta[c]
            xr = x[n, c]
            yr = y[n, c]
            for s in range(s_):
                yr[s] = xr[s] * a + b


def _bn_backward_py(g, x, mean, invstd, scale, training, dx, dweight, dbias):
    n_, c_, s_ = x.shape
    m = n_ * s_
    for c in range(c_):
        mu = mean[c]
        sg = 0.0  # sum(dy)
        sgx = 0.0  # sum(dy * (x - mean))
        for n in range(n_):
            gr = g[n, c]
            xr = x[n, c]
            for s in range(s_):
                gv = np.float64(gr[s])
                sg += gv
                sgx += gv * (xr[s] - mu)
        inv = invstd[c]
        dbias[c] = sg
        dweight[c] = sgx * inv
        k = scale[c]
        if training:
            mean_g = sg / m
            proj = sgx * inv * inv / m  # mean(dy * x_hat) * invstd
            for n in range(n_):
                gr = g[n, c]
                xr = x[n, c]
                dr = dx[n, c]
                for s in range(s_):
                    dr[s] = (gr[s] - mean_g - (xr[s] - mu) * proj) * k
        else:
            for n in range(n_):
                gr = g[n, c]
                dr = dx[n, c]
                for s in range(s_):
                    dr[s] = gr[s] * k


def _ln_forward_py(x, w, b, eps, y, mean, rstd):
    rows, d = x.shape
    for r in range(rows):
        xr = x[r]
        mu = _sum(xr) / d
        inv = 1.0 / math.sqrt(_sq_dev(xr, mu) / d + eps)
        mean[r] = mu
        rstd[r] = inv
        yr = y[r]
        for j in range(d):
            yr[j] = (xr[j] - mu) * inv * w[j] + b[j]


def _ln_backward_py(g, x, mean, rstd, w, dx, dweight, dbias):
    rows, d = x.shape
    for r in range(rows):
        gr = g[r]
        xr = x[r]
        mu = mean[r]
        inv = rstd[r]
        s1 = 0.0  # sum(g * w)
        s2 = 0.0  # sum(g * w * x_hat)
        for j in range(d):
            gv = np.float64(gr[j])
            xh = (xr[j] - mu) * inv
            gw = gv * w[j]
            s1 += gw
            s2 += gw * xh
            dweight[j] += gv * xh
            dbias[j] += gv
        m1 = s1 / d
        m2 = s2 / d
        dr = dx[r]
        for j in range(d):
            xh = (xr[j] - mu) * inv
            dr[j] = (gr[j] * w[j] - m1 - xh * m2) * inv


# ---------------------------------------------------------------------------------------------
# Compiled on first call (`_jit.lazy_njit`).

_sum = lazy_njit(_sum_py)
_sq_dev = lazy_njit(_sq_dev_py)
_bn_stats = lazy_njit(_bn_stats_py)
_bn_forward = lazy_njit(_bn_forward_py)
_bn_backward = lazy_njit(_bn_backward_py)
_ln_forward = lazy_njit(_ln_forward_py)
_ln_backward = lazy_njit(_ln_backward_py)

# ---------------------------------------------------------------------------------------------
# Public wrappers: layout and dtype plumbing.


def _c(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a)


def _vec(v: np.ndarray | None, n: int, fill: float) -> np.ndarray:
    """A C-contiguous float64 (n,) vector: ``v`` cast, or ``fill`` when v is None."""
    if v is None:
        return np.full(n, fill)
    return np.ascontiguousarray(v, dtype=np.float64).reshape(n)


def batch_norm_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = x.shape[1]
    mean, var = np.empty(c), np.empty(c)
    _bn_stats(_c(x), mean, var)
    return mean, var


def batch_norm_forward(x: np.ndarray, mean: np.ndarray, invstd: np.ndarray,
                       weight: np.ndarray | None, bias: np.ndarray | None) -> np.ndarray:
    c = x.shape[1]
    alpha = _vec(invstd, c, 1.0) * _vec(weight, c, 1.0)
    beta = _vec(bias, c, 0.0) - _vec(mean, c, 0.0) * alpha
    y = np.empty(x.shape, dtype=x.dtype)
    _bn_forward(_c(x), alpha, beta, y)
    return y


def batch_norm_backward(grad: np.ndarray, x: np.ndarray, mean: np.ndarray, invstd: np.ndarray,
                        weight: np.ndarray | None, training: bool
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c = x.shape[1]
    inv = _vec(invstd, c, 1.0)
    scale = inv * _vec(weight, c, 1.0)
    dx = np.empty(x.shape, dtype=x.dtype)
    dweight, dbias = np.empty(c), np.empty(c)
    _bn_backward(_c(grad.astype(x.dtype, copy=False)), _c(x), _vec(mean, c, 0.0), inv, scale,
                 bool(training), dx, dweight, dbias)
    return dx, dweight, dbias


def layer_norm_forward(x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None,
                       eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, d = x.shape
    y = np.empty(x.shape, dtype=x.dtype)
    mean, rstd = np.empty(rows), np.empty(rows)
    _ln_forward(_c(x), _vec(weight, d, 1.0), _vec(bias, d, 0.0), float(eps), y, mean, rstd)
    return y, mean, rstd


def layer_norm_backward(grad: np.ndarray, x: np.ndarray, mean: np.ndarray, rstd: np.ndarray,
                        weight: np.ndarray | None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = x.shape[1]
    dx = np.empty(x.shape, dtype=x.dtype)
    dweight, dbias = np.zeros(d), np.zeros(d)
    _ln_backward(_c(grad.astype(x.dtype, copy=False)), _c(x), _c(mean), _c(rstd),
                 _vec(weight, d, 1.0), dx, dweight, dbias)
    return dx, dweight, dbias
