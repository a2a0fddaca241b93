"""The special functions written here without scipy (`tapegrad.kernels.special`), against
torch in float64 on wide grids: ordinary values, the poles, ±0, ±inf and NaN; then the ops
made of them (polygamma's higher derivatives, mvlgamma, logit with eps)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad as tg
from tapegrad.kernels import special

RNG = np.random.default_rng(11)
EDGES = [0.0, -0.0, 1.0, 2.0, -1.0, -2.0, -7.0, 0.5, -0.5, 1e-300, 1e-8, 1e10, 1e300,
         np.inf, -np.inf, np.nan, 1.4616321449683623]
GRID = np.concatenate([RNG.uniform(-20, 20, 400), RNG.uniform(-3, 3, 400), EDGES])
UNIT = np.concatenate([RNG.uniform(-1, 1, 400), [1 - 1e-16, -1 + 1e-16, 1 - 1e-10, 1.0, -1.0,
                                                 0.0, -0.0, 2.0, -2.0, np.nan, 1e-300]])


def _close(got, want, rtol):
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-14, equal_nan=True)
    # NaN where torch has NaN, inf of the same sign where torch has inf
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(np.isposinf(got), np.isposinf(want))


@pytest.mark.parametrize(("name", "ours", "theirs", "rtol"), [
    ("digamma", special.digamma, torch.digamma, 1e-12),
    ("lgamma", special.lgamma, torch.lgamma, 1e-14),
    ("erfc", special.erfc, torch.erfc, 1e-14),
    ("i0", special.i0, torch.i0, 1e-12),
    ("i1", special.i1, torch.special.i1, 1e-12),
    # torch's trigamma is a short series: good to ~5e-10
    ("polygamma1", lambda v: special.polygamma(1, v), lambda t: torch.polygamma(1, t), 1e-9),
    ("polygamma2", lambda v: special.polygamma(2, v), lambda t: torch.polygamma(2, t), 1e-11),
    ("polygamma3", lambda v: special.polygamma(3, v), lambda t: torch.polygamma(3, t), 1e-11),
    ("polygamma4", lambda v: special.polygamma(4, v), lambda t: torch.polygamma(4, t), 1e-11),
])
def test_special_function_matches_torch_in_float64(name, ours, theirs, rtol):
    _close(ours(GRID), theirs(torch.tensor(GRID)).numpy(), rtol)


def test_erfinv_matches_torch_up_to_the_ends():
    _close(special.erfinv(UNIT), torch.erfinv(torch.tensor(UNIT)).numpy(), 1e-13)
    assert np.signbit(special.erfinv(np.array([-0.0])))[0]  # erfinv(−0) = −0


def test_igamma_and_igammac_match_torch():
    a = np.concatenate([RNG.uniform(0, 20, 300), RNG.uniform(0, 200, 100),
                        [0, 0, 1, np.inf, 2, np.nan, -1, 1e-5, np.inf, 3]])
    x = np.concatenate([RNG.uniform(0, 20, 300), RNG.uniform(0, 200, 100),
                        [0, 1, 0, 1, np.inf, 1, 1, 3, np.inf, -1]])
    ta, tx = torch.tensor(a), torch.tensor(x)
    # torch's own igamma is good to ~2e-9 relative here (checked against mpmath: ours is the
    # closer one), hence the tolerance
    _close(special.igamma(a, x), torch.igamma(ta, tx).numpy(), 1e-8)
    _close(special.igammac(a, x), torch.igammac(ta, tx).numpy(), 1e-8)


def test_float32_inputs_give_float32_results_close_to_torch():
    x = RNG.uniform(0.1, 6, 50).astype(np.float32)
    for ours, theirs in ((special.digamma, torch.digamma), (special.i0, torch.i0),
                         (special.lgamma, torch.lgamma)):
        got = ours(x)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, theirs(torch.tensor(x)).numpy(), rtol=1e-5)


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_polygamma_op_value_gradient_and_second_derivative(n):
    """Each derivative of ψ⁽ⁿ⁾ is ψ⁽ⁿ⁺¹⁾: the backward is the same op one order up."""
    x_np = RNG.uniform(0.3, 4.0, 7)
    v_np = RNG.standard_normal(7)
    rows = []
    for lib in (tg, torch):
        x = lib.tensor(x_np, dtype=lib.float64, requires_grad=True)
        y = lib.polygamma(n, x)
        (g,) = lib.autograd.grad(y, x, lib.tensor(v_np, dtype=lib.float64), create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        rows.append((y.detach().numpy(), g.detach().numpy(), gg.numpy()))
    for ours, theirs in zip(*rows, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    with pytest.raises(RuntimeError, match="negative n"):
        tg.polygamma(-1, tg.tensor([1.0]))


@pytest.mark.parametrize("p", [1, 3, 5])
def test_mvlgamma_is_a_sum_of_lgammas_with_torch_gradient(p):
    x_np = RNG.uniform(p, p + 4, (3, 4))
    rows = []
    for lib in (tg, torch):
        x = lib.tensor(x_np, dtype=lib.float64, requires_grad=True)
        y = lib.mvlgamma(x, p)
        y.sum().backward()
        rows.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(rows[0][0], rows[1][0], rtol=1e-12)
    np.testing.assert_allclose(rows[0][1], rows[1][1], rtol=1e-9)  # torch's digamma
    with pytest.raises(RuntimeError, match="p has to be greater than or equal to 1"):
        tg.mvlgamma(tg.tensor([3.0]), 0)


@pytest.mark.parametrize("eps", [None, 0.2])
def test_logit_with_and_without_eps(eps):
    x_np = np.array([0.0, 0.05, 0.3, 0.5, 0.9, 1.0, 1.2, -0.1, np.nan])
    rows = []
    for lib in (tg, torch):
        x = lib.tensor(x_np, dtype=lib.float64, requires_grad=True)
        y = lib.logit(x, eps) if eps is not None else x.logit()
        y.sum().backward()
        rows.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(rows[0][0], rows[1][0], rtol=1e-13, equal_nan=True)
    np.testing.assert_allclose(rows[0][1], rows[1][1], rtol=1e-13, equal_nan=True)


def test_i0_second_derivative_goes_through_i1():
    x_np = np.array([-2.5, -0.3, 0.0, 0.7, 4.0])
    rows = []
    for lib in (tg, torch):
        x = lib.tensor(x_np, dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad(lib.i0(x).sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        rows.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(rows[0][0], rows[1][0], rtol=1e-12)
    np.testing.assert_allclose(rows[0][1], rows[1][1], rtol=1e-12)
