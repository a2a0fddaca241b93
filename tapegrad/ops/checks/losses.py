"""Argument checks and reductions shared by the losses (`tapegrad.nn.functional.losses`).

Each check raises torch's exception type with torch's message, so code written against
torch's errors behaves the same here.
"""

from __future__ import annotations

import warnings

import numpy as np

from tapegrad.autograd.grad_mode import is_grad_enabled
from tapegrad.dtypes import result_type
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.tensor import Size, Tensor


def get_reduction(reduction: str) -> str:
    """Validate ``reduction`` (torch's ``_Reduction.get_enum``)."""
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' "
                      "instead.", stacklevel=3)
        return "mean"
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def legacy_get_string(size_average: bool | None, reduce: bool | None,
                      emit_warning: bool = True) -> str:
    """The old flags as a reduction: reduce=False -> 'none'; else size_average -> 'mean'
    (the default) or 'sum'."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if size_average and reduce else "sum" if reduce else "none"
    if emit_warning:
        warnings.warn("size_average and reduce args will be deprecated, please use "
                      f"reduction='{ret}' instead.", stacklevel=3)
    return ret


def resolve_legacy(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    if size_average is not None or reduce is not None:
        return legacy_get_string(size_average, reduce)
    return reduction


def reduce_tensor(loss: Tensor, reduction: str) -> Tensor:
    return loss if reduction == "none" else loss.mean() if reduction == "mean" else loss.sum()


def check_tensors(name: str, **tensors: object) -> None:
    for i, (arg, t) in enumerate(tensors.items()):
        require_tensor(t, name, arg, i + 1)


def type_name(t: Tensor) -> str:
    return t.dtype.scalar_type


def is_float(t: Tensor) -> bool:
    return t._data.dtype.kind == "f"


def need_float(kernel: str, input: Tensor, target: Tensor) -> None:
    out = result_type(input, target)
    if not out.is_floating_point:
        raise NotImplementedError(
            f"\"{kernel}\" not implemented for '{out.scalar_type}'")


def no_grad_arg(t: Tensor | None, function: str, arg: str) -> None:
    """torch refuses a weight that requires grad: the losses have no derivative for it."""
    if t is not None and t.requires_grad and is_grad_enabled():
        raise RuntimeError(f"The function '{function}' is not differentiable with respect to "
                           f"argument '{arg}'. This input cannot have requires_grad True.")


def warn_size(input: Tensor, target: Tensor) -> None:
    if target.shape != input.shape:
        warnings.warn(
            f"Using a target size ({target.size()}) that is different to the input size "
            f"({input.size()}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.", stacklevel=3)


def weighted(loss: Tensor, weight: Tensor, reduction: str, mean_by_weight: bool) -> Tensor:
    """torch's per-element ``weight`` option of mse/l1/huber (its own reduction rules)."""
    weighted = loss * weight
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    if reduction == "mean":
        return weighted.sum() / weight.sum() if mean_by_weight else weighted.mean()
    raise ValueError(
        f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")


def check_weight_size(weight: Tensor, input: Tensor) -> None:
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")


def check_nll(input: Tensor, target: Tensor, weight: Tensor | None) -> None:
    """torch's shape, dtype and weight checks of ``nll_loss_nd`` (same messages)."""
    nd = input.ndim
    if nd < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {nd})")
    target_batch = target.shape[0] if target.ndim else 0
    if nd != 1 and input.shape[0] != target_batch:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target_batch}).")
    if nd == 1 and target.ndim == 1 and target.shape[0] != 1:
        raise ValueError("For 1D input, 1D target must have size 1, but got target size: "
                         f"{target.shape[0]}")
    if nd <= 2 and target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if nd == 4:
        if target.ndim != 3:
            raise RuntimeError("only batches of spatial targets supported (3D tensors) but got "
                               f"targets of dimension: {target.ndim}")
        if target.shape[1:] != input.shape[2:]:
            raise RuntimeError(f"size mismatch (got input: {list(input.shape)} , target: "
                               f"{list(target.shape)}")
    elif nd >= 3 and list(target.shape) != [input.shape[0], *input.shape[2:]]:
        raise RuntimeError(f"Expected target size {[input.shape[0], *input.shape[2:]]}, got "
                           f"{list(target.shape)}")
    if target._data.dtype not in (np.int64, np.uint8):
        raise RuntimeError(
            f"expected target dtype to be Long or Byte, but got {type_name(target)}")
    if not is_float(input):
        kernel = "nll_loss_out_frame" if nd <= 2 else "nll_loss2d_forward_out_frame"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{type_name(input)}'")
    if weight is not None:
        n_classes = input.shape[0] if nd == 1 else input.shape[1]
        if weight.ndim != 1 or weight.numel() != n_classes:
            raise RuntimeError(
                f"weight tensor should be defined either for all {n_classes} classes or no "
                f"classes but got weight tensor of shape: {list(weight.shape)}" if nd <= 2
                else "weight tensor should be defined either for all or no classes")
        if weight.dtype != input.dtype:
            raise RuntimeError(
                f"expected scalar type {type_name(input)} but found {type_name(weight)}")
        no_grad_arg(weight, "nll_loss_forward", "weight")


def check_smoothing(eps: float) -> None:
    if eps > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {eps:g}")


def broadcast_error(shape: tuple, target: tuple) -> RuntimeError | None:
    """torch.broadcast_shapes(target, shape)'s complaint about ``shape``, if any."""
    for i in range(-1, -len(shape) - 1, -1):
        if -i <= len(target) and shape[i] not in (1, target[i]) and target[i] != 1:
            return RuntimeError(
                f"Attempting to broadcast a dimension of length {shape[i]} at {i}! Mismatching "
                f"argument at index 1 had {Size(shape)}; but "
                f"expected shape should be broadcastable to {list(target)}")
    return None


def check_grows(out: tuple, shape: tuple) -> None:
    """An in-place ``loss *= w`` in torch: ``w`` may not enlarge the loss's shape."""
    if tuple(shape) != tuple(out):
        raise RuntimeError(f"output with shape {list(out)} doesn't match the broadcast shape "
                           f"{list(shape)}")
