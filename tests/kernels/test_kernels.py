"""Kernel tests: the numba backend against the reference, and the reference against torch.

Tolerances. float64: the two backends agree to rtol 1e-12 (they differ only in summation order).
float32: both round every operation to 24 bits, but numba sums rows in float64 and NumPy sums
pairwise in float32, so they agree to a few float32 ulps of the largest term: rtol 1e-5 and
atol 1e-5 on O(1)-sized results. Inputs are standard normal unless a test says otherwise.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys

import numpy as np
import pytest

from tapegrad import kernels

ref = kernels.reference
jit = kernels.load_jit()

# Any RuntimeWarning (overflow in exp, log(0), 0*inf) from either backend fails the test.
pytestmark = pytest.mark.filterwarnings("error")

DTYPES = [np.float32, np.float64]
TOL = {np.float32: {"rtol": 1e-5, "atol": 1e-5}, np.float64: {"rtol": 1e-12, "atol": 1e-12}}
SHAPES = [(), (1,), (7,), (1, 1), (3, 1), (1, 5), (0,), (0, 4), (4, 0), (5, 17), (2, 3, 4)]
LAYOUTS = ["c", "transposed", "sliced"]


def make(rng, shape, dtype, layout="c", scale=1.0):
    """A random array of logical `shape`: C-contiguous, transposed (F-order), or strided."""
    if layout == "transposed" and len(shape) >= 2:
        return (rng.standard_normal(shape[::-1]) * scale).astype(dtype).T
    if layout == "sliced" and len(shape) >= 1:
        wide = rng.standard_normal(shape[:-1] + (2 * shape[-1],)) * scale
        return wide.astype(dtype)[..., ::2]
    return np.asarray(rng.standard_normal(shape) * scale, dtype=dtype)  # 0-d: an array too


def close(actual, expected, dtype, msg=""):
    assert isinstance(actual, np.ndarray), f"{msg}: got {type(actual)}"
    assert actual.shape == expected.shape, f"{msg}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == dtype, f"{msg}: dtype {actual.dtype}"
    np.testing.assert_allclose(actual, expected, equal_nan=True, err_msg=msg, **TOL[dtype])


def both(name, *args, **kw):
    """Run kernel `name` in both backends on copies; check the inputs were left untouched."""
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    out = getattr(jit, name)(*args, **kw)
    for a, c in zip(args, copies, strict=True):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, c, err_msg=f"{name} modified its input")
    return out, getattr(ref, name)(*copies, **kw)


def test_same_api():
    assert jit.__all__ == ref.__all__
    for name in ref.__all__:
        assert inspect.signature(getattr(jit, name)) == inspect.signature(getattr(ref, name))


# ----------------------------------------------------------------------------- elementwise

ELEMENTWISE = {  # name -> inputs built from (x, g): every case uses the same random arrays
    "relu": lambda x, g: (x,),
    "sigmoid": lambda x, g: (x * 10,),
    "threshold_backward": lambda x, g: (g, x, 0.25),
    "sigmoid_backward": lambda x, g: (g, ref.sigmoid(x)),
    "tanh_backward": lambda x, g: (g, np.tanh(x)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_matches_reference(name, dtype, rng):
    for shape in SHAPES:
        for layout in LAYOUTS:
            x, g = make(rng, shape, dtype, layout), make(rng, shape, dtype, layout)
            got, want = both(name, *ELEMENTWISE[name](x, g))
            close(got, want, dtype, f"{name} {shape} {layout}")


SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1e-30, 88.8, -88.8, 1000.0, -1000.0, 0.25]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_special_values(name, dtype):
    x = np.array(SPECIAL, dtype)
    g = np.linspace(-2, 2, x.size).astype(dtype)
    got, want = both(name, *ELEMENTWISE[name](x, g))
    close(got, want, dtype, name)


def test_elementwise_references_against_torch():
    import torch
    x = np.array(SPECIAL + list(np.random.default_rng(1).standard_normal(20) * 5))
    g = np.linspace(-2, 2, x.size)
    tx, tg = torch.from_numpy(x), torch.from_numpy(g)
    y, t = torch.sigmoid(tx), torch.tanh(tx)
    aten = torch.ops.aten
    pairs = [
        (ref.relu(x), torch.relu(tx)),
        (ref.sigmoid(x), y),
        (ref.threshold_backward(g, x, 0.25), aten.threshold_backward(tg, tx, 0.25)),
        (ref.threshold_backward(g, x, 0.0), aten.threshold_backward(tg, tx, 0.0)),
        (ref.sigmoid_backward(g, y.numpy()), aten.sigmoid_backward(tg, y)),
        (ref.tanh_backward(g, t.numpy()), aten.tanh_backward(tg, t)),
    ]
    for mine, theirs in pairs:  # torch's vector loops may fuse multiply-adds: a few ulps apart
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-10, atol=1e-300, equal_nan=True)


def test_sigmoid_float32_extremes_do_not_overflow():
    x = np.array([-1e4, -104.0, -88.8, 88.8, 1e4, -np.inf, np.inf], np.float32)
    for backend in (jit, ref):
        y = backend.sigmoid(x)  # filterwarnings("error") turns an overflow warning into failure
        assert y.dtype == np.float32 and np.all((y >= 0) & (y <= 1))
        assert y[0] == 0 and y[-1] == 1 and y[3] == 1


# ----------------------------------------------------------------------------- in place


@pytest.mark.parametrize("dtype", DTYPES)
def test_axpy_and_scale_in_place(dtype, rng):
    for shape in SHAPES:
        for layout in LAYOUTS:
            dst = make(rng, shape, dtype)
            src = make(rng, shape, dtype, layout)
            expected = dst + dtype(-0.3) * src
            d_jit, d_ref = dst.copy(), dst.copy()
            assert jit.axpy_(d_jit, src, -0.3) is d_jit
            assert ref.axpy_(d_ref, src, -0.3) is d_ref
            close(d_jit, d_ref, dtype, f"axpy_ {shape} {layout}")
            close(d_ref, expected, dtype, "axpy_ reference")
            assert jit.scale_(d_jit, 0.7) is d_jit
            close(d_jit, ref.scale_(d_ref, 0.7), dtype, f"scale_ {shape}")
            close(d_jit, expected * dtype(0.7), dtype, "scale_ formula")


def test_axpy_mixed_dtype_strided_dst_and_errors(rng):
    dst = np.zeros((4, 6), np.float32)
    src = rng.standard_normal((4, 6))  # float64 into a float32 buffer
    jit.axpy_(dst, src, 2.0)
    np.testing.assert_allclose(dst, (2.0 * src).astype(np.float32), rtol=1e-6)
    view = dst[:, ::2]  # not contiguous: still updated in place, through the view
    jit.axpy_(view, np.ones((4, 3), np.float32), 1.0)
    jit.scale_(view, 0.0)
    assert np.all(dst[:, ::2] == 0) and np.all(dst[:, 1::2] != 0)
    with pytest.raises(ValueError):
        jit.axpy_(dst, src[:, :3], 1.0)


def test_read_only_inputs(rng):
    """Frozen arrays (e.g. saved for backward) are read, never written; in-place ops refuse."""
    x = make(rng, (5, 6), np.float64)
    x.setflags(write=False)
    close(*both("relu", x), np.float64, "relu of a read-only array")
    for backend in (jit, ref):
        with pytest.raises(ValueError, match="read-only"):
            backend.axpy_(x, x, 1.0)


# ----------------------------------------------------------------------------- along an axis

AXIS_KERNELS = {  # name -> (args builder from x, g and axis, extra kwargs)
    "softmax": lambda x, g, ax: (x, ax),
    "log_softmax": lambda x, g, ax: (x, ax),
    "softmax_backward": lambda x, g, ax: (g, ref.softmax(x, ax), ax),
    "log_softmax_backward": lambda x, g, ax: (g, ref.log_softmax(x, ax), ax),
    "logsumexp": lambda x, g, ax: (x, ax, False),
    "logsumexp keepdims": lambda x, g, ax: (x, ax, True),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", AXIS_KERNELS)
def test_axis_kernels_match_reference(case, dtype, rng):
    name = case.split()[0]
    for shape in SHAPES:
        for axis in sorted({0, -1, len(shape) // 2}):
            for layout in LAYOUTS:
                x, g = make(rng, shape, dtype, layout, 3.0), make(rng, shape, dtype, layout)
                got, want = both(name, *AXIS_KERNELS[case](x, g, axis))
                close(got, want, dtype, f"{case} {shape} axis={axis} {layout}")


ROWS = np.array(
    [
        [-np.inf, -np.inf, -np.inf],
        [np.inf, 1.0, 2.0],
        [np.nan, 1.0, 2.0],
        [-np.inf, 0.0, 1.0],
        [np.inf, np.inf, -np.inf],
        [np.nan, np.inf, 1.0],
        [1000.0, -1000.0, 999.0],
        [-1000.0, -1001.0, -1002.0],
    ]
)


@pytest.mark.parametrize("dtype", DTYPES)
def test_axis_kernels_special_rows(dtype):
    x = ROWS.astype(dtype)
    for name in ("softmax", "log_softmax"):
        for axis in (1, 0):
            close(*both(name, x, axis), dtype, f"{name} axis={axis}")
    close(*both("logsumexp", x, 1, False), dtype, "logsumexp")
    close(*both("logsumexp", x.T.copy(), 0, True), dtype, "logsumexp axis 0")


def test_axis_references_against_torch(rng):
    import torch
    for x in (rng.standard_normal((4, 5, 6)) * 4, ROWS):
        tx = torch.from_numpy(x)
        g = rng.standard_normal(x.shape)
        tg = torch.from_numpy(g)
        for dim in range(x.ndim):
            y, ly = torch.softmax(tx, dim), torch.log_softmax(tx, dim)
            pairs = [
                (ref.softmax(x, dim), y),
                (ref.log_softmax(x, dim), ly),
                (ref.logsumexp(x, dim), torch.logsumexp(tx, dim)),
                (ref.logsumexp(x, dim, True), torch.logsumexp(tx, dim, keepdim=True)),
                (
                    ref.softmax_backward(g, y.numpy(), dim),
                    torch._softmax_backward_data(tg, y, dim, tx.dtype),
                ),
                (
                    ref.log_softmax_backward(g, ly.numpy(), dim),
                    torch._log_softmax_backward_data(tg, ly, dim, tx.dtype),
                ),
            ]
            for mine, theirs in pairs:
                assert mine.shape == tuple(theirs.shape)
                np.testing.assert_allclose(
                    mine, theirs.numpy(), rtol=1e-12, atol=1e-12, equal_nan=True
                )
    s = np.array(3.0)  # 0-d: torch treats it as a length-1 vector along dim 0 or -1
    assert ref.softmax(s, 0) == 1.0 and ref.log_softmax(s, -1) == 0.0
    assert ref.logsumexp(s, 0).shape == () and ref.logsumexp(s, 0, True) == 3.0
    assert ref.logsumexp(np.zeros((3, 0)), 1).tolist() == [-np.inf] * 3


def test_axis_out_of_range():
    for backend in (jit, ref):
        with pytest.raises(np.exceptions.AxisError):
            backend.softmax(np.zeros((2, 3)), 2)
        with pytest.raises(np.exceptions.AxisError):
            backend.logsumexp(np.array(1.0), 1)


# ----------------------------------------------------------------------------- sum_to_shape

SUM_CASES = [
    ((2, 3), (3,)),
    ((2, 3), (1, 3)),
    ((2, 3), (2, 1)),
    ((2, 3), ()),
    ((2, 3), (1, 1)),
    ((4, 2, 3), (2, 1)),
    ((2, 1, 3), (1, 1, 3)),
    ((5, 2, 3, 3), (2, 1, 1)),
    ((0, 3), (3,)),
    ((0, 3), (1, 3)),
    ((3,), (3,)),
    ((), ()),
    ((2, 3), (2, 3)),
]


@pytest.mark.parametrize("dtype", DTYPES)
def test_sum_to_shape(dtype, rng):
    import torch
    for xshape, shape in SUM_CASES:
        for layout in LAYOUTS:
            x = make(rng, xshape, dtype, layout)
            got, want = both("sum_to_shape", x, shape)
            close(got, want, dtype, f"{xshape}->{shape}")
            assert not np.shares_memory(got, x), "must be a fresh array"
            expected = torch.from_numpy(x.astype(np.float64)).sum_to_size(shape).numpy()
            close(want, expected.astype(dtype), dtype, f"reference vs torch {xshape}->{shape}")
    for backend in (jit, ref):
        with pytest.raises(ValueError, match="not expandable"):
            backend.sum_to_shape(np.zeros((2, 3)), (2,))


# ----------------------------------------------------------------------------- cross-entropy


def nll_inputs(rng, n, c, dtype, weighted, ignore_index):
    x = make(rng, (n, c), dtype, scale=3.0)
    target = rng.integers(0, c, n)
    target[::4] = ignore_index  # every fourth sample is ignored
    weight = rng.uniform(0.5, 2.0, c).astype(dtype) if weighted else None
    return x, target, weight, rng.standard_normal(n).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 2])
def test_log_softmax_nll_matches_reference(dtype, weighted, ignore_index, rng):
    for n, c in [(9, 5), (1, 1), (0, 3), (64, 10)]:
        x, t, w, gl = nll_inputs(rng, n, c, dtype, weighted, ignore_index)
        (l_jit, lp_jit), (l_ref, lp_ref) = both("log_softmax_nll", x, t, w, ignore_index)
        close(l_jit, l_ref, dtype, f"losses {n}x{c}")
        close(lp_jit, lp_ref, dtype, f"log_probs {n}x{c}")
        got, want = both("log_softmax_nll_backward", gl, lp_ref, t, w, ignore_index)
        close(got, want, dtype, f"grad {n}x{c}")
    got, want = both("log_softmax_nll_backward", np.array(0.5, dtype), lp_ref, t, w, ignore_index)
    close(got, want, dtype, "grad with a broadcast scalar grad_losses")
    x_f, lp_f = np.asfortranarray(x), np.asfortranarray(lp_ref)  # column-major inputs
    close(jit.log_softmax_nll(x_f, t, w, ignore_index)[0], l_ref, dtype, "F-order logits")
    got, want = both("log_softmax_nll_backward", gl, lp_f, t, w, ignore_index)
    close(got, want, dtype, "F-order log_probs")


@pytest.mark.parametrize("weighted", [False, True])
def test_log_softmax_nll_reference_against_torch(weighted, rng):
    import torch
    x, t, w, gl = nll_inputs(rng, 12, 7, np.float64, weighted, -100)
    losses, log_probs = ref.log_softmax_nll(x, t, w, -100)
    tx = torch.tensor(x, requires_grad=True)
    tw = None if w is None else torch.from_numpy(w)
    tl = torch.nn.functional.cross_entropy(tx, torch.from_numpy(t), weight=tw, reduction="none")
    tl.backward(torch.from_numpy(gl))
    np.testing.assert_allclose(losses, tl.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(log_probs, torch.log_softmax(tx, 1).detach().numpy(), rtol=1e-12)
    grad = ref.log_softmax_nll_backward(gl, log_probs, t, w, -100)
    np.testing.assert_allclose(grad, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_log_softmax_nll_bad_targets():
    x = np.zeros((3, 10), np.float32)
    for backend in (jit, ref):
        for bad in (12, -3):
            t = np.array([0, bad, -100])
            with pytest.raises(IndexError, match=f"Target {bad} is out of bounds.*C=10"):
                backend.log_softmax_nll(x, t, None, -100)
            with pytest.raises(IndexError, match=f"Target {bad} is out of bounds"):
                backend.log_softmax_nll_backward(np.ones(3, np.float32), x, t, None, -100)
        # numba does no bounds checks, so lengths are checked before any kernel runs
        with pytest.raises(ValueError, match="target shape"):
            backend.log_softmax_nll(x, np.array([0, 1]), None, -100)
        with pytest.raises(ValueError, match="weight shape"):
            backend.log_softmax_nll(x, np.array([0, 1, 2]), np.ones(9, np.float32), -100)


# ----------------------------------------------------------------------------- parallel path


@pytest.mark.parametrize("dtype", DTYPES)
def test_parallel_path(dtype, rng, monkeypatch):
    """Every kernel through the prange kernels: threshold lowered so mid-size arrays (several
    work items each, ragged last item) go parallel."""
    monkeypatch.setattr(jit, "PARALLEL_MIN_SIZE", 1)
    x, g = make(rng, (301, 150), dtype, scale=3.0), make(rng, (301, 150), dtype)
    for name, build in ELEMENTWISE.items():
        close(*both(name, *build(x, g)), dtype, f"parallel {name}")
    for case, build in AXIS_KERNELS.items():
        for axis in (1, 0):
            close(*both(case.split()[0], *build(x, g, axis)), dtype, f"parallel {case} {axis}")
    few_long_rows = make(rng, (3, 40001), dtype)
    close(*both("softmax", few_long_rows, 1), dtype, "parallel, one row per work item")
    d_jit, d_ref = x.copy(), x.copy()
    close(jit.axpy_(d_jit, g, 0.5), ref.axpy_(d_ref, g, 0.5), dtype, "parallel axpy_")
    close(jit.scale_(d_jit, 0.5), ref.scale_(d_ref, 0.5), dtype, "parallel scale_")


def test_default_threshold_takes_parallel_path(rng):
    x = make(rng, (jit.PARALLEL_MIN_SIZE // 8 + 1, 8), np.float32)
    close(*both("relu", x), np.float32, "relu at the default threshold")
    close(*both("softmax", x, 1), np.float32, "softmax at the default threshold")


# ----------------------------------------------------------------------------- dispatch


def run_python(code: str, **env) -> str:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    full_env = {**os.environ, "PYTHONPATH": root, **env}
    return subprocess.run(
        [sys.executable, "-c", code], env=full_env, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_import_does_not_import_numba():
    code = "import sys, tapegrad.kernels as k; print(k.jit_enabled(), 'numba' in sys.modules)"
    assert run_python(code, TAPEGRAD_JIT="1") == "True False"


def test_tapegrad_jit_0_selects_reference():
    code = (
        "from tapegrad import kernels as k\n"
        "assert k.CPU is k.REFERENCE and not k.jit_enabled()\n"
        "m = k.load_jit()\n"
        "assert k.CPU is k.REFERENCE and m is not k.reference\n"
        "print('ok')"
    )
    assert run_python(code, TAPEGRAD_JIT="0") == "ok"
