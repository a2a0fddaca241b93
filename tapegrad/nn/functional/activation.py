"""nn.functional activations: the ops of `tapegrad.ops` under torch's functional names.

Only ``softmax``/``log_softmax`` add something: the legacy *implicit* ``dim`` (``dim=None``
picks 0 for 0-, 1- and 3-d inputs, else 1, with torch's deprecation warning).
"""

from __future__ import annotations

import warnings
from typing import Any

from tapegrad.ops import activation as _act
from tapegrad.ops import softmax as _softmax
from tapegrad.ops.activation import elu, gelu, hardtanh, leaky_relu, logsigmoid, silu, softplus
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.ops.comparison import where
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


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    require_tensor(input, "relu6")
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    require_tensor(input, "leaky_relu_")
    return _act.leaky_relu(input, negative_slope, True)


def threshold(input: Tensor, threshold: float, value: float,
              inplace: bool = False) -> Tensor:
    require_tensor(input, "threshold")
    out = where(input > threshold, input, value)
    return input.copy_(out) if inplace else out


__all__ = ["elu", "gelu", "hardtanh", "leaky_relu", "leaky_relu_", "log_softmax", "logsigmoid",
           "relu", "relu6", "relu_", "sigmoid", "silu", "softmax", "softplus", "tanh",
           "threshold"]
