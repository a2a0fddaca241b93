"""Combining tensors into grids and products of their elements: ``broadcast_tensors``,
``meshgrid``, ``cartesian_prod``, ``combinations`` and ``block_diag``.

All of them are made of ops that already have a backward, so none needs one of its own:

    broadcast_tensors(a, b)   each input ``expand``-ed to the common shape (views): an
                              element copied into many places gets the *sum* of their grads
    meshgrid(x, y)            x viewed as a column, y as a row, both expanded to (len x, len y)
    cartesian_prod(x, y)      the meshgrid, flattened and stacked: every pair (x_i, y_j)
    combinations(x, r)        ``x[idx]`` for the index table of all r-subsets (advanced
                              indexing: its backward adds the gradient of every copy)
    block_diag(a, b)          each block padded with zeros left and right, then stacked
                              (``cat``): the backward hands each block its own rectangle
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np

from tapegrad import dtypes
from tapegrad.ops._util import broadcast_shapes as pairwise_broadcast
from tapegrad.ops._util import wrap
from tapegrad.ops.checks.tensor_args import require_tensors
from tapegrad.ops.joining import cat, stack
from tapegrad.ops.shape import expand, reshape
from tapegrad.tensor import Size, Tensor


def _operands(args: tuple) -> tuple:
    """``f(a, b)`` or ``f([a, b])``: torch's variadic tensor functions accept both."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        return tuple(args[0])
    return args


def broadcast_shapes(*shapes: Any) -> Size:
    """The shape that tensors of ``shapes`` broadcast to (an int stands for a 1-D shape),
    with torch's errors: a dim that neither matches nor is 1 cannot be broadcast."""
    as_tuples = [(int(s),) if isinstance(s, (int, np.integer)) else tuple(int(n) for n in s)
                 for s in shapes]
    ndim = max((len(s) for s in as_tuples), default=0)
    result = [1] * ndim
    for k, s in enumerate(as_tuples):
        for i in range(-len(s), 0):
            n = s[i]
            if n < 0:
                raise ValueError("Attempting to broadcast a dimension with negative length!")
            if result[i] == 1:
                result[i] = n
            elif n not in (1, result[i]):
                raise RuntimeError(
                    f"Attempting to broadcast a dimension of length {n} at {i}! Mismatching "
                    f"argument at index {k} had {s}; but expected shape should be "
                    f"broadcastable to {result}")
    return Size(result)


def broadcast_tensors(*operands: Tensor) -> tuple:
    """Each tensor expanded (a view, no copy) to the shape they all broadcast to."""
    tensors = _operands(operands)
    require_tensors(list(tensors), "broadcast_tensors")
    shape = pairwise_broadcast(*(t._data.shape for t in tensors))  # torch's "size of a/b"
    return tuple(expand(t, shape) for t in tensors)


def meshgrid(*operands: Any, indexing: str | None = None) -> tuple:
    """Coordinate grids: with ``indexing='ij'`` output k has shape ``(n0, n1, ...)`` and
    ``out_k[i0, i1, ...] = tensors[k][i_k]``; ``'xy'`` (numpy's and matplotlib's default)
    swaps the first two dims. torch warns when ``indexing`` is not given (default ``'ij'``)."""
    tensors = _operands(operands)
    require_tensors(list(tensors), "meshgrid")
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")
    if not tensors:
        raise RuntimeError("torch.meshgrid expects a non-empty TensorList")
    for t in tensors:
        if t._data.ndim > 1:
            raise RuntimeError("torch.meshgrid: Expected 0D or 1D tensor in the tensor list "
                               f"but got: {t}")
    for t in tensors[1:]:
        if t.dtype is not tensors[0].dtype:
            raise RuntimeError("torch.meshgrid: Expected all tensors in the tensor list to "
                               "have the same dtype")
    ordered = list(tensors)
    swap = indexing == "xy" and len(ordered) >= 2
    if swap:
        ordered[0], ordered[1] = ordered[1], ordered[0]
    shape = tuple(t._data.size for t in ordered)
    grids = []
    for k, t in enumerate(ordered):
        column = [1] * len(shape)
        column[k] = -1
        grids.append(expand(reshape(t, tuple(column)), shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def cartesian_prod(*tensors_: Tensor) -> Tensor:
    """Every tuple ``(a_i, b_j, ...)`` of elements of the 1-D inputs, one row each, in
    itertools.product order (the last input varies fastest). One input is returned as is."""
    tensors = _operands(tensors_)
    require_tensors(list(tensors), "cartesian_prod")
    for t in tensors:
        if t._data.ndim != 1:
            raise RuntimeError("Expect a 1D vector, but got shape " + str(list(t._data.shape)))
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, (-1,)) for g in grids], dim=1)


def combinations(x: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """All length-``r`` combinations of the elements of the 1-D ``x`` (itertools order), one
    per row; ``with_replacement`` lets an element repeat. ``r=0`` gives an empty tensor."""
    if x._data.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(x._data.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return wrap(np.zeros((0,), dtype=x._data.dtype))
    make = itertools.combinations_with_replacement if with_replacement \
        else itertools.combinations
    rows = list(make(range(x._data.shape[0]), r))
    index = np.array(rows, dtype=np.int64).reshape(len(rows), r)
    return x[wrap(index)]


def block_diag(*tensors_: Tensor) -> Tensor:
    """The block-diagonal matrix with the inputs on its diagonal (a 0-d input is a 1x1
    block, a 1-D one a single row), zeros elsewhere, in the inputs' promoted dtype."""
    tensors = _operands(tensors_)
    require_tensors(list(tensors), "block_diag")
    blocks = []
    for i, t in enumerate(tensors):
        if t._data.ndim > 2:
            raise RuntimeError(
                f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} "
                f"has {t._data.ndim} dimensions")
        blocks.append(reshape(t, (1, -1)) if t._data.ndim < 2 else t)
    out_dtype = dtypes.result_type(*tensors) if tensors else dtypes.get_default_dtype()
    width = sum(b._data.shape[1] for b in blocks)
    if not blocks:
        return wrap(np.zeros((1, 0), dtype=out_dtype.numpy))
    rows, left = [], 0
    for b in blocks:
        h, w = b._data.shape
        pads = [wrap(np.zeros((h, left), dtype=out_dtype.numpy, like=b._data)),
                b.to(out_dtype),
                wrap(np.zeros((h, width - left - w), dtype=out_dtype.numpy, like=b._data))]
        rows.append(cat(pads, dim=1))
        left += w
    return cat(rows, dim=0)


__all__ = ["broadcast_shapes", "broadcast_tensors", "meshgrid", "cartesian_prod",
           "combinations", "block_diag"]

METHODS: dict[str, Any] = {}
