"""Small helpers shared by the op families: wrapping arrays, dims, broadcasting, dtypes."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad import dtypes
from tapegrad.autograd.grad_mode import _state
from tapegrad.autograd.views import check_view_inplace
from tapegrad.creation import tensor
from tapegrad.kernels.arrays import as_array, contiguous, is_array  # noqa: F401 - re-exported
from tapegrad.tensor import Tensor, wrap_dim  # re-exported to the ops

wrap = Tensor._from_array


def data_of(x: Any) -> Any:
    """The array behind a tensor, or the Python number itself."""
    return x._data if isinstance(x, Tensor) else x


def as_tensor(x: Any, like: Tensor | None = None) -> Tensor:
    """Turn a Python number or array into a (constant) tensor; tensors pass through."""
    if isinstance(x, Tensor):
        return x
    if like is not None and isinstance(x, (int, float, bool)):
        # a fill on like's device: a number never needs a copy to the GPU
        return wrap(np.full((), x, dtype=dtypes.result_type(like, x).numpy, like=like._data))
    return tensor(x)


def promoted(*operands: Any) -> tuple[dtypes.dtype, list]:
    """torch's result dtype of ``operands`` and their data cast to it (numbers stay numbers)."""
    fast = _same_float_dtype(operands)
    if fast is not None:
        return fast, [op._data if isinstance(op, Tensor) else op for op in operands]
    out = dtypes.result_type(*operands)
    np_dt = out.numpy
    arrays = []
    for op in operands:
        if isinstance(op, Tensor):
            d = op._data
            arrays.append(d if d.dtype == np_dt else d.astype(np_dt))
        elif type(op) is int and np_dt.kind in "iu" and not _fits(op, np_dt):
            # torch casts the number to the tensor's dtype, wrapping around as C does
            # (int8: 100 + 1000 -> 76); numpy would refuse the number instead
            arrays.append(np.asarray(op).astype(np_dt))
        else:
            arrays.append(op)
    return out, arrays


def _fits(value: int, np_dt: np.dtype) -> bool:
    info = np.iinfo(np_dt)
    return info.min <= value <= info.max


def _same_float_dtype(operands: tuple) -> dtypes.dtype | None:
    """The common case, decided cheaply: floating tensors of one dtype, maybe with Python
    numbers (which never widen a floating tensor). None means: use the full rule."""
    np_dt = None
    for op in operands:
        if isinstance(op, Tensor):
            d = op._data.dtype
            if np_dt is None:
                np_dt = d
            elif d != np_dt:
                return None
        elif not isinstance(op, (int, float)):
            return None
    if np_dt is None or np_dt.kind != "f":
        return None
    return dtypes._BY_NUMPY[np_dt]




def wrap_dims(dim: Any, ndim: int) -> tuple[int, ...]:
    """``dim`` as a sorted tuple of non-negative axes; None means all axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        return (wrap_dim(dim, ndim),)
    axes = [wrap_dim(d, ndim) for d in dim]
    for i, a in enumerate(axes):
        if a in axes[:i]:
            raise RuntimeError(f"dim {a} appears multiple times in the list of dims")
    return tuple(sorted(axes))


def broadcast_shapes(*shapes: tuple) -> tuple:
    """The broadcast shape, with torch's error naming the first mismatching dimension."""
    ndim = max((len(s) for s in shapes), default=0)
    result = []
    for i in range(-ndim, 0):
        size = 1
        for k, s in enumerate(shapes):
            if -i > len(s):
                continue
            if s[i] != 1:
                if size != 1 and s[i] != size:
                    first = next(j for j, t in enumerate(shapes) if -i <= len(t) and t[i] != 1)
                    names = "ab"
                    raise RuntimeError(
                        f"The size of tensor {names[min(first, 1)]} ({shapes[first][i]}) must "
                        f"match the size of tensor {names[min(k, 1)]} ({s[i]}) at non-singleton "
                        f"dimension {ndim + i}"
                    )
                size = s[i]
        result.append(size)
    return tuple(result)


def check_inplace(t: Tensor, result_shape: tuple | None = None, *others: Any,
                  overlap_ok: bool = False) -> None:
    """The checks an in-place op makes *before* touching memory.

    With grad mode on: a leaf that requires grad may not be overwritten; a view may not be
    overwritten when it is a view of such a leaf, or was made in ``no_grad`` mode, or is
    one of several views returned by one op (``unbind``...), if the op involves a tensor
    that requires grad (``t`` or one of ``others``; see `check_view_inplace`). Inference
    tensors are written only inside inference mode; the result must keep the target's
    shape; and an expanded tensor (several elements on one memory location) is refused,
    unless ``overlap_ok`` (a fill writes one value everywhere: torch allows it)."""
    if _state.grad_enabled:
        if t._view_meta is not None:
            # torch counts a view as requiring grad when its base does
            needs = t._requires_grad or t._view_meta.base._requires_grad or any(
                isinstance(o, Tensor) and o._requires_grad for o in others)
            check_view_inplace(t, needs)
        elif t._grad_fn is None and t._requires_grad:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation."
            )
    if t._is_inference and not _state.inference:
        raise RuntimeError(
            "Inplace update to inference tensor outside InferenceMode is not allowed."
        )
    if result_shape is not None and tuple(result_shape) != t._data.shape:
        shape = t._data.shape
        for i in range(1, len(shape) + 1):
            have = result_shape[-i] if i <= len(result_shape) else 1
            if have != shape[-i]:
                raise RuntimeError(
                    f"The expanded size of the tensor ({shape[-i]}) must match the existing "
                    f"size ({have}) at non-singleton dimension {len(shape) - i}.  Target sizes: "
                    f"{list(shape)}.  Tensor sizes: {list(result_shape)}"
                )
        raise RuntimeError(
            f"output with shape {list(shape)} doesn't match the broadcast shape "
            f"{list(result_shape)}"
        )
    if not overlap_ok and not t._data.flags.writeable:
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location. Please clone() the tensor before performing the operation."
        )
    for o in others:
        if isinstance(o, Tensor) and o._version_counter is t._version_counter and o is not t:
            _check_overlap(t._data, o._data)


def _check_overlap(out: Any, src: Any) -> None:
    """torch refuses to write into memory that an input *partly* shares (``y.mul_(y[0])``:
    the result would depend on the order the elements are visited in). Full overlap (the
    same elements in the same places, ``y.mul_(y)``) is fine."""
    if type(out) is not np.ndarray or type(src) is not np.ndarray:
        return
    same = (out.__array_interface__["data"][0] == src.__array_interface__["data"][0]
            and out.shape == src.shape and out.strides == src.strides)
    if not same and np.shares_memory(out, src):
        raise RuntimeError(
            "unsupported operation: some elements of the input tensor and the written-to "
            "tensor refer to a single memory location. Please clone() the tensor before "
            "performing the operation.")
