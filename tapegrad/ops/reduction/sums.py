"""Sums and their relatives: sum, mean, prod, cumsum, logsumexp, all, any, count_nonzero.

The backward of each is in the family's docstring (`tapegrad.ops.reduction`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad import dtypes, kernels
from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.grad_mode import _state
from tapegrad.ops._util import as_array, contiguous, wrap, wrap_dim
from tapegrad.ops.reduction.axes import (
    accumulator,
    count,
    kept_shape,
    reduce_axes,
    sum_dtype,
    unkeep,
    unreduce,
)
from tapegrad.tensor import Tensor


class Sum(Function):
    """``sum(x)``: each input adds itself once into the output, so each receives the
    whole output gradient (broadcast back over the reduced dims)."""

    caption = ('{g} copied to every element that was summed (∂sum/∂xᵢ = 1) : {sg} → {s0}',)
    op_name = "sum"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: Any = None, keepdim: bool = False,
                dtype: Any = None) -> Tensor:
        axes = reduce_axes(dim, x._data.ndim)
        ctx.shape, ctx.axes, ctx.keepdim = x._data.shape, axes, keepdim
        out_dtype = sum_dtype(x, dtype)
        out = np.sum(x._data, axis=axes, keepdims=keepdim, dtype=accumulator(out_dtype))
        return wrap(as_array(out, out_dtype.numpy))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return unreduce(grad, ctx.shape, ctx.axes, ctx.keepdim)


class SumDim(Sum):
    """``sum(x, dim)``: torch gives the overload with a ``dim`` its own node name."""

    node_name = "SumBackward1"
    op_name = "sum"


class Mean(Function):
    """``mean(x) = sum(x) / N``: each input receives the gradient divided by N, the number
    of values averaged into its output."""

    caption = ('{g} / {n} copied to every element that was averaged : {sg} → {s0}',)
    op_name = "mean"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: Any = None, keepdim: bool = False,
                dtype: Any = None) -> Tensor:
        if dtype is None and not x.dtype.is_floating_point:
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {x.dtype.scalar_type}")
        out_dtype = x.dtype if dtype is None else dtypes.to_dtype(dtype)
        if not out_dtype.is_floating_point:
            raise RuntimeError(
                "mean(): could not infer output dtype. Optional dtype must be either a "
                f"floating point or complex dtype. Got: {out_dtype.scalar_type}")
        axes = reduce_axes(dim, x._data.ndim)
        ctx.shape, ctx.axes, ctx.keepdim = x._data.shape, axes, keepdim
        ctx.count = count(x._data.shape, axes)
        total = np.sum(x._data, axis=axes, keepdims=keepdim, dtype=accumulator(out_dtype))
        with np.errstate(invalid="ignore", divide="ignore"):  # mean of nothing is nan
            out = np.true_divide(total, ctx.count, dtype=total.dtype)
        return wrap(as_array(out, out_dtype.numpy))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return unreduce(grad, ctx.shape, ctx.axes, ctx.keepdim) / ctx.count


class MeanDim(Mean):
    node_name = "MeanBackward1"
    op_name = "mean"


def sum(x: Tensor, dim: Any = None, keepdim: bool = False, *,  # torch's name
        dtype: Any = None) -> Tensor:
    """Sum over ``dim`` (all dims if None); ints and bools sum to int64 as in torch."""
    fn = Sum if dim is None else SumDim
    return fn.apply(x, dim=dim, keepdim=keepdim, dtype=dtype)


def mean(x: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Average over ``dim``; integer inputs need an explicit floating ``dtype``."""
    fn = Mean if dim is None else MeanDim
    return fn.apply(x, dim=dim, keepdim=keepdim, dtype=dtype)


# ---------------------------------------------------------------- prod
class Prod(Function):
    """``prod(x)``: dy/dx_i is the product of all the *other* values.

    With no zero that is ``y / x_i``. With zeros, dividing is wrong (0/0), so, as torch
    does, the product of the others is built from two exclusive running products: the
    product of everything to the left of i times everything to its right. One zero gives
    a nonzero gradient only at the zero; two zeros make every gradient 0.
    """

    caption = ('{g}·(product of the other elements) : {sg} → {s0}',)
    op_name = "prod"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int | None = None, keepdim: bool = False,
                dtype: Any = None) -> Tensor:
        data = x._data
        out_dtype = sum_dtype(x, dtype)
        if dim is None:
            axes = tuple(range(data.ndim))
            ctx.dim = None
        else:
            if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
                raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
            d = wrap_dim(dim, data.ndim)
            axes = (d,) if data.ndim else ()
            ctx.dim = d
        ctx.keepdim = keepdim
        out = wrap(as_array(np.prod(data, axis=axes, keepdims=keepdim,
                                    dtype=accumulator(out_dtype)), out_dtype.numpy))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        x, out = ctx.saved_tensors
        shape = x._data.shape
        if x._data.ndim == 0:
            return grad
        if ctx.dim is None:  # the full product is the product along the flattened input
            values, d = x.reshape(-1), 0
            grad, out = grad.reshape(1), out.reshape(1)
        else:
            values, d = x, ctx.dim
            grad = unkeep(grad, shape, (d,), ctx.keepdim)
            out = unkeep(out, shape, (d,), ctx.keepdim)
        if (values._data == 0).any():
            result = grad * _prod_of_others(values, d)
        else:
            result = grad * (out / values)
        return result.reshape(shape) if ctx.dim is None else result


class ProdDim(Prod):
    node_name = "ProdBackward1"
    op_name = "prod"


def _prod_of_others(x: Tensor, d: int) -> Tensor:
    """For every element, the product of the other elements along dim ``d`` (no division,
    so zeros are handled)."""
    data = x._data
    n = data.shape[d]
    if n == 0:
        return x
    if not _state.grad_enabled:
        # Plain backward: exclusive running products from the left and from the right.
        m = np.moveaxis(data, d, -1)
        left = np.ones_like(m)
        right = np.ones_like(m)
        left[..., 1:] = np.cumprod(m[..., :-1], axis=-1)
        right[..., :-1] = np.cumprod(m[..., :0:-1], axis=-1)[..., ::-1]
        return wrap(np.moveaxis(left * right, -1, d))
    # create_graph: the result must itself be differentiable. Build, for every i, a copy
    # of the values with x_i replaced by 1, and take its product with `Prod` (n^2 memory,
    # only used for double backward through a product with zeros).
    shape = data.shape
    copies = x.unsqueeze(d).expand(shape[:d] + (n,) + shape[d:])
    eye = np.eye(n, dtype=data.dtype, like=data).reshape((n, n) + (1,) * (data.ndim - d - 1))
    replaced = copies * wrap(1 - eye) + wrap(eye)
    return ProdDim.apply(replaced, dim=d + 1)


def prod(x: Tensor, dim: int | None = None, keepdim: bool = False, *,
         dtype: Any = None) -> Tensor:
    """Product over all values, or along one ``dim`` (torch takes a single int here)."""
    if dim is None:
        return Prod.apply(x, dtype=dtype)
    return ProdDim.apply(x, dim=dim, keepdim=keepdim, dtype=dtype)


# ---------------------------------------------------------------- cumsum
class Cumsum(Function):
    """``y_k = x_0 + ... + x_k`` along ``dim``. x_i appears in every y_k with k >= i, so
    its gradient is ``g_i + ... + g_last``: a cumsum of the gradient run backwards
    (``reverse=True``, whose own backward is the forward cumsum again)."""

    caption = ('{g} summed from the end backwards along dim {dim} : {s0}',)
    op_name = "cumsum"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int, dtype: Any = None,
                reverse: bool = False) -> Tensor:
        data = x._data
        d = wrap_dim(dim, data.ndim)
        ctx.dim, ctx.reverse = d, reverse
        out_dtype = sum_dtype(x, dtype)
        acc = accumulator(out_dtype)
        if data.ndim == 0:
            out = data.astype(acc)
        elif reverse:
            out = np.flip(np.cumsum(np.flip(data, d), axis=d, dtype=acc), d)
        else:
            out = np.cumsum(data, axis=d, dtype=acc)
        return wrap(contiguous(as_array(out, out_dtype.numpy)))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return Cumsum.apply(grad, dim=ctx.dim, reverse=not ctx.reverse)


def cumsum(x: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running sum along ``dim``; ints and bools accumulate in int64."""
    return Cumsum.apply(x, dim=dim, dtype=dtype)


# ---------------------------------------------------------------- logsumexp
def _logsumexp_array(data: np.ndarray, axes: tuple, keepdim: bool) -> np.ndarray:
    """``log(sum(exp(x)))`` over ``axes`` via the (stable, max-shifted) kernel, which
    reduces one axis: several axes are moved to the end and merged into one first."""
    if not axes:
        return data.copy()
    shape = data.shape
    out_shape = kept_shape(shape, axes) if keepdim else tuple(
        s for i, s in enumerate(shape) if i not in axes)
    if count(shape, axes) == 0:  # log of an empty sum
        return np.full(out_shape, -np.inf, dtype=data.dtype, like=data)
    if len(axes) > 1:
        rest = tuple(i for i in range(data.ndim) if i not in axes)
        data = np.transpose(data, rest + axes).reshape(
            tuple(shape[i] for i in rest) + (-1,))
        axis = data.ndim - 1
    else:
        axis = axes[0]
    out = kernels.on(data).logsumexp(contiguous(data), axis, False)
    return as_array(out, data.dtype).reshape(out_shape)


class Logsumexp(Function):
    """``y = log(sum_i exp(x_i))``, a smooth maximum. dy/dx_i = exp(x_i) / sum exp =
    ``exp(x_i - y)``: the softmax of x.

    Equals ``m + (x - m).exp().sum(dim, keepdim).log()`` with ``m = x.amax(dim, keepdim=True)``
    (a constant shift; checked in tests/ops/test_fused_composites.py).
    """

    caption = ('{g}·softmax({x0}) along dim {dim} : {sg} → {s0}',)
    op_name = "logsumexp"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
        data = x._data
        if data.dtype.kind != "f":  # integers give the default float dtype, as in torch
            data = data.astype(dtypes.get_default_dtype().numpy)
        axes = reduce_axes(dim, data.ndim)
        ctx.axes, ctx.keepdim = axes, keepdim
        out = wrap(_logsumexp_array(data, axes, keepdim))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        x, out = ctx.saved_tensors
        shape = x._data.shape
        softmax = (x - unkeep(out, shape, ctx.axes, ctx.keepdim)).exp()
        return unkeep(grad, shape, ctx.axes, ctx.keepdim) * softmax


def logsumexp(x: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """Numerically stable ``log(exp(x).sum(dim))``."""
    return Logsumexp.apply(x, dim=dim, keepdim=keepdim)


# ---------------------------------------------------------------- all / any / count
def _logical_reduce(np_fn, x: Tensor, dim: Any, keepdim: bool) -> Tensor:
    axes = reduce_axes(dim, x._data.ndim)
    out = np_fn(x._data, axis=axes, keepdims=keepdim)
    # torch keeps uint8 for uint8 input (a leftover of its pre-bool days); else bool
    out_dtype = np.uint8 if x._data.dtype == np.uint8 else np.bool_
    return wrap(as_array(out, np.dtype(out_dtype)))


def all(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """True where every value along ``dim`` is nonzero (no gradient)."""
    return _logical_reduce(np.all, x, dim, keepdim)


def any(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """True where some value along ``dim`` is nonzero (no gradient)."""
    return _logical_reduce(np.any, x, dim, keepdim)


def count_nonzero(x: Tensor, dim: Any = None) -> Tensor:
    """Number of nonzero values along ``dim`` (int64, no gradient)."""
    axes = reduce_axes(dim, x._data.ndim)
    return wrap(as_array(np.count_nonzero(x._data, axis=axes), np.dtype(np.int64)))


__all__ = ["sum", "mean", "prod", "cumsum", "logsumexp", "all", "any", "count_nonzero"]

METHODS = {
    "sum": sum, "mean": mean, "prod": prod, "cumsum": cumsum, "logsumexp": logsumexp,
    "all": all, "any": any, "count_nonzero": count_nonzero,
}
