"""Indexing vs torch: x[...] (basic views and advanced copies), x[...] = v, index_put,
select/narrow, iteration; views, versions, errors, double backward.

gather/scatter, index_select/index_add, take, masked ops and nonzero are in
test_indexing_gather_scatter.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from torch_check import check, leaves, raises_like

import tapegrad as tg

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
