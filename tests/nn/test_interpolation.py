"""F.interpolate and its aliases against torch, in float64 (values, gradients and second
derivatives; antialiased too), uint8 images exactly, plus torch's argument errors. The
weights are computed in the input's precision as torch's kernels do, so float32 agrees to a
few ulps as well.

uint8 with antialias=True matches torch on the database's cases but may differ by one level
at a rare pixel (the order of torch's fixed-point rounding there is not reproduced)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tapegrad
import tapegrad.nn.functional as F

TOL = {"rtol": 1e-10, "atol": 1e-12}

CASES = [  # input shape, keyword arguments
    ((2, 3, 5), dict(size=8, mode="nearest")),
    ((2, 3, 5), dict(scale_factor=1.7, mode="nearest-exact")),
    ((1, 2, 4, 6), dict(size=(7, 3), mode="nearest")),
    ((1, 2, 3, 4, 5), dict(scale_factor=(2, 0.5, 1.5), mode="nearest")),
    ((2, 2, 7), dict(size=4, mode="linear", align_corners=True)),
    ((2, 2, 7), dict(scale_factor=2.3, mode="linear", recompute_scale_factor=False)),
    ((1, 3, 5, 4), dict(size=(9, 7), mode="bilinear")),
    ((1, 3, 5, 4), dict(scale_factor=0.6, mode="bilinear", align_corners=True)),
    ((1, 2, 4, 5), dict(size=(8, 3), mode="bicubic")),
    ((1, 2, 4, 5), dict(scale_factor=1.5, mode="bicubic", align_corners=True,
                        recompute_scale_factor=True)),
    ((1, 2, 3, 4, 3), dict(size=(5, 2, 6), mode="trilinear")),
    ((2, 2, 9, 7), dict(size=(4, 3), mode="area")),
    ((1, 2, 9, 8), dict(size=(4, 11), mode="bilinear", antialias=True)),
    ((1, 2, 9, 8), dict(scale_factor=0.4, mode="bicubic", antialias=True, align_corners=True)),
    ((2, 2, 5, 4, 6), dict(scale_factor=0.5, mode="area")),
]


@pytest.mark.parametrize("shape, kwargs", CASES)
def test_interpolate_matches_torch_to_second_order(rng, shape, kwargs):
    a = rng.standard_normal(shape)
    results = []
    for lib, fn in ((tapegrad, F.interpolate), (torch, TF.interpolate)):
        x = lib.tensor(a, requires_grad=True)
        out = fn(x, **kwargs)
        (dx,) = lib.autograd.grad(out.pow(3).sum(), x, create_graph=True)
        (ddx,) = lib.autograd.grad(dx.pow(2).sum(), x)
        results.append([t.detach().numpy() for t in (out, dx, ddx)])
    for got, want in zip(*results, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, **TOL)


def test_float32_coordinates_round_like_torch(rng):
    a = rng.uniform(-9, 9, (1, 2, 345, 40)).astype(np.float32)
    got = F.interpolate(tapegrad.tensor(a), size=(270, 30), mode="bilinear").numpy()
    want = TF.interpolate(torch.tensor(a), size=(270, 30), mode="bilinear").numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-5)


def test_deprecated_aliases(rng):
    a = rng.standard_normal((1, 2, 3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pairs = [(F.upsample_bilinear(tapegrad.tensor(a), scale_factor=2),
                  TF.upsample_bilinear(torch.tensor(a), scale_factor=2)),
                 (F.upsample_nearest(tapegrad.tensor(a), size=(5, 5)),
                  TF.upsample_nearest(torch.tensor(a), size=(5, 5))),
                 (F.upsample(tapegrad.tensor(a), scale_factor=3, mode="bicubic"),
                  TF.upsample(torch.tensor(a), scale_factor=3, mode="bicubic"))]
    for got, want in pairs:
        np.testing.assert_allclose(got.numpy(), want.numpy(), **TOL)


@pytest.mark.parametrize("shape, kwargs", [
    ((1, 2, 4), dict(size=3, scale_factor=2)),
    ((1, 2, 4), dict()),
    ((1, 2, 4), dict(size=(3, 3))),
    ((1, 2, 4, 4), dict(scale_factor=(2, 2, 2))),
    ((1, 2, 4), dict(size=3, mode="nearest", align_corners=True)),
    ((1, 2, 4), dict(size=3, recompute_scale_factor=True)),
    ((1, 2, 4), dict(size=3, mode="bilinear")),
    ((1, 2, 4, 4), dict(size=3, mode="linear")),
    ((1, 2, 4), dict(size=3, mode="linear", antialias=True)),
    ((1, 2, 4, 4, 4), dict(size=3, mode="trilinear", antialias=True)),
    ((1, 2, 4), dict(scale_factor=0.1)),
    ((1, 4), dict(size=3)),
])
def test_interpolate_errors_match_torch(shape, kwargs):
    with pytest.raises(Exception) as want:
        TF.interpolate(torch.ones(shape), **kwargs)
    with pytest.raises(Exception) as got:
        F.interpolate(tapegrad.ones(*shape), **kwargs)
    assert type(got.value) is type(want.value)


@pytest.mark.parametrize("kwargs", [
    dict(size=(13, 9), mode="bilinear"),
    dict(size=(7, 20), mode="bilinear", align_corners=True),
    dict(scale_factor=1.7, mode="bicubic"),
    dict(size=(5, 6), mode="bicubic", align_corners=True),
])
def test_uint8_images_resize_like_torch(rng, kwargs):
    """torch resizes uint8 images with fixed-point weights, rounding after each pass."""
    a = rng.integers(0, 256, (2, 3, 10, 12)).astype(np.uint8)
    got = F.interpolate(tapegrad.tensor(a), **kwargs)
    want = TF.interpolate(torch.tensor(a), **kwargs)
    assert got.dtype == tapegrad.uint8
    np.testing.assert_array_equal(got.numpy(), want.numpy())
