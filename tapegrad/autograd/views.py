"""Views and in-place operations: how autograd stays right when memory is shared.

A **view** is a tensor that shows (part of) another tensor's memory: ``y[:, 0]``,
``y.view(2, 3)``, ``y.t()``, ``y.unbind()``... Writing through a view writes into its
base, so autograd has two problems to solve, exactly as torch solves them:

1. **An in-place op through a view changes the base.** ``y[:, 0] += x`` must make ``y``
   depend on ``x``. The base's history is *rebased*: its ``grad_fn`` becomes a
   `CopySlices` node that wraps the in-place op's node. Its backward takes the gradient
   of the whole base, cuts out the view's part (a replay of the view ops on the gradient),
   runs the in-place op's backward on that part, and writes the result back; the rest of
   the base's gradient passes through untouched.
2. **An in-place op on the base (or on another view) changes every view.** Each view
   remembers the version of the shared counter when its ``grad_fn`` was set
   (`tapegrad.autograd.variable.ViewMeta`). When the counter has moved on, the view's
   ``grad_fn`` is regenerated from the base's current history the next time it is used.

`ViewFunction` is the base class of the view ops: after the op ran it records, on the
result, how to replay it from the base. Views made in ``no_grad`` mode and the outputs of
ops that return several views (``unbind``, ``split``, ``chunk``) may not be modified in
place while gradients are involved (torch forbids it: the history would be ambiguous);
`check_view_inplace` raises torch's errors for those.
"""

from __future__ import annotations

from typing import Any

from tapegrad.autograd.function import Function, Node, ReleasedTensor, next_sequence_number
from tapegrad.autograd.grad_mode import _state
from tapegrad.autograd.variable import Variable, ViewMeta, _move_retained
from tapegrad.dtypes import _BY_NUMPY


class ViewFunction(Function):
    """A Function whose output is a view of its first argument (``Slice``, ``Transpose``...).

    ``apply`` runs the op as usual, then records on each output that shares memory with
    the input how to rebuild it from the root base (`attach_view`): that replay is what
    `CopySlices` and the regeneration of stale views use."""

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        out = _apply(cls, *args, **kwargs)
        x = args[0]
        if type(out) is tuple:
            for i, o in enumerate(out):
                attach_view(x, o, (cls, args[1:], kwargs, i), multi=True)
        elif out._base is not None:
            attach_view(x, out, (cls, args[1:], kwargs, None))
        return out


_apply = Function.apply.__func__


def attach_view(x: Variable, out: Any, step: tuple, multi: bool = False) -> None:
    """Record on ``out`` (if it shares ``x``'s memory) how to rebuild it from the root base:
    ``step`` = ``(op, args, kwargs, output_nr)`` rebuilds ``out`` from ``x`` (``op`` a
    Function class or a function; ``output_nr`` picks one output of a multi-output op),
    after ``x``'s own steps when ``x`` is itself a view."""
    if out._base is None:
        return
    parent = x._view_meta
    if parent is not None:
        base = parent.base
        steps = parent.steps + (step,)
    elif x._base is None:
        base = x
        steps = (step,)
    else:
        return  # x is a plain alias of some tensor: not a view autograd can replay
    if not _state.grad_enabled:
        creation = "no_grad"
        if base._requires_grad and not _state.inference:
            # torch: a view made in no_grad mode of a tensor that requires grad requires
            # grad too, without history: used later with grad mode on, it is a leaf
            out._requires_grad = True
    elif multi:
        creation = "multi" if x._requires_grad else "multi_no_grad"
    else:
        creation = parent.creation if parent is not None else "default"
    out._view_meta = ViewMeta(base, steps, out._version_counter.value, creation)


def describe_steps(steps: tuple) -> str:
    """A view's ops as text, for listings: ``.slice(dim=0, start=1, stop=3, step=1)``."""
    parts = []
    for op, args, kwargs, nr in steps:
        name = op._node_class._op_name if isinstance(op, type) else op.__name__
        shown = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
        parts.append(f".{name}({', '.join(shown)})" + ("" if nr is None else f"[{nr}]"))
    return "".join(parts)


def check_view_inplace(t: Variable, requires_grad: bool) -> None:
    """torch's checks before an in-place op on a view, when grad mode is on and the op
    involves a tensor that requires grad (``requires_grad``)."""
    meta = t._view_meta
    if meta is None:
        return
    if requires_grad and meta.creation != "default":
        raise RuntimeError(meta.rebase_error(t, direct=True))
    t._sync_view()
    if t._requires_grad and meta.base._grad_fn is None:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place "
            "operation.")


class CopySlices(Node):
    """The base's new ``grad_fn`` after an in-place op through one of its views.

    It stands for "the base, with the view's part replaced by the in-place op's result".
    Inputs: the base's old value (edge 0) and the in-place op's other inputs. Backward:

    1. ``result = grad.clone()``: the gradient for the old base, to be corrected;
    2. ``grad_slice = view(result)``: the part the view covers (a replay of the view ops);
    3. ``res = fn.backward(grad_slice)``: the in-place op's own backward on that part;
    4. ``grad_slice.copy_(res[0])``: inside the view, the old values' gradient is what the
       op says; outside it the values were untouched, so their gradient passes through;
    5. the op's other inputs get ``res[1:]`` as usual.

    Every step is an ordinary (recorded) op, so under ``create_graph=True`` this backward
    can itself be differentiated.
    """

    _op_name = "copy_slices"
    caption = ("{g} outside the view, the in-place op's own gradient inside it : {s0}",
               "the in-place op's gradient for its other inputs : {s1}")

    def __init__(self, base: Variable, meta: ViewMeta, fn: Node) -> None:
        self.fn = fn
        self.view_replay = meta.replay
        self.view_describe = describe_steps(meta.steps)
        base_edge = base._gradient_edge() if base._requires_grad else (None, 0)
        self.next_functions = (base_edge,) + fn.next_functions[1:]
        data = base._data
        base_meta = (data.shape, _BY_NUMPY[data.dtype])
        self._input_meta = (base_meta,) + fn._input_meta[1:]
        self.needs_input_grad = (base._requires_grad,) + tuple(fn.needs_input_grad[1:])
        args = fn._args or ()
        self._args = (ReleasedTensor(base),) + tuple(args[1:])
        self._kwargs = {"op": fn.op_name, "view": self.view_describe}
        self._output_meta = (base_meta,)
        self._output_data = (data,)
        self.module_path = fn.module_path
        self.forward_trace = fn.forward_trace
        self._seq = next_sequence_number()

    @property
    def _saved(self) -> Any:  # what the wrapped op saved (for listings and drawings)
        return self.fn._saved

    @_saved.setter
    def _saved(self, value: Any) -> None:
        pass  # released together with fn (see _release)

    def _run_backward(self, grads: list) -> tuple:
        grad = grads[0]
        if grad is None:
            shape, dt = self._output_meta[0]
            grad = Variable._tensor_type._zeros(shape, dt)
        result = grad.clone()
        grad_slice = self.view_replay(result)
        res = self.fn._run_backward([grad_slice.clone()])
        out = [None] * len(self._input_meta)
        for i in range(1, min(len(res), len(out))):
            out[i] = res[i]
        if self.needs_input_grad[0] and res and res[0] is not None:
            grad_slice.copy_(res[0])
            out[0] = result
        return tuple(out)

    def _release(self) -> None:
        self.fn._release()
        Node._release(self)


def rebase_history(view: Variable, fn: Node) -> None:
    """After the in-place op ``fn`` modified ``view``: give the base a `CopySlices` history
    and regenerate the view's ``grad_fn`` from it."""
    meta = view._view_meta
    base = meta.base
    old = base._grad_fn
    copy_slices = CopySlices(base, meta, fn)
    base._grad_fn = copy_slices
    base._output_nr = 0
    base._requires_grad = True
    if base._retains_grad:
        _move_retained(base, old)
    # fn is reached only through copy_slices now; keeping the view in its arguments would
    # make a reference cycle (view -> grad_fn -> ... -> copy_slices -> fn -> view).
    args = fn._args or ()
    fn._args = tuple(ReleasedTensor(a) if a is view else a for a in args)
    meta.version = -1
    view._sync_view()
