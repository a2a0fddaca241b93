"""Array helpers that work the same on both storages: numpy arrays and `CudaArray`s.

The ops are written against numpy, and numpy's protocols carry most calls over to CUDA arrays
unchanged. A few numpy entry points do not dispatch -- ``np.asarray``, ``np.ascontiguousarray``,
``isinstance(x, np.ndarray)`` -- because they *convert* rather than compute; these helpers are
the device-neutral spellings the ops use instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .cuda.array import CudaArray

__all__ = ["ARRAY_TYPES", "as_array", "contiguous", "is_array", "root_buffer",
           "writable_alias"]

#: The storage types a tensor's ``_data`` can have.
ARRAY_TYPES = (np.ndarray, CudaArray)


def is_array(x: Any) -> bool:
    """True for a numpy array or a CUDA array (not for Python or numpy numbers)."""
    return type(x) is np.ndarray or isinstance(x, ARRAY_TYPES)


def as_array(value: Any, np_dtype: Any) -> Any:
    """``value`` as an array of ``np_dtype`` on its own device: arrays are cast where they
    live; numbers and numpy scalars (what numpy reductions return) become 0-d host arrays."""
    if type(value) is np.ndarray or isinstance(value, ARRAY_TYPES):  # the first test: fast
        return value if value.dtype == np_dtype else value.astype(np_dtype)
    return np.asarray(value, dtype=np_dtype)


def contiguous(x: Any) -> Any:
    """``np.ascontiguousarray`` for either storage (a copy only when the layout needs one),
    except that a 0-d array stays 0-d (numpy's version returns a 1-element vector)."""
    if type(x) is CudaArray:
        return x if x.is_compact() else x.copy()
    return x if x.flags.c_contiguous else np.ascontiguousarray(x)


def writable_alias(data: np.ndarray, root: np.ndarray) -> np.ndarray:
    """A writable array on exactly ``data``'s memory (``root`` owns it), for a read-only
    view made by broadcasting; ``data`` itself when that is not possible."""
    if not root.flags.writeable or not root.flags.c_contiguous:
        return data
    offset = data.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    return np.ndarray(data.shape, data.dtype, buffer=root, offset=offset, strides=data.strides)


def root_buffer(a: Any) -> Any:
    """The array that owns ``a``'s memory (numpy's ``.base`` chain; a CUDA view's buffer)."""
    if type(a) is CudaArray:
        return a._buf
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a
