"""Reductions on the GPU: sums, products, maxima, arg-maxima, means, variances, scans, sorts.

A reduction folds many items into one with an associative operation (``+``, ``*``, max...).
One thread folding a million items would leave the rest of the GPU idle, so the fold is a
**tree**: the items of one output (a *row*) are shared by the threads of one block, each
thread folds a strided part of the row into shared memory, and the block halves those
partials log2(block) times (``reduction_kernels.py`` draws it, and lists the rules that keep
the kernels correct on a real GPU).

Which items form a row? An input of shape ``(2, 3, 4)`` reduced over ``axis=(0, 2)`` has 3
rows (the kept axis) of 2*4 = 8 items (the reduced axes). Rather than copying the input into
that ``(3, 8)`` layout first, the kernels take the kept axes' shape and strides and the reduced
axes' shape and strides (`_split`), so transposed, sliced and broadcast inputs are read in
place: no copy, and one kernel launch per reduction.

Rows with few items (``K <= 4`` in the simulator, 16 on a GPU: softmax over 10 classes) would
leave most of a block idle, so they take another kernel: one thread per row, folding in order.

Cumulative sums and products (`ufunc_accumulate`) are a **sequential scan per line**: one
thread walks each line. Sorts (`sort`, `argsort`) are an **insertion sort per row** in one
thread: O(n^2) per row, meant for short rows (top-k over a few classes), stable, NaN last.

The reference is numpy itself: results, dtypes (taken from numpy on a one-item stand-in),
errors and edge cases (empty reductions, 0-d input, NaN, ties) follow it. Results are always
CudaArrays -- a full reduction gives a 0-d CudaArray, not a numpy scalar, so it stays on the GPU.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from . import elementwise
from .array import CudaArray, device_mismatch
from .reduction_kernels import block_size, build_arg, build_fold, build_scan, build_sort, cached, small_k
from .runtime import blocks_for, threads_per_block

__all__ = ["ufunc_accumulate", "ufunc_reduce"]

_NO_VALUE: Any = np._NoValue  # numpy's "argument not given" marker

#: identity of each fold (None: there is none, so an empty fold is an error)
_IDENTITY: dict[str, Any] = {"add": 0, "multiply": 1, "maximum": None, "minimum": None,
                             "logical_and": True, "logical_or": False, "count_nonzero": 0,
                             "nansum": 0}
#: the ufunc that combines a fold's result with ``initial=``
_UFUNC = {"add": np.add, "multiply": np.multiply, "maximum": np.maximum,
          "minimum": np.minimum, "logical_and": np.logical_and, "logical_or": np.logical_or,
          "count_nonzero": np.add, "nansum": np.add}

# ---------------------------------------------------------------- host side
def _acc_dtype(dtype: np.dtype) -> np.dtype:
    """What a fold accumulates in: booleans as uint8 0/1, float16 in float32 (like numpy)."""
    if dtype == np.bool_:
        return np.dtype(np.uint8)
    if dtype == np.float16:
        return np.dtype(np.float32)
    return np.dtype(dtype)


def _device(a: Any) -> CudaArray:
    if isinstance(a, CudaArray):
        return a
    raise device_mismatch(a)


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """numpy's axis rules: None is all, negative counts from the end, repeats are errors.
    (numpy accepts axis 0 or -1 on a 0-d array and reduces nothing.)"""
    if axis is None:
        return tuple(range(ndim))
    if ndim == 0 and isinstance(axis, (int, np.integer)) and axis in (0, -1):
        return ()
    return tuple(sorted(normalize_axis_tuple(axis, ndim)))


def _split(x: CudaArray, axes: tuple[int, ...], strides: tuple[int, ...] | None = None
           ) -> tuple[int, int, tuple, tuple, tuple, tuple]:
    """Rows and items of a reduction over ``axes``: (M, K, kept shape, kept strides, reduced
    shape, reduced strides), tuples padded to one axis (kernels index at least one)."""
    strides = x.strides_el if strides is None else strides
    kept = [d for d in range(x.ndim) if d not in axes]
    kshape = tuple(x.shape[d] for d in kept)
    rshape = tuple(x.shape[d] for d in axes)
    m, k = int(np.prod(kshape, dtype=np.int64)), int(np.prod(rshape, dtype=np.int64))
    return (m, k, kshape or (1,), tuple(strides[d] for d in kept) or (0,),
            rshape or (1,), tuple(strides[d] for d in axes) or (0,))


def _out_shape(x: CudaArray, axes: tuple[int, ...], keepdims: bool) -> tuple[int, ...]:
    if keepdims:
        return tuple(1 if d in axes else n for d, n in enumerate(x.shape))
    return tuple(n for d, n in enumerate(x.shape) if d not in axes)


def _finish(result: CudaArray, out: Any) -> CudaArray:
    """Return ``result``, or copy it (cast) into ``out=`` and return that."""
    if isinstance(out, tuple):
        out = out[0]
    if out is None:
        return result
    if not isinstance(out, CudaArray):
        raise device_mismatch(out)
    if out.shape != result.shape:
        raise ValueError(f"output parameter for reduction has shape {out.shape}, "
                         f"expected {result.shape}")
    return out.assign(result)


def _masked(op: str, x: CudaArray, where: Any, initial: Any) -> CudaArray:
    """``where=``: replace the excluded items by the fold's identity (or ``initial``)."""
    fill = initial if initial is not _NO_VALUE else _IDENTITY[op]
    if fill is None:
        raise ValueError(f"reduction operation '{op}' does not have an identity, so to use "
                         "a where mask one has to specify 'initial'")
    cond = where if isinstance(where, CudaArray) else CudaArray.full(x.shape, bool(where),
                                                                     np.bool_)
    masked = CudaArray.empty(x.shape, x.dtype)
    return elementwise.launch(elementwise.EXPRESSIONS["where"], masked,
                              [cond.broadcast_to(x.shape), x, fill],
                              [np.dtype(np.bool_), x.dtype, x.dtype])


def _fold(op: str, a: Any, axis: Any, dtype: np.dtype, keepdims: Any = False, out: Any = None,
          initial: Any = _NO_VALUE, where: Any = True) -> CudaArray:
    """Fold ``a`` over ``axis`` with ``op``; the result has numpy's ``dtype``."""
    x = _device(a)
    axes = _axes(axis, x.ndim)
    keepdims = bool(keepdims) if keepdims is not _NO_VALUE else False
    if where is not True and where is not _NO_VALUE:
        x = _masked(op, x, where, initial)
    m, k, kshape, kstrides, rshape, rstrides = _split(x, axes)
    acc = _acc_dtype(dtype)
    res = CudaArray.empty((m,), acc)
    if k == 0:
        fill = initial if initial is not _NO_VALUE else _IDENTITY[op]
        if fill is None:
            raise ValueError(f"zero-size array to reduction operation {op} which has no "
                             "identity")
        res.fill(fill)
    elif m:
        tree, per_thread = cached(("fold", op, acc), lambda: build_fold(op, acc.type))
        args = (m, k, x._buf, x.offset, kshape, kstrides, rshape, rstrides, res._buf)
        if k <= small_k():
            per_thread[blocks_for(m), threads_per_block()](*args)
        else:
            tree[blocks_for(m * block_size(), block_size()), block_size()](*args)
    if res.dtype != dtype:
        res = res.astype(dtype)
    if k and initial is not _NO_VALUE:
        _UFUNC[op](res, initial, out=res)
    return _finish(res.reshape(_out_shape(x, axes, keepdims)), out)


def _dtype_of(func: Any, dtype: Any, **kwargs: Any) -> np.dtype:
    """numpy's result dtype for ``func`` on items of ``dtype``, read off a one-item array."""
    return np.dtype(func(np.zeros(1, dtype=dtype), **kwargs).dtype)


# ---------------------------------------------------------------- ufunc methods
def ufunc_reduce(ufunc: np.ufunc, array: Any, axis: Any = 0, dtype: Any = None,
                 out: Any = None, keepdims: bool = False, initial: Any = _NO_VALUE,
                 where: Any = True) -> CudaArray:
    """``np.add.reduce(x, axis)`` and friends (add, multiply, maximum, minimum, logical_and,
    logical_or), as numpy's ``__array_ufunc__`` hands them over."""
    name = ufunc.__name__
    if name not in _IDENTITY:
        raise TypeError(f"tapegrad's CUDA backend has no kernel for numpy.{name}.reduce")
    x = _device(array)
    rdt = _dtype_of(ufunc.reduce, x.dtype, dtype=dtype)
    return _fold(name, x, axis, rdt, keepdims, out, initial, where)


def ufunc_accumulate(ufunc: np.ufunc, array: Any, axis: int = 0, dtype: Any = None,
                     out: Any = None) -> CudaArray:
    """``np.add.accumulate`` / ``np.multiply.accumulate`` along one axis: a sequential scan,
    one thread per line (see the module docstring)."""
    name = ufunc.__name__
    if name not in ("add", "multiply"):
        raise TypeError(f"tapegrad's CUDA backend has no kernel for numpy.{name}.accumulate")
    x = _device(array)
    if x.ndim == 0:
        raise TypeError("cannot accumulate on a scalar")
    axis = normalize_axis_index(axis, x.ndim)
    rdt = _dtype_of(ufunc.accumulate, x.dtype, dtype=dtype)
    acc = _acc_dtype(rdt)
    if isinstance(out, tuple):
        out = out[0]
    if out is not None and (not isinstance(out, CudaArray) or out.shape != x.shape):
        raise ValueError(f"accumulate's out= must be a CUDA array of shape {x.shape}")
    res = out if out is not None and out.dtype == acc else CudaArray.empty(x.shape, acc)
    lines, n, kshape, kstrides, _, _ = _split(x, (axis,))
    if lines and n:
        _, _, _, ostrides, _, _ = _split(x, (axis,), res.strides_el)
        scan = cached(("scan", name, acc), lambda: build_scan(name, acc.type))
        scan[blocks_for(lines), threads_per_block()](
            lines, n, x._buf, x.offset, kshape, kstrides, x.strides_el[axis],
            res._buf, res.offset, ostrides, res.strides_el[axis])
    if res is out:
        return out
    if res.dtype != rdt:
        res = res.astype(rdt)
    return _finish(res, out)
