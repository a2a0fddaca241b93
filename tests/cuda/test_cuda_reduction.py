"""The CUDA reductions, scans and sorts (``kernels/cuda/reduction.py``) against numpy itself.

Shapes are tiny (the simulator runs each CUDA thread as a Python thread) but chosen to reach
both kernels: rows of more than 4 items take the shared-memory tree (32 threads per block in
the simulator), rows of at most 4 take the one-thread-per-row kernel, and rows longer than a
block make each thread fold several items before the tree.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from tapegrad.kernels.cuda import CudaArray, reduction
from tapegrad.kernels.cuda.runtime import TRANSFERS

RNG = np.random.default_rng(7)
H = RNG.standard_normal((2, 3, 5))


def dev(host: np.ndarray) -> CudaArray:
    return CudaArray.from_host(host)


def check(result: object, expected: object, rtol: float = 1e-12) -> None:
    """``result`` is a CudaArray with numpy's shape, dtype and values."""
    assert isinstance(result, CudaArray), type(result)
    got, want = result.get(), np.asarray(expected)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("func", [np.sum, np.prod, np.max, np.min, np.mean, np.any, np.all,
                                  np.var, np.std])
@pytest.mark.parametrize(("axis", "keepdims"), [(None, False), (-1, True), ((0, 2), False),
                                                (1, False)])
def test_float64_reductions_match_numpy(func, axis, keepdims):
    check(func(dev(H), axis=axis, keepdims=keepdims), func(H, axis=axis, keepdims=keepdims))


def test_full_reduction_is_a_0d_device_array():
    result = np.sum(dev(H))
    assert isinstance(result, CudaArray) and result.shape == ()
    assert float(result) == pytest.approx(H.sum(), rel=1e-12)


@pytest.mark.parametrize("dtype", [np.bool_, np.int32, np.int64, np.float32])
def test_result_dtypes_follow_numpy(dtype):
    host = (RNG.standard_normal((3, 6)) * 4).astype(dtype)
    x = dev(host)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for func in (np.sum, np.max, np.mean):  # bool/int sums -> int64, int means -> float64
        check(func(x, axis=1), func(host, axis=1), rtol)
    check(np.var(x, axis=0, ddof=1), np.var(host, axis=0, ddof=1), rtol)
    check(np.prod(x, axis=0), np.prod(host, axis=0), rtol)


def test_float32_stays_float32_over_long_rows():
    host = RNG.standard_normal((2, 70)).astype(np.float32)  # > 32 items: strided partials
    check(np.sum(dev(host), axis=1), host.sum(axis=1), 1e-5)
    check(np.max(dev(host), axis=1), host.max(axis=1), 1e-5)


def test_arg_ties_across_threads_of_a_long_row():
    # thread 1 of the block finds index 33, thread 8 finds index 40 first: the tree must
    # still prefer the smaller index on ties, and the first NaN
    host = np.zeros((2, 70))
    host[0, [33, 40]] = 5.0
    host[1, [40, 33, 60]] = np.nan
    check(np.argmax(dev(host), axis=1), host.argmax(axis=1))
    check(np.argmin(dev(-host), axis=1), (-host).argmin(axis=1))


def test_many_rows_loop_over_blocks():
    host = RNG.standard_normal((9, 6))  # 9 tree rows on at most 4 blocks
    check(np.sum(dev(host), axis=1), host.sum(axis=1))
    check(np.argmin(dev(host), axis=1), host.argmin(axis=1))


def test_dtype_out_initial_where():
    x = dev(H)
    check(np.sum(x, axis=2, dtype=np.float32), np.sum(H, axis=2, dtype=np.float32), 1e-5)
    out = CudaArray.empty((2, 5), np.float32)
    result = np.sum(x, axis=1, out=out)
    assert result is out
    check(out, H.sum(axis=1).astype(np.float32), 1e-5)
    check(np.max(x, axis=(0, 1), initial=0.5), np.max(H, axis=(0, 1), initial=0.5))
    check(np.sum(x, axis=2, initial=3.0), np.sum(H, axis=2, initial=3.0))
    mask = np.array([True, False, True, True, False])
    check(np.sum(x, axis=2, where=dev(mask)), np.sum(H, axis=2, where=mask))
    check(np.mean(x, axis=2, where=dev(mask)), np.mean(H, axis=2, where=mask))
    check(np.sum(x, axis=2, where=dev(mask), initial=3.0),
          np.sum(H, axis=2, where=mask, initial=3.0))
    check(np.var(x, axis=2, where=dev(mask), ddof=1), np.var(H, axis=2, where=mask, ddof=1))
    check(np.max(x, axis=2, where=dev(mask), initial=-9.0),
          np.max(H, axis=2, where=mask, initial=-9.0))
    with pytest.raises(ValueError, match="identity"):
        np.max(x, where=dev(mask))


def test_zero_d_input():
    host = np.array(2.5)
    x = dev(host)
    for func in (np.sum, np.max, np.mean, np.argmax, np.prod):
        check(func(x), func(host))
    check(np.add.reduce(x), np.add.reduce(host))
    check(np.cumsum(x), np.cumsum(host))
    with pytest.raises(np.exceptions.AxisError):
        np.sum(x, axis=1)


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # 0 / 0, as in numpy
def test_empty_reductions():
    host = np.zeros((0, 3))
    x = dev(host)
    check(np.sum(x), np.sum(host))
    check(np.sum(x, axis=0), np.sum(host, axis=0))
    check(np.prod(x, axis=0), np.prod(host, axis=0))
    check(np.all(x, axis=0), np.all(host, axis=0))
    check(np.max(x, axis=1), np.max(host, axis=1))  # nothing to fold, nothing to fold into
    check(np.max(x, axis=0, initial=1.0), np.max(host, axis=0, initial=1.0))
    with pytest.raises(ValueError, match="zero-size array to reduction operation maximum "
                                         "which has no identity"):
        np.max(x)
    with pytest.raises(ValueError, match="zero-size array to reduction operation minimum"):
        np.min(x, axis=0)
    with pytest.raises(ValueError, match="attempt to get argmax of an empty sequence"):
        np.argmax(x)
    with pytest.warns(RuntimeWarning, match="Mean of empty slice"):
        assert np.isnan(float(np.mean(x)))


def test_non_contiguous_inputs_are_read_in_place():
    host = RNG.standard_normal((6, 10))
    x = dev(host)
    for view, ref in [(x.T, host.T), (x[1:, ::2], host[1:, ::2])]:
        check(np.sum(view, axis=1), ref.sum(axis=1))
        check(np.max(view, axis=0), ref.max(axis=0))
        check(np.argmax(view, axis=1), ref.argmax(axis=1))
        check(np.cumsum(view, axis=0), np.cumsum(ref, axis=0))
    broadcast = dev(np.arange(3.0)).broadcast_to((7, 3))
    check(np.sum(broadcast, axis=0), np.broadcast_to(np.arange(3.0), (7, 3)).sum(axis=0))


def test_nan_propagates_and_arg_picks_the_first_nan_or_tie():
    host = np.array([[1.0, 3.0, 3.0, 0.0, 3.0, -1.0, 2.0],
                     [1.0, 2.0, np.nan, 5.0, np.nan, 0.0, 9.0],
                     [np.nan, 1.0, 1.0, np.nan, 1.0, 1.0, 1.0]])
    x = dev(host)
    for view, ref in [(x, host), (x[:, :3], host[:, :3])]:  # tree rows and short rows
        for func in (np.max, np.min, np.argmax, np.argmin):
            check(func(view, axis=1), func(ref, axis=1))
    check(np.argmax(x, axis=0), host.argmax(axis=0))
    check(np.argmin(x), host.argmin())
    check(np.argmax(x, axis=1, keepdims=True), host.argmax(axis=1, keepdims=True))
    check(np.nansum(x, axis=1), np.nansum(host, axis=1))
    ints = np.array([[4, 1, 4, 1, 4, 0]])
    check(np.argmax(dev(ints), axis=1), ints.argmax(axis=1))
    check(np.argmin(dev(ints), axis=-1), ints.argmin(axis=-1))


def test_ufunc_reduce_and_accumulate():
    x = dev(H)
    check(np.add.reduce(x, axis=1), np.add.reduce(H, axis=1))
    check(np.maximum.reduce(x, axis=None), np.maximum.reduce(H, axis=None))
    check(np.minimum.reduce(x, axis=(0, 2), keepdims=True),
          np.minimum.reduce(H, axis=(0, 2), keepdims=True))
    check(np.multiply.reduce(x, axis=-1), np.multiply.reduce(H, axis=-1))
    flags = H > 0
    check(np.logical_and.reduce(dev(flags), axis=2), np.logical_and.reduce(flags, axis=2))
    check(np.logical_or.reduce(dev(flags), axis=0), np.logical_or.reduce(flags, axis=0))
    check(np.add.accumulate(x, axis=2), np.add.accumulate(H, axis=2))
    check(np.multiply.accumulate(x, axis=0), np.multiply.accumulate(H, axis=0))
    with pytest.raises(TypeError, match="no kernel"):
        np.subtract.reduce(x)


def test_cumsum_cumprod_count_nonzero():
    ints = RNG.integers(-2, 3, size=(3, 4)).astype(np.int32)
    x = dev(ints)
    check(np.cumsum(x), np.cumsum(ints))  # flattened, int32 -> int64
    check(np.cumsum(x, axis=1), np.cumsum(ints, axis=1))
    check(np.cumprod(x, axis=0), np.cumprod(ints, axis=0))
    check(np.cumsum(x, axis=0, dtype=np.float64), np.cumsum(ints, axis=0, dtype=np.float64))
    out = CudaArray.empty((3, 4), np.int64)
    assert np.cumsum(x, axis=1, out=out) is out
    check(out, np.cumsum(ints, axis=1))
    check(np.count_nonzero(x), np.count_nonzero(ints))
    check(np.count_nonzero(x, axis=1), np.count_nonzero(ints, axis=1))
    check(np.count_nonzero(x, axis=0, keepdims=True),
          np.count_nonzero(ints, axis=0, keepdims=True))


def test_sort_and_argsort():
    host = np.array([[3.0, np.nan, 1.0, 2.0, 1.0], [0.5, -1.0, 7.0, np.nan, -1.0]])
    x = dev(host)
    check(np.sort(x), np.sort(host))
    check(np.argsort(x, kind="stable"), np.argsort(host, kind="stable"))
    check(np.sort(x, axis=0), np.sort(host, axis=0))
    check(np.argsort(x.T, axis=0, kind="stable"), np.argsort(host.T, axis=0, kind="stable"))
    check(np.sort(x, axis=None), np.sort(host, axis=None))


def test_axis_errors_are_numpys():
    x = dev(H)
    with pytest.raises(np.exceptions.AxisError):
        np.sum(x, axis=3)
    with pytest.raises(ValueError, match="repeated axis"):
        np.sum(x, axis=(1, -2))
    with pytest.raises(np.exceptions.AxisError):
        np.argmax(x, axis=-4)


def test_kernels_copy_nothing_between_host_and_device():
    x = dev(H)
    mask = dev(np.array([True, False, True, True, False]))
    before = TRANSFERS.snapshot()
    results = [np.sum(x, axis=1), np.max(x), np.mean(x.T, axis=0), np.var(x, axis=2),
               np.argmax(x, axis=2), np.cumsum(x, axis=1), np.any(x > 0, axis=0),
               np.sum(x, axis=2, where=mask), np.sort(x), np.add.reduce(x, axis=0)]
    assert TRANSFERS.snapshot() == before
    got = results[0].get()
    assert TRANSFERS.device_to_host == before.device_to_host + 1
    assert TRANSFERS.host_to_device == before.host_to_device
    np.testing.assert_allclose(got, H.sum(axis=1), rtol=1e-12)


def test_kernels_are_built_once_per_op_and_dtype():
    x = dev(H)
    np.sum(x, axis=2)
    cached = len(reduction.rk._cache)
    np.sum(x + 1.0, axis=2)
    np.sum(x, axis=(0, 1))
    assert len(reduction.rk._cache) == cached


# Compiles a kernel of each kind for the real CUDA target (PTX for compute capability 8.0)
# with the simulator off: catches what the simulator lets through (types numba cannot infer,
# shared arrays without a constant size or dtype). Needs libnvvm, not a GPU; device
# functions ask the current GPU for its compute capability, so that query is answered here.
_PTX_SCRIPT = """
import types, numpy as np
import numba.cuda.dispatcher as dispatcher
from numba import cuda, from_dtype
from numba.core.types import Array, UniTuple, int64
from tapegrad.kernels.cuda import reduction_kernels as rk
try:
    cuda.compile_ptx(lambda x: None, "(float32[::1],)", cc=(8, 0))
except Exception as exc:
    print("SKIP", exc)
    raise SystemExit(0)
dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=(8, 0))
rk.cuda = cuda
a = lambda dt: Array(from_dtype(np.dtype(dt)), 1, "C")
t = lambda n: UniTuple(int64, n)
def ptx(kernel, *sig):
    return cuda.compile_ptx(kernel.py_func, sig, cc=(8, 0))[0]
for op, src, acc in [("add", "f4", "f4"), ("maximum", "?", "u1"), ("logical_or", "f8", "u1")]:
    for kernel in rk.build_fold(op, np.dtype(acc).type):
        code = ptx(kernel, int64, int64, a(src), int64, t(2), t(2), t(1), t(1), a(acc))
assert ".shared" in ptx(rk.build_arg("argmax", np.float64), int64, int64, a("f8"), int64,
                        t(1), t(1), t(2), t(2), a("i8"))
ptx(rk.build_scan("add", np.int64), int64, int64, a("i4"), int64, t(1), t(1), int64,
    a("i8"), int64, t(1), int64)
ptx(rk.build_sort(), int64, int64, a("f4"), int64, t(1), t(1), int64, a("f4"), a("i8"))
print("OK")
"""


def test_kernels_compile_for_a_real_gpu():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0")
    proc = subprocess.run([sys.executable, "-c", _PTX_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=300)
    if proc.stdout.startswith("SKIP"):
        pytest.skip(f"numba cannot compile CUDA code here: {proc.stdout[5:].strip()}")
    assert proc.returncode == 0 and proc.stdout.strip() == "OK", proc.stderr[-3000:]
