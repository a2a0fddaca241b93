"""CUDA twins of `tapegrad.kernels.reference`: activations, the softmax family, sums.

Same functions, arguments and results as the CPU reference (``reference.__all__``), taking and
returning `CudaArray`s. Read `reference` for what each function computes; this module is about
how the GPU computes it. Three kinds of kernel:

* **Elementwise** (relu, the activation backwards, axpy_, scale_): one expression per element,
  run by the generated strided kernels of `elementwise`, so transposed, sliced or broadcast
  operands need no copy, and the in-place ``_`` functions write through views. sigmoid needs
  ``exp``, which those expressions cannot call, so it has its own kernel (`row_kernels`).
* **One block per row** (the softmax family, `sum_to_shape`): the kernels of `row_kernels`,
  whose docstring explains the shared-memory tree reduction. The reduced axis can be any axis
  of any strided view: rows and columns are addressed through strides, nothing is copied.
* **Cross-entropy** (`log_softmax_nll`): the log-softmax row kernel that also picks each target's
  log-probability, in one launch. A kernel cannot raise, so a target out of range gives a NaN
  loss and a flag in a per-row ``errors`` array, and the op layer decides when to look at it
  (`raise_target_errors`): looking means a copy to the host, which waits for the GPU.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from .. import reference
from . import elementwise, runtime
from .array import CudaArray, device_mismatch
from .row_kernels import kernels as _kernels
from .row_kernels import launch_rows, layout, sigmoid_kernel
from .ufuncs import erf  # noqa: F401 - part of this module's API (reference.__all__)

__all__ = list(reference.__all__)


# ------------------------------------------------------------------ elementwise
def _same_shape(a: CudaArray, b: CudaArray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {a.shape} and {b.shape}")


def relu(x: CudaArray) -> CudaArray:
    """``max(x, 0)``; NaN stays NaN (the test order of ``np.maximum``)."""
    zero = x.dtype.type(0)
    return elementwise.launch("x0 if (x0 >= x1 or x0 != x0) else x1",
                              CudaArray.empty(x.shape, x.dtype), [x, zero], [x.dtype] * 2)


def threshold_backward(grad: CudaArray, x: CudaArray, threshold: float) -> CudaArray:
    """``0 if x <= threshold else grad`` (NaN in x lets grad through), in grad's dtype."""
    _same_shape(grad, x)
    dt = grad.dtype
    return elementwise.launch("x3 if x1 <= x2 else x0", CudaArray.empty(grad.shape, dt),
                              [grad, x, dt.type(threshold), dt.type(0)], [dt] * 4)


def sigmoid_backward(grad: CudaArray, y: CudaArray) -> CudaArray:
    """``grad * y * (1 - y)``."""
    _same_shape(grad, y)
    dt = np.result_type(grad.dtype, y.dtype)
    return elementwise.launch("x0 * x1 * (x2 - x1)", CudaArray.empty(grad.shape, dt),
                              [grad, y, dt.type(1)], [dt] * 3)


def tanh_backward(grad: CudaArray, y: CudaArray) -> CudaArray:
    """``grad * (1 - y*y)``."""
    _same_shape(grad, y)
    dt = np.result_type(grad.dtype, y.dtype)
    return elementwise.launch("x0 * (x2 - x1 * x1)", CudaArray.empty(grad.shape, dt),
                              [grad, y, dt.type(1)], [dt] * 3)


def axpy_(dst: CudaArray, src: CudaArray, alpha: float) -> CudaArray:
    """In place ``dst += alpha * src`` (alpha and src in dst's dtype); returns ``dst``."""
    if src.shape != dst.shape:
        raise ValueError(f"axpy_: src shape {src.shape} does not match dst shape {dst.shape}")
    dt = dst.dtype
    return elementwise.launch("x0 + x2 * x1", dst, [dst, src, dt.type(alpha)], [dt] * 3)


def scale_(dst: CudaArray, alpha: float) -> CudaArray:
    """In place ``dst *= alpha`` (alpha in dst's dtype); returns ``dst``."""
    return elementwise.launch("x0 * x1", dst, [dst, dst.dtype.type(alpha)], [dst.dtype] * 2)


def sigmoid(x: CudaArray) -> CudaArray:
    """Stable logistic, ``(1 if x >= 0 else e) / (1 + e)`` with ``e = exp(-|x|)``: one pass.
    (Its own kernel: it needs ``exp``, which the elementwise expressions cannot call.)"""
    x = _floating(x)
    out = CudaArray.empty(x.shape, x.dtype)
    if x.size:
        shape, strides = layout(x)
        threads = runtime.threads_per_block()
        sigmoid_kernel(x.dtype)[runtime.blocks_for(x.size, threads), threads](
            x.size, shape, x._buf, x.offset, strides, out._buf)
    return out


# ------------------------------------------------------------------ rows
def _as_rows(x: CudaArray, axis: int) -> tuple[CudaArray, int, tuple[int, ...], int]:
    """``(x, axis, row_shape, cols)``: a 0-d x becomes a length-1 vector; the rows are indexed
    by the other axes in order (at least one, so kernels always get a non-empty tuple)."""
    if x.ndim == 0:
        normalize_axis_index(axis, 1)
        x, axis = x.reshape(1), 0
    else:
        axis = normalize_axis_index(axis, x.ndim)
    row_shape = tuple(n for d, n in enumerate(x.shape) if d != axis) or (1,)
    return x, axis, row_shape, x.shape[axis]


def _row_args(a: CudaArray, axis: int) -> tuple[Any, int, tuple[int, ...], int]:
    """``(buffer, offset, row_strides, column_stride)`` of ``a`` for the row kernels."""
    row_strides = tuple(s for d, s in enumerate(a.strides_el) if d != axis) or (0,)
    return a._buf, a.offset, row_strides, a.strides_el[axis]


def _floating(x: CudaArray) -> CudaArray:
    """Integer input gives float64 results, as ``np.exp`` does in the reference."""
    return x if x.dtype.kind == "f" else x.astype(np.float64)


def _softmax(x: CudaArray, axis: int, take_log: bool) -> CudaArray:
    x = _floating(x)
    v, ax, row_shape, cols = _as_rows(x, axis)
    out = CudaArray.empty(v.shape, v.dtype)
    rows = math.prod(row_shape) if out.size else 0  # empty rows: nothing to write
    launch_rows(_kernels(v.dtype).softmax_rows, rows, rows, cols, row_shape,
                *_row_args(v, ax), *_row_args(out, ax), take_log)
    return out.reshape(x.shape)


def softmax(x: CudaArray, axis: int) -> CudaArray:
    """``exp(x - max) / sum(exp(x - max))`` along ``axis``: one block per row."""
    return _softmax(x, axis, False)


def log_softmax(x: CudaArray, axis: int) -> CudaArray:
    """``(x - max) - log(sum(exp(x - max)))`` along ``axis``: one block per row."""
    return _softmax(x, axis, True)


def _backward(grad: CudaArray, y: CudaArray, axis: int, log_form: bool) -> CudaArray:
    _same_shape(grad, y)
    g, ax, row_shape, cols = _as_rows(grad, axis)
    yv = y.reshape(g.shape).astype(g.dtype) if y.dtype != g.dtype else y.reshape(g.shape)
    out = CudaArray.empty(g.shape, g.dtype)
    rows = math.prod(row_shape) if out.size else 0
    launch_rows(_kernels(g.dtype).backward_rows, rows, rows, cols, row_shape,
                *_row_args(g, ax), *_row_args(yv, ax), *_row_args(out, ax), log_form)
    return out.reshape(grad.shape)


def softmax_backward(grad: CudaArray, y: CudaArray, axis: int) -> CudaArray:
    """``y * (grad - sum(grad * y))`` along ``axis``."""
    return _backward(grad, y, axis, False)


def log_softmax_backward(grad: CudaArray, y: CudaArray, axis: int) -> CudaArray:
    """``grad - exp(y) * sum(grad)`` along ``axis``."""
    return _backward(grad, y, axis, True)


def logsumexp(x: CudaArray, axis: int, keepdims: bool = False) -> CudaArray:
    """``m + log(sum(exp(x - m)))`` per row, ``m`` the max (0 when infinite: torch's rule)."""
    x = _floating(x)
    v, ax, row_shape, cols = _as_rows(x, axis)
    rows = math.prod(row_shape)
    out = CudaArray.empty(rows, v.dtype)
    launch_rows(_kernels(v.dtype).logsumexp_rows, rows, rows, cols, row_shape,
                *_row_args(v, ax), out._buf)
    if x.ndim == 0:
        return out.reshape(())
    kept = tuple(1 if d == ax else n for d, n in enumerate(v.shape))
    return out.reshape(kept if keepdims else tuple(n for d, n in enumerate(v.shape) if d != ax))


def sum_to_shape(x: CudaArray, shape: Sequence[int]) -> CudaArray:
    """Sum a broadcast array back down to ``shape`` (a fresh array, never a view of ``x``).

    The summed axes become each row's columns (several strided axes are fine) and the kept
    axes index the rows, in C order, so the rows' totals are ``out`` in C order."""
    shape = tuple(int(s) for s in shape)
    if x.shape == shape:
        return x.copy()
    lead = x.ndim - len(shape)
    if lead < 0 or any(s != 1 and s != d for s, d in zip(shape, x.shape[lead:], strict=True)):
        raise ValueError(f"size {list(shape)} is not expandable to size {list(x.shape)}")
    summed = set(range(lead)) | {lead + i for i, s in enumerate(shape)
                                 if s == 1 and x.shape[lead + i] != 1}
    if x.dtype.kind != "f":  # the kernel sums in float64: exact for floats only
        return np.sum(x, axis=tuple(sorted(summed)), keepdims=True).reshape(shape)
    kept = [d for d in range(x.ndim) if d not in summed]
    rshape = tuple(x.shape[d] for d in kept) or (1,)
    rstrides = tuple(x.strides_el[d] for d in kept) or (0,)
    cshape = tuple(x.shape[d] for d in sorted(summed))
    cstrides = tuple(x.strides_el[d] for d in sorted(summed))
    out = CudaArray.empty(shape, x.dtype)
    rows = out.size
    launch_rows(_kernels(x.dtype).sum_rows, rows, rows, rshape, rstrides, math.prod(cshape),
                cshape, cstrides, x._buf, x.offset, out._buf)
    return out


# ------------------------------------------------------------------ cross-entropy
def _nll_operands(shape: tuple[int, ...], target: CudaArray, weight: CudaArray | None
                  ) -> tuple:
    """Shape checks (metadata only: no copy) and the kernel arguments of target and weight."""
    n, c = shape
    for a in (target, weight):
        if a is not None and not isinstance(a, CudaArray):
            raise device_mismatch(a)
    if target.shape != (n,):
        raise ValueError(f"target shape {target.shape} does not match the batch size ({n},)")
    if target.dtype.kind not in "iu":
        target = target.astype(np.int64)
    if weight is not None and weight.shape != (c,):
        raise ValueError(f"weight shape {weight.shape} does not match the class count ({c},)")
    t_args = (target._buf, target.offset, target.strides_el[0])
    if weight is None:  # a placeholder the kernel never reads (has_w is False)
        return t_args + (target._buf, 0, 0, False)
    return t_args + (weight._buf, weight.offset, weight.strides_el[0], True)


def _errors_array(errors: CudaArray | None, n: int) -> CudaArray:
    if errors is None:
        return CudaArray.empty(n, np.int32)
    if errors.shape != (n,) or not errors.is_compact():
        raise ValueError(f"errors must be a contiguous ({n},) array, got {errors.shape}")
    return errors


def log_softmax_nll(x2d: CudaArray, target: CudaArray, weight: CudaArray | None,
                    ignore_index: int, *, errors: CudaArray | None = None
                    ) -> tuple[CudaArray, CudaArray]:
    """``(losses, log_probs)`` of cross-entropy for logits (N, C): one fused launch.

    Unlike the CPU kernel this cannot raise for a target outside [0, C): reading the targets
    on the host would stall the GPU. Such a row's loss is NaN and ``errors[row]`` is 1 (0 for
    good rows); pass an int (N,) device array as ``errors`` to keep the flags, and call
    `raise_target_errors` where an exception is worth a copy to the host."""
    n, c = x2d.shape
    t_w = _nll_operands((n, c), target, weight)
    x = _floating(x2d)
    log_probs, losses = CudaArray.empty((n, c), x.dtype), CudaArray.empty(n, x.dtype)
    flags = _errors_array(errors, n)
    launch_rows(_kernels(x.dtype).nll_rows, n, n, c, x._buf, x.offset, *x.strides_el, *t_w,
                int(ignore_index), log_probs._buf, losses._buf, flags._buf[flags.offset:])
    return losses, log_probs


def log_softmax_nll_backward(grad_losses: Any, log_probs: CudaArray, target: CudaArray,
                             weight: CudaArray | None, ignore_index: int, *,
                             errors: CudaArray | None = None) -> CudaArray:
    """Row n: ``grad_losses[n] * w[t[n]] * (exp(log_probs[n]) - onehot(t[n]))``, 0 for ignored
    rows, NaN (and ``errors[n] = 1``) for targets out of range. ``grad_losses``: a CUDA array
    that broadcasts to (N,), or a number."""
    n, c = log_probs.shape
    dt = log_probs.dtype
    t_w = _nll_operands((n, c), target, weight)
    if not isinstance(grad_losses, CudaArray):
        if np.ndim(grad_losses):
            raise device_mismatch(grad_losses)
        grad_losses = CudaArray.full(n, grad_losses, dt)  # a fill kernel: no transfer
    g = grad_losses.broadcast_to((n,))
    out = CudaArray.empty((n, c), dt)
    flags = _errors_array(errors, n)
    launch_rows(_kernels(dt).nll_grad_rows, n, n, c, log_probs._buf, log_probs.offset,
                *log_probs.strides_el, g._buf, g.offset, g.strides_el[0], *t_w,
                int(ignore_index), out._buf, flags._buf[flags.offset:])
    return out


def raise_target_errors(errors: CudaArray, target: CudaArray, n_classes: int,
                        ignore_index: int) -> None:
    """Raise the CPU kernel's IndexError if any row of ``errors`` is flagged. Copies the flags
    (and then the bad target) to the host: call it where a stall is acceptable."""
    flags = errors.get()
    if flags.any():
        bad = int(np.argmax(flags != 0))
        raise reference._target_error(int(target[bad:bad + 1].get()[0]), n_classes, ignore_index)
