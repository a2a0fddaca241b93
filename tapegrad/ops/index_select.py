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

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.ops._util import check_inplace, wrap, wrap_dim
from tapegrad.ops.out_arg import write_out
from tapegrad.ops.scatter import _as1d, _check_bounds, _finish
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
        np.add.at(_as1d(out), (slice(None),) * dim + (index,), src if alpha == 1 else src * alpha)
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


__all__ = ["index_select", "index_add"]

METHODS = {"index_select": index_select, "index_add": index_add, "index_add_": index_add_}
