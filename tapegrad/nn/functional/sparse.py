"""Embedding lookups: ``F.embedding(indices, weight)`` picks rows of ``weight``.

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


__all__ = ["embedding", "one_hot"]
