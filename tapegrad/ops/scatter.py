"""Gather/scatter ops: index along one dim with an index *tensor*, and mask ops.

    y = x.gather(dim, index)         y[i][j] = x[i][index[i][j]]        (dim=1)
    y = x.scatter_add(dim, index, s) y[i][index[i][j]] += s[i][j]

They are each other's backward: every element that ``gather`` reads sends its gradient
back to where it was read from, adding up when it was read several times (a
``scatter_add``); and ``scatter_add``'s gradient for ``s`` reads the output gradient at the
places ``s`` was added to (a ``gather``). ``index_select``/``index_add`` and
``masked_select``/``masked_scatter`` are the same pair with a 1-D index or a bool mask.
Indices never get gradients.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.ops._util import broadcast_shapes, check_inplace, wrap, wrap_dim
from tapegrad.ops.indexing import IndexPutImpl, IndexSpec, SliceScatter, check_writeable
from tapegrad.ops.shape import reshape
from tapegrad.tensor import Tensor

_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
               "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _as1d(a: np.ndarray) -> np.ndarray:
    # torch treats a 0-d tensor as one element along "dim 0" in these ops
    return a.reshape(1) if a.ndim == 0 else a


def _grid(index: np.ndarray, dim: int) -> tuple:
    """numpy key picking ``a[i0, .., index[i0, .., ik], .., in]`` for every index position."""
    nd = index.ndim
    key = []
    for d, n in enumerate(index.shape):
        if d == dim:
            key.append(index)
        else:
            shape = [1] * nd
            shape[d] = n
            key.append(np.arange(n).reshape(shape))
    return tuple(key)


def _pad_to(g: Tensor, shape: tuple) -> Tensor:
    """Zero-pad ``g`` at the end of each dim up to ``shape`` (src larger than index)."""
    cur = list(g._data.shape)
    for d, n in enumerate(shape):
        if cur[d] != n:
            stop = cur[d]
            cur[d] = n
            g = SliceScatter.apply(g, shape=tuple(cur), dim=d, start=0, stop=stop, step=1)
    return g


def _int_index(name: str, index: Tensor) -> np.ndarray:
    if not isinstance(index, Tensor) or index.dtype.name not in ("int64", "int32"):
        raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index")
    return index._data.astype(np.int64)  # a copy: backward must not see later edits


def _check_bounds(index: np.ndarray, dim: int, size: int) -> None:
    bad = (index < 0) | (index >= size)
    if bad.any():
        raise RuntimeError(f"index {index[bad].flat[0]} is out of bounds for dimension {dim} "
                           f"with size {size}")


def _check_scatter_like(name: str, x: Tensor, dim: int, index: Tensor,
                        src: Tensor | None, value_form: bool) -> tuple[int, np.ndarray]:
    """torch's shape, dtype and bounds checks of gather/scatter/scatter_add."""
    idx = _int_index(name, index)
    xs = x._data.shape
    d = wrap_dim(dim, len(xs))
    if idx.ndim != len(xs):
        who = "input" if name == "gather" else "self"
        raise RuntimeError(f"Index tensor must have the same number of dimensions as {who} "
                           "tensor")
    too_big = [k for k in range(idx.ndim) if k != d and idx.shape[k] > xs[k]]
    if name == "gather" and too_big:
        raise RuntimeError(
            f"Size does not match at dimension {too_big[0]} expected index {list(idx.shape)} "
            f"to be no larger than self {list(xs)} apart from dimension {d}")
    if src is not None:
        if src.dtype != x.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
        ss = src._data.shape
        if len(ss) != len(xs) or too_big or any(i > s for i, s in zip(idx.shape, ss,
                                                                        strict=True)):
            raise RuntimeError(
                f"Expected index {list(idx.shape)} to be no larger than self {list(xs)} apart "
                f"from dimension {d} and to be no larger size than src {list(ss)}")
    elif value_form and too_big:
        raise RuntimeError(f"Expected index {list(idx.shape)} to be no larger than self "
                           f"{list(xs)} apart from dimension {d}")
    _check_bounds(idx, d, xs[d] if xs else 1)
    return d, idx


class Gather(Function):
    """``out[..i.., j, ..k..] = x[..i.., index[..i.., j, ..k..], ..k..]`` along ``dim``.
    Backward: zeros of x's shape, the gradient scatter-added at the read positions."""

    node_name = "GatherBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int, index: np.ndarray) -> Tensor:
        ctx.input_shape, ctx.dim, ctx.index = x._data.shape, dim, index
        out = _as1d(x._data)[_grid(_as1d(index), dim)]
        return wrap(out.reshape(index.shape))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        zeros = wrap(np.zeros(ctx.input_shape, dtype=grad._data.dtype))
        return ScatterAdd.apply(zeros, grad, dim=ctx.dim, index=ctx.index)


class ScatterAdd(Function):
    """``out = x.clone(); out[..., index[p], ...] += src[p]`` for every index position p.
    d/dx: the gradient; d/dsrc: the gradient gathered at the positions written to."""

    node_name = "ScatterAddBackward0"
    op_name = "scatter_add"

    @staticmethod
    def forward(ctx: Node, x: Tensor, src: Tensor, dim: int, index: np.ndarray,
                inplace: bool = False) -> Tensor:
        ctx.dim, ctx.index, ctx.src_shape = dim, index, src._data.shape
        out = x._data if inplace else x._data.copy()
        idx = _as1d(index)
        part = _as1d(src._data)[tuple(slice(0, n) for n in idx.shape)]
        np.add.at(_as1d(out), _grid(idx, dim), part)
        return _finish(ctx, x, out, inplace)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        grad_src = None
        if ctx.needs_input_grad[1]:
            grad_src = _pad_to(Gather.apply(grad, dim=ctx.dim, index=ctx.index), ctx.src_shape)
        return grad, grad_src


class Scatter(Function):
    """``out = x.clone(); out[..., index[p], ...] = src[p]``. d/dx: the gradient with the
    overwritten positions zeroed; d/dsrc: the gradient gathered at those positions."""

    node_name = "ScatterBackward0"
    op_name = "scatter"

    @staticmethod
    def forward(ctx: Node, x: Tensor, src: Any, dim: int, index: np.ndarray,
                inplace: bool = False) -> Tensor:
        ctx.dim, ctx.index = dim, index
        ctx.src_shape = src._data.shape if isinstance(src, Tensor) else None
        out = x._data if inplace else x._data.copy()
        idx = _as1d(index)
        if isinstance(src, Tensor):
            src = _as1d(src._data)[tuple(slice(0, n) for n in idx.shape)]
        _as1d(out)[_grid(idx, dim)] = src
        return _finish(ctx, x, out, inplace)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        grad_x = grad_src = None
        if ctx.needs_input_grad[0]:
            keep = np.ones(grad._data.shape, dtype=grad._data.dtype)
            _as1d(keep)[_grid(_as1d(ctx.index), ctx.dim)] = 0
            grad_x = grad * wrap(keep)
        if len(ctx.needs_input_grad) > 1 and ctx.needs_input_grad[1]:
            grad_src = _pad_to(Gather.apply(grad, dim=ctx.dim, index=ctx.index), ctx.src_shape)
        return grad_x, grad_src


class ScatterValue(Scatter):
    node_name = "ScatterBackward1"
    op_name = "scatter"


def _finish(ctx: Node, x: Tensor, out: np.ndarray, inplace: bool) -> Tensor:
    if not inplace:
        return wrap(out)
    x._bump_version()
    ctx.mark_dirty(x)
    return x


def gather(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """Pick, along ``dim``, the element named by ``index`` at every position of ``index``."""
    d, idx = _check_scatter_like("gather", x, dim, index, None, False)
    return Gather.apply(x, dim=d, index=idx)


def _scatter(x: Tensor, dim: int, index: Tensor, src: Any, add: bool, inplace: bool,
             reduce: str | None = None) -> Tensor:
    if reduce is not None:
        raise NotImplementedError("scatter(reduce=...) is not supported; use scatter_add")
    is_tensor = isinstance(src, Tensor)
    d, idx = _check_scatter_like("scatter", x, dim, index, src if is_tensor else None, True)
    if inplace:
        check_inplace(x)
        check_writeable(x)
    if add:
        return ScatterAdd.apply(x, src, dim=d, index=idx, inplace=inplace)
    cls = Scatter if is_tensor else ScatterValue
    return cls.apply(x, src, dim=d, index=idx, inplace=inplace)


def scatter(x: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
            reduce: str | None = None) -> Tensor:
    """A copy of ``x`` with ``src`` (a tensor, or a number ``value``) written along ``dim``
    at the positions named by ``index``."""
    return _scatter(x, dim, index, value if src is None else src, False, False, reduce)


def scatter_(x: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
             reduce: str | None = None) -> Tensor:
    """In-place ``scatter`` (e.g. one-hot: ``zeros(n, c).scatter_(1, y[:, None], 1.0)``)."""
    return _scatter(x, dim, index, value if src is None else src, False, True, reduce)


def scatter_add(x: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``x`` with ``src`` *added* along ``dim`` at ``index`` (repeats add up)."""
    return _scatter(x, dim, index, src, True, False)


def scatter_add_(x: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    return _scatter(x, dim, index, src, True, True)


class IndexSelect(Function):
    """The slices ``index[0], index[1], ...`` along ``dim`` (a copy). Backward: zeros with
    the gradient slices added back at those indices (``index_add``)."""

    node_name = "IndexSelectBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int, index: np.ndarray) -> Tensor:
        ctx.input_shape, ctx.dim, ctx.index = x._data.shape, dim, index
        out = np.take(_as1d(x._data), index, axis=dim)
        return wrap(out.reshape(()) if x._data.ndim == 0 else out)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        zeros = wrap(np.zeros(ctx.input_shape, dtype=grad._data.dtype))
        return IndexAdd.apply(zeros, grad, dim=ctx.dim, index=ctx.index)


class IndexAdd(Function):
    """``out = x.clone(); out.select(dim, index[k]) += alpha * source.select(dim, k)``.
    d/dx: the gradient; d/dsource: ``alpha`` times the gradient slices at ``index``."""

    node_name = "IndexAddBackward0"
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
        got = _TYPE_NAMES.get(getattr(index, "dtype", None) and index.dtype.name, "?")
        raise RuntimeError(f"{name}(): Expected dtype int32 or int64 for index" if name ==
                           "index_select" else
                           f"{name}(): Expected dtype int32/int64 for index but got: {got}")
    if index._data.ndim > 1:
        if name == "index_select":
            raise IndexError("index_select(): Index is supposed to be a vector")
        raise IndexError(f"{name}(): Index is supposed to be a vector, but got dim: "
                         f"{index._data.ndim} with type: {_TYPE_NAMES[index.dtype.name]} and "
                         f"size: {list(index._data.shape)}")
    d = wrap_dim(dim, x._data.ndim)
    return d, index._data.astype(np.int64).reshape(-1)  # a copy, as above


def index_select(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices ``index[k]`` of ``x`` along ``dim`` (``index`` is 1-D)."""
    d, idx = _vector_index("index_select", x, dim, index)
    size = _as1d(x._data).shape[d]
    bad = (idx < 0) | (idx >= size)
    if bad.any():
        raise RuntimeError(f"INDICES element is out of DATA bounds, id={idx[bad][0]} "
                           f"axis_dim={size}")
    return IndexSelect.apply(x, dim=d, index=idx)


def _index_add(x: Tensor, dim: int, index: Tensor, source: Tensor, alpha: float,
               inplace: bool) -> Tensor:
    d, idx = _vector_index("index_add_", x, dim, index)
    xs, ss = _as1d(x._data).shape, _as1d(source._data).shape
    if source.dtype != x.dtype:
        raise RuntimeError(f"index_add_(): self ({_TYPE_NAMES[x.dtype.name]}) and source "
                           f"({_TYPE_NAMES[source.dtype.name]}) must have the same scalar type")
    if len(ss) != len(xs) or idx.size != ss[d]:
        raise RuntimeError(f"index_add_(): Number of indices ({idx.size}) should be equal to "
                           f"source.size(dim): ({ss[d] if d < len(ss) else 1}), for dim: {d}")
    if any(a != b for k, (a, b) in enumerate(zip(xs, ss, strict=True)) if k != d):
        raise RuntimeError("source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(x._data.shape)} "
                           f"source.shape = {list(source._data.shape)}")
    _check_bounds(idx, d, xs[d])
    if inplace:
        check_inplace(x)
        check_writeable(x)
    return IndexAdd.apply(x, source, dim=d, index=idx, alpha=alpha, inplace=inplace)


def index_add(x: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: float = 1) -> Tensor:
    """A copy of ``x`` with ``alpha * source`` slices added at ``index`` along ``dim``."""
    return _index_add(x, dim, index, source, alpha, False)


def index_add_(x: Tensor, dim: int, index: Tensor, source: Tensor, *,
               alpha: float = 1) -> Tensor:
    return _index_add(x, dim, index, source, alpha, True)


class Take(Function):
    """``x.reshape(-1)[index]``: elements by flat position. Backward: scatter-add the
    gradient into zeros at those flat positions."""

    node_name = "TakeBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor, index: np.ndarray) -> Tensor:
        ctx.input_shape, ctx.index = x._data.shape, index
        return wrap(x._data.reshape(-1)[index])

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        n = int(np.prod(ctx.input_shape))
        zeros = wrap(np.zeros(n, dtype=grad._data.dtype))
        flat = IndexPutImpl.apply(zeros, grad, spec=IndexSpec((), (ctx.index,)),
                                  accumulate=True)
        return reshape(flat, ctx.input_shape)


def take(x: Tensor, index: Tensor) -> Tensor:
    """Elements of ``x`` seen as 1-D, at ``index`` (negative counts from the end)."""
    if index.dtype.name != "int64":
        raise RuntimeError("take(): Expected a long tensor for index, but got "
                           f"{_TYPE_NAMES[index.dtype.name]}")
    idx, n = index._data, x._data.size
    bad = (idx < -n) | (idx >= n)
    if bad.any():
        raise IndexError(f"out of range: tried to access index {idx[bad].flat[0]} on a tensor "
                         f"of {n} elements.")
    return Take.apply(x, index=np.where(idx < 0, idx + n, idx))


def take_along_dim(x: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """numpy's ``take_along_axis``: ``gather`` after broadcasting x and indices in every dim
    but ``dim`` (with ``dim=None``, both are flattened first)."""
    if indices.dtype.name != "int64":
        raise RuntimeError("tapegrad.take_along_dim(): dtype of indices should be Long but "
                           f"got {_TYPE_NAMES[indices.dtype.name]}")
    if dim is None:
        return gather(reshape(x, -1), 0, reshape(indices, -1))
    if x._data.ndim != indices._data.ndim:
        raise RuntimeError(
            "tapegrad.take_along_dim(): input and indices should have the same number of "
            f"dimensions, but got {x._data.ndim} dimensions for input, and "
            f"{indices._data.ndim} dimensions for indices")
    d = wrap_dim(dim, x._data.ndim)
    xs = list(x._data.shape)
    xs[d] = indices._data.shape[d]
    shape = list(broadcast_shapes(tuple(xs), indices._data.shape))
    idx = indices.expand(tuple(shape))
    shape[d] = x._data.shape[d]
    return gather(x.expand(tuple(shape)), d, idx)


def nonzero(x: Tensor, *, as_tuple: bool = False) -> Tensor | tuple:
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one 1-D tensor per
    dim with ``as_tuple=True``. Not differentiable (indices have no gradient)."""
    if not as_tuple:
        return wrap(np.argwhere(x._data).astype(np.int64))
    if x._data.ndim == 0:
        return (wrap(np.zeros(1 if x._data else 0, dtype=np.int64)),)
    return tuple(wrap(a.astype(np.int64)) for a in np.nonzero(x._data))


def argwhere(x: Tensor) -> Tensor:
    return nonzero(x)
# ---------------------------------------------------------------- masks
_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
            "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char"}


class MaskedFill(Function):
    """Put ``value`` where ``mask`` is True. d/dx: the gradient where the mask is False
    (zero where x was overwritten); d/dvalue (a 0-d tensor): the sum of the gradient over
    the filled positions."""

    node_name = "MaskedFillBackward0"
    op_name = "masked_fill"

    @staticmethod
    def forward(ctx: Node, x: Tensor, value: Any, mask: np.ndarray,
                inplace: bool = False) -> Tensor:
        ctx.mask = mask
        val = np.asarray(value._data if isinstance(value, Tensor) else value)
        if inplace:
            np.copyto(x._data, val, casting="unsafe", where=mask)
            x._bump_version()
            ctx.mark_dirty(x)
            return x
        return wrap(np.where(mask, val.astype(x._data.dtype), x._data))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        dt = grad._data.dtype
        grad_x = grad * wrap((~ctx.mask).astype(dt)) if ctx.needs_input_grad[0] else None
        grad_v = None
        if len(ctx.needs_input_grad) > 1 and ctx.needs_input_grad[1]:
            grad_v = (grad * wrap(ctx.mask.astype(dt))).sum_to_size(())
        return grad_x, grad_v


class MaskedFillTensor(MaskedFill):
    node_name = "MaskedFillBackward1"
    op_name = "masked_fill"


def _mask_of(x: Tensor, mask: Tensor, value: Any) -> np.ndarray:
    if mask.dtype.name != "bool":
        raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{_C_NAMES.get(mask.dtype.name, mask.dtype.name)}")
    if isinstance(value, Tensor) and value._data.ndim != 0:
        raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value._data.ndim} dimension(s).")
    return mask._data.copy()  # backward must not see later edits of the mask


def masked_fill(x: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``value`` where ``mask`` (bool, broadcast with x) is True, else ``x``."""
    m = _mask_of(x, mask, value)
    shape = broadcast_shapes(m.shape, x._data.shape)
    cls = MaskedFillTensor if isinstance(value, Tensor) else MaskedFill
    return cls.apply(x, value, mask=np.broadcast_to(m, shape))


def masked_fill_(x: Tensor, mask: Tensor, value: Any) -> Tensor:
    """In-place ``masked_fill``; the mask must broadcast to x's shape."""
    m = _mask_of(x, mask, value)
    check_inplace(x, broadcast_shapes(m.shape, x._data.shape))
    check_writeable(x)
    cls = MaskedFillTensor if isinstance(value, Tensor) else MaskedFill
    return cls.apply(x, value, mask=np.broadcast_to(m, x._data.shape), inplace=True)


class MaskedSelect(Function):
    """The elements where ``mask`` is True, as a 1-D copy. Backward scatters the gradient
    back to those positions (zeros elsewhere)."""

    node_name = "MaskedSelectBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor, mask: np.ndarray) -> Tensor:
        ctx.mask = mask
        return wrap(np.broadcast_to(x._data, mask.shape)[mask])

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return MaskedScatter.apply(grad, mask=ctx.mask)


class MaskedScatter(Function):
    """masked_select's backward as an op: zeros with ``source`` written where mask is True."""

    node_name = "MaskedScatterBackward0"
    op_name = "masked_scatter"

    @staticmethod
    def forward(ctx: Node, source: Tensor, mask: np.ndarray) -> Tensor:
        ctx.mask = mask
        out = np.zeros(mask.shape, dtype=source._data.dtype)
        out[mask] = source._data
        return wrap(out)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return MaskedSelect.apply(grad, mask=ctx.mask)


def masked_select(x: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``x`` where ``mask`` is True (both broadcast), as a 1-D tensor."""
    if mask.dtype.name != "bool":
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shape = broadcast_shapes(mask._data.shape, x._data.shape)
    return MaskedSelect.apply(x, mask=np.broadcast_to(mask._data.copy(), shape))


__all__ = ["gather", "scatter", "scatter_add", "index_select", "index_add", "take",
           "take_along_dim", "nonzero", "argwhere", "masked_fill", "masked_select"]

METHODS = {
    "gather": gather, "scatter": scatter, "scatter_": scatter_, "scatter_add": scatter_add,
    "scatter_add_": scatter_add_, "index_select": index_select, "index_add": index_add,
    "index_add_": index_add_, "take": take, "take_along_dim": take_along_dim,
    "nonzero": nonzero, "argwhere": argwhere, "masked_fill": masked_fill,
    "masked_fill_": masked_fill_, "masked_select": masked_select,
}
