"""The losses over class indices as `Function`s (used by `tapegrad.nn.functional.losses`):
``nll_loss`` (one op, torch's node name) and the fused cross-entropy.

Both read one entry per sample: the log-probability of its target class. Inputs are (C,),
(N, C) or (N, C, d1, ...); `classes_last` lays any of them out as rows (one per sample) of
C class scores, so the ops index ``rows[n, t_n]`` whatever the layout.

Cross-entropy with class indices on (N, C) logits has its own fused op,
`CrossEntropyIndices`: it runs on every training step, so log-softmax and the pick of the
target's log-probability run in one kernel call forward and one backward.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad import kernels
from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.grad_mode import _state
from tapegrad.kernels.cuda import runtime as cuda_runtime
from tapegrad.nn.functional.losses.elementwise import reduce_array
from tapegrad.ops._util import as_array, contiguous, wrap
from tapegrad.ops.softmax import softmax
from tapegrad.tensor import Tensor


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


def pick(rows: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``rows[i, index[i]]`` for each row (a row of one broadcasts to every index).

    On the CPU a fancy-index gather. On the GPU a compare-and-sum instead: a gather would
    first check its indices' bounds by reading them back to the host, a stall in every
    training step, while here the indices are known to be in range (`row_weights`)."""
    if type(rows) is np.ndarray:
        return rows[np.arange(len(index)), index]
    return np.where(one_hot(index, rows.shape[1]), rows, rows.dtype.type(0)).sum(axis=1)


def one_hot(index: np.ndarray, n_classes: int) -> np.ndarray:
    """(N, C) bools, True at ``[i, index[i]]``: built by comparison, on index's device."""
    return np.arange(n_classes, like=index).reshape(1, -1) == index.reshape(-1, 1)


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
    on_host = type(t) is np.ndarray
    if (on_host or cuda_runtime.sync_checks()) and bad.any():  # .any() of GPU data: a copy
        raise target_error(int(t[np.argmax(bad)]))
    safe = np.where(valid & ~bad, t, 0)
    w = np.ones(n_classes, dtype, like=t) if weight is None else weight
    picked = w[safe] if on_host else pick(w.reshape(1, -1), safe)
    wt = np.where(valid, picked, dtype.type(0))
    if on_host:
        return valid, safe, wt
    # on the GPU a bad target, not checked above (that would cost a copy in every step), gets
    # a NaN weight and so a NaN loss, as in the fused cross-entropy kernel
    return valid, safe, np.where(bad, dtype.type(np.nan), wt)


class NllLoss(Function):
    """Negative log-likelihood of log-probabilities ``x`` at the target classes ``t``.

        l_n = -w[t_n] * x[n, t_n]   (0 where t_n == ignore_index)
        'mean' = sum_n l_n / sum_n w[t_n]   (a weighted mean over the non-ignored samples)

    The loss reads one entry per row, so its gradient is zero except at the targets:
    ``dl_n/dx[n, t_n] = -w[t_n]`` (divided by ``sum w[t_n]`` for 'mean'). backward builds that
    sparse pattern as a constant array and multiplies it by the incoming gradient: linear in
    the gradient, independent of x, so the double backward is the same pattern again.

    Equals ``-(w[t] * rows[arange(M), t])`` per sample (rows: the classes-last layout, w[t] 0
    for ignored samples), then summed or divided by ``w[t].sum()`` (checked in
    tests/ops/test_fused_composites.py).
    """

    caption = ("−{g} at each target's log-probability, 0 elsewhere : {s0} ({opts})",
               '0 (the targets have no gradient)')
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
            picked = pick(rows, safe)
            losses = np.where(valid, -(wt * picked), xd.dtype.type(0))
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
        n_classes = ctx.shape[-1] if len(ctx.shape) == 1 else ctx.shape[1]
        hit = one_hot(ctx.safe, n_classes) & ctx.valid.reshape(-1, 1)
        pattern = np.where(hit, coef.reshape(-1, 1), coef.dtype.type(0))
        pattern = wrap(contiguous(classes_back(pattern, ctx.shape)))
        if ctx.reduction == "none" and len(ctx.shape) >= 2:
            grad = grad.unsqueeze(1)  # one gradient per sample, shared along the classes
        return grad * pattern, None, None


class NllLoss2d(NllLoss):
    """`NllLoss` for inputs with spatial dims (N, C, d1, ...), under torch's node name.

    Equals `NllLoss`'s composite on the classes-last rows (checked in
    tests/ops/test_fused_composites.py).
    """

    caption = ("−{g} at each pixel's target log-probability, 0 elsewhere : {s0}",
               '0 (the targets have no gradient)')
    node_name = "NllLoss2DBackward0"
    op_name = "nll_loss2d"


def _log_softmax_nll(rows: Any, t: Any, w: Any, ignore_index: int) -> tuple:
    """The fused kernel of the input's device. The CPU kernel raises torch's IndexError for a
    target outside [0, C); a GPU kernel cannot raise, so it flags the row (its loss is NaN),
    and the flags are read back -- a stall and one copy -- only when
    ``tapegrad.cuda.set_sync_checks(True)`` asked for that."""
    k = kernels.on(rows)
    if type(rows) is np.ndarray or not cuda_runtime.sync_checks():
        return k.log_softmax_nll(rows, t, w, ignore_index)
    errors = np.zeros(len(t), np.int32, like=rows)
    out = k.log_softmax_nll(rows, t, w, ignore_index, errors=errors)
    k.raise_target_errors(errors, t, rows.shape[1], ignore_index)
    return out


class CrossEntropyIndices(Function):
    """Fused ``nll_loss(log_softmax(x, 1), t)`` for logits (N, C) or (C,): one kernel call
    forward (`kernels.cpu.log_softmax_nll`) and one backward.

    With p = softmax(x):   d(-log p[t]) / dx = p - onehot(t),
    so row n of the gradient is ``g_n * w[t_n] * (p_n - onehot(t_n))`` (0 for ignored rows).

    Named ``NllLossBackward0`` like the last node torch records for this call (its tape also
    has a ``LogSoftmaxBackward0`` before it; here both are this one entry, ``cross_entropy``
    in listings). Double backward: with ``create_graph=True`` the same gradient is built from
    Tensor ops (softmax of the saved logits) instead of the kernel, so it is differentiable.

    Equals ``nll_loss(log_softmax(x, 1), t, weight, ignore_index=..., reduction=...)`` with
    log_softmax's composite (checked in tests/ops/test_fused_composites.py).
    """

    caption = ('(softmax({x0}) − one-hot({x1}))·{g} / N over the batch : {s0} (reduction {opts})',
               '0 (the targets have no gradient)')
    node_name = "NllLossBackward0"
    op_name = "cross_entropy"

    @staticmethod
    def forward(ctx: Node, x: Tensor, target: Tensor, weight: Tensor | None,
                ignore_index: int, reduction: str) -> Tensor:
        xd = x._data
        rows = xd.reshape(1, -1) if xd.ndim == 1 else xd
        t = target._data.reshape(-1).astype(np.int64, copy=False)
        w = None if weight is None else weight._data
        losses, log_probs = _log_softmax_nll(rows, t, w, ignore_index)
        ctx.log_probs, ctx.t, ctx.w, ctx.ignore_index = log_probs, t, w, ignore_index
        ctx.reduction, ctx.shape = reduction, xd.shape
        ctx.save_for_backward(x)  # read only by the create_graph path
        if reduction == "none":
            return wrap(losses.reshape(()) if xd.ndim == 1 else losses)
        if reduction == "sum":
            return wrap(as_array(losses.sum(), xd.dtype))
        valid = t != ignore_index  # the kernel has checked (or flagged) the targets' bounds
        if w is None:
            total = valid.sum()
        elif type(t) is np.ndarray:
            total = w[t[valid]].sum()
        else:  # no gather on the GPU: its bounds check would read indices back
            safe = np.where(valid & (t >= 0) & (t < w.shape[0]), t, 0)
            total = np.where(valid, pick(w.reshape(1, -1), safe), w.dtype.type(0)).sum()
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
            g = grad._data.reshape(-1).astype(dtype)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):  # 'mean' of all-ignored
                scale = grad._data / ctx.total if ctx.reduction == "mean" else grad._data
            g = np.full(n, scale, dtype, like=ctx.log_probs)
        with np.errstate(invalid="ignore"):  # g = inf times a zero class weight
            gx = kernels.on(g).log_softmax_nll_backward(g, ctx.log_probs, ctx.t, ctx.w,
                                                      ctx.ignore_index)
        return wrap(gx.reshape(ctx.shape)), None, None

    @staticmethod
    def _graph_backward(ctx: Node, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        rows = x.reshape(1, -1) if x.ndim == 1 else x
        n, c = rows.shape
        dtype = ctx.log_probs.dtype
        valid, safe, wt = row_weights(ctx.t, c, ctx.w, ctx.ignore_index, dtype)
        onehot = (one_hot(safe, c) & valid.reshape(-1, 1)).astype(dtype)
        if ctx.reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                wt = np.where(valid, wt / ctx.total, dtype.type(0))
        scale = grad.reshape(-1, 1) * wrap(wt.reshape(n, 1))
        return (scale * (softmax(rows, 1) - wrap(onehot))).reshape(x.shape)
