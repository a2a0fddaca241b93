"""In-place fills: ``zero_``, ``fill_``, ``copy_`` (part of the elementwise family), the
two helpers every in-place op of the family uses, ``fill`` (out of place) and ``resize_``.

An in-place op overwrites its input, so autograd must be told three things: the tensor
is now at a new *version* (saved copies of the old value are stale, and backward will
refuse them), the op's output *is* the input (``mark_dirty``), and a leaf that requires
grad may not be overwritten while recording (its ``.grad`` would describe a value that no
longer exists). The gradient of a fill w.r.t. the old value is 0: the result does not
depend on it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.grad_mode import _state
from tapegrad.device import move
from tapegrad.kernels.arrays import root_buffer, writable_alias
from tapegrad.ops._util import broadcast_shapes, check_inplace, wrap
from tapegrad.tensor import Tensor


def zeros_like(t: Tensor) -> Tensor:
    """A fresh tensor of zeros (the gradient of a step function or of a fill)."""
    return wrap(np.zeros(t._data.shape, dtype=t._data.dtype, like=t._data))


def begin_inplace(x: Tensor, result_shape: tuple | None = None, *others: Any,
                  overlap_ok: bool = False) -> None:
    """The checks every in-place op runs *before* it touches memory (see check_inplace);
    ``others`` are the op's other tensor inputs (they decide whether gradients are
    involved)."""
    check_inplace(x, result_shape, *others, overlap_ok=overlap_ok)


def writable(data: Any) -> Any:
    """``data`` itself, or for an expanded (read-only, broadcast) numpy view a writable
    alias of the same memory: filling every element with one value is well defined even
    where elements share a location, and torch allows it."""
    if data.flags.writeable or type(data) is not np.ndarray:
        return data
    return writable_alias(data, root_buffer(data))


def recorded_clone(x: Tensor) -> Tensor:
    """``x.clone()`` recorded on the tape even inside a forward (which runs with recording
    off): an in-place op that needs the old x keeps it *with its history*, so that under
    ``create_graph=True`` second derivatives through the op stay exact."""
    before = _state.grad_enabled
    _state.grad_enabled = True
    try:
        return x.clone()
    finally:
        _state.grad_enabled = before


def finish_inplace(ctx: Node, x: Tensor) -> Tensor:
    """What every in-place forward ends with: a new version, and x declared modified."""
    x._bump_version()
    ctx.mark_dirty(x)
    return x


class Zero(Function):
    """x.zero_(): the result does not depend on the old x, so its gradient is 0."""

    caption = ('0 (every element was overwritten) : {s0}',)
    op_name = "zero_"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        writable(x._data)[...] = 0
        return finish_inplace(ctx, x)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return zeros_like(grad)


class Fill(Function):
    """x.fill_(number): every element becomes ``value``; the old x gets gradient 0."""

    caption = ('0 (every element was overwritten) : {s0}',)
    node_name = "FillBackward2"
    op_name = "fill_"

    @staticmethod
    def forward(ctx: Node, x: Tensor, value: Any = 0) -> Tensor:
        writable(x._data)[...] = value
        return finish_inplace(ctx, x)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return zeros_like(grad)


class FillTensor(Function):
    """x.fill_(v) with a 0-d tensor v: every element is v, so dL/dv = sum of the grads
    (we return ``grad`` itself; the engine sums it down to v's shape ())."""

    caption = Fill.caption
    node_name = "FillBackward3"
    op_name = "fill_"

    @staticmethod
    def forward(ctx: Node, x: Tensor, value: Tensor) -> Tensor:
        writable(x._data)[...] = value._data
        return finish_inplace(ctx, x)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        needs_x, needs_v = ctx.needs_input_grad
        return zeros_like(grad) if needs_x else None, grad if needs_v else None


class Copy(Function):
    """x.copy_(src): src is broadcast into x (and cast to x's dtype). The old x gets
    gradient 0, src gets ``grad`` (summed back to src's shape and cast by the engine).
    As in torch, src may live on another device: it is copied across (one counted transfer),
    and its gradient is copied back."""

    caption = ('0 (overwritten)',
               '{g} : {s1}')
    node_name = "CopyBackwards"
    op_name = "copy_"

    @staticmethod
    def forward(ctx: Node, x: Tensor, src: Tensor) -> Tensor:
        ctx.src_device = src.device
        data = src._data
        if ctx.src_device != x.device:
            data = move(data, x.device)
        np.copyto(x._data, data, casting="unsafe")
        return finish_inplace(ctx, x)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        needs_x, needs_src = ctx.needs_input_grad
        return (zeros_like(grad) if needs_x else None,
                grad.to(ctx.src_device) if needs_src else None)


def zero_(self: Tensor) -> Tensor:
    """Fill self with zeros in place; returns self."""
    begin_inplace(self, overlap_ok=True)
    return Zero.apply(self)


def fill_(self: Tensor, value: Any) -> Tensor:
    """Fill self with ``value`` (a number or a 0-d tensor) in place; returns self."""
    begin_inplace(self, None, value, overlap_ok=True)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                "fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value.ndim} dimensions."
            )
        return FillTensor.apply(self, value)
    return Fill.apply(self, value=value)


def copy_(self: Tensor, src: Tensor, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast to self's shape, cast to self's dtype) into self."""
    if not isinstance(src, Tensor):
        raise TypeError(
            f"copy_(): argument 'src' (position 1) must be Tensor, not {type(src).__name__}"
        )
    begin_inplace(self, broadcast_shapes(self._data.shape, src._data.shape), src)
    return Copy.apply(self, src)

def fill(x: Tensor, value: Any) -> Tensor:
    """``fill_`` out of place: a new tensor of ``x``'s shape and dtype holding ``value``
    everywhere (``x`` gets gradient 0; a 0-d tensor ``value`` gets the sum of all)."""
    return fill_(x.clone(), value)


def resize_(x: Tensor, *size: Any, memory_format: Any = None) -> Tensor:
    """Give ``x`` a new shape *in place*, keeping its first elements (in memory order): a
    smaller size keeps a prefix, a bigger one appends new elements (zeros here; torch
    leaves them uninitialised). Not differentiable: torch refuses it on a tensor that
    requires grad, since no gradient could flow through the changed storage."""
    shape = tuple(int(s) for s in (size[0] if len(size) == 1 and not isinstance(
        size[0], (int, np.integer)) else size))
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{min(shape)}: {list(shape)}")
    if x._requires_grad and _state.grad_enabled:
        raise RuntimeError("cannot resize variables that require grad")
    n = int(np.prod(shape, dtype=np.int64))
    flat = x._data.reshape(-1)
    if n <= flat.size:
        x._data = flat[:n].reshape(shape)
    else:
        grown = np.zeros(n, dtype=x._data.dtype)
        grown[:flat.size] = flat
        x._data = grown.reshape(shape)
    x._bump_version()
    return x


def resize_as_(x: Tensor, other: Tensor, *, memory_format: Any = None) -> Tensor:
    """``x.resize_(other.shape)``."""
    return resize_(x, other._data.shape)


__all__: list[str] = ["fill", "resize_as_", "zero_"]

METHODS = {"zero_": zero_, "fill_": fill_, "copy_": copy_, "fill": fill, "resize_": resize_,
           "resize_as_": resize_as_}
