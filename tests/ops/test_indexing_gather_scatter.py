"""gather/scatter, index_select/index_add, take, masked ops and nonzero vs torch: values,
grads, node names, in-place versions, errors, double backward."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_check import check, raises_like

import tapegrad as tg

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
