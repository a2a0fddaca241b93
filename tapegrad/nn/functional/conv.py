"""nn.functional: ``conv1d``, ``conv2d`` and ``pad``.

A convolution layer slides a small weight tensor over the input and takes a dot product at
every position (a cross-correlation: the kernel is not flipped)::

    out[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] * x[n, c, i*s + p*d, j*s + q*d]

``groups`` splits the channels into independent convolutions (``groups == in_channels`` is a
*depthwise* convolution). The computation is im2col + one matrix product per sample (see
`tapegrad.kernels.conv_reference`): ``out[n] = W @ cols[n]``, with ``cols[n]`` the receptive
fields of sample ``n`` as columns. The output is linear in W and in x, so the gradients are

    dL/dW = sum_n dL/dout[n] @ cols[n]^T      (each weight meets the inputs it multiplied)
    dL/dx = col2im(W^T @ dL/dout)             (each field's gradient added back where it came from)
    dL/db = dL/dout summed over batch and positions

Backward is written with array kernels, not tensor ops, so it cannot be differentiated again
(``once_differentiable``: double backward through a convolution raises a clear error).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tapegrad import kernels
from tapegrad.autograd.function import Function, Node, once_differentiable
from tapegrad.nn.functional.padding import pad
from tapegrad.ops._util import contiguous, wrap
from tapegrad.ops.checks.conv import check_conv, expand_ints, same_padding
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.tensor import Tensor

__all__ = ["conv1d", "conv2d", "pad"]

#: Convolutions build the im2col columns of this many bytes of samples at a time (a size that
#: stays in a core's L2 cache; measured on LeNet-5 shapes, see benchmarks/conv_bench.py).
CHUNK_BYTES = 1 << 20


class _Columns:
    """How one convolution lays out its im2col columns (plain or, for stride 1, *wide*).

    Wide columns (`conv_reference.im2col_wide`) copy one long run per tap instead of one short
    run per output row, and give outputs ``W`` wide instead of ``OW``: the ``W - OW`` extra
    columns per row are computed and dropped (forward) or fed zero gradient (backward). Used
    when that costs at most 2x the multiply-adds; it made LeNet's 10-wide second layer's
    copies ~4x faster in measurement.
    """

    def __init__(self, x_shape: tuple, kernel: tuple, stride: tuple, dilation: tuple) -> None:
        _, _, h, w = x_shape
        self.kernel, self.stride, self.dilation = kernel, stride, dilation
        self.out_size = ((h - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1,
                         (w - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1)
        oh, ow = self.out_size
        self.wide = stride == (1, 1) and oh > 1 and w != ow and w <= 2 * ow
        self.width = w if self.wide else ow  # columns per output row
        self.length = oh * self.width

    def im2col(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        k = kernels.on(x)  # the CPU or the CUDA kernels, by x's device
        if self.wide:
            return k.im2col_wide(x, self.kernel, self.dilation, self.out_size, out=out)
        return k.im2col(x, self.kernel, self.stride, self.dilation, self.out_size, out=out)

    def col2im(self, cols: np.ndarray, shape: tuple, out: np.ndarray) -> np.ndarray:
        k = kernels.on(cols)
        if self.wide:
            return k.col2im_wide(cols, shape, self.kernel, self.dilation, self.out_size, out=out)
        return k.col2im(cols, shape, self.kernel, self.stride, self.dilation, self.out_size,
                        out=out)

    def chunks(self, x: np.ndarray, start: int, stop: int) -> Any:
        """Yield ``(lo, hi, cols)``: the columns of samples ``lo:hi`` for ``lo`` from ``start``
        to ``stop``, a chunk of about `CHUNK_BYTES` at a time, in one reused buffer."""
        rows = x.shape[1] * self.kernel[0] * self.kernel[1]
        step = _chunk_size(rows, self.length, x.dtype.itemsize)
        buf = np.empty((min(step, stop - start), rows, self.length), dtype=x.dtype, like=x)
        for lo in range(start, stop, step):
            hi = min(lo + step, stop)
            yield lo, hi, self.im2col(x[lo:hi], buf[:hi - lo])


class _Convolution(Function):
    """Batched 1-d or 2-d convolution of an input already checked by `conv1d`/`conv2d`.

    forward(x, w, b, stride=, padding=, dilation=, groups=): ``x`` (N, C, [H,] W), symmetric
    zero ``padding`` per spatial dim. 1-d inputs run as 2-d ones of height 1.

    The batch is processed in chunks whose im2col columns fit in about `CHUNK_BYTES`: the
    columns are written and read back while they are still in the CPU cache, instead of
    round-tripping megabytes through memory (for LeNet's first layer the columns of a batch
    of 32 are 7.5 MB). Backward rebuilds the columns chunk by chunk rather than keeping them.

    Equals, per group, ``weight.reshape(oc, -1) @ cols + bias``, where ``cols`` stacks one
    strided slice of the zero-padded input per kernel tap (im2col by slicing and ``stack``;
    checked in tests/ops/test_fused_composites.py).
    """

    caption = ('{g} convolved back with the kernel (a transposed convolution) : '
               '{s0} ← {sg} ⋆ {s1}',
               '{x0} correlated with {g}, summed over the batch : {s1} ← {s0} ⋆ {sg}',
               'Σ {g} over the batch and every position : {s2} = {sg} summed over every '
               'dim but 1 (the bias was broadcast over the batch and every position)')
    node_name = "ConvolutionBackward0"
    op_name = "convolution"

    @staticmethod
    def forward(ctx: Node, input: Tensor, weight: Tensor, bias: Tensor | None,
                stride: tuple, padding: tuple, dilation: tuple, groups: int) -> Tensor:
        w = weight._data
        one_d = input._data.ndim == 3
        if one_d:  # (N, C, W) -> (N, C, 1, W): a 1-d convolution is a 2-d one of height 1
            w = w[:, :, None]
            stride, padding, dilation = (1, *stride), (0, *padding), (1, *dilation)
        x = _padded(input._data, padding, one_d)
        n = x.shape[0]
        oc, cg, kh, kw = w.shape
        plan = _Columns(x.shape, (kh, kw), stride, dilation)
        out = np.empty((n, oc, plan.length), dtype=x.dtype, like=x)
        wg = w.reshape(groups, oc // groups, cg * kh * kw)
        for lo, hi, cols in plan.chunks(x, 0, n):
            _grouped(wg, cols, groups, out[lo:hi])
        oh, ow = plan.out_size
        if plan.wide:  # drop the garbage columns
            out = out.reshape(n, oc, oh, plan.width)[..., :ow]
        out = out.reshape(n, oc, oh, ow)
        if bias is not None:
            out = np.add(out, bias._data[:, None, None])
        ctx.geometry = (x.shape, padding, groups, one_d, plan)
        ctx.save_for_backward(input, weight)
        return wrap(contiguous(out[:, :, 0] if one_d else out))

    @staticmethod
    @once_differentiable
    def backward(ctx: Node, grad: Tensor) -> tuple:
        input, weight = ctx.saved_tensors
        shape, padding, groups, one_d, plan = ctx.geometry
        n, _, h, wd = shape
        w = weight._data[:, :, None] if one_d else weight._data
        oc = w.shape[0]
        oh, ow = plan.out_size
        g = grad._data.reshape(n, oc, oh, ow)
        need_x, need_w, need_b = ctx.needs_input_grad
        gx = gw = gb = None
        if need_b:
            gb = wrap(g.sum(axis=(0, 2, 3)))
        if plan.wide:  # zero gradient at the garbage columns
            widened = np.zeros((n, oc, oh, plan.width), dtype=g.dtype, like=g)
            widened[..., :ow] = g
            g = widened
        g = contiguous(g).reshape(n, groups, oc // groups, plan.length)
        if need_w:
            # dL/dW[g] = sum_n dL/dout[n, g] @ cols[n, g]^T, the columns rebuilt chunk by chunk.
            # Computed transposed (cols @ dL/dout^T): OpenBLAS runs these skinny products up to
            # 1.7x faster with the long side first (measured on LeNet's second layer).
            acc = np.zeros((groups, w[0].size, oc // groups), dtype=g.dtype, like=g)
            gt = g.transpose(0, 1, 3, 2)
            for lo, hi, cols in plan.chunks(_padded(input._data, padding, one_d), 0, n):
                cols_g = cols.reshape(hi - lo, groups, -1, plan.length)
                acc += np.matmul(cols_g, gt[lo:hi]).sum(axis=0)
            gw = wrap(contiguous(acc.transpose(0, 2, 1)).reshape(weight._data.shape))
        if need_x:
            # dL/dcols[n, g] = W[g]^T @ dL/dout[n, g]; col2im adds each column back to its pixels
            wt = w.reshape(groups, oc // groups, -1).transpose(0, 2, 1)
            full = np.empty(shape, dtype=g.dtype, like=g)
            step = _chunk_size(w[0].size * groups, plan.length, g.dtype.itemsize)
            for lo in range(0, n, step):
                hi = min(lo + step, n)
                gcols = np.matmul(wt, g[lo:hi]).reshape(hi - lo, -1, plan.length)
                plan.col2im(gcols, (hi - lo, *shape[1:]), full[lo:hi])
            full = full[:, :, padding[0]: h - padding[0], padding[1]: wd - padding[1]]
            gx = wrap(contiguous(full[:, :, 0] if one_d else full))
        return gx, gw, gb


def _padded(x: np.ndarray, padding: tuple, one_d: bool) -> np.ndarray:
    """The input as (N, C, H, W) with its zero padding applied."""
    if one_d:
        x = x[:, :, None]
    if any(padding):
        x = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    return x


def _chunk_size(rows: int, length: int, itemsize: int) -> int:
    """Samples per chunk so that one chunk's columns take about `CHUNK_BYTES`."""
    return max(1, CHUNK_BYTES // max(1, rows * length * itemsize))


def _grouped(w: np.ndarray, cols: np.ndarray, groups: int, out: np.ndarray) -> None:
    """``out[n, g] = w[g] @ cols[n, g]``, one broadcast matmul into ``out`` (N, oc, L)."""
    n, k, length = cols.shape
    if groups == 1:
        np.matmul(w[0], cols, out=out)
    else:
        np.matmul(w, cols.reshape(n, groups, k // groups, length),
                  out=out.reshape(n, groups, -1, length))


def _conv(fn: str, n: int, input: Tensor, weight: Tensor, bias: Tensor | None,
          stride: Any, padding: Any, dilation: Any, groups: int) -> Tensor:
    require_tensor(input, fn)
    require_tensor(weight, fn, "weight", 2)
    stride = expand_ints(stride, n, "stride", fn)
    dilation = expand_ints(dilation, n, "dilation", fn)
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise RuntimeError(f"Invalid padding string: '{padding}'")
        if padding == "same" and any(s != 1 for s in stride):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
    else:
        padding = expand_ints(padding, n, "padding", fn)
    check_conv(fn, input, weight, bias, stride, padding, dilation, groups, n)
    unbatched = input.ndim == n + 1
    if unbatched:
        input = input.unsqueeze(0)
    if padding == "valid":
        padding = (0,) * n
    elif padding == "same":
        left, right = same_padding(weight, dilation, n)
        if left != right:
            # torch's route: pad the input explicitly (the extra goes right/bottom), then
            # convolve without padding
            warnings.warn(
                "Using padding='same' with even kernel lengths and odd dilation may require a "
                "zero-padded copy of the input be created", UserWarning, stacklevel=3)
            widths = []
            for lo, hi in zip(reversed(left), reversed(right), strict=True):
                widths += [lo, hi]
            input = pad(input, tuple(widths))
            padding = (0,) * n
        else:
            padding = tuple(left)
    out = _Convolution.apply(input, weight, bias, stride=stride, padding=padding,
                             dilation=dilation, groups=int(groups))
    return out.squeeze(0) if unbatched else out


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
           stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-d convolution of ``input`` (N, C, H, W) or (C, H, W) with ``weight``
    (out_channels, C/groups, kH, kW); ``padding`` is an int, a pair, ``'valid'`` (none) or
    ``'same'`` (output as large as the input; stride 1 only).

    Output size per dim: ``floor((H + 2*padding - dilation*(k-1) - 1) / stride) + 1``.
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
           stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-d convolution of ``input`` (N, C, L) or (C, L) with ``weight``
    (out_channels, C/groups, k); options as in `conv2d`."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)

