"""The ``*_copy`` ops: each view op, but returning a tensor with its own memory.

torch has a copying twin for every view op (``expand_copy``, ``permute_copy``,
``unbind_copy``...): the same values as the view, but nothing is shared, so an in-place
change to the result never reaches the input (and there is no version counter to share).
Compilers use them where aliasing would be a nuisance. Here each one is literally "the view,
then ``clone``": a composite of two differentiable ops, so its backward is the view's
backward (the clone's passes the gradient through) and needs no code of its own.
"""

from __future__ import annotations

from typing import Any

from tapegrad.ops import dims as dim_ops
from tapegrad.ops import indexing, joining, linalg, shape
from tapegrad.ops.shape import Clone
from tapegrad.tensor import Tensor


def _copied(out: Any) -> Any:
    """Clone a view (or every view of a tuple) so that nothing shares the input's memory."""
    if isinstance(out, tuple):
        return tuple(Clone.apply(o) for o in out)
    return Clone.apply(out)


def expand_copy(x: Tensor, size: Any, *, implicit: bool = False) -> Tensor:
    """``x.expand(size)`` as a tensor of its own (every repeated element really copied)."""
    return _copied(shape.expand(x, size))


def alias_copy(x: Tensor) -> Tensor:
    """A copy of ``x`` (torch's ``alias`` is ``x`` under another name; this is its copy)."""
    return _copied(x)


def view_copy(x: Tensor, *size: Any) -> Tensor:
    """``x.view(size)`` as a copy (the same contiguity rule: it fails where view fails)."""
    return _copied(shape.view(x, *size))


def permute_copy(x: Tensor, dims: Any) -> Tensor:
    """``x.permute(dims)`` as a copy."""
    return _copied(dim_ops.permute(x, dims))


def transpose_copy(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """``x.transpose(dim0, dim1)`` as a copy."""
    return _copied(dim_ops.transpose(x, dim0, dim1))


def t_copy(x: Tensor) -> Tensor:
    """``x.t()`` as a copy."""
    return _copied(linalg.t(x))


def squeeze_copy(x: Tensor, dim: Any = None) -> Tensor:
    """``x.squeeze(dim)`` as a copy."""
    return _copied(dim_ops.squeeze(x, dim))


def unsqueeze_copy(x: Tensor, dim: int) -> Tensor:
    """``x.unsqueeze(dim)`` as a copy."""
    return _copied(dim_ops.unsqueeze(x, dim))


def narrow_copy(x: Tensor, dim: int, start: Any, length: int) -> Tensor:
    """``x.narrow(dim, start, length)`` as a copy. Two of torch's errors differ from
    narrow's (it is a separate native op): a dim one past the end and a negative length
    fail its size assertion with a RuntimeError."""
    if x._data.ndim and dim == x._data.ndim:
        raise RuntimeError("Expected dim < static_cast<int64_t>(self_sizes.size()) to be "
                           "true, but got false.")
    if length < 0 and x._data.ndim:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({x._data.shape[dim]}).")
    return _copied(indexing.narrow(x, dim, start, length))


def diagonal_copy(x: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """``x.diagonal(offset, dim1, dim2)`` as a copy."""
    return _copied(dim_ops.diagonal(x, offset, dim1, dim2))


def unbind_copy(x: Tensor, dim: int = 0) -> tuple:
    """``x.unbind(dim)`` as copies."""
    return _copied(joining.unbind(x, dim))


def split_with_sizes_copy(x: Tensor, split_sizes: Any, dim: int = 0) -> tuple:
    """``x.split_with_sizes(split_sizes, dim)`` as copies."""
    return _copied(joining.split_with_sizes(x, split_sizes, dim))


def split_copy(x: Tensor, split_size: Any, dim: int = 0) -> tuple:
    """``x.split(split_size, dim)`` as copies."""
    return _copied(joining.split(x, split_size, dim))


__all__ = ["expand_copy", "alias_copy", "view_copy", "permute_copy", "transpose_copy",
           "t_copy", "squeeze_copy", "unsqueeze_copy", "narrow_copy", "diagonal_copy",
           "unbind_copy", "split_with_sizes_copy", "split_copy"]

METHODS: dict[str, Any] = {}
