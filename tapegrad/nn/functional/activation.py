"""nn.functional activations: the ops of `tapegrad.ops` under torch's functional names.

Only ``softmax``/``log_softmax``/``softmin`` add something: the legacy *implicit* ``dim``
(``dim=None`` picks 0 for 0-, 1- and 3-d inputs, else 1, with torch's deprecation warning).
"""

from __future__ import annotations

import warnings
from typing import Any

from tapegrad.ops import activation as _act
from tapegrad.ops import softmax as _softmax
from tapegrad.ops.activation import (
    celu,
    celu_,
    elu,
    gelu,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    logsigmoid,
    mish,
    prelu,
    relu6,
    rrelu,
    rrelu_,
    selu,
    selu_,
    silu,
    softplus,
    softshrink,
    softsign,
    tanhshrink,
    threshold,
    threshold_,
)
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.ops.pointwise import relu, relu_, sigmoid, tanh
from tapegrad.tensor import Tensor


def _implicit_dim(name: str, ndim: int, stacklevel: int = 3) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
        "dim=X as an argument.",
        UserWarning,
        stacklevel=stacklevel,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    if dim is None:
        dim = _implicit_dim("softmax", input.dim(), _stacklevel)
    return _softmax.softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype: Any = None) -> Tensor:
    if dim is None:
        dim = _implicit_dim("log_softmax", input.dim(), _stacklevel)
    return _softmax.log_softmax(input, dim, dtype=dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    if dim is None:
        dim = _implicit_dim("softmin", input.dim(), _stacklevel)
    return _act.softmin(input, dim, dtype=dtype)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    require_tensor(input, "elu_")
    return elu(input, alpha, True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    require_tensor(input, "hardtanh_")
    return hardtanh(input, min_val, max_val, True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    require_tensor(input, "leaky_relu_")
    return _act.leaky_relu(input, negative_slope, True)


__all__ = ["celu", "celu_", "elu", "elu_", "gelu", "glu", "hardshrink", "hardsigmoid",
           "hardswish", "hardtanh", "hardtanh_", "leaky_relu", "leaky_relu_", "log_softmax",
           "logsigmoid", "mish", "prelu", "relu", "relu6", "relu_", "rrelu", "rrelu_", "selu",
           "selu_", "sigmoid", "silu", "softmax", "softmin", "softplus", "softshrink",
           "softsign", "tanh", "tanhshrink", "threshold", "threshold_"]
