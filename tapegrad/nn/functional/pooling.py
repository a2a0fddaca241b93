"""nn.functional: max, average and adaptive pooling (1-d and 2-d), and power-average
(``lp_pool1d/2d/3d``) pooling. The 3-d and fractional pools and unpooling are in
`tapegrad.nn.functional.pooling_nd`.

Pooling summarises each window of a feature map by one number, shrinking it:

* ``max_pool2d``: the largest value. Its gradient flows only to the element that won (the
  FIRST maximum in the window's row-major scan); an element that wins several overlapping
  windows collects all their gradients. Padding is -inf, so it never wins.
* ``avg_pool2d``: the mean; each element of the window receives ``grad / divisor``.
* ``adaptive_*_pool2d``: you give the output size and the windows follow (output ``i`` of
  ``O`` over ``I`` inputs spans ``[floor(i*I/O), ceil((i+1)*I/O))``).
* ``lp_pool2d``: the p-norm of each window, ``(sum x^p)^(1/p)``: p = 1 is sum pooling, large
  p approaches max pooling. Written as torch does, from average pooling of ``x^p``.

Output length per dim: ``floor((L + 2*padding - dilation*(k-1) - 1) / stride) + 1`` (rounded
up instead with ``ceil_mode``, except that the last window must start inside the input or the
left padding).

Every backward here is linear in the incoming gradient (a scatter or a spread with fixed
weights), so it is itself a `Function` whose backward is the forward's gather/average again:
double backward works. The array kernels are in `tapegrad.kernels.pooling_reference` (NumPy,
the definition) and `pooling_cpu` (numba), reached through ``kernels.on(array)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tapegrad import kernels
from tapegrad.autograd.function import Function, Node
from tapegrad.nn.functional.pooling_nd import avg_pool3d
from tapegrad.ops._util import wrap
from tapegrad.ops.checks.pooling import (
    adaptive_args,
    avg_pool2d_args,
    max_pool2d_args,
    one_d_args,
)
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.tensor import Tensor

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "avg_pool1d", "avg_pool2d", "lp_pool1d", "lp_pool2d", "lp_pool3d", "max_pool1d",
    "max_pool2d",
]



def _planes(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) or (C, H, W) as a stack of planes (B, H, W)."""
    return x.reshape(-1, *x.shape[-2:])


class _MaxPool2d(Function):
    """Max over windows; returns ``(values, indices)`` (indices into each H*W plane).

    Equals ``stack(taps, -1).max(-1).values``: one strided slice of the -inf-padded input per
    kernel tap, stacked in row-major tap order, so the first maximum wins (checked in
    tests/ops/test_fused_composites.py).
    """

    caption = ("{g} goes to the position of each window's max, 0 elsewhere (max routes) : "
               "{sg} → {s0}",)
    node_name = "MaxPool2DWithIndicesBackward0"
    op_name = "max_pool2d"

    @staticmethod
    def forward(ctx: Node, x: Tensor, kernel_size: tuple, stride: tuple, padding: tuple,
                dilation: tuple, out_size: tuple) -> tuple[Tensor, Tensor]:
        out, idx = kernels.on(x._data).max_pool2d(_planes(x._data), kernel_size, stride,
                                                  padding, dilation, out_size)
        shape = x._data.shape[:-2] + tuple(out_size)
        indices = wrap(idx.reshape(shape))
        ctx.in_shape = x._data.shape
        ctx.save_for_backward(indices)
        return wrap(out.reshape(shape)), indices

    @staticmethod
    def backward(ctx: Node, grad: Tensor, _grad_indices: Any = None) -> Tensor:
        (indices,) = ctx.saved_tensors
        return _MaxPoolScatter.apply(grad, indices, in_shape=ctx.in_shape)


class _MaxPoolScatter(Function):
    """Backward of max pooling: each gradient goes to the input element that won.

    It is linear in ``grad``, so its own backward gathers: ``gg_out = gg_in.flat[indices]``.

    Equals the gradient of max pooling's composite (checked, with its own backward, by the
    second-order gradients in tests/ops/test_fused_composites.py).
    """

    node_name = "MaxPool2DWithIndicesBackwardBackward0"
    op_name = "max_pool2d_backward"

    @staticmethod
    def forward(ctx: Node, grad: Tensor, indices: Tensor, in_shape: tuple) -> Tensor:
        ctx.save_for_backward(indices)
        g = kernels.on(grad._data).max_pool2d_backward(_planes(grad._data), _planes(indices._data),
                                          in_shape[-2:])
        return wrap(g.reshape(in_shape))

    @staticmethod
    def backward(ctx: Node, gg: Tensor) -> tuple:
        (indices,) = ctx.saved_tensors
        return _GatherPlanes.apply(gg, indices), None


class _GatherPlanes(Function):
    """``out[b, i] = x[b].flat[indices[b, i]]`` per plane (the adjoint of the scatter).

    Equals ``x.flatten(-2).gather(-1, indices.flatten(-2)).reshape(indices.shape)`` (checked
    as the second-order gradients of max pooling in tests/ops/test_fused_composites.py).
    """

    caption = ('{g} added back into the planes it was gathered from : {s0}',)
    node_name = "GatherBackward0"
    op_name = "gather_planes"

    @staticmethod
    def forward(ctx: Node, x: Tensor, indices: Tensor) -> Tensor:
        ctx.save_for_backward(indices)
        ctx.in_shape = x._data.shape
        flat = x._data.reshape(-1, x._data.shape[-2] * x._data.shape[-1])
        idx = indices._data.reshape(flat.shape[0], -1)
        return wrap(np.take_along_axis(flat, idx, axis=1).reshape(indices._data.shape))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        (indices,) = ctx.saved_tensors
        return _MaxPoolScatter.apply(grad, indices, in_shape=ctx.in_shape), None


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None,
               padding: Any = 0, dilation: Any = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    """2-d max pooling of (N, C, H, W) or (C, H, W); ``stride`` defaults to ``kernel_size``.

    With ``return_indices=True`` also returns where each maximum came from (flat index into
    its H*W plane), the input of ``max_unpool2d``.
    """
    k, s, p, d, out_size = max_pool2d_args(input, kernel_size, stride, padding, dilation,
                                           ceil_mode)
    out, idx = _MaxPool2d.apply(input, kernel_size=k, stride=s, padding=p, dilation=d,
                                out_size=out_size)
    return (out, idx) if return_indices else out


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None,
               padding: Any = 0, dilation: Any = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    """1-d max pooling of (N, C, L) or (C, L): a 2-d pool over a height-1 plane."""
    k, s, p, d = one_d_args("max_pool1d", input, kernel_size, stride, padding, dilation,
                            ceil_mode)
    x2 = input.unsqueeze(-2)
    out = max_pool2d(x2, (1, k), (1, s), (0, p), (1, d), ceil_mode, return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


class _AvgPool2d(Function):
    """Mean over windows, with torch's divisor rules.

    Equals ``stack(taps, -1).sum(-1) / divisor``: one strided slice of the zero-padded input
    per kernel tap; the divisor the override, or the same window sum over a mask of the
    counted cells (input, plus padding with ``count_include_pad``; checked in
    tests/ops/test_fused_composites.py).
    """

    caption = ('{g} / window size, spread over each window : {sg} → {s0}',)
    node_name = "AvgPool2DBackward0"
    op_name = "avg_pool2d"

    @staticmethod
    def forward(ctx: Node, x: Tensor, kernel_size: tuple, stride: tuple, padding: tuple,
                out_size: tuple, count_include_pad: bool, divisor_override: Any) -> Tensor:
        ctx.options = (kernel_size, stride, padding, count_include_pad, divisor_override)
        ctx.in_shape, ctx.out_size = x._data.shape, out_size
        out = kernels.on(x._data).avg_pool2d(_planes(x._data), kernel_size, stride, padding,
                                             out_size, count_include_pad, divisor_override)
        return wrap(out.reshape(x._data.shape[:-2] + tuple(out_size)))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        k, s, p, cip, div = ctx.options
        return _AvgPoolSpread.apply(grad, in_shape=ctx.in_shape, out_size=ctx.out_size,
                                    kernel_size=k, stride=s, padding=p,
                                    count_include_pad=cip, divisor_override=div)


class _AvgPoolSpread(Function):
    """Backward of average pooling: ``grad / divisor`` to every element of each window.

    The adjoint of a linear map; its own backward is average pooling again.

    Equals the gradient of average pooling's composite (checked, with its own backward, by the
    second-order gradients in tests/ops/test_fused_composites.py).
    """

    node_name = "AvgPool2DBackwardBackward0"
    op_name = "avg_pool2d_backward"

    @staticmethod
    def forward(ctx: Node, grad: Tensor, in_shape: tuple, out_size: tuple, kernel_size: tuple,
                stride: tuple, padding: tuple, count_include_pad: bool,
                divisor_override: Any) -> Tensor:
        ctx.options = (kernel_size, stride, padding, out_size, count_include_pad,
                       divisor_override)
        g = kernels.on(grad._data).avg_pool2d_backward(
            _planes(grad._data), in_shape[-2:], kernel_size, stride, padding, count_include_pad,
            divisor_override)
        return wrap(g.reshape(in_shape))

    @staticmethod
    def backward(ctx: Node, gg: Tensor) -> Tensor:
        k, s, p, out_size, cip, div = ctx.options
        return _AvgPool2d.apply(gg, kernel_size=k, stride=s, padding=p, out_size=out_size,
                                count_include_pad=cip, divisor_override=div)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None,
               padding: Any = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """2-d average pooling of (N, C, H, W) or (C, H, W).

    The divisor is ``divisor_override`` if given, else the window size counting padding
    (``count_include_pad=True``) or only the elements inside the input.
    """
    k, s, p, out_size = avg_pool2d_args("avg_pool2d", input, kernel_size, stride, padding,
                                        ceil_mode, divisor_override)
    return _AvgPool2d.apply(input, kernel_size=k, stride=s, padding=p, out_size=out_size,
                            count_include_pad=bool(count_include_pad),
                            divisor_override=divisor_override)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None,
               padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-d average pooling of (N, C, L) or (C, L)."""
    k, s, p, _ = one_d_args("avg_pool1d", input, kernel_size, stride, padding, 1, ceil_mode)
    out = avg_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, p), ceil_mode,
                     count_include_pad)
    return out.squeeze(-2)


class _AdaptiveAvgPool2d(Function):
    """Mean over torch's adaptive windows.

    Equals, for each output (i, j), ``x[..., h0:h1, w0:w1].mean((-2, -1))`` with
    ``h0 = floor(i H / OH)``, ``h1 = ceil((i + 1) H / OH)`` (and so for w), stacked (checked in
    tests/ops/test_fused_composites.py).
    """

    caption = ('{g} / window size, spread over each window : {sg} → {s0}',)
    node_name = "AdaptiveAvgPool2DBackward0"
    op_name = "adaptive_avg_pool2d"

    @staticmethod
    def forward(ctx: Node, x: Tensor, output_size: tuple) -> Tensor:
        ctx.in_shape = x._data.shape
        out = kernels.on(x._data).adaptive_avg_pool2d(_planes(x._data), output_size)
        return wrap(out.reshape(x._data.shape[:-2] + tuple(output_size)))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return _AdaptiveAvgSpread.apply(grad, in_shape=ctx.in_shape)


class _AdaptiveAvgSpread(Function):
    """Backward of adaptive average pooling (its backward is the pooling again).

    Equals the gradient of adaptive average pooling's composite (checked, with its own
    backward, by the second-order gradients in tests/ops/test_fused_composites.py).
    """

    node_name = "AdaptiveAvgPool2DBackwardBackward0"
    op_name = "adaptive_avg_pool2d_backward"

    @staticmethod
    def forward(ctx: Node, grad: Tensor, in_shape: tuple) -> Tensor:
        ctx.out_size = grad._data.shape[-2:]
        g = kernels.on(grad._data).adaptive_avg_pool2d_backward(_planes(grad._data), in_shape[-2:])
        return wrap(g.reshape(in_shape))

    @staticmethod
    def backward(ctx: Node, gg: Tensor) -> Tensor:
        return _AdaptiveAvgPool2d.apply(gg, output_size=tuple(ctx.out_size))


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling to a fixed ``output_size`` (int, pair; ``None`` keeps that dim)."""
    size = adaptive_args("adaptive_avg_pool2d", input, output_size)
    if size == (1, 1):  # torch's shortcut: a global average is a mean
        return input.mean(dim=(-1, -2), keepdim=True)
    return _AdaptiveAvgPool2d.apply(input, output_size=size)


class _AdaptiveMaxPool2d(Function):
    """Max over torch's adaptive windows; returns ``(values, indices)``.

    Equals, for each output (i, j), ``x[..., h0:h1, w0:w1].flatten(-2).max(-1).values``
    (windows as in `_AdaptiveAvgPool2d`), stacked (checked in tests/ops/test_fused_composites.py).
    """

    caption = ("{g} goes to each window's max, 0 elsewhere : {sg} → {s0}",)
    node_name = "AdaptiveMaxPool2DBackward0"
    op_name = "adaptive_max_pool2d"

    @staticmethod
    def forward(ctx: Node, x: Tensor, output_size: tuple) -> tuple[Tensor, Tensor]:
        out, idx = kernels.on(x._data).adaptive_max_pool2d(_planes(x._data), output_size)
        shape = x._data.shape[:-2] + tuple(output_size)
        indices = wrap(idx.reshape(shape))
        ctx.in_shape = x._data.shape
        ctx.save_for_backward(indices)
        return wrap(out.reshape(shape)), indices

    backward = _MaxPool2d.backward


def adaptive_max_pool2d(input: Tensor, output_size: Any,
                        return_indices: bool = False) -> Any:
    """Max pooling to a fixed ``output_size``; windows as in `adaptive_avg_pool2d`."""
    size = adaptive_args("adaptive_max_pool2d", input, output_size)
    out, idx = _AdaptiveMaxPool2d.apply(input, output_size=size)
    return (out, idx) if return_indices else out


def _adaptive_1d(fn: str, input: Tensor, output_size: Any) -> int:
    require_tensor(input, fn)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional "
                           f"tensor for argument #1 'self' (while checking arguments for {fn})")
    if isinstance(output_size, Sequence):
        if len(output_size) != 1:
            raise RuntimeError(f"{fn}() argument 'output_size' should contain one int "
                               f"(got {len(output_size)})")
        output_size = output_size[0]
    return output_size


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """1-d adaptive average pooling of (N, C, L) or (C, L)."""
    size = _adaptive_1d("adaptive_avg_pool1d", input, output_size)
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, size)).squeeze(-2)


def adaptive_max_pool1d(input: Tensor, output_size: Any,
                        return_indices: bool = False) -> Any:
    """1-d adaptive max pooling of (N, C, L) or (C, L)."""
    size = _adaptive_1d("adaptive_max_pool1d", input, output_size)
    out = adaptive_max_pool2d(input.unsqueeze(-2), (1, size), return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def _lp(out: Tensor, norm_type: float, window: int) -> Tensor:
    """``(window * mean(x^p))^(1/p)``; torch's ``sign * relu(abs)`` keeps a negative mean
    (possible for odd p) at its sign, and its gradient at 0 at 0."""
    return (out.sign() * out.abs().relu()).mul(window).pow(1.0 / norm_type)


def _window(kernel_size: Any, n: int) -> int:
    k = list(kernel_size) if isinstance(kernel_size, Sequence) else [kernel_size] * n
    size = 1
    for v in (k * n if len(k) == 1 else k):
        size *= v
    return size


def lp_pool1d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling of (N, C, L) or (C, L): ``(sum over window of x^p)^(1/p)``."""
    require_tensor(input, "lp_pool1d")
    out = avg_pool1d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return _lp(out, norm_type, _window(kernel_size, 1))


def lp_pool2d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling of (N, C, H, W) or (C, H, W); see `lp_pool1d`."""
    require_tensor(input, "lp_pool2d")
    out = avg_pool2d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return _lp(out, norm_type, _window(kernel_size, 2))


def lp_pool3d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling of (N, C, D, H, W) or (C, D, H, W); see `lp_pool1d`."""
    require_tensor(input, "lp_pool3d")
    out = avg_pool3d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return _lp(out, norm_type, _window(kernel_size, 3))
