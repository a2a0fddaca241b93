"""Argument parsing and checks for the pooling functions, with torch's messages.

Kept apart from `pooling` so the maths there reads without the bookkeeping. The output size
rule (torch's ``pooling_output_shape``)::

    out = floor((L + 2*pad - dilation*(k-1) - 1 + (stride-1 if ceil_mode else 0)) / stride) + 1
    if ceil_mode and (out-1)*stride >= L + pad: out -= 1     # last window must start inside
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.tensor import Tensor


def _ints(value: Any, n_allowed: tuple[int, ...], message: str) -> tuple[int, ...]:
    items = list(value) if isinstance(value, Sequence) else [value]
    if len(items) not in n_allowed:
        raise RuntimeError(message)
    for item in items:
        if not isinstance(item, (int, np.integer)) or isinstance(item, bool):
            raise TypeError(f"expected an int in pooling arguments, got {type(item).__name__}")
    return tuple(int(i) for i in items)


def _pair(value: Any, message: str) -> tuple[int, int]:
    t = _ints(value, (1, 2), message)
    return (t[0], t[0]) if len(t) == 1 else (t[0], t[1])


def _cdiv(a: int, b: int) -> int:
    """C++ integer division (truncates toward zero), for checks copied from torch."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def output_size(size: int, k: int, pad: int, stride: int, dilation: int, ceil: bool) -> int:
    """torch's ``pooling_output_shape``, with the checks it makes."""
    if stride == 0:
        raise RuntimeError("stride should not be zero")
    if pad < 0:
        raise RuntimeError(f"pad must be non-negative, but got pad: {pad}")
    if pad > _cdiv((k - 1) * dilation + 1, 2):
        raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                           f"pad={pad}, kernel_size={k} and dilation={dilation}")
    out = (size + 2 * pad - dilation * (k - 1) - 1 + (stride - 1 if ceil else 0)) // stride + 1
    if ceil and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _shape_check(x: Tensor, k: tuple, s: tuple, p: tuple, d: tuple, out: tuple) -> None:
    """torch's ``pool2d_shape_check``."""
    if k[0] <= 0 or k[1] <= 0:
        raise RuntimeError(
            f"kernel size should be greater than zero, but got kH: {k[0]} kW: {k[1]}")
    if s[0] <= 0 or s[1] <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got dH: {s[0]} dW: {s[1]}")
    if d[0] <= 0 or d[1] <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {d[0]} "
                           f"dilationW: {d[1]}")
    shape = list(x.shape)
    if x.ndim not in (3, 4) or 0 in shape[-3:]:
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch "
                           f"size for input, but got:{shape}")
    if _cdiv(k[1], 2) < p[1] or _cdiv(k[0], 2) < p[0]:
        raise RuntimeError(
            "pad should be smaller than or equal to half of kernel size, but got "
            f"padW = {p[1]}, padH = {p[0]}, kW = {k[1]}, kH = {k[0]}")
    if out[0] < 1 or out[1] < 1:
        c, h, w = shape[-3:]
        raise RuntimeError(f"Given input size: ({c}x{h}x{w}). Calculated output size: "
                           f"({c}x{out[0]}x{out[1]}). Output size is too small")


def _parse(fn: str, kernel_size: Any, stride: Any, padding: Any) -> tuple:
    k = _pair(kernel_size, f"{fn}: kernel_size must either be a single int, or a tuple of two "
                           "ints")
    if stride is None or (isinstance(stride, Sequence) and len(stride) == 0):
        s = k
    else:
        s = _pair(stride, f"{fn}: stride must either be omitted, a single int, or a tuple of "
                          "two ints")
    p = _pair(padding, f"{fn}: padding must either be a single int, or a tuple of two ints")
    return k, s, p


def max_pool2d_args(x: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                    ceil_mode: bool) -> tuple:
    """``(kernel, stride, padding, dilation, out_size)`` as pairs, checked like torch."""
    require_tensor(x, "max_pool2d")
    k, s, p = _parse("max_pool2d", kernel_size, stride, padding)
    d = _pair(dilation, "max_pool2d: dilation must be either a single int, or a tuple of two "
                        "ints")
    if x.ndim not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    out = (output_size(x.shape[-2], k[0], p[0], s[0], d[0], ceil_mode),
           output_size(x.shape[-1], k[1], p[1], s[1], d[1], ceil_mode))
    _shape_check(x, k, s, p, d, out)
    return k, s, p, d, out


def avg_pool2d_args(fn: str, x: Tensor, kernel_size: Any, stride: Any, padding: Any,
                    ceil_mode: bool, divisor_override: Any) -> tuple:
    """``(kernel, stride, padding, out_size)`` as pairs, checked like torch."""
    require_tensor(x, fn)
    k, s, p = _parse(fn, kernel_size, stride, padding)
    if divisor_override is not None:
        if not isinstance(divisor_override, (int, np.integer)) or isinstance(divisor_override,
                                                                             bool):
            raise TypeError(f"{fn}(): argument 'divisor_override' (position 7) must be int, "
                            f"not {type(divisor_override).__name__}")
        if divisor_override == 0:
            raise RuntimeError("divisor must be not zero")
    if x.ndim < 3:  # torch reads input.size(-3) first
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-max(x.ndim, 1)}, {max(x.ndim, 1) - 1}], but got -3)")
    out = (output_size(x.shape[-2], k[0], p[0], s[0], 1, ceil_mode),
           output_size(x.shape[-1], k[1], p[1], s[1], 1, ceil_mode))
    _shape_check(x, k, s, p, (1, 1), out)
    return k, s, p, out


def one_d_args(fn: str, x: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
               ceil_mode: bool) -> tuple[int, int, int, int]:
    """1-d pooling arguments as ints (torch's ``max_pool1d`` / ``avg_pool1d`` checks)."""
    require_tensor(x, fn)
    if fn == "avg_pool1d":
        if x.ndim not in (2, 3):
            raise RuntimeError(f"Expected 2 to 3 dimensions, but got {x.ndim}-dimensional tensor "
                               f"for argument #1 'self' (while checking arguments for {fn})")

        def one(value: Any, name: str, allow_empty: bool = False) -> int | None:
            items = list(value) if isinstance(value, Sequence) else [value]
            if allow_empty and not items:
                return None
            if len(items) != 1:
                raise RuntimeError(f"{fn}() argument '{name}' should contain one int "
                                   f"(got {len(items)})")
            return _ints(items, (1,), "")[0]

        k = one(kernel_size, "kernel_size")
        s = None if stride is None else one(stride, "stride", allow_empty=True)
        return k, k if s is None else s, one(padding, "padding"), 1
    if x.ndim not in (2, 3):
        raise RuntimeError(f"{fn}: Expected 2D or 3D (batch mode) tensor with optional 0 dim "
                           f"batch size for input, but got:{list(x.shape)}")
    k = _ints(kernel_size, (1,), f"{fn}() kernel_size must be an int, list of ints or tuple of "
              f"ints of size 1 but got size {_len(kernel_size)}")[0]
    if stride is None or (isinstance(stride, Sequence) and len(stride) == 0):
        s = k
    else:
        s = _ints(stride, (1,), f"{fn}() stride must be None, an int, list of ints, or tuple of "
                  f"ints of size 1 but got size {_len(stride)}")[0]
    p = _ints(padding, (1,), f"{fn}() padding must be an int, list of ints, or tuple of ints of "
              f"size 1 but got size {_len(padding)}")[0]
    d = _ints(dilation, (1,), f"{fn}() dilation must be an int, list of ints or tuple of ints "
              f"of size 1 but got size {_len(dilation)}")[0]
    if k <= 0:
        raise RuntimeError(f"{fn}() kernel_size must be greater than zero, but got {k}")
    if s <= 0:
        raise RuntimeError(f"{fn}() stride must be greater than zero, but got {s}")
    if p < 0:
        raise RuntimeError(f"{fn}() padding must be non-negative, but got {p}")
    if p > k // 2:
        raise RuntimeError(f"{fn}() padding should be at most half of kernel size, but got "
                           f"padding={p} and kernel_size={k}")
    if d <= 0:
        raise RuntimeError(f"{fn}() dilation must be greater than zero, but got {d}")
    out = output_size(x.shape[-1], k, p, s, d, ceil_mode)
    if out <= 0:
        raise RuntimeError(f"{fn}() Invalid computed output size: {out}")
    return k, s, p, d


def _len(value: Any) -> int:
    return len(value) if isinstance(value, Sequence) else 1


def adaptive_args(fn: str, x: Tensor, output_size: Any) -> tuple[int, int]:
    """The output size as a pair (``None`` entries take the input's size), checked."""
    require_tensor(x, fn)
    if isinstance(output_size, Sequence) and x.ndim <= len(output_size):
        # torch's Python wrapper fills None entries from the input's trailing sizes first
        raise ValueError(f"Input dimension should be at least {len(output_size) + 1}")
    if isinstance(output_size, Sequence):
        if len(output_size) != 2:
            raise RuntimeError(f"{fn}: output_size must be 2" if fn == "adaptive_avg_pool2d"
                               else f"{fn}(): internal error: output_size.size() must be 2")
        sizes = list(output_size)
    else:
        sizes = [output_size, output_size]
    if x.ndim not in (3, 4):
        sep = ": " if fn == "adaptive_max_pool2d" else " "
        raise RuntimeError(f"{fn}(): Expected 3D or 4D tensor, but got{sep}{list(x.shape)}")
    sizes = [x.shape[x.ndim - 2 + i] if v is None else int(v) for i, v in enumerate(sizes)]
    if sizes[0] < 0 or sizes[1] < 0:
        raise RuntimeError(f"{fn}: elements of output_size must be greater than or equal to 0 "
                           f"but received {{{sizes[0]}, {sizes[1]}}}")
    for dim in range(x.ndim - 3, x.ndim):  # every dim but the batch dim
        if x.shape[dim] == 0:
            raise RuntimeError(
                f"{fn}(): Expected input to have non-zero size for non-batch dimensions, but "
                f"input has sizes {list(x.shape)} with dimension {dim} being empty")
    if not x.is_floating_point():
        raise NotImplementedError(f'"{fn}" not implemented for '
                                  f"'{x.dtype.scalar_type}'")
    return sizes[0], sizes[1]


_WORDS = {1: "one", 2: "two", 3: "three"}


def _tuple_n(value: Any, n: int, message: str) -> tuple[int, ...]:
    t = _ints(value, (1, n), message)
    return t * n if len(t) == 1 else t


def pool_nd_args(fn: str, x: Tensor, n: int, kernel_size: Any, stride: Any, padding: Any,
                 dilation: Any, ceil_mode: bool) -> tuple:
    """``(kernel, stride, padding, dilation, out_size)`` of an ``n``-d max/avg pool as
    ``n``-tuples, checked like torch's ``max_pool3d`` / ``avg_pool3d``."""
    require_tensor(x, fn)
    word = _WORDS.get(n, str(n))
    k = _tuple_n(kernel_size, n, f"{fn}: kernel_size must either be a single int, or a tuple "
                                 f"of {word} ints")
    if stride is None or (isinstance(stride, Sequence) and len(stride) == 0):
        s = k
    else:
        s = _tuple_n(stride, n, f"{fn}: stride must either be omitted, a single int, or a "
                                f"tuple of {word} ints")
    p = _tuple_n(padding, n, f"{fn}: padding must either be a single int, or a tuple of "
                             f"{word} ints")
    d = _tuple_n(dilation, n, f"{fn}: dilation must be either a single int, or a tuple of "
                              f"{word} ints")
    if x.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"non-empty {n + 1}D or {n + 2}D (batch mode) tensor expected for "
                           "input")
    if any(v <= 0 for v in k):
        raise RuntimeError(f"kernel size should be greater than zero, but got {list(k)}")
    if any(v <= 0 for v in s):
        raise RuntimeError(f"stride should be greater than zero, but got {list(s)}")
    if any(v <= 0 for v in d):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(d)}")
    size = list(x.shape)[-n:]
    out = tuple(output_size(size[i], k[i], p[i], s[i], d[i], ceil_mode) for i in range(n))
    first = 1 if x.ndim == n + 2 else 0
    if 0 in list(x.shape)[first:]:
        raise RuntimeError(f"{fn}: Expected input's non-batch dimensions to have positive "
                           f"length, but input has a shape of {list(x.shape)} and non-batch "
                           f"dimension {list(x.shape)[first:].index(0) + first} has length zero!")
    if any(o < 1 for o in out):
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, x.shape[-n - 1:]))}). "
                           f"Calculated output size: "
                           f"({'x'.join(map(str, (x.shape[-n - 1], *out)))}). Output size is "
                           "too small")
    return k, s, p, d, out


def adaptive_nd_args(fn: str, x: Tensor, n: int, output_size: Any) -> tuple[int, ...]:
    """The output size of an ``n``-d adaptive pool as an ``n``-tuple (``None`` entries take
    the input's size), checked like torch."""
    require_tensor(x, fn)
    if isinstance(output_size, Sequence) and x.ndim <= len(output_size):
        raise ValueError(f"Input dimension should be at least {len(output_size) + 1}")
    sizes = list(output_size) if isinstance(output_size, Sequence) else [output_size] * n
    if len(sizes) != n:
        raise RuntimeError(f"{fn}: output_size must be {n}" if "avg" in fn
                           else f"{fn}(): internal error: output_size.size() must be {n}")
    if x.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{fn}(): Expected {n + 1}D or {n + 2}D tensor, but got "
                           f"{list(x.shape)}")
    sizes = [x.shape[x.ndim - n + i] if v is None else int(v) for i, v in enumerate(sizes)]
    if any(v < 0 for v in sizes):
        if "max" in fn:
            raise RuntimeError(f"Trying to create tensor with negative dimension "
                               f"{min(sizes)}: {sizes}")
        raise RuntimeError(f"{fn}: elements of output_size must be greater than or equal to 0 "
                           f"but received {{{', '.join(map(str, sizes))}}}")
    for dim in range(x.ndim - n, x.ndim):
        if x.shape[dim] == 0:
            raise RuntimeError(
                f"{fn}(): Expected input to have non-zero size for non-batch dimensions, but "
                f"input has sizes {list(x.shape)} with dimension {dim} being empty")
    if not x.is_floating_point():
        raise NotImplementedError(f'"{fn}" not implemented for \'{x.dtype.scalar_type}\'')
    return tuple(sizes)
