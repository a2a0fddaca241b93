"""CUDA kernel families ``core``, ``norm`` and ``optim`` against their CPU references.

Each function of ``tapegrad.kernels.cuda.{core,norm,optim}`` runs on tiny inputs (numba's
simulator runs one Python thread per CUDA thread, and every ``syncthreads`` of a row kernel
costs milliseconds) and is compared with the same function of ``kernels.reference``,
``norm_reference`` or ``optim_reference`` on the same numbers: float32 and float64, strided
(transposed) inputs, special values, rows longer than a block, several optimizer steps. Every
kernel call is also checked to copy nothing between host and device.
"""

from __future__ import annotations

import numpy as np
import pytest

from tapegrad.kernels import norm_reference, optim_reference, reference
from tapegrad.kernels.cuda import TRANSFERS, CudaArray, available, simulated

if not available():
    pytest.skip("CUDA (or numba's simulator) is not available", allow_module_level=True)

from tapegrad.kernels.cuda import core, norm, optim  # after the skip

DTYPES = [np.float32, np.float64]


def _tol(dtype: type) -> dict:
    return {"rtol": 2e-6, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12,
                                                                    "atol": 1e-13}


def _dev(*arrays: np.ndarray) -> list[CudaArray]:
    return [CudaArray.from_host(a) for a in arrays]


def _no_copies(fn, *args, **kwargs):
    """Call ``fn`` and assert it made no host<->device copy."""
    TRANSFERS.reset()
    out = fn(*args, **kwargs)
    assert TRANSFERS.total == 0, f"{fn.__name__} copied between host and device"
    return out


def _same(got: CudaArray, want: np.ndarray, **tol) -> None:
    assert isinstance(got, CudaArray)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got.get(), want, **tol)


# ------------------------------------------------------------------ core: elementwise
@pytest.mark.parametrize("dtype", DTYPES)
def test_elementwise_match_reference_on_strided_input(dtype, rng):
    x = rng.standard_normal((4, 3)).astype(dtype)
    x[0, :] = [np.nan, np.inf, -np.inf]
    x[1, 0] = 0.0
    g = rng.standard_normal((3, 4)).astype(dtype)
    xd, gd = _dev(x, g)
    xt, xt_host = xd.T, x.T  # non-contiguous views
    y = reference.sigmoid(xt_host)
    yd = CudaArray.from_host(y)
    tol = _tol(dtype)
    _same(_no_copies(core.relu, xt), reference.relu(xt_host), **tol)
    _same(_no_copies(core.sigmoid, xt), y, **tol)
    _same(_no_copies(core.threshold_backward, gd, xt, 0.0),
          reference.threshold_backward(g, xt_host, 0.0), **tol)
    _same(_no_copies(core.sigmoid_backward, gd, yd), reference.sigmoid_backward(g, y), **tol)
    _same(_no_copies(core.tanh_backward, gd, yd), reference.tanh_backward(g, y), **tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_axpy_and_scale_work_in_place_through_views(dtype, rng):
    dst = rng.standard_normal((3, 4)).astype(dtype)
    src = rng.standard_normal((4, 3)).astype(dtype)
    dd, sd = _dev(dst, src)
    view = dd[:, 1:]  # a strided view of dst: the update lands in dst's buffer
    assert _no_copies(core.axpy_, view, sd.T[:, 1:], 0.3) is view
    reference.axpy_(dst[:, 1:], src.T[:, 1:], 0.3)
    assert _no_copies(core.scale_, dd, -1.5) is dd
    reference.scale_(dst, -1.5)
    _same(dd, dst, **_tol(dtype))
    with pytest.raises(ValueError):
        core.axpy_(dd, sd, 1.0)


# ------------------------------------------------------------------ core: softmax family
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "axis", "transposed"), [
    # rows longer than 16 so that every level of the 32-thread tree adds real partials
    ((2, 37), -1, False),     # the usual case: rows along the last axis
    ((37, 2), 0, True),       # a transposed view, softmax along a strided axis
    ((1, 19, 2), 1, False),   # a middle axis of a 3-D array
    ((), 0, False),           # 0-d: a length-1 vector
])
def test_softmax_family_matches_reference(dtype, shape, axis, transposed, rng):
    host = rng.standard_normal(shape[::-1] if transposed else shape).astype(dtype) * 3
    grad = rng.standard_normal(shape).astype(dtype)
    dev, gd = _dev(host, grad)
    if transposed:
        dev, host = dev.T, host.T
    tol = _tol(dtype)
    y = reference.softmax(host, axis)
    ly = reference.log_softmax(host, axis)
    yd, lyd = _dev(y, ly)
    _same(_no_copies(core.softmax, dev, axis), y, **tol)
    _same(_no_copies(core.log_softmax, dev, axis), ly, **tol)
    _same(_no_copies(core.logsumexp, dev, axis), reference.logsumexp(host, axis), **tol)
    _same(_no_copies(core.logsumexp, dev, axis, keepdims=True),
          reference.logsumexp(host, axis, keepdims=True), **tol)
    _same(_no_copies(core.softmax_backward, gd, yd, axis),
          reference.softmax_backward(grad, y, axis), **tol)
    _same(_no_copies(core.log_softmax_backward, gd, lyd, axis),
          reference.log_softmax_backward(grad, ly, axis), **tol)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf - inf in the simulator's threads
def test_softmax_special_values_and_rows_longer_than_a_block(rng):
    x = np.array([[0.0, -np.inf, 1.0, -np.inf],
                  [-np.inf] * 4,
                  [1.0, np.nan, 2.0, 3.0],
                  [np.inf, 1.0, 2.0, 3.0]])
    xd = CudaArray.from_host(x)
    with np.errstate(all="ignore"):
        for name in ("softmax", "log_softmax", "logsumexp"):
            np.testing.assert_allclose(getattr(core, name)(xd, 1).get(),
                                       getattr(reference, name)(x, 1))
        long = rng.standard_normal((1, 77)).astype(np.float32) * 5  # > 2 x 32 threads
        _same(core.log_softmax(CudaArray.from_host(long), 1),
              reference.log_softmax(long, 1), **_tol(np.float32))
        empty = CudaArray.empty((2, 0), np.float64)  # logsumexp of nothing: -inf
        np.testing.assert_array_equal(core.logsumexp(empty, 1).get(), [-np.inf, -np.inf])


# ------------------------------------------------------------------ core: sum_to_shape
@pytest.mark.parametrize("dtype", DTYPES)
def test_sum_to_shape_matches_reference(dtype, rng):
    x = rng.standard_normal((2, 3, 5)).astype(dtype)
    xd = CudaArray.from_host(x)
    for shape in [(3, 5), (5,), (3, 1), (1, 1, 1), (), (2, 3, 5)]:
        got = _no_copies(core.sum_to_shape, xd, shape)
        _same(got, reference.sum_to_shape(x, shape), **_tol(dtype))
    strided = xd.transpose(2, 0, 1)  # (5, 2, 3): sums along strided axes
    _same(core.sum_to_shape(strided, (5, 1, 1)),
          reference.sum_to_shape(x.transpose(2, 0, 1), (5, 1, 1)), **_tol(dtype))
    assert core.sum_to_shape(xd, (2, 3, 5))._buf is not xd._buf  # a copy, never a view
    with pytest.raises(ValueError):
        core.sum_to_shape(xd, (4,))


# ------------------------------------------------------------------ core: cross-entropy
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_log_softmax_nll_matches_reference(dtype, weighted, rng):
    x = rng.standard_normal((3, 21)).astype(dtype) * 2
    t = np.array([20, -100, 0])  # the middle row is ignored
    w = rng.uniform(0.5, 2.0, 21).astype(dtype) if weighted else None
    g = rng.standard_normal(3).astype(dtype)
    xd, td, gd = _dev(x, t, g)
    wd = CudaArray.from_host(w) if weighted else None
    tol = _tol(dtype)
    errors = CudaArray.empty(3, np.int32)
    losses, log_probs = _no_copies(core.log_softmax_nll, xd, td, wd, -100, errors=errors)
    want_losses, want_lp = reference.log_softmax_nll(x, t, w, -100)
    _same(losses, want_losses, **tol)
    _same(log_probs, want_lp, **tol)
    np.testing.assert_array_equal(errors.get(), [0, 0, 0])
    grad = _no_copies(core.log_softmax_nll_backward, gd, log_probs, td, wd, -100)
    _same(grad, reference.log_softmax_nll_backward(g, want_lp, t, w, -100), **tol)
    scalar = core.log_softmax_nll_backward(0.5, log_probs, td, wd, -100)  # broadcast g
    _same(scalar, reference.log_softmax_nll_backward(0.5, want_lp, t, w, -100), **tol)


def test_nll_target_out_of_range_is_flagged_not_raised():
    x = CudaArray.from_host(np.zeros((3, 4)))
    t = CudaArray.from_host(np.array([1, 7, -100]))
    errors = CudaArray.empty(3, np.int32)
    losses, _ = _no_copies(core.log_softmax_nll, x, t, None, -100, errors=errors)
    np.testing.assert_array_equal(errors.get(), [0, 1, 0])
    got = losses.get()
    assert np.isnan(got[1]) and got[2] == 0 and np.isclose(got[0], np.log(4))
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        core.raise_target_errors(errors, t, 4, -100)
    with pytest.raises(ValueError):
        core.log_softmax_nll(x, CudaArray.from_host(np.array([1, 2])), None, -100)


# ------------------------------------------------------------------ norm
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", [False, True])
def test_batch_norm_matches_reference(dtype, affine, rng):
    x = (rng.standard_normal((4, 2, 5)) * 2 + 1).astype(dtype)  # stored (S, C, N) ...
    g = rng.standard_normal((5, 2, 4)).astype(dtype)  # 20 values per channel
    w, b = (rng.standard_normal(2).astype(dtype) for _ in range(2))
    xd, gd, wd, bd = _dev(x, g, w, b)
    xv, x = xd.transpose(2, 1, 0), x.transpose(2, 1, 0)  # ... viewed as (N, C, S): strided
    w, b, wd, bd = (w, b, wd, bd) if affine else (None, None, None, None)
    tol = _tol(dtype)
    mean, var = _no_copies(norm.batch_norm_stats, xv)
    want_mean, want_var = norm_reference.batch_norm_stats(x)
    _same(mean, want_mean, rtol=1e-12, atol=1e-12 if dtype == np.float64 else 1e-7)
    _same(var, want_var, rtol=1e-12, atol=1e-12 if dtype == np.float64 else 1e-7)
    invstd = 1.0 / np.sqrt(want_var + 1e-5)
    md, isd = _dev(want_mean, invstd)
    _same(_no_copies(norm.batch_norm_forward, xv, md, isd, wd, bd),
          norm_reference.batch_norm_forward(x, want_mean, invstd, w, b), **tol)
    for training in (True, False):
        got = _no_copies(norm.batch_norm_backward, gd, xv, md, isd, wd, training)
        want = norm_reference.batch_norm_backward(g, x, want_mean, invstd, w, training)
        for a, e in zip(got, want, strict=True):
            _same(a, e, **tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("m", "d", "affine"), [
    (3, 20, False),  # long rows: the per-row trees (statistics, dx) see 20 partials
    (17, 3, True),   # many rows: the per-column trees (dweight, dbias) see 17
])
def test_layer_norm_matches_reference(dtype, m, d, affine, rng):
    x = (rng.standard_normal((d, m)) * 3 - 2).astype(dtype)  # stored (D, M)
    g = rng.standard_normal((m, d)).astype(dtype)
    w, b = (rng.standard_normal(d).astype(dtype) for _ in range(2))
    xd, gd, wd, bd = _dev(x, g, w, b)
    xv, x = xd.T, x.T  # (M, D), strided
    w, b, wd, bd = (w, b, wd, bd) if affine else (None, None, None, None)
    tol = _tol(dtype)
    y, mean, rstd = _no_copies(norm.layer_norm_forward, xv, wd, bd, 1e-5)
    want_y, want_mean, want_rstd = norm_reference.layer_norm_forward(x, w, b, 1e-5)
    _same(y, want_y, **tol)
    _same(mean, want_mean, **_tol(np.float64))
    _same(rstd, want_rstd, **_tol(np.float64))
    got = _no_copies(norm.layer_norm_backward, gd, xv, mean, rstd, wd)
    want = norm_reference.layer_norm_backward(g, x, want_mean, want_rstd, w)
    for a, e in zip(got, want, strict=True):
        _same(a, e, **tol)


# ------------------------------------------------------------------ optim
OPTIMIZERS = [
    ("sgd_", dict(lr=0.1, weight_decay=0.0, momentum=0.0, dampening=0.0, nesterov=False,
                  maximize=False)),
    ("sgd_", dict(lr=0.1, weight_decay=0.01, momentum=0.9, dampening=0.1, nesterov=False,
                  maximize=True)),
    ("sgd_", dict(lr=0.05, weight_decay=0.0, momentum=0.9, dampening=0.0, nesterov=True,
                  maximize=False)),
    ("adam_", dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                   amsgrad=False, maximize=False, decoupled_weight_decay=False)),
    ("adam_", dict(lr=0.01, beta1=0.3, beta2=0.99, eps=1e-6, weight_decay=0.1,
                   amsgrad=True, maximize=True, decoupled_weight_decay=False)),
    ("adam_", dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01,
                   amsgrad=False, maximize=False, decoupled_weight_decay=True)),
    ("rmsprop_", dict(lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                      centered=False, maximize=False)),
    ("rmsprop_", dict(lr=0.01, alpha=0.3, eps=1e-8, weight_decay=0.1, momentum=0.5,
                      centered=True, maximize=True)),
    ("adagrad_", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, eps=1e-10, maximize=False)),
]


def _state(name: str, kw: dict, shape: tuple, dtype: type) -> list:
    """The buffers each optimizer takes after (param, grad), None where an option is off."""
    zeros = [np.zeros(shape, dtype) for _ in range(3)]
    if name == "sgd_":
        return [zeros[0] if kw["momentum"] else None]
    if name == "adam_":
        return [zeros[0], zeros[1], zeros[2] if kw["amsgrad"] else None]
    if name == "rmsprop_":
        return [zeros[0], zeros[1] if kw["centered"] else None,
                zeros[2] if kw["momentum"] else None]
    return [np.full(shape, 0.1, dtype)]  # adagrad's sum starts at initial_accumulator_value


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "kw"), OPTIMIZERS)
def test_optimizer_steps_match_reference(dtype, name, kw, rng):
    p = rng.standard_normal((2, 3)).astype(dtype)
    buffers = _state(name, kw, (2, 3), dtype)
    pd = CudaArray.from_host(p.T.copy()).T  # a transposed (strided) parameter
    bds = [None if b is None else CudaArray.from_host(b) for b in buffers]
    for step in range(1, 4):
        g = rng.standard_normal((2, 3)).astype(dtype)
        g[0, 0] = 0.0
        gd = CudaArray.from_host(g)
        extra = {"sgd_": {"first_step": step == 1}, "rmsprop_": {}}.get(name,
                                                                     {"step": float(step)})
        getattr(optim_reference, name)(p, g, *buffers, **kw, **extra)
        assert _no_copies(getattr(optim, name), pd, gd, *bds, **kw, **extra) is None
    # The simulator runs the kernels' float ops one by one in NumPy, in the reference's
    # order: bit for bit the same. A GPU may fuse a * b + c (one rounding instead of two).
    if simulated():
        tol = {"rtol": 0, "atol": 0}
    else:
        tol = {"rtol": 1e-6, "atol": 1e-7} if dtype == np.float32 else {"rtol": 1e-12,
                                                                        "atol": 1e-14}
    _same(pd, p, **tol)
    for bd, b in zip(bds, buffers, strict=True):
        assert (bd is None) == (b is None)
        if b is not None:
            _same(bd, b, **tol)


def test_optimizer_checks_its_buffers():
    p = CudaArray.from_host(np.zeros(3))
    with pytest.raises(ValueError, match="momentum_buffer is required"):
        optim.sgd_(p, p, None, lr=0.1, weight_decay=0, momentum=0.9, dampening=0,
                   nesterov=False, maximize=False, first_step=True)
    with pytest.raises(ValueError, match="does not match"):
        optim.adagrad_(p, p, CudaArray.from_host(np.zeros(2)), step=1.0, lr=0.1,
                       lr_decay=0, weight_decay=0, eps=1e-10, maximize=False)
    assert optim.adam_scalars(2.0, 0.1, 0.9, 0.999) == optim_reference.adam_scalars(
        2.0, 0.1, 0.9, 0.999)


def test_modules_expose_exactly_the_reference_api():
    for module, ref in ((core, reference), (norm, norm_reference), (optim, optim_reference)):
        assert sorted(module.__all__) == sorted(ref.__all__)
        for name in ref.__all__:
            assert callable(getattr(module, name))
