"""tapegrad.viz.backprop_steps / stepper_html: frames come from engine events only."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import viz
from tapegrad.viz.graph import format_array


def _program():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    a.name = "a"
    b = tg.tensor([3.0, 4.0])
    return a, b, ((a * b) + a).sum()


def _events(y) -> list:
    events: list = []
    tg.autograd.backward_steps(y, events.append, retain_graph=True)
    return events


def test_frame_count_is_two_plus_events():
    a, _, y = _program()
    frames = viz.backprop_steps(y)
    a.grad = None
    assert len(frames) == 2 + len(_events(y))
    assert [f.index for f in frames] == list(range(len(frames)))
    assert frames[0].title == "Forward pass" and frames[0].active is None
    assert frames[1].title == "Seed" and frames[1].active == "v4"


def test_final_frame_matches_backward_and_grads_untouched():
    a, b, y = _program()
    a.grad = tg.tensor([10.0, 20.0])
    before = a.grad
    frames = viz.backprop_steps(y)
    assert a.grad is before and np.array_equal(a.grad.numpy(), [10.0, 20.0])
    a.grad = None
    frames = viz.backprop_steps(y)
    assert a.grad is None
    y.backward(retain_graph=True)
    last = frames[-1]
    assert np.array_equal(last.grads["v0"], a.grad.numpy())
    assert last.value_text["v0"] == f"grad {format_array(a.grad)}"
    assert last.value_text["v1"] == "no grad"  # the constant


def test_accumulation_written_out_and_unreached():
    a, _, y = _program()
    frames = viz.backprop_steps(y)
    assert all(t in ("grad —", "no grad") for t in frames[0].value_text.values())
    # a is reached twice: AddBackward0 sends [1, 1], MulBackward0 adds b = [3, 4]
    mul = next(f for f in frames if f.active == "op0")
    assert mul.value_text["v0"] == "grad [1., 1.] + [3., 4.] = [4., 5.]"
    assert "MulBackward0 sends grad·%1 to a: [1., 1.] + [3., 4.] = [4., 5.]" in mul.caption
    assert mul.changed == ["v0"] and mul.tape_row == 2  # rows: %0, %1, then mul
    add = next(f for f in frames if f.active == "op1")
    assert add.value_text["v2"] == "grad [1., 1.]" and set(add.changed) == {"v2", "v0"}
    assert frames[2].value_text["v0"] == "grad —"  # not reached yet at SumBackward0
    assert frames[-1].title.startswith("AccumulateGrad") and frames[-1].active == "v0"


def test_scalar_frames():
    a, b = tg.Scalar(2.0, label="a"), tg.Scalar(-3.0, label="b")
    y = a * b + a
    a.grad = 7.0
    frames = viz.backprop_steps(y)
    assert a.grad == 7.0 and b.grad == 0.0  # restored
    events: list = []
    a.grad = 0.0
    y.backward(on_step=events.append)
    assert len(frames) == 2 + len(events)
    assert frames[-1].grads["v0"] == a.grad == -2.0
    assert frames[-1].grads["v1"] == b.grad == 2.0
    assert any("MulBackward0 sends grad·b to a" in f.caption for f in frames)
    texts = [f.value_text["v0"] for f in frames]
    assert "grad 1 + -3 = -2" in texts


def test_stepper_html_page(tmp_path):
    a, _, y = _program()
    path = tmp_path / "mul steps.html"
    page = viz.stepper_html(y, path)
    assert path.read_text(encoding="utf-8") == page
    frames = viz.backprop_steps(y)
    n = len(frames)
    assert page.count('<figure class="frame"') == n
    assert page.count("<svg") == n
    for k in range(n):
        assert f'id="mul-steps-step-{k}"' in page
    assert f"Step 0 / {n - 1}" in page and f"Step {n - 1} / {n - 1}:" in page
    assert 'class="prev"' in page and 'class="next"' in page
    assert f'type="range" class="slider" min="0" max="{n - 1}"' in page
    assert ".frame[hidden]{display:none !important}" in page
    assert '<table class="tape">' in page and page.count("<tr data-row=") == 5
    assert "mul %0 %1" in page
    assert "MulBackward0 sends grad·%1 to a" in page
    assert "ArrowLeft" in page and "hashchange" in page
    assert not re.search(r"<figure[^>]*\bhidden", page)  # without JS every frame shows
    # ids stay unique across the inline SVGs
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    assert a.grad is None


def test_layout_is_identical_across_frames():
    _, _, y = _program()
    page = viz.stepper_html(y, html_id="lay")
    sizes = set(re.findall(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', page))
    assert len(sizes) == 1
    # the op node boxes sit at the same place in every frame
    frames = re.findall(r'<figure class="frame".*?</figure>', page, flags=re.S)
    paths = [re.findall(r'id="lay-f\d+-op\d"[^>]*>\s*<title>[^<]*</title>\s*<path[^>]*d="([^"]+)"',
                        f) for f in frames]
    assert paths[0] and all(p == paths[0] for p in paths)
    # the active backward function is drawn emphasised in its frame only
    mul = re.search(r'id="lay-f4-op0".*?</g>', frames[4], flags=re.S).group(0)
    assert 'stroke="#d62728"' in mul and 'stroke-width="3"' in mul
    assert 'stroke="#d62728"' not in re.search(r'id="lay-f0-op0".*?</g>', frames[0],
                                               flags=re.S).group(0)


def test_html_id_and_frame_cap():
    x = tg.tensor([0.5], requires_grad=True)
    y = x
    for _ in range(8):
        y = y * 1.5
    y = y.sum()
    page = viz.stepper_html(y, html_id="7 chain", max_frames=5)
    assert page.count('<figure class="frame"') == 5
    assert 'id="s-7-chain-step-4"' in page
    assert "the first 4 and the last are shown" in page


def test_non_scalar_output_needs_gradient():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        viz.backprop_steps(x * 2)
    frames = viz.backprop_steps(x * 2, gradient=tg.tensor([1.0, 1.0]))
    assert np.array_equal(frames[-1].grads["v0"], [2.0, 2.0])
    assert x.grad is None


def test_leaf_output_is_an_error():
    x = tg.tensor(1.0, requires_grad=True)
    with pytest.raises(ValueError, match="leaf"):
        viz.backprop_steps(x)
