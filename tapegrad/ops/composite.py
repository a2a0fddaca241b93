"""Ops that are a few other ops put together: ``tril``, ``roll``, ``hstack``, ``var_mean``...

Each is written with differentiable tapegrad ops only (``where``, ``cat``, ``narrow``,
``flip``, ``transpose``, ``sum``...), so it needs no backward of its own: autograd records
the ops it is made of, and the gradient (and the second derivative) follows from theirs.
That is also how a reader can check one: the body *is* the definition. torch's argument
checks and messages come first, since torch code relies on them.

PyTorch's own test database (``tapegrad check --torch-db --ops NAME``) is the test of each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.ops.comparison import isnan, where
from tapegrad.ops.dims import diagonal, transpose
from tapegrad.ops.indexing import narrow
from tapegrad.ops.joining import cat, flip
from tapegrad.ops.reduction.norms import std, var
from tapegrad.ops.reduction.sums import mean, sum
from tapegrad.ops.shape import clone, expand, reshape
from tapegrad.tensor import Tensor, wrap_dim


# ---------------------------------------------------------------- triangles
def _triangle(x: Tensor, diagonal: int, upper: bool) -> Tensor:
    name = "triu" if upper else "tril"
    require_tensor(x, name)
    if x.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    rows, cols = x.shape[-2:]
    ones = np.ones((rows, cols), dtype=bool)
    keep = np.triu(ones, diagonal) if upper else np.tril(ones, diagonal)
    # where, not a multiplication by the mask: inf * 0 would put NaNs above the diagonal
    return where(Tensor._from_array(keep), x, x.new_zeros(()))


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (on and below ``diagonal``), zeros above."""
    return _triangle(x, diagonal, upper=False)


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (on and above ``diagonal``), zeros below."""
    return _triangle(x, diagonal, upper=True)


def trace(x: Tensor) -> Tensor:
    """The sum of a matrix's main diagonal."""
    require_tensor(x, "trace")
    if x.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {x.ndim}")
    return sum(diagonal(x))


# ---------------------------------------------------------------- moving elements
def _ints(v: Any) -> tuple[int, ...]:
    return tuple(int(i) for i in v) if isinstance(v, Sequence) else (int(v),)


def roll(x: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Shift elements along ``dims`` by ``shifts``, wrapping around the end (without
    ``dims``, over the flattened tensor). Each shift is two slices put back together."""
    require_tensor(x, "roll")
    shifts = _ints(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                               "dims:0")
        return reshape(roll(reshape(x, (-1,)), shifts, 0), tuple(x.shape))
    dims = _ints(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    out = clone(x)
    for shift, dim in zip(shifts, dims, strict=True):
        d = wrap_dim(dim, max(x.ndim, 1))
        n = out.shape[d]
        s = shift % n if n else 0
        if s:
            out = cat([narrow(out, d, n - s, s), narrow(out, d, 0, n - s)], d)
    return out


def rot90(x: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotate by 90° ``k`` times in the plane of ``dims`` (from the first towards the
    second): a flip and a transpose."""
    require_tensor(x, "rot90")
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if x.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {x.ndim}")
    d0, d1 = wrap_dim(dims[0], x.ndim), wrap_dim(dims[1], x.ndim)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and "
                           f"dim1 = {d1}")
    k %= 4
    if k == 1:
        return transpose(flip(x, d1), d0, d1)
    if k == 2:
        return flip(x, (d0, d1))
    if k == 3:
        return transpose(flip(x, d0), d0, d1)
    return clone(x)


def fliplr(x: Tensor) -> Tensor:
    """Reverse the columns (dim 1)."""
    require_tensor(x, "fliplr")
    if x.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(x, 1)


def flipud(x: Tensor) -> Tensor:
    """Reverse the rows (dim 0)."""
    require_tensor(x, "flipud")
    if x.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(x, 0)


# ---------------------------------------------------------------- shapes
def _at_least(n: int, name: str, operands: tuple) -> Any:
    single = len(operands) == 1 and isinstance(operands[0], Tensor)
    items = operands[0] if len(operands) == 1 and isinstance(operands[0], (list, tuple)) \
        else operands
    out = []
    for t in items:
        require_tensor(t, name)
        if t.ndim >= n:
            out.append(t)
        elif n == 3 and t.ndim == 2:
            out.append(reshape(t, (*t.shape, 1)))
        elif n == 3 and t.ndim == 1:
            out.append(reshape(t, (1, t.shape[0], 1)))
        else:
            out.append(reshape(t, (1,) * (n - t.ndim) + tuple(t.shape)))
    return out[0] if single else tuple(out)


def atleast_1d(*operands: Any) -> Any:
    """The tensor (or each tensor) with at least one dimension: a 0-d x becomes ``[x]``."""
    return _at_least(1, "atleast_1d", operands)


def atleast_2d(*operands: Any) -> Any:
    """At least two dimensions: leading dims of size 1 are added."""
    return _at_least(2, "atleast_2d", operands)


def atleast_3d(*operands: Any) -> Any:
    """At least three dimensions (numpy's rule: a vector (n,) becomes (1, n, 1), a matrix
    (m, n) becomes (m, n, 1))."""
    return _at_least(3, "atleast_3d", operands)


def ravel(x: Tensor) -> Tensor:
    """The elements as one dimension (a view when the layout allows, as reshape)."""
    require_tensor(x, "ravel")
    return reshape(x, (-1,))


def broadcast_to(x: Tensor, size: Any) -> Tensor:
    """``x`` expanded to ``size`` by broadcasting (a view; -1 keeps a size)."""
    require_tensor(x, "broadcast_to")
    return expand(x, tuple(size))


def positive(x: Tensor) -> Tensor:
    """``+x``: the tensor itself (torch refuses it for bool tensors)."""
    require_tensor(x, "positive")
    if x.dtype.name == "bool":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return x


# ---------------------------------------------------------------- stacking
def _stack_list(name: str, tensors: Any) -> list[Tensor]:
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        f"not {type(tensors).__name__}")
    if not tensors:
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    return list(tensors)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along dim 1 (dim 0 for vectors)."""
    ts = atleast_1d(_stack_list("hstack", tensors))
    return cat(list(ts), 0 if ts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Stack rows: concatenate along dim 0 after making every tensor at least 2-d."""
    return cat(list(atleast_2d(_stack_list("vstack", tensors))), 0)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along dim 2 after making every tensor at least 3-d."""
    return cat(list(atleast_3d(_stack_list("dstack", tensors))), 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Vectors (and scalars) as columns, then concatenate along dim 1."""
    ts = _stack_list("column_stack", tensors)
    cols = [reshape(t, (-1, 1)) if t.ndim <= 1 else t for t in ts]
    return cat(cols, 1)


# ---------------------------------------------------------------- arithmetic
def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *,
            value: Any = 1) -> Tensor:
    """``input + value * tensor1 * tensor2`` (broadcast)."""
    require_tensor(input, "addcmul")
    return input + value * tensor1 * tensor2


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *,
            value: Any = 1) -> Tensor:
    """``input + value * tensor1 / tensor2`` (broadcast; floating tensors only)."""
    require_tensor(input, "addcdiv")
    if not (tensor1.is_floating_point() or tensor2.is_floating_point()):
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future release "
            "addcdiv will perform a true division of tensor1 and tensor2. The historic "
            "addcdiv behavior can be implemented as (input + value * torch.trunc(tensor1 / "
            "tensor2)).to(input.dtype) for integer inputs and as (input + value * tensor1 / "
            "tensor2) for float inputs. The future addcdiv behavior is just the latter "
            "implementation: (input + value * tensor1 / tensor2), for all dtypes.")
    return input + value * (tensor1 / tensor2)


# ---------------------------------------------------------------- reductions
def _dim_and_keepdim(args: tuple, kwargs: dict) -> tuple[Any, bool]:
    """var/std's ``dim`` and ``keepdim`` from either overload: (dim, unbiased, keepdim) or
    (unbiased) positionally, or keywords."""
    positional = list(args)
    if positional and isinstance(positional[0], bool):  # var_mean(x, unbiased)
        positional = []
    dim = kwargs.get("dim", positional[0] if positional else None)
    keepdim = kwargs.get("keepdim", positional[2] if len(positional) > 2 else False)
    return dim, keepdim


def var_mean(x: Tensor, *args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
    """``(var(x, ...), mean(x, ...))`` over the same dims; `var`'s arguments."""
    dim, keepdim = _dim_and_keepdim(args, kwargs)
    return var(x, *args, **kwargs), mean(x, dim, keepdim)


def std_mean(x: Tensor, *args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
    """``(std(x, ...), mean(x, ...))`` over the same dims; `std`'s arguments."""
    dim, keepdim = _dim_and_keepdim(args, kwargs)
    return std(x, *args, **kwargs), mean(x, dim, keepdim)


def nansum(x: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """`sum` with NaNs counted as zero (their gradient is zero too)."""
    require_tensor(x, "nansum")
    clean = where(isnan(x), x.new_zeros(()), x) if x.is_floating_point() else x
    return sum(clean, dim, keepdim, dtype=dtype)


def nanmean(x: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """`mean` over the elements that are not NaN."""
    require_tensor(x, "nanmean")
    if not x.is_floating_point():
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype "
                           f"but got {x.dtype.name.capitalize()}")
    count = sum((~isnan(x)).to(x.dtype), dim, keepdim)
    return nansum(x, dim, keepdim, dtype=dtype) / count


__all__ = ["tril", "triu", "trace", "roll", "rot90", "fliplr", "flipud", "atleast_1d",
           "atleast_2d", "atleast_3d", "ravel", "broadcast_to", "positive", "hstack", "vstack",
           "dstack", "column_stack", "addcmul", "addcdiv", "var_mean", "std_mean", "nansum",
           "nanmean"]

# Tensor methods this family provides (installed by tapegrad.ops), as torch has them.
METHODS = {
    "tril": tril, "triu": triu, "trace": trace, "roll": roll, "rot90": rot90,
    "fliplr": fliplr, "flipud": flipud, "ravel": ravel, "broadcast_to": broadcast_to,
    "positive": positive, "addcmul": addcmul, "addcdiv": addcdiv, "nansum": nansum,
    "nanmean": nanmean,
}
