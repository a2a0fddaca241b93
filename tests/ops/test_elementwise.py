"""Elementwise family vs torch: values, gradients, node names, kink/tie conventions, dtypes,
comparisons and logic, and the in-place ops' version/leaf/saved-tensor semantics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad as tg

LIBS = {"tapegrad": tg, "torch": torch}
TG_DTYPES = {"float64": tg.float64, "float32": tg.float32}
TH_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def run_both(fn, *arrays, dtype="float64", grad=True, seed=0, ones=False):
    """``fn(lib, *leaves)`` with tapegrad and torch on the same values; backward with the
    same random upstream gradient (or ones). Returns ((out_tg, grads_tg), (out_th, ...))."""
    results = []
    for name, lib in LIBS.items():
        dt = (TG_DTYPES if name == "tapegrad" else TH_DTYPES)[dtype]
        floating = [isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in arrays]
        leaves = [lib.tensor(a, dtype=dt, requires_grad=grad) if f  # bool arrays: masks
                  else lib.tensor(a) if isinstance(a, np.ndarray) else a
                  for a, f in zip(arrays, floating, strict=True)]
        out = fn(lib, *leaves)
        grads = []
        if grad and out.requires_grad:
            up = np.random.default_rng(seed).standard_normal(tuple(out.shape))
            up = np.ones_like(up) if ones else up
            out.backward(lib.tensor(up, dtype=dt))
            grads = [t.grad for t, f in zip(leaves, floating, strict=True) if f]
        results.append((out, grads))
    return results


def np_of(t):
    return None if t is None else np.asarray(t.detach().numpy(force=True), dtype=np.float64)


def assert_same(fn, *arrays, dtype="float64", rtol=1e-12, atol=1e-12, grad=True):
    (out, grads), (out_t, grads_t) = run_both(fn, *arrays, dtype=dtype, grad=grad)
    assert tuple(out.shape) == tuple(out_t.shape)
    assert str(out.dtype).split(".")[-1] == str(out_t.dtype).split(".")[-1]
    np.testing.assert_allclose(np_of(out), np_of(out_t), rtol=rtol, atol=atol)
    assert len(grads) == len(grads_t)
    for g, gt in zip(grads, grads_t, strict=True):
        assert (g is None) == (gt is None)
        if g is not None:
            assert g.dtype == out.dtype
            np.testing.assert_allclose(np_of(g), np_of(gt), rtol=rtol, atol=atol)
    return out, grads


RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))
POS = np.abs(X) + 0.5

UNARY = [
    ("exp", X, "ExpBackward0"), ("log", POS, "LogBackward0"), ("log1p", POS, "Log1PBackward0"),
    ("sqrt", POS, "SqrtBackward0"), ("rsqrt", POS, "RsqrtBackward0"), ("sin", X, "SinBackward0"),
    ("cos", X, "CosBackward0"), ("reciprocal", X, "ReciprocalBackward0"),
    ("erf", X * 2, "ErfBackward0"), ("abs", X, "AbsBackward0"), ("sign", X, "SignBackward0"),
    ("floor", X * 3, "FloorBackward0"), ("ceil", X * 3, "CeilBackward0"),
    ("round", X * 3, "RoundBackward0"), ("square", X, "PowBackward0"),
]


@pytest.mark.parametrize(("name", "x", "node"), UNARY, ids=[u[0] for u in UNARY])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_unary_ops_match_torch(name, x, node, dtype):
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == "float64" else dict(rtol=2e-6, atol=2e-6)
    out, _ = assert_same(lambda lib, t: getattr(lib, name)(t), x, dtype=dtype, **tol)
    assert type(out.grad_fn).__name__ == node
    assert_same(lambda lib, t: getattr(t, name)(), x, dtype=dtype, **tol)  # the method form


@pytest.mark.parametrize(("name", "x"), [("exp", X), ("log", POS), ("sqrt", POS),
                                         ("sin", X), ("rsqrt", POS), ("erf", X),
                                         ("reciprocal", X), ("abs", X)])
def test_second_derivatives_match_torch(name, x):
    got = []
    for lib in (tg, torch):
        t = lib.tensor(x, dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad(getattr(t, name)(), t, lib.ones_like(t) * 1.5,
                                 create_graph=True)
        (gg,) = lib.autograd.grad(g, t, lib.tensor(x * 0 + 0.7, dtype=lib.float64))
        got.append(np_of(gg))
    np.testing.assert_allclose(got[0], got[1], rtol=1e-11, atol=1e-12)


def test_kinks_abs_sign_steps_and_sqrt_at_zero():
    x = np.array([-2.5, -0.5, 0.0, 0.5, 1.5, 2.5])
    for name in ("abs", "sign", "floor", "ceil", "round"):
        _, (g,) = assert_same(lambda lib, t, n=name: getattr(t, n)(), x)
        if name == "abs":
            assert g.tolist()[2] == 0.0  # abs'(0) = 0
        else:
            assert not g.numpy().any()  # step functions: zero gradient everywhere
    _, (g,) = assert_same(lambda lib, t: t.sqrt(), np.array([0.0, 4.0]))
    assert g.tolist()[0] == float("inf")
    # torch rounds half to even; sign(nan) is 0
    assert tg.tensor([0.5, 1.5, 2.5, -0.5]).round().tolist() == [0.0, 2.0, 2.0, -0.0]
    assert tg.tensor([float("nan"), -3.0, 0.0]).sign().tolist() == [0.0, -1.0, 0.0]
    assert_same(lambda lib, t: lib.round(t, decimals=2), X * 10)
    assert type(tg.round(tg.tensor(X, requires_grad=True), decimals=1).grad_fn).__name__ == \
        "RoundBackward1"


def test_dtypes_of_unary_ops_follow_torch():
    i = np.array([1, -2, 3])
    for name in ("exp", "sqrt", "sin", "erf", "reciprocal", "abs", "sign", "floor", "round",
                 "square"):
        got, want = getattr(tg.tensor(i), name)(), getattr(torch.tensor(i), name)()
        assert got.dtype.name == str(want.dtype).split(".")[-1], name
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, equal_nan=True)
    b = tg.tensor([True, False])
    assert b.sign().dtype is tg.bool and b.square().dtype is tg.int64
    with pytest.raises(NotImplementedError, match="abs_cpu"):
        b.abs()
    with pytest.raises(TypeError, match=r"exp\(\): argument 'input'"):
        tg.exp(2.0)


def test_erf_is_exact_to_the_last_bits():
    x = np.linspace(-6, 6, 2001)
    np.testing.assert_allclose(tg.erf(tg.tensor(x)).numpy(), torch.erf(torch.tensor(x)).numpy(),
                               rtol=4e-16, atol=4e-16)
    x32 = x.astype(np.float32)
    got = tg.erf(tg.tensor(x32)).numpy()
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, torch.erf(torch.tensor(x32)).numpy(), rtol=0, atol=1.2e-7)


# ------------------------------------------------------------------ clamp
BOUNDARY = np.array([-2.0, -0.5, 0.0, 0.25, 1.0, 3.0])


def test_clamp_gradient_passes_on_the_closed_interval():
    out, (g,) = assert_same(lambda lib, t: t.clamp(-0.5, 1.0), BOUNDARY, grad=True)
    assert type(out.grad_fn).__name__ == "ClampBackward1"
    (gt,) = run_both(lambda lib, t: t.clamp(-0.5, 1.0), BOUNDARY, ones=True)[0][1]
    assert gt.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]  # both boundaries included
    for fn, node in [(lambda lib, t: t.clamp(min=-0.5), "ClampBackward1"),
                     (lambda lib, t: lib.clamp(t, max=1.0), "ClampBackward1"),
                     (lambda lib, t: t.clamp_min(-0.5), "ClampMinBackward0"),
                     (lambda lib, t: lib.clamp_max(t, 1.0), "ClampMaxBackward0"),
                     (lambda lib, t: lib.clip(t, 1.0, -0.5), "ClampBackward1")]:  # min > max
        out, _ = assert_same(fn, BOUNDARY)
        assert type(out.grad_fn).__name__ == node


def test_clamp_with_tensor_bounds_gives_the_bounds_their_gradient():
    lo = np.array([-1.0, -0.5, 0.5, 0.25, 2.0, 0.0])
    hi = np.array([0.0, 1.0, 0.0, 0.25, 1.0, 3.0])  # includes lo > hi and lo == hi
    out, grads = assert_same(lambda lib, t, a, b: lib.clamp(t, a, b), BOUNDARY, lo, hi)
    assert type(out.grad_fn).__name__ == "ClampBackward0"
    assert_same(lambda lib, t, a: t.clamp(min=a), BOUNDARY, lo)
    for fn, node in [(lambda lib, t, a: t.clamp_min(a), "ClampMinBackward1"),
                     (lambda lib, t, a: lib.clamp_max(t, a), "ClampMaxBackward1")]:
        out, _ = assert_same(fn, BOUNDARY, hi)
        assert type(out.grad_fn).__name__ == node
    # broadcast bounds, gradient summed back to their shape
    x = RNG.standard_normal((2, 3, 4))
    assert_same(lambda lib, t, a, b: t.clamp(a, b), x, -np.abs(X[0]), np.abs(X[:, :1]) + 0.1)


def test_clamp_argument_errors_and_dtypes():
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max' must not be None"):
        tg.tensor([1.0]).clamp()
    with pytest.raises(TypeError):
        tg.tensor([1.0]).clamp(tg.tensor([0.0]), 1.0)
    i = np.array([1, -2, 3])
    for bounds in [(0.5, None), (0, 2), (None, 1.5)]:
        got, want = tg.tensor(i).clamp(*bounds), torch.tensor(i).clamp(*bounds)
        assert got.dtype.name == str(want.dtype).split(".")[-1]
        assert got.tolist() == want.tolist()
    nan = tg.tensor([float("nan"), 2.0]).clamp(0.0, 1.0).tolist()
    assert np.isnan(nan[0]) and nan[1] == 1.0


# ------------------------------------------------------------------ maximum / minimum
def test_maximum_minimum_split_ties_in_half():
    a = np.array([1.0, 2.0, 3.0, -1.0])
    b = np.array([1.0, 0.0, 4.0, -1.0])
    for name in ("maximum", "minimum"):
        out, (ga, gb) = assert_same(lambda lib, x, y, n=name: getattr(lib, n)(x, y), a, b)
        assert type(out.grad_fn).__name__ == name.capitalize() + "Backward0"
        (ga1, gb1) = run_both(lambda lib, x, y, n=name: getattr(lib, n)(x, y), a, b,
                              ones=True)[0][1]
        assert ga1.tolist()[0] == gb1.tolist()[0] == 0.5  # a tie
        assert ga1.tolist()[3] == gb1.tolist()[3] == 0.5
    # broadcasting with ties against a 0-d tensor, and nan propagation
    assert_same(lambda lib, x, y: lib.maximum(x, y), np.array([[0.5, 1.0], [2.0, 0.5]]),
                np.array(0.5))
    assert_same(lambda lib, x, y: x.minimum(y), np.array([np.nan, 1.0]), np.array([0.0, np.nan]))
    with pytest.raises(TypeError, match=r"maximum\(\): argument 'other'"):
        tg.maximum(tg.tensor([1.0]), 1.0)


def test_maximum_promotes_dtypes():
    got = tg.maximum(tg.tensor([1, 5]), tg.tensor([2.5, 0.5]))
    assert got.dtype is tg.float32 and got.tolist() == [2.5, 5.0]


# ------------------------------------------------------------------ where
def test_where_routes_gradients_to_the_chosen_branch():
    cond = X > 0
    out, (ga, gb) = assert_same(lambda lib, c, a, b: lib.where(c, a, b), cond, X,
                                -X * 2)
    assert type(out.grad_fn).__name__ == "WhereBackward0"
    assert np.all(ga.numpy()[~cond] == 0) and np.all(gb.numpy()[cond] == 0)
    # broadcasting condition and branches, Python numbers as branches, the method form
    c = RNG.standard_normal((2, 1, 4)) > 0
    assert_same(lambda lib, c, a, b: lib.where(c, a, b), c,
                RNG.standard_normal((3, 1)), RNG.standard_normal(4))
    assert_same(lambda lib, c, a: lib.where(c, a, 0.0), cond, X)
    assert_same(lambda lib, c, b: lib.where(c, 2.0, b), cond, X)
    assert_same(lambda lib, c, a, b: a.where(c, b), cond, X, X * 3)


def test_where_dtypes_and_errors():
    b = tg.tensor([True, False, True])
    assert tg.where(b, 1.0, 0.0).dtype is tg.float32
    assert tg.where(b, 1, 0).dtype is tg.int64
    assert tg.where(b, tg.tensor([1, 2, 3]), 2.5).tolist() == [1.0, 2.5, 3.0]
    assert tg.where(b, tg.tensor([1.0, 2, 3], dtype=tg.float64), tg.zeros(3)).dtype is tg.float64
    with pytest.raises(RuntimeError, match="where expected condition to be a boolean tensor, "
                                           "but got a tensor with dtype Float"):
        tg.where(tg.zeros(3), tg.zeros(3), tg.zeros(3))
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(2\) must match"):
        tg.where(tg.tensor([True, False]), tg.zeros(3), 0.0)
    rows, cols = tg.where(tg.tensor([[True, False], [False, True]]))
    assert rows.tolist() == [0, 1] and cols.tolist() == [0, 1] and rows.dtype is tg.int64


# ------------------------------------------------------------------ comparisons and logic
def test_comparisons_return_bool_tensors_like_torch():
    a = np.array([1.0, 2.0, np.nan, 3.0])
    b = np.array([1.0, 3.0, np.nan, 2.0])
    ops = ["__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "eq", "ne", "lt", "le",
           "gt", "ge", "greater", "less_equal", "not_equal"]
    for op in ops:
        for other in (b, 2.0, 2):
            got = getattr(tg.tensor(a), op)(tg.tensor(other) if isinstance(other, np.ndarray)
                                            else other)
            want = getattr(torch.tensor(a), op)(torch.tensor(other)
                                                if isinstance(other, np.ndarray) else other)
            assert got.dtype is tg.bool and got.tolist() == want.tolist(), (op, other)
    x = tg.tensor([1.0], requires_grad=True)
    assert not (x > 0).requires_grad and (x > 0).grad_fn is None
    assert (tg.tensor([1, 2]) < 1.5).tolist() == [True, False]  # compared as floats
    assert (tg.tensor([0.1], dtype=tg.float64) == tg.tensor([0.1])).tolist() == [False]
    assert (tg.tensor([1.0]) == None) is False and (tg.tensor([1.0]) != None) is True  # noqa: E711
    assert (2 < tg.tensor([1, 3])).tolist() == [False, True]  # reflected
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of "
                                           r"tensor b \(2\) at non-singleton dimension 0"):
        _ = tg.zeros(3) < tg.zeros(2)
    assert tg.equal(tg.tensor([1, 2]), tg.tensor([1, 2])) is True
    assert tg.equal(tg.tensor([1, 2]), tg.tensor([1, 2, 3])) is False
    assert tg.allclose(tg.tensor([1.0]), tg.tensor([1.0 + 1e-9]))


def test_logic_and_bitwise_ops():
    p, q = np.array([True, True, False, False]), np.array([True, False, True, False])
    i, j = np.array([12, 5, -3]), np.array([10, 3, 7])
    cases = [lambda L, a, b: a & b, lambda L, a, b: a | b, lambda L, a, b: a ^ b,
             lambda L, a, b: ~a, lambda L, a, b: True & a, lambda L, a, b: a | False,
             lambda L, a, b: L.logical_and(a, b), lambda L, a, b: L.logical_or(a, b),
             lambda L, a, b: L.logical_xor(a, b), lambda L, a, b: L.logical_not(a)]
    for case in cases:
        for x, y in ((p, q), (i, j)):
            got = case(tg, tg.tensor(x), tg.tensor(y))
            want = case(torch, torch.tensor(x), torch.tensor(y))
            assert got.tolist() == want.tolist()
            assert got.dtype.name == str(want.dtype).split(".")[-1]
    with pytest.raises(NotImplementedError, match="\"bitwise_and_cpu\" not implemented for "
                                                  "'Float'"):
        tg.tensor([1.0]) & tg.tensor([1.0])
    with pytest.raises(TypeError, match="only implemented on integer and Boolean"):
        ~tg.tensor([1.0])
    assert tg.logical_not(tg.tensor([0.0, 2.0])).tolist() == [True, False]


def test_isnan_isinf_isfinite():
    x = np.array([1.0, np.nan, np.inf, -np.inf, 0.0])
    for name in ("isnan", "isinf", "isfinite"):
        for arr in (x, x.astype(np.float32), np.array([1, 2])):
            got = getattr(tg, name)(tg.tensor(arr))
            assert got.dtype is tg.bool
            assert got.tolist() == getattr(torch, name)(torch.tensor(arr)).tolist()


# ------------------------------------------------------------------ in-place ops
def test_inplace_ops_bump_the_version_and_match_torch():
    for lib in (tg, torch):
        t = lib.zeros(2, 3)
        t.fill_(2.5)
        t.clamp_(0.0, 1.0)
        t.copy_(lib.tensor([1.0, 2.0, 3.0]))
        t.zero_()
        t.fill_(lib.tensor(4.0))
        assert t._version == 5
        assert t.tolist() == [[4.0] * 3] * 2
    t = tg.zeros(3, dtype=tg.int64)
    assert t.fill_(2.7).tolist() == [2, 2, 2]  # cast to the tensor's dtype, as torch
    with pytest.raises(RuntimeError, match="fill_ only supports 0-dimension value tensor"):
        t.fill_(tg.tensor([1.0]))
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        t.clamp_(0.5)


@pytest.mark.parametrize("op", ["zero_", "fill_", "copy_", "clamp_", "clip_"])
def test_inplace_on_a_leaf_that_requires_grad_is_refused(op):
    args = {"zero_": (), "fill_": (1.0,), "copy_": (tg.ones(2),), "clamp_": (0.0, 1.0),
            "clip_": (0.0, 1.0)}[op]
    w = tg.tensor([3.0, -3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used "
                                           "in an in-place operation."):
        getattr(w, op)(*args)
    assert w.tolist() == [3.0, -3.0] and w._version == 0
    with tg.no_grad():
        getattr(w, op)(*args)  # what optimizers do
    assert w._version == 1


def test_inplace_gradients_match_torch():
    x = np.array([-2.0, -0.5, 0.2, 1.0, 2.0])
    v = np.array(0.7)
    assert_same(lambda lib, t: (t * 2).clamp_(-1.0, 1.0) * t, x)
    assert_same(lambda lib, t: (t * 1).clamp_(min=-0.5), x)
    out, _ = assert_same(lambda lib, t, a, b: (t * 1).clamp_(a, b), x, x * 0 - 0.4, x * 0 + 0.5)
    assert type(out.grad_fn).__name__ == "ClampBackward0"
    out, _ = assert_same(lambda lib, t: (t * 2).zero_() + t * t, x)
    assert type(out.grad_fn.next_functions[0][0]).__name__ == "ZeroBackward0"
    out, (gx, gv) = assert_same(lambda lib, t, s: (t * 2).fill_(s) * t, x, v)
    assert type(out.grad_fn.next_functions[0][0]).__name__ == "FillBackward3"
    # copy_: broadcast src, and a float64 src into a float32 tensor (grad cast back)
    src = RNG.standard_normal((3, 1))
    out, (gt, gs) = assert_same(lambda lib, t, s: (t * 3).copy_(s) * t,
                                RNG.standard_normal((2, 3, 4)), src)
    assert tuple(gs.shape) == (3, 1)
    assert type(out.grad_fn.next_functions[0][0]).__name__ == "CopyBackwards"
    for lib in (tg, torch):
        s = lib.tensor(src, dtype=lib.float64, requires_grad=True)
        dst = lib.zeros(2, 3, 4)  # float32, does not require grad
        dst.copy_(s)
        assert dst.requires_grad and dst.dtype == lib.float32
        dst.sum().backward()
        assert s.grad.dtype == lib.float64 and s.grad.tolist() == [[8.0]] * 3
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the "
                                           r"broadcast shape \[2, 3\]"):
        tg.zeros(3).copy_(tg.zeros(2, 3))
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match"):
        tg.zeros(3).copy_(tg.zeros(4))


def test_modifying_a_saved_tensor_is_detected_like_torch():
    for make in (lambda x: x.exp(), lambda x: x.sqrt(), lambda x: x.reciprocal()):
        errors = []
        for lib in (tg, torch):
            x = lib.tensor([0.5, 1.5, 2.0], requires_grad=True)
            y = make(x)  # saves its output
            y.mul_(2)
            with pytest.raises(RuntimeError) as err:
                y.sum().backward()
            errors.append(str(err.value))
        assert "modified by an inplace operation" in errors[0]
        assert "is at version 1; expected version 0 instead" in errors[0]
    for lib in (tg, torch):  # saved *input* modified after use
        x = lib.tensor([0.5, 1.5], requires_grad=True)
        h = x * 1
        y = h.sin()
        h.fill_(0.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
    for lib in (tg, torch):  # the classic detach demo
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        out = a.exp()
        out.detach().zero_()
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()
