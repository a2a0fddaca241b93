"""`Conv1d` and `Conv2d`: learnable convolution layers (see `tapegrad.nn.functional.conv`).

A layer owns ``weight`` (out_channels, in_channels/groups, *kernel_size) and ``bias``
(out_channels). torch's default init draws both from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
``fan_in = in_channels/groups * prod(kernel_size)`` (``kaiming_uniform_(a=sqrt(5))`` for the
weight), which keeps the output variance close to the input's at the start of training.

``padding_mode`` other than ``'zeros'`` pads the input with `F.pad` (reflect, replicate or
circular) before a convolution without padding.
"""

from __future__ import annotations

import math
from typing import Any

from tapegrad import creation
from tapegrad.nn import init
from tapegrad.nn.functional.conv import conv1d, conv2d
from tapegrad.nn.functional.padding import pad
from tapegrad.nn.module import Module
from tapegrad.nn.parameter import Parameter
from tapegrad.tensor import Tensor

__all__ = ["Conv1d", "Conv2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(value: Any, n: int) -> tuple:
    """torch's ``_single``/``_pair``: an int repeated ``n`` times, an iterable as a tuple."""
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,) * n


class _ConvNd(Module):
    """What `Conv1d` and `Conv2d` share: argument checks, parameters, init, repr."""

    _n = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        n = self._n
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        kernel_size, stride, dilation = (_ntuple(kernel_size, n), _ntuple(stride, n),
                                         _ntuple(dilation, n))
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        else:
            padding = _ntuple(padding, n)
        if padding_mode not in _PADDING_MODES:
            raise ValueError("padding_mode must be one of {'zeros', 'reflect', 'replicate', "
                             f"'circular'}}, but got padding_mode='{padding_mode}'")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.groups, self.padding_mode = dilation, groups, padding_mode
        self.transposed, self.output_padding = False, (0,) * n
        # F.pad widths for padding_mode != 'zeros': last dim first, (left, right) per dim
        widths: list[int] = []
        for i in reversed(range(n)):
            if padding == "valid":
                lo = hi = 0
            elif padding == "same":
                total = dilation[i] * (kernel_size[i] - 1)
                lo, hi = total // 2, total - total // 2
            else:
                lo = hi = padding[i]
            widths += [lo, hi]
        self._reversed_padding_repeated_twice = widths
        self.weight = Parameter(creation.empty(out_channels, in_channels // groups,
                                               *kernel_size, dtype=dtype))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's default: weight and bias uniform in +-1/sqrt(fan_in)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    _fn: Any = staticmethod(conv2d)

    def _conv_forward(self, input: Tensor, weight: Tensor,
                      bias: Tensor | None) -> Tensor:
        """The convolution with given parameters (torch's hook for subclasses that transform
        the weight first, e.g. weight standardisation)."""
        if self.padding_mode != "zeros":
            padded = pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return self._fn(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return self._fn(input, weight, bias, self.stride, self.padding, self.dilation,
                        self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        n = len(self.kernel_size)
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-d convolution over (N, C_in, L) or (C_in, L) inputs."""

    _n = 1
    _fn = staticmethod(conv1d)


class Conv2d(_ConvNd):
    """2-d convolution over (N, C_in, H, W) or (C_in, H, W) inputs.

    Output size per spatial dim: ``floor((H + 2*padding - dilation*(k-1) - 1)/stride) + 1``.
    """

    _n = 2
    _fn = staticmethod(conv2d)
