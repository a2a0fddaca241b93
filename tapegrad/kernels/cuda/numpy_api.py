"""The numpy functions (other than ufuncs) that tapegrad's ops call, for CUDA arrays.

numpy hands ``np.concatenate([a, b])`` to `CudaArray.__array_function__` when ``a`` or ``b``
is a CudaArray, and ``np.zeros(shape, like=a)`` likewise (NEP 35). Each function here is
registered for one or more numpy functions with `implements` and builds its result from the
pieces the rest of the backend provides:

* views (`CudaArray._view` on a stand-in): ``transpose``, ``moveaxis``, ``expand_dims``,
  ``flip``, ``broadcast_to``... cost no kernel at all;
* copies into views: ``concatenate`` allocates the result and copies each input into its
  slice; ``pad`` fills and copies the middle; ``tile`` copies into a broadcast view;
* the elementwise kernels (`ufuncs.elementwise_call`) for ``where``, ``clip``, ``copyto``,
  ``tril``/``triu`` (a ``where`` against an index comparison), ``isclose``.

The reductions, matmul and indexing modules register their own functions; importing this
module imports them, so the registry is complete once any numpy function is first called.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .array import CudaArray, device_mismatch, implements
from .ufuncs import _operand, elementwise_call

_NO_VALUE = object()


def _check_device(*arrays: Any) -> None:
    for a in arrays:
        if isinstance(a, np.ndarray) and a.ndim > 0:
            raise device_mismatch(a)


def _shape(shape: Any) -> tuple[int, ...]:
    return (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)


# ------------------------------------------------------------------ creation
@implements(np.empty)
def empty(shape: Any, dtype: Any = float, order: str = "C", *, like: Any = None,
          device: Any = None) -> CudaArray:
    return CudaArray.empty(_shape(shape), dtype)


@implements(np.zeros)
def zeros(shape: Any, dtype: Any = float, order: str = "C", *, like: Any = None,
          device: Any = None) -> CudaArray:
    return CudaArray.full(_shape(shape), 0, dtype)


@implements(np.ones)
def ones(shape: Any, dtype: Any = None, order: str = "C", *, like: Any = None,
         device: Any = None) -> CudaArray:
    return CudaArray.full(_shape(shape), 1, dtype if dtype is not None else float)


@implements(np.full)
def full(shape: Any, fill_value: Any, dtype: Any = None, order: str = "C", *,
         like: Any = None, device: Any = None) -> CudaArray:
    if isinstance(fill_value, CudaArray):
        out = CudaArray.empty(_shape(shape), dtype or fill_value.dtype)
        return out.assign(fill_value)
    dtype = dtype if dtype is not None else np.asarray(fill_value).dtype
    return CudaArray.full(_shape(shape), fill_value, dtype)


def _like_shape(a: CudaArray, shape: Any) -> tuple[int, ...]:
    return a.shape if shape is None else _shape(shape)


@implements(np.empty_like)
def empty_like(a: CudaArray, dtype: Any = None, order: str = "K", subok: bool = True,
               shape: Any = None, *, device: Any = None) -> CudaArray:
    return CudaArray.empty(_like_shape(a, shape), dtype or a.dtype)


@implements(np.zeros_like)
def zeros_like(a: CudaArray, dtype: Any = None, order: str = "K", subok: bool = True,
               shape: Any = None, *, device: Any = None) -> CudaArray:
    return CudaArray.full(_like_shape(a, shape), 0, dtype or a.dtype)


@implements(np.ones_like)
def ones_like(a: CudaArray, dtype: Any = None, order: str = "K", subok: bool = True,
              shape: Any = None, *, device: Any = None) -> CudaArray:
    return CudaArray.full(_like_shape(a, shape), 1, dtype or a.dtype)


@implements(np.full_like)
def full_like(a: CudaArray, fill_value: Any, dtype: Any = None, order: str = "K",
              subok: bool = True, shape: Any = None, *, device: Any = None) -> CudaArray:
    return CudaArray.full(_like_shape(a, shape), fill_value, dtype or a.dtype)


@implements(np.asarray, np.array, np.ascontiguousarray, np.asanyarray)
def asarray(a: Any, dtype: Any = None, *args: Any, like: Any = None, copy: Any = None,
            **kwargs: Any) -> CudaArray:
    """``np.asarray(x, like=cuda_array)``: a CudaArray stays on the device (cast or made
    contiguous there); host data is copied to the device (a counted transfer)."""
    if isinstance(a, CudaArray):
        if dtype is not None and np.dtype(dtype) != a.dtype:
            return a.astype(dtype)
        return a if a.is_compact() and not copy else a.copy()
    return CudaArray.from_host(np.asarray(a, dtype=dtype))


@implements(np.arange)
def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None, *,
           like: Any = None, device: Any = None) -> CudaArray:
    """Built from a broadcast iota: ``start + step * i`` by one elementwise kernel."""
    host = np.arange(start, stop, step, dtype=dtype)  # numpy decides length and dtype
    out = CudaArray.empty(host.shape, host.dtype)
    if host.size == 0:
        return out
    first = host[0].item()
    step_value = (host[1] - host[0]).item() if host.size > 1 else 0
    return _iota(out, 0, first, step_value)


@implements(np.eye)
def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = float,
        order: str = "C", *, like: Any = None, device: Any = None) -> CudaArray:
    n, m = N, (N if M is None else M)
    rows = _iota(CudaArray.empty((n, 1), np.int64), 0, 0, 1)
    cols = _iota(CudaArray.empty((1, m), np.int64), 1, 0, 1)
    return _diagonal_mask(rows, cols, k, dtype)


def _diagonal_mask(rows: CudaArray, cols: CudaArray, k: int, dtype: Any) -> CudaArray:
    shifted = elementwise_call("subtract", [cols, rows], (np.int64, np.int64), np.int64)
    return elementwise_call("equal", [shifted, k], (np.int64, np.int64), np.dtype(dtype))


def _iota(out: CudaArray, axis: int, start: Any, step: Any) -> CudaArray:
    """Fill ``out`` with ``start + step * index`` along ``axis`` (broadcast on the others)."""
    n = out.shape[axis]
    if out.size == 0:
        return out
    from . import elementwise

    # the elementwise kernels see values, not positions: the ramp 0..n-1 comes from a kernel
    # that writes its own index, then broadcasts along the other axes
    ramp = CudaArray.empty((n,), np.float64 if out.dtype.kind == "f" else np.int64)
    elementwise.launch_index(ramp, start, step)
    shape = [1] * out.ndim
    shape[axis] = n
    out.assign(ramp.reshape(shape).astype(out.dtype))
    return out


@implements(np.linspace)
def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True,
             retstep: bool = False, dtype: Any = None, axis: int = 0, *,
             device: Any = None) -> CudaArray:
    host = np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype)
    return CudaArray.from_host(host)


# ------------------------------------------------------------------ metadata
@implements(np.shape)
def shape(a: CudaArray) -> tuple[int, ...]:
    return a.shape


@implements(np.ndim)
def ndim(a: CudaArray) -> int:
    return a.ndim


@implements(np.size)
def size(a: CudaArray, axis: int | None = None) -> int:
    return a.size if axis is None else a.shape[axis]


@implements(np.result_type)
def result_type(*arrays_and_dtypes: Any) -> np.dtype:
    return np.result_type(*[x.dtype if isinstance(x, CudaArray) else x
                            for x in arrays_and_dtypes])


@implements(np.can_cast)
def can_cast(from_: Any, to: Any, casting: str = "safe") -> bool:
    return np.can_cast(from_.dtype if isinstance(from_, CudaArray) else from_, to, casting)


# ------------------------------------------------------------------ views
@implements(np.transpose)
def transpose(a: CudaArray, axes: Any = None) -> CudaArray:
    return a.transpose(axes)


@implements(np.reshape)
def reshape(a: CudaArray, shape: Any = None, order: str = "C", *, newshape: Any = None,
            copy: Any = None) -> CudaArray:
    return a.reshape(shape if shape is not None else newshape)


@implements(np.moveaxis)
def moveaxis(a: CudaArray, source: Any, destination: Any) -> CudaArray:
    return a._view(lambda x: np.moveaxis(x, source, destination))


@implements(np.swapaxes)
def swapaxes(a: CudaArray, axis1: int, axis2: int) -> CudaArray:
    return a.swapaxes(axis1, axis2)


@implements(np.expand_dims)
def expand_dims(a: CudaArray, axis: Any) -> CudaArray:
    return a._view(lambda x: np.expand_dims(x, axis))


@implements(np.squeeze)
def squeeze(a: CudaArray, axis: Any = None) -> CudaArray:
    return a.squeeze(axis)


@implements(np.broadcast_to)
def broadcast_to(a: CudaArray, shape: Any, subok: bool = False) -> CudaArray:
    return a.broadcast_to(_shape(shape))


@implements(np.flip)
def flip(a: CudaArray, axis: Any = None) -> CudaArray:
    return a._view(lambda x: np.flip(x, axis))


@implements(np.ravel)
def ravel(a: CudaArray, order: str = "C") -> CudaArray:
    return a.reshape(-1)


# ------------------------------------------------------------------ copies and selections
@implements(np.copyto)
def copyto(dst: CudaArray, src: Any, casting: str = "same_kind", where: Any = True) -> None:
    _check_device(src)
    if where is not True:
        src = where_(where, src, dst)
    dst.assign(src)


@implements(np.where)
def where_(condition: Any, x: Any = _NO_VALUE, y: Any = _NO_VALUE) -> Any:
    if x is _NO_VALUE and y is _NO_VALUE:
        from .nonzero import nonzero_tuple

        return nonzero_tuple(condition)
    operands = [_operand(condition), _operand(x), _operand(y)]
    out_dtype = np.result_type(*[_weak_dtype(v) for v in operands[1:]])
    casts = (np.dtype(np.bool_), out_dtype, out_dtype)
    return elementwise_call("where", operands, casts, out_dtype)


def _weak_dtype(x: Any) -> Any:
    """For ``np.result_type``: an array's dtype, or the Python number itself (weak)."""
    return x.dtype if isinstance(x, (CudaArray, np.generic)) else x


@implements(np.clip)
def clip(a: CudaArray, a_min: Any = None, a_max: Any = None, out: Any = None,
         **kwargs: Any) -> CudaArray:
    if a_min is None and a_max is None:
        raise ValueError("One of max or min must be given")
    result = a
    if a_min is not None:
        result = np.maximum(result, a_min)
    if a_max is not None:
        result = np.minimum(result, a_max)
    if out is not None:
        out.assign(result)
        return out
    return result if result is not a else a.copy()


@implements(np.isclose)
def isclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8,
            equal_nan: bool = False) -> CudaArray:
    diff = np.absolute(np.subtract(a, b))
    close = np.less_equal(diff, atol + rtol * np.absolute(b))
    if equal_nan:
        close = np.logical_or(close, np.logical_and(np.isnan(a), np.isnan(b)))
    return close


def _tri(m: CudaArray, k: int, lower: bool) -> CudaArray:
    rows = _iota(CudaArray.empty((m.shape[-2], 1), np.int64), 0, 0, 1)
    cols = _iota(CudaArray.empty((1, m.shape[-1]), np.int64), 1, 0, 1)
    offset = elementwise_call("subtract", [cols, rows], (np.int64, np.int64), np.int64)
    keep = np.less_equal(offset, k) if lower else np.greater_equal(offset, k)
    return where_(keep, m, m.dtype.type(0))


@implements(np.tril)
def tril(m: CudaArray, k: int = 0) -> CudaArray:
    return _tri(m, k, True)


@implements(np.triu)
def triu(m: CudaArray, k: int = 0) -> CudaArray:
    return _tri(m, k, False)


@implements(np.round, np.around)
def round_(a: CudaArray, decimals: int = 0, out: Any = None) -> CudaArray:
    """numpy's rounding: half to even (``rint``), after scaling by ``10**decimals``."""
    if decimals == 0 or a.dtype.kind not in "fc":
        return np.rint(a, out=out) if a.dtype.kind in "fc" else (a.copy() if out is None
                                                                  else out.assign(a))
    scale = 10.0 ** decimals
    result = np.true_divide(np.rint(np.multiply(a, scale)), scale)
    if out is not None:
        return out.assign(result)
    return result.astype(a.dtype, copy=False)


# ------------------------------------------------------------------ joining
@implements(np.concatenate)
def concatenate(arrays: Any, axis: int | None = 0, out: Any = None, dtype: Any = None,
                casting: str = "same_kind") -> CudaArray:
    arrays = list(arrays)
    _check_device(*arrays)
    if axis is None:
        arrays = [a.reshape(-1) for a in arrays]
        axis = 0
    first = arrays[0]
    axis = axis % max(first.ndim, 1)
    out_dtype = dtype or np.result_type(*[a.dtype for a in arrays])
    shape = list(first.shape)
    shape[axis] = sum(a.shape[axis] for a in arrays)
    result = out if out is not None else CudaArray.empty(tuple(shape), out_dtype)
    start = 0
    for a in arrays:
        index = [slice(None)] * len(shape)
        index[axis] = slice(start, start + a.shape[axis])
        result[tuple(index)] = a
        start += a.shape[axis]
    return result


@implements(np.stack)
def stack(arrays: Any, axis: int = 0, out: Any = None, **kwargs: Any) -> CudaArray:
    arrays = list(arrays)
    _check_device(*arrays)
    expanded = [np.expand_dims(a, axis) for a in arrays]
    return concatenate(expanded, axis=axis, out=out)


@implements(np.tile)
def tile(a: CudaArray, reps: Any) -> CudaArray:
    reps = (int(reps),) if np.ndim(reps) == 0 else tuple(int(r) for r in reps)
    ndim = max(a.ndim, len(reps))
    reps = (1,) * (ndim - len(reps)) + reps
    a = a.reshape((1,) * (ndim - a.ndim) + a.shape)
    # view a as (1, s0, 1, s1, ...) broadcast to (r0, s0, r1, s1, ...), then merge pairs
    interleaved = []
    for r, s in zip(reps, a.shape, strict=True):
        interleaved += [r, s]
    spread = a.reshape(tuple(x for s in a.shape for x in (1, s))).broadcast_to(
        tuple(interleaved))
    return spread.copy().reshape(tuple(r * s for r, s in zip(reps, a.shape, strict=True)))


@implements(np.pad)
def pad(array: CudaArray, pad_width: Any, mode: str = "constant", **kwargs: Any) -> CudaArray:
    if mode != "constant":
        raise NotImplementedError(f"np.pad(mode={mode!r}) on CUDA arrays: only 'constant'")
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (array.ndim, 2))
    value = kwargs.get("constant_values", 0)
    shape = tuple(int(s + lo + hi) for s, (lo, hi) in zip(array.shape, widths, strict=True))
    out = CudaArray.full(shape, value, array.dtype)
    inner = tuple(slice(int(lo), int(lo) + s) for s, (lo, _) in zip(array.shape, widths,
                                                                     strict=True))
    out[inner] = array
    return out


@implements(np.array_equal)
def array_equal(a1: Any, a2: Any, equal_nan: bool = False) -> bool:
    if np.shape(a1) != np.shape(a2):
        return False
    return bool(np.all(np.equal(a1, a2)).item())


@implements(np.diag)
def diag(v: CudaArray, k: int = 0) -> CudaArray:
    if v.ndim == 1:
        n = v.shape[0] + abs(k)
        out = CudaArray.full((n, n), 0, v.dtype)
        diagonal = out._view(lambda x: np.diagonal(x, k))
        diagonal.assign(v)
        return out
    return v._view(lambda x: np.diagonal(x, k)).copy()


def _load_kernel_modules() -> None:
    """The other modules that register numpy functions (imported here, at the end, so that
    `__array_function__` finds every implementation after importing this one module)."""
    from . import index_functions, indexing, matmul, reduction  # noqa: F401


_load_kernel_modules()
