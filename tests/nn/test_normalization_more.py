"""Group, instance, RMS and local-response norm and the native_* forms against torch in
float64, beyond the database's cases: instance norm's running statistics over several
training steps, second derivatives of the composites, the default eps of rms_norm, 3-d and
5-d local response norm, and the module error messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad
import tapegrad.nn as nn
import tapegrad.nn.functional as F

RTOL = ATOL = 1e-10


def _pair(shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    return tapegrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def _close(got, want):
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=RTOL,
                               atol=ATOL)


@pytest.mark.parametrize("fn, tfn, shape, kwargs", [
    (F.group_norm, torch.nn.functional.group_norm, (3, 6, 5), {"num_groups": 3}),
    (F.rms_norm, torch.nn.functional.rms_norm, (3, 4, 5), {"normalized_shape": (4, 5)}),
    (F.local_response_norm, torch.nn.functional.local_response_norm, (2, 7, 3),
     {"size": 3}),
    (F.local_response_norm, torch.nn.functional.local_response_norm, (2, 6, 2, 3, 2),
     {"size": 4, "alpha": 0.1, "beta": 0.5, "k": 2.0}),
    (F.instance_norm, torch.nn.functional.instance_norm, (2, 3, 6), {}),
])
def test_second_derivatives_match_torch(fn, tfn, shape, kwargs):
    g, t = _pair(shape, 0)
    out, want = fn(g, **kwargs), tfn(t, **kwargs)
    _close(out, want)
    cot = np.random.default_rng(1).standard_normal(out.shape)
    (dg,) = tapegrad.autograd.grad(out, g, tapegrad.tensor(cot), create_graph=True)
    (dt,) = torch.autograd.grad(want, t, torch.tensor(cot), create_graph=True)
    _close(dg, dt)
    (d2g,) = tapegrad.autograd.grad((dg * dg).sum(), g)
    (d2t,) = torch.autograd.grad((dt * dt).sum(), t)
    _close(d2g, d2t)


def test_instance_norm_running_stats_follow_torch():
    tg_mod = nn.InstanceNorm2d(3, affine=True, track_running_stats=True, momentum=0.3).double()
    th_mod = torch.nn.InstanceNorm2d(3, affine=True, track_running_stats=True,
                                     momentum=0.3).double()
    for step in range(3):
        g, t = _pair((4, 3, 5, 2), step)
        _close(tg_mod(g), th_mod(t))
    _close(tg_mod.running_mean, th_mod.running_mean)
    _close(tg_mod.running_var, th_mod.running_var)
    tg_mod.eval()
    th_mod.eval()
    g, t = _pair((3, 5, 2), 9)  # unbatched, normalised with the running statistics
    _close(tg_mod(g), th_mod(t))


def test_rms_norm_default_eps_is_machine_epsilon():
    x = np.full((2, 3), 1e-4, dtype=np.float32)
    got = F.rms_norm(tapegrad.tensor(x), (3,))
    want = torch.nn.functional.rms_norm(torch.tensor(x), (3,))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_native_forms_match_torch():
    g, t = _pair((2, 6, 4), 3)
    w = np.random.default_rng(4).standard_normal(6)
    outs = tapegrad.native_group_norm(g, tapegrad.tensor(w), None, 2, 6, 4, 3, 1e-5)
    wants = torch.native_group_norm(t, torch.tensor(w), None, 2, 6, 4, 3, 1e-5)
    for a, b in zip(outs, wants, strict=True):
        _close(a, b)
    outs = tapegrad.native_layer_norm(g, (4,), None, None, 1e-5)
    wants = torch.native_layer_norm(t, (4,), None, None, 1e-5)
    for a, b in zip(outs, wants, strict=True):
        _close(a, b)
    outs = tapegrad.native_batch_norm(g, None, None, None, None, True, 0.1, 1e-5)
    wants = torch.native_batch_norm(t, None, None, None, None, True, 0.1, 1e-5)
    for a, b in zip(outs, wants, strict=True):
        _close(a, b)


GROUPS = r"num_channels \(6\) must be divisible by num_groups \(4\)"


def test_module_errors_match_torch():
    with pytest.raises(ValueError, match=GROUPS):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=GROUPS):
        torch.nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.InstanceNorm1d(3)(tapegrad.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        torch.nn.InstanceNorm1d(3)(torch.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match="Expected more than 1 spatial element"):
        F.instance_norm(tapegrad.ones(2, 3, 1))
    with pytest.raises(ValueError, match="Expected 3D or higher dimensionality input"):
        nn.LocalResponseNorm(2)(tapegrad.ones(2, 3))


@pytest.mark.parametrize("name, args, shape", [
    ("ReflectionPad2d", (1, 2, 0, 1), (2, 3, 4, 4)), ("ReplicationPad1d", 2, (2, 3, 4)),
    ("CircularPad3d", (1, 0, 1, 1, 0, 1), (1, 2, 3, 3, 3)), ("ZeroPad2d", 2, (3, 4, 4)),
    ("ConstantPad1d", ((2, -1), 3.5), (2, 5)),
])
def test_padding_modules_match_torch(name, args, shape):
    args = args if isinstance(args, tuple) and name.startswith("Constant") else (args,)
    g, t = _pair(shape, 5)
    out, want = getattr(nn, name)(*args)(g), getattr(torch.nn, name)(*args)(t)
    _close(out, want)
    assert repr(getattr(nn, name)(*args)).split("(")[0] == name


def test_circular_pad_rank_error():
    with pytest.raises(ValueError, match=r"expected 3D or 4D input \(got 2D input\)"):
        nn.CircularPad2d(1)(tapegrad.ones(3, 3))
    with pytest.raises(ValueError, match=r"expected 3D or 4D input \(got 2D input\)"):
        torch.nn.CircularPad2d(1)(torch.ones(3, 3))


@pytest.mark.parametrize("case", [
    lambda L: L.nn.functional.batch_norm(L.zeros(0), L.zeros(0), L.zeros(0), training=False),
    lambda L: L.nn.functional.batch_norm(L.zeros(3), L.zeros(3), L.ones(3), training=False),
    lambda L: L.nn.functional.batch_norm(L.zeros(0), None, None, training=True),
    lambda L: L.nn.functional.batch_norm(L.zeros(3), None, None, training=True),
    lambda L: L.nn.functional.batch_norm(L.zeros(3), None, None, training=False),
])
def test_batch_norm_of_a_1d_input_as_torch(case):
    """torch reads a 1-D input as having no channel dim: only an empty one normalises."""
    outcome = []
    for lib in (torch, tapegrad):
        try:
            outcome.append(("ok", tuple(case(lib).shape)))
        except Exception as exc:  # the exception type is what must agree
            outcome.append((type(exc).__name__, str(exc)))
    assert outcome[0] == outcome[1]
