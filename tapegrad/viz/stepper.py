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
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tapegrad.autograd.api import backward_steps
from tapegrad.autograd.function import AccumulateGrad
from tapegrad.autograd.tape import Tape, Value
from tapegrad.scalar import Scalar
from tapegrad.viz.captions import accumulation
from tapegrad.viz.captions import caption as step_caption
from tapegrad.viz.graph import _collapsed_path, draw, format_array, short_array, to_svg

__all__ = ["Frame", "backprop_steps", "step_of_entry", "stepper_html"]

UNREACHED = "—"
_ASSETS = Path(__file__).parent / "assets"



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
    kind: str = "op"  # "forward", "seed", "op" or "accumulate" (an AccumulateGrad step)
    hints: dict[str, str] = field(default_factory=dict)  # value node id -> its local rule


def _numbers(g: Any) -> Any:
    if g is None:
        return None
    if hasattr(g, "_data"):
        return np.array(g._data, copy=True)
    return float(g)


def _acc_text(before: Any, grad: Any, after: Any) -> str:
    if before is None:
        return f"grad {format_array(after)}"
    return f"grad {accumulation(before, grad, after)}"


def _value_name(v: Any) -> str:
    if isinstance(v, Value):
        return v.name or f"%{v.id}"
    return format_array(v) if isinstance(v, np.ndarray) else repr(v)


class _Index:
    """Maps the engine's objects (Nodes, AccumulateGrad, Scalars) to tape values."""

    def __init__(self, tape: Tape) -> None:
        self.entries = {id(e.node): e for e in tape.entries}
        self.passes = tape.backward_passes()
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
                    "has been computed yet.", None, [], dict(texts), None, {}, "forward")]
    events = _run_events(output, tape, gradient)
    outs = tape.outputs
    if outs:
        o = outs[0]
        seed = np.ones(o.shape) if gradient is None else _numbers(gradient)
        texts[f"v{o.id}"] = f"grad {format_array(seed)}"
        grads[f"v{o.id}"] = seed
        frames.append(Frame(1, "Seed", f"Backward starts at {_value_name(o)}: its gradient "
                            f"with respect to itself is {format_array(seed)}.",
                            f"v{o.id}", [f"v{o.id}"], dict(texts), idx.row_of(o), dict(grads),
                            "seed"))
    for ev in events:
        frames.append(_frame_of(ev, len(frames), idx, texts, grads))
    return frames


def _frame_of(ev: Any, k: int, idx: _Index, texts: dict, grads: dict) -> Frame:
    node = ev.node
    is_leaf = isinstance(node, AccumulateGrad) or (isinstance(node, Scalar) and not node._code)
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
        hint = (f"AccumulateGrad adds the gradient that arrived to {_value_name(v)}.grad"
                + ("" if before is None else " (which already held one)"))
        return Frame(k, f"AccumulateGrad → {_value_name(v)}", caption, nid, [nid],
                     dict(texts), idx.row_of(v), dict(grads), "accumulate", {nid: hint})
    entry = idx.entries[id(node)]
    nid = f"op{entry.position}"
    received = ", ".join(f"{format_array(g)} for {_value_name(o)}"
                         for g, o in zip(ev.grad_outputs, entry.outputs, strict=False))
    parts = [f"{entry.backward_name} receives grad {received}."]
    if entry.backward_pass is not None:
        parts.append(f"({entry.op} was recorded by backward pass "
                     f"{idx.passes[entry.backward_pass]}, which ran with create_graph=True: "
                     "this step differentiates that pass's own work.)")
    changed = []
    hints = {}
    grad_out = next((g for g in ev.grad_outputs if g is not None), None)
    for c in ev.contributions:
        v = idx.target(c.target, c.target_output_nr)
        if v is None:
            continue
        vid = f"v{v.id}"
        texts[vid] = _acc_text(c.before, c.grad, c.after)
        grads[vid] = _numbers(c.after)
        changed.append(vid)
        said = step_caption(entry, c.input_index, grad_out, c.grad)
        # the rule without its numbers: "∂L/∂w1 = ∂L/∂%5·x1" (the quiz's hint)
        hints[vid] = " = ".join(said.split(" = ")[:2]) + (
            "" if c.before is None else f", added to what {_value_name(v)} already had")
        if c.before is not None:
            said += f". Accumulated in {_value_name(v)}: {texts[vid][5:]}"
        parts.append(f"{entry.backward_name} sends to {_value_name(v)}: {said}.")
    if not ev.contributions:
        parts.append("No input needs a gradient.")
    return Frame(k, f"{entry.backward_name} (%{entry.outputs[0].id} = {entry.op})",
                 " ".join(parts), nid, changed, dict(texts),
                 idx.entry_row0 + entry.position, dict(grads), hints=hints)


def step_of_entry(frames: list[Frame], position: int, folded: bool = True) -> int:
    """The step of `stepper_html`'s page (``#<id>-step-<k>``) at which the tape entry at
    ``position`` runs its backward (folded: AccumulateGrad steps joined to the step that
    produced their gradient, as the page starts)."""
    for k, members in enumerate(_groups(frames, folded)):
        if any(frames[m].active == f"op{position}" for m in members):
            return k
    raise ValueError(f"tape entry {position} did not run in this backward pass")


# ------------------------------------------------------------------ the page
def _html_id(path: str | Path | None, html_id: str | None) -> str:
    raw = html_id or (Path(path).stem if path else "backprop")
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", raw).strip("-") or "backprop"
    return cleaned if cleaned[0].isalpha() else f"s-{cleaned}"


def _full_text(frame: Frame, nid: str) -> str:
    """A gradient as the details panel shows it: the step's text, then the values."""
    text = frame.value_text.get(nid, "")
    g = frame.grads.get(nid)
    if g is not None and np.asarray(g).size > 6:
        text += "\n" + np.array2string(np.asarray(g), precision=4, threshold=64, edgeitems=3)
    return text


def _node_text(frame: Frame, nid: str) -> str:
    """A gradient as the node shows it: short (`short_array`), so nodes stay narrow."""
    if nid in frame.grads:
        return f"grad {short_array(frame.grads[nid])}"
    return frame.value_text.get(nid, "")


def _groups(frames: list[Frame], fold: bool) -> list[list[int]]:
    """Frame indices of each step. Folded: an AccumulateGrad frame joins the step that
    last sent a gradient to its leaf (where that gradient was produced)."""
    groups: list[list[int]] = []
    home: dict[str, int] = {}  # value node -> the group that last changed it
    for i, f in enumerate(frames):
        if fold and f.kind == "accumulate" and groups:
            groups[home.get(f.active or "", len(groups) - 1)].append(i)
            continue
        groups.append([i])
        for nid in f.changed:
            home[nid] = len(groups) - 1
    return groups


def _unit(entry: Any, collapse: list[str]) -> str:
    c = _collapsed_path(entry.module_path, collapse)
    return f"mod_{c}" if c is not None else f"op{entry.position}"


def _lit(frame: Frame, tape: Tape, collapse: list[str]) -> list[str]:
    """The nodes a step is about: the active node, its inputs and outputs, what changed."""
    lit = [] if frame.active is None else [frame.active]
    if frame.active and frame.active.startswith("op"):
        e = tape.entries[int(frame.active[2:])]
        lit = [_unit(e, collapse)]
        lit += [f"v{a.id}" for a in e.inputs if isinstance(a, Value)]
        lit += [f"v{o.id}" for o in e.outputs]
    return list(dict.fromkeys(lit + frame.changed))


def _mark_grad_rows(svg: str, hid: str) -> str:
    """Give the gradient row of every value node (its last <text>) class="g"."""
    parts = re.split(f'(?=<g id="{re.escape(hid)}-)', svg)
    for i, part in enumerate(parts):
        if re.match(f'<g id="{re.escape(hid)}-v\\d+" class="node[ "]', part):
            k = part.rfind("<text ")
            if k >= 0:
                parts[i] = part[:k] + '<text class="g" ' + part[k + 6:]
    return "".join(parts)


_QUIZ_ELEMENTS = 6  # a gradient with more elements is asked for by its first element


def _questions(frames: list[Frame], members: list[int], names: dict[str, str]) -> list[dict]:
    """What quiz mode asks at one step: the gradient of every value the step changed, as
    it stands after the step (several elements: all of them, or the first of a big one),
    with the local rule as the hint."""
    asked: dict[str, dict] = {}
    for m in members:
        f = frames[m]
        own = f.changed + ([f.active] if f.kind == "accumulate" and f.active else [])
        for nid in own:
            g = f.grads.get(nid)
            if g is None:
                continue
            a = np.asarray(g, dtype=np.float64)
            name = names.get(nid, nid)
            if a.size <= _QUIZ_ELEMENTS:
                label, want = f"∂L/∂{name}", a.reshape(-1)
            else:
                first = (0,) * a.ndim
                label, want = f"∂L/∂{name}{list(first)} (its first element)", a[first][None]
            # "k" names the answer by the engine step that last changed the value, so an
            # answer given with AccumulateGrad steps folded still counts once unfolded
            # the hint of the op that sent the gradient, rather than AccumulateGrad's that
            # merely stores it (both are in one step when AccumulateGrad steps are folded)
            hint = asked[nid]["h"] if nid in asked and asked[nid]["h"] else f.hints.get(nid, "")
            asked[nid] = {"n": nid, "k": f"{nid}@{m}", "q": label,
                          "w": [float(x) for x in want], "sh": list(a.shape), "h": hint}
    return list(asked.values())


def _steps_html(hid: str, mode: str, frames: list[Frame], groups: list[list[int]]) -> str:
    n = len(groups) - 1
    out = []
    prefix = f"{hid}-step-" if mode == "folded" else f"{hid}-full-step-"
    for k, members in enumerate(groups):
        first = frames[members[0]]
        row = "" if first.tape_row is None else f' data-row="{first.tape_row}"'
        titles = " + ".join(html.escape(frames[m].title) for m in members)
        captions = "".join(f'<p class="caption">{html.escape(frames[m].caption)}</p>'
                           for m in members)
        out.append(f'<div class="frame" id="{prefix}{k}" data-step="{k}"{row}>'
                   f'<b>Step {k} / {n}: {titles}</b>{captions}</div>')
    return f'<div class="steps {mode}" data-steps="{n}">' + "".join(out) + "</div>"


def stepper_html(output: Any, path: str | Path | None = None, *, html_id: str | None = None,
                 params: dict | None = None, max_frames: int | None = None,
                 title: str | None = None, collapse: Any = None, max_depth: int | None = None,
                 show_saved: bool = False, show_accumulate: bool = False,
                 view: str = "backward", quiz: bool = False) -> str:
    """One self-contained HTML page stepping through backprop from ``output``.

    The backward graph is drawn **once** (`tapegrad.viz.draw`, ``compact=True``); each
    step only changes styles and the gradient rows, from a small JSON list of changes,
    so the page stays small however many steps there are. The viewer shows the graph at
    a readable size (100%, following the current node) or the whole of it (Fit), with
    zoom and pan (mouse wheel and drag, pinch, keys ``+ - 0 1`` and Shift+arrows), a
    focus mode that dims what the current step does not touch (``f``), a caption panel,
    the details of a node on hover or click, and the tape with the current row scrolled
    into view. AccumulateGrad steps are folded into the step that produced the
    gradient; a checkbox (or ``a``) shows them as steps of their own
    (``show_accumulate=True`` starts that way). Without JavaScript the picture shows the
    final gradients and every step is listed.

    ``quiz=True`` hides the gradients: at each step the page asks for the gradient of
    every value the step changed (typed as numbers, checked in the page, no server), with
    a hint (the local rule, without its numbers) after a wrong try and a Reveal button
    that shows the step's caption; a gradient appears on the graph once it is answered or
    revealed.

    ``collapse``, ``max_depth``, ``show_saved`` and ``view`` are `draw`'s (the default
    backward view draws torch's backward functions, edges the way gradients flow). More
    than ``max_frames`` engine steps: the first ones and the last are kept, with a note.
    Written to ``path`` when given; returned.
    """
    frames = backprop_steps(output)
    total = len(frames)
    note = ""
    if max_frames is not None and total > max_frames:
        frames = frames[:max_frames - 1] + frames[-1:]
        note = (f"This backward pass has {total} steps; the first {max_frames - 1} and the "
                f"last are shown.")
    collapse = list(collapse or ())
    hid = _html_id(path, html_id)
    tape = Tape.of(output)
    rows = tape.listing().split("\n") if tape.entries else []

    # Each node's gradient row padded to its widest text over all steps (no-break spaces
    # in a monospace font): the node is drawn once, wide enough for every step.
    width: dict[str, int] = {}
    for f in frames:
        for nid in f.value_text:
            width[nid] = max(width.get(nid, 0), len(_node_text(f, nid)))
    shown_at_start = frames[0] if quiz else frames[-1]  # a quiz shows no answer before it asks
    final = {nid: _node_text(shown_at_start, nid).ljust(width[nid], "\u00a0")
             for nid in frames[-1].value_text}
    graph = draw(output, view=view, params=params, value_text=final, compact=True,
                 collapse=collapse, max_depth=max_depth, show_saved=show_saved)
    svg = re.sub(r'\bid="', f'id="{hid}-', to_svg(graph))
    svg = _mark_grad_rows(svg, hid)

    names = {f"v{v.id}": _value_name(v) for v in tape.values}
    modes: dict[str, list] = {}
    steps_html = []
    for mode, fold in (("folded", True), ("full", False)):
        groups = _groups(frames, fold)
        steps = []
        for members in groups:
            delta: dict[str, list[str]] = {}
            lit: list[str] = []
            changed: list[str] = []
            for m in members:
                f = frames[m]
                own = f.changed + ([f.active] if f.kind == "accumulate" and f.active else [])
                for nid in own:
                    delta[nid] = [_node_text(f, nid), _full_text(f, nid)]
                lit += _lit(f, tape, collapse)
                changed += own
            first = frames[members[0]]
            active = first.active
            if active and active.startswith("op"):
                active = _unit(tape.entries[int(active[2:])], collapse)
            steps.append({"a": active, "lit": list(dict.fromkeys(lit)),
                          "ch": list(dict.fromkeys(changed)), "d": delta,
                          "r": first.tape_row, "m": members})
            if quiz:
                steps[-1]["q"] = _questions(frames, members, names)
        modes[mode] = steps
        steps_html.append(_steps_html(hid, mode, frames, groups))
    base = {nid: [_node_text(frames[0], nid), frames[0].value_text[nid]]
            for nid in frames[0].value_text}
    nodes: dict[str, list[str]] = {}
    for v in tape.values:
        nodes[f"v{v.id}"] = [f"%{v.id}" + (f" {v.name}" if v.name else ""), v.describe(),
                             "" if v.data is None else format_array(v.data)]
    for e in tape.entries:
        nodes[f"op{e.position}"] = [e.backward_name, rows[len(rows) - len(tape.entries)
                                                          + e.position].strip(), ""]
    home = f"v{tape.outputs[0].id}" if tape.outputs else None  # where the first view looks
    data = {"modes": modes, "base": base, "nodes": nodes, "home": home,
            "start": "full" if show_accumulate else "folded", "quiz": quiz}
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    n = len(modes["full" if show_accumulate else "folded"]) - 1
    table = "".join(f'<tr data-row="{i}"><td>{i}</td><td><code>{html.escape(r)}</code></td></tr>'
                    for i, r in enumerate(rows))
    css = (_ASSETS / "stepper.css").read_text(encoding="utf-8")
    js = (_ASSETS / "stepper.js").read_text(encoding="utf-8")
    heading = html.escape(title or "Backprop, step by step")
    checked = " checked" if show_accumulate else ""
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{heading}</title>
<style>{css}</style></head><body class="tg-page">
<div class="tg-stepper{' quiz' if quiz else ''}" id="{hid}" data-steps="{n}" tabindex="0">
<div class="top"><h2>{heading}</h2>
{f'<p class="note">{html.escape(note)}</p>' if note else ''}
<div class="controls">
<button type="button" class="prev" aria-label="previous step">Prev</button>
<input type="range" class="slider" min="0" max="{n}" value="0" aria-label="step">
<button type="button" class="next" aria-label="next step">Next</button>
<span class="counter">Step 0 / {n}</span>
<span class="sep"></span>
<button type="button" class="fit" title="the whole graph (key 0)">Fit</button>
<button type="button" class="actual" title="100%: readable node text (key 1)">100%</button>
<button type="button" class="zoom-out" aria-label="zoom out" title="zoom out (key -)">−</button>
<button type="button" class="zoom-in" aria-label="zoom in" title="zoom in (key +)">+</button>
<label title="follow the current node and dim the rest (key f)"><input type="checkbox"
 class="focus-toggle" checked> focus</label>
<label title="show AccumulateGrad as steps of their own (key a)"><input type="checkbox"
 class="acc-toggle"{checked}> AccumulateGrad steps</label>
</div></div>
<div class="body">
<div class="viewport" aria-label="the backward graph: drag to pan, wheel or pinch to zoom">
<div class="canvas">{svg}</div></div>
<div class="side">
{'<div class="quiz-panel" aria-live="polite"></div>' if quiz else ''}
<div class="captions">{''.join(steps_html)}</div>
<div class="details"><i>Hover or click a node for its values.</i></div>
<div class="tapebox"><table class="tape"><caption>The tape (Tape.listing())</caption>
<tbody>{table}</tbody></table></div>
</div>
</div>
<p class="help">Keys: ← → step, + − zoom, 0 fit, 1 100%, Shift+arrows pan, f focus,
a AccumulateGrad steps. Drag to pan, wheel or pinch to zoom.</p>
<script type="application/json" class="tg-data">{payload}</script>
</div>
<script>{js}</script>
</body></html>
"""
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page
