"""What every reduction shares: which axes it collapses, putting them back for backward,
and the dtype it accumulates in."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapegrad import dtypes
from tapegrad.ops._util import wrap_dims
from tapegrad.tensor import Tensor


def reduce_axes(dim: Any, ndim: int) -> tuple[int, ...]:
    """The axes a reduction over ``dim`` collapses (sorted, non-negative).

    None and ``()`` mean every axis. A 0-d tensor accepts dim 0/-1 but has no axis to
    collapse, so it gives ``()``: the reduction leaves its single value as it is.
    """
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    axes = wrap_dims(dim, ndim)  # validates, and raises torch's errors
    return axes if ndim > 0 else ()


def kept_shape(shape: tuple, axes: tuple) -> tuple:
    """``shape`` with every reduced axis set to 1 (the output shape with keepdim=True)."""
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def unkeep(t: Tensor, shape: tuple, axes: tuple, keepdim: bool) -> Tensor:
    """Put the reduced dims of a reduction's output (or gradient) back as size 1, so it
    broadcasts against the input."""
    return t if keepdim else t.reshape(kept_shape(shape, axes))


def unreduce(grad: Tensor, shape: tuple, axes: tuple, keepdim: bool) -> Tensor:
    """Broadcast a reduction's gradient back over the input's ``shape``: the backward of
    "many values -> one" is "one value -> many" (``expand``, the reverse of ``sum``)."""
    return unkeep(grad, shape, axes, keepdim).expand(shape)


def count(shape: tuple, axes: tuple) -> int:
    """How many input values fall into each output value."""
    return math.prod(shape[a] for a in axes)


def sum_dtype(x: Tensor, dtype: Any) -> dtypes.dtype:
    """torch's output dtype of sum/prod/cumsum: ``dtype`` if given, integers and bools
    accumulate in int64, floats keep their dtype."""
    if dtype is not None:
        return dtypes.to_dtype(dtype)
    return x.dtype if x.dtype.is_floating_point else dtypes.int64


def accumulator(dt: dtypes.dtype) -> np.dtype:
    # float16 sums lose too much precision; torch accumulates them in float32 too
    return np.dtype(np.float32) if dt is dtypes.float16 else dt.numpy


# ---------------------------------------------------------------- sum / mean
