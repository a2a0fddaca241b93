"""`Scalar`: micrograd's one-number autograd value, recorded on tapegrad's tape.

A `Scalar` holds a Python float (``.data``) and its gradient (``.grad``)::

    a, b = Scalar(2.0, label="a"), Scalar(-3.0, label="b")
    loss = (a * b + 1).tanh()
    loss.backward()          # a.grad == b.data * (1 - loss.data ** 2)

Each op result is an entry of the tape, exactly like a tensor op: it stores an opcode and
its operands, and gets the next *sequence number* from the counter tensor ops use
(`tapegrad.autograd.function`). An entry is always numbered after the entries of its
inputs, so reading the tape backwards (decreasing numbers) reaches every consumer of a
value before the value's producer: when backward reaches an entry, its gradient is
complete, and the entry adds ``local derivative * gradient`` into its inputs (the chain
rule, one op at a time; the rules are in `tapegrad.scalar_backward`). No recursion (a chain
100,000 ops deep is fine) and no topological sort: backward puts each entry it meets at
position ``root_number - entry_number`` of a table and reads the table in order, which
finds the entries and walks them in one loop.

Differences from micrograd, all on purpose:

* ``backward()`` twice: *intermediate* grads are recomputed, *leaf* grads (Scalars you
  created) accumulate, as in torch. A second ``backward()`` doubles leaf grads but
  intermediates keep their true gradient (micrograd adds into every ``.grad``, so its
  intermediates go wrong). Zero leaf grads between training steps (``p.grad = 0.0``).
* No closure per node and no set of parents: an entry points only at its inputs, never
  back, so a graph has no reference cycles and is freed by reference counting the moment
  its last result is dropped; the garbage collector never has to find it. That, more
  than the arithmetic, makes it fast (see benchmarks/scalar_bench.py).
* The collector still *scans* live objects: a pass starts after every ~700 new objects,
  and a graph is tens of thousands of them. So op results are made ahead in batches
  (a pool) and handed out newest first. The passes that a batch triggers find it still
  empty (cheap to scan), and the collector, which scans in creation order, meets the
  entries that use a value before the value itself, its fastest case (a graph built
  one object at a time is its slowest: every input comes before its users).
* ``a + a`` is one entry with the same input twice; ``x ** y`` takes a Scalar ``y``;
  ``-a``, ``a - b``, ``a / b`` are one entry each; ``tanh``, ``exp``, ``sigmoid`` do not
  overflow; division by zero gives inf/nan as torch; gradients at kinks follow torch
  (relu'(0) = 0).
* ``tapegrad.no_grad()`` switches recording off: results are then new leaves.

``Tape.of(s).listing()`` prints the recorded program as for tensors, and
``s.backward(on_step=f)`` calls ``f`` with one `tapegrad.autograd.BackwardStep` per entry,
plus one per leaf (AccumulateGrad's step for tensors), for the step-through viewer.
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Real
from typing import TYPE_CHECKING, Any

from tapegrad.autograd import function as _function
from tapegrad.autograd.grad_mode import _state
from tapegrad.formula import safe_div, safe_pow
from tapegrad.pointwise import UNARY
from tapegrad.scalar_backward import (
    _ADD,
    _ADDC,
    _DIV,
    _DIVC,
    _INFO,
    _LEAF,
    _MUL,
    _MULC,
    _NB,
    _POW,
    _POWC,
    _RADDC,
    _RDIVC,
    _RMULC,
    _RPOWC,
    _RSUBC,
    _SUB,
    _SUBC,
    UNARY_CODES,
    _backward,
    _backward_with_events,
    _scalar_tape,
)

if TYPE_CHECKING:
    from tapegrad.autograd.engine import BackwardStep
    from tapegrad.autograd.tape import Tape

__all__ = ["Scalar"]

_sequence = _function._sequence  # the tape's counter, shared with tensor ops
_new = object.__new__

# Op results come from batches of Scalars made ahead (see the module doc).
_pool: list = []
_take = _pool.pop
_MAX_BATCH = 1 << 16
_batch = 256


def _refill() -> Scalar:
    """Make the next batch (twice the last, up to _MAX_BATCH); return a new Scalar."""
    global _batch
    _pool.extend([_new(Scalar) for _ in range(_batch)])
    _batch = min(2 * _batch, _MAX_BATCH)
    return _new(Scalar)


def _number(other: Any) -> Any:
    """``other`` as a constant operand, or None if it is not a real number."""
    if other.__class__ is float or other.__class__ is int:
        return other
    if isinstance(other, Real):  # numpy scalars, fractions, bool...
        return float(other)
    return None


_MICROGRAD_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**",
                      "relu": "ReLU"}


class Scalar:
    """A float with a gradient: ``Scalar(2.0, label='a')``; micrograd's ``Value``."""

    __slots__ = ("data", "grad", "_code", "_a", "_b", "_seq", "_label", "__weakref__")
    __array_ufunc__ = None  # numpy defers to us: np.float64(2) * s calls s.__rmul__

    def __init__(self, data: float, label: str = "", *, name: str | None = None) -> None:
        self.data = float(data)
        self.grad = 0.0
        self._code = _LEAF
        self._a = self._b = None
        self._seq = next(_sequence)
        self._label = label if name is None else name

    # -- recording ---------------------------------------------------------------------
    # Each op is written out in full (no helper call): an op costs a few hundred
    # nanoseconds, and a Python call would be a third of it.
    def __add__(self, other: Any) -> Scalar:
        try:
            out = _take()
        except IndexError:
            out = _refill()
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
            out._code, out._a, out._b = op, self, other
        else:
            out._code = _LEAF
        return out

    def __mul__(self, other: Any) -> Scalar:
        try:
            out = _take()
        except IndexError:
            out = _refill()
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
            out._code, out._a, out._b = op, self, other
        else:
            out._code = _LEAF
        return out

    def _binary(self, other: Any, op: int, data: Any) -> Scalar:
        """Record a less frequent op (sub, div, pow and the reflected forms)."""
        try:
            out = _take()
        except IndexError:
            out = _refill()
        out.data = data
        out.grad = 0.0
        out._seq = next(_sequence)
        if _state.grad_enabled:
            out._code, out._a, out._b = op, self, other
        else:
            out._code = _LEAF
        return out

    def __sub__(self, other: Any) -> Scalar:
        if isinstance(other, Scalar):
            return self._binary(other, _SUB, self.data - other.data)
        if (other := _number(other)) is None:
            return NotImplemented
        return self._binary(other, _SUBC, self.data - other)

    def __truediv__(self, other: Any) -> Scalar:
        if isinstance(other, Scalar):
            return self._binary(other, _DIV, safe_div(self.data, other.data))
        if (other := _number(other)) is None:
            return NotImplemented
        return self._binary(other, _DIVC, safe_div(self.data, other))

    def __pow__(self, other: Any) -> Scalar:
        if isinstance(other, Scalar):
            return self._binary(other, _POW, safe_pow(self.data, other.data))
        if (other := _number(other)) is None:
            return NotImplemented
        return self._binary(other, _POWC, safe_pow(self.data, other))

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
        return self._binary(other, _RDIVC, safe_div(other, self.data))

    def __rpow__(self, other: Any) -> Scalar:
        if (other := _number(other)) is None:
            return NotImplemented
        return self._binary(other, _RPOWC, safe_pow(other, self.data))

    def _unary(self, op: int, data: float) -> Scalar:
        """Record a one-input op (its opcode and its result ``data``)."""
        try:
            out = _take()
        except IndexError:
            out = _refill()
        out.data = data
        out.grad = 0.0
        out._seq = next(_sequence)
        if _state.grad_enabled:
            out._code, out._a, out._b = op, self, None
        else:
            out._code = _LEAF
        return out

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
    def _op(self) -> str:
        """micrograd's name for the op that made this value (``'+'``, ``'*'``, ``'**2'``,
        ``'ReLU'``, ``'tanh'``; ``''`` for a leaf), so micrograd's lecture code that draws
        a graph from ``_prev``, ``_op`` and ``label`` runs on Scalars unchanged."""
        code = self._code
        if not code:
            return ""
        name = _INFO[code][0]
        symbol = _MICROGRAD_SYMBOLS.get(name, name)
        if name == "pow" and _NB < code <= 2 * _NB:  # Scalar ** number: micrograd's f'**{n}'
            return f"**{self._b}"
        return symbol

    @property
    def op(self) -> str:
        """The op that produced this value ('' for a leaf): ``'mul'``, ``'tanh'``..."""
        return _INFO[self._code][0] if self._code else ""

    @property
    def inputs(self) -> tuple:
        """The Scalars this value was computed from (empty for a leaf)."""
        op = self._code
        if not op:
            return ()
        return (self._a, self._b) if op <= _NB else (self._a,)

    @property
    def _prev(self) -> set:
        """micrograd's name for the inputs, as a set (its lecture's ``draw_dot`` walks it)."""
        return {s for s in self.inputs if isinstance(s, Scalar)}

    @property
    def is_leaf(self) -> bool:
        return not self._code

    def __repr__(self) -> str:
        return f"Scalar(data={self.data}, grad={self.grad})"

    def __reduce__(self) -> tuple:
        """copy, deepcopy and pickle give a new leaf (a new place on the tape) with the
        same data, grad and label; as in torch, only leaves can be copied."""
        if self._code:
            raise RuntimeError("Only Scalars created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        return _leaf, (self.data, self.grad, self.label)

    # -- backward ----------------------------------------------------------------------
    def backward(self, on_step: Callable[[BackwardStep], None] | None = None) -> None:
        """Fill ``.grad`` of everything this value depends on (d self / d value).

        Intermediate grads are recomputed, leaf grads accumulate (see the module doc).
        ``on_step`` receives one `BackwardStep` per entry and per leaf, in walk order.
        """
        if on_step is not None:
            return _backward_with_events(self, on_step)
        if not self._code:
            self.grad += 1.0
        else:
            _backward(self)
        return None

    def _tape_entries(self, outputs: tuple) -> Tape:
        """The tape of ``outputs`` (``Tape.of(scalar)`` calls this)."""
        return _scalar_tape(outputs)


def _unary_method(name: str, op: int, forward: Callable[[float], float], doc: str):
    def method(self: Scalar) -> Scalar:
        return self._unary(op, forward(self.data))

    method.__name__ = method.__qualname__ = name
    method.__doc__ = doc
    return method


# Scalar.tanh(), .exp(), .relu(), .sin()...: one method per one-input rule of
# `tapegrad.pointwise` that has a float forward; the rule also gives the derivative.
for _rule in UNARY:
    if _rule.float_forward is not None:
        setattr(Scalar, _rule.name, _unary_method(_rule.name, UNARY_CODES[_rule.name],
                                                  _rule.float_forward, _rule.doc))
Scalar.__neg__ = Scalar.neg  # type: ignore[attr-defined]
Scalar.__abs__ = Scalar.abs  # type: ignore[attr-defined]


def _leaf(data: float, grad: float, label: str) -> Scalar:
    leaf = Scalar(data, label)
    leaf.grad = grad
    return leaf
