"""Every fused op against the composite of plain ops it equals (issue 10, "one op, one place").

A *fused* op is one tape entry with a hand-written backward, usually over a kernel: linear,
the softmax family, the losses, convolution, pooling, the norms, the LSTM/GRU steps, padding,
embedding, dropout, and the optimizer updates. Its docstring states the composite it equals;
here that composite is written out of plain, separately tested tapegrad ops (matmul, +, *,
exp, log, sum, amax, max, mean, indexing, slicing, cat/stack, reshape, where, ...) and both
are run in float64 on the same inputs. `fused_check.check` compares:

* the forward values (and shapes and dtypes);
* the gradients of every float input for a random cotangent, through the fused op's plain
  backward (no graph: usually the kernel) *and* through its recorded backward
  (``create_graph=True``: tensor ops or a backward op), which are separate code paths;
* the second-order gradients ``d<grads, v>/d inputs`` for a random ``v``, where the fused op
  supports double backward.

The optimizers are checked step by step against their update equations in
tests/optim/test_optimizer_composites.py.

torch is not needed: the plain ops are checked against torch in their own test modules.

Where a fused op follows a torch convention that no composite shares, the inputs stay clear
of it (each docstring says where): ``xlogy``'s derivative at x == 0, and
``binary_cross_entropy``'s gradient where ``x (1 - x) <= 1e-12``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from fused_check import check, close

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad.nn.functional.rnn import gru_cell, lstm_cell, rnn_forward

F64 = tg.float64


def randn(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


# ============================================================================ linear
def linear_composite(x, w, b=None):
    y = x @ w.t()
    return y if b is None else y + b


@pytest.mark.parametrize("x_shape, out, bias", [
    ((5, 3), 4, True), ((1, 3), 2, True), ((2, 3, 3), 4, False), ((3,), 4, True)])
def test_linear(rng, x_shape, out, bias):
    arrays = [randn(rng, *x_shape), randn(rng, out, x_shape[-1])]
    if bias:
        arrays.append(randn(rng, out))
    check(F.linear, linear_composite, *arrays)


# ============================================================================ softmax family
def _shifted(x, dim):
    """``x - max(x)`` along dim: the max is a constant shift (detached), only for stability."""
    return x - x.amax(dim, keepdim=True).detach()


def softmax_composite(x, dim):
    e = _shifted(x, dim).exp()
    return e / e.sum(dim, keepdim=True)


def log_softmax_composite(x, dim):
    s = _shifted(x, dim)
    return s - s.exp().sum(dim, keepdim=True).log()


def logsumexp_composite(x, dim, keepdim):
    dims = tuple(d % x.ndim for d in ((dim,) if isinstance(dim, int) else dim))
    m = x.amax(dims, keepdim=True).detach()
    out = m + (x - m).exp().sum(dims, keepdim=True).log()
    return out if keepdim else out.reshape([s for i, s in enumerate(x.shape) if i not in dims])


SOFTMAX_CASES = [((4, 5), 1), ((3, 4, 5), 0), ((1, 7), -1), ((2, 1, 3), 1), ((), 0)]


@pytest.mark.parametrize("shape, dim", SOFTMAX_CASES)
def test_softmax(rng, shape, dim):
    check(lambda x: tg.softmax(x, dim), lambda x: softmax_composite(x, dim), randn(rng, *shape))


@pytest.mark.parametrize("shape, dim", SOFTMAX_CASES)
def test_log_softmax(rng, shape, dim):
    check(lambda x: tg.log_softmax(x, dim), lambda x: log_softmax_composite(x, dim),
          randn(rng, *shape))


def test_softmax_of_large_logits(rng):
    """No overflow: the shift by the max is part of both definitions."""
    x = 300 * randn(rng, 3, 6)
    check(lambda x: F.softmax(x, 1), lambda x: softmax_composite(x, 1), x)
    check(lambda x: F.log_softmax(x, 1), lambda x: log_softmax_composite(x, 1), x)


@pytest.mark.parametrize("shape, dim, keepdim", [
    ((4, 5), 1, False), ((3, 4, 5), (0, 2), True), ((1, 6), -1, True), ((2, 3, 2), (2, 0),
                                                                        False)])
def test_logsumexp(rng, shape, dim, keepdim):
    check(lambda x: tg.logsumexp(x, dim, keepdim), lambda x: logsumexp_composite(x, dim, keepdim),
          randn(rng, *shape) * 10)


# ============================================================================ class-index losses
def _rows(x, class_dim):
    """(C,) -> (1, C); (N, C, d...) -> (N*d..., C): one row of class scores per sample."""
    if x.ndim == 1:
        return x.reshape(1, -1)
    return x.movedim(class_dim, -1).reshape(-1, x.shape[class_dim])


def _row_weights(t: np.ndarray, n_classes: int, weight: np.ndarray | None,
                 ignore_index: int) -> tuple[np.ndarray, np.ndarray]:
    """(the target of each row, 0 where ignored; each row's weight w[t], 0 where ignored)."""
    t = t.reshape(-1)
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    w = np.ones(n_classes) if weight is None else weight
    return safe, np.where(valid, w[safe], 0.0)


def _reduce(losses, reduction, total=None):
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    if isinstance(total, tg.Tensor):  # a weight total: 0 when every sample is ignored, and
        # then the mean is nan with a zero gradient (torch's), not 0/0's nan gradient
        safe = tg.where(total != 0, total, 1.0)
        return tg.where(total != 0, losses.sum() / safe, float("nan"))
    return losses.sum() / total


def nll_composite(logp, t, weight=None, ignore_index=-100, reduction="mean"):
    """``-w[t_n] logp[n, t_n]`` per sample (0 if ignored); 'mean' divides by sum of w[t_n]."""
    rows = _rows(logp, 1)
    safe, wt = _row_weights(t, rows.shape[1], weight, ignore_index)
    wt = tg.tensor(wt)
    losses = -(wt * rows[tg.arange(rows.shape[0]), tg.tensor(safe)])
    out_shape = () if logp.ndim == 1 else (logp.shape[0], *logp.shape[2:])
    return _reduce(losses.reshape(out_shape), reduction, wt.sum())


def cross_entropy_composite(x, t, weight=None, ignore_index=-100, reduction="mean",
                            label_smoothing=0.0):
    """torch's definition: nll of log_softmax, blended with the mean over classes of
    ``-w_c logp_c`` for label smoothing; for class-probability targets q,
    ``-sum_c w_c q_c logp_c`` with q smoothed towards uniform, 'mean' over samples."""
    class_dim = 0 if x.ndim == 1 else 1
    n_classes = x.shape[class_dim]
    logp = log_softmax_composite(x, class_dim)
    w = tg.tensor(np.ones(n_classes) if weight is None else weight)
    if t.dtype.kind == "f":  # class probabilities
        q = tg.tensor(t) * (1 - label_smoothing) + label_smoothing / n_classes
        per_sample = -(_rows(logp, class_dim) * _rows(q, class_dim) * w).sum(-1)
        per_sample = per_sample.reshape(() if x.ndim == 1 else (x.shape[0], *x.shape[2:]))
        return _reduce(per_sample, reduction, per_sample.numel())
    nll = nll_composite(logp, t, weight, ignore_index, reduction)
    if label_smoothing == 0:
        return nll
    _, wt = _row_weights(t, n_classes, weight, ignore_index)
    kept = tg.tensor((t.reshape(-1) != ignore_index).astype(np.float64))
    smooth = -(_rows(logp, class_dim) * w).sum(-1) * kept
    smooth = smooth.reshape(nll.shape if reduction == "none" else t.shape)
    smooth = _reduce(smooth, reduction, tg.tensor(wt).sum())
    return (1 - label_smoothing) * nll + smooth * (label_smoothing / n_classes)


def _targets(rng, x_shape, ignore_index, probabilities=False):
    n_classes = x_shape[0] if len(x_shape) == 1 else x_shape[1]
    t_shape = () if len(x_shape) == 1 else (x_shape[0], *x_shape[2:])
    if probabilities:
        q = rng.random(x_shape) + 0.1
        return q / q.sum(axis=0 if len(x_shape) == 1 else 1, keepdims=True)
    t = rng.integers(0, n_classes, t_shape)
    if ignore_index is not None and t.size > 1:
        t.reshape(-1)[::3] = ignore_index  # every third sample ignored
    return t


# (N, C): the fused log_softmax + nll op; (C,) too; (N, C, d...): nll_loss(log_softmax)
CE_SHAPES = [(6, 4), (1, 5), (5,), (2, 4, 3), (2, 3, 2, 2)]


@pytest.mark.parametrize("x_shape", CE_SHAPES)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weighted, ignore_index", [(False, -100), (True, -100), (True, 2),
                                                    (False, 1)])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_cross_entropy(rng, x_shape, reduction, weighted, ignore_index, label_smoothing):
    n_classes = x_shape[0] if len(x_shape) == 1 else x_shape[1]
    weight = rng.random(n_classes) + 0.5 if weighted else None
    t = _targets(rng, x_shape, ignore_index)
    opts = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)
    check(lambda x: F.cross_entropy(x, tg.tensor(t), None if weight is None else
                                    tg.tensor(weight), **opts),
          lambda x: cross_entropy_composite(x, t, weight, **opts), randn(rng, *x_shape) * 3)


@pytest.mark.parametrize("x_shape", [(3, 4), (4,), (2, 4, 3)])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_cross_entropy_with_every_target_ignored(rng, x_shape, reduction, label_smoothing):
    """'mean' of no samples: nan, with a zero gradient. (Second order is left out: there the
    0/0 of the weight total shows up as nan or 0 depending on the path, in torch too.)"""
    t = np.full(() if len(x_shape) == 1 else (x_shape[0], *x_shape[2:]), -100)
    opts = dict(reduction=reduction, label_smoothing=label_smoothing)
    check(lambda x: F.cross_entropy(x, tg.tensor(t), **opts),
          lambda x: cross_entropy_composite(x, t, **opts), randn(rng, *x_shape),
          second_order=False)


@pytest.mark.parametrize("x_shape", [(6, 4), (5,), (2, 4, 3)])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_with_class_probabilities(rng, x_shape, reduction, label_smoothing):
    n_classes = x_shape[0] if len(x_shape) == 1 else x_shape[1]
    weight = rng.random(n_classes) + 0.5
    q = _targets(rng, x_shape, None, probabilities=True)
    opts = dict(reduction=reduction, label_smoothing=label_smoothing)
    check(lambda x: F.cross_entropy(x, tg.tensor(q), tg.tensor(weight), **opts),
          lambda x: cross_entropy_composite(x, q, weight, **opts), randn(rng, *x_shape))


@pytest.mark.parametrize("x_shape", [(6, 4), (1, 3), (5,), (2, 4, 3), (2, 3, 2, 2)])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weighted, ignore_index", [(False, -100), (True, 1)])
def test_nll_loss(rng, x_shape, reduction, weighted, ignore_index):
    n_classes = x_shape[0] if len(x_shape) == 1 else x_shape[1]
    weight = rng.random(n_classes) + 0.5 if weighted else None
    t = _targets(rng, x_shape, ignore_index)
    opts = dict(ignore_index=ignore_index, reduction=reduction)
    check(lambda x: F.nll_loss(x, tg.tensor(t), None if weight is None else tg.tensor(weight),
                               **opts),
          lambda x: nll_composite(x, t, weight, **opts), randn(rng, *x_shape))


# ============================================================================ element-wise losses
def _pair_check(fused, composite, x, y, reduction):
    check(lambda x, y: fused(x, y, reduction), lambda x, y: _reduce(composite(x, y), reduction,
                                                                    x.numel()), x, y)


REDUCTIONS = ["none", "sum", "mean"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(3, 4), (1,), (2, 1, 3)])
def test_mse_loss(rng, reduction, shape):
    _pair_check(lambda x, y, r: F.mse_loss(x, y, reduction=r), lambda x, y: (x - y) ** 2,
                randn(rng, *shape), randn(rng, *shape), reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("beta", [1.0, 0.3])
def test_smooth_l1_loss(rng, reduction, beta):
    def composite(x, y):
        d = x - y
        return tg.where(d.abs() < beta, 0.5 * d * d / beta, d.abs() - 0.5 * beta)

    _pair_check(lambda x, y, r: F.smooth_l1_loss(x, y, reduction=r, beta=beta), composite,
                randn(rng, 4, 5), randn(rng, 4, 5), reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("delta", [1.0, 2.5])
def test_huber_loss(rng, reduction, delta):
    def composite(x, y):
        d = x - y
        return tg.where(d.abs() < delta, 0.5 * d * d, delta * (d.abs() - 0.5 * delta))

    _pair_check(lambda x, y, r: F.huber_loss(x, y, reduction=r, delta=delta), composite,
                2 * randn(rng, 4, 5), randn(rng, 4, 5), reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(rng, reduction, weighted):
    w = rng.random(5) + 0.5 if weighted else None
    x, y = 0.05 + 0.9 * rng.random((3, 5)), rng.random((3, 5))

    def composite(x, y):
        loss = -(y * x.log().clamp_min(-100) + (1 - y) * (1 - x).log().clamp_min(-100))
        return loss if w is None else loss * tg.tensor(w)

    _pair_check(lambda x, y, r: F.binary_cross_entropy(
        x, y, None if w is None else tg.tensor(w), reduction=r), composite, x, y, reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted, pos_weighted", [(False, False), (True, False), (True, True),
                                                    (False, True)])
def test_binary_cross_entropy_with_logits(rng, reduction, weighted, pos_weighted):
    w = rng.random(4) + 0.5 if weighted else None
    pw = rng.random(4) + 0.5 if pos_weighted else None
    x, y = 5 * randn(rng, 3, 4), rng.random((3, 4))

    def composite(x, y):
        log_sig = x.clamp_max(0) - (-x.abs()).exp().log1p()  # log sigmoid(x), stably
        p = 1 if pw is None else tg.tensor(pw)
        loss = (1 - y) * x - (1 + (p - 1) * y) * log_sig
        return loss if w is None else loss * tg.tensor(w)

    _pair_check(lambda x, y, r: F.binary_cross_entropy_with_logits(
        x, y, None if w is None else tg.tensor(w), reduction=r,
        pos_weight=None if pw is None else tg.tensor(pw)), composite, x, y, reduction)


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none"])
def test_kl_div(rng, reduction):
    """kl_div is built on the fused xlogy: ``y (log y - x)`` per element."""
    x, y = randn(rng, 3, 4), rng.random((3, 4)) + 0.05

    def composite(x, y):
        loss = y * (y.log() - x)
        return loss.sum() / 3 if reduction == "batchmean" else _reduce(loss, reduction)

    check(lambda x, y: F.kl_div(x, y, reduction=reduction), composite, x, y)


# ============================================================================ convolution
def _zero_pad(x, dim, lo, hi, value=0.0):
    """``x`` with ``lo``/``hi`` entries of ``value`` added at either end of ``dim`` (a cat)."""
    parts = []
    for n in (lo, hi):
        shape = list(x.shape)
        shape[dim] = n
        parts.append(tg.full(shape, value, dtype=x.dtype))
    return tg.cat([parts[0], x, parts[1]], dim)


def _taps(xp, kernel, stride, dilation, out_size):
    """Every kernel tap's view of the padded input: ``xp[..., i*d :: s, j*d :: s]`` cut to the
    output size, stacked on a new last dim in row-major tap order: (..., OH, OW, kh*kw)."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_size
    return tg.stack([xp[..., i * dh: i * dh + sh * (oh - 1) + 1: sh,
                        j * dw: j * dw + sw * (ow - 1) + 1: sw]
                     for i in range(kh) for j in range(kw)], -1)


def conv_composite(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """im2col by slicing (one strided slice per tap, stacked), then one matmul per group."""
    n = w.ndim - 2
    stride, dilation = ((s,) * n if isinstance(s, int) else s for s in (stride, dilation))
    if padding == "same":
        totals = [dilation[i] * (w.shape[2 + i] - 1) for i in range(n)]
        pads = [(t // 2, t - t // 2) for t in totals]
    else:
        pads = [(p, p) for p in ((padding,) * n if isinstance(padding, int) else padding)]
    unbatched = x.ndim == n + 1
    if unbatched:
        x = x.unsqueeze(0)
    if n == 1:  # a 1-d convolution is a 2-d one of height 1
        x, w = x.unsqueeze(2), w.unsqueeze(2)
        stride, dilation, pads = (1, *stride), (1, *dilation), [(0, 0), *pads]
    for i, (lo, hi) in enumerate(pads):
        x = _zero_pad(x, 2 + i, lo, hi)
    oc, cg, kh, kw = w.shape
    size = [(x.shape[2 + i] - dilation[i] * ((kh, kw)[i] - 1) - 1) // stride[i] + 1
            for i in range(2)]
    cols = _taps(x, (kh, kw), stride, dilation, size)  # (N, C, OH, OW, K)
    cols = cols.permute(0, 1, 4, 2, 3).reshape(x.shape[0], groups, cg * kh * kw, size[0] * size[1])
    out = (w.reshape(groups, oc // groups, cg * kh * kw) @ cols).reshape(x.shape[0], oc, *size)
    if b is not None:
        out = out + b.reshape(1, oc, 1, 1)
    if n == 1:
        out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


CONV2D_CASES = [  # x shape, w shape, bias, options
    ((2, 3, 5, 6), (4, 3, 3, 3), True, {}),
    ((1, 2, 7, 6), (3, 2, 2, 3), True, dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2))),
    ((2, 4, 5, 5), (6, 2, 3, 1), False, dict(stride=2, padding=1, groups=2)),
    ((3, 5, 5), (2, 3, 2, 2), True, dict(padding="same")),
    ((1, 2, 6, 5), (2, 2, 3, 3), True, dict(padding="same", dilation=2)),
]
CONV1D_CASES = [
    ((2, 3, 8), (4, 3, 3), True, dict(stride=2, padding=1, dilation=2)),
    ((1, 2, 5), (2, 2, 2), False, dict(padding="same")),
    ((3, 7), (6, 1, 3), True, dict(groups=3, padding=2)),
]


@pytest.mark.parametrize("x_shape, w_shape, bias, options", CONV2D_CASES + CONV1D_CASES)
def test_conv(rng, x_shape, w_shape, bias, options):
    conv = F.conv2d if len(w_shape) == 4 else F.conv1d
    arrays = [randn(rng, *x_shape), randn(rng, *w_shape)] + ([randn(rng, w_shape[0])] * bias)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 'same' with an even kernel warns about the copy
        # the backward is made of the three bilinear conv Functions: second order too
        check(lambda *a: conv(*a, **options), lambda *a: conv_composite(*a, **options), *arrays)


# ============================================================================ pooling
def _pool_input(x, kernel, stride, padding, dilation, out_size, value):
    """Pad (by cat) so that every window lies inside: ``padding`` on the left, and on the right
    enough for the last window (more than ``padding`` with ceil_mode)."""
    for i in range(2):
        dim = x.ndim - 2 + i
        reach = (out_size[i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1
        x = _zero_pad(x, dim, padding[i], max(0, reach - x.shape[dim] - padding[i]), value)
    return x


def max_pool_composite(x, kernel, stride, padding, dilation, out_size):
    """Pad with -inf, stack the taps, max over them (the first maximum in row-major order)."""
    xp = _pool_input(x, kernel, stride, padding, dilation, out_size, float("-inf"))
    return _taps(xp, kernel, stride, dilation, out_size).max(-1).values


def avg_pool_composite(x, kernel, stride, padding, out_size, count_include_pad,
                       divisor_override):
    """Pad with 0, sum the taps, divide by torch's divisor: the override, or the number of
    window cells inside the input (and inside the padding with ``count_include_pad``)."""
    one = (1, 1)
    sums = _taps(_pool_input(x, kernel, stride, padding, one, out_size, 0.0), kernel, stride,
                 one, out_size).sum(-1)
    if divisor_override:
        return sums / divisor_override
    h, w = x.shape[-2:]
    if count_include_pad:  # ones over the input and its padding, zeros beyond (ceil_mode)
        counted = _pool_input(tg.ones(h + 2 * padding[0], w + 2 * padding[1], dtype=x.dtype),
                              kernel, stride, (0, 0), one, out_size, 0.0)
    else:  # ones over the input only
        counted = _pool_input(tg.ones(h, w, dtype=x.dtype), kernel, stride, padding, one,
                              out_size, 0.0)
    return sums / _taps(counted, kernel, stride, one, out_size).sum(-1)


def _out(size, k, s, p, d, ceil):
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    return out - 1 if ceil and (out - 1) * s >= size + p else out


def _geometry(x_shape, kernel, stride, padding, dilation, ceil):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    k, p, d = two(kernel), two(padding), two(dilation)
    s = k if stride is None else two(stride)
    size = tuple(_out(x_shape[-2 + i], k[i], s[i], p[i], d[i], ceil) for i in range(2))
    return k, s, p, d, size


MAX_POOL_CASES = [  # x shape, kernel, stride, padding, dilation, ceil_mode
    ((2, 3, 7, 6), 3, 2, 1, 1, False),
    ((1, 2, 6, 7), (2, 3), (1, 2), (1, 0), (2, 1), True),
    ((3, 5, 5), 2, None, 0, 1, False),
    ((2, 2, 5, 5), 3, 2, 1, 1, True),
]


@pytest.mark.parametrize("x_shape, kernel, stride, padding, dilation, ceil", MAX_POOL_CASES)
def test_max_pool2d(rng, x_shape, kernel, stride, padding, dilation, ceil):
    geo = _geometry(x_shape, kernel, stride, padding, dilation, ceil)
    check(lambda x: F.max_pool2d(x, kernel, stride, padding, dilation, ceil),
          lambda x: max_pool_composite(x, *geo), randn(rng, *x_shape))


def test_max_pool2d_ties_go_to_the_first_maximum(rng):
    """Small integers: many ties, and overlapping windows that share a winner."""
    x = rng.integers(0, 3, (2, 2, 5, 6)).astype(np.float64)
    geo = _geometry(x.shape, 3, 1, 1, 1, False)
    check(lambda x: F.max_pool2d(x, 3, 1, 1), lambda x: max_pool_composite(x, *geo), x)


def test_max_pool1d(rng):
    geo = _geometry((2, 3, 1, 9), (1, 3), (1, 2), (0, 1), (1, 2), True)
    check(lambda x: F.max_pool1d(x, 3, 2, 1, 2, ceil_mode=True),
          lambda x: max_pool_composite(x.unsqueeze(-2), *geo).squeeze(-2), randn(rng, 2, 3, 9))


AVG_POOL_CASES = [  # x shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor
    ((2, 3, 7, 6), 3, 2, 1, False, True, None),
    ((2, 3, 7, 6), 3, 2, 1, True, False, None),
    ((1, 2, 6, 7), (2, 3), (2, 2), (1, 1), True, True, None),
    ((3, 5, 5), 2, None, 0, False, True, None),
    ((2, 2, 5, 4), (3, 2), 1, (1, 0), False, True, 5),
]


@pytest.mark.parametrize("x_shape, kernel, stride, padding, ceil, cip, divisor", AVG_POOL_CASES)
def test_avg_pool2d(rng, x_shape, kernel, stride, padding, ceil, cip, divisor):
    k, s, p, _, size = _geometry(x_shape, kernel, stride, padding, 1, ceil)
    check(lambda x: F.avg_pool2d(x, kernel, stride, padding, ceil, cip, divisor),
          lambda x: avg_pool_composite(x, k, s, p, size, cip, divisor), randn(rng, *x_shape))


def test_avg_pool1d(rng):
    k, s, p, _, size = _geometry((2, 3, 1, 8), (1, 3), (1, 2), (0, 1), 1, True)
    check(lambda x: F.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
          lambda x: avg_pool_composite(x.unsqueeze(-2), k, s, p, size, False, None).squeeze(-2),
          randn(rng, 2, 3, 8))


def adaptive_composite(x, output_size, reduce):
    """Output (i, j) reduces the window ``[floor(i*H/OH), ceil((i+1)*H/OH))`` (and for j)."""
    h, w = x.shape[-2:]
    oh, ow = (h if output_size[0] is None else output_size[0],
              w if output_size[1] is None else output_size[1])
    lead = tuple(x.shape[:-2])
    rows = []
    for i in range(oh):
        h0, h1 = i * h // oh, -(-(i + 1) * h // oh)
        cells = []
        for j in range(ow):
            win = x[..., h0:h1, (j * w) // ow: -(-(j + 1) * w // ow)]
            cells.append(win.mean((-2, -1)) if reduce == "avg"
                         else win.reshape(*lead, -1).max(-1).values)
        rows.append(tg.stack(cells, -1))
    return tg.stack(rows, -2)


@pytest.mark.parametrize("x_shape, output_size", [
    ((2, 3, 7, 5), (3, 2)), ((3, 5, 7), (4, None)), ((1, 2, 4, 6), (1, 1)),
    ((2, 1, 5, 5), (5, 3))])
@pytest.mark.parametrize("reduce", ["avg", "max"])
def test_adaptive_pool2d(rng, x_shape, output_size, reduce):
    fused = F.adaptive_avg_pool2d if reduce == "avg" else F.adaptive_max_pool2d
    check(lambda x: fused(x, output_size), lambda x: adaptive_composite(x, output_size, reduce),
          randn(rng, *x_shape))


@pytest.mark.parametrize("reduce", ["avg", "max"])
def test_adaptive_pool1d(rng, reduce):
    fused = F.adaptive_avg_pool1d if reduce == "avg" else F.adaptive_max_pool1d
    check(lambda x: fused(x, 4),
          lambda x: adaptive_composite(x.unsqueeze(-2), (1, 4), reduce).squeeze(-2),
          randn(rng, 2, 3, 7))


# ============================================================================ normalisation
def _channel_shape(x):
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def batch_norm_composite(x, mean, var, w, b, eps):
    shape = _channel_shape(x)
    y = (x - mean) / (var + eps).sqrt()
    if w is not None:
        y = y * w.reshape(shape)
    return y if b is None else y + b.reshape(shape)


def _batch_stats(x):
    dims = (0,) + tuple(range(2, x.ndim))
    mean = x.mean(dims, keepdim=True)
    return mean, ((x - mean) ** 2).mean(dims, keepdim=True)


@pytest.mark.parametrize("x_shape", [(4, 3), (2, 3, 5), (2, 3, 2, 3), (1, 3, 4)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training(rng, x_shape, affine):
    """Batch statistics (biased variance); the running buffers get ``(1 - m) r + m stat``
    with the *unbiased* variance."""
    c, eps, momentum = x_shape[1], 1e-3, 0.3
    rm0, rv0 = randn(rng, c), rng.random(c) + 0.5
    arrays = [randn(rng, *x_shape) * 2 + 1] + ([randn(rng, c), randn(rng, c)] if affine else [])
    running = {}

    def fused(x, w=None, b=None):  # fresh buffers each call: check runs it several times
        running["mean"], running["var"] = tg.tensor(rm0), tg.tensor(rv0)
        return F.batch_norm(x, running["mean"], running["var"], w, b, training=True,
                            momentum=momentum, eps=eps)

    def composite(x, w=None, b=None):
        return batch_norm_composite(x, *_batch_stats(x), w, b, eps)

    check(fused, composite, *arrays)
    x = tg.tensor(arrays[0])
    mean, var = _batch_stats(x)
    n = x.numel() // c
    close(running["mean"], (1 - momentum) * tg.tensor(rm0) + momentum * mean.reshape(c),
           "running_mean")
    close(running["var"],
           (1 - momentum) * tg.tensor(rv0) + momentum * var.reshape(c) * n / (n - 1),
           "running_var")


@pytest.mark.parametrize("x_shape", [(4, 3), (2, 3, 5), (1, 3, 2, 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_eval(rng, x_shape, affine):
    c = x_shape[1]
    rm, rv = randn(rng, c), rng.random(c) + 0.5
    arrays = [randn(rng, *x_shape)] + ([randn(rng, c), randn(rng, c)] if affine else [])
    shape = (1, c) + (1,) * (len(x_shape) - 2)
    check(lambda x, w=None, b=None: F.batch_norm(x, tg.tensor(rm), tg.tensor(rv), w, b,
                                                 training=False, eps=1e-4),
          lambda x, w=None, b=None: batch_norm_composite(
              x, tg.tensor(rm).reshape(shape), tg.tensor(rv).reshape(shape), w, b, 1e-4),
          *arrays)


def layer_norm_composite(x, normalized_shape, w=None, b=None, eps=1e-5):
    dims = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    mean = x.mean(dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dims, keepdim=True)
    y = (x - mean) / (var + eps).sqrt()
    if w is not None:
        y = y * w
    return y if b is None else y + b


@pytest.mark.parametrize("x_shape, normalized_shape", [
    ((4, 5), (5,)), ((2, 3, 4), (3, 4)), ((1, 6), (6,)), ((3,), (3,)), ((2, 2, 3), (3,))])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm(rng, x_shape, normalized_shape, affine):
    arrays = [randn(rng, *x_shape) * 3 - 1]
    if affine:
        arrays += [randn(rng, *normalized_shape), randn(rng, *normalized_shape)]
    check(lambda x, w=None, b=None: F.layer_norm(x, normalized_shape, w, b, eps=1e-4),
          lambda x, w=None, b=None: layer_norm_composite(x, normalized_shape, w, b, eps=1e-4),
          *arrays)


# ============================================================================ LSTM / GRU steps
def lstm_cell_composite(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    """gates = x W_ih^T + b_ih + h W_hh^T + b_hh, packed (i, f, g, o);
    c' = sigmoid(f) c + sigmoid(i) tanh(g);  h' = sigmoid(o) tanh(c')."""
    gates = linear_composite(x, w_ih, b_ih) + linear_composite(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, -1)
    c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c_new.tanh(), c_new


def gru_cell_composite(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """gi = x W_ih^T + b_ih, gh = h W_hh^T + b_hh, packed (r, z, n);
    r, z = sigmoid(gi + gh);  n = tanh(gi_n + r gh_n);  h' = (1 - z) n + z h."""
    gi, gh = linear_composite(x, w_ih, b_ih), linear_composite(h, w_hh, b_hh)
    ir, iz, i_n = gi.chunk(3, -1)
    hr, hz, h_n = gh.chunk(3, -1)
    r, z = (ir + hr).sigmoid(), (iz + hz).sigmoid()
    n = (i_n + r * h_n).tanh()
    return (1 - z) * n + z * h


@pytest.mark.parametrize("batch, n_in, hidden, bias", [(3, 5, 4, True), (1, 2, 3, True),
                                                       (2, 3, 2, False)])
def test_lstm_cell(rng, batch, n_in, hidden, bias):
    arrays = [randn(rng, batch, n_in), randn(rng, batch, hidden), randn(rng, batch, hidden),
              randn(rng, 4 * hidden, n_in), randn(rng, 4 * hidden, hidden)]
    if bias:
        arrays += [randn(rng, 4 * hidden), randn(rng, 4 * hidden)]

    def fused(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
        return lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)

    check(fused, lstm_cell_composite, *arrays)


@pytest.mark.parametrize("batch, n_in, hidden, bias", [(3, 5, 4, True), (1, 2, 3, True),
                                                       (2, 3, 2, False)])
def test_gru_cell(rng, batch, n_in, hidden, bias):
    arrays = [randn(rng, batch, n_in), randn(rng, batch, hidden),
              randn(rng, 3 * hidden, n_in), randn(rng, 3 * hidden, hidden)]
    if bias:
        arrays += [randn(rng, 3 * hidden), randn(rng, 3 * hidden)]
    check(lambda x, h, *w: gru_cell(x, h, *w), gru_cell_composite, *arrays)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_recurrence_over_a_sequence(rng, mode):
    """Three steps each way (bidirectional): W_hh's gradient sums every step's share."""
    steps, batch, n_in, hidden = 3, 2, 3, 2
    gates = 4 if mode == "LSTM" else 3
    shapes = [(gates * hidden, n_in), (gates * hidden, hidden), (gates * hidden,),
              (gates * hidden,)] * 2
    arrays = [randn(rng, steps, batch, n_in), randn(rng, 2, batch, hidden),
              randn(rng, 2, batch, hidden)] + [randn(rng, *s) for s in shapes]

    def fused(x, h0, c0, *w):
        weights = [[*w[:4], None], [*w[4:], None]]
        out, h, c = rnn_forward(mode, x, h0, c0 if mode == "LSTM" else None, weights, 1, 0.0,
                                False, True)
        return (out, h, c) if mode == "LSTM" else (out, h)

    def composite(x, h0, c0, *w):
        outs, hs, cs = [], [], []
        for d, order in ((0, range(steps)), (1, range(steps - 1, -1, -1))):
            h, c, ys = h0[d], c0[d], [None] * steps
            for t in order:
                if mode == "LSTM":
                    h, c = lstm_cell_composite(x[t], h, c, *w[4 * d: 4 * d + 4])
                else:
                    h = gru_cell_composite(x[t], h, *w[4 * d: 4 * d + 4])
                ys[t] = h
            outs.append(tg.stack(ys, 0))
            hs.append(h)
            cs.append(c)
        out, h = tg.cat(outs, 2), tg.stack(hs, 0)
        return (out, h, tg.stack(cs, 0)) if mode == "LSTM" else (out, h)

    if mode == "GRU":  # c0 is unused: drop it from the inputs
        check(lambda x, h0, *w: fused(x, h0, None, *w),
              lambda x, h0, *w: composite(x, h0, h0, *w), *arrays[:2], *arrays[3:])
    else:
        check(fused, composite, *arrays)


def test_lstm_layer_with_projection(rng):
    """proj_size: each step's h is projected by W_hr before it is output and fed back;
    both directions, and W_hr's gradient sums every step's share."""
    steps, batch, n_in, hidden, out = 3, 2, 3, 4, 2
    shapes = [(4 * hidden, n_in), (4 * hidden, out), (4 * hidden,), (4 * hidden,),
              (out, hidden)] * 2
    arrays = [randn(rng, steps, batch, n_in), randn(rng, 2, batch, out),
              randn(rng, 2, batch, hidden)] + [randn(rng, *s) for s in shapes]

    def fused(x, h0, c0, *w):
        return rnn_forward("LSTM", x, h0, c0, [list(w[:5]), list(w[5:])], 1, 0.0, False, True)

    def composite(x, h0, c0, *w):
        outs, hs, cs = [], [], []
        for d, order in ((0, range(steps)), (1, range(steps - 1, -1, -1))):
            w_ih, w_hh, b_ih, b_hh, w_hr = w[5 * d: 5 * d + 5]
            h, c, ys = h0[d], c0[d], [None] * steps
            for t in order:
                h, c = lstm_cell_composite(x[t], h, c, w_ih, w_hh, b_ih, b_hh)
                h = h @ w_hr.t()
                ys[t] = h
            outs.append(tg.stack(ys, 0))
            hs.append(h)
            cs.append(c)
        return tg.cat(outs, 2), tg.stack(hs, 0), tg.stack(cs, 0)

    check(fused, composite, *arrays)


# ============================================================================ embedding, dropout
@pytest.mark.parametrize("indices, padding_idx", [
    (np.array([[0, 2, 2], [4, 1, 0]]), None), (np.array([1, 3, 1, 0]), 1), (np.array([3]), -2)])
def test_embedding(rng, indices, padding_idx):
    """``weight[indices]``; the padding row's gradient is held at zero."""
    pad = None if padding_idx is None else padding_idx % 5

    def composite(w):
        rows = w[tg.tensor(indices)]
        if pad is None:
            return rows
        return tg.where(tg.tensor(indices == pad)[..., None], rows.detach(), rows)

    check(lambda w: F.embedding(tg.tensor(indices), w, padding_idx), composite, randn(rng, 5, 3))


@pytest.mark.parametrize("p", [0.3, 0.75])
def test_dropout(rng, p):
    """``x * (u >= p) / (1 - p)`` with ``u`` the same uniform draws (same seed)."""
    def fused(x):
        tg.manual_seed(7)
        return F.dropout(x, p)

    def composite(x):
        tg.manual_seed(7)
        keep = tg.rand(*x.shape, dtype=F64) >= p
        return x * keep.to(F64) * (1 / (1 - p))

    check(fused, composite, randn(rng, 4, 6))


# ============================================================================ padding
def _pad_dim(x, dim, lo, hi, mode, value):
    n = x.shape[dim]
    if mode == "constant":
        x = x.narrow(dim, max(-lo, 0), n - max(-lo, 0) - max(-hi, 0))
        return _zero_pad(x, dim, max(lo, 0), max(hi, 0), value)
    if mode == "reflect":
        left, right = x.narrow(dim, 1, lo).flip(dim), x.narrow(dim, n - 1 - hi, hi).flip(dim)
    elif mode == "replicate":
        shape = list(x.shape)
        left = x.narrow(dim, 0, 1).expand(*shape[:dim], lo, *shape[dim + 1:])
        right = x.narrow(dim, n - 1, 1).expand(*shape[:dim], hi, *shape[dim + 1:])
    else:  # circular
        left, right = x.narrow(dim, n - lo, lo), x.narrow(dim, 0, hi)
    return tg.cat([left, x, right], dim)


def pad_composite(x, pad, mode="constant", value=0.0):
    """Dim by dim from the last: cat of edge slices (flipped for reflect, the edge repeated for
    replicate, the far end for circular) or of constants; negative widths narrow."""
    for i in range(len(pad) // 2):
        x = _pad_dim(x, x.ndim - 1 - i, pad[2 * i], pad[2 * i + 1], mode, value)
    return x


@pytest.mark.parametrize("x_shape, pad, mode, value", [
    ((2, 3, 5), (1, 2), "constant", 0.0),
    ((2, 4, 5), (2, 0, 1, 3), "constant", 2.5),
    ((1, 4, 5), (1, -2, -1, 2), "constant", 0.0),
    ((2, 3, 5), (2, 3), "reflect", None),
    ((1, 2, 4, 5), (3, 1, 2, 2), "reflect", None),
    ((2, 3, 4), (2, 1), "replicate", None),
    ((2, 3, 4, 3), (1, 2, 3, 0), "replicate", None),
    ((2, 3, 4), (2, 3), "circular", None),
    ((1, 2, 4, 3), (1, 2, 3, 1), "circular", None),
    ((1, 1, 3, 4, 3), (1, 1, 2, 0, 1, 2), "replicate", None),
])
def test_pad(rng, x_shape, pad, mode, value):
    check(lambda x: F.pad(x, pad, mode, value),
          lambda x: pad_composite(x, pad, mode, 0.0 if value is None else value),
          randn(rng, *x_shape))


# ============================================================================ regressions
def test_layer_norm_of_one_sample_differentiable_backward(rng):
    """Found by the composite check: with the input exactly ``normalized_shape`` (no sample
    dims) the recorded backward summed weight's and bias's gradients over *every* dim
    (``sum(())`` reduces all) and returned 0-d gradients. torch as the oracle."""
    import torch

    arrays = [randn(rng, 3, 4), randn(rng, 3, 4), randn(rng, 3, 4)]
    ours = [tg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y_ours = F.layer_norm(ours[0], (3, 4), ours[1], ours[2])
    y_theirs = torch.nn.functional.layer_norm(theirs[0], (3, 4), theirs[1], theirs[2])
    g_ours = tg.autograd.grad((y_ours * y_ours).sum(), ours, create_graph=True)
    g_theirs = torch.autograd.grad((y_theirs * y_theirs).sum(), theirs, create_graph=True)
    for got, want in zip(g_ours, g_theirs, strict=True):
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)


def test_grid_sample_nearest_zero_gradient(rng):
    """Nearest sampling's grid gradient: the values pass, the grid gets exactly 0, as from
    ``values + 0 * grid.detach().sum()`` (the grid in the graph, contributing nothing)."""
    from tapegrad.nn.functional.sampling import _ZeroGradient

    v, g = (tg.tensor(randn(rng, *s), requires_grad=True) for s in ((2, 3), (4, 2)))
    out = _ZeroGradient.apply(v, g)
    want = v + 0 * g.detach().sum()
    close(out, want, "value")
    cot = tg.tensor(randn(rng, 2, 3))
    gv, gg = tg.autograd.grad(out, [v, g], cot)
    (wv,) = tg.autograd.grad(want, [v], cot)
    close(gv, wv, "grad of values")
    assert gg.shape == g.shape and not np.any(gg.numpy())


# ============================================================================ the statements
def _fused_classes() -> list[type]:
    """Every Function subclass defined in nn.functional, the softmax ops, Logsumexp, and the
    optimizers with fused update kernels."""
    import importlib
    import inspect
    import pkgutil

    from tapegrad.autograd.function import Function

    names = [m.name for m in pkgutil.walk_packages(F.__path__, prefix="tapegrad.nn.functional.")]
    found: list[type] = [tg.ops.reduction.sums.Logsumexp, tg.optim.SGD, tg.optim.Adam,
                         tg.optim.AdamW, tg.optim.RMSprop, tg.optim.Adagrad]
    for name in [*names, "tapegrad.ops.softmax"]:
        module = importlib.import_module(name)
        found += [c for _, c in inspect.getmembers(module, inspect.isclass)
                  if issubclass(c, Function) and c is not Function and c.__module__ == name]
    found += [c for c in F.padding._GATHERS.values()] + [
        c._scatter for c in F.padding._GATHERS.values()]
    return sorted(set(found), key=lambda c: (c.__module__, c.__qualname__))


def test_every_fused_op_states_its_composite():
    """Each fused op's docstring says what it equals and where that is checked, so a learner
    reading the kernel knows the plain-op program it must agree with."""
    import inspect

    classes = _fused_classes()
    assert len(classes) >= 30, [c.__qualname__ for c in classes]
    missing = []
    for c in classes:
        doc = inspect.getdoc(c) or ""
        where = ("tests/optim/test_optimizer_composites.py" if issubclass(c, tg.optim.Optimizer)
                 else "tests/ops/test_fused_composites.py")
        if "Equals" not in doc or where not in doc:
            missing.append(f"{c.__module__}.{c.__qualname__}")
    assert not missing, missing


# ============================================================================ CTC loss
def ctc_composite(lp, targets, in_len, tgt_len, reduction):
    """The forward variable in probability space (short inputs, no underflow):
    ``alpha_t = (alpha + alpha shifted by 1 + [skip] alpha shifted by 2) * y_t(l')``, loss
    ``-log(alpha_T(2L) + alpha_T(2L - 1))``; plus torch's convention that the gradient of
    each used step also carries ``exp(log_probs)`` (a term that is 0 in value)."""
    losses = []
    for n in range(lp.shape[1]):
        labels = targets[n, :tgt_len[n]]
        ext = np.zeros(2 * len(labels) + 1, dtype=np.int64)
        ext[1::2] = labels
        skip = np.zeros(len(ext), dtype=bool)
        skip[2:] = (ext[2:] != 0) & (ext[2:] != ext[:-2])
        y = lp[:in_len[n], n].exp()[:, tg.tensor(ext)]  # (T_n, S)
        start = np.zeros(len(ext))
        start[:2] = 1
        alpha = y[0] * tg.tensor(start)
        zero = tg.zeros(2, dtype=F64)
        for t in range(1, in_len[n]):
            one = tg.cat([zero[:1], alpha])[:len(ext)]
            two = tg.cat([zero, alpha])[:len(ext)] * tg.tensor(skip.astype(np.float64))
            alpha = (alpha + one + two) * y[t]
        nll = -(alpha[-1] + alpha[-2]).log() if len(labels) else -alpha[-1].log()
        used = lp[:in_len[n], n].exp().sum()
        losses.append(nll + used - used.detach())
    loss = tg.stack(losses)
    if reduction == "mean":
        return (loss / tg.tensor(np.maximum(tgt_len, 1).astype(np.float64))).mean()
    return loss.sum() if reduction == "sum" else loss


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_ctc_loss(rng, reduction):
    """The forward-backward algorithm's loss and gradient against the forward recursion
    differentiated by the tape (its backward has no graph: first order only)."""
    logits = randn(rng, 7, 3, 4)
    lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    targets = np.array([[1, 1, 2], [3, 1, 0], [2, 0, 0]])
    in_len, tgt_len = np.array([7, 6, 4]), np.array([3, 2, 0])
    check(lambda x: F.ctc_loss(x, tg.tensor(targets), tg.tensor(in_len), tg.tensor(tgt_len),
                               reduction=reduction),
          lambda x: ctc_composite(x, targets, in_len, tgt_len, reduction), lp,
          second_order=False)
