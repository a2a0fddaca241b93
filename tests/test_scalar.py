"""`tapegrad.Scalar`: values and grads against torch float64, semantics, tape and events."""

from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import pytest
import torch

import tapegrad
from tapegrad import Scalar
from tapegrad.autograd.function import next_sequence_number
from tapegrad.autograd.tape import Tape


def run_both(fn, *values):
    """``fn`` on Scalars and on 0-d float64 torch tensors: (out, leaves) for each."""
    s_in = [Scalar(v) for v in values]
    t_in = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    s_out, t_out = fn(*s_in), fn(*t_in)
    s_out.backward()
    t_out.backward()
    return (s_out, s_in), (t_out, t_in)


def assert_matches_torch(fn, *values, rtol=1e-12):
    (s_out, s_in), (t_out, t_in) = run_both(fn, *values)
    np.testing.assert_allclose(s_out.data, t_out.item(), rtol=rtol, atol=0)
    for s, t in zip(s_in, t_in, strict=True):
        expected = 0.0 if t.grad is None else t.grad.item()
        np.testing.assert_allclose(s.grad, expected, rtol=rtol, atol=0)
    return s_out, s_in


# -- the two expressions of micrograd's tests, and one with every op ------------------
def sanity(x):
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    return h + q + q * x


def more_ops(a, b):
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    return g + 10.0 / f


def every_op(a, b, c):
    s = a * b + a / b - c ** 2 + b ** a + 2 ** c - 1.5 / a + 3 - a
    s = s + (a - 0.5).relu() + (-b).relu() + c.tanh() + (a * 0.1).exp() + b.log()
    s = s + (c - 1).sigmoid() + 0.5 * a + 1 / (b + 2) + (c + 2) ** b - a ** -0.5
    return s * s.tanh() + (s / 100).exp()


def test_micrograd_sanity_expression():
    _, (x,) = assert_matches_torch(sanity, -4.0)
    assert x.grad == pytest.approx(46.0)  # micrograd's test value


def test_micrograd_more_ops_expression():
    g, (a, b) = assert_matches_torch(more_ops, -4.0, 2.0)
    assert (round(g.data, 4), round(a.grad, 4), round(b.grad, 4)) == (24.7041, 138.8338, 645.5773)


@pytest.mark.parametrize("values", [(0.7, 1.3, -0.4), (2.0, 0.5, 1.5), (3.1, 2.2, 0.3)])
def test_every_op_matches_torch(values):
    assert_matches_torch(every_op, *values)


@pytest.mark.parametrize("seed", range(5))
def test_random_programs_with_shared_values_match_torch(seed):
    """Random programs where values are reused (fan-out, a + a): every grad, including
    the intermediates', equals torch's (retain_grad)."""
    import random

    rnd = random.Random(seed)
    ops = [lambda x, y: x * y, lambda x, y: x + y, lambda x, y: x - y,
           lambda x, y: x / (1 + y * y), lambda x, y: (x * 0.5).tanh() * y,
           lambda x, y: x.relu() + y.sigmoid(), lambda x, y: (0.3 * x).exp() - y,
           lambda x, y: (1 + x * x).log() * y, lambda x, y: (x * x + 1) ** (0.5 * y.tanh())]
    program = [(rnd.randrange(len(ops)), rnd.random(), rnd.random()) for _ in range(60)]
    leaves = [rnd.uniform(-2, 2) for _ in range(4)]

    def run(values, retain):
        for k, (op, i, j) in enumerate(program):
            n = len(values)
            out = ops[op](values[int(i * n)], values[max(int(j * n), n - 1 - k % 3)])
            if retain:
                out.retain_grad()
            values.append(out)
        return values

    s_vals = run([Scalar(v) for v in leaves], retain=False)
    t_vals = run([torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in leaves],
                 retain=True)
    s_vals[-1].backward()
    t_vals[-1].backward()
    got = [s.grad for s in s_vals]
    want = [0.0 if t.grad is None else t.grad.item() for t in t_vals]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# -- conventions at kinks and special values ------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda x: x.relu(),
    lambda x: (x * 0).relu() * x,
    lambda x: x ** 2,
    lambda x: x ** 0,
    lambda x: x ** 0.5,
    lambda x: x ** -1,
    lambda x: 2 ** x,
    lambda x: 0 ** x,
    lambda x: x / 0.0,
    lambda x: 1 / x,
    lambda x: x.log(),
    lambda x: (x - 1).log(),
])
@pytest.mark.parametrize("x", [0.0, -2.0, 1.5])
def test_kinks_and_special_values_follow_torch(fn, x):
    (s_out, (s,)), (t_out, (t,)) = run_both(fn, x)
    expected = 0.0 if t.grad is None else t.grad.item()
    np.testing.assert_allclose(s_out.data, t_out.item(), rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(s.grad, expected, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("x, y", [(0.0, 2.0), (0.0, 0.0), (0.0, -1.0), (2.0, 0.0),
                                  (-2.0, 3.0), (-2.0, 0.5), (1.5, -2.5)])
def test_scalar_exponent_follows_torch(x, y):
    (s_out, (sx, sy)), (t_out, (tx, ty)) = run_both(lambda a, b: a ** b, x, y)
    np.testing.assert_allclose(s_out.data, t_out.item(), rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose([sx.grad, sy.grad], [tx.grad.item(), ty.grad.item()],
                               rtol=1e-12, equal_nan=True)


def test_relu_gradient_at_zero_is_zero():
    x = Scalar(0.0)
    x.relu().backward()
    assert x.grad == 0.0


@pytest.mark.parametrize("x", [1000.0, -1000.0])
def test_tanh_sigmoid_exp_do_not_overflow(x):
    s = Scalar(x)
    t, sg, e = s.tanh(), s.sigmoid(), s.exp()
    assert t.data == math.copysign(1.0, x)
    assert sg.data == (1.0 if x > 0 else 0.0)
    assert e.data == (math.inf if x > 0 else 0.0)
    (t + sg).backward()
    assert s.grad == 0.0


# -- reflected operators, constants, types ---------------------------------------------
@pytest.mark.parametrize("fn, value, grad", [
    (lambda a: 2 * a, 6.0, 2.0),
    (lambda a: 2 + a, 5.0, 1.0),
    (lambda a: 1 - a, -2.0, -1.0),
    (lambda a: 6 / a, 2.0, -6 / 9),
    (lambda a: 2 ** a, 8.0, 8 * math.log(2)),
    (lambda a: -a, -3.0, -1.0),
    (lambda a: np.float64(2.0) * a, 6.0, 2.0),
    (lambda a: a * np.int64(2), 6.0, 2.0),
])
def test_reflected_and_numpy_operands(fn, value, grad):
    a = Scalar(3.0)
    out = fn(a)
    assert isinstance(out, Scalar)
    out.backward()
    assert out.data == pytest.approx(value, rel=1e-15)
    assert a.grad == pytest.approx(grad, rel=1e-15)


def test_unsupported_operand_raises_type_error():
    with pytest.raises(TypeError):
        Scalar(1.0) + "x"
    with pytest.raises(TypeError):
        "x" * Scalar(1.0)


def test_same_input_twice_is_one_entry_with_two_edges():
    a = Scalar(3.0)
    b = a + a
    assert b.inputs == (a, a) and len(Tape.of(b)) == 1
    (b * a).backward()  # d/da (2a * a) = 4a
    assert a.grad == 12.0


def test_repr_label_and_floats():
    a = Scalar(2, label="a")
    assert repr(a) == "Scalar(data=2.0, grad=0.0)"
    assert type(a.data) is float and type(a.grad) is float
    assert a.label == "a" and a.name == "a" and Scalar(1.0, name="w").label == "w"
    b = a * 2
    assert b.label == "" and b.op == "mul" and not b.is_leaf and a.is_leaf
    b.name = "b"
    assert b.label == "b"


# -- backward semantics ----------------------------------------------------------------
def test_chain_100000_deep_backward_without_recursion():
    x0 = Scalar(1.0)
    x = x0
    for _ in range(50_000):
        x = x * 1.0001
        x = x + 0.0001
    x.backward()
    np.testing.assert_allclose(x0.grad, 1.0001 ** 50_000, rtol=1e-9)
    del x  # freeing the chain must not recurse either


def test_inputs_recorded_long_before_the_rest_of_the_graph():
    # positions past the walk's flat table (2**20 sequence numbers back) go to chunks
    w = Scalar(1.5)
    u = w * 3.0
    u2 = u * u  # same chunk as u, and u is reached from it and from `out`
    for _ in range((1 << 20) + 10):
        next_sequence_number()
    v = w * 2.0
    out = v * u2 + u + v.tanh()
    out.backward()
    expected = 2 * (9 * 2.25) + (2 * 1.5) * 18 * 1.5 + 3 + 2 * (1 - math.tanh(3.0) ** 2)
    assert w.grad == pytest.approx(expected, rel=1e-14)
    assert (u.grad, u2.grad) == (pytest.approx(2 * v.data * u.data + 1), v.data)


def test_second_backward_accumulates_leaves_recomputes_intermediates():
    a, b = Scalar(1.5), Scalar(-0.5)
    mid = a * b
    out = (mid + a).tanh()
    out.backward()
    first = (a.grad, b.grad, mid.grad, out.grad)
    out.backward()
    assert (a.grad, b.grad) == (2 * first[0], 2 * first[1])  # leaves accumulate (torch)
    assert (mid.grad, out.grad) == first[2:]  # intermediates recomputed (not micrograd)


def test_backward_of_a_leaf_and_of_an_intermediate():
    a = Scalar(2.0)
    a.backward()
    assert a.grad == 1.0
    mid = a * 3
    out = mid * mid
    mid.backward()  # only the part below mid
    assert (mid.grad, a.grad, out.grad) == (1.0, 4.0, 0.0)


def test_no_grad_records_nothing():
    a = Scalar(2.0)
    with tapegrad.no_grad():
        b = a * 3 + 1
    assert b.is_leaf and b.data == 7.0 and len(Tape.of(b)) == 0
    (b * a).backward()
    assert (a.grad, b.grad) == (7.0, 2.0)


def test_sequence_numbers_share_the_tensor_counter():
    a = Scalar(1.0)
    first = a * 2
    t = tapegrad.tensor(1.0, requires_grad=True) * 2
    second = first + 1
    seqs = [first._seq, t.grad_fn.sequence_nr, second._seq, next_sequence_number()]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4


def test_graph_is_freed_by_reference_counting():
    gc.collect()
    gc.disable()
    try:
        a, b = Scalar(1.0), Scalar(2.0)
        mid = (a * b).tanh()
        out = mid * a + b ** mid
        ref = weakref.ref(mid)
        out.backward()
        del mid
        assert ref() is not None  # out still holds it
        del out
        assert ref() is None  # freed at once, no collection needed
        graph = [Scalar(1.0)]
        for _ in range(1000):
            graph.append(graph[-1] * graph[0] + 1)
        graph[-1].backward()
        del graph
        assert gc.collect() == 0  # nothing was left for the collector: no cycles
    finally:
        gc.enable()


def test_dropped_graphs_leave_only_the_pool_behind():
    def live() -> int:
        return sum(type(o) is Scalar for o in gc.get_objects())

    before = live()
    for _ in range(3):
        x = Scalar(1.0)
        for _ in range(30_000):
            x = x * 1.0
        x.backward()
        del x
    assert live() - before <= 1 << 16  # at most one batch of unused results waits


# -- the tape: listings and events -----------------------------------------------------
def small_graph():
    a, b = Scalar(2.0, label="a"), Scalar(-3.0, label="b")
    return a, b, (a * b + 1 - a).tanh() + 2 ** b


def test_tape_listing_forward_and_backward():
    a, b, out = small_graph()
    tape = Tape.of(out)
    assert [e.op for e in tape] == ["mul", "add", "sub", "tanh", "pow", "add"]
    assert tape.values[0].obj is a and tape.values[1].name == "b"
    assert tape.entries[-1].node is out and tape.outputs[0].data == out.data
    assert tape.listing().splitlines() == [
        "%0 = leaf a     # () float64, requires_grad",
        "%1 = leaf b     # () float64, requires_grad",
        "%2 = mul %0 %1  # () float64",
        "%3 = add %2 1   # () float64",
        "%4 = sub %3 %0  # () float64",
        "%5 = tanh %4    # () float64",
        "%6 = pow 2 %1   # () float64",
        "%7 = add %5 %6  # () float64",
    ]
    assert tape.listing(backward=True).splitlines() == [
        "d%7 = 1                      # seed",
        "d%5 += AddBackward0(d%7)[0]  # () float64",
        "d%6 += AddBackward0(d%7)[1]  # () float64",
        "d%1 += PowBackward0(d%6)     # () float64 saved: %1 %6",
        "d%4 += TanhBackward0(d%5)    # () float64 saved: %5",
        "d%3 += SubBackward0(d%4)[0]  # () float64",
        "d%0 += SubBackward0(d%4)[1]  # () float64",
        "d%2 += AddBackward0(d%3)     # () float64",
        "d%0 += MulBackward0(d%2)[0]  # () float64 saved: %0 %1",
        "d%1 += MulBackward0(d%2)[1]  # () float64 saved: %0 %1",
    ]


def test_backward_events_cover_every_entry_and_leaf():
    a, b, out = small_graph()
    events = []
    out.backward(on_step=events.append)
    tape = Tape.of(out)
    assert len(events) == len(tape) + 2  # every entry, then one accumulation per leaf
    assert [e.step for e in events] == list(range(1, len(events) + 1))
    seqs = [e.node._seq for e in events]
    assert seqs == sorted(seqs, reverse=True)  # the tape read backwards
    assert events[0].node is out and events[0].grad_outputs == (1.0,)
    leaf_events = {e.node: e for e in events if e.node.is_leaf}
    assert set(leaf_events) == {a, b}
    for leaf in (a, b):
        assert leaf_events[leaf].leaf_grad_before == 0.0
        assert leaf_events[leaf].leaf_grad_after == leaf.grad
    assert events[-1].pending == []
    # contributions: a step's grad_outputs is the sum of what its consumers sent
    arrived: dict = {}
    for e in events:
        if e.node is not out:
            assert e.grad_outputs[0] == pytest.approx(arrived[e.node])
        for c in e.contributions:
            assert c.after == (c.grad if c.before is None else c.before + c.grad)
            arrived[c.target] = c.after


def test_events_walk_gives_the_same_grads_as_the_plain_walk():
    def grads(with_events):
        a, b, c = Scalar(0.7), Scalar(1.3), Scalar(-0.4)
        every_op(a, b, c).backward(on_step=(lambda e: None) if with_events else None)
        return a.grad, b.grad, c.grad

    assert grads(True) == grads(False)


def test_reflected_constants_sit_at_their_argument_position():
    a = Scalar(3.0)
    out = 1 - a
    events = []
    out.backward(on_step=events.append)
    (contribution,) = events[0].contributions
    assert (contribution.input_index, contribution.target, contribution.grad) == (1, a, -1.0)
    assert Tape.of(out).entries[0].inputs[0] == 1


def test_copies_are_new_leaves_and_only_leaves_copy():
    import copy
    import pickle

    a = Scalar(2.0, label="a")
    a.grad = 0.5
    for twin in (copy.copy(a), copy.deepcopy(a), pickle.loads(pickle.dumps(a))):
        assert (twin.data, twin.grad, twin.label, twin.is_leaf) == (2.0, 0.5, "a", True)
        assert twin._seq > a._seq  # its own place on the tape
        (twin * a).backward()
        assert twin.grad == 2.5
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(a * 2)
