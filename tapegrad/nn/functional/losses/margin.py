"""Margin and embedding losses: hinges that only push while an example is on the wrong
side of a margin.

A *margin* loss is zero once the score of the right answer beats the others by at least
``margin``, and grows linearly (or quadratically) with the shortfall otherwise: it ignores
what is already learnt and spends the gradient on the mistakes. The family here:

* on scores: ``soft_margin_loss`` (a smooth hinge, ``log(1 + exp(-y x))`` with ``y = +-1``),
  ``margin_ranking_loss`` (``x1`` should be above ``x2`` when ``y = 1``),
  ``multi_margin_loss`` (the multi-class hinge of an SVM), ``multilabel_margin_loss`` (every
  target class above every non-target one) and ``multilabel_soft_margin_loss`` (one logistic
  loss per class);
* on embeddings: ``hinge_embedding_loss`` (distances: small for similar pairs, above the
  margin for dissimilar ones), ``cosine_embedding_loss`` (the same with cosine similarity),
  ``triplet_margin_loss`` and ``triplet_margin_with_distance_loss`` (an anchor closer to its
  positive than to its negative, by the margin).

Each is a composite of differentiable tensor ops in torch's order of operations, so the
gradients (and second derivatives) come from those ops; the class-index bookkeeping of the
multi-class losses is done on arrays first, as constant masks. Where the hinge is exactly at
zero the gradient is that of ``clamp_min`` there.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tapegrad import dtypes
from tapegrad.creation import zeros_like
from tapegrad.ops._util import wrap
from tapegrad.ops.activation import logsigmoid
from tapegrad.ops.checks.losses import check_tensors, get_reduction, reduce_tensor, resolve_legacy
from tapegrad.ops.comparison import where
from tapegrad.ops.distance import pairwise_distance
from tapegrad.tensor import Tensor

__all__ = [
    "cosine_embedding_loss",
    "hinge_embedding_loss",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]


def _reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    return get_reduction(resolve_legacy(size_average, reduce, reduction))


# ------------------------------------------------------------------ on scores
def soft_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                     reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """``log(1 + exp(-y x))`` per element for labels ``y = +-1``: a smooth hinge (the
    logistic loss), reduced."""
    check_tensors("soft_margin_loss", input=input, target=target)
    reduction = _reduction(size_average, reduce, reduction)
    return reduce_tensor((-input * target).exp().log1p(), reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor,
                        margin: float = 0.0, size_average: bool | None = None,
                        reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """``max(0, -y (x1 - x2) + margin)``: ``x1`` should rank above ``x2`` by ``margin`` where
    ``y = 1``, below where ``y = -1``."""
    check_tensors("margin_ranking_loss", input1=input1, input2=input2, target=target)
    reduction = _reduction(size_average, reduce, reduction)
    if not input1.dim() == input2.dim() == target.dim():
        raise RuntimeError(
            "margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {input1.size()}, input2: {input2.size()}, target: {target.size()} ")
    return reduce_tensor((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def _check_margin_input(input: Tensor) -> None:
    """multi_margin / multilabel_margin take a non-empty vector or an (N, C) matrix."""
    if not (input.dim() <= 1 and input.numel() > 0) and not (
            input.dim() == 2 and input.shape[1] > 0):
        raise RuntimeError("Expected non-empty vector or matrix with optional 0-dim batch "
                           f"size, but got: {list(input.shape)}")


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average: bool | None = None,
                      reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """The multi-class hinge (a multi-class SVM's loss): for a sample with scores ``x`` and
    class ``y``, ``sum over j != y of w[y] max(0, margin - x[y] + x[j])^p / C``."""
    check_tensors("multi_margin_loss", input=input, target=target)
    reduction = _reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    _check_margin_input(input)
    c = input.shape[-1] if input.dim() else 1
    n = input.shape[0] if input.dim() == 2 else 1
    if target.dim() > 1 or target.numel() != n:
        if input.dim() < 2:
            raise RuntimeError(f"inconsistent target size, expected {n} but got "
                               f"{list(target.shape)}")
        raise RuntimeError("target tensor should be 1-D with size equal to input.size(0). "
                           f"Expected target size [{n}], but got {list(target.shape)}")
    if target.dtype != dtypes.int64:
        raise RuntimeError(f"expected scalar type Long but found {target.dtype.scalar_type}")
    if weight is not None and weight.numel() != c:
        raise RuntimeError(f"inconsistent weight size, expected {c} but got "
                           f"{list(weight.shape)}")
    y = target._data.reshape(n).astype(np.int64)
    if np.any((y < 0) | (y >= c)):
        raise RuntimeError("target out of range")
    x = input.reshape(n, c)
    index = wrap(y.reshape(n, 1))
    z = (x - x.gather(1, index) + margin).clamp_min(0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight.gather(0, wrap(y)).reshape(n, 1)
    is_target = np.zeros((n, c), dtype=bool)
    is_target[np.arange(n), y] = True
    loss = z.masked_fill(wrap(is_target), 0.0).sum(1) / c
    if input.dim() < 2:
        loss = loss.reshape(target.shape)
    return reduce_tensor(loss, reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                           reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Every target class should score above every other class by 1: per sample,
    ``sum over targets j and non-targets k of max(0, 1 - (x[j] - x[k])) / C``. ``target``
    lists the target classes of each sample, ended by the first -1."""
    check_tensors("multilabel_margin_loss", input=input, target=target)
    reduction = _reduction(size_average, reduce, reduction)
    _check_margin_input(input)
    shape = tuple(input.shape)
    if tuple(target.shape) != shape:
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(shape)}")
    c = shape[-1] if shape else 1
    n = shape[0] if len(shape) == 2 else 1
    labels = target._data.reshape(n, c).astype(np.int64)
    # count[i, j]: how often class j is listed before the first -1 (each listing counts);
    # other[i, k]: class k is not a target of sample i
    count = np.zeros((n, c))
    for i in range(n):
        for j in labels[i]:
            if j < 0:
                break
            if j >= c:
                raise RuntimeError(f"target index out of range: {j}")
            count[i, j] += 1
    other = (count == 0).astype(np.float64)
    pair = wrap((count[:, :, None] * other[:, None, :]).astype(input._data.dtype))
    x = input.reshape(n, c)
    hinge = (1.0 - x.unsqueeze(2) + x.unsqueeze(1)).clamp_min(0)
    loss = (hinge * pair).sum((1, 2)) / c
    if input.dim() < 2:
        loss = loss.reshape(())
    return reduce_tensor(loss, reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average: bool | None = None, reduce: bool | None = None,
                                reduction: str = "mean") -> Tensor:
    """One logistic loss per class, ``-(y log sigmoid(x) + (1 - y) log sigmoid(-x))``,
    (weighted and) averaged over the classes; then reduced over the samples."""
    check_tensors("multilabel_soft_margin_loss", input=input, target=target)
    reduction = resolve_legacy(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not valid")
    return reduce_tensor(loss, reduction)


# ------------------------------------------------------------------ on embeddings
def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    """``x`` where ``y = 1`` (a distance to shrink), ``max(0, margin - x)`` where ``y = -1``
    (a distance to push beyond the margin); torch adds both parts where ``y`` is neither."""
    check_tensors("hinge_embedding_loss", input=input, target=target)
    reduction = _reduction(size_average, reduce, reduction)
    zeros = zeros_like(input)  # not input * 0, which would be NaN where input is
    margin_part = where(target != 1, (margin - input).clamp_min(0), zeros)
    self_part = where(target != -1, input, zeros)
    return reduce_tensor(margin_part + self_part, reduction)


_COSINE_EPSILON = 1e-12  # torch's guard against a zero-length vector


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          size_average: bool | None = None, reduce: bool | None = None,
                          reduction: str = "mean") -> Tensor:
    """With ``cos`` the cosine similarity of ``x1`` and ``x2``: ``1 - cos`` where ``y = 1``
    (make them point the same way), ``max(0, cos - margin)`` where ``y = -1``."""
    check_tensors("cosine_embedding_loss", input1=input1, input2=input2, target=target)
    reduction = _reduction(size_average, reduce, reduction)
    dim = target.dim()
    if dim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    want = 2 if dim == 1 else 1
    if input1.dim() != want or input2.dim() != want:
        raise RuntimeError(
            f"{dim}D target tensor expects {want}D input tensors, but found inputs with sizes "
            f"{list(input1.shape)} and {list(input2.shape)}.")
    prod = (input1 * input2).sum(dim)
    mag1 = (input1 * input1).sum(dim) + _COSINE_EPSILON
    mag2 = (input2 * input2).sum(dim) + _COSINE_EPSILON
    cos = prod / (mag1 * mag2).sqrt()
    zeros = zeros_like(cos)
    loss = where(target == 1, 1 - cos, zeros) + where(target == -1, (cos - margin).clamp_min(0),
                                                      zeros)
    return reduce_tensor(loss, reduction)


def _check_triplet(anchor: Tensor, positive: Tensor, negative: Tensor) -> None:
    a, p, n = anchor.dim(), positive.dim(), negative.dim()
    if not a == p == n:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {a}D, positive {p}D, and negative {n}D inputs")


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function: Callable | None = None,
                                      margin: float = 1.0, swap: bool = False,
                                      reduction: str = "mean") -> Tensor:
    """``max(0, margin + d(a, p) - d(a, n))`` for any distance ``d`` (default: the pairwise
    Euclidean distance). ``swap`` uses ``min(d(a, n), d(p, n))`` as the negative distance,
    the harder of the two."""
    check_tensors("triplet_margin_with_distance_loss", anchor=anchor, positive=positive,
                  negative=negative)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_triplet(anchor, positive, negative)
    distance = distance_function or pairwise_distance
    d_pos = distance(anchor, positive)
    d_neg = distance(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(distance(positive, negative))
    return reduce_tensor((margin + d_pos - d_neg).clamp_min(0), reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor,
                        margin: float = 1.0, p: float = 2, eps: float = 1e-6,
                        swap: bool = False, size_average: bool | None = None,
                        reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """`triplet_margin_with_distance_loss` with the p-norm distance ``||x1 - x2 + eps||_p``."""
    check_tensors("triplet_margin_loss", anchor=anchor, positive=positive, negative=negative)
    reduction = _reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_triplet(anchor, positive, negative)

    def distance(x1: Tensor, x2: Tensor) -> Tensor:
        return pairwise_distance(x1, x2, p, eps)

    return triplet_margin_with_distance_loss(anchor, positive, negative,
                                             distance_function=distance, margin=margin,
                                             swap=swap, reduction=reduction)
