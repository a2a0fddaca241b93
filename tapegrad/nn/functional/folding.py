"""nn.functional: ``unfold`` (im2col) and ``fold`` (col2im) as layers.

``unfold`` cuts every sliding window of a (N, C, H, W) map out as one column::

    out[n, (c, p, q), l] = x_padded[n, c, i*s + p*d, j*s + q*d]     l = i*OW + j

giving (N, C*kH*kW, L) with L the number of window positions. A convolution is then one
matrix product, ``weight.view(O, -1) @ unfold(x)`` (that is how `tapegrad.nn.functional.conv`
computes it, in compiled kernels). ``fold`` is the adjoint: it adds every column entry back
to the pixel it was cut from, so overlapping windows sum up; ``fold(unfold(x))`` is ``x``
times how many windows cover each pixel.

Both are written with the window table of `tapegrad.nn.functional.pooling_nd.window_index`
and differentiable ``index_select`` / ``index_add``: each is the other's backward, and the
gradients can be differentiated again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tapegrad import creation
from tapegrad.nn.functional.pooling_nd import window_index
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.ops.index_select import IndexAdd, IndexSelect
from tapegrad.ops.joining import cat
from tapegrad.tensor import Tensor

__all__ = ["fold", "unfold"]


def _pair(value: Any, name: str, fn: str) -> tuple[int, int]:
    items = list(value) if isinstance(value, Sequence) else [value]
    if len(items) == 1:
        items = items * 2
    if len(items) != 2:
        raise RuntimeError(f"{fn}(): argument '{name}' must be an int or a pair of ints, "
                           f"got {list(value)}")
    return int(items[0]), int(items[1])


def _check(fn: str, k: tuple, d: tuple, p: tuple, s: tuple) -> None:
    if min(k) <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                           f"{k[0]} kernel_width: {k[1]}")
    if min(d) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: "
                           f"{d[0]} dilation_width: {d[1]}")
    if min(p) < 0:
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {p[0]} "
                           f"pad_width: {p[1]}")
    if min(s) <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: "
                           f"{s[0]} stride_width: {s[1]}")


def _blocks(size: tuple, k: tuple, d: tuple, p: tuple, s: tuple) -> tuple[int, int]:
    """Window positions per spatial dim."""
    return tuple((size[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1  # type: ignore[return-value]
                 for i in range(2))


def _table(size: tuple, blocks: tuple, k: tuple, d: tuple, p: tuple, s: tuple) -> np.ndarray:
    starts = [np.arange(blocks[i]) * s[i] - p[i] for i in range(2)]
    lengths = [np.full(blocks[i], k[i]) for i in range(2)]
    return window_index(size, starts, lengths, d)  # (L, K), padding -> sentinel


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
           stride: Any = 1) -> Tensor:
    """Sliding windows of (N, C, H, W) (or (C, H, W)) as columns: (N, C*kH*kW, L)."""
    require_tensor(input, "unfold")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size "
                           f"and other non-zero dimensions for input, but got: "
                           f"{list(input.shape)}")
    k, d = _pair(kernel_size, "kernel_size", "im2col"), _pair(dilation, "dilation", "im2col")
    p, s = _pair(padding, "padding", "im2col"), _pair(stride, "stride", "im2col")
    _check("im2col", k, d, p, s)
    size = tuple(input.shape[-2:])
    blocks = _blocks(size, k, d, p, s)
    if input.shape[-3] == 0 or min(size) == 0 or min(blocks) < 1:
        raise RuntimeError(
            f"Given input with spatial size {list(size)}, kernel_size={list(k)}, "
            f"dilation={list(d)}, padding={list(p)}, calculated shape of the array of sliding "
            f"blocks as {list(blocks)}, but its components must be at least one.")
    lead = tuple(input.shape[:-2])
    flat = input.reshape(*lead, size[0] * size[1])
    cell = creation.zeros(*lead, 1, dtype=input.dtype, device=input.device)  # the padding
    flat = cat([flat, cell], -1)
    table = _table(size, blocks, k, d, p, s)
    cols = IndexSelect.apply(flat, dim=flat.ndim - 1, index=table.T.reshape(-1))
    return cols.reshape(*lead[:-1], lead[-1] * k[0] * k[1], table.shape[0])


def fold(input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1,
         padding: Any = 0, stride: Any = 1) -> Tensor:
    """Columns (N, C*kH*kW, L) (or unbatched) summed back into a (N, C, H, W) map of
    ``output_size``: the adjoint of `unfold`."""
    require_tensor(input, "fold")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor with possibly 0 batch size "
                           f"and non-zero dimensions for input, but got: {list(input.shape)}")
    size = _pair(output_size, "output_size", "col2im")
    k, d = _pair(kernel_size, "kernel_size", "col2im"), _pair(dilation, "dilation", "col2im")
    p, s = _pair(padding, "padding", "col2im"), _pair(stride, "stride", "col2im")
    _check("col2im", k, d, p, s)
    if min(size) <= 0:
        raise RuntimeError(f"output_size should be greater than zero, but got output_height: "
                           f"{size[0]} output_width: {size[1]}")
    rows, length = input.shape[-2], input.shape[-1]
    window = k[0] * k[1]
    if rows % window:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size, but got input.size(1)={rows} and "
                           f"kernel_size=({k[0]}, {k[1]})")
    blocks = _blocks(size, k, d, p, s)
    if min(blocks) < 1 or length != blocks[0] * blocks[1]:
        raise RuntimeError(
            f"Given output_size=({size[0]}, {size[1]}), kernel_size=({k[0]}, {k[1]}), "
            f"dilation=({d[0]}, {d[1]}), padding=({p[0]}, {p[1]}), stride=({s[0]}, {s[1]}), "
            f"expected size of input's dimension 2 to match the calculated number of sliding "
            f"blocks {blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but got "
            f"input.size(2)={length}.")
    lead = tuple(input.shape[:-2])
    c = rows // window
    table = _table(size, blocks, k, d, p, s)
    cols = input.reshape(*lead, c, window * length)  # (c, tap, l) order, as unfold wrote it
    total = math.prod(size)
    out = creation.zeros(*lead, c, total + 1, dtype=input.dtype, device=input.device)
    out = IndexAdd.apply(out, cols, dim=out.ndim - 1, index=table.T.reshape(-1))
    return out[..., :total].reshape(*lead, c, *size)
