"""Writing into a view of a copy: ``select_scatter``, ``slice_scatter``,
``diagonal_scatter``, and the matrices built that way: ``diag``, ``diag_embed``, ``diagflat``.

``torch.select_scatter(x, src, dim, i)`` is "``x`` with ``x.select(dim, i)`` replaced by
``src``", out of place. It is written here exactly like that::

    out = x.clone()
    out.select(dim, i).copy_(src)     # an in-place op through a view: CopySlices

so autograd gets it right by the machinery of `tapegrad.autograd.views`: the in-place
``copy_`` through a view of ``out`` rebases ``out``'s history onto a ``CopySlices`` node. Its
backward hands ``src`` the gradient read through the same view (``grad.select(dim, i)``)
and ``x`` the gradient with that part zeroed (the old values there were overwritten). Every
step is a recorded op, so the second derivative comes for free.

``diag_embed`` (and ``diag`` of a vector, ``diagflat``) is the same trick on a tensor of
zeros: ``zeros.diagonal(offset, dim1, dim2).copy_(x)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad.ops._util import wrap, wrap_dim
from tapegrad.ops.dims import diagonal as diagonal_view
from tapegrad.ops.indexing import select, slice_tensor
from tapegrad.ops.shape import Clone, reshape
from tapegrad.tensor import Tensor


def write_into_view(x: Tensor, src: Tensor, make_view: Any) -> Tensor:
    """``x`` cloned, with ``make_view(clone)`` overwritten by ``src`` (same shape)."""
    out = Clone.apply(x)
    target = make_view(out)
    if target._data.shape != src._data.shape:
        raise RuntimeError(
            f"expected src to have a size equal to the slice of self. src size = "
            f"{list(src._data.shape)}, slice size = {list(target._data.shape)}")
    target.copy_(src)
    return out


def select_scatter(x: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """``x`` with the slice ``x.select(dim, index)`` replaced by ``src`` (a new tensor)."""
    return write_into_view(x, src, lambda t: select(t, dim, index))


def slice_scatter(x: Tensor, src: Tensor, dim: int = 0, start: int | None = None,
                  end: int | None = None, step: int = 1) -> Tensor:
    """``x`` with ``x[start:end:step]`` along ``dim`` replaced by ``src`` (a new tensor)."""
    return write_into_view(x, src,
                            lambda t: slice_tensor(t, dim, start, end, step))


def diagonal_scatter(x: Tensor, src: Tensor, offset: int = 0, dim1: int = 0,
                     dim2: int = 1) -> Tensor:
    """``x`` with its diagonal ``x.diagonal(offset, dim1, dim2)`` replaced by ``src``."""
    return write_into_view(x, src,
                            lambda t: diagonal_view(t, offset, dim1, dim2))


def diag_embed(x: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Put the last dim of ``x`` on the diagonal ``offset`` of new dims ``dim1``/``dim2``:
    the result has one more dim, and both new dims have size ``n + |offset|``."""
    nd = x._data.ndim + 1
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = (x._data.shape[-1] if x._data.ndim else 1) + abs(int(offset))
    rest = iter(x._data.shape[:-1])
    shape = tuple(n if k in (d1, d2) else next(rest) for k in range(nd))
    zeros = wrap(np.zeros(shape, dtype=x._data.dtype, like=x._data))
    source = x if x._data.ndim else reshape(x, (1,))
    return write_into_view(zeros, source,
                            lambda t: diagonal_view(t, offset, d1, d2))


def diag(x: Tensor, diagonal: int = 0) -> Tensor:
    """A vector becomes a square matrix with it on diagonal ``diagonal`` (zeros elsewhere);
    a matrix gives its diagonal ``diagonal`` as a vector (a copy, unlike ``diagonal()``)."""
    if x._data.ndim == 1:
        return diag_embed(x, diagonal, 0, 1)
    if x._data.ndim == 2:
        return Clone.apply(diagonal_view(x, diagonal))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {x._data.ndim}D")


def diagflat(x: Tensor, offset: int = 0) -> Tensor:
    """``diag`` of ``x`` flattened: always a square matrix with ``x``'s values on the
    diagonal ``offset``."""
    return diag_embed(reshape(x, (-1,)), offset, 0, 1)


__all__ = ["select_scatter", "slice_scatter", "diagonal_scatter", "diag_embed", "diag",
           "diagflat"]

METHODS = {"select_scatter": select_scatter, "slice_scatter": slice_scatter,
           "diagonal_scatter": diagonal_scatter, "diag_embed": diag_embed, "diag": diag,
           "diagflat": diagflat}
