"""nn.utils gradient clipping and parameter flattening against torch.nn.utils.

Norms: tapegrad sums in float64 and rounds once, torch accumulates float32 norms in float32,
so float32 totals agree to rtol 1e-6 and float64 ones to 1e-12.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import tapegrad as tg
import tapegrad.nn.utils as tgu

TOL = {"float32": 1e-6, "float64": 1e-12}
RNG = np.random.default_rng(7)
SHAPES = [(3, 4), (5,), (), (2, 1, 3)]
VALUES = [RNG.standard_normal(s) * 3 for s in SHAPES]


def params_with_grads(lib, dtype, none_at=None):
    dt = getattr(lib, dtype)
    ps = []
    for i, v in enumerate(VALUES):
        p = lib.zeros(v.shape, dtype=dt, requires_grad=True)
        if i != none_at:
            p.grad = lib.tensor(v, dtype=dt)
        ps.append(p)
    return ps


def grads(ps):
    return [None if p.grad is None else p.grad.numpy().copy() for p in ps]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("norm_type", [2.0, 1, math.inf, 3.5, -math.inf, 0])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(dtype, norm_type, max_norm):
    ps, tps = params_with_grads(tg, dtype, none_at=1), params_with_grads(torch, dtype, none_at=1)
    g_before = grads(ps)
    total = tgu.clip_grad_norm_(ps, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type=norm_type)
    assert isinstance(total, tg.Tensor) and total.shape == ()
    assert total.dtype == getattr(tg, dtype)
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=TOL[dtype])
    for g, tg_ in zip(grads(ps), grads(tps), strict=True):
        if tg_ is None:
            assert g is None
        else:
            np.testing.assert_allclose(g, tg_, rtol=TOL[dtype], atol=TOL[dtype])
    if max_norm == 1e6:  # nothing to clip: gradients unchanged
        for g, g0 in zip(grads(ps), g_before, strict=True):
            if g0 is not None:
                np.testing.assert_allclose(g, g0, rtol=TOL[dtype])


def test_clipped_norm_is_max_norm():
    ps = params_with_grads(tg, "float64")
    tgu.clip_grad_norm_(ps, 1.0)
    assert tgu.get_total_norm([p.grad for p in ps]).item() == pytest.approx(1.0, rel=1e-5)


def test_single_tensor_and_generator():
    p, tp = params_with_grads(tg, "float32")[0], params_with_grads(torch, "float32")[0]
    total = tgu.clip_grad_norm_(p, 0.1)
    ttotal = torch.nn.utils.clip_grad_norm_(tp, 0.1)
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-6)
    np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-6)
    with pytest.warns(UserWarning, match="`parameters` is an empty generator"):
        total = tgu.clip_grad_norm_((q for q in []), 1.0)
    assert total.item() == 0.0 and total.dtype == tg.float32


def test_nonfinite_norm():
    ps, tps = params_with_grads(tg, "float32"), params_with_grads(torch, "float32")
    ps[0].grad[0, 0] = float("nan")
    tps[0].grad[0, 0] = float("nan")
    with pytest.raises(RuntimeError) as got:
        tgu.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as want:
        torch.nn.utils.clip_grad_norm_(tps, 1.0, error_if_nonfinite=True)
    assert str(got.value) == str(want.value)
    # without the check: every gradient becomes NaN, as in torch
    total = tgu.clip_grad_norm_(ps, 1.0)
    torch.nn.utils.clip_grad_norm_(tps, 1.0)
    assert math.isnan(total.item())
    for g, tg_ in zip(grads(ps), grads(tps), strict=True):
        np.testing.assert_array_equal(np.isnan(g), np.isnan(tg_))


def test_get_total_norm_and_clip_grads_with_norm():
    ps, tps = params_with_grads(tg, "float64"), params_with_grads(torch, "float64")
    total = tgu.get_total_norm([p.grad for p in ps], norm_type=3.0)
    ttotal = torch.nn.utils.get_total_norm([p.grad for p in tps], norm_type=3.0)
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-12)
    tgu.clip_grads_with_norm_(ps, 2.0, total)
    torch.nn.utils.clip_grads_with_norm_(tps, 2.0, ttotal)
    for g, tg_ in zip(grads(ps), grads(tps), strict=True):
        np.testing.assert_allclose(g, tg_, rtol=1e-12)


def test_mixed_dtypes_promote():
    a = tg.zeros(3, dtype=tg.float32, requires_grad=True)
    b = tg.zeros(2, dtype=tg.float64, requires_grad=True)
    a.grad = tg.tensor([3.0, 0.0, 0.0], dtype=tg.float32)
    b.grad = tg.tensor([0.0, 4.0], dtype=tg.float64)
    total = tgu.clip_grad_norm_([a, b], 1.0)
    assert total.dtype == tg.float64 and total.item() == pytest.approx(5.0)
    assert a.grad.dtype == tg.float32
    np.testing.assert_allclose(a.grad.numpy(), [0.6, 0, 0], rtol=1e-6)


def test_clip_bumps_version_and_keeps_the_grad_object():
    p = params_with_grads(tg, "float32")[0]
    g = p.grad
    v = g._version
    tgu.clip_grad_norm_([p], 0.1)
    assert p.grad is g and g._version > v


def test_deprecated_clip_grad_norm():
    ps = params_with_grads(tg, "float32")
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        tgu.clip_grad_norm(ps, 1.0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_clip_grad_value_matches_torch(dtype):
    ps, tps = params_with_grads(tg, dtype, none_at=2), params_with_grads(torch, dtype, none_at=2)
    ps[0].grad[0, 1] = float("nan")
    tps[0].grad[0, 1] = float("nan")
    assert tgu.clip_grad_value_(ps, 1.5) is None
    torch.nn.utils.clip_grad_value_(tps, 1.5)
    for g, tg_ in zip(grads(ps), grads(tps), strict=True):
        if tg_ is None:
            assert g is None
        else:
            np.testing.assert_array_equal(g, tg_)
    assert np.nanmax(np.abs(grads(ps)[0])) == 1.5


def test_parameters_to_vector_and_back():
    ps = [tg.tensor(v, requires_grad=True) for v in VALUES]
    tps = [torch.tensor(v, requires_grad=True) for v in VALUES]
    vec = tgu.parameters_to_vector(ps)
    tvec = torch.nn.utils.parameters_to_vector(tps)
    np.testing.assert_array_equal(vec.detach().numpy(), tvec.detach().numpy())
    # differentiable: gradients flow back to every parameter
    (vec * tg.arange(vec.numel(), dtype=tg.float64)).sum().backward()
    assert ps[1].grad.tolist() == list(range(12, 17))

    new = tg.arange(vec.numel(), dtype=tg.float64)
    tgu.vector_to_parameters(new, ps)
    tnew = torch.arange(tvec.numel(), dtype=torch.float64)
    torch.nn.utils.vector_to_parameters(tnew, tps)
    for p, tp in zip(ps, tps, strict=True):
        assert p.shape == tp.shape
        np.testing.assert_array_equal(p.detach().numpy(), tp.detach().numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        new[0] = 100.0  # the parameters share memory with the vector (as in torch)
    assert ps[0].detach().numpy()[0, 0] == 100.0
    with pytest.raises(TypeError, match="expected tapegrad.Tensor, but got: list"):
        tgu.vector_to_parameters([1.0], ps)
