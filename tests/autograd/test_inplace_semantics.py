"""In-place operations as torch does them: self-aliasing, second derivatives, retain_grad,
what is saved; and random programs mixing views, in-place ops, reuse and create_graph.

torch is the oracle throughout (float64): values, gradients, ``_version`` and the errors
raised must agree.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from views_check import assert_same, leaf, norm_error, run_both

import tapegrad as tg

RNG = np.random.default_rng(2)


# ------------------------------------------------------------------ item 2
@pytest.mark.parametrize("form", ["mul_", "div_", "*=", "view of self", "add_ then saved"])
def test_self_aliasing_in_place_is_caught(form):
    def prog(L, x):
        y = x * 1 + 2
        if form == "mul_":
            y.mul_(y)
        elif form == "div_":
            y.div_(y)
        elif form == "*=":
            y *= y
        elif form == "view of self":
            y[1:].mul_(y[:1])  # no element shared, but one memory: the saved y[:1] changes
        else:
            z = y * y  # saves y
            y.add_(y)
            y = z
        y.sum().backward()
        return y

    mine = assert_same(prog, [1.0, 2.0, 3.0])
    assert mine[0] == "error"
    assert "modified by an inplace operation" in mine[1][1]
    assert "is at version 1; expected version 0 instead" in mine[1][1]


def test_partly_overlapping_input_and_output_are_refused():
    def prog(L, x):
        y = x * 1
        y.mul_(y[0])

    mine = assert_same(prog, [1.0, 2.0, 3.0])
    assert mine[0] == "error" and "refer to a single memory location" in mine[1][1]


def test_self_aliasing_message_names_the_tensor():
    x = leaf(tg, [1.0, 2.0, 3.0])
    y = x * 1
    y.mul_(y)
    with pytest.raises(RuntimeError, match=r"\[tapegrad.DoubleTensor \[3\]\]"):
        y.sum().backward()


def test_in_place_with_another_tensor_is_fine():
    def prog(L, x, w):
        y = x * 1
        y.mul_(w)
        y.div_(w + 3)
        y.sub_(w, alpha=2)
        (y * y).sum().backward()
        return y, y._version

    assert_same(prog, RNG.standard_normal(4), RNG.standard_normal(4))


# ------------------------------------------------------------------ item 3
@pytest.mark.parametrize("op", ["mul_", "div_", "*=", "/=", "add_ alpha", "view mul_"])
def test_second_derivatives_through_in_place_ops(op):
    def prog(L, x, w):
        y = x * 1
        if op == "mul_":
            y.mul_(w)
        elif op == "div_":
            y.div_(w)
        elif op == "*=":
            y *= w
        elif op == "/=":
            y /= w
        elif op == "add_ alpha":
            y.add_(w * w, alpha=3)
        else:
            y.view(2, 2)[0].mul_(w[:2])
        f = (y * y * y).sum()
        gx, gw = L.autograd.grad(f, (x, w), create_graph=True)
        (gx * gw).sum().backward()  # mixed second derivatives
        return gx, gw

    assert_same(prog, RNG.standard_normal(4), RNG.standard_normal(4) + 3)


# ------------------------------------------------------------------ item 4
@pytest.mark.parametrize("through_view", [False, True])
def test_retain_grad_then_in_place_gives_the_new_values_gradient(through_view):
    def prog(L, x):
        y = x * 1
        y.retain_grad()
        if through_view:
            y[1:].mul_(2)
        else:
            y.mul_(2)
        (y * y).sum().backward()
        return y.grad, type(y.grad_fn).__name__

    assert_same(prog, [1.0, 2.0, 3.0])


def test_retained_view_follows_its_regenerated_grad_fn():
    def prog(L, x):
        y = x * 1
        v = y[:2]
        v.retain_grad()
        y.mul_(3)
        (v * v).sum().backward()
        return v.grad

    assert_same(prog, [1.0, 2.0, 3.0])


# ------------------------------------------------------------------ item 6
@pytest.mark.parametrize("kind", ["matmul", "mm", "mv", "dot", "linear", "addmm", "bmm"])
def test_products_save_only_what_the_needed_gradients_read(kind):
    """Only W requires grad: W is not saved, so changing it in place between forward and
    backward (an optimizer step) is no error, in torch as here."""
    shapes = {"matmul": ((2, 3, 4), (4, 5)), "mm": ((3, 4), (4, 5)), "mv": ((3, 4), (4,)),
              "dot": ((4,), (4,)), "linear": ((3, 4), (5, 4)), "addmm": ((3, 4), (4, 5)),
              "bmm": ((2, 3, 4), (2, 4, 5))}[kind]

    def prog(L, w):
        x = L.tensor(RNG_FIXED[kind][0], dtype=L.float64)
        if kind == "linear":
            out = L.nn.functional.linear(x, w)
        elif kind == "addmm":
            out = L.addmm(L.ones(5, dtype=L.float64), x, w)
        else:
            out = getattr(L, kind)(x, w)
        with L.no_grad():
            w.mul_(2)
        out.sum().backward()
        return w.grad

    RNG_FIXED[kind] = [RNG.standard_normal(shapes[0])]
    assert_same(prog, RNG.standard_normal(shapes[1]))

    def other_side(L, w):  # the input that is saved is still checked
        x = L.tensor(RNG_FIXED[kind][0], dtype=L.float64, requires_grad=True)
        out = L.matmul(x, w) if kind != "linear" else L.nn.functional.linear(x, w)
        with L.no_grad():
            w.mul_(2)
        out.sum().backward()

    if kind in ("matmul", "mm", "linear"):
        # (torch's linear saves the transposed weight, so its message names a [4, 5] view)
        for outcome in run_both(other_side, RNG.standard_normal(shapes[1])):
            assert outcome[0] == "error"
            assert "modified by an inplace operation" in outcome[1][1]


RNG_FIXED: dict = {}


def test_linear_layer_step_between_two_backwards():
    """The issue's program: an optimizer step between two backward passes through one
    Linear whose input does not require grad."""
    results = []
    for L in (tg, torch):
        lin = L.nn.Linear(3, 2).double()
        with L.no_grad():
            lin.weight.copy_(L.tensor(np.arange(6.0).reshape(2, 3) / 7, dtype=L.float64))
            lin.bias.copy_(L.tensor([0.25, -0.5], dtype=L.float64))
        opt = L.optim.SGD(lin.parameters(), lr=0.1)
        x = L.tensor(np.linspace(-1, 1, 12).reshape(4, 3), dtype=L.float64)
        out = lin(x)
        out.sum().backward(retain_graph=True)
        opt.step()
        (out * out).sum().backward()
        results.append(lin.weight.grad.numpy().copy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


# ------------------------------------------------------------------ random programs
VIEW_OPS = [
    ("row", lambda t: t[t.shape[0] // 2] if t.dim() >= 1 and t.shape[0] else None),
    ("slice", lambda t: t[1:] if t.dim() >= 1 else None),
    ("column", lambda t: t[:, 0] if t.dim() >= 2 and t.shape[1] else None),
    ("t", lambda t: t.t() if t.dim() == 2 else None),
    ("transpose", lambda t: t.transpose(0, -1) if t.dim() >= 1 else None),
    ("unsqueeze", lambda t: t.unsqueeze(0)),
    ("squeeze", lambda t: t.squeeze()),
    ("view", lambda t: t.view(-1)),
    ("reshape", lambda t: t.reshape(-1)),
    ("flatten", lambda t: t.flatten()),
    ("narrow", lambda t: t.narrow(0, 0, 1) if t.dim() >= 1 and t.shape[0] else None),
    ("diagonal", lambda t: t.diagonal() if t.dim() == 2 else None),
    ("unbind", lambda t: t.unbind(0)[0] if t.dim() >= 1 and t.shape[0] else None),
    ("chunk", lambda t: t.chunk(2)[0] if t.dim() >= 1 and t.shape[0] else None),
    ("expand", lambda t: t.unsqueeze(0).expand(2, *t.shape)),
    ("detach", lambda t: t.detach()),
]

INPLACE_OPS = [
    ("add_ number", lambda L, t, o: t.add_(0.5)),
    ("mul_ number", lambda L, t, o: t.mul_(1.5)),
    ("mul_ tensor", lambda L, t, o: t.mul_(o)),
    ("div_ tensor", lambda L, t, o: t.div_(o * o + 1)),
    ("sub_ tensor", lambda L, t, o: t.sub_(o, alpha=2)),
    ("copy_", lambda L, t, o: t.copy_(o.sin())),
    ("zero_", lambda L, t, o: t.zero_()),
    ("fill_", lambda L, t, o: t.fill_(2.0)),
    ("setitem", lambda L, t, o: t.__setitem__(0, o.sum()) if t.dim() else t.fill_(1.0)),
    ("iadd row", lambda L, t, o: _iadd_first(t, o)),
]

OUT_OF_PLACE = [
    ("mul", lambda t, o: t * o),
    ("tanh", lambda t, o: t.tanh()),
    ("square", lambda t, o: t * t),
]


def _iadd_first(t, o):
    if t.dim() == 0:
        t += o
    else:
        t[0] += o.sum()
    return t


def _pick_other(pool, t, skip=()):
    """A pool value of ``t``'s shape (else a 0-d one made from the pool), not one of
    ``skip`` (positions in the pool)."""
    for i in range(len(pool) - 1, -1, -1):
        if i not in skip and tuple(pool[i].shape) == tuple(t.shape):
            return pool[i]
    return pool[0].sum()


step = st.tuples(st.sampled_from(["view", "inplace", "op", "no_grad view"]),
                 st.integers(0, 10**6), st.integers(0, 10**6))


def _run_program(L, steps, create_graph):
    x = leaf(L, np.linspace(-1.0, 1.5, 12).reshape(3, 4))
    w = leaf(L, np.linspace(0.5, 2.0, 4))
    pool = [x * 1, w * 2, L.zeros(3, 4, dtype=L.float64)]
    trace = []
    for kind, a, b in steps:
        t = pool[a % len(pool)]
        try:
            if kind in ("view", "no_grad view"):
                name, fn = VIEW_OPS[b % len(VIEW_OPS)]
                if kind == "no_grad view":
                    with L.no_grad():
                        out = fn(t)
                else:
                    out = fn(t)
                if out is not None:
                    pool.append(out)
            elif kind == "inplace":
                name, fn = INPLACE_OPS[b % len(INPLACE_OPS)]
                fn(L, t, _pick_other(pool, t))
            else:
                name, fn = OUT_OF_PLACE[b % len(OUT_OF_PLACE)]
                pool.append(fn(t, _pick_other(pool, t)))
            trace.append(("ok", name))
        except (RuntimeError, ValueError) as exc:
            trace.append(("error", norm_error(exc)))
    versions = [p._version for p in pool]
    values = [p.detach().numpy().copy() for p in pool]
    live = []
    for p in pool:
        try:  # a stale view that may not be rebased raises when its history is asked for
            if p.grad_fn is not None:
                live.append(p)
        except RuntimeError as exc:
            trace.append(("error", norm_error(exc)))
    try:
        loss = sum(((p * p).sum() for p in live), L.zeros((), dtype=L.float64))
        if not loss.requires_grad:
            return trace, versions, values, "no grad"
        grads = L.autograd.grad(loss, (x, w), allow_unused=True, create_graph=create_graph)
        grads = [g for g in grads if g is not None]
        result = [g.detach().numpy().copy() for g in grads]
        if create_graph and grads and any(g.requires_grad for g in grads):
            second = L.autograd.grad(sum((g * g).sum() for g in grads), (x, w),
                                     allow_unused=True)
            result += [s.numpy().copy() for s in second if s is not None]
    except RuntimeError as exc:
        result = norm_error(exc)
    return trace, versions, values, result


def _same(a, b):
    if isinstance(a, np.ndarray):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), (a, b)
        for u, v in zip(a, b, strict=True):
            _same(u, v)
    else:
        assert a == b


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=9), create_graph=st.booleans())
def test_random_programs_of_views_and_in_place_ops_match_torch(steps, create_graph):
    mine = _run_program(tg, steps, create_graph)
    theirs = _run_program(torch, steps, create_graph)
    _same(mine[0], theirs[0])  # the same steps failed, with the same errors
    _same(mine[1], theirs[1])  # versions
    _same(mine[2], theirs[2])  # values
    _same(mine[3], theirs[3])  # gradients (and second derivatives), or the same error
