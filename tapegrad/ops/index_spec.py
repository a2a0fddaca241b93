"""Reading an index expression: what ``x[index]`` means, before any op is recorded.

``parse_index(shape, index)`` takes ``index`` apart left to right, as torch does it, and
returns an `IndexSpec`: a list of *basic* steps, each of which is a numpy view, then at most
one *advanced* part.

* an int selects (``("select", dim, i)``: the dim disappears), a slice slices
  (``("slice", dim, start, stop, step)``), ``None`` inserts a size-1 dim (``("unsqueeze",
  dim)``), ``...`` skips as many dims as the other entries leave unused;
* integer tensors/lists/arrays and bool masks are *advanced*: a mask becomes one integer
  array per dim it covers (its ``nonzero``), and all index arrays are broadcast together with
  numpy's rule (their result dims go first when a slice separates them).

All of torch's ``IndexError`` messages (bounds, too many indices, mask shape, broadcast) are
raised here, so ``x[index]`` and ``x[index] = v`` fail identically. No autograd: the ops that
use a spec are in `tapegrad.ops.indexing` (reading) and `tapegrad.ops.setitem` (writing).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tapegrad.tensor import Tensor


def dim_key(dim: int, index: Any) -> tuple:
    """numpy key applying ``index`` (an int or a slice) to dim ``dim`` only."""
    # the trailing Ellipsis makes numpy return a 0-d *view* instead of a scalar
    return (slice(None),) * dim + (index, Ellipsis)


class IndexSpec:
    """A parsed index: basic ``steps`` (applied in order, each a view) then ``adv``, one
    entry per dim of the resulting view: None (take all) or an int64 array."""

    __slots__ = ("steps", "adv")

    def __init__(self, steps: tuple, adv: tuple | None) -> None:
        self.steps = steps
        self.adv = adv

    def np_adv(self) -> tuple:
        return tuple(slice(None) if a is None else a for a in self.adv)

    def view(self, data: np.ndarray) -> np.ndarray:
        """Apply the basic steps to an array (numpy views all the way)."""
        for kind, *args in self.steps:
            if kind == "select":
                data = data[dim_key(args[0], args[1])]
            elif kind == "slice":
                data = data[dim_key(args[0], slice(*args[1:]))]
            elif kind == "unsqueeze":
                data = np.expand_dims(data, args[0])
        return data

    def __repr__(self) -> str:
        def show(a: np.ndarray | None) -> str:
            if a is None:
                return ":"
            return str(a.tolist()) if a.size <= 8 else f"<int64 array {list(a.shape)}>"

        parts = [f"{k}{tuple(a)}" if a else k for k, *a in self.steps]
        if self.adv is not None:
            parts.append("index[" + ", ".join(show(a) for a in self.adv) + "]")
        return " -> ".join(parts)


def _valid_index_error(obj: Any) -> IndexError:
    return IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                      f"Variables are valid indices (got {type(obj).__name__})")


def _as_index_array(obj: Any) -> np.ndarray:
    if isinstance(obj, Tensor):
        arr = obj._data
    else:
        arr = np.asarray(obj)
        if arr.size == 0 and arr.dtype.kind == "f" and not isinstance(obj, np.ndarray):
            arr = arr.astype(np.int64)  # x[[]] is an empty *integer* index
    if arr.dtype == np.uint8:
        warnings.warn("indexing with dtype tapegrad.uint8 is now deprecated, please use a "
                      "dtype tapegrad.bool instead.", UserWarning, stacklevel=4)
        arr = arr.astype(bool)
    if arr.dtype.kind not in "iub":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return arr


def _classify(obj: Any) -> tuple[str, Any]:
    if obj is None:
        return "none", None
    if obj is Ellipsis:
        return "ellipsis", None
    if isinstance(obj, slice):
        return "slice", obj
    if isinstance(obj, (bool, np.bool_)):
        return "bool0", bool(obj)
    if isinstance(obj, (int, np.integer)):
        return "int", int(obj)
    if isinstance(obj, (Tensor, np.ndarray, list, tuple)):
        arr = _as_index_array(obj)
        if arr.dtype == bool:
            return ("bool0", bool(arr)) if arr.ndim == 0 else ("mask", arr)
        if arr.ndim == 0:
            return "int", int(arr)
        return "array", arr.astype(np.int64)  # a copy: backward must not see later edits
    raise _valid_index_error(obj)


def _sequence_is_tuple(index: list) -> bool:
    """torch's (and old numpy's) rule: a short list holding slices, None, ..., sequences or
    tensors means a tuple of indices (deprecated in torch, still done in 2.x)."""
    return len(index) < 32 and any(
        isinstance(o, (Tensor, np.ndarray, list, tuple, slice)) or o is None or o is Ellipsis
        for o in index)


def parse_index(shape: tuple, index: Any) -> IndexSpec:
    """Turn ``index`` into an `IndexSpec` for a tensor of ``shape``, with torch's errors."""
    bare = not isinstance(index, tuple)
    if isinstance(index, list) and _sequence_is_tuple(index):
        warnings.warn("Using a non-tuple sequence for multidimensional indexing is deprecated; "
                      "use x[tuple(seq)] instead of x[seq].", UserWarning, stacklevel=3)
        index, bare = tuple(index), False
    items = [_classify(o) for o in (index if isinstance(index, tuple) else (index,))]
    ndim = len(shape)
    consumed = sum(1 if k in ("int", "slice", "array") else v.ndim if k == "mask" else 0
                   for k, v in items)
    for kind, _ in items if ndim == 0 else ():
        if kind == "int":
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python "
                             "or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a "
                             "number")
        if kind == "slice":
            raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    if consumed > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    cur = list(shape)
    steps: list[tuple] = []
    adv: dict[int, np.ndarray] = {}
    dim = 0
    for pos, (kind, v) in enumerate(items):
        if kind == "int":
            size = cur[dim] if dim < len(cur) else 0
            if not -size <= v < size:
                raise IndexError(f"index {v} is out of bounds for dimension {pos} with size "
                                 f"{size}")
            steps.append(("select", dim, v % size))
            del cur[dim]
        elif kind == "slice":
            if v.step is not None and v.step < 0:
                raise ValueError("step must be greater than zero")
            start, stop, step = v.indices(cur[dim])  # ValueError for a zero step
            stop = max(stop, start)
            if bare or (start, stop, step) != (0, cur[dim], 1):
                steps.append(("slice", dim, start, stop, step))
            cur[dim] = len(range(start, stop, step))
            dim += 1
        elif kind in ("none", "bool0"):
            steps.append(("unsqueeze", dim))
            cur.insert(dim, 1)
            if kind == "bool0":  # x[True] adds a dim of size 1, x[False] one of size 0
                adv[dim] = np.zeros(1 if v else 0, dtype=np.int64)
            dim += 1
        elif kind == "ellipsis":
            dim += ndim - consumed
        elif kind == "mask":
            for j, n in enumerate(v.shape):
                if n != cur[dim + j]:
                    raise IndexError(
                        f"The shape of the mask {list(v.shape)} at index {j} does not match "
                        f"the shape of the indexed tensor {list(cur)} at index {dim + j}")
            for j, nz in enumerate(np.nonzero(v)):
                adv[dim + j] = nz
            dim += v.ndim
        else:
            adv[dim] = v
            dim += 1
    if not adv:
        return IndexSpec(tuple(steps) or (("alias",),), None)
    arrays = []
    for k, d in enumerate(sorted(adv)):
        a, size = adv[d], cur[d]
        bad = (a >= size) | (a < -size)
        if bad.any():
            raise IndexError(f"index {a[bad].flat[0]} is out of bounds for dimension {k} with "
                             f"size {size}")
        adv[d] = np.where(a < 0, a + size, a) if (a < 0).any() else a
        arrays.append(adv[d])
    try:
        np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        shapes = ", ".join(str(list(a.shape)) for a in arrays)
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together "
                         f"with shapes {shapes}") from None
    return IndexSpec(tuple(steps), tuple(adv.get(d) for d in range(len(cur))))


def advanced_shape(shape: tuple, adv: tuple) -> tuple:
    """Shape of ``a[adv]`` for an array of ``shape``, without indexing (numpy's rule)."""
    dims = [d for d, a in enumerate(adv) if a is not None]
    bshape = np.broadcast_shapes(*(adv[d].shape for d in dims))
    rest = [n for d, n in enumerate(shape) if d not in dims]
    if dims == list(range(dims[0], dims[-1] + 1)):  # adjacent: result dims go in place
        return tuple(shape[:dims[0]]) + bshape + tuple(shape[dims[-1] + 1:])
    return bshape + tuple(rest)


__all__ = ["IndexSpec", "parse_index", "dim_key", "advanced_shape"]
