"""Gather/scatter: read and write along one dim at the positions an index *tensor* names.

    y = x.gather(dim, index)         y[i][j] = x[i][index[i][j]]        (dim=1)
    y = x.scatter_add(dim, index, s) y[i][index[i][j]] += s[i][j]

They are each other's backward: every element that ``gather`` reads sends its gradient
back to where it was read from, adding up when it was read several times (a
``scatter_add``); and ``scatter_add``'s gradient for ``s`` reads the output gradient at the
places ``s`` was added to (a ``gather``). ``scatter`` *overwrites* instead of adding, so the
overwritten positions of ``x`` get no gradient. ``take`` (flat positions) and
``take_along_dim`` (``gather`` after broadcasting) are gathers too. Indices never get
gradients. The same pair with a 1-D index is in `tapegrad.ops.index_select`, with a bool
mask in `tapegrad.ops.masking`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.ops._util import broadcast_shapes, check_inplace, wrap, wrap_dim
from tapegrad.ops.comparison import where
from tapegrad.ops.index_spec import IndexSpec
from tapegrad.ops.indexing import IndexPutImpl, SliceScatter
from tapegrad.ops.out_arg import write_out
from tapegrad.ops.setitem import check_writeable
from tapegrad.ops.shape import reshape
from tapegrad.tensor import Tensor


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
    if not xs and idx.ndim == 1:  # a 0-d input counts as 1-D (one element)
        xs = (1,)
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

    caption = ('{g} scattered (added) back where it was gathered from ({opts}) : {sg} → {s0}',)

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int, index: np.ndarray) -> Tensor:
        ctx.input_shape, ctx.dim, ctx.index = x._data.shape, dim, index
        if index.size == 0:
            return wrap(np.zeros(index.shape, dtype=x._data.dtype, like=x._data))
        out = _as1d(x._data)[_grid(_as1d(index), dim)]
        return wrap(out.reshape(index.shape))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        zeros = wrap(np.zeros(ctx.input_shape, dtype=grad._data.dtype, like=grad._data))
        return ScatterAdd.apply(zeros, grad, dim=ctx.dim, index=ctx.index)


class ScatterAdd(Function):
    """``out = x.clone(); out[..., index[p], ...] += src[p]`` for every index position p.
    d/dx: the gradient; d/dsrc: the gradient gathered at the positions written to."""

    caption = ('{g} unchanged : {s0}',
               '0 (indices have no gradient)',
               '{g} gathered at the indices : {s2}')
    op_name = "scatter_add"

    @staticmethod
    def forward(ctx: Node, x: Tensor, src: Tensor, dim: int, index: np.ndarray,
                inplace: bool = False) -> Tensor:
        ctx.dim, ctx.index, ctx.src_shape = dim, index, src._data.shape
        out = x._data if inplace else x._data.copy()
        idx = _as1d(index)
        if idx.size:
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

    caption = ('{g} where nothing was scattered over : {s0}',
               '0 (indices have no gradient)',
               '{g} gathered at the indices : {s2}')
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
            keep = np.ones(grad._data.shape, dtype=grad._data.dtype, like=grad._data)
            _as1d(keep)[_grid(_as1d(ctx.index), ctx.dim)] = 0
            grad_x = grad * wrap(keep)
        if len(ctx.needs_input_grad) > 1 and ctx.needs_input_grad[1]:
            grad_src = _pad_to(Gather.apply(grad, dim=ctx.dim, index=ctx.index), ctx.src_shape)
        return grad_x, grad_src


class ScatterValue(Scatter):
    node_name = "ScatterBackward1"
    op_name = "scatter"


_REDUCE_UFUNCS = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.fmax,
                  "amin": np.fmin}


def _identity(reduce: str, np_dtype: np.dtype) -> Any:
    """The starting value of a reduction that leaves ``self`` out (``include_self=False``):
    0 for sum/mean, 1 for prod, the dtype's lowest value for amax and highest for amin."""
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if np_dtype.kind == "b":
        return reduce == "amin"
    if np_dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    info = np.iinfo(np_dtype)
    return info.min if reduce == "amax" else info.max


class ScatterReduce(Function):
    """``out = x.clone()``, then every ``src[p]`` is combined into ``out[.., index[p], ..]``
    by ``reduce`` (sum, prod, mean, amax, amin); with ``include_self=False`` the old value
    of a position written to takes no part. Positions never written keep ``x``.

    Backward, per target position t with the values v_1..v_n combined into it:

    * sum: every v_i gets ``grad[t]``;  mean: ``grad[t] / n``;
    * prod: ``grad[t] * out[t] / v_i`` (the product of the *others*);
    * amax / amin: the values equal to the result share ``grad[t]`` evenly (torch's rule).

    The masks and counts are constants of the forward; the rest are recorded ops, so
    second derivatives work (prod recomputes ``out`` with this op to stay differentiable).
    """

    op_name = "scatter_reduce"
    caption = ("{g} where nothing was combined in; where values were, as the reduction "
               "says (sum 1, mean 1/n, prod the other factors, amax/amin the ties) : {s0}",
               "{g} gathered at the indices, times the same factor : {s1}")

    @staticmethod
    def forward(ctx: Node, x: Tensor, src: Tensor, dim: int, index: np.ndarray, reduce: str,
                include_self: bool = True, inplace: bool = False) -> Tensor:
        if reduce in ("amax", "amin"):
            ctx.extremum_inputs = (x._data.copy(), src._data.copy())  # later edits must not leak in
        out = x._data if inplace else x._data.copy()
        target, idx = _as1d(out), _as1d(index)
        grid = _grid(idx, dim)
        part = _as1d(src._data)[tuple(slice(0, n) for n in idx.shape)]
        hits = np.zeros(target.shape, dtype=np.int64)
        np.add.at(hits, grid, 1)
        written = hits > 0
        if not include_self:
            target[written] = _identity(reduce, target.dtype)
        ufunc = _REDUCE_UFUNCS[reduce]
        if reduce in ("amax", "amin") and target.dtype.kind == "f":
            # NaN wins, as in torch: fmax skips NaN, so mark the NaN targets separately
            nan_at = np.zeros(target.shape, dtype=bool)
            np.logical_or.at(nan_at, grid, np.isnan(part))
            ufunc.at(target, grid, part)
            target[nan_at] = np.nan
        else:
            ufunc.at(target, grid, part)
        count = hits + (1 if include_self else 0)
        if reduce == "mean":
            safe = np.maximum(count, 1)
            if target.dtype.kind == "f":
                target[...] = target / safe
            else:
                target[...] = np.floor_divide(target, safe)
        ctx.args = (dim, index, reduce, include_self, written, count, src._data.shape)
        if reduce in ("amax", "amin"):
            ctx.result = target.copy().reshape(out.shape)
        if reduce == "prod":
            ctx.save_for_backward(x, src)
        return _finish(ctx, x, out, inplace)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        dim, index, reduce, include_self, written, count, src_shape = ctx.args
        g = grad._data
        dt = g.dtype

        def const(a: np.ndarray) -> Tensor:
            return wrap(np.asarray(a, dtype=dt).reshape(g.shape))

        def gathered(t: Tensor) -> Tensor:
            return _pad_to(Gather.apply(t, dim=dim, index=index), src_shape)

        keep_self = np.ones(written.shape, dtype=bool) if include_self else ~written
        if reduce == "sum":
            return grad * const(keep_self), gathered(grad)
        if reduce == "mean":
            share = grad * const(1.0 / np.maximum(count, 1))
            return share * const(keep_self), gathered(share)
        if reduce in ("amax", "amin"):
            return _extremum_grads(ctx, grad, ctx.result, keep_self, const, gathered)
        return _prod_grads(ctx, grad, written, keep_self, const, gathered)


def _prod_grads(ctx: Node, grad: Tensor, written: np.ndarray, keep_self: np.ndarray,
                const: Any, gathered: Any) -> tuple:
    """prod: d out / d v_i is the product of the *other* factors. Dividing ``out`` by
    ``v_i`` gives it unless ``v_i`` is 0, so (as torch does) each factor's zeros are
    replaced by 1 and the product recomputed: for a lone zero that is exactly the product
    of the others; with two zeros or more the true derivative is 0, and ``out = 0`` gives
    that. The recomputations are this op again, so the result stays differentiable."""
    dim, index, _, include_self, _, _, src_shape = ctx.args
    x, src = ctx.saved_tensors
    part = src
    for d, n in enumerate(index.shape):
        if part.ndim and part.shape[d] != n:
            part = part.narrow(d, 0, n)

    def prod(a: Tensor, b: Tensor) -> Tensor:
        return ScatterReduce.apply(a, b, dim=dim, index=index, reduce="prod",
                                   include_self=include_self)

    masked_x = x.masked_fill(wrap(x._data == 0), 1)
    grad_x = grad * const(~written) + grad * prod(masked_x, part) / masked_x * const(
        written & keep_self)
    idx = _as1d(index)
    grid = _grid(idx, dim)
    src_zero = _as1d(part._data) == 0
    zeros_at = np.zeros(_as1d(x._data).shape, dtype=np.int64)
    np.add.at(zeros_at, grid, src_zero)
    single = (src_zero & (zeros_at[grid] == 1)).reshape(part.shape)
    with_ones = prod(x, part.masked_fill(wrap(single), 1))
    plain = Gather.apply(grad * prod(x, part), dim=dim, index=index) / part.masked_fill(
        wrap(src_zero.reshape(part.shape)), 1)
    lone = Gather.apply(grad * with_ones, dim=dim, index=index)
    grad_part = where(wrap(single), lone, plain)
    return grad_x, _pad_to(grad_part, src_shape)


def _extremum_grads(ctx: Node, grad: Tensor, result: np.ndarray, keep_self: np.ndarray,
                    const: Any, gathered: Any) -> tuple:
    """amax/amin: the inputs equal to the result share its gradient evenly."""
    dim, index, _, _, _, _, src_shape = ctx.args
    x_vals, src_vals = ctx.extremum_inputs
    idx = _as1d(index)
    grid = _grid(idx, dim)
    part = _as1d(src_vals)[tuple(slice(0, n) for n in idx.shape)]
    res = _as1d(result)
    hit_x = (_as1d(x_vals) == res) & _as1d(keep_self)
    hit_src = part == res[grid]
    ties = hit_x.astype(np.int64)
    np.add.at(ties, grid, hit_src.astype(np.int64))
    share = grad * const(1.0 / np.maximum(ties, 1).reshape(result.shape))
    grad_x = share * const(hit_x.reshape(result.shape))
    mask_src = np.zeros(src_shape, dtype=grad._data.dtype)
    mask_src[tuple(slice(0, n) for n in index.shape)] = hit_src.reshape(index.shape)
    return grad_x, gathered(share) * wrap(mask_src)


def _finish(ctx: Node, x: Tensor, out: np.ndarray, inplace: bool) -> Tensor:
    if not inplace:
        return wrap(out)
    x._bump_version()
    ctx.mark_dirty(x)
    return x


def gather(x: Tensor, dim: int, index: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Pick, along ``dim``, the element named by ``index`` at every position of ``index``.
    As in torch, an empty index is accepted whatever its dtype and number of dims (the
    result is empty), and a 0-d ``x`` counts as 1-D."""
    if isinstance(index, Tensor) and index._data.size == 0:
        d = wrap_dim(dim, max(x._data.ndim, 1))
        result = Gather.apply(x, dim=d, index=np.zeros(index._data.shape, dtype=np.int64,
                                                               like=x._data))
    else:
        d, idx = _check_scatter_like("gather", x, dim, index, None, False)
        result = Gather.apply(x, dim=d, index=idx)
    if out is None:
        return result
    return write_out("gather", result, out, x, index, exact_dtype=True)


def _scatter(x: Tensor, dim: int, index: Tensor, src: Any, add: bool, inplace: bool,
             reduce: str | None = None) -> Tensor:
    if reduce is not None:
        # the legacy form: scatter(..., reduce="add" | "multiply") combines instead of writing
        if reduce not in ("add", "multiply"):
            raise RuntimeError(f"reduce argument must be either add or multiply. Got {reduce}")
        if not isinstance(src, Tensor):
            idx = _int_index("scatter", index)
            src = wrap(np.full(idx.shape, src, dtype=x._data.dtype))
        return _scatter_reduce(x, dim, index, src, "sum" if reduce == "add" else "prod", True,
                               inplace)
    is_tensor = isinstance(src, Tensor)
    d, idx = _check_scatter_like("scatter", x, dim, index, src if is_tensor else None, True)
    if inplace:
        check_inplace(x, None, src)
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


def _scatter_reduce(x: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str,
                    include_self: bool, inplace: bool) -> Tensor:
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)  # torch takes both spellings
    if reduce not in _REDUCE_UFUNCS:
        raise RuntimeError("reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    d, idx = _check_scatter_like("scatter", x, dim, index, src, True)
    if inplace:
        check_inplace(x, None, src)
        check_writeable(x)
    return ScatterReduce.apply(x, src, dim=d, index=idx, reduce=reduce,
                               include_self=include_self, inplace=inplace)


def scatter_reduce(x: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """A copy of ``x`` with each ``src[p]`` combined into ``x[.., index[p], ..]`` by
    ``reduce`` ("sum", "prod", "mean", "amax", "amin"); ``include_self=False`` leaves the
    old values of the positions written to out of the reduction."""
    return _scatter_reduce(x, dim, index, src, reduce, include_self, False)


def scatter_reduce_(x: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                    include_self: bool = True) -> Tensor:
    return _scatter_reduce(x, dim, index, src, reduce, include_self, True)


def scatter_add(x: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``x`` with ``src`` *added* along ``dim`` at ``index`` (repeats add up)."""
    return _scatter(x, dim, index, src, True, False)


def scatter_add_(x: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    return _scatter(x, dim, index, src, True, True)


class Take(Function):
    """``x.reshape(-1)[index]``: elements by flat position. Backward: scatter-add the
    gradient into zeros at those flat positions."""

    caption = ('{g} added into zeros at the taken places : {sg} → {s0}',)

    @staticmethod
    def forward(ctx: Node, x: Tensor, index: np.ndarray) -> Tensor:
        ctx.input_shape, ctx.index = x._data.shape, index
        return wrap(x._data.reshape(-1)[index])

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        n = int(np.prod(ctx.input_shape))
        zeros = wrap(np.zeros(n, dtype=grad._data.dtype, like=grad._data))
        flat = IndexPutImpl.apply(zeros, grad, spec=IndexSpec((), (ctx.index,)),
                                  accumulate=True)
        return reshape(flat, ctx.input_shape)


def take(x: Tensor, index: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Elements of ``x`` seen as 1-D, at ``index`` (negative counts from the end)."""
    if index.dtype.name != "int64":
        raise RuntimeError("take(): Expected a long tensor for index, but got "
                           f"{index.dtype.scalar_type}")
    idx, n = index._data, x._data.size
    bad = (idx < -n) | (idx >= n)
    if bad.any():
        raise IndexError(f"out of range: tried to access index {idx[bad].flat[0]} on a tensor "
                         f"of {n} elements.")
    result = Take.apply(x, index=np.where(idx < 0, idx + n, idx))
    return result if out is None else write_out("take", result, out, x, index,
                                                          exact_dtype=True)


def put(x: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``x`` with ``source``'s elements written (or, with ``accumulate``, added)
    at the flat positions ``index`` (negative counts from the end): ``take``'s mirror. It
    is an ``index_put`` on ``x`` seen as 1-D, so its backward is index_put's."""
    if index.dtype.name != "int64":
        raise RuntimeError("put_(): Expected a long tensor for index, but got "
                           f"{index.dtype.scalar_type}")
    if source.dtype != x.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {x.dtype.scalar_type} and source.dtype = "
                           f"{source.dtype.scalar_type}")
    if index._data.size != source._data.size:
        raise IndexError(f"put_(): Expected source and index to have the same number of "
                           f"elements, but got source.numel() = {source._data.size}, "
                           f"index.numel() = {index._data.size}")
    idx, n = index._data.reshape(-1), x._data.size
    bad = (idx < -n) | (idx >= n)
    if bad.any():
        raise IndexError(f"out of range: tried to access index {idx[bad][0]} on a tensor of "
                         f"{n} elements.")
    flat_index = np.where(idx < 0, idx + n, idx)
    out = IndexPutImpl.apply(reshape(x, -1), reshape(source, -1),
                             spec=IndexSpec((), (flat_index,)), accumulate=accumulate)
    return reshape(out, x._data.shape)


def unravel_index(indices: Tensor, shape: Any) -> tuple:
    """Flat positions to coordinates in ``shape``: one int64 tensor per dim, each of the
    indices' shape. Coordinate k is ``(i // prod(shape[k+1:])) % shape[k]``: as in torch's
    formula, an index outside the shape wraps around (a negative one counts from the end)."""
    if not isinstance(indices, Tensor):
        raise TypeError(f"expected 'indices' to be a tensor, but got {type(indices)}")
    if indices.dtype.is_floating_point or indices.dtype.name == "bool":
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    dims = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if any(d < 0 for d in dims):
        raise ValueError(f"'shape' cannot have negative values, but got {dims}")
    total = int(np.prod(dims, dtype=object)) if dims else 1
    idx = indices._data.astype(np.int64)
    out, stride = [], total
    for d in dims:
        stride = stride // d if d else 0
        out.append(wrap(np.mod(np.floor_divide(idx, stride), d) if d and stride
                        else np.zeros_like(idx)))
    return tuple(out)


def _from_end(indices: Tensor, size: int) -> Tensor:
    """take_along_dim counts negative indices from the end (gather does not)."""
    data = indices._data
    if not (data < 0).any():
        return indices
    return wrap(np.where(data < 0, data + size, data))


def take_along_dim(x: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """numpy's ``take_along_axis``: ``gather`` after broadcasting x and indices in every dim
    but ``dim`` (with ``dim=None``, both are flattened first)."""
    if indices.dtype.name != "int64":
        raise RuntimeError("tapegrad.take_along_dim(): dtype of indices should be Long but "
                           f"got {indices.dtype.scalar_type}")
    if dim is None:
        return gather(reshape(x, -1), 0, _from_end(reshape(indices, -1), x._data.size))
    if x._data.ndim != indices._data.ndim:
        raise RuntimeError(
            "tapegrad.take_along_dim(): input and indices should have the same number of "
            f"dimensions, but got {x._data.ndim} dimensions for input, and "
            f"{indices._data.ndim} dimensions for indices")
    d = wrap_dim(dim, x._data.ndim)
    xs = list(x._data.shape)
    xs[d] = indices._data.shape[d]
    shape = list(broadcast_shapes(tuple(xs), indices._data.shape))
    idx = _from_end(indices, x._data.shape[d]).expand(tuple(shape))
    shape[d] = x._data.shape[d]
    return gather(x.expand(tuple(shape)), d, idx)


__all__ = ["gather", "scatter", "scatter_add", "scatter_reduce", "take", "take_along_dim",
           "put", "unravel_index"]

METHODS = {
    "gather": gather, "scatter": scatter, "scatter_": scatter_, "scatter_add": scatter_add,
    "scatter_add_": scatter_add_, "take": take, "take_along_dim": take_along_dim,
    "scatter_reduce": scatter_reduce, "scatter_reduce_": scatter_reduce_, "put": put,
}
