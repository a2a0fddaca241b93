"""``F.linear(x, W, b) = x W^T + b``: the affine map of ``nn.Linear``.

For a 2-d input it is a single fused op (``addmm``: one matrix product plus the bias,
one tape entry); other ranks use ``matmul`` and a broadcast add.
"""

from __future__ import annotations

from tapegrad.ops.linalg import addmm, matmul
from tapegrad.tensor import Tensor


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:  # noqa: A002
    if input.dim() == 2 and bias is not None:
        return addmm(bias, input, weight.t())
    out = matmul(input, weight.t())
    return out if bias is None else out + bias


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    """``y_k = x1^T W_k x2 + b_k`` for weight (out, in1, in2)."""
    out = ((input1.unsqueeze(-2).unsqueeze(-2) @ weight) @ input2.unsqueeze(-2)
           .unsqueeze(-1)).squeeze(-1).squeeze(-1)
    return out if bias is None else out + bias


__all__ = ["bilinear", "linear"]
