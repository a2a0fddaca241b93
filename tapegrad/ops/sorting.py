"""Sorting and selecting by rank: sort, argsort, msort, topk, kthvalue, median, nanmedian,
mode, quantile, nanquantile, unique, unique_consecutive, searchsorted, bucketize.

All of these *choose* input values by their rank. The choosing (which index goes where)
is done on plain arrays with numpy: it is not differentiable (an index is an integer).
The chosen values are then read from the input with ``gather``, which is differentiable:
the gradient of ``values = gather(x, dim, indices)`` sends each output gradient back to
the position it was read from (a scatter-add). So sort, topk, kthvalue, median(dim),
mode and quantile need no backward of their own::

    values, indices = x.sort()            values[k] = x[indices[k]]
    dL/dx[indices[k]] += dL/dvalues[k]    (and 0 for inputs not chosen)

NaN ranks above every number, as in torch: ascending sorts put NaNs last, descending ones
first, ``topk`` takes them as the largest values and ``median`` returns NaN if the slice
has one (``nanmedian``/``nanquantile`` drop them instead). Ties keep their input order
(every sort here is stable).

unique, unique_consecutive, searchsorted and bucketize return indices or counts only:
their outputs carry no gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad import dtypes
from tapegrad.autograd.function import Function, Node
from tapegrad.ops._util import wrap, wrap_dim
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.ops.comparison import where
from tapegrad.ops.host import computed_on_host
from tapegrad.ops.joining import stack
from tapegrad.ops.reduction.minmax import _evenly_distribute, register_return_type
from tapegrad.ops.scatter import Gather
from tapegrad.tensor import Tensor

return_types = {name: register_return_type(name) for name in
                ("sort", "topk", "kthvalue", "median", "nanmedian", "mode")}


# ---------------------------------------------------------------- ranking on arrays
def _order(data: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable argsort along ``axis`` with NaN as the largest value (int64 indices)."""
    if data.ndim == 0:
        return np.zeros((), dtype=np.int64)
    if not descending:
        # numpy already puts NaN last and keeps ties in order with a stable sort
        return np.argsort(data, axis=axis, kind="stable").astype(np.int64)
    if data.dtype.kind == "f":
        nan = np.isnan(data)
        # lexsort sorts by its last key first: NaNs (key 0) before numbers, then by -x
        key = np.where(nan, 0, -data.astype(np.float64))
        return np.lexsort((key, ~nan), axis=axis).astype(np.int64)
    # ~x reverses the order of integers (and bools) without the overflow of -x at the
    # minimum of a signed type
    return np.argsort(~data, axis=axis, kind="stable").astype(np.int64)


def _take(x: Tensor, dim: int, index: np.ndarray) -> Tensor:
    """``gather(x, dim, index)``: differentiable in x (a scatter-add backward)."""
    return Gather.apply(x, dim=dim, index=index)


def _long(a: np.ndarray) -> Tensor:
    return wrap(np.array(a, dtype=np.int64, order="C"))


# ---------------------------------------------------------------- sort
@computed_on_host
def sort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool | None = False
         ) -> Any:
    """``(values, indices)`` sorted along ``dim``, ascending unless ``descending``.
    ``stable`` is accepted for torch's signature; every sort here is stable."""
    require_tensor(x, "sort")
    d = wrap_dim(dim, x.ndim)
    idx = _order(x._data, d, descending)
    return return_types["sort"](_take(x, d, idx), _long(idx))


@computed_on_host
def argsort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``x`` along ``dim`` (``sort(...).indices``)."""
    require_tensor(x, "argsort")
    return _long(_order(x._data, wrap_dim(dim, x.ndim), descending))


@computed_on_host
def msort(x: Tensor) -> Tensor:
    """``sort(x, dim=0).values``."""
    require_tensor(x, "msort")
    return sort(x, dim=0).values


@computed_on_host
def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
    """The ``k`` largest (``largest=False``: smallest) values along ``dim`` and their
    indices, in order from the most extreme."""
    require_tensor(x, "topk")
    d = wrap_dim(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    idx = _order(x._data, d, descending=largest)
    if x.ndim:
        idx = np.take(idx, np.arange(k), axis=d)
    return return_types["topk"](_take(x, d, idx), _long(idx))


@computed_on_host
def kthvalue(x: Tensor, k: int, dim: int = -1, keepdim: bool = False, *,
             out: Any = None) -> Any:
    """The ``k``-th smallest value along ``dim`` (k counts from 1) and its index;
    ``out=(values, indices)`` receives them."""
    require_tensor(x, "kthvalue")
    if out is not None:
        if any(np.shares_memory(o._data, x._data) for o in out):
            raise RuntimeError(
                "unsupported operation: some elements of the input tensor and the written-to "
                "tensor refer to a single memory location. Please clone() the tensor before "
                "performing the operation.")
        result = kthvalue(x, k, dim, keepdim)
        for o, r in zip(out, result, strict=True):
            o.data = r
        return return_types["kthvalue"](*out)
    d = wrap_dim(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    return _select_rank(x, d, keepdim, "kthvalue",
                        lambda idx, _: np.full(idx.shape[:d] + idx.shape[d + 1:], k - 1))


def _select_rank(x: Tensor, d: int, keepdim: bool, name: str, rank_of: Any) -> Any:
    """Sort along ``d`` (ascending), then pick in every slice the value at the rank that
    ``rank_of(order, sorted_values)`` returns (an array of ranks, one per slice): the
    gather of that index is the differentiable result."""
    data = x._data
    idx = _order(data, d, False)
    if data.ndim == 0:
        return return_types[name](_take(x, 0, idx), _long(idx))
    ranks = rank_of(idx, np.take_along_axis(data, idx, d))
    chosen = np.take_along_axis(idx, np.expand_dims(ranks, d).astype(np.int64), d)
    values = _take(x, d, chosen)
    if not keepdim:
        values = values.squeeze(d)
        chosen = chosen.squeeze(d)
    return return_types[name](values, _long(chosen))


# ---------------------------------------------------------------- median
def _median_ranks(d: int, ignore_nan: bool) -> Any:
    """The rank of the lower median in each sorted slice along ``d`` (``(n - 1) // 2``),
    counting only the numbers for nanmedian and pointing at the first NaN for median."""
    def ranks(idx: np.ndarray, ordered: np.ndarray) -> np.ndarray:
        n = ordered.shape[d]
        if ordered.dtype.kind != "f":
            return np.full(ordered.shape[:d] + ordered.shape[d + 1:], (n - 1) // 2)
        nans = np.isnan(ordered).sum(axis=d)
        if ignore_nan:  # the lower median of the numbers; an all-NaN slice gives NaN
            return np.where(nans == n, 0, (n - nans - 1) // 2)
        # any NaN makes the median NaN: the first NaN (NaNs sort last)
        return np.where(nans > 0, n - nans, (n - 1) // 2)
    return ranks


def _median(x: Tensor, dim: Any, keepdim: bool, name: str) -> Any:
    require_tensor(x, name)
    ignore_nan = name == "nanmedian"
    if dim is None:
        if x._data.size == 0:
            if not x.is_floating_point():
                raise RuntimeError(f"{name}() input tensor cannot be empty")
            return wrap(np.array(np.nan, dtype=x._data.dtype))
        flat = x._data.reshape(-1)
        idx = _order(flat, 0, False)
        rank = _median_ranks(0, ignore_nan)(idx, flat[idx])
        return MedianAll.apply(x, value=flat[idx[int(rank)]])
    d = wrap_dim(dim, x.ndim)
    if x.ndim and x.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    return _select_rank(x, d, keepdim, name, _median_ranks(d, ignore_nan))


class MedianAll(Function):
    """median() of every value. torch splits the gradient evenly over the inputs equal to
    the median (every NaN when it is NaN), as for ``max()``: the value belongs to all of
    them, so no single index is chosen."""

    caption = ('{g} to the median element (shared among tied medians), 0 elsewhere : '
               '{sg} → {s0}',)

    node_name = "MedianBackward0"
    op_name = "median"

    @staticmethod
    def forward(ctx: Node, x: Tensor, value: Any) -> Tensor:
        out = wrap(np.array(value, dtype=x._data.dtype))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return _evenly_distribute(ctx, grad)


@computed_on_host
def median(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The lower median: with no ``dim`` the middle value of all (a tensor), with a ``dim``
    ``(values, indices)`` per slice. NaN if the slice holds one."""
    return _median(x, dim, keepdim, "median")


@computed_on_host
def nanmedian(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """`median` ignoring NaNs (NaN only where a slice is all NaN)."""
    return _median(x, dim, keepdim, "nanmedian")


# ---------------------------------------------------------------- mode
@computed_on_host
def mode(x: Tensor, dim: int = -1, keepdim: bool = False) -> Any:
    """The most frequent value along ``dim`` (the smallest of those tied for most
    frequent) and the index of its last occurrence."""
    require_tensor(x, "mode")
    d = wrap_dim(dim, x.ndim)
    if x.ndim == 0:
        return return_types["mode"](_take(x, 0, np.zeros((), np.int64)),
                                    _long(np.zeros((), np.int64)))
    if x.shape[d] == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    moved = np.moveaxis(x._data, d, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    chosen = np.empty(flat.shape[0], dtype=np.int64)
    for r, row in enumerate(flat):
        order = np.argsort(row, kind="stable")
        s = row[order]
        # runs of equal values (NaNs are never equal: each is a run of its own)
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        lengths = np.diff(np.r_[starts, len(s)])
        best = starts[int(np.argmax(lengths))]  # first longest run: the smallest value
        run = order[best:best + lengths.max()]
        chosen[r] = run.max()
    chosen = np.moveaxis(chosen.reshape(moved.shape[:-1] + (1,)), -1, d)
    values = _take(x, d, chosen)
    if not keepdim:
        values, chosen = values.squeeze(d), chosen.squeeze(d)
    return return_types["mode"](values, _long(chosen))


# ---------------------------------------------------------------- quantile
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(x: Tensor, q: Any, dim: Any, keepdim: bool, interpolation: str,
              name: str) -> Tensor:
    require_tensor(x, name)
    if not x.is_floating_point():
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if isinstance(q, Tensor):
        if q.ndim > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        if q.dtype != x.dtype:
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
        qs = q._data.astype(np.float64).reshape(-1)
        q_scalar = q.ndim == 0
    else:
        qs, q_scalar = np.array([float(q)]), True
    if ((qs < 0) | (qs > 1)).any():
        if isinstance(q, Tensor):
            raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
        raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {q}")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest, but got {interpolation}")
    if x._data.size == 0 and dim is None:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    if dim is None:
        src, d = x.reshape(-1), 0
    else:
        d = wrap_dim(dim, x.ndim)
        src = x if x.ndim else x.reshape(1)
        if src.shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    ordered = sort(src, dim=d).values                     # NaNs last
    n = src.shape[d]
    nans = np.isnan(src._data).sum(axis=d, keepdims=True)  # per slice
    valid = n - nans if name == "nanquantile" else np.full_like(nans, n)
    dt = x._data.dtype
    outs = []
    for i, qv in enumerate(qs):
        pos = qv * (valid - 1).astype(np.float64)          # rank, one per slice
        if interpolation == "lower":
            pos = np.floor(pos)
        elif interpolation == "higher":
            pos = np.ceil(pos)
        elif interpolation == "nearest":
            pos = np.round(pos)  # half to even, as torch
        lo = np.clip(np.floor(pos), 0, n - 1).astype(np.int64)
        hi = np.clip(np.ceil(pos), 0, n - 1).astype(np.int64)
        a, b = _take(ordered, d, lo), _take(ordered, d, hi)
        if interpolation == "linear" and isinstance(q, Tensor) and q.requires_grad:
            # the weight q (n - 1) - lo depends on q: torch differentiates it too
            q_i = q.reshape(-1)[i]
            w = q_i * wrap((valid - 1).astype(dt)) - wrap(lo.astype(dt))
        elif interpolation == "midpoint":
            w = wrap(np.where(hi > lo, 0.5, 0.0).astype(dt))
        else:
            w = wrap((pos - np.floor(pos)).astype(dt))
        value = a + w * (b - a)
        # a slice with a NaN (quantile) or with nothing but NaNs (nanquantile) gives NaN
        undefined = (nans > 0) if name == "quantile" else (valid == 0)
        value = where(wrap(undefined), wrap(np.array(np.nan, dt)), value)
        if dim is None:
            value = value.reshape((1,) * x.ndim if keepdim else ())
        elif x.ndim == 0:
            value = value.reshape(())
        elif not keepdim:
            value = value.squeeze(d)
        outs.append(value)
    if q_scalar:
        return outs[0]
    return stack(outs)


@computed_on_host
def quantile(x: Tensor, q: Any, dim: Any = None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """The ``q``-quantile(s) along ``dim`` (of all values if None): the value at rank
    ``q (n - 1)`` of the sorted slice, interpolated between its two neighbours
    (``interpolation``: linear, lower, higher, midpoint, nearest). A 1-D tensor ``q``
    gives one result per quantile, stacked in a new first dim."""
    return _quantile(x, q, dim, keepdim, interpolation, "quantile")


@computed_on_host
def nanquantile(x: Tensor, q: Any, dim: Any = None, keepdim: bool = False, *,
                interpolation: str = "linear") -> Tensor:
    """`quantile` of the values that are not NaN."""
    return _quantile(x, q, dim, keepdim, interpolation, "nanquantile")


# ---------------------------------------------------------------- unique
def _unique_flat(data: np.ndarray, consecutive: bool) -> tuple:
    flat = data.reshape(-1)
    if consecutive:
        keep = np.r_[True, flat[1:] != flat[:-1]] if flat.size else np.zeros(0, bool)
        starts = np.flatnonzero(keep)
        values = flat[starts]
        inverse = np.cumsum(keep) - 1
        counts = np.diff(np.r_[starts, flat.size])
        return values, inverse, counts
    order = np.argsort(flat, kind="stable")
    s = flat[order]
    # NaNs are all different from each other (s != s), as in torch
    keep = np.r_[True, s[1:] != s[:-1]] if s.size else np.zeros(0, bool)
    starts = np.flatnonzero(keep)
    inverse = np.empty(flat.size, dtype=np.int64)
    inverse[order] = np.cumsum(keep) - 1
    return s[starts], inverse, np.diff(np.r_[starts, s.size])


def _unique_dim(data: np.ndarray, d: int, consecutive: bool) -> tuple:
    moved = np.moveaxis(data, d, 0)
    n = moved.shape[0]
    rows = moved.reshape(n, int(np.prod(moved.shape[1:])))
    if consecutive:
        same = [n > 0] + [not np.array_equal(rows[i], rows[i - 1]) for i in range(1, n)]
        keep = np.array(same[:n] if n else [], dtype=bool)
        starts = np.flatnonzero(keep)
        inverse = np.cumsum(keep) - 1
        counts = np.diff(np.r_[starts, n])
        return np.moveaxis(moved[starts], 0, d), inverse, counts
    order = np.lexsort(rows.T[::-1]) if rows.shape[1] else np.arange(n)
    s = rows[order]
    keep = np.r_[True, (s[1:] != s[:-1]).any(axis=1)] if n else np.zeros(0, bool)
    starts = np.flatnonzero(keep)
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.cumsum(keep) - 1
    return np.moveaxis(moved[order[starts]], 0, d), inverse, np.diff(np.r_[starts, n])


def _unique(x: Tensor, return_inverse: bool, return_counts: bool, dim: Any,
            consecutive: bool) -> Any:
    data = x._data
    if dim is None:
        values, inverse, counts = _unique_flat(data, consecutive)
        inverse = inverse.reshape(data.shape)
    else:
        d = wrap_dim(dim, data.ndim)
        values, inverse, counts = _unique_dim(data, d, consecutive)
    out: list[Tensor] = [wrap(np.array(values, dtype=data.dtype, order="C"))]
    if return_inverse:
        out.append(_long(inverse))
    if return_counts:
        out.append(_long(counts))
    return out[0] if len(out) == 1 else tuple(out)


@computed_on_host
def unique(x: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None) -> Any:
    """The distinct values (slices along ``dim`` if given), sorted; optionally where each
    input went (``return_inverse``) and how often each occurs (``return_counts``)."""
    require_tensor(x, "unique")
    return _unique(x, return_inverse, return_counts, dim, consecutive=False)


@computed_on_host
def unique_consecutive(x: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim: int | None = None) -> Any:
    """Collapse runs of equal consecutive values (slices along ``dim``) into one."""
    require_tensor(x, "unique_consecutive")
    return _unique(x, return_inverse, return_counts, dim, consecutive=True)


# ---------------------------------------------------------------- searching
def _search(boundaries: np.ndarray, values: np.ndarray, right: bool, out_int32: bool,
            sorter: np.ndarray | None) -> Tensor:
    side = "right" if right else "left"
    dt = np.int32 if out_int32 else np.int64
    if boundaries.ndim <= 1:
        b = boundaries.reshape(-1)
        if sorter is not None:
            b = b[sorter.reshape(-1)]
        out = _nan_search(b, values, side)
    else:
        b = boundaries
        if sorter is not None:
            b = np.take_along_axis(b, sorter, -1)
        rows_b = b.reshape(-1, b.shape[-1])
        rows_v = values.reshape(-1, values.shape[-1]) if values.ndim else values.reshape(1, 1)
        out = np.stack([_nan_search(rb, rv, side) for rb, rv in zip(rows_b, rows_v,
                                                                     strict=True)])
        out = out.reshape(values.shape)
    return wrap(np.array(out, dtype=dt, order="C"))


def _nan_search(b: np.ndarray, v: np.ndarray, side: str) -> np.ndarray:
    """numpy's searchsorted already orders NaN above every number, like torch."""
    return np.searchsorted(b, v, side=side)


@computed_on_host
def searchsorted(sorted_sequence: Tensor, values: Any, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None, sorter: Tensor | None = None,
                 out: Any = None) -> Tensor:
    """For each value, the index where it would be inserted into ``sorted_sequence`` (its
    last dim, one sorted row per leading index) to keep it sorted: the first such place,
    or the last with ``right=True`` / ``side='right'``."""
    require_tensor(sorted_sequence, "searchsorted")
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites,"
                               " got side of left while right was True")
        right = side == "right"
    scalar = not isinstance(values, Tensor)
    vals = np.asarray(values, dtype=sorted_sequence._data.dtype) if scalar else values._data
    seq = sorted_sequence._data
    if seq.ndim > 1 and not scalar and (vals.ndim != seq.ndim or
                                        vals.shape[:-1] != seq.shape[:-1]):
        raise RuntimeError(
            "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
            "dimensions of boundaries tensor and input value tensor must match, but we got "
            f"boundaries tensor {list(seq.shape)} and input value tensor {list(vals.shape)}")
    if scalar and seq.ndim > 1:
        raise RuntimeError("torch.searchsorted(): input value can be a scalar only when "
                           "boundaries tensor dimension is 1, but we got boundaries tensor "
                           f"dim({seq.ndim}) and input value's dim(0) numel(1)")
    srt = None
    if sorter is not None:
        if sorter.shape != sorted_sequence.shape:
            raise RuntimeError("torch.searchsorted(): boundary and sorter must have the same "
                               f"size, but got boundary tensor {list(seq.shape)}and got sorter "
                               f"tensor {list(sorter.shape)}")
        if sorter.dtype != dtypes.int64:
            raise RuntimeError("torch.searchsorted(): sorter must be a tensor of long dtype "
                               f"but got dtype {sorter.dtype.scalar_type}")
        srt = sorter._data
        if srt.size and (srt.min() < 0 or srt.max() >= seq.shape[-1]):
            raise RuntimeError("torch.searchsorted(): sorter index out of range")
    if seq.ndim == 0:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive "
                           "dimension, but got 0 dimension")
    return _search(seq, vals, right, out_int32, srt)


@computed_on_host
def bucketize(x: Any, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """The bucket of each value: the index into the sorted 1-D ``boundaries`` where it
    would be inserted (``boundaries[i-1] < x <= boundaries[i]``; with ``right=True``,
    ``boundaries[i-1] <= x < boundaries[i]``)."""
    if boundaries.ndim != 1:
        raise RuntimeError("boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries.ndim})")
    scalar = not isinstance(x, Tensor)
    vals = np.asarray(x) if scalar else x._data
    return _search(boundaries._data, vals, right, out_int32, None)


__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode",
           "quantile", "nanquantile", "unique", "unique_consecutive", "searchsorted",
           "bucketize"]

# (torch has no Tensor.searchsorted or Tensor.bucketize)
METHODS = {name: globals()[name] for name in __all__
           if name not in ("bucketize", "searchsorted")}
