"""Dim ops: reorder, insert, drop, merge and split whole dims; the values are untouched.

    permute / transpose / movedim   reorder dims         backward: the inverse reordering
    unsqueeze                       insert a size-1 dim  backward: squeeze it out again
    squeeze                         drop size-1 dims     backward: reshape them back in
    flatten / unflatten             merge / split dims   a ``reshape`` (its node, its backward)

A permutation is undone by its inverse (``argsort`` of the order) and a swap of two dims by
the same swap, so a gradient reaches the input by travelling back through the inverse.
These ops return views, as in torch: the result shares storage and the version counter with
its input (`tapegrad.ops.shape._view_of`), so an in-place change made through one is seen
through the other (``flatten``, like ``reshape``, copies when the memory layout forbids a
view). Reshapes, ``expand`` and dtype casts are in `tapegrad.ops.shape`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.views import ViewFunction
from tapegrad.ops._util import wrap_dim
from tapegrad.ops.shape import _infer_shape, _view_of, reshape, unique_dims
from tapegrad.tensor import Tensor, shape_from_args


class Permute(ViewFunction):
    """Reorder the dims (a view): output dim i is input dim ``dims[i]``; backward applies
    the inverse permutation to the gradient."""

    caption = ('{g} permuted back by the inverse of {opts} : {sg} → {s0}',)

    @staticmethod
    def forward(ctx: Node, x: Tensor, dims: tuple) -> Tensor:
        ctx.dims = dims
        return _view_of(x, np.transpose(x._data, dims))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return grad.permute(tuple(int(i) for i in np.argsort(ctx.dims)))


class Transpose(ViewFunction):
    """Swap two dims (a view); a swap is its own inverse, so backward swaps them back."""

    caption = ('{g} transposed back ({opts}) : {sg} → {s0}',)

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim0: int, dim1: int) -> Tensor:
        ctx.dim0, ctx.dim1 = dim0, dim1
        if x._data.ndim == 0:  # a 0-d tensor accepts dims 0/-1: nothing to swap
            return _view_of(x, x._data.view())
        return _view_of(x, np.swapaxes(x._data, dim0, dim1))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return grad.transpose(ctx.dim0, ctx.dim1)


class Squeeze(ViewFunction):
    """Drop size-1 dims (a view); backward puts them back (a reshape to the input shape).
    torch numbers the node by overload: no dim (0), one dim (1), several dims (2)."""

    caption = ('{g} with the size-1 dims put back : {sg} → {s0}',)

    @staticmethod
    def forward(ctx: Node, x: Tensor, dims: tuple) -> Tensor:
        ctx.input_shape = x._data.shape
        drop = tuple(d for d in dims if d < x._data.ndim and x._data.shape[d] == 1)
        return _view_of(x, np.squeeze(x._data, axis=drop))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return grad.reshape(ctx.input_shape)


class SqueezeDim(Squeeze):
    node_name = "SqueezeBackward1"
    op_name = "squeeze"


class SqueezeDims(Squeeze):
    node_name = "SqueezeBackward2"
    op_name = "squeeze"


class Unsqueeze(ViewFunction):
    """Insert a size-1 dim at ``dim`` (a view); backward squeezes it out again."""

    caption = ('{g} with the added dim removed : {sg} → {s0}',)

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int) -> Tensor:
        ctx.dim = dim
        return _view_of(x, np.expand_dims(x._data, dim))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return SqueezeDim.apply(grad, dims=(ctx.dim,))


class Diagonal(ViewFunction):
    """The diagonal ``offset`` of the matrices in dims ``dim1, dim2`` (a view, moved to the
    last dim). Backward writes the gradient onto that diagonal of zeros."""

    caption = ('{g} put on the diagonal of zeros ({opts}) : {sg} → {s0}',)

    @staticmethod
    def forward(ctx: Node, x: Tensor, offset: int, dim1: int, dim2: int) -> Tensor:
        ctx.input_shape, ctx.args = x._data.shape, (offset, dim1, dim2)
        return _view_of(x, _diagonal_view(x._data, offset, dim1, dim2))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return DiagonalScatter.apply(grad, shape=ctx.input_shape, args=ctx.args)


class DiagonalScatter(Function):
    """Diagonal's backward as an op (so double backward works): zeros with ``grad`` on the
    diagonal; its own backward reads that diagonal again."""

    node_name = "DiagonalBackwardBackward0"
    op_name = "diagonal_backward"

    @staticmethod
    def forward(ctx: Node, grad: Tensor, shape: tuple, args: tuple) -> Tensor:
        ctx.args = args
        out = np.zeros(shape, dtype=grad._data.dtype, like=grad._data)
        _diagonal_view(out, *args)[...] = grad._data
        return Tensor._from_array(out)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        offset, dim1, dim2 = ctx.args
        return Diagonal.apply(grad, offset=offset, dim1=dim1, dim2=dim2)


def _diagonal_view(a: np.ndarray, offset: int, dim1: int, dim2: int) -> np.ndarray:
    """numpy's diagonal is a read-only view; torch's is writable (it is an ordinary view)."""
    d = np.diagonal(a, offset, dim1, dim2)
    if a.flags.writeable and not d.flags.writeable:
        d.flags.writeable = True
    return d


# ---------------------------------------------------------------- public functions
def permute(x: Tensor, *dims: Any) -> Tensor:
    """Reorder dims: ``x.permute(2, 0, 1)`` makes input dim 2 the first output dim."""
    order = shape_from_args(dims)
    if len(order) != x._data.ndim:
        raise RuntimeError(
            "permute(sparse_coo): number of dimensions in the tensor input does not match the "
            "length of the desired ordering of dimensions i.e. input.dim() = "
            f"{x._data.ndim} is not equal to len(dims) = {len(order)}")
    wrapped = tuple(wrap_dim(d, x._data.ndim) for d in order)
    if len(set(wrapped)) != len(wrapped):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(x, dims=wrapped)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap dims ``dim0`` and ``dim1`` (a view)."""
    nd = x._data.ndim
    return Transpose.apply(x, dim0=wrap_dim(dim0, nd), dim1=wrap_dim(dim1, nd))


def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    """Remove size-1 dims: all of them, or only those among ``dim`` (int or tuple)."""
    nd = x._data.ndim
    if dim is None:
        return Squeeze.apply(x, dims=tuple(range(nd)))
    if isinstance(dim, (int, np.integer)):
        return SqueezeDim.apply(x, dims=(wrap_dim(dim, nd),))
    return SqueezeDims.apply(x, dims=unique_dims(dim, nd))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim so that it becomes dim ``dim`` of the result."""
    return Unsqueeze.apply(x, dim=wrap_dim(dim, x._data.ndim + 1))


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one (a view when the layout allows)."""
    nd = x._data.ndim
    if nd == 0:
        return reshape(x, (1,))
    start, end = wrap_dim(start_dim, nd), wrap_dim(end_dim, nd)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return x
    s = x._data.shape
    return reshape(x, s[:start] + (int(np.prod(s[start:end + 1])),) + s[end + 1:])


def unflatten(x: Tensor, dim: int, sizes: Any) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one entry may be -1)."""
    d = wrap_dim(dim, x._data.ndim)
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n = x._data.shape[d]
    try:
        sizes = _infer_shape(sizes, n)
    except RuntimeError:
        if sizes.count(-1) > 1:
            raise
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim "
            f"{dim} ({n}) in the input tensor") from None
    s = x._data.shape
    return reshape(x, s[:d] + sizes + s[d + 1:])


def movedim(x: Tensor, source: Any, destination: Any) -> Tensor:
    """Move dims ``source`` to positions ``destination``, keeping the others in order."""
    nd = x._data.ndim
    src = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    dst = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
            f"contain the same number of dims as destination ({list(dst)} dims)")
    src = tuple(wrap_dim(d, nd) for d in src)
    dst = tuple(wrap_dim(d, nd) for d in dst)
    if nd == 0:
        return Permute.apply(x, dims=())
    for name, dims in (("source", src), ("destination", dst)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(dims)})")
    rest = iter(d for d in range(nd) if d not in src)
    moved = dict(zip(dst, src, strict=True))
    order = tuple(moved[i] if i in moved else next(rest) for i in range(nd))
    return Permute.apply(x, dims=order)


def diagonal(x: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the matrices spanned by ``dim1`` and ``dim2`` (a view; the diagonal
    becomes the last dim). ``offset > 0`` is above the main diagonal, ``< 0`` below."""
    nd = x._data.ndim
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(x, offset=int(offset), dim1=d1, dim2=d2)


swapaxes = swapdims = transpose
moveaxis = movedim

__all__ = ["permute", "transpose", "swapaxes", "swapdims", "squeeze", "unsqueeze", "flatten",
           "unflatten", "movedim", "moveaxis", "diagonal"]

METHODS = {
    "permute": permute, "transpose": transpose, "swapaxes": transpose, "swapdims": transpose,
    "squeeze": squeeze, "unsqueeze": unsqueeze, "flatten": flatten, "unflatten": unflatten,
    "movedim": movedim, "moveaxis": movedim, "diagonal": diagonal,
}
