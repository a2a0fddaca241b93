"""The element-wise loss ops as `Function`s (used by `tapegrad.nn.functional.losses`).

Where torch computes a loss in one kernel (``mse_loss``, ``smooth_l1_loss``, ``huber_loss``,
``binary_cross_entropy``, ``binary_cross_entropy_with_logits``) it is one op here too, with
torch's node name. Forward works on arrays; backward is written in Tensor ops, so it can
itself be differentiated (``create_graph=True``, gradgradcheck).

Every loss first computes one loss ``l_i`` per element, then reduces:

    'none' -> l        'sum' -> sum_i l_i        'mean' -> sum_i l_i / n

so the gradient reaching each ``l_i`` is ``g`` itself ('none'), the scalar ``g`` ('sum') or
``g / n`` ('mean'); each backward multiplies that by ``dl_i/dx_i``.

The losses over class indices (``nll_loss`` and the fused cross-entropy) are in
`tapegrad.nn.functional.losses.nll`.
"""

from __future__ import annotations

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.kernels.cuda import runtime as cuda_runtime
from tapegrad.ops._util import as_array, promoted, wrap
from tapegrad.ops.activation import logsigmoid
from tapegrad.ops.comparison import where
from tapegrad.ops.pointwise import sigmoid
from tapegrad.tensor import Tensor

EPSILON = 1e-12  # torch's floor for x(1 - x) in binary_cross_entropy's backward


def reduce_array(loss: np.ndarray, reduction: str) -> np.ndarray:
    """Apply ``reduction`` to per-element losses (the mean of nothing is nan, as in torch)."""
    if reduction == "none":
        return loss
    # float16 losses are summed in float32, as torch does (1000 halfs of 10000: mean 10000)
    total = loss.sum(dtype=np.float32) if loss.dtype == np.float16 else loss.sum()
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            total = total / total.dtype.type(loss.size)
    return as_array(total, loss.dtype)


def element_grad(grad: Tensor, reduction: str, n: int) -> Tensor:
    """The gradient reaching each per-element loss: ``g`` or, for 'mean', ``g / n``."""
    return grad / max(n, 1) if reduction == "mean" else grad


def _pair(ctx: Node, gx: Tensor | None, make_gy) -> tuple:
    """(grad of input, grad of target), computing only what is needed."""
    nx, ny = ctx.needs_input_grad[:2]
    return (gx if nx else None), (make_gy() if ny else None)


# ------------------------------------------------------------------------ regression losses
class MseLoss(Function):
    """l = (x - y)^2.     dl/dx = 2 (x - y),   dl/dy = -2 (x - y).

    Equals ``(x - y) ** 2`` then the reduction (checked in tests/ops/test_fused_composites.py).
    """

    caption = ('2({x0} − {x1})·{g} / n : {s0} ({opts})',
               '−2({x0} − {x1})·{g} / n : {s1} ({opts})')
    op_name = "mse_loss"

    @staticmethod
    def forward(ctx: Node, x: Tensor, y: Tensor, reduction: str) -> Tensor:
        _, (xd, yd) = promoted(x, y)
        d = xd - yd
        ctx.save_for_backward(x, y)
        ctx.reduction, ctx.n = reduction, d.size
        return wrap(reduce_array(d * d, reduction))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        x, y = ctx.saved_tensors
        g = element_grad(grad, ctx.reduction, ctx.n) * (2 * (x - y))
        return _pair(ctx, g, lambda: -g)


class SmoothL1Loss(Function):
    """l = 0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta   (d = x - y, beta > 0).

    dl/dd = d / beta inside the quadratic zone, sign(d) outside: continuous at |d| = beta.

    Equals ``where(d.abs() < beta, 0.5 * d * d / beta, d.abs() - 0.5 * beta)`` then the
    reduction (checked in tests/ops/test_fused_composites.py).
    """

    caption = ('clamp(({x0} − {x1}) / β, ±1)·{g} / n : {s0}',
               '−clamp(({x0} − {x1}) / β, ±1)·{g} / n : {s1}')
    op_name = "smooth_l1_loss"

    @staticmethod
    def forward(ctx: Node, x: Tensor, y: Tensor, reduction: str, beta: float) -> Tensor:
        _, (xd, yd) = promoted(x, y)
        d = xd - yd
        ad = np.abs(d)
        loss = np.where(ad < beta, 0.5 * d * d / beta, ad - 0.5 * beta)
        ctx.save_for_backward(x, y)
        ctx.reduction, ctx.n, ctx.beta = reduction, d.size, beta
        return wrap(reduce_array(as_array(loss, d.dtype), reduction))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        x, y = ctx.saved_tensors
        d = x - y
        # the test reads "outside the zone" so that a NaN difference falls inside and
        # its gradient d / beta stays NaN (sign(NaN) is 0, which would hide it), as torch
        slope = where(d.abs() >= ctx.beta, d.sign(), d / ctx.beta)
        g = element_grad(grad, ctx.reduction, ctx.n) * slope
        return _pair(ctx, g, lambda: -g)


class HuberLoss(Function):
    """l = 0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta)   (d = x - y).

    dl/dd = d inside, delta * sign(d) outside. (Huber = delta * SmoothL1 with beta = delta.)
    Like torch, the result has the *input's* dtype even when the target's is wider.

    Equals ``where(d.abs() < delta, 0.5 * d * d, delta * (d.abs() - 0.5 * delta))`` then the
    reduction (checked in tests/ops/test_fused_composites.py).
    """

    caption = ('clamp({x0} − {x1}, ±δ)·{g} / n : {s0}',
               '−clamp({x0} − {x1}, ±δ)·{g} / n : {s1}')
    op_name = "huber_loss"

    @staticmethod
    def forward(ctx: Node, x: Tensor, y: Tensor, reduction: str, delta: float) -> Tensor:
        _, (xd, yd) = promoted(x, y)
        d = xd - yd
        ad = np.abs(d)
        loss = np.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))
        ctx.save_for_backward(x, y)
        ctx.reduction, ctx.n, ctx.delta = reduction, d.size, delta
        return wrap(reduce_array(as_array(loss, x._data.dtype), reduction))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        x, y = ctx.saved_tensors
        d = x - y
        slope = where(d.abs() >= ctx.delta, d.sign() * ctx.delta, d)  # NaN stays NaN
        g = element_grad(grad, ctx.reduction, ctx.n) * slope
        return _pair(ctx, g, lambda: -g)


# ----------------------------------------------------------------------- binary losses
class BinaryCrossEntropy(Function):
    """l = -w [y log x + (1 - y) log(1 - x)], each log clamped at -100 (so l <= 100 w).

        dl/dx = w (x - y) / (x (1 - x))   (denominator floored at 1e-12, as torch)
        dl/dy = -w log(x / (1 - x))       (the logit, unclamped: +-inf at x = 0 or 1)

    Equals ``-w * (y * x.log().clamp_min(-100) + (1 - y) * (1 - x).log().clamp_min(-100))``
    then the reduction (checked in tests/ops/test_fused_composites.py) while x (1 - x) > 1e-12;
    nearer 0 or 1 the gradient is torch's floored formula above, not the clamp's.
    """

    caption = ('(p − t) / (p(1 − p))·{g} / n : {s0}',
               'log((1 − p)/p)·{g} / n : {s1}')
    op_name = "binary_cross_entropy"

    @staticmethod
    def forward(ctx: Node, x: Tensor, y: Tensor, weight: Tensor | None,
                reduction: str) -> Tensor:
        xd, yd = x._data, y._data
        # `not (a >= 0 and a <= 1)` also catches nan.
        # reading GPU data back to check it would stall every step: on CUDA the check runs
        # only with tapegrad.cuda.set_sync_checks(True) (otherwise the loss comes out NaN)
        if type(xd) is np.ndarray or cuda_runtime.sync_checks():
            if not np.all((xd >= 0) & (xd <= 1)):
                raise RuntimeError("all elements of input should be between 0 and 1")
            if not np.all((yd >= 0) & (yd <= 1)):
                raise RuntimeError("all elements of target should be between 0 and 1")
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(xd), -100)
            log_1mx = np.maximum(np.log1p(-xd), -100)
        loss = (yd - 1) * log_1mx - yd * log_x  # torch's arithmetic order
        if weight is not None:
            loss = loss * weight._data
        ctx.save_for_backward(x, y, weight)
        ctx.reduction, ctx.n = reduction, loss.size
        return wrap(reduce_array(as_array(loss, xd.dtype), reduction))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        x, y, w = ctx.saved_tensors
        g = element_grad(grad, ctx.reduction, ctx.n)
        if w is not None:
            g = g * w
        gx = None
        if ctx.needs_input_grad[0]:
            gx = g * (x - y) / ((1 - x) * x).clamp_min(EPSILON)
        return (*_pair(ctx, gx, lambda: -(x / (1 - x)).log() * g), None)


class BinaryCrossEntropyWithLogits(Function):
    """BCE of sigmoid(x), computed stably from the logits x (p = pos_weight, w = weight):

        l = -w [p y log s(x) + (1 - y) log(1 - s(x))]
          = w [(1 - y) x - (1 + (p - 1) y) log s(x)]      (log(1 - s(x)) = log s(x) - x)
        log s(x) = min(x, 0) - log1p(e^-|x|)              (never overflows)

        dl/dx = w [(1 + (p - 1) y) s(x) - p y]             (= w (s(x) - y) without p)
        dl/dy = w [log s(-x) - p log s(x)]                 (= -w x without p)

    Equals ``w * ((1 - y) * x - (1 + (p - 1) * y) * log_s)`` with
    ``log_s = x.clamp_max(0) - (-x.abs()).exp().log1p()``, then the reduction (checked in
    tests/ops/test_fused_composites.py).
    """

    caption = ('(sigmoid({x0}) − {x1})·{g} / n : {s0}',
               '−{x0}·{g} / n : {s1}')
    op_name = "binary_cross_entropy_with_logits"

    @staticmethod
    def forward(ctx: Node, x: Tensor, y: Tensor, weight: Tensor | None,
                pos_weight: Tensor | None, reduction: str) -> Tensor:
        _, (xd, yd) = promoted(x, y)
        with np.errstate(invalid="ignore", over="ignore"):  # inf logits: nan as torch, silently
            log_sig = np.minimum(xd, 0) - np.log1p(np.exp(-np.abs(xd)))
            if pos_weight is not None:
                log_sig = log_sig * ((pos_weight._data - 1) * yd + 1)
            loss = (1 - yd) * xd - log_sig
            if weight is not None:
                loss = loss * weight._data
        ctx.save_for_backward(x, y, weight, pos_weight)
        ctx.reduction, ctx.n = reduction, loss.size
        # torch accumulates the loss in place into ``1 - target``: the target's dtype.
        return wrap(reduce_array(as_array(loss, y._data.dtype), reduction))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        x, y, w, p = ctx.saved_tensors
        g = element_grad(grad, ctx.reduction, ctx.n)
        if w is not None:
            g = g * w
        gx = None
        if ctx.needs_input_grad[0]:
            if p is None:
                gx = (sigmoid(x) - y) * g
            else:
                py = p * y
                gx = ((py + 1 - y) * sigmoid(x) - py) * g

        def target_grad() -> Tensor:
            if p is None:
                return -x * g
            return (logsigmoid(-x) - logsigmoid(x) * p) * g

        return (*_pair(ctx, gx, target_grad), None, None)
