"""Views with hand-made strides: ``as_strided`` and ``Tensor.unfold`` (sliding windows),
their copies and ``as_strided_scatter``.

A tensor is a window onto a flat block of memory (its *storage*): element ``(i, j)`` lives
at ``offset + i * stride[0] + j * stride[1]``. ``as_strided(size, stride, offset)`` makes
a view with any geometry you like on the same storage; ``x.unfold(dim, size, step)`` is
the safe special case that slides a window of ``size`` along ``dim`` by ``step``, adding
the window as a new last dim (the building block of 1-D convolutions and of ``F.unfold``).
The windows may overlap, so one input element can appear in several output places.

The backward of any such view is the same "storage remap": scatter-*add* the output
gradient into a zero storage at the output's positions (an element seen in k places
collects k gradients), then read the input's positions back out. The map is linear and
its adjoint is the same remap with the two position tables swapped, which is how the
second derivative is made (`StorageRemap`). In tapegrad the storage of a tensor is the
numpy array that owns its memory (`tapegrad.kernels.arrays.root_buffer`); the input's
own elements are assumed not to overlap each other (an ``expand``-ed input is refused).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.views import ViewFunction
from tapegrad.kernels.arrays import root_buffer
from tapegrad.ops._util import wrap, wrap_dim
from tapegrad.ops.shape import Clone, _view_of
from tapegrad.ops.view_scatter import write_into_view
from tapegrad.tensor import Tensor


class StorageRemap(Function):
    """``out = gather(scatter_add(zeros(storage), src_pos, g), dst_pos)``: the backward of a
    strided view (``src_pos``: where each gradient element sits in storage; ``dst_pos``:
    where each input element does). Its backward is the same remap, positions swapped."""

    op_name = "as_strided_backward"

    @staticmethod
    def forward(ctx: Node, g: Tensor, src_pos: np.ndarray, dst_pos: np.ndarray,
                storage: int) -> Tensor:
        ctx.args = (src_pos, dst_pos, storage)
        flat = np.zeros(storage, dtype=g._data.dtype)
        np.add.at(flat, src_pos.reshape(-1), np.asarray(g._data).reshape(-1))
        return wrap(flat[dst_pos])

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        src_pos, dst_pos, storage = ctx.args
        return StorageRemap.apply(grad, src_pos=dst_pos, dst_pos=src_pos, storage=storage)


def _positions(a: np.ndarray, root: np.ndarray) -> np.ndarray:
    """For each element of ``a`` (a view of ``root``), its index in ``root``'s flat memory."""
    item = a.itemsize
    start = (a.__array_interface__["data"][0] - root.__array_interface__["data"][0]) // item
    index = np.arange(root.size, dtype=np.int64)
    if a.size == 0:
        return np.zeros(a.shape, dtype=np.int64)
    return np.lib.stride_tricks.as_strided(
        index[start:], shape=a.shape, strides=tuple(s // item * 8 for s in a.strides))


class AsStrided(ViewFunction):
    """A view of ``x``'s storage with the given ``size``, ``stride`` and storage ``offset``
    (in elements). Backward: the storage remap described in the module docstring."""

    op_name = "as_strided"
    caption = ("{g} added into the storage at the view's places, read back at the "
               "input's ({opts}) : {sg} → {s0}",)

    @staticmethod
    def forward(ctx: Node, x: Tensor, size: tuple, stride: tuple, offset: int) -> Tensor:
        root = root_buffer(x._data)
        item = x._data.itemsize
        out = _on_storage(root, size, tuple(s * item for s in stride), offset * item,
                          _distinct(size, stride))
        ctx.args = (_positions(out, root), _positions(x._data, root), root.size)
        return _strided_view_of(x, out)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        src_pos, dst_pos, storage = ctx.args
        return StorageRemap.apply(grad, src_pos=src_pos, dst_pos=dst_pos, storage=storage)


def _strided_view_of(x: Tensor, data: np.ndarray) -> Tensor:
    """``data`` (on ``x``'s storage) as a view of ``x``: shared version counter and base.
    Unlike `tapegrad.ops.shape._view_of`, a read-only result stays read-only: here it marks
    overlapping windows, which an in-place op must refuse (one location, several elements)."""
    if data.size == 0 or root_buffer(data) is not root_buffer(x._data):
        return _view_of(x, data)
    out = wrap(data)
    out._version_counter = x._version_counter
    out._base = x._base if x._base is not None else x
    return out


def _on_storage(root: np.ndarray, shape: tuple, strides: tuple, offset: int,
                writeable: bool) -> np.ndarray:
    """A numpy view of ``root``'s memory with this geometry (byte strides and offset). Made
    with ``buffer=root`` so that ``.base`` leads back to ``root``: `_view_of` then knows the
    result shares the input's memory (numpy's ``as_strided`` loses that chain)."""
    if not root.flags.c_contiguous or root.size == 0:
        a = np.lib.stride_tricks.as_strided(root.reshape(-1)[offset // root.itemsize:]
                                            if root.size else root, shape=shape,
                                            strides=strides, writeable=False)
        return a
    out = np.ndarray(shape, root.dtype, buffer=root, offset=offset, strides=strides)
    if not writeable or not root.flags.writeable:
        out.flags.writeable = False
    return out


def _distinct(size: tuple, stride: tuple) -> bool:
    """Whether every element of the geometry has a memory location of its own, by the
    sorted-strides rule (each stride steps over everything the smaller ones span; a
    geometry that fails it is treated as overlapping). A view that repeats locations is
    read-only: writing to it would update one location several times."""
    dims = sorted((st, n) for n, st in zip(size, stride, strict=True) if n > 1)
    if any(st == 0 for st, _ in dims):
        return False
    span = 1
    for st, n in dims:
        if st < span:
            return False
        span = st * (n - 1) + span
    return True


class Unfold(ViewFunction):
    """``x.unfold(dim, size, step)``: every window of ``size`` along ``dim``, ``step``
    apart, as a new last dim (a view). Backward: each input element collects the gradients
    of all the windows it is in (the storage remap on the input's own positions)."""

    caption = ("each window's {g} added back where the window was read (overlaps add up, "
               "{opts}) : {sg} → {s0}",)

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int, size: int, step: int) -> Tensor:
        a = x._data
        if a.ndim == 0:
            out = a.reshape(1)[:size]
            index = np.zeros((size,), dtype=np.int64)
        else:
            count = (a.shape[dim] - size) // step + 1
            shape = a.shape[:dim] + (count,) + a.shape[dim + 1:] + (size,)
            strides = a.strides[:dim] + (a.strides[dim] * step,) + a.strides[dim + 1:] + (
                a.strides[dim],)
            root = root_buffer(a)
            start = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
            out = _on_storage(root, shape, strides, start,
                              step >= size and a.flags.writeable)
            own = np.arange(a.size, dtype=np.int64).reshape(a.shape)
            o = own.strides
            index = np.lib.stride_tricks.as_strided(
                own, shape=shape, strides=o[:dim] + (o[dim] * step,) + o[dim + 1:] + (o[dim],))
        ctx.args = (index, np.arange(a.size, dtype=np.int64).reshape(a.shape) if a.ndim
                    else np.zeros((), dtype=np.int64), max(a.size, 1))
        return _strided_view_of(x, out)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        src_pos, dst_pos, storage = ctx.args
        return StorageRemap.apply(grad, src_pos=src_pos, dst_pos=dst_pos, storage=storage)


# ---------------------------------------------------------------- public functions
def _host_only(name: str, x: Tensor) -> None:
    if type(x._data) is not np.ndarray:
        raise NotImplementedError(
            f"{name}: strided views of GPU memory are not supported yet (tapegrad's CUDA "
            "arrays are contiguous); call it on the CPU tensor (x.cpu())")


def as_strided(x: Tensor, size: Any, stride: Any, storage_offset: int | None = None) -> Tensor:
    """A view of ``x``'s storage with the given geometry (see the module docstring).
    Without ``storage_offset`` the view starts where ``x`` starts."""
    _host_only("as_strided", x)
    size = tuple(int(s) for s in size)
    stride = tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in size):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(size)}")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, "
                           f"got strides: {list(stride)}")
    root = root_buffer(x._data)
    if storage_offset is None:
        storage_offset = int(_positions(x._data.reshape(-1)[:1], root)[0]) if x._data.size \
            else 0
    storage_offset = int(storage_offset)
    need = storage_offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True)) + 1
    if all(size) and need > root.size:
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset "
            f"{storage_offset}, and itemsize {x._data.itemsize} requiring a storage size of "
            f"{need * x._data.itemsize} are out of bounds for storage of size "
            f"{root.size * x._data.itemsize}")
    return AsStrided.apply(x, size=size, stride=stride, offset=storage_offset)


def unfold(x: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """All windows of ``size`` elements along ``dimension``, ``step`` apart, as a new last
    dim: ``arange(7).unfold(0, 3, 2)`` is ``[[0, 1, 2], [2, 3, 4], [4, 5, 6]]`` (a view)."""
    _host_only("unfold", x)
    nd = x._data.ndim
    d = wrap_dim(dimension, max(nd, 1))
    length = x._data.shape[d] if nd else 1
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {length} but size "
                           f"is {size}")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return Unfold.apply(x, dim=d, size=int(size), step=int(step))


def as_strided_copy(x: Tensor, size: Any, stride: Any,
                    storage_offset: int | None = None) -> Tensor:
    """``as_strided`` as a tensor of its own."""
    return Clone.apply(as_strided(x, size, stride, storage_offset))


def unfold_copy(x: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """``x.unfold(...)`` as a tensor of its own."""
    return Clone.apply(unfold(x, dimension, size, step))


def as_strided_scatter(x: Tensor, src: Tensor, size: Any, stride: Any,
                       storage_offset: int | None = None) -> Tensor:
    """``x`` (cloned) with the strided view ``as_strided(size, stride, offset)`` replaced by
    ``src``: an in-place copy through a view, so autograd's CopySlices does the backward."""
    return write_into_view(x, src, lambda t: as_strided(t, size, stride, storage_offset))


__all__ = ["as_strided", "as_strided_copy", "as_strided_scatter", "unfold_copy"]

METHODS = {"as_strided": as_strided, "unfold": unfold, "as_strided_scatter": as_strided_scatter}
