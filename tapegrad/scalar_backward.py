"""Backward for `tapegrad.Scalar`: what each recorded entry means and how it is walked.

`tapegrad.scalar` records entries; this module holds

* the opcodes an entry stores, one per rule of `tapegrad.pointwise` (and form), with their
  names in listings (as tensor ops have them);
* `_grads`: the chain rule of every op (local derivative times the incoming gradient),
  generated from the rules' formulas;
* `_backward`: the walk itself, the tape read backwards in one loop (also generated: the
  loop is written once here, the chain rule of the frequent ops spliced in);
* the same walk reporting `BackwardStep` events, and the `Tape` of a Scalar graph.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from tapegrad.autograd.engine import BackwardStep, Contribution
from tapegrad.autograd.tape import Tape, TapeEntry, Value
from tapegrad.formula import FLOAT_NAMESPACE, Expr, chain, float_source
from tapegrad.pointwise import BINARY, RULES, UNARY, Binary, Unary

if TYPE_CHECKING:
    from tapegrad.scalar import Scalar

_seq_of = attrgetter("_seq")

# ------------------------------------------------------------------ opcodes
# An entry stores a small integer saying which rule made it and in which form. For each
# two-input rule of `tapegrad.pointwise` (add, sub, mul, div, pow) there are three forms:
# both operands Scalars (codes 1..NB); Scalar (op) number (NB+1..2NB); and the reflected
# number (op) Scalar (2NB+1..3NB; the Scalar is kept in _a, the number in _b). Then one
# code per one-input rule. So `op <= NB` means "two Scalar inputs".
_LEAF = 0
_NB = len(BINARY)
_BINARY_INDEX = {r.name: i for i, r in enumerate(BINARY)}
_ADD, _SUB, _MUL, _DIV, _POW = (1 + _BINARY_INDEX[n] for n in ("add", "sub", "mul", "div", "pow"))
_ADDC, _SUBC, _MULC, _DIVC, _POWC = (c + _NB for c in (_ADD, _SUB, _MUL, _DIV, _POW))
_RADDC, _RSUBC, _RMULC, _RDIVC, _RPOWC = (c + 2 * _NB for c in (_ADD, _SUB, _MUL, _DIV, _POW))
_FIRST_UNARY = 3 * _NB + 1
#: one-input rule name -> its opcode (only rules with a float forward: Scalar methods)
UNARY_CODES = {r.name: _FIRST_UNARY + i for i, r in enumerate(
    r for r in UNARY if r.float_forward is not None)}
_RULE_OF: dict[int, Unary | Binary] = {}
for _rule in BINARY:
    for _form in range(3):
        _RULE_OF[1 + _BINARY_INDEX[_rule.name] + _form * _NB] = _rule
for _name, _code in UNARY_CODES.items():
    _RULE_OF[_code] = RULES[_name]


def is_reflected(op: int) -> bool:
    """``number (op) Scalar``: the Scalar is the rule's second input."""
    return 2 * _NB < op < _FIRST_UNARY


def _saves(rule: Unary | Binary) -> str:
    formulas = rule.formulas if isinstance(rule, Binary) else (rule.formula,)
    used = set().union(*(f.variables for f in formulas))
    return " ".join(w for w, hit in (("inputs", used & {"a", "b", "x"}), ("output", "y" in used))
                    if hit)


# opcode -> (op name in listings, backward name, what backward saves), named as the
# tensor ops (and torch's grad_fn) are named, so listings read the same for both.
_INFO: dict[int, tuple[str, str, str]] = {
    op: (rule.name, rule.backward_name, _saves(rule)) for op, rule in _RULE_OF.items()}


# ------------------------------------------------------------------ generated chain rule
# Each opcode's "gradient for each input = g · local derivative", as Python source over
# floats, made from the rule's formula (`tapegrad.formula`). `v` is the entry, `a` (and
# `b`) its Scalar inputs, `g` the gradient that reached `v`.
_G = Expr("var", "g")


def _gradient_sources(op: int) -> tuple[str, str | None]:
    rule = _RULE_OF[op]
    if isinstance(rule, Unary):
        return float_source(chain(rule.formula, _G), {"x": "a.data", "y": "v.data", "g": "g"}), None
    fa, fb = rule.formulas
    if op <= _NB:
        src = {"a": "a.data", "b": "b.data", "y": "v.data", "g": "g"}
        return float_source(chain(fa, _G), src), float_source(chain(fb, _G), src)
    if is_reflected(op):  # number (op) Scalar: the Scalar `a` is the rule's b
        return float_source(chain(fb, _G), {"a": "v._b", "b": "a.data", "y": "v.data",
                                            "g": "g"}), None
    return float_source(chain(fa, _G), {"a": "a.data", "b": "v._b", "y": "v.data",
                                        "g": "g"}), None


class _GradsTable(dict):
    """opcode -> grads(v, g): the gradients for v's inputs (None for a missing second),
    each generated the first time its opcode is met (import does not compile them all)."""

    def __missing__(self, op: int) -> Callable[[Scalar, float], tuple[float, Any]]:
        ga, gb = _gradient_sources(op)
        body = ("    a = v._a\n" + ("    b = v._b\n" if gb else "")
                + f"    return {ga}, {gb}\n")
        fn = self[op] = _define("grads", "v, g", body)
        return fn


def _define(name: str, params: str, body: str) -> Callable[..., Any]:
    scope = dict(FLOAT_NAMESPACE)
    source = f"def {name}({params}):\n{body}"
    exec(compile(source, f"<generated {name}>", "exec"), scope)  # from our own rules
    fn = scope[name]
    fn.source = source
    return fn


_GRADS = _GradsTable()


def _grads(v: Scalar, g: float) -> tuple[float, Any]:
    """The gradients for ``v._a`` and (two Scalar inputs) ``v._b``: the chain rule."""
    return _GRADS[v._code](v, g)


# The walk's table: entry v sits at position root._seq - v._seq. Positions below _FLAT
# live in one list (grown as needed); farther ones (an input recorded long before the
# rest of the graph) in chunks of 4096 positions, made only where an entry falls.
_FLAT = 1 << 20
_CHUNK_BITS = 12


def _backward(root: Scalar) -> None:
    """One pass over the tape, read backwards from ``root``; leaf grads accumulate.

    Reading the table in order visits entries by decreasing sequence number: when we
    reach an entry, all its consumers (recorded later) have run, so its grad is complete.
    Running it puts its inputs in the table (their first gradient *replaces* any stale
    grad, later ones add): finding the entries and walking them is one loop.
    """
    table: list = [None] * 1024
    table[0] = root
    root.grad = 1.0
    firsts: dict = {}  # leaf -> its grad before this pass
    try:
        _walk(table, root._seq, firsts)
    finally:  # then each leaf adds the sum of what reached it (AccumulateGrad's job)
        for leaf, before in firsts.items():
            if before:
                leaf.grad = before + leaf.grad


def _place(table: list, far: dict, i: int, node: Scalar, grad: float) -> None:
    """Put ``node`` at position ``i`` past the end of ``table``: grow it, or use a chunk."""
    if i < _FLAT:
        table.extend([None] * (min(max(i + 1, 2 * len(table)), _FLAT) - len(table)))
        table[i] = node
        node.grad = grad
        return
    chunk = far.get(i >> _CHUNK_BITS)
    if chunk is None:
        chunk = far[i >> _CHUNK_BITS] = [None] * (1 << _CHUNK_BITS)
    i &= (1 << _CHUNK_BITS) - 1
    if chunk[i] is None:
        chunk[i] = node
        node.grad = grad
    else:
        node.grad += grad


# The walk is generated: its loop is written here once, and the chain rule of the most
# frequent ops is spliced in from their formulas (`tapegrad.pointwise`), so no derivative
# is restated. Inline code rather than a call per entry is what keeps Scalar fast (a
# call would cost about a third of an op). Rare ops call their generated `_GRADS` entry.
# `tapegrad.scalar_backward._walk.source` shows the generated function.
_HOT_TWO_INPUT = (_MUL, _ADD)  # both operands Scalars
_HOT_ONE_INPUT = (UNARY_CODES["relu"], _MULC, _RMULC, _ADDC, _RADDC, _SUBC,
                  UNARY_CODES["tanh"])

_WALK_TEMPLATE = '''def _walk(table, top, firsts):
    """Run the entries of ``table`` in order (the chain rule, one entry at a time)."""
    far = {}  # chunk number -> chunk, for positions beyond _FLAT
    segment, k = table, -1
    while True:
        for v in segment:  # slots filled while we read are still seen: they lie ahead
            if v is None:
                continue
            g = v.grad
            op = v._code
<DISPATCH>
            # Route ga to a (and gb to b), written out twice: no call per edge.
            if a._code:  # an intermediate: its first gradient puts it in the table
                i = top - a._seq
                try:
                    if table[i] is None:
                        table[i] = a
                        a.grad = ga
                    else:
                        a.grad += ga
                except IndexError:
                    _place(table, far, i, a, ga)
            elif a in firsts:  # a leaf: sum this pass's gradients, then add (torch's order)
                a.grad += ga
            else:
                firsts[a] = a.grad
                a.grad = ga
            if b is None:
                continue
            if b._code:
                i = top - b._seq
                try:
                    if table[i] is None:
                        table[i] = b
                        b.grad = gb
                    else:
                        b.grad += gb
                except IndexError:
                    _place(table, far, i, b, gb)
            elif b in firsts:
                b.grad += gb
            else:
                firsts[b] = b.grad
                b.grad = gb
        if k >= 0:
            del far[k]
        if not far:
            return
        k = min(far)  # the nearest chunk left; its entries only feed farther ones
        segment = far[k]


'''


def _generate_walk() -> Callable[[list, int, dict], None]:
    lines: list[str] = []
    keyword = "if"
    for op in _HOT_TWO_INPUT:
        ga, gb = _gradient_sources(op)
        lines += [f"            {keyword} op == {op}:  # {_INFO[op][0]}",
                  "                a = v._a", "                b = v._b",
                  f"                ga = {ga}", f"                gb = {gb}"]
        keyword = "elif"
    lines += ["            else:", "                a = v._a", "                b = None"]
    groups: dict[str, list[int]] = {}  # one branch for opcodes with the same chain rule
    for op in _HOT_ONE_INPUT:
        groups.setdefault(_gradient_sources(op)[0], []).append(op)
    keyword = "if"
    for ga, ops in groups.items():
        test = " or ".join(f"op == {op}" for op in ops)
        names = ", ".join(sorted({_INFO[op][0] for op in ops}))
        lines += [f"                {keyword} {test}:  # {names}", f"                    ga = {ga}"]
        keyword = "elif"
    lines += ["                else:", "                    ga, gb = _GRADS[op](v, g)",
              f"                    if op <= {_NB}:", "                        b = v._b"]
    source = _WALK_TEMPLATE.replace("<DISPATCH>", "\n".join(lines))
    scope = {**FLOAT_NAMESPACE, "_GRADS": _GRADS, "_place": _place, "_FLAT": _FLAT}
    exec(compile(source, "<generated _walk>", "exec"), scope)  # from our own rules
    walk = scope["_walk"]
    walk.source = source
    return walk


_walk = _generate_walk()


def _collect(root: Scalar) -> tuple[list, list]:
    """The intermediates and leaves that ``root`` depends on (a breadth-first walk over
    the list we are filling: no recursion), for the event walk and the tape."""
    seen = {root}
    nodes = [root] if root._code else []
    leaves = [] if root._code else [root]
    for v in nodes:
        for s in v.inputs:
            if s not in seen:
                seen.add(s)
                (nodes if s._code else leaves).append(s)
    return nodes, leaves


def _backward_with_events(root: Scalar, on_step: Callable[[BackwardStep], None]) -> None:
    """The same walk, reporting each step (kept apart so the plain walk stays lean).

    Leaves get their own step, after every entry that uses them has run (at their place
    on the tape), adding what arrived into ``.grad``: AccumulateGrad's step for tensors.
    """
    nodes, leaves = _collect(root)
    order = sorted(nodes + leaves, key=_seq_of, reverse=True)
    arrived: dict = {root: 1.0}  # entry or leaf -> gradient that reached it so far
    step = 0
    for v in order:
        g = arrived.pop(v, None)
        if g is None:
            continue
        step += 1
        if not v._code:
            before = v.grad
            v.grad = before + g if before else g
            on_step(BackwardStep(step=step, node=v, grad_outputs=(g,),
                                 leaf_grad_before=before, leaf_grad_after=v.grad,
                                 pending=_pending(arrived)))
            continue
        v.grad = g
        op = v._code
        ga, gb = _grads(v, g)
        routes = [(1 if is_reflected(op) else 0, v._a, ga)]
        if op <= _NB:
            routes.append((1, v._b, gb))
        contributions = []
        for index, target, grad in routes:
            before = arrived.get(target)
            arrived[target] = after = grad if before is None else before + grad
            if target._code:
                target.grad = after  # an intermediate's grad is its buffer
            contributions.append(Contribution(index, target, 0, grad, before, after))
        on_step(BackwardStep(step=step, node=v, grad_outputs=(g,), contributions=contributions,
                             pending=_pending(arrived)))


def _pending(arrived: dict) -> list:
    return sorted(arrived, key=_seq_of, reverse=True)


def _scalar_tape(outputs: tuple) -> Tape:
    """Tape entries and SSA values for Scalars, in the shape tensors' tapes have."""
    seen: set = set()
    nodes = [n for o in outputs for n in _collect(o)[0] if not (n in seen or seen.add(n))]
    nodes.sort(key=_seq_of)
    values: list[Value] = []
    by_id: dict[int, Value] = {}
    for v in nodes:  # leaves first, so that they get the lowest numbers
        for s in v.inputs:
            if not s._code and id(s) not in by_id:
                by_id[id(s)] = Value(id=len(values), kind="leaf", shape=(), dtype="float64",
                                     data=s.data, name=s.label or None, obj=s)
                values.append(by_id[id(s)])
    entries = []
    for position, v in enumerate(nodes):
        op = v._code
        name, backward_name, saves = _INFO[op]
        a = by_id[id(v._a)]
        if op <= _NB:
            inputs: list = [a, by_id[id(v._b)]]
        elif op <= 2 * _NB:
            inputs = [a, v._b]
        elif is_reflected(op):
            inputs = [v._b, a]
        else:
            inputs = [a]
        entry = TapeEntry(position=position, op=name, backward_name=backward_name,
                          inputs=inputs, outputs=[], node=v, sequence_nr=v._seq)
        out = by_id[id(v)] = Value(id=len(values), kind="output", shape=(), dtype="float64",
                                   data=v.data, producer=entry)
        values.append(out)
        entry.outputs.append(out)
        if "inputs" in saves:
            entry.saved = [i for i in inputs if isinstance(i, Value)]
        if "output" in saves:
            entry.saved.append(out)
        entries.append(entry)
    return Tape(entries, values, [by_id[id(o)] for o in outputs if o._code])
