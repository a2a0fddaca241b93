"""Dropout: in training, zero each element with probability ``p`` and scale the
survivors by ``1/(1-p)`` so that the expected value is unchanged; the identity in eval.

The mask comes from tapegrad's seeded generator (drawn on the GPU for CUDA tensors), so
results are reproducible with ``tapegrad.manual_seed`` (they cannot match torch's random
stream).
"""

from __future__ import annotations

import numpy as np

from tapegrad import random
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


__all__ = ["dropout"]
