"""matmul and friends against torch: every rank combination, broadcast batch dims, node
names, dtype and shape errors (torch's exact messages), transposes, double backward."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import tapegrad as tg

F64 = dict(rtol=1e-10, atol=1e-12)
F32 = dict(rtol=1e-5, atol=1e-5)

SHAPES = [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
    ((5, 2, 3), (3,)), ((3,), (5, 3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)),
    ((5, 2, 3), (5, 3, 4)), ((1, 2, 3), (5, 3, 4)), ((5, 2, 3), (1, 3, 4)),
    ((2, 5, 2, 3), (5, 3, 4)), ((5, 2, 3), (2, 1, 3, 4)), ((2, 1, 2, 3), (1, 4, 3, 2)),
    ((2, 3, 2, 3), (3,)), ((3,), (2, 3, 3, 2)), ((2, 1, 2, 3), (3, 4)), ((1, 1), (1, 1)),
    ((0, 3), (3, 4)), ((2, 0), (0, 4)), ((0, 2, 3), (3, 4)), ((3, 0, 3), (1, 3, 2)),
]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(99)


def compare(fn, *arrays: np.ndarray, dtype: str = "float64", grads: tuple | None = None):
    """``fn(lib, *xs)`` in both libraries: output, dtype and every input gradient."""
    tol = F64 if dtype == "float64" else F32
    grads = grads or (True,) * len(arrays)
    ours = [tg.tensor(a.astype(dtype), requires_grad=g) for a, g in zip(arrays, grads,
                                                                          strict=True)]
    theirs = [torch.tensor(a.astype(dtype), requires_grad=g) for a, g in zip(arrays, grads,
                                                                               strict=True)]
    y, yt = fn(tg, *ours), fn(torch, *theirs)
    assert tuple(y.shape) == tuple(yt.shape)
    assert y.dtype.name == str(yt.dtype).split(".")[-1]
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), **tol)
    seed = np.random.default_rng(7).standard_normal(tuple(yt.shape)).astype(dtype)
    y.backward(tg.tensor(seed))
    yt.backward(torch.tensor(seed))
    for a, b in zip(ours, theirs, strict=True):
        if not b.requires_grad:
            assert a.grad is None
            continue
        assert tuple(a.grad.shape) == tuple(b.shape) and a.grad.dtype is a.dtype
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("sa", "sb"), SHAPES, ids=[f"{a}x{b}" for a, b in SHAPES])
def test_matmul_matches_torch(sa, sb, dtype, rng):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    compare(lambda lib, x, y: x @ y, a, b, dtype=dtype)
    compare(lambda lib, x, y: lib.matmul(x, y), a, b, dtype=dtype, grads=(True, False))
    compare(lambda lib, x, y: x.matmul(y), a, b, dtype=dtype, grads=(False, True))


def test_broadcast_batch_gradient_is_summed_back():
    a = tg.ones(1, 2, 3, requires_grad=True)
    b = tg.ones(5, 3, 4, requires_grad=True)
    (a @ b).sum().backward()
    assert tuple(a.grad.shape) == (1, 2, 3)
    np.testing.assert_array_equal(a.grad.numpy(), np.full((1, 2, 3), 20.0))  # 5 batches x 4
    np.testing.assert_array_equal(b.grad.numpy(), np.full((5, 3, 4), 2.0))


@pytest.mark.parametrize(("name", "fn", "shapes"), [
    ("mm", lambda lib, a, b: lib.mm(a, b), [(2, 3), (3, 4)]),
    ("bmm", lambda lib, a, b: lib.bmm(a, b), [(4, 2, 3), (4, 3, 5)]),
    ("dot", lambda lib, a, b: lib.dot(a, b), [(5,), (5,)]),
    ("mv", lambda lib, a, b: lib.mv(a, b), [(2, 3), (3,)]),
    ("outer", lambda lib, a, b: lib.outer(a, b), [(3,), (4,)]),
    ("ger", lambda lib, a, b: lib.ger(a, b), [(3,), (2,)]),
    ("addmm row bias", lambda lib, c, a, b: lib.addmm(c, a, b), [(4,), (2, 3), (3, 4)]),
    ("addmm beta alpha", lambda lib, c, a, b: lib.addmm(c, a, b, beta=0.5, alpha=-2.0),
     [(2, 1), (2, 3), (3, 4)]),
    ("addmm method", lambda lib, c, a, b: c.addmm(a, b), [(2, 4), (2, 3), (3, 4)]),
    ("t", lambda lib, a: a.t(), [(2, 3)]),
    ("t 1-d", lambda lib, a: lib.t(a), [(3,)]),
    ("T", lambda lib, a: a.T, [(2, 3)]),
    ("mT", lambda lib, a: a.mT, [(4, 2, 3)]),
    ("method mm", lambda lib, a, b: a.mm(b), [(2, 3), (3, 1)]),
    ("method dot", lambda lib, a, b: a.dot(b), [(2,), (2,)]),
])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_ops_match_torch(name, fn, shapes, dtype, rng):
    compare(fn, *(rng.standard_normal(s) for s in shapes), dtype=dtype)


def test_outer_promotes_dtypes_like_torch():
    y = tg.outer(tg.ones(2, dtype=tg.float32), tg.ones(3, dtype=tg.float64))
    assert y.dtype is tg.float64 and tuple(y.shape) == (2, 3)


def test_addmm_with_beta_zero_ignores_the_bias():
    bias = tg.tensor([float("nan"), 1.0], requires_grad=True)
    a, b = tg.ones(2, 3), tg.ones(3, 2)
    y = tg.addmm(bias, a, b, beta=0)
    np.testing.assert_array_equal(y.detach().numpy(), np.full((2, 2), 3.0))
    y.sum().backward()
    np.testing.assert_array_equal(bias.grad.numpy(), [0.0, 0.0])


def test_node_names_match_torch(rng):
    def names(lib, sa, sb):
        a = lib.tensor(rng.standard_normal(sa), requires_grad=True)
        b = lib.tensor(rng.standard_normal(sb), requires_grad=True)
        return type((a @ b).grad_fn).__name__

    for sa, sb in [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (3, 4))]:
        assert names(tg, sa, sb) == names(torch, sa, sb)
    # torch records the general case as views around bmm/mm; tapegrad as one entry
    assert names(tg, (5, 2, 3), (5, 3, 4)) == "MatmulBackward0"
    x = tg.ones(2, 3, 4, requires_grad=True)
    m = tg.ones(2, 3, requires_grad=True)
    assert type(tg.bmm(x, x.mT).grad_fn).__name__ == "BmmBackward0"
    assert type(m.t().grad_fn).__name__ == "TBackward0"
    assert type(m.T.grad_fn).__name__ == "PermuteBackward0"
    assert type(x.mT.grad_fn).__name__ == "TransposeBackward0"
    assert type(tg.addmm(tg.ones(3), m, tg.ones(3, 3)).grad_fn).__name__ == "AddmmBackward0"
    assert type(tg.outer(m[0], m[1]).grad_fn).__name__ == "MulBackward0"


def test_integer_matmul_matches_torch():
    a = np.arange(6).reshape(2, 3)
    b = np.arange(12).reshape(3, 4)
    for x, y in [(a, b), (a[0], b), (a, b[:, 0]), (a[0], a[1])]:
        got = tg.tensor(x) @ tg.tensor(y)
        want = torch.tensor(x) @ torch.tensor(y)
        assert got.dtype is tg.int64 and not got.requires_grad
        np.testing.assert_array_equal(got.numpy(), want.numpy())


# ---------------------------------------------------------------- errors
def _raise(fn):
    try:
        fn()
    except Exception as exc:  # we compare whatever torch raises
        return type(exc), str(exc)
    raise AssertionError("no exception raised")


def _make(lib, shape, dtype="float64", grad=False):
    t = lib.zeros(shape, dtype=getattr(lib, dtype))
    return t.requires_grad_() if grad else t


MATMUL_ERRORS = [
    # (shape a, shape b, dtype a, dtype b, a requires grad)
    ((), (3,), "float64", "float64", False),
    ((3,), (), "float64", "float64", False),
    ((3,), (4,), "float64", "float64", False),
    ((2, 3), (4,), "float64", "float64", False),
    ((3,), (4, 5), "float64", "float64", False),
    ((2, 3), (4, 5), "float64", "float64", False),
    ((5, 2, 3), (4, 4), "float64", "float64", False),
    ((6, 5, 2, 3), (4, 4), "float64", "float64", False),
    ((5, 2, 3), (4,), "float64", "float64", False),
    ((2, 3), (5, 4, 4), "float64", "float64", False),
    ((2, 3), (5, 4, 4), "float64", "float64", True),
    ((3,), (5, 4, 4), "float64", "float64", False),
    ((3,), (5, 4, 4), "float64", "float64", True),
    ((2, 3), (6, 5, 4, 4), "float64", "float64", True),
    ((2, 5, 2, 3), (5, 4, 4), "float64", "float64", False),
    ((2, 1, 2, 3), (1, 5, 4, 4), "float64", "float64", False),
    ((2, 3, 2, 3), (1, 5, 3, 4), "float64", "float64", False),
    ((3, 2, 3), (5, 3, 4), "float64", "float64", False),
    ((2, 3), (3, 4), "float32", "float64", False),
    ((3,), (3,), "float32", "float64", False),
    ((2, 3), (3,), "float32", "float64", False),
    ((2, 3), (3,), "float64", "float32", False),
    ((5, 2, 3), (5, 3, 4), "float32", "float64", False),
    ((5, 2, 3), (5, 3, 4), "float64", "float32", False),
    ((5, 2, 3), (3, 4), "float32", "float64", False),
    ((2, 3), (5, 3, 4), "float32", "float64", False),
    ((2, 3), (5, 3, 4), "float32", "float64", True),
    ((3,), (3, 4), "float32", "float64", False),
    ((2, 3), (3, 4), "int32", "int64", False),
    ((2, 3), (3, 4), "float16", "float64", False),
    ((2, 3), (3, 4), "int16", "int8", False),
    ((2, 3), (3, 4), "uint8", "float64", False),
    ((2, 3), (3, 4), "int64", "float64", False),
    ((2, 3), (3, 4), "bool", "bool", False),
    ((3,), (3,), "bool", "bool", False),
]


@pytest.mark.parametrize("case", MATMUL_ERRORS, ids=[str(c) for c in MATMUL_ERRORS])
def test_matmul_errors_match_torch(case):
    sa, sb, da, db, grad = case

    def run(lib):
        return _make(lib, sa, da, grad) @ _make(lib, sb, db)

    want_type, want = _raise(lambda: run(torch))
    got_type, got = _raise(lambda: run(tg))
    assert got_type is want_type and got == want.replace("torch", "tapegrad")


OTHER_ERRORS = {
    "mm 3-d": lambda lib: lib.mm(_make(lib, (2, 3, 3)), _make(lib, (3, 5))),
    "mm 1-d rhs": lambda lib: lib.mm(_make(lib, (2, 3)), _make(lib, (3,))),
    "mm shapes": lambda lib: lib.mm(_make(lib, (2, 3)), _make(lib, (4, 5))),
    "mm dtypes": lambda lib: lib.mm(_make(lib, (2, 3), "float32"), _make(lib, (3, 5))),
    "mm shapes before dtypes": lambda lib: lib.mm(_make(lib, (2, 3), "float32"),
                                                  _make(lib, (4, 5))),
    "bmm 2-d": lambda lib: lib.bmm(_make(lib, (2, 3)), _make(lib, (5, 3, 4))),
    "bmm 2-d rhs": lambda lib: lib.bmm(_make(lib, (5, 2, 3)), _make(lib, (3, 4))),
    "bmm batch": lambda lib: lib.bmm(_make(lib, (5, 2, 3)), _make(lib, (4, 3, 4))),
    "bmm inner": lambda lib: lib.bmm(_make(lib, (5, 2, 3)), _make(lib, (5, 4, 4))),
    "bmm dtypes": lambda lib: lib.bmm(_make(lib, (5, 2, 3), "float32"), _make(lib, (5, 3, 4))),
    "bmm bool": lambda lib: lib.bmm(_make(lib, (1, 2, 3), "bool"),
                                    _make(lib, (1, 3, 4), "bool")),
    "dot 2-d": lambda lib: lib.dot(_make(lib, (3, 1)), _make(lib, (3,))),
    "dot 0-d": lambda lib: lib.dot(_make(lib, (3,)), _make(lib, ())),
    "dot sizes": lambda lib: lib.dot(_make(lib, (3,)), _make(lib, (4,))),
    "dot dtypes before sizes": lambda lib: lib.dot(_make(lib, (3,), "float32"),
                                                   _make(lib, (4,))),
    "mv 1-d": lambda lib: lib.mv(_make(lib, (3,)), _make(lib, (3,))),
    "mv 2-d vec": lambda lib: lib.mv(_make(lib, (2, 3)), _make(lib, (3, 1))),
    "mv sizes": lambda lib: lib.mv(_make(lib, (2, 3)), _make(lib, (4,))),
    "mv bool": lambda lib: lib.mv(_make(lib, (2, 3), "bool"), _make(lib, (3,), "bool")),
    "outer 2-d": lambda lib: lib.outer(_make(lib, (3, 1)), _make(lib, (4,))),
    "outer 2-d rhs": lambda lib: lib.outer(_make(lib, (3,)), _make(lib, (2, 2))),
    "outer 0-d": lambda lib: lib.outer(_make(lib, ()), _make(lib, (2,))),
    "addmm bias": lambda lib: lib.addmm(_make(lib, (3,)), _make(lib, (2, 3)),
                                       _make(lib, (3, 4))),
    "addmm 1-d": lambda lib: lib.addmm(_make(lib, (4,)), _make(lib, (3,)), _make(lib, (3, 4))),
    "addmm bias dtype": lambda lib: lib.addmm(_make(lib, (4,), "float32"), _make(lib, (2, 3)),
                                              _make(lib, (3, 4))),
    "addmm mat dtype": lambda lib: lib.addmm(_make(lib, (4,)), _make(lib, (2, 3), "float32"),
                                             _make(lib, (3, 4))),
    "t 3-d": lambda lib: _make(lib, (2, 3, 4)).t(),
    "mT 1-d": lambda lib: _make(lib, (3,)).mT,
    "matmul scalar": lambda lib: lib.matmul(_make(lib, (3,)), 2),
    "@ scalar": lambda lib: _make(lib, (3,)) @ 2,
    "scalar @": lambda lib: 2 @ _make(lib, (3,)),
}


@pytest.mark.parametrize("name", list(OTHER_ERRORS))
def test_other_errors_match_torch(name):
    want_type, want = _raise(lambda: OTHER_ERRORS[name](torch))
    got_type, got = _raise(lambda: OTHER_ERRORS[name](tg))
    assert got_type is want_type
    assert got == want.replace("torch", "tapegrad")


# ---------------------------------------------------------------- transposes
# torch's texts (it warns once per process, so they are spelled out, not captured)
T_0D = ("Tensor.T is deprecated on 0-D tensors. This function is the identity in these "
        "cases.")
T_ND = ("The use of `x.T` on tensors of dimension other than 2 to reverse their shape is "
        "deprecated and it will throw an error in a future release. Consider `x.mT` to "
        "transpose batches of matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` to "
        "reverse the dimensions of a tensor.")


@pytest.mark.parametrize(("shape", "message"), [((), T_0D), ((3,), T_ND), ((2, 3, 4), T_ND),
                                                 ((2, 3), None)])
def test_T_warns_like_torch_off_matrices(shape, message):
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        got = _make(tg, shape).T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _make(torch, shape).T
    assert tuple(got.shape) == tuple(want.shape)
    assert [str(w.message) for w in ours] == ([] if message is None else [message])
    if message is not None:
        assert ours[0].filename == __file__  # points at the caller


def test_t_and_T_are_views():
    x = tg.arange(6.0).reshape(2, 3)
    y = x.t()
    assert tuple(y.shape) == (3, 2) and y[0, 1].item() == 3.0
    x.mul_(2)
    assert y[0, 1].item() == 6.0 and y._version == x._version
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert tg.tensor(2.0).t().item() == 2.0
        assert tuple(tg.ones(2, 3, 4).T.shape) == (4, 3, 2)


# ---------------------------------------------------------------- double backward
def check_double_backward(fn, *arrays: np.ndarray):
    """Differentiate ``<grads of fn . v, w>`` w.r.t. every input and v, in both libraries."""
    rng = np.random.default_rng(5)
    ws = [rng.standard_normal(a.shape) for a in arrays]
    v = None
    results = []
    for lib in (tg, torch):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        y = fn(lib, *xs)
        if v is None:
            v = rng.standard_normal(tuple(y.shape))
        vt = lib.tensor(v, requires_grad=True)
        gs = lib.autograd.grad(y, xs, grad_outputs=[vt], create_graph=True)
        total = sum((g * lib.tensor(w)).sum() for g, w in zip(gs, ws, strict=True))
        ggs = lib.autograd.grad(total, xs + [vt], allow_unused=True)
        results.append([g.detach().numpy() for g in gs] + [
            np.zeros(tuple(t.shape)) if gg is None else gg.detach().numpy()
            for t, gg in zip(xs + [vt], ggs, strict=True)])
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs, **F64)


@pytest.mark.parametrize(("sa", "sb"), [s for s in SHAPES if 0 not in s[0] + s[1]],
                         ids=[f"{a}x{b}" for a, b in SHAPES if 0 not in a + b])
def test_matmul_double_backward_matches_torch(sa, sb, rng):
    check_double_backward(lambda lib, a, b: (a @ b) * (a @ b), rng.standard_normal(sa),
                          rng.standard_normal(sb))


@pytest.mark.parametrize(("fn", "shapes"), [
    (lambda lib, a, b: lib.mm(a, b).pow(2), [(2, 3), (3, 4)]),
    (lambda lib, a, b: lib.bmm(a, b).pow(2), [(2, 2, 3), (2, 3, 4)]),
    (lambda lib, a, b: lib.mv(a, b).pow(2), [(2, 3), (3,)]),
    (lambda lib, a, b: lib.dot(a, b).pow(2), [(3,), (3,)]),
    (lambda lib, a, b: lib.outer(a, b).pow(2), [(3,), (2,)]),
    (lambda lib, c, a, b: lib.addmm(c, a, b, alpha=0.5).pow(2), [(4,), (2, 3), (3, 4)]),
    (lambda lib, a: (a.t() @ a).pow(2), [(2, 3)]),
])
def test_double_backward_matches_torch(fn, shapes, rng):
    check_double_backward(fn, *(rng.standard_normal(s) for s in shapes))
