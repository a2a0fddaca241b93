"""torch's argument checks for convolutions, with its messages (conv1d/2d/3d and the
transposed ones)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tapegrad.tensor import Tensor

_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
            "int32": "int", "bool": "bool"}


def expand_ints(value: Any, n: int, name: str, fn: str) -> tuple[int, ...]:
    """An int or a sequence of 1 or ``n`` ints as an ``n``-tuple (torch's IntArrayRef rule)."""
    items = list(value) if isinstance(value, Sequence) else [value]
    for item in items:
        if not isinstance(item, (int, np.integer)) or isinstance(item, bool):
            raise TypeError(f"{fn}(): argument '{name}' must be tuple of ints, but found "
                            f"element of type {type(item).__name__}")
    if len(items) == 1:
        items = items * n
    return tuple(int(i) for i in items)


def _check_input_dims(fn: str, input: Tensor, n: int) -> None:
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(
            f"Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to {fn}, but got input "
            f"of size: {list(input.shape)}")


def _check_dtypes_groups_strides(input: Tensor, weight: Tensor, bias: Tensor | None,
                                 groups: int, stride: tuple, padding: tuple | str) -> None:
    """The checks a convolution and a transposed one share, in torch's order."""
    if input.dtype != weight.dtype:
        raise RuntimeError(f"expected scalar type {input.dtype.scalar_type} but "
                           f"found {weight.dtype.scalar_type}")
    if bias is not None and bias.dtype != input.dtype:
        raise RuntimeError(f"Input type ({_C_NAMES.get(input.dtype.name)}) and bias type "
                           f"({_C_NAMES.get(bias.dtype.name)}) should be the same")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if not isinstance(padding, str) and any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")


def check_conv(fn: str, input: Tensor, weight: Tensor, bias: Tensor | None,
                 stride: tuple, padding: tuple | str, dilation: tuple, groups: int,
                 n: int) -> None:
    """torch's argument checks for an ``n``-d convolution, with its messages."""
    _check_input_dims(fn, input, n)
    k = weight.ndim - 2
    for name, v in (("stride", stride), ("padding", padding), ("dilation", dilation)):
        if not isinstance(v, str) and len(v) != k:
            raise RuntimeError(
                f"expected {name} to be a single integer value or a list of {k} values to "
                f"match the convolution dimensions, but got {name}={list(v)}")
    _check_dtypes_groups_strides(input, weight, bias, groups, stride, padding)
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    w = list(weight.shape)
    if w[0] < groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at "
                           f"dimension 0, but got weight of size {w} instead")
    if w[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{w}] instead")
    shape = list(input.shape) if input.ndim == n + 2 else [1, *input.shape]
    if shape[1] != w[1] * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {w}, expected input{shape} to have "
            f"{w[1] * groups} channels, but got {shape[1]} channels instead")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != w[0]):
        raise RuntimeError(f"Given weight of size {w}, expected bias to be 1-dimensional with "
                           f"{w[0]} elements, but got bias of size {list(bias.shape)} instead")
    if padding == "same":  # d*(k-1) in all, split left/right: always enough
        left, right = same_padding(weight, dilation, n)
        padded = [shape[2 + i] + left[i] + right[i] for i in range(n)]
    else:
        pads = (0,) * n if isinstance(padding, str) else padding
        padded = [shape[2 + i] + 2 * pads[i] for i in range(n)]
    kern = [dilation[i] * (w[2 + i] - 1) + 1 for i in range(n)]
    if any(p < k_ for p, k_ in zip(padded, kern, strict=True)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
            f"Kernel size: ({' x '.join(map(str, kern))}). Kernel size can't be greater than "
            "actual input size")


def same_padding(weight: Tensor, dilation: tuple, n: int) -> tuple[list[int], list[int]]:
    """'same' padding per spatial dim: total d*(k-1), the odd extra on the right/bottom."""
    total = [dilation[i] * (weight.shape[2 + i] - 1) for i in range(n)]
    left = [t // 2 for t in total]
    return left, [t - lo for t, lo in zip(total, left, strict=True)]


def check_conv_transpose(fn: str, input: Tensor, weight: Tensor, bias: Tensor | None,
                         stride: tuple, padding: tuple, output_padding: tuple,
                         dilation: tuple, groups: int, n: int) -> list[int]:
    """torch's checks for an ``n``-d transposed convolution; returns the output's spatial
    size, ``(L-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1`` per dim."""
    _check_input_dims(fn, input, n)
    if weight.ndim != n + 2:
        raise RuntimeError("weight should have at least three dimensions" if weight.ndim < 3
                           else f"Expected {n + 2}-dimensional weight for {n + 2}-dimensional "
                           f"input, but got {weight.ndim}-dimensional weight of size "
                           f"{list(weight.shape)} instead")
    _check_dtypes_groups_strides(input, weight, bias, groups, stride, padding)
    if any(p < 0 for p in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    for i in range(n):
        if output_padding[i] >= stride[i] and output_padding[i] >= dilation[i]:
            raise RuntimeError(
                f"output padding must be smaller than either stride or dilation, but got "
                f"output_padding: {list(output_padding)}, stride: {list(stride)}, "
                f"dilation: {list(dilation)}")
    w = list(weight.shape)
    if w[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size {w} instead")
    shape = list(input.shape) if input.ndim == n + 2 else [1, *input.shape]
    if shape[1] != w[0]:
        raise RuntimeError(
            f"Given transposed=1, weight of size {w}, expected input{shape} to have {w[0]} "
            f"channels, but got {shape[1]} channels instead")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != w[1] * groups):
        raise RuntimeError(
            f"Given transposed=1, weight of size {w}, expected bias to be 1-dimensional with "
            f"{w[1] * groups} elements, but got bias of size {list(bias.shape)} instead")
    out = [(shape[2 + i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (w[2 + i] - 1)
           + output_padding[i] + 1 for i in range(n)]
    if any(o <= 0 for o in out):
        raise RuntimeError(
            f"Given input size per channel: ({' x '.join(map(str, shape[2:]))}). Calculated "
            f"output size per channel: ({' x '.join(map(str, out))}). Output size is too small")
    return out
