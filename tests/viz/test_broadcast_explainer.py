"""Where a gradient is summed over broadcast dims, the drawing says which and why, as the
stepper's caption does (issue 15.2)."""

from __future__ import annotations

import re

import numpy as np

import tapegrad as tg
from tapegrad import viz


def _program():
    x = tg.tensor(np.ones((4, 3)), requires_grad=True)
    bias = tg.tensor(np.zeros(3), requires_grad=True)
    bias.name = "bias"
    scale = tg.tensor(np.ones((4, 1)), requires_grad=True)
    scale.name = "scale"
    return x, bias, scale, ((x + bias) * scale).sum()


def test_the_edges_of_broadcast_inputs_say_which_dims_are_summed():
    x, bias, scale, loss = _program()
    dot = str(viz.draw(loss, view="backward"))
    edges = [line for line in dot.splitlines() if "->" in line and "Σ" in line]
    labels = sorted(re.search(r'label="([^"]*)"', e).group(1) for e in edges)
    assert labels == ["1 Σ dim 0", "1 Σ dim 1"], labels
    assert any("bias (3,) was broadcast to (4, 3)" in e for e in edges)
    assert any("scale (4, 1) was broadcast to (4, 3)" in e for e in edges)
    # the numbers the stepper ends on are those sums, as the engine computed them
    loss.backward()
    assert np.array_equal(bias.grad.numpy(), [4.0, 4.0, 4.0])
    assert np.array_equal(scale.grad.numpy(), np.full((4, 1), 3.0))


def test_an_input_of_the_output_shape_has_no_sum_label():
    a = tg.randn(2, 3, requires_grad=True)
    dot = str(viz.draw((a * a.exp()).sum()))
    assert "Σ" not in dot
