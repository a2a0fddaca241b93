"""``F.pad``: grow (or, with negative widths, crop) the last dims of a tensor.

``pad`` lists widths from the LAST dim backwards: ``(left, right)`` pads the last dim,
``(left, right, top, bottom)`` the last two, and so on. The new values are

* ``'constant'``: ``value`` (0 by default);
* ``'reflect'``: a mirror image without repeating the edge (``[1 2 3]`` -> ``3 2 | 1 2 3 | 2 1``);
* ``'replicate'``: copies of the edge value (``1 1 | 1 2 3 | 3 3``);
* ``'circular'``: the other end of the tensor wrapped around (``2 3 | 1 2 3 | 1 2``).

Gradients: constant padding is a copy into the middle of a bigger array, so its backward
crops the gradient, which is constant padding with the widths negated. The other modes
*gather* input elements (an element may be copied several times), so backward *scatter-adds*
each output gradient onto the element it was copied from. The gather is separable (one index
map per padded dim), so the scatter is one small 0/1 matrix product per dim, and the
scatter's own gradient is the gather again (double backward works).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.ops._util import contiguous, wrap
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.tensor import Tensor

__all__ = ["constant_pad_nd", "pad"]

_MODE_NAMES = {"reflect": "ReflectionPad", "replicate": "ReplicationPad"}


class _ConstantPad(Function):
    """Copy ``x`` into a ``value``-filled array (negative widths crop instead).

    Equals, dim by dim from the last, ``cat([full(lo, value), x, full(hi, value)])``, with
    ``narrow`` for negative widths (checked in tests/ops/test_fused_composites.py).
    """

    caption = ('{g} with the padding cut off : {sg} → {s0}',)
    node_name = "ConstantPadNdBackward0"
    op_name = "constant_pad_nd"

    @staticmethod
    def forward(ctx: Node, x: Tensor, pad: tuple, value: float = 0) -> Tensor:
        data = x._data
        shape = list(data.shape)
        src: list[slice] = [slice(None)] * data.ndim
        dst: list[slice] = [slice(None)] * data.ndim
        for i in range(len(pad) // 2):
            axis = data.ndim - 1 - i
            lo, hi = pad[2 * i], pad[2 * i + 1]
            size = shape[axis]
            shape[axis] = size + lo + hi
            if shape[axis] < 0:
                raise RuntimeError("narrow(): length must be non-negative.")
            src[axis] = slice(max(-lo, 0), size - max(-hi, 0))
            dst[axis] = slice(max(lo, 0), shape[axis] - max(hi, 0))
        out = np.full(shape, value, dtype=data.dtype, like=data)
        out[tuple(dst)] = data[tuple(src)]
        ctx.pad = pad
        return wrap(out)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        # d out / d x is a crop of grad: the same padding with every width negated
        return _ConstantPad.apply(grad, pad=tuple(-p for p in ctx.pad), value=0)


def _index_map(size: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """For each output position along one dim, the input position it copies."""
    n_out = size + lo + hi
    if mode == "reflect":
        j = np.arange(n_out) - lo
        j = np.abs(j)  # left edge: -1 -> 1, -2 -> 2 ...
        return np.where(j >= size, 2 * (size - 1) - j, j)
    if mode == "replicate":
        return np.clip(np.arange(n_out) - lo, 0, size - 1)
    # circular: replay torch's copies (core first, then the left and right wraps)
    m = np.full(n_out, -1, dtype=np.int64)
    o0, o1 = max(lo, 0), n_out - max(hi, 0)
    m[o0:o1] = np.arange(max(-lo, 0), size - max(-hi, 0))
    if lo > 0:
        m[:lo] = m[n_out - lo - max(hi, 0): n_out - max(hi, 0)].copy()
    if hi > 0:
        m[n_out - hi:] = m[o0: o0 + hi].copy()
    return m


def _maps(shape: tuple, pad: tuple, mode: str) -> list[np.ndarray]:
    """Index maps for the padded dims, in dim order (the first padded dim first)."""
    k = len(pad) // 2
    return [_index_map(shape[len(shape) - k + i], pad[2 * (k - 1 - i)],
                       pad[2 * (k - 1 - i) + 1], mode) for i in range(k)]


class _GatherPad(Function):
    """reflect / replicate / circular: ``out = x[..., map_1, map_2, ...]`` (outer indexing).

    Equals, dim by dim from the last, ``cat([left, x, right])`` of edge slices: flipped
    (reflect), the edge element expanded (replicate), the far end (circular) (checked in
    tests/ops/test_fused_composites.py).
    """

    caption = ("{g} with the padding cut off, each edge copy's gradient added back onto the "
               "element it copied : {sg} → {s0}",)
    _scatter: type[Function]

    @staticmethod
    def forward(ctx: Node, x: Tensor, pad: tuple, mode: str) -> Tensor:
        maps = _maps(x._data.shape, pad, mode)
        ctx.pad, ctx.mode, ctx.in_shape = pad, mode, x._data.shape
        return wrap(contiguous(x._data[(Ellipsis, *np.ix_(*maps))]))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return ctx._function._scatter.apply(grad, pad=ctx.pad, mode=ctx.mode,
                                            in_shape=tuple(ctx.in_shape))


class _ScatterPad(Function):
    """The adjoint of `_GatherPad`: add every output gradient onto its source element.

    Equals the gradient of the gather's composite (checked, with its own backward, by the
    second-order gradients in tests/ops/test_fused_composites.py).
    """

    _gather: type[Function]

    @staticmethod
    def forward(ctx: Node, g: Tensor, pad: tuple, mode: str, in_shape: tuple) -> Tensor:
        maps = _maps(in_shape, pad, mode)
        data = g._data
        first = data.ndim - len(maps)
        for i, m in enumerate(maps):
            onehot = np.zeros((len(m), in_shape[first + i]), dtype=data.dtype, like=data)
            onehot[np.arange(len(m)), m] = 1
            data = np.moveaxis(np.moveaxis(data, first + i, -1) @ onehot, -1, first + i)
        ctx.pad, ctx.mode = pad, mode
        return wrap(contiguous(data))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return ctx._function._gather.apply(grad, pad=ctx.pad, mode=ctx.mode)


def _pad_classes(name: str, back_name: str) -> type[Function]:
    gather = type(f"_{name}", (_GatherPad,), {"node_name": name, "op_name": "pad"})
    scatter = type(f"_{back_name}", (_ScatterPad,), {"node_name": back_name,
                                                      "op_name": "pad_backward"})
    gather._scatter, scatter._gather = scatter, gather
    return gather


_GATHERS = {(mode, k): _pad_classes(f"{prefix}{k}DBackward0", f"{prefix}{k}DBackwardBackward0")
            for mode, prefix in _MODE_NAMES.items() for k in (1, 2, 3)}
_GATHERS.update({("circular", k): _pad_classes("CopySlices", "CopySlicesBackward0")
                 for k in (1, 2, 3)})


def _check_modes(x: Tensor, pad: tuple, mode: str) -> None:
    """torch's checks for the non-constant modes (dims, sizes), with its messages."""
    k = len(pad) // 2
    if k not in (1, 2, 3) or x.ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {x.ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    shape = list(x.shape)
    if mode == "circular":
        for i in range(k):
            size = shape[x.ndim - 1 - i]
            lo, hi = pad[2 * i], pad[2 * i + 1]
            if lo > size or hi > size:
                raise RuntimeError("Padding value causes wrapping around more than once.")
            if size + lo + hi < 0:
                raise RuntimeError("Negative padding value is resulting in an empty dimension")
        return
    if 0 in (shape[1:] if x.ndim == k + 2 else shape):  # only the batch dim may be empty
        raise RuntimeError(
            f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size and "
            f"other non-zero dimensions for input, but got: {shape}")
    if mode == "reflect":
        for i in range(k):
            axis = x.ndim - 1 - i
            lo, hi = pad[2 * i], pad[2 * i + 1]
            if lo >= shape[axis] or hi >= shape[axis]:
                raise RuntimeError(
                    f"Argument #{4 + 2 * i}: Padding size should be less than the "
                    f"corresponding input dimension, but got: padding ({lo}, {hi}) at "
                    f"dimension {axis} of input {shape}")
    out = [shape[x.ndim - 1 - i] + pad[2 * i] + pad[2 * i + 1] for i in range(k)]
    if any(o < 0 for o in out):
        names = "WHD"[:k]
        have = ", ".join(f"{names[i]}: {shape[x.ndim - 1 - i]}" for i in reversed(range(k)))
        got = " ".join(f"{names[i]}: {out[i]}" for i in reversed(range(k)))
        raise RuntimeError(f"input ({have}) is too small. Calculated output {got}")


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant",
        value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims of ``input``; see the module docstring."""
    require_tensor(input, "pad")
    widths = list(pad)
    for i, p in enumerate(widths):
        if not isinstance(p, (int, np.integer)) or isinstance(p, bool):
            raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, but "
                            f"found element of type {type(p).__name__} at pos {i}")
    widths_t = tuple(int(p) for p in widths)
    if len(widths_t) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(widths_t) // 2 > input.ndim:
        raise RuntimeError(
            "Padding length should be less than or equal to two times the input dimension but "
            f"got padding length {len(widths_t)} and input of dimension {input.ndim}")
    if mode == "constant":
        return _ConstantPad.apply(input, pad=widths_t, value=0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    _check_modes(input, widths_t, mode)
    return _GATHERS[mode, len(widths_t) // 2].apply(input, pad=widths_t, mode=mode)


def constant_pad_nd(input: Tensor, pad: Sequence[int], value: float = 0) -> Tensor:
    """torch's ATen name of ``F.pad(input, pad, 'constant', value)``."""
    return _pad(input, pad, "constant", value)


_pad = pad  # constant_pad_nd's argument ``pad`` (torch's name) hides the function
