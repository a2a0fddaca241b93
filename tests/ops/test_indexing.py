"""Indexing vs torch: x[...] (basic views and advanced copies), x[...] = v, gather/scatter,
index_select/index_add, take, masked ops, nonzero; views, versions, errors, double backward."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import tapegrad as tg

TOL = {"float64": dict(rtol=1e-10, atol=1e-12), "float32": dict(rtol=1e-5, atol=1e-6)}


def leaves(arrays: tuple, dtype: str) -> tuple[list, list]:
    """tapegrad and torch copies: float arrays in ``dtype`` requiring grad, others as is."""
    ours, theirs = [], []
    for a in arrays:
        if isinstance(a, np.ndarray):
            if a.dtype.kind == "f":
                a = a.astype(dtype)
            ours.append(tg.tensor(a.copy(), requires_grad=a.dtype.kind == "f"))
            theirs.append(torch.tensor(a.copy(), requires_grad=a.dtype.kind == "f"))
        else:
            ours.append(a)
            theirs.append(a)
    return ours, theirs


def assert_close(got: Any, want: Any, dtype: str = "float64") -> None:
    assert isinstance(got, tg.Tensor), type(got)
    w = want.detach().numpy()
    assert tuple(got.shape) == tuple(w.shape), (got.shape, w.shape)
    assert got.dtype.name == str(want.dtype).replace("torch.", ""), (got.dtype, want.dtype)
    np.testing.assert_allclose(got.detach().numpy(), w, **TOL[dtype])


def _flat(out: Any) -> list:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def check(fn: Callable[..., Any], *arrays: Any, dtype: str = "float64", seed: int = 0,
          node: str | None = None) -> tuple:
    """Forward values, shapes, dtypes, node name (``node``) and input grads vs torch."""
    ours, theirs = leaves(arrays, dtype)
    got, want = fn(tg, *ours), fn(torch, *theirs)
    got_l, want_l = _flat(got), _flat(want)
    assert len(got_l) == len(want_l)
    for g, w in zip(got_l, want_l, strict=True):
        assert_close(g, w, dtype)
    if node is not None:
        assert got_l[0].grad_fn.name() == node == type(want_l[0].grad_fn).__name__
    rng = np.random.default_rng(seed)
    pairs = [(g, w) for g, w in zip(got_l, want_l, strict=True) if w.requires_grad]
    if pairs:
        seeds = [rng.standard_normal(tuple(w.shape)).astype(dtype) for _, w in pairs]
        torch.autograd.backward([w for _, w in pairs], [torch.tensor(s) for s in seeds])
        tg.autograd.backward([g for g, _ in pairs], [tg.tensor(s) for s in seeds])
        for a, b in zip(ours, theirs, strict=True):
            if isinstance(b, torch.Tensor) and b.requires_grad:
                if b.grad is None:
                    assert a.grad is None or not a.grad.numpy().any()
                else:
                    assert_close(a.grad, b.grad, dtype)
    return got, want


def raises_like(fn: Callable[..., Any], *arrays: Any) -> str:
    """Both libraries raise the same exception type with the same message (modulo name)."""
    ours, theirs = leaves(arrays, "float64")
    try:
        fn(torch, *theirs)
    except Exception as e:  # noqa: BLE001 - any exception type, compared below
        want_type, want_msg = type(e), str(e)
    else:
        raise AssertionError("torch did not raise")
    try:
        fn(tg, *ours)
    except Exception as e:  # noqa: BLE001
        assert type(e) is want_type, (type(e), want_type, str(e))
        assert str(e).replace("tapegrad", "torch") == want_msg.split("\nException raised")[0], (
            str(e), want_msg)
        return str(e)
    raise AssertionError(f"tapegrad did not raise {want_type.__name__}: {want_msg}")


# ---------------------------------------------------------------- __getitem__
X = np.random.default_rng(1).standard_normal((4, 3, 5))

GETITEM = {
    "int": lambda L, x: x[1],
    "negative int": lambda L, x: x[-1, -2],
    "int chain": lambda L, x: x[0][1][2],
    "slice": lambda L, x: x[1:3],
    "bare full slice": lambda L, x: x[:],
    "steps": lambda L, x: x[::2, 1:, ::3],
    "negative bounds": lambda L, x: x[-3:-1, :-1],
    "out of range slice": lambda L, x: x[2:100, 5:7],
    "empty slice": lambda L, x: x[3:1],
    "None": lambda L, x: x[None, :, None],
    "ellipsis": lambda L, x: x[..., 1],
    "ellipsis None": lambda L, x: x[..., None, 0],
    "ellipsis only": lambda L, x: x[...],
    "all full slices": lambda L, x: x[:, :, :],
    "empty tuple": lambda L, x: x[()],
    "int list": lambda L, x: x[[0, 2, 3]],
    "repeated": lambda L, x: x[[1, 1, 0, 1]],
    "negative list": lambda L, x: x[:, [-1, 0, -1]],
    "2-d index": lambda L, x: x[L.tensor([[0, 1], [3, 3]])],
    "two arrays": lambda L, x: x[[0, 1, 1], [2, 0, 0]],
    "broadcast arrays": lambda L, x: x[L.tensor([[0], [3]]), L.tensor([1, 2, 2])],
    "arrays split by slice": lambda L, x: x[[0, 1], :, [4, 4]],
    "int then slice then array": lambda L, x: x[0, :, [1, 2]],
    "array slice array int": lambda L, x: x[[0, 1], 1:, 2],
    "array None array": lambda L, x: x[[0, 1], None, [0, 2]],
    "bool mask": lambda L, x: x[x > 0],
    "bool mask 1-d": lambda L, x: x[L.tensor([True, False, True, True])],
    "bool mask 2-d + slice": lambda L, x: x[x[:, :, 0] > 0, 1:],
    "bool mask after slice": lambda L, x: x[:, L.tensor([False, True, True])],
    "empty mask": lambda L, x: x[L.zeros(4, dtype=L.bool)],
    "python True": lambda L, x: x[True],
    "python False": lambda L, x: x[False],
    "True in tuple": lambda L, x: x[0, True],
    "0-d int tensor": lambda L, x: x[L.tensor(2)],
    "0-d tensors": lambda L, x: x[L.tensor(1), L.tensor(2)],
    "int32 index": lambda L, x: x[L.tensor([3, 0], dtype=L.int32)],
    "empty list": lambda L, x: x[[]],
    "numpy index": lambda L, x: x[np.array([2, 0])],
    "numpy mask": lambda L, x: x[np.array([True, False, False, True])],
    "numpy int": lambda L, x: x[np.int64(3)],
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(GETITEM))
def test_getitem_matches_torch(name, dtype):
    got, want = check(GETITEM[name], X, dtype=dtype)
    assert got.grad_fn.name() == type(want.grad_fn).__name__


def test_getitem_node_chain_matches_torch():
    def chain(t):
        out, f = [], t.grad_fn
        while f is not None and type(f).__name__ != "AccumulateGrad":
            out.append(type(f).__name__ if isinstance(f, torch.autograd.graph.Node)
                       else f.name())
            f = f.next_functions[0][0]
        return [n for n in out if n != "AccumulateGrad"]

    for fn in (lambda x: x[1:, ::2], lambda x: x[None, 0, None], lambda x: x[0, [0, 1]],
               lambda x: x[..., None, 0], lambda x: x[0:4, 0:3, 1], lambda x: x[True]):
        ours, theirs = leaves((X,), "float64")
        assert chain(fn(ours[0])) == chain(fn(theirs[0]))


def test_0d_tensor_indexing():
    for fn in (lambda L, z: z[None], lambda L, z: z[...], lambda L, z: z[True]):
        check(fn, np.array(1.5))
    raises_like(lambda L, z: z[0], np.array(1.5))
    raises_like(lambda L, z: z[:], np.array(1.5))


def test_basic_index_is_a_view_sharing_version_counter():
    x = tg.tensor(np.arange(12.0).reshape(3, 4))
    v = x[1, ::2]
    assert v._base is x and np.shares_memory(v.numpy(), x.numpy())
    x.add_(1.0)
    assert v._version == x._version == 1
    assert v.tolist() == [5.0, 7.0]
    v.mul_(0.0)
    assert x._version == 2 and x[1].tolist() == [0.0, 6.0, 0.0, 8.0]
    assert x[...]._base is x and x[None]._base is x
    e = tg.zeros(0, 3)[:, 1:]
    assert e._base is not None  # even an empty view shares the counter


def test_advanced_index_copies():
    x = tg.arange(6.0)
    y = x[[0, 1]]
    assert y._base is None and not np.shares_memory(y.numpy(), x.numpy())
    x.add_(1.0)
    assert y._version == 0 and y.tolist() == [0.0, 1.0]


def test_inplace_through_view_invalidates_saved_base():
    # torch: a node that saved `a` sees the change made through the view `a[1:]`
    def run(L):
        w = L.ones(3, requires_grad=True)
        a = L.zeros(3)
        y = w * a
        a[1:].add_(1.0)
        y.backward(L.ones(3))

    with pytest.raises(RuntimeError) as want:
        run(torch)
    with pytest.raises(RuntimeError) as got:
        run(tg)
    prefix = str(want.value).split(" Hint")[0].replace("torch", "tapegrad")
    assert str(got.value).startswith(prefix)


def test_inplace_through_view_under_no_grad_invalidates_saved_output():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    with tg.no_grad():
        y[0] = 0.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward(tg.ones(2))


def test_repeated_indices_accumulate():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].backward(tg.tensor([1.0, 10.0, 100.0, 1000.0]))
    assert x.grad.tolist() == [1011.0, 0.0, 100.0]
    x.grad = None
    x[tg.tensor([[1, 1], [1, 1]])].backward(tg.ones(2, 2))
    assert x.grad.tolist() == [0.0, 4.0, 0.0]


GETITEM_ERRORS = [
    lambda L, x: x[4],
    lambda L, x: x[0, 3],
    lambda L, x: x[None, 0, 5],
    lambda L, x: x[..., 5],
    lambda L, x: x[[4]],
    lambda L, x: x[:, [3]],
    lambda L, x: x[[0], [-4]],
    lambda L, x: x[0, 0, 0, 0],
    lambda L, x: x[::-1],
    lambda L, x: x[::0],
    lambda L, x: x[1.5],
    lambda L, x: x[L.tensor([1.0])],
    lambda L, x: x[L.tensor([True, False])],
    lambda L, x: x[:, L.tensor([True, False])],
    lambda L, x: x[[0, 1], [0, 1, 2]],
]


@pytest.mark.parametrize("k", range(len(GETITEM_ERRORS)))
def test_getitem_errors_match_torch(k):
    raises_like(GETITEM_ERRORS[k], X)


def test_double_backward_of_getitem():
    for fn in (lambda x: x[[0, 0, 2], 1:], lambda x: x[1, ::2], lambda x: x[x > 0]):
        results = []
        for L in (tg, torch):
            x = L.tensor(X[:3, :, 0].copy(), requires_grad=True)
            y = fn(x)
            gy = L.tensor(np.arange(1.0, 1.0 + y.numel()).reshape(tuple(y.shape)),
                          requires_grad=True)
            (gx,) = L.autograd.grad(y, x, gy, create_graph=True)
            w = L.tensor(np.linspace(-1, 1, 9).reshape(3, 3))
            (ggy,) = L.autograd.grad(gx, gy, w)
            results.append((gx.detach().numpy(), ggy.numpy()))
        for a, b in zip(results[0], results[1], strict=True):
            np.testing.assert_allclose(a, b)


# ---------------------------------------------------------------- __setitem__
def _set(index: Any, value_arg: bool = True) -> Callable:
    def fn(L, x, v=None):
        y = x * 1.0
        y[index] = v if value_arg else 2.5
        return y
    return fn


SETITEM = {
    "int row": (0, (5,)),
    "slice": ((slice(1, 3), slice(None, None, 2)), (2, 3)),
    "broadcast value": ((slice(1, 3), slice(None, None, 2)), (1, 3)),
    "extra leading ones": (1, (1, 1, 5)),
    "ellipsis": (Ellipsis, (5,)),
    "None": (None, (4, 5)),
    "advanced": ([0, 2], (2, 5)),
    "advanced repeated": ([1, 1, 3], (5,)),
    "advanced 2 arrays": (([0, 1, 1], [4, 0, 0]), (3,)),
    "mixed": ((1, [0, 2]), ()),
    "mask": ("mask", (1,)),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(SETITEM))
def test_setitem_matches_torch(name, dtype):
    index, vshape = SETITEM[name]
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 5))
    if index == "mask":
        index = x > 0.3

        def fn(L, x, v):
            y = x * 1.0
            y[L.tensor(index)] = v
            return y
    else:
        fn = _set(index)
    got, want = check(fn, x, rng.standard_normal(vshape), dtype=dtype)
    assert got.grad_fn.name() == type(want.grad_fn).__name__


def test_setitem_number_and_versions():
    def fn(L, x):
        y = x * 1.0
        y[1:, 0] = 7.0
        y[[0, 0]] = -1.0
        return y

    got, want = check(fn, X[:, :, 0])
    y = tg.zeros(3)
    y[0] = 1.0
    y[[1]] = 2.0
    assert y._version == 2 and y.tolist() == [1.0, 2.0, 0.0]
    assert y.grad_fn is None and not y.requires_grad


def test_setitem_makes_a_plain_tensor_require_grad():
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = tg.zeros(2, 3)
    a[0] = w
    assert a.grad_fn.name() == "CopySlices" and a.requires_grad and a._version == 1
    a[1] = w * 2.0
    a.backward(tg.tensor([[1.0, 1.0, 1.0], [10.0, 10.0, 10.0]]))
    assert w.grad.tolist() == [21.0, 21.0, 21.0]


def test_setitem_value_dtype_is_cast_for_basic_and_checked_for_advanced():
    def basic(L, x):
        y = L.zeros(2, 3, dtype=L.int64)
        y[0] = x
        return y

    a = np.array([1.7, -2.2, 3.9])
    got, want = basic(tg, tg.tensor(a)), basic(torch, torch.tensor(a))
    assert got.dtype == tg.int64 and got.tolist() == want.tolist()
    raises_like(lambda L, v: L.zeros(3).__setitem__([0], v), np.array([1.0]))  # Double -> Float


SETITEM_ERRORS = [
    lambda L, x, v: x.__setitem__(0, v),
    lambda L, x, v: x.__setitem__([0], v),
    lambda L, x, v: x.__setitem__((0, [1]), v),
    lambda L, x, v: x.__setitem__(..., v),
    lambda L, x, v: (x * 1).__setitem__(0, L.ones(2)),
    lambda L, x, v: (x * 1).__setitem__([0, 1], L.ones(3, 3)),
    lambda L, x, v: (x * 1).__setitem__(L.tensor([True, False]), L.ones(3)),
    lambda L, x, v: (x * 1).__setitem__(7, 1.0),
    lambda L, x, v: (x * 1).__setitem__(slice(None, None, -1), 1.0),
]


@pytest.mark.parametrize("k", range(len(SETITEM_ERRORS)))
def test_setitem_errors_match_torch(k):
    raises_like(SETITEM_ERRORS[k], X[:2, :4, 0].copy(), np.ones(4))


def test_setitem_under_no_grad_on_leaf():
    for L in (tg, torch):
        z = L.zeros(3, requires_grad=True)
        with L.no_grad():
            z[0] = 1.0
        assert z._version == 1 and z.tolist() == [1.0, 0.0, 0.0] and z.is_leaf


def test_index_put_matches_torch():
    i = np.array([0, 0, 2])
    check(lambda L, x, v, i: x.index_put((i,), v, accumulate=True), X[:3, 0, :2].copy(),
          np.ones((3, 2)), i, node="IndexPutBackward0")
    check(lambda L, x, v, i: (x * 1).index_put_((i, i), v), X[:3, 0, :3].copy(),
          np.ones(1), np.array([0, 1, 2]))
    check(lambda L, x, v: x.index_put((L.tensor([True, False, True]),), v),
          X[:3, 0, :2].copy(), np.ones(2))


# ---------------------------------------------------------------- select / narrow
def test_select_and_narrow():
    check(lambda L, x: x.select(1, -1), X, node="SelectBackward0")
    check(lambda L, x: L.select(x, 0, 2), X)
    check(lambda L, x: x.narrow(2, 1, 3), X, node="SliceBackward0")
    check(lambda L, x: L.narrow(x, -1, -2, 2), X)
    check(lambda L, x: x.narrow(1, 3, 0), X)
    for fn in (lambda L, x: x.select(1, 5), lambda L, x: x.narrow(1, 4, 0),
               lambda L, x: x.narrow(1, -4, 1), lambda L, x: x.narrow(1, 1, -1),
               lambda L, x: x.narrow(1, 2, 2), lambda L, x: x[0, 0, 0].select(0, 0),
               lambda L, x: x[0, 0, 0].narrow(0, 0, 1)):
        raises_like(fn, X)
    v = tg.tensor(X).narrow(0, 1, 2)
    assert v._base is not None


def test_iteration_uses_select():
    x = tg.tensor(X[:2, :2, 0].copy(), requires_grad=True)
    rows = list(x)
    assert [r.grad_fn.name() for r in rows] == ["SelectBackward0"] * 2
    rows[1].backward(tg.ones(2))
    assert x.grad.tolist() == [[0.0, 0.0], [1.0, 1.0]]


# ---------------------------------------------------------------- gather / scatter family
A = np.random.default_rng(3).standard_normal((3, 4))
IDX = np.array([[0, 1], [2, 0], [3, 3]])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gather_scatter_family_matches_torch(dtype):
    i01 = np.array([[0, 1, 2, 0], [2, 2, 1, 0]])
    cases = [
        (lambda L, x, i: x.gather(1, i), (A, IDX), "GatherBackward0"),
        (lambda L, x, i: L.gather(x, 0, i), (A, i01[:, :3]), "GatherBackward0"),
        (lambda L, x, i: x.gather(-1, i), (A, IDX[:2, :1]), "GatherBackward0"),
        (lambda L, x, i: x.gather(1, i), (A, np.zeros((3, 0), np.int64)), "GatherBackward0"),
        (lambda L, x, i, s: x.scatter_add(1, i, s), (A, IDX, A[:, :2] * 2),
         "ScatterAddBackward0"),
        (lambda L, x, i, s: L.scatter_add(x, 0, i, s), (A, i01, A[:2] + 1),
         "ScatterAddBackward0"),
        (lambda L, x, i, s: x.scatter(1, i, s), (A, IDX[:, :1], A[:, :1]), "ScatterBackward0"),
        (lambda L, x, i: x.scatter(1, i, 2.5), (A, IDX), "ScatterBackward1"),
        (lambda L, x, i, s: (x * 1).scatter_(1, i, s), (A, IDX[:, :1], A[:, 1:2]),
         "ScatterBackward0"),
        (lambda L, x, i, s: (x * 1).scatter_add_(0, i, s), (A, i01, A[:2]),
         "ScatterAddBackward0"),
        (lambda L, x, i: x.index_select(1, i), (A, np.array([3, 0, 3])), "IndexSelectBackward0"),
        (lambda L, x, i: L.index_select(x, 0, i), (A, np.array(2)), "IndexSelectBackward0"),
        (lambda L, x, i, s: x.index_add(1, i, s), (A, np.array([1, 1]), A[:, :2]),
         "IndexAddBackward0"),
        (lambda L, x, i, s: L.index_add(x, 0, i, s, alpha=-2.0), (A, np.array([2, 0, 2]), A),
         "IndexAddBackward0"),
        (lambda L, x, i, s: (x * 1).index_add_(1, i, s), (A, np.array([0]), A[:, :1]),
         "IndexAddBackward0"),
        (lambda L, x, i: L.take(x, i), (A, np.array([[0, 11], [-1, 0]])), "TakeBackward0"),
        (lambda L, x, i: L.take_along_dim(x, i, 1), (A, IDX), "GatherBackward0"),
        (lambda L, x, i: L.take_along_dim(x, i, 0), (A, np.array([[2], [0]])),
         "GatherBackward0"),
        (lambda L, x, i: L.take_along_dim(x, i), (A, np.array([11, 0])), "GatherBackward0"),
        (lambda L, x: x.masked_fill(x > 0, 0.5), (A,), "MaskedFillBackward0"),
        (lambda L, x: L.masked_fill(x, L.tensor([True, False, False, True]), -1.0), (A,),
         "MaskedFillBackward0"),
        (lambda L, x, v: x.masked_fill(x < 0, v), (A, np.array(3.0)), "MaskedFillBackward1"),
        (lambda L, x: x[0].masked_fill(L.tensor(np.tri(3, 4) > 0), 0.0), (A,),
         "MaskedFillBackward0"),
        (lambda L, x: (x * 1).masked_fill_(x > 0, 0.0), (A,), "MaskedFillBackward0"),
        (lambda L, x: x.masked_select(x > 0), (A,), "MaskedSelectBackward0"),
        (lambda L, x: x[0].masked_select(L.tensor([[True], [False]])), (A,),
         "MaskedSelectBackward0"),
    ]
    for fn, args, node in cases:
        check(fn, *args, dtype=dtype, node=node)


def test_scatter_with_src_larger_than_index():
    # torch's forward reads src[:index.shape]; its backward cannot return that gradient
    # ("returned an invalid gradient"), tapegrad pads it with zeros.
    i, s = np.array([[0, 1], [2, 0], [3, 3]]), np.arange(12.0).reshape(3, 4)
    for name in ("scatter", "scatter_add"):
        got = getattr(tg.tensor(A), name)(1, tg.tensor(i), tg.tensor(s))
        want = getattr(torch.tensor(A), name)(1, torch.tensor(i), torch.tensor(s))
        np.testing.assert_allclose(got.numpy(), want.numpy())
        src = tg.tensor(s, requires_grad=True)
        getattr(tg.tensor(A), name)(1, tg.tensor(i), src).backward(tg.tensor(A))
        expected = np.zeros((3, 4))
        expected[:, :2] = np.take_along_axis(A, i, 1)
        np.testing.assert_allclose(src.grad.numpy(), expected)


def test_scatter_one_hot_and_gather_repeats_accumulate():
    y = tg.tensor([2, 0, 1])
    assert tg.zeros(3, 3).scatter_(1, y[:, None], 1.0).tolist() == np.eye(3)[[2, 0, 1]].tolist()
    x = tg.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    x.gather(1, tg.tensor([[0, 0, 0, 2]])).backward(tg.tensor([[1.0, 2.0, 3.0, 4.0]]))
    assert x.grad.tolist() == [[6.0, 0.0, 4.0]]
    z = tg.tensor([1.0, 2.0], requires_grad=True)
    z.index_select(0, tg.tensor([1, 1, 1])).backward(tg.ones(3))
    assert z.grad.tolist() == [0.0, 3.0]


def test_scatter_family_inplace_bumps_version_and_checks_leaf():
    x = tg.zeros(2, 3)
    x.scatter_(1, tg.tensor([[0], [2]]), 1.0)
    x.index_add_(0, tg.tensor([0]), tg.ones(1, 3))
    x.masked_fill_(x > 1.5, -1.0)
    assert x._version == 3 and x.tolist() == [[-1.0, 1.0, 1.0], [0.0, 0.0, 1.0]]
    leaf = tg.zeros(2, 3, requires_grad=True)
    for fn in (lambda: leaf.scatter_(1, tg.tensor([[0], [2]]), 1.0),
               lambda: leaf.masked_fill_(leaf > 0, 1.0),
               lambda: leaf.index_add_(0, tg.tensor([0]), tg.ones(1, 3))):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            fn()


SCATTER_ERRORS = [
    lambda L, x: x.gather(0, L.tensor([[0, 1], [2, 0]]) + 2),
    lambda L, x: x.gather(1, L.tensor([[0, 1], [2, 0]]) - 1),
    lambda L, x: x.gather(1, L.tensor([0, 1])),
    lambda L, x: x.gather(1, L.zeros(4, 2, dtype=L.int64)),
    lambda L, x: x.gather(1, L.zeros(2, 2)),
    lambda L, x: x.scatter(1, L.zeros(2, 2), x),
    lambda L, x: x.scatter_add(1, L.tensor([0, 1]), x),
    lambda L, x: x.scatter_add(1, L.zeros(4, 2, dtype=L.int64), x),
    lambda L, x: x.scatter_add(1, L.zeros(2, 2, dtype=L.int64), x[:1, :1]),
    lambda L, x: x.scatter(1, L.zeros(4, 1, dtype=L.int64), 1.0),
    lambda L, x: x.scatter(1, L.tensor([[4]]), 1.0),
    lambda L, x: x.scatter(1, L.tensor([[0]]), x.float()),
    lambda L, x: x.index_select(1, L.tensor([[0, 1]])),
    lambda L, x: x.index_select(1, L.tensor([4])),
    lambda L, x: x.index_select(1, L.tensor([-1])),
    lambda L, x: x.index_select(1, L.tensor([1.0])),
    lambda L, x: x.index_add(1, L.tensor([0, 0]), x[:, :3]),
    lambda L, x: x.index_add(1, L.tensor([0, 1]), x[:2, :2]),
    lambda L, x: x.index_add(1, L.tensor([0, 4]), x[:, :2]),
    lambda L, x: x.index_add(1, L.tensor([0, 1]), x[:, :2].float()),
    lambda L, x: x.index_add(1, L.tensor([[0, 1]]), x[:, :2]),
    lambda L, x: x.index_add(1, L.tensor([0.0, 1.0]), x[:, :2]),
    lambda L, x: L.take(x, L.tensor([12])),
    lambda L, x: L.take(x, L.tensor([-13])),
    lambda L, x: L.take_along_dim(x, L.tensor([0]), 1),
    lambda L, x: L.take_along_dim(x, L.tensor([[0], [1]]), 1),
    lambda L, x: x.masked_fill(L.tensor([1, 0, 1, 0]), 1.0),
    lambda L, x: x.masked_fill(L.tensor([1.0, 0, 1, 0]), 1.0),
    lambda L, x: x.masked_fill(L.tensor([True, False]), 1.0),
    lambda L, x: x.masked_fill(x > 0, L.tensor([1.0])),
    lambda L, x: x[0].clone().masked_fill_(L.ones(3, 4, dtype=L.bool), 0.5),
    lambda L, x: x.masked_select(L.tensor([1, 0, 1, 0])),
]


@pytest.mark.parametrize("k", range(len(SCATTER_ERRORS)))
def test_scatter_family_errors_match_torch(k):
    raises_like(SCATTER_ERRORS[k], A)


def test_double_backward_of_gather_and_index_select():
    for fn in (lambda L, x: x.gather(1, L.tensor(IDX)),
               lambda L, x: x.index_select(0, L.tensor([2, 2, 0])),
               lambda L, x: L.take(x, L.tensor([1, 1, 5])),
               lambda L, x: x.masked_select(x > 0)):
        results = []
        for L in (tg, torch):
            x = L.tensor(A.copy(), requires_grad=True)
            y = fn(L, x)
            gy = L.tensor(np.arange(1.0, 1.0 + y.numel()).reshape(tuple(y.shape)),
                          requires_grad=True)
            (gx,) = L.autograd.grad(y, x, gy, create_graph=True)
            (ggy,) = L.autograd.grad(gx, gy, L.tensor(np.linspace(-1, 1, 12).reshape(3, 4)))
            results.append((gx.detach().numpy(), ggy.numpy(), type(gx.grad_fn).__name__
                            if L is torch else gx.grad_fn.name()))
        np.testing.assert_allclose(results[0][0], results[1][0])
        np.testing.assert_allclose(results[0][1], results[1][1])


def test_nonzero_and_argwhere():
    for a in (A > 0, np.array(0.0), np.array(2.0), np.zeros((2, 0)), np.array([0, 3, 0, 1])):
        got, want = tg.nonzero(tg.tensor(a)), torch.nonzero(torch.tensor(a))
        assert got.dtype == tg.int64 and got.tolist() == want.tolist()
        assert tuple(got.shape) == tuple(want.shape)
        got_t = tg.tensor(a).nonzero(as_tuple=True)
        want_t = torch.tensor(a).nonzero(as_tuple=True)
        assert [t.tolist() for t in got_t] == [t.tolist() for t in want_t]
        assert tg.argwhere(tg.tensor(a)).tolist() == torch.argwhere(torch.tensor(a)).tolist()
    x = tg.tensor([1.0, 0.0], requires_grad=True)
    assert not x.nonzero().requires_grad
