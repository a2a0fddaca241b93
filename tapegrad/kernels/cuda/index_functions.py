"""numpy's index functions on CUDA arrays, built on `indexing`'s gather/scatter walk:
``take_along_axis``, ``put_along_axis``, ``take``, ``argwhere``, ``compress``, ``unique``.

Each one reduces to the walk of an advanced key: ``take_along_axis`` indexes one axis with an
array broadcast against the others, ``take`` is ``a[..., indices]``, ``compress`` is
``a[..., nonzero(condition)]``. Only ``unique`` leaves the GPU (there is no GPU sort of
arbitrary length here): it copies its input to the host and its results back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .array import CudaArray, _is_basic, _view_key, implements
from .indexing import _check_rows, _values, _walk, getitem_advanced
from .nonzero import _nonzero, nonzero_tuple

__all__ = ["argwhere", "compress", "put_along_axis", "take", "take_along_axis", "unique"]


def _along(arr: CudaArray, indices: Any, axis: Any) -> tuple:
    """``take_along_axis``'s walk: result shape, checked int64 indices, arr's strides."""
    if not isinstance(indices, CudaArray):
        indices = CudaArray.from_host(np.asarray(indices))
    if indices.dtype.kind not in "iu":
        raise IndexError("`indices` must be an integer array")
    if axis is None:
        if indices.ndim != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension.")
        arr, axis = arr.reshape(-1), 0
    if indices.ndim != arr.ndim:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    axis = np.lib.array_utils.normalize_axis_index(axis, arr.ndim)
    shape = tuple(np.broadcast_shapes(arr.shape[:axis] + (1,) + arr.shape[axis + 1:],
                                      indices.shape))
    idx = CudaArray.empty(shape, np.int64)
    idx.assign(indices.broadcast_to(shape))
    _check_rows(idx, idx.size, [(0, arr.shape[axis], axis)])
    ix_st = tuple(0 if d == axis or arr.shape[d] != shape[d] else arr.strides_el[d]
                  for d in range(arr.ndim))
    return arr, shape, idx, ix_st, (arr.strides_el[axis],)


@implements(np.take_along_axis)
def take_along_axis(arr: CudaArray, indices: Any, axis: Any = -1) -> CudaArray:
    """``out[..., i, ...] = arr[..., indices[..., i, ...], ...]`` along ``axis``."""
    arr, shape, idx, ix_st, adv_st = _along(arr, indices, axis)
    out = CudaArray.empty(shape, arr.dtype)
    _walk("get", shape, 1, out, out.strides_el, arr, ix_st, idx, idx.size, adv_st)
    return out


@implements(np.put_along_axis)
def put_along_axis(arr: CudaArray, indices: Any, values: Any, axis: Any) -> None:
    """``arr[..., indices[..., i, ...], ...] = values[..., i, ...]`` in place."""
    if axis is None:
        raise ValueError("put_along_axis with axis=None is not supported on CUDA arrays")
    arr, shape, idx, ix_st, adv_st = _along(arr, indices, axis)
    vals = _values(values, shape, arr.dtype)
    _walk("put", shape, 1, vals, vals.strides_el, arr, ix_st, idx, idx.size, adv_st)


@implements(np.take)
def take(a: CudaArray, indices: Any, axis: Any = None, out: Any = None,
         mode: str = "raise") -> CudaArray:
    """``np.take``: ``a[..., indices]`` along ``axis`` (of the flattened ``a`` for None)."""
    if mode != "raise":
        raise NotImplementedError("np.take on CUDA arrays supports only mode='raise'")
    if axis is None:
        a, axis = a.reshape(-1), 0
    axis = np.lib.array_utils.normalize_axis_index(axis, a.ndim)
    key = (slice(None),) * axis + (indices,)
    result = a[_view_key(key)].copy() if _is_basic(key) else getitem_advanced(a, key)
    if out is None:
        return result
    out.assign(result)
    return out


@implements(np.argwhere)
def argwhere(a: CudaArray) -> CudaArray:
    """``(count, ndim)`` int64 coordinates of the non-zero items."""
    if a.ndim == 0:
        return CudaArray.empty((_nonzero(a.reshape(1)).shape[1], 0), np.int64)
    return _nonzero(a).T.copy()


@implements(np.compress)
def compress(condition: Any, a: CudaArray, axis: Any = None, out: Any = None) -> CudaArray:
    """The slices of ``a`` along ``axis`` where ``condition`` is true."""
    if axis is None:
        a, axis = a.reshape(-1), 0
    axis = np.lib.array_utils.normalize_axis_index(axis, a.ndim)
    if isinstance(condition, CudaArray):
        picks: Any = nonzero_tuple(condition.reshape(-1))[0]
    else:
        picks = np.flatnonzero(np.asarray(condition, dtype=bool))
    result = getitem_advanced(a, (slice(None),) * axis + (picks,))
    if out is None:
        return result
    out.assign(result)
    return out


@implements(np.unique)
def unique(ar: CudaArray, return_index: bool = False, return_inverse: bool = False,
           return_counts: bool = False, axis: Any = None, *, equal_nan: bool = True,
           sorted: bool = True) -> Any:
    """``np.unique`` through the host: there is no GPU sort here. One D2H copy of ``ar``,
    one H2D copy per result."""
    result = np.unique(ar.get(), return_index=return_index, return_inverse=return_inverse,
                       return_counts=return_counts, axis=axis, equal_nan=equal_nan,
                       sorted=sorted)
    if isinstance(result, tuple):
        return tuple(CudaArray.from_host(r) for r in result)
    return CudaArray.from_host(result)
