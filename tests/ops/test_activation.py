"""Activations and softmax/log_softmax vs torch: values, gradients, node names, kink
conventions, dtypes, in-place semantics, and double (and triple) backward."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import tapegrad as tg

RNG = np.random.default_rng(1)
X = RNG.standard_normal((3, 5)) * 2
KINKS = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])


def fn_of(lib, name):
    return getattr(F, name) if lib is torch else getattr(tg, name)


def both(name, x, dtype="float64", ones=False, **kwargs):
    """Run activation ``name`` in both libraries; returns [(out, x.grad)] * 2."""
    results = []
    up = np.ones_like(x) if ones else np.random.default_rng(2).standard_normal(x.shape)
    for lib in (tg, torch):
        dt = getattr(lib, dtype)
        t = lib.tensor(x, dtype=dt, requires_grad=True)
        out = fn_of(lib, name)(t, **kwargs)
        out.backward(lib.tensor(up, dtype=dt))
        results.append((out, t.grad))
    return results


def arr(t):
    return np.asarray(t.detach().numpy(force=True), dtype=np.float64)


ACTIVATIONS = [
    ("relu", {}, "ReluBackward0"), ("sigmoid", {}, "SigmoidBackward0"),
    ("tanh", {}, "TanhBackward0"), ("leaky_relu", {}, "LeakyReluBackward0"),
    ("leaky_relu", {"negative_slope": 0.2}, "LeakyReluBackward0"),
    ("hardtanh", {}, "HardtanhBackward0"),
    ("hardtanh", {"min_val": -0.5, "max_val": 2.0}, "HardtanhBackward0"),
    ("elu", {}, "EluBackward0"), ("elu", {"alpha": 0.5}, "EluBackward0"),
    ("softplus", {}, "SoftplusBackward0"),
    ("softplus", {"beta": 2.0, "threshold": 1.0}, "SoftplusBackward0"),
    ("gelu", {}, "GeluBackward0"), ("gelu", {"approximate": "tanh"}, "GeluBackward0"),
    ("silu", {}, "SiluBackward0"), ("logsigmoid", {}, "LogSigmoidBackward0"),
    ("softmax", {"dim": 1}, "SoftmaxBackward0"), ("softmax", {"dim": 0}, "SoftmaxBackward0"),
    ("log_softmax", {"dim": -1}, "LogSoftmaxBackward0"),
    ("log_softmax", {"dim": 0}, "LogSoftmaxBackward0"),
]
IDS = [f"{a[0]}-{'-'.join(map(str, a[1].values()))}" for a in ACTIVATIONS]


@pytest.mark.parametrize(("name", "kwargs", "node"), ACTIVATIONS, ids=IDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_activation_matches_torch(name, kwargs, node, dtype):
    tol = dict(rtol=1e-12, atol=1e-13) if dtype == "float64" else dict(rtol=3e-6, atol=3e-6)
    (out, g), (out_t, g_t) = both(name, X, dtype, **kwargs)
    assert type(out.grad_fn).__name__ == node == type(out_t.grad_fn).__name__
    assert out.dtype.name == dtype and g.dtype.name == dtype
    np.testing.assert_allclose(arr(out), arr(out_t), **tol)
    np.testing.assert_allclose(arr(g), arr(g_t), **tol)


@pytest.mark.parametrize(("name", "kwargs"), [
    ("relu", {}), ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.3}),
    ("hardtanh", {}), ("hardtanh", {"min_val": -0.5, "max_val": 0.5}), ("elu", {}),
    ("elu", {"alpha": 2.0}), ("softplus", {"beta": 2.0, "threshold": 1.0}),
    ("gelu", {}), ("silu", {}), ("logsigmoid", {}),
], ids=lambda v: v if isinstance(v, str) else "-".join(map(str, v.values())))
def test_gradients_at_kinks_follow_torch_exactly(name, kwargs):
    (out, g), (out_t, g_t) = both(name, KINKS, ones=True, **kwargs)
    np.testing.assert_allclose(arr(out), arr(out_t), rtol=1e-15, atol=0)
    np.testing.assert_allclose(arr(g), arr(g_t), rtol=1e-15, atol=0)  # last-bit rounding only


def test_the_conventions_by_name():
    def grad_at(fn, values):
        x = tg.tensor(values, dtype=tg.float64, requires_grad=True)
        fn(x).backward(tg.ones(len(values), dtype=tg.float64))
        return x.grad.tolist()

    assert grad_at(tg.relu, [0.0]) == [0.0]  # relu'(0) = 0
    assert grad_at(lambda x: tg.leaky_relu(x, 0.25), [0.0]) == [0.25]  # the slope at 0
    assert grad_at(tg.hardtanh, [-1.0, 1.0]) == [0.0, 0.0]  # edges excluded (clamp: included)
    assert grad_at(lambda x: tg.elu(x, alpha=3.0), [0.0]) == [3.0]  # alpha at 0


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "leaky_relu", "hardtanh", "elu",
                                  "softplus", "gelu", "silu", "logsigmoid"])
def test_special_values(name):
    x = np.array([0.0, -0.0, 1e-300, 50.0, -50.0, 800.0, -800.0, np.inf, -np.inf, np.nan])
    if name == "gelu":  # torch's gelu(inf) is inf or nan depending on its vectorised path
        x = x[np.isfinite(x) | np.isnan(x)]
    for dtype in ("float64", "float32"):
        got = fn_of(tg, name)(tg.tensor(x, dtype=getattr(tg, dtype)))
        want = fn_of(torch, name)(torch.tensor(x, dtype=getattr(torch, dtype)))
        np.testing.assert_allclose(arr(got), arr(want), rtol=1e-6, atol=1e-30, equal_nan=True)


def test_softmax_family_edge_cases():
    big = np.array([[1000.0, 0.0, -1000.0], [-np.inf, 0.0, 1.0]])
    for name in ("softmax", "log_softmax"):
        for x, dim in [(big, 1), (np.array(1.5), 0), (np.array(1.5), -1), (np.zeros((0, 3)), 0),
                       (np.zeros((0, 3)), 1), (RNG.standard_normal((2, 1, 3)), 1)]:
            (out, g), (out_t, g_t) = both(name, x, dim=dim)
            assert tuple(out.shape) == tuple(out_t.shape)
            np.testing.assert_allclose(arr(out), arr(out_t), rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(arr(g), arr(g_t), rtol=1e-12, atol=1e-12)
    # dtype=: the input is cast first, and the gradient cast back
    for lib in (tg, torch):
        x = lib.tensor(X, dtype=lib.float32, requires_grad=True)
        y = x.log_softmax(1, dtype=lib.float64)
        assert y.dtype == lib.float64
        y.sum().backward()
        assert x.grad.dtype == lib.float32
    assert tg.tensor([1, 2]).softmax(0, dtype=tg.float32).dtype is tg.float32
    with pytest.raises(NotImplementedError, match="softmax_lastdim_kernel_impl"):
        tg.tensor([1, 2]).softmax(0)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-2, 1\], but got 2\)"):
        tg.softmax(tg.zeros(2, 3), 2)


def test_dtype_rules():
    i = np.array([1, -2, 3])
    for name in ("relu", "sigmoid", "tanh", "hardtanh"):
        got, want = fn_of(tg, name)(tg.tensor(i)), fn_of(torch, name)(torch.tensor(i))
        assert got.dtype.name == str(want.dtype).split(".")[-1], name
        np.testing.assert_allclose(arr(got), arr(want), rtol=1e-6)
    for name in ("leaky_relu", "elu", "softplus", "gelu", "silu", "logsigmoid"):
        with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
            fn_of(tg, name)(tg.tensor(i))
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        tg.gelu(tg.zeros(2), approximate="fast")
    with pytest.raises(TypeError, match=r"relu\(\): argument 'input'"):
        tg.relu([1.0])


# ------------------------------------------------------------------ double backward
DOUBLE = [
    ("tanh", {}, "TanhBackwardBackward0"), ("sigmoid", {}, "SigmoidBackwardBackward0"),
    ("softmax", {"dim": 1}, "SoftmaxBackwardDataBackward0"),
    ("softmax", {"dim": 0}, "SoftmaxBackwardDataBackward0"),
    ("log_softmax", {"dim": 1}, "LogSoftmaxBackwardDataBackward0"),
    ("log_softmax", {"dim": -2}, "LogSoftmaxBackwardDataBackward0"),
    ("relu", {}, "ThresholdBackwardBackward0"), ("leaky_relu", {}, "LeakyReluBackwardBackward0"),
    ("hardtanh", {}, "HardtanhBackwardBackward0"), ("elu", {"alpha": 1.5},
                                                    "EluBackwardBackward0"),
    ("softplus", {"beta": 1.5, "threshold": 2.0}, "SoftplusBackwardBackward0"),
    ("gelu", {}, "GeluBackwardBackward0"),
    ("gelu", {"approximate": "tanh"}, "GeluBackwardBackward0"),
    ("logsigmoid", {}, "LogSigmoidBackwardBackward0"), ("silu", {}, None),
]


@pytest.mark.parametrize(("name", "kwargs", "node"), DOUBLE,
                         ids=[f"{d[0]}-{'-'.join(map(str, d[1].values()))}" for d in DOUBLE])
def test_double_backward_matches_torch(name, kwargs, node):
    """grad(create_graph=True), then the gradient of that (w.r.t. x and the upstream v)."""
    rng = np.random.default_rng(3)
    x_np = rng.standard_normal((3, 4)) * 1.5
    v_np, w_np = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    got = []
    for lib in (tg, torch):
        x = lib.tensor(x_np, dtype=lib.float64, requires_grad=True)
        v = lib.tensor(v_np, dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad(fn_of(lib, name)(x, **kwargs), x, v, create_graph=True)
        if node is not None:
            assert type(g.grad_fn).__name__ == node
        ggx, ggv = lib.autograd.grad(g, (x, v), lib.tensor(w_np, dtype=lib.float64))
        got.append((arr(g), arr(ggx), arr(ggv)))
    for a, b in zip(got[0], got[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "gelu", "softplus", "logsigmoid"])
def test_third_derivative_matches_torch(name):
    x_np = np.linspace(-2.5, 2.5, 7)
    got = []
    for lib in (tg, torch):
        x = lib.tensor(x_np, dtype=lib.float64, requires_grad=True)
        y = fn_of(lib, name)(x).sum()
        (g1,) = lib.autograd.grad(y, x, create_graph=True)
        (g2,) = lib.autograd.grad(g1.sum(), x, create_graph=True)
        (g3,) = lib.autograd.grad(g2.sum(), x)
        got.append(arr(g3))
    np.testing.assert_allclose(got[0], got[1], rtol=1e-10, atol=1e-12)


def test_double_backward_keeps_float32():
    for name, kwargs in [("tanh", {}), ("sigmoid", {}), ("softmax", {"dim": 1}),
                         ("log_softmax", {"dim": 1}), ("gelu", {})]:
        x = tg.tensor(X, dtype=tg.float32, requires_grad=True)
        (g,) = tg.autograd.grad(fn_of(tg, name)(x, **kwargs), x, tg.ones(3, 5),
                                create_graph=True)
        (gg,) = tg.autograd.grad(g.sum_to_size(1), x)
        assert g.dtype is tg.float32 and gg.dtype is tg.float32, name


# ------------------------------------------------------------------ in-place
def test_relu_inplace_semantics():
    for lib in (tg, torch):
        x = lib.tensor([-1.0, 0.0, 2.0], requires_grad=True)
        h = x * 2
        y = h.relu_()
        assert y is h and h._version == 1
        assert type(h.grad_fn).__name__ == "ReluBackward0"
        y.sum().backward()
        assert x.grad.tolist() == [0.0, 0.0, 2.0]
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being "
                                               "used in an in-place operation."):
            lib.tensor([1.0], requires_grad=True).relu_()


def test_modified_saved_outputs_are_detected_like_torch():
    scenarios = [
        lambda lib, x: x.sigmoid(),  # the brief's example: y = x.sigmoid(); y.mul_(2)
        lambda lib, x: x.tanh(),
        lambda lib, x: x.relu(),
        lambda lib, x: x.softmax(0),
        lambda lib, x: x.log_softmax(0),
        lambda lib, x: (x * 1).relu_(),
    ]
    for make in scenarios:
        messages = []
        for lib in (tg, torch):
            x = lib.tensor([0.5, -1.5, 2.0], requires_grad=True)
            y = make(lib, x)
            y.mul_(2)
            with pytest.raises(RuntimeError) as err:
                y.sum().backward()
            messages.append(str(err.value))
        assert "modified by an inplace operation" in messages[0]
        assert "expected version" in messages[0]
    for lib in (tg, torch):  # relu then relu_: the first ReluBackward0's saved output changed
        x = lib.tensor([0.5, -1.5], requires_grad=True)
        y = x.relu()
        y.relu_()
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
    for lib in (tg, torch):  # a saved *input* (gelu saves x)
        x = lib.tensor([0.5, -1.5], requires_grad=True)
        h = x * 1
        y = fn_of(lib, "gelu")(h)
        h.add_(1.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


@pytest.mark.parametrize(("name", "kwargs"), [("leaky_relu", {"negative_slope": 0.1}),
                                              ("elu", {}), ("hardtanh", {}), ("silu", {})])
def test_inplace_flag_of_functional_forms(name, kwargs):
    x_np = np.array([-2.0, -0.3, 0.4, 1.7])
    grads, outs = [], []
    for lib in (tg, torch):
        x = lib.tensor(x_np, dtype=lib.float64, requires_grad=True)
        h = x * 1.5
        y = fn_of(lib, name)(h, inplace=True, **kwargs)
        assert y is h and h._version >= 1
        (y * y).sum().backward()
        grads.append(arr(x.grad))
        outs.append(arr(y))
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-13)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)
