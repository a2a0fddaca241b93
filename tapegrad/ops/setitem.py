"""Writing at an index: ``x[index] = v``, ``index_put`` and ``index_put_``.

A write replaces values, so it changes what the result depends on: the positions that
were overwritten no longer depend on the old ``x`` (their gradient to ``x`` is zero), and
``v``'s gradient is the output gradient read at those positions (``grad[index]``, summed
back to ``v``'s shape when ``v`` was broadcast). That op is `IndexPut`, which lives beside
its mirror `Index` in `tapegrad.ops.indexing`; torch names the node after the route taken:

    x[[0, 2]] = v      advanced only: index_put_                    IndexPutBackward0
    x[1:3] = v         any int/slice/None: a view, then copy_ or     CopySlices
                       fill_ on it (an in-place op through a view)
    x[...] = v         the whole tensor: copy_                       CopyBackwards

Being in place, a write first passes torch's checks: the value's shape must broadcast to
the written region, the dtypes must match (advanced only), a leaf that requires grad (or a
view of one) may not be written, and neither may an expanded tensor, whose elements share
memory (`check_writeable`). torch makes them in a different order on the two routes, which
decides the error raised when several fail; `setitem` follows it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad.autograd.grad_mode import _state
from tapegrad.creation import tensor
from tapegrad.ops._util import check_inplace
from tapegrad.ops.fill import copy_, fill_
from tapegrad.ops.index_spec import IndexSpec, advanced_shape, parse_index
from tapegrad.ops.indexing import IndexPut, apply_index
from tapegrad.tensor import Tensor


class CopyBackwards(IndexPut):
    """``x[...] = v``: torch's ``copy_`` of the whole tensor."""

    caption = ('{g} with the assigned places set to 0 : {s0}',
               '{g} at the assigned places : {s1}')
    node_name = "CopyBackwards"
    op_name = "setitem"


def check_writeable(x: Tensor) -> None:
    """Expanded tensors are read-only numpy views (torch writes through them, warning)."""
    if not x._data.flags.writeable:
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location. Please clone() the tensor before performing the operation.")


def _check_values(values: Any, target_shape: tuple, advanced: bool) -> None:
    vshape = tuple(values._data.shape) if isinstance(values, Tensor) else ()
    core = list(vshape)
    while len(core) > len(target_shape) and core[0] == 1:
        core.pop(0)  # extra leading size-1 dims are allowed
    ok = len(core) <= len(target_shape) and all(
        v in (1, t) for v, t in zip(reversed(core), reversed(target_shape), strict=False))
    if ok:
        return
    if advanced:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(vshape)} cannot be "
                           f"broadcast to indexing result of shape {list(target_shape)}")
    for i in range(1, len(core) + 1):
        have = target_shape[-i] if i <= len(target_shape) else 1
        if core[-i] not in (1, have):
            raise RuntimeError(
                f"The expanded size of the tensor ({have}) must match the existing size "
                f"({core[-i]}) at non-singleton dimension {len(target_shape) - i}.  Target "
                f"sizes: {list(target_shape)}.  Tensor sizes: {list(vshape)}")


def _check_put(x: Tensor, spec: IndexSpec, values: Any) -> None:
    """torch's checks on the written values: shape (broadcastable), dtype (advanced only)."""
    # the shape written to, from a zero-stride stand-in for x (no memory touched)
    view_shape = spec.view(np.broadcast_to(np.zeros((), np.bool_), x._data.shape)).shape
    target = view_shape if spec.adv is None else advanced_shape(view_shape, spec.adv)
    _check_values(values, target, spec.adv is not None)
    if spec.adv is not None and isinstance(values, Tensor) and values.dtype != x.dtype:
        raise RuntimeError(
            "Index put requires the source and destination dtypes match, got "
            f"{x.dtype.scalar_type} for the destination and "
            f"{values.dtype.scalar_type} for the source.")


def setitem(x: Tensor, index: Any, value: Any) -> None:
    """``x[index] = value``: an in-place write recorded on the tape."""
    spec = parse_index(x._data.shape, index)
    basic = any(kind != "alias" for kind, *_ in spec.steps)
    # torch: basic/`...` -> x[basic].copy_(value), which checks shapes first; advanced ->
    # index_put_ (on the basic view, if any), which checks the in-place rules first.
    if spec.adv is None:
        _check_put(x, spec, value)
    if (basic and _state.grad_enabled and x._requires_grad and x._grad_fn is None
            and x._view_meta is None):  # (a view's own checks come with the write)
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    if not basic:
        check_inplace(x)
        check_writeable(x)
    elif x._view_meta is None:  # (a view's own checks come with the write into x[basic])
        check_inplace(x)
    if spec.adv is not None:
        _check_put(x, spec, value)
    if not basic:
        cls = IndexPut if spec.adv is not None else CopyBackwards
        cls.apply(x, value, spec=spec, inplace=True)
        return
    # torch's route: a view of x, then an in-place op on the view; autograd turns that into
    # CopySlices on x (see tapegrad.autograd.views)
    view = apply_index(x, IndexSpec(spec.steps, None))
    if spec.adv is not None:
        check_inplace(view, None, value)
        IndexPut.apply(view, value, spec=IndexSpec((), spec.adv), inplace=True)
    elif isinstance(value, (bool, int, float)):
        check_writeable(view)  # torch copies the number: no element may repeat
        fill_(view, value)
    else:
        if not isinstance(value, Tensor):
            value = tensor(value, dtype=x.dtype)
        extra = value._data.ndim - view._data.ndim
        if extra > 0:  # extra leading size-1 dims are allowed (checked above)
            value = value.reshape(value._data.shape[extra:])
        copy_(view, value)


def index_put_(x: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    """``x[indices] = values`` (or ``+=`` with accumulate) for a tuple of index tensors."""
    for i, t in enumerate(indices):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    spec = parse_index(x._data.shape, tuple(indices))
    _check_put(x, spec, values)
    check_inplace(x)
    check_writeable(x)
    return IndexPut.apply(x, values, spec=spec, accumulate=accumulate, inplace=True)


def index_put(x: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    """Out-of-place ``index_put_``."""
    for i, t in enumerate(indices):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    spec = parse_index(x._data.shape, tuple(indices))
    _check_put(x, spec, values)
    return IndexPut.apply(x, values, spec=spec, accumulate=accumulate)


__all__ = ["index_put", "index_put_"]

METHODS = {"__setitem__": setitem, "index_put": index_put, "index_put_": index_put_}
