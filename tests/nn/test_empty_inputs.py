"""Layers on empty inputs (a batch of 0 samples, or an empty spatial dim) against torch.

An empty batch has no statistics. BatchNorm used to divide 0 by 0 and fold the NaN into
its running averages (every later eval output NaN) or hit a raw numpy reshape error when
the batch size was 0; torch returns an empty output and leaves the statistics unchanged.
Each case runs forward and backward in both libraries and compares the output shape, every
buffer and every parameter gradient exactly (all are zeros/ones: nothing to round).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad

LAYERS = [
    ("BatchNorm1d", (3,), (0, 3)),
    ("BatchNorm1d", (3,), (0, 3, 5)),
    ("BatchNorm1d", (3,), (2, 3, 0)),
    ("BatchNorm2d", (3,), (2, 3, 0, 4)),
    ("BatchNorm2d", (3,), (0, 3, 2, 2)),
    ("BatchNorm3d", (3,), (0, 3, 1, 1, 1)),
    ("Linear", (3, 2), (0, 3)),
    ("Conv1d", (3, 2, 3), (0, 3, 5)),
    ("Conv2d", (3, 2, 3), (0, 3, 5, 5)),
    ("MaxPool2d", (2,), (0, 3, 4, 4)),
    ("AvgPool2d", (2,), (0, 3, 4, 4)),
    ("AdaptiveAvgPool2d", (2,), (0, 3, 4, 4)),
    ("LayerNorm", (4,), (0, 4)),
    ("LayerNorm", (4,), (2, 0, 4)),
    ("Dropout", (0.5,), (0, 3)),
    ("ReLU", (), (0, 3)),
    ("Softmax", (1,), (0, 3)),
    ("LogSoftmax", (1,), (0, 3)),
    ("Flatten", (), (0, 3, 2)),
    ("LSTM", (3, 4), (2, 0, 3)),
    ("GRU", (3, 4), (2, 0, 3)),
    ("TransformerEncoderLayer", (4, 2, 8, 0.0), (0, 2, 4)),
]


def _run(lib, name, args, shape, train):
    torch.manual_seed(0)
    tapegrad.manual_seed(0)
    m = getattr(lib.nn, name)(*args)
    m.train(train)
    x = lib.zeros(*shape, requires_grad=True)
    y = m(x)
    y = y[0] if isinstance(y, tuple) else y
    y.sum().backward()
    return (tuple(y.shape), tuple(x.grad.shape),
            {k: v.detach().numpy() for k, v in m.named_buffers()},  # params: random init
            {k: p.grad.numpy() for k, p in m.named_parameters() if p.grad is not None})


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize(("name", "args", "shape"), LAYERS,
                         ids=[f"{n}{list(s)}" for n, _, s in LAYERS])
def test_empty_input_matches_torch(name, args, shape, train):
    want = _run(torch, name, args, shape, train)
    got = _run(tapegrad, name, args, shape, train)
    assert got[:2] == want[:2]
    for part in (2, 3):  # buffers (running stats, num_batches_tracked) and grads
        assert got[part].keys() == want[part].keys()
        for k in want[part]:
            np.testing.assert_array_equal(got[part][k], want[part][k], err_msg=k)


def test_empty_batch_does_not_poison_later_eval():
    """The issue's case: one empty training batch, then eval on real data stays finite
    and equal to torch's."""
    x = np.random.default_rng(0).standard_normal((4, 3, 2, 2)).astype(np.float32)
    outs = []
    for lib in (torch, tapegrad):
        bn = lib.nn.BatchNorm2d(3)
        bn(lib.zeros(2, 3, 0, 4))
        bn(lib.tensor(x))
        bn.eval()
        outs.append(bn(lib.tensor(x)).detach().numpy())
    assert np.isfinite(outs[1]).all()
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_rnn_with_no_steps_gives_torch_error(name):
    with pytest.raises(RuntimeError) as want:
        getattr(torch.nn, name)(3, 4)(torch.zeros(0, 2, 3))
    with pytest.raises(RuntimeError) as got:
        getattr(tapegrad.nn, name)(3, 4)(tapegrad.zeros(0, 2, 3))
    assert str(got.value) == str(want.value)
