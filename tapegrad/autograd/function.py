"""`Function`: an op with a forward and a backward, and `Node`: its entry on the tape.

Every differentiable op in tapegrad, built-in or yours, is a `Function`::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()              # runs with recording switched off
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad_y):   # one gradient per forward output
            (y,) = ctx.saved_tensors
            return grad_y * y        # one gradient per forward input

    y = Exp.apply(x)

``apply`` runs ``forward`` with recording off, and if grad mode is on and an input
requires grad it *records* the call: it creates a `Node` (the same object ``forward`` saw
as ``ctx``), gives it the next sequence number (its position on the tape), links it to the
nodes that produced the inputs (``next_functions``) and marks the outputs with
``grad_fn = node``. Backward later walks these nodes in reverse sequence order.
"""

from __future__ import annotations

import itertools
import sys
import traceback
from operator import itemgetter
from typing import Any

from tapegrad.autograd import anomaly, scope
from tapegrad.autograd.grad_mode import _state, no_grad
from tapegrad.autograd.saved import _FREED, SavedTensor
from tapegrad.autograd.variable import (
    RemovableHandle,
    Variable,
    _HookDict,
    _move_retained,
    check_inference_for_record,
)
from tapegrad.dtypes import _BY_NUMPY

# One counter for the whole process: a node's sequence number is its position on the
# tape. Every node is created after the nodes of its inputs, so decreasing sequence
# number is always a valid order for backward (a reverse topological order).
_sequence = itertools.count()


def tensor_dtype(np_dtype: Any) -> Any:
    """tapegrad's dtype for the numpy dtype in a node's ``_input_meta``/``_output_meta``
    (None stays None: an output that is not a tensor)."""
    return None if np_dtype is None else _BY_NUMPY[np_dtype]


def next_sequence_number() -> int:
    return next(_sequence)


class ReleasedTensor(tuple):
    """What a freed entry remembers of a tensor argument: its description, not its data.

    A tuple ``(shape, dtype, name, origin_id)`` with those names as attributes: backward
    makes one for every tensor argument of every entry it frees, so it is built as cheaply
    as Python allows (a tuple, no ``__init__``)."""

    __slots__ = ()

    def __new__(cls, t: Variable, meta: tuple | None = None) -> ReleasedTensor:
        # meta: the (shape, dtype) the entry recorded, when the caller has it at hand
        shape, dtype = meta if meta is not None else (tuple(t._data.shape), t._data.dtype)
        return tuple.__new__(cls, (shape, dtype, t._name, id(t)))

    shape = property(itemgetter(0))

    @property
    def dtype(self) -> Any:
        return _BY_NUMPY[self[1]]  # kept as numpy's dtype (see Node._input_meta)

    name = property(itemgetter(2))
    origin_id = property(itemgetter(3))  # the same tensor used twice stays one value


_new_tuple = tuple.__new__


# Graphs of 0-d tensors are the ones that grow to 10^5 entries (micrograd-style programs,
# a loss summed number by number). Every object an entry holds alone is visited by each
# full pass of Python's garbage collector over the live graph, and such passes come every
# time the graph grows by a quarter, so the entries of 0-d results share their metadata
# tuples instead of holding a copy each: a full collection over a chain of 100,000 0-d ops
# took half the time. (Only 0-d results: the lookup costs about 0.1 us per op, which an
# n-d op, whose graphs stay short, would not get back.) The table is bounded.
_SHARED: dict[tuple, tuple] = {}
_SHARED_MAX = 4096
_SCALAR_OUTPUT_META: dict = {}  # numpy dtype -> (((), dtype),): a 0-d op's _output_meta


def _scalar_output_meta(dt: Any) -> tuple:
    return _SCALAR_OUTPUT_META.setdefault(dt, (((), dt),))


def _share(t: tuple) -> tuple:
    """Make ``t`` the shared copy of its value (while the table has room); the hot paths
    spell the lookup out, ``_SHARED.get(t) or _share(t)``, to call this only on a miss."""
    if len(_SHARED) < _SHARED_MAX:
        _SHARED[t] = t
    return t


class Node:
    """One tape entry: a recorded call of a `Function` (torch calls it a backward node).

    It is also the ``ctx`` that ``forward`` and ``backward`` receive, so anything forward
    stores on ``ctx`` is there in backward. The class name is the backward's name
    (``MulBackward0``), as torch shows it in ``grad_fn``.
    """

    _function: type[Function] | None = None  # set on each generated subclass
    _op_name = "node"

    # Defaults live on the class so that creating a node (once per recorded op) costs
    # almost nothing; instances only store what differs.
    needs_input_grad: tuple[bool, ...] = ()
    # The edges to the inputs' producers, flat: (node0, nr0, node1, nr1, ...). One tuple
    # per entry instead of one per edge plus one around them, because every tuple that
    # holds a node lives as long as the graph and is scanned by each of Python's garbage
    # collections; ``next_functions`` is torch's nested view of it.
    _edges: tuple = ()
    _seq = -1
    _to_save: tuple = ()
    _saved: tuple[SavedTensor | None, ...] | None = ()
    _non_differentiable: tuple = ()
    _dirty: tuple = ()
    _materialize_grads = True
    # (shape, numpy dtype) per tensor argument (None for other arguments) and per output.
    # Numpy's dtype, not tapegrad's: numpy dtypes are not tracked by Python's garbage
    # collector, so these small tuples drop out of its scans and a graph of 100,000 ops
    # does not make every collection slower (`tensor_dtype` gives tapegrad's dtype).
    _input_meta: tuple = ()
    _output_meta: tuple = ()
    # The forward's arguments, for listings and drawings. A tensor argument that carries
    # gradient is None here: the tape finds it through its edge (``next_functions``), and
    # holding it would keep every intermediate tensor of a long chain alive (torch frees
    # them too). Constants (tensors that do not require grad) and options are kept.
    _args: tuple | None = ()
    _holds_tensors = True  # whether _args holds tensors (False: _release has nothing to do)
    _kwargs: dict = {}  # its keyword options (dim=, shape=...); never mutated in place
    # The outputs' arrays (see `_output_data`): one output's array as it is, several as a
    # tuple. (A tuple per entry would be one more object that lives as long as the graph
    # and that each of Python's garbage collections visits.)
    _kept_output: Any = None
    _kept_outputs: tuple | None = ()
    _tensor_hooks: dict | None = None  # output_nr -> hooks registered on the output tensor
    _retained: dict | None = None  # output_nr -> weakref of a tensor that retains grad
    _pre_hooks: dict | None = None
    _post_hooks: dict | None = None
    module_path = ""
    module_calls: tuple = ()  # ((module path, call number, module), ...): autograd.scope
    forward_trace: list[str] | None = None

    # -- the ctx API -------------------------------------------------------------
    def save_for_backward(self, *tensors: Variable | None) -> None:
        """Keep tensors for backward; read them back with ``ctx.saved_tensors``."""
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        if self._saved is None:
            raise RuntimeError(_FREED)
        return tuple([None if s is None else s.unpack(self) for s in self._saved])

    def _saved_data(self) -> tuple:
        """``saved_tensors`` as arrays (None stays None), checked the same way: for a
        backward that records nothing, so needs no tensors."""
        if self._saved is None:
            raise RuntimeError(_FREED)
        return tuple([None if s is None else s.unpack_data(self) for s in self._saved])

    def mark_dirty(self, *tensors: Variable) -> None:
        """Declare inputs that forward modified in place (and returns as outputs)."""
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors: Variable) -> None:
        """Declare outputs that never carry gradient (indices, masks)."""
        self._non_differentiable = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward receives None (not zeros) for outputs that got no gradient."""
        self._materialize_grads = bool(value)

    # -- the node API ------------------------------------------------------------
    @classmethod
    def name(cls) -> str:
        return cls.__name__

    @property
    def op_name(self) -> str:
        """Short forward name used in tape listings (``mul``, ``matmul``...)."""
        return self._op_name

    @property
    def _output_data(self) -> tuple | None:
        """The outputs' arrays, one per output (None for an output that is not a tensor),
        kept for listings and drawings; empty once backward released them."""
        data = self._kept_output
        return self._kept_outputs if data is None else (data,)

    @_output_data.setter
    def _output_data(self, arrays: tuple | None) -> None:
        self._kept_output = None
        self._kept_outputs = arrays

    @property
    def next_functions(self) -> tuple[tuple[Node | None, int], ...]:
        """``((node, output_nr), ...)``: for each tensor argument, the entry that produced
        it and which of that entry's outputs it was (``(None, 0)`` for a constant)."""
        e = self._edges
        return tuple(zip(e[::2], e[1::2], strict=True))

    @next_functions.setter
    def next_functions(self, edges: tuple) -> None:
        self._edges = tuple([x for edge in edges for x in edge])

    @property
    def sequence_nr(self) -> int:
        return self._seq

    @property
    def metadata(self) -> dict:
        if "_metadata" not in self.__dict__:
            self._metadata: dict = {}
        return self._metadata

    def register_hook(self, fn) -> Any:
        """``fn(grad_inputs, grad_outputs) -> tuple | None`` after this node ran."""
        if self._post_hooks is None:
            self._post_hooks = _HookDict()
        handle = RemovableHandle(self._post_hooks)
        self._post_hooks[handle.id] = fn
        return handle

    def register_prehook(self, fn) -> Any:
        """``fn(grad_outputs) -> tuple | None`` before this node runs."""
        if self._pre_hooks is None:
            self._pre_hooks = _HookDict()
        handle = RemovableHandle(self._pre_hooks)
        self._pre_hooks[handle.id] = fn
        return handle

    def _release(self) -> None:
        """Free what backward needed (saved tensors) and the values kept for drawings.

        The graph's *structure* stays, as in torch: tensor arguments become
        `ReleasedTensor` stubs (shape, dtype, name; no data), so the entry can still be
        listed and drawn after backward, just without values."""
        self._saved = None
        args = self._args
        if args and self._holds_tensors:
            metas = self._input_meta
            if len(metas) == len(args):
                # ReleasedTensor(a, m), spelled out: this runs for every freed argument
                self._args = tuple([
                    _new_tuple(ReleasedTensor, (m[0], m[1], a._name, id(a)))
                    if isinstance(a, Variable) else a
                    for a, m in zip(args, metas, strict=True)])
            else:
                self._args = tuple([ReleasedTensor(a) if isinstance(a, Variable) else a
                                    for a in args])
        # self._output_data = (), spelled out: writing only the attribute this entry already
        # has (a new attribute after creation would give every node a dict of its own)
        if self._kept_output is not None:
            self._kept_output = None
        else:
            self._kept_outputs = ()

    def _run_backward(self, grads: list) -> tuple:
        """Call the Function's backward and return one gradient per forward argument."""
        fn = self._function
        if self._materialize_grads and (len(grads) > 1 or grads[0] is None):
            for i, g in enumerate(grads):
                if g is None:
                    # zeros where the gradients that did arrive live (CPU or GPU memory)
                    like = next((g._data for g in grads if g is not None), None)
                    shape, dt = self._output_meta[i]
                    grads[i] = Variable._tensor_type._zeros(shape, _BY_NUMPY[dt], like=like)
        result = fn.backward(self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        return result

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"


class AccumulateGrad(Node):
    """The tape's end for a leaf that requires grad: backward adds into ``variable.grad``."""

    _op_name = "leaf"

    def __init__(self, variable: Variable) -> None:
        self.variable = variable
        self._seq = next(_sequence)
        data = variable._data
        self._output_meta = ((tuple(data.shape), data.dtype),)


# Variable._accumulator makes these; this module builds on variable.py, not the reverse
Variable._accumulate_grad_type = AccumulateGrad


class Function:
    """Base class of differentiable ops; subclass it and call ``YourOp.apply(...)``.

    Two styles, as in torch: ``forward(ctx, *args)`` receives the ctx first, or
    ``forward(*args)`` plus ``setup_context(ctx, inputs, output)`` which saves what
    backward needs. Keyword arguments of ``apply`` go to ``forward`` as plain options and
    never receive gradients.
    """

    _node_class: type[Node] = Node
    op_name: str | None = None  # name in tape listings; defaults to the lower-cased class
    #: What backward sends to input 0, 1, 2... in words a learner reads, one text per input
    #: (the last serves the inputs after it); the stepper fills it in with the names, shapes
    #: and numbers of one backward step. Placeholders: ``{x0}`` ``{x1}`` ``{x2}`` the
    #: inputs' names, ``{s0}`` ``{s1}`` ``{s2}`` their shapes, ``{xi}`` the input the text
    #: is for, ``{g}`` the incoming gradient (∂L/∂output) and ``{sg}`` its shape, ``{so}``
    #: the shape sent, ``{opts}`` the op's options, ``{dim}`` the option ``dim``, ``{n}``
    #: the number of elements averaged, ``{bias}`` which dims a broadcast input's gradient
    #: was summed over. Pointwise ops leave it empty: their caption is their formula.
    caption: tuple[str, ...] = ()
    _uses_setup_context = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # torch names a built-in op's node <Op>Backward0 and a user's Function's node
        # <Function>Backward; tapegrad's own ops follow the first rule, yours the second
        suffix = "Backward0" if cls.__module__.startswith("tapegrad.") else "Backward"
        node_name = cls.__dict__.get("node_name") or f"{cls.__name__}{suffix}"
        op = cls.__dict__.get("op_name") or cls.__name__.lower()
        cls._node_class = type(node_name, (Node,), {"_function": cls, "_op_name": op,
                                                    "__module__": cls.__module__})
        cls._uses_setup_context = "setup_context" in {
            k for c in cls.__mro__ if c is not Function for k in c.__dict__
        }

    @staticmethod
    def forward(ctx: Node, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("a Function subclass must define forward")

    @staticmethod
    def backward(ctx: Node, *grad_outputs: Any) -> Any:
        raise NotImplementedError(
            "a Function subclass must define backward to be differentiated"
        )

    vjp = backward

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        ctx = cls._node_class()
        state = _state
        enabled, inference = state.grad_enabled, state.inference  # thread-local: read once
        if not enabled and not inference:
            # nothing is recorded and forward runs as it is: the shortest path
            ctx.needs_input_grad = _NO_GRAD.get(len(args)) or (False,) * len(args)
            if cls._uses_setup_context:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)  # type: ignore[attr-defined]
                return out
            return cls.forward(ctx, *args, **kwargs)
        recording = False
        if not inference:  # (grad mode is on here)
            needs = []
            for a in args:
                if isinstance(a, Variable):
                    meta = a._view_meta
                    if meta is not None and meta.version != a._version_counter.value:
                        a._sync_view()  # a view whose base changed: take its new history
                    if a._requires_grad:
                        recording = True
                        needs.append(True)
                        continue
                needs.append(False)
            if recording:
                ctx.needs_input_grad = tuple(needs)
        if not recording:
            ctx.needs_input_grad = _NO_GRAD.get(len(args)) or (False,) * len(args)
        state.grad_enabled = False
        try:
            if cls._uses_setup_context:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)  # type: ignore[attr-defined]
            else:
                out = cls.forward(ctx, *args, **kwargs)
        finally:
            state.grad_enabled = enabled
        if recording:
            if not isinstance(out, tuple) and not ctx._dirty and not ctx._non_differentiable:
                return _record_one(ctx, args, kwargs, out)
            return _record(ctx, args, kwargs, out)
        if inference:
            for o in (out if isinstance(out, tuple) else (out,)):
                if isinstance(o, Variable):
                    o._is_inference = True
        return out


# needs_input_grad of a call that records nothing, by number of arguments
_NO_GRAD = {n: (False,) * n for n in range(8)}


def _record_inputs(ctx: Node, args: tuple, kwargs: dict) -> None:
    """The input half of a tape entry: one edge per argument (to its producer, its leaf's
    AccumulateGrad, or nothing), its (shape, dtype), and the arguments as ``Node._args``
    keeps them (None for a tensor the edge already reaches)."""
    edges = []
    meta = []
    kept = []
    holds = False
    for a in args:
        if isinstance(a, Variable):
            if a._is_inference:
                check_inference_for_record(a)
            data = a._data
            meta.append((data.shape, data.dtype))
            if a._requires_grad:
                # apply() brought views up to date before forward; forward may have bumped
                # the version since, so the edge is read as it was (no second sync)
                node = a._grad_fn
                if node is not None:
                    edges.append(node)
                    edges.append(a._output_nr)
                else:
                    edges.append(a._accumulator())
                    edges.append(0)
                kept.append(None)
            else:
                edges.append(None)
                edges.append(0)
                kept.append(a)
                holds = True
        else:
            meta.append(None)
            kept.append(a)
    ctx._edges = tuple(edges)
    ctx._input_meta = tuple(meta)
    ctx._args = tuple(kept)
    if not holds:
        ctx._holds_tensors = False
    if kwargs:
        ctx._kwargs = kwargs


def _record_one(ctx: Node, args: tuple, kwargs: dict, out: Any) -> Any:
    """`_record` for the common case, as one straight line: one output, nothing modified in
    place or marked non-differentiable. Same result as `_record`."""
    _record_inputs(ctx, args, kwargs)
    for a in args:
        if a is out:
            out = out._alias()  # returning an input unchanged still makes a new output
            break
    if isinstance(out, Variable):
        data = out._data
        dt = data.dtype
        shape = data.shape  # (a new tuple at each read: read once)
        if shape:
            ctx._output_meta = ((shape, dt),)
        else:  # a 0-d result: share the metadata tuples (see _SHARED)
            ctx._output_meta = _SCALAR_OUTPUT_META.get(dt) or _scalar_output_meta(dt)
            meta = ctx._input_meta
            ctx._input_meta = _SHARED.get(meta) or _share(meta)
        ctx._kept_output = data
        if dt.kind == "f":
            out._grad_fn = ctx
            out._output_nr = 0
            out._requires_grad = True
        else:
            out._requires_grad = False
    else:
        ctx._output_meta = (((), None),)
        ctx._output_data = (None,)
    if ctx._to_save:
        ctx._saved = tuple([None if t is None else SavedTensor(t, ctx, t is out)
                            for t in ctx._to_save])
        ctx._to_save = ()
    ctx._seq = next(_sequence)
    path = scope._state.path
    if path:
        ctx.module_path = path
        ctx.module_calls = scope._state.calls
    if anomaly._enabled:
        ctx.forward_trace = traceback.format_stack(sys._getframe(2))
    return out


def _record(ctx: Node, args: tuple, kwargs: dict, out: Any) -> Any:
    """Turn a finished forward call into a tape entry (see the module docstring)."""
    is_tuple = isinstance(out, tuple)
    outputs = list(out) if is_tuple else [out]
    _record_inputs(ctx, args, kwargs)

    dirty = ctx._dirty
    non_diff = ctx._non_differentiable
    out_meta = []
    out_data = []
    dirty_views = None
    for i, o in enumerate(outputs):
        if not isinstance(o, Variable):
            out_meta.append(((), None))
            out_data.append(None)
            continue
        old_fn = None
        if dirty and _contains(dirty, o):
            if o._grad_fn is None and o._requires_grad:
                raise RuntimeError(
                    "a leaf Variable that requires grad is being used in an in-place operation."
                )
            old_fn = o._grad_fn
            if o._view_meta is not None:
                dirty_views = (dirty_views or []) + [o]
        elif _contains(args, o):
            # Returning an input unchanged still creates a new output of this node.
            o = o._alias()
            outputs[i] = o
        data = o._data
        out_meta.append((data.shape, data.dtype))
        out_data.append(data)
        if (non_diff and _contains(non_diff, o)) or data.dtype.kind != "f":
            o._requires_grad = False
            continue
        o._grad_fn = ctx
        o._output_nr = i
        o._requires_grad = True
        if old_fn is not None and o._retains_grad:
            _move_retained(o, old_fn)  # retain_grad() follows the tensor to its new value
    ctx._output_meta = tuple(out_meta)
    ctx._output_data = tuple(out_data)
    if ctx._to_save:
        ctx._saved = tuple(
            None if t is None else SavedTensor(t, ctx, _contains(outputs, t))
            for t in ctx._to_save
        )
        ctx._to_save = ()
        if dirty:
            _saved_before_write(ctx._saved, dirty)
    ctx._seq = next(_sequence)
    if dirty_views is not None:
        from tapegrad.autograd.views import rebase_history  # views.py builds on this module

        for v in dirty_views:
            rebase_history(v, ctx)
    path = scope._state.path
    if path:
        ctx.module_path = path
        ctx.module_calls = scope._state.calls
    if anomaly._enabled:
        ctx.forward_trace = traceback.format_stack(sys._getframe(2))
    return tuple(outputs) if is_tuple else outputs[0]


def _saved_before_write(saved: tuple, dirty: tuple) -> None:
    """An in-place forward saves its inputs *before* it writes and bumps the version once
    (``y.mul_(y)`` saves ``y`` as the other factor, then overwrites it). An input saved
    that way, sharing memory with a modified tensor, was saved at the version before the
    write: backward must then find the value changed and refuse, as torch does."""
    counters = [d._version_counter for d in dirty]
    for s in saved:
        if s is not None and s._tensor is not None and _contains(counters, s._version_counter):
            s._saved_version -= 1


def _contains(items: Any, obj: Any) -> bool:
    """Identity membership (``in`` would call Tensor.__eq__, which is elementwise)."""
    for item in items:
        if item is obj:
            return True
    return False


def once_differentiable(backward):
    """Decorate a ``backward`` whose maths is not itself recorded: it runs with recording
    off, and differentiating its result again raises a clear error."""
    import functools

    @functools.wraps(backward)
    def wrapper(ctx: Node, *grads: Any) -> Any:
        create_graph = _state.grad_enabled
        with no_grad():
            result = backward(ctx, *grads)
        if not create_graph:
            return result
        if not any(isinstance(g, Variable) and g._requires_grad for g in grads):
            return result
        single = not isinstance(result, tuple)
        results = (result,) if single else result
        anchors = [g for g in grads if isinstance(g, Variable) and g._requires_grad]
        wrapped = tuple(
            _DelayedError.apply(r, *anchors) if isinstance(r, Variable) else r for r in results
        )
        return wrapped[0] if single else wrapped

    return wrapper


class _DelayedError(Function):
    """Stands in the graph a backward built for a ``once_differentiable`` backward: going
    through it a second time raises torch's error."""

    node_name = "DelayedError"
    caption = ("an error: this gradient was made by a backward that can be "
               "differentiated only once (once_differentiable) : {s0}",)

    @staticmethod
    def forward(ctx: Node, x: Variable, *anchors: Variable) -> Variable:
        # `anchors` (the incoming grads) connect the result to the graph being built.
        return x._alias()

    @staticmethod
    def backward(ctx: Node, grad: Any) -> Any:
        raise RuntimeError(
            "trying to differentiate twice a function that was marked with @once_differentiable"
        )
