"""The n-d pools of `tapegrad.nn.functional.pooling_nd` against torch, in float64.

torch's database compares fractional max pooling by shape only (its windows are random);
here the random samples are passed explicitly, so values, indices and gradients must agree.
Second derivatives of the gathered pools are compared too (double backward through a pool).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tapegrad
import tapegrad.nn.functional as F

TOL = {"rtol": 1e-10, "atol": 1e-12}


def _both(rng, shape, nan_at=None):
    a = rng.standard_normal(shape)
    if nan_at is not None:
        a[nan_at] = np.nan
    return tapegrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _compare(got, want):
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), **TOL)


@pytest.mark.parametrize("n, shape, kernel, size", [
    (2, (2, 3, 9, 8), 3, (4, 3)),
    (2, (3, 7, 7), (2, 3), 3),
    (3, (2, 2, 6, 7, 5), 2, (3, 4, 2)),
])
def test_fractional_max_pool_with_given_samples_matches_torch(rng, n, shape, kernel, size):
    g, t = _both(rng, shape)
    batch = shape[0] if len(shape) == n + 2 else 1
    samples = rng.random((batch, shape[-n - 1], n))
    fn, tfn = getattr(F, f"fractional_max_pool{n}d"), getattr(TF, f"fractional_max_pool{n}d")
    out, idx = fn(g, kernel, output_size=size, return_indices=True,
                  _random_samples=tapegrad.tensor(samples))
    t_out, t_idx = tfn(t, kernel, output_size=size, return_indices=True,
                       _random_samples=torch.tensor(samples))
    _compare(out, t_out)
    np.testing.assert_array_equal(idx.numpy(), t_idx.numpy())
    cot = rng.standard_normal(t_out.shape)
    (gg,) = tapegrad.autograd.grad(out, g, tapegrad.tensor(cot))
    (tg,) = torch.autograd.grad(t_out, t, torch.tensor(cot))
    _compare(gg, tg)


def test_max_pool3d_nan_and_ties_follow_torch(rng):
    a = np.zeros((1, 1, 4, 4, 4))  # all ties: the first element of each window wins
    a[0, 0, 1, 1, 1] = np.nan
    a[0, 0, 2, 3, 3] = -np.inf
    g, t = tapegrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    out, idx = F.max_pool3d(g, 2, padding=1, return_indices=True)
    t_out, t_idx = TF.max_pool3d(t, 2, padding=1, return_indices=True)
    np.testing.assert_array_equal(out.detach().numpy(), t_out.detach().numpy())
    np.testing.assert_array_equal(idx.numpy(), t_idx.numpy())


@pytest.mark.parametrize("name, kwargs", [
    ("max_pool3d", dict(kernel_size=(2, 3, 2), stride=(1, 2, 2), padding=1, dilation=(2, 1, 1),
                        ceil_mode=True)),
    ("avg_pool3d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                        count_include_pad=False)),
    ("avg_pool3d", dict(kernel_size=(1, 2, 3), divisor_override=5)),
    ("adaptive_avg_pool3d", dict(output_size=(3, None, 2))),
    ("adaptive_max_pool3d", dict(output_size=(2, 3, 4))),
])
def test_pool3d_second_derivatives_match_torch(rng, name, kwargs):
    g, t = _both(rng, (2, 2, 5, 6, 7))
    results = []
    for x, fn in ((g, getattr(F, name)), (t, getattr(TF, name))):
        lib = tapegrad if x is g else torch
        out = fn(x, **kwargs)
        (dx,) = lib.autograd.grad(out.pow(2).sum(), x, create_graph=True)
        (ddx,) = lib.autograd.grad(dx.pow(3).sum(), x)
        results.append((out, dx, ddx))
    for got, want in zip(*results, strict=True):
        _compare(got, want)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_unpool_inverts_max_pool(rng, n):
    shape = (2, 3) + (6, 5, 4)[:n]
    g, t = _both(rng, shape)
    pool = getattr(F, f"max_pool{n}d")
    out, idx = pool(g, 2, return_indices=True)
    t_out, t_idx = getattr(TF, f"max_pool{n}d")(t, 2, return_indices=True)
    up = getattr(F, f"max_unpool{n}d")(out, idx, 2, output_size=shape[2:])
    t_up = getattr(TF, f"max_unpool{n}d")(t_out, t_idx, 2, output_size=shape[2:])
    _compare(up, t_up)
    cot = rng.standard_normal(shape)
    _compare(tapegrad.autograd.grad(up, g, tapegrad.tensor(cot))[0],
             torch.autograd.grad(t_up, t, torch.tensor(cot))[0])


def test_unpool_rejects_bad_indices_like_torch():
    x = tapegrad.ones(1, 1, 2, 2)
    with pytest.raises(RuntimeError, match="Found an invalid max index"):
        F.max_unpool2d(x, tapegrad.full((1, 1, 2, 2), 99, dtype=tapegrad.int64), 2)
    with pytest.raises(RuntimeError, match="Expected shape of indices"):
        F.max_unpool2d(x, tapegrad.zeros(1, 1, 2, 1, dtype=tapegrad.int64), 2)
