"""nn.functional: pooling over any number of spatial dims, by gathering windows.

``max_pool3d``, ``avg_pool3d``, ``adaptive_avg_pool3d``, ``adaptive_max_pool3d``,
``fractional_max_pool2d``/``3d`` and their inverse ``max_unpool1d``/``2d``/``3d``.

Every pool here is the same three steps, written once for ``n`` spatial dims:

1. **Where the windows are** (NumPy, no gradient): each output position ``o`` along spatial
   dim ``i`` reads the input positions ``start_i[o] + j * dilation_i`` for the taps
   ``j < length_i[o]``. Regular pools have ``start = o*stride - padding`` and a fixed length;
   adaptive pools have ``start = floor(o*I/O)`` and ``end = ceil((o+1)*I/O)``; fractional max
   pools draw their starts at random. `window_index` turns this into one table ``flat``
   (outputs x taps) of flat indices into the input's spatial volume; taps that fall in the
   padding (or past a short window's end) point at a *sentinel* one past the end.
2. **Gather** (a differentiable tapegrad op): append the sentinel (0 for sums, never chosen
   for maxima) and read ``x.flatten(-n)[..., flat]``.
3. **Reduce**: a sum divided by torch's divisor, or, for maxima, the winning index picked in
   NumPy with torch's rule (the first maximum in the window's row-major scan; a NaN always
   wins, the last one scanned) and then ``gather`` of those elements.

Because steps 2 and 3 are ordinary differentiable ops (``index_select``, ``gather``, ``sum``),
no backward is written here, and second derivatives come for free: the gradient of a max pool
is a scatter-add to the winners, whose own gradient is the gather again.

The price is memory: the gathered windows hold outputs x taps elements (the 2-d pools in
`tapegrad.nn.functional.pooling` use compiled kernels instead and stay the fast path).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tapegrad import creation
from tapegrad.ops._util import wrap
from tapegrad.ops.checks.pooling import adaptive_nd_args, pool_nd_args
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.ops.index_select import IndexSelect
from tapegrad.ops.joining import cat
from tapegrad.ops.scatter import Gather, Scatter
from tapegrad.tensor import Tensor

__all__ = [
    "adaptive_avg_pool3d", "adaptive_max_pool3d", "avg_pool3d", "fractional_max_pool2d",
    "fractional_max_pool3d", "max_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d",
]


# ------------------------------------------------------------------ the three steps
def window_index(spatial: Sequence[int], starts: Sequence[np.ndarray],
                 lengths: Sequence[np.ndarray], dilation: Sequence[int]) -> np.ndarray:
    """The flat input index of every (output, tap) pair: (lead..., O, K).

    ``starts[i]`` and ``lengths[i]`` are integer arrays (lead..., O_i) (``lead`` is empty, or
    (N, C) when each plane has its own windows); ``O = prod O_i``, ``K = prod max(length_i)``,
    both in row-major order. Taps outside the input or past a window's length hold the
    sentinel ``prod(spatial)``.
    """
    n = len(spatial)
    lead = np.broadcast_shapes(*(np.shape(s)[:-1] for s in starts))
    m = len(lead)
    flat = np.zeros(lead + (1,) * (2 * n), dtype=np.int64)
    valid = np.ones(lead + (1,) * (2 * n), dtype=bool)
    step = 1
    for i in reversed(range(n)):
        start = np.asarray(starts[i], dtype=np.int64)
        length = np.asarray(lengths[i], dtype=np.int64)
        k = int(length.max()) if length.size else 0
        length = np.broadcast_to(length, start.shape)
        taps = np.arange(k)
        pos = start[..., :, None] + taps * dilation[i]  # (lead_i..., O_i, K_i)
        ok = (taps < length[..., :, None]) & (pos >= 0) & (pos < spatial[i])
        shape = [1] * (m + 2 * n)
        shape[:start.ndim - 1] = start.shape[:-1]
        shape[m + i], shape[m + n + i] = pos.shape[-2], pos.shape[-1]
        pos, ok = pos.reshape(shape), ok.reshape(shape)
        flat = flat + pos * step
        valid = valid & ok
        step *= spatial[i]
    flat = np.where(valid, flat, step)  # step is now prod(spatial): the sentinel
    o, k = math.prod(flat.shape[m:m + n]), math.prod(flat.shape[m + n:])
    return flat.reshape(*flat.shape[:m], o, k)


def _flat_with_sentinel(x: Tensor, n: int, fill: float) -> Tensor:
    """``x.flatten(-n)`` with one more element, ``fill``, at the end of the last dim."""
    flat = x.reshape(*x.shape[:x.ndim - n], math.prod(x.shape[x.ndim - n:]))
    pad = creation.full((*flat.shape[:-1], 1), fill, dtype=x.dtype, device=x.device)
    return cat([flat, pad], -1)


def _host(x: Tensor) -> np.ndarray:
    """``x``'s values as a NumPy array on the host (window tables are computed there)."""
    return x.detach().cpu()._data


def _gather_windows(xf: Tensor, flat: np.ndarray) -> Tensor:
    """The windows of ``xf`` (B..., S+1): (B..., O, K)."""
    if flat.ndim == 2:  # the same windows for every plane
        out = IndexSelect.apply(xf, dim=xf.ndim - 1, index=flat.reshape(-1))
        return out.reshape(*xf.shape[:-1], *flat.shape)
    index = np.broadcast_to(flat.reshape(*flat.shape[:-2], flat.shape[-2] * flat.shape[-1]),
                            (*xf.shape[:-1], flat.shape[-2] * flat.shape[-1]))
    out = Gather.apply(xf, dim=xf.ndim - 1, index=np.ascontiguousarray(index))
    return out.reshape(*xf.shape[:-1], *flat.shape[-2:])


def _max_windows(x: Tensor, n: int, flat: np.ndarray, out_shape: tuple) -> tuple:
    """Max over each window with torch's tie rule; returns (values, int64 indices)."""
    xf = _flat_with_sentinel(x, n, 0.0)
    sentinel = xf.shape[-1] - 1
    data = _host(xf)
    lead = data.shape[:-1]
    if flat.ndim == 2:
        v = data[..., flat]
        fl = np.broadcast_to(flat, (*lead, *flat.shape))
    else:
        fl = np.broadcast_to(flat, (*lead, *flat.shape[-2:]))
        v = np.take_along_axis(data, fl.reshape(*lead, math.prod(fl.shape[-2:])), -1)
        v = v.reshape(fl.shape)
    valid = fl != sentinel
    masked = np.where(valid, v, -np.inf)
    with np.errstate(invalid="ignore"):
        best = np.max(masked, axis=-1, keepdims=True) if masked.shape[-1] else masked
        first = np.argmax(valid & (v == best), axis=-1)  # first maximum among the valid taps
    nan = valid & np.isnan(v)
    last_nan = nan.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
    tap = np.where(nan.any(axis=-1), last_nan, first)
    chosen = np.take_along_axis(fl, tap[..., None], -1)[..., 0]
    values = Gather.apply(xf, dim=xf.ndim - 1, index=np.ascontiguousarray(chosen))
    shape = (*lead, *out_shape)
    indices = wrap(chosen.astype(np.int64).reshape(shape)).to(x.device)
    return values.reshape(shape), indices


def _regular(spatial: tuple, out: tuple, kernel: tuple, stride: tuple, padding: tuple) -> tuple:
    """Starts and lengths of a strided pool's windows, per dim."""
    starts = [np.arange(out[i]) * stride[i] - padding[i] for i in range(len(spatial))]
    lengths = [np.full(out[i], kernel[i]) for i in range(len(spatial))]
    return starts, lengths


def _adaptive(spatial: tuple, out: tuple) -> tuple:
    """torch's adaptive windows per dim: ``[floor(o*I/O), ceil((o+1)*I/O))``."""
    starts, lengths = [], []
    for size, o in zip(spatial, out, strict=True):
        idx = np.arange(o)
        lo = (idx * size) // o if o else idx
        hi = -((-(idx + 1) * size) // o) if o else idx
        starts.append(lo)
        lengths.append(hi - lo)
    return starts, lengths


# ------------------------------------------------------------------ max and average
def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """3-d max pooling of (N, C, D, H, W) or (C, D, H, W); ``stride`` defaults to
    ``kernel_size``. Indices (with ``return_indices``) are flat into each D*H*W volume."""
    k, s, p, d, out = pool_nd_args("max_pool3d", input, 3, kernel_size, stride, padding,
                                   dilation, ceil_mode)
    spatial = tuple(input.shape[-3:])
    starts, lengths = _regular(spatial, out, k, s, p)
    values, indices = _max_windows(input, 3, window_index(spatial, starts, lengths, d), out)
    return (values, indices) if return_indices else values


def avg_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """3-d average pooling of (N, C, D, H, W) or (C, D, H, W); divisor rules as in
    `avg_pool2d`: ``divisor_override``, else the window counting the padding
    (``count_include_pad``, but never past it) or only the input elements."""
    require_tensor(input, "avg_pool3d")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    k, s, p, _, out = pool_nd_args("avg_pool3d", input, 3, kernel_size, stride, padding, 1,
                                   ceil_mode)
    spatial = tuple(input.shape[-3:])
    starts, lengths = _regular(spatial, out, k, s, p)
    flat = window_index(spatial, starts, lengths, (1, 1, 1))
    sums = _gather_windows(_flat_with_sentinel(input, 3, 0.0), flat).sum(-1)
    if divisor_override is not None:
        divisor = np.full(flat.shape[0], float(divisor_override))
    else:
        per_dim = []
        for i in range(3):
            lo = starts[i]
            hi = np.minimum(lo + k[i], spatial[i] + p[i])  # the window, clipped to the padding
            if not count_include_pad:
                lo, hi = np.maximum(lo, 0), np.minimum(hi, spatial[i])
            per_dim.append(hi - lo)
        divisor = np.multiply.outer(np.multiply.outer(per_dim[0], per_dim[1]),
                                    per_dim[2]).reshape(-1).astype(np.float64)
    if not input.is_floating_point():  # torch divides integers rounding toward zero
        a, d = _host(sums), divisor.astype(sums.dtype.numpy)
        result = wrap(np.sign(a) * (np.abs(a) // d)).to(input.device)
    else:
        result = sums / wrap(divisor.astype(input.dtype.numpy)).to(input.device)
    return result.reshape(*input.shape[:-3], *out)


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling of (N, C, D, H, W) or (C, D, H, W) to a fixed ``output_size`` (an int
    or a triple; ``None`` keeps that dim); windows as in `adaptive_avg_pool2d`."""
    out = adaptive_nd_args("adaptive_avg_pool3d", input, 3, output_size)
    spatial = tuple(input.shape[-3:])
    starts, lengths = _adaptive(spatial, out)
    flat = window_index(spatial, starts, lengths, (1, 1, 1))
    sums = _gather_windows(_flat_with_sentinel(input, 3, 0.0), flat).sum(-1)
    counts = np.multiply.outer(np.multiply.outer(lengths[0], lengths[1]), lengths[2])
    counts = counts.reshape(-1).astype(input.dtype.numpy)
    return (sums / wrap(counts).to(input.device)).reshape(*input.shape[:-3], *out)


def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max pooling of (N, C, D, H, W) or (C, D, H, W) to a fixed ``output_size``."""
    out = adaptive_nd_args("adaptive_max_pool3d", input, 3, output_size)
    spatial = tuple(input.shape[-3:])
    starts, lengths = _adaptive(spatial, out)
    values, indices = _max_windows(input, 3, window_index(spatial, starts, lengths, (1, 1, 1)),
                                   out)
    return (values, indices) if return_indices else values


# ------------------------------------------------------------------ fractional max pooling
def _intervals(sample: np.ndarray, size: int, out: int, k: int) -> np.ndarray:
    """torch's pseudo-random window starts: ``floor((o + u) * a) - floor(u * a)`` with
    ``a = (size - k) / (out - 1)``, and the last window flush with the end."""
    idx = np.arange(out)
    if out > 1:
        alpha = sample.dtype.type((size - k) / (out - 1))
        starts = (np.floor((idx + sample[..., None]) * alpha)
                  - np.floor(sample[..., None] * alpha)).astype(np.int64)
    else:
        starts = np.zeros((*sample.shape, out), dtype=np.int64)
    starts[..., -1] = size - k
    return starts


def _fractional(fn: str, n: int, input: Tensor, kernel_size: Any, output_size: Any,
                output_ratio: Any, return_indices: bool, samples: Any) -> Any:
    require_tensor(input, fn)
    if output_size is None and output_ratio is None:
        raise ValueError(f"{fn} requires specifying either an output_size or an output_ratio")
    k = tuple(kernel_size) if isinstance(kernel_size, Sequence) else (kernel_size,) * n
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{fn}(): Expected {n + 1}D or {n + 2}D tensor, but got: "
                           f"{list(input.shape)}")
    spatial = tuple(input.shape[-n:])
    if output_size is None:
        ratio = tuple(output_ratio) if isinstance(output_ratio, Sequence) else (output_ratio,) * n
        out = tuple(int(spatial[i] * ratio[i]) for i in range(n))
    else:
        out = tuple(output_size) if isinstance(output_size, Sequence) else (output_size,) * n
    for i in range(n):
        if out[i] + k[i] - 1 > spatial[i]:
            raise RuntimeError(f"{fn}(): pool size {k[i]} too large relative to input size "
                               f"{spatial[i]} and output size {out[i]}")
    batched = input.ndim == n + 2
    x = input if batched else input.unsqueeze(0)
    if samples is None:
        samples = creation.rand(x.shape[0], x.shape[1], n, dtype=input.dtype)
    # torch reads the samples of plane (n, c) at [n, c]: extra rows are ignored
    u = (_host(samples) if isinstance(samples, Tensor) else np.asarray(samples))[:x.shape[0]]
    # torch reads the samples in reverse dim order: sample 0 drives the last (width) dim
    starts = [_intervals(u[..., n - 1 - i], spatial[i], out[i], k[i]) for i in range(n)]
    lengths = [np.full(out[i], k[i]) for i in range(n)]
    values, indices = _max_windows(x, n, window_index(spatial, starts, lengths, (1,) * n), out)
    if not batched:
        values, indices = values.squeeze(0), indices.squeeze(0)
    return (values, indices) if return_indices else values


def fractional_max_pool2d(input: Tensor, kernel_size: Any, output_size: Any = None,
                          output_ratio: Any = None, return_indices: bool = False,
                          _random_samples: Any = None) -> Any:
    """Fractional max pooling (Graham, 2014) of (N, C, H, W) or (C, H, W): windows of
    ``kernel_size`` at pseudo-random, overlapping positions, so that the output can shrink by
    a non-integer ratio. ``_random_samples`` (N, C, 2) in [0, 1) fixes the positions
    (drawn from tapegrad's generator when omitted)."""
    return _fractional("fractional_max_pool2d", 2, input, kernel_size, output_size,
                       output_ratio, return_indices, _random_samples)


def fractional_max_pool3d(input: Tensor, kernel_size: Any, output_size: Any = None,
                          output_ratio: Any = None, return_indices: bool = False,
                          _random_samples: Any = None) -> Any:
    """Fractional max pooling of (N, C, D, H, W) or (C, D, H, W); ``_random_samples`` is
    (N, C, 3). See `fractional_max_pool2d`."""
    return _fractional("fractional_max_pool3d", 3, input, kernel_size, output_size,
                       output_ratio, return_indices, _random_samples)


# ------------------------------------------------------------------ unpooling
def _unpool(fn: str, n: int, input: Tensor, indices: Tensor, kernel_size: Any, stride: Any,
            padding: Any, output_size: Any) -> Tensor:
    """Put each value back where its max came from (zeros elsewhere): a scatter, whose
    gradient is the gather of the output gradient at ``indices``."""
    require_tensor(input, fn)
    require_tensor(indices, fn, "indices", 2)

    def tup(v: Any) -> tuple:
        return tuple(v) if isinstance(v, Sequence) else (v,) * n

    k = tup(kernel_size)
    s = k if stride is None or (isinstance(stride, Sequence) and not stride) else tup(stride)
    p = tup(padding)
    spatial = list(input.shape[-n:])
    default = [(spatial[i] - 1) * s[i] + k[i] - 2 * p[i] for i in range(n)]
    if output_size is None:
        size = default
    else:
        size = list(output_size)
        if len(size) == n + 2:
            size = size[2:]
        if len(size) != n:
            raise ValueError(f"output_size should be a sequence containing {n} or {n + 2} "
                             f"elements, but it has a length of '{len(size)}'")
        for i in range(n):
            lo, hi = default[i] - s[i], default[i] + s[i]
            if not lo < size[i] < hi:
                raise ValueError(f'invalid output_size "{size}" (dim {i} must be between {lo} '
                                 f"and {hi})")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{fn}(): Expected {n + 1}D or {n + 2}D tensor, but got "
                           f"{list(input.shape)}")
    total = int(np.prod(size))
    idx = _host(indices).astype(np.int64).reshape(*input.shape[:-n],
                                                             math.prod(spatial))
    if idx.size and (idx.min() < 0 or idx.max() >= total):
        bad = idx[(idx < 0) | (idx >= total)].flat[0]
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{'x'.join(map(str, size))}")
    lead = tuple(input.shape[:-n])
    zeros = creation.zeros(*lead, total, dtype=input.dtype, device=input.device)
    src = input.reshape(*lead, math.prod(spatial))
    out = Scatter.apply(zeros, src, dim=len(lead), index=idx)
    return out.reshape(*lead, *size)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None,
                 padding: Any = 0, output_size: Any = None) -> Tensor:
    """The partial inverse of `max_pool1d`: each value to the position its ``indices`` names
    (from ``max_pool1d(..., return_indices=True)``), zeros elsewhere."""
    return _unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding,
                   output_size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None,
                 padding: Any = 0, output_size: Any = None) -> Tensor:
    """The partial inverse of `max_pool2d`; ``output_size`` resolves the sizes that the
    pool's rounding made ambiguous."""
    return _unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding,
                   output_size)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None,
                 padding: Any = 0, output_size: Any = None) -> Tensor:
    """The partial inverse of `max_pool3d`."""
    return _unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding,
                   output_size)
