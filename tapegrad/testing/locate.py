"""Find the first wrong gradient: the one backward rule where tapegrad and torch part ways.

When the gradients of a program disagree with torch's, comparing the inputs' ``.grad``
says *that* something is wrong, not *where*. Backward is a chain of local rules, each
turning the gradient of an op's output (its *incoming* gradient) into the gradients of its
inputs (*outgoing*). Walk the tape backward from the loss: as long as an entry's incoming
gradient agrees with torch's, everything after it is fine; the **first entry whose
incoming gradient agrees but whose outgoing gradient does not** made the error, and only
that entry's backward rule needs reading.

`first_wrong_gradient(fn, *inputs)` does that walk on a program written once for both
libraries (``fn(lib, *tensors)``, as `tapegrad.testing.compare_with_torch` takes it):

1. it runs ``fn(tapegrad, ...)`` recording every entry (with anomaly mode on, so each
   entry knows the line of user code that made it) and ``fn(torch, ...)`` under a
   ``TorchFunctionMode`` that records every torch call and its result;
2. it pairs each tape entry with the torch result of the same shape and values, in
   execution order (a tapegrad op that torch does in several steps, or the other way
   round, simply leaves some entries unpaired; they are skipped);
3. backward runs once in each library from the same random upstream gradient;
   tapegrad's engine reports every entry's incoming gradient and what it sent to each
   input (`tapegrad.autograd.backward_steps`), torch gives the gradient of every paired
   result (``torch.autograd.grad``);
4. for each paired entry, from the last to the first: the incoming gradients are
   compared; where they agree, torch's own call is run again on detached copies of its
   inputs with *our* incoming gradient, which gives exactly what a correct rule sends to
   each input (its vector-Jacobian product, with no other path of the program mixed in),
   and that is compared with what our entry sent.

The result (`WrongGradient`) names the entry's op and backward node, the line of user code,
the shapes, and the worst elements (index, ours, torch's, relative error). With
``report_dir`` (or a temporary directory) it also writes the backward graph with the
entry highlighted and a stepper page opened at the step that ran it, and gives their
paths. torch is imported only when this runs.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import tapegrad
from tapegrad.autograd.engine import BackwardStep
from tapegrad.autograd.tape import Tape, TapeEntry, Value
from tapegrad.tensor import Tensor
from tapegrad.testing.oracle import (
    GRAD_TOL,
    _grad_pairs,
    _prepare,
    import_torch,
    upstream_gradients,
)
from tapegrad.viz.graph import draw, render
from tapegrad.viz.stepper import backprop_steps, step_of_entry, stepper_html

__all__ = ["WrongGradient", "first_wrong_gradient"]

_WORST_ROWS = 5


@dataclass
class WrongGradient:
    """The entry whose backward rule made the first wrong gradient, and the evidence."""

    op: str  # the forward op ("mymatmul")
    backward_name: str  # its backward node ("MyMatmulBackward")
    position: int  # its place on the tape (execution order, from 0)
    step: int  # the stepper step (folded, as `stepper_html` numbers them) that ran it
    where: str  # the line of user code that recorded it, when known
    input_name: str  # the input whose gradient is wrong ("%0 x")
    input_shape: tuple
    output_shape: tuple
    incoming_error: float  # largest |ours - torch's| of the incoming gradient (it agrees)
    ours_shape: tuple  # the shape of the gradient our rule sent
    worst: list[tuple[tuple, float, float, float]] = field(default_factory=list)
    graph_path: Path | None = None  # the backward graph with the entry highlighted
    stepper_path: str | None = None  # the stepper page, opened at that step (#anchor)

    def __str__(self) -> str:
        lines = [f"first wrong gradient: tape entry {self.position} '{self.op}' "
                 f"({self.backward_name}), stepper step {self.step}"]
        if self.where:
            lines.append(f"  recorded at: {self.where.strip()}")
        lines.append(f"  its incoming gradient (d loss / d output, shape "
                     f"{list(self.output_shape)}) agrees with torch (max abs diff "
                     f"{self.incoming_error:.3g}),")
        lines.append(f"  but what it sent to input {self.input_name} (shape "
                     f"{list(self.input_shape)}) does not:")
        if self.ours_shape != self.input_shape:
            lines.append(f"  its backward returned a gradient of shape {list(self.ours_shape)} "
                         f"for an input of shape {list(self.input_shape)}: the engine sums it "
                         "over the dims the input was broadcast along (torch's does too), but "
                         "the rule is missing that sum")
        if self.worst:
            lines.append(f"  {'index':<14}{'ours':>14}{'torch':>14}{'rel err':>11}")
            for index, ours, theirs, rel in self.worst:
                lines.append(f"  {str(list(index)):<14}{ours:>14.6g}{theirs:>14.6g}{rel:>11.3g}")
        if self.graph_path is not None:
            lines.append(f"  graph: {self.graph_path}")
        if self.stepper_path is not None:
            lines.append(f"  stepper: {self.stepper_path}")
        return "\n".join(lines)


class _Calls:
    """A ``TorchFunctionMode`` that keeps every top-level torch call and its results."""

    def __init__(self, torch: Any) -> None:
        from torch.overrides import TorchFunctionMode

        calls = self.calls = []  # (func, args, kwargs, result)

        class Recorder(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                kwargs = kwargs or {}
                result = func(*args, **kwargs)
                calls.append((func, args, kwargs, result))
                return result

        self.mode = Recorder()
        self.torch = torch

    def results(self) -> list[tuple[int, int, Any]]:
        """(call number, output number, tensor) of every floating result, in order."""
        torch = self.torch
        found = []
        for k, (_, _, _, result) in enumerate(self.calls):
            outs = result if isinstance(result, (tuple, list)) else (result,)
            for nr, t in enumerate(outs):
                if isinstance(t, torch.Tensor) and t.is_floating_point() and t.requires_grad:
                    found.append((k, nr, t))
        return found


def _close(a: np.ndarray, b: np.ndarray, dtype: str) -> bool:
    atol, rtol = GRAD_TOL.get(dtype, GRAD_TOL["float32"])
    return a.shape == b.shape and bool(np.allclose(a, b, atol=atol, rtol=rtol, equal_nan=True))


def _pair_entries(entries: list[TapeEntry], results: list, torch: Any) -> dict:
    """Tape value id -> (call number, output number, torch tensor): each entry's output
    paired with the first later torch result of the same shape and values."""
    pairs: dict[int, tuple] = {}
    start = 0
    for e in entries:
        for v in e.outputs:
            if v.data is None:
                continue
            ours = np.asarray(v.data)
            for j in range(start, len(results)):
                k, nr, t = results[j]
                theirs = t.detach().numpy()
                if tuple(t.shape) == ours.shape and _close(ours, theirs, v.dtype):
                    pairs[v.id] = (k, nr, t)
                    start = j + 1
                    break
    return pairs


def _numpy(g: Any) -> np.ndarray | None:
    if g is None:
        return None
    return np.asarray(g._data if isinstance(g, Tensor) else g, dtype=np.float64)


def _local_vjp(calls: _Calls, call_nr: int, out_nr: int, grad: np.ndarray,
               wanted: list[Any], torch: Any) -> list[np.ndarray | None]:
    """What torch's own call ``call_nr`` sends to each tensor of ``wanted`` (tensors among
    its arguments) for the output gradient ``grad``: the call rerun on detached copies."""
    func, args, kwargs, _ = calls.calls[call_nr]
    copies: dict[int, Any] = {}

    def detach(a: Any) -> Any:
        if isinstance(a, torch.Tensor):
            if id(a) in copies:  # one tensor used twice (``h * h``): one copy, so its
                return copies[id(a)]  # gradient sums both uses
            c = a.detach().clone()
            if a.is_floating_point():
                c.requires_grad_(True)
            copies[id(a)] = c
            return c
        if isinstance(a, (list, tuple)):
            return type(a)(detach(x) for x in a)
        return a

    new_args = [detach(a) for a in args]
    new_kwargs = {k: detach(v) for k, v in kwargs.items()}
    out = func(*new_args, **new_kwargs)
    out = out[out_nr] if isinstance(out, (tuple, list)) else out
    inputs = [copies.get(id(w)) for w in wanted]
    present = [c for c in inputs if c is not None and c.requires_grad]
    if not present:
        return [None] * len(wanted)
    grads = torch.autograd.grad(out, present, torch.tensor(grad, dtype=out.dtype),
                                allow_unused=True)
    by_id = {id(c): g for c, g in zip(present, grads, strict=True)}
    result = []
    for c in inputs:
        if c is None or not c.requires_grad:
            result.append(None)
        else:
            g = by_id[id(c)]
            result.append(np.zeros(tuple(c.shape)) if g is None
                          else g.detach().double().numpy())
    return result


def _worst(ours: np.ndarray, theirs: np.ndarray) -> list[tuple[tuple, float, float, float]]:
    if ours.shape != theirs.shape:
        return []
    diff = np.abs(ours - theirs)
    rel = diff / np.maximum(np.abs(theirs), 1e-12)
    order = np.argsort(-np.nan_to_num(diff, nan=np.inf).reshape(-1), kind="stable")
    rows = []
    for flat in order[:_WORST_ROWS]:
        index = np.unravel_index(int(flat), ours.shape) if ours.ndim else ()
        if diff[index] == 0:
            break
        rows.append((tuple(int(i) for i in index), float(ours[index]), float(theirs[index]),
                     float(rel[index])))
    return rows


def _value_label(v: Value) -> str:
    return f"%{v.id}" + (f" {v.name}" if v.name else "")


def _events(loss: Tensor) -> dict[int, BackwardStep]:
    events: list[BackwardStep] = []
    tapegrad.autograd.backward_steps(loss, events.append, retain_graph=True)
    return {id(ev.node): ev for ev in events}


def _write_pictures(loss: Tensor, culprit: TapeEntry, report_dir: str | Path | None,
                    pictures: bool) -> tuple[Path | None, str | None, int]:
    """The graph (entry highlighted) and the stepper page, and the stepper's step."""
    step = step_of_entry(backprop_steps(loss), culprit.position)
    if not pictures or shutil.which("dot") is None:  # the text report says it all anyway
        return None, None, step
    directory = Path(report_dir) if report_dir is not None else Path(
        tempfile.mkdtemp(prefix="tapegrad-first-wrong-"))
    directory.mkdir(parents=True, exist_ok=True)
    graph = draw(loss, view="backward", highlight=[f"op{culprit.position}"],
                 title=f"first wrong gradient: {culprit.backward_name}")
    graph_path = directory / "first_wrong_gradient.svg"
    render(graph, graph_path)
    page = directory / "first_wrong_gradient_steps.html"
    stepper_html(loss, page, html_id="steps",
                 title=f"First wrong gradient: {culprit.backward_name}")
    return graph_path, f"{page}#steps-step-{step}", step


def first_wrong_gradient(
    fn: Callable[..., Any],
    *inputs: Any,
    seed: int = 0,
    names: Sequence[str] | None = None,
    requires_grad: Sequence[bool] | None = None,
    report_dir: str | Path | None = None,
    pictures: bool = True,
) -> WrongGradient | None:
    """The first entry, walking backward from the loss, whose incoming gradient agrees
    with torch's and whose outgoing gradient does not; ``None`` when every paired entry
    agrees.

    ``fn``, ``inputs``, ``seed``, ``names`` and ``requires_grad`` are as in
    `compare_with_torch` (the same upstream gradient is used, so the two runs match).
    With ``pictures`` the graph and the stepper page are written to ``report_dir`` (a new
    temporary directory by default) when Graphviz is installed.
    """
    torch = import_torch()
    tg_args, th_args, leaves, arrays = _prepare(inputs, requires_grad, names, False, torch)
    tapegrad.manual_seed(seed)
    torch.random.default_generator.manual_seed(seed)
    for name, tg, _ in arrays:
        tg.name = name  # the graph and the report say "x", not "%0"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # anomaly mode's "enabled" warning
        with tapegrad.autograd.detect_anomaly(check_nan=False):  # forward lines, for the report
            got = fn(tapegrad, *tg_args)
    calls = _Calls(torch)
    with calls.mode:
        want = fn(torch, *th_args)
    pairs = _grad_pairs(got, want, torch)
    if not pairs:
        return None
    seeds = upstream_gradients(pairs, seed)
    # one scalar loss in each library, d loss / d output = the seed (as compare_with_torch)
    loss = sum(((g * Tensor._from_array(s.copy())).sum() for (g, _), s in zip(pairs, seeds,
                                                                              strict=True)),
               start=tapegrad.zeros((), dtype=pairs[0][0].dtype))
    torch_loss = sum((w * torch.from_numpy(s.copy())).sum()
                     for (_, w), s in zip(pairs, seeds, strict=True))

    tape = Tape.of(loss)
    paired = _pair_entries(tape.entries, calls.results(), torch)
    leaf_of = {id(tg): th for _, tg, th in arrays}
    for v in tape.values:  # the inputs pair with themselves
        if v.kind == "leaf" and v.obj is not None and id(v.obj) in leaf_of:
            paired[v.id] = (None, 0, leaf_of[id(v.obj)])
    torch_grads = _torch_grads(torch_loss, paired, torch)
    events = _events(loss)

    for entry in reversed(tape.entries):
        out = entry.outputs[0]
        ev = events.get(id(entry.node))
        if out.id not in paired or ev is None or out.id not in torch_grads:
            continue
        incoming = _numpy(ev.grad_outputs[0])
        if incoming is None or not _close(incoming, torch_grads[out.id], "float64"):
            continue
        call_nr, out_nr, _ = paired[out.id]
        sent = _sent_per_input(entry, ev)
        checked = [(v, g) for v, g in sent if v.id in paired]
        wanted = [paired[v.id][2] for v, _ in checked]
        expected = _local_vjp(calls, call_nr, out_nr, incoming, wanted, torch)
        returned = _returned_shapes(entry, ev)
        for (v, ours), theirs in zip(checked, expected, strict=True):
            if theirs is None:
                continue
            shape = returned.get(v.id, ours.shape)
            if shape == tuple(v.shape) and _close(ours, theirs, v.dtype):
                continue
            ours_shape = shape
            graph_path, stepper_path, step = _write_pictures(loss, entry, report_dir,
                                                             pictures)
            return WrongGradient(
                op=entry.op, backward_name=entry.backward_name, position=entry.position,
                step=step, where=tapegrad.autograd.anomaly.forward_line(entry.node),
                input_name=_value_label(v), input_shape=tuple(v.shape),
                output_shape=tuple(out.shape),
                incoming_error=float(np.max(np.abs(incoming - torch_grads[out.id]),
                                            initial=0.0)),
                ours_shape=ours_shape, worst=_worst(ours, theirs), graph_path=graph_path,
                stepper_path=stepper_path)
    return None


def _torch_grads(torch_loss: Any, paired: dict, torch: Any) -> dict[int, np.ndarray]:
    """d torch_loss / d (every paired torch tensor), by tape value id."""
    ids = [vid for vid, (_, _, t) in paired.items() if t.requires_grad]
    tensors = [paired[vid][2] for vid in ids]
    grads = torch.autograd.grad(torch_loss, tensors, retain_graph=True, allow_unused=True)
    return {vid: (np.zeros(tuple(t.shape)) if g is None else g.detach().double().numpy())
            for vid, t, g in zip(ids, tensors, grads, strict=True)}


def _returned_shapes(entry: TapeEntry, ev: BackwardStep) -> dict[int, tuple]:
    """The shapes a user's Function's backward *returned*, by input value id.

    torch's engine (and tapegrad's) sums a returned gradient over the dims its input was
    broadcast along, so a rule that forgot that sum still gives the right numbers; but the
    rule is wrong, and the same code breaks wherever no engine fixes it. So for your own
    Functions (tapegrad's ops may rely on that sum) the backward is run once more on the
    same incoming gradient, and a gradient whose shape is not its input's counts as wrong.
    """
    function = getattr(entry.node, "_function", None)
    if function is None or function.__module__.startswith("tapegrad."):
        return {}
    with tapegrad.no_grad():
        result = entry.node._run_backward(list(ev.grad_outputs))
    shapes = {}
    for v, g in zip(entry.inputs, result, strict=False):
        if isinstance(v, Value) and isinstance(g, Tensor):
            shapes[v.id] = tuple(g.shape)
    return shapes


def _sent_per_input(entry: TapeEntry, ev: BackwardStep) -> list[tuple[Value, np.ndarray]]:
    """What the entry sent to each of its input values (summed when a value is used twice,
    as in ``a + a``)."""
    sent: dict[int, tuple[Value, np.ndarray]] = {}
    for c in ev.contributions:
        if c.input_index >= len(entry.inputs):
            continue
        v = entry.inputs[c.input_index]
        if not isinstance(v, Value) or c.grad is None:
            continue
        g = _numpy(c.grad)
        sent[v.id] = (v, g) if v.id not in sent else (v, sent[v.id][1] + g)
    return list(sent.values())
