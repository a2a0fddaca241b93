"""Scans (running reductions along one dim): cumprod, cummax, cummin, logcumsumexp.

A scan keeps every partial result: ``y_k`` reduces ``x_0 .. x_k``. So ``x_i`` reaches every
``y_k`` with ``k >= i``, and its gradient is a sum over the *later* outputs, a scan run
backwards. (``cumsum``, the plainest scan, lives with the sums in `tapegrad.ops.reduction`.)

* ``cumprod``: ``dy_k/dx_i = prod_{j <= k, j != i} x_j``. Without zeros that is
  ``y_k / x_i``, so the gradient is ``reverse_cumsum(g * y) / x``. With a zero the division
  is 0/0, and the product of the others is formed explicitly instead (n² memory, only then);
* ``cummax``/``cummin``: ``y_k`` *is* one of the inputs (the running extreme), so the values
  are gathered at the running arg-extreme and the gradient is scattered back there. Ties
  take the later index and NaN, once seen, wins (torch's rule);
* ``logcumsumexp``: ``y_k = log(exp(x_0) + ... + exp(x_k))``, computed pairwise with
  ``logaddexp`` so that no ``exp`` overflows; ``dy_k/dx_i = exp(x_i - y_k)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.grad_mode import _state
from tapegrad.ops._util import as_array, wrap, wrap_dim
from tapegrad.ops.comparison import where
from tapegrad.ops.host import computed_on_host
from tapegrad.ops.linalg import _in_place
from tapegrad.ops.pointwise import exp
from tapegrad.ops.reduction.axes import accumulator, sum_dtype
from tapegrad.ops.reduction.minmax import register_return_type
from tapegrad.ops.reduction.sums import Cumsum, _prod_of_others
from tapegrad.ops.scatter import Gather
from tapegrad.tensor import Tensor

return_types = {name: register_return_type(name) for name in ("cummax", "cummin")}


# ---------------------------------------------------------------- cumprod
class Cumprod(Function):
    """``y_k = x_0 x_1 ... x_k`` along ``dim`` (integers and bools in int64, as cumsum)."""

    caption = ('{g} summed from the end backwards, each times the product of the other '
               'factors up to that position along dim {dim} : {s0}',)

    op_name = "cumprod"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int, dtype: Any = None) -> Tensor:
        data = x._data
        d = wrap_dim(dim, data.ndim)
        out_dtype = sum_dtype(x, dtype)
        acc = accumulator(out_dtype)
        out = data.astype(acc) if data.ndim == 0 else np.cumprod(data, axis=d, dtype=acc)
        out = wrap(np.array(as_array(out, out_dtype.numpy), order="C"))
        ctx.dim = d
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        x, out = ctx.saved_tensors
        if x._data.ndim == 0 or x._data.size == 0:
            return grad.to(x.dtype)
        d = ctx.dim
        if not (x._data == 0).any():
            # dy_k/dx_i = y_k / x_i: one reverse cumsum and a division
            return Cumsum.apply(grad * out, dim=d, reverse=True) / x
        return _cumprod_grad_with_zeros(x, grad, d)


def _cumprod_grad_with_zeros(x: Tensor, grad: Tensor, d: int) -> Tensor:
    """``dL/dx_j = sum_{k >= j} g_k prod_{i <= k, i != j} x_i``, formed without division:
    row k of the matrix ``M[k, i] = x_i if i <= k else 1`` multiplies to ``y_k``, and the
    product of the *others* in that row is the derivative."""
    xm = x.movedim(d, -1)
    n = xm.shape[-1]
    below = wrap(np.tril(np.ones((n, n), dtype=bool)))  # [k, i]: i <= k
    rows = where(below, xm.unsqueeze(-2).expand(tuple(xm.shape[:-1]) + (n, n)),
                 xm.new_ones(()))
    others = _prod_of_others(rows, rows.ndim - 1)
    g = grad.movedim(d, -1).unsqueeze(-1)  # g_k along the rows
    picked = where(below, g * others, xm.new_zeros(()))
    return picked.sum(-2).movedim(-1, d)


@computed_on_host
def cumprod(x: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running product along ``dim``; integers and bools accumulate in int64."""
    return Cumprod.apply(x, dim=dim, dtype=dtype)


# ---------------------------------------------------------------- cummax / cummin
def _running_extreme(data: np.ndarray, d: int, largest: bool) -> np.ndarray:
    """The index of the running maximum (minimum) along ``d``: a later equal value takes
    over, and a NaN, once reached, stays (each later NaN takes over)."""
    m = np.moveaxis(data, d, -1)
    idx = np.zeros(m.shape, dtype=np.int64)
    if m.shape[-1] == 0:
        return np.moveaxis(idx, -1, d)
    best = m[..., 0].copy()
    at = np.zeros(m.shape[:-1], dtype=np.int64)
    floats = m.dtype.kind == "f"
    for k in range(m.shape[-1]):
        v = m[..., k]
        better = (v >= best) if largest else (v <= best)
        if floats:
            better = np.isnan(v) | (~np.isnan(best) & better)
        best = np.where(better, v, best)
        at = np.where(better, k, at)
        idx[..., k] = at
    return np.moveaxis(idx, -1, d)


def _cum_extreme(x: Tensor, dim: int, largest: bool) -> Any:
    name = "cummax" if largest else "cummin"
    d = wrap_dim(dim, x.ndim)
    if x.ndim == 0:
        idx = np.zeros((), dtype=np.int64)
    else:
        idx = _running_extreme(x._data, d, largest)
    values = Gather.apply(x, dim=d, index=idx)
    return return_types[name](values, wrap(np.array(idx, order="C")))


@computed_on_host
def cummax(x: Tensor, dim: int) -> Any:
    """``(values, indices)``: the running maximum along ``dim`` and where it was found."""
    return _cum_extreme(x, dim, largest=True)


@computed_on_host
def cummin(x: Tensor, dim: int) -> Any:
    """``(values, indices)``: the running minimum along ``dim`` and where it was found."""
    return _cum_extreme(x, dim, largest=False)


# ---------------------------------------------------------------- logcumsumexp
class Logcumsumexp(Function):
    """``y_k = log(sum_{i <= k} exp(x_i))`` (``reverse=True``: over ``i >= k``)."""

    caption = ('{g} summed from the end backwards, each weighted by softmax of {x0} up '
               'to that position along dim {dim} : {s0}',)

    op_name = "logcumsumexp"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int, reverse: bool = False) -> Tensor:
        data = x._data
        if data.dtype.kind != "f":
            raise NotImplementedError(f"\"logcumsumexp_out_cpu\" not implemented for "
                               f"'{x.dtype.scalar_type}'")
        d = wrap_dim(dim, data.ndim)
        ctx.dim, ctx.reverse = d, reverse
        if data.ndim == 0 or data.size == 0:
            out = data.copy()
        elif reverse:
            out = np.flip(np.logaddexp.accumulate(np.flip(data, d), axis=d), d)
        else:
            out = np.logaddexp.accumulate(data, axis=d)
        out = wrap(np.array(out, dtype=data.dtype, order="C"))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        # dL/dx_i = sum_{k >= i} g_k exp(x_i - y_k)
        x, out = ctx.saved_tensors
        if x._data.ndim == 0 or x._data.size == 0:
            return grad
        d = ctx.dim
        if _state.grad_enabled:
            return _logcumsumexp_grad_pairs(x, out, grad, d, ctx.reverse)
        # A plain backward, in O(n): the sum is done in log space, split by the sign of g
        # (a log needs positive numbers), so nothing overflows:
        # exp(x_i + log sum_{k >= i} exp(log|g_k| - y_k)) for each sign.
        g, y, data = grad._data, out._data, x._data
        with np.errstate(divide="ignore", invalid="ignore"):
            result = np.zeros_like(data)
            for sign in (1, -1):
                log_part = np.where(g * sign > 0, np.log(np.abs(g)), -np.inf) - y
                flipped = not ctx.reverse  # the gradient runs the other way
                if flipped:
                    acc = np.flip(np.logaddexp.accumulate(np.flip(log_part, d), axis=d), d)
                else:
                    acc = np.logaddexp.accumulate(log_part, axis=d)
                result = result + sign * np.exp(acc + data)
        return wrap(result.astype(data.dtype))


def _logcumsumexp_grad_pairs(x: Tensor, out: Tensor, grad: Tensor, d: int,
                             reverse: bool) -> Tensor:
    """The same gradient as tensor ops, so that it can be differentiated again: the n x n
    table ``exp(x_i - y_k)`` over the pairs (i, k) where x_i is inside y_k."""
    xm, ym, gm = x.movedim(d, -1), out.movedim(d, -1), grad.movedim(d, -1)
    n = xm.shape[-1]
    inside = wrap(np.triu(np.ones((n, n), dtype=bool)) if not reverse
                  else np.tril(np.ones((n, n), dtype=bool)))  # [i, k]
    pairs = exp(xm.unsqueeze(-1) - ym.unsqueeze(-2))
    terms = where(inside, pairs * gm.unsqueeze(-2), xm.new_zeros(()))
    return terms.sum(-1).movedim(-1, d)


@computed_on_host
def logcumsumexp(x: Tensor, dim: int) -> Tensor:
    """``log(cumsum(exp(x)))`` along ``dim``, computed without overflow."""
    return Logcumsumexp.apply(x, dim=dim)


__all__ = ["cumprod", "cummax", "cummin", "logcumsumexp"]

METHODS = {"cumprod": cumprod, "cumprod_": _in_place(cumprod), "cummax": cummax, "cummin": cummin,
           "logcumsumexp": logcumsumexp}
