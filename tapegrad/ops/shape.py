"""Shape ops: views and copies that move values around without changing them.

Their backwards are the mirror images of their forwards, which makes them a good first
read: ``expand`` copies a value into many places, so its backward *sums* the many
gradients back (``sum_to_size``); ``reshape`` backward reshapes back; ``permute`` backward
applies the inverse permutation; ``unsqueeze`` backward squeezes.

Ops that return a view (``reshape`` of viewable memory, ``view``, ``expand``, ``permute``,
``transpose``, ``squeeze``, ``unsqueeze``...) share storage and the version counter with
their input, as in torch: an in-place change made through the view is seen by every node
that saved the base. ``select``/``narrow`` (views too) are in `tapegrad.ops.indexing`;
``cat``, ``stack``, ``split``, ``repeat``, ``flip``... in `tapegrad.ops.joining`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad import dtypes, kernels
from tapegrad.autograd.function import Function, Node
from tapegrad.ops._util import wrap, wrap_dim
from tapegrad.tensor import Size, Tensor


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _view_of(base: Tensor, data: np.ndarray) -> Tensor:
    """Wrap ``data`` as a tensor; if it is a numpy view of ``base._data`` (same underlying
    buffer, empty views included) it shares base's version counter and records its base."""
    out = wrap(data)
    if data is base._data or _root(data) is _root(base._data):
        out._version_counter = base._version_counter
        out._base = base._base if base._base is not None else base
    return out


def shape_from_args(size: tuple) -> tuple:
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])``."""
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    return tuple(int(s) for s in size)


def unique_dims(dims: Any, ndim: int) -> tuple[int, ...]:
    """Wrap each dim (keeping the given order); torch's error for a repeated one."""
    if isinstance(dims, (int, np.integer)):
        dims = (dims,)
    out: list[int] = []
    for d in dims:
        w = wrap_dim(d, ndim)
        if w in out:
            raise RuntimeError(f"dim {w} appears multiple times in the list of dims")
        out.append(w)
    return tuple(out)


class SumToSize(Function):
    """Sum a broadcast gradient back to ``shape`` (the reverse of ``expand``)."""

    node_name = "SumToSizeBackward0"
    op_name = "sum_to_size"

    @staticmethod
    def forward(ctx: Node, x: Tensor, shape: tuple) -> Tensor:
        ctx.input_shape = x._data.shape
        return wrap(kernels.cpu.sum_to_shape(x._data, tuple(shape)))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return grad.expand(ctx.input_shape)


class Expand(Function):
    """Broadcast size-1 (or missing leading) dims to a bigger shape: a view, no copy."""

    node_name = "ExpandBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor, shape: tuple) -> Tensor:
        ctx.input_shape = x._data.shape
        target = list(shape)
        offset = len(target) - x._data.ndim
        if offset < 0:
            raise RuntimeError(
                f"expand(tapegrad.{x.dtype.name.capitalize()}Tensor{{{list(x._data.shape)}}}, "
                f"size=[{', '.join(map(str, shape))}]): the number of sizes provided "
                f"({len(shape)}) must be greater or equal to the number of dimensions in the "
                f"tensor ({x._data.ndim})"
            )
        for i, s in enumerate(target):
            if s == -1:
                if i < offset:
                    raise RuntimeError(
                        "The expanded size of the tensor (-1) isn't allowed in a leading, "
                        "non-existing dimension " + str(i))
                target[i] = x._data.shape[i - offset]
            elif i >= offset and x._data.shape[i - offset] not in (1, s):
                raise RuntimeError(
                    f"The expanded size of the tensor ({s}) must match the existing size "
                    f"({x._data.shape[i - offset]}) at non-singleton dimension {i}.  Target "
                    f"sizes: {list(shape)}.  Tensor sizes: {list(x._data.shape)}"
                )
        return _view_of(x, np.broadcast_to(x._data, tuple(target)))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return grad.sum_to_size(ctx.input_shape)


class Reshape(Function):
    """Same values, new shape, as a view (``view``, and ``reshape`` when no copy is needed)."""

    node_name = "ViewBackward0"
    op_name = "reshape"

    @staticmethod
    def forward(ctx: Node, x: Tensor, shape: tuple) -> Tensor:
        ctx.input_shape = x._data.shape
        return _view_of(x, x._data.reshape(shape))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return grad.reshape(ctx.input_shape)


class UnsafeView(Reshape):
    """``reshape`` of memory that cannot be viewed: torch clones, then views the clone."""

    node_name = "UnsafeViewBackward0"
    op_name = "reshape"

    @staticmethod
    def forward(ctx: Node, x: Tensor, shape: tuple) -> Tensor:
        # x is a fresh clone nobody else sees: the result is a tensor of its own, no view
        ctx.input_shape = x._data.shape
        return wrap(x._data.reshape(shape))


class ToDtype(Function):
    """Cast to another dtype; the gradient is cast back to the input's dtype."""

    node_name = "ToCopyBackward0"
    op_name = "to"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dtype: dtypes.dtype) -> Tensor:
        ctx.input_dtype = x.dtype
        return wrap(x._data.astype(dtype.numpy))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return grad.to(ctx.input_dtype)


class Clone(Function):
    """A copy with its own storage; gradient passes through unchanged."""

    node_name = "CloneBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        return wrap(x._data.copy())

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return grad


class Alias(Function):
    """The same tensor under a new name (``x[...]``): gradient passes through."""

    node_name = "AliasBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        return _view_of(x, x._data.view())

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return grad


class Permute(Function):
    """Reorder the dims (a view): output dim i is input dim ``dims[i]``; backward applies
    the inverse permutation to the gradient."""

    node_name = "PermuteBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dims: tuple) -> Tensor:
        ctx.dims = dims
        return _view_of(x, np.transpose(x._data, dims))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return grad.permute(tuple(int(i) for i in np.argsort(ctx.dims)))


class Transpose(Function):
    """Swap two dims (a view); a swap is its own inverse, so backward swaps them back."""

    node_name = "TransposeBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim0: int, dim1: int) -> Tensor:
        ctx.dim0, ctx.dim1 = dim0, dim1
        if x._data.ndim == 0:  # a 0-d tensor accepts dims 0/-1: nothing to swap
            return _view_of(x, x._data.view())
        return _view_of(x, np.swapaxes(x._data, dim0, dim1))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return grad.transpose(ctx.dim0, ctx.dim1)


class Squeeze(Function):
    """Drop size-1 dims (a view); backward puts them back (a reshape to the input shape).
    torch numbers the node by overload: no dim (0), one dim (1), several dims (2)."""

    node_name = "SqueezeBackward0"

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


class Unsqueeze(Function):
    """Insert a size-1 dim at ``dim`` (a view); backward squeezes it out again."""

    node_name = "UnsqueezeBackward0"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int) -> Tensor:
        ctx.dim = dim
        return _view_of(x, np.expand_dims(x._data, dim))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return SqueezeDim.apply(grad, dims=(ctx.dim,))


# ---------------------------------------------------------------- public functions
def sum_to_size(x: Tensor, *size: Any) -> Tensor:
    """Sum ``x`` down to ``size`` (which must broadcast to ``x.shape``)."""
    shape = shape_from_args(size)
    if shape == x._data.shape:
        return x
    return SumToSize.apply(x, shape=shape)


def expand(x: Tensor, *size: Any) -> Tensor:
    shape = shape_from_args(size)
    if shape == x._data.shape:
        return x
    return Expand.apply(x, shape=shape)


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    return expand(x, other._data.shape)


def _infer_shape(shape: tuple, numel: int) -> tuple:
    """Resolve one ``-1`` in ``shape`` with torch's errors."""
    infer = None
    known = 1
    for i, s in enumerate(shape):
        if s == -1:
            if infer is not None:
                raise RuntimeError("only one dimension can be inferred")
            infer = i
        elif s < 0:
            raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape {list(shape)}")
        else:
            known *= s
    if infer is None:
        if known != numel:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        return shape
    if known == 0:
        if numel == 0:
            raise RuntimeError(
                f"cannot reshape tensor of 0 elements into shape {list(shape)} because the "
                "unspecified dimension size -1 can be any value and is ambiguous")
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    if numel % known:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape[:infer] + (numel // known,) + shape[infer + 1:]


def _viewable(x: Tensor, shape: tuple) -> bool:
    try:
        np.reshape(x._data, shape, copy=False)
    except ValueError:
        return False
    return True


def reshape(x: Tensor, *shape: Any) -> Tensor:
    """A view when the memory layout allows it, else a copy (clone, then view the clone)."""
    target = _infer_shape(shape_from_args(shape), x._data.size)
    if _viewable(x, target):
        return Reshape.apply(x, shape=target)
    return UnsafeView.apply(Clone.apply(x), shape=target)


def view(x: Tensor, *shape: Any) -> Tensor:
    """Like reshape, but only when no copy is needed (torch's contiguity rule)."""
    if len(shape) == 1 and isinstance(shape[0], dtypes.dtype):
        raise TypeError("view(dtype) reinterpretation is not supported; use .to(dtype)")
    target = _infer_shape(shape_from_args(shape), x._data.size)
    if not _viewable(x, target):
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
        )
    return Reshape.apply(x, shape=target)


def to(x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """``x.to(dtype)``, ``x.to(device)``, ``x.to(other)``, ``x.to(device, dtype)``;
    ``copy=True`` forces a copy. Same dtype and device returns ``x`` itself, as in torch."""
    from tapegrad.device import check_cpu, device

    dt = kwargs.pop("dtype", None)
    dev = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dt, dev = a.dtype, a.device
        elif isinstance(a, (str, device)):
            dev = a
        elif a is not None:
            dt = a
    check_cpu(dev)
    if dt is None or dtypes.to_dtype(dt) is x.dtype:
        return Clone.apply(x) if copy else x
    return ToDtype.apply(x, dtype=dtypes.to_dtype(dt))


def clone(x: Tensor, *, memory_format: Any = None) -> Tensor:
    return Clone.apply(x)


def contiguous(x: Tensor, memory_format: Any = None) -> Tensor:
    if x._data.flags.c_contiguous:
        return x
    return Clone.apply(x)


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


swapaxes = swapdims = transpose
moveaxis = movedim

__all__ = ["sum_to_size", "expand", "expand_as", "reshape", "view", "to", "clone",
           "contiguous", "permute", "transpose", "swapaxes", "swapdims", "squeeze",
           "unsqueeze", "flatten", "unflatten", "movedim", "moveaxis"]

METHODS = {
    "sum_to_size": sum_to_size, "expand": expand, "expand_as": expand_as, "reshape": reshape,
    "view": view, "to": to, "clone": clone, "contiguous": contiguous,
    "float": lambda x: to(x, dtypes.float32), "double": lambda x: to(x, dtypes.float64),
    "half": lambda x: to(x, dtypes.float16), "long": lambda x: to(x, dtypes.int64),
    "int": lambda x: to(x, dtypes.int32), "bool": lambda x: to(x, dtypes.bool_),
    "type": lambda x, dtype=None: x.dtype if dtype is None else to(x, dtype),
    "reshape_as": lambda x, other: reshape(x, other._data.shape),
    "view_as": lambda x, other: view(x, other._data.shape),
    "permute": permute, "transpose": transpose, "swapaxes": transpose, "swapdims": transpose,
    "squeeze": squeeze, "unsqueeze": unsqueeze, "flatten": flatten, "unflatten": unflatten,
    "movedim": movedim, "moveaxis": movedim,
}
