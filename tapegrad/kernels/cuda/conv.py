"""Convolution copies on the GPU: `im2col` and `col2im` (plain and *wide*) as CUDA kernels.

The same functions, arguments and results as `tapegrad.kernels.conv_reference` (read its
docstring for what the columns are), taking and returning `CudaArray`. The matrix products
around them are ``np.matmul`` on CUDA arrays, i.e. the tiled kernel of ``matmul.py``.

How each copy maps onto threads -- one thread per element *written*, so no two threads ever
write the same place, and the result does not depend on the order threads run in:

* `im2col` / `im2col_wide`: one thread per column entry ``cols[n, (c, p, q), l]``. It works
  out which pixel that entry copies (``(i*sh + p*dh, j*sw + q*dw)`` for ``l = i*OW + j``) and
  reads it: a pure gather.
* `col2im` / `col2im_wide` are scatters in the reference (every column entry *adds* into its
  pixel, and overlapping windows hit the same pixel). Run as a scatter on a GPU, two threads
  would add into one pixel at once and lose an update, unless they used atomics (slow under
  contention, and their order -- so the float rounding -- changes from run to run). So they
  are turned around into gathers: one thread per INPUT pixel ``(n, c, y, x)`` finds every
  tap ``(p, q)`` and output position ``(i, j)`` with ``y = i*sh + p*dh``, ``x = j*sw + q*dw``
  (``i = (y - p*dh) / sh`` must be a whole number inside ``[0, OH)``), and sums their column
  entries in the reference's order (``p`` then ``q``). No atomics, no races, and results
  bit-identical to the reference.

Every array is read and written through its strides (tuples passed as kernel arguments), so
the caller's padded views and chunk slices need no copies. Each thread block walks a
grid-stride loop, so any number of blocks covers any size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import runtime
from .array import CudaArray

__all__ = ["col2im", "col2im_wide", "im2col", "im2col_wide"]

#: ``numba.cuda``, bound when the first kernel is built. Kernels must find it as a module
#: global: the simulator swaps the globals that hold it for its fake CUDA module at launch.
cuda: Any = None


def _make_im2col(C: Any) -> Callable:  # C: the dtype's scalar type (a cast)
    def kernel(total, rows, length, kh, kw, sh, sw, dh, dw, ow, h, w,
               x, x_off, xs, out, o_off, os_):
        for t in range(cuda.grid(1), total, cuda.gridsize(1)):
            lpos = t % length  # t -> (sample s, row r = (c, p, q), output position l)
            r = (t // length) % rows
            s = t // (length * rows)
            q = r % kw
            p = (r // kw) % kh
            c = r // (kw * kh)
            y = (lpos // ow) * sh + p * dh
            xx = (lpos % ow) * sw + q * dw
            v = C(0)
            if y < h and xx < w:  # always true for a consistent out_size; never read past x
                v = C(x[x_off + s * xs[0] + c * xs[1] + y * xs[2] + xx * xs[3]])
            out[o_off + s * os_[0] + r * os_[1] + lpos * os_[2]] = v

    return kernel


def _make_col2im(C: Any) -> Callable:
    def kernel(total, ch, h, w, kh, kw, sh, sw, dh, dw, oh, ow,
               cols, c_off, cs, out, o_off, os_):
        for t in range(cuda.grid(1), total, cuda.gridsize(1)):
            xx = t % w  # t -> input pixel (s, c, y, xx): this thread owns it alone
            y = (t // w) % h
            c = (t // (w * h)) % ch
            s = t // (w * h * ch)
            acc = C(0)
            for p in range(kh):
                dy = y - p * dh  # = i*sh for the output row i whose tap p lands on row y
                if dy >= 0 and dy % sh == 0 and dy // sh < oh:
                    i = dy // sh
                    for q in range(kw):
                        dx = xx - q * dw
                        if dx >= 0 and dx % sw == 0 and dx // sw < ow:
                            r = (c * kh + p) * kw + q
                            lpos = i * ow + dx // sw
                            acc += C(cols[c_off + s * cs[0] + r * cs[1] + lpos * cs[2]])
            out[o_off + s * os_[0] + c * os_[1] + y * os_[2] + xx * os_[3]] = acc

    return kernel


def _make_im2col_wide(C: Any) -> Callable:
    def kernel(total, rows, length, run, kh, kw, dh, dw, h, w, x, x_off, xs, out, o_off, os_):
        for t in range(cuda.grid(1), total, cuda.gridsize(1)):
            lpos = t % length
            r = (t // length) % rows
            s = t // (length * rows)
            q = r % kw
            p = (r // kw) % kh
            c = r // (kw * kh)
            v = C(0)
            if lpos < run:  # past the run: a garbage position of the last row, 0
                f = p * dh * w + q * dw + lpos  # position in the flattened plane
                if f < h * w:
                    v = C(x[x_off + s * xs[0] + c * xs[1] + (f // w) * xs[2] + (f % w) * xs[3]])
            out[o_off + s * os_[0] + r * os_[1] + lpos * os_[2]] = v

    return kernel


def _make_col2im_wide(C: Any) -> Callable:
    def kernel(total, ch, h, w, kh, kw, dh, dw, run, cols, c_off, cs, out, o_off, os_):
        for t in range(cuda.grid(1), total, cuda.gridsize(1)):
            xx = t % w
            y = (t // w) % h
            c = (t // (w * h)) % ch
            s = t // (w * h * ch)
            f = y * w + xx
            acc = C(0)
            for p in range(kh):
                for q in range(kw):
                    lpos = f - (p * dh * w + q * dw)  # where tap (p, q)'s run covers f
                    if lpos >= 0 and lpos < run:
                        r = (c * kh + p) * kw + q
                        acc += C(cols[c_off + s * cs[0] + r * cs[1] + lpos * cs[2]])
            out[o_off + s * os_[0] + c * os_[1] + y * os_[2] + xx * os_[3]] = acc

    return kernel


_FACTORIES: dict[str, Callable[[Any], Callable]] = {
    "im2col": _make_im2col, "col2im": _make_col2im,
    "im2col_wide": _make_im2col_wide, "col2im_wide": _make_col2im_wide,
}
_cache: dict[tuple, Any] = {}


def _launch(name: str, dtype: np.dtype, total: int, *args: Any) -> None:
    """Run kernel ``name`` (built for ``dtype`` on first use) over ``total`` items."""
    def build() -> Any:
        global cuda
        cuda = runtime.numba_cuda()
        return cuda.jit(_FACTORIES[name](np.dtype(dtype).type))

    runtime.launch_1d(runtime.build_once(_cache, (name, np.dtype(dtype)), build), total, *args)


def _output(out: CudaArray | None, shape: tuple, dtype: np.dtype, fn: str) -> CudaArray:
    if out is None:
        return CudaArray.empty(shape, dtype)
    if tuple(out.shape) != tuple(shape):
        raise ValueError(f"{fn}: out has shape {out.shape}, expected {tuple(shape)}")
    return out


def im2col(x: CudaArray, kernel: tuple[int, int], stride: tuple[int, int],
           dilation: tuple[int, int], out_size: tuple[int, int],
           out: CudaArray | None = None) -> CudaArray:
    """See `conv_reference.im2col`: (N, C, H, W) -> (N, C*KH*KW, OH*OW) (into ``out``, any
    view of that shape, when given)."""
    n, c, h, w = x.shape
    kh, kw = kernel
    rows, length = c * kh * kw, out_size[0] * out_size[1]
    cols = _output(out, (n, rows, length), x.dtype, "im2col")
    _launch("im2col", cols.dtype, cols.size, rows, length, kh, kw, *stride, *dilation,
            out_size[1], h, w, x._buf, x.offset, x.strides_el,
            cols._buf, cols.offset, cols.strides_el)
    return cols


def col2im(cols: CudaArray, shape: tuple[int, int, int, int], kernel: tuple[int, int],
           stride: tuple[int, int], dilation: tuple[int, int],
           out_size: tuple[int, int], out: CudaArray | None = None) -> CudaArray:
    """See `conv_reference.col2im`: (N, C*KH*KW, OH*OW) -> ``shape`` (N, C, H, W), the
    entries of overlapping windows summed (one gathering thread per pixel, no atomics)."""
    n, c, h, w = (int(s) for s in shape)
    img = _output(out, (n, c, h, w), cols.dtype, "col2im")
    _launch("col2im", img.dtype, img.size, c, h, w, *kernel, *stride, *dilation, *out_size,
            cols._buf, cols.offset, cols.strides_el, img._buf, img.offset, img.strides_el)
    return img


def im2col_wide(x: CudaArray, kernel: tuple[int, int], dilation: tuple[int, int],
                out_size: tuple[int, int], out: CudaArray | None = None) -> CudaArray:
    """See `conv_reference.im2col_wide`: (N, C, H, W) -> (N, C*KH*KW, OH*W), stride 1."""
    n, c, h, w = x.shape
    kh, kw = kernel
    oh, ow = out_size
    rows, length = c * kh * kw, oh * w
    cols = _output(out, (n, rows, length), x.dtype, "im2col_wide")
    _launch("im2col_wide", cols.dtype, cols.size, rows, length, (oh - 1) * w + ow, kh, kw,
            *dilation, h, w, x._buf, x.offset, x.strides_el,
            cols._buf, cols.offset, cols.strides_el)
    return cols


def col2im_wide(cols: CudaArray, shape: tuple[int, int, int, int], kernel: tuple[int, int],
                dilation: tuple[int, int], out_size: tuple[int, int],
                out: CudaArray | None = None) -> CudaArray:
    """See `conv_reference.col2im_wide`: (N, C*KH*KW, OH*W) -> ``shape`` (N, C, H, W)."""
    n, c, h, w = (int(s) for s in shape)
    oh, ow = out_size
    img = _output(out, (n, c, h, w), cols.dtype, "col2im_wide")
    _launch("col2im_wide", img.dtype, img.size, c, h, w, *kernel, *dilation,
            (oh - 1) * w + ow, cols._buf, cols.offset, cols.strides_el,
            img._buf, img.offset, img.strides_el)
    return img
