"""The tape: entries in execution order, SSA listings and per-step backward events."""

import numpy as np

import tapegrad as tg
from tapegrad.autograd import Tape


def small_graph():
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w.name = "w"
    c = tg.tensor([0.5, 0.5, 0.5])
    h = w * c
    out = (h + w).sum_to_size(1)
    return w, c, h, out


def test_entries_are_in_execution_order():
    _, _, _, out = small_graph()
    tape = Tape.of(out)
    assert [e.op for e in tape] == ["mul", "add", "sum_to_size"]
    assert [e.sequence_nr for e in tape] == sorted(e.sequence_nr for e in tape)


def test_forward_listing_is_ssa_with_shapes():
    _, _, _, out = small_graph()
    lines = Tape.of(out).listing().splitlines()
    assert lines[0].startswith("%0 = leaf w") and "(3,) float32, requires_grad" in lines[0]
    assert lines[1].startswith("%1 = const") and "(3,) float32" in lines[1]
    assert lines[2].startswith("%2 = mul %0 %1")
    assert lines[3].startswith("%3 = add %2 %0")
    assert lines[4].startswith("%4 = sum_to_size %3 shape=(1,)") and "# (1,) float32" in lines[4]


def test_backward_listing_reverses_the_tape():
    _, _, _, out = small_graph()
    lines = Tape.of(out).listing(backward=True).splitlines()
    assert lines[0].startswith("d%4 = 1")
    assert lines[1].startswith("d%3 += SumToSizeBackward0(d%4)")
    assert lines[2].startswith("d%2 += AddBackward0(d%3)[0]")
    # w * c saves only c: d/dw needs c, and the constant c needs no gradient
    assert any(line.startswith("d%0 += MulBackward0(d%2)[0]") and line.endswith("saved: %1")
               for line in lines)


def test_backward_events_report_every_step_and_accumulation():
    w, _, _, out = small_graph()
    events = []
    tg.autograd.backward_steps(out, events.append)
    names = [type(e.node).__name__ for e in events]
    assert names[:3] == ["SumToSizeBackward0", "AddBackward0", "MulBackward0"]
    assert names[-1] == "AccumulateGrad"
    assert [e.step for e in events] == list(range(1, len(events) + 1))
    add = events[1]
    # AddBackward0 sends its grad to mul's output and to w (its accumulator)
    assert [c.input_index for c in add.contributions] == [0, 1]
    leaf = events[-1]
    np.testing.assert_allclose(leaf.leaf_grad_after.numpy(), w.grad.numpy())
    np.testing.assert_allclose(w.grad.numpy(), [1.5, 1.5, 1.5])
    # accumulation is visible: w receives one contribution from add and one from mul
    w_node = leaf.node
    into_w = [c for e in events for c in e.contributions if c.target is w_node]
    assert len(into_w) == 2 and into_w[0].before is None
    np.testing.assert_allclose(into_w[1].after.numpy(), [1.5, 1.5, 1.5])


def test_module_scope_is_recorded_on_entries():
    x = tg.tensor([1.0], requires_grad=True)
    with tg.autograd.graph.module_scope("encoder"):
        with tg.autograd.graph.module_scope("fc1"):
            y = x * 2
    assert Tape.of(y)[0].module_path == "encoder.fc1"


def test_structure_survives_backward_but_values_are_freed():
    import gc
    import weakref

    w = tg.tensor([1.0, 2.0], requires_grad=True)
    c = tg.tensor([3.0, 4.0])
    loss = ((w * c).tanh() * c).sum_to_size(1)
    before = Tape.of(loss).listing()
    loss.backward()
    assert Tape.of(loss).listing() == before  # same entries and values, as in torch
    data = weakref.ref(c._data)
    del c
    gc.collect()
    assert data() is None  # the released graph no longer holds the constant's array
    assert all(v.data is None for v in Tape.of(loss).values if v.kind == "output")


def test_drawing_after_a_plain_backward_shows_every_entry():
    from tapegrad import viz

    w = tg.tensor([1.0, 2.0], requires_grad=True)
    loss = ((w * tg.tensor([3.0, 4.0])).tanh()).sum_to_size(1)
    loss.backward()
    dot = str(viz.draw(loss))
    assert all(f"op{i} " in dot for i in range(3))
