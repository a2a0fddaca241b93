"""``index_select`` and ``index_add``: whole slices along one dim, picked by a 1-D index.

    y = x.index_select(1, idx)       y[:, k] = x[:, idx[k]]
    y = x.index_add(1, idx, s)       y[:, idx[k]] += s[:, k]      (repeats add up)

The same pair as ``gather``/``scatter_add`` (`tapegrad.ops.scatter`), one slice at a time:
each is the other's backward. A slice selected twice receives both of its gradients, so
``index_select``'s backward is an ``index_add`` into zeros; ``index_add``'s gradient for
``s`` is the output gradient's slices at ``idx`` (an ``index_select``), times ``alpha``;
its gradient for ``x`` passes through, since adding does not overwrite anything.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.device import move
from tapegrad.ops._util import check_inplace, wrap, wrap_dim
from tapegrad.ops.masking import masked_fill
from tapegrad.ops.out_arg import write_out
from tapegrad.ops.scatter import ScatterReduce, _as1d, _check_bounds, _finish
from tapegrad.ops.setitem import check_writeable
from tapegrad.tensor import Tensor


class IndexSelect(Function):
    """The slices ``index[0], index[1], ...`` along ``dim`` (a copy). Backward: zeros with
    the gradient slices added back at those indices (``index_add``)."""

    caption = ('{g} added into zeros at the selected rows ({opts}) : {sg} → {s0}',)

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int, index: np.ndarray) -> Tensor:
        ctx.input_shape, ctx.dim, ctx.index = x._data.shape, dim, index
        out = np.take(_as1d(x._data), index, axis=dim)
        return wrap(out.reshape(()) if x._data.ndim == 0 else out)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        zeros = wrap(np.zeros(ctx.input_shape, dtype=grad._data.dtype, like=grad._data))
        return IndexAdd.apply(zeros, grad, dim=ctx.dim, index=ctx.index)


class IndexAdd(Function):
    """``out = x.clone(); out.select(dim, index[k]) += alpha * source.select(dim, k)``.
    d/dx: the gradient; d/dsource: ``alpha`` times the gradient slices at ``index``."""

    caption = ('{g} unchanged : {s0}',
               '0 (indices have no gradient)',
               '{g} selected at the indices : {s2}')
    op_name = "index_add"

    @staticmethod
    def forward(ctx: Node, x: Tensor, source: Tensor, dim: int, index: np.ndarray,
                alpha: float = 1, inplace: bool = False) -> Tensor:
        ctx.dim, ctx.index, ctx.alpha = dim, index, alpha
        out = x._data if inplace else x._data.copy()
        src = _as1d(source._data)
        if alpha != 1:
            # alpha in source's dtype, wrapping around as torch's cast does (uint8: -1 is 255)
            src = src * np.asarray(alpha).astype(src.dtype)
        np.add.at(_as1d(out), (slice(None),) * dim + (index,), src)
        return _finish(ctx, x, out, inplace)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        grad_src = None
        if ctx.needs_input_grad[1]:
            grad_src = IndexSelect.apply(grad, dim=ctx.dim, index=ctx.index)
            if ctx.alpha != 1:
                grad_src = grad_src * ctx.alpha
        return grad, grad_src


def _vector_index(name: str, x: Tensor, dim: int, index: Tensor) -> tuple[int, np.ndarray]:
    if not isinstance(index, Tensor) or index.dtype.name not in ("int64", "int32"):
        got = getattr(getattr(index, "dtype", None), "scalar_type", "?")
        raise RuntimeError(f"{name}(): Expected dtype int32 or int64 for index" if name ==
                           "index_select" else
                           f"{name}(): Expected dtype int32/int64 for index but got: {got}")
    if index._data.ndim > 1:
        if name == "index_select":
            raise IndexError("index_select(): Index is supposed to be a vector")
        raise IndexError(f"{name}(): Index is supposed to be a vector, but got dim: "
                         f"{index._data.ndim} with type: {index.dtype.scalar_type} and "
                         f"size: {list(index._data.shape)}")
    d = wrap_dim(dim, x._data.ndim)
    return d, index._data.astype(np.int64).reshape(-1)  # a copy, as above


def index_select(x: Tensor, dim: int, index: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The slices ``index[k]`` of ``x`` along ``dim`` (``index`` is 1-D)."""
    d, idx = _vector_index("index_select", x, dim, index)
    size = _as1d(x._data).shape[d]
    bad = (idx < 0) | (idx >= size)
    if bad.any():
        raise RuntimeError(f"INDICES element is out of DATA bounds, id={idx[bad][0]} "
                           f"axis_dim={size}")
    result = IndexSelect.apply(x, dim=d, index=idx)
    if out is None:
        return result
    return write_out("index_select", result, out, x, index, exact_dtype=True)


def _index_add(x: Tensor, dim: int, index: Tensor, source: Tensor, alpha: float,
               inplace: bool) -> Tensor:
    d, idx = _vector_index("index_add_", x, dim, index)
    xs, ss = _as1d(x._data).shape, _as1d(source._data).shape
    if source.dtype != x.dtype:
        raise RuntimeError(f"index_add_(): self ({x.dtype.scalar_type}) and source "
                           f"({source.dtype.scalar_type}) must have the same scalar type")
    if len(ss) != len(xs) or idx.size != ss[d]:
        raise RuntimeError(f"index_add_(): Number of indices ({idx.size}) should be equal to "
                           f"source.size(dim): ({ss[d] if d < len(ss) else 1}), for dim: {d}")
    if any(a != b for k, (a, b) in enumerate(zip(xs, ss, strict=True)) if k != d):
        raise RuntimeError("source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(x._data.shape)} "
                           f"source.shape = {list(source._data.shape)}")
    _check_bounds(idx, d, xs[d])
    if inplace:
        check_inplace(x, None, source)
        check_writeable(x)
    return IndexAdd.apply(x, source, dim=d, index=idx, alpha=alpha, inplace=inplace)


def index_add(x: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: float = 1) -> Tensor:
    """A copy of ``x`` with ``alpha * source`` slices added at ``index`` along ``dim``."""
    return _index_add(x, dim, index, source, alpha, False)


def index_add_(x: Tensor, dim: int, index: Tensor, source: Tensor, *,
               alpha: float = 1) -> Tensor:
    return _index_add(x, dim, index, source, alpha, True)


class IndexCopy(Function):
    """``out = x.clone(); out.select(dim, index[k]) = source.select(dim, k)``. d/dx: the
    gradient with the overwritten slices zeroed; d/dsource: the gradient slices at
    ``index`` (an ``index_select``)."""

    op_name = "index_copy"
    caption = ("{g} with the overwritten slices set to 0 : {s0}",
               "{g} selected at the indices : {s1}")

    @staticmethod
    def forward(ctx: Node, x: Tensor, source: Tensor, dim: int, index: np.ndarray,
                inplace: bool = False) -> Tensor:
        ctx.dim, ctx.index = dim, index
        out = x._data if inplace else x._data.copy()
        target = _as1d(out)
        src = _as1d(source._data)
        target[(slice(None),) * dim + (index,)] = src
        return _finish(ctx, x, out, inplace)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        grad_x = grad_src = None
        if ctx.needs_input_grad[0]:
            grad_x = index_fill(grad, ctx.dim, wrap(ctx.index), 0)
        if ctx.needs_input_grad[1]:
            grad_src = IndexSelect.apply(grad, dim=ctx.dim, index=ctx.index)
        return grad_x, grad_src


def _check_source(name: str, x: Tensor, d: int, idx: np.ndarray, source: Tensor) -> None:
    """index_copy / index_reduce: source has x's shape except ``len(index)`` along dim.
    torch's two ops check in the same order but raise different types (index_copy_ an
    IndexError for a wrong count or index, index_reduce_ a RuntimeError / IndexError)."""
    copy = name == "index_copy_"
    xs, ss = _as1d(x._data).shape, _as1d(source._data).shape
    if source.dtype != x.dtype:
        raise RuntimeError(f"{name}(): self and source expected to have the same dtype, but "
                           f"got (self) {x.dtype.scalar_type} and (source) "
                           f"{source.dtype.scalar_type}")
    if len(ss) != len(xs) or idx.size != ss[d]:
        message = (f"{name}(): Number of indices ({idx.size}) should be equal to "
                   f"source.size(dim){'' if copy else ':'} ({ss[d] if d < len(ss) else 1})"
                   + ("" if copy else f", for dim: {d}"))
        raise (IndexError if copy else RuntimeError)(message)
    if any(a != b for k, (a, b) in enumerate(zip(xs, ss, strict=True)) if k != d):
        raise RuntimeError(
            "source tensor shape must match self tensor shape, excluding the specified "
            f"dimension. Got self.shape = {list(x._data.shape)} source.shape = "
            f"{list(source._data.shape)}")
    bad = (idx < 0) | (idx >= xs[d])
    if bad.any():
        if copy:
            raise IndexError(f"index_copy_(): index {int(idx[bad][0])} is out of bounds for "
                             f"dimension {d} with size {xs[d]}")
        raise IndexError("index out of range in self")


def index_copy(x: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of ``x`` whose slices ``index[k]`` along ``dim`` are ``source``'s slice k."""
    d, idx = _vector_index("index_copy_", x, dim, index)
    _check_source("index_copy_", x, d, idx, source)
    return IndexCopy.apply(x, source, dim=d, index=idx)


def index_copy_(x: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    d, idx = _vector_index("index_copy_", x, dim, index)
    _check_source("index_copy_", x, d, idx, source)
    check_inplace(x, None, source)
    check_writeable(x)
    return IndexCopy.apply(x, source, dim=d, index=idx, inplace=True)


def index_fill(x: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """A copy of ``x`` with the slices ``index[k]`` along ``dim`` set to ``value`` (a number
    or a 0-d tensor, which then gets the gradient of every filled element): a
    ``masked_fill`` with the mask of those slices."""
    if not isinstance(index, Tensor) or index.dtype.name != "int64":
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    index = index.cpu()
    if isinstance(value, Tensor) and value._data.ndim:
        raise RuntimeError("index_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value._data.ndim} dimension(s).")
    if index._data.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    d = wrap_dim(dim, x._data.ndim)
    size = _as1d(x._data).shape[d]
    idx = index._data.reshape(-1)
    bad = (idx < -size) | (idx >= size)
    if bad.any():
        raise IndexError(f"index {int(idx[bad][0])} is out of bounds for dimension {d} with "
                         f"size {size}")
    mask = np.zeros(_as1d(x._data).shape, dtype=bool)
    mask[(slice(None),) * d + (np.where(idx < 0, idx + size, idx),)] = True
    # the index lives on the host; the mask goes where x is (one transfer for a GPU tensor)
    return masked_fill(x, wrap(move(mask.reshape(x._data.shape), x.device)), value)


def index_reduce(x: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True) -> Tensor:
    """A copy of ``x`` with each slice ``source[k]`` (along ``dim``) combined into slice
    ``index[k]`` by ``reduce`` ("prod", "mean", "amax", "amin"). It is ``scatter_reduce``
    with the 1-D index spread over the whole slice, and shares its backward."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError("index_reduce(): Expected reduce to be one of prod, mean, amax or "
                           f"amin but got {reduce}.")
    d, idx = _vector_index("index_reduce_", x, dim, index)
    _check_source("index_reduce_", x, d, idx, source)
    shape = _as1d(source._data).shape
    along = [1] * len(shape)
    along[d] = -1
    full = np.broadcast_to(idx.reshape(along), shape).copy()
    if source._data.ndim == 0:
        full = full.reshape(())
    return ScatterReduce.apply(x, source, dim=d, index=full, reduce=reduce,
                               include_self=include_self)


__all__ = ["index_select", "index_add", "index_copy", "index_fill", "index_reduce"]

METHODS = {"index_select": index_select, "index_add": index_add, "index_add_": index_add_,
           "index_copy": index_copy, "index_copy_": index_copy_, "index_fill": index_fill,
           "index_reduce": index_reduce}
