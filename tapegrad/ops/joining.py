"""Joining and splitting: ``cat``, ``stack``, ``split``, ``chunk``, ``unbind``, ``repeat``,
``tile`` and ``flip``.

Joining and splitting are each other's backward:

    y = cat([a, b], dim)      da, db = the two pieces of dy along dim (a split)
    a, b = split(x, ..., dim) dx = cat([da, db], dim)
    y = stack([a, b], dim)    da, db = unbind(dy, dim)
    y = repeat(x, r)          dx = the sum of the gradients of all the copies

The pieces of ``split``/``chunk``/``unbind`` are views of the input (they share its
memory and version counter); ``cat``, ``stack``, ``repeat`` and ``flip`` make new tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tapegrad import dtypes
from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.views import ViewFunction
from tapegrad.ops._util import contiguous, wrap, wrap_dim
from tapegrad.ops.checks.tensor_args import require_tensors
from tapegrad.ops.indexing import Slice, SliceScatter
from tapegrad.ops.out_arg import write_out
from tapegrad.ops.shape import _view_of, reshape, unique_dims
from tapegrad.tensor import Tensor, shape_from_args


def _skipped(t: Tensor) -> bool:
    # legacy torch: 1-D empty tensors are ignored by cat, whatever the other shapes are
    return t._data.shape == (0,)


class Cat(Function):
    """Concatenate along ``dim``. Backward hands each input its own stretch of the
    gradient (a slice of it, so the backward is differentiable too)."""

    caption = ('the slice of {g} that {xi} filled (cat splits the gradient back) : '
               '{sg} → {so} along {opts}',)

    @staticmethod
    def forward(ctx: Node, *tensors: Tensor, dim: int) -> Tensor:
        out_dtype = dtypes.result_type(*tensors)
        kept = [t._data.astype(out_dtype.numpy, copy=False) for t in tensors if not _skipped(t)]
        ctx.dim = dim
        ctx.sizes = [None if _skipped(t) else t._data.shape[dim] for t in tensors]
        if not kept:
            return wrap(np.zeros((0,), dtype=out_dtype.numpy))
        return wrap(np.concatenate(kept, axis=dim))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        grads = []
        offset = 0
        for size, needed in zip(ctx.sizes, ctx.needs_input_grad, strict=True):
            if size is None:
                empty = np.zeros((0,), dtype=grad._data.dtype, like=grad._data)
                grads.append(wrap(empty) if needed else None)
                continue
            grads.append(Slice.apply(grad, dim=ctx.dim, start=offset, stop=offset + size,
                                     step=1) if needed else None)
            offset += size
        return tuple(grads)


class Stack(Function):
    """Join equal-shaped tensors along a *new* dim ``dim``; backward unbinds the gradient."""

    caption = ('the slice of {g} that {xi} filled : {sg} → {so} along {opts}',)

    @staticmethod
    def forward(ctx: Node, *tensors: Tensor, dim: int) -> Tensor:
        ctx.dim = dim
        np_dt = dtypes.result_type(*tensors).numpy
        return wrap(np.stack([t._data.astype(np_dt, copy=False) for t in tensors], axis=dim))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        return Unbind.apply(grad, dim=ctx.dim)


class Split(ViewFunction):
    """Cut ``x`` along ``dim`` into pieces of ``sizes`` (views); backward concatenates the
    pieces' gradients (zeros for pieces that got none)."""

    caption = ("the pieces' gradients concatenated (a piece nobody used counts as 0) : "
               "→ {s0} along {opts}",)

    @staticmethod
    def forward(ctx: Node, x: Tensor, sizes: tuple, dim: int) -> tuple:
        ctx.dim = dim
        bounds = np.cumsum((0,) + tuple(sizes))
        lead = (slice(None),) * dim
        return tuple(_view_of(x, x._data[lead + (slice(int(a), int(b)), Ellipsis)])
                     for a, b in zip(bounds[:-1], bounds[1:], strict=True))

    @staticmethod
    def backward(ctx: Node, *grads: Tensor) -> Tensor:
        return Cat.apply(*grads, dim=ctx.dim)


class SplitWithSizes(Split):
    op_name = "split"


class TensorSplit(ViewFunction):
    """Pieces ``x[start:stop]`` along ``dim`` for the given ``(start, stop)`` pairs (views).
    The pieces of ``tensor_split`` with unsorted indices may overlap, so backward *adds*
    each piece's gradient into zeros at its place (one ``slice_backward`` per piece)."""

    op_name = "tensor_split"
    caption = ("each piece's gradient put back at its place (overlaps add up) : "
               "→ {s0} along {opts}",)

    @staticmethod
    def forward(ctx: Node, x: Tensor, bounds: tuple, dim: int) -> tuple:
        ctx.dim, ctx.bounds, ctx.input_shape = dim, bounds, x._data.shape
        lead = (slice(None),) * dim
        return tuple(_view_of(x, x._data[lead + (slice(a, b), Ellipsis)]) for a, b in bounds)

    @staticmethod
    def backward(ctx: Node, *grads: Tensor) -> Tensor:
        total = None
        for (a, b), g in zip(ctx.bounds, grads, strict=True):
            if g is None or b <= a:
                continue
            part = SliceScatter.apply(g, shape=ctx.input_shape, dim=ctx.dim, start=a, stop=b,
                                      step=1)
            total = part if total is None else total + part
        if total is None:
            ref = next(g for g in grads if g is not None)
            total = wrap(np.zeros(ctx.input_shape, dtype=ref._data.dtype, like=ref._data))
        return total


class Unbind(ViewFunction):
    """All slices along ``dim`` as a tuple of views; backward stacks their gradients."""

    caption = ("the pieces' gradients stacked : → {s0} along {opts}",)

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int) -> tuple:
        ctx.dim = dim
        lead = (slice(None),) * dim
        return tuple(_view_of(x, x._data[lead + (i, Ellipsis)])
                     for i in range(x._data.shape[dim]))

    @staticmethod
    def backward(ctx: Node, *grads: Tensor) -> Tensor:
        return Stack.apply(*grads, dim=ctx.dim)


class Repeat(Function):
    """Tile ``x`` ``repeats[i]`` times along dim i. Each input element appears in
    prod(repeats) places, so its gradient is the sum over those places: view the gradient
    as (r0, s0, r1, s1, ...) and sum the r axes away."""

    caption = ('{g} summed over the copies : {sg} → {s0}',)

    @staticmethod
    def forward(ctx: Node, x: Tensor, repeats: tuple) -> Tensor:
        ctx.input_shape = x._data.shape
        ctx.repeats = repeats
        padded = (1,) * (len(repeats) - x._data.ndim) + x._data.shape
        ctx.padded = padded
        return wrap(np.tile(x._data.reshape(padded), repeats))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        interleaved, kept = [], []
        for r, s in zip(ctx.repeats, ctx.padded, strict=True):
            interleaved += [r, s]
            kept += [1, s]
        summed = reshape(grad, tuple(interleaved)).sum_to_size(tuple(kept))
        return reshape(summed, ctx.input_shape)


class Flip(Function):
    """Reverse the order along ``dims`` (a copy in torch); flipping twice is the identity,
    so backward flips the gradient the same way."""

    caption = ('{g} flipped back : {sg} → {s0}',)

    @staticmethod
    def forward(ctx: Node, x: Tensor, dims: tuple) -> Tensor:
        ctx.dims = dims
        if x._data.ndim == 0:  # flip(0) of a 0-d tensor is a copy of it
            return wrap(x._data.copy())
        return wrap(contiguous(np.flip(x._data, dims)))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return Flip.apply(grad, dims=ctx.dims)


# ---------------------------------------------------------------- public functions
def _tensor_list(name: str, tensors: Any) -> list[Tensor]:
    """``tensors`` as a list, after torch's checks (any sequence of tensors, not a tensor)."""
    if isinstance(tensors, Sequence) and not isinstance(tensors, Tensor):
        tensors = list(tensors)
    require_tensors(tensors, name)
    return tensors


def cat(tensors: Sequence[Tensor], dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Concatenate along an existing dim; dtypes are promoted as for ``+``."""
    ts = _tensor_list("cat", tensors)
    if not ts:
        raise ValueError("tapegrad.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(ts):
        if t._data.ndim == 0:
            raise RuntimeError(
                f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    kept = [(i, t) for i, t in enumerate(ts) if not _skipped(t)]
    ref = kept[0][1]._data.shape if kept else (0,)
    d = wrap_dim(dim, len(ref))
    for i, t in kept:
        shape = t._data.shape
        if len(shape) != len(ref):
            raise RuntimeError(f"Tensors must have same number of dimensions: got {len(ref)} "
                               f"and {len(shape)}")
        for k, (a, b) in enumerate(zip(ref, shape, strict=True)):
            if k != d and a != b:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size {a} "
                    f"but got size {b} for tensor number {i} in the list.")
    result = Cat.apply(*ts, dim=d)
    return result if out is None else write_out("cat", result, out, ts, cast_error=TypeError)


def stack(tensors: Sequence[Tensor], dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Join equal-shaped tensors along a new dim."""
    ts = _tensor_list("stack", tensors)
    if not ts:
        raise RuntimeError("stack expects a non-empty TensorList")
    ref = ts[0]._data.shape
    for i, t in enumerate(ts):
        if t._data.shape != ref:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(ref)} at entry 0 "
                f"and {list(t._data.shape)} at entry {i}")
    result = Stack.apply(*ts, dim=wrap_dim(dim, len(ref) + 1))
    return result if out is None else write_out("stack", result, out, ts, cast_error=TypeError)


def split(x: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or pieces of the
    given sizes; the pieces are views of ``x``."""
    if x._data.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, x._data.ndim)
    n = x._data.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size < 0:
            raise RuntimeError(
                f"split expects split_size be non-negative, but got split_size={size}")
        if size == 0 and n != 0:
            raise RuntimeError("split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {n}")
        count = max(-(-n // size), 1) if size else 1
        sizes = tuple(min(size, n - i * size) for i in range(count))
        return Split.apply(x, sizes=sizes, dim=d)
    sizes = tuple(int(s) for s in split_size_or_sections)
    if sum(sizes) != n or any(s < 0 for s in sizes):
        raise RuntimeError(
            f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
            f"at dimension {d}), but got split_sizes={list(sizes)}")
    return SplitWithSizes.apply(x, sizes=sizes, dim=d)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` equal pieces (``ceil(size / chunks)`` each, the last smaller)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    if x._data.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, x._data.ndim)
    n = x._data.shape[d]
    if n == 0:  # torch returns `chunks` empty pieces here
        return Split.apply(x, sizes=(0,) * chunks, dim=d)
    return split(x, -(-n // chunks), d)


def split_with_sizes(x: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple:
    """Pieces of the given sizes along ``dim`` (views); the sizes must add up to the dim."""
    return split(x, [int(s) for s in split_sizes], dim)


def unsafe_split(x: Tensor, split_size: int | Sequence[int], dim: int = 0) -> tuple:
    """``split`` whose pieces torch does not track as views (it trusts the caller not to
    write into them); here they are the ordinary views, which is at least as safe."""
    return split(x, split_size, dim)


def unsafe_chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple:
    """``chunk`` without view tracking in torch (see `unsafe_split`)."""
    return chunk(x, chunks, dim)


def _section_bounds(n: int, sections: int) -> list[tuple[int, int]]:
    """``sections`` pieces as equal as possible: the first ``n % sections`` one longer."""
    if sections <= 0:
        raise RuntimeError(
            f"number of sections must be larger than 0, got {sections}")
    small, extra = divmod(n, sections)
    bounds, start = [], 0
    for i in range(sections):
        stop = start + small + (1 if i < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


def tensor_split(x: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple:
    """Split into ``sections`` nearly equal pieces (an int: the first ``n % sections`` are
    one longer), or at the given ``indices`` (a list: pieces ``x[:i0], x[i0:i1], ...,
    x[ik:]``, indices clamped to the dim, a piece empty when its bounds cross). Views."""
    if x._data.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    spec = indices_or_sections
    if isinstance(spec, Tensor):
        if spec.dtype is not dtypes.int64:
            raise RuntimeError(
                "tensor_split expected tensor_indices_or_sections to have dtype of long, but "
                f"got {spec.dtype.scalar_type}")
        if spec._data.ndim > 1:
            raise RuntimeError(
                "tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                f"one-dimensional tensor, but got a tensor with {spec._data.ndim} dims")
        spec = int(spec._data) if spec._data.ndim == 0 else [int(i) for i in spec._data]
    d = wrap_dim(dim, x._data.ndim)
    n = x._data.shape[d]
    if isinstance(spec, (int, np.integer)):
        bounds = _section_bounds(n, int(spec))
    else:
        bounds, start = [], 0
        for i in [*map(int, spec), n]:
            stop = min(max(i + n if i < 0 else i, 0), n)
            bounds.append((start, max(stop, start)))
            start = stop
    return TensorSplit.apply(x, bounds=tuple(bounds), dim=d)


def _split_along(name: str, x: Tensor, spec: Any, dim: int, min_dims: int) -> tuple:
    """hsplit / vsplit / dsplit: ``tensor_split`` along one dim, but an int must divide it."""
    if x._data.ndim < min_dims:
        raise RuntimeError(
            f"torch.{name} requires a tensor with at least {min_dims} dimension, but got a "
            f"tensor with {x._data.ndim} dimensions!")
    if not isinstance(spec, (int, np.integer, Tensor)) and not (
            isinstance(spec, (list, tuple)) and all(isinstance(i, (int, np.integer))
                                                    for i in spec)):
        raise TypeError(f"{name}() received an invalid combination of arguments: "
                        f"indices_or_sections must be an int or a list of ints, got {spec!r}")
    if isinstance(spec, (int, np.integer)):
        size = x._data.shape[dim]
        if spec == 0 or size % spec:
            raise RuntimeError(
                f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                f"dimension {size} is not divisible by the split_size {spec}!")
    return tensor_split(x, spec, dim)


def hsplit(x: Tensor, indices_or_sections: Any) -> tuple:
    """Split horizontally: along dim 1 (dim 0 for a 1-D tensor), like numpy's hsplit."""
    return _split_along("hsplit", x, indices_or_sections, 1 if x._data.ndim > 1 else 0, 1)


def vsplit(x: Tensor, indices_or_sections: Any) -> tuple:
    """Split vertically: along dim 0 of a tensor with at least 2 dims."""
    return _split_along("vsplit", x, indices_or_sections, 0, 2)


def dsplit(x: Tensor, indices_or_sections: Any) -> tuple:
    """Split in depth: along dim 2 of a tensor with at least 3 dims."""
    return _split_along("dsplit", x, indices_or_sections, 2, 3)


def repeat_interleave(x: Any, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Repeat each element (each slice along ``dim``; with no dim, of the flattened tensor)
    ``repeats`` times, keeping copies side by side: ``[1, 2] -> [1, 1, 2, 2]`` (``repeat``
    would give ``[1, 2, 1, 2]``). ``repeats`` is an int or one count per slice. It is an
    ``index_select`` of the slices, so each slice's gradient is the sum over its copies.
    With only a tensor of counts, it gives the indices repeated by them."""
    if repeats is None:  # repeat_interleave(counts): arange(len(counts)) repeated
        counts = x
        if counts._data.ndim > 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        return wrap(np.repeat(np.arange(counts._data.size, dtype=np.int64), counts._data))
    if dim is None:
        x, d = reshape(x, (-1,)), 0
    else:
        d = wrap_dim(dim, max(x._data.ndim, 1))
    n = x._data.shape[d] if x._data.ndim else 1
    if isinstance(repeats, Tensor):
        if repeats.dtype.is_floating_point:
            raise RuntimeError("repeat_interleave: repeats has to be Long or Int tensor")
        counts = repeats._data.reshape(-1)
        if repeats._data.ndim > 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
    else:
        counts = np.asarray([int(repeats)])
    if (counts < 0).any():
        raise RuntimeError("Repeats must be non-negative")
    if counts.size == 1:
        counts = np.full(n, counts[0])
    if counts.size != n:
        raise RuntimeError("repeats must have the same size as input along dim, but got "
                           f"repeats.size(0) = {counts.size} and input.size({d}) = {n}")
    index = np.repeat(np.arange(n, dtype=np.int64), counts)
    if output_size is not None and output_size != index.size:
        raise RuntimeError("allocated size does not match required size")
    if x._data.ndim == 0:
        x = reshape(x, (1,))
    return x.index_select(d, wrap(index))


def unbind(x: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim`` as a tuple of views (``x[0], x[1], ...`` for dim 0)."""
    if x._data.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    return Unbind.apply(x, dim=wrap_dim(dim, x._data.ndim))


def repeat(x: Tensor, *sizes: Any) -> Tensor:
    """Tile the whole tensor ``sizes[i]`` times along dim i (leading new dims allowed)."""
    reps = shape_from_args(sizes)
    if len(reps) < x._data.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    padded = (1,) * (len(reps) - x._data.ndim) + x._data.shape
    out = [r * s for r, s in zip(reps, padded, strict=True)]
    for r in reps:
        if r < 0:
            raise RuntimeError(
                f"Trying to create tensor with negative dimension {min(out)}: {out}")
    return Repeat.apply(x, repeats=reps)


def tile(x: Tensor, *dims: Any) -> Tensor:
    """``repeat`` with missing leading repeats taken as 1 (numpy's ``tile``)."""
    reps = shape_from_args(dims)
    return repeat(x, (1,) * (x._data.ndim - len(reps)) + reps)


def flip(x: Tensor, *dim_args: Any, dims: Any = None) -> Tensor:
    """Reverse the order of elements along ``dims`` (a copy): ``flip(x, 0, 1)``,
    ``flip(x, (0, 1))`` or ``flip(x, dims=(0, 1))``."""
    if dims is not None and dim_args:
        raise TypeError("flip() got multiple values for argument 'dims'")
    if dims is None:
        dims = dim_args
    elif isinstance(dims, (int, np.integer)):
        dims = (dims,)
    wanted = dims[0] if len(dims) == 1 and not isinstance(dims[0], (int, np.integer)) else dims
    return Flip.apply(x, dims=unique_dims(wanted, x._data.ndim))


concat = concatenate = cat

__all__ = ["cat", "concat", "concatenate", "stack", "split", "chunk", "unbind", "repeat",
           "tile", "flip", "split_with_sizes", "unsafe_split", "unsafe_chunk", "tensor_split",
           "hsplit", "vsplit", "dsplit", "repeat_interleave"]

METHODS = {
    "split": split, "chunk": chunk, "unbind": unbind, "repeat": repeat, "tile": tile,
    "flip": flip, "split_with_sizes": split_with_sizes, "unsafe_split": unsafe_split,
    "unsafe_chunk": unsafe_chunk, "tensor_split": tensor_split, "hsplit": hsplit,
    "vsplit": vsplit, "dsplit": dsplit, "repeat_interleave": repeat_interleave,
}
