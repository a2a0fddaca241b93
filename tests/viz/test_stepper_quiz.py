"""Quiz mode of the stepper (issue 15.4): the page asks for every gradient a step changed,
with the engine's numbers as the answers, the local rule as the hint, and nothing given
away on the graph before it is asked. (The page is driven in a browser in
tests/test_docs_browser.py.)"""

from __future__ import annotations

import json
import re

import numpy as np

import tapegrad as tg
from tapegrad import viz
from tapegrad.autograd.tape import Tape


def _data(page: str) -> dict:
    return json.loads(re.search(r'class="tg-data">(.*?)</script>', page, re.S).group(1))


def _neuron():
    x = tg.tensor([[1.0, -2.0, 0.5]], requires_grad=True)
    w = tg.tensor([[0.3, -0.1, 0.8], [0.5, 0.2, -0.4]], requires_grad=True)
    b = tg.tensor([0.1, -0.2], requires_grad=True)
    return x, w, b, tg.nn.functional.linear(x, w, b).tanh().sum()


def test_every_changed_gradient_is_asked_with_the_engines_numbers():
    x, w, b, loss = _neuron()
    data = _data(viz.stepper_html(loss, quiz=True))
    assert data["quiz"] is True
    asked = [q for step in data["modes"]["folded"] for q in step.get("q", [])]
    loss.backward()
    names = {id(v.obj): f"v{v.id}" for v in Tape.of(loss).values if v.obj is not None}
    final = {q["n"]: q["w"] for q in asked}  # the last time each value was asked
    for leaf in (x, w, b):
        want = leaf.grad.numpy().reshape(-1)
        got = final[names[id(leaf)]]
        # 6 numbers or fewer are asked in full; w has 6, x 3, b 2
        assert np.allclose(got, want, rtol=1e-6), (got, want)
    # every step that changed a gradient asks for it, and nothing else
    for step in data["modes"]["full"]:
        assert {q["n"] for q in step.get("q", [])} <= set(step["ch"]) | {step["a"]}


def test_a_big_gradient_is_asked_by_its_first_element():
    w = tg.randn(4, 5, requires_grad=True)
    loss = (w * 3.0).tanh().sum()
    data = _data(viz.stepper_html(loss, quiz=True))
    asked = [q for step in data["modes"]["folded"] for q in step.get("q", [])
             if q["sh"] == [4, 5]]
    loss.backward()
    assert asked and all(len(q["w"]) == 1 and "[0, 0]" in q["q"] for q in asked)
    assert np.isclose(asked[-1]["w"][0], float(w.grad[0, 0]), rtol=1e-6)


def test_hints_are_the_rule_without_its_numbers():
    x1, w1 = tg.Scalar(2.0, label="x1"), tg.Scalar(-3.0, label="w1")
    o = (x1 * w1).tanh()
    data = _data(viz.stepper_html(o, quiz=True))
    hints = {q["q"]: q["h"] for step in data["modes"]["folded"] for q in step.get("q", [])}
    assert re.fullmatch(r"∂L/∂w1 = ∂L/∂%\d+·x1", hints["∂L/∂w1"]), hints
    assert not re.search(r"\d\.\d", hints["∂L/∂w1"])  # no numbers: those are the answer


def test_the_graph_starts_without_answers():
    x, w, b, loss = _neuron()
    page = viz.stepper_html(loss, quiz=True)
    rows = re.findall(r'<text class="g"[^>]*>([^<]*)</text>', page)
    assert rows and all(r.replace("\u00a0", " ").strip() in ("grad —", "no grad")
                        for r in rows), rows
    assert 'class="tg-stepper quiz"' in page and 'class="quiz-panel"' in page
    plain = viz.stepper_html(loss)
    assert 'class="quiz-panel"' not in plain and _data(plain)["quiz"] is False
