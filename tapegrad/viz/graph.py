"""Draw a tape as a Graphviz graph: the forward program, or the backward graph torch builds.

``draw(loss)`` reads ``Tape.of(loss)`` (the recorded entries, in execution order) and lays
it out with two kinds of node:

* **values** (``v<id>``, the SSA numbers of the listing ``%id``): a small table with the
  name, shape and dtype, the data (or norm/min/max for big tensors) and the gradient;
* **entries** (``op<position>``): the op that ran. The forward view names it as the
  listing does (``mul``); the backward view names it as torch names the ``grad_fn``
  (``MulBackward0``) and draws the edges in the direction gradients flow.

Colours say what a value is: a *parameter* (a leaf that requires grad: it gets a
``.grad``), an *input* (a constant: no gradient flows into it), an *intermediate*, the
*output*, or (``show_saved=True``) a value an entry *saved* for its backward. Ops recorded
inside an ``nn.Module`` are grouped in one box per module path (``cluster_fc1``), and
``collapse=["enc"]`` draws a whole module as one node. Node ids come from tape positions,
never from ``id()``, so the same program always gives the same DOT text.
"""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import graphviz
import numpy as np

from tapegrad.autograd.tape import Tape, TapeEntry, Value
from tapegrad.pointwise import RULES
from tapegrad.scalar import Scalar
from tapegrad.viz.captions import broadcast_dims, broadcast_note

__all__ = ["COLORS", "DOT_MISSING", "draw", "format_array", "render", "short_array", "to_svg"]

COLORS = {
    "parameter": "#add8e6",  # torchviz's light blue: a leaf that requires grad
    "input": "#fff5cc",  # a constant (no grad flows into it)
    "intermediate": "#ffffff",
    "output": "#caff70",  # torchviz's green
    "saved": "#ffc266",  # torchviz's orange: kept for backward
    "op": "#d9d9d9",  # torchviz's grey backward function
    "module": "#e8e0f5",  # a collapsed module
    "made_by_backward": "#f8d0d0",  # an op a backward pass recorded (create_graph=True)
}
_HIGHLIGHT = "#d62728"
_SMALL = 6  # tensors with at most this many elements show their data
DOT_MISSING = ("Graphviz's dot program is not installed: apt-get install graphviz "
               "(Debian/Ubuntu) or brew install graphviz")


def format_array(x: Any, precision: int = 4) -> str:
    """A short text for a number or array: the values when small, else a summary."""
    if x is None:
        return "—"
    if hasattr(x, "_data"):  # a Tensor
        x = x._data
    a = np.asarray(x)
    if a.size == 0:
        return f"[] {tuple(a.shape)}"
    if a.size <= _SMALL:
        if a.ndim == 0:
            return f"{a.item():.{precision}g}"
        return np.array2string(a, precision=precision, separator=", ",
                               max_line_width=10_000).replace("\n", "")
    f = a.astype(np.float64)
    return (f"norm {np.linalg.norm(f):.{precision}g}, min {f.min():.{precision}g}, "
            f"max {f.max():.{precision}g}")


def short_array(x: Any) -> str:
    """A compact text that keeps a node narrow: up to 3 numbers, else the norm.

    What the step-through viewer writes inside nodes; the full values are one hover or
    click away (`format_array` and the details panel).
    """
    if x is None:
        return "—"
    if hasattr(x, "_data"):
        x = x._data
    a = np.asarray(x)
    if a.size == 0:
        return "[]"
    if a.size <= 3:
        if a.ndim == 0:
            return f"{a.item():.4g}"
        return np.array2string(a.reshape(-1), precision=3, separator=", ",
                               max_line_width=10_000)
    return f"norm {np.linalg.norm(a.astype(np.float64)):.4g}"


# ------------------------------------------------------------------ structure
def _roles(tape: Tape, show_saved: bool) -> dict[int, str]:
    outs = {v.id for v in tape.outputs}
    saved = {s.id for e in tape.entries for s in e.saved} if show_saved else set()
    roles = {}
    for v in tape.values:
        if v.id in outs:
            roles[v.id] = "output"
        elif v.kind == "leaf":
            roles[v.id] = "parameter"
        elif v.kind == "const":
            roles[v.id] = "input"
        else:
            roles[v.id] = "saved" if v.id in saved else "intermediate"
    return roles


def _depths(tape: Tape) -> dict[int, int]:
    """Entry position -> its distance from the output (the output's producer is 1)."""
    depth: dict[int, int] = {}
    for v in tape.outputs:
        if v.producer is not None:
            depth[v.producer.position] = 1
    for e in reversed(tape.entries):  # consumers come after producers on the tape
        d = depth.get(e.position)
        if d is None:
            continue
        for a in e.inputs:
            if isinstance(a, Value) and a.producer is not None:
                p = a.producer.position
                depth[p] = min(depth.get(p, d + 1), d + 1)
    return depth


def _collapsed_path(path: str, collapse: list[str]) -> str | None:
    for c in collapse:
        if path == c or path.startswith(c + "."):
            return c
    return None


def _call_of(e: TapeEntry, path: str) -> int:
    """Which call of the module at ``path`` recorded entry ``e`` (see autograd.scope)."""
    for p, n, _ in getattr(e.node, "module_calls", ()):
        if p == path:
            return n
    return -1


def _module_descriptions(entries: list[TapeEntry]) -> dict[str, str]:
    """Module path -> ``path: Type(args)`` (``1: Linear(64, 64)``), from the modules the
    entries were recorded in."""
    out: dict[str, str] = {}
    for e in entries:
        for p, _, module in getattr(e.node, "module_calls", ()):
            if p not in out:
                extra = module.extra_repr() if hasattr(module, "extra_repr") else ""
                # short, as a label can be: Linear(in_features=64, out_features=64,
                # bias=True) -> Linear(64, 64)
                extra = re.sub(r"\b\w+=(?=-?\d+\b(?![.(]))", "", extra)
                extra = re.sub(r",?\s*bias=True\b", "", extra).strip(", ")
                kind = type(module).__name__
                out[p] = f"{p}: {kind}({extra})" if extra else f"{p}: {kind}"
    return out


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _owned_by(name: str | None, path: str) -> bool:
    """Does a parameter called ``name`` (``enc.0.weight``) belong to module ``path``?"""
    return bool(name and path and name.startswith(path + "."))


def _grad_of(v: Value) -> Any:
    """The gradient a drawing shows for a value (leaves: .grad; Scalars: every value)."""
    obj = v.obj
    if obj is None and v.producer is not None and isinstance(v.producer.node, Scalar):
        obj = v.producer.node  # a Scalar intermediate keeps its gradient
    if obj is None:
        return None
    if isinstance(obj, Scalar):
        return obj.grad
    return getattr(obj, "_grad", None)


def _value_label(v: Value, name: str | None, role: str, text: str | None,
                 view: str, emphasised: bool, compact: bool = False) -> str:
    esc = html.escape
    title = f"%{v.id}" + (f" {name}" if name else "")
    color = _HIGHLIGHT if emphasised else "#555555"
    td = '<TR><TD COLOR="#777777"'
    rows = [f'{td} BGCOLOR="{COLORS[role]}"><B>{esc(title)}</B></TD></TR>',
            f"{td}>{esc(v.describe())}</TD></TR>"]
    if v.data is not None:
        shown = short_array(v.data) if compact else format_array(v.data)
        rows.append(f'{td}><FONT FACE="Courier">{esc(shown)}</FONT></TD></TR>')
    elif v.kind == "output":  # backward released it (the graph gets a note saying so)
        rows.append(f'{td}><FONT COLOR="#888888"><I>value freed by backward</I></FONT>'
                    "</TD></TR>")
    if text is not None:
        rows.append(f'{td}><FONT FACE="Courier" COLOR="{color}">{esc(text)}</FONT></TD></TR>')
    elif view == "backward" or v.kind == "leaf":
        g = _grad_of(v)
        if g is not None and v.kind != "const":
            rows.append(f'{td}><FONT FACE="Courier">grad {esc(format_array(g))}'
                        "</FONT></TD></TR>")
    # The outer border is always there (transparent unless emphasised): same size in
    # every frame of the step-through, so the layout does not move.
    border = _HIGHLIGHT if emphasised else "transparent"
    return (f'<<TABLE BORDER="3" COLOR="{border}" CELLBORDER="1" CELLSPACING="0" '
            'CELLPADDING="3">' + "".join(rows) + "</TABLE>>")


def _entry_label(e: TapeEntry, view: str, passes: dict[int, int]) -> str:
    lines = [e.backward_name if view == "backward" else e.op]
    if e.backward_pass is not None:
        lines.append(f"(made by backward {passes[e.backward_pass]})")
    if view == "forward":
        lines += [f"[{i}]={format_array(a) if isinstance(a, np.ndarray) else a!r}"
                  for i, a in enumerate(e.inputs) if not isinstance(a, Value) and a is not None]
        lines += [f"{k}={o!r}" for k, o in e.options.items() if o is not None]
    return "\n".join(lines)


_BROADCAST = "#1f77b4"


def _broadcast_label(e: TapeEntry, a: Value, nid: str) -> tuple[str, str] | None:
    """For an input a pointwise op broadcast to its output's shape: the edge label
    ("Σ dim 0") and the reason (the tooltip), as the stepper's caption words it."""
    if nid.startswith("mod_") or a.kind == "const" or not e.outputs:
        return None
    if (RULES.get(e.op) or RULES.get(e.op.rstrip("_"))) is None:
        return None
    out = tuple(e.outputs[0].shape)
    dims = broadcast_dims(tuple(a.shape), out)
    if not dims or tuple(a.shape) == out:
        return None
    which = "dim " + str(dims[0]) if len(dims) == 1 else "dims " + ", ".join(map(str, dims))
    return f"Σ {which}", broadcast_note(a.name or f"%{a.id}", tuple(a.shape), out)


# ------------------------------------------------------------------ draw
def draw(output: Any, *, view: str = "forward", params: dict | None = None,
         show_saved: bool = False, collapse: Iterable[str] | None = None,
         max_depth: int | None = None, highlight: Iterable[str] | None = None,
         value_text: dict[str, str] | None = None, title: str | None = None,
         compact: bool = False) -> graphviz.Digraph:
    """The graph of everything ``output`` (a Tensor or a Scalar) depends on.

    ``view="forward"`` draws values flowing through ops (``mul``); ``view="backward"``
    draws torch's backward functions (``MulBackward0``) with edges the way gradients
    flow, from the output to the leaves. Edges into an op with several arguments are
    labelled with the argument position, once per use (``a + a`` gives edges 0 and 1).

    ``params`` (name -> tensor, e.g. ``dict(model.named_parameters())``) names leaves;
    ``collapse`` draws the listed module paths as one node each; ``max_depth`` keeps the
    ops at most that many steps back from the output; ``highlight`` (node ids) and
    ``value_text`` (node id -> text shown instead of the grad row) are what the
    step-through viewer changes from frame to frame; ``compact=True`` writes data as
    `short_array` summaries (narrow nodes for big graphs). ``str(result)`` is the DOT text.
    """
    if view not in ("forward", "backward"):
        raise ValueError(f"view must be 'forward' or 'backward', got {view!r}")
    tape = Tape.of(output)
    passes = tape.backward_passes()
    collapse = list(collapse or ())
    hl = set(highlight or ())
    value_text = value_text or {}
    names = {id(t): n for n, t in (params or {}).items()}
    roles = _roles(tape, show_saved)

    depth = _depths(tape)
    shown = [e for e in tape.entries
             if max_depth is None or depth.get(e.position, 0) <= max_depth]
    cut = len(tape.entries) - len(shown)

    # Which drawn node stands for each entry: itself, or the box of its collapsed module,
    # one box per call of that module (a module called twice is two boxes, not a loop).
    unit: dict[int, Any] = {}
    calls: dict[str, list[int]] = {}  # collapsed path -> its call numbers, in order
    for e in shown:
        c = _collapsed_path(e.module_path, collapse)
        if c is None:
            unit[e.position] = f"op{e.position}"
            continue
        n = _call_of(e, c)
        seen = calls.setdefault(c, [])
        if n not in seen:
            seen.append(n)
        unit[e.position] = (c, n)
    for e in shown:
        u = unit[e.position]
        if isinstance(u, tuple):
            c, n = u
            k = calls[c].index(n)
            unit[e.position] = f"mod_{c}" if len(calls[c]) == 1 else f"mod_{c}_call{k + 1}"
    boxes = {u: (u[4:].rsplit("_call", 1)[0] if "_call" in u else u[4:])
             for u in unit.values() if u.startswith("mod_")}
    box_call = {u: int(u.rsplit("_call", 1)[1]) for u in boxes if "_call" in u}
    described = _module_descriptions(shown)

    # An input that is a view of another input (batch_first=True transposes x without
    # recording anything: no grad flows) is drawn as "view of x", tied to x, so the
    # one input does not look like two.
    by_obj = {id(v.obj): v for v in tape.values if v.obj is not None}
    view_of: dict[int, Any] = {}
    for v in tape.values:
        base = getattr(v.obj, "_base", None) if v.kind == "const" else None
        if base is not None:
            view_of[v.id] = by_obj.get(id(base), base)

    def name_of(v: Value) -> str | None:
        own = (names.get(id(v.obj)) if v.obj is not None else None) or v.name
        if own or v.id not in view_of:
            return own
        base = view_of[v.id]
        if isinstance(base, Value):
            label = name_of(base) or f"%{base.id}"
        else:
            label = names.get(id(base)) or getattr(base, "name", None) or "an input"
        return f"view of {label}"

    folded: dict[str, int] = {}  # box -> parameters drawn inside it
    # Values: the ones a shown entry reads or writes, minus those hidden inside a box.
    consumers: dict[int, list[str]] = {}
    consumer_paths: dict[int, set[str]] = {}
    for e in shown:
        for a in e.inputs:
            if isinstance(a, Value):
                consumers.setdefault(a.id, []).append(unit[e.position])
                consumer_paths.setdefault(a.id, set()).add(e.module_path)
    out_ids = {v.id for v in tape.outputs}
    visible: list[Value] = []
    for v in tape.values:
        made_by = unit.get(v.producer.position) if v.producer is not None else None
        if made_by is None and v.id not in consumers:
            continue  # only read by ops that max_depth left out
        touching = set(consumers.get(v.id, ())) | ({made_by} - {None})
        box = next(iter(touching)) if len(touching) == 1 else ""
        if box.startswith("mod_") and v.id not in out_ids and (
                made_by is not None or _owned_by(name_of(v), boxes[box])):
            folded[box] = folded.get(box, 0) + (made_by is None)
            continue  # lives entirely inside one collapsed module (its own parameters too)
        visible.append(v)
    vis_ids = {v.id for v in visible}

    g = graphviz.Digraph(name="tape")
    g.attr(rankdir="TB", fontname="Helvetica", fontsize="10")
    g.attr("node", fontname="Helvetica", fontsize="10")
    g.attr("edge", fontname="Helvetica", fontsize="9")
    if title:
        g.attr(label=title, labelloc="t")

    # Cluster per module path (nested: "enc.fc1" inside "enc").
    def path_of_value(v: Value) -> str:
        if v.producer is not None and v.producer.position in unit:
            return v.producer.module_path
        # A leaf sits in the box of the module that owns it (its name says which);
        # inputs and constants stay outside, where they come from.
        paths = consumer_paths.get(v.id, set())
        path = next(iter(paths)) if len(paths) == 1 else ""
        return path if _owned_by(name_of(v), path) else ""

    members: dict[str, list[tuple[str, dict]]] = {}

    def place(path: str, node_id: str, attrs: dict) -> None:
        c = _collapsed_path(path, collapse)  # a collapsed module sits in its parent's box
        home = path if c is None else (c.rsplit(".", 1)[0] if "." in c else "")
        members.setdefault(home, []).append((node_id, attrs))

    for v in visible:
        nid = f"v{v.id}"
        name = name_of(v)
        role = roles[v.id]
        emph = nid in hl
        attrs = dict(label=_value_label(v, name, role, value_text.get(nid), view, emph,
                                        compact),
                     shape="plain", id=nid, **{"class": f"value {role}"})
        place(path_of_value(v), nid, attrs)

    boxes_done = set()
    for e in shown:
        nid = unit[e.position]
        if nid.startswith("mod_"):
            if nid in boxes_done:
                continue
            boxes_done.add(nid)
            c = boxes[nid]
            inside = [x for x in shown if unit[x.position] == nid]
            n_params = folded.get(nid, 0)
            head = described.get(c, c)
            if nid in box_call:
                head += f" #{box_call[nid]}"
            label = f"{head}\n({_count(len(inside), 'op')}" + (
                f", {_count(n_params, 'parameter')})" if n_params else ")")
            attrs = dict(label=label, shape="box3d", style="filled",
                         fillcolor=COLORS["module"], id=nid, **{"class": "module"})
        else:
            made = e.backward_pass is not None
            attrs = dict(label=_entry_label(e, view, passes), shape="box",
                         style="filled,rounded",
                         fillcolor=COLORS["made_by_backward" if made else "op"], id=nid,
                         **{"class": f"op {view}" + (" made-by-backward" if made else "")})
        if nid in hl:
            attrs.update(color=_HIGHLIGHT, penwidth="3")
        place(e.module_path, nid, attrs)

    _emit_clusters(g, members, described)

    # Edges: value -> op (argument position when the op has several) and op -> value;
    # the backward view reverses them (gradients flow from the output to the leaves).
    seen_box_edges = set()

    def edge(a: str, b: str, **attrs: str) -> None:
        if view == "backward":
            a, b = b, a
        g.edge(a, b, **attrs)

    for e in shown:
        nid = unit[e.position]
        n_args = len(e.inputs)
        for i, a in enumerate(e.inputs):
            if not isinstance(a, Value) or a.id not in vis_ids:
                continue
            attrs = {"label": str(i)} if n_args > 1 and not nid.startswith("mod_") else {}
            summed = _broadcast_label(e, a, nid)
            if summed:  # the gradient back to this input is summed over broadcast dims
                attrs["label"] = f"{attrs.get('label', '')} {summed[0]}".strip()
                attrs.update(tooltip=summed[1], color=_BROADCAST, fontcolor=_BROADCAST)
            if a.kind == "const" and view == "backward":
                attrs.update(style="dotted", arrowhead="none")
            if nid.startswith("mod_"):
                if (a.id, nid) in seen_box_edges:
                    continue
                seen_box_edges.add((a.id, nid))
            edge(f"v{a.id}", nid, **attrs)
        for o in e.outputs:
            if o.id in vis_ids and (o.id, nid, "out") not in seen_box_edges:
                seen_box_edges.add((o.id, nid, "out"))
                edge(nid, f"v{o.id}")
        if show_saved and not nid.startswith("mod_"):
            for s in e.saved:
                if s.id in vis_ids:
                    g.edge(f"v{s.id}", nid, style="dashed", color="#e69500",
                           arrowhead="odot", **{"class": "saved"})

    for vid, base in view_of.items():
        if vid in vis_ids and isinstance(base, Value) and base.id in vis_ids:
            g.edge(f"v{base.id}", f"v{vid}", label="view", style="dotted", arrowhead="none",
                   **{"class": "view"})

    if cut:
        g.node("note_max_depth", f"{cut} earlier op{'s' if cut > 1 else ''} not drawn "
               f"(max_depth={max_depth})", shape="note", id="note_max_depth",
               style="dashed", fontcolor="#555555")
    if not tape.entries:
        g.node("note_leaf", "a leaf: nothing was recorded", shape="note", id="note_leaf")
    if any(v.kind == "output" and v.data is None for v in visible):
        g.node("note_freed", "values freed by backward(): draw before backward, or call "
               "backward(retain_graph=True) to keep them", shape="note", id="note_freed",
               style="dashed", fontcolor="#555555")
    _legend(g, show_saved, bool(boxes), bool(passes))
    return g


def _emit_clusters(g: graphviz.Digraph, members: dict[str, list[tuple[str, dict]]],
                   described: dict[str, str]) -> None:
    """One ``subgraph cluster_<path>`` per module path, nested by the dotted path, labelled
    ``path: Type(args)`` (``1: Linear(64, 64)``) when the module is known."""
    paths = sorted(p for p in members if p)
    all_paths = sorted({".".join(p.split(".")[:k]) for p in paths
                        for k in range(1, p.count(".") + 2)})

    def fill(sub: graphviz.Digraph, path: str) -> None:
        for nid, attrs in members.get(path, ()):
            sub.node(nid, **attrs)
        for child in all_paths:
            parent = child.rsplit(".", 1)[0] if "." in child else ""
            if parent == path:
                with sub.subgraph(name=f"cluster_{child}") as c:
                    c.attr(label=described.get(child, child), style="rounded,dashed",
                           color="#7f7f7f",
                           fontcolor="#444444", id=f"cluster_{child}")
                    fill(c, child)

    fill(g, "")


def _legend(g: graphviz.Digraph, show_saved: bool, collapsed: bool,
            made_by_backward: bool = False) -> None:
    """Every colour the drawing uses."""
    roles = ["parameter", "input", "intermediate", "output"] + (["saved"] if show_saved else [])
    rows = "".join(f'<TR><TD BGCOLOR="{COLORS[r]}">{r}</TD></TR>' for r in roles)
    rows += f'<TR><TD BGCOLOR="{COLORS["op"]}">op / backward function</TD></TR>'
    if made_by_backward:
        rows += (f'<TR><TD BGCOLOR="{COLORS["made_by_backward"]}">op recorded by a backward '
                 'pass (create_graph=True)</TD></TR>')
    if collapsed:
        rows += f'<TR><TD BGCOLOR="{COLORS["module"]}">collapsed module</TD></TR>'
    with g.subgraph(name="cluster_legend") as c:
        c.attr(label="legend", style="dashed", color="#bbbbbb", id="cluster_legend")
        c.node("legend", '<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">'
               + rows + "</TABLE>>", shape="plain", id="legend")


# ------------------------------------------------------------------ rendering
def _check_dot() -> None:
    if shutil.which("dot") is None:
        raise RuntimeError(DOT_MISSING)


def _pipe(digraph: graphviz.Digraph | str, fmt: str, encoding: str | None) -> Any:
    _check_dot()
    try:
        return graphviz.Source(str(digraph)).pipe(format=fmt, encoding=encoding)
    except graphviz.ExecutableNotFound as exc:
        raise RuntimeError(DOT_MISSING) from exc


def to_svg(digraph: graphviz.Digraph | str) -> str:
    """The drawing as inline SVG text (everything before ``<svg`` stripped)."""
    svg = _pipe(digraph, "svg", "utf-8")
    return svg[svg.index("<svg"):]


def render(digraph: graphviz.Digraph | str, path: str | Path) -> Path:
    """Write the drawing to ``path``; the format comes from the suffix (svg, png, pdf)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in ("svg", "png", "pdf"):
        raise ValueError(f"cannot render to {path.name!r}: use a .svg, .png or .pdf suffix")
    if fmt == "svg":
        path.write_text(_pipe(digraph, "svg", "utf-8"), encoding="utf-8")
    else:
        path.write_bytes(_pipe(digraph, fmt, None))
    return path
