"""Numba versions of `conv_reference` (im2col / col2im, plain and wide): same results.

Why im2col + BLAS and not a direct loop nest: on the LeNet-5 shapes the issue targets
(benchmarks/conv_bench.py) a direct numba convolution ran the forward about as fast as
im2col + ``np.matmul`` (0.56 vs 0.6 ms for the first layer), but the weight gradient is one
long dot product per weight, and without fastmath LLVM may not reorder a float sum, so the
direct loop runs it with one accumulator: 1.5 ms against 0.3 ms for im2col + BLAS. With
im2col every product (forward, weight gradient, input gradient) is a BLAS call.

Design notes (measured on the 2-core development machine):

* Copies go run by run: for stride 1 each output row of a tap is a contiguous run of an input
  row (or, in the wide layout, one run per tap for the whole plane), which LLVM turns into
  vector moves. Flat-index loops without slices measured 3-6x slower (no vectorisation).
* The kernels are serial and release the GIL (``nogil``), so several Python threads can run
  them at once: the convolutions (`tapegrad.nn.functional.conv`) split a large batch over
  `tapegrad.kernels.threads`' pool, each part feeding these kernels cache-sized chunks of
  its samples (a ``prange`` inside a kernel would start numba's own thread pool beside
  OpenBLAS's and the pool's).
* numba is imported lazily on the first call and the machine code is cached on disk
  (``cache=True``), like `tapegrad.kernels.cpu` (see `_jit.lazy_njit`).
* Only float32/float64 are compiled; other dtypes (integer convolutions, which torch allows
  on CPU) take the NumPy reference.
"""

from __future__ import annotations

import numpy as np

from . import conv_reference as reference
from ._jit import lazy_njit

__all__ = reference.__all__

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _im2col_one_py(x, c_, kh, kw, sh, sw, dh, dw, oh, ow, cols):
    # x: (C, H, W) of one sample, cols: (C*KH*KW, OH*OW)
    for c in range(c_):
        xc = x[c]
        for p in range(kh):
            for q in range(kw):
                dst = cols[(c * kh + p) * kw + q]
                for i in range(oh):
                    src = xc[i * sh + p * dh]
                    d = dst[i * ow: (i + 1) * ow]
                    if sw == 1:  # contiguous run: slicing lets LLVM vectorise the copy
                        s = src[q * dw: q * dw + ow]
                        for j in range(ow):
                            d[j] = s[j]
                    else:
                        for j in range(ow):
                            d[j] = src[q * dw + j * sw]


def _col2im_one_py(cols, c_, kh, kw, sh, sw, dh, dw, oh, ow, out):
    # out: (C, H, W) of one sample, zeroed here; cols: (C*KH*KW, OH*OW)
    out[:] = 0
    for c in range(c_):
        oc = out[c]
        for p in range(kh):
            for q in range(kw):
                src = cols[(c * kh + p) * kw + q]
                for i in range(oh):
                    row = oc[i * sh + p * dh]
                    s = src[i * ow: (i + 1) * ow]
                    if sw == 1:
                        d = row[q * dw: q * dw + ow]
                        for j in range(ow):
                            d[j] += s[j]
                    else:
                        for j in range(ow):
                            row[q * dw + j * sw] += s[j]


def _im2col_wide_py(x, kh, kw, dh, dw, oh, ow, cols):
    # x: (N, C, H, W), cols: (N, C*KH*KW, OH*W); one contiguous run per tap
    c_, w = x.shape[1], x.shape[3]
    run = (oh - 1) * w + ow
    length = oh * w
    for n in range(x.shape[0]):
        for c in range(c_):
            xf = x[n, c].ravel()
            for p in range(kh):
                for q in range(kw):
                    start = p * dh * w + q * dw
                    src = xf[start:start + run]
                    dst = cols[n, (c * kh + p) * kw + q]
                    for j in range(run):
                        dst[j] = src[j]
                    for j in range(run, length):
                        dst[j] = 0


def _col2im_wide_py(cols, kh, kw, dh, dw, oh, ow, out):
    c_, w = out.shape[1], out.shape[3]
    run = (oh - 1) * w + ow
    for n in range(out.shape[0]):
        for c in range(c_):
            of = out[n, c].ravel()
            of[:] = 0
            for p in range(kh):
                for q in range(kw):
                    start = p * dh * w + q * dw
                    dst = of[start:start + run]
                    src = cols[n, (c * kh + p) * kw + q]
                    for j in range(run):
                        dst[j] += src[j]


def _im2col_py(x, kh, kw, sh, sw, dh, dw, oh, ow, cols):
    for n in range(x.shape[0]):
        _im2col_one(x[n], x.shape[1], kh, kw, sh, sw, dh, dw, oh, ow, cols[n])


def _col2im_py(cols, kh, kw, sh, sw, dh, dw, oh, ow, out):
    for n in range(out.shape[0]):
        _col2im_one(cols[n], out.shape[1], kh, kw, sh, sw, dh, dw, oh, ow, out[n])


# Compiled on first call (`_jit.lazy_njit`).
_im2col_one = lazy_njit(_im2col_one_py)
_col2im_one = lazy_njit(_col2im_one_py)
_im2col = lazy_njit(_im2col_py)
_col2im = lazy_njit(_col2im_py)
_im2col_wide = lazy_njit(_im2col_wide_py)
_col2im_wide = lazy_njit(_col2im_wide_py)


def im2col(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
           dilation: tuple[int, int], out_size: tuple[int, int],
           out: np.ndarray | None = None) -> np.ndarray:
    """See `conv_reference.im2col`: (N, C, H, W) -> (N, C*KH*KW, OH*OW) (into ``out``, a
    C-contiguous array of that shape and x's dtype, when given)."""
    if x.dtype not in _FLOATS:
        return reference.im2col(x, kernel, stride, dilation, out_size, out)
    x = np.ascontiguousarray(x)
    n, c = x.shape[:2]
    shape = (n, c * kernel[0] * kernel[1], out_size[0] * out_size[1])
    cols = np.empty(shape, x.dtype) if out is None else out
    if cols.size == 0:
        return cols
    _im2col(x, *kernel, *stride, *dilation, *out_size, cols)
    return cols


def col2im(cols: np.ndarray, shape: tuple[int, int, int, int], kernel: tuple[int, int],
           stride: tuple[int, int], dilation: tuple[int, int],
           out_size: tuple[int, int], out: np.ndarray | None = None) -> np.ndarray:
    """See `conv_reference.col2im`: (N, C*KH*KW, OH*OW) -> (N, C, H, W), overlaps summed
    (into ``out``, C-contiguous, when given)."""
    if cols.dtype not in _FLOATS:
        return reference.col2im(cols, shape, kernel, stride, dilation, out_size, out)
    cols = np.ascontiguousarray(cols)
    if cols.size == 0 or 0 in shape:
        if out is None:
            return np.zeros(shape, cols.dtype)
        out[...] = 0
        return out
    if out is None:
        out = np.empty(shape, cols.dtype)  # each sample is zeroed by the kernel
    _col2im(cols, *kernel, *stride, *dilation, *out_size, out)
    return out


def im2col_wide(x: np.ndarray, kernel: tuple[int, int], dilation: tuple[int, int],
                out_size: tuple[int, int], out: np.ndarray | None = None) -> np.ndarray:
    """See `conv_reference.im2col_wide`: (N, C, H, W) -> (N, C*KH*KW, OH*W), stride 1."""
    if x.dtype not in _FLOATS:
        return reference.im2col_wide(x, kernel, dilation, out_size, out)
    x = np.ascontiguousarray(x)
    n, c, _, w = x.shape
    shape = (n, c * kernel[0] * kernel[1], out_size[0] * w)
    cols = np.empty(shape, x.dtype) if out is None else out
    if cols.size:
        _im2col_wide(x, *kernel, *dilation, *out_size, cols)
    return cols


def col2im_wide(cols: np.ndarray, shape: tuple[int, int, int, int], kernel: tuple[int, int],
                dilation: tuple[int, int], out_size: tuple[int, int],
                out: np.ndarray | None = None) -> np.ndarray:
    """See `conv_reference.col2im_wide`: (N, C*KH*KW, OH*W) -> (N, C, H, W)."""
    if cols.dtype not in _FLOATS:
        return reference.col2im_wide(cols, shape, kernel, dilation, out_size, out)
    cols = np.ascontiguousarray(cols)
    if out is None:
        out = np.empty(shape, cols.dtype)  # each plane is zeroed by the kernel
    if out.size:
        if cols.size:
            _col2im_wide(cols, *kernel, *dilation, *out_size, out)
        else:
            out[...] = 0
    return out
