"""nn.functional: ``grid_sample``: read an image at arbitrary (learnable) points.

``grid_sample(input, grid)`` with ``input`` (N, C, H, W) and ``grid`` (N, Ho, Wo, 2) gives
(N, C, Ho, Wo): output pixel ``(i, j)`` is the input read at the point ``grid[n, i, j]`` =
``(x, y)``, in coordinates normalised to [-1, 1] across the input (``x`` along the width).
Spatial transformer networks and optical-flow warping use it, and learn through both
arguments: the gradient flows to the image *and* to the sampling positions. 5-d inputs
(N, C, D, H, W) with a (N, Do, Ho, Wo, 3) grid sample volumes the same way.

Each point goes through three steps (torch's ``grid_sampler_compute_source_index``):

1. **unnormalise** to pixel units: ``align_corners=True`` puts -1 and 1 at the centres of the
   corner pixels, ``ix = (x + 1) / 2 * (W - 1)``; otherwise at their outer edges,
   ``ix = ((x + 1) * W - 1) / 2``;
2. **padding_mode**: ``'zeros'`` leaves the point (out-of-image taps read 0), ``'border'``
   clamps it into the image, ``'reflection'`` mirrors it back in at the borders;
3. **interpolate**: ``'bilinear'`` (trilinear for volumes) weights the 2 (8) neighbours by
   the opposite sub-rectangle's area, ``'nearest'`` reads the closest pixel (rounding half
   to even), ``'bicubic'`` (2-d) uses the 4 x 4 neighbours with Keys' weights.

Steps 1 and 2 are piecewise linear in ``x``: they are computed in NumPy together with their
slope (1/2 * size or 0 or -1 times it), and enter the graph as ``c + (x - x.detach()) *
slope``, exact in value and with torch's gradient. Step 3 is gathers and products of
tapegrad tensors, so gradients, and their gradients, need no code here.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from tapegrad import creation
from tapegrad.autograd.function import Function, Node
from tapegrad.ops._util import wrap
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.ops.joining import cat, stack
from tapegrad.ops.scatter import Gather
from tapegrad.tensor import Tensor

__all__ = ["grid_sample", "grid_sampler", "grid_sampler_2d", "grid_sampler_3d"]

_MODES = {"bilinear": 0, "nearest": 1, "bicubic": 2}
_PADDINGS = {"zeros": 0, "border": 1, "reflection": 2}
_CUBIC_A = -0.75


# ------------------------------------------------------------------ coordinates (NumPy)
def _unnormalize(x: np.ndarray, size: int, align_corners: bool) -> tuple:
    """Pixel coordinate and its slope d(coordinate)/dx."""
    if align_corners:
        slope = (size - 1) / 2
        return (x + 1) / 2 * (size - 1), slope
    slope = size / 2
    # (x + 1) * size - 1 rounded once, as the fused multiply-add of torch's compiled kernel
    fused = ((x + 1).astype(np.float64) * size - 1).astype(x.dtype)
    return fused / 2, slope


def _clip(c: np.ndarray, size: int) -> tuple:
    """Clamp into [0, size - 1]; the slope is 0 where clamped (torch: strictly outside)."""
    inside = (c >= 0) & (c <= size - 1)
    return np.clip(c, 0, size - 1), inside.astype(c.dtype)


def _reflect(c: np.ndarray, twice_low: int, twice_high: int) -> tuple:
    """Mirror ``c`` into [low, high] (torch's ``reflect_coordinates``); slope +-1."""
    if twice_low == twice_high:
        return np.zeros_like(c), np.zeros_like(c)
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    sign = np.where(c < low, -1.0, 1.0).astype(c.dtype)
    c = np.abs(c - low)
    flips = np.floor(c / span)
    extra = np.fmod(c, span)
    even = (flips % 2) == 0
    return (np.where(even, extra + low, span - extra + low).astype(c.dtype),
            sign * np.where(even, 1.0, -1.0).astype(c.dtype))


def _apply_padding(c: np.ndarray, size: int, padding: int, align_corners: bool) -> tuple:
    """torch's ``compute_coordinates``: the point after ``padding_mode``, and its slope."""
    ones = np.ones_like(c)
    if padding == 1:  # border
        return _clip(c, size)
    if padding == 2:  # reflection
        if align_corners:
            c, s1 = _reflect(c, 0, 2 * (size - 1))
        else:
            c, s1 = _reflect(c, -1, 2 * size - 1)
        c, s2 = _clip(c, size)
        return c, s1 * s2
    return c, ones


def _source(grid: Tensor, axis: int, size: int, padding: int, align_corners: bool,
            pad: bool = True) -> tuple[Tensor, np.ndarray]:
    """The pixel coordinates along one axis as a tensor differentiable in ``grid``."""
    g = grid[..., axis]
    x = g.detach().cpu()._data
    c, slope = _unnormalize(x, size, align_corners)
    if pad:
        c, s2 = _apply_padding(c, size, padding, align_corners)
        slope = slope * s2
    c = c.astype(x.dtype)
    slope = np.asarray(slope, dtype=x.dtype)
    coord = wrap(c).to(grid.device)
    if g.requires_grad:
        coord = coord + (g - g.detach()) * wrap(slope).to(grid.device)
    return coord, c


# ------------------------------------------------------------------ reading taps
def _read(flat: Tensor, spatial: tuple, points: list[list[np.ndarray]]) -> Tensor:
    """``input`` at K sets of integer points, all in one gather: ``points[k]`` holds one int
    array (N, *out) per spatial dim; 0 outside the image. ``flat`` is (N, C, prod(spatial)
    + 1) with a zero sentinel. Returns (N, C, K, *out)."""
    n, c = flat.shape[0], flat.shape[1]
    indices = []
    for taps in points:
        inside = np.ones(taps[0].shape, dtype=bool)
        index = np.zeros(taps[0].shape, dtype=np.int64)
        for t, size in zip(taps, spatial, strict=True):
            inside &= (t >= 0) & (t < size)
            index = index * size + np.clip(t, 0, size - 1)
        indices.append(np.where(inside, index, math.prod(spatial)))
    index = np.stack(indices, 1)  # (N, K, *out)
    count = math.prod(index.shape[1:])
    idx = np.broadcast_to(index.reshape(n, 1, count), (n, c, count))
    values = Gather.apply(flat, dim=2, index=np.ascontiguousarray(idx))
    return values.reshape(n, c, *index.shape[1:])


def _weighted(values: Tensor, weights: list[Tensor]) -> Tensor:
    """``sum_k values[:, :, k] * weights[k]`` (weights (N, *out), shared by the channels)."""
    return (values * stack(weights, 1).unsqueeze(1)).sum(2)


def _cubic(t: Tensor) -> list[Tensor]:
    """Keys' weights of the 4 taps around a point ``t`` past the second one."""
    a = _CUBIC_A

    def near(x: Tensor) -> Tensor:
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: Tensor) -> Tensor:
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _sample(input: Tensor, grid: Tensor, mode: int, padding: int,
            align_corners: bool) -> Tensor:
    n, c = input.shape[0], input.shape[1]
    k = input.ndim - 2
    spatial = tuple(input.shape[2:])
    flat = input.reshape(n, c, math.prod(spatial))
    flat = cat([flat, creation.zeros(n, c, 1, dtype=input.dtype, device=input.device)], -1)
    # grid's last axis is (x, y[, z]): x indexes the LAST spatial dim
    axes = [k - 1 - i for i in range(k)]  # grid component of spatial dim i
    if mode == 2:  # bicubic: padding applies to each integer tap, not to the point
        (cy, ny), (cx, nx) = (_source(grid, axes[i], spatial[i], padding, align_corners, False)
                              for i in range(2))
        y0, x0 = np.floor(ny), np.floor(nx)
        wy = _cubic(cy - wrap(y0).to(input.device))
        wx = _cubic(cx - wrap(x0).to(input.device))
        points, weights = [], []
        for i in range(4):
            for j in range(4):
                ty, _ = _apply_padding(y0 - 1 + i, spatial[0], padding, align_corners)
                tx, _ = _apply_padding(x0 - 1 + j, spatial[1], padding, align_corners)
                points.append([ty.astype(np.int64), tx.astype(np.int64)])
                weights.append(wy[i] * wx[j])
        return _weighted(_read(flat, spatial, points), weights)
    sources = [_source(grid, axes[i], spatial[i], padding, align_corners) for i in range(k)]
    if mode == 1:  # nearest: round half to even, as nearbyint
        values = _read(flat, spatial, [[np.rint(s[1]).astype(np.int64) for s in sources]])
        values = values.squeeze(2)
        return _ZeroGradient.apply(values, grid) if grid.requires_grad else values
    lows = [np.floor(s[1]) for s in sources]
    points, weights = [], []
    for corner in range(2 ** k):
        bits = [(corner >> (k - 1 - i)) & 1 for i in range(k)]
        weight = None
        for i, bit in enumerate(bits):
            coord = sources[i][0]
            low = wrap(lows[i].astype(sources[i][1].dtype)).to(input.device)
            w = coord - low if bit else low + 1 - coord
            weight = w if weight is None else weight * w
        points.append([(lows[i] + bits[i]).astype(np.int64) for i in range(k)])
        weights.append(weight)
    return _weighted(_read(flat, spatial, points), weights)


class _ZeroGradient(Function):
    """``values`` passed through, with ``grid`` in the graph at zero gradient: moving a point
    a little does not change its nearest pixel (torch returns a zero grid gradient too).

    Equals ``values + 0 * grid.detach().sum()`` (checked in
    tests/ops/test_fused_composites.py): the grid is in the graph, its gradient is 0.
    """

    caption = ("{g} unchanged for the sampled values : {s0}",
               "0 (a nearest-pixel lookup does not move when the grid moves a little) : {s1}")
    node_name = "GridSampler2DBackward0"

    @staticmethod
    def forward(ctx: Node, values: Tensor, grid: Tensor) -> Tensor:
        ctx.grid_shape = grid._data.shape
        return wrap(values._data)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        return grad, wrap(np.zeros(ctx.grid_shape, dtype=grad._data.dtype, like=grad._data))


# ------------------------------------------------------------------ the public functions
def _check(fn: str, input: Tensor, grid: Tensor, mode: int, k: int | None = None) -> None:
    require_tensor(input, fn)
    require_tensor(grid, fn, "grid", 2)
    if input.dtype != grid.dtype:
        raise RuntimeError(f"grid_sampler(): expected input and grid to have same dtype, but "
                           f"input has {input.dtype.scalar_type} and grid has "
                           f"{grid.dtype.scalar_type}")
    if input.ndim != grid.ndim:
        raise RuntimeError(f"grid_sampler(): expected grid to have same number of dimensions "
                           f"as input, but got input with sizes {list(input.shape)} and grid "
                           f"with sizes {list(grid.shape)}")
    if input.ndim not in (4, 5) or (k is not None and input.ndim != k + 2):
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same "
                           f"number of dimensions, but got input with sizes "
                           f"{list(input.shape)} and grid with sizes {list(grid.shape)}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, "
                           f"but got input with sizes {list(input.shape)} and grid with sizes "
                           f"{list(grid.shape)}")
    if grid.shape[-1] != input.ndim - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {input.ndim - 2} in "
                           f"last dimension, but got grid with sizes {list(grid.shape)}")
    if 0 in list(input.shape)[2:]:
        raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial "
                           f"dimensions, but input has sizes {list(input.shape)} with "
                           f"dimension {list(input.shape).index(0, 2)} being empty")
    if mode == 2 and input.ndim != 4:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if not input.is_floating_point():
        raise RuntimeError(f'"grid_sampler" not implemented for '
                           f"'{input.dtype.scalar_type}'")


def grid_sampler(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                 align_corners: bool) -> Tensor:
    """`grid_sample` with torch's integer codes: mode 0 bilinear, 1 nearest, 2 bicubic;
    padding 0 zeros, 1 border, 2 reflection."""
    _check("grid_sampler", input, grid, interpolation_mode)
    return _sample(input, grid, interpolation_mode, padding_mode, bool(align_corners))


def grid_sampler_2d(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                    align_corners: bool) -> Tensor:
    """`grid_sampler` for (N, C, H, W) inputs."""
    _check("grid_sampler_2d", input, grid, interpolation_mode, 2)
    return _sample(input, grid, interpolation_mode, padding_mode, bool(align_corners))


def grid_sampler_3d(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                    align_corners: bool) -> Tensor:
    """`grid_sampler` for (N, C, D, H, W) inputs (no bicubic)."""
    _check("grid_sampler_3d", input, grid, interpolation_mode, 3)
    return _sample(input, grid, interpolation_mode, padding_mode, bool(align_corners))


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",
                padding_mode: str = "zeros", align_corners: bool | None = None) -> Any:
    """Sample ``input`` (N, C, H, W) at the points ``grid`` (N, Ho, Wo, 2), coordinates in
    [-1, 1] (or a volume (N, C, D, H, W) at (N, Do, Ho, Wo, 3)); see the module docstring."""
    if mode not in _MODES:
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in _PADDINGS:
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to "
                      "align_corners=False since 1.3.0. Please specify align_corners=True if "
                      "the old behavior is desired. See the documentation of grid_sample for "
                      "details.", UserWarning, stacklevel=2)
        align_corners = False
    return grid_sampler(input, grid, _MODES[mode], _PADDINGS[padding_mode], align_corners)
