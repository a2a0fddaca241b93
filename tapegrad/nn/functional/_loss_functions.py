"""The loss ops as `Function`s (used by `tapegrad.nn.functional.loss`).

Where torch computes a loss in one kernel (``mse_loss``, ``smooth_l1_loss``, ``huber_loss``,
``nll_loss``, ``binary_cross_entropy``, ``binary_cross_entropy_with_logits``) it is one op
here too, with torch's node name. Forward works on arrays; backward is written in Tensor ops,
so it can itself be differentiated (``create_graph=True``, gradgradcheck).

Every loss first computes one loss ``l_i`` per element, then reduces:

    'none' -> l        'sum' -> sum_i l_i        'mean' -> sum_i l_i / n

so the gradient reaching each ``l_i`` is ``g`` itself ('none'), the scalar ``g`` ('sum') or
``g / n`` ('mean'); each backward multiplies that by ``dl_i/dx_i``.

Cross-entropy with class indices on (N, C) logits has its own fused op,
`CrossEntropyIndices`: it runs on every training step, so log-softmax and the pick of the
target's log-probability run in one kernel call forward and one backward.
"""

from __future__ import annotations

import numpy as np

from tapegrad import kernels
from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.grad_mode import _state
from tapegrad.ops._util import as_array, promoted, wrap
from tapegrad.ops.activation_smooth import logsigmoid, sigmoid
from tapegrad.ops.comparison import where
from tapegrad.ops.softmax import softmax
from tapegrad.tensor import Tensor

EPSILON = 1e-12  # torch's floor for x(1 - x) in binary_cross_entropy's backward


def reduce_array(loss: np.ndarray, reduction: str) -> np.ndarray:
    """Apply ``reduction`` to per-element losses (the mean of nothing is nan, as in torch)."""
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            total = total / loss.dtype.type(loss.size)
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
    """l = (x - y)^2.     dl/dx = 2 (x - y),   dl/dy = -2 (x - y)."""

    node_name = "MseLossBackward0"
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
    """

    node_name = "SmoothL1LossBackward0"
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
        slope = where(d.abs() < ctx.beta, d / ctx.beta, d.sign())
        g = element_grad(grad, ctx.reduction, ctx.n) * slope
        return _pair(ctx, g, lambda: -g)


class HuberLoss(Function):
    """l = 0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta)   (d = x - y).

    dl/dd = d inside, delta * sign(d) outside. (Huber = delta * SmoothL1 with beta = delta.)
    Like torch, the result has the *input's* dtype even when the target's is wider.
    """

    node_name = "HuberLossBackward0"
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
        slope = where(d.abs() < ctx.delta, d, d.sign() * ctx.delta)
        g = element_grad(grad, ctx.reduction, ctx.n) * slope
        return _pair(ctx, g, lambda: -g)


# ----------------------------------------------------------------------- NLL: class indices
def classes_last(a: np.ndarray) -> np.ndarray:
    """(C,) -> (1, C); (N, C) as is; (N, C, d1..dk) -> (N*d1*..*dk, C): one row per sample."""
    if a.ndim == 1:
        return a.reshape(1, -1)
    if a.ndim == 2:
        return a
    return np.moveaxis(a, 1, -1).reshape(-1, a.shape[1])


def classes_back(rows: np.ndarray, shape: tuple) -> np.ndarray:
    """Inverse of `classes_last`: rows (M, C) back to the input's layout ``shape``."""
    if len(shape) <= 2:
        return rows.reshape(shape)
    return np.moveaxis(rows.reshape(shape[0], *shape[2:], shape[1]), -1, 1)


def target_error(t: int) -> IndexError:
    return IndexError(f"Target {t} is out of bounds.")


def row_weights(t: np.ndarray, n_classes: int, weight: np.ndarray | None, ignore_index: int,
                dtype: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check targets; return (valid mask, target clipped to a safe index, weight per row).

    A row's weight is ``weight[t]`` (1 without weights) and 0 for an ignored row, so that
    ``sum(row weights)`` is the divisor of 'mean'.
    """
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise target_error(int(t[np.argmax(bad)]))
    safe = np.where(valid, t, 0)
    w = np.ones(n_classes, dtype) if weight is None else weight
    return valid, safe, np.where(valid, w[safe], dtype.type(0))


class NllLoss(Function):
    """Negative log-likelihood of log-probabilities ``x`` at the target classes ``t``.

        l_n = -w[t_n] * x[n, t_n]   (0 where t_n == ignore_index)
        'mean' = sum_n l_n / sum_n w[t_n]   (a weighted mean over the non-ignored samples)

    The loss reads one entry per row, so its gradient is zero except at the targets:
    ``dl_n/dx[n, t_n] = -w[t_n]`` (divided by ``sum w[t_n]`` for 'mean'). backward builds that
    sparse pattern as a constant array and multiplies it by the incoming gradient: linear in
    the gradient, independent of x, so the double backward is the same pattern again.
    """

    node_name = "NllLossBackward0"
    op_name = "nll_loss"

    @staticmethod
    def forward(ctx: Node, x: Tensor, target: Tensor, weight: Tensor | None,
                ignore_index: int, reduction: str) -> Tensor:
        xd = x._data
        rows = classes_last(xd)
        t = target._data.reshape(-1).astype(np.int64, copy=False)
        w = None if weight is None else weight._data
        valid, safe, wt = row_weights(t, rows.shape[1], w, ignore_index, xd.dtype)
        with np.errstate(invalid="ignore"):  # 0 * -inf in an ignored row
            losses = np.where(valid, -(wt * rows[np.arange(len(t)), safe]), xd.dtype.type(0))
        out_shape = (xd.shape[0], *xd.shape[2:]) if xd.ndim >= 2 else ()
        ctx.valid, ctx.safe, ctx.wt, ctx.shape, ctx.reduction = valid, safe, wt, xd.shape, \
            reduction
        if reduction == "mean":
            ctx.total = wt.sum()
            with np.errstate(invalid="ignore", divide="ignore"):
                return wrap(as_array(losses.sum() / ctx.total, xd.dtype))
        return wrap(reduce_array(losses.reshape(out_shape), reduction))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        coef = -ctx.wt
        if ctx.reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                coef = coef / ctx.total
        n_rows = len(coef)
        pattern = np.zeros((n_rows, ctx.shape[-1] if len(ctx.shape) == 1 else ctx.shape[1]),
                           coef.dtype)
        rows = np.arange(n_rows)[ctx.valid]
        pattern[rows, ctx.safe[ctx.valid]] = coef[ctx.valid]
        pattern = wrap(np.ascontiguousarray(classes_back(pattern, ctx.shape)))
        if ctx.reduction == "none" and len(ctx.shape) >= 2:
            grad = grad.unsqueeze(1)  # one gradient per sample, shared along the classes
        return grad * pattern, None, None


class NllLoss2d(NllLoss):
    """`NllLoss` for inputs with spatial dims (N, C, d1, ...), under torch's node name."""

    node_name = "NllLoss2DBackward0"
    op_name = "nll_loss2d"


class CrossEntropyIndices(Function):
    """Fused ``nll_loss(log_softmax(x, 1), t)`` for logits (N, C) or (C,): one kernel call
    forward (`kernels.cpu.log_softmax_nll`) and one backward.

    With p = softmax(x):   d(-log p[t]) / dx = p - onehot(t),
    so row n of the gradient is ``g_n * w[t_n] * (p_n - onehot(t_n))`` (0 for ignored rows).

    Named ``NllLossBackward0`` like the last node torch records for this call (its tape also
    has a ``LogSoftmaxBackward0`` before it; here both are this one entry, ``cross_entropy``
    in listings). Double backward: with ``create_graph=True`` the same gradient is built from
    Tensor ops (softmax of the saved logits) instead of the kernel, so it is differentiable.
    """

    node_name = "NllLossBackward0"
    op_name = "cross_entropy"

    @staticmethod
    def forward(ctx: Node, x: Tensor, target: Tensor, weight: Tensor | None,
                ignore_index: int, reduction: str) -> Tensor:
        xd = x._data
        rows = xd.reshape(1, -1) if xd.ndim == 1 else xd
        t = target._data.reshape(-1).astype(np.int64, copy=False)
        w = None if weight is None else weight._data
        losses, log_probs = kernels.cpu.log_softmax_nll(rows, t, w, ignore_index)
        ctx.log_probs, ctx.t, ctx.w, ctx.ignore_index = log_probs, t, w, ignore_index
        ctx.reduction, ctx.shape = reduction, xd.shape
        ctx.save_for_backward(x)  # read only by the create_graph path
        if reduction == "none":
            return wrap(losses.reshape(()) if xd.ndim == 1 else losses)
        if reduction == "sum":
            return wrap(as_array(losses.sum(), xd.dtype))
        valid = t != ignore_index  # the kernel has checked the targets' bounds
        total = valid.sum() if w is None else w[t[valid]].sum()
        ctx.total = as_array(total, xd.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            return wrap(as_array(losses.sum() / ctx.total, xd.dtype))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        if _state.grad_enabled:  # create_graph: differentiable Tensor ops
            return CrossEntropyIndices._graph_backward(ctx, grad), None, None
        dtype = ctx.log_probs.dtype
        n = ctx.log_probs.shape[0]
        if ctx.reduction == "none":
            # a fresh writable copy: the numba kernel cannot take a read-only array
            g = np.array(grad._data.reshape(-1), dtype)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):  # 'mean' of all-ignored
                scale = grad._data / ctx.total if ctx.reduction == "mean" else grad._data
            g = np.full(n, scale, dtype)
        with np.errstate(invalid="ignore"):  # g = inf times a zero class weight
            gx = kernels.cpu.log_softmax_nll_backward(g, ctx.log_probs, ctx.t, ctx.w,
                                                      ctx.ignore_index)
        return wrap(gx.reshape(ctx.shape)), None, None

    @staticmethod
    def _graph_backward(ctx: Node, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        rows = x.reshape(1, -1) if x.ndim == 1 else x
        n, c = rows.shape
        dtype = ctx.log_probs.dtype
        valid, safe, wt = row_weights(ctx.t, c, ctx.w, ctx.ignore_index, dtype)
        onehot = np.zeros((n, c), dtype)
        onehot[np.arange(n)[valid], safe[valid]] = 1
        if ctx.reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                wt = np.where(valid, wt / ctx.total, dtype.type(0))
        scale = grad.reshape(-1, 1) * wrap(wt.reshape(n, 1))
        return (scale * (softmax(rows, 1) - wrap(onehot))).reshape(x.shape)


# ----------------------------------------------------------------------- binary losses
class BinaryCrossEntropy(Function):
    """l = -w [y log x + (1 - y) log(1 - x)], each log clamped at -100 (so l <= 100 w).

        dl/dx = w (x - y) / (x (1 - x))   (denominator floored at 1e-12, as torch)
        dl/dy = -w log(x / (1 - x))       (the logit, unclamped: +-inf at x = 0 or 1)
    """

    node_name = "BinaryCrossEntropyBackward0"
    op_name = "binary_cross_entropy"

    @staticmethod
    def forward(ctx: Node, x: Tensor, y: Tensor, weight: Tensor | None,
                reduction: str) -> Tensor:
        xd, yd = x._data, y._data
        # `not (a >= 0 and a <= 1)` also catches nan.
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
    """

    node_name = "BinaryCrossEntropyWithLogitsBackward0"
    op_name = "binary_cross_entropy_with_logits"

    @staticmethod
    def forward(ctx: Node, x: Tensor, y: Tensor, weight: Tensor | None,
                pos_weight: Tensor | None, reduction: str) -> Tensor:
        _, (xd, yd) = promoted(x, y)
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


# ----------------------------------------------------------------------- KL divergence
class XLogY(Function):
    """z = x log y, with z = 0 where x == 0 (unless y is nan): so that 0 log 0 = 0.

        dz/dx = log y   (0 where x == 0 and y <= 0)     dz/dy = x / y   (torch's formulas)
    """

    node_name = "XlogyBackward0"
    op_name = "xlogy"

    @staticmethod
    def forward(ctx: Node, x: Tensor, y: Tensor) -> Tensor:
        _, (xd, yd) = promoted(x, y)
        with np.errstate(all="ignore"):
            out = np.where((xd == 0) & ~np.isnan(yd), 0, xd * np.log(yd))
        ctx.save_for_backward(x, y)
        return wrap(as_array(out, np.result_type(xd, yd)))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        x, y = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad
        gx = XLogY.apply(grad, y).masked_fill((x == 0) & (y <= 0), 0) if nx else None
        gy = grad * x / y if ny else None
        return gx, gy
