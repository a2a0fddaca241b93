"""The backward engine: walk the tape in reverse and push gradients to the leaves.

How one backward pass works (``loss.backward()``):

1. **Find the entries.** Starting from the output's ``grad_fn``, follow ``next_functions``
   with an explicit stack (never recursion, so a graph 100,000 ops deep is fine) to collect
   every tape entry the output depends on.
2. **Order them.** Sort by sequence number. Entries were numbered as they were recorded,
   and an entry is always recorded after the entries of its inputs, so *decreasing*
   sequence number visits every consumer of a value before the value's producer: when we
   reach an entry, every gradient flowing into it has already arrived.
3. **Walk.** For each entry in that order, take the gradients that arrived for its outputs,
   call its ``backward``, check the results (count, shape, dtype), and add each input's
   gradient into the buffer of the entry that produced that input. `AccumulateGrad`
   entries (leaves) add into ``.grad`` instead.
4. **Free.** Unless ``retain_graph``, each entry drops its saved tensors once it has run.

Pass ``on_step`` to receive one `BackwardStep` event per entry: which entry ran, what
arrived, and what it contributed to each input (value before and after accumulation).
The step-through viewer is built only from these events.
"""

from __future__ import annotations

import itertools
import sys
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tapegrad.autograd import anomaly
from tapegrad.autograd.function import AccumulateGrad, Node, next_sequence_number
from tapegrad.autograd.grad_mode import _state
from tapegrad.autograd.variable import Variable


@dataclass
class Contribution:
    """What one entry sent to one of its inputs during backward."""

    input_index: int  # position among the forward's arguments
    target: Node  # the entry that receives it (the input's producer or AccumulateGrad)
    target_output_nr: int
    grad: Any  # the contribution itself
    before: Any  # the target's accumulated gradient before adding it (None: nothing yet)
    after: Any  # ... and after


@dataclass
class BackwardStep:
    """One event of the backward walk: entry ``node`` ran (or, for a leaf, accumulated)."""

    step: int  # 1 for the first entry run, 2 for the next...
    node: Node
    grad_outputs: tuple  # the gradients that arrived for each output of the entry
    contributions: list[Contribution] = field(default_factory=list)
    leaf_grad_before: Any = None  # for AccumulateGrad: variable.grad before and after
    leaf_grad_after: Any = None
    pending: list[Node] = field(default_factory=list)  # entries still waiting for gradients
    freed: bool = False  # saved tensors were released after this step


# References that a gradient held only by the engine has when it reaches AccumulateGrad:
# the `grads` list slot, the local name, and getrefcount's own argument. More means
# someone else (a hook, another input of an Add, the user's seed) holds it: copy it.
_EXCLUSIVE_REFS = 3


def collect_entries(root_nodes: Sequence[Node]) -> list[Node]:
    """Every entry reachable from ``root_nodes``, in tape (execution) order."""
    seen = set(root_nodes)
    stack = list(seen)
    entries = []
    while stack:
        node = stack.pop()
        entries.append(node)
        for child, _ in node.next_functions:
            if child is not None and child not in seen:
                seen.add(child)
                stack.append(child)
    entries.sort(key=_sequence_of)
    return entries


def _sequence_of(node: Node) -> int:
    return node._seq


# Backward passes that built a graph (create_graph=True), as ranges of sequence numbers:
# every entry recorded while one ran has a number inside its range, so a drawing can tell
# the first pass's nodes from the forward's (second-order stepping). Bounded: a training
# loop with create_graph runs forever.
_GRAPH_PASSES: deque[tuple[int, int, int]] = deque(maxlen=1024)  # (first, last, pass number)
_graph_pass_count = itertools.count(1)


def backward_pass_of(sequence_nr: int) -> int | None:
    """The number of the backward pass (1, 2... counted since import) that recorded the
    entry with this sequence number, or None when a forward pass recorded it."""
    for first, last, number in reversed(_GRAPH_PASSES):
        if first < sequence_nr < last:
            return number
        if last < sequence_nr:
            return None
    return None


def run_backward(
    roots: Sequence[Variable],
    grad_roots: Sequence[Variable],
    *,
    retain_graph: bool,
    create_graph: bool,
    inputs: Sequence[Variable] | None = None,
    accumulate: bool = True,
    on_step: Callable[[BackwardStep], None] | None = None,
) -> list | None:
    """Run one backward pass (the shared core of ``backward`` and ``autograd.grad``).

    ``accumulate=True`` adds into ``.grad`` (of ``inputs`` only, if given);
    ``accumulate=False`` returns the gradients of ``inputs`` instead (None if unreached).
    """
    root_edges = []
    for i, t in enumerate(roots):
        if t._view_meta is not None:
            t._sync_view()  # a view whose base changed since: its history is the base's now
        if not t._requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
        root_edges.append(t._gradient_edge())

    # What the caller wants: capture points (for autograd.grad and non-leaf inputs) and
    # the leaves allowed to accumulate.
    capture: dict[tuple[Node, int], list[int]] = {}
    leaf_targets: set[Node] | None = None
    nonleaf_targets: dict[tuple[Node, int], Variable] = {}
    if inputs is not None:
        leaf_targets = set()
        for k, t in enumerate(inputs):
            edge = t._gradient_edge()
            if not accumulate:
                capture.setdefault(edge, []).append(k)
            elif t._grad_fn is None:
                leaf_targets.add(edge[0])
            else:
                nonleaf_targets[edge] = t

    entries = collect_entries([edge[0] for edge in root_edges])
    needed = None if inputs is None else _entries_leading_to(
        entries, leaf_targets, capture, nonleaf_targets)

    buffers: dict[Node, list] = {}
    for (node, nr), g in zip(root_edges, grad_roots, strict=True):
        _add_to_buffer(buffers, node, nr, g)

    results: list = [None] * (len(inputs) if inputs is not None else 0)
    step = 0
    grad_mode_before = _state.grad_enabled
    _state.grad_enabled = create_graph
    first_recorded = next_sequence_number() if create_graph else None
    try:
        for node in reversed(entries):
            grads = buffers.pop(node, None)
            if grads is None:
                continue
            if node._tensor_hooks or node._retained or node._pre_hooks or (
                    type(node) is AccumulateGrad and node.variable._hooks):
                _run_tensor_hooks(node, grads)
            if capture or nonleaf_targets:
                _capture(node, grads, capture, nonleaf_targets, results)
            if isinstance(node, AccumulateGrad):
                event = None
                if accumulate and (leaf_targets is None or node in leaf_targets):
                    event = _accumulate_leaf(node, grads, create_graph, on_step is not None)
                if on_step is not None and event is not None:
                    step += 1
                    event.step = step
                    event.pending = sorted(buffers, key=_sequence_of, reverse=True)
                    on_step(event)
                continue
            if needed is not None and node not in needed:
                continue
            step += 1
            contributions = _run_node(node, grads, buffers, on_step is not None)
            if not retain_graph:
                node._release()
            if on_step is not None:
                on_step(BackwardStep(
                    step=step, node=node, grad_outputs=tuple(grads),
                    contributions=contributions,
                    pending=sorted(buffers, key=_sequence_of, reverse=True),
                    freed=not retain_graph,
                ))
    finally:
        _state.grad_enabled = grad_mode_before
        if first_recorded is not None:
            _GRAPH_PASSES.append((first_recorded, next_sequence_number(),
                                  next(_graph_pass_count)))
    return results


def _entries_leading_to(entries, leaf_targets, capture, nonleaf_targets) -> set[Node]:
    """Entries whose backward must run to reach a wanted gradient (tape order makes this
    one forward sweep: an entry's inputs are decided before the entry itself)."""
    needed: set[Node] = set()
    for node in entries:
        for child, nr in node.next_functions:
            if child is None:
                continue
            if (child in needed or child in leaf_targets or (child, nr) in capture
                    or (child, nr) in nonleaf_targets):
                needed.add(node)
                break
    return needed


def _add_to_buffer(buffers: dict, node: Node, nr: int, grad: Any) -> tuple[Any, Any]:
    buf = buffers.get(node)
    if buf is None:
        buf = buffers[node] = [None] * max(1, len(node._output_meta))
    before = buf[nr]
    buf[nr] = grad if before is None else before + grad
    return before, buf[nr]


def _run_tensor_hooks(node: Node, grads: list) -> None:
    """Tensor hooks, then retain_grad, then Node pre-hooks: torch's firing order."""
    if node._tensor_hooks:
        for nr, hooks in node._tensor_hooks.items():
            if grads[nr] is None:
                continue
            for hook in list(hooks.values()):
                replaced = hook(grads[nr])
                if replaced is not None:
                    grads[nr] = replaced
    if isinstance(node, AccumulateGrad):
        hooks = node.variable._hooks
        if hooks and grads[0] is not None:
            for hook in list(hooks.values()):
                replaced = hook(grads[0])
                if replaced is not None:
                    grads[0] = replaced
    if node._retained:
        for nr, ref in node._retained.items():
            t = ref()
            if t is None or grads[nr] is None:
                continue
            g = grads[nr]
            if t._grad is None:
                t._grad = g if _state.grad_enabled else _owned_detached(g, copy=True)
            else:
                t._grad = t._grad + g
    if node._pre_hooks:
        for hook in list(node._pre_hooks.values()):
            replaced = hook(tuple(grads))
            if replaced is not None:
                grads[:] = list(replaced)


def _capture(node, grads, capture, nonleaf_targets, results) -> None:
    for nr, g in enumerate(grads):
        for k in capture.get((node, nr), ()):
            results[k] = g
        t = nonleaf_targets.get((node, nr))
        if t is not None and g is not None:
            t._grad = _owned_detached(g, copy=True) if t._grad is None else t._grad + g


def _owned_detached(g: Variable, copy: bool) -> Variable:
    """A detached tensor on ``g``'s array, copied when asked or when the array could not
    serve as a ``.grad`` that later steps add into in place (read-only broadcast views,
    non-contiguous layouts: torch's layout contract gives .grad the parameter's layout)."""
    data = g._data
    if copy or not data.flags.writeable or not data.flags.c_contiguous:
        data = data.copy()
    return type(g)._from_array(data)


def _accumulate_leaf(node: AccumulateGrad, grads: list, create_graph: bool,
                     want_event: bool) -> BackwardStep | None:
    """Add the arrived gradient into ``variable.grad`` (in place when no graph is built)."""
    var = node.variable
    g = grads[0]
    if g is None:
        return None
    before = var._grad
    if want_event and before is not None:
        before = _owned_detached(before, copy=True)
    if var._grad is None:
        if create_graph:
            var._grad = g
        else:
            # Steal the array when only the engine holds it, as torch does; else copy.
            refs = sys.getrefcount(g)
            var._grad = _owned_detached(g, copy=refs > _EXCLUSIVE_REFS)
    elif create_graph or var._grad._requires_grad:
        var._grad = var._grad + g
    else:
        var._grad._data += g._data
        var._grad._bump_version()
    if var._post_acc_hooks:
        for hook in list(var._post_acc_hooks.values()):
            hook(var)
    if not want_event:
        return None
    return BackwardStep(step=0, node=node, grad_outputs=(g,), leaf_grad_before=before,
                        leaf_grad_after=var._grad)


def _run_node(node: Node, grads: list, buffers: dict, want_events: bool) -> list[Contribution]:
    """Call one entry's backward and route each input's gradient to its producer."""
    try:
        result = node._run_backward(grads)
    except Exception as exc:
        if anomaly.is_enabled() and node.forward_trace:
            raise type(exc)(anomaly.annotate(node, str(exc))) from exc
        raise
    routed = _validate(node, result)
    if anomaly.is_enabled() and anomaly.check_nan_enabled():
        _check_finite(node, routed)
    if node._post_hooks:
        grad_inputs = tuple(result)
        for hook in list(node._post_hooks.values()):
            replaced = hook(grad_inputs, tuple(grads))
            if replaced is not None:
                grad_inputs = tuple(replaced)
                routed = _validate(node, grad_inputs)
    contributions = []
    for index, child, nr, g in routed:
        before, after = _add_to_buffer(buffers, child, nr, g)
        if want_events:
            contributions.append(Contribution(index, child, nr, g, before, after))
    return contributions


def _validate(node: Node, result: tuple) -> list:
    """torch's checks on what a backward returned: count, None for non-tensors, shapes
    summed back to the input's shape when broadcastable, dtype cast to the input's."""
    n_args = len(node._input_meta)
    if len(result) < n_args or any(g is not None for g in result[n_args:]):
        raise RuntimeError(
            f"function {node.name()} returned an incorrect number of gradients "
            f"(expected {n_args}, got {len(result)})"
        )
    routed = []
    edge_index = 0
    for i, meta in enumerate(node._input_meta):
        g = result[i]
        if meta is None:
            if g is not None:
                raise RuntimeError(
                    f"function {node.name()} returned a gradient different than None at "
                    f"position {i + 1}, but the corresponding forward input was not a Variable"
                )
            continue
        child, nr = node.next_functions[edge_index]
        edge_index += 1
        if child is None or g is None:
            continue
        if not isinstance(g, Variable):
            raise TypeError(
                f"function {node.name()} returned a gradient of type {type(g).__name__} at "
                f"position {i + 1}; expected a Tensor or None"
            )
        shape, dt = meta
        if g._data.shape != shape:
            if not _sums_to(g._data.shape, shape):
                raise RuntimeError(
                    f"Function {node.name()} returned an invalid gradient at index {i} - got "
                    f"{list(g._data.shape)} but expected shape compatible with {list(shape)}"
                )
            g = g.sum_to_size(shape)
        if g._data.dtype != dt.numpy:
            g = g.to(dt)
        routed.append((i, child, nr, g))
    return routed


def _sums_to(shape: tuple, target: tuple) -> bool:
    """Can a gradient of ``shape`` be summed down to ``target`` (target broadcasts to it)?"""
    if len(target) > len(shape):
        return False
    for have, want in zip(reversed(shape), reversed(target), strict=False):
        if want != 1 and want != have:
            return False
    return True


def _check_finite(node: Node, routed: list) -> None:
    import numpy as np

    for index, _child, _nr, g in routed:
        data = g._data
        if data.dtype.kind != "f":
            continue
        bad = "nan" if np.isnan(data).any() else "inf" if np.isinf(data).any() else None
        if bad:
            message = f"Function '{node.name()}' returned {bad} values in its {index}th output."
            line = anomaly.forward_line(node)
            if line:
                message += f"\nThe forward call that created it:\n{line}"
            raise RuntimeError(anomaly.annotate(node, message))
