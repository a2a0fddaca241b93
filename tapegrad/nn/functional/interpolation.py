"""nn.functional: resizing feature maps: ``interpolate`` (``upsample``), ``upsample_nearest``
and ``upsample_bilinear``.

Every mode torch offers is *separable*: resizing a (N, C, D, H, W) map is resizing its W axis,
then its H axis, then its D axis, each time by the same 1-d rule. And each 1-d rule reads, for
output position ``i``, a few input positions ``idx[t][i]`` with weights ``w[t][i]``::

    out[..., i] = sum_t w[t][i] * x[..., idx[t][i]]

* ``nearest``: one tap, ``idx = min(floor(i * scale), L_in - 1)``, weight 1 (``nearest-exact``
  rounds instead: ``floor((i + 0.5) * scale)``);
* ``linear`` / ``bilinear`` / ``trilinear``: two taps, the neighbours of the source coordinate
  ``s``, weighted ``1 - frac(s)`` and ``frac(s)``;
* ``bicubic``: four taps (``floor(s) - 1 .. floor(s) + 2``, clamped to the edge) with Keys'
  cubic convolution weights (``A = -0.75``, as torch and OpenCV);
* ``area``: the average of the input cells each output cell covers (adaptive average pooling);
* ``antialias=True`` (bilinear, bicubic): when shrinking, the filter is stretched over every
  input pixel it spans (a low-pass filter, as PIL's resize), taps renormalised at the edges.

Where the source coordinate of output ``i`` lies (torch's ``area_pixel_compute_source_index``):
with ``align_corners=True`` the corner pixels' *centres* line up, ``s = i * (L_in - 1) /
(L_out - 1)``; otherwise the corners' *edges* do, ``s = (i + 0.5) * scale - 0.5`` with
``scale = L_in / L_out`` (or ``1 / scale_factor`` when a scale factor was given and not
recomputed), clamped at 0 for the linear modes.

The taps are computed in NumPy (they depend only on sizes); the reading and weighting are
``index_select`` and products, ordinary differentiable ops, so the gradient (a scatter-add of
the weighted output gradient) and its own gradient need no code here. The weights are
computed in the input's precision, as torch's CPU kernels do.

Integer (uint8) images take torch's integer route instead (`_integer_resize`): 16-bit
fixed-point weights and a rounded, clamped result after each axis, so that resized images
agree with torch's to the last level.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from tapegrad.nn.functional.pooling import adaptive_avg_pool1d, adaptive_avg_pool2d
from tapegrad.nn.functional.pooling_nd import adaptive_avg_pool3d
from tapegrad.ops._util import wrap
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.ops.index_select import IndexSelect
from tapegrad.tensor import Tensor

__all__ = ["interpolate", "upsample", "upsample_bilinear", "upsample_nearest"]

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_CUBIC_A = -0.75


# ------------------------------------------------------------------ 1-d rules: taps, weights
def _scale(n_in: int, n_out: int, align_corners: bool, scale: float | None,
           real: type) -> Any:
    """torch's ``area_pixel_compute_scale``: input steps per output step."""
    if align_corners:
        return real(n_in - 1) / real(n_out - 1) if n_out > 1 else real(0)
    if scale is not None and scale > 0:
        return real(1.0 / scale)
    return real(n_in) / real(n_out)


def _source(n_in: int, n_out: int, align_corners: bool, scale: float | None, real: type,
            cubic: bool) -> np.ndarray:
    """The source coordinate of every output position, in the precision ``real``."""
    s = _scale(n_in, n_out, align_corners, scale, real)
    i = np.arange(n_out, dtype=real)
    if align_corners:
        return s * i
    # one rounding for the multiply-add, as the fused multiply-add torch's compiled kernels
    # use (rounding the product first moves float32 coordinates by an ulp: 1e-4 of a pixel)
    src = (np.float64(s) * (i + real(0.5)).astype(np.float64) - 0.5).astype(real)
    return src if cubic else np.maximum(src, real(0))


def _floor_and_frac(src: np.ndarray, n_in: int, real: type) -> tuple:
    """torch's ``guard_index_and_lambda``: the tap left of ``src`` and the distance to it."""
    index = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    frac = np.clip(src - index.astype(real), 0, 1).astype(real)
    return index, frac


def _nearest_taps(n_in: int, n_out: int, scale: float | None, exact: bool) -> list:
    if n_out == n_in and not exact:
        return [(np.arange(n_out), None)]
    if n_out == 2 * n_in and not exact:
        return [(np.arange(n_out) >> 1, None)]
    s = np.float32(1.0 / scale) if scale is not None and scale > 0 else (
        np.float32(n_in) / np.float32(n_out))
    i = np.arange(n_out, dtype=np.float32)
    src = np.floor((i + np.float32(0.5)) * s if exact else i * s).astype(np.int64)
    return [(np.minimum(src, n_in - 1), None)]


def _linear_taps(n_in: int, n_out: int, align_corners: bool, scale: float | None,
                 real: type) -> list:
    index, frac = _floor_and_frac(_source(n_in, n_out, align_corners, scale, real, False),
                                  n_in, real)
    right = index + (index < n_in - 1)
    return [(index, real(1) - frac), (right, frac)]


def _cubic_weights(t: np.ndarray, real: type) -> list:
    """Keys' cubic convolution weights of the four taps around a point ``t`` past the
    second one."""
    a = real(_CUBIC_A)

    def near(x: np.ndarray) -> np.ndarray:  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: np.ndarray) -> np.ndarray:  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    one = real(1)
    return [far(t + one), near(t), near(one - t), far(real(2) - t)]


def _cubic_taps(n_in: int, n_out: int, align_corners: bool, scale: float | None,
                real: type) -> list:
    index, frac = _floor_and_frac(_source(n_in, n_out, align_corners, scale, real, True),
                                  n_in, real)
    weights = _cubic_weights(frac, real)
    return [(np.clip(index - 1 + j, 0, n_in - 1), weights[j]) for j in range(4)]


def _resize_axis(x: Tensor, axis: int, taps: list) -> Tensor:
    """``sum_t w_t * x.index_select(axis, idx_t)`` (weights broadcast along ``axis``)."""
    out = None
    shape = [1] * x.ndim
    shape[axis] = -1
    for index, weight in taps:
        part = IndexSelect.apply(x, dim=axis, index=np.asarray(index, dtype=np.int64))
        if weight is not None:
            part = part * wrap(np.asarray(weight).reshape(shape)).to(x.device)
        out = part if out is None else out + part
    return out


# ------------------------------------------------------------------ torch's Python front end
def _sizes(input: Tensor, size: Any, scale_factor: Any, mode: str,
           recompute_scale_factor: Any) -> tuple[list[int], list[float | None]]:
    """Output sizes and the scale factors the kernels see (``None`` where recomputed)."""
    dim = input.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, Sequence):
            if len(size) != dim:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {list(input.shape[2:])} and output size "
                    f"of {list(size)}. Please provide input tensor in (N, C, d1, d2, ...,dK) "
                    "format and output size in (o1, o2, ...,oK) format.")
            out = [int(s) for s in size]
        else:
            out = [int(size)] * dim
        scales: list[float | None] = [None] * dim
    elif scale_factor is not None:
        if isinstance(scale_factor, Sequence):
            if len(scale_factor) != dim:
                raise ValueError(
                    "Input and scale_factor must have the same number of spatial dimensions, "
                    f"but got input with spatial dimensions of {list(input.shape[2:])} and "
                    f"scale_factor of shape {list(scale_factor)}. Please provide input tensor "
                    "in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) "
                    "format.")
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * dim
        out = [math.floor(float(input.shape[2 + i]) * scales[i]) for i in range(dim)]
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if recompute_scale_factor or mode == "area":
        scales = [None] * dim  # the kernels derive the scale from the sizes
    return out, scales


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None,
                mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None, antialias: bool = False) -> Tensor:
    """Resize the spatial dims of (N, C, L), (N, C, H, W) or (N, C, D, H, W) to ``size``, or
    by ``scale_factor`` (output ``floor(L * scale_factor)``).

    ``mode``: ``'nearest'``, ``'nearest-exact'``, ``'linear'`` (3-d input), ``'bilinear'``
    and ``'bicubic'`` (4-d), ``'trilinear'`` (5-d) or ``'area'``; ``align_corners`` (the
    interpolating modes only) maps corner pixel centres onto each other. With a
    ``scale_factor`` the coordinates use ``1/scale_factor`` as the step unless
    ``recompute_scale_factor=True`` (then ``L_in/L_out``, as for ``size``).
    """
    require_tensor(input, "interpolate")
    if mode not in _MODES:
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
            "the modes: nearest | linear | bilinear | bicubic | trilinear | area | "
            f"nearest-exact (got {mode})")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    out, scales = _sizes(input, size, scale_factor, mode, recompute_scale_factor)
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear and bicubic modes and "
                         "requires a 4-D tensor as input")
    if input.ndim not in (3, 4, 5):
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
            "the modes: nearest | linear | bilinear | bicubic | trilinear | area | "
            f"nearest-exact (got {mode})")
    rank = input.ndim - 2
    if mode in _RANK and _RANK[mode] != rank:
        names = {1: "3D", 2: "4D", 3: "5D"}
        raise NotImplementedError(f"Got {names[rank]} input, but {mode} mode needs "
                                  f"{names[_RANK[mode]]} input")
    for i in range(rank):
        if out[i] <= 0 or input.shape[2 + i] <= 0:
            raise RuntimeError(
                f"Input and output sizes should be greater than 0, but got input "
                f"{list(input.shape[2:])} and output {out}")
    if mode == "area":
        pool = (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[rank - 1]
        return pool(input, out if rank > 1 else out[0])
    integer = not input.is_floating_point()
    real = np.float64 if input.dtype.numpy == np.float64 else np.float32
    if integer and mode != "nearest" and mode != "nearest-exact":
        return _integer_resize(input, out, mode == "bicubic", bool(align_corners), scales,
                               antialias)
    x = input.float() if integer and mode not in ("nearest", "nearest-exact") else input
    for i in reversed(range(rank)):  # separable: one axis at a time
        n_in = input.shape[2 + i]
        if mode in ("nearest", "nearest-exact"):
            taps = _nearest_taps(n_in, out[i], scales[i], mode == "nearest-exact")
        elif antialias:
            taps = _window_taps(n_in, out[i], mode == "bicubic", bool(align_corners),
                                scales[i], True, real)
        elif mode == "bicubic":
            taps = _cubic_taps(n_in, out[i], bool(align_corners), scales[i], real)
        else:
            taps = _linear_taps(n_in, out[i], bool(align_corners), scales[i], real)
        x = _resize_axis(x, 2 + i, taps)
        if x.dtype != input.dtype:  # integer images: each pass rounds back into range
            info = np.iinfo(input.dtype.numpy)
            x = (x + 0.5).floor().clamp(float(info.min), float(info.max))
    return x.to(input.dtype) if x.dtype != input.dtype else x


def _window_taps(n_in: int, n_out: int, cubic: bool, align_corners: bool,
                 scale: float | None, antialias: bool = False, real: type = np.float64) -> list:
    """Taps of a filter's support around each source point, cut to the image and
    renormalised to sum 1 (instead of clamping taps to the edge), as torch's antialiasing
    and integer-image kernels compute them (in the precision ``real``, as they do).

    With ``antialias`` and a shrinking axis (``step > 1``) the filter is stretched by the
    step, so every input pixel contributes (a low-pass filter before subsampling), and the
    cubic filter is Keys' with ``A = -0.5`` (as PIL's).
    """
    step = _scale(n_in, n_out, align_corners, scale, real)
    support = 2.0 if cubic else 1.0
    inverse = real(1)
    if antialias and step >= 1.0:
        support, inverse = support * float(step), real(1.0 / float(step))
    delta = 0.5 if align_corners and not antialias else 0.0
    width = 2 * math.ceil(support) + 1
    index = np.zeros((width, n_out), dtype=np.int64)
    weight = np.zeros((width, n_out), dtype=real)
    a = real(-0.5 if antialias else _CUBIC_A)
    for o in range(n_out):
        center = real(step * real(o + 0.5 - delta))
        lo = max(int(float(center) - support + 0.5 + delta), 0)
        hi = min(int(float(center) + support + 0.5 + delta), n_in)
        offset = (np.arange(lo, hi) - center).astype(real)  # an integer minus the centre
        d = np.abs(((offset.astype(np.float64) + 0.5 - delta) * float(inverse)).astype(real))
        if cubic:
            w = np.where(d <= 1, ((a + 2) * d - (a + 3)) * d * d + 1,
                         np.where(d < 2, ((a * d - 5 * a) * d + 8 * a) * d - 4 * a, 0))
        else:
            w = np.maximum(real(0), real(1) - d)
        w = w.astype(real)
        total = real(0)
        for v in w:  # torch adds the weights up one by one
            total = real(total + v)
        index[:hi - lo, o] = np.arange(lo, hi)
        weight[:hi - lo, o] = w / total if total != 0 else w
    return [(index[j], weight[j]) for j in range(width)]


def _integer_resize(input: Tensor, out: list, cubic: bool, align_corners: bool,
                    scales: list, antialias: bool = False) -> Tensor:
    """Linear or cubic resizing of an integer (image) tensor the way torch's uint8 kernel
    does it: one pass per axis that changes size, last axis first, with the taps of
    `_window_taps` as 16-bit fixed-point weights (as many fraction bits as the largest weight
    allows), rounding half up and clamping into the dtype's range after every pass. Not
    differentiable (integers)."""
    data = input.detach().cpu()._data.astype(np.int64)
    info = np.iinfo(input.dtype.numpy)
    for i in reversed(range(len(out))):
        axis, n_in = 2 + i, input.shape[2 + i]
        if out[i] == n_in:
            continue
        if cubic and not antialias:  # edge taps clamped as in the float kernel, merged
            taps = _cubic_taps(n_in, out[i], align_corners, scales[i], np.float64)
            for j in reversed(range(1, len(taps))):
                same = taps[j][0] == taps[j - 1][0]
                taps[j - 1] = (taps[j - 1][0], taps[j - 1][1] + np.where(same, taps[j][1], 0))
                taps[j] = (taps[j][0], np.where(same, 0.0, taps[j][1]))
        else:
            taps = _window_taps(n_in, out[i], cubic, align_corners, scales[i], antialias)
        w_max = max(float(np.max(w)) for _, w in taps)
        bits = 0
        while bits < 15 and int(0.5 + w_max * (1 << (bits + 1))) < (1 << 15):
            bits += 1
        acc = np.full(1, 1 << (bits - 1), dtype=np.int64)
        shape = [1] * data.ndim
        shape[axis] = -1
        for index, weight in taps:
            scaled = weight * (1 << bits)
            w_int = np.trunc(np.where(scaled < 0, scaled - 0.5, scaled + 0.5)).astype(np.int64)
            acc = acc + np.take(data, index, axis=axis) * w_int.reshape(shape)
        data = np.clip(acc >> bits, info.min, info.max)
    return wrap(data.astype(input.dtype.numpy)).to(input.device)


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None,
             mode: str = "nearest", align_corners: bool | None = None) -> Tensor:
    """Deprecated name of `interpolate` (kept by torch, with a warning)."""
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate "
                  "instead.", UserWarning, stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """``interpolate(input, size, scale_factor, mode='nearest')`` (deprecated by torch)."""
    warnings.warn("nn.functional.upsample_nearest is deprecated. Use "
                  "nn.functional.interpolate instead.", UserWarning, stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """``interpolate(input, size, scale_factor, mode='bilinear', align_corners=True)``
    (deprecated by torch)."""
    warnings.warn("nn.functional.upsample_bilinear is deprecated. Use "
                  "nn.functional.interpolate instead.", UserWarning, stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
