"""CUDA twins of `tapegrad.kernels.norm_reference`: batch norm and layer norm.

Same functions, arguments and results as the reference (``norm_reference.__all__``), on
`CudaArray`s; read it for the maths. On the GPU each *group* of values that shares statistics
is one thread block, which reduces the group with the shared-memory tree of `row_kernels`:

* **batch norm** -- input viewed as (N, C, S): one block per channel ``c``, whose threads stride
  over the ``N * S`` values ``x[:, c, :]`` (a strided gather: a channel is not contiguous);
* **layer norm** -- input (M, D): one block per row for the statistics and for ``dx``, then one
  block per column for the parameter gradients (``dw[j]`` sums column ``j`` over the rows).

A block reads its group twice for the statistics (the mean, then the squared deviations from
it: more accurate than ``E[x^2] - E[x]^2``) and once more to write; backward reads it once for
its two sums (``sum(g)`` and ``sum(g * x_hat)``) and once to write ``dx``. As in the reference,
statistics and sums are float64 whatever the input dtype, and outputs have the input's dtype.
Inputs may be any strided view; outputs are fresh contiguous arrays.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from .. import norm_reference
from . import runtime
from .array import CudaArray, device_mismatch
from .row_kernels import build_once, device, kernel_globals, launch_rows

__all__ = list(norm_reference.__all__)

# bound by `kernel_globals` on first use (the simulator swaps `cuda` while a kernel runs)
cuda: Any = None
_sqrt: Any = None

_cache: dict[Any, SimpleNamespace] = {}


def _kernels() -> SimpleNamespace:
    return build_once(_cache, "norm", _build)


def _build() -> SimpleNamespace:
    kernel_globals(globals())
    dev = device()
    block_sum = dev.block_sum
    tpb = runtime.threads_per_block()
    f64 = np.float64

    @cuda.jit
    def bn_stats(n, c_, s_, x, xo, xs0, xs1, xs2, mean, var):
        sh = cuda.shared.array(tpb, np.float64)
        tid = cuda.threadIdx.x
        m = n * s_
        for c in range(cuda.blockIdx.x, c_, cuda.gridDim.x):
            base = xo + c * xs1
            acc = f64(0)
            for j in range(tid, m, tpb):
                acc += x[base + (j // s_) * xs0 + (j % s_) * xs2]
            mu = block_sum(sh, acc) / m
            acc = f64(0)
            for j in range(tid, m, tpb):
                d = f64(x[base + (j // s_) * xs0 + (j % s_) * xs2]) - mu
                acc += d * d
            v = block_sum(sh, acc) / m
            if tid == 0:
                mean[c] = mu
                var[c] = v

    @cuda.jit
    def bn_forward(total, c_, s_, x, xo, xs0, xs1, xs2, mean, mo, ms, inv, io, is_,
                   w, wo, ws, has_w, b, bo, bs, has_b, y):
        # y = x * alpha + beta: alpha = invstd * w, beta = -mean * alpha + b (per channel)
        for i in range(cuda.grid(1), total, cuda.gridsize(1)):
            s = i % s_
            c = (i // s_) % c_
            n = i // (s_ * c_)
            alpha = f64(inv[io + c * is_])
            if has_w:
                alpha = alpha * f64(w[wo + c * ws])
            beta = -f64(mean[mo + c * ms]) * alpha
            if has_b:
                beta = beta + f64(b[bo + c * bs])
            y[i] = f64(x[xo + n * xs0 + c * xs1 + s * xs2]) * alpha + beta

    @cuda.jit
    def bn_backward(n, c_, s_, g, go, gs0, gs1, gs2, x, xo, xs0, xs1, xs2, mean, mo, ms,
                    inv, io, is_, w, wo, ws, has_w, training, dx, dweight, dbias):
        sh = cuda.shared.array(tpb, np.float64)
        tid = cuda.threadIdx.x
        m = n * s_
        for c in range(cuda.blockIdx.x, c_, cuda.gridDim.x):
            mu = f64(mean[mo + c * ms])
            isd = f64(inv[io + c * is_])
            sg = f64(0)
            sgx = f64(0)
            for j in range(tid, m, tpb):
                k, s = j // s_, j % s_
                gj = f64(g[go + k * gs0 + c * gs1 + s * gs2])
                sg += gj
                sgx += gj * ((f64(x[xo + k * xs0 + c * xs1 + s * xs2]) - mu) * isd)
            db = block_sum(sh, sg)
            dw = block_sum(sh, sgx)
            scale = isd * f64(w[wo + c * ws]) if has_w else isd
            for j in range(tid, m, tpb):
                k, s = j // s_, j % s_
                gj = f64(g[go + k * gs0 + c * gs1 + s * gs2])
                if training:  # the statistics depend on x: the full formula
                    xh = (f64(x[xo + k * xs0 + c * xs1 + s * xs2]) - mu) * isd
                    dx[(k * c_ + c) * s_ + s] = (gj - db / m - xh * (dw / m)) * scale
                else:  # constant statistics
                    dx[(k * c_ + c) * s_ + s] = gj * scale
            if tid == 0:
                dweight[c] = dw
                dbias[c] = db

    @cuda.jit
    def ln_forward(rows, d, x, xo, xs0, xs1, w, wo, ws, has_w, b, bo, bs, has_b, eps,
                   y, mean, rstd):
        sh = cuda.shared.array(tpb, np.float64)
        tid = cuda.threadIdx.x
        for r in range(cuda.blockIdx.x, rows, cuda.gridDim.x):
            base = xo + r * xs0
            acc = f64(0)
            for j in range(tid, d, tpb):
                acc += x[base + j * xs1]
            mu = block_sum(sh, acc) / d
            acc = f64(0)
            for j in range(tid, d, tpb):
                dev_j = f64(x[base + j * xs1]) - mu
                acc += dev_j * dev_j
            rs = 1.0 / _sqrt(block_sum(sh, acc) / d + eps)
            for j in range(tid, d, tpb):
                v = (f64(x[base + j * xs1]) - mu) * rs
                if has_w:
                    v = v * f64(w[wo + j * ws])
                if has_b:
                    v = v + f64(b[bo + j * bs])
                y[r * d + j] = v
            if tid == 0:
                mean[r] = mu
                rstd[r] = rs

    @cuda.jit
    def ln_backward_rows(rows, d, g, go, gs0, gs1, x, xo, xs0, xs1, mean, mo, ms, rstd, ro,
                         rs_, w, wo, ws, has_w, dx):
        # dx = (g - sum(g)/d - x_hat * sum(g * x_hat)/d) * rstd, with g = dy * w
        sh = cuda.shared.array(tpb, np.float64)
        tid = cuda.threadIdx.x
        for r in range(cuda.blockIdx.x, rows, cuda.gridDim.x):
            mu = f64(mean[mo + r * ms])
            rsd = f64(rstd[ro + r * rs_])
            s1 = f64(0)
            s2 = f64(0)
            for j in range(tid, d, tpb):
                gj = f64(g[go + r * gs0 + j * gs1])
                if has_w:
                    gj = gj * f64(w[wo + j * ws])
                s1 += gj
                s2 += gj * ((f64(x[xo + r * xs0 + j * xs1]) - mu) * rsd)
            t1 = block_sum(sh, s1)
            t2 = block_sum(sh, s2)
            for j in range(tid, d, tpb):
                gj = f64(g[go + r * gs0 + j * gs1])
                if has_w:
                    gj = gj * f64(w[wo + j * ws])
                xh = (f64(x[xo + r * xs0 + j * xs1]) - mu) * rsd
                dx[r * d + j] = (gj - t1 / d - xh * t2 / d) * rsd

    @cuda.jit
    def ln_param_grads(rows, d, g, go, gs0, gs1, x, xo, xs0, xs1, mean, mo, ms, rstd, ro,
                       rs_, dweight, dbias):
        # one block per column j: dbias[j] = sum_r dy[r, j], dweight[j] = sum_r dy * x_hat
        sh = cuda.shared.array(tpb, np.float64)
        tid = cuda.threadIdx.x
        for j in range(cuda.blockIdx.x, d, cuda.gridDim.x):
            s1 = f64(0)
            s2 = f64(0)
            for r in range(tid, rows, tpb):
                gj = f64(g[go + r * gs0 + j * gs1])
                xh = (f64(x[xo + r * xs0 + j * xs1]) - f64(mean[mo + r * ms])) \
                    * f64(rstd[ro + r * rs_])
                s1 += gj
                s2 += gj * xh
            t1 = block_sum(sh, s1)
            t2 = block_sum(sh, s2)
            if tid == 0:
                dbias[j] = t1
                dweight[j] = t2

    return SimpleNamespace(bn_stats=bn_stats, bn_forward=bn_forward, bn_backward=bn_backward,
                           ln_forward=ln_forward, ln_backward_rows=ln_backward_rows,
                           ln_param_grads=ln_param_grads)


# ------------------------------------------------------------------ argument plumbing
def _arr(a: Any, name: str) -> CudaArray:
    if not isinstance(a, CudaArray):
        raise device_mismatch(a) if np.ndim(a) else TypeError(f"{name}: expected a CUDA array")
    return a


def _vec(a: Any, n: int, name: str) -> tuple[Any, int, int]:
    """``(buffer, offset, stride)`` of a length-``n`` vector (mean, invstd, weight...)."""
    a = _arr(a, name)
    if a.size != n:
        raise ValueError(f"{name} has {a.size} elements, expected {n}")
    a = a.reshape(n)
    return a._buf, a.offset, a.strides_el[0]


def _optional(a: Any, n: int, name: str, placeholder: CudaArray) -> tuple:
    """`_vec` plus a has-it flag; None becomes a placeholder the kernel never reads."""
    if a is None:
        return placeholder._buf, 0, 0, False
    return _vec(a, n, name) + (True,)


def _ncs(a: Any, name: str) -> tuple[CudaArray, tuple[int, int, int]]:
    a = _arr(a, name)
    if a.ndim != 3:
        raise ValueError(f"{name}: expected an (N, C, S) array, got shape {a.shape}")
    return a, a.strides_el


def _launch_elementwise(kernel: Any, total: int, *args: Any) -> None:
    if total > 0:
        threads = runtime.threads_per_block()
        kernel[runtime.blocks_for(total, threads), threads](total, *args)


# ------------------------------------------------------------------ batch norm
def batch_norm_stats(x: CudaArray) -> tuple[CudaArray, CudaArray]:
    """Per-channel mean and biased variance of ``x`` (N, C, S): two (C,) float64 arrays."""
    x, xs = _ncs(x, "x")
    n, c, s = x.shape
    mean, var = CudaArray.empty(c, np.float64), CudaArray.empty(c, np.float64)
    launch_rows(_kernels().bn_stats, c, n, c, s, x._buf, x.offset, *xs, mean._buf, var._buf)
    return mean, var


def batch_norm_forward(x: CudaArray, mean: CudaArray, invstd: CudaArray,
                       weight: CudaArray | None, bias: CudaArray | None) -> CudaArray:
    """``y[n, c, s] = (x[n, c, s] - mean[c]) * invstd[c] * w[c] + b[c]``: elementwise."""
    x, xs = _ncs(x, "x")
    n, c, s = x.shape
    y = CudaArray.empty(x.shape, x.dtype)
    _launch_elementwise(_kernels().bn_forward, y.size, c, s, x._buf, x.offset, *xs,
                        *_vec(mean, c, "mean"), *_vec(invstd, c, "invstd"),
                        *_optional(weight, c, "weight", x), *_optional(bias, c, "bias", x),
                        y._buf)
    return y


def batch_norm_backward(grad: CudaArray, x: CudaArray, mean: CudaArray, invstd: CudaArray,
                        weight: CudaArray | None, training: bool
                        ) -> tuple[CudaArray, CudaArray, CudaArray]:
    """``(dx, dweight, dbias)`` for grad and x (N, C, S): one block per channel."""
    grad, gs = _ncs(grad, "grad")
    x, xs = _ncs(x, "x")
    if grad.shape != x.shape:
        raise ValueError(f"shape mismatch: {grad.shape} and {x.shape}")
    n, c, s = x.shape
    dx = CudaArray.empty(x.shape, x.dtype)
    dweight, dbias = CudaArray.empty(c, np.float64), CudaArray.empty(c, np.float64)
    launch_rows(_kernels().bn_backward, c, n, c, s, grad._buf, grad.offset, *gs, x._buf,
                x.offset, *xs, *_vec(mean, c, "mean"), *_vec(invstd, c, "invstd"),
                *_optional(weight, c, "weight", x), bool(training), dx._buf, dweight._buf,
                dbias._buf)
    return dx, dweight, dbias


# ------------------------------------------------------------------ layer norm
def _md(a: Any, name: str) -> CudaArray:
    a = _arr(a, name)
    if a.ndim != 2:
        raise ValueError(f"{name}: expected an (M, D) array, got shape {a.shape}")
    return a


def layer_norm_forward(x: CudaArray, weight: CudaArray | None, bias: CudaArray | None,
                       eps: float) -> tuple[CudaArray, CudaArray, CudaArray]:
    """``(y, mean, rstd)`` for x (M, D): one block per row; mean, rstd (M,) float64."""
    x = _md(x, "x")
    m, d = x.shape
    y = CudaArray.empty(x.shape, x.dtype)
    mean, rstd = CudaArray.empty(m, np.float64), CudaArray.empty(m, np.float64)
    launch_rows(_kernels().ln_forward, m, m, d, x._buf, x.offset, *x.strides_el,
                *_optional(weight, d, "weight", x), *_optional(bias, d, "bias", x),
                float(eps), y._buf, mean._buf, rstd._buf)
    return y, mean, rstd


def layer_norm_backward(grad: CudaArray, x: CudaArray, mean: CudaArray, rstd: CudaArray,
                        weight: CudaArray | None
                        ) -> tuple[CudaArray, CudaArray, CudaArray]:
    """``(dx, dweight, dbias)`` for grad and x (M, D): a block per row for dx, then a block
    per column for the parameter gradients."""
    grad, x = _md(grad, "grad"), _md(x, "x")
    if grad.shape != x.shape:
        raise ValueError(f"shape mismatch: {grad.shape} and {x.shape}")
    m, d = x.shape
    dx = CudaArray.empty(x.shape, x.dtype)
    dweight, dbias = CudaArray.empty(d, np.float64), CudaArray.empty(d, np.float64)
    k = _kernels()
    common = (grad._buf, grad.offset, *grad.strides_el, x._buf, x.offset, *x.strides_el,
              *_vec(mean, m, "mean"), *_vec(rstd, m, "rstd"))
    launch_rows(k.ln_backward_rows, m, m, d, *common, *_optional(weight, d, "weight", x),
                dx._buf)
    launch_rows(k.ln_param_grads, d, m, d, *common, dweight._buf, dbias._buf)
    return dx, dweight, dbias
