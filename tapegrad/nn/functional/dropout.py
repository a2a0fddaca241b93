"""Dropout: in training, zero each element with probability ``p`` and scale the
survivors by ``1/(1-p)`` so that the expected value is unchanged; the identity in eval.

The mask comes from tapegrad's seeded generator (drawn on the GPU for CUDA tensors), so
results are reproducible with ``tapegrad.manual_seed`` (they cannot match torch's random
stream).

Variants (all composites of a constant random tensor and ops, so they need no backward):

* ``dropout1d/2d/3d`` (*feature* dropout) drop whole channels: one draw per (sample,
  channel), broadcast over the positions, because neighbouring pixels of a feature map are
  so correlated that dropping single ones barely regularises;
* ``alpha_dropout`` (for SELU networks) sets dropped values to SELU's negative saturation
  ``-alpha'`` instead of 0 and then applies the affine map ``a x + b`` that restores the
  input's mean 0 and variance 1; ``feature_alpha_dropout`` does that per channel;
* ``native_dropout_backward(grad, mask, scale)`` is ``grad * mask * scale``, torch's
  backward of dropout exposed as an op.
"""

from __future__ import annotations

import warnings

import numpy as np

from tapegrad import dtypes, random
from tapegrad.autograd.function import Function, Node
from tapegrad.ops._util import wrap
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.tensor import Tensor


class Dropout(Function):
    """Multiply by a fixed random mask; backward multiplies by the same mask.

    Equals ``x * (u >= p) * (1 / (1 - p))`` for ``u`` uniform draws from tapegrad's generator,
    ``tg.rand(x.shape)`` after the same seed (checked in tests/ops/test_fused_composites.py).
    """

    caption = ('{g}·mask / (1 − p): dropped elements get 0 : {s0}',)
    node_name = "NativeDropoutBackward0"
    op_name = "dropout"

    @staticmethod
    def forward(ctx: Node, x: Tensor, p: float = 0.5) -> Tensor:
        keep = _uniform_like(x) >= p
        scale = x._data.dtype.type(1.0 / (1.0 - p))
        mask = keep.astype(x._data.dtype) * scale
        ctx.mask = wrap(mask)
        return wrap(x._data * mask)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return grad * ctx.mask


def _uniform_like(x: Tensor) -> np.ndarray:
    """Uniform [0, 1) numbers of x's shape, drawn where x lives: on the GPU a CUDA tensor's
    mask is drawn by GPU threads (no copy per step), from states seeded by tapegrad's
    generator (`tapegrad.kernels.cuda.random`)."""
    if x.is_cuda:
        from tapegrad.kernels.cuda import random as cuda_random

        gen = random.generator_of(None)
        return cuda_random.uniform(x._data.shape, gen, lambda: gen.integers(2**63))
    return random.generator_of(None).random(x._data.shape)


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Note the functional default ``training=True`` (a classic bug in eval code)."""
    require_tensor(input, "dropout")  # before the eval shortcut, which returns input as is
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        out = input * 0.0
    else:
        out = Dropout.apply(input, p=p)
    return input.copy_(out) if inplace else out


# SELU's negative saturation value, -lambda * alpha of SELU: where alpha dropout puts the
# dropped values (before its affine correction)
_ALPHA_PRIME = 1.7580993408473766


def _noise_dropout(input: Tensor, p: float, training: bool, feature: bool,
                   alpha: bool) -> Tensor:
    """torch's shared dropout recipe: a 0/1 keep mask (of shape (N, C, 1, ...) for feature
    dropout, so whole channels drop), scaled to keep the mean; for alpha dropout the
    dropped values become ``-alpha'`` and ``a * x + b`` restores mean and variance."""
    if p == 0.0 or not training or input.numel() == 0:
        return input
    if p == 1.0:
        return input * 0.0
    shape = tuple(input.shape)
    if feature:
        shape = shape[:2] + (1,) * (len(shape) - 2)
    # one draw per kept unit from tapegrad's generator; the mask is small for feature
    # dropout, so it is drawn on the CPU and moved to a CUDA input's device
    keep = wrap((random.generator_of(None).random(shape) < 1.0 - p)
                .astype(input._data.dtype))
    if input.is_cuda:
        keep = keep.to(input.device)
    if not alpha:
        return input * (keep * (1.0 / (1.0 - p)))
    a = 1.0 / np.sqrt((_ALPHA_PRIME ** 2 * p + 1.0) * (1.0 - p))
    b = (keep - 1.0) * (_ALPHA_PRIME * a) + _ALPHA_PRIME * a * p
    return input * (keep * a) + b


def _finish(input: Tensor, out: Tensor, inplace: bool) -> Tensor:
    return input.copy_(out) if inplace and out is not input else out


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Channel dropout of an (N, C, L) or unbatched (C, L) input."""
    require_tensor(input, "dropout1d")
    _check_p(p)
    if input.dim() not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. Note "
            "that dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            "inputs).")
    batched = input.dim() == 3
    x = input if batched else input.unsqueeze(0)
    out = _noise_dropout(x, p, training, feature=True, alpha=False)
    return _finish(input, out if batched else out.squeeze(0), inplace)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Channel dropout of an (N, C, H, W) input. A 3-D input is read as (N, C, L), as torch
    still does (with its warning)."""
    require_tensor(input, "dropout2d")
    _check_p(p)
    if input.dim() not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.dim()}-D input to dropout2d, which is "
                      "deprecated and will result in an error in a future release.",
                      stacklevel=2)
    if input.dim() == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim.", stacklevel=2)
    return _finish(input, _noise_dropout(input, p, training, feature=True, alpha=False),
                   inplace)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Channel dropout of an (N, C, D, H, W) or unbatched (C, D, H, W) input."""
    require_tensor(input, "dropout3d")
    _check_p(p)
    if input.dim() not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.dim()}-D input to dropout3d, which is "
                      "deprecated and will result in an error in a future release.",
                      stacklevel=2)
    batched = input.dim() == 5
    x = input if batched else input.unsqueeze(0)
    out = _noise_dropout(x, p, training, feature=True, alpha=False)
    return _finish(input, out if batched else out.squeeze(0), inplace)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: keeps mean 0 and variance 1 (see the module docstring)."""
    require_tensor(input, "alpha_dropout")
    _check_p(p)
    return _finish(input, _noise_dropout(input, p, training, feature=False, alpha=True),
                   inplace)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels (one draw per (sample, channel))."""
    require_tensor(input, "feature_alpha_dropout")
    _check_p(p)
    return _finish(input, _noise_dropout(input, p, training, feature=True, alpha=True),
                   inplace)


def native_dropout_backward(grad_output: Tensor, mask: Tensor, scale: float) -> Tensor:
    """torch's backward of dropout as an op: ``grad_output * mask * scale`` (``mask`` is the
    boolean keep mask). Differentiable in ``grad_output``."""
    require_tensor(grad_output, "native_dropout_backward")
    require_tensor(mask, "native_dropout_backward")
    if mask.dtype != dtypes.bool_:
        raise RuntimeError("Mask should be Bool Scalar Type" + str(mask.dtype))
    return grad_output * (mask.to(grad_output.dtype) * scale)


__all__ = ["alpha_dropout", "dropout", "dropout1d", "dropout2d", "dropout3d",
           "feature_alpha_dropout", "native_dropout_backward"]
