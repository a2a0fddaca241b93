"""Reduction edge cases against torch: tie conventions, NaN propagation, prod with zeros,
var/std with too few values, norm at zero, logsumexp stability, double backward."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from reduction_check import F64, check_against_torch, first, leaves

import tapegrad as tg


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


# ---------------------------------------------------------------- tie conventions
def _grad(fn, values):
    x = tg.tensor(values, requires_grad=True)
    first(fn(x)).sum().backward()
    return x.grad.numpy()


def test_full_max_splits_ties_evenly():
    np.testing.assert_array_equal(_grad(lambda x: x.max(), [1.0, 3.0, 3.0, 2.0]),
                                  [0, 0.5, 0.5, 0])
    np.testing.assert_allclose(_grad(lambda x: x.min(), [[2.0, -1.0], [-1.0, -1.0]]),
                               [[0, 1 / 3], [1 / 3, 1 / 3]])
    np.testing.assert_array_equal(_grad(lambda x: x.max(), [[7.0, 7.0], [7.0, 7.0]]),
                                  np.full((2, 2), 0.25))


def test_max_with_dim_sends_gradient_to_the_returned_index_only():
    x = [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]
    out = tg.tensor(x).max(1)
    assert out.indices.tolist() == [1, 0]  # the first occurrence, like torch
    np.testing.assert_array_equal(_grad(lambda t: t.max(1), x), [[0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(_grad(lambda t: t.min(0), x), [[1, 0, 0], [0, 1, 1]])


def test_amax_amin_split_ties_along_the_reduced_dims():
    x = [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]
    np.testing.assert_array_equal(_grad(lambda t: t.amax(1), x), [[0, 0.5, 0.5], [0.5, 0.5, 0]])
    np.testing.assert_allclose(_grad(lambda t: t.amax(), x), [[0, 0.5, 0.5], [0, 0, 0]])
    np.testing.assert_array_equal(_grad(lambda t: t.amin(0), x), [[1, 0, 0], [0, 1, 1]])


@pytest.mark.parametrize("fn", [
    lambda lib, x: x.max(), lambda lib, x: x.min(), lambda lib, x: x.max(0),
    lambda lib, x: x.min(1, keepdim=True), lambda lib, x: x.amax(1), lambda lib, x: x.amin(),
    lambda lib, x: x.amax((0, 1), keepdim=True), lambda lib, x: x.norm(float("inf"), 1),
])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_ties_match_torch(fn, dtype):
    x = np.array([[1.0, 3.0, 3.0, -3.0], [2.0, 2.0, -1.0, -1.0], [4.0, 4.0, 4.0, 4.0]])
    check_against_torch(fn, x, dtype=dtype)


@pytest.mark.parametrize("fn", [
    lambda lib, x: x.max(), lambda lib, x: x.min(), lambda lib, x: x.max(1),
    lambda lib, x: x.amax(1), lambda lib, x: x.argmax(1),
])
def test_nan_propagates_like_torch(fn):
    x = np.array([[1.0, np.nan, 3.0, np.nan], [0.0, 2.0, 2.0, 1.0]])
    with np.errstate(invalid="ignore"):
        ours, theirs = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, yt = first(fn(tg, ours)), first(fn(torch, theirs))
        np.testing.assert_array_equal(y.detach().numpy(), yt.detach().numpy())
        if yt.requires_grad:
            y.sum().backward()
            yt.sum().backward()
            np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


# ---------------------------------------------------------------- prod with zeros
@pytest.mark.parametrize("zeros", [[(1, 2)], [(1, 2), (1, 0)], [(0, 0), (2, 3)]])
@pytest.mark.parametrize("fn", [lambda lib, x: x.prod(), lambda lib, x: x.prod(1),
                                lambda lib, x: x.prod(0, keepdim=True)])
def test_prod_with_zeros_matches_torch(zeros, fn, rng):
    x = rng.uniform(0.5, 2.0, (3, 4))
    for i, j in zeros:
        x[i, j] = 0.0
    check_against_torch(fn, x)
    check_double_backward(fn, x)


def test_prod_gradient_with_one_and_two_zeros():
    g = _grad(lambda x: x.prod(), [2.0, 0.0, 3.0, 4.0])
    np.testing.assert_array_equal(g, [0.0, 24.0, 0.0, 0.0])  # product of the others
    g = _grad(lambda x: x.prod(), [2.0, 0.0, 3.0, 0.0])
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0, 0.0])
    g = _grad(lambda x: x.prod(1), [[2.0, 0.0, 3.0], [1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(g, [[0.0, 6.0, 0.0], [6.0, 3.0, 2.0]])



# ---------------------------------------------------------------- var / std edge cases
@pytest.mark.parametrize("fn", [
    lambda lib, x: x.var(), lambda lib, x: x.var(0), lambda lib, x: x.std(0),
    lambda lib, x: x.var(0, correction=2), lambda lib, x: x.var(correction=3),
    lambda lib, x: x.std(1, correction=0),
])
def test_var_with_too_few_values_matches_torch(fn):
    x = np.array([[1.0, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = leaves(x)
        y, yt = fn(tg, ours[0]), fn(torch, theirs[0])
        np.testing.assert_array_equal(y.detach().numpy(), yt.detach().numpy())
        y.sum().backward()
        yt.sum().backward()
        np.testing.assert_array_equal(ours[0].grad.numpy(), theirs[0].grad.numpy())


def test_var_warns_like_torch_when_degrees_of_freedom_run_out():
    with pytest.warns(UserWarning, match=r"var\(\): degrees of freedom is <= 0"):
        tg.tensor([1.0]).var()
    with pytest.warns(UserWarning, match=r"std\(\): degrees of freedom is <= 0"):
        tg.tensor([[1.0, 2.0]]).std(0)


def test_std_of_constant_values_has_gradient_zero():
    np.testing.assert_array_equal(_grad(lambda x: x.std(), [2.0, 2.0, 2.0]), [0.0, 0.0, 0.0])
    check_against_torch(lambda lib, x: x.std(1), np.array([[2.0, 2.0], [1.0, 3.0]]))
    assert _grad(lambda x: x.std(1), [[2.0, 2.0], [1.0, 3.0]])[0].tolist() == [0.0, 0.0]


def test_var_positional_unbiased_flag():
    x = tg.tensor([1.0, 2.0])
    assert x.var(False).item() == 0.25 and x.var(True).item() == 0.5
    assert x.std(unbiased=False).item() == 0.5


def test_var_over_dim_empty_tuple_is_the_full_variance():
    # torch's forward agrees; its backward for dim=() divides by (1 - correction) (a torch
    # bug: it counts the values of an empty dim list as 1), tapegrad's is the full one.
    x = np.arange(6.0).reshape(2, 3)
    y = tg.tensor(x).var(())
    assert y.item() == pytest.approx(torch.tensor(x).var(()).item())
    np.testing.assert_allclose(_grad(lambda t: t.var(()), x), _grad(lambda t: t.var(), x))


# ---------------------------------------------------------------- norm at zero
@pytest.mark.parametrize("p", [2, 1, 3, 1.5, 0.5, -1, float("inf"), float("-inf"), "fro"])
def test_norm_gradient_at_zero_matches_torch(p):
    check_against_torch(lambda lib, x: x.norm(p, 1), np.array([[0.0, 0.0, 0.0],
                                                               [0.0, 1.0, -2.0]]))
    np.testing.assert_array_equal(_grad(lambda x: x.norm(p), [0.0, 0.0]), [0.0, 0.0])


def test_logsumexp_is_stable():
    x = tg.tensor([1000.0, 1000.0, -math.inf], dtype=tg.float64, requires_grad=True)
    y = x.logsumexp(0)
    assert y.item() == pytest.approx(1000 + math.log(2))
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.5, 0.0])
    assert tg.tensor([1, 2]).logsumexp(0).dtype is tg.float32  # ints give the default float


# ---------------------------------------------------------------- double backward
def check_double_backward(fn, x: np.ndarray, seed: int = 3):
    """Differentiate ``<d fn/dx . v, w>`` (random v, w) w.r.t. x and v: torch's answers."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(x.shape)
    v = None
    results = []
    for lib in (tg, torch):
        t = lib.tensor(x, requires_grad=True)
        y = first(fn(lib, t))
        if v is None:
            v = rng.standard_normal(tuple(y.shape))
        vt = lib.tensor(v, requires_grad=True)
        (g,) = lib.autograd.grad(y, [t], grad_outputs=[vt], create_graph=True)
        ggs = lib.autograd.grad((g * lib.tensor(w)).sum(), [t, vt], allow_unused=True)
        results.append([g.detach().numpy()] + [
            np.zeros(a.shape) if gg is None else gg.detach().numpy()
            for a, gg in zip((x, v), ggs, strict=True)])
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs, **F64)


@pytest.mark.parametrize("fn", [
    lambda lib, x: x.sum(), lambda lib, x: x.sum((0, 1)), lambda lib, x: x.mean(1),
    lambda lib, x: x.mean(), lambda lib, x: x.logsumexp(1), lambda lib, x: x.logsumexp(
        (0, 1)), lambda lib, x: x.var(), lambda lib, x: x.var(1, keepdim=True),
    lambda lib, x: x.std(0), lambda lib, x: x.prod(1), lambda lib, x: x.prod(),
    lambda lib, x: x.cumsum(1), lambda lib, x: x.norm(), lambda lib, x: x.norm(3, 1),
    lambda lib, x: x.max(1), lambda lib, x: x.amax(0),
])
def test_double_backward_matches_torch(fn, rng):
    check_double_backward(fn, rng.uniform(0.5, 1.5, (3, 4)))
