"""Elementwise CUDA kernels: one generated kernel per expression, with broadcasting and strides.

Every elementwise op -- ``a + b``, ``exp(x)``, ``where(c, x, y)``, a dtype cast, a strided
copy -- is the same loop: for each position of the output, find the matching position of each
operand and apply an expression. So instead of one hand-written kernel per op, this module
writes the kernel's *source* from a template and compiles it once per expression:

    def kernel(n, shape, out, out_off, out_st, a0, o0, s0, v1):
        for i in range(cuda.grid(1), n, cuda.gridsize(1)):     # grid-stride loop
            rem = i
            po = out_off
            p0 = o0
            for d in range(len(shape) - 1, -1, -1):           # flat index -> n-d index
                k = rem % shape[d]
                rem //= shape[d]
                po += k * out_st[d]
                p0 += k * s0[d]                               # stride 0 on broadcast axes
            x0 = C0(a0[p0])
            x1 = C1(v1)                                       # a Python number operand
            out[po] = x0 + x1

* **Broadcasting and views are strides.** An operand broadcast along an axis has stride 0
  there; a transposed or sliced operand just has other strides and an offset. So one kernel
  reads contiguous, broadcast, transposed and sliced operands alike, with no copies.
* **Numbers are kernel arguments,** not arrays: ``x * 2.0`` copies nothing to the GPU.
* **Types follow numpy.** ``ufunc.resolve_dtypes`` gives the loop's dtypes (numpy's promotion
  rules, Python numbers "weak" as in NEP 50); each operand is cast to its loop dtype (``C0``)
  before the expression, and the store casts to the output's dtype.
* **Bounds:** the loop condition is the bounds check; there is no shared memory and no
  ``syncthreads``, so threads never wait on each other.

The reference for these kernels is numpy itself: the tests run each ufunc both ways.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import runtime
from .runtime import blocks_for, numba_cuda, threads_per_block

__all__ = ["COPY", "EXPRESSIONS", "expression_for", "launch", "launch_index"]

#: The expression of a copy (with a cast to the output dtype on store).
COPY = "x0"

#: Expressions that are not ``np.<name>(x0, ...)`` (the default for any other ufunc).
EXPRESSIONS: dict[str, str] = {
    "add": "x0 + x1",
    "subtract": "x0 - x1",
    "multiply": "x0 * x1",
    "true_divide": "x0 / x1",
    "divide": "x0 / x1",
    "negative": "-x0",
    "positive": "x0",
    "absolute": "abs(x0)",
    "greater": "x0 > x1",
    "greater_equal": "x0 >= x1",
    "less": "x0 < x1",
    "less_equal": "x0 <= x1",
    "equal": "x0 == x1",
    "not_equal": "x0 != x1",
    "logical_and": "bool(x0) and bool(x1)",
    "logical_or": "bool(x0) or bool(x1)",
    "logical_xor": "bool(x0) != bool(x1)",
    "logical_not": "not x0",
    "isnan": "x0 != x0",
    "bitwise_and": "x0 & x1",
    "bitwise_or": "x0 | x1",
    "bitwise_xor": "x0 ^ x1",
    "reciprocal": "1 / x0",
    "square": "x0 * x0",
    # numpy's maximum/minimum propagate NaN; a plain comparison would drop it
    "maximum": "x0 if (x0 >= x1 or x0 != x0) else x1",
    "minimum": "x0 if (x0 <= x1 or x0 != x0) else x1",
    # not ufuncs, but the same loop
    "copy": "x0",
    "where": "x1 if x0 else x2",
    "erf": "M.erf(x0)",  # numpy has no erf; CUDA's libdevice does
    # NaN gives NaN and -0.0 gives 0.0 (x0 + 0), as in numpy; C0(1), not 1: numba types an int
    # beside a float32 as float64
    "sign": "C0(1) if x0 > 0 else (C0(-1) if x0 < 0 else x0 + C0(0))",
    "isinf": "M.isinf(x0)",
    "isfinite": "M.isfinite(x0)",
    "power": "x0 ** x1",
    "floor_divide": "x0 // x1",
    "remainder": "x0 % x1",
    "fmod": "M.fmod(x0, x1)",
}

#: numpy's names for the math functions, as the ``math`` module spells them. On a GPU the
#: expressions call ``math.*`` (numba's CUDA target implements those, with float32 versions,
#: but not ``np.exp``); in the simulator they call numpy's, which return inf/NaN where
#: Python's ``math`` would raise (``math.exp(1000.0)``) and keep float32 in float32.
_MATH_NAMES = {
    "exp": "exp", "expm1": "expm1", "log": "log", "log1p": "log1p", "log2": "log2",
    "log10": "log10", "sqrt": "sqrt", "sin": "sin", "cos": "cos", "tan": "tan",
    "arcsin": "asin", "arccos": "acos", "arctan": "atan", "sinh": "sinh", "cosh": "cosh",
    "tanh": "tanh", "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh",
    "floor": "floor", "ceil": "ceil", "trunc": "trunc", "fabs": "fabs", "arctan2": "atan2",
    "hypot": "hypot", "copysign": "copysign", "fmod": "fmod", "erf": "erf",
    "isinf": "isinf", "isfinite": "isfinite", "rint": "rint",
}


def expression_for(name: str, nin: int, dtype: np.dtype) -> str:
    """The kernel expression for numpy function ``name`` applied to ``nin`` operands."""
    if name == "invert" and dtype == np.bool_:
        return "not x0"
    if name == "invert":
        return "~x0"
    if name in EXPRESSIONS:
        return EXPRESSIONS[name]
    if name == "rint" and dtype == np.float32:  # CUDA's rint is float64 only; rintf is float32
        return "M.rintf(x0)"
    args = ", ".join(f"x{j}" for j in range(nin))
    if name not in _MATH_NAMES:
        raise TypeError(f"tapegrad's CUDA backend has no kernel for numpy.{name}")
    return f"M.{name}({args})"


_TEMPLATE = """
def kernel(n, shape, out, out_off, out_st{params}):
{hoisted}
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        rem = i
        po = out_off
{init}
        for d in range(len(shape) - 1, -1, -1):
            k = rem % shape[d]
            rem //= shape[d]
            po += k * out_st[d]
{advance}
{loads}
        out[po] = {expr}
"""

_cache: dict[tuple, Any] = {}


def _build(expr: str, kinds: str, casts: tuple[np.dtype, ...]) -> Any:
    """Write, exec and ``cuda.jit`` the kernel for one expression and operand kinds
    (``'a'`` array or ``'s'`` scalar per operand)."""
    params, hoisted, init, advance, loads = [], [], [], [], []
    for j, kind in enumerate(kinds):
        if kind == "a":
            params.append(f", a{j}, o{j}, s{j}")
            init.append(f"        p{j} = o{j}")
            advance.append(f"            p{j} += k * s{j}[d]")
            loads.append(f"        x{j} = C{j}(a{j}[p{j}])")
        else:
            params.append(f", v{j}")
            hoisted.append(f"    x{j} = C{j}(v{j})")
    source = _TEMPLATE.format(
        params="".join(params), hoisted="\n".join(hoisted) or "    pass",
        init="\n".join(init) or "        pass", advance="\n".join(advance) or "            pass",
        loads="\n".join(loads) or "        pass", expr=expr,
    )
    cuda = numba_cuda()
    namespace: dict[str, Any] = {"cuda": cuda, "np": np, "M": _math_module(),
                                 "__name__": _GENERATED}
    for j, dt in enumerate(casts):
        namespace[f"C{j}"] = np.dtype(dt).type  # np.float32(x) casts, on a GPU and in Python
    exec(compile(source, f"<tapegrad cuda kernel: {expr}>", "exec"), namespace)
    return cuda.jit(namespace["kernel"])


#: The module name generated kernels run under. In the simulator their arithmetic is numpy
#: scalar arithmetic, which warns on overflow and division by zero where a GPU (and the CPU
#: ops, under ``np.errstate``) silently give inf/NaN; those warnings are filtered by this name.
_GENERATED = "tapegrad.kernels.cuda.generated"
warnings.filterwarnings("ignore", category=RuntimeWarning,
                        module=_GENERATED.replace(".", r"\."))


def _math_module() -> Any:
    """``M``: the math functions under numpy's names, as a module numba can read from a
    kernel's globals. On a GPU each is ``math``'s (numba resolves ``M.exp`` to ``math.exp``);
    in the simulator each is numpy's where numpy has one (``erf`` is ``math``'s)."""
    import types

    simulated = runtime.simulated()
    module = types.ModuleType("tapegrad_kernel_math")
    for np_name, math_name in _MATH_NAMES.items():
        func = getattr(np, np_name, None) if simulated else None
        if func is None:
            func = getattr(math, math_name, None)
        if func is None and np_name == "rint":  # Python's math has no rint; CUDA's does
            func = runtime.numba_cuda().libdevice.rint
        if func is not None:
            setattr(module, np_name, func)
    module.rintf = np.rint if simulated else runtime.numba_cuda().libdevice.rintf
    return module


def _kernel(expr: str, kinds: str, casts: tuple[np.dtype, ...]) -> Any:
    return runtime.build_once(_cache, (expr, kinds, casts), lambda: _build(expr, kinds, casts))


def _kernel_shape(shape: Sequence[int], strides: Sequence[int]) -> tuple[tuple, tuple]:
    """Kernels index with at least one axis: a 0-d array is a length-1 vector."""
    if len(shape) == 0:
        return (1,), (0,)
    return tuple(int(s) for s in shape), tuple(int(s) for s in strides)


def launch(expr: str, out: Any, operands: Sequence[Any], casts: Sequence[np.dtype]) -> Any:
    """Run ``out[...] = expr(operands...)`` on the GPU and return ``out``.

    ``out`` is a `CudaArray` of the broadcast shape (any strides: it may be a view, for
    in-place ops); each operand is a `CudaArray` already broadcast to ``out.shape`` (stride 0
    on broadcast axes) or a Python/numpy number; ``casts`` are the loop dtypes, one per operand.
    """
    n = out.size
    if n == 0:
        return out
    kinds = "".join("a" if hasattr(op, "_buf") else "s" for op in operands)
    kernel = _kernel(expr, kinds, tuple(np.dtype(c) for c in casts))
    shape, out_strides = _kernel_shape(out.shape, out.strides_el)
    args: list[Any] = [n, shape, out._buf, out.offset, out_strides]
    for op in operands:
        if hasattr(op, "_buf"):
            _, strides = _kernel_shape(op.shape, op.strides_el)
            if len(op.shape) == 0:
                strides = (0,) * len(shape)
            args += [op._buf, op.offset, strides]
        else:
            args.append(op.item() if isinstance(op, (np.generic, np.ndarray)) else op)
    threads = threads_per_block()
    kernel[blocks_for(n, threads), threads](*args)
    return out


#: numba.cuda, bound on first use. Kernels must name ``cuda`` as a module global: the
#: simulator swaps that global for its fake module while a kernel runs (a closure would not be).
cuda: Any = None


def _ramp(out, start, step):  # a kernel: numba infers the types
    for i in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        out[i] = start + step * i


def launch_index(out: Any, start: Any, step: Any) -> Any:
    """Write ``start + step * i`` into the contiguous 1-D CudaArray ``out`` (``arange``)."""
    global cuda
    kernel = _cache.get("ramp")
    if kernel is None:
        cuda = numba_cuda()
        kernel = _cache["ramp"] = cuda.jit(_ramp)
    n = out.size
    if n:
        threads = threads_per_block()
        kernel[blocks_for(n, threads), threads](out._buf[out.offset:out.offset + n], start,
                                                 step)
    return out

