"""`Scalar`: micrograd's one-number autograd value, recorded on tapegrad's tape.

A `Scalar` holds a Python float (``.data``) and its gradient (``.grad``). Arithmetic on
Scalars records each result as an entry of the tape, exactly like a tensor op: it gets
the next *sequence number* from the counter that `tapegrad.autograd.function` uses for
tensors, so every entry is numbered after the entries of its inputs. ``backward()`` then
needs no recursion and no topological sort:

1. **Collect** the entries the output depends on (a breadth-first walk over the list we
   are filling: no recursion, so a chain 100,000 ops deep is fine), setting the grads of
   the intermediate values to 0 on the way.
2. **Order** them by decreasing sequence number: the tape read backwards, so every
   consumer of a value runs before the value's producer.
3. **Walk** the entries once; each one adds ``local derivative * its grad`` into the
   grads of its inputs (the chain rule, one op at a time)::

       z = x * y      dz/dx = y            dz/dy = x
       z = x / y      dz/dx = 1/y          dz/dy = -x / y^2
       z = x ** y     dz/dx = y x^(y-1)    dz/dy = x^y log x   (0 where x == 0, as torch)
       z = tanh x     dz/dx = 1 - z^2      z = exp x     dz/dx = z
       z = log x      dz/dx = 1/x          z = sigmoid x dz/dx = (1 - z) z
       z = relu x     dz/dx = 1 if z > 0 else 0        (0 at the kink, as torch)

Differences from micrograd, all on purpose:

* ``backward()`` twice: the grads of *intermediate* values are recomputed each time, the
  grads of *leaves* (Scalars you created) accumulate, as in torch. So a second
  ``backward()`` doubles leaf grads but intermediates keep their true gradient (micrograd
  adds into every ``.grad``, so intermediates get wrong values). Zero leaf grads between
  training steps (``p.grad = 0.0``).
* An entry stores an opcode and its operands (no closure per node, no set of parents) and
  points only at its inputs, never back: a graph has no reference cycles and is freed by
  reference counting the moment the last result is dropped; the garbage collector never
  has to look for it. That, more than the arithmetic, makes it fast.
* ``a + a`` records one entry with the same input twice; ``x ** y`` accepts a Scalar ``y``;
  ``tanh``, ``exp``, ``sigmoid`` do not overflow; division by zero gives inf/nan as torch.
* ``tapegrad.no_grad()`` switches recording off: results are then new leaves.

``Tape.of(s).listing()`` prints the recorded program, and ``s.backward(on_step=f)`` calls
``f`` with one `tapegrad.autograd.BackwardStep` per entry, plus one per leaf (like
AccumulateGrad for tensors), as the step-through viewer expects.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real
from operator import attrgetter
from typing import Any

from tapegrad.autograd import function as _function
from tapegrad.autograd.engine import BackwardStep, Contribution
from tapegrad.autograd.grad_mode import _state
from tapegrad.autograd.tape import Tape, TapeEntry, Value

__all__ = ["Scalar"]

_sequence = _function._sequence  # the tape's counter, shared with tensor ops
_new = object.__new__
_seq_of = attrgetter("_seq")

# Opcodes. Up to _POW both operands are Scalars; then Scalar (op) number; then the
# reflected forms number (op) Scalar (the Scalar is kept in _a, the number in _b).
_LEAF = 0
_ADD, _MUL, _SUB, _DIV, _POW = 1, 2, 3, 4, 5
_ADDC, _MULC, _SUBC, _DIVC, _POWC = 6, 7, 8, 9, 10
_RADDC, _RMULC, _RSUBC, _RDIVC, _RPOWC = 11, 12, 13, 14, 15
_NEG, _RELU, _TANH, _EXP, _LOG, _SIGMOID = 16, 17, 18, 19, 20, 21

# opcode -> (op name in listings, backward name, saves its inputs, saves its output);
# names as tapegrad's tensor ops (and torch's grad_fn) have them.
_INFO = {
    _ADD: ("add", "AddBackward0", False, False), _ADDC: ("add", "AddBackward0", False, False),
    _RADDC: ("add", "AddBackward0", False, False),
    _SUB: ("sub", "SubBackward0", False, False), _SUBC: ("sub", "SubBackward0", False, False),
    _RSUBC: ("sub", "SubBackward0", False, False),
    _MUL: ("mul", "MulBackward0", True, False), _MULC: ("mul", "MulBackward0", True, False),
    _RMULC: ("mul", "MulBackward0", True, False),
    _DIV: ("div", "DivBackward0", True, False), _DIVC: ("div", "DivBackward0", True, False),
    _RDIVC: ("div", "DivBackward0", True, False),
    _POW: ("pow", "PowBackward0", True, True), _POWC: ("pow", "PowBackward0", True, True),
    _RPOWC: ("pow", "PowBackward0", True, True),
    _NEG: ("neg", "NegBackward0", False, False), _RELU: ("relu", "ReluBackward0", False, True),
    _TANH: ("tanh", "TanhBackward0", False, True), _EXP: ("exp", "ExpBackward0", False, True),
    _LOG: ("log", "LogBackward0", True, False),
    _SIGMOID: ("sigmoid", "SigmoidBackward0", False, True),
}


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


def _number(other: Any) -> Any:
    """``other`` as a constant operand, or None if it is not a real number."""
    if other.__class__ is float or other.__class__ is int:
        return other
    if isinstance(other, Real) and not isinstance(other, Scalar):
        return float(other)
    return None


class Scalar:
    """A float with a gradient: ``Scalar(2.0, label='a')``; micrograd's ``Value``."""

    __slots__ = ("data", "grad", "_op", "_a", "_b", "_seq", "_label", "__weakref__")
    __array_ufunc__ = None  # numpy defers to us: np.float64(2) * s calls s.__rmul__

    def __init__(self, data: float, label: str = "", *, name: str | None = None) -> None:
        self.data = float(data)
        self.grad = 0.0
        self._op = _LEAF
        self._a = self._b = None
        self._seq = next(_sequence)
        self._label = label if name is None else name

    # -- recording ---------------------------------------------------------------------
    # Each op is written out in full (no helper call): an op costs a few hundred
    # nanoseconds, and a Python call would be a third of it.
    def __add__(self, other: Any) -> Scalar:
        out = _new(Scalar)
        if isinstance(other, Scalar):
            out.data = self.data + other.data
            op = _ADD
        else:
            if (other := _number(other)) is None:
                return NotImplemented
            out.data = self.data + other
            op = _ADDC
        out.grad = 0.0
        out._seq = next(_sequence)
        if _state.grad_enabled:
            out._op, out._a, out._b = op, self, other
        else:
            out._op = _LEAF
        return out

    def __mul__(self, other: Any) -> Scalar:
        out = _new(Scalar)
        if isinstance(other, Scalar):
            out.data = self.data * other.data
            op = _MUL
        else:
            if (other := _number(other)) is None:
                return NotImplemented
            out.data = self.data * other
            op = _MULC
        out.grad = 0.0
        out._seq = next(_sequence)
        if _state.grad_enabled:
            out._op, out._a, out._b = op, self, other
        else:
            out._op = _LEAF
        return out

    def _binary(self, other: Any, op: int, data: Any) -> Scalar:
        """Record a less frequent op (sub, div, pow and the reflected forms)."""
        out = _new(Scalar)
        out.data = data
        out.grad = 0.0
        out._seq = next(_sequence)
        if _state.grad_enabled:
            out._op, out._a, out._b = op, self, other
        else:
            out._op = _LEAF
        return out

    def __sub__(self, other: Any) -> Scalar:
        if isinstance(other, Scalar):
            return self._binary(other, _SUB, self.data - other.data)
        if (other := _number(other)) is None:
            return NotImplemented
        return self._binary(other, _SUBC, self.data - other)

    def __truediv__(self, other: Any) -> Scalar:
        if isinstance(other, Scalar):
            return self._binary(other, _DIV, _div(self.data, other.data))
        if (other := _number(other)) is None:
            return NotImplemented
        return self._binary(other, _DIVC, _div(self.data, other))

    def __pow__(self, other: Any) -> Scalar:
        if isinstance(other, Scalar):
            return self._binary(other, _POW, _pow(self.data, other.data))
        if (other := _number(other)) is None:
            return NotImplemented
        return self._binary(other, _POWC, _pow(self.data, other))

    def __radd__(self, other: Any) -> Scalar:  # other + self
        if (other := _number(other)) is None:
            return NotImplemented
        return self._binary(other, _RADDC, other + self.data)

    def __rmul__(self, other: Any) -> Scalar:
        if (other := _number(other)) is None:
            return NotImplemented
        return self._binary(other, _RMULC, other * self.data)

    def __rsub__(self, other: Any) -> Scalar:
        if (other := _number(other)) is None:
            return NotImplemented
        return self._binary(other, _RSUBC, other - self.data)

    def __rtruediv__(self, other: Any) -> Scalar:
        if (other := _number(other)) is None:
            return NotImplemented
        return self._binary(other, _RDIVC, _div(other, self.data))

    def __rpow__(self, other: Any) -> Scalar:
        if (other := _number(other)) is None:
            return NotImplemented
        return self._binary(other, _RPOWC, _pow(other, self.data))

    def __neg__(self) -> Scalar:
        return self._binary(None, _NEG, -self.data)

    def relu(self) -> Scalar:
        x = self.data
        out = _new(Scalar)
        out.data = 0.0 if x <= 0.0 else x  # nan stays nan
        out.grad = 0.0
        out._seq = next(_sequence)
        if _state.grad_enabled:
            out._op, out._a, out._b = _RELU, self, None
        else:
            out._op = _LEAF
        return out

    def tanh(self) -> Scalar:
        return self._binary(None, _TANH, math.tanh(self.data))  # math.tanh never overflows

    def exp(self) -> Scalar:
        return self._binary(None, _EXP, _exp(self.data))

    def log(self) -> Scalar:
        return self._binary(None, _LOG, _log(self.data))

    def sigmoid(self) -> Scalar:
        return self._binary(None, _SIGMOID, 1.0 / (1.0 + _exp(-self.data)))

    # -- inspection --------------------------------------------------------------------
    @property
    def label(self) -> str:
        try:
            return self._label
        except AttributeError:  # op results do not pay for storing an empty label
            return ""

    @label.setter
    def label(self, value: str) -> None:
        self._label = value

    name = label

    @property
    def op(self) -> str:
        """The op that produced this value ('' for a leaf): ``'mul'``, ``'tanh'``..."""
        return _INFO[self._op][0] if self._op else ""

    @property
    def inputs(self) -> tuple:
        """The Scalars this value was computed from (empty for a leaf)."""
        op = self._op
        if not op:
            return ()
        return (self._a, self._b) if op <= _POW else (self._a,)

    @property
    def is_leaf(self) -> bool:
        return not self._op

    def __repr__(self) -> str:
        return f"Scalar(data={self.data}, grad={self.grad})"

    # -- backward ----------------------------------------------------------------------
    def backward(self, on_step: Callable[[BackwardStep], None] | None = None) -> None:
        """Fill ``.grad`` of everything this value depends on (d self / d value).

        Intermediate grads are recomputed, leaf grads accumulate (see the module doc).
        ``on_step`` receives one `BackwardStep` per entry and per leaf, in walk order.
        """
        if on_step is not None:
            return _backward_with_events(self, on_step)
        if not self._op:
            self.grad += 1.0
        else:
            _backward(self)
        return None

    def _tape_entries(self, outputs: tuple) -> Tape:
        """The tape of ``outputs`` (``Tape.of(scalar)`` calls this)."""
        return _scalar_tape(outputs)


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
    segment = table
    while True:
        for v in segment:  # slots filled while we read are still seen: they lie ahead
            if v is None:
                continue
            g = v.grad
            op = v._op
            if op == 2:  # _MUL (the most frequent ops first; the rest share _grads)
                a = v._a
                b = v._b
                ga = g * b.data
                gb = g * a.data
            elif op == 1:  # _ADD
                a = v._a
                b = v._b
                ga = gb = g
            else:
                a = v._a
                b = None
                if op == 17:  # _RELU
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
        if segment is not table:
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
        name, backward_name, saves_inputs, saves_output = _INFO[op]
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
        entry.saved = [i for i in inputs if isinstance(i, Value)] if saves_inputs else []
        if saves_output:
            entry.saved.append(out)
        entries.append(entry)
    return Tape(entries, values, [by_id[id(o)] for o in outputs if o._op])
