"""Advanced indexing kernels (``tapegrad.kernels.cuda.indexing``) against numpy itself.

Each test builds a tiny host array, runs the same key on the GPU copy (numba's simulator in
CI) and on the host, and compares. The transfer counter checks that the only host<->device
copies are the ones the module documents: a host-built key (one H2D), a bounds check on GPU
indices (one D2H), a mask's count (one D2H).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tapegrad.kernels.cuda import TRANSFERS, CudaArray, indexing, nonzero, numpy_api  # noqa: F401 - numpy_api registers np.take...

X = np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 10.0


def dev(a) -> CudaArray:
    return CudaArray.from_host(np.asarray(a))


def check(got: CudaArray, want: np.ndarray) -> None:
    assert isinstance(got, CudaArray)
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got.get(), want)


@pytest.mark.parametrize("key", [
    lambda d: d([1, 0, 1]),                                   # x[idx]
    lambda d: (slice(None), d([2, -1])),                      # x[:, idx], negative index
    lambda d: (d([0, 1]), slice(None), d([3, 0])),            # non-adjacent: B goes first
    lambda d: (slice(None), d([[0], [2]]), d([1, 3])),        # adjacent, broadcast to (2, 2)
    lambda d: (1, slice(None), d([0, 2])),                    # an int counts as advanced
    lambda d: (Ellipsis, d([-4, 3])),
    lambda d: (d([1, 0]), None, d([2, 2])),                   # None separates them
    lambda d: d(np.array([[0, 1], [1, 1]], dtype=np.int32)),  # int32, 2-d index
    lambda d: (d(np.array([True, False])), slice(1, 3)),      # mask on axis 0
    lambda d: d(X > 0),                                       # full mask
    lambda d: (slice(None), d(np.array([[True, False, True, False]] * 3))),
    lambda d: (d(X[:, :, 0] > 0), d([3, 1, 0])),              # mask rows + an index array
])
@pytest.mark.parametrize("where", ["device", "host"])
def test_getitem_matches_numpy(key, where):
    make = dev if where == "device" else np.asarray
    got = dev(X)[key(make)]
    check(got, X[key(np.asarray)])


def test_getitem_on_a_strided_view_and_lists():
    view = dev(X).transpose(2, 0, 1)[::2]
    host = X.transpose(2, 0, 1)[::2]
    check(view[[1, 0], :, [2, 2]], host[[1, 0], :, [2, 2]])
    check(view[:, np.arange(2)], host[:, np.arange(2)])
    check(dev(X)[[]], X[[]])


def test_transfers_are_the_documented_ones():
    x, idx, mask = dev(X), dev([1, -1]), dev(X[0] > 0)
    before = TRANSFERS.snapshot()
    out = x[:, idx]  # device indices: one D2H for the bounds check
    assert (TRANSFERS.host_to_device, TRANSFERS.device_to_host) == (
        before.host_to_device, before.device_to_host + 1)
    x[:, [0, 2]]  # a host key: one H2D, no D2H
    assert TRANSFERS.host_to_device == before.host_to_device + 1
    x[1][mask]  # the mask's count: one D2H
    assert TRANSFERS.device_to_host == before.device_to_host + 2
    check(out, X[:, [1, -1]])


@pytest.mark.parametrize("key", [
    lambda d: (slice(None), slice(None), d([7])),
    lambda d: d([0, -3]),
    lambda d: (slice(None), d([1, 4])),
])
@pytest.mark.parametrize("where", ["device", "host"])
def test_out_of_range_raises_numpys_error(key, where):
    make = dev if where == "device" else np.asarray
    with pytest.raises(IndexError) as numpy_error:
        X[key(np.asarray)]
    with pytest.raises(IndexError) as ours:
        dev(X)[key(make)]
    assert str(ours.value) == str(numpy_error.value)


@pytest.mark.parametrize("key", [
    lambda d: (d([0, 1]), d([0, 1, 2])),  # shapes do not broadcast
    lambda d: d(np.array([True, False, True])),  # mask of the wrong length
    lambda d: (0, 0, 0, d([0])),  # too many indices
    lambda d: d(np.array([0.5])),  # float index
])
def test_bad_keys_raise_index_error(key):
    with pytest.raises(IndexError):
        X[key(np.asarray)]
    with pytest.raises(IndexError):
        dev(X)[key(dev)]


def test_setitem_index_mask_and_broadcast_values():
    want, x = X.copy(), dev(X)
    want[[1, 0], :, [3, 3]] = -1.5
    x[dev([1, 0]), :, dev([3, 3])] = -1.5
    want[want > 5] = 0.0
    x[x > 5] = 0.0
    row = np.array([7.0, 8.0, 9.0], dtype=np.float64)  # cast to float32 on store
    want[:, :, [0, 2]] = row[:, None]
    x[:, :, [0, 2]] = dev(row)[:, None]
    np.testing.assert_array_equal(x.get(), want)
    with pytest.raises(ValueError, match="shape mismatch"):
        x[dev([0, 1])] = dev(np.ones(5))


@pytest.mark.parametrize("ufunc", [np.add, np.subtract, np.maximum, np.minimum])
def test_ufunc_at_accumulates_repeated_indices(ufunc):
    base = np.linspace(-2, 2, 12).reshape(4, 3)
    vals = np.arange(15, dtype=np.float64).reshape(5, 3) - 6
    idx = np.array([0, 2, 2, -1, 2])
    want, x = base.copy(), dev(base)
    ufunc.at(want, idx, vals)
    ufunc.at(x, dev(idx), dev(vals))
    np.testing.assert_allclose(x.get(), want)


def test_add_at_scalars_ints_and_basic_keys():
    want, x = np.zeros((3, 4), dtype=np.int64), dev(np.zeros((3, 4), dtype=np.int64))
    cols = np.array([[1, 1, 3]])
    np.add.at(want, (np.array([[0], [2]]), cols), 5)
    np.add.at(x, (dev([[0], [2]]), cols), 5)
    np.add.at(want, Ellipsis, 1)
    np.add.at(x, Ellipsis, 1)
    np.add.at(want, (2, -1), 4)  # ints only: a 0-d view
    np.add.at(x, (2, -1), 4)
    np.testing.assert_array_equal(x.get(), want)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_take_and_put_along_axis(axis):
    a = np.arange(12, dtype=np.float32).reshape(3, 4) * 1.5
    n = a.shape[axis]
    shape = [3, 4]
    shape[axis] = 5
    idx = (np.arange(math.prod(shape)).reshape(shape) * 7) % n - (n if axis == 1 else 0)
    check(np.take_along_axis(dev(a), dev(idx), axis=axis), np.take_along_axis(a, idx, axis))
    one = np.take(idx, [0], axis=1 - (axis % 2))  # broadcasts along the other axis
    check(np.take_along_axis(dev(a), dev(one), axis=axis), np.take_along_axis(a, one, axis))
    want, x = a.copy(), dev(a)
    perm = np.argsort(np.random.default_rng(0).random((3, 4)), axis=axis)  # one per line
    vals = np.arange(12, dtype=np.float64).reshape(3, 4)  # cast to float32 on store
    np.put_along_axis(want, perm, vals, axis)
    np.put_along_axis(x, dev(perm), dev(vals), axis)
    np.put_along_axis(want, one % n, -1.0, axis)  # a number, broadcast
    np.put_along_axis(x, dev(one % n), -1.0, axis)
    np.testing.assert_array_equal(x.get(), want)
    with pytest.raises(IndexError, match="out of bounds"):
        np.take_along_axis(dev(a), dev(idx + 9), axis=axis)


def test_take():
    a = np.arange(20, dtype=np.float64).reshape(4, 5)
    check(np.take(dev(a), dev([3, -1, 0]), axis=1), np.take(a, [3, -1, 0], axis=1))
    check(np.take(dev(a), [17, 2]), np.take(a, [17, 2]))
    check(np.take(dev(a), 2, axis=0), np.take(a, 2, axis=0))
    with pytest.raises(IndexError, match="out of bounds"):
        np.take(dev(a), dev([0, 20]))


def test_nonzero_argwhere_compress_unique():
    a = np.array([[0.0, 1.5, 0.0], [np.nan, 0.0, -2.0]], dtype=np.float32)
    for got, want in zip(np.nonzero(dev(a)), np.nonzero(a), strict=True):
        check(got, want)
    check(np.argwhere(dev(a)), np.argwhere(a))
    check(np.argwhere(dev(a[1:, ::2])), np.argwhere(a[1:, ::2]))  # a strided view
    check(np.argwhere(dev(np.zeros(4))), np.argwhere(np.zeros(4)))
    check(np.argwhere(dev(np.array(3.0))), np.argwhere(np.array(3.0)))
    check(nonzero.nonzero_tuple(dev(a > 0))[1], np.nonzero(a > 0)[1])
    with pytest.raises(ValueError, match="0d"):
        np.nonzero(dev(np.array(1.0)))
    cond = np.array([True, False, True])
    check(np.compress(dev(cond), dev(a), axis=1), np.compress(cond, a, axis=1))
    check(np.compress([False, True], dev(a), axis=0), np.compress([False, True], a, axis=0))
    v = np.array([3, 1, 3, 2, 1], dtype=np.int64)
    check(np.unique(dev(v)), np.unique(v))
    values, counts = np.unique(dev(v), return_counts=True)
    check(counts, np.unique(v, return_counts=True)[1])


def test_nonzero_on_more_items_than_threads():
    # more items than the counting threads: each thread's chunk holds several items
    m = (np.arange(150) % 7 == 3) | (np.arange(150) > 140)
    check(np.nonzero(dev(m))[0], np.nonzero(m)[0])
    y = np.arange(150.0)
    check(dev(y)[dev(m)], y[m])
