"""Mask ops: bool masks in, and their inverse, the positions of the True elements out.

    y = x.masked_fill(mask, v)       y = v where mask, else x        (mask broadcasts)
    y = x.masked_select(mask)        the elements where mask, as 1-D
    i = x.nonzero()                  the (n, ndim) indices of the non-zero elements

``masked_fill`` overwrites, so the filled positions of ``x`` get no gradient while a tensor
``v`` collects the gradient of every position it filled (a sum). ``masked_select`` reads, so
its backward (``masked_scatter`` into zeros) writes each gradient back where its element
came from; the two are each other's backward. Masks and indices never get gradients;
``nonzero``/``argwhere`` are not differentiable at all. The same read/write pairs with an
index tensor are in `tapegrad.ops.scatter` and `tapegrad.ops.index_select`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.ops._util import broadcast_shapes, check_inplace, wrap
from tapegrad.ops.comparison import where
from tapegrad.ops.out_arg import write_out
from tapegrad.ops.setitem import check_writeable
from tapegrad.tensor import Tensor

# the C++ type names torch prints in masked_fill's mask dtype error
_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
            "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char"}


class MaskedFill(Function):
    """Put ``value`` where ``mask`` is True. d/dx: the gradient where the mask is False
    (zero where x was overwritten); d/dvalue (a 0-d tensor): the sum of the gradient over
    the filled positions."""

    caption = ('{g} where the mask is false, 0 where it was filled : {s0}',)
    op_name = "masked_fill"

    @staticmethod
    def forward(ctx: Node, x: Tensor, value: Any, mask: np.ndarray,
                inplace: bool = False) -> Tensor:
        ctx.mask = mask
        val = value._data if isinstance(value, Tensor) else np.asarray(value)
        if inplace:
            np.copyto(x._data, val, casting="unsafe", where=mask)
            x._bump_version()
            ctx.mark_dirty(x)
            return x
        return wrap(np.where(mask, val.astype(x._data.dtype), x._data))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        # where(), not a multiplication by the mask: inf * 0 would be nan (torch gives 0)
        mask = wrap(ctx.mask)
        grad_x = where(mask, 0.0, grad) if ctx.needs_input_grad[0] else None
        grad_v = None
        if len(ctx.needs_input_grad) > 1 and ctx.needs_input_grad[1]:
            grad_v = where(mask, grad, 0.0).sum_to_size(())
        return grad_x, grad_v


class MaskedFillTensor(MaskedFill):
    node_name = "MaskedFillBackward1"
    op_name = "masked_fill"


def _mask_of(x: Tensor, mask: Tensor, value: Any) -> np.ndarray:
    if mask.dtype.name != "bool":
        raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{_C_NAMES.get(mask.dtype.name, mask.dtype.name)}")
    if isinstance(value, (complex, np.complexfloating)):  # tapegrad has no complex dtypes
        raise RuntimeError(f"value cannot be converted to type {x.dtype.numpy.name} without "
                           "overflow")
    if isinstance(value, Tensor) and value._data.ndim != 0:
        raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value._data.ndim} dimension(s).")
    return mask._data.copy()  # backward must not see later edits of the mask


def masked_fill(x: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``value`` where ``mask`` (bool, broadcast with x) is True, else ``x``."""
    m = _mask_of(x, mask, value)
    shape = broadcast_shapes(m.shape, x._data.shape)
    cls = MaskedFillTensor if isinstance(value, Tensor) else MaskedFill
    return cls.apply(x, value, mask=np.broadcast_to(m, shape))


def masked_fill_(x: Tensor, mask: Tensor, value: Any) -> Tensor:
    """In-place ``masked_fill``; the mask must broadcast to x's shape."""
    m = _mask_of(x, mask, value)
    check_inplace(x, broadcast_shapes(m.shape, x._data.shape), value)
    check_writeable(x)
    cls = MaskedFillTensor if isinstance(value, Tensor) else MaskedFill
    return cls.apply(x, value, mask=np.broadcast_to(m, x._data.shape), inplace=True)


class MaskedSelect(Function):
    """The elements where ``mask`` is True, as a 1-D copy. Backward scatters the gradient
    back to those positions (zeros elsewhere)."""

    caption = ('{g} put back where the mask is true, 0 elsewhere : {sg} → {s0}',)

    @staticmethod
    def forward(ctx: Node, x: Tensor, mask: np.ndarray) -> Tensor:
        ctx.mask = mask
        return wrap(np.broadcast_to(x._data, mask.shape)[mask])

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return MaskedScatter.apply(grad, mask=ctx.mask)


class MaskedScatter(Function):
    """masked_select's backward as an op: zeros with ``source`` written where mask is True."""

    caption = ('{g} where the mask is false : {s0}',
               '0 (the mask has no gradient)',
               '{g} where the mask is true, in order : {s2}')
    op_name = "masked_scatter"

    @staticmethod
    def forward(ctx: Node, source: Tensor, mask: np.ndarray) -> Tensor:
        ctx.mask = mask
        out = np.zeros(mask.shape, dtype=source._data.dtype, like=source._data)
        out[mask] = source._data
        return wrap(out)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return MaskedSelect.apply(grad, mask=ctx.mask)


def masked_select(x: Tensor, mask: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The elements of ``x`` where ``mask`` is True (both broadcast), as a 1-D tensor."""
    if mask.dtype.name != "bool":
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shape = broadcast_shapes(mask._data.shape, x._data.shape)
    result = MaskedSelect.apply(x, mask=np.broadcast_to(mask._data.copy(), shape))
    if out is None:
        return result
    return write_out("masked_select", result, out, x, mask, exact_dtype=True)


def masked_scatter(x: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """A copy of ``x`` (broadcast with ``mask``) whose positions where ``mask`` is True get
    the first elements of ``source``, in order. Written as ``where(mask, spread, x)``, with
    ``spread`` = those source elements put in place (masked_select's backward op), so the
    gradient of ``source`` is the gradient read at the True positions, and ``x`` gets it
    elsewhere."""
    if mask.dtype.name != "bool":
        raise RuntimeError("masked_scatter_ only supports boolean masks, but got mask with "
                           f"dtype {mask.dtype.scalar_type}")
    if source.dtype != x.dtype:
        raise RuntimeError("masked_scatter: expected self and source to have same dtypes but "
                           f"got {x.dtype.scalar_type} and {source.dtype.scalar_type}")
    shape = broadcast_shapes(mask._data.shape, x._data.shape)
    m = np.broadcast_to(mask._data, shape).copy()
    count = int(m.sum())
    if count > source._data.size:
        raise RuntimeError("masked_scatter: expected source to have at least as many elements "
                           f"as ones in mask, but got {source._data.size} elements and "
                           f"{count} ones")
    flat = source.reshape(-1)
    part = flat[:count] if count != flat._data.size else flat
    spread = MaskedScatter.apply(part, mask=m)
    return where(wrap(m), spread, x)


# ---------------------------------------------------------------- where the True elements are
def nonzero(x: Tensor, *, as_tuple: bool = False) -> Tensor | tuple:
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one 1-D tensor per
    dim with ``as_tuple=True``. Not differentiable (indices have no gradient)."""
    if not as_tuple:
        return wrap(np.argwhere(x._data).astype(np.int64))
    if x._data.ndim == 0:
        return (wrap(np.zeros(1 if x._data else 0, dtype=np.int64)),)
    return tuple(wrap(a.astype(np.int64)) for a in np.nonzero(x._data))


def argwhere(x: Tensor) -> Tensor:
    return nonzero(x)


def nonzero_static(x: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """``nonzero`` with a shape known in advance: exactly ``size`` rows, the first
    non-zero positions, padded with rows of ``fill_value`` (compilers need fixed shapes)."""
    if size < 0:
        raise RuntimeError("nonzero_static: 'size' must be an non-negative integer")
    found = np.argwhere(x._data).astype(np.int64)[:size]
    out = np.full((size, x._data.ndim), fill_value, dtype=np.int64)
    out[:len(found)] = found
    return wrap(out)


def isin(elements: Any, test_elements: Any, *, assume_unique: bool = False,
         invert: bool = False) -> Tensor:
    """Which elements of ``elements`` occur in ``test_elements`` (either may be a number):
    a bool tensor of ``elements``' shape (``invert=True``: which do not)."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin() received an invalid combination of arguments: at least one "
                        "of elements and test_elements must be a Tensor")
    a = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    b = test_elements._data if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    return wrap(np.isin(a, b, invert=invert))


__all__ = ["masked_fill", "masked_select", "masked_scatter", "nonzero", "argwhere",
           "nonzero_static", "isin"]

METHODS = {
    "masked_fill": masked_fill, "masked_fill_": masked_fill_, "masked_select": masked_select,
    "nonzero": nonzero, "argwhere": argwhere, "masked_scatter": masked_scatter,
    "nonzero_static": nonzero_static, "isin": isin,
}
