"""``np.nonzero`` on the GPU: the coordinates of the non-zero items, in C order.

The result's length is the number of non-zero items, which the host must know to allocate
it, so this is the one indexing operation that reads a number back (one counted copy of a
single int64). Three kernels, each thread owning one contiguous chunk of the flattened
array: count each chunk's non-zeros; turn the counts into starting positions (an exclusive
prefix sum, by one thread: there are only a few thousand chunks); write each chunk's
coordinates from its start. Chunks in order give numpy's C order.

A boolean mask in an index (``x[mask]``) becomes these coordinates first (`indexing`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .array import CudaArray, implements
from .runtime import jit_kernel as _jitted
from .runtime import simulated, threads_per_block

__all__ = ["nonzero_tuple"]

#: numba.cuda, bound by `runtime.jit_kernel` before the kernels below compile.
cuda: Any = None

_NZ_BLOCKS = 1 if simulated() else 16


def _nz_count(n, chunk, shape, m, m_off, m_st, counts):
    t = cuda.grid(1)
    if t < counts.shape[0] - 1:
        c = 0
        stop = (t + 1) * chunk
        for i in range(t * chunk, stop if stop < n else n):
            rem, p = i, m_off
            for d in range(len(shape) - 1, -1, -1):
                p += (rem % shape[d]) * m_st[d]
                rem //= shape[d]
            if m[p] != 0:
                c += 1
        counts[t] = c


def _nz_scan(counts):
    if cuda.grid(1) == 0:
        total = 0
        for t in range(counts.shape[0] - 1):
            c = counts[t]
            counts[t] = total
            total += c
        counts[counts.shape[0] - 1] = total  # the last slot: how many in all


def _nz_write(n, chunk, shape, m, m_off, m_st, counts, out, total):
    t = cuda.grid(1)
    if t < counts.shape[0] - 1:
        pos = counts[t]
        stop = (t + 1) * chunk
        for i in range(t * chunk, stop if stop < n else n):
            rem, p = i, m_off
            for d in range(len(shape) - 1, -1, -1):
                p += (rem % shape[d]) * m_st[d]
                rem //= shape[d]
            if m[p] != 0:
                rem = i
                for d in range(len(shape) - 1, -1, -1):
                    out[d * total + pos] = rem % shape[d]
                    rem //= shape[d]
                pos += 1


def _nonzero(mask: CudaArray) -> CudaArray:
    """The ``(ndim, count)`` int64 coordinates of the non-zero items of ``mask`` (ndim >= 1).
    One D2H copy: the count."""
    n, shape = mask.size, tuple(mask.shape)
    if n == 0:
        return CudaArray.empty((mask.ndim, 0), np.int64)
    count, scan, write = _jitted(_nz_count), _jitted(_nz_scan), _jitted(_nz_write)
    threads = threads_per_block()
    chunks = threads * _NZ_BLOCKS
    chunk = (n + chunks - 1) // chunks
    counts = CudaArray.empty(chunks + 1, np.int64)
    args = (n, chunk, shape, mask._buf, mask.offset, tuple(mask.strides_el))
    count[_NZ_BLOCKS, threads](*args, counts._buf)
    scan[1, 1](counts._buf)
    total = int(counts[chunks:].get()[0])
    out = CudaArray.empty((mask.ndim, total), np.int64)
    if total:
        write[_NZ_BLOCKS, threads](*args, counts._buf, out._buf, total)
    return out


def nonzero_tuple(a: CudaArray) -> tuple[CudaArray, ...]:
    """``np.nonzero(a)`` (also one-argument ``np.where``): one int64 array per axis."""
    if a.ndim == 0:
        raise ValueError("Calling nonzero on 0d arrays is not allowed. Use "
                         "np.atleast_1d(scalar).nonzero() instead.")
    nz = _nonzero(a)
    return tuple(nz[d] for d in range(a.ndim))


implements(np.nonzero)(nonzero_tuple)
