"""``softmax`` and ``log_softmax`` along one dim (part of the activation family).

    softmax:      y_i = e^(x_i) / sum_j e^(x_j)       (computed as e^(x_i - max x): no overflow)
    log_softmax:  y_i = x_i - log sum_j e^(x_j)

Unlike the other activations an output depends on *every* input along ``dim``, so the
Jacobian is not diagonal. Its vector product is still cheap:

    softmax:      grad_x = y * (grad - sum(grad * y))
    log_softmax:  grad_x = grad - e^y * sum(grad)

(sums along ``dim``, kept for broadcasting). Both backwards are ops of their own (as torch's
``_softmax_backward_data``), with their derivatives written in tensor ops so that double
backward works:

    g = y (grad - sum(grad y))      dg/dgrad: the same op on the incoming gg
                                    dg/dy = grad gg - sum(y grad) gg - grad sum(y gg)
    g = grad - e^y sum(grad)        dg/dgrad = gg - sum(gg e^y),   dg/dy = -sum(grad) e^y gg
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad import dtypes, kernels
from tapegrad.autograd.function import Function, Node
from tapegrad.ops._util import as_array, wrap, wrap_dim
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.ops.pointwise import exp
from tapegrad.tensor import Tensor


def _along(kernel_name: str, *arrays: np.ndarray, dim: int) -> Tensor:
    """Run a kernel along ``dim`` (a 0-d tensor is treated as one element along dim 0)."""
    kernel = getattr(kernels.on(arrays[0]), kernel_name)
    if arrays[0].ndim == 0:
        out = kernel(*(a.reshape(1) for a in arrays), 0).reshape(())
    else:
        out = kernel(*arrays, dim)
    return wrap(as_array(out, arrays[-1].dtype))


def _forward_saving_output(ctx: Node, kernel: str, x: Tensor, dim: int) -> Tensor:
    """Forward of softmax/log_softmax: ``kernel`` along ``dim``. Saves only the output y:
    both backwards are functions of (grad, y) alone."""
    y = _along(kernel, x._data, dim=dim)
    ctx.save_for_backward(y)
    ctx.dim = dim
    return y


def _forward_of_backward(ctx: Node, kernel: str, grad: Tensor, y: Tensor, dim: int) -> Tensor:
    """Forward of a backward-as-an-op: the backward ``kernel`` on (grad, y) along ``dim``.
    Saves both: its own derivative (double backward) depends on each."""
    ctx.save_for_backward(grad, y)
    ctx.dim = dim
    return _along(kernel, grad._data, y._data, dim=dim)


class Softmax(Function):
    """y = softmax(x) along ``dim``; saves only the output.

    Equals ``e / e.sum(dim, keepdim=True)`` with ``e = (x - x.amax(dim, keepdim=True)).exp()``
    (the max a constant shift; checked in tests/ops/test_fused_composites.py).
    """

    caption = ('y ⊙ ({g} − Σ {g} ⊙ y along dim {dim}), y the softmax : {sg} → {s0}',)

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int) -> Tensor:
        return _forward_saving_output(ctx, "softmax", x, dim)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        (y,) = ctx.saved_tensors
        return SoftmaxBackwardData.apply(grad, y, dim=ctx.dim)


class SoftmaxBackwardData(Function):
    """g = y * (grad - sum(grad * y)): softmax's backward as an op.

    Equals ``y * (grad - (grad * y).sum(dim, keepdim=True))``, the gradient of softmax's
    composite (checked, with its own backward, by the second-order gradients in
    tests/ops/test_fused_composites.py).
    """

    op_name = "softmax_backward"

    @staticmethod
    def forward(ctx: Node, grad: Tensor, y: Tensor, dim: int) -> Tensor:
        return _forward_of_backward(ctx, "softmax_backward", grad, y, dim)

    @staticmethod
    def backward(ctx: Node, gg: Tensor) -> tuple:
        grad, y = ctx.saved_tensors
        dim = ctx.dim
        needs_grad, needs_y = ctx.needs_input_grad
        g_grad = SoftmaxBackwardData.apply(gg, y, dim=dim) if needs_grad else None
        g_y = None
        if needs_y:
            g_y = (grad * gg - (y * grad).sum(dim, keepdim=True) * gg
                   - grad * (y * gg).sum(dim, keepdim=True))
        return g_grad, g_y


class LogSoftmax(Function):
    """y = log_softmax(x) along ``dim``; saves only the output.

    Equals ``s - s.exp().sum(dim, keepdim=True).log()`` with
    ``s = x - x.amax(dim, keepdim=True)`` (the max a constant shift; checked in
    tests/ops/test_fused_composites.py).
    """

    caption = ('{g} − softmax·Σ {g} along dim {dim} : {sg} → {s0}',)

    @staticmethod
    def forward(ctx: Node, x: Tensor, dim: int) -> Tensor:
        return _forward_saving_output(ctx, "log_softmax", x, dim)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        (y,) = ctx.saved_tensors
        return LogSoftmaxBackwardData.apply(grad, y, dim=ctx.dim)


class LogSoftmaxBackwardData(Function):
    """g = grad - e^y * sum(grad): log_softmax's backward as an op.

    Equals ``grad - y.exp() * grad.sum(dim, keepdim=True)``, the gradient of log_softmax's
    composite (checked, with its own backward, by the second-order gradients in
    tests/ops/test_fused_composites.py).
    """

    op_name = "log_softmax_backward"

    @staticmethod
    def forward(ctx: Node, grad: Tensor, y: Tensor, dim: int) -> Tensor:
        return _forward_of_backward(ctx, "log_softmax_backward", grad, y, dim)

    @staticmethod
    def backward(ctx: Node, gg: Tensor) -> tuple:
        grad, y = ctx.saved_tensors
        dim = ctx.dim
        needs_grad, needs_y = ctx.needs_input_grad
        p = exp(y)
        g_grad = gg - (gg * p).sum(dim, keepdim=True) if needs_grad else None
        g_y = -grad.sum(dim, keepdim=True) * p * gg if needs_y else None
        return g_grad, g_y


def _prepare(x: Tensor, dim: Any, dtype: Any, name: str) -> tuple[Tensor, int]:
    require_tensor(x, name)
    if dtype is not None:
        x = x.to(dtypes.to_dtype(dtype))  # cast first, as torch does (recorded as a `to`)
    dim = wrap_dim(dim, x.ndim)
    if not x.dtype.is_floating_point:
        kernel = f"{name}_lastdim_kernel_impl" if dim == max(x.ndim - 1, 0) else \
            f"{name}_kernel_impl"
        raise NotImplementedError(
            f"\"{kernel}\" not implemented for '{x.dtype.scalar_type}'")
    return x, dim


def softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    """e^x / sum(e^x) along ``dim`` (``dtype``: cast the input first)."""
    x, dim = _prepare(input, dim, dtype, "softmax")
    return Softmax.apply(x, dim=dim)


def log_softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    """x - log sum(e^x) along ``dim``, computed stably (``dtype``: cast the input first)."""
    x, dim = _prepare(input, dim, dtype, "log_softmax")
    return LogSoftmax.apply(x, dim=dim)


__all__ = ["softmax", "log_softmax"]

METHODS = {"softmax": softmax, "log_softmax": log_softmax}
