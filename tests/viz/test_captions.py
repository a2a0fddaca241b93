"""The stepper's captions carry the numbers, the shapes and the reasons (issue 13, item 2).

Every number a caption shows as a result is the engine's (the event's gradient), so each
test checks the caption against the ``.grad`` that backward leaves, or against torch.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import tapegrad as tg
from tapegrad import viz
from tapegrad.autograd.tape import Tape
from tapegrad.pointwise import RULES
from tapegrad.viz.captions import GENERIC, accumulation, templates_of


def _captions(out) -> list[str]:
    return [f.caption for f in viz.backprop_steps(out) if f.kind == "op"]


def test_scalar_neuron_caption_has_the_formula_and_its_numbers():
    x1, w1 = tg.Scalar(2.0, label="x1"), tg.Scalar(-3.0, label="w1")
    x2, w2 = tg.Scalar(0.0, label="x2"), tg.Scalar(1.0, label="w2")
    b = tg.Scalar(6.8813735870195432, label="b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    text = " ".join(_captions(o))
    o.backward()
    # ∂L/∂w1 = ∂L/∂%5·x1 = 0.5·2 = 1: symbols, then the numbers, then the engine's result
    m = re.search(r"∂L/∂w1 = ∂L/∂%(\d+)·x1 = (\d+(?:\.\d+)?)·2 = (\d+(?:\.\d+)?)", text)
    assert m, text
    assert float(m.group(2)) == pytest.approx(0.5, abs=1e-5)
    assert float(m.group(3)) == pytest.approx(w1.grad, rel=1e-5)
    m = re.search(r"∂L/∂x1 = ∂L/∂%\d+·w1 = \d+(?:\.\d+)?·\(−3\) = −(\d+(?:\.\d+)?)", text)
    assert m and -float(m.group(1)) == pytest.approx(x1.grad, rel=1e-5), text
    num = r"(\d+(?:\.\d+)?)"
    m = re.search(rf"∂L/∂%\d+ = ∂L/∂%\d+·\(1 − %\d+²\) = 1·\(1 − {num}²\) = {num}", text)
    assert m and float(m.group(1)) == pytest.approx(o.data, abs=1e-5), text
    assert float(m.group(2)) == pytest.approx(1 - o.data ** 2, rel=1e-5)


def test_linear_captions_show_shapes_and_the_bias_sum():
    x = tg.tensor(np.arange(12.0).reshape(4, 3) / 10)
    w = tg.tensor(np.ones((2, 3)), requires_grad=True)
    b = tg.tensor(np.zeros(2), requires_grad=True)
    loss = tg.nn.functional.linear(x, w, b).sum()
    text = " ".join(_captions(loss))
    assert "ᵀ·%0, every row of the batch adds up : (2, 3) = (4, 2)ᵀ·(4, 3)" in text, text
    assert "summed over dim 0: the bias was broadcast over the batch" in text
    assert GENERIC not in text
    # the bias gradient written is the engine's: 4 rows of ones summed
    loss.backward()
    assert np.array_equal(b.grad.numpy(), [4.0, 4.0]) and "= [4., 4.]" in text


def test_matmul_captions_show_both_shapes():
    a = tg.randn(4, 3, requires_grad=True)
    w = tg.randn(3, 2, requires_grad=True)
    text = " ".join(_captions((a @ w).sum()))
    assert ": (4, 3) = (4, 2)·(3, 2)ᵀ" in text and ": (3, 2) = (4, 3)ᵀ·(4, 2)" in text, text


def test_broadcast_add_says_what_was_summed():
    h = tg.randn(5, 3, requires_grad=True)
    c = tg.randn(1, 3, requires_grad=True)
    c.name = "c"
    text = " ".join(_captions((h + c).sum()))
    assert "summed over dim 0: c (1, 3) was broadcast to (5, 3)" in text, text
    v = tg.randn(3, requires_grad=True)
    text = " ".join(_captions((tg.randn(2, 4, 3) * v).sum()))
    assert "summed over dims 0, 1" in text, text


def test_accumulation_is_arithmetic_at_any_size():
    assert accumulation(0.5, 0.25, 0.75) == "0.5 + 0.25 = 0.75"
    big = np.full((4, 2), 0.5)
    text = accumulation(big, big / 2, big * 1.5)
    assert "element [0, 0]: 0.5 + 0.25 = 0.75" in text and "norm" in text
    assert not re.search(r"norm [^ ]+ \+ norm [^ ]+ = norm", text)  # not "norm a + norm b"
    # in a real step: h used twice, the second contribution is added to the first
    h = tg.randn(4, 2, dtype=tg.float64, requires_grad=True)
    y = h * h
    frames = viz.backprop_steps(y.sum())
    mul = next(f for f in frames if f.title.startswith("MulBackward0"))
    m = re.search(r"Accumulated in %0: \(4, 2\): element \[0, 0\]: (\S+) \+ \(?(\S+?)\)? = "
                  r"(\S+);", mul.caption)
    assert m, mul.caption
    nums = [float(g.replace("−", "-")) for g in m.groups()]
    assert nums[0] + nums[1] == pytest.approx(nums[2], rel=1e-5)
    assert nums[2] == pytest.approx(2 * float(h.detach().numpy()[0, 0]), rel=1e-5)


def test_big_pointwise_caption_shows_one_element_computed_by_the_engine():
    x = tg.tensor(np.linspace(-1, 1, 12).reshape(3, 4), requires_grad=True)
    loss = (x.tanh() * 3.0).sum()
    text = " ".join(_captions(loss))
    m = re.search(r"∂L/∂%0 = ∂L/∂%1·\(1 − %1²\), elementwise; element \[0, 0\]: "
                  r"3·\(1 − \(−(\d+(?:\.\d+)?)\)²\) = (\d+(?:\.\d+)?)", text)
    assert m, text
    xt = torch.tensor(np.linspace(-1, 1, 12).reshape(3, 4), requires_grad=True)
    (xt.tanh() * 3.0).sum().backward()
    assert float(m.group(1)) == pytest.approx(-np.tanh(-1.0), rel=1e-5)
    assert float(m.group(2)) == pytest.approx(float(xt.grad[0, 0]), rel=1e-5)


def _graphs():
    nn, F = tg.nn, tg.nn.functional
    tg.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    yield "mlp", F.cross_entropy(mlp(tg.randn(5, 3)), tg.tensor([0, 1, 1, 0, 1]))
    cnn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(8, 2))
    yield "cnn", F.cross_entropy(cnn(tg.randn(2, 1, 6, 6)), tg.tensor([0, 1]))
    att = nn.MultiheadAttention(4, 2, batch_first=True)
    q = tg.randn(1, 3, 4, requires_grad=True)
    yield "attention", att(q, q, q)[0].sum()
    q = tg.randn(2, 3, 4, requires_grad=True)
    k = tg.randn(2, 3, 4)
    yield "sdpa", (F.softmax(q @ k.transpose(1, 2) / 2.0, dim=-1) @ k).mean()
    a = tg.randn(3, 4, requires_grad=True)
    pieces = tg.cat([a[0:2].reshape(8), a.view(12)[1:3], a.max(dim=1)[0]])
    yield "shapes", (pieces.sum() + F.mse_loss(a, tg.zeros(3, 4))
                     + a.T.exp().sum(dim=0).mean() + F.log_softmax(a, dim=1)[:, 0].sum())


@pytest.mark.parametrize("name,out", list(_graphs()), ids=[n for n, _ in _graphs()])
def test_every_op_of_small_networks_gets_its_own_caption(name, out):
    entries = Tape.of(out).entries
    uncaptioned = {e.op for e in entries if not templates_of(e)
                   and e.op not in RULES and e.op.rstrip("_") not in RULES}
    assert not uncaptioned, uncaptioned
    captions = _captions(out)
    assert len(captions) == len(entries)
    for c in captions:
        assert GENERIC not in c and "∂L/∂" in c, c


def _functions() -> list[type]:
    """tapegrad's own Function classes (other tests' Functions share the worker process
    under xdist)."""
    import tapegrad.nn  # noqa: F401  (registers the layer Functions)
    from tapegrad.autograd.function import Function

    found, todo = [], [Function]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls is not Function and cls.__module__.startswith("tapegrad."):
            found.append(cls)
    return found


def test_every_function_states_its_caption_beside_its_backward():
    """One op, one place: a Function's caption is an attribute of the Function itself.
    Excluded, by rule: the pointwise Functions (their caption is their rule's formula),
    the ops a backward records under create_graph ("tanh_backward": they get the
    double-backward caption) and bases that are never recorded themselves."""
    missing = sorted(
        f"{cls.__module__}.{cls.__qualname__}" for cls in _functions()
        if not cls.caption and cls._node_class._op_name not in RULES
        and cls._node_class._op_name.rstrip("_") not in RULES
        and not cls._node_class._op_name.endswith("_backward")
        and cls.__subclasses__() == [])
    assert missing == []


def test_every_caption_names_only_known_placeholders():
    known = {"x0", "x1", "x2", "s0", "s1", "s2", "xi", "g", "sg", "so", "opts", "dim", "n",
             "bias"}
    for cls in _functions():
        for text in cls.caption:
            used = set(re.findall(r"{(\w+)}", text))
            assert used <= known, (cls.__qualname__, used - known)


def test_in_place_and_double_backward_captions():
    x = tg.randn(3, requires_grad=True)
    y = x * 1.0
    y.mul_(2.0)
    text = " ".join(_captions(y.sum()))
    assert "(in place)" in text and GENERIC not in text, text
    x = tg.randn(3, dtype=tg.float64, requires_grad=True)
    (g,) = tg.autograd.grad(x.tanh().sum(), x, create_graph=True)
    text = " ".join(_captions(g.sum()))
    assert GENERIC not in text and "∂L/∂" in text, text
