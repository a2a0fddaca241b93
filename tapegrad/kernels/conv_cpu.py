"""Numba versions of `conv_reference` (im2col / col2im): same results, compiled.

Why im2col + BLAS and not a direct loop nest: on the LeNet-5 shapes the issue targets
(benchmarks/conv_bench.py) a direct numba convolution and im2col + ``np.matmul`` ran the
forward in about the same time, but the weight gradient is a long dot product per weight,
and without fastmath LLVM may not reorder a float sum, so a direct loop runs it scalar (4x
slower than BLAS in measurement). im2col builds the columns once, the forward and the weight
gradient are then both BLAS products, and the columns are reused by backward.

Design notes (measured on the 2-core development machine):

* Copies go row by row: for stride 1 each output row of a tap is a contiguous run of the input
  row, which LLVM turns into vector moves.
* numba is imported lazily on the first call and the machine code is cached on disk
  (``cache=True``), like `tapegrad.kernels.cpu`.
* Serial below `PARALLEL_MIN_SIZE` column entries; above it the batch is split across
  numba's threads (the copies are memory-bound, so two cores help on big batches only).
* Only float32/float64 are compiled; other dtypes (integer convolutions, which torch allows
  on CPU) take the NumPy reference.
"""

from __future__ import annotations

import threading

import numpy as np

from . import conv_reference as reference

__all__ = reference.__all__

#: im2col/col2im calls moving at least this many elements split the batch over threads.
PARALLEL_MIN_SIZE = 1 << 22

prange = range  # replaced by numba.prange in _build; lets the bodies also run as plain Python
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


def _im2col_par_py(x, kh, kw, sh, sw, dh, dw, oh, ow, cols):
    for n in prange(x.shape[0]):
        _im2col_one(x[n], x.shape[1], kh, kw, sh, sw, dh, dw, oh, ow, cols[n])


def _col2im_py(cols, kh, kw, sh, sw, dh, dw, oh, ow, out):
    for n in range(out.shape[0]):
        _col2im_one(cols[n], out.shape[1], kh, kw, sh, sw, dh, dw, oh, ow, out[n])


def _col2im_par_py(cols, kh, kw, sh, sw, dh, dw, oh, ow, out):
    for n in prange(out.shape[0]):
        _col2im_one(cols[n], out.shape[1], kh, kw, sh, sw, dh, dw, oh, ow, out[n])


_SERIAL = ("_im2col_one", "_col2im_one", "_im2col", "_col2im", "_im2col_wide", "_col2im_wide")
_PARALLEL = ("_im2col_par", "_col2im_par")
_build_lock = threading.Lock()


def _build() -> None:
    """Import numba and swap each stub for a dispatcher (helpers first: a body's globals
    must already be dispatchers when numba compiles it)."""
    global prange
    with _build_lock:
        if not isinstance(globals()["_im2col"], _Stub):
            return
        import numba

        prange = numba.prange
        opts = {"cache": True, "nogil": True}
        for name in _SERIAL:
            globals()[name] = numba.njit(**opts)(globals()[name + "_py"])
        for name in _PARALLEL:
            globals()[name] = numba.njit(parallel=True, **opts)(globals()[name + "_py"])


class _Stub:
    """Stands in for a numba kernel until the first call builds them all."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args):
        _build()
        return globals()[self.name](*args)


(_im2col_one, _col2im_one, _im2col, _col2im, _im2col_wide, _col2im_wide, _im2col_par,
 _col2im_par) = (
    _Stub(n) for n in _SERIAL + _PARALLEL
)


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
    fn = _im2col_par if cols.size >= PARALLEL_MIN_SIZE and n > 1 else _im2col
    fn(x, *kernel, *stride, *dilation, *out_size, cols)
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
    fn = _col2im_par if cols.size >= PARALLEL_MIN_SIZE and shape[0] > 1 else _col2im
    fn(cols, *kernel, *stride, *dilation, *out_size, out)
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
