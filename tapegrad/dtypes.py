"""Data types and PyTorch's type-promotion rules.

A tapegrad tensor stores its values in a numpy array, so every dtype here is a thin
named wrapper around a numpy dtype. What numpy does *not* give us is PyTorch's
promotion rule, which differs in one important way: a Python number or a 0-d tensor
never widens a dimensioned tensor of the same *category* (bool < integer < floating).

    float32 tensor * 2.5          -> float32   (numpy agrees)
    int64 tensor * 2.5            -> float32   (numpy says float64; torch uses the default dtype)
    float32 tensor * float64 0-d  -> float32   (0-d tensors only promote across categories)

`result_type` implements that rule so every op can ask for its output dtype first.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np


class dtype:  # torch spells it lower-case, and so do we
    """A tensor element type (``tapegrad.float32``...). Compare with ``==`` or ``is``."""

    __slots__ = ("name", "numpy", "itemsize", "is_floating_point", "is_signed", "_category",
                 "scalar_type")

    def __init__(self, name: str, numpy_dtype: Any, category: int, scalar_type: str) -> None:
        self.name = name
        #: torch's name for it in error messages and tensor types: "Float" (FloatTensor)
        self.scalar_type = scalar_type
        self.numpy = np.dtype(numpy_dtype)
        self.itemsize = self.numpy.itemsize
        self.is_floating_point = category == _FLOAT
        self.is_signed = self.numpy.kind in "if"
        self._category = category

    def __repr__(self) -> str:
        return f"tapegrad.{self.name}"

    def __reduce__(self):  # pickles as a reference to the module-level singleton
        return (_by_name, (self.name,))


_BOOL, _INT, _FLOAT = 0, 1, 2

bool_ = dtype("bool", np.bool_, _BOOL, "Bool")
uint8 = dtype("uint8", np.uint8, _INT, "Byte")
int8 = dtype("int8", np.int8, _INT, "Char")
int16 = dtype("int16", np.int16, _INT, "Short")
int32 = dtype("int32", np.int32, _INT, "Int")
int64 = dtype("int64", np.int64, _INT, "Long")
float16 = dtype("float16", np.float16, _FLOAT, "Half")
float32 = dtype("float32", np.float32, _FLOAT, "Float")
float64 = dtype("float64", np.float64, _FLOAT, "Double")

# torch's aliases (torch.float is float32, torch.int is int32, torch.long is int64)
half, float_, double = float16, float32, float64
short, int_, long = int16, int32, int64

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_BY_NUMPY = {d.numpy: d for d in ALL}
_NAMES = {d.name: d for d in ALL}

_default_float = float32


def _by_name(name: str) -> dtype:
    return _NAMES[name]


def get_default_dtype() -> dtype:
    """The dtype that Python floats and ``tensor([1.5])`` become (float32 unless changed)."""
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Change the default floating dtype (only float32 and float64 are allowed, as in torch)."""
    global _default_float
    if d not in (float32, float64):
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d


def from_numpy(np_dtype: Any) -> dtype:
    """The tapegrad dtype of a numpy dtype; TypeError for dtypes tapegrad cannot store."""
    try:
        return _BY_NUMPY[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(
            f"can't convert np.ndarray of type {np.dtype(np_dtype)}. The only supported types "
            "are: float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
        ) from None


def to_dtype(d: Any) -> dtype:
    """Accept a tapegrad dtype, a numpy dtype or a Python type and return a tapegrad dtype."""
    if isinstance(d, dtype):
        return d
    if d is builtins.float:
        return float64  # torch reads dtype=float as float64, whatever the default
    if d is builtins.int:
        return int64
    if d is builtins.bool:
        return bool_
    return from_numpy(d)


def _category_of_python(value: Any) -> int:
    if isinstance(value, builtins.bool):
        return _BOOL
    if isinstance(value, builtins.int):
        return _INT
    return _FLOAT


def result_type(*operands: Any) -> dtype:
    """The dtype torch gives an arithmetic op on ``operands`` (tensors or Python numbers).

    Three priority tiers, highest first: dimensioned tensors, 0-d tensors, Python numbers.
    A lower tier only matters when it brings a *higher category* than all tiers above it;
    within a tier the usual widening applies (int32 + int64 -> int64, float32 + float64 -> float64).
    """
    tiers: list[list[dtype]] = [[], [], []]
    for op in operands:
        d = getattr(op, "dtype", None)
        if isinstance(d, dtype):
            tiers[0 if op.ndim > 0 else 1].append(d)
        else:
            category = _category_of_python(op)
            tiers[2].append({_BOOL: bool_, _INT: int64, _FLOAT: _default_float}[category])
    result: dtype | None = None
    for tier in tiers:
        if not tier:
            continue
        widest = tier[0]
        for d in tier[1:]:
            widest = _widen(widest, d)
        if result is None:
            result = widest
        elif widest._category > result._category:
            # A lower tier of a higher category: Python floats bring the default dtype,
            # 0-d tensors bring their own dtype.
            result = widest
    return result if result is not None else _default_float


def _widen(a: dtype, b: dtype) -> dtype:
    if a is b:
        return a
    if a._category != b._category:
        # int64 tensor with float32 tensor -> float32 in torch (numpy would say float64)
        return a if a._category > b._category else b
    return _BY_NUMPY[np.promote_types(a.numpy, b.numpy)]


class memory_format:  # torch.memory_format, lower-case like dtype
    """How a tensor's elements are laid out in memory (torch.memory_format). tapegrad keeps
    every result C-contiguous, so these are accepted wherever torch takes
    ``memory_format=`` (``clone``, ``to``, ``contiguous``, ``float``..., the ``*_like``
    factories) and change nothing: for ``contiguous_format`` and ``preserve_format`` (on a
    contiguous tensor) that is exactly torch's result; ``channels_last`` gives the same
    values in a different layout, so only strides would differ."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"tapegrad.{self.name}"


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
