"""Indexing: ``x[...]``, ``select`` and ``narrow``, and the ``index_put`` op behind writes.

``x[index]`` is first parsed (`tapegrad.ops.index_spec`), then recorded step by step, as
torch does it:

* an int selects (``SelectBackward0``), a slice slices (``SliceBackward0``), ``None`` inserts
  a dim (``UnsqueezeBackward0``), ``...`` skips dims. These are *basic* indexing: views,
  sharing memory and version counter with ``x``. Their backward writes the gradient into
  zeros of the input's shape, at the place the view came from.
* integer tensors/lists/arrays and bool masks are *advanced* indexing, applied last to the
  view built so far, with numpy's rules (index arrays broadcast together; their dims go
  first when separated by a slice). The result is a copy (``IndexBackward0``). An element
  picked k times gets k gradients, so the backward is a scatter-*add* (``np.add.at``): an
  accumulating ``index_put``.

Reading and writing at an index are each other's backward, so `IndexPut` (``out[index] =
values``) lives here beside `Index`; ``x[index] = v`` and ``index_put`` themselves, with
torch's checks on in-place writes, are in `tapegrad.ops.setitem`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.grad_mode import _state
from tapegrad.autograd.views import ViewFunction, attach_view
from tapegrad.ops._util import wrap, wrap_dim
from tapegrad.ops.dims import Unsqueeze
from tapegrad.ops.index_spec import IndexSpec, dim_key, parse_index
from tapegrad.ops.shape import Alias, _view_of, reshape
from tapegrad.tensor import Tensor


class Select(ViewFunction):
    """``x.select(dim, i)`` / ``x[i]``: a view without dimension ``dim``. Backward: a zero
    tensor of the input's shape with the gradient written at index ``i``."""

    caption = ('{g} put into zeros at the selected index ({opts}) : {sg} → {s0}',)

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int, index: int) -> Tensor:
        ctx.input_shape, ctx.dim, ctx.index = x._data.shape, dim, index
        return _view_of(x, x._data[dim_key(dim, index)])

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
        out = np.zeros(shape, dtype=grad._data.dtype, like=grad._data)
        out[dim_key(dim, index)] = grad._data
        return wrap(out)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return Select.apply(grad, dim=ctx.dim, index=ctx.index)


class Slice(ViewFunction):
    """``x[start:stop:step]`` along ``dim`` (also ``narrow``): a view. Backward: zeros of
    the input's shape with the gradient written into the slice."""

    caption = ('{g} put into zeros of shape {s0} at the slice ({opts}); the rest get 0 : '
               '{sg} → {s0}',)

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int, start: int, stop: int, step: int) -> Tensor:
        ctx.input_shape = x._data.shape
        ctx.slice = (dim, start, stop, step)
        return _view_of(x, x._data[dim_key(dim, slice(start, stop, step))])

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
        out = np.zeros(shape, dtype=grad._data.dtype, like=grad._data)
        out[dim_key(dim, slice(start, stop, step))] = grad._data
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
    if isinstance(start, Tensor):
        if start._data.ndim != 0 or start._data.dtype.kind not in "iu":
            raise RuntimeError("start must be an 0-dim integral Tensor.")
        start = int(start._data)
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


def slice_tensor(x: Tensor, dim: int = 0, start: int | None = None, end: int | None = None,
                 step: int = 1) -> Tensor:
    """torch's ``aten.slice``: ``x[start:end:step]`` along ``dim`` (a view), exported as
    ``tapegrad.slice``. Bounds are clamped to the dim as Python slices are; the step must
    be positive (a view cannot walk backwards in torch)."""
    nd = x._data.ndim
    if nd == 0:
        raise RuntimeError("slice() cannot be applied to a 0-dim tensor.")
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    d = wrap_dim(dim, nd)
    begin, stop, _ = slice(start, end, step).indices(x._data.shape[d])
    return Slice.apply(x, dim=d, start=begin, stop=max(stop, begin), step=int(step))


# ---------------------------------------------------------------- x[index]
def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]`` with torch's semantics (see the module docstring)."""
    return apply_index(x, parse_index(x._data.shape, index))


def apply_index(x: Tensor, spec: IndexSpec) -> Tensor:
    """``x[spec]`` as recorded ops: a chain of views, then one `Index` copy if advanced."""
    if not (_state.grad_enabled and x._requires_grad):
        view = spec.view(x._data)
        if spec.adv is None:
            out = _view_of(x, view)
            attach_view(x, out, (getitem_basic, (spec,), {}, None))
            return out
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


def getitem_basic(x: Tensor, spec: IndexSpec) -> Tensor:
    """``x[spec]`` for a basic index: how a view made by indexing is replayed (its name
    is what listings show: ``view='.getitem(select(1, 0))'``)."""
    return apply_index(x, spec)


getitem_basic.__name__ = "getitem"


# ---------------------------------------------------------------- advanced: read and write
class Index(Function):
    """Advanced indexing (a copy). Backward scatter-*adds* the gradient into zeros:
    ``dx = zeros; dx[idx] += grad`` with repeats accumulating (``np.add.at``)."""

    caption = ('{g} added into zeros at the indexed places (repeats add up) : {sg} → {s0}',)

    @staticmethod
    def forward(ctx: Node, x: Tensor, spec: IndexSpec) -> Tensor:
        ctx.input_shape, ctx.spec = x._data.shape, spec
        return wrap(x._data[spec.np_adv()])

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        zeros = wrap(np.zeros(ctx.input_shape, dtype=grad._data.dtype, like=grad._data))
        return IndexPutImpl.apply(zeros, grad, spec=ctx.spec, accumulate=True)


class IndexPut(Function):
    """``out = x; out[spec] = values`` (or ``+=`` with ``accumulate``), out of place or in
    place. d/dx: the gradient, with the overwritten positions zeroed (unless accumulating);
    d/dvalues: the gradient read at those positions, ``grad[spec]`` (summed to the shape of
    ``values`` by the engine when they were broadcast)."""

    caption = ('{g} with the overwritten places set to 0 : {s0}',
               '{g} taken at the indices : {s1}')
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
                keep = np.ones(grad._data.shape, dtype=grad._data.dtype, like=grad._data)
                spec.view(keep)[Ellipsis if spec.adv is None else spec.np_adv()] = 0
                grad_x = grad * wrap(keep)
        if len(ctx.needs_input_grad) > 1 and ctx.needs_input_grad[1]:
            grad_v = apply_index(grad, spec)
            extra = ctx.values_ndim - grad_v._data.ndim
            if extra > 0:  # values had extra leading size-1 dims
                grad_v = reshape(grad_v, (1,) * extra + grad_v._data.shape)
        return grad_x, grad_v


class IndexPutImpl(IndexPut):
    op_name = "index_put"


__all__ = ["select", "narrow"]

METHODS = {"__getitem__": getitem, "select": select, "narrow": narrow}
