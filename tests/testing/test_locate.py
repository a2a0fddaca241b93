"""The first wrong gradient is found at the entry whose backward rule is wrong (issue 15.1).

Each test plants one classic bug in a custom Function's backward (a sign flip, a missing
transpose, a missing sum over a broadcast dim, a forgotten 1/n) inside a program of
correct ops before and after it, and checks that the locator blames that entry, the right
input, and the line of this file that recorded it, with torch as the oracle.
"""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

import tapegrad
from tapegrad.autograd import Function
from tapegrad.testing import compare_with_torch
from tapegrad.testing.locate import first_wrong_gradient
from tapegrad.testing.oracle import OracleMismatch


class SignFlippedTanh(Function):
    @staticmethod
    def forward(ctx, x):
        y = x.tanh()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return -g * (1 - y * y)  # planted: the sign


class UntransposedMatmul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g @ b, a.T @ g  # planted: g @ b instead of g @ b.T


class AddBias(Function):
    @staticmethod
    def forward(ctx, x, b):
        return x + b

    @staticmethod
    def backward(ctx, g):
        return g, g  # planted: the bias was broadcast over the batch; no sum over dim 0


class MeanRows(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return x.mean(dim=1)

    @staticmethod
    def backward(ctx, g):
        return g.unsqueeze(1).expand(ctx.shape)  # planted: the 1/n of the mean


def _line_of(text: str) -> int:
    """The line of this file that contains ``text`` (where the entry is recorded)."""
    lines = inspect.getsource(inspect.getmodule(_line_of)).splitlines()
    return next(n for n, line in enumerate(lines, start=1) if text in line)  # before PLANTED


def _sign(lib, x, w, v):
    h = x @ w
    t = SignFlippedTanh.apply(h) if lib is tapegrad else h.tanh()  # <- tanh
    return (t * v).sigmoid().sum(dim=1)


def _transpose(lib, x, w, v):
    h = UntransposedMatmul.apply(x, w) if lib is tapegrad else x @ w  # <- matmul
    return (h.tanh() * v.exp()).sum(dim=1)


def _broadcast(lib, x, w, v):
    h = x @ w
    z = AddBias.apply(h, v[0]) if lib is tapegrad else h + v[0]  # <- bias
    return z.relu().pow(2).sum(dim=1)


def _mean(lib, x, w, v):
    h = (x * v).tanh()
    m = MeanRows.apply(h) if lib is tapegrad else h.mean(dim=1)  # <- mean
    return (m * 3.0).exp()


PLANTED = {
    "sign flip": (_sign, "signflippedtanh", "SignFlippedTanhBackward", "%", "# <- tanh"),
    "missing transpose": (_transpose, "untransposedmatmul", "UntransposedMatmulBackward", "x",
                          "# <- matmul"),
    "missing sum over a broadcast dim": (_broadcast, "addbias", "AddBiasBackward", "",
                                         "# <- bias"),
    "forgotten 1/n": (_mean, "meanrows", "MeanRowsBackward", "%", "# <- mean"),
}


def _inputs(seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((4, 3)), rng.standard_normal((3, 3)), rng.standard_normal((4, 3))


@pytest.mark.parametrize("bug", list(PLANTED))
def test_each_planted_bug_is_found_at_its_entry(bug, tmp_path):
    fn, op, backward_name, input_name, marker = PLANTED[bug]
    found = first_wrong_gradient(fn, *_inputs(), names=["x", "w", "v"], report_dir=tmp_path)
    assert found is not None, bug
    assert (found.op, found.backward_name) == (op, backward_name)
    assert input_name in found.input_name
    # the user's line that recorded the entry
    assert f"line {_line_of(marker)}" in found.where and marker in found.where
    assert found.incoming_error < 1e-12  # what reached the entry was right
    text = str(found)
    assert backward_name in text and "agrees with torch" in text and "does not" in text


def test_the_worst_elements_are_ours_and_torchs():
    found = first_wrong_gradient(_sign, *_inputs(), names=["x", "w", "v"], pictures=False)
    # SignFlippedTanh sends exactly minus the right gradient: every row says so
    assert found.worst and all(ours == pytest.approx(-theirs) for _, ours, theirs, _ in
                               found.worst)
    assert all(rel == pytest.approx(2.0) for *_, rel in found.worst)


def test_a_missing_sum_is_reported_by_shape():
    found = first_wrong_gradient(_broadcast, *_inputs(), names=["x", "w", "v"],
                                 pictures=False)
    assert found.input_shape == (3,) and found.ours_shape == (4, 3)
    assert "returned a gradient of shape [4, 3] for an input of shape [3]" in str(found)


def test_a_correct_program_has_no_wrong_gradient():
    def fn(lib, x, w, v):
        return ((x @ w).tanh() * v.exp()).mean(dim=1) + (x * v).sum(dim=1)

    assert first_wrong_gradient(fn, *_inputs(), pictures=False) is None


def test_a_rule_fed_by_two_paths_is_not_blamed_for_the_other_path():
    """``x * sigmoid(x)``: torch's total derivative of the product with respect to ``x``
    includes the path through sigmoid; the product's own rule must be compared with the
    product's local derivative only, so a correct program is not blamed."""
    def fn(lib, x, w, v):
        return (x * x.sigmoid() * v).sum(dim=1) + (w.sum() * x).sum(dim=1)

    assert first_wrong_gradient(fn, *_inputs(), pictures=False) is None


def test_pictures_highlight_the_entry_and_open_the_stepper_at_its_step(tmp_path):
    pytest.importorskip("graphviz")
    found = first_wrong_gradient(_transpose, *_inputs(), names=["x", "w", "v"],
                                 report_dir=tmp_path)
    svg = found.graph_path.read_text()
    node = re.search(r'<g id="op0" class="node[^"]*">.*?</g>', svg, re.S)
    assert node and 'stroke-width="3"' in node.group(0)  # the highlighted entry
    page, anchor = found.stepper_path.split("#")
    html = open(page, encoding="utf-8").read()
    frame = re.search(rf'<div class="frame" id="{anchor}"[^>]*><b>(.*?)</b>', html)
    assert frame and "UntransposedMatmulBackward" in frame.group(1)


def test_compare_with_torch_says_where_the_gradient_went_wrong():
    with pytest.raises(OracleMismatch) as info:
        compare_with_torch(_mean, *_inputs(), names=["x", "w", "v"])
    message = str(info.value)
    assert "first wrong gradient" in message and "MeanRowsBackward" in message
    assert "# <- mean" in message


def test_compare_modules_says_where_a_layer_went_wrong():
    torch = pytest.importorskip("torch")

    class Scale(Function):  # a layer's op with a planted bug: forgets the factor 2
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, g):
            return g

    class Net(tapegrad.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = tapegrad.nn.Linear(3, 2)

        def forward(self, x):
            return Scale.apply(self.fc(x)).tanh()

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(3, 2)

        def forward(self, x):
            return (self.fc(x) * 2.0).tanh()

    from tapegrad.testing import compare_modules

    torch.manual_seed(0)
    with pytest.raises(OracleMismatch) as info:
        compare_modules(Net().double(), TorchNet().double(), _inputs()[0], modes=("train",))
    assert "first wrong gradient" in str(info.value) and "ScaleBackward" in str(info.value)


class HalfSquare(Function):  # d(h·h)/dh is 2h; this backward forgets the 2
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x


def test_an_input_torch_uses_twice_gets_both_uses():
    """torch writes the square as ``h * h``: the local rule it is checked against must add
    the gradient of both factors, or the forgotten 2 would look right."""
    def fn(lib, x, w):
        h = x @ w
        return (HalfSquare.apply(h) if lib is tapegrad else h * h).mean(dim=0)

    found = first_wrong_gradient(fn, *_inputs()[:2], pictures=False)
    assert found is not None and found.backward_name == "HalfSquareBackward"
    assert all(ours == pytest.approx(theirs / 2) for _, ours, theirs, _ in found.worst)
