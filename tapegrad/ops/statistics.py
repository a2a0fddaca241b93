"""Statistics and numerical calculus on samples: histc, histogram, histogramdd, bincount,
cov, corrcoef, diff, gradient, trapezoid (trapz), cumulative_trapezoid.

Counting ops (the histograms, bincount) return counts: integers in disguise, with no
gradient. The others are differences and weighted sums of the input, written with
differentiable tapegrad ops (``narrow``, ``cat``, ``sum``, ``@``), so their gradients, and
their second derivatives, come from those ops::

    diff(x)[i]        = x[i+1] - x[i]
    trapezoid(y, x)   = sum_i (x[i+1] - x[i]) (y[i] + y[i+1]) / 2    (the area under y(x))
    gradient(f)[i]    = (f[i+1] - f[i-1]) / 2h                       (central differences)
    cov(X)            = (X - mean) (X - mean)^T / (N - correction)   (rows are variables)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tapegrad import dtypes
from tapegrad.ops._util import wrap, wrap_dim
from tapegrad.ops.clamp import clamp
from tapegrad.ops.comparison import ne
from tapegrad.ops.host import computed_on_host
from tapegrad.ops.indexing import narrow
from tapegrad.ops.joining import cat
from tapegrad.ops.linalg import matmul
from tapegrad.ops.pointwise import sqrt
from tapegrad.ops.reduction.minmax import register_return_type
from tapegrad.ops.reduction.sums import cumsum, sum
from tapegrad.tensor import Tensor


def _float_dtype(x: Tensor) -> np.dtype:
    return x._data.dtype if x.is_floating_point() else dtypes.get_default_dtype().numpy


def _floating(x: Tensor) -> Tensor:
    return x if x.is_floating_point() else x.to(dtypes.get_default_dtype())


# ---------------------------------------------------------------- histograms
@computed_on_host
def histc(x: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """Counts of ``x`` in ``bins`` equal-width bins between ``min`` and ``max`` (both 0:
    the data's own range). Values outside the range are not counted; the last bin
    includes its right edge."""
    if not x.is_floating_point():
        raise RuntimeError(f"\"histogram_cpu\" not implemented for '{x.dtype.scalar_type}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    lo, hi = float(min), float(max)
    data = x._data.astype(np.float64)
    if lo == hi and data.size:
        lo, hi = float(data.min()), float(data.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo}, {hi}] is not finite")
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    inside = data[(data >= lo) & (data <= hi)]
    pos = ((inside - lo) * bins / (hi - lo)).astype(np.int64)
    pos = np.minimum(pos, bins - 1)  # the right edge belongs to the last bin
    return wrap(np.bincount(pos, minlength=bins).astype(x._data.dtype))


histogram_return = register_return_type("histogram", ("hist", "bin_edges"))
histogramdd_return = register_return_type("histogramdd", ("hist", "bin_edges"))


def _edges(data: np.ndarray, bins: Any, rng: Any, dt: np.dtype) -> np.ndarray:
    """The bin edges of one dimension: given (a tensor), or ``bins + 1`` equal steps over
    ``range`` (the data's range by default, widened by 1/2 each way if it is a point)."""
    if isinstance(bins, Tensor):
        return bins._data.astype(np.float64)
    if rng is not None:
        lo, hi = float(rng[0]), float(rng[1])
    elif data.size:
        lo, hi = float(data.min()), float(data.max())
    else:
        lo, hi = 0.0, 1.0
    if lo > hi:
        raise RuntimeError(f"torch.histogramdd: expected upper bin edge {hi} to be greater "
                           f"than or equal to lower bin edge {lo}")
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.histogramdd: range of [{lo}, {hi}] is not finite")
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    # the edges are made in the input's dtype, as torch's linspace does
    return np.linspace(lo, hi, int(bins) + 1, dtype=np.float64).astype(dt).astype(np.float64)


def _bin_index(data: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bin of each value (-1 if outside): ``edges[k] <= v < edges[k+1]``, the last bin
    closed on the right."""
    k = np.searchsorted(edges, data, side="right") - 1
    k = np.where(data == edges[-1], len(edges) - 2, k)
    outside = (data < edges[0]) | (data > edges[-1]) | np.isnan(data)
    return np.where(outside, -1, k)


def _histogramdd(points: np.ndarray, bins: Sequence, rng: Any, weight: Tensor | None,
                 density: bool, dt: np.dtype) -> tuple[np.ndarray, list[np.ndarray]]:
    d = points.shape[-1]
    pts = points.reshape(-1, d).astype(np.float64)
    ranges = [None] * d if rng is None else [rng[2 * i: 2 * i + 2] for i in range(d)]
    edges = [_edges(pts[:, i], bins[i], ranges[i], dt) for i in range(d)]
    idx = [_bin_index(pts[:, i], edges[i]) for i in range(d)]
    keep = np.all([i >= 0 for i in idx], axis=0) if d else np.zeros(0, bool)
    shape = tuple(len(e) - 1 for e in edges)
    hist = np.zeros(shape, dtype=np.float64)
    w = np.ones(len(pts)) if weight is None else weight._data.reshape(-1).astype(np.float64)
    np.add.at(hist, tuple(i[keep] for i in idx), w[keep])
    if density:
        total = hist.sum()
        widths = np.ones(shape)
        for i, e in enumerate(edges):
            widths = widths * np.diff(e).reshape((-1,) + (1,) * (d - i - 1))
        hist = hist / (total * widths)
    return hist.astype(dt), [e.astype(dt) for e in edges]


@computed_on_host
def histogram(x: Tensor, bins: Any = 100, *, range: Any = None, weight: Tensor | None = None,
              density: bool = False) -> Any:
    """``(hist, bin_edges)`` of the values of ``x``: ``bins`` equal bins over ``range`` (or
    the given edges, a 1-D tensor); ``weight`` counts each value by its weight; ``density``
    divides by the total and the bin width (the histogram then integrates to 1)."""
    if not x.is_floating_point():
        raise RuntimeError(f"\"histogramdd\" not implemented for '{x.dtype.scalar_type}'")
    hist, edges = _histogramdd(x._data.reshape(-1, 1), [bins],
                               None if range is None else list(range), weight, density,
                               x._data.dtype)
    return histogram_return(wrap(hist), wrap(edges[0]))


@computed_on_host
def histogramdd(x: Tensor, bins: Any = 10, *, range: Any = None, weight: Tensor | None = None,
                density: bool = False) -> Any:
    """The D-dimensional `histogram` of points ``x`` of shape ``(..., D)``: ``bins`` is an
    int, one int per dimension, or one tensor of edges per dimension."""
    if not x.is_floating_point():
        raise RuntimeError(f"\"histogramdd\" not implemented for '{x.dtype.scalar_type}'")
    d = x.shape[-1] if x.ndim else 1
    if isinstance(bins, (int, np.integer)):
        bins = [int(bins)] * d
    bins = list(bins)
    if len(bins) != d:
        raise RuntimeError("histogramdd: The size of bins must be equal to the innermost "
                           "dimension of the input.")
    hist, edges = _histogramdd(x._data.reshape(-1, d), bins,
                               None if range is None else list(range), weight, density,
                               x._data.dtype)
    return histogramdd_return(wrap(hist), tuple(wrap(e) for e in edges))


@computed_on_host
def bincount(x: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value 0, 1, 2, ... occurs in the 1-D non-negative integer tensor
    ``x`` (at least ``minlength`` bins); with ``weights``, the sum of their weights."""
    if x.dtype.is_floating_point or x.dtype == dtypes.bool_:
        raise RuntimeError(f"\"bincount_cpu\" not implemented for '{x.dtype.scalar_type}'")
    if x.ndim != 1:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    data = x._data.astype(np.int64)
    if data.size and data.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        return wrap(np.bincount(data, minlength=minlength).astype(np.int64))
    if weights.ndim != 1 or weights.shape[0] != x.shape[0]:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    out = np.bincount(data, weights=weights._data.astype(np.float64), minlength=minlength)
    dt = weights._data.dtype if weights._data.dtype == np.float32 else np.float64
    return wrap(out.astype(dt))


# ---------------------------------------------------------------- covariance
def cov(x: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``x`` (a 1-D ``x`` is one
    variable), the columns being observations, optionally weighted by integer frequency
    weights and real observation weights (numpy's ``cov``)."""
    if x.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {x.ndim} dimensions")
    obs = x.reshape(1, -1) if x.ndim < 2 else x
    n = obs.shape[1]
    w = None
    for name, weights in (("fweights", fweights), ("aweights", aweights)):
        if weights is None:
            continue
        if weights.ndim > 1:
            raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got "
                               f"{name} with {weights.ndim} dimensions")
        if name == "fweights" and weights.is_floating_point():
            raise RuntimeError(f"cov(): expected fweights to have integral dtype but got "
                               f"fweights with {weights.dtype.scalar_type} dtype")
        if name == "aweights" and not weights.is_floating_point():
            raise RuntimeError(f"cov(): expected aweights to have floating point dtype but got "
                               f"aweights with {weights.dtype.scalar_type} dtype")
        if weights._data.size != n:
            raise RuntimeError(f"cov(): expected {name} to have the same numel as there are "
                               f"observations in the input but got {weights._data.size} != {n}")
        if (weights._data < 0).any():
            raise RuntimeError(f"cov(): {name} cannot be negative")
        w = weights if w is None else w * weights
    obs = _floating(obs)
    if w is None:
        avg = obs.mean(1, keepdim=True)
        w_sum: Any = n
        norm = n - correction
    else:
        w = w.to(obs.dtype).reshape(-1)
        w_sum = sum(w)
        avg = sum(obs * w, 1, keepdim=True) / w_sum
        if correction == 0:
            norm = w_sum
        elif aweights is None:
            norm = w_sum - correction
        else:
            norm = w_sum - correction * sum(w * aweights.to(obs.dtype).reshape(-1)) / w_sum
    if isinstance(norm, Tensor):
        norm = clamp(norm, min=0)
    else:
        norm = float(max(norm, 0))
    centered = obs - avg
    weighted = centered if w is None else centered * w
    out = matmul(weighted, centered.transpose(0, 1)) / norm
    # one variable (a 1-D input, or a single row) gives a 0-d covariance, as in torch
    return out.reshape(()) if obs.shape[0] == 1 else out


def corrcoef(x: Tensor) -> Tensor:
    """Pearson correlation coefficients of the rows of ``x``: ``cov`` divided by the
    product of the standard deviations, clipped to [-1, 1]."""
    if x.ndim > 2:
        raise RuntimeError(f"corrcoef(): expected input to have two or fewer dimensions but "
                           f"got an input with {x.ndim} dimensions")
    c = cov(x)
    if c.ndim == 0 or c.shape == (1, 1):  # one variable: c / c (NaN where it has no spread)
        return (c / c).reshape(())
    d = c.diagonal()
    s = sqrt(d)
    c = c / s.reshape(-1, 1)
    c = c / s.reshape(1, -1)
    return clamp(c, -1, 1)


# ---------------------------------------------------------------- differences
def diff(x: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (``out[i] = x[i+1] - x[i]``, applied
    ``n`` times), after putting ``prepend``/``append`` before/after ``x``. Bools give
    ``x[i+1] != x[i]``."""
    if x.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = wrap_dim(dim, x.ndim)
    parts = [p for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        parts = [p if isinstance(p, Tensor) else wrap(np.full(
            x.shape[:d] + (1,) + x.shape[d + 1:], p, dtype=x._data.dtype)) for p in parts]
        x = cat(parts, d)
    for _ in range(n):
        size = x.shape[d]
        if size == 0:
            break
        later, earlier = narrow(x, d, 1, size - 1), narrow(x, d, 0, size - 1)
        x = ne(later, earlier) if x.dtype == dtypes.bool_ else later - earlier
    return x


def _check_gradient_args(x: Tensor, spacing: Any, dim: Any, edge_order: int) -> tuple:
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    if dim is None:
        dims = tuple(range(x.ndim))
    else:
        raw = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        dims = tuple(wrap_dim(d, x.ndim) for d in raw)
        for d in set(dims):
            if dims.count(d) > 1:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    if isinstance(spacing, (list, tuple)):
        if len(spacing) != len(dims):
            raise RuntimeError(
                "torch.gradient expected spacing to be unspecified, a scalar or it's spacing "
                "and dim arguments to have the same length, but got a spacing argument of "
                f"length {len(spacing)} and a dim argument of length {len(dims)}.")
        spacings = list(spacing)
    else:
        spacings = [spacing] * len(dims)
    for d in dims:
        if x.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least "
                               "edge_order+1")
    return dims, spacings


@computed_on_host
def gradient(x: Tensor, *, spacing: Any = 1, dim: Any = None, edge_order: int = 1) -> tuple:
    """The derivative of the samples ``x`` along each of ``dim`` (every dim by default),
    by finite differences: central ``(f[i+1] - f[i-1]) / 2h`` inside, one-sided (first or
    second order: ``edge_order``) at the two ends. ``spacing`` is the step ``h`` (a number,
    one per dim) or the sample coordinates (one 1-D tensor per dim)."""
    dims, spacings = _check_gradient_args(x, 1 if spacing is None else spacing, dim,
                                          edge_order)
    f = _floating(x)
    return tuple(_gradient_along(f, d, h, edge_order) for d, h in zip(dims, spacings,
                                                                       strict=True))


def _gradient_along(f: Tensor, d: int, h: Any, edge_order: int) -> Tensor:
    n = f.shape[d]

    def at(start: int, length: int) -> Tensor:  # f[start : start + length] along d
        return narrow(f, d, start, length)

    if not isinstance(h, Tensor):
        h = float(h)
        interior = (at(2, n - 2) - at(0, n - 2)) / (2 * h)
        if edge_order == 1:
            first = (at(1, 1) - at(0, 1)) / h
            last = (at(n - 1, 1) - at(n - 2, 1)) / h
        else:
            first = (at(0, 1) * -1.5 + at(1, 1) * 2 - at(2, 1) * 0.5) / h
            last = (at(n - 3, 1) * 0.5 - at(n - 2, 1) * 2 + at(n - 1, 1) * 1.5) / h
        return cat([first, interior, last], d)
    # sample coordinates: steps of different lengths
    shape = [1] * f.ndim
    shape[d] = -1
    c = _floating(h).to(f.dtype)
    steps = (narrow(c, 0, 1, n - 1) - narrow(c, 0, 0, n - 1)).reshape(shape)

    def step(start: int, length: int) -> Tensor:
        return narrow(steps, d, start, length)

    hl, hr = step(0, n - 2), step(1, n - 2)
    interior = (hl * hl * at(2, n - 2) - hr * hr * at(0, n - 2) + (hr * hr - hl * hl)
                * at(1, n - 2)) / (hl * hr * (hl + hr))
    if edge_order == 1:
        first = (at(1, 1) - at(0, 1)) / step(0, 1)
        last = (at(n - 1, 1) - at(n - 2, 1)) / step(n - 2, 1)
    else:
        a, b = step(0, 1), step(1, 1)
        first = (-(2 * a + b) / (a * (a + b)) * at(0, 1) + (a + b) / (a * b) * at(1, 1)
                 - a / (b * (a + b)) * at(2, 1))
        a, b = step(n - 3, 1), step(n - 2, 1)
        last = (b / (a * (a + b)) * at(n - 3, 1) - (a + b) / (a * b) * at(n - 2, 1)
                + (2 * b + a) / (b * (a + b)) * at(n - 1, 1))
    return cat([first, interior, last], d)


# ---------------------------------------------------------------- integration
def _trapezoid_parts(y: Tensor, x: Any, dx: Any, dim: int, name: str) -> tuple:
    d = wrap_dim(dim, y.ndim)
    if x is not None and dx is not None:
        raise TypeError(f"{name}() received both x and dx")
    n = y.shape[d]
    if isinstance(x, Tensor):
        if x.ndim == 1:
            if x.shape[0] != n:
                raise RuntimeError(f"torch.{name} received x and y tensors whose sizes along "
                                   f"dim {dim} differ: {x.shape[0]} and {n}")
            shape = [1] * y.ndim
            shape[d] = -1
            x = x.reshape(shape)
            dd = d
        else:
            dd = wrap_dim(dim, x.ndim)
        width = narrow(x, dd, 1, max(n - 1, 0)) - narrow(x, dd, 0, max(n - 1, 0))
    else:
        width = 1.0 if x is None and dx is None else float(dx if dx is not None else x)
    return d, n, width


def trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The area under the samples ``y`` along ``dim`` by the trapezoid rule, with the
    sample points ``x`` (a tensor) or a constant step ``dx`` (default 1)."""
    d, n, width = _trapezoid_parts(y, x, dx, dim, "trapezoid")
    if n == 0:
        return sum(y, d) * 0
    if not isinstance(width, Tensor):
        # h (sum y - (y_first + y_last) / 2): every inner sample counts fully
        ends = narrow(y, d, 0, 1) + narrow(y, d, n - 1, 1)
        return (sum(y, d) - ends.squeeze(d) * 0.5) * width
    pairs = narrow(y, d, 1, n - 1) + narrow(y, d, 0, n - 1)
    return sum(width * pairs, d) / 2


def trapz(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The older name of `trapezoid`."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The running `trapezoid` area along ``dim`` (one value fewer than ``y`` has)."""
    d, n, width = _trapezoid_parts(y, x, dx, dim, "cumulative_trapezoid")
    pairs = narrow(y, d, 1, max(n - 1, 0)) + narrow(y, d, 0, max(n - 1, 0))
    if not isinstance(width, Tensor):
        return cumsum(pairs, d) * (width / 2)
    return cumsum(width * pairs / 2, d)


__all__ = ["histc", "histogram", "histogramdd", "bincount", "cov", "corrcoef", "diff",
           "gradient", "trapezoid", "trapz", "cumulative_trapezoid"]

METHODS = {"histc": histc, "histogram": histogram, "bincount": bincount, "cov": cov,
           "corrcoef": corrcoef, "diff": diff}
