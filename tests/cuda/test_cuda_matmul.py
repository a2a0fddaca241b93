"""The tiled CUDA matmul (``tapegrad.kernels.cuda.matmul``) against ``np.matmul`` / ``np.dot``.

Shapes are tiny (numba's simulator runs one Python thread per CUDA thread) but chosen to
stress the kernel: sizes that are not multiples of the tile, more tiles and batch entries
than the simulator's capped grid (so the grid-stride loops run), empty K, broadcast batch
dimensions, 1-D operands, and transposed or sliced (non-contiguous) operands.
"""

from __future__ import annotations

import numpy as np
import pytest

from tapegrad.kernels.cuda import TRANSFERS, CudaArray, available
from tapegrad.kernels.cuda import matmul as cuda_matmul

if not available():
    pytest.skip("CUDA (or numba's simulator) is not available", allow_module_level=True)


def _data(rng: np.random.Generator, shape: tuple, dtype: str) -> np.ndarray:
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-5, 6, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _check(got: CudaArray, want: np.ndarray) -> None:
    assert isinstance(got, CudaArray)
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    host = got.get()
    if want.dtype.kind in "iub":
        np.testing.assert_array_equal(host, want)
    else:
        tol = 1e-5 if want.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(host, want, rtol=tol, atol=tol)


@pytest.mark.parametrize(("a_shape", "b_shape"), [
    ((5, 7), (7, 6)),          # 2-D, no size a multiple of the simulator's 4x4 tile
    ((9, 3), (3, 10)),         # 3 x 3 output tiles on a grid capped at 2 x 2
    ((3, 1, 2, 5), (2, 5, 3)),  # broadcast batch (3, 1) x (2,) -> (3, 2), 6 > grid cap
    ((2, 4, 3), (3, 2)),       # batched times a plain matrix
    ((7,), (7, 6)),            # 1-D on the left: a row vector, axis removed
    ((2, 5, 7), (7,)),         # 1-D on the right: a column vector, axis removed
    ((6,), (6,)),              # 1-D . 1-D: a 0-d result
    ((4, 0), (0, 3)),          # empty K: all zeros
    ((0, 3), (3, 2)),          # empty M: nothing to launch
])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_matmul_matches_numpy(rng, a_shape, b_shape, dtype):
    a, b = _data(rng, a_shape, dtype), _data(rng, b_shape, dtype)
    da, db = CudaArray.from_host(a), CudaArray.from_host(b)
    before = TRANSFERS.snapshot()
    got = np.matmul(da, db)
    assert TRANSFERS.total == before.total  # the product copies nothing to or from the host
    _check(got, np.matmul(a, b))


def test_transposed_and_sliced_operands_need_no_copy(rng):
    x, w = _data(rng, (5, 6), "float32"), _data(rng, (3, 6), "float32")
    dx, dw = CudaArray.from_host(x), CudaArray.from_host(w)
    before = TRANSFERS.snapshot()
    got = dx @ dw.T  # nn.Linear's product: W.T is a strided view
    assert TRANSFERS.total == before.total
    _check(got, x @ w.T)
    # a stepped slice on both sides, and a transposed batch
    big = _data(rng, (2, 6, 8), "float64")
    dbig = CudaArray.from_host(big)
    _check(dbig[:, ::2, 1::2] @ dbig.transpose(0, 2, 1)[:, ::2, :],
           big[:, ::2, 1::2] @ big.transpose(0, 2, 1)[:, ::2, :])


def test_mixed_dtypes_out_and_dtype_arguments(rng):
    a, b = _data(rng, (3, 4), "int64"), _data(rng, (4, 2), "float32")
    _check(np.matmul(CudaArray.from_host(a), CudaArray.from_host(b)), np.matmul(a, b))
    da, db = CudaArray.from_host(a), CudaArray.from_host(b)
    # out= may be a view (here a transposed one); the result is written through it
    target = CudaArray.full((2, 3), -1.0, np.float64)
    result = np.matmul(da, db, out=target.T)
    assert result.shape == (3, 2)
    np.testing.assert_allclose(target.get(), np.matmul(a, b).T, rtol=1e-6)
    _check(np.matmul(da, db, dtype=np.float64), np.matmul(a, b, dtype=np.float64))


def test_bool_and_float16_results(rng):
    a, b = rng.random((3, 5)) > 0.6, rng.random((5, 2)) > 0.6
    _check(np.matmul(CudaArray.from_host(a), CudaArray.from_host(b)), np.matmul(a, b))
    h = _data(rng, (2, 3), "float16")
    got = np.matmul(CudaArray.from_host(h), CudaArray.from_host(h.T.copy()))
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.get(), h @ h.T, rtol=1e-2)


@pytest.mark.parametrize(("a_shape", "b_shape"), [
    ((2, 3), (4, 5)), ((2, 2, 3), (3, 3, 5)), ((3,), (4,)),
])
def test_shape_errors_are_numpys(a_shape, b_shape):
    a, b = np.zeros(a_shape), np.zeros(b_shape)
    with pytest.raises(ValueError) as expected:
        np.matmul(a, b)
    with pytest.raises(ValueError) as got:
        np.matmul(CudaArray.from_host(a), CudaArray.from_host(b))
    assert str(got.value) == str(expected.value)


def test_host_operand_is_a_device_error(rng):
    with pytest.raises(RuntimeError, match="same device"):
        np.matmul(CudaArray.from_host(np.ones((2, 2))), np.ones((2, 2)))


@pytest.mark.parametrize(("a_shape", "b_shape"), [
    ((5,), (5,)), ((3, 4), (4, 2)), ((4,), (4, 3)), ((2, 3, 4), (3, 4, 2)),
])
def test_dot_matches_numpy(rng, a_shape, b_shape):
    assert cuda_matmul.dot is not None  # importing the module registers np.dot
    a, b = _data(rng, a_shape, "float64"), _data(rng, b_shape, "float64")
    _check(np.dot(CudaArray.from_host(a), CudaArray.from_host(b)), np.dot(a, b))


def test_dot_with_a_number(rng):
    a = _data(rng, (2, 3), "float32")
    _check(np.dot(CudaArray.from_host(a), 2.0), np.dot(a, np.float32(2.0)))
