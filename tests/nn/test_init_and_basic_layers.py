"""nn.init against torch's rules, and the simple layers (Linear, Embedding, Dropout,
activations, Flatten) against torch."""

import math

import numpy as np
import pytest
import torch

import tapegrad as tg
from tapegrad import nn
from tapegrad.nn import functional as F


@pytest.mark.parametrize("name,param", [("linear", None), ("relu", None), ("tanh", None),
                                        ("leaky_relu", 0.2), ("selu", None), ("conv2d", None)])
def test_calculate_gain_matches_torch(name, param):
    assert nn.init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param))


def test_default_linear_init_bounds_and_spread():
    tg.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w = layer.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound  # uniform's std


@pytest.mark.parametrize("fn,expected_std", [
    (lambda t: nn.init.xavier_uniform_(t), math.sqrt(2 / (200 + 100))),
    (lambda t: nn.init.xavier_normal_(t), math.sqrt(2 / (200 + 100))),
    (lambda t: nn.init.kaiming_normal_(t, nonlinearity="relu"), math.sqrt(2 / 100)),
    (lambda t: nn.init.kaiming_uniform_(t, nonlinearity="relu"), math.sqrt(2 / 100)),
])
def test_initialiser_variances(fn, expected_std):
    t = tg.empty(200, 100)
    fn(t)
    assert abs(t.numpy().std() - expected_std) < 0.03 * expected_std


def test_orthogonal_and_constants():
    t = tg.empty(6, 4)
    nn.init.orthogonal_(t)
    np.testing.assert_allclose(t.numpy().T @ t.numpy(), np.eye(4), atol=1e-5)
    assert nn.init.constant_(tg.empty(3), 0.5).tolist() == [0.5, 0.5, 0.5]
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(tg.empty(3))


def test_linear_nd_input_and_no_bias_match_torch():
    ta = torch.nn.Linear(4, 3, bias=False).double()
    a = nn.Linear(4, 3, bias=False).double()
    a.load_state_dict({"weight": tg.tensor(ta.weight.detach().numpy())})
    x = np.random.default_rng(0).standard_normal((2, 5, 4))
    xa, xt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    a(xa).sum().backward()
    ta(xt).sum().backward()
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy())
    np.testing.assert_allclose(a.weight.grad.numpy(), ta.weight.grad.numpy())


def test_embedding_matches_torch_with_padding_and_repeats():
    te = torch.nn.Embedding(6, 3, padding_idx=1).double()
    e = nn.Embedding(6, 3, padding_idx=1).double()
    e.load_state_dict({"weight": tg.tensor(te.weight.detach().numpy())})
    idx = np.array([[0, 1, 2, 2], [5, 1, 0, 0]])
    out, tout = e(tg.tensor(idx)), te(torch.tensor(idx))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy())
    g = np.random.default_rng(2).standard_normal(out.shape)
    out.backward(tg.tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(e.weight.grad.numpy(), te.weight.grad.numpy())
    assert e.weight.grad.numpy()[1].tolist() == [0.0, 0.0, 0.0]
    assert repr(e) == repr(te)
    with pytest.raises(IndexError, match="index out of range in self"):
        e(tg.tensor([6]))


def test_dropout_train_eval_and_scaling():
    tg.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = tg.ones(10_000, requires_grad=True)
    y = drop(x)
    kept = y.detach().numpy() != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy() != 0, kept)
    drop.eval()
    assert drop(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        nn.Dropout(1.5)


@pytest.mark.parametrize("name,args", [("ReLU", ()), ("LeakyReLU", (0.2,)), ("Sigmoid", ()),
                                       ("Tanh", ()), ("SiLU", ()), ("GELU", ()),
                                       ("GELU", ("tanh",)), ("ELU", (0.7,)),
                                       ("Softplus", (2.0, 10.0)), ("Hardtanh", (-0.5, 0.5)),
                                       ("Softmax", (1,)), ("LogSoftmax", (1,)),
                                       ("Flatten", ()), ("Identity", ())])
def test_activation_and_shape_modules_match_torch(name, args):
    x = np.random.default_rng(3).standard_normal((3, 4, 2))
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    xa, xt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ya, yt = ours(xa), theirs(xt)
    np.testing.assert_allclose(ya.detach().numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    ya.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_softmax_implicit_dim_warns_like_torch():
    x = tg.ones(2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        out = F.softmax(x)
    np.testing.assert_allclose(out.numpy(), np.full((2, 3), 1 / 3), rtol=1e-6)


def test_unflatten():
    x = tg.ones(2, 12)
    assert nn.Unflatten(1, (3, 4))(x).shape == (2, 3, 4)
