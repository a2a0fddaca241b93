"""Backward for `tapegrad.Scalar`: what each recorded entry means and how it is walked.

`tapegrad.scalar` records entries; this module holds

* the opcodes an entry stores, with their names in listings (as tensor ops have them);
* float maths that gives inf/nan where Python would raise (torch's results);
* `_grads`: the chain rule of every op (local derivative times the incoming gradient);
* `_backward`: the walk itself, the tape read backwards in one loop;
* the same walk reporting `BackwardStep` events, and the `Tape` of a Scalar graph.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from tapegrad.autograd.engine import BackwardStep, Contribution
from tapegrad.autograd.tape import Tape, TapeEntry, Value

if TYPE_CHECKING:
    from tapegrad.scalar import Scalar

_seq_of = attrgetter("_seq")

# Opcodes. Up to _POW both operands are Scalars; then Scalar (op) number; then the
# reflected forms number (op) Scalar (the Scalar is kept in _a, the number in _b).
_LEAF = 0
_ADD, _MUL, _SUB, _DIV, _POW = 1, 2, 3, 4, 5
_ADDC, _MULC, _SUBC, _DIVC, _POWC = 6, 7, 8, 9, 10
_RADDC, _RMULC, _RSUBC, _RDIVC, _RPOWC = 11, 12, 13, 14, 15
_NEG, _RELU, _TANH, _EXP, _LOG, _SIGMOID = 16, 17, 18, 19, 20, 21

# opcode -> (op name in listings, backward name, what backward saves), named as the
# tensor ops (and torch's grad_fn) are named, so listings read the same for both.
_INFO: dict[int, tuple[str, str, str]] = {}
for _codes, _name, _saves in (
    ((_ADD, _ADDC, _RADDC), "add", ""),
    ((_SUB, _SUBC, _RSUBC), "sub", ""),
    ((_MUL, _MULC, _RMULC), "mul", "inputs"),
    ((_DIV, _DIVC, _RDIVC), "div", "inputs"),
    ((_POW, _POWC, _RPOWC), "pow", "inputs output"),
    ((_NEG,), "neg", ""),
    ((_RELU,), "relu", "output"),
    ((_TANH,), "tanh", "output"),
    ((_EXP,), "exp", "output"),
    ((_LOG,), "log", "inputs"),
    ((_SIGMOID,), "sigmoid", "output"),
):
    for _code in _codes:
        _INFO[_code] = (_name, f"{_name.capitalize()}Backward0", _saves)


# -- float maths where Python raises but IEEE (and torch) give inf or nan ---------------
def _div(p: float, q: float) -> float:
    if q:
        return p / q
    if p != p or p == 0:
        return math.nan
    return math.copysign(math.inf, p) * math.copysign(1.0, q)


def _pow(x: float, y: float) -> float:
    try:
        r = x ** y
        if r.__class__ is float:
            return r
    except (ZeroDivisionError, OverflowError):
        pass
    # 0 ** -1, overflow, or a complex result (negative base, fractional exponent)
    import numpy as np

    with np.errstate(all="ignore"):
        return float(np.power(np.float64(x), np.float64(y)))


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _log(x: float) -> float:
    if x > 0:
        return math.log(x)
    return -math.inf if x == 0 else math.nan


def _pow_grad_base(g: float, x: float, y: float) -> float:
    """d(x**y)/dx * g = g * (y * x**(y-1)), 0 for y == 0 (torch's convention)."""
    return 0.0 if y == 0 else g * (y * _pow(x, y - 1))


def _pow_grad_exponent(g: float, x: float, y: float, out: float) -> float:
    """d(x**y)/dy * g = g * (x**y * log x), 0 where x == 0 and y >= 0 (torch's pow)."""
    return 0.0 if x == 0 and y >= 0 else g * (out * _log(x))


def _grads(v: Scalar, g: float) -> tuple[float, Any]:
    """The gradients for ``v._a`` and (two Scalar inputs) ``v._b``: the chain rule."""
    op, a, b, y = v._op, v._a, v._b, v.data
    x = a.data
    if op == _MUL:
        return g * b.data, g * x
    if op == _ADD:
        return g, g
    if op == _SUB:
        return g, -g
    if op == _DIV:
        q = b.data
        return _div(g, q), _div(-g * x, q * q)
    if op == _POW:
        e = b.data
        return _pow_grad_base(g, x, e), _pow_grad_exponent(g, x, e, y)
    if op == _ADDC or op == _SUBC or op == _RADDC:
        return g, None
    if op == _MULC or op == _RMULC:
        return g * b, None
    if op == _DIVC:
        return _div(g, b), None
    if op == _POWC:
        return _pow_grad_base(g, x, b), None
    if op == _RSUBC or op == _NEG:
        return -g, None
    if op == _RDIVC:
        return _div(-g * b, x * x), None
    if op == _RPOWC:
        return _pow_grad_exponent(g, b, x, y), None
    if op == _RELU:
        return (g if y > 0.0 else 0.0), None
    if op == _TANH:
        return g * (1.0 - y * y), None
    if op == _EXP:
        return g * y, None
    if op == _LOG:
        return _div(g, x), None
    return g * (1.0 - y) * y, None  # _SIGMOID


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


def _walk(table: list, top: int, firsts: dict) -> None:
    """Run the entries of ``table`` in order (the chain rule, one entry at a time)."""
    far: dict = {}  # chunk number -> chunk, for positions beyond _FLAT
    segment, k = table, -1
    while True:
        for v in segment:  # slots filled while we read are still seen: they lie ahead
            if v is None:
                continue
            g = v.grad
            op = v._op
            if op == _MUL:  # the most frequent ops first; the rest share _grads
                a = v._a
                b = v._b
                ga = g * b.data
                gb = g * a.data
            elif op == _ADD:
                a = v._a
                b = v._b
                ga = gb = g
            else:
                a = v._a
                b = None
                if op == _RELU:
                    ga = g if v.data > 0.0 else 0.0
                elif op == _MULC or op == _RMULC:
                    ga = g * v._b
                elif op == _ADDC or op == _RADDC or op == _SUBC:
                    ga = g
                elif op == _TANH:
                    y = v.data
                    ga = g * (1.0 - y * y)
                else:
                    ga, gb = _grads(v, g)
                    if op <= _POW:
                        b = v._b
            # Route ga to a (and gb to b), written out twice: no call per edge.
            if a._op:  # an intermediate: its first gradient puts it in the table
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
            if b._op:
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


def _collect(root: Scalar) -> tuple[list, list]:
    """The intermediates and leaves that ``root`` depends on (a breadth-first walk over
    the list we are filling: no recursion), for the event walk and the tape."""
    seen = {root}
    nodes = [root] if root._op else []
    leaves = [] if root._op else [root]
    for v in nodes:
        for s in v.inputs:
            if s not in seen:
                seen.add(s)
                (nodes if s._op else leaves).append(s)
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
        if not v._op:
            before = v.grad
            v.grad = before + g if before else g
            on_step(BackwardStep(step=step, node=v, grad_outputs=(g,),
                                 leaf_grad_before=before, leaf_grad_after=v.grad,
                                 pending=_pending(arrived)))
            continue
        v.grad = g
        op = v._op
        ga, gb = _grads(v, g)
        routes = [(1 if _RADDC <= op < _NEG else 0, v._a, ga)]
        if op <= _POW:
            routes.append((1, v._b, gb))
        contributions = []
        for index, target, grad in routes:
            before = arrived.get(target)
            arrived[target] = after = grad if before is None else before + grad
            if target._op:
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
            if not s._op and id(s) not in by_id:
                by_id[id(s)] = Value(id=len(values), kind="leaf", shape=(), dtype="float64",
                                     data=s.data, name=s.label or None, obj=s)
                values.append(by_id[id(s)])
    entries = []
    for position, v in enumerate(nodes):
        op = v._op
        name, backward_name, saves = _INFO[op]
        a = by_id[id(v._a)]
        if op <= _POW:
            inputs: list = [a, by_id[id(v._b)]]
        elif op < _RADDC:
            inputs = [a, v._b]
        elif op < _NEG:
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
    return Tape(entries, values, [by_id[id(o)] for o in outputs if o._op])
