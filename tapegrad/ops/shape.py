"""Shape ops: views and copies that move values around without changing them.

Their backwards are the mirror images of their forwards, which makes them a good first
read: ``expand`` copies a value into many places, so its backward *sums* the many
gradients back (``sum_to_size``); ``reshape`` backward reshapes back; ``to(dtype)`` backward
casts back; ``clone`` backward passes the gradient through.

Ops that return a view (``reshape`` of viewable memory, ``view``, ``expand``) share storage
and the version counter with their input, as in torch (`_view_of`): an in-place change made
through the view is seen by every node that saved the base. The ops that move, add or drop
whole dims (``permute``, ``transpose``, ``squeeze``, ``unsqueeze``, ``flatten``, ``movedim``...)
are in `tapegrad.ops.dims`; ``select``/``narrow`` (views too) in `tapegrad.ops.indexing`;
``cat``, ``stack``, ``split``, ``repeat``, ``flip``... in `tapegrad.ops.joining`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad import dtypes, kernels
from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.views import ViewFunction
from tapegrad.device import device, move, resolve
from tapegrad.kernels.arrays import root_buffer, writable_alias
from tapegrad.ops._util import wrap, wrap_dim
from tapegrad.tensor import Tensor, shape_from_args

_root = root_buffer


def _view_of(base: Tensor, data: np.ndarray) -> Tensor:
    """Wrap ``data`` as a tensor; if it is a numpy view of ``base._data`` (same underlying
    buffer, empty views included) it shares base's version counter and records its base."""
    root = None if data is base._data else _root(data)
    if root is None or root is _root(base._data):
        if type(data) is np.ndarray and not data.flags.writeable and root is not None and all(
                s != 0 or n <= 1 for s, n in zip(data.strides, data.shape, strict=True)):
            # a view *of* an expanded tensor that no longer repeats any element (x[0] of
            # x.expand(2, 3)): numpy keeps it read-only, torch lets it be written
            data = writable_alias(data, root)
        out = wrap(data)
        out._version_counter = base._version_counter
        out._base = base._base if base._base is not None else base
        return out
    return wrap(data)


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

    caption = ('{g} copied back over the summed dims : {sg} → {s0}',)
    op_name = "sum_to_size"

    @staticmethod
    def forward(ctx: Node, x: Tensor, shape: tuple) -> Tensor:
        ctx.input_shape = x._data.shape
        out = kernels.on(x._data).sum_to_shape(x._data, tuple(shape))
        if x._data.dtype.kind in "biu":  # an integer sum is int64, as torch's sum
            out = out.astype(np.int64)
        return wrap(out)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return grad.expand(ctx.input_shape)


class Expand(ViewFunction):
    """Broadcast size-1 (or missing leading) dims to a bigger shape: a view, no copy."""

    caption = ('{g} summed over the expanded dims : {sg} → {s0}',)

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


class Reshape(ViewFunction):
    """Same values, new shape, as a view (``view``, and ``reshape`` when no copy is needed)."""

    caption = ('{g} reshaped back (same numbers, new shape) : {sg} → {s0}',)
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

    op_name = "reshape"

    @staticmethod
    def forward(ctx: Node, x: Tensor, shape: tuple) -> Tensor:
        # x is a fresh clone nobody else sees: the result is a tensor of its own, no view
        ctx.input_shape = x._data.shape
        return wrap(x._data.reshape(shape))


class ToDtype(Function):
    """Cast to another dtype; the gradient is cast back to the input's dtype."""

    caption = ("{g} converted back to the input's dtype : {s0}",)
    node_name = "ToCopyBackward0"
    op_name = "to"

    @staticmethod
    def forward(ctx: Node, x: Tensor, dtype: dtypes.dtype) -> Tensor:
        ctx.input_dtype = x.dtype
        return wrap(x._data.astype(dtype.numpy))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return grad.to(ctx.input_dtype)


class ToDevice(Function):
    """Copy to another device (host <-> GPU memory: one counted transfer); the gradient is
    copied back to the input's device."""

    caption = ToDtype.caption
    node_name = "ToCopyBackward0"
    op_name = "to"

    @staticmethod
    def forward(ctx: Node, x: Tensor, device: Any) -> Tensor:
        ctx.input_device = x.device
        return wrap(move(x._data, device))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return grad.to(ctx.input_device)


class Clone(Function):
    """A copy with its own storage; gradient passes through unchanged."""

    caption = ('{g} unchanged (a copy passes the gradient as it is) : {s0}',)

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        return wrap(x._data.copy())

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return grad


class Alias(ViewFunction):
    """The same tensor under a new name (``x[...]``): gradient passes through."""

    caption = ('{g} unchanged : {s0}',)

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        return _view_of(x, x._data.view())

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return grad


# ---------------------------------------------------------------- public functions
def sum_to_size(x: Tensor, *size: Any) -> Tensor:
    """Sum ``x`` down to ``size`` (which must broadcast to ``x.shape``)."""
    shape = shape_from_args(size)
    have = x._data.shape
    if len(shape) > len(have) or any(s not in (1, n) for s, n in zip(
            shape[::-1], have[::-1], strict=False)):
        raise RuntimeError(f"size {list(shape)} is not expandable to size {list(have)}")
    if shape == have and shape:  # torch: an empty size always means "sum everything"
        return x
    lead = x._data.ndim - len(shape)
    if lead < 0 or any(s not in (1, d) for s, d in zip(shape, x._data.shape[lead:], strict=True)):
        raise RuntimeError(f"size {list(shape)} is not expandable to size {list(x.shape)}.")
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
    dt = kwargs.pop("dtype", None)
    dev = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)  # every tapegrad result is laid out C-contiguous
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    flags = [a for a in args if isinstance(a, bool)]  # to(dtype, non_blocking, copy)
    args = tuple(a for a in args if not isinstance(a, bool))
    if len(flags) > 2:
        raise TypeError(f"to() takes at most two flags (non_blocking, copy), got {flags}")
    if len(flags) == 2:
        copy = copy or flags[1]
    for a in args:
        if isinstance(a, Tensor):
            dt, dev = a.dtype, a.device
        elif isinstance(a, (str, device)):
            dev = a
        elif a is not None:
            dt = a
    target = resolve(dev) if dev is not None else None
    out = x
    if target is not None and target != x.device:
        out = ToDevice.apply(out, device=target)
    if dt is not None and dtypes.to_dtype(dt) is not out.dtype:
        return ToDtype.apply(out, dtype=dtypes.to_dtype(dt))
    return Clone.apply(out) if copy and out is x else out


def clone(x: Tensor, *, memory_format: Any = None) -> Tensor:
    return Clone.apply(x)


def contiguous(x: Tensor, memory_format: Any = None) -> Tensor:
    if x._data.flags.c_contiguous:
        return x
    return Clone.apply(x)


__all__ = ["sum_to_size", "expand", "expand_as", "reshape", "view", "to", "clone",
           "contiguous"]

METHODS = {
    "sum_to_size": sum_to_size, "expand": expand, "expand_as": expand_as, "reshape": reshape,
    "view": view, "to": to, "clone": clone, "contiguous": contiguous,
    # x.float(memory_format=...) as torch code writes it: the layout is ignored, as in to()
    "float": lambda x, **kw: to(x, dtypes.float32, **kw),
    "double": lambda x, **kw: to(x, dtypes.float64, **kw),
    "half": lambda x, **kw: to(x, dtypes.float16, **kw),
    "long": lambda x, **kw: to(x, dtypes.int64, **kw),
    "int": lambda x, **kw: to(x, dtypes.int32, **kw),
    "short": lambda x, **kw: to(x, dtypes.int16, **kw),
    "char": lambda x, **kw: to(x, dtypes.int8, **kw),
    "byte": lambda x, **kw: to(x, dtypes.uint8, **kw),
    "bool": lambda x, **kw: to(x, dtypes.bool_, **kw),
    "type": lambda x, dtype=None: x.dtype if dtype is None else to(x, dtype),
    "reshape_as": lambda x, other: reshape(x, other._data.shape),
    "view_as": lambda x, other: view(x, other._data.shape),
}
