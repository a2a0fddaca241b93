"""Random sampling ops: distributions checked statistically, with fixed seeds.

Draws cannot equal torch's (different generators), so each sampler is checked against its
distribution's known moments or probabilities on a large sample, with tolerances of about
5 standard errors of the estimate (stated at each check): a correct sampler fails with
probability below 1e-6, a wrong parameterisation (rate vs scale, std vs variance, off by
one) fails every time. Shapes, dtypes, errors and gradients are compared with torch.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import tapegrad as tg

N = 200_000


@pytest.fixture(autouse=True)
def _seed():
    tg.manual_seed(1234)


def draws(method, *args, dtype=tg.float64, **kwargs):
    x = tg.empty(N, dtype=dtype)
    out = getattr(x, method)(*args, **kwargs)
    assert out is x  # in place, returns self
    return x.numpy().astype(np.float64)


def test_uniform_():
    v = draws("uniform_", -2.0, 3.0)
    assert v.min() >= -2.0 and v.max() < 3.0
    # mean 0.5, sd 5/sqrt(12) = 1.44: standard error 0.0032
    assert abs(v.mean() - 0.5) < 0.016
    assert abs(v.var() - 25 / 12) < 0.03  # se of the variance ~ 0.0042
    assert abs((v < 0).mean() - 0.4) < 0.006  # the cdf at 0


def test_normal_():
    v = draws("normal_", 1.5, 0.5)
    assert abs(v.mean() - 1.5) < 0.006  # se 0.0011
    assert abs(v.std() - 0.5) < 0.004  # se 0.0008
    assert abs((v < 1.0).mean() - 0.158655) < 0.005  # P(Z < -1)


def test_log_normal_():
    v = np.log(draws("log_normal_", 0.5, 0.25))
    assert abs(v.mean() - 0.5) < 0.003 and abs(v.std() - 0.25) < 0.002


def test_exponential_rate_not_scale():
    v = draws("exponential_", 4.0)
    assert v.min() >= 0
    assert abs(v.mean() - 0.25) < 0.003  # mean 1/λ; se 0.00056
    assert abs((v > 0.5).mean() - math.exp(-2)) < 0.004


def test_cauchy_():
    v = draws("cauchy_", 2.0, 3.0)
    # no mean: check quantiles. median 2, quartiles median ± sigma
    q1, q2, q3 = np.quantile(v, [0.25, 0.5, 0.75])
    assert abs(q2 - 2.0) < 0.05 and abs(q1 + 1.0) < 0.08 and abs(q3 - 5.0) < 0.08


@pytest.mark.parametrize("dtype", [tg.float32, tg.int64, tg.int16])
def test_geometric_counts_trials_from_one(dtype):
    v = draws("geometric_", 0.25, dtype=dtype)
    assert v.min() == 1  # trials up to and including the first success
    assert abs(v.mean() - 4.0) < 0.04  # mean 1/p, sd sqrt(1-p)/p = 3.46: se 0.0077
    assert abs((v == 1).mean() - 0.25) < 0.005


def test_bernoulli_number_and_tensor_p():
    v = draws("bernoulli_", 0.3)
    assert set(np.unique(v)) == {0.0, 1.0} and abs(v.mean() - 0.3) < 0.006
    p = tg.tensor([0.0, 0.2, 1.0]).expand(N // 4, 3)
    x = tg.empty(N // 4, 3).bernoulli_(p)
    np.testing.assert_allclose(x.numpy().mean(0), [0.0, 0.2, 1.0], atol=0.01)


def test_bernoulli_function_and_method():
    p = tg.tensor(np.tile([0.1, 0.5, 0.9], (N // 3, 1)))
    for out in (tg.bernoulli(p), p.bernoulli(), tg.bernoulli(p, 0.5)):
        assert out.dtype == p.dtype and out.shape == p.shape
    np.testing.assert_allclose(tg.bernoulli(p).numpy().mean(0), [0.1, 0.5, 0.9], atol=0.008)
    assert abs(tg.bernoulli(p, 0.5).numpy().mean() - 0.5) < 0.004


def test_normal_overloads_match_torch_shapes_and_moments():
    mean = tg.tensor(np.array([[-1.0], [3.0]]))  # (2, 1)
    std = tg.tensor(np.full((1, N // 2), 2.0))  # broadcast to (2, N/2)
    v = tg.normal(mean, std)
    assert v.shape == (2, N // 2)  # broadcast, as torch.normal does
    np.testing.assert_allclose(v.numpy().mean(1), [-1.0, 3.0], atol=0.04)  # se 0.0089
    np.testing.assert_allclose(v.numpy().std(1), [2.0, 2.0], atol=0.03)
    assert tg.normal(mean, 0.5).shape == (2, 1)
    assert tg.normal(2.0, std).shape == (1, N // 2)
    w = tg.normal(1.0, 3.0, (N,), dtype=tg.float32)
    assert w.dtype == tg.float32 and abs(w.numpy().mean() - 1.0) < 0.04
    assert tg.normal(0.0, 1.0, size=(2, 3)).dtype == tg.get_default_dtype()


def test_multinomial_with_replacement_frequencies():
    w = tg.tensor([[1.0, 2.0, 0.0, 5.0], [0.0, 0.0, 3.0, 1.0]])  # unnormalised weights
    s = tg.multinomial(w, N // 4, replacement=True)
    assert s.dtype == tg.int64 and s.shape == (2, N // 4)
    for row, weights in zip(s.numpy(), w.numpy(), strict=True):
        freq = np.bincount(row, minlength=4) / row.size
        np.testing.assert_allclose(freq, weights / weights.sum(), atol=0.012)  # se <= 0.002


def test_multinomial_without_replacement():
    w = tg.tensor([1.0, 2.0, 3.0, 0.0])
    firsts, seconds = [], []
    for _ in range(4000):
        s = w.multinomial(2).numpy()
        assert s.shape == (2,) and s[0] != s[1] and 3 not in s  # distinct, never weight 0
        firsts.append(s[0])
        seconds.append(s[1])
    # first draw ∝ w: (1, 2, 3)/6; second given first: renormalised without the first
    np.testing.assert_allclose(np.bincount(firsts, minlength=4)[:3] / 4000,
                               [1 / 6, 2 / 6, 3 / 6], atol=0.035)  # se <= 0.008
    p2 = [sum(w_i / 6 * w_j / (6 - w_i) for w_i in (1, 2, 3) if w_i != w_j)
          for w_j in (1, 2, 3)]
    np.testing.assert_allclose(np.bincount(seconds, minlength=4)[:3] / 4000, p2, atol=0.035)
    perm = tg.multinomial(tg.ones(6), 6).numpy()
    assert sorted(perm) == list(range(6))


def test_random_integer_ranges_like_torch():
    v = tg.empty(N // 10).random_(3, 7).numpy()
    assert set(np.unique(v)) == {3, 4, 5, 6}
    assert set(np.unique(tg.empty(N // 10, dtype=tg.int64).random_(4).numpy())) == {0, 1, 2, 3}
    assert set(np.unique(tg.empty(1000, dtype=tg.bool).random_().numpy())) == {False, True}
    u8 = tg.empty(N // 10, dtype=tg.uint8).random_().numpy()
    assert u8.min() == 0 and u8.max() == 255
    f32 = tg.empty(1000).random_().numpy()
    assert (f32 == np.round(f32)).all() and f32.max() <= 2**24 and f32.max() > 2**20
    for lib in (tg, torch):
        with pytest.raises(RuntimeError, match="from"):
            lib.empty(3).random_(5, 2)


def test_randint_like():
    t = tg.zeros(N // 10, 10, dtype=tg.float16)
    r = tg.randint_like(t, 3, 7)
    assert r.dtype == tg.float16 and r.shape == t.shape
    assert set(np.unique(r.numpy())) == {3, 4, 5, 6}
    assert set(np.unique(tg.randint_like(t, 2).numpy())) == {0, 1}


def test_seeded_draws_repeat():
    tg.manual_seed(7)
    a = tg.empty(5).normal_().numpy().copy()
    tg.manual_seed(7)
    np.testing.assert_array_equal(tg.empty(5).normal_().numpy(), a)
    g = tg.Generator().manual_seed(3)
    b = tg.empty(5).uniform_(generator=g).numpy().copy()
    g.manual_seed(3)
    np.testing.assert_array_equal(tg.empty(5).uniform_(generator=g).numpy(), b)


def test_gradients_are_zero_like_torch():
    """normal(mean, std) and bernoulli(p) are recorded with zero gradients (torch's
    NormalBackward/BernoulliBackward), not reparameterised."""
    for lib in (tg, torch):
        m = lib.ones(3, dtype=lib.float64, requires_grad=True)
        s = lib.ones(3, dtype=lib.float64, requires_grad=True)
        p = lib.full((3,), 0.5, dtype=lib.float64, requires_grad=True)
        (lib.normal(m, s).sum() + lib.bernoulli(p).sum()).backward()
        for t in (m, s, p):
            np.testing.assert_array_equal(t.grad.numpy(), np.zeros(3))
        x = lib.zeros(3, dtype=lib.float64, requires_grad=True)
        y = x * 1
        y.normal_()
        y.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros(3))


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda lib: lib.zeros(3).uniform_(3, -1), RuntimeError, r"\[from, to\) range"),
    (lambda lib: lib.zeros(3).normal_(0, -1), RuntimeError, "std >= 0.0"),
    (lambda lib: lib.zeros(3).cauchy_(0, 0), RuntimeError, "sigma > 0.0"),
    (lambda lib: lib.zeros(3).exponential_(0), RuntimeError, "lambda > 0.0"),
    (lambda lib: lib.zeros(3).geometric_(1.5), RuntimeError, r"p to be in \(0, 1\)"),
    (lambda lib: lib.zeros(3).log_normal_(0, 0), RuntimeError, "std > 0.0"),
    (lambda lib: lib.zeros(3, dtype=lib.int64).normal_(), NotImplementedError, "Long"),
    (lambda lib: lib.zeros(3, requires_grad=True).normal_(), RuntimeError, "leaf Variable"),
    (lambda lib: lib.normal(lib.ones(3), -lib.ones(3)), RuntimeError, "std >= 0.0"),
    (lambda lib: lib.bernoulli(lib.tensor([1.5])), RuntimeError, "p_in >= 0"),
    (lambda lib: lib.multinomial(lib.ones(2, 2, 2), 1), RuntimeError, "1 or 2 dim"),
    (lambda lib: lib.multinomial(lib.ones(3), 4), RuntimeError, "n_sample > prob_dist"),
    (lambda lib: lib.multinomial(lib.zeros(3), 1, True), RuntimeError,
     "invalid multinomial distribution"),
    (lambda lib: lib.multinomial(lib.tensor([1.0, -1.0]), 1), RuntimeError,
     "element < 0"),
])
def test_errors_match_torch(call, error, match):
    for lib in (tg, torch):
        with pytest.raises(error, match=match):
            call(lib)


def test_out_argument_follows_torchs_rules():
    out = tg.empty(3, dtype=tg.int64)
    assert tg.multinomial(tg.ones(4), 3, out=out) is out and len(set(out.tolist())) == 3
    out = tg.empty(2)
    assert tg.normal(0.0, 1.0, (2,), out=out) is out
    for lib in (tg, torch):
        expanded = lib.rand(1).expand(6)
        with pytest.raises(RuntimeError, match="unsupported operation"):
            lib.bernoulli(lib.rand(6), out=expanded)
        with pytest.raises(RuntimeError, match="Long tensor out"):
            lib.multinomial(lib.ones(3), 2, out=lib.empty(2))
