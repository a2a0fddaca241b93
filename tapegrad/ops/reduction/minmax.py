"""max, min, amax, amin, argmax, argmin: reductions that *select* values.

The gradient of a selected value goes to the input(s) it was selected from, and 0 to
every other input. The question is what to do with ties, where several inputs hold the
maximum. torch answers differently per op, and so do we:

* ``x.max()`` / ``x.min()`` (no dim): the gradient is split evenly over all tied
  values (``evenly_distribute_backward``);
* ``x.max(dim)`` / ``x.min(dim)``: returns ``(values, indices)``; the gradient goes only
  to the returned index, the first occurrence (``value_selecting_reduction_backward``);
* ``amax`` / ``amin``: split evenly over the ties along the reduced dims
  (``scale_grad_by_count``).

NaN counts as the maximum (and the minimum): it propagates, as in torch.
"""

from __future__ import annotations

import collections
import types
from typing import Any

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.ops._util import as_array, wrap, wrap_dim
from tapegrad.ops.clamp import maximum, minimum
from tapegrad.ops.out_arg import write_out
from tapegrad.ops.reduction.axes import kept_shape, reduce_axes, unkeep
from tapegrad.tensor import Tensor


def _return_type(name: str) -> type:
    """A ``(values, indices)`` named tuple printing like ``torch.return_types.max``."""
    base = collections.namedtuple(name, ["values", "indices"])

    def __repr__(self) -> str:
        return (f"tapegrad.return_types.{name}(\nvalues={self.values!r},\n"
                f"indices={self.indices!r})")

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__,
                               "__module__": __name__})
    cls.__qualname__ = f"return_types.{name}"  # so pickle finds it
    return cls


return_types = types.SimpleNamespace(max=_return_type("max"), min=_return_type("min"))


def register_return_type(name: str, fields: tuple[str, ...] = ("values", "indices")) -> type:
    """A named tuple ``tapegrad.return_types.<name>`` (torch's ``torch.return_types``) with
    these ``fields``, registered in `return_types` so that pickle finds it."""
    if fields == ("values", "indices"):
        cls = _return_type(name)
    else:
        base = collections.namedtuple(name, list(fields))

        def __repr__(self) -> str:
            parts = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self, strict=True))
            return f"tapegrad.return_types.{name}(\n{parts})"

        cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__,
                                   "__module__": __name__})
        cls.__qualname__ = f"return_types.{name}"
    setattr(return_types, name, cls)
    return cls


register_return_type("aminmax", ("min", "max"))

_PICK = {"max": (np.max, np.argmax), "min": (np.min, np.argmin),
         "amax": (np.max, None), "amin": (np.min, None)}


def _no_identity(op: str) -> RuntimeError:
    return RuntimeError(
        f"{op}(): Expected reduction dim to be specified for input.numel() == 0. Specify "
        "the reduction dim with the 'dim' argument.")


def _empty_dim(op: str, d: int) -> IndexError:
    return IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")


# ---------------------------------------------------------------- max() / min()
def _extreme_all(ctx: Node, x: Tensor, op: str) -> Tensor:
    if x._data.size == 0:
        raise _no_identity(op)
    out = wrap(as_array(_PICK[op][0](x._data), x._data.dtype))
    ctx.save_for_backward(x, out)
    return out


def _evenly_distribute(ctx: Node, grad: Tensor) -> Tensor:
    """Every input equal to the result (every NaN when the result is NaN) receives
    ``grad / number_of_ties``; the others 0."""
    x, out = ctx.saved_tensors
    data = x._data
    mask = np.isnan(data) if np.isnan(out._data) else data == out._data
    share = mask / np.count_nonzero(mask)
    return grad * wrap(share.astype(data.dtype))


class MaxAll(Function):
    """``x.max()``: the largest value; ties share its gradient evenly."""

    caption = ('{g} goes to the largest element, 0 to the rest (max routes) : {sg} → {s0}',)
    node_name = "MaxBackward1"
    op_name = "max"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        return _extreme_all(ctx, x, "max")

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return _evenly_distribute(ctx, grad)


class MinAll(Function):
    """``x.min()``: the smallest value; ties share its gradient evenly."""

    caption = ('{g} goes to the smallest element, 0 to the rest (min routes) : {sg} → {s0}',)
    node_name = "MinBackward1"
    op_name = "min"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        return _extreme_all(ctx, x, "min")

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return _evenly_distribute(ctx, grad)


# ---------------------------------------------------------------- max(dim) / min(dim)
class ScatterAlong(Function):
    """``zeros(shape)`` with ``src`` written at ``index`` along ``dim``: how the gradient
    of selected values is put back where they were selected from. Linear in ``src``; its
    backward reads the same positions back (`GatherAlong`)."""

    caption = ('{g} where nothing was scattered over : {s0}',
               '0 (indices have no gradient)',
               '{g} gathered at the indices : {s2}')
    node_name = "ScatterBackward0"
    op_name = "scatter"

    @staticmethod
    def forward(ctx: Node, src: Tensor, dim: int, index: np.ndarray, shape: tuple) -> Tensor:
        ctx.dim, ctx.index = dim, index
        out = np.zeros(shape, dtype=src._data.dtype, like=src._data)
        np.put_along_axis(out, index, src._data, axis=dim)
        return wrap(out)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return GatherAlong.apply(grad, dim=ctx.dim, index=ctx.index)


class GatherAlong(Function):
    """``x`` read at ``index`` along ``dim``; backward scatters the gradient back."""

    caption = ('{g} scattered (added) back where it was gathered from ({opts}) : {sg} → {s0}',)
    node_name = "GatherBackward0"
    op_name = "gather"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int, index: np.ndarray) -> Tensor:
        ctx.dim, ctx.index, ctx.shape = dim, index, x._data.shape
        return wrap(np.take_along_axis(x._data, index, axis=dim))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return ScatterAlong.apply(grad, dim=ctx.dim, index=ctx.index, shape=ctx.shape)


def _extreme_dim(ctx: Node, x: Tensor, dim: int, keepdim: bool, op: str) -> tuple:
    data = x._data
    d = wrap_dim(dim, data.ndim)
    ctx.dim, ctx.keepdim, ctx.shape = d, keepdim, data.shape
    if data.ndim == 0:
        ctx.index = None
        return wrap(data.copy()), wrap(np.zeros((), dtype=np.int64, like=data))
    if data.shape[d] == 0:
        raise _empty_dim(op, d)
    # argmax/argmin return the first occurrence of the extreme (or of a NaN), like torch
    index = _PICK[op][1](data, axis=d, keepdims=True)
    ctx.index = index
    values = np.take_along_axis(data, index, axis=d)
    if not keepdim:
        values, index = values.squeeze(d), index.squeeze(d)
    indices = wrap(index.astype(np.int64))
    ctx.mark_non_differentiable(indices)
    return wrap(values), indices


def _value_selecting_backward(ctx: Node, grad: Tensor) -> Tensor:
    """The gradient of each selected value goes to its index only."""
    if ctx.index is None:  # 0-d input: the value is the input
        return grad
    grad = unkeep(grad, ctx.shape, (ctx.dim,), ctx.keepdim)
    return ScatterAlong.apply(grad, dim=ctx.dim, index=ctx.index, shape=ctx.shape)


class MaxDim(Function):
    """``x.max(dim)``: values and their indices; gradient only to those indices."""

    caption = MaxAll.caption
    node_name = "MaxBackward0"
    op_name = "max"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int, keepdim: bool = False) -> tuple:
        return _extreme_dim(ctx, x, dim, keepdim, "max")

    @staticmethod
    def backward(ctx: Node, grad: Tensor, grad_indices: Any) -> Tensor:
        return _value_selecting_backward(ctx, grad)


class MinDim(Function):
    """``x.min(dim)``: values and their indices; gradient only to those indices."""

    caption = MinAll.caption
    node_name = "MinBackward0"
    op_name = "min"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int, keepdim: bool = False) -> tuple:
        return _extreme_dim(ctx, x, dim, keepdim, "min")

    @staticmethod
    def backward(ctx: Node, grad: Tensor, grad_indices: Any) -> Tensor:
        return _value_selecting_backward(ctx, grad)


# ---------------------------------------------------------------- amax / amin
def _amax_forward(ctx: Node, x: Tensor, dim: Any, keepdim: bool, op: str) -> Tensor:
    data = x._data
    axes = reduce_axes(dim, data.ndim)
    unspecified = dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0)
    if data.size == 0 and unspecified:
        raise _no_identity(op)
    for a in axes:
        if data.shape[a] == 0:
            raise _empty_dim(op, a)
    ctx.axes, ctx.keepdim = axes, keepdim
    out = wrap(as_array(_PICK[op][0](data, axis=axes, keepdims=keepdim), data.dtype))
    ctx.save_for_backward(x, out)
    return out


def _scale_grad_by_count(ctx: Node, grad: Tensor) -> Tensor:
    """Split each output's gradient evenly over the inputs equal to it (its ties)."""
    x, out = ctx.saved_tensors
    data = x._data
    result = out._data if ctx.keepdim else out._data.reshape(kept_shape(data.shape, ctx.axes))
    mask = data == result
    with np.errstate(invalid="ignore", divide="ignore"):  # NaN results: 0/0, as torch
        share = mask / np.sum(mask, axis=ctx.axes, keepdims=True)
    return unkeep(grad, data.shape, ctx.axes, ctx.keepdim) * wrap(share.astype(data.dtype))


class Amax(Function):
    """``amax(x, dim)``: the maximum over ``dim`` (values only); ties share evenly."""

    caption = ('{g} shared by the largest elements, 0 to the rest : {sg} → {s0}',)
    op_name = "amax"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
        return _amax_forward(ctx, x, dim, keepdim, "amax")

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return _scale_grad_by_count(ctx, grad)


class Amin(Function):
    """``amin(x, dim)``: the minimum over ``dim`` (values only); ties share evenly."""

    caption = ('{g} shared by the smallest elements, 0 to the rest : {sg} → {s0}',)
    op_name = "amin"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
        return _amax_forward(ctx, x, dim, keepdim, "amin")

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return _scale_grad_by_count(ctx, grad)


# ---------------------------------------------------------------- public functions
def _extreme(x: Tensor, dim: Any, keepdim: bool, op: str, all_fn: type, dim_fn: type):
    if isinstance(dim, Tensor):  # torch.max(a, b) is the elementwise maximum
        return (maximum if op == "max" else minimum)(x, dim)
    if dim is None:
        if keepdim:
            raise TypeError(f"{op}(): keepdim=True needs a dim to reduce")
        return all_fn.apply(x)
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{op}(): argument 'dim' must be int, not {type(dim).__name__}")
    values, indices = dim_fn.apply(x, dim=dim, keepdim=keepdim)
    return getattr(return_types, op)(values, indices)


def max(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """``max(x)``: the largest value. ``max(x, dim)``: a ``(values, indices)`` named
    tuple. ``max(x, other_tensor)``: the elementwise maximum."""
    return _extreme(x, dim, keepdim, "max", MaxAll, MaxDim)


def min(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """``min(x)``, ``min(x, dim) -> (values, indices)``, ``min(x, other)``: see `max`."""
    return _extreme(x, dim, keepdim, "min", MinAll, MinDim)


def amax(x: Tensor, dim: Any = (), keepdim: bool = False, *,
         out: Tensor | None = None) -> Tensor:
    """Maximum over ``dim`` (an int or tuple; ``()`` means all dims), values only."""
    return _amax_amin("amax", Amax, x, dim, keepdim, out)


def amin(x: Tensor, dim: Any = (), keepdim: bool = False, *,
         out: Tensor | None = None) -> Tensor:
    """Minimum over ``dim`` (an int or tuple; ``()`` means all dims), values only."""
    return _amax_amin("amin", Amin, x, dim, keepdim, out)


def _amax_amin(name: str, function: Any, x: Tensor, dim: Any, keepdim: bool,
               out: Tensor | None) -> Tensor:
    if out is not None and out.dtype != x.dtype:
        raise RuntimeError(f"Expected the dtype for input and out to match, but got "
                           f"{x.dtype.scalar_type} for input's dtype and "
                           f"{out.dtype.scalar_type} for out's dtype.")
    result = function.apply(x, dim=dim, keepdim=keepdim)
    return result if out is None else write_out(name, result, out, x, overlap_ok=True)


def aminmax(x: Tensor, *, dim: int | None = None, keepdim: bool = False,
            out: Any = None) -> Any:
    """``(min, max)`` in one call: `amin` and `amax` over ``dim`` (one int, or every dim
    if None), each with amin's/amax's gradient. ``out=(min, max)`` receives the results
    (tensors of x's dtype)."""
    if out is not None:
        for o in out:
            if o.dtype != x.dtype:
                raise RuntimeError("Expected out tensor to have dtype "
                                   f"{x.dtype.scalar_type.lower()}, but got "
                                   f"{o.dtype.scalar_type.lower()} instead")
        result = aminmax(x, dim=dim, keepdim=keepdim)
        for o, r in zip(out, result, strict=True):
            o.data = r
        return return_types.aminmax(*out)
    if dim is None:
        if x._data.size == 0:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as "
                               "the operation has no identity.")
        axes: Any = ()
    else:
        d = wrap_dim(dim, x._data.ndim)
        if x._data.ndim and x._data.shape[d] == 0:
            raise _empty_dim("aminmax", d)
        axes = d
    lo, hi = amin(x, axes, keepdim), amax(x, axes, keepdim)
    if dim is None and keepdim:
        shape = (1,) * x._data.ndim
        lo, hi = lo.reshape(shape), hi.reshape(shape)
    return return_types.aminmax(lo, hi)


def _arg_extreme(x: Tensor, dim: int | None, keepdim: bool, op: str) -> Tensor:
    data = x._data
    pick = np.argmax if op == "argmax" else np.argmin
    if dim is None:  # index into the flattened tensor
        if data.size == 0:
            raise IndexError(
                f"{op}(): Expected reduction dim to be specified for input.numel() == 0.")
        index = as_array(pick(data), np.int64)
        if keepdim:
            index = index.reshape((1,) * data.ndim)
    else:
        d = wrap_dim(dim, data.ndim)
        if data.ndim == 0:
            index = np.zeros((), dtype=np.int64, like=data)
        elif data.shape[d] == 0:
            raise _empty_dim(op, d)
        else:
            index = pick(data, axis=d, keepdims=keepdim)
    return wrap(as_array(index, np.dtype(np.int64)))


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the (first) maximum, along ``dim`` or in the flattened tensor (int64)."""
    return _arg_extreme(x, dim, keepdim, "argmax")


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the (first) minimum, along ``dim`` or in the flattened tensor (int64)."""
    return _arg_extreme(x, dim, keepdim, "argmin")


METHODS = {"max": max, "min": min, "amax": amax, "amin": amin, "argmax": argmax,
           "argmin": argmin, "aminmax": aminmax}

__all__ = ["max", "min", "amax", "amin", "argmax", "argmin", "aminmax", "return_types"]
