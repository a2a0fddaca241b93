"""Numba CPU kernels: the API of `tapegrad.kernels.reference`, compiled.

Read `reference` for what each kernel computes; this module is about doing it fast. The design
choices, each measured on the 2-core development machine (numbers in benchmarks/kernels_bench.py):

* **Two modules.** This one holds the elementwise kernels and the shared settings; the softmax
  family (softmax, log-softmax, logsumexp, the fused NLL loss) lives in `cpu_softmax`, and its
  functions are re-exported here, so ``kernels.cpu`` is the whole API of `reference`.
* **numba is imported lazily.** ``import numba`` alone costs ~160 ms, so importing this module
  does not do it. The kernel bodies below are plain Python functions (``_ew_py``, ...) bound
  with `_jit.lazy_njit`, which imports numba on the first kernel call and swaps the module's
  stand-ins (``_ew``, ...) for numba dispatchers. ``cache=True`` keeps the machine code in
  ``__pycache__``, so later processes load it in milliseconds instead of compiling.
* **Few compiled kernels.** numba compiles one copy per function and argument types. The Python
  wrappers reduce every call to contiguous 1-D arrays (elementwise) or a C-contiguous
  (rows, cols) array with the reduced axis last, and pick the operation with an integer code,
  so all elementwise kernels share one compiled function (`_ew`) and all axis kernels another
  (`cpu_softmax._rows`): a handful of compilations per dtype in total.
* **Serial unless huge.** A parallel (``prange``) call costs ~3 us to dispatch, and on 2 cores
  numba's OpenMP workers spinning next to OpenBLAS's threads slowed a matmul + kernel loop
  ~10x in measurement. Arrays below `PARALLEL_MIN_SIZE` elements (typical training activations,
  e.g. 256 x 512) therefore always take the serial kernel.
* **exp comes from NumPy.** numba calls the scalar libm ``exp`` (~2 ns/element) while NumPy's is
  SIMD (~0.4 ns), so sigmoid and the softmax family run ``np.exp`` in place between two fused
  numba passes instead of exponentiating inside the loop.
* **No fastmath**, so results follow IEEE order of operations; ``error_model="numpy"`` only makes
  x/0 give inf/NaN instead of raising, which also lets LLVM vectorise loops that divide. Row sums
  use four float64 partial sums: without fastmath LLVM may not reorder a single running sum, so
  one accumulator waits ~4 cycles per add; four independent ones run 2-3x faster (measured).
"""

from __future__ import annotations

import numpy as np

from . import reference
from ._jit import lazy_njit

__all__ = reference.__all__

#: Arrays with at least this many elements use the parallel kernels. Measured alone, 2 threads
#: beat 1 from ~2**17-2**18 elements (relu at 2**18: 24 -> 16 us), but in a loop alternating
#: with a (256,512)@(512,512) matmul the parallel relu turned 0.75 ms per step into 8 ms:
#: OpenMP and OpenBLAS workers spin-wait and fight over 2 cores. So only arrays far above
#: training-step sizes go parallel; a program that keeps BLAS single-threaded may lower this.
PARALLEL_MIN_SIZE = 1 << 20
_BLOCK = 1 << 14  # elements per parallel work item (64 KiB of float32: stays in L2)

# Measured no faster in numba, so NumPy does these: axis sums (NumPy's reductions matched a
# numba kernel, and won on tall arrays) and in-place scaling (one ufunc call, same speed).
sum_to_shape = reference.sum_to_shape
scale_ = reference.scale_
erf = reference.erf  # libm's erf through numpy: no faster kernel written yet

prange = range  # rebound to numba.prange on the first kernel call (see _jit)


def _parallel(size: int) -> bool:
    """Whether an array of ``size`` elements takes the parallel kernels (here and in
    `cpu_softmax`): `PARALLEL_MIN_SIZE` is read at each call, so tests and benchmarks can
    change it on this module."""
    return size >= PARALLEL_MIN_SIZE


# ---------------------------------------------------------------------------------------------
# Kernel bodies (plain Python, compiled by numba on first use).

# Elementwise op codes for _ew(op, a, b, out, alpha); arrays are 1-D, C-contiguous, same size.
_RELU = 0  # out = 0 if a < 0 else a                 (NaN fails `a < 0`: passes through)
_THRESHOLD_BW = 1  # out = 0 if b <= alpha else a    (a = grad, b = x, alpha = threshold)
_SIGMOID_BW = 2  # out = a * b * (1 - b)             (a = grad, b = sigmoid output)
_TANH_BW = 3  # out = a * (1 - b * b)                (a = grad, b = tanh output)
_AXPY = 4  # out += alpha * b                        (out = dst, b = src)
_NEG_ABS = 5  # out = -|a|                           (sigmoid, step 1)
_SIGMOID_FROM_EXP = 6  # out = (1 if a >= 0 else out) / (1 + out), out = exp(-|a|)  (step 3)

# Ops that update `out` from its own values read and write `out` only (never `b is out`): LLVM
# vectorises a loop after a run-time check that its arrays do not overlap, and two names for one
# array fail that check, silently giving the scalar loop (measured 3-4x slower).


def _ew_py(op, a, b, out, alpha):
    n = out.shape[0]
    zero = out.dtype.type(0)  # typed constants keep float32 math in float32
    one = out.dtype.type(1)
    al = out.dtype.type(alpha)
    if op == _RELU:
        for i in range(n):
            v = a[i]
            out[i] = zero if v < zero else v
    elif op == _THRESHOLD_BW:
        for i in range(n):
            out[i] = zero if b[i] <= al else a[i]
    elif op == _SIGMOID_BW:
        for i in range(n):
            y = b[i]
            out[i] = a[i] * y * (one - y)
    elif op == _TANH_BW:
        for i in range(n):
            y = b[i]
            out[i] = a[i] * (one - y * y)
    elif op == _AXPY:
        for i in range(n):
            out[i] += al * b[i]
    elif op == _NEG_ABS:
        for i in range(n):
            out[i] = -abs(a[i])
    elif op == _SIGMOID_FROM_EXP:
        for i in range(n):
            e = out[i]
            out[i] = (one if a[i] >= zero else e) / (one + e)


def _ew_par_py(op, a, b, out, alpha):
    # Slicing (not passing lo/hi) keeps every inner index provably >= 0, so numba drops its
    # negative-index wraparound and LLVM vectorises the loops in _ew (measured 2-4x).
    n = out.shape[0]
    for k in prange((n + _BLOCK - 1) // _BLOCK):
        lo = k * _BLOCK
        hi = min(lo + _BLOCK, n)
        _ew(op, a[lo:hi], b[lo:hi], out[lo:hi], alpha)


# ---------------------------------------------------------------------------------------------
# Compiled on first call (`_jit.lazy_njit`).

_ew = lazy_njit(_ew_py)
_ew_par = lazy_njit(_ew_par_py, parallel=True)

# ---------------------------------------------------------------------------------------------
# Public wrappers: shape and dtype plumbing in Python, arithmetic in the kernels above.


def _flat(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``a`` as a 1-D C-contiguous array of ``dtype``: a view when possible, else one copy."""
    if a.dtype != dtype:
        a = a.astype(dtype, order="C")
    return a.ravel()


def _run_ew(op: int, a: np.ndarray, b: np.ndarray, out: np.ndarray, alpha: float) -> None:
    if _parallel(out.shape[0]):
        _ew_par(op, a, b, out, alpha)
    else:
        _ew(op, a, b, out, alpha)


def _binary(op: int, grad: np.ndarray, other: np.ndarray, alpha: float) -> np.ndarray:
    if other.shape != grad.shape:
        raise ValueError(f"shape mismatch: {grad.shape} and {other.shape}")
    out = np.empty(grad.shape, grad.dtype)
    _run_ew(op, grad.ravel(), _flat(other, grad.dtype), out.reshape(-1), alpha)
    return out


def relu(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)``, NaN kept: one vectorised pass."""
    out = np.empty(x.shape, x.dtype)
    xf = x.ravel()
    _run_ew(_RELU, xf, xf, out.reshape(-1), 0.0)
    return out


def threshold_backward(grad: np.ndarray, x: np.ndarray, threshold: float) -> np.ndarray:
    """``0 if x <= threshold else grad``: one pass (NumPy's ``where`` needs a mask first)."""
    return _binary(_THRESHOLD_BW, grad, x, float(threshold))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Stable logistic: ``-|x|`` (numba), ``exp`` in place (NumPy SIMD), then one fused pass
    ``(1 if x >= 0 else e) / (1 + e)`` (numba)."""
    out = np.empty(x.shape, x.dtype)
    xf, of = x.ravel(), out.reshape(-1)
    _run_ew(_NEG_ABS, xf, xf, of, 0.0)
    np.exp(of, out=of)  # exp(-|x|) is in (0, 1]: never overflows
    _run_ew(_SIGMOID_FROM_EXP, xf, xf, of, 0.0)
    return out


def sigmoid_backward(grad: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``grad * y * (1 - y)`` in one pass, no temporaries."""
    return _binary(_SIGMOID_BW, grad, y, 0.0)


def tanh_backward(grad: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``grad * (1 - y*y)`` in one pass, no temporaries."""
    return _binary(_TANH_BW, grad, y, 0.0)


def axpy_(dst: np.ndarray, src: np.ndarray, alpha: float) -> np.ndarray:
    """In place ``dst += alpha * src`` in one pass (NumPy would build ``alpha * src`` first).
    ``src`` must not partially overlap ``dst``."""
    if src.shape != dst.shape:
        raise ValueError(f"axpy_: src shape {src.shape} does not match dst shape {dst.shape}")
    flags = dst.flags
    if not (flags.c_contiguous and flags.writeable):  # NumPy handles views (and raises on
        return reference.axpy_(dst, src, alpha)  # read-only arrays with its usual error)
    d = dst.reshape(-1)
    _run_ew(_AXPY, d, _flat(src, dst.dtype), d, float(alpha))
    return dst


# The softmax family, re-exported (`__all__` is reference's). Imported last: `cpu_softmax`
# imports `_parallel` from this module, so whichever of the two is imported first, the other
# one finds its names defined.
from .cpu_softmax import (  # noqa: E402, F401
    NONLAST_AXIS_NUMPY_SIZE,
    log_softmax,
    log_softmax_backward,
    log_softmax_nll,
    log_softmax_nll_backward,
    logsumexp,
    softmax,
    softmax_backward,
)
