"""Step through backprop: one frame per event of the backward engine.

``backprop_steps(loss)`` runs the engine with ``on_step`` (the walk reports each entry it
runs and what it sent to each input, with the accumulated value before and after) and
turns every event into a `Frame`: which node is active, which gradients changed, and the
text of every gradient, accumulation written out (``grad 0.5 + 0.5 = 1.0``). Nothing here
recomputes a gradient: the frames only *render* what the engine did, so they cannot
disagree with it.

``stepper_html(loss, "steps.html")`` draws each frame with `tapegrad.viz.draw` (same
nodes in every frame, only labels and colours change, so the picture stays still while
the gradients move) and writes one self-contained HTML page: Prev/Next, a slider, arrow
keys, deep links ``#<id>-step-<k>``, the tape with the current row highlighted.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tapegrad.autograd.api import backward_steps
from tapegrad.autograd.function import AccumulateGrad
from tapegrad.autograd.tape import Tape, Value
from tapegrad.formula import Expr, chain
from tapegrad.pointwise import RULES, Binary
from tapegrad.scalar import Scalar
from tapegrad.viz.graph import draw, format_array, to_svg

__all__ = ["Frame", "backprop_steps", "stepper_html"]

UNREACHED = "—"
_ASSETS = Path(__file__).parent / "assets"

# What each backward sends to input 0 / input 1, in words (grad is what arrived; a, b the
# inputs, out the output), for the ops that are not pointwise: a pointwise op's caption is
# its own formula (`tapegrad.pointwise`). Ops not listed get the general vector-Jacobian
# product.
_FORMULAS: dict[str, tuple[str, str]] = {
    "sum": ("grad broadcast to the shape of {a}", ""),
    "mean": ("grad / n broadcast to the shape of {a}", ""),
    "matmul": ("grad @ {b}ᵀ", "{a}ᵀ @ grad"),
    "mm": ("grad @ {b}ᵀ", "{a}ᵀ @ grad"),
}
_GRAD = Expr("var", "grad")


@dataclass
class Frame:
    """One picture of the backward walk."""

    index: int  # 0: the forward values, 1: the seed, then one per engine event
    title: str
    caption: str  # what happened, in words
    active: str | None  # the node id that acted (op<position> or v<id> for a leaf)
    changed: list[str]  # value node ids whose gradient changed in this step
    value_text: dict[str, str]  # value node id -> its gradient row
    tape_row: int | None  # row of Tape.listing() this step belongs to
    grads: dict[str, Any] = field(default_factory=dict)  # value node id -> gradient (numbers)


def _numbers(g: Any) -> Any:
    if g is None:
        return None
    if hasattr(g, "_data"):
        return np.array(g._data, copy=True)
    return float(g)


def _acc_text(before: Any, grad: Any, after: Any) -> str:
    if before is None:
        return f"grad {format_array(after)}"
    return f"grad {format_array(before)} + {format_array(grad)} = {format_array(after)}"


def _value_name(v: Any) -> str:
    if isinstance(v, Value):
        return v.name or f"%{v.id}"
    return format_array(v) if isinstance(v, np.ndarray) else repr(v)


def _formula(entry: Any, index: int) -> str:
    rule = RULES.get(entry.op)
    if rule is not None:  # grad · the local derivative, with the values' names
        variables = ("a", "b") if isinstance(rule, Binary) else ("x",)
        names = {"y": _value_name(entry.outputs[0])}
        numbers = {}
        for var, arg in zip(variables, entry.inputs, strict=False):
            if isinstance(arg, Value):
                names[var] = _value_name(arg)
            else:  # a constant operand: put the number in and simplify
                numbers[var] = float(arg)
        formula = rule.formulas[min(index, 1)] if isinstance(rule, Binary) else rule.formula
        return chain(formula.substitute(numbers), _GRAD).text(names)
    pair = _FORMULAS.get(entry.op)
    if pair is None or not pair[min(index, 1)]:
        return f"grad through ∂{_value_name(entry.outputs[0])}/∂input {index}"
    args = [_value_name(a) for a in entry.inputs] + ["?", "?"]
    return pair[min(index, 1)].format(a=args[0], b=args[1], out=_value_name(entry.outputs[0]))


class _Index:
    """Maps the engine's objects (Nodes, AccumulateGrad, Scalars) to tape values."""

    def __init__(self, tape: Tape) -> None:
        self.entries = {id(e.node): e for e in tape.entries}
        self.leaves = {id(v.obj): v for v in tape.values if v.obj is not None}
        plain = [v for v in tape.values if v.kind != "output"]
        self.value_rows = {v.id: i for i, v in enumerate(plain)}
        self.entry_row0 = len(plain)

    def target(self, node: Any, nr: int) -> Value | None:
        if isinstance(node, AccumulateGrad):
            return self.leaves.get(id(node.variable))
        e = self.entries.get(id(node))
        if e is not None:
            return e.outputs[nr]
        return self.leaves.get(id(node))  # a Scalar leaf

    def row_of(self, value: Value) -> int | None:
        if value.producer is not None:
            return self.entry_row0 + value.producer.position
        return self.value_rows.get(value.id)


def _run_events(output: Any, tape: Tape, gradient: Any) -> list:
    """Run the engine once, collecting its events, and leave every .grad as it was."""
    events: list = []
    if isinstance(output, Scalar):
        held = [v.obj for v in tape.values if v.obj is not None]
        held += [e.node for e in tape.entries]
        saved = [s.grad for s in held]
        try:
            for s in held:
                s.grad = 0.0
            output.backward(on_step=events.append)
        finally:
            for s, g in zip(held, saved, strict=True):
                s.grad = g
        return events
    leaves = [v.obj for v in tape.values if v.kind == "leaf"]
    saved = [t._grad for t in leaves]
    try:
        for t in leaves:
            t._grad = None  # show the gradient of this pass alone
        backward_steps(output, events.append, gradient=gradient, retain_graph=True)
    finally:
        for t, g in zip(leaves, saved, strict=True):
            t._grad = g
    return events


def backprop_steps(output: Any, gradient: Any = None) -> list[Frame]:
    """The frames of one backward pass from ``output`` (a Tensor or a Scalar).

    Frame 0 shows the forward values, frame 1 the seed (d output / d output = 1), then
    one frame per engine event. Leaves' ``.grad`` are left exactly as they were.
    """
    tape = Tape.of(output)
    if not tape.entries:
        raise ValueError("the output is a leaf (nothing was recorded): there is no backward "
                         "pass to step through")
    idx = _Index(tape)
    texts = {f"v{v.id}": ("no grad" if v.kind == "const" else f"grad {UNREACHED}")
             for v in tape.values}
    grads: dict[str, Any] = {}
    frames = [Frame(0, "Forward pass", "The forward pass computed every value; no gradient "
                    "has been computed yet.", None, [], dict(texts), None, {})]
    events = _run_events(output, tape, gradient)
    outs = tape.outputs
    if outs:
        o = outs[0]
        seed = np.ones(o.shape) if gradient is None else _numbers(gradient)
        texts[f"v{o.id}"] = f"grad {format_array(seed)}"
        grads[f"v{o.id}"] = seed
        frames.append(Frame(1, "Seed", f"Backward starts at {_value_name(o)}: its gradient "
                            f"with respect to itself is {format_array(seed)}.",
                            f"v{o.id}", [f"v{o.id}"], dict(texts), idx.row_of(o), dict(grads)))
    for ev in events:
        frames.append(_frame_of(ev, len(frames), idx, texts, grads))
    return frames


def _frame_of(ev: Any, k: int, idx: _Index, texts: dict, grads: dict) -> Frame:
    node = ev.node
    is_leaf = isinstance(node, AccumulateGrad) or (isinstance(node, Scalar) and not node._op)
    if is_leaf:
        v = idx.target(node, 0)
        nid = f"v{v.id}"
        before = ev.leaf_grad_before
        if isinstance(before, float) and before == 0.0:
            before = None  # a Scalar leaf starts at 0.0: nothing accumulated yet
        texts[nid] = _acc_text(before, ev.grad_outputs[0], ev.leaf_grad_after)
        grads[nid] = _numbers(ev.leaf_grad_after)
        caption = (f"AccumulateGrad stores the gradient that reached {_value_name(v)} in its "
                   f".grad: {texts[nid][5:]}.")
        return Frame(k, f"AccumulateGrad → {_value_name(v)}", caption, nid, [nid],
                     dict(texts), idx.row_of(v), dict(grads))
    entry = idx.entries[id(node)]
    nid = f"op{entry.position}"
    received = ", ".join(f"{format_array(g)} for {_value_name(o)}"
                         for g, o in zip(ev.grad_outputs, entry.outputs, strict=False))
    parts = [f"{entry.backward_name} receives grad {received}."]
    changed = []
    for c in ev.contributions:
        v = idx.target(c.target, c.target_output_nr)
        if v is None:
            continue
        vid = f"v{v.id}"
        texts[vid] = _acc_text(c.before, c.grad, c.after)
        grads[vid] = _numbers(c.after)
        changed.append(vid)
        parts.append(f"{entry.backward_name} sends {_formula(entry, c.input_index)} to "
                     f"{_value_name(v)}: {texts[vid][5:]}.")
    if not ev.contributions:
        parts.append("No input needs a gradient.")
    return Frame(k, f"{entry.backward_name} (%{entry.outputs[0].id} = {entry.op})",
                 " ".join(parts), nid, changed, dict(texts),
                 idx.entry_row0 + entry.position, dict(grads))


# ------------------------------------------------------------------ the page
def _html_id(path: str | Path | None, html_id: str | None) -> str:
    raw = html_id or (Path(path).stem if path else "backprop")
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", raw).strip("-") or "backprop"
    return cleaned if cleaned[0].isalpha() else f"s-{cleaned}"


def _pad(frames: list[Frame]) -> list[dict[str, str]]:
    """Each node's text padded to its longest across frames (no-break spaces, monospace):
    node sizes never change, so Graphviz lays every frame out the same way."""
    width: dict[str, int] = {}
    for f in frames:
        for nid, t in f.value_text.items():
            width[nid] = max(width.get(nid, 0), len(t))
    return [{nid: t + "\u00a0" * (width[nid] - len(t)) for nid, t in f.value_text.items()}
            for f in frames]


def stepper_html(output: Any, path: str | Path | None = None, *, html_id: str | None = None,
                 params: dict | None = None, max_frames: int = 60,
                 title: str | None = None) -> str:
    """One self-contained HTML page stepping through backprop from ``output``.

    Every frame is an inline SVG of the backward view; without JavaScript all frames
    show one under the other. More than ``max_frames`` steps: the first ones and the
    last are kept, with a note saying so. Written to ``path`` when given; returned.
    """
    frames = backprop_steps(output)
    total = len(frames)
    note = ""
    if total > max_frames:
        frames = frames[:max_frames - 1] + frames[-1:]
        note = (f"This backward pass has {total} steps; the first {max_frames - 1} and the "
                f"last are shown.")
    hid = _html_id(path, html_id)
    tape = Tape.of(output)
    rows = tape.listing().split("\n") if tape.entries else []
    n = len(frames) - 1
    figures = []
    for k, (frame, vt) in enumerate(zip(frames, _pad(frames), strict=True)):
        hl = ([frame.active] if frame.active else []) + frame.changed
        svg = to_svg(draw(output, view="backward", params=params, highlight=hl,
                          value_text=vt))
        svg = re.sub(r'\bid="', f'id="{hid}-f{k}-', svg)  # ids unique across frames
        row = "" if frame.tape_row is None else f' data-row="{frame.tape_row}"'
        figures.append(
            f'<figure class="frame" id="{hid}-step-{k}" data-step="{k}"{row}>'
            f'<figcaption><b>Step {k} / {n}: {html.escape(frame.title)}</b><br>'
            f'<span class="caption">{html.escape(frame.caption)}</span></figcaption>'
            f'<div class="svg">{svg}</div></figure>')
    table = "".join(f'<tr data-row="{i}"><td>{i}</td><td><code>{html.escape(r)}</code></td></tr>'
                    for i, r in enumerate(rows))
    css = (_ASSETS / "stepper.css").read_text(encoding="utf-8")
    js = (_ASSETS / "stepper.js").read_text(encoding="utf-8")
    heading = html.escape(title or "Backprop, step by step")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{heading}</title>
<style>{css}</style></head><body>
<div class="tg-stepper" id="{hid}" data-steps="{n}" tabindex="0">
<h2>{heading}</h2>
{f'<p class="note">{html.escape(note)}</p>' if note else ''}
<div class="controls">
<button type="button" class="prev" aria-label="previous step">Prev</button>
<input type="range" class="slider" min="0" max="{n}" value="0" aria-label="step">
<button type="button" class="next" aria-label="next step">Next</button>
<span class="counter">Step 0 / {n}</span>
</div>
<div class="body">
<div class="frames">
{chr(10).join(figures)}
</div>
<table class="tape"><caption>The tape (Tape.listing())</caption>
<tbody>{table}</tbody></table>
</div>
</div>
<script>{js}</script>
</body></html>
"""
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page
