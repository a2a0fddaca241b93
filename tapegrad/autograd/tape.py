"""The tape: the recorded ops of one computation, in the order they ran.

Every recorded op gets a sequence number when it runs. ``Tape.of(loss)`` collects the
entries that ``loss`` depends on and sorts them by that number, which gives back the
program as it executed; backward is the same list read from the end. Values are numbered
SSA-style (each value is defined once, by a leaf, a constant or an entry)::

    >>> print(Tape.of(loss).listing())
    %0 = leaf w                 # (3,) float32, requires_grad
    %1 = const                  # (3,) float32
    %2 = mul %0 %1              # (3,) float32
    %3 = sum %2                 # () float32

    >>> print(Tape.of(loss).listing(backward=True))
    d%3 = 1                     # seed
    d%2 += SumBackward0(d%3)
    d%0 += MulBackward0(d%2)[0]    # saved: %0 %1

Tensors and `tapegrad.Scalar` values share this structure, so drawings, listings and the
step-through viewer work for both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from tapegrad.autograd.engine import backward_pass_of, collect_entries
from tapegrad.autograd.function import AccumulateGrad, ReleasedTensor


@dataclass
class Value:
    """A value on the tape: a leaf, a constant, or an output of an entry."""

    id: int  # the SSA number (%id)
    kind: str  # "leaf" (requires grad), "const" or "output"
    shape: tuple
    dtype: str
    data: Any = None  # the array / number, when still held
    name: str | None = None
    producer: TapeEntry | None = None
    obj: Any = None  # the leaf tensor or Scalar, when there is one

    def describe(self) -> str:
        shape = "(" + ", ".join(map(str, self.shape)) + ("," if len(self.shape) == 1 else "") + ")"
        return f"{shape} {self.dtype}"


@dataclass
class TapeEntry:
    """One recorded op: what ran, on which values, producing which values."""

    position: int  # 0-based position on this tape (execution order)
    op: str  # forward name: "mul"
    backward_name: str  # "MulBackward0"
    inputs: list  # Value for tensor inputs, plain Python values for options/constants
    outputs: list[Value]
    saved: list[Value] = field(default_factory=list)
    options: dict = field(default_factory=dict)  # keyword options (dim=1, shape=(2, 3))
    module_path: str = ""
    node: Any = None  # the Node (Tensor) or the Scalar that this entry describes
    sequence_nr: int = -1
    backward_pass: int | None = None  # recorded by this backward pass (create_graph=True)


class Tape:
    """The entries of a computation in execution order, with their values."""

    def __init__(self, entries: list[TapeEntry], values: list[Value], outputs: list[Value]):
        self.entries = entries
        self.values = values
        self.outputs = outputs

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries)

    def __getitem__(self, i: int) -> TapeEntry:
        return self.entries[i]

    @classmethod
    def of(cls, *outputs: Any) -> Tape:
        """The tape of everything ``outputs`` (Tensors or Scalars) depend on."""
        if outputs and hasattr(outputs[0], "_tape_entries"):
            tape = outputs[0]._tape_entries(outputs)  # Scalar builds its own
        else:
            tape = _tensor_tape(outputs)
        for e in tape.entries:  # names given after the op ran (h = x.tanh(); h.name = "h")
            for nr, v in enumerate(e.outputs):
                if v.name is None:
                    v.name = _late_name(e.node, nr)
        return tape

    def backward_passes(self) -> dict[int, int]:
        """The backward passes (``create_graph=True``) that recorded entries of this tape,
        numbered 1, 2... in the order they ran: the pass number the engine gave -> the
        number a drawing shows."""
        found = sorted({e.backward_pass for e in self.entries if e.backward_pass is not None})
        return {p: k for k, p in enumerate(found, start=1)}

    def entry_of(self, node: Any) -> TapeEntry | None:
        for e in self.entries:
            if e.node is node:
                return e
        return None

    # ------------------------------------------------------------------ listings
    def listing(self, backward: bool = False) -> str:
        """The tape as text, one SSA line per value (forward) or per gradient (backward)."""
        return _backward_listing(self) if backward else _forward_listing(self)


def _fmt(x: Any) -> str:
    """How an argument or option reads in a listing: values by number, small arrays
    inline, big ones as a summary."""
    if isinstance(x, Value):
        return f"%{x.id}"
    if isinstance(x, np.ndarray):
        return repr(x.tolist()) if x.size <= 8 else f"<{x.dtype} array {list(x.shape)}>"
    return repr(x)


def _forward_listing(tape: Tape) -> str:
    lines = []
    for v in tape.values:
        if v.kind != "output":
            label = "leaf" if v.kind == "leaf" else "const"
            name = f" {v.name}" if v.name else ""
            flags = ", requires_grad" if v.kind == "leaf" else ""
            lines.append((f"%{v.id} = {label}{name}", f"{v.describe()}{flags}"))
    for e in tape.entries:
        lhs = ", ".join(f"%{o.id}" for o in e.outputs)
        args = " ".join([_fmt(a) for a in e.inputs]
                        + [f"{k}={_fmt(v)}" for k, v in e.options.items() if v is not None])
        where = f"  [{e.module_path}]" if e.module_path else ""
        lines.append((f"{lhs} = {e.op} {args}".rstrip(),
                      " ".join((f"{o.name}: " if o.name else "") + o.describe()
                               for o in e.outputs) + where))
    width = max((len(a) for a, _ in lines), default=0)
    return "\n".join(f"{a.ljust(width)}  # {b}" for a, b in lines)


def _backward_listing(tape: Tape) -> str:
    lines = [(" ".join(f"d%{o.id} = 1" for o in tape.outputs), "seed")]
    for e in reversed(tape.entries):
        grads_in = ", ".join(f"d%{o.id}" for o in e.outputs)
        tensor_inputs = [a for a in e.inputs if isinstance(a, Value)]
        saved = (" saved: " + " ".join(f"%{s.id}" for s in e.saved)) if e.saved else ""
        for k, inp in enumerate(tensor_inputs):
            if inp.kind == "const":
                continue
            pick = f"[{k}]" if len(tensor_inputs) > 1 else ""
            lines.append((f"d%{inp.id} += {e.backward_name}({grads_in}){pick}",
                          f"{inp.describe()}{saved}"))
    width = max(len(a) for a, _ in lines)
    return "\n".join(f"{a.ljust(width)}  # {b}" for a, b in lines)


class _Produced(NamedTuple):
    """An input that an earlier entry produced (numbered once that entry is reached)."""

    node: Any
    nr: int


def _late_name(node: Any, nr: int) -> str | None:
    """The name an op's result got after the op: a tensor's ``.name`` is kept on its
    backward node (``_output_names``), a Scalar result is the node itself (``.label``)."""
    if hasattr(node, "_tape_entries"):
        return node.label or None
    names = getattr(node, "_output_names", None)
    return names.get(nr) if names else None


def _tensor_tape(outputs: tuple) -> Tape:
    for t in outputs:
        if t._view_meta is not None:
            t._sync_view()
    roots = [t._grad_fn for t in outputs if t._grad_fn is not None]
    nodes = [n for n in collect_entries(roots) if not isinstance(n, AccumulateGrad)]
    values: list[Value] = []
    by_key: dict = {}  # (node, nr) or id(const tensor) -> Value

    def new_value(key: Any, **kw: Any) -> Value:
        v = Value(id=len(values), **kw)
        values.append(v)
        by_key[key] = v
        return v

    def input_value(edge_node: Any, nr: int, arg: Any) -> Value:
        if edge_node is None:  # a tensor that does not require grad
            if isinstance(arg, ReleasedTensor):  # freed by backward: no data any more
                key = ("const", arg.origin_id)
                if key not in by_key:
                    new_value(key, kind="const", shape=arg.shape, dtype=arg.dtype.name,
                              name=arg.name)
                return by_key[key]
            key = ("const", id(arg))
            if key not in by_key:
                new_value(key, kind="const", shape=tuple(arg._data.shape),
                          dtype=arg.dtype.name, data=arg._data, name=arg.name, obj=arg)
            return by_key[key]
        if isinstance(edge_node, AccumulateGrad):
            var = edge_node.variable
            key = ("leaf", id(var))
            if key not in by_key:
                new_value(key, kind="leaf", shape=tuple(var._data.shape),
                          dtype=var.dtype.name, data=var._data, name=var.name, obj=var)
            return by_key[key]
        key = (edge_node, nr)
        if key not in by_key:  # produced by an entry outside this tape (released graph)
            shape, dt = edge_node._output_meta[nr]
            new_value(key, kind="const", shape=shape, dtype=dt.name)
        return by_key[key]

    # leaves and constants first, so that they get the lowest numbers
    pending_inputs = []
    for node in nodes:
        args = node._args if node._args is not None else ()
        edges = iter(node.next_functions)
        resolved = []
        for i, arg in enumerate(args):
            if node._input_meta and i < len(node._input_meta) and node._input_meta[i] is not None:
                child, nr = next(edges)
                if child is None or isinstance(child, AccumulateGrad):
                    resolved.append(input_value(child, nr, arg))
                else:
                    resolved.append(_Produced(child, nr))
            else:
                resolved.append(arg)
        pending_inputs.append(resolved)

    entries = []
    for position, (node, resolved) in enumerate(zip(nodes, pending_inputs, strict=True)):
        inputs = [input_value(r.node, r.nr, None) if isinstance(r, _Produced) else r
                  for r in resolved]
        entry = TapeEntry(position=position, op=node.op_name, backward_name=node.name(),
                          inputs=inputs, outputs=[], options=dict(node._kwargs),
                          module_path=node.module_path, node=node,
                          sequence_nr=node._seq, backward_pass=backward_pass_of(node._seq))
        data = node._output_data or ()
        for nr, (shape, dt) in enumerate(node._output_meta):
            v = new_value((node, nr), kind="output", shape=shape,
                          dtype=dt.name if dt is not None else "?",
                          data=data[nr] if nr < len(data) else None, producer=entry)
            entry.outputs.append(v)
        entries.append(entry)
    for entry in entries:
        entry.saved = _saved_values(entry.node, by_key)
    out_values = [by_key[(t._grad_fn, t._output_nr)] for t in outputs
                  if t._grad_fn is not None and (t._grad_fn, t._output_nr) in by_key]
    return Tape(entries, values, out_values)


def _saved_values(node: Any, by_key: dict) -> list[Value]:
    saved = node._saved or ()
    found = []
    for s in saved:
        if s is None:
            continue
        t = s._tensor
        if t is None:
            v = by_key.get((node, s._output_nr))
        elif t._grad_fn is not None:
            v = by_key.get((t._grad_fn, t._output_nr))
        else:
            v = by_key.get(("leaf", id(t))) or by_key.get(("const", id(t)))
        if v is not None:
            found.append(v)
    return found
