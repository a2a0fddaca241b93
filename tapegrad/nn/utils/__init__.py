"""tapegrad.nn.utils: gradient clipping and flattening parameters into one vector."""

from __future__ import annotations

from collections.abc import Iterable

from tapegrad.ops.joining import cat
from tapegrad.tensor import Tensor

from .clip_grad import (
    clip_grad_norm,
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
)

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_",
           "get_total_norm", "parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one 1-D tensor (a differentiable copy:
    ``cat`` of ``p.view(-1)``), e.g. to treat a model as a point in R^n."""
    return cat([p.view(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """The inverse: slice ``vec`` into consecutive pieces of each parameter's size and make
    each piece the parameter's data (``param.data = ...``). As in torch, the parameters then
    *share memory* with ``vec``: writing into ``vec`` changes them."""
    if not isinstance(vec, Tensor):
        kind = type(vec)
        name = kind.__qualname__ if kind.__module__ == "builtins" else (
            f"{kind.__module__}.{kind.__qualname__}")
        raise TypeError(f"expected tapegrad.Tensor, but got: {name}")
    pointer = 0
    for param in parameters:
        n = param.numel()
        param.data = vec[pointer:pointer + n].view_as(param).data
        pointer += n
