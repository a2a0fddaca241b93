"""numpy ufuncs on CUDA arrays: ``np.exp(x)``, ``x + y``, ``np.add(x, y, out=x)``, ``np.add.at``.

numpy calls `CudaArray.__array_ufunc__` whenever a CudaArray is among a ufunc's operands;
`dispatch` turns the call into a launch of the generated elementwise kernel
(`elementwise.launch`), or hands the ufunc's other methods (``reduce``, ``accumulate``,
``at``) to the reduction and indexing kernels.

The rules are numpy's, taken from numpy rather than re-implemented: the broadcast shape from
``np.broadcast_shapes``, the loop dtypes from ``ufunc.resolve_dtypes`` (which knows NEP 50's
weak Python numbers), and numpy's own errors when no loop exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import elementwise
from .array import CudaArray, device_mismatch

__all__ = ["dispatch", "elementwise_call", "erf"]


def _operand(x: Any) -> Any:
    """A CudaArray stays; a 0-d host array or numpy scalar becomes a number with a dtype; a
    host array with elements is another device's data: torch's device error."""
    if isinstance(x, CudaArray):
        return x
    if isinstance(x, np.ndarray):
        if x.ndim > 0:
            raise device_mismatch(x)
        return x[()]
    return x


def _dtype_of(x: Any) -> Any:
    """What ``resolve_dtypes`` takes: a dtype, or the Python type of a weak number."""
    if isinstance(x, CudaArray):
        return x.dtype
    if isinstance(x, np.generic):
        return x.dtype
    if isinstance(x, bool):
        return np.dtype(np.bool_)
    if isinstance(x, (int, float, complex)):
        return type(x)
    raise TypeError(f"unsupported operand type for a CUDA ufunc: {type(x).__name__}")


def elementwise_call(name: str, operands: list[Any], loop_dtypes: tuple[np.dtype, ...],
                     out_dtype: np.dtype, out: CudaArray | None = None) -> CudaArray:
    """Broadcast ``operands``, allocate (or check) ``out``, and launch ``name``'s kernel."""
    shapes = [x.shape for x in operands if isinstance(x, CudaArray)]
    shape = np.broadcast_shapes(*shapes) if shapes else ()
    if out is None:
        out = CudaArray.empty(shape, out_dtype)
    elif out.shape != tuple(shape):
        if np.broadcast_shapes(out.shape, shape) != out.shape:
            raise ValueError(f"non-broadcastable output operand with shape {out.shape} "
                             f"doesn't match the broadcast shape {tuple(shape)}")
        shape = out.shape
    args = [x.broadcast_to(shape) if isinstance(x, CudaArray) else x for x in operands]
    expr = elementwise.expression_for(name, len(operands), loop_dtypes[0])
    return elementwise.launch(expr, out, args, loop_dtypes)


def erf(x: CudaArray) -> CudaArray:
    """The error function elementwise (numpy has no ``np.erf`` to dispatch from)."""
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    return elementwise_call("erf", [x], (dtype,), dtype)


def dispatch(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
    """`CudaArray.__array_ufunc__`: run ``ufunc.method(*inputs, **kwargs)`` on the GPU."""
    for x in inputs:
        if isinstance(x, np.ndarray) and x.ndim > 0:
            raise device_mismatch(x)
    if method == "reduce":
        from . import reduction

        return reduction.ufunc_reduce(ufunc, *inputs, **kwargs)
    if method == "accumulate":
        from . import reduction

        return reduction.ufunc_accumulate(ufunc, *inputs, **kwargs)
    if method == "at":
        from . import indexing

        return indexing.ufunc_at(ufunc, *inputs, **kwargs)
    if ufunc is np.matmul and method == "__call__":
        from . import matmul

        return matmul.matmul(*inputs, **kwargs)
    if method != "__call__" or ufunc.nout != 1:
        return NotImplemented
    out = kwargs.pop("out", None)
    if isinstance(out, tuple):
        out = out[0]
    if out is not None and not isinstance(out, CudaArray):
        raise device_mismatch(out)
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("casting", None)
    if kwargs:
        raise TypeError(f"CUDA ufunc {ufunc.__name__}: unsupported arguments {sorted(kwargs)}")
    operands = [_operand(x) for x in inputs]
    signature = tuple(_dtype_of(x) for x in operands) + (None,)
    if dtype is not None:
        signature = signature[:-1] + (np.dtype(dtype),)
    loop = ufunc.resolve_dtypes(signature)
    return elementwise_call(ufunc.__name__, operands, loop[:-1], loop[-1], out)


def _binary(ufunc: np.ufunc) -> tuple[Callable, Callable, Callable]:
    def forward(self: CudaArray, other: Any) -> Any:
        return ufunc(self, other)

    def reflected(self: CudaArray, other: Any) -> Any:
        return ufunc(other, self)

    def inplace(self: CudaArray, other: Any) -> Any:
        return ufunc(self, other, out=self)

    return forward, reflected, inplace


# Python operators on CudaArrays are the ufuncs, as on ndarrays: ``a + b`` is np.add(a, b).
for _name, _ufunc in [("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                      ("truediv", np.true_divide), ("floordiv", np.floor_divide),
                      ("pow", np.power), ("mod", np.remainder), ("and", np.bitwise_and),
                      ("or", np.bitwise_or), ("xor", np.bitwise_xor)]:
    _f, _r, _i = _binary(_ufunc)
    setattr(CudaArray, f"__{_name}__", _f)
    setattr(CudaArray, f"__r{_name}__", _r)
    setattr(CudaArray, f"__i{_name}__", _i)

for _name, _ufunc in [("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                      ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal)]:
    setattr(CudaArray, f"__{_name}__", _binary(_ufunc)[0])

CudaArray.__neg__ = lambda self: np.negative(self)  # type: ignore[assignment]
CudaArray.__pos__ = lambda self: self.copy()  # type: ignore[assignment]
CudaArray.__abs__ = lambda self: np.absolute(self)  # type: ignore[assignment]
CudaArray.__invert__ = lambda self: np.invert(self)  # type: ignore[assignment]
CudaArray.__hash__ = None  # type: ignore[assignment]  # arrays compare elementwise
