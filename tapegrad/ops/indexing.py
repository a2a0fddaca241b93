"""Indexing: ``x[...]``, ``x[...] = v``, ``select``, ``narrow`` and ``index_put``.

``x[index]`` is taken apart left to right, as torch does it:

* an int selects (``SelectBackward0``), a slice slices (``SliceBackward0``), ``None`` inserts
  a dim (``UnsqueezeBackward0``), ``...`` skips dims. These are *basic* indexing: views,
  sharing memory and version counter with ``x``. Their backward writes the gradient into
  zeros of the input's shape, at the place the view came from.
* integer tensors/lists/arrays and bool masks are *advanced* indexing, applied last to the
  view built so far, with numpy's rules (index arrays broadcast together; their dims go
  first when separated by a slice). The result is a copy (``IndexBackward0``). An element
  picked k times gets k gradients, so the backward is a scatter-*add* (``np.add.at``).

``x[index] = v`` writes in place (``CopySlices`` / ``IndexPutBackward0``): the positions that
were overwritten no longer depend on the old ``x``, so their gradient to ``x`` is zero, and
``v``'s gradient is the output gradient read at those positions (``grad[index]``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.grad_mode import _state
from tapegrad.ops._util import check_inplace, wrap, wrap_dim
from tapegrad.ops.shape import Alias, Unsqueeze, _view_of, reshape
from tapegrad.tensor import Tensor


def _key(dim: int, index: Any) -> tuple:
    # the trailing Ellipsis makes numpy return a 0-d *view* instead of a scalar
    return (slice(None),) * dim + (index, Ellipsis)


class Select(Function):
    """``x.select(dim, i)`` / ``x[i]``: a view without dimension ``dim``. Backward: a zero
    tensor of the input's shape with the gradient written at index ``i``."""

    node_name = "SelectBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int, index: int) -> Tensor:
        ctx.input_shape, ctx.dim, ctx.index = x._data.shape, dim, index
        return _view_of(x, x._data[_key(dim, index)])

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return SelectScatter.apply(grad, shape=ctx.input_shape, dim=ctx.dim, index=ctx.index)


class SelectScatter(Function):
    """Select's backward as an op (so double backward works): zeros with ``grad`` written
    at ``index`` along ``dim``. Its own backward selects that slice again."""

    node_name = "SelectBackwardBackward0"
    op_name = "select_backward"

    @staticmethod
    def forward(ctx: Node, grad: Tensor, shape: tuple, dim: int, index: int) -> Tensor:
        ctx.dim, ctx.index = dim, index
        out = np.zeros(shape, dtype=grad._data.dtype)
        out[_key(dim, index)] = grad._data
        return wrap(out)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return Select.apply(grad, dim=ctx.dim, index=ctx.index)


class Slice(Function):
    """``x[start:stop:step]`` along ``dim`` (also ``narrow``): a view. Backward: zeros of
    the input's shape with the gradient written into the slice."""

    node_name = "SliceBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int, start: int, stop: int, step: int) -> Tensor:
        ctx.input_shape = x._data.shape
        ctx.slice = (dim, start, stop, step)
        return _view_of(x, x._data[_key(dim, slice(start, stop, step))])

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        dim, start, stop, step = ctx.slice
        return SliceScatter.apply(grad, shape=ctx.input_shape, dim=dim, start=start,
                                  stop=stop, step=step)


class SliceScatter(Function):
    """Slice's backward as an op: zeros with ``grad`` written into the slice."""

    node_name = "SliceBackwardBackward0"
    op_name = "slice_backward"

    @staticmethod
    def forward(ctx: Node, grad: Tensor, shape: tuple, dim: int, start: int, stop: int,
                step: int) -> Tensor:
        ctx.slice = (dim, start, stop, step)
        out = np.zeros(shape, dtype=grad._data.dtype)
        out[_key(dim, slice(start, stop, step))] = grad._data
        return wrap(out)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        dim, start, stop, step = ctx.slice
        return Slice.apply(grad, dim=dim, start=start, stop=stop, step=step)


def select(x: Tensor, dim: int, index: int) -> Tensor:
    """The slice at ``index`` along ``dim``, without that dim (a view)."""
    nd = x._data.ndim
    if nd == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, nd)
    size = x._data.shape[d]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(x._data.shape)} at dimension {dim}")
    return Select.apply(x, dim=d, index=int(index) % size)


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    """Elements ``start .. start+length-1`` along ``dim`` (a view)."""
    nd = x._data.ndim
    if nd == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, nd)
    size = x._data.shape[d]
    start = int(start)
    if not -size <= start <= size:
        raise IndexError(
            f"start out of range (expected to be in range of [{-size}, {size}], but got {start})")
    if start < 0:
        start += size
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > size:
        raise RuntimeError(
            f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return Slice.apply(x, dim=d, start=start, stop=start + int(length), step=1)


# ---------------------------------------------------------------- parsing an index
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
                data = data[_key(args[0], args[1])]
            elif kind == "slice":
                data = data[_key(args[0], slice(*args[1:]))]
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


def _adv_shape(shape: tuple, adv: tuple) -> tuple:
    """Shape of ``a[adv]`` for an array of ``shape``, without indexing (numpy's rule)."""
    dims = [d for d, a in enumerate(adv) if a is not None]
    bshape = np.broadcast_shapes(*(adv[d].shape for d in dims))
    rest = [n for d, n in enumerate(shape) if d not in dims]
    if dims == list(range(dims[0], dims[-1] + 1)):  # adjacent: result dims go in place
        return tuple(shape[:dims[0]]) + bshape + tuple(shape[dims[-1] + 1:])
    return bshape + tuple(rest)


def apply_index(x: Tensor, spec: IndexSpec) -> Tensor:
    """``x[spec]`` as recorded ops: a chain of views, then one `Index` copy if advanced."""
    if not (_state.grad_enabled and x._requires_grad):
        view = spec.view(x._data)
        if spec.adv is None:
            return _view_of(x, view)
        return wrap(view[spec.np_adv()])
    out = x
    for kind, *args in spec.steps:
        if kind == "select":
            out = Select.apply(out, dim=args[0], index=args[1])
        elif kind == "slice":
            out = Slice.apply(out, dim=args[0], start=args[1], stop=args[2], step=args[3])
        elif kind == "unsqueeze":
            out = Unsqueeze.apply(out, dim=args[0])
        else:
            out = Alias.apply(out)
    if spec.adv is not None:
        out = Index.apply(out, spec=IndexSpec((), spec.adv))
    return out


class Index(Function):
    """Advanced indexing (a copy). Backward scatter-*adds* the gradient into zeros:
    ``dx = zeros; dx[idx] += grad`` with repeats accumulating (``np.add.at``)."""

    node_name = "IndexBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor, spec: IndexSpec) -> Tensor:
        ctx.input_shape, ctx.spec = x._data.shape, spec
        return wrap(x._data[spec.np_adv()])

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        zeros = wrap(np.zeros(ctx.input_shape, dtype=grad._data.dtype))
        return IndexPutImpl.apply(zeros, grad, spec=ctx.spec, accumulate=True)


class IndexPut(Function):
    """``out = x; out[spec] = values`` (or ``+=`` with ``accumulate``), out of place or in
    place. d/dx: the gradient, with the overwritten positions zeroed (unless accumulating);
    d/dvalues: the gradient read at those positions, ``grad[spec]`` (summed to the shape of
    ``values`` by the engine when they were broadcast)."""

    node_name = "IndexPutBackward0"
    op_name = "index_put"

    @staticmethod
    def forward(ctx: Node, x: Tensor, values: Any, spec: IndexSpec, accumulate: bool = False,
                inplace: bool = False) -> Tensor:
        ctx.spec, ctx.accumulate = spec, accumulate
        ctx.values_ndim = values._data.ndim if isinstance(values, Tensor) else 0
        out = x._data if inplace else x._data.copy()
        target = spec.view(out)
        key = Ellipsis if spec.adv is None else spec.np_adv()
        vals = values._data if isinstance(values, Tensor) else values
        if accumulate:
            np.add.at(target, key, vals)
        else:
            target[key] = vals
        if not inplace:
            return wrap(out)
        x._bump_version()
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        spec = ctx.spec
        grad_x = grad_v = None
        if ctx.needs_input_grad[0]:
            grad_x = grad
            if not ctx.accumulate:
                keep = np.ones(grad._data.shape, dtype=grad._data.dtype)
                spec.view(keep)[Ellipsis if spec.adv is None else spec.np_adv()] = 0
                grad_x = grad * wrap(keep)
        if len(ctx.needs_input_grad) > 1 and ctx.needs_input_grad[1]:
            grad_v = apply_index(grad, spec)
            extra = ctx.values_ndim - grad_v._data.ndim
            if extra > 0:  # values had extra leading size-1 dims
                grad_v = reshape(grad_v, (1,) * extra + grad_v._data.shape)
        return grad_x, grad_v


class IndexPutImpl(IndexPut):
    node_name = "IndexPutImplBackward0"
    op_name = "index_put"


class CopySlices(IndexPut):
    node_name = "CopySlices"
    op_name = "setitem"


class CopyBackwards(IndexPut):
    node_name = "CopyBackwards"
    op_name = "setitem"


def check_writeable(x: Tensor) -> None:
    """Expanded tensors are read-only numpy views (torch writes through them, warning)."""
    if not x._data.flags.writeable:
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location. Please clone() the tensor before performing the operation.")


_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
               "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _check_values(values: Any, target_shape: tuple, advanced: bool) -> None:
    vshape = tuple(values._data.shape) if isinstance(values, Tensor) else ()
    core = list(vshape)
    while len(core) > len(target_shape) and core[0] == 1:
        core.pop(0)  # extra leading size-1 dims are allowed
    ok = len(core) <= len(target_shape) and all(
        v in (1, t) for v, t in zip(reversed(core), reversed(target_shape), strict=False))
    if ok:
        return
    if advanced:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(vshape)} cannot be "
                           f"broadcast to indexing result of shape {list(target_shape)}")
    for i in range(1, len(core) + 1):
        have = target_shape[-i] if i <= len(target_shape) else 1
        if core[-i] not in (1, have):
            raise RuntimeError(
                f"The expanded size of the tensor ({have}) must match the existing size "
                f"({core[-i]}) at non-singleton dimension {len(target_shape) - i}.  Target "
                f"sizes: {list(target_shape)}.  Tensor sizes: {list(vshape)}")


def _check_put(x: Tensor, spec: IndexSpec, values: Any) -> None:
    """torch's checks on the written values: shape (broadcastable), dtype (advanced only)."""
    # the shape written to, from a zero-stride stand-in for x (no memory touched)
    view_shape = spec.view(np.broadcast_to(np.zeros((), np.bool_), x._data.shape)).shape
    target = view_shape if spec.adv is None else _adv_shape(view_shape, spec.adv)
    _check_values(values, target, spec.adv is not None)
    if spec.adv is not None and isinstance(values, Tensor) and values.dtype != x.dtype:
        raise RuntimeError(
            "Index put requires the source and destination dtypes match, got "
            f"{_TYPE_NAMES[x.dtype.name]} for the destination and "
            f"{_TYPE_NAMES[values.dtype.name]} for the source.")


def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]`` with torch's semantics (see the module docstring)."""
    return apply_index(x, parse_index(x._data.shape, index))


def setitem(x: Tensor, index: Any, value: Any) -> None:
    """``x[index] = value``: an in-place write recorded on the tape."""
    spec = parse_index(x._data.shape, index)
    basic = any(kind != "alias" for kind, *_ in spec.steps)
    # torch: basic/`...` -> x[basic].copy_(value), which checks shapes first; advanced ->
    # index_put_ (on the basic view, if any), which checks the in-place rules first.
    if spec.adv is None:
        _check_put(x, spec, value)
    if basic and _state.grad_enabled and x._requires_grad and x._grad_fn is None:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    check_inplace(x)
    check_writeable(x)
    if spec.adv is not None:
        _check_put(x, spec, value)
    cls = CopySlices if basic else IndexPut if spec.adv is not None else CopyBackwards
    cls.apply(x, value, spec=spec, inplace=True)


def index_put_(x: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    """``x[indices] = values`` (or ``+=`` with accumulate) for a tuple of index tensors."""
    for i, t in enumerate(indices):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    spec = parse_index(x._data.shape, tuple(indices))
    _check_put(x, spec, values)
    check_inplace(x)
    check_writeable(x)
    return IndexPut.apply(x, values, spec=spec, accumulate=accumulate, inplace=True)


def index_put(x: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    """Out-of-place ``index_put_``."""
    for i, t in enumerate(indices):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    spec = parse_index(x._data.shape, tuple(indices))
    _check_put(x, spec, values)
    return IndexPut.apply(x, values, spec=spec, accumulate=accumulate)


__all__ = ["select", "narrow", "index_put", "index_put_"]

METHODS = {
    "__getitem__": getitem, "__setitem__": setitem, "select": select, "narrow": narrow,
    "index_put": index_put, "index_put_": index_put_,
}
