"""Ops that run on the host for a tensor on the GPU.

Sorting, selecting by rank, counting and LAPACK's matrix functions are computed with numpy
(see `tapegrad.ops.sorting`, `tapegrad.ops.matrix`...), and tapegrad's CUDA backend has no
kernels for them. Rather than failing on a ``cuda`` tensor, such an op is wrapped with
`computed_on_host`: its tensor arguments are copied to the CPU, the op runs there, and its
tensor results are copied back to the argument's device. Both copies are recorded
(``ToCopyBackward0``), so the gradient comes back to the GPU tensor the same way, and
nothing about the op's own gradient changes. The price is two transfers, which the
``tapegrad.cuda`` transfer counters show.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from tapegrad.tensor import Tensor


def _device_of(values: Any) -> Any:
    for v in values:
        if isinstance(v, Tensor):
            if v.device.type != "cpu":
                return v.device
        elif isinstance(v, (list, tuple)):
            found = _device_of(v)
            if found is not None:
                return found
    return None


def _moved(value: Any, device: Any) -> Any:
    if isinstance(value, Tensor):
        return value.to(device)
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple
        return type(value)(*(_moved(v, device) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(_moved(v, device) for v in value)
    return value


def computed_on_host(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` made to accept GPU tensors: it runs on CPU copies of them, and its tensor
    results go back to the GPU (the copies are differentiable)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        device = _device_of(args) or _device_of(kwargs.values())
        if device is None:
            return fn(*args, **kwargs)
        cpu = "cpu"
        out = fn(*_moved(args, cpu), **{k: _moved(v, cpu) for k, v in kwargs.items()})
        return _moved(out, device)

    return wrapper
