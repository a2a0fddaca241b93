"""F.unfold / F.fold, the pixel and channel shuffles, and their layers (with Upsample),
against torch in float64: values, gradients and second derivatives, and torch's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tapegrad
import tapegrad.nn.functional as F

TOL = {"rtol": 1e-10, "atol": 1e-12}


def _second_order(fn_name, a, args, kwargs, tg_module=None, t_module=None):
    results = []
    for lib, ns in ((tapegrad, F), (torch, TF)):
        x = lib.tensor(a, requires_grad=True)
        if tg_module is not None:
            out = (tg_module if lib is tapegrad else t_module)(x)
        else:
            out = getattr(ns, fn_name)(x, *args, **kwargs)
        (dx,) = lib.autograd.grad(out.pow(3).sum(), x, create_graph=True)
        (ddx,) = lib.autograd.grad(dx.pow(2).sum(), x)
        results.append([t.detach().numpy() for t in (out, dx, ddx)])
    for got, want in zip(*results, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, **TOL)


@pytest.mark.parametrize("shape, args, kwargs", [
    ((2, 3, 6, 5), (3,), dict(dilation=(1, 2), padding=1, stride=(2, 1))),
    ((3, 5, 5), ((2, 3),), dict(stride=2)),
])
def test_unfold_matches_torch(rng, shape, args, kwargs):
    _second_order("unfold", rng.standard_normal(shape), args, kwargs)


@pytest.mark.parametrize("shape, args, kwargs", [
    ((2, 3 * 9, 9), ((6, 5), 3), dict(dilation=(1, 2), padding=1, stride=(2, 1))),
    ((2 * 6, 4), ((5, 5), (2, 3)), dict(stride=2)),
])
def test_fold_matches_torch(rng, shape, args, kwargs):
    _second_order("fold", rng.standard_normal(shape), args, kwargs)


def test_fold_of_unfold_counts_windows(rng):
    x = tapegrad.tensor(rng.standard_normal((1, 2, 5, 5)))
    ones = F.fold(F.unfold(tapegrad.ones(1, 2, 5, 5), 3, padding=1), (5, 5), 3, padding=1)
    back = F.fold(F.unfold(x, 3, padding=1), (5, 5), 3, padding=1)
    np.testing.assert_allclose(back.numpy(), (x * ones).numpy(), **TOL)


@pytest.mark.parametrize("name, shape, factor", [
    ("pixel_shuffle", (2, 3, 8, 2, 3), 2), ("pixel_unshuffle", (3, 2, 6, 4), 2),
    ("channel_shuffle", (2, 6, 3, 2), 3),
])
def test_shuffles_match_torch(rng, name, shape, factor):
    _second_order(name, rng.standard_normal(shape), (factor,), {})


@pytest.mark.parametrize("call", [
    lambda L, F: F.pixel_shuffle(L.ones(2, 5, 2, 2), 2),
    lambda L, F: F.pixel_shuffle(L.ones(4, 2), 2),
    lambda L, F: F.pixel_unshuffle(L.ones(1, 5, 3, 4), 2),
    lambda L, F: F.channel_shuffle(L.ones(1, 5, 3), 2),
    lambda L, F: F.channel_shuffle(L.ones(1, 4, 3), 0),
    lambda L, F: F.unfold(L.ones(1, 1, 1, 2, 2), 2),
    lambda L, F: F.unfold(L.ones(1, 1, 2, 2), 3),
    lambda L, F: F.fold(L.ones(1, 5, 4), (3, 3), 2),
    lambda L, F: F.fold(L.ones(1, 4, 5), (3, 3), 2),
])
def test_errors_match_torch(call):
    with pytest.raises(Exception) as want:
        call(torch, TF)
    with pytest.raises(Exception) as got:
        call(tapegrad, F)
    assert type(got.value) is type(want.value)


@pytest.mark.parametrize("cls, args, shape", [
    ("Upsample", dict(scale_factor=2, mode="bilinear", align_corners=False), (1, 2, 3, 4)),
    ("Upsample", dict(size=(3, 4, 5), mode="trilinear"), (1, 2, 2, 3, 2)),
    ("UpsamplingNearest2d", dict(scale_factor=3), (2, 1, 2, 3)),
    ("UpsamplingBilinear2d", dict(size=(5, 4)), (2, 1, 2, 3)),
    ("PixelShuffle", dict(upscale_factor=2), (1, 8, 2, 3)),
    ("PixelUnshuffle", dict(downscale_factor=2), (1, 2, 4, 6)),
    ("ChannelShuffle", dict(groups=2), (1, 4, 2, 2)),
    ("Unfold", dict(kernel_size=2, stride=2), (1, 2, 4, 4)),
    ("Fold", dict(output_size=(4, 5), kernel_size=2), (1, 8, 12)),
])
def test_layers_match_torch(rng, cls, args, shape):
    tg_module, t_module = getattr(tapegrad.nn, cls)(**args), getattr(torch.nn, cls)(**args)
    assert repr(tg_module) == repr(t_module)
    _second_order(None, rng.standard_normal(shape), (), {}, tg_module, t_module)
