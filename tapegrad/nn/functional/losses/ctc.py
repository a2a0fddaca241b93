"""``ctc_loss``: Connectionist Temporal Classification, a loss for sequences whose
alignment to the input is unknown (speech to characters, handwriting to text).

The network emits, at each of T time steps, log-probabilities over C symbols, one of which
is the *blank*. An *alignment* picks one symbol per step; collapsing repeats and then
deleting blanks turns it into a label sequence (``a a - b - b`` -> ``a b b``). The loss is
``-log`` of the total probability of every alignment that collapses to the target.

Summing over exponentially many alignments is a dynamic programme on the *extended*
target ``l'`` (the target with a blank before, between and after its L labels: 2L + 1
states). The **forward variable** ``alpha_t(s)`` is the probability of the prefixes of
length t + 1 that end in state s::

    alpha_t(s) = (alpha_{t-1}(s) + alpha_{t-1}(s-1) [+ alpha_{t-1}(s-2)]) * y_t(l'_s)

where the ``s - 2`` jump (skipping a blank) is allowed only between two different labels.
The loss is ``-log(alpha_{T-1}(2L) + alpha_{T-1}(2L-1))``. The **backward variable**
``beta_t(s)`` runs the same recursion from the end, and ``alpha_t(s) beta_t(s) / y_t(l'_s)``
is the probability of passing through state s at time t, so the derivative of the loss
with respect to ``log y_t(c)`` is ``-sum_{s: l'_s = c} alpha_t(s) beta_t(s) / (y_t(c) p)``.
Everything runs in log space (sums become ``logaddexp``) so that long sequences do not
underflow.

Like torch, the gradient returned for the log-probabilities is
``exp(log_probs) - exp(log(sum alpha beta) + loss - log_probs)``: the exact derivative plus
``exp(log_probs)``, a term that vanishes once the log-probabilities come from a
``log_softmax`` (the usual case, and what torch's own tests assume). It is one op with a
hand-written backward (the forward-backward algorithm); its backward is not itself
differentiable, as in torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.ops._util import wrap
from tapegrad.ops.checks.losses import check_tensors, get_reduction
from tapegrad.tensor import Tensor

__all__ = ["ctc_loss"]

_NEG_INF = -np.inf


def _extended(targets: list[np.ndarray], blank: int, states: int) -> np.ndarray:
    """(N, states) extended labels: blank, l1, blank, l2, ..., blank (padded with blank)."""
    ext = np.full((len(targets), states), blank, dtype=np.int64)
    for n, t in enumerate(targets):
        ext[n, 1:2 * len(t):2] = t
    return ext


def _skip_allowed(ext: np.ndarray, blank: int) -> np.ndarray:
    """(N, S): whether state s may be reached from s - 2 (a label different from the
    label two states back)."""
    skip = np.zeros(ext.shape, dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    return skip


def _forward_backward(lp: np.ndarray, ext: np.ndarray, skip: np.ndarray, in_len: np.ndarray,
                      tgt_len: np.ndarray, want_beta: bool) -> tuple:
    """log alpha and (optionally) log beta, each (T, N, S), and the per-sample NLL."""
    t_max, n_batch, _ = lp.shape
    states = ext.shape[1]
    y = np.take_along_axis(lp, np.broadcast_to(ext[None], (t_max, n_batch, states)), axis=2)
    valid = np.arange(states)[None, :] < (2 * tgt_len + 1)[:, None]  # (N, S)
    alpha = np.full((t_max, n_batch, states), _NEG_INF)
    if t_max:
        alpha[0, :, 0] = y[0, :, 0]
        has_label = tgt_len > 0
        alpha[0, has_label, 1] = y[0, has_label, 1]
    for t in range(1, t_max):
        prev = alpha[t - 1]
        acc = prev.copy()
        acc[:, 1:] = np.logaddexp(acc[:, 1:], prev[:, :-1])
        acc[:, 2:] = np.where(skip[:, 2:], np.logaddexp(acc[:, 2:], prev[:, :-2]), acc[:, 2:])
        alpha[t] = np.where(valid, acc + y[t], _NEG_INF)
    rows = np.arange(n_batch)
    last_t = np.maximum(in_len - 1, 0)
    end = alpha[last_t, rows, 2 * tgt_len]
    before = np.where(tgt_len > 0, alpha[last_t, rows, np.maximum(2 * tgt_len - 1, 0)],
                      _NEG_INF)
    nll = -np.logaddexp(end, before)
    nll = np.where(in_len > 0, nll, np.where(tgt_len == 0, 0.0, np.inf))
    if not want_beta:
        return alpha, None, nll
    beta = np.full((t_max, n_batch, states), _NEG_INF)
    for t in range(t_max - 1, -1, -1):
        start = np.full((n_batch, states), _NEG_INF)
        start[rows, 2 * tgt_len] = y[t, rows, 2 * tgt_len]
        with_label = tgt_len > 0
        idx = np.maximum(2 * tgt_len - 1, 0)
        start[rows[with_label], idx[with_label]] = y[t, rows[with_label], idx[with_label]]
        if t + 1 < t_max:
            nxt = beta[t + 1]
            acc = nxt.copy()
            acc[:, :-1] = np.logaddexp(acc[:, :-1], nxt[:, 1:])
            acc[:, :-2] = np.where(skip[:, 2:], np.logaddexp(acc[:, :-2], nxt[:, 2:]),
                                   acc[:, :-2])
            rec = np.where(valid, acc + y[t], _NEG_INF)
        else:
            rec = np.full((n_batch, states), _NEG_INF)
        is_last = (t == in_len - 1)[:, None]
        inside = (t < in_len - 1)[:, None]
        beta[t] = np.where(is_last, start, np.where(inside, rec, _NEG_INF))
    return alpha, beta, nll


class CTCLoss(Function):
    """Per-sample CTC negative log-likelihoods of (T, N, C) log-probabilities; backward is
    the forward-backward algorithm (see the module docstring).

    Equals the forward recursion written with ops (``alpha`` updated by shifted sums and
    products with ``y_t``, loss ``-log`` of its last two states) differentiated by the tape,
    plus ``exp(log_probs)`` in the gradient of each used step, torch's convention (checked
    in tests/ops/test_fused_composites.py).
    """

    caption = ("(exp({x0}) − Σ αβ over the target states of each class / (y·p))·{g}, "
               "from the forward-backward algorithm : {s0}",)
    node_name = "CtcLossBackward0"
    op_name = "ctc_loss"

    @staticmethod
    def forward(ctx: Node, log_probs: Tensor, targets: list = None, in_len: np.ndarray = None,
                tgt_len: np.ndarray = None, blank: int = 0, zero_infinity: bool = False
                ) -> Tensor:
        lp = log_probs._data.astype(np.float64)
        states = 2 * int(tgt_len.max(initial=0)) + 1
        ext = _extended(targets, blank, states)
        skip = _skip_allowed(ext, blank)
        with np.errstate(all="ignore"):
            _, _, nll = _forward_backward(lp, ext, skip, in_len, tgt_len, want_beta=False)
        ctx.lp, ctx.ext, ctx.skip, ctx.in_len, ctx.tgt_len = lp, ext, skip, in_len, tgt_len
        ctx.nll, ctx.zero_infinity = nll, zero_infinity
        ctx.dtype = log_probs._data.dtype
        out = np.where(np.isinf(nll), 0.0, nll) if zero_infinity else nll
        return wrap(out.astype(ctx.dtype))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        lp, ext, nll = ctx.lp, ctx.ext, ctx.nll
        t_max, n_batch, classes = lp.shape
        with np.errstate(all="ignore"):
            alpha, beta, _ = _forward_backward(lp, ext, ctx.skip, ctx.in_len, ctx.tgt_len,
                                               want_beta=True)
            # log of sum over the states s with label c of alpha_t(s) beta_t(s)
            lcab = np.full((t_max, n_batch, classes), _NEG_INF)
            t_idx, n_idx, _ = np.indices(alpha.shape)
            np.logaddexp.at(lcab, (t_idx, n_idx, np.broadcast_to(ext[None], alpha.shape)),
                            alpha + beta)
            res = np.exp(lp) - np.exp(lcab + nll[None, :, None] - lp)
        inside = np.arange(t_max)[:, None] < ctx.in_len[None, :]
        res = np.where(inside[:, :, None], res, 0.0)
        if ctx.zero_infinity:
            res = np.where(np.isinf(nll)[None, :, None], 0.0, res)
        g = grad._data.astype(np.float64).reshape(1, n_batch, 1)
        return wrap((res * g).astype(ctx.dtype))


def _lengths(value: Tensor | Sequence[int] | int, name: str, batch: int) -> np.ndarray:
    data = np.asarray(value._data if isinstance(value, Tensor) else value).reshape(-1)
    if data.dtype.kind not in "iu":
        raise RuntimeError(f"{name} must be integral")
    if data.size != batch:
        raise RuntimeError(f"{name} must be of size batch_size")
    return data.astype(np.int64)


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Tensor | Sequence[int],
             target_lengths: Tensor | Sequence[int], blank: int = 0, reduction: str = "mean",
             zero_infinity: bool = False) -> Tensor:
    """CTC loss of ``log_probs`` (T, N, C), or (T, C) unbatched, against ``targets``:
    (N, S) padded, or all targets concatenated in 1-D. ``reduction='mean'`` divides each
    loss by its target length before averaging over the batch; ``zero_infinity`` turns the
    infinite loss of an impossible alignment (input too short) into 0, with gradient 0."""
    check_tensors("ctc_loss", log_probs=log_probs, targets=targets)
    reduction = get_reduction(reduction)
    unbatched = log_probs.dim() == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if lp.dim() != 3:
        raise RuntimeError(f"ctc_loss: expected a 2-D or 3-D log_probs, got {log_probs.dim()}-D")
    t_max, batch, classes = lp.shape
    if not 0 <= blank < classes:
        raise RuntimeError("blank must be in label range")
    in_len = _lengths(input_lengths, "input_lengths", batch)
    tgt_len = _lengths(target_lengths, "target_lengths", batch)
    for il in in_len:
        if il > t_max or il < 0:
            raise RuntimeError(f"Expected input_lengths to have value at most {t_max}, but got "
                               f"value {il} (while checking arguments for ctc_loss_cpu)")
    labels = targets._data.astype(np.int64)
    if unbatched:
        labels = labels.reshape(1, -1) if labels.ndim == 1 else labels
    per_sample = []
    if labels.ndim == 2:  # padded (N, S); an unbatched 1-D target is one such row
        for n in range(batch):
            if tgt_len[n] > labels.shape[1]:
                raise RuntimeError(f"Expected tensor to have size at least {tgt_len[n]} at "
                                   f"dimension 1, but got size {labels.shape[1]} for argument "
                                   "#2 'targets' (while checking arguments for ctc_loss_cpu)")
            per_sample.append(labels[n, :tgt_len[n]])
    else:
        ends = np.cumsum(tgt_len)
        if labels.size < (ends[-1] if ends.size else 0):
            raise RuntimeError("Expected tensor to have size at least "
                               f"{int(ends[-1])} at dimension 0, but got size {labels.size}")
        per_sample = [labels[e - k:e] for e, k in zip(ends, tgt_len, strict=True)]
    loss = CTCLoss.apply(lp, targets=per_sample, in_len=in_len, tgt_len=tgt_len, blank=blank,
                         zero_infinity=zero_infinity)
    if reduction == "mean":
        lengths = wrap(np.maximum(tgt_len, 1).astype(loss._data.dtype))
        return (loss / lengths).mean()
    if reduction == "sum":
        return loss.sum()
    return loss.reshape(()) if unbatched else loss
