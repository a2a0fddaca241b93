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


def logspace(start: Any, end: Any, steps: int, base: float = 10.0, *, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """``steps`` values from ``base ** start`` to ``base ** end``, evenly spaced in the
    exponent (``base ** linspace(start, end, steps)``)."""
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool):
        raise TypeError("logspace() received an invalid combination of arguments - got "
                        f"(..., steps={type(steps).__name__}): 'steps' must be int")
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    ends = [v for v in (start, end) if isinstance(v, Tensor)]
    if any(v.ndim for v in ends):
        raise RuntimeError("logspace only supports 0-dimensional start and end tensors, but got "
                           f"{' and '.join(f'{v.ndim} dimension(s)' for v in ends)}.")
    start, end = (v.item() if isinstance(v, Tensor) else v for v in (start, end))
    exponents = np.linspace(float(start), float(end), int(steps))
    with np.errstate(over="ignore", invalid="ignore"):
        values = np.power(float(base), exponents)
    np_dt = _dt(dtype)
    if np_dt.kind in "iub":
        # torch rounds the exponents' powers toward zero into the integer dtype, wrapping
        values = np.trunc(values).astype(np.int64).astype(np_dt)
    return _finish(values.astype(np_dt), requires_grad, device)


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


def scalar_tensor(s: Any, *, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> Tensor:
    """A 0-d tensor holding the number ``s``, in the default float dtype unless ``dtype``
    says otherwise (unlike ``tensor(3)``, which would be int64)."""
    if isinstance(s, Tensor):
        s = s.item()
    np_dt = _dt(dtype)
    value = np.asarray(s).astype(np_dt)  # C's cast, as torch: -5 as uint8 is 251
    return _filled((), value, np_dt, device, requires_grad)


def empty_strided(size: Any, stride: Any, *, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` whose memory layout has the given ``stride`` (in elements):
    enough zeroed memory for the largest offset, viewed with those strides."""
    shape, strides = _shape((tuple(size),)), tuple(int(s) for s in stride)
    if len(shape) != len(strides):
        raise RuntimeError(f"dimensionality of sizes ({len(shape)}) must match dimensionality "
                           f"of strides ({len(strides)})")
    np_dt = _dt(dtype)
    span = 1 + sum((n - 1) * st for n, st in zip(shape, strides, strict=True)) if all(
        shape) else 0
    buf = np.zeros(max(span, 1), dtype=np_dt)
    arr = np.ndarray(shape, np_dt, buffer=buf,
                     strides=tuple(st * buf.itemsize for st in strides))
    return _finish(arr, requires_grad, device)


def empty_permuted(size: Any, physical_layout: Any, *, dtype: Any = None, device: Any = None,
                   requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` whose dims are laid out in memory in the order
    ``physical_layout`` (outermost first): ``empty_permuted((2, 3, 4), (0, 2, 1))`` stores
    dim 1 innermost. Allocated in the physical order, then viewed back (a permutation)."""
    shape = _shape((tuple(size),))
    layout = [int(d) for d in physical_layout]
    if len(layout) != len(shape):
        raise RuntimeError("Number of dimensions in size does not match the length of the "
                           "physical_layout")
    seen = set()
    for d in layout:
        if not -len(shape) <= d < len(shape) or not shape and d not in (0, -1):
            raise RuntimeError(f"Dimension out of range (expected to be in range of "
                               f"[{-len(shape)}, {len(shape) - 1}], but got {d})")
        if d % max(len(shape), 1) in seen:
            raise RuntimeError("Duplicate dim not allowed")
        seen.add(d % max(len(shape), 1))
    layout = [d % max(len(shape), 1) for d in layout]
    physical = np.zeros(tuple(shape[d] for d in layout), dtype=_dt(dtype))
    return _finish(np.transpose(physical, np.argsort(layout)) if shape else physical,
                   requires_grad, device)


def _triangle_indices(row: int, col: int, offset: int, upper: bool, dtype: Any,
                      device: Any) -> Tensor:
    if row < 0:
        raise RuntimeError(f"row must be non-negative, got{row}")
    if col < 0:
        raise RuntimeError(f"col must be non-negative, got{col}")
    rows, cols = np.indices((row, col)).reshape(2, -1)
    keep = cols - rows >= offset if upper else cols - rows <= offset
    out = np.stack([rows[keep], cols[keep]]).astype(_dt(dtype or dtypes.int64))
    return _finish(out.reshape(2, -1), False, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None,
                 device: Any = None, layout: Any = None) -> Tensor:
    """The (row, column) coordinates of the upper triangle of a ``row x col`` matrix, from
    the diagonal ``offset`` up (offset > 0: above the main diagonal), as a 2 x N tensor
    in row-major order: ``x[tuple(triu_indices(n, n))]`` reads the upper triangle."""
    return _triangle_indices(row, col, offset, True, dtype, device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None,
                 device: Any = None, layout: Any = None) -> Tensor:
    """The coordinates of the lower triangle (the diagonal ``offset`` and below)."""
    return _triangle_indices(row, col, offset, False, dtype, device)
