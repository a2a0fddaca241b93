"""Second-order stepping: the entries a backward pass recorded (create_graph=True) are
told apart from the forward's in the tape, the drawing and the stepper (issue 15.5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad as tg
from tapegrad import viz
from tapegrad.autograd.tape import Tape


def _hvp_program():
    x = tg.tensor([0.5, -1.0], dtype=tg.float64, requires_grad=True)
    y = (x.tanh() * x).sum()
    (g,) = tg.autograd.grad(y, x, create_graph=True)
    v = tg.tensor([1.0, 2.0], dtype=tg.float64)
    return x, g, (g * v).sum()


def test_the_tape_knows_which_pass_recorded_each_entry():
    x, g, gv = _hvp_program()
    entries = Tape.of(gv).entries
    made = {e.op for e in entries if e.backward_pass is not None}
    forward = {e.op for e in entries if e.backward_pass is None}
    assert "tanh_backward" in made and "add" in made  # the first pass's own work
    assert {"tanh", "sum"} <= forward  # the forward's, and the g·v written after it
    assert set(Tape.of(gv).backward_passes().values()) == {1}
    # a second graph-building pass gets number 2 in a tape that holds both
    (h,) = tg.autograd.grad(gv, x, create_graph=True)
    assert set(Tape.of(h.sum()).backward_passes().values()) == {1, 2}


def test_a_forward_only_tape_has_no_backward_pass():
    x = tg.randn(3, requires_grad=True)
    y = (x * 2).exp().sum()
    y.backward()  # without create_graph nothing is recorded by the pass
    assert all(e.backward_pass is None for e in Tape.of((x * 3).sum()).entries)


def test_the_drawing_colours_and_labels_the_first_pass_nodes():
    pytest.importorskip("graphviz")
    _, g, gv = _hvp_program()
    dot = str(viz.draw(gv, view="backward"))
    made = [line for line in dot.splitlines() if "made-by-backward" in line]
    assert made and all(viz.graph.COLORS["made_by_backward"] in line for line in made)
    assert "made by backward 1" in dot and "recorded by a backward" in dot  # label, legend
    assert "made-by-backward" not in str(viz.draw((g.detach() * 2).sum()))


def test_the_stepper_steps_through_the_second_pass_and_ends_on_torchs_hvp():
    x, g, gv = _hvp_program()
    frames = viz.backprop_steps(gv)
    said = [f.caption for f in frames if "recorded by backward pass 1" in f.caption]
    assert said and all("create_graph=True" in c for c in said)
    (hv,) = tg.autograd.grad(gv, x)
    xt = torch.tensor([0.5, -1.0], dtype=torch.float64)
    vt = torch.tensor([1.0, 2.0], dtype=torch.float64)
    _, want = torch.func.jvp(torch.func.grad(lambda t: (t.tanh() * t).sum()), (xt,), (vt,))
    x_id = next(f"v{v.id}" for v in Tape.of(gv).values if v.obj is x)
    assert np.allclose(frames[-1].grads[x_id], want.numpy(), rtol=1e-12, atol=1e-12)
    assert np.allclose(hv.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
