"""Numba CPU kernels: the API of `tapegrad.kernels.reference`, compiled.

Read `reference` for what each kernel computes; this module is about doing it fast. The design
choices, each measured on the 2-core development machine (numbers in benchmarks/kernels_bench.py):

* **One module for `reference`'s API**: the elementwise kernels first, then the softmax family
  (softmax, log-softmax, logsumexp, the fused NLL loss), each section with its own notes.
* **numba is imported lazily.** ``import numba`` alone costs ~160 ms, so importing this module
  does not do it. The kernel bodies below are plain Python functions (``_ew_py``, ...) bound
  with `_jit.lazy_njit`, which imports numba on the first kernel call and swaps the module's
  stand-ins (``_ew``, ...) for numba dispatchers. ``cache=True`` keeps the machine code in
  ``__pycache__``, so later processes load it in milliseconds instead of compiling.
* **Few compiled kernels.** numba compiles one copy per function and argument types. The Python
  wrappers reduce every call to contiguous 1-D arrays (elementwise) or a C-contiguous
  (rows, cols) array with the reduced axis last, and pick the operation with an integer code,
  so all elementwise kernels share one compiled function (`_ew`) and all axis kernels another
  (`_rows`): a handful of compilations per dtype in total.
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

import math

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

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
    """Whether an array of ``size`` elements takes the parallel kernels: `PARALLEL_MIN_SIZE`
    is read at each call, so tests and benchmarks can change it on this module."""
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


# ---------------------------------------------------------------------------------------------
# The softmax family: softmax, log-softmax, their backwards, logsumexp, and log-softmax fused
# with the NLL loss.
#
# The design notes at the top apply (lazy numba, serial below ``PARALLEL_MIN_SIZE``, exp from
# NumPy, no fastmath, four float64 partial sums). What is particular to this family:
#
# * **One compiled row kernel.** Every call is reduced to a C-contiguous (rows, cols) array whose
#   columns run along the softmax axis (`_to_rows`), and `_rows` picks the operation with an
#   integer code, so the whole family shares one compiled function per dtype (plus its parallel
#   twin, `_rows_par`, which hands whole rows to the threads).
# * **Two numba passes around NumPy's exp.** Softmax is pass 1 (row max, then ``x - max``),
#   ``exp`` in place in NumPy (SIMD), then pass 2 (row sum, then scale by ``1 / sum``).
# * **Non-last axes of large arrays go to NumPy** (`NONLAST_AXIS_NUMPY_SIZE`): moving the axis
#   last costs a copy that outweighs what numba saves there.

#: Softmax-family calls along a non-last axis of at least this many elements go to NumPy: the
#: copy that moves the axis last costs more than numba saves there (measured: 2.6x slower at
#: 128 x 512, 2x faster at 64 x 10).
NONLAST_AXIS_NUMPY_SIZE = 1 << 13

# ---------------------------------------------------------------------------------------------
# Kernel bodies (plain Python, compiled by numba on first use).


def _max_row_py(row):
    # Four running maxima: independent chains run in parallel in the CPU (one chain waits on
    # each compare). NaN never wins `v > m`: logsumexp checks for NaN itself, and softmax gets
    # NaN through the sum anyway.
    m0 = m1 = m2 = m3 = row.dtype.type(-np.inf)
    n4 = row.shape[0] // 4 * 4
    for j in range(0, n4, 4):
        m0 = row[j] if row[j] > m0 else m0
        m1 = row[j + 1] if row[j + 1] > m1 else m1
        m2 = row[j + 2] if row[j + 2] > m2 else m2
        m3 = row[j + 3] if row[j + 3] > m3 else m3
    for j in range(n4, row.shape[0]):
        m0 = row[j] if row[j] > m0 else m0
    return max(max(m0, m1), max(m2, m3))


def _sum_row_py(row):
    # sum(row) in four float64 partial sums (see the `tapegrad.kernels.cpu` docstring).
    s0 = s1 = s2 = s3 = 0.0
    n4 = row.shape[0] // 4 * 4
    for j in range(0, n4, 4):
        s0 += row[j]
        s1 += row[j + 1]
        s2 += row[j + 2]
        s3 += row[j + 3]
    for j in range(n4, row.shape[0]):
        s0 += row[j]
    return (s0 + s1) + (s2 + s3)


def _dot_row_py(a, b):
    # sum(a * b) in four float64 partial sums.
    s0 = s1 = s2 = s3 = 0.0
    n4 = a.shape[0] // 4 * 4
    for j in range(0, n4, 4):
        s0 += a[j] * b[j]
        s1 += a[j + 1] * b[j + 1]
        s2 += a[j + 2] * b[j + 2]
        s3 += a[j + 3] * b[j + 3]
    for j in range(n4, a.shape[0]):
        s0 += a[j] * b[j]
    return (s0 + s1) + (s2 + s3)


# Row op codes for _rows(op, a, b, out, vec): a, b, out are (rows, cols), vec is (rows,).
_SHIFT = 0  # vec[r] = max(a[r]); out[r] = a[r] - vec[r]
_NORMALIZE = 1  # out[r] *= 1 / sum(out[r])                        (out = exp(shifted))
_LOG_NORMALIZE = 2  # out[r] -= log(sum(b[r]))                      (out shifted, b = exp(out))
_LSE = 3  # vec[r] = vec[r] + log(sum(b[r]))   (vec = max, b = exp(x - max), a = x)
_SOFTMAX_BW = 4  # out[r] = b[r] * (a[r] - sum(a[r] * b[r]))        (a = grad, b = y)
_LOG_SOFTMAX_BW = 5  # out[r] = a[r] - out[r] * sum(a[r])           (a = grad, out = exp(y))


def _rows_py(op, a, b, out, vec):
    for r in range(out.shape[0]):
        ar = a[r]
        br = b[r]
        orow = out[r]
        n = orow.shape[0]
        if op == _SHIFT:
            m = _max_row(ar)
            vec[r] = m
            for j in range(n):
                orow[j] = ar[j] - m
        elif op == _NORMALIZE:  # multiply by 1/sum, as torch does: one division per row
            inv = out.dtype.type(1.0 / _sum_row(orow))
            for j in range(n):
                orow[j] *= inv
        elif op == _LOG_NORMALIZE:
            ls = out.dtype.type(math.log(_sum_row(br)))
            for j in range(n):
                orow[j] -= ls
        elif op == _LSE:
            m = vec[r]
            if math.isinf(m):  # torch's rule: no shift; the answer is m unless a NaN is present
                for j in range(ar.shape[0]):
                    if ar[j] != ar[j]:
                        vec[r] = np.nan
                        break
            else:  # m is finite or NaN (then the sum is NaN too)
                vec[r] = m + out.dtype.type(math.log(_sum_row(br)))
        elif op == _SOFTMAX_BW:
            s = out.dtype.type(_dot_row(ar, br))
            for j in range(n):
                orow[j] = br[j] * (ar[j] - s)
        elif op == _LOG_SOFTMAX_BW:
            s = out.dtype.type(_sum_row(ar))
            for j in range(n):
                orow[j] = ar[j] - orow[j] * s


def _rows_par_py(op, a, b, out, vec):
    rows, cols = out.shape
    step = max(1, _BLOCK // max(cols, 1))  # whole rows per work item, ~_BLOCK elements
    for k in prange((rows + step - 1) // step):
        lo = k * step
        hi = min(lo + step, rows)
        _rows(op, a[lo:hi], b[lo:hi], out[lo:hi], vec[lo:hi])


_NLL_LOSS = 0  # v[n] = -w[t] * m[n, t]                  (m = log_probs, read only)
_NLL_GRAD = 1  # m[n] = v[n] * w[t] * (m[n] - onehot(t))  (m = exp(log_probs) in, grad out)


def _nll_py(op, m, v, target, weight, has_weight, ignore_index):
    # Returns the first row whose target is out of range (numba does no bounds checks, so this
    # check is what keeps a bad label from reading stray memory), or -1.
    n_classes = m.shape[1]
    for r in range(m.shape[0]):
        t = target[r]
        if t == ignore_index:
            if op == _NLL_LOSS:
                v[r] = 0
            else:
                m[r, :] = 0
            continue
        if t < 0 or t >= n_classes:
            return r
        w = weight[t] if has_weight else m.dtype.type(1)
        if op == _NLL_LOSS:
            v[r] = -(w * m[r, t])
        else:
            coef = v[r] * w
            row = m[r]
            for j in range(n_classes):
                row[j] *= coef
            row[t] -= coef
    return -1


# ---------------------------------------------------------------------------------------------
# Compiled on first call (`_jit.lazy_njit`).

_max_row = lazy_njit(_max_row_py)
_sum_row = lazy_njit(_sum_row_py)
_dot_row = lazy_njit(_dot_row_py)
_rows = lazy_njit(_rows_py)
_rows_par = lazy_njit(_rows_par_py, parallel=True)
_nll = lazy_njit(_nll_py)

# ---------------------------------------------------------------------------------------------
# Public wrappers: shape and dtype plumbing in Python, arithmetic in the kernels above.


def _to_rows(x: np.ndarray, axis: int) -> tuple[np.ndarray, int, tuple, tuple | None]:
    """``x`` as a C-contiguous (rows, cols) array whose columns run along ``axis``.

    Returns ``(x2, axis, moved_shape, inverse_perm)``: ``out2.reshape(moved_shape)``, transposed
    by ``inverse_perm`` when it is not None, puts a same-shaped result back in x's layout.
    """
    nd = x.ndim
    if nd == 0:
        normalize_axis_index(axis, 1)
        return x.reshape(1, 1), 0, (), None
    axis = normalize_axis_index(axis, nd)
    inv = None
    if axis != nd - 1:  # move the axis last; rows keep the order of the other axes
        x = x.transpose(tuple(i for i in range(nd) if i != axis) + (axis,))
        inv = tuple(range(axis)) + (nd - 1,) + tuple(range(axis, nd - 1))
    cols = x.shape[-1]
    rows = x.size // cols if cols else math.prod(x.shape[:-1])
    return np.ascontiguousarray(x).reshape(rows, cols), axis, x.shape, inv


def _from_rows(out2: np.ndarray, moved_shape: tuple, inv: tuple | None) -> np.ndarray:
    out = out2.reshape(moved_shape)
    return out if inv is None else out.transpose(inv)


def _run_rows(op: int, a: np.ndarray, b: np.ndarray, out: np.ndarray, vec: np.ndarray) -> None:
    if _parallel(out.size) and out.shape[0] > 1:
        _rows_par(op, a, b, out, vec)
    else:
        _rows(op, a, b, out, vec)


def _like_rows(y: np.ndarray, axis: int, x2: np.ndarray) -> np.ndarray:
    """``y`` (same shape as the array x2 came from) in x2's (rows, cols) layout and dtype."""
    return _to_rows(y.astype(x2.dtype, copy=False), axis)[0]


def _numpy_axis(x: np.ndarray, axis: int) -> bool:
    """True for a large array reduced along a non-last axis (see NONLAST_AXIS_NUMPY_SIZE)."""
    return axis != -1 and axis != x.ndim - 1 and x.size >= NONLAST_AXIS_NUMPY_SIZE


def _shifted_rows(x: np.ndarray, axis: int) -> tuple:
    """Pass 1 of the softmax family: ``(x2, x2 - max, max, axis, moved_shape, inverse_perm)``."""
    x2, axis, shape, inv = _to_rows(x, axis)
    shifted, m = np.empty_like(x2), np.empty(x2.shape[0], x2.dtype)
    _run_rows(_SHIFT, x2, x2, shifted, m)
    return x2, shifted, m, axis, shape, inv


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """Rows pass 1: max and ``x - max``; ``exp`` in place; pass 2: scale by ``1 / sum``."""
    if _numpy_axis(x, axis):
        return reference.softmax(x, axis)
    _, out, m, _, shape, inv = _shifted_rows(x, axis)
    np.exp(out, out=out)
    _run_rows(_NORMALIZE, out, out, out, m)  # (m is unused here: any 1-D array of the dtype)
    return _from_rows(out, shape, inv)


def log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """Rows pass 1: ``s = x - max``; ``exp(s)`` into a temporary; pass 2: ``s - log(sum)``."""
    if _numpy_axis(x, axis):
        return reference.log_softmax(x, axis)
    _, out, m, _, shape, inv = _shifted_rows(x, axis)
    _run_rows(_LOG_NORMALIZE, out, np.exp(out), out, m)
    return _from_rows(out, shape, inv)


def softmax_backward(grad: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    """``y * (grad - sum(grad * y))``: per row a dot product then one pass."""
    if y.shape != grad.shape:
        raise ValueError(f"shape mismatch: {grad.shape} and {y.shape}")
    if _numpy_axis(grad, axis):
        return reference.softmax_backward(grad, y, axis)
    g2, _, shape, inv = _to_rows(grad, axis)
    out = np.empty_like(g2)
    _run_rows(_SOFTMAX_BW, g2, _like_rows(y, axis, g2), out, np.empty(0, g2.dtype))
    return _from_rows(out, shape, inv)


def log_softmax_backward(grad: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    """``grad - exp(y) * sum(grad)``: ``exp`` in NumPy, then per row a sum and one pass."""
    if y.shape != grad.shape:
        raise ValueError(f"shape mismatch: {grad.shape} and {y.shape}")
    if _numpy_axis(grad, axis):
        return reference.log_softmax_backward(grad, y, axis)
    g2, _, shape, inv = _to_rows(grad, axis)
    out = np.exp(_like_rows(y, axis, g2))  # softmax = exp(log_softmax), SIMD in NumPy
    _run_rows(_LOG_SOFTMAX_BW, g2, g2, out, np.empty(0, g2.dtype))
    return _from_rows(out, shape, inv)


def logsumexp(x: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
    """``max + log(sum(exp(x - max)))`` per row; an infinite max is the answer itself."""
    if _numpy_axis(x, axis):
        return reference.logsumexp(x, axis, keepdims)
    x2, tmp, vec, axis, shape, _ = _shifted_rows(x, axis)
    np.exp(tmp, out=tmp)
    _run_rows(_LSE, x2, tmp, tmp, vec)  # vec: max in, logsumexp out
    out = vec.reshape(shape[:-1])  # rows are in the order of the remaining axes
    return np.expand_dims(out, axis) if keepdims and x.ndim else out


def _nll_args(
    n: int, n_classes: int, target: np.ndarray, weight: np.ndarray | None, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray, bool]:
    t = np.ascontiguousarray(target, dtype=np.int64)
    if t.shape != (n,):
        raise ValueError(f"target shape {t.shape} does not match the batch size ({n},)")
    if weight is None:
        return t, np.empty(0, dtype), False
    w = np.ascontiguousarray(weight, dtype=dtype)
    if w.shape != (n_classes,):
        raise ValueError(f"weight shape {w.shape} does not match the class count ({n_classes},)")
    return t, w, True


def log_softmax_nll(
    x2d: np.ndarray, target: np.ndarray, weight: np.ndarray | None, ignore_index: int
) -> tuple[np.ndarray, np.ndarray]:
    """`log_softmax` over classes, then one pass that checks targets and picks the losses."""
    n, c = x2d.shape
    t, w, has_w = _nll_args(n, c, target, weight, x2d.dtype)
    log_probs = log_softmax(x2d, 1)
    losses = np.empty(n, x2d.dtype)
    bad = _nll(_NLL_LOSS, log_probs, losses, t, w, has_w, int(ignore_index))
    if bad >= 0:
        raise reference._target_error(int(t[bad]), c, ignore_index)
    return losses, log_probs


def log_softmax_nll_backward(
    grad_losses: np.ndarray,
    log_probs: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None,
    ignore_index: int,
) -> np.ndarray:
    """``exp(log_probs)`` in NumPy, then per row: scale by ``g * w[t]``, subtract at ``t``."""
    n, c = log_probs.shape
    t, w, has_w = _nll_args(n, c, target, weight, log_probs.dtype)
    # writable and contiguous: numba compiles a separate (failing) variant for read-only input
    g = np.require(np.broadcast_to(np.asarray(grad_losses, log_probs.dtype), (n,)),
                   requirements="CW")
    grad = np.exp(np.ascontiguousarray(log_probs))  # fresh, C order: the kernel makes it the grad
    bad = _nll(_NLL_GRAD, grad, np.ascontiguousarray(g), t, w, has_w, int(ignore_index))
    if bad >= 0:
        raise reference._target_error(int(t[bad]), c, ignore_index)
    return grad
