"""var, std and norm: reductions that measure spread and size.

    var(x)   = sum_i (x_i - m)^2 / (N - correction),   m = mean(x)
               dvar/dx_i = 2 (x_i - m) / (N - correction)
               (the -m term contributes nothing: sum_i (x_i - m) = 0)
    std(x)   = sqrt(var(x))
               dstd/dx_i = dvar/dx_i / (2 std)          (0 where std = 0, as torch)
    norm_p(x) = (sum_i |x_i|^p)^(1/p)
               dnorm/dx_i = sign(x_i) |x_i|^(p-1) / norm^(p-1)
               p=2: x_i / norm;  p=1: sign(x_i);  p=inf: sign(x_i) at the max |x_i|

At x = 0 the norm has a kink; torch picks the subgradient 0 there (its backward masks the
division by a zero norm), and so do we. ``sign(x)`` is used as a constant: its own
derivative is 0 wherever it is defined, so the backward formulas stay differentiable.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from tapegrad import dtypes
from tapegrad.autograd.function import Function, Node
from tapegrad.ops._util import as_array, wrap, wrap_dim
from tapegrad.ops.host import computed_on_host
from tapegrad.ops.matrix import svdvals
from tapegrad.ops.reduction.axes import (
    count,
    reduce_axes,
    unkeep,
    unreduce,
)
from tapegrad.tensor import Tensor


# ---------------------------------------------------------------- var / std
def _check_floating(x: Tensor) -> None:
    if not x.dtype.is_floating_point:
        raise RuntimeError("std and var only support floating point and complex dtypes")


def _var_array(ctx: Node, x: Tensor, dim: Any, correction: float, keepdim: bool,
               op: str) -> np.ndarray:
    _check_floating(x)
    data = _accumulating(x._data)
    axes = reduce_axes(dim, data.ndim)
    n = count(data.shape, axes)
    ctx.axes, ctx.keepdim, ctx.correction = axes, keepdim, correction
    # torch's "full" branch: no dim, or a 0-d input (see _var_backward)
    ctx.full = dim is None or data.ndim == 0
    if n - correction <= 0:
        warnings.warn(
            f"{op}(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "reduction factor (input numel divided by output numel).", UserWarning,
            stacklevel=4)
    with np.errstate(invalid="ignore", divide="ignore"):
        centered = data - np.sum(data, axis=axes, keepdims=True) / n
        squares = np.sum(centered * centered, axis=axes, keepdims=keepdim)
        out = squares / max(n - correction, 0)
    return as_array(out, x._data.dtype)


def _accumulating(data: np.ndarray) -> np.ndarray:
    """float16 values as float32 for a reduction: torch accumulates half in float32 and
    rounds the result once (1000 halfs of 100 have norm 3162, not inf)."""
    return data.astype(np.float32) if data.dtype == np.float16 else data


def _var_backward(ctx: Node, grad: Tensor, x: Tensor) -> Tensor:
    """``grad * 2 (x - mean) / (N - correction)``, with torch's choices when N <= correction."""
    shape = x._data.shape
    dof = count(shape, ctx.axes) - ctx.correction
    grad = unreduce(grad, shape, ctx.axes, ctx.keepdim)
    if ctx.full and dof <= 0:
        # 2/dof is infinite: inf * 0 = NaN where x equals the mean, inf elsewhere
        mean = np.mean(x._data) if x._data.size else np.nan
        bad = np.where(x._data == mean, np.nan, np.inf).astype(x._data.dtype)
        return grad * wrap(bad)
    scale = 2.0 / dof if dof != 0 else math.inf
    return grad * (x - x.mean(ctx.axes, keepdim=True)) * scale


class Var(Function):
    """Variance with ``correction`` (1: the unbiased estimator, 0: the population one)."""

    caption = ('{g}·2({x0} − mean) / (n − correction) : {sg} → {s0}',)
    op_name = "var"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: Any = None, correction: float = 1,
                keepdim: bool = False) -> Tensor:
        ctx.save_for_backward(x)
        return wrap(_var_array(ctx, x, dim, correction, keepdim, "var"))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return _var_backward(ctx, grad, x)


class Std(Function):
    """Standard deviation: ``sqrt(var)``; backward is var's, scaled by ``1 / (2 std)``."""

    caption = ('{g}·({x0} − mean) / ((n − correction)·std) : {sg} → {s0}',)
    op_name = "std"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: Any = None, correction: float = 1,
                keepdim: bool = False) -> Tensor:
        out = wrap(np.sqrt(_var_array(ctx, x, dim, correction, keepdim, "std")))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        x, out = ctx.saved_tensors
        # torch: (grad / (2 std)).masked_fill_(std == 0, 0); dividing by a std made
        # nonzero, then masking, keeps the result differentiable without `where`
        zero = (out._data == 0).astype(out._data.dtype)
        grad_var = grad / ((out + wrap(zero)) * 2) * wrap(1 - zero)
        return _var_backward(ctx, grad_var, x)


def _correction(dim: Any, unbiased: bool | None, correction: float | None,
                op: str) -> tuple[Any, float]:
    if isinstance(dim, bool):  # torch's overload var(unbiased)
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}() received an invalid combination of arguments: pass either "
                        "'unbiased' or 'correction', not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    return dim, correction


def var(x: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None) -> Tensor:
    """Variance over ``dim`` with ``correction`` (default 1; ``unbiased=False`` means 0)."""
    dim, correction = _correction(dim, unbiased, correction, "var")
    return Var.apply(x, dim=dim, correction=correction, keepdim=keepdim)


def std(x: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None) -> Tensor:
    """Standard deviation over ``dim``; same arguments as `var`."""
    dim, correction = _correction(dim, unbiased, correction, "std")
    return Std.apply(x, dim=dim, correction=correction, keepdim=keepdim)


# ---------------------------------------------------------------- norm
def _ord_text(p: float) -> str:
    return str(int(p)) if math.isfinite(p) and p == int(p) else str(p)


class VectorNorm(Function):
    """``(sum |x_i|^p)^(1/p)`` over ``dim`` (torch's ``linalg.vector_norm``); p=inf is
    ``max |x_i|``, p=-inf ``min |x_i|``, p=0 the count of nonzeros."""

    caption = ('{g}·{x0} / ‖{x0}‖ : {sg} → {s0}',)
    node_name = "LinalgVectorNormBackward0"
    op_name = "norm"

    @staticmethod
    def forward(ctx: Node, x: Tensor, ord: float = 2.0, dim: Any = None,
                keepdim: bool = False) -> Tensor:
        data = x._data
        if data.dtype.kind != "f":
            raise RuntimeError("linalg.vector_norm: Expected a floating point or complex "
                               f"tensor as input. Got {x.dtype.scalar_type}")
        axes = reduce_axes(dim, data.ndim)
        if ord < 0 or math.isinf(ord):  # max/min-like: no value for an empty reduction
            if dim is None and data.size == 0:
                raise RuntimeError(
                    f"linalg.vector_norm cannot compute the {_ord_text(ord)} norm on an empty "
                    "tensor because the operation does not have an identity")
            for a in axes:
                if data.shape[a] == 0:
                    raise RuntimeError(
                        f"linalg.vector_norm cannot compute the {_ord_text(ord)} norm on the "
                        f"dimension {a}because this dimension is empty and the operation does "
                        "not have an identity")
        ctx.ord, ctx.axes, ctx.keepdim = ord, axes, keepdim
        out_dtype = data.dtype
        data = _accumulating(data)
        a = np.abs(data)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            if ord == math.inf:
                out = np.max(a, axis=axes, keepdims=keepdim)
            elif ord == -math.inf:
                out = np.min(a, axis=axes, keepdims=keepdim)
            elif ord == 0:
                out = np.sum(data != 0, axis=axes, keepdims=keepdim)
            elif ord == 1:
                out = np.sum(a, axis=axes, keepdims=keepdim)
            elif ord == 2:
                out = np.sqrt(np.sum(data * data, axis=axes, keepdims=keepdim))
            else:
                out = np.sum(a ** ord, axis=axes, keepdims=keepdim) ** (1.0 / ord)
        out = wrap(as_array(out, out_dtype))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        x, out = ctx.saved_tensors
        p, shape = ctx.ord, x._data.shape
        data, dt = x._data, x._data.dtype
        if p == 0:  # a count: piecewise constant
            return wrap(np.zeros(shape, dtype=dt))
        grad = unkeep(grad, shape, ctx.axes, ctx.keepdim)
        norm = unkeep(out, shape, ctx.axes, ctx.keepdim)
        sign = wrap(np.sign(data))
        if p == 1:
            return grad * sign
        if math.isinf(p):
            # the max (min) |x_i| values, or NaNs, share the gradient evenly, as in amax
            a = np.abs(data)
            mask = (a == norm._data) | np.isnan(a)
            with np.errstate(invalid="ignore", divide="ignore"):
                share = mask / np.sum(mask, axis=ctx.axes, keepdims=True)
            return grad * wrap((np.sign(data) * share).astype(dt))
        # Where the norm is 0, every x_i in it is 0: dividing by (norm + 1) there instead
        # gives torch's subgradient 0 without a 0/0 (the x_i factor makes it 0).
        safe_norm = norm + wrap((norm._data == 0).astype(dt))
        if p == 2:
            return grad * x / safe_norm
        zero = wrap((data == 0).astype(dt))
        abs_x = x * sign  # |x| with derivative sign(x)
        if p < 1:
            # |x|^(p-1) is infinite at 0; sign(0) = 0 masks it (on a base made nonzero)
            return sign * (abs_x + zero) ** (p - 1) * grad * norm ** (1 - p)
        scale = grad / safe_norm ** (p - 1)
        if p < 2:
            return sign * abs_x ** (p - 1) * scale
        return x * abs_x ** (p - 2) * scale


def _norm_input(x: Tensor, dtype: Any, name: str) -> Tensor:
    if dtype is None:
        return x
    dt = dtypes.to_dtype(dtype)
    if np.promote_types(x._data.dtype, dt.numpy) != dt.numpy:
        raise RuntimeError(
            f"{name}: the dtype of the input ({x.dtype.scalar_type}) should be convertible "
            f"without narrowing to the specified dtype ({dt.scalar_type})")
    return x.to(dt)


def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """``(sum_i |x_i|^ord)^(1/ord)`` over ``dim`` (every value if None): ord=2 is the
    length of a vector, 1 the sum of absolute values, inf the largest one, 0 the count of
    nonzeros. (``tapegrad.linalg.vector_norm``.)"""
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    return VectorNorm.apply(_norm_input(x, dtype, "linalg.vector_norm"), ord=float(ord),
                            dim=dim, keepdim=keepdim)


def _matrix_dims(A: Tensor, dim: Any) -> tuple[int, int]:
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    if len(dims) != 2:
        raise RuntimeError("linalg.matrix_norm: dim must be a 2-tuple. Got "
                           + " ".join(map(str, dims)))
    d0, d1 = (wrap_dim(d, A.ndim) for d in dims)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({d0}, {d1})")
    return d0, d1


@computed_on_host
def matrix_norm(A: Tensor, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """A norm of each matrix in the dims ``dim``: ``'fro'`` (the 2-norm of all entries),
    ``'nuc'`` (the sum of the singular values), 2/-2 (the largest/smallest singular
    value), 1/-1 (the largest/smallest column sum of absolute values), inf/-inf (the
    same for rows). (``tapegrad.linalg.matrix_norm``.)"""
    d0, d1 = _matrix_dims(A, dim)
    if not A.is_floating_point():
        raise RuntimeError("linalg.matrix_norm: Expected a floating point or complex tensor "
                           f"as input. Got {A.dtype.scalar_type}")
    A = _norm_input(A, dtype, "linalg.matrix_norm")
    if ord == "fro":
        return VectorNorm.apply(A, ord=2.0, dim=(d0, d1), keepdim=keepdim)
    if ord == "nuc" or ord in (2, -2):
        if A._data.size == 0 and ord != "nuc":
            raise IndexError("linalg.matrix_norm: the matrix is empty, so it has no singular "
                             "values")
        s = svdvals(A.movedim((d0, d1), (-2, -1)))
        if ord == "nuc":
            out = s.sum(-1)
        else:
            out = s.amax(-1) if ord == 2 else s.amin(-1)
        if keepdim:
            for d in sorted((d0, d1)):
                out = out.unsqueeze(d)
        return out
    if ord not in (1, -1, math.inf, -math.inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    # 1: the largest column sum (sum down the rows, d0); inf: the largest row sum (d1)
    summed, picked = (d0, d1) if abs(ord) == 1 else (d1, d0)
    if A.shape[picked] == 0:
        raise IndexError(f"linalg.matrix_norm: Expected reduction dim {picked} to have "
                         "non-zero size.")
    sums = VectorNorm.apply(A, ord=1.0, dim=summed, keepdim=True)
    out = sums.amax(picked, keepdim=True) if ord > 0 else sums.amin(picked, keepdim=True)
    return out if keepdim else out.squeeze((d0, d1))


def linalg_norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """``tapegrad.linalg.norm``: a `matrix_norm` when ``dim`` is a 2-tuple (or, with no
    ``dim``, when ``ord`` is given for a 2-D input), otherwise a `vector_norm` (with
    neither, the 2-norm of all values)."""
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        if isinstance(ord, str):
            raise RuntimeError(f"linalg.norm: If dim is specified, it mut be of length 1 or 2. "
                               f"Got {list(dims)}")
        return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
    if ord is not None:
        if A.ndim not in (1, 2):
            raise RuntimeError("linalg.norm: If dim is not specified but ord is, the input must "
                               f"be 1D or 2D. Got {A.ndim}D.")
        if A.ndim == 2:
            return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    return vector_norm(A, 2, None, keepdim, dtype=dtype)


def norm(x: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False,
         dtype: Any = None) -> Tensor:
    """The p-norm over ``dim`` (all dims if None), as ``torch.norm``: ``'fro'`` (the
    default) is the 2-norm of the values, numbers give p-norms, ``inf``/``-inf`` the
    largest/smallest absolute value, ``'nuc'`` the nuclear norm of a matrix (the sum of
    its singular values)."""
    if isinstance(p, str):
        if p == "nuc":
            return matrix_norm(x, "nuc", (-2, -1) if dim is None else dim, keepdim,
                               dtype=dtype)
        matrix_dims = dim is not None and not isinstance(dim, int) and len(dim) > 2
        if p != "fro" or matrix_dims:
            _matrix_norm_error(p, dim)
        p = 2.0
    p = 2.0 if p is None else float(p)
    x = _norm_input(x, dtype, "linalg.vector_norm")
    return VectorNorm.apply(x, ord=p, dim=dim, keepdim=keepdim)


def _matrix_norm_error(p: str, dim: Any) -> None:
    if dim is not None and len(dim) != 2:
        raise RuntimeError(
            f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
    raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")


def renorm(x: Tensor, p: Any, dim: int, maxnorm: Any) -> Tensor:
    """Rescale each slice ``x.select(dim, i)`` whose p-norm exceeds ``maxnorm`` down to
    norm ``maxnorm`` (times ``maxnorm / (norm + 1e-7)``, as torch); the others unchanged.
    The factor depends on x, and the gradient goes through it."""
    if x.ndim <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {x.ndim} "
                           "dimensions")
    if float(p) <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if float(maxnorm) < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if not x.is_floating_point():
        raise RuntimeError(f"\"renorm_out\" not implemented for '{x.dtype.scalar_type}'")
    d = wrap_dim(dim, x.ndim)
    others = tuple(i for i in range(x.ndim) if i != d)
    norms = VectorNorm.apply(x, ord=float(p), dim=others, keepdim=True)
    over = norms > maxnorm
    factor = float(maxnorm) / (norms + 1e-7)
    return x * factor.where(over, x.new_ones(()))


def renorm_(x: Tensor, p: Any, dim: int, maxnorm: Any) -> Tensor:
    """In-place `renorm`: writes the result into x (the gradient reaches x's old value
    through the recorded copy)."""
    return x.copy_(renorm(x.clone(), p, dim, maxnorm))


METHODS = {"var": var, "std": std, "norm": norm, "renorm": renorm, "renorm_": renorm_}

__all__ = ["var", "std", "norm", "renorm"]
