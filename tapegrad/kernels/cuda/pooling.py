"""Pooling on the GPU: the functions of `tapegrad.kernels.pooling_reference` as CUDA kernels.

Same names, arguments and results as the reference (whose docstring states the rules: window
starts and clipping, which of equal maxima wins, NaN, divisors), on stacks of planes
``x`` (B, H, W) held in `CudaArray`; indices are int64 like the reference's.

Forward kernels run one thread per OUTPUT element: it scans its window in the reference's
order (row by row), so it picks the same maximum and index, and sums in the same dtype
(float64 for floats, as torch's ``acc_type``; int64 for integers).

Backward kernels must add several outputs' gradients into one input pixel wherever windows
overlap. Two threads adding into one pixel at the same time would lose an update, so:

* average pools (plain and adaptive) are turned around into gathers: one thread per INPUT
  pixel works out which windows contain it (a short range of output rows and columns,
  computed from the geometry) and adds up their contributions in the reference's order (rows,
  then columns). No atomics, deterministic, bit-identical to the reference.
* `max_pool2d_backward` only knows the recorded indices, not the windows, so a gather would
  have to scan every output of the plane for each pixel. It runs one thread per OUTPUT and
  adds with ``cuda.atomic.add`` instead: correct, but where three or more outputs chose the
  same pixel the order of the float additions (so the last bit) may vary from run to run.
  Atomics exist for (u)int32/64 and float32/64; other dtypes add in a wider one and cast.

All arrays are read through their strides (no compaction copies); every kernel is a grid-stride
loop, so any number of blocks covers any size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import runtime
from .array import CudaArray

__all__ = [
    "adaptive_avg_pool2d", "adaptive_avg_pool2d_backward", "adaptive_max_pool2d",
    "avg_pool2d", "avg_pool2d_backward", "max_pool2d", "max_pool2d_backward",
]

#: ``numba.cuda``, bound when the first kernel is built. Kernels must find it as a module
#: global: the simulator swaps the globals that hold it for its fake CUDA module at launch.
cuda: Any = None


def _smaller(a: int, b: int) -> int:
    return a if a < b else b


def _larger(a: int, b: int) -> int:
    return a if a > b else b


#: `_smaller` / `_larger` as CUDA device functions, bound with ``cuda``. The kernels use
#: them rather than the builtins: numba's CUDA target lowers ``min``/``max`` directly only
#: for floats; for integers it goes through a generic vararg overload that numba 0.68 failed
#: to compile to PTX in our checks.
imin: Any = None
imax: Any = None

_ATOMIC = {np.dtype(t) for t in (np.int32, np.int64, np.uint32, np.uint64, np.float32,
                                 np.float64)}


def _lowest(dtype: np.dtype) -> Any:
    """Below every value: where a max scan starts (padding never wins)."""
    return float("-inf") if dtype.kind == "f" else int(np.iinfo(dtype).min)


def _make_max_pool(C: Any, adaptive: bool) -> Callable:  # C: a scalar type
    lowest = _lowest(np.dtype(C))

    def kernel(total, h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw,
               x, x_off, xs, out, o_off, os_, idx, i_off, is_):
        for t in range(cuda.grid(1), total, cuda.gridsize(1)):
            j = t % ow
            i = (t // ow) % oh
            b = t // (ow * oh)
            if adaptive:  # torch's windows [floor(i*h/oh), ceil((i+1)*h/oh)), step 1
                r0, r1, rstep = (i * h) // oh, ((i + 1) * h + oh - 1) // oh, 1
                c0, c1, cstep = (j * w) // ow, ((j + 1) * w + ow - 1) // ow, 1
            else:  # window from (i*sh - ph, j*sw - pw), dilated; first tap moved into range
                r0, c0, rstep, cstep = i * sh - ph, j * sw - pw, dh, dw
                r1 = imin(r0 + (kh - 1) * dh + 1, h)
                c1 = imin(c0 + (kw - 1) * dw + 1, w)
                while r0 < 0:
                    r0 += dh
                while c0 < 0:
                    c0 += dw
            best = C(lowest)
            best_i = r0 * w + c0  # an all -inf window reports its first in-bounds pixel
            base = x_off + b * xs[0]
            for r in range(r0, r1, rstep):
                for c in range(c0, c1, cstep):
                    v = C(x[base + r * xs[1] + c * xs[2]])
                    if v > best or v != v:  # the first maximum wins; NaN always wins
                        best = v
                        best_i = r * w + c
            out[o_off + b * os_[0] + i * os_[1] + j * os_[2]] = best
            idx[i_off + b * is_[0] + i * is_[1] + j * is_[2]] = best_i

    return kernel


def _make_max_bw(C: Any) -> Callable:
    def kernel(total, oh, ow, hw, g, g_off, gs, idx, i_off, is_, out):
        for t in range(cuda.grid(1), total, cuda.gridsize(1)):
            j = t % ow
            i = (t // ow) % oh
            b = t // (ow * oh)
            k = idx[i_off + b * is_[0] + i * is_[1] + j * is_[2]]
            if k >= 0 and k < hw:  # out is (B, H*W), compact and zeroed
                cuda.atomic.add(out, b * hw + k, C(g[g_off + b * gs[0] + i * gs[1] + j * gs[2]]))

    return kernel


def _make_avg_pool(C: Any, adaptive: bool) -> Callable:
    floating = np.dtype(C).kind == "f"
    A = np.float64 if floating else np.int64  # the accumulator's type

    def kernel(total, h, w, oh, ow, kh, kw, sh, sw, ph, pw, include_pad, divisor,
               x, x_off, xs, out, o_off, os_):
        for t in range(cuda.grid(1), total, cuda.gridsize(1)):
            j = t % ow
            i = (t // ow) % oh
            b = t // (ow * oh)
            if adaptive:
                r0, r1 = (i * h) // oh, ((i + 1) * h + oh - 1) // oh
                c0, c1 = (j * w) // ow, ((j + 1) * w + ow - 1) // ow
                padded = (r1 - r0) * (c1 - c0)
            else:  # clipped window; its size counting padding (not the ceil_mode overhang)
                lo_r, lo_c = i * sh - ph, j * sw - pw
                hi_r, hi_c = imin(lo_r + kh, h + ph), imin(lo_c + kw, w + pw)
                padded = (hi_r - lo_r) * (hi_c - lo_c)
                r0, r1, c0, c1 = imax(lo_r, 0), imin(hi_r, h), imax(lo_c, 0), imin(hi_c, w)
            total_ = A(0)
            base = x_off + b * xs[0]
            for r in range(r0, r1):
                for c in range(c0, c1):
                    total_ += A(x[base + r * xs[1] + c * xs[2]])
            value = C(0)  # a window entirely in the padding averages to 0
            if r0 < r1 and c0 < c1:
                if adaptive:  # torch divides twice
                    value = C(total_ / (r1 - r0) / (c1 - c0))
                else:
                    div = divisor
                    if div == 0:
                        div = padded if include_pad else (r1 - r0) * (c1 - c0)
                    if floating:
                        value = C(total_ / div)
                    else:  # C++ integer division: truncate toward zero
                        q = abs(total_) // abs(div)
                        value = C(-q if (total_ < 0) != (div < 0) else q)
            out[o_off + b * os_[0] + i * os_[1] + j * os_[2]] = value

    return kernel


def _make_avg_bw(C: Any, adaptive: bool) -> Callable:
    def kernel(total, h, w, oh, ow, kh, kw, sh, sw, ph, pw, include_pad, divisor,
               g, g_off, gs, out, o_off, os_):
        for t in range(cuda.grid(1), total, cuda.gridsize(1)):
            c = t % w  # t -> input pixel (b, r, c): this thread owns it alone
            r = (t // w) % h
            b = t // (w * h)
            # the output rows / columns whose windows can contain r / c
            if adaptive:  # floor(i*h/oh) <= r < ceil((i+1)*h/oh)
                i_lo, i_hi = (r * oh) // h, imin(oh - 1, ((r + 1) * oh - 1) // h)
                j_lo, j_hi = (c * ow) // w, imin(ow - 1, ((c + 1) * ow - 1) // w)
            else:  # i*sh - ph <= r < i*sh - ph + kh
                i_lo, i_hi = imax(0, (r + ph - kh) // sh + 1), imin(oh - 1, (r + ph) // sh)
                j_lo, j_hi = imax(0, (c + pw - kw) // sw + 1), imin(ow - 1, (c + pw) // sw)
            acc = C(0)
            for i in range(i_lo, i_hi + 1):
                if adaptive:
                    r0, r1, hp = (i * h) // oh, ((i + 1) * h + oh - 1) // oh, 0
                else:
                    r0 = i * sh - ph
                    r1 = imin(r0 + kh, h + ph)
                    hp = r1 - r0
                    r0, r1 = imax(r0, 0), imin(r1, h)
                if r < r0 or r >= r1:
                    continue
                for j in range(j_lo, j_hi + 1):
                    if adaptive:
                        c0, c1, wp = (j * w) // ow, ((j + 1) * w + ow - 1) // ow, 0
                    else:
                        c0 = j * sw - pw
                        c1 = imin(c0 + kw, w + pw)
                        wp = c1 - c0
                        c0, c1 = imax(c0, 0), imin(c1, w)
                    if c < c0 or c >= c1:
                        continue
                    grad = C(g[g_off + b * gs[0] + i * gs[1] + j * gs[2]])
                    if adaptive:  # the reference's rounding: grad / kh / kw in the dtype
                        acc += grad / C(r1 - r0) / C(c1 - c0)
                    else:
                        div = divisor
                        if div == 0:
                            div = hp * wp if include_pad else (r1 - r0) * (c1 - c0)
                        acc += grad / C(div)
            out[o_off + b * os_[0] + r * os_[1] + c * os_[2]] = acc

    return kernel


_FACTORIES: dict[str, Callable[[Any], Callable]] = {
    "max": lambda C: _make_max_pool(C, False),
    "adaptive_max": lambda C: _make_max_pool(C, True),
    "max_bw": _make_max_bw,
    "avg": lambda C: _make_avg_pool(C, False),
    "adaptive_avg": lambda C: _make_avg_pool(C, True),
    "avg_bw": lambda C: _make_avg_bw(C, False),
    "adaptive_avg_bw": lambda C: _make_avg_bw(C, True),
}
_cache: dict[tuple, Any] = {}


def _launch(name: str, dtype: np.dtype, total: int, *args: Any) -> None:
    """Run kernel ``name`` (built for ``dtype`` on first use) over ``total`` items."""
    def build() -> Any:
        global cuda, imin, imax
        if cuda is None:
            cuda = runtime.numba_cuda()
            imin = cuda.jit(device=True)(_smaller)
            imax = cuda.jit(device=True)(_larger)
        return cuda.jit(_FACTORIES[name](np.dtype(dtype).type))

    runtime.launch_1d(runtime.build_once(_cache, (name, np.dtype(dtype)), build), total, *args)


def _geometry(kernel: Any, stride: Any, padding: Any) -> tuple[int, ...]:
    return (*(int(k) for k in kernel), *(int(s) for s in stride), *(int(p) for p in padding))


def max_pool2d(x: CudaArray, kernel: tuple[int, int], stride: tuple[int, int],
               padding: tuple[int, int], dilation: tuple[int, int],
               out_size: tuple[int, int]) -> tuple[CudaArray, CudaArray]:
    """See `pooling_reference.max_pool2d`: ``(out, indices)``, indices int64."""
    b, h, w = x.shape
    out = CudaArray.empty((b, *out_size), x.dtype)
    idx = CudaArray.empty((b, *out_size), np.int64)
    _launch("max", x.dtype, out.size, h, w, *out_size, *_geometry(kernel, stride, padding),
            *dilation, x._buf, x.offset, x.strides_el, out._buf, out.offset, out.strides_el,
            idx._buf, idx.offset, idx.strides_el)
    return out, idx


def max_pool2d_backward(grad: CudaArray, indices: CudaArray,
                        in_size: tuple[int, int]) -> CudaArray:
    """See `pooling_reference.max_pool2d_backward` (atomic adds: see the module docstring)."""
    b, oh, ow = grad.shape
    hw = int(in_size[0]) * int(in_size[1])
    acc = grad.dtype if grad.dtype in _ATOMIC else np.dtype(
        np.float32 if grad.dtype.kind == "f" else np.int64)
    out = CudaArray.full((b, hw), 0, acc)
    _launch("max_bw", acc, grad.size, oh, ow, hw, grad._buf, grad.offset, grad.strides_el,
            indices._buf, indices.offset, indices.strides_el, out._buf)
    if acc != grad.dtype:
        out = out.astype(grad.dtype)
    return out.reshape(b, *in_size)


def avg_pool2d(x: CudaArray, kernel: tuple[int, int], stride: tuple[int, int],
               padding: tuple[int, int], out_size: tuple[int, int], count_include_pad: bool,
               divisor_override: int | None) -> CudaArray:
    """See `pooling_reference.avg_pool2d`."""
    b, h, w = x.shape
    out = CudaArray.empty((b, *out_size), x.dtype)
    _launch("avg", x.dtype, out.size, h, w, *out_size, *_geometry(kernel, stride, padding),
            bool(count_include_pad), int(divisor_override or 0),
            x._buf, x.offset, x.strides_el, out._buf, out.offset, out.strides_el)
    return out


def avg_pool2d_backward(grad: CudaArray, in_size: tuple[int, int], kernel: tuple[int, int],
                        stride: tuple[int, int], padding: tuple[int, int],
                        count_include_pad: bool, divisor_override: int | None) -> CudaArray:
    """See `pooling_reference.avg_pool2d_backward` (one gathering thread per input pixel)."""
    b, oh, ow = grad.shape
    out = CudaArray.empty((b, *in_size), grad.dtype)
    _launch("avg_bw", grad.dtype, out.size, *in_size, oh, ow,
            *_geometry(kernel, stride, padding), bool(count_include_pad),
            int(divisor_override or 0), grad._buf, grad.offset, grad.strides_el,
            out._buf, out.offset, out.strides_el)
    return out


def adaptive_avg_pool2d(x: CudaArray, out_size: tuple[int, int]) -> CudaArray:
    """See `pooling_reference.adaptive_avg_pool2d`."""
    b, h, w = x.shape
    out = CudaArray.empty((b, *out_size), x.dtype)
    _launch("adaptive_avg", x.dtype, out.size, h, w, *out_size, 1, 1, 1, 1, 0, 0, False, 0,
            x._buf, x.offset, x.strides_el, out._buf, out.offset, out.strides_el)
    return out


def adaptive_avg_pool2d_backward(grad: CudaArray, in_size: tuple[int, int]) -> CudaArray:
    """See `pooling_reference.adaptive_avg_pool2d_backward` (a gathering thread per pixel)."""
    b, oh, ow = grad.shape
    out = CudaArray.empty((b, *in_size), grad.dtype)
    _launch("adaptive_avg_bw", grad.dtype, out.size, *in_size, oh, ow, 1, 1, 1, 1, 0, 0,
            False, 0, grad._buf, grad.offset, grad.strides_el, out._buf, out.offset,
            out.strides_el)
    return out


def adaptive_max_pool2d(x: CudaArray,
                        out_size: tuple[int, int]) -> tuple[CudaArray, CudaArray]:
    """See `pooling_reference.adaptive_max_pool2d`: ``(out, indices)``, indices int64."""
    b, h, w = x.shape
    out = CudaArray.empty((b, *out_size), x.dtype)
    idx = CudaArray.empty((b, *out_size), np.int64)
    _launch("adaptive_max", x.dtype, out.size, h, w, *out_size, 1, 1, 1, 1, 0, 0, 1, 1,
            x._buf, x.offset, x.strides_el, out._buf, out.offset, out.strides_el,
            idx._buf, idx.offset, idx.strides_el)
    return out, idx
