"""Row kernels: one thread block per row, with tree reductions in shared memory.

The softmax family, `core.sum_to_shape` and the normalisations (`norm`) all reduce *rows*: a
max or a sum over each slice along some axes, then an elementwise pass that uses it. On a GPU
a row is one block: its threads stride over the row's columns, each keeping a partial max or
sum, and then combine the partials in a tree in shared memory (`block_sum`)::

    32 partials: threads 0-15 add slot i + 16 to slot i   -> 16 partials
                 threads 0-7  add slot i + 8              ->  8 ... -> slot 0 holds the total

with a ``syncthreads`` after every step, so no thread reads a slot before its writer is done.
A block loops over rows ``blockIdx.x, blockIdx.x + gridDim.x, ...``; the loop is the same for
all of its threads, so every thread reaches every ``syncthreads``, as CUDA requires (on a GPU a
thread that skipped one would hang its block). Rows and columns are addressed through strides
(`offset_of`), so the reduced axis need not be last, or contiguous.

Numerics: partial sums and maxima are float64, as in the CPU kernels; every value written is
computed in the input's dtype ``T``, so float32 stays float32. The kernels are built (and
compiled) on first use, once per dtype, and kept in a module dict (`build_once`); the shared
arrays have `runtime.threads_per_block` slots, a constant when a kernel is built, so kernels
are launched with exactly that many threads (`launch_rows`).

Kernels call ``_exp``, ``_log`` and ``_sqrt``, module globals bound when they are first built
(`kernel_globals`): Python's ``math`` functions on a GPU (numba compiles ``math.exp`` of a float32
to CUDA's ``expf``; its CUDA target has no ``np.exp``), NumPy's scalar functions under the
simulator, where ``math.exp`` would raise OverflowError instead of returning inf, and would
compute a float32 in float64.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np

from . import runtime
from .array import CudaArray
from .runtime import build_once

__all__ = ["build_once", "device", "grid", "kernel_globals", "kernels",
           "launch_rows", "layout", "sigmoid_kernel"]

# numba.cuda and the scalar maths, bound by `kernel_globals` when the kernels are first built.
# `cuda` must be a module global: the simulator swaps it for its fake module while a kernel runs.
cuda: Any = None
_exp: Any = None
_log: Any = None
_sqrt: Any = None

_cache: dict[Any, SimpleNamespace] = {}


def kernel_globals(namespace: dict[str, Any]) -> None:
    """Bind ``cuda``, ``_exp``, ``_log`` and ``_sqrt`` in a kernel module's globals (see the
    module docstring for why the simulator gets NumPy's functions)."""
    namespace["cuda"] = runtime.numba_cuda()
    if runtime.simulated():
        namespace.update(_exp=np.exp, _log=np.log, _sqrt=np.sqrt)
    else:
        namespace.update(_exp=math.exp, _log=math.log, _sqrt=math.sqrt)


def grid(groups: int) -> int:
    """Blocks for a launch of one block per group (row, channel): at least 1, capped (blocks
    loop over groups, so any count covers any number of groups)."""
    return max(1, min(int(groups), 4 if runtime.simulated() else 8192))


def layout(a: CudaArray) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(shape, strides)`` for a kernel: a 0-d array is a length-1 vector."""
    return (a.shape, a.strides_el) if a.shape else ((1,), (0,))


def device() -> SimpleNamespace:
    """Device functions shared by the row kernels here and in `norm`."""
    return build_once(_cache, "device", _build_device)


def _build_device() -> SimpleNamespace:
    kernel_globals(globals())
    tpb = runtime.threads_per_block()  # a power of two: the tree halves it to 1

    @cuda.jit(device=True)
    def offset_of(i, shape, strides):
        # flat C-order index i over `shape` -> sum of index * stride (in items)
        off = 0
        for d in range(len(shape) - 1, -1, -1):
            k = i % shape[d]
            i //= shape[d]
            off += k * strides[d]
        return off

    @cuda.jit(device=True)
    def block_sum(sh, value):
        # every thread of the block calls this with its partial sum; all get the total
        tid = cuda.threadIdx.x
        sh[tid] = value
        cuda.syncthreads()
        step = tpb // 2
        while step > 0:
            if tid < step:
                sh[tid] += sh[tid + step]
            cuda.syncthreads()
            step //= 2
        total = sh[0]
        cuda.syncthreads()  # all have read slot 0 before the next call overwrites it
        return total

    @cuda.jit(device=True)
    def block_max(sh, value):
        # as block_sum; NaN wins (np.max propagates NaN)
        tid = cuda.threadIdx.x
        sh[tid] = value
        cuda.syncthreads()
        step = tpb // 2
        while step > 0:
            if tid < step:
                other = sh[tid + step]
                if other > sh[tid] or other != other:
                    sh[tid] = other
            cuda.syncthreads()
            step //= 2
        total = sh[0]
        cuda.syncthreads()
        return total

    return SimpleNamespace(offset_of=offset_of, block_sum=block_sum, block_max=block_max)


def kernels(dtype: Any) -> SimpleNamespace:
    """The row kernels for ``dtype`` (compiled on first use, once per dtype)."""
    dtype = np.dtype(dtype)
    return build_once(_cache, dtype, lambda: _build(dtype))


def _build(dtype: np.dtype) -> SimpleNamespace:
    """The row kernels for one dtype ``T`` (values are computed in T, partials in float64)."""
    dev = device()
    offset_of, block_sum, block_max = dev.offset_of, dev.block_sum, dev.block_max
    tpb = runtime.threads_per_block()
    T, f64 = dtype.type, np.float64  # a type, named as one
    inf, nan = math.inf, math.nan

    @cuda.jit(device=True)
    def shift_and_sum(x, px, xc, cols, sh, inf_to_zero):
        # (shift, sum(exp(x - shift))) for the row at px: shift is the row's max (NaN if the
        # row holds one); logsumexp's rule (inf_to_zero) uses 0 for an infinite max
        tid = cuda.threadIdx.x
        m = f64(-inf)
        for j in range(tid, cols, tpb):
            v = f64(x[px + j * xc])
            if v > m or v != v:
                m = v
        shift = T(block_max(sh, m))
        if inf_to_zero and (shift == inf or shift == -inf):
            shift = T(0)
        s = f64(0)
        for j in range(tid, cols, tpb):
            s += _exp(x[px + j * xc] - shift)
        return shift, block_sum(sh, s)

    @cuda.jit
    def softmax_rows(rows, cols, rshape, x, xo, xs, xc, y, yo, ys, yc, take_log):
        sh = cuda.shared.array(tpb, np.float64)
        tid = cuda.threadIdx.x
        for r in range(cuda.blockIdx.x, rows, cuda.gridDim.x):
            px = xo + offset_of(r, rshape, xs)
            py = yo + offset_of(r, rshape, ys)
            shift, total = shift_and_sum(x, px, xc, cols, sh, False)
            if take_log:  # (x - max) - log(sum)
                lse = T(_log(total))
                for j in range(tid, cols, tpb):
                    y[py + j * yc] = (x[px + j * xc] - shift) - lse
            else:  # exp(x - max) / sum
                tot = T(total)
                for j in range(tid, cols, tpb):
                    y[py + j * yc] = _exp(x[px + j * xc] - shift) / tot

    @cuda.jit
    def logsumexp_rows(rows, cols, rshape, x, xo, xs, xc, out):
        sh = cuda.shared.array(tpb, np.float64)
        for r in range(cuda.blockIdx.x, rows, cuda.gridDim.x):
            px = xo + offset_of(r, rshape, xs)
            shift, total = shift_and_sum(x, px, xc, cols, sh, True)
            if cuda.threadIdx.x == 0:
                out[r] = T(_log(total)) + shift

    @cuda.jit
    def backward_rows(rows, cols, rshape, g, go, gs, gc, y, yo, ys, yc, o, oo, os_, oc,
                      log_form):
        # softmax: y * (g - sum(g * y));  log_softmax (log_form): g - exp(y) * sum(g)
        sh = cuda.shared.array(tpb, np.float64)
        tid = cuda.threadIdx.x
        for r in range(cuda.blockIdx.x, rows, cuda.gridDim.x):
            pg = go + offset_of(r, rshape, gs)
            py = yo + offset_of(r, rshape, ys)
            po = oo + offset_of(r, rshape, os_)
            s = f64(0)
            for j in range(tid, cols, tpb):
                if log_form:
                    s += g[pg + j * gc]
                else:
                    s += g[pg + j * gc] * y[py + j * yc]
            st = T(block_sum(sh, s))
            for j in range(tid, cols, tpb):
                gj = g[pg + j * gc]
                yj = y[py + j * yc]
                if log_form:
                    o[po + j * oc] = gj - _exp(yj) * st
                else:
                    o[po + j * oc] = yj * (gj - st)

    @cuda.jit
    def sum_rows(rows, rshape, rstrides, cols, cshape, cstrides, x, xo, out):
        # out[r] = sum of row r; a row's columns may span several (strided) axes
        sh = cuda.shared.array(tpb, np.float64)
        for r in range(cuda.blockIdx.x, rows, cuda.gridDim.x):
            px = xo + offset_of(r, rshape, rstrides)
            s = f64(0)
            for j in range(cuda.threadIdx.x, cols, tpb):
                s += x[px + offset_of(j, cshape, cstrides)]
            total = block_sum(sh, s)
            if cuda.threadIdx.x == 0:
                out[r] = T(total)

    @cuda.jit
    def nll_rows(n, c, x, xo, xs, xc, t, to, ts, w, wo, ws, has_w, ignore, lp, losses, errors):
        # lp (n, c), losses and errors (n,) are contiguous
        sh = cuda.shared.array(tpb, np.float64)
        tid = cuda.threadIdx.x
        for r in range(cuda.blockIdx.x, n, cuda.gridDim.x):
            px = xo + r * xs
            shift, total = shift_and_sum(x, px, xc, c, sh, False)
            lse = T(_log(total))
            for j in range(tid, c, tpb):
                lp[r * c + j] = (x[px + j * xc] - shift) - lse
            if tid == 0:
                k = t[to + r * ts]
                if k == ignore:
                    losses[r] = T(0)
                    errors[r] = 0
                elif k < 0 or k >= c:  # cannot raise here: flag the row, poison its loss
                    losses[r] = T(nan)
                    errors[r] = 1
                else:  # the same operations as the lp row above: the same value
                    wk = T(w[wo + k * ws]) if has_w else T(1)
                    losses[r] = -(wk * ((x[px + k * xc] - shift) - lse))
                    errors[r] = 0

    @cuda.jit
    def nll_grad_rows(n, c, lp, lo, ls, lc, g, go, gs, t, to, ts, w, wo, ws, has_w, ignore,
                      out, errors):
        # out (n, c) and errors (n,) contiguous; no reduction, so no shared memory
        tid = cuda.threadIdx.x
        for r in range(cuda.blockIdx.x, n, cuda.gridDim.x):
            k = t[to + r * ts]
            skip = k == ignore
            bad = (not skip) and (k < 0 or k >= c)
            coef = T(0)
            if not skip and not bad:
                wk = T(w[wo + k * ws]) if has_w else T(1)
                coef = T(g[go + r * gs]) * wk
            for j in range(tid, c, tpb):
                v = T(0)
                if bad:
                    v = T(nan)
                elif not skip:
                    v = _exp(lp[lo + r * ls + j * lc]) * coef
                    if j == k:
                        v = v - coef
                out[r * c + j] = v
            if tid == 0:
                errors[r] = 1 if bad else 0

    return SimpleNamespace(softmax_rows=softmax_rows, logsumexp_rows=logsumexp_rows,
                           backward_rows=backward_rows, sum_rows=sum_rows, nll_rows=nll_rows,
                           nll_grad_rows=nll_grad_rows)


def launch_rows(kernel: Any, groups: int, *args: Any) -> None:
    """Launch ``kernel`` with one block of `runtime.threads_per_block` threads per group (row,
    channel); the kernels' shared arrays have exactly that many slots."""
    if groups > 0:
        kernel[grid(groups), runtime.threads_per_block()](*args)


def sigmoid_kernel(dtype: Any) -> Any:
    """The strided sigmoid kernel for ``dtype``: ``(n, shape, x, offset, strides, out)``."""
    dtype = np.dtype(dtype)
    return build_once(_cache, ("sigmoid", dtype), lambda: _build_sigmoid(dtype)).kernel


def _build_sigmoid(dtype: np.dtype) -> SimpleNamespace:
    offset_of = device().offset_of
    T = dtype.type  # a type, named as one

    @cuda.jit
    def kernel(n, shape, x, xo, xs, out):
        for i in range(cuda.grid(1), n, cuda.gridsize(1)):
            v = x[xo + offset_of(i, shape, xs)]
            e = _exp(-abs(v))  # in (0, 1]: never overflows
            out[i] = (T(1) if v >= T(0) else e) / (T(1) + e)

    return SimpleNamespace(kernel=kernel)
