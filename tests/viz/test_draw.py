"""tapegrad.viz.draw / to_svg / render: DOT structure, determinism, rendering.

(Named test_draw.py, not test_graph.py: tests/autograd/test_graph.py exists and pytest's
default import mode needs unique basenames in a tree without __init__.py files.)
"""

from __future__ import annotations

import re
import subprocess
import sys

import graphviz
import numpy as np
import pytest

import tapegrad as tg
from tapegrad import nn, viz
from tapegrad.viz import graph as graph_mod


def _program():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    a.name = "a"
    b = tg.tensor([3.0, 4.0])
    return a, b, ((a * b) + a).sum()


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
        self.fc = nn.Linear(4, 1)

    def forward(self, x):
        return self.fc(self.enc(x))


def _net_loss():
    tg.manual_seed(0)
    model = _Net()
    x = tg.randn(2, 3)
    return model, model(x).sum()


def test_dot_is_deterministic_across_runs():
    code = ("import tapegrad as tg; from tapegrad import viz\n"
            "tg.manual_seed(1)\n"
            "x = tg.randn(3, requires_grad=True); w = tg.randn(3)\n"
            "y = (x * w).tanh().sum()\n"
            "print(viz.draw(y)); print(viz.draw(y, view='backward', show_saved=True))\n")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout for _ in range(2)]
    assert runs[0] == runs[1]
    assert "TanhBackward0" in runs[0]
    # in-process too, and independent of what ran before
    _, _, y1 = _program()
    _, _, y2 = _program()
    assert str(viz.draw(y1)) == str(viz.draw(y2))


def test_nodes_labels_and_colours():
    a, b, y = _program()
    fwd = str(viz.draw(y))
    for nid in ("v0", "v1", "v2", "v3", "v4", "op0", "op1", "op2"):
        assert re.search(rf"\b{nid} \[", fwd), nid
    assert "label=mul" in fwd and "label=add" in fwd
    assert "%0 a" in fwd and "(2,) float32" in fwd and "[1., 2.]" in fwd
    assert graph_mod.COLORS["parameter"] in fwd and graph_mod.COLORS["input"] in fwd
    assert graph_mod.COLORS["output"] in fwd
    assert 'class="value parameter"' in fwd and 'class="value input"' in fwd
    assert "cluster_legend" in fwd
    bwd = str(viz.draw(y, view="backward"))
    assert "MulBackward0" in bwd and "SumBackward0" in bwd and "label=mul" not in bwd
    # gradients flow from the output to the leaves in the backward view
    assert "op0 -> v0" in bwd and "v0 -> op0" in str(viz.draw(y))


def test_grad_row_and_summaries():
    a, b, y = _program()
    y.backward(retain_graph=True)  # a released graph no longer knows its inputs
    bwd = str(viz.draw(y, view="backward"))
    assert "grad [4., 5.]" in bwd
    big = tg.ones(100, requires_grad=True)
    s = (big * 2).sum()
    dot = str(viz.draw(s))
    assert "norm 10, min 1, max 1" in dot


def test_saved_values():
    a, b, y = _program()
    dot = str(viz.draw(y, view="backward", show_saved=True))
    assert dot.count('class=saved') == 1  # a * b saves only b (the constant b needs no grad)
    assert graph_mod.COLORS["saved"] in dot


def test_edge_multiplicity_and_positions():
    a = tg.tensor(2.0, requires_grad=True)
    y = a + a
    dot = str(viz.draw(y))
    assert re.findall(r"v0 -> op0 \[label=(\d)\]", dot) == ["0", "1"]


def test_highlight_and_value_text():
    a, b, y = _program()
    dot = str(viz.draw(y, view="backward", highlight=["op0", "v0"],
                       value_text={"v0": "grad 0.5 + 0.5 = 1.0"}))
    assert "grad 0.5 + 0.5 = 1.0" in dot
    assert re.search(r"op0 \[[^\]]*penwidth=3", dot)
    assert 'COLOR="#d62728"' in dot


def test_module_clusters_and_parameter_names():
    model, loss = _net_loss()
    assert model.fc.weight.name == "fc.weight"
    assert model.enc[0].bias.name == "enc.0.bias"
    dot = str(viz.draw(loss))
    assert "subgraph cluster_enc {" in dot and "subgraph cluster_fc {" in dot
    assert 'subgraph "cluster_enc.0"' in dot  # nested inside cluster_enc
    assert dot.index("cluster_enc {") < dot.index('"cluster_enc.0"') < dot.index("cluster_fc")
    assert "fc.weight" in dot and "label=\"enc: Sequential\"" in dot


def test_params_argument_names_leaves():
    w = tg.ones(2, requires_grad=True)
    y = (w * 3).sum()
    assert "my_w" in str(viz.draw(y, params={"my_w": w}))


def test_collapse_draws_module_as_one_node():
    _, loss = _net_loss()
    dot = str(viz.draw(loss, collapse=["enc"]))
    assert "mod_enc [" in dot and "2 ops, 2 parameters" in dot
    assert "enc.0.weight" not in dot and "cluster_enc" not in dot
    assert "ReLU" not in dot and "label=relu" not in dot
    assert "mod_enc -> v6" in dot and "v0 -> mod_enc" in dot  # the input stays outside
    assert "fc.weight" in dot


def test_max_depth_note():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp().tanh().sin().sum() if hasattr(x, "sin") else x.exp().tanh().exp().sum()
    dot = str(viz.draw(y, max_depth=2))
    assert "note_max_depth" in dot and "2 earlier ops not drawn (max_depth=2)" in dot
    assert "op3 [" in dot and "op2 [" in dot and "op1 [" not in dot and "op0 [" not in dot
    assert "v0 [" not in dot
    assert "note_max_depth" not in str(viz.draw(y))


def test_scalar_graph():
    a, b = tg.Scalar(2.0, label="a"), tg.Scalar(-3.0, label="b")
    y = (a * b + 1).tanh()
    dot = str(viz.draw(y, view="backward"))
    assert "TanhBackward0" in dot and "MulBackward0" in dot and "%0 a" in dot
    assert "() float64" in dot
    assert "[1]=1" in str(viz.draw(y))  # the constant operand of add


def test_create_graph_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x ** 3).sum()
    (g,) = tg.autograd.grad(y, x, create_graph=True)
    z = g.sum()
    dot = str(viz.draw(z, view="backward"))
    assert "PowBackward0" in dot or "MulBackward0" in dot
    assert "SumBackward0" in dot and "v0 [" in dot
    assert "<svg" in viz.to_svg(viz.draw(z))


def test_to_svg_and_render(tmp_path):
    _, _, y = _program()
    svg = viz.to_svg(viz.draw(y))
    assert svg.startswith("<svg") and 'id="op0"' in svg and 'class="node value parameter"' in svg
    out = viz.render(viz.draw(y), tmp_path / "g.svg")
    assert "<svg" in out.read_text()
    png = viz.render(viz.draw(y), tmp_path / "g.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="suffix"):
        viz.render(viz.draw(y), tmp_path / "g.txt")


def test_missing_dot_gives_clear_error(monkeypatch, tmp_path):
    _, _, y = _program()
    digraph = viz.draw(y)
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot anywhere on PATH
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        viz.to_svg(digraph)
    with pytest.raises(RuntimeError, match="brew install graphviz"):
        viz.render(digraph, tmp_path / "g.png")
    assert "digraph" in str(digraph)  # the DOT text is still there


def test_missing_dot_inside_graphviz_call(monkeypatch):
    _, _, y = _program()

    def boom(*args, **kwargs):
        raise graphviz.ExecutableNotFound(["dot"])

    monkeypatch.setattr(graphviz.Source, "pipe", boom)
    with pytest.raises(RuntimeError, match="Graphviz's dot program is not installed"):
        viz.to_svg(viz.draw(y))


def test_bad_view():
    _, _, y = _program()
    with pytest.raises(ValueError, match="view"):
        viz.draw(y, view="sideways")


def test_import_does_not_load_matplotlib():
    code = "import sys, tapegrad.viz; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def test_format_array():
    assert graph_mod.format_array(np.float64(0.5)) == "0.5"
    assert graph_mod.format_array(None) == "—"
    assert graph_mod.format_array(np.zeros((0, 2))) == "[] (0, 2)"


# ------------------------------------------------------------------ issue 13: drawings
def _edges(dot: str) -> list[tuple[str, str]]:
    return re.findall(r"^\s*(\w+) -> (\w+)", dot, flags=re.M)


def _has_cycle(edges: list[tuple[str, str]]) -> bool:
    succ: dict[str, list[str]] = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
    state: dict[str, int] = {}

    def visit(n: str) -> bool:  # iterative would be longer; these graphs are tiny
        state[n] = 1
        for m in succ.get(n, ()):
            if state.get(m) == 1 or (m not in state and visit(m)):
                return True
        state[n] = 2
        return False

    return any(n not in state and visit(n) for n in list(succ))


def test_names_set_after_the_op_are_used():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x.tanh()
    h.name = "h"  # after the op ran
    y = (h * 2).sum()
    tape = tg.autograd.Tape.of(y)
    assert tape.values[1].name == "h" and "# h: (2,) float32" in tape.listing()
    assert "%1 h" in str(viz.draw(y))
    assert any(" to h:" in f.caption for f in viz.backprop_steps(y))
    a, b = tg.Scalar(2.0, label="a"), tg.Scalar(-3.0, label="b")
    e = a * b
    e.label = "e"  # micrograd's lecture names every intermediate this way
    d = e + a
    assert "%2 e" in str(viz.draw(d)) and "# e: () float64" in tg.autograd.Tape.of(d).listing()


def test_scalar_prev_for_micrograds_lecture_code():
    a, b = tg.Scalar(2.0, label="a"), tg.Scalar(-3.0, label="b")
    e = a * b
    assert e._prev == {a, b} and a._prev == set()
    assert (a + a)._prev == {a} and (a * 2.0)._prev == {a}


def test_micrograds_draw_dot_runs_on_scalar():
    def trace(root):  # micrograd's lecture code, as written there
        nodes, edges = set(), set()

        def build(v):
            if v not in nodes:
                nodes.add(v)
                for child in v._prev:
                    edges.add((child, v))
                    build(child)
        build(root)
        return nodes, edges

    def draw_dot(root):
        dot = graphviz.Digraph(format="svg", graph_attr={"rankdir": "LR"})
        nodes, edges = trace(root)
        for n in nodes:
            uid = str(id(n))
            dot.node(name=uid, label="{ %s | data %.4f | grad %.4f }" % (n.label, n.data,  # noqa: UP031
                                                                         n.grad),
                     shape="record")
            if n._op:
                dot.node(name=uid + n._op, label=n._op)
                dot.edge(uid + n._op, uid)
        for n1, n2 in edges:
            dot.edge(str(id(n1)), str(id(n2)) + n2._op)
        return dot

    a, b = tg.Scalar(2.0, label="a"), tg.Scalar(-3.0, label="b")
    e = a * b
    e.label = "e"
    dot = str(draw_dot(e))
    assert "{ e | data -6.0000" in dot and "label=\"*\"" in dot
    o = ((e + b) ** 2).tanh()
    assert [o._op, o._a._op, o._a._a._op, a._op] == ["tanh", "**2", "+", ""]


class _Shared(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inp = nn.Linear(3, 4)
        self.shared = nn.Linear(4, 4)

    def forward(self, x):
        h = self.shared(self.inp(x)).relu()
        return self.shared(h).sum()


def test_shared_module_collapsed_once_per_call_never_a_loop():
    tg.manual_seed(0)
    model = _Shared()
    loss = model(tg.randn(2, 3))
    for view in ("forward", "backward"):
        dot = str(viz.draw(loss, collapse=["shared"], view=view))
        assert "mod_shared_call1 [" in dot and "mod_shared_call2 [" in dot
        assert "shared: Linear(4, 4) #1" in dot
        assert "#2\n(1 op)" in dot  # its weight and bias feed both calls: drawn outside
        assert not _has_cycle(_edges(dot)), view
    # the shared weight goes into both calls: drawn once, outside the boxes
    dot = str(viz.draw(loss, collapse=["shared"]))
    assert dot.count("shared.weight") == 1
    # without collapse nothing changes: no boxes, no call numbers
    assert "mod_" not in str(viz.draw(loss))


def test_cluster_labels_name_the_module_type():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    dot = str(viz.draw(model(tg.randn(1, 4)).sum()))
    assert 'label="0: Linear(4, 4)"' in dot and 'label="2: Linear(4, 2)"' in dot
    assert 'label="1: ReLU"' in dot
    nobias = nn.Sequential(nn.Linear(4, 3, bias=False))
    assert 'label="0: Linear(4, 3, bias=False)"' in str(viz.draw(nobias(tg.randn(1, 4)).sum()))


def test_every_parameter_of_a_transformer_layer_is_named():
    tg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0)
    loss = layer(tg.randn(3, 2, 8)).sum()
    leaves = [v for v in tg.autograd.Tape.of(loss).values if v.kind == "leaf"]
    assert len(leaves) == len(list(layer.parameters()))
    assert all(v.name for v in leaves), [v.id for v in leaves if not v.name]
    assert {v.name for v in leaves} == {n for n, _ in layer.named_parameters()}


def test_legend_lists_every_colour_drawn():
    _, loss = _net_loss()
    plain = str(viz.draw(loss))
    assert "collapsed module" not in plain
    dot = str(viz.draw(loss, collapse=["enc"], show_saved=True))
    legend = dot[dot.index("cluster_legend"):]
    for role in ("parameter", "input", "intermediate", "output", "saved", "module", "op"):
        assert graph_mod.COLORS[role] in legend, role
    assert "collapsed module" in legend


def test_draw_after_a_plain_backward_says_why_values_are_missing():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3).tanh().sum()
    before = str(viz.draw(y))
    assert "freed by backward" not in before
    y.backward()
    after = str(viz.draw(y))
    assert "value freed by backward" in after and "note_freed" in after
    assert "retain_graph=True" in after
    assert "grad [" in str(viz.draw(y, view="backward"))  # the leaf's .grad is still there


def test_an_input_and_its_untracked_view_read_as_one_input():
    tg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0,
                                       batch_first=True)  # transposes x, recording nothing
    x = tg.randn(2, 3, 8)
    x.name = "x"
    loss = layer(x).sum()
    tape = tg.autograd.Tape.of(loss)
    inputs = [v for v in tape.values if v.kind == "const"]
    assert len(inputs) == 2  # x and its transpose: two tensors, one input
    view = next(v for v in inputs if v.obj is not x)
    dot = str(viz.draw(loss))
    base = next(v for v in inputs if v.obj is x)
    assert f"%{view.id} view of x" in dot
    assert re.search(rf"v{base.id} -> v{view.id} \[[^\]]*label=view", dot)
    assert len(re.findall(r"<B>%\d+ x</B>", dot)) == 1  # x itself drawn once
