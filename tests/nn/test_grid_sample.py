"""F.grid_sample / grid_sampler_2d / grid_sampler_3d against torch in float64: values and the
gradients of both the image and the grid, for every mode, padding mode and align_corners;
the second derivatives (torch has none) by finite differences."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tapegrad
import tapegrad.nn.functional as F
from tapegrad.testing import gradgradcheck

TOL = {"rtol": 1e-10, "atol": 1e-12}


def _points(rng, shape):
    """Grid points in [-1.3, 1.3] (some outside the image), none exactly on a pixel edge."""
    return rng.uniform(-1.3, 1.3, shape)


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_2d_matches_torch(rng, mode, padding_mode, align_corners):
    image, grid = rng.standard_normal((2, 3, 5, 6)), _points(rng, (2, 4, 3, 2))
    cot = rng.standard_normal((2, 3, 4, 3))
    results = []
    for lib, ns in ((tapegrad, F), (torch, TF)):
        x, g = lib.tensor(image, requires_grad=True), lib.tensor(grid, requires_grad=True)
        out = ns.grid_sample(x, g, mode=mode, padding_mode=padding_mode,
                             align_corners=align_corners)
        grads = lib.autograd.grad(out, (x, g), lib.tensor(cot))
        results.append([t.detach().numpy() for t in (out, *grads)])
    for got, want in zip(*results, strict=True):
        np.testing.assert_allclose(got, want, **TOL)


@pytest.mark.parametrize("mode", [0, 1])
@pytest.mark.parametrize("padding_mode", [0, 1, 2])
def test_grid_sampler_3d_matches_torch(rng, mode, padding_mode):
    image, grid = rng.standard_normal((1, 2, 3, 4, 5)), _points(rng, (1, 2, 3, 2, 3))
    results = []
    for lib in (tapegrad, torch):
        x, g = lib.tensor(image, requires_grad=True), lib.tensor(grid, requires_grad=True)
        out = lib.grid_sampler_3d(x, g, mode, padding_mode, False)
        grads = lib.autograd.grad(out.pow(2).sum(), (x, g))
        results.append([t.detach().numpy() for t in (out, *grads)])
    for got, want in zip(*results, strict=True):
        np.testing.assert_allclose(got, want, **TOL)


def test_grid_sample_second_derivatives(rng):
    x = tapegrad.tensor(rng.standard_normal((1, 2, 4, 4)), requires_grad=True)
    g = tapegrad.tensor(_points(rng, (1, 3, 2, 2)) * 0.7, requires_grad=True)
    assert gradgradcheck(lambda x, g: F.grid_sample(x, g, align_corners=True), (x, g))


@pytest.mark.parametrize("call", [
    lambda L, F: F.grid_sample(L.ones(1, 1, 3, 3), L.ones(1, 2, 2, 2), mode="cubic"),
    lambda L, F: F.grid_sample(L.ones(1, 1, 3, 3), L.ones(1, 2, 2, 2), padding_mode="wrap"),
    lambda L, F: F.grid_sample(L.ones(1, 1, 3, 3), L.ones(2, 2, 2, 2), align_corners=False),
    lambda L, F: F.grid_sample(L.ones(1, 1, 3, 3), L.ones(1, 2, 2, 3), align_corners=False),
    lambda L, F: F.grid_sample(L.ones(1, 1, 3, 3, 3), L.ones(1, 2, 2, 2, 3), mode="bicubic",
                               align_corners=False),
])
def test_grid_sample_errors_match_torch(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as want:
            call(torch, TF)
        with pytest.raises(Exception) as got:
            call(tapegrad, F)
    assert type(got.value) is type(want.value)
