"""Embedding lookups: ``F.embedding(indices, weight)`` picks rows of ``weight``;
``F.embedding_bag`` sums, averages or maxes the rows of each *bag* of indices.

Backward is a *scatter-add*: row ``i`` of the weight gradient sums the gradients of every
position that looked up index ``i`` (a repeated index accumulates). The ``padding_idx``
row gets no gradient at all.
"""

from __future__ import annotations

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.grad_mode import no_grad
from tapegrad.ops._util import wrap
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.tensor import Tensor


class Embedding(Function):
    """Rows of ``weight`` picked by ``indices``; backward scatter-adds (`EmbeddingDense`).

    Equals ``weight[indices]``, with the ``padding_idx`` row's gradient held at zero (checked
    in tests/ops/test_fused_composites.py).
    """

    caption = ('0 (indices have no gradient)',
               'rows of {g} added into the rows that were looked up : {sg} → {s1}')
    op_name = "embedding"

    @staticmethod
    def forward(ctx: Node, weight: Tensor, indices: np.ndarray = None,
                padding_idx: int | None = None) -> Tensor:
        ctx.indices, ctx.padding_idx = indices, padding_idx
        ctx.num_weights = weight._data.shape[0]
        return wrap(weight._data[indices])

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return EmbeddingDense.apply(grad, indices=ctx.indices, num_weights=ctx.num_weights,
                                    padding_idx=ctx.padding_idx)


class EmbeddingDense(Function):
    """The scatter-add itself, as an op so that double backward works (its backward is a
    gather of the incoming gradient at the same indices).

    Equals the gradient of ``weight[indices]`` with respect to ``weight`` (checked, with its
    own backward, by the second-order gradients in tests/ops/test_fused_composites.py).
    """

    node_name = "EmbeddingDenseBackwardBackward0"
    op_name = "embedding_dense_backward"

    @staticmethod
    def forward(ctx: Node, grad: Tensor, indices: np.ndarray = None, num_weights: int = 0,
                padding_idx: int | None = None) -> Tensor:
        ctx.indices, ctx.padding_idx = indices, padding_idx
        dim = grad._data.shape[-1]
        out = np.zeros((num_weights, dim), dtype=grad._data.dtype, like=grad._data)
        np.add.at(out, indices.reshape(-1), grad._data.reshape(-1, dim))
        if padding_idx is not None:
            out[padding_idx] = 0
        return wrap(out)

    @staticmethod
    def backward(ctx: Node, grad_weight: Tensor) -> Tensor:
        rows = grad_weight[ctx.indices]
        if ctx.padding_idx is not None:
            keep = (ctx.indices != ctx.padding_idx)[..., None]
            rows = rows * wrap(keep.astype(grad_weight._data.dtype))
        return rows


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    require_tensor(input, "embedding", "indices", 2)  # torch's op is embedding(weight, indices)
    require_tensor(weight, "embedding", "weight", 1)
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    if input.is_floating_point():
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {input.dtype} instead (while checking arguments for "
            "embedding)"
        )
    if scale_grad_by_freq or sparse:
        raise ValueError("tapegrad's embedding supports neither scale_grad_by_freq nor sparse")
    indices = input._data.astype(np.int64)
    num = weight.shape[0]
    if indices.size and (indices.min() < -num or indices.max() >= num):
        raise IndexError("index out of range in self")
    indices = indices % num if indices.size else indices
    if padding_idx is not None and padding_idx < 0:
        padding_idx += num
    if max_norm is not None:
        with no_grad():  # torch renormalises the looked-up rows of weight in place
            rows = np.unique(indices)
            norms = np.linalg.norm(weight._data[rows], ord=norm_type, axis=1, keepdims=True)
            scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
            weight._data[rows] *= scale.astype(weight._data.dtype)
    return Embedding.apply(weight, indices=indices, padding_idx=padding_idx)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a new last dimension."""
    require_tensor(tensor, "one_hot")
    data = tensor._data
    if data.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor.")
    if num_classes == -1:
        num_classes = int(data.max()) + 1 if data.size else 0
    if data.size and (data.min() < 0 or data.max() >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes.")
    return wrap(np.eye(num_classes, dtype=np.int64)[data])


def _renorm_rows(weight: Tensor, indices: np.ndarray, max_norm: float,
                 norm_type: float) -> None:
    """torch's in-place ``embedding_renorm_``: looked-up rows longer than ``max_norm`` are
    scaled back to it (outside any graph)."""
    with no_grad():
        rows = np.unique(indices)
        norms = np.linalg.norm(weight._data[rows], ord=norm_type, axis=1, keepdims=True)
        scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight._data[rows] *= scale.astype(weight._data.dtype)


def _bags(input: Tensor, offsets: Tensor | None, include_last_offset: bool,
          per_sample_weights: Tensor | None) -> tuple:
    """(flat indices, bag start offsets, number of bags, flat per-sample weights) with
    torch's checks: a 2-D input is a batch of equal bags, a 1-D one is cut at ``offsets``."""
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences. However, found "
                             f"offsets of type {type(offsets)}")
        n, length = input.shape
        starts = np.arange(0, n * length, max(length, 1), dtype=np.int64)[:n]
        flat = input._data.reshape(-1)
        psw = None if per_sample_weights is None else per_sample_weights.reshape(-1)
        return flat, starts, n, psw
    if input.dim() != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.dim()}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    if offsets.dim() != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    starts = offsets._data.astype(np.int64)
    if starts.size and starts[0] != 0:
        raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
                           f"has to start from position 0. However, got {int(starts[0])}")
    if starts.size and starts[-1] > input.numel():
        raise RuntimeError(f"offsets[-1] can not be greater than input's length "
                           f"({input.numel()}), but got offsets[-1] of {int(starts[-1])}")
    bags = len(starts) - 1 if include_last_offset else len(starts)
    return input._data, starts, max(bags, 0), per_sample_weights


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """One vector per *bag* of indices: the sum (weighted by ``per_sample_weights``), mean or
    elementwise max of the bag's rows of ``weight``, without materialising the
    (indices, dim) lookups of ``embedding`` followed by a reduction.

    Bags: each row of a 2-D ``input``, or the slices of a 1-D ``input`` that start at
    ``offsets`` (with ``include_last_offset`` the last offset ends the last bag). Indices
    equal to ``padding_idx`` are left out (and not counted by the mean); an empty bag gives
    zeros. Written as a composite: the bag's rows are gathered with ``index_select`` and
    summed by a 0/1 (bags, lookups) matrix product; max picks each column's winning row
    with ``gather``, so the gradient goes to that row only.
    """
    require_tensor(input, "embedding_bag", "input", 1)
    require_tensor(weight, "embedding_bag", "weight", 2)
    if per_sample_weights is not None and input.shape != per_sample_weights.shape:
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) "
                         "is not None, then it must have the same shape as the input "
                         f"({input.shape})")
    if weight.dim() != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension "
                         f"{weight.dim()}")
    if input.is_floating_point():
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {input.dtype} instead")
    flat, starts, bags, psw = _bags(input, offsets, include_last_offset, per_sample_weights)
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    if psw is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
            "GitHub.")
    if scale_grad_by_freq or sparse:
        raise ValueError("tapegrad's embedding_bag supports neither scale_grad_by_freq nor "
                         "sparse")
    num = weight.shape[0]
    flat = flat.astype(np.int64).reshape(-1)
    if flat.size and (flat.min() < 0 or flat.max() >= num):
        raise IndexError("index out of range in self")
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise RuntimeError(f"padding_idx must be within the number of embeddings, -{num} "
                               f"through {num - 1}, but got {padding_idx}")
        padding_idx %= num
    if max_norm is not None:
        _renorm_rows(weight, flat, max_norm, norm_type)
    # bag of every lookup; padding lookups take part in nothing
    ends = np.append(starts[1:], len(flat))[:bags] if bags else np.zeros(0, np.int64)
    bag_of = np.full(len(flat), -1, dtype=np.int64)
    for b in range(bags):
        bag_of[starts[b]:ends[b]] = b
    used = (bag_of >= 0) if padding_idx is None else (bag_of >= 0) & (flat != padding_idx)
    dim = weight.shape[1]
    dt = weight._data.dtype
    if mode == "max":
        best = np.zeros((bags, dim), dtype=np.int64)
        filled = np.zeros(bags, dtype=bool)
        values = weight._data
        for b in range(bags):
            rows = flat[(bag_of == b) & used]
            if rows.size:
                best[b] = rows[np.argmax(values[rows], axis=0)]
                filled[b] = True
        out = weight.gather(0, wrap(best))
        return out * wrap(filled[:, None].astype(dt))
    picked = np.nonzero(used)[0]
    rows = weight.index_select(0, wrap(flat[picked]))
    if psw is not None:
        rows = rows * psw.reshape(-1)[wrap(picked)].unsqueeze(1)
    member = np.zeros((bags, len(picked)), dtype=dt)
    member[bag_of[picked], np.arange(len(picked))] = 1
    if mode == "mean":
        member /= np.maximum(member.sum(axis=1, keepdims=True), 1)
    return wrap(member) @ rows


__all__ = ["embedding", "embedding_bag", "one_hot"]
