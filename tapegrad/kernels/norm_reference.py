"""Normalisation kernels in plain NumPy: the definitions `norm_cpu` must agree with.

Both normalisations standardise groups of values, ``x_hat = (x - mean) * invstd`` with
``invstd = 1 / sqrt(var + eps)`` and the *biased* variance (divide by M, not M - 1), then
apply a learned affine map ``y = x_hat * w + b``. They differ in which values form a group:

* **batch norm** -- input viewed as (N, C, S): one group per channel ``c``, made of the
  ``M = N * S`` values ``x[:, c, :]`` (the batch and every spatial position);
  ``w``, ``b`` are per channel.
* **layer norm** -- input viewed as (M, D): one group per row (one sample's trailing
  ``normalized_shape`` dims flattened to D values); ``w``, ``b`` are per column.

Backward of a standardisation (for one group of M values, g = dy * w)::

    dx = invstd * (g - mean(g) - x_hat * mean(g * x_hat))

The two subtracted terms are what flows back through the mean and the variance: moving every
x by the same amount changes nothing (so dx sums to 0), and scaling the centred x changes
nothing either (so dx is orthogonal to x_hat). In eval-mode batch norm the statistics are
constants (running averages), and dx is simply ``g * invstd``. For the affine parameters,
summed over the values each one touched: ``dw = sum(dy * x_hat)``, ``db = sum(dy)``.

Conventions: statistics (mean, var, invstd, rstd) are float64 arrays whatever the input dtype
(sums are accumulated in float64); outputs and input gradients have the input's dtype; the
parameter gradients are float64 (callers cast them to the parameter's dtype). ``weight`` and
``bias`` may be None (no affine map). Inputs are never modified.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "batch_norm_backward",
    "batch_norm_forward",
    "batch_norm_stats",
    "layer_norm_backward",
    "layer_norm_forward",
]


def batch_norm_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and biased variance of ``x`` (N, C, S): two (C,) float64 arrays.

    Two passes (the mean, then the mean of squared deviations) rather than
    ``E[x^2] - E[x]^2``, which cancels catastrophically when |mean| >> std.
    """
    x64 = x.astype(np.float64, copy=False)
    mean = x64.mean(axis=(0, 2))
    var = ((x64 - mean[None, :, None]) ** 2).mean(axis=(0, 2))
    return mean, var


def _affine(x: np.ndarray, mean: np.ndarray, invstd: np.ndarray, weight: np.ndarray | None,
            bias: np.ndarray | None, shape: tuple) -> np.ndarray:
    """``(x - mean) * invstd * w + b`` written as ``x * alpha + beta`` (one multiply-add
    per element, as torch's CPU kernels do), with per-group alpha and beta of ``shape``."""
    alpha = invstd if weight is None else invstd * weight.astype(np.float64)
    beta = -mean * alpha
    if bias is not None:
        beta = beta + bias.astype(np.float64)
    y = x.astype(np.float64) * alpha.reshape(shape) + beta.reshape(shape)
    return y.astype(x.dtype)


def batch_norm_forward(x: np.ndarray, mean: np.ndarray, invstd: np.ndarray,
                       weight: np.ndarray | None, bias: np.ndarray | None) -> np.ndarray:
    """``y[n, c, s] = (x[n, c, s] - mean[c]) * invstd[c] * w[c] + b[c]`` for x (N, C, S)."""
    return _affine(x, mean, invstd, weight, bias, (1, -1, 1))


def batch_norm_backward(grad: np.ndarray, x: np.ndarray, mean: np.ndarray, invstd: np.ndarray,
                        weight: np.ndarray | None, training: bool
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dx, dweight, dbias)`` of batch norm for grad and x of shape (N, C, S).

    ``training``: mean/invstd were the batch's own statistics (so they depend on x and the
    full formula applies); else they were constants and dx = dy * w * invstd.
    """
    g64 = grad.astype(np.float64)
    xhat = (x.astype(np.float64) - mean[None, :, None]) * invstd[None, :, None]
    dbias = g64.sum(axis=(0, 2))
    dweight = (g64 * xhat).sum(axis=(0, 2))
    scale = invstd if weight is None else invstd * weight.astype(np.float64)
    if training:
        m = x.shape[0] * x.shape[2]
        dx = (g64 - (dbias / m)[None, :, None] - xhat * (dweight / m)[None, :, None]) \
            * scale[None, :, None]
    else:
        dx = g64 * scale[None, :, None]
    return dx.astype(x.dtype), dweight, dbias


def layer_norm_forward(x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None,
                       eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(y, mean, rstd)`` for x (M, D): each row standardised, then ``* w + b`` per column.

    mean and rstd (= 1/sqrt(var + eps)) are (M,) float64, saved for backward.
    """
    x64 = x.astype(np.float64, copy=False)
    mean = x64.mean(axis=1)
    var = ((x64 - mean[:, None]) ** 2).mean(axis=1)
    rstd = 1.0 / np.sqrt(var + eps)
    xhat = (x64 - mean[:, None]) * rstd[:, None]
    if weight is not None:
        xhat = xhat * weight.astype(np.float64)
    if bias is not None:
        xhat = xhat + bias.astype(np.float64)
    return xhat.astype(x.dtype), mean, rstd


def layer_norm_backward(grad: np.ndarray, x: np.ndarray, mean: np.ndarray, rstd: np.ndarray,
                        weight: np.ndarray | None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dx, dweight, dbias)`` of layer norm for grad and x of shape (M, D)."""
    g64 = grad.astype(np.float64)
    xhat = (x.astype(np.float64) - mean[:, None]) * rstd[:, None]
    dbias = g64.sum(axis=0)
    dweight = (g64 * xhat).sum(axis=0)
    g = g64 if weight is None else g64 * weight.astype(np.float64)
    d = x.shape[1]
    dx = (g - g.sum(axis=1, keepdims=True) / d
          - xhat * (g * xhat).sum(axis=1, keepdims=True) / d) * rstd[:, None]
    return dx.astype(x.dtype), dweight, dbias
