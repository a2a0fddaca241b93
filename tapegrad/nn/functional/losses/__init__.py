"""nn.functional: losses, with torch's names, defaults, checks and error messages.

A loss compares a prediction with a target and returns one number to minimise (or one per
element with ``reduction='none'``). The family is this package: the ops themselves
(forward + backward) live in `elementwise` (element-wise losses) and `nll` (losses over
class indices); the argument checks, reductions and legacy flags in
`tapegrad.ops.checks.losses`. The functions here check the arguments like torch and pick
the op, composing from other ops exactly where torch composes:

* ``l1_loss`` is ``|x - y|`` then a reduction; ``kl_div`` is built from ``xlogy``/``exp``;
* ``cross_entropy`` with class indices on (N, C) or (C,) logits is one fused op; with
  spatial dims it is ``nll_loss(log_softmax(x, 1))``; with label smoothing or class
  probabilities it follows torch's formulas (see `cross_entropy`) in Tensor ops.

``reduction`` is 'none' | 'mean' | 'sum' (``kl_div`` also 'batchmean'). The deprecated
``size_average``/``reduce`` flags still work, mapped by torch's legacy rule (with its warning).
"""

from __future__ import annotations

import warnings

import numpy as np

from tapegrad.dtypes import result_type
from tapegrad.nn.functional.losses.ctc import ctc_loss
from tapegrad.nn.functional.losses.elementwise import (
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    HuberLoss,
    MseLoss,
    SmoothL1Loss,
)
from tapegrad.nn.functional.losses.likelihood import gaussian_nll_loss, poisson_nll_loss
from tapegrad.nn.functional.losses.margin import (
    cosine_embedding_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from tapegrad.nn.functional.losses.nll import CrossEntropyIndices, NllLoss, NllLoss2d
from tapegrad.ops._util import as_array, broadcast_shapes, wrap
from tapegrad.ops.checks.losses import (
    broadcast_error,
    check_grows,
    check_nll,
    check_smoothing,
    check_tensors,
    check_weight_size,
    get_reduction,
    is_float,
    legacy_get_string,
    need_float,
    no_grad_arg,
    reduce_tensor,
    resolve_legacy,
    type_name,
    warn_size,
    weighted,
)
from tapegrad.ops.comparison import where
from tapegrad.ops.pointwise import xlogy
from tapegrad.ops.softmax import log_softmax
from tapegrad.tensor import Tensor

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "cross_entropy",
    "ctc_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "linear_cross_entropy",
    "margin_ranking_loss",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "poisson_nll_loss",
    "smooth_l1_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]


# ------------------------------------------------------------------ regression losses
def mse_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
             reduce: bool | None = None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    """Mean squared error: ``(x - y)^2`` per element, then reduced."""
    check_tensors("mse_loss", input=input, target=target)
    warn_size(input, target)
    reduction = resolve_legacy(size_average, reduce, reduction)
    broadcast_shapes(input.shape, target.shape)
    if weight is not None:
        check_weight_size(weight, input)
        return weighted((input - target) ** 2, weight, reduction, True)
    reduction = get_reduction(reduction)
    need_float("mse_cpu", input, target)
    return MseLoss.apply(input, target, reduction=reduction)


def l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
            reduce: bool | None = None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    """Mean absolute error: ``|x - y|`` then reduced (gradient 0 where x == y, as abs)."""
    check_tensors("l1_loss", input=input, target=target)
    warn_size(input, target)
    reduction = resolve_legacy(size_average, reduce, reduction)
    broadcast_shapes(input.shape, target.shape)
    if weight is not None:
        check_weight_size(weight, input)
        return weighted((input - target).abs(), weight, reduction, True)
    return reduce_tensor((input - target).abs(), get_reduction(reduction))


def smooth_l1_loss(input: Tensor, target: Tensor,
                   size_average: bool | None = None, reduce: bool | None = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Squared error below ``beta`` (scaled by 1/(2 beta)), absolute error above it."""
    check_tensors("smooth_l1_loss", input=input, target=target)
    warn_size(input, target)
    reduction = get_reduction(resolve_legacy(size_average, reduce, reduction))
    broadcast_shapes(input.shape, target.shape)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0:  # the quadratic zone vanishes: torch calls l1_loss
        return reduce_tensor((input - target).abs(), reduction)
    need_float("smooth_l1_cpu", input, target)
    return SmoothL1Loss.apply(input, target, reduction=reduction, beta=float(beta))


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",
               delta: float = 1.0, weight: Tensor | None = None) -> Tensor:
    """Squared error ``d^2 / 2`` below ``delta``, ``delta (|d| - delta / 2)`` above it."""
    check_tensors("huber_loss", input=input, target=target)
    warn_size(input, target)
    broadcast_shapes(input.shape, target.shape)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    need_float("huber_cpu", input, target)
    if not is_float(input):  # torch writes the result in the input's dtype
        raise RuntimeError(f"result type {type_name(target)} can't be cast to the desired output "
                           f"type {type_name(input)}")
    if weight is not None:
        check_weight_size(weight, input)
        loss = HuberLoss.apply(input, target, reduction="none", delta=float(delta))
        return weighted(loss, weight, reduction, False)
    reduction = get_reduction(reduction)
    return HuberLoss.apply(input, target, reduction=reduction, delta=float(delta))


# ------------------------------------------------------------------ class-index losses
def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             size_average: bool | None = None, ignore_index: int = -100,
             reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood: ``-weight[t] * input[n, t]`` for log-probabilities ``input``
    of shape (N, C), (N, C, d1, ...) or (C,) and class indices ``target`` (N,), (N, d1, ...)
    or (). 'mean' divides by the summed weights of the non-ignored targets."""
    check_tensors("nll_loss_nd", input=input, target=target)  # torch's op name
    reduction = get_reduction(resolve_legacy(size_average, reduce, reduction))
    check_nll(input, target, weight)
    op = NllLoss if input.ndim <= 2 else NllLoss2d
    return op.apply(input, target, weight, ignore_index=int(ignore_index), reduction=reduction)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average: bool | None = None, ignore_index: int = -100,
                  reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits ``input`` (C), (N, C) or (N, C, d1, ...) against class
    indices, or against class probabilities when ``target`` has the input's shape.

    * indices: ``nll_loss(log_softmax(input, class_dim), target)``;
    * label smoothing eps: ``(1 - eps) * nll + (eps / C) * smooth`` where ``smooth_n =
      -sum_c w_c logp[n, c]`` (0 for ignored n) and 'mean' divides sum(smooth) by the same
      weight total as nll;
    * probabilities q (smoothed to ``(1 - eps) q + eps / C``): ``l_n = -sum_c w_c q[n, c]
      logp[n, c]``; 'mean' divides by N (times the spatial size), ignoring weights.
    """
    check_tensors("cross_entropy_loss", input=input, target=target)  # torch's op
    reduction = get_reduction(resolve_legacy(size_average, reduce, reduction))
    eps = float(label_smoothing)
    if input.shape == target.shape:
        return _cross_entropy_probabilities(input, target, weight, reduction, eps, ignore_index)
    if eps > 0:
        check_smoothing(eps)
        return _cross_entropy_smoothed(input, target, weight, reduction, eps, ignore_index)
    if input.ndim in (1, 2):
        if not is_float(input):
            raise NotImplementedError(
                f"\"log_softmax_lastdim_kernel_impl\" not implemented for '{type_name(input)}'")
        check_nll(input, target, weight)
        return CrossEntropyIndices.apply(input, target, weight, ignore_index=int(ignore_index),
                                         reduction=reduction)
    return nll_loss(log_softmax(input, 1), target, weight, ignore_index=ignore_index,
                    reduction=reduction)


def _class_shape(ndim: int, class_dim: int, n_classes: int) -> list[int]:
    """Shape that puts a (C,) weight on the class dim, for broadcasting."""
    shape = [1] * ndim
    shape[class_dim] = n_classes
    return shape


def _cross_entropy_smoothed(input: Tensor, target: Tensor,
                            weight: Tensor | None, reduction: str, eps: float,
                            ignore_index: int) -> Tensor:
    class_dim = 0 if input.ndim == 1 else 1
    logp = log_softmax(input, class_dim)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    n_classes = input.shape[class_dim]
    if weight is not None:
        smooth = -(logp * weight.reshape(_class_shape(logp.ndim, class_dim, n_classes)))
    else:
        smooth = -logp
    smooth = smooth.sum(class_dim)
    ignored = target._data == ignore_index
    # where() rather than masked_fill: its backward selects (no inf * 0 = nan when all
    # targets are ignored and 'mean' divides by zero).
    smooth = where(wrap(ignored.reshape(smooth.shape)), 0.0, smooth)
    if reduction == "mean":
        kept = target._data[~ignored].astype(np.int64)
        total = kept.size if weight is None else weight._data[kept].sum()
        smooth = smooth.sum() / wrap(as_array(total, logp._data.dtype))
    elif reduction == "sum":
        smooth = smooth.sum()
    return (1 - eps) * nll + smooth * (eps / n_classes)


def _cross_entropy_probabilities(input: Tensor, target: Tensor,
                                 weight: Tensor | None, reduction: str, eps: float,
                                 ignore_index: int) -> Tensor:
    if not is_float(target):
        raise RuntimeError("Expected floating point type for target with class probabilities, "
                           f"got {type_name(target)}")
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    if input.ndim == 0:
        raise IndexError("Dimension specified as 1 but tensor has no dimensions")
    class_dim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[class_dim]
    if weight is not None and (weight.ndim != 1 or weight.numel() != n_classes):
        raise RuntimeError(
            f"cross_entropy: weight tensor should be defined either for all {n_classes} classes "
            f"or no classes but got weight tensor of shape: {list(weight.shape)}")
    logp = log_softmax(input, class_dim)
    if eps > 0:
        check_smoothing(eps)
        target = target * (1 - eps) + eps / n_classes
    prod = logp * target
    if weight is not None:
        prod = prod * weight.reshape(_class_shape(logp.ndim, class_dim, n_classes))
    if reduction == "none":
        return -prod.sum(class_dim)
    if reduction == "sum":
        return -prod.sum()
    if input.numel() == 0:
        return -prod.sum() * float("nan")  # the mean of no samples
    return -prod.sum() / (input.numel() / n_classes)


# ------------------------------------------------------------------ binary losses
def binary_cross_entropy(input: Tensor, target: Tensor,
                         weight: Tensor | None = None, size_average: bool | None = None,
                         reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """``-w [y log x + (1 - y) log(1 - x)]`` for probabilities x in [0, 1] (each log clamped
    at -100, so a confident wrong answer costs 100, not inf)."""
    check_tensors("binary_cross_entropy", input=input, target=target)
    reduction = get_reduction(resolve_legacy(size_average, reduce, reduction))
    if target.shape != input.shape:
        raise ValueError(
            f"Using a target size ({target.size()}) that is different to the input size "
            f"({input.size()}) is deprecated. Please ensure they have the same size.")
    if not is_float(input):
        raise NotImplementedError(
            f"\"binary_cross_entropy\" not implemented for '{type_name(input)}'")
    if target.dtype != input.dtype:
        raise RuntimeError(f"Found dtype {type_name(target)} but expected {type_name(input)}")
    if weight is not None:
        no_grad_arg(weight, "binary_cross_entropy", "weight")
        error = broadcast_error(tuple(weight.shape), tuple(target.shape))
        if error is not None:
            raise error
        check_grows(input.shape, broadcast_shapes(target.shape, weight.shape))
        weight = weight if weight.dtype == input.dtype else weight.to(input.dtype)
    return BinaryCrossEntropy.apply(input, target, weight, reduction=reduction)


def binary_cross_entropy_with_logits(
    input: Tensor, target: Tensor, weight: Tensor | None = None,
    size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """BCE of ``sigmoid(input)`` from the logits, in a form that never overflows;
    ``pos_weight`` (broadcast along the last, class, dim) scales the positive term."""
    check_tensors("binary_cross_entropy_with_logits", input=input, target=target)
    reduction = get_reduction(resolve_legacy(size_average, reduce, reduction))
    if target.shape != input.shape:
        raise ValueError(
            f"Target size ({target.size()}) must be the same as input size ({input.size()})")
    if not is_float(input):
        raise NotImplementedError(f"\"log_sigmoid_cpu\" not implemented for '{type_name(input)}'")
    if not is_float(target):
        out = result_type(input, target)
        raise RuntimeError(f"result type {out.scalar_type} can't be cast to the desired "
                           f"output type {type_name(target)}")
    out = target.dtype  # torch's loss is computed in place into ``1 - target``
    if pos_weight is not None:
        no_grad_arg(pos_weight, "binary_cross_entropy_with_logits", "pos_weight")
        check_grows(input.shape, broadcast_shapes(pos_weight.shape, target.shape))
        pos_weight = pos_weight if pos_weight.dtype == out else pos_weight.to(out)
    if weight is not None:
        no_grad_arg(weight, "binary_cross_entropy_with_logits", "weight")
        check_grows(input.shape, broadcast_shapes(input.shape, weight.shape))
        weight = weight if weight.dtype == out else weight.to(out)
    return BinaryCrossEntropyWithLogits.apply(input, target, weight, pos_weight,
                                              reduction=reduction)


# ------------------------------------------------------------------ KL divergence
_KL_MEAN_WARNING = (
    "reduction: 'mean' divides the total loss by both the batch size and the support size."
    "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
    "'mean' will be changed to behave the same as 'batchmean' in the next major release."
)


def kl_div(input: Tensor, target: Tensor, size_average: bool | None = None,
           reduce: bool | None = None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """KL(target || exp(input)) per element, for log-probabilities ``input``:

        y (log y - x)          (0 where y == 0: ``xlogy``), or with ``log_target``
        e^y (y - x)            (the target given as log-probabilities)

    'batchmean' (the true KL divergence of a batch) divides the sum by the batch size;
    'mean' divides by the number of elements (and warns, as torch does).
    """
    check_tensors("kl_div", input=input, target=target)
    if size_average is not None or reduce is not None:
        reduction = legacy_get_string(size_average, reduce)
        mode = reduction
    else:
        if reduction == "mean":
            warnings.warn(_KL_MEAN_WARNING, stacklevel=2)
        mode = get_reduction("sum" if reduction == "batchmean" else reduction)
    if not (is_float(input) and is_float(target)):
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = xlogy(target, target) - target * input
    reduced = reduce_tensor(loss, mode)
    if reduction == "batchmean" and input.ndim != 0:
        reduced = reduced / input.shape[0]
    return reduced


# ------------------------------------------------------------------ fused linear + CE
def linear_cross_entropy(input: Tensor, linear_weight: Tensor, target: Tensor, *,
                         linear_bias: Tensor | None = None, weight: Tensor | None = None,
                         reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0, options: object = None) -> Tensor:
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``: the last
    layer of a classifier and its loss in one call. ``linear_weight`` is (C, in_features) or
    (C, d1, ..., dK, in_features) for a K-dimensional loss (logits (N, C, d1, ..., dK)).

    torch can compute it in chunks of the batch (``options``) so that the (N, C) logits of a
    large vocabulary never exist at once; the result is the same, and tapegrad, which keeps
    things simple, accepts ``options`` and computes the logits whole."""
    check_tensors("linear_cross_entropy", input=input, linear_weight=linear_weight,
                  target=target)
    if not 1 <= input.dim() <= 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.dim()}")
    if linear_weight.dim() < 2:
        raise RuntimeError("expected linear_weight with dimensionality at least 2, got "
                           f"{linear_weight.dim()}")
    batch, in_features = tuple(input.shape[:-1]), input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError(
            "expected equal input and linear_weight last dimensions (in_features), got "
            f"{in_features} and {linear_weight.shape[-1]}, respectively")
    classes, extra = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (classes, *extra):
        raise RuntimeError(f"expected linear_bias shape {(classes, *extra)}, got "
                           f"{tuple(linear_bias.shape)}")
    if extra and not batch:
        raise RuntimeError(
            f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} "
            f"requires batched input, (N, {in_features}), got unbatched input with shape "
            f"{tuple(input.shape)}")
    logits_shape = (*batch, classes, *extra)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    logits = input @ linear_weight.reshape(-1, in_features).t()
    logits = logits.reshape(logits_shape)
    if linear_bias is not None:
        logits = logits + linear_bias
    return cross_entropy(logits, target, weight=weight,
                         ignore_index=-100 if ignore_index is None else ignore_index,
                         reduction=reduction, label_smoothing=label_smoothing)
