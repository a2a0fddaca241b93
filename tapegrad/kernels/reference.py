"""Reference kernels: plain NumPy, written to be read.

Every function here is the *definition* of a kernel: `tapegrad.kernels.cpu` must agree with it
(the tests check that), and it runs as the active backend when ``TAPEGRAD_JIT=0``. How closely:
the two differ only in the order of additions. The softmax family here sums in float64 and
rounds once to the array's dtype, as the numba row kernels do, so ``TAPEGRAD_JIT=0`` and numba
agree to ``8 * 2**-52 * max(1, max|result|)`` in float32 and float64 alike (float32 results are
identical but for rare rounding ties). The other kernels' tolerances are stated in
tests/kernels/test_kernels.py (float64: rtol 1e-12; float32: 1e-5, where a sum's order differs).

Conventions shared by both backends:

* inputs and outputs are NumPy arrays; the output has the dtype of the floating-point input;
* inputs are never modified, except by functions whose name ends in ``_`` (they work in place
  and return the array they changed, like ``torch.Tensor.add_``);
* ``axis`` is one int and may be negative; a 0-d array is treated as a length-1 vector along
  axis 0 (or -1), as torch does.

The numerically delicate kernels (sigmoid, softmax, logsumexp) use the textbook tricks that keep
``exp`` from overflowing; their docstrings show the algebra.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

__all__ = [
    "axpy_",
    "erf",
    "log_softmax",
    "log_softmax_backward",
    "log_softmax_nll",
    "log_softmax_nll_backward",
    "logsumexp",
    "relu",
    "scale_",
    "sigmoid",
    "sigmoid_backward",
    "softmax",
    "softmax_backward",
    "sum_to_shape",
    "tanh_backward",
    "threshold_backward",
]


def sum_to_shape(x: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Sum a broadcast array back down to ``shape`` (torch's ``sum_to_size``).

    Broadcasting copies a value along new leading axes and along axes of length 1. In backward
    every copy received its own gradient, so the gradient of the original value is the *sum*
    over the copies: sum away the extra leading axes, and sum (keeping the axis) wherever
    ``shape`` has 1 and ``x`` does not. Example: a bias of shape (128,) added to a (256, 128)
    batch gets ``grad.sum(axis=0)``.

    Always returns a fresh array of exactly ``shape`` (never a view of ``x``).
    """
    shape = tuple(shape)
    if x.shape == shape:
        return x.copy()
    lead = x.ndim - len(shape)
    if lead < 0 or any(s != 1 and s != d for s, d in zip(shape, x.shape[lead:], strict=True)):
        raise ValueError(f"size {list(shape)} is not expandable to size {list(x.shape)}")
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1
    )
    # keepdims keeps the result an ndarray (not a NumPy scalar) even when every axis is summed.
    return x.sum(axis=axes, keepdims=True).reshape(shape)


def relu(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)`` elementwise. NaN stays NaN (``np.maximum`` propagates it, like torch)."""
    return np.maximum(x, x.dtype.type(0))


def threshold_backward(grad: np.ndarray, x: np.ndarray, threshold: float) -> np.ndarray:
    """Gradient of ``relu``-like thresholds: ``grad`` where ``x > threshold``, else 0.

    At ``x == threshold`` the gradient is 0 (the convention torch uses for relu'(0)). Written as
    "zero where ``x <= threshold``" so that a NaN input lets the gradient through, as torch's
    ``threshold_backward`` does. ``threshold`` is compared in the dtype of ``grad``.
    """
    t = grad.dtype.type(threshold)
    return np.where(x.astype(grad.dtype, copy=False) <= t, grad.dtype.type(0), grad)


_erf_ufunc = np.frompyfunc(math.erf, 1, 1)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, from the C library's ``erf`` (numpy has none), exact to the
    last bit as torch's (which calls the same libm); ~0.1 us per element."""
    return np.asarray(_erf_ufunc(x), dtype=x.dtype)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))`` without overflow.

    ``exp(-x)`` overflows for x < -88 (float32). With ``e = exp(-|x|)``, which lies in (0, 1]:

    * x >= 0: ``sigmoid(x) = 1 / (1 + e)``
    * x <  0: ``sigmoid(x) = exp(x) / (1 + exp(x)) = e / (1 + e)``

    so no exponential ever exceeds 1 and no warning is raised for any input.
    """
    e = np.exp(-np.abs(x))
    one = x.dtype.type(1)
    return np.where(x >= 0, one, e) / (one + e)


def sigmoid_backward(grad: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``grad * y * (1 - y)``: d sigmoid/dx written with the saved *output* ``y = sigmoid(x)``."""
    return grad * y * (y.dtype.type(1) - y)


def tanh_backward(grad: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``grad * (1 - y*y)``: d tanh/dx written with the saved *output* ``y = tanh(x)``."""
    return grad * (y.dtype.type(1) - y * y)


def _as_vector(x: np.ndarray, axis: int) -> tuple[np.ndarray, int]:
    """A 0-d array is a length-1 vector along axis 0 (torch accepts dim 0 or -1 for scalars)."""
    if x.ndim == 0:
        normalize_axis_index(axis, 1)
        return x.reshape(1), 0
    return x, normalize_axis_index(axis, x.ndim)


def _row_max(x: np.ndarray, axis: int) -> np.ndarray:
    """Max along ``axis`` (keepdims); an empty slice gives -inf; NaN propagates."""
    return np.max(x, axis=axis, keepdims=True, initial=-np.inf)


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """``exp(x) / sum(exp(x))`` along ``axis``, stabilised by subtracting the max.

    Softmax is unchanged by adding a constant to every entry of a slice, so with ``m = max(x)``
    we compute ``exp(x - m)``: every exponent is <= 0, nothing overflows, and the largest term
    is exactly 1 so the sum is >= 1. A slice that is all -inf (or holds +inf or NaN) gives NaN,
    like torch.
    """
    v, ax = _as_vector(x, axis)
    with np.errstate(invalid="ignore", divide="ignore"):  # all -inf slice: NaN, as in torch
        e = np.exp(v - _row_max(v, ax))
        # the numba kernel's order, so both backends agree to the last bit (almost always):
        # the sum in float64, then ONE division 1/sum rounded to x's dtype, then a multiply
        inv = (1.0 / e.sum(axis=ax, keepdims=True, dtype=np.float64)).astype(e.dtype)
    return (e * inv).reshape(x.shape)


def log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """``x - logsumexp(x)`` along ``axis``, computed on the max-shifted values.

    With ``s = x - max(x)``: ``log_softmax(x) = s - log(sum(exp(s)))``. The sum is >= 1, so
    the log never sees 0 and ``-inf`` entries stay ``-inf`` (their probability is 0).
    """
    v, ax = _as_vector(x, axis)
    with np.errstate(invalid="ignore", divide="ignore"):  # log(0) only for empty slices
        s = v - _row_max(v, ax)
        # as the numba kernel: the sum and its log in float64, rounded once to x's dtype
        out = s - np.log(np.exp(s).sum(axis=ax, keepdims=True, dtype=np.float64)).astype(s.dtype)
    return out.reshape(x.shape)


def softmax_backward(grad: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    """Vector-Jacobian product of softmax: ``y * (grad - sum(grad * y))`` along ``axis``.

    The Jacobian of softmax is ``diag(y) - y y^T``; multiplying a row vector ``g`` by it gives
    ``g*y - (g.y) y``, which needs only the saved output ``y``, never the input.
    """
    g, ax = _as_vector(grad, axis)
    yv = y.reshape(g.shape)
    dot = (g * yv).sum(axis=ax, keepdims=True, dtype=np.float64).astype(g.dtype)  # as numba
    return (yv * (g - dot)).reshape(grad.shape)


def log_softmax_backward(grad: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    """Vector-Jacobian product of log_softmax: ``grad - exp(y) * sum(grad)`` along ``axis``.

    ``d log_softmax_i / d x_j = [i == j] - softmax_j`` and ``softmax = exp(y)`` where ``y`` is
    the saved log_softmax output.
    """
    g, ax = _as_vector(grad, axis)
    yv = y.reshape(g.shape)
    total = g.sum(axis=ax, keepdims=True, dtype=np.float64).astype(g.dtype)  # as numba
    return (g - np.exp(yv) * total).reshape(grad.shape)


def logsumexp(x: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
    """``log(sum(exp(x)))`` along ``axis`` without overflow: ``m + log(sum(exp(x - m)))``.

    ``m`` is the max of the slice; when ``m`` is infinite the shift is skipped (``m`` taken as 0,
    torch's rule), so an all -inf slice gives ``log(0) = -inf`` and a slice holding +inf gives
    +inf instead of NaN. An empty slice gives -inf (the log of an empty sum). NaN propagates.
    """
    v, ax = _as_vector(x, axis)
    m = _row_max(v, ax)
    m = np.where(np.isinf(m), m.dtype.type(0), m)
    with np.errstate(divide="ignore", over="ignore"):  # log(0) = -inf is the right answer
        total = np.exp(v - m).sum(axis=ax, keepdims=True, dtype=np.float64)  # as numba
        out = m + np.log(total).astype(m.dtype)
    if x.ndim == 0:
        return out.reshape(())
    return out if keepdims else np.squeeze(out, axis=ax)


def axpy_(dst: np.ndarray, src: np.ndarray, alpha: float) -> np.ndarray:
    """In place ``dst += alpha * src`` (BLAS's "a x plus y"); returns ``dst``.

    This is how gradients accumulate (alpha=1) and how SGD steps (alpha=-lr). ``alpha`` is
    rounded to dst's dtype first, so float32 parameters are updated in float32 arithmetic.
    """
    if src.shape != dst.shape:
        raise ValueError(f"axpy_: src shape {src.shape} does not match dst shape {dst.shape}")
    dst += dst.dtype.type(alpha) * src.astype(dst.dtype, copy=False)
    return dst


def scale_(dst: np.ndarray, alpha: float) -> np.ndarray:
    """In place ``dst *= alpha`` (alpha in dst's dtype); returns ``dst``."""
    dst *= dst.dtype.type(alpha)
    return dst


def _target_error(t: int, n_classes: int, ignore_index: int) -> IndexError:
    """The error for a target class outside [0, C); starts with torch's own text."""
    return IndexError(
        f"Target {t} is out of bounds. (expected 0 <= target < C={n_classes} "
        f"or target == ignore_index={ignore_index})"
    )


def _nll_inputs(
    shape: tuple[int, int],
    target: np.ndarray,
    weight: np.ndarray | None,
    ignore_index: int,
    dtype: np.dtype,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Checked ``(target as int64, valid mask, in-range targets, weight)`` for (N, C) scores.

    Raises ValueError for a target or weight of the wrong length, and IndexError for the first
    target outside [0, C) that is not ``ignore_index``. Ignored rows get target 0 in the
    in-range copy, so indexing with it is always safe.
    """
    n, c = shape
    t = np.asarray(target).astype(np.int64, copy=False)
    if t.shape != (n,):
        raise ValueError(f"target shape {t.shape} does not match the batch size ({n},)")
    w = np.ones(c, dtype) if weight is None else np.asarray(weight, dtype)
    if w.shape != (c,):
        raise ValueError(f"weight shape {w.shape} does not match the class count ({c},)")
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= c))
    if bad.any():
        raise _target_error(int(t[np.argmax(bad)]), c, ignore_index)
    return t, valid, np.where(valid, t, 0), w


def log_softmax_nll(
    x2d: np.ndarray, target: np.ndarray, weight: np.ndarray | None, ignore_index: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cross-entropy per sample: log_softmax over classes, then the negative log-likelihood.

    For logits ``x`` of shape (N, C) and int targets ``t`` of shape (N,)::

        log_probs = log_softmax(x, axis=1)
        losses[n] = -weight[t[n]] * log_probs[n, t[n]]     (0 where t[n] == ignore_index)

    ``weight`` None means all ones. Returns ``(losses, log_probs)``; backward reuses log_probs.
    """
    t, valid, safe_t, w = _nll_inputs(x2d.shape, target, weight, ignore_index, x2d.dtype)
    log_probs = log_softmax(x2d, 1)
    picked = log_probs[np.arange(len(t)), safe_t]
    with np.errstate(invalid="ignore"):  # 0 * -inf in an ignored row is discarded anyway
        losses = np.where(valid, -(w[safe_t] * picked), x2d.dtype.type(0))
    return losses, log_probs


def log_softmax_nll_backward(
    grad_losses: np.ndarray,
    log_probs: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None,
    ignore_index: int,
) -> np.ndarray:
    """Gradient of ``sum(grad_losses * losses)`` with respect to the logits ``x``.

    ``d(-log_softmax(x)[t]) / dx = softmax(x) - onehot(t)``, and ``softmax = exp(log_probs)``, so
    row n of the result is ``grad_losses[n] * weight[t[n]] * (exp(log_probs[n]) - onehot(t[n]))``;
    ignored rows are 0. ``grad_losses`` may be anything that broadcasts to (N,).
    """
    dtype = log_probs.dtype
    t, valid, safe_t, w = _nll_inputs(log_probs.shape, target, weight, ignore_index, dtype)
    g = np.broadcast_to(np.asarray(grad_losses, dtype), t.shape)
    coef = g * w[safe_t]
    grad = np.exp(log_probs) * coef[:, None]
    grad[np.flatnonzero(valid), t[valid]] -= coef[valid]
    grad[~valid] = 0
    return grad
