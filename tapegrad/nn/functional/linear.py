"""``F.linear(x, W, b) = x W^T + b``: the affine map of ``nn.Linear``, as one op.

Fusing the transpose, the matrix product and the bias into one tape entry matters on
the hot path of every training step: backward computes

    dL/dx = grad @ W          dL/dW = grad^T @ x          dL/db = grad summed over rows

and ``grad^T @ x`` comes out in W's own (out, in) layout, so the optimizer can keep the
array as ``W.grad`` without a copy. Inputs of any rank ``(..., in)`` are accepted.
"""

from __future__ import annotations

import math

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.grad_mode import _state
from tapegrad.kernels import threads
from tapegrad.ops._util import wrap
from tapegrad.ops.checks.linalg import check_mm
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.ops.linalg import matmul
from tapegrad.tensor import Tensor


class Linear(Function):
    """``F.linear`` as one tape entry (the backward formulas are in the module docstring).

    Equals ``input @ weight.T + bias`` (checked in tests/ops/test_fused_composites.py).
    """

    caption = ('{g}·{x1} : {s0} = {sg}·{s1}',
               '{g}ᵀ·{x0}, every row of the batch adds up : {s1} = {sg}ᵀ·{s0}',
               'Σ {g} over the batch : {s2} = rows of {sg} summed ({bias})')
    node_name = "AddmmBackward0"  # what torch shows for a linear layer on a matrix
    op_name = "linear"

    @staticmethod
    def forward(ctx: Node, x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
        # x's gradient reads the weight, the weight's reads x: keep only what is needed
        need = ctx.needs_input_grad
        ctx.save_for_backward(x if need[1] else None, weight if need[0] else None)
        w = weight._data
        capped = threads.blas_cap(x._data.size * w.shape[0])
        try:
            out = np.matmul(x._data, w.T)
        finally:  # (a failed product, e.g. out of memory, must not leave BLAS capped)
            threads.blas_restore(capped)
        if bias is not None:
            out += bias._data
        return wrap(out)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        x, weight = ctx.saved_tensors
        need_x, need_w = ctx.needs_input_grad[:2]
        need_b = len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2]
        if not _state.grad_enabled:
            # First-order backward (no graph is being built): the same three formulas
            # straight on the arrays. This op runs in every training step, and going
            # through three recorded-op calls per layer costs more than the BLAS work.
            g = grad._data
            rows = g.reshape(-1, g.shape[-1])
            # both products have the forward's size: rows x out x in multiply-adds
            saved = weight if weight is not None else x
            capped = (threads.blas_cap(rows.size * saved._data.shape[-1])
                      if saved is not None else 0)
            try:
                gx = g @ weight._data if need_x else None
                gw = rows.T @ x._data.reshape(-1, x._data.shape[-1]) if need_w else None
            finally:
                threads.blas_restore(capped)
            return (None if gx is None else wrap(gx), None if gw is None else wrap(gw),
                    wrap(rows.sum(axis=0)) if need_b else None)
        grad_x = matmul(grad, weight) if need_x else None
        grad_w = grad_b = None
        if need_w or need_b:
            rows = grad.reshape(-1, grad.shape[-1])
            if need_w:
                grad_w = matmul(rows.t(), x.reshape(-1, x.shape[-1]))
            if need_b:
                grad_b = rows.sum(0)
        return grad_x, grad_w, grad_b


def _check(input: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    """torch's matmul messages, as if ``input @ weight.T`` were called."""
    w = weight._data
    x = input._data
    if w.ndim != 2:
        raise RuntimeError(f"weight must be 2-D, got {w.ndim}-D")
    if x.ndim and x.shape[-1] == w.shape[1] and x.dtype == w.dtype and (
            bias is None or bias._data.dtype == w.dtype):
        return  # the common case, decided without building the message's arguments
    rows = math.prod(x.shape[:-1]) if x.ndim > 1 else 1
    cols = x.shape[-1] if x.ndim else 1
    check_mm((rows, cols), (w.shape[1], w.shape[0]), input.dtype, weight.dtype)
    if bias is not None and bias.dtype != weight.dtype:
        check_mm((1, 1), (1, 1), bias.dtype, weight.dtype)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    require_tensor(input, "linear")
    require_tensor(weight, "linear", "weight", 2)
    _check(input, weight, bias)
    if bias is None:
        return Linear.apply(input, weight)
    return Linear.apply(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    """``y_k = x1^T W_k x2 + b_k`` for weight (out, in1, in2)."""
    require_tensor(input1, "bilinear", "input1", 1)
    require_tensor(input2, "bilinear", "input2", 2)
    out = ((input1.unsqueeze(-2).unsqueeze(-2) @ weight) @ input2.unsqueeze(-2)
           .unsqueeze(-1)).squeeze(-1).squeeze(-1)
    return out if bias is None else out + bias


__all__ = ["bilinear", "linear"]
