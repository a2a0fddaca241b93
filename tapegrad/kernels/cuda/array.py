"""`CudaArray`: an n-d view on GPU memory that numpy code can use as if it were an ndarray.

tapegrad's ops are written against numpy: ``np.add(x, y)``, ``x.sum(axis=0)``, ``x.T``,
``np.where(m, x, 0)``. A CUDA tensor keeps a `CudaArray` where a CPU tensor keeps an ndarray,
and the same op code runs on the GPU because numpy hands any call that involves a foreign
array type to that type (NEP 13 ``__array_ufunc__`` for ufuncs, NEP 18 ``__array_function__``
for the other functions, NEP 35 ``like=`` for creation). That is how CuPy works too.

What a CudaArray is:

* ``_buf``: a 1-D numba device array, the storage (views share it);
* ``shape``, ``strides_el`` (strides counted in items, not bytes) and ``offset`` (in items):
  which items of the buffer this array sees, exactly like numpy's shape/strides/data pointer.

Views (slicing, transpose, broadcasting, most reshapes) only compute a new shape, strides and
offset. Rather than re-derive numpy's rules, `_view` lets numpy do it on a *stand-in*: an
ndarray with the same shape and strides laid over a one-item dummy buffer, which numpy never
reads. The stand-in's resulting shape, strides and data pointer are the view's.

The one thing a CudaArray refuses is ``__array__``: numpy would call it to copy the data to
the host *silently*. Copies to the host are explicit (`get`, counted in
`runtime.TRANSFERS`), so a forgotten one is an error, not a slow program.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from . import elementwise, runtime

__all__ = ["CudaArray", "HANDLED_FUNCTIONS", "implements"]

#: numpy functions a CudaArray implements, filled by `implements` in the kernel modules.
HANDLED_FUNCTIONS: dict[Callable[..., Any], Callable[..., Any]] = {}


def implements(*numpy_functions: Callable[..., Any]) -> Callable[[Callable], Callable]:
    """Register the decorated function as the CUDA version of ``numpy_functions``."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        for np_func in numpy_functions:
            HANDLED_FUNCTIONS[np_func] = func
        return func

    return register


_DUMMIES: dict[np.dtype, np.ndarray] = {}


class _Flags:
    __slots__ = ("c_contiguous", "writeable")

    def __init__(self, c_contiguous: bool) -> None:
        self.c_contiguous = c_contiguous
        self.writeable = True


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def device_mismatch(other: Any) -> RuntimeError:
    """torch's error for a CPU array meeting a CUDA array in one op."""
    return RuntimeError(
        "Expected all tensors to be on the same device, but found at least two devices, "
        f"cuda:0 and cpu! (a CUDA tensor met a CPU array of shape {list(np.shape(other))}; "
        "move it with .to(device) first)"
    )


class CudaArray:
    """An n-d strided view on a numba.cuda device buffer (see the module docstring)."""

    __slots__ = ("_buf", "shape", "strides_el", "offset", "dtype")
    __array_priority__ = 100  # numpy defers binary operators to us

    def __init__(self, buf: Any, shape: tuple[int, ...], strides_el: tuple[int, ...],
                 offset: int, dtype: np.dtype) -> None:
        self._buf = buf
        self.shape = tuple(int(s) for s in shape)
        self.strides_el = tuple(int(s) for s in strides_el)
        self.offset = int(offset)
        self.dtype = np.dtype(dtype)

    # ---------------------------------------------------------------- making arrays
    @classmethod
    def empty(cls, shape: Any, dtype: Any = np.float64) -> CudaArray:
        shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)
        dtype = np.dtype(dtype)
        size = int(np.prod(shape, dtype=np.int64))
        return cls(runtime.device_empty(size, dtype), shape, _contiguous_strides(shape), 0,
                   dtype)

    @classmethod
    def full(cls, shape: Any, value: Any, dtype: Any = np.float64) -> CudaArray:
        out = cls.empty(shape, dtype)
        out.fill(value)
        return out

    @classmethod
    def from_host(cls, host: Any, dtype: Any = None) -> CudaArray:
        """Copy a host array (or nested list, or number) to the GPU: one counted transfer."""
        host = np.asarray(host, dtype=dtype)
        shape = host.shape
        return cls(runtime.to_device(host), shape, _contiguous_strides(shape), 0, host.dtype)

    def get(self) -> np.ndarray:
        """Copy to a new host ndarray: one counted transfer (after a device-side compaction
        when this array is a non-contiguous view)."""
        src = self if self.is_compact() else self.copy()
        flat = runtime.to_host(src._buf[src.offset:src.offset + src.size]
                               if src.size else src._buf[:0])
        return flat.reshape(self.shape)

    # ---------------------------------------------------------------- metadata
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def strides(self) -> tuple[int, ...]:
        return tuple(s * self.dtype.itemsize for s in self.strides_el)

    @property
    def flags(self) -> _Flags:
        return _Flags(self.is_compact())

    @property
    def T(self) -> CudaArray:  # numpy's name
        return self.transpose()

    @property
    def device(self) -> str:
        return "cuda:0"

    def is_compact(self) -> bool:
        """C-contiguous: the items are the buffer slice ``[offset, offset + size)`` in order."""
        return self.size <= 1 or all(
            st == want for st, want, n in zip(self.strides_el, _contiguous_strides(self.shape),
                                              self.shape, strict=True) if n != 1)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __repr__(self) -> str:
        return f"CudaArray(shape={self.shape}, dtype={self.dtype})"

    # ---------------------------------------------------------------- host conversion
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError(
            f"can't convert cuda:0 device array of shape {list(self.shape)} to a numpy array "
            "implicitly (a silent copy to the host); use .get() or Tensor.cpu() to copy it "
            "to host memory first."
        )

    def item(self) -> Any:
        if self.size != 1:
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        return self.get().reshape(()).item()

    def tolist(self) -> Any:
        return self.get().tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError("The truth value of an array with more than one element is "
                             "ambiguous. Use a.any() or a.all()")
        return bool(self.item())

    def __index__(self) -> int:
        return operator.index(self.item())

    # ---------------------------------------------------------------- views
    def _stand_in(self) -> np.ndarray:
        dummy = _DUMMIES.get(self.dtype)
        if dummy is None:
            dummy = _DUMMIES[self.dtype] = np.zeros(1, dtype=self.dtype)
        return np.lib.stride_tricks.as_strided(dummy, self.shape, self.strides,
                                               writeable=False)

    def _from_stand_in(self, stand_in: np.ndarray, view: np.ndarray) -> CudaArray:
        moved = (view.__array_interface__["data"][0]
                 - stand_in.__array_interface__["data"][0]) // self.dtype.itemsize
        return CudaArray(self._buf, view.shape,
                         tuple(s // self.dtype.itemsize for s in view.strides),
                         self.offset + moved, self.dtype)

    def _view(self, make_view: Callable[[np.ndarray], np.ndarray]) -> CudaArray:
        """Apply a numpy view operation (slicing, transpose, broadcast_to...) to a stand-in
        with this array's layout, and read the resulting layout back."""
        stand_in = self._stand_in()
        return self._from_stand_in(stand_in, make_view(stand_in))

    def transpose(self, *axes: Any) -> CudaArray:
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0] if axes[0] is not None else ()
        return self._view(lambda a: a.transpose(*axes))

    def swapaxes(self, a: int, b: int) -> CudaArray:
        return self._view(lambda x: x.swapaxes(a, b))

    def reshape(self, *shape: Any, order: str = "C") -> CudaArray:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        stand_in = self._stand_in()
        view = stand_in.view()
        try:
            view.shape = shape  # numpy refuses when the layout needs a copy
        except AttributeError:
            return self.copy().reshape(*shape)
        return self._from_stand_in(stand_in, view)

    def ravel(self) -> CudaArray:
        return self.reshape(-1)

    def flatten(self) -> CudaArray:
        return self.copy().reshape(-1)

    def squeeze(self, axis: Any = None) -> CudaArray:
        return self._view(lambda a: a.squeeze(axis))

    def view(self, dtype: Any = None) -> CudaArray:
        if dtype is None or np.dtype(dtype) == self.dtype:
            return CudaArray(self._buf, self.shape, self.strides_el, self.offset, self.dtype)
        raise TypeError("CudaArray.view(dtype) with a different dtype is not supported")

    # ---------------------------------------------------------------- copies and fills
    def astype(self, dtype: Any, copy: bool = True) -> CudaArray:
        dtype = np.dtype(dtype)
        if dtype == self.dtype and not copy:
            return self
        out = CudaArray.empty(self.shape, dtype)
        return elementwise.launch(elementwise.COPY, out, [self], [self.dtype])

    def copy(self, order: str = "C") -> CudaArray:
        out = CudaArray.empty(self.shape, self.dtype)
        return elementwise.launch(elementwise.COPY, out, [self], [self.dtype])

    def fill(self, value: Any) -> None:
        elementwise.launch(elementwise.COPY, self, [value], [self.dtype])

    def assign(self, value: Any) -> CudaArray:
        """``self[...] = value`` with broadcasting (value: CudaArray or number)."""
        if isinstance(value, CudaArray):
            if value.ndim > self.ndim:  # numpy drops leading length-1 axes of the value
                lead = value.ndim - self.ndim
                if any(s != 1 for s in value.shape[:lead]):
                    raise ValueError(f"could not broadcast input array from shape "
                                     f"{value.shape} into shape {self.shape}")
                value = value.reshape(value.shape[lead:])
            value = value.broadcast_to(self.shape)
            return elementwise.launch(elementwise.COPY, self, [value], [value.dtype])
        if isinstance(value, np.ndarray) and value.ndim > 0:
            raise device_mismatch(value)
        return elementwise.launch(elementwise.COPY, self, [value], [self.dtype])

    def broadcast_to(self, shape: tuple[int, ...]) -> CudaArray:
        if tuple(shape) == self.shape:
            return self
        return self._view(lambda a: np.broadcast_to(a, shape))

    # ---------------------------------------------------------------- indexing
    def __getitem__(self, key: Any) -> CudaArray:
        if _is_basic(key):
            key = _view_key(key)
            return self._view(lambda a: a[key])
        from .indexing import getitem_advanced

        return getitem_advanced(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        if _is_basic(key):
            key = _view_key(key)
            self._view(lambda a: a[key]).assign(value)
            return
        from .indexing import setitem_advanced

        setitem_advanced(self, key, value)

    # ---------------------------------------------------------------- numpy protocols
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        from . import ufuncs

        return ufuncs.dispatch(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Callable, types: tuple, args: tuple,
                           kwargs: dict) -> Any:
        if func not in HANDLED_FUNCTIONS:
            from . import numpy_api  # noqa: F401 - registers the implementations

        impl = HANDLED_FUNCTIONS.get(func)
        if impl is None:
            name = getattr(func, "__name__", repr(func))
            raise TypeError(f"tapegrad's CUDA backend has no kernel for numpy.{name} "
                            f"(called on a CUDA array of shape {list(self.shape)})")
        return impl(*args, **kwargs)

    # methods numpy arrays have, forwarded to the numpy functions above
    def sum(self, axis: Any = None, dtype: Any = None, keepdims: bool = False,
            out: Any = None) -> Any:
        return np.sum(self, axis=axis, dtype=dtype, keepdims=keepdims, out=out)

    def mean(self, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:
        return np.mean(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def prod(self, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:
        return np.prod(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.min(self, axis=axis, keepdims=keepdims)

    def any(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.any(self, axis=axis, keepdims=keepdims)

    def all(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.all(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.argmin(self, axis=axis, keepdims=keepdims)

    def clip(self, a_min: Any = None, a_max: Any = None) -> Any:
        return np.clip(self, a_min, a_max)

    def nonzero(self) -> Any:
        return np.nonzero(self)

    def __matmul__(self, other: Any) -> Any:
        return np.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return np.matmul(other, self)


def _view_key(key: Any) -> tuple:
    """A basic key that always gives numpy a *view*: with ints only (``a[1, 2]``) numpy would
    return a scalar, so a trailing ``...`` is added when the key has none."""
    items = key if isinstance(key, tuple) else (key,)
    if not any(item is Ellipsis for item in items):
        items = (*items, Ellipsis)
    return items


def _is_basic(key: Any) -> bool:
    """True when ``key`` is numpy *basic* indexing (ints, slices, None, Ellipsis): a view."""
    items = key if isinstance(key, tuple) else (key,)
    for item in items:
        if item is None or item is Ellipsis or isinstance(item, slice):
            continue
        if isinstance(item, (bool, np.bool_)):
            return False
        if isinstance(item, (int, np.integer)):
            continue
        return False
    return True
