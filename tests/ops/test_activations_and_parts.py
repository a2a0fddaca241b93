"""The activations added with the database (celu, selu, mish, hardswish, hardsigmoid,
softshrink, hardshrink, softsign, tanhshrink, glu, prelu, rrelu, softmin, threshold, relu6),
their modules, and the small elementwise ops beside them (frexp, nan_to_num, the complex
parts of real tensors, the float predicates), against torch in float64, edges included."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad as tg

RNG = np.random.default_rng(3)
EDGES = np.array([0.0, -0.0, 3.0, -3.0, 0.5, -0.5, 6.0, 1e30, -1e30, np.inf, -np.inf])

ACTIVATIONS = {
    "celu": lambda F, x: F.celu(x, alpha=0.5), "selu": lambda F, x: F.selu(x),
    "elu": lambda F, x: F.elu(x, alpha=0.8), "mish": lambda F, x: F.mish(x),
    "hardswish": lambda F, x: F.hardswish(x), "hardsigmoid": lambda F, x: F.hardsigmoid(x),
    "softshrink": lambda F, x: F.softshrink(x, 0.5), "hardshrink": lambda F, x: F.hardshrink(x),
    "softsign": lambda F, x: F.softsign(x), "tanhshrink": lambda F, x: F.tanhshrink(x),
    "relu6": lambda F, x: F.relu6(x), "threshold": lambda F, x: F.threshold(x, 0.5, -2.0),
    "logsigmoid": lambda F, x: F.logsigmoid(x),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_value_gradient_and_second_derivative_match_torch(name):
    x_np = np.concatenate([RNG.uniform(-5, 5, 30), EDGES])
    rows = []
    for lib in (tg, torch):
        x = lib.tensor(x_np, dtype=lib.float64, requires_grad=True)
        y = ACTIVATIONS[name](lib.nn.functional, x)
        v = lib.tensor(np.linspace(-1, 1, x_np.size), dtype=lib.float64)
        (g,) = lib.autograd.grad(y, x, v, create_graph=True)
        finite = lib.tensor(np.abs(x_np) < 1e29)  # second derivatives on finite x only
        # (torch has no second derivative of hardsigmoid: its first is piecewise constant)
        second = lib.autograd.grad((g * finite).sum(), x, allow_unused=True)[0] \
            if g.requires_grad and name != "hardsigmoid" else None
        rows.append([y.detach().numpy(), g.detach().numpy(),
                     None if second is None else second.numpy()])
    (y0, g0, s0), (y1, g1, s1) = rows
    np.testing.assert_allclose(y0, y1, rtol=1e-12, atol=1e-14, equal_nan=True)
    np.testing.assert_allclose(g0, g1, rtol=1e-7, atol=1e-14, equal_nan=True)  # torch: float 1/6
    if s0 is not None and s1 is not None:
        np.testing.assert_allclose(s0, s1, rtol=1e-7, atol=1e-12, equal_nan=True)


def test_threshold_keeps_nan_and_passes_its_gradient():
    """torch's threshold is "value where x ≤ threshold": NaN is not ≤, so it stays NaN."""
    x = tg.tensor([float("nan"), 0.1, 2.0], requires_grad=True)
    y = tg.nn.functional.threshold(x, 0.5, -1.0)
    y.sum().backward()
    assert np.isnan(y.detach().numpy()[0]) and y.detach().numpy()[1] == -1.0
    assert x.grad.numpy().tolist() == [1.0, 0.0, 1.0]


def test_glu_prelu_softmin_match_torch():
    x_np, w_np = RNG.standard_normal((2, 3, 4)), np.array([0.1, -0.3, 0.25])
    rows = []
    for lib in (tg, torch):
        F = lib.nn.functional
        x = lib.tensor(x_np, requires_grad=True)
        w = lib.tensor(w_np, requires_grad=True)
        outs = [F.glu(x, dim=-1), F.glu(x, 0) if False else F.glu(x[:, :2], 1), F.prelu(x, w),
                F.prelu(x, w[:1]), F.softmin(x, dim=1), F.softmin(x, 2, dtype=lib.float32)]
        total = sum((o.double() * (k + 1)).sum() for k, o in enumerate(outs))
        grads = lib.autograd.grad(total, (x, w))
        rows.append([o.detach().numpy() for o in outs] + [g.numpy() for g in grads])
    for got, want in zip(*rows, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_rrelu_eval_is_leaky_relu_and_training_draws_slopes_in_range():
    x = tg.tensor(np.linspace(-3, 3, 2001), requires_grad=True)
    ev = tg.nn.functional.rrelu(x, 0.1, 0.3, training=False)
    np.testing.assert_allclose(ev.detach().numpy(), torch.nn.functional.leaky_relu(
        torch.tensor(x.detach().numpy()), 0.2).numpy(), rtol=1e-15)
    tg.manual_seed(0)
    tr = tg.nn.functional.rrelu(x, 0.1, 0.3, training=True)
    tr.sum().backward()
    neg = x.detach().numpy() <= 0  # x ≤ 0 draws a slope (at 0 too, as torch)
    slopes = tr.detach().numpy()[neg][:-1] / x.detach().numpy()[neg][:-1]  # (not at 0)
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    np.testing.assert_allclose(x.grad.numpy()[neg][:-1], slopes, rtol=1e-12)  # the slope
    assert (x.grad.numpy()[~neg] == 1).all()
    m = tg.nn.RReLU(0.1, 0.3)
    m.eval()
    np.testing.assert_allclose(m(x).detach().numpy(), ev.detach().numpy())


def test_prelu_module_learns_one_slope_per_channel():
    m, tm = tg.nn.PReLU(3, init=0.1), torch.nn.PReLU(3, init=0.1)
    x_np = RNG.standard_normal((4, 3, 5))
    y, ty = m(tg.tensor(x_np)), tm(torch.tensor(x_np, dtype=torch.float32))
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(m.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-5)


@pytest.mark.parametrize(("call", "error"), [
    (lambda lib: lib.nn.functional.glu(lib.ones(3, 5)), RuntimeError),
    (lambda lib: lib.nn.functional.glu(lib.tensor(1.0)), RuntimeError),
    (lambda lib: lib.nn.functional.prelu(lib.ones(2, 3), lib.ones(2)), RuntimeError),
    (lambda lib: lib.nn.functional.softshrink(lib.ones(2), -1.0), RuntimeError),
    (lambda lib: lib.nn.functional.rrelu(lib.ones(2), 0.3, 0.1), RuntimeError),
    (lambda lib: lib.nn.Softmax2d()(lib.ones(2, 3)), ValueError),
    (lambda lib: lib.nn.functional.mish(lib.tensor([1, 2])), NotImplementedError),
    (lambda lib: lib.frexp(lib.tensor([1, 2])), RuntimeError),
    (lambda lib: lib.mvlgamma(lib.tensor([True]), 1), RuntimeError),
])
def test_bad_input_raises_torchs_exception_type(call, error):
    with pytest.raises(error):
        call(torch)
    with pytest.raises(error):
        call(tg)


def test_frexp_nan_to_num_and_angle_match_torch():
    x_np = np.array([3.0, -0.375, 0.0, 1e-310, 7e30, np.inf, -np.inf, np.nan])
    rows = []
    for lib in (tg, torch):
        x = lib.tensor(x_np, requires_grad=True)
        m, e = lib.frexp(x)
        n = lib.nan_to_num(x, nan=1.5, posinf=9.0)
        a = lib.angle(x)
        (m * 2).nan_to_num().sum().backward()  # (two sums: +max and −max would make a NaN)
        (n * 3).nan_to_num().sum().backward()
        rows.append([m.detach().numpy(), e.numpy(), str(e.dtype)[-5:], n.detach().numpy(),
                     a.detach().numpy(), x.grad.numpy()])
    for got, want in zip(*rows, strict=True):
        if isinstance(got, str):
            assert got == want
        else:
            np.testing.assert_allclose(got, want, rtol=1e-15, equal_nan=True)


def test_predicates_and_complex_parts_of_real_tensors():
    x_np = np.array([-1.5, -0.0, 0.0, 2.0, np.inf, -np.inf, np.nan])
    x, t = tg.tensor(x_np), torch.tensor(x_np)
    for name in ("signbit", "isposinf", "isneginf", "isreal"):
        assert getattr(tg, name)(x).numpy().tolist() == getattr(torch, name)(t).numpy().tolist()
    assert tg.real(x) is x and x.real is x and tg.conj(x) is x  # a real tensor is its own
    assert tg.conj_physical(x) is not x
    np.testing.assert_array_equal(tg.conj_physical(x).numpy(), x_np)
    assert tg.resolve_conj(x) is x and tg.resolve_neg(x) is x


def test_is_inference_says_where_a_tensor_was_made():
    with tg.inference_mode():
        made = tg.ones(2)
    assert made.is_inference() and not tg.ones(2).is_inference()
