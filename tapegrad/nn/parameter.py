"""`Parameter`: a tensor that a `Module` owns and an optimizer updates.

A Parameter is an ordinary leaf tensor with two differences: it requires grad by default
(even when created inside ``no_grad``), and assigning one to a module attribute
registers it, so ``module.parameters()`` finds it.
"""

from __future__ import annotations

from typing import Any

from tapegrad.creation import empty
from tapegrad.tensor import Tensor


class Parameter(Tensor):
    """``Parameter(data, requires_grad=True)``: shares storage with ``data``."""

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(
                f"Parameter expects a Tensor as data, got {type(data).__name__}"
            )
        p = cls._from_array(data._data)
        p._version_counter = data._version_counter
        if requires_grad:
            p.requires_grad = True  # torch's error for integer dtypes
        return p

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass  # everything happens in __new__ (Tensor has no __init__ of its own)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol: int) -> Any:
        return (_rebuild_parameter, (self._data.copy(), self._requires_grad))


def _rebuild_parameter(data: Any, requires_grad: bool) -> Parameter:
    return Parameter(Tensor._from_array(data), requires_grad)


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a module
    (``self.running_mean = nn.Buffer(torch.zeros(3))``)."""

    __slots__ = ()

    def __new__(cls, data: Tensor, *, persistent: bool = True) -> Buffer:
        b = cls._from_array(data._data)
        b.__dict__["persistent"] = persistent
        return b
