"""nn.functional: ``conv1d``, ``conv2d``, ``conv3d``, ``conv_transpose1d/2d/3d`` and ``pad``.

A convolution layer slides a small weight tensor over the input and takes a dot product at
every position (a cross-correlation: the kernel is not flipped)::

    out[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] * x[n, c, i*s + p*d, j*s + q*d]

``groups`` splits the channels into independent convolutions (``groups == in_channels`` is a
*depthwise* convolution). The computation is im2col + one matrix product per sample (see
`tapegrad.kernels.conv_reference`): ``out[n] = W @ cols[n]``, with ``cols[n]`` the receptive
fields of sample ``n`` as columns.

**Three bilinear maps.** Write ``C(x, w)`` for the convolution (without bias). It is linear
in ``x`` and in ``w``, and its two gradients are two more bilinear maps::

    dL/dx = T(g, w)   the *transposed* convolution of g = dL/dout: col2im(W^T @ g)
    dL/dw = G(x, g)   sum_n g[n] @ cols[n]^T (each weight meets the inputs it multiplied)

``T`` is exactly ``conv_transpose`` (an upsampling layer), and since each of the three is
bilinear, each one's gradients are the other two again::

    T(g, w):  d/dg = C(gg, w)     d/dw = G(gg, g)
    G(x, g):  d/dx = T(g, gw)     d/dg = C(x, gw)

So `_Conv`, `_ConvTranspose` and `_ConvWeightGrad` are three `Function` s whose backwards
call each other: the gradient of a convolution can be differentiated again, to any order (a
gradient penalty on a convolutional critic differentiates ``dL/dx`` with respect to the
weights).

**Any number of spatial dims.** The array kernels are 2-d (`tapegrad.kernels.conv_cpu`).
A 1-d convolution runs as a 2-d one of height 1; a 3-d one (or more) is a sum over its first
kernel axis of 2-d ones: tap ``p`` of that axis reads the depth slices ``i*s + p*d``, which
become extra batch entries of a 2-d convolution with the weight slice ``w[:, :, p]``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tapegrad import kernels
from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.grad_mode import _state as _grad_state
from tapegrad.kernels import threads
from tapegrad.nn.functional.padding import pad
from tapegrad.ops._util import contiguous, wrap
from tapegrad.ops.checks.conv import (
    check_conv,
    check_conv_transpose,
    expand_ints,
    same_padding,
)
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "pad"]

#: Convolutions build the im2col columns of this many bytes of samples at a time. On LeNet-5
#: (one thread) 4 MB, within the shared L3 cache, ran its five convolution products 4% faster
#: than 1 MB, a core's L2 here (2.07 vs 2.16 ms, 16 MB: 2.08): fewer Python calls per chunk
#: loop. With the batch split over threads fewer calls also mean fewer GIL handoffs.
CHUNK_BYTES = 4 << 20


class _Columns:
    """How one 2-d convolution lays out its im2col columns (plain or, for stride 1, *wide*).

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


# ------------------------------------------------------------------ 2-d array kernels
# The batch is processed in chunks whose im2col columns fit in about `CHUNK_BYTES`: the
# columns are written and read back while they are still in the CPU cache, instead of
# round-tripping megabytes through memory (for LeNet's first layer the columns of a batch of
# 32 are 7.5 MB). The weight gradient rebuilds the columns chunk by chunk rather than keeping
# them from the forward (keeping them saved only ~65 us of LeNet's 0.5 ms first-layer weight
# gradient, for 11 MB held from forward to backward).
#
# Every sample is independent until the weight gradient sums over the batch, so a large
# batch is split over threads (`_by_samples`, `tapegrad.kernels.threads`): each part runs the
# chunk loop on its own samples and writes only their rows of the result; the weight
# gradient's parts return partial sums, added in order. One-thread results are unchanged;
# with a split, the forward and the input gradient are bitwise the same (one product per
# sample either way) and the weight gradient differs by the order of its sum.

def _forward_2d(x: np.ndarray, w: np.ndarray, stride: tuple, dilation: tuple,
                groups: int, bias: np.ndarray | None = None) -> np.ndarray:
    """``C(x, w)`` of a padded (N, C, H, W) ``x``, plus ``bias`` per channel when given:
    (N, O, OH, OW), C-contiguous for NumPy arrays.

    On NumPy arrays each chunk's products go to a small buffer, and the chunk's rows of the
    result are written from it while it is still in cache: wide columns dropped and the bias
    added in that one pass (adding the bias to the sliced result afterwards cost 2x the
    pass: a strided read of the whole output, 28 floats at a time for LeNet's first layer).
    """
    n = x.shape[0]
    oc, cg, kh, kw = w.shape
    plan = _Columns(x.shape, (kh, kw), stride, dilation)
    oh, ow = plan.out_size
    dtype = np.result_type(x, w)
    wg = w.reshape(groups, oc // groups, cg * kh * kw)
    work = n * oc * cg * kh * kw * plan.length
    if type(x) is not np.ndarray or (bias is not None and bias.dtype != dtype):
        out = np.empty((n, oc, plan.length), dtype=dtype, like=x)
        for lo, hi, cols in plan.chunks(x, 0, n):
            _grouped(wg, cols, groups, out[lo:hi])
        if plan.wide:  # drop the garbage columns
            out = out.reshape(n, oc, oh, plan.width)[..., :ow]
        out = out.reshape(n, oc, oh, ow)
        return out if bias is None else np.add(out, bias.reshape(-1, 1, 1))
    out = np.empty((n, oc, oh, ow), dtype=dtype)
    b = None if bias is None else bias.reshape(-1, 1, 1)

    def samples(part: tuple[int, int]) -> None:
        for lo, hi, cols in plan.chunks(x, *part):
            if plan.wide:
                y = np.empty((hi - lo, oc, plan.length), dtype=dtype)
                _grouped(wg, cols, groups, y)
                y = y.reshape(hi - lo, oc, oh, plan.width)[..., :ow]
                if b is None:
                    out[lo:hi] = y
                else:
                    np.add(y, b, out=out[lo:hi])
            else:
                y = out[lo:hi].reshape(hi - lo, oc, plan.length)
                _grouped(wg, cols, groups, y)
                if b is not None:
                    np.add(out[lo:hi], b, out=out[lo:hi])

    _by_samples(samples, x, work)
    return out


def _widened(g: np.ndarray, plan: _Columns, groups: int) -> np.ndarray:
    """The output gradient (N, O, OH, OW) laid out as the plan's columns: (N, G, O/G, L)."""
    n, oc, oh, ow = g.shape
    if plan.wide:  # zero gradient at the garbage columns
        widened = np.zeros((n, oc, oh, plan.width), dtype=g.dtype, like=g)
        widened[..., :ow] = g
        g = widened
    return contiguous(g).reshape(n, groups, oc // groups, plan.length)


def _input_grad_part(g: np.ndarray, w: np.ndarray, shape: tuple, plan: _Columns,
                     groups: int, full: np.ndarray) -> Any:
    """The input gradient of some samples, written into their rows of ``full``: a function
    of ``(lo, hi)``. ``g`` is the output gradient laid out as columns (`_widened`)."""
    oc = w.shape[0]
    # dL/dcols[n, g] = W[g]^T @ dL/dout[n, g]; col2im adds each column back to its pixels
    wt = w.reshape(groups, oc // groups, -1).transpose(0, 2, 1)
    step = _chunk_size(w[0].size * groups, plan.length, g.dtype.itemsize)

    def samples(part: tuple[int, int]) -> None:
        for lo in range(part[0], part[1], step):
            hi = min(lo + step, part[1])
            gcols = np.matmul(wt, g[lo:hi]).reshape(hi - lo, -1, plan.length)
            plan.col2im(gcols, (hi - lo, *shape[1:]), full[lo:hi])

    return samples


def _weight_grad_part(x: np.ndarray, g: np.ndarray, w_shape: tuple, plan: _Columns,
                      groups: int) -> Any:
    """The weight gradient summed over some samples, (G, C/G*KH*KW, O/G): a function of
    ``(lo, hi)``. ``g`` is the output gradient laid out as columns (`_widened`)."""
    oc = w_shape[0]
    # dL/dW[g] = sum_n dL/dout[n, g] @ cols[n, g]^T, the columns rebuilt chunk by chunk.
    # Computed transposed (cols @ dL/dout^T): OpenBLAS runs these skinny products up to
    # 1.7x faster with the long side first (measured on LeNet's second layer).
    per_group = int(np.prod(w_shape[1:]))
    gt = g.transpose(0, 1, 3, 2)

    def samples(part: tuple[int, int]) -> np.ndarray:
        acc = np.zeros((groups, per_group, oc // groups), dtype=g.dtype, like=g)
        for lo, hi, cols in plan.chunks(x, *part):
            cols_g = cols.reshape(hi - lo, groups, -1, plan.length)
            acc += np.matmul(cols_g, gt[lo:hi]).sum(axis=0)
        return acc

    return samples


def _summed(partial: list, w_shape: tuple) -> np.ndarray:
    """The weight gradient from the parts' sums (added in order), in ``w_shape``."""
    acc = partial[0]
    for more in partial[1:]:
        acc += more
    return contiguous(acc.transpose(0, 2, 1)).reshape(w_shape)


def _input_grad_2d(g: np.ndarray, w: np.ndarray, shape: tuple, stride: tuple,
                   dilation: tuple, groups: int) -> np.ndarray:
    """``T(g, w)``: the gradient of the padded input of ``shape`` (N, C, H, W)."""
    plan = _Columns(shape, w.shape[2:], stride, dilation)
    wide = _widened(g, plan, groups)
    full = np.empty(shape, dtype=wide.dtype, like=wide)
    samples = _input_grad_part(wide, w, shape, plan, groups, full)
    _by_samples(samples, wide, shape[0] * w.size * plan.length)
    return full


def _weight_grad_2d(x: np.ndarray, g: np.ndarray, w_shape: tuple, stride: tuple,
                    dilation: tuple, groups: int) -> np.ndarray:
    """``G(x, g)``: the weight gradient, of ``w_shape`` (O, C/G, KH, KW)."""
    plan = _Columns(x.shape, w_shape[2:], stride, dilation)
    wide = _widened(g, plan, groups)
    samples = _weight_grad_part(x, wide, w_shape, plan, groups)
    work = x.shape[0] * int(np.prod(w_shape)) * plan.length
    return _summed(_by_samples(samples, x, work), w_shape)


def _backward_2d(x: np.ndarray, g: np.ndarray, w: np.ndarray, stride: tuple,
                 dilation: tuple, groups: int, needs: tuple) -> tuple:
    """A 2-d convolution's first-order backward straight on NumPy arrays, for a padded ``x``:
    ``(T(g, w), G(x, g), g summed per channel)``, each None where ``needs`` says so.

    The same formulas as `_ConvTranspose`, `_ConvWeightGrad` and the bias sum, but in one
    pass over the batch: the output gradient is laid out as columns once for both products,
    and a split batch wakes the thread pool once instead of twice (each wake-up and join
    costs ~50 us on the 2-core development machine).
    """
    need_x, need_w, need_b = needs
    plan = _Columns(x.shape, w.shape[2:], stride, dilation)
    wide = _widened(g, plan, groups) if need_x or need_w else None
    full = np.empty(x.shape, dtype=g.dtype) if need_x else None
    input_part = _input_grad_part(wide, w, x.shape, plan, groups, full) if need_x else None
    weight_part = _weight_grad_part(x, wide, w.shape, plan, groups) if need_w else None

    def samples(part: tuple[int, int]) -> tuple:
        if input_part is not None:
            input_part(part)
        gw = weight_part(part) if weight_part is not None else None
        gb = g[part[0]:part[1]].sum(axis=(0, 2, 3)) if need_b else None
        return gw, gb

    work = x.shape[0] * w.size * plan.length * (int(need_x) + int(need_w))
    parts = _by_samples(samples, x, work)
    gw = _summed([p[0] for p in parts], w.shape) if need_w else None
    gb = None
    if need_b:
        gb = parts[0][1]
        for p in parts[1:]:
            gb += p[1]
    return full, gw, gb


# ------------------------------------------------------------------ n-d on top of 2-d

def _out_len(size: int, k: int, s: int, d: int) -> int:
    return (size - d * (k - 1) - 1) // s + 1


def _taps(x: np.ndarray, p: int, s: int, d: int, o: int) -> np.ndarray:
    """The depth slices tap ``p`` of the first spatial axis reads, as extra batch entries:
    (N, C, D, *rest) -> (N*o, C, *rest)."""
    xs = x[:, :, p * d: p * d + s * (o - 1) + 1: s]
    return np.moveaxis(xs, 2, 1).reshape(x.shape[0] * o, x.shape[1], *x.shape[3:])


def _unbatch(y: np.ndarray, n: int, o: int) -> np.ndarray:
    """(N*o, C, *rest) -> (N, C, o, *rest): the inverse of `_taps`' reshape."""
    return np.moveaxis(y.reshape(n, o, *y.shape[1:]), 1, 2)


def conv_forward(x: np.ndarray, w: np.ndarray, stride: tuple, dilation: tuple,
                 groups: int, bias: np.ndarray | None = None) -> np.ndarray:
    """``C(x, w)`` (plus ``bias`` per channel) for a padded ``x`` (N, C, *S) with any number
    of spatial dims."""
    k = x.ndim - 2
    if k == 2:
        return _forward_2d(x, w, stride, dilation, groups, bias)
    if k == 1:
        return _forward_2d(x[:, :, None], w[:, :, None], (1, *stride), (1, *dilation),
                           groups, bias)[:, :, 0]
    if bias is not None:
        out = conv_forward(x, w, stride, dilation, groups)
        return np.add(out, bias.reshape(-1, *(1,) * (out.ndim - 2)))
    o = _out_len(x.shape[2], w.shape[2], stride[0], dilation[0])
    out = None
    for p in range(w.shape[2]):
        part = conv_forward(_taps(x, p, stride[0], dilation[0], o), w[:, :, p], stride[1:],
                            dilation[1:], groups)
        out = part if out is None else out + part
    if out is None:  # a zero-size kernel axis cannot happen (checked), but keep shapes right
        raise RuntimeError("convolution with an empty kernel")
    return contiguous(_unbatch(out, x.shape[0], o))


def conv_input_grad(g: np.ndarray, w: np.ndarray, shape: tuple, stride: tuple,
                    dilation: tuple, groups: int) -> np.ndarray:
    """``T(g, w)``: the gradient of a padded input of ``shape`` given the output's ``g``.

    ``g`` may be shorter than the convolution of ``shape`` would give (a transposed
    convolution whose ``output_padding`` adds rows no window reaches): it is padded with
    zeros to that length first.
    """
    k = len(shape) - 2
    natural = [_out_len(shape[2 + i], w.shape[2 + i], stride[i], dilation[i]) for i in range(k)]
    if list(g.shape[2:]) != natural:
        widths = [(0, 0), (0, 0)] + [(0, nat - have) for nat, have in zip(natural, g.shape[2:],
                                                                            strict=True)]
        g = np.pad(g, widths)
    if k == 2:
        return _input_grad_2d(g, w, shape, stride, dilation, groups)
    if k == 1:
        return _input_grad_2d(g[:, :, None], w[:, :, None], (*shape[:2], 1, shape[2]),
                              (1, *stride), (1, *dilation), groups)[:, :, 0]
    n, c, o = shape[0], shape[1], natural[0]
    s, d = stride[0], dilation[0]
    full = np.zeros(shape, dtype=g.dtype, like=g)
    gs = np.moveaxis(g, 2, 1).reshape(n * o, g.shape[1], *g.shape[3:])
    for p in range(w.shape[2]):
        part = conv_input_grad(gs, w[:, :, p], (n * o, c, *shape[3:]), stride[1:],
                               dilation[1:], groups)
        full[:, :, p * d: p * d + s * (o - 1) + 1: s] += _unbatch(part, n, o)
    return full


def conv_weight_grad(x: np.ndarray, g: np.ndarray, w_shape: tuple, stride: tuple,
                     dilation: tuple, groups: int) -> np.ndarray:
    """``G(x, g)``: the weight gradient for a padded ``x`` and the output's gradient ``g``."""
    k = x.ndim - 2
    if k == 2:
        return _weight_grad_2d(x, g, w_shape, stride, dilation, groups)
    if k == 1:
        return _weight_grad_2d(x[:, :, None], g[:, :, None], (*w_shape[:2], 1, w_shape[2]),
                               (1, *stride), (1, *dilation), groups)[:, :, 0]
    n, o = x.shape[0], g.shape[2]
    gs = np.moveaxis(g, 2, 1).reshape(n * o, g.shape[1], *g.shape[3:])
    out = np.empty(w_shape, dtype=g.dtype, like=g)
    for p in range(w_shape[2]):
        out[:, :, p] = conv_weight_grad(_taps(x, p, stride[0], dilation[0], o), gs,
                                        (*w_shape[:2], *w_shape[3:]), stride[1:],
                                        dilation[1:], groups)
    return out


def _by_samples(samples: Any, x: np.ndarray, work: int) -> list:
    """``samples((lo, hi))`` over the whole batch of ``x``: split into parts that run on
    several threads (`tapegrad.kernels.threads`) when the work is large enough, else one call.
    Each part writes its own samples' rows of the output, so the parts never overlap."""
    n = x.shape[0]
    if type(x) is not np.ndarray:  # device arrays: their kernels are already parallel
        return [samples((0, n))]
    parts = threads.worth_splitting(n, work)
    if parts > 1:
        # twice as many parts as threads: a worker that starts late (waking one costs ~20-30
        # us) leaves its second part to the caller instead of making it wait
        return threads.parallel_map(samples, threads.split(n, 2 * parts))
    capped = threads.blas_cap(work / max(n, 1))  # one product per sample
    try:
        return [samples((0, n))]
    finally:
        threads.blas_restore(capped)


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


def _padded(x: np.ndarray, padding: tuple) -> np.ndarray:
    """``x`` (N, C, *S) with its symmetric zero padding applied."""
    if any(padding):
        x = np.pad(x, ((0, 0), (0, 0), *((p, p) for p in padding)))
    return x


def _crop(x: np.ndarray, padding: tuple) -> np.ndarray:
    """The inverse of `_padded`: drop ``padding`` from both ends of each spatial dim."""
    if any(padding):
        x = x[(slice(None), slice(None),
               *(slice(p, x.shape[2 + i] - p) for i, p in enumerate(padding)))]
    return contiguous(x)


# ------------------------------------------------------------------ the three Functions
class _Conv(Function):
    """``C(x, w) + b``: a batched convolution with any number of spatial dims, of an input
    already checked by `conv1d`/`conv2d`/`conv3d`.

    forward(x, w, b, stride=, padding=, dilation=, groups=): ``x`` (N, C, *S), symmetric
    zero ``padding`` per spatial dim.

    Equals, per group, ``weight.reshape(oc, -1) @ cols + bias``, where ``cols`` stacks one
    strided slice of the zero-padded input per kernel tap (im2col by slicing and ``stack``;
    checked, with second derivatives, in tests/ops/test_fused_composites.py).
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
        out = conv_forward(_padded(input._data, padding), weight._data, stride, dilation,
                           groups, None if bias is None else bias._data)
        ctx.geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        ctx.save_for_backward(input, weight)
        return wrap(contiguous(out))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        input, weight = ctx.saved_tensors
        geo = ctx.geometry
        need_x, need_w, need_b = ctx.needs_input_grad
        g = grad._data
        if (not _grad_state.grad_enabled and g.ndim == 4 and type(g) is np.ndarray
                and g.dtype == weight._data.dtype == input._data.dtype):
            # First-order backward of a 2-d convolution (no graph is being built): the same
            # formulas straight on the arrays, in one pass (`_backward_2d`). A graph (double
            # backward) takes the Functions below, which can be differentiated again.
            padding = geo["padding"]
            gx, gw, gb = _backward_2d(_padded(input._data, padding), g, weight._data,
                                      geo["stride"], geo["dilation"], geo["groups"],
                                      (need_x, need_w, need_b))
            return (None if gx is None else wrap(_crop(gx, padding)),
                    None if gw is None else wrap(gw), None if gb is None else wrap(gb))
        gx = (_ConvTranspose.apply(grad, weight, None, **geo, shape=input.shape) if need_x
              else None)
        gw = _ConvWeightGrad.apply(input, grad, **geo, shape=weight.shape) if need_w else None
        gb = grad.sum(dim=(0, *range(2, grad.ndim))) if need_b else None
        return gx, gw, gb


class _ConvTranspose(Function):
    """``T(g, w)``: the transposed convolution, i.e. the input gradient of `_Conv`.

    forward(g, w, b, stride, padding, dilation, groups, shape=): the result has ``shape`` (the
    convolution input's), plus the bias ``b`` (or None) per channel; ``w`` is the convolution's
    weight (C_out, C_in/G, *K), so as a layer
    of its own (``conv_transpose``) it maps ``C_out`` channels to ``C_in``. Every input
    position spreads ``w``-weighted copies of itself over the window it feeds: an upsampling.

    Equals the gradient of `_Conv`'s composite with respect to its input (checked in
    tests/ops/test_fused_composites.py).
    """

    caption = ("{g} convolved with the kernel (a transposed convolution's gradient is a "
               'convolution) : {s0} ← {sg} ⋆ {s1}',
               '{g} correlated with {x0}, summed over the batch : {s1}',
               'Σ {g} over the batch and every position : {s2}')
    node_name = "ConvolutionBackward0"
    op_name = "conv_transpose"

    @staticmethod
    def forward(ctx: Node, grad: Tensor, weight: Tensor, bias: Tensor | None, stride: tuple,
                padding: tuple, dilation: tuple, groups: int, shape: tuple) -> Tensor:
        padded = (*shape[:2], *(s + 2 * p for s, p in zip(shape[2:], padding, strict=True)))
        full = conv_input_grad(grad._data, weight._data, padded, stride, dilation, groups)
        out = _crop(full, padding)
        if bias is not None:
            out = np.add(out, bias._data.reshape(-1, *(1,) * (out.ndim - 2)))
        ctx.geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        ctx.save_for_backward(grad, weight)
        return wrap(out)

    @staticmethod
    def backward(ctx: Node, gg: Tensor) -> tuple:
        grad, weight = ctx.saved_tensors
        geo = ctx.geometry
        need_g, need_w, need_b = ctx.needs_input_grad
        d_grad = d_w = d_b = None
        if need_g:
            d_grad = _Conv.apply(gg, weight, None, **geo)
            if tuple(d_grad.shape) != tuple(grad.shape):  # output_padding rows: not read
                d_grad = d_grad[tuple(slice(0, n) for n in grad.shape)]
        if need_w:
            d_w = _ConvWeightGrad.apply(gg, grad, **geo, shape=weight.shape)
        if need_b:
            d_b = gg.sum(dim=(0, *range(2, gg.ndim)))
        return d_grad, d_w, d_b


class _ConvWeightGrad(Function):
    """``G(x, g)``: the weight gradient of `_Conv` for input ``x`` and output gradient ``g``.

    Equals the gradient of `_Conv`'s composite with respect to its weight (checked in
    tests/ops/test_fused_composites.py).
    """

    caption = ('{x1} convolved back with the weight gradient\'s own gradient (a transposed '
               'convolution) : {s0}',
               '{x0} convolved with the weight gradient\'s own gradient : {s1}')
    node_name = "ConvolutionBackwardBackward0"
    op_name = "conv_weight_grad"

    @staticmethod
    def forward(ctx: Node, input: Tensor, grad: Tensor, stride: tuple, padding: tuple,
                dilation: tuple, groups: int, shape: tuple) -> Tensor:
        x = _padded(input._data, padding)
        g = grad._data
        k = g.ndim - 2
        natural = [_out_len(x.shape[2 + i], shape[2 + i], stride[i], dilation[i])
                   for i in range(k)]
        if list(g.shape[2:]) != natural:  # output_padding rows of a transposed conv
            g = np.pad(g, [(0, 0), (0, 0)] + [(0, a - b) for a, b in zip(natural, g.shape[2:],
                                                                         strict=True)])
        ctx.geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        ctx.save_for_backward(input, grad)
        return wrap(conv_weight_grad(x, g, tuple(shape), stride, dilation, groups))

    @staticmethod
    def backward(ctx: Node, gw: Tensor) -> tuple:
        input, grad = ctx.saved_tensors
        geo = ctx.geometry
        need_x, need_g = ctx.needs_input_grad[:2]
        d_x = _ConvTranspose.apply(grad, gw, None, **geo, shape=input.shape) if need_x else None
        d_g = None
        if need_g:
            d_g = _Conv.apply(input, gw, None, **geo)
            if tuple(d_g.shape) != tuple(grad.shape):
                d_g = d_g[tuple(slice(0, n) for n in grad.shape)]
        return d_x, d_g


# ------------------------------------------------------------------ the public functions
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
    out = _Conv.apply(input, weight, bias, stride=stride, padding=padding,
                      dilation=dilation, groups=int(groups))
    return out.squeeze(0) if unbatched else out


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
           stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """3-d convolution of ``input`` (N, C, D, H, W) or (C, D, H, W) with ``weight``
    (out_channels, C/groups, kD, kH, kW); options as in `conv2d`."""
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


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


def _conv_transpose(fn: str, n: int, input: Tensor, weight: Tensor, bias: Tensor | None,
                    stride: Any, padding: Any, output_padding: Any, groups: int,
                    dilation: Any) -> Tensor:
    require_tensor(input, fn)
    require_tensor(weight, fn, "weight", 2)
    stride = expand_ints(stride, n, "stride", fn)
    padding = expand_ints(padding, n, "padding", fn)
    output_padding = expand_ints(output_padding, n, "output_padding", fn)
    dilation = expand_ints(dilation, n, "dilation", fn)
    out_size = check_conv_transpose(fn, input, weight, bias, stride, padding, output_padding,
                                    dilation, groups, n)
    unbatched = input.ndim == n + 1
    if unbatched:
        input = input.unsqueeze(0)
    shape = (input.shape[0], weight.shape[1] * groups, *out_size)
    out = _ConvTranspose.apply(input, weight, bias, stride=stride, padding=padding,
                               dilation=dilation, groups=int(groups), shape=shape)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     groups: int = 1, dilation: Any = 1) -> Tensor:
    """1-d transposed convolution of (N, C_in, L) or (C_in, L) with ``weight``
    (C_in, C_out/groups, k): the input gradient of a `conv1d` with that weight, an upsampling
    layer. Output length ``(L-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1``."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     groups: int = 1, dilation: Any = 1) -> Tensor:
    """2-d transposed convolution of (N, C_in, H, W) or (C_in, H, W) with ``weight``
    (C_in, C_out/groups, kH, kW); sizes as in `conv_transpose1d`, per dim.

    ``output_padding`` (smaller than the stride or the dilation) adds rows/columns at the
    end that no input reaches: several input sizes give the same strided convolution output,
    and it picks which one the transpose restores.
    """
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     groups: int = 1, dilation: Any = 1) -> Tensor:
    """3-d transposed convolution of (N, C_in, D, H, W) or (C_in, D, H, W) with ``weight``
    (C_in, C_out/groups, kD, kH, kW); sizes as in `conv_transpose1d`, per dim."""
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)
