"""RNN / LSTM / GRU and their cells against torch.

Weights come from the torch module's state_dict (same names, so it loads as is). Compared:
outputs, final states, gradients of the input, of the initial states and of every
parameter; float64 at rtol 1e-10 and float32 at rtol 1e-4 / atol 1e-5 (the recurrences
multiply many float32 roundings). Dropout between layers is checked in eval (identity) and
with p=1 in training (deterministic: the next layer sees zeros).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import tapegrad
from tapegrad.nn.modules.rnn import GRU, LSTM, RNN
from tapegrad.nn.modules.rnn_cells import GRUCell, LSTMCell, RNNCell
from tapegrad.testing.gradcheck import gradcheck, gradgradcheck

TOL = {"float64": {"rtol": 1e-10, "atol": 1e-10}, "float32": {"rtol": 1e-4, "atol": 1e-5}}
NP = {"float64": np.float64, "float32": np.float32}
PAIRS = {"RNN": (RNN, torch.nn.RNN), "LSTM": (LSTM, torch.nn.LSTM), "GRU": (GRU, torch.nn.GRU),
         "RNNCell": (RNNCell, torch.nn.RNNCell), "LSTMCell": (LSTMCell, torch.nn.LSTMCell),
         "GRUCell": (GRUCell, torch.nn.GRUCell)}


def make(kind, dtype, *args, **kwargs):
    tg_cls, th_cls = PAIRS[kind]
    th = th_cls(*args, **kwargs).to(getattr(torch, dtype))
    tg = tg_cls(*args, **kwargs).to(getattr(tapegrad, dtype))
    tg.load_state_dict({k: tapegrad.tensor(v.detach().numpy()) for k, v in
                        th.state_dict().items()})
    return tg, th


def close(got, want, dtype, msg=""):
    got, want = got.detach().numpy(), want.detach().numpy()
    assert got.shape == want.shape, f"{msg}: {got.shape} != {want.shape}"
    assert got.dtype == want.dtype, msg
    np.testing.assert_allclose(got, want, err_msg=msg, **TOL[dtype])


def flat(out):
    """(output, h) / (output, (h, c)) / h / (h, c) as a flat list of tensors."""
    if not isinstance(out, tuple):
        return [out]
    items = []
    for o in out:
        items.extend(flat(o))
    return items


def compare(tg, th, dtype, rng, x_np, states_np=None):
    """Run both on the same input (and initial states), backprop random seeds through every
    output; compare outputs and the gradients of input, states and parameters."""
    x, xt = tapegrad.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    args, targs = [x], [xt]
    states, tstates = [], []
    if states_np is not None:
        states = [tapegrad.tensor(s, requires_grad=True) for s in states_np]
        tstates = [torch.tensor(s, requires_grad=True) for s in states_np]
        args.append(states[0] if len(states) == 1 else tuple(states))
        targs.append(tstates[0] if len(tstates) == 1 else tuple(tstates))
    outs, touts = flat(tg(*args)), flat(th(*targs))
    assert len(outs) == len(touts)
    loss, tloss = 0, 0
    for k, (o, ot) in enumerate(zip(outs, touts, strict=True)):
        close(o, ot, dtype, f"output {k}")
        seed = rng.standard_normal(tuple(ot.shape)).astype(NP[dtype])
        loss = loss + (o * tapegrad.tensor(seed)).sum()
        tloss = tloss + (ot * torch.tensor(seed)).sum()
    loss.backward()
    tloss.backward()
    close(x.grad, xt.grad, dtype, "input grad")
    for k, (s, st) in enumerate(zip(states, tstates, strict=True)):
        close(s.grad, st.grad, dtype, f"grad of initial state {k}")
    tparams = dict(th.named_parameters())
    assert [n for n, _ in tg.named_parameters()] == list(tparams)
    for name, p in tg.named_parameters():
        close(p.grad, tparams[name].grad, dtype, f"grad of {name}")


CONFIGS = [
    {},
    {"num_layers": 2},
    {"num_layers": 2, "bidirectional": True, "batch_first": True},
    {"bias": False, "bidirectional": True},
    {"num_layers": 3, "batch_first": True},
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in
                                                                  c.items()) or "default")
@pytest.mark.parametrize("with_state", [False, True])
def test_sequence_layers_match_torch(rng, dtype, kind, config, with_state):
    tg, th = make(kind, dtype, 5, 6, **config)
    seq, batch = 4, 3
    shape = (batch, seq, 5) if config.get("batch_first") else (seq, batch, 5)
    x = rng.standard_normal(shape).astype(NP[dtype])
    states = None
    if with_state:
        dirs = 2 if config.get("bidirectional") else 1
        hshape = (config.get("num_layers", 1) * dirs, batch, 6)
        states = [rng.standard_normal(hshape).astype(NP[dtype])
                  for _ in range(2 if kind == "LSTM" else 1)]
    compare(tg, th, dtype, rng, x, states)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_relu_rnn_proj_lstm_and_unbatched(rng, kind):
    extra = {"RNN": {"nonlinearity": "relu"}, "LSTM": {"proj_size": 3}, "GRU": {}}[kind]
    tg, th = make(kind, "float64", 4, 5, num_layers=2, bidirectional=True, **extra)
    compare(tg, th, "float64", rng, rng.standard_normal((6, 2, 4)))
    # unbatched (L, H_in), with and without states
    tg, th = make(kind, "float64", 4, 5, batch_first=True, **extra)
    compare(tg, th, "float64", rng, rng.standard_normal((6, 4)))
    h_size = 3 if kind == "LSTM" else 5
    states = [rng.standard_normal((1, h_size))] + ([rng.standard_normal((1, 5))]
                                                   if kind == "LSTM" else [])
    compare(tg, th, "float64", rng, rng.standard_normal((6, 4)), states)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_dropout_between_layers(rng, kind):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tg, th = make(kind, "float64", 4, 5, num_layers=2, dropout=1.0)
    x = rng.standard_normal((3, 2, 4))
    # eval: dropout is off, everything matches torch
    tg.eval()
    th.eval()
    compare(tg, th, "float64", rng, x)
    # training with p=1: layer 2 sees zeros (deterministic), the last layer is not dropped
    tg.train()
    th.train()
    compare(tg, th, "float64", rng, x)
    out = tg(tapegrad.tensor(x))[0]
    assert np.abs(out.detach().numpy()).min() > 0


def test_dropout_is_random_in_training_only():
    tapegrad.manual_seed(0)
    lstm = LSTM(4, 8, num_layers=2, dropout=0.5)
    x = tapegrad.randn(3, 2, 4)
    a, b = lstm(x)[0], lstm(x)[0]
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    lstm.eval()
    np.testing.assert_array_equal(lstm(x)[0].detach().numpy(), lstm(x)[0].detach().numpy())


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_parameters_names_init_and_repr(kind):
    tg_cls, th_cls = PAIRS[kind]
    kwargs = {"num_layers": 2, "bidirectional": True, "batch_first": True, "bias": False}
    tg, th = tg_cls(7, 16, **kwargs), th_cls(7, 16, **kwargs)
    assert repr(tg) == repr(th)
    assert repr(tg_cls(3, 4)) == repr(th_cls(3, 4))
    theirs = {n: tuple(p.shape) for n, p in th.named_parameters()}
    assert {n: tuple(p.shape) for n, p in tg.named_parameters()} == theirs
    assert list(tg.state_dict()) == list(th.state_dict())
    bound = 1 / math.sqrt(16)
    for p in tg.parameters():
        values = p.detach().numpy()
        assert p.dtype == tapegrad.float32
        assert np.all(np.abs(values) <= bound) and values.std() > bound / 4
    assert [[tuple(w.shape) for w in ws] for ws in tg.all_weights] == \
        [[tuple(w.shape) for w in ws] for ws in th.all_weights]
    tg.flatten_parameters()  # a no-op, as on CPU in torch


def test_lstm_proj_size_parameters_and_repr():
    tg, th = LSTM(4, 6, proj_size=2, num_layers=2), torch.nn.LSTM(4, 6, proj_size=2, num_layers=2)
    assert repr(tg) == repr(th)
    assert {n: tuple(p.shape) for n, p in tg.named_parameters()} == \
        {n: tuple(p.shape) for n, p in th.named_parameters()}


def test_rnn_errors():
    lstm = LSTM(3, 4)
    cases = [
        (lambda: lstm(tapegrad.randn(2, 2, 3, dtype=tapegrad.float64)), ValueError,
         r"^RNN input dtype \(tapegrad.float64\) does not match weight dtype \(tapegrad.float32"
         r"\). Convert input: input.to\(tapegrad.float32\), or convert model: "
         r"model.to\(tapegrad.float64\)$"),
        (lambda: lstm(tapegrad.randn(2, 2, 5)), RuntimeError,
         r"^input.size\(-1\) must be equal to input_size. Expected 3, got 5$"),
        (lambda: lstm(tapegrad.randn(2, 2, 3), (tapegrad.zeros(1, 3, 4), tapegrad.zeros(1, 2, 4))),
         RuntimeError, r"^Expected hidden\[0\] size \(1, 2, 4\), got \[1, 3, 4\]$"),
        (lambda: lstm(tapegrad.randn(2, 2, 3), (tapegrad.zeros(1, 2, 4), tapegrad.zeros(2, 2, 4))),
         RuntimeError, r"^Expected hidden\[1\] size \(1, 2, 4\), got \[2, 2, 4\]$"),
        (lambda: lstm(tapegrad.randn(2, 3, 3, 3)), ValueError,
         r"^LSTM: Expected input to be 2D or 3D, got 4D instead$"),
        (lambda: lstm(tapegrad.randn(5, 3), (tapegrad.zeros(1, 1, 4), tapegrad.zeros(1, 1, 4))),
         RuntimeError, r"^For unbatched 2-D input, hx and cx should also be 2-D but got \(3-D, "
         r"3-D\) tensors$"),
        (lambda: GRU(3, 4, 2)(tapegrad.randn(2, 2, 3), tapegrad.zeros(1, 2, 4)), RuntimeError,
         r"^Expected hidden size \(2, 2, 4\), got \[1, 2, 4\]$"),
        (lambda: GRU(3, 4)(tapegrad.randn(5, 3), tapegrad.zeros(1, 1, 4)), RuntimeError,
         r"^For unbatched 2-D input, hx should also be 2-D but got 3-D tensor$"),
        (lambda: RNN(3, 4)(tapegrad.randn(3)), ValueError,
         r"^RNN: Expected input to be 2D or 3D, got 1D tensor instead$"),
        (lambda: RNN(3, 4, nonlinearity="gelu"), ValueError,
         r"^Unknown nonlinearity 'gelu'. Select from 'tanh' or 'relu'.$"),
        (lambda: GRU(3, 4, proj_size=2), ValueError,
         r"^proj_size argument is only supported for LSTM, not RNN or GRU$"),
        (lambda: LSTM(3, 4, proj_size=4), ValueError, r"^proj_size has to be smaller than "),
        (lambda: LSTM(3, 4, dropout=1.5), ValueError, r"^dropout should be a number in range"),
        (lambda: LSTM(0, 4), ValueError, r"^input_size must be greater than zero$"),
    ]
    for fn, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            fn()
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        LSTM(3, 4, dropout=0.2)


# ------------------------------------------------------------------ cells
CELL_CASES = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu", "bias": False}),
              ("LSTMCell", {}), ("LSTMCell", {"bias": False}), ("GRUCell", {}),
              ("GRUCell", {"bias": False})]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind,kwargs", CELL_CASES)
def test_cells_match_torch(rng, dtype, kind, kwargs):
    tg, th = make(kind, dtype, 5, 7, **kwargs)
    assert repr(tg) == repr(th)
    assert list(tg.state_dict()) == list(th.state_dict())
    n_states = 2 if kind == "LSTMCell" else 1
    for batch_shape in [(4,), ()]:  # batched and unbatched
        x = rng.standard_normal(batch_shape + (5,)).astype(NP[dtype])
        compare(tg, th, dtype, rng, x)
        states = [rng.standard_normal(batch_shape + (7,)).astype(NP[dtype])
                  for _ in range(n_states)]
        tg.zero_grad()
        th.zero_grad()
        compare(tg, th, dtype, rng, x, states)
        tg.zero_grad()
        th.zero_grad()


def test_cell_errors():
    cases = [
        (lambda: RNNCell(3, 4)(tapegrad.randn(2, 5)), RuntimeError,
         r"^input has inconsistent input_size: got 5 expected 3$"),
        (lambda: RNNCell(3, 4)(tapegrad.randn(2, 3), tapegrad.randn(3, 4)), RuntimeError,
         r"^Input batch size 2 doesn't match hidden0 batch size 3$"),
        (lambda: LSTMCell(3, 4)(tapegrad.randn(2, 3), (tapegrad.randn(2, 4),
                                                       tapegrad.randn(2, 5))),
         RuntimeError, r"^hidden1 has inconsistent hidden_size: got 5, expected 4$"),
        (lambda: GRUCell(3, 4)(tapegrad.randn(3), tapegrad.randn(2, 4)), RuntimeError,
         r"^hidden0 has inconsistent hidden_size: got 2, expected 4$"),
        (lambda: GRUCell(3, 4)(tapegrad.randn(2, 2, 3)), ValueError,
         r"^GRUCell: Expected input to be 1D or 2D, got 3D instead$"),
        (lambda: LSTMCell(3, 4)(tapegrad.randn(3), (tapegrad.randn(1, 1, 4),
                                                    tapegrad.randn(4))),
         ValueError, r"^LSTMCell: Expected hx\[0\] to be 1D or 2D, got 3D instead$"),
    ]
    for fn, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            fn()


# ------------------------------------------------------------------ fused steps: autograd checks
def test_fused_steps_gradcheck_and_double_backward(rng):
    """The hand-written step backwards pass gradcheck; with create_graph=True they are
    recorded as ops, so gradgradcheck passes and second derivatives match torch."""
    for kind in ("LSTMCell", "GRUCell"):
        tg, th = make(kind, "float64", 3, 4)
        x_np = rng.standard_normal((2, 3))
        h_np = [rng.standard_normal((2, 4)) for _ in range(2 if kind == "LSTMCell" else 1)]

        def fn(x, *hs, tg=tg, kind=kind):
            out = tg(x, tuple(hs) if kind == "LSTMCell" else hs[0])
            return out if kind == "LSTMCell" else (out,)

        inputs = [tapegrad.tensor(x_np, requires_grad=True)] + [
            tapegrad.tensor(h, requires_grad=True) for h in h_np]
        assert gradcheck(fn, tuple(inputs))
        assert gradgradcheck(fn, tuple(inputs))
        # second derivative w.r.t. the weights, against torch
        x = tapegrad.tensor(x_np, requires_grad=True)
        xt = torch.tensor(x_np, requires_grad=True)
        hs = tuple(tapegrad.tensor(h) for h in h_np)
        hts = tuple(torch.tensor(h) for h in h_np)
        out = flat(tg(x, hs if kind == "LSTMCell" else hs[0]))
        tout = flat(th(xt, hts if kind == "LSTMCell" else hts[0]))
        (gx,) = tapegrad.autograd.grad(sum((o * o).sum() for o in out), (x,),
                                       create_graph=True)
        (gxt,) = torch.autograd.grad(sum((o * o).sum() for o in tout), (xt,), create_graph=True)
        close(gx, gxt, "float64")
        (gx * gx).sum().backward()
        (gxt * gxt).sum().backward()
        tparams = dict(th.named_parameters())
        for name, p in tg.named_parameters():
            close(p.grad, tparams[name].grad, "float64", f"{kind} second-order grad of {name}")


def tape_names(*outputs):
    """The class names of every tape entry the outputs reach."""
    seen, todo, names = set(), [o.grad_fn for o in outputs], []
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.append(type(node).__name__)
        todo.extend(n for n, _ in node.next_functions)
    return names


def test_one_tape_entry_per_layer_and_direction_and_per_cell_step():
    """nn.LSTM and nn.GRU record one fused entry per layer and direction (not per step); a
    loop over LSTMCell records one entry per step."""
    lstm = LSTM(3, 4, num_layers=2, bidirectional=True)
    out, (h, c) = lstm(tapegrad.randn(5, 2, 3))
    names = tape_names(out, h, c)
    assert names.count("LSTMLayerBackward") == 4
    assert "LSTMStepBackward" not in names
    out, h = GRU(3, 4, num_layers=3)(tapegrad.randn(5, 2, 3))
    assert tape_names(out, h).count("GRULayerBackward") == 3
    cell, h, c = LSTMCell(3, 4), tapegrad.zeros(2, 4), tapegrad.zeros(2, 4)
    for _ in range(5):
        h, c = cell(tapegrad.randn(2, 3), (h, c))
    assert tape_names(h).count("LSTMStepBackward") == 5


def test_fused_layer_refuses_a_modified_output():
    """The layer's output is a view of what its backward reads: writing into it in place
    must make backward raise (torch's saved-tensor version check), not give wrong grads."""
    lstm = LSTM(3, 4)
    out, _ = lstm(tapegrad.randn(5, 2, 3))
    out.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
