"""Making tensors: from data (``tensor``, ``as_tensor``, ``from_numpy``) and factories
(``zeros``, ``ones``, ``full``, ``arange``, ``linspace``, ``eye``, ``rand``, ``randn``...).

Factories make *leaves*. ``requires_grad=True`` on a factory is honoured even inside
``no_grad`` (it is a flag on a new leaf, not a recorded op), as in torch.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tapegrad import dtypes, random
from tapegrad.device import move, resolve
from tapegrad.kernels.cuda import CudaArray
from tapegrad.tensor import Size, Tensor


def _finish(arr: Any, requires_grad: bool, device: Any) -> Tensor:
    """Wrap host data as a leaf on ``device`` (copied there: one counted transfer for CUDA)."""
    t = Tensor._from_array(move(arr, resolve(device)))
    if requires_grad:
        t.requires_grad = True  # the setter raises torch's error for integer dtypes
    return t


def _infer_numpy(data: Any, dtype: Any) -> np.ndarray:
    """numpy array of ``data`` with torch's dtype inference: Python floats become the
    default dtype (float32), ints int64, bools bool; numpy arrays keep their dtype."""
    if dtype is not None:
        return np.array(data, dtype=dtypes.to_dtype(dtype).numpy)
    # numpy arrays and numpy scalars (also inside lists) carry their own dtype, as in torch
    keep = isinstance(data, (np.ndarray, np.generic)) or _holds_numpy_scalar(data)
    arr = np.array(data)
    if keep:
        dtypes.from_numpy(arr.dtype)  # TypeError for dtypes we cannot store
        return arr
    kind = arr.dtype.kind
    if kind == "f":
        return arr.astype(dtypes.get_default_dtype().numpy, copy=False)
    if kind in "iu":
        return arr.astype(np.int64, copy=False)
    if kind == "b":
        return arr
    raise TypeError(f"Could not infer dtype of {type(data).__name__}")


def _holds_numpy_scalar(data: Any) -> bool:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, np.generic):
            return True
    return False


def tensor(data: Any, *, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """A new leaf tensor holding a *copy* of ``data`` (nested lists, numbers, arrays)."""
    if isinstance(data, Tensor):
        warnings.warn(
            "To copy construct from a tensor, it is recommended to use "
            "sourceTensor.detach().clone() or sourceTensor.detach().clone()."
            "requires_grad_(True), rather than tapegrad.tensor(sourceTensor).",
            UserWarning,
            stacklevel=2,
        )
        out = data.detach().to(device if device is not None else data.device, dtype, copy=True)
        if requires_grad:
            out.requires_grad = True
        return out
    return _finish(_infer_numpy(data, dtype), requires_grad, device)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like ``tensor`` but shares memory with a numpy array (or returns a tensor as is)
    when no dtype conversion is needed."""
    if isinstance(data, Tensor):
        if dtype is None or dtypes.to_dtype(dtype) is data.dtype:
            return data
        return data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or
                                         dtypes.to_dtype(dtype).numpy == data.dtype):
        dtypes.from_numpy(data.dtype)
        return _finish(data, False, device)
    return _finish(_infer_numpy(data, dtype), False, device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (changes to one show in the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dtypes.from_numpy(array.dtype)
    return Tensor._from_array(array)


def _shape(size: tuple) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(
                f"size must be a tuple of ints, but got an element of type {type(s).__name__}"
            )
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
    return tuple(int(s) for s in size)


def _dt(dtype: Any) -> np.dtype:
    return (dtypes.to_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()).numpy


def _integer_fill(value: int, np_dtype: np.dtype) -> Any:
    """``value`` as an element of an integer dtype, with torch's overflow rule: a signed type
    takes its own range; an unsigned one also takes negatives down to ``-max``, wrapping
    them as C does (``full_like(uint8 tensor, -9)`` is 247; -1000 is an error)."""
    info = np.iinfo(np_dtype)
    low = -info.max if np_dtype.kind == "u" else info.min
    if not low <= value <= info.max:
        c_name = "int" if np_dtype.name == "int32" else f"{np_dtype.name}_t"
        raise RuntimeError(f"value cannot be converted to type {c_name} without overflow")
    return np.array(value).astype(np_dtype)


def _filled(shape: tuple, value: Any, np_dtype: np.dtype, device: Any,
            requires_grad: bool) -> Tensor:
    """A constant leaf made directly where it lives (no transfer for CUDA: a fill kernel)."""
    dev = resolve(device)
    if dev.type == "cuda":
        t = Tensor._from_array(CudaArray.full(shape, value, np_dtype))
    else:
        if isinstance(value, int) and np_dtype.kind in "iu" and not isinstance(value, bool):
            value = _integer_fill(value, np_dtype)
        t = Tensor._from_array(np.full(shape, value, dtype=np_dtype))
    if requires_grad:
        t.requires_grad = True
    return t


def zeros(*size: Any, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    return _filled(_shape(size), 0, _dt(dtype), device, requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    return _filled(_shape(size), 1, _dt(dtype), device, requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    # zero-filled rather than uninitialised: reproducible, and just as cheap in numpy
    return _filled(_shape(size), 0, _dt(dtype), device, requires_grad)


def _check_strides(size: tuple, stride: Any) -> None:
    if len(tuple(stride)) != len(size):
        raise RuntimeError(f"dimensionality of sizes ({len(size)}) must match dimensionality "
                           f"of strides ({len(tuple(stride))})")


def empty_strided(size: Any, stride: Any, *, dtype: Any = None, layout: Any = None,
                  device: Any = None, requires_grad: bool = False,
                  pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` laid out with ``stride`` in torch. tapegrad's
    tensors are always C-contiguous, so the strides are checked (one per dim) and the
    result is a contiguous tensor of zeros: same shape, dtype and (undefined) meaning."""
    shape = _shape((size,))
    _check_strides(shape, stride)
    return _filled(shape, 0, _dt(dtype), device, requires_grad)


def scalar_tensor(value: Any, *, dtype: Any = None, layout: Any = None, device: Any = None,
                  requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A 0-d tensor holding ``value``, of the default float dtype unless ``dtype`` is given
    (even for an integer or bool value, unlike `tensor`)."""
    if isinstance(value, Tensor):
        value = value.item()
    return _filled((), value, _dt(dtype), device, requires_grad)


def empty_permuted(size: Any, physical_layout: Any, *, dtype: Any = None, layout: Any = None,
                   device: Any = None, requires_grad: bool = False,
                   pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` whose dims torch stores in the order
    ``physical_layout`` (a permutation of the dims). tapegrad checks the permutation and
    returns a contiguous tensor of zeros (see `empty_strided`)."""
    shape = _shape((size,))
    order = [int(d) for d in physical_layout]
    if len(order) != len(shape):
        raise RuntimeError("Number of dimensions in size does not match the length of the "
                           "physical_layout")
    seen = set()
    for d in order:
        if not -max(len(shape), 1) <= d < max(len(shape), 1):
            raise RuntimeError(f"Dimension out of range (expected to be in range of "
                             f"[{-max(len(shape), 1)}, {max(len(shape), 1) - 1}], but got {d})")
        if d % max(len(shape), 1) in seen:
            raise RuntimeError("Duplicate dim not allowed")
        seen.add(d % max(len(shape), 1))
    return _filled(shape, 0, _dt(dtype), device, requires_grad)


def full(size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = dtypes.result_type(fill_value)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _filled(_shape((size,)), fill_value, _dt(dtype), device, requires_grad)


def _like(fn, t: Tensor, dtype: Any, requires_grad: bool, device: Any, *extra: Any) -> Tensor:
    """The ``*_like`` factories: ``t``'s shape, dtype and device unless given. Their
    ``memory_format=`` is accepted and ignored: tapegrad's results are always C-contiguous,
    which is what torch's default ``preserve_format`` gives for a contiguous ``t``."""
    dtype = dtype if dtype is not None else t.dtype
    device = device if device is not None else t.device
    return fn(tuple(t._data.shape), *extra, dtype=dtype, device=device,
              requires_grad=requires_grad)


def zeros_like(t: Tensor, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return _like(zeros, t, dtype, requires_grad, device)


def ones_like(t: Tensor, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return _like(ones, t, dtype, requires_grad, device)


def empty_like(t: Tensor, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return _like(empty, t, dtype, requires_grad, device)


def full_like(t: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return _like(full, t, dtype, requires_grad, device, fill_value)


def rand_like(t: Tensor, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return _like(rand, t, dtype, requires_grad, device)


def randn_like(t: Tensor, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return _like(randn, t, dtype, requires_grad, device)


def randint_like(t: Tensor, low: int = 0, high: int | None = None, *, generator: Any = None,
                 dtype: Any = None, device: Any = None, requires_grad: bool = False,
                 memory_format: Any = None) -> Tensor:
    """Integers in [low, high) shaped like ``t`` (and of its dtype unless ``dtype`` is
    given); ``randint_like(t, high)`` draws from [0, high), as in torch."""
    if high is None:
        low, high = 0, low
    dtype = dtype if dtype is not None else t.dtype
    device = device if device is not None else t.device
    rng = random.generator_of(generator)
    arr = rng.integers(low, high, size=tuple(t._data.shape))
    return _finish(arr.astype(_dt(dtype)), requires_grad, device)


def arange(start: Any, end: Any = None, step: Any = 1, *, out: Tensor | None = None,
           dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """``arange(5)`` -> 0..4; integers give int64, any float argument the default float.

    ``out=``: the values take ``out``'s dtype and replace its contents (a factory has no
    inputs to overlap; the general rules of ``out=`` are `tapegrad.ops.out_arg`'s)."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if out is not None:
        if not isinstance(out, Tensor):
            raise TypeError(f"arange(): argument 'out' must be Tensor, not "
                            f"{type(out).__name__}")
        dtype = out.dtype if dtype is None else dtype
    if dtype is not None and not dtypes.to_dtype(dtype).is_floating_point and int(step) == 0:
        raise ValueError("step must be nonzero")  # torch: the step cast to the integer dtype
    lo, hi = float(start), float(end)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if (step > 0 and hi < lo) or (step < 0 and hi > lo):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        is_float = any(isinstance(v, float) or (isinstance(v, Tensor) and v.is_floating_point())
                       for v in (start, end, step))
        dtype = dtypes.get_default_dtype() if is_float else dtypes.int64
    arr = np.arange(float(start) if dtypes.to_dtype(dtype).is_floating_point else start,
                    end, step, dtype=np.float64)
    result = _finish(arr.astype(_dt(dtype)), requires_grad, device)
    if out is None:
        return result
    out._data = result._data
    out._version_counter.value += 1
    return out


def linspace(start: float, end: float, steps: int, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool):
        raise TypeError(f"linspace(): argument 'steps' must be int, not {type(steps).__name__}")
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    ends = [v for v in (start, end) if isinstance(v, Tensor)]
    if any(v.ndim for v in ends):
        raise RuntimeError("linspace only supports 0-dimensional start and end tensors, but got "
                           f"{' and '.join(f'{v.ndim} dimension(s)' for v in ends)}.")
    start, end = (v.item() if isinstance(v, Tensor) else v for v in (start, end))
    return _finish(np.linspace(start, end, int(steps)).astype(_dt(dtype)), requires_grad, device)


def eye(n: int, m: int | None = None, *, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    """The ``n`` x ``m`` (default ``n`` x ``n``) identity matrix."""
    for name, v in (("n", n), ("m", m)):
        if v is not None and v < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {v}")
    return _finish(np.eye(n, m, dtype=_dt(dtype)), requires_grad, device)


def rand(*size: Any, generator: Any = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) from tapegrad's seeded generator (see ``manual_seed``)."""
    rng = random.generator_of(generator)
    return _finish(rng.random(_shape(size)).astype(_dt(dtype)), requires_grad, device)


def randn(*size: Any, generator: Any = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples from tapegrad's seeded generator."""
    rng = random.generator_of(generator)
    return _finish(rng.standard_normal(_shape(size)).astype(_dt(dtype)), requires_grad, device)


def randint(low: int, high: int | None = None, size: Any = None, *, generator: Any = None,
            dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Integers in [low, high); ``randint(high, size)`` also works, as in torch."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    rng = random.generator_of(generator)
    arr = rng.integers(low, high, size=_shape((size,)))
    return _finish(arr.astype(_dt(dtype or dtypes.int64)), requires_grad, device)


def randperm(n: int, *, generator: Any = None, dtype: Any = None, device: Any = None) -> Tensor:
    rng = random.generator_of(generator)
    return _finish(rng.permutation(n).astype(_dt(dtype or dtypes.int64)), False, device)
