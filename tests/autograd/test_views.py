"""Views share their base's memory, version counter and (after an in-place op) history.

Every program here runs once with tapegrad and once with torch (float64); values,
gradients, ``_version`` and raised errors must agree. The issue's items 1 (a view sees an
in-place op on its base) and 5 (in-place through a view of a non-leaf) are covered for
each view op torch has.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from views_check import assert_same, leaf

import tapegrad as tg

RNG = np.random.default_rng(9)


# ------------------------------------------------------------------ item 1
def test_view_sees_in_place_op_on_its_base():
    def prog(L, x):
        a = x * 1
        v = a[0:2]
        a.mul_(2)
        v.sum().backward()
        return v, v._version, a._version

    out = assert_same(prog, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(out[2][0], [2.0, 2.0, 0.0])


def test_parameter_used_in_place_on_base_reaches_gradient_through_older_view():
    def prog(L, x, w):
        a = x * 1
        v = a.view(3, 1)
        a.mul_(w)
        (v * v).sum().backward()
        return v

    assert_same(prog, [1.0, 2.0, 3.0], [2.0, 3.0, 4.0])


VIEWS = {
    "int index": lambda t: t[1],
    "slice": lambda t: t[:, 1:3],
    "index with None and ...": lambda t: t[None, ..., 0],
    "view": lambda t: t.view(3, 4),
    "reshape (a view)": lambda t: t.reshape(12),
    "transpose": lambda t: t.transpose(0, 1),
    "t": lambda t: t.t(),
    "permute": lambda t: t.permute(1, 0),
    "unsqueeze": lambda t: t.unsqueeze(1),
    "squeeze": lambda t: t.unsqueeze(0).squeeze(0),
    "narrow": lambda t: t.narrow(1, 1, 2),
    "select": lambda t: t.select(1, 2),
    "diagonal": lambda t: t.diagonal(1),
    "flatten": lambda t: t.flatten(),
    "unflatten": lambda t: t.unflatten(1, (2, 2)),
    "view of a view": lambda t: t[1:].t()[1:, 0],
    "unbind": lambda t: t.unbind(1)[2],
    "split": lambda t: t.split(2, dim=1)[1],
    "chunk": lambda t: t.chunk(2)[0],
    "expand": lambda t: t[:1].expand(5, 4),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_every_view_sees_later_in_place_ops_on_its_base(name):
    make = VIEWS[name]

    def prog(L, x, w):
        base = x * 1
        v = make(base)
        base.mul_(w)  # the view's old history is now stale
        base.add_(1.0)
        (v * v).sum().backward()
        return v, v._version, base._version, v._base is base, v._is_view()

    assert_same(prog, RNG.standard_normal((3, 4)), RNG.standard_normal(4))


@pytest.mark.parametrize("name", list(VIEWS))
def test_in_place_through_every_view_rebases_the_base(name):
    """Item 5: torch supports these (multi-output views and expanded tensors raise its
    errors, which must match too)."""
    make = VIEWS[name]

    def prog(L, x, w):
        base = x * 1
        v = make(base)
        v.mul_(w.sum())
        v.add_(w[0])
        (base * base).sum().backward()
        return base, v, base._version, type(base.grad_fn).__name__

    assert_same(prog, RNG.standard_normal((3, 4)), RNG.standard_normal(4))


def test_in_place_through_a_view_then_use_the_view_and_another_view():
    def prog(L, x):
        y = x * 1
        a, b = y[0], y[:, 1]
        a.mul_(3)  # rebases y; b is stale and must see it
        (a.sum() + (b * b).sum() + (y ** 3).sum()).backward()
        return y, a._version, b._version

    assert_same(prog, RNG.standard_normal((3, 4)))


# ------------------------------------------------------------------ item 5
def test_issue_programs_for_in_place_on_views_of_non_leaves():
    def add_to_column(L, x):
        y = x * 1
        y[:, 0] += 1
        (y * y).sum().backward()
        return y, y._version, type(y.grad_fn).__name__

    def fill_buffer(L, x):
        out = L.zeros(3, 2, dtype=L.float64)
        out[:, 0] += x
        out[:, 1] += 3 * x
        (out * out).sum().backward()
        return out, out._version, out.requires_grad

    def view_then_mul(L, x):
        y = x * 1
        y.view(2, 3)[:, 1].mul_(10)
        (y * y).sum().backward()
        return y

    def chained_index_write(L, x):
        out = x * 1
        out[0][0] = 7
        (out * out).sum().backward()
        return out, out._version

    assert_same(add_to_column, RNG.standard_normal((3, 2)))
    assert_same(fill_buffer, RNG.standard_normal(3))
    assert_same(view_then_mul, RNG.standard_normal(6))
    assert_same(chained_index_write, RNG.standard_normal((2, 2)))


def test_buffer_filled_row_by_row_in_a_loop():
    def prog(L, x):
        out = L.zeros(4, 3, dtype=L.float64)
        for i in range(4):
            out[i] = x[i] * (i + 1)
            out[i, 1:] *= x[i, 0]
        out.sin().sum().backward()
        return out, out._version

    assert_same(prog, RNG.standard_normal((4, 3)))


def test_copy_slices_is_the_base_grad_fn_and_wraps_the_in_place_node():
    x = leaf(tg, [1.0, 2.0, 3.0])
    y = x * 1
    w = y[1:]
    w.add_(1)
    node = y.grad_fn
    assert node.name() == "CopySlices"
    assert node.next_functions[0][0].name() == "MulBackward0"
    assert node.fn.name() == "AddBackward0"
    # the view's grad_fn is regenerated from the base's new history (torch builds one
    # AsStridedBackward0 node here; tapegrad replays the view ops)
    assert w.grad_fn.name() == "SliceBackward0"
    assert w.grad_fn.next_functions[0][0] is node
    yt = torch.tensor([1.0, 2.0, 3.0], requires_grad=True) * 1
    yt[1:].add_(1)
    assert type(yt.grad_fn).__name__ == "CopySlices"


def test_second_derivative_through_copy_slices():
    def prog(L, x, w):
        y = x * 1
        y[1:].mul_(w)
        (g,) = L.autograd.grad((y ** 3).sum(), x, create_graph=True)
        (g * g).sum().backward()
        return g

    assert_same(prog, RNG.standard_normal(4), RNG.standard_normal(3))


# ------------------------------------------------------------------ detach and errors
def test_detach_shares_memory_and_version_but_is_not_a_view():
    def prog(L, x):
        y = x * 2
        d = y.detach()
        z = y * y
        d[0] = 100.0  # visible through y, and the version error is raised in backward
        return d._version, y._version, d._is_view(), d._base is None, float(y.detach()[0]), z

    assert_same(prog, [1.0, 2.0])

    def use(L, x):
        y = x * 2
        z = y * y
        y.detach().zero_()
        z.sum().backward()

    mine = assert_same(use, [1.0, 2.0])
    assert mine[0] == "error" and "modified by an inplace operation" in mine[1][1]


@pytest.mark.parametrize("case", ["expand", "unbind", "split", "chunk", "no_grad view",
                                  "no_grad unbind of a constant", "leaf view"])
def test_view_in_place_errors_are_torchs(case):
    def prog(L, x):
        y = x * 1
        if case == "expand":
            y[:1].expand(3, 3).add_(1)
        elif case == "unbind":
            y.unbind()[1].mul_(2)
        elif case == "split":
            y.split(1)[0].mul_(2)
        elif case == "chunk":
            y.chunk(3)[2].zero_()
        elif case == "no_grad view":
            with L.no_grad():
                v = y[1:]
            v.add_(1)
        elif case == "no_grad unbind of a constant":
            L.zeros(3, 3, dtype=L.float64).unbind()[0].add_(x[0])
        else:
            x[0].add_(1)

    mine = assert_same(prog, RNG.standard_normal((3, 3)))
    assert mine[0] == "error"


def test_multi_output_views_may_be_written_when_no_gradient_is_involved():
    def prog(L, x):
        z = L.zeros(3, dtype=L.float64)
        a, b, c = z.unbind()
        b.add_(2)
        with L.no_grad():
            y = x * 1
            y.unbind()[0].mul_(5)
        return z, y, z._version

    assert_same(prog, [1.0, 2.0, 3.0])


def test_writing_a_view_made_in_no_grad_mode_inside_no_grad_is_allowed():
    def prog(L, x):
        y = x * 1
        with L.no_grad():
            v = y[:2]
            v.mul_(3)
        y.sum().backward()
        return y, v._version

    assert_same(prog, [1.0, 2.0, 3.0])


def test_views_share_the_version_counter():
    def prog(L, x):
        y = x * 1
        v = y.view(2, 2)
        w = v[0]
        w.add_(1)
        y.mul_(2)
        return y._version, v._version, w._version, w._base is y, v._base is y

    assert_same(prog, RNG.standard_normal(4))


@pytest.mark.parametrize("write", ["zero_", "fill_", "setitem row", "setitem repeated",
                                   "add_"])
def test_writes_into_expanded_tensors_follow_torch(write):
    """Filling an expanded tensor writes one value into shared locations (allowed); a
    row of it that repeats no element may be written; anything else raises torch's
    error. The backward of such a fill raises in both libraries too."""

    def prog(L, x):
        y = x * 1
        e = y[1:].unsqueeze(0).expand(2, 2, 4)
        if write == "zero_":
            e.zero_()
        elif write == "fill_":
            e.fill_(3.0)
        elif write == "setitem row":
            e[0] = 1.0
        elif write == "setitem repeated":
            e[:, 0] = 5.0
        else:
            e.add_(1.0)
        values = y.detach().clone()
        (y * y).sum().backward()
        return values, y._version

    assert_same(prog, RNG.standard_normal((3, 4)))
