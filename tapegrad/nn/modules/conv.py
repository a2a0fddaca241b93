"""Learnable convolution layers: `Conv1d`/`2d`/`3d`, the transposed (upsampling)
`ConvTranspose1d`/`2d`/`3d`, and their ``Lazy`` versions that learn ``in_channels`` from the
first input (see `tapegrad.nn.functional.conv`).

A layer owns ``weight`` (out_channels, in_channels/groups, *kernel_size) and ``bias``
(out_channels). torch's default init draws both from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
``fan_in = in_channels/groups * prod(kernel_size)`` (``kaiming_uniform_(a=sqrt(5))`` for the
weight), which keeps the output variance close to the input's at the start of training.

``padding_mode`` other than ``'zeros'`` pads the input with `F.pad` (reflect, replicate or
circular) before a convolution without padding.

A transposed layer's weight is laid out the other way round, (in_channels,
out_channels/groups, *kernel_size): it is the weight of the convolution whose input gradient
the layer computes, and its fan-in for the init is ``out_channels/groups * prod(kernel_size)``.
"""

from __future__ import annotations

import math
from typing import Any

from tapegrad import creation
from tapegrad.nn import init
from tapegrad.nn.functional.conv import (
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
)
from tapegrad.nn.functional.padding import pad
from tapegrad.nn.module import Module
from tapegrad.nn.parameter import Parameter
from tapegrad.tensor import Tensor

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
           "LazyConvTranspose2d", "LazyConvTranspose3d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(value: Any, n: int) -> tuple:
    """torch's ``_single``/``_pair``: an int repeated ``n`` times, an iterable as a tuple."""
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,) * n


class _ConvNd(Module):
    """What every convolution layer shares: argument checks, parameters, init, repr."""

    _n = 2
    _transposed = False

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
        self.transposed, self.output_padding = self._transposed, (0,) * n
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
        if self._transposed:
            shape = (in_channels, out_channels // groups, *kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *kernel_size)
        self.weight = Parameter(creation.empty(*shape, dtype=dtype))
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
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
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


class Conv3d(_ConvNd):
    """3-d convolution over (N, C_in, D, H, W) or (C_in, D, H, W) inputs (video, volumes)."""

    _n = 3
    _fn = staticmethod(conv3d)


class _ConvTransposeNd(_ConvNd):
    """A transposed convolution layer: the input gradient of a convolution as a layer (an
    upsampling by ``stride``). ``forward(input, output_size=None)``: several input sizes give
    the same strided convolution output, and ``output_size`` (or ``output_padding``) picks
    which one to restore."""

    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros", device: Any = None,
                 dtype: Any = None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f"{type(self).__name__}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)
        self.output_padding = _ntuple(output_padding, self._n)

    def _output_padding(self, input: Tensor, output_size: Any) -> tuple:
        """torch's rule: the ``output_padding`` that makes the output ``output_size``."""
        if output_size is None:
            return self.output_padding
        n = self._n
        size = list(output_size)
        if len(size) == n + 2 or (len(size) == n + 1 and input.ndim == n + 1):
            size = size[-n:]
        if len(size) != n:
            raise ValueError(f"ConvTranspose{n}D: for {input.ndim}D input, output_size must "
                             f"have {n} or {n + 2} elements (got {len(output_size)})")
        result = []
        for i in range(n):
            lo = ((input.shape[input.ndim - n + i] - 1) * self.stride[i]
                  - 2 * self.padding[i] + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            hi = lo + self.stride[i] - 1
            if not lo <= size[i] <= hi:
                raise ValueError(f"requested an output size of {size}, but valid sizes range "
                                 f"from {lo} to {hi} (for an input of {list(input.shape)[2:]})")
            result.append(size[i] - lo)
        return tuple(result)

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        output_padding = self._output_padding(input, output_size)
        return self._fn(input, self.weight, self.bias, self.stride, self.padding,
                        output_padding, self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """1-d transposed convolution over (N, C_in, L) or (C_in, L); see `F.conv_transpose1d`."""

    _n = 1
    _fn = staticmethod(conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """2-d transposed convolution (the "deconvolution" of decoders and GAN generators)."""

    _n = 2
    _fn = staticmethod(conv_transpose2d)


class ConvTranspose3d(_ConvTransposeNd):
    """3-d transposed convolution over (N, C_in, D, H, W) or (C_in, D, H, W)."""

    _n = 3
    _fn = staticmethod(conv_transpose3d)


class _LazyConv:
    """``in_channels`` learnt from the first input (or from a loaded state_dict).

    The layer is built with ``in_channels=0``: its weight is an empty placeholder until the
    first ``forward`` reads the input's channel count, builds the real parameters and runs
    the usual init; ``load_state_dict`` before that takes the shapes from the state instead.
    """

    def __init__(self, out_channels: int, kernel_size: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(0, out_channels, kernel_size, *args, **kwargs)  # type: ignore[call-arg]
        self._lazy_dtype = kwargs.get("dtype")

    def has_uninitialized_params(self) -> bool:
        """True until the first forward (or a load) has given the weight its real shape."""
        return self.in_channels == 0  # type: ignore[attr-defined]

    def _materialize(self, in_channels: int, dtype: Any) -> None:
        self.in_channels = in_channels
        out, groups, k = self.out_channels, self.groups, self.kernel_size  # type: ignore[attr-defined]
        shape = ((in_channels, out // groups, *k) if self._transposed  # type: ignore[attr-defined]
                 else (out, in_channels // groups, *k))
        self.weight = Parameter(creation.empty(*shape, dtype=dtype))
        if self.bias is not None:  # type: ignore[attr-defined]
            self.bias = Parameter(creation.empty(out, dtype=dtype))
        self.reset_parameters()  # type: ignore[attr-defined]

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params():
            super().reset_parameters()  # type: ignore[misc]

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        weight = state_dict.get("weight") if hasattr(state_dict, "get") else None
        if self.has_uninitialized_params() and weight is not None:
            channels = weight.shape[0] if self._transposed else (  # type: ignore[attr-defined]
                weight.shape[1] * self.groups)  # type: ignore[attr-defined]
            self._materialize(channels, weight.dtype)
        return super().load_state_dict(state_dict, strict, assign)  # type: ignore[misc]

    def forward(self, input: Tensor, *args: Any) -> Tensor:
        if self.has_uninitialized_params():
            batched = input.ndim == self._n + 2  # type: ignore[attr-defined]
            self._materialize(input.shape[1 if batched else 0], self.weight.dtype)  # type: ignore[attr-defined]
        return super().forward(input, *args)  # type: ignore[misc]


class LazyConv1d(_LazyConv, Conv1d):
    """`Conv1d` with ``in_channels`` taken from the first input."""


class LazyConv2d(_LazyConv, Conv2d):
    """`Conv2d` with ``in_channels`` taken from the first input."""


class LazyConv3d(_LazyConv, Conv3d):
    """`Conv3d` with ``in_channels`` taken from the first input."""


class LazyConvTranspose1d(_LazyConv, ConvTranspose1d):
    """`ConvTranspose1d` with ``in_channels`` taken from the first input."""


class LazyConvTranspose2d(_LazyConv, ConvTranspose2d):
    """`ConvTranspose2d` with ``in_channels`` taken from the first input."""


class LazyConvTranspose3d(_LazyConv, ConvTranspose3d):
    """`ConvTranspose3d` with ``in_channels`` taken from the first input."""
