"""The device code of the reductions: tree folds, arg-folds, scans and sorts (see reduction.py).

How a block folds one row (``B`` threads, the row's ``K`` items):

    1. each thread folds a strided part of the row:     thread t takes items t, t+B, t+2B...
    2. it writes its partial to shared memory:          part[t]
    3. the block halves the partials log2(B) times:     part[t] = op(part[t], part[t+step])
       with ``cuda.syncthreads()`` between levels, so nobody reads a slot before it is written;
    4. thread 0 stores part[0], the row's result.

    B = 8 threads, 8 partials:   p0 p1 p2 p3 p4 p5 p6 p7
    step 4:                      p0+p4  p1+p5  p2+p6  p3+p7
    step 2:                      (p0+p4)+(p2+p6)  (p1+p5)+(p3+p7)
    step 1:                      the sum of all eight

Only slots below ``min(K, B)`` are ever written, so a level combines ``t`` with ``t + step``
only when ``t + step < K``; no identity element is needed, which is why ``max`` of integers
(which has none) folds the same way as ``sum``. For the same reason levels whose ``step`` is at
least ``K`` combine nothing, and a short row starts at the first level that does.

Rules every kernel here keeps, because a real GPU needs them (numba's simulator checks none):

* every thread reaches every ``syncthreads``: rows are looped over *per block* (all threads
  of a block see the same rows), and work is skipped with ``if``, never with ``return``;
* a slot of shared memory is read only after a ``syncthreads`` that follows its write, and
  the block syncs once more after thread 0 reads ``part[0]``, before the next row reuses it;
* the shared arrays have a compile-time size, `block_size()`: 256 threads on a GPU, 32 in the
  simulator (which runs each CUDA thread as a Python thread), fixed when a kernel is built;
* a shared array has one dtype, so each (operation, accumulator dtype) gets its own kernel,
  built on first use by a ``build_*`` function and cached (`cached`). The operation and the
  dtype reach the kernel as closure variables, which numba compiles in as constants.

Positions: a kernel gets the kept axes' shape and strides and the reduced axes' shape and
strides as tuples (numba specialises on their length) and `offset` turns a row number or an
item number into a buffer offset, so transposed, sliced and broadcast inputs need no copy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .runtime import build_once, numba_cuda, simulated, threads_per_block

__all__ = ["block_size", "build_arg", "build_fold", "build_scan", "build_sort", "cached",
           "small_k"]

#: ``numba.cuda``, bound by `_cuda` when the first kernel is built. Kernels must reach it as a
#: module global, not a closure variable: numba's simulator swaps the kernel's *globals* named
#: after numba.cuda for its fake per-launch module (threadIdx, syncthreads, shared arrays).
cuda: Any = None

_cache: dict[tuple, Any] = {}


def _cuda() -> Any:
    global cuda
    if cuda is None:
        cuda = numba_cuda()
    return cuda


def block_size() -> int:
    """Threads per reduction block, and the size of its shared arrays."""
    return threads_per_block()


def small_k() -> int:
    """Rows of at most this many items are folded by one thread each."""
    return 4 if simulated() else 16


def cached(key: tuple, build: Any) -> Any:
    return build_once(_cache, key, build)


def _offset_fn() -> Any:
    def offset(i, shape, strides):  # item number -> buffer offset, last axis fastest
        pos = 0
        for d in range(len(shape) - 1, -1, -1):
            pos += (i % shape[d]) * strides[d]
            i //= shape[d]
        return pos

    return cached(("offset",), lambda: _cuda().jit(device=True)(offset))


def _fold_fns(op: str, acc_type: Any) -> tuple[Any, Any]:
    """Device functions ``load(item) -> ACC`` and ``combine(ACC, ACC) -> ACC`` for ``op``."""
    acc = acc_type  # a numpy scalar type: a cast on the GPU and in Python alike

    if op in ("logical_and", "logical_or", "count_nonzero"):
        def load(v):
            return acc(1) if v != 0 else acc(0)
    elif op == "nansum":
        def load(v):
            return acc(v) if v == v else acc(0)  # NaN != NaN
    else:
        def load(v):
            return acc(v)

    if op in ("add", "count_nonzero", "nansum"):
        def combine(a, b):
            return acc(a + b)
    elif op == "multiply":
        def combine(a, b):
            return acc(a * b)
    elif op == "maximum":
        def combine(a, b):  # a NaN wins, as in numpy
            return acc(a if (a >= b or a != a) else b)
    elif op == "minimum":
        def combine(a, b):
            return acc(a if (a <= b or a != a) else b)
    elif op == "logical_and":
        def combine(a, b):
            return acc(a & b)
    else:
        def combine(a, b):
            return acc(a | b)

    jit = _cuda().jit(device=True)
    return jit(load), jit(combine)


def build_fold(op: str, acc_type: Any) -> tuple[Any, Any]:
    """The tree kernel (a block per row) and the small-row kernel (a thread per row)."""
    _cuda()
    block, acc = block_size(), acc_type
    load, combine = _fold_fns(op, acc_type)
    offset = _offset_fn()

    def tree(rows, k, src, src_off, kshape, kstrides, rshape, rstrides, out):
        part = cuda.shared.array(block, acc)
        t = cuda.threadIdx.x
        for row in range(cuda.blockIdx.x, rows, cuda.gridDim.x):  # same rows for all threads
            base = src_off + offset(row, kshape, kstrides)
            if t < k:
                a = load(src[base + offset(t, rshape, rstrides)])
                for j in range(t + block, k, block):
                    a = combine(a, load(src[base + offset(j, rshape, rstrides)]))
                part[t] = a
            cuda.syncthreads()
            step = block // 2
            while step >= k:  # levels where no slot t + step < k exists: skip them (all
                step //= 2    # threads skip alike: k is the same for the whole block)
            while step > 0:
                if t < step and t + step < k:  # slots >= k were never written
                    part[t] = combine(part[t], part[t + step])
                cuda.syncthreads()
                step //= 2
            if t == 0:
                out[row] = part[0]
            cuda.syncthreads()  # part[0] is read before the next row overwrites it

    def per_thread(rows, k, src, src_off, kshape, kstrides, rshape, rstrides, out):
        for row in range(cuda.grid(1), rows, cuda.gridsize(1)):
            base = src_off + offset(row, kshape, kstrides)
            a = load(src[base + offset(0, rshape, rstrides)])
            for j in range(1, k):
                a = combine(a, load(src[base + offset(j, rshape, rstrides)]))
            out[row] = a

    return cuda.jit(tree), cuda.jit(per_thread)


def build_arg(op: str, acc_type: Any) -> Any:
    """Tree kernel for argmax/argmin: shared values *and* indices; ties and NaN by index."""
    _cuda()
    block, acc = block_size(), acc_type
    offset = _offset_fn()
    greater = op == "argmax"

    def better(vb, ib, va, ia):  # should (vb, ib) replace the current best (va, ia)?
        if va != va:  # the best is NaN: only an earlier NaN beats it
            return vb != vb and ib < ia
        if vb != vb:
            return True
        if vb == va:
            return ib < ia  # ties: the first index
        return vb > va if greater else vb < va

    better = cuda.jit(device=True)(better)

    def tree(rows, k, src, src_off, kshape, kstrides, rshape, rstrides, out):
        vals = cuda.shared.array(block, acc)
        idxs = cuda.shared.array(block, np.int64)
        t = cuda.threadIdx.x
        for row in range(cuda.blockIdx.x, rows, cuda.gridDim.x):
            base = src_off + offset(row, kshape, kstrides)
            if t < k:
                bv = acc(src[base + offset(t, rshape, rstrides)])
                bi = np.int64(t)
                for j in range(t + block, k, block):
                    v = acc(src[base + offset(j, rshape, rstrides)])
                    if better(v, j, bv, bi):
                        bv = v
                        bi = np.int64(j)
                vals[t] = bv
                idxs[t] = bi
            cuda.syncthreads()
            step = block // 2
            while step >= k:
                step //= 2
            while step > 0:
                if t < step and t + step < k:
                    if better(vals[t + step], idxs[t + step], vals[t], idxs[t]):
                        vals[t] = vals[t + step]
                        idxs[t] = idxs[t + step]
                cuda.syncthreads()
                step //= 2
            if t == 0:
                out[row] = idxs[0]
            cuda.syncthreads()

    return cuda.jit(tree)


def build_scan(op: str, acc_type: Any) -> Any:
    """One thread per line: ``out[j] = out[j-1] (op) x[j]`` (a sequential scan)."""
    _cuda()
    load, combine = _fold_fns(op, acc_type)
    offset = _offset_fn()

    def scan(lines, n, src, src_off, kshape, kstrides, sstep, out, out_off, ostrides, ostep):
        for line in range(cuda.grid(1), lines, cuda.gridsize(1)):
            ps = src_off + offset(line, kshape, kstrides)
            po = out_off + offset(line, kshape, ostrides)
            a = load(src[ps])
            out[po] = a
            for j in range(1, n):
                a = combine(a, load(src[ps + j * sstep]))
                out[po + j * ostep] = a

    return cuda.jit(scan)


def build_sort() -> Any:
    """One thread per row: insertion sort into ``vals``/``idx`` (stable; NaN sorts last)."""
    _cuda()
    offset = _offset_fn()

    def sort(rows, n, src, src_off, kshape, kstrides, sstep, vals, idx):
        for row in range(cuda.grid(1), rows, cuda.gridsize(1)):
            ps = src_off + offset(row, kshape, kstrides)
            o = row * n
            for j in range(n):
                v = src[ps + j * sstep]
                p = j
                while p > 0 and (v < vals[o + p - 1] or (v == v and vals[o + p - 1]
                                                         != vals[o + p - 1])):
                    vals[o + p] = vals[o + p - 1]
                    idx[o + p] = idx[o + p - 1]
                    p -= 1
                vals[o + p] = v
                idx[o + p] = j

    return cuda.jit(sort)
