"""tapegrad.viz.backprop_steps / stepper_html: frames come from engine events only."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import viz
from tapegrad.viz.graph import format_array, short_array


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
    assert ("MulBackward0 sends to a: ∂L/∂a = ∂L/∂%2·%1 = [1., 1.]·[3., 4.] = [3., 4.]. "
            "Accumulated in a: [1., 1.] + [3., 4.] = [4., 5.]") in mul.caption
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
    assert any("MulBackward0 sends to a: ∂L/∂a = ∂L/∂%2·b = 1·(−3) = −3" in f.caption
               for f in frames)
    texts = [f.value_text["v0"] for f in frames]
    assert "grad 1 + (−3) = −2" in texts


def _data(page: str) -> dict:
    """The JSON of per-step changes the page's script reads."""
    m = re.search(r'<script type="application/json" class="tg-data">(.*?)</script>', page,
                  flags=re.S)
    return json.loads(m.group(1).replace("<\\/", "</"))


def test_stepper_html_page(tmp_path):
    a, _, y = _program()
    path = tmp_path / "mul steps.html"
    page = viz.stepper_html(y, path)
    assert path.read_text(encoding="utf-8") == page
    frames = viz.backprop_steps(y)
    n = len(frames)
    # the graph is drawn once; every engine step has its caption (all-steps mode)
    assert page.count("<svg") == 1
    assert page.count('<div class="frame" id="mul-steps-full-step-') == n
    folded = _data(page)["modes"]["folded"]
    assert page.count('<div class="frame" id="mul-steps-step-') == len(folded)
    for k in range(len(folded)):
        assert f'id="mul-steps-step-{k}"' in page
    nf = len(folded) - 1
    assert f"Step 0 / {nf}" in page and f"Step {nf} / {nf}:" in page
    assert 'class="prev"' in page and 'class="next"' in page
    assert f'type="range" class="slider" min="0" max="{nf}"' in page
    assert ".frame[hidden] { display: none !important; }" in page
    assert '<table class="tape">' in page and page.count("<tr data-row=") == 5
    assert "mul %0 %1" in page
    assert "MulBackward0 sends to a: ∂L/∂a = ∂L/∂%2·%1" in page
    assert "ArrowLeft" in page and "hashchange" in page and "pointermove" in page
    assert not re.search(r"<div class=\"frame\"[^>]*\bhidden", page)  # no JS: all show
    # ids stay unique, and the page asks the network for nothing
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "@import" not in page and "url(" not in page
    assert a.grad is None


def test_steps_change_only_styles_and_grad_rows():
    _, _, y = _program()
    page = viz.stepper_html(y, html_id="lay")
    data = _data(page)
    frames = viz.backprop_steps(y)
    full = data["modes"]["full"]
    assert [s["m"] for s in full] == [[k] for k in range(len(frames))]
    # each step lists only what changed; replaying the changes gives every frame's grads
    state = {nid: pair[0] for nid, pair in data["base"].items()}
    for step, frame in zip(full, frames, strict=True):
        state.update({nid: pair[0] for nid, pair in step["d"].items()})
        for nid, g in frame.grads.items():
            assert state[nid] == f"grad {short_array(g)}"
        assert step["a"] == frame.active and step["r"] == frame.tape_row
        assert set(frame.changed) <= set(step["ch"])
    # the written-out accumulation is in the details text, not in the node
    mul = next(s for s in full if s["a"] == "op0")
    assert mul["d"]["v0"] == ["grad [4., 5.]", "grad [1., 1.] + [3., 4.] = [4., 5.]"]
    # the gradient row of every value node is marked for the script, once per node
    svg = page[page.index("<svg"):page.index("</svg>")]
    nodes = re.findall(r'<g id="lay-(v\d+)" class="node[^"]*">(.*?)</g>', svg, flags=re.S)
    assert nodes and all(body.count('<text class="g"') == 1 for _, body in nodes)
    # no frame-specific drawing: nothing is highlighted until the script says so
    assert 'stroke="#d62728"' not in svg


def test_accumulate_grad_folded_into_the_step_that_sent_the_gradient():
    a = tg.Scalar(2.0, label="a")
    b = tg.Scalar(-3.0, label="b")
    y = (a * b + b).tanh()
    frames = viz.backprop_steps(y)
    acc = [k for k, f in enumerate(frames) if f.kind == "accumulate"]
    assert len(acc) == 2  # a and b
    page = viz.stepper_html(y, html_id="n")
    data = _data(page)
    folded = data["modes"]["folded"]
    assert len(folded) == len(frames) - len(acc)
    assert sorted(k for s in folded for k in s["m"]) == list(range(len(frames)))
    for k in acc:  # joined to the last step that sent a gradient to that leaf
        leaf = frames[k].active
        host = max(j for j in range(k) if leaf in frames[j].changed
                   and frames[j].kind != "accumulate")
        step = next(s for s in folded if k in s["m"])
        assert step["m"][0] == host
    assert "AccumulateGrad steps" in page and 'class="acc-toggle"' in page
    shown = viz.stepper_html(y, html_id="n", show_accumulate=True)
    assert _data(shown)["start"] == "full"
    assert f'max="{len(frames) - 1}"' in shown


def test_nodes_stay_narrow_whatever_the_captions():
    """Parameter nodes hold a short summary, never the written-out accumulation."""
    tg.manual_seed(0)
    net = tg.nn.Sequential(tg.nn.Linear(16, 16), tg.nn.Tanh(), tg.nn.Linear(16, 1))
    x = tg.randn(8, 16)
    loss = (net(x) + net(x)).sum()  # every parameter receives two gradients
    page = viz.stepper_html(loss, params=dict(net.named_parameters()), html_id="w")
    svg = page[page.index("<svg"):page.index("</svg>")]
    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    assert not any(" + " in t or "min " in t for t in texts)
    longest = max(len(t.rstrip("\u00a0")) for t in texts if t.startswith("grad"))
    assert longest <= len("grad norm -0.0001234")
    captions = re.findall(r'<p class="caption">(.*?)</p>', page)
    assert any(" + " in c and "→ norm" in c for c in captions)  # the sum is in the panel


def test_collapse_and_max_depth():
    tg.manual_seed(0)
    net = tg.nn.Sequential(tg.nn.Linear(3, 4), tg.nn.ReLU(), tg.nn.Linear(4, 1))
    loss = net(tg.randn(2, 3)).pow(2).mean()
    params = dict(net.named_parameters())
    page = viz.stepper_html(loss, params=params, html_id="c", collapse=["0"])
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert 'id="c-mod_0"' in svg
    data = _data(page)
    assert any(s["a"] == "mod_0" for s in data["modes"]["full"])  # its steps point at the box
    cut = viz.stepper_html(loss, params=params, html_id="d", max_depth=2)
    assert 'id="d-note_max_depth"' in cut
    assert len(_data(cut)["modes"]["full"]) == len(viz.backprop_steps(loss))


def test_transformer_page_stays_small_with_every_step():
    tg.manual_seed(0)
    layer = tg.nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32,
                                          dropout=0.0, batch_first=True)
    loss = layer(tg.randn(2, 5, 16)).pow(2).mean()
    frames = viz.backprop_steps(loss)
    assert len(frames) > 40  # 5-7 MB when every step was its own SVG
    page = viz.stepper_html(loss, params=dict(layer.named_parameters()), html_id="t")
    assert len(_data(page)["modes"]["full"]) == len(frames)  # every step kept
    assert len(page.encode("utf-8")) < 2_000_000


def test_html_id_and_frame_cap():
    x = tg.tensor([0.5], requires_grad=True)
    y = x
    for _ in range(8):
        y = y * 1.5
    y = y.sum()
    page = viz.stepper_html(y, html_id="7 chain", max_frames=5)
    assert len(_data(page)["modes"]["full"]) == 5
    assert 'id="s-7-chain-full-step-4"' in page
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
