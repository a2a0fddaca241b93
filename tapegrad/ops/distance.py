"""Distances and similarities between vectors: dist, cdist, pdist, cosine_similarity,
pairwise_distance.

Each is a p-norm of differences (or a normalised dot product), written with `vector_norm`
and elementwise ops, so the gradients are the norm's: ``d||v||_2 / dv = v / ||v||``, with
torch's subgradient 0 where two points coincide (``v = 0``)::

    dist(x, y)                = ||x - y||_p                    (all values)
    cdist(X1, X2)[i, j]       = ||X1[i] - X2[j]||_p            (every pair of rows)
    pdist(X)                  = ||X[i] - X[j]||_p for i < j    (the upper triangle)
    pairwise_distance(x, y)   = ||x - y + eps||_p              (along the last dim)
    cosine_similarity(x, y)   = sum (x / ||x||) (y / ||y||)    (along ``dim``)

The ``nn.functional`` functions and the ``nn.CosineSimilarity``/``nn.PairwiseDistance``
modules call these.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad import dtypes
from tapegrad.ops._util import broadcast_shapes, wrap, wrap_dim
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.ops.clamp import clamp_min
from tapegrad.ops.host import computed_on_host
from tapegrad.ops.index_select import index_select
from tapegrad.ops.reduction.norms import vector_norm
from tapegrad.ops.reduction.sums import sum
from tapegrad.tensor import Tensor


def _check_p(p: Any, name: str) -> float:
    p = float(p)
    if p < 0:
        raise RuntimeError(f"{name} only supports non-negative p values")
    return p


def dist(x: Tensor, other: Tensor, p: Any = 2) -> Tensor:
    """The p-norm of ``x - other`` (broadcast), over all values."""
    require_tensor(x, "dist")
    require_tensor(other, "dist")
    if x.dtype != other.dtype:
        raise RuntimeError(f"expected both inputs to have same dtype, but found "
                           f"{x.dtype.scalar_type} and {other.dtype.scalar_type}")
    return vector_norm(x - other, float(p))


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """Distances between every row of ``x1`` (``..., P, M``) and every row of ``x2``
    (``..., R, M``): a ``..., P, R`` tensor (the batch dims broadcast)."""
    require_tensor(x1, "cdist")
    require_tensor(x2, "cdist")
    if x1.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D")
    if x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X2 got: {x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if not x1.is_floating_point():
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: "
                           f"{x1.dtype.scalar_type}")
    if not x2.is_floating_point():
        raise RuntimeError(f"cdist only supports floating-point dtypes, X2 got: "
                           f"{x2.dtype.scalar_type}")
    if compute_mode not in ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                            "donot_use_mm_for_euclid_dist"):
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    p = _check_p(p, "cdist")
    batch = broadcast_shapes(tuple(x1.shape[:-2]), tuple(x2.shape[:-2]))
    a = x1.expand(batch + tuple(x1.shape[-2:]))
    b = x2.expand(batch + tuple(x2.shape[-2:]))
    # every pair (i, j): a[..., i, None, :] - b[..., None, j, :], then the norm of each
    diff = a.unsqueeze(-2) - b.unsqueeze(-3)
    if diff._data.size == 0:
        return wrap(np.zeros(diff.shape[:-1], dtype=diff._data.dtype))
    return vector_norm(diff, p, -1)


@computed_on_host
def pdist(x: Tensor, p: float = 2) -> Tensor:
    """The distances between all pairs of rows ``i < j`` of the matrix ``x``, in the order
    of the upper triangle (a vector of ``N (N - 1) / 2``)."""
    require_tensor(x, "pdist")
    if x.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {x.ndim}D")
    if not x.is_floating_point():
        raise RuntimeError("pdist only supports floating-point dtypes")
    p = _check_p(p, "pdist")
    i, j = np.triu_indices(x.shape[0], 1)
    diff = index_select(x, 0, wrap(i.astype(np.int64))) - \
        index_select(x, 0, wrap(j.astype(np.int64)))
    if diff._data.size == 0:
        return wrap(np.zeros(len(i), dtype=x._data.dtype))
    return vector_norm(diff, p, -1)


def _clamped_norm(x: Tensor, dim: int, eps: float) -> Tensor:
    """``||x||`` along ``dim`` with the *value* raised to at least ``eps`` but the
    gradient of the plain norm (torch clamps in place under no_grad)."""
    n = vector_norm(x, 2, dim, keepdim=True)
    return n + (clamp_min(n, eps) - n).detach()


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """The cosine of the angle between the vectors along ``dim`` (broadcast): each is
    divided by its length (at least ``eps``) before the dot product, which keeps the
    result within [-1, 1]."""
    require_tensor(x1, "cosine_similarity")
    require_tensor(x2, "cosine_similarity")
    shape = broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    if not x1.is_floating_point():
        x1 = x1.to(dtypes.get_default_dtype())
    if not x2.is_floating_point():
        x2 = x2.to(dtypes.get_default_dtype())
    x1, x2 = x1.expand(shape), x2.expand(shape)
    d = wrap_dim(dim, len(shape))
    return sum((x1 / _clamped_norm(x1, d, eps)) * (x2 / _clamped_norm(x2, d, eps)), d)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` along the last dim (the ``eps`` keeps the gradient finite
    where the two coincide)."""
    require_tensor(x1, "pairwise_distance")
    require_tensor(x2, "pairwise_distance")
    ndim = max(x1.ndim, x2.ndim)
    diff = x1 - x2 + eps
    if ndim == 0:
        return vector_norm(diff, float(p), None, keepdim)
    return vector_norm(diff, float(p), ndim - 1, keepdim)


__all__ = ["dist", "cdist", "pdist", "cosine_similarity", "pairwise_distance"]

METHODS = {"dist": dist}
