"""Padding layers: ``ConstantPad``, ``ZeroPad``, ``ReflectionPad``, ``ReplicationPad`` and
``CircularPad`` in 1, 2 and 3 dims. Each stores its widths and calls `F.pad` (see
`tapegrad.nn.functional.padding` for what the modes do and how their gradients work).

``padding`` is one int (the same width on every side) or a tuple in `F.pad`'s order: from
the last dim backwards, ``(left, right[, top, bottom[, front, back]])``. The k-d layer pads
the last k dims of an input with k + 1 dims (unbatched) or k + 2 dims.
"""

from __future__ import annotations

from collections.abc import Sequence

from tapegrad.nn.functional.padding import pad
from tapegrad.nn.module import Module
from tapegrad.tensor import Tensor


def _widths(padding: int | Sequence[int], dims: int) -> tuple:
    """An int becomes ``2 * dims`` copies of it; a sequence is kept as it is."""
    if isinstance(padding, int):
        return (padding,) * (2 * dims)
    return tuple(padding)


class _PadNd(Module):
    """Stores ``padding`` (as 2k widths) and pads with ``mode``."""

    mode = "constant"
    dims = 1

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__()
        self.padding = _widths(padding, self.dims)

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dim with ``value``."""


class ConstantPad2d(_ConstantPadNd):
    """Pads the last 2 dims with ``value``."""

    dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pads the last 3 dims with ``value``."""

    dims = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Pads the last dim with zeros."""


class ZeroPad2d(_ZeroPadNd):
    """Pads the last 2 dims with zeros."""

    dims = 2


class ZeroPad3d(_ZeroPadNd):
    """Pads the last 3 dims with zeros."""

    dims = 3


class ReflectionPad1d(_PadNd):
    """Mirrors the last dim at its edges (the edge itself not repeated)."""

    mode = "reflect"


class ReflectionPad2d(_PadNd):
    """Mirrors the last 2 dims at their edges."""

    mode, dims = "reflect", 2


class ReflectionPad3d(_PadNd):
    """Mirrors the last 3 dims at their edges."""

    mode, dims = "reflect", 3


class ReplicationPad1d(_PadNd):
    """Repeats the edge values of the last dim."""

    mode = "replicate"


class ReplicationPad2d(_PadNd):
    """Repeats the edge values of the last 2 dims."""

    mode, dims = "replicate", 2


class ReplicationPad3d(_PadNd):
    """Repeats the edge values of the last 3 dims."""

    mode, dims = "replicate", 3


class _CircularPadNd(_PadNd):
    """torch's circular layers check the input's rank themselves (ValueError)."""

    mode = "circular"

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() not in (self.dims + 1, self.dims + 2):
            raise ValueError(f"expected {self.dims + 1}D or {self.dims + 2}D input (got "
                             f"{input.dim()}D input)")
        return pad(input, self.padding, self.mode)


class CircularPad1d(_CircularPadNd):
    """Wraps the last dim around (periodic boundary)."""


class CircularPad2d(_CircularPadNd):
    """Wraps the last 2 dims around."""

    dims = 2


class CircularPad3d(_CircularPadNd):
    """Wraps the last 3 dims around."""

    dims = 3


__all__ = [
    "CircularPad1d", "CircularPad2d", "CircularPad3d",
    "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
    "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
    "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d",
    "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
]
