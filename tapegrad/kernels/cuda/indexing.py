"""Advanced indexing on the GPU: gathers, scatters, ``np.add.at``, ``take_along_axis``, ``nonzero``.

*Basic* indexing (ints, slices, ``None``, ``...``) only moves a view's offset and strides, and
`CudaArray.__getitem__` does it without a kernel. Any key holding an index *array* or a
boolean mask is *advanced*: the result is a copy whose items come from positions listed in
the arrays. numpy's rules, which this module follows:

* all index arrays (and the ints beside them, as 0-d arrays) broadcast to one shape ``B``;
* a boolean mask over ``m`` axes is the same as its ``m`` ``nonzero`` index arrays;
* if the advanced items stand next to each other in the key, ``B`` replaces them in place
  (``x[:, i, j]`` has shape ``(x.shape[0], *B)``); otherwise ``B`` goes first
  (``x[i, :, j]`` has shape ``(*B, x.shape[1])``).

The plan for ``x[key]`` (`_plan`):

1. Apply the basic parts as a view, with every advanced axis kept whole (``slice(None)``),
   and note which axes of that view the ``k`` index arrays pick from.
2. Broadcast the index arrays and stack them into one ``(k, prod(B))`` int64 device array,
   negative indices wrapped (``-1`` is the last item).
3. One generated kernel walks the result, items in ``(*B, *rest)`` order. For result item
   ``i`` with ``b = i // prod(rest)`` its source position is::

       view.offset + sum(rest coordinate * view stride) + sum_j idx[j, b] * stride of axis j

   The same walk *gathers* (``out[i] = x[pos]``), *scatters* (``x[pos] = value[i]``), or
   *accumulates* (``cuda.atomic.add(x, pos, value[i])``): with repeated indices several
   threads add to the same position at once, and only an atomic add keeps every term.
   (A plain scatter with repeats stores one of the values; numpy's "last one wins" has no
   meaning when the stores run in parallel.)

**Bounds.** numpy raises ``IndexError`` for an index out of range, but a GPU kernel cannot
raise, and reading past a buffer is undefined behaviour. So index arrays that live on the
GPU are checked first: a small kernel finds their minimum and maximum (and wraps negatives),
and *one* copy of those numbers to the host decides. Index arrays built on the host (lists,
``np.arange``) are checked on the host and copied to the GPU once. A boolean mask costs one
copy of a single number, its count of ``True`` items: the result's shape depends on it, and
memory for the result must be allocated before the kernel that fills it runs (numpy has to
count first too).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .array import CudaArray, _is_basic, _view_key, device_mismatch
from .nonzero import _nonzero
from .runtime import blocks_for, build_once, jit_kernel, numba_cuda, threads_per_block

__all__ = ["getitem_advanced", "setitem_advanced", "ufunc_at"]

_INT64_MAX = int(np.iinfo(np.int64).max)
_INT64_MIN = int(np.iinfo(np.int64).min)

# What the walk does at each result item. ``it`` is the array walked in result order (the
# output of a gather, the values of a scatter); ``ix`` is the indexed array.
_BODIES = {
    "get": "it[pi] = ix[px]",
    "put": "ix[px] = C(it[pi])",
    "add": "cuda.atomic.add(ix, px, C(it[pi]))",
    "subtract": "cuda.atomic.sub(ix, px, C(it[pi]))",
    "maximum": "cuda.atomic.max(ix, px, C(it[pi]))",
    "minimum": "cuda.atomic.min(ix, px, C(it[pi]))",
}
_ATOMIC_DTYPES = {np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int64,
                                        np.uint32, np.uint64)}

_WALK = """
def kernel(n, nr, nb, shape, it, it_off, it_st, ix, ix_off, ix_st, idx, adv_st):
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        rem = i
        pi = it_off
        px = ix_off
        for d in range(len(shape) - 1, -1, -1):
            c = rem % shape[d]
            rem //= shape[d]
            pi += c * it_st[d]
            px += c * ix_st[d]
        b = i // nr
        for j in range(len(adv_st)):
            px += idx[j * nb + b] * adv_st[j]
        {body}
"""

_kernels: dict[Any, Any] = {}

#: numba.cuda, bound on first use; the kernels below name it as a module global (so that
#: numba's simulator, which swaps that global for its fake module, can run them too).
cuda: Any = None


def _cached(key: Any, build: Any) -> Any:
    return build_once(_kernels, key, build)


_jitted = jit_kernel


def _walk_kernel(body: str, dtype: np.dtype) -> Any:
    def build() -> Any:
        cuda_module = numba_cuda()
        namespace = {"cuda": cuda_module, "C": dtype.type}
        source = _WALK.format(body=_BODIES[body])
        exec(compile(source, f"<tapegrad cuda index kernel: {body}>", "exec"),
             namespace)
        return cuda_module.jit(namespace["kernel"])

    return _cached(("walk", body, dtype), build)


def _walk(body: str, shape: tuple, nr: int, it: CudaArray, it_st: tuple, ix: CudaArray,
          ix_st: tuple, idx: CudaArray, nb: int, adv_st: tuple) -> None:
    """Launch the walk over ``shape`` (``nr`` = items per row of ``idx``'s columns)."""
    n = math.prod(shape)
    if n == 0:
        return
    if not shape:  # kernels index with at least one axis
        shape, it_st, ix_st = (1,), (0,), (0,)
    kernel = _walk_kernel(body, ix.dtype)
    threads = threads_per_block()
    kernel[blocks_for(n, threads), threads](
        n, max(nr, 1), nb, tuple(shape), it._buf, it.offset, tuple(it_st), ix._buf, ix.offset,
        tuple(ix_st), idx._buf, tuple(adv_st))


# ------------------------------------------------------------------ bounds
def _check(row, off, n, size, minmax, slot):
    """Kernel: wrap ``row[off:off + n]``'s negatives, fold its min and max into ``minmax``."""
    lo = _INT64_MAX  # each thread reduces its own items, then one atomic each
    hi = _INT64_MIN
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        v = row[off + i]
        if v < lo:
            lo = v
        if v > hi:
            hi = v
        if v < 0:
            row[off + i] = v + size
    cuda.atomic.min(minmax, 2 * slot, lo)
    cuda.atomic.max(minmax, 2 * slot + 1, hi)


def _check_rows(flat: CudaArray, nb: int, rows: list[tuple[int, int, int]]) -> None:
    """Wrap negatives in place and bounds-check rows of a contiguous int64 array.

    ``rows``: ``(row number, axis size, axis)``. One D2H copy of ``2 * len(rows)`` numbers."""
    if not rows or nb == 0:
        return
    minmax = CudaArray.empty((len(rows), 2), np.int64)
    minmax[:, 0].fill(_INT64_MAX)
    minmax[:, 1].fill(_INT64_MIN)
    kernel, threads = _jitted(_check), threads_per_block()
    for slot, (j, size, _) in enumerate(rows):
        kernel[blocks_for(nb, threads), threads](flat._buf, flat.offset + j * nb, nb, size,
                                                  minmax._buf, slot)
    for (lo, hi), (_, size, axis) in zip(minmax.get(), rows, strict=True):
        for value in (hi, lo):
            if value >= size or value < -size:
                raise IndexError(f"index {value} is out of bounds for axis {axis} with "
                                 f"size {size}")


def _host_index(a: Any, size: int, axis: int) -> Any:
    """Check and wrap a host index (int or int array) the way numpy does."""
    arr = np.asarray(a, dtype=np.int64)
    bad = (arr >= size) | (arr < -size)
    if bad.any():
        raise IndexError(f"index {arr[bad].flat[0]} is out of bounds for axis {axis} with "
                         f"size {size}")
    arr = np.where(arr < 0, arr + size, arr)
    return int(arr) if isinstance(a, int) else arr


# ------------------------------------------------------------------ reading a key
class _Plan:
    """``x[key]`` as a view, the stacked index rows, and where ``B`` lands in the result."""

    def __init__(self, x: CudaArray, key: Any) -> None:
        items = [_normalize(item) for item in (key if isinstance(key, tuple) else (key,))]
        if sum(item is Ellipsis for item in items) > 1:
            raise IndexError("an index can only have a single ellipsis ('...')")
        used = sum(_dims_used(item) for item in items)
        if used > x.ndim:
            raise IndexError(f"too many indices for array: array is {x.ndim}-dimensional, "
                             f"but {used} were indexed")
        basic: list[Any] = []
        rows: list[tuple[Any, int, bool]] = []  # (int | host array | CudaArray, axis, check)
        adv_axes: list[int] = []
        positions: list[int] = []
        axis = 0
        for pos, item in enumerate(items):
            if item is None:
                basic.append(None)
                continue
            if item is Ellipsis or isinstance(item, slice):
                width = x.ndim - used if item is Ellipsis else 1
                basic += [slice(None) if item is Ellipsis else item] * width
                axis += width
                continue
            positions.append(pos)
            for j, (src, check) in enumerate(_index_rows(item, x.shape, axis)):
                rows.append((src, axis + j, check))
                adv_axes.append(len(basic))
                basic.append(slice(None))
            axis += _dims_used(item)
        self.view = x[(*basic, Ellipsis)]  # the Ellipsis keeps a 0-d result a view
        shapes = [getattr(src, "shape", ()) for src, _, _ in rows]
        try:
            self.bshape = tuple(np.broadcast_shapes(*shapes))
        except ValueError:
            raise IndexError("shape mismatch: indexing arrays could not be broadcast together "
                             "with shapes " + " ".join(str(s) for s in shapes)) from None
        self.nb = math.prod(self.bshape)
        self.rest = [a for a in range(self.view.ndim) if a not in adv_axes]
        adjacent = positions == list(range(positions[0], positions[-1] + 1))
        self.p = sum(a < adv_axes[0] for a in self.rest) if adjacent else 0
        rest_shape = [self.view.shape[a] for a in self.rest]
        self.shape = tuple(rest_shape[:self.p]) + self.bshape + tuple(rest_shape[self.p:])
        self.adv_st = tuple(self.view.strides_el[a] for a in adv_axes)
        self.idx = _stack(rows, self.bshape, self.nb, x.shape)

    def run(self, body: str, it: CudaArray) -> None:
        """Walk ``it`` (result-shaped) against the indexed view, items in (*B, *rest) order."""
        nbd, p = len(self.bshape), self.p
        order = list(range(p, p + nbd)) + list(range(p)) + list(range(p + nbd, len(self.shape)))
        walk_shape = tuple(self.shape[d] for d in order)
        it_st = tuple(it.strides_el[d] for d in order)
        ix_st = (0,) * nbd + tuple(self.view.strides_el[a] for a in self.rest)
        nr = math.prod(walk_shape[nbd:])
        _walk(body, walk_shape, nr, it, it_st, self.view, ix_st, self.idx, max(self.nb, 1),
              self.adv_st)


def _normalize(item: Any) -> Any:
    """A key item as None, Ellipsis, slice, int, CudaArray or host ndarray (or IndexError)."""
    if item is None or item is Ellipsis or isinstance(item, slice | CudaArray):
        arr = item
    elif isinstance(item, bool | np.bool_):
        raise IndexError("boolean scalar indices (x[True]) are not supported on CUDA arrays")
    elif isinstance(item, int | np.integer):
        return int(item)
    elif isinstance(item, list | tuple | np.ndarray):
        arr = np.asarray(item)
        if arr.size == 0 and arr.dtype.kind == "f":  # x[[]] is an empty *integer* index
            arr = arr.astype(np.int64)
    else:
        raise IndexError("only integers, slices (`:`), ellipsis (`...`), numpy.newaxis "
                         "(`None`) and integer or boolean arrays are valid indices")
    if isinstance(arr, CudaArray | np.ndarray):
        if arr.dtype.kind not in "iub":
            raise IndexError("arrays used as indices must be of integer (or boolean) type")
        if arr.dtype.kind == "b" and arr.ndim == 0:
            raise IndexError("0-d boolean indices are not supported on CUDA arrays")
    return arr


def _dims_used(item: Any) -> int:
    if item is None or item is Ellipsis:
        return 0
    if isinstance(item, CudaArray | np.ndarray) and item.dtype.kind == "b":
        return item.ndim
    return 1


def _index_rows(item: Any, shape: tuple, axis: int) -> list[tuple[Any, bool]]:
    """The index rows one advanced item stands for, each with: must it be checked on the GPU?"""
    if isinstance(item, int):
        return [(_host_index(item, shape[axis], axis), False)]
    if item.dtype.kind != "b":
        if isinstance(item, CudaArray):
            return [(item, True)]
        return [(_host_index(item, shape[axis], axis), False)]
    for j, n in enumerate(item.shape):
        if n != shape[axis + j]:
            raise IndexError(f"boolean index did not match indexed array along axis "
                             f"{axis + j}; size of axis is {shape[axis + j]} but size of "
                             f"corresponding boolean axis is {n}")
    nz = _nonzero(item) if isinstance(item, CudaArray) else np.stack(np.nonzero(item))
    return [(nz[j], False) for j in range(item.ndim)]


def _stack(rows: list, bshape: tuple, nb: int, xshape: tuple) -> CudaArray:
    """The index rows broadcast to ``bshape`` in one ``(k, nb)`` int64 device array."""
    k = len(rows)
    if all(not isinstance(src, CudaArray) for src, _, _ in rows):  # all on the host: 1 copy
        host = [np.broadcast_to(np.asarray(src, np.int64), bshape).reshape(-1)
                for src, _, _ in rows]
        return CudaArray.from_host(np.stack(host).reshape(k, nb))
    idx = CudaArray.empty((k, nb), np.int64)
    if nb == 0:
        return idx
    host_parts = [np.asarray(src, np.int64).reshape(-1) for src, _, _ in rows
                  if isinstance(src, np.ndarray)]
    sent = CudaArray.from_host(np.concatenate(host_parts)) if host_parts else None
    start, checks = 0, []
    for j, (src, axis, check) in enumerate(rows):
        row = idx[j].reshape(bshape)
        if isinstance(src, int):
            row.fill(src)
        elif isinstance(src, np.ndarray):
            assert sent is not None
            row.assign(sent[start:start + src.size].reshape(src.shape))
            start += src.size
        else:
            row.assign(src)
            if check:
                checks.append((j, xshape[axis], axis))
    _check_rows(idx, nb, checks)
    return idx


def _values(value: Any, shape: tuple, dtype: np.dtype) -> CudaArray:
    """A value for a scatter, as a device array broadcast to ``shape`` (numpy's rule)."""
    if isinstance(value, CudaArray):
        v = value
    elif isinstance(value, np.ndarray) and value.ndim > 0:
        raise device_mismatch(value)
    else:
        v = CudaArray.full((), value, dtype)  # a number: one fill kernel, no copy
    while v.ndim > len(shape) and v.shape[0] == 1:  # numpy drops leading length-1 axes
        v = v.reshape(v.shape[1:])
    try:
        return v.broadcast_to(shape)
    except ValueError:
        raise ValueError(f"shape mismatch: value array of shape {v.shape} could not be "
                         f"broadcast to indexing result of shape {shape}") from None


# ------------------------------------------------------------------ entry points
def getitem_advanced(x: CudaArray, key: Any) -> CudaArray:
    """``x[key]`` for a key with index arrays or masks: a new contiguous array."""
    plan = _Plan(x, key)
    out = CudaArray.empty(plan.shape, x.dtype)
    plan.run("get", out)
    return out


def setitem_advanced(x: CudaArray, key: Any, value: Any) -> None:
    """``x[key] = value``; with repeated indices, which value lands is unspecified."""
    plan = _Plan(x, key)
    plan.run("put", _values(value, plan.shape, x.dtype))


def ufunc_at(ufunc: np.ufunc, array: Any, indices: Any, values: Any = None) -> None:
    """``np.add.at(x, indices, values)`` (also subtract, maximum, minimum): unbuffered, so
    repeated indices accumulate. Each term is an atomic update on the GPU (the order of the
    additions varies, so float sums may differ from numpy's in the last bits, and GPU atomic
    max/min need not propagate a NaN as numpy does)."""
    if not isinstance(array, CudaArray):
        raise device_mismatch(array)
    name = ufunc.__name__
    if name not in _BODIES or name in ("get", "put") or values is None:
        raise TypeError(f"np.{name}.at is not supported on CUDA arrays "
                        "(add, subtract, maximum and minimum with values are)")
    if _is_basic(indices):  # a view: no position repeats, a plain in-place ufunc will do
        view = array[_view_key(indices)]
        ufunc(view, values, out=view)
        return
    if array.dtype not in _ATOMIC_DTYPES:
        raise TypeError(f"np.{name}.at on a CUDA array of dtype {array.dtype}: GPU atomics "
                        "need float32/64 or (u)int32/64")
    plan = _Plan(array, indices)
    plan.run(name, _values(values, plan.shape, array.dtype))
