"""Reductions on the GPU: sums, products, maxima, arg-maxima, means, variances, scans, sorts.

A reduction folds many items into one with an associative operation (``+``, ``*``, max...).
One thread folding a million items would leave the rest of the GPU idle, so the fold is a
**tree**: the items of one output (a *row*) are shared by the threads of one block, each
thread folds a strided part of the row into shared memory, and the block halves those
partials log2(block) times (``reduction_kernels.py`` draws it, and lists the rules that keep
the kernels correct on a real GPU).

Which items form a row? An input of shape ``(2, 3, 4)`` reduced over ``axis=(0, 2)`` has 3
rows (the kept axis) of 2*4 = 8 items (the reduced axes); `_split` gives the kernels both
groups' shapes and strides, so strided views are read in place, without a copy.

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

import warnings
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from . import elementwise
from . import reduction_kernels as rk
from .array import CudaArray, device_mismatch, implements
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


def _acc_dtype(dtype: np.dtype) -> np.dtype:
    """What a fold accumulates in: booleans as uint8 0/1, float16 in float32 (like numpy)."""
    if dtype == np.bool_:
        return np.dtype(np.uint8)
    if dtype == np.float16:
        return np.dtype(np.float32)
    return np.dtype(dtype)


def _device(a: Any) -> CudaArray:
    if isinstance(a, CudaArray):  # a host array here would mean a silent copy
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


def _condition(where: Any, shape: tuple[int, ...]) -> CudaArray:
    """A ``where=`` mask as a boolean CudaArray broadcast to ``shape``."""
    if isinstance(where, CudaArray):
        return where.broadcast_to(shape)
    if np.ndim(where) > 0:
        raise device_mismatch(where)
    return CudaArray.full((), bool(where), np.bool_).broadcast_to(shape)


def _masked(op: str, x: CudaArray, where: Any, initial: Any) -> CudaArray:
    """``where=``: replace the excluded items by the fold's identity (max and min have none:
    by ``initial``, which they may fold in twice)."""
    fill = _IDENTITY[op] if _IDENTITY[op] is not None else initial
    if fill is _NO_VALUE:
        raise ValueError(f"reduction operation '{op}' does not have an identity, so to use "
                         "a where mask one has to specify 'initial'")
    masked = CudaArray.empty(x.shape, x.dtype)
    return elementwise.launch(elementwise.EXPRESSIONS["where"], masked,
                              [_condition(where, x.shape), x, fill],
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
        tree, per_thread = rk.cached(("fold", op, acc), lambda: rk.build_fold(op, acc.type))
        args = (m, k, x._buf, x.offset, kshape, kstrides, rshape, rstrides, res._buf)
        if k <= rk.small_k():
            per_thread[blocks_for(m), threads_per_block()](*args)
        else:
            tree[blocks_for(m * rk.block_size(), rk.block_size()), rk.block_size()](*args)
    if res.dtype != dtype:
        res = res.astype(dtype)
    if k and initial is not _NO_VALUE:
        _UFUNC[op](res, initial, out=res)
    return _finish(res.reshape(_out_shape(x, axes, keepdims)), out)


def _dtype_of(func: Any, item_dtype: Any, dtype: Any = None) -> np.dtype:
    """numpy's result dtype for ``func(x, dtype=dtype)`` on items of ``item_dtype``, read off
    a one-item array."""
    return np.dtype(func(np.zeros(1, dtype=item_dtype), dtype=dtype).dtype)


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
        scan = rk.cached(("scan", name, acc), lambda: rk.build_scan(name, acc.type))
        scan[blocks_for(lines), threads_per_block()](
            lines, n, x._buf, x.offset, kshape, kstrides, x.strides_el[axis],
            res._buf, res.offset, ostrides, res.strides_el[axis])
    if res is out:
        return out
    if res.dtype != rdt:
        res = res.astype(rdt)
    return _finish(res, out)


# ---------------------------------------------------------------- numpy functions
@implements(np.sum)
def sum_(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = False,
         initial: Any = _NO_VALUE, where: Any = True) -> CudaArray:
    """``np.sum``: booleans and small integers sum as int64, floats in their own dtype."""
    rdt = _dtype_of(np.add.reduce, _device(a).dtype, dtype=dtype)
    return _fold("add", a, axis, rdt, keepdims, out, initial, where)


@implements(np.nansum)
def nansum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
           keepdims: Any = False, initial: Any = _NO_VALUE, where: Any = True) -> CudaArray:
    """``np.nansum``: a sum that reads NaN as 0."""
    rdt = _dtype_of(np.add.reduce, _device(a).dtype, dtype=dtype)
    return _fold("nansum", a, axis, rdt, keepdims, out, initial, where)


@implements(np.prod)
def prod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = False,
         initial: Any = _NO_VALUE, where: Any = True) -> CudaArray:
    rdt = _dtype_of(np.multiply.reduce, _device(a).dtype, dtype=dtype)
    return _fold("multiply", a, axis, rdt, keepdims, out, initial, where)


@implements(np.max, np.amax)
def max_(a: Any, axis: Any = None, out: Any = None, keepdims: Any = False,
         initial: Any = _NO_VALUE, where: Any = True) -> CudaArray:
    """``np.max``: NaN propagates; an empty reduction without ``initial`` is numpy's error."""
    return _fold("maximum", a, axis, _device(a).dtype, keepdims, out, initial, where)


@implements(np.min, np.amin)
def min_(a: Any, axis: Any = None, out: Any = None, keepdims: Any = False,
         initial: Any = _NO_VALUE, where: Any = True) -> CudaArray:
    return _fold("minimum", a, axis, _device(a).dtype, keepdims, out, initial, where)


@implements(np.any)
def any_(a: Any, axis: Any = None, out: Any = None, keepdims: Any = False, *,
         where: Any = True) -> CudaArray:
    return _fold("logical_or", a, axis, np.dtype(np.bool_), keepdims, out, where=where)


@implements(np.all)
def all_(a: Any, axis: Any = None, out: Any = None, keepdims: Any = False, *,
         where: Any = True) -> CudaArray:
    return _fold("logical_and", a, axis, np.dtype(np.bool_), keepdims, out, where=where)


@implements(np.count_nonzero)
def count_nonzero(a: Any, axis: Any = None, *, keepdims: bool = False) -> CudaArray:
    """``np.count_nonzero`` as an int64 CudaArray (0-d for ``axis=None``, where numpy gives
    a Python int)."""
    return _fold("count_nonzero", a, axis, np.dtype(np.int64), keepdims)


def _count(x: CudaArray, axis: Any, keepdims: bool, where: Any) -> int | CudaArray:
    """How many items each output of a reduction folds: a number, or with ``where=`` an
    int64 array of per-output counts."""
    axes = _axes(axis, x.ndim)
    if where is True or where is _NO_VALUE:
        return int(np.prod([x.shape[d] for d in axes], dtype=np.int64))
    return count_nonzero(_condition(where, x.shape), axis=axes, keepdims=keepdims)


@implements(np.mean)
def mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = False,
         *, where: Any = True) -> CudaArray:
    """``np.mean``: integers average as float64, float32 stays float32."""
    return _finish(_mean(_device(a), axis, dtype, keepdims, where), out)


def _mean(x: CudaArray, axis: Any, dtype: Any, keepdims: Any, where: Any) -> CudaArray:
    rdt = _dtype_of(np.mean, x.dtype, dtype=dtype)
    total = _fold("add", x, axis, rdt, keepdims, where=where)
    n = _count(x, axis, bool(keepdims) if keepdims is not _NO_VALUE else False, where)
    if isinstance(n, int) and n == 0:
        warnings.warn("Mean of empty slice.", RuntimeWarning, stacklevel=3)
    return np.true_divide(total, n, out=total)


@implements(np.var)
def var(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
        keepdims: Any = False, *, where: Any = True, mean: Any = _NO_VALUE,
        correction: Any = _NO_VALUE) -> CudaArray:
    """``np.var``: ``sum((x - mean)**2) / (N - ddof)``, the two-pass formula numpy uses."""
    x = _device(a)
    if correction is not _NO_VALUE:
        ddof = correction
    keep = bool(keepdims) if keepdims is not _NO_VALUE else False
    rdt = _dtype_of(np.var, x.dtype, dtype=dtype)
    centre = mean if mean is not _NO_VALUE else _mean(x, axis, rdt, True, where)
    dev = np.subtract(x, centre, dtype=rdt)
    np.multiply(dev, dev, out=dev)
    total = _fold("add", dev, axis, rdt, keep, where=where)
    n = _count(x, axis, keep, where)
    if isinstance(n, int):
        np.true_divide(total, max(n - ddof, 0), out=total)
    else:
        np.true_divide(total, np.maximum(np.subtract(n, ddof), 0), out=total)
    return _finish(total, out)


@implements(np.std)
def std(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
        keepdims: Any = False, *, where: Any = True, mean: Any = _NO_VALUE,
        correction: Any = _NO_VALUE) -> CudaArray:
    result = var(a, axis, dtype, None, ddof, keepdims, where=where, mean=mean,
                 correction=correction)
    np.sqrt(result, out=result)
    return _finish(result, out)


def _arg(op: str, a: Any, axis: Any, out: Any, keepdims: Any) -> CudaArray:
    """argmax/argmin: the index of the first best item (a NaN counts as the best), flat
    C-order index when ``axis`` is None."""
    x = _device(a)
    keepdims = bool(keepdims) if keepdims is not _NO_VALUE else False
    axes = tuple(range(x.ndim)) if axis is None else (normalize_axis_index(axis, x.ndim),)
    m, k, kshape, kstrides, rshape, rstrides = _split(x, axes)
    if k == 0:
        raise ValueError(f"attempt to get {op} of an empty sequence")
    res = CudaArray.empty((m,), np.int64)
    if m:
        acc = _acc_dtype(x.dtype)
        tree = rk.cached(("arg", op, acc), lambda: rk.build_arg(op, acc.type))
        tree[blocks_for(m * rk.block_size(), rk.block_size()), rk.block_size()](
            m, k, x._buf, x.offset, kshape, kstrides, rshape, rstrides, res._buf)
    return _finish(res.reshape(_out_shape(x, axes, keepdims)), out)


@implements(np.argmax)
def argmax(a: Any, axis: Any = None, out: Any = None, *, keepdims: Any = False) -> CudaArray:
    return _arg("argmax", a, axis, out, keepdims)


@implements(np.argmin)
def argmin(a: Any, axis: Any = None, out: Any = None, *, keepdims: Any = False) -> CudaArray:
    return _arg("argmin", a, axis, out, keepdims)


def _cumulative(ufunc: np.ufunc, func: Any, a: Any, axis: Any, dtype: Any,
                out: Any) -> CudaArray:
    x = _device(a)
    if axis is None:  # numpy scans the flattened array
        x, axis = x.reshape(-1), 0
    return ufunc_accumulate(ufunc, x, axis, _dtype_of(func, x.dtype, dtype), out)


@implements(np.cumsum)
def cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> CudaArray:
    return _cumulative(np.add, np.cumsum, a, axis, dtype, out)


@implements(np.cumprod)
def cumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> CudaArray:
    return _cumulative(np.multiply, np.cumprod, a, axis, dtype, out)


def _sorted(a: Any, axis: Any) -> tuple[CudaArray, CudaArray]:
    """Values and indices of ``a`` sorted along ``axis`` (one thread per row, see above)."""
    x = _device(a)
    if axis is None:
        x, axis = x.reshape(-1), 0
    if x.ndim == 0:
        raise np.exceptions.AxisError(f"axis {axis} is out of bounds for array of dimension 0")
    axis = normalize_axis_index(axis, x.ndim)
    rows, n, kshape, kstrides, _, _ = _split(x, (axis,))
    moved = kshape[:x.ndim - 1] + (n,)  # the layout the kernel writes: the axis last
    vals, idx = CudaArray.empty(moved, x.dtype), CudaArray.empty(moved, np.int64)
    if rows and n:
        kernel = rk.cached(("sort",), rk.build_sort)
        kernel[blocks_for(rows), threads_per_block()](
            rows, n, x._buf, x.offset, kshape, kstrides, x.strides_el[axis], vals._buf,
            idx._buf)
    back = tuple(range(axis)) + (x.ndim - 1,) + tuple(range(axis, x.ndim - 1))
    return vals.transpose(back), idx.transpose(back)


@implements(np.sort)
def sort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *,
         stable: Any = None) -> CudaArray:
    """``np.sort``: an insertion sort per row (stable, NaN last); for short rows."""
    return _sorted(a, axis)[0].copy()


@implements(np.argsort)
def argsort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *,
            stable: Any = None) -> CudaArray:
    """``np.argsort``: the stable order (ties keep their input order), NaN last."""
    return _sorted(a, axis)[1].copy()
